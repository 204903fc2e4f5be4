/*
 * payments.c (api): paying a held seat with a processor token, and the
 * processor's webhook.
 *
 * A payment is three steps: payment_begin on a database worker (commits
 * the Idempotency-Key's row and a pending payment, or finds the stored
 * response to replay), the processor's charge on the processor's own pool
 * (HTTP_POOL_PAY: a slow processor holds none of the database workers that
 * catalog reads and registrations need), and payment_finish on the settle
 * pool (HTTP_POOL_SETTLE: a few connections of its own, so that the finish
 * never waits behind repeats of the same key, which wait inside
 * payment_begin on ordinary workers for this very finish).
 *
 * Which processor is configuration (payments_processor()); none configured:
 * 503 payment-unavailable. Responses are stored as the exact bytes sent, and
 * repeats get those bytes again.
 */
#include "registrar/api.h"

#include "registrar/log.h"
#include "registrar/metrics.h"
#include "registrar/payments.h"
#include "registrar/problem.h"
#include "registrar/util.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct db_stmt SQL_PAYMENT_BEGIN = { "payment_begin",
    "select registrar.payment_begin($1::uuid, $2::uuid, $3, $4)", 0 };
static const struct db_stmt SQL_PAYMENT_FINISH = { "payment_finish",
    "select registrar.payment_finish($1::uuid, $2::uuid, $3, $4, $5)", DB_RETRY_SAFE };
static const struct db_stmt SQL_WEBHOOK = { "processor_webhook",
    "select registrar.processor_webhook($1, $2, $3, $4::jsonb)", DB_RETRY_SAFE };
static const struct db_stmt SQL_PAYMENT_NOTE = { "payment_note",
    "select registrar.payment_note($1::uuid, $2, $3)", DB_RETRY_SAFE };
static const struct db_stmt SQL_PAYMENT_ACTION = { "payment_requires_action",
    "select registrar.payment_requires_action($1::uuid, $2::uuid, $3, $4)", DB_RETRY_SAFE };

static const struct db_stmt SQL_PAYMENT_CARD = { "payment_card_set",
    "select registrar.payment_card_set($1::uuid, $2, $3)", DB_RETRY_SAFE };

static const char PAYMENTS_HELP[] = "Processor calls by outcome.";

void payments_register(void)
{
    db_stmts_register(&SQL_PAYMENT_BEGIN, 1);
    db_stmts_register(&SQL_PAYMENT_FINISH, 1);
    db_stmts_register(&SQL_WEBHOOK, 1);
    db_stmts_register(&SQL_PAYMENT_NOTE, 1);
    db_stmts_register(&SQL_PAYMENT_ACTION, 1);
    db_stmts_register(&SQL_PAYMENT_CARD, 1);
}

static void payments_count(enum payments_outcome o)
{
    switch (o) {
    case PAYMENTS_SUCCEEDED:
        metrics_count("registrar_payments_total", PAYMENTS_HELP, "status=\"succeeded\"", 1);
        break;
    case PAYMENTS_DECLINED:
        metrics_count("registrar_payments_total", PAYMENTS_HELP, "status=\"declined\"", 1);
        break;
    case PAYMENTS_INVALID:
        metrics_count("registrar_payments_total", PAYMENTS_HELP, "status=\"invalid\"", 1);
        break;
    case PAYMENTS_UNAVAILABLE:
    case PAYMENTS_PENDING:
        metrics_count("registrar_payments_total", PAYMENTS_HELP, "status=\"unavailable\"", 1);
        break;
    case PAYMENTS_REQUIRES_ACTION:
        metrics_count("registrar_payments_total", PAYMENTS_HELP, "status=\"requires_action\"", 1);
        break;
    }
}

/* An Idempotency-Key: 1..255 printable ASCII characters. */
static bool payments_key_valid(const char *k)
{
    size_t n = k != NULL ? strlen(k) : 0;

    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)k[i]))
            return false;
    return true;
}

/* Sends a stored (or just stored) response: exactly its bytes. */
static void payments_reply_stored(struct http_req *req, int status, const char *body)
{
    if (body == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        return;
    }
    http_reply_body(req, status, status >= 400 ? "application/problem+json" : "application/json",
        xstrdup(body), strlen(body));
}

