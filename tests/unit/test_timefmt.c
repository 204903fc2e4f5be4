/* test_timefmt.c: RFC 3339 date-times and dates as the API accepts them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registrar/timefmt.h"

static void test_datetime_with_offsets(void **state)
{
    int64_t t = 0;
    int off = 99;
    (void)state;

    assert_int_equal(timefmt_parse_datetime("1970-01-01T00:00:00Z", &t, &off), 0);
    assert_int_equal(t, 0);
    assert_int_equal(off, 0);
    /* 08:30 at -04:00 is 12:30 UTC. */
    assert_int_equal(timefmt_parse_datetime("2027-03-15T08:30:00-04:00", &t, &off), 0);
    assert_int_equal(t, 1805113800);
    assert_int_equal(off, -240);
    assert_int_equal(timefmt_parse_datetime("2027-03-15T12:30:00Z", &t, NULL), 0);
    assert_int_equal(t, 1805113800);
    assert_int_equal(timefmt_parse_datetime("2027-03-15T18:00:00+05:30", &t, &off), 0);
    assert_int_equal(t, 1805113800);
    assert_int_equal(off, 330);
    /* Lower-case separators and fractions are RFC 3339 too; fractions are dropped. */
    assert_int_equal(timefmt_parse_datetime("2027-03-15t12:30:00.123456z", &t, NULL), 0);
    assert_int_equal(t, 1805113800);
    /* Before the epoch. */
    assert_int_equal(timefmt_parse_datetime("1969-12-31T23:59:59Z", &t, NULL), 0);
    assert_int_equal(t, -1);
}

static void test_datetime_leap_days(void **state)
{
    int64_t t = 0;
    (void)state;

    assert_int_equal(timefmt_parse_datetime("2028-02-29T00:00:00Z", &t, NULL), 0);
    assert_int_equal(t, 1835395200);
    assert_int_equal(timefmt_parse_datetime("2000-02-29T00:00:00Z", &t, NULL), 0);
    assert_int_equal(timefmt_parse_datetime("2027-02-29T00:00:00Z", &t, NULL), -1);
    assert_int_equal(timefmt_parse_datetime("1900-02-29T00:00:00Z", &t, NULL), -1);
}

static void test_datetime_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "2027-03-15",             /* a date is not a time */
        "2027-03-15T08:30:00",    /* no offset: ambiguous */
        "2027-03-15T08:30-04:00", /* seconds are required */
        "2027-03-15 08:30:00Z",   /* space instead of T */
        "2027-3-15T08:30:00Z",
        "2027-13-01T08:30:00Z",
        "2027-04-31T08:30:00Z",
        "2027-03-15T24:00:00Z",
        "2027-03-15T23:60:00Z",
        "2027-03-15T23:59:60Z", /* leap seconds refused */
        "2027-03-15T08:30:00+24:00",
        "2027-03-15T08:30:00+04:60",
        "2027-03-15T08:30:00+0400",
        "2027-03-15T08:30:00+04",
        "2027-03-15T08:30:00.Z",
        "2027-03-15T08:30:00.1234567890Z",
        "2027-03-15T08:30:00Zjunk",
        "0000-01-01T00:00:00Z",
        "+2027-03-15T08:30:00Z",
        "2027-03-15T08:30:00-04:00 ",
        NULL,
    };
    int64_t t = 42;
    int off = 42;
    (void)state;

    for (int i = 0; bad[i] != NULL; i++) {
        if (timefmt_parse_datetime(bad[i], &t, &off) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(timefmt_parse_datetime(NULL, &t, &off), -1);
    assert_int_equal(t, 42); /* untouched on failure */
    assert_int_equal(off, 42);
}

static void test_dates(void **state)
{
    int y = 0, m = 0, d = 0;
    (void)state;

    assert_int_equal(timefmt_parse_date("2027-06-10", &y, &m, &d), 0);
    assert_int_equal(y, 2027);
    assert_int_equal(m, 6);
    assert_int_equal(d, 10);
    assert_int_equal(timefmt_parse_date("2028-02-29", &y, &m, &d), 0);
    assert_int_equal(timefmt_parse_date("2027-02-29", &y, &m, &d), -1);
    assert_int_equal(timefmt_parse_date("2027-06-31", &y, &m, &d), -1);
    assert_int_equal(timefmt_parse_date("2027-06-1", &y, &m, &d), -1);
    assert_int_equal(timefmt_parse_date("2027-06-10T00:00:00Z", &y, &m, &d), -1);
    assert_int_equal(timefmt_parse_date("27-06-10", &y, &m, &d), -1);
    assert_int_equal(timefmt_parse_date("2027/06/10", &y, &m, &d), -1);
    assert_int_equal(timefmt_parse_date("", &y, &m, &d), -1);
    assert_int_equal(timefmt_parse_date(NULL, &y, &m, &d), -1);
}

static void test_civil_days(void **state)
{
    (void)state;
    assert_int_equal(timefmt_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(timefmt_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(timefmt_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(timefmt_days_in_month(2028, 2), 29);
    assert_int_equal(timefmt_days_in_month(2100, 2), 28);
    assert_int_equal(timefmt_days_in_month(2027, 13), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime_with_offsets),
        cmocka_unit_test(test_datetime_leap_days),
        cmocka_unit_test(test_datetime_rejects),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_civil_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
