/* test_ical.c: iCalendar rendering: structure, escaping, folding of multi-byte text, zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/ical.h"
#include "registrar/util.h"

/* 38 two-byte and 20 three-byte characters: any fold at 75 octets lands near a sequence. */
#define LONG_TITLE                                                                                                            \
    "Éthique, soins; et \\ « fin de vie » — ééééééééééééééééééééééééééééééééééééé " \
    "緩和ケア緩和ケア緩和ケア緩和ケア緩和ケア\nsecond line"

static json_t *doc_new(const char *tzid, const char *summary, bool cancelled)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:b}]}",
        "name", "PCEP, Part 1; 2027", "events", "uid",
        "5f28ace1-1f11-4dca-ab2e-631434a84bde@registrar", "summary", summary, "description",
        "Faculty: Dr A, Dr B", "location", "Ballroom; East wing", "categories", "plenary", "tzid",
        tzid, "start", "2027-03-15T08:30:00", "end", "2027-03-15T09:30:00", "stamp",
        (json_int_t)1805113800, "created", (json_int_t)1800000000, "sequence", cancelled ? 3 : 0,
        "cancelled", cancelled);
}

static char *render(json_t *doc, size_t *len)
{
    char *out = ical_render(doc, len);
    json_decref(doc);
    return out;
}

/* Unfolds RFC 5545 content lines (CRLF + one space or tab is removed). */
static char *unfold(const char *s)
{
    struct sbuf sb = SBUF_INIT;
    for (const char *p = s; *p != '\0'; p++) {
        if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
            p += 2;
            continue;
        }
        sbuf_addc(&sb, *p);
    }
    return sbuf_detach(&sb, NULL);
}

/* The unfolded value of the first property line starting with prefix, or NULL. */
static char *property(const char *unfolded, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = unfolded; line != NULL && *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        if (strncmp(line, prefix, n) == 0)
            return end != NULL ? xstrndup(line + n, (size_t)(end - line) - n) : xstrdup(line + n);
        line = end != NULL ? end + 2 : NULL;
    }
    return NULL;
}

static void test_structure_and_lines(void **state)
{
    size_t len = 0;
    char *ics = render(doc_new("America/New_York", "Welcome", false), &len);
    (void)state;

    assert_non_null(ics);
    assert_int_equal(strlen(ics), len);
    assert_true(strncmp(ics, "BEGIN:VCALENDAR\r\n", 17) == 0);
    assert_true(len > 15 && strcmp(ics + len - 15, "END:VCALENDAR\r\n") == 0);
    /* Every line ends in CRLF: no bare LF or CR anywhere. */
    for (size_t i = 0; i < len; i++) {
        if (ics[i] == '\n')
            assert_true(i > 0 && ics[i - 1] == '\r');
        if (ics[i] == '\r')
            assert_true(ics[i + 1] == '\n');
    }
    char *u = unfold(ics);
    char *v;
    assert_non_null(strstr(u, "\r\nVERSION:2.0\r\n"));
    assert_non_null(strstr(u, "\r\nPRODID:"));
    assert_non_null(strstr(u, "\r\nBEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"));
    assert_non_null(strstr(u, "\r\nBEGIN:VEVENT\r\n"));
    v = property(u, "UID:");
    assert_string_equal(v, "5f28ace1-1f11-4dca-ab2e-631434a84bde@registrar");
    free(v);
    v = property(u, "DTSTAMP:");
    assert_string_equal(v, "20270315T123000Z");
    free(v);
    v = property(u, "DTSTART;TZID=America/New_York:");
    assert_string_equal(v, "20270315T083000");
    free(v);
    v = property(u, "DTEND;TZID=America/New_York:");
    assert_string_equal(v, "20270315T093000");
    free(v);
    v = property(u, "SEQUENCE:");
    assert_string_equal(v, "0");
    free(v);
    v = property(u, "STATUS:");
    assert_string_equal(v, "CONFIRMED");
    free(v);
    /* DTEND, not DURATION as well. */
    assert_null(strstr(u, "\r\nDURATION"));
    /* The zone keeps the rules in force in 2027 (EDT from the second Sunday of March). */
    assert_non_null(strstr(u, "TZOFFSETTO:-0400"));
    assert_non_null(strstr(u, "BYMONTH=3"));
    free(u);
    free(ics);
}

static void test_escaping(void **state)
{
    size_t len;
    char *ics = render(doc_new("America/New_York", "a;b,c\\d\ne", false), &len);
    (void)state;

    assert_non_null(ics);
    char *u = unfold(ics);
    char *v = property(u, "SUMMARY:");
    assert_string_equal(v, "a\\;b\\,c\\\\d\\ne");
    free(v);
    v = property(u, "LOCATION:");
    assert_string_equal(v, "Ballroom\\; East wing");
    free(v);
    v = property(u, "DESCRIPTION:");
    assert_string_equal(v, "Faculty: Dr A\\, Dr B");
    free(v);
    v = property(u, "X-WR-CALNAME:");
    /* Display only, and libical cannot escape X- values: the specials are dropped. */
    assert_string_equal(v, "PCEP  Part 1  2027");
    free(v);
    free(u);
    free(ics);
}

