/* sigv4.c: SigV4 verification (see sigv4.h and docs/security.md).
 *
 * Canonical request (AWS's "Create a canonical request"):
 *   METHOD \n CanonicalURI \n CanonicalQuery \n (name:value \n)* \n SignedHeaders \n PayloadHash
 * - CanonicalURI: the raw path as received, dot and empty segments removed
 *   (all services but S3), then every byte outside the RFC 3986 unreserved
 *   set (and '/') percent-encoded: since the path on the wire is already
 *   encoded once, this is AWS's "encode twice" for non-S3 services.
 * - CanonicalQuery: each parameter decoded, re-encoded (unreserved set only,
 *   %XX upper-case), sorted by encoded name then value, "name=" for empty
 *   values; the presigned form leaves out X-Amz-Signature.
 * - Headers: for each signed name, the values of every header of that name
 *   (in the order received) trimmed, runs of white space collapsed to one
 *   space, joined by ','. */
#include "auth/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/status.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define CANON_MAX ((size_t)8 << 20) /* ceiling of any canonical string we build */

/* ---- small helpers ------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *type;
} fail_info[] = {
#define X(kind, type) {#kind, type},
    RN_SIGV4_FAILURES(X)
#undef X
};

const char *rn_sigv4_fail_name(rn_sigv4_fail_t kind)
{
    return (unsigned)kind < RN_SIGV4_FAIL_COUNT ? fail_info[kind].name : "?";
}

const char *rn_sigv4_fail_aws_type(rn_sigv4_fail_t kind)
{
    return (unsigned)kind < RN_SIGV4_FAIL_COUNT ? fail_info[kind].type : "";
}

void rn_sigv4_options_default(rn_sigv4_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->service = "kinesis";
    o->region = NULL;
    o->skew_seconds = 300;
    o->max_expires = 604800;
    o->normalize_path = 1;
}

static void fail_clear(rn_sigv4_failure_t *f)
{
    memset(f, 0, offsetof(rn_sigv4_failure_t, message));
    f->kind = RN_SIGV4_OK;
    f->aws_type = "";
    f->message[0] = 0;
}

/* Appends to f->message, truncating at its end. */
__attribute__((format(printf, 2, 3))) static void msg_add(rn_sigv4_failure_t *f, const char *fmt, ...)
{
    size_t n = strlen(f->message);
    if (n + 1 >= sizeof f->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message + n, sizeof f->message - n, fmt, ap);
    va_end(ap);
}

static int fail_set(rn_sigv4_failure_t *f, rn_sigv4_fail_t kind)
{
    f->kind = kind;
    f->aws_type = fail_info[kind].type;
    return 1;
}

/* Bounded width for a peer's value inside a message. */
static int w(size_t len, size_t cap)
{
    return (int)(len > cap ? cap : len);
}

static int str_is(rn_sigv4_str_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* Percent-decodes s into out (capacity >= len); an invalid escape stays literal.
 * Returns the decoded length. '+' is a literal plus, as AWS's signers send it. */
static size_t pct_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = rn_ascii_hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = rn_ascii_hexval((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

/* Appends s percent-encoded (unreserved kept; '/' kept when keep_slash). */
static int pct_encode(rn_buf_t *b, const char *s, size_t len, int keep_slash)
{
    static const char d[] = "0123456789ABCDEF";
    int rc = rn_buf_reserve(b, len * 3);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            b->data[b->len++] = c;
        } else {
            b->data[b->len++] = '%';
            b->data[b->len++] = (uint8_t)d[c >> 4];
            b->data[b->len++] = (uint8_t)d[c & 15];
        }
    }
    b->data[b->len] = 0;
    return 0;
}

static const rn_sigv4_header_t *find_header(const rn_sigv4_request_t *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_headers; i++) {
        const rn_sigv4_header_t *h = &req->headers[i];
        if (h->name_len == n && rn_ascii_eq_ci(h->name, name, n))
            return h;
    }
    return NULL;
}

/* The next '&'-separated parameter of a raw query: [*pos, end) advanced. */
static int query_next(const char *q, size_t len, size_t *pos, rn_sigv4_str_t *key, rn_sigv4_str_t *val)
{
    while (*pos < len) {
        size_t s = *pos;
        const char *amp = memchr(q + s, '&', len - s);
        size_t e = amp ? (size_t)(amp - q) : len;
        *pos = amp ? e + 1 : len;
        if (e == s)
            continue; /* "a=1&&b=2": an empty parameter is no parameter */
        const char *eq = memchr(q + s, '=', e - s);
        key->p = q + s;
        key->len = eq ? (size_t)(eq - (q + s)) : e - s;
        val->p = eq ? eq + 1 : q + e;
        val->len = eq ? (size_t)(q + e - (eq + 1)) : 0;
        return 1;
    }
    return 0;
}

/* 1 if the raw key decodes to lit. */
static int key_decodes_to(rn_sigv4_str_t key, const char *lit)
{
    size_t n = strlen(lit);
    if (key.len < n || key.len > 3 * n)
        return 0;
    char tmp[64];
    if (key.len > sizeof tmp)
        return 0;
    size_t d = pct_decode(key.p, key.len, tmp);
    return d == n && memcmp(tmp, lit, n) == 0;
}

