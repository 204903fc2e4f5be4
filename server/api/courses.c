/* courses.c: the catalog's courses. Reads are SQL functions returning JSON. */
#include "registrar/api.h"

#include <stdio.h>
#include <stdlib.h>

static const struct db_stmt SQL_COURSES_LIST = {
    "courses_list", "select registrar.courses_list($1::integer, $2)", DB_RETRY_SAFE
};
static const struct db_stmt SQL_COURSE_GET = {
    "course_get", "select registrar.course_get($1, $2::uuid)", DB_RETRY_SAFE
};

void courses_register(void)
{
    db_stmts_register(&SQL_COURSES_LIST, 1);
    db_stmts_register(&SQL_COURSE_GET, 1);
}

void courses_list(struct http_req *req)
{
    int limit;
    const char *cursor;
    char limit_text[16];
    char *body = NULL;

    if (api_limit_or_reply(req, &limit) == -1 || api_cursor_or_reply(req, &cursor) == -1)
        return;
    snprintf(limit_text, sizeof(limit_text), "%d", limit);
    const char *params[] = { limit_text, cursor };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_COURSES_LIST, 2, params, &body);
    if (s == DB_INVALID_INPUT) {
        http_reply_invalid_field(req, "cursor", "is not a cursor this server gave out");
        return;
    }
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_json_text(req, 200, body);
}

void courses_get(struct http_req *req)
{
    const char *params[] = { http_req_param(req, "slug"), api_viewer(req) };
    char *body = NULL;

    enum db_status s = db_exec_value(http_req_db(req), &SQL_COURSE_GET, 2, params, &body);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_json_text(req, 200, body);
}
