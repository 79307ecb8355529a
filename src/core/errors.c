/* errors.c: the lookups behind errors.h's two tables. */
#include "core/errors.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *type;
    int status;
    const char *fmt;
} rows[RN_AWS_COUNT] = {
    [RN_AWS_NONE] = {"", 200, NULL},
#define X(id, t, s, f) [id] = {t, s, f},
    RN_AWS_ERRORS(X)
#undef X
};

int rn_error_vset(rn_error_t *e, rn_aws_code_t code, va_list ap)
{
    e->code = code;
    e->message[0] = 0;
    e->message_len = 0;
    e->has_message = 0;
    if (code > RN_AWS_NONE && code < RN_AWS_COUNT && rows[code].fmt) {
        int n = vsnprintf(e->message, sizeof e->message, rows[code].fmt, ap);
        e->message_len = n < 0 ? 0 : (size_t)n >= sizeof e->message ? sizeof e->message - 1 : (size_t)n;
        e->has_message = 1;
    }
    return -1;
}

int rn_error_set_bytes(rn_error_t *e, rn_aws_code_t code, const char *msg, size_t len)
{
    e->code = code;
    if (len >= sizeof e->message)
        len = sizeof e->message - 1;
    memcpy(e->message, msg, len);
    e->message[len] = 0;
    e->message_len = len;
    e->has_message = 1;
    return -1;
}

int rn_error_set(rn_error_t *e, rn_aws_code_t code, ...)
{
    va_list ap;
    va_start(ap, code);
    rn_error_vset(e, code, ap);
    va_end(ap);
    return -1;
}

void rn_error_clear(rn_error_t *e)
{
    e->code = RN_AWS_NONE;
    e->has_message = 0;
    e->message[0] = 0;
    e->message_len = 0;
}

const char *rn_aws_error_type(rn_aws_code_t code)
{
    return (code > RN_AWS_NONE && code < RN_AWS_COUNT) ? rows[code].type : "InternalFailure";
}

int rn_aws_error_status(rn_aws_code_t code)
{
    return (code > RN_AWS_NONE && code < RN_AWS_COUNT) ? rows[code].status : 500;
}

const char *rn_aws_error_message_key(rn_aws_code_t code)
{
    return code == RN_AWS_SERIALIZATION_TYPE ? "Message" : "message";
}
