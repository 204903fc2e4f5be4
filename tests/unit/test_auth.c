/* test_auth.c: token encoding and digests, the Argon2id wrappers, wiping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "registrar/auth.h"
#include "registrar/util.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int setup(void **state)
{
    uint8_t key[AUTH_KEY_BYTES];
    (void)state;
    memset(key, 0x11, sizeof(key));
    return auth_init(key) == 0 ? 0 : -1;
}

static void test_token_shape_and_uniqueness(void **state)
{
    enum { N = 200 };
    static char tokens[N][AUTH_TOKEN_SIZE];
    uint8_t raw[AUTH_TOKEN_BYTES];
    (void)state;

    for (int i = 0; i < N; i++) {
        auth_token_new(tokens[i]);
        assert_int_equal(strlen(tokens[i]), AUTH_TOKEN_LEN);
        assert_int_equal(strspn(tokens[i], B64URL), AUTH_TOKEN_LEN);
        assert_int_equal(auth_token_decode(tokens[i], raw), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(tokens[i], tokens[j]);
    }
}

static void test_token_round_trip(void **state)
{
    uint8_t raw[AUTH_TOKEN_BYTES], back[AUTH_TOKEN_BYTES];
    char text[AUTH_TOKEN_SIZE];
    (void)state;

    /* Known bytes: all 0xff encode as 42 '_' and a last character with clear spare bits. */
    memset(raw, 0xff, sizeof(raw));
    sodium_bin2base64(
        text, sizeof(text), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_int_equal(strlen(text), 43);
    assert_int_equal(auth_token_decode(text, back), 0);
    assert_memory_equal(raw, back, sizeof(raw));
    for (int i = 0; i < 42; i++)
        assert_int_equal(text[i], '_');
    assert_int_equal(text[42], '8');
}

static void test_token_decode_rejects(void **state)
{
    uint8_t raw[AUTH_TOKEN_BYTES];
    char good[AUTH_TOKEN_SIZE], bad[AUTH_TOKEN_SIZE + 8];
    (void)state;

    auth_token_new(good);
    assert_int_equal(auth_token_decode(NULL, raw), -1);
    assert_int_equal(auth_token_decode("", raw), -1);
    assert_int_equal(auth_token_decode("-", raw), -1);
    /* one short, one long, padded */
    memcpy(bad, good, 42);
    bad[42] = '\0';
    assert_int_equal(auth_token_decode(bad, raw), -1);
    snprintf(bad, sizeof(bad), "%sA", good);
    assert_int_equal(auth_token_decode(bad, raw), -1);
    snprintf(bad, sizeof(bad), "%s=", good);
    assert_int_equal(auth_token_decode(bad, raw), -1);
    /* the standard alphabet's '+' and '/' are not base64url */
    snprintf(bad, sizeof(bad), "%s", good);
    bad[5] = '+';
    assert_int_equal(auth_token_decode(bad, raw), -1);
    bad[5] = '/';
    assert_int_equal(auth_token_decode(bad, raw), -1);
    bad[5] = ' ';
    assert_int_equal(auth_token_decode(bad, raw), -1);
    /* the same bytes spelt with a spare bit set: not canonical */
    snprintf(bad, sizeof(bad), "%s", good);
    const char *pos = strchr(B64URL, bad[42]);
    assert_non_null(pos);
    int v = (int)(pos - B64URL);
    assert_int_equal(v & 3, 0);
    bad[42] = B64URL[v | 1];
    assert_int_equal(auth_token_decode(bad, raw), -1);
}

static void test_digest(void **state)
{
    char token[AUTH_TOKEN_SIZE], other[AUTH_TOKEN_SIZE];
    char d1[AUTH_DIGEST_HEX_SIZE], d2[AUTH_DIGEST_HEX_SIZE], d3[AUTH_DIGEST_HEX_SIZE];
    uint8_t key[AUTH_KEY_BYTES];
    (void)state;

    auth_token_new(token);
    auth_token_new(other);
    assert_int_equal(auth_token_digest(token, d1), 0);
    assert_int_equal(strlen(d1), 64);
    assert_int_equal(strspn(d1, "0123456789abcdef"), 64);
    assert_int_equal(auth_token_digest(token, d2), 0);
    assert_string_equal(d1, d2);
    assert_true(auth_digest_equal(d1, d2));
    /* the digest is not the token, nor its bytes in hex */
    assert_null(strstr(d1, token));
    assert_int_equal(auth_token_digest(other, d3), 0);
    assert_string_not_equal(d1, d3);
    assert_false(auth_digest_equal(d1, d3));

    /* keyed: another server secret gives another digest */
    memset(key, 0x22, sizeof(key));
    assert_int_equal(auth_init(key), 0);
    assert_int_equal(auth_token_digest(token, d3), 0);
    assert_string_not_equal(d1, d3);
    memset(key, 0x11, sizeof(key));
    assert_int_equal(auth_init(key), 0);
    assert_int_equal(auth_token_digest(token, d3), 0);
    assert_string_equal(d1, d3);

    /* what is not a token has no digest */
    assert_int_equal(auth_token_digest("not a token", d3), -1);
    assert_string_equal(d3, "");
    assert_int_equal(auth_token_digest(NULL, d3), -1);

    /* malformed hex is never equal, not even to itself */
    assert_false(auth_digest_equal("abc", "abc"));
    assert_false(auth_digest_equal(NULL, d1));
    assert_false(auth_digest_equal(d1, NULL));
}

