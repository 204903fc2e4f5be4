/* test_body.c: content type, strict JSON, duplicates, depth, sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/body.h"
#include "registrar/util.h"

static int parse(
    enum http_body kind, const char *text, const char *ct, json_t **out, struct body_error *err)
{
    return body_parse(kind, text, strlen(text), ct, out, err);
}

static void test_content_type(void **state)
{
    (void)state;
    assert_true(body_is_json_type("application/json"));
    assert_true(body_is_json_type("Application/JSON; charset=utf-8"));
    assert_true(body_is_json_type("  application/json ;charset=UTF-8"));
    assert_false(body_is_json_type("application/jsonx"));
    assert_false(body_is_json_type("text/plain"));
    assert_false(body_is_json_type("application/x-www-form-urlencoded"));
    assert_false(body_is_json_type(NULL));
}

static void test_good_object(void **state)
{
    json_t *v;
    struct body_error err;
    (void)state;
    assert_int_equal(
        parse(HTTP_BODY_JSON, "{\"a\":1,\"b\":[true]}", "application/json", &v, &err), 0);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
}

static void test_rejections(void **state)
{
    json_t *v;
    struct body_error err;
    (void)state;
    assert_int_equal(parse(HTTP_BODY_JSON, "{\"a\":1}", "text/plain", &v, &err), -1);
    assert_int_equal(err.status, 415);
    assert_string_equal(err.slug, "unsupported-media-type");
    assert_int_equal(parse(HTTP_BODY_JSON, "{\"a\":1,\"a\":2}", "application/json", &v, &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.detail, "duplicate"));
    assert_int_equal(parse(HTTP_BODY_JSON, "[1,2]", "application/json", &v, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(parse(HTTP_BODY_JSON, "{\"a\":", "application/json", &v, &err), -1);
    assert_int_equal(parse(HTTP_BODY_JSON, "{\"a\":\"\xff\"}", "application/json", &v, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(
        parse(HTTP_BODY_JSON, "{\"a\":\"x\\u0000y\"}", "application/json", &v, &err), -1);
    assert_int_equal(parse(HTTP_BODY_JSON, "", "application/json", &v, &err), -1);
    assert_int_equal(err.status, 400);
    assert_null(v);
}

static void test_optional_and_none(void **state)
{
    json_t *v;
    struct body_error err;
    (void)state;
    assert_int_equal(parse(HTTP_BODY_JSON_OPTIONAL, "", NULL, &v, &err), 0);
    assert_null(v);
    assert_int_equal(parse(HTTP_BODY_NONE, "garbage", "text/plain", &v, &err), 0);
    assert_null(v);
    assert_int_equal(parse(HTTP_BODY_RAW, "not json", "text/plain", &v, &err), 0);
    assert_null(v);
    assert_int_equal(parse(HTTP_BODY_RAW, "{\"id\":\"evt_1\"}", NULL, &v, &err), 0);
    assert_non_null(v);
    json_decref(v);
}

static char *nested(int depth)
{
    struct sbuf sb = SBUF_INIT;
    for (int i = 0; i < depth - 1; i++)
        sbuf_adds(&sb, "{\"a\":");
    sbuf_adds(&sb, "{}");
    for (int i = 0; i < depth - 1; i++)
        sbuf_addc(&sb, '}');
    return sbuf_detach(&sb, NULL);
}

static void test_depth(void **state)
{
    json_t *v;
    struct body_error err;
    (void)state;
    char *ok = nested(16), *deep = nested(17);
    assert_int_equal(parse(HTTP_BODY_JSON, ok, "application/json", &v, &err), 0);
    assert_int_equal(body_json_depth(v), 16);
    json_decref(v);
    assert_int_equal(parse(HTTP_BODY_JSON, deep, "application/json", &v, &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.detail, "deep"));
    free(ok);
    free(deep);
    json_t *arr = json_loads("[[[1]]]", 0, NULL);
    assert_int_equal(body_json_depth(arr), 3);
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_good_object),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_optional_and_none),
        cmocka_unit_test(test_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
