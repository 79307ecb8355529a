/* ops.h: every Kinesis operation, listed once.
 * X(Name, plane, Action, resource)
 *  - plane is 'D' (data) or 'C' (control);
 *  - Action is the IAM action the operation is authorized as ("kinesis:"
 *    Action), and resource says which ARN IAM evaluates it on (rn_op_res_t),
 *    following the Service Authorization Reference, "Actions, resources, and
 *    condition keys for Amazon Kinesis Data Streams" (docs/policies.md has
 *    the table and what was inferred).
 * Dispatch, request decoding and the not-supported answers are all driven
 * by this list; handlers are named rn_op_<Name>. A use that needs only some
 * columns declares the rest anyway: #define X(name, plane, action, res). */
#ifndef RN_OPS_H
#define RN_OPS_H

#include <stddef.h>

#define RN_OPERATIONS(X)                                                                           \
    X(AddTagsToStream, 'C', AddTagsToStream, STREAM)                                               \
    X(CreateStream, 'C', CreateStream, STREAM)                                                     \
    X(DecreaseStreamRetentionPeriod, 'C', DecreaseStreamRetentionPeriod, STREAM)                   \
    X(DeleteResourcePolicy, 'C', DeleteResourcePolicy, NAMED)                                      \
    X(DeleteStream, 'C', DeleteStream, STREAM)                                                     \
    X(DeregisterStreamConsumer, 'C', DeregisterStreamConsumer, CONSUMER)                           \
    X(DescribeAccountSettings, 'C', DescribeAccountSettings, ANY)                                  \
    X(DescribeLimits, 'C', DescribeLimits, ANY)                                                    \
    X(DescribeStream, 'C', DescribeStream, STREAM)                                                 \
    X(DescribeStreamConsumer, 'C', DescribeStreamConsumer, CONSUMER)                               \
    X(DescribeStreamSummary, 'C', DescribeStreamSummary, STREAM)                                   \
    X(DisableEnhancedMonitoring, 'C', DisableEnhancedMonitoring, STREAM)                           \
    X(EnableEnhancedMonitoring, 'C', EnableEnhancedMonitoring, STREAM)                             \
    X(GetRecords, 'D', GetRecords, STREAM)                                                         \
    X(GetResourcePolicy, 'C', GetResourcePolicy, NAMED)                                            \
    X(GetShardIterator, 'D', GetShardIterator, STREAM)                                             \
    X(IncreaseStreamRetentionPeriod, 'C', IncreaseStreamRetentionPeriod, STREAM)                   \
    X(ListShards, 'C', ListShards, STREAM)                                                         \
    X(ListStreamConsumers, 'C', ListStreamConsumers, STREAM)                                       \
    X(ListStreams, 'C', ListStreams, ANY)                                                          \
    X(ListTagsForResource, 'C', ListTagsForResource, NAMED)                                        \
    X(ListTagsForStream, 'C', ListTagsForStream, STREAM)                                           \
    X(MergeShards, 'C', MergeShards, STREAM)                                                       \
    X(PutRecord, 'D', PutRecord, STREAM)                                                           \
    X(PutRecords, 'D', PutRecords, STREAM)                                                         \
    X(PutResourcePolicy, 'C', PutResourcePolicy, NAMED)                                            \
    X(RegisterStreamConsumer, 'C', RegisterStreamConsumer, STREAM)                                 \
    X(RemoveTagsFromStream, 'C', RemoveTagsFromStream, STREAM)                                     \
    X(SplitShard, 'C', SplitShard, STREAM)                                                         \
    X(StartStreamEncryption, 'C', StartStreamEncryption, STREAM)                                   \
    X(StopStreamEncryption, 'C', StopStreamEncryption, STREAM)                                     \
    X(SubscribeToShard, 'D', SubscribeToShard, CONSUMER)                                           \
    X(TagResource, 'C', TagResource, NAMED)                                                        \
    X(UntagResource, 'C', UntagResource, NAMED)                                                    \
    X(UpdateAccountSettings, 'C', UpdateAccountSettings, ANY)                                      \
    X(UpdateMaxRecordSize, 'C', UpdateMaxRecordSize, STREAM)                                       \
    X(UpdateShardCount, 'C', UpdateShardCount, STREAM)                                             \
    X(UpdateStreamMode, 'C', UpdateStreamMode, STREAM)                                             \
    X(UpdateStreamWarmThroughput, 'C', UpdateStreamWarmThroughput, STREAM)                         \
    X(UpdateStreamRecordDistributionStrategy, 'C', UpdateStreamRecordDistributionStrategy, STREAM) \
    X(CreateChannel, 'C', CreateChannel, CHANNEL)                                                  \
    X(DeleteChannel, 'C', DeleteChannel, CHANNEL)                                                  \
    X(DescribeChannel, 'C', DescribeChannel, CHANNEL)                                              \
    X(ListChannels, 'C', ListChannels, ANY)                                                        \
    X(UpdateChannel, 'C', UpdateChannel, CHANNEL)                                                 \
    X(CreateQueue, 'C', CreateQueue, QUEUE)                                                       \
    X(DeleteQueue, 'C', DeleteQueue, QUEUE)                                                       \
    X(DescribeQueue, 'C', DescribeQueue, QUEUE)                                                   \
    X(ListQueues, 'C', ListQueues, ANY)                                                           \
    X(UpdateQueue, 'C', UpdateQueue, QUEUE)                                                       \
    X(ReceiveQueueRecords, 'D', ReceiveQueueRecords, QUEUE)                                       \
    X(AcknowledgeQueueRecords, 'D', AcknowledgeQueueRecords, QUEUE)                               \
    X(UpdateQueueRecordsVisibility, 'D', UpdateQueueRecordsVisibility, QUEUE)                     \
    X(ReceiveDeadLetterQueueRecords, 'D', ReceiveDeadLetterQueueRecords, QUEUE)                   \
    X(AcknowledgeDeadLetterQueueRecords, 'D', AcknowledgeDeadLetterQueueRecords, QUEUE)           \
    X(RestoreDeadLetterQueueRecords, 'D', RestoreDeadLetterQueueRecords, QUEUE)                   \
    X(UpdateDeadLetterQueueRecordsVisibility, 'D', UpdateDeadLetterQueueRecordsVisibility, QUEUE)

