/*
 * db.h: the PostgreSQL layer: a pool of worker threads that each own one
 * libpq connection, statements prepared once per connection, SQLSTATE
 * mapped to a small enum, and migrations.
 *
 * Layering: knows nothing of HTTP. Only this layer includes <libpq-fe.h>.
 *
 * Statements are declared by the modules that use them as static
 * `struct db_stmt` values and registered with db_stmts_register() before
 * the pool starts; every connection prepares all of them when it connects
 * (and again after a reset).
 */
#ifndef REGISTRAR_DB_H
#define REGISTRAR_DB_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The newest migration this binary knows. `registrar migrate` applies the
 * files numbered up to it; readyz fails against a database that has a
 * newer one. Raise it with every new file in schema/.
 */
#define DB_SCHEMA_VERSION 17

enum db_status {
    DB_OK = 0,
    DB_NOT_FOUND,       /* no row, or a foreign key to nothing */
    DB_CONFLICT,        /* unique or exclusion violation */
    DB_CHECK_VIOLATION, /* a check constraint */
    DB_INVALID_INPUT,   /* SQLSTATE class 22 or 23502: the value was bad */
    DB_APP_ERROR,       /* raised by our own SQL with errcode 'RGnnn' */
    DB_UNAVAILABLE,     /* no connection, timeout, shutdown, out of resources */
    DB_ERROR            /* anything else: a bug */
};

/* Retrying after a broken connection is safe (reads, idempotent writes). */
#define DB_RETRY_SAFE 1u

struct db_stmt {
    const char *name; /* unique across the program */
    const char *sql;
    unsigned flags; /* DB_RETRY_SAFE */
};

struct db_conn;
struct db_pool;
struct db_result;

/*
 * Adds statements to the set every connection prepares. The array must
 * outlive the pools. Call before db_pool_new(); not thread-safe.
 */
void db_stmts_register(const struct db_stmt *stmts, size_t n);

/*
 * Opens one connection outside any pool (for migrate, the LISTEN thread and
 * tests). Never NULL: a connection that failed is reset on first use.
 */
struct db_conn *db_conn_new(const char *url);
void db_conn_free(struct db_conn *c);
/* True if the connection is up (a cheap check, no round trip). */
bool db_conn_ok(struct db_conn *c);

/*
 * Executes a registered statement with text parameters (NULL = SQL null).
 * On DB_OK and *out != NULL, *out receives the result (free it with
 * db_result_free); on failure *out is NULL. A broken connection is reset
 * and, when the statement is DB_RETRY_SAFE or nothing had been sent, the
 * statement runs once more. Serialization failures are retried.
 */
enum db_status db_exec(struct db_conn *c, const struct db_stmt *stmt, int nparams,
    const char *const *params, struct db_result **out);

/*
 * db_exec for statements returning one value: *value receives a malloc'd
 * copy of row 0, column 0. Zero rows or a null value give DB_NOT_FOUND and
 * *value NULL.
 */
enum db_status db_exec_value(struct db_conn *c, const struct db_stmt *stmt, int nparams,
    const char *const *params, char **value);

/* Runs literal SQL without parameters (migrations, LISTEN); no retry. */
enum db_status db_exec_script(struct db_conn *c, const char *sql);

int db_result_rows(const struct db_result *r);
int db_result_cols(const struct db_result *r);
/* The value as text, or NULL for SQL null. Borrowed from r. */
const char *db_result_value(const struct db_result *r, int row, int col);
void db_result_free(struct db_result *r);

/*
 * About the last failure on c: for DB_APP_ERROR, the errcode's digits
 * (e.g. 409 for 'RG409'), the message our SQL raised (a problem slug) and
 * its DETAIL (JSON text or NULL); for DB_CONFLICT / DB_CHECK_VIOLATION the
 * violated constraint's name or NULL. Never libpq's own text. Borrowed
 * until the next call on c.
 */
int db_last_app_code(const struct db_conn *c);
const char *db_last_app_slug(const struct db_conn *c);
const char *db_last_app_detail(const struct db_conn *c);
const char *db_last_constraint(const struct db_conn *c);

/* A pool of `size` workers, each owning one connection. NULL on failure. */
struct db_pool *db_pool_new(const char *url, unsigned size, unsigned queue_capacity);
/*
 * Queues fn(conn, arg) on a worker. Returns -1 (nothing queued) if the
 * queue is full; the caller answers 503.
 */
int db_pool_submit(struct db_pool *p, void (*fn)(struct db_conn *c, void *arg), void *arg);
unsigned db_pool_in_use(struct db_pool *p);
unsigned db_pool_size(struct db_pool *p);
/* Finishes queued work, closes the connections, frees p. Accepts NULL. */
void db_pool_free(struct db_pool *p);

/*
 * Applies schema/NNNN_*.sql files numbered up to DB_SCHEMA_VERSION, each in
 * its own transaction, under a session advisory lock so that concurrent
 * runs wait for each other; records each in registrar.schema_migrations
 * with the SHA-256 of its file (computed by PostgreSQL over the file's
 * bytes: what `sha256sum` prints). Before applying anything it holds every
 * recorded migration against its file: one whose file differs, was
 * renamed or is gone is a one-line error naming it and nothing is applied;
 * one recorded before digests were kept gets the digest of its file as it
 * is now (with a warning). Returns 0, or -1 after logging what failed.
 */
int db_migrate(const char *url, const char *schema_dir);

/*
 * The newest applied migration, via a registered statement; -1 if the
 * table is missing or the database is unreachable.
 */
int db_schema_version(struct db_conn *c);

/*
 * Reads the migration files of schema_dir (those up to DB_SCHEMA_VERSION)
 * into the process, for db_schema_check. Call at start; 0, or -1 after
 * logging when the directory or a file cannot be read. Loading again
 * replaces what was loaded; db_schema_files_release frees it.
 */
int db_schema_files_load(const char *schema_dir);
void db_schema_files_release(void);

/*
 * Holds the migrations applied to the database against the loaded files,
 * by name and digest (the files' digests are computed on c on the first
 * call and kept). DB_OK with *problem NULL when every applied migration up
 * to DB_SCHEMA_VERSION is its file; DB_OK with *problem a malloc'd
 * one-line sentence naming the first that differs, was renamed, is gone
 * or has no digest; another status (and *problem NULL) when the database
 * could not be asked. Thread-safe.
 */
enum db_status db_schema_check(struct db_conn *c, char **problem);
/* The statements db_schema_version and db_schema_check use, for db_stmts_register. */
const struct db_stmt *db_migrate_statements(size_t *n);

#endif
