/* test_config.c: flags, environment twins, precedence, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registrar/config.h"

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    for (const char *const *e = fake_env; e != NULL && *e != NULL; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static int parse(const char *const *env, int argc, const char **argv, struct config *c, char *err)
{
    fake_env = env;
    return config_parse(c, argc, (char **)(uintptr_t)argv, fake_getenv, 2, err, 256);
}

static void test_defaults_from_env(void **state)
{
    struct config c;
    char err[256];
    const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        NULL };
    const char *argv[] = { "registrar" };
    (void)state;
    assert_int_equal(parse(env, 1, argv, &c, err), 0);
    assert_int_equal(c.command, CONFIG_SERVE);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.threads, 2);
    assert_int_equal(c.db_pool, 4);
    assert_true(c.has_secret_key);
    assert_int_equal(c.secret_key[1], 0x11);
    assert_false(c.cookie_secure);
    config_release(&c);
}

static void test_flag_wins(void **state)
{
    struct config c;
    char err[256];
    const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_LISTEN", "127.0.0.1:9000", "REGISTRAR_THREADS", "3", NULL };
    const char *argv[] = { "registrar", "serve", "--listen", "[::1]:9100", "--threads=5",
        "--web-root", "/srv/web", "--cookie-secure", "true" };
    (void)state;
    assert_int_equal(parse(env, 9, argv, &c, err), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.port, 9100);
    assert_int_equal(c.threads, 5);
    assert_string_equal(c.web_root, "/srv/web");
    assert_true(c.cookie_secure);
    config_release(&c);
}

static void test_errors(void **state)
{
    struct config c;
    char err[256];
    const char *env_ok[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY",
        KEY, NULL };
    const char *env_badkey[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
        "REGISTRAR_SECRET_KEY", "abc", NULL };
    const char *env_nodb[] = { "REGISTRAR_SECRET_KEY", KEY, NULL };
    (void)state;

    const char *a1[] = { "registrar", "--listen", "nowhere" };
    assert_int_equal(parse(env_ok, 3, a1, &c, err), -1);
    assert_non_null(strstr(err, "HOST:PORT"));
    config_release(&c);

    const char *a2[] = { "registrar", "--threads", "0" };
    assert_int_equal(parse(env_ok, 3, a2, &c, err), -1);
    config_release(&c);

    const char *a3[] = { "registrar", "--bogus" };
    assert_int_equal(parse(env_ok, 2, a3, &c, err), -1);
    assert_non_null(strstr(err, "unknown option"));
    config_release(&c);

    const char *a4[] = { "registrar" };
    assert_int_equal(parse(env_badkey, 1, a4, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_SECRET_KEY"));
    config_release(&c);
    assert_int_equal(parse(env_nodb, 1, a4, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_DATABASE_URL"));
    config_release(&c);

    const char *a5[] = { "registrar", "--listen" };
    assert_int_equal(parse(env_ok, 2, a5, &c, err), -1);
    assert_non_null(strstr(err, "needs a value"));
    config_release(&c);

    const char *a6[] = { "registrar", "fly" };
    assert_int_equal(parse(env_ok, 2, a6, &c, err), -1);
    config_release(&c);

    const char *a7[] = { "registrar", "--listen", "127.0.0.1:99999" };
    assert_int_equal(parse(env_ok, 3, a7, &c, err), -1);
    config_release(&c);
}

static void test_commands(void **state)
{
    struct config c;
    char err[256];
    const char *env_db[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", NULL };
    (void)state;
    /* migrate needs no secret key. */
    const char *a1[] = { "registrar", "migrate" };
    assert_int_equal(parse(env_db, 2, a1, &c, err), 0);
    assert_int_equal(c.command, CONFIG_MIGRATE);
    config_release(&c);
    const char *a2[] = { "registrar", "--version" };
    assert_int_equal(parse(NULL, 2, a2, &c, err), 0);
    assert_int_equal(c.command, CONFIG_VERSION);
    config_release(&c);
    const char *a3[] = { "registrar", "create-admin", "--email", "a@b.org" };
    assert_int_equal(parse(env_db, 4, a3, &c, err), -1);
    assert_non_null(strstr(err, "--full-name"));
    config_release(&c);
    const char *a4[] = { "registrar", "create-admin", "--email", "a@b.org", "--full-name", "A B" };
    assert_int_equal(parse(env_db, 6, a4, &c, err), 0);
    assert_string_equal(c.admin_full_name, "A B");
    config_release(&c);
}

