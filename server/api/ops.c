/* ops.c: health, readiness, metrics and the OpenAPI document. */
#include "registrar/api.h"

#include "registrar/metrics.h"
#include "registrar/util.h"

#include <stdio.h>
#include <string.h>

/* Generated at build time from server/api/openapi.json (scripts/embed.py). */
extern const char api_openapi_json[];
extern const size_t api_openapi_json_len;

void ops_healthz(struct http_req *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void ops_readyz(struct http_req *req)
{
    int version = db_schema_version(http_req_db(req));

    if (version == -1) {
        http_reply_problem(req, 503, "database-unavailable", "The database is not reachable.");
    } else if (version > DB_SCHEMA_VERSION) {
        char *detail = xasprintf("The database schema (%d) is newer than this server knows (%d).",
            version, DB_SCHEMA_VERSION);
        http_reply_problem(req, 503, "database-unavailable", detail);
        free(detail);
    } else if (version < DB_SCHEMA_VERSION) {
        char *detail =
            xasprintf("Migrations are pending: the database is at %d, this server needs %d.",
                version, DB_SCHEMA_VERSION);
        http_reply_problem(req, 503, "database-unavailable", detail);
        free(detail);
    } else {
        char *problem = NULL;
        enum db_status s = db_schema_check(http_req_db(req), &problem);
        if (s != DB_OK)
            http_reply_problem(req, 503, "database-unavailable", "The database is not reachable.");
        else if (problem != NULL)
            http_reply_problem(req, 503, "database-unavailable", problem);
        else
            http_reply_json(
                req, 200, json_pack("{s:s, s:i}", "status", "ready", "schema_version", version));
        free(problem);
    }
}

void ops_metrics(struct http_req *req)
{
    size_t len;
    struct sbuf sb = SBUF_INIT;
    char *text = metrics_render();

    sbuf_adds(&sb, text);
    free(text);
    text = sbuf_detach(&sb, &len);
    http_reply_body(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

void ops_openapi(struct http_req *req)
{
    http_reply_body(req, 200, "application/json", xstrndup(api_openapi_json, api_openapi_json_len),
        api_openapi_json_len);
}
