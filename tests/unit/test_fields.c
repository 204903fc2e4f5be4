/*
 * test_fields.c: the field tables (server/api/fields.c), type by type:
 * what passes, what fails, the field path and message of a failure, and
 * what a check leaves in the body (trimmed strings).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "registrar/api.h"

/* Checks the JSON text against the table; returns 0 or -1 and keeps the error. */
static struct api_field_error last;

static int check(const struct api_field *fields, const char *text, bool creating)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

    api_field_error_release(&last);
    assert_non_null(obj);
    int rc = api_fields_check(obj, fields, "", creating, &last);
    json_decref(obj);
    return rc;
}

/* The check fails, naming field, with a message containing part. */
#define assert_bad(fields, text, creating, name, part)             \
    do {                                                           \
        assert_int_equal(check((fields), (text), (creating)), -1); \
        assert_string_equal(last.field, (name));                   \
        assert_non_null(strstr(last.message, (part)));             \
    } while (0)
#define assert_good(fields, text, creating) assert_int_equal(check((fields), (text), (creating)), 0)

#define END                                           \
    {                                                 \
        NULL, API_T_STRING, 0, 0, 0, NULL, NULL, 0, 0 \
    }

static const struct api_field one_datetime[] = {
    { "at", API_T_DATETIME, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    END,
};

static void test_datetime(void **state)
{
    (void)state;
    assert_good(one_datetime, "{\"at\": \"2027-03-15T08:30:00-04:00\"}", true);
    assert_good(one_datetime, "{\"at\": \"2027-03-15T12:30:00Z\"}", true);
    /* The table's min/max (0) are not lengths for times: the expires_at defect. */
    assert_good(one_datetime, "{\"at\": \"  2027-03-15T12:30:00+00:00 \"}", true);
    assert_bad(one_datetime, "{\"at\": \"2027-03-15T08:30:00\"}", true, "at", "RFC 3339");
    assert_bad(one_datetime, "{\"at\": \"2027-02-30T08:30:00Z\"}", true, "at", "RFC 3339");
    assert_bad(one_datetime, "{\"at\": \"tomorrow\"}", true, "at", "RFC 3339");
    assert_bad(one_datetime, "{\"at\": \"\"}", true, "at", "RFC 3339");
    assert_bad(one_datetime, "{\"at\": 1795880435}", true, "at", "must be a string");
    assert_bad(one_datetime, "{\"at\": null}", true, "at", "is required");
    assert_bad(one_datetime, "{}", true, "at", "is required");
    assert_good(one_datetime, "{}", false);
    assert_bad(one_datetime, "{\"at\": null}", false, "at", "must not be null");
}

static const struct api_field one_date[] = {
    { "on", API_T_DATE, API_NULLABLE, 0, 0, NULL, NULL, 0, 0 },
    END,
};

static void test_date(void **state)
{
    (void)state;
    assert_good(one_date, "{\"on\": \"2027-03-15\"}", true);
    assert_good(one_date, "{\"on\": \"2028-02-29\"}", true);
    assert_good(one_date, "{\"on\": null}", true);
    assert_good(one_date, "{}", true);
    assert_bad(one_date, "{\"on\": \"2027-02-29\"}", true, "on", "YYYY-MM-DD");
    assert_bad(one_date, "{\"on\": \"2027-3-15\"}", true, "on", "YYYY-MM-DD");
    assert_bad(one_date, "{\"on\": \"2027-03-15T00:00:00Z\"}", true, "on", "YYYY-MM-DD");
    assert_bad(one_date, "{\"on\": [\"2027-03-15\"]}", true, "on", "must be a string");
}

static const struct api_field ints[] = {
    { "n", API_T_INT, API_REQUIRED, 1, 100, NULL, NULL, 0, 0 },
    { "big", API_T_INT, 0, 0, 100000000, NULL, NULL, 0, 0 },
    END,
};

static void test_int_ranges(void **state)
{
    (void)state;
    assert_good(ints, "{\"n\": 1}", true);
    assert_good(ints, "{\"n\": 100, \"big\": 100000000}", true);
    assert_good(ints, "{\"n\": 50, \"big\": 0}", true);
    assert_bad(ints, "{\"n\": 0}", true, "n", "from 1 to 100");
    assert_bad(ints, "{\"n\": 101}", true, "n", "from 1 to 100");
    assert_bad(ints, "{\"n\": -1}", true, "n", "from 1 to 100");
    assert_bad(ints, "{\"n\": 1.5}", true, "n", "whole number");
    assert_bad(ints, "{\"n\": 2.0}", true, "n", "whole number");
    assert_bad(ints, "{\"n\": \"5\"}", true, "n", "whole number");
    assert_bad(ints, "{\"n\": true}", true, "n", "whole number");
    assert_bad(ints, "{\"n\": 5, \"big\": 100000001}", true, "big", "from 0 to 100000000");
    assert_bad(ints, "{\"n\": 9223372036854775807}", true, "n", "from 1 to 100");
}

static const struct api_field numbers[] = {
    { "hours", API_T_NUMBER, 0, 0, 100, NULL, NULL, 0, 0 },
    END,
};

static void test_numbers_two_decimals(void **state)
{
    (void)state;
    assert_good(numbers, "{\"hours\": 0}", true);
    assert_good(numbers, "{\"hours\": 1.25}", true);
    assert_good(numbers, "{\"hours\": 0.1}", true);
    assert_good(numbers, "{\"hours\": 99.99}", true);
    assert_good(numbers, "{\"hours\": 100}", true);
    assert_good(numbers, "{\"hours\": 2.30}", true);
    assert_bad(numbers, "{\"hours\": 1.125}", true, "hours", "at most two decimals");
    assert_bad(numbers, "{\"hours\": 100.01}", true, "hours", "from 0 to 100");
    assert_bad(numbers, "{\"hours\": -0.25}", true, "hours", "from 0 to 100");
    assert_bad(numbers, "{\"hours\": 1e300}", true, "hours", "from 0 to 100");
    assert_bad(numbers, "{\"hours\": \"1.5\"}", true, "hours", "must be a number");
}

static const struct api_field strings[] = {
    { "name", API_T_STRING, API_REQUIRED, 1, 5, NULL, NULL, 0, 0 },
    { "pw", API_T_STRING, API_NO_TRIM, 3, 4, NULL, NULL, 0, 0 },
    { "exact", API_T_STRING, 0, 2, 2, NULL, NULL, 0, 0 },
    END,
};

static void test_string_lengths_in_code_points(void **state)
{
    (void)state;
    assert_good(strings, "{\"name\": \"a\"}", true);
    assert_good(strings, "{\"name\": \"abcde\"}", true);
    /* Five code points, eleven bytes. */
    assert_good(strings, "{\"name\": \"\u00e9\u00e8\u4e2d\u00ea\u00eb\"}", true);
    assert_good(strings, "{\"name\": \"\U0001F600\"}", true);
    assert_bad(strings, "{\"name\": \"abcdef\"}", true, "name", "must be 1 to 5 characters");
    assert_bad(
        strings, "{\"name\": \"\u00e9\u00e8\u4e2d\u00ea\u00eb\u00e9\"}", true, "name", "1 to 5");
    assert_bad(strings, "{\"name\": \"\"}", true, "name", "must not be empty");
    assert_bad(strings, "{\"name\": 12}", true, "name", "must be a string");
    assert_bad(
        strings, "{\"name\": \"ab\", \"exact\": \"abc\"}", true, "exact", "must be 2 characters");
}

static void test_trimming(void **state)
{
    json_t *obj =
        json_loads("{\"name\": \"  Ann \\t\\n\", \"pw\": \" ab \", \"exact\": \" ab \"}", 0, NULL);
    struct api_field_error err;

    (void)state;
    assert_int_equal(api_fields_check(obj, strings, "", true, &err), 0);
    assert_string_equal(json_string_value(json_object_get(obj, "name")), "Ann");
    assert_string_equal(json_string_value(json_object_get(obj, "pw")), " ab ");
    assert_string_equal(json_string_value(json_object_get(obj, "exact")), "ab");
    json_decref(obj);
    /* Only white space: empty after trimming. */
    assert_bad(strings, "{\"name\": \"   \"}", true, "name", "must not be empty");
    /* Kept as sent, so the spaces count. */
    assert_bad(strings, "{\"name\": \"a\", \"pw\": \"  abc  \"}", true, "pw", "3 to 4");
}

static const char *const colours[] = { "red", "green", NULL };
static const struct api_field enums[] = {
    { "colour", API_T_ENUM, API_REQUIRED, 0, 0, colours, NULL, 0, 0 },
    { "flag", API_T_BOOL, 0, 0, 0, NULL, NULL, 0, 0 },
    END,
};

static void test_enums_and_bools(void **state)
{
    (void)state;
    assert_good(enums, "{\"colour\": \"red\"}", true);
    assert_good(enums, "{\"colour\": \" green \", \"flag\": false}", true);
    assert_bad(enums, "{\"colour\": \"Red\"}", true, "colour", "must be one of red, green");
    assert_bad(enums, "{\"colour\": \"\"}", true, "colour", "must be one of");
    assert_bad(enums, "{\"colour\": 1}", true, "colour", "must be a string");
    assert_bad(enums, "{\"colour\": \"red\", \"flag\": 1}", true, "flag", "true or false");
    assert_bad(enums, "{\"colour\": \"red\", \"flag\": \"true\"}", true, "flag", "true or false");
}

static const struct api_field arrays[] = {
    { "tags", API_T_STRINGS, API_TEXT, 0, 3, NULL, NULL, 1, 4 },
    { "ids", API_T_UUIDS, 0, 0, 2, NULL, NULL, 0, 0 },
    END,
};

static void test_arrays_of_strings(void **state)
{
    json_t *obj = json_loads("{\"tags\": [\" ab \", \"c\"]}", 0, NULL);
    struct api_field_error err;

    (void)state;
    assert_int_equal(api_fields_check(obj, arrays, "", true, &err), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(obj, "tags"), 0)), "ab");
    json_decref(obj);
    assert_good(arrays, "{\"tags\": []}", true);
    assert_good(arrays, "{\"tags\": [\"a\", \"b\", \"c\"]}", true);
    assert_bad(arrays, "{\"tags\": [\"a\", \"b\", \"c\", \"d\"]}", true, "tags", "0 to 3 items");
    assert_bad(arrays, "{\"tags\": [\"a\", \"abcde\"]}", true, "tags[1]", "1 to 4 characters");
    assert_bad(arrays, "{\"tags\": [\"a\", \"\"]}", true, "tags[1]", "must not be empty");
    assert_bad(arrays, "{\"tags\": [\"a\", 2]}", true, "tags[1]", "must be a string");
    assert_bad(arrays, "{\"tags\": [\"a\\u0007\"]}", true, "tags[0]", "control");
    assert_bad(arrays, "{\"tags\": \"a\"}", true, "tags", "must be an array");
    assert_good(arrays, "{\"ids\": [\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\"]}", true);
    assert_bad(arrays, "{\"ids\": [\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\", \"x\"]}", true,
        "ids[1]", "UUID");
    assert_bad(
        arrays, "{\"ids\": [\"3f2504e0-4f89-41d3-9a0c-0305e82c3301}\"]}", true, "ids[0]", "UUID");
}

