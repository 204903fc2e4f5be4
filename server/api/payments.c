/*
 * payments.c (api): paying a held seat with a processor token, and the
 * processor's webhook.
 *
 * A payment is three steps on one database worker: payment_begin (commits
 * the Idempotency-Key's row and a pending payment, or finds the stored
 * response to replay), the processor's charge, payment_finish (records the
 * outcome and stores the response). The steps run back to back on the same
 * worker: a repeat of the key that waits for the stored response (inside
 * payment_begin) then never waits for a worker this request needs. A
 * processor that talks to the network would run the charge on a pool of
 * its own with http_req_continue() and come back for the finish.
 *
 * Responses are stored as the exact bytes sent, and repeats get those
 * bytes again.
 */
#include "registrar/api.h"

#include "registrar/log.h"
#include "registrar/metrics.h"
#include "registrar/payments.h"
#include "registrar/problem.h"
#include "registrar/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct db_stmt SQL_PAYMENT_BEGIN = { "payment_begin",
    "select registrar.payment_begin($1::uuid, $2::uuid, $3, $4)", 0 };
static const struct db_stmt SQL_PAYMENT_FINISH = { "payment_finish",
    "select registrar.payment_finish($1::uuid, $2::uuid, $3, $4, $5)", DB_RETRY_SAFE };
static const struct db_stmt SQL_WEBHOOK = { "payment_webhook",
    "select registrar.payment_webhook($1, $2, $3::jsonb)", DB_RETRY_SAFE };

static const struct db_stmt SQL_PAYMENT_CARD = { "payment_card_set",
    "select registrar.payment_card_set($1::uuid, $2, $3)", DB_RETRY_SAFE };

static const char PAYMENTS_HELP[] = "Processor calls by outcome.";

void payments_register(void)
{
    db_stmts_register(&SQL_PAYMENT_BEGIN, 1);
    db_stmts_register(&SQL_PAYMENT_FINISH, 1);
    db_stmts_register(&SQL_WEBHOOK, 1);
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
        metrics_count("registrar_payments_total", PAYMENTS_HELP, "status=\"unavailable\"", 1);
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
    enum payments_outcome outcome, const char *processor_ref)
{
    char *problem = NULL, *text = NULL;
    json_t *res = NULL;

    if (outcome == PAYMENTS_DECLINED)
        problem = payments_problem_text(402, "payment-declined",
            "The card was declined. No money was taken; the seat stays held until the hold runs out.");
    else if (outcome == PAYMENTS_INVALID)
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
}

/* The processor judges the token itself; this only bounds it. */
const struct api_field payments_create_fields[] = {
    { "payment_token", API_T_STRING, API_REQUIRED | API_NO_TRIM, 1, 255, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

void payments_create(struct http_req *req)
{
    const struct payments_processor *proc = payments_processor_test();
    json_t *body = http_req_json(req);
    const char *enrollment, *key = http_req_header(req, "Idempotency-Key");
    char *text = NULL;
    json_t *res = NULL;

    if (api_uuid_param_or_reply(req, "id", &enrollment) == -1 ||
        api_fields_check_or_reply(req, body, payments_create_fields, "", true) == -1)
        return;
    const char *token = api_body_string(body, "payment_token");
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
        payments_finish(req, payment_id, ok ? PAYMENTS_SUCCEEDED : PAYMENTS_DECLINED, NULL);
    } else if (action != NULL && strcmp(action, "charge") == 0 && payment_id != NULL) {
        struct payments_result r;
        struct payments_charge c = {
            .amount_cents = json_integer_value(json_object_get(res, "amount_cents")),
            .currency = json_string_value(json_object_get(res, "currency")),
            .token = token,
            .ref = payment_id,
        };
        if (proc->charge(&c, &r) == -1)
            r.outcome = PAYMENTS_UNAVAILABLE;
        payments_count(r.outcome);
        /* Before the finish, so that its receipt and message name the card. */
        if (r.outcome == PAYMENTS_SUCCEEDED && r.card_brand[0] != '\0') {
            const char *card[] = { payment_id, r.card_brand,
                r.card_last4[0] != '\0' ? r.card_last4 : NULL };
            if (db_exec(http_req_db(req), &SQL_PAYMENT_CARD, 3, card, NULL) != DB_OK)
                log_msg(
                    LOG_WARN, "the card's brand could not be recorded; the receipt says only card");
        }
        payments_finish(req, payment_id, r.outcome, r.processor_ref);
    } else {
        http_reply_problem(req, 500, "internal", NULL);
    }
    json_decref(res);
    free(text);
}

void payments_webhook_receive(struct http_req *req)
{
    size_t len;
    const char *raw = http_req_body(req, &len);
    json_t *event = http_req_json(req);
    const char *sig = http_req_header(req, "Registrar-Signature");
    char *payload = NULL, *text = NULL;

    enum payments_webhook_check c =
        payments_webhook_verify_configured(sig, raw, raw != NULL ? len : 0, (int64_t)time(NULL));
    if (c != PAYMENTS_WEBHOOK_OK) {
        http_reply_problem(req, 400, "bad-signature",
            c == PAYMENTS_WEBHOOK_STALE
                ? "The signature's timestamp is more than 5 minutes away from now."
                : "The Registrar-Signature header does not sign this body with the webhook secret.");
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
    const char *params[] = { id, type, payload };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_WEBHOOK, 3, params, &text);
    free(payload);
    if (s != DB_OK) {
        api_reply_db_error(req, s == DB_NOT_FOUND ? DB_ERROR : s);
        return;
    }
    http_reply_json_text(req, 200, text);
}