/* The ARN an operation's IAM action is evaluated on. */
typedef enum rn_op_res {
    RN_OP_RES_ANY = 0,  /* no resource-level permission: Resource "*" (ListStreams, DescribeLimits) */
    RN_OP_RES_STREAM,   /* the stream's ARN (StreamName/StreamARN; CreateStream: the stream to be) */
    RN_OP_RES_CONSUMER, /* the consumer's ARN (ConsumerARN, or StreamARN + ConsumerName) */
    RN_OP_RES_NAMED,    /* the resource ResourceARN names: a stream or a consumer (TagResource & co.
                         * also take a channel) -- tags and resource policies */
    RN_OP_RES_CHANNEL,  /* the channel's ARN (ChannelARN; CreateChannel: the channel to be) */
    RN_OP_RES_QUEUE,    /* the queue's ARN (QueueARN; CreateQueue: the queue to be) */
} rn_op_res_t;

typedef enum rn_op {
    RN_OP_NONE = -1,
#define X(name, plane, action, res) RN_OP_##name,
    RN_OPERATIONS(X)
#undef X
        RN_OP_COUNT
} rn_op_t;

/* "PutRecord" -> RN_OP_PutRecord; RN_OP_NONE when unknown. len-delimited. */
rn_op_t rn_op_lookup(const char *name, size_t len);
const char *rn_op_name(rn_op_t op);
/* "kinesis:PutRecord"; "" when op is out of range. */
const char *rn_op_iam_action(rn_op_t op);
/* RN_OP_RES_ANY when op is out of range. */
rn_op_res_t rn_op_iam_resource(rn_op_t op);
/* "*", "stream", "consumer", "stream or consumer", "channel", "queue". */
const char *rn_op_res_name(rn_op_res_t r);

#endif
