/* test_payments.c: choosing the processor, the test processor's rules, Stripe's token form,
 * webhook signatures, and the HTML pages' CSP for each processor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/http.h"
#include "registrar/payments.h"
#include "registrar/util.h"

static const char SECRET[] = "whsec_0123456789abcdef";
static const char BODY[] = "{\"id\":\"evt_1\",\"type\":\"payment.refunded\"}";

static int setup(void **state)
{
    (void)state;
    assert_int_equal(payments_configure(&(struct payments_config){
                         .processor = "test", .webhook_secret = SECRET }),
        0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    payments_shutdown();
    return 0;
}

static void test_charge_rules(void **state)
{
    const struct payments_processor *p = payments_processor_find("test");
    struct payments_result r;
    struct payments_charge c = { 12500, "USD", "tok_test_visa",
        "8a1c6c2e-0000-4000-8000-000000000001", NULL };
    (void)state;

    assert_non_null(p);
    assert_ptr_equal(p, payments_processor_test());
    assert_ptr_equal(payments_processor_find("stripe"), payments_processor_stripe());
    assert_null(payments_processor_find("paypal"));
    assert_null(payments_processor_find(NULL));

    assert_int_equal(p->charge(&c, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_SUCCEEDED);
    assert_int_equal(strncmp(r.processor_ref, "test_ch_", 8), 0);
    assert_string_equal(r.card_brand, "visa");
    assert_string_equal(r.card_last4, "4242");
    char first[64];
    strcpy(first, r.processor_ref);

    /* The same reference names the same charge; another one another charge. */
    c.token = "tok_test_mastercard";
    assert_int_equal(p->charge(&c, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_SUCCEEDED);
    assert_string_equal(r.processor_ref, first);
    c.ref = "8a1c6c2e-0000-4000-8000-000000000002";
    assert_int_equal(p->charge(&c, &r), 0);
    assert_string_not_equal(r.processor_ref, first);

    c.token = "tok_test_declined";
    assert_int_equal(p->charge(&c, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_DECLINED);
    assert_string_equal(r.processor_ref, "");

    const char *bad[] = { "tok_test_amex", "4242424242424242", "", "TOK_TEST_VISA",
        "tok_test_visa " };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.token = bad[i];
        assert_false(p->token_valid(bad[i]));
        assert_int_equal(p->charge(&c, &r), 0);
        assert_int_equal(r.outcome, PAYMENTS_INVALID);
    }
    c.token = NULL;
    assert_int_equal(p->charge(&c, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_INVALID);
    assert_true(p->token_valid("tok_test_visa"));
    assert_true(p->token_valid("tok_test_declined"));

    /* Misuse is a bug, reported as -1. */
    c.token = "tok_test_visa";
    c.amount_cents = 0;
    assert_int_equal(p->charge(&c, &r), -1);
    assert_string_equal(payments_outcome_name(PAYMENTS_DECLINED), "declined");
}

static void test_refund_rules(void **state)
{
    const struct payments_processor *p = payments_processor_test();
    struct payments_result r;
    struct payments_refund f = { "test_ch_0123456789abcdef01234567", 5000, "refund-1" };
    (void)state;

    assert_int_equal(p->refund(&f, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_SUCCEEDED);
    assert_int_equal(strncmp(r.processor_ref, "test_re_", 8), 0);
    f.processor_ref = "ch_somewhere_else";
    assert_int_equal(p->refund(&f, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_INVALID);
    f.amount_cents = -1;
    assert_int_equal(p->refund(&f, &r), -1);
}

/* Known answers computed independently with `openssl dgst -sha256 -hmac KEY` over "t.body". */
static void test_hmac_known_answer(void **state)
{
    (void)state;
    char *h = payments_webhook_sign("key", 3, 1, "", 0);
    assert_string_equal(
        h, "t=1,v1=53123bc365c2fe4bee48bc5cc6cd6c19699147d43513154ed34277c7c063e80f");
    free(h);
    h = payments_webhook_sign(SECRET, strlen(SECRET), 1700000000, "{\"a\":1}", 7);
    assert_string_equal(
        h, "t=1700000000,v1=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2");
    assert_int_equal(
        payments_webhook_verify_configured(h, "{\"a\":1}", 7, 1700000100), PAYMENTS_WEBHOOK_OK);
    free(h);
}

static void test_webhook_signatures(void **state)
{
    int64_t now = 1900000000;
    size_t blen = strlen(BODY);
    (void)state;

    char *good = payments_webhook_sign(SECRET, strlen(SECRET), now, BODY, blen);
    assert_int_equal(
        payments_webhook_verify_configured(good, BODY, blen, now), PAYMENTS_WEBHOOK_OK);
    /* Within the tolerance on both sides, outside it stale. */
    assert_int_equal(
        payments_webhook_verify_configured(good, BODY, blen, now + 300), PAYMENTS_WEBHOOK_OK);
    assert_int_equal(
        payments_webhook_verify_configured(good, BODY, blen, now - 300), PAYMENTS_WEBHOOK_OK);
    assert_int_equal(
        payments_webhook_verify_configured(good, BODY, blen, now + 301), PAYMENTS_WEBHOOK_STALE);
    assert_int_equal(
        payments_webhook_verify_configured(good, BODY, blen, now - 301), PAYMENTS_WEBHOOK_STALE);

    /* Another body, another secret, another timestamp: no match. */
    assert_int_equal(
        payments_webhook_verify_configured(good, "{}", 2, now), PAYMENTS_WEBHOOK_MISMATCH);
    char *other = payments_webhook_sign("another secret", 14, now, BODY, blen);
    assert_int_equal(
        payments_webhook_verify_configured(other, BODY, blen, now), PAYMENTS_WEBHOOK_MISMATCH);
    char *moved = xasprintf("t=%lld,%s", (long long)now + 1, strchr(good, ',') + 1);
    assert_int_equal(
        payments_webhook_verify_configured(moved, BODY, blen, now), PAYMENTS_WEBHOOK_MISMATCH);

    /* Several v1 members: one matching is enough (secret rotation); spaces tolerated. */
    char *rotated = xasprintf(
        "t=%lld, v1=%s, %s", (long long)now, strstr(other, "v1=") + 3, strchr(good, ',') + 1);
    assert_int_equal(
        payments_webhook_verify_configured(rotated, BODY, blen, now), PAYMENTS_WEBHOOK_OK);

    /* One flipped hex digit. */
    char *flipped = xstrdup(good);
    char *last = flipped + strlen(flipped) - 1;
    *last = *last == '0' ? '1' : '0';
    assert_int_equal(
        payments_webhook_verify_configured(flipped, BODY, blen, now), PAYMENTS_WEBHOOK_MISMATCH);

    const char *malformed[] = { NULL, "", "t=,v1=00", "v1=abc", "t=123", "t=12a,v1=00",
        "t=1900000000,v1=zz", "t=1900000000,v1=0011", "t=-5,v1=00", "garbage" };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
        assert_int_equal(payments_webhook_verify_configured(malformed[i], BODY, blen, now),
            PAYMENTS_WEBHOOK_MALFORMED);

    assert_int_equal(
        payments_webhook_verify(NULL, 0, good, BODY, blen, now), PAYMENTS_WEBHOOK_NO_SECRET);
    free(good);
    free(other);
    free(moved);
    free(rotated);
    free(flipped);
}

/* The processor is configuration: none, test or stripe, each with its own webhook secret. */
static void test_choose_processor(void **state)
{
    static const char STRIPE_SECRET[] = "whsec_stripe_0123456789";
    (void)state;

    assert_int_equal(payments_configure(
                         &(struct payments_config){ .processor = NULL, .webhook_secret = SECRET }),
        0);
    assert_null(payments_processor());
    assert_int_equal(payments_configure(&(struct payments_config){ .processor = "paypal" }), -1);
    assert_null(payments_processor());

    assert_int_equal(payments_configure(&(struct payments_config){ .processor = "stripe",
                         .webhook_secret = SECRET,
                         .stripe_secret_key = "sk_test_x",
                         .stripe_webhook_secret = STRIPE_SECRET,
                         .stripe_api_base = "http://127.0.0.1:1" }),
        0);
    const struct payments_processor *p = payments_processor();
    assert_ptr_equal(p, payments_processor_stripe());
    assert_string_equal(p->signature_header, "Stripe-Signature");
    assert_non_null(p->lookup);
    /* Stripe's signatures are checked with Stripe's secret, not the test processor's. */
    char *h =
        payments_webhook_sign(STRIPE_SECRET, strlen(STRIPE_SECRET), 1700000000, BODY, strlen(BODY));
    assert_int_equal(
        payments_webhook_verify_configured(h, BODY, strlen(BODY), 1700000000), PAYMENTS_WEBHOOK_OK);
    free(h);
    h = payments_webhook_sign(SECRET, strlen(SECRET), 1700000000, BODY, strlen(BODY));
    assert_int_equal(payments_webhook_verify_configured(h, BODY, strlen(BODY), 1700000000),
        PAYMENTS_WEBHOOK_MISMATCH);
    free(h);

    /* PaymentMethod ids only; a test token or card data is refused before any call. */
    assert_true(p->token_valid("pm_card_visa"));
    assert_true(p->token_valid("pm_1NXWPnCo6bFb1KQ0bW3qWxyz"));
    const char *bad[] = { "tok_test_visa", "pm_", "pm_card visa", "4242424242424242", "",
        "pm_card_visa\n", "pm_../../v1/charges" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(p->token_valid(bad[i]));
    struct payments_result r;
    struct payments_charge c = { 12500, "USD", "tok_test_visa", "ref-1", NULL };
    assert_int_equal(p->charge(&c, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_INVALID);
    /* Nothing listens on port 1: no answer is "unavailable", never a decision. */
    c.token = "pm_card_visa";
    assert_int_equal(p->charge(&c, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_UNAVAILABLE);
    struct payments_refund f = { "test_ch_0123", 100, "ref-1:refund" };
    assert_int_equal(p->refund(&f, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_INVALID);
    assert_int_equal(p->lookup("pi_../x", NULL, &r), 0);
    assert_int_equal(r.outcome, PAYMENTS_INVALID);

    assert_int_equal(payments_configure(&(struct payments_config){
                         .processor = "test", .webhook_secret = SECRET }),
        0);
    assert_ptr_equal(payments_processor(), payments_processor_test());
    assert_string_equal(payments_processor()->signature_header, "Registrar-Signature");
}

static void test_decline_words(void **state)
{
    (void)state;
    assert_string_equal(
        payments_decline_words("insufficient_funds"), "the card has insufficient funds");
    assert_string_equal(
        payments_decline_words("generic_decline"), "the card's bank declined it without a reason");
    assert_string_equal(payments_decline_words("something_new"), "the card's bank declined it");
    assert_string_equal(payments_decline_words(NULL), "the card's bank declined it");
}

/* Stripe Elements needs https://js.stripe.com for scripts and frames; nothing else changes. */
static void test_csp(void **state)
{
    (void)state;
    const char *plain = http_csp_html(false);
    const char *stripe = http_csp_html(true);

    assert_null(strstr(plain, "stripe"));
    assert_non_null(strstr(plain, "script-src 'self';"));
    assert_null(strstr(plain, "frame-src"));
    assert_non_null(strstr(stripe, "script-src 'self' https://js.stripe.com;"));
    assert_non_null(strstr(stripe, "frame-src https://js.stripe.com;"));
    /* Every other directive is the same, word for word. */
    const char *same[] = { "default-src 'self';", "style-src 'self';", "img-src 'self' data:;",
        "connect-src 'self';", "font-src 'self';", "object-src 'none';", "frame-ancestors 'none';",
        "base-uri 'none';", "form-action 'self'" };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_non_null(strstr(plain, same[i]));
        assert_non_null(strstr(stripe, same[i]));
    }
    /* Only those two mentions of Stripe: no wildcard, no other host. */
    size_t n = 0;
    for (const char *p = stripe; (p = strstr(p, "https://")) != NULL; p++)
        n++;
    assert_int_equal(n, 2);
    assert_null(strstr(stripe, "*"));
    assert_null(strstr(stripe, "unsafe"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charge_rules),
        cmocka_unit_test(test_refund_rules),
        cmocka_unit_test(test_hmac_known_answer),
        cmocka_unit_test(test_webhook_signatures),
        cmocka_unit_test(test_choose_processor),
        cmocka_unit_test(test_decline_words),
        cmocka_unit_test(test_csp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
