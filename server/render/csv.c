/* csv.c: RFC 4180 output with the formula-injection guard. See csv.h. */
#include "registrar/csv.h"

#include <stdbool.h>
#include <string.h>

void csv_init(struct csv *w)
{
    sbuf_init(&w->sb);
    sbuf_adds(&w->sb, "\xEF\xBB\xBF");
    w->fields = 0;
    w->rows = 0;
}

static void csv_separator(struct csv *w)
{
    if (w->fields++ > 0)
        sbuf_addc(&w->sb, ',');
}

void csv_text(struct csv *w, const char *s)
{
    if (s == NULL)
        s = "";
    csv_separator(w);
    /* A spreadsheet evaluates a cell starting with these; a leading ' makes it text. */
    bool guard = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        if (guard)
            sbuf_addc(&w->sb, '\'');
        sbuf_adds(&w->sb, s);
        return;
    }
    sbuf_addc(&w->sb, '"');
    if (guard)
        sbuf_addc(&w->sb, '\'');
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            sbuf_addc(&w->sb, '"');
        sbuf_addc(&w->sb, *p);
    }
    sbuf_addc(&w->sb, '"');
}

void csv_int(struct csv *w, long long v)
{
    csv_separator(w);
    sbuf_addf(&w->sb, "%lld", v);
}

void csv_end_row(struct csv *w)
{
    sbuf_add(&w->sb, "\r\n", 2);
    w->fields = 0;
    w->rows++;
}

char *csv_detach(struct csv *w, size_t *len)
{
    w->fields = 0;
    w->rows = 0;
    return sbuf_detach(&w->sb, len);
}

void csv_release(struct csv *w)
{
    sbuf_release(&w->sb);
    w->fields = 0;
    w->rows = 0;
}
