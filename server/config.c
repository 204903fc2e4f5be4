/* config.c: see config.h. */
#include "registrar/config.h"

#include "registrar/mail.h"
#include "registrar/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
           "REGISTRAR_SMTP_USER, REGISTRAR_SMTP_PASSWORD (needs TLS: smtps://, or STARTTLS required),\n"
           "REGISTRAR_MAIL_FROM (registrar@localhost). Flags: --smtp-url, --smtp-user, --mail-from.\n"
           "REGISTRAR_PUBLIC_URL (http://127.0.0.1:8080; the base of links in messages),\n"
           "REGISTRAR_CENTRE_NAME, REGISTRAR_CENTRE_ADDRESS, REGISTRAR_CENTRE_TAX_ID (on receipts\n"
           "and invoices; flags --centre-name, --centre-address, --centre-tax-id),\n"
           "REGISTRAR_SIGNUP_LIMIT (20), REGISTRAR_RESET_LIMIT (20) per address and hour,\n"
           "REGISTRAR_DISCOUNT_ADDRESS_LIMIT (60) and REGISTRAR_DISCOUNT_LEARNER_LIMIT (20):\n"
           "discount codes tried per address and per learner and hour. Flags: --public-url,\n"
           "--signup-limit, --reset-limit, --discount-address-limit, --discount-learner-limit.\n"
           "REGISTRAR_CERTIFICATE_PAPER (a4|letter; a4), REGISTRAR_VERIFY_LIMIT (60): public\n"
           "certificate checks per address and hour. Flags: --certificate-paper, --verify-limit.\n"
           "REGISTRAR_MAIL_RATE (60; messages to a roster sent per minute; --mail-rate),\n"
           "REGISTRAR_ADMIN_LISTEN (/metrics, /healthz, /readyz; 127.0.0.1:9090; off),\n"
           "REGISTRAR_METRICS_TOKEN (Bearer token for /metrics on the main address),\n"
           "REGISTRAR_TRUSTED_PROXIES (addresses/CIDRs whose X-Real-IP counts; 127.0.0.0/8,::1).\n"
           "REGISTRAR_PAYMENT_PROCESSOR (test|stripe; unset: payments answer 503),\n"
           "REGISTRAR_STRIPE_SECRET_KEY, REGISTRAR_STRIPE_PUBLISHABLE_KEY,\n"
           "REGISTRAR_STRIPE_WEBHOOK_SECRET, REGISTRAR_STRIPE_API_BASE (https://api.stripe.com),\n"
           "REGISTRAR_STRIPE_TIMEOUT (seconds a call to Stripe may take, 10),\n"
           "REGISTRAR_CENTRE_NAME, REGISTRAR_CENTRE_ADDRESS, REGISTRAR_CENTRE_TAX_ID (receipts).\n"
           "\n"
           "Secrets (REGISTRAR_SECRET_KEY, REGISTRAR_WEBHOOK_SECRET, REGISTRAR_SMTP_PASSWORD,\n"
           "REGISTRAR_METRICS_TOKEN, REGISTRAR_STRIPE_SECRET_KEY, REGISTRAR_STRIPE_WEBHOOK_SECRET)\n"
           "have no flags: set the variable, or VAR_FILE to a file\n"
           "readable by its owner only.\n";
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

/* Option flags. */
#define CONFIG_OPT_SECRET 1u /* no flag (it would show in ps); VAR or VAR_FILE */
#define CONFIG_OPT_EMPTY 2u  /* an empty variable is a value, not "unset" */

/* Replaces a secret, wiping the old copy. */
static void config_set_secret(char **slot, const char *value)
{
    if (*slot != NULL)
        explicit_bzero(*slot, strlen(*slot));
    config_set(slot, value);
}

/* Whether value is an API key's shape: n_min..n_max printable characters, no space. */
static bool config_token_ok(const char *value, size_t n_min, size_t n_max)
{
    size_t n = strlen(value);

    for (const char *p = value; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return false;
    return n >= n_min && n <= n_max;
}

/* Parses "a,b/24,..." into a new array; 0, or -1 (nothing allocated). */
static int config_cidrs(const char *text, struct util_cidr **out, size_t *n)
{
    size_t cap = 1, k = 0;
    struct util_cidr *list;

    for (const char *p = text; *p != '\0'; p++)
        cap += *p == ',';
    list = xcalloc(cap, sizeof(*list));
    for (const char *p = text;;) {
        char item[80];
        size_t len = strcspn(p, ",");
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0 || len >= sizeof(item))
            goto bad;
        memcpy(item, p, len);
        item[len] = '\0';
        if (util_cidr_parse(item, &list[k++]) == -1)
            goto bad;
        p += strcspn(p, ",");
        if (*p == '\0')
            break;
        p++;
    }
    free(*out);
    *out = list;
    *n = k;
    return 0;
bad:
    free(list);
    return -1;
}