/* ---- time ---------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static int make_time(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, int64_t *t)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 60)
        return -1;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

int rn_sigv4_parse_amz_date(const char *s, size_t len, int64_t *t)
{
    unsigned y, mo, d, h, mi, sec;
    if (len != 16 || s[8] != 'T' || s[15] != 'Z' || digits(s, 4, &y) || digits(s + 4, 2, &mo) ||
        digits(s + 6, 2, &d) || digits(s + 9, 2, &h) || digits(s + 11, 2, &mi) ||
        digits(s + 13, 2, &sec))
        return -1;
    return make_time(y, mo, d, h, mi, sec, t);
}

/* IMF-fixdate, the HTTP Date header: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int parse_http_date(const char *s, size_t len, int64_t *t)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned y, d, h, mi, sec;
    if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4) != 0 || digits(s + 5, 2, &d) ||
        digits(s + 12, 4, &y) || digits(s + 17, 2, &h) || digits(s + 20, 2, &mi) ||
        digits(s + 23, 2, &sec))
        return -1;
    unsigned mo = 0;
    for (unsigned i = 0; i < 12; i++)
        if (memcmp(s + 8, months + 3 * i, 3) == 0)
            mo = i + 1;
    if (!mo)
        return -1;
    return make_time(y, mo, d, h, mi, sec, t);
}

void rn_sigv4_format_amz_date(int64_t t, char out[17])
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999) {
        memcpy(out, "00000000T000000Z", 17);
        return;
    }
    unsigned f[6] = {(unsigned)y, m, d, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
                     (unsigned)(secs % 60)};
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    char *p = out;
    for (int i = 0; i < 6; i++) {
        if (i == 3)
            *p++ = 'T';
        for (int k = width[i] - 1; k >= 0; k--) {
            p[k] = (char)('0' + f[i] % 10);
            f[i] /= 10;
        }
        p += width[i];
    }
    *p++ = 'Z';
    *p = 0;
}

/* ---- step 1: parse ------------------------------------------------------------- */

void rn_sigv4_auth_dispose(rn_sigv4_auth_t *a)
{
    free(a->_mem);
    a->_mem = NULL;
}

static rn_sigv4_str_t trim(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (rn_sigv4_str_t){p, n};
}

static int parse_header_form(const rn_sigv4_request_t *req, const rn_sigv4_header_t *h,
                             rn_sigv4_auth_t *a, rn_sigv4_failure_t *f)
{
    a->raw = (rn_sigv4_str_t){h->value, h->value_len};
    rn_sigv4_str_t v = trim(h->value, h->value_len);
    /* The first token is the algorithm, whatever it says (AWS does not check
     * it: the signature is computed as AWS4-HMAC-SHA256 in any case); the
     * parameters after it are separated by commas and/or spaces. */
    size_t tok = 0;
    while (tok < v.len && v.p[tok] != ' ' && v.p[tok] != '\t' && v.p[tok] != ',')
        tok++;
    a->algorithm = (rn_sigv4_str_t){v.p, tok};
    const char *params = v.p + tok;
    size_t plen = v.len - tok, pos = 0;
    while (pos < plen) {
        while (pos < plen && (params[pos] == ',' || params[pos] == ' ' || params[pos] == '\t'))
            pos++;
        size_t e = pos;
        while (e < plen && params[e] != ',' && params[e] != ' ' && params[e] != '\t')
            e++;
        rn_sigv4_str_t part = {params + pos, e - pos};
        pos = e;
        const char *eq = part.len ? memchr(part.p, '=', part.len) : NULL;
        if (!eq)
            continue;
        rn_sigv4_str_t k = {part.p, (size_t)(eq - part.p)};
        rn_sigv4_str_t val = {eq + 1, (size_t)(part.p + part.len - eq - 1)};
        rn_sigv4_str_t *dst = str_is(k, "Credential")      ? &a->credential
                              : str_is(k, "SignedHeaders") ? &a->signed_headers
                              : str_is(k, "Signature")     ? &a->signature
                                                           : NULL;
        if (dst && !dst->p)
            *dst = val;
    }
    const rn_sigv4_header_t *xd = find_header(req, "x-amz-date");
    const rn_sigv4_header_t *dh = xd ? NULL : find_header(req, "date");
    unsigned miss = 0;
    if (!a->credential.len)
        miss |= RN_SIGV4_MISS_CREDENTIAL;
    if (!a->signature.len)
        miss |= RN_SIGV4_MISS_SIGNATURE;
    if (!a->signed_headers.len)
        miss |= RN_SIGV4_MISS_SIGNED_HEADERS;
    if (!xd && !dh)
        miss |= RN_SIGV4_MISS_DATE;
    if (miss) {
        f->missing = miss;
        if (miss & RN_SIGV4_MISS_CREDENTIAL)
            msg_add(f, "Authorization header requires 'Credential' parameter. ");
        if (miss & RN_SIGV4_MISS_SIGNATURE)
            msg_add(f, "Authorization header requires 'Signature' parameter. ");
        if (miss & RN_SIGV4_MISS_SIGNED_HEADERS)
            msg_add(f, "Authorization header requires 'SignedHeaders' parameter. ");
        if (miss & RN_SIGV4_MISS_DATE)
            msg_add(f, "Authorization header requires existence of either a 'X-Amz-Date' or a "
                       "'Date' header. ");
        msg_add(f, "Authorization=%.*s", w(h->value_len, 2000), h->value);
        return fail_set(f, RN_SIGV4_INCOMPLETE);
    }
    int bad = xd ? rn_sigv4_parse_amz_date(xd->value, xd->value_len, &a->time)
                 : parse_http_date(dh->value, dh->value_len, &a->time);
    if (bad) {
        const rn_sigv4_header_t *dv = xd ? xd : dh;
        msg_add(f, "Date must be in ISO-8601 'basic format'. Got '%.*s'. See "
                   "http://en.wikipedia.org/wiki/ISO_8601",
                w(dv->value_len, 200), dv->value);
        return fail_set(f, RN_SIGV4_BAD_DATE);
    }
    rn_sigv4_format_amz_date(a->time, a->amz_date);
    const rn_sigv4_header_t *tok_h = find_header(req, "x-amz-security-token");
    if (tok_h)
        a->security_token = trim(tok_h->value, tok_h->value_len);
    return 0;
}

