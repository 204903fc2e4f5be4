/*
 * router.h: matching a method and path against the route table.
 *
 * Layering: pure logic on struct http_route (http.h); no I/O.
 *
 * Patterns are absolute paths whose segments are literals or contain one
 * parameter: "{name}" alone, or with a literal prefix or suffix inside the
 * segment ("{token}.ics"). A parameter matches one non-empty segment.
 */
#ifndef REGISTRAR_ROUTER_H
#define REGISTRAR_ROUTER_H

#include "registrar/http.h"

#define ROUTER_MAX_PARAMS 6

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

struct router_match {
    const struct http_route *route; /* on ROUTER_FOUND */
    int nparams;
    char *names[ROUTER_MAX_PARAMS]; /* owned; release with router_match_release */
    char *values[ROUTER_MAX_PARAMS];
    char allow[96]; /* on ROUTER_METHOD_NOT_ALLOWED: "GET, HEAD, POST" */
};

/*
 * Finds the route for method and path (no query string). HEAD matches GET
 * routes. On ROUTER_METHOD_NOT_ALLOWED the path exists for other methods,
 * listed in m->allow. m is always initialised; release it after use.
 */
enum router_result router_match(const struct http_route *routes, size_t n, const char *method,
    const char *path, struct router_match *m);
void router_match_release(struct router_match *m);

enum router_query_result { ROUTER_QUERY_OK, ROUTER_QUERY_UNKNOWN, ROUTER_QUERY_REPEATED };

/*
 * Checks a request's query parameter names (as decoded) against the
 * route's list (http_route.query). Returns ROUTER_QUERY_OK, or the first
 * fault with *bad set to the index of the name at fault: one the route
 * does not take, or one given a second time.
 */
enum router_query_result router_query_check(
    const struct http_route *route, const char *const *names, size_t n, size_t *bad);

/*
 * Checks a table once at start-up: every pattern well formed, no two
 * routes with the same method and shape, every query list made of
 * distinct names of [a-z0-9_]. Returns 0, or -1 and logs.
 */
int router_check(const struct http_route *routes, size_t n);

#endif
