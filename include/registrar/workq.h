/*
 * workq.h: a fixed set of worker threads draining one bounded queue.
 *
 * Layering: uses util only. The database pool and the password-hashing
 * pool are both a workq; each worker may own per-thread state (a database
 * connection) made by thread_init on that thread.
 *
 * A full queue refuses work at once (workq_submit returns -1) so that the
 * caller can answer 503 instead of queueing without bound.
 */
#ifndef REGISTRAR_WORKQ_H
#define REGISTRAR_WORKQ_H

#include <stddef.h>

struct workq;

/* Runs on a worker thread; state is what thread_init returned for it. */
typedef void workq_fn(void *state, void *arg);

struct workq_config {
    const char *name;  /* for logs, static storage */
    unsigned threads;  /* >= 1 */
    unsigned capacity; /* queued jobs at most (running ones excluded) */
    /* Optional: make and destroy per-thread state (called on that thread). */
    void *(*thread_init)(void *ctx);
    void (*thread_fini)(void *state, void *ctx);
    void *ctx;
};

/* Starts the threads. Returns NULL if a thread could not be created. */
struct workq *workq_new(const struct workq_config *config);

/*
 * Queues fn(state, arg). Returns 0, or -1 when the queue is full or the
 * pool is stopping; on -1 nothing was queued and arg still belongs to the
 * caller.
 */
int workq_submit(struct workq *q, workq_fn *fn, void *arg);

/* Jobs running now (for the "pool in use" gauge) and queued. */
unsigned workq_busy(struct workq *q);
unsigned workq_queued(struct workq *q);
unsigned workq_threads(struct workq *q);

/*
 * Lets queued jobs finish, joins the threads (running thread_fini) and
 * frees q. Accepts NULL.
 */
void workq_free(struct workq *q);

#endif
