/* migrate.c: numbered SQL files applied once, in order, held to their digests. See db.h. */
#include "registrar/db.h"

#include "registrar/log.h"
#include "registrar/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any fixed key will do; it only has to be the same in every process. */
#define DB_MIGRATE_LOCK_KEY "7262617202"

/*
 * The digest of a migration is PostgreSQL's own sha256 over the file's
 * bytes (the database is UTF-8, so convert_to gives them back unchanged).
 * `registrar migrate` and readyz compute it the same way, and so does
 * `sha256sum` over the file: schema/SHA256SUMS is that tool's format.
 */
#define DB_SHA256_OF(param) "encode(sha256(convert_to(" param "::text, 'UTF8')), 'hex')"

static const struct db_stmt db_migrate_stmts[] = {
    { "db_schema_version", "select coalesce(max(version), 0) from registrar.schema_migrations",
        DB_RETRY_SAFE },
    { "db_schema_sha256", "select " DB_SHA256_OF("$1"), DB_RETRY_SAFE },
    { "db_schema_applied",
        "select version, name, sha256 from registrar.schema_migrations order by version",
        DB_RETRY_SAFE },
};
#define DB_STMT_SCHEMA_VERSION (&db_migrate_stmts[0])
#define DB_STMT_SCHEMA_SHA256 (&db_migrate_stmts[1])
#define DB_STMT_SCHEMA_APPLIED (&db_migrate_stmts[2])

int db_schema_version(struct db_conn *c)
{
    char *v = NULL;
    int version = -1;

    if (db_exec_value(c, DB_STMT_SCHEMA_VERSION, 0, NULL, &v) == DB_OK)
        version = atoi(v);
    free(v);
    return version;
}

struct db_migration {
    int version;
    char *name;
    char *sql;    /* the file's text; NULL once its digest is known (serve) */
    char *sha256; /* hex, NULL until computed */
};

static void db_migrations_free(struct db_migration *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].sql);
        free(list[i].sha256);
    }
    free(list);
}

static int db_migration_cmp(const void *a, const void *b)
{
    const struct db_migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static char *db_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct sbuf sb = SBUF_INIT;
    char chunk[8192];
    size_t got;

    if (f == NULL)
        return NULL;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sbuf_add(&sb, chunk, got);
    fclose(f);
    return sbuf_detach(&sb, NULL);
}

/*
 * Reads NNNN_*.sql of dir numbered up to DB_SCHEMA_VERSION, sorted, with
 * their text. Returns the count, or -1 after logging.
 */
static int db_migrations_read(const char *dir, struct db_migration **out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct db_migration *list = NULL;
    int n = 0;

    if (d == NULL) {
        log_msg(LOG_ERROR, "cannot open schema directory %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (len < 10 || !isdigit((unsigned char)nm[0]) || !isdigit((unsigned char)nm[1]) ||
            !isdigit((unsigned char)nm[2]) || !isdigit((unsigned char)nm[3]) || nm[4] != '_' ||
            strcmp(nm + len - 4, ".sql") != 0)
            continue;
        if (atoi(nm) > DB_SCHEMA_VERSION) {
            log_msg(LOG_WARN, "schema/%s is newer than this binary knows; not used", nm);
            continue;
        }
        list = xrealloc(list, (size_t)(n + 1) * sizeof(*list));
        list[n] = (struct db_migration){ .version = atoi(nm), .name = xstrdup(nm) };
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(list, (size_t)n, sizeof(*list), db_migration_cmp);
    for (int i = 0; i < n; i++) {
        if (i > 0 && list[i].version == list[i - 1].version) {
            log_msg(LOG_ERROR, "two migrations numbered %d", list[i].version);
            goto fail;
        }
        char *path = xasprintf("%s/%s", dir, list[i].name);
        list[i].sql = db_read_file(path);
        free(path);
        if (list[i].sql == NULL) {
            log_msg(LOG_ERROR, "cannot read schema/%s: %s", list[i].name, strerror(errno));
            goto fail;
        }
    }
    *out = list;
    return n;
fail:
    db_migrations_free(list, n);
    return -1;
}

static const struct db_migration *db_migration_find(
    const struct db_migration *list, int n, int version)
{
    for (int i = 0; i < n; i++)
        if (list[i].version == version)
            return &list[i];
    return NULL;
}

/*
 * The one sentence both migrate and readyz say about an applied migration
 * (version, name, recorded digest) that does not match the files; NULL
 * when it does. Malloc'd.
 */
static char *db_migration_mismatch(const struct db_migration *list, int n, int version,
    const char *name, const char *sha256, const char *file_sha256)
{
    const struct db_migration *m = db_migration_find(list, n, version);

    if (m == NULL)
        return xasprintf("migration %s is applied to this database but schema/ has no such "
                         "file (a landed migration is never renamed or deleted)",
            name);
    if (strcmp(m->name, name) != 0)
        return xasprintf("schema/%s is not the migration %s applied to this database (a landed "
                         "migration is never renamed)",
            m->name, name);
    if (sha256 == NULL)
        return xasprintf("migration %s was applied before digests were kept: run registrar "
                         "migrate to record it",
            name);
    if (file_sha256 != NULL && strcmp(sha256, file_sha256) != 0)
        return xasprintf("schema/%s differs from the migration applied to this database "
                         "(sha256 %.12s... applied, %.12s... on disk): a landed migration is never "
                         "edited; write a new one",
            name, sha256, file_sha256);
    return NULL;
}

static int db_run(PGconn *pg, const char *sql, const char *what)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        /* Operators need the server's words here; migrations carry no personal data. */
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        json_t *f = json_pack("{s:s, s:s, s:s}", "step", what, "sqlstate", state ? state : "none",
            "error", msg ? msg : PQerrorMessage(pg));
        log_json(LOG_ERROR, "migration failed", f);
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* A query with text parameters that must return rows; NULL after logging. */
static PGresult *db_query(PGconn *pg, const char *sql, int nparams, const char *const *params)
{
    PGresult *r = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        log_msg(LOG_ERROR, "migrate: %s", msg != NULL ? msg : "the database did not answer");
        PQclear(r);
        return NULL;
    }
    return r;
}

