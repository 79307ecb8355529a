/* cors.c: Cross-Origin Resource Sharing for browser callers (docs/net.md,
 * "CORS"). On when rn_http_config_t.cors_expose_headers is set.
 *
 *   - a request with an Origin header: its answer carries
 *     Access-Control-Allow-Origin: * and Access-Control-Expose-Headers;
 *   - an OPTIONS request with an Origin header (a preflight) is answered
 *     here, 200 with no body, before the handler sees it (so before any
 *     method, target or authentication check): Access-Control-Allow-Headers
 *     and -Methods echo the request's Access-Control-Request-Headers and
 *     -Method, and Access-Control-Max-Age is 172800 (two days).
 * Everything else goes to the handler untouched. */
#include "net/net_int.h"

#include "util/ascii.h"

#include <string.h>

#define CORS_MAX_AGE "172800"

#define LIT(s) (s), sizeof(s) - 1
#define HDR(n, v, vl) ((rn_http_header_t){(n), sizeof(n) - 1, (v), (vl)})

static int name_is(const rn_http_header_t *h, const char *lit, size_t n)
{
    return h->name_len == n && rn_ascii_eq_ci(h->name, lit, n);
}

int rn_net_cors_dispatch(rn_http_exchange_t *ex)
{
    rn_http_server_t *srv = ex->srv;
    ex->cors = 0;
    if (!srv || !srv->cfg.cors_expose_headers)
        return 0;
    const rn_http_header_t *acrh = NULL, *acrm = NULL;
    for (size_t i = 0; i < ex->req.n_headers; i++) {
        const rn_http_header_t *h = &ex->req.headers[i];
        if (name_is(h, LIT("origin")))
            ex->cors = 1;
        else if (!acrh && name_is(h, LIT("access-control-request-headers")))
            acrh = h;
        else if (!acrm && name_is(h, LIT("access-control-request-method")))
            acrm = h;
    }
    if (!ex->cors || strcmp(ex->req.method, "OPTIONS") != 0)
        return 0;
    rn_http_header_t h[4];
    size_t n = 0;
    if (acrh)
        h[n++] = HDR("Access-Control-Allow-Headers", acrh->value, acrh->value_len);
    if (acrm)
        h[n++] = HDR("Access-Control-Allow-Methods", acrm->value, acrm->value_len);
    h[n++] = HDR("Access-Control-Max-Age", CORS_MAX_AGE, sizeof(CORS_MAX_AGE) - 1);
    rn_http_respond(ex, 200, NULL, h, n, NULL, 0);
    return 1;
}

size_t rn_net_cors_headers(const rn_http_exchange_t *ex, const rn_http_header_t *extra, size_t n_extra,
                           rn_http_header_t *out, size_t cap)
{
    const char *expose = ex->srv ? ex->srv->cfg.cors_expose_headers : NULL;
    if (!ex->cors || !expose || n_extra + 2 > cap)
        return 0;
    memcpy(out, extra, n_extra * sizeof *extra);
    out[n_extra] = HDR("Access-Control-Allow-Origin", "*", 1);
    out[n_extra + 1] = HDR("Access-Control-Expose-Headers", expose, strlen(expose));
    return n_extra + 2;
}
