/*
 * signin.c: everything that checks or sets a password against the failure
 * counter: sign in, sign out, change of password, password reset.
 *
 * A request that hashes runs in three steps: on a database worker the
 * rate limit is decided and the stored hash fetched (before any hashing);
 * on the hashing pool Argon2 runs (64 MiB, tens of milliseconds, bounded
 * by that pool's size); back on a database worker the outcome is written.
 * The attempt row written in step one counts against the limit while the
 * password is being checked; a wrong password marks it a failure for good,
 * a right one (or a failure to hash) deletes it.
 */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_SIGNIN_BEGIN = { "auth_signin_begin",
    "select retry_after, attempt_id, user_id, password_hash from registrar.auth_signin_begin($1, $2)",
    0 };
static const struct db_stmt SQL_SIGNIN_FINISH = { "auth_signin_finish",
    "select registrar.auth_signin_finish($1::bigint, $2::uuid, $3, $4, decode($5, 'hex'), decode($6, 'hex'))",
    0 };
static const struct db_stmt SQL_ATTEMPT_CANCEL = { "auth_attempt_cancel",
    "select registrar.auth_attempt_cancel($1::bigint)", DB_RETRY_SAFE };
static const struct db_stmt SQL_ATTEMPT_FAIL = { "auth_attempt_fail",
    "select registrar.auth_attempt_fail($1::bigint)", DB_RETRY_SAFE };
static const struct db_stmt SQL_SESSION_REVOKE = { "auth_session_revoke",
    "select registrar.auth_session_revoke($1::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_PASSWORD_CHANGE_BEGIN = { "password_change_begin",
    "select retry_after, attempt_id, password_hash from registrar.password_change_begin($1::uuid, $2)",
    0 };
static const struct db_stmt SQL_PASSWORD_CHANGE_FINISH = { "password_change_finish",
    "select registrar.password_change_finish($1::uuid, $2::uuid, $3::bigint, $4, $5)", 0 };
static const struct db_stmt SQL_RESET_REQUEST = { "password_reset_request",
    "select registrar.password_reset_request($1, $2, decode($3, 'hex'), $4)", 0 };
static const struct db_stmt SQL_RESET_CHECK = { "password_reset_check",
    "select registrar.password_reset_check(decode($1, 'hex'))", DB_RETRY_SAFE };
static const struct db_stmt SQL_RESET_CONFIRM = { "password_reset_confirm",
    "select registrar.password_reset_confirm(decode($1, 'hex'), $2)", 0 };

void signin_register(void)
{
    const struct db_stmt *all[] = { &SQL_SIGNIN_BEGIN, &SQL_SIGNIN_FINISH, &SQL_ATTEMPT_CANCEL,
        &SQL_ATTEMPT_FAIL, &SQL_SESSION_REVOKE, &SQL_PASSWORD_CHANGE_BEGIN,
        &SQL_PASSWORD_CHANGE_FINISH, &SQL_RESET_REQUEST, &SQL_RESET_CHECK, &SQL_RESET_CONFIRM };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(all); i++)
        db_stmts_register(all[i], 1);
}

/* Sign-in passwords are not held to the sign-up rules (an old one may be shorter). */
#define SIGNIN_PASSWORD_MAX 8192

/*
 * The bodies. A sign-in email is only looked up, so any trimmed text of
 * 1..320 code points will do (an unknown one fails like a wrong password);
 * a password being checked is taken as sent, up to SIGNIN_PASSWORD_MAX
 * bytes' worth; a new one is 12..128 code points.
 */
