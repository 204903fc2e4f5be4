/* jobs.c: the sweeper thread. See jobs.h. */
#include "registrar/jobs.h"

#include "registrar/db.h"
#include "registrar/log.h"
#include "registrar/mail.h"
#include "registrar/metrics.h"
#include "registrar/payments.h"
#include "registrar/util.h"

#include <jansson.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rows per statement: short transactions, so a sweep never holds a hot offering for long. */
#define JOBS_BATCH "200"
/* Statements per sweep at most, so a backlog cannot keep the thread from noticing a stop. */
#define JOBS_MAX_ROUNDS 50
/* Messages sent per wake-up at most; the rest wait for the next one. */
#define JOBS_MAIL_MAX 100
/*
 * Mail shares the thread with the hold sweep: after this long a pass stops
 * starting new sends, so that a slow relay cannot keep expired holds from
 * being released within the minute they are promised in.
 */
#define JOBS_MAIL_BUDGET_MS 5000

static const struct db_stmt SQL_SWEEP = { "jobs_sweep", "select registrar.sweep($1::integer)", 0 };
static const struct db_stmt SQL_RETENTION = { "jobs_retention",
    "select registrar.retention_purge($1::integer)", 0 };
static const struct db_stmt SQL_REFUNDS_PENDING = { "jobs_refunds_pending",
    "select registrar.refunds_pending($1::integer)", DB_RETRY_SAFE };
static const struct db_stmt SQL_REFUND_FINISH = { "jobs_refund_finish",
    "select registrar.refund_finish($1::uuid, $2::boolean, $3)", DB_RETRY_SAFE };
static const struct db_stmt SQL_UNSETTLED = { "jobs_payments_unsettled",
    "select registrar.payments_unsettled($1::integer)", 0 };
static const struct db_stmt SQL_SETTLE = { "jobs_payment_settle",
    "select registrar.payment_settle($1::uuid, $2, $3, registrar.payment_declined_problem($4))",
    DB_RETRY_SAFE };
static const struct db_stmt SQL_NOTE_REF = { "jobs_payment_note_ref",
    "select registrar.payment_note_ref($1::uuid, $2)", DB_RETRY_SAFE };
/* One message per claim: each is claimed just before it is sent, so a claim never lapses in a queue. */
static const struct db_stmt SQL_OUTBOX_CLAIM = { "jobs_outbox_claim",
    "select registrar.outbox_claim(1)", 0 };
static const struct db_stmt SQL_OUTBOX_SENT = { "jobs_outbox_sent",
    "select registrar.outbox_sent($1::bigint)", DB_RETRY_SAFE };
static const struct db_stmt SQL_OUTBOX_FAILED = { "jobs_outbox_failed",
    "select registrar.outbox_failed($1::bigint, $2)", 0 };

/* Reminders to evaluate and news of certificates, once per enrollment each (schema/0013). */
static const struct db_stmt SQL_CREDIT_NOTICES = { "jobs_credit_notices",
    "select registrar.credit_notices_send($1::integer)", 0 };

static const char HELP_EXPIRED[] = "Unpaid holds released when their time ran out.";
static const char HELP_PROMOTED[] = "Waitlisted enrollments given a freed seat.";
static const char HELP_PURGED[] =
    "Rows purged by the retention job (message bodies: emptied), by kind.";
static const char HELP_SETTLED[] =
    "Payments whose request died, settled without a charge for a registration gone meanwhile.";
static const char HELP_MAIL_SENT[] = "Outbox messages the SMTP relay accepted.";
static const char HELP_MAIL_FAILED[] =
    "Attempts to send an outbox message that failed (retried later).";

struct jobs {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    int interval_ms;
    int retention_interval_ms;
    int64_t retention_due_ms; /* util_now_ms() at or after which the next pass runs */
    char *url;
    bool mail;
    char *smtp_url;
    char *smtp_user;
    char *smtp_password;
    char *mail_from;
};

