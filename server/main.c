/*
 * main.c: configuration, start, signals, graceful shutdown. Wires the
 * layers together; holds no logic of its own.
 */
#include "registrar/api.h"
#include "registrar/auth.h"
#include "registrar/cli.h"
#include "registrar/config.h"
#include "registrar/db.h"
#include "registrar/http.h"
#include "registrar/jobs.h"
#include "registrar/log.h"
#include "registrar/mail.h"
#include "registrar/metrics.h"
#include "registrar/notify.h"
#include "registrar/payments.h"
#include "registrar/util.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef REGISTRAR_VERSION
#define REGISTRAR_VERSION "0.0.0"
#endif

/* In-flight requests get this long to finish after SIGTERM. */
#define MAIN_DRAIN_MS 10000

static const char *main_getenv(const char *name)
{
    return getenv(name);
}

static long main_pool_in_use(void *ctx)
{
    return (long)db_pool_in_use(ctx);
}

static long main_pool_size(void *ctx)
{
    return (long)db_pool_size(ctx);
}

/* A committed catalog change (or a reconnection: payload NULL) anywhere empties the public cache. */
static void main_catalog_changed(void *ctx, const char *payload)
{
    (void)ctx;
    (void)payload;
    http_cache_clear();
}

static int main_serve(const struct config *cfg)
{
    sigset_t set;
    int sig = 0;
    size_t nroutes;
    struct db_pool *pool = NULL, *settle = NULL;
    struct http_server *server = NULL;
    struct db_notify *listener = NULL;
    struct jobs *jobs = NULL;
    int rc = 1;

    if (payments_configure(&(struct payments_config){ .processor = cfg->payment_processor,
            .webhook_secret = cfg->webhook_secret,
            .stripe_secret_key = cfg->stripe_secret_key,
            .stripe_webhook_secret = cfg->stripe_webhook_secret,
            .stripe_api_base = cfg->stripe_api_base,
            .stripe_timeout_s = (long)cfg->stripe_timeout_s }) == -1)
        goto out;
    if (cfg->payment_processor == NULL)
        log_msg(LOG_WARN, "no card processor: REGISTRAR_PAYMENT_PROCESSOR is not set (test or "
                          "stripe), so every payment answers 503 payment-unavailable");
    else if (strcmp(cfg->payment_processor, "test") == 0)
        log_msg(LOG_WARN, "the test card processor is in use (REGISTRAR_PAYMENT_PROCESSOR=test): "
                          "tok_test_visa confirms a seat without money; for development and "
                          "tests only");
    else
        log_msg(LOG_INFO, "card processor: %s", cfg->payment_processor);
    /* What the browser needs of Stripe, only when Stripe is the processor. */
    bool stripe = cfg->payment_processor != NULL && strcmp(cfg->payment_processor, "stripe") == 0;
    payments_api_configure(stripe ? cfg->stripe_publishable_key : NULL, cfg->centre_name,
        cfg->centre_address, cfg->centre_tax_id);
    /* readyz holds the database's migrations against these files. */
    if (db_schema_files_load(cfg->schema_dir) == -1)
        goto out;
    api_configure(cfg->public_url, cfg->signup_limit, cfg->reset_limit, cfg->discount_address_limit,
        cfg->discount_learner_limit);
    credits_configure(cfg->certificate_letter, cfg->verify_limit);
    billing_configure(cfg->centre_name, cfg->centre_address, cfg->centre_tax_id);
    api_configure_mail_rate(cfg->mail_rate);

    /* Signals are taken by sigwait below; every thread started later inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    api_register_statements();
    jobs_register_statements();
    pool = db_pool_new(cfg->database_url, cfg->db_pool, 4096);
    if (pool == NULL)
        goto out;
    if (api_settings_store(cfg->database_url) == -1)
        log_msg(LOG_WARN, "could not store REGISTRAR_PUBLIC_URL in the database; "
                          "links in waitlist messages use the last stored one");
    /* The step after a processor call records its outcome here (see http.h: settle_db). */
    settle = db_pool_new(cfg->database_url, cfg->db_pool > 4 ? cfg->db_pool / 2 : 2, 4096);
    if (settle == NULL)
        goto out;
    metrics_gauge("registrar_db_pool_in_use", "Database connections running a statement now.",
        main_pool_in_use, pool);
    metrics_gauge(
        "registrar_db_pool_size", "Database connections in the pool.", main_pool_size, pool);

    struct http_server_config hc = {
        .listen_host = cfg->listen_host,
        .port = cfg->port,
        .io_threads = cfg->threads,
        .connection_limit = cfg->connection_limit,
        .per_ip_limit = cfg->per_ip_limit,
        .idle_timeout_s = cfg->idle_timeout_s,
        .web_root = cfg->web_root,
        .cookie_secure = cfg->cookie_secure,
        .trust_proxy = cfg->trust_proxy,
        .trusted_proxies = cfg->trusted_proxies,
        .ntrusted_proxies = cfg->ntrusted_proxies,
        .routes = api_routes(&nroutes),
        .db = pool,
        /*
         * Every core but one hashes passwords: however hard a sign-in storm
         * blows, a core stays free for I/O and database threads (on a busy
         * machine, reads waited 10x longer when every core ran Argon2:
         * tests/load/bench-auth). Each hash holds 64 MiB while it runs.
         */
        .hash_threads =
            sysconf(_SC_NPROCESSORS_ONLN) > 1 ? (unsigned)sysconf(_SC_NPROCESSORS_ONLN) - 1 : 1,
        .hash_queue = 256,
        /*
         * Processor calls only wait on the network (hundreds of ms each):
         * enough threads that 32 payments in flight at once wait on nothing
         * but the processor.
         */
        .pay_threads = 32,
        .pay_queue = 1024,
        .settle_db = settle,
        .csp_stripe = stripe,
        .authenticate = auth_authenticate,
        .admin_host = cfg->admin_host,
        .admin_port = cfg->admin_port,
        .ops_token = cfg->metrics_token,
        .secret_equal = auth_secret_equal,
    };
    hc.nroutes = nroutes;
    listener = db_notify_start(cfg->database_url, "registrar_catalog", main_catalog_changed, NULL);
    if (listener == NULL)
        goto out;
    server = http_server_new(&hc);
    if (server == NULL)
        goto out;
    jobs = jobs_start(&(struct jobs_config){ .database_url = cfg->database_url,
        .interval_ms = (int)cfg->sweep_interval_ms,
        .retention_interval_ms = (int)cfg->retention_interval_ms,
        .mail = &(struct mail_config){ .url = cfg->smtp_url,
            .user = cfg->smtp_user,
            .password = cfg->smtp_password,
            .from = cfg->mail_from } });
    if (jobs == NULL)
        goto out;
    {
        char *url =
            xasprintf(strchr(cfg->listen_host, ':') != NULL ? "http://[%s]:%u" : "http://%s:%u",
                cfg->listen_host, http_server_port(server));
        json_t *f = json_pack("{s:s, s:s, s:i, s:i}", "url", url, "version", REGISTRAR_VERSION,
            "io_threads", (int)cfg->threads, "db_pool", (int)cfg->db_pool);
        if (cfg->admin_host != NULL) {
            char *admin =
                xasprintf(strchr(cfg->admin_host, ':') != NULL ? "http://[%s]:%u" : "http://%s:%u",
                    cfg->admin_host, http_server_admin_port(server));
            json_object_set_new(f, "admin_url", json_string(admin));
            free(admin);
        }
        log_json(LOG_INFO, "listening", f);
        free(url);
    }
    while (sigwait(&set, &sig) != 0)
        ;
    {
        json_t *f = json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        log_json(LOG_INFO, "shutting down", f);
    }
    http_server_quiesce(server);
    unsigned left = http_server_drain(server, MAIN_DRAIN_MS);
    if (left > 0)
        log_msg(LOG_WARN, "%u requests still running at shutdown", left);
    rc = 0;
out:
    /* The pool first: its last jobs resume their connections on a live daemon. */
    jobs_stop(jobs);
    db_notify_stop(listener);
    /* Steps go database -> processor -> settle: the pools are stopped in that order. */
    db_pool_free(pool);
    http_server_stop_pay(server);
    db_pool_free(settle);
    db_schema_files_release();
    payments_shutdown();
    http_server_free(server);
    if (rc == 0)
        log_msg(LOG_INFO, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[256];
    enum log_level level;
    int rc;

    /* libsodium before anything else: every secret depends on it. */
    if (auth_init(NULL) == -1) {
        fprintf(stderr, "registrar: libsodium failed to initialise\n");
        return 1;
    }
    json_set_alloc_funcs(xmalloc, free);
    /* libcurl (SMTP delivery) before any thread starts: its global init is not thread-safe. */
    if (mail_global_init() == -1) {
        fprintf(stderr, "registrar: libcurl failed to initialise\n");
        return 1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (config_parse(&cfg, argc, argv, main_getenv, cores > 0 ? (unsigned)cores : 1, err,
            sizeof(err)) == -1) {
        fprintf(stderr, "registrar: %s\n", err);
        config_release(&cfg);
        return 2;
    }
    if (log_level_parse(cfg.log_level, &level) == 0)
        log_set_level(level);
    switch (cfg.command) {
    case CONFIG_HELP:
        fputs(config_usage(), stdout);
        rc = 0;
        break;
    case CONFIG_VERSION:
        printf("registrar %s\n", REGISTRAR_VERSION);
        rc = 0;
        break;
    case CONFIG_MIGRATE:
        rc = db_migrate(cfg.database_url, cfg.schema_dir) == 0 ? 0 : 1;
        break;
    case CONFIG_CREATE_ADMIN:
        rc = cli_create_admin(cfg.database_url, cfg.admin_email, cfg.admin_full_name, stdin);
        break;
    case CONFIG_SERVE:
    default:
        /* config_parse refuses to serve without REGISTRAR_SECRET_KEY. */
        (void)auth_init(cfg.secret_key);
        rc = main_serve(&cfg);
        break;
    }
    config_release(&cfg);
    mail_global_cleanup();
    return rc;
}
