/*
 * stripe.c: the Stripe processor, over libcurl. See payments.h.
 *
 * Requests are form-encoded (nested keys as metadata[payment_id]=...),
 * answers are JSON (jansson). Every call carries the pinned Stripe-Version,
 * the secret key as a Bearer token, and every POST an Idempotency-Key: our
 * payment id for a charge, the refund's reference for a refund, so a call
 * repeated after a lost answer never moves money twice (Stripe replays the
 * first answer for the same key and parameters).
 *
 * Shapes (Stripe API 2024-06-20): a PaymentIntent {id, status, client_secret,
 * last_payment_error}; an error {error: {type, code, decline_code,
 * payment_intent}} with HTTP 402 for card errors; a Refund {id, status}.
 *
 * Nothing here logs a key, a token, an amount or an answer's body.
 */
#include "registrar/payments.h"

#include "registrar/log.h"
#include "registrar/util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An answer larger than this is not Stripe's: refused as unavailable. */
#define STRIPE_MAX_ANSWER (1024 * 1024)

static char *stripe_key;
static char *stripe_base;
static long stripe_timeout_s = PAYMENTS_STRIPE_TIMEOUT_S;

void payments_stripe_configure(const char *secret_key, const char *api_base, long timeout_s)
{
    payments_stripe_shutdown();
    stripe_key = secret_key != NULL ? xstrdup(secret_key) : NULL;
    stripe_base = xstrdup(api_base != NULL ? api_base : "https://api.stripe.com");
    stripe_timeout_s = timeout_s > 0 ? timeout_s : PAYMENTS_STRIPE_TIMEOUT_S;
}

void payments_stripe_shutdown(void)
{
    if (stripe_key != NULL) {
        sodium_memzero(stripe_key, strlen(stripe_key));
        free(stripe_key);
    }
    free(stripe_base);
    stripe_key = NULL;
    stripe_base = NULL;
}

/* A form body, built pair by pair. */
struct stripe_form {
    struct sbuf buf;
    CURL *curl;
};

static void stripe_form_add(struct stripe_form *f, const char *name, const char *value)
{
    char *n = curl_easy_escape(f->curl, name, 0);
    char *v = curl_easy_escape(f->curl, value, 0);

    if (n == NULL || v == NULL)
        abort(); /* out of memory */
    if (f->buf.len > 0)
        sbuf_add(&f->buf, "&", 1);
    sbuf_add(&f->buf, n, strlen(n));
    sbuf_add(&f->buf, "=", 1);
    sbuf_add(&f->buf, v, strlen(v));
    curl_free(n);
    curl_free(v);
}

static size_t stripe_write(char *data, size_t size, size_t n, void *arg)
{
    struct sbuf *b = arg;

    if (b->len + size * n > STRIPE_MAX_ANSWER)
        return 0; /* aborts the transfer */
    sbuf_add(b, data, size * n);
    return size * n;
}

/*
 * One call: method "GET" or "POST" of path with a form body (POST) and an
 * idempotency key (POST). Returns the HTTP status with *answer the parsed
 * JSON (owned by the caller; NULL if the body was not JSON), or -1 when no
 * answer came (refused connection, timeout, TLS): the outcome is unknown.
 */
static long stripe_call(const char *method, const char *path, struct stripe_form *form,
    const char *idempotency_key, json_t **answer)
{
    CURL *curl = form->curl;
    struct curl_slist *headers = NULL;
    struct sbuf body = { 0 };
    char *url = NULL, *auth = NULL, *idem = NULL;
    long status = -1;

    *answer = NULL;
    if (stripe_key == NULL || stripe_base == NULL)
        return -1;
    url = xasprintf("%s%s", stripe_base, path);
    auth = xasprintf("Authorization: Bearer %s", stripe_key);
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Stripe-Version: " PAYMENTS_STRIPE_VERSION);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (strcmp(method, "POST") == 0) {
        idem = xasprintf("Idempotency-Key: %s", idempotency_key);
        headers = curl_slist_append(headers, idem);
        headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form->buf.buf != NULL ? form->buf.buf : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)form->buf.len);
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, stripe_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, stripe_timeout_s);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "registrar");

    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        log_msg(LOG_WARN, "Stripe did not answer %s %s: %s", method, path, curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (body.len > 0)
        *answer = json_loadb(body.buf, body.len, 0, NULL);
    if (status == 401 || status == 403)
        log_msg(LOG_ERROR,
            "Stripe refused the secret key (HTTP %ld): check REGISTRAR_STRIPE_SECRET_KEY", status);
out:
    curl_slist_free_all(headers);
    if (auth != NULL) {
        sodium_memzero(auth, strlen(auth));
        free(auth);
    }
    free(idem);
    free(url);
    sbuf_release(&body);
    return status;
}

