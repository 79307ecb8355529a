/* ops_control.c: stream settings: retention, enhanced monitoring, limits, account settings, modes, warm throughput, record size, distribution strategy.
 * Not implemented yet: each answers the not-supported error. */
#include "api/api_int.h"

int rn_op_IncreaseStreamRetentionPeriod(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_DecreaseStreamRetentionPeriod(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_EnableEnhancedMonitoring(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_DisableEnhancedMonitoring(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_DescribeLimits(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_DescribeAccountSettings(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_UpdateAccountSettings(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_UpdateStreamMode(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_UpdateStreamWarmThroughput(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_UpdateMaxRecordSize(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_UpdateStreamRecordDistributionStrategy(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}
