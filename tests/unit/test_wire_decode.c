/* test_wire_decode.c: rn_wire_decode against AWS's exact answers.
 * For every operation: a minimal valid body, the aggregated message for
 * missing required members, a type-coercion message; then the AWS examples
 * of KINESIS_CONTRACT §2.2/§2.3 and the edge cases (nulls, floats, unknown
 * members, empty/non-object/deep bodies), and the encoders. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wire/scan.h"
#include "wire/shapes_int.h"
#include "wire/wire.h"

#define SARN "arn:aws:kinesis:us-east-1:123456789012:stream/s"
#define CARN "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1"
#define QARN "{\"QueueARN\":\"arn:aws:kinesis:us-east-1:123456789012:queue/q\""
#define NULLV(p) "Value null at '" p "' failed to satisfy constraint: Member must not be null"
#define STR_NUM "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"
#define STR_INT "class java.lang.String can not be converted to an Integer"

static rn_error_t e;

/* Decode body for op; returns the tree (or NULL) and leaves the error in e. */
static json_t *dec(rn_op_t op, const char *body)
{
    json_t *out = NULL;
    rn_error_clear(&e);
    if (rn_wire_decode(op, RN_PROTO_JSON, (const uint8_t *)body, strlen(body), &out, &e) != 0)
        return NULL;
    return out;
}

#define EXPECT_OK(op, body)                                                                    \
    do {                                                                                       \
        json_t *_t = dec(op, body);                                                            \
        CHECK(_t != NULL);                                                                     \
        if (!_t)                                                                               \
            fprintf(stderr, "  %s %s: %s\n", rn_op_name(op), body, e.message);                \
        json_decref(_t);                                                                       \
    } while (0)

#define EXPECT_ERR(op, body, type, msg)                                                        \
    do {                                                                                       \
        json_t *_t = dec(op, body);                                                            \
        CHECK(_t == NULL);                                                                     \
        json_decref(_t);                                                                       \
        CHECK_EQ_STR(rn_aws_error_type(e.code), type);                                         \
        if ((msg) == NULL)                                                                     \
            CHECK_EQ_INT(e.has_message, 0);                                                    \
        else                                                                                   \
            CHECK_EQ_STR(e.message, (const char *)(msg));                                      \
    } while (0)

#define EXPECT_VAL(op, body, msg) EXPECT_ERR(op, body, "ValidationException", msg)
#define EXPECT_SER(op, body, msg) EXPECT_ERR(op, body, "SerializationException", msg)

/* One row per operation. */
struct op_case {
    rn_op_t op;
    const char *minimal;    /* a valid body */
    const char *missing;    /* the message for "{}", NULL when "{}" is valid */
    const char *bad_type;   /* a body with a member of the wrong JSON type */
    const char *type_msg;   /* its SerializationException message */
};

