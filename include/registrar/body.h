/*
 * body.h: the checks every request body passes before a handler sees it.
 *
 * Layering: jansson and util only; pure, so it is unit-tested directly.
 */
#ifndef REGISTRAR_BODY_H
#define REGISTRAR_BODY_H

#include "registrar/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BODY_MAX_BYTES (64 * 1024)
#define BODY_MAX_DEPTH 16

/* Whether a Content-Type header names application/json (parameters allowed). */
bool body_is_json_type(const char *content_type);

/* Nesting depth of a JSON value: a scalar is 1, {} or [] is 1, {"a":[1]} is 2... */
int body_json_depth(json_t *v);

struct body_error {
    int status;       /* 400 or 415 */
    const char *slug; /* "invalid-request", "unsupported-media-type" */
    char detail[240];
};

/*
 * Checks a body of len bytes against the route's kind. On success returns
 * 0 and sets *out to the parsed object (or NULL when there is none; for
 * HTTP_BODY_RAW a body that is not JSON also gives NULL). On failure
 * returns -1 with *err filled and *out NULL.
 */
int body_parse(enum http_body kind, const char *buf, size_t len, const char *content_type,
    json_t **out, struct body_error *err);

#endif
