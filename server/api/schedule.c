/*
 * schedule.c: an offering's schedule (its sessions) and the calendars
 * made of it.
 *
 * Who: reads are public (a draft offering's only for its directors and
 * admins); writes need a signed-in admin or director of the course, which
 * the SQL functions check. The clash and range rules are the database's
 * (exclusion constraints and the writing function, schema/0003): 409
 * schedule-conflict with the clashing ids, 422 outside-offering.
 *
 * Calendars: the SQL returns the events as JSON and render/ical.c writes
 * RFC 5545 with libical. The personal feed is found by the keyed digest
 * of its token (auth.h); the token itself is shown once, at creation.
 */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/ical.h"
#include "registrar/log.h"
#include "registrar/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_SESSIONS_LIST = { "offering_sessions",
    "select registrar.offering_sessions($1::uuid, $2::integer, $3, $4::uuid, $5::boolean)",
    DB_RETRY_SAFE };
static const struct db_stmt SQL_SESSION_CREATE = { "session_create",
    "select registrar.session_create($1::uuid, $2::boolean, $3::uuid, $4::jsonb)", 0 };
static const struct db_stmt SQL_SESSION_UPDATE = { "session_update",
    "select registrar.session_update($1::uuid, $2::boolean, $3::uuid, $4::jsonb)", 0 };
static const struct db_stmt SQL_SESSION_DELETE = { "session_delete",
    "select registrar.session_delete($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_OFFERING_CALENDAR = { "offering_calendar",
    "select registrar.offering_calendar($1::uuid, $2::uuid, $3::boolean)", DB_RETRY_SAFE };
static const struct db_stmt SQL_CALENDAR_FEED = { "calendar_feed",
    "select registrar.calendar_feed(decode($1, 'hex'))", DB_RETRY_SAFE };
static const struct db_stmt SQL_CALENDAR_TOKEN_SET = { "calendar_token_set",
    "select registrar.calendar_token_set($1::uuid, decode($2, 'hex'))", DB_RETRY_SAFE };

void schedule_register(void)
{
    db_stmts_register(&SQL_SESSIONS_LIST, 1);
    db_stmts_register(&SQL_SESSION_CREATE, 1);
    db_stmts_register(&SQL_SESSION_UPDATE, 1);
    db_stmts_register(&SQL_SESSION_DELETE, 1);
    db_stmts_register(&SQL_OFFERING_CALENDAR, 1);
    db_stmts_register(&SQL_CALENDAR_FEED, 1);
    db_stmts_register(&SQL_CALENDAR_TOKEN_SET, 1);
}

static const char *const schedule_kinds[] = { "plenary", "workshop", "small_group", "break", NULL };

