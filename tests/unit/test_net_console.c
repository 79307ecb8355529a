/* test_net_console.c: the console's embedded files (net/console.h) are the
 * files under console/ byte for byte (so an edit there rebuilds into the
 * binary), every file is embedded, the table is sorted, each array ends in a
 * NUL byte, and rn_console_find matches whole names only. */
#include "net/console.h"
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *src = getenv("RUNNEL_SOURCE_DIR");
    CHECK(src != NULL);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/console", src ? src : ".");

    size_t n_assets = 0;
    for (const rn_console_asset_t *a = rn_console_assets; a->name; a++, n_assets++) {
        if (a != rn_console_assets)
            CHECK(strcmp(a[-1].name, a->name) < 0);
        CHECK_EQ_INT(a->data[a->len], 0);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, a->name);
        size_t len = 0;
        char *want = rn_test_slurp(path, &len);
        CHECK(want != NULL);
        CHECK_EQ_INT(a->len, len);
        CHECK(want && a->len == len && memcmp(a->data, want, len) == 0);
        free(want);
        CHECK(rn_console_find(a->name, strlen(a->name)) == a);
    }
    size_t n_files = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        n_files++;
        CHECK(rn_console_find(e->d_name, strlen(e->d_name)) != NULL);
    }
    if (d)
        closedir(d);
    CHECK_EQ_INT(n_assets, n_files);
    CHECK(rn_console_find("index.html", 10) != NULL);
    CHECK(rn_console_find("index.htm", 9) == NULL);
    CHECK(rn_console_find("index.html", 5) == NULL);
    CHECK(rn_console_find("", 0) == NULL);
    CHECK(rn_console_find("../index.html", 13) == NULL);
    return rn_test_done("test_net_console");
}
