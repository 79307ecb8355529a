/* metrics.h: what GET /metrics shows (docs/operations.md, "Metrics"), in
 * Prometheus' text format 0.0.4.
 *
 * Two families of series:
 *  - runnel's own: requests by operation, HTTP version, protocol and
 *    status (with the error type), and their latency;
 *  - Kinesis's CloudWatch stream metrics (IncomingBytes, PutRecord.Bytes,
 *    GetRecords.IteratorAgeMilliseconds, ...), per (account, region,
 *    stream), named after the CloudWatch name in snake case with the
 *    CloudWatch name in each family's HELP line; and the shard-level ones
 *    (kinesis_shard_*, with a shard_id label) of the metrics a stream's
 *    EnableEnhancedMonitoring asked for, from then on.
 * Series are bounded: at most max_streams streams, RN_METRICS_SHARDS_PER_STREAM
 * x max_streams shards and RN_METRICS_MAX_REQ request series; beyond, the
 * update is dropped and counted (runnel_metrics_dropped_total), never an
 * allocation.
 *
 * Loop thread only: the api records from its handlers' completions and
 * renders for GET /metrics; the admin port asks the loop to render. */
#ifndef RN_METRICS_H
#define RN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/ops.h"
#include "util/buf.h"

typedef struct rn_metrics rn_metrics_t;

#define RN_METRICS_MAX_REQ 4096 /* request series */
#define RN_METRICS_MAX_STREAMS_DEFAULT 2000

/* Shard-level metrics (EnableEnhancedMonitoring, as AWS): the bits of
 * rn_stream_t.metrics over core's rn_metric_names, in that order. */
enum {
    RN_SHARD_M_IN_BYTES = 1u << 0,      /* IncomingBytes */
    RN_SHARD_M_IN_RECORDS = 1u << 1,    /* IncomingRecords */
    RN_SHARD_M_OUT_BYTES = 1u << 2,     /* OutgoingBytes (GetRecords) */
    RN_SHARD_M_OUT_RECORDS = 1u << 3,   /* OutgoingRecords */
    RN_SHARD_M_WRITE_EXCEEDED = 1u << 4, /* WriteProvisionedThroughputExceeded */
    RN_SHARD_M_READ_EXCEEDED = 1u << 5, /* ReadProvisionedThroughputExceeded */
    RN_SHARD_M_ITER_AGE = 1u << 6,      /* IteratorAgeMilliseconds */
};
/* Shard series: at most this many per stream series allowed (--metrics-max-streams). */
#define RN_METRICS_SHARDS_PER_STREAM 4

/* What one shard took in a record operation. */
typedef struct rn_metrics_shard {
    uint32_t index;
    uint32_t records;   /* accepted (put) or returned (get) */
    uint32_t throttled; /* records refused for the shard's rate (put), or 1 (a throttled get) */
    uint64_t bytes;
} rn_metrics_shard_t;

/* What a record operation did, filled by its handler (api_int.h rn_call_t.m). */
typedef struct rn_metrics_data {
    char stream[129];           /* "" when the call never resolved a stream */
    uint64_t bytes;             /* PutRecord(s): data + keys accepted; GetRecords: data + keys returned */
    uint32_t records;           /* PutRecords: entries; GetRecords: records returned */
    uint32_t ok, failed, throttled; /* PutRecords entries */
    int64_t iterator_age_ms;    /* GetRecords: MillisBehindLatest of the answer, -1 when none */
    /* shard-level series: the stream's mask (0: none asked for, shards unused) and what each
     * shard took; shards is one (one) or the call's own array (freed with the call) */
    uint32_t shard_mask;
    uint32_t n_shards;
    rn_metrics_shard_t *shards;
    rn_metrics_shard_t one;
} rn_metrics_data_t;

int rn_metrics_create(rn_metrics_t **out, size_t max_streams);
void rn_metrics_destroy(rn_metrics_t *m);

/* One answered request: status is the HTTP status, error_type the AWS error
 * type (NULL on success), d what a record operation did (NULL when none). */
void rn_metrics_request(rn_metrics_t *m, rn_op_t op, int http2, int cbor, int status, const char *error_type,
                        int64_t latency_us, const char *account, const char *region,
                        const rn_metrics_data_t *d);

/* One SubscribeToShard event delivered (SubscribeToShardEvent.*), or a
 * subscription refused for its rate (SubscribeToShard.RateExceeded: records
 * and bytes 0, rate_exceeded 1). */
void rn_metrics_subscribe_event(rn_metrics_t *m, const char *account, const char *region, const char *stream,
                                uint64_t bytes, uint32_t records, int64_t millis_behind, int rate_exceeded);

/* Gauges the caller knows (-1: not shown). */
typedef struct rn_metrics_gauges {
    long subscriptions;   /* open SubscribeToShard streams */
    long pending;         /* requests waiting for the store */
    long streams;         /* streams in the registry */
} rn_metrics_gauges_t;

/* Append the whole exposition to out. Returns 0 or RN_ENOMEM. */
int rn_metrics_render(const rn_metrics_t *m, const rn_metrics_gauges_t *g, rn_buf_t *out);

/* The store's series (store.h rn_store_stats): group-commit fdatasync latency
 * and size histograms, descriptors synced, open logs, journal and metadata
 * bytes. Then, per stream, its segment files' bytes on disk: call
 * rn_metrics_render_disk with first = 1 for the first stream. */
struct rn_store_stats;
int rn_metrics_render_store(const struct rn_store_stats *st, rn_buf_t *out);
int rn_metrics_render_disk(rn_buf_t *out, int first, const char *account, const char *region, const char *stream,
                           uint64_t bytes);

#endif
