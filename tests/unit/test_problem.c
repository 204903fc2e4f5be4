/* test_problem.c: RFC 9457 rendering with the contract's slugs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "registrar/problem.h"

static void test_members(void **state)
{
    (void)state;
    json_t *p = problem_new(404, "not-found", "No such course.");
    assert_string_equal(json_string_value(json_object_get(p, "type")),
        "https://registrar.invalid/problems/not-found");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Not found");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 404);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "No such course.");
    json_decref(p);
}

static void test_no_detail(void **state)
{
    (void)state;
    json_t *p = problem_new(500, "internal", NULL);
    assert_null(json_object_get(p, "detail"));
    assert_int_equal(json_object_size(p), 3);
    json_decref(p);
}

static void test_titles(void **state)
{
    (void)state;
    assert_string_equal(problem_title("rate-limited", 429), "Too many attempts");
    assert_string_equal(problem_title("csrf", 403), "Missing or invalid CSRF token");
    /* Unknown slugs fall back to the status's own name. */
    assert_string_equal(problem_title("something-new", 409), "Conflict");
    assert_string_equal(problem_title("something-new", 502), "Internal error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_no_detail),
        cmocka_unit_test(test_titles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
