/* test_auth_sigv4.c: the SigV4 verifier (src/auth/sigv4.c).
 *
 * 1. AWS's signing test suite (../shared/sigv4-test-suite/v4, read at test
 *    time from ${RUNNEL_SOURCE_DIR}/../shared/...): every vector's signed
 *    request, header form and query form, parsed, checked and verified; the
 *    canonical request and string to sign must match byte for byte.
 * 2. Canonicalisation edge cases, parser failures with AWS's wording, skew
 *    boundaries, presigned expiry, the signing-key cache, and that the
 *    signature comparison goes through CRYPTO_memcmp. */
#include <dirent.h>
#include <dlfcn.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sigv4.h"
#include "tap.h"

/* ---- CRYPTO_memcmp interposed: counts calls, forwards to libcrypto's ---------- */

static int memcmp_calls;
int CRYPTO_memcmp(const volatile void *a, const volatile void *b, size_t len);
int CRYPTO_memcmp(const volatile void *a, const volatile void *b, size_t len)
{
    static int (*real)(const volatile void *, const volatile void *, size_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "CRYPTO_memcmp");
    memcmp_calls++;
    return real(a, b, len);
}

/* ---- a tiny HTTP/1.1 request-file parser for the vectors ----------------------- */

#define MAXH 32
typedef struct vreq {
    char *text;              /* owned copy of the file, cut in place */
    char method[16];
    char *path, *query;
    rn_sigv4_header_t h[MAXH];
    size_t nh;
    char *body;
    size_t body_len;
    char *vals[MAXH];        /* unfolded values (owned) */
    rn_sigv4_request_t req;
} vreq_t;

static void vreq_free(vreq_t *v)
{
    for (size_t i = 0; i < v->nh; i++)
        free(v->vals[i]);
    free(v->text);
}

static int vreq_parse(vreq_t *v, const char *file)
{
    memset(v, 0, sizeof *v);
    size_t len;
    v->text = rn_test_slurp(file, &len);
    if (!v->text)
        return -1;
    char *p = v->text, *end = v->text + len;
    char *nl = strchr(p, '\n');
    if (!nl)
        return -1;
    *nl = 0;
    char *sp = strchr(p, ' ');
    char *ver = strrchr(p, ' ');
    if (!sp || ver == sp || (size_t)(sp - p) >= sizeof v->method)
        return -1;
    memcpy(v->method, p, (size_t)(sp - p));
    *ver = 0;
    v->path = sp + 1;
    char *q = strchr(v->path, '?');
    if (q) {
        *q = 0;
        v->query = q + 1;
    }
    p = nl + 1;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        if (le == p) { /* blank line: the body follows */
            p = nl ? nl + 1 : end;
            break;
        }
        *le = 0;
        if ((*p == ' ' || *p == '\t') && v->nh) { /* obs-fold: continue the previous value */
            char *old = v->vals[v->nh - 1];
            size_t ol = strlen(old), al = strlen(p);
            char *nv = malloc(ol + al + 2);
            memcpy(nv, old, ol);
            nv[ol] = ' ';
            memcpy(nv + ol + 1, p, al + 1);
            free(old);
            v->vals[v->nh - 1] = nv;
        } else {
            char *colon = strchr(p, ':');
            if (!colon || v->nh == MAXH)
                return -1;
            *colon = 0;
            v->h[v->nh].name = p;
            v->h[v->nh].name_len = strlen(p);
            v->vals[v->nh] = strdup(colon + 1);
            v->nh++;
        }
        p = nl ? nl + 1 : end;
    }
    v->body = p < end ? p : NULL;
    v->body_len = p < end ? (size_t)(end - p) : 0;
    for (size_t i = 0; i < v->nh; i++) {
        v->h[i].value = v->vals[i];
        v->h[i].value_len = strlen(v->vals[i]);
    }
    v->req.method = v->method;
    v->req.path = v->path;
    v->req.path_len = strlen(v->path);
    v->req.query = v->query;
    v->req.query_len = v->query ? strlen(v->query) : 0;
    v->req.headers = v->h;
    v->req.n_headers = v->nh;
    v->req.payload = (const uint8_t *)v->body;
    v->req.payload_len = v->body_len;
    return 0;
}

/* ---- the suite ------------------------------------------------------------------ */

typedef struct ctx {
    char secret[128];
    char service[32];
    int normalize;
    int64_t now;
} ctx_t;

static int load_ctx(const char *dir, ctx_t *c)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/context.json", dir);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        return -1;
    const char *sec = json_string_value(json_object_get(json_object_get(j, "credentials"), "secret_access_key"));
    const char *svc = json_string_value(json_object_get(j, "service"));
    const char *ts = json_string_value(json_object_get(j, "timestamp"));
    int rc = -1;
    if (sec && svc && ts && strlen(ts) == 20) {
        snprintf(c->secret, sizeof c->secret, "%s", sec);
        snprintf(c->service, sizeof c->service, "%s", svc);
        c->normalize = json_is_true(json_object_get(j, "normalize"));
        /* 2015-08-30T12:36:00Z -> 20150830T123600Z */
        char amz[17] = {ts[0], ts[1], ts[2], ts[3], ts[5], ts[6], ts[8], ts[9], 'T',
                        ts[11], ts[12], ts[14], ts[15], ts[17], ts[18], 'Z', 0};
        rc = rn_sigv4_parse_amz_date(amz, 16, &c->now);
    }
    json_decref(j);
    return rc;
}

static int file_eq(const char *dir, const char *name, const rn_buf_t *got)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *want = rn_test_slurp(path, &len);
    int ok = want && len == got->len && memcmp(want, got->data, len) == 0;
    if (!ok)
        fprintf(stderr, "  %s differs:\n--- want\n%s\n--- got\n%s\n", path, want ? want : "(missing)",
                got->data ? (const char *)got->data : "");
    free(want);
    return ok;
}

