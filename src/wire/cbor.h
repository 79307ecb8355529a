/* cbor.h: the CBOR (RFC 8949) side of AWS's application/x-amz-cbor-1.1, as
 * the Java SDKs speak it (KINESIS_CONTRACT §2.4). Private to src/wire/ (and
 * its tests): the rest of runnel goes through wire.h.
 *
 * Requests are turned into the jansson tree the JSON path would have built,
 * so the same coercion and validation run on both (wire/decode.c):
 *   byte string (blob member)   -> base64 text
 *   tag 1 + integer ms          -> real epoch seconds (ms / 1000)
 *   tag 1 + float               -> real epoch seconds, as sent
 *   untagged integer (timestamp member) -> milliseconds, as tag 1 would be
 *   other tags                  -> their content, tag ignored
 *   int / float / text / bool / null / undefined -> the JSON equivalent
 * Answers go the other way, guided by the operation's output shape: base64
 * text of blob members -> byte strings, epoch seconds of timestamp members
 * -> tag 1 + integer milliseconds (never seconds, never a float), objects ->
 * indefinite-length maps (0xBF ... 0xFF, as AWS answers), arrays ->
 * definite-length arrays. */
#ifndef RN_WIRE_CBOR_H
#define RN_WIRE_CBOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"
#include "util/buf.h"
#include "wire/shapes_int.h"

/* CBOR's major types and the head of a data item (RFC 8949 3), shared by the
 * transcoder (cbor.c) and the bounds scan (scan.c). */
enum {
    RN_CBOR_UINT = 0,
    RN_CBOR_NEGINT = 1,
    RN_CBOR_BYTES = 2,
    RN_CBOR_TEXT = 3,
    RN_CBOR_ARRAY = 4,
    RN_CBOR_MAP = 5,
    RN_CBOR_TAG = 6,
    RN_CBOR_SIMPLE = 7,
};
#define RN_CBOR_AI_INDEFINITE 31
#define RN_CBOR_BREAK 0xFF

typedef struct rn_cbor_head {
    int major;
    int ai;       /* additional information (low 5 bits) */
    uint64_t arg; /* the argument; for floats their bits */
} rn_cbor_head_t;

/* Read the head at *p (< end) and advance *p past it. Returns 0, or -1 for a
 * truncated head, a reserved additional information (28-30), or an
 * indefinite length where none is allowed (integers, tags); *p is then
 * unspecified. */
int rn_cbor_head(const uint8_t **p, const uint8_t *end, rn_cbor_head_t *h);

/* Deepest nesting of maps, arrays and tags a request may have. */
#define RN_CBOR_MAX_DEPTH 64

/* Parse body (one CBOR data item, a map, and nothing after it) into *out (a
 * new reference) guided by the input structure sh. Malformed CBOR (truncated,
 * reserved encodings, invalid UTF-8, a non-text map key, a stray break,
 * nesting deeper than RN_CBOR_MAX_DEPTH, trailing bytes, a non-map top level)
 * is a bare SerializationException; a byte string where no blob belongs is a
 * SerializationException with a coercion message. Returns 0 or -1 (*err set,
 * *out NULL). Never allocates more than a small multiple of len. */
int rn_cbor_to_json(const rn_wire_shape_t *sh, const uint8_t *body, size_t len, json_t **out,
                    rn_error_t *err);

/* Append v as CBOR, guided by sh (NULL: no shape; strings stay text, reals
 * stay floats). Returns 0 or RN_ENOMEM / RN_ETOOBIG. */
int rn_cbor_from_json(const rn_wire_shape_t *sh, const json_t *v, rn_buf_t *dst);

/* Append an error body {"__type": ..., "message": ...} (message only when the
 * error has one; invalid UTF-8 in it becomes U+FFFD). */
int rn_cbor_error(const rn_error_t *err, rn_buf_t *dst);

#endif
