/*
 * admin.c: running the catalog and the people of the centre: courses
 * created (admin) and changed (admin, the course's director), accounts
 * found and read (admin), the admin role given and taken.
 *
 * Who: the route table lets only admins through, except PATCH of a course,
 * whose directorship the SQL function checks. Every change and every read
 * of a person's record writes an audit row in the same SQL function.
 */
#include "registrar/api.h"

#include "registrar/util.h"

#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_COURSE_CREATE = { "course_create",
    "select registrar.course_create($1::uuid, $2::jsonb)", 0 };
static const struct db_stmt SQL_COURSE_UPDATE = { "course_update",
    "select registrar.course_update($1::uuid, $2::boolean, $3, $4::jsonb)", 0 };
static const struct db_stmt SQL_USERS_LIST = { "users_list",
    "select registrar.users_list($1, $2::integer, $3)", DB_RETRY_SAFE };
static const struct db_stmt SQL_USER_GET = { "user_get",
    "select registrar.user_get($1::uuid, $2::uuid)", 0 };
static const struct db_stmt SQL_USER_ADMIN_SET = { "user_admin_set",
    "select registrar.user_admin_set($1::uuid, $2::uuid, $3::boolean)", 0 };

void admin_register(void)
{
    const struct db_stmt *all[] = { &SQL_COURSE_CREATE, &SQL_COURSE_UPDATE, &SQL_USERS_LIST,
        &SQL_USER_GET, &SQL_USER_ADMIN_SET };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(all); i++)
        db_stmts_register(all[i], 1);
}

/* ---- field tables ---- */

/* The slug is the course's address: given once, never changed. */
const struct api_field admin_course_create_fields[] = {
    { "slug", API_T_STRING, API_REQUIRED | API_CODE, 1, 64, NULL, NULL, 0, 0 },
    { "title", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "summary", API_T_STRING, API_MULTILINE, 0, 4000, NULL, NULL, 0, 0 },
    { "credit_type", API_T_STRING, API_REQUIRED | API_TEXT, 1, 100, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field admin_course_update_fields[] = {
    { "title", API_T_STRING, API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "summary", API_T_STRING, API_MULTILINE, 0, 4000, NULL, NULL, 0, 0 },
    { "credit_type", API_T_STRING, API_TEXT, 1, 100, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* ---- courses ---- */

/* Runs stmt with the principal and the body as its last parameter; replies status. */
static void admin_course_write(
    struct http_req *req, const struct db_stmt *stmt, int nparams, const char **params, int status)
{
    char *text = json_dumps(http_req_json(req), JSON_COMPACT);
    char *body = NULL;

    params[nparams - 1] = text;
    enum db_status s = db_exec_value(http_req_db(req), stmt, nparams, params, &body);
    free(text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    if (status == 201) {
        json_t *made = json_loads(body, 0, NULL);
        const char *slug = json_string_value(json_object_get(made, "slug"));
        if (slug != NULL) {
            char *location = xasprintf("/api/v1/courses/%s", slug);
            http_reply_header(req, "Location", location);
            free(location);
        }
        json_decref(made);
    }
    http_reply_json_text(req, status, body);
}

void admin_course_create(struct http_req *req)
{
    json_t *obj = http_req_json(req);

    if (api_fields_check_or_reply(req, obj, admin_course_create_fields, "", true) == -1)
        return;
    /* The slug's shape is courses' CHECK constraint (400 when it fails). */
    const char *params[] = { api_viewer(req), NULL };
    admin_course_write(req, &SQL_COURSE_CREATE, 2, params, 201);
}

void admin_course_update(struct http_req *req)
{
    if (api_fields_check_or_reply(req, http_req_json(req), admin_course_update_fields, "", false) ==
        -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), http_req_param(req, "slug"),
        NULL };
    admin_course_write(req, &SQL_COURSE_UPDATE, 4, params, 200);
}

/* ---- people ---- */

void admin_users_list(struct http_req *req)
{
    const char *q = http_req_query(req, "q");
    struct api_page page;

    if (api_page_or_reply(req, &page) == -1)
        return;
    if (q != NULL) {
        const char *why = api_text_problem(q, API_TEXT);
        if (strlen(q) > 200 || why != NULL) {
            http_reply_invalid_field(
                req, "q", why != NULL ? why : "must be at most 200 characters");
            return;
        }
    }
    const char *params[] = { q, page.limit, page.cursor };
    api_reply_sql_page(req, &SQL_USERS_LIST, 3, params);
}

void admin_user_get(struct http_req *req)
{
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    const char *params[] = { api_viewer(req), id };
    api_reply_sql(req, &SQL_USER_GET, 2, params, 200);
}

static void admin_user_admin_set(struct http_req *req, bool grant)
{
    const char *id;
    char *text = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    const char *params[] = { api_viewer(req), id, grant ? "true" : "false" };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_USER_ADMIN_SET, 3, params, &text);
    free(text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    http_reply_empty(req, 204);
}

void admin_user_admin_grant(struct http_req *req)
{
    admin_user_admin_set(req, true);
}

void admin_user_admin_revoke(struct http_req *req)
{
    admin_user_admin_set(req, false);
}
