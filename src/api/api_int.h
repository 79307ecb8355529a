/* api_int.h: what the api module's own files share: the per-request call
 * context, handler signature, and helpers for reading decoded input and
 * building answers. Not for other modules. */
#ifndef RN_API_INT_H
#define RN_API_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/metrics.h"
#include "api/ident.h"
#include "core/seqnum.h"
#include "core/errors.h"
#include "core/ops.h"
#include "wire/wire.h"

struct rn_api {
    rn_registry_t *reg;
    char default_region[RN_REGION_MAX + 1];
    char account_id[RN_ACCOUNT_MAX + 1];
    int max_namespaces; /* (account, region) pairs that may hold state (access.h) */
    int pending;
    int test_clock; /* --enable-test-clock */
    struct rn_limits *limits; /* --enforce-limits state; NULL when off (limits.h) */
    /* enhanced fan-out (ops_consumers.c) */
    struct event_base *base;
    int64_t consumer_delay_ms;
    int64_t sub_lifetime_ms;
    struct rn_consumer *consumers; /* every registered consumer, loaded on first use */
    int consumers_loaded;
    struct rn_channel *channels;   /* every channel, loaded on first use (ops_channels.c) */
    int channels_loaded;
    struct rn_sub *subs;           /* open SubscribeToShard streams */
    long n_subs;                   /* how many (metrics) */
    struct event *tick_ev;         /* due state transitions without a request (api.c) */
    struct rn_call *call_cache;    /* freed calls kept for reuse (api.c), by next_free */
    int n_call_cache;
    /* verified mode, --credentials (auth.h): NULL in developer mode */
    struct rn_auth *auth;
    struct rn_sigv4_cache *sigcache; /* one per server: the loop thread's */
    struct rn_pcache_ent *pcache;    /* compiled resource policies (access.c) */
    struct rn_kms *kms;              /* the local KMS (kms.h) */
    struct rn_faults *faults;        /* --inject-errors (faults.h); NULL when off */
    int shutting_down;               /* rn_api_shutdown ran: /health/ready answers 503 (net/health.c) */
    struct rn_metrics *metrics;      /* GET /metrics (metrics.h) */
    size_t metrics_max_streams;      /* cfg's, default applied: also bounds runnel_stream_disk_bytes */
    int (*metrics_extra)(void *ud, rn_buf_t *out); /* other layers' series (rn_api_set_metrics_extra) */
    void *metrics_extra_ud;
    struct rn_accesslog *accesslog;  /* --access-log (accesslog.h); NULL when off */
};

#define RN_API_CALL_CACHE 128 /* calls kept for reuse: ~4.3 KiB each */

/* One request in flight. Allocated by dispatch, freed by rn_call_reply /
 * rn_call_fail (and then kept for reuse). err stays the last member:
 * allocation clears only what comes before it (api.c: call_new). */
typedef struct rn_call {
    rn_api_t *api;
    rn_http_exchange_t *ex;
    rn_proto_t proto;
    rn_op_t op;
    json_t *in;           /* decoded, validated input (owned) */
    char account[RN_ACCOUNT_MAX + 1];
    char region[RN_REGION_MAX + 1];
    int64_t now_ms;
    void *op_state;       /* a handler's state across an asynchronous wait */
    void (*op_state_free)(void *);
    rn_buf_t reply;       /* an answer rendered before an asynchronous wait (owned) */
    struct rn_call *next_free; /* on api->call_cache while unused */
    /* who is calling (verified mode; auth.h): NULL in developer mode */
    struct rn_auth *auth;      /* the credentials load who belongs to (a reference) */
    const struct rn_auth_who *who;
    int authorized;            /* verified mode: an access check allowed this call */
    const char *peer;          /* "ip:port" (aws:SourceIp) */
    int tls;                   /* aws:SecureTransport */
    int http2;                 /* the request came over HTTP/2 (metrics) */
    char peer_buf[64];         /* c->peer's bytes: the exchange's are gone once answered */
    char request_id[40];       /* x-amzn-RequestId (the access log) */
    size_t request_bytes;      /* the body's length (the access log) */
    int status;                /* the HTTP status answered (metrics) */
    int64_t t0_us;             /* rn_mono_us() when the request was handed over (metrics) */
    rn_metrics_data_t m;       /* what a record operation did (metrics.h) */
    int delayed_fail;          /* --inject-errors: answer c->err after the injected latency */
    long delay_ms;             /* --inject-errors: the latency added */
    rn_error_t err;
} rn_call_t;

