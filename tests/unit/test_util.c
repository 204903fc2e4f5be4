/* test_util.c: string buffer, hex, UTF-8 validation, hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/util.h"

static void test_sbuf(void **state)
{
    struct sbuf sb = SBUF_INIT;
    size_t len;
    (void)state;
    sbuf_adds(&sb, "abc");
    sbuf_addc(&sb, '-');
    sbuf_addf(&sb, "%d/%s", 42, "x");
    for (int i = 0; i < 1000; i++)
        sbuf_addc(&sb, 'z');
    assert_int_equal(sb.len, 3 + 1 + 4 + 1000);
    assert_memory_equal(sb.buf, "abc-42/x", 8);
    char *s = sbuf_detach(&sb, &len);
    assert_int_equal(len, 1008);
    assert_int_equal(s[len], '\0');
    assert_null(sb.buf);
    free(s);
    s = sbuf_detach(&sb, &len);
    assert_string_equal(s, "");
    free(s);
}

static void test_hex(void **state)
{
    uint8_t in[] = { 0x00, 0x7f, 0xab, 0xff };
    char out[9];
    uint8_t back[4];
    (void)state;
    util_hex_encode(in, 4, out);
    assert_string_equal(out, "007fabff");
    assert_int_equal(util_hex_decode("007FABff", back, sizeof(back)), 4);
    assert_memory_equal(back, in, 4);
    assert_int_equal(util_hex_decode("abc", back, sizeof(back)), -1);
    assert_int_equal(util_hex_decode("zz", back, sizeof(back)), -1);
    assert_int_equal(util_hex_decode("0011223344", back, sizeof(back)), -1);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(util_utf8_valid("plain", 5));
    assert_true(util_utf8_valid("caf\xc3\xa9", 5));
    assert_true(util_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(util_utf8_valid("\xc3", 1));             /* truncated */
    assert_false(util_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(util_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(util_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(util_utf8_valid("a\0b", 3));
    assert_false(util_utf8_valid("\xff", 1));
    assert_int_equal(util_utf8_len("caf\xc3\xa9 \xf0\x9f\x98\x80"), 6);
}

static void test_hash(void **state)
{
    (void)state;
    /* FNV-1a 64 of the empty string and of "a" (published test values). */
    assert_true(util_hash64("", 0) == 0xcbf29ce484222325ULL);
    assert_true(util_hash64("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(util_hash64("ab", 2) != util_hash64("ba", 2));
}

static void test_xasprintf(void **state)
{
    (void)state;
    char *s = xasprintf("%s:%05d", "n", 7);
    assert_string_equal(s, "n:00007");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sbuf),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_xasprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
