/*
 * credits.c: after the course. Evaluation forms and responses, credit
 * claims, certificates (PDF, drawn with pdf.h) and their public check,
 * transcripts, the completion view and the ACCME activity report. Who may
 * call each is checked by the SQL that reads the object (schema/0013); the
 * rules of credit (steps, caps, professions) live there only.
 */
#include "registrar/api.h"

#include "registrar/auth.h"
#include "registrar/csv.h"
#include "registrar/pdf.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of a certificate's verification code (schema/0013's check). */
#define CREDITS_CODE_LEN 12

static const struct db_stmt SQL_FORM_GET = { "credits_form_get",
    "select registrar.evaluation_form_get($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_FORM_PUT = { "credits_form_put",
    "select registrar.evaluation_form_put($1::uuid, $2::boolean, $3::uuid, $4::jsonb)", 0 };
static const struct db_stmt SQL_EVALUATE = { "credits_evaluate",
    "select registrar.evaluation_submit($1::uuid, $2::uuid, $3::jsonb, $4::numeric)", 0 };
static const struct db_stmt SQL_EVALUATIONS = { "credits_evaluations",
    "select registrar.evaluations_report($1::uuid, $2::boolean, $3::uuid)", 0 };
static const struct db_stmt SQL_CERTIFICATE = { "credits_certificate",
    "select registrar.certificate_issue($1::uuid, $2::boolean, $3::uuid, $4)", 0 };
static const struct db_stmt SQL_VERIFY_LIMIT = { "credits_verify_limit",
    "select registrar.rate_limit_take('certificate-verify',"
    " registrar.address_key(nullif($1, '')::inet)::text, $2::integer, 3600)",
    0 };
static const struct db_stmt SQL_VERIFY = { "credits_verify",
    "select registrar.certificate_verify($1)", DB_RETRY_SAFE };
static const struct db_stmt SQL_CERTIFICATES = { "credits_certificates",
    "select registrar.offering_certificates($1::uuid, $2::boolean, $3::uuid)", 0 };
static const struct db_stmt SQL_TRANSCRIPT = { "credits_transcript",
    "select registrar.transcript($1::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_COMPLETION = { "credits_completion",
    "select registrar.offering_completion($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_ACCME = { "credits_accme",
    "select registrar.accme_report($1::uuid, $2::boolean, $3::uuid)", 0 };

static struct {
    enum pdf_paper paper;
    char verify_limit[16];
} credits_settings = { PDF_A4, "60" };

void credits_configure(bool letter, unsigned verify_limit)
{
    credits_settings.paper = letter ? PDF_LETTER : PDF_A4;
    snprintf(
        credits_settings.verify_limit, sizeof(credits_settings.verify_limit), "%u", verify_limit);
}

void credits_register(void)
{
    db_stmts_register(&SQL_FORM_GET, 1);
    db_stmts_register(&SQL_FORM_PUT, 1);
    db_stmts_register(&SQL_EVALUATE, 1);
    db_stmts_register(&SQL_EVALUATIONS, 1);
    db_stmts_register(&SQL_CERTIFICATE, 1);
    db_stmts_register(&SQL_VERIFY_LIMIT, 1);
    db_stmts_register(&SQL_VERIFY, 1);
    db_stmts_register(&SQL_CERTIFICATES, 1);
    db_stmts_register(&SQL_TRANSCRIPT, 1);
    db_stmts_register(&SQL_COMPLETION, 1);
    db_stmts_register(&SQL_ACCME, 1);
}

static const char *const CREDITS_KINDS[] = { "rating", "text", "choice", NULL };

