/*
 * server.c: libmicrohttpd glue: request lifecycle, dispatch to the worker
 * pools through suspend/resume, replies and security headers. See http.h.
 */
#include "registrar/http.h"

#include "registrar/body.h"
#include "registrar/cache.h"
#include "registrar/db.h"
#include "registrar/etag.h"
#include "registrar/log.h"
#include "registrar/metrics.h"
#include "registrar/problem.h"
#include "registrar/router.h"
#include "registrar/util.h"
#include "registrar/workq.h"
#include "http_internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_MAX_BODY BODY_MAX_BYTES
#define HTTP_CACHE_TTL_MS 1000

struct http_kv {
    char *name;
    char *value;
};

/* One listening address: the main one, or the admin one (operations routes only). */
struct http_listener {
    struct http_server *srv;
    struct MHD_Daemon *daemon; /* NULL: not listening */
    unsigned short port;
    bool admin;
};

struct http_server {
    struct http_listener main, admin;
    struct http_server_config config;
    struct workq *hashq;
    struct workq *payq;
    atomic_int in_flight;
};

enum http_state { HTTP_READING, HTTP_RUNNING, HTTP_READY };

struct http_req {
    struct http_server *srv;
    bool on_admin; /* came in on the admin address */
    struct MHD_Connection *conn;
    enum http_state state;
    char id[72];
    char method[16];
    char *path;
    int64_t start_us;
    char client_ip[INET6_ADDRSTRLEN];
    int peer_family; /* the socket's peer, AF_INET or AF_INET6 (0: unknown) */
    uint8_t peer_addr[16];

    struct sbuf body;
    bool too_large;
    json_t *json;
    struct http_kv *headers, *query;
    size_t nheaders, nquery;

    struct router_match match;
    const struct http_route *route;
    const char *route_name; /* for logs and metrics; static storage */

    char *token;
    bool token_via_cookie;
    struct http_principal principal;
    struct db_conn *db;
    bool first_step_done;
    http_handler *next;
    enum http_pool next_pool;
    void (*park)(void *arg, struct db_conn *db); /* set by http_req_park */
    void *park_arg;
    void *data;
    void (*data_free)(void *);
    char *cache_key; /* set when the reply may be stored in the public cache */

    bool replied;
    int status;
    char *reply_body;
    size_t reply_len;
    char *content_type;
    struct http_kv *reply_headers;
    size_t nreply_headers;
    bool no_store;
    bool docs_page; /* /api/docs: its own Content-Security-Policy */
    bool background; /* a public cache refresh: no connection, its answer is stored */
};

/* ---- accessors ---- */

const char *http_req_method(const struct http_req *req)
{
    return req->method;
}
const char *http_req_route(const struct http_req *req)
{
    return req->route_name;
}
const char *http_req_id(const struct http_req *req)
{
    return req->id;
}
const char *http_req_path(const struct http_req *req)
{
    return req->path;
}
const char *http_req_client_ip(const struct http_req *req)
{
    return req->client_ip;
}
const struct http_principal *http_req_principal(const struct http_req *req)
{
    return &req->principal;
}
struct db_conn *http_req_db(const struct http_req *req)
{
    return req->db;
}
json_t *http_req_json(const struct http_req *req)
{
    return req->json;
}
bool http_req_cookie_secure(const struct http_req *req)
{
    return req->srv->config.cookie_secure;
}
const char *http_req_session_cookie(const struct http_req *req)
{
    return req->srv->config.cookie_secure ? HTTP_SESSION_COOKIE_SECURE : HTTP_SESSION_COOKIE;
}
void *http_req_data(const struct http_req *req)
{
    return req->data;
}

const char *http_req_param(const struct http_req *req, const char *name)
{
    for (int i = 0; i < req->match.nparams; i++)
        if (strcmp(req->match.names[i], name) == 0)
            return req->match.values[i];
    return NULL;
}

static const char *http_kv_find(const struct http_kv *kv, size_t n, const char *name, bool nocase)
{
    for (size_t i = 0; i < n; i++)
        if ((nocase ? strcasecmp(kv[i].name, name) : strcmp(kv[i].name, name)) == 0)
            return kv[i].value;
    return NULL;
}

const char *http_req_query(const struct http_req *req, const char *name)
{
    return http_kv_find(req->query, req->nquery, name, false);
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return http_kv_find(req->headers, req->nheaders, name, true);
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
    if (len != NULL)
        *len = req->body.len;
    return req->body.len > 0 ? req->body.buf : NULL;
}

void http_req_set_data(struct http_req *req, void *data, void (*free_fn)(void *))
{
    if (req->data_free != NULL)
        req->data_free(req->data);
    req->data = data;
    req->data_free = free_fn;
}

