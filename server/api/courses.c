/* courses.c: the catalog's courses. Reads are SQL functions returning JSON. */
#include "registrar/api.h"

#include <stdio.h>
#include <stdlib.h>

static const struct db_stmt SQL_COURSES_LIST = { "courses_list",
    "select registrar.courses_list($1::integer, $2)", DB_RETRY_SAFE };
static const struct db_stmt SQL_COURSE_GET = { "course_get",
    "select registrar.course_get($1, $2::uuid)", DB_RETRY_SAFE };

void courses_register(void)
{
    db_stmts_register(&SQL_COURSES_LIST, 1);
    db_stmts_register(&SQL_COURSE_GET, 1);
}

void courses_list(struct http_req *req)
{
    struct api_page page;

    if (api_page_or_reply(req, &page) == -1)
        return;
    const char *params[] = { page.limit, page.cursor };
    api_reply_sql_page(req, &SQL_COURSES_LIST, 2, params);
}

void courses_get(struct http_req *req)
{
    const char *params[] = { http_req_param(req, "slug"), api_viewer(req) };

    api_reply_sql(req, &SQL_COURSE_GET, 2, params, 200);
}
