/* fuzz_auth_policy.c: the IAM policy parser and evaluator on arbitrary bytes.
 *
 * The input is parsed as an identity-based and as a resource-based policy.
 * Whatever compiles is evaluated against fixed request contexts (same
 * account, another account, the account root, an assumed-role session, with
 * tags, addresses and times), and the decisions must be deterministic and
 * coherent: the same call twice agrees; adding an allow-everything identity
 * policy never turns an explicit deny into anything else and never turns an
 * allow into a deny; and every denial words a message. Seeds are in
 * fuzz/corpus/fuzz_auth_policy/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_auth_policy: %s\n", what);
    abort();
}

static const char *const tag_keys[] = {"env", "team"};
static const char *const env_vals[] = {"prod"};
static const rn_policy_kv_t keys[] = {
    {"aws:TagKeys", tag_keys, 2},
    {"aws:RequestTag/env", env_vals, 1},
    {"aws:ResourceTag/env", env_vals, 1},
    {"aws:TagKeys-empty", NULL, 0},
};

static void make_ctx(rn_policy_ctx_t *c, int which)
{
    rn_policy_ctx_init(c);
    c->resource_account = "111122223333";
    c->keys = keys;
    c->nkeys = sizeof keys / sizeof keys[0];
    c->now_ms = 1796191200000LL;
    c->secure_transport = which & 1;
    switch (which) {
    case 0:
        c->principal_arn = "arn:aws:iam::111122223333:user/alice";
        c->principal_account = "111122223333";
        c->username = "alice";
        c->userid = "AIDAALICE";
        c->source_ip = "203.0.113.7";
        c->action = "kinesis:PutRecord";
        c->resource = "arn:aws:kinesis:us-east-1:111122223333:stream/orders";
        break;
    case 1:
        c->principal_arn = "arn:aws:iam::444455556666:user/bob";
        c->principal_account = "444455556666";
        c->username = "bob";
        c->source_ip = "2001:db8::1";
        c->action = "kinesis:GetRecords";
        c->resource = "arn:aws:kinesis:us-east-1:111122223333:stream/orders";
        break;
    case 2:
        c->principal_arn = "arn:aws:iam::111122223333:root";
        c->principal_account = "111122223333";
        c->action = "kinesis:DeleteStream";
        c->resource = "arn:aws:kinesis:us-east-1:111122223333:stream/orders";
        break;
    case 3:
        c->principal_arn = "arn:aws:sts::444455556666:assumed-role/writer/w1";
        c->principal_role_arn = "arn:aws:iam::444455556666:role/writer";
        c->principal_account = "444455556666";
        c->action = "kinesis:SubscribeToShard";
        c->resource = "arn:aws:kinesis:us-east-1:111122223333:stream/orders/consumer/app:1700000000";
        break;
    default:
        c->principal_arn = "arn:aws:iam::111122223333:user/carol";
        c->principal_account = "111122223333";
        c->action = "kinesis:ListStreams";
        c->resource = "*";
        c->now_ms = -1;
        break;
    }
}

static const char allow_all[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rn_policy_t *everything;
    if (!everything) {
        char err[128];
        if (rn_policy_parse(allow_all, sizeof allow_all - 1, RN_POLICY_IDENTITY, &everything, err, sizeof err))
            fail("allow-all does not parse");
    }
    rn_policy_t *id = NULL, *res = NULL;
    char err[256];
    int rc1 = rn_policy_parse((const char *)data, size, RN_POLICY_IDENTITY, &id, err, sizeof err);
    if ((rc1 == 0) != (id != NULL) || (rc1 != 0 && err[0] == 0))
        fail("identity parse: result and message disagree");
    int rc2 = rn_policy_parse((const char *)data, size, RN_POLICY_RESOURCE, &res, err, sizeof err);
    if ((rc2 == 0) != (res != NULL) || (rc2 != 0 && err[0] == 0))
        fail("resource parse: result and message disagree");
    if (!id && !res)
        return 0;
    for (int w = 0; w < 5; w++) {
        rn_policy_ctx_t ctx;
        make_ctx(&ctx, w);
        const rn_policy_t *ids[2] = {id, everything};
        size_t nid = id ? 1 : 0;
        const rn_policy_t *const *idp = id ? ids : ids + 1;
        rn_authz_t a = rn_policy_authorize(idp, nid, res, &ctx);
        rn_authz_t b = rn_policy_authorize(idp, nid, res, &ctx);
        if (a != b)
            fail("not deterministic");
        if (a < RN_AUTHZ_ALLOW || a > RN_AUTHZ_EXPLICIT_DENY_RESOURCE)
            fail("decision out of range");
        rn_authz_t more = rn_policy_authorize(ids, 2, res, &ctx);
        if (id == NULL)
            more = rn_policy_authorize(ids + 1, 1, res, &ctx);
        if ((a == RN_AUTHZ_EXPLICIT_DENY_IDENTITY || a == RN_AUTHZ_EXPLICIT_DENY_RESOURCE) && more != a)
            fail("an allow-all identity policy lifted an explicit deny");
        if (a == RN_AUTHZ_ALLOW && more != RN_AUTHZ_ALLOW)
            fail("an allow-all identity policy turned an allow into a deny");
        if (a != RN_AUTHZ_ALLOW) {
            rn_buf_t m;
            rn_buf_init(&m, 8192);
            if (rn_policy_message(&m, a, ctx.principal_arn, ctx.action, ctx.resource) != 0 || m.len == 0)
                fail("no message for a denial");
            rn_buf_dispose(&m);
        }
        if (id) {
            rn_policy_match_t m1, m2;
            rn_policy_evaluate(id, &ctx, &m1);
            rn_policy_evaluate(id, &ctx, &m2);
            if (memcmp(&m1, &m2, sizeof m1) != 0)
                fail("evaluate not deterministic");
        }
    }
    rn_policy_destroy(id);
    rn_policy_destroy(res);
    return 0;
}
