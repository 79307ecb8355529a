/* cbor.c: CBOR request bodies -> jansson trees, jansson trees -> CBOR
 * answers (cbor.h; KINESIS_CONTRACT §2.4).
 *
 * The reader is a cursor over the body: every read checks the bytes left
 * first, so a lying length (a string or array claiming more than the body
 * holds) is a truncation error before anything is allocated. Definite-length
 * arrays and maps are not preallocated: each element costs at least one
 * byte of input, so a count larger than the body fails as truncated. Text is
 * checked as UTF-8 by jansson (json_stringn rejects invalid text). Nesting is
 * capped at RN_CBOR_MAX_DEPTH, so recursion (here and in json_decref) stays
 * shallow.
 *
 * The writer emits the shortest head for every length and integer, objects
 * as indefinite-length maps and arrays with definite lengths. */
#include "util/utf8.h"
#include "wire/cbor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wire/b64.h"

enum {
    MT_UINT = RN_CBOR_UINT,
    MT_NEGINT = RN_CBOR_NEGINT,
    MT_BYTES = RN_CBOR_BYTES,
    MT_TEXT = RN_CBOR_TEXT,
    MT_ARRAY = RN_CBOR_ARRAY,
    MT_MAP = RN_CBOR_MAP,
    MT_TAG = RN_CBOR_TAG,
    MT_SIMPLE = RN_CBOR_SIMPLE,
};

#define AI_INDEFINITE RN_CBOR_AI_INDEFINITE
#define BREAK RN_CBOR_BREAK

/* ---- reader ------------------------------------------------------------ */

typedef struct rd {
    const uint8_t *p, *end;
    rn_error_t *err;
} rd_t;

typedef rn_cbor_head_t head_t;

static int bare(rd_t *r)
{
    return rn_error_set(r->err, RN_AWS_SERIALIZATION_BARE);
}

int rn_cbor_head(const uint8_t **pp, const uint8_t *end, rn_cbor_head_t *h)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return -1;
    uint8_t b = *p++;
    h->major = b >> 5;
    h->ai = b & 31;
    h->arg = 0;
    if (h->ai < 24) {
        h->arg = (uint64_t)h->ai;
        *pp = p;
        return 0;
    }
    if (h->ai >= 28 && h->ai <= 30)
        return -1; /* reserved */
    if (h->ai == AI_INDEFINITE) {
        /* allowed for strings, arrays, maps, and as a break (major 7) */
        if (h->major == MT_UINT || h->major == MT_NEGINT || h->major == MT_TAG)
            return -1;
        *pp = p;
        return 0;
    }
    size_t n = (size_t)1 << (h->ai - 24); /* 1, 2, 4 or 8 bytes */
    if ((size_t)(end - p) < n)
        return -1;
    for (size_t i = 0; i < n; i++)
        h->arg = h->arg << 8 | p[i];
    *pp = p + n;
    return 0;
}

static int rd_head(rd_t *r, head_t *h)
{
    return rn_cbor_head(&r->p, r->end, h) ? bare(r) : 0;
}

static double half_to_double(uint16_t hb)
{
    int e = (hb >> 10) & 0x1F;
    int m = hb & 0x3FF;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e != 31)
        v = ldexp(m + 1024, e - 25);
    else
        v = m == 0 ? INFINITY : NAN;
    return hb & 0x8000 ? -v : v;
}

/* The bytes of a string (definite or indefinite, of major type mt, head
 * already read) appended to tmp. */
static int rd_string(rd_t *r, const head_t *h, rn_buf_t *tmp)
{
    if (h->ai != AI_INDEFINITE) {
        if (h->arg > (uint64_t)(r->end - r->p))
            return bare(r);
        if (rn_buf_append(tmp, r->p, (size_t)h->arg))
            return rn_error_set(r->err, RN_AWS_INTERNAL_FAILURE);
        r->p += h->arg;
        return 0;
    }
    for (;;) {
        if (r->p >= r->end)
            return bare(r);
        if (*r->p == BREAK) {
            r->p++;
            return 0;
        }
        head_t c;
        if (rd_head(r, &c))
            return -1;
        if (c.major != h->major || c.ai == AI_INDEFINITE)
            return bare(r); /* chunks: definite strings of the same type */
        if (rd_string(r, &c, tmp))
            return -1;
    }
}

