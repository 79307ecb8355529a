/* test_cli_kpl.c: the KPL de-aggregator (cli/kpl.h): aggregated records
 * built here with a small protobuf writer decode to their user records, in
 * order, with their partition and explicit hash keys; a bad MD5, bad
 * indexes, truncated or ill-typed fields are reported; records without the
 * magic are ordinary ones. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "cli/kpl.h"
#include "tap.h"

typedef struct pb {
    uint8_t b[4096];
    size_t n;
} pb_t;

static void pb_varint(pb_t *p, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        p->b[p->n++] = (uint8_t)(c | (v ? 0x80 : 0));
    } while (v);
}

static void pb_bytes(pb_t *p, unsigned field, const void *d, size_t n)
{
    pb_varint(p, (uint64_t)field << 3 | 2);
    pb_varint(p, n);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void pb_uint(pb_t *p, unsigned field, uint64_t v)
{
    pb_varint(p, (uint64_t)field << 3);
    pb_varint(p, v);
}

/* magic + msg + MD5(msg) into out; returns the length. bad_md5 flips a bit. */
static size_t aggregate(const pb_t *msg, uint8_t *out, int bad_md5)
{
    static const uint8_t magic[4] = {0xF3, 0x89, 0x9A, 0xC2};
    memcpy(out, magic, 4);
    memcpy(out + 4, msg->b, msg->n);
    unsigned int l = 0;
    EVP_Digest(msg->b, msg->n, out + 4 + msg->n, &l, EVP_md5(), NULL);
    if (bad_md5)
        out[4 + msg->n + 3] ^= 1;
    return 4 + msg->n + 16;
}

static pb_t record(uint64_t pk, int64_t ehk, const char *data)
{
    pb_t r = {.n = 0};
    pb_uint(&r, 1, pk);
    if (ehk >= 0)
        pb_uint(&r, 2, (uint64_t)ehk);
    pb_bytes(&r, 3, data, strlen(data));
    return r;
}

static void add_record(pb_t *m, pb_t r)
{
    pb_bytes(m, 3, r.b, r.n);
}

static rn_kpl_status_t decode(const pb_t *m, int bad_md5, rn_kpl_record_t **recs, size_t *n)
{
    static uint8_t buf[8192];
    size_t len = aggregate(m, buf, bad_md5);
    return rn_kpl_decode(buf, len, recs, n);
}

/* The status alone (the records freed). */
static rn_kpl_status_t status_of(const pb_t *m)
{
    rn_kpl_record_t *recs;
    size_t n;
    rn_kpl_status_t st = decode(m, 0, &recs, &n);
    free(recs);
    return st;
}
#define MALFORMED(m) CHECK_EQ_INT(status_of(m), RN_KPL_MALFORMED)

static int view_is(const uint8_t *p, size_t n, const char *s)
{
    return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

static void test_roundtrip(void)
{
    pb_t m = {.n = 0};
    pb_bytes(&m, 1, "alpha", 5);
    pb_bytes(&m, 1, "beta", 4);
    pb_bytes(&m, 2, "12345", 5);
    add_record(&m, record(0, -1, "one"));
    add_record(&m, record(1, 0, "two"));
    pb_uint(&m, 7, 99);        /* an unknown varint field: skipped */
    pb_bytes(&m, 9, "xx", 2);  /* an unknown bytes field: skipped */
    pb_t r3 = record(0, -1, "");
    pb_t tag = {.n = 0};
    pb_bytes(&tag, 1, "k", 1);
    pb_bytes(&r3, 4, tag.b, tag.n); /* tags are skipped */
    add_record(&m, r3);
    rn_kpl_record_t *recs;
    size_t n;
    CHECK_EQ_INT(decode(&m, 0, &recs, &n), RN_KPL_OK);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK(view_is(recs[0].key, recs[0].key_len, "alpha"));
        CHECK(recs[0].ehk == NULL);
        CHECK(view_is(recs[0].data, recs[0].data_len, "one"));
        CHECK(view_is(recs[1].key, recs[1].key_len, "beta"));
        CHECK(view_is(recs[1].ehk, recs[1].ehk_len, "12345"));
        CHECK(view_is(recs[1].data, recs[1].data_len, "two"));
        CHECK(view_is(recs[2].key, recs[2].key_len, "alpha"));
        CHECK_EQ_INT(recs[2].data_len, 0);
    }
    free(recs);
    /* the same bytes with a wrong MD5 */
    CHECK_EQ_INT(decode(&m, 1, &recs, &n), RN_KPL_BAD_MD5);
    CHECK(recs == NULL);
    CHECK_EQ_INT(n, 0);
}