void jobs_register_statements(void)
{
    db_stmts_register(&SQL_SWEEP, 1);
    db_stmts_register(&SQL_RETENTION, 1);
    db_stmts_register(&SQL_REFUNDS_PENDING, 1);
    db_stmts_register(&SQL_REFUND_FINISH, 1);
    db_stmts_register(&SQL_UNSETTLED, 1);
    db_stmts_register(&SQL_SETTLE, 1);
    db_stmts_register(&SQL_NOTE_REF, 1);
    db_stmts_register(&SQL_OUTBOX_CLAIM, 1);
    db_stmts_register(&SQL_OUTBOX_SENT, 1);
    db_stmts_register(&SQL_OUTBOX_FAILED, 1);
    db_stmts_register(&SQL_CREDIT_NOTICES, 1);
}

int jobs_sweep(struct db_conn *c, long *expired, long *promoted)
{
    const char *params[] = { JOBS_BATCH };
    long batch = atol(JOBS_BATCH);

    for (int round = 0; round < JOBS_MAX_ROUNDS; round++) {
        char *text = NULL;
        json_t *v;
        enum db_status s = db_exec_value(c, &SQL_SWEEP, 1, params, &text);
        if (s != DB_OK) {
            free(text);
            return -1;
        }
        v = json_loads(text, 0, NULL);
        free(text);
        long e = (long)json_integer_value(json_object_get(v, "expired"));
        long p = (long)json_integer_value(json_object_get(v, "promoted"));
        long settled = (long)json_integer_value(json_object_get(v, "payments_settled"));
        json_decref(v);
        *expired += e;
        *promoted += p;
        if (settled > 0) {
            json_t *f = json_pack("{s:I}", "payments_settled", (json_int_t)settled);
            metrics_count("registrar_payments_settled_total", HELP_SETTLED, "", settled);
            log_json(LOG_INFO, "sweep settled dead payments", f);
        }
        if (e < batch && p < batch && settled < batch)
            return 0;
    }
    return 0;
}

/*
 * The members of retention_purge()'s answer and their metric labels
 * (static: the metrics registry keeps the pointer).
 */
static const struct {
    const char *member, *label;
} jobs_retention_kinds[] = {
    { "sessions", "kind=\"sessions\"" },
    { "attempts", "kind=\"attempts\"" },
    { "idempotency_keys", "kind=\"idempotency_keys\"" },
    { "resets", "kind=\"resets\"" },
    { "bodies", "kind=\"bodies\"" },
};

int jobs_retention(struct db_conn *c, long *purged)
{
    const char *params[] = { JOBS_BATCH };
    long batch = atol(JOBS_BATCH);

    for (int round = 0; round < JOBS_MAX_ROUNDS; round++) {
        char *text = NULL;
        bool more = false;
        enum db_status s = db_exec_value(c, &SQL_RETENTION, 1, params, &text);
        if (s != DB_OK) {
            free(text);
            return -1;
        }
        json_t *v = json_loads(text, 0, NULL);
        free(text);
        for (size_t k = 0; k < UTIL_ARRAY_LEN(jobs_retention_kinds); k++) {
            long n = (long)json_integer_value(json_object_get(v, jobs_retention_kinds[k].member));
            if (n > 0) {
                metrics_count("registrar_retention_purged_total", HELP_PURGED,
                    jobs_retention_kinds[k].label, n);
                *purged += n;
            }
            more = more || n >= batch;
        }
        json_decref(v);
        if (!more)
            return 0;
    }
    return 0;
}

static void jobs_retention_if_due(struct jobs *j, struct db_conn *c)
{
    long purged = 0;

    if (util_now_ms() < j->retention_due_ms)
        return;
    j->retention_due_ms = util_now_ms() + j->retention_interval_ms;
    if (jobs_retention(c, &purged) == -1) {
        log_msg(LOG_WARN, "retention purge failed; retrying next interval");
        /* Not a whole retention interval later: the database may be back in a moment. */
        j->retention_due_ms = util_now_ms() + j->interval_ms;
        return;
    }
    if (purged > 0) {
        json_t *f = json_pack("{s:I}", "purged", (json_int_t)purged);
        log_json(LOG_INFO, "retention", f);
    }
}

/*
 * Refunds a cancellation decided but the processor did not make at the time
 * (it did not answer). Two processes may pick the same one: the refund's
 * idempotency reference makes the processor refund it once, and
 * refund_finish records it once.
 */
