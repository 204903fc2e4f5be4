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
 * The interface is a table of function pointers: the built-in `test`
 * processor and Stripe (stripe.c, over libcurl) sit behind it, and one of
 * them is chosen at start-up (payments_configure, REGISTRAR_PAYMENT_PROCESSOR);
 * no call site names a processor, they all ask payments_processor(). Calls
 * are synchronous and bounded (a network processor's take seconds at
 * most); the server runs them on a pool of their own (HTTP_POOL_PAY),
 * never on a database worker.
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
    PAYMENTS_UNAVAILABLE, /* the processor did not answer; the outcome is unknown, retry with the same ref */
    PAYMENTS_REQUIRES_ACTION, /* the card holder must authenticate (3-D Secure): client_secret */
    PAYMENTS_PENDING          /* (lookups only) still being processed: ask again later */
};

/* "succeeded", "declined", "invalid", "unavailable", "requires_action", "pending". */
const char *payments_outcome_name(enum payments_outcome o);

struct payments_charge {
    long long amount_cents;    /* > 0 */
    const char *currency;      /* "USD" */
    const char *token;         /* from the processor's client-side form */
    const char *ref;           /* idempotency reference: our payment id */
    const char *enrollment_id; /* for the processor's records (metadata); may be NULL */
};

struct payments_refund {
    const char *processor_ref; /* of the charge */
    long long amount_cents;    /* > 0, at most the charge */
    const char *ref;           /* idempotency reference of this refund */
};

struct payments_result {
    enum payments_outcome outcome;
    /* On PAYMENTS_SUCCEEDED and PAYMENTS_REQUIRES_ACTION (and whenever the processor named its object); "" otherwise. */
    char processor_ref[100];
    /* On PAYMENTS_REQUIRES_ACTION: what Stripe.js completes the authentication with. */
    char client_secret[256];
    /* On PAYMENTS_DECLINED: the processor's reason in words ("insufficient funds"); may be "". */
    char decline[160];
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
    /*
     * The present state of a charge whose answer was lost: by processor_ref
     * when it is known, else by repeating the charge c under its idempotency
     * reference (the processor replays the first answer; c->token must be the
     * first one). PAYMENTS_PENDING while it is undecided. NULL: the processor
     * answers every call at once and nothing is ever left to look up.
     */
    int (*lookup)(
        const char *processor_ref, const struct payments_charge *c, struct payments_result *out);
    /* Which signature header its webhooks carry ("Registrar-Signature", "Stripe-Signature"). */
    const char *signature_header;
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

/* The processor by name ("test", "stripe"); NULL if there is none of that name. */
const struct payments_processor *payments_processor_find(const char *name);

/*
 * Stripe (stripe.c): PaymentIntents created and confirmed server-side,
 * refunds, and lookups, over libcurl, form-encoded, Stripe-Version pinned,
 * Idempotency-Key on every POST. Tokens are PaymentMethod ids (pm_...).
 * Configured by payments_configure.
 */
#define PAYMENTS_STRIPE_VERSION "2024-06-20"
/* Seconds a call to Stripe may take before it counts as unavailable. */
#define PAYMENTS_STRIPE_TIMEOUT_S 20
const struct payments_processor *payments_processor_stripe(void);

/* Sets the chosen processor (payments_configure does; tests too). */
void payments_processor_choose(const struct payments_processor *p);
/* The chosen processor; NULL when none is configured (payments answer 503 payment-unavailable). */
const struct payments_processor *payments_processor(void);

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

struct payments_config {
    const char *processor;      /* "test", "stripe" or NULL (none: payments unavailable) */
    const char *webhook_secret; /* the test processor's (REGISTRAR_WEBHOOK_SECRET); may be NULL */
    const char *stripe_secret_key;
    const char *stripe_webhook_secret;
    const char *stripe_api_base; /* "https://api.stripe.com" */
    long stripe_timeout_s;       /* 0: PAYMENTS_STRIPE_TIMEOUT_S */
};

/*
 * Chooses the processor and copies its secrets: the webhook secret is the
 * chosen processor's (REGISTRAR_WEBHOOK_SECRET for `test`, the whsec_...
 * one for Stripe, used as bytes). Call once at start-up, before any request.
 * Returns 0, or -1 on an unknown processor name (nothing chosen).
 */
int payments_configure(const struct payments_config *config);
/* Wipes and frees the copies of the secrets. */
void payments_shutdown(void);

/* Stripe's part of payments_configure (stripe.c); strings copied. */
void payments_stripe_configure(const char *secret_key, const char *api_base, long timeout_s);
void payments_stripe_shutdown(void);

/*
 * A processor's decline code in words for the learner ("insufficient_funds"
 * -> "the card has insufficient funds"); a generic phrase for codes it does
 * not know or NULL. Static storage.
 */
const char *payments_decline_words(const char *code);

/*
 * Checks a `Registrar-Signature: t=<unix>,v1=<hex>` header (Stripe's
 * `Stripe-Signature` has the same form) (several v1
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
