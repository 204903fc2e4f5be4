/*
 * routes.c: the one route table. Who may call each route is stated here;
 * finer rights (a course's director, a learner's own objects) are checked
 * by the handler in the same SQL that reads the object.
 */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/util.h"

#include <stdio.h>
#include <string.h>

static struct api_settings api_the_settings = {
    .public_url = "http://127.0.0.1:8080",
    .signup_limit = "20",
    .reset_limit = "20",
    .discount_address_limit = "60",
    .discount_learner_limit = "20",
    .mail_rate = "60",
};

void api_configure(const char *public_url, unsigned signup_limit, unsigned reset_limit,
    unsigned discount_address_limit, unsigned discount_learner_limit)
{
    struct api_settings *s = &api_the_settings;

    snprintf(s->public_url, sizeof(s->public_url), "%s", public_url);
    snprintf(s->signup_limit, sizeof(s->signup_limit), "%u", signup_limit);
    snprintf(s->reset_limit, sizeof(s->reset_limit), "%u", reset_limit);
    snprintf(
        s->discount_address_limit, sizeof(s->discount_address_limit), "%u", discount_address_limit);
    snprintf(
        s->discount_learner_limit, sizeof(s->discount_learner_limit), "%u", discount_learner_limit);
}

void api_configure_mail_rate(unsigned per_minute)
{
    snprintf(api_the_settings.mail_rate, sizeof(api_the_settings.mail_rate), "%u", per_minute);
}

const struct api_settings *api_settings(void)
{
    return &api_the_settings;
}

/* One statement for both buckets of a discount code, so one round trip. */
static const struct db_stmt SQL_RATE_ADDRESS = { "rate_limit_address",
    "select registrar.rate_limit_take($1, registrar.address_key(nullif($2, '')::inet)::text,"
    " $3::integer, 3600)",
    0 };
static const struct db_stmt SQL_RATE_DISCOUNT = { "rate_limit_discount",
    "select registrar.rate_limit_take('discount-address',"
    " registrar.address_key(nullif($1, '')::inet)::text, $2::integer, 3600),"
    " registrar.rate_limit_take('discount-learner', $3, $4::integer, 3600)",
    0 };

static const struct db_stmt SQL_PUBLIC_URL_SET = { "settings_set_public_url",
    "select registrar.settings_set_public_url($1)", DB_RETRY_SAFE };

int api_settings_store(const char *database_url)
{
    struct db_conn *c = db_conn_new(database_url);
    const char *params[] = { api_the_settings.public_url };

    enum db_status s = db_exec(c, &SQL_PUBLIC_URL_SET, 1, params, NULL);
    db_conn_free(c);
    return s == DB_OK ? 0 : -1;
}

int api_rate_limit_or_reply(struct http_req *req, const char *kind)
{
    const struct api_settings *cfg = api_settings();
    const char *ip = http_req_client_ip(req);
    enum db_status s;

    if (strcmp(kind, "discount") == 0) {
        const char *params[] = { ip, cfg->discount_address_limit, api_viewer(req),
            cfg->discount_learner_limit };
        s = db_exec(http_req_db(req), &SQL_RATE_DISCOUNT, 4, params, NULL);
    } else {
        const char *limit = strcmp(kind, "signup") == 0 ? cfg->signup_limit : cfg->reset_limit;
        const char *params[] = { kind, ip, limit };
        s = db_exec(http_req_db(req), &SQL_RATE_ADDRESS, 3, params, NULL);
    }
    if (s == DB_OK)
        return 0;
    api_reply_db_error(req, s);
    return -1;
}