_Static_assert(offsetof(rn_call_t, err) + sizeof(rn_error_t) == sizeof(rn_call_t),
               "rn_call_t: err must be the last member");

/* A handler either answers (rn_call_reply / rn_call_fail) and returns 0, or
 * returns -1 with c->err set (dispatch renders the error), or returns
 * RN_CALL_PENDING after arranging to answer later. */
#define RN_CALL_PENDING 1
typedef int (*rn_op_fn)(rn_call_t *c);

/* Answer with out (stolen; NULL for an empty body) and free the call. */
void rn_call_reply(rn_call_t *c, json_t *out);
/* Answer with c->err and free the call. */
void rn_call_fail(rn_call_t *c);
/* Answer 200 with a body rendered by the handler (its bytes are taken;
 * *body is left empty) and free the call. */
void rn_call_reply_raw(rn_call_t *c, rn_buf_t *body);
/* Free the call without answering: the handler took the exchange over
 * (SubscribeToShard's event stream). */
void rn_call_detach(rn_call_t *c);

/* The record operations' fast decoders (ops_records.c, wire/fast.h): 0 when
 * one applied (the handler then finds its typed input in c->op_state and
 * c->in stays NULL), RN_FAST_FALLBACK when dispatch must run rn_wire_decode. */
int rn_records_fast_decode(rn_call_t *c, const uint8_t *body, size_t len);

/* ---- reading input ---------------------------------------------------------- */
const char *rn_arg_str(const rn_call_t *c, const char *name);      /* NULL if absent */
int rn_arg_int(const rn_call_t *c, const char *name, int64_t *out); /* 0 if present */
int rn_arg_bool(const rn_call_t *c, const char *name);              /* 0 if absent */

/* Resolve StreamName (in the caller's account and region) or StreamARN (in
 * the account and region it names, as access.h rules). Fails with
 * ResourceNotFoundException, AccessDeniedException (another account's stream
 * without a policy grant), ValidationException when neither is given, or
 * InvalidArgumentException when they disagree. */
int rn_call_stream(rn_call_t *c, rn_stream_t **out);
/* The stream `name` of the caller's account and region (verified mode: after
 * the access check), or ResourceNotFoundException. */
int rn_call_stream_named(rn_call_t *c, const char *name, rn_stream_t **out);

/* ---- building output --------------------------------------------------------- */
json_t *rn_json_ts(int64_t ms); /* epoch seconds with a millisecond fraction */
json_t *rn_json_shard(const rn_stream_t *s, const rn_shard_t *sh);

json_t *rn_json_metrics(uint32_t mask); /* ShardLevelMetrics names (ops_control.c) */

/* ---- shared by the families ------------------------------------------------------- */
/* Validate a Tags map against a stream's current tags (cur NULL: a new
 * stream): lengths, characters, reserved prefix, the 50-tag limit. Sets c->err,
 * returns -1 on a bad map (ops_tags.c). */
int rn_tags_check(rn_call_t *c, json_t *tags, const rn_tagset_t *cur, const char *stream_name);
/* CreateStream's Tags, MaxRecordSizeInKiB, WarmThroughputMiBps and
 * RecordDistributionStrategy: check before creating (sets c->err, returns
 * -1 on failure), apply to the new stream before it is persisted
 * (rn_registry_create_with's prep; returns 0 or an RN_E* code)
 * (ops_control.c). */
int rn_create_options_check(rn_call_t *c, const char *name, int on_demand);
int rn_create_options_apply(rn_call_t *c, rn_stream_t *s);

/* A control-plane change could not be persisted (rc from the store or the
 * registry): ServiceUnavailableException 503 for a store failure ("The
 * server is out of disk space." for RN_ENOSPC), InternalFailure for
 * RN_ENOMEM. The caller has left everything as it was. Returns -1
 * (ops_control.c). */
