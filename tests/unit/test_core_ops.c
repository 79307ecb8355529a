/* test_core_ops.c: the operation table's IAM columns, checked against the
 * Service Authorization Reference ("Actions, resources, and condition keys
 * for Amazon Kinesis Data Streams"): each operation is authorized as the
 * kinesis: action of its own name, on the resource type the reference lists
 * (stream*, consumer*, none = "*", or the resource ResourceARN names). */
#include <string.h>

#include "core/ops.h"
#include "tap.h"

int main(void)
{
    static const struct {
        const char *op, *action;
        rn_op_res_t res;
    } t[] = {
        {"PutRecord", "kinesis:PutRecord", RN_OP_RES_STREAM},
        {"PutRecords", "kinesis:PutRecords", RN_OP_RES_STREAM},
        {"GetRecords", "kinesis:GetRecords", RN_OP_RES_STREAM},
        {"GetShardIterator", "kinesis:GetShardIterator", RN_OP_RES_STREAM},
        {"CreateStream", "kinesis:CreateStream", RN_OP_RES_STREAM},
        {"ListShards", "kinesis:ListShards", RN_OP_RES_STREAM},
        {"ListStreams", "kinesis:ListStreams", RN_OP_RES_ANY},
        {"DescribeLimits", "kinesis:DescribeLimits", RN_OP_RES_ANY},
        {"DescribeAccountSettings", "kinesis:DescribeAccountSettings", RN_OP_RES_ANY},
        {"UpdateAccountSettings", "kinesis:UpdateAccountSettings", RN_OP_RES_ANY},
        {"RegisterStreamConsumer", "kinesis:RegisterStreamConsumer", RN_OP_RES_STREAM},
        {"ListStreamConsumers", "kinesis:ListStreamConsumers", RN_OP_RES_STREAM},
        {"DescribeStreamConsumer", "kinesis:DescribeStreamConsumer", RN_OP_RES_CONSUMER},
        {"DeregisterStreamConsumer", "kinesis:DeregisterStreamConsumer", RN_OP_RES_CONSUMER},
        {"SubscribeToShard", "kinesis:SubscribeToShard", RN_OP_RES_CONSUMER},
        {"PutResourcePolicy", "kinesis:PutResourcePolicy", RN_OP_RES_NAMED},
        {"GetResourcePolicy", "kinesis:GetResourcePolicy", RN_OP_RES_NAMED},
        {"DeleteResourcePolicy", "kinesis:DeleteResourcePolicy", RN_OP_RES_NAMED},
        {"TagResource", "kinesis:TagResource", RN_OP_RES_NAMED},
        {"ListTagsForResource", "kinesis:ListTagsForResource", RN_OP_RES_NAMED},
        {"AddTagsToStream", "kinesis:AddTagsToStream", RN_OP_RES_STREAM},
        {"StartStreamEncryption", "kinesis:StartStreamEncryption", RN_OP_RES_STREAM},
        {"ListChannels", "kinesis:ListChannels", RN_OP_RES_ANY},
        {"DescribeChannel", "kinesis:DescribeChannel", RN_OP_RES_CHANNEL},
        {"ListQueues", "kinesis:ListQueues", RN_OP_RES_ANY},
        {"CreateQueue", "kinesis:CreateQueue", RN_OP_RES_QUEUE},
        {"ReceiveQueueRecords", "kinesis:ReceiveQueueRecords", RN_OP_RES_QUEUE},
        {"RestoreDeadLetterQueueRecords", "kinesis:RestoreDeadLetterQueueRecords", RN_OP_RES_QUEUE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        rn_op_t op = rn_op_lookup(t[i].op, strlen(t[i].op));
        CHECK(op != RN_OP_NONE);
        CHECK_EQ_STR(rn_op_iam_action(op), t[i].action);
        CHECK_EQ_STR(rn_op_res_name(rn_op_iam_resource(op)), rn_op_res_name(t[i].res));
    }
    /* every operation: "kinesis:" + its own name */
    CHECK_EQ_INT(RN_OP_COUNT, 57);
    for (int op = 0; op < RN_OP_COUNT; op++) {
        const char *a = rn_op_iam_action((rn_op_t)op);
        CHECK(strncmp(a, "kinesis:", 8) == 0);
        CHECK_EQ_STR(a + 8, rn_op_name((rn_op_t)op));
    }
    CHECK_EQ_STR(rn_op_iam_action(RN_OP_NONE), "");
    CHECK_EQ_INT(rn_op_iam_resource(RN_OP_COUNT), RN_OP_RES_ANY);
    return rn_test_done("test_core_ops");
}
