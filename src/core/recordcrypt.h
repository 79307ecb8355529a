/* recordcrypt.h: records sealed at rest (StartStreamEncryption, §4.9).
 *
 * A stream with encryption on seals every new record under its 32-byte data
 * key before the record reaches the store. The store keeps the sealed frame
 * as the record's data, with an empty partition key and RN_RECORD_ENCRYPTED
 * in the record flags (opaque to the store, returned by reads), so neither
 * the partition key nor the data is on disk in plaintext.
 *
 * Sealed frame (the stored data), RN_RECORDCRYPT_OVERHEAD bytes more than
 * the plaintext:
 *   off  len
 *     0   12  nonce, random (a per-thread pool of RAND_bytes)
 *    12    n  AES-256-GCM ciphertext of: pk_len (u16 LE) | pk | data
 *  12+n   16  GCM tag
 * Additional data: "rnrec1" | stream id (u64 LE) | shard index (u32 LE): a
 * frame moved to another stream or shard fails to open. The counter is not
 * bound: it is only known after the append.
 *
 * Data keys: random (RAND_bytes). In the metadata they are kept as given,
 * or wrapped under a master key (rn_datakey_wrap: AES-256-GCM, 60 bytes)
 * when runnel runs with --master-key-file.
 *
 * Threading: every function may be called from any thread; cipher contexts
 * are per thread and reused. */
#ifndef RN_RECORDCRYPT_H
#define RN_RECORDCRYPT_H

#include <stddef.h>
#include <stdint.h>

#define RN_RECORD_ENCRYPTED 0x01u  /* rn_record_in_t.flags: data is a sealed frame */
#define RN_RECORDCRYPT_NONCE 12
#define RN_RECORDCRYPT_TAG 16
#define RN_RECORDCRYPT_OVERHEAD (RN_RECORDCRYPT_NONCE + 2 + RN_RECORDCRYPT_TAG)
#define RN_RECORDCRYPT_PK_MAX 65535
#define RN_DATAKEY_LEN 32
#define RN_DATAKEY_WRAPPED_LEN (RN_RECORDCRYPT_NONCE + RN_DATAKEY_LEN + RN_RECORDCRYPT_TAG)

typedef struct rn_datakey {
    uint8_t key[RN_DATAKEY_LEN];
} rn_datakey_t;

/* A fresh random key. Returns 0 or RN_EIO. */
int rn_datakey_generate(rn_datakey_t *k);

/* Seal one record into out (RN_RECORDCRYPT_OVERHEAD + pk_len + data_len
 * bytes, written whole; pk and data must not overlap it). Returns 0, RN_EINVAL (pk_len > 65535), RN_EIO (no
 * randomness) or RN_ENOMEM. */
int rn_record_seal(const rn_datakey_t *k, uint64_t stream_id, uint32_t shard_index, const uint8_t *pk,
                   size_t pk_len, const uint8_t *data, size_t data_len, uint8_t *out);

/* Open a sealed frame in place: the plaintext overwrites the ciphertext, and
 * *pk / *data point into frame (valid as long as frame is). Returns 0, or
 * RN_ECORRUPT when the frame is malformed or fails authentication (tampered,
 * other key, other stream or shard), or RN_ENOMEM. On failure the frame's
 * bytes are unspecified. */
int rn_record_open(const rn_datakey_t *k, uint64_t stream_id, uint32_t shard_index, uint8_t *frame,
                   size_t len, const uint8_t **pk, size_t *pk_len, const uint8_t **data, size_t *data_len);

/* Wrap / unwrap a data key under a 32-byte master key (AES-256-GCM, random
 * nonce, additional data "rndk1"): out / in are RN_DATAKEY_WRAPPED_LEN bytes.
 * Unwrap returns RN_ECORRUPT for a wrong master key or damaged bytes. */
int rn_datakey_wrap(const uint8_t master[32], const rn_datakey_t *k, uint8_t *out);
int rn_datakey_unwrap(const uint8_t master[32], const uint8_t *in, rn_datakey_t *k);

/* A data key as metadata text: "raw:<64 hex>" when master is NULL, else
 * "gcm:<120 hex>" (wrapped). out >= RN_DATAKEY_TEXT_MAX bytes, NUL-ended.
 * Returns 0 or rn_datakey_wrap's codes. */
#define RN_DATAKEY_TEXT_MAX (4 + 2 * RN_DATAKEY_WRAPPED_LEN + 1)
int rn_datakey_to_text(const uint8_t *master, const rn_datakey_t *k, char *out);
/* The reverse; "raw:" is read with or without a master key. Returns 0,
 * RN_EINVAL (malformed), RN_ENOENT ("gcm:" and master is NULL) or
 * RN_ECORRUPT (wrong master key). */
int rn_datakey_from_text(const uint8_t *master, const char *text, rn_datakey_t *k);

/* The master key of a file: SHA-256 of its whole content (1 byte..1 MiB),
 * so a file of 32 random bytes and a passphrase file both work. Returns 0,
 * RN_ENOENT / RN_EIO (unreadable), RN_EINVAL (empty or larger than 1 MiB). */
int rn_master_key_load(const char *path, uint8_t out[32]);

#endif
