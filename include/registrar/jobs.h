/*
 * jobs.h: background work inside the server process: expiring unpaid
 * holds and giving their seats to the waitlist.
 *
 * Layering: uses db, log, metrics and util; knows nothing of HTTP.
 *
 * One thread with a database connection of its own wakes every interval
 * and calls registrar.sweep(), which expires due holds and promotes
 * waitlisted learners in batches. The SQL takes its rows with
 * FOR UPDATE SKIP LOCKED, so any number of server processes may sweep the
 * same database at once without waiting for each other or doing a row
 * twice. Counts go to the metrics registrar_holds_expired_total and
 * registrar_waitlist_promoted_total. Each wake-up also retries refunds
 * that a cancellation decided but the processor did not answer at the time,
 * and, when an SMTP relay is configured, delivers the outbox (mail.h):
 * registrar.outbox_claim() claims one message for two minutes in a short
 * transaction (FOR UPDATE SKIP LOCKED), the relay gets it, and
 * outbox_sent() or outbox_failed() (exponential back-off) records the
 * outcome. No message is sent by two processes; a process dying between
 * the relay's answer and the record makes it go once more after the
 * claim lapses. Counted in registrar_mail_sent_total and
 * registrar_mail_failed_total; recipients, subjects and bodies are never
 * logged.
 *
 * Every retention interval the thread also purges what is no longer needed
 * (registrar.retention_purge(), schema/0008): sign-in sessions that can no
 * longer be used, sign-in attempts older than a day, idempotency keys past
 * their 24 hours, reset tokens past expiry, and the bodies of messages
 * delivered more than 30 days ago, in batches (SKIP LOCKED, so processes
 * share the work). Counted in registrar_retention_purged_total{kind=...}.
 */
#ifndef REGISTRAR_JOBS_H
#define REGISTRAR_JOBS_H

#include <stdbool.h>

struct db_conn;
struct jobs;
struct mail_config;

/* The default sweep interval: expired holds are released well within a minute. */
#define JOBS_DEFAULT_INTERVAL_MS 15000

/* The default retention interval: what it purges is hours or days old. */
#define JOBS_DEFAULT_RETENTION_INTERVAL_MS 3600000

struct jobs_config {
    const char *database_url;
    int interval_ms; /* > 0; JOBS_DEFAULT_INTERVAL_MS in production */
    /*
     * How often the retention pass runs (<= 0: the default); it runs in the
     * same thread, so never more often than interval_ms.
     */
    int retention_interval_ms;
    /* NULL or url NULL: the outbox is left alone. Copied by jobs_start(). */
    const struct mail_config *mail;
};

/*
 * Registers the jobs' prepared statements. Call with the others, before
 * any pool or connection is made.
 */
void jobs_register_statements(void);

/*
 * Starts the thread. It sweeps once at once, then every interval. NULL
 * (logged) if the thread cannot start. The copy of the URL is the thread's.
 */
struct jobs *jobs_start(const struct jobs_config *config);

/*
 * Wakes the thread, waits for the sweep in progress (one statement,
 * bounded by the statement timeout, or one message to the relay, at most
 * 30 s), closes its connection and frees j.
 * Accepts NULL. Call before the database pool is freed.
 */
void jobs_stop(struct jobs *j);

/*
 * One sweep on the given connection, until no due hold and no free seat
 * with a waitlist is left (or the batch budget is spent). Adds what it did
 * to *expired and *promoted. Returns 0, or -1 if the database failed.
 */
int jobs_sweep(struct db_conn *c, long *expired, long *promoted);

/*
 * One retention pass on the given connection, batch after batch until
 * nothing is left to purge (or the batch budget is spent). Adds the rows
 * purged to *purged. Returns 0, or -1 if the database failed.
 */
int jobs_retention(struct db_conn *c, long *purged);

#endif
