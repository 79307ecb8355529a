/* ops.h: every Kinesis operation, listed once.
 * X(Name, plane) -- plane is 'D' (data) or 'C' (control).
 * Dispatch, request decoding and the not-supported answers are all driven
 * by this list; handlers are named rn_op_<Name>. */
#ifndef RN_OPS_H
#define RN_OPS_H

#include <stddef.h>

#define RN_OPERATIONS(X)                    \
    X(AddTagsToStream, 'C')                 \
    X(CreateStream, 'C')                    \
    X(DecreaseStreamRetentionPeriod, 'C')   \
    X(DeleteResourcePolicy, 'C')            \
    X(DeleteStream, 'C')                    \
    X(DeregisterStreamConsumer, 'C')        \
    X(DescribeAccountSettings, 'C')         \
    X(DescribeLimits, 'C')                  \
    X(DescribeStream, 'C')                  \
    X(DescribeStreamConsumer, 'C')          \
    X(DescribeStreamSummary, 'C')           \
    X(DisableEnhancedMonitoring, 'C')       \
    X(EnableEnhancedMonitoring, 'C')        \
    X(GetRecords, 'D')                      \
    X(GetResourcePolicy, 'C')               \
    X(GetShardIterator, 'D')                \
    X(IncreaseStreamRetentionPeriod, 'C')   \
    X(ListShards, 'C')                      \
    X(ListStreamConsumers, 'C')             \
    X(ListStreams, 'C')                     \
    X(ListTagsForResource, 'C')             \
    X(ListTagsForStream, 'C')               \
    X(MergeShards, 'C')                     \
    X(PutRecord, 'D')                       \
    X(PutRecords, 'D')                      \
    X(PutResourcePolicy, 'C')               \
    X(RegisterStreamConsumer, 'C')          \
    X(RemoveTagsFromStream, 'C')            \
    X(SplitShard, 'C')                      \
    X(StartStreamEncryption, 'C')           \
    X(StopStreamEncryption, 'C')            \
    X(SubscribeToShard, 'D')                \
    X(TagResource, 'C')                     \
    X(UntagResource, 'C')                   \
    X(UpdateAccountSettings, 'C')           \
    X(UpdateMaxRecordSize, 'C')             \
    X(UpdateShardCount, 'C')                \
    X(UpdateStreamMode, 'C')                \
    X(UpdateStreamWarmThroughput, 'C')      \
    X(UpdateStreamRecordDistributionStrategy, 'C') \
    X(CreateChannel, 'C')                   \
    X(DeleteChannel, 'C')                   \
    X(DescribeChannel, 'C')                 \
    X(ListChannels, 'C')                    \
    X(UpdateChannel, 'C')

typedef enum rn_op {
    RN_OP_NONE = -1,
#define X(name, plane) RN_OP_##name,
    RN_OPERATIONS(X)
#undef X
        RN_OP_COUNT
} rn_op_t;

/* "PutRecord" -> RN_OP_PutRecord; RN_OP_NONE when unknown. len-delimited. */
rn_op_t rn_op_lookup(const char *name, size_t len);
const char *rn_op_name(rn_op_t op);

#endif
