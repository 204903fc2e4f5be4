/* ical.c: schedules as iCalendar, built with libical. See ical.h. */
#include "registrar/ical.h"

#include "registrar/timefmt.h"
#include "registrar/util.h"

#include <libical/ical.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ICAL_MAX_ZONES 16
#define ICAL_PRODID "-//Registrar//Registrar 1//EN"

/* libical's zone cache is process-wide and filled lazily: one render at a time. */
static pthread_mutex_t ical_lock = PTHREAD_MUTEX_INITIALIZER;

/* "YYYY-MM-DDTHH:MM:SS" into a floating date-time; -1 if malformed. */
static int ical_parse_local(const char *s, struct icaltimetype *out)
{
    char date[11];
    int y, mo, d, h, mi, sec;

    if (s == NULL || strlen(s) != 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (timefmt_parse_date(date, &y, &mo, &d) == -1)
        return -1;
    if (sscanf(s + 11, "%2d:%2d:%2d", &h, &mi, &sec) != 3 || h > 23 || mi > 59 || sec > 59 ||
        h < 0 || mi < 0 || sec < 0)
        return -1;
    *out = icaltime_null_time();
    out->year = y;
    out->month = mo;
    out->day = d;
    out->hour = h;
    out->minute = mi;
    out->second = sec;
    out->is_date = 0;
    return 0;
}

static bool ical_is_utc(const char *tzid)
{
    return strcmp(tzid, "UTC") == 0 || strcmp(tzid, "Etc/UTC") == 0;
}

static const char *ical_member(const json_t *ev, const char *name)
{
    return json_string_value(json_object_get(ev, name));
}

/*
 * text without the characters RFC 5545 keeps out of TEXT values (controls
 * other than tab and line feed, C1 controls, DEL), which libical would
 * write raw: text stored before the API refused them must not break a
 * calendar. Malloc'd.
 */
static char *ical_text_clean(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    char *out = xmalloc(strlen(text) + 1), *o = out;

    for (; *p != '\0'; p++) {
        if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
            continue;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            p++; /* U+0080..U+009F */
            continue;
        }
        *o++ = (char)*p;
    }
    *o = '\0';
    return out;
}

/* Adds the TEXT property made by make from ev's member name, when it has one. */
static void ical_add_text(
    icalcomponent *vev, const json_t *ev, const char *name, icalproperty *(*make)(const char *))
{
    const char *text = ical_member(ev, name);

    if (text == NULL)
        return;
    char *clean = ical_text_clean(text);
    icalcomponent_add_property(vev, make(clean));
    free(clean);
}

/* A DTSTART/DTEND property at wall time t in zone tzid (UTC gets a "Z" instead). */
static icalproperty *ical_time_property(
    icalproperty_kind kind, struct icaltimetype t, const char *tzid)
{
    icalproperty *p;

    if (ical_is_utc(tzid))
        t = icaltime_set_timezone(&t, icaltimezone_get_utc_timezone());
    p = kind == ICAL_DTSTART_PROPERTY ? icalproperty_new_dtstart(t) : icalproperty_new_dtend(t);
    if (!ical_is_utc(tzid))
        icalproperty_add_parameter(p, icalparameter_new_tzid(tzid));
    return p;
}

static struct icaltimetype ical_utc(json_int_t unix_s)
{
    return icaltime_from_timet_with_zone((time_t)unix_s, 0, icaltimezone_get_utc_timezone());
}

/* Adds one VTIMEZONE for tzid, covering the years from first_year on. */
static int ical_add_zone(icalcomponent *cal, const char *tzid, int first_year)
{
    icaltimezone *zone = icaltimezone_get_builtin_timezone(tzid);
    icalcomponent *vtz;
    icalproperty *p;

    if (zone == NULL || icaltimezone_get_component(zone) == NULL)
        return -1;
    vtz = icalcomponent_new_clone(icaltimezone_get_component(zone));
    /* libical names system zones "/<prefix>/Area/City"; clients expect the IANA name. */
    p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
    if (p != NULL)
        icalproperty_set_tzid(p, tzid);
    else
        icalcomponent_add_property(vtz, icalproperty_new_tzid(tzid));
    struct icaltimetype start = icaltime_null_time();
    start.year = first_year;
    start.month = 1;
    start.day = 1;
    start = icaltime_set_timezone(&start, icaltimezone_get_utc_timezone());
    icaltimezone_truncate_vtimezone(vtz, start, icaltime_null_time(), 1);
    icalcomponent_add_component(cal, vtz);
    return 0;
}

