/*
 * log.h: one JSON object per line on stderr.
 *
 * Layering: uses util and jansson only.
 *
 * Never pass a password, token, card datum, email or other personal value
 * to these functions: log lines are for operators and are kept.
 */
#ifndef REGISTRAR_LOG_H
#define REGISTRAR_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written; the default is LOG_INFO. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn" or "error"; -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level level);

/*
 * Writes {"time", "level", "msg", ...fields} as one line. fields may be
 * NULL; it is consumed (json_decref'd) in any case. The line is written
 * with a single write(2), so lines of concurrent threads never interleave.
 */
void log_json(enum log_level level, const char *msg, json_t *fields);

/* log_json with a printf-formatted message and no fields. */
void log_msg(enum log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