static void jobs_retry_refunds(struct db_conn *c)
{
    const struct payments_processor *proc = payments_processor();
    const char *params[] = { "20" };
    char *text = NULL;
    json_t *list = NULL, *item;
    size_t i;

    if (proc == NULL || db_exec_value(c, &SQL_REFUNDS_PENDING, 1, params, &text) != DB_OK)
        goto out;
    list = json_loads(text, 0, NULL);
    json_array_foreach(list, i, item)
    {
        const char *payment = json_string_value(json_object_get(item, "payment_id"));
        struct payments_result r;
        char *ref = xasprintf("%s:refund", payment != NULL ? payment : "");
        struct payments_refund rf = { json_string_value(json_object_get(item, "processor_ref")),
            (long long)json_integer_value(json_object_get(item, "amount_cents")), ref };
        if (payment != NULL && proc->refund(&rf, &r) == 0 && r.outcome != PAYMENTS_UNAVAILABLE) {
            bool ok = r.outcome == PAYMENTS_SUCCEEDED;
            const char *fp[] = { payment, ok ? "true" : "false", ok ? r.processor_ref : NULL };
            (void)db_exec(c, &SQL_REFUND_FINISH, 3, fp, NULL);
        }
        free(ref);
    }
out:
    json_decref(list);
    free(text);
}

/*
 * Settles payments whose charge never got its answer (the processor timed
 * out or failed, the server died) or that wait for the card holder's
 * authentication: asks the processor (by its PaymentIntent, or by repeating
 * the charge under the same idempotency reference, which replays the first
 * answer) and records a decided outcome as the webhook would. Only for
 * processors that can be asked (lookup); payments_unsettled hands each
 * payment to one process at a time, every 30 seconds at most.
 */
static void jobs_settle_payments(struct db_conn *c)
{
    const struct payments_processor *proc = payments_processor();
    const char *params[] = { "20" };
    char *text = NULL;
    json_t *list = NULL, *item;
    size_t i;

    if (proc == NULL || proc->lookup == NULL ||
        db_exec_value(c, &SQL_UNSETTLED, 1, params, &text) != DB_OK)
        goto out;
    list = json_loads(text, 0, NULL);
    json_array_foreach(list, i, item)
    {
        const char *payment = json_string_value(json_object_get(item, "payment_id"));
        struct payments_result r;
        struct payments_charge ch = {
            .amount_cents = (long long)json_integer_value(json_object_get(item, "amount_cents")),
            .currency = json_string_value(json_object_get(item, "currency")),
            .token = json_string_value(json_object_get(item, "method_ref")),
            .ref = payment,
            .enrollment_id = json_string_value(json_object_get(item, "enrollment_id")),
        };
        const char *pref = json_string_value(json_object_get(item, "processor_ref"));
        if (payment == NULL || (pref == NULL && ch.token == NULL))
            continue;
        if (proc->lookup(pref, &ch, &r) == -1)
            continue;
        if (r.outcome == PAYMENTS_SUCCEEDED || r.outcome == PAYMENTS_DECLINED ||
            r.outcome == PAYMENTS_INVALID) {
            bool ok = r.outcome == PAYMENTS_SUCCEEDED;
            const char *sp[] = { payment, ok ? "succeeded" : "declined",
                r.processor_ref[0] != '\0' ? r.processor_ref : NULL,
                r.decline[0] != '\0' ? r.decline : NULL };
            char *done = NULL;
            if (db_exec_value(c, &SQL_SETTLE, 4, sp, &done) == DB_OK && done != NULL &&
                done[0] == 't') {
                metrics_count("registrar_payments_settled_total", HELP_SETTLED, "", 1);
                log_msg(LOG_INFO, "sweep settled a payment by asking the processor");
            }
            free(done);
        } else if (r.processor_ref[0] != '\0' && pref == NULL) {
            const char *np[] = { payment, r.processor_ref };
            (void)db_exec(c, &SQL_NOTE_REF, 2, np, NULL);
        }
    }
out:
    json_decref(list);
    free(text);
}

