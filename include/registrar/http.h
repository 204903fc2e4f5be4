/*
 * http.h: the HTTP layer: the server, the route table's types, and the
 * request/response interface that handlers use.
 *
 * Layering: uses util, log, metrics, workq, db (only to hand a worker's
 * connection to a handler) and render/problem. Only this layer includes
 * <microhttpd.h>; handlers see a `struct http_req` and nothing of
 * libmicrohttpd.
 *
 * How a request runs: the I/O thread reads the body (64 KiB at most),
 * matches the route, checks method, content type and JSON, answers from
 * the public cache when it can, and otherwise suspends the connection and
 * queues the handler on the database pool. The worker authenticates the
 * caller (when credentials came or the route needs them), checks the role,
 * runs the handler, and resumes the connection, whose I/O thread then
 * sends the reply. A handler may hand the request on to another pool with
 * http_req_continue() (the password-hashing pool, the card processor's
 * pool, the settle pool), and from there back.
 */
#ifndef REGISTRAR_HTTP_H
#define REGISTRAR_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct db_conn;
struct db_pool;
struct http_req;
struct http_server;
struct util_cidr;

/* Who may call a route; finer rights (a course's director) are the handler's. */
enum http_who {
    HTTP_ANYONE,    /* credentials, when sent and valid, are still resolved */
    HTTP_SIGNED_IN, /* 401 unauthenticated without a valid session */
    HTTP_ADMIN      /* and 403 forbidden unless the user is an admin */
};

enum http_body {
    HTTP_BODY_NONE,          /* a body, if any, is ignored */
    HTTP_BODY_JSON,          /* required: application/json, an object */
    HTTP_BODY_JSON_OPTIONAL, /* empty, or as HTTP_BODY_JSON */
    HTTP_BODY_RAW            /* any bytes, kept as sent (webhooks); JSON also parsed if it is */
};

/* Route flags. */
#define HTTP_INLINE 1u       /* runs on the I/O thread: no database, must not block */
#define HTTP_ETAG 2u         /* a 200 gets a strong ETag; If-None-Match gives 304 */
#define HTTP_PUBLIC_CACHE 4u /* anonymous 200s are cached for at most 1 s (implies ETag) */
#define HTTP_OPS 8u          /* also served on the admin address, which serves nothing else */
/*
 * On the main address only with "Authorization: Bearer <ops_token>"
 * (compared in constant time); otherwise, and with no token configured,
 * 404 as for a path that does not exist. Free on the admin address.
 */
#define HTTP_PRIVATE 16u

typedef void http_handler(struct http_req *req);

struct http_route {
    const char *method;  /* "GET", "POST", ... (HEAD is served by GET routes) */
    const char *pattern; /* "/api/v1/courses/{slug}", "/api/v1/calendar/{token}.ics" */
    http_handler *handler;
    enum http_who who;
    enum http_body body;
    unsigned flags;
    /*
     * The query parameters the route accepts, comma-separated ("limit,cursor");
     * NULL: none. Any other parameter, or one given twice, is answered 400
     * invalid-request (naming it) before the handler runs.
     */
    const char *query;
};

/* The authenticated caller, filled by the authenticate hook. */
struct http_principal {
    bool authenticated;
    bool via_cookie;
    bool admin;
    char user_id[40];    /* a UUID */
    char session_id[40]; /* the auth session's id, to revoke the current one */
    /*
     * For a cookie session: its CSRF token (derivable from the session
     * token alone), so that a page opened later in another tab can learn
     * it from GET /api/v1/me. Empty for Bearer requests.
     */
    char csrf_token[48];
};

enum http_auth_result {
    HTTP_AUTH_OK,         /* *out filled */
    HTTP_AUTH_INVALID,    /* unknown, expired or revoked: 401 */
    HTTP_AUTH_CSRF,       /* cookie on an unsafe method without the right X-CSRF-Token: 403 csrf */
    HTTP_AUTH_UNAVAILABLE /* database down: 503 */
};

/*
 * Resolves a session token (from "Authorization: Bearer" or the cookie)
 * on a database worker. csrf is the X-CSRF-Token header or NULL; it must
 * be checked when via_cookie and unsafe. Provided by auth/, wired by main.
 */