const struct api_field signin_fields[] = {
    { "email", API_T_STRING, API_REQUIRED, 1, 320, NULL, NULL, 0, 0 },
    { "password", API_T_STRING, API_REQUIRED | API_NO_TRIM, 1, SIGNIN_PASSWORD_MAX, NULL, NULL, 0,
        0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field signin_password_fields[] = {
    { "current_password", API_T_STRING, API_REQUIRED | API_NO_TRIM, 1, SIGNIN_PASSWORD_MAX, NULL,
        NULL, 0, 0 },
    { "new_password", API_T_STRING, API_REQUIRED | API_NO_TRIM, AUTH_PASSWORD_MIN,
        AUTH_PASSWORD_MAX, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field signin_reset_request_fields[] = {
    { "email", API_T_STRING, API_REQUIRED, 1, 320, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field signin_reset_confirm_fields[] = {
    { "token", API_T_STRING, API_REQUIRED, 1, 256, NULL, NULL, 0, 0 },
    { "new_password", API_T_STRING, API_REQUIRED | API_NO_TRIM, AUTH_PASSWORD_MIN,
        AUTH_PASSWORD_MAX, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* The state of a request between its steps; every secret is wiped on free. */
struct signin_job {
    char *password; /* what was sent: sign-in, or the current one */
    size_t password_len;
    char *new_password;
    size_t new_password_len;
    char *stored_hash; /* from the database; NULL for an unknown account */
    char new_hash[AUTH_PASSWORD_HASH_SIZE];
    bool have_new_hash;
    char attempt_id[24]; /* the attempt row: a failure unless deleted */
    char user_id[40];
    char digest[AUTH_DIGEST_HEX_SIZE]; /* a reset token's */
    const char *field;                 /* the body member a current password came in */
    http_handler *confirmed;           /* signin_password_confirm: the step after a match */
};

static void signin_job_free(void *p)
{
    struct signin_job *job = p;

    if (job == NULL)
        return;
    auth_free_secret(job->password);
    auth_free_secret(job->new_password);
    auth_free_secret(job->stored_hash);
    auth_wipe(job, sizeof(*job));
    free(job);
}

static struct signin_job *signin_job_new(struct http_req *req)
{
    struct signin_job *job = xcalloc(1, sizeof(*job));

    http_req_set_data(req, job, signin_job_free);
    return job;
}

/* A copy of a body member's bytes (jansson keeps the length; no NUL can be inside). */
static char *signin_copy_member(struct http_req *req, const char *field, size_t *len)
{
    json_t *v = json_object_get(http_req_json(req), field);
    char *copy;

    *len = json_string_length(v);
    copy = xmalloc(*len + 1);
    memcpy(copy, json_string_value(v), *len);
    copy[*len] = '\0';
    return copy;
}

static void signin_reply_rate_limited(struct http_req *req, const char *retry_after)
{
    http_reply_problem(req, 429, "rate-limited",
        "Too many failed sign-in attempts. Wait a while before trying again.");
    http_reply_header(req, "Retry-After", retry_after);
}

static void signin_reply_invalid_credentials(struct http_req *req)
{
    /* One answer for an unknown email and a wrong password, to the byte. */
    http_reply_problem(req, 401, "invalid-credentials", "The email or password is not right.");
}

static void signin_reply_hash_failed(struct http_req *req)
{
    http_reply_problem(req, 503, "overloaded",
        "The server could not check the password just now; try again in a moment.");
}

/* On the database pool: the attempt was a failure (a wrong password). */
static void signin_attempt_mark_failed(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);
    const char *params[] = { job->attempt_id };

    /* Should this fail, the row stays pending, which counts all the same. */
    (void)db_exec(http_req_db(req), &SQL_ATTEMPT_FAIL, 1, params, NULL);
}

static void signin_failed(struct http_req *req)
{
    signin_attempt_mark_failed(req);
    signin_reply_invalid_credentials(req);
}

/* A wrong current password (job->field names the member it came in). */
static void signin_current_failed(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);

    signin_attempt_mark_failed(req);
    http_reply_invalid_field(req, job->field, "is not your current password");
}

/* A step on the database pool after hashing failed: the attempt was no failure. */
static void signin_attempt_cancel(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);
    const char *params[] = { job->attempt_id };

    (void)db_exec(http_req_db(req), &SQL_ATTEMPT_CANCEL, 1, params, NULL);
    signin_reply_hash_failed(req);
}

static void signin_cookie_set(struct http_req *req, const char *token, int max_age)
{
    char *cookie = xasprintf("%s=%s; HttpOnly; SameSite=Lax; Path=/; Max-Age=%d%s",
        http_req_session_cookie(req), token, max_age,
        http_req_cookie_secure(req) ? "; Secure" : "");

    http_reply_header(req, "Set-Cookie", cookie);
    auth_free_secret(cookie);
}

/* ---- POST /api/v1/auth/sessions ---- */

static void signin_finish(struct http_req *req);

/* On the hashing pool. */
static void signin_verify(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);
    enum auth_verify v;

    if (job->stored_hash == NULL) {
        auth_password_verify_dummy(job->password, job->password_len);
        v = AUTH_VERIFY_MISMATCH;
    } else {
        v = auth_password_verify(job->stored_hash, job->password, job->password_len);
    }
    if (v == AUTH_VERIFY_MISMATCH) {
        /* An unknown email takes this same path, through the same steps. */
        http_req_continue(req, HTTP_POOL_DB, signin_failed);
        return;
    }
    if (v == AUTH_VERIFY_ERROR) {
        http_req_continue(req, HTTP_POOL_DB, signin_attempt_cancel);
        return;
    }
    /* Stale limits: upgrade now, while the password is at hand; a failure here costs nothing. */
    if (auth_password_needs_rehash(job->stored_hash))
        job->have_new_hash =
            auth_password_hash(job->password, job->password_len, job->new_hash) == 0;
    auth_free_secret(job->password);
    job->password = NULL;
    http_req_continue(req, HTTP_POOL_DB, signin_finish);
}

static void signin_finish(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);
    char token[AUTH_TOKEN_SIZE], csrf[AUTH_TOKEN_SIZE];
    char token_digest[AUTH_DIGEST_HEX_SIZE], csrf_digest[AUTH_DIGEST_HEX_SIZE];
    char *text = NULL;
    json_t *result = NULL;

    auth_token_new(token);
    if (auth_csrf_token(token, csrf) == -1)
        csrf[0] = '\0'; /* cannot happen: token is one of ours */
    if (auth_token_digest(token, token_digest) == -1 ||
        auth_token_digest(csrf, csrf_digest) == -1) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    const char *params[] = { job->attempt_id, job->user_id, job->stored_hash,
        job->have_new_hash ? job->new_hash : NULL, token_digest, csrf_digest };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_SIGNIN_FINISH, 6, params, &text);
    if (s == DB_NOT_FOUND) {
        /* The password changed between the check and now. */
        signin_reply_invalid_credentials(req);
        goto out;
    }
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    result = json_loads(text, 0, NULL);
    if (result == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    json_t *reply = json_pack("{s:s, s:s}", "token", token, "csrf_token", csrf);
    json_object_update(reply, result);
    signin_cookie_set(req, token, AUTH_SESSION_ABSOLUTE_S);
    http_reply_no_store(req);
    http_reply_json(req, 201, reply);
out:
    json_decref(result);
    free(text);
    auth_wipe(token, sizeof(token));
    auth_wipe(csrf, sizeof(csrf));
    auth_wipe(token_digest, sizeof(token_digest));
    auth_wipe(csrf_digest, sizeof(csrf_digest));
}

void signin_create(struct http_req *req)
{
    json_t *body = http_req_json(req);
    struct db_result *r = NULL;

    if (api_fields_check_or_reply(req, body, signin_fields, "", true) == -1)
        return;
    const char *params[] = { api_body_string(body, "email"), http_req_client_ip(req) };
    enum db_status s = db_exec(http_req_db(req), &SQL_SIGNIN_BEGIN, 2, params, &r);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    if (atoi(db_result_value(r, 0, 0)) > 0) {
        signin_reply_rate_limited(req, db_result_value(r, 0, 0));
        db_result_free(r);
        return;
    }
    struct signin_job *job = signin_job_new(req);
    snprintf(job->attempt_id, sizeof(job->attempt_id), "%s", db_result_value(r, 0, 1));
    if (db_result_value(r, 0, 2) != NULL)
        snprintf(job->user_id, sizeof(job->user_id), "%s", db_result_value(r, 0, 2));
    if (db_result_value(r, 0, 3) != NULL)
        job->stored_hash = xstrdup(db_result_value(r, 0, 3));
    db_result_free(r);
    job->password = signin_copy_member(req, "password", &job->password_len);
    http_req_continue(req, HTTP_POOL_HASH, signin_verify);
}

/* ---- DELETE /api/v1/auth/sessions/current ---- */

void signin_delete_current(struct http_req *req)
{
    const char *params[] = { http_req_principal(req)->session_id };

    enum db_status s = db_exec(http_req_db(req), &SQL_SESSION_REVOKE, 1, params, NULL);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    signin_cookie_set(req, "", 0);
    http_reply_empty(req, 204);
}

/* ---- POST /api/v1/me/password ---- */

static void signin_password_change_finish(struct http_req *req);

/* On the hashing pool: check the current password, hash the new one. */
static void signin_password_change_hash(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);

    enum auth_verify v = auth_password_verify(job->stored_hash, job->password, job->password_len);
    if (v == AUTH_VERIFY_MISMATCH) {
        http_req_continue(req, HTTP_POOL_DB, signin_current_failed);
        return;
    }
    if (v == AUTH_VERIFY_ERROR ||
        auth_password_hash(job->new_password, job->new_password_len, job->new_hash) == -1) {
        http_req_continue(req, HTTP_POOL_DB, signin_attempt_cancel);
        return;
    }
    http_req_continue(req, HTTP_POOL_DB, signin_password_change_finish);
}

static void signin_password_change_finish(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);
    const struct http_principal *p = http_req_principal(req);
    const char *params[] = { p->user_id, p->session_id, job->attempt_id, job->stored_hash,
        job->new_hash };
    char *ok = NULL;

    enum db_status s = db_exec_value(http_req_db(req), &SQL_PASSWORD_CHANGE_FINISH, 5, params, &ok);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    if (strcmp(ok, "t") == 0)
        http_reply_empty(req, 204);
    else
        http_reply_problem(
            req, 409, "conflict", "The password was changed meanwhile; sign in again.");
    free(ok);
}

/*
 * Step 1 of checking the principal's current password, sent as the body
 * member field: the sign-in failure counter first (a stolen session must
 * not become a password oracle), then the stored hash. Returns the job
 * holding the attempt, the hash and a copy of the password, or NULL after
 * a reply (429, 400 for an account without a password, a database failure).
 */
static struct signin_job *signin_current_begin(struct http_req *req, const char *field)
{
    struct db_result *r = NULL;

    const char *params[] = { http_req_principal(req)->user_id, http_req_client_ip(req) };
    enum db_status s = db_exec(http_req_db(req), &SQL_PASSWORD_CHANGE_BEGIN, 2, params, &r);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return NULL;
    }
    if (atoi(db_result_value(r, 0, 0)) > 0) {
        signin_reply_rate_limited(req, db_result_value(r, 0, 0));
        db_result_free(r);
        return NULL;
    }
    if (db_result_value(r, 0, 2) == NULL) {
        /* The account has no password (or went away under its own session). */
        db_result_free(r);
        http_reply_invalid_field(req, field, "is not your current password");
        return NULL;
    }
    struct signin_job *job = signin_job_new(req);
    snprintf(job->attempt_id, sizeof(job->attempt_id), "%s", db_result_value(r, 0, 1));
    job->stored_hash = xstrdup(db_result_value(r, 0, 2));
    db_result_free(r);
    job->field = field;
    job->password = signin_copy_member(req, field, &job->password_len);
    return job;
}

