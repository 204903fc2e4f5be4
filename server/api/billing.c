/*
 * billing.c (api): receipts and invoices as PDFs, offline and
 * institutional payment, refunds by an admin without cancelling.
 *
 * Numbers (R-<year>-<n>, INV-<year>-<n>), receipts and the messages that
 * go with them are made by the SQL of schema/0011 in the same transaction
 * as the money moves; this file only asks and draws.
 */
#include "registrar/api.h"

#include "registrar/log.h"
#include "registrar/metrics.h"
#include "registrar/payments.h"
#include "registrar/pdf.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt SQL_RECEIPT = { "billing_receipt",
    "select registrar.receipt_document($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_INVOICE = { "billing_invoice",
    "select registrar.invoice_document($1::uuid, $2::boolean, $3::uuid)", DB_RETRY_SAFE };
static const struct db_stmt SQL_OFFLINE = { "billing_offline",
    "select registrar.offline_payment_record($1::uuid, $2::boolean, $3::uuid, $4, $5::integer, $6)",
    0 };
static const struct db_stmt SQL_INVOICE_CREATE = { "billing_invoice_create",
    "select registrar.invoice_create($1::uuid, $2::boolean, $3::uuid, $4, $5, $6, $7::date)", 0 };
static const struct db_stmt SQL_GROUP_OFFLINE = { "billing_group_offline",
    "select registrar.group_offline_payment_record($1::uuid, $2::boolean, $3::uuid, $4, "
    "$5::integer, $6)",
    0 };
static const struct db_stmt SQL_GROUP_INVOICE_CREATE = { "billing_group_invoice_create",
    "select registrar.group_invoice_create($1::uuid, $2::boolean, $3::uuid, $4, $5, $6, $7::date)",
    0 };
static const struct db_stmt SQL_REFUND_CREATE = { "billing_refund_create",
    "select registrar.refund_create($1::uuid, $2::uuid, $3::integer, $4)", 0 };
static const struct db_stmt SQL_REFUND_SETTLE = { "billing_refund_settle",
    "select registrar.refund_settle($1::uuid, $2::boolean, $3)", DB_RETRY_SAFE };

struct billing_centre {
    char *name, *address, *tax_id;
};
static struct billing_centre billing_the_centre;

void billing_configure(const char *name, const char *address, const char *tax_id)
{
    free(billing_the_centre.name);
    free(billing_the_centre.address);
    free(billing_the_centre.tax_id);
    billing_the_centre.name = xstrdup(name != NULL ? name : "");
    billing_the_centre.address = xstrdup(address != NULL ? address : "");
    billing_the_centre.tax_id = xstrdup(tax_id != NULL ? tax_id : "");
}

void billing_register(void)
{
    db_stmts_register(&SQL_RECEIPT, 1);
    db_stmts_register(&SQL_INVOICE, 1);
    db_stmts_register(&SQL_OFFLINE, 1);
    db_stmts_register(&SQL_INVOICE_CREATE, 1);
    db_stmts_register(&SQL_GROUP_OFFLINE, 1);
    db_stmts_register(&SQL_GROUP_INVOICE_CREATE, 1);
    db_stmts_register(&SQL_REFUND_CREATE, 1);
    db_stmts_register(&SQL_REFUND_SETTLE, 1);
}

static const char *billing_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* The centre's letterhead, at the top of every document. */
static void billing_letterhead(struct pdf_doc *d)
{
    const struct billing_centre *c = &billing_the_centre;

    pdf_text(
        d, PDF_HEADING, PDF_LEFT, c->name != NULL && c->name[0] != '\0' ? c->name : "Registrar");
    pdf_text(d, PDF_BODY, PDF_LEFT, c->address);
    if (c->tax_id != NULL && c->tax_id[0] != '\0') {
        char *line = xasprintf("Tax id: %s", c->tax_id);
        pdf_text(d, PDF_BODY, PDF_LEFT, line);
        free(line);
    }
    pdf_gap(d, 18);
}

/* The learner and the course, as both documents show them. */
static void billing_learner_course(struct pdf_doc *d, json_t *doc)
{
    json_t *learner = json_object_get(doc, "learner");
    char *dates = xasprintf("%s to %s", billing_str(doc, "starts_on"), billing_str(doc, "ends_on"));

    pdf_pair(d, "Learner", billing_str(learner, "full_name"));
    pdf_pair(d, "Email", billing_str(learner, "email"));
    if (billing_str(learner, "institution")[0] != '\0')
        pdf_pair(d, "Institution", billing_str(learner, "institution"));
    pdf_pair(d, "Course", billing_str(doc, "course"));
    pdf_pair(d, "Offering", billing_str(doc, "offering"));
    pdf_pair(d, "Dates", dates);
    if (billing_str(doc, "venue")[0] != '\0')
        pdf_pair(d, "Venue", billing_str(doc, "venue"));
    free(dates);
}

