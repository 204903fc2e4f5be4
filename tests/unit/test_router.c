/* test_router.c: route matching, parameters, 405 with Allow, table checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "registrar/router.h"

static void handler(struct http_req *req)
{
    (void)req;
}

static const struct http_route routes[] = {
    { "GET", "/api/v1/courses", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
    { "POST", "/api/v1/courses", handler, HTTP_ADMIN, HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/courses/{slug}", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
    { "PATCH", "/api/v1/courses/{slug}", handler, HTTP_ADMIN, HTTP_BODY_JSON, 0, NULL },
    { "PUT", "/api/v1/courses/{slug}/directors/{user_id}", handler, HTTP_ADMIN, HTTP_BODY_NONE, 0,
        NULL },
    { "GET", "/api/v1/offerings/{id}/schedule.ics", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/calendar/{token}.ics", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
    { "DELETE", "/api/v1/auth/sessions/current", handler, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/auth/sessions/{id}", handler, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0, NULL },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void test_literal_match(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(router_match(routes, NROUTES, "GET", "/api/v1/courses", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[0]);
    assert_int_equal(m.nparams, 0);
    router_match_release(&m);
    assert_int_equal(router_match(routes, NROUTES, "POST", "/api/v1/courses", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[1]);
    router_match_release(&m);
}

static void test_params(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(
        router_match(routes, NROUTES, "PUT", "/api/v1/courses/pcep/directors/abc-1", &m),
        ROUTER_FOUND);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.names[0], "slug");
    assert_string_equal(m.values[0], "pcep");
    assert_string_equal(m.names[1], "user_id");
    assert_string_equal(m.values[1], "abc-1");
    router_match_release(&m);
}

static void test_suffix_param(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(
        router_match(routes, NROUTES, "GET", "/api/v1/calendar/tok_123.ics", &m), ROUTER_FOUND);
    assert_string_equal(m.values[0], "tok_123");
    router_match_release(&m);
    /* The suffix alone is not a token. */
    assert_int_equal(
        router_match(routes, NROUTES, "GET", "/api/v1/calendar/.ics", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    assert_int_equal(
        router_match(routes, NROUTES, "GET", "/api/v1/calendar/abc.txt", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
}

static void test_literal_beats_param(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(
        router_match(routes, NROUTES, "DELETE", "/api/v1/auth/sessions/current", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[7]);
    router_match_release(&m);
}

static void test_not_found(void **state)
{
    struct router_match m;
    (void)state;
    const char *paths[] = { "/", "/api/v1", "/api/v1/courses/", "/api/v1/courses//directors/x",
        "/api/v1/courses/pcep/extra", "api/v1/courses", "" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(router_match(routes, NROUTES, "GET", paths[i], &m), ROUTER_NOT_FOUND);
        router_match_release(&m);
    }
}

static void test_method_not_allowed(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(
        router_match(routes, NROUTES, "DELETE", "/api/v1/courses", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    router_match_release(&m);
    assert_int_equal(router_match(routes, NROUTES, "POST", "/api/v1/courses/pcep", &m),
        ROUTER_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, PATCH");
    router_match_release(&m);
}

static void test_head_uses_get(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(
        router_match(routes, NROUTES, "HEAD", "/api/v1/courses/pcep", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[2]);
    router_match_release(&m);
}

static void test_check_table(void **state)
{
    (void)state;
    assert_int_equal(router_check(routes, NROUTES), 0);
    static const struct http_route dup[] = {
        { "GET", "/a/{x}", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
        { "GET", "/a/{y}", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
    };
    assert_int_equal(router_check(dup, 2), -1);
    static const struct http_route bad[] = {
        { "GET", "/a/{x", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
    };
    assert_int_equal(router_check(bad, 1), -1);
    static const struct http_route two[] = {
        { "GET", "/a/{x}{y}", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, NULL },
    };
    assert_int_equal(router_check(two, 1), -1);
}

static void test_query_check(void **state)
{
    static const struct http_route r = { "GET", "/api/v1/offerings", handler, HTTP_ANYONE,
        HTTP_BODY_NONE, 0, "course,status,limit,cursor" };
    static const struct http_route none = { "GET", "/api/v1/courses/{slug}", handler, HTTP_ANYONE,
        HTTP_BODY_NONE, 0, NULL };
    size_t bad = 99;
    (void)state;

    const char *ok[] = { "status", "course", "limit" };
    assert_int_equal(router_query_check(&r, ok, 3, &bad), ROUTER_QUERY_OK);
    assert_int_equal(router_query_check(&r, NULL, 0, &bad), ROUTER_QUERY_OK);
    assert_int_equal(router_query_check(&none, NULL, 0, &bad), ROUTER_QUERY_OK);

    const char *unknown[] = { "course", "nocache" };
    assert_int_equal(router_query_check(&r, unknown, 2, &bad), ROUTER_QUERY_UNKNOWN);
    assert_int_equal(bad, 1);
    /* Neither a prefix, an extension nor a list of accepted names is accepted. */
    const char *near[][1] = { { "cours" }, { "courses" }, { "course,status" }, { "" },
        { "Course" } };
    for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
        assert_int_equal(router_query_check(&r, near[i], 1, &bad), ROUTER_QUERY_UNKNOWN);
        assert_int_equal(bad, 0);
    }
    const char *any[] = { "limit" };
    assert_int_equal(router_query_check(&none, any, 1, &bad), ROUTER_QUERY_UNKNOWN);

    const char *twice[] = { "course", "status", "course" };
    assert_int_equal(router_query_check(&r, twice, 3, &bad), ROUTER_QUERY_REPEATED);
    assert_int_equal(bad, 2);
}

static void test_check_query_lists(void **state)
{
    (void)state;
    static const struct http_route good[] = {
        { "GET", "/a", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, "limit,cursor,discount_code" },
    };
    assert_int_equal(router_check(good, 1), 0);
    static const char *const lists[] = { "", "limit,", ",limit", "limit,,cursor", "limit,limit",
        "Limit", "limit cursor" };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        const struct http_route bad[] = {
            { "GET", "/a", handler, HTTP_ANYONE, HTTP_BODY_NONE, 0, lists[i] },
        };
        assert_int_equal(router_check(bad, 1), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_match),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_suffix_param),
        cmocka_unit_test(test_literal_beats_param),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_head_uses_get),
        cmocka_unit_test(test_check_table),
        cmocka_unit_test(test_query_check),
        cmocka_unit_test(test_check_query_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
