/* hashkey.h: the 128-bit hash-key space of Kinesis.
 * A partition key routes by MD5 of its UTF-8 bytes read as a big-endian
 * unsigned 128-bit integer; hash keys are written as decimal strings. */
#ifndef RN_HASHKEY_H
#define RN_HASHKEY_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 rn_u128;

#define RN_U128_MAX (~(rn_u128)0)

/* MD5(pk) as a big-endian 128-bit integer. */
rn_u128 rn_hashkey_of(const void *pk, size_t len);

/* Parse decimal digits (no sign, no spaces, at least one digit). Returns 0,
 * or RN_EINVAL for a non-digit, or RN_ETOOBIG when the value is >= 2^128. */
int rn_u128_parse(const char *s, size_t len, rn_u128 *out);

/* Decimal text of v into buf (>= 40 bytes); returns the length. */
size_t rn_u128_format(rn_u128 v, char *buf);

/* Initial layout for n shards (KINESIS_CONTRACT §3.2): w = floor(2^128/n);
 * shard i covers [i*w, (i+1)*w - 1], the last ends at 2^128-1.
 * Requires n >= 1 and i < n. */
void rn_hashkey_split_even(uint32_t n, uint32_t i, rn_u128 *start, rn_u128 *end);

#endif
