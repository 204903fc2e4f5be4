/*
 * fields.c: table-driven checks of request bodies, nested arrays of
 * objects included, so that every bad value is a 400 naming its field
 * ("parts[1].starts_on"). This is the only place a body's shape, ranges
 * and characters are checked; handlers read the checked body with the
 * getters at the end. See api.h.
 */
#include "registrar/api.h"

#include "registrar/timefmt.h"
#include "registrar/util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills err for field prefix+name with a printf message; returns -1. */
static int api_field_fail(struct api_field_error *err, const char *prefix, const char *name,
    const char *fmt, ...) UTIL_PRINTF(4, 5);

static int api_field_fail(
    struct api_field_error *err, const char *prefix, const char *name, const char *fmt, ...)
{
    va_list ap;
    struct sbuf msg = SBUF_INIT;

    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    err->field = xasprintf("%s%s", prefix, name);
    err->message = sbuf_detach(&msg, NULL);
    return -1;
}

void api_field_error_release(struct api_field_error *err)
{
    free(err->field);
    free(err->message);
    err->field = NULL;
    err->message = NULL;
}

/* The code point at *p (valid UTF-8), advancing *p past it. */
static unsigned api_utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned c = s[0];

    if (c < 0x80) {
        *p = s + 1;
        return c;
    }
    if ((c & 0xe0) == 0xc0 && s[1] != '\0') {
        *p = s + 2;
        return ((c & 0x1fu) << 6) | (s[1] & 0x3fu);
    }
    if ((c & 0xf0) == 0xe0 && s[1] != '\0' && s[2] != '\0') {
        *p = s + 3;
        return ((c & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
    }
    if ((c & 0xf8) == 0xf0 && s[1] != '\0' && s[2] != '\0' && s[3] != '\0') {
        *p = s + 4;
        return ((c & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
               (s[3] & 0x3fu);
    }
    /* Not UTF-8 (jansson only hands us valid text): count it as a control. */
    *p = s + 1;
    return 0x80;
}

const char *api_text_problem(const char *s, unsigned flags)
{
    if (flags & API_CODE) {
        for (const char *p = s; *p != '\0'; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
                return "may hold only letters, digits, '-' and '_'";
        return NULL;
    }
    if (!(flags & (API_TEXT | API_MULTILINE)))
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        unsigned c = api_utf8_next(&p);
        bool multi = (flags & API_MULTILINE) != 0;
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
            if (multi && (c == '\t' || c == '\n'))
                continue;
            return multi ? "must not contain control characters (tab and line feed are allowed)"
                         : "must not contain control characters or line breaks";
        }
        if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
            return "must not contain bidirectional override or isolate characters";
        if (c == 0x2028 || c == 0x2029)
            return "must not contain line or paragraph separators";
    }
    return NULL;
}

/*
 * NULL if s (already trimmed) looks like an email address, else why not.
 * Deliverability is the mail system's to judge; this only keeps out what
 * cannot be one: no '@' with something on both sides, spaces, controls.
 */
static const char *api_email_problem(const char *s)
{
    const char *at = strrchr(s, '@');

    if (at == NULL || at == s || at[1] == '\0')
        return "must be an email address (name@example.org)";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f || isspace(*p))
            return "must not contain spaces";
    return api_text_problem(s, API_TEXT);
}

/* Replaces obj's member name with s trimmed of ASCII white space; returns the new value. */
static json_t *api_field_trim(json_t *obj, const char *name, json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), start = 0, end = len;

    while (start < end && isspace((unsigned char)s[start]))
        start++;
    while (end > start && isspace((unsigned char)s[end - 1]))
        end--;
    if (start == 0 && end == len)
        return v;
    json_object_set_new(obj, name, json_stringn(s + start, end - start));
    return json_object_get(obj, name);
}

/* A string member v of obj (named f->name) against f; may replace it trimmed. */
static int api_field_string(json_t *obj, const struct api_field *f, const char *prefix, json_t *v,
    struct api_field_error *err)
{
    const char *why;

    if (!json_is_string(v))
        return api_field_fail(err, prefix, f->name, "must be a string");
    if (!(f->flags & API_NO_TRIM) && f->type != API_T_UUID)
        v = api_field_trim(obj, f->name, v);
    const char *s = json_string_value(v);
    size_t n = util_utf8_len(s);

