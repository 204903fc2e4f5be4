/*
 * enrollments.c: registering, reading, cancelling (with the refund through
 * the processor), deciding applications, choosing workshops, discount
 * codes. Every transition is one SQL function (schema/0004); the handler
 * validates, calls it, and passes its JSON through.
 */
#include "registrar/api.h"

#include "registrar/batch.h"
#include "registrar/log.h"
#include "registrar/metrics.h"
#include "registrar/payments.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_ENROLL = { "enroll_batch",
    "select n, code, slug, detail, body from registrar.enroll_batch($1::uuid[], $2::uuid, $3::text[])",
    0 };
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

static const char HELP_BATCHES[] = "Calls of registrar.enroll_batch (one transaction each).";
static const char HELP_BATCHED[] = "Registrations decided in those calls.";

/* Registrations for one offering decided together at most (group commit). */
#define ENROLLMENTS_BATCH_MAX 64

/* Longest workshop choice accepted in one request. */
#define ENROLLMENTS_MAX_SESSIONS 50

void enrollments_register(void)
{
    static const struct db_stmt *const all[] = { &SQL_ENROLL, &SQL_QUOTE, &SQL_GET, &SQL_MINE,
        &SQL_CANCEL, &SQL_REFUND_FINISH, &SQL_DECIDE, &SQL_SESSIONS_SET, &SQL_DISCOUNT_CREATE };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(all); i++)
        db_stmts_register(all[i], 1);
}

/*
 * The bodies. A code given to price or register may be 1..40 characters,
 * so that codes made before the 6-character minimum still price; a new
 * code is 6..40 (short ones are guessed). Reasons and notes can reach a
 * message: multi-line text.
 */