int rn_fail_persist(rn_call_t *c, int rc);
/* A data-path store failure (opening a shard's log, an append): 503
 * ServiceUnavailable for a full disk or no file descriptor left (after the
 * store reclaimed what it could), InternalFailure otherwise. */
int rn_fail_store(rn_call_t *c, int rc);

/* Tokens (NextToken for list operations) sealed like iterators. */
#define RN_TOKEN_LIST_STREAMS 0xF000000000000001ULL
#define RN_TOKEN_LIST_SHARDS 0xF000000000000002ULL

/* ---- handlers -------------------------------------------------------------------- */
int rn_op_CreateStream(rn_call_t *c);
int rn_op_DeleteStream(rn_call_t *c);
int rn_op_DescribeStream(rn_call_t *c);
int rn_op_DescribeStreamSummary(rn_call_t *c);
int rn_op_ListStreams(rn_call_t *c);
int rn_op_ListShards(rn_call_t *c);
int rn_op_PutRecord(rn_call_t *c);
int rn_op_PutRecords(rn_call_t *c);
int rn_op_GetShardIterator(rn_call_t *c);
int rn_op_GetRecords(rn_call_t *c);
int rn_op_SplitShard(rn_call_t *c);
int rn_op_MergeShards(rn_call_t *c);
int rn_op_UpdateShardCount(rn_call_t *c);
int rn_op_IncreaseStreamRetentionPeriod(rn_call_t *c);
int rn_op_DecreaseStreamRetentionPeriod(rn_call_t *c);
int rn_op_EnableEnhancedMonitoring(rn_call_t *c);
int rn_op_DisableEnhancedMonitoring(rn_call_t *c);
int rn_op_DescribeLimits(rn_call_t *c);
int rn_op_DescribeAccountSettings(rn_call_t *c);
int rn_op_UpdateAccountSettings(rn_call_t *c);
int rn_op_UpdateStreamMode(rn_call_t *c);
int rn_op_UpdateStreamWarmThroughput(rn_call_t *c);
int rn_op_UpdateMaxRecordSize(rn_call_t *c);
int rn_op_UpdateStreamRecordDistributionStrategy(rn_call_t *c);
int rn_op_AddTagsToStream(rn_call_t *c);
int rn_op_RemoveTagsFromStream(rn_call_t *c);
int rn_op_ListTagsForStream(rn_call_t *c);
int rn_op_TagResource(rn_call_t *c);
int rn_op_UntagResource(rn_call_t *c);
int rn_op_ListTagsForResource(rn_call_t *c);
int rn_op_PutResourcePolicy(rn_call_t *c);
int rn_op_GetResourcePolicy(rn_call_t *c);
int rn_op_DeleteResourcePolicy(rn_call_t *c);
int rn_op_CreateChannel(rn_call_t *c);
int rn_op_DeleteChannel(rn_call_t *c);
int rn_op_DescribeChannel(rn_call_t *c);
int rn_op_ListChannels(rn_call_t *c);
int rn_op_UpdateChannel(rn_call_t *c);
int rn_op_RegisterStreamConsumer(rn_call_t *c);
int rn_op_DeregisterStreamConsumer(rn_call_t *c);
int rn_op_DescribeStreamConsumer(rn_call_t *c);
int rn_op_ListStreamConsumers(rn_call_t *c);
int rn_op_SubscribeToShard(rn_call_t *c);

/* ---- consumers (ops_consumers.c) ------------------------------------------------------ */
/* Consumers of s not yet gone (CREATING, ACTIVE, DELETING). */
int rn_consumers_count(rn_api_t *api, const rn_stream_t *s, int64_t now_ms);
/* s is being deleted: forget its consumers and end their subscriptions. */
void rn_consumers_drop_stream(rn_api_t *api, const rn_stream_t *s);
/* End every subscription (server shutdown) and free the consumers' memory
 * when final. */
void rn_subs_end_all(rn_api_t *api);
/* Wake every subscription to look at its shard again (after resharding). */
void rn_subs_poke(rn_api_t *api);
void rn_consumers_free(rn_api_t *api);

/* ---- channels (ops_channels.c) ------------------------------------------------------- */
/* How many channels read from the stream of that ARN. */
int rn_channels_count_stream(rn_api_t *api, const char *stream_arn, int64_t now_ms);
void rn_channels_free(rn_api_t *api);
/* The consumer <name> of s created at created_s (epoch seconds, as in its
 * ARN), DELETING ones included; NULL when there is none. */
