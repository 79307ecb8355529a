/* test_api_faults.c: --inject-errors rules (api/faults.h): parsing, which rule applies, the
 * errors answered, per-entry failures and their rates. */
#include <stdlib.h>
#include <string.h>

#include "api/faults.h"
#include "tap.h"

static rn_faults_t *parse_ok(const char *spec)
{
    rn_faults_t *f = NULL;
    char err[300] = "";
    int rc = rn_faults_parse(spec, &f, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    CHECK(f != NULL);
    return f;
}

static void parse_bad(const char *spec, const char *why)
{
    rn_faults_t *f = (rn_faults_t *)1;
    char err[300] = "";
    CHECK_EQ_INT(rn_faults_parse(spec, &f, err, sizeof err), -1);
    CHECK(f == NULL);
    CHECK(strstr(err, why) != NULL);
}

static void test_parse(void)
{
    parse_bad("", "no rule");
    parse_bad(" , ", "no rule");
    parse_bad("PutRecord", "expected OPERATION=FAULT");
    parse_bad("Nope=InternalFailure", "unknown operation");
    parse_bad("PutRecord=Nope", "unknown fault");
    parse_bad("PutRecord=InternalFailure@", "bad probability");
    parse_bad("PutRecord=InternalFailure@0", "(0, 1]");
    parse_bad("PutRecord=InternalFailure@1.01", "(0, 1]");
    parse_bad("PutRecord=InternalFailure@x", "(0, 1]");
    parse_bad("PutRecord=records:InternalFailure", "PutRecords only");
    parse_bad("PutRecords=records:LimitExceededException", "ProvisionedThroughputExceededException or InternalFailure");
    parse_bad("*=latency:0", "1..60000");
    parse_bad("*=latency:60001", "1..60000");
    parse_bad("*=latency:5ms", "1..60000");
    parse_bad("GetRecords=InternalFailure,PutRecord=Bad", "rule \"PutRecord=Bad\"");
    rn_faults_t *f = parse_ok(" PutRecord=KMSOptInRequired@0.5 , *=latency:20 ");
    char d[256];
    rn_faults_describe(f, d, sizeof d);
    CHECK(strcmp(d, "PutRecord fails as KMSOptInRequired (p 0.5); * +20 ms (p 1)") == 0);
    rn_faults_destroy(f);
}

static void test_which_rule(void)
{
    rn_faults_t *f = parse_ok("*=ServiceUnavailable,GetRecords=KMSThrottlingException,GetRecords=InternalFailure,"
                              "ListShards=latency:7");
    rn_error_t e;
    long delay;
    rn_error_clear(&e);
    /* the rule naming the operation wins over `*`, the first of two */
    CHECK_EQ_INT(rn_faults_call(f, RN_OP_GetRecords, &e, &delay), RN_AWS_KMS_THROTTLING);
    CHECK_EQ_INT(delay, 0);
    CHECK(strcmp(e.message, "The request was denied due to request throttling by AWS KMS.") == 0);
    CHECK_EQ_INT(rn_aws_error_status(e.code), 400);
    CHECK(strcmp(rn_aws_error_type(e.code), "KMSThrottlingException") == 0);
    /* a latency and the `*` error both apply */
    CHECK_EQ_INT(rn_faults_call(f, RN_OP_ListShards, &e, &delay), RN_AWS_SERVICE_UNAVAILABLE);
    CHECK_EQ_INT(delay, 7);
    CHECK_EQ_INT(rn_aws_error_status(e.code), 503);
    CHECK(!rn_faults_records_on(f));
    CHECK_EQ_INT(rn_faults_record(f), RN_AWS_NONE);
    rn_faults_destroy(f);

    f = parse_ok("PutRecord=InternalFailure");
    rn_error_clear(&e);
    CHECK_EQ_INT(rn_faults_call(f, RN_OP_PutRecords, &e, &delay), RN_AWS_NONE);
    CHECK_EQ_INT(e.code, RN_AWS_NONE);
    CHECK_EQ_INT(rn_faults_call(f, RN_OP_PutRecord, &e, &delay), RN_AWS_INTERNAL_FAILURE);
    CHECK(!e.has_message);
    CHECK_EQ_INT(rn_aws_error_status(e.code), 500);
    rn_faults_destroy(f);
}

static void test_rates(void)
{
    rn_faults_t *f = parse_ok("PutRecords=records:ProvisionedThroughputExceededException@0.25,"
                              "PutRecord=LimitExceededException@0.1");
    CHECK(rn_faults_records_on(f));
    int throttled = 0, calls = 0;
    rn_error_t e;
    long delay;
    for (int i = 0; i < 20000; i++) {
        rn_aws_code_t c = rn_faults_record(f);
        CHECK(c == RN_AWS_NONE || c == RN_AWS_SHARD_THROTTLED);
        throttled += c == RN_AWS_SHARD_THROTTLED;
        calls += rn_faults_call(f, RN_OP_PutRecord, &e, &delay) == RN_AWS_LIMIT_EXCEEDED;
    }
    /* 20000 draws: far outside 6 standard deviations would be a broken generator */
    CHECK(throttled > 4600 && throttled < 5400);
    CHECK(calls > 1750 && calls < 2250);
    rn_faults_destroy(f);
}

int main(void)
{
    test_parse();
    test_which_rule();
    test_rates();
    return rn_test_done("test_api_faults");
}
