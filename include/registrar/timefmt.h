/*
 * timefmt.h: the API's dates and times, checked before they reach SQL so
 * that a bad value is a 400 naming its field.
 *
 * Layering: libc only; pure, unit-tested directly.
 *
 * Times are RFC 3339 date-times WITH an offset ("2027-03-15T08:30:00-04:00",
 * "2027-03-15T12:30:00Z", fractional seconds allowed); a time without an
 * offset is ambiguous and refused. Leap seconds (":60") are refused too.
 * Dates are "YYYY-MM-DD". Years run from 1 to 9999.
 */
#ifndef REGISTRAR_TIMEFMT_H
#define REGISTRAR_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Parses an RFC 3339 date-time. On success returns 0 with *unix_s the
 * instant (seconds since 1970-01-01T00:00:00Z, fractions dropped) and
 * *offset_min the offset it was written with (-04:00 gives -240); either
 * pointer may be NULL. Returns -1 for anything else; the outputs are then
 * untouched.
 */
int timefmt_parse_datetime(const char *s, int64_t *unix_s, int *offset_min);

/* Parses "YYYY-MM-DD" of a real calendar day; 0, or -1 (outputs untouched). */
int timefmt_parse_date(const char *s, int *year, int *month, int *day);

/* Days from 1970-01-01 to the given proleptic Gregorian date (negative before). */
int64_t timefmt_days_from_civil(int year, int month, int day);

bool timefmt_leap_year(int year);
/* Days in the month (1..12) of the year; 0 for a month out of range. */
int timefmt_days_in_month(int year, int month);

#endif