static const struct api_field credits_question_fields[] = {
    { "id", API_T_STRING, API_REQUIRED | API_CODE, 1, 64, NULL, NULL, 0, 0 },
    { "kind", API_T_ENUM, API_REQUIRED, 0, 0, CREDITS_KINDS, NULL, 0, 0 },
    { "text", API_T_STRING, API_REQUIRED | API_TEXT, 1, 500, NULL, NULL, 0, 0 },
    { "required", API_T_BOOL, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { "choices", API_T_STRINGS, API_NULLABLE | API_TEXT, 2, 20, NULL, NULL, 1, 200 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field credits_form_fields[] = {
    { "questions", API_T_OBJECTS, API_REQUIRED, 1, 50, NULL, credits_question_fields, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field credits_evaluation_fields[] = {
    { "answers", API_T_MAP, API_REQUIRED | API_MULTILINE, 0, 50, NULL, NULL, 0, 4000 },
    { "claimed_hours", API_T_NUMBER, API_REQUIRED, 0, 9999, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* `?format=`: json (default) or csv; anything else is a 400. */
static int credits_want_csv_or_reply(struct http_req *req, bool *csv)
{
    const char *format = http_req_query(req, "format");

    *csv = false;
    if (format == NULL || strcmp(format, "json") == 0)
        return 0;
    if (strcmp(format, "csv") == 0) {
        *csv = true;
        return 0;
    }
    http_reply_invalid_field(req, "format", "must be csv or json");
    return -1;
}

/* Whether Accept names application/pdf. */
static bool credits_want_pdf(struct http_req *req)
{
    const char *accept = http_req_header(req, "Accept");
    return accept != NULL && strstr(accept, "application/pdf") != NULL;
}

/*
 * Runs stmt (one JSON value) and parses it: the value, or NULL after
 * queueing the problem (null from SQL is a 404).
 */
static json_t *credits_sql_json_or_reply(
    struct http_req *req, const struct db_stmt *stmt, int nparams, const char *const *params)
{
    char *text = NULL;
    enum db_status s = db_exec_value(http_req_db(req), stmt, nparams, params, &text);

    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return NULL;
    }
    json_t *v = json_loads(text, 0, NULL);
    free(text);
    if (v == NULL)
        http_reply_problem(req, 500, "internal", NULL);
    return v;
}

static const char *credits_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* A number member as text ("1.5"), malloc'd; "" for anything else. */
static char *credits_num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return xasprintf("%g", json_real_value(v));
    return xstrdup("");
}

static void credits_reply_pdf(
    struct http_req *req, char *bytes, size_t len, const char *filename, const char *name)
{
    if (bytes == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        return;
    }
    char *disposition = xasprintf("inline; filename=\"%s-%s.pdf\"", filename, name);
    http_reply_body(req, 200, "application/pdf", bytes, len);
    http_reply_header(req, "Content-Disposition", disposition);
    free(disposition);
}

/* "2027-03-15" or "2027-03-15 to 2027-03-17". */
static char *credits_dates(json_t *cert)
{
    const char *from = credits_str(cert, "starts_on"), *to = credits_str(cert, "ends_on");
    if (strcmp(from, to) == 0)
        return xstrdup(from);
    return xasprintf("%s to %s", from, to);
}

/* One certificate on the current page of d. */
static void credits_draw_certificate(struct pdf_doc *d, json_t *cert)
{
    char *dates = credits_dates(cert);
    char *credits = credits_num(cert, "credits");
    char *award = xasprintf("%s %s", credits, credits_str(cert, "credit_type"));
    char *when = xasprintf("%s%s%s", dates, credits_str(cert, "venue")[0] != '\0' ? " · " : "",
        credits_str(cert, "venue"));
    char *issued = xasprintf("Issued %.10s", credits_str(cert, "issued_at"));

    pdf_gap(d, 24);
    pdf_text(d, PDF_TITLE, PDF_CENTER, "Certificate of Continuing Education");
    pdf_gap(d, 24);
    pdf_text(d, PDF_BODY, PDF_CENTER, "This certifies that");
    pdf_gap(d, 8);
    pdf_text(d, PDF_LARGE, PDF_CENTER, credits_str(cert, "learner_name"));
    pdf_gap(d, 8);
    pdf_text(d, PDF_BODY, PDF_CENTER, "participated in the live activity");
    pdf_gap(d, 8);
    pdf_text(d, PDF_HEADING, PDF_CENTER, credits_str(cert, "course_title"));
    pdf_text(d, PDF_BODY, PDF_CENTER, credits_str(cert, "offering_title"));
    pdf_text(d, PDF_BODY, PDF_CENTER, when);
    pdf_gap(d, 16);
    pdf_text(d, PDF_BODY, PDF_CENTER, "and was awarded");
    pdf_text(d, PDF_HEADING, PDF_CENTER, award);
    pdf_gap(d, 24);
    pdf_rule(d);
    pdf_gap(d, 8);
    pdf_text(d, PDF_SMALL, PDF_LEFT, credits_str(cert, "accreditation_statement"));
    pdf_gap(d, 6);
    pdf_text(d, PDF_SMALL, PDF_LEFT, credits_str(cert, "designation_statement"));
    pdf_gap(d, 24);
    pdf_text(d, PDF_BODY, PDF_CENTER, "Verification code");
    pdf_text(d, PDF_MONO, PDF_CENTER, credits_str(cert, "verification_code"));
    pdf_text(d, PDF_SMALL, PDF_CENTER, credits_str(cert, "verify_url"));
    pdf_gap(d, 8);
    pdf_text(d, PDF_SMALL, PDF_CENTER, issued);
    free(issued);
    free(when);
    free(award);
    free(credits);
    free(dates);
}

/* ---- evaluation forms ---- */

void credits_form_get(struct http_req *req)
{
    const char *offering;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), offering };
    api_reply_sql(req, &SQL_FORM_GET, 3, params, 200);
}

void credits_form_put(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *offering;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1 ||
        api_fields_check_or_reply(req, body, credits_form_fields, "", true) == -1)
        return;
    char *questions = json_dumps(json_object_get(body, "questions"), JSON_COMPACT);
    const char *params[] = { api_viewer(req), api_admin_text(req), offering, questions };
    api_reply_sql(req, &SQL_FORM_PUT, 4, params, 200);
    free(questions);
}

/* ---- evaluations ---- */

void credits_evaluation_submit(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *enrollment;

    if (api_uuid_param_or_reply(req, "id", &enrollment) == -1 ||
        api_fields_check_or_reply(req, body, credits_evaluation_fields, "", true) == -1)
        return;
    char *answers = json_dumps(json_object_get(body, "answers"), JSON_COMPACT);
    char *claimed = json_dumps(json_object_get(body, "claimed_hours"), JSON_ENCODE_ANY);
    const char *params[] = { api_viewer(req), enrollment, answers, claimed };
    api_reply_sql(req, &SQL_EVALUATE, 4, params, 201);
    free(claimed);
    free(answers);
}

/* The responses as CSV: one row per response, a column per question. */
static char *credits_evaluations_csv(json_t *report, size_t *len)
{
    json_t *questions = json_object_get(report, "questions");
    struct csv w;
    size_t i, k;
    json_t *r, *q;

    csv_init(&w);
    csv_text(&w, "enrollment_id");
    csv_text(&w, "full_name");
    csv_text(&w, "submitted_at");
    csv_text(&w, "claimed_hours");
    json_array_foreach(questions, k, q) csv_text(&w, credits_str(q, "id"));
    csv_end_row(&w);
    json_array_foreach(json_object_get(report, "responses"), i, r)
    {
        json_t *answers = json_object_get(r, "answers");
        char *hours = credits_num(r, "claimed_hours");
        csv_text(&w, credits_str(r, "enrollment_id"));
        csv_text(&w, credits_str(json_object_get(r, "learner"), "full_name"));
        csv_text(&w, credits_str(r, "submitted_at"));
        csv_text(&w, hours);
        free(hours);
        json_array_foreach(questions, k, q)
        {
            json_t *a = json_object_get(answers, credits_str(q, "id"));
            if (json_is_string(a)) {
                csv_text(&w, json_string_value(a));
            } else if (json_is_number(a)) {
                char *n = xasprintf("%g", json_number_value(a));
                csv_text(&w, n);
                free(n);
            } else {
                csv_text(&w, "");
            }
        }
        csv_end_row(&w);
    }
    return csv_detach(&w, len);
}

/*
 * A director's report: the statement's JSON as it is, or with ?format=csv
 * (or Accept: text/csv) the CSV that csv_of draws from it, as an attachment
 * named <file>-<offering>.csv.
 */
static void credits_report_reply(struct http_req *req, const struct db_stmt *stmt, const char *file,
    char *(*csv_of)(json_t *report, size_t *len))
{
    const char *offering;
    bool csv;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1 ||
        credits_want_csv_or_reply(req, &csv) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), offering };
    json_t *report = credits_sql_json_or_reply(req, stmt, 3, params);
    if (report == NULL)
        return;
    if (!csv) {
        http_reply_json(req, 200, report);
        return;
    }
    size_t len;
    char *body = csv_of(report, &len);
    char *disposition = xasprintf("attachment; filename=\"%s-%s.csv\"", file, offering);
    http_reply_body(req, 200, "text/csv; charset=utf-8", body, len);
    http_reply_header(req, "Content-Disposition", disposition);
    free(disposition);
    json_decref(report);
}

