/*
 * staff.c: registrations made for other people: one person registered by
 * the office (an admin or a director of the course, checked in SQL), and a
 * group registered by a coordinator (any signed-in account with a verified
 * email), all seats or none.
 *
 * A person without an account gets one, without a password; the SQL sends
 * the set-password link (a password-reset token, made here with libsodium
 * and stored only as its digest). Each call is one SQL function, one
 * transaction.
 */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/util.h"

#include <stdlib.h>
#include <string.h>

/* A group is a department, not a conference: bounded so one call stays one quick transaction. */
#define STAFF_GROUP_MAX 50

static const struct db_stmt SQL_ENROLL_FOR = { "enroll_for",
    "select registrar.enroll_for($1::uuid, $2::boolean, $3::uuid, $4::uuid, $5, $6, $7, $8,"
    " decode($9, 'hex'), $10)",
    0 };
static const struct db_stmt SQL_GROUP_REGISTER = { "group_register",
    "select registrar.group_register($1::uuid, $2::uuid, $3::jsonb, $4::jsonb, $5::text[],"
    " $6::text[], $7)",
    0 };

static const struct db_stmt SQL_MESSAGE_SEND = { "offering_message_send",
    "select registrar.offering_message_send($1::uuid, $2::boolean, $3::uuid, $4, $5, $6,"
    " $7::integer)",
    0 };
static const struct db_stmt SQL_MESSAGES_LIST = { "offering_messages_list",
    "select registrar.offering_messages_list($1::uuid, $2::boolean, $3::uuid, $4::integer, $5)",
    DB_RETRY_SAFE };

static const struct db_stmt SQL_WAITLIST_REMOVE = { "waitlist_remove",
    "select registrar.waitlist_remove($1::uuid, $2::boolean, $3::uuid)", 0 };
static const struct db_stmt SQL_WAITLIST_PROMOTE = { "waitlist_promote",
    "select registrar.waitlist_promote($1::uuid, $2::boolean, $3::uuid, $4, $5::boolean)", 0 };

static const struct db_stmt SQL_TRANSFER = { "enrollment_transfer",
    "select registrar.enrollment_transfer($1::uuid, $2::boolean, $3::uuid, $4, $5, $6, $7::uuid, $8,"
    " decode($9, 'hex'), $10)",
    0 };

void staff_register(void)
{
    db_stmts_register(&SQL_TRANSFER, 1);
    db_stmts_register(&SQL_WAITLIST_REMOVE, 1);
    db_stmts_register(&SQL_WAITLIST_PROMOTE, 1);
    db_stmts_register(&SQL_ENROLL_FOR, 1);
    db_stmts_register(&SQL_GROUP_REGISTER, 1);
    db_stmts_register(&SQL_MESSAGE_SEND, 1);
    db_stmts_register(&SQL_MESSAGES_LIST, 1);
}

static const char *const staff_professions[] = { "physician", "nurse", "physician_assistant",
    "social_worker", "chaplain", "psychologist", "pharmacist", "trainee", "other", NULL };

/* ---- field tables ---- */