static const struct op_case cases[] = {
    {RN_OP_AddTagsToStream, "{\"StreamName\":\"s\",\"Tags\":{\"k\":\"v\"}}",
     "1 validation error detected: " NULLV("tags"), "{\"Tags\":[]}", "Start of list found where not expected"},
    {RN_OP_CreateStream, "{\"StreamName\":\"s\",\"ShardCount\":1}",
     "1 validation error detected: " NULLV("streamName"), "{\"StreamName\":\"s\",\"ShardCount\":\"1\"}",
     STR_INT},
    {RN_OP_DecreaseStreamRetentionPeriod, "{\"StreamName\":\"s\",\"RetentionPeriodHours\":24}",
     "1 validation error detected: " NULLV("retentionPeriodHours"),
     "{\"RetentionPeriodHours\":true}", "class java.lang.Boolean can not be converted to an Integer"},
    {RN_OP_DeleteResourcePolicy, "{\"ResourceARN\":\"" SARN "\"}",
     "1 validation error detected: " NULLV("resourceARN"), "{\"ResourceARN\":{}}",
     "Start of structure or map found where not expected."},
    {RN_OP_DeleteStream, "{\"StreamName\":\"s\",\"EnforceConsumerDeletion\":true}", NULL,
     "{\"EnforceConsumerDeletion\":\"maybe\"}", "'MAYBE' can not be converted to an Boolean"},
    {RN_OP_DeregisterStreamConsumer, "{\"ConsumerARN\":\"" CARN "\"}", NULL, "{\"ConsumerName\":[\"c\"]}",
     "Start of list found where not expected"},
    {RN_OP_DescribeAccountSettings, "{}", NULL, NULL, NULL},
    {RN_OP_DescribeLimits, "{}", NULL, NULL, NULL},
    {RN_OP_DescribeStream, "{\"StreamName\":\"s\",\"Limit\":10}", NULL, "{\"Limit\":\"10\"}", STR_INT},
    {RN_OP_DescribeStreamConsumer, "{\"StreamARN\":\"" SARN "\",\"ConsumerName\":\"c\"}", NULL,
     "{\"ConsumerARN\":1}", STR_NUM},
    {RN_OP_DescribeStreamSummary, "{\"StreamARN\":\"" SARN "\"}", NULL, "{\"StreamName\":false}",
     "class java.lang.Boolean can not be converted to an String"},
    {RN_OP_DisableEnhancedMonitoring, "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[\"ALL\"]}",
     "1 validation error detected: " NULLV("shardLevelMetrics"), "{\"ShardLevelMetrics\":\"ALL\"}",
     "Expected list or null"},
    {RN_OP_EnableEnhancedMonitoring, "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[\"IncomingBytes\"]}",
     "1 validation error detected: " NULLV("shardLevelMetrics"), "{\"ShardLevelMetrics\":[1]}", STR_NUM},
    {RN_OP_GetRecords, "{\"ShardIterator\":\"AAAA\",\"Limit\":100,\"DryRun\":false}",
     "1 validation error detected: " NULLV("shardIterator"), "{\"ShardIterator\":\"x\",\"Limit\":[]}",
     "Start of list found where not expected"},
    {RN_OP_GetResourcePolicy, "{\"ResourceARN\":\"" SARN "\"}",
     "1 validation error detected: " NULLV("resourceARN"), "{\"ResourceARN\":2.5}", STR_NUM},
    {RN_OP_GetShardIterator,
     "{\"StreamName\":\"s\",\"ShardId\":\"shardId-000000000000\",\"ShardIteratorType\":\"TRIM_HORIZON\"}",
     "2 validation errors detected: " NULLV("shardId") "; " NULLV("shardIteratorType"),
     "{\"ShardId\":\"x\",\"ShardIteratorType\":\"AT_TIMESTAMP\",\"Timestamp\":\"2020-01-01\"}",
     "class java.lang.String can not be converted to milliseconds since epoch"},
    {RN_OP_IncreaseStreamRetentionPeriod, "{\"StreamARN\":\"" SARN "\",\"RetentionPeriodHours\":48}",
     "1 validation error detected: " NULLV("retentionPeriodHours"), "{\"RetentionPeriodHours\":\"48\"}",
     STR_INT},
    {RN_OP_ListShards, "{\"StreamName\":\"s\",\"ShardFilter\":{\"Type\":\"AT_LATEST\"}}", NULL,
     "{\"ShardFilter\":\"AT_LATEST\"}", "Expected null"},
    {RN_OP_ListStreamConsumers, "{\"StreamARN\":\"" SARN "\"}",
     "1 validation error detected: " NULLV("streamARN"), "{\"StreamARN\":\"" SARN "\",\"MaxResults\":\"5\"}",
     STR_INT},
    {RN_OP_ListStreams, "{\"Limit\":5,\"ExclusiveStartStreamName\":\"a\"}", NULL, "{\"NextToken\":7}",
     STR_NUM},
    {RN_OP_ListTagsForResource, "{\"ResourceARN\":\"" SARN "\"}",
     "1 validation error detected: " NULLV("resourceARN"), "{\"ResourceARN\":true}",
     "class java.lang.Boolean can not be converted to an String"},
    {RN_OP_ListTagsForStream, "{\"StreamName\":\"s\",\"Limit\":50}", NULL, "{\"Limit\":{}}",
     "Start of structure or map found where not expected."},
    {RN_OP_MergeShards,
     "{\"StreamName\":\"s\",\"ShardToMerge\":\"shardId-0\",\"AdjacentShardToMerge\":\"shardId-1\"}",
     "2 validation errors detected: " NULLV("shardToMerge") "; " NULLV("adjacentShardToMerge"),
     "{\"ShardToMerge\":0}", STR_NUM},
    {RN_OP_PutRecord, "{\"StreamName\":\"s\",\"Data\":\"AAAA\",\"PartitionKey\":\"k\"}",
     "1 validation error detected: " NULLV("data"), "{\"Data\":true}",
     "class java.lang.Boolean can not be converted to a Blob"},
    {RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"AAAA\",\"PartitionKey\":\"k\"}]}",
     "1 validation error detected: " NULLV("records"), "{\"Records\":{}}",
     "Start of structure or map found where not expected."},
    {RN_OP_PutResourcePolicy, "{\"ResourceARN\":\"" SARN "\",\"Policy\":\"{}\"}",
     "2 validation errors detected: " NULLV("resourceARN") "; " NULLV("policy"), "{\"Policy\":{}}",
     "Start of structure or map found where not expected."},
    {RN_OP_RegisterStreamConsumer, "{\"StreamARN\":\"" SARN "\",\"ConsumerName\":\"c\"}",
     "2 validation errors detected: " NULLV("streamARN") "; " NULLV("consumerName"),
     "{\"Tags\":\"k=v\"}", "Expected map or null"},
    {RN_OP_RemoveTagsFromStream, "{\"StreamName\":\"s\",\"TagKeys\":[\"k\"]}",
     "1 validation error detected: " NULLV("tagKeys"), "{\"TagKeys\":\"k\"}", "Expected list or null"},
    {RN_OP_SplitShard,
     "{\"StreamName\":\"s\",\"ShardToSplit\":\"shardId-0\",\"NewStartingHashKey\":\"170141183460469231731687303715884105728\"}",
     "2 validation errors detected: " NULLV("shardToSplit") "; " NULLV("newStartingHashKey"),
     "{\"NewStartingHashKey\":1}", STR_NUM},
    {RN_OP_StartStreamEncryption, "{\"StreamName\":\"s\",\"EncryptionType\":\"KMS\",\"KeyId\":\"alias/k\"}",
     "2 validation errors detected: " NULLV("encryptionType") "; " NULLV("keyId"), "{\"KeyId\":[]}",
     "Start of list found where not expected"},
    {RN_OP_StopStreamEncryption, "{\"StreamName\":\"s\",\"EncryptionType\":\"KMS\",\"KeyId\":\"alias/k\"}",
     "2 validation errors detected: " NULLV("encryptionType") "; " NULLV("keyId"),
     "{\"EncryptionType\":false}", "class java.lang.Boolean can not be converted to an String"},
    {RN_OP_SubscribeToShard,
     "{\"ConsumerARN\":\"" CARN "\",\"ShardId\":\"shardId-0\",\"StartingPosition\":{\"Type\":\"LATEST\"}}",
     "3 validation errors detected: " NULLV("consumerARN") "; " NULLV("shardId") "; " NULLV("startingPosition"),
     "{\"StartingPosition\":{\"Type\":\"AT_TIMESTAMP\",\"Timestamp\":false}}",
     "class java.lang.Boolean can not be converted to milliseconds since epoch"},
    {RN_OP_TagResource, "{\"ResourceARN\":\"" SARN "\",\"Tags\":{\"k\":\"\"}}",
     "2 validation errors detected: " NULLV("tags") "; " NULLV("resourceARN"), "{\"Tags\":{\"k\":1}}",
     STR_NUM},
    {RN_OP_UntagResource, "{\"ResourceARN\":\"" SARN "\",\"TagKeys\":[\"k\"]}",
     "2 validation errors detected: " NULLV("tagKeys") "; " NULLV("resourceARN"), "{\"TagKeys\":[true]}",
     "class java.lang.Boolean can not be converted to an String"},
    {RN_OP_UpdateAccountSettings, "{\"MinimumThroughputBillingCommitment\":{\"Status\":\"ENABLED\"}}",
     "1 validation error detected: " NULLV("minimumThroughputBillingCommitment"),
     "{\"MinimumThroughputBillingCommitment\":[]}", "Start of list found where not expected"},
    {RN_OP_UpdateMaxRecordSize, "{\"StreamARN\":\"" SARN "\",\"MaxRecordSizeInKiB\":1024}",
     "1 validation error detected: " NULLV("maxRecordSizeInKiB"), "{\"MaxRecordSizeInKiB\":\"1024\"}",
     STR_INT},
    {RN_OP_UpdateShardCount, "{\"StreamName\":\"s\",\"TargetShardCount\":2,\"ScalingType\":\"UNIFORM_SCALING\"}",
     "2 validation errors detected: " NULLV("targetShardCount") "; " NULLV("scalingType"),
     "{\"TargetShardCount\":\"2\"}", STR_INT},
    {RN_OP_UpdateStreamMode, "{\"StreamARN\":\"" SARN "\",\"StreamModeDetails\":{\"StreamMode\":\"ON_DEMAND\"}}",
     "2 validation errors detected: " NULLV("streamARN") "; " NULLV("streamModeDetails"),
     "{\"StreamModeDetails\":{\"StreamMode\":1}}", STR_NUM},
    {RN_OP_UpdateStreamWarmThroughput, "{\"StreamName\":\"s\",\"WarmThroughputMiBps\":0}",
     "1 validation error detected: " NULLV("warmThroughputMiBps"), "{\"WarmThroughputMiBps\":\"0\"}",
     STR_INT},
    {RN_OP_UpdateStreamRecordDistributionStrategy,
     "{\"StreamARN\":\"" SARN "\",\"RecordDistributionStrategy\":\"AUTO\"}",
     "2 validation errors detected: " NULLV("streamARN") "; " NULLV("recordDistributionStrategy"),
     "{\"RecordDistributionStrategy\":true}", "class java.lang.Boolean can not be converted to an String"},
    {RN_OP_CreateChannel,
     "{\"ChannelName\":\"c\",\"ServiceExecutionRoleARN\":\"arn:aws:iam::123456789012:role/r\","
     "\"StreamConfigurationList\":[{\"StreamARN\":\"" SARN "\",\"RecordConfiguration\":{\"RecordFormatType\":\"JSON\"}}]}",
     "3 validation errors detected: " NULLV("channelName") "; " NULLV("serviceExecutionRoleARN") "; "
     NULLV("streamConfigurationList"),
     "{\"StreamConfigurationList\":{}}", "Start of structure or map found where not expected."},
    {RN_OP_DeleteChannel, "{\"ChannelARN\":\"arn:aws:kinesis:us-east-1:123456789012:channel/c\"}", "1 validation error detected: " NULLV("channelARN"),
     "{\"ChannelARN\":5}", STR_NUM},
    {RN_OP_DescribeChannel, "{\"ChannelARN\":\"arn:aws:kinesis:us-east-1:123456789012:channel/c\"}", "1 validation error detected: " NULLV("channelARN"),
     "{\"ChannelARN\":[]}", "Start of list found where not expected"},
    {RN_OP_ListChannels, "{\"MaxResults\":10}", NULL, "{\"MaxResults\":\"10\"}", STR_INT},
    {RN_OP_UpdateChannel, "{\"ChannelARN\":\"arn:aws:kinesis:us-east-1:123456789012:channel/c\"}", "1 validation error detected: " NULLV("channelARN"),
     "{\"ChannelARN\":\"arn:aws:kinesis:us-east-1:123456789012:channel/c\",\"LoggingConfiguration\":7}", "Expected null"},
    {RN_OP_CreateQueue, "{\"QueueName\":\"q\",\"StreamConfigurationList\":[{\"StreamARN\":\"" SARN "\"}]}",
     "2 validation errors detected: " NULLV("queueName") "; " NULLV("streamConfigurationList"),
     "{\"QueueName\":1}", STR_NUM},
    {RN_OP_DeleteQueue, QARN "}", "1 validation error detected: " NULLV("queueARN"), "{\"QueueARN\":5}", STR_NUM},
    {RN_OP_DescribeQueue, QARN "}", "1 validation error detected: " NULLV("queueARN"), "{\"QueueARN\":[]}",
     "Start of list found where not expected"},
    {RN_OP_ListQueues, "{\"MaxResults\":10}", NULL, "{\"MaxResults\":\"10\"}", STR_INT},
    {RN_OP_UpdateQueue, QARN ",\"QueueAttributes\":{\"VisibilityTimeoutSeconds\":5}}",
     "2 validation errors detected: " NULLV("queueARN") "; " NULLV("queueAttributes"), "{\"QueueAttributes\":[]}",
     "Start of list found where not expected"},
    {RN_OP_ReceiveQueueRecords, QARN "}", "1 validation error detected: " NULLV("queueARN"),
     QARN ",\"Limit\":\"1\"}", STR_INT},
    {RN_OP_AcknowledgeQueueRecords, QARN ",\"Entries\":[{\"ReceiptHandle\":\"h\"}]}",
     "2 validation errors detected: " NULLV("queueARN") "; " NULLV("entries"), "{\"Entries\":{}}",
     "Start of structure or map found where not expected."},
    {RN_OP_UpdateQueueRecordsVisibility, QARN ",\"Entries\":[{\"ReceiptHandle\":\"h\",\"VisibilityTimeoutSeconds\":0}]}",
     "2 validation errors detected: " NULLV("queueARN") "; " NULLV("entries"), "{\"QueueARN\":true}",
     "class java.lang.Boolean can not be converted to an String"},
    {RN_OP_ReceiveDeadLetterQueueRecords, QARN "}", "1 validation error detected: " NULLV("queueARN"),
     QARN ",\"WaitTimeSeconds\":\"1\"}", STR_INT},
    {RN_OP_AcknowledgeDeadLetterQueueRecords, QARN ",\"Entries\":[{\"ReceiptHandle\":\"h\"}]}",
     "2 validation errors detected: " NULLV("queueARN") "; " NULLV("entries"), "{\"QueueARN\":5}", STR_NUM},
    {RN_OP_RestoreDeadLetterQueueRecords, QARN ",\"Entries\":[{\"ReceiptHandle\":\"h\"}]}",
     "2 validation errors detected: " NULLV("queueARN") "; " NULLV("entries"), "{\"Entries\":[5]}",
     "Expected null"},
    {RN_OP_UpdateDeadLetterQueueRecordsVisibility,
     QARN ",\"Entries\":[{\"ReceiptHandle\":\"h\",\"VisibilityTimeoutSeconds\":0}]}",
     "2 validation errors detected: " NULLV("queueARN") "; " NULLV("entries"), "{\"QueueARN\":[]}",
     "Start of list found where not expected"},
};