void http_req_continue(struct http_req *req, enum http_pool pool, http_handler *next)
{
    assert(!req->replied);
    req->next = next;
    req->next_pool = pool;
}

static void http_run(struct http_req *req, struct db_conn *db);

void http_req_park(struct http_req *req, void (*park)(void *arg, struct db_conn *db), void *arg)
{
    assert(!req->replied && req->next == NULL && req->park == NULL);
    req->park = park;
    req->park_arg = arg;
}

void http_req_wake(struct http_req *req, struct db_conn *db, http_handler *next)
{
    assert(req->state == HTTP_RUNNING && !req->replied);
    req->next = next;
    http_run(req, db);
}

/* ---- replies ---- */

void http_reply_body(
    struct http_req *req, int status, const char *content_type, char *body, size_t len)
{
    assert(!req->replied);
    req->replied = true;
    req->status = status;
    req->reply_body = body;
    req->reply_len = len;
    req->content_type = content_type != NULL ? xstrdup(content_type) : NULL;
}

void http_reply_json(struct http_req *req, int status, json_t *body)
{
    size_t len = 0;
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(body);
    if (text != NULL)
        len = strlen(text);
    http_reply_body(req, status, "application/json", text, len);
}

void http_reply_json_text(struct http_req *req, int status, char *text)
{
    http_reply_body(req, status, "application/json", text, strlen(text));
}

void http_reply_empty(struct http_req *req, int status)
{
    http_reply_body(req, status, NULL, NULL, 0);
}

void http_reply_problem_extra(
    struct http_req *req, int status, const char *slug, const char *detail, json_t *extra)
{
    json_t *p = problem_new(status, slug, detail);
    size_t len;

    /*
     * RFC 9457's own members (type, title, status, detail) stay the
     * problem's: an extra member of the same name, such as a registration's
     * "status" from a SQL function, must not turn `status` into a string.
     */
    if (extra != NULL) {
        json_object_update_missing(p, extra);
        json_decref(extra);
    }
    char *text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(p);
    len = strlen(text);
    http_reply_body(req, status, "application/problem+json", text, len);
    if (status == 503 || status == 429)
        http_reply_header(req, "Retry-After", status == 503 ? "2" : "60");
    if (status >= 400 && log_enabled(LOG_DEBUG)) {
        json_t *f =
            json_pack("{s:s, s:s, s:i}", "request_id", req->id, "problem", slug, "status", status);
        log_json(LOG_DEBUG, "problem", f);
    }
}

void http_reply_problem(struct http_req *req, int status, const char *slug, const char *detail)
{
    http_reply_problem_extra(req, status, slug, detail, NULL);
}

void http_reply_invalid_field(struct http_req *req, const char *field, const char *message)
{
    json_t *extra = json_pack("{s:[{s:s, s:s}]}", "errors", "field", field, "message", message);
    char *detail = xasprintf("%s: %s", field, message);

    http_reply_problem_extra(req, 400, "invalid-request", detail, extra);
    free(detail);
}

void http_reply_header(struct http_req *req, const char *name, const char *value)
{
    /* A later value for the same name replaces the earlier one (Retry-After). */
    for (size_t i = 0; i < req->nreply_headers; i++) {
        if (strcasecmp(req->reply_headers[i].name, name) == 0 &&
            strcasecmp(name, "Set-Cookie") != 0) {
            free(req->reply_headers[i].value);
            req->reply_headers[i].value = xstrdup(value);
            return;
        }
    }
    req->reply_headers =
        xrealloc(req->reply_headers, (req->nreply_headers + 1) * sizeof(struct http_kv));
    req->reply_headers[req->nreply_headers].name = xstrdup(name);
    req->reply_headers[req->nreply_headers].value = xstrdup(value);
    req->nreply_headers++;
}

void http_reply_no_store(struct http_req *req)
{
    req->no_store = true;
}

/* ---- request state ---- */

static void http_kv_free(struct http_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

static void http_req_free(struct http_req *req)
{
    if (req == NULL)
        return;
    if (req->data_free != NULL)
        req->data_free(req->data);
    free(req->path);
    /* Bodies carry passwords and tokens: leave none of them in freed memory. */
    if (req->body.buf != NULL)
        explicit_bzero(req->body.buf, req->body.len);
    sbuf_release(&req->body);
    json_decref(req->json);
    http_kv_free(req->headers, req->nheaders);
    http_kv_free(req->query, req->nquery);
    router_match_release(&req->match);
    if (req->token != NULL) {
        explicit_bzero(req->token, strlen(req->token));
        free(req->token);
    }
    free(req->cache_key);
    free(req->reply_body);
    free(req->content_type);
    http_kv_free(req->reply_headers, req->nreply_headers);
    free(req);
}

static enum MHD_Result http_collect(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct http_req *req = cls;
    struct http_kv **list = kind == MHD_HEADER_KIND ? &req->headers : &req->query;
    size_t *n = kind == MHD_HEADER_KIND ? &req->nheaders : &req->nquery;

    if (key == NULL)
        return MHD_YES;
    *list = xrealloc(*list, (*n + 1) * sizeof(struct http_kv));
    (*list)[*n].name = xstrdup(key);
    (*list)[*n].value = xstrdup(value != NULL ? value : "");
    (*n)++;
    return MHD_YES;
}

static bool http_request_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("-_.:", *s) == NULL)
            return false;
    return true;
}

