/*
 * offerings.c: a course's offerings: list, read, create, change.
 *
 * Who: reads are public (drafts only for the course's directors and
 * admins); writes need a signed-in admin or director of the course, which
 * the SQL functions check (403 forbidden; 404 for a draft the caller may
 * not see). The handlers check the body's shape; SQL checks the rest
 * (time zone, parts, capacity against seats taken) in the same
 * transaction as the write.
 */
#include "registrar/api.h"

#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_OFFERINGS_LIST = { "offerings_list",
    "select registrar.offerings_list($1, $2, $3::integer, $4::integer, $5, $6::uuid, $7::boolean)",
    DB_RETRY_SAFE };
static const struct db_stmt SQL_OFFERING_GET = { "offering_get",
    "select registrar.offering_get($1::uuid, $2::uuid, $3::boolean)", DB_RETRY_SAFE };
static const struct db_stmt SQL_OFFERING_CREATE = { "offering_create",
    "select registrar.offering_create($1::uuid, $2::boolean, $3, $4::jsonb)", 0 };
static const struct db_stmt SQL_OFFERING_UPDATE = { "offering_update",
    "select registrar.offering_update($1::uuid, $2::boolean, $3::uuid, $4::jsonb)", 0 };

void offerings_register(void)
{
    db_stmts_register(&SQL_OFFERINGS_LIST, 1);
    db_stmts_register(&SQL_OFFERING_GET, 1);
    db_stmts_register(&SQL_OFFERING_CREATE, 1);
    db_stmts_register(&SQL_OFFERING_UPDATE, 1);
}

static const char *const offerings_statuses[] = { "draft", "open", "closed", "cancelled", NULL };
static const char *const offerings_currencies[] = { "USD", NULL };
static const char *const offerings_professions[] = { "physician", "nurse", "physician_assistant",
    "social_worker", "chaplain", "psychologist", "pharmacist", "trainee", "other", NULL };

