/*
 * api.h: the handlers (one file per resource in server/api/) and the
 * helpers they share for validating input and mapping database outcomes
 * to problems.
 *
 * Layering: the top layer. Uses http, db, auth, payments, render. A
 * handler validates input, makes one database call (a SQL function where
 * the work races), and renders the result.
 *
 * The `_or_reply` helpers return 0 when the value is good, or -1 after
 * queueing a 4xx problem, so the handler just returns.
 */
#ifndef REGISTRAR_API_H
#define REGISTRAR_API_H

#include "registrar/db.h"
#include "registrar/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The whole route table and its length (routes.c). */
const struct http_route *api_routes(size_t *n);
/* Registers every module's prepared statements (call before the pool starts). */
void api_register_statements(void);

/*
 * Settings the handlers need (routes.c), as text ready to be SQL
 * parameters. api_configure() is called once by main before the server
 * starts; until then the defaults of config.c hold.
 */
struct api_settings {
    char public_url[256];            /* base of links in messages, no trailing '/' */
    char signup_limit[16];           /* sign-ups per client address and hour */
    char reset_limit[16];            /* password-reset requests per client address and hour */
    char discount_address_limit[16]; /* discount codes tried per client address and hour */
    char discount_learner_limit[16]; /* discount codes tried per learner and hour */
    char mail_rate[16];              /* roster messages sent per minute, all processes */
};
void api_configure(const char *public_url, unsigned signup_limit, unsigned reset_limit,
    unsigned discount_address_limit, unsigned discount_learner_limit);
const struct api_settings *api_settings(void);
/* Sets mail_rate (REGISTRAR_MAIL_RATE); call with api_configure(). */
void api_configure_mail_rate(unsigned per_minute);
/*
 * Stores the public URL in the database (registrar.settings), for the links
 * of messages that no request decides (waitlist promotions by the sweep).
 * Opens a connection of its own; call after api_register_statements().
 * 0, or -1 when the database could not take it (not reachable, not
 * migrated): those messages then link to the last stored or default URL.
 */
int api_settings_store(const char *database_url);

/*
 * Counts one event against a per-hour limit (registrar.rate_limit_take):
 * kind "signup" or "password-reset" by the client's address, "discount" by
 * both the address and the learner. The count is committed before the
 * caller goes on, so a request that fails later still counted. 0, or -1
 * after queueing the problem (429 rate-limited with Retry-After, or 503).
 */
int api_rate_limit_or_reply(struct http_req *req, const char *kind);

/* ---- shared helpers (validate.c) ---- */

/*
 * The one mapping of db_status to HTTP: 404 not-found, 409, 400
 * invalid-request, the status and slug our SQL raised (RGnnn, with its
 * JSON detail's members merged in), 503 database-unavailable, 500
 * internal. Call only with a failure status.
 */
void api_reply_db_error(struct http_req *req, enum db_status s);
/*
 * The DB_APP_ERROR answer of api_reply_db_error from its parts (code 4xx,
 * problem slug, DETAIL JSON text or NULL; all borrowed), for outcomes a
 * SQL function returned rather than raised. Anything else is a 500.
 */
void api_reply_app_problem(struct http_req *req, int code, const char *slug, const char *detail);

/*
 * Runs a statement that returns one JSON value and replies with it
 * (status on success, the mapped problem otherwise; null → 404).
 */
void api_reply_sql(struct http_req *req, const struct db_stmt *stmt, int nparams,
    const char *const *params, int status);

/* A list request's `limit` and `cursor`, as text parameters for SQL. */
struct api_page {
    const char *cursor; /* NULL on the first page */
    char limit[16];
};
int api_page_or_reply(struct http_req *req, struct api_page *page);
/* api_reply_sql for list functions: a cursor the SQL cannot decode is a 400 naming it. */
void api_reply_sql_page(
    struct http_req *req, const struct db_stmt *stmt, int nparams, const char *const *params);

/* `limit` from the query: 1..200, default 50. */
int api_limit_or_reply(struct http_req *req, int *limit);
/* The same rule on the text v (NULL: absent, *limit = 50): 0, or -1 when v is not one. */
int api_limit_parse(const char *v, int *limit);
/* `cursor` from the query: NULL if absent; opaque text of at most 512 [0-9a-f]. */
int api_cursor_or_reply(struct http_req *req, const char **cursor);
/* Whether v (not empty) is shaped like a cursor: even-length hex, at most 512. */
bool api_cursor_valid(const char *v);

