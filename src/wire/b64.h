/* b64.h: standard base64 (RFC 4648 alphabet, '=' padding), strict.
 *
 * Kinesis blobs travel as base64 in AWS JSON 1.1: requests are decoded by
 * rn_wire_blob() (wire.h) and GetRecords responses are encoded here. The
 * decoder accepts exactly what AWS accepts (KINESIS_CONTRACT §2.2): length a
 * multiple of 4, only alphabet characters, at most two '=' and only at the
 * end, and zero bits after the last significant one. Everything is
 * table-driven with no per-byte branches in the main loops. */
#ifndef RN_WIRE_B64_H
#define RN_WIRE_B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes rn_b64_encode writes for n input bytes: 4 * ceil(n / 3). */
static inline size_t rn_b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Encode n bytes into out (rn_b64_encoded_len(n) bytes, no NUL written).
 * Returns the number of characters written. */
size_t rn_b64_encode(const uint8_t *src, size_t n, char *out);

typedef enum rn_b64_status {
    RN_B64_OK = 0,
    RN_B64_BAD_LENGTH, /* length not a multiple of 4 */
    RN_B64_BAD_CHAR,   /* a byte outside the alphabet, or '=' before the end */
    RN_B64_BAD_LAST,   /* more than two '=', or non-zero trailing bits */
} rn_b64_status_t;

/* Check s[0..len) strictly. Returns an rn_b64_status_t; on RN_B64_BAD_CHAR
 * *bad (if not NULL) is the offset of the first offending byte. On success
 * *decoded (if not NULL) is the decoded length. */
int rn_b64_check(const char *s, size_t len, size_t *bad, size_t *decoded);

/* Decode s[0..len) into out, which must hold len / 4 * 3 bytes. Returns 0
 * and sets *out_len, or RN_EINVAL (core/errors.h) when the text is not
 * strictly valid (out may then hold garbage). */
int rn_b64_decode(const char *s, size_t len, uint8_t *out, size_t *out_len);

#endif
