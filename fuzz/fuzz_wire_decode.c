/* fuzz_wire_decode.c: libFuzzer target for rn_wire_decode.
 * The first byte picks the operation (mod RN_OP_COUNT), the rest is the
 * body. A body that decodes is re-encoded, its blobs decoded, and the
 * encoding parsed back; an error is rendered as an error body. Any crash,
 * leak or sanitizer report is a bug. Corpus: fuzz/corpus/fuzz_wire_decode/
 * (file names start with the operation's index in hex). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* The model's only blobs: PutRecord's Data and PutRecords' Records[].Data.
 * Every one the decoder accepted must decode. */
static void decode_blob(const json_t *v, rn_buf_t *b)
{
    if (!json_is_string(v))
        return; /* absent or null */
    rn_buf_reset(b);
    if (rn_wire_blob(json_string_value(v), json_string_length(v), b) != 0)
        abort();
}

static void decode_blobs(rn_op_t op, const json_t *tree, rn_buf_t *b)
{
    if (op == RN_OP_PutRecord)
        decode_blob(json_object_get(tree, "Data"), b);
    if (op == RN_OP_PutRecords) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(tree, "Records"), i, r) decode_blob(json_object_get(r, "Data"), b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    rn_op_t op = (rn_op_t)(data[0] % RN_OP_COUNT);
    json_t *tree = NULL;
    rn_error_t err;
    rn_buf_t out;
    rn_buf_init(&out, 0);
    if (rn_wire_decode(op, RN_PROTO_JSON, data + 1, size - 1, &tree, &err) == 0) {
        if (!tree)
            abort();
        if (rn_wire_encode(RN_PROTO_JSON, tree, &out) != 0)
            abort();
        json_t *back = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, NULL);
        if (!back)
            abort(); /* our own output must parse */
        json_decref(back);
        decode_blobs(op, tree, &out);
        json_decref(tree);
    } else {
        if (tree || err.code == RN_AWS_NONE)
            abort();
        if (rn_wire_encode_error(RN_PROTO_JSON, &err, &out) != 0)
            abort();
        /* a quoted value may hold U+0000, which JSON writes as \u0000 */
        json_t *back = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, NULL);
        if (!back)
            abort(); /* error bodies must be valid JSON (and UTF-8) */
        json_decref(back);
    }
    rn_buf_dispose(&out);
    return 0;
}
