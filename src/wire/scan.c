/* scan.c: one allocation-free pass over a request body, guided by the
 * operation's input shape, that refuses what the shape cannot hold before
 * any tree is built (see scan.h for the bounds, docs/wire.md for the
 * answers).
 *
 * Both scanners tokenize exactly as their parser does on input the parser
 * accepts (JSON: jansson's strings, escapes, literals and whitespace; CBOR:
 * wire/cbor.c's heads, chunks, breaks and depth), so the structure counted
 * here is the tree that would be built. Where the input is malformed the
 * scan answers as the parser would (a bare SerializationException), or lets
 * it through when only the parser can tell (a bad number, bad UTF-8): the
 * parser then stops at the same place, having built at most what was
 * counted. The scan never refuses as malformed what its parser accepts
 * (checked by fuzz/fuzz_wire_scan.c).
 *
 * Recursion is bounded: known values follow their shapes (which do not
 * recurse), foreign values stop at RN_WIRE_FOREIGN_DEPTH, CBOR tags at
 * RN_CBOR_MAX_DEPTH. */
#include "wire/scan.h"

#include "util/ascii.h"

#include <stdio.h>
#include <string.h>

#include "wire/cbor.h"

#define MSG_LIST "Start of list found where not expected"
#define MSG_OBJECT "Start of structure or map found where not expected."

/* The CBOR transcoder stops at this value with its own (coercion) error: the
 * scan has nothing left to bound. */
#define STOP 1

typedef struct sc {
    const uint8_t *p, *end;
    rn_error_t *err;
    size_t values;  /* values and keys seen */
    size_t fvalues; /* ... of them in foreign values */
    size_t fbytes;  /* bytes of finished foreign values */
    size_t chunks;  /* CBOR: chunks of indefinite-length strings */
} sc_t;

/* A foreign value being skipped: an unknown member (from its key on) or a
 * value of the wrong kind for its shape. */
typedef struct fv {
    const uint8_t *start;
    const char *fixed; /* the coercion message for any bound it breaks; NULL for unknown members */
} fv_t;

long long rn_wire_count_bound(const rn_wire_shape_t *sh)
{
    long long b = sh->has_max && sh->max > 0 ? sh->max * RN_WIRE_COUNT_SLACK : 0;
    return b > RN_WIRE_COUNT_FLOOR ? b : RN_WIRE_COUNT_FLOOR;
}

const char *rn_wire_container_error(int kind, int is_array, int is_object)
{
    switch (kind) {
    case RN_SK_STRUCTURE:
        return is_array ? MSG_LIST : is_object ? NULL : "Expected null";
    case RN_SK_LIST:
        return is_array ? NULL : is_object ? MSG_OBJECT : "Expected list or null";
    case RN_SK_MAP:
        return is_array ? MSG_LIST : is_object ? NULL : "Expected map or null";
    }
    return is_array ? MSG_LIST : is_object ? MSG_OBJECT : NULL;
}

/* ---- shared ------------------------------------------------------------ */

static int bare(sc_t *s)
{
    return rn_error_set(s->err, RN_AWS_SERIALIZATION_BARE);
}

static int ser(sc_t *s, const char *msg)
{
    return rn_error_set(s->err, RN_AWS_SERIALIZATION, msg);
}

static int count(sc_t *s)
{
    if (++s->values <= RN_WIRE_MAX_VALUES)
        return 0;
    char msg[96];
    snprintf(msg, sizeof msg, "Body of more than %d values found where not expected", RN_WIRE_MAX_VALUES);
    return ser(s, msg);
}

/* A foreign value broke a bound: depth_msg for its nesting, NULL for its
 * size. */
static int foreign_error(sc_t *s, const fv_t *f, const char *depth_msg)
{
    if (f->fixed) /* a value of the wrong type: the coercion error it gets anyway */
        return rn_error_set(s->err, RN_AWS_SERIALIZATION_TYPE, f->fixed);
    if (depth_msg)
        return ser(s, depth_msg);
    char msg[128];
    snprintf(msg, sizeof msg, "Unknown members of more than %d values or %zu bytes found where not expected",
             RN_WIRE_FOREIGN_VALUES, RN_WIRE_FOREIGN_BYTES);
    return ser(s, msg);
}