/* The writable members of `session`. */
const struct api_field schedule_fields[] = {
    { "title", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "kind", API_T_ENUM, API_REQUIRED, 0, 0, schedule_kinds, NULL, 0, 0 },
    { "description", API_T_STRING, API_NULLABLE | API_MULTILINE, 0, 4000, NULL, NULL, 0, 0 },
    { "starts_at", API_T_DATETIME, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { "ends_at", API_T_DATETIME, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { "room", API_T_STRING, API_NULLABLE | API_TEXT, 0, 100, NULL, NULL, 0, 0 },
    { "faculty", API_T_STRINGS, API_TEXT, 0, 20, NULL, NULL, 1, 200 },
    { "capacity", API_T_INT, API_NULLABLE, 1, 100000, NULL, NULL, 0, 0 },
    { "credit_hours", API_T_NUMBER, 0, 0, 100, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* POST /me/calendar-token takes no members (an empty object or no body). */
const struct api_field schedule_token_fields[] = {
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

void schedule_list(struct http_req *req)
{
    const char *id;
    struct api_page page;

    if (api_uuid_param_or_reply(req, "id", &id) == -1 || api_page_or_reply(req, &page) == -1)
        return;
    const char *params[] = { id, page.limit, page.cursor, api_viewer(req), api_admin_text(req) };
    api_reply_sql_page(req, &SQL_SESSIONS_LIST, 5, params);
}

/* Runs a session write with the checked body; replies with the session. */
static void schedule_write(
    struct http_req *req, const struct db_stmt *stmt, const char *target, int status)
{
    char *text = json_dumps(http_req_json(req), JSON_COMPACT);
    const char *params[] = { api_viewer(req), api_admin_text(req), target, text };

    api_reply_sql(req, stmt, 4, params, status);
    free(text);
}

void schedule_create(struct http_req *req)
{
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    if (api_fields_check_or_reply(req, http_req_json(req), schedule_fields, "", true) == -1)
        return;
    schedule_write(req, &SQL_SESSION_CREATE, id, 201);
}

void schedule_update(struct http_req *req)
{
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    if (api_fields_check_or_reply(req, http_req_json(req), schedule_fields, "", false) == -1)
        return;
    schedule_write(req, &SQL_SESSION_UPDATE, id, 200);
}

void schedule_delete(struct http_req *req)
{
    const char *id;
    char *body = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_SESSION_DELETE, 3, params, &body);
    free(body);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_empty(req, 204);
}

/* Renders a calendar document (JSON text, consumed) as text/calendar. */
static void schedule_reply_calendar(struct http_req *req, char *json_text, const char *filename)
{
    json_t *doc = json_loads(json_text, 0, NULL);
    size_t len = 0;
    char *ics;

    free(json_text);
    ics = doc != NULL ? ical_render(doc, &len) : NULL;
    json_decref(doc);
    if (ics == NULL) {
        log_msg(LOG_ERROR, "calendar could not be rendered");
        http_reply_problem(req, 500, "internal", NULL);
        return;
    }
    char *disposition = xasprintf("inline; filename=\"%s\"", filename);
    http_reply_header(req, "Content-Disposition", disposition);
    free(disposition);
    http_reply_body(req, 200, "text/calendar; charset=utf-8", ics, len);
}

void schedule_offering_ics(struct http_req *req)
{
    const char *id;
    char *body = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    const char *params[] = { id, api_viewer(req), api_admin_text(req) };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_OFFERING_CALENDAR, 3, params, &body);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    schedule_reply_calendar(req, body, "schedule.ics");
}

void schedule_feed_ics(struct http_req *req)
{
    char digest[AUTH_DIGEST_HEX_SIZE];
    char *body = NULL;

    /* Whoever holds the token reads the feed: the token is the credential. */
    http_reply_no_store(req);
    if (auth_token_digest(http_req_param(req, "feed_token"), digest) == -1) {
        http_reply_problem(req, 404, "not-found", "There is no such calendar.");
        return;
    }
    const char *params[] = { digest };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_CALENDAR_FEED, 1, params, &body);
    auth_wipe(digest, sizeof(digest));
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    schedule_reply_calendar(req, body, "registrar.ics");
}

/* The Host header when it is a plain host[:port], else NULL. */
static const char *schedule_host(struct http_req *req)
{
    const char *host = http_req_header(req, "Host");

    if (host == NULL || *host == '\0' || strlen(host) > 255)
        return NULL;
    for (const char *p = host; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && strchr(".-:[]", *p) == NULL)
            return NULL;
    return host;
}

void schedule_calendar_token(struct http_req *req)
{
    char token[AUTH_TOKEN_SIZE];
    char digest[AUTH_DIGEST_HEX_SIZE];
    char *body = NULL;
    char *path = NULL, *url = NULL;

    if (api_fields_check_or_reply(req, http_req_json(req), schedule_token_fields, "", true) == -1)
        return;
    auth_token_new(token);
    if (auth_token_digest(token, digest) == -1) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    const char *params[] = { api_viewer(req), digest };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_CALENDAR_TOKEN_SET, 2, params, &body);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    path = xasprintf("/api/v1/calendar/%s.ics", token);
    const char *host = schedule_host(req);
    url = host != NULL
              ? xasprintf("%s://%s%s", http_req_cookie_secure(req) ? "https" : "http", host, path)
              : xstrdup(path);
    http_reply_no_store(req);
    http_reply_json(req, 201, json_pack("{s:s, s:s}", "feed_url", url, "feed_path", path));
out:
    auth_wipe(token, sizeof(token));
    auth_wipe(digest, sizeof(digest));
    if (url != NULL)
        auth_free_secret(url);
    if (path != NULL)
        auth_free_secret(path);
    free(body);
}