    switch (f->type) {
    case API_T_ENUM:
        for (const char *const *c = f->choices; *c != NULL; c++)
            if (strcmp(*c, s) == 0)
                return 0;
        struct sbuf sb = SBUF_INIT;
        for (const char *const *c = f->choices; *c != NULL; c++)
            sbuf_addf(&sb, "%s%s", c == f->choices ? "" : ", ", *c);
        api_field_fail(err, prefix, f->name, "must be one of %s", sb.buf);
        sbuf_release(&sb);
        return -1;
    case API_T_DATE: {
        int y, m, d;
        if (timefmt_parse_date(s, &y, &m, &d) == -1)
            return api_field_fail(err, prefix, f->name, "must be a date as YYYY-MM-DD");
        return 0;
    }
    case API_T_DATETIME:
        if (timefmt_parse_datetime(s, NULL, NULL) == -1)
            return api_field_fail(err, prefix, f->name,
                "must be an RFC 3339 time with an offset, as 2027-03-15T08:30:00-04:00");
        return 0;
    case API_T_UUID:
        if (!api_uuid_valid(s))
            return api_field_fail(err, prefix, f->name, "must be an id (a UUID)");
        return 0;
    default:
        break;
    }
    if ((long long)n < f->min || (long long)n > f->max) {
        if (f->min > 0 && n == 0)
            return api_field_fail(err, prefix, f->name, "must not be empty");
        if (f->min == f->max)
            return api_field_fail(err, prefix, f->name, "must be %lld characters", f->min);
        return api_field_fail(
            err, prefix, f->name, "must be %lld to %lld characters", f->min, f->max);
    }
    why = f->type == API_T_EMAIL ? api_email_problem(s) : api_text_problem(s, f->flags);
    if (why != NULL)
        return api_field_fail(err, prefix, f->name, "%s", why);
    return 0;
}

/* The elements of array v (member f of a body) against f. */
static int api_field_array(
    const struct api_field *f, const char *prefix, json_t *v, struct api_field_error *err)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v))
        return api_field_fail(err, prefix, f->name, "must be an array");
    if ((long long)json_array_size(v) < f->min || (long long)json_array_size(v) > f->max)
        return api_field_fail(err, prefix, f->name, "must have %lld to %lld items", f->min, f->max);
    json_array_foreach(v, i, item)
    {
        char *inner = xasprintf("%s%s[%zu]", prefix, f->name, i);
        int rc;
        if (f->type == API_T_OBJECTS) {
            if (!json_is_object(item)) {
                rc = api_field_fail(err, inner, "", "must be an object");
            } else {
                char *dot = xasprintf("%s.", inner);
                rc = api_fields_check(item, f->items, dot, true, err);
                free(dot);
            }
        } else {
            /* Check the element as the member "" of a wrapper, so trimming applies. */
            struct api_field one = { "", f->type == API_T_UUIDS ? API_T_UUID : API_T_STRING,
                f->flags & (API_NO_TRIM | API_TEXT | API_MULTILINE | API_CODE), f->item_min,
                f->item_max, NULL, NULL, 0, 0 };
            json_t *wrap = json_pack("{s:O}", "", item);
            rc = api_field_string(wrap, &one, inner, json_object_get(wrap, ""), err);
            if (rc == 0)
                json_array_set(v, i, json_object_get(wrap, ""));
            json_decref(wrap);
        }
        free(inner);
        if (rc == -1)
            return -1;
    }
    return 0;
}

/* The members of object v (member f of a body) against f: see API_T_MAP. */
static int api_field_map(
    const struct api_field *f, const char *prefix, json_t *v, struct api_field_error *err)
{
    const char *key;
    json_t *item;

    if (!json_is_object(v))
        return api_field_fail(err, prefix, f->name, "must be an object");
    if ((long long)json_object_size(v) < f->min || (long long)json_object_size(v) > f->max)
        return api_field_fail(
            err, prefix, f->name, "must have %lld to %lld members", f->min, f->max);
    json_object_foreach(v, key, item)
    {
        size_t n = strlen(key);
        if (n == 0 || n > 64 || api_text_problem(key, API_CODE) != NULL)
            return api_field_fail(err, prefix, f->name,
                "must be keyed by ids of letters, digits, '-' and '_' (at most 64)");
        if (json_is_null(item) || json_is_number(item))
            continue;
        char *inner = xasprintf("%s%s.", prefix, f->name);
        int rc;
        if (!json_is_string(item)) {
            rc = api_field_fail(err, inner, key, "must be text, a number or null");
        } else {
            struct api_field one = { key, API_T_STRING,
                f->flags & (API_NO_TRIM | API_TEXT | API_MULTILINE), f->item_min, f->item_max, NULL,
                NULL, 0, 0 };
            rc = api_field_string(v, &one, inner, item, err);
        }
        free(inner);
        if (rc == -1)
            return -1;
    }
    return 0;
}