static void test_every_operation(void)
{
    int seen[RN_OP_COUNT] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct op_case *c = &cases[i];
        seen[c->op]++;
        EXPECT_OK(c->op, c->minimal);
        if (c->missing)
            EXPECT_VAL(c->op, "{}", c->missing);
        else
            EXPECT_OK(c->op, "{}");
        if (c->bad_type) {
            EXPECT_SER(c->op, c->bad_type, c->type_msg);
            CHECK_EQ_STR(rn_aws_error_message_key(e.code), "Message"); /* a wrong type */
        }
        /* unknown members are ignored, whatever their type */
        EXPECT_OK(c->op, c->minimal[1] == '}' ? "{\"Foo\":[1,{\"a\":null}]}" : c->minimal);
        /* an empty body is a bare SerializationException */
        EXPECT_SER(c->op, "", NULL);
    }
    for (int op = 0; op < RN_OP_COUNT; op++) {
        CHECK_EQ_INT(seen[op], 1);
        if (seen[op] != 1)
            fprintf(stderr, "  no case for %s\n", rn_op_name((rn_op_t)op));
    }
}

/* PutRecords with n records of the given entry. */
static char *put_records(int n, const char *entry)
{
    size_t el = strlen(entry);
    char *b = malloc(64 + (size_t)n * (el + 1));
    size_t p = 0;
    p += (size_t)snprintf(b, 64, "{\"StreamName\":\"s\",\"Records\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            b[p++] = ',';
        memcpy(b + p, entry, el);
        p += el;
    }
    memcpy(b + p, "]}", 3);
    return b;
}

