/*
 * test_batch.c: group commit (batch.h) with real threads: a batch of one
 * when nothing waits, what queued meanwhile decided together in arrival
 * order and within the bound, followers returning at once, keys
 * independent, and under many threads every item decided exactly once and
 * never two batches of one key at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/batch.h"

#define MAX_ITEMS 200
#define MAX_BATCHES 200

/* What one test saw: each batch's items, and the order of done calls. */
struct record {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool hold, held;         /* the first batch waits while hold */
    int batches[MAX_BATCHES][MAX_ITEMS + 1]; /* [0]: n, then the item numbers */
    int nbatches;
    int done_order[MAX_ITEMS];
    int ndone;
};

static struct record rec;

struct job {
    int number;
    int decided; /* the batch that decided it, + 1 */
    int done_calls;
    struct batch_item item;
};

static void record_reset(void)
{
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    pthread_cond_init(&rec.cond, NULL);
}

static void run_record(struct db_conn *c, const char *key, struct batch_item *const *items, size_t n)
{
    (void)c;
    (void)key;
    pthread_mutex_lock(&rec.lock);
    int b = rec.nbatches++;
    assert_true(b < MAX_BATCHES && n <= MAX_ITEMS);
    rec.batches[b][0] = (int)n;
    for (size_t i = 0; i < n; i++) {
        struct job *j = items[i]->arg;
        rec.batches[b][i + 1] = j->number;
        j->decided = b + 1;
    }
    if (b == 0) {
        rec.held = true;
        pthread_cond_broadcast(&rec.cond);
        while (rec.hold)
            pthread_cond_wait(&rec.cond, &rec.lock);
    }
    pthread_mutex_unlock(&rec.lock);
}

static void done_record(struct batch_item *item, struct db_conn *c)
{
    struct job *j = item->arg;
    (void)c;
    pthread_mutex_lock(&rec.lock);
    assert_true(j->decided > 0); /* done only after its batch was decided */
    j->done_calls++;
    rec.done_order[rec.ndone++] = j->number;
    pthread_mutex_unlock(&rec.lock);
}

static void job_init(struct job *j, int number)
{
    memset(j, 0, sizeof(*j));
    j->number = number;
    j->item.arg = j;
    j->item.done = done_record;
}

static void test_alone_is_a_batch_of_one(void **state)
{
    struct job j;
    (void)state;
    record_reset();
    job_init(&j, 7);
    batch_run(NULL, "offering-a", &j.item, 64, run_record);
    /* Decided on this thread before batch_run returned. */
    assert_int_equal(rec.nbatches, 1);
    assert_int_equal(rec.batches[0][0], 1);
    assert_int_equal(rec.batches[0][1], 7);
    assert_int_equal(j.done_calls, 1);
    /* And again: the key was let go. */
    job_init(&j, 8);
    batch_run(NULL, "offering-a", &j.item, 64, run_record);
    assert_int_equal(rec.nbatches, 2);
    assert_int_equal(j.done_calls, 1);
}

struct leader_arg {
    const char *key;
    struct job *job;
    size_t max;
};

static void *leader_main(void *p)
{
    struct leader_arg *a = p;
    batch_run(NULL, a->key, &a->job->item, a->max, run_record);
    return NULL;
}

static void wait_held(void)
{
    pthread_mutex_lock(&rec.lock);
    while (!rec.held)
        pthread_cond_wait(&rec.cond, &rec.lock);
    pthread_mutex_unlock(&rec.lock);
}

static void release_hold(void)
{
    pthread_mutex_lock(&rec.lock);
    rec.hold = false;
    pthread_cond_broadcast(&rec.cond);
    pthread_mutex_unlock(&rec.lock);
}

