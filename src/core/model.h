/* model.h: streams and shards, the state core keeps for every account and
 * region, persisted through the store's metadata table.
 *
 * The registry lives in the loop thread. Every stream is one metadata entry
 * "stream/<20-digit id>" holding a JSON document of the stream and its shards
 * (written whole on every change: control-plane changes are rare). Stream
 * ids are never reused, so an iterator or token naming a deleted stream can
 * never reach a newer stream of the same name. Shard logs are opened lazily
 * on first use, so start-up does not scan every log.
 *
 * State transitions with configured delays (CREATING -> ACTIVE, UPDATING ->
 * ACTIVE, DELETING -> gone) are applied by rn_registry_tick(), which api calls before serving a
 * request. */
#ifndef RN_MODEL_H
#define RN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/hashkey.h"
#include "core/iterator.h"
#include "store/store.h"

typedef enum rn_stream_status {
    RN_STREAM_CREATING = 0,
    RN_STREAM_DELETING = 1,
    RN_STREAM_ACTIVE = 2,
    RN_STREAM_UPDATING = 3,
} rn_stream_status_t;

const char *rn_stream_status_name(rn_stream_status_t s);

typedef struct rn_shard {
    uint32_t index;           /* shardId-%012u */
    rn_u128 start_hash;
    rn_u128 end_hash;
    int64_t parent;           /* shard index, or -1 */
    int64_t adjacent_parent;  /* shard index, or -1 */
    int64_t created_ms;       /* feeds the sequence numbers' creation field */
    int64_t closed_ms;        /* 0 while open */
    uint64_t ending_counter;  /* valid when closed */
    rn_log_t *log;            /* NULL until first use: see rn_shard_log() */
} rn_shard_t;

typedef struct rn_stream {
    uint64_t id;
    char account[16];
    char region[64];
    char name[129];
    rn_stream_status_t status;
    int64_t created_ms;
    int64_t transition_at_ms; /* when the pending CREATING/DELETING transition is due */
    int retention_hours;
    int on_demand;
    int max_record_kib;
    rn_shard_t *shards;
    uint32_t n_shards;
} rn_stream_t;

typedef struct rn_registry rn_registry_t;

typedef struct rn_registry_config {
    int64_t create_delay_ms;
    int64_t delete_delay_ms;
    int64_t update_delay_ms;  /* how long a changing stream stays UPDATING */
    int shard_limit;          /* per account and region, default 500 */
} rn_registry_config_t;

/* Load every stream from the store's metadata; make or load the iterator
 * key. Returns 0 or a negative RN_E* code. */
int rn_registry_open(rn_registry_t **out, rn_store_t *store, const rn_registry_config_t *cfg);
void rn_registry_close(rn_registry_t *r);

const rn_registry_config_t *rn_registry_config(const rn_registry_t *r);
const rn_iter_key_t *rn_registry_iter_key(const rn_registry_t *r);
rn_store_t *rn_registry_store(rn_registry_t *r);

/* Apply due state transitions. */
void rn_registry_tick(rn_registry_t *r, int64_t now_ms);

/* Lookups; NULL when absent. */
rn_stream_t *rn_registry_find(rn_registry_t *r, const char *account, const char *region,
                              const char *name);
rn_stream_t *rn_registry_find_id(rn_registry_t *r, uint64_t id);

/* All streams of an account and region sorted by name; *out is malloc'ed
 * (caller frees the array, not the streams). */
int rn_registry_list(rn_registry_t *r, const char *account, const char *region, rn_stream_t ***out,
                     size_t *n);

/* Open shards of an account and region (for the shard limit). */
int rn_registry_open_shard_count(rn_registry_t *r, const char *account, const char *region);

/* Create a stream with n_shards evenly split shards, CREATING (or ACTIVE
 * when the delay is 0), persisted. */
int rn_registry_create(rn_registry_t *r, const char *account, const char *region, const char *name,
                       uint32_t n_shards, int on_demand, int64_t now_ms, rn_stream_t **out);

/* Start deleting (or delete at once when the delay is 0). */
int rn_registry_delete(rn_registry_t *r, rn_stream_t *s, int64_t now_ms);

/* Put an ACTIVE stream into UPDATING until the update delay has passed
 * (at once back to ACTIVE when the delay is 0), persisted. The caller has
 * already applied its change to the stream. */
int rn_registry_begin_update(rn_registry_t *r, rn_stream_t *s, int64_t now_ms);

/* Persist a changed stream. */
int rn_registry_save(rn_registry_t *r, rn_stream_t *s);

/* The shard's log, opened on first use. Returns 0 or a negative RN_E* code. */
int rn_shard_log(rn_registry_t *r, rn_stream_t *s, rn_shard_t *sh, rn_log_t **out);

/* The open shard whose range contains h; NULL if none (never, for a
 * well-formed stream). */
rn_shard_t *rn_stream_route(rn_stream_t *s, rn_u128 h);

/* "arn:aws:kinesis:<region>:<account>:stream/<name>" into buf. */
void rn_stream_arn(const rn_stream_t *s, char *buf, size_t cap);

/* Parse a stream ARN into region, account and name (pointers into arn
 * copied into the given buffers). Returns 0 or RN_EINVAL. */
int rn_parse_stream_arn(const char *arn, char *region, size_t rcap, char *account, size_t acap,
                        char *name, size_t ncap);

/* Shard id leniency (KINESIS_CONTRACT §3.1): the text after the first '-'
 * (or all of it) as a decimal index 0..2147483647. Returns 0 or RN_EINVAL. */
int rn_parse_shard_id(const char *s, uint32_t *index);
void rn_format_shard_id(uint32_t index, char *buf, size_t cap); /* shardId-000000000007 */

#endif