static const struct api_field part[] = {
    { "name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 10, NULL, NULL, 0, 0 },
    { "starts_on", API_T_DATE, API_REQUIRED, 0, 0, NULL, NULL, 0, 0 },
    END,
};
static const struct api_field nested[] = {
    { "title", API_T_STRING, API_REQUIRED, 1, 10, NULL, NULL, 0, 0 },
    { "parts", API_T_OBJECTS, 0, 1, 3, NULL, part, 0, 0 },
    END,
};

static void test_nested_objects(void **state)
{
    (void)state;
    assert_good(nested,
        "{\"title\": \"t\", \"parts\": [{\"name\": \"P1\", \"starts_on\": "
        "\"2027-03-01\"}]}",
        true);
    assert_bad(nested,
        "{\"title\": \"t\", \"parts\": [{\"name\": \"P1\", \"starts_on\": \"2027-03-01\"},"
        " {\"name\": \"P2\", \"starts_on\": \"2027-13-01\"}]}",
        true, "parts[1].starts_on", "YYYY-MM-DD");
    /* Elements are always checked as created, even in a PATCH. */
    assert_bad(
        nested, "{\"parts\": [{\"name\": \"P1\"}]}", false, "parts[0].starts_on", "is required");
    assert_bad(nested,
        "{\"title\": \"t\", \"parts\": [{\"name\": \"P1\", \"starts_on\": "
        "\"2027-03-01\", \"room\": 1}]}",
        true, "parts[0].room", "is not a field");
    assert_bad(nested, "{\"title\": \"t\", \"parts\": [7]}", true, "parts[0]", "must be an object");
    assert_bad(nested, "{\"title\": \"t\", \"parts\": []}", true, "parts", "1 to 3 items");
    assert_bad(nested,
        "{\"title\": \"t\", \"parts\": [{\"name\": \"a\\u202eb\", "
        "\"starts_on\": \"2027-03-01\"}]}",
        true, "parts[0].name", "bidirectional");
}

static const struct api_field address_fields[] = {
    { "name", API_T_STRING, API_REQUIRED | API_TEXT, 1, 20, NULL, NULL, 0, 0 },
    { "email", API_T_EMAIL, 0, 3, 254, NULL, NULL, 0, 0 },
    END,
};
static const struct api_field with_object[] = {
    { "bill_to", API_T_OBJECT, API_NULLABLE, 0, 0, NULL, address_fields, 0, 0 },
    END,
};

/* One nested object: its members checked as created, paths with a dot, null when nullable. */
static void test_one_object(void **state)
{
    (void)state;
    assert_good(with_object, "{\"bill_to\": {\"name\": \"Ward 4\"}}", true);
    assert_good(with_object, "{\"bill_to\": null}", true);
    assert_good(with_object, "{}", true);
    assert_bad(with_object, "{\"bill_to\": [1]}", true, "bill_to", "must be an object");
    assert_bad(with_object, "{\"bill_to\": {}}", false, "bill_to.name", "is required");
    assert_bad(with_object, "{\"bill_to\": {\"name\": \"x\", \"iban\": 1}}", true, "bill_to.iban",
        "is not a field");
    assert_bad(with_object, "{\"bill_to\": {\"name\": \"x\", \"email\": \"nobody\"}}", true,
        "bill_to.email", "address");
}

static void test_required_vs_patch_and_nullable(void **state)
{
    static const struct api_field t[] = {
        { "title", API_T_STRING, API_REQUIRED, 1, 10, NULL, NULL, 0, 0 },
        { "venue", API_T_STRING, API_NULLABLE, 0, 10, NULL, NULL, 0, 0 },
        { "cap", API_T_INT, API_NULLABLE | API_REQUIRED, 1, 10, NULL, NULL, 0, 0 },
        END,
    };

    (void)state;
    assert_bad(t, "{}", true, "title", "is required");
    assert_bad(t, "{\"title\": \"a\"}", true, "cap", "is required");
    assert_good(t, "{\"title\": \"a\", \"cap\": null}", true);
    assert_good(t, "{\"title\": \"a\", \"venue\": null, \"cap\": 3}", true);
    assert_good(t, "{}", false);
    assert_good(t, "{\"venue\": null}", false);
    assert_bad(t, "{\"title\": null}", false, "title", "must not be null");
    assert_bad(t, "{\"title\": null}", true, "title", "is required");
}

static void test_unknown_fields(void **state)
{
    (void)state;
    assert_bad(strings, "{\"name\": \"a\", \"role\": \"admin\"}", true, "role",
        "is not a field of this request");
    /* Unknown members are refused before anything else, also in a PATCH. */
    assert_bad(strings, "{\"Name\": \"a\"}", false, "Name", "is not a field");
    assert_bad(schedule_token_fields, "{\"x\": 1}", true, "x", "is not a field");
    assert_good(schedule_token_fields, "{}", true);
}

static void test_no_body(void **state)
{
    struct api_field_error err;

    (void)state;
    assert_int_equal(api_fields_check(NULL, enrollments_cancel_fields, "", true, &err), 0);
    assert_int_equal(api_fields_check(NULL, strings, "", true, &err), -1);
    assert_string_equal(err.field, "name");
    api_field_error_release(&err);
}

static const struct api_field texts[] = {
    { "name", API_T_STRING, API_TEXT, 0, 100, NULL, NULL, 0, 0 },
    { "note", API_T_STRING, API_MULTILINE, 0, 100, NULL, NULL, 0, 0 },
    { "raw", API_T_STRING, API_NO_TRIM, 0, 100, NULL, NULL, 0, 0 },
    END,
};

static void test_text_characters(void **state)
{
    (void)state;
    assert_good(texts, "{\"name\": \"Zo\u00eb O'Brien-\u5f20, MD\"}", true);
    assert_good(texts, "{\"name\": \"\u05e9\u05e8\u05d4 \u200f(RN)\u200e\"}", true);
    /* C0, DEL and C1 controls; tab and newline are line breaks in one-line text. */
    assert_bad(texts, "{\"name\": \"a\\u0001b\"}", true, "name", "control characters");
    assert_bad(texts, "{\"name\": \"a\\tb\"}", true, "name", "control characters");
    assert_bad(texts, "{\"name\": \"a\\nBcc: x@y\"}", true, "name", "line breaks");
    assert_bad(texts, "{\"name\": \"a\\rb\"}", true, "name", "control");
    assert_bad(texts, "{\"name\": \"a\\u007fb\"}", true, "name", "control");
    assert_bad(texts, "{\"name\": \"a\\u0085b\"}", true, "name", "control");
    assert_bad(texts, "{\"name\": \"a\\u009bb\"}", true, "name", "control");
    /* Bidirectional embeddings, overrides and isolates. */
    for (unsigned c = 0x202a; c <= 0x202e; c++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"name\": \"a\\u%04xb\"}", c);
        assert_bad(texts, text, true, "name", "bidirectional");
    }
    for (unsigned c = 0x2066; c <= 0x2069; c++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"note\": \"a\\u%04xb\"}", c);
        assert_bad(texts, text, true, "note", "bidirectional");
    }
    assert_bad(texts, "{\"name\": \"a\\u2028b\"}", true, "name", "separators");
    assert_bad(texts, "{\"note\": \"a\\u2029b\"}", true, "note", "separators");
    /* Multi-line: tab and line feed, nothing else. */
    assert_good(texts, "{\"note\": \"line one\\n\\tline two\"}", true);
    assert_bad(texts, "{\"note\": \"a\\r\\nb\"}", true, "note", "tab and line feed are allowed");
    assert_bad(texts, "{\"note\": \"a\\u001bb\"}", true, "note", "control");
    /* Surrounding white space is trimmed first, so a trailing newline is fine. */
    assert_good(texts, "{\"name\": \"Ann\\n\"}", true);
    /* Fields without a text flag take anything (passwords). */
    assert_good(texts, "{\"raw\": \"\\u0001\\u202e\\t\\n\"}", true);
    assert_null(api_text_problem("plain", API_TEXT));
    assert_non_null(api_text_problem("\xc2\x85", API_TEXT));
}

