/* migrate.c: numbered SQL files applied once, in order. See db.h. */
#include "registrar/db.h"

#include "registrar/log.h"
#include "registrar/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any fixed key will do; it only has to be the same in every process. */
#define DB_MIGRATE_LOCK_KEY "7262617202"

static const struct db_stmt DB_STMT_SCHEMA_VERSION = {
    "db_schema_version",
    "select coalesce(max(version), 0) from registrar.schema_migrations",
    DB_RETRY_SAFE,
};

int db_schema_version(struct db_conn *c)
{
    char *v = NULL;
    int version = -1;

    if (db_exec_value(c, &DB_STMT_SCHEMA_VERSION, 0, NULL, &v) == DB_OK)
        version = atoi(v);
    free(v);
    return version;
}

struct db_migration {
    int version;
    char *name;
};

static int db_migration_cmp(const void *a, const void *b)
{
    const struct db_migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Lists NNNN_*.sql in dir, sorted. Returns the count or -1. */
static int db_migrations_list(const char *dir, struct db_migration **out)
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
        list = xrealloc(list, (size_t)(n + 1) * sizeof(*list));
        list[n].version = atoi(nm);
        list[n].name = xstrdup(nm);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(list, (size_t)n, sizeof(*list), db_migration_cmp);
    for (int i = 1; i < n; i++) {
        if (list[i].version == list[i - 1].version) {
            log_msg(LOG_ERROR, "two migrations numbered %d", list[i].version);
            for (int k = 0; k < n; k++)
                free(list[k].name);
            free(list);
            return -1;
        }
    }
    *out = list;
    return n;
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
    n = db_migrations_list(schema_dir, &list);
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
            " applied_at timestamptz not null default now())",
            "bookkeeping") == -1)
        goto unlock;
    for (int i = 0; i < n; i++) {
        char version[16];
        const char *params[2];
        if (list[i].version > DB_SCHEMA_VERSION) {
            log_msg(
                LOG_WARN, "migrate: %s is newer than this binary knows; not applied", list[i].name);
            continue;
        }
        snprintf(version, sizeof(version), "%d", list[i].version);
        params[0] = version;
        r = PQexecParams(pg, "select 1 from registrar.schema_migrations where version = $1", 1,
            NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            goto unlock;
        int done = PQntuples(r) > 0;
        PQclear(r);
        r = NULL;
        if (done)
            continue;

        char *path = xasprintf("%s/%s", schema_dir, list[i].name);
        char *sql = db_read_file(path);
        free(path);
        if (sql == NULL) {
            log_msg(LOG_ERROR, "migrate: cannot read %s", list[i].name);
            goto unlock;
        }
        int ok = db_run(pg, "begin", list[i].name) == 0 && db_run(pg, sql, list[i].name) == 0;
        free(sql);
        if (ok) {
            params[1] = list[i].name;
            r = PQexecParams(pg,
                "insert into registrar.schema_migrations (version, name) values ($1, $2)", 2, NULL,
                params, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            r = NULL;
        }
        if (!ok || db_run(pg, "commit", list[i].name) == -1) {
            (void)db_run(pg, "rollback", "rollback");
            goto unlock;
        }
        json_t *f = json_pack("{s:s}", "migration", list[i].name);
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
    for (int i = 0; i < n; i++)
        free(list[i].name);
    free(list);
    PQfinish(pg);
    return rc;
}

const struct db_stmt *db_migrate_statements(size_t *n)
{
    *n = 1;
    return &DB_STMT_SCHEMA_VERSION;
}
