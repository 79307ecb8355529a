/* auth.c (api): verified mode: the credentials load and SigV4 on a request
 * (auth.h). */
#include "api/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ident.h"
#include "util/ascii.h"
#include "util/status.h"

static int who_cmp(const void *a, const void *b)
{
    const rn_creds_identity_t *x = ((const rn_auth_who_t *)a)->id, *y = ((const rn_auth_who_t *)b)->id;
    return x < y ? -1 : x > y;
}

/* An assumed-role session "arn:<p>:sts::<acct>:assumed-role/<role>/<session>"
 * acts for "arn:<p>:iam::<acct>:role/<role>"; an IAM user has a username. */
static void who_names(rn_auth_who_t *w)
{
    const char *arn = w->id->arn;
    const char *ar = strstr(arn, ":assumed-role/");
    if (ar && strncmp(arn, "arn:", 4) == 0) {
        const char *part_end = strchr(arn + 4, ':');
        const char *role = ar + 14, *slash = strchr(role, '/');
        if (part_end && slash)
            snprintf(w->role_arn, sizeof w->role_arn, "arn:%.*s:iam::%s:role/%.*s",
                     (int)(part_end - (arn + 4)), arn + 4, w->id->account_id, (int)(slash - role), role);
    }
    const char *u = strstr(arn, ":user/");
    if (u) {
        const char *name = strrchr(u + 6, '/');
        w->username = name ? name + 1 : u + 6;
    }
}

int rn_auth_load(const char *path, rn_auth_t **out, char *err, size_t errlen)
{
    rn_creds_error_t cerr;
    rn_creds_store_t *store = NULL;
    int rc = rn_creds_store_load_file(path, &store, &cerr);
    if (rc != 0) {
        if (rc == RN_EINVAL || rc == RN_EIO)
            snprintf(err, errlen, "%s", cerr.text);
        else
            snprintf(err, errlen, "%s: %s", path, rn_strerror(rc));
        return rc;
    }
    rn_auth_t *a = calloc(1, sizeof *a);
    size_t n = rn_creds_store_count(store), total = 0;
    for (size_t i = 0; i < n; i++)
        total += json_array_size(rn_creds_identity_policies(rn_creds_store_at(store, i)));
    if (!a || !(a->who = calloc(n ? n : 1, sizeof *a->who)) ||
        !(a->pols = calloc(total ? total : 1, sizeof *a->pols))) {
        if (a)
            free(a->who);
        free(a);
        rn_creds_store_destroy(store);
        snprintf(err, errlen, "%s: out of memory", path);
        return RN_ENOMEM;
    }
    a->refs = 1;
    a->store = store;
    a->n = n;
    snprintf(a->source, sizeof a->source, "%s", path);
    for (size_t i = 0; i < n; i++) {
        const rn_creds_identity_t *id = rn_creds_store_at(store, i);
        rn_auth_who_t *w = &a->who[i];
        w->id = id;
        w->pols = (const rn_policy_t *const *)&a->pols[a->npols];
        json_t *arr = rn_creds_identity_policies(id), *doc;
        size_t j;
        json_array_foreach(arr, j, doc) {
            char perr[512];
            int prc = rn_policy_compile(doc, RN_POLICY_IDENTITY, &a->pols[a->npols], perr, sizeof perr);
            if (prc != 0) {
                snprintf(err, errlen, "%s:%d: identity %zu: policies[%zu]: %s", path, id->line, i, j,
                         prc == RN_ENOMEM ? "out of memory" : perr);
                rn_auth_release(a);
                return prc == RN_ENOMEM ? RN_ENOMEM : RN_EINVAL;
            }
            a->npols++;
            w->npols++;
        }
        who_names(w);
    }
    qsort(a->who, n, sizeof *a->who, who_cmp);
    *out = a;
    return 0;
}

void rn_auth_retain(rn_auth_t *a)
{
    if (a)
        a->refs++;
}

void rn_auth_release(rn_auth_t *a)
{
    if (!a || --a->refs > 0)
        return;
    for (size_t i = 0; i < a->npols; i++)
        rn_policy_destroy(a->pols[i]);
    free(a->pols);
    free(a->who);
    rn_creds_store_destroy(a->store);
    free(a);
}

