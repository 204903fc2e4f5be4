/*
 * privacy.c: what the signed-in learner may do with their own data: take
 * all of it away as one JSON document (GET /api/v1/me/export) and erase
 * their account (DELETE /api/v1/me, with their password).
 *
 * Both act on the principal's own account only (no user id in the path).
 * What the export holds and what erasure overwrites is decided by one SQL
 * function each, in one transaction (schema/0008_create_privacy.sql).
 */
#include "registrar/api.h"

#include "registrar/util.h"

#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_EXPORT = { "privacy_export",
    "select (registrar.privacy_export($1::uuid)::jsonb"
    " || registrar.privacy_export_credits($1::uuid)"
    " || registrar.privacy_export_centre($1::uuid))::json",
    0 };
static const struct db_stmt SQL_ERASE = { "privacy_erase",
    "select registrar.privacy_erase($1::uuid, $2::bigint, $3)", 0 };

/* As at sign-in: an old password may be outside today's sign-up rules. */
#define PRIVACY_PASSWORD_MAX 8192

void privacy_register(void)
{
    db_stmts_register(&SQL_EXPORT, 1);
    db_stmts_register(&SQL_ERASE, 1);
}

/* ---- GET /api/v1/me/export ---- */

void privacy_export(struct http_req *req)
{
    const char *params[] = { http_req_principal(req)->user_id };
    char *text = NULL;

    enum db_status s = db_exec_value(http_req_db(req), &SQL_EXPORT, 1, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_header(
        req, "Content-Disposition", "attachment; filename=\"registrar-my-data.json\"");
    http_reply_no_store(req);
    http_reply_json_text(req, 200, text);
}

/* ---- DELETE /api/v1/me ---- */

const struct api_field privacy_erase_fields[] = {
    /* Taken as sent, like every password: no trimming. */
    { "password", API_T_STRING, API_REQUIRED | API_NO_TRIM, 1, PRIVACY_PASSWORD_MAX, NULL, NULL, 0,
        0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* On a database worker, once the password matched. */
static void privacy_erase_finish(struct http_req *req)
{
    const char *params[] = { http_req_principal(req)->user_id, signin_confirmed_attempt(req),
        signin_confirmed_hash(req) };
    char *text = NULL;
    json_t *result = NULL;

    enum db_status s = db_exec_value(http_req_db(req), &SQL_ERASE, 3, params, &text);
    if (s != DB_OK) {
        /* Refused (the last admin, a payment in flight): the right password is no failure. */
        api_reply_db_error(req, s);
        signin_confirm_release(req);
        goto out;
    }
    result = json_loads(text, 0, NULL);
    if (result == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    /*
     * The erasure is committed: the refunds it queued go to the processor
     * now, as after a cancellation; any it cannot make now the jobs thread
     * retries.
     */
    signin_cookie_clear(req);
    enrollments_refunds_then_reply(req, json_object_get(result, "refunds"), 204, NULL);
out:
    json_decref(result);
    free(text);
}

void privacy_erase(struct http_req *req)
{
    if (api_fields_check_or_reply(req, http_req_json(req), privacy_erase_fields, "", true) == -1)
        return;
    signin_password_confirm(req, "password", privacy_erase_finish);
}