/* An existing account by id, or a person by email (name and profession then required). */
const struct api_field staff_enroll_for_fields[] = {
    { "user_id", API_T_UUID, API_ONE_OF, 0, 0, NULL, NULL, 0, 0 },
    { "email", API_T_EMAIL, API_ONE_OF, 3, 254, NULL, NULL, 0, 0 },
    { "full_name", API_T_STRING, API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "profession", API_T_ENUM, 0, 0, 0, staff_professions, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

static const struct api_field staff_member_fields[] = {
    { "email", API_T_EMAIL, API_REQUIRED, 3, 254, NULL, NULL, 0, 0 },
    { "full_name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "profession", API_T_ENUM, API_REQUIRED, 0, 0, staff_professions, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* Who the group's invoice goes to (the invoice itself is the payments module's). */
static const struct api_field staff_bill_to_fields[] = {
    { "name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "address", API_T_STRING, API_MULTILINE, 0, 1000, NULL, NULL, 0, 0 },
    { "email", API_T_EMAIL, 0, 3, 254, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field staff_group_fields[] = {
    { "members", API_T_OBJECTS, API_REQUIRED, 1, STAFF_GROUP_MAX, NULL, staff_member_fields, 0, 0 },
    { "bill_to", API_T_OBJECT, API_NULLABLE, 0, 0, NULL, staff_bill_to_fields, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

static const char *const staff_audiences[] = { "confirmed", "held", "waitlisted", "all", NULL };

/* A message to a roster: plain text, a subject on one line. */
const struct api_field staff_message_fields[] = {
    { "subject", API_T_STRING, API_REQUIRED | API_TEXT, 1, 150, NULL, NULL, 0, 0 },
    { "body", API_T_STRING, API_REQUIRED | API_MULTILINE, 1, 10000, NULL, NULL, 0, 0 },
    { "to", API_T_ENUM, API_REQUIRED, 0, 0, staff_audiences, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* A promotion out of order says why (kept in the audit row). */
const struct api_field staff_promote_fields[] = {
    { "reason", API_T_STRING, API_REQUIRED | API_TEXT, 1, 500, NULL, NULL, 0, 0 },
    { "over_capacity", API_T_BOOL, 0, 0, 0, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* To a colleague (with a name and profession when they have no account) or another offering. */
const struct api_field staff_transfer_fields[] = {
    { "to_email", API_T_EMAIL, API_ONE_OF, 3, 254, NULL, NULL, 0, 0 },
    { "to_offering_id", API_T_UUID, API_ONE_OF, 0, 0, NULL, NULL, 0, 0 },
    { "full_name", API_T_STRING, API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "profession", API_T_ENUM, 0, 0, 0, staff_professions, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* ---- POST /api/v1/offerings/{id}/enrollments/for ---- */

void staff_enroll_for(struct http_req *req)
{
    json_t *body = http_req_json(req);
    char token[AUTH_TOKEN_SIZE], digest[AUTH_DIGEST_HEX_SIZE];
    const char *offering;
    char *text = NULL;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    if (api_fields_check_or_reply(req, body, staff_enroll_for_fields, "", true) == -1)
        return;
    const char *email = api_body_string(body, "email");
    if (email != NULL) {
        /* A new account needs them; the table cannot say "required with email". */
        const char *missing = api_body_string(body, "full_name") == NULL    ? "full_name"
                              : api_body_string(body, "profession") == NULL ? "profession"
                                                                            : NULL;
        if (missing != NULL) {
            http_reply_invalid_field(req, missing, "is required with email");
            return;
        }
    } else if (api_body_has(body, "full_name") || api_body_has(body, "profession")) {
        http_reply_invalid_field(req, api_body_has(body, "full_name") ? "full_name" : "profession",
            "goes with email, not with user_id (the account has its own)");
        return;
    }
    auth_token_new(token);
    if (auth_token_digest(token, digest) == -1) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    const char *params[] = { api_viewer(req), api_admin_text(req), offering,
        api_body_string(body, "user_id"), email, api_body_string(body, "full_name"),
        api_body_string(body, "profession"), token, digest, api_settings()->public_url };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_ENROLL_FOR, 10, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    json_t *made = json_loads(text, 0, NULL);
    const char *id = json_string_value(json_object_get(made, "id"));
    if (id != NULL) {
        char *location = xasprintf("/api/v1/enrollments/%s", id);
        http_reply_header(req, "Location", location);
        free(location);
    }
    json_decref(made);
    http_reply_json_text(req, 201, text);
    text = NULL;
out:
    free(text);
    auth_wipe(token, sizeof(token));
    auth_wipe(digest, sizeof(digest));
}

/* ---- POST /api/v1/offerings/{id}/group-registrations ---- */

void staff_group_create(struct http_req *req)
{
    json_t *body = http_req_json(req);
    struct sbuf tokens = SBUF_INIT, digests = SBUF_INIT;
    char token[AUTH_TOKEN_SIZE], digest[AUTH_DIGEST_HEX_SIZE];
    const char *offering;
    char *members = NULL, *bill_to = NULL, *text = NULL;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    if (api_fields_check_or_reply(req, body, staff_group_fields, "", true) == -1)
        return;
    /*
     * One set-password token per member, used by the SQL only for an
     * account it makes. Tokens are [A-Za-z0-9_-] and digests hex: both are
     * safe in an array literal without quoting.
     */
    size_t n = json_array_size(json_object_get(body, "members"));
    sbuf_addf(&tokens, "{");
    sbuf_addf(&digests, "{");
    for (size_t i = 0; i < n; i++) {
        auth_token_new(token);
        if (auth_token_digest(token, digest) == -1) {
            http_reply_problem(req, 500, "internal", NULL);
            goto out;
        }
        sbuf_addf(&tokens, "%s%s", i == 0 ? "" : ",", token);
        sbuf_addf(&digests, "%s%s", i == 0 ? "" : ",", digest);
    }
    sbuf_addf(&tokens, "}");
    sbuf_addf(&digests, "}");
    members = json_dumps(json_object_get(body, "members"), JSON_COMPACT);
    if (api_body_has(body, "bill_to"))
        bill_to = json_dumps(json_object_get(body, "bill_to"), JSON_COMPACT);
    const char *params[] = { api_viewer(req), offering, members, bill_to, tokens.buf, digests.buf,
        api_settings()->public_url };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_GROUP_REGISTER, 7, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    http_reply_json_text(req, 201, text);
    text = NULL;
out:
    free(members);
    free(bill_to);
    free(text);
    auth_wipe(token, sizeof(token));
    auth_wipe(digest, sizeof(digest));
    if (tokens.buf != NULL)
        auth_wipe(tokens.buf, tokens.len);
    sbuf_release(&tokens);
    sbuf_release(&digests);
}

/* ---- POST, GET /api/v1/offerings/{id}/messages ---- */

void staff_messages_send(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *offering;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    if (api_fields_check_or_reply(req, body, staff_message_fields, "", true) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), offering,
        api_body_string(body, "subject"), api_body_string(body, "body"),
        api_body_string(body, "to"), api_settings()->mail_rate };
    api_reply_sql(req, &SQL_MESSAGE_SEND, 7, params, 202);
}

void staff_messages_list(struct http_req *req)
{
    const char *offering;
    struct api_page page;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    if (api_page_or_reply(req, &page) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), offering, page.limit,
        page.cursor };
    api_reply_sql_page(req, &SQL_MESSAGES_LIST, 5, params);
}

/* ---- DELETE /api/v1/enrollments/{id}/waitlist, POST /api/v1/enrollments/{id}/promote ---- */

void staff_waitlist_remove(struct http_req *req)
{
    const char *id;
    char *text = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_WAITLIST_REMOVE, 3, params, &text);
    free(text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_empty(req, 204);
}

void staff_promote(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    if (api_fields_check_or_reply(req, body, staff_promote_fields, "", true) == -1)
        return;
    json_t *over = json_object_get(body, "over_capacity");
    const char *params[] = { api_viewer(req), api_admin_text(req), id,
        api_body_string(body, "reason"), json_is_true(over) ? "true" : "false" };
    api_reply_sql(req, &SQL_WAITLIST_PROMOTE, 5, params, 200);
}

/* ---- POST /api/v1/enrollments/{id}/transfer ---- */

void staff_transfer(struct http_req *req)
{
    json_t *body = http_req_json(req);
    char token[AUTH_TOKEN_SIZE], digest[AUTH_DIGEST_HEX_SIZE];
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    if (api_fields_check_or_reply(req, body, staff_transfer_fields, "", true) == -1)
        return;
    if (!api_body_has(body, "to_email") &&
        (api_body_has(body, "full_name") || api_body_has(body, "profession"))) {
        http_reply_invalid_field(req, api_body_has(body, "full_name") ? "full_name" : "profession",
            "goes with to_email (a colleague without an account)");
        return;
    }
    auth_token_new(token);
    if (auth_token_digest(token, digest) == -1) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    const char *params[] = { api_viewer(req), api_admin_text(req), id,
        api_body_string(body, "to_email"), api_body_string(body, "full_name"),
        api_body_string(body, "profession"), api_body_string(body, "to_offering_id"), token, digest,
        api_settings()->public_url };
    api_reply_sql(req, &SQL_TRANSFER, 10, params, 200);
out:
    auth_wipe(token, sizeof(token));
    auth_wipe(digest, sizeof(digest));
}