/* ---- sending ---- */

const char *http_csp_html(bool stripe)
{
    return stripe
               ? "default-src 'self'; script-src 'self' https://js.stripe.com; style-src 'self'; "
                 "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                 "frame-src https://js.stripe.com; object-src 'none'; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
               : "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                 "data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
}

const char *http_csp_docs(void)
{
    return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
           "data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
           "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
}

static void http_security_headers(struct MHD_Response *r, const char *content_type, int status,
    bool https, bool stripe, bool docs)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /*
     * Served over HTTPS (REGISTRAR_COOKIE_SECURE): browsers keep to HTTPS
     * for two years, subdomains included, so the Secure cookie is never
     * offered over a downgraded connection. On every response, 304s too.
     */
    if (https)
        MHD_add_response_header(
            r, "Strict-Transport-Security", "max-age=63072000; includeSubDomains");
    /*
     * A 304's headers replace those of the cached response (RFC 9111,
     * 4.3.4): a CSP on it would overwrite the HTML page's own policy with
     * "default-src 'none'" and the revalidated page could load nothing.
     */
    if (status == 304)
        return;
    if (content_type != NULL && strncmp(content_type, "text/html", 9) == 0) {
        MHD_add_response_header(
            r, "Content-Security-Policy", docs ? http_csp_docs() : http_csp_html(stripe));
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    } else {
        MHD_add_response_header(
            r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }
}

/* Stores req's 200 answer, whose ETag is etag, under its public cache key. */
static void http_cache_store(const struct http_req *req, const char *etag)
{
    if (req->cache_key != NULL && req->reply_body != NULL)
        cache_put(req->cache_key, req->reply_body, req->reply_len,
            req->content_type != NULL ? req->content_type : "application/json", etag,
            HTTP_CACHE_TTL_MS);
}

static enum MHD_Result http_send(struct http_req *req)
{
    struct MHD_Response *r;
    char etag[ETAG_SIZE] = "";
    bool with_etag = req->route != NULL && (req->route->flags & (HTTP_ETAG | HTTP_PUBLIC_CACHE)) &&
                     req->status == 200;

