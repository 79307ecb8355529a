/* json_parse.c: see json_parse.h. A recursive-descent parser over the body
 * bytes that calls jansson's constructors directly. */
#include "wire/json_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RN_JSON_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef struct {
    const uint8_t *p, *end;
    int as_real;      /* JSON_DECODE_INT_AS_REAL pass */
    int int_overflow; /* an integer overflowed json_int_t in the first pass */
    char *sb;         /* scratch for strings with escapes: a stack (keys stay while their value parses) */
    size_t sl, sc;
} jp_t;

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Non-zero when the 8 bytes hold a '"', '\\', a control byte or a non-ASCII byte
 * (may also flag a plain byte next to one of those: the caller then goes byte by byte). */
static inline uint64_t special8(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    return ((((x - ONES * 0x20) | (q - ONES) | (b - ONES)) & ~x) & HIGHS) | (x & HIGHS);
}

/* The first byte at or after p that is not plain printable ASCII inside a string. */
static inline const uint8_t *ascii_run(const uint8_t *p, const uint8_t *end)
{
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        if (special8(x))
            break;
        p += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* Length of the valid UTF-8 sequence at p (jansson's utf8_check_first/full), 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t u = p[0];
    size_t n;
    uint32_t v;
    if (u >= 0xC2 && u <= 0xDF) {
        n = 2;
        v = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
        n = 3;
        v = u & 0x0F;
    } else if (u >= 0xF0 && u <= 0xF4) {
        n = 4;
        v = u & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
        return 0;
    return n;
}

static int sb_put(jp_t *j, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (j->sc - j->sl < n) {
        size_t c = j->sc ? j->sc : 256;
        while (c - j->sl < n)
            c *= 2;
        char *nb = realloc(j->sb, c);
        if (!nb)
            return -1;
        j->sb = nb;
        j->sc = c;
    }
    memcpy(j->sb + j->sl, src, n);
    j->sl += n;
    return 0;
}

static int hex4(const uint8_t *p, const uint8_t *end, int32_t *out)
{
    if (end - p < 4)
        return -1;
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

/* A string whose opening quote is just behind j->p. Without escapes *s points
 * into the body; with them the decoded bytes are pushed on the scratch stack
 * at offset *off (*s = NULL; the caller pops them). */
static int scan_string(jp_t *j, const char **s, size_t *n, size_t *off)
{
    const uint8_t *p = j->p, *end = j->end, *start = p;
    for (;;) {
        p = ascii_run(p, end);
        if (p >= end)
            return -1;
        uint8_t c = *p;
        if (c == '"') {
            *s = (const char *)start;
            *n = (size_t)(p - start);
            j->p = p + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20)
            return -1;
        size_t k = utf8_seq(p, end);
        if (!k)
            return -1;
        p += k;
    }
    /* escapes: decode onto the scratch stack */
    *off = j->sl;
    if (sb_put(j, start, (size_t)(p - start)))
        goto fail;
    for (;;) {
        const uint8_t *r = ascii_run(p, end);
        if (r > p && sb_put(j, p, (size_t)(r - p)))
            goto fail;
        p = r;
        if (p >= end)
            goto fail;
        uint8_t c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            goto fail;
        if (c >= 0x80) {
            size_t k = utf8_seq(p, end);
            if (!k || sb_put(j, p, k))
                goto fail;
            p += k;
            continue;
        }
        /* backslash */
        if (end - p < 2)
            goto fail;
        char e;
        switch (p[1]) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '/': e = '/'; break;
        case 'b': e = '\b'; break;
        case 'f': e = '\f'; break;
        case 'n': e = '\n'; break;
        case 'r': e = '\r'; break;
        case 't': e = '\t'; break;
        case 'u': {
            int32_t v, v2;
            if (hex4(p + 2, end, &v))
                goto fail;
            p += 6;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (end - p < 2 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &v2) || v2 < 0xDC00 ||
                    v2 > 0xDFFF)
                    goto fail;
                p += 6;
                v = ((v - 0xD800) << 10) + (v2 - 0xDC00) + 0x10000;
            } else if (v >= 0xDC00 && v <= 0xDFFF) {
                goto fail;
            }
            uint8_t u[4];
            size_t un;
            if (v < 0x80) {
                u[0] = (uint8_t)v;
                un = 1;
            } else if (v < 0x800) {
                u[0] = (uint8_t)(0xC0 | (v >> 6));
                u[1] = (uint8_t)(0x80 | (v & 0x3F));
                un = 2;
            } else if (v < 0x10000) {
                u[0] = (uint8_t)(0xE0 | (v >> 12));
                u[1] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
                u[2] = (uint8_t)(0x80 | (v & 0x3F));
                un = 3;
            } else {
                u[0] = (uint8_t)(0xF0 | (v >> 18));
                u[1] = (uint8_t)(0x80 | ((v >> 12) & 0x3F));
                u[2] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
                u[3] = (uint8_t)(0x80 | (v & 0x3F));
                un = 4;
            }
            if (sb_put(j, u, un))
                goto fail;
            continue;
        }
        default:
            goto fail;
        }
        if (sb_put(j, &e, 1))
            goto fail;
        p += 2;
    }
    *s = NULL;
    *n = j->sl - *off;
    j->p = p + 1;
    return 0;
fail:
    j->sl = *off;
    return -1;
}