static void test_aws_examples(void)
{
    char *b = put_records(501, "{\"Data\":\"AAAA\",\"PartitionKey\":\"k\"}");
    EXPECT_VAL(RN_OP_PutRecords, b,
               "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must "
               "have length less than or equal to 500");
    free(b);
    b = put_records(500, "{\"Data\":\"AAAA\",\"PartitionKey\":\"k\"}");
    EXPECT_OK(RN_OP_PutRecords, b);
    free(b);
    EXPECT_VAL(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[]}",
               "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must "
               "have length greater than or equal to 1");

    EXPECT_VAL(RN_OP_CreateStream, "{\"StreamName\":\"a b\",\"ShardCount\":0}",
               "2 validation errors detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member "
               "must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '0' at 'shardCount' failed "
               "to satisfy constraint: Member must have value greater than or equal to 1");
    EXPECT_VAL(RN_OP_GetShardIterator,
               "{\"StreamName\":\"s\",\"ShardId\":\"shardId-0\",\"ShardIteratorType\":\"FOO\"}",
               "1 validation error detected: Value 'FOO' at 'shardIteratorType' failed to satisfy constraint: "
               "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, "
               "AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
    EXPECT_VAL(RN_OP_SplitShard,
               "{\"StreamName\":\"s\",\"ShardToSplit\":\"shardId-0\",\"NewStartingHashKey\":\"sth\"}",
               "1 validation error detected: Value 'sth' at 'newStartingHashKey' failed to satisfy "
               "constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
    EXPECT_VAL(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":10001}",
               "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member "
               "must have value less than or equal to 10000");
    EXPECT_VAL(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":0}",
               "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member "
               "must have value greater than or equal to 1");
    /* an empty name fails the pattern and the minimum length, in that order */
    EXPECT_VAL(RN_OP_DeleteStream, "{\"StreamName\":\"\"}",
               "2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member "
               "must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '' at 'streamName' failed to "
               "satisfy constraint: Member must have length greater than or equal to 1");
    /* nested paths */
    EXPECT_VAL(RN_OP_ListShards, "{\"StreamName\":\"s\",\"ShardFilter\":{\"Type\":\"X\"}}",
               "1 validation error detected: Value 'X' at 'shardFilter.type' failed to satisfy constraint: "
               "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, "
               "AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]");
    EXPECT_VAL(RN_OP_ListShards, "{\"ShardFilter\":{}}",
               "1 validation error detected: " NULLV("shardFilter.type"));
    EXPECT_VAL(RN_OP_PutRecords,
               "{\"Records\":[{\"Data\":\"AAAA\",\"PartitionKey\":\"k\"},{\"PartitionKey\":\"\"}]}",
               "2 validation errors detected: " NULLV("records.2.member.data")
               "; Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have "
               "length greater than or equal to 1");
    EXPECT_VAL(RN_OP_PutRecords, "{\"Records\":[null]}",
               "1 validation error detected: " NULLV("records.1.member"));
    EXPECT_VAL(RN_OP_PutRecords, "{\"Records\":[{\"Data\":\"AAAA\",\"ExplicitHashKey\":\"01\"}]}",
               "1 validation error detected: Value '01' at 'records.1.member.explicitHashKey' failed to "
               "satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
    /* PartitionKey is optional in the current model (JS SDK), required in botocore */
    EXPECT_OK(RN_OP_PutRecord, "{\"StreamName\":\"s\",\"Data\":\"\"}");
    /* blob length is the decoded length; the value is not shown */
    {
        size_t n = 10485761, enc = (n + 2) / 3 * 4;
        char *big = malloc(enc + 64);
        size_t p = (size_t)snprintf(big, 64, "{\"StreamName\":\"s\",\"Data\":\"");
        memset(big + p, 'A', enc);
        p += enc;
        memcpy(big + p - 1, "=\"}", 4); /* 10485761 bytes decoded */
        EXPECT_VAL(RN_OP_PutRecord, big,
                   "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have "
                   "length less than or equal to 10485760");
        memcpy(big + p - 2, "==\"}", 5); /* one byte less: 10485760 */
        EXPECT_OK(RN_OP_PutRecord, big);
        free(big);
    }
    /* UTF-16 length: 256 x U+00E9 is 256 units (512 bytes): fine; 257 is not */
    {
        char body[2048];
        size_t p = (size_t)snprintf(body, sizeof body, "{\"Data\":\"\",\"PartitionKey\":\"");
        for (int i = 0; i < 256; i++) {
            body[p++] = (char)0xC3;
            body[p++] = (char)0xA9;
        }
        memcpy(body + p, "\"}", 3);
        EXPECT_OK(RN_OP_PutRecord, body);
        memcpy(body + p, "x\"}", 4);
        json_t *t = dec(RN_OP_PutRecord, body);
        CHECK(t == NULL);
        CHECK(strstr(e.message, "Member must have length less than or equal to 256") != NULL);
    }
    /* lists of scalars and maps report once, at the collection */
    EXPECT_VAL(RN_OP_EnableEnhancedMonitoring, "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[\"ALL\",\"x\"]}",
               "1 validation error detected: Value at 'shardLevelMetrics' failed to satisfy constraint: "
               "Member must satisfy constraint: [Member must satisfy enum value set: [IncomingBytes, "
               "IncomingRecords, OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, "
               "ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]]");
    EXPECT_VAL(RN_OP_AddTagsToStream, "{\"StreamName\":\"s\",\"Tags\":{\"\":\"v\"}}",
               "1 validation error detected: Value at 'tags' failed to satisfy constraint: Map keys must "
               "satisfy constraint: [Member must have length less than or equal to 128, Member must have "
               "length greater than or equal to 1]");
    EXPECT_VAL(RN_OP_AddTagsToStream, "{\"StreamName\":\"s\",\"Tags\":{}}",
               "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have "
               "length greater than or equal to 1");
    EXPECT_VAL(RN_OP_RemoveTagsFromStream, "{\"StreamName\":\"s\",\"TagKeys\":[\"\"]}",
               "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must "
               "satisfy constraint: [Member must have length less than or equal to 128, Member must have "
               "length greater than or equal to 1]");
    /* ARNs: the regex patterns */
    EXPECT_OK(RN_OP_ListStreamConsumers, "{\"StreamARN\":\"arn:aws-cn:kinesis:cn-north-1:123456789012:stream/x\"}");
    EXPECT_VAL(RN_OP_ListStreamConsumers, "{\"StreamARN\":\"arn:aws:kinesis:us-east-1:12345:stream/x\"}",
               "1 validation error detected: Value 'arn:aws:kinesis:us-east-1:12345:stream/x' at 'streamARN' "
               "failed to satisfy constraint: Member must satisfy regular expression pattern: "
               "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
    EXPECT_VAL(RN_OP_ListStreamConsumers, "{\"StreamARN\":\"" SARN " x\"}",
               "1 validation error detected: Value '" SARN " x' at 'streamARN' failed to satisfy constraint: "
               "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
    EXPECT_VAL(RN_OP_DescribeStreamConsumer, "{\"ConsumerARN\":\"" SARN "/consumer/c\"}",
               "1 validation error detected: Value '" SARN "/consumer/c' at 'consumerARN' failed to satisfy "
               "constraint: Member must satisfy regular expression pattern: "
               "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+");
    EXPECT_OK(RN_OP_DeleteStream, "{\"StreamName\":\"s\",\"StreamId\":\"abcdefghij0123456789-a1b\"}");
    EXPECT_VAL(RN_OP_DeleteStream, "{\"StreamId\":\"ABCDEFGHIJ0123456789-a1b\"}",
               "1 validation error detected: Value 'ABCDEFGHIJ0123456789-a1b' at 'streamId' failed to satisfy "
               "constraint: Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}");
    /* a NUL inside a value is matched, not a terminator */
    EXPECT_VAL(RN_OP_DeleteStream, "{\"StreamName\":\"a\\u0000b\"}",
               "1 validation error detected: Value 'a");
    EXPECT_OK(RN_OP_ListStreamConsumers, "{\"StreamARN\":\"" SARN "\\u0000\"}");
    /* Java's '.' does not match a line terminator */
    EXPECT_VAL(RN_OP_DeleteResourcePolicy, "{\"ResourceARN\":\"arn:aws:kinesis:us\\n-east-1:123456789012:stream/s\"}",
               "1 validation error detected: Value 'arn:aws:kinesis:us\n-east-1:123456789012:stream/s' at "
               "'resourceARN' failed to satisfy constraint: Member must satisfy regular expression pattern: "
               "arn:aws.*:kinesis:.*:\\d{12}:.*(stream|channel|queue)/\\S+");
}

static void test_limits_and_counts(void)
{
    /* 12 violations: the first 10 are listed, and N is the number listed */
    char *b = put_records(12, "{\"PartitionKey\":\"k\"}");
    json_t *t = dec(RN_OP_PutRecords, b);
    CHECK(t == NULL);
    CHECK(strncmp(e.message, "10 validation errors detected: " NULLV("records.1.member.data") "; ",
                  strlen("10 validation errors detected: " NULLV("records.1.member.data") "; ")) == 0);
    CHECK(strstr(e.message, "records.10.member.data") != NULL);
    CHECK(strstr(e.message, "records.11.member") == NULL);
    free(b);
    /* integers: floats floor, out-of-range values clamp to Java's int */
    t = dec(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":10000.9}");
    CHECK(t != NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(t, "Limit")), 10000);
    CHECK(json_is_integer(json_object_get(t, "Limit")));
    json_decref(t);
    EXPECT_VAL(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":0.5}",
               "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member "
               "must have value greater than or equal to 1");
    EXPECT_VAL(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":-0.5}",
               "1 validation error detected: Value '-1' at 'limit' failed to satisfy constraint: Member "
               "must have value greater than or equal to 1");
    EXPECT_VAL(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":1e300}",
               "1 validation error detected: Value '2147483647' at 'limit' failed to satisfy constraint: "
               "Member must have value less than or equal to 10000");
    EXPECT_VAL(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":99999999999}",
               "1 validation error detected: Value '2147483647' at 'limit' failed to satisfy constraint: "
               "Member must have value less than or equal to 10000");
    /* beyond long long: jansson overflows, the body is re-read with reals */
    EXPECT_VAL(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"Limit\":123456789012345678901234567890}",
               "1 validation error detected: Value '2147483647' at 'limit' failed to satisfy constraint: "
               "Member must have value less than or equal to 10000");
    t = dec(RN_OP_DescribeStream, "{\"StreamName\":\"s\",\"Limit\":2147483648}");
    CHECK(t == NULL);
    t = dec(RN_OP_UpdateShardCount,
            "{\"StreamName\":\"s\",\"TargetShardCount\":-3000000000,\"ScalingType\":\"UNIFORM_SCALING\"}");
    CHECK(t == NULL);
    CHECK(strstr(e.message, "Value '-2147483648' at 'targetShardCount'") != NULL);
    /* a float timestamp is kept as sent */
    t = dec(RN_OP_GetShardIterator, "{\"ShardId\":\"s\",\"ShardIteratorType\":\"AT_TIMESTAMP\",\"Timestamp\":1506440188.749}");
    CHECK(t != NULL && json_is_real(json_object_get(t, "Timestamp")));
    json_decref(t);
    /* null members are absent */
    EXPECT_VAL(RN_OP_CreateStream, "{\"StreamName\":null,\"ShardCount\":null}",
               "1 validation error detected: " NULLV("streamName"));
    EXPECT_OK(RN_OP_CreateStream, "{\"StreamName\":\"s\",\"ShardCount\":null,\"Tags\":null}");
    /* type errors win over constraint errors, first in document order */
    EXPECT_SER(RN_OP_CreateStream, "{\"StreamName\":\"\",\"ShardCount\":0,\"Tags\":[]}",
               "Start of list found where not expected");
    EXPECT_SER(RN_OP_CreateStream, "{\"ShardCount\":\"x\",\"StreamName\":1}", STR_INT);
    /* duplicate members: the last wins */
    EXPECT_OK(RN_OP_CreateStream, "{\"StreamName\":1,\"StreamName\":\"s\"}");
    /* Long shapes: none in current inputs; the wording is pinned in docs */
}

static void test_bodies(void)
{
    EXPECT_SER(RN_OP_ListStreams, "", NULL);
    EXPECT_SER(RN_OP_ListStreams, "[]", NULL);
    EXPECT_SER(RN_OP_ListStreams, "null", NULL);
    EXPECT_SER(RN_OP_ListStreams, "\"x\"", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{}x", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{\"a\":\"\xff\"}", NULL);
    EXPECT_OK(RN_OP_ListStreams, " {} ");
    /* deep nesting is refused by the scan (wire/scan.c) before any tree:
     * an unknown member's value nests at most RN_WIRE_FOREIGN_DEPTH levels */
    {
        size_t depth = 100000;
        char *deep = malloc(depth * 2 + 16);
        size_t p = 0;
        memcpy(deep, "{\"a\":", 5);
        p = 5;
        for (size_t i = 0; i < depth; i++)
            deep[p++] = '[';
        for (size_t i = 0; i < depth; i++)
            deep[p++] = ']';
        deep[p++] = '}';
        deep[p] = 0;
        EXPECT_SER(RN_OP_ListStreams, deep, "Start of list found where not expected");
        for (size_t i = 0; i + 5 <= depth; i += 5)
            memcpy(deep + i, "{\"a\":", 5);
        deep[depth - depth % 5] = 0; /* also truncated: the depth bound answers first */
        EXPECT_SER(RN_OP_ListStreams, deep, "Start of structure or map found where not expected.");
        free(deep);
        char ok[64];
        for (int d = RN_WIRE_FOREIGN_DEPTH; d <= RN_WIRE_FOREIGN_DEPTH + 1; d++) {
            p = 0;
            memcpy(ok, "{\"a\":", 5);
            p = 5;
            for (int i = 0; i < d; i++)
                ok[p++] = '[';
            for (int i = 0; i < d; i++)
                ok[p++] = ']';
            memcpy(ok + p, "}", 2);
            if (d == RN_WIRE_FOREIGN_DEPTH)
                EXPECT_OK(RN_OP_ListStreams, ok);
            else
                EXPECT_SER(RN_OP_ListStreams, ok, "Start of list found where not expected");
        }
        /* the same nesting in a known member of the wrong kind: its coercion message */
        EXPECT_SER(RN_OP_DescribeStream, "{\"StreamName\":[[[[[[[[[[[[]]]]]]]]]]]]}",
                   "Start of list found where not expected");
        EXPECT_SER(RN_OP_PutRecords, "{\"Records\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}}",
                   "Start of structure or map found where not expected.");
        EXPECT_SER(RN_OP_AddTagsToStream, "{\"StreamName\":\"s\",\"Tags\":[[[[[[[[[[]]]]]]]]]]}",
                   "Start of list found where not expected");
        /* within the bound it is the coercion step's answer, as before */
        EXPECT_SER(RN_OP_PutRecords, "{\"Records\":{\"a\":{}}}", "Start of structure or map found where not expected.");
    }
    /* CBOR: an empty indefinite map is {} (the rest: test_wire_cbor.c) */
    {
        json_t *out = NULL;
        const uint8_t cbor[] = {0xBF, 0xFF};
        CHECK_EQ_INT(rn_wire_decode(RN_OP_ListStreams, RN_PROTO_CBOR, cbor, 2, &out, &e), 0);
        CHECK(json_is_object(out) && json_object_size(out) == 0);
        json_decref(out);
    }
    /* blob coercion messages */
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"abc\"}",
               "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes "
               "but found: 3");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"ab!d\"}",
               "'ab!d' can not be converted to a Blob: Invalid Base64 character: '!'");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"a=bc\"}",
               "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"ab\xc3\xa9=\"}",
               "'ab\xc3\xa9=' can not be converted to a Blob: Invalid Base64 character: '\xc3\xa9'");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"\xc3\xa9\"}",
               "'\xc3\xa9' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 "
               "bytes but found: 1");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"AB==\"}",
               "'AB==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"ABC=\"}",
               "'ABC=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":\"A===\"}",
               "'A===' can not be converted to a Blob: Invalid last non-pad Base64 character dectected");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":1}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":[]}", "Start of list found where not expected");
    EXPECT_SER(RN_OP_PutRecord, "{\"Data\":{}}", "Start of structure or map found where not expected.");
    EXPECT_SER(RN_OP_PutRecords, "{\"Records\":[{\"Data\":\"AQ=\"}]}",
               "'AQ=' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes "
               "but found: 3");
    EXPECT_SER(RN_OP_PutRecords, "{\"Records\":[\"x\"]}", "Expected null");
    EXPECT_SER(RN_OP_GetRecords, "{\"ShardIterator\":\"x\",\"DryRun\":1}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean");
    EXPECT_SER(RN_OP_ListShards, "{\"StreamCreationTimestamp\":[1]}", "Start of list found where not expected");
    EXPECT_SER(RN_OP_ListShards, "{\"StreamCreationTimestamp\":{}}",
               "Start of structure or map found where not expected.");
    EXPECT_OK(RN_OP_ListShards, "{\"StreamCreationTimestamp\":1506440188}");
}

