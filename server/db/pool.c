/* pool.c: connections, prepared statements, error mapping. See db.h. */
#include "registrar/db.h"

#include "registrar/log.h"
#include "registrar/util.h"
#include "registrar/workq.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A connect attempt slower than this was a timeout, not a refusal. */
#define DB_SLOW_CONNECT_MS 500
/* After a slow failed attempt, this connection fails fast for this long. */
#define DB_RETRY_BACKOFF_MS 1000

struct db_registered {
    const struct db_stmt *stmts;
    size_t n;
};

static struct db_registered *db_registry;
static size_t db_registry_len;

struct db_conn {
    PGconn *pg;
    char *url;
    bool prepared;
    int64_t next_attempt_ms;
    int app_code;
    char *app_slug;
    char *app_detail;
    char *constraint;
};

struct db_result {
    PGresult *res;
};

struct db_pool {
    struct workq *q;
    char *url;
    unsigned size;
};

void db_stmts_register(const struct db_stmt *stmts, size_t n)
{
    db_registry = xrealloc(db_registry, (db_registry_len + 1) * sizeof(*db_registry));
    db_registry[db_registry_len].stmts = stmts;
    db_registry[db_registry_len].n = n;
    db_registry_len++;
}

static PGconn *db_connect(const char *url)
{
    /*
     * Bounded waits everywhere: connecting, every statement, idle
     * transactions, and a dead peer found by TCP keepalives.
     */
    const char *keys[] = { "dbname", "connect_timeout", "application_name", "options", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", NULL };
    const char *values[] = { url, "3", "registrar",
        "-c statement_timeout=15000 -c idle_in_transaction_session_timeout=15000 -c TimeZone=UTC",
        "1", "10", "3", "3", NULL };

    return PQconnectdbParams(keys, values, 1);
}

static int db_prepare_all(struct db_conn *c)
{
    for (size_t i = 0; i < db_registry_len; i++) {
        for (size_t k = 0; k < db_registry[i].n; k++) {
            const struct db_stmt *s = &db_registry[i].stmts[k];
            PGresult *r = PQprepare(c->pg, s->name, s->sql, 0, NULL);
            ExecStatusType st = PQresultStatus(r);
            if (st != PGRES_COMMAND_OK) {
                /* Our own SQL failing to prepare is a bug or an old schema. */
                json_t *f = json_pack("{s:s, s:s}", "statement", s->name, "sqlstate",
                    PQresultErrorField(r, PG_DIAG_SQLSTATE)
                        ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
                        : "none");
                log_json(LOG_ERROR, "cannot prepare statement", f);
                PQclear(r);
                return -1;
            }
            PQclear(r);
        }
    }
    c->prepared = true;
    return 0;
}

/* Makes sure c has a live, prepared connection. 0 or -1. */
static int db_conn_ensure(struct db_conn *c)
{
    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && c->prepared)
        return 0;
    int64_t now = util_now_ms();
    if (now < c->next_attempt_ms)
        return -1;
    if (c->pg == NULL)
        c->pg = db_connect(c->url);
    else if (PQstatus(c->pg) != CONNECTION_OK)
        PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        /*
         * A refused connection fails at once and costs nothing to retry on
         * the next request; only an attempt that waited (an unreachable
         * host) makes the next requests fail fast for a while.
         */
        if (util_now_ms() - now > DB_SLOW_CONNECT_MS)
            c->next_attempt_ms = util_now_ms() + DB_RETRY_BACKOFF_MS;
        c->prepared = false;
        log_msg(LOG_WARN, "database connection unavailable");
        return -1;
    }
    c->prepared = false;
    if (db_prepare_all(c) == -1) {
        /* A schema too old for these statements: keep trying, slowly. */
        c->next_attempt_ms = now + 1000;
        PQfinish(c->pg);
        c->pg = NULL;
        return -1;
    }
    return 0;
}

struct db_conn *db_conn_new(const char *url)
{
    struct db_conn *c = xcalloc(1, sizeof(*c));

    c->url = xstrdup(url);
    (void)db_conn_ensure(c);
    return c;
}

void db_conn_free(struct db_conn *c)
{
    if (c == NULL)
        return;
    if (c->pg != NULL)
        PQfinish(c->pg);
    free(c->url);
    free(c->app_slug);
    free(c->app_detail);
    free(c->constraint);
    free(c);
}

bool db_conn_ok(struct db_conn *c)
{
    return c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK;
}

static void db_clear_last(struct db_conn *c)
{
    c->app_code = 0;
    free(c->app_slug);
    free(c->app_detail);
    free(c->constraint);
    c->app_slug = c->app_detail = c->constraint = NULL;
}

static char *db_field_dup(const PGresult *r, int field)
{
    const char *v = PQresultErrorField(r, field);
    return v == NULL ? NULL : xstrdup(v);
}

static enum db_status db_map_error(struct db_conn *c, const PGresult *r)
{
    const char *state = r == NULL ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);

    if (state == NULL || strlen(state) != 5)
        return PQstatus(c->pg) == CONNECTION_OK ? DB_ERROR : DB_UNAVAILABLE;
    if (state[0] == 'R' && state[1] == 'G') {
        c->app_code = atoi(state + 2);
        c->app_slug = db_field_dup(r, PG_DIAG_MESSAGE_PRIMARY);
        c->app_detail = db_field_dup(r, PG_DIAG_MESSAGE_DETAIL);
        return DB_APP_ERROR;
    }
    if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0) {
        c->constraint = db_field_dup(r, PG_DIAG_CONSTRAINT_NAME);
        return DB_CONFLICT;
    }
    if (strcmp(state, "23514") == 0) {
        c->constraint = db_field_dup(r, PG_DIAG_CONSTRAINT_NAME);
        return DB_CHECK_VIOLATION;
    }
    if (strcmp(state, "23503") == 0)
        return DB_NOT_FOUND;
    if (strcmp(state, "23502") == 0 || strncmp(state, "22", 2) == 0)
        return DB_INVALID_INPUT;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "57", 2) == 0 || strcmp(state, "55P03") == 0)
        return DB_UNAVAILABLE;
    {
        json_t *f = json_pack("{s:s}", "sqlstate", state);
        log_json(LOG_ERROR, "database error", f);
    }
    return DB_ERROR;
}