static void test_queued_meanwhile_go_together_in_order(void **state)
{
    static struct job jobs[101];
    pthread_t leader;
    (void)state;
    record_reset();
    rec.hold = true;
    for (int i = 0; i <= 100; i++)
        job_init(&jobs[i], i);
    struct leader_arg a = { "offering-b", &jobs[0], 40 };
    assert_int_equal(pthread_create(&leader, NULL, leader_main, &a), 0);
    wait_held();
    /* The leader is deciding item 0: the others queue, and return at once. */
    for (int i = 1; i <= 100; i++) {
        batch_run(NULL, "offering-b", &jobs[i].item, 40, run_record);
        assert_int_equal(jobs[i].done_calls, 0);
    }
    /* Another key is not held up by this one. */
    struct job other;
    job_init(&other, 1000);
    batch_run(NULL, "offering-c", &other.item, 40, run_record);
    assert_int_equal(other.done_calls, 1);
    release_hold();
    assert_int_equal(pthread_join(leader, NULL), 0);

    /* [0] alone, then [other], then 1..40, 41..80, 81..100 in arrival order. */
    assert_int_equal(rec.nbatches, 5);
    assert_int_equal(rec.batches[0][0], 1);
    assert_int_equal(rec.batches[1][0], 1);
    assert_int_equal(rec.batches[1][1], 1000);
    int expect = 1;
    int sizes[] = { 40, 40, 20 };
    for (int b = 2; b < 5; b++) {
        assert_int_equal(rec.batches[b][0], sizes[b - 2]);
        for (int i = 1; i <= rec.batches[b][0]; i++)
            assert_int_equal(rec.batches[b][i], expect++);
    }
    for (int i = 0; i <= 100; i++)
        assert_int_equal(jobs[i].done_calls, 1);
}

/* ---- many threads, a few keys ---- */

#define THREADS 8
#define PER_THREAD 2000
#define KEYS 3

static atomic_int in_flight[KEYS];
static atomic_int overlap, decided_total, done_total;
static atomic_int largest;

struct stress_job {
    int key;
    atomic_int decided, done;
    struct batch_item item;
};

static void run_stress(struct db_conn *c, const char *key, struct batch_item *const *items, size_t n)
{
    (void)c;
    int k = key[0] - 'a';
    if (atomic_fetch_add(&in_flight[k], 1) != 0)
        atomic_fetch_add(&overlap, 1);
    for (size_t i = 0; i < n; i++) {
        struct stress_job *j = items[i]->arg;
        assert_int_equal(j->key, k);
        atomic_fetch_add(&j->decided, 1);
    }
    atomic_fetch_add(&decided_total, (int)n);
    int l = atomic_load(&largest);
    while ((int)n > l && !atomic_compare_exchange_weak(&largest, &l, (int)n))
        ;
    atomic_fetch_sub(&in_flight[k], 1);
}

static void done_stress(struct batch_item *item, struct db_conn *c)
{
    struct stress_job *j = item->arg;
    (void)c;
    atomic_fetch_add(&j->done, 1);
    atomic_fetch_add(&done_total, 1);
}

static struct stress_job stress_jobs[THREADS][PER_THREAD];

static void *stress_main(void *p)
{
    int t = (int)(intptr_t)p;
    for (int i = 0; i < PER_THREAD; i++) {
        struct stress_job *j = &stress_jobs[t][i];
        j->key = (t + i) % KEYS;
        j->item.arg = j;
        j->item.done = done_stress;
        char key[2] = { (char)('a' + j->key), '\0' };
        batch_run(NULL, key, &j->item, 16, run_stress);
    }
    return NULL;
}

static void test_many_threads_each_item_once(void **state)
{
    pthread_t threads[THREADS];
    (void)state;
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, stress_main, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    /* Every leader has returned, so every item has been decided and told. */
    assert_int_equal(atomic_load(&decided_total), THREADS * PER_THREAD);
    assert_int_equal(atomic_load(&done_total), THREADS * PER_THREAD);
    assert_int_equal(atomic_load(&overlap), 0);
    assert_true(atomic_load(&largest) <= 16);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            assert_int_equal(atomic_load(&stress_jobs[t][i].decided), 1);
            assert_int_equal(atomic_load(&stress_jobs[t][i].done), 1);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_is_a_batch_of_one),
        cmocka_unit_test(test_queued_meanwhile_go_together_in_order),
        cmocka_unit_test(test_many_threads_each_item_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
