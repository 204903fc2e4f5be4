/* metrics.c: see metrics.h. */
#include "registrar/metrics.h"

#include "registrar/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds of the latency histogram, in seconds. */
static const double metrics_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    2.5, 5, 10 };
#define METRICS_NBOUNDS (sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

struct metrics_req {
    const char *route;
    const char *method;
    int status;
    long count;
};

struct metrics_counter {
    const char *family;
    const char *help;
    const char *labels;
    long value;
};

struct metrics_gauge {
    const char *name;
    const char *help;
    long (*read)(void *);
    void *ctx;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_req *metrics_reqs;
static size_t metrics_nreqs;
static struct metrics_counter *metrics_counters;
static size_t metrics_ncounters;
static struct metrics_gauge *metrics_gauges;
static size_t metrics_ngauges;
static long metrics_buckets[METRICS_NBOUNDS];
static long metrics_hist_count;
static double metrics_hist_sum;

void metrics_request(const char *route, const char *method, int status, int64_t duration_us)
{
    double seconds = (double)duration_us / 1e6;
    size_t i;

    pthread_mutex_lock(&metrics_lock);
    for (i = 0; i < metrics_nreqs; i++) {
        struct metrics_req *r = &metrics_reqs[i];
        if (r->status == status && strcmp(r->route, route) == 0 && strcmp(r->method, method) == 0)
            break;
    }
    if (i == metrics_nreqs) {
        metrics_reqs = xrealloc(metrics_reqs, (metrics_nreqs + 1) * sizeof(*metrics_reqs));
        metrics_reqs[i] = (struct metrics_req){ route, method, status, 0 };
        metrics_nreqs++;
    }
    metrics_reqs[i].count++;
    for (size_t b = 0; b < METRICS_NBOUNDS; b++)
        if (seconds <= metrics_bounds[b])
            metrics_buckets[b]++;
    metrics_hist_count++;
    metrics_hist_sum += seconds;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_count(const char *family, const char *help, const char *labels, long n)
{
    size_t i;

    pthread_mutex_lock(&metrics_lock);
    for (i = 0; i < metrics_ncounters; i++)
        if (strcmp(metrics_counters[i].family, family) == 0 &&
            strcmp(metrics_counters[i].labels, labels) == 0)
            break;
    if (i == metrics_ncounters) {
        metrics_counters =
            xrealloc(metrics_counters, (metrics_ncounters + 1) * sizeof(*metrics_counters));
        metrics_counters[i] = (struct metrics_counter){ family, help, labels, 0 };
        metrics_ncounters++;
    }
    metrics_counters[i].value += n;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_gauge(const char *name, const char *help, long (*read)(void *), void *ctx)
{
    pthread_mutex_lock(&metrics_lock);
    metrics_gauges = xrealloc(metrics_gauges, (metrics_ngauges + 1) * sizeof(*metrics_gauges));
    metrics_gauges[metrics_ngauges++] = (struct metrics_gauge){ name, help, read, ctx };
    pthread_mutex_unlock(&metrics_lock);
}

char *metrics_render(void)
{
    struct sbuf sb = SBUF_INIT;

    pthread_mutex_lock(&metrics_lock);
    sbuf_adds(&sb,
        "# HELP registrar_http_requests_total HTTP requests by route, method and status.\n"
        "# TYPE registrar_http_requests_total counter\n");
    for (size_t i = 0; i < metrics_nreqs; i++)
        sbuf_addf(&sb,
            "registrar_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %ld\n",
            metrics_reqs[i].route, metrics_reqs[i].method, metrics_reqs[i].status,
            metrics_reqs[i].count);
    sbuf_adds(&sb, "# HELP registrar_http_request_duration_seconds Time from request to reply.\n"
                   "# TYPE registrar_http_request_duration_seconds histogram\n");
    for (size_t b = 0; b < METRICS_NBOUNDS; b++)
        sbuf_addf(&sb, "registrar_http_request_duration_seconds_bucket{le=\"%g\"} %ld\n",
            metrics_bounds[b], metrics_buckets[b]);
    sbuf_addf(&sb, "registrar_http_request_duration_seconds_bucket{le=\"+Inf\"} %ld\n",
        metrics_hist_count);
    sbuf_addf(&sb, "registrar_http_request_duration_seconds_sum %.6f\n", metrics_hist_sum);
    sbuf_addf(&sb, "registrar_http_request_duration_seconds_count %ld\n", metrics_hist_count);
    for (size_t i = 0; i < metrics_ncounters; i++) {
        const struct metrics_counter *c = &metrics_counters[i];
        int first = 1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(metrics_counters[k].family, c->family) == 0)
                first = 0;
        if (!first)
            continue;
        sbuf_addf(&sb, "# HELP %s %s\n# TYPE %s counter\n", c->family, c->help, c->family);
        for (size_t k = i; k < metrics_ncounters; k++) {
            const struct metrics_counter *d = &metrics_counters[k];
            if (strcmp(d->family, c->family) != 0)
                continue;
            if (d->labels[0] == '\0')
                sbuf_addf(&sb, "%s %ld\n", d->family, d->value);
            else
                sbuf_addf(&sb, "%s{%s} %ld\n", d->family, d->labels, d->value);
        }
    }
    for (size_t i = 0; i < metrics_ngauges; i++) {
        const struct metrics_gauge *g = &metrics_gauges[i];
        sbuf_addf(&sb, "# HELP %s %s\n# TYPE %s gauge\n%s %ld\n", g->name, g->help, g->name,
            g->name, g->read(g->ctx));
    }
    pthread_mutex_unlock(&metrics_lock);
    return sbuf_detach(&sb, NULL);
}
