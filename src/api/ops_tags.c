/* ops_tags.c: tags and resource policies.
 * Not implemented yet: each answers the not-supported error. */
#include "api/api_int.h"

int rn_op_AddTagsToStream(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_RemoveTagsFromStream(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_ListTagsForStream(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_TagResource(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_UntagResource(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_ListTagsForResource(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_PutResourcePolicy(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_GetResourcePolicy(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}

int rn_op_DeleteResourcePolicy(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(c->op));
}
