/*
 * util.h: allocation that never fails, a growable string buffer, clocks.
 *
 * Layering: uses nothing but libc; every other module may use it.
 *
 * Out of memory is not an error the server can recover from in a useful
 * way, so the x* allocators abort instead of returning NULL. Callers never
 * check their result.
 */
#ifndef REGISTRAR_UTIL_H
#define REGISTRAR_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define UTIL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define UTIL_PRINTF(f, a)
#endif

/* Allocate or abort. The returned memory is owned by the caller (free()). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A formatted, newly allocated string. */
char *xasprintf(const char *fmt, ...) UTIL_PRINTF(1, 2);

/*
 * A growable, always NUL-terminated byte buffer (after git's strbuf).
 * Initialise with SBUF_INIT or sbuf_init(); release with sbuf_release(),
 * or take the bytes with sbuf_detach() (the buffer is then empty again).
 */
struct sbuf {
    char *buf;  /* NULL until the first append */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap;
};
#define SBUF_INIT  \
    {              \
        NULL, 0, 0 \
    }

void sbuf_init(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);
void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *data, size_t n);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) UTIL_PRINTF(2, 3);
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
/* Returns the bytes (never NULL, owned by the caller) and empties sb. */
char *sbuf_detach(struct sbuf *sb, size_t *len);

/* Milliseconds of CLOCK_MONOTONIC, for durations and deadlines. */
int64_t util_now_ms(void);
/* Microseconds of CLOCK_MONOTONIC. */
int64_t util_now_us(void);

/* Fills buf with n bytes from getrandom(2) (not for secrets: see auth.h). */
void util_random_bytes(void *buf, size_t n);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void util_hex_encode(const uint8_t *in, size_t n, char *out);
/*
 * Decodes hex text (even length, [0-9a-fA-F]) into out of capacity cap.
 * Returns the number of bytes written, or -1 on bad input or overflow.
 */
long util_hex_decode(const char *hex, uint8_t *out, size_t cap);

/* Non-zero if the n bytes at s are valid UTF-8 without NUL bytes. */
int util_utf8_valid(const char *s, size_t n);
/* Number of code points in valid UTF-8 text. */
size_t util_utf8_len(const char *s);

/*
 * An IPv4 or IPv6 network: "10.0.0.0/8", "::1", "192.0.2.7" (a bare
 * address is a network of one).
 */
struct util_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned bits;
};
/* Parses text into *out; 0, or -1 if it is not an address with an optional /bits. */
int util_cidr_parse(const char *text, struct util_cidr *out);
/*
 * Whether the address (family AF_INET with 4 bytes, or AF_INET6 with 16)
 * is inside net. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as
 * its IPv4 address.
 */
bool util_cidr_contains(const struct util_cidr *net, int family, const uint8_t *addr);

/* 64-bit FNV-1a of n bytes, for ETags and cache keys (not a MAC). */
uint64_t util_hash64(const void *data, size_t n);

#endif
