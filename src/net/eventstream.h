/* eventstream.h: the AWS event-stream message framing
 * (application/vnd.amazon.eventstream, KINESIS_CONTRACT §2.6): a prelude
 * (total length, headers length, CRC-32 of those 8 bytes), headers, a
 * payload and a CRC-32 of everything before it. Big-endian throughout;
 * CRC-32 is IEEE 802.3 (zlib's crc32). Pure functions over bytes. */
#ifndef RN_EVENTSTREAM_H
#define RN_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define RN_ES_OVERHEAD 16
#define RN_ES_MAX_PAYLOAD ((size_t)16 * 1024 * 1024) /* SDK decoders' limit */
#define RN_ES_MAX_HEADERS ((size_t)128 * 1024)
#define RN_ES_MAX_DECODED_HEADERS 16

/* CRC-32 (IEEE), continuing from crc (0 to start). */
uint32_t rn_es_crc32(uint32_t crc, const void *p, size_t n);

/* A string header (value type 7); the only kind Kinesis sends. */
typedef struct rn_es_header {
    const char *name; /* <= 255 bytes */
    size_t name_len;
    const char *value; /* <= 65535 bytes */
    size_t value_len;
    uint8_t type;     /* decoder: the value type; encoder: ignored (7) */
} rn_es_header_t;

/* Append one message to out. Returns 0, or -1 when a name, value or the
 * payload is too long, or on ENOMEM. */
int rn_es_encode(rn_buf_t *out, const rn_es_header_t *h, size_t nh, const uint8_t *payload,
                 size_t payload_len);

/* Decode one message from p[0..n). Returns the message's length (> 0) with
 * the headers (pointing into p; at most RN_ES_MAX_DECODED_HEADERS; bool
 * and fixed-size values get value_len of their size) and payload filled,
 * 0 when more bytes are needed, or -1 when the bytes are not a valid
 * message (bad lengths, either CRC, a malformed header). */
long rn_es_decode(const uint8_t *p, size_t n, rn_es_header_t *h, size_t *nh,
                  const uint8_t **payload, size_t *payload_len);

#endif
