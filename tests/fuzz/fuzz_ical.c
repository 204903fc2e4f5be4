/*
 * fuzz_ical.c: libFuzzer harness for the iCalendar renderer
 * (render/ical.c). Input: a first byte choosing the mode, then either a
 * whole calendar document as JSON (mode 0: what the SQL would return) or
 * the texts of one event separated by 0x1f: summary, description,
 * location, calendar name, zone, start, end (every other mode: texts from
 * directors, as the SQL passes them on).
 *
 * What must hold for any output: CRLF line ends only, no line longer than
 * 75 octets, folds never inside a UTF-8 sequence, no control character
 * but tab (RFC 5545 allows no other in a content line), and after
 * unfolding only the properties the renderer writes, so no text can start
 * a property or a component of its own. From texts: exactly one event,
 * whose summary unescapes to the text given less those controls.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/ical.h"
#include "registrar/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_ical_names[] = { "BEGIN", "END", "VERSION", "PRODID", "CALSCALE",
    "X-WR-CALNAME", "TZID", "TZURL", "X-LIC-LOCATION", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME",
    "DTSTART", "RDATE", "RRULE", "UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "DTEND",
    "SUMMARY", "DESCRIPTION", "LOCATION", "CATEGORIES", "STATUS", NULL };

static const char *const fuzz_ical_zones[] = { "America/New_York", "Europe/Paris", "UTC",
    "Asia/Kolkata", "Australia/Lord_Howe", "Not/AZone" };

/* Unescapes an RFC 5545 TEXT value. */
static char *fuzz_ical_unescape(const char *v, size_t n)
{
    struct sbuf sb = SBUF_INIT;

    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\\' && i + 1 < n) {
            char c = v[++i];
            sbuf_addc(&sb, c == 'n' || c == 'N' ? '\n' : c);
        } else {
            sbuf_addc(&sb, v[i]);
        }
    }
    return sb.buf != NULL ? sbuf_detach(&sb, NULL) : xstrdup("");
}

/* text less the controls RFC 5545 keeps out of TEXT (all but tab and line feed; DEL; C1). */
static char *fuzz_ical_expect(const char *text)
{
    struct sbuf sb = SBUF_INIT;

    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
            continue;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            p++;
            continue;
        }
        sbuf_addc(&sb, (char)*p);
    }
    return sb.buf != NULL ? sbuf_detach(&sb, NULL) : xstrdup("");
}

/* Checks out; returns the unescaped SUMMARY of the one VEVENT (malloc'd) or NULL. */
static char *fuzz_ical_check(const char *out, size_t len, size_t *events)
{
    struct sbuf unfolded = SBUF_INIT;
    char *summary = NULL;

    if (len < 17 || strncmp(out, "BEGIN:VCALENDAR\r\n", 17) != 0)
        abort();
    for (size_t i = 0; i < len;) {
        const char *eol = strstr(out + i, "\r\n");
        if (eol == NULL)
            abort();
        size_t line = (size_t)(eol - (out + i));
        if (line > 75 || memchr(out + i, '\n', line) != NULL || memchr(out + i, '\r', line) != NULL)
            abort();
        for (size_t k = i; k < i + line; k++) {
            unsigned char c = (unsigned char)out[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f ||
                (c == 0xc2 && (unsigned char)out[k + 1] >= 0x80 &&
                    (unsigned char)out[k + 1] <= 0x9f))
                abort();
        }
        bool fold = out[i] == ' ' || out[i] == '\t';
        if (fold && (i + 1 < len) && ((unsigned char)out[i + 1] & 0xc0) == 0x80)
            abort(); /* folded inside a UTF-8 sequence */
        if (fold)
            sbuf_add(&unfolded, out + i + 1, line - 1);
        else {
            if (unfolded.len > 0)
                sbuf_addc(&unfolded, '\n');
            sbuf_add(&unfolded, out + i, line);
        }
        i += line + 2;
    }
    sbuf_addc(&unfolded, '\n');
    *events = 0;
    for (char *l = unfolded.buf; *l != '\0';) {
        char *nl = strchr(l, '\n');
        size_t name_len = strcspn(l, ":;");
        bool known = false;
        for (const char *const *k = fuzz_ical_names; *k != NULL && !known; k++)
            known = strlen(*k) == name_len && strncmp(*k, l, name_len) == 0;
        if (!known)
            abort();
        if (strncmp(l, "BEGIN:VEVENT\n", 13) == 0)
            (*events)++;
        if (strncmp(l, "SUMMARY:", 8) == 0 && summary == NULL)
            summary = fuzz_ical_unescape(l + 8, (size_t)(nl - l) - 8);
        l = nl + 1;
    }
    sbuf_release(&unfolded);
    return summary;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL;
    char *texts = NULL, *out = NULL, *summary = NULL;
    const char *part[7] = { "", NULL, NULL, NULL, NULL, "2027-03-15T08:30:00",
        "2027-03-15T09:30:00" };
    size_t len = 0, events = 0;

    if (size < 1)
        return 0;
    if (data[0] == 0) {
        doc = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
        if (doc == NULL)
            return 0;
        out = ical_render(doc, &len);
        if (out != NULL) {
            free(fuzz_ical_check(out, len, &events));
        }
        goto done;
    }
    texts = xstrndup((const char *)data + 1, size - 1);
    if (!util_utf8_valid(texts, strlen(texts)))
        goto done;
    char *p = texts;
    for (int k = 0; k < 7 && p != NULL; k++) {
        char *sep = strchr(p, 0x1f);
        if (sep != NULL)
            *sep++ = '\0';
        if (k != 4 || p[0] != '\0')
            part[k] = p;
        p = sep;
    }
    /* Mostly UTC: a named zone costs a VTIMEZONE per run, and the texts are what is fuzzed. */
    const char *zone = "UTC";
    if (part[4] != NULL)
        zone = part[4];
    else if (data[0] % 4 == 0)
        zone = fuzz_ical_zones[(data[0] / 4) % UTIL_ARRAY_LEN(fuzz_ical_zones)];
    doc = json_pack("{s:s?, s:[{s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:i, s:i, s:b}]}", "name",
        part[3], "events", "uid", "fuzz-1@registrar", "summary", part[0], "description", part[1],
        "location", part[2], "categories", "workshop", "tzid", zone, "start", part[5], "end",
        part[6], "stamp", 1795880435, "sequence", (int)data[0], "cancelled", (data[0] & 1) != 0);
    if (doc == NULL)
        goto done;
    out = ical_render(doc, &len);
    if (out == NULL)
        goto done;
    summary = fuzz_ical_check(out, len, &events);
    char *want = fuzz_ical_expect(part[0]);
    if (events != 1 || summary == NULL || strcmp(summary, want) != 0)
        abort();
    free(want);
done:
    free(summary);
    free(out);
    free(texts);
    json_decref(doc);
    return 0;
}