/* One vector in one form; 1 if everything matched. */
static int run_vector(const char *dir, const char *form, const ctx_t *c)
{
    char file[2048];
    snprintf(file, sizeof file, "%s/%s-signed-request.txt", dir, form);
    vreq_t v;
    int ok = 0;
    if (vreq_parse(&v, file) != 0) {
        fprintf(stderr, "  %s: cannot parse\n", file);
        vreq_free(&v);
        return 0;
    }
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    o.service = c->service;
    o.normalize_path = c->normalize;
    rn_sigv4_auth_t a;
    rn_sigv4_failure_t f;
    rn_buf_t creq, sts;
    rn_buf_init(&creq, 0);
    rn_buf_init(&sts, 0);
    if (rn_sigv4_parse(&v.req, &a, &f) != 0) {
        fprintf(stderr, "  %s: parse: %s %s\n", file, rn_sigv4_fail_name(f.kind), f.message);
    } else if (rn_sigv4_check(&a, &o, c->now, &f) != 0) {
        fprintf(stderr, "  %s: check: %s %s\n", file, rn_sigv4_fail_name(f.kind), f.message);
    } else {
        int rc = rn_sigv4_verify(NULL, &v.req, &a, &o, c->secret, strlen(c->secret), &creq, &sts, &f);
        char n1[64], n2[64], n3[64];
        snprintf(n1, sizeof n1, "%s-canonical-request.txt", form);
        snprintf(n2, sizeof n2, "%s-string-to-sign.txt", form);
        snprintf(n3, sizeof n3, "%s-signature.txt", form);
        int m1 = file_eq(dir, n1, &creq), m2 = file_eq(dir, n2, &sts);
        rn_buf_t sig;
        rn_buf_init(&sig, 0);
        int m3 = rn_buf_append(&sig, a.signature.p, a.signature.len) == 0 && file_eq(dir, n3, &sig);
        rn_buf_dispose(&sig);
        if (rc != 0)
            fprintf(stderr, "  %s: verify: %d %s\n", file, rc, f.message);
        ok = rc == 0 && m1 && m2 && m3;
        if (ok) { /* one changed hex digit must fail */
            char *s = (char *)a.signature.p;
            char keep = s[63];
            s[63] = keep == '0' ? '1' : '0';
            ok = rn_sigv4_verify(NULL, &v.req, &a, &o, c->secret, strlen(c->secret), NULL, NULL, &f) ==
                     1 &&
                 f.kind == RN_SIGV4_MISMATCH;
            s[63] = keep;
        }
    }
    rn_buf_dispose(&creq);
    rn_buf_dispose(&sts);
    rn_sigv4_auth_dispose(&a);
    vreq_free(&v);
    return ok;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_suite(void)
{
    const char *src = getenv("RUNNEL_SOURCE_DIR");
    char root[1024];
    snprintf(root, sizeof root, "%s/../shared/sigv4-test-suite/v4", src ? src : "..");
    DIR *d = opendir(root);
    if (!d) {
        printf("# SKIP AWS SigV4 test suite: %s not found (set RUNNEL_SOURCE_DIR)\n", root);
        return;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmpstr);
    int hpass = 0, htotal = 0, qpass = 0, qtotal = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        char dir[1400], probe[2048];
        snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
        ctx_t c;
        if (load_ctx(dir, &c) != 0) {
            fprintf(stderr, "  %s: bad context.json\n", names[i]);
            CHECK(0);
            continue;
        }
        snprintf(probe, sizeof probe, "%s/header-signed-request.txt", dir);
        FILE *pf = fopen(probe, "r");
        if (pf) {
            fclose(pf);
            htotal++;
            int ok = run_vector(dir, "header", &c);
            hpass += ok;
            if (!ok)
                fprintf(stderr, "FAIL header %s\n", names[i]);
            CHECK(ok);
        }
        snprintf(probe, sizeof probe, "%s/query-signed-request.txt", dir);
        pf = fopen(probe, "r");
        if (pf) {
            fclose(pf);
            /* post-sts-header-after signs with omit_session_token: the token is appended to
             * the query after signing, so the signed canonical query lacks a parameter the
             * request carries. A verifier canonicalises what it receives and cannot undo
             * that (AWS's services reject such a presigned URL too). */
            if (strcmp(names[i], "post-sts-header-after") == 0) {
                printf("# skip query %s: session token added after signing (omit_session_token)\n",
                       names[i]);
                skipped++;
                continue;
            }
            qtotal++;
            int ok = run_vector(dir, "query", &c);
            qpass += ok;
            if (!ok)
                fprintf(stderr, "FAIL query %s\n", names[i]);
            CHECK(ok);
        }
    }
    printf("# SigV4 vectors: header form %d/%d pass, query form %d/%d pass, %d skipped\n", hpass,
           htotal, qpass, qtotal, skipped);
    CHECK(htotal > 0 && qtotal > 0);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
}

/* ---- canonicalisation edge cases ------------------------------------------------- */

static void path_is(const char *in, int normalize, const char *want)
{
    rn_buf_t b;
    rn_buf_init(&b, 0);
    CHECK_EQ_INT(rn_sigv4_canonical_path(in, strlen(in), normalize, &b), 0);
    CHECK_EQ_STR(b.data ? (const char *)b.data : "", want);
    rn_buf_dispose(&b);
}

static void query_is(const char *in, const char *exclude, const char *want)
{
    rn_buf_t b;
    rn_buf_init(&b, 0);
    CHECK_EQ_INT(rn_sigv4_canonical_query(in, strlen(in), exclude, &b), 0);
    CHECK_EQ_STR(b.data ? (const char *)b.data : "", want);
    rn_buf_dispose(&b);
}