void credits_evaluations_get(struct http_req *req)
{
    credits_report_reply(req, &SQL_EVALUATIONS, "evaluations", credits_evaluations_csv);
}

/* ---- certificates ---- */

void credits_certificate_get(struct http_req *req)
{
    const char *enrollment;
    char code[CREDITS_CODE_LEN + 1];

    if (api_uuid_param_or_reply(req, "id", &enrollment) == -1)
        return;
    /* Used only if this is the first issue; SQL keeps the recorded one otherwise. */
    auth_code_new(code, CREDITS_CODE_LEN);
    const char *params[] = { api_viewer(req), api_admin_text(req), enrollment, code };
    json_t *cert = credits_sql_json_or_reply(req, &SQL_CERTIFICATE, 4, params);
    if (cert == NULL)
        return;
    struct pdf_doc *d = pdf_doc_new(credits_settings.paper, "Certificate");
    credits_draw_certificate(d, cert);
    size_t len;
    char *bytes = pdf_doc_finish(d, &len);
    credits_reply_pdf(req, bytes, len, "certificate", credits_str(cert, "verification_code"));
    json_decref(cert);
}

/* A code as the alphabet has it, any case: 12 characters, else no such certificate. */
static bool credits_code_shaped(const char *code)
{
    if (strlen(code) != CREDITS_CODE_LEN)
        return false;
    for (const char *p = code; *p != '\0'; p++) {
        char c = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        if (strchr(AUTH_CODE_ALPHABET, c) == NULL)
            return false;
    }
    return true;
}