static void test_codes_and_one_of(void **state)
{
    (void)state;
    assert_good(
        enrollments_discount_fields, "{\"code\": \"EARLY-2027\", \"percent_off\": 10}", true);
    assert_bad(enrollments_discount_fields, "{\"code\": \"EARLY\", \"percent_off\": 10}", true,
        "code", "6 to 40");
    assert_bad(enrollments_discount_fields, "{\"code\": \"EARLY 2027\", \"percent_off\": 10}", true,
        "code", "letters, digits");
    assert_bad(enrollments_discount_fields, "{\"code\": \"\u00c9T\u00c92027\", \"percent_off\": 1}",
        true, "code", "letters, digits");
    assert_bad(enrollments_discount_fields, "{\"code\": \"EARLY-2027\"}", true, "percent_off",
        "give percent_off or amount_off_cents");
    assert_bad(enrollments_discount_fields,
        "{\"code\": \"EARLY-2027\", \"percent_off\": 10, \"amount_off_cents\": 500}", true,
        "amount_off_cents", "not both");
    assert_good(enrollments_discount_fields,
        "{\"code\": \"EARLY-2027\", \"percent_off\": null, \"amount_off_cents\": 500, "
        "\"max_uses\": 3, \"expires_at\": \"2027-03-15T08:30:00-04:00\"}",
        true);
    assert_good(enrollments_discount_fields,
        "{\"code\": \"EARLY-2027\", \"amount_off_cents\": 500, \"expires_at\": null}", true);
    /* Old short codes still price and register. */
    assert_good(enrollments_create_fields, "{\"discount_code\": \"A1\"}", true);
    assert_bad(enrollments_create_fields, "{\"discount_code\": \"\"}", true, "discount_code",
        "must not be empty");
}

