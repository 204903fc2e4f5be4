/* router.c: see router.h. */
#include "registrar/router.h"

#include "registrar/log.h"
#include "registrar/util.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Matches one pattern segment [p, pe) against one path segment [s, se). */
static int router_segment(const char *p, const char *pe, const char *s, const char *se,
    struct router_match *m, int *literal)
{
    const char *open = memchr(p, '{', (size_t)(pe - p));

    if (open == NULL) {
        *literal = 1;
        return pe - p == se - s && memcmp(p, s, (size_t)(pe - p)) == 0;
    }
    *literal = 0;
    const char *close = memchr(open, '}', (size_t)(pe - open));
    size_t prefix = (size_t)(open - p), suffix = (size_t)(pe - close - 1);
    size_t len = (size_t)(se - s);
    if (close == NULL || len <= prefix + suffix)
        return 0;
    if (memcmp(p, s, prefix) != 0 || memcmp(close + 1, se - suffix, suffix) != 0)
        return 0;
    if (m != NULL) {
        if (m->nparams == ROUTER_MAX_PARAMS)
            return 0;
        m->names[m->nparams] = xstrndup(open + 1, (size_t)(close - open - 1));
        m->values[m->nparams] = xstrndup(s + prefix, len - prefix - suffix);
        m->nparams++;
    }
    return 1;
}

/* Returns the number of literal segments (+1) if path fits pattern, else 0. */
static int router_fits(const char *pattern, const char *path, struct router_match *m)
{
    const char *p = pattern, *s = path;
    int score = 1;

    if (*p != '/' || *s != '/')
        return 0;
    for (;;) {
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        if (pe == NULL)
            pe = p + strlen(p);
        if (se == NULL)
            se = s + strlen(s);
        int literal;
        if (!router_segment(p, pe, s, se, m, &literal))
            return 0;
        score += literal;
        if (*pe == '\0' || *se == '\0')
            return *pe == '\0' && *se == '\0' ? score : 0;
        p = pe;
        s = se;
    }
}

static int router_method_is(const struct http_route *r, const char *method)
{
    if (strcmp(r->method, method) == 0)
        return 1;
    return strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
}

static void router_allow_add(struct router_match *m, const char *method)
{
    if (strstr(m->allow, method) != NULL)
        return;
    size_t used = strlen(m->allow);
    snprintf(m->allow + used, sizeof(m->allow) - used, "%s%s", used > 0 ? ", " : "", method);
}

enum router_result router_match(const struct http_route *routes, size_t n, const char *method,
    const char *path, struct router_match *m)
{
    const struct http_route *best = NULL;
    int best_score = 0, any_path = 0;

    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < n; i++) {
        int score = router_fits(routes[i].pattern, path, NULL);
        if (score == 0)
            continue;
        any_path = 1;
        if (router_method_is(&routes[i], method) && score > best_score) {
            best = &routes[i];
            best_score = score;
        }
    }
    if (best != NULL) {
        int fits = router_fits(best->pattern, path, m);
        assert(fits > 0);
        (void)fits;
        m->route = best;
        return ROUTER_FOUND;
    }
    if (!any_path)
        return ROUTER_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        if (router_fits(routes[i].pattern, path, NULL) == 0)
            continue;
        router_allow_add(m, routes[i].method);
        if (strcmp(routes[i].method, "GET") == 0)
            router_allow_add(m, "HEAD");
    }
    return ROUTER_METHOD_NOT_ALLOWED;
}

void router_match_release(struct router_match *m)
{
    for (int i = 0; i < m->nparams; i++) {
        free(m->names[i]);
        free(m->values[i]);
    }
    m->nparams = 0;
}

/* Whether name is one of the comma-separated names of list (NULL: none). */
static bool router_query_takes(const char *list, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        if (n == len && memcmp(p, name, n) == 0)
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

enum router_query_result router_query_check(
    const struct http_route *route, const char *const *names, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        *bad = i;
        if (!router_query_takes(route->query, names[i]))
            return ROUTER_QUERY_UNKNOWN;
        for (size_t k = 0; k < i; k++)
            if (strcmp(names[k], names[i]) == 0)
                return ROUTER_QUERY_REPEATED;
    }
    return ROUTER_QUERY_OK;
}

/* Whether a route's query list is well formed: distinct names of [a-z0-9_]. */
static bool router_query_list_ok(const char *list)
{
    if (list == NULL)
        return true;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
            return false;
        /* A name seen earlier in the list is a duplicate. */
        for (const char *q = list; q < p;) {
            size_t m = strcspn(q, ",");
            if (m == n && memcmp(q, p, n) == 0)
                return false;
            q += m + 1;
        }
        p += n;
        if (*p == '\0')
            return true;
        p++;
    }
}

/* Rewrites a pattern's parameters to "{}" so that shapes can be compared. */
static char *router_shape(const char *pattern)
{
    struct sbuf sb = SBUF_INIT;

    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (close == NULL)
                break;
            sbuf_adds(&sb, "{}");
            p = close;
        } else {
            sbuf_addc(&sb, *p);
        }
    }
    return sbuf_detach(&sb, NULL);
}

int router_check(const struct http_route *routes, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        const char *pat = routes[i].pattern;
        int depth = 0, params_in_segment = 0;
        if (pat[0] != '/' || routes[i].handler == NULL) {
            log_msg(LOG_ERROR, "route %s %s is malformed", routes[i].method, pat);
            rc = -1;
        }
        for (const char *p = pat; *p != '\0'; p++) {
            if (*p == '/')
                params_in_segment = 0;
            else if (*p == '{' && (depth++ != 0 || params_in_segment++ != 0))
                rc = -1;
            else if (*p == '}' && depth-- != 1)
                rc = -1;
        }
        if (depth != 0)
            rc = -1;
        if (!router_query_list_ok(routes[i].query)) {
            log_msg(LOG_ERROR, "route %s %s has a malformed query list", routes[i].method, pat);
            rc = -1;
        }
        char *shape = router_shape(pat);
        for (size_t k = 0; k < i; k++) {
            char *other = router_shape(routes[k].pattern);
            if (strcmp(shape, other) == 0 && strcmp(routes[i].method, routes[k].method) == 0) {
                log_msg(LOG_ERROR, "routes %zu and %zu are the same: %s %s", k, i, routes[i].method,
                    pat);
                rc = -1;
            }
            free(other);
        }
        free(shape);
    }
    return rc;
}
