/* validate.c: input checks and the db_status -> HTTP mapping. See api.h. */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/util.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_reply_app_problem(struct http_req *req, int code, const char *slug, const char *detail)
{
    json_t *extra = NULL;
    const char *text = NULL;

    if (code < 400 || code > 499 || slug == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        return;
    }
    /* DETAIL is JSON from our own SQL: {"detail": "...", "conflicts": [...]} */
    if (detail != NULL) {
        extra = json_loads(detail, 0, NULL);
        if (extra != NULL && json_is_string(json_object_get(extra, "detail")))
            text = json_string_value(json_object_get(extra, "detail"));
    }
    char *copy = text != NULL ? xstrdup(text) : NULL;
    char retry[24] = "";
    if (code == 429 && json_is_integer(json_object_get(extra, "retry_after")))
        snprintf(retry, sizeof(retry), "%lld",
            (long long)json_integer_value(json_object_get(extra, "retry_after")));
    if (json_is_object(extra)) {
        json_object_del(extra, "detail");
    } else {
        json_decref(extra);
        extra = NULL;
    }
    /* Consumes extra. */
    http_reply_problem_extra(req, code, slug, copy, extra);
    /* A limit raised by our SQL says when to come back (rate_limit_take). */
    if (retry[0] != '\0')
        http_reply_header(req, "Retry-After", retry);
    free(copy);
}

void api_reply_db_error(struct http_req *req, enum db_status s)
{
    struct db_conn *db = http_req_db(req);

    switch (s) {
    case DB_OK:
        assert(!"api_reply_db_error called on success");
        break;
    case DB_NOT_FOUND:
        http_reply_problem(req, 404, "not-found", "There is no such thing here.");
        return;
    case DB_CONFLICT:
        http_reply_problem(req, 409, "conflict", "That conflicts with what is already recorded.");
        return;
    case DB_CHECK_VIOLATION:
    case DB_INVALID_INPUT:
        http_reply_problem(req, 400, "invalid-request", "A value in the request is not valid.");
        return;
    case DB_APP_ERROR:
        api_reply_app_problem(req, db != NULL ? db_last_app_code(db) : 500,
            db != NULL ? db_last_app_slug(db) : NULL, db != NULL ? db_last_app_detail(db) : NULL);
        return;
    case DB_UNAVAILABLE:
        http_reply_problem(
            req, 503, "database-unavailable", "The database is not reachable; try again shortly.");
        return;
    case DB_ERROR:
        break;
    }
    http_reply_problem(req, 500, "internal", NULL);
}

static void api_reply_sql_as(struct http_req *req, const struct db_stmt *stmt, int nparams,
    const char *const *params, int status, bool paged)
{
    char *body = NULL;
    enum db_status s = db_exec_value(http_req_db(req), stmt, nparams, params, &body);

    if (s == DB_OK)
        http_reply_json_text(req, status, body);
    else if (paged && s == DB_INVALID_INPUT)
        http_reply_invalid_field(req, "cursor", "is not a cursor this server gave out");
    else
        api_reply_db_error(req, s);
}

void api_reply_sql(struct http_req *req, const struct db_stmt *stmt, int nparams,
    const char *const *params, int status)
{
    api_reply_sql_as(req, stmt, nparams, params, status, false);
}

void api_reply_sql_page(
    struct http_req *req, const struct db_stmt *stmt, int nparams, const char *const *params)
{
    api_reply_sql_as(req, stmt, nparams, params, 200, true);
}

int api_page_or_reply(struct http_req *req, struct api_page *page)
{
    int limit;

    if (api_limit_or_reply(req, &limit) == -1 || api_cursor_or_reply(req, &page->cursor) == -1)
        return -1;
    snprintf(page->limit, sizeof(page->limit), "%d", limit);
    return 0;
}

int api_limit_parse(const char *v, int *limit)
{
    char *end;

    *limit = 50;
    if (v == NULL)
        return 0;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || !isdigit((unsigned char)*v) || *end != '\0' || n < 1 || n > 200)
        return -1;
    *limit = (int)n;
    return 0;
}

int api_limit_or_reply(struct http_req *req, int *limit)
{
    if (api_limit_parse(http_req_query(req, "limit"), limit) == 0)
        return 0;
    http_reply_invalid_field(req, "limit", "must be a whole number from 1 to 200");
    return -1;
}

bool api_cursor_valid(const char *v)
{
    size_t n = strlen(v);
    bool ok = n <= 512 && n % 2 == 0;

    for (const char *p = v; ok && *p != '\0'; p++)
        ok = isxdigit((unsigned char)*p) != 0;
    return ok;
}

int api_cursor_or_reply(struct http_req *req, const char **cursor)
{
    const char *v = http_req_query(req, "cursor");

    *cursor = NULL;
    if (v == NULL || *v == '\0')
        return 0;
    if (!api_cursor_valid(v)) {
        http_reply_invalid_field(req, "cursor", "is not a cursor this server gave out");
        return -1;
    }
    *cursor = v;
    return 0;
}

bool api_uuid_valid(const char *s)
{
    static const int dash[] = { 8, 13, 18, 23 };

    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool want_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
        if (want_dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

int api_uuid_param_or_reply(struct http_req *req, const char *name, const char **out)
{
    const char *v = http_req_param(req, name);

    if (!api_uuid_valid(v)) {
        http_reply_problem(req, 404, "not-found", "There is no such thing here.");
        return -1;
    }
    *out = v;
    return 0;
}

const char *api_viewer(struct http_req *req)
{
    const struct http_principal *p = http_req_principal(req);
    return p->authenticated ? p->user_id : NULL;
}

const char *api_admin_text(struct http_req *req)
{
    return http_req_principal(req)->admin ? "true" : "false";
}

/* ---- getters of bodies a field table has checked (fields.c): they only read ---- */

const char *api_body_string(json_t *body, const char *name)
{
    return body != NULL ? json_string_value(json_object_get(body, name)) : NULL;
}

const char *api_body_int_text(json_t *body, const char *name, char buf[24])
{
    json_t *v = body != NULL ? json_object_get(body, name) : NULL;

    if (!json_is_integer(v))
        return NULL;
    snprintf(buf, 24, "%lld", (long long)json_integer_value(v));
    return buf;
}

bool api_body_has(json_t *body, const char *name)
{
    json_t *v = body != NULL ? json_object_get(body, name) : NULL;

    return v != NULL && !json_is_null(v);
}

void api_reply_link_sent(struct http_req *req, const struct db_stmt *stmt, const char *who)
{
    char token[AUTH_TOKEN_SIZE], digest[AUTH_DIGEST_HEX_SIZE];

    auth_token_new(token);
    if (auth_token_digest(token, digest) == -1) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    const char *params[] = { who, token, digest, api_settings()->public_url };
    enum db_status s = db_exec(http_req_db(req), stmt, 4, params, NULL);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    http_reply_empty(req, 202);
out:
    auth_wipe(token, sizeof(token));
    auth_wipe(digest, sizeof(digest));
}