static char *payments_problem_text(int status, const char *slug, const char *detail)
{
    json_t *p = problem_new(status, slug, detail);
    char *text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(p);
    return text;
}

/* Step 3: records the outcome and replies with the stored response. */
static void payments_finish(struct http_req *req, const char *payment_id,
    enum payments_outcome outcome, const char *processor_ref, const char *decline)
{
    char *problem = NULL, *text = NULL, *detail = NULL;
    json_t *res = NULL;

    if (outcome == PAYMENTS_PENDING)
        outcome = PAYMENTS_UNAVAILABLE;
    if (outcome == PAYMENTS_DECLINED) {
        detail = xasprintf("The card was declined%s%s. No money was taken; the seat stays held "
                           "until the hold runs out.",
            decline != NULL && decline[0] != '\0' ? ": " : "", decline != NULL ? decline : "");
        problem = payments_problem_text(402, "payment-declined", detail);
    } else if (outcome == PAYMENTS_INVALID)
        problem = payments_problem_text(
            400, "invalid-request", "payment_token: the processor does not know this token.");
    const char *params[] = { api_viewer(req), payment_id, payments_outcome_name(outcome),
        outcome == PAYMENTS_SUCCEEDED ? processor_ref : NULL, problem };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_PAYMENT_FINISH, 5, params, &text);
    if (s != DB_OK) {
        /*
         * The charge may have gone through and is not recorded: the key stays
         * locked, and a repeat after a minute charges again under the same
         * payment id, which the processor answers with the first charge.
         */
        if (outcome == PAYMENTS_SUCCEEDED)
            log_msg(LOG_ERROR,
                "a charge succeeded but could not be recorded; a repeat of the key will settle it");
        api_reply_db_error(req, s == DB_NOT_FOUND ? DB_ERROR : s);
        goto out;
    }
    res = json_loads(text, 0, NULL);
    int status = (int)json_integer_value(json_object_get(res, "status"));
    if (status == 503) {
        http_reply_problem(req, 503, "payment-unavailable",
            "The card processor did not answer. Repeat the request with the same Idempotency-Key.");
        goto out;
    }
    payments_reply_stored(req, status, json_string_value(json_object_get(res, "body")));
out:
    json_decref(res);
    free(text);
    free(problem);
    free(detail);
}

static void payments_reply_unavailable(struct http_req *req)
{
    http_reply_problem(req, 503, "payment-unavailable",
        "Card payments are not available on this server now. No money was taken.");
}

/* What the steps of one payment carry from one pool to the next. */
struct payments_step {
    char *payment_id, *enrollment_id, *token, *currency;
    long long amount_cents;
    struct payments_result result;
};

static void payments_step_free(void *p)
{
    struct payments_step *st = p;

    if (st == NULL)
        return;
    free(st->payment_id);
    free(st->enrollment_id);
    free(st->token);
    free(st->currency);
    free(st);
}

/* Step 3, on the settle pool: records what the processor said. */
static void payments_settle_step(struct http_req *req)
{
    struct payments_step *st = http_req_data(req);
    struct payments_result *r = &st->result;
    char *text = NULL;
    json_t *res = NULL;

    if (r->outcome != PAYMENTS_REQUIRES_ACTION) {
        /* Before the finish, so that its receipt and message name the card. */
        if (r->outcome == PAYMENTS_SUCCEEDED && r->card_brand[0] != '\0') {
            const char *card[] = { st->payment_id, r->card_brand,
                r->card_last4[0] != '\0' ? r->card_last4 : NULL };
            if (db_exec(http_req_db(req), &SQL_PAYMENT_CARD, 3, card, NULL) != DB_OK)
                log_msg(
                    LOG_WARN, "the card's brand could not be recorded; the receipt says only card");
        }
        payments_finish(req, st->payment_id, r->outcome, r->processor_ref, r->decline);
        return;
    }
    const char *params[] = { api_viewer(req), st->payment_id, r->processor_ref, r->client_secret };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_PAYMENT_ACTION, 4, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s == DB_NOT_FOUND ? DB_ERROR : s);
        goto out;
    }
    res = json_loads(text, 0, NULL);
    payments_reply_stored(req, (int)json_integer_value(json_object_get(res, "status")),
        json_string_value(json_object_get(res, "body")));
