/* fuzz_wire_cbor.c: libFuzzer target for the CBOR side of the wire
 * (wire/cbor.c). The first byte picks the operation (mod RN_OP_COUNT), the
 * rest is a CBOR request body. A body that decodes is encoded back as CBOR
 * (guided by the input shape) and must decode again to an equal tree; it is
 * also encoded as an answer (output shape) and through JSON text. An error
 * is rendered as a CBOR error body. Any crash, leak or sanitizer report is a
 * bug. Corpus: fuzz/corpus/fuzz_wire_cbor/ (names start with the operation's
 * index in hex). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/cbor.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    rn_op_t op = (rn_op_t)(data[0] % RN_OP_COUNT);
    json_t *tree = NULL;
    rn_error_t err;
    rn_error_clear(&err);
    rn_buf_t out;
    rn_buf_init(&out, 0);
    if (rn_wire_decode(op, RN_PROTO_CBOR, data + 1, size - 1, &tree, &err) == 0) {
        if (!tree)
            abort();
        if (rn_cbor_from_json(&rn_wire_shapes[rn_wire_op_input[op]], tree, &out) != 0)
            abort();
        json_t *back = NULL;
        rn_error_t e2;
        rn_error_clear(&e2);
        if (rn_wire_decode(op, RN_PROTO_CBOR, out.data, out.len, &back, &e2) != 0)
            abort(); /* our own encoding of a valid tree must decode */
        json_decref(back);
        rn_buf_reset(&out);
        if (rn_wire_encode_op(op, RN_PROTO_CBOR, tree, &out) != 0)
            abort();
        rn_buf_reset(&out);
        if (rn_wire_encode(RN_PROTO_JSON, tree, &out) != 0)
            abort();
        rn_buf_t cb;
        rn_buf_init(&cb, 0);
        /* jansson reads no NUL inside an object key, which unknown members
         * may have; answers never do */
        int rc = rn_wire_transcode_json_to_cbor(op, out.data, out.len, &cb);
        if (rc != 0 && rc != RN_EINVAL)
            abort();
        rn_buf_dispose(&cb);
        json_decref(tree);
    } else {
        if (tree || err.code == RN_AWS_NONE)
            abort();
        if (rn_wire_encode_error(RN_PROTO_CBOR, &err, &out) != 0 || out.len < 9)
            abort();
    }
    rn_buf_dispose(&out);
    return 0;
}
