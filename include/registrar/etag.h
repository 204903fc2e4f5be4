/*
 * etag.h: strong entity tags for response bodies and If-None-Match.
 *
 * Layering: util only; pure.
 */
#ifndef REGISTRAR_ETAG_H
#define REGISTRAR_ETAG_H

#include <stdbool.h>
#include <stddef.h>

#define ETAG_SIZE 24 /* "\"" + 16 hex + "\"" + NUL, rounded up */

/* Writes the quoted strong tag of the body into out (ETAG_SIZE bytes). */
void etag_make(const char *body, size_t len, char out[ETAG_SIZE]);

/*
 * Whether an If-None-Match header value ("*", one tag, or a comma list,
 * with or without W/ prefixes) matches etag. NULL never matches.
 */
bool etag_matches(const char *header, const char *etag);

#endif
