/* log.c: see log.h. */
#include "registrar/log.h"

#include "registrar/util.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_threshold = LOG_INFO;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
    atomic_store(&log_threshold, (int)level);
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < UTIL_ARRAY_LEN(log_names); i++) {
        if (strcmp(name, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&log_threshold);
}

void log_json(enum log_level level, const char *msg, json_t *fields)
{
    struct timeval tv;
    struct tm tm;
    char stamp[96];
    json_t *line;
    char *text;

    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));

    line = json_pack("{s:s, s:s, s:s}", "time", stamp, "level", log_names[level], "msg", msg);
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    /* One write per line keeps concurrent lines whole (stderr is unbuffered). */
    ssize_t w = write(STDERR_FILENO, text, n + 1);
    (void)w;
    free(text);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    struct sbuf sb = SBUF_INIT;
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    sbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    log_json(level, sb.buf, NULL);
    sbuf_release(&sb);
}
