/* test_mail.c: the RFC 5322 text of outbox messages (mail_format and its encoders). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/mail.h"

/* 2026-11-28 16:55:30 UTC, a Saturday. */
#define DATE ((time_t)1795884930)

static void test_address_ok(void **state)
{
    (void)state;
    assert_true(mail_address_ok("ann@example.org"));
    assert_true(mail_address_ok("registrar@localhost"));
    assert_false(mail_address_ok("ann"));
    assert_false(mail_address_ok("@example.org"));
    assert_false(mail_address_ok("ann@"));
    assert_false(mail_address_ok("ann@example.org\r\nBcc: eve@example.org"));
    assert_false(mail_address_ok("ann <ann@example.org>"));
    assert_false(mail_address_ok("a@b,c@d"));
    assert_false(mail_address_ok("ann\xc3\xa9@example.org"));
    assert_false(mail_address_ok(NULL));
}

static void test_subject_ascii_stays(void **state)
{
    char *s = mail_encode_subject("Reset your Registrar password");
    (void)state;
    assert_string_equal(s, "Reset your Registrar password");
    free(s);
}

static void test_subject_utf8_encoded(void **state)
{
    /* "Café" */
    char *s = mail_encode_subject("Caf\xc3\xa9");
    char *t = mail_encode_subject("line\r\nBcc: eve@example.org");
    char *u = mail_encode_subject("=?UTF-8?B?x?=");
    (void)state;
    assert_string_equal(s, "=?UTF-8?B?Q2Fmw6k=?=");
    /* Control characters cannot make a header of their own. */
    assert_null(strchr(t, '\n'));
    assert_memory_equal(t, "=?UTF-8?B?", 10);
    assert_memory_equal(u, "=?UTF-8?B?", 10);
    assert_string_not_equal(u, "=?UTF-8?B?x?=");
    free(s);
    free(t);
    free(u);
}

static void test_subject_long_utf8_split_on_characters(void **state)
{
    char subject[201];
    char *s;
    (void)state;
    /* 100 × "é" (2 bytes each): words must hold whole characters only. */
    for (int i = 0; i < 100; i++)
        memcpy(subject + 2 * i, "\xc3\xa9", 2);
    subject[200] = '\0';
    s = mail_encode_subject(subject);
    int words = 0;
    for (char *w = s; (w = strstr(w, "=?UTF-8?B?")) != NULL; words++) {
        char *end = strstr(w + 10, "?=");
        assert_non_null(end);
        size_t len = (size_t)(end + 2 - w);
        assert_true(len <= 75);
        /* 44 bytes (22 characters) per full word: 60 base64 characters. */
        if (strstr(end, "=?UTF-8?B?") != NULL) {
            assert_int_equal(len, 12 + 60);
            assert_memory_equal(end + 2, "\r\n ", 3);
        }
        w = end;
    }
    assert_int_equal(words, 5);
    free(s);
}

static void test_body_quoted_printable(void **state)
{
    char *b = mail_encode_body("a=b caf\xc3\xa9 \nend\t\r\n.\n");
    (void)state;
    assert_string_equal(b, "a=3Db caf=C3=A9=20\r\nend=09\r\n.\r\n");
    free(b);
}

static void test_body_long_line_soft_breaks(void **state)
{
    char line[301];
    char *b;
    (void)state;
    memset(line, 'x', 300);
    line[300] = '\0';
    b = mail_encode_body(line);
    /* 75 + "=" per full line, then the rest. */
    size_t count = 0;
    for (char *p = b; *p != '\0';) {
        char *e = strstr(p, "\r\n");
        assert_non_null(e);
        assert_true((size_t)(e - p) <= 76);
        count += (size_t)(e - p) - (e[-1] == '=' ? 1 : 0);
        p = e + 2;
    }
    assert_int_equal(count, 300);
    assert_non_null(strstr(b, "=\r\n"));
    free(b);
}

static void test_format_whole_message(void **state)
{
    struct mail_message m = { 42, "ann@example.org", "Caf\xc3\xa9", "Hello,\nline two\n", DATE };
    char *text = mail_format(&m, "registrar@example.org");
    (void)state;
    assert_non_null(text);
    assert_string_equal(text, "From: registrar@example.org\r\n"
                              "To: ann@example.org\r\n"
                              "Subject: =?UTF-8?B?Q2Fmw6k=?=\r\n"
                              "Date: Sat, 28 Nov 2026 16:55:30 +0000\r\n"
                              "Message-ID: <registrar.42.1795884930@example.org>\r\n"
                              "MIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n"
                              "\r\n"
                              "Hello,\r\n"
                              "line two\r\n");
    /* No bare LF anywhere. */
    for (char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        assert_int_equal(p[-1], '\r');
    free(text);
}

static void test_format_refuses_bad_addresses(void **state)
{
    struct mail_message m = { 1, "ann@example.org\r\nBcc: eve@example.org", "Hi", "x", DATE };
    (void)state;
    assert_null(mail_format(&m, "registrar@example.org"));
    m.to = "ann@example.org";
    assert_null(mail_format(&m, "not an address"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_ok),
        cmocka_unit_test(test_subject_ascii_stays),
        cmocka_unit_test(test_subject_utf8_encoded),
        cmocka_unit_test(test_subject_long_utf8_split_on_characters),
        cmocka_unit_test(test_body_quoted_printable),
        cmocka_unit_test(test_body_long_line_soft_breaks),
        cmocka_unit_test(test_format_whole_message),
        cmocka_unit_test(test_format_refuses_bad_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
