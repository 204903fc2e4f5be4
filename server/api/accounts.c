/*
 * accounts.c: sign-up, the signed-in user's profile, and course directors
 * (`registrar create-admin` is the command line's: server/cli.c).
 *
 * Who may call what is in the route table; the profile routes act on the
 * principal's own account only (there is no user id in their paths, so no
 * one else's account can be named).
 */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/log.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_ACCOUNT_CREATE = { "account_create",
    "select registrar.account_create($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'), $9)", 0 };
static const struct db_stmt SQL_VERIFICATION_REQUEST = { "email_verification_request",
    "select registrar.email_verification_request($1::uuid, $2, decode($3, 'hex'), $4)", 0 };
static const struct db_stmt SQL_VERIFICATION_CONFIRM = { "email_verification_confirm",
    "select registrar.email_verification_confirm(decode($1, 'hex'))", 0 };
static const struct db_stmt SQL_ME_GET = { "me_get", "select registrar.me_get($1::uuid)",
    DB_RETRY_SAFE };
static const struct db_stmt SQL_ME_UPDATE = { "me_update",
    "select registrar.me_update($1::uuid, $2, $3, $4, $5)", DB_RETRY_SAFE };
static const struct db_stmt SQL_DIRECTOR_SET = { "course_director_set",
    "select registrar.course_director_set($1::uuid, $2, $3::uuid, $4::boolean)", DB_RETRY_SAFE };

void accounts_register(void)
{
    const struct db_stmt *all[] = { &SQL_ACCOUNT_CREATE, &SQL_ME_GET, &SQL_ME_UPDATE,
        &SQL_DIRECTOR_SET, &SQL_VERIFICATION_REQUEST, &SQL_VERIFICATION_CONFIRM };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(all); i++)
        db_stmts_register(all[i], 1);
}

static const char *const accounts_professions[] = { "physician", "nurse", "physician_assistant",
    "social_worker", "chaplain", "psychologist", "pharmacist", "trainee", "other", NULL };

/* ---- field tables ---- */

/*
 * Sign-up. Emails are trimmed (lower-casing is SQL's); passwords are taken
 * as they are: no trimming, no normalising, no truncation. The optional
 * texts may be null (none).
 */
