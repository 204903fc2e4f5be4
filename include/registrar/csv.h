/*
 * csv.h: RFC 4180 text for spreadsheet programs (roster exports).
 *
 * Layering: util only; pure, no I/O.
 *
 * The output is UTF-8 with a byte-order mark (so spreadsheet programs read
 * the encoding), records end in CRLF, a field is quoted when it holds a
 * comma, a double quote, CR or LF (inner quotes doubled), and a text cell
 * that a spreadsheet would run as a formula (first character `=`, `+`,
 * `-`, `@`, tab or CR) gets a leading `'` — the OWASP guard against CSV
 * injection. Numbers written with csv_int are not text and are not
 * guarded.
 *
 *     struct csv w;
 *     csv_init(&w);
 *     csv_text(&w, "name"); csv_text(&w, "email"); csv_end_row(&w);
 *     ...
 *     char *text = csv_detach(&w, &len);   // owned by the caller
 */
#ifndef REGISTRAR_CSV_H
#define REGISTRAR_CSV_H

#include <stddef.h>

#include "registrar/util.h"

struct csv {
    struct sbuf sb;
    size_t fields; /* in the current record */
    size_t rows;   /* records ended so far */
};

/* Starts a document with the UTF-8 byte-order mark. */
void csv_init(struct csv *w);
/* A text field; NULL is an empty field. Guarded and quoted as needed. */
void csv_text(struct csv *w, const char *s);
/* An integer field. */
void csv_int(struct csv *w, long long v);
/* Ends the current record with CRLF. */
void csv_end_row(struct csv *w);
/* The document (NUL-terminated; *len without the NUL) and w emptied. */
char *csv_detach(struct csv *w, size_t *len);
/* Frees what w holds (after an error). */
void csv_release(struct csv *w);

#endif
