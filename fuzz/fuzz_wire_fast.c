/* fuzz_wire_fast.c: libFuzzer target for the record operations' fast path
 * (wire/fast.h). The first byte picks the operation (PutRecords, PutRecord,
 * GetRecords, GetShardIterator), the rest is the body. Whenever a fast
 * decoder accepts a body, the generic decoder must accept it with the same
 * values (rn_fast_crosscheck); the body's bytes also go through the writers:
 * base64 must match b64.c both ways, and a JSON string written from them
 * must parse back (to the same bytes when they are valid UTF-8). Any abort,
 * crash, leak or sanitizer report is a bug. Corpus: fuzz/corpus/fuzz_wire_fast/
 * (file names start with the operation's index, 0-3). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/b64.h"
#include "wire/fast.h"
#include "wire/wire.h"

static void check_writers(const uint8_t *s, size_t n)
{
    /* base64, both ways */
    char *e1 = malloc(rn_b64_encoded_len(n) + 1), *e2 = malloc(rn_b64_encoded_len(n) + 1);
    uint8_t *d1 = malloc(n / 4 * 3 + 1), *d2 = malloc(n / 4 * 3 + 1);
    if (!e1 || !e2 || !d1 || !d2)
        abort();
    size_t l1 = rn_b64_encode(s, n, e1), l2 = rn_fast_b64_encode(s, n, e2);
    if (l1 != l2 || memcmp(e1, e2, l1) != 0)
        abort();
    size_t o1 = 0, o2 = 0;
    int r1 = rn_b64_decode((const char *)s, n, d1, &o1), r2 = rn_fast_b64_decode((const char *)s, n, d2, &o2);
    if (r1 != r2 || (r1 == 0 && (o1 != o2 || memcmp(d1, d2, o1) != 0)))
        abort();
    free(e1);
    free(e2);
    free(d1);
    free(d2);

    /* a JSON string literal */
    char *w = malloc(RN_FAST_JSON_STRING_MAX(n) + 2);
    if (!w)
        abort();
    w[0] = '[';
    char *end = rn_fast_put_json_string(w + 1, s, n);
    *end++ = ']';
    json_error_t jerr;
    json_t *back = json_loadb(w, (size_t)(end - w), JSON_ALLOW_NUL, &jerr);
    if (!back)
        abort(); /* always valid JSON */
    json_t *orig = json_stringn((const char *)s, n); /* NULL unless valid UTF-8 */
    if (orig) {
        json_t *v = json_array_get(back, 0);
        if (json_string_length(v) != n || memcmp(json_string_value(v), s, n) != 0)
            abort();
    }
    json_decref(orig);
    json_decref(back);
    free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rn_op_t ops[] = {RN_OP_PutRecords, RN_OP_PutRecord, RN_OP_GetRecords, RN_OP_GetShardIterator};
    if (size < 1)
        return 0;
    rn_op_t op = ops[data[0] % 4];
    if (rn_fast_crosscheck(op, data + 1, size - 1) < 0)
        abort();
    check_writers(data + 1, size - 1);
    return 0;
}
