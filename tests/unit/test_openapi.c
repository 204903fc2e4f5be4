/*
 * test_openapi.c: the OpenAPI document compiled into the binary describes
 * exactly the routes the server has: every route has its operation, every
 * operation its route, every $ref resolves, every path parameter is declared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "registrar/api.h"

extern const char api_openapi_json[];
extern const size_t api_openapi_json_len;

static json_t *doc;

static int setup(void **state)
{
    json_error_t err;
    (void)state;
    doc = json_loadb(api_openapi_json, api_openapi_json_len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL)
        fprintf(stderr, "openapi.json: line %d: %s\n", err.line, err.text);
    return doc == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(doc);
    return 0;
}

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    assert_non_null(json_object_get(json_object_get(doc, "info"), "title"));
}

static void test_every_route_documented(void **state)
{
    size_t n;
    const struct http_route *routes = api_routes(&n);
    json_t *paths = json_object_get(doc, "paths");
    (void)state;
    for (size_t i = 0; i < n; i++) {
        char m[16];
        lower(routes[i].method, m, sizeof(m));
        json_t *op = json_object_get(json_object_get(paths, routes[i].pattern), m);
        if (op == NULL)
            fail_msg("route %s %s is not in openapi.json", routes[i].method, routes[i].pattern);
        if (json_object_get(op, "responses") == NULL)
            fail_msg("%s %s has no responses", routes[i].method, routes[i].pattern);
    }
}

static void test_every_operation_routed(void **state)
{
    size_t n;
    const struct http_route *routes = api_routes(&n);
    const char *path;
    json_t *item;
    (void)state;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            if (strcmp(method, "parameters") == 0 || strcmp(method, "summary") == 0 ||
                strcmp(method, "description") == 0)
                continue;
            bool found = false;
            for (size_t i = 0; i < n && !found; i++) {
                char m[16];
                lower(routes[i].method, m, sizeof(m));
                found = strcmp(routes[i].pattern, path) == 0 && strcmp(m, method) == 0;
            }
            if (!found)
                fail_msg(
                    "openapi.json documents %s %s, which the server does not route", method, path);
        }
    }
}

/* Every {name} in a path is declared as an in: path parameter. */
static void test_path_parameters(void **state)
{
    const char *path;
    json_t *item;
    (void)state;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            if (!json_is_object(op) || json_object_get(op, "responses") == NULL)
                continue;
            for (const char *p = strchr(path, '{'); p != NULL; p = strchr(p + 1, '{')) {
                const char *close = strchr(p, '}');
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
                bool declared = false;
                json_t *lists[] = { json_object_get(op, "parameters"),
                    json_object_get(item, "parameters") };
                for (int l = 0; l < 2; l++) {
                    size_t i;
                    json_t *prm;
                    json_array_foreach(lists[l], i, prm)
                    {
                        const char *nm = json_string_value(json_object_get(prm, "name"));
                        const char *ref = json_string_value(json_object_get(prm, "$ref"));
                        if ((nm != NULL && strcmp(nm, name) == 0) ||
                            (ref != NULL && strstr(ref, name) != NULL))
                            declared = true;
                    }
                }
                if (!declared)
                    fail_msg("%s %s does not declare path parameter %s", method, path, name);
            }
        }
    }
}

static void check_refs(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            if (strcmp(k, "$ref") == 0 && json_is_string(c)) {
                const char *ref = json_string_value(c);
                if (strncmp(ref, "#/", 2) != 0)
                    fail_msg("external $ref %s", ref);
                char buf[256];
                snprintf(buf, sizeof(buf), "%s", ref + 2);
                json_t *at = doc;
                for (char *tok = strtok(buf, "/"); tok != NULL; tok = strtok(NULL, "/"))
                    at = json_object_get(at, tok);
                if (at == NULL)
                    fail_msg("$ref %s does not resolve", ref);
            } else {
                check_refs(c);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) check_refs(c);
    }
}

static void test_refs_resolve(void **state)
{
    (void)state;
    check_refs(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_every_route_documented),
        cmocka_unit_test(test_every_operation_routed),
        cmocka_unit_test(test_path_parameters),
        cmocka_unit_test(test_refs_resolve),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
