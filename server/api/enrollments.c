/*
 * enrollments.c: registering, reading, cancelling (with the refund through
 * the processor), deciding applications, choosing workshops, discount
 * codes. Every transition is one SQL function (schema/0004); the handler
 * validates, calls it, and passes its JSON through.
 */
#include "registrar/api.h"

#include "registrar/log.h"
#include "registrar/metrics.h"
#include "registrar/payments.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_ENROLL = { "enroll",
    "select registrar.enroll($1::uuid, $2::uuid, $3)", 0 };
static const struct db_stmt SQL_QUOTE = { "enrollment_quote",
    "select registrar.enrollment_quote($1::uuid, $2::uuid, $3)", DB_RETRY_SAFE };
static const struct db_stmt SQL_GET = { "enrollment_get",
    "select registrar.enrollment_get($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_MINE = { "me_enrollments",
    "select registrar.me_enrollments($1::uuid, $2::integer, $3)", DB_RETRY_SAFE };
static const struct db_stmt SQL_CANCEL = { "enrollment_cancel",
    "select registrar.enrollment_cancel($1::uuid, $2::boolean, $3::uuid, $4)", 0 };
static const struct db_stmt SQL_REFUND_FINISH = { "refund_finish",
    "select registrar.refund_finish($1::uuid, $2::boolean, $3)", DB_RETRY_SAFE };
static const struct db_stmt SQL_DECIDE = { "enrollment_decide",
    "select registrar.enrollment_decide($1::uuid, $2::boolean, $3::uuid, $4::boolean, $5)", 0 };
static const struct db_stmt SQL_SESSIONS_SET = { "enrollment_sessions_set",
    "select registrar.enrollment_sessions_set($1::uuid, $2::uuid, $3::uuid[])", DB_RETRY_SAFE };
static const struct db_stmt SQL_DISCOUNT_CREATE = { "discount_code_create",
    "select registrar.discount_code_create($1::uuid, $2::boolean, $3::uuid, $4, $5::integer, $6::integer,"
    " $7::integer, $8::timestamptz)",
    0 };

/* Longest workshop choice accepted in one request. */
#define ENROLLMENTS_MAX_SESSIONS 50

void enrollments_register(void)
{
    static const struct db_stmt *const all[] = { &SQL_ENROLL, &SQL_QUOTE, &SQL_GET, &SQL_MINE,
        &SQL_CANCEL, &SQL_REFUND_FINISH, &SQL_DECIDE, &SQL_SESSIONS_SET, &SQL_DISCOUNT_CREATE };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(all); i++)
        db_stmts_register(all[i], 1);
}

#define ENROLLMENTS_CODE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* A discount code as the API takes it: 3..40 letters, digits, '-' or '_'. */
static bool enrollments_code_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 3 && n <= 40 && strspn(s, ENROLLMENTS_CODE_CHARS) == n;
}

static int enrollments_code_or_reply(
    struct http_req *req, json_t *obj, const char *field, bool required, const char **out)
{
    if (api_string_or_reply(req, obj, field, required, 3, 40, true, out) == -1)
        return -1;
    if (*out != NULL && !enrollments_code_valid(*out)) {
        http_reply_invalid_field(req, field, "may hold only letters, digits, '-' and '_'");
        return -1;
    }
    return 0;
}

void enrollments_create(struct http_req *req)
{
    static const char *const allowed[] = { "discount_code", NULL };
    json_t *body = http_req_json(req);
    const char *offering, *code = NULL;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    if (body != NULL &&
        (api_fields_or_reply(req, body, allowed) == -1 ||
            enrollments_code_or_reply(req, body, "discount_code", false, &code) == -1))
        return;
    /* A code tried here is a guess like one in a quote: the same buckets. */
    if (code != NULL && api_rate_limit_or_reply(req, "discount") == -1)
        return;
    const char *params[] = { api_viewer(req), offering, code };
    api_reply_sql(req, &SQL_ENROLL, 3, params, 201);
}

