/*
 * cli.c: the command line's own work beside `serve` and `migrate`:
 * `registrar create-admin`, which reads a password from the terminal
 * (without echo) or standard input. See cli.h.
 */
#include "registrar/cli.h"

#include "registrar/api.h"
#include "registrar/auth.h"
#include "registrar/db.h"
#include "registrar/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const struct db_stmt SQL_ADMIN_ENSURE = { "admin_ensure",
    "select registrar.admin_ensure($1, $2, $3)", 0 };

/* Reads the first line of in (without its line end) into a malloc'd string; NULL at EOF. */
static char *cli_read_password(FILE *in)
{
    struct termios saved, quiet;
    bool tty = isatty(fileno(in)) == 1 && tcgetattr(fileno(in), &saved) == 0;
    char *line = NULL;
    size_t cap = 0;

    if (tty) {
        fputs("Password: ", stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        (void)tcsetattr(fileno(in), TCSAFLUSH, &quiet);
    }
    ssize_t n = getline(&line, &cap, in);
    if (tty) {
        (void)tcsetattr(fileno(in), TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (n < 0) {
        if (line != NULL)
            auth_wipe(line, cap);
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

int cli_create_admin(const char *database_url, const char *email, const char *full_name, FILE *in)
{
    char *password = NULL, *mail = NULL, *name = NULL, *result = NULL;
    char hash[AUTH_PASSWORD_HASH_SIZE] = "";
    struct db_conn *db = NULL;
    int rc = 2;

    if (database_url == NULL) {
        fprintf(stderr, "registrar: create-admin needs --database-url or REGISTRAR_DATABASE_URL\n");
        goto out;
    }
    /* The sign-up table's rules for these two, through the same checks. */
    static const struct api_field admin_fields[] = {
        { "email", API_T_EMAIL, API_REQUIRED, 3, 254, NULL, NULL, 0, 0 },
        { "full_name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
        { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
    };
    struct api_field_error err;
    json_t *args = NULL;
    if (util_utf8_valid(email, strlen(email)) && util_utf8_valid(full_name, strlen(full_name)))
        args = json_pack("{s:s, s:s}", "email", email, "full_name", full_name);
    if (args == NULL) {
        fprintf(stderr, "registrar: --email and --full-name must be UTF-8 text\n");
        goto out;
    }
    if (api_fields_check(args, admin_fields, "", true, &err) == -1) {
        fprintf(stderr, "registrar: --%s %s\n",
            strcmp(err.field, "email") == 0 ? "email" : "full-name", err.message);
        api_field_error_release(&err);
        json_decref(args);
        goto out;
    }
    /* Trimmed by the checks; lower-casing happens in SQL. */
    mail = xstrdup(api_body_string(args, "email"));
    name = xstrdup(api_body_string(args, "full_name"));
    json_decref(args);
    password = cli_read_password(in);
    if (password == NULL) {
        fprintf(stderr,
            "registrar: create-admin reads the password from the first line of standard input\n");
        goto out;
    }
    size_t pw_chars = util_utf8_len(password);
    if (!util_utf8_valid(password, strlen(password)) || pw_chars < AUTH_PASSWORD_MIN ||
        pw_chars > AUTH_PASSWORD_MAX) {
        fprintf(stderr, "registrar: the password must be %d to %d characters of UTF-8\n",
            AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
        goto out;
    }
    rc = 1;
    if (auth_password_hash(password, strlen(password), hash) == -1) {
        fprintf(stderr, "registrar: could not hash the password (out of memory)\n");
        goto out;
    }
    db_stmts_register(&SQL_ADMIN_ENSURE, 1);
    db = db_conn_new(database_url);
    const char *params[] = { mail, name, hash };
    enum db_status s = db_exec_value(db, &SQL_ADMIN_ENSURE, 3, params, &result);
    if (s == DB_UNAVAILABLE) {
        fprintf(stderr,
            "registrar: the database is not reachable, or not migrated (run registrar migrate)\n");
        goto out;
    }
    if (s != DB_OK) {
        fprintf(
            stderr, "registrar: the account could not be written (is the email or name valid?)\n");
        goto out;
    }
    if (strcmp(result, "created") == 0)
        fprintf(stderr, "registrar: created the admin account %s\n", mail);
    else
        fprintf(stderr, "registrar: %s is now an admin (its password is unchanged)\n", mail);
    rc = 0;
out:
    db_conn_free(db);
    auth_free_secret(password);
    auth_wipe(hash, sizeof(hash));
    free(mail);
    free(name);
    free(result);
    return rc;
}
