/*
 * session.c: resolving a request's token to a principal, with the CSRF
 * check of cookie-authenticated unsafe requests. See auth.h.
 */
#include "registrar/auth.h"

#include "registrar/db.h"
#include "registrar/util.h"

#include <stdio.h>
#include <string.h>

static const struct db_stmt SQL_SESSION_RESOLVE = { "auth_session_resolve",
    "select session_id, user_id, is_admin, encode(csrf_hash, 'hex') "
    "from registrar.auth_session_resolve(decode($1, 'hex'))",
    DB_RETRY_SAFE };

void auth_register_statements(void)
{
    db_stmts_register(&SQL_SESSION_RESOLVE, 1);
}

enum http_auth_result auth_authenticate(struct db_conn *db, const char *token, bool via_cookie,
    bool unsafe, const char *csrf, struct http_principal *out)
{
    char digest[AUTH_DIGEST_HEX_SIZE];
    char csrf_digest[AUTH_DIGEST_HEX_SIZE];
    struct db_result *r = NULL;
    enum http_auth_result result = HTTP_AUTH_INVALID;

    memset(out, 0, sizeof(*out));
    /* Not even the shape of a token: no need to ask the database. */
    if (auth_token_digest(token, digest) == -1)
        return HTTP_AUTH_INVALID;
    const char *params[] = { digest };
    enum db_status s = db_exec(db, &SQL_SESSION_RESOLVE, 1, params, &r);
    if (s != DB_OK) {
        result = HTTP_AUTH_UNAVAILABLE;
        goto out;
    }
    if (db_result_rows(r) != 1)
        goto out;
    if (via_cookie && unsafe) {
        /*
         * A cookie rides along with any request the browser makes, also one
         * a foreign page triggers; only our own page can read the CSRF token.
         */
        if (csrf == NULL || auth_token_digest(csrf, csrf_digest) == -1 ||
            !auth_digest_equal(csrf_digest, db_result_value(r, 0, 3))) {
            result = HTTP_AUTH_CSRF;
            goto out;
        }
    }
    out->authenticated = true;
    out->via_cookie = via_cookie;
    out->admin = strcmp(db_result_value(r, 0, 2), "t") == 0;
    snprintf(out->session_id, sizeof(out->session_id), "%s", db_result_value(r, 0, 0));
    snprintf(out->user_id, sizeof(out->user_id), "%s", db_result_value(r, 0, 1));
    if (via_cookie && auth_csrf_token(token, out->csrf_token) == -1)
        out->csrf_token[0] = '\0';
    result = HTTP_AUTH_OK;
out:
    db_result_free(r);
    auth_wipe(digest, sizeof(digest));
    auth_wipe(csrf_digest, sizeof(csrf_digest));
    return result;
}