static bool db_is_serialization(const PGresult *r)
{
    const char *state = r == NULL ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

enum db_status db_exec(struct db_conn *c, const struct db_stmt *stmt, int nparams,
    const char *const *params, struct db_result **out)
{
    int broken_retries = 0, serial_retries = 0;

    if (out != NULL)
        *out = NULL;
    db_clear_last(c);
    for (;;) {
        if (db_conn_ensure(c) == -1)
            return DB_UNAVAILABLE;
        PGresult *r = PQexecPrepared(c->pg, stmt->name, nparams, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            if (out != NULL) {
                *out = xmalloc(sizeof(**out));
                (*out)->res = r;
            } else {
                PQclear(r);
            }
            return DB_OK;
        }
        if (PQstatus(c->pg) != CONNECTION_OK) {
            PQclear(r);
            c->prepared = false;
            /*
             * The connection broke under this statement. Whether it ran is
             * unknown, so only a statement declared safe runs again.
             */
            if ((stmt->flags & DB_RETRY_SAFE) && broken_retries++ == 0)
                continue;
            (void)db_conn_ensure(c);
            return DB_UNAVAILABLE;
        }
        if (db_is_serialization(r) && serial_retries++ < 3) {
            PQclear(r);
            continue;
        }
        enum db_status s = db_map_error(c, r);
        PQclear(r);
        return s;
    }
}

enum db_status db_exec_value(struct db_conn *c, const struct db_stmt *stmt, int nparams,
    const char *const *params, char **value)
{
    struct db_result *r = NULL;
    enum db_status s = db_exec(c, stmt, nparams, params, &r);

    *value = NULL;
    if (s != DB_OK)
        return s;
    if (db_result_rows(r) == 0 || db_result_value(r, 0, 0) == NULL)
        s = DB_NOT_FOUND;
    else
        *value = xstrdup(db_result_value(r, 0, 0));
    db_result_free(r);
    return s;
}

enum db_status db_exec_script(struct db_conn *c, const char *sql)
{
    db_clear_last(c);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        if (db_conn_ensure(c) == -1)
            return DB_UNAVAILABLE;
    }
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(r);
    enum db_status s = DB_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        s = db_map_error(c, r);
    PQclear(r);
    return s;
}

int db_result_rows(const struct db_result *r)
{
    return PQntuples(r->res);
}

int db_result_cols(const struct db_result *r)
{
    return PQnfields(r->res);
}

const char *db_result_value(const struct db_result *r, int row, int col)
{
    if (row >= PQntuples(r->res) || col >= PQnfields(r->res) || PQgetisnull(r->res, row, col))
        return NULL;
    return PQgetvalue(r->res, row, col);
}

void db_result_free(struct db_result *r)
{
    if (r == NULL)
        return;
    PQclear(r->res);
    free(r);
}

int db_last_app_code(const struct db_conn *c)
{
    return c->app_code;
}

const char *db_last_app_slug(const struct db_conn *c)
{
    return c->app_slug;
}

const char *db_last_app_detail(const struct db_conn *c)
{
    return c->app_detail;
}

const char *db_last_constraint(const struct db_conn *c)
{
    return c->constraint;
}

static void *db_pool_thread_init(void *ctx)
{
    struct db_pool *p = ctx;
    return db_conn_new(p->url);
}

static void db_pool_thread_fini(void *state, void *ctx)
{
    (void)ctx;
    db_conn_free(state);
}

struct db_pool *db_pool_new(const char *url, unsigned size, unsigned queue_capacity)
{
    struct db_pool *p = xcalloc(1, sizeof(*p));
    struct workq_config wc = {
        .name = "db",
        .threads = size,
        .capacity = queue_capacity,
        .thread_init = db_pool_thread_init,
        .thread_fini = db_pool_thread_fini,
        .ctx = p,
    };

    p->url = xstrdup(url);
    p->size = size;
    p->q = workq_new(&wc);
    if (p->q == NULL) {
        free(p->url);
        free(p);
        return NULL;
    }
    return p;
}

/* The job carries the caller's function through workq's untyped one. */
struct db_pool_job {
    void (*fn)(struct db_conn *c, void *arg);
    void *arg;
};

static void db_pool_run(void *state, void *arg)
{
    struct db_pool_job job = *(struct db_pool_job *)arg;
    free(arg);
    job.fn(state, job.arg);
}

int db_pool_submit(struct db_pool *p, void (*fn)(struct db_conn *c, void *arg), void *arg)
{
    struct db_pool_job *job = xmalloc(sizeof(*job));

    job->fn = fn;
    job->arg = arg;
    if (workq_submit(p->q, db_pool_run, job) == -1) {
        free(job);
        return -1;
    }
    return 0;
}

unsigned db_pool_in_use(struct db_pool *p)
{
    return workq_busy(p->q);
}

unsigned db_pool_size(struct db_pool *p)
{
    return p->size;
}

void db_pool_free(struct db_pool *p)
{
    if (p == NULL)
        return;
    workq_free(p->q);
    free(p->url);
    free(p);
}
