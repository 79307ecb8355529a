/* seqnum.h: 56-digit Kinesis sequence numbers (KINESIS_CONTRACT §3.4).
 *
 * Layout, as 47 hex digits of a 188-bit number, most significant first:
 *   [0]      constant 2
 *   [1..9]   shard creation time, epoch seconds (36 bits)
 *   [10]     low nibble of the shard index
 *   [11..26] per-shard counter (64 bits, top bit 0)
 *   [27..28] 00
 *   [29..37] record arrival time, epoch seconds (36 bits)
 *   [38..45] shard index (32 bits)
 *   [46]     version 2
 * Every such value has exactly 56 decimal digits. Within a shard the order
 * is the counter's; a shard's StartingSequenceNumber uses counter 0 and its
 * EndingSequenceNumber counter 0x7fffffffffffffff. */
#ifndef RN_SEQNUM_H
#define RN_SEQNUM_H

#include <stddef.h>
#include <stdint.h>

#define RN_SEQNUM_LEN 56
#define RN_SEQNUM_COUNTER_MAX 0x7fffffffffffffffULL

typedef struct rn_seqnum {
    uint64_t shard_created_s; /* 36 bits used */
    uint32_t shard_index;
    uint64_t counter;         /* 63 bits used */
    uint64_t arrival_s;       /* 36 bits used */
} rn_seqnum_t;

/* Write the 56 digits and a NUL into buf (>= 57 bytes). */
void rn_seqnum_format(const rn_seqnum_t *s, char *buf);

/* Parse a decimal string. Returns 0 when it is a well-formed version-2
 * number of this layout; RN_EINVAL otherwise (not digits, not 56 digits,
 * wrong leading or version nibble, non-zero reserved bits, counter top bit
 * set, hex digit 10 not the shard index's low nibble). *out is written
 * only on success. */
int rn_seqnum_parse(const char *s, size_t len, rn_seqnum_t *out);

/* Compare two decimal sequence numbers numerically (any length, digits
 * only, no leading zeros assumed): <0, 0, >0. */
int rn_seqnum_cmp_text(const char *a, size_t alen, const char *b, size_t blen);

#endif
