/* test_csv.c: RFC 4180 output, the byte-order mark and the formula guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/csv.h"

#define BOM "\xEF\xBB\xBF"

/* One record of the given text fields, as a document. */
static char *csv_one(const char *const *fields, size_t n)
{
    struct csv w;
    size_t len;

    csv_init(&w);
    for (size_t i = 0; i < n; i++)
        csv_text(&w, fields[i]);
    csv_end_row(&w);
    char *out = csv_detach(&w, &len);
    assert_int_equal(len, strlen(out));
    return out;
}

static void check_one(const char *field, const char *want_record)
{
    const char *fields[] = { field };
    char *out = csv_one(fields, 1);
    char *want = malloc(strlen(BOM) + strlen(want_record) + 1);
    strcpy(want, BOM);
    strcat(want, want_record);
    assert_string_equal(out, want);
    free(want);
    free(out);
}

static void test_plain_and_crlf(void **state)
{
    const char *fields[] = { "Ada", "Lovelace", "", NULL };
    (void)state;
    char *out = csv_one(fields, 4);
    assert_string_equal(out, BOM "Ada,Lovelace,,\r\n");
    free(out);
}

static void test_bom_once_and_rows(void **state)
{
    struct csv w;
    size_t len;
    (void)state;
    csv_init(&w);
    csv_text(&w, "a");
    csv_int(&w, 42);
    csv_end_row(&w);
    csv_text(&w, "b");
    csv_int(&w, -7);
    csv_end_row(&w);
    assert_int_equal(w.rows, 2);
    char *out = csv_detach(&w, &len);
    assert_string_equal(out, BOM "a,42\r\nb,-7\r\n");
    assert_int_equal(len, 3 + 12);
    free(out);
}

static void test_quoting(void **state)
{
    (void)state;
    check_one("Smith, Jane", "\"Smith, Jane\"\r\n");
    check_one("say \"hi\"", "\"say \"\"hi\"\"\"\r\n");
    check_one("two\nlines", "\"two\nlines\"\r\n");
    check_one("cr\rhere", "\"cr\rhere\"\r\n");
    check_one("\"", "\"\"\"\"\r\n");
    check_one("München — ok", "München — ok\r\n");
}

static void test_formula_guard(void **state)
{
    (void)state;
    check_one("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"\r\n");
    check_one("=1+1", "'=1+1\r\n");
    check_one("+1", "'+1\r\n");
    check_one("-1", "'-1\r\n");
    check_one("@SUM(A1)", "'@SUM(A1)\r\n");
    check_one("\tcmd", "'\tcmd\r\n");
    check_one("\rcmd", "\"'\rcmd\"\r\n");
    check_one("=a,b", "\"'=a,b\"\r\n");
    /* Only the first character counts. */
    check_one("a=b", "a=b\r\n");
    check_one("x-1", "x-1\r\n");
}

static void test_release(void **state)
{
    struct csv w;
    (void)state;
    csv_init(&w);
    csv_text(&w, "x");
    csv_release(&w);
    assert_null(w.sb.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_crlf),
        cmocka_unit_test(test_bom_once_and_rows),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_formula_guard),
        cmocka_unit_test(test_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