static void test_folding_multibyte(void **state)
{
    size_t len;
    char *ics = render(doc_new("Europe/Paris", LONG_TITLE, false), &len);
    (void)state;

    assert_non_null(ics);
    /* Each physical line: at most 75 octets, and valid UTF-8 on its own (no split sequence). */
    int folded = 0;
    for (const char *line = ics; *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        assert_non_null(end);
        size_t n = (size_t)(end - line);
        if (n > 75)
            fail_msg("line of %zu octets: %.*s", n, (int)n, line);
        if (!util_utf8_valid(line, n))
            fail_msg("line splits a UTF-8 sequence: %.*s", (int)n, line);
        if (line[0] == ' ')
            folded++;
        line = end + 2;
    }
    assert_true(folded >= 2);
    /* Unfolding gives back the text, escaped. */
    char *u = unfold(ics);
    char *v = property(u, "SUMMARY:");
    assert_string_equal(v,
        "Éthique\\, soins\\; et \\\\ « fin de vie » — ééééééééééééééééééééééééééééééééééééé "
        "緩和ケア緩和ケア緩和ケア緩和ケア緩和ケア\\nsecond line");
    free(v);
    v = property(u, "DTSTART;TZID=Europe/Paris:");
    assert_string_equal(v, "20270315T083000");
    free(v);
    free(u);
    free(ics);
}

static void test_cancelled(void **state)
{
    size_t len;
    char *ics = render(doc_new("America/Chicago", "Gone", true), &len);
    (void)state;

    assert_non_null(ics);
    char *u = unfold(ics);
    char *v = property(u, "STATUS:");
    assert_string_equal(v, "CANCELLED");
    free(v);
    v = property(u, "SEQUENCE:");
    assert_string_equal(v, "3");
    free(v);
    free(u);
    free(ics);
}

static void test_utc_and_errors(void **state)
{
    size_t len;
    char *ics = render(doc_new("UTC", "In UTC", false), &len);
    (void)state;

    assert_non_null(ics);
    char *u = unfold(ics);
    assert_null(strstr(u, "VTIMEZONE"));
    char *v = property(u, "DTSTART:");
    assert_string_equal(v, "20270315T083000Z");
    free(v);
    free(u);
    free(ics);

    assert_null(render(doc_new("Mars/Olympus_Mons", "x", false), &len));
    assert_null(render(json_pack("{s:s}", "name", "no events"), &len));
    json_t *bad = doc_new("America/New_York", "x", false);
    json_object_set_new(json_array_get(json_object_get(bad, "events"), 0), "start",
        json_string("2027-02-30T08:30:00"));
    assert_null(render(bad, &len));

    /* No events is a valid, empty calendar. */
    ics = render(json_pack("{s:s, s:[]}", "name", "empty", "events"), &len);
    assert_non_null(ics);
    assert_null(strstr(ics, "VEVENT"));
    free(ics);
}

/* Controls RFC 5545 keeps out of TEXT (stored before the API refused them) are left out. */
static void test_controls_left_out(void **state)
{
    size_t len = 0;
    char *ics = render(doc_new("UTC",
                           "a\x01"
                           "b\x0c\rc\x7f"
                           "d\xc2\x85"
                           "e\tf\ng",
                           false),
        &len);
    (void)state;

    assert_non_null(ics);
    char *flat = unfold(ics);
    char *summary = property(flat, "SUMMARY:");
    assert_string_equal(summary, "abcde\tf\\ng");
    for (size_t i = 0; i < len; i++)
        assert_false(
            ((unsigned char)ics[i] < 0x20 && ics[i] != '\t' && ics[i] != '\r' && ics[i] != '\n') ||
            ics[i] == 0x7f);
    free(summary);
    free(flat);
    free(ics);
}

/*
 * A line that fills its 75 octets exactly: libical folds between its CR and
 * LF; the renderer undoes that fold, so no bare CR or LF is left.
 */
static void test_full_line_fold(void **state)
{
    (void)state;
    /* "SUMMARY:" and 67 to 160 octets of text: one of them fills a line exactly. */
    for (size_t n = 67; n <= 160; n++) {
        char text[200];
        size_t len = 0;
        memset(text, 'x', n);
        text[n] = '\0';
        char *ics = render(doc_new("UTC", text, false), &len);
        assert_non_null(ics);
        for (size_t i = 0; i < len; i++) {
            if (ics[i] == '\r')
                assert_true(ics[i + 1] == '\n');
            if (ics[i] == '\n')
                assert_true(i > 0 && ics[i - 1] == '\r');
        }
        char *flat = unfold(ics);
        char *summary = property(flat, "SUMMARY:");
        assert_string_equal(summary, text);
        free(summary);
        free(flat);
        free(ics);
    }
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_and_lines),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_folding_multibyte),
        cmocka_unit_test(test_cancelled),
        cmocka_unit_test(test_controls_left_out),
        cmocka_unit_test(test_full_line_fold),
        cmocka_unit_test(test_utc_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