/* A canonical UUID (8-4-4-4-12 hex). */
bool api_uuid_valid(const char *s);
/* The path parameter name as a UUID, or 404 not-found. */
int api_uuid_param_or_reply(struct http_req *req, const char *name, const char **out);

/* The principal's user id, or NULL when anonymous. */
const char *api_viewer(struct http_req *req);
/* "true" or "false": whether the principal is an admin, as a SQL parameter. */
const char *api_admin_text(struct http_req *req);

/*
 * A message with a single-use link (password reset, email verification):
 * makes a fresh token and its keyed digest, runs stmt with (who, token,
 * digest, the public URL) — the SQL stores the digest and writes the
 * message — and replies 202 whatever the SQL decided to send, so the answer
 * tells nothing. The token is wiped on every path.
 */
void api_reply_link_sent(struct http_req *req, const struct db_stmt *stmt, const char *who);

/* ---- field tables (fields.c): the one way request bodies are checked ---- */

enum api_type {
    API_T_STRING,   /* min..max code points */
    API_T_ENUM,     /* a string among choices (min/max unused) */
    API_T_DATE,     /* "YYYY-MM-DD" (timefmt.h); min/max unused */
    API_T_DATETIME, /* RFC 3339 with an offset (timefmt.h); min/max unused */
    API_T_INT,      /* integer in min..max */
    API_T_NUMBER,   /* number in min..max with at most two decimals */
    API_T_BOOL,
    API_T_STRINGS, /* array of min..max strings of item_min..item_max code points */
    API_T_OBJECTS, /* array of min..max objects, each checked against items */
    API_T_EMAIL,   /* min..max code points shaped like an address (trimmed; no spaces, controls) */
    API_T_UUID,    /* a canonical UUID (8-4-4-4-12 hex) */
    API_T_UUIDS,   /* array of min..max canonical UUIDs */
    /*
     * An object of min..max members keyed by API_CODE names of 1..64
     * characters, each value null, a number, or a string of
     * item_min..item_max code points obeying the flags' character rules
     * (an evaluation's answers by question id).
     */
    API_T_MAP,
    API_T_OBJECT /* one object, checked against items as created (its members; min/max unused) */
};

#define API_REQUIRED 1u /* must be present when creating (a PATCH never requires) */
#define API_NULLABLE 2u /* JSON null is a value (it clears the field, or means "none") */
#define API_NO_TRIM 4u  /* strings are kept as sent (else surrounding white space goes) */
/*
 * Text that can reach a message or a document: no C0 or C1 control, no
 * DEL, no bidirectional embedding, override or isolate (U+202A..U+202E,
 * U+2066..U+2069) and no line or paragraph separator (U+2028, U+2029).
 * The marks U+200E and U+200F are allowed: they change no text's order
 * beyond its own and right-to-left names need them.
 */
#define API_TEXT 8u
/* As API_TEXT, but tab and line feed are allowed (notes, descriptions). */
#define API_MULTILINE 16u
/* Only ASCII letters, digits, '-' and '_' (discount codes). */
#define API_CODE 32u
/*
 * Exactly one member of the table carrying this flag must be present (not
 * null) when creating, and never two at once (percent_off or
 * amount_off_cents).
 */
#define API_ONE_OF 64u

/* One member of a request body; tables end with a member whose name is NULL. */
struct api_field {
    const char *name;
    enum api_type type;
    unsigned flags;
    long long min, max;
    const char *const *choices;    /* API_T_ENUM: NULL-terminated */
    const struct api_field *items; /* API_T_OBJECTS: each element's members */
    long long item_min, item_max;  /* API_T_STRINGS: each element's length */
};

/* The first bad member found by api_fields_check: both strings owned. */
struct api_field_error {
    char *field;   /* its path, as "parts[1].starts_on" */
    char *message; /* what is wrong, as "must be a date as YYYY-MM-DD" */
};

/*
 * Checks obj against the table: no member outside it, each present member
 * of its type and range, the API_REQUIRED ones present when creating
 * (elements of arrays of objects are always checked as created). Strings
 * are trimmed in place unless API_NO_TRIM. obj NULL (no body) is checked
 * as an empty object. prefix ("" or NULL at the top) is put before field
 * names ("parts[1]."). Returns 0, or -1 with *err filled (release it with
 * api_field_error_release). Pure: no I/O, no request.
 */
int api_fields_check(json_t *obj, const struct api_field *fields, const char *prefix, bool creating,
    struct api_field_error *err);
