/*
 * routes.c: the one route table. Who may call each route is stated here;
 * finer rights (a course's director, a learner's own objects) are checked
 * by the handler in the same SQL that reads the object.
 */
#include "registrar/api.h"

#include "registrar/util.h"

static const struct http_route api_table[] = {
    /* Operations */
    { "GET", "/healthz", ops_healthz, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_INLINE | HTTP_OPS, NULL },
    { "GET", "/readyz", ops_readyz, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_OPS, NULL },
    /* Not public: Bearer REGISTRAR_METRICS_TOKEN, or the admin address. */
    { "GET", "/metrics", ops_metrics, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_INLINE | HTTP_OPS | HTTP_PRIVATE, NULL },
    { "GET", "/api/v1/openapi.json", ops_openapi, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_INLINE | HTTP_ETAG, NULL },

    /* Catalog */
    { "GET", "/api/v1/courses", courses_list, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE,
        "limit,cursor" },
    { "GET", "/api/v1/courses/{slug}", courses_get, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE,
        NULL },
    { "PUT", "/api/v1/courses/{slug}/directors/{user_id}", accounts_director_grant, HTTP_ADMIN,
        HTTP_BODY_NONE, 0, NULL },
    { "DELETE", "/api/v1/courses/{slug}/directors/{user_id}", accounts_director_revoke, HTTP_ADMIN,
        HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/offerings", offerings_list, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE,
        "course,status,year,limit,cursor" },
    { "GET", "/api/v1/offerings/{id}", offerings_get, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_PUBLIC_CACHE, NULL },
    { "POST", "/api/v1/courses/{slug}/offerings", offerings_create, HTTP_SIGNED_IN, HTTP_BODY_JSON,
        0, NULL },
    { "PATCH", "/api/v1/offerings/{id}", offerings_update, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },

    /* Schedule (directorship is checked in the SQL) */
    { "GET", "/api/v1/offerings/{id}/sessions", schedule_list, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_PUBLIC_CACHE, "limit,cursor" },
    { "POST", "/api/v1/offerings/{id}/sessions", schedule_create, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },
    { "PATCH", "/api/v1/sessions/{id}", schedule_update, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0, NULL },
    { "DELETE", "/api/v1/sessions/{id}", schedule_delete, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0, NULL },
    { "GET", "/api/v1/offerings/{id}/schedule.ics", schedule_offering_ics, HTTP_ANYONE,
        HTTP_BODY_NONE, HTTP_PUBLIC_CACHE, NULL },
    { "GET", "/api/v1/calendar/{feed_token}.ics", schedule_feed_ics, HTTP_ANYONE, HTTP_BODY_NONE,
        HTTP_ETAG, NULL },
    { "POST", "/api/v1/me/calendar-token", schedule_calendar_token, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },

    /* Enrollment and payment (ownership and directorship are checked in the SQL) */
    { "POST", "/api/v1/offerings/{id}/enrollments", enrollments_create, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "GET", "/api/v1/offerings/{id}/price", enrollments_quote, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "discount_code" },
    { "GET", "/api/v1/me/enrollments", enrollments_mine, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "limit,cursor" },
    { "GET", "/api/v1/enrollments/{id}", enrollments_get, HTTP_SIGNED_IN, HTTP_BODY_NONE, HTTP_ETAG,
        NULL },
    { "POST", "/api/v1/enrollments/{id}/payments", payments_create, HTTP_SIGNED_IN, HTTP_BODY_JSON,
        0, NULL },
    { "POST", "/api/v1/enrollments/{id}/cancel", enrollments_cancel, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/approve", enrollments_approve, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "POST", "/api/v1/enrollments/{id}/reject", enrollments_reject, HTTP_SIGNED_IN,
        HTTP_BODY_JSON_OPTIONAL, 0, NULL },
    { "PUT", "/api/v1/enrollments/{id}/sessions", enrollments_sessions_set, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/offerings/{id}/discount-codes", enrollments_discount_create, HTTP_SIGNED_IN,
        HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/payments/webhook", payments_webhook_receive, HTTP_ANYONE, HTTP_BODY_RAW, 0,
        NULL },

    /* Rosters */
    { "GET", "/api/v1/offerings/{id}/roster", rosters_get, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "status,format,limit,cursor" },
    { "GET", "/api/v1/offerings/{id}/waitlist", rosters_waitlist, HTTP_SIGNED_IN, HTTP_BODY_NONE, 0,
        "limit,cursor" },

    /* Accounts and sign-in sessions */
    { "POST", "/api/v1/accounts", accounts_create, HTTP_ANYONE, HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/auth/sessions", signin_create, HTTP_ANYONE, HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/auth/sessions/current", accounts_session_current, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "DELETE", "/api/v1/auth/sessions/current", signin_delete_current, HTTP_SIGNED_IN,
        HTTP_BODY_NONE, 0, NULL },
    { "POST", "/api/v1/auth/password-resets", signin_reset_request, HTTP_ANYONE, HTTP_BODY_JSON, 0,
        NULL },
    { "POST", "/api/v1/auth/password-resets/confirm", signin_reset_confirm, HTTP_ANYONE,
        HTTP_BODY_JSON, 0, NULL },
    { "GET", "/api/v1/me", accounts_me_get, HTTP_SIGNED_IN, HTTP_BODY_NONE, HTTP_ETAG, NULL },
    { "PATCH", "/api/v1/me", accounts_me_update, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0, NULL },
    { "POST", "/api/v1/me/password", signin_password_change, HTTP_SIGNED_IN, HTTP_BODY_JSON, 0,
        NULL },
};

const struct http_route *api_routes(size_t *n)
{
    *n = UTIL_ARRAY_LEN(api_table);
    return api_table;
}

void api_register_statements(void)
{
    size_t n;
    const struct db_stmt *s = db_migrate_statements(&n);

    db_stmts_register(s, n);
    courses_register();
    accounts_register();
    offerings_register();
    schedule_register();
    enrollments_register();
    payments_register();
    rosters_register();
}