static bool jobs_stopping(struct jobs *j)
{
    pthread_mutex_lock(&j->mu);
    bool stopping = j->stopping;
    pthread_mutex_unlock(&j->mu);
    return stopping;
}

/*
 * Claims one due message; 1 with *item set (the caller json_decrefs it), 0 if
 * none is due, -1 if the database failed.
 */
static int jobs_claim_message(struct db_conn *c, json_t **item)
{
    char *text = NULL;
    json_t *list;
    int rc = -1;

    *item = NULL;
    if (db_exec_value(c, &SQL_OUTBOX_CLAIM, 0, NULL, &text) != DB_OK)
        goto out;
    list = json_loads(text, 0, NULL);
    if (json_array_size(list) > 0) {
        *item = json_incref(json_array_get(list, 0));
        rc = 1;
    } else {
        rc = list != NULL ? 0 : -1;
    }
    json_decref(list);
out:
    free(text);
    return rc;
}

/*
 * Sends due messages of the outbox one by one: claim (committed), send,
 * record. Logs counts and error codes only, never an address, subject or
 * body.
 */
static void jobs_deliver_mail(struct jobs *j, struct db_conn *c)
{
    struct mail_sender *sender = NULL;
    long sent = 0, failed = 0;
    char last_error[MAIL_ERROR_LEN] = "";

    int64_t deadline = util_now_ms() + JOBS_MAIL_BUDGET_MS;

    for (int k = 0; k < JOBS_MAIL_MAX && !jobs_stopping(j) && util_now_ms() < deadline; k++) {
        json_t *item;
        int got = jobs_claim_message(c, &item);
        if (got == -1)
            log_msg(LOG_WARN, "claiming outbox messages failed; retrying next interval");
        if (got != 1)
            break;
        if (sender == NULL) {
            sender = mail_sender_new(&(struct mail_config){ .url = j->smtp_url,
                .user = j->smtp_user,
                .password = j->smtp_password,
                .from = j->mail_from });
        }
        json_int_t id = json_integer_value(json_object_get(item, "id"));
        struct mail_message m = {
            .id = (long long)id,
            .to = json_string_value(json_object_get(item, "recipient")),
            .subject = json_string_value(json_object_get(item, "subject")),
            .body = json_string_value(json_object_get(item, "body")),
            .date = (time_t)json_integer_value(json_object_get(item, "created")),
        };
        char err[MAIL_ERROR_LEN] = "no-sender";
        char idtext[24];
        snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
        int ok = sender != NULL && m.to != NULL && m.subject != NULL && m.body != NULL
                     ? mail_send(sender, &m, err)
                     : -1;
        if (ok == 0) {
            const char *p[] = { idtext };
            sent++;
            /* If this fails the claim lapses and the message goes once more. */
            (void)db_exec(c, &SQL_OUTBOX_SENT, 1, p, NULL);
        } else {
            const char *p[] = { idtext, err };
            failed++;
            snprintf(last_error, sizeof(last_error), "%s", err);
            (void)db_exec(c, &SQL_OUTBOX_FAILED, 2, p, NULL);
            /* The relay is likely down for the others too: wait for the next interval. */
            json_decref(item);
            break;
        }
        json_decref(item);
    }
    mail_sender_free(sender);
    if (sent > 0)
        metrics_count("registrar_mail_sent_total", HELP_MAIL_SENT, "", sent);
    if (failed > 0) {
        metrics_count("registrar_mail_failed_total", HELP_MAIL_FAILED, "", failed);
        json_t *f = json_pack("{s:I, s:s}", "sent", (json_int_t)sent, "error", last_error);
        log_json(LOG_WARN, "mail delivery failed; retrying later", f);
    } else if (sent > 0) {
        json_t *f = json_pack("{s:I}", "sent", (json_int_t)sent);
        log_json(LOG_INFO, "mail sent", f);
    }
}

/* Queues the messages of ended offerings: the evaluation reminder, then "certificate ready". */
static void jobs_credit_notices(struct db_conn *c)
{
    const char *params[] = { JOBS_BATCH };
    char *text = NULL;

    if (db_exec_value(c, &SQL_CREDIT_NOTICES, 1, params, &text) != DB_OK)
        log_msg(LOG_WARN,
            "queueing evaluation reminders and certificate notices failed; retrying next interval");
    free(text);
}

