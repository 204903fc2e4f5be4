/*
 * cache.c: see cache.h. An open hash table under one mutex: a key lives in
 * one of CACHE_WAYS slots from its hash's, so that keys whose hashes
 * collide do not evict each other at every request (with one slot per
 * hash, 100 offerings in 256 slots had a dozen pairs taking turns, every
 * turn a miss to the database: bench-read's offering100 tail).
 */
#include "registrar/cache.h"

#include "registrar/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 1024 /* public URLs are few: courses, offerings, schedules */
#define CACHE_WAYS 8

/* A refresher that has not stored its answer by then is presumed failed. */
#define CACHE_REFRESH_WAIT_MS 250

struct cache_slot {
    char *key;
    struct cache_entry e;
    int64_t stale_ms;      /* from here on, one caller refreshes */
    int64_t expires_ms;    /* never served from here on */
    int64_t refreshing_ms; /* when the current refresher was let through, or 0 */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot cache_slots[CACHE_SLOTS];

static void cache_slot_release(struct cache_slot *s)
{
    free(s->key);
    cache_entry_release(&s->e);
    memset(s, 0, sizeof(*s));
}

/* Appends text percent-encoded, but for the unreserved characters and those in keep. */
static void cache_encode(struct sbuf *sb, const char *text, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) != NULL || strchr(keep, *p) != NULL) {
            sbuf_addc(sb, (char)*p);
        } else {
            sbuf_addc(sb, '%');
            sbuf_addc(sb, hex[*p >> 4]);
            sbuf_addc(sb, hex[*p & 15]);
        }
    }
}

char *cache_encode_new(const char *text)
{
    struct sbuf sb = SBUF_INIT;

    cache_encode(&sb, text, "");
    return sbuf_detach(&sb, NULL);
}

static int cache_pair_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *cache_key_new(const char *path, const char *const *names, const char *const *values, size_t n)
{
    struct sbuf sb = SBUF_INIT;
    char **pairs = n > 0 ? xcalloc(n, sizeof(*pairs)) : NULL;

    for (size_t i = 0; i < n; i++) {
        struct sbuf pair = SBUF_INIT;
        cache_encode(&pair, names[i], "");
        sbuf_addc(&pair, '=');
        cache_encode(&pair, values[i] != NULL ? values[i] : "", "");
        pairs[i] = sbuf_detach(&pair, NULL);
    }
    /* Encoded, a pair has one '=' and no '&': sorting the texts sorts the pairs. */
    if (n > 1)
        qsort(pairs, n, sizeof(*pairs), cache_pair_cmp);
    cache_encode(&sb, path, "/");
    for (size_t i = 0; i < n; i++) {
        sbuf_addc(&sb, i == 0 ? '?' : '&');
        sbuf_adds(&sb, pairs[i]);
        free(pairs[i]);
    }
    free(pairs);
    return sbuf_detach(&sb, NULL);
}

void cache_entry_release(struct cache_entry *e)
{
    free(e->body);
    free(e->content_type);
    e->body = NULL;
    e->content_type = NULL;
}

/* The slot holding key, or NULL. Call with the lock held. */
static struct cache_slot *cache_find(const char *key, size_t h)
{
    for (size_t w = 0; w < CACHE_WAYS; w++) {
        struct cache_slot *s = &cache_slots[(h + w) % CACHE_SLOTS];
        if (s->key != NULL && strcmp(s->key, key) == 0)
            return s;
    }
    return NULL;
}

/* Where key goes: its own slot, else an empty or expired one, else the one expiring first. */
static struct cache_slot *cache_place(const char *key, size_t h, int64_t now)
{
    struct cache_slot *s = cache_find(key, h), *victim = NULL;

    if (s != NULL)
        return s;
    for (size_t w = 0; w < CACHE_WAYS; w++) {
        s = &cache_slots[(h + w) % CACHE_SLOTS];
        if (s->key == NULL || now >= s->expires_ms)
            return s;
        if (victim == NULL || s->expires_ms < victim->expires_ms)
            victim = s;
    }
    return victim;
}

int cache_get(const char *key, struct cache_entry *out)
{
    size_t h = util_hash64(key, strlen(key)) % CACHE_SLOTS;
    int rc = -1;

    pthread_mutex_lock(&cache_lock);
    struct cache_slot *s = cache_find(key, h);
    int64_t now = util_now_ms();
    if (s != NULL && now < s->expires_ms) {
        out->body = xmalloc(s->e.len + 1);
        memcpy(out->body, s->e.body, s->e.len + 1);
        out->len = s->e.len;
        out->content_type = xstrdup(s->e.content_type);
        memcpy(out->etag, s->e.etag, sizeof(out->etag));
        rc = 0;
        if (now >= s->stale_ms &&
            (s->refreshing_ms == 0 || now - s->refreshing_ms > CACHE_REFRESH_WAIT_MS)) {
            s->refreshing_ms = now;
            rc = CACHE_REFRESH; /* this caller refreshes, served the copy too */
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void cache_put(const char *key, const char *body, size_t len, const char *content_type,
    const char *etag, int64_t max_age_ms)
{
    size_t h = util_hash64(key, strlen(key)) % CACHE_SLOTS;
    struct cache_slot fresh = { 0 };

    /* Copy outside the lock. */
    fresh.key = xstrdup(key);
    fresh.e.body = xmalloc(len + 1);
    memcpy(fresh.e.body, body, len);
    fresh.e.body[len] = '\0';
    fresh.e.len = len;
    fresh.e.content_type = xstrdup(content_type);
    snprintf(fresh.e.etag, sizeof(fresh.e.etag), "%s", etag);
    int64_t now = util_now_ms();
    fresh.stale_ms = now + max_age_ms / 2;
    fresh.expires_ms = now + max_age_ms;

    pthread_mutex_lock(&cache_lock);
    struct cache_slot *s = cache_place(key, h, now);
    struct cache_slot old = *s;
    *s = fresh;
    pthread_mutex_unlock(&cache_lock);
    cache_slot_release(&old);
}

void cache_clear(void)
{
    struct cache_slot *old = xmalloc(sizeof(cache_slots));

    pthread_mutex_lock(&cache_lock);
    memcpy(old, cache_slots, sizeof(cache_slots));
    memset(cache_slots, 0, sizeof(cache_slots));
    pthread_mutex_unlock(&cache_lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        cache_slot_release(&old[i]);
    free(old);
}