/* A growable body for the bounds tests. */
typedef struct big {
    char *p;
    size_t n, cap;
} big_t;

static void big_add(big_t *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
}

static void big_rep(big_t *b, const char *s, size_t times, const char *sep)
{
    for (size_t i = 0; i < times; i++) {
        if (i && sep)
            big_add(b, sep);
        big_add(b, s);
    }
}

/* The scan's bounds (wire/scan.h): counts, unknown members, values. */
static void test_bounds(void)
{
    big_t b = {0};
    /* a top-level array is refused at once, with the parser's bare answer */
    big_add(&b, "[");
    big_rep(&b, "{}", 1000000, ",");
    big_add(&b, "]");
    EXPECT_SER(RN_OP_ListStreams, b.p, NULL);
    /* lists: the model's ValidationException up to the bound, then the scan's */
    const char *tooMany = "1 validation error detected: Value at 'records' failed to satisfy constraint: Member "
                          "must have length less than or equal to 500";
    int records_list = -1;
    for (int i = 0; i < rn_wire_shape_count; i++)
        if (strcmp(rn_wire_shapes[i].name, "PutRecordsRequestEntryList") == 0)
            records_list = i;
    CHECK(records_list >= 0);
    CHECK_EQ_INT(rn_wire_count_bound(&rn_wire_shapes[records_list]), 2000);
    size_t counts[] = {501, 2000, 2001, 100000};
    for (size_t i = 0; i < 4; i++) {
        b.n = 0;
        big_add(&b, "{\"StreamName\":\"s\",\"Records\":[");
        big_rep(&b, "{\"Data\":\"AAAA\",\"PartitionKey\":\"k\"}", counts[i], ",");
        big_add(&b, "]}");
        if (counts[i] <= 2000)
            EXPECT_VAL(RN_OP_PutRecords, b.p, tooMany);
        else
            EXPECT_SER(RN_OP_PutRecords, b.p, "List of more than 2000 elements found where not expected");
    }
    /* a list of scalars without a large model maximum: the floor (1000) */
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[");
    big_rep(&b, "\"ALL\"", 1000, ",");
    big_add(&b, "]}");
    EXPECT_VAL(RN_OP_EnableEnhancedMonitoring, b.p,
               "1 validation error detected: Value at 'shardLevelMetrics' failed to satisfy constraint: Member "
               "must have length less than or equal to 7");
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[");
    big_rep(&b, "\"ALL\"", 1001, ",");
    big_add(&b, "]}");
    EXPECT_SER(RN_OP_EnableEnhancedMonitoring, b.p, "List of more than 1000 elements found where not expected");
    /* maps: TagMap (at most 200) may hold 1000 */
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\",\"Tags\":{");
    for (int i = 0; i < 1001; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "%s\"k%d\":\"v\"", i ? "," : "", i);
        big_add(&b, kv);
        if (i == 999) {
            big_t c = {0};
            big_add(&c, b.p);
            big_add(&c, "}}");
            json_t *t = dec(RN_OP_AddTagsToStream, c.p);
            CHECK(t == NULL && e.code == RN_AWS_VALIDATION);
            free(c.p);
        }
    }
    big_add(&b, "}}");
    EXPECT_SER(RN_OP_AddTagsToStream, b.p, "Map of more than 1000 entries found where not expected");
    /* unknown members: small ones are ignored, as before ... */
    const char *fmsg = "Unknown members of more than 4096 values or 1048576 bytes found where not expected";
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\"");
    big_rep(&b, ",\"x\":[1,2,{\"y\":null}]", 500, NULL);
    big_add(&b, "}");
    EXPECT_OK(RN_OP_DescribeStreamSummary, b.p);
    /* ... up to RN_WIRE_FOREIGN_VALUES values and keys in all */
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\",\"X\":[");
    big_rep(&b, "{}", 16u << 20 >> 2, ",");
    big_add(&b, "]}");
    EXPECT_SER(RN_OP_DescribeStreamSummary, b.p, fmsg);
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\"");
    big_rep(&b, ",\"x\":0", 2049, NULL);
    big_add(&b, "}");
    EXPECT_SER(RN_OP_DescribeStreamSummary, b.p, fmsg);
    /* ... and RN_WIRE_FOREIGN_BYTES bytes (key included) */
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\",\"X\":\"");
    big_rep(&b, "abcdefgh", (RN_WIRE_FOREIGN_BYTES >> 3) + 1, NULL);
    big_add(&b, "\"}");
    EXPECT_SER(RN_OP_DescribeStreamSummary, b.p, fmsg);
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\",\"");
    big_rep(&b, "abcdefgh", (RN_WIRE_FOREIGN_BYTES >> 3) + 1, NULL);
    big_add(&b, "\":{}}");
    EXPECT_SER(RN_OP_DescribeStreamSummary, b.p, fmsg);
    /* a known member of the wrong kind pays from the same budget, with its own message */
    b.n = 0;
    big_add(&b, "{\"StreamName\":[");
    big_rep(&b, "0", 5000, ",");
    big_add(&b, "]}");
    EXPECT_SER(RN_OP_DescribeStreamSummary, b.p, "Start of list found where not expected");
    /* the whole body: at most RN_WIRE_MAX_VALUES values and keys (duplicates too) */
    b.n = 0;
    big_add(&b, "{");
    big_rep(&b, "\"StreamName\":\"s\"", 50001, ",");
    big_add(&b, "}");
    EXPECT_SER(RN_OP_DescribeStreamSummary, b.p, "Body of more than 100000 values found where not expected");
    /* escaped member names are known members, as jansson decodes them */
    json_t *t = dec(RN_OP_DescribeStreamSummary, "{\"Stream\\u004eame\":\"s\",\"\\u00e9\":1,\"a\\\"b\":2}");
    CHECK(t != NULL && json_is_string(json_object_get(t, "StreamName")));
    json_decref(t);
    b.n = 0;
    big_add(&b, "{\"StreamName\":\"s\",\"Re\\u0063ords\":[");
    big_rep(&b, "{\"Data\":\"AAAA\",\"PartitionKey\":\"k\"}", 1500, ",");
    big_add(&b, "]}");
    EXPECT_VAL(RN_OP_PutRecords, b.p, tooMany);
    /* malformed input met first keeps the parser's bare answer */
    EXPECT_SER(RN_OP_ListStreams, "{\"a\":tru,\"b\":[[[[[[[[[[[[[[]]]]]]]]]]]]]]}", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{\"a\" 1}", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{\"a\":[1,]}", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{\"a\":\"\\\"}", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{\"a\":1,}", NULL);
    EXPECT_SER(RN_OP_ListStreams, "{\"a\":1}}", NULL);
    EXPECT_OK(RN_OP_ListStreams, "{\"a\":\"\\\\\"}");
    {   /* jansson skips one NUL byte right after a number or a literal: so does the scan */
        static const char nul[] = "{\"a\":[1\0,true\0,-2.5\0,null\0],\"b\":false\0}";
        json_t *out = NULL;
        rn_error_clear(&e);
        CHECK_EQ_INT(rn_wire_decode(RN_OP_ListStreams, RN_PROTO_JSON, (const uint8_t *)nul, sizeof nul - 1, &out, &e), 0);
        json_decref(out);
        static const char nul2[] = "{\"a\":[1\0\0]}";
        rn_error_clear(&e);
        CHECK_EQ_INT(rn_wire_decode(RN_OP_ListStreams, RN_PROTO_JSON, (const uint8_t *)nul2, sizeof nul2 - 1, &out, &e), -1);
        CHECK_EQ_INT(e.code, RN_AWS_SERIALIZATION_BARE);
    }
    EXPECT_OK(RN_OP_ListStreams, " {\"a\" : [ 1 , -2.5e+3 , true , false , null , \"\\\"\" ] } ");
    free(b.p);
}

static void test_blob_and_encode(void)
{
    json_t *t = dec(RN_OP_PutRecord, "{\"StreamName\":\"s\",\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"k\"}");
    CHECK(t != NULL);
    const char *d = json_string_value(json_object_get(t, "Data"));
    rn_buf_t b;
    rn_buf_init(&b, 0);
    CHECK_EQ_INT(rn_wire_blob(d, strlen(d), &b), 0);
    CHECK_EQ_INT(b.len, 5);
    CHECK(b.data && memcmp(b.data, "hello", 5) == 0);
    CHECK_EQ_INT(rn_wire_blob("abc", 3, &b), RN_EINVAL);
    CHECK_EQ_INT(rn_wire_blob("ab!c", 4, &b), RN_EINVAL);
    CHECK_EQ_INT(b.len, 5);
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_wire_encode(RN_PROTO_JSON, t, &b), 0);
    CHECK_EQ_STR((const char *)b.data, "{\"StreamName\":\"s\",\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"k\"}");
    json_decref(t);

    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_wire_encode(RN_PROTO_JSON, NULL, &b), 0);
    CHECK_EQ_INT(b.len, 0);
    json_t *o = json_pack("{s:f,s:I,s:b}", "ApproximateArrivalTimestamp", 1506440188.749, "MillisBehindLatest",
                          (json_int_t)0, "HasMoreStreams", 0);
    CHECK_EQ_INT(rn_wire_encode(RN_PROTO_JSON, o, &b), 0);
    CHECK_EQ_STR((const char *)b.data,
                 "{\"ApproximateArrivalTimestamp\":1506440188.749,\"MillisBehindLatest\":0,\"HasMoreStreams\":false}");
    json_decref(o);

    rn_error_t err;
    rn_buf_reset(&b);
    rn_error_set(&err, RN_AWS_SERIALIZATION_BARE);
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_JSON, &err, &b), 0);
    CHECK_EQ_STR((const char *)b.data, "{\"__type\":\"SerializationException\"}");
    rn_buf_reset(&b);
    rn_error_set(&err, RN_AWS_STREAM_NOT_FOUND, "a\"b\\c\n", "000000000000");
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_JSON, &err, &b), 0);
    CHECK_EQ_STR((const char *)b.data, "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Stream "
                                       "a\\\"b\\\\c\\u000a under account 000000000000 not found.\"}");
    rn_buf_reset(&b);
    rn_error_set(&err, RN_AWS_INVALID_ARGUMENT, "x\xc3");  /* a cut UTF-8 sequence */
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_JSON, &err, &b), 0);
    CHECK_EQ_STR((const char *)b.data, "{\"__type\":\"InvalidArgumentException\",\"message\":\"x\xef\xbf\xbd\"}");
    json_t *back = json_loadb((const char *)b.data, b.len, 0, NULL);
    CHECK(back != NULL);
    json_decref(back);
    rn_buf_dispose(&b);

    CHECK_EQ_STR(rn_wire_content_type(RN_PROTO_JSON), "application/x-amz-json-1.1");
    CHECK_EQ_STR(rn_wire_content_type(RN_PROTO_CBOR), "application/x-amz-cbor-1.1");
}

