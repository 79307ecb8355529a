/* test_api_ident.c: the credential scope's account and region (api/ident.h)
 * and the resource-policy evaluator (api/access.h). */
#include <stdio.h>
#include <string.h>

#include "api/access.h"
#include "api/ident.h"
#include "tap.h"

#define VALID(s, def) rn_region_valid((s), strlen(s), (def))

static void test_region_shape(void)
{
    static const char *const good[] = {"us-east-1", "eu-west-9", "ap-southeast-7", "us-gov-west-1",
                                       "us-isob-east-1", "cn-north-1", "aa-b-0", "me-central-12"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(VALID(good[i], NULL));
    static const char *const bad[] = {"", "0", "local", "US-EAST-1", "us-East-1", "us-east", "us-east-",
                                      "us-1", "u-east-1", "use-east-1", "us--east-1", "us-east-1a",
                                      "us-east-1-", "-us-east-1", "us-east-1 ", " us-east-1", "us_east_1",
                                      "us-east-01x", "us-east-\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (VALID(bad[i], NULL))
            fprintf(stderr, "accepted: '%s'\n", bad[i]);
        CHECK(!VALID(bad[i], NULL));
    }
    /* Overlong: 33 characters of an otherwise good shape. */
    char longr[64];
    snprintf(longr, sizeof longr, "us-%s-1", "abcdefghijklmnopqrstuvwxyzabc"); /* 34 */
    CHECK(!VALID(longr, NULL));
    snprintf(longr, sizeof longr, "us-%s-1", "abcdefghijklmnopqrstuvwxyza"); /* 32 */
    CHECK_EQ_INT(strlen(longr), RN_REGION_MAX);
    CHECK(VALID(longr, NULL));
    /* The --region default is accepted whatever its shape, and only it. */
    CHECK(VALID("local", "local"));
    CHECK(!VALID("loca", "local"));
    CHECK(!VALID("locall", "local"));
    CHECK(!VALID("", ""));
    /* Embedded NUL: bytes, not C strings. */
    CHECK(!rn_region_valid("us-east-1\0x", 11, NULL));
    CHECK(!rn_region_valid("local\0", 6, "local"));
}

static void test_escape(void)
{
    char out[64];
    CHECK_EQ_INT(rn_escape_printable("\xff\xfe", 2, out, sizeof out), 12);
    CHECK_EQ_STR(out, "\\u00FF\\u00FE");
    rn_escape_printable("a b~\x7f\n\x01", 7, out, sizeof out);
    CHECK_EQ_STR(out, "a b~\\u007F\\u000A\\u0001");
    /* Truncates to the buffer, never mid-escape. */
    char small[8];
    rn_escape_printable("ab\xff\xff", 4, small, sizeof small);
    CHECK_EQ_STR(small, "ab");
    rn_escape_printable("abcdefghij", 10, small, sizeof small);
    CHECK_EQ_STR(small, "abcdefg");
}

static int cred(const char *c, const char *def, rn_ident_t *id, rn_error_t *err)
{
    snprintf(id->account, sizeof id->account, "%s", "000000000000");
    snprintf(id->region, sizeof id->region, "%s", "unset");
    rn_error_clear(err);
    return rn_ident_credential(c, strlen(c), def, id, err);
}

static void test_credential(void)
{
    rn_ident_t id;
    rn_error_t err;
    CHECK_EQ_INT(cred("AKIDEXAMPLE/20261202/eu-west-1/kinesis/aws4_request", "us-east-1", &id, &err), 0);
    CHECK_EQ_STR(id.account, "000000000000");
    CHECK_EQ_STR(id.region, "eu-west-1");
    CHECK_EQ_INT(cred("123456789012/20261202/us-east-1/kinesis/aws4_request", NULL, &id, &err), 0);
    CHECK_EQ_STR(id.account, "123456789012");
    CHECK_EQ_INT(cred("1234567890123/20261202/us-east-1/kinesis/aws4_request", NULL, &id, &err), 0);
    CHECK_EQ_STR(id.account, "000000000000"); /* 13 digits: not an account */
    CHECK_EQ_INT(cred("12345678901a/20261202/us-east-1/kinesis/aws4_request", NULL, &id, &err), 0);
    CHECK_EQ_STR(id.account, "000000000000");
    CHECK_EQ_INT(cred("AKID/20261202/local/kinesis/aws4_request", "local", &id, &err), 0);
    CHECK_EQ_STR(id.region, "local");

    /* boto 2 against 127.0.0.1 signs for region '0'. */
    CHECK_EQ_INT(cred("AKID/20261202/0/kinesis/aws4_request", "us-east-1", &id, &err), -1);
    CHECK_EQ_STR(rn_aws_error_type(err.code), "InvalidSignatureException");
    CHECK_EQ_INT(rn_aws_error_status(err.code), 400);
    CHECK_EQ_STR(err.message, "Credential should be scoped to a valid region, not '0'. ");
    CHECK_EQ_STR(id.region, "unset"); /* nothing written on failure */
    CHECK_EQ_STR(id.account, "000000000000");
    CHECK_EQ_INT(cred("123456789012/20261202/\xff\xfe/kinesis/aws4_request", NULL, &id, &err), -1);
    CHECK_EQ_STR(err.message, "Credential should be scoped to a valid region, not '\\u00FF\\u00FE'. ");
    CHECK_EQ_STR(id.account, "000000000000");
    CHECK_EQ_INT(cred("AKID/20261202/US-EAST-1/kinesis/aws4_request", NULL, &id, &err), -1);
    CHECK_EQ_STR(err.message, "Credential should be scoped to a valid region, not 'US-EAST-1'. ");
    CHECK_EQ_INT(cred("AKID/20261202//kinesis/aws4_request", NULL, &id, &err), -1);
    CHECK_EQ_STR(err.message, "Credential should be scoped to a valid region, not ''. ");

    /* Not five parts. */
    CHECK_EQ_INT(cred("x", NULL, &id, &err), -1);
    CHECK_EQ_STR(rn_aws_error_type(err.code), "IncompleteSignatureException");
    CHECK_EQ_STR(err.message, "Credential must have exactly 5 slash-delimited elements, e.g. "
                              "keyid/date/region/service/term, got 'x'");
    CHECK_EQ_INT(cred("a/b/us-east-1/d/e/f", NULL, &id, &err), -1);
    CHECK_EQ_STR(rn_aws_error_type(err.code), "IncompleteSignatureException");
}

static int presigned(const char *path, rn_ident_t *id, rn_error_t *err)
{
    snprintf(id->account, sizeof id->account, "%s", "000000000000");
    snprintf(id->region, sizeof id->region, "%s", "us-east-1");
    rn_error_clear(err);
    return rn_ident_presigned(path, "us-east-1", id, err);
}

#define ALL_BUT_CRED "X-Amz-Signature=ab&X-Amz-SignedHeaders=host&X-Amz-Date=20261202T000000Z"

static void test_presigned(void)
{
    rn_ident_t id;
    rn_error_t err;
    CHECK_EQ_INT(presigned("/", &id, &err), 0);
    CHECK_EQ_INT(presigned("/?a=b", &id, &err), 0);
    /* The name must be a parameter of the query, not text somewhere. */
    CHECK_EQ_INT(presigned("/X-Amz-Algorithm=AWS4-HMAC-SHA256", &id, &err), 0);
    CHECK_EQ_INT(presigned("/?foo=X-Amz-Algorithm=AWS4-HMAC-SHA256", &id, &err), 0);
    CHECK_EQ_INT(presigned("/?x-amz-algorithm=AWS4-HMAC-SHA256", &id, &err), 0);
    CHECK_EQ_INT(presigned("/?AX-Amz-Algorithm=1", &id, &err), 0);

    CHECK_EQ_INT(presigned("/?X-Amz-Algorithm=AWS4-HMAC-SHA256", &id, &err), -1);
    CHECK_EQ_STR(rn_aws_error_type(err.code), "IncompleteSignatureException");
    CHECK_EQ_STR(err.message, "AWS query-string parameters must include 'X-Amz-Credential'. "
                              "AWS query-string parameters must include 'X-Amz-Signature'. "
                              "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
                              "AWS query-string parameters must include 'X-Amz-Date'. "
                              "Re-examine the query-string parameters.");
    CHECK_EQ_INT(presigned("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=&" ALL_BUT_CRED, &id, &err), -1);
    CHECK_EQ_STR(err.message, "AWS query-string parameters must include 'X-Amz-Credential'. "
                              "Re-examine the query-string parameters.");

    CHECK_EQ_INT(presigned("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=123456789012%2F20261202%2F"
                           "eu-west-1%2Fkinesis%2Faws4_request&" ALL_BUT_CRED,
                           &id, &err),
                 1);
    CHECK_EQ_STR(id.account, "123456789012");
    CHECK_EQ_STR(id.region, "eu-west-1");
    /* The region is checked here too, after percent-decoding. */
    CHECK_EQ_INT(presigned("/?" ALL_BUT_CRED "&X-Amz-Credential=AKID%2F20261202%2F%FF%FE%2Fkinesis%2Faws4_request"
                           "&X-Amz-Algorithm=AWS4-HMAC-SHA256",
                           &id, &err),
                 -1);
    CHECK_EQ_STR(rn_aws_error_type(err.code), "InvalidSignatureException");
    CHECK_EQ_STR(err.message, "Credential should be scoped to a valid region, not '\\u00FF\\u00FE'. ");
    CHECK_EQ_STR(id.region, "us-east-1");
    CHECK_EQ_INT(presigned("/?X-Amz-Algorithm=A&X-Amz-Credential=AKID%2Fx%2F0%2Fkinesis%2Faws4_request&" ALL_BUT_CRED,
                           &id, &err),
                 -1);
    CHECK_EQ_STR(err.message, "Credential should be scoped to a valid region, not '0'. ");
    /* A bad escape in the credential. */
    CHECK_EQ_INT(presigned("/?X-Amz-Algorithm=A&X-Amz-Credential=AKID%2&" ALL_BUT_CRED, &id, &err), -1);
    CHECK_EQ_STR(rn_aws_error_type(err.code), "IncompleteSignatureException");
}

#define ARN_A "arn:aws:kinesis:eu-west-9:111111111111:stream/orders"

static void test_policy(void)
{
    const char *b = "222222222222";
    CHECK_EQ_INT(rn_access_eval(NULL, b, "kinesis:PutRecord", ARN_A), RN_ACCESS_NONE);
    CHECK_EQ_INT(rn_access_eval("not json", b, "kinesis:PutRecord", ARN_A), RN_ACCESS_NONE);
    CHECK_EQ_INT(rn_access_eval("{}", b, "kinesis:PutRecord", ARN_A), RN_ACCESS_NONE);

    const char *root = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                       "\"Principal\":{\"AWS\":\"arn:aws:iam::222222222222:root\"},"
                       "\"Action\":[\"kinesis:PutRecord\",\"kinesis:Get*\"],\"Resource\":\"" ARN_A "\"}]}";
    CHECK_EQ_INT(rn_access_eval(root, b, "kinesis:PutRecord", ARN_A), RN_ACCESS_ALLOW);
    CHECK_EQ_INT(rn_access_eval(root, b, "KINESIS:putrecord", ARN_A), RN_ACCESS_ALLOW); /* actions ignore case */
    CHECK_EQ_INT(rn_access_eval(root, b, "kinesis:GetRecords", ARN_A), RN_ACCESS_ALLOW);
    CHECK_EQ_INT(rn_access_eval(root, b, "kinesis:PutRecords", ARN_A), RN_ACCESS_NONE);
    CHECK_EQ_INT(rn_access_eval(root, "333333333333", "kinesis:PutRecord", ARN_A), RN_ACCESS_NONE);
    CHECK_EQ_INT(rn_access_eval(root, b, "kinesis:PutRecord", ARN_A "2"), RN_ACCESS_NONE);
    CHECK_EQ_INT(rn_access_eval(root, b, "kinesis:PutRecord",
                                "arn:aws:kinesis:eu-west-9:111111111111:stream/ORDERS"),
                 RN_ACCESS_NONE); /* resources keep case */

    const char *bare = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                       "\"Principal\":{\"AWS\":[\"333333333333\",\"222222222222\"]},"
                       "\"Action\":\"kinesis:*\",\"Resource\":\"arn:aws:kinesis:*:111111111111:stream/ord?rs\"}}";
    CHECK_EQ_INT(rn_access_eval(bare, b, "kinesis:DescribeStreamSummary", ARN_A), RN_ACCESS_ALLOW);
    CHECK_EQ_INT(rn_access_eval(bare, "444444444444", "kinesis:DescribeStreamSummary", ARN_A), RN_ACCESS_NONE);

    const char *star = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                       "\"Action\":\"*\",\"Resource\":\"*\"},"
                       "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"kinesis:PutRecord\","
                       "\"Resource\":\"*\"}]}";
    CHECK_EQ_INT(rn_access_eval(star, b, "kinesis:GetRecords", ARN_A), RN_ACCESS_ALLOW);
    CHECK_EQ_INT(rn_access_eval(star, b, "kinesis:PutRecord", ARN_A), RN_ACCESS_DENY); /* Deny wins */

    /* A condition that is not met (no TLS in this context), a service principal: no grant. */
    const char *cond = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                       "\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":"
                       "\"true\"}}}]}";
    CHECK_EQ_INT(rn_access_eval(cond, b, "kinesis:GetRecords", ARN_A), RN_ACCESS_NONE);
    const char *svc = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                      "\"Principal\":{\"Service\":\"firehose.amazonaws.com\"},\"Action\":\"*\",\"Resource\":\"*\"}]}";
    CHECK_EQ_INT(rn_access_eval(svc, b, "kinesis:GetRecords", ARN_A), RN_ACCESS_NONE);
    const char *notact = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                         "\"NotAction\":\"kinesis:DeleteStream\",\"Resource\":\"*\"},"
                         "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"NotAction\":\"kinesis:Get*\",\"Resource\":\"*\"}]}";
    /* IAM's semantics (auth/policy.h), no longer issue 9's conservative reading: the
     * Allow's NotAction covers GetRecords and the Deny's NotAction excludes it. */
    CHECK_EQ_INT(rn_access_eval(notact, b, "kinesis:GetRecords", ARN_A), RN_ACCESS_ALLOW);
    CHECK_EQ_INT(rn_access_eval(notact, b, "kinesis:PutRecord", ARN_A), RN_ACCESS_DENY);

    /* Cross-account grants only for operations AWS lets a resource policy grant. */
    CHECK(rn_access_cross_account_op(RN_OP_PutRecord));
    CHECK(rn_access_cross_account_op(RN_OP_SubscribeToShard));
    CHECK(!rn_access_cross_account_op(RN_OP_DeleteStream));
    CHECK(!rn_access_cross_account_op(RN_OP_PutResourcePolicy));
    CHECK(!rn_access_cross_account_op(RN_OP_TagResource));
}

int main(void)
{
    test_region_shape();
    test_escape();
    test_credential();
    test_presigned();
    test_policy();
    return rn_test_done("test_api_ident");
}
