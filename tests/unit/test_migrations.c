/*
 * test_migrations.c: a landed migration is never edited, renamed or
 * deleted. schema/SHA256SUMS (sha256sum's format) holds the digest of
 * every migration file; this test fails when a file differs from its line,
 * when a line's file is gone, or when a new file has no line yet. A new
 * migration adds its line (`sha256sum 0007_x.sql >> SHA256SUMS`); an edit
 * to a landed one is a new migration instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registrar/db.h"

#include <ctype.h>
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST REGISTRAR_SCHEMA_DIR "/SHA256SUMS"

struct entry {
    char name[256];
    char hex[65];
    int seen;
};

static struct entry manifest[512];
static int nmanifest;

static int is_migration(const char *nm)
{
    size_t len = strlen(nm);
    return len >= 10 && isdigit((unsigned char)nm[0]) && isdigit((unsigned char)nm[1]) &&
           isdigit((unsigned char)nm[2]) && isdigit((unsigned char)nm[3]) && nm[4] == '_' &&
           strcmp(nm + len - 4, ".sql") == 0;
}

static int file_sha256(const char *name, char hex[65])
{
    char path[1024];
    unsigned char buf[8192], out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    size_t got;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", REGISTRAR_SCHEMA_DIR, name);
    f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    crypto_hash_sha256_init(&st);
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        crypto_hash_sha256_update(&st, buf, got);
    fclose(f);
    crypto_hash_sha256_final(&st, out);
    sodium_bin2hex(hex, 65, out, sizeof(out));
    return 0;
}

static int setup(void **state)
{
    char line[512];
    FILE *f = fopen(MANIFEST, "r");

    (void)state;
    if (sodium_init() == -1 || f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL && nmanifest < 512) {
        struct entry *e = &manifest[nmanifest];
        /* "<64 hex>  <name>\n", as sha256sum writes it. */
        if (sscanf(line, "%64[0-9a-f]  %255s", e->hex, e->name) != 2 || strlen(e->hex) != 64) {
            fclose(f);
            fprintf(stderr, "SHA256SUMS: malformed line: %s", line);
            return -1;
        }
        nmanifest++;
    }
    fclose(f);
    return 0;
}

/* Every migration file is in the manifest with the digest it had when it landed. */
static void test_files_match_manifest(void **state)
{
    DIR *d = opendir(REGISTRAR_SCHEMA_DIR);
    struct dirent *ent;
    int files = 0;

    (void)state;
    assert_non_null(d);
    while ((ent = readdir(d)) != NULL) {
        char hex[65];
        struct entry *e = NULL;
        if (!is_migration(ent->d_name))
            continue;
        files++;
        for (int i = 0; i < nmanifest; i++)
            if (strcmp(manifest[i].name, ent->d_name) == 0)
                e = &manifest[i];
        if (e == NULL)
            fail_msg("schema/%s has no line in schema/SHA256SUMS: add it "
                     "(cd schema && sha256sum %s >> SHA256SUMS)",
                ent->d_name, ent->d_name);
        assert_int_equal(file_sha256(ent->d_name, hex), 0);
        if (strcmp(hex, e->hex) != 0)
            fail_msg("schema/%s differs from its digest in schema/SHA256SUMS: a landed "
                     "migration is never edited; put the change in a new migration",
                ent->d_name);
        e->seen++;
    }
    closedir(d);
    assert_true(files > 0);
}

/* No line names a file that is gone (a landed migration is never renamed or deleted). */
static void test_manifest_files_exist(void **state)
{
    (void)state;
    for (int i = 0; i < nmanifest; i++) {
        char hex[65];
        if (file_sha256(manifest[i].name, hex) == -1)
            fail_msg("schema/SHA256SUMS names %s, which is gone: a landed migration is "
                     "never renamed or deleted",
                manifest[i].name);
        for (int j = 0; j < i; j++)
            if (atoi(manifest[j].name) == atoi(manifest[i].name))
                fail_msg("two migrations numbered %d", atoi(manifest[i].name));
    }
}

/* The binary knows the newest migration: DB_SCHEMA_VERSION was raised with it. */
static void test_schema_version_is_newest(void **state)
{
    int newest = 0;

    (void)state;
    for (int i = 0; i < nmanifest; i++)
        if (atoi(manifest[i].name) > newest)
            newest = atoi(manifest[i].name);
    assert_int_equal(newest, DB_SCHEMA_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_match_manifest),
        cmocka_unit_test(test_manifest_files_exist),
        cmocka_unit_test(test_schema_version_is_newest),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