static const struct api_field offerings_part_fields[] = {
    { "name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 100, NULL, NULL, 0, 0 },
    { "starts_on", API_T_DATE, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { "ends_on", API_T_DATE, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

static const struct api_field offerings_credit_fields[] = {
    { "profession", API_T_ENUM, API_REQUIRED, 0, 0, offerings_professions, NULL, 0, 0 },
    { "credit_type", API_T_STRING, API_REQUIRED | API_TEXT, 1, 100, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

static const struct api_field offerings_price_fields[] = {
    { "profession", API_T_ENUM, API_REQUIRED, 0, 0, offerings_professions, NULL, 0, 0 },
    { "amount_cents", API_T_INT, API_REQUIRED, 0, 100000000, NULL, NULL, 0, 0 },
    { "early_amount_cents", API_T_INT, API_NULLABLE, 0, 100000000, NULL, NULL, 0, 0 },
    { "early_until", API_T_DATE, API_NULLABLE, 0, 0, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

static const struct api_field offerings_refund_fields[] = {
    { "until_days_before", API_T_INT, API_REQUIRED, 0, 3650, NULL, NULL, 0, 0 },
    { "refund_percent", API_T_INT, API_REQUIRED, 0, 100, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* The writable members of `offering`; the rest (id, seats...) are the server's. */
const struct api_field offerings_fields[] = {
    { "title", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "status", API_T_ENUM, 0, 0, 0, offerings_statuses, NULL, 0, 0 },
    { "starts_on", API_T_DATE, 0, 0, 0, NULL, NULL, 0, 0 },
    { "ends_on", API_T_DATE, 0, 0, 0, NULL, NULL, 0, 0 },
    { "parts", API_T_OBJECTS, 0, 1, 20, NULL, offerings_part_fields, 0, 0 },
    { "requires_application", API_T_BOOL, 0, 0, 0, NULL, NULL, 0, 0 },
    { "credit_types", API_T_OBJECTS, 0, 0, 9, NULL, offerings_credit_fields, 0, 0 },
    { "timezone", API_T_STRING, API_REQUIRED | API_NO_TRIM | API_TEXT, 1, 64, NULL, NULL, 0, 0 },
    { "venue", API_T_STRING, API_NULLABLE | API_TEXT, 0, 300, NULL, NULL, 0, 0 },
    { "capacity", API_T_INT, API_REQUIRED, 0, 100000, NULL, NULL, 0, 0 },
    { "registration_opens_at", API_T_DATETIME, API_NULLABLE, 0, 0, NULL, NULL, 0, 0 },
    { "registration_closes_at", API_T_DATETIME, API_NULLABLE, 0, 0, NULL, NULL, 0, 0 },
    { "hold_minutes", API_T_INT, 0, 1, 10080, NULL, NULL, 0, 0 },
    { "approval_hold_days", API_T_INT, 0, 1, 365, NULL, NULL, 0, 0 },
    { "max_credits", API_T_NUMBER, API_NULLABLE, 0, 9999, NULL, NULL, 0, 0 },
    { "prices", API_T_OBJECTS, 0, 0, 9, NULL, offerings_price_fields, 0, 0 },
    { "currency", API_T_ENUM, 0, 0, 0, offerings_currencies, NULL, 0, 0 },
    { "cancellation_policy", API_T_OBJECTS, 0, 0, 20, NULL, offerings_refund_fields, 0, 0 },
    /* Printed on certificates; null: the default AMA PRA Category 1 wording (schema/0013). */
    { "accreditation_statement", API_T_STRING, API_NULLABLE | API_MULTILINE, 1, 2000, NULL, NULL, 0,
        0 },
    { "designation_statement", API_T_STRING, API_NULLABLE | API_MULTILINE, 1, 2000, NULL, NULL, 0,
        0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

void offerings_list(struct http_req *req)
{
    static const char *const statuses[] = { "draft", "open", "closed", "cancelled", NULL };
    const char *course = http_req_query(req, "course");
    const char *status = http_req_query(req, "status");
    const char *year = http_req_query(req, "year");
    struct api_page page;

    if (api_page_or_reply(req, &page) == -1)
        return;
    if (course != NULL && (*course == '\0' || strlen(course) > 64)) {
        http_reply_invalid_field(req, "course", "must be a course slug");
        return;
    }
    if (status != NULL) {
        bool known = false;
        for (const char *const *s = statuses; *s != NULL; s++)
            known = known || strcmp(*s, status) == 0;
        if (!known) {
            http_reply_invalid_field(
                req, "status", "must be one of draft, open, closed, cancelled");
            return;
        }
    }
    if (year != NULL) {
        char *end;
        long y = strtol(year, &end, 10);
        if (*year == '\0' || *end != '\0' || y < 1 || y > 9998) {
            http_reply_invalid_field(req, "year", "must be a year such as 2027");
            return;
        }
    }
    const char *params[] = { course, status, year, page.limit, page.cursor, api_viewer(req),
        api_admin_text(req) };
    api_reply_sql_page(req, &SQL_OFFERINGS_LIST, 7, params);
}

void offerings_get(struct http_req *req)
{
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    const char *params[] = { id, api_viewer(req), api_admin_text(req) };
    api_reply_sql(req, &SQL_OFFERING_GET, 3, params, 200);
}

/* Runs a write statement whose last parameter is the checked body. */
static void offerings_write(
    struct http_req *req, const struct db_stmt *stmt, const char *target, int status)
{
    json_t *obj = http_req_json(req);
    char *text = json_dumps(obj, JSON_COMPACT);
    char *body = NULL;

    const char *params[] = { api_viewer(req), api_admin_text(req), target, text };
    enum db_status s = db_exec_value(http_req_db(req), stmt, 4, params, &body);
    free(text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    if (status == 201) {
        json_t *created = json_loads(body, 0, NULL);
        const char *id = json_string_value(json_object_get(created, "id"));
        if (id != NULL) {
            char *location = xasprintf("/api/v1/offerings/%s", id);
            http_reply_header(req, "Location", location);
            free(location);
        }
        json_decref(created);
    }
    http_reply_json_text(req, status, body);
}

void offerings_create(struct http_req *req)
{
    json_t *obj = http_req_json(req);

    if (api_fields_check_or_reply(req, obj, offerings_fields, "", true) == -1)
        return;
    if (json_object_get(obj, "parts") == NULL &&
        (json_object_get(obj, "starts_on") == NULL || json_object_get(obj, "ends_on") == NULL)) {
        http_reply_invalid_field(req,
            json_object_get(obj, "starts_on") == NULL ? "starts_on" : "ends_on",
            "is required (or give the parts)");
        return;
    }
    offerings_write(req, &SQL_OFFERING_CREATE, http_req_param(req, "slug"), 201);
}

void offerings_update(struct http_req *req)
{
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return;
    if (api_fields_check_or_reply(req, http_req_json(req), offerings_fields, "", false) == -1)
        return;
    offerings_write(req, &SQL_OFFERING_UPDATE, id, 200);
}