/*
 * Holds every migration recorded in the database against the files: fills
 * in digests of rows applied before digests were kept (trusting the file
 * then), and fails on a row whose file differs, was renamed or is gone.
 */
static int db_migrate_verify(PGconn *pg, const struct db_migration *list, int n)
{
    PGresult *r = db_query(pg,
        "select version, name, sha256 from registrar.schema_migrations order by version", 0, NULL);
    int rc = 0;

    if (r == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        int version = atoi(PQgetvalue(r, i, 0));
        const char *name = PQgetvalue(r, i, 1);
        const char *sha256 = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);
        const struct db_migration *m = db_migration_find(list, n, version);

        if (version > DB_SCHEMA_VERSION)
            continue; /* newer than this binary: readyz says so, migrate leaves it */
        if (sha256 == NULL && m != NULL && strcmp(m->name, name) == 0) {
            char vtext[16];
            snprintf(vtext, sizeof(vtext), "%d", version);
            const char *params[2] = { vtext, m->sql };
            PGresult *u = db_query(pg,
                "update registrar.schema_migrations set sha256 = " DB_SHA256_OF(
                    "$2") " where version = $1::integer and sha256 is null",
                2, params);
            if (u == NULL) {
                rc = -1;
                break;
            }
            PQclear(u);
            log_msg(LOG_WARN,
                "migrate: recorded the digest of %s, applied before digests were kept (the file "
                "as it is now is taken as what was applied)",
                name);
            continue;
        }
        char *why = db_migration_mismatch(list, n, version, name, sha256, m ? m->sha256 : NULL);
        if (why != NULL) {
            log_msg(LOG_ERROR, "migrate: %s", why);
            free(why);
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}

int db_migrate(const char *url, const char *schema_dir)
{
    struct db_migration *list = NULL;
    int n = -1, rc = -1, applied = 0;
    PGconn *pg = PQconnectdb(url);
    PGresult *r = NULL;

    if (PQstatus(pg) != CONNECTION_OK) {
        log_msg(LOG_ERROR, "migrate: cannot connect to the database");
        goto out;
    }
    n = db_migrations_read(schema_dir, &list);
    if (n == -1)
        goto out;
    /* Session lock: a second `registrar migrate` waits here, then finds nothing to do. */
    if (db_run(pg, "set client_min_messages = warning", "settings") == -1 ||
        db_run(pg, "select pg_advisory_lock(" DB_MIGRATE_LOCK_KEY ")", "lock") == -1)
        goto out;
    if (db_run(pg,
            "create schema if not exists registrar;"
            "create table if not exists registrar.schema_migrations ("
            " version integer primary key, name text not null,"
            " applied_at timestamptz not null default now());"
            "alter table registrar.schema_migrations add column if not exists sha256 text",
            "bookkeeping") == -1)
        goto unlock;
    for (int i = 0; i < n; i++) {
        const char *params[1] = { list[i].sql };
        r = db_query(pg, "select " DB_SHA256_OF("$1"), 1, params);
        if (r == NULL)
            goto unlock;
        list[i].sha256 = xstrdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        r = NULL;
    }
    if (db_migrate_verify(pg, list, n) == -1)
        goto unlock;
    for (int i = 0; i < n; i++) {
        char version[16];
        snprintf(version, sizeof(version), "%d", list[i].version);
        const char *params[3] = { version, list[i].name, list[i].sql };
        r = db_query(
            pg, "select 1 from registrar.schema_migrations where version = $1::integer", 1, params);
        if (r == NULL)
            goto unlock;
        int done = PQntuples(r) > 0;
        PQclear(r);
        r = NULL;
        if (done)
            continue;

        int ok =
            db_run(pg, "begin", list[i].name) == 0 && db_run(pg, list[i].sql, list[i].name) == 0;
        if (ok) {
            r = db_query(pg,
                "insert into registrar.schema_migrations (version, name, sha256)"
                " values ($1::integer, $2, " DB_SHA256_OF("$3") ")",
                3, params);
            ok = r != NULL;
            PQclear(r);
            r = NULL;
        }
        if (!ok || db_run(pg, "commit", list[i].name) == -1) {
            (void)db_run(pg, "rollback", "rollback");
            goto unlock;
        }
        json_t *f = json_pack("{s:s, s:s}", "migration", list[i].name, "sha256", list[i].sha256);
        log_json(LOG_INFO, "migration applied", f);
        applied++;
    }
    rc = 0;
    {
        json_t *f =
            json_pack("{s:i, s:i}", "applied", applied, "schema_version", DB_SCHEMA_VERSION);
        log_json(LOG_INFO, "migrations up to date", f);
    }
unlock:
    (void)db_run(pg, "select pg_advisory_unlock(" DB_MIGRATE_LOCK_KEY ")", "unlock");
out:
    PQclear(r);
    if (n > 0)
        db_migrations_free(list, n);
    PQfinish(pg);
    return rc;
}

/* ---- the files as `serve` knows them, for readyz ---- */

static struct {
    pthread_mutex_t lock;
    struct db_migration *list;
    int n;
    bool hashed;
} db_files = { .lock = PTHREAD_MUTEX_INITIALIZER, .n = -1 };

int db_schema_files_load(const char *schema_dir)
{
    struct db_migration *list = NULL;
    int n = db_migrations_read(schema_dir, &list);

    if (n == -1)
        return -1;
    pthread_mutex_lock(&db_files.lock);
    if (db_files.n > 0)
        db_migrations_free(db_files.list, db_files.n);
    db_files.list = list;
    db_files.n = n;
    db_files.hashed = false;
    pthread_mutex_unlock(&db_files.lock);
    return 0;
}

void db_schema_files_release(void)
{
    pthread_mutex_lock(&db_files.lock);
    if (db_files.n > 0)
        db_migrations_free(db_files.list, db_files.n);
    db_files.list = NULL;
    db_files.n = -1;
    db_files.hashed = false;
    pthread_mutex_unlock(&db_files.lock);
}

enum db_status db_schema_check(struct db_conn *c, char **problem)
{
    enum db_status s = DB_OK;
    struct db_result *res = NULL;

    *problem = NULL;
    pthread_mutex_lock(&db_files.lock);
    if (db_files.n == -1) {
        *problem = xstrdup("the migration files were not loaded");
        goto out;
    }
    /* Digests once per process: the database computes them as migrate did. */
    for (int i = 0; i < db_files.n && !db_files.hashed; i++) {
        if (db_files.list[i].sha256 != NULL)
            continue;
        const char *params[1] = { db_files.list[i].sql };
        s = db_exec_value(c, DB_STMT_SCHEMA_SHA256, 1, params, &db_files.list[i].sha256);
        if (s != DB_OK)
            goto out;
        free(db_files.list[i].sql);
        db_files.list[i].sql = NULL;
    }
    db_files.hashed = true;
    s = db_exec(c, DB_STMT_SCHEMA_APPLIED, 0, NULL, &res);
    if (s != DB_OK)
        goto out;
    for (int i = 0; i < db_result_rows(res) && *problem == NULL; i++) {
        int version = atoi(db_result_value(res, i, 0));
        const struct db_migration *m = db_migration_find(db_files.list, db_files.n, version);
        if (version > DB_SCHEMA_VERSION)
            continue;
        *problem = db_migration_mismatch(db_files.list, db_files.n, version,
            db_result_value(res, i, 1), db_result_value(res, i, 2), m ? m->sha256 : NULL);
    }
out:
    pthread_mutex_unlock(&db_files.lock);
    db_result_free(res);
    return s;
}

const struct db_stmt *db_migrate_statements(size_t *n)
{
    *n = sizeof(db_migrate_stmts) / sizeof(db_migrate_stmts[0]);
    return db_migrate_stmts;
}