static const struct http_route api_table[] = {
    /* Operations */
    { "GET", "/healthz", ops_healthz, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_INLINE | HTTP_OPS, NULL },
    { "GET", "/readyz", ops_readyz, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_OPS, NULL },
    /* Not public: Bearer REGISTRAR_METRICS_TOKEN, or the admin address. */
    { "GET", "/metrics", ops_metrics, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_INLINE | HTTP_OPS | HTTP_PRIVATE, NULL },
    { "GET", "/api/v1/openapi.json", ops_openapi, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_INLINE | HTTP_ETAG, NULL },
    /* What the web client needs to know: the card processor and the centre. */
    { "GET", "/api/v1/config", payments_config_get, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_INLINE | HTTP_ETAG, NULL },

    /* Catalog */
    { "GET", "/api/v1/courses", courses_list, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE,
        "limit,cursor" },
    { "GET", "/api/v1/courses/{slug}", courses_get, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE,
        NULL },
    { "POST", "/api/v1/courses", admin_course_create, HTTP_ADMIN, HTTP_BODY_JSON, 0, NULL },
    /* Admins and the course's directors (checked in the SQL). */
    { "PATCH", "/api/v1/courses/{slug}", admin_course_update, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },
    { "PUT", "/api/v1/courses/{slug}/directors/{user_id}", accounts_director_grant, HTTP_ADMIN,
        HTTP_BODY_NONE, 0, NULL },
    { "DELETE", "/api/v1/courses/{slug}/directors/{user_id}", accounts_director_revoke, HTTP_ADMIN,
        HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/offerings", offerings_list, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE,
        "course,status,year,limit,cursor" },
    { "GET", "/api/v1/offerings/{id}", offerings_get, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_PUBLIC_CACHE, NULL },
    { "POST", "/api/v1/courses/{slug}/offerings", offerings_create, HTTP_SIGNED_IN, HTTP_BODY_JSON,
        0, NULL },
    { "PATCH", "/api/v1/offerings/{id}", offerings_update, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },

    /* Schedule (directorship is checked in the SQL) */
    { "GET", "/api/v1/offerings/{id}/sessions", schedule_list, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_PUBLIC_CACHE, "limit,cursor" },
    { "POST", "/api/v1/offerings/{id}/sessions", schedule_create, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },
    { "PATCH", "/api/v1/sessions/{id}", schedule_update, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0, NULL },
    { "DELETE", "/api/v1/sessions/{id}", schedule_delete, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/offerings/{id}/schedule.ics", schedule_offering_ics, HTTP_ANYONE,
        HTTP_BODY_NONE, HTTP_PUBLIC_CACHE, NULL },
    { "GET", "/api/v1/calendar/{feed_token}.ics", schedule_feed_ics, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_ETAG, NULL },
    { "POST", "/api/v1/me/calendar-token", schedule_calendar_token, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },

    /* Enrollment and payment (ownership and directorship are checked in the SQL) */
    { "POST", "/api/v1/offerings/{id}/enrollments", enrollments_create, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "GET", "/api/v1/offerings/{id}/price", enrollments_quote, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "discount_code" },
    { "GET", "/api/v1/me/enrollments", enrollments_mine, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "limit,cursor" },
    { "GET", "/api/v1/enrollments/{id}", enrollments_get, HTTP_SIGNED_IN, HTTP_BODY_NONE, HTTP_ETAG,
        NULL },
    { "POST", "/api/v1/enrollments/{id}/payments", payments_create, HTTP_SIGNED_IN, HTTP_BODY_JSON,
        0, NULL },
    { "POST", "/api/v1/enrollments/{id}/cancel", enrollments_cancel, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/approve", enrollments_approve, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/reject", enrollments_reject, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "PUT", "/api/v1/enrollments/{id}/sessions", enrollments_sessions_set, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/offerings/{id}/discount-codes", enrollments_discount_create, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    /* Receipts, invoices, offline payment, refunds (rights checked in the SQL) */
    { "GET", "/api/v1/payments/{id}/receipt", billing_receipt_get, HTTP_SIGNED_IN, HTTP_BODY_NONE,
        0, NULL },
    { "POST", "/api/v1/payments/{id}/refunds", billing_refund_create, HTTP_ADMIN, HTTP_BODY_JSON, 0,
        NULL },
    { "POST", "/api/v1/enrollments/{id}/payments/offline", billing_offline_create, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/invoice", billing_invoice_create, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/group-registrations/{id}/payments/offline", billing_group_offline_create,
        HTTP_SIGNED_IN, HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/group-registrations/{id}/invoice", billing_group_invoice_create,
        HTTP_SIGNED_IN, HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/invoices/{id}", billing_invoice_get, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        NULL },
    { "POST", "/api/v1/payments/webhook", payments_webhook_receive, HTTP_ANYONE, HTTP_BODY_RAW, 0,
        NULL },

    /* Running the centre (staff rights are checked in the SQL) */
    { "GET", "/api/v1/users", admin_users_list, HTTP_ADMIN, HTTP_BODY_NONE, 0, "q,limit,cursor" },
    { "GET", "/api/v1/users/{id}", admin_user_get, HTTP_ADMIN, HTTP_BODY_NONE, 0, NULL },
    { "PUT", "/api/v1/users/{id}/admin", admin_user_admin_grant, HTTP_ADMIN, HTTP_BODY_NONE, 0,
        NULL },
    { "DELETE", "/api/v1/users/{id}/admin", admin_user_admin_revoke, HTTP_ADMIN, HTTP_BODY_NONE, 0,
        NULL },
    { "POST", "/api/v1/offerings/{id}/enrollments/for", staff_enroll_for, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/offerings/{id}/group-registrations", staff_group_create, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/offerings/{id}/messages", staff_messages_send, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/transfer", staff_transfer, HTTP_SIGNED_IN, HTTP_BODY_JSON,
        0, NULL },
    { "DELETE", "/api/v1/enrollments/{id}/waitlist", staff_waitlist_remove, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/promote", staff_promote, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },
    { "GET", "/api/v1/offerings/{id}/messages", staff_messages_list, HTTP_SIGNED_IN, HTTP_BODY_NONE,
        0, "limit,cursor" },

    /* Rosters */
    { "GET", "/api/v1/offerings/{id}/roster", rosters_get, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "status,format,q,sort,limit,cursor" },
    { "GET", "/api/v1/offerings/{id}/waitlist", rosters_waitlist, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "limit,cursor" },

    /* Attendance, check-in, badges (directorship and ownership are checked in the SQL) */
    { "PUT", "/api/v1/sessions/{id}/attendance/{enrollment_id}", attendance_mark, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "DELETE", "/api/v1/sessions/{id}/attendance/{enrollment_id}", attendance_unmark,
        HTTP_SIGNED_IN, HTTP_BODY_NONE, 0, NULL },
    { "PUT", "/api/v1/sessions/{id}/attendance", attendance_set_many, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/sessions/{id}/attendance", attendance_list, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        NULL },
    { "POST", "/api/v1/sessions/{id}/check-ins", attendance_check_in, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/sessions/{id}/check-in-code", attendance_code, HTTP_SIGNED_IN, HTTP_BODY_NONE,
        0, NULL },
    { "POST", "/api/v1/enrollments/{id}/check-ins", attendance_self_check_in, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/enrollments/{id}/badge", attendance_badge, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        NULL },
    { "GET", "/api/v1/offerings/{id}/badges", attendance_badge_sheet, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/audit", attendance_audit, HTTP_ADMIN, HTTP_BODY_NONE, 0,
        "offering_id,actor_id,action,since,limit,cursor" },

    /* Evaluations, credits and certificates (rights checked in the SQL) */
    { "GET", "/api/v1/offerings/{id}/evaluation-form", credits_form_get, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "PUT", "/api/v1/offerings/{id}/evaluation-form", credits_form_put, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/evaluation", credits_evaluation_submit, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/offerings/{id}/evaluations", credits_evaluations_get, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, "format" },
    { "GET", "/api/v1/enrollments/{id}/certificate", credits_certificate_get, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/certificates/{code}", credits_certificate_verify, HTTP_ANYONE, HTTP_BODY_NONE,
        0, NULL },
    { "GET", "/api/v1/offerings/{id}/certificates", credits_offering_certificates, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/me/transcript", credits_transcript, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/offerings/{id}/completion", credits_completion, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/offerings/{id}/accme-report", credits_accme_report, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, "format" },

    /* Accounts and sign-in sessions */
    { "POST", "/api/v1/accounts", accounts_create, HTTP_ANYONE, HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/auth/sessions", signin_create, HTTP_ANYONE, HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/auth/sessions/current", accounts_session_current, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "DELETE", "/api/v1/auth/sessions/current", signin_delete_current, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "POST", "/api/v1/auth/password-resets", signin_reset_request, HTTP_ANYONE, HTTP_BODY_JSON, 0,
        NULL },
    { "POST", "/api/v1/auth/password-resets/confirm", signin_reset_confirm, HTTP_ANYONE,
        HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/me", accounts_me_get, HTTP_SIGNED_IN, HTTP_BODY_NONE, HTTP_ETAG, NULL },
    { "PATCH", "/api/v1/me", accounts_me_update, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/me/password", signin_password_change, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },
    { "POST", "/api/v1/me/email-verification", accounts_verification_send, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "POST", "/api/v1/auth/email-verifications/confirm", accounts_verification_confirm,
        HTTP_ANYONE, HTTP_BODY_JSON, 0, NULL },

    /* Privacy */
    { "GET", "/api/v1/me/export", privacy_export, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0, NULL },
    { "DELETE", "/api/v1/me", privacy_erase, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0, NULL },
};

/* Every body a handler takes, with the table that checks it. */
static const struct api_body_table api_bodies[] = {
    { "POST /api/v1/accounts", accounts_signup_fields, true },
    { "PATCH /api/v1/me", accounts_me_fields, false },
    { "POST /api/v1/auth/sessions", signin_fields, true },
    { "POST /api/v1/me/password", signin_password_fields, true },
    { "POST /api/v1/auth/password-resets", signin_reset_request_fields, true },
    { "POST /api/v1/auth/password-resets/confirm", signin_reset_confirm_fields, true },
    { "POST /api/v1/offerings/{id}/enrollments", enrollments_create_fields, true },
    { "POST /api/v1/enrollments/{id}/cancel", enrollments_cancel_fields, true },
    { "POST /api/v1/enrollments/{id}/approve", enrollments_decide_fields, true },
    { "POST /api/v1/enrollments/{id}/reject", enrollments_decide_fields, true },
    { "PUT /api/v1/enrollments/{id}/sessions", enrollments_sessions_fields, true },
    { "POST /api/v1/offerings/{id}/discount-codes", enrollments_discount_fields, true },
    { "POST /api/v1/enrollments/{id}/payments", payments_create_fields, true },
    { "POST /api/v1/enrollments/{id}/payments/offline", billing_offline_fields, true },
    { "POST /api/v1/enrollments/{id}/invoice", billing_invoice_fields, true },
    { "POST /api/v1/group-registrations/{id}/payments/offline", billing_offline_fields, true },
    { "POST /api/v1/group-registrations/{id}/invoice", billing_group_invoice_fields, true },
    { "POST /api/v1/payments/{id}/refunds", billing_refund_fields, true },
    { "POST /api/v1/courses/{slug}/offerings", offerings_fields, true },
    { "PATCH /api/v1/offerings/{id}", offerings_fields, false },
    { "POST /api/v1/offerings/{id}/sessions", schedule_fields, true },
    { "PATCH /api/v1/sessions/{id}", schedule_fields, false },
    { "POST /api/v1/me/calendar-token", schedule_token_fields, true },
    { "POST /api/v1/me/email-verification", accounts_verification_send_fields, true },
    { "POST /api/v1/auth/email-verifications/confirm", accounts_verification_confirm_fields, true },
    { "DELETE /api/v1/me", privacy_erase_fields, true },
    { "PUT /api/v1/sessions/{id}/attendance", attendance_many_fields, true },
    { "POST /api/v1/sessions/{id}/check-ins", attendance_check_in_fields, true },
    { "POST /api/v1/enrollments/{id}/check-ins", attendance_self_check_in_fields, true },
    { "PUT /api/v1/offerings/{id}/evaluation-form", credits_form_fields, true },
    { "POST /api/v1/enrollments/{id}/evaluation", credits_evaluation_fields, true },
    { "POST /api/v1/courses", admin_course_create_fields, true },
    { "PATCH /api/v1/courses/{slug}", admin_course_update_fields, false },
    { "POST /api/v1/offerings/{id}/enrollments/for", staff_enroll_for_fields, true },
    { "POST /api/v1/offerings/{id}/group-registrations", staff_group_fields, true },
    { "POST /api/v1/offerings/{id}/messages", staff_message_fields, true },
    { "POST /api/v1/enrollments/{id}/promote", staff_promote_fields, true },
    { "POST /api/v1/enrollments/{id}/transfer", staff_transfer_fields, true },
};

const struct api_body_table *api_body_tables(size_t *n)
{
    *n = UTIL_ARRAY_LEN(api_bodies);
    return api_bodies;
}

const struct http_route *api_routes(size_t *n)
{
    *n = UTIL_ARRAY_LEN(api_table);
    return api_table;
}

void api_register_statements(void)
{
    size_t n;
    const struct db_stmt *s = db_migrate_statements(&n);

    db_stmts_register(s, n);
    db_stmts_register(&SQL_RATE_ADDRESS, 1);
    db_stmts_register(&SQL_RATE_DISCOUNT, 1);
    db_stmts_register(&SQL_PUBLIC_URL_SET, 1);
    courses_register();
    auth_register_statements();
    accounts_register();
    signin_register();
    offerings_register();
    schedule_register();
    enrollments_register();
    payments_register();
    billing_register();
    rosters_register();
    privacy_register();
    attendance_register();
    credits_register();
    admin_register();
    staff_register();
}