void credits_certificate_verify(struct http_req *req)
{
    const char *code = http_req_param(req, "code");
    const char *limit_params[] = { http_req_client_ip(req), credits_settings.verify_limit };

    /* Counted first and committed, shaped or not: guessing costs the same either way. */
    enum db_status s = db_exec(http_req_db(req), &SQL_VERIFY_LIMIT, 2, limit_params, NULL);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return;
    }
    if (code == NULL || !credits_code_shaped(code)) {
        http_reply_problem(req, 404, "not-found", "There is no certificate with this code.");
        return;
    }
    const char *params[] = { code };
    api_reply_sql(req, &SQL_VERIFY, 1, params, 200);
}

void credits_offering_certificates(struct http_req *req)
{
    const char *offering;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), offering };
    json_t *all = credits_sql_json_or_reply(req, &SQL_CERTIFICATES, 3, params);
    if (all == NULL)
        return;
    struct pdf_doc *d = pdf_doc_new(credits_settings.paper, credits_str(all, "title"));
    size_t i;
    json_t *cert;
    json_array_foreach(json_object_get(all, "certificates"), i, cert)
    {
        if (i > 0)
            pdf_page_break(d);
        credits_draw_certificate(d, cert);
    }
    if (json_array_size(json_object_get(all, "certificates")) == 0)
        pdf_text(d, PDF_BODY, PDF_LEFT, "No certificate has been issued for this offering yet.");
    size_t len;
    char *bytes = pdf_doc_finish(d, &len);
    credits_reply_pdf(req, bytes, len, "certificates", offering);
    json_decref(all);
}

/* ---- transcripts, completion, ACCME ---- */

