/*
 * cache.h: public responses kept in memory for at most a second, so that
 * catalog reads in a registration rush cost the database nothing.
 *
 * Layering: util only. Thread-safe. Entries are whole response bodies of
 * anonymous GETs, keyed by path and query; http_cache_clear() (http.h)
 * empties it when PostgreSQL announces a change.
 */
#ifndef REGISTRAR_CACHE_H
#define REGISTRAR_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache_entry {
    char *body; /* owned copies */
    size_t len;
    char *content_type;
    char etag[24];
};

/*
 * Fills *out with copies if key is cached and may still be served; 0, or
 * -1 on a miss (the caller asks the database and calls cache_put).
 *
 * An entry is fresh for the first half of its life. In the second half the
 * first caller gets a miss and refreshes it while everybody else is still
 * served the copy, so that an expiring entry does not send every
 * connection to the database in the same instant; no copy is ever served
 * past its whole life (the staleness bound).
 */
int cache_get(const char *key, struct cache_entry *out);
/* Stores copies under key, to be served for at most max_age_ms. */
void cache_put(const char *key, const char *body, size_t len, const char *content_type,
    const char *etag, int64_t max_age_ms);
void cache_entry_release(struct cache_entry *e);
void cache_clear(void);

#endif