void signin_password_change(struct http_req *req)
{
    json_t *body = http_req_json(req);

    if (api_fields_check_or_reply(req, body, signin_password_fields, "", true) == -1)
        return;
    struct signin_job *job = signin_current_begin(req, "current_password");
    if (job == NULL)
        return;
    job->new_password = signin_copy_member(req, "new_password", &job->new_password_len);
    http_req_continue(req, HTTP_POOL_HASH, signin_password_change_hash);
}

/* ---- POST /api/v1/auth/password-resets ---- */

void signin_reset_request(struct http_req *req)
{
    json_t *body = http_req_json(req);

    if (api_fields_check_or_reply(req, body, signin_reset_request_fields, "", true) == -1)
        return;
    /* Per client address: a script cannot fill a stranger's mailbox with links. */
    if (api_rate_limit_or_reply(req, "password-reset") == -1)
        return;
    /* The same answer whether or not the account exists. */
    api_reply_link_sent(req, &SQL_RESET_REQUEST, api_body_string(body, "email"));
}

/* ---- POST /api/v1/auth/password-resets/confirm ---- */

static void signin_reply_invalid_token(struct http_req *req)
{
    json_t *extra = json_pack(
        "{s:[{s:s, s:s}]}", "errors", "field", "token", "message", "is not a live reset link");

    http_reply_problem_extra(req, 400, "invalid-token",
        "This reset link is not valid, has been used or has expired. Ask for a new one.", extra);
}