static void test_paths(void)
{
    path_is("", 1, "/");
    path_is("/", 1, "/");
    path_is("/a/b/../c/./d//", 1, "/a/c/d/");
    path_is("/a/b/..", 1, "/a/");
    path_is("/../..", 1, "/");
    path_is("//a//b", 1, "/a/b");
    path_is("/a/./b", 0, "/a/./b");
    /* the wire path is already encoded once: non-S3 services encode it again */
    path_is("/example%20space/", 1, "/example%2520space/");
    path_is("/\xe1\x88\xb4", 1, "/%E1%88%B4");             /* raw UTF-8 */
    path_is("/%E1%88%B4", 1, "/%25E1%2588%25B4");           /* encoded UTF-8, encoded again */
    path_is("/a+b=c:d@e", 1, "/a%2Bb%3Dc%3Ad%40e");
    path_is("/-._~AZaz09", 1, "/-._~AZaz09");
}

static void test_queries(void)
{
    query_is("", NULL, "");
    query_is("b=2&a=1&a=0", NULL, "a=0&a=1&b=2");
    query_is("a", NULL, "a=");
    query_is("a=&b", NULL, "a=&b=");
    query_is("&&a=1&&", NULL, "a=1");
    query_is("x=%7e%7E", NULL, "x=~~");                     /* unreserved escapes decoded */
    query_is("s=a+b", NULL, "s=a%2Bb");                     /* '+' is a literal plus */
    query_is("q=a%20b&r=a%2fb", NULL, "q=a%20b&r=a%2Fb");   /* upper-case hex */
    query_is("k=%zz&k2=%4", NULL, "k=%25zz&k2=%254");       /* broken escapes stay literal */
    query_is("Param-3=1&Param=2&%E1%88%B4=3", NULL, "%E1%88%B4=3&Param=2&Param-3=1");
    query_is("a=1&X-Amz-Signature=abc&b=2", "X-Amz-Signature", "a=1&b=2");
    query_is("a=1&X-Amz-Signature=abc", NULL, "X-Amz-Signature=abc&a=1");
    query_is("k=v=w", NULL, "k=v%3Dw");
    query_is("B=1&a=1", NULL, "B=1&a=1");                   /* byte order: upper case first */
}

/* ---- a signer for self-made requests --------------------------------------------- */

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T0 "20150830T123600Z"

typedef struct mreq {
    rn_sigv4_header_t h[16];
    size_t nh;
    char authz[1024];
    rn_sigv4_request_t req;
} mreq_t;

static void mreq_init(mreq_t *m, const char *method, const char *path, const char *query)
{
    memset(m, 0, sizeof *m);
    m->req.method = method;
    m->req.path = path;
    m->req.path_len = strlen(path);
    m->req.query = query;
    m->req.query_len = query ? strlen(query) : 0;
    m->req.headers = m->h;
}

static void mreq_add(mreq_t *m, const char *name, const char *value)
{
    m->h[m->nh] = (rn_sigv4_header_t){name, strlen(name), value, strlen(value)};
    m->nh++;
    m->req.n_headers = m->nh;
}

/* Signs m for scope (date/region/service) and signed headers; adds Authorization. */
static void mreq_sign(mreq_t *m, const char *amz_date, const char *region, const char *service,
                      const char *signed_headers, const rn_sigv4_options_t *o)
{
    rn_sigv4_auth_t a;
    memset(&a, 0, sizeof a);
    a.signed_headers = (rn_sigv4_str_t){signed_headers, strlen(signed_headers)};
    a.date = (rn_sigv4_str_t){amz_date, 8};
    a.region = (rn_sigv4_str_t){region, strlen(region)};
    a.service = (rn_sigv4_str_t){service, strlen(service)};
    memcpy(a.amz_date, amz_date, 17);
    rn_sigv4_failure_t f;
    char ph[65];
    CHECK_EQ_INT(rn_sigv4_payload_hash(&m->req, &a, o, ph, &f), 0);
    rn_buf_t creq, sts;
    rn_buf_init(&creq, 0);
    rn_buf_init(&sts, 0);
    CHECK_EQ_INT(rn_sigv4_canonical_request(&m->req, &a, o, ph, &creq), 0);
    CHECK_EQ_INT(rn_sigv4_string_to_sign(&a, (char *)creq.data, creq.len, &sts), 0);
    uint8_t key[32];
    char sig[65];
    CHECK_EQ_INT(rn_sigv4_signing_key(SECRET, strlen(SECRET), a.date, a.region, a.service, key), 0);
    CHECK_EQ_INT(rn_sigv4_signature(key, (char *)sts.data, sts.len, sig), 0);
    snprintf(m->authz, sizeof m->authz,
             "AWS4-HMAC-SHA256 Credential=" AKID "/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
             "Signature=%s",
             amz_date, region, service, signed_headers, sig);
    mreq_add(m, "Authorization", m->authz);
    rn_buf_dispose(&creq);
    rn_buf_dispose(&sts);
}

/* parse + check + verify; returns the failure kind (RN_SIGV4_OK on success). */
static rn_sigv4_fail_t run(const mreq_t *m, const rn_sigv4_options_t *o, int64_t now,
                           rn_sigv4_cache_t *cache, rn_sigv4_failure_t *f)
{
    rn_sigv4_auth_t a;
    rn_sigv4_fail_t k = RN_SIGV4_OK;
    if (rn_sigv4_parse(&m->req, &a, f) != 0 || rn_sigv4_check(&a, o, now, f) != 0 ||
        rn_sigv4_verify(cache, &m->req, &a, o, SECRET, strlen(SECRET), NULL, NULL, f) != 0)
        k = f->kind;
    rn_sigv4_auth_dispose(&a);
    return k;
}

static int64_t at(const char *amz)
{
    int64_t t = 0;
    CHECK_EQ_INT(rn_sigv4_parse_amz_date(amz, strlen(amz), &t), 0);
    return t;
}