static void stripe_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* Reads a PaymentIntent's state into *out. */
static void stripe_intent_outcome(json_t *pi, struct payments_result *out)
{
    const char *status = json_string_value(json_object_get(pi, "status"));

    stripe_copy(out->processor_ref, sizeof(out->processor_ref),
        json_string_value(json_object_get(pi, "id")));
    if (status == NULL) {
        out->outcome = PAYMENTS_UNAVAILABLE;
    } else if (strcmp(status, "succeeded") == 0) {
        out->outcome = PAYMENTS_SUCCEEDED;
    } else if (strcmp(status, "requires_action") == 0) {
        out->outcome = PAYMENTS_REQUIRES_ACTION;
        stripe_copy(out->client_secret, sizeof(out->client_secret),
            json_string_value(json_object_get(pi, "client_secret")));
    } else if (strcmp(status, "requires_payment_method") == 0 || strcmp(status, "canceled") == 0) {
        /* A failed confirmation leaves the PaymentIntent waiting for another card. */
        json_t *err = json_object_get(pi, "last_payment_error");
        out->outcome = PAYMENTS_DECLINED;
        stripe_copy(out->decline, sizeof(out->decline),
            payments_decline_words(json_string_value(json_object_get(err, "decline_code"))));
    } else {
        /* processing, requires_confirmation, requires_capture: not decided yet. */
        out->outcome = PAYMENTS_PENDING;
    }
}

/* Reads an error answer (4xx) into *out. */
static void stripe_error_outcome(long status, json_t *answer, struct payments_result *out)
{
    json_t *err = json_object_get(answer, "error");
    const char *type = json_string_value(json_object_get(err, "type"));
    const char *code = json_string_value(json_object_get(err, "code"));

    if (status == 402 || (type != NULL && strcmp(type, "card_error") == 0)) {
        const char *decline = json_string_value(json_object_get(err, "decline_code"));
        out->outcome = PAYMENTS_DECLINED;
        stripe_copy(out->decline, sizeof(out->decline),
            payments_decline_words(decline != NULL ? decline : code));
        stripe_copy(out->processor_ref, sizeof(out->processor_ref),
            json_string_value(json_object_get(json_object_get(err, "payment_intent"), "id")));
    } else if (status == 400 && type != NULL && strcmp(type, "invalid_request_error") == 0) {
        /* An unknown PaymentMethod (resource_missing) or one Stripe refuses for this charge. */
        out->outcome = PAYMENTS_INVALID;
    } else {
        if (type != NULL && strcmp(type, "idempotency_error") == 0)
            log_msg(LOG_ERROR, "Stripe: an idempotency key was reused with other parameters");
        out->outcome = PAYMENTS_UNAVAILABLE;
    }
}

static bool stripe_token_valid(const char *token)
{
    size_t n = token != NULL ? strlen(token) : 0;

    if (n < 4 || n > 255 || strncmp(token, "pm_", 3) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)token[i]) && token[i] != '_')
            return false;
    return true;
}

static int stripe_charge(const struct payments_charge *c, struct payments_result *out)
{
    struct stripe_form f = { { 0 }, NULL };
    json_t *answer = NULL;
    char amount[32], currency[8];

    memset(out, 0, sizeof(*out));
    if (c == NULL || c->ref == NULL || c->ref[0] == '\0' || c->amount_cents <= 0 ||
        c->currency == NULL || strlen(c->currency) != 3)
        return -1;
    if (!stripe_token_valid(c->token)) {
        out->outcome = PAYMENTS_INVALID;
        return 0;
    }
    f.curl = curl_easy_init();
    if (f.curl == NULL) {
        out->outcome = PAYMENTS_UNAVAILABLE;
        return 0;
    }
    snprintf(amount, sizeof(amount), "%lld", c->amount_cents);
    for (size_t i = 0; i < 3; i++)
        currency[i] = (char)tolower((unsigned char)c->currency[i]);
    currency[3] = '\0';
    stripe_form_add(&f, "amount", amount);
    stripe_form_add(&f, "currency", currency);
    stripe_form_add(&f, "payment_method", c->token);
    stripe_form_add(&f, "payment_method_types[]", "card");
    stripe_form_add(&f, "confirm", "true");
    if (c->enrollment_id != NULL)
        stripe_form_add(&f, "metadata[enrollment_id]", c->enrollment_id);
    stripe_form_add(&f, "metadata[payment_id]", c->ref);

    long status = stripe_call("POST", "/v1/payment_intents", &f, c->ref, &answer);
    if (status == 200 && json_is_object(answer))
        stripe_intent_outcome(answer, out);
    else if (status >= 400 && status < 500 && status != 401 && status != 403 && status != 409 &&
             status != 429)
        stripe_error_outcome(status, answer, out);
    else
        out->outcome = PAYMENTS_UNAVAILABLE; /* no answer, 5xx, 429, a key Stripe refused */
    /* A lookup's answer, not a charge's: still undecided counts as not answered yet. */
    if (out->outcome == PAYMENTS_PENDING)
        out->outcome = PAYMENTS_UNAVAILABLE;
    json_decref(answer);
    sbuf_release(&f.buf);
    curl_easy_cleanup(f.curl);
    return 0;
}

