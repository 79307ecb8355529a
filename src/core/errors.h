/* errors.h: every error runnel can report, defined once.
 *
 * Two families share this header:
 *  - internal status codes (negative ints, RN_E*) returned by functions in
 *    every module: 0 is success;
 *  - the AWS-facing error table (RN_AWS_ERRORS): one row per situation, with
 *    the AWS __type, the HTTP status and the message template, worded as in
 *    ../shared/KINESIS_CONTRACT.md §6. No handler builds an error string by
 *    hand: it calls rn_error_set() with the row and the template's arguments.
 */
#ifndef RN_ERRORS_H
#define RN_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

/* ---- internal status codes: util/status.h ------------------------ */
#include "util/status.h"

/* ---- AWS errors -------------------------------------------------------- */
/* X(ID, "__type", http_status, "printf template or NULL for no message") */
#define RN_AWS_ERRORS(X)                                                                              \
    X(RN_AWS_UNKNOWN_OPERATION, "UnknownOperationException", 400, NULL)                               \
    X(RN_AWS_SERIALIZATION, "SerializationException", 400, "%s")                                      \
    X(RN_AWS_SERIALIZATION_BARE, "SerializationException", 400, NULL)                                 \
    /* a value of the wrong JSON type for its member (coercion): keyed "Message" */                  \
    X(RN_AWS_SERIALIZATION_TYPE, "SerializationException", 400, "%s")                                 \
    X(RN_AWS_VALIDATION, "ValidationException", 400, "%s")                                            \
    X(RN_AWS_INVALID_ARGUMENT, "InvalidArgumentException", 400, "%s")                                 \
    X(RN_AWS_NOT_SUPPORTED, "InvalidArgumentException", 400,                                          \
      "The operation %s is not supported by runnel yet.")                                             \
    X(RN_AWS_STREAM_NOT_FOUND, "ResourceNotFoundException", 400,                                      \
      "Stream %s under account %s not found.")                                                        \
    X(RN_AWS_SHARD_NOT_FOUND, "ResourceNotFoundException", 400,                                       \
      "Shard %s in stream %s under account %s does not exist")                                        \
    X(RN_AWS_SHARD_UNPARSEABLE, "ResourceNotFoundException", 400,                                     \
      "Could not find shard %s in stream %s under account %s.")                                       \
    X(RN_AWS_STREAM_EXISTS, "ResourceInUseException", 400, "Stream %s under account %s already exists.") \
    X(RN_AWS_STREAM_NOT_ACTIVE, "ResourceInUseException", 400,                                        \
      "Stream %s under account %s not ACTIVE, instead in state %s")                                   \
    /* retention (§4.6), tags (§4.10), resource policies (§4.11): ops_control.c, ops_tags.c */       \
    X(RN_AWS_RETENTION_TOO_SHORT, "InvalidArgumentException", 400,                                    \
      "Minimum allowed retention period is 24 hours. Requested retention period (%lld hours) is too " \
      "short.")                                                                                       \
    X(RN_AWS_RETENTION_TOO_LONG, "InvalidArgumentException", 400,                                     \
      "Maximum allowed retention period is 8760 hours. Requested retention period (%lld hours) is "   \
      "too long.")                                                                                    \
    X(RN_AWS_RETENTION_NOT_LONGER, "InvalidArgumentException", 400,                                   \
      "Requested retention period (%lld hours) for stream %s can not be shorter than existing "       \
      "retention period (%d hours). Use DecreaseRetentionPeriod API.")                                \
    X(RN_AWS_RETENTION_NOT_SHORTER, "InvalidArgumentException", 400,                                  \
      "Requested retention period (%lld hours) for stream %s can not be longer than existing "        \
      "retention period (%d hours). Use IncreaseRetentionPeriod API.")                                \
    X(RN_AWS_TAGS_TOO_MANY, "InvalidArgumentException", 400,                                          \
      "Failed to add tags to stream %s under account %s because a given stream cannot have more "     \
      "than 50 tags.")                                                                                \
    X(RN_AWS_TAGS_BAD_CHARS, "InvalidArgumentException", 400,                                         \
      "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white "       \
      "space, _ . / = + - %% @.")                                                                     \
    X(RN_AWS_RESOURCE_NOT_FOUND, "ResourceNotFoundException", 400, "%s")                              \
    X(RN_AWS_RESOURCE_IN_USE, "ResourceInUseException", 400, "%s")                                    \
    X(RN_AWS_ITER_WITH_SEQ, "InvalidArgumentException", 400,                                          \
      "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber " \
      "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and also a "   \
      "StartingSequenceNumber.")                                                                      \
    X(RN_AWS_ITER_WITHOUT_SEQ, "InvalidArgumentException", 400,                                       \
      "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber " \
      "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and no "       \
      "StartingSequenceNumber.")                                                                      \
    X(RN_AWS_ITER_NO_TIMESTAMP, "InvalidArgumentException", 400,                                      \
      "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request "  \
      "has no timestamp parameter.")                                                                  \
    X(RN_AWS_ITER_TS_FUTURE, "InvalidArgumentException", 400,                                         \
      "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "         \
      "timestampInMillis: %lld, currentTimestampInMillis: %lld")                                      \
    X(RN_AWS_BAD_STARTING_SEQ, "InvalidArgumentException", 400,                                       \
      "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s " \
      "is invalid.")                                                                                  \
    X(RN_AWS_SEQ_OTHER_STREAM, "InvalidArgumentException", 400,                                       \
      "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s " \
      "is invalid because it did not come from this stream.")                                         \
    X(RN_AWS_SEQ_OTHER_SHARD, "InvalidArgumentException", 400,                                        \
      "Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s") \
    X(RN_AWS_INVALID_ITERATOR, "InvalidArgumentException", 400, "Invalid ShardIterator.")             \
    X(RN_AWS_EXPIRED_ITERATOR, "ExpiredIteratorException", 400,                                       \
      "Iterator expired. The iterator was created at time %s while right now it is %s which is "      \
      "further in the future than the tolerated delay of 300000 milliseconds.")                       \
    X(RN_AWS_EXPLICIT_HASH_KEY, "InvalidArgumentException", 400,                                      \
      "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value " \
      "was %s")                                                                                       \
    X(RN_AWS_BAD_SEQ_FOR_ORDERING, "InvalidArgumentException", 400,                                   \
      "ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is invalid.") \
    X(RN_AWS_RECORD_TOO_LARGE, "InvalidArgumentException", 400,                                       \
      "Record size %zu bytes (data plus partition key) exceeds the maximum record size of %d KiB for " \
      "stream %s under account %s.")                                                                  \
    X(RN_AWS_RECORDS_TOO_LARGE, "InvalidArgumentException", 400, "Records size exceeds 10 MB limit")  \
    X(RN_AWS_SHARD_LIMIT, "LimitExceededException", 400,                                              \
      "This request would exceed the shard limit for the account %s in %s. Current shard count for "  \
      "the account: %d. Limit: %d. Number of additional shards that would have resulted from this "   \
      "request: %d. Refer to the AWS Service Limits page "                                            \
      "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits "    \
      "and how to request higher limits.")                                                            \
    X(RN_AWS_LIMIT_EXCEEDED, "LimitExceededException", 400, "%s")                                     \
    /* limit emulation, --enforce-limits (§5, §3.6) */                                               \
    X(RN_AWS_SHARD_THROTTLED, "ProvisionedThroughputExceededException", 400,                          \
      "Rate exceeded for shard %s in stream %s under account %s.")                                    \
    X(RN_AWS_READ_THROTTLED, "ProvisionedThroughputExceededException", 400,                           \
      "Rate exceeded for Shard - %s/%s/%s")                                                           \
    X(RN_AWS_STREAM_RATE, "LimitExceededException", 400,                                              \
      "Rate exceeded for stream %s under account %s.")                                                \
    X(RN_AWS_ACCOUNT_RATE, "LimitExceededException", 400, "Rate exceeded for account %s.")            \
    X(RN_AWS_ON_DEMAND_LIMIT, "LimitExceededException", 400,                                          \
      "Account %s has reached the limit of %d streams in ON_DEMAND mode in region %s.")               \
    /* AUTO record distribution (§4.7) */                                                            \
    X(RN_AWS_AUTO_ORDERING, "InvalidArgumentException", 400,                                          \
      "SequenceNumberForOrdering is not supported for stream %s under account %s because its "        \
      "RecordDistributionStrategy is AUTO.")                                                          \
    /* resharding (§4.5) */                                                                          \
    X(RN_AWS_SPLIT_KEY_RANGE, "InvalidArgumentException", 400,                                        \
      "NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not "  \
      "both greater than one plus the shard's StartingHashKey %s and less than the shard's "          \
      "EndingHashKey %s.")                                                                            \
    X(RN_AWS_SHARD_CLOSED, "InvalidArgumentException", 400,                                           \
      "Shard %s in stream %s under account %s has already been merged or split, and thus is not "     \
      "eligible for merging or splitting.")                                                           \
    X(RN_AWS_SHARDS_NOT_ADJACENT, "InvalidArgumentException", 400,                                    \
      "Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible "   \
      "for merging")                                                                                  \
    X(RN_AWS_ON_DEMAND_STREAM, "ValidationException", 400,                                            \
      "Request is invalid. Stream %s under account %s is in On-Demand mode.")                         \
    X(RN_AWS_SCALE_UP_LIMIT, "LimitExceededException", 400,                                           \
      "UpdateShardCount cannot scale up over double your current open shard count. Current open "     \
      "shard count: %u Target shard count: %lld")                                                     \
    X(RN_AWS_SCALE_DOWN_LIMIT, "LimitExceededException", 400,                                         \
      "UpdateShardCount cannot scale down below half your current open shard count. Current open "    \
      "shard count: %u Target shard count: %lld")                                                     \
    X(RN_AWS_SCALE_MAX_LIMIT, "LimitExceededException", 400,                                          \
      "Target shard count or number of open shards cannot be greater than %d. Current open shard "    \
      "count: %u Target shard count: %lld")                                                           \
    X(RN_AWS_SCALE_RATE_LIMIT, "LimitExceededException", 400,                                         \
      "Stream %s under account %s has already been scaled %d times in the last 24 hours; "            \
      "UpdateShardCount allows at most %d scaling operations per stream per rolling 24-hour period.") \
    X(RN_AWS_EXPIRED_NEXT_TOKEN, "ExpiredNextTokenException", 400, "%s")                              \
    X(RN_AWS_MISSING_AUTH, "MissingAuthenticationTokenException", 400, "Missing Authentication Token") \
    X(RN_AWS_INCOMPLETE_SIGNATURE, "IncompleteSignatureException", 400, "%s")                         \
    X(RN_AWS_INVALID_SIGNATURE, "InvalidSignatureException", 400, "%s")                               \
    /* identity, accounts and regions (api/ident.c, api/access.c; docs/limits.md) */                 \
    X(RN_AWS_CREDENTIAL_PARTS, "IncompleteSignatureException", 400,                                   \
      "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, " \
      "got '%s'")                                                                                     \
    X(RN_AWS_CREDENTIAL_REGION, "InvalidSignatureException", 400,                                     \
      "Credential should be scoped to a valid region, not '%s'. ")                                    \
    /* verified mode, --credentials (api/auth.c; docs/security.md) */                              \
    X(RN_AWS_UNRECOGNIZED_CLIENT, "UnrecognizedClientException", 400,                                 \
      "The security token included in the request is invalid.")                                       \
    X(RN_AWS_EXPIRED_TOKEN, "ExpiredTokenException", 400,                                             \
      "The security token included in the request is expired")                                        \
    /* worded by rn_policy_message: "User: <arn> is not authorized to perform: ..." */            \
    X(RN_AWS_ACCESS_DENIED_POLICY, "AccessDeniedException", 400, "%s")                                \
    X(RN_AWS_NAMESPACE_LIMIT, "LimitExceededException", 400,                                          \
      "Account %s cannot hold streams or settings in %s: this server already holds state for %d "     \
      "accounts and regions, its limit (runnel --max-namespaces).")                                   \
    X(RN_AWS_REQUEST_TOO_LARGE, "SerializationException", 413,                                        \
      "Request body exceeds the limit of %zu bytes.")                                                 \
    X(RN_AWS_DRY_RUN, "DryRunOperationException", 400,                                                \
      "The request would have succeeded, but the DryRun parameter was specified.")                    \
    X(RN_AWS_KMS_NOT_FOUND, "KMSNotFoundException", 400, "%s")                                        \
    /* the local KMS's key states and key permissions (api/kms.h, docs/encryption.md) */            \
    X(RN_AWS_KMS_DISABLED, "KMSDisabledException", 400, "%s")                                         \
    X(RN_AWS_KMS_INVALID_STATE, "KMSInvalidStateException", 400, "%s")                                \
    X(RN_AWS_KMS_ACCESS_DENIED, "KMSAccessDeniedException", 400, "%s")                                \
    /* KMS failures the local KMS never has, for --inject-errors (api/faults.h) */                  \
    X(RN_AWS_KMS_THROTTLING, "KMSThrottlingException", 400, "%s")                                     \
    X(RN_AWS_KMS_OPT_IN, "KMSOptInRequired", 400, "%s")                                               \
    X(RN_AWS_THROUGHPUT_EXCEEDED, "ProvisionedThroughputExceededException", 400, "%s")                \
    X(RN_AWS_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503, "%s")                                    \
    X(RN_AWS_INTERNAL_FAILURE, "InternalFailure", 500, NULL)