static void signin_reset_finish(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);
    const char *params[] = { job->digest, job->new_hash };
    char *ok = NULL;

    enum db_status s = db_exec_value(http_req_db(req), &SQL_RESET_CONFIRM, 2, params, &ok);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    if (strcmp(ok, "t") == 0)
        http_reply_empty(req, 204);
    else
        signin_reply_invalid_token(req); /* used by a concurrent confirm, or just expired */
    free(ok);
}

/* On the hashing pool. */
static void signin_reset_hash(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);

    if (auth_password_hash(job->new_password, job->new_password_len, job->new_hash) == -1) {
        signin_reply_hash_failed(req);
        return;
    }
    http_req_continue(req, HTTP_POOL_DB, signin_reset_finish);
}

void signin_reset_confirm(struct http_req *req)
{
    json_t *body = http_req_json(req);
    char digest[AUTH_DIGEST_HEX_SIZE];
    char *live = NULL;

    if (api_fields_check_or_reply(req, body, signin_reset_confirm_fields, "", true) == -1)
        return;
    const char *token = api_body_string(body, "token");
    if (auth_token_digest(token, digest) == -1) {
        signin_reply_invalid_token(req);
        return;
    }
    /* A dead token costs one cheap read, not an Argon2 hash. */
    const char *params[] = { digest };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_RESET_CHECK, 1, params, &live);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    if (strcmp(live, "t") != 0) {
        signin_reply_invalid_token(req);
        goto out;
    }
    struct signin_job *job = signin_job_new(req);
    memcpy(job->digest, digest, sizeof(job->digest));
    job->new_password = signin_copy_member(req, "new_password", &job->new_password_len);
    http_req_continue(req, HTTP_POOL_HASH, signin_reset_hash);