static int parse_query_form(const rn_sigv4_request_t *req, rn_sigv4_auth_t *a, rn_sigv4_failure_t *f)
{
    static const char *const names[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                        "X-Amz-SignedHeaders", "X-Amz-Date"};
    static const unsigned bits[] = {RN_SIGV4_MISS_ALGORITHM, RN_SIGV4_MISS_CREDENTIAL,
                                    RN_SIGV4_MISS_SIGNATURE, RN_SIGV4_MISS_SIGNED_HEADERS,
                                    RN_SIGV4_MISS_DATE};
    a->query_form = 1;
    f->query_form = 1;
    a->_mem = malloc(req->query_len + 1);
    if (!a->_mem)
        return RN_ENOMEM;
    size_t used = 0;
    rn_sigv4_str_t date = {0};
    rn_sigv4_str_t *slots[] = {&a->algorithm, &a->credential, &a->signature, &a->signed_headers,
                               &date, &a->expires_raw, &a->security_token};
    static const char *const all[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                      "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires",
                                      "X-Amz-Security-Token"};
    size_t pos = 0;
    rn_sigv4_str_t k, v;
    while (query_next(req->query, req->query_len, &pos, &k, &v)) {
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            if (slots[i]->p || !key_decodes_to(k, all[i]))
                continue;
            size_t n = pct_decode(v.p, v.len, a->_mem + used);
            slots[i]->p = a->_mem + used;
            slots[i]->len = n;
            used += n;
        }
    }
    unsigned miss = 0;
    for (size_t i = 0; i < 5; i++)
        if (!slots[i]->len) {
            miss |= bits[i];
            msg_add(f, "AWS query-string parameters must include '%s'. ", names[i]);
        }
    if (miss) {
        f->missing = miss;
        msg_add(f, "Re-examine the query-string parameters.");
        return fail_set(f, RN_SIGV4_INCOMPLETE);
    }
    if (rn_sigv4_parse_amz_date(date.p, date.len, &a->time)) {
        msg_add(f, "Date must be in ISO-8601 'basic format'. Got '%.*s'. See "
                   "http://en.wikipedia.org/wiki/ISO_8601",
                w(date.len, 200), date.p);
        return fail_set(f, RN_SIGV4_BAD_DATE);
    }
    rn_sigv4_format_amz_date(a->time, a->amz_date);
    return 0;
}

int rn_sigv4_parse(const rn_sigv4_request_t *req, rn_sigv4_auth_t *a, rn_sigv4_failure_t *f)
{
    memset(a, 0, sizeof *a);
    a->expires = -1;
    fail_clear(f);
    const rn_sigv4_header_t *h = find_header(req, "authorization");
    int presigned = 0;
    size_t pos = 0;
    rn_sigv4_str_t k, v;
    while (!presigned && req->query && query_next(req->query, req->query_len, &pos, &k, &v))
        presigned = key_decodes_to(k, "X-Amz-Algorithm");
    if (h && presigned) {
        msg_add(f, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as "
                   "HTTP header.");
        return fail_set(f, RN_SIGV4_BOTH);
    }
    if (!h && !presigned) {
        msg_add(f, "Missing Authentication Token");
        return fail_set(f, RN_SIGV4_MISSING);
    }
    return h ? parse_header_form(req, h, a, f) : parse_query_form(req, a, f);
}

/* ---- step 2: check ------------------------------------------------------------- */