/* A byte string where sh wants something else. */
static int bytes_error(rd_t *r, const rn_wire_shape_t *sh)
{
    switch (sh->kind) {
    case RN_SK_STRUCTURE:
        return rn_error_set(r->err, RN_AWS_SERIALIZATION_TYPE, "Expected null");
    case RN_SK_LIST:
        return rn_error_set(r->err, RN_AWS_SERIALIZATION_TYPE, "Expected list or null");
    case RN_SK_MAP:
        return rn_error_set(r->err, RN_AWS_SERIALIZATION_TYPE, "Expected map or null");
    }
    char msg[128];
    snprintf(msg, sizeof msg, "class java.nio.HeapByteBuffer can not be converted to %s", rn_wire_java_name(sh->kind));
    return rn_error_set(r->err, RN_AWS_SERIALIZATION_TYPE, msg);
}

static const rn_wire_member_t *find_member(const rn_wire_shape_t *sh, const char *key, size_t klen)
{
    for (int i = 0; i < sh->n_members; i++) {
        const rn_wire_member_t *m = &sh->members[i];
        if (m->name_len == klen && memcmp(m->name, key, klen) == 0)
            return m;
    }
    return NULL;
}

static int rd_value(rd_t *r, const rn_wire_shape_t *sh, int depth, json_t **out);

static int is_break(rd_t *r)
{
    if (r->p < r->end && *r->p == BREAK) {
        r->p++;
        return 1;
    }
    return 0;
}

static int rd_array(rd_t *r, const head_t *h, const rn_wire_shape_t *sh, int depth, json_t **out)
{
    const rn_wire_shape_t *el = sh && sh->kind == RN_SK_LIST ? &rn_wire_shapes[sh->member] : NULL;
    json_t *a = json_array();
    if (!a)
        return rn_error_set(r->err, RN_AWS_INTERNAL_FAILURE);
    for (uint64_t i = 0; h->ai == AI_INDEFINITE || i < h->arg; i++) {
        if (h->ai == AI_INDEFINITE && is_break(r))
            break;
        json_t *v;
        if (rd_value(r, el, depth + 1, &v) || json_array_append_new(a, v)) {
            json_decref(a);
            return r->err->code != RN_AWS_NONE ? -1 : rn_error_set(r->err, RN_AWS_INTERNAL_FAILURE);
        }
    }
    *out = a;
    return 0;
}

static int rd_map(rd_t *r, const head_t *h, const rn_wire_shape_t *sh, int depth, json_t **out)
{
    json_t *o = json_object();
    rn_buf_t key;
    rn_buf_init(&key, 0);
    if (!o)
        return rn_error_set(r->err, RN_AWS_INTERNAL_FAILURE);
    int rc = 0;
    for (uint64_t i = 0; h->ai == AI_INDEFINITE || i < h->arg; i++) {
        if (h->ai == AI_INDEFINITE && is_break(r))
            break;
        head_t kh;
        rn_buf_reset(&key);
        if (rd_head(r, &kh) || (kh.major != MT_TEXT && bare(r)) || rd_string(r, &kh, &key)) {
            rc = -1;
            break;
        }
        const char *k = key.data ? (const char *)key.data : "";
        const rn_wire_shape_t *vs = NULL;
        if (sh && sh->kind == RN_SK_STRUCTURE) {
            const rn_wire_member_t *m = find_member(sh, k, key.len);
            vs = m ? &rn_wire_shapes[m->shape] : NULL;
        } else if (sh && sh->kind == RN_SK_MAP) {
            vs = &rn_wire_shapes[sh->value];
        }
        json_t *v;
        if (rd_value(r, vs, depth + 1, &v)) {
            rc = -1;
            break;
        }
#if JANSSON_VERSION_HEX >= 0x020e00
        int bad = json_object_setn_new(o, k, key.len, v);
#else
        int bad = memchr(k, 0, key.len) != NULL || json_object_set_new(o, k, v);
#endif
        if (bad) { /* invalid UTF-8 in the key, or no memory */
            rc = bare(r);
            break;
        }
    }
    rn_buf_dispose(&key);
    if (rc) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 0;
}