void enrollments_quote(struct http_req *req)
{
    const char *offering, *code = http_req_query(req, "discount_code");

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    if (code != NULL && code[0] == '\0')
        code = NULL;
    if (code != NULL && !enrollments_code_valid(code)) {
        http_reply_invalid_field(
            req, "discount_code", "must be 3 to 40 letters, digits, '-' or '_'");
        return;
    }
    /* Counted per address and per learner before the code is looked at. */
    if (code != NULL && api_rate_limit_or_reply(req, "discount") == -1)
        return;
    const char *params[] = { api_viewer(req), offering, code };
    api_reply_sql(req, &SQL_QUOTE, 3, params, 200);
}

void enrollments_get(struct http_req *req)
{
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id };
    api_reply_sql(req, &SQL_GET, 3, params, 200);
}

void enrollments_mine(struct http_req *req)
{
    struct api_page page;

    if (api_page_or_reply(req, &page) == -1)
        return;
    const char *params[] = { api_viewer(req), page.limit, page.cursor };
    api_reply_sql_page(req, &SQL_MINE, 3, params);
}

/*
 * Asks the processor for the refund the cancellation decided and records
 * the outcome. A refund the processor could not make stays pending in the
 * database; the jobs thread tries it again.
 */
void enrollments_refund(struct http_req *req, json_t *refund)
{
    const struct payments_processor *proc = payments_processor_test();
    const char *payment_id = json_string_value(json_object_get(refund, "payment_id"));
    const char *processor_ref = json_string_value(json_object_get(refund, "processor_ref"));
    long long amount = json_integer_value(json_object_get(refund, "amount_cents"));
    struct payments_result r;
    char *ref = NULL;

    if (payment_id == NULL || amount <= 0)
        return;
    ref = xasprintf("%s:refund", payment_id);
    struct payments_refund rf = { processor_ref, amount, ref };
    if (proc->refund(&rf, &r) == -1)
        r.outcome = PAYMENTS_INVALID;
    if (r.outcome == PAYMENTS_UNAVAILABLE) {
        metrics_count("registrar_payments_total", "Processor calls by outcome.",
            "status=\"refund_unavailable\"", 1);
        goto out;
    }
    bool ok = r.outcome == PAYMENTS_SUCCEEDED;
    const char *params[] = { payment_id, ok ? "true" : "false", ok ? r.processor_ref : NULL };
    enum db_status s = db_exec(http_req_db(req), &SQL_REFUND_FINISH, 3, params, NULL);
    if (s != DB_OK)
        log_msg(LOG_WARN, "refund made but not recorded; the jobs thread will settle it");
    if (ok)
        metrics_count(
            "registrar_payments_total", "Processor calls by outcome.", "status=\"refunded\"", 1);
    else
        metrics_count("registrar_payments_total", "Processor calls by outcome.",
            "status=\"refund_failed\"", 1);
out:
    free(ref);
}

void enrollments_cancel(struct http_req *req)
{
    static const char *const allowed[] = { "reason", NULL };
    json_t *body = http_req_json(req);
    const char *id, *reason = NULL;
    char *text = NULL;
    json_t *result = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    if (body != NULL &&
        (api_fields_or_reply(req, body, allowed) == -1 ||
            api_string_or_reply(req, body, "reason", false, 0, 2000, true, &reason) == -1))
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id, reason };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_CANCEL, 4, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    result = json_loads(text, 0, NULL);
    free(text);
    if (result == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        return;
    }
    json_t *refund = json_object_get(result, "refund");
    if (json_is_object(refund))
        enrollments_refund(req, refund);
    http_reply_json(req, 200, json_incref(json_object_get(result, "enrollment")));
    json_decref(result);
}

static void enrollments_decide(struct http_req *req, bool approve)
{
    static const char *const allowed[] = { "note", NULL };
    json_t *body = http_req_json(req);
    const char *id, *note = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    if (body != NULL &&
        (api_fields_or_reply(req, body, allowed) == -1 ||
            api_string_or_reply(req, body, "note", false, 0, 2000, true, &note) == -1))
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id, approve ? "true" : "false",
        note };
    api_reply_sql(req, &SQL_DECIDE, 5, params, 200);
}