const struct api_field enrollments_create_fields[] = {
    { "discount_code", API_T_STRING, API_NULLABLE | API_CODE, 1, 40, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field enrollments_cancel_fields[] = {
    { "reason", API_T_STRING, API_NULLABLE | API_MULTILINE, 0, 2000, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field enrollments_decide_fields[] = {
    { "note", API_T_STRING, API_NULLABLE | API_MULTILINE, 0, 2000, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field enrollments_sessions_fields[] = {
    { "session_ids", API_T_UUIDS, API_REQUIRED, 0, ENROLLMENTS_MAX_SESSIONS, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field enrollments_discount_fields[] = {
    { "code", API_T_STRING, API_REQUIRED | API_CODE, 6, 40, NULL, NULL, 0, 0 },
    { "percent_off", API_T_INT, API_ONE_OF | API_NULLABLE, 1, 100, NULL, NULL, 0, 0 },
    { "amount_off_cents", API_T_INT, API_ONE_OF | API_NULLABLE, 1, 100000000, NULL, NULL, 0, 0 },
    { "max_uses", API_T_INT, 0, 1, 1000000, NULL, NULL, 0, 0 },
    { "expires_at", API_T_DATETIME, API_NULLABLE, 0, 0, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/*
 * One registration waiting in a batch (batch.h), the parked request's data
 * (http_req_set_data): its inputs, borrowed from the request, and its
 * outcome, owned here.
 */
struct enrollments_job {
    struct batch_item item;
    struct http_req *req;
    const char *offering, *user, *code;
    enum db_status status; /* of the batch's statement */
    int http;              /* the learner's own outcome when status is DB_OK */
    char *slug, *detail, *body;
};

static void enrollments_job_free(void *arg)
{
    struct enrollments_job *j = arg;

    free(j->slug);
    free(j->detail);
    free(j->body);
    free(j);
}

static char *enrollments_dup(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

/* Appends v to an array literal, quoted (NULL: the SQL null). */
static void enrollments_array_add(struct sbuf *b, const char *v)
{
    if (b->len > 1)
        sbuf_addc(b, ',');
    if (v == NULL) {
        sbuf_adds(b, "NULL");
        return;
    }
    sbuf_addc(b, '"');
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            sbuf_addc(b, '\\');
        sbuf_addc(b, *p);
    }
    sbuf_addc(b, '"');
}

/*
 * The batch's run function: every registration waiting for the offering in
 * one call of registrar.enroll_batch (schema/0015), one row per learner in
 * the order given. A failure of the statement itself is every learner's.
 */
static void enrollments_batch_decide(
    struct db_conn *c, const char *offering, struct batch_item *const *items, size_t n)
{
    struct sbuf users, codes;
    struct db_result *r = NULL;

    sbuf_init(&users);
    sbuf_init(&codes);
    sbuf_addc(&users, '{');
    sbuf_addc(&codes, '{');
    for (size_t i = 0; i < n; i++) {
        const struct enrollments_job *j = items[i]->arg;
        enrollments_array_add(&users, j->user);
        enrollments_array_add(&codes, j->code);
    }
    sbuf_addc(&users, '}');
    sbuf_addc(&codes, '}');
    const char *params[] = { users.buf, offering, codes.buf };
    enum db_status s = db_exec(c, &SQL_ENROLL, 3, params, &r);
    if (s == DB_OK && db_result_rows(r) != (int)n)
        s = DB_ERROR;
    for (size_t i = 0; i < n; i++) {
        struct enrollments_job *j = items[i]->arg;
        j->status = s;
        if (s == DB_OK) {
            const char *code = db_result_value(r, (int)i, 1);
            j->http = code != NULL ? atoi(code) : 500;
            j->slug = enrollments_dup(db_result_value(r, (int)i, 2));
            j->detail = enrollments_dup(db_result_value(r, (int)i, 3));
            j->body = enrollments_dup(db_result_value(r, (int)i, 4));
        } else if (s == DB_APP_ERROR) {
            j->http = db_last_app_code(c);
            j->slug = enrollments_dup(db_last_app_slug(c));
            j->detail = enrollments_dup(db_last_app_detail(c));
        }
    }
    metrics_count("registrar_enroll_batches_total", HELP_BATCHES, "", 1);
    metrics_count("registrar_enroll_batched_total", HELP_BATCHED, "", (long)n);
    db_result_free(r);
    sbuf_release(&users);
    sbuf_release(&codes);
}

/* The parked request's reply, once its batch is decided. */
static void enrollments_reply(struct http_req *req)
{
    struct enrollments_job *job = http_req_data(req);

    if (job->status == DB_APP_ERROR) {
        api_reply_app_problem(req, job->http, job->slug, job->detail);
    } else if (job->status != DB_OK) {
        api_reply_db_error(req, job->status);
    } else if (job->http == 201 && job->body != NULL) {
        http_reply_json_text(req, 201, job->body);
        job->body = NULL;
    } else if (job->http == 404) {
        api_reply_db_error(req, DB_NOT_FOUND);
    } else {
        api_reply_app_problem(req, job->http, job->slug, job->detail);
    }
}

static void enrollments_done(struct batch_item *item, struct db_conn *c)
{
    struct enrollments_job *job = item->arg;

    http_req_wake(job->req, c, enrollments_reply);
}

/*
 * Decided with every other registration for this offering waiting now, by
 * this worker or by the one already deciding the offering (a batch of one
 * when nothing else is waiting).
 */
static void enrollments_park(void *arg, struct db_conn *c)
{
    struct enrollments_job *job = arg;

    batch_run(c, job->offering, &job->item, ENROLLMENTS_BATCH_MAX, enrollments_batch_decide);
}

void enrollments_create(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *offering;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1 ||
        api_fields_check_or_reply(req, body, enrollments_create_fields, "", true) == -1)
        return;
    const char *code = api_body_string(body, "discount_code");
    /* A code tried here is a guess like one in a quote: the same buckets. */
    if (code != NULL && api_rate_limit_or_reply(req, "discount") == -1)
        return;
    /*
     * The request waits for its batch parked, holding no worker, so that
     * a batch can be as large as the registrations in flight.
     */
    struct enrollments_job *job = xcalloc(1, sizeof(*job));
    job->item.arg = job;
    job->item.done = enrollments_done;
    job->req = req;
    job->offering = offering;
    job->user = api_viewer(req);
    job->code = code;
    http_req_set_data(req, job, enrollments_job_free);
    http_req_park(req, enrollments_park, job);
}

void enrollments_quote(struct http_req *req)
{
    const char *offering, *code = http_req_query(req, "discount_code");
    json_t *args = NULL;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    /* The query's code obeys the registration body's rule, through the same table. */
    if (code != NULL && code[0] != '\0') {
        args = json_pack("{s:s}", "discount_code", code);
        if (args == NULL) {
            http_reply_invalid_field(req, "discount_code", "must be UTF-8 text");
            return;
        }
        if (api_fields_check_or_reply(req, args, enrollments_create_fields, "", true) == -1)
            goto out;
    }
    const char *tried = api_body_string(args, "discount_code");
    /* Counted per address and per learner before the code is looked at. */
    if (tried != NULL && api_rate_limit_or_reply(req, "discount") == -1)
        goto out;
    const char *params[] = { api_viewer(req), offering, tried };
    api_reply_sql(req, &SQL_QUOTE, 3, params, 200);
out:
    json_decref(args);
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

/* The refunds of one request, from the processor's pool to the settle pool. */
struct enrollments_refunds {
    json_t *refunds; /* [{payment_id, processor_ref, amount_cents}] */
    struct payments_result *results;
    int status;   /* the reply once they are done */
    json_t *body; /* NULL: an empty reply */
};

static void enrollments_refunds_free(void *p)
{
    struct enrollments_refunds *st = p;

    if (st == NULL)
        return;
    json_decref(st->refunds);
    json_decref(st->body);
    free(st->results);
    free(st);
}

/* On the settle pool: records what the processor did and replies. */
static void enrollments_refunds_record(struct http_req *req)
{
    struct enrollments_refunds *st = http_req_data(req);
    json_t *refund;
    size_t i;

    json_array_foreach(st->refunds, i, refund)
    {
        struct payments_result *r = &st->results[i];
        const char *payment_id = json_string_value(json_object_get(refund, "payment_id"));
        if (payment_id == NULL || r->outcome == PAYMENTS_UNAVAILABLE ||
            r->outcome == PAYMENTS_PENDING)
            continue; /* stays pending: the jobs thread asks again */
        bool ok = r->outcome == PAYMENTS_SUCCEEDED;
        const char *params[] = { payment_id, ok ? "true" : "false", ok ? r->processor_ref : NULL };
        enum db_status s = db_exec(http_req_db(req), &SQL_REFUND_FINISH, 3, params, NULL);
        if (s != DB_OK)
            log_msg(LOG_WARN, "refund made but not recorded; the jobs thread will settle it");
    }
    if (st->body != NULL)
        http_reply_json(req, st->status, json_incref(st->body));
    else
        http_reply_empty(req, st->status);
}

/* On the processor's pool: asks for each refund; no database here. */
static void enrollments_refunds_call(struct http_req *req)
{
    struct enrollments_refunds *st = http_req_data(req);
    const struct payments_processor *proc = payments_processor();
    json_t *refund;
    size_t i;

    json_array_foreach(st->refunds, i, refund)
    {
        struct payments_result *r = &st->results[i];
        const char *payment_id = json_string_value(json_object_get(refund, "payment_id"));
        long long amount = json_integer_value(json_object_get(refund, "amount_cents"));
        r->outcome = PAYMENTS_UNAVAILABLE;
        if (proc == NULL || payment_id == NULL || amount <= 0)
            continue;
        char *ref = xasprintf("%s:refund", payment_id);
        struct payments_refund rf = { json_string_value(json_object_get(refund, "processor_ref")),
            amount, ref };
        if (proc->refund(&rf, r) == -1)
            r->outcome = PAYMENTS_INVALID;
        free(ref);
        const char *label = r->outcome == PAYMENTS_SUCCEEDED     ? "status=\"refunded\""
                            : r->outcome == PAYMENTS_UNAVAILABLE ? "status=\"refund_unavailable\""
                                                                 : "status=\"refund_failed\"";
        metrics_count("registrar_payments_total", "Processor calls by outcome.", label, 1);
    }
    http_req_continue(req, HTTP_POOL_SETTLE, enrollments_refunds_record);
}

void enrollments_refunds_then_reply(struct http_req *req, json_t *refunds, int status, json_t *body)
{
    if (!json_is_array(refunds) || json_array_size(refunds) == 0) {
        if (body != NULL)
            http_reply_json(req, status, body);
        else
            http_reply_empty(req, status);
        return;
    }
    struct enrollments_refunds *st = xcalloc(1, sizeof(*st));
    st->refunds = json_incref(refunds);
    st->results = xcalloc(json_array_size(refunds), sizeof(*st->results));
    st->status = status;
    st->body = body;
    http_req_set_data(req, st, enrollments_refunds_free);
    http_req_continue(req, HTTP_POOL_PAY, enrollments_refunds_call);
}

void enrollments_cancel(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *id;
    char *text = NULL;
    json_t *result = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_check_or_reply(req, body, enrollments_cancel_fields, "", true) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id,
        api_body_string(body, "reason") };
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
    json_t *refunds = json_array();
    if (json_is_object(refund))
        json_array_append(refunds, refund);
    /* The cancellation is committed: its refund goes to the processor on the processor's pool. */
    enrollments_refunds_then_reply(
        req, refunds, 200, json_incref(json_object_get(result, "enrollment")));
    json_decref(refunds);
    json_decref(result);
}

static void enrollments_decide(struct http_req *req, bool approve)
{
    json_t *body = http_req_json(req);
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_check_or_reply(req, body, enrollments_decide_fields, "", true) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id, approve ? "true" : "false",
        api_body_string(body, "note") };
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
    json_t *body = http_req_json(req);
    const char *id;
    struct sbuf arr = SBUF_INIT;
    size_t i;
    json_t *v;

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_check_or_reply(req, body, enrollments_sessions_fields, "", true) == -1)
        return;
    /* Checked UUIDs only: the array literal cannot be broken out of. */
    sbuf_addc(&arr, '{');
    json_array_foreach(json_object_get(body, "session_ids"), i, v)
        sbuf_addf(&arr, "%s%s", i == 0 ? "" : ",", json_string_value(v));
    sbuf_addc(&arr, '}');
    const char *params[] = { api_viewer(req), id, arr.buf };
    api_reply_sql(req, &SQL_SESSIONS_SET, 3, params, 200);
    sbuf_release(&arr);
}

void enrollments_discount_create(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *offering;
    char percent[24], amount[24], max_uses[24];

    if (api_uuid_param_or_reply(req, "id", &offering) == -1 ||
        api_fields_check_or_reply(req, body, enrollments_discount_fields, "", true) == -1)
        return;
    const char *max = api_body_int_text(body, "max_uses", max_uses);
    const char *params[] = { api_viewer(req), api_admin_text(req), offering,
        api_body_string(body, "code"), api_body_int_text(body, "percent_off", percent),
        api_body_int_text(body, "amount_off_cents", amount), max != NULL ? max : "1000000",
        api_body_string(body, "expires_at") };
    api_reply_sql(req, &SQL_DISCOUNT_CREATE, 8, params, 201);
}
