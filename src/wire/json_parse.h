/* json_parse.h: runnel's JSON request-body parser (issue 9 defect 2).
 * Builds exactly the jansson tree that runnel's former call site built:
 *   json_loadb(body, len, JSON_ALLOW_NUL), and when that failed with
 *   json_error_numeric_overflow, json_loadb(..., JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL)
 * (so one integer beyond json_int_t turns every number of the body into a real),
 * but a few ms per MiB instead of jansson's byte-at-a-time lexer: ASCII runs
 * of strings are skipped 8 bytes at a time and copied once. Same rules as
 * jansson 2.14: top level '{' or '[', whitespace space/tab/CR/LF, strict
 * UTF-8, \u0000 allowed in values but no NUL in keys, surrogate pairs only
 * as pairs, the last duplicate key wins (at the first one's place), nesting
 * depth 2048 (scalars count), real overflow an error, trailing bytes an error,
 * and jansson's quirk: one NUL byte right after a number or a literal is skipped.
 * fuzz/fuzz_wire_json.c checks it against json_loadb. */
#ifndef RN_WIRE_JSON_PARSE_H
#define RN_WIRE_JSON_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The tree (caller owns one reference), or NULL when jansson would fail. */
json_t *rn_wire_json_parse(const uint8_t *body, size_t len);

#endif
