/*
 * cache.h: public responses kept in memory for at most a second, so that
 * catalog reads in a registration rush cost the database nothing.
 *
 * Layering: util only. Thread-safe. Entries are whole response bodies of
 * anonymous GETs, keyed by cache_key_new(path, query); http_cache_clear()
 * (http.h) empties it when PostgreSQL announces a change.
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
 * The key of a request: its path and query parameters (as decoded), the
 * path and each name and value percent-encoded (every byte but RFC 3986's
 * unreserved characters, and '/' in the path), the pairs sorted. Two
 * requests share a key only if their handlers see the same path and
 * parameters: "course=a%26status%3Dopen" (one parameter) and
 * "course=a&status=open" (two) differ, while the order in which a client
 * writes the parameters does not matter. Returns a malloc'd string.
 */
char *cache_key_new(
    const char *path, const char *const *names, const char *const *values, size_t n);

/* text percent-encoded as in a key (for naming a parameter safely); malloc'd. */
char *cache_encode_new(const char *text);

/*
 * Fills *out with copies if key is cached and may still be served: 0, or
 * CACHE_REFRESH when the caller is also to refresh the entry; -1 on a miss
 * (the caller asks the database and calls cache_put).
 *
 * An entry is fresh for the first half of its life. In the second half the
 * first caller is told to refresh it (again if no refresh has been stored
 * within CACHE_REFRESH_WAIT_MS), and it and everybody else are served the
 * copy meanwhile, so that an expiring entry neither sends every connection
 * to the database in the same instant nor makes anyone wait on the query;
 * no copy is ever served past its whole life (the staleness bound).
 */
#define CACHE_REFRESH 1
int cache_get(const char *key, struct cache_entry *out);
/* Stores copies under key, to be served for at most max_age_ms. */
void cache_put(const char *key, const char *body, size_t len, const char *content_type,
    const char *etag, int64_t max_age_ms);
void cache_entry_release(struct cache_entry *e);
void cache_clear(void);

#endif
