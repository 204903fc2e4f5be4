/*
 * payments.h: card processors (charge and refund by processor token) and
 * the processor's signed webhooks.
 *
 * Layering: uses util, log and libsodium; knows nothing of HTTP or the
 * database. Only this layer and auth/ include <sodium.h>.
 *
 * Card data never reaches the server: the learner's browser hands the card
 * to the processor's own form and gets a token back, which is all a charge
 * needs. Nothing here logs a token or an amount.
 *
 * A charge carries an idempotency reference (our payment id). A processor
 * that sees the same reference twice returns the first outcome instead of
 * charging again, so a charge whose outcome was lost (a crash between the
 * charge and recording it) may be repeated safely with the same reference.
 *
 * The interface is a table of function pointers so that a network
 * processor can sit beside the built-in `test` one. Calls are synchronous
 * and bounded; a processor that talks to the network would be called from
 * a pool of its own (http_req_continue) rather than from a database worker.
 */
#ifndef REGISTRAR_PAYMENTS_H
#define REGISTRAR_PAYMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum payments_outcome {
    PAYMENTS_SUCCEEDED, /* money moved; processor_ref names it */
    PAYMENTS_DECLINED,  /* the card was refused (402 to the learner) */
    PAYMENTS_INVALID,   /* the token (or the refund's reference) is unknown: a client error */
    PAYMENTS_UNAVAILABLE /* the processor did not answer; the outcome is unknown, retry with the same ref */
};

/* "succeeded", "declined", "invalid", "unavailable". */
const char *payments_outcome_name(enum payments_outcome o);

struct payments_charge {
    long long amount_cents; /* > 0 */
    const char *currency;   /* "USD" */
    const char *token;      /* from the processor's client-side form */
    const char *ref;        /* idempotency reference: our payment id */
};

struct payments_refund {
    const char *processor_ref; /* of the charge */
    long long amount_cents;    /* > 0, at most the charge */
    const char *ref;           /* idempotency reference of this refund */
};

struct payments_result {
    enum payments_outcome outcome;
    char processor_ref[64]; /* on PAYMENTS_SUCCEEDED; "" otherwise */
    /* Of a charge that succeeded, when the processor says ("visa", "4242"); "" otherwise. */
    char card_brand[16];
    char card_last4[5];
};

struct payments_processor {
    const char *name;
    /* Whether a token has the processor's form (cheap, no charge made). */
    bool (*token_valid)(const char *token);
    /* Fills *out; returns 0, or -1 only on a bug (bad arguments). */
    int (*charge)(const struct payments_charge *c, struct payments_result *out);
    int (*refund)(const struct payments_refund *r, struct payments_result *out);
};

/*
 * The built-in `test` processor: tok_test_visa and tok_test_mastercard
 * succeed (as card "visa" ending 4242, "mastercard" ending 4444), tok_test_declined is declined, tok_test_slow succeeds after
 * PAYMENTS_TEST_SLOW_MS (a processor that takes its time, so that tests can
 * kill a server in the middle of a charge), any other token is invalid. Its
 * references are derived from the idempotency reference, so a repeated
 * charge returns the same processor_ref (as a real processor's would).
 */
#define PAYMENTS_TEST_SLOW_MS 3000
const struct payments_processor *payments_processor_test(void);

/* The processor by name ("test"); NULL if there is none of that name. */
const struct payments_processor *payments_processor_find(const char *name);

/* ---- webhooks ---- */

/* Signatures older (or further in the future) than this are refused. */
#define PAYMENTS_WEBHOOK_TOLERANCE_S 300

enum payments_webhook_check {
    PAYMENTS_WEBHOOK_OK,
    PAYMENTS_WEBHOOK_MALFORMED, /* no header, or not "t=<unix>,v1=<hex>" */
    PAYMENTS_WEBHOOK_STALE,     /* t outside the tolerance */
    PAYMENTS_WEBHOOK_MISMATCH,  /* no v1 matches */
    PAYMENTS_WEBHOOK_NO_SECRET  /* the server has no webhook secret configured */
};

/*
 * Sets the webhook secret (REGISTRAR_WEBHOOK_SECRET, used as bytes). Call
 * once at start-up, before any request; NULL leaves webhooks refused. The
 * string is copied.
 */
void payments_configure(const char *webhook_secret);
/* Wipes and frees the copy of the secret. */
void payments_shutdown(void);

/*
 * Checks a `Registrar-Signature: t=<unix>,v1=<hex>` header (several v1
 * members may be present, for secret rotation) against HMAC-SHA256 with
 * secret over `t + "." + body`. now is the current Unix time. The MACs
 * are compared in constant time.
 */
enum payments_webhook_check payments_webhook_verify(const char *secret, size_t secret_len,
    const char *header, const char *body, size_t body_len, int64_t now);

/* payments_webhook_verify with the configured secret. */
enum payments_webhook_check payments_webhook_verify_configured(
    const char *header, const char *body, size_t body_len, int64_t now);

/*
 * The header value a processor would send: "t=<t>,v1=<64 hex>", malloc'd,
 * owned by the caller. For tests and tools.
 */
char *payments_webhook_sign(
    const char *secret, size_t secret_len, int64_t t, const char *body, size_t body_len);

#endif