struct rn_consumer *rn_consumer_lookup(rn_call_t *c, const rn_stream_t *s, const char *name,
                                       long long created_s);
/* A consumer's tags and resource policy, changed in place by ops_tags.c and
 * then persisted with rn_consumer_save (which refuses a DELETING consumer:
 * its entry is gone). */
typedef struct rn_consumer_res {
    rn_tagset_t *tags;
    char **policy;
    const char *name;
    int deleting;
} rn_consumer_res_t;
rn_consumer_res_t rn_consumer_res(struct rn_consumer *k);
int rn_consumer_save(rn_api_t *api, struct rn_consumer *k);
int rn_op_StartStreamEncryption(rn_call_t *c);
int rn_op_StopStreamEncryption(rn_call_t *c);

/* ---- records at rest (ops_encryption.c) ------------------------------------------------ */
/* The record path on an encrypted stream s (PutRecord, PutRecords: write;
 * GetRecords, SubscribeToShard: read): the stream's KMS key must still be
 * usable (kms.h), and in verified mode the caller must be allowed
 * kms:GenerateDataKey (write) or kms:Decrypt (read) on it. 0, or -1 with
 * c->err set to KMSDisabledException, KMSInvalidStateException,
 * KMSNotFoundException or KMSAccessDeniedException. 0 for a stream that is
 * not encrypted. */
int rn_encryption_key_check(rn_call_t *c, const rn_stream_t *s, int write);
/* The same state check without a call, for an open SubscribeToShard: 0, or
 * -1 with *err set (no permission check: the subscription was authorised
 * when it opened). */
int rn_encryption_stream_key_error(rn_api_t *api, const rn_stream_t *s, int64_t now_ms, rn_error_t *err);
/* Seal n records of an encrypted stream bound for one shard (s->encrypted,
 * s->has_datakey): each recs[i] is rewritten to point at its sealed frame
 * (empty partition key, RN_RECORD_ENCRYPTED). The frames live in a
 * per-thread buffer until the next call in this thread: append them before
 * sealing again. Returns 0 or a negative RN_E* code (nothing to append). */
int rn_records_seal(const rn_stream_t *s, uint32_t shard_index, rn_record_in_t *recs, size_t n);
/* Open, in place, the sealed records among n records just read from a
 * shard of s (the frames are in the caller's scratch buffer): pk and data
 * then point at the plaintext; flags keeps RN_RECORD_ENCRYPTED so answers
 * can say EncryptionType KMS. Unsealed records are left as they are.
 * Returns 0 or RN_ECORRUPT (logged) for a frame that fails to open. */
int rn_records_open(const rn_stream_t *s, uint32_t shard_index, rn_record_out_t *recs, size_t n);

/* Records as GetRecords and SubscribeToShard show them: a JSON array of
 * Record objects (SequenceNumber, ApproximateArrivalTimestamp, Data,
 * PartitionKey unless keyless, EncryptionType for sealed records). The
 * caller reserves rn_records_json_max() bytes at w; returns the end. */
size_t rn_records_json_max(const rn_record_out_t *recs, size_t n);
char *rn_put_records_json(char *w, const rn_shard_t *sh, const rn_record_out_t *recs, size_t n);

/* ---- resharding (ops_reshard.c) ------------------------------------------------------ */
/* The ChildShards array GetRecords returns at the end of a closed shard:
 * [{ShardId, ParentShards: [parent, adjacent parent?], HashKeyRange}], one
 * entry per child in index order. NULL when sh is open (or has no children
 * yet). New reference: the caller owns it. */
json_t *rn_json_child_shards(const rn_stream_t *s, const rn_shard_t *sh);
/* The same array as JSON text, for answers rendered straight into a buffer:
 * writes at most RN_CHILD_SHARDS_JSON_MAX bytes at w (no NUL) and returns
 * the count; 0 (nothing written) when sh has no children. */
#define RN_CHILD_SHARDS_JSON_MAX 768
size_t rn_put_child_shards(char *w, const rn_stream_t *s, const rn_shard_t *sh);

#endif
