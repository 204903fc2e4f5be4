/* test_config.c: flags, environment twins, precedence, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

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
    assert_non_null(strstr(err, "unknown option"));
    config_release(&c);

    assert_int_equal(parse(env_bad_url, 1, none, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_SMTP_URL"));
    config_release(&c);

    assert_int_equal(parse(env, 3, bad_from, &c, err), -1);
    assert_non_null(strstr(err, "REGISTRAR_MAIL_FROM"));
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
        cmocka_unit_test(test_public_url_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
