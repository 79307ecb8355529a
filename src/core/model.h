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
 * request and from a 200 ms timer. */
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

/* A token bucket of limit emulation (api/limits.c), in thousandths of a
 * unit; at_ms 0: never used (full). */
typedef struct rn_bucket {
    int64_t level;
    int64_t at_ms;
} rn_bucket_t;

/* A shard's rates under --enforce-limits (not persisted; zero = unused). */
typedef struct rn_shard_rates {
    rn_bucket_t put_bytes, put_records, get_calls, get_bytes, iterators;
} rn_shard_rates_t;

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
    rn_shard_rates_t rates;   /* --enforce-limits (api/limits.c) */
} rn_shard_t;

/* A stream tag; key and value are malloc'ed, NUL-terminated UTF-8. */
typedef struct rn_tag {
    char *key;
    char *value;
} rn_tag_t;

/* A stream's tags, sorted by key (byte order), keys unique. */
typedef struct rn_tagset {
    rn_tag_t *v;
    uint32_t n;
} rn_tagset_t;

#define RN_TAGS_MAX 50 /* per resource (KINESIS_CONTRACT §4.10) */

/* Enhanced monitoring: bit i of rn_stream_t.metrics stands for rn_metric_names[i]. */
#define RN_METRIC_COUNT 7
#define RN_METRICS_ALL 0x7Fu
extern const char *const rn_metric_names[RN_METRIC_COUNT];

/* UpdateShardCount calls allowed per stream per rolling 24 hours. */
#define RN_SCALING_MAX 10

/* A SplitShard or MergeShards waiting for the end of UPDATING
 * (--update-stream-delay > 0): as on AWS, the stream keeps its shards (the
 * parents open, no children; writes land in the parents) until it is ACTIVE
 * again, when rn_registry_tick applies the change. Persisted with the
 * stream, so a restart during UPDATING applies it too. */
typedef enum { RN_PENDING_NONE = 0, RN_PENDING_SPLIT, RN_PENDING_MERGE } rn_pending_kind_t;
typedef struct rn_reshard_pending {
    rn_pending_kind_t kind;
    uint32_t a;   /* split: ShardToSplit; merge: ShardToMerge */
    uint32_t b;   /* merge: AdjacentShardToMerge */
    rn_u128 key;  /* split: NewStartingHashKey */
} rn_reshard_pending_t;

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
    int64_t trim_floor_ms;    /* records that arrived before this stay expired (set when the
                                 retention grows: expired data never comes back) */
    uint32_t metrics;         /* enhanced monitoring, bits over rn_metric_names */
    int distribution_auto;    /* record distribution strategy: 1 AUTO, 0 USER_PARTITION_KEY */
    uint32_t auto_next;       /* AUTO: position in shards of the last shard written (not persisted) */
    int64_t warm_mibps;       /* warm throughput target in MiB/s (on-demand), 0 when unset */
    char *policy;             /* resource policy document as given, NULL when none */
    int encrypted;            /* EncryptionType KMS: new records are sealed (core/recordcrypt.h) */
    char *key_id;             /* the KMS KeyId of the last StartStreamEncryption, NULL when none */
    int has_datakey;          /* datakey is set: made by the first StartStreamEncryption and kept
                                 after StopStreamEncryption, so sealed records stay readable */
    uint8_t datakey[32];      /* the stream's record key (rn_datakey_t) */
    rn_tagset_t tags;
    int64_t scaling_ms[RN_SCALING_MAX]; /* times of recent UpdateShardCount calls, 0 = none (reshard.c) */
    rn_shard_t *shards;       /* in index order */
    uint32_t n_shards;
    rn_reshard_pending_t pending; /* a split or merge applied when UPDATING ends */
    int deleted_creating;     /* DELETING a stream that was still CREATING: no shards shown */
    /* the registry's own (model.c): positions in its indexes */
    struct rn_group *group;   /* the account and region */
    size_t group_pos, reg_pos;
    int64_t pend_pos;         /* in the list of pending transitions, -1 when none */
    uint32_t open_counted;    /* open shards counted in the group */
    /* rn_stream_route's index: the open shards by starting hash key, with
     * their positions in shards (the keys side by side, so that a binary
     * search over 1,024 shards reads a few cache lines, not a shard each
     * step). A cache: a stale entry is detected (the shard it names is
     * closed or does not hold the key) and the index rebuilt, so nothing
     * that changes shards has to keep it. */
    struct rn_route_ent {
        rn_u128 start;
        uint32_t pos;
    } *route;
    uint32_t n_route;
    /* writers sharing the store (cluster mode, docs/cluster.md): the revision
     * of the document this copy was loaded from or last wrote (0: not written
     * yet), and whether a compare-and-set found the stored one newer, so that
     * the next lookup takes the stored document first (model.c). */
    uint64_t rev;
    int stale;
} rn_stream_t;

typedef struct rn_registry rn_registry_t;

