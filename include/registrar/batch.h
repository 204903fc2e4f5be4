/*
 * batch.h: group commit. Work for one key (an offering) that arrives while
 * earlier work for that key is being decided waits, and is then decided in
 * one go by one of the waiting threads: one transaction, one round trip,
 * one WAL flush for all of it.
 *
 * Layering: knows nothing of HTTP or of SQL; the caller's run function does
 * the work on the leader's database connection.
 *
 * There is no timer: a thread that finds nothing running for its key runs
 * at once, alone (a batch of one). Only what queued up meanwhile is
 * grouped, so a batch adds no latency at low load. A batch is bounded (see
 * batch_run): the rest waits for the next one.
 *
 * Every caller blocks its own thread until its item is decided; a leader
 * never waits for anything but its own work, so this cannot deadlock while
 * a leader can make progress.
 */
#ifndef REGISTRAR_BATCH_H
#define REGISTRAR_BATCH_H

#include <stddef.h>

struct db_conn;

/* An item of work, in caller storage (on the caller's stack). */
struct batch_item {
    void *arg; /* the caller's: inputs and outputs of the run function */
    /* Private to batch.c. */
    struct batch_item *next;
    int state;
};

/*
 * Decides items[0..n-1] (n >= 1, in arrival order) on c; fills each
 * item's outputs through its arg. Called on the leader's thread, without
 * any lock held.
 */
typedef void batch_run_fn(
    struct db_conn *c, const char *key, struct batch_item *const *items, size_t n);

/*
 * Queues item under key (copied; at most 63 bytes) and returns once it has
 * been decided by run, on this thread's connection c or on another
 * waiting thread's. At most max items are decided together. Thread-safe.
 * All items of one key must use the same run function.
 */
void batch_run(
    struct db_conn *c, const char *key, struct batch_item *item, size_t max, batch_run_fn *run);

#endif
