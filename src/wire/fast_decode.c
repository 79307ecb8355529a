/* fast_decode.c: strict one-pass decoders for the record operations' usual
 * bodies (see fast.h for the contract).
 *
 * A small cursor scanner: whitespace as JSON defines it, objects whose keys
 * are plain ASCII, strings without escapes, integers without fraction or
 * exponent. Each decoder knows its members by name; a member seen twice, an
 * unknown member, null, a value of another type or any violated model rule
 * ends the attempt with RN_FAST_FALLBACK, so the generic decoder can word
 * the error exactly. Nothing is allocated except the blob arena, grown once
 * per request. */
#include "util/utf8.h"
#include "wire/fast.h"

#include <string.h>


#define FB RN_FAST_FALLBACK

typedef struct scan {
    const uint8_t *p;
    const uint8_t *end;
} scan_t;

/* ---- lexical pieces --------------------------------------------------------------------- */

static inline void ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Consume the character c after optional whitespace; 1 when it was there. */
static inline int take(scan_t *s, uint8_t c)
{
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

/* A string without escapes or control characters. *units is its length in
 * UTF-16 code units (Java's String.length()). */
static int str(scan_t *s, rn_fast_str_t *out, size_t *units)
{
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return FB;
    const uint8_t *b = ++s->p, *q = b, *end = s->end;
    size_t less = 0; /* bytes minus UTF-16 units */
    for (;;) {
        while (q < end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
            q++;
        if (q >= end)
            return FB;
        if (*q == '"')
            break;
        if (*q < 0x80)
            return FB; /* an escape or a control character */
        size_t l = rn_utf8_seq(q, (size_t)(end - q));
        if (!l)
            return FB;
        less += l == 4 ? 2 : l - 1;
        q += l;
    }
    out->p = (const char *)b;
    out->len = (size_t)(q - b);
    *units = out->len - less;
    s->p = q + 1;
    return 0;
}

/* A base64 string: only the closing quote is looked for here (memchr);
 * base64 decoding later refuses every byte that does not belong, so an
 * escape, a control character or non-ASCII text falls back there. */
static int b64str(scan_t *s, rn_fast_str_t *out)
{
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return FB;
    const uint8_t *b = s->p + 1;
    const uint8_t *q = memchr(b, '"', (size_t)(s->end - b));
    if (!q)
        return FB;
    out->p = (const char *)b;
    out->len = (size_t)(q - b);
    s->p = q + 1;
    return 0;
}

/* An object key: the bytes up to the next quote, then ':'. Only the
 * members' names are accepted by the callers, and none of them holds a
 * backslash, so a key with an escape (even an escaped quote) never matches
 * and falls back; its bytes need no further check here. */
static int key(scan_t *s, const char **k, size_t *klen)
{
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return FB;
    const uint8_t *b = ++s->p;
    const uint8_t *q = memchr(b, '"', (size_t)(s->end - b));
    if (!q)
        return FB;
    *k = (const char *)b;
    *klen = (size_t)(q - b);
    s->p = q + 1;
    return take(s, ':') ? 0 : FB;
}

/* An integer: -?(0|[1-9][0-9]*) with at most 18 digits, not followed by a
 * fraction or an exponent (those are reals for jansson). */
static int integer(scan_t *s, int64_t *v)
{
    ws(s);
    int neg = s->p < s->end && *s->p == '-';
    const uint8_t *q = s->p + neg, *b = q;
    int64_t x = 0;
    while (q < s->end && *q >= '0' && *q <= '9' && q - b < 18) {
        x = x * 10 + (*q - '0');
        q++;
    }
    size_t nd = (size_t)(q - b);
    if (nd == 0 || (nd > 1 && *b == '0'))
        return FB;
    /* a 19th digit (or more) also lands here: too long for the fast path */
    if (q < s->end && (*q == '.' || *q == 'e' || *q == 'E' || (*q >= '0' && *q <= '9')))
        return FB;
    s->p = q;
    *v = neg ? -x : x;
    return 0;
}

/* The end of the body: only whitespace may follow the root object. */
static int at_end(scan_t *s)
{
    ws(s);
    return s->p == s->end ? 0 : FB;
}

#define KEY_IS(k, kl, lit) ((kl) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* ---- model rules ------------------------------------------------------------------------ */

/* [a-zA-Z0-9_.-]+ with 1..128 characters: StreamName, ShardId. */
static int name_ok(const rn_fast_str_t *v)
{
    if (v->len < 1 || v->len > 128)
        return 0;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* 0|([1-9]\d{0,max-1}): HashKey (39 digits), SequenceNumber (129 digits). */
static int decimal_ok(const rn_fast_str_t *v, size_t max)
{
    if (v->len < 1 || v->len > max || (v->len > 1 && v->p[0] == '0'))
        return 0;
    for (size_t i = 0; i < v->len; i++)
        if (v->p[i] < '0' || v->p[i] > '9')
            return 0;
    return 1;
}

/* Room in the arena for the decoded bytes of every blob (exact: base64 of
 * length L decodes to at most L / 4 * 3 bytes). */
static int blob_decode(const rn_fast_str_t *b64, rn_buf_t *arena, size_t *off, size_t *len)
{
    size_t n = 0;
    if (rn_fast_b64_decode(b64->p, b64->len, arena->data + arena->len, &n) != 0)
        return FB;
    if (n > 10485760) /* Data: length <= 10485760 */
        return FB;
    *off = arena->len;
    *len = n;
    arena->len += n;
    return 0;
}

/* ---- PutRecords / PutRecord ------------------------------------------------------------- */

/* The members of one record object (after its '{'), up to its '}'.
 * Data and PartitionKey must be there. *b64 receives the Data text. */
static int record_members(scan_t *s, rn_fast_record_t *r, rn_fast_str_t *b64)
{
    unsigned seen = 0;
    r->ehk.p = NULL;
    r->ehk.len = 0;
    if (take(s, '}'))
        return FB;
    do {
        const char *k;
        size_t kl, units;
        if (key(s, &k, &kl))
            return FB;
        if (KEY_IS(k, kl, "Data")) {
            if ((seen & 1) || b64str(s, b64))
                return FB;
            seen |= 1;
        } else if (KEY_IS(k, kl, "PartitionKey")) {
            if ((seen & 2) || str(s, &r->pk, &units) || units < 1 || units > 256)
                return FB;
            seen |= 2;
        } else if (KEY_IS(k, kl, "ExplicitHashKey")) {
            if ((seen & 4) || str(s, &r->ehk, &units) || !decimal_ok(&r->ehk, 39))
                return FB;
            seen |= 4;
        } else {
            return FB;
        }
    } while (take(s, ','));
    if (!take(s, '}') || (seen & 3) != 3)
        return FB;
    return 0;
}

int rn_fast_decode_put_records(const uint8_t *body, size_t len, rn_fast_put_records_t *out,
                               rn_buf_t *arena)
{
    scan_t s = {body, body + len};
    rn_fast_str_t b64[RN_FAST_MAX_RECORDS];
    unsigned seen = 0;
    out->n = 0;
    if (!take(&s, '{') || take(&s, '}'))
        return FB;
    do {
        const char *k;
        size_t kl;
        if (key(&s, &k, &kl))
            return FB;
        if (KEY_IS(k, kl, "StreamName")) {
            size_t units;
            if ((seen & 1) || str(&s, &out->stream_name, &units) || !name_ok(&out->stream_name))
                return FB;
            seen |= 1;
        } else if (KEY_IS(k, kl, "Records")) {
            if ((seen & 2) || !take(&s, '[') || take(&s, ']'))
                return FB;
            seen |= 2;
            do {
                if (out->n == RN_FAST_MAX_RECORDS || !take(&s, '{'))
                    return FB;
                if (record_members(&s, &out->recs[out->n], &b64[out->n]))
                    return FB;
                out->n++;
            } while (take(&s, ','));
            if (!take(&s, ']'))
                return FB;
        } else {
            return FB;
        }
    } while (take(&s, ','));
    if (!take(&s, '}') || at_end(&s) || seen != 3)
        return FB;

    size_t room = 0;
    for (size_t i = 0; i < out->n; i++)
        room += b64[i].len / 4 * 3;
    if (rn_buf_reserve(arena, room))
        return FB;
    for (size_t i = 0; i < out->n; i++)
        if (blob_decode(&b64[i], arena, &out->recs[i].data_off, &out->recs[i].data_len))
            return FB;
    return 0;
}

int rn_fast_decode_put_record(const uint8_t *body, size_t len, rn_fast_put_record_t *out,
                              rn_buf_t *arena)
{
    scan_t s = {body, body + len};
    rn_fast_str_t b64 = {NULL, 0};
    unsigned seen = 0;
    out->rec.ehk.p = NULL;
    out->rec.ehk.len = 0;
    out->sfo.p = NULL;
    out->sfo.len = 0;
    if (!take(&s, '{') || take(&s, '}'))
        return FB;
    do {
        const char *k;
        size_t kl, units;
        if (key(&s, &k, &kl))
            return FB;
        if (KEY_IS(k, kl, "StreamName")) {
            if ((seen & 1) || str(&s, &out->stream_name, &units) || !name_ok(&out->stream_name))
                return FB;
            seen |= 1;
        } else if (KEY_IS(k, kl, "Data")) {
            if ((seen & 2) || b64str(&s, &b64))
                return FB;
            seen |= 2;
        } else if (KEY_IS(k, kl, "PartitionKey")) {
            if ((seen & 4) || str(&s, &out->rec.pk, &units) || units < 1 || units > 256)
                return FB;
            seen |= 4;
        } else if (KEY_IS(k, kl, "ExplicitHashKey")) {
            if ((seen & 8) || str(&s, &out->rec.ehk, &units) || !decimal_ok(&out->rec.ehk, 39))
                return FB;
            seen |= 8;
        } else if (KEY_IS(k, kl, "SequenceNumberForOrdering")) {
            if ((seen & 16) || str(&s, &out->sfo, &units) || !decimal_ok(&out->sfo, 129))
                return FB;
            seen |= 16;
        } else {
            return FB;
        }
    } while (take(&s, ','));
    if (!take(&s, '}') || at_end(&s) || (seen & 7) != 7)
        return FB;
    if (rn_buf_reserve(arena, b64.len / 4 * 3))
        return FB;
    return blob_decode(&b64, arena, &out->rec.data_off, &out->rec.data_len);
}

/* ---- GetRecords / GetShardIterator ----------------------------------------------------- */

int rn_fast_decode_get_records(const uint8_t *body, size_t len, rn_fast_get_records_t *out)
{
    scan_t s = {body, body + len};
    unsigned seen = 0;
    out->has_limit = 0;
    out->limit = 0;
    if (!take(&s, '{') || take(&s, '}'))
        return FB;
    do {
        const char *k;
        size_t kl, units;
        if (key(&s, &k, &kl))
            return FB;
        if (KEY_IS(k, kl, "ShardIterator")) {
            if ((seen & 1) || str(&s, &out->iterator, &units) || units < 1 || units > 512)
                return FB;
            seen |= 1;
        } else if (KEY_IS(k, kl, "Limit")) {
            if ((seen & 2) || integer(&s, &out->limit) || out->limit < 1 || out->limit > 10000)
                return FB;
            out->has_limit = 1;
            seen |= 2;
        } else {
            return FB;
        }
    } while (take(&s, ','));
    if (!take(&s, '}') || at_end(&s) || !(seen & 1))
        return FB;
    return 0;
}

static int iterator_type_ok(const rn_fast_str_t *v)
{
    static const char *const types[] = {"AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP",
                                        "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strlen(types[i]) == v->len && memcmp(types[i], v->p, v->len) == 0)
            return 1;
    return 0;
}

int rn_fast_decode_get_shard_iterator(const uint8_t *body, size_t len, rn_fast_get_shard_iterator_t *out)
{
    scan_t s = {body, body + len};
    unsigned seen = 0;
    out->starting_seq.p = NULL;
    out->starting_seq.len = 0;
    out->has_timestamp = 0;
    out->timestamp = 0;
    if (!take(&s, '{') || take(&s, '}'))
        return FB;
    do {
        const char *k;
        size_t kl, units;
        if (key(&s, &k, &kl))
            return FB;
        if (KEY_IS(k, kl, "StreamName")) {
            if ((seen & 1) || str(&s, &out->stream_name, &units) || !name_ok(&out->stream_name))
                return FB;
            seen |= 1;
        } else if (KEY_IS(k, kl, "ShardId")) {
            if ((seen & 2) || str(&s, &out->shard_id, &units) || !name_ok(&out->shard_id))
                return FB;
            seen |= 2;
        } else if (KEY_IS(k, kl, "ShardIteratorType")) {
            if ((seen & 4) || str(&s, &out->type, &units) || !iterator_type_ok(&out->type))
                return FB;
            seen |= 4;
        } else if (KEY_IS(k, kl, "StartingSequenceNumber")) {
            if ((seen & 8) || str(&s, &out->starting_seq, &units) || !decimal_ok(&out->starting_seq, 129))
                return FB;
            seen |= 8;
        } else if (KEY_IS(k, kl, "Timestamp")) {
            int64_t t;
            if ((seen & 16) || integer(&s, &t))
                return FB;
            out->has_timestamp = 1;
            out->timestamp = (double)t;
            seen |= 16;
        } else {
            return FB;
        }
    } while (take(&s, ','));
    if (!take(&s, '}') || at_end(&s) || (seen & 7) != 7)
        return FB;
    return 0;
}