static void test_emails(void **state)
{
    (void)state;
    assert_good(accounts_signup_fields,
        "{\"email\": \" Ann@Example.org \", \"password\": \"correct horse battery\", "
        "\"full_name\": \"Ann\", \"profession\": \"nurse\"}",
        true);
    assert_bad(
        accounts_signup_fields, "{\"email\": \"ann.example.org\"}", true, "email", "email address");
    assert_bad(accounts_signup_fields, "{\"email\": \"@example.org\"}", true, "email", "email");
    assert_bad(accounts_signup_fields, "{\"email\": \"ann@\"}", true, "email", "email");
    assert_bad(
        accounts_signup_fields, "{\"email\": \"ann smith@example.org\"}", true, "email", "spaces");
    assert_bad(accounts_signup_fields, "{\"email\": \"ann@exa\\u202emple.org\"}", true, "email",
        "bidirectional");
    assert_bad(accounts_signup_fields, "{\"email\": \"a@\"}", true, "email", "3 to 254");
    /* A new password: 12..128 code points, kept as sent. */
    assert_bad(accounts_signup_fields,
        "{\"email\": \"a@b.c\", \"password\": \"short pw   \", \"full_name\": \"Ann\", "
        "\"profession\": \"nurse\"}",
        true, "password", "12 to 128");
}