static int fcount(sc_t *s, const fv_t *f)
{
    if (count(s))
        return -1;
    if (++s->fvalues > RN_WIRE_FOREIGN_VALUES)
        return foreign_error(s, f, NULL);
    return 0;
}

static int fbytes(sc_t *s, const fv_t *f)
{
    if (s->fbytes + (size_t)(s->p - f->start) > RN_WIRE_FOREIGN_BYTES)
        return foreign_error(s, f, NULL);
    return 0;
}

static int count_error(sc_t *s, int is_list, long long bound)
{
    char msg[96];
    snprintf(msg, sizeof msg, "%s of more than %lld %s found where not expected", is_list ? "List" : "Map",
             bound, is_list ? "elements" : "entries");
    return ser(s, msg);
}

static const rn_wire_member_t *find_member(const rn_wire_shape_t *sh, const char *key, size_t klen)
{
    if (!key)
        return NULL;
    for (int i = 0; i < sh->n_members; i++) {
        const rn_wire_member_t *m = &sh->members[i];
        if (m->name_len == klen && memcmp(m->name, key, klen) == 0)
            return m;
    }
    return NULL;
}

/* Room for a key decoded to compare with member names (all short ASCII). */
#define KEY_CAP 64

/* ---- JSON ---------------------------------------------------------------- */

