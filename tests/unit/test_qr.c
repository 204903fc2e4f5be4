/*
 * test_qr.c: QR codes read back by a real decoder (zbar's zbarimg) from a
 * PNG drawn by cairo out of the SVG's path alone, the badge codes, and the
 * rotating room code (windows, the previous window, the key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registrar/auth.h"
#include "registrar/qr.h"
#include "registrar/util.h"

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SESSION_A[] = "6f1c1f1e-2b9b-4a8e-9a39-0f3f7b2c1d10";
static const char SESSION_B[] = "0a6a58a3-8b56-4bd4-8f0e-3c27f1e1b0aa";

/* Draws the SVG's subpaths ("M x y h n v1 h-n z") at 8 px a module and decodes the PNG. */
static char *decode_svg(const char *svg)
{
    int side = 0;
    const char *vb = strstr(svg, "viewBox=\"0 0 ");
    assert_non_null(vb);
    assert_int_equal(sscanf(vb, "viewBox=\"0 0 %d", &side), 1);
    const char *d = strstr(svg, " d=\"");
    assert_non_null(d);
    /* One path: no second one anywhere. */
    assert_null(strstr(d + 1, "<path"));
    d += 4;

    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, side * 8, side * 8);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    while (*d == 'M') {
        int x, y, n, n2, used = 0;
        assert_int_equal(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &n2, &used), 4);
        assert_int_equal(n, n2);
        cairo_rectangle(cr, x * 8, y * 8, n * 8, 8);
        d += used;
    }
    assert_int_equal(*d, '"');
    cairo_fill(cr);
    char path[] = "/tmp/registrar-test-qr-XXXXXX.png";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cairo_surface_write_to_png(s, path), CAIRO_STATUS_SUCCESS);
    cairo_destroy(cr);
    cairo_surface_destroy(s);

    char *cmd = xasprintf("zbarimg --quiet --raw %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct sbuf out = SBUF_INIT;
    char buf[512];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), p)) > 0)
        sbuf_add(&out, buf, got);
    assert_int_equal(pclose(p), 0);
    free(cmd);
    unlink(path);
    char *text = sbuf_detach(&out, NULL);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

static void test_svg_decodes_back(void **state)
{
    (void)state;
    char code[AUTH_BADGE_CODE_SIZE];
    auth_badge_code_new(code);
    char *svg = qr_svg(code);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    char *back = decode_svg(svg);
    assert_string_equal(back, code);
    free(back);
    free(svg);

    /* Longer text in another script comes back as written. */
    svg = qr_svg("https://registrar.example/check?c=Zoë-王小明");
    back = decode_svg(svg);
    assert_string_equal(back, "https://registrar.example/check?c=Zoë-王小明");
    free(back);
    free(svg);
}

static void test_matrix_level_m(void **state)
{
    (void)state;
    int width;
    /* Version 1 at level M holds 14 bytes: 21 modules. */
    bool *m = qr_matrix("0123456789ABCD", &width);
    assert_non_null(m);
    assert_int_equal(width, 21);
    /* The finder pattern's corner module is dark, the separator light. */
    assert_true(m[0]);
    assert_false(m[7]);
    free(m);
    /* One byte more: version 2, 25 modules (a level above M would need 3 sooner). */
    m = qr_matrix("0123456789ABCDE", &width);
    assert_non_null(m);
    assert_int_equal(width, 25);
    free(m);
    /* 26 bytes is version 2's limit at M (at Q it would be 20): still 25. */
    m = qr_matrix("0123456789ABCDEFGHIJKLMNOP", &width);
    assert_non_null(m);
    assert_int_equal(width, 25);
    free(m);
    assert_null(qr_matrix("", &width));
    assert_int_equal(width, 0);
    assert_null(qr_svg(NULL));
}

static void test_badge_codes(void **state)
{
    (void)state;
    char a[AUTH_BADGE_CODE_SIZE], b[AUTH_BADGE_CODE_SIZE];
    auth_badge_code_new(a);
    auth_badge_code_new(b);
    assert_int_equal(strlen(a), 16);
    assert_string_not_equal(a, b);
    assert_int_equal(strspn(a, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 16);
}

static void test_room_code_windows(void **state)
{
    (void)state;
    char c1[AUTH_ROOM_CODE_SIZE], c2[AUTH_ROOM_CODE_SIZE], c3[AUTH_ROOM_CODE_SIZE];
    int64_t exp1, exp2;
    const int64_t t = 1796000040; /* a multiple of 60 */

    auth_room_code(SESSION_A, t, c1, &exp1);
    auth_room_code(SESSION_A, t + 59, c2, &exp2);
    assert_int_equal(strlen(c1), 6);
    assert_int_equal(strspn(c1, "0123456789"), 6);
    /* One window: the same code and the same end. */
    assert_string_equal(c1, c2);
    assert_int_equal(exp1, t + 60);
    assert_int_equal(exp2, t + 60);
    /* The next window has another code (a 1 in 10^6 coincidence would be a fixed point of the key). */
    auth_room_code(SESSION_A, t + 60, c3, &exp2);
    assert_string_not_equal(c1, c3);
    assert_int_equal(exp2, t + 120);

    /* The current and the previous window are accepted, the one before not, the next not. */
    assert_true(auth_room_code_valid(SESSION_A, t + 30, c1));
    assert_true(auth_room_code_valid(SESSION_A, t + 90, c1));
    assert_false(auth_room_code_valid(SESSION_A, t + 120, c1));
    assert_false(auth_room_code_valid(SESSION_A, t - 1, c1));

    /* Another session's code is not this one's. */
    auth_room_code(SESSION_B, t, c2, NULL);
    assert_string_not_equal(c1, c2);
    assert_false(auth_room_code_valid(SESSION_B, t, c1));

    /* Not six digits: refused before any comparison. */
    assert_false(auth_room_code_valid(SESSION_A, t, "12345"));
    assert_false(auth_room_code_valid(SESSION_A, t, "1234567"));
    assert_false(auth_room_code_valid(SESSION_A, t, "12a456"));
    assert_false(auth_room_code_valid(SESSION_A, t, NULL));
}

static void test_room_code_keyed(void **state)
{
    (void)state;
    uint8_t other[AUTH_KEY_BYTES];
    char with_a[AUTH_ROOM_CODE_SIZE], with_b[AUTH_ROOM_CODE_SIZE];
    int differ = 0;

    /* With another server key, the codes of the same sessions and windows change. */
    for (int i = 0; i < 8; i++) {
        auth_room_code(SESSION_A, 1796000000 + i * 60, with_a, NULL);
        memset(other, 0x5a, sizeof(other));
        assert_int_equal(auth_init(other), 0);
        auth_room_code(SESSION_A, 1796000000 + i * 60, with_b, NULL);
        memset(other, 0x11, sizeof(other));
        assert_int_equal(auth_init(other), 0);
        if (strcmp(with_a, with_b) != 0)
            differ++;
    }
    assert_true(differ >= 7);
}

int main(void)
{
    uint8_t key[AUTH_KEY_BYTES];
    memset(key, 0x11, sizeof(key));
    if (auth_init(key) == -1)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_decodes_back),
        cmocka_unit_test(test_matrix_level_m),
        cmocka_unit_test(test_badge_codes),
        cmocka_unit_test(test_room_code_windows),
        cmocka_unit_test(test_room_code_keyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
