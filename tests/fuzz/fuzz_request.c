/*
 * fuzz_request.c: libFuzzer harness for what a client controls before a
 * handler runs: the path (routing against the real table) and the body
 * (strict JSON checks). Input: the path, a newline, then the body.
 *
 * Built with clang -fsanitize=fuzzer when meson's `fuzz` option is on;
 * always built with replay.c, which runs the corpus as a regression test.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/api.h"
#include "registrar/body.h"
#include "registrar/router.h"
#include "registrar/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t path_len = nl != NULL ? (size_t)(nl - (const char *)data) : size;
    char *path = xstrndup((const char *)data, path_len);
    const char *body = nl != NULL ? nl + 1 : "";
    size_t body_len = nl != NULL ? size - path_len - 1 : 0;
    static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
    size_t n;
    const struct http_route *routes = api_routes(&n);

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        struct router_match m;
        enum router_result r = router_match(routes, n, methods[i], path, &m);
        if (r == ROUTER_FOUND) {
            /* Every parameter is a non-empty part of one segment. */
            for (int k = 0; k < m.nparams; k++)
                if (m.values[k][0] == '\0' || strchr(m.values[k], '/') != NULL)
                    abort();
        }
        router_match_release(&m);
    }
    for (int kind = HTTP_BODY_NONE; kind <= HTTP_BODY_RAW; kind++) {
        json_t *v = NULL;
        struct body_error err;
        if (body_parse((enum http_body)kind, body, body_len, "application/json", &v, &err) == 0) {
            if (v != NULL && kind != HTTP_BODY_RAW && body_json_depth(v) > BODY_MAX_DEPTH)
                abort();
        } else if (v != NULL || (err.status != 400 && err.status != 413 && err.status != 415)) {
            abort();
        }
        json_decref(v);
    }
    free(path);
    return 0;
}
