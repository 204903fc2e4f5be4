/* body.c: see body.h. */
#include "registrar/body.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool body_is_json_type(const char *ct)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

int body_json_depth(json_t *v)
{
    int deepest = 0;

    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            int d = body_json_depth(c);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            int d = body_json_depth(c);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    return 0;
}

static int body_fail(struct body_error *err, int status, const char *slug, const char *detail)
{
    err->status = status;
    err->slug = slug;
    snprintf(err->detail, sizeof(err->detail), "%s", detail);
    return -1;
}

int body_parse(enum http_body kind, const char *buf, size_t len, const char *content_type,
    json_t **out, struct body_error *err)
{
    json_error_t jerr;

    *out = NULL;
    if (kind == HTTP_BODY_NONE)
        return 0;
    if (kind == HTTP_BODY_RAW) {
        if (len > 0)
            *out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        return 0;
    }
    if (len == 0) {
        if (kind == HTTP_BODY_JSON_OPTIONAL)
            return 0;
        return body_fail(err, 400, "invalid-request", "A JSON object body is required.");
    }
    if (len > BODY_MAX_BYTES)
        return body_fail(err, 413, "payload-too-large", "Request bodies are limited to 64 KiB.");
    if (!body_is_json_type(content_type))
        return body_fail(err, 415, "unsupported-media-type", "Send the body as application/json.");
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        char detail[200];
        snprintf(detail, sizeof(detail), "The body is not valid JSON: %s.", jerr.text);
        return body_fail(err, 400, "invalid-request", detail);
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return body_fail(err, 400, "invalid-request", "The body must be a JSON object.");
    }
    if (body_json_depth(v) > BODY_MAX_DEPTH) {
        json_decref(v);
        return body_fail(
            err, 400, "invalid-request", "The body is nested too deeply (16 levels at most).");
    }
    *out = v;
    return 0;
}