out:
    json_decref(res);
    free(text);
}

/* Step 2, on the processor's pool: no database here. */
static void payments_charge_step(struct http_req *req)
{
    struct payments_step *st = http_req_data(req);
    const struct payments_processor *proc = payments_processor();
    struct payments_charge c = {
        .amount_cents = st->amount_cents,
        .currency = st->currency,
        .token = st->token,
        .ref = st->payment_id,
        .enrollment_id = st->enrollment_id,
    };

    assert(proc != NULL);
    if (proc->charge(&c, &st->result) == -1)
        st->result.outcome = PAYMENTS_UNAVAILABLE;
    payments_count(st->result.outcome);
    http_req_continue(req, HTTP_POOL_SETTLE, payments_settle_step);
}

/* The processor judges the token itself; this only bounds it. */
const struct api_field payments_create_fields[] = {
    { "payment_token", API_T_STRING, API_REQUIRED | API_NO_TRIM, 1, 255, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

void payments_create(struct http_req *req)
{
    const struct payments_processor *proc = payments_processor();
    json_t *body = http_req_json(req);
    const char *enrollment, *key = http_req_header(req, "Idempotency-Key");
    char *text = NULL;
    json_t *res = NULL;

    if (api_uuid_param_or_reply(req, "id", &enrollment) == -1 ||
        api_fields_check_or_reply(req, body, payments_create_fields, "", true) == -1)
        return;
    const char *token = api_body_string(body, "payment_token");
    if (proc == NULL) {
        payments_reply_unavailable(req);
        return;
    }
    if (!payments_key_valid(key)) {
        http_reply_invalid_field(req, "Idempotency-Key",
            key == NULL ? "header is required: a unique key per payment, repeated on retries"
                        : "header must be 1 to 255 printable characters");
        return;
    }
    if (!proc->token_valid(token)) {
        http_reply_invalid_field(req, "payment_token", "is not a token of the card processor");
        return;
    }
    const char *params[] = { api_viewer(req), enrollment, key, token };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_PAYMENT_BEGIN, 4, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    res = json_loads(text, 0, NULL);
    const char *action = json_string_value(json_object_get(res, "action"));
    const char *payment_id = json_string_value(json_object_get(res, "payment_id"));
    if (action != NULL && strcmp(action, "replay") == 0) {
        payments_reply_stored(req, (int)json_integer_value(json_object_get(res, "status")),
            json_string_value(json_object_get(res, "body")));
    } else if (action != NULL && strcmp(action, "finish") == 0 && payment_id != NULL) {
        /* Taken over after the first request died; a webhook settled it meanwhile. */
        const char *st = json_string_value(json_object_get(res, "status"));
        bool ok = st != NULL && (strcmp(st, "succeeded") == 0 || strcmp(st, "refunded") == 0);
        payments_finish(req, payment_id, ok ? PAYMENTS_SUCCEEDED : PAYMENTS_DECLINED, NULL, NULL);
    } else if (action != NULL && strcmp(action, "charge") == 0 && payment_id != NULL) {
        const char *currency = json_string_value(json_object_get(res, "currency"));
        /* A processor that can be asked later keeps the token while the payment is pending. */
        const char *np[] = { payment_id, proc->name, proc->lookup != NULL ? token : NULL };
        char *none = NULL;
        s = db_exec_value(http_req_db(req), &SQL_PAYMENT_NOTE, 3, np, &none);
        free(none);
        if (s != DB_OK && s != DB_NOT_FOUND) {
            /* Nothing charged; the key stays locked, and a repeat after a minute takes it over. */
            api_reply_db_error(req, s);
            goto out;
        }
        struct payments_step *st = xcalloc(1, sizeof(*st));
        st->payment_id = xstrdup(payment_id);
        st->enrollment_id = xstrdup(enrollment);
        st->token = xstrdup(token);
        st->currency = xstrdup(currency != NULL ? currency : "USD");
        st->amount_cents = json_integer_value(json_object_get(res, "amount_cents"));
        http_req_set_data(req, st, payments_step_free);
        http_req_continue(req, HTTP_POOL_PAY, payments_charge_step);
    } else {
        http_reply_problem(req, 500, "internal", NULL);
    }
out:
    json_decref(res);
    free(text);
}

/* What GET /api/v1/config tells the web client; set once by main (payments_api_configure). */
static struct {
    char *publishable_key, *centre_name, *centre_address, *centre_tax_id;
} payments_public;

void payments_api_configure(const char *stripe_publishable_key, const char *centre_name,
    const char *centre_address, const char *centre_tax_id)
{
    free(payments_public.publishable_key);
    free(payments_public.centre_name);
    free(payments_public.centre_address);
    free(payments_public.centre_tax_id);
    payments_public.publishable_key =
        stripe_publishable_key != NULL ? xstrdup(stripe_publishable_key) : NULL;
    payments_public.centre_name = centre_name != NULL ? xstrdup(centre_name) : NULL;
    payments_public.centre_address =
        centre_address != NULL && *centre_address != '\0' ? xstrdup(centre_address) : NULL;
    payments_public.centre_tax_id =
        centre_tax_id != NULL && *centre_tax_id != '\0' ? xstrdup(centre_tax_id) : NULL;
}

void payments_config_get(struct http_req *req)
{
    const struct payments_processor *proc = payments_processor();
    json_t *centre = json_object();
    json_t *o = json_object();

    json_object_set_new(
        o, "payment_processor", proc != NULL ? json_string(proc->name) : json_null());
    /* main gives a publishable key only to a processor that has one (Stripe). */
    if (proc != NULL && payments_public.publishable_key != NULL)
        json_object_set_new(
            o, "stripe_publishable_key", json_string(payments_public.publishable_key));
    json_object_set_new(centre, "name",
        json_string(
            payments_public.centre_name != NULL ? payments_public.centre_name : "Registrar"));
    json_object_set_new(centre, "address",
        payments_public.centre_address != NULL ? json_string(payments_public.centre_address)
                                               : json_null());
    json_object_set_new(centre, "tax_id",
        payments_public.centre_tax_id != NULL ? json_string(payments_public.centre_tax_id)
                                              : json_null());
    json_object_set_new(o, "centre", centre);
    http_reply_json(req, 200, o);
}

void payments_webhook_receive(struct http_req *req)
{
    size_t len;
    const char *raw = http_req_body(req, &len);
    json_t *event = http_req_json(req);
    const struct payments_processor *proc = payments_processor();
    const char *header = proc != NULL ? proc->signature_header : "Registrar-Signature";
    const char *sig = http_req_header(req, header);
    char *payload = NULL, *text = NULL, *detail = NULL;

    if (proc == NULL) {
        payments_reply_unavailable(req);
        return;
    }
    enum payments_webhook_check c =
        payments_webhook_verify_configured(sig, raw, raw != NULL ? len : 0, (int64_t)time(NULL));
    if (c != PAYMENTS_WEBHOOK_OK) {
        detail = c == PAYMENTS_WEBHOOK_STALE
                     ? xstrdup("The signature's timestamp is more than 5 minutes away from now.")
                     : xasprintf("The %s header does not sign this body with the webhook secret.",
                           header);
        http_reply_problem(req, 400, "bad-signature", detail);
        free(detail);
        return;
    }
    const char *id = json_string_value(json_object_get(event, "id"));
    const char *type = json_string_value(json_object_get(event, "type"));
    if (!json_is_object(event) || id == NULL || type == NULL || strlen(id) == 0 ||
        strlen(id) > 255 || strlen(type) == 0 || strlen(type) > 100) {
        http_reply_problem(
            req, 400, "invalid-request", "A webhook event is a JSON object with `id` and `type`.");
        return;
    }
    payload = json_dumps(event, JSON_COMPACT);
    const char *params[] = { proc->name, id, type, payload };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_WEBHOOK, 4, params, &text);
    free(payload);
    if (s != DB_OK) {
        api_reply_db_error(req, s == DB_NOT_FOUND ? DB_ERROR : s);
        return;
    }
    http_reply_json_text(req, 200, text);
}
