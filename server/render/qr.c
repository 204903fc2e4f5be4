/*
 * qr.c: QR codes through libqrencode. See qr.h.
 */
#include "registrar/qr.h"

#include "registrar/util.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

bool *qr_matrix(const char *text, int *width)
{
    QRcode *code;
    bool *modules;

    *width = 0;
    if (text == NULL || text[0] == '\0')
        return NULL;
    code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (code == NULL)
        return NULL;
    modules = xmalloc((size_t)code->width * (size_t)code->width * sizeof(*modules));
    /* The low bit of each byte is the module's colour (qrencode.h). */
    for (int i = 0; i < code->width * code->width; i++)
        modules[i] = (code->data[i] & 1) != 0;
    *width = code->width;
    QRcode_free(code);
    return modules;
}

char *qr_svg(const char *text)
{
    struct sbuf sb = SBUF_INIT;
    int width, side;
    bool *m = qr_matrix(text, &width);

    if (m == NULL)
        return NULL;
    side = width + 2 * QR_QUIET_ZONE;
    sbuf_addf(&sb,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
        "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
        "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
        side, side, side, side);
    for (int y = 0; y < width; y++) {
        int x = 0;
        while (x < width) {
            if (!m[y * width + x]) {
                x++;
                continue;
            }
            int start = x;
            while (x < width && m[y * width + x])
                x++;
            sbuf_addf(&sb, "M%d %dh%dv1h-%dz", start + QR_QUIET_ZONE, y + QR_QUIET_ZONE, x - start,
                x - start);
        }
    }
    sbuf_adds(&sb, "\"/></svg>");
    free(m);
    return sbuf_detach(&sb, NULL);
}