static int region_ok(rn_sigv4_str_t r, const char *want)
{
    if (want)
        return str_is(r, want);
    if (!r.len || r.len > 64)
        return 0;
    for (size_t i = 0; i < r.len; i++) {
        unsigned char c = (unsigned char)r.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

static int list_has(rn_sigv4_str_t list, const char *name)
{
    size_t n = strlen(name), pos = 0;
    while (pos <= list.len) {
        const char *semi = memchr(list.p + pos, ';', list.len - pos);
        size_t e = semi ? (size_t)(semi - list.p) : list.len;
        if (e - pos == n && rn_ascii_eq_ci(list.p + pos, name, n))
            return 1;
        if (!semi)
            break;
        pos = e + 1;
    }
    return 0;
}

static int parse_expires(rn_sigv4_auth_t *a, const rn_sigv4_options_t *o, rn_sigv4_failure_t *f)
{
    rn_sigv4_str_t s = a->expires_raw;
    if (!s.len)
        return 0;
    size_t i = 0;
    int neg = s.p[0] == '-';
    if (neg || s.p[0] == '+')
        i = 1;
    int64_t v = 0;
    if (i == s.len) {
        msg_add(f, "X-Amz-Expires should be a number");
        return fail_set(f, RN_SIGV4_BAD_EXPIRES);
    }
    for (; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            msg_add(f, "X-Amz-Expires should be a number");
            return fail_set(f, RN_SIGV4_BAD_EXPIRES);
        }
        if (v < INT64_C(1000000000000))
            v = v * 10 + (s.p[i] - '0');
    }
    if (neg && v) {
        msg_add(f, "X-Amz-Expires must be non-negative");
        return fail_set(f, RN_SIGV4_BAD_EXPIRES);
    }
    if (v > o->max_expires) {
        msg_add(f, "X-Amz-Expires must be less than a week (in seconds) that is; %lld",
                (long long)o->max_expires);
        return fail_set(f, RN_SIGV4_BAD_EXPIRES);
    }
    a->expires = v;
    return 0;
}

int rn_sigv4_check(rn_sigv4_auth_t *a, const rn_sigv4_options_t *o, int64_t now, rn_sigv4_failure_t *f)
{
    fail_clear(f);
    f->query_form = a->query_form;
    char t_req[17], t_bound[17], t_now[17];
    int64_t skew = o->skew_seconds;
    rn_sigv4_format_amz_date(now, t_now);
    memcpy(t_req, a->amz_date, sizeof t_req);
    if (a->query_form && parse_expires(a, o, f))
        return 1;
    if (a->time > now + skew) {
        rn_sigv4_format_amz_date(now + skew, t_bound);
        msg_add(f, "Signature not yet current: %s is still later than %s (%s + %lld min.)", t_req,
                t_bound, t_now, (long long)(skew / 60));
        return fail_set(f, RN_SIGV4_NOT_YET_CURRENT);
    }
    if (a->expires >= 0) {
        if (now > a->time + a->expires) {
            msg_add(f, "Request has expired");
            return fail_set(f, RN_SIGV4_PRESIGN_EXPIRED);
        }
    } else if (a->time < now - skew) {
        rn_sigv4_format_amz_date(now - skew, t_bound);
        msg_add(f, "Signature expired: %s is now earlier than %s (%s - %lld min.)", t_req, t_bound,
                t_now, (long long)(skew / 60));
        return fail_set(f, RN_SIGV4_EXPIRED);
    }
    /* Over HTTP/2 the host is :authority, and some SDKs (JS v3) sign it under that name. */
    if (!list_has(a->signed_headers, "host") && !list_has(a->signed_headers, ":authority")) {
        msg_add(f, "'Host' must be a 'SignedHeader' in the AWS Authorization.");
        return fail_set(f, RN_SIGV4_HOST_NOT_SIGNED);
    }
    if (a->query_form && !str_is(a->algorithm, ALGORITHM)) { /* the header's token is not checked */
        msg_add(f, "Unsupported AWS 'algorithm': '%.*s' (only AWS4-HMAC-SHA256 for now). ",
                w(a->algorithm.len, 200), a->algorithm.p);
        return fail_set(f, RN_SIGV4_BAD_ALGORITHM);
    }
    /* Credential: keyid/date/region/service/term (trailing slashes ignored). */
    rn_sigv4_str_t c = a->credential;
    while (c.len && c.p[c.len - 1] == '/')
        c.len--;
    rn_sigv4_str_t part[5];
    size_t np = 0, s = 0;
    for (size_t i = 0; i <= c.len && np <= 5; i++) {
        if (i == c.len || c.p[i] == '/') {
            if (np < 5)
                part[np] = (rn_sigv4_str_t){c.p + s, i - s};
            np++;
            s = i + 1;
        }
    }
    if (np != 5) {
        msg_add(f, "Credential must have exactly 5 slash-delimited elements, e.g. "
                   "keyid/date/region/service/term, got '%.*s'",
                w(a->credential.len, 1000), a->credential.p);
        return fail_set(f, RN_SIGV4_BAD_CREDENTIAL);
    }
    a->access_key = part[0];
    a->date = part[1];
    a->region = part[2];
    a->service = part[3];
    a->terminator = part[4];
    unsigned bad = 0;
    if (!region_ok(a->region, o->region)) {
        bad |= RN_SIGV4_SCOPE_REGION;
        msg_add(f, "Credential should be scoped to a valid region, not '%.*s'. ",
                w(a->region.len, 200), a->region.p);
    }
    if (!str_is(a->service, o->service)) {
        bad |= RN_SIGV4_SCOPE_SERVICE;
        msg_add(f, "Credential should be scoped to correct service: '%s'. ", o->service);
    }
    if (!str_is(a->terminator, TERMINATOR)) {
        bad |= RN_SIGV4_SCOPE_TERMINATOR;
        msg_add(f, "Credential should be scoped with a valid terminator: 'aws4_request', not '%.*s'. ",
                w(a->terminator.len, 200), a->terminator.p);
    }
    if (a->date.len != 8 || memcmp(a->date.p, a->amz_date, 8) != 0) {
        bad |= RN_SIGV4_SCOPE_DATE;
        msg_add(f, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                   "from HTTP: '%.*s' != '%.8s', from '%s'.",
                w(a->date.len, 200), a->date.p, a->amz_date, a->amz_date);
    }
    if (bad) {
        size_t n = strlen(f->message);
        if (n && f->message[n - 1] == ' ')
            f->message[n - 1] = 0;
        f->scope = bad;
        return fail_set(f, RN_SIGV4_BAD_SCOPE);
    }
    return 0;
}

/* ---- canonical request ----------------------------------------------------------- */

int rn_sigv4_canonical_path(const char *path, size_t len, int normalize, rn_buf_t *out)
{
    if (!len)
        return rn_buf_append(out, "/", 1);
    if (!normalize)
        return pct_encode(out, path, len, 1);
    /* Segments kept so far, as (offset, length) into path: RFC 3986 remove_dot_segments
     * plus the collapse of empty segments. */
    size_t max = len / 2 + 2;
    size_t(*seg)[2] = malloc(max * sizeof *seg);
    if (!seg)
        return RN_ENOMEM;
    size_t n = 0, s = 0;
    int trailing = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        size_t sl = i - s;
        if (sl == 0) {
            trailing = 1;
        } else if (sl == 1 && path[s] == '.') {
            trailing = 1;
        } else if (sl == 2 && path[s] == '.' && path[s + 1] == '.') {
            if (n)
                n--;
            trailing = 1;
        } else {
            seg[n][0] = s;
            seg[n][1] = sl;
            n++;
            trailing = 0;
        }
        s = i + 1;
    }
    int rc = rn_buf_append(out, "/", 1);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = pct_encode(out, path + seg[i][0], seg[i][1], 0);
        if (!rc && (i + 1 < n || trailing))
            rc = rn_buf_append(out, "/", 1);
    }
    free(seg);
    return rc;
}

