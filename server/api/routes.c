/*
 * routes.c: the one route table. Who may call each route is stated here;
 * finer rights (a course's director, a learner's own objects) are checked
 * by the handler in the same SQL that reads the object.
 */
#include "registrar/api.h"

#include "registrar/util.h"

static const struct http_route api_table[] = {
    /* Operations */
    { "GET", "/healthz", ops_healthz, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_INLINE },
    { "GET", "/readyz", ops_readyz, HTTP_ANYONE, HTTP_BODY_NONE, 0 },
    { "GET", "/metrics", ops_metrics, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_INLINE },
    { "GET", "/api/v1/openapi.json", ops_openapi, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_INLINE | HTTP_ETAG },

    /* Catalog */
    { "GET", "/api/v1/courses", courses_list, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE },
    { "GET", "/api/v1/courses/{slug}", courses_get, HTTP_ANYONE, HTTP_BODY_NONE, HTTP_PUBLIC_CACHE },
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
}