static void test_empty_and_plain(void)
{
    pb_t m = {.n = 0};
    rn_kpl_record_t *recs;
    size_t n = 9;
    CHECK_EQ_INT(decode(&m, 0, &recs, &n), RN_KPL_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(recs == NULL);
    CHECK_EQ_INT(rn_kpl_decode((const uint8_t *)"hello", 5, &recs, &n), RN_KPL_NOT_AGGREGATED);
    static const uint8_t magic_only[] = {0xF3, 0x89, 0x9A, 0xC2, 1, 2, 3};
    CHECK_EQ_INT(rn_kpl_decode(magic_only, sizeof magic_only, &recs, &n), RN_KPL_NOT_AGGREGATED);
    CHECK_EQ_INT(rn_kpl_decode(magic_only, 0, &recs, &n), RN_KPL_NOT_AGGREGATED);
}

static void test_malformed(void)
{
    rn_kpl_record_t *recs;
    size_t n;
    /* a partition key index past the table */
    pb_t m = {.n = 0};
    pb_bytes(&m, 1, "k", 1);
    add_record(&m, record(1, -1, "x"));
    MALFORMED(&m);
    /* an explicit hash key index with no table */
    m.n = 0;
    pb_bytes(&m, 1, "k", 1);
    add_record(&m, record(0, 0, "x"));
    MALFORMED(&m);
    /* a record without data, and one without its key index */
    m.n = 0;
    pb_bytes(&m, 1, "k", 1);
    pb_t r = {.n = 0};
    pb_uint(&r, 1, 0);
    add_record(&m, r);
    MALFORMED(&m);
    m.n = 0;
    pb_bytes(&m, 1, "k", 1);
    r.n = 0;
    pb_bytes(&r, 3, "x", 1);
    add_record(&m, r);
    MALFORMED(&m);
    /* a length past the end */
    m.n = 0;
    pb_varint(&m, 1 << 3 | 2);
    pb_varint(&m, 50);
    MALFORMED(&m);
    /* a varint that does not end, an 11-byte varint, a group, field number 0 */
    m.n = 0;
    pb_uint(&m, 7, 1);
    m.b[m.n - 1] |= 0x80;
    MALFORMED(&m);
    m.n = 0;
    pb_varint(&m, 7 << 3);
    for (int i = 0; i < 10; i++)
        m.b[m.n++] = 0xff;
    m.b[m.n++] = 0x01;
    MALFORMED(&m);
    m.n = 0;
    pb_varint(&m, 5 << 3 | 3);
    MALFORMED(&m);
    m.n = 0;
    pb_varint(&m, 0 << 3 | 0);
    pb_varint(&m, 0);
    MALFORMED(&m);
    /* a key table entry as a varint (wrong wire type) */
    m.n = 0;
    pb_uint(&m, 1, 5);
    MALFORMED(&m);
    /* fixed32 / fixed64 unknown fields are skipped; truncated ones are not */
    m.n = 0;
    pb_bytes(&m, 1, "k", 1);
    pb_varint(&m, 8 << 3 | 5);
    memcpy(m.b + m.n, "\1\2\3\4", 4);
    m.n += 4;
    pb_varint(&m, 9 << 3 | 1);
    memcpy(m.b + m.n, "\1\2\3\4\5\6\7\10", 8);
    m.n += 8;
    add_record(&m, record(0, -1, "ok"));
    CHECK_EQ_INT(decode(&m, 0, &recs, &n), RN_KPL_OK);
    CHECK_EQ_INT(n, 1);
    free(recs);
    m.n -= 8 + 2 + 3 + 2; /* cut inside the fixed64 */
    MALFORMED(&m);
}

int main(void)
{
    test_roundtrip();
    test_empty_and_plain();
    test_malformed();
    return rn_test_done("test_cli_kpl");
}
