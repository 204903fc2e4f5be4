/*
 * pdf.h: printable documents (receipts, invoices, certificates, badges,
 * transcripts) drawn with cairo and laid out with pango: real text in any
 * script (fontconfig picks a font that has each character), fonts
 * embedded and subset by cairo, searchable and copyable, written to
 * memory.
 *
 * Layering: util only; pure, no I/O but the fonts fontconfig reads.
 *
 * A document is a flow of blocks down the page between the margins; a
 * block that does not fit starts a new page. Text is always plain: it is
 * never read as pango markup, so a learner's name can hold any character.
 *
 *     struct pdf_doc *d = pdf_doc_new(PDF_A4, "Receipt R-2027-12");
 *     pdf_text(d, PDF_TITLE, PDF_LEFT, "Receipt");
 *     pdf_pair(d, "Amount", "USD 1,250.00");
 *     size_t len;
 *     char *bytes = pdf_doc_finish(d, &len);   // the caller frees bytes
 *
 * Pango keeps a font map per thread: the first document a thread draws
 * pays for loading fonts, later ones reuse them.
 */
#ifndef REGISTRAR_PDF_H
#define REGISTRAR_PDF_H

#include <stdbool.h>
#include <stddef.h>

enum pdf_paper { PDF_A4, PDF_LETTER };
enum pdf_style {
    PDF_TITLE,   /* 26 pt bold */
    PDF_HEADING, /* 15 pt bold */
    PDF_BODY,    /* 11 pt */
    PDF_LARGE,   /* 20 pt: a name on a certificate */
    PDF_SMALL,   /* 8.5 pt, grey: statements, footers */
    PDF_MONO     /* 11 pt monospace: codes */
};
enum pdf_align { PDF_LEFT, PDF_CENTER, PDF_RIGHT };

struct pdf_doc;

/* A new document of one empty page; title goes into the PDF's metadata. Never NULL. */
struct pdf_doc *pdf_doc_new(enum pdf_paper paper, const char *title);

/* A paragraph of plain UTF-8 text, wrapped to the text width. NULL or "" adds nothing. */
void pdf_text(struct pdf_doc *d, enum pdf_style style, enum pdf_align align, const char *text);
/* A line "label    value" (label in grey on the left, value beside it), for receipts. */
void pdf_pair(struct pdf_doc *d, const char *label, const char *value);
/* Vertical space, in points. */
void pdf_gap(struct pdf_doc *d, double points);
/* A thin horizontal rule across the text width. */
void pdf_rule(struct pdf_doc *d);
/*
 * A square matrix of dark/light modules (a QR code: modules[y * width + x],
 * true = dark) drawn side × side points, aligned as asked, with a quiet
 * zone of 4 modules included in side.
 */
void pdf_matrix(
    struct pdf_doc *d, const bool *modules, int width, double side, enum pdf_align align);
/* Ends the current page and starts a new one (for one certificate per page). */
void pdf_page_break(struct pdf_doc *d);
/* The text width in points (page width less the margins). */
double pdf_text_width(const struct pdf_doc *d);

/*
 * Ends the document and frees d: the PDF's bytes (malloc'd, *len set), or
 * NULL if cairo failed (out of memory is an abort, as everywhere).
 */
char *pdf_doc_finish(struct pdf_doc *d, size_t *len);

#endif
