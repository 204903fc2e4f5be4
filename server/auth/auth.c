/*
 * auth.c: the libsodium wrappers: tokens, their keyed digests, Argon2id
 * password hashes and wiping. See auth.h.
 */
#include "registrar/auth.h"

#include "registrar/log.h"
#include "registrar/util.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(AUTH_PASSWORD_HASH_SIZE == crypto_pwhash_STRBYTES, "password hash size");
_Static_assert(AUTH_KEY_BYTES >= crypto_generichash_KEYBYTES_MIN &&
                   AUTH_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX,
    "digest key size");
_Static_assert(AUTH_DIGEST_BYTES >= crypto_generichash_BYTES_MIN, "digest size");

/*
 * An Argon2id hash of 32 random bytes nobody kept, with the interactive
 * limits: verifying against it costs what a real verification costs.
 */
static const char AUTH_DUMMY_HASH[AUTH_PASSWORD_HASH_SIZE] =
    "$argon2id$v=19$m=65536,t=2,p=1$PhGDSNpUp+KspDv1IEgR0A$a2LjLbBx8tfJX/2bm+xnyit7NCO3/G97c0M14B3CgZ4";

static uint8_t auth_key[AUTH_KEY_BYTES];
static bool auth_have_key;

int auth_init(const uint8_t *key)
{
    if (sodium_init() == -1)
        return -1;
    if (key != NULL) {
        memcpy(auth_key, key, sizeof(auth_key));
        auth_have_key = true;
    }
    return 0;
}

/* ---- tokens ---- */

void auth_token_new(char out[AUTH_TOKEN_SIZE])
{
    uint8_t raw[AUTH_TOKEN_BYTES];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(
        out, AUTH_TOKEN_SIZE, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

void auth_code_new(char *out, size_t n)
{
    static const char alphabet[] = AUTH_CODE_ALPHABET;

    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof(alphabet) - 1))];
    out[n] = '\0';
}

