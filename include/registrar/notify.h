/*
 * notify.h: a thread that LISTENs on a PostgreSQL channel with a
 * connection of its own and calls back on every notification, so that
 * each server process hears of changes committed by any other.
 *
 * Layering: db layer (it includes <libpq-fe.h> in notify.c); knows nothing
 * of HTTP. main.c wires the callback to http_cache_clear().
 *
 * The connection reconnects by itself (after 1 s, then backing off to
 * 10 s) when it breaks or cannot be made. Notifications sent while it was
 * down are lost, so on every (re)connection the callback runs once with
 * payload NULL: "anything may have changed".
 */
#ifndef REGISTRAR_NOTIFY_H
#define REGISTRAR_NOTIFY_H

struct db_notify;

/* Called on the listener's thread; payload is borrowed (NULL: resynchronise). */
typedef void db_notify_fn(void *ctx, const char *payload);

/*
 * Starts listening on channel (a plain identifier: [a-z_][a-z0-9_]*).
 * Returns the listener, or NULL (logged) if channel is not such a name or
 * the thread cannot start; a database that is down is not a failure (the
 * thread keeps trying).
 */
struct db_notify *db_notify_start(
    const char *url, const char *channel, db_notify_fn *fn, void *ctx);

/* Stops the thread (within about 100 ms), closes its connection, frees n. Accepts NULL. */
void db_notify_stop(struct db_notify *n);

#endif