typedef enum rn_aws_code {
    RN_AWS_NONE = 0,
#define X(id, type, status, fmt) id,
    RN_AWS_ERRORS(X)
#undef X
        RN_AWS_COUNT
} rn_aws_code_t;

#define RN_ERROR_MESSAGE_MAX 4096

/* An error ready to render: the row and its formatted message. */
typedef struct rn_error {
    rn_aws_code_t code;                  /* RN_AWS_NONE when no error */
    int has_message;                     /* 0 when the row has no message */
    char message[RN_ERROR_MESSAGE_MAX];  /* NUL-terminated; truncated if longer */
    size_t message_len;                  /* bytes in message (it may hold NUL bytes) */
} rn_error_t;

/* Fill *e from the row `code` and the template's arguments. Returns -1 so
 * handlers can write `return rn_error_set(e, ...);`. */
int rn_error_set(rn_error_t *e, rn_aws_code_t code, ...);
int rn_error_vset(rn_error_t *e, rn_aws_code_t code, va_list ap);
/* Set a row whose template is "%s" from bytes that may contain NULs
 * (values echoed in validation messages). Returns -1. */
int rn_error_set_bytes(rn_error_t *e, rn_aws_code_t code, const char *msg, size_t len);
void rn_error_clear(rn_error_t *e);

const char *rn_aws_error_type(rn_aws_code_t code); /* "ResourceNotFoundException" */
int rn_aws_error_status(rn_aws_code_t code);       /* 400, 500, ... */
/* The body key of the message: "message" for every row but the wrong-type
 * SerializationException, which AWS's coercion layer writes as "Message"
 * (docs/wire.md). JSON and CBOR bodies follow the same rule. */
const char *rn_aws_error_message_key(rn_aws_code_t code);

#endif
