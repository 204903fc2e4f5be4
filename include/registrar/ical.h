/*
 * ical.h: iCalendar (RFC 5545) rendering of schedules, with libical doing
 * the format: escaping of text, folding of lines at 75 octets (never inside
 * a UTF-8 sequence), CRLF line ends, and the VTIMEZONE of each zone.
 *
 * Layering: render layer; uses jansson and util. Only this module includes
 * <libical/ical.h>. Thread-safe (libical's zone cache is shared, so
 * renders are serialised; they are rare, as the public cache keeps their
 * output).
 *
 * The input is the JSON document the calendar SQL functions return:
 *
 *   { "name": "Course — Offering",
 *     "events": [ { "uid": "…@registrar",       stable across changes
 *                   "summary": "…",
 *                   "description": "…" | null,
 *                   "location": "…" | null,
 *                   "categories": "workshop" | null,
 *                   "tzid": "America/New_York",   the IANA zone of start/end
 *                   "start": "2027-03-15T08:30:00", wall-clock time in tzid
 *                   "end":   "2027-03-15T09:30:00",
 *                   "stamp": 1795880435,        UTC seconds of the last change (DTSTAMP,
 *                                                LAST-MODIFIED)
 *                   "created": 1795880435,      optional
 *                   "sequence": 0,
 *                   "cancelled": false }, … ] }
 *
 * Each event becomes one VEVENT with UID, DTSTAMP (UTC), DTSTART and DTEND
 * qualified with TZID, SEQUENCE and STATUS (CONFIRMED, or CANCELLED); each
 * zone used gets one VTIMEZONE, trimmed to the years the events need.
 */
#ifndef REGISTRAR_ICAL_H
#define REGISTRAR_ICAL_H

#include <jansson.h>
#include <stddef.h>

/*
 * Renders doc as a VCALENDAR. Returns the text (malloc'd, owned by the
 * caller, NUL-terminated) and its length in *len, or NULL when doc is not
 * of the shape above or names a zone libical does not know.
 */
char *ical_render(const json_t *doc, size_t *len);

#endif
