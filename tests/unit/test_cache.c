/* test_cache.c: the public response cache: hits, expiry, clearing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registrar/cache.h"

static void test_put_get(void **state)
{
    struct cache_entry e;
    (void)state;
    assert_int_equal(cache_get("/api/v1/courses", &e), -1);
    cache_put("/api/v1/courses", "{\"items\":[]}", 12, "application/json", "\"abc\"", 1000);
    assert_int_equal(cache_get("/api/v1/courses", &e), 0);
    assert_int_equal(e.len, 12);
    assert_string_equal(e.body, "{\"items\":[]}");
    assert_string_equal(e.content_type, "application/json");
    assert_string_equal(e.etag, "\"abc\"");
    cache_entry_release(&e);
    assert_int_equal(cache_get("/api/v1/courses?limit=1", &e), -1);
}

static void test_expiry(void **state)
{
    struct cache_entry e;
    (void)state;
    cache_put("/short", "x", 1, "text/plain", "\"1\"", 30);
    assert_int_equal(cache_get("/short", &e), 0);
    cache_entry_release(&e);
    usleep(60 * 1000);
    assert_int_equal(cache_get("/short", &e), -1);
}

static void test_one_refresher_in_the_stale_half(void **state)
{
    struct cache_entry e;
    (void)state;
    cache_put("/stale", "v1", 2, "text/plain", "\"1\"", 200);
    assert_int_equal(cache_get("/stale", &e), 0); /* fresh */
    cache_entry_release(&e);
    usleep(120 * 1000);                            /* past half its life */
    /* The first caller refreshes, and is given the copy too. */
    assert_int_equal(cache_get("/stale", &e), CACHE_REFRESH);
    assert_string_equal(e.body, "v1");
    cache_entry_release(&e);
    assert_int_equal(cache_get("/stale", &e), 0); /* the others get the copy meanwhile */
    assert_string_equal(e.body, "v1");
    cache_entry_release(&e);
    cache_put("/stale", "v2", 2, "text/plain", "\"2\"", 200);
    assert_int_equal(cache_get("/stale", &e), 0);
    assert_string_equal(e.body, "v2");
    cache_entry_release(&e);
    usleep(220 * 1000); /* past its whole life: never served */
    assert_int_equal(cache_get("/stale", &e), -1);
    assert_int_equal(cache_get("/stale", &e), -1);
}

static void test_clear(void **state)
{
    struct cache_entry e;
    (void)state;
    cache_put("/a", "1", 1, "text/plain", "\"1\"", 10000);
    cache_put("/b", "2", 1, "text/plain", "\"2\"", 10000);
    cache_clear();
    assert_int_equal(cache_get("/a", &e), -1);
    assert_int_equal(cache_get("/b", &e), -1);
}

static void test_replace(void **state)
{
    struct cache_entry e;
    (void)state;
    cache_put("/r", "old", 3, "text/plain", "\"o\"", 10000);
    cache_put("/r", "newer", 5, "text/plain", "\"n\"", 10000);
    assert_int_equal(cache_get("/r", &e), 0);
    assert_string_equal(e.body, "newer");
    cache_entry_release(&e);
    cache_clear();
}

/* 100 offerings at once (bench-read's offering100): every one stays a hit. */
static void test_many_keys_all_kept(void **state)
{
    struct cache_entry e;
    char key[96], body[16];
    (void)state;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "/api/v1/offerings/60000000-0000-4000-8000-%012d", i);
        snprintf(body, sizeof(body), "%d", i);
        cache_put(key, body, strlen(body), "application/json", "\"e\"", 10000);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "/api/v1/offerings/60000000-0000-4000-8000-%012d", i);
        snprintf(body, sizeof(body), "%d", i);
        assert_int_equal(cache_get(key, &e), 0);
        assert_string_equal(e.body, body);
        cache_entry_release(&e);
    }
    cache_clear();
}

static void test_key_canonical(void **state)
{
    (void)state;
    /* ?course=a%26status%3Dopen: one parameter whose value holds '&' and '='. */
    const char *n1[] = { "course" }, *v1[] = { "a&status=open" };
    /* ?course=a&status=open: two parameters. */
    const char *n2[] = { "course", "status" }, *v2[] = { "a", "open" };
    char *k1 = cache_key_new("/api/v1/offerings", n1, v1, 1);
    char *k2 = cache_key_new("/api/v1/offerings", n2, v2, 2);
    assert_string_not_equal(k1, k2);
    assert_string_equal(k1, "/api/v1/offerings?course=a%26status%3Dopen");
    assert_string_equal(k2, "/api/v1/offerings?course=a&status=open");

    /* The order the client wrote them in does not matter. */
    const char *n3[] = { "status", "course" }, *v3[] = { "open", "a" };
    char *k3 = cache_key_new("/api/v1/offerings", n3, v3, 2);
    assert_string_equal(k2, k3);

    /* A '?' in the decoded path cannot pass for a query. */
    char *k4 = cache_key_new("/api/v1/courses/a?limit=1", NULL, NULL, 0);
    const char *n5[] = { "limit" }, *v5[] = { "1" };
    char *k5 = cache_key_new("/api/v1/courses/a", n5, v5, 1);
    assert_string_not_equal(k4, k5);
    assert_string_equal(k4, "/api/v1/courses/a%3Flimit%3D1");

    /* Names are encoded too, and odd bytes become %XX. */
    const char *n6[] = { "a=b" }, *v6[] = { "" };
    const char *n7[] = { "a" }, *v7[] = { "b=" };
    char *k6 = cache_key_new("/x", n6, v6, 1), *k7 = cache_key_new("/x", n7, v7, 1);
    assert_string_not_equal(k6, k7);
    const char *n8[] = { "q" }, *v8[] = { "\xff\x01 +%~" };
    char *k8 = cache_key_new("/x", n8, v8, 1);
    assert_string_equal(k8, "/x?q=%FF%01%20%2B%25~");
    /* No parameters: the path alone. */
    char *k9 = cache_key_new("/api/v1/courses", NULL, NULL, 0);
    assert_string_equal(k9, "/api/v1/courses");
    char *enc = cache_encode_new("nocache\"<x>");
    assert_string_equal(enc, "nocache%22%3Cx%3E");

    free(k1);
    free(k2);
    free(k3);
    free(k4);
    free(k5);
    free(k6);
    free(k7);
    free(k8);
    free(k9);
    free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_one_refresher_in_the_stale_half),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_key_canonical),
        cmocka_unit_test(test_many_keys_all_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
