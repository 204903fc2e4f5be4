/*
 * attendance.c: attendance per session (marked by directors, badges scanned
 * at the door, the learners' own check-in with the room code), badges and
 * their printable sheet, and the audit log for admins. Every rule and every
 * audit row is in the SQL of schema/0012; the handlers validate, make what
 * needs libsodium or libqrencode (badge codes, room codes, QR codes), and
 * pass the SQL's JSON through.
 */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/pdf.h"
#include "registrar/qr.h"
#include "registrar/timefmt.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct db_stmt SQL_SET = { "attendance_set",
    "select registrar.attendance_set($1::uuid, $2::boolean, $3::uuid, $4::uuid[], $5::boolean)",
    DB_RETRY_SAFE };
static const struct db_stmt SQL_LIST = { "attendance_list",
    "select registrar.attendance_list($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_CHECK_IN = { "badge_check_in",
    "select registrar.badge_check_in($1::uuid, $2::boolean, $3::uuid, $4, $5)", DB_RETRY_SAFE };
static const struct db_stmt SQL_CODE_SESSION = { "check_in_code_session",
    "select registrar.check_in_code_session($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_SELF_CHECK_IN = { "self_check_in",
    "select registrar.self_check_in($1::uuid, $2::uuid, $3::uuid, $4::boolean)", DB_RETRY_SAFE };
static const struct db_stmt SQL_BADGE = { "badge_get",
    "select registrar.badge_get($1::uuid, $2::boolean, $3::uuid, $4)", DB_RETRY_SAFE };
static const struct db_stmt SQL_BADGES_MISSING = { "badges_missing",
    "select registrar.badges_missing($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_BADGE_SHEET = { "badge_sheet",
    "select registrar.badge_sheet($1::uuid, $2::boolean, $3::uuid, $4::text[])", DB_RETRY_SAFE };
static const struct db_stmt SQL_AUDIT = { "audit_list",
    "select registrar.audit_list($1::boolean, $2::uuid, $3::uuid, $4, $5::timestamptz,"
    " $6::integer, $7)",
    DB_RETRY_SAFE };

/* Most enrollments marked by one request; a session's whole room. */
#define ATTENDANCE_MAX_MANY 2000
/* Badges printed per page of the sheet. */
#define ATTENDANCE_BADGES_PER_PAGE 4
/* Rounds of giving codes to a sheet's new confirmations before giving up. */
#define ATTENDANCE_SHEET_TRIES 3

void attendance_register(void)
{
    static const struct db_stmt *const all[] = { &SQL_SET, &SQL_LIST, &SQL_CHECK_IN,
        &SQL_CODE_SESSION, &SQL_SELF_CHECK_IN, &SQL_BADGE, &SQL_BADGES_MISSING, &SQL_BADGE_SHEET,
        &SQL_AUDIT };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(all); i++)
        db_stmts_register(all[i], 1);
}

