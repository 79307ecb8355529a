/* kpl.c: KPL aggregated records (kpl.h). */
#include "cli/kpl.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t MAGIC[4] = {0xF3, 0x89, 0x9A, 0xC2};
#define MD5_LEN 16

typedef struct rd {
    const uint8_t *p, *end;
} rd_t;

typedef struct view {
    const uint8_t *p;
    size_t n;
} view_t;

/* A varint of at most 10 bytes; 0 or -1. */
static int varint(rd_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        if (i == 9 && b > 1)
            return -1;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The next field: its number, wire type, and for type 2 its bytes, for type
 * 0 its value; other known types are skipped. 1 (a field), 0 (end) or -1. */
static int field(rd_t *r, uint32_t *num, uint64_t *val, view_t *bytes)
{
    if (r->p == r->end)
        return 0;
    uint64_t tag;
    if (varint(r, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return -1;
    *num = (uint32_t)(tag >> 3);
    switch (tag & 7) {
    case 0:
        return varint(r, val) == 0 ? 1 : -1;
    case 1:
    case 5: {
        size_t w = (tag & 7) == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < w)
            return -1;
        r->p += w;
        *val = 0;
        return 1;
    }
    case 2: {
        uint64_t len;
        if (varint(r, &len) != 0 || len > (uint64_t)(r->end - r->p))
            return -1;
        bytes->p = r->p;
        bytes->n = (size_t)len;
        r->p += len;
        return 1;
    }
    default: /* groups (3, 4) and 6, 7 */
        return -1;
    }
}

/* One Record message into *out (keys resolved later): 0 or -1. */
static int record(view_t m, uint64_t *pk_ix, uint64_t *ehk_ix, view_t *data)
{
    rd_t r = {m.p, m.p + m.n};
    int have_pk = 0, have_data = 0, rc;
    uint32_t num;
    uint64_t v = 0;
    view_t b = {0};
    *ehk_ix = UINT64_MAX;
    while ((rc = field(&r, &num, &v, &b)) == 1) {
        int is_bytes = b.p != NULL;
        if (num == 1 && !is_bytes) {
            *pk_ix = v;
            have_pk = 1;
        } else if (num == 2 && !is_bytes) {
            *ehk_ix = v;
        } else if (num == 3 && is_bytes) {
            *data = b;
            have_data = 1;
        } else if (num <= 3) {
            return -1; /* a known field of the wrong wire type */
        }
        b.p = NULL;
    }
    return rc == 0 && have_pk && have_data ? 0 : -1;
}

const char *rn_kpl_status_name(rn_kpl_status_t s)
{
    switch (s) {
    case RN_KPL_OK:
        return "ok";
    case RN_KPL_NOT_AGGREGATED:
        return "not an aggregated record";
    case RN_KPL_BAD_MD5:
        return "KPL aggregated record with a bad MD5";
    case RN_KPL_MALFORMED:
        return "malformed KPL aggregated record";
    case RN_KPL_NOMEM:
        return "out of memory";
    }
    return "?";
}

rn_kpl_status_t rn_kpl_decode(const uint8_t *p, size_t n, rn_kpl_record_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (n < sizeof MAGIC + MD5_LEN || memcmp(p, MAGIC, sizeof MAGIC) != 0)
        return RN_KPL_NOT_AGGREGATED;
    const uint8_t *msg = p + sizeof MAGIC;
    size_t mlen = n - sizeof MAGIC - MD5_LEN;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdl = 0;
    if (!EVP_Digest(msg, mlen, md, &mdl, EVP_md5(), NULL) || mdl != MD5_LEN)
        return RN_KPL_NOMEM;
    if (memcmp(md, msg + mlen, MD5_LEN) != 0)
        return RN_KPL_BAD_MD5;

    /* pass 1: count; pass 2: fill */
    size_t counts[4] = {0};
    view_t *tables[3] = {NULL, NULL, NULL}; /* 1: keys, 2: hash keys, 3: record bodies */
    rn_kpl_status_t st = RN_KPL_OK;
    for (int pass = 0; pass < 2 && st == RN_KPL_OK; pass++) {
        size_t seen[4] = {0};
        rd_t r = {msg, msg + mlen};
        uint32_t num;
        uint64_t v;
        view_t b = {0};
        int rc;
        while ((rc = field(&r, &num, &v, &b)) == 1) {
            if (num >= 1 && num <= 3) {
                if (!b.p) {
                    st = RN_KPL_MALFORMED;
                    break;
                }
                if (pass == 1)
                    tables[num - 1][seen[num]] = b;
                seen[num]++;
            }
            b.p = NULL;
        }
        if (rc != 0)
            st = RN_KPL_MALFORMED;
        if (st != RN_KPL_OK || pass == 1)
            break;
        memcpy(counts, seen, sizeof counts);
        for (int t = 0; t < 3; t++) {
            tables[t] = calloc(counts[t + 1] ? counts[t + 1] : 1, sizeof(view_t));
            if (!tables[t])
                st = RN_KPL_NOMEM;
        }
    }
    rn_kpl_record_t *recs = NULL;
    if (st == RN_KPL_OK && counts[3]) {
        recs = calloc(counts[3], sizeof *recs);
        if (!recs)
            st = RN_KPL_NOMEM;
    }
    for (size_t i = 0; st == RN_KPL_OK && i < counts[3]; i++) {
        uint64_t pk = 0, ehk = 0;
        view_t data = {0};
        if (record(tables[2][i], &pk, &ehk, &data) != 0 || pk >= counts[1] ||
            (ehk != UINT64_MAX && ehk >= counts[2])) {
            st = RN_KPL_MALFORMED;
            break;
        }
        recs[i].key = tables[0][pk].p;
        recs[i].key_len = tables[0][pk].n;
        if (ehk != UINT64_MAX) {
            recs[i].ehk = tables[1][ehk].p;
            recs[i].ehk_len = tables[1][ehk].n;
        }
        recs[i].data = data.p ? data.p : msg;
        recs[i].data_len = data.n;
    }
    for (int t = 0; t < 3; t++)
        free(tables[t]);
    if (st != RN_KPL_OK) {
        free(recs);
        return st;
    }
    *out = recs;
    *count = counts[3];
    return RN_KPL_OK;
}