typedef enum http_auth_result http_authenticate_fn(struct db_conn *db, const char *token,
    bool via_cookie, bool unsafe, const char *csrf, struct http_principal *out);

struct http_server_config {
    const char *listen_host; /* numeric IPv4/IPv6 address */
    unsigned short port;     /* 0 picks a free port (see http_server_port) */
    unsigned io_threads;
    unsigned connection_limit;
    unsigned per_ip_limit;
    unsigned idle_timeout_s;
    const char *web_root; /* NULL serves no static files */
    bool cookie_secure;
    /*
     * Behind our own reverse proxy: take the client address from X-Real-IP,
     * but only on connections from one of trusted_proxies.
     */
    bool trust_proxy;
    const struct util_cidr *trusted_proxies;
    size_t ntrusted_proxies;
    const struct http_route *routes;
    size_t nroutes;
    struct db_pool *db;
    unsigned hash_threads; /* the password-hashing pool; 0 = none */
    unsigned hash_queue;
    /*
     * The card processor's pool (HTTP_POOL_PAY): threads that only wait on
     * the network, so many more than cores; 0 = none (those steps then run
     * on a database worker). settle_db: a few database connections of their
     * own for the step after a processor call, so that it never queues
     * behind requests waiting on a database worker (repeats of the same
     * Idempotency-Key wait there for this very step); NULL: db.
     */
    unsigned pay_threads;
    unsigned pay_queue;
    struct db_pool *settle_db;
    /* The web client mounts Stripe Elements: the HTML pages' CSP admits https://js.stripe.com. */
    bool csp_stripe;
    http_authenticate_fn *authenticate; /* NULL: nobody is ever signed in */

    /* A second address for the HTTP_OPS routes (loopback, for a scraper); NULL: none. */
    const char *admin_host;
    unsigned short admin_port; /* 0 picks a free port (see http_server_admin_port) */
    const char *ops_token;     /* the Bearer token of HTTP_PRIVATE routes; NULL: none */
    /* Compares two secrets in constant time (auth_secret_equal); needed with ops_token. */
    bool (*secret_equal)(const char *a, const char *b);
};

/*
 * The Content-Security-Policy of HTML pages: everything from 'self' only;
 * with stripe, https://js.stripe.com as well for scripts and frames (Stripe
 * Elements), and nothing more. Static storage.
 */
const char *http_csp_html(bool stripe);

/*
 * The policy of the rendered API reference (/api/docs): scripts from 'self'
 * only, as everywhere; styles also inline, because Swagger UI sets style
 * attributes from script. No other page gets it. Static storage.
 */
const char *http_csp_docs(void);

/* Starts listening. NULL (logged) if the socket or threads fail. */
struct http_server *http_server_new(const struct http_server_config *config);
unsigned short http_server_port(struct http_server *s);
/* The admin address's port, or 0 when there is none. */
unsigned short http_server_admin_port(struct http_server *s);
/* Stops accepting new connections; in-flight requests go on. */
void http_server_quiesce(struct http_server *s);
/* Waits up to timeout_ms for in-flight requests; returns how many are left. */
unsigned http_server_drain(struct http_server *s, int timeout_ms);
/*
 * Finishes the card processor's calls in flight (their next steps go to the
 * settle pool) and stops its pool. At shutdown, after the database pool is
 * freed (its steps may still hand requests to this pool) and before the
 * settle pool is; later hand-offs to it answer 503.
 */
void http_server_stop_pay(struct http_server *s);
/* Stops everything and frees s (call after draining). Accepts NULL. */
void http_server_free(struct http_server *s);

/* Drops every cached public response (on NOTIFY from the database). */
void http_cache_clear(void);

/* ---- The request, as a handler sees it. All strings borrowed from req. ---- */

