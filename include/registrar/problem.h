/*
 * problem.h: RFC 9457 problem details with the contract's type slugs.
 *
 * Layering: jansson only.
 */
#ifndef REGISTRAR_PROBLEM_H
#define REGISTRAR_PROBLEM_H

#include <jansson.h>

#define PROBLEM_TYPE_BASE "https://registrar.invalid/problems/"

/* The human title of a slug ("not-found" -> "Not found"); never NULL. */
const char *problem_title(const char *slug, int status);

/*
 * A new problem object {type, title, status, detail?}. detail may be NULL.
 * The caller owns the result.
 */
json_t *problem_new(int status, const char *slug, const char *detail);

#endif
