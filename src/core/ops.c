/* ops.c: operation names <-> rn_op_t, from the one list in ops.h. */
#include "core/ops.h"

#include <stdint.h>
#include <string.h>

static const char *const names[RN_OP_COUNT] = {
#define X(name, plane) #name,
    RN_OPERATIONS(X)
#undef X
};

/* The names' lengths, known at compile time: the lookup runs per request. */
static const uint8_t name_lens[RN_OP_COUNT] = {
#define X(name, plane) sizeof(#name) - 1,
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
