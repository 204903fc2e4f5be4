/* pdf.c: documents drawn with cairo, text laid out with pango. See pdf.h. */
#include "registrar/pdf.h"

#include "registrar/util.h"

#include <assert.h>
#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <string.h>

/* Points (1/72 inch). */
#define PDF_MARGIN 56.0
#define PDF_A4_W 595.276
#define PDF_A4_H 841.89
#define PDF_LETTER_W 612.0
#define PDF_LETTER_H 792.0

/*
 * The first family that has a character draws it; fontconfig falls back
 * further for scripts none of these cover.
 */
#define PDF_SANS "DejaVu Sans, Noto Sans, Noto Sans Arabic, WenQuanYi Micro Hei"
#define PDF_MONO_FAMILY "DejaVu Sans Mono"

struct pdf_doc {
    struct sbuf out;
    cairo_surface_t *surface;
    cairo_t *cr;
    PangoContext *pango; /* at 72 dpi: a pango point is a PDF point */
    double width, height, y;
    bool dirty; /* something is drawn on the current page */
    int pages;  /* pages shown so far */
};

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int length)
{
    sbuf_add(closure, data, length);
    return CAIRO_STATUS_SUCCESS;
}

struct pdf_doc *pdf_doc_new(enum pdf_paper paper, const char *title)
{
    struct pdf_doc *d = xcalloc(1, sizeof(*d));

    sbuf_init(&d->out);
    d->width = paper == PDF_LETTER ? PDF_LETTER_W : PDF_A4_W;
    d->height = paper == PDF_LETTER ? PDF_LETTER_H : PDF_A4_H;
    d->surface = cairo_pdf_surface_create_for_stream(pdf_write, &d->out, d->width, d->height);
    if (title != NULL)
        cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_CREATOR, "Registrar");
    d->cr = cairo_create(d->surface);
    d->pango = pango_cairo_create_context(d->cr);
    pango_cairo_context_set_resolution(d->pango, 72.0);
    d->y = PDF_MARGIN;
    return d;
}

double pdf_text_width(const struct pdf_doc *d)
{
    return d->width - 2 * PDF_MARGIN;
}

void pdf_page_break(struct pdf_doc *d)
{
    if (d->dirty) {
        cairo_show_page(d->cr);
        d->pages++;
        d->dirty = false;
    }
    d->y = PDF_MARGIN;
}

/* Starts a new page unless `need` points still fit above the bottom margin. */
static void pdf_room(struct pdf_doc *d, double need)
{
    if (d->y > PDF_MARGIN && d->y + need > d->height - PDF_MARGIN)
        pdf_page_break(d);
    d->dirty = true;
}

static PangoLayout *pdf_layout(
    struct pdf_doc *d, enum pdf_style style, enum pdf_align align, double width, const char *text)
{
    static const struct {
        const char *family;
        double size;
        PangoWeight weight;
        double grey;
    } styles[] = {
        [PDF_TITLE] = { PDF_SANS, 26, PANGO_WEIGHT_BOLD, 0.0 },
        [PDF_HEADING] = { PDF_SANS, 15, PANGO_WEIGHT_BOLD, 0.0 },
        [PDF_BODY] = { PDF_SANS, 11, PANGO_WEIGHT_NORMAL, 0.0 },
        [PDF_LARGE] = { PDF_SANS, 20, PANGO_WEIGHT_SEMIBOLD, 0.0 },
        [PDF_SMALL] = { PDF_SANS, 8.5, PANGO_WEIGHT_NORMAL, 0.35 },
        [PDF_MONO] = { PDF_MONO_FAMILY, 11, PANGO_WEIGHT_NORMAL, 0.0 },
    };
    PangoLayout *layout = pango_layout_new(d->pango);
    PangoFontDescription *font = pango_font_description_new();

