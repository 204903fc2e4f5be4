/* config.c: see config.h. */
#include "registrar/config.h"

#include "registrar/mail.h"
#include "registrar/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef REGISTRAR_SCHEMA_DIR
#define REGISTRAR_SCHEMA_DIR "schema"
#endif

const char *config_usage(void)
{
    return "usage: registrar [serve] [--listen HOST:PORT] [--database-url URL] [--threads N]\n"
           "                 [--db-pool N] [--web-root DIR]\n"
           "       registrar migrate [--database-url URL]\n"
           "       registrar create-admin --email E --full-name N   (password on stdin)\n"
           "       registrar --version | --help\n"
           "\n"
           "Environment (a flag wins): REGISTRAR_LISTEN, REGISTRAR_DATABASE_URL,\n"
           "REGISTRAR_THREADS, REGISTRAR_DB_POOL, REGISTRAR_WEB_ROOT, REGISTRAR_SCHEMA_DIR,\n"
           "REGISTRAR_SECRET_KEY (64 hex digits), REGISTRAR_WEBHOOK_SECRET,\n"
           "REGISTRAR_COOKIE_SECURE (true/false), REGISTRAR_LOG_LEVEL (debug|info|warn|error),\n"
           "REGISTRAR_CONNECTION_LIMIT (4096), REGISTRAR_PER_IP_LIMIT (512; 0 = none),\n"
           "REGISTRAR_IDLE_TIMEOUT (seconds, 30), REGISTRAR_TRUST_PROXY (true behind our nginx),\n"
           "REGISTRAR_SWEEP_INTERVAL_MS (hold expiry and waitlist sweep, 15000),\n"
           "REGISTRAR_RETENTION_INTERVAL_MS (purge of expired data, 3600000),\n"
           "REGISTRAR_SMTP_URL (smtp://HOST:PORT or smtps://...; unset: mail stays in the outbox),\n"
           "REGISTRAR_SMTP_USER, REGISTRAR_SMTP_PASSWORD (environment only),\n"
           "REGISTRAR_MAIL_FROM (registrar@localhost). Flags: --smtp-url, --smtp-user, --mail-from.\n"
           "REGISTRAR_PUBLIC_URL (http://127.0.0.1:8080; the base of links in messages),\n"
           "REGISTRAR_SIGNUP_LIMIT (20), REGISTRAR_RESET_LIMIT (20) per address and hour,\n"
           "REGISTRAR_DISCOUNT_ADDRESS_LIMIT (60) and REGISTRAR_DISCOUNT_LEARNER_LIMIT (20):\n"
           "discount codes tried per address and per learner and hour. Flags: --public-url,\n"
           "--signup-limit, --reset-limit, --discount-address-limit, --discount-learner-limit.\n";
}

int config_parse_listen(const char *text, char **host, unsigned short *port)
{
    const char *colon;
    char *end;

    *host = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        *host = xstrndup(text + 1, (size_t)(close - text - 1));
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || colon == text)
            return -1;
        *host = xstrndup(text, (size_t)(colon - text));
        if (strcmp(*host, "localhost") == 0) {
            free(*host);
            *host = xstrdup("127.0.0.1");
        }
    }
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || colon[1] == '\0' || p > 65535) {
        free(*host);
        *host = NULL;
        return -1;
    }
    *port = (unsigned short)p;
    return 0;
}

int config_public_url_valid(const char *text)
{
    const char *host;

    if (strncmp(text, "https://", 8) == 0)
        host = text + 8;
    else if (strncmp(text, "http://", 7) == 0)
        host = text + 7;
    else
        return -1;
    if (strlen(text) > 200 || host[0] == '\0' || host[0] == '/' || host[0] == ':')
        return -1;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#' || *p == '"' || *p == '<' ||
            *p == '>' || *p == '\\')
            return -1;
    /* No user part: "https://evil.example@registrar.example.org" reads like one host. */
    const char *slash = strchr(host, '/');
    const char *at = strchr(host, '@');
    if (at != NULL && (slash == NULL || at < slash))
        return -1;
    return 0;
}