/* A group invoice's coordinator, course and one line per member billed. */
static void billing_group_members(struct pdf_doc *d, json_t *doc)
{
    json_t *coordinator = json_object_get(doc, "coordinator");
    json_t *member;
    size_t i;
    char *dates = xasprintf("%s to %s", billing_str(doc, "starts_on"), billing_str(doc, "ends_on"));

    if (billing_str(coordinator, "full_name")[0] != '\0')
        pdf_pair(d, "Group of", billing_str(coordinator, "full_name"));
    pdf_pair(d, "Course", billing_str(doc, "course"));
    pdf_pair(d, "Offering", billing_str(doc, "offering"));
    pdf_pair(d, "Dates", dates);
    if (billing_str(doc, "venue")[0] != '\0')
        pdf_pair(d, "Venue", billing_str(doc, "venue"));
    pdf_gap(d, 12);
    pdf_text(d, PDF_HEADING, PDF_LEFT, "Participants");
    json_array_foreach(json_object_get(doc, "members"), i, member)
    {
        char *label =
            xasprintf("%s (%s)", billing_str(member, "full_name"), billing_str(member, "email"));
        pdf_pair(d, label, billing_str(member, "amount"));
        free(label);
    }
    free(dates);
}

/* A PDF reply, shown inline under its number. Takes bytes. */
static void billing_reply_pdf(struct http_req *req, const char *number, char *bytes, size_t len)
{
    char disposition[128];

    if (bytes == NULL) {
        log_msg(LOG_ERROR, "a document could not be drawn");
        http_reply_problem(req, 500, "internal", NULL);
        return;
    }
    snprintf(disposition, sizeof(disposition), "inline; filename=\"%s.pdf\"", number);
    http_reply_body(req, 200, "application/pdf", bytes, len);
    http_reply_header(req, "Content-Disposition", disposition);
}

/* Reads a document's JSON from stmt(viewer, admin, id); NULL when it has replied. */
static json_t *billing_document_or_reply(struct http_req *req, const struct db_stmt *stmt)
{
    const char *id;
    char *text = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1)
        return NULL;
    const char *params[] = { api_viewer(req), api_admin_text(req), id };
    enum db_status s = db_exec_value(http_req_db(req), stmt, 3, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        return NULL;
    }
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    if (doc == NULL)
        http_reply_problem(req, 500, "internal", NULL);
    return doc;
}

void billing_receipt_get(struct http_req *req)
{
    json_t *doc = billing_document_or_reply(req, &SQL_RECEIPT);
    size_t len = 0, i;
    json_t *refund;

    if (doc == NULL)
        return;
    const char *number = billing_str(doc, "number");
    char *title = xasprintf("Receipt %s", number);
    struct pdf_doc *d = pdf_doc_new(PDF_A4, title);
    billing_letterhead(d);
    pdf_text(d, PDF_TITLE, PDF_LEFT, "Receipt");
    pdf_pair(d, "Receipt number", number);
    pdf_pair(d, "Issued on", billing_str(doc, "issued_on"));
    pdf_rule(d);
    billing_learner_course(d, doc);
    pdf_rule(d);
    pdf_pair(d, "Amount paid", billing_str(doc, "amount"));
    pdf_pair(d, "Method", billing_str(doc, "method"));
    if (billing_str(doc, "reference")[0] != '\0')
        pdf_pair(d, "Reference", billing_str(doc, "reference"));
    pdf_pair(d, "Paid at", billing_str(doc, "paid_at"));
    json_t *refunds = json_object_get(doc, "refunds");
    if (json_array_size(refunds) > 0) {
        pdf_gap(d, 12);
        pdf_text(d, PDF_HEADING, PDF_LEFT, "Refunds");
        json_array_foreach(refunds, i, refund)
        {
            char *line = xasprintf("%s on %s (receipt %s)", billing_str(refund, "amount"),
                billing_str(refund, "on"), billing_str(refund, "number"));
            pdf_pair(d, "Refunded", line);
            free(line);
        }
    }
    pdf_gap(d, 24);
    pdf_text(d, PDF_SMALL, PDF_LEFT, "Thank you. Keep this receipt for your records.");
    char *bytes = pdf_doc_finish(d, &len);
    billing_reply_pdf(req, number, bytes, len);
    free(title);
    json_decref(doc);
}

