/* test_etag.c: strong tags and If-None-Match matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "registrar/etag.h"

static void test_make(void **state)
{
    char a[ETAG_SIZE], b[ETAG_SIZE], c[ETAG_SIZE];
    (void)state;
    etag_make("{\"items\":[]}", 12, a);
    etag_make("{\"items\":[]}", 12, b);
    etag_make("{\"items\":[1]}", 13, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 18);
    assert_int_equal(a[0], '"');
    assert_int_equal(a[17], '"');
    etag_make(NULL, 0, a);
    assert_string_equal(a, "\"cbf29ce484222325\"");
}

static void test_matches(void **state)
{
    const char *t = "\"0123456789abcdef\"";
    (void)state;
    assert_true(etag_matches("\"0123456789abcdef\"", t));
    assert_true(etag_matches("*", t));
    assert_true(etag_matches("\"x\", \"0123456789abcdef\"", t));
    assert_true(etag_matches("\"x\",\"0123456789abcdef\"", t));
    assert_true(etag_matches("W/\"0123456789abcdef\"", t));
    assert_false(etag_matches("\"0123456789abcde\"", t));
    assert_false(etag_matches("\"0123456789abcdef0\"", t));
    assert_false(etag_matches("0123456789abcdef", t));
    assert_false(etag_matches("\"0123456789abcdef\"x", t));
    assert_false(etag_matches("", t));
    assert_false(etag_matches(NULL, t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make),
        cmocka_unit_test(test_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
