/* wire.h: request bodies in, response bodies out. Pure functions over byte
 * buffers (fuzzable), knowing the Kinesis model but nothing of HTTP sockets
 * or of streams' state.
 *
 * Decoding turns a body into a jansson tree that has been checked against
 * the operation's input shape (generated from the AWS service model by
 * tools/gen_shapes.py into wire/shapes_gen.c):
 *   0. before any tree is built, one allocation-free pass over the bytes
 *      bounds nesting, list and map sizes, unknown members and the number
 *      of values by the shape (wire/scan.h): else SerializationException;
 *   1. the body must be a JSON object: else SerializationException;
 *   2. every member's JSON type must fit its shape (string, integer, long,
 *      boolean, blob as base64 text, timestamp as number, list, map,
 *      structure): else SerializationException with AWS's coercion message
 *      (KINESIS_CONTRACT §2.2). Unknown members are ignored, as AWS does;
 *   3. constraints (required, length min/max, value min/max, pattern, enum)
 *      are collected in model order into one ValidationException,
 *      "N validation error(s) detected: ...", at most 10 items (§2.3).
 * Integers that arrive as floats are truncated toward floor, as AWS does.
 * Blob members stay base64 text in the tree; rn_wire_blob() decodes them.
 * A CBOR body is first turned into the tree its JSON twin would give (byte
 * strings -> base64 text, tag-1 milliseconds -> seconds; wire/cbor.h), then
 * checked by the same steps 2 and 3, so both protocols answer alike.
 */
#ifndef RN_WIRE_H
#define RN_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ops.h"
#include "core/errors.h"
#include "util/buf.h"

typedef enum rn_proto {
    RN_PROTO_JSON = 0, /* application/x-amz-json-1.1 */
    RN_PROTO_CBOR = 1, /* application/x-amz-cbor-1.1 (KINESIS_CONTRACT §2.4, wire/cbor.h) */
} rn_proto_t;

/* Decode and validate a request body for op. On success *out is a new
 * reference (json_decref it) and 0 is returned; on failure *err is set
 * (SerializationException / ValidationException) and -1 returned. An empty
 * body is SerializationException with no message (§2.2 rule 2). */
int rn_wire_decode(rn_op_t op, rn_proto_t proto, const uint8_t *body, size_t len, json_t **out,
                   rn_error_t *err);

/* Decode the base64 text of a blob member validated by rn_wire_decode.
 * Appends the bytes to *dst. Returns 0 or RN_EINVAL. */
int rn_wire_blob(const char *b64, size_t b64_len, rn_buf_t *dst);

/* Render a response body. `obj` may be NULL for operations with empty
 * output (the body is then empty). Returns 0 or RN_ENOMEM. */
int rn_wire_encode(rn_proto_t proto, const json_t *obj, rn_buf_t *dst);

/* Render a response body for op: as rn_wire_encode, but CBOR follows the
 * operation's output shape (blobs as byte strings, timestamps as tag 1 with
 * integer milliseconds). Returns 0 or a negative RN_E* code. */
int rn_wire_encode_op(rn_op_t op, rn_proto_t proto, const json_t *obj, rn_buf_t *dst);

/* Append the CBOR form of op's answer rendered as JSON text (json[0..len),
 * empty for an empty answer) to *dst. Returns 0, or RN_EINVAL when the text
 * is not JSON, or RN_ENOMEM. */
int rn_wire_transcode_json_to_cbor(rn_op_t op, const uint8_t *json, size_t len, rn_buf_t *dst);

/* Append the CBOR form of one event of op's event stream (the member named
 * event of the output's event-stream union, "SubscribeToShardEvent"),
 * rendered as JSON text, to *dst: blobs as byte strings, timestamps as tag 1
 * with integer milliseconds. Returns 0, RN_EINVAL (no such event, or not
 * JSON) or RN_ENOMEM. */
int rn_wire_transcode_event_to_cbor(rn_op_t op, const char *event, const uint8_t *json,
                                    size_t len, rn_buf_t *dst);

/* Render an error body ({"__type":...,"message":...}) for the protocol. */
int rn_wire_encode_error(rn_proto_t proto, const rn_error_t *err, rn_buf_t *dst);

/* "application/x-amz-json-1.1" / "application/x-amz-cbor-1.1" */
const char *rn_wire_content_type(rn_proto_t proto);

#endif