static void test_csrf_token(void **state)
{
    char token[AUTH_TOKEN_SIZE], other[AUTH_TOKEN_SIZE];
    char c1[AUTH_TOKEN_SIZE], c2[AUTH_TOKEN_SIZE], c3[AUTH_TOKEN_SIZE];
    char d1[AUTH_DIGEST_HEX_SIZE], d2[AUTH_DIGEST_HEX_SIZE];
    uint8_t raw[AUTH_TOKEN_BYTES], key[AUTH_KEY_BYTES];
    (void)state;

    auth_token_new(token);
    auth_token_new(other);
    /* the same session always gives the same CSRF token, itself a token */
    assert_int_equal(auth_csrf_token(token, c1), 0);
    assert_int_equal(auth_csrf_token(token, c2), 0);
    assert_string_equal(c1, c2);
    assert_int_equal(auth_token_decode(c1, raw), 0);
    /* another session, another token; never the session token itself */
    assert_int_equal(auth_csrf_token(other, c3), 0);
    assert_string_not_equal(c1, c3);
    assert_string_not_equal(c1, token);
    /* apart from the digests at rest: the stored digest of the session is no CSRF token's */
    assert_int_equal(auth_token_digest(token, d1), 0);
    assert_int_equal(auth_token_digest(c1, d2), 0);
    assert_string_not_equal(d1, d2);
    /* keyed by the server secret */
    memset(key, 0x33, sizeof(key));
    assert_int_equal(auth_init(key), 0);
    assert_int_equal(auth_csrf_token(token, c3), 0);
    assert_string_not_equal(c1, c3);
    memset(key, 0x11, sizeof(key));
    assert_int_equal(auth_init(key), 0);
    /* nothing for what is not a token */
    assert_int_equal(auth_csrf_token("nope", c3), -1);
    assert_string_equal(c3, "");
}

static void test_password_hash_and_verify(void **state)
{
    char hash[AUTH_PASSWORD_HASH_SIZE];
    const char *pw = "correct horse battery staple";
    (void)state;

    assert_int_equal(auth_password_hash(pw, strlen(pw), hash), 0);
    assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
    assert_non_null(strstr(hash, "m=65536"));
    assert_null(strstr(hash, pw));
    assert_int_equal(auth_password_verify(hash, pw, strlen(pw)), AUTH_VERIFY_OK);
    assert_int_equal(
        auth_password_verify(hash, "correct horse battery stapler", 29), AUTH_VERIFY_MISMATCH);
    assert_int_equal(auth_password_verify(hash, "Correct horse battery staple", strlen(pw)),
        AUTH_VERIFY_MISMATCH);
    assert_false(auth_password_needs_rehash(hash));

    /* two hashes of one password differ (random salt) and both verify */
    char again[AUTH_PASSWORD_HASH_SIZE];
    assert_int_equal(auth_password_hash(pw, strlen(pw), again), 0);
    assert_string_not_equal(hash, again);
    assert_int_equal(auth_password_verify(again, pw, strlen(pw)), AUTH_VERIFY_OK);

    /* nothing stored, or no hash at all: a mismatch, never an error */
    assert_int_equal(auth_password_verify(NULL, pw, strlen(pw)), AUTH_VERIFY_MISMATCH);
    assert_int_equal(auth_password_verify("", pw, strlen(pw)), AUTH_VERIFY_MISMATCH);
    assert_int_equal(
        auth_password_verify("$argon2id$garbage", pw, strlen(pw)), AUTH_VERIFY_MISMATCH);
    assert_int_equal(auth_password_verify("plain text", pw, strlen(pw)), AUTH_VERIFY_MISMATCH);
}

static void test_password_every_byte_counts(void **state)
{
    char hash[AUTH_PASSWORD_HASH_SIZE];
    char pw[129];
    (void)state;

    /* 128 characters: the longest allowed; the last one must matter */
    for (int i = 0; i < 128; i++)
        pw[i] = (char)('a' + i % 26);
    pw[128] = '\0';
    assert_int_equal(auth_password_hash(pw, 128, hash), 0);
    assert_int_equal(auth_password_verify(hash, pw, 128), AUTH_VERIFY_OK);
    assert_int_equal(auth_password_verify(hash, pw, 127), AUTH_VERIFY_MISMATCH);
    pw[127] = 'Z';
    assert_int_equal(auth_password_verify(hash, pw, 128), AUTH_VERIFY_MISMATCH);

    /* 128 four-byte characters: 512 bytes, all of them hashed */
    char emoji[128 * 4 + 1];
    for (int i = 0; i < 128; i++)
        memcpy(emoji + 4 * i, "\xf0\x9f\x94\x91", 4);
    emoji[512] = '\0';
    assert_int_equal(auth_password_hash(emoji, 512, hash), 0);
    assert_int_equal(auth_password_verify(hash, emoji, 512), AUTH_VERIFY_OK);
    emoji[511] = '\x92';
    assert_int_equal(auth_password_verify(hash, emoji, 512), AUTH_VERIFY_MISMATCH);
    assert_int_equal(auth_password_verify(hash, emoji, 508), AUTH_VERIFY_MISMATCH);
}

