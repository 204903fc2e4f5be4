/* static.c: the web client's files. See http_internal.h. */
#include "http_internal.h"

#include "registrar/etag.h"
#include "registrar/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HTTP_STATIC_MAX (8 * 1024 * 1024)

struct http_static_type {
    const char *ext;
    const char *type;
};

static const struct http_static_type http_static_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".woff2", "font/woff2" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".webmanifest", "application/manifest+json" },
};

const char *http_static_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot != NULL)
        for (size_t i = 0; i < UTIL_ARRAY_LEN(http_static_types); i++)
            if (strcasecmp(dot, http_static_types[i].ext) == 0)
                return http_static_types[i].type;
    return "application/octet-stream";
}

static int http_static_path_ok(const char *path)
{
    if (path[0] != '/' || strchr(path, '\\') != NULL || strlen(path) > 512)
        return 0;
    for (const char *p = path; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20)
            return 0;
        if (p[0] == '/' && p[1] == '.')
            return 0; /* "..", "." and hidden files alike */
    }
    return 1;
}

void http_static_serve(struct http_req *req, const char *web_root)
{
    /* The path as libmicrohttpd decoded it: %2e%2e has become ".." here. */
    http_static_serve_file(req, web_root, http_req_path(req));
}

void http_static_serve_file(struct http_req *req, const char *web_root, const char *path)
{
    char *full = NULL, *real = NULL, *root = NULL, *body = NULL;
    int fd = -1;
    struct stat st;

    if (!http_static_path_ok(path))
        goto not_found;
    root = realpath(web_root, NULL);
    if (root == NULL)
        goto not_found;
    full = xasprintf("%s%s%s", root, path, path[strlen(path) - 1] == '/' ? "index.html" : "");
    real = realpath(full, NULL);
    /* Any symbolic link on the way makes the real path differ: refuse it. */
    if (real == NULL || strcmp(real, full) != 0)
        goto not_found;
    fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > HTTP_STATIC_MAX)
        goto not_found;
    body = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, body + got, (size_t)st.st_size - got);
        if (n <= 0)
            goto not_found;
        got += (size_t)n;
    }
    char etag[48];
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
        (unsigned long long)st.st_size);
    const char *inm = http_req_header(req, "If-None-Match");
    if (etag_matches(inm, etag)) {
        free(body);
        body = NULL;
        http_reply_empty(req, 304);
    } else {
        http_reply_body(req, 200, http_static_type(real), body, got);
        body = NULL;
    }
    http_reply_header(req, "ETag", etag);
    http_reply_header(req, "Cache-Control", "no-cache");
    goto out;
not_found:
    http_reply_problem(req, 404, "not-found", "There is nothing at this address.");
out:
    if (fd != -1)
        close(fd);
    free(body);
    free(full);
    free(real);
    free(root);
}