static inline void skip_ws(jp_t *j)
{
    const uint8_t *p = j->p, *end = j->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    j->p = p;
}

static inline int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static json_t *parse_number(jp_t *j)
{
    const uint8_t *p = j->p, *end = j->end, *start = p;
    int neg = 0, real = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p))
            return NULL;
    } else if (is_digit(*p)) {
        while (p < end && is_digit(*p))
            p++;
    } else {
        return NULL;
    }
    const uint8_t *iend = p;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
        real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
        real = 1;
    }
    if (p < end && *p == 0)
        p++; /* jansson's lexer drops the NUL it read ahead and put back (see literal) */
    j->p = p;
    if (!real && !j->as_real) {
        uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
        for (const uint8_t *q = start + neg; q < iend; q++) {
            uint64_t d = (uint64_t)(*q - '0');
            if (acc > (lim - d) / 10) {
                j->int_overflow = 1;
                return NULL;
            }
            acc = acc * 10 + d;
        }
        json_int_t v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)acc) : (json_int_t)acc;
        return json_integer(v);
    }
    size_t n = (size_t)(p - start);
    char sbuf[64], *buf = n < sizeof sbuf ? sbuf : malloc(n + 1);
    if (!buf)
        return NULL;
    memcpy(buf, start, n);
    buf[n] = 0;
    errno = 0;
    double d = strtod(buf, NULL);
    int ovf = (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE;
    if (buf != sbuf)
        free(buf);
    return ovf ? NULL : json_real(d);
}

static json_t *parse_value(jp_t *j, int depth);

static json_t *parse_object(jp_t *j, int depth)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return obj;
    }
    for (;;) {
        skip_ws(j);
        if (j->p >= j->end || *j->p != '"')
            goto fail;
        j->p++;
        const char *k;
        size_t kn, off = 0;
        if (scan_string(j, &k, &kn, &off))
            goto fail;
        if (!k && memchr(j->sb + off, 0, kn)) {
            j->sl = off;
            goto fail;
        }
        skip_ws(j);
        if (j->p >= j->end || *j->p != ':') {
            j->sl = k ? j->sl : off;
            goto fail;
        }
        j->p++;
        json_t *v = parse_value(j, depth + 1);
        if (!k) {
            k = j->sb + off; /* after the value: the scratch may have moved */
            j->sl = off;
        }
        if (!v || json_object_setn_new_nocheck(obj, k, kn, v))
            goto fail;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return obj;
        }
        goto fail;
    }
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(jp_t *j, int depth)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return arr;
    }
    for (;;) {
        json_t *v = parse_value(j, depth + 1);
        if (!v || json_array_append_new(arr, v))
            goto fail;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return arr;
        }
        goto fail;
    }
fail:
    json_decref(arr);
    return NULL;
}

static json_t *literal(jp_t *j, const char *word, size_t n, json_t *v)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return NULL;
    j->p += n;
    /* jansson's stream keeps the byte it reads ahead of a literal or a number
     * in a NUL-terminated buffer; putting back a NUL byte there drops it, so
     * one NUL right after a literal or a number is skipped. */
    if (j->p < j->end && *j->p == 0)
        j->p++;
    return v;
}

static json_t *parse_value(jp_t *j, int depth)
{
    if (depth > RN_JSON_MAX_DEPTH)
        return NULL;
    skip_ws(j);
    if (j->p >= j->end)
        return NULL;
    switch (*j->p) {
    case '{':
        return parse_object(j, depth);
    case '[':
        return parse_array(j, depth);
    case '"': {
        j->p++;
        const char *s;
        size_t n, off = 0;
        if (scan_string(j, &s, &n, &off))
            return NULL;
        if (s)
            return json_stringn_nocheck(s, n);
        json_t *v = json_stringn_nocheck(j->sb + off, n);
        j->sl = off;
        return v;
    }
    case 't':
        return literal(j, "true", 4, json_true());
    case 'f':
        return literal(j, "false", 5, json_false());
    case 'n':
        return literal(j, "null", 4, json_null());
    default:
        if (*j->p == '-' || is_digit(*j->p))
            return parse_number(j);
        return NULL;
    }
}

static json_t *parse_doc(jp_t *j, const uint8_t *body, size_t len)
{
    j->p = body;
    j->end = body + len;
    j->sl = 0;
    skip_ws(j);
    if (j->p >= j->end || (*j->p != '{' && *j->p != '['))
        return NULL;
    json_t *root = parse_value(j, 1);
    if (!root)
        return NULL;
    skip_ws(j);
    if (j->p != j->end) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *rn_wire_json_parse(const uint8_t *body, size_t len)
{
    jp_t j;
    memset(&j, 0, sizeof j);
    json_t *root = parse_doc(&j, body, len);
    if (!root && j.int_overflow) {
        j.as_real = 1;
        root = parse_doc(&j, body, len);
    }
    free(j.sb);
    return root;
}
