/* ops.c: operation names <-> rn_op_t, and each operation's IAM action and
 * resource, from the one list in ops.h. */
#include "core/ops.h"

#include <stdint.h>
#include <string.h>

static const char *const names[RN_OP_COUNT] = {
#define X(name, plane, action, res) #name,
    RN_OPERATIONS(X)
#undef X
};

/* The names' lengths, known at compile time: the lookup runs per request. */
static const uint8_t name_lens[RN_OP_COUNT] = {
#define X(name, plane, action, res) sizeof(#name) - 1,
    RN_OPERATIONS(X)
#undef X
};

rn_op_t rn_op_lookup(const char *name, size_t len)
{
    for (int i = 0; i < RN_OP_COUNT; i++)
        if (name_lens[i] == len && memcmp(names[i], name, len) == 0)
            return (rn_op_t)i;
    return RN_OP_NONE;
}

const char *rn_op_name(rn_op_t op)
{
    return (op >= 0 && op < RN_OP_COUNT) ? names[op] : "";
}

static const char *const iam_actions[RN_OP_COUNT] = {
#define X(name, plane, action, res) "kinesis:" #action,
    RN_OPERATIONS(X)
#undef X
};

static const uint8_t iam_resources[RN_OP_COUNT] = {
#define X(name, plane, action, res) RN_OP_RES_##res,
    RN_OPERATIONS(X)
#undef X
};

const char *rn_op_iam_action(rn_op_t op)
{
    return (op >= 0 && op < RN_OP_COUNT) ? iam_actions[op] : "";
}

rn_op_res_t rn_op_iam_resource(rn_op_t op)
{
    return (op >= 0 && op < RN_OP_COUNT) ? (rn_op_res_t)iam_resources[op] : RN_OP_RES_ANY;
}

const char *rn_op_res_name(rn_op_res_t r)
{
    switch (r) {
    case RN_OP_RES_ANY:
        return "*";
    case RN_OP_RES_STREAM:
        return "stream";
    case RN_OP_RES_CONSUMER:
        return "consumer";
    case RN_OP_RES_NAMED:
        return "stream or consumer";
    case RN_OP_RES_CHANNEL:
        return "channel";
    case RN_OP_RES_QUEUE:
        return "queue";
    }
    return "?";
}
