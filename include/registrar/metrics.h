/*
 * metrics.h: process-wide counters, gauges and the request latency
 * histogram, rendered in the Prometheus text format.
 *
 * Layering: util only. Thread-safe.
 */
#ifndef REGISTRAR_METRICS_H
#define REGISTRAR_METRICS_H

#include <stdint.h>

/*
 * Counts one request: route is the matched pattern (or "static",
 * "unmatched") and method one of a fixed set; both must be static strings.
 */
void metrics_request(const char *route, const char *method, int status, int64_t duration_us);

/*
 * Adds n to a counter. family is the metric name ending in _total, labels
 * the inside of {} or "" ("status=\"succeeded\""); help is the # HELP text.
 * All three must be static strings.
 */
void metrics_count(const char *family, const char *help, const char *labels, long n);

/* Registers a gauge read at render time (pool in use). Call at start-up. */
void metrics_gauge(const char *name, const char *help, long (*read)(void *), void *ctx);

/* The whole exposition text, malloc'd, owned by the caller. */
char *metrics_render(void);

#endif