    assert(req->replied);
    if (with_etag) {
        etag_make(req->reply_body, req->reply_len, etag);
        http_cache_store(req, etag);
        if (etag_matches(http_req_header(req, "If-None-Match"), etag)) {
            req->status = 304;
            free(req->reply_body);
            req->reply_body = NULL;
            req->reply_len = 0;
        }
    }
    if (req->reply_body != NULL) {
        r = MHD_create_response_from_buffer_with_free_callback(
            req->reply_len, req->reply_body, free);
        req->reply_body = NULL; /* MHD owns it now */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (r == NULL)
        return MHD_NO;
    if (req->content_type != NULL && req->status != 304 && req->status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    if (etag[0] != '\0')
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(r, "X-Request-Id", req->id);
    http_security_headers(r, req->content_type, req->status, req->srv->config.cookie_secure,
        req->srv->config.csp_stripe, req->docs_page);
    /*
     * Anything that depends on who asks is not for shared caches; public
     * reads are revalidated with their ETag.
     */
    bool personal = req->no_store || req->token != NULL ||
                    (req->route != NULL && req->route->who != HTTP_ANYONE);
    bool has_cache_control = false;
    for (size_t i = 0; i < req->nreply_headers; i++) {
        if (strcasecmp(req->reply_headers[i].name, "Cache-Control") == 0)
            has_cache_control = true;
        MHD_add_response_header(r, req->reply_headers[i].name, req->reply_headers[i].value);
    }
    if (personal)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    else if (!has_cache_control)
        MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- workers ---- */

static void http_hash_step(void *state, void *arg);
static void http_db_step(struct db_conn *db, void *arg);

static bool http_is_unsafe(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* Authenticates and checks the route's role; false if it replied. */
static bool http_authorize(struct http_req *req)
{
    const struct http_route *route = req->route;

    if (req->token != NULL && req->srv->config.authenticate != NULL && req->db != NULL) {
        enum http_auth_result a =
            req->srv->config.authenticate(req->db, req->token, req->token_via_cookie,
                http_is_unsafe(req->method), http_req_header(req, "X-CSRF-Token"), &req->principal);
        switch (a) {
        case HTTP_AUTH_OK:
            break;
        case HTTP_AUTH_UNAVAILABLE:
            http_reply_problem(req, 503, "database-unavailable",
                "The database is not reachable; try again shortly.");
            return false;
        case HTTP_AUTH_CSRF:
            memset(&req->principal, 0, sizeof(req->principal));
            if (route->who != HTTP_ANYONE) {
                http_reply_problem(
                    req, 403, "csrf", "This request needs the X-CSRF-Token header from sign-in.");
                return false;
            }
            break;
        case HTTP_AUTH_INVALID:
            memset(&req->principal, 0, sizeof(req->principal));
            break;
        }
    }
    if (route->who != HTTP_ANYONE && !req->principal.authenticated) {
        http_reply_problem(req, 401, "unauthenticated", "Sign in to do this.");
        return false;
    }
    if (route->who == HTTP_ADMIN && !req->principal.admin) {
        http_reply_problem(req, 403, "forbidden", "Only an administrator may do this.");
        return false;
    }
    return true;
}

static void http_refresh_finish(struct http_req *req);

/* Runs one step of a request on a worker, then hands it on or resumes it. */
static void http_run(struct http_req *req, struct db_conn *db)
{
    req->db = db;
    if (!req->first_step_done) {
        req->first_step_done = true;
        if (http_authorize(req))
            req->route->handler(req);
    } else {
        http_handler *next = req->next;
        req->next = NULL;
        next(req);
    }
    req->db = NULL;
    if (req->park != NULL) {
        /* Parked: once park has it, req may be woken and freed on another thread. */
        void (*park)(void *arg, struct db_conn *db) = req->park;
        void *arg = req->park_arg;
        req->park = NULL;
        park(arg, db);
        return;
    }
    if (!req->replied && req->next != NULL) {
        int rc;
        if (req->next_pool == HTTP_POOL_HASH && req->srv->hashq != NULL)
            rc = workq_submit(req->srv->hashq, http_hash_step, req);
        else if (req->next_pool == HTTP_POOL_PAY && req->srv->config.pay_threads > 0)
            rc = req->srv->payq != NULL ? workq_submit(req->srv->payq, http_hash_step, req) : -1;
        else if (req->next_pool == HTTP_POOL_SETTLE && req->srv->config.settle_db != NULL)
            rc = db_pool_submit(req->srv->config.settle_db, http_db_step, req);
        else
            rc = db_pool_submit(req->srv->config.db, http_db_step, req);
        if (rc == 0)
            return;
        req->next = NULL;
        http_reply_problem(req, 503, "overloaded", "The server is busy; try again in a moment.");
    }
    if (!req->replied) {
        log_msg(LOG_ERROR, "handler for %s gave no reply", req->route_name);
        http_reply_problem(req, 500, "internal", NULL);
    }
    if (req->background) {
        http_refresh_finish(req);
        return;
    }
    req->state = HTTP_READY;
    MHD_resume_connection(req->conn);
}

static void http_db_step(struct db_conn *db, void *arg)
{
    http_run(arg, db);
}

static void http_hash_step(void *state, void *arg)
{
    (void)state;
    http_run(arg, NULL);
}

/* ---- request checks on the I/O thread ---- */

/* Parses and checks the body per the route; false if it replied. */
static bool http_check_body(struct http_req *req)
{
    struct body_error err;

    if (body_parse(req->route->body, req->body.buf, req->body.len,
            http_req_header(req, "Content-Type"), &req->json, &err) == -1) {
        http_reply_problem(req, err.status, err.slug, err.detail);
        return false;
    }
    return true;
}

static void http_find_token(struct http_req *req)
{
    const char *authz = http_req_header(req, "Authorization");
    const char *cookie =
        MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, http_req_session_cookie(req));

    if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
        const char *t = authz + 7;
        while (*t == ' ')
            t++;
        if (*t != '\0' && strlen(t) <= 256)
            req->token = xstrdup(t);
        else
            req->token = xstrdup("-"); /* present but unusable: resolves as invalid */
    } else if (cookie != NULL && *cookie != '\0' && strlen(cookie) <= 256) {
        req->token = xstrdup(cookie);
        req->token_via_cookie = true;
    }
}

/* The request's query names and values as arrays (borrowed from req; free the arrays). */
static void http_query_arrays(struct http_req *req, const char ***names, const char ***values)
{
    *names = xcalloc(req->nquery + 1, sizeof(**names));
    *values = xcalloc(req->nquery + 1, sizeof(**values));
    for (size_t i = 0; i < req->nquery; i++) {
        (*names)[i] = req->query[i].name;
        (*values)[i] = req->query[i].value;
    }
}

static struct http_kv *http_kv_copy(const struct http_kv *kv, size_t n)
{
    struct http_kv *out = n > 0 ? xcalloc(n, sizeof(*out)) : NULL;

    for (size_t i = 0; i < n; i++) {
        out[i].name = xstrdup(kv[i].name);
        out[i].value = xstrdup(kv[i].value);
    }
    return out;
}

static void http_db_step(struct db_conn *db, void *arg);

/*
 * Refreshes the stale public cache entry req found, in the background: an
 * anonymous copy of the request (route, path parameters, query, headers)
 * runs its handler on a pool worker and its answer is stored
 * (http_refresh_finish) instead of sent, while req itself is answered from
 * the copy at once. So nobody waits on a refresh; if the pool is full, the
 * next caller after CACHE_REFRESH_WAIT_MS (cache.c) is asked again.
 */
static void http_refresh_start(const struct http_req *req)
{
    struct http_server *srv = req->srv;

    if (srv->config.db == NULL)
        return;
    struct http_req *bg = xcalloc(1, sizeof(*bg));
    bg->srv = srv;
    bg->background = true;
    bg->state = HTTP_RUNNING;
    snprintf(bg->id, sizeof(bg->id), "%.64s.r", req->id);
    snprintf(bg->method, sizeof(bg->method), "GET");
    bg->path = xstrdup(req->path);
    bg->start_us = util_now_us();
    memcpy(bg->client_ip, req->client_ip, sizeof(bg->client_ip));
    bg->headers = http_kv_copy(req->headers, req->nheaders);
    bg->nheaders = req->nheaders;
    bg->query = http_kv_copy(req->query, req->nquery);
    bg->nquery = req->nquery;
    bg->match.route = req->match.route;
    bg->match.nparams = req->match.nparams;
    for (int i = 0; i < req->match.nparams; i++) {
        bg->match.names[i] = xstrdup(req->match.names[i]);
        bg->match.values[i] = xstrdup(req->match.values[i]);
    }
    bg->route = req->route;
    bg->route_name = req->route_name;
    bg->cache_key = xstrdup(req->cache_key);
    if (db_pool_submit(srv->config.db, http_db_step, bg) == -1)
        http_req_free(bg);
}

/* A background refresh's end: a 200 is stored as http_send stores one. */
static void http_refresh_finish(struct http_req *req)
{
    if (req->status == 200 && req->reply_body != NULL) {
        char etag[ETAG_SIZE];
        etag_make(req->reply_body, req->reply_len, etag);
        http_cache_store(req, etag);
    }
    http_req_free(req);
}

static char *http_cache_key(struct http_req *req)
{
    const char **names, **values;

    http_query_arrays(req, &names, &values);
    char *key = cache_key_new(req->path, names, values, req->nquery);
    free(names);
    free(values);
    return key;
}

/*
 * Refuses query parameters the route does not take, repeated ones, and
 * values that are not UTF-8 text; false if it replied. The name in the
 * problem is percent-encoded, so that any bytes a client sends make valid
 * JSON.
 */
static bool http_check_query(struct http_req *req)
{
    const char **names, **values;
    size_t bad = 0;
    const char *message = NULL;

    http_query_arrays(req, &names, &values);
    enum router_query_result qr = router_query_check(req->route, names, req->nquery, &bad);
    free(names);
    free(values);
    if (qr == ROUTER_QUERY_REPEATED)
        message = "is given more than once";
    else if (qr == ROUTER_QUERY_UNKNOWN)
        message = "is not a query parameter of this path";
    for (size_t i = 0; message == NULL && i < req->nquery; i++) {
        const char *v = req->query[i].value;
        if (util_utf8_valid(v, strlen(v)) == 0) {
            bad = i;
            message = "must be UTF-8 text";
        }
    }
    if (message == NULL)
        return true;
    char *text = cache_encode_new(req->query[bad].name);
    if (strlen(text) > 64)
        strcpy(text + 61, "...");
    if (qr == ROUTER_QUERY_UNKNOWN) {
        char *full = req->route->query != NULL
                         ? xasprintf("%s (this path takes: %s)", message, req->route->query)
                         : xasprintf("%s (this path takes none)", message);
        http_reply_invalid_field(req, text, full);
        free(full);
    } else {
        http_reply_invalid_field(req, text, message);
    }
    free(text);
    return false;
}

/*
 * Whether the socket's peer is one of the proxies whose X-Real-IP is
 * believed: from anyone else the header is a client's claim and ignored.
 */
static bool http_peer_trusted(const struct http_req *req)
{
    const struct http_server_config *cfg = &req->srv->config;

    for (size_t i = 0; i < cfg->ntrusted_proxies; i++)
        if (req->peer_family != 0 &&
            util_cidr_contains(&cfg->trusted_proxies[i], req->peer_family, req->peer_addr))
            return true;
    return false;
}

/* Whether the request carries "Authorization: Bearer <the operations token>". */
static bool http_ops_token_ok(const struct http_req *req)
{
    const struct http_server_config *cfg = &req->srv->config;
    const char *authz = http_req_header(req, "Authorization");

    if (cfg->ops_token == NULL || cfg->secret_equal == NULL || authz == NULL ||
        strncasecmp(authz, "Bearer ", 7) != 0)
        return false;
    const char *t = authz + 7;
    while (*t == ' ')
        t++;
    return cfg->secret_equal(t, cfg->ops_token);
}

/*
 * Whether the path is a private route's that this request may not see: a
 * wrong method there is answered 404 too, not 405 with an Allow that
 * would tell the route exists.
 */
static bool http_private_path(const struct http_req *req)
{
    const struct http_server_config *cfg = &req->srv->config;
    struct router_match m;
    bool hidden = false;

    if (router_match(cfg->routes, cfg->nroutes, "GET", req->path, &m) == ROUTER_FOUND)
        hidden = (m.route->flags & HTTP_PRIVATE) != 0 && !http_ops_token_ok(req);
    router_match_release(&m);
    return hidden;
}

/* Decides what to do with a fully read request. Returns MHD_YES/NO. */
static enum MHD_Result http_dispatch(struct http_req *req)
{
    struct http_server *srv = req->srv;

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_collect, req);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, http_collect, req);
    if (srv->config.trust_proxy && http_peer_trusted(req)) {
        /* Only a well-formed address replaces the socket's (it feeds rate limits). */
        const char *real = http_req_header(req, "X-Real-IP");
        unsigned char probe[sizeof(struct in6_addr)];
        if (real != NULL && strlen(real) < sizeof(req->client_ip) &&
            (inet_pton(AF_INET, real, probe) == 1 || inet_pton(AF_INET6, real, probe) == 1))
            snprintf(req->client_ip, sizeof(req->client_ip), "%s", real);
    }

