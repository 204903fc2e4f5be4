/*
 * auth.h: passwords, tokens, sessions and CSRF.
 *
 * Layering: uses util, log and db (to resolve sessions), and fills the
 * http layer's `struct http_principal`; knows nothing of handlers or
 * routes. Only this layer and payments/ include <sodium.h>: the api layer
 * hashes, compares and wipes secrets through the functions below.
 *
 * Secrets at rest:
 *   - passwords: Argon2id strings from crypto_pwhash_str, interactive
 *     limits (64 MiB and a few tens of milliseconds per hash: call the
 *     hashing functions only on the hashing pool, never on an I/O thread);
 *   - tokens (session, CSRF, password reset, calendar feed): 32 random
 *     bytes, sent as base64url without padding (43 characters); the
 *     database keeps only their BLAKE2b digest keyed with the server secret
 *     (auth_token_digest), so a copy of the database opens no session.
 *
 * Every function is thread-safe once auth_init() has returned 0.
 */
#ifndef REGISTRAR_AUTH_H
#define REGISTRAR_AUTH_H

#include "registrar/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_BYTES 32
#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_LEN 43  /* base64url characters of a token */
#define AUTH_TOKEN_SIZE 44 /* with the terminating NUL */
#define AUTH_DIGEST_BYTES 32
#define AUTH_DIGEST_HEX_SIZE 65     /* 64 hex digits and a NUL */
#define AUTH_PASSWORD_HASH_SIZE 128 /* crypto_pwhash_STRBYTES, NUL included */

/* Passwords, in code points (docs/api.md): any characters, never truncated. */
#define AUTH_PASSWORD_MIN 12
#define AUTH_PASSWORD_MAX 128

/*
 * The session cookie's lifetime (the database decides expiry); its name is
 * the http layer's (http_req_session_cookie).
 */
#define AUTH_SESSION_ABSOLUTE_S (12 * 3600)

/*
 * Initialises libsodium (safe to call more than once: call it with NULL
 * first thing in main) and, when key is not NULL, keeps a copy of the
 * server's 32-byte secret for token digests. Returns 0, or -1 when
 * libsodium cannot initialise (the process must exit).
 */
int auth_init(const uint8_t *key);

/* ---- tokens ---- */

/* A new token: 32 bytes from randombytes_buf, base64url, NUL-terminated. */
void auth_token_new(char out[AUTH_TOKEN_SIZE]);

/* Characters of human-typable codes: no 0/O, 1/I/L, so a code read aloud or retyped survives. */
#define AUTH_CODE_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
/*
 * A random code of n characters of AUTH_CODE_ALPHABET (each drawn without
 * bias by randombytes_uniform) in out, NUL-terminated: out holds n + 1.
 */
void auth_code_new(char *out, size_t n);

/*
 * Decodes a token's text into its 32 bytes. Returns 0, or -1 unless text
 * is exactly the canonical base64url form of 32 bytes (43 characters of
 * [A-Za-z0-9_-], no padding), which is all auth_token_new produces.
 */
int auth_token_decode(const char *text, uint8_t out[AUTH_TOKEN_BYTES]);

/*
 * The keyed digest of a token (needs the key from auth_init) as 64
 * lower-case hex digits: what the database stores and looks up. Returns
 * 0, or -1 (out then holds an empty string) when text is not a token.
 */
int auth_token_digest(const char *text, char out[AUTH_DIGEST_HEX_SIZE]);

/*
 * The CSRF token of a session: a keyed BLAKE2b of the session token under
 * the server secret, in a domain of its own, as a token (base64url). It is
 * given out at sign-in and can be given again to the same cookie later
 * (another tab); without the secret it cannot be derived. Returns 0, or -1
 * when session_token is not a token.
 */
int auth_csrf_token(const char *session_token, char out[AUTH_TOKEN_SIZE]);

/* Constant-time equality of two digests in hex (false if either is malformed). */
bool auth_digest_equal(const char *a_hex, const char *b_hex);

