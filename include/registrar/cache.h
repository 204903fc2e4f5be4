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
    char *body;         /* owned copies */
    size_t len;
    char *content_type;
    char etag[24];
};

/* Fills *out with copies if key is cached and fresh; 0, or -1 on a miss. */
int cache_get(const char *key, struct cache_entry *out);
/* Stores copies under key, fresh for ttl_ms. */
void cache_put(const char *key, const char *body, size_t len, const char *content_type,
    const char *etag, int64_t ttl_ms);
void cache_entry_release(struct cache_entry *e);
void cache_clear(void);

#endif
