/* fast.h: the record operations' fast path: strict decoders for the common
 * shape of PutRecords, PutRecord, GetRecords and GetShardIterator bodies,
 * and allocation-free writers for their response bodies.
 *
 * Decoders. Each one accepts only a strict subset of what rn_wire_decode
 * accepts: a JSON object whose members are the operation's usual ones, each
 * at most once, with plain strings (no backslash escapes; UTF-8 checked as
 * jansson checks it), integers (no fraction, no exponent, at most 18 digits)
 * and no null. Every model constraint is checked (patterns, lengths counted
 * in UTF-16 units, ranges, enums, strict base64, 1-500 records). Anything
 * else (unknown or duplicated members, StreamARN, StreamId, DryRun, escapes,
 * floats, a violated constraint, even a missing member that the model does
 * not require) returns RN_FAST_FALLBACK, and the caller runs the generic
 * path (rn_wire_decode), which produces every error message. The contract,
 * checked by tests/unit/test_wire_fast.c and fuzz/fuzz_wire_fast.c: when a
 * decoder returns 0, rn_wire_decode accepts the same body and its tree
 * holds the same values.
 *
 * Decoded values point into the body (which must outlive them); blob bytes
 * are base64-decoded into one caller-provided arena (appended to), so a
 * request costs no allocation per record.
 *
 * Writers render into memory the caller has reserved (see the *_MAX
 * bounds), byte for byte as jansson's json_dump(JSON_COMPACT |
 * JSON_REAL_PRECISION(13)) renders the same values (docs/performance.md). */
#ifndef RN_WIRE_FAST_H
#define RN_WIRE_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "core/ops.h"
#include "util/buf.h"

#define RN_FAST_FALLBACK 1
#define RN_FAST_MAX_RECORDS 500

/* A string member: bytes in the body, or absent (p == NULL). */
typedef struct rn_fast_str {
    const char *p;
    size_t len;
} rn_fast_str_t;

/* One record to put. data_off/data_len locate the decoded Data in the arena. */
typedef struct rn_fast_record {
    rn_fast_str_t pk;  /* PartitionKey (always present on the fast path) */
    rn_fast_str_t ehk; /* ExplicitHashKey, or absent */
    size_t data_off;
    size_t data_len;
} rn_fast_record_t;

typedef struct rn_fast_put_records {
    rn_fast_str_t stream_name;
    size_t n;
    rn_fast_record_t recs[RN_FAST_MAX_RECORDS];
} rn_fast_put_records_t;

typedef struct rn_fast_put_record {
    rn_fast_str_t stream_name;
    rn_fast_record_t rec;
    rn_fast_str_t sfo; /* SequenceNumberForOrdering, or absent */
} rn_fast_put_record_t;

typedef struct rn_fast_get_records {
    rn_fast_str_t iterator;
    int has_limit;
    int64_t limit;
} rn_fast_get_records_t;

typedef struct rn_fast_get_shard_iterator {
    rn_fast_str_t stream_name;
    rn_fast_str_t shard_id;
    rn_fast_str_t type;         /* one of the five ShardIteratorType values */
    rn_fast_str_t starting_seq; /* StartingSequenceNumber, or absent */
    int has_timestamp;
    double timestamp;           /* epoch seconds (integers only on the fast path) */
} rn_fast_get_shard_iterator_t;

/* Decoders: 0 when the fast path applies (*out filled, blobs appended to
 * *arena), RN_FAST_FALLBACK otherwise (also on allocation failure; *arena
 * may then have grown, and *out holds garbage). */
int rn_fast_decode_put_records(const uint8_t *body, size_t len, rn_fast_put_records_t *out,
                               rn_buf_t *arena);
int rn_fast_decode_put_record(const uint8_t *body, size_t len, rn_fast_put_record_t *out,
                              rn_buf_t *arena);
int rn_fast_decode_get_records(const uint8_t *body, size_t len, rn_fast_get_records_t *out);
int rn_fast_decode_get_shard_iterator(const uint8_t *body, size_t len,
                                      rn_fast_get_shard_iterator_t *out);

/* Base64 decoding with exactly rn_b64_decode's rules (b64.h), faster. out
 * must hold len / 4 * 3 bytes. Returns 0 and sets *out_len, or RN_EINVAL. */
int rn_fast_b64_decode(const char *s, size_t len, uint8_t *out, size_t *out_len);
/* Base64 encoding, the same output as rn_b64_encode: rn_b64_encoded_len(n)
 * characters into out (no NUL). Returns the number written. */
size_t rn_fast_b64_encode(const uint8_t *src, size_t n, char *out);

/* The contract above, checked on one body (src/wire/fast_check.c, for tests
 * and fuzzing): 1 when op's fast decoder accepted it and rn_wire_decode
 * accepted it with the same values, 0 when the fast decoder fell back (or op
 * has none), -1 when the two disagree. */
int rn_fast_crosscheck(rn_op_t op, const uint8_t *body, size_t len);

/* ---- writers ----------------------------------------------------------------------------- */

/* Most bytes rn_fast_put_json_string writes for n bytes of text. */
#define RN_FAST_JSON_STRING_MAX(n) (2 + 6 * (size_t)(n))
/* Most bytes rn_fast_put_timestamp writes. */
#define RN_FAST_TIMESTAMP_MAX 40

/* Write s[0..n) as a JSON string literal, quotes included, escaped as
 * jansson does: \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00XX,
 * everything else as is. A byte that is not valid UTF-8 (which jansson
 * would refuse to dump) is written as U+FFFD. Returns the end of output. */
char *rn_fast_put_json_string(char *w, const uint8_t *s, size_t n);

/* Write epoch milliseconds as jansson writes the real ms / 1000.0 with 13
 * significant digits: 1506440188.749, 1506440188.75, 1506440188.0.
 * Returns the end of output. */
char *rn_fast_put_timestamp(char *w, int64_t ms);

/* The sequence number of the next counter from the 56 digits of one
 * (same shard, same arrival second, counter + 1 <= RN_SEQNUM_COUNTER_MAX):
 * the counter sits at bit 80 (core/seqnum.h), so this adds 2^80 in place. */
void rn_fast_seq_step(char digits[56]);

/* Write a decimal (as json_pack's "i"/"I"). Returns the end of output. */
char *rn_fast_put_int(char *w, int64_t v);

#endif
