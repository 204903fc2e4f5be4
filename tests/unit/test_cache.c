/* test_cache.c: the public response cache: hits, expiry, clearing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
    assert_int_equal(cache_get("/stale", &e), -1); /* the first caller refreshes */
    assert_int_equal(cache_get("/stale", &e), 0);  /* the others get the copy meanwhile */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_one_refresher_in_the_stale_half),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_replace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
