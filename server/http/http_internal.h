/*
 * http_internal.h: between the files of the http layer only.
 */
#ifndef REGISTRAR_HTTP_INTERNAL_H
#define REGISTRAR_HTTP_INTERNAL_H

#include "registrar/http.h"

/*
 * Replies with the file under web_root that the request's path names
 * (index.html for directories), or 404. Refuses dot segments, backslashes,
 * NUL bytes and any path that leaves the root through a symbolic link.
 */
void http_static_serve(struct http_req *req, const char *web_root);
/* The same for one file of the web root, path "/name" (as if requested). */
void http_static_serve_file(struct http_req *req, const char *web_root, const char *path);

/* The request's path, percent-decoded, without the query. */
const char *http_req_path(const struct http_req *req);

/* The content type for a file name's extension. */
const char *http_static_type(const char *name);

#endif