typedef struct rn_registry_config {
    int64_t create_delay_ms;
    int64_t delete_delay_ms;
    int64_t update_delay_ms;  /* how long a changing stream stays UPDATING */
    int shard_limit;          /* per account and region, default 500 */
    const uint8_t *master_key; /* 32 bytes (--master-key-file) wrapping the streams' data keys in
                                  the metadata, or NULL: data keys are stored as they are */
} rn_registry_config_t;

/* Load every stream from the store's metadata; make or load the iterator
 * key. Returns 0 or a negative RN_E* code. */
int rn_registry_open(rn_registry_t **out, rn_store_t *store, const rn_registry_config_t *cfg);
void rn_registry_close(rn_registry_t *r);

const rn_registry_config_t *rn_registry_config(const rn_registry_t *r);
const rn_iter_key_t *rn_registry_iter_key(const rn_registry_t *r);
rn_store_t *rn_registry_store(rn_registry_t *r);

/* Apply due state transitions (UPDATING -> ACTIVE applies a pending split
 * or merge first). Returns the number of reshards applied (their parents'
 * readers should be woken: they reached the end). */
int rn_registry_tick(rn_registry_t *r, int64_t now_ms);

/* Shards are listed (DescribeStream, ListShards): not while CREATING, nor
 * for a stream deleted while CREATING (AWS shows Shards: []). */
int rn_stream_shows_shards(const rn_stream_t *s);

/* Lookups; NULL when absent. */
rn_stream_t *rn_registry_find(rn_registry_t *r, const char *account, const char *region,
                              const char *name);
rn_stream_t *rn_registry_find_id(rn_registry_t *r, uint64_t id);
/* Every stream, in no order: i in [0, rn_registry_count(r)). */
size_t rn_registry_count(const rn_registry_t *r);
rn_stream_t *rn_registry_at(rn_registry_t *r, size_t i);
/* A metadata key changed by another writer sharing the store (the store's
 * watch, docs/cluster.md; val NULL: deleted): a stream document is taken
 * into the registry (in place, created, or forgotten), unless this copy is
 * at rev or newer already. Other keys are ignored. 0 or an RN_E* code. */
int rn_registry_changed(rn_registry_t *r, const char *key, const void *val, size_t len, uint64_t rev);

/* All streams of an account and region sorted by name; *out is malloc'ed
 * (caller frees the array, not the streams). */
int rn_registry_list(rn_registry_t *r, const char *account, const char *region, rn_stream_t ***out,
                     size_t *n);

/* (account, region) pairs that hold state: a stream in any state, or stored account
 * settings (for --max-namespaces); kept as streams and settings come and go. */
size_t rn_registry_namespaces(const rn_registry_t *r);
int rn_registry_namespace_held(const rn_registry_t *r, const char *account, const char *region);

/* Open shards of an account and region (for the shard limit). */
int rn_registry_open_shard_count(rn_registry_t *r, const char *account, const char *region);

/* Create a stream with n_shards evenly split shards, CREATING (or ACTIVE
 * when the delay is 0), persisted. */
int rn_registry_create(rn_registry_t *r, const char *account, const char *region, const char *name,
                       uint32_t n_shards, int on_demand, int64_t now_ms, rn_stream_t **out);

/* rn_registry_create, with prep(ud, s) run on the new stream before it is
 * persisted (to set CreateStream's options): the stream is built whole
 * aside, written, then registered. When prep, the write or the
 * registration fails, nothing is left behind (the id is not reused) and the
 * error is returned (prep's, or the store's: RN_ENOSPC, RN_EIO...). */
int rn_registry_create_with(rn_registry_t *r, const char *account, const char *region, const char *name,
                            uint32_t n_shards, int on_demand, int64_t now_ms,
                            int (*prep)(void *ud, rn_stream_t *s), void *ud, rn_stream_t **out);

/* Start deleting (or delete at once when the delay is 0). The change is
 * persisted first: on a failure (returned) the stream is as it was, in
 * memory and on disk. Deleting at once removes the entry (after persisting
 * the id high-water mark), then the logs' files without opening the logs.
 * s is freed when deleted at once. */
int rn_registry_delete(rn_registry_t *r, rn_stream_t *s, int64_t now_ms);

/* Put an ACTIVE stream into UPDATING until the update delay has passed
 * (at once back to ACTIVE when the delay is 0), persisted. The caller has
 * already applied its change to the stream; on a failure the status is as it
 * was and the caller puts back its change. */
int rn_registry_begin_update(rn_registry_t *r, rn_stream_t *s, int64_t now_ms);

/* SplitShard / MergeShards with an update delay: record *p as s's pending
 * change and enter UPDATING, persisted (on a failure, returned, nothing
 * changed). The change is applied when UPDATING ends (rn_registry_tick),
 * with the transition time as its time. */
int rn_registry_begin_reshard(rn_registry_t *r, rn_stream_t *s, const rn_reshard_pending_t *p,
                              int64_t now_ms);

/* Persist a changed stream. Nothing in memory changes: on a failure the
 * caller puts back what it changed. */
int rn_registry_save(rn_registry_t *r, rn_stream_t *s);

