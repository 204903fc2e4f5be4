/* notify.c: the LISTEN thread. See notify.h. */
#include "registrar/notify.h"

#include "registrar/log.h"
#include "registrar/util.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOTIFY_POLL_MS 100
#define NOTIFY_RETRY_MIN_MS 1000
#define NOTIFY_RETRY_MAX_MS 10000

struct db_notify {
    pthread_t thread;
    char *url;
    char *listen_sql;
    db_notify_fn *fn;
    void *ctx;
    atomic_bool stop;
};

static PGconn *notify_connect(const struct db_notify *n)
{
    const char *keys[] = { "dbname", "connect_timeout", "application_name", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", NULL };
    const char *values[] = { n->url, "3", "registrar-listen", "1", "10", "3", "3", NULL };
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    PGresult *r;

    if (PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        return NULL;
    }
    r = PQexec(pg, n->listen_sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* Sleeps ms in short steps, so that stop is honoured promptly. */
static void notify_sleep(struct db_notify *n, int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&n->stop); slept += NOTIFY_POLL_MS)
        usleep(NOTIFY_POLL_MS * 1000);
}

static void *notify_main(void *arg)
{
    struct db_notify *n = arg;
    PGconn *pg = NULL;
    int retry_ms = NOTIFY_RETRY_MIN_MS;
    bool was_down = false;

    while (!atomic_load(&n->stop)) {
        if (pg == NULL) {
            pg = notify_connect(n);
            if (pg == NULL) {
                if (!was_down)
                    log_msg(LOG_WARN, "listen: cannot connect; retrying");
                was_down = true;
                notify_sleep(n, retry_ms);
                retry_ms = retry_ms * 2 > NOTIFY_RETRY_MAX_MS ? NOTIFY_RETRY_MAX_MS : retry_ms * 2;
                continue;
            }
            if (was_down)
                log_msg(LOG_INFO, "listen: connected again");
            was_down = false;
            retry_ms = NOTIFY_RETRY_MIN_MS;
            /* What was committed while we were not listening is unknown. */
            n->fn(n->ctx, NULL);
        }
        struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN };
        int rc = pfd.fd < 0 ? -1 : poll(&pfd, 1, NOTIFY_POLL_MS);
        if (rc == -1 && errno == EINTR)
            continue;
        if (rc == 0)
            continue;
        if (rc == -1 || PQconsumeInput(pg) == 0) {
            log_msg(LOG_WARN, "listen: connection lost; reconnecting");
            PQfinish(pg);
            pg = NULL;
            was_down = true;
            notify_sleep(n, NOTIFY_RETRY_MIN_MS);
            continue;
        }
        PGnotify *note;
        while ((note = PQnotifies(pg)) != NULL) {
            n->fn(n->ctx, note->extra);
            PQfreemem(note);
        }
    }
    PQfinish(pg);
    return NULL;
}

struct db_notify *db_notify_start(const char *url, const char *channel, db_notify_fn *fn, void *ctx)
{
    struct db_notify *n;

    if (channel == NULL || *channel == '\0' || strlen(channel) > 63 ||
        strspn(channel, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(channel) ||
        (channel[0] >= '0' && channel[0] <= '9')) {
        log_msg(LOG_ERROR, "listen: not a channel name");
        return NULL;
    }
    n = xcalloc(1, sizeof(*n));
    n->url = xstrdup(url != NULL ? url : "");
    /* The name was checked above: it can be spliced into LISTEN, which takes no parameters. */
    n->listen_sql = xasprintf("LISTEN %s", channel);
    n->fn = fn;
    n->ctx = ctx;
    atomic_init(&n->stop, false);
    if (pthread_create(&n->thread, NULL, notify_main, n) != 0) {
        log_msg(LOG_ERROR, "listen: cannot start a thread");
        free(n->url);
        free(n->listen_sql);
        free(n);
        return NULL;
    }
    return n;
}

void db_notify_stop(struct db_notify *n)
{
    if (n == NULL)
        return;
    atomic_store(&n->stop, true);
    pthread_join(n->thread, NULL);
    free(n->url);
    free(n->listen_sql);
    free(n);
}
