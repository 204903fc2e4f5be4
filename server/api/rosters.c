/*
 * rosters.c: an offering's roster (JSON pages, or the whole of it as CSV)
 * and its waitlist, for the course's directors and admins. Every read is
 * audited by the SQL that makes it (who, which offering, how many rows).
 */
#include "registrar/api.h"

#include "registrar/csv.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* roster_read (0014): roster() of 0004 with search, sort, the page count and the totals. */
static const struct db_stmt SQL_ROSTER = { "roster_read",
    "select registrar.roster_read($1::uuid, $2::boolean, $3::uuid, $4::text[], $5, $6,"
    " $7::integer, $8, $9)",
    0 };
static const struct db_stmt SQL_WAITLIST = { "waitlist",
    "select registrar.waitlist($1::uuid, $2::boolean, $3::uuid, $4::integer, $5)", 0 };

static const char *const ROSTER_STATUSES[] = { "applied", "held", "confirmed", "waitlisted",
    "rejected", "cancelled", "expired", NULL };

void rosters_register(void)
{
    db_stmts_register(&SQL_ROSTER, 1);
    db_stmts_register(&SQL_WAITLIST, 1);
}

/* Whether the client asked for CSV: ?format=csv, or Accept naming text/csv. */
static int rosters_want_csv_or_reply(struct http_req *req, bool *csv)
{
    const char *format = http_req_query(req, "format");
    const char *accept = http_req_header(req, "Accept");

    *csv = false;
    if (format != NULL) {
        if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
            http_reply_invalid_field(req, "format", "must be csv or json");
            return -1;
        }
        *csv = strcmp(format, "csv") == 0;
        return 0;
    }
    *csv = accept != NULL && strstr(accept, "text/csv") != NULL;
    return 0;
}

/*
 * `status`: a comma-separated list of enrollment statuses, or "all";
 * absent gives NULL (held and confirmed). *out is a malloc'd SQL array
 * literal.
 */
static int rosters_statuses_or_reply(struct http_req *req, char **out)
{
    const char *v = http_req_query(req, "status");
    struct sbuf sb = SBUF_INIT;

    *out = NULL;
    if (v == NULL || v[0] == '\0')
        return 0;
    sbuf_addc(&sb, '{');
    if (strcmp(v, "all") == 0) {
        for (const char *const *s = ROSTER_STATUSES; *s != NULL; s++)
            sbuf_addf(&sb, "%s%s", s == ROSTER_STATUSES ? "" : ",", *s);
    } else {
        const char *p = v;
        bool first = true;
        while (*p != '\0') {
            size_t n = strcspn(p, ",");
            bool known = false;
            for (const char *const *s = ROSTER_STATUSES; *s != NULL; s++)
                if (strlen(*s) == n && strncmp(*s, p, n) == 0)
                    known = true;
            if (!known) {
                sbuf_release(&sb);
                http_reply_invalid_field(req, "status",
                    "must list statuses among applied, held, confirmed, waitlisted, rejected, cancelled, expired, or be all");
                return -1;
            }
            sbuf_addf(&sb, "%s%.*s", first ? "" : ",", (int)n, p);
            first = false;
            p += n;
            if (*p == ',')
                p++;
        }
    }
    sbuf_addc(&sb, '}');
    *out = sbuf_detach(&sb, NULL);
    return 0;
}

/* `q` (a name or email substring, one line of text) and `sort`. */
static int rosters_search_or_reply(struct http_req *req, const char **q, const char **sort)
{
    static const char *const sorts[] = { "registered", "name", "email", "status", NULL };

    *q = http_req_query(req, "q");
    *sort = http_req_query(req, "sort");
    if (*q != NULL) {
        const char *why = api_text_problem(*q, API_TEXT);
        if (why != NULL || strlen(*q) > 200) {
            http_reply_invalid_field(
                req, "q", why != NULL ? why : "must be at most 200 characters");
            return -1;
        }
    }
    if (*sort != NULL) {
        for (const char *const *s = sorts; *s != NULL; s++)
            if (strcmp(*s, *sort) == 0)
                return 0;
        http_reply_invalid_field(req, "sort", "must be one of registered, name, email, status");
        return -1;
    }
    return 0;
}

