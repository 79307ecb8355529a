/* console.h: the web console's files (console/ in the source tree), embedded
 * into the binary at build time (cmake/embed_console.cmake writes the table)
 * and served by rn_http_console (http.h; docs/console.md). */
#ifndef RN_CONSOLE_H
#define RN_CONSOLE_H

#include <stddef.h>

typedef struct rn_console_asset {
    const char *name;           /* "index.html", "app.js": the file's name under console/ */
    const unsigned char *data;  /* its bytes, then a NUL byte not counted */
    size_t len;
} rn_console_asset_t;

/* Sorted by name; ends with an entry whose name is NULL. */
extern const rn_console_asset_t rn_console_assets[];

/* The asset called name[0..len), or NULL. */
const rn_console_asset_t *rn_console_find(const char *name, size_t len);

#endif