/* Every handler's table is well formed: names unique, ranges ordered, enums and items given. */
static void test_handler_tables(void **state)
{
    size_t n;
    const struct api_body_table *t = api_body_tables(&n);

    (void)state;
    assert_true(n >= 15);
    for (size_t i = 0; i < n; i++) {
        for (const struct api_field *f = t[i].fields; f->name != NULL; f++) {
            assert_true(f->min <= f->max);
            if (f->type == API_T_ENUM)
                assert_non_null(f->choices);
            if (f->type == API_T_OBJECTS || f->type == API_T_OBJECT)
                assert_non_null(f->items);
            if (f->type == API_T_STRINGS)
                assert_true(f->item_min <= f->item_max && f->item_max > 0);
            for (const struct api_field *g = f + 1; g->name != NULL; g++)
                assert_string_not_equal(f->name, g->name);
        }
        /* An empty body is a 400 or accepted, never anything else. */
        struct api_field_error err;
        json_t *empty = json_object();
        if (api_fields_check(empty, t[i].fields, "", t[i].creating, &err) == -1) {
            assert_non_null(err.field);
            assert_non_null(err.message);
            api_field_error_release(&err);
        }
        json_decref(empty);
    }
}

static int teardown(void **state)
{
    (void)state;
    api_field_error_release(&last);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_int_ranges),
        cmocka_unit_test(test_numbers_two_decimals),
        cmocka_unit_test(test_string_lengths_in_code_points),
        cmocka_unit_test(test_trimming),
        cmocka_unit_test(test_enums_and_bools),
        cmocka_unit_test(test_arrays_of_strings),
        cmocka_unit_test(test_nested_objects),
        cmocka_unit_test(test_one_object),
        cmocka_unit_test(test_required_vs_patch_and_nullable),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_no_body),
        cmocka_unit_test(test_text_characters),
        cmocka_unit_test(test_codes_and_one_of),
        cmocka_unit_test(test_emails),
        cmocka_unit_test(test_handler_tables),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