/* An epoch-milliseconds count as the JSON tree's seconds. */
static json_t *ms_to_seconds(double ms)
{
    return json_real(ms / 1000.0);
}

static int rd_value(rd_t *r, const rn_wire_shape_t *sh, int depth, json_t **out)
{
    *out = NULL;
    head_t h;
    if (rd_head(r, &h))
        return -1;
    if (depth > RN_CBOR_MAX_DEPTH && (h.major == MT_ARRAY || h.major == MT_MAP || h.major == MT_TAG))
        return bare(r);
    int ts = sh && sh->kind == RN_SK_TIMESTAMP;
    json_t *v = NULL;
    switch (h.major) {
    case MT_UINT:
        if (ts)
            v = ms_to_seconds((double)h.arg);
        else
            v = h.arg <= INT64_MAX ? json_integer((json_int_t)h.arg) : json_real((double)h.arg);
        break;
    case MT_NEGINT:
        if (ts)
            v = ms_to_seconds(-1.0 - (double)h.arg);
        else
            v = h.arg <= INT64_MAX ? json_integer(-1 - (json_int_t)h.arg) : json_real(-1.0 - (double)h.arg);
        break;
    case MT_BYTES:
    case MT_TEXT: {
        if (h.major == MT_BYTES && sh && sh->kind != RN_SK_BLOB) {
            rn_buf_t skip;
            rn_buf_init(&skip, 0);
            int rc = rd_string(r, &h, &skip); /* malformed input first */
            rn_buf_dispose(&skip);
            return rc ? -1 : bytes_error(r, sh);
        }
        rn_buf_t s;
        rn_buf_init(&s, 0);
        if (rd_string(r, &h, &s)) {
            rn_buf_dispose(&s);
            return -1;
        }
        if (h.major == MT_TEXT) {
            v = json_stringn(s.data ? (const char *)s.data : "", s.len);
            rn_buf_dispose(&s);
            if (!v)
                return bare(r); /* invalid UTF-8 */
        } else {
            rn_buf_t t;
            rn_buf_init(&t, 0);
            int rc = rn_buf_reserve(&t, rn_b64_encoded_len(s.len));
            if (!rc) {
                size_t n = rn_b64_encode(s.data ? s.data : (const uint8_t *)"", s.len, (char *)t.data);
                v = json_stringn((const char *)t.data, n);
            }
            rn_buf_dispose(&s);
            rn_buf_dispose(&t);
        }
        break;
    }
    case MT_ARRAY:
        return rd_array(r, &h, sh, depth, out);
    case MT_MAP:
        return rd_map(r, &h, sh, depth, out);
    case MT_TAG: {
        /* tag 1 (epoch) carries milliseconds in AWS's dialect; a float is
         * taken as seconds. Other tags: their content. */
        if (rd_value(r, h.arg == 1 ? NULL : sh, depth + 1, &v))
            return -1;
        if (h.arg == 1 && json_is_integer(v) && (!sh || ts)) {
            json_t *s = ms_to_seconds((double)json_integer_value(v));
            json_decref(v);
            v = s;
        }
        break;
    }
    case MT_SIMPLE:
        switch (h.ai) {
        case 20:
            v = json_false();
            break;
        case 21:
            v = json_true();
            break;
        case 22:
        case 23: /* undefined: as null, i.e. absent */
            v = json_null();
            break;
        case 25:
        case 26:
        case 27: {
            double d;
            if (h.ai == 25) {
                d = half_to_double((uint16_t)h.arg);
            } else if (h.ai == 26) {
                uint32_t u = (uint32_t)h.arg;
                float f;
                memcpy(&f, &u, sizeof f);
                d = f;
            } else {
                memcpy(&d, &h.arg, sizeof d);
            }
            if (!isfinite(d))
                return bare(r); /* JSON has no NaN or infinity either */
            v = json_real(d);
            break;
        }
        default: /* other simple values, and a break out of place */
            return bare(r);
        }
        break;
    }
    if (!v)
        return rn_error_set(r->err, RN_AWS_INTERNAL_FAILURE);
    *out = v;
    return 0;
}

