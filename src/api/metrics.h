/* metrics.h: what GET /metrics shows (docs/operations.md, "Metrics"), in
 * Prometheus' text format 0.0.4.
 *
 * Two families of series:
 *  - runnel's own: requests by operation, HTTP version, protocol and
 *    status (with the error type), and their latency;
 *  - Kinesis's CloudWatch stream metrics (IncomingBytes, PutRecord.Bytes,
 *    GetRecords.IteratorAgeMilliseconds, ...), per (account, region,
 *    stream), named after the CloudWatch name in snake case with the
 *    CloudWatch name in each family's HELP line.
 * Series are bounded: at most max_streams streams and RN_METRICS_MAX_REQ
 * request series; beyond, the update is dropped and counted
 * (runnel_metrics_dropped_total), never an allocation.
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

#define RN_METRICS_MAX_REQ 4096
#define RN_METRICS_MAX_STREAMS_DEFAULT 2000

/* What a record operation did, filled by its handler (api_int.h rn_call_t.m). */
typedef struct rn_metrics_data {
    char stream[129];           /* "" when the call never resolved a stream */
    uint64_t bytes;             /* PutRecord(s): data + keys accepted; GetRecords: data + keys returned */
    uint32_t records;           /* PutRecords: entries; GetRecords: records returned */
    uint32_t ok, failed, throttled; /* PutRecords entries */
    int64_t iterator_age_ms;    /* GetRecords: MillisBehindLatest of the answer, -1 when none */
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

#endif