static void test_listen_parse(void **state)
{
    char *host;
    unsigned short port;
    (void)state;
    assert_int_equal(config_parse_listen("0.0.0.0:80", &host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 80);
    free(host);
    assert_int_equal(config_parse_listen("localhost:8080", &host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    free(host);
    assert_int_equal(config_parse_listen(":80", &host, &port), -1);
    assert_int_equal(config_parse_listen("host:", &host, &port), -1);
    assert_int_equal(config_parse_listen("[::1]80", &host, &port), -1);
}

static void test_smtp_settings(void **state)
{
    struct config c;
    char err[256];
    const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_SMTP_URL", "smtp://mail.example.org:587", "REGISTRAR_SMTP_USER", "relay",
        "REGISTRAR_SMTP_PASSWORD", "s3cret", NULL };
    const char *env_bad_url[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
        "REGISTRAR_SECRET_KEY", KEY, "REGISTRAR_SMTP_URL", "http://mail.example.org", NULL };
    const char *none[] = { "registrar" };
    const char *flags[] = { "registrar", "--smtp-url", "smtps://relay.example.org",
        "--mail-from=noreply@example.org" };
    const char *pw_flag[] = { "registrar", "--smtp-password", "s3cret" };
    const char *bad_from[] = { "registrar", "--mail-from", "Registrar <r@example.org>" };
    const char *env_min[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY",
        KEY, NULL };
    (void)state;

    /* Unset: no delivery, the default sender. */
    assert_int_equal(parse(env_min, 1, none, &c, err), 0);
    assert_null(c.smtp_url);
    assert_null(c.smtp_user);
    assert_null(c.smtp_password);
    assert_string_equal(c.mail_from, "registrar@localhost");
    config_release(&c);

    assert_int_equal(parse(env, 1, none, &c, err), 0);
    assert_string_equal(c.smtp_url, "smtp://mail.example.org:587");
    assert_string_equal(c.smtp_user, "relay");
    assert_string_equal(c.smtp_password, "s3cret");
    config_release(&c);

    assert_int_equal(parse(env, 4, flags, &c, err), 0);
    assert_string_equal(c.smtp_url, "smtps://relay.example.org");
    assert_string_equal(c.mail_from, "noreply@example.org");
    config_release(&c);

    /* The password has no flag: it would show in ps. */
    assert_int_equal(parse(env, 3, pw_flag, &c, err), -1);
    assert_non_null(strstr(err, "not taken from flags"));
    assert_null(strstr(err, "s3cret"));
    config_release(&c);

    /* A password needs a URL and a user to be of any use. */
    const char *env_pw_only[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
        "REGISTRAR_SECRET_KEY", KEY, "REGISTRAR_SMTP_PASSWORD", "s3cret", NULL };
    assert_int_equal(parse(env_pw_only, 1, none, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_SMTP_PASSWORD needs"));
    config_release(&c);

    assert_int_equal(parse(env_bad_url, 1, none, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_SMTP_URL"));
    config_release(&c);

    assert_int_equal(parse(env, 3, bad_from, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_MAIL_FROM"));
    config_release(&c);
}

/* A file in /tmp holding text, with the given mode; returns its malloc'd path. */
static char *secret_file(const char *text, mode_t mode)
{
    char *path = strdup("/tmp/registrar-test-secret-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static void test_secret_files(void **state)
{
    struct config c;
    char err[256];
    const char *none[] = { "registrar" };
    char *key_file = secret_file(KEY "\n", 0600);
    char *key_crlf = secret_file(KEY "\r\n", 0400);
    char *group_readable = secret_file(KEY "\n", 0640);
    char *world_readable = secret_file(KEY "\n", 0604);
    char *empty = secret_file("\n", 0600);
    char *hook = secret_file("whsec_abc\n\n", 0600);
    char *token = secret_file("0123456789abcdef0123\n", 0600);
    (void)state;

    /* The key from a file, its trailing newline stripped. */
    const char *env1[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY_FILE",
        key_file, "REGISTRAR_WEBHOOK_SECRET_FILE", hook, "REGISTRAR_METRICS_TOKEN_FILE", token,
        NULL };
    assert_int_equal(parse(env1, 1, none, &c, err), 0);
    assert_true(c.has_secret_key);
    assert_int_equal(c.secret_key[31], 0xff);
    /* One newline is stripped, not every one. */
    assert_string_equal(c.webhook_secret, "whsec_abc\n");
    assert_string_equal(c.metrics_token, "0123456789abcdef0123");
    config_release(&c);

    const char *env2[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY_FILE",
        key_crlf, NULL };
    assert_int_equal(parse(env2, 1, none, &c, err), 0);
    assert_true(c.has_secret_key);
    config_release(&c);

    /* Readable by the group or by others: refused, naming the variable; no contents shown. */
    const char *bad_modes[] = { group_readable, world_readable };
    for (size_t i = 0; i < 2; i++) {
        const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
            "REGISTRAR_SECRET_KEY_FILE", bad_modes[i], NULL };
        assert_int_equal(parse(env, 1, none, &c, err), -1);
        assert_non_null(strstr(err, "REGISTRAR_SECRET_KEY_FILE"));
        assert_non_null(strstr(err, "chmod 600"));
        assert_null(strstr(err, KEY));
        config_release(&c);
    }

    /* Missing, empty, a directory. */
    const char *missing[] = { "/nonexistent/secret", empty, "/tmp" };
    for (size_t i = 0; i < 3; i++) {
        const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
            "REGISTRAR_SMTP_PASSWORD_FILE", missing[i], NULL };
        assert_int_equal(parse(env, 1, none, &c, err), -1);
        assert_non_null(strstr(err, "REGISTRAR_SMTP_PASSWORD_FILE"));
        config_release(&c);
    }

    /* The variable and its file both set: an error, whichever would win. */
    const char *both[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_SECRET_KEY_FILE", key_file, NULL };
    assert_int_equal(parse(both, 1, none, &c, err), -1);
    assert_non_null(strstr(err, "both set"));
    config_release(&c);

    /* An empty variable counts as unset. */
    const char *empty_var[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY",
        "", "REGISTRAR_SECRET_KEY_FILE", key_file, NULL };
    assert_int_equal(parse(empty_var, 1, none, &c, err), 0);
    config_release(&c);

    /* A file's key is checked like the variable's. */
    const char *env_hook_as_key[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
        "REGISTRAR_SECRET_KEY_FILE", hook, NULL };
    assert_int_equal(parse(env_hook_as_key, 1, none, &c, err), -1);
    assert_non_null(strstr(err, "64 hexadecimal"));
    config_release(&c);

    const char *files[] = { key_file, key_crlf, group_readable, world_readable, empty, hook,
        token };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        unlink(files[i]);
        free((void *)(uintptr_t)files[i]);
    }
}

static void test_no_secret_flags(void **state)
{
    struct config c;
    char err[256];
    const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        NULL };
    static const char *const flags[] = { "--secret-key", "--webhook-secret", "--smtp-password",
        "--metrics-token", "--stripe-secret-key", "--stripe-webhook-secret" };
    (void)state;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        const char *spaced[] = { "registrar", "serve", flags[i], "hunter2-hunter2-hunter2" };
        assert_int_equal(parse(env, 4, spaced, &c, err), -1);
        assert_non_null(strstr(err, flags[i]));
        assert_non_null(strstr(err, "_FILE"));
        assert_null(strchr(err, '\n'));
        assert_null(strstr(err, "hunter2"));
        config_release(&c);
        char joined[80];
        snprintf(joined, sizeof(joined), "%s=hunter2-hunter2-hunter2", flags[i]);
        const char *eq[] = { "registrar", joined };
        assert_int_equal(parse(env, 2, eq, &c, err), -1);
        assert_null(strstr(err, "hunter2"));
        config_release(&c);
    }
    /* An unknown flag's value is not echoed either. */
    const char *typo[] = { "registrar", "--secret-kee=hunter2" };
    assert_int_equal(parse(env, 2, typo, &c, err), -1);
    assert_non_null(strstr(err, "unknown option"));
    assert_null(strstr(err, "hunter2"));
    config_release(&c);
}

/* Issue 9: the processor, Stripe's keys (all three needed), the centre. */
static void test_payment_settings(void **state)
{
    struct config c;
    char err[256];
    (void)state;

    const char *none[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        NULL };
    const char *argv[] = { "registrar" };
    assert_int_equal(parse(none, 1, argv, &c, err), 0);
    assert_null(c.payment_processor);
    assert_string_equal(c.stripe_api_base, "https://api.stripe.com");
    assert_int_equal(c.stripe_timeout_s, 10);
    assert_string_equal(c.centre_name, "Registrar");
    assert_string_equal(c.centre_address, "");
    config_release(&c);

    const char *bad[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_PAYMENT_PROCESSOR", "paypal", NULL };
    assert_int_equal(parse(bad, 1, argv, &c, err), -1);
    assert_non_null(strstr(err, "test or stripe"));
    config_release(&c);

    /* Stripe without all three keys refuses to start, naming them. */
    const char *half[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_PAYMENT_PROCESSOR", "stripe", "REGISTRAR_STRIPE_SECRET_KEY", "sk_test_abcdefgh",
        NULL };
    assert_int_equal(parse(half, 1, argv, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_STRIPE_PUBLISHABLE_KEY"));
    assert_null(strstr(err, "sk_test_abcdefgh"));
    config_release(&c);

    const char *full[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_PAYMENT_PROCESSOR", "stripe", "REGISTRAR_STRIPE_SECRET_KEY", "sk_test_abcdefgh",
        "REGISTRAR_STRIPE_PUBLISHABLE_KEY", "pk_test_abcdefgh", "REGISTRAR_STRIPE_WEBHOOK_SECRET",
        "whsec_abcdefgh", "REGISTRAR_STRIPE_API_BASE", "http://127.0.0.1:9999/",
        "REGISTRAR_CENTRE_ADDRESS", "1 Main St\nBoston MA", NULL };
    const char *flags[] = { "registrar", "--stripe-timeout", "3", "--centre-name", "Centre" };
    assert_int_equal(parse(full, 5, flags, &c, err), 0);
    assert_string_equal(c.payment_processor, "stripe");
    assert_string_equal(c.stripe_secret_key, "sk_test_abcdefgh");
    assert_string_equal(c.stripe_publishable_key, "pk_test_abcdefgh");
    assert_string_equal(c.stripe_webhook_secret, "whsec_abcdefgh");
    assert_string_equal(c.stripe_api_base, "http://127.0.0.1:9999");
    assert_int_equal(c.stripe_timeout_s, 3);
    assert_string_equal(c.centre_name, "Centre");
    assert_string_equal(c.centre_address, "1 Main St\nBoston MA");
    config_release(&c);

    const char *pk[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_STRIPE_PUBLISHABLE_KEY", "sk_live_oops_secret", NULL };
    assert_int_equal(parse(pk, 1, argv, &c, err), -1);
    assert_non_null(strstr(err, "pk_"));
    config_release(&c);
    const char *name[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_CENTRE_NAME", "Centre\nBcc: x", NULL };
    assert_int_equal(parse(name, 1, argv, &c, err), -1);
    config_release(&c);
    const char *slow[] = { "registrar", "--stripe-timeout", "0" };
    assert_int_equal(parse(none, 3, slow, &c, err), -1);
    config_release(&c);
}

static void test_admin_and_proxies(void **state)
{
    struct config c;
    char err[256];
    const char *none[] = { "registrar" };
    uint8_t v4[4], v6[16];
    (void)state;

    /* Defaults: the admin address on loopback, loopback proxies, no metrics token. */
    const char *env0[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        NULL };
    assert_int_equal(parse(env0, 1, none, &c, err), 0);
    assert_string_equal(c.admin_host, "127.0.0.1");
    assert_int_equal(c.admin_port, 9090);
    assert_null(c.metrics_token);
    assert_int_equal(c.ntrusted_proxies, 2);
    inet_pton(AF_INET, "127.0.0.1", v4);
    assert_true(util_cidr_contains(&c.trusted_proxies[0], AF_INET, v4));
    inet_pton(AF_INET, "127.200.3.4", v4);
    assert_true(util_cidr_contains(&c.trusted_proxies[0], AF_INET, v4));
    inet_pton(AF_INET, "10.0.0.1", v4);
    assert_false(util_cidr_contains(&c.trusted_proxies[0], AF_INET, v4));
    inet_pton(AF_INET6, "::1", v6);
    assert_true(util_cidr_contains(&c.trusted_proxies[1], AF_INET6, v6));
    config_release(&c);

    /* "off" and empty turn the admin address off. */
    const char *offs[] = { "off", "" };
    for (size_t i = 0; i < 2; i++) {
        const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY",
            KEY, "REGISTRAR_ADMIN_LISTEN", offs[i], NULL };
        assert_int_equal(parse(env, 1, none, &c, err), 0);
        assert_null(c.admin_host);
        config_release(&c);
    }
    const char *env1[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_ADMIN_LISTEN", "[::1]:9191", "REGISTRAR_TRUSTED_PROXIES",
        " 10.1.2.3 , 192.168.0.0/16,fd00::/8", "REGISTRAR_METRICS_TOKEN",
        "abcdefghijklmnopqrstuvwxyz", NULL };
    assert_int_equal(parse(env1, 1, none, &c, err), 0);
    assert_string_equal(c.admin_host, "::1");
    assert_int_equal(c.admin_port, 9191);
    assert_string_equal(c.metrics_token, "abcdefghijklmnopqrstuvwxyz");
    assert_int_equal(c.ntrusted_proxies, 3);
    inet_pton(AF_INET, "10.1.2.3", v4);
    assert_true(util_cidr_contains(&c.trusted_proxies[0], AF_INET, v4));
    inet_pton(AF_INET, "10.1.2.4", v4);
    assert_false(util_cidr_contains(&c.trusted_proxies[0], AF_INET, v4));
    inet_pton(AF_INET, "192.168.77.1", v4);
    assert_true(util_cidr_contains(&c.trusted_proxies[1], AF_INET, v4));
    /* An IPv4-mapped peer counts as its IPv4 address. */
    inet_pton(AF_INET6, "::ffff:192.168.1.1", v6);
    assert_true(util_cidr_contains(&c.trusted_proxies[1], AF_INET6, v6));
    inet_pton(AF_INET6, "fdab::1", v6);
    assert_true(util_cidr_contains(&c.trusted_proxies[2], AF_INET6, v6));
    inet_pton(AF_INET6, "fe80::1", v6);
    assert_false(util_cidr_contains(&c.trusted_proxies[2], AF_INET6, v6));
    config_release(&c);

    static const char *const bad_proxies[] = { "10.0.0.0/33", "10.0.0.1,", "example.org", "::1/129",
        "10.0.0.0/", "10.0.0.0/-1", "1.2.3.4/8x" };
    for (size_t i = 0; i < sizeof(bad_proxies) / sizeof(bad_proxies[0]); i++) {
        const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY",
            KEY, "REGISTRAR_TRUSTED_PROXIES", bad_proxies[i], NULL };
        assert_int_equal(parse(env, 1, none, &c, err), -1);
        assert_non_null(strstr(err, "REGISTRAR_TRUSTED_PROXIES"));
        config_release(&c);
    }
    const char *env_short_token[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
        "REGISTRAR_SECRET_KEY", KEY, "REGISTRAR_METRICS_TOKEN", "short", NULL };
    assert_int_equal(parse(env_short_token, 1, none, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_METRICS_TOKEN"));
    config_release(&c);
    const char *env_bad_admin[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x",
        "REGISTRAR_SECRET_KEY", KEY, "REGISTRAR_ADMIN_LISTEN", "9090", NULL };
    assert_int_equal(parse(env_bad_admin, 1, none, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_ADMIN_LISTEN"));
    config_release(&c);
}

static void test_public_url_and_limits(void **state)
{
    struct config c;
    char err[256];
    const char *env_min[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY",
        KEY, NULL };
    const char *env[] = { "REGISTRAR_DATABASE_URL", "postgresql:///x", "REGISTRAR_SECRET_KEY", KEY,
        "REGISTRAR_PUBLIC_URL", "https://registrar.example.org/", "REGISTRAR_SIGNUP_LIMIT", "5",
        NULL };
    const char *none[] = { "registrar" };
    const char *flags[] = { "registrar", "--public-url", "http://[::1]:8080/reg//",
        "--reset-limit=7", "--discount-address-limit", "8", "--discount-learner-limit", "9" };
    static const char *const good[] = { "http://127.0.0.1:8080", "https://registrar.example.org",
        "https://example.org/registrar/", "http://[2001:db8::1]:8443", NULL };
    static const char *const bad[] = { "", "registrar.example.org", "ftp://example.org", "https://",
        "https:///path", "https://:443", "https://example.org/?q=1", "https://example.org/#/x",
        "https://a b.example.org", "https://evil@example.org", "https://example.org/\x01",
        "javascript:alert(1)", NULL };
    (void)state;

    assert_int_equal(parse(env_min, 1, none, &c, err), 0);
    assert_string_equal(c.public_url, "http://127.0.0.1:8080");
    assert_int_equal(c.signup_limit, 20);
    assert_int_equal(c.reset_limit, 20);
    assert_int_equal(c.discount_address_limit, 60);
    assert_int_equal(c.discount_learner_limit, 20);
    config_release(&c);

    /* One slash between the base and "/#/...", however many were written. */
    assert_int_equal(parse(env, 1, none, &c, err), 0);
    assert_string_equal(c.public_url, "https://registrar.example.org");
    assert_int_equal(c.signup_limit, 5);
    config_release(&c);

    assert_int_equal(parse(env, 8, flags, &c, err), 0);
    assert_string_equal(c.public_url, "http://[::1]:8080/reg");
    assert_int_equal(c.signup_limit, 5);
    assert_int_equal(c.reset_limit, 7);
    assert_int_equal(c.discount_address_limit, 8);
    assert_int_equal(c.discount_learner_limit, 9);
    config_release(&c);

    for (const char *const *g = good; *g != NULL; g++)
        assert_int_equal(config_public_url_valid(*g), 0);
    for (const char *const *b = bad; *b != NULL; b++) {
        const char *argv[] = { "registrar", "--public-url", *b };
        assert_int_equal(config_public_url_valid(*b), -1);
        assert_int_equal(parse(env_min, 3, argv, &c, err), -1);
        assert_non_null(strstr(err, "REGISTRAR_PUBLIC_URL"));
        config_release(&c);
    }

    const char *zero[] = { "registrar", "--signup-limit", "0" };
    assert_int_equal(parse(env_min, 3, zero, &c, err), -1);
    assert_non_null(strstr(err, "--signup-limit"));
    config_release(&c);
    const char *word[] = { "registrar", "--discount-learner-limit=many" };
    assert_int_equal(parse(env_min, 2, word, &c, err), -1);
    config_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_from_env),
        cmocka_unit_test(test_flag_wins),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_smtp_settings),
        cmocka_unit_test(test_secret_files),
        cmocka_unit_test(test_no_secret_flags),
        cmocka_unit_test(test_admin_and_proxies),
        cmocka_unit_test(test_public_url_and_limits),
        cmocka_unit_test(test_payment_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
