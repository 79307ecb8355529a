/* faults.h: fault injection for tests of client retries (--inject-errors;
 * docs/testing.md "Injected faults"). Off by default: then api->faults is
 * NULL and nothing here is called (one branch per request).
 *
 * The specification is a comma-separated list of rules
 *     OPERATION=FAULT[@PROBABILITY]
 * OPERATION is a Kinesis operation name (PutRecord, GetRecords, ...) or `*`
 * for every operation. FAULT is one of
 *     an error type: ProvisionedThroughputExceededException, InternalFailure,
 *         ServiceUnavailable, LimitExceededException, KMSThrottlingException,
 *         KMSOptInRequired, KMSAccessDeniedException, KMSDisabledException,
 *         KMSInvalidStateException, KMSNotFoundException: the whole call fails
 *         with it (after authentication and input validation, before the
 *         operation runs, so nothing changes);
 *     records:ProvisionedThroughputExceededException or records:InternalFailure
 *         (PutRecords only): each entry fails that way with the probability
 *         and is not written (FailedRecordCount counts it);
 *     latency:MS: the call runs MS milliseconds (1..60000) later.
 * PROBABILITY is a decimal in (0, 1], default 1. The first rule of a kind
 * (error, records, latency) that names the operation, else the first `*`
 * rule, applies; an error and a latency can both apply to one call. */
#ifndef RN_FAULTS_H
#define RN_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"
#include "core/ops.h"

typedef struct rn_faults rn_faults_t;

/* Parse spec into *out. On error returns -1 and err names the rule. */
int rn_faults_parse(const char *spec, rn_faults_t **out, char *err, size_t errlen);
void rn_faults_destroy(rn_faults_t *f);
/* A one-line description of the rules in force, for the start-up log. */
void rn_faults_describe(const rn_faults_t *f, char *buf, size_t cap);

/* Before op runs: the error to answer instead (RN_AWS_NONE: none; then
 * *err is untouched) and the latency to add (*delay_ms, 0: none). */
rn_aws_code_t rn_faults_call(rn_faults_t *f, rn_op_t op, rn_error_t *err, long *delay_ms);

/* PutRecords, once per entry: RN_AWS_NONE, RN_AWS_SHARD_THROTTLED or
 * RN_AWS_INTERNAL_FAILURE (the entry's injected failure). */
rn_aws_code_t rn_faults_record(rn_faults_t *f);
/* 1 when some rule injects per-entry failures into PutRecords. */
int rn_faults_records_on(const rn_faults_t *f);

#endif