static int api_field_check(json_t *obj, const struct api_field *f, const char *prefix,
    bool creating, struct api_field_error *err)
{
    json_t *v = obj != NULL ? json_object_get(obj, f->name) : NULL;

    if (v == NULL) {
        if (creating && (f->flags & API_REQUIRED))
            return api_field_fail(err, prefix, f->name, "is required");
        return 0;
    }
    if (json_is_null(v)) {
        if (f->flags & API_NULLABLE)
            return 0;
        return api_field_fail(err, prefix, f->name,
            (creating && (f->flags & API_REQUIRED)) ? "is required" : "must not be null");
    }
    switch (f->type) {
    case API_T_STRING:
    case API_T_ENUM:
    case API_T_DATE:
    case API_T_DATETIME:
    case API_T_EMAIL:
    case API_T_UUID:
        return api_field_string(obj, f, prefix, v, err);
    case API_T_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return api_field_fail(
                err, prefix, f->name, "must be a whole number from %lld to %lld", f->min, f->max);
        return 0;
    case API_T_NUMBER: {
        if (!json_is_number(v))
            return api_field_fail(err, prefix, f->name, "must be a number");
        double x = json_number_value(v);
        bool in_range = isfinite(x) && x >= (double)f->min && x <= (double)f->max;
        /* Hundredths must be whole (the columns are numeric(n, 2)); the range keeps the cast safe. */
        double hundredths = in_range ? x * 100.0 : 0.0;
        double whole = (double)(long long)(hundredths + (hundredths < 0 ? -0.5 : 0.5));
        double off = hundredths - whole;
        if (!in_range || off > 1e-6 || off < -1e-6)
            return api_field_fail(err, prefix, f->name,
                "must be a number from %lld to %lld with at most two decimals", f->min, f->max);
        return 0;
    }
    case API_T_BOOL:
        if (!json_is_boolean(v))
            return api_field_fail(err, prefix, f->name, "must be true or false");
        return 0;
    case API_T_STRINGS:
    case API_T_OBJECTS:
    case API_T_UUIDS:
        return api_field_array(f, prefix, v, err);
    case API_T_MAP:
        return api_field_map(f, prefix, v, err);
    case API_T_OBJECT: {
        if (!json_is_object(v))
            return api_field_fail(err, prefix, f->name, "must be an object");
        char *dot = xasprintf("%s%s.", prefix, f->name);
        /* Like an element of an array of objects: checked as created. */
        int rc = api_fields_check(v, f->items, dot, true, err);
        free(dot);
        return rc;
    }
    }
    return 0;
}

/* The API_ONE_OF group of the table: exactly one present when creating, never two. */
static int api_fields_one_of(json_t *obj, const struct api_field *fields, const char *prefix,
    bool creating, struct api_field_error *err)
{
    const struct api_field *leader = NULL, *first = NULL, *second = NULL;
    struct sbuf names = SBUF_INIT;
    size_t group = 0;

    for (const struct api_field *f = fields; f->name != NULL; f++) {
        if (!(f->flags & API_ONE_OF))
            continue;
        if (leader == NULL)
            leader = f;
        sbuf_addf(&names, "%s%s", group++ == 0 ? "" : " or ", f->name);
        json_t *v = obj != NULL ? json_object_get(obj, f->name) : NULL;
        if (v == NULL || json_is_null(v))
            continue;
        if (first == NULL)
            first = f;
        else if (second == NULL)
            second = f;
    }
    int rc = 0;
    if (group > 0 && second != NULL)
        rc = api_field_fail(err, prefix, second->name, "give %s, not both", names.buf);
    else if (group > 0 && creating && first == NULL)
        rc = api_field_fail(err, prefix, leader->name, "give %s", names.buf);
    sbuf_release(&names);
    return rc;
}

int api_fields_check(json_t *obj, const struct api_field *fields, const char *prefix, bool creating,
    struct api_field_error *err)
{
    const char *key;
    json_t *v;

    err->field = NULL;
    err->message = NULL;
    if (prefix == NULL)
        prefix = "";
    if (obj != NULL) {
        json_object_foreach(obj, key, v)
        {
            bool known = false;
            for (const struct api_field *f = fields; f->name != NULL && !known; f++)
                known = strcmp(f->name, key) == 0;
            if (!known)
                return api_field_fail(err, prefix, key, "is not a field of this request");
        }
    }
    for (const struct api_field *f = fields; f->name != NULL; f++)
        if (api_field_check(obj, f, prefix, creating, err) == -1)
            return -1;
    return api_fields_one_of(obj, fields, prefix, creating, err);
}

int api_fields_check_or_reply(struct http_req *req, json_t *obj, const struct api_field *fields,
    const char *prefix, bool creating)
{
    struct api_field_error err;

    if (api_fields_check(obj, fields, prefix, creating, &err) == 0)
        return 0;
    http_reply_invalid_field(req, err.field, err.message);
    api_field_error_release(&err);
    return -1;
}