    pango_font_description_set_family(font, styles[style].family);
    pango_font_description_set_size(font, (gint)(styles[style].size * PANGO_SCALE));
    pango_font_description_set_weight(font, styles[style].weight);
    pango_layout_set_font_description(layout, font);
    pango_font_description_free(font);
    pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(layout, align == PDF_CENTER  ? PANGO_ALIGN_CENTER
                                       : align == PDF_RIGHT ? PANGO_ALIGN_RIGHT
                                                            : PANGO_ALIGN_LEFT);
    /* Plain text, never markup: a name like "<b>" is drawn as written. */
    pango_layout_set_text(layout, text, -1);
    cairo_set_source_rgb(d->cr, styles[style].grey, styles[style].grey, styles[style].grey);
    return layout;
}

static double pdf_layout_height(PangoLayout *layout)
{
    int w, h;
    pango_layout_get_size(layout, &w, &h);
    return (double)h / PANGO_SCALE;
}

void pdf_text(struct pdf_doc *d, enum pdf_style style, enum pdf_align align, const char *text)
{
    if (text == NULL || *text == '\0')
        return;
    PangoLayout *layout = pdf_layout(d, style, align, pdf_text_width(d), text);
    double h = pdf_layout_height(layout);

    pdf_room(d, h);
    cairo_move_to(d->cr, PDF_MARGIN, d->y);
    pango_cairo_show_layout(d->cr, layout);
    d->y += h + 4;
    g_object_unref(layout);
}

void pdf_pair(struct pdf_doc *d, const char *label, const char *value)
{
    double label_w = 150;
    PangoLayout *l = pdf_layout(d, PDF_BODY, PDF_LEFT, label_w - 8, label ? label : "");
    PangoLayout *v =
        pdf_layout(d, PDF_BODY, PDF_LEFT, pdf_text_width(d) - label_w, value ? value : "");
    double h =
        pdf_layout_height(l) > pdf_layout_height(v) ? pdf_layout_height(l) : pdf_layout_height(v);

    pdf_room(d, h);
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    cairo_move_to(d->cr, PDF_MARGIN, d->y);
    pango_cairo_show_layout(d->cr, l);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    cairo_move_to(d->cr, PDF_MARGIN + label_w, d->y);
    pango_cairo_show_layout(d->cr, v);
    d->y += h + 4;
    g_object_unref(l);
    g_object_unref(v);
}

void pdf_gap(struct pdf_doc *d, double points)
{
    d->y += points;
}

void pdf_rule(struct pdf_doc *d)
{
    pdf_room(d, 8);
    cairo_set_source_rgb(d->cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(d->cr, 0.6);
    cairo_move_to(d->cr, PDF_MARGIN, d->y + 4);
    cairo_line_to(d->cr, d->width - PDF_MARGIN, d->y + 4);
    cairo_stroke(d->cr);
    d->y += 8;
}

void pdf_matrix(
    struct pdf_doc *d, const bool *modules, int width, double side, enum pdf_align align)
{
    assert(width > 0);
    double unit = side / (width + 8), x0;

    pdf_room(d, side);
    x0 = align == PDF_CENTER  ? (d->width - side) / 2
         : align == PDF_RIGHT ? d->width - PDF_MARGIN - side
                              : PDF_MARGIN;
    cairo_set_source_rgb(d->cr, 1, 1, 1);
    cairo_rectangle(d->cr, x0, d->y, side, side);
    cairo_fill(d->cr);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    for (int y = 0; y < width; y++)
        for (int x = 0; x < width; x++)
            if (modules[y * width + x])
                cairo_rectangle(d->cr, x0 + (x + 4) * unit, d->y + (y + 4) * unit, unit, unit);
    cairo_fill(d->cr);
    d->y += side + 4;
}

char *pdf_doc_finish(struct pdf_doc *d, size_t *len)
{
    char *bytes = NULL;

    if (d->dirty || d->pages == 0)
        cairo_show_page(d->cr);
    g_object_unref(d->pango);
    cairo_destroy(d->cr);
    cairo_surface_finish(d->surface);
    if (cairo_surface_status(d->surface) == CAIRO_STATUS_SUCCESS)
        bytes = sbuf_detach(&d->out, len);
    cairo_surface_destroy(d->surface);
    sbuf_release(&d->out);
    free(d);
    return bytes;
}
