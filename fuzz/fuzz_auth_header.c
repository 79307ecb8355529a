/* fuzz_auth_header.c: libFuzzer target for the SigV4 parsers and
 * canonicaliser (auth/sigv4.c). Input: a first line "METHOD target" (target
 * = path[?query]), then header lines "name:value" up to an empty line, then
 * the body. The request goes through parse (Authorization header or
 * presigned query), check and verify under two option sets; every failure
 * must carry a kind, an AWS type and a NUL-terminated message. Then the same
 * path, query and headers are signed with the library's pieces (header
 * form) and must verify: sign-then-verify holds for any bytes. The
 * canonical query must be idempotent. Corpus: fuzz/corpus/fuzz_auth_header/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sigv4.h"
#include "util/ascii.h"
#include "util/status.h"

#define MAXH 24
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T0 "20150830T123600Z"

static rn_sigv4_cache_t *cache;

static void check_fail(const rn_sigv4_failure_t *f, int rc)
{
    if (rc == 1 && (f->kind == RN_SIGV4_OK || !f->aws_type || !f->aws_type[0] ||
                    memchr(f->message, 0, sizeof f->message) == NULL || !f->message[0]))
        abort();
    if (rc != 0 && rc != 1 && rc != RN_ENOMEM && rc != RN_ETOOBIG)
        abort();
}

static int named(const rn_sigv4_header_t *h, const char *n)
{
    size_t l = strlen(n);
    return h->name_len == l && rn_ascii_eq_ci(h->name, n, l);
}

static void roundtrip(rn_sigv4_request_t *req, rn_sigv4_header_t *hs, size_t nh)
{
    for (size_t i = 0; i < nh; i++)
        if (named(&hs[i], "authorization") || named(&hs[i], "x-amz-date") || named(&hs[i], "date") ||
            named(&hs[i], "x-amz-content-sha256") || named(&hs[i], "host"))
            return;
    for (size_t i = 0; i + 1 < req->query_len; i++)
        if (req->query[i] == '%' || req->query[i] == 'X' || req->query[i] == 'x')
            return; /* might spell X-Amz-Algorithm: the presigned form */
    rn_sigv4_header_t h[MAXH + 3];
    memcpy(h, hs, nh * sizeof *h);
    h[nh++] = (rn_sigv4_header_t){"Host", 4, "example.com", 11};
    h[nh++] = (rn_sigv4_header_t){"X-Amz-Date", 10, T0, 16};
    /* sign every header we pass: names joined by ';' (lower-cased, sorted not needed) */
    char list[2048];
    size_t ll = 0;
    for (size_t i = 0; i < nh; i++) {
        if (!h[i].name_len || ll + h[i].name_len + 2 > sizeof list)
            return;
        for (size_t k = 0; k < h[i].name_len; k++) {
            char c = h[i].name[k];
            if (c == ';' || c == ',' || c == ' ' || c == '=' || c == '\t' || c == 0)
                return;
            list[ll++] = (char)rn_ascii_lower((unsigned char)c);
        }
        list[ll++] = ';';
    }
    list[--ll] = 0;
    rn_sigv4_request_t r = *req;
    r.headers = h;
    r.n_headers = nh;
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_auth_t a;
    memset(&a, 0, sizeof a);
    a.signed_headers = (rn_sigv4_str_t){list, ll};
    a.date = (rn_sigv4_str_t){T0, 8};
    a.region = (rn_sigv4_str_t){"us-east-1", 9};
    a.service = (rn_sigv4_str_t){"kinesis", 7};
    memcpy(a.amz_date, T0, 17);
    rn_sigv4_failure_t f;
    char ph[65];
    if (rn_sigv4_payload_hash(&r, &a, &o, ph, &f) != 0)
        abort();
    rn_buf_t creq, sts;
    rn_buf_init(&creq, 0);
    rn_buf_init(&sts, 0);
    uint8_t key[32];
    char sig[65];
    if (rn_sigv4_canonical_request(&r, &a, &o, ph, &creq) != 0 ||
        rn_sigv4_string_to_sign(&a, (char *)creq.data, creq.len, &sts) != 0 ||
        rn_sigv4_signing_key(SECRET, strlen(SECRET), a.date, a.region, a.service, key) != 0 ||
        rn_sigv4_signature(key, (char *)sts.data, sts.len, sig) != 0)
        abort();
    char authz[2300];
    snprintf(authz, sizeof authz,
             "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kinesis/aws4_request, "
             "SignedHeaders=%s, Signature=%s",
             list, sig);
    h[nh++] = (rn_sigv4_header_t){"Authorization", 13, authz, strlen(authz)};
    r.n_headers = nh;
    rn_sigv4_auth_t b;
    int64_t t0;
    rn_sigv4_parse_amz_date(T0, 16, &t0);
    if (rn_sigv4_parse(&r, &b, &f) != 0 || rn_sigv4_check(&b, &o, t0, &f) != 0 ||
        rn_sigv4_verify(cache, &r, &b, &o, SECRET, strlen(SECRET), NULL, NULL, &f) != 0)
        abort();
    rn_sigv4_auth_dispose(&b);
    rn_buf_dispose(&creq);
    rn_buf_dispose(&sts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cache && !(cache = rn_sigv4_cache_create()))
        abort();
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    if (!nl)
        return 0;
    char method[16];
    const char *sp = memchr(p, ' ', (size_t)(nl - p));
    if (!sp || (size_t)(sp - p) >= sizeof method)
        return 0;
    memcpy(method, p, (size_t)(sp - p));
    method[sp - p] = 0;
    const char *target = sp + 1;
    size_t tlen = (size_t)(nl - target);
    const char *q = memchr(target, '?', tlen);
    rn_sigv4_header_t h[MAXH];
    size_t nh = 0;
    p = nl + 1;
    while (p < end && nh < MAXH) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *le = e ? e : end;
        if (le == p) {
            p = e ? e + 1 : end;
            break;
        }
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon)
            h[nh++] = (rn_sigv4_header_t){p, (size_t)(colon - p), colon + 1, (size_t)(le - colon - 1)};
        p = e ? e + 1 : end;
    }
    rn_sigv4_request_t req = {
        .method = method,
        .path = target,
        .path_len = q ? (size_t)(q - target) : tlen,
        .query = q ? q + 1 : NULL,
        .query_len = q ? (size_t)(target + tlen - q - 1) : 0,
        .headers = h,
        .n_headers = nh,
        .payload = (const uint8_t *)p,
        .payload_len = (size_t)(end - p),
    };
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    int64_t t0;
    rn_sigv4_parse_amz_date(T0, 16, &t0);
    for (int variant = 0; variant < 2; variant++) {
        if (variant) {
            o.service = "service";
            o.normalize_path = 0;
            o.allow_unsigned_payload = 1;
            o.presigned_unsigned = 1;
            o.region = "us-east-1";
        }
        rn_sigv4_auth_t a;
        rn_sigv4_failure_t f;
        int rc = rn_sigv4_parse(&req, &a, &f);
        check_fail(&f, rc);
        if (rc == 0) {
            rc = rn_sigv4_check(&a, &o, variant ? a.time : t0, &f);
            check_fail(&f, rc);
            if (rc == 0) {
                rn_buf_t creq, sts;
                rn_buf_init(&creq, 0);
                rn_buf_init(&sts, 0);
                rc = rn_sigv4_verify(cache, &req, &a, &o, SECRET, strlen(SECRET), &creq, &sts, &f);
                check_fail(&f, rc);
                rn_buf_dispose(&creq);
                rn_buf_dispose(&sts);
            }
        }
        rn_sigv4_auth_dispose(&a);
    }
    /* the canonical query is a fixed point of itself */
    rn_buf_t c1, c2, pth;
    rn_buf_init(&c1, 0);
    rn_buf_init(&c2, 0);
    rn_buf_init(&pth, 0);
    if (rn_sigv4_canonical_query(req.query, req.query_len, NULL, &c1) != 0 ||
        rn_sigv4_canonical_query((char *)c1.data, c1.len, NULL, &c2) != 0 || c1.len != c2.len ||
        (c1.len && memcmp(c1.data, c2.data, c1.len) != 0))
        abort();
    if (rn_sigv4_canonical_path(req.path, req.path_len, 1, &pth) != 0 || pth.len == 0 || pth.data[0] != '/')
        abort();
    rn_buf_dispose(&c1);
    rn_buf_dispose(&c2);
    rn_buf_dispose(&pth);
    roundtrip(&req, h, nh);
    return 0;
}