static void test_tables(void)
{
    /* every operation has a structure; every pattern compiles and matches */
    for (int op = 0; op < RN_OP_COUNT; op++)
        CHECK_EQ_INT(rn_wire_shapes[rn_wire_op_input[op]].kind, RN_SK_STRUCTURE);
    static const struct {
        const char *model, *good, *bad;
    } pats[] = {
        {"[a-zA-Z0-9_.-]+", "a-Z_0.9", "a/b"},
        {"0|([1-9]\\d{0,38})", "340282366920938463463374607431768211455", "0340"},
        {"0|([1-9]\\d{0,128})", "0", ""},
        {"arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", SARN, "arn:aws:kinesis:r:123456789012:stream/"},
        {"arn:aws.*:kinesis:.*:\\d{12}:.*(stream|channel|queue)/\\S+", "arn:aws:kinesis:r:123456789012:xqueue/a",
         "arn:aws:kinesis:r:123456789012:xtable/a"},
        {"arn:aws.*:kinesis:.*:\\d{12}:queue/\\S+", "arn:aws:kinesis:r:123456789012:queue/q", "arn:aws:kinesis:r:1:queue/q"},
        {"arn:aws.*:kinesis:.*:\\d{12}:channel/\\S+", "arn:aws:kinesis:r:123456789012:channel/c", "channel/c"},
        {"arn:aws[-a-z0-9]*:s3:::[a-z0-9._-]{3,63}", "arn:aws:s3:::my-bucket", "arn:aws:s3:::B"},
        {"[a-z0-9]+", "abc123", "ab-c"},
        /* an escaped '-' in a bracket is a literal hyphen, not a range */
        {"arn:aws[-a-z0-9]*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+", "arn:aws:iam::123456789012:role/a-b",
         "arn:aws:iam::123456789012:role/a[b"},
        {"[a-z0-9]{20}-[a-z0-9]{3}", "aaaaaaaaaaaaaaaaaaaa-123", "aaaaaaaaaaaaaaaaaaaa-1234"},
        {"^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+", CARN,
         CARN "x"},
    };
    /* the model has more (21 in botocore 1.44.8): these are the ones the tests' requests meet */
    CHECK(rn_wire_pattern_count >= (int)(sizeof pats / sizeof pats[0]));
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        const rn_wire_pattern_t *p = NULL;
        for (int j = 0; j < rn_wire_pattern_count; j++)
            if (strcmp(rn_wire_patterns[j].model, pats[i].model) == 0)
                p = &rn_wire_patterns[j];
        CHECK(p != NULL);
        if (!p)
            continue;
        CHECK_EQ_INT(rn_wire_pattern_match(p, pats[i].good, strlen(pats[i].good)), 1);
        CHECK_EQ_INT(rn_wire_pattern_match(p, pats[i].bad, strlen(pats[i].bad)), 0);
    }
}