void billing_invoice_get(struct http_req *req)
{
    json_t *doc = billing_document_or_reply(req, &SQL_INVOICE);
    size_t len = 0;

    if (doc == NULL)
        return;
    const char *number = billing_str(doc, "number");
    const char *currency = billing_str(doc, "currency");
    json_t *bill_to = json_object_get(doc, "bill_to");
    char *title = xasprintf("Invoice %s", number);
    char *amount = xasprintf("%s %lld.%02lld", currency,
        (long long)json_integer_value(json_object_get(doc, "amount_cents")) / 100,
        (long long)json_integer_value(json_object_get(doc, "amount_cents")) % 100);
    char *owed = xasprintf("%s %lld.%02lld", currency,
        (long long)json_integer_value(json_object_get(doc, "owed_cents")) / 100,
        (long long)json_integer_value(json_object_get(doc, "owed_cents")) % 100);
    struct pdf_doc *d = pdf_doc_new(PDF_A4, title);
    billing_letterhead(d);
    pdf_text(d, PDF_TITLE, PDF_LEFT, "Invoice");
    pdf_pair(d, "Invoice number", number);
    pdf_pair(d, "Issued on", billing_str(doc, "issued_on"));
    pdf_pair(d, "Due on", billing_str(doc, "due_on"));
    pdf_rule(d);
    pdf_text(d, PDF_HEADING, PDF_LEFT, "Bill to");
    pdf_text(d, PDF_BODY, PDF_LEFT, billing_str(bill_to, "name"));
    pdf_text(d, PDF_BODY, PDF_LEFT, billing_str(bill_to, "address"));
    pdf_text(d, PDF_BODY, PDF_LEFT, billing_str(bill_to, "email"));
    pdf_rule(d);
    if (json_object_get(doc, "group_id") != NULL)
        billing_group_members(d, doc);
    else
        billing_learner_course(d, doc);
    pdf_rule(d);
    pdf_pair(d, "Amount", amount);
    pdf_pair(d, "Still owed", owed);
    pdf_pair(d, "Status", strcmp(billing_str(doc, "status"), "paid") == 0 ? "Paid" : "Open");
    pdf_gap(d, 24);
    pdf_text(d, PDF_SMALL, PDF_LEFT, "Please quote the invoice number with your payment.");
    char *bytes = pdf_doc_finish(d, &len);
    billing_reply_pdf(req, number, bytes, len);
    free(owed);
    free(amount);
    free(title);
    json_decref(doc);
}

static const char *const billing_methods[] = { "cheque", "wire", "purchase_order", "waived", NULL };

