/*
 * replay.c: runs a fuzz harness over every file of the corpus directories
 * given on the command line, as a regression test (TAP output).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    uint8_t chunk[4096];

    if (f == NULL)
        return -1;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + got > cap) {
            cap = (len + got) * 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        memcpy(buf + len, chunk, got);
        len += got;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf != NULL ? buf : (const uint8_t *)"", len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int n = 0, failed = 0;

    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        struct dirent *e;
        if (d == NULL) {
            printf("not ok %d - cannot open %s\n", ++n, argv[a]);
            failed++;
            continue;
        }
        while ((e = readdir(d)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[a], e->d_name);
            /* A crash aborts the process: meson then counts the test failed. */
            int rc = replay_file(path);
            printf("%s %d - %s\n", rc == 0 ? "ok" : "not ok", ++n, e->d_name);
            failed += rc != 0;
        }
        closedir(d);
    }
    printf("1..%d\n", n);
    return failed > 0;
}