static void jobs_sweep_and_count(struct jobs *j, struct db_conn *c)
{
    long expired = 0, promoted = 0;

    if (jobs_sweep(c, &expired, &promoted) == -1) {
        /* Logged once per failing sweep; the next interval tries again. */
        log_msg(LOG_WARN, "sweep of holds and waitlists failed; retrying next interval");
    }
    if (expired > 0)
        metrics_count("registrar_holds_expired_total", HELP_EXPIRED, "", expired);
    if (promoted > 0)
        metrics_count("registrar_waitlist_promoted_total", HELP_PROMOTED, "", promoted);
    if (expired > 0 || promoted > 0) {
        json_t *f = json_pack(
            "{s:I, s:I}", "expired", (json_int_t)expired, "promoted", (json_int_t)promoted);
        log_json(LOG_INFO, "sweep", f);
    }
    jobs_retry_refunds(c);
    jobs_settle_payments(c);
    jobs_retention_if_due(j, c);
    jobs_credit_notices(c);
    if (j->mail)
        jobs_deliver_mail(j, c);
}

static void *jobs_main(void *arg)
{
    struct jobs *j = arg;
    struct db_conn *c = db_conn_new(j->url);

    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        pthread_mutex_unlock(&j->mu);
        jobs_sweep_and_count(j, c);
        pthread_mutex_lock(&j->mu);

        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += j->interval_ms / 1000;
        until.tv_nsec += (long)(j->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!j->stopping) {
            if (pthread_cond_timedwait(&j->cv, &j->mu, &until) == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&j->mu);
    db_conn_free(c);
    return NULL;
}

static void jobs_free_strings(struct jobs *j)
{
    free(j->url);
    free(j->smtp_url);
    free(j->smtp_user);
    if (j->smtp_password != NULL)
        explicit_bzero(j->smtp_password, strlen(j->smtp_password));
    free(j->smtp_password);
    free(j->mail_from);
}

struct jobs *jobs_start(const struct jobs_config *config)
{
    struct jobs *j = xcalloc(1, sizeof(*j));
    pthread_condattr_t ca;

    j->interval_ms = config->interval_ms > 0 ? config->interval_ms : JOBS_DEFAULT_INTERVAL_MS;
    j->retention_interval_ms = config->retention_interval_ms > 0
                                   ? config->retention_interval_ms
                                   : JOBS_DEFAULT_RETENTION_INTERVAL_MS;
    j->retention_due_ms = 0; /* a pass at start: a server restarted often still purges */
    j->url = xstrdup(config->database_url);
    if (config->mail != NULL && config->mail->url != NULL) {
        j->mail = true;
        j->smtp_url = xstrdup(config->mail->url);
        j->smtp_user = config->mail->user != NULL ? xstrdup(config->mail->user) : NULL;
        j->smtp_password = config->mail->password != NULL ? xstrdup(config->mail->password) : NULL;
        j->mail_from = xstrdup(config->mail->from);
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* Present from the start, so that dashboards see zeros rather than nothing. */
    metrics_count("registrar_holds_expired_total", HELP_EXPIRED, "", 0);
    metrics_count("registrar_waitlist_promoted_total", HELP_PROMOTED, "", 0);
    metrics_count("registrar_mail_sent_total", HELP_MAIL_SENT, "", 0);
    metrics_count("registrar_mail_failed_total", HELP_MAIL_FAILED, "", 0);
    for (size_t k = 0; k < UTIL_ARRAY_LEN(jobs_retention_kinds); k++)
        metrics_count(
            "registrar_retention_purged_total", HELP_PURGED, jobs_retention_kinds[k].label, 0);
    if (pthread_create(&j->thread, NULL, jobs_main, j) != 0) {
        log_msg(LOG_ERROR, "cannot start the background jobs thread");
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        jobs_free_strings(j);
        free(j);
        return NULL;
    }
    return j;
}

void jobs_stop(struct jobs *j)
{
    if (j == NULL)
        return;
    pthread_mutex_lock(&j->mu);
    j->stopping = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    jobs_free_strings(j);
    free(j);
}
