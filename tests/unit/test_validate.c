/* test_validate.c: the pure parts of the shared input checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