static void test_headers_canonical(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "Host", "kinesis.us-east-1.amazonaws.com");
    mreq_add(&m, "X-Amz-Date", T0);
    mreq_add(&m, "X-Amz-Meta", "  a   b\t\tc  ");
    mreq_add(&m, "x-amz-meta", "second");
    mreq_add(&m, "X-AMZ-META", "");
    mreq_add(&m, "Content-Type", "application/x-amz-json-1.1");
    rn_sigv4_auth_t a;
    memset(&a, 0, sizeof a);
    a.signed_headers = (rn_sigv4_str_t){"content-type;host;x-amz-date;x-amz-meta", 39};
    rn_buf_t b;
    rn_buf_init(&b, 0);
    CHECK_EQ_INT(rn_sigv4_canonical_request(&m.req, &a, &o, "UNSIGNED-PAYLOAD", &b), 0);
    CHECK_EQ_STR((char *)b.data, "POST\n/\n\n"
                                 "content-type:application/x-amz-json-1.1\n"
                                 "host:kinesis.us-east-1.amazonaws.com\n"
                                 "x-amz-date:" T0 "\n"
                                 "x-amz-meta:a b c,second,\n"
                                 "\n"
                                 "content-type;host;x-amz-date;x-amz-meta\n"
                                 "UNSIGNED-PAYLOAD");
    rn_buf_dispose(&b);

    /* A signed request with such headers verifies; changing an unsigned header does not matter,
     * changing a signed one does. */
    mreq_t s;
    mreq_init(&s, "POST", "/", NULL);
    mreq_add(&s, "host", "kinesis.us-east-1.amazonaws.com");
    mreq_add(&s, "x-amz-date", T0);
    mreq_add(&s, "x-amz-target", "Kinesis_20131202.ListStreams");
    mreq_add(&s, "user-agent", "test");
    s.req.payload = (const uint8_t *)"{}";
    s.req.payload_len = 2;
    mreq_sign(&s, T0, "us-east-1", "kinesis", "host;x-amz-date;x-amz-target", &o);
    rn_sigv4_failure_t f;
    CHECK_EQ_INT(run(&s, &o, at(T0), NULL, &f), RN_SIGV4_OK);
    s.h[3].value = "other";
    CHECK_EQ_INT(run(&s, &o, at(T0), NULL, &f), RN_SIGV4_OK);
    s.h[2].value = "Kinesis_20131202.DeleteStream";
    s.h[2].value_len = strlen(s.h[2].value);
    CHECK_EQ_INT(run(&s, &o, at(T0), NULL, &f), RN_SIGV4_MISMATCH);
    CHECK_EQ_STR(f.aws_type, "InvalidSignatureException");
    CHECK_EQ_STR(f.message, "The request signature we calculated does not match the signature you "
                            "provided. Check your AWS Secret Access Key and signing method. Consult "
                            "the service documentation for details.");
    s.h[2].value = "Kinesis_20131202.ListStreams";
    s.h[2].value_len = strlen(s.h[2].value);
    s.req.payload = (const uint8_t *)"{ }"; /* the body is signed */
    s.req.payload_len = 3;
    CHECK_EQ_INT(run(&s, &o, at(T0), NULL, &f), RN_SIGV4_MISMATCH);
}