static int stripe_refund(const struct payments_refund *r, struct payments_result *out)
{
    struct stripe_form f = { { 0 }, NULL };
    json_t *answer = NULL;
    char amount[32];

    memset(out, 0, sizeof(*out));
    if (r == NULL || r->ref == NULL || r->ref[0] == '\0' || r->amount_cents <= 0)
        return -1;
    if (r->processor_ref == NULL || strncmp(r->processor_ref, "pi_", 3) != 0) {
        out->outcome = PAYMENTS_INVALID;
        return 0;
    }
    f.curl = curl_easy_init();
    if (f.curl == NULL) {
        out->outcome = PAYMENTS_UNAVAILABLE;
        return 0;
    }
    snprintf(amount, sizeof(amount), "%lld", r->amount_cents);
    stripe_form_add(&f, "payment_intent", r->processor_ref);
    stripe_form_add(&f, "amount", amount);
    long status = stripe_call("POST", "/v1/refunds", &f, r->ref, &answer);
    const char *st = json_string_value(json_object_get(answer, "status"));
    if (status == 200 && st != NULL) {
        /* A pending refund is Stripe's to finish; failures come back as charge.refund.updated. */
        out->outcome = strcmp(st, "failed") == 0 || strcmp(st, "canceled") == 0
                           ? PAYMENTS_DECLINED
                           : PAYMENTS_SUCCEEDED;
        stripe_copy(out->processor_ref, sizeof(out->processor_ref),
            json_string_value(json_object_get(answer, "id")));
    } else if (status == 400 || status == 404) {
        out->outcome = PAYMENTS_INVALID;
    } else {
        out->outcome = PAYMENTS_UNAVAILABLE;
    }
    json_decref(answer);
    sbuf_release(&f.buf);
    curl_easy_cleanup(f.curl);
    return 0;
}

static int stripe_lookup(
    const char *processor_ref, const struct payments_charge *c, struct payments_result *out)
{
    struct stripe_form f = { { 0 }, NULL };
    json_t *answer = NULL;

    memset(out, 0, sizeof(*out));
    if (processor_ref == NULL || processor_ref[0] == '\0') {
        /* The first answer never came: repeating the charge under its key replays it. */
        if (c == NULL)
            return -1;
        int rc = stripe_charge(c, out);
        if (rc == 0 && out->outcome == PAYMENTS_REQUIRES_ACTION)
            out->outcome = PAYMENTS_PENDING;
        return rc;
    }
    /* Only PaymentIntent ids, of the plain id alphabet, go into the path. */
    bool plain = strncmp(processor_ref, "pi_", 3) == 0 && strlen(processor_ref) < 100;
    for (const char *p = processor_ref; plain && *p != '\0'; p++)
        plain = isalnum((unsigned char)*p) || *p == '_';
    if (!plain) {
        out->outcome = PAYMENTS_INVALID;
        return 0;
    }
    f.curl = curl_easy_init();
    if (f.curl == NULL) {
        out->outcome = PAYMENTS_UNAVAILABLE;
        return 0;
    }
    char *path = xasprintf("/v1/payment_intents/%s", processor_ref);
    long status = stripe_call("GET", path, &f, NULL, &answer);
    free(path);
    if (status == 200 && json_is_object(answer)) {
        stripe_intent_outcome(answer, out);
        if (out->outcome == PAYMENTS_REQUIRES_ACTION)
            out->outcome = PAYMENTS_PENDING; /* the card holder has not finished */
    } else if (status == 404) {
        out->outcome = PAYMENTS_INVALID;
    } else {
        out->outcome = PAYMENTS_UNAVAILABLE;
    }
    json_decref(answer);
    curl_easy_cleanup(f.curl);
    return 0;
}

static const struct payments_processor payments_stripe = {
    .name = "stripe",
    .token_valid = stripe_token_valid,
    .charge = stripe_charge,
    .refund = stripe_refund,
    .lookup = stripe_lookup,
    .signature_header = "Stripe-Signature",
};

const struct payments_processor *payments_processor_stripe(void)
{
    return &payments_stripe;
}