static char *credits_transcript_pdf(json_t *t, size_t *len)
{
    struct pdf_doc *d = pdf_doc_new(credits_settings.paper, "Transcript");
    size_t i;
    const char *key;
    json_t *item, *total;

    pdf_text(d, PDF_TITLE, PDF_LEFT, "Continuing-education transcript");
    pdf_text(d, PDF_LARGE, PDF_LEFT, credits_str(t, "learner_name"));
    pdf_gap(d, 12);
    json_array_foreach(json_object_get(t, "items"), i, item)
    {
        json_t *o = json_object_get(item, "offering");
        char *credits = credits_num(item, "credits");
        char *title = xasprintf("%s: %s", credits_str(o, "course_title"), credits_str(o, "title"));
        char *line = xasprintf("%s to %s · %s %s · code %s", credits_str(o, "starts_on"),
            credits_str(o, "ends_on"), credits, credits_str(item, "credit_type"),
            credits_str(item, "verification_code"));
        pdf_text(d, PDF_HEADING, PDF_LEFT, title);
        pdf_text(d, PDF_BODY, PDF_LEFT, line);
        pdf_gap(d, 6);
        free(line);
        free(title);
        free(credits);
    }
    if (json_array_size(json_object_get(t, "items")) == 0)
        pdf_text(d, PDF_BODY, PDF_LEFT, "No certificate yet.");
    pdf_rule(d);
    pdf_text(d, PDF_HEADING, PDF_LEFT, "Totals");
    json_object_foreach(json_object_get(t, "totals_by_credit_type"), key, total)
    {
        char *n = json_is_integer(total) ? xasprintf("%lld", (long long)json_integer_value(total))
                                         : xasprintf("%g", json_number_value(total));
        pdf_pair(d, key, n);
        free(n);
    }
    return pdf_doc_finish(d, len);
}

void credits_transcript(struct http_req *req)
{
    const char *params[] = { api_viewer(req) };

    if (!credits_want_pdf(req)) {
        api_reply_sql(req, &SQL_TRANSCRIPT, 1, params, 200);
        return;
    }
    json_t *t = credits_sql_json_or_reply(req, &SQL_TRANSCRIPT, 1, params);
    if (t == NULL)
        return;
    size_t len;
    char *bytes = credits_transcript_pdf(t, &len);
    credits_reply_pdf(req, bytes, len, "transcript", api_viewer(req));
    json_decref(t);
}

void credits_completion(struct http_req *req)
{
    const char *offering;

    if (api_uuid_param_or_reply(req, "id", &offering) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), offering };
    api_reply_sql(req, &SQL_COMPLETION, 3, params, 200);
}

/*
 * ACCME's activity row (PARS batch upload columns). Dates as PARS takes
 * them (MM/DD/YYYY); what the database does not hold is left empty.
 */
static char *credits_accme_csv(json_t *a, size_t *len)
{
    static const char *const header[] = { "Activity Title", "Activity Type", "Start Date",
        "End Date", "City", "State", "Country", "AMA PRA Category 1 Credits Designated",
        "Physician Learners", "Other Learners", "Commercial Support Received" };
    struct csv w;
    char from[16] = "", to[16] = "";
    const char *s = credits_str(a, "starts_on"), *e = credits_str(a, "ends_on");

    if (strlen(s) == 10)
        snprintf(from, sizeof(from), "%.2s/%.2s/%.4s", s + 5, s + 8, s);
    if (strlen(e) == 10)
        snprintf(to, sizeof(to), "%.2s/%.2s/%.4s", e + 5, e + 8, e);
    csv_init(&w);
    for (size_t k = 0; k < UTIL_ARRAY_LEN(header); k++)
        csv_text(&w, header[k]);
    csv_end_row(&w);
    char *credits = credits_num(a, "credits_designated");
    json_t *support = json_object_get(a, "commercial_support");
    csv_text(&w, credits_str(a, "title"));
    csv_text(&w, credits_str(a, "format"));
    csv_text(&w, from);
    csv_text(&w, to);
    csv_text(&w, credits_str(a, "city"));
    csv_text(&w, credits_str(a, "state"));
    csv_text(&w, credits_str(a, "country"));
    csv_text(&w, credits);
    csv_int(&w, json_integer_value(json_object_get(a, "physician_learners")));
    csv_int(&w, json_integer_value(json_object_get(a, "other_learners")));
    csv_text(&w, json_is_true(support) ? "Yes" : json_is_false(support) ? "No" : "");
    csv_end_row(&w);
    free(credits);
    return csv_detach(&w, len);
}

static char *credits_accme_report_csv(json_t *report, size_t *len)
{
    return credits_accme_csv(json_object_get(report, "activity"), len);
}

void credits_accme_report(struct http_req *req)
{
    credits_report_reply(req, &SQL_ACCME, "accme", credits_accme_report_csv);
}
