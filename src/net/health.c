/* health.c: GET and HEAD of /health/live and /health/ready (http.h
 * rn_http_health), for load balancers and container probes
 * (docs/operations.md, "Health"). The caller says whether it is ready;
 * live is answered 200 whenever anything answers at all. */
#include <string.h>

#include "net/http.h"

static int path_is(const char *path, const char *want)
{
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 && (path[n] == 0 || path[n] == '?');
}

int rn_http_health(rn_http_exchange_t *ex, const rn_http_request_t *req, int ready)
{
    int head = strcmp(req->method, "HEAD") == 0;
    if ((!head && strcmp(req->method, "GET") != 0) || !req->path)
        return 0;
    if (path_is(req->path, "/health/live"))
        ready = -1;
    else if (!path_is(req->path, "/health/ready"))
        return 0;
    static const char live[] = "{\"status\":\"live\"}\n", up[] = "{\"status\":\"ready\"}\n",
                      down[] = "{\"status\":\"not ready\"}\n";
    const char *body = ready < 0 ? live : ready ? up : down;
    uint8_t *copy = head ? NULL : (uint8_t *)strdup(body);
    const rn_http_header_t h = {"cache-control", 13, "no-store", 8};
    rn_http_respond(ex, ready == 0 ? 503 : 200, "application/json", &h, 1, copy, copy ? strlen(body) : 0);
    return 1;
}