void api_field_error_release(struct api_field_error *err);

/* api_fields_check, then 400 invalid-request naming the field on failure: 0 or -1. */
int api_fields_check_or_reply(struct http_req *req, json_t *obj, const struct api_field *fields,
    const char *prefix, bool creating);

/*
 * NULL if the UTF-8 text s obeys the flags' character rules (API_TEXT,
 * API_MULTILINE, API_CODE), else a message saying why not.
 */
const char *api_text_problem(const char *s, unsigned flags);

/*
 * Getters for a body that a field table has checked (validate.c): they
 * only read. Absent and null members read as NULL / false.
 */
const char *api_body_string(json_t *body, const char *name);
/* The integer member as decimal text in buf (24 bytes), or NULL when absent. */
const char *api_body_int_text(json_t *body, const char *name, char buf[24]);
/* true when the member is present and not null. */
bool api_body_has(json_t *body, const char *name);

/*
 * The handlers' field tables, read-only, for the fuzz harness and the
 * unit tests: n entries of {route, table, creating} (routes.c).
 */
struct api_body_table {
    const char *name; /* "POST /api/v1/accounts" */
    const struct api_field *fields;
    bool creating;
};
const struct api_body_table *api_body_tables(size_t *n);

/* Each handler's body table (defined beside the handler). */
extern const struct api_field accounts_signup_fields[], accounts_me_fields[],
    accounts_verification_send_fields[], accounts_verification_confirm_fields[];
extern const struct api_field privacy_erase_fields[];
extern const struct api_field signin_fields[], signin_password_fields[],
    signin_reset_request_fields[], signin_reset_confirm_fields[];
extern const struct api_field enrollments_create_fields[], enrollments_cancel_fields[],
    enrollments_decide_fields[], enrollments_sessions_fields[], enrollments_discount_fields[];
extern const struct api_field payments_create_fields[];
extern const struct api_field billing_offline_fields[], billing_invoice_fields[],
    billing_refund_fields[], billing_group_invoice_fields[];
extern const struct api_field offerings_fields[];
extern const struct api_field schedule_fields[], schedule_token_fields[];
extern const struct api_field attendance_many_fields[], attendance_check_in_fields[],
    attendance_self_check_in_fields[];
extern const struct api_field credits_form_fields[], credits_evaluation_fields[];
extern const struct api_field admin_course_create_fields[], admin_course_update_fields[];
extern const struct api_field staff_enroll_for_fields[], staff_group_fields[],
    staff_message_fields[], staff_promote_fields[], staff_transfer_fields[];

/* ---- handlers ---- */

/* ops.c */
void ops_healthz(struct http_req *req);
void ops_readyz(struct http_req *req);
void ops_metrics(struct http_req *req);
void ops_openapi(struct http_req *req);
/* Loads openapi.json from the web root's sibling or the given path at start. */
int ops_openapi_load(const char *path);

/*
 * Each module's statements, registered by api_register_statements():
 * one <module>_register() per file that has SQL.
 */
void courses_register(void);
void accounts_register(void);
void signin_register(void);

void offerings_register(void);
void schedule_register(void);
void enrollments_register(void);
void payments_register(void);
void billing_register(void);
void rosters_register(void);

/* offerings.c */
void offerings_list(struct http_req *req);
void offerings_get(struct http_req *req);
void offerings_create(struct http_req *req);
void offerings_update(struct http_req *req);

/* schedule.c: sessions of an offering and calendars */
void schedule_list(struct http_req *req);
void schedule_create(struct http_req *req);
void schedule_update(struct http_req *req);
void schedule_delete(struct http_req *req);
void schedule_offering_ics(struct http_req *req);
void schedule_feed_ics(struct http_req *req);
void schedule_calendar_token(struct http_req *req);

/* enrollments.c: registering, cancelling, applications, workshop choice, discount codes */
void enrollments_create(struct http_req *req);
void enrollments_quote(struct http_req *req);
void enrollments_mine(struct http_req *req);
void enrollments_get(struct http_req *req);
void enrollments_cancel(struct http_req *req);
void enrollments_approve(struct http_req *req);
void enrollments_reject(struct http_req *req);
void enrollments_sessions_set(struct http_req *req);
void enrollments_discount_create(struct http_req *req);
/*
 * Asks the processor for the refunds that a committed cancellation or
 * erasure decided (refunds: [{payment_id, processor_ref, amount_cents}],
 * borrowed), on the processor's pool, records the outcomes on the settle
 * pool, then replies status with body (owned; NULL: an empty reply). A
 * refund the processor could not make stays pending for the jobs thread.
 * Called from a handler step instead of replying.
 */