int rn_cbor_to_json(const rn_wire_shape_t *sh, const uint8_t *body, size_t len, json_t **out,
                    rn_error_t *err)
{
    *out = NULL;
    rd_t r = {body, body + len, err};
    if (len == 0 || (body[0] >> 5) != MT_MAP)
        return bare(&r);
    json_t *root;
    if (rd_value(&r, sh, 1, &root))
        return -1;
    if (r.p != r.end) {
        json_decref(root);
        return bare(&r);
    }
    *out = root;
    return 0;
}

/* ---- writer ------------------------------------------------------------ */

static int put_head(rn_buf_t *b, int major, uint64_t arg)
{
    uint8_t h[9];
    size_t n;
    uint8_t mt = (uint8_t)(major << 5);
    if (arg < 24) {
        h[0] = mt | (uint8_t)arg;
        n = 1;
    } else if (arg <= 0xFF) {
        h[0] = mt | 24;
        h[1] = (uint8_t)arg;
        n = 2;
    } else if (arg <= 0xFFFF) {
        h[0] = mt | 25;
        n = 3;
    } else if (arg <= 0xFFFFFFFFu) {
        h[0] = mt | 26;
        n = 5;
    } else {
        h[0] = mt | 27;
        n = 9;
    }
    for (size_t i = 1; i < n && n > 2; i++)
        h[i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
    return rn_buf_append(b, h, n);
}

static int put_int(rn_buf_t *b, int64_t v)
{
    return v >= 0 ? put_head(b, MT_UINT, (uint64_t)v) : put_head(b, MT_NEGINT, (uint64_t)(-(v + 1)));
}

static int put_str(rn_buf_t *b, int major, const void *s, size_t n)
{
    int rc = put_head(b, major, n);
    return rc ? rc : rn_buf_append(b, s, n);
}

static int put_double(rn_buf_t *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    uint8_t h[9] = {0xFB};
    for (int i = 0; i < 8; i++)
        h[1 + i] = (uint8_t)(u >> (8 * (7 - i)));
    return rn_buf_append(b, h, 9);
}

/* Epoch seconds (integer or real) as tag 1 + integer milliseconds. */
static int put_timestamp(rn_buf_t *b, double seconds)
{
    double ms = floor(seconds * 1000.0 + 0.5);
    if (!(ms > -9.2e18 && ms < 9.2e18))
        ms = 0;
    uint8_t tag = 0xC1;
    int rc = rn_buf_append(b, &tag, 1);
    return rc ? rc : put_int(b, (int64_t)ms);
}

static int put_value(rn_buf_t *b, const rn_wire_shape_t *sh, const json_t *v, int depth);

static int put_object(rn_buf_t *b, const rn_wire_shape_t *sh, const json_t *v, int depth)
{
    uint8_t start = 0xBF, brk = BREAK;
    int rc = rn_buf_append(b, &start, 1);
    json_t *o = (json_t *)v; /* jansson's iterators take non-const */
    for (void *it = json_object_iter(o); it && !rc; it = json_object_iter_next(o, it)) {
        const char *k = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
        size_t klen = json_object_iter_key_len(it);
#else
        size_t klen = strlen(k);
#endif
        const rn_wire_shape_t *vs = NULL;
        if (sh && sh->kind == RN_SK_STRUCTURE) {
            const rn_wire_member_t *m = find_member(sh, k, klen);
            vs = m ? &rn_wire_shapes[m->shape] : NULL;
        } else if (sh && sh->kind == RN_SK_MAP) {
            vs = &rn_wire_shapes[sh->value];
        }
        rc = put_str(b, MT_TEXT, k, klen);
        if (!rc)
            rc = put_value(b, vs, json_object_iter_value(it), depth + 1);
    }
    return rc ? rc : rn_buf_append(b, &brk, 1);
}

static int put_value(rn_buf_t *b, const rn_wire_shape_t *sh, const json_t *v, int depth)
{
    static const uint8_t f = 0xF4, t = 0xF5, nul = 0xF6;
    if (depth > 2 * RN_CBOR_MAX_DEPTH)
        return RN_ETOOBIG;
    int kind = sh ? sh->kind : -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(b, sh, v, depth);
    case JSON_ARRAY: {
        const rn_wire_shape_t *el = kind == RN_SK_LIST ? &rn_wire_shapes[sh->member] : NULL;
        size_t n = json_array_size(v);
        int rc = put_head(b, MT_ARRAY, n);
        for (size_t i = 0; i < n && !rc; i++)
            rc = put_value(b, el, json_array_get(v, i), depth + 1);
        return rc;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        size_t dlen = 0;
        if (kind == RN_SK_BLOB && rn_b64_check(s, n, NULL, &dlen) == RN_B64_OK) {
            int rc = put_head(b, MT_BYTES, dlen);
            if (!rc)
                rc = rn_buf_reserve(b, n / 4 * 3); /* rn_b64_decode's room */
            if (rc)
                return rc;
            size_t got = 0;
            if (rn_b64_decode(s, n, b->data + b->len, &got) != 0 || got != dlen)
                return RN_EINVAL;
            b->len += got;
            b->data[b->len] = 0;
            return 0;
        }
        return put_str(b, MT_TEXT, s, n);
    }
    case JSON_INTEGER:
        if (kind == RN_SK_TIMESTAMP)
            return put_timestamp(b, (double)json_integer_value(v));
        if (kind == RN_SK_DOUBLE)
            return put_double(b, (double)json_integer_value(v));
        return put_int(b, (int64_t)json_integer_value(v));
    case JSON_REAL: {
        double d = json_real_value(v);
        if (kind == RN_SK_TIMESTAMP)
            return put_timestamp(b, d);
        if ((kind == RN_SK_INTEGER || kind == RN_SK_LONG) && d > -9.2e18 && d < 9.2e18)
            return put_int(b, (int64_t)floor(d));
        return put_double(b, d);
    }
    case JSON_TRUE:
        return rn_buf_append(b, &t, 1);
    case JSON_FALSE:
        return rn_buf_append(b, &f, 1);
    case JSON_NULL:
        return rn_buf_append(b, &nul, 1);
    }
    return 0;
}