static void test_payload_hash(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_failure_t f;
    /* x-amz-content-sha256 that disagrees with the body */
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "host", "h");
    mreq_add(&m, "x-amz-date", T0);
    mreq_add(&m, "x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    m.req.payload = (const uint8_t *)"x";
    m.req.payload_len = 1;
    rn_sigv4_auth_t a;
    memset(&a, 0, sizeof a);
    char ph[65];
    memset(&f, 0, sizeof f);
    CHECK_EQ_INT(rn_sigv4_payload_hash(&m.req, &a, &o, ph, &f), 1);
    CHECK_EQ_INT(f.kind, RN_SIGV4_PAYLOAD_HASH_MISMATCH);
    /* UNSIGNED-PAYLOAD only when allowed */
    m.h[2].value = "UNSIGNED-PAYLOAD";
    m.h[2].value_len = 16;
    memset(&f, 0, sizeof f);
    CHECK_EQ_INT(rn_sigv4_payload_hash(&m.req, &a, &o, ph, &f), 1);
    o.allow_unsigned_payload = 1;
    CHECK_EQ_INT(rn_sigv4_payload_hash(&m.req, &a, &o, ph, &f), 0);
    CHECK_EQ_STR(ph, "UNSIGNED-PAYLOAD");
    mreq_sign(&m, T0, "us-east-1", "kinesis", "host;x-amz-content-sha256;x-amz-date", &o);
    CHECK_EQ_INT(run(&m, &o, at(T0), NULL, &f), RN_SIGV4_OK);
    /* a precomputed hash replaces hashing the payload */
    mreq_t p;
    mreq_init(&p, "POST", "/", NULL);
    p.req.payload_hash = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
    memset(&f, 0, sizeof f);
    CHECK_EQ_INT(rn_sigv4_payload_hash(&p.req, &a, &o, ph, &f), 0);
    CHECK_EQ_STR(ph, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    p.req.payload_hash = NULL;
    p.req.payload = (const uint8_t *)"Param1=value1";
    p.req.payload_len = 13;
    CHECK_EQ_INT(rn_sigv4_payload_hash(&p.req, &a, &o, ph, &f), 0);
    CHECK_EQ_STR(ph, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

/* ---- parser failures and AWS's wording ------------------------------------------- */

static rn_sigv4_fail_t parse_only(const mreq_t *m, rn_sigv4_failure_t *f)
{
    rn_sigv4_auth_t a;
    int rc = rn_sigv4_parse(&m->req, &a, f);
    rn_sigv4_auth_dispose(&a);
    return rc ? f->kind : RN_SIGV4_OK;
}

static void test_parse_failures(void)
{
    rn_sigv4_failure_t f;
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "host", "h");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_MISSING);
    CHECK_EQ_STR(f.message, "Missing Authentication Token");
    CHECK_EQ_STR(f.aws_type, "MissingAuthenticationTokenException");

    mreq_init(&m, "POST", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256");
    mreq_add(&m, "Authorization", "AWS4-HMAC-SHA256 Credential=a");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_BOTH);
    CHECK_EQ_STR(f.message, "Found both 'X-Amz-Algorithm' as a query-string param and "
                            "'Authorization' as HTTP header.");

    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "Authorization", "AWS4-HMAC-SHA256 ");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_INCOMPLETE);
    CHECK_EQ_STR(f.aws_type, "IncompleteSignatureException");
    CHECK_EQ_STR(f.message,
                 "Authorization header requires 'Credential' parameter. Authorization header "
                 "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
                 "parameter. Authorization header requires existence of either a 'X-Amz-Date' or a "
                 "'Date' header. Authorization=AWS4-HMAC-SHA256 ");
    CHECK_EQ_INT(f.missing, RN_SIGV4_MISS_CREDENTIAL | RN_SIGV4_MISS_SIGNATURE |
                                RN_SIGV4_MISS_SIGNED_HEADERS | RN_SIGV4_MISS_DATE);

    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "X-Amz-Date", T0);
    mreq_add(&m, "Authorization", "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kinesis/aws4_request, Signature=ab");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_INCOMPLETE);
    CHECK_EQ_STR(f.message, "Authorization header requires 'SignedHeaders' parameter. "
                            "Authorization=AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kinesis/"
                            "aws4_request, Signature=ab");

    /* the first token is the algorithm, whatever it holds: here it swallows
     * the Credential, and no sentence about the algorithm is added */
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "X-Amz-Date", T0);
    mreq_add(&m, "Authorization", "Credential=A/b/c/d/e, SignedHeaders=host, Signature=ab");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_INCOMPLETE);
    CHECK_EQ_INT(f.missing, RN_SIGV4_MISS_CREDENTIAL);
    CHECK_EQ_STR(f.message, "Authorization header requires 'Credential' parameter. "
                            "Authorization=Credential=A/b/c/d/e, SignedHeaders=host, Signature=ab");

    /* parameters split on commas and/or spaces */
    {
        const char *forms[] = {
            "AWS4-HMAC-SHA256 Credential=A/b/c/d/e SignedHeaders=host Signature=ab",
            "AWS4-HMAC-SHA256 Credential=A/b/c/d/e,SignedHeaders=host,Signature=ab",
            "AWS4-HMAC-SHA256,Credential=A/b/c/d/e, , SignedHeaders=host  ,Signature=ab",
            "AWS4-HMAC-SHA256\tCredential=A/b/c/d/e\tSignedHeaders=host\tSignature=ab",
        };
        for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
            mreq_init(&m, "POST", "/", NULL);
            mreq_add(&m, "X-Amz-Date", T0);
            mreq_add(&m, "Authorization", forms[i]);
            rn_sigv4_auth_t pa;
            CHECK_EQ_INT(rn_sigv4_parse(&m.req, &pa, &f), 0);
            CHECK(pa.credential.len == 9 && memcmp(pa.credential.p, "A/b/c/d/e", 9) == 0);
            CHECK(pa.signed_headers.len == 4 && memcmp(pa.signed_headers.p, "host", 4) == 0);
            CHECK(pa.signature.len == 2 && memcmp(pa.signature.p, "ab", 2) == 0);
            CHECK(pa.algorithm.len == 16);
            rn_sigv4_auth_dispose(&pa);
        }
    }

    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "X-Amz-Date", "2015-08-30T12:36:00Z");
    mreq_add(&m, "Authorization", "AWS4-HMAC-SHA256 Credential=A/b/c/d/e, SignedHeaders=host, Signature=ab");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_BAD_DATE);
    CHECK_EQ_STR(f.message, "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See "
                            "http://en.wikipedia.org/wiki/ISO_8601");
    m.h[0].value = "20151340T123600Z"; /* month 13 */
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_BAD_DATE);

    /* the Date header stands in for X-Amz-Date */
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "Date", "Sun, 30 Aug 2015 12:36:00 GMT");
    mreq_add(&m, "Authorization", "AWS4-HMAC-SHA256 Credential=A/b/c/d/e, SignedHeaders=host, Signature=ab");
    rn_sigv4_auth_t a;
    CHECK_EQ_INT(rn_sigv4_parse(&m.req, &a, &f), 0);
    CHECK_EQ_STR(a.amz_date, T0);
    rn_sigv4_auth_dispose(&a);

    /* presigned: one sentence per missing parameter */
    mreq_init(&m, "GET", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=" T0);
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_INCOMPLETE);
    CHECK_EQ_STR(f.message, "AWS query-string parameters must include 'X-Amz-Credential'. AWS "
                            "query-string parameters must include 'X-Amz-Signature'. AWS query-string "
                            "parameters must include 'X-Amz-SignedHeaders'. Re-examine the "
                            "query-string parameters.");
    CHECK(f.query_form);

    /* X-Amz-Algorithm as a name alone is the presigned form: every parameter
     * missing, in AWS's order, the empty algorithm first */
    mreq_init(&m, "GET", "/", "X-Amz-Algorithm");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_INCOMPLETE);
    CHECK_EQ_STR(f.message, "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS "
                            "query-string parameters must include 'X-Amz-Credential'. AWS query-string "
                            "parameters must include 'X-Amz-Signature'. AWS query-string parameters "
                            "must include 'X-Amz-SignedHeaders'. AWS query-string parameters must "
                            "include 'X-Amz-Date'. Re-examine the query-string parameters.");
    mreq_init(&m, "POST", "/", "a=1&X-Amz-Algorithm&b");
    mreq_add(&m, "Authorization", "AWS4-HMAC-SHA256 Credential=a");
    CHECK_EQ_INT(parse_only(&m, &f), RN_SIGV4_BOTH);
}