out:
    free(live);
    auth_wipe(digest, sizeof(digest));
}

/* ---- confirming the password before another change (signin_password_confirm) ---- */

/* On the hashing pool. */
static void signin_confirm_verify(struct http_req *req)
{
    struct signin_job *job = http_req_data(req);

    enum auth_verify v = auth_password_verify(job->stored_hash, job->password, job->password_len);
    auth_free_secret(job->password);
    job->password = NULL;
    if (v == AUTH_VERIFY_MISMATCH)
        http_req_continue(req, HTTP_POOL_DB, signin_current_failed);
    else if (v == AUTH_VERIFY_ERROR)
        http_req_continue(req, HTTP_POOL_DB, signin_attempt_cancel);
    else
        http_req_continue(req, HTTP_POOL_DB, job->confirmed);
}

void signin_password_confirm(struct http_req *req, const char *field, http_handler *next)
{
    struct signin_job *job = signin_current_begin(req, field);

    if (job == NULL)
        return;
    job->confirmed = next;
    http_req_continue(req, HTTP_POOL_HASH, signin_confirm_verify);
}

const char *signin_confirmed_attempt(const struct http_req *req)
{
    const struct signin_job *job = http_req_data(req);

    return job->attempt_id;
}

const char *signin_confirmed_hash(const struct http_req *req)
{
    const struct signin_job *job = http_req_data(req);

    return job->stored_hash;
}

void signin_confirm_release(struct http_req *req)
{
    const struct signin_job *job = http_req_data(req);
    const char *params[] = { job->attempt_id };

    (void)db_exec(http_req_db(req), &SQL_ATTEMPT_CANCEL, 1, params, NULL);
}

void signin_cookie_clear(struct http_req *req)
{
    signin_cookie_set(req, "", 0);
}