typedef struct qparam {
    size_t koff, klen, voff, vlen;
} qparam_t;

static int qparam_cmp(const void *x, const void *y, void *arg)
{
    const qparam_t *a = x, *b = y;
    const uint8_t *base = arg;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(base + a->koff, base + b->koff, n);
    if (c || a->klen != b->klen)
        return c ? c : (a->klen < b->klen ? -1 : 1);
    n = a->vlen < b->vlen ? a->vlen : b->vlen;
    c = memcmp(base + a->voff, base + b->voff, n);
    if (c || a->vlen != b->vlen)
        return c ? c : (a->vlen < b->vlen ? -1 : 1);
    return 0;
}

int rn_sigv4_canonical_query(const char *query, size_t len, const char *exclude, rn_buf_t *out)
{
    if (!query || !len)
        return 0;
    size_t count = 0, pos = 0;
    rn_sigv4_str_t k, v;
    while (query_next(query, len, &pos, &k, &v))
        count++;
    if (!count)
        return 0;
    qparam_t *ps = malloc(count * sizeof *ps);
    char *tmp = malloc(len + 1);
    rn_buf_t pool;
    rn_buf_init(&pool, CANON_MAX);
    int rc = ps && tmp ? 0 : RN_ENOMEM;
    size_t n = 0;
    pos = 0;
    size_t exl = exclude ? strlen(exclude) : 0;
    while (!rc && query_next(query, len, &pos, &k, &v)) {
        size_t dk = pct_decode(k.p, k.len, tmp);
        if (exclude && dk == exl && memcmp(tmp, exclude, exl) == 0)
            continue;
        ps[n].koff = pool.len;
        rc = pct_encode(&pool, tmp, dk, 0);
        if (rc)
            break;
        ps[n].klen = pool.len - ps[n].koff;
        size_t dv = pct_decode(v.p, v.len, tmp);
        ps[n].voff = pool.len;
        rc = pct_encode(&pool, tmp, dv, 0);
        ps[n].vlen = pool.len - ps[n].voff;
        n++;
    }
    if (!rc && n) {
        qsort_r(ps, n, sizeof *ps, qparam_cmp, pool.data);
        for (size_t i = 0; i < n && !rc; i++) {
            if (i)
                rc = rn_buf_append(out, "&", 1);
            if (!rc)
                rc = rn_buf_append(out, pool.data + ps[i].koff, ps[i].klen);
            if (!rc)
                rc = rn_buf_append(out, "=", 1);
            if (!rc)
                rc = rn_buf_append(out, pool.data + ps[i].voff, ps[i].vlen);
        }
    }
    rn_buf_dispose(&pool);
    free(tmp);
    free(ps);
    return rc;
}

/* Appends a header value trimmed, white-space runs collapsed to one space. */
static int append_value(rn_buf_t *out, const char *p, size_t n)
{
    int rc = rn_buf_reserve(out, n);
    if (rc)
        return rc;
    int space = 0, any = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = 1;
            continue;
        }
        if (space && any)
            out->data[out->len++] = ' ';
        space = 0;
        any = 1;
        out->data[out->len++] = (uint8_t)c;
    }
    out->data[out->len] = 0;
    return 0;
}

int rn_sigv4_canonical_request(const rn_sigv4_request_t *req, const rn_sigv4_auth_t *a,
                               const rn_sigv4_options_t *o, const char *payload_hash, rn_buf_t *out)
{
    int rc = rn_buf_append_str(out, req->method ? req->method : "");
    if (!rc)
        rc = rn_buf_append(out, "\n", 1);
    if (!rc)
        rc = rn_sigv4_canonical_path(req->path, req->path_len, o->normalize_path, out);
    if (!rc)
        rc = rn_buf_append(out, "\n", 1);
    if (!rc)
        rc = rn_sigv4_canonical_query(req->query, req->query_len,
                                      a->query_form ? "X-Amz-Signature" : NULL, out);
    if (!rc)
        rc = rn_buf_append(out, "\n", 1);
    /* Canonical headers, in the order of the signed-headers list. */
    rn_sigv4_str_t list = a->signed_headers;
    size_t pos = 0;
    while (!rc && pos < list.len) {
        const char *semi = memchr(list.p + pos, ';', list.len - pos);
        size_t e = semi ? (size_t)(semi - list.p) : list.len;
        const char *name = list.p + pos;
        size_t nl = e - pos;
        pos = semi ? e + 1 : list.len;
        rc = rn_buf_reserve(out, nl + 1);
        if (rc)
            break;
        for (size_t i = 0; i < nl; i++)
            out->data[out->len++] = rn_ascii_lower((unsigned char)name[i]);
        out->data[out->len++] = ':';
        out->data[out->len] = 0;
        int first = 1;
        for (size_t i = 0; i < req->n_headers && !rc; i++) {
            const rn_sigv4_header_t *h = &req->headers[i];
            if (h->name_len != nl || !rn_ascii_eq_ci(h->name, name, nl))
                continue;
            if (!first)
                rc = rn_buf_append(out, ",", 1);
            if (!rc)
                rc = append_value(out, h->value, h->value_len);
            first = 0;
        }
        if (!rc)
            rc = rn_buf_append(out, "\n", 1);
    }
    if (!rc)
        rc = rn_buf_append(out, "\n", 1);
    if (!rc)
        rc = rn_buf_append(out, list.p, list.len);
    if (!rc)
        rc = rn_buf_append(out, "\n", 1);
    if (!rc)
        rc = rn_buf_append_str(out, payload_hash);
    return rc;
}

/* ---- SHA-256 and HMAC ------------------------------------------------------------ */

