/*
 * qr.h: QR codes (libqrencode, error correction level M) as a module
 * matrix for PDFs (pdf_matrix) and as an SVG of one path for the web.
 * Knows nothing of HTTP or the database.
 */
#ifndef REGISTRAR_QR_H
#define REGISTRAR_QR_H

#include <stdbool.h>

/* Modules of quiet zone the SVG draws around the code. */
#define QR_QUIET_ZONE 4

/*
 * The QR code of text (UTF-8, 8-bit mode), level M: a malloc'd array of
 * width * width booleans, modules[y * width + x], true = dark, and *width
 * set. NULL when text cannot be encoded (empty, or too long for a QR
 * code); the caller frees the array.
 */
bool *qr_matrix(const char *text, int *width);

/*
 * The QR code of text as a malloc'd, NUL-terminated SVG document: a white
 * square and one black <path> whose subpaths are runs of dark modules
 * ("M x y h n v1 h-n z", in modules, the quiet zone included in the
 * viewBox). NULL as for qr_matrix. The caller frees it.
 */
char *qr_svg(const char *text);

#endif
