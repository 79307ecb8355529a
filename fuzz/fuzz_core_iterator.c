/* fuzz_core_iterator.c: the core text parsers on arbitrary bytes.
 *
 * Feeds the input to rn_iter_open (fixed key), rn_seqnum_parse and
 * rn_u128_parse. Beyond "never crash", whatever parses must round-trip:
 * an opened token re-seals and re-opens to the same fields, a parsed
 * sequence number formats back to the same 56 digits, and a parsed u128
 * formats back to the input without its leading zeros.
 * The corpus token in fuzz/corpus/fuzz_core_iterator/ was sealed with
 * fuzz_key below. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hashkey.h"
#include "core/iterator.h"
#include "core/seqnum.h"

static const rn_iter_key_t fuzz_key = {{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
                                        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_core_iterator: %s\n", what);
    abort();
}

static void check_iterator(const char *s, size_t n)
{
    rn_iter_t it, again;
    if (rn_iter_open(&fuzz_key, s, n, &it) != 0)
        return;
    char tok[RN_ITERATOR_MAX + 1];
    int len = rn_iter_seal(&fuzz_key, &it, tok);
    if (len <= 0 || len > RN_ITERATOR_MAX)
        fail("re-seal failed");
    if (rn_iter_open(&fuzz_key, tok, (size_t)len, &again) != 0)
        fail("re-sealed token does not open");
    if (again.stream_id != it.stream_id || again.stream_created_ms != it.stream_created_ms ||
        again.shard_index != it.shard_index || again.position != it.position ||
        again.issued_ms != it.issued_ms || strcmp(again.stream_name, it.stream_name) != 0 ||
        strcmp(again.account, it.account) != 0 || strcmp(again.region, it.region) != 0 || !again.bound)
        fail("iterator round trip changed a field");
}

static void check_seqnum(const char *s, size_t n)
{
    rn_seqnum_t q;
    if (rn_seqnum_parse(s, n, &q) != 0)
        return;
    char buf[RN_SEQNUM_LEN + 1];
    rn_seqnum_format(&q, buf);
    if (n != RN_SEQNUM_LEN || memcmp(buf, s, n) != 0)
        fail("sequence number round trip differs");
    if (rn_seqnum_cmp_text(buf, RN_SEQNUM_LEN, s, n) != 0)
        fail("sequence number compares unequal to itself");
}

static void check_u128(const char *s, size_t n)
{
    rn_u128 v;
    if (rn_u128_parse(s, n, &v) != 0)
        return;
    char buf[40];
    size_t len = rn_u128_format(v, buf);
    while (n > 1 && s[0] == '0') {
        s++;
        n--;
    }
    if (len != n || memcmp(buf, s, n) != 0)
        fail("u128 round trip differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy, so ASan sees any read past the input. */
    char *s = malloc(size ? size : 1);
    if (!s)
        return 0;
    if (size)
        memcpy(s, data, size);
    else
        s[0] = '\0';
    check_iterator(s, size);
    check_seqnum(s, size);
    check_u128(s, size);
    free(s);
    return 0;
}