/* OpenSSL 3 looks an algorithm up, under a lock, on every implicit fetch
 * (SHA256(), HMAC(EVP_sha256(), ...)): on the request path that cost more
 * than the hashing. SHA-256 is fetched once; HMAC is built on it (RFC 2104). */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_md(void)
{
    pthread_once(&g_sha256_once, sha256_fetch);
    return g_sha256 ? g_sha256 : EVP_sha256();
}

typedef struct piece {
    const void *p;
    size_t n;
} piece_t;

/* One digest context per thread, reused by every hash: creating and freeing
 * one per hash (five per request) cost more than hashing a small request. It
 * lives as long as its thread (EVP_DigestInit_ex resets it; nothing secret
 * survives a Final). */
static __thread EVP_MD_CTX *tl_ctx;
static pthread_key_t g_ctx_key; /* frees a thread's context when the thread ends (the CLI's bench threads) */
static pthread_once_t g_ctx_key_once = PTHREAD_ONCE_INIT;

static void ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
    tl_ctx = NULL; /* (this thread's) a later hash in another destructor makes a new one */
}

static void ctx_key_create(void)
{
    (void)pthread_key_create(&g_ctx_key, ctx_free);
}

static EVP_MD_CTX *digest_ctx(void)
{
    if (!tl_ctx) {
        tl_ctx = EVP_MD_CTX_new();
        pthread_once(&g_ctx_key_once, ctx_key_create);
        if (tl_ctx)
            (void)pthread_setspecific(g_ctx_key, tl_ctx);
    }
    return tl_ctx;
}

/* SHA-256 of the concatenated pieces. 0, or RN_ENOMEM (out zeroed). */
static int sha256v(const piece_t *v, size_t n, uint8_t out[32])
{
    EVP_MD_CTX *ctx = digest_ctx();
    unsigned int ol = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, sha256_md(), NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, v[i].p, v[i].n);
    ok = ok && EVP_DigestFinal_ex(ctx, out, &ol) && ol == 32;
    if (!ok)
        memset(out, 0, 32);
    return ok ? 0 : RN_ENOMEM;
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    piece_t v = {p, n};
    (void)sha256v(&v, 1, out);
}

int rn_sigv4_payload_hash(const rn_sigv4_request_t *req, const rn_sigv4_auth_t *a,
                          const rn_sigv4_options_t *o, char out[65], rn_sigv4_failure_t *f)
{
    if (req->payload_hash) {
        snprintf(out, 65, "%s", req->payload_hash);
    } else {
        uint8_t md[SHA256_DIGEST_LENGTH];
        static const uint8_t empty[1];
        sha256(req->payload ? req->payload : empty, req->payload_len, md);
        hex_encode(md, sizeof md, out);
    }
    const rn_sigv4_header_t *h = find_header(req, "x-amz-content-sha256");
    if (h) {
        rn_sigv4_str_t v = trim(h->value, h->value_len);
        if (str_is(v, "UNSIGNED-PAYLOAD") && o->allow_unsigned_payload) {
            memcpy(out, "UNSIGNED-PAYLOAD", 17);
            return 0;
        }
        if (!(v.len == strlen(out) && memcmp(v.p, out, v.len) == 0)) {
            msg_add(f, "The provided 'x-amz-content-sha256' header does not match what was "
                       "computed.");
            return fail_set(f, RN_SIGV4_PAYLOAD_HASH_MISMATCH);
        }
        return 0;
    }
    if (a->query_form && o->presigned_unsigned)
        memcpy(out, "UNSIGNED-PAYLOAD", 17);
    return 0;
}