static void test_password_rehash(void **state)
{
    char weak[crypto_pwhash_STRBYTES];
    const char *pw = "an old password from 2019";
    (void)state;

    /* a hash made with smaller limits than today's still verifies, and asks for a rehash */
    assert_int_equal(crypto_pwhash_str(weak, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN,
                         crypto_pwhash_MEMLIMIT_MIN),
        0);
    assert_int_equal(auth_password_verify(weak, pw, strlen(pw)), AUTH_VERIFY_OK);
    assert_true(auth_password_needs_rehash(weak));
    assert_true(auth_password_needs_rehash("not a hash"));

    /* another variant (an import): still verified, and upgraded */
    char argon2i[crypto_pwhash_STRBYTES];
    assert_int_equal(
        crypto_pwhash_str_alg(argon2i, pw, strlen(pw), crypto_pwhash_argon2i_OPSLIMIT_MIN,
            crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2I13),
        0);
    assert_int_equal(strncmp(argon2i, "$argon2i$", 9), 0);
    assert_int_equal(auth_password_verify(argon2i, pw, strlen(pw)), AUTH_VERIFY_OK);
    assert_int_equal(auth_password_verify(argon2i, "an old password from 2018", strlen(pw)),
        AUTH_VERIFY_MISMATCH);
    assert_true(auth_password_needs_rehash(argon2i));
}

static void test_dummy_verify_costs_a_verify(void **state)
{
    char hash[AUTH_PASSWORD_HASH_SIZE];
    const char *pw = "some password here";
    (void)state;

    assert_int_equal(auth_password_hash(pw, strlen(pw), hash), 0);
    int64_t t0 = util_now_us();
    assert_int_equal(auth_password_verify(hash, "wrong password here", 19), AUTH_VERIFY_MISMATCH);
    int64_t real = util_now_us() - t0;
    t0 = util_now_us();
    auth_password_verify_dummy("wrong password here", 19);
    int64_t dummy = util_now_us() - t0;
    /* Same limits, same work: far from the microseconds of skipping it. */
    assert_true(dummy * 4 >= real);
}

/* The process's virtual size in bytes, from /proc/self/status. */
static long long vm_size(void)
{
    char line[256];
    long long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmSize: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/*
 * libsodium maps Argon2's memory with mmap, so a child with a small
 * address-space limit sees the allocation fail (also under the sanitizers).
 */
static void test_out_of_memory_is_no_verdict(void **state)
{
    char hash[AUTH_PASSWORD_HASH_SIZE];
    const char *pw = "a password that is right";
    (void)state;

    assert_int_equal(auth_password_hash(pw, strlen(pw), hash), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Leave room for 16 MiB more: far below Argon2's 64 MiB. */
        long long size = vm_size();
        struct rlimit lim = { (rlim_t)(size + 16 * 1024 * 1024),
            (rlim_t)(size + 16 * 1024 * 1024) };
        char out[AUTH_PASSWORD_HASH_SIZE];
        if (size < 0 || setrlimit(RLIMIT_AS, &lim) != 0)
            _exit(10);
        /* The right password cannot be checked: an error, not a mismatch. */
        if (auth_password_verify(hash, pw, strlen(pw)) != AUTH_VERIFY_ERROR)
            _exit(11);
        if (auth_password_verify(hash, "wrong password", 14) != AUTH_VERIFY_ERROR)
            _exit(12);
        if (auth_password_hash(pw, strlen(pw), out) != -1)
            _exit(13);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_wipe(void **state)
{
    char buf[16];
    (void)state;

    memset(buf, 'x', sizeof(buf));
    auth_wipe(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    auth_wipe(NULL, 10);
    auth_free_secret(NULL);
    auth_free_secret(xstrdup("secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_shape_and_uniqueness),
        cmocka_unit_test(test_token_round_trip),
        cmocka_unit_test(test_token_decode_rejects),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_csrf_token),
        cmocka_unit_test(test_password_hash_and_verify),
        cmocka_unit_test(test_password_every_byte_counts),
        cmocka_unit_test(test_password_rehash),
        cmocka_unit_test(test_dummy_verify_costs_a_verify),
        cmocka_unit_test(test_out_of_memory_is_no_verdict),
        cmocka_unit_test(test_wipe),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
