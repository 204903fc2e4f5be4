/*
 * batch.h: group commit. Work for one key (an offering) that arrives while
 * earlier work for that key is being decided is queued, and is then
 * decided in one go by the thread deciding that key: one transaction, one
 * round trip, one WAL flush for all of it.
 *
 * Layering: knows nothing of HTTP or of SQL; the caller's run function does
 * the work on the leader's database connection, and each item's done
 * function hands its outcome on.
 *
 * There is no timer: a thread that finds nothing running for its key
 * decides at once (a batch of one). Only what queued up meanwhile is
 * grouped, so a batch adds no latency at low load. A waiting item holds no
 * thread and no connection (the HTTP layer parks its request, http.h), so
 * a batch can be as large as the number of requests in flight, up to the
 * bound given to batch_run; the rest waits for the next batch.
 */
#ifndef REGISTRAR_BATCH_H
#define REGISTRAR_BATCH_H

#include <stddef.h>

struct db_conn;
struct batch_item;

/*
 * Called once for each item, on the leader's thread with its connection,
 * after the item's batch is decided. The item's storage may be released
 * from here on: batch.c does not touch it again.
 */
typedef void batch_done_fn(struct batch_item *item, struct db_conn *c);

/* An item of work, in caller storage that lives until done is called. */
struct batch_item {
    void *arg; /* the caller's: inputs and outputs of the run function */
    batch_done_fn *done;
    struct batch_item *next; /* private to batch.c */
};

/*
 * Decides items[0..n-1] (n >= 1, in arrival order) on c; fills each
 * item's outputs through its arg. Called on the leader's thread, without
 * any lock held.
 */
typedef void batch_run_fn(
    struct db_conn *c, const char *key, struct batch_item *const *items, size_t n);

/*
 * Queues item under key (at most 63 bytes). If another thread is deciding
 * that key, returns at once: that thread decides the item and calls its
 * done. Otherwise this thread leads: on c it decides everything queued
 * for the key, at most max items at a time and in arrival order, calling
 * each item's done after its batch (item's own among the first), until
 * nothing is queued, and then returns. Thread-safe. All items of one key
 * must use the same run function.
 */
void batch_run(
    struct db_conn *c, const char *key, struct batch_item *item, size_t max, batch_run_fn *run);

#endif
