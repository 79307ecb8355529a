/* fuzz_wire_scan.c: libFuzzer target for the bounds scan (wire/scan.c).
 * The first byte picks the operation (mod RN_OP_COUNT), the low bit of the
 * second the protocol (0 JSON, 1 CBOR); the rest is the body. Checked:
 *   - the scan never calls malformed what its parser accepts: a bare
 *     SerializationException from the scan means json_loadb (both of
 *     decode.c's attempts) fails or gives a non-object, or
 *     rn_cbor_to_json fails bare too;
 *   - a body the scan lets through builds a bounded tree: at most
 *     RN_WIRE_MAX_VALUES values and keys, nesting at most the deepest input
 *     shape (7) plus RN_WIRE_FOREIGN_DEPTH;
 *   - rn_wire_decode answers, and its error renders.
 * Any crash, leak or sanitizer report is a bug. Corpus:
 * fuzz/corpus/fuzz_wire_scan/ (names start with the operation's index in
 * hex, then j or c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/cbor.h"
#include "wire/scan.h"
#include "wire/wire.h"

#define DEEPEST_SHAPE 7

/* Values and keys in v, and its nesting (containers) into *depth. */
static size_t tree_size(const json_t *v, int level, int *depth)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 1;
    if (level > *depth)
        *depth = level;
    size_t n = 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            n += tree_size(json_array_get(v, i), level + 1, depth);
        return n;
    }
    json_t *o = (json_t *)v;
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
        n += 1 + tree_size(json_object_iter_value(it), level + 1, depth);
    return n;
}

static void check_tree(const json_t *t)
{
    int depth = 0;
    size_t n = tree_size(t, 1, &depth);
    if (n > RN_WIRE_MAX_VALUES || depth > DEEPEST_SHAPE + RN_WIRE_FOREIGN_DEPTH)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    rn_op_t op = (rn_op_t)(data[0] % RN_OP_COUNT);
    rn_proto_t proto = data[1] & 1 ? RN_PROTO_CBOR : RN_PROTO_JSON;
    const uint8_t *body = data + 2;
    size_t len = size - 2;
    const rn_wire_shape_t *sh = &rn_wire_shapes[rn_wire_op_input[op]];
    rn_error_t err;
    rn_error_clear(&err);
    int rc = proto == RN_PROTO_CBOR ? rn_wire_scan_cbor(sh, body, len, &err) : rn_wire_scan_json(sh, body, len, &err);
    if (rc != 0 && (err.code != RN_AWS_SERIALIZATION && err.code != RN_AWS_SERIALIZATION_TYPE &&
                    err.code != RN_AWS_SERIALIZATION_BARE))
        abort();
    json_t *t = NULL;
    if (proto == RN_PROTO_JSON) {
        json_error_t jerr;
        t = json_loadb((const char *)body, len, JSON_ALLOW_NUL, &jerr);
        if (!t && json_error_code(&jerr) == json_error_numeric_overflow)
            t = json_loadb((const char *)body, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
        if (rc != 0 && err.code == RN_AWS_SERIALIZATION_BARE && t && json_is_object(t))
            abort(); /* the scan refused as malformed what jansson reads */
        if (rc == 0 && t)
            check_tree(t);
    } else {
        rn_error_t e2;
        rn_error_clear(&e2);
        int rc2 = rn_cbor_to_json(sh, body, len, &t, &e2);
        if (rc != 0 && err.code == RN_AWS_SERIALIZATION_BARE && (rc2 == 0 || e2.code != RN_AWS_SERIALIZATION_BARE))
            abort(); /* the scan refused as malformed what the transcoder reads */
        if (rc == 0 && rc2 == 0)
            check_tree(t);
    }
    json_decref(t);

    json_t *tree = NULL;
    rn_error_t e3;
    rn_error_clear(&e3);
    rn_buf_t out;
    rn_buf_init(&out, 0);
    if (rn_wire_decode(op, proto, body, len, &tree, &e3) == 0) {
        if (rc != 0)
            abort(); /* decoding must refuse what the scan refused */
        check_tree(tree);
        json_decref(tree);
    } else if (rn_wire_encode_error(proto, &e3, &out) != 0) {
        abort();
    }
    rn_buf_dispose(&out);
    return 0;
}