void enrollments_approve(struct http_req *req)
{
    enrollments_decide(req, true);
}

void enrollments_reject(struct http_req *req)
{
    enrollments_decide(req, false);
}

void enrollments_sessions_set(struct http_req *req)
{
    static const char *const allowed[] = { "session_ids", NULL };
    json_t *body = http_req_json(req);
    const char *id;
    struct sbuf arr = SBUF_INIT;
    size_t i;
    json_t *v;

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_or_reply(req, body, allowed) == -1)
        return;
    json_t *ids = json_object_get(body, "session_ids");
    if (!json_is_array(ids) || json_array_size(ids) > ENROLLMENTS_MAX_SESSIONS) {
        http_reply_invalid_field(req, "session_ids",
            ids == NULL ? "is required" : "must be an array of at most 50 session ids");
        return;
    }
    sbuf_addc(&arr, '{');
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v) || !api_uuid_valid(json_string_value(v))) {
            sbuf_release(&arr);
            http_reply_invalid_field(req, "session_ids", "must hold session ids (UUIDs)");
            return;
        }
        sbuf_addf(&arr, "%s%s", i == 0 ? "" : ",", json_string_value(v));
    }
    sbuf_addc(&arr, '}');
    const char *params[] = { api_viewer(req), id, arr.buf };
    api_reply_sql(req, &SQL_SESSIONS_SET, 3, params, 200);
    sbuf_release(&arr);
}

void enrollments_discount_create(struct http_req *req)
{
    static const char *const allowed[] = { "code", "percent_off", "amount_off_cents", "max_uses",
        "expires_at", NULL };
    static const struct api_field fields[] = {
        { "expires_at", API_T_DATETIME, 0, 0, 0, NULL, NULL, 0, 0 },
        { "code", API_T_STRING, 0, 3, 40, NULL, NULL, 0, 0 },
        { "percent_off", API_T_INT, 0, 1, 100, NULL, NULL, 0, 0 },
        { "amount_off_cents", API_T_INT, 0, 1, 100000000, NULL, NULL, 0, 0 },
        { "max_uses", API_T_INT, 0, 1, 1000000, NULL, NULL, 0, 0 },
        { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
    };
    json_t *body = http_req_json(req);
    const char *offering, *code, *expires = NULL;
    long long percent = 0, amount = 0, max_uses = 1000000;
    bool has_percent, has_amount, has_max;
    char percent_text[24], amount_text[24], max_text[24];

    if (api_uuid_param_or_reply(req, "id", &offering) == -1 ||
        api_fields_or_reply(req, body, allowed) == -1 ||
        api_fields_check_or_reply(req, body, fields, "", true) == -1 ||
        enrollments_code_or_reply(req, body, "code", true, &code) == -1 ||
        api_int_or_reply(req, body, "percent_off", false, 1, 100, &percent, &has_percent) == -1 ||
        api_int_or_reply(
            req, body, "amount_off_cents", false, 1, 100000000, &amount, &has_amount) == -1 ||
        api_int_or_reply(req, body, "max_uses", false, 1, 1000000, &max_uses, &has_max) == -1 ||
        api_string_or_reply(req, body, "expires_at", false, 1, 64, true, &expires) == -1)
        return;
    if (has_percent == has_amount) {
        http_reply_invalid_field(req, has_percent ? "amount_off_cents" : "percent_off",
            "give either percent_off or amount_off_cents, not both or neither");
        return;
    }
    snprintf(percent_text, sizeof(percent_text), "%lld", percent);
    snprintf(amount_text, sizeof(amount_text), "%lld", amount);
    snprintf(max_text, sizeof(max_text), "%lld", has_max ? max_uses : 1000000LL);
    const char *params[] = { api_viewer(req), api_admin_text(req), offering, code,
        has_percent ? percent_text : NULL, has_amount ? amount_text : NULL, max_text, expires };
    api_reply_sql(req, &SQL_DISCOUNT_CREATE, 8, params, 201);
}
