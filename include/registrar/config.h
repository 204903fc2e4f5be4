/*
 * config.h: the command line and the REGISTRAR_* environment.
 *
 * Layering: util, and mail.h for address syntax; pure (the environment is
 * passed in), so that it can be unit-tested.
 *
 * Every flag has an environment twin; a flag wins. A bad value is an
 * error naming the setting, never a crash.
 *
 * Secrets (REGISTRAR_SECRET_KEY, REGISTRAR_WEBHOOK_SECRET,
 * REGISTRAR_SMTP_PASSWORD, REGISTRAR_METRICS_TOKEN, and any later one
 * marked CONFIG_OPT_SECRET in config.c) have no flag, since flags show in
 * ps: a flag for one is an error. Each comes from its variable or from the
 * file that VAR_FILE names (one trailing newline stripped; a file readable
 * by its group or others is refused); setting both is an error. An empty
 * variable counts as unset.
 */
#ifndef REGISTRAR_CONFIG_H
#define REGISTRAR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registrar/util.h"

enum config_command {
    CONFIG_SERVE,
    CONFIG_MIGRATE,
    CONFIG_CREATE_ADMIN,
    CONFIG_HELP,
    CONFIG_VERSION
};

struct config {
    enum config_command command;
    char *listen_host;   /* "127.0.0.1" */
    unsigned short port; /* 8080 */
    char *database_url;  /* NULL if unset */
    unsigned threads;    /* I/O threads; default: cores */
    unsigned db_pool;    /* default: 2 x cores */
    char *web_root;      /* NULL: no static files */
    char *schema_dir;
    bool has_secret_key;
    uint8_t secret_key[32];
    char *webhook_secret; /* NULL if unset */
    bool cookie_secure;
    bool trust_proxy;  /* client address from X-Real-IP (behind our nginx) */
    char *log_level;   /* "info" */
    char *admin_email; /* create-admin */
    char *admin_full_name;
    unsigned connection_limit;
    unsigned per_ip_limit;
    unsigned idle_timeout_s;
    unsigned sweep_interval_ms;     /* hold expiry and waitlist promotion */
    unsigned retention_interval_ms; /* purge of expired sessions, old attempts, ... (jobs.h) */
    char *smtp_url;                 /* smtp:// or smtps://; NULL: the outbox is not delivered */
    char *smtp_user;                /* NULL: no SMTP authentication */
    char *smtp_password;            /* environment only (REGISTRAR_SMTP_PASSWORD); never logged */
    char *mail_from;                /* "registrar@localhost" */
    char *public_url; /* "http://127.0.0.1:8080": links in messages; no trailing '/' */
    /* On receipts and invoices. */
    char *centre_name;    /* "Registrar": on receipts, invoices and in GET /api/v1/config */
    char *centre_address; /* "" when unset; may hold newlines */
    char *centre_tax_id;  /* "" when unset */
    /* Rate limits, per client address (IPv4 address, IPv6 /64) or learner, per hour. */
    unsigned signup_limit;           /* sign-ups per address (20) */
    unsigned reset_limit;            /* password-reset requests per address (20) */
    unsigned discount_address_limit; /* quotes and registrations with a code per address (60) */
    unsigned discount_learner_limit; /* the same per learner (20) */
    bool certificate_letter;         /* certificates on US Letter (else A4) */
    unsigned verify_limit;           /* public certificate checks per address (60) */
    unsigned mail_rate;              /* roster messages sent per minute, all processes (60) */

    /* Operations and the proxy in front (issue 8: metrics, trusted proxies). */
    char *admin_host;                  /* REGISTRAR_ADMIN_LISTEN, "127.0.0.1"; NULL: off */
    unsigned short admin_port;         /* 9090 */
    char *metrics_token;               /* NULL: /metrics only on the admin address; never logged */
    struct util_cidr *trusted_proxies; /* peers whose X-Real-IP is believed; loopback */
    size_t ntrusted_proxies;

    /* Payments (issue 9). */
    char *payment_processor;      /* "test" or "stripe"; NULL: payments answer 503 */
    char *stripe_secret_key;      /* secret; never logged */
    char *stripe_publishable_key; /* pk_...: given to the browser */
    char *stripe_webhook_secret;  /* secret (whsec_...) */
    char *stripe_api_base;        /* "https://api.stripe.com", no trailing '/' */
    unsigned stripe_timeout_s;    /* a call to Stripe at most (10 s); then "unavailable" */
};

/* Looks a variable up; getenv in production, a table in tests. */
typedef const char *config_getenv_fn(const char *name);

/*
 * Fills *c from argv and the environment. Returns 0, or -1 with a
 * one-line message in err (the caller prints it and exits 2). c must be
 * released with config_release() in either case.
 */
int config_parse(struct config *c, int argc, char **argv, config_getenv_fn *getenv_fn,
    unsigned cores, char *err, size_t errlen);
void config_release(struct config *c);

/* Splits "host:port" or "[v6]:port"; 0 or -1. host is malloc'd. */
int config_parse_listen(const char *text, char **host, unsigned short *port);

/*
 * 0 if text is an absolute http:// or https:// URL with a host, optionally a
 * path, and no query, fragment, user part, space or control character
 * (what REGISTRAR_PUBLIC_URL must be); -1 otherwise.
 */
int config_public_url_valid(const char *text);

/* The usage text for --help. */
const char *config_usage(void);

#endif
