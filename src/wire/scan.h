/* scan.h: the bounds a request body must keep before any tree is built
 * (wire/scan.c). Private to src/wire/ (and its tests and fuzz targets).
 *
 * rn_wire_decode walks the raw bytes once, guided by the operation's input
 * shape, before json_loadb or the CBOR transcoder allocates anything:
 *   - the top level must be an object (JSON) / a map (CBOR), else a bare
 *     SerializationException, at once;
 *   - known members descend into their shapes (the deepest input shape,
 *     CreateChannel's, nests 7 levels; shapes do not recurse);
 *   - a list or map holds at most max(RN_WIRE_COUNT_SLACK x its model
 *     maximum, RN_WIRE_COUNT_FLOOR) elements, so the model's own
 *     ValidationException still answers 501 records, and 16M never reach
 *     jansson;
 *   - "foreign" values, i.e. unknown members (key included) and values of
 *     the wrong kind for their shape (a list where a string belongs), nest
 *     at most RN_WIRE_FOREIGN_DEPTH containers and hold, over the whole
 *     body, at most RN_WIRE_FOREIGN_VALUES values and keys and
 *     RN_WIRE_FOREIGN_BYTES bytes;
 *   - the whole body holds at most RN_WIRE_MAX_VALUES values, keys and (CBOR)
 *     tags, and its (CBOR) indefinite-length strings at most
 *     RN_WIRE_MAX_CHUNKS chunks.
 * Refusals are SerializationExceptions (messages in docs/wire.md). Malformed
 * input met on the way is a bare SerializationException, as the parser
 * would answer; what the scan lets through may still be refused by the
 * parser, but its tree is bounded by the numbers above. The scan allocates
 * nothing and recurses at most the shapes' depth plus the foreign depth. */
#ifndef RN_WIRE_SCAN_H
#define RN_WIRE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"
#include "wire/shapes_int.h"

#define RN_WIRE_COUNT_SLACK 4
#define RN_WIRE_COUNT_FLOOR 1000
#define RN_WIRE_FOREIGN_DEPTH 8
#define RN_WIRE_FOREIGN_VALUES 4096
#define RN_WIRE_FOREIGN_BYTES ((size_t)1 << 20)
#define RN_WIRE_MAX_VALUES 100000
/* CBOR: chunks of indefinite-length strings in the whole body (each costs
 * the transcoder a step, however empty) */
#define RN_WIRE_MAX_CHUNKS 100000

/* The most elements a list or map of shape sh may hold. */
long long rn_wire_count_bound(const rn_wire_shape_t *sh);

/* Scan a JSON / CBOR body for the input structure sh. 0 when the body keeps
 * every bound (it may still be malformed in ways only the parser sees), -1
 * with *err set otherwise. */
int rn_wire_scan_json(const rn_wire_shape_t *sh, const uint8_t *body, size_t len, rn_error_t *err);
int rn_wire_scan_cbor(const rn_wire_shape_t *sh, const uint8_t *body, size_t len, rn_error_t *err);

/* AWS's message for a value that is an array (is_array), an object
 * (is_object) or a scalar (neither) where shape kind `kind` wants something
 * else ("Start of list found where not expected", "Expected list or null",
 * ...; table in docs/wire.md); NULL when the value fits, or is a scalar for
 * a scalar kind (decode.c words those). Shared with decode.c. */
const char *rn_wire_container_error(int kind, int is_array, int is_object);

#endif
