/* fuzz_api_ident.c: who a request says it is, on arbitrary bytes.
 *
 * The input is tried as a request path (presigned query), as a Credential
 * value and as a resource policy. Beyond "never crash": whatever is accepted
 * names an AWS-shaped region (or the default) of at most RN_REGION_MAX
 * characters and an account that is the default or 12 digits; every
 * refusal's message is printable ASCII (no raw input bytes echoed). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/ident.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_api_ident: %s\n", what);
    abort();
}

static void check_ident(const rn_ident_t *id)
{
    size_t n = strlen(id->region);
    if (n > RN_REGION_MAX || !rn_region_valid(id->region, n, "local"))
        fail("accepted a region that is not valid");
    if (strcmp(id->account, "000000000000") != 0 &&
        (strlen(id->account) != 12 || strspn(id->account, "0123456789") != 12))
        fail("accepted an account that is not 12 digits");
}

static void check_message(const rn_error_t *err)
{
    for (size_t i = 0; i < err->message_len; i++)
        if ((unsigned char)err->message[i] < 0x20 || (unsigned char)err->message[i] > 0x7e)
            fail("a message echoes a non-printable byte");
}

static void run(const char *s, size_t n)
{
    rn_ident_t id = {"000000000000", "local"};
    rn_error_t err;
    rn_error_clear(&err);
    int rc = rn_ident_presigned(s, "local", &id, &err);
    if (rc > 0)
        check_ident(&id);
    else if (rc < 0)
        check_message(&err);

    rn_ident_t id2 = {"000000000000", "local"};
    rn_error_clear(&err);
    if (rn_ident_credential(s, n, "local", &id2, &err) == 0)
        check_ident(&id2);
    else
        check_message(&err);

    rn_access_effect_t e = rn_access_eval(s, "222222222222", "kinesis:PutRecord",
                                          "arn:aws:kinesis:us-east-1:111111111111:stream/s");
    if (e != RN_ACCESS_NONE && e != RN_ACCESS_ALLOW && e != RN_ACCESS_DENY)
        fail("policy effect out of range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy plus a NUL (the path and the policy are C strings). */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    run(s, size);
    free(s);
    return 0;
}
