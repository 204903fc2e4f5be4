/* test_validate.c: the pure parts of the shared input checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "registrar/api.h"

static void test_uuid(void **state)
{
    (void)state;
    assert_true(api_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
    assert_true(api_uuid_valid("3F2504E0-4F89-41D3-9A0C-0305E82C3301"));
    assert_false(api_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c330"));
    assert_false(api_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c33011"));
    assert_false(api_uuid_valid("3f2504e04f8941d39a0c0305e82c330100"));
    assert_false(api_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c330g"));
    assert_false(api_uuid_valid("../../../../etc/passwd-aaaaaaaaaaaaaaaa"));
    assert_false(api_uuid_valid(""));
    assert_false(api_uuid_valid(NULL));
}

static void test_limit(void **state)
{
    int n = 0;

    (void)state;
    assert_int_equal(api_limit_parse(NULL, &n), 0);
    assert_int_equal(n, 50);
    assert_int_equal(api_limit_parse("1", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(api_limit_parse("200", &n), 0);
    assert_int_equal(n, 200);
    assert_int_equal(api_limit_parse("0", &n), -1);
    assert_int_equal(api_limit_parse("201", &n), -1);
    assert_int_equal(api_limit_parse("", &n), -1);
    /* Digits only: strtol alone would take these. */
    assert_int_equal(api_limit_parse("+5", &n), -1);
    assert_int_equal(api_limit_parse(" 5", &n), -1);
    assert_int_equal(api_limit_parse("5 ", &n), -1);
    assert_int_equal(api_limit_parse("5e1", &n), -1);
    assert_int_equal(api_limit_parse("99999999999999999999", &n), -1);
}

static void test_cursor(void **state)
{
    char big[516];

    (void)state;
    assert_true(api_cursor_valid("00ff"));
    assert_true(api_cursor_valid("ABcd"));
    assert_false(api_cursor_valid("abc"));
    assert_false(api_cursor_valid("zz"));
    assert_false(api_cursor_valid("00 f"));
    memset(big, 'a', 512);
    big[512] = '\0';
    assert_true(api_cursor_valid(big));
    memset(big, 'a', 514);
    big[514] = '\0';
    assert_false(api_cursor_valid(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