int auth_token_decode(const char *text, uint8_t out[AUTH_TOKEN_BYTES])
{
    char again[AUTH_TOKEN_SIZE];
    size_t len = 0;
    const char *end = NULL;
    int rc = -1;

    if (text == NULL || strlen(text) != AUTH_TOKEN_LEN)
        return -1;
    if (sodium_base642bin(out, AUTH_TOKEN_BYTES, text, AUTH_TOKEN_LEN, NULL, &len, &end,
            sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != AUTH_TOKEN_BYTES || end != text + AUTH_TOKEN_LEN)
        goto out;
    /*
     * The last character carries two spare bits; only the form with them
     * clear is ours, so that one token has exactly one spelling.
     */
    sodium_bin2base64(
        again, sizeof(again), out, AUTH_TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (memcmp(again, text, AUTH_TOKEN_LEN) != 0)
        goto out;
    rc = 0;
out:
    sodium_memzero(again, sizeof(again));
    if (rc == -1)
        sodium_memzero(out, AUTH_TOKEN_BYTES);
    return rc;
}

int auth_token_digest(const char *text, char out[AUTH_DIGEST_HEX_SIZE])
{
    uint8_t raw[AUTH_TOKEN_BYTES];
    uint8_t digest[AUTH_DIGEST_BYTES];

    assert(auth_have_key);
    out[0] = '\0';
    if (auth_token_decode(text, raw) == -1)
        return -1;
    crypto_generichash(digest, sizeof(digest), raw, sizeof(raw), auth_key, sizeof(auth_key));
    util_hex_encode(digest, sizeof(digest), out);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int auth_csrf_token(const char *session_token, char out[AUTH_TOKEN_SIZE])
{
    static const char domain[] = "registrar csrf v1";
    uint8_t raw[AUTH_TOKEN_BYTES], csrf[AUTH_TOKEN_BYTES];
    crypto_generichash_state st;

    assert(auth_have_key);
    out[0] = '\0';
    if (auth_token_decode(session_token, raw) == -1)
        return -1;
    /* The domain prefix keeps this apart from the digests stored at rest. */
    crypto_generichash_init(&st, auth_key, sizeof(auth_key), sizeof(csrf));
    crypto_generichash_update(&st, (const unsigned char *)domain, sizeof(domain));
    crypto_generichash_update(&st, raw, sizeof(raw));
    crypto_generichash_final(&st, csrf, sizeof(csrf));
    sodium_bin2base64(
        out, AUTH_TOKEN_SIZE, csrf, sizeof(csrf), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(csrf, sizeof(csrf));
    sodium_memzero(&st, sizeof(st));
    return 0;
}

bool auth_digest_equal(const char *a_hex, const char *b_hex)
{
    uint8_t a[AUTH_DIGEST_BYTES], b[AUTH_DIGEST_BYTES];

    if (a_hex == NULL || b_hex == NULL ||
        util_hex_decode(a_hex, a, sizeof(a)) != AUTH_DIGEST_BYTES ||
        util_hex_decode(b_hex, b, sizeof(b)) != AUTH_DIGEST_BYTES)
        return false;
    return sodium_memcmp(a, b, sizeof(a)) == 0;
}

/* The key of auth_secret_equal's digests: random, this process's only. */
static uint8_t auth_compare_key[crypto_generichash_KEYBYTES];
static pthread_once_t auth_compare_once = PTHREAD_ONCE_INIT;

static void auth_compare_key_init(void)
{
    if (sodium_init() == -1)
        abort();
    randombytes_buf(auth_compare_key, sizeof(auth_compare_key));
}

bool auth_secret_equal(const char *a, const char *b)
{
    uint8_t da[AUTH_DIGEST_BYTES], db[AUTH_DIGEST_BYTES];

    if (a == NULL || b == NULL)
        return false;
    pthread_once(&auth_compare_once, auth_compare_key_init);
    crypto_generichash(
        da, sizeof(da), (const uint8_t *)a, strlen(a), auth_compare_key, sizeof(auth_compare_key));
    crypto_generichash(
        db, sizeof(db), (const uint8_t *)b, strlen(b), auth_compare_key, sizeof(auth_compare_key));
    bool equal = sodium_memcmp(da, db, sizeof(da)) == 0;
    sodium_memzero(da, sizeof(da));
    sodium_memzero(db, sizeof(db));
    return equal;
}

/* ---- passwords ---- */

int auth_password_hash(const char *password, size_t len, char out[AUTH_PASSWORD_HASH_SIZE])
{
    if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        log_msg(LOG_ERROR, "password hashing failed (out of memory?)");
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/*
 * Reads what crypto_pwhash_str writes for Argon2id:
 * "$argon2id$v=19$m=<KiB>,t=<passes>,p=1$<salt, base64>$<hash, base64>".
 * 0, or -1 for anything else.
 */
static int auth_argon2id_parse(const char *s, unsigned long long *ops, size_t *mem,
    uint8_t salt[crypto_pwhash_SALTBYTES], uint8_t hash[AUTH_DIGEST_BYTES])
{
    unsigned long m, t, p;
    int n = 0;
    size_t len;
    const char *end;

    if (sscanf(s, "$argon2id$v=19$m=%lu,t=%lu,p=%lu$%n", &m, &t, &p, &n) != 3 || n == 0 || p != 1)
        return -1;
    const char *salt_b64 = s + n, *dollar = strchr(salt_b64, '$');
    if (dollar == NULL ||
        sodium_base642bin(salt, crypto_pwhash_SALTBYTES, salt_b64, (size_t)(dollar - salt_b64),
            NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        len != crypto_pwhash_SALTBYTES)
        return -1;
    if (sodium_base642bin(hash, AUTH_DIGEST_BYTES, dollar + 1, strlen(dollar + 1), NULL, &len, &end,
            sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        len != AUTH_DIGEST_BYTES || *end != '\0')
        return -1;
    if (t < crypto_pwhash_argon2id_OPSLIMIT_MIN || m > SIZE_MAX / 1024 ||
        m * 1024 < crypto_pwhash_argon2id_MEMLIMIT_MIN)
        return -1;
    *ops = t;
    *mem = (size_t)m * 1024;
    return 0;
}

enum auth_verify auth_password_verify(const char *stored, const char *password, size_t len)
{
    uint8_t salt[crypto_pwhash_SALTBYTES], want[AUTH_DIGEST_BYTES], got[AUTH_DIGEST_BYTES];
    unsigned long long ops;
    size_t mem;
    enum auth_verify v;

    if (stored == NULL || stored[0] == '\0')
        return AUTH_VERIFY_MISMATCH;
    /*
     * crypto_pwhash_str_verify answers -1 alike for a wrong password and
     * for memory it could not get (libsodium 1.0.18 even sets EINVAL for
     * both), so our own hashes are checked with crypto_pwhash, which says
     * when it failed to compute.
     */
    if (auth_argon2id_parse(stored, &ops, &mem, salt, want) == -1) {
        /* Not of the form we write (another variant, an import): no error to tell. */
        return crypto_pwhash_str_verify(stored, password, len) == 0 ? AUTH_VERIFY_OK
                                                                    : AUTH_VERIFY_MISMATCH;
    }
    if (crypto_pwhash(
            got, sizeof(got), password, len, salt, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        log_msg(LOG_ERROR, "password verification failed to run (out of memory?)");
        v = AUTH_VERIFY_ERROR;
    } else {
        v = sodium_memcmp(got, want, sizeof(got)) == 0 ? AUTH_VERIFY_OK : AUTH_VERIFY_MISMATCH;
    }
    sodium_memzero(got, sizeof(got));
    sodium_memzero(want, sizeof(want));
    return v;
}

void auth_password_verify_dummy(const char *password, size_t len)
{
    /* Nobody knows the password behind it; the outcome is thrown away. */
    (void)auth_password_verify(AUTH_DUMMY_HASH, password, len);
}

bool auth_password_needs_rehash(const char *stored)
{
    return crypto_pwhash_str_needs_rehash(
               stored, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

/* ---- secrets in memory ---- */

void auth_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

void auth_free_secret(char *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

/* ---- badges and room codes ---- */

void auth_badge_code_new(char out[AUTH_BADGE_CODE_SIZE])
{
    static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    _Static_assert(sizeof(digits) == 33, "32 digits");
    for (int i = 0; i < AUTH_BADGE_CODE_LEN; i++)
        out[i] = digits[randombytes_uniform(32)];
    out[AUTH_BADGE_CODE_LEN] = '\0';
}

void auth_room_code(
    const char *session_id, int64_t now, char out[AUTH_ROOM_CODE_SIZE], int64_t *expires_at)
{
    static const char domain[] = "registrar room code v1";
    int64_t window = now >= 0 ? now / AUTH_ROOM_CODE_WINDOW_S
                              : -((-now + AUTH_ROOM_CODE_WINDOW_S - 1) / AUTH_ROOM_CODE_WINDOW_S);
    uint8_t w[8], digest[16];
    crypto_generichash_state st;
    uint64_t n = 0;

    assert(auth_have_key);
    for (int i = 0; i < 8; i++)
        w[i] = (uint8_t)((uint64_t)window >> (56 - 8 * i));
    crypto_generichash_init(&st, auth_key, sizeof(auth_key), sizeof(digest));
    crypto_generichash_update(&st, (const unsigned char *)domain, sizeof(domain));
    crypto_generichash_update(&st, (const unsigned char *)session_id, strlen(session_id) + 1);
    crypto_generichash_update(&st, w, sizeof(w));
    crypto_generichash_final(&st, digest, sizeof(digest));
    /* 64 bits reduced mod 10^6: the bias is below 10^-13. */
    for (int i = 0; i < 8; i++)
        n = n << 8 | digest[i];
    snprintf(out, AUTH_ROOM_CODE_SIZE, "%06u", (unsigned)(n % 1000000u));
    if (expires_at != NULL)
        *expires_at = (window + 1) * AUTH_ROOM_CODE_WINDOW_S;
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(digest, sizeof(digest));
}

bool auth_room_code_valid(const char *session_id, int64_t now, const char *code)
{
    char want[AUTH_ROOM_CODE_SIZE];
    bool ok = false;

    if (code == NULL || strlen(code) != AUTH_ROOM_CODE_LEN)
        return false;
    for (int i = 0; i < AUTH_ROOM_CODE_LEN; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    for (int back = 0; back < 2; back++) {
        auth_room_code(session_id, now - back * AUTH_ROOM_CODE_WINDOW_S, want, NULL);
        if (sodium_memcmp(want, code, AUTH_ROOM_CODE_LEN) == 0)
            ok = true;
    }
    sodium_memzero(want, sizeof(want));
    return ok;
}