/* The wrong-type table of docs/wire.md: every JSON kind against every shape
 * kind, AWS's text, keyed "Message"; other errors keep "message". */
static void test_wrong_types(void)
{
    static const struct {
        rn_op_t op;
        const char *body, *msg;
    } rows[] = {
#define TBN "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to "
        /* string member (StreamName) */
        {RN_OP_DescribeStream, "{\"StreamName\":5}", TBN "an String"},
        {RN_OP_DescribeStream, "{\"StreamName\":1.5}", TBN "an String"},
        {RN_OP_DescribeStream, "{\"StreamName\":true}", "class java.lang.Boolean can not be converted to an String"},
        {RN_OP_DescribeStream, "{\"StreamName\":{}}", "Start of structure or map found where not expected."},
        {RN_OP_DescribeStream, "{\"StreamName\":[]}", "Start of list found where not expected"},
        /* integer member (ShardCount) */
        {RN_OP_CreateStream, "{\"ShardCount\":\"1\"}", "class java.lang.String can not be converted to an Integer"},
        {RN_OP_CreateStream, "{\"ShardCount\":false}", "class java.lang.Boolean can not be converted to an Integer"},
        {RN_OP_CreateStream, "{\"ShardCount\":{}}", "Start of structure or map found where not expected."},
        /* list member (Records) */
        {RN_OP_PutRecords, "{\"Records\":{}}", "Start of structure or map found where not expected."},
        {RN_OP_PutRecords, "{\"Records\":\"r\"}", "Expected list or null"},
        {RN_OP_PutRecords, "{\"Records\":3}", "Expected list or null"},
        /* map member (Tags) */
        {RN_OP_AddTagsToStream, "{\"Tags\":[]}", "Start of list found where not expected"},
        {RN_OP_AddTagsToStream, "{\"Tags\":[{\"a\":1}]}", "Start of list found where not expected"},
        {RN_OP_AddTagsToStream, "{\"Tags\":\"k\"}", "Expected map or null"},
        /* structure member (StreamModeDetails) */
        {RN_OP_CreateStream, "{\"StreamModeDetails\":[]}", "Start of list found where not expected"},
        {RN_OP_CreateStream, "{\"StreamModeDetails\":\"x\"}", "Expected null"},
        /* blob member (Data) */
        {RN_OP_PutRecord, "{\"Data\":12}", TBN "a Blob"},
        {RN_OP_PutRecord, "{\"Data\":true}", "class java.lang.Boolean can not be converted to a Blob"},
        {RN_OP_PutRecord, "{\"Data\":\"abc\"}",
         "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
        /* boolean member (EnforceConsumerDeletion) */
        {RN_OP_DeleteStream, "{\"EnforceConsumerDeletion\":\"maybe\"}", "'MAYBE' can not be converted to an Boolean"},
        {RN_OP_DeleteStream, "{\"EnforceConsumerDeletion\":1}", TBN "an Boolean"},
        {RN_OP_DeleteStream, "{\"EnforceConsumerDeletion\":{}}", "Start of structure or map found where not expected."},
        /* timestamp member (Timestamp) */
        {RN_OP_GetShardIterator, "{\"Timestamp\":{}}", "Start of structure or map found where not expected."},
        {RN_OP_GetShardIterator, "{\"Timestamp\":\"x\"}",
         "class java.lang.String can not be converted to milliseconds since epoch"},
#undef TBN
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        EXPECT_SER(rows[i].op, rows[i].body, rows[i].msg);
        CHECK_EQ_INT(e.code, RN_AWS_SERIALIZATION_TYPE);
    }
    /* the JSON body: "Message" for these only */
    rn_buf_t b;
    rn_buf_init(&b, 0);
    EXPECT_SER(RN_OP_PutRecords, "{\"Records\":{}}", "Start of structure or map found where not expected.");
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_JSON, &e, &b), 0);
    CHECK_EQ_STR((const char *)b.data, "{\"__type\":\"SerializationException\",\"Message\":\"Start of structure or "
                                       "map found where not expected.\"}");
    rn_buf_reset(&b);
    rn_error_set(&e, RN_AWS_SERIALIZATION, "Body of more than 1 values found where not expected");
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_JSON, &e, &b), 0);
    CHECK_EQ_STR((const char *)b.data, "{\"__type\":\"SerializationException\",\"message\":\"Body of more than 1 "
                                       "values found where not expected\"}");
    rn_buf_reset(&b);
    EXPECT_VAL(RN_OP_DeleteChannel, "{}", "1 validation error detected: " NULLV("channelARN"));
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_JSON, &e, &b), 0);
    CHECK(strstr((const char *)b.data, "\"message\":") != NULL);
    rn_buf_dispose(&b);
    CHECK_EQ_STR(rn_aws_error_message_key(RN_AWS_SERIALIZATION), "message");
    CHECK_EQ_STR(rn_aws_error_message_key(RN_AWS_VALIDATION), "message");

    /* AWS reads these texts as booleans, in any case */
    static const char *const truths[] = {"true", "TRUE", "yes", "Yes", "1"}, *const lies[] = {"false", "no", "NO", "0"};
    char body[96];
    for (size_t i = 0; i < 5; i++) {
        snprintf(body, sizeof body, "{\"StreamName\":\"s\",\"EnforceConsumerDeletion\":\"%s\"}", truths[i]);
        json_t *t = dec(RN_OP_DeleteStream, body);
        CHECK(t != NULL && json_is_true(json_object_get(t, "EnforceConsumerDeletion")));
        json_decref(t);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(body, sizeof body, "{\"StreamName\":\"s\",\"EnforceConsumerDeletion\":\"%s\"}", lies[i]);
        json_t *t = dec(RN_OP_DeleteStream, body);
        CHECK(t != NULL && json_is_false(json_object_get(t, "EnforceConsumerDeletion")));
        json_decref(t);
    }
    EXPECT_SER(RN_OP_DeleteStream, "{\"EnforceConsumerDeletion\":\"true\\u0000\"}",
               "'TRUE' can not be converted to an Boolean");
}

int main(void)
{
    test_every_operation();
    test_aws_examples();
    test_limits_and_counts();
    test_bodies();
    test_bounds();
    test_blob_and_encode();
    test_tables();
    test_wrong_types();
    return rn_test_done("test_wire_decode");
}