static int config_uint(const char *text, unsigned min, unsigned max, unsigned *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '\0' || text[0] == '-' || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int config_bool(const char *text, bool *out)
{
    if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0 || strcmp(text, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0 || strcmp(text, "no") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

static void config_set(char **slot, const char *value)
{
    free(*slot);
    *slot = xstrdup(value);
}

struct config_option {
    const char *flag;
    const char *env;
    bool env_only; /* a secret: no flag (it would show in ps) */
};

/* Flags and their environment twins, in one place. */
static const struct config_option config_options[] = {
    { "--listen", "REGISTRAR_LISTEN", false },
    { "--database-url", "REGISTRAR_DATABASE_URL", false },
    { "--threads", "REGISTRAR_THREADS", false },
    { "--db-pool", "REGISTRAR_DB_POOL", false },
    { "--web-root", "REGISTRAR_WEB_ROOT", false },
    { "--schema-dir", "REGISTRAR_SCHEMA_DIR", false },
    { "--secret-key", "REGISTRAR_SECRET_KEY", false },
    { "--webhook-secret", "REGISTRAR_WEBHOOK_SECRET", false },
    { "--cookie-secure", "REGISTRAR_COOKIE_SECURE", false },
    { "--log-level", "REGISTRAR_LOG_LEVEL", false },
    { "--trust-proxy", "REGISTRAR_TRUST_PROXY", false },
    { "--sweep-interval-ms", "REGISTRAR_SWEEP_INTERVAL_MS", false },
    { "--retention-interval-ms", "REGISTRAR_RETENTION_INTERVAL_MS", false },
    { "--connection-limit", "REGISTRAR_CONNECTION_LIMIT", false },
    { "--per-ip-limit", "REGISTRAR_PER_IP_LIMIT", false },
    { "--idle-timeout", "REGISTRAR_IDLE_TIMEOUT", false },
    { "--smtp-url", "REGISTRAR_SMTP_URL", false },
    { "--smtp-user", "REGISTRAR_SMTP_USER", false },
    { "--smtp-password", "REGISTRAR_SMTP_PASSWORD", true },
    { "--mail-from", "REGISTRAR_MAIL_FROM", false },
    { "--public-url", "REGISTRAR_PUBLIC_URL", false },
    { "--signup-limit", "REGISTRAR_SIGNUP_LIMIT", false },
    { "--reset-limit", "REGISTRAR_RESET_LIMIT", false },
    { "--discount-address-limit", "REGISTRAR_DISCOUNT_ADDRESS_LIMIT", false },
    { "--discount-learner-limit", "REGISTRAR_DISCOUNT_LEARNER_LIMIT", false },
    { "--email", NULL, false },
    { "--full-name", NULL, false },
};

/* Applies one setting; -1 with err filled if its value is bad. */
static int config_apply(
    struct config *c, const char *flag, const char *value, char *err, size_t errlen)
{
    if (strcmp(flag, "--listen") == 0) {
        free(c->listen_host);
        if (config_parse_listen(value, &c->listen_host, &c->port) == -1) {
            snprintf(
                err, errlen, "--listen/REGISTRAR_LISTEN must be HOST:PORT, got \"%.60s\"", value);
            return -1;
        }
    } else if (strcmp(flag, "--database-url") == 0) {
        config_set(&c->database_url, value);
    } else if (strcmp(flag, "--threads") == 0) {
        if (config_uint(value, 1, 256, &c->threads) == -1) {
            snprintf(err, errlen, "--threads/REGISTRAR_THREADS must be a number from 1 to 256");
            return -1;
        }
    } else if (strcmp(flag, "--db-pool") == 0) {
        if (config_uint(value, 1, 512, &c->db_pool) == -1) {
            snprintf(err, errlen, "--db-pool/REGISTRAR_DB_POOL must be a number from 1 to 512");
            return -1;
        }
    } else if (strcmp(flag, "--web-root") == 0) {
        config_set(&c->web_root, value);
    } else if (strcmp(flag, "--schema-dir") == 0) {
        config_set(&c->schema_dir, value);
    } else if (strcmp(flag, "--secret-key") == 0) {
        if (strlen(value) != 64 ||
            util_hex_decode(value, c->secret_key, sizeof(c->secret_key)) != 32) {
            snprintf(err, errlen, "REGISTRAR_SECRET_KEY must be 64 hexadecimal digits (32 bytes)");
            return -1;
        }
        c->has_secret_key = true;
    } else if (strcmp(flag, "--webhook-secret") == 0) {
        config_set(&c->webhook_secret, value);
    } else if (strcmp(flag, "--cookie-secure") == 0) {
        if (config_bool(value, &c->cookie_secure) == -1) {
            snprintf(err, errlen, "REGISTRAR_COOKIE_SECURE must be true or false");
            return -1;
        }
    } else if (strcmp(flag, "--sweep-interval-ms") == 0) {
        if (config_uint(value, 10, 3600000, &c->sweep_interval_ms) == -1) {
            snprintf(
                err, errlen, "REGISTRAR_SWEEP_INTERVAL_MS must be milliseconds from 10 to 3600000");
            return -1;
        }
    } else if (strcmp(flag, "--retention-interval-ms") == 0) {
        if (config_uint(value, 10, 86400000, &c->retention_interval_ms) == -1) {
            snprintf(err, errlen,
                "REGISTRAR_RETENTION_INTERVAL_MS must be milliseconds from 10 to 86400000");
            return -1;
        }
    } else if (strcmp(flag, "--trust-proxy") == 0) {
        if (config_bool(value, &c->trust_proxy) == -1) {
            snprintf(err, errlen, "REGISTRAR_TRUST_PROXY must be true or false");
            return -1;
        }
    } else if (strcmp(flag, "--log-level") == 0) {
        if (strcmp(value, "debug") != 0 && strcmp(value, "info") != 0 &&
            strcmp(value, "warn") != 0 && strcmp(value, "error") != 0) {
            snprintf(err, errlen, "REGISTRAR_LOG_LEVEL must be debug, info, warn or error");
            return -1;
        }
        config_set(&c->log_level, value);
    } else if (strcmp(flag, "--connection-limit") == 0) {
        if (config_uint(value, 16, 1000000, &c->connection_limit) == -1) {
            snprintf(err, errlen, "REGISTRAR_CONNECTION_LIMIT must be a number from 16 to 1000000");
            return -1;
        }
    } else if (strcmp(flag, "--per-ip-limit") == 0) {
        if (config_uint(value, 0, 1000000, &c->per_ip_limit) == -1) {
            snprintf(err, errlen, "REGISTRAR_PER_IP_LIMIT must be a number (0 = no limit)");
            return -1;
        }
    } else if (strcmp(flag, "--idle-timeout") == 0) {
        if (config_uint(value, 1, 3600, &c->idle_timeout_s) == -1) {
            snprintf(err, errlen, "REGISTRAR_IDLE_TIMEOUT must be seconds from 1 to 3600");
            return -1;
        }
    } else if (strcmp(flag, "--smtp-url") == 0) {
        if (strncmp(value, "smtp://", 7) != 0 && strncmp(value, "smtps://", 8) != 0) {
            snprintf(
                err, errlen, "--smtp-url/REGISTRAR_SMTP_URL must start with smtp:// or smtps://");
            return -1;
        }
        config_set(&c->smtp_url, value);
    } else if (strcmp(flag, "--smtp-user") == 0) {
        config_set(&c->smtp_user, value);
    } else if (strcmp(flag, "--smtp-password") == 0) {
        config_set(&c->smtp_password, value);
    } else if (strcmp(flag, "--mail-from") == 0) {
        if (!mail_address_ok(value)) {
            snprintf(err, errlen,
                "--mail-from/REGISTRAR_MAIL_FROM must be an address like registrar@example.org");
            return -1;
        }
        config_set(&c->mail_from, value);
    } else if (strcmp(flag, "--public-url") == 0) {
        if (config_public_url_valid(value) == -1) {
            snprintf(err, errlen,
                "--public-url/REGISTRAR_PUBLIC_URL must be an http:// or https:// URL such as "
                "https://registrar.example.org (no query or fragment)");
            return -1;
        }
        config_set(&c->public_url, value);
        /* Links are built as base + "/#/...": one slash, whatever was written. */
        size_t n = strlen(c->public_url);
        while (n > 0 && c->public_url[n - 1] == '/')
            c->public_url[--n] = '\0';
    } else if (strcmp(flag, "--signup-limit") == 0 || strcmp(flag, "--reset-limit") == 0 ||
               strcmp(flag, "--discount-address-limit") == 0 ||
               strcmp(flag, "--discount-learner-limit") == 0) {
        unsigned *slot = strcmp(flag, "--signup-limit") == 0  ? &c->signup_limit
                         : strcmp(flag, "--reset-limit") == 0 ? &c->reset_limit
                         : strcmp(flag, "--discount-address-limit") == 0
                             ? &c->discount_address_limit
                             : &c->discount_learner_limit;
        if (config_uint(value, 1, 1000000, slot) == -1) {
            snprintf(err, errlen, "%s must be a number from 1 to 1000000 (per hour)", flag);
            return -1;
        }
    } else if (strcmp(flag, "--email") == 0) {
        config_set(&c->admin_email, value);
    } else if (strcmp(flag, "--full-name") == 0) {
        config_set(&c->admin_full_name, value);
    }
    return 0;
}

int config_parse(struct config *c, int argc, char **argv, config_getenv_fn *getenv_fn,
    unsigned cores, char *err, size_t errlen)
{
    int i = 1;

    memset(c, 0, sizeof(*c));
    if (cores == 0)
        cores = 1;
    c->command = CONFIG_SERVE;
    c->listen_host = xstrdup("127.0.0.1");
    c->port = 8080;
    c->threads = cores;
    c->db_pool = 2 * cores;
    c->schema_dir = xstrdup(REGISTRAR_SCHEMA_DIR);
    c->log_level = xstrdup("info");
    c->connection_limit = 4096;
    /*
     * A slow or greedy client cannot hold the server: idle connections are
     * closed after 30 s and one address may hold at most 512 of them
     * (generous, because a clinic behind one NAT is one address).
     */
    c->per_ip_limit = 512;
    c->idle_timeout_s = 30;
    /* Expired holds are released "within a minute": a sweep every 15 s. */
    c->sweep_interval_ms = 15000;
    /* What the retention job purges is days old: once an hour is plenty. */
    c->retention_interval_ms = 3600000;
    c->mail_from = xstrdup("registrar@localhost");
    c->public_url = xstrdup("http://127.0.0.1:8080");
    /*
     * Generous for people (a clinic behind one NAT signs up a handful an
     * hour), tight for a script.
     */
    c->signup_limit = 20;
    c->reset_limit = 20;
    c->discount_address_limit = 60;
    c->discount_learner_limit = 20;
    err[0] = '\0';

    if (argc > 1 && argv[1][0] != '-') {
        if (strcmp(argv[1], "serve") == 0)
            c->command = CONFIG_SERVE;
        else if (strcmp(argv[1], "migrate") == 0)
            c->command = CONFIG_MIGRATE;
        else if (strcmp(argv[1], "create-admin") == 0)
            c->command = CONFIG_CREATE_ADMIN;
        else {
            snprintf(err, errlen, "unknown command \"%.40s\" (try --help)", argv[1]);
            return -1;
        }
        i = 2;
    }
    /* The environment first, so that flags override it. */
    for (size_t k = 0; k < UTIL_ARRAY_LEN(config_options); k++) {
        const char *v = config_options[k].env != NULL ? getenv_fn(config_options[k].env) : NULL;
        if (v != NULL && v[0] != '\0' &&
            config_apply(c, config_options[k].flag, v, err, errlen) == -1)
            return -1;
    }
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            c->command = CONFIG_HELP;
            return 0;
        }
        if (strcmp(arg, "--version") == 0) {
            c->command = CONFIG_VERSION;
            return 0;
        }
        const char *eq = strchr(arg, '=');
        size_t flen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        const struct config_option *opt = NULL;
        for (size_t k = 0; k < UTIL_ARRAY_LEN(config_options); k++)
            if (!config_options[k].env_only && strlen(config_options[k].flag) == flen &&
                strncmp(config_options[k].flag, arg, flen) == 0)
                opt = &config_options[k];
        if (opt == NULL) {
            snprintf(err, errlen, "unknown option \"%.40s\" (try --help)", arg);
            return -1;
        }
        const char *value = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL) {
            snprintf(err, errlen, "%s needs a value", opt->flag);
            return -1;
        }
        if (config_apply(c, opt->flag, value, err, errlen) == -1)
            return -1;
    }
    if (c->command == CONFIG_CREATE_ADMIN &&
        (c->admin_email == NULL || c->admin_full_name == NULL)) {
        snprintf(err, errlen, "create-admin needs --email and --full-name");
        return -1;
    }
    if (c->database_url == NULL) {
        snprintf(err, errlen, "no database: set REGISTRAR_DATABASE_URL or --database-url");
        return -1;
    }
    if (c->command == CONFIG_SERVE && !c->has_secret_key) {
        snprintf(err, errlen,
            "REGISTRAR_SECRET_KEY is required (64 hex digits; e.g. openssl rand -hex 32)");
        return -1;
    }
    return 0;
}

void config_release(struct config *c)
{
    free(c->listen_host);
    free(c->database_url);
    free(c->web_root);
    free(c->schema_dir);
    free(c->webhook_secret);
    free(c->log_level);
    free(c->admin_email);
    free(c->admin_full_name);
    free(c->smtp_url);
    free(c->smtp_user);
    if (c->smtp_password != NULL)
        explicit_bzero(c->smtp_password, strlen(c->smtp_password));
    free(c->smtp_password);
    free(c->mail_from);
    free(c->public_url);
    explicit_bzero(c->secret_key, sizeof(c->secret_key));
    memset(c, 0, sizeof(*c));
}