static const rn_auth_who_t *who_of(const rn_auth_t *a, const rn_creds_identity_t *id)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->who[mid].id == id)
            return &a->who[mid];
        if (a->who[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The one place sigv4's failure kinds meet the error table. */
int rn_auth_sigv4_error(const rn_sigv4_failure_t *f, rn_error_t *err)
{
    switch (f->kind) {
    case RN_SIGV4_MISSING:
        return rn_error_set(err, RN_AWS_MISSING_AUTH);
    case RN_SIGV4_INCOMPLETE:
    case RN_SIGV4_BAD_DATE:
    case RN_SIGV4_BAD_EXPIRES:
    case RN_SIGV4_BAD_ALGORITHM:
    case RN_SIGV4_BAD_CREDENTIAL:
        return rn_error_set(err, RN_AWS_INCOMPLETE_SIGNATURE, f->message);
    case RN_SIGV4_BOTH:
    case RN_SIGV4_EXPIRED:
    case RN_SIGV4_NOT_YET_CURRENT:
    case RN_SIGV4_PRESIGN_EXPIRED:
    case RN_SIGV4_HOST_NOT_SIGNED:
    case RN_SIGV4_BAD_SCOPE:
    case RN_SIGV4_PAYLOAD_HASH_MISMATCH:
    case RN_SIGV4_MISMATCH:
        return rn_error_set(err, RN_AWS_INVALID_SIGNATURE, f->message);
    case RN_SIGV4_OK:
    case RN_SIGV4_FAIL_COUNT:
        break;
    }
    return rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
}

#define HDR_STACK 64

int rn_auth_verify(const rn_auth_t *a, rn_sigv4_cache_t *cache, const rn_http_request_t *req,
                   int64_t now_ms, const char *default_region, const rn_auth_who_t **who,
                   char *account, size_t account_cap, char *region, size_t region_cap, rn_error_t *err)
{
    return rn_auth_verify_service(a, cache, req, now_ms, default_region, NULL, who, account, account_cap, region,
                                  region_cap, err);
}

int rn_auth_verify_service(const rn_auth_t *a, rn_sigv4_cache_t *cache, const rn_http_request_t *req,
                           int64_t now_ms, const char *default_region, const char *service,
                           const rn_auth_who_t **who, char *account, size_t account_cap, char *region,
                           size_t region_cap, rn_error_t *err)
{
    int64_t now_s = now_ms / 1000;
    /* The headers as received; over HTTP/2 :authority is the host, under
     * both names: the JS SDK v3's HTTP/2 handler signs ":authority" itself. */
    rn_sigv4_header_t stack[HDR_STACK], *hs = stack;
    size_t nh = req->n_headers + (req->http2 ? 2 : 0);
    if (nh > HDR_STACK && !(hs = malloc(nh * sizeof *hs)))
        return rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
    size_t k = 0;
    if (req->http2) {
        hs[k++] = (rn_sigv4_header_t){"host", 4, req->authority, strlen(req->authority)};
        hs[k++] = (rn_sigv4_header_t){":authority", 10, req->authority, strlen(req->authority)};
    }
    for (size_t i = 0; i < req->n_headers; i++)
        hs[k++] = (rn_sigv4_header_t){req->headers[i].name, req->headers[i].name_len, req->headers[i].value,
                                      req->headers[i].value_len};
    const char *q = strchr(req->path, '?');
    rn_sigv4_request_t sr = {
        .method = req->method,
        .path = req->path,
        .path_len = q ? (size_t)(q - req->path) : strlen(req->path),
        .query = q ? q + 1 : NULL,
        .query_len = q ? strlen(q + 1) : 0,
        .headers = hs,
        .n_headers = k,
        .payload = req->body,
        .payload_len = req->body_len,
    };
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    if (service)
        o.service = service;
    rn_sigv4_auth_t au;
    memset(&au, 0, sizeof au);
    rn_sigv4_failure_t fail, *f = &fail;
    int rc = -1;
    int r = rn_sigv4_parse(&sr, &au, f);
    if (r == 0)
        r = rn_sigv4_check(&au, &o, now_s, f);
    if (r == 1) {
        rn_auth_sigv4_error(f, err);
        goto out;
    }
    if (r != 0) {
        rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
        goto out;
    }
    if (!rn_region_valid(au.region.p, au.region.len, default_region)) {
        char esc[RN_REGION_MAX * 6 + 8];
        rn_escape_printable(au.region.p, au.region.len > 64 ? 64 : au.region.len, esc, sizeof esc);
        rn_error_set(err, RN_AWS_CREDENTIAL_REGION, esc);
        goto out;
    }
    const rn_creds_identity_t *id = rn_creds_store_find(a->store, au.access_key.p, au.access_key.len);
    if (!id || !rn_creds_identity_token_matches(id, au.security_token.p, au.security_token.len)) {
        rn_error_set(err, RN_AWS_UNRECOGNIZED_CLIENT);
        goto out;
    }
    if (rn_creds_identity_expired(id, now_ms)) {
        rn_error_set(err, RN_AWS_EXPIRED_TOKEN);
        goto out;
    }
    r = rn_sigv4_verify(cache, &sr, &au, &o, id->secret_access_key, id->secret_len, NULL, NULL, f);
    if (r == 1) {
        rn_auth_sigv4_error(f, err);
        goto out;
    }
    if (r != 0) {
        rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
        goto out;
    }
    *who = who_of(a, id);
    if (!*who) {
        rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
        goto out;
    }
    size_t al = strlen(id->account_id), rl = au.region.len;
    al = al < account_cap ? al : account_cap - 1;
    rl = rl < region_cap ? rl : region_cap - 1;
    memcpy(account, id->account_id, al);
    account[al] = 0;
    memcpy(region, au.region.p, rl);
    region[rl] = 0;
    rc = 0;
out:
    rn_sigv4_auth_dispose(&au);
    if (hs != stack)
        free(hs);
    return rc;
}
