/* etag.c: see etag.h. */
#include "registrar/etag.h"

#include "registrar/util.h"

#include <stdio.h>
#include <string.h>

void etag_make(const char *body, size_t len, char out[ETAG_SIZE])
{
    uint64_t h = util_hash64(body != NULL ? body : "", len);
    snprintf(out, ETAG_SIZE, "\"%016llx\"", (unsigned long long)h);
}

bool etag_matches(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = header;

    if (header == NULL)
        return false;
    /* If-None-Match uses the weak comparison (RFC 9110, 13.1.2): W/ is ignored. */
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t len = strcspn(p, ", \t");
        if (len == n && memcmp(p, etag, n) == 0)
            return true;
        p += len;
    }
    return false;
}