/* Changes of the shards (core/reshard.h) as one all-or-nothing step:
 *   rn_stream_undo_begin(s, &u);            copy what a reshard can touch
 *   rn_reshard_*(...)                        change memory
 *   rn_registry_commit_shards(r, s, &u, now) persist (entering UPDATING like
 *                                            rn_registry_begin_update); on a
 *                                            failure the stream is put back
 *                                            exactly as it was
 * or rn_registry_undo(r, s, &u) to put it back without persisting. Both
 * release u. A commit also drops closed shards whose records have all
 * expired (rn_shard_expired) from the document and from memory, and removes
 * their files: indexes are never reused, and children keep naming them. */
typedef struct rn_stream_undo {
    rn_stream_t saved;  /* scalars as they were */
    rn_shard_t *shards; /* the shard array as it was (copy) */
} rn_stream_undo_t;
int rn_stream_undo_begin(const rn_stream_t *s, rn_stream_undo_t *u);
void rn_stream_undo_end(rn_stream_undo_t *u);
void rn_registry_undo(rn_registry_t *r, rn_stream_t *s, rn_stream_undo_t *u);
int rn_registry_commit_shards(rn_registry_t *r, rn_stream_t *s, rn_stream_undo_t *u, int64_t now_ms);

/* Recount s's open shards into its account's count (after its shards
 * changed; reshard.c calls it). */
void rn_registry_recount(rn_registry_t *r, rn_stream_t *s);

/* The shard's log, opened on first use, with the stream's retention applied
 * (rn_log_trim at rn_stream_trim_cutoff(s, now)): nothing a handler reads
 * through it has expired. Returns 0 or a negative RN_E* code. */
int rn_shard_log(rn_registry_t *r, rn_stream_t *s, rn_shard_t *sh, rn_log_t **out);

/* ---- retention ------------------------------------------------------------------ */

/* Records that arrived before this time have expired: now - retention, or
 * the floor left by an earlier, shorter retention if that is later. */
int64_t rn_stream_trim_cutoff(const rn_stream_t *s, int64_t now_ms);

/* Change the retention period (the caller validated it). Growing it does not
 * resurrect expired records: the old cutoff becomes the floor. Not saved. */
void rn_stream_set_retention(rn_stream_t *s, int hours, int64_t now_ms);

/* 1 when sh is closed and every record it can hold has expired (it was
 * closed before the trim cutoff): such a shard no longer appears in
 * ListShards / DescribeStream on AWS. Pure; no I/O. */
int rn_shard_expired(const rn_stream_t *s, const rn_shard_t *sh, int64_t now_ms);

/* ---- tags --------------------------------------------------------------------------- */

/* Deep copy (out is initialised). Returns 0 or RN_ENOMEM. */
int rn_tagset_clone(const rn_tagset_t *in, rn_tagset_t *out);
/* Add or overwrite key. Returns 0 or RN_ENOMEM (the set is unchanged then). */
int rn_tagset_put(rn_tagset_t *t, const char *key, const char *value);
/* Remove key if present. */
void rn_tagset_del(rn_tagset_t *t, const char *key);
/* The tag with key, or NULL. */
const rn_tag_t *rn_tagset_find(const rn_tagset_t *t, const char *key);
void rn_tagset_dispose(rn_tagset_t *t);

/* Replace s's tags with *next (taken: *next is emptied) and persist. On
 * failure the stream keeps its old tags and *next is disposed. */
int rn_registry_save_tags(rn_registry_t *r, rn_stream_t *s, rn_tagset_t *next);

/* ---- account settings ------------------------------------------------------------- */

typedef enum rn_commitment_status {
    RN_COMMITMENT_DISABLED = 0,
    RN_COMMITMENT_ENABLED = 1,
    RN_COMMITMENT_ENABLED_UNTIL_EARLIEST_ALLOWED_END = 2,
} rn_commitment_status_t;

const char *rn_commitment_status_name(rn_commitment_status_t s);

/* MinimumThroughputBillingCommitment of an account in a region; times are
 * epoch ms, 0 when absent. */
typedef struct rn_account_settings {
    rn_commitment_status_t status;
    int64_t started_ms;
    int64_t ended_ms;
    int64_t earliest_end_ms;
    uint64_t rev; /* the metadata entry's revision as read (0: absent) */
} rn_account_settings_t;

/* Read the settings ("account/<acct>/<region>/settings" in the metadata
 * table; defaults when absent), applying a scheduled end that is due by
 * now_ms. Returns 0 or a negative RN_E* code. rn_account_settings_put
 * writes them back only over the revision read (in->rev): RN_ECONFLICT when
 * another writer sharing the store changed them in between (cluster mode). */
int rn_account_settings_get(rn_registry_t *r, const char *account, const char *region, int64_t now_ms,
                            rn_account_settings_t *out);
int rn_account_settings_put(rn_registry_t *r, const char *account, const char *region,
                            const rn_account_settings_t *in);

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
/* Write "shardId-000000000007" (always RN_SHARD_ID_LEN characters) and a NUL
 * into buf, truncated to cap as snprintf does; returns RN_SHARD_ID_LEN. */
#define RN_SHARD_ID_LEN 20
size_t rn_format_shard_id(uint32_t index, char *buf, size_t cap);

#endif
