/* problem.c: see problem.h. */
#include "registrar/problem.h"

#include "registrar/util.h"

#include <string.h>

struct problem_kind {
    const char *slug;
    const char *title;
};

/* Titles of the contract's slugs; others fall back to the status's name. */
static const struct problem_kind problem_kinds[] = {
    { "invalid-request", "The request is not valid" },
    { "unauthenticated", "Sign-in required" },
    { "forbidden", "Not allowed" },
    { "not-found", "Not found" },
    { "method-not-allowed", "Method not allowed" },
    { "payload-too-large", "Request body too large" },
    { "unsupported-media-type", "Unsupported media type" },
    { "rate-limited", "Too many attempts" },
    { "database-unavailable", "Service temporarily unavailable" },
    { "overloaded", "Server busy" },
    { "internal", "Internal error" },
    { "csrf", "Missing or invalid CSRF token" },
    { "email-taken", "Email already registered" },
    { "invalid-credentials", "Email or password is incorrect" },
    { "invalid-token", "The link or token is invalid or has expired" },
    { "slug-taken", "Slug already in use" },
    { "capacity-below-taken", "Capacity below seats taken" },
    { "outside-offering", "Session outside the offering's dates" },
    { "schedule-conflict", "Schedule conflict" },
    { "already-enrolled", "Already registered" },
    { "registration-closed", "Registration is closed" },
    { "payment-declined", "Payment declined" },
    { "hold-expired", "The seat hold has expired" },
    { "idempotency-key-reused", "Idempotency key reused with a different request" },
    { "not-applied", "Not an open application" },
    { "session-full", "Session full" },
    { "bad-signature", "Invalid signature" },
    { "not-completed", "Course not completed" },
};

static const char *problem_status_title(int status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content too large";
    case 415:
        return "Unsupported media type";
    case 422:
        return "Unprocessable content";
    case 429:
        return "Too many requests";
    case 503:
        return "Service unavailable";
    default:
        return status >= 500 ? "Internal error" : "Request failed";
    }
}

const char *problem_title(const char *slug, int status)
{
    for (size_t i = 0; i < UTIL_ARRAY_LEN(problem_kinds); i++)
        if (strcmp(problem_kinds[i].slug, slug) == 0)
            return problem_kinds[i].title;
    return problem_status_title(status);
}

json_t *problem_new(int status, const char *slug, const char *detail)
{
    char *type = xasprintf(PROBLEM_TYPE_BASE "%s", slug);
    json_t *p = json_pack(
        "{s:s, s:s, s:i}", "type", type, "title", problem_title(slug, status), "status", status);

    free(type);
    if (detail != NULL)
        json_object_set_new(p, "detail", json_string(detail));
    return p;
}