int rn_sigv4_string_to_sign(const rn_sigv4_auth_t *a, const char *creq, size_t creq_len, rn_buf_t *out)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hex[65];
    sha256(creq, creq_len, md);
    hex_encode(md, sizeof md, hex);
    /* ALGORITHM \n amz_date \n date/region/service/aws4_request \n hex, appended
     * piece by piece (printf's formatting showed in the request path's profile) */
    const rn_sigv4_str_t parts[] = {{ALGORITHM "\n", sizeof ALGORITHM},
                                    {a->amz_date, strlen(a->amz_date)},
                                    {"\n", 1},
                                    a->date,
                                    {"/", 1},
                                    a->region,
                                    {"/", 1},
                                    a->service,
                                    {"/" TERMINATOR "\n", sizeof TERMINATOR + 1},
                                    {hex, 64}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        int rc = rn_buf_append(out, parts[i].p, parts[i].len);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- keys and signatures ---------------------------------------------------------- */

static int hmac(const void *key, size_t klen, const void *data, size_t dlen, uint8_t out[32])
{
    uint8_t k[64] = {0}, ipad[64], opad[64], inner[32];
    int rc = 0;
    if (klen > sizeof k)
        rc = sha256v(&(piece_t){key, klen}, 1, k);
    else
        memcpy(k, key, klen);
    for (size_t i = 0; i < sizeof k; i++) {
        ipad[i] = (uint8_t)(k[i] ^ 0x36);
        opad[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    if (!rc) {
        const piece_t in[2] = {{ipad, sizeof ipad}, {data, dlen}};
        rc = sha256v(in, 2, inner);
    }
    if (!rc) {
        const piece_t outer[2] = {{opad, sizeof opad}, {inner, sizeof inner}};
        rc = sha256v(outer, 2, out);
    }
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
    OPENSSL_cleanse(inner, sizeof inner);
    return rc ? RN_EINVAL : 0;
}

int rn_sigv4_signing_key(const char *secret, size_t secret_len, rn_sigv4_str_t date,
                         rn_sigv4_str_t region, rn_sigv4_str_t service, uint8_t key[32])
{
    char stackbuf[256];
    char *k0 = secret_len + 4 <= sizeof stackbuf ? stackbuf : malloc(secret_len + 4);
    if (!k0)
        return RN_ENOMEM;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, secret_len);
    uint8_t a[32], b[32];
    int rc = hmac(k0, secret_len + 4, date.p, date.len, a);
    if (!rc)
        rc = hmac(a, 32, region.p, region.len, b);
    if (!rc)
        rc = hmac(b, 32, service.p, service.len, a);
    if (!rc)
        rc = hmac(a, 32, TERMINATOR, strlen(TERMINATOR), key);
    OPENSSL_cleanse(k0, secret_len + 4);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    if (k0 != stackbuf)
        free(k0);
    return rc;
}

int rn_sigv4_signature(const uint8_t key[32], const char *sts, size_t sts_len, char hex[65])
{
    uint8_t mac[32];
    int rc = hmac(key, 32, sts, sts_len, mac);
    if (!rc)
        hex_encode(mac, sizeof mac, hex);
    return rc;
}

/* ---- signing (the client side) ----------------------------------------------------- */

static int hdr_name_cmp(const void *x, const void *y)
{
    const rn_sigv4_header_t *a = *(const rn_sigv4_header_t *const *)x, *b = *(const rn_sigv4_header_t *const *)y;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

int rn_sigv4_sign(const rn_sigv4_request_t *req, const char *access_key, const char *secret,
                  const char *region, const char *service, int64_t now, rn_buf_t *out)
{
    if (req->n_headers == 0 || req->n_headers > 64)
        return RN_EINVAL;
    const rn_sigv4_header_t *sorted[64];
    for (size_t i = 0; i < req->n_headers; i++)
        sorted[i] = &req->headers[i];
    qsort(sorted, req->n_headers, sizeof sorted[0], hdr_name_cmp);
    rn_buf_t list, cq, st;
    rn_buf_init(&list, CANON_MAX);
    rn_buf_init(&cq, CANON_MAX);
    rn_buf_init(&st, CANON_MAX);
    int rc = 0;
    for (size_t i = 0; i < req->n_headers && !rc; i++) {
        if (i)
            rc = rn_buf_append(&list, ";", 1);
        if (!rc)
            rc = rn_buf_append(&list, sorted[i]->name, sorted[i]->name_len);
    }
    rn_sigv4_auth_t a;
    memset(&a, 0, sizeof a);
    rn_sigv4_format_amz_date(now, a.amz_date);
    a.date = (rn_sigv4_str_t){a.amz_date, 8};
    a.region = (rn_sigv4_str_t){region, strlen(region)};
    a.service = (rn_sigv4_str_t){service, strlen(service)};
    a.signed_headers = (rn_sigv4_str_t){(const char *)list.data, list.len};
    rn_sigv4_options_t o;
    rn_sigv4_options_default(&o);
    o.service = service;
    rn_sigv4_failure_t f;
    char ph[65], sig[65];
    uint8_t key[32];
    if (!rc && rn_sigv4_payload_hash(req, &a, &o, ph, &f))
        rc = RN_EINVAL;
    if (!rc)
        rc = rn_sigv4_canonical_request(req, &a, &o, ph, &cq);
    if (!rc)
        rc = rn_sigv4_string_to_sign(&a, (const char *)cq.data, cq.len, &st);
    if (!rc)
        rc = rn_sigv4_signing_key(secret, strlen(secret), a.date, a.region, a.service, key);
    if (!rc)
        rc = rn_sigv4_signature(key, (const char *)st.data, st.len, sig);
    if (!rc)
        rc = rn_buf_printf(out, ALGORITHM " Credential=%s/%.8s/%s/%s/" TERMINATOR ", SignedHeaders=%s, Signature=%s",
                           access_key, a.amz_date, region, service, (const char *)list.data, sig);
    OPENSSL_cleanse(key, sizeof key);
    rn_buf_dispose(&list);
    rn_buf_dispose(&cq);
    rn_buf_dispose(&st);
    return rc;
}

/* ---- cache --------------------------------------------------------------------- */

#define CACHE_WAYS 4
#define CACHE_SETS (RN_SIGV4_CACHE_SLOTS / CACHE_WAYS)

/* An entry is keyed by the tuple (access key, secret, date, region,
 * service) itself, kept as one blob of length-prefixed fields and compared
 * with CRYPTO_memcmp: hashing the tuple (SHA-256) on every request cost as
 * much as the signature's HMAC. The set comes from a cheap hash of the
 * public fields; entries are added only after a signature verified. */
typedef struct cache_entry {
    uint8_t *id;     /* the tuple (owned; wiped when dropped) */
    size_t id_len;
    uint8_t key[32]; /* the derived signing key */
    uint64_t stamp;  /* last use; 0: empty */
} cache_entry_t;

#define CACHE_ID_MAX (5 * 4 + 128 + 1024 + 8 + 64 + 64)

struct rn_sigv4_cache {
    cache_entry_t e[RN_SIGV4_CACHE_SLOTS];
    uint64_t clock;
    rn_sigv4_cache_stats_t st;
};

rn_sigv4_cache_t *rn_sigv4_cache_create(void)
{
    return calloc(1, sizeof(rn_sigv4_cache_t));
}

static void entry_drop(cache_entry_t *e)
{
    if (e->id) {
        OPENSSL_cleanse(e->id, e->id_len);
        free(e->id);
    }
    e->id = NULL;
    e->id_len = 0;
}

void rn_sigv4_cache_destroy(rn_sigv4_cache_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < RN_SIGV4_CACHE_SLOTS; i++)
        entry_drop(&c->e[i]);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

void rn_sigv4_cache_stats(const rn_sigv4_cache_t *c, rn_sigv4_cache_stats_t *out)
{
    *out = c->st;
}

/* The tuple into id (capacity CACHE_ID_MAX): each field prefixed by its
 * length (4 bytes), so that no two tuples give the same bytes. Returns its
 * length, 0 if a field is too long to cache; *set: the set to look in. */
static size_t cache_id(const rn_sigv4_auth_t *a, const char *secret, size_t secret_len, uint8_t *id,
                       unsigned *set)
{
    const rn_sigv4_str_t parts[] = {a->access_key, {secret, secret_len}, a->date, a->region, a->service};
    static const size_t caps[] = {128, 1024, 8, 64, 64};
    size_t n = 0;
    uint32_t h = 2166136261u; /* FNV-1a of the public fields */
    for (size_t i = 0; i < 5; i++) {
        if (parts[i].len > caps[i])
            return 0;
        uint32_t l = (uint32_t)parts[i].len;
        for (int b = 0; b < 4; b++)
            id[n++] = (uint8_t)(l >> (8 * b));
        memcpy(id + n, parts[i].p, parts[i].len);
        n += parts[i].len;
        if (i == 1)
            continue;
        for (size_t k = 0; k < parts[i].len; k++)
            h = (h ^ (uint8_t)parts[i].p[k]) * 16777619u;
    }
    *set = h % CACHE_SETS;
    return n;
}

static cache_entry_t *cache_find(rn_sigv4_cache_t *c, unsigned set_ix, const uint8_t *id, size_t len)
{
    cache_entry_t *set = &c->e[set_ix * CACHE_WAYS];
    for (int i = 0; i < CACHE_WAYS; i++)
        if (set[i].stamp && set[i].id_len == len && CRYPTO_memcmp(set[i].id, id, len) == 0)
            return &set[i];
    return NULL;
}

static void cache_put(rn_sigv4_cache_t *c, unsigned set_ix, const uint8_t *id, size_t len, const uint8_t key[32])
{
    cache_entry_t *set = &c->e[set_ix * CACHE_WAYS];
    cache_entry_t *v = &set[0];
    for (int i = 0; i < CACHE_WAYS; i++) {
        if (!set[i].stamp) {
            v = &set[i];
            break;
        }
        if (set[i].stamp < v->stamp)
            v = &set[i];
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return; /* not cached: the next request derives the key again */
    if (v->stamp)
        c->st.evictions++;
    entry_drop(v);
    memcpy(copy, id, len);
    v->id = copy;
    v->id_len = len;
    memcpy(v->key, key, 32);
    v->stamp = ++c->clock;
    c->st.inserts++;
}

/* ---- step 3: verify ------------------------------------------------------------- */

int rn_sigv4_verify(rn_sigv4_cache_t *cache, const rn_sigv4_request_t *req,
                    const rn_sigv4_auth_t *a, const rn_sigv4_options_t *o, const char *secret,
                    size_t secret_len, rn_buf_t *creq_out, rn_buf_t *sts_out, rn_sigv4_failure_t *f)
{
    fail_clear(f);
    f->query_form = a->query_form;
    char ph[65];
    if (rn_sigv4_payload_hash(req, a, o, ph, f))
        return 1;
    /* The canonical request and the string to sign, in per-thread buffers
     * kept between requests (two allocations per request showed in the
     * profile); neither holds a secret. A request that made them grow past
     * 64 KiB gives the memory back. */
    static __thread rn_buf_t tl_creq, tl_sts;
    static __thread int tl_init;
    if (!tl_init) {
        rn_buf_init(&tl_creq, CANON_MAX);
        rn_buf_init(&tl_sts, CANON_MAX);
        tl_init = 1;
    }
    rn_buf_t *cq = &tl_creq, *st = &tl_sts;
    rn_buf_reset(cq);
    rn_buf_reset(st);
    int rc = rn_sigv4_canonical_request(req, a, o, ph, cq);
    if (!rc)
        rc = rn_sigv4_string_to_sign(a, (const char *)cq->data, cq->len, st);
    uint8_t id[CACHE_ID_MAX], key[32];
    size_t id_len = 0;
    unsigned set_ix = 0;
    cache_entry_t *hit = NULL;
    if (!rc && cache)
        id_len = cache_id(a, secret, secret_len, id, &set_ix);
    if (!rc && cache) {
        hit = id_len ? cache_find(cache, set_ix, id, id_len) : NULL;
        if (hit) {
            memcpy(key, hit->key, 32);
            hit->stamp = ++cache->clock;
            cache->st.hits++;
        } else {
            cache->st.misses++;
        }
    }
    if (!rc && !hit)
        rc = rn_sigv4_signing_key(secret, secret_len, a->date, a->region, a->service, key);
    char sig[65];
    if (!rc)
        rc = rn_sigv4_signature(key, (const char *)st->data, st->len, sig);
    if (!rc) {
        /* The lengths are public; the bytes are compared in constant time. */
        int ok = a->signature.len == 64 && CRYPTO_memcmp(sig, a->signature.p, 64) == 0;
        if (ok) {
            if (cache && !hit && id_len)
                cache_put(cache, set_ix, id, id_len, key);
        } else {
            msg_add(f, "The request signature we calculated does not match the signature you "
                       "provided. Check your AWS Secret Access Key and signing method. Consult the "
                       "service documentation for details.");
            rc = fail_set(f, RN_SIGV4_MISMATCH);
        }
    }
    OPENSSL_cleanse(key, sizeof key);
    if (id_len)
        OPENSSL_cleanse(id, id_len);
    if (rc >= 0 && creq_out && rn_buf_append(creq_out, cq->data, cq->len) != 0)
        rc = RN_ENOMEM;
    if (rc >= 0 && sts_out && rn_buf_append(sts_out, st->data, st->len) != 0)
        rc = RN_ENOMEM;
    if (cq->cap > 65536)
        rn_buf_dispose(cq);
    if (st->cap > 65536)
        rn_buf_dispose(st);
    return rc;
}