void enrollments_refunds_then_reply(
    struct http_req *req, json_t *refunds, int status, json_t *body);

/* payments.c: paying a hold by processor token (Idempotency-Key required), the processor's webhook */
void payments_create(struct http_req *req);
/*
 * GET /api/v1/config: {payment_processor (null: none), stripe_publishable_key
 * (with Stripe), centre: {name, address, tax_id}}. Inline: no database.
 */
void payments_config_get(struct http_req *req);
/* What payments_config_get tells; strings copied. Call once at start-up. */
void payments_api_configure(const char *stripe_publishable_key, const char *centre_name,
    const char *centre_address, const char *centre_tax_id);
void payments_webhook_receive(struct http_req *req);

/*
 * billing.c: receipts and invoices (application/pdf, for the learner, a
 * director of the course, an admin; anyone else 404), offline payment and
 * invoices (admin, the course's director), refunds without cancelling
 * (admin). The centre's name, address and tax id head every document:
 * billing_configure copies them once at start-up, before any request.
 */
void billing_configure(const char *name, const char *address, const char *tax_id);
void billing_receipt_get(struct http_req *req);
void billing_invoice_get(struct http_req *req);
void billing_offline_create(struct http_req *req);
void billing_invoice_create(struct http_req *req);
/* A group's offline payment (its total) and invoice: admin or a director of the course. */
void billing_group_offline_create(struct http_req *req);
void billing_group_invoice_create(struct http_req *req);
void billing_refund_create(struct http_req *req);

/* rosters.c: an offering's roster (JSON or CSV) and waitlist, audited */
void rosters_get(struct http_req *req);
void rosters_waitlist(struct http_req *req);

/*
 * credits.c: evaluations, credit claims, certificates, transcripts, the
 * completion view and the ACCME report (issue 10). credits_configure() is
 * called once by main before the server starts: the certificates' paper
 * (A4 unless letter) and the public checks per client address and hour.
 */
void credits_register(void);
void credits_configure(bool letter, unsigned verify_limit);
/* GET, PUT /api/v1/offerings/{id}/evaluation-form */
void credits_form_get(struct http_req *req);
void credits_form_put(struct http_req *req);
/* POST /api/v1/enrollments/{id}/evaluation: 201 {enrollment_id, claimed_hours, credits, ...} */
void credits_evaluation_submit(struct http_req *req);
/* GET /api/v1/offerings/{id}/evaluations (?format=csv) */
void credits_evaluations_get(struct http_req *req);
/* GET /api/v1/enrollments/{id}/certificate: application/pdf; the first call issues it. */
void credits_certificate_get(struct http_req *req);
/* GET /api/v1/certificates/{code}: the public check, rate-limited per address. */
void credits_certificate_verify(struct http_req *req);
/* GET /api/v1/offerings/{id}/certificates: one PDF, a certificate per page. */
void credits_offering_certificates(struct http_req *req);
/* GET /api/v1/me/transcript (Accept: application/pdf for the printable one) */
void credits_transcript(struct http_req *req);
/* GET /api/v1/offerings/{id}/completion: attended hours, evaluations, certificates */
void credits_completion(struct http_req *req);
/* GET /api/v1/offerings/{id}/accme-report (?format=csv) */
void credits_accme_report(struct http_req *req);

/* courses.c */
void courses_list(struct http_req *req);
void courses_get(struct http_req *req);

/*
 * admin.c: courses written (POST admin; PATCH admin or the course's
 * director, checked in SQL), people found and read (admin), the admin role
 * given and taken (never from the last admin). Every change is audited in
 * the same SQL function that makes it.
 */
void admin_register(void);
void admin_course_create(struct http_req *req);
void admin_course_update(struct http_req *req);
void admin_users_list(struct http_req *req);
void admin_user_get(struct http_req *req);
void admin_user_admin_grant(struct http_req *req);
void admin_user_admin_revoke(struct http_req *req);

/*
 * staff.c: registrations made for others: by staff (an admin or the
 * course's director, checked in SQL) for one person, by a signed-in
 * coordinator for a group (all seats or none). Accounts are made for
 * people who have none, with a set-password link sent through the outbox.
 */