    if (req->too_large) {
        req->route_name = "unmatched";
        http_reply_problem(req, 413, "payload-too-large", "Request bodies are limited to 64 KiB.");
        return http_send(req);
    }
    enum router_result rr =
        router_match(srv->config.routes, srv->config.nroutes, req->method, req->path, &req->match);
    if (rr != ROUTER_FOUND) {
        bool api = strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/api") == 0;
        bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
        /*
         * The rendered API reference is a file of the web client
         * (web/api-docs.html, Swagger UI from web/vendor/) under the API's
         * own prefix; it alone gets the docs page's policy.
         */
        if (rr == ROUTER_NOT_FOUND && strcmp(req->path, "/api/docs") == 0 && get &&
            !req->on_admin && srv->config.web_root != NULL) {
            req->route_name = "/api/docs";
            req->docs_page = true;
            http_static_serve_file(req, srv->config.web_root, "/api-docs.html");
            return http_send(req);
        }
        if (rr == ROUTER_NOT_FOUND && !api && !req->on_admin && srv->config.web_root != NULL &&
            get) {
            req->route_name = "static";
            http_static_serve(req, srv->config.web_root);
            return http_send(req);
        }
        req->route_name = "unmatched";
        if (rr == ROUTER_METHOD_NOT_ALLOWED && !req->on_admin && !http_private_path(req)) {
            http_reply_problem(
                req, 405, "method-not-allowed", "This path does not accept that method.");
            http_reply_header(req, "Allow", req->match.allow);
        } else {
            http_reply_problem(req, 404, "not-found", "There is nothing at this address.");
        }
        return http_send(req);
    }
    /*
     * The admin address serves the operations routes only; on the main
     * address a private route (/metrics) needs the operations token. Either
     * way the answer is the one for a path that does not exist.
     */
    if (req->on_admin ? (req->match.route->flags & HTTP_OPS) == 0
                      : (req->match.route->flags & HTTP_PRIVATE) != 0 && !http_ops_token_ok(req)) {
        req->route_name = "unmatched";
        http_reply_problem(req, 404, "not-found", "There is nothing at this address.");
        return http_send(req);
    }
    req->route = req->match.route;
    req->route_name = req->route->pattern;
    if (!http_check_query(req) || !http_check_body(req))
        return http_send(req);
    http_find_token(req);

