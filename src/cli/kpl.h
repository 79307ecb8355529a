/* kpl.h: de-aggregation of KPL aggregated records (runnel tail --decode-kpl).
 *
 * The KPL's format (amazon-kinesis-producer aggregation-format.md):
 *   magic F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)
 *   message AggregatedRecord { repeated string partition_key_table = 1;
 *                              repeated string explicit_hash_key_table = 2;
 *                              repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1;
 *                    optional uint64 explicit_hash_key_index = 2;
 *                    required bytes data = 3; repeated Tag tags = 4; }
 *   message Tag { required string key = 1; optional string value = 2; }
 * Parsed with a bounded reader of the protobuf wire format (varints of at
 * most 10 bytes, lengths checked against what is left, unknown fields of
 * wire types 0, 1, 2 and 5 skipped, groups refused), so it is safe on
 * untrusted bytes (fuzz/fuzz_cli_kpl.c). Views point into the input. */
#ifndef RN_CLI_KPL_H
#define RN_CLI_KPL_H

#include <stddef.h>
#include <stdint.h>

typedef struct rn_kpl_record {
    const uint8_t *key;  /* partition key (from the table) */
    size_t key_len;
    const uint8_t *ehk;  /* explicit hash key, NULL when none */
    size_t ehk_len;
    const uint8_t *data;
    size_t data_len;
} rn_kpl_record_t;

typedef enum rn_kpl_status {
    RN_KPL_OK = 0,
    RN_KPL_NOT_AGGREGATED, /* no magic (or too short for magic + MD5): an ordinary record */
    RN_KPL_BAD_MD5,        /* magic, but the trailer is not the MD5 of the message */
    RN_KPL_MALFORMED,      /* magic and MD5 right, the message is not an AggregatedRecord */
    RN_KPL_NOMEM,
} rn_kpl_status_t;

/* De-aggregate p[0..n). RN_KPL_OK: *out (malloc'd, free() it; NULL when
 * *count is 0) holds the user records in order. Otherwise *out is NULL. */
rn_kpl_status_t rn_kpl_decode(const uint8_t *p, size_t n, rn_kpl_record_t **out, size_t *count);

const char *rn_kpl_status_name(rn_kpl_status_t s);

#endif
