/* workq.c: see workq.h. */
#include "registrar/workq.h"

#include "registrar/log.h"
#include "registrar/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct workq_job {
    workq_fn *fn;
    void *arg;
};

struct workq {
    struct workq_config config;
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct workq_job *ring; /* capacity slots */
    unsigned head, count;
    unsigned busy;
    bool stopping;
    pthread_t *threads;
    unsigned started;
};

static void *workq_main(void *p)
{
    struct workq *q = p;
    void *state = NULL;

    if (q->config.thread_init != NULL)
        state = q->config.thread_init(q->config.ctx);
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->count == 0 && !q->stopping)
            pthread_cond_wait(&q->nonempty, &q->lock);
        if (q->count == 0 && q->stopping)
            break;
        struct workq_job job = q->ring[q->head];
        q->head = (q->head + 1) % q->config.capacity;
        q->count--;
        q->busy++;
        pthread_mutex_unlock(&q->lock);
        job.fn(state, job.arg);
        pthread_mutex_lock(&q->lock);
        q->busy--;
    }
    pthread_mutex_unlock(&q->lock);
    if (q->config.thread_fini != NULL)
        q->config.thread_fini(state, q->config.ctx);
    return NULL;
}

struct workq *workq_new(const struct workq_config *config)
{
    struct workq *q = xcalloc(1, sizeof(*q));

    if (config->threads == 0 || config->capacity == 0) {
        free(q);
        return NULL;
    }
    q->config = *config;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    q->ring = xcalloc(config->capacity, sizeof(*q->ring));
    q->threads = xcalloc(config->threads, sizeof(*q->threads));
    for (unsigned i = 0; i < config->threads; i++) {
        if (pthread_create(&q->threads[i], NULL, workq_main, q) != 0) {
            log_msg(LOG_ERROR, "%s: cannot start worker thread", config->name);
            workq_free(q);
            return NULL;
        }
        q->started++;
    }
    return q;
}

int workq_submit(struct workq *q, workq_fn *fn, void *arg)
{
    int rc = -1;

    pthread_mutex_lock(&q->lock);
    if (!q->stopping && q->count < q->config.capacity) {
        unsigned tail = (q->head + q->count) % q->config.capacity;
        q->ring[tail].fn = fn;
        q->ring[tail].arg = arg;
        q->count++;
        pthread_cond_signal(&q->nonempty);
        rc = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

unsigned workq_busy(struct workq *q)
{
    pthread_mutex_lock(&q->lock);
    unsigned n = q->busy;
    pthread_mutex_unlock(&q->lock);
    return n;
}

unsigned workq_queued(struct workq *q)
{
    pthread_mutex_lock(&q->lock);
    unsigned n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

unsigned workq_threads(struct workq *q)
{
    return q->config.threads;
}

void workq_free(struct workq *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    for (unsigned i = 0; i < q->started; i++)
        pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q->threads);
    free(q->ring);
    free(q);
}