    if (req->route->flags & HTTP_INLINE) {
        req->route->handler(req);
        if (!req->replied)
            http_reply_problem(req, 500, "internal", NULL);
        return http_send(req);
    }
    if ((req->route->flags & HTTP_PUBLIC_CACHE) && req->token == NULL &&
        (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)) {
        struct cache_entry e;
        req->cache_key = http_cache_key(req);
        int got = cache_get(req->cache_key, &e);
        if (got >= 0) {
            if (got == CACHE_REFRESH)
                http_refresh_start(req);
            free(req->cache_key);
            req->cache_key = NULL; /* already stored */
            http_reply_body(req, 200, e.content_type, e.body, e.len);
            free(e.content_type);
            return http_send(req);
        }
    }
    if (srv->config.db == NULL) {
        http_reply_problem(req, 503, "database-unavailable", "No database is configured.");
        return http_send(req);
    }
    req->state = HTTP_RUNNING;
    MHD_suspend_connection(req->conn);
    if (db_pool_submit(srv->config.db, http_db_step, req) == -1) {
        req->state = HTTP_READY;
        http_reply_problem(req, 503, "overloaded", "The server is busy; try again in a moment.");
        MHD_resume_connection(req->conn);
    }
    return MHD_YES;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data, size_t *upload_data_size,
    void **con_cls)
{
    struct http_listener *listener = cls;
    struct http_server *srv = listener->srv;
    struct http_req *req = *con_cls;

    (void)version;
    if (req == NULL) {
        req = xcalloc(1, sizeof(*req));
        req->srv = srv;
        req->on_admin = listener->admin;
        req->conn = conn;
        req->start_us = util_now_us();
        req->path = xstrdup(url);
        snprintf(req->method, sizeof(req->method), "%s", method);
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (rid != NULL && http_request_id_valid(rid)) {
            snprintf(req->id, sizeof(req->id), "%s", rid);
        } else {
            uint8_t raw[12];
            util_random_bytes(raw, sizeof(raw));
            util_hex_encode(raw, sizeof(raw), req->id);
        }
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci != NULL && ci->client_addr != NULL) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET) {
                const struct in_addr *a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
                inet_ntop(AF_INET, a, req->client_ip, sizeof(req->client_ip));
                req->peer_family = AF_INET;
                memcpy(req->peer_addr, a, 4);
            } else if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a =
                    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
                inet_ntop(AF_INET6, a, req->client_ip, sizeof(req->client_ip));
                req->peer_family = AF_INET6;
                memcpy(req->peer_addr, a, 16);
            }
        }
        atomic_fetch_add(&srv->in_flight, 1);
        *con_cls = req;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > HTTP_MAX_BODY) {
            /* Refuse before reading: the body is never accepted. */
            req->route_name = "unmatched";
            http_reply_problem(
                req, 413, "payload-too-large", "Request bodies are limited to 64 KiB.");
            req->state = HTTP_READY;
            return http_send(req);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (req->state == HTTP_READING && !req->too_large) {
            if (req->body.len + *upload_data_size > HTTP_MAX_BODY) {
                req->too_large = true;
                sbuf_release(&req->body);
            } else {
                sbuf_add(&req->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (req->state) {
    case HTTP_READING:
        return http_dispatch(req);
    case HTTP_READY:
        return http_send(req);
    case HTTP_RUNNING:
        break;
    }
    return MHD_YES;
}

/*
 * The method as a static label: metrics outlive the request, and a client
 * inventing methods must not grow the metrics table.
 */
static const char *http_method_label(const char *method)
{
    static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
        "OPTIONS" };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(known); i++)
        if (strcmp(known[i], method) == 0)
            return known[i];
    return "OTHER";
}

static void http_completed(
    void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct http_listener *listener = cls;
    struct http_server *srv = listener->srv;
    struct http_req *req = *con_cls;

    (void)conn;
    if (req == NULL)
        return;
    int64_t us = util_now_us() - req->start_us;
    const char *route = req->route_name != NULL ? req->route_name : "unmatched";
    int status = req->replied ? req->status : 0;
    metrics_request(route, http_method_label(req->method), status, us);
    enum log_level level =
        status >= 500 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? LOG_WARN : LOG_INFO;
    if (status >= 500 && status != 503)
        level = LOG_ERROR;
    if (log_enabled(level)) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:f}", "request_id", req->id, "method",
            req->method, "route", route, "status", status, "duration_ms", (double)us / 1000.0);
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            json_object_set_new(f, "terminated", json_integer(toe));
        log_json(level, "request", f);
    }
    atomic_fetch_sub(&srv->in_flight, 1);
    http_req_free(req);
    *con_cls = NULL;
}