/*
 * Whether two secrets of any length (a presented Bearer token and the
 * configured one) are equal, in time that depends on neither content nor
 * length: both are hashed (BLAKE2b, keyed with a per-process random key)
 * and the digests compared with sodium_memcmp. False if either is NULL.
 */
bool auth_secret_equal(const char *a, const char *b);

/* ---- passwords ---- */

/*
 * Hashes all len bytes of password with Argon2id (interactive limits) into
 * out. Returns 0, or -1 when libsodium could not (out of memory: the
 * caller answers 503, never a verdict on the password).
 */
int auth_password_hash(const char *password, size_t len, char out[AUTH_PASSWORD_HASH_SIZE]);

enum auth_verify {
    AUTH_VERIFY_OK,
    AUTH_VERIFY_MISMATCH, /* wrong password, or a stored string that is no hash of ours */
    AUTH_VERIFY_ERROR     /* hashing failed (out of memory): 503 */
};

/* Checks all len bytes of password against a crypto_pwhash_str string. */
enum auth_verify auth_password_verify(const char *stored, const char *password, size_t len);

/*
 * Spends the time of a verification against a fixed hash, for an unknown
 * account, so that it cannot be told from a wrong password by the clock.
 */
void auth_password_verify_dummy(const char *password, size_t len);

/* True when stored was made with other limits than today's (rehash it). */
bool auth_password_needs_rehash(const char *stored);

/* ---- badges and room codes (attendance) ---- */

/* A badge code: 16 characters of Crockford's base 32, NUL-terminated. */
#define AUTH_BADGE_CODE_LEN 16
#define AUTH_BADGE_CODE_SIZE (AUTH_BADGE_CODE_LEN + 1)
/* A room code: 6 decimal digits, NUL-terminated. */
#define AUTH_ROOM_CODE_LEN 6
#define AUTH_ROOM_CODE_SIZE (AUTH_ROOM_CODE_LEN + 1)
/* A room code's window, in seconds. */
#define AUTH_ROOM_CODE_WINDOW_S 60

/*
 * A new badge code: 80 bits from randombytes_uniform, one base-32 digit
 * each 5 bits (0-9, A-Z without I, L, O, U), so it can be read aloud and
 * typed. Always succeeds.
 */
void auth_badge_code_new(char out[AUTH_BADGE_CODE_SIZE]);

/*
 * The room code of session_id (its canonical UUID text) for the window
 * holding unix time now (now / 60): the keyed BLAKE2b of a domain, the
 * session id and the window number, reduced to 6 digits. *expires_at (if
 * not NULL) is the window's end, in unix seconds. Needs the server key.
 */
void auth_room_code(
    const char *session_id, int64_t now, char out[AUTH_ROOM_CODE_SIZE], int64_t *expires_at);

/*
 * Whether code is the room code of session_id for the window of now or the
 * one before it (a code read off the screen just before it changed),
 * compared in constant time. Anything that is not 6 digits is false.
 */
bool auth_room_code_valid(const char *session_id, int64_t now, const char *code);

/* ---- secrets in memory ---- */

/* Zeroes n bytes in a way the compiler keeps (sodium_memzero). */
void auth_wipe(void *p, size_t n);
/* Wipes a NUL-terminated secret and frees it. Accepts NULL. */
void auth_free_secret(char *s);

/* ---- sessions (session.c) ---- */

/* Registers the statements the functions below run (before the pool starts). */
void auth_register_statements(void);

/*
 * The server's authenticate hook (http.h): resolves token through
 * registrar.auth_session_resolve (expired and revoked sessions do not
 * resolve) and, for a cookie on an unsafe method, compares the digest of
 * csrf with the session's in constant time. Fills *out on HTTP_AUTH_OK.
 */
enum http_auth_result auth_authenticate(struct db_conn *db, const char *token, bool via_cookie,
    bool unsafe, const char *csrf, struct http_principal *out);

#endif
