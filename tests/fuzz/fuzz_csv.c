/*
 * fuzz_csv.c: libFuzzer harness for the CSV renderer (render/csv.c).
 * Input: cells separated by 0x1f, records by 0x1e (the ASCII unit and
 * record separators); a cell starting with 0x1d is written as a number
 * (csv_int of its length).
 *
 * What must hold: the output starts with the byte-order mark, every
 * record ends in CRLF, and reading it back as RFC 4180 gives exactly the
 * cells written, with a `'` before each text cell a spreadsheet would run
 * as a formula, and no cell read back starts with one of those characters.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/csv.h"
#include "registrar/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The cell as the renderer must have meant it (what a reader should get back). */
static char *fuzz_csv_expect(const char *cell, bool number)
{
    if (number)
        return xasprintf("%zu", strlen(cell));
    if (cell[0] != '\0' && strchr("=+-@\t\r", cell[0]) != NULL)
        return xasprintf("'%s", cell);
    return xstrdup(cell);
}

/*
 * Reads one RFC 4180 field at *p (end at e) into out; returns the byte
 * after it (',' or CR of CRLF), or NULL when the text is not RFC 4180.
 */
static const char *fuzz_csv_field(const char *p, const char *e, struct sbuf *out)
{
    if (p < e && *p == '"') {
        for (p++; p < e; p++) {
            if (*p == '"') {
                if (p + 1 < e && p[1] == '"') {
                    sbuf_addc(out, '"');
                    p++;
                    continue;
                }
                return p + 1;
            }
            sbuf_addc(out, *p);
        }
        return NULL; /* unterminated quote */
    }
    for (; p < e && *p != ',' && *p != '\r'; p++) {
        if (*p == '"' || *p == '\n')
            return NULL; /* must have been quoted */
        sbuf_addc(out, *p);
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv w;
    char *input = xstrndup((const char *)data, size); /* stops at a NUL: cells are C strings */
    size_t len, nrows = 0;

    csv_init(&w);
    /* Write: split on the separators. */
    char *rec = input, *rec_next;
    do {
        rec_next = strchr(rec, 0x1e);
        if (rec_next != NULL)
            *rec_next++ = '\0';
        char *cell = rec, *cell_next;
        do {
            cell_next = strchr(cell, 0x1f);
            if (cell_next != NULL)
                *cell_next++ = '\0';
            if (cell[0] == 0x1d)
                csv_int(&w, (long long)strlen(cell + 1));
            else
                csv_text(&w, cell);
            cell = cell_next;
        } while (cell != NULL);
        csv_end_row(&w);
        nrows++;
        rec = rec_next;
    } while (rec != NULL);
    char *out = csv_detach(&w, &len);

    /* Read back and compare, record by record, cell by cell. */
    if (len < 3 || memcmp(out, "\xEF\xBB\xBF", 3) != 0)
        abort();
    const char *p = out + 3, *e = out + len;
    free(input);
    input = xstrndup((const char *)data, size);
    rec = input;
    for (size_t r = 0; r < nrows; r++) {
        rec_next = strchr(rec, 0x1e);
        if (rec_next != NULL)
            *rec_next++ = '\0';
        char *cell = rec, *cell_next;
        for (;;) {
            struct sbuf got = SBUF_INIT;
            cell_next = strchr(cell, 0x1f);
            if (cell_next != NULL)
                *cell_next++ = '\0';
            bool number = cell[0] == 0x1d;
            char *want = fuzz_csv_expect(number ? cell + 1 : cell, number);
            p = fuzz_csv_field(p, e, &got);
            if (p == NULL || strcmp(got.buf != NULL ? got.buf : "", want) != 0)
                abort();
            if (!number && got.len > 0 && strchr("=+-@\t\r", got.buf[0]) != NULL)
                abort();
            sbuf_release(&got);
            free(want);
            if (cell_next == NULL)
                break;
            if (p >= e || *p != ',')
                abort();
            p++;
            cell = cell_next;
        }
        if (e - p < 2 || p[0] != '\r' || p[1] != '\n')
            abort();
        p += 2;
        rec = rec_next;
    }
    if (p != e)
        abort();
    free(out);
    free(input);
    return 0;
}
