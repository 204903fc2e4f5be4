/* processor.c: the processor table and the built-in `test` processor. See payments.h. */
#include "registrar/payments.h"

#include "registrar/util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *payments_outcome_name(enum payments_outcome o)
{
    switch (o) {
    case PAYMENTS_SUCCEEDED:
        return "succeeded";
    case PAYMENTS_DECLINED:
        return "declined";
    case PAYMENTS_INVALID:
        return "invalid";
    case PAYMENTS_UNAVAILABLE:
        return "unavailable";
    case PAYMENTS_REQUIRES_ACTION:
        return "requires_action";
    case PAYMENTS_PENDING:
        return "pending";
    }
    return "invalid";
}

/*
 * The test processor's references: a prefix and 24 hex digits of a hash of
 * the idempotency reference, so the same reference always names the same
 * charge, in every process, as a real processor's idempotency would.
 */
static void payments_test_ref(const char *prefix, const char *ref, char *out, size_t cap)
{
    uint8_t h[12];
    char hex[2 * sizeof(h) + 1];

    crypto_generichash(h, sizeof(h), (const unsigned char *)ref, strlen(ref), NULL, 0);
    util_hex_encode(h, sizeof(h), hex);
    snprintf(out, cap, "%s%s", prefix, hex);
}

static bool payments_test_token_valid(const char *token)
{
    return token != NULL &&
           (strcmp(token, "tok_test_visa") == 0 || strcmp(token, "tok_test_mastercard") == 0 ||
               strcmp(token, "tok_test_declined") == 0 || strcmp(token, "tok_test_slow") == 0);
}

static int payments_test_charge(const struct payments_charge *c, struct payments_result *out)
{
    memset(out, 0, sizeof(*out));
    if (c == NULL || c->ref == NULL || c->ref[0] == '\0' || c->amount_cents <= 0 ||
        c->currency == NULL)
        return -1;
    if (c->token == NULL || !payments_test_token_valid(c->token)) {
        out->outcome = PAYMENTS_INVALID;
        return 0;
    }
    if (strcmp(c->token, "tok_test_declined") == 0) {
        out->outcome = PAYMENTS_DECLINED;
        return 0;
    }
    if (strcmp(c->token, "tok_test_slow") == 0) {
        struct timespec ts = { PAYMENTS_TEST_SLOW_MS / 1000,
            (PAYMENTS_TEST_SLOW_MS % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) == -1)
            ; /* interrupted by a signal: sleep the rest */
    }
    out->outcome = PAYMENTS_SUCCEEDED;
    payments_test_ref("test_ch_", c->ref, out->processor_ref, sizeof(out->processor_ref));
    bool master = strcmp(c->token, "tok_test_mastercard") == 0;
    snprintf(out->card_brand, sizeof(out->card_brand), "%s", master ? "mastercard" : "visa");
    snprintf(out->card_last4, sizeof(out->card_last4), "%s", master ? "4444" : "4242");
    return 0;
}

static int payments_test_refund(const struct payments_refund *r, struct payments_result *out)
{
    memset(out, 0, sizeof(*out));
    if (r == NULL || r->ref == NULL || r->ref[0] == '\0' || r->amount_cents <= 0)
        return -1;
    if (r->processor_ref == NULL || strncmp(r->processor_ref, "test_ch_", 8) != 0) {
        out->outcome = PAYMENTS_INVALID;
        return 0;
    }
    out->outcome = PAYMENTS_SUCCEEDED;
    payments_test_ref("test_re_", r->ref, out->processor_ref, sizeof(out->processor_ref));
    return 0;
}

static const struct payments_processor payments_test = {
    .name = "test",
    .token_valid = payments_test_token_valid,
    .charge = payments_test_charge,
    .refund = payments_test_refund,
    .lookup = NULL,
    .signature_header = "Registrar-Signature",
};

const struct payments_processor *payments_processor_test(void)
{
    return &payments_test;
}

const struct payments_processor *payments_processor_find(const char *name)
{
    if (name != NULL && strcmp(name, payments_test.name) == 0)
        return &payments_test;
    if (name != NULL && strcmp(name, payments_processor_stripe()->name) == 0)
        return payments_processor_stripe();
    return NULL;
}

/* Chosen once at start-up (payments_configure), before any thread reads it. */
static const struct payments_processor *payments_chosen;

const struct payments_processor *payments_processor(void)
{
    return payments_chosen;
}

void payments_processor_choose(const struct payments_processor *p)
{
    payments_chosen = p;
}

const char *payments_decline_words(const char *code)
{
    static const struct {
        const char *code, *words;
    } words[] = {
        { "insufficient_funds", "the card has insufficient funds" },
        { "lost_card", "the card was reported lost" },
        { "stolen_card", "the card was reported stolen" },
        { "expired_card", "the card has expired" },
        { "incorrect_cvc", "the card's security code is incorrect" },
        { "incorrect_number", "the card number is incorrect" },
        { "processing_error", "the card could not be processed" },
        { "do_not_honor", "the card's bank refused the payment" },
        { "card_velocity_exceeded", "the card's limit was reached" },
        { "fraudulent", "the card's bank suspects fraud" },
        { "authentication_required", "the card's bank requires authentication" },
        { "card_not_supported", "the card does not support this kind of payment" },
        { "currency_not_supported", "the card does not support this currency" },
        { "generic_decline", "the card's bank declined it without a reason" },
    };

    for (size_t i = 0; code != NULL && i < UTIL_ARRAY_LEN(words); i++)
        if (strcmp(code, words[i].code) == 0)
            return words[i].words;
    return "the card's bank declined it";
}
