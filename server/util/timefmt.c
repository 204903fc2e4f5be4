/* timefmt.c: RFC 3339 date-times and plain dates. See timefmt.h. */
#include "registrar/timefmt.h"

#include <stddef.h>

/* Reads exactly n decimal digits at s into *out; false if any is not a digit. */
static bool timefmt_digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool timefmt_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int timefmt_days_in_month(int year, int month)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (month < 1 || month > 12)
        return 0;
    return month == 2 && timefmt_leap_year(year) ? 29 : days[month - 1];
}

int64_t timefmt_days_from_civil(int year, int month, int day)
{
    /* Howard Hinnant's days_from_civil: eras of 400 years, March-based years. */
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD" at s (10 characters, no terminator required). */
static bool timefmt_date_at(const char *s, int *year, int *month, int *day)
{
    int y, m, d;

    if (!timefmt_digits(s, 4, &y) || s[4] != '-' || !timefmt_digits(s + 5, 2, &m) || s[7] != '-' ||
        !timefmt_digits(s + 8, 2, &d))
        return false;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > timefmt_days_in_month(y, m))
        return false;
    *year = y;
    *month = m;
    *day = d;
    return true;
}

int timefmt_parse_date(const char *s, int *year, int *month, int *day)
{
    int y, m, d;

    if (s == NULL)
        return -1;
    for (int i = 0; i < 10; i++)
        if (s[i] == '\0')
            return -1;
    if (s[10] != '\0' || !timefmt_date_at(s, &y, &m, &d))
        return -1;
    *year = y;
    *month = m;
    *day = d;
    return 0;
}

int timefmt_parse_datetime(const char *s, int64_t *unix_s, int *offset_min)
{
    int y, mo, d, h, mi, sec, oh, om, off;
    const char *p;

    if (s == NULL)
        return -1;
    for (int i = 0; i < 19; i++)
        if (s[i] == '\0')
            return -1;
    if (!timefmt_date_at(s, &y, &mo, &d) || (s[10] != 'T' && s[10] != 't'))
        return -1;
    if (!timefmt_digits(s + 11, 2, &h) || s[13] != ':' || !timefmt_digits(s + 14, 2, &mi) ||
        s[16] != ':' || !timefmt_digits(s + 17, 2, &sec))
        return -1;
    if (h > 23 || mi > 59 || sec > 59)
        return -1;
    p = s + 19;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f || p - f > 9)
            return -1;
    }
    if (*p == 'Z' || *p == 'z') {
        off = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        if (!timefmt_digits(p + 1, 2, &oh) || p[3] != ':' || !timefmt_digits(p + 4, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    if (unix_s != NULL)
        *unix_s = timefmt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                  (int64_t)off * 60;
    if (offset_min != NULL)
        *offset_min = off;
    return 0;
}