void staff_register(void);
void staff_enroll_for(struct http_req *req);
void staff_group_create(struct http_req *req);
/* Messages to a roster: queued at once, sent at the mail rate (202); and what was sent. */
void staff_messages_send(struct http_req *req);
void staff_messages_list(struct http_req *req);
/* Waitlist control (admin, the course's director): off the list (204); a seat out of order. */
void staff_waitlist_remove(struct http_req *req);
void staff_promote(struct http_req *req);
/* A registration moved to a colleague or to another offering of the course. */
void staff_transfer(struct http_req *req);

/* accounts.c */
void accounts_create(struct http_req *req);
void accounts_me_get(struct http_req *req);
/* GET /api/v1/auth/sessions/current: {user, csrf_token} (the token for cookie sessions). */
void accounts_session_current(struct http_req *req);
void accounts_me_update(struct http_req *req);
void accounts_director_grant(struct http_req *req);
void accounts_director_revoke(struct http_req *req);

/* signin.c: sign in and out, change and reset of passwords */
void signin_create(struct http_req *req);
void signin_delete_current(struct http_req *req);
void signin_password_change(struct http_req *req);
void signin_reset_request(struct http_req *req);
void signin_reset_confirm(struct http_req *req);
/*
 * Checks the signed-in principal's password, sent as the body member field
 * (a string the caller has validated; field must outlive the request), the
 * way POST /me/password checks the current one: the sign-in failure counter
 * first (429 rate-limited), then Argon2id on the hashing pool. A wrong
 * password is a 400 naming field and counts as a failure; a hash that
 * cannot be computed is a 503. On a match, next runs on a database worker,
 * where signin_confirmed_attempt() names the attempt row (next's SQL must
 * delete it: it was no failure) and signin_confirmed_hash() the hash that
 * matched (for next's SQL to check that it is still in place). The
 * request's data slot (http_req_set_data) is taken.
 */
void signin_password_confirm(struct http_req *req, const char *field, http_handler *next);
const char *signin_confirmed_attempt(const struct http_req *req);
const char *signin_confirmed_hash(const struct http_req *req);
/* After a match, when next could not go on (its SQL refused): the attempt counts for nothing. */
void signin_confirm_release(struct http_req *req);
/* Clears the session cookie in the reply. */
void signin_cookie_clear(struct http_req *req);

/* privacy.c: a learner's export of their data and erasure of their account */
void privacy_register(void);
/* GET /api/v1/me/export: one JSON document, as an attachment, audited. */
void privacy_export(struct http_req *req);
/* DELETE /api/v1/me {password}: live registrations cancelled, personal data overwritten; 204. */
void privacy_erase(struct http_req *req);

/* accounts.c: email verification */
/* POST /api/v1/me/email-verification: 202, a new one-day link through the outbox. */
void accounts_verification_send(struct http_req *req);
/* POST /api/v1/auth/email-verifications/confirm {token}: 204, or 400 invalid-token. */
void accounts_verification_confirm(struct http_req *req);

/*
 * attendance.c: attendance, check-in at the door and by room code, badges,
 * the audit log (schema/0012). Each handler answers what its SQL decides.
 */
void attendance_register(void);
/* PUT, DELETE /api/v1/sessions/{id}/attendance/{enrollment_id}: 204. */
void attendance_mark(struct http_req *req);
void attendance_unmark(struct http_req *req);
/* PUT /api/v1/sessions/{id}/attendance {enrollment_ids, present}: 200 {changed}. */
void attendance_set_many(struct http_req *req);
/* GET /api/v1/sessions/{id}/attendance: 200 {items}. */
void attendance_list(struct http_req *req);
/* POST /api/v1/sessions/{id}/check-ins {badge_code, nonce?}: 200 {enrollment_id, learner, already}. */
void attendance_check_in(struct http_req *req);
/* GET /api/v1/sessions/{id}/check-in-code: 200 {code, expires_at, window_seconds}. */
void attendance_code(struct http_req *req);
/* POST /api/v1/enrollments/{id}/check-ins {session_id, code}: 200 {enrollment_id, session_id, already}. */
void attendance_self_check_in(struct http_req *req);
/* GET /api/v1/enrollments/{id}/badge: 200 {enrollment_id, badge_code, qr_svg}, or the SVG. */
void attendance_badge(struct http_req *req);
/* GET /api/v1/offerings/{id}/badges: 200 application/pdf, four badges per A4 page. */
void attendance_badge_sheet(struct http_req *req);
/* GET /api/v1/audit: 200 {items, next_cursor}, admins only. */
void attendance_audit(struct http_req *req);

#endif
