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
#include <stdbool.h>
#include <stdlib.h>
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

/* A response object, through a $ref into components/responses. */
static json_t *response_deref(json_t *r)
{
    const char *ref = json_string_value(json_object_get(r, "$ref"));
    const char *prefix = "#/components/responses/";
    if (ref == NULL)
        return r;
    assert_int_equal(strncmp(ref, prefix, strlen(prefix)), 0);
    return json_object_get(
        json_object_get(json_object_get(doc, "components"), "responses"), ref + strlen(prefix));
}

static bool tag_declared(const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tags"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
            return true;
    }
    return false;
}

/*
 * Every operation is tagged with a declared tag; every answer carries
 * X-Request-Id; a 200 or 201 has content, every 4xx and 5xx a
 * problem+json body; what every route can answer is listed (400, 500, 503;
 * 401 and 403 where sign-in is needed, 404 with path parameters).
 */
static void test_operations_complete(void **state)
{
    static const char *const methods[] = { "get", "put", "post", "patch", "delete" };
    const char *path;
    json_t *item;
    (void)state;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            json_t *op = json_object_get(item, methods[m]);
            if (op == NULL)
                continue;
            json_t *tags = json_object_get(op, "tags");
            if (json_array_size(tags) == 0 ||
                !tag_declared(json_string_value(json_array_get(tags, 0))))
                fail_msg("%s %s: no declared tag", methods[m], path);
            json_t *responses = json_object_get(op, "responses");
            const char *code;
            json_t *r;
            json_object_foreach(responses, code, r)
            {
                json_t *resp = response_deref(r);
                int status = atoi(code);
                assert_non_null(resp);
                if (json_object_get(json_object_get(resp, "headers"), "X-Request-Id") == NULL)
                    fail_msg("%s %s %s: no X-Request-Id header", methods[m], path, code);
                json_t *content = json_object_get(resp, "content");
                if (status >= 400 && json_object_get(content, "application/problem+json") == NULL)
                    fail_msg("%s %s %s: not a problem", methods[m], path, code);
                if ((status == 200 || status == 201) && content == NULL)
                    fail_msg("%s %s %s: no content", methods[m], path, code);
            }
            const char *always[] = { "400", "500", "503" };
            for (size_t i = 0; i < 3; i++)
                if (json_object_get(responses, always[i]) == NULL)
                    fail_msg("%s %s: %s not listed", methods[m], path, always[i]);
            if (json_array_size(json_object_get(op, "security")) > 0 &&
                (json_object_get(responses, "401") == NULL ||
                    json_object_get(responses, "403") == NULL))
                fail_msg("%s %s: 401 or 403 not listed", methods[m], path);
            if (strchr(path, '{') != NULL && json_object_get(responses, "404") == NULL)
                fail_msg("%s %s: 404 not listed", methods[m], path);
        }
    }
}

/* No schema is a bare "object": each names its members or what they are. */
static void check_typed(json_t *v, const char *where)
{
    if (json_is_object(v)) {
        json_t *type = json_object_get(v, "type");
        if (json_is_string(type) && strcmp(json_string_value(type), "object") == 0 &&
            json_object_get(v, "properties") == NULL &&
            json_object_get(v, "additionalProperties") == NULL &&
            json_object_get(v, "allOf") == NULL && json_object_get(v, "oneOf") == NULL)
            fail_msg("a bare object schema under %s", where);
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) check_typed(c, strcmp(where, "paths") == 0 ? k : where);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) check_typed(c, where);
    }
}

static void test_no_bare_objects(void **state)
{
    (void)state;
    check_typed(json_object_get(doc, "paths"), "paths");
    check_typed(json_object_get(doc, "components"), "components");
}

/* The problem slugs are an enum, and every status's schema names its own. */
static void test_problem_slugs(void **state)
{
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *slugs = json_object_get(json_object_get(schemas, "ProblemSlug"), "enum");
    (void)state;
    assert_true(json_array_size(slugs) > 20);
    static const char *const contract[] = { "invalid-request", "unauthenticated", "forbidden",
        "csrf", "not-found", "method-not-allowed", "payload-too-large", "unsupported-media-type",
        "rate-limited", "database-unavailable", "overloaded", "internal", "email-unverified" };
    for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++) {
        bool found = false;
        size_t j;
        json_t *s;
        json_array_foreach(slugs, j, s) found =
            found || strcmp(json_string_value(s), contract[i]) == 0;
        if (!found)
            fail_msg("slug %s missing from ProblemSlug", contract[i]);
    }
    json_t *p403 = json_object_get(
        json_object_get(json_object_get(schemas, "Problem403"), "properties"), "type");
    assert_true(json_array_size(json_object_get(p403, "enum")) >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_every_route_documented),
        cmocka_unit_test(test_every_operation_routed),
        cmocka_unit_test(test_path_parameters),
        cmocka_unit_test(test_refs_resolve),
        cmocka_unit_test(test_operations_complete),
        cmocka_unit_test(test_no_bare_objects),
        cmocka_unit_test(test_problem_slugs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
