/* iterator.h: shard iterators no client can forge.
 *
 * A token seals {version, stream id, stream creation ms, shard index,
 * counter position, issue time ms, stream name, and the account and region
 * of the request that minted it} with AES-256-GCM under a
 * 32-byte server key (kept in the store's metadata, so tokens survive a
 * restart), and is written as standard base64 of
 *   00 00 00 00 00 00 00 01 | nonce(12) | ciphertext | tag(16).
 * Tokens are at most 512 characters (the model's limit). Opening checks the
 * tag; a token wrapped in double quotes is accepted, as AWS does. Expiry
 * (300 s) is the caller's check on issued_ms.
 *
 * Binding: version 2 tokens carry the minting caller's account and region
 * under the seal; rn_iter_open_for refuses them for any other caller.
 * Version 1 tokens (before the binding; they live 300 s) still open, with
 * bound = 0: the caller must then check the stream it names is its own. */
#ifndef RN_ITERATOR_H
#define RN_ITERATOR_H

#include <stddef.h>
#include <stdint.h>

#define RN_ITERATOR_MAX 512
#define RN_ITERATOR_TTL_MS 300000
#define RN_ITER_ACCOUNT_MAX 15
#define RN_ITER_REGION_MAX 32

typedef struct rn_iter_key {
    uint8_t key[32];
} rn_iter_key_t;

typedef struct rn_iter {
    uint64_t stream_id;
    int64_t stream_created_ms;
    uint32_t shard_index;
    uint64_t position; /* next counter to read */
    int64_t issued_ms;
    char stream_name[129];
    char account[RN_ITER_ACCOUNT_MAX + 1]; /* the minting caller's (sealed as given) */
    char region[RN_ITER_REGION_MAX + 1];
    int bound;                             /* set by open: 1 for a version 2 token */
} rn_iter_t;

/* Fill a new random key (OpenSSL RAND_bytes). Returns 0 or RN_EIO. */
int rn_iter_key_generate(rn_iter_key_t *k);

/* Seal it into out (>= RN_ITERATOR_MAX + 1 bytes, NUL-terminated). Returns
 * the length, or a negative RN_E* code (RN_EINVAL: stream_name, account or
 * region has no NUL within its buffer; RN_EIO: no randomness; RN_ENOMEM). */
int rn_iter_seal(const rn_iter_key_t *k, const rn_iter_t *it, char *out);

/* Open a token. Returns 0, or RN_EINVAL for anything that is not a token
 * this key sealed (bad base64, wrong length, wrong tag, wrong version), or
 * RN_ENOMEM when no cipher context can be allocated (not the client's
 * fault: answer 500, not "Invalid ShardIterator."). *out is written only
 * on success. */
int rn_iter_open(const rn_iter_key_t *k, const char *tok, size_t len, rn_iter_t *out);

/* rn_iter_open for a request by (account, region): a version 2 token
 * minted for another account or region is RN_EINVAL, like a forged one. */
int rn_iter_open_for(const rn_iter_key_t *k, const char *tok, size_t len, const char *account,
                     const char *region, rn_iter_t *out);

/* Java Date.toString() style in UTC, "Fri Mar 15 07:58:30 UTC 2024", for
 * the ExpiredIteratorException message. buf >= 32 bytes. */
void rn_format_java_date(int64_t ms, char *buf, size_t cap);

#endif
