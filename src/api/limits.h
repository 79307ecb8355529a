/* limits.h: limit emulation, on with --enforce-limits (KINESIS_CONTRACT §5,
 * §3.6): per-shard write and read rates, GetShardIterator's rate, the
 * control-plane rates and the on-demand stream count. Off, none of this is
 * called: callers test c->api->limits first (one branch on the fast path).
 *
 * Rates are token buckets refilled by rn_now_ms() (the test clock moves
 * them), each check O(1). A shard's buckets live in rn_shard_t.rates; the
 * control plane's in a table keyed by account, region, operation and, for
 * per-stream limits, the stream name. Nothing is persisted. */
#ifndef RN_LIMITS_H
#define RN_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "api/api_int.h"
#include "wire/fast.h"

typedef struct rn_limits rn_limits_t;

int rn_limits_create(rn_limits_t **out);
void rn_limits_destroy(rn_limits_t *l);

/* Before the handler (dispatch): the operation's control-plane rate and the
 * on-demand stream count. 0, or -1 with c->err set (LimitExceededException). */
int rn_limits_control(rn_call_t *c);

/* One write of `bytes` (data + partition key) to sh: 0 when admitted (and
 * charged), -1 when throttled (nothing charged, c->err untouched). */
int rn_limits_put(rn_call_t *c, rn_shard_t *sh, size_t bytes);

/* PutRecord's throttling error (ProvisionedThroughputExceededException). */
int rn_limits_put_fail(rn_call_t *c, const rn_stream_t *s, const rn_shard_t *sh);

/* PutRecords: charge each record to its shard in request order; those over
 * the rate get throttled[i] = 1. Returns how many were throttled. */
int rn_limits_put_records(rn_call_t *c, const rn_fast_put_records_t *in, rn_shard_t *const *shard_of,
                          uint8_t *throttled);

/* A throttled PutRecords entry, {"ErrorCode":...,"ErrorMessage":...}, at w
 * (at most RN_LIMITS_PUT_ENTRY_MAX bytes, no NUL); returns the bytes written. */
#define RN_LIMITS_PUT_ENTRY_MAX 400
size_t rn_limits_put_entry(char *w, const rn_call_t *c, const rn_stream_t *s, const rn_shard_t *sh);

/* GetRecords on sh: 5 calls/s and 2 MiB/s (a big read leaves a debt that
 * throttles the next calls until it is paid). 0, or -1 with c->err set. */
int rn_limits_get(rn_call_t *c, const rn_stream_t *s, rn_shard_t *sh);
/* Charge the bytes a GetRecords call returned. */
void rn_limits_got(rn_call_t *c, rn_shard_t *sh, size_t bytes);

/* GetShardIterator on sh: 5 per second. 0, or -1 with c->err set. */
int rn_limits_iterator(rn_call_t *c, const rn_stream_t *s, rn_shard_t *sh);

#endif
