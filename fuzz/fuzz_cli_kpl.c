/* fuzz_cli_kpl.c: libFuzzer target for the KPL de-aggregator (cli/kpl.c),
 * which parses record data from the stream (untrusted bytes). The input is
 * taken twice: as is (mostly not aggregated, or a bad MD5) and as the
 * protobuf body of an aggregate with the magic and a correct MD5 added, so
 * the message parser is reached. Checked: every view of a decoded record
 * lies inside the input, the count is bounded by the input's length. Any
 * crash, leak or sanitizer report is a bug. Corpus: fuzz/corpus/fuzz_cli_kpl/. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/kpl.h"

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
    return n == 0 || (p >= base && p + n <= base + len);
}

static void check(const uint8_t *buf, size_t len)
{
    rn_kpl_record_t *recs;
    size_t n;
    rn_kpl_status_t st = rn_kpl_decode(buf, len, &recs, &n);
    if (st != RN_KPL_OK) {
        if (recs || n)
            abort();
        return;
    }
    if (n > len)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!inside(recs[i].key, recs[i].key_len, buf, len) || !inside(recs[i].data, recs[i].data_len, buf, len) ||
            (recs[i].ehk && !inside(recs[i].ehk, recs[i].ehk_len, buf, len)))
            abort();
    free(recs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    uint8_t *agg = malloc(size + 20);
    if (!agg)
        return 0;
    static const uint8_t magic[4] = {0xF3, 0x89, 0x9A, 0xC2};
    memcpy(agg, magic, 4);
    if (size)
        memcpy(agg + 4, data, size);
    unsigned int l = 0;
    EVP_Digest(data, size, agg + 4 + size, &l, EVP_md5(), NULL);
    check(agg, size + 20);
    free(agg);
    return 0;
}
