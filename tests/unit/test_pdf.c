/*
 * test_pdf.c: documents read back by a real parser (poppler's pdftotext,
 * pdffonts and pdfinfo): text in Latin, Arabic and Chinese scripts comes
 * back as text, markup in a name is drawn as written, every font is
 * embedded, paper sizes and pages are right.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registrar/pdf.h"
#include "registrar/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes the PDF to a temporary file and returns what the command prints (%s: the file). */
static char *pdf_run(const char *bytes, size_t len, const char *command)
{
    char path[] = "/tmp/registrar-test-pdf-XXXXXX";
    int fd = mkstemp(path);
    struct sbuf out = SBUF_INIT;
    char buf[4096];
    size_t got;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    struct sbuf cmd_sb = SBUF_INIT;
    for (const char *c = command; *c != '\0'; c++) {
        if (c[0] == '%' && c[1] == 's') {
            sbuf_adds(&cmd_sb, path);
            c++;
        } else {
            sbuf_addc(&cmd_sb, *c);
        }
    }
    sbuf_adds(&cmd_sb, " 2>&1");
    char *cmd = sbuf_detach(&cmd_sb, NULL);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while ((got = fread(buf, 1, sizeof(buf), p)) > 0)
        sbuf_add(&out, buf, got);
    assert_int_equal(pclose(p), 0);
    free(cmd);
    unlink(path);
    return sbuf_detach(&out, NULL);
}

static char *make_doc(enum pdf_paper paper, size_t *len)
{
    struct pdf_doc *d = pdf_doc_new(paper, "Certificate of attendance");
    bool qr[21 * 21];

    for (int i = 0; i < 21 * 21; i++)
        qr[i] = (i * 7 + i / 21) % 3 == 0;
    pdf_text(d, PDF_TITLE, PDF_CENTER, "Certificate of Attendance");
    pdf_text(d, PDF_LARGE, PDF_CENTER, "José Müller-Łukasiewicz");
    pdf_text(d, PDF_LARGE, PDF_CENTER, "فاطمة الزهراء");
    pdf_text(d, PDF_LARGE, PDF_CENTER, "王小明");
    pdf_text(d, PDF_BODY, PDF_LEFT, "<b>Bob</b> & Co");
    pdf_pair(d, "Credits", "12.25 AMA PRA Category 1 Credits™");
    pdf_rule(d);
    pdf_matrix(d, qr, 21, 90, PDF_RIGHT);
    pdf_text(d, PDF_MONO, PDF_LEFT, "VERIFY-7K3M-Q9XD");
    pdf_text(d, PDF_SMALL, PDF_LEFT, NULL);
    return pdf_doc_finish(d, len);
}

static void test_text_reads_back(void **state)
{
    size_t len = 0;
    char *pdf = make_doc(PDF_A4, &len);

    (void)state;
    assert_non_null(pdf);
    assert_true(len > 1000);
    assert_memory_equal(pdf, "%PDF-", 5);
    char *text = pdf_run(pdf, len, "pdftotext -enc UTF-8 -layout %s -");
    assert_non_null(strstr(text, "Certificate of Attendance"));
    assert_non_null(strstr(text, "José Müller-Łukasiewicz"));
    assert_non_null(strstr(text, "王小明"));
    /* Arabic comes back as its letters (poppler may reorder the words for display). */
    assert_non_null(strstr(text, "فاطمة"));
    assert_non_null(strstr(text, "الزهراء"));
    assert_non_null(strstr(text, "<b>Bob</b> & Co"));
    assert_non_null(strstr(text, "12.25 AMA PRA Category 1 Credits™"));
    assert_non_null(strstr(text, "VERIFY-7K3M-Q9XD"));
    free(text);
    free(pdf);
}

static void test_fonts_embedded(void **state)
{
    size_t len = 0;
    char *pdf = make_doc(PDF_A4, &len);
    char *fonts = pdf_run(pdf, len, "pdffonts %s");
    int rows = 0;

    (void)state;
    /* After two heading lines, one line per font: its "emb" column must say yes. */
    char *save = NULL;
    int line = 0;
    for (char *l = strtok_r(fonts, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        if (line++ < 2)
            continue;
        rows++;
        if (strstr(l, " yes ") == NULL)
            fail_msg("a font is not embedded: %s", l);
    }
    assert_true(rows >= 2); /* Latin and at least one fallback for Arabic or Chinese */
    free(fonts);
    free(pdf);
}

static void test_paper_and_pages(void **state)
{
    size_t len = 0;
    char *pdf = make_doc(PDF_LETTER, &len);
    char *info = pdf_run(pdf, len, "pdfinfo %s");

    (void)state;
    assert_non_null(strstr(info, "612 x 792 pts"));
    assert_non_null(strstr(info, "Title:           Certificate of attendance"));
    free(info);
    free(pdf);

    /* One page per certificate; a break with nothing after it adds no empty page. */
    struct pdf_doc *d = pdf_doc_new(PDF_A4, NULL);
    for (int i = 0; i < 3; i++) {
        pdf_text(d, PDF_BODY, PDF_LEFT, "a page");
        pdf_page_break(d);
    }
    pdf = pdf_doc_finish(d, &len);
    info = pdf_run(pdf, len, "pdfinfo %s");
    assert_non_null(strstr(info, "Pages:           3"));
    assert_non_null(strstr(info, "595.276 x 841.89 pts (A4)"));
    free(info);
    free(pdf);

    /* A long flow continues on new pages. */
    d = pdf_doc_new(PDF_A4, NULL);
    for (int i = 0; i < 200; i++)
        pdf_pair(d, "Line", "a value that takes a line of its own");
    pdf = pdf_doc_finish(d, &len);
    info = pdf_run(pdf, len, "pdfinfo %s");
    assert_null(strstr(info, "Pages:           1\n"));
    free(info);
    free(pdf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_reads_back),
        cmocka_unit_test(test_fonts_embedded),
        cmocka_unit_test(test_paper_and_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