const struct api_field accounts_signup_fields[] = {
    { "email", API_T_EMAIL, API_REQUIRED, 3, 254, NULL, NULL, 0, 0 },
    { "password", API_T_STRING, API_REQUIRED | API_NO_TRIM, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX,
        NULL, NULL, 0, 0 },
    { "full_name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "profession", API_T_ENUM, API_REQUIRED, 0, 0, accounts_professions, NULL, 0, 0 },
    { "credentials", API_T_STRING, API_NULLABLE | API_TEXT, 0, 100, NULL, NULL, 0, 0 },
    { "institution", API_T_STRING, API_NULLABLE | API_TEXT, 0, 200, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* PATCH /me: any of the profile's texts; an absent or null member is left as it is. */
const struct api_field accounts_me_fields[] = {
    { "full_name", API_T_STRING, API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "profession", API_T_ENUM, 0, 0, 0, accounts_professions, NULL, 0, 0 },
    { "credentials", API_T_STRING, API_NULLABLE | API_TEXT, 0, 100, NULL, NULL, 0, 0 },
    { "institution", API_T_STRING, API_NULLABLE | API_TEXT, 0, 200, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* ---- POST /api/v1/accounts ---- */

struct accounts_signup {
    char *password; /* a copy, wiped on free */
    size_t password_len;
    char hash[AUTH_PASSWORD_HASH_SIZE];
};

static void accounts_signup_free(void *p)
{
    struct accounts_signup *job = p;

    if (job == NULL)
        return;
    auth_free_secret(job->password);
    auth_wipe(job, sizeof(*job));
    free(job);
}

static void accounts_create_insert(struct http_req *req)
{
    struct accounts_signup *job = http_req_data(req);
    json_t *body = http_req_json(req);
    char *text = NULL;
    char token[AUTH_TOKEN_SIZE], digest[AUTH_DIGEST_HEX_SIZE];

    /* The first verification link goes out with the account, in its transaction. */
    auth_token_new(token);
    if (auth_token_digest(token, digest) == -1) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    const char *params[] = {
        json_string_value(json_object_get(body, "email")),
        job->hash,
        json_string_value(json_object_get(body, "full_name")),
        json_string_value(json_object_get(body, "profession")),
        json_string_value(json_object_get(body, "credentials")),
        json_string_value(json_object_get(body, "institution")),
        token,
        digest,
        api_settings()->public_url,
    };

    enum db_status s = db_exec_value(http_req_db(req), &SQL_ACCOUNT_CREATE, 9, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    http_reply_header(req, "Location", "/api/v1/me");
    http_reply_no_store(req);
    http_reply_json_text(req, 201, text);
out:
    auth_wipe(token, sizeof(token));
    auth_wipe(digest, sizeof(digest));
}

/* On the hashing pool. */
static void accounts_create_hash(struct http_req *req)
{
    struct accounts_signup *job = http_req_data(req);

    if (auth_password_hash(job->password, job->password_len, job->hash) == -1) {
        http_reply_problem(req, 503, "overloaded", "The server is busy; try again in a moment.");
        return;
    }
    auth_free_secret(job->password);
    job->password = NULL;
    http_req_continue(req, HTTP_POOL_DB, accounts_create_insert);
}

void accounts_create(struct http_req *req)
{
    json_t *body = http_req_json(req);

    /*
     * The trimmed values replace the sent ones in the body, which the
     * insert step reads back; nothing else may come in (no "roles").
     */
    if (api_fields_check_or_reply(req, body, accounts_signup_fields, "", true) == -1)
        return;
    /* Counted per client address before any hashing, whatever the outcome. */
    if (api_rate_limit_or_reply(req, "signup") == -1)
        return;
    struct accounts_signup *job = xcalloc(1, sizeof(*job));
    http_req_set_data(req, job, accounts_signup_free);
    job->password_len = json_string_length(json_object_get(body, "password"));
    job->password = xmalloc(job->password_len + 1);
    memcpy(job->password, api_body_string(body, "password"), job->password_len + 1);
    http_req_continue(req, HTTP_POOL_HASH, accounts_create_hash);
}

/* ---- GET / PATCH /api/v1/me ---- */

void accounts_me_get(struct http_req *req)
{
    const char *params[] = { http_req_principal(req)->user_id };

    api_reply_sql(req, &SQL_ME_GET, 1, params, 200);
}

void accounts_session_current(struct http_req *req)
{
    const struct http_principal *who = http_req_principal(req);
    const char *params[] = { who->user_id };
    char *text = NULL;

    enum db_status s = db_exec_value(http_req_db(req), &SQL_ME_GET, 1, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    json_t *user = json_loads(text, 0, NULL);
    free(text);
    if (user == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        return;
    }
    /*
     * A page that shares the cookie but not the sign-in answer (another
     * tab) learns the session's CSRF token here. Only our own origin can
     * read this answer, which is what makes the token a proof. Bearer
     * clients need none and get null.
     */
    json_t *csrf =
        who->via_cookie && who->csrf_token[0] != '\0' ? json_string(who->csrf_token) : json_null();
    http_reply_json(req, 200, json_pack("{s:o, s:o}", "user", user, "csrf_token", csrf));
}

void accounts_me_update(struct http_req *req)
{
    json_t *body = http_req_json(req);
    char *text = NULL;

    if (api_fields_check_or_reply(req, body, accounts_me_fields, "", false) == -1)
        return;
    const char *params[] = { http_req_principal(req)->user_id, api_body_string(body, "full_name"),
        api_body_string(body, "profession"), api_body_string(body, "credentials"),
        api_body_string(body, "institution") };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_ME_UPDATE, 5, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_json_text(req, 200, text);
}

/* ---- email verification ---- */

const struct api_field accounts_verification_send_fields[] = {
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field accounts_verification_confirm_fields[] = {
    { "token", API_T_STRING, API_REQUIRED, 1, 256, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

void accounts_verification_send(struct http_req *req)
{
    json_t *body = http_req_json(req);

    if (body != NULL &&
        api_fields_check_or_reply(req, body, accounts_verification_send_fields, "", true) == -1)
        return;
    /* The same answer when already verified or past the hourly bound: nothing to learn. */
    api_reply_link_sent(req, &SQL_VERIFICATION_REQUEST, http_req_principal(req)->user_id);
}

static void accounts_reply_invalid_token(struct http_req *req)
{
    json_t *extra = json_pack("{s:[{s:s, s:s}]}", "errors", "field", "token", "message",
        "is not a live verification link");

    http_reply_problem_extra(req, 400, "invalid-token",
        "This link is not valid, has been used or has expired. Ask for a new one.", extra);
}

void accounts_verification_confirm(struct http_req *req)
{
    json_t *body = http_req_json(req);
    char digest[AUTH_DIGEST_HEX_SIZE];
    char *ok = NULL;

    if (api_fields_check_or_reply(req, body, accounts_verification_confirm_fields, "", true) == -1)
        return;
    /* Text that no auth_token_new() made has no digest: no such link. */
    if (auth_token_digest(json_string_value(json_object_get(body, "token")), digest) == -1) {
        accounts_reply_invalid_token(req);
        return;
    }
    const char *params[] = { digest };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_VERIFICATION_CONFIRM, 1, params, &ok);
    if (s != DB_OK)
        api_reply_db_error(req, s);
    else if (strcmp(ok, "t") == 0)
        http_reply_empty(req, 204);
    else
        accounts_reply_invalid_token(req);
    free(ok);
    auth_wipe(digest, sizeof(digest));
}

/* ---- PUT / DELETE /api/v1/courses/{slug}/directors/{user_id} ---- */

static void accounts_director_set(struct http_req *req, bool grant)
{
    const char *user;
    char *text = NULL;

    if (api_uuid_param_or_reply(req, "user_id", &user) == -1)
        return;
    const char *params[] = { http_req_principal(req)->user_id, http_req_param(req, "slug"), user,
        grant ? "true" : "false" };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_DIRECTOR_SET, 4, params, &text);
    free(text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_empty(req, 204);
}

void accounts_director_grant(struct http_req *req)
{
    accounts_director_set(req, true);
}

void accounts_director_revoke(struct http_req *req)
{
    accounts_director_set(req, false);
}