static void test_check_failures(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_failure_t f;
    int64_t t0 = at(T0);
    struct {
        const char *authz;
        rn_sigv4_fail_t kind;
        const char *msg;
    } cases[] = {
        {"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kinesis/aws4_request, SignedHeaders=x-amz-date, Signature=ab",
         RN_SIGV4_HOST_NOT_SIGNED, "'Host' must be a 'SignedHeader' in the AWS Authorization."},
        /* the header's algorithm token is not checked: the request goes on to the signature */
        {"AWS4-HMAC-SHA25 Credential=A/20150830/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=ab",
         RN_SIGV4_MISMATCH, NULL},
        {"AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=ab", RN_SIGV4_BAD_CREDENTIAL,
         "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
         "got 'a/b/c/d'"},
        {"AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host, Signature=ab",
         RN_SIGV4_BAD_CREDENTIAL,
         "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
         "got 'a/b/c/d/e/f'"},
        {"AWS4-HMAC-SHA256 Credential=A/b/C/d/e, SignedHeaders=host, Signature=ab", RN_SIGV4_BAD_SCOPE,
         "Credential should be scoped to a valid region, not 'C'. Credential should be scoped to "
         "correct service: 'kinesis'. Credential should be scoped with a valid terminator: "
         "'aws4_request', not 'e'. Date in Credential scope does not match YYYYMMDD from ISO-8601 "
         "version of date from HTTP: 'b' != '20150830', from '20150830T123600Z'."},
        {"AWS4-HMAC-SHA256 Credential=A/20150831/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=ab",
         RN_SIGV4_BAD_SCOPE,
         "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
         "'20150831' != '20150830', from '20150830T123600Z'."},
        {"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=ab",
         RN_SIGV4_BAD_SCOPE, "Credential should be scoped to correct service: 'kinesis'."},
        /* trailing slashes are ignored; the short signature then fails the comparison */
        {"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kinesis/aws4_request//, SignedHeaders=host, Signature=ab",
         RN_SIGV4_MISMATCH, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mreq_t m;
        mreq_init(&m, "POST", "/", NULL);
        mreq_add(&m, "host", "h");
        mreq_add(&m, "X-Amz-Date", T0);
        mreq_add(&m, "Authorization", cases[i].authz);
        CHECK_EQ_INT(run(&m, &o, t0, NULL, &f), cases[i].kind);
        if (cases[i].msg)
            CHECK_EQ_STR(f.message, cases[i].msg);
        CHECK_EQ_STR(f.aws_type, rn_sigv4_fail_aws_type(cases[i].kind));
    }
    /* a fixed region */
    o.region = "eu-west-1";
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "host", "h");
    mreq_add(&m, "X-Amz-Date", T0);
    mreq_add(&m, "Authorization",
             "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=ab");
    CHECK_EQ_INT(run(&m, &o, t0, NULL, &f), RN_SIGV4_BAD_SCOPE);
    CHECK_EQ_STR(f.message, "Credential should be scoped to a valid region, not 'us-east-1'.");
    CHECK_EQ_INT(f.scope, RN_SIGV4_SCOPE_REGION);
}

static void test_skew(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_failure_t f;
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "host", "kinesis.us-east-1.amazonaws.com");
    mreq_add(&m, "x-amz-date", T0);
    mreq_sign(&m, T0, "us-east-1", "kinesis", "host;x-amz-date", &o);
    int64_t t0 = at(T0);
    CHECK_EQ_INT(run(&m, &o, t0, NULL, &f), RN_SIGV4_OK);
    {
        /* HTTP/2: the JS SDK v3 signs the host as ":authority"; that satisfies the rule. */
        mreq_t h2;
        mreq_init(&h2, "POST", "/", NULL);
        mreq_add(&h2, ":authority", "kinesis.us-east-1.amazonaws.com");
        mreq_add(&h2, "x-amz-date", T0);
        mreq_sign(&h2, T0, "us-east-1", "kinesis", ":authority;x-amz-date", &o);
        CHECK_EQ_INT(run(&h2, &o, t0, NULL, &f), RN_SIGV4_OK);
    }
    CHECK_EQ_INT(run(&m, &o, t0 + 300, NULL, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&m, &o, t0 - 300, NULL, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&m, &o, t0 + 301, NULL, &f), RN_SIGV4_EXPIRED);
    CHECK_EQ_STR(f.message, "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
                            "(20150830T124101Z - 5 min.)");
    CHECK_EQ_INT(run(&m, &o, t0 - 301, NULL, &f), RN_SIGV4_NOT_YET_CURRENT);
    CHECK_EQ_STR(f.message, "Signature not yet current: 20150830T123600Z is still later than "
                            "20150830T123559Z (20150830T123059Z + 5 min.)");

    /* the Date header (IMF-fixdate) instead of X-Amz-Date, signed end to end */
    mreq_t d;
    mreq_init(&d, "POST", "/", NULL);
    mreq_add(&d, "host", "kinesis.us-east-1.amazonaws.com");
    mreq_add(&d, "Date", "Sun, 30 Aug 2015 12:36:00 GMT");
    mreq_sign(&d, T0, "us-east-1", "kinesis", "date;host", &o);
    CHECK_EQ_INT(run(&d, &o, t0, NULL, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&d, &o, t0 + 301, NULL, &f), RN_SIGV4_EXPIRED);

    /* the contract's observed examples, to the character */
    rn_sigv4_auth_t a;
    memset(&a, 0, sizeof a);
    a.expires = -1;
    memcpy(a.amz_date, "20151120T200815Z", 17);
    a.time = at(a.amz_date);
    CHECK_EQ_INT(rn_sigv4_check(&a, &o, at("20151120T202346Z"), &f), 1);
    CHECK_EQ_STR(f.message, "Signature expired: 20151120T200815Z is now earlier than 20151120T201846Z "
                            "(20151120T202346Z - 5 min.)");
    memcpy(a.amz_date, "20181017T093750Z", 17);
    a.time = at(a.amz_date);
    CHECK_EQ_INT(rn_sigv4_check(&a, &o, at("20181017T093139Z"), &f), 1);
    CHECK_EQ_STR(f.message, "Signature not yet current: 20181017T093750Z is still later than "
                            "20181017T093639Z (20181017T093139Z + 5 min.)");
}