int rn_cbor_from_json(const rn_wire_shape_t *sh, const json_t *v, rn_buf_t *dst)
{
    size_t mark = dst->len;
    int rc = put_value(dst, sh, v, 0);
    if (rc) {
        dst->len = mark;
        if (dst->data)
            dst->data[mark] = 0;
    }
    return rc;
}

/* Text with every invalid UTF-8 byte replaced by U+FFFD. */
static int put_text_lossy(rn_buf_t *b, const char *s, size_t n)
{
    rn_buf_t t;
    rn_buf_init(&t, 0);
    const unsigned char *u = (const unsigned char *)s;
    int rc = 0;
    size_t run = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t sl = rn_utf8_seq(u + i, n - i);
        if (sl) {
            i += sl;
            continue;
        }
        rc = rn_buf_append(&t, s + run, i - run);
        if (!rc)
            rc = rn_buf_append(&t, "\xEF\xBF\xBD", 3);
        run = ++i;
    }
    if (!rc)
        rc = rn_buf_append(&t, s + run, n - run);
    if (!rc)
        rc = put_str(b, MT_TEXT, t.data ? (const char *)t.data : "", t.len);
    rn_buf_dispose(&t);
    return rc;
}

int rn_cbor_error(const rn_error_t *err, rn_buf_t *dst)
{
    static const uint8_t start = 0xBF, brk = BREAK;
    size_t mark = dst->len;
    const char *type = rn_aws_error_type(err->code);
    int rc = rn_buf_append(dst, &start, 1);
    if (!rc)
        rc = put_str(dst, MT_TEXT, "__type", 6);
    if (!rc)
        rc = put_text_lossy(dst, type, strlen(type));
    if (!rc && err->has_message) {
        rc = put_str(dst, MT_TEXT, rn_aws_error_message_key(err->code), 7);
        if (!rc)
            rc = put_text_lossy(dst, err->message, err->message_len);
    }
    if (!rc)
        rc = rn_buf_append(dst, &brk, 1);
    if (rc) {
        dst->len = mark;
        if (dst->data)
            dst->data[mark] = 0;
    }
    return rc;
}