const struct api_field attendance_many_fields[] = {
    { "enrollment_ids", API_T_UUIDS, API_REQUIRED, 1, ATTENDANCE_MAX_MANY, NULL, NULL, 0, 0 },
    { "present", API_T_BOOL, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* A badge code as typed or scanned: Crockford digits, either case. */
const struct api_field attendance_check_in_fields[] = {
    { "badge_code", API_T_STRING, API_REQUIRED | API_CODE, 1, 64, NULL, NULL, 0, 0 },
    { "nonce", API_T_STRING, API_NULLABLE | API_CODE, 1, 100, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* The room code's digits are checked by auth_room_code_valid (a wrong one is 422). */
const struct api_field attendance_self_check_in_fields[] = {
    { "session_id", API_T_UUID, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { "code", API_T_STRING, API_REQUIRED | API_CODE, 1, 20, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* "{a,b,c}" from a JSON array of UUID strings the field table has checked. */
static char *attendance_uuid_array(json_t *arr)
{
    struct sbuf sb = SBUF_INIT;
    size_t i;
    json_t *v;

    sbuf_addc(&sb, '{');
    json_array_foreach(arr, i, v) sbuf_addf(&sb, "%s%s", i == 0 ? "" : ",", json_string_value(v));
    sbuf_addc(&sb, '}');
    return sbuf_detach(&sb, NULL);
}

static void attendance_set_one(struct http_req *req, bool present)
{
    const char *session, *enrollment;
    char *ids = NULL, *text = NULL;

    if (api_uuid_param_or_reply(req, "id", &session) == -1 ||
        api_uuid_param_or_reply(req, "enrollment_id", &enrollment) == -1)
        return;
    ids = xasprintf("{%s}", enrollment);
    const char *params[] = { api_viewer(req), api_admin_text(req), session, ids,
        present ? "true" : "false" };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_SET, 5, params, &text);
    if (s == DB_OK)
        http_reply_empty(req, 204);
    else
        api_reply_db_error(req, s);
    free(text);
    free(ids);
}

void attendance_mark(struct http_req *req)
{
    attendance_set_one(req, true);
}

void attendance_unmark(struct http_req *req)
{
    attendance_set_one(req, false);
}

void attendance_set_many(struct http_req *req)
{
    const char *session;
    json_t *body = http_req_json(req);

    if (api_uuid_param_or_reply(req, "id", &session) == -1 ||
        api_fields_check_or_reply(req, body, attendance_many_fields, "", true) == -1)
        return;
    char *ids = attendance_uuid_array(json_object_get(body, "enrollment_ids"));
    const char *params[] = { api_viewer(req), api_admin_text(req), session, ids,
        json_is_true(json_object_get(body, "present")) ? "true" : "false" };
    api_reply_sql(req, &SQL_SET, 5, params, 200);
    free(ids);
}

void attendance_list(struct http_req *req)
{
    const char *session;

    if (api_uuid_param_or_reply(req, "id", &session) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), session };
    api_reply_sql(req, &SQL_LIST, 3, params, 200);
}

void attendance_check_in(struct http_req *req)
{
    const char *session;
    json_t *body = http_req_json(req);

    if (api_uuid_param_or_reply(req, "id", &session) == -1 ||
        api_fields_check_or_reply(req, body, attendance_check_in_fields, "", true) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), session,
        api_body_string(body, "badge_code"), api_body_string(body, "nonce") };
    api_reply_sql(req, &SQL_CHECK_IN, 5, params, 200);
}

/* Unix time t as RFC 3339 in UTC. */
static void attendance_utc(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void attendance_code(struct http_req *req)
{
    const char *session;
    char *text = NULL;
    char code[AUTH_ROOM_CODE_SIZE], expires[32];
    int64_t expires_at;

    if (api_uuid_param_or_reply(req, "id", &session) == -1)
        return;
    /* The SQL decides who may see it (404 or 403); the key is here. */
    const char *params[] = { api_viewer(req), api_admin_text(req), session };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_CODE_SESSION, 3, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    free(text);
    auth_room_code(session, (int64_t)time(NULL), code, &expires_at);
    attendance_utc(expires_at, expires);
    http_reply_no_store(req);
    http_reply_json(req, 200,
        json_pack("{s:s, s:s, s:i}", "code", code, "expires_at", expires, "window_seconds",
            AUTH_ROOM_CODE_WINDOW_S));
    auth_wipe(code, sizeof(code));
}

void attendance_self_check_in(struct http_req *req)
{
    const char *enrollment;
    json_t *body = http_req_json(req);

    if (api_uuid_param_or_reply(req, "id", &enrollment) == -1 ||
        api_fields_check_or_reply(req, body, attendance_self_check_in_fields, "", true) == -1)
        return;
    const char *session = api_body_string(body, "session_id");
    bool ok = auth_room_code_valid(session, (int64_t)time(NULL), api_body_string(body, "code"));
    const char *params[] = { api_viewer(req), enrollment, session, ok ? "true" : "false" };
    api_reply_sql(req, &SQL_SELF_CHECK_IN, 4, params, 200);
}

void attendance_badge(struct http_req *req)
{
    const char *enrollment, *accept = http_req_header(req, "Accept");
    char code[AUTH_BADGE_CODE_SIZE];
    char *text = NULL, *svg = NULL;
    json_t *badge = NULL;

    if (api_uuid_param_or_reply(req, "id", &enrollment) == -1)
        return;
    auth_badge_code_new(code);
    const char *params[] = { api_viewer(req), api_admin_text(req), enrollment, code };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_BADGE, 4, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    badge = json_loads(text, 0, NULL);
    const char *stored = json_string_value(json_object_get(badge, "badge_code"));
    if (stored == NULL || (svg = qr_svg(stored)) == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    http_reply_no_store(req);
    if (accept != NULL && strstr(accept, "image/svg+xml") != NULL) {
        http_reply_body(req, 200, "image/svg+xml", svg, strlen(svg));
        svg = NULL;
        goto out;
    }
    json_object_set_new(badge, "qr_svg", json_string(svg));
    http_reply_json(req, 200, badge);
    badge = NULL;
out:
    json_decref(badge);
    free(svg);
    free(text);
}

/* One badge of the sheet: name, credentials, profession, institution, QR, code. */
static void attendance_sheet_badge(struct pdf_doc *d, json_t *item)
{
    const char *code = json_string_value(json_object_get(item, "badge_code"));
    const char *name = json_string_value(json_object_get(item, "full_name"));
    const char *cred = json_string_value(json_object_get(item, "credentials"));
    const char *prof = json_string_value(json_object_get(item, "profession"));
    const char *inst = json_string_value(json_object_get(item, "institution"));
    int width;
    bool *m = qr_matrix(code, &width);

    if (cred != NULL && cred[0] != '\0') {
        char *line = xasprintf("%s, %s", name, cred);
        pdf_text(d, PDF_LARGE, PDF_LEFT, line);
        free(line);
    } else {
        pdf_text(d, PDF_LARGE, PDF_LEFT, name);
    }
    pdf_text(d, PDF_BODY, PDF_LEFT, prof != NULL ? prof : "");
    if (inst != NULL && inst[0] != '\0')
        pdf_text(d, PDF_BODY, PDF_LEFT, inst);
    if (m != NULL)
        pdf_matrix(d, m, width, 96, PDF_LEFT);
    pdf_text(d, PDF_MONO, PDF_LEFT, code);
    free(m);
}

void attendance_badge_sheet(struct http_req *req)
{
    const char *offering;
    char *text = NULL, *codes = NULL;
    json_t *sheet = NULL;
    enum db_status s = DB_OK;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    const char *who[] = { api_viewer(req), api_admin_text(req), offering };
    for (int round = 0; round < ATTENDANCE_SHEET_TRIES; round++) {
        s = db_exec_value(http_req_db(req), &SQL_BADGES_MISSING, 3, who, &text);
        if (s != DB_OK)
            break;
        long missing = strtol(text, NULL, 10);
        free(text);
        text = NULL;
        struct sbuf sb = SBUF_INIT;
        sbuf_addc(&sb, '{');
        for (long i = 0; i < missing; i++) {
            char code[AUTH_BADGE_CODE_SIZE];
            auth_badge_code_new(code);
            sbuf_addf(&sb, "%s%s", i == 0 ? "" : ",", code);
        }
        sbuf_addc(&sb, '}');
        free(codes);
        codes = sbuf_detach(&sb, NULL);
        const char *params[] = { who[0], who[1], offering, codes };
        s = db_exec_value(http_req_db(req), &SQL_BADGE_SHEET, 4, params, &text);
        if (s != DB_OK)
            break;
        json_decref(sheet);
        sheet = json_loads(text, 0, NULL);
        free(text);
        text = NULL;
        if (sheet == NULL || json_integer_value(json_object_get(sheet, "missing")) == 0)
            break;
    }
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    if (sheet == NULL || json_integer_value(json_object_get(sheet, "missing")) != 0) {
        http_reply_problem(
            req, 503, "overloaded", "Registrations are changing too fast; try again.");
        goto out;
    }

    const char *title = json_string_value(json_object_get(sheet, "title"));
    struct pdf_doc *d = pdf_doc_new(PDF_A4, "Badges");
    size_t i;
    json_t *item;
    json_t *items = json_object_get(sheet, "items");
    if (json_array_size(items) == 0)
        pdf_text(d, PDF_BODY, PDF_LEFT, "No confirmed registrations yet.");
    json_array_foreach(items, i, item)
    {
        if (i > 0 && i % ATTENDANCE_BADGES_PER_PAGE == 0)
            pdf_page_break(d);
        else if (i > 0)
            pdf_rule(d);
        pdf_text(d, PDF_SMALL, PDF_LEFT, title != NULL ? title : "");
        attendance_sheet_badge(d, item);
        pdf_gap(d, 6);
    }
    size_t len;
    char *pdf = pdf_doc_finish(d, &len);
    if (pdf == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    char *disposition = xasprintf("inline; filename=\"badges-%s.pdf\"", offering);
    http_reply_no_store(req);
    http_reply_body(req, 200, "application/pdf", pdf, len);
    http_reply_header(req, "Content-Disposition", disposition);
    free(disposition);
out:
    json_decref(sheet);
    free(codes);
    free(text);
}

void attendance_audit(struct http_req *req)
{
    const char *offering = http_req_query(req, "offering_id");
    const char *actor = http_req_query(req, "actor_id");
    const char *action = http_req_query(req, "action");
    const char *since = http_req_query(req, "since");
    struct api_page page;

    if (offering != NULL && !api_uuid_valid(offering)) {
        http_reply_invalid_field(req, "offering_id", "must be a UUID");
        return;
    }
    if (actor != NULL && !api_uuid_valid(actor)) {
        http_reply_invalid_field(req, "actor_id", "must be a UUID");
        return;
    }
    if (action != NULL && (action[0] == '\0' || strlen(action) > 100 ||
                              api_text_problem(action, API_TEXT | API_NO_TRIM) != NULL)) {
        http_reply_invalid_field(req, "action", "must be an action name of 1 to 100 characters");
        return;
    }
    if (since != NULL && timefmt_parse_datetime(since, NULL, NULL) == -1) {
        http_reply_invalid_field(
            req, "since", "must be a date and time as RFC 3339 with an offset");
        return;
    }
    if (api_page_or_reply(req, &page) == -1)
        return;
    const char *params[] = { api_admin_text(req), offering, actor, action, since, page.limit,
        page.cursor };
    api_reply_sql_page(req, &SQL_AUDIT, 7, params);
}
