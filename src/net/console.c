/* console.c: GET and HEAD of /console and /console/<file> (http.h
 * rn_http_console): the web console's files, embedded in the binary
 * (net/console.h), for a browser on the API port's own origin
 * (docs/console.md). Static bytes only: they hold no data, and every call
 * the page makes is a Kinesis request the API authenticates as any other. */
#include <stdlib.h>
#include <string.h>

#include "net/console.h"
#include "net/http.h"

#define PREFIX "/console"
#define LIT(s) (s), sizeof(s) - 1
#define HDR(n, v) ((rn_http_header_t){LIT(n), LIT(v)})

/* Same origin only: no inline script or style, no frames, no other host. */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const rn_console_asset_t *rn_console_find(const char *name, size_t len)
{
    for (const rn_console_asset_t *a = rn_console_assets; a->name; a++)
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    return NULL;
}

static const char *content_type(const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

int rn_http_console(rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    int head = strcmp(req->method, "HEAD") == 0;
    if ((!head && strcmp(req->method, "GET") != 0) || !req->path ||
        strncmp(req->path, LIT(PREFIX)) != 0)
        return 0;
    const char *rest = req->path + sizeof PREFIX - 1;
    size_t len = strcspn(rest, "?#");
    if (len > 0 && rest[0] != '/')
        return 0; /* /consoles: not ours */
    const char *name = len > 1 ? rest + 1 : "index.html"; /* /console, /console/ */
    size_t nlen = len > 1 ? len - 1 : strlen(name);
    const rn_console_asset_t *a = rn_console_find(name, nlen);
    const rn_http_header_t h[] = {
        HDR("cache-control", "no-cache"), HDR("x-content-type-options", "nosniff"),
        HDR("content-security-policy", CSP), HDR("referrer-policy", "no-referrer"),
    };
    if (!a) {
        static const char nf[] = "Not Found: the console has no such file\n";
        uint8_t *body = head ? NULL : malloc(sizeof nf - 1);
        if (body)
            memcpy(body, nf, sizeof nf - 1);
        rn_http_respond(ex, 404, "text/plain; charset=utf-8", h, sizeof h / sizeof h[0], body,
                        body ? sizeof nf - 1 : 0);
        return 1;
    }
    uint8_t *body = head ? NULL : malloc(a->len ? a->len : 1);
    if (body)
        memcpy(body, a->data, a->len);
    rn_http_respond(ex, 200, content_type(a->name), h, sizeof h / sizeof h[0], body, body ? a->len : 0);
    return 1;
}
