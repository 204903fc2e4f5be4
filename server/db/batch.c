/*
 * batch.c: group commit by leader and followers (batch.h). One mutex and
 * one condition variable for all keys: the waiting threads are the
 * database pool's workers, a few dozen at most, and a batch is woken as a
 * whole.
 */
#include "registrar/batch.h"

#include "registrar/util.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH_QUEUED = 0, BATCH_LEAD, BATCH_DONE };

/* A key with work running or queued. */
struct batch_key {
    char key[64];
    struct batch_item *head, *tail; /* queued, not yet taken by a leader */
    bool running;
    struct batch_key *next;
};

static pthread_mutex_t batch_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t batch_cond = PTHREAD_COND_INITIALIZER;
static struct batch_key *batch_keys;

static struct batch_key *batch_key_get(const char *key)
{
    for (struct batch_key *k = batch_keys; k != NULL; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    struct batch_key *k = xcalloc(1, sizeof(*k));
    assert(strlen(key) < sizeof(k->key));
    strcpy(k->key, key);
    k->next = batch_keys;
    batch_keys = k;
    return k;
}

static void batch_key_drop(struct batch_key *k)
{
    for (struct batch_key **p = &batch_keys; *p != NULL; p = &(*p)->next) {
        if (*p == k) {
            *p = k->next;
            free(k);
            return;
        }
    }
    assert(!"batch key not in the list");
}

void batch_run(
    struct db_conn *c, const char *key, struct batch_item *item, size_t max, batch_run_fn *run)
{
    struct batch_item *stack[64];
    struct batch_item **items = stack;
    size_t n = 0;

    assert(max >= 1);
    pthread_mutex_lock(&batch_mutex);
    struct batch_key *k = batch_key_get(key);
    item->next = NULL;
    item->state = BATCH_QUEUED;
    if (k->tail != NULL)
        k->tail->next = item;
    else
        k->head = item;
    k->tail = item;
    if (!k->running) {
        k->running = true;
        item->state = BATCH_LEAD;
    }
    while (item->state == BATCH_QUEUED)
        pthread_cond_wait(&batch_cond, &batch_mutex);
    if (item->state == BATCH_DONE) {
        pthread_mutex_unlock(&batch_mutex);
        return;
    }
    /* The leader is the head of the queue: it takes itself and those behind it. */
    assert(k->head == item);
    if (max > UTIL_ARRAY_LEN(stack))
        items = xcalloc(max, sizeof(*items));
    while (k->head != NULL && n < max) {
        items[n++] = k->head;
        k->head = k->head->next;
    }
    if (k->head == NULL)
        k->tail = NULL;
    pthread_mutex_unlock(&batch_mutex);

    run(c, key, items, n);

    pthread_mutex_lock(&batch_mutex);
    for (size_t i = 0; i < n; i++)
        items[i]->state = BATCH_DONE;
    /* What queued meanwhile goes at once, led by its first. */
    if (k->head != NULL) {
        k->head->state = BATCH_LEAD;
    } else {
        k->running = false;
        batch_key_drop(k);
    }
    pthread_cond_broadcast(&batch_cond);
    pthread_mutex_unlock(&batch_mutex);
    if (items != stack)
        free(items);
}
