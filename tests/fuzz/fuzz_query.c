/*
 * fuzz_query.c: libFuzzer harness for query strings, from the raw text a
 * client sends to the values the handlers act on. Input: a query string
 * (what follows '?').
 *
 * It is split and decoded as libmicrohttpd does before our code sees it
 * ('&' between pairs, the first '=' in each, '+' as a space, then
 * MHD_http_unescape), and every value goes through the query rules of
 * the API: `limit` (api_limit_parse), `cursor` (api_cursor_valid), ids
 * (api_uuid_valid) and the quote's `discount_code` (the registration
 * body's field table, as enrollments_quote does it).
 *
 * What must hold: decoding never grows a text; an accepted limit is
 * 1..200 written in digits only (no sign, space or trailing junk); an
 * accepted cursor is even-length hex of at most 512; an
 * accepted code is 1..40 of [A-Za-z0-9_-]; anything else is refused
 * without a crash.
 */
#include <ctype.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/api.h"
#include "registrar/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* '+' to ' ' then percent-decoding, in place, as libmicrohttpd's GET arguments. */
static void fuzz_query_decode(char *s)
{
    size_t before = strlen(s);

    for (char *p = s; *p != '\0'; p++)
        if (*p == '+')
            *p = ' ';
    size_t after = MHD_http_unescape(s);
    if (after > before || strlen(s) > after)
        abort();
}

static void fuzz_query_value(const char *value)
{
    int limit;
    struct api_field_error err;

    if (api_limit_parse(value, &limit) == 0 && (limit < 1 || limit > 200 || value[0] == '\0' ||
                                                   strspn(value, "0123456789") != strlen(value)))
        abort();
    if (value[0] != '\0' && api_cursor_valid(value)) {
        size_t n = strlen(value);
        if (n > 512 || n % 2 != 0)
            abort();
        for (const char *p = value; *p != '\0'; p++)
            if (!isxdigit((unsigned char)*p))
                abort();
    }
    if (api_uuid_valid(value) && strlen(value) != 36)
        abort();
    json_t *args = json_pack("{s:s}", "discount_code", value);
    if (args == NULL)
        return; /* not UTF-8: the handler refuses it the same way */
    if (api_fields_check(args, enrollments_create_fields, "", true, &err) == 0) {
        const char *code = json_string_value(json_object_get(args, "discount_code"));
        size_t n = strlen(code);
        if (n < 1 || n > 40 ||
            strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
            abort();
    } else {
        api_field_error_release(&err);
    }
    json_decref(args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = xstrndup((const char *)data, size);
    char *save = NULL;

    for (char *pair = strtok_r(query, "&", &save); pair != NULL;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        const char *value = "";
        if (eq != NULL) {
            *eq = '\0';
            value = eq + 1;
        }
        char *name = xstrdup(pair), *val = xstrdup(value);
        fuzz_query_decode(name);
        fuzz_query_decode(val);
        fuzz_query_value(name);
        fuzz_query_value(val);
        free(name);
        free(val);
    }
    free(query);
    return 0;
}