/* A presigned GET signed by hand with the library pieces. */
static void presign(char *out, size_t cap, const char *expires, int64_t *t)
{
    char q[512];
    snprintf(q, sizeof q,
             "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" AKID
             "%%2F20150830%%2Fus-east-1%%2Fkinesis%%2Faws4_request&X-Amz-Date=" T0
             "&X-Amz-Expires=%s&X-Amz-SignedHeaders=host",
             expires);
    mreq_t m;
    mreq_init(&m, "GET", "/", q);
    mreq_add(&m, "host", "h");
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_auth_t a;
    memset(&a, 0, sizeof a);
    a.query_form = 1;
    a.signed_headers = (rn_sigv4_str_t){"host", 4};
    a.date = (rn_sigv4_str_t){"20150830", 8};
    a.region = (rn_sigv4_str_t){"us-east-1", 9};
    a.service = (rn_sigv4_str_t){"kinesis", 7};
    memcpy(a.amz_date, T0, 17);
    rn_buf_t creq, sts;
    rn_buf_init(&creq, 0);
    rn_buf_init(&sts, 0);
    CHECK_EQ_INT(rn_sigv4_canonical_request(&m.req, &a, &o,
                                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", &creq),
                 0);
    CHECK_EQ_INT(rn_sigv4_string_to_sign(&a, (char *)creq.data, creq.len, &sts), 0);
    uint8_t key[32];
    char sig[65];
    CHECK_EQ_INT(rn_sigv4_signing_key(SECRET, strlen(SECRET), a.date, a.region, a.service, key), 0);
    CHECK_EQ_INT(rn_sigv4_signature(key, (char *)sts.data, sts.len, sig), 0);
    snprintf(out, cap, "%s&X-Amz-Signature=%s", q, sig);
    rn_buf_dispose(&creq);
    rn_buf_dispose(&sts);
    *t = at(T0);
}

static void test_presigned(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_failure_t f;
    char q[1024];
    int64_t t0;
    presign(q, sizeof q, "600", &t0);
    mreq_t m;
    mreq_init(&m, "GET", "/", q);
    mreq_add(&m, "host", "h");
    CHECK_EQ_INT(run(&m, &o, t0, NULL, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&m, &o, t0 + 600, NULL, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&m, &o, t0 + 601, NULL, &f), RN_SIGV4_PRESIGN_EXPIRED);
    CHECK_EQ_STR(f.message, "Request has expired");
    CHECK_EQ_INT(run(&m, &o, t0 - 300, NULL, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&m, &o, t0 - 301, NULL, &f), RN_SIGV4_NOT_YET_CURRENT);
    /* the token parameter is signed when present */
    rn_sigv4_auth_t a;
    CHECK_EQ_INT(rn_sigv4_parse(&m.req, &a, &f), 0);
    CHECK_EQ_INT(a.security_token.len, 0);
    CHECK_EQ_INT(rn_sigv4_check(&a, &o, t0, &f), 0);
    CHECK_EQ_INT(a.expires, 600);
    CHECK(a.access_key.len == strlen(AKID) && memcmp(a.access_key.p, AKID, a.access_key.len) == 0);
    rn_sigv4_auth_dispose(&a);

    presign(q, sizeof q, "604800", &t0);
    mreq_init(&m, "GET", "/", q);
    mreq_add(&m, "host", "h");
    CHECK_EQ_INT(run(&m, &o, t0 + 604800, NULL, &f), RN_SIGV4_OK);
    struct {
        const char *exp;
        const char *msg;
    } bad[] = {
        {"604801", "X-Amz-Expires must be less than a week (in seconds) that is; 604800"},
        {"-1", "X-Amz-Expires must be non-negative"},
        {"abc", "X-Amz-Expires should be a number"},
        {"99999999999999999999999", "X-Amz-Expires must be less than a week (in seconds) that is; 604800"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        presign(q, sizeof q, bad[i].exp, &t0);
        mreq_init(&m, "GET", "/", q);
        mreq_add(&m, "host", "h");
        CHECK_EQ_INT(run(&m, &o, t0, NULL, &f), RN_SIGV4_BAD_EXPIRES);
        CHECK_EQ_STR(f.message, bad[i].msg);
    }
    /* a tampered extra parameter breaks the signature */
    presign(q, sizeof q, "600", &t0);
    strcat(q, "&extra=1");
    mreq_init(&m, "GET", "/", q);
    mreq_add(&m, "host", "h");
    CHECK_EQ_INT(run(&m, &o, t0, NULL, &f), RN_SIGV4_MISMATCH);
}

static void test_cache(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_failure_t f;
    rn_sigv4_cache_t *c = rn_sigv4_cache_create();
    CHECK(c != NULL);
    rn_sigv4_cache_stats_t st;
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "host", "h");
    mreq_add(&m, "x-amz-date", T0);
    mreq_sign(&m, T0, "us-east-1", "kinesis", "host;x-amz-date", &o);
    int64_t t0 = at(T0);
    CHECK_EQ_INT(run(&m, &o, t0, c, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&m, &o, t0, c, &f), RN_SIGV4_OK);
    CHECK_EQ_INT(run(&m, &o, t0, c, &f), RN_SIGV4_OK);
    rn_sigv4_cache_stats(c, &st);
    CHECK_EQ_INT(st.misses, 1);
    CHECK_EQ_INT(st.hits, 2);
    CHECK_EQ_INT(st.inserts, 1);
    /* a failed verification never inserts */
    mreq_t bad;
    mreq_init(&bad, "POST", "/", NULL);
    mreq_add(&bad, "host", "h");
    mreq_add(&bad, "x-amz-date", "20150831T000000Z");
    mreq_add(&bad, "Authorization", "AWS4-HMAC-SHA256 Credential=" AKID "/20150831/us-east-1/kinesis/aws4_request, "
                                    "SignedHeaders=host;x-amz-date, Signature="
                                    "0000000000000000000000000000000000000000000000000000000000000000");
    CHECK_EQ_INT(run(&bad, &o, at("20150831T000000Z"), c, &f), RN_SIGV4_MISMATCH);
    rn_sigv4_cache_stats(c, &st);
    CHECK_EQ_INT(st.inserts, 1);
    /* a different secret under the same key id misses (credentials reload) */
    rn_sigv4_auth_t a;
    CHECK_EQ_INT(rn_sigv4_parse(&m.req, &a, &f), 0);
    CHECK_EQ_INT(rn_sigv4_check(&a, &o, t0, &f), 0);
    CHECK_EQ_INT(rn_sigv4_verify(c, &m.req, &a, &o, "other", 5, NULL, NULL, &f), 1);
    rn_sigv4_auth_dispose(&a);
    rn_sigv4_cache_stats(c, &st);
    CHECK_EQ_INT(st.misses, 3);
    CHECK_EQ_INT(st.inserts, 1);
    /* many valid scopes: the table stays at its fixed size, the oldest are evicted */
    for (int day = 1; day <= 200; day++) {
        char d[17];
        rn_sigv4_format_amz_date(t0 + (int64_t)day * 86400, d);
        mreq_t s;
        mreq_init(&s, "POST", "/", NULL);
        mreq_add(&s, "host", "h");
        mreq_add(&s, "x-amz-date", d);
        mreq_sign(&s, d, "us-east-1", "kinesis", "host;x-amz-date", &o);
        CHECK_EQ_INT(run(&s, &o, t0 + (int64_t)day * 86400, c, &f), RN_SIGV4_OK);
    }
    rn_sigv4_cache_stats(c, &st);
    CHECK_EQ_INT(st.inserts, 201);
    CHECK(st.evictions >= 201 - RN_SIGV4_CACHE_SLOTS);
    rn_sigv4_cache_destroy(c);
}

static void test_constant_time(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    rn_sigv4_failure_t f;
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "host", "h");
    mreq_add(&m, "x-amz-date", T0);
    mreq_sign(&m, T0, "us-east-1", "kinesis", "host;x-amz-date", &o);
    int before = memcmp_calls;
    CHECK_EQ_INT(run(&m, &o, at(T0), NULL, &f), RN_SIGV4_OK);
    CHECK(memcmp_calls > before); /* the comparison went through CRYPTO_memcmp */
    /* upper-case hex is a different signature (AWS signs lower case) */
    char *sig = strstr(m.authz, "Signature=") + 10;
    for (char *p = sig; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    m.h[2].value_len = strlen(m.authz);
    CHECK_EQ_INT(run(&m, &o, at(T0), NULL, &f), RN_SIGV4_MISMATCH);
    /* a truncated signature fails */
    sig[10] = 0;
    m.h[2].value_len = strlen(m.authz);
    CHECK_EQ_INT(run(&m, &o, at(T0), NULL, &f), RN_SIGV4_MISMATCH);
}

static void test_dates(void)
{
    int64_t t;
    CHECK_EQ_INT(rn_sigv4_parse_amz_date("19700101T000000Z", 16, &t), 0);
    CHECK_EQ_INT(t, 0);
    CHECK_EQ_INT(rn_sigv4_parse_amz_date("20000229T235959Z", 16, &t), 0);
    char out[17];
    rn_sigv4_format_amz_date(t, out);
    CHECK_EQ_STR(out, "20000229T235959Z");
    CHECK_EQ_INT(rn_sigv4_parse_amz_date("20000229T235959", 15, &t), -1);
    CHECK_EQ_INT(rn_sigv4_parse_amz_date("2000022xT235959Z", 16, &t), -1);
    CHECK_EQ_INT(rn_sigv4_parse_amz_date("20000229T245959Z", 16, &t), -1);
}

/* rn_sigv4_sign (the CLI's signer): what it signs verifies, with the same
 * canonical request as a hand-made signature; a wrong secret does not. */
static void test_client_sign(void)
{
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    const char *body = "{\"StreamName\":\"s\"}";
    const int64_t now = at(T0);
    char amz[17];
    rn_sigv4_format_amz_date(now, amz);
    CHECK_EQ_STR(amz, T0);
    mreq_t m;
    mreq_init(&m, "POST", "/", NULL);
    mreq_add(&m, "x-amz-target", "Kinesis_20131202.DescribeStream");
    mreq_add(&m, "host", "127.0.0.1:4567");
    mreq_add(&m, "content-type", "application/x-amz-json-1.1");
    mreq_add(&m, "x-amz-date", amz);
    m.req.payload = (const uint8_t *)body;
    m.req.payload_len = strlen(body);
    rn_buf_t out;
    rn_buf_init(&out, 0);
    CHECK_EQ_INT(rn_sigv4_sign(&m.req, AKID, SECRET, "us-east-1", "kinesis", now, &out), 0);
    CHECK(strstr((char *)out.data, "AWS4-HMAC-SHA256 Credential=" AKID "/20150830/us-east-1/kinesis/aws4_request, "
                                   "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=") ==
          (char *)out.data);
    mreq_t hand = m;
    hand.req.headers = hand.h;
    mreq_sign(&hand, T0, "us-east-1", "kinesis", "content-type;host;x-amz-date;x-amz-target", &o);
    CHECK_EQ_STR((char *)out.data, hand.authz);
    mreq_t bare = m;
    bare.req.headers = bare.h;
    mreq_add(&m, "Authorization", (char *)out.data);
    rn_sigv4_failure_t f;
    CHECK_EQ_INT(run(&m, &o, now, NULL, &f), RN_SIGV4_OK);
    rn_buf_reset(&out);
    CHECK_EQ_INT(rn_sigv4_sign(&bare.req, AKID, "not-the-secret", "us-east-1", "kinesis", now, &out), 0);
    m.h[m.nh - 1].value = (char *)out.data;
    m.h[m.nh - 1].value_len = out.len;
    CHECK_EQ_INT(run(&m, &o, now, NULL, &f), RN_SIGV4_MISMATCH);
    rn_buf_dispose(&out);
}

int main(void)
{
    test_suite();
    test_paths();
    test_queries();
    test_headers_canonical();
    test_payload_hash();
    test_parse_failures();
    test_check_failures();
    test_skew();
    test_presigned();
    test_cache();
    test_constant_time();
    test_dates();
    test_client_sign();
    return rn_test_done("test_auth_sigv4");
}