static inline void ws(sc_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* At '"': to after the closing quote. A quote closes the string when an even
 * number of backslashes precedes it; every backslash run is looked at once. */
static int j_string(sc_t *s)
{
    const uint8_t *q = s->p + 1;
    for (;;) {
        const uint8_t *c = q < s->end ? memchr(q, '"', (size_t)(s->end - q)) : NULL;
        if (!c)
            return bare(s);
        const uint8_t *b = c;
        while (b > q && b[-1] == '\\')
            b--;
        if (((size_t)(c - b) & 1) == 0) {
            s->p = c + 1;
            return 0;
        }
        q = c + 1;
    }
}

/* At '"': an object key. *k, *klen: its text as jansson would decode it, or
 * *k NULL when it cannot be a member name (longer than KEY_CAP, not ASCII,
 * or a bad escape that jansson refuses anyway). */
static int j_key(sc_t *s, char *buf, const char **k, size_t *klen)
{
    const uint8_t *b = s->p + 1;
    if (j_string(s))
        return -1;
    const uint8_t *e = s->p - 1;
    if (!memchr(b, '\\', (size_t)(e - b))) {
        *k = (const char *)b;
        *klen = (size_t)(e - b);
        return 0;
    }
    size_t n = 0;
    *k = NULL;
    for (const uint8_t *q = b; q < e; q++) {
        if (n >= KEY_CAP)
            return 0;
        uint8_t c = *q;
        if (c == '\\') {
            c = *++q; /* q < e: the closing quote is not escaped */
            switch (c) {
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case '"':
            case '\\':
            case '/':
                break;
            case 'u': {
                if (e - q < 5)
                    return 0;
                int v = 0;
                for (int i = 1; i <= 4; i++) {
                    int h = rn_ascii_hexval(q[i]);
                    if (h < 0)
                        return 0;
                    v = v << 4 | h;
                }
                if (v >= 0x80)
                    return 0; /* member names are ASCII */
                c = (uint8_t)v;
                q += 4;
                break;
            }
            default:
                return 0;
            }
        }
        buf[n++] = (char)c;
    }
    *k = buf;
    *klen = n;
    return 0;
}

/* jansson reads ahead one byte after a number or a literal and puts it back;
 * its stream takes a NUL in its one-byte buffer for "empty", so one NUL byte
 * right after such a token is skipped, as if it were not there. */
static void j_after_token(sc_t *s)
{
    if (s->p < s->end && *s->p == 0)
        s->p++;
}

static int j_literal(sc_t *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return bare(s);
    s->p += n;
    j_after_token(s);
    return 0;
}

/* A string, number or literal (p at its first byte). Numbers are skipped
 * loosely: jansson refuses a bad one itself. */
static int j_scalar(sc_t *s)
{
    uint8_t c = *s->p;
    if (c == '"')
        return j_string(s);
    if (c == 't')
        return j_literal(s, "true", 4);
    if (c == 'f')
        return j_literal(s, "false", 5);
    if (c == 'n')
        return j_literal(s, "null", 4);
    if (c != '-' && !(c >= '0' && c <= '9'))
        return bare(s);
    s->p++;
    while (s->p < s->end && ((*s->p >= '0' && *s->p <= '9') || *s->p == '.' || *s->p == 'e' || *s->p == 'E' ||
                             *s->p == '+' || *s->p == '-'))
        s->p++;
    j_after_token(s);
    return 0;
}

/* After a member or element: ',' (1), the closing byte (0), else -1. */
static int j_next(sc_t *s, uint8_t close)
{
    ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        ws(s);
        return s->p < s->end ? 1 : bare(s);
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    return bare(s);
}

/* At '"' of a key: past the key and its ':' to the value (not at the end). */
static int j_colon(sc_t *s)
{
    ws(s);
    if (s->p >= s->end || *s->p != ':')
        return bare(s);
    s->p++;
    ws(s);
    return s->p < s->end ? 0 : bare(s);
}

/* Opening a container: p past it and its whitespace; 1 when it is empty
 * (closed too), 0 when a member or element follows, -1 at the end. */
static int j_open(sc_t *s, uint8_t close)
{
    s->p++;
    ws(s);
    if (s->p >= s->end)
        return bare(s);
    if (*s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

static int j_foreign(sc_t *s, const fv_t *f, int fdepth)
{
    if (fcount(s, f))
        return -1;
    uint8_t c = *s->p;
    if (c != '{' && c != '[')
        return j_scalar(s) ? -1 : fbytes(s, f);
    if (fdepth >= RN_WIRE_FOREIGN_DEPTH)
        return foreign_error(s, f, c == '[' ? MSG_LIST : MSG_OBJECT);
    uint8_t close = c == '{' ? '}' : ']';
    int rc = j_open(s, close);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (;;) {
        if (c == '{') {
            if (*s->p != '"')
                return bare(s);
            if (j_string(s) || fcount(s, f) || fbytes(s, f) || j_colon(s))
                return -1;
        }
        if (j_foreign(s, f, fdepth + 1))
            return -1;
        rc = j_next(s, close);
        if (rc <= 0)
            return rc;
    }
}

static int j_value(sc_t *s, const rn_wire_shape_t *sh);

static int j_struct(sc_t *s, const rn_wire_shape_t *sh)
{
    if (count(s))
        return -1;
    int rc = j_open(s, '}');
    if (rc)
        return rc < 0 ? -1 : 0;
    char buf[KEY_CAP];
    for (;;) {
        if (*s->p != '"')
            return bare(s);
        const uint8_t *kstart = s->p;
        const char *k;
        size_t klen;
        if (j_key(s, buf, &k, &klen) || j_colon(s))
            return -1;
        const rn_wire_member_t *m = find_member(sh, k, klen);
        if (m) {
            if (count(s) || j_value(s, &rn_wire_shapes[m->shape]))
                return -1;
        } else {
            fv_t f = {kstart, NULL};
            if (fcount(s, &f) || j_foreign(s, &f, 0) || fbytes(s, &f))
                return -1;
            s->fbytes += (size_t)(s->p - kstart);
        }
        rc = j_next(s, '}');
        if (rc <= 0)
            return rc;
    }
}

static int j_list(sc_t *s, const rn_wire_shape_t *sh)
{
    if (count(s))
        return -1;
    int rc = j_open(s, ']');
    if (rc)
        return rc < 0 ? -1 : 0;
    const rn_wire_shape_t *el = &rn_wire_shapes[sh->member];
    long long bound = rn_wire_count_bound(sh), n = 0;
    for (;;) {
        if (++n > bound)
            return count_error(s, 1, bound);
        if (j_value(s, el))
            return -1;
        rc = j_next(s, ']');
        if (rc <= 0)
            return rc;
    }
}

static int j_map(sc_t *s, const rn_wire_shape_t *sh)
{
    if (count(s))
        return -1;
    int rc = j_open(s, '}');
    if (rc)
        return rc < 0 ? -1 : 0;
    const rn_wire_shape_t *vs = &rn_wire_shapes[sh->value];
    long long bound = rn_wire_count_bound(sh), n = 0;
    for (;;) {
        if (++n > bound)
            return count_error(s, 0, bound);
        if (*s->p != '"')
            return bare(s);
        if (j_string(s) || count(s) || j_colon(s) || j_value(s, vs))
            return -1;
        rc = j_next(s, '}');
        if (rc <= 0)
            return rc;
    }
}

/* A known value of shape sh (p at its first byte). */
static int j_value(sc_t *s, const rn_wire_shape_t *sh)
{
    uint8_t c = *s->p;
    if (c == '{' && sh->kind == RN_SK_STRUCTURE)
        return j_struct(s, sh);
    if (c == '{' && sh->kind == RN_SK_MAP)
        return j_map(s, sh);
    if (c == '[' && sh->kind == RN_SK_LIST)
        return j_list(s, sh);
    if (c != '{' && c != '[')
        return count(s) || j_scalar(s) ? -1 : 0;
    fv_t f = {s->p, rn_wire_container_error(sh->kind, c == '[', c == '{')};
    if (j_foreign(s, &f, 0) || fbytes(s, &f))
        return -1;
    s->fbytes += (size_t)(s->p - f.start);
    return 0;
}

int rn_wire_scan_json(const rn_wire_shape_t *sh, const uint8_t *body, size_t len, rn_error_t *err)
{
    sc_t s = {body, body + len, err, 0, 0, 0, 0};
    ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return bare(&s); /* not an object: jansson's answer, without building it */
    if (j_struct(&s, sh))
        return -1;
    ws(&s);
    return s.p == s.end ? 0 : bare(&s);
}

/* ---- CBOR ---------------------------------------------------------------- */

enum {
    MT_UINT = RN_CBOR_UINT, MT_NEGINT = RN_CBOR_NEGINT, MT_BYTES = RN_CBOR_BYTES, MT_TEXT = RN_CBOR_TEXT,
    MT_ARRAY = RN_CBOR_ARRAY, MT_MAP = RN_CBOR_MAP, MT_TAG = RN_CBOR_TAG, MT_SIMPLE = RN_CBOR_SIMPLE
};
#define AI_INDEFINITE RN_CBOR_AI_INDEFINITE
#define BREAK RN_CBOR_BREAK

typedef rn_cbor_head_t head_t;

/* The transcoder's own head reader (cbor.c), so both read every head alike. */
static int c_head(sc_t *s, head_t *h)
{
    return rn_cbor_head(&s->p, s->end, h) ? bare(s) : 0;
}

static int c_break(sc_t *s)
{
    if (s->p < s->end && *s->p == BREAK) {
        s->p++;
        return 1;
    }
    return 0;
}

/* Past a string (head read). With buf: *k, *klen its text when it fits in
 * KEY_CAP bytes (definite strings point into the body), else *k NULL. */
static int c_string(sc_t *s, const head_t *h, char *buf, const char **k, size_t *klen)
{
    if (h->ai != AI_INDEFINITE) {
        if (h->arg > (uint64_t)(s->end - s->p))
            return bare(s);
        if (buf) {
            *k = (const char *)s->p;
            *klen = (size_t)h->arg;
        }
        s->p += h->arg;
        return 0;
    }
    size_t n = 0;
    int fits = 1;
    for (;;) {
        if (s->p >= s->end)
            return bare(s);
        if (c_break(s))
            break;
        head_t c;
        if (c_head(s, &c))
            return -1;
        if (c.major != h->major || c.ai == AI_INDEFINITE || c.arg > (uint64_t)(s->end - s->p))
            return bare(s);
        if (++s->chunks > RN_WIRE_MAX_CHUNKS) {
            char msg[96];
            snprintf(msg, sizeof msg, "Strings in more than %d chunks found where not expected", RN_WIRE_MAX_CHUNKS);
            return ser(s, msg);
        }
        if (buf && fits && c.arg <= KEY_CAP - n) {
            memcpy(buf + n, s->p, (size_t)c.arg);
            n += (size_t)c.arg;
        } else {
            fits = 0;
        }
        s->p += c.arg;
    }
    if (buf) {
        *k = fits ? buf : NULL;
        *klen = n;
    }
    return 0;
}

/* As cbor.c: false, true, null, undefined and floats; anything else (a break
 * out of place included) is malformed. */
static int c_simple(sc_t *s, const head_t *h)
{
    if ((h->ai >= 20 && h->ai <= 23) || (h->ai >= 25 && h->ai <= 27))
        return 0;
    return bare(s);
}

/* A definite count that cannot fit in the bytes left (each element takes a
 * byte, each pair two) is a truncation, found before any is read. Only for
 * foreign containers: the transcoder reads those without a shape, so
 * truncation is all it can find there; under a known shape it may stop
 * earlier, at a byte string where no blob belongs, and its elements are
 * walked instead (an announced count over the bound is refused at once). */
static int c_fits(sc_t *s, const head_t *h)
{
    if (h->ai == AI_INDEFINITE)
        return 0;
    uint64_t left = (uint64_t)(s->end - s->p);
    if (h->major == MT_MAP ? h->arg > left / 2 : h->arg > left)
        return bare(s);
    return 0;
}

/* More elements in a definite container (head h, i read so far)? */
static int c_more(sc_t *s, const head_t *h, uint64_t i)
{
    if (h->ai == AI_INDEFINITE)
        return !c_break(s);
    return i < h->arg;
}

static int c_foreign(sc_t *s, const fv_t *f, int fdepth, int depth);

/* A foreign container (head h read). */
static int c_foreign_container(sc_t *s, const fv_t *f, const head_t *h, int fdepth, int depth)
{
    int map = h->major == MT_MAP;
    if (fdepth >= RN_WIRE_FOREIGN_DEPTH)
        return foreign_error(s, f, map ? MSG_OBJECT : MSG_LIST);
    if (c_fits(s, h))
        return -1;
    if (h->ai != AI_INDEFINITE && h->arg * (map ? 2u : 1u) > (uint64_t)(RN_WIRE_FOREIGN_VALUES - s->fvalues))
        return foreign_error(s, f, NULL); /* announced too big: no need to walk it */
    for (uint64_t i = 0; c_more(s, h, i); i++) {
        if (map) {
            head_t kh;
            if (c_head(s, &kh))
                return -1;
            if (kh.major != MT_TEXT)
                return bare(s);
            if (c_string(s, &kh, NULL, NULL, NULL) || fcount(s, f) || fbytes(s, f))
                return -1;
        }
        if (c_foreign(s, f, fdepth + 1, depth + 1))
            return -1;
    }
    return 0;
}

/* A foreign item at nesting depth `depth` (as cbor.c counts it). */
static int c_foreign(sc_t *s, const fv_t *f, int fdepth, int depth)
{
    head_t h;
    if (c_head(s, &h))
        return -1;
    if (depth > RN_CBOR_MAX_DEPTH && (h.major == MT_ARRAY || h.major == MT_MAP || h.major == MT_TAG))
        return bare(s);
    if (h.major == MT_TAG) /* no tree node, but a step: counted as a value */
        return count(s) ? -1 : c_foreign(s, f, fdepth, depth + 1);
    if (fcount(s, f))
        return -1;
    switch (h.major) {
    case MT_BYTES:
    case MT_TEXT:
        return c_string(s, &h, NULL, NULL, NULL) || fbytes(s, f) ? -1 : 0;
    case MT_ARRAY:
    case MT_MAP:
        return c_foreign_container(s, f, &h, fdepth, depth);
    case MT_SIMPLE:
        return c_simple(s, &h);
    }
    return 0;
}

static int c_value(sc_t *s, const rn_wire_shape_t *sh, int depth, int t1);

static int c_struct(sc_t *s, const rn_wire_shape_t *sh, const head_t *h, int depth, int t1)
{
    if (count(s))
        return -1;
    char buf[KEY_CAP];
    for (uint64_t i = 0; c_more(s, h, i); i++) {
        const uint8_t *kstart = s->p;
        head_t kh;
        if (c_head(s, &kh))
            return -1;
        if (kh.major != MT_TEXT)
            return bare(s);
        const char *k;
        size_t klen;
        if (c_string(s, &kh, buf, &k, &klen))
            return -1;
        const rn_wire_member_t *m = find_member(sh, k, klen);
        if (m) {
            if (count(s))
                return -1;
            int rc = c_value(s, &rn_wire_shapes[m->shape], depth + 1, t1);
            if (rc)
                return rc;
        } else {
            fv_t f = {kstart, NULL};
            if (fcount(s, &f) || fbytes(s, &f) || c_foreign(s, &f, 0, depth + 1) || fbytes(s, &f))
                return -1;
            s->fbytes += (size_t)(s->p - kstart);
        }
    }
    return 0;
}

static int c_list(sc_t *s, const rn_wire_shape_t *sh, const head_t *h, int depth, int t1)
{
    if (count(s))
        return -1;
    long long bound = rn_wire_count_bound(sh);
    if (h->ai != AI_INDEFINITE && h->arg > (uint64_t)bound)
        return count_error(s, 1, bound);
    const rn_wire_shape_t *el = &rn_wire_shapes[sh->member];
    for (uint64_t i = 0; c_more(s, h, i); i++) {
        if (i >= (uint64_t)bound)
            return count_error(s, 1, bound);
        int rc = c_value(s, el, depth + 1, t1);
        if (rc)
            return rc;
    }
    return 0;
}

static int c_map(sc_t *s, const rn_wire_shape_t *sh, const head_t *h, int depth, int t1)
{
    if (count(s))
        return -1;
    long long bound = rn_wire_count_bound(sh);
    if (h->ai != AI_INDEFINITE && h->arg > (uint64_t)bound)
        return count_error(s, 0, bound);
    const rn_wire_shape_t *vs = &rn_wire_shapes[sh->value];
    for (uint64_t i = 0; c_more(s, h, i); i++) {
        if (i >= (uint64_t)bound)
            return count_error(s, 0, bound);
        head_t kh;
        if (c_head(s, &kh))
            return -1;
        if (kh.major != MT_TEXT)
            return bare(s);
        if (c_string(s, &kh, NULL, NULL, NULL) || count(s))
            return -1;
        int rc = c_value(s, vs, depth + 1, t1);
        if (rc)
            return rc;
    }
    return 0;
}

/* A known item of shape sh at nesting depth `depth`. t1: under a tag 1,
 * which the transcoder reads without a shape (so it never stops on a byte
 * string there). */
static int c_value(sc_t *s, const rn_wire_shape_t *sh, int depth, int t1)
{
    const uint8_t *start = s->p;
    head_t h;
    if (c_head(s, &h))
        return -1;
    if (depth > RN_CBOR_MAX_DEPTH && (h.major == MT_ARRAY || h.major == MT_MAP || h.major == MT_TAG))
        return bare(s);
    switch (h.major) {
    case MT_TAG: /* no tree node, but a step: counted as a value */
        return count(s) ? -1 : c_value(s, sh, depth + 1, t1 || h.arg == 1);
    case MT_UINT:
    case MT_NEGINT:
        return count(s);
    case MT_SIMPLE:
        return count(s) || c_simple(s, &h) ? -1 : 0;
    case MT_TEXT:
        return count(s) || c_string(s, &h, NULL, NULL, NULL) ? -1 : 0;
    case MT_BYTES:
        if (count(s) || c_string(s, &h, NULL, NULL, NULL))
            return -1;
        /* a byte string where no blob belongs: the transcoder stops here */
        return !t1 && sh->kind != RN_SK_BLOB ? STOP : 0;
    }
    if (h.major == MT_MAP && sh->kind == RN_SK_STRUCTURE)
        return c_struct(s, sh, &h, depth, t1);
    if (h.major == MT_MAP && sh->kind == RN_SK_MAP)
        return c_map(s, sh, &h, depth, t1);
    if (h.major == MT_ARRAY && sh->kind == RN_SK_LIST)
        return c_list(s, sh, &h, depth, t1);
    fv_t f = {start, rn_wire_container_error(sh->kind, h.major == MT_ARRAY, h.major == MT_MAP)};
    if (fcount(s, &f) || c_foreign_container(s, &f, &h, 0, depth) || fbytes(s, &f))
        return -1;
    s->fbytes += (size_t)(s->p - start);
    return 0;
}

int rn_wire_scan_cbor(const rn_wire_shape_t *sh, const uint8_t *body, size_t len, rn_error_t *err)
{
    sc_t s = {body, body + len, err, 0, 0, 0, 0};
    if (len == 0 || (body[0] >> 5) != MT_MAP)
        return bare(&s); /* as rn_cbor_to_json */
    int rc = c_value(&s, sh, 1, 0);
    if (rc)
        return rc == STOP ? 0 : -1;
    return s.p == s.end ? 0 : bare(&s);
}
