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
 * Everything else goes to the handler untouched. Origin is noted as soon as
 * a request's head is complete (rn_net_cors_note), and the CORS headers are
 * added where the protocol engines write every answer head (the handler's
 * answers, the engines' own 400/408/413/503, a streaming answer's head), so
 * no answer to a request with Origin goes without them. */
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

void rn_net_cors_note(rn_http_exchange_t *ex)
{
    rn_http_server_t *srv = ex->srv;
    ex->cors = 0;
    if (!srv || !srv->cfg.cors_expose_headers)
        return;
    for (size_t i = 0; i < ex->req.n_headers && !ex->cors; i++)
        ex->cors = name_is(&ex->req.headers[i], LIT("origin"));
}

int rn_net_cors_dispatch(rn_http_exchange_t *ex)
{
    if (!ex->cors || strcmp(ex->req.method, "OPTIONS") != 0)
        return 0;
    const rn_http_header_t *acrh = NULL, *acrm = NULL;
    for (size_t i = 0; i < ex->req.n_headers; i++) {
        const rn_http_header_t *h = &ex->req.headers[i];
        if (!acrh && name_is(h, LIT("access-control-request-headers")))
            acrh = h;
        else if (!acrm && name_is(h, LIT("access-control-request-method")))
            acrm = h;
    }
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

const rn_http_header_t *rn_net_cors_headers(const rn_http_exchange_t *ex, const rn_http_header_t *extra,
                                            size_t *n_extra, rn_http_header_t *out, size_t cap)
{
    const char *expose = ex && ex->srv ? ex->srv->cfg.cors_expose_headers : NULL;
    size_t n = *n_extra;
    if (!ex || !ex->cors || !expose || n + 2 > cap)
        return extra;
    if (n)
        memcpy(out, extra, n * sizeof *extra);
    out[n] = HDR("Access-Control-Allow-Origin", "*", 1);
    out[n + 1] = HDR("Access-Control-Expose-Headers", expose, strlen(expose));
    *n_extra = n + 2;
    return out;
}
