/* webhook.c: signatures of the processor's webhook deliveries. See payments.h. */
#include "registrar/payments.h"

#include "registrar/metrics.h"
#include "registrar/util.h"

#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYMENTS_MAX_SIGNATURES 4

static char *payments_secret;
static size_t payments_secret_len;

int payments_configure(const struct payments_config *config)
{
    const char *webhook_secret = NULL;
    const struct payments_processor *chosen = NULL;

    /* Idempotent and thread-safe; the test processor hashes with libsodium too. */
    if (sodium_init() == -1)
        abort();
    payments_shutdown();
    /* Present from the start, so that dashboards see zeros rather than nothing. */
    metrics_count(
        "registrar_payments_total", "Processor calls by outcome.", "status=\"succeeded\"", 0);
    metrics_count(
        "registrar_payments_total", "Processor calls by outcome.", "status=\"declined\"", 0);
    if (config->processor != NULL) {
        chosen = payments_processor_find(config->processor);
        if (chosen == NULL)
            return -1;
    }
    payments_processor_choose(chosen);
    if (chosen == payments_processor_stripe()) {
        payments_stripe_configure(
            config->stripe_secret_key, config->stripe_api_base, config->stripe_timeout_s);
        webhook_secret = config->stripe_webhook_secret;
    } else {
        webhook_secret = config->webhook_secret;
    }
    if (webhook_secret != NULL && webhook_secret[0] != '\0') {
        payments_secret = xstrdup(webhook_secret);
        payments_secret_len = strlen(webhook_secret);
    }
    return 0;
}

void payments_shutdown(void)
{
    payments_stripe_shutdown();
    if (payments_secret != NULL) {
        sodium_memzero(payments_secret, payments_secret_len);
        free(payments_secret);
    }
    payments_secret = NULL;
    payments_secret_len = 0;
}

static void payments_mac(const char *secret, size_t secret_len, const char *t, size_t tlen,
    const char *body, size_t body_len, uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, tlen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    if (body_len > 0)
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
}

enum payments_webhook_check payments_webhook_verify(const char *secret, size_t secret_len,
    const char *header, const char *body, size_t body_len, int64_t now)
{
    char t[24] = "";
    size_t tlen = 0;
    uint8_t given[PAYMENTS_MAX_SIGNATURES][crypto_auth_hmacsha256_BYTES];
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    int ngiven = 0;
    enum payments_webhook_check rc = PAYMENTS_WEBHOOK_MISMATCH;

    if (secret == NULL || secret_len == 0)
        return PAYMENTS_WEBHOOK_NO_SECRET;
    if (header == NULL || strlen(header) > 1024)
        return PAYMENTS_WEBHOOK_MALFORMED;

    /* Members "key=value" separated by commas; unknown keys are skipped (v0, future schemes). */
    const char *p = header;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 2 && strncmp(p, "t=", 2) == 0) {
            if (tlen != 0 || n - 2 >= sizeof(t) || n - 2 > 12)
                return PAYMENTS_WEBHOOK_MALFORMED;
            for (size_t i = 2; i < n; i++)
                if (!isdigit((unsigned char)p[i]))
                    return PAYMENTS_WEBHOOK_MALFORMED;
            memcpy(t, p + 2, n - 2);
            tlen = n - 2;
            t[tlen] = '\0';
        } else if (n > 3 && strncmp(p, "v1=", 3) == 0) {
            char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
            if (n - 3 != 2 * crypto_auth_hmacsha256_BYTES || ngiven == PAYMENTS_MAX_SIGNATURES)
                return PAYMENTS_WEBHOOK_MALFORMED;
            memcpy(hex, p + 3, n - 3);
            hex[n - 3] = '\0';
            if (util_hex_decode(hex, given[ngiven], sizeof(given[ngiven])) !=
                crypto_auth_hmacsha256_BYTES)
                return PAYMENTS_WEBHOOK_MALFORMED;
            ngiven++;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    if (tlen == 0 || ngiven == 0)
        return PAYMENTS_WEBHOOK_MALFORMED;

    payments_mac(secret, secret_len, t, tlen, body, body_len, mac);
    for (int i = 0; i < ngiven; i++)
        if (sodium_memcmp(mac, given[i], sizeof(mac)) == 0)
            rc = PAYMENTS_WEBHOOK_OK;
    sodium_memzero(mac, sizeof(mac));
    if (rc != PAYMENTS_WEBHOOK_OK)
        return rc;
    /* Only an authentic delivery is judged by its age: a replay outside the window is refused. */
    int64_t ts = strtoll(t, NULL, 10);
    if (ts < now - PAYMENTS_WEBHOOK_TOLERANCE_S || ts > now + PAYMENTS_WEBHOOK_TOLERANCE_S)
        return PAYMENTS_WEBHOOK_STALE;
    return PAYMENTS_WEBHOOK_OK;
}

enum payments_webhook_check payments_webhook_verify_configured(
    const char *header, const char *body, size_t body_len, int64_t now)
{
    return payments_webhook_verify(
        payments_secret, payments_secret_len, header, body, body_len, now);
}

char *payments_webhook_sign(
    const char *secret, size_t secret_len, int64_t t, const char *body, size_t body_len)
{
    char ts[24];
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    char hex[2 * crypto_auth_hmacsha256_BYTES + 1];

    snprintf(ts, sizeof(ts), "%" PRId64, t);
    payments_mac(secret, secret_len, ts, strlen(ts), body, body_len, mac);
    util_hex_encode(mac, sizeof(mac), hex);
    return xasprintf("t=%s,v1=%s", ts, hex);
}
