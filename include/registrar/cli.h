/*
 * cli.h: commands of the `registrar` program other than serving and
 * migrating. Layering: beside main.c, above every other module; used by
 * main.c only.
 */
#ifndef REGISTRAR_CLI_H
#define REGISTRAR_CLI_H

#include <stdio.h>

/*
 * `registrar create-admin`: creates the account (password from the first
 * line of in, read without echo when in is a terminal) or makes an
 * existing one admin, its email counted as verified. The email and name
 * obey the sign-up rules. Returns the exit status: 0 done, 1 database or
 * hashing failure, 2 bad input; says why on stderr, never the password.
 */
int cli_create_admin(const char *database_url, const char *email, const char *full_name, FILE *in);

#endif
