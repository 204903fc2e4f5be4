/*
 * batch.c: group commit by a leader (batch.h). One mutex for all keys: a
 * key is in the list only while it is being decided, so the list is as
 * long as the number of offerings registering at this instant.
 */
#include "registrar/batch.h"

#include "registrar/util.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A key being decided, with what queued for it meanwhile. */
struct batch_key {
    char key[64];
    struct batch_item *head, *tail; /* queued, not yet taken by the leader */
    struct batch_key *next;
};

static pthread_mutex_t batch_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct batch_key *batch_keys;

static struct batch_key *batch_key_find(const char *key)
{
    for (struct batch_key *k = batch_keys; k != NULL; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
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

    assert(max >= 1 && strlen(key) < sizeof(((struct batch_key *)0)->key));
    item->next = NULL;
    pthread_mutex_lock(&batch_mutex);
    struct batch_key *k = batch_key_find(key);
    if (k != NULL) {
        /* Being decided: the leader takes it with the next batch. */
        if (k->tail != NULL)
            k->tail->next = item;
        else
            k->head = item;
        k->tail = item;
        pthread_mutex_unlock(&batch_mutex);
        return;
    }
    k = xcalloc(1, sizeof(*k));
    strcpy(k->key, key);
    k->head = k->tail = item;
    k->next = batch_keys;
    batch_keys = k;
    if (max > UTIL_ARRAY_LEN(stack))
        items = xcalloc(max, sizeof(*items));
    for (;;) {
        size_t n = 0;
        while (k->head != NULL && n < max) {
            items[n++] = k->head;
            k->head = k->head->next;
        }
        if (k->head == NULL)
            k->tail = NULL;
        if (n == 0)
            break;
        pthread_mutex_unlock(&batch_mutex);
        run(c, k->key, items, n);
        for (size_t i = 0; i < n; i++)
            items[i]->done(items[i], c); /* the last touch of items[i] */
        pthread_mutex_lock(&batch_mutex);
    }
    batch_key_drop(k);
    pthread_mutex_unlock(&batch_mutex);
    if (items != stack)
        free(items);
}