/* ---- the server ---- */

/*
 * Password hashes are CPU-bound for tens of milliseconds each. Below the
 * I/O and database threads in the scheduler's eyes, a sign-in storm takes
 * the CPU that is left over instead of delaying every other reply.
 */
#define HTTP_HASH_NICE 10

static void *http_hash_thread_init(void *ctx)
{
    (void)ctx;
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), HTTP_HASH_NICE) == -1)
        log_msg(LOG_WARN, "cannot lower the priority of a hashing thread");
    return NULL;
}

/*
 * libmicrohttpd's memory per connection: the request line and headers, the
 * read buffer and the reply's headers (bodies are ours, read into body.c's
 * buffer). It is held for as long as a connection stays open, idle or not,
 * so it is what 1,000 idle keep-alive connections cost (bench-idle): 16 KiB
 * still takes 8 KiB of headers, as common proxies do by default.
 */
#define HTTP_CONNECTION_MEMORY (16 * 1024)

/* Starts listening on host:port for l; -1 (logged) if the address or socket fails. */
static int http_listen(struct http_listener *l, const char *host, unsigned short port,
    unsigned threads, unsigned connection_limit, unsigned per_ip_limit)
{
    const struct http_server_config *config = &l->srv->config;
    struct sockaddr_storage addr;

    memset(&addr, 0, sizeof(addr));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    } else {
        log_msg(LOG_ERROR, "cannot listen on %s: not a numeric address", host);
        return -1;
    }
    struct MHD_OptionItem opts[] = {
        { MHD_OPTION_SOCK_ADDR, 0, &addr },
        { MHD_OPTION_CONNECTION_LIMIT, (intptr_t)connection_limit, NULL },
        { MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)per_ip_limit, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)config->idle_timeout_s, NULL },
        { MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)HTTP_CONNECTION_MEMORY, NULL },
        /* A pool of one is the daemon's own thread: libmicrohttpd warns if told so. */
        { threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    l->daemon = MHD_start_daemon(flags, port, NULL, NULL, http_access, l, MHD_OPTION_ARRAY, opts,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, l, MHD_OPTION_END);
    if (l->daemon == NULL) {
        log_msg(LOG_ERROR, "cannot listen on %s:%u", host, port);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info != NULL ? info->port : port;
    return 0;
}

/* The admin address serves a scraper and a probe or two: one thread, few connections. */
#define HTTP_ADMIN_CONNECTIONS 64

struct http_server *http_server_new(const struct http_server_config *config)
{
    struct http_server *s = xcalloc(1, sizeof(*s));

    s->config = *config;
    s->main.srv = s;
    s->admin.srv = s;
    s->admin.admin = true;
    if (router_check(config->routes, config->nroutes) == -1) {
        free(s);
        return NULL;
    }
    if (config->hash_threads > 0) {
        struct workq_config wc = { .name = "hash",
            .threads = config->hash_threads,
            .capacity = config->hash_queue > 0 ? config->hash_queue : 64,
            .thread_init = http_hash_thread_init };
        s->hashq = workq_new(&wc);
        if (s->hashq == NULL) {
            free(s);
            return NULL;
        }
    }
    if (config->pay_threads > 0) {
        struct workq_config wc = { .name = "pay",
            .threads = config->pay_threads,
            .capacity = config->pay_queue > 0 ? config->pay_queue : 256 };
        s->payq = workq_new(&wc);
        if (s->payq == NULL) {
            workq_free(s->hashq);
            free(s);
            return NULL;
        }
    }
    if (http_listen(&s->main, config->listen_host, config->port, config->io_threads,
            config->connection_limit, config->per_ip_limit) == -1 ||
        (config->admin_host != NULL &&
            http_listen(&s->admin, config->admin_host, config->admin_port, 1,
                HTTP_ADMIN_CONNECTIONS, 0) == -1)) {
        if (s->main.daemon != NULL)
            MHD_stop_daemon(s->main.daemon);
        workq_free(s->hashq);
        workq_free(s->payq);
        free(s);
        return NULL;
    }
    return s;
}

unsigned short http_server_port(struct http_server *s)
{
    return s->main.port;
}

unsigned short http_server_admin_port(struct http_server *s)
{
    return s->admin.daemon != NULL ? s->admin.port : 0;
}

void http_server_quiesce(struct http_server *s)
{
    struct http_listener *all[] = { &s->main, &s->admin };

    for (size_t i = 0; i < UTIL_ARRAY_LEN(all); i++) {
        if (all[i]->daemon == NULL)
            continue;
        MHD_socket fd = MHD_quiesce_daemon(all[i]->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

unsigned http_server_drain(struct http_server *s, int timeout_ms)
{
    int64_t deadline = util_now_ms() + timeout_ms;

    while (atomic_load(&s->in_flight) > 0 && util_now_ms() < deadline)
        usleep(10 * 1000);
    int left = atomic_load(&s->in_flight);
    return left > 0 ? (unsigned)left : 0;
}

void http_server_stop_pay(struct http_server *s)
{
    if (s == NULL)
        return;
    workq_free(s->payq);
    s->payq = NULL;
}

void http_server_free(struct http_server *s)
{
    if (s == NULL)
        return;
    workq_free(s->hashq);
    workq_free(s->payq);
    if (s->admin.daemon != NULL)
        MHD_stop_daemon(s->admin.daemon);
    MHD_stop_daemon(s->main.daemon);
    free(s);
}

void http_cache_clear(void)
{
    cache_clear();
}