static icalcomponent *ical_event(const json_t *ev)
{
    const char *uid = ical_member(ev, "uid");
    const char *summary = ical_member(ev, "summary");
    const char *tzid = ical_member(ev, "tzid");
    json_t *stamp = json_object_get(ev, "stamp");
    json_t *created = json_object_get(ev, "created");
    json_t *sequence = json_object_get(ev, "sequence");
    struct icaltimetype start, end;
    icalcomponent *vev;

    if (uid == NULL || summary == NULL || tzid == NULL || !json_is_integer(stamp) ||
        ical_parse_local(ical_member(ev, "start"), &start) == -1 ||
        ical_parse_local(ical_member(ev, "end"), &end) == -1)
        return NULL;
    vev = icalcomponent_new_vevent();
    ical_add_text(vev, ev, "uid", icalproperty_new_uid);
    icalcomponent_add_property(vev, icalproperty_new_dtstamp(ical_utc(json_integer_value(stamp))));
    if (json_is_integer(created))
        icalcomponent_add_property(
            vev, icalproperty_new_created(ical_utc(json_integer_value(created))));
    icalcomponent_add_property(
        vev, icalproperty_new_lastmodified(ical_utc(json_integer_value(stamp))));
    icalcomponent_add_property(
        vev, icalproperty_new_sequence(
                 json_is_integer(sequence) ? (int)json_integer_value(sequence) : 0));
    icalcomponent_add_property(vev, ical_time_property(ICAL_DTSTART_PROPERTY, start, tzid));
    icalcomponent_add_property(vev, ical_time_property(ICAL_DTEND_PROPERTY, end, tzid));
    ical_add_text(vev, ev, "summary", icalproperty_new_summary);
    ical_add_text(vev, ev, "description", icalproperty_new_description);
    ical_add_text(vev, ev, "location", icalproperty_new_location);
    ical_add_text(vev, ev, "categories", icalproperty_new_categories);
    icalcomponent_add_property(
        vev, icalproperty_new_status(json_is_true(json_object_get(ev, "cancelled"))
                                         ? ICAL_STATUS_CANCELLED
                                         : ICAL_STATUS_CONFIRMED));
    return vev;
}

/*
 * A copy of libical's text with its one folding defect undone: when a
 * content line fills its last 75 octets exactly, libical folds between the
 * line's own CR and LF, writing CR, CRLF, space, LF (a bare CR and a bare
 * LF; found by tests/fuzz/fuzz_ical.c). Dropping that fold leaves the
 * line at 75 octets with its CRLF, as RFC 5545 wants.
 */
static char *ical_fix_folds(const char *text, size_t *len)
{
    static const char bad[] = "\r\r\n \n";
    char *out = xmalloc(strlen(text) + 1), *o = out;

    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, bad, sizeof(bad) - 1) == 0) {
            memcpy(o, "\r\n", 2);
            o += 2;
            p += sizeof(bad) - 1;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

char *ical_render(const json_t *doc, size_t *len)
{
    const char *zones[ICAL_MAX_ZONES];
    int first_year[ICAL_MAX_ZONES];
    size_t nzones = 0, i;
    const json_t *events = json_object_get(doc, "events");
    const char *name = json_string_value(json_object_get(doc, "name"));
    json_t *ev;
    icalcomponent *cal = NULL;
    char *out = NULL;

    if (!json_is_array(events))
        return NULL;
    /* The zones the events use, each with the earliest year it must cover. */
    json_array_foreach(events, i, ev)
    {
        const char *tzid = ical_member(ev, "tzid");
        const char *start = ical_member(ev, "start");
        size_t z;
        if (tzid == NULL || start == NULL || strlen(start) < 4)
            return NULL;
        int year = atoi(start);
        if (ical_is_utc(tzid))
            continue;
        for (z = 0; z < nzones && strcmp(zones[z], tzid) != 0; z++)
            ;
        if (z == nzones) {
            if (nzones == ICAL_MAX_ZONES)
                return NULL;
            zones[nzones] = tzid;
            first_year[nzones++] = year;
        } else if (year < first_year[z]) {
            first_year[z] = year;
        }
    }

    pthread_mutex_lock(&ical_lock);
    icalerror_set_errors_are_fatal(0);
    cal = icalcomponent_new_vcalendar();
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal, icalproperty_new_prodid(ICAL_PRODID));
    icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
    if (name != NULL) {
        /*
         * libical escapes no TEXT specials in X- values but doubles any
         * backslash given, so no escaped comma can be written: the name
         * (for display only) goes without the characters that need one.
         */
        char *plain = ical_text_clean(name);
        for (char *c = plain; *c != '\0'; c++)
            if (*c == ',' || *c == ';' || *c == '\\' || *c == '\n' || *c == '\t')
                *c = ' ';
        icalproperty *p = icalproperty_new_x(plain);
        icalproperty_set_x_name(p, "X-WR-CALNAME");
        icalcomponent_add_property(cal, p);
        free(plain);
    }
    for (size_t z = 0; z < nzones; z++)
        if (ical_add_zone(cal, zones[z], first_year[z] - 1) == -1)
            goto out;
    json_array_foreach(events, i, ev)
    {
        icalcomponent *vev = ical_event(ev);
        if (vev == NULL)
            goto out;
        icalcomponent_add_component(cal, vev);
    }
    char *text = icalcomponent_as_ical_string_r(cal);
    if (text != NULL) {
        out = ical_fix_folds(text, len);
        icalmemory_free_buffer(text);
    }
out:
    icalcomponent_free(cal);
    pthread_mutex_unlock(&ical_lock);
    return out;
}