const char *http_req_method(const struct http_req *req);
/* The route pattern that matched, for logs and metrics. */
const char *http_req_route(const struct http_req *req);
const char *http_req_id(const struct http_req *req);
/* A path parameter by name ("slug"), percent-decoded; NULL if absent. */
const char *http_req_param(const struct http_req *req, const char *name);
/* A query argument (decoded); NULL if absent. */
const char *http_req_query(const struct http_req *req, const char *name);
/* A request header, case-insensitive; NULL if absent. */
const char *http_req_header(const struct http_req *req, const char *name);
/* The parsed body (an object), or NULL when none was sent. Borrowed. */
json_t *http_req_json(const struct http_req *req);
/* The raw body bytes (NUL-terminated) and length; NULL when none. */
const char *http_req_body(const struct http_req *req, size_t *len);
/* The client's address as text (for rate limits; never logged with data). */
const char *http_req_client_ip(const struct http_req *req);
const struct http_principal *http_req_principal(const struct http_req *req);
/* The worker's database connection; NULL on the I/O thread or the hash pool. */
struct db_conn *http_req_db(const struct http_req *req);
/* Whether the server sets Secure on cookies (REGISTRAR_COOKIE_SECURE: served over HTTPS). */
bool http_req_cookie_secure(const struct http_req *req);

/*
 * The session cookie's name, the one the server both sets and reads:
 * "__Host-registrar_session" when cookies are Secure (browsers then take it
 * only with Secure, Path=/ and no Domain, so neither a sibling subdomain
 * nor a plain-HTTP answer can plant one), else "registrar_session".
 */
#define HTTP_SESSION_COOKIE "registrar_session"
#define HTTP_SESSION_COOKIE_SECURE "__Host-registrar_session"
const char *http_req_session_cookie(const struct http_req *req);

/* Per-request state between the steps of a continued request. */
void http_req_set_data(struct http_req *req, void *data, void (*free_fn)(void *));
void *http_req_data(const struct http_req *req);

/*
 * DB: a database worker. HASH: password hashing (no database). PAY: the card
 * processor's calls (no database). SETTLE: a database connection of the
 * settle pool (config.settle_db), for the step after a PAY step.
 */
enum http_pool { HTTP_POOL_DB, HTTP_POOL_HASH, HTTP_POOL_PAY, HTTP_POOL_SETTLE };
/*
 * Instead of replying, runs next(req) on the given pool after the current
 * step returns. If that pool's queue is full, 503 overloaded is sent.
 */
void http_req_continue(struct http_req *req, enum http_pool pool, http_handler *next);

/*
 * Instead of replying, parks req without holding a worker: after the
 * current step returns, and with nothing of req touched after that,
 * park(arg, db) is called on that step's thread with its connection (NULL
 * off the DB pool). Whoever then holds arg must call http_req_wake once,
 * on any thread: req waits, its connection suspended, until then.
 */
void http_req_park(struct http_req *req, void (*park)(void *arg, struct db_conn *db), void *arg);
/*
 * Runs next(req) at once on the calling thread as req's next step, with db
 * as its connection, and then sends its reply (or continues as it says).
 * req may be freed by the time this returns.
 */
void http_req_wake(struct http_req *req, struct db_conn *db, http_handler *next);

/* ---- Replies. Exactly one per request; each takes ownership of its body. ---- */

void http_reply_json(struct http_req *req, int status, json_t *body);
/* A JSON text made elsewhere (a SQL function's result); takes the malloc'd text. */
void http_reply_json_text(struct http_req *req, int status, char *text);
void http_reply_body(
    struct http_req *req, int status, const char *content_type, char *body, size_t len);
void http_reply_empty(struct http_req *req, int status);
/* An RFC 9457 problem; detail may be NULL. */
void http_reply_problem(struct http_req *req, int status, const char *slug, const char *detail);
/* A problem with extra members (errors, conflicts, ...) merged in; extra is consumed. */
void http_reply_problem_extra(
    struct http_req *req, int status, const char *slug, const char *detail, json_t *extra);
/* 400 invalid-request naming one field. */
void http_reply_invalid_field(struct http_req *req, const char *field, const char *message);
/* Adds a response header (before or after the reply call). Copies both. */
void http_reply_header(struct http_req *req, const char *name, const char *value);
/* Marks the response uncacheable by shared caches (Cache-Control: no-store). */
void http_reply_no_store(struct http_req *req);

#endif