static const char *rosters_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static long long rosters_int(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* The roster as RFC 4180 CSV: one row per enrollment, a header row first. */
static char *rosters_csv(json_t *roster, size_t *len)
{
    static const char *const header[] = { "enrollment_id", "status", "full_name", "email",
        "profession", "credentials", "institution", "registered_at", "price_cents",
        "discount_cents", "paid_cents", "currency", "hold_expires_at", "sessions",
        "attended_hours" };
    struct csv w;
    size_t i;
    json_t *item;

    csv_init(&w);
    for (size_t k = 0; k < UTIL_ARRAY_LEN(header); k++)
        csv_text(&w, header[k]);
    csv_end_row(&w);
    json_array_foreach(json_object_get(roster, "items"), i, item)
    {
        json_t *e = json_object_get(item, "enrollment");
        json_t *u = json_object_get(item, "learner");
        struct sbuf sessions = SBUF_INIT;
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(item, "sessions"), k, s)
            sbuf_addf(&sessions, "%s%s", k == 0 ? "" : "; ", rosters_str(s, "title"));
        char *hours = json_dumps(json_object_get(item, "attended_hours"), JSON_ENCODE_ANY);

        csv_text(&w, rosters_str(e, "id"));
        csv_text(&w, rosters_str(e, "status"));
        csv_text(&w, rosters_str(u, "full_name"));
        csv_text(&w, rosters_str(u, "email"));
        csv_text(&w, rosters_str(u, "profession"));
        csv_text(&w, rosters_str(u, "credentials"));
        csv_text(&w, rosters_str(u, "institution"));
        csv_text(&w, rosters_str(e, "created_at"));
        csv_int(&w, rosters_int(e, "price_cents"));
        csv_int(&w, rosters_int(e, "discount_cents"));
        csv_int(&w, rosters_int(e, "paid_cents"));
        csv_text(&w, rosters_str(e, "currency"));
        csv_text(&w, rosters_str(e, "hold_expires_at"));
        csv_text(&w, sessions.buf);
        csv_text(&w, hours);
        csv_end_row(&w);
        free(hours);
        sbuf_release(&sessions);
    }
    return csv_detach(&w, len);
}

void rosters_get(struct http_req *req)
{
    const char *offering, *cursor = NULL, *q, *sort;
    int limit = 0;
    bool csv;
    char limit_text[16];
    char *statuses = NULL, *text = NULL;
    json_t *roster = NULL;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1 ||
        rosters_want_csv_or_reply(req, &csv) == -1 ||
        rosters_statuses_or_reply(req, &statuses) == -1)
        return;
    if (rosters_search_or_reply(req, &q, &sort) == -1)
        goto out;
    if (!csv && (api_limit_or_reply(req, &limit) == -1 || api_cursor_or_reply(req, &cursor) == -1))
        goto out;
    snprintf(limit_text, sizeof(limit_text), "%d", limit);
    const char *params[] = { api_viewer(req), api_admin_text(req), offering, statuses, q, sort,
        csv ? NULL : limit_text, cursor, csv ? "csv" : "json" };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_ROSTER, 9, params, &text);
    if (s == DB_INVALID_INPUT) {
        http_reply_invalid_field(req, "cursor", "is not a cursor this server gave out");
        goto out;
    }
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    if (!csv) {
        http_reply_json_text(req, 200, text);
        text = NULL;
        goto out;
    }
    roster = json_loads(text, 0, NULL);
    if (roster == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    size_t len;
    char *body = rosters_csv(roster, &len);
    char *disposition = xasprintf("attachment; filename=\"roster-%s.csv\"", offering);
    http_reply_body(req, 200, "text/csv; charset=utf-8", body, len);
    http_reply_header(req, "Content-Disposition", disposition);
    free(disposition);
out:
    json_decref(roster);
    free(text);
    free(statuses);
}

void rosters_waitlist(struct http_req *req)
{
    const char *offering;
    struct api_page page;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1 || api_page_or_reply(req, &page) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), offering, page.limit,
        page.cursor };
    api_reply_sql_page(req, &SQL_WAITLIST, 5, params);
}
