/* ops_reshard.c: the resharding family: SplitShard, MergeShards, UpdateShardCount.
 * Not implemented yet: each answers the not-supported error. */
#include "api/api_int.h"

int rn_op_SplitShard(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_MergeShards(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_UpdateShardCount(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}
