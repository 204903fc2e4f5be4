/*
 * fields.c: table-driven checks of request bodies, nested arrays of
 * objects included, so that every bad value is a 400 naming its field
 * ("parts[1].starts_on"). See api.h.
 */
#include "registrar/api.h"

#include "registrar/timefmt.h"
#include "registrar/util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replies 400 for field prefix+name with a printf message; returns -1. */
static int api_field_fail(struct http_req *req, const char *prefix, const char *name,
    const char *fmt, ...) UTIL_PRINTF(4, 5);

static int api_field_fail(
    struct http_req *req, const char *prefix, const char *name, const char *fmt, ...)
{
    va_list ap;
    struct sbuf msg = SBUF_INIT;
    char *field = xasprintf("%s%s", prefix, name);

    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    http_reply_invalid_field(req, field, msg.buf);
    sbuf_release(&msg);
    free(field);
    return -1;
}

static int api_field_string(
    struct http_req *req, json_t *obj, const struct api_field *f, const char *prefix, json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = strlen(s), start = 0;

    if (!(f->flags & API_NO_TRIM)) {
        while (start < len && isspace((unsigned char)s[start]))
            start++;
        while (len > start && isspace((unsigned char)s[len - 1]))
            len--;
        if (start > 0 || len < strlen(s)) {
            json_object_set_new(obj, f->name, json_stringn(s + start, len - start));
            v = json_object_get(obj, f->name);
            s = json_string_value(v);
        }
    }
    size_t n = util_utf8_len(s);
    if ((long long)n < f->min || (long long)n > f->max) {
        if (f->min > 0 && n == 0)
            return api_field_fail(req, prefix, f->name, "must not be empty");
        return api_field_fail(
            req, prefix, f->name, "must be %lld to %lld characters", f->min, f->max);
    }
    if (f->type == API_T_ENUM) {
        for (const char *const *c = f->choices; *c != NULL; c++)
            if (strcmp(*c, s) == 0)
                return 0;
        struct sbuf sb = SBUF_INIT;
        for (const char *const *c = f->choices; *c != NULL; c++)
            sbuf_addf(&sb, "%s%s", c == f->choices ? "" : ", ", *c);
        api_field_fail(req, prefix, f->name, "must be one of %s", sb.buf);
        sbuf_release(&sb);
        return -1;
    }
    if (f->type == API_T_DATE) {
        int y, m, d;
        if (timefmt_parse_date(s, &y, &m, &d) == -1)
            return api_field_fail(req, prefix, f->name, "must be a date as YYYY-MM-DD");
    }
    if (f->type == API_T_DATETIME) {
        if (timefmt_parse_datetime(s, NULL, NULL) == -1)
            return api_field_fail(req, prefix, f->name,
                "must be an RFC 3339 time with an offset, as 2027-03-15T08:30:00-04:00");
    }
    return 0;
}

static int api_field_check(
    struct http_req *req, json_t *obj, const struct api_field *f, const char *prefix, bool creating)
{
    json_t *v = json_object_get(obj, f->name);

    if (v == NULL) {
        if (creating && (f->flags & API_REQUIRED))
            return api_field_fail(req, prefix, f->name, "is required");
        return 0;
    }
    if (json_is_null(v)) {
        if (f->flags & API_NULLABLE)
            return 0;
        return api_field_fail(req, prefix, f->name,
            (creating && (f->flags & API_REQUIRED)) ? "is required" : "must not be null");
    }
    switch (f->type) {
    case API_T_STRING:
    case API_T_ENUM:
    case API_T_DATE:
    case API_T_DATETIME:
        if (!json_is_string(v))
            return api_field_fail(req, prefix, f->name, "must be a string");
        return api_field_string(req, obj, f, prefix, v);
    case API_T_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return api_field_fail(
                req, prefix, f->name, "must be a whole number from %lld to %lld", f->min, f->max);
        return 0;
    case API_T_NUMBER: {
        if (!json_is_number(v))
            return api_field_fail(req, prefix, f->name, "must be a number");
        double x = json_number_value(v);
        bool in_range = isfinite(x) && x >= (double)f->min && x <= (double)f->max;
        /* Hundredths must be whole (the columns are numeric(n, 2)); the range keeps the cast safe. */
        double hundredths = in_range ? x * 100.0 : 0.0;
        double off = hundredths - (double)(long long)(hundredths + 0.5);
        if (!in_range || off > 1e-6 || off < -1e-6)
            return api_field_fail(req, prefix, f->name,
                "must be a number from %lld to %lld with at most two decimals", f->min, f->max);
        return 0;
    }
    case API_T_BOOL:
        if (!json_is_boolean(v))
            return api_field_fail(req, prefix, f->name, "must be true or false");
        return 0;
    case API_T_STRINGS:
    case API_T_OBJECTS: {
        size_t i;
        json_t *item;
        if (!json_is_array(v))
            return api_field_fail(req, prefix, f->name, "must be an array");
        if ((long long)json_array_size(v) < f->min || (long long)json_array_size(v) > f->max)
            return api_field_fail(
                req, prefix, f->name, "must have %lld to %lld items", f->min, f->max);
        json_array_foreach(v, i, item)
        {
            char *inner = xasprintf("%s%s[%zu]", prefix, f->name, i);
            int rc = 0;
            if (f->type == API_T_STRINGS) {
                /* Check the element through a one-member wrapper, so trimming applies. */
                json_t *wrap = json_pack("{s:O}", "", item);
                struct api_field one = { "", API_T_STRING, f->flags & API_NO_TRIM, f->item_min,
                    f->item_max, NULL, NULL, 0, 0 };
                if (!json_is_string(item)) {
                    http_reply_invalid_field(req, inner, "must be a string");
                    rc = -1;
                } else {
                    rc = api_field_string(req, wrap, &one, inner, item);
                    if (rc == 0)
                        json_array_set(v, i, json_object_get(wrap, ""));
                }
                json_decref(wrap);
            } else if (!json_is_object(item)) {
                http_reply_invalid_field(req, inner, "must be an object");
                rc = -1;
            } else {
                char *dot = xasprintf("%s.", inner);
                rc = api_fields_check_or_reply(req, item, f->items, dot, true);
                free(dot);
            }
            free(inner);
            if (rc == -1)
                return -1;
        }
        return 0;
    }
    }
    return 0;
}

int api_fields_check_or_reply(struct http_req *req, json_t *obj, const struct api_field *fields,
    const char *prefix, bool creating)
{
    const char *key;
    json_t *v;

    if (prefix == NULL)
        prefix = "";
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (const struct api_field *f = fields; f->name != NULL; f++)
            if (strcmp(f->name, key) == 0)
                known = true;
        if (!known)
            return api_field_fail(req, prefix, key, "is not a field of this request");
    }
    for (const struct api_field *f = fields; f->name != NULL; f++)
        if (api_field_check(req, obj, f, prefix, creating) == -1)
            return -1;
    return 0;
}