const struct api_field billing_offline_fields[] = {
    { "method", API_T_ENUM, API_REQUIRED, 0, 0, billing_methods, NULL, 0, 0 },
    { "amount_cents", API_T_INT, API_REQUIRED, 1, 100000000, NULL, NULL, 0, 0 },
    { "reference", API_T_STRING, API_NULLABLE | API_TEXT, 0, 200, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

void billing_offline_create(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *id;
    char amount[24];

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_check_or_reply(req, body, billing_offline_fields, "", true) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id,
        api_body_string(body, "method"), api_body_int_text(body, "amount_cents", amount),
        api_body_string(body, "reference") };
    api_reply_sql(req, &SQL_OFFLINE, 6, params, 201);
}

static const struct api_field billing_bill_to_fields[] = {
    { "name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 200, NULL, NULL, 0, 0 },
    { "address", API_T_STRING, API_REQUIRED | API_MULTILINE, 1, 1000, NULL, NULL, 0, 0 },
    { "email", API_T_EMAIL, API_REQUIRED, 3, 254, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

const struct api_field billing_invoice_fields[] = {
    { "bill_to", API_T_OBJECT, API_REQUIRED, 0, 0, NULL, billing_bill_to_fields, 0, 0 },
    { "due_on", API_T_DATE, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/* An invoice to bill_to, due on due_on, for the registration or group in the path. */
static void billing_invoice_reply(
    struct http_req *req, const struct api_field *fields, const struct db_stmt *stmt)
{
    json_t *body = http_req_json(req);
    const char *id;

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_check_or_reply(req, body, fields, "", true) == -1)
        return;
    json_t *bill_to = json_object_get(body, "bill_to");
    const char *params[] = { api_viewer(req), api_admin_text(req), id,
        api_body_string(bill_to, "name"), api_body_string(bill_to, "address"),
        api_body_string(bill_to, "email"), api_body_string(body, "due_on") };
    api_reply_sql(req, stmt, 7, params, 201);
}

void billing_invoice_create(struct http_req *req)
{
    billing_invoice_reply(req, billing_invoice_fields, &SQL_INVOICE_CREATE);
}

void billing_group_offline_create(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *id;
    char amount[24];

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_check_or_reply(req, body, billing_offline_fields, "", true) == -1)
        return;
    const char *params[] = { api_viewer(req), api_admin_text(req), id,
        api_body_string(body, "method"), api_body_int_text(body, "amount_cents", amount),
        api_body_string(body, "reference") };
    api_reply_sql(req, &SQL_GROUP_OFFLINE, 6, params, 201);
}

/* A group's invoice goes to the group's bill_to unless the body names another. */
const struct api_field billing_group_invoice_fields[] = {
    { "bill_to", API_T_OBJECT, 0, 0, 0, NULL, billing_bill_to_fields, 0, 0 },
    { "due_on", API_T_DATE, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

void billing_group_invoice_create(struct http_req *req)
{
    billing_invoice_reply(req, billing_group_invoice_fields, &SQL_GROUP_INVOICE_CREATE);
}

const struct api_field billing_refund_fields[] = {
    { "amount_cents", API_T_INT, API_REQUIRED, 1, 100000000, NULL, NULL, 0, 0 },
    { "reason", API_T_STRING, API_REQUIRED | API_TEXT, 1, 500, NULL, NULL, 0, 0 },
    { NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 },
};

/*
 * The refund is recorded (and the amount taken out of what can still be
 * refunded) first; then the processor is asked, with the refund's id as
 * its idempotency reference, as the jobs thread asks again when the
 * processor did not answer.
 */
void billing_refund_create(struct http_req *req)
{
    json_t *body = http_req_json(req);
    const char *id;
    char amount[24];
    char *text = NULL, *ref = NULL;
    json_t *res = NULL;

    if (api_uuid_param_or_reply(req, "id", &id) == -1 ||
        api_fields_check_or_reply(req, body, billing_refund_fields, "", true) == -1)
        return;
    const char *params[] = { api_viewer(req), id, api_body_int_text(body, "amount_cents", amount),
        api_body_string(body, "reason") };
    enum db_status s = db_exec_value(http_req_db(req), &SQL_REFUND_CREATE, 4, params, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s);
        goto out;
    }
    res = json_loads(text, 0, NULL);
    json_t *refund = json_object_get(res, "refund");
    const char *refund_id = json_string_value(json_object_get(refund, "id"));
    const char *status = json_string_value(json_object_get(refund, "status"));
    if (refund_id == NULL || status == NULL) {
        http_reply_problem(req, 500, "internal", NULL);
        goto out;
    }
    if (strcmp(status, "pending") != 0) {
        http_reply_json(req, 201, json_pack("{s:O}", "refund", refund));
        goto out;
    }
    const struct payments_processor *proc =
        payments_processor_find(json_string_value(json_object_get(res, "processor")));
    struct payments_result r = { .outcome = PAYMENTS_INVALID };
    ref = xasprintf("%s:refund", refund_id);
    struct payments_refund rf = { json_string_value(json_object_get(res, "processor_ref")),
        json_integer_value(json_object_get(refund, "amount_cents")), ref };
    if (proc != NULL && proc->refund(&rf, &r) == -1)
        r.outcome = PAYMENTS_INVALID;
    if (r.outcome == PAYMENTS_UNAVAILABLE) {
        /* Left pending: the jobs thread asks again (refunds_pending). */
        metrics_count("registrar_payments_total", "Processor calls by outcome.",
            "status=\"refund_unavailable\"", 1);
        http_reply_json(req, 201, json_pack("{s:O}", "refund", refund));
        goto out;
    }
    bool ok = r.outcome == PAYMENTS_SUCCEEDED;
    metrics_count("registrar_payments_total", "Processor calls by outcome.",
        ok ? "status=\"refunded\"" : "status=\"refund_failed\"", 1);
    free(text);
    text = NULL;
    const char *settle[] = { refund_id, ok ? "true" : "false", ok ? r.processor_ref : NULL };
    s = db_exec_value(http_req_db(req), &SQL_REFUND_SETTLE, 3, settle, &text);
    if (s != DB_OK) {
        api_reply_db_error(req, s == DB_NOT_FOUND ? DB_ERROR : s);
        goto out;
    }
    http_reply_json_text(req, 201, text);
    text = NULL;
out:
    json_decref(res);
    free(ref);
    free(text);
}