/* The most a secret file may hold. */
#define CONFIG_SECRET_FILE_MAX 4096

/*
 * Reads a secret from the file that env_file names: a regular file that
 * neither its group nor others may read, at most 4 KiB, one trailing
 * newline (LF or CRLF) stripped, not empty. Returns a malloc'd copy, or
 * NULL with err filled (the file's contents never appear in err).
 */
static char *config_secret_file(const char *env_file, const char *path, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd == -1) {
        snprintf(err, errlen, "%s: cannot open %.120s: %s", env_file, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %.120s is not a regular file", env_file, path);
        goto fail;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen,
            "%s: %.120s may be read by its group or others (mode %03o): chmod 600 it", env_file,
            path, (unsigned)(st.st_mode & 0777));
        goto fail;
    }
    buf = xmalloc(CONFIG_SECRET_FILE_MAX + 2);
    for (;;) {
        ssize_t r = read(fd, buf + len, CONFIG_SECRET_FILE_MAX + 1 - len);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            snprintf(err, errlen, "%s: cannot read %.120s: %s", env_file, path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > CONFIG_SECRET_FILE_MAX) {
            snprintf(err, errlen, "%s: %.120s is larger than %d bytes", env_file, path,
                CONFIG_SECRET_FILE_MAX);
            goto fail;
        }
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (len == 0 || memchr(buf, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: %.120s is empty or holds a NUL byte", env_file, path);
        goto fail;
    }
    close(fd);
    return buf;
fail:
    if (buf != NULL) {
        explicit_bzero(buf, CONFIG_SECRET_FILE_MAX + 2);
        free(buf);
    }
    close(fd);
    return NULL;
}

/*
 * A secret's value from VAR or VAR_FILE. Returns 0 with *out malloc'd
 * (NULL when neither is set), or -1 with err filled.
 */
static int config_secret_get(
    const char *env, config_getenv_fn *getenv_fn, char **out, char *err, size_t errlen)
{
    char env_file[96];
    const char *v = getenv_fn(env), *path;

    *out = NULL;
    snprintf(env_file, sizeof(env_file), "%s_FILE", env);
    path = getenv_fn(env_file);
    if (v != NULL && v[0] == '\0')
        v = NULL;
    if (path != NULL && path[0] == '\0')
        path = NULL;
    if (v != NULL && path != NULL) {
        snprintf(err, errlen, "%s and %s are both set: keep one", env, env_file);
        return -1;
    }
    if (v != NULL)
        *out = xstrdup(v);
    else if (path != NULL && (*out = config_secret_file(env_file, path, err, errlen)) == NULL)
        return -1;
    return 0;
}

struct config_option {
    const char *flag; /* for a secret: named only to refuse it */
    const char *env;
    unsigned opts;
};

/* Flags and their environment twins, in one place. */
static const struct config_option config_options[] = {
    { "--listen", "REGISTRAR_LISTEN", 0 },
    { "--database-url", "REGISTRAR_DATABASE_URL", 0 },
    { "--threads", "REGISTRAR_THREADS", 0 },
    { "--db-pool", "REGISTRAR_DB_POOL", 0 },
    { "--web-root", "REGISTRAR_WEB_ROOT", 0 },
    { "--schema-dir", "REGISTRAR_SCHEMA_DIR", 0 },
    { "--secret-key", "REGISTRAR_SECRET_KEY", CONFIG_OPT_SECRET },
    { "--webhook-secret", "REGISTRAR_WEBHOOK_SECRET", CONFIG_OPT_SECRET },
    { "--cookie-secure", "REGISTRAR_COOKIE_SECURE", 0 },
    { "--log-level", "REGISTRAR_LOG_LEVEL", 0 },
    { "--trust-proxy", "REGISTRAR_TRUST_PROXY", 0 },
    { "--sweep-interval-ms", "REGISTRAR_SWEEP_INTERVAL_MS", 0 },
    { "--retention-interval-ms", "REGISTRAR_RETENTION_INTERVAL_MS", 0 },
    { "--connection-limit", "REGISTRAR_CONNECTION_LIMIT", 0 },
    { "--per-ip-limit", "REGISTRAR_PER_IP_LIMIT", 0 },
    { "--idle-timeout", "REGISTRAR_IDLE_TIMEOUT", 0 },
    { "--smtp-url", "REGISTRAR_SMTP_URL", 0 },
    { "--smtp-user", "REGISTRAR_SMTP_USER", 0 },
    { "--smtp-password", "REGISTRAR_SMTP_PASSWORD", CONFIG_OPT_SECRET },
    { "--mail-from", "REGISTRAR_MAIL_FROM", 0 },
    { "--public-url", "REGISTRAR_PUBLIC_URL", 0 },
    { "--centre-name", "REGISTRAR_CENTRE_NAME", 0 },
    { "--centre-address", "REGISTRAR_CENTRE_ADDRESS", CONFIG_OPT_EMPTY },
    { "--centre-tax-id", "REGISTRAR_CENTRE_TAX_ID", CONFIG_OPT_EMPTY },
    { "--signup-limit", "REGISTRAR_SIGNUP_LIMIT", 0 },
    { "--reset-limit", "REGISTRAR_RESET_LIMIT", 0 },
    { "--discount-address-limit", "REGISTRAR_DISCOUNT_ADDRESS_LIMIT", 0 },
    { "--discount-learner-limit", "REGISTRAR_DISCOUNT_LEARNER_LIMIT", 0 },
    { "--certificate-paper", "REGISTRAR_CERTIFICATE_PAPER", 0 },
    { "--verify-limit", "REGISTRAR_VERIFY_LIMIT", 0 },
    { "--mail-rate", "REGISTRAR_MAIL_RATE", 0 },
    /* Operations and the proxy in front. */
    { "--admin-listen", "REGISTRAR_ADMIN_LISTEN", CONFIG_OPT_EMPTY },
    { "--metrics-token", "REGISTRAR_METRICS_TOKEN", CONFIG_OPT_SECRET },
    { "--trusted-proxies", "REGISTRAR_TRUSTED_PROXIES", 0 },
    /* Payments (issue 9): the processor, its keys, the centre named on receipts. */
    { "--payment-processor", "REGISTRAR_PAYMENT_PROCESSOR", 0 },
    { "--stripe-secret-key", "REGISTRAR_STRIPE_SECRET_KEY", CONFIG_OPT_SECRET },
    { "--stripe-publishable-key", "REGISTRAR_STRIPE_PUBLISHABLE_KEY", 0 },
    { "--stripe-webhook-secret", "REGISTRAR_STRIPE_WEBHOOK_SECRET", CONFIG_OPT_SECRET },
    { "--stripe-api-base", "REGISTRAR_STRIPE_API_BASE", 0 },
    { "--stripe-timeout", "REGISTRAR_STRIPE_TIMEOUT", 0 },
    { "--email", NULL, 0 },
    { "--full-name", NULL, 0 },
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
        config_set_secret(&c->webhook_secret, value);
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
        config_set_secret(&c->smtp_password, value);
    } else if (strcmp(flag, "--mail-from") == 0) {
        if (!mail_address_ok(value)) {
            snprintf(err, errlen,
                "--mail-from/REGISTRAR_MAIL_FROM must be an address like registrar@example.org");
            return -1;
        }
        config_set(&c->mail_from, value);
    } else if (strcmp(flag, "--centre-name") == 0 || strcmp(flag, "--centre-address") == 0 ||
               strcmp(flag, "--centre-tax-id") == 0) {
        /* Printed as plain text; a line break only in the address. */
        bool address = strcmp(flag, "--centre-address") == 0;
        if (strlen(value) > (address ? 500u : 200u)) {
            snprintf(err, errlen, "%s is too long", flag);
            return -1;
        }
        for (const char *p = value; *p != '\0'; p++)
            if ((unsigned char)*p < ' ' && !(address && *p == '\n')) {
                snprintf(err, errlen, "%s must not hold control characters", flag);
                return -1;
            }
        config_set(strcmp(flag, "--centre-name") == 0 ? &c->centre_name
                   : address                          ? &c->centre_address
                                                      : &c->centre_tax_id,
            value);
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
    } else if (strcmp(flag, "--certificate-paper") == 0) {
        if (strcmp(value, "a4") != 0 && strcmp(value, "letter") != 0) {
            snprintf(err, errlen, "REGISTRAR_CERTIFICATE_PAPER must be a4 or letter");
            return -1;
        }
        c->certificate_letter = strcmp(value, "letter") == 0;
    } else if (strcmp(flag, "--verify-limit") == 0) {
        if (config_uint(value, 1, 1000000, &c->verify_limit) == -1) {
            snprintf(err, errlen,
                "REGISTRAR_VERIFY_LIMIT must be a number from 1 to 1000000 (per hour)");
            return -1;
        }
    } else if (strcmp(flag, "--mail-rate") == 0) {
        if (config_uint(value, 1, 100000, &c->mail_rate) == -1) {
            snprintf(err, errlen,
                "--mail-rate/REGISTRAR_MAIL_RATE must be a number from 1 to 100000 "
                "(messages to a roster per minute)");
            return -1;
        }
    } else if (strcmp(flag, "--admin-listen") == 0) {
        free(c->admin_host);
        c->admin_host = NULL;
        if (value[0] == '\0' || strcmp(value, "off") == 0)
            return 0;
        if (config_parse_listen(value, &c->admin_host, &c->admin_port) == -1) {
            snprintf(err, errlen, "REGISTRAR_ADMIN_LISTEN must be HOST:PORT or off, got \"%.60s\"",
                value);
            return -1;
        }
    } else if (strcmp(flag, "--metrics-token") == 0) {
        /* A Bearer token: printable ASCII, long enough not to be guessed. */
        size_t n = strlen(value);
        bool printable = true;
        for (const char *p = value; *p != '\0'; p++)
            printable = printable && *p > ' ' && *p < 0x7f;
        if (n < 16 || n > 256 || !printable) {
            snprintf(err, errlen,
                "REGISTRAR_METRICS_TOKEN must be 16 to 256 printable characters without spaces "
                "(e.g. openssl rand -hex 32)");
            return -1;
        }
        config_set_secret(&c->metrics_token, value);
    } else if (strcmp(flag, "--trusted-proxies") == 0) {
        if (config_cidrs(value, &c->trusted_proxies, &c->ntrusted_proxies) == -1) {
            snprintf(err, errlen,
                "REGISTRAR_TRUSTED_PROXIES must be addresses or CIDRs separated by commas "
                "(e.g. 10.0.0.5,192.168.0.0/24,::1)");
            return -1;
        }
    } else if (strcmp(flag, "--payment-processor") == 0) {
        if (strcmp(value, "test") != 0 && strcmp(value, "stripe") != 0) {
            snprintf(err, errlen, "REGISTRAR_PAYMENT_PROCESSOR must be test or stripe");
            return -1;
        }
        config_set(&c->payment_processor, value);
    } else if (strcmp(flag, "--stripe-secret-key") == 0) {
        if (!config_token_ok(value, 8, 255)) {
            snprintf(err, errlen,
                "REGISTRAR_STRIPE_SECRET_KEY must be a Stripe secret key (sk_... or rk_...)");
            return -1;
        }
        config_set_secret(&c->stripe_secret_key, value);
    } else if (strcmp(flag, "--stripe-publishable-key") == 0) {
        if (!config_token_ok(value, 8, 255) || strncmp(value, "pk_", 3) != 0) {
            snprintf(err, errlen, "REGISTRAR_STRIPE_PUBLISHABLE_KEY must be a key pk_...");
            return -1;
        }
        config_set(&c->stripe_publishable_key, value);
    } else if (strcmp(flag, "--stripe-webhook-secret") == 0) {
        if (!config_token_ok(value, 8, 255)) {
            snprintf(err, errlen, "REGISTRAR_STRIPE_WEBHOOK_SECRET must be the whsec_... secret");
            return -1;
        }
        config_set_secret(&c->stripe_webhook_secret, value);
    } else if (strcmp(flag, "--stripe-api-base") == 0) {
        if (config_public_url_valid(value) == -1) {
            snprintf(err, errlen,
                "REGISTRAR_STRIPE_API_BASE must be an http:// or https:// URL such as "
                "https://api.stripe.com");
            return -1;
        }
        config_set(&c->stripe_api_base, value);
        size_t n = strlen(c->stripe_api_base);
        while (n > 0 && c->stripe_api_base[n - 1] == '/')
            c->stripe_api_base[--n] = '\0';
    } else if (strcmp(flag, "--stripe-timeout") == 0) {
        if (config_uint(value, 1, 60, &c->stripe_timeout_s) == -1) {
            snprintf(err, errlen, "REGISTRAR_STRIPE_TIMEOUT must be seconds from 1 to 60");
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
    c->centre_name = xstrdup("Registrar");
    c->centre_address = xstrdup("");
    c->centre_tax_id = xstrdup("");
    c->public_url = xstrdup("http://127.0.0.1:8080");
    /*
     * Generous for people (a clinic behind one NAT signs up a handful an
     * hour), tight for a script.
     */
    c->signup_limit = 20;
    c->reset_limit = 20;
    c->discount_address_limit = 60;
    c->discount_learner_limit = 20;
    /* A person checks a certificate or two; a script guessing codes gets nowhere at 60 an hour. */
    c->verify_limit = 60;
    /* A roster of 200 goes out in under four minutes without looking like a spam run. */
    c->mail_rate = 60;
    /* /metrics, /healthz and /readyz on loopback: reachable from the host only. */
    c->admin_host = xstrdup("127.0.0.1");
    c->admin_port = 9090;
    c->stripe_api_base = xstrdup("https://api.stripe.com");
    /* Stripe answers in well under a second; past this the outcome is left to the sweep. */
    c->stripe_timeout_s = 10;
    err[0] = '\0';
    if (config_cidrs("127.0.0.0/8,::1", &c->trusted_proxies, &c->ntrusted_proxies) == -1)
        abort();

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
        const struct config_option *opt = &config_options[k];
        if (opt->env == NULL)
            continue;
        if (opt->opts & CONFIG_OPT_SECRET) {
            char *secret = NULL;
            int rc = config_secret_get(opt->env, getenv_fn, &secret, err, errlen);
            if (rc == 0 && secret != NULL)
                rc = config_apply(c, opt->flag, secret, err, errlen);
            if (secret != NULL)
                explicit_bzero(secret, strlen(secret));
            free(secret);
            if (rc == -1)
                return -1;
            continue;
        }
        const char *v = getenv_fn(opt->env);
        if (v != NULL && (v[0] != '\0' || (opt->opts & CONFIG_OPT_EMPTY)) &&
            config_apply(c, opt->flag, v, err, errlen) == -1)
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
            if (strlen(config_options[k].flag) == flen &&
                strncmp(config_options[k].flag, arg, flen) == 0)
                opt = &config_options[k];
        if (opt == NULL) {
            /* Only the part before '=': the rest may be a secret. */
            snprintf(err, errlen, "unknown option \"%.*s\" (try --help)",
                (int)(flen > 40 ? 40 : flen), arg);
            return -1;
        }
        if (opt->opts & CONFIG_OPT_SECRET) {
            snprintf(err, errlen,
                "%s: secrets are not taken from flags (they show in ps); set %s or %s_FILE",
                opt->flag, opt->env, opt->env);
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
    /*
     * A relay password goes only over TLS: smtps://, or smtp:// where the
     * sender then requires STARTTLS (mail.c), so that a relay (or someone
     * between) that offers no STARTTLS never sees it.
     */
    if (c->smtp_password != NULL && (c->smtp_url == NULL || c->smtp_user == NULL)) {
        snprintf(err, errlen,
            "REGISTRAR_SMTP_PASSWORD needs REGISTRAR_SMTP_URL and REGISTRAR_SMTP_USER");
        return -1;
    }
    if (c->payment_processor != NULL && strcmp(c->payment_processor, "stripe") == 0 &&
        c->command == CONFIG_SERVE &&
        (c->stripe_secret_key == NULL || c->stripe_publishable_key == NULL ||
            c->stripe_webhook_secret == NULL)) {
        snprintf(err, errlen,
            "REGISTRAR_PAYMENT_PROCESSOR=stripe needs REGISTRAR_STRIPE_SECRET_KEY, "
            "REGISTRAR_STRIPE_PUBLISHABLE_KEY and REGISTRAR_STRIPE_WEBHOOK_SECRET");
        return -1;
    }
    if (c->command == CONFIG_SERVE && !c->has_secret_key) {
        snprintf(err, errlen,
            "REGISTRAR_SECRET_KEY or REGISTRAR_SECRET_KEY_FILE is required (64 hex digits; e.g. "
            "openssl rand -hex 32)");
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
    if (c->webhook_secret != NULL)
        explicit_bzero(c->webhook_secret, strlen(c->webhook_secret));
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
    free(c->centre_name);
    free(c->centre_address);
    free(c->centre_tax_id);
    free(c->public_url);
    free(c->admin_host);
    if (c->metrics_token != NULL)
        explicit_bzero(c->metrics_token, strlen(c->metrics_token));
    free(c->metrics_token);
    free(c->trusted_proxies);
    free(c->payment_processor);
    if (c->stripe_secret_key != NULL)
        explicit_bzero(c->stripe_secret_key, strlen(c->stripe_secret_key));
    free(c->stripe_secret_key);
    if (c->stripe_webhook_secret != NULL)
        explicit_bzero(c->stripe_webhook_secret, strlen(c->stripe_webhook_secret));
    free(c->stripe_webhook_secret);
    free(c->stripe_publishable_key);
    free(c->stripe_api_base);
    explicit_bzero(c->secret_key, sizeof(c->secret_key));
    memset(c, 0, sizeof(*c));
}
