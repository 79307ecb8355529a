/* test_auth_policy.c: the IAM policy parser and evaluator, table-driven.
 *
 * Tables: parse (valid and invalid documents, with the message expected),
 * decide (identity x resource policy x principal x same/other account),
 * conditions (every operator, IfExists, Null, set qualifiers, missing keys),
 * variables, the seed guide's statement, message wording, and the helpers
 * (glob, dates). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "tap.h"
#include "util/status.h"

#define ACCT_A "111122223333"
#define ACCT_B "444455556666"
#define ALICE "arn:aws:iam::" ACCT_A ":user/alice"
#define CAROL "arn:aws:iam::" ACCT_A ":user/carol"
#define BOB "arn:aws:iam::" ACCT_B ":user/bob"
#define ROOT_A "arn:aws:iam::" ACCT_A ":root"
#define ROOT_B "arn:aws:iam::" ACCT_B ":root"
#define ROLE_A "arn:aws:iam::" ACCT_A ":role/reader"
#define SESSION_A "arn:aws:sts::" ACCT_A ":assumed-role/reader/s1"
#define ROLE_B "arn:aws:iam::" ACCT_B ":role/writer"
#define SESSION_B "arn:aws:sts::" ACCT_B ":assumed-role/writer/w1"
#define STREAM_A "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/orders"
#define STREAM_A2 "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/payments"
#define CONSUMER_A STREAM_A "/consumer/app:1700000000"

#define V "\"Version\":\"2012-10-17\""

/* ------------------------------------------------------------ helpers -- */

static rn_policy_t *must_parse(const char *json, rn_policy_kind_t kind)
{
    rn_policy_t *p = NULL;
    char err[256];
    int rc = rn_policy_parse(json, strlen(json), kind, &p, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "parse failed (%d: %s) for %s\n", rc, err, json);
        rn_test_failures++;
        return NULL;
    }
    return p;
}

/* The principal named by a short code. */
static void set_principal(rn_policy_ctx_t *ctx, const char *who)
{
    if (!who)
        return;
    ctx->principal_arn = who;
    ctx->principal_account = strstr(who, ACCT_B) ? ACCT_B : ACCT_A;
    if (strcmp(who, SESSION_A) == 0)
        ctx->principal_role_arn = ROLE_A;
    if (strcmp(who, SESSION_B) == 0)
        ctx->principal_role_arn = ROLE_B;
    if (strncmp(who, "arn:aws:iam::", 13) == 0 && strstr(who, ":user/"))
        ctx->username = strstr(who, ":user/") + 6;
}

/* "key=v1|v2|v3" -> a context key ("key=" is present with no values). */
typedef struct kvs {
    rn_policy_kv_t kv[4];
    char text[4][256];
    const char *vals[4][4];
} kvs_t;

static void set_keys(rn_policy_ctx_t *ctx, kvs_t *k, const char *const *spec)
{
    size_t n = 0;
    for (size_t i = 0; i < 4 && spec[i]; i++) {
        snprintf(k->text[i], sizeof k->text[i], "%s", spec[i]);
        char *eq = strchr(k->text[i], '=');
        size_t nv = 0;
        if (eq) {
            *eq = 0;
            char *s = eq + 1;
            while (*s && nv < 4) {
                k->vals[i][nv++] = s;
                char *bar = strchr(s, '|');
                if (!bar)
                    break;
                *bar = 0;
                s = bar + 1;
            }
        }
        k->kv[n].key = k->text[i];
        k->kv[n].values = k->vals[i];
        k->kv[n].nvalues = nv;
        n++;
    }
    ctx->keys = k->kv;
    ctx->nkeys = n;
}

/* ------------------------------------------------------- parse table -- */

static const struct parse_case {
    rn_policy_kind_t kind;
    const char *json;
    int rc;
    const char *msg; /* substring of the message, or NULL */
} parse_cases[] = {
    /* valid shapes */
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kinesis:*\",\"Resource\":\"*\"}}", 0, NULL},
    {RN_POLICY_IDENTITY, "{\"Version\":\"2008-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"NotAction\":[\"kinesis:Get*\"],\"NotResource\":\"arn:aws:kinesis:*:*:stream/x\"}]}", 0, NULL},
    {RN_POLICY_IDENTITY, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}", 0, NULL},
    {RN_POLICY_IDENTITY, "{" V ",\"Id\":\"x\",\"Statement\":[{\"Sid\":\"a\",\"Effect\":\"Allow\",\"Action\":\"kinesis:PutRecord\",\"Resource\":\"*\",\"Condition\":{\"ForAllValues:StringLikeIfExists\":{\"aws:TagKeys\":[\"a*\",\"b\"]},\"NumericLessThan\":{\"k\":5},\"Bool\":{\"aws:SecureTransport\":true}}}]}", 0, NULL},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kinesis:GetRecords\"}}", 0, NULL},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"" ACCT_B "\",\"" ROOT_B "\",\"" BOB "\",\"*\"],\"Service\":\"firehose.amazonaws.com\"},\"Action\":\"kinesis:*\",\"Resource\":\"" STREAM_A "\"}}", 0, NULL},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"" ALICE "\"},\"Action\":\"kinesis:*\"}}", 0, NULL},
    /* document shape */
    {RN_POLICY_IDENTITY, "[]", RN_EINVAL, "must be a JSON object"},
    {RN_POLICY_IDENTITY, "{", RN_EINVAL, "not valid JSON"},
    {RN_POLICY_IDENTITY, "{\"Statement\":[],\"Statement\":[]}", RN_EINVAL, "not valid JSON"},
    {RN_POLICY_IDENTITY, "{\"Version\":\"2012-10-18\",\"Statement\":{}}", RN_EINVAL, "Version must be"},
    {RN_POLICY_IDENTITY, "{\"Version\":2012,\"Statement\":{}}", RN_EINVAL, "Version must be"},
    {RN_POLICY_IDENTITY, "{" V "}", RN_EINVAL, "Statement must be"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":[]}", RN_EINVAL, "Statement must be"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":\"x\"}", RN_EINVAL, "Statement must be"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":[1]}", RN_EINVAL, "Statement[0] must be an object"},
    {RN_POLICY_IDENTITY, "{" V ",\"Extra\":1,\"Statement\":{}}", RN_EINVAL, "unknown top-level element"},
    {RN_POLICY_IDENTITY, "{" V ",\"Id\":1,\"Statement\":{}}", RN_EINVAL, "Id must be a string"},
    /* statement elements */
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"allow\",\"Action\":\"*\",\"Resource\":\"*\"}}", RN_EINVAL, "Statement[0].Effect must be \"Allow\" or \"Deny\""},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Action\":\"*\",\"Resource\":\"*\"}}", RN_EINVAL, "Effect must be"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\"}}", RN_EINVAL, "exactly one of Action and NotAction"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"*\",\"Resource\":\"*\"}}", RN_EINVAL, "exactly one of Action and NotAction"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\"}}", RN_EINVAL, "must have Resource or NotResource"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"NotResource\":\"*\"}}", RN_EINVAL, "not have both Resource and NotResource"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"PutRecord\",\"Resource\":\"*\"}}", RN_EINVAL, "Statement[0].Action[0] \"PutRecord\" must be"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"kinesis:a\",3],\"Resource\":\"*\"}}", RN_EINVAL, "Statement[0].Action[1] must be a string"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}}", RN_EINVAL, "non-empty array"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"orders\"}}", RN_EINVAL, "Statement[0].Resource[0] \"orders\" must be \"*\" or an ARN"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:a\\u0001\"}}", RN_EINVAL, "control character"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Principal\":\"*\"}}", RN_EINVAL, "identity-based policy must not have Principal"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Foo\":1}}", RN_EINVAL, "unknown element \"Foo\""},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Sid\":1,\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}", RN_EINVAL, "Sid must be a string"},
    /* principals */
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\"}}", RN_EINVAL, "exactly one of Principal and NotPrincipal"},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"" ALICE "\",\"Action\":\"*\"}}", RN_EINVAL, "Principal must be \"*\" or an object"},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::" ACCT_A ":user/*\"},\"Action\":\"*\"}}", RN_EINVAL, "without wildcards"},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"alice\"},\"Action\":\"*\"}}", RN_EINVAL, "Statement[0].Principal.AWS[0] \"alice\""},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"IAM\":\"x\"},\"Action\":\"*\"}}", RN_EINVAL, "unknown principal type"},
    {RN_POLICY_RESOURCE, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{},\"Action\":\"*\"}}", RN_EINVAL, "Principal must be"},
    /* conditions */
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":[]}}", RN_EINVAL, "Condition must be an object"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringSortOf\":{\"k\":\"v\"}}}}", RN_EINVAL, "unknown or unsupported condition operator \"StringSortOf\""},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"NullIfExists\":{\"k\":\"true\"}}}}", RN_EINVAL, "Null takes neither"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"NumericEquals\":{\"k\":\"ten\"}}}}", RN_EINVAL, "Statement[0].Condition.NumericEquals.k \"ten\" is not a number"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":{\"k\":[\"2026-01-01\",\"2026-13-01\"]}}}}", RN_EINVAL, "k[1] \"2026-13-01\" is not an ISO 8601 date"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/33\"}}}}", RN_EINVAL, "not an IPv4 or IPv6"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"k\":\"yes\"}}}}", RN_EINVAL, "must be \"true\" or \"false\""},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"k\":[]}}}}", RN_EINVAL, "must not be an empty array"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"k\":{}}}}}", RN_EINVAL, "must be a string, number or boolean"},
    {RN_POLICY_IDENTITY, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{}}}}", RN_EINVAL, "non-empty object of condition keys"},
};

static void test_parse_table(void)
{
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        rn_policy_t *p = NULL;
        char err[256];
        int rc = rn_policy_parse(c->json, strlen(c->json), c->kind, &p, err, sizeof err);
        CHECK_EQ_INT(rc, c->rc);
        if (rc != c->rc)
            fprintf(stderr, "  parse case %zu: %s -> %s\n", i, c->json, err);
        if (c->msg && !strstr(err, c->msg)) {
            rn_test_failures++;
            fprintf(stderr, "  parse case %zu: message \"%s\" lacks \"%s\"\n", i, err, c->msg);
        }
        CHECK((rc == 0) == (p != NULL));
        rn_policy_destroy(p);
    }
}

/* Ceilings: size, statements, values, string length. */
static void test_parse_caps(void)
{
    rn_buf_t b;
    rn_buf_init(&b, 0);
    rn_policy_t *p = NULL;
    char err[256];

    /* bytes */
    CHECK_EQ_INT(rn_buf_append_str(&b, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Sid\":\""), 0);
    while (b.len < RN_POLICY_MAX_BYTES)
        CHECK_EQ_INT(rn_buf_append_str(&b, "xxxxxxxxxxxxxxxx"), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "\"}}"), 0);
    CHECK_EQ_INT(rn_policy_parse((char *)b.data, b.len, RN_POLICY_IDENTITY, &p, err, sizeof err), RN_ETOOBIG);
    CHECK(strstr(err, "bytes") != NULL);

    /* statements */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_buf_append_str(&b, "{\"Statement\":["), 0);
    for (int i = 0; i <= RN_POLICY_MAX_STATEMENTS; i++)
        CHECK_EQ_INT(rn_buf_printf(&b, "%s{}", i ? "," : ""), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "]}"), 0);
    CHECK_EQ_INT(rn_policy_parse((char *)b.data, b.len, RN_POLICY_IDENTITY, &p, err, sizeof err), RN_ETOOBIG);
    CHECK(strstr(err, "statements") != NULL);

    /* values */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_buf_append_str(&b, "{\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\",\"Action\":["), 0);
    for (int i = 0; i <= RN_POLICY_MAX_ELEMENTS; i++)
        CHECK_EQ_INT(rn_buf_printf(&b, "%s\"a:%x\"", i ? "," : "", i), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "]}}"), 0);
    CHECK_EQ_INT(rn_policy_parse((char *)b.data, b.len, RN_POLICY_IDENTITY, &p, err, sizeof err), RN_ETOOBIG);
    CHECK(strstr(err, "values") != NULL);

    /* one long string */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_buf_append_str(&b, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:"), 0);
    for (int i = 0; i < RN_POLICY_MAX_STRING; i++)
        CHECK_EQ_INT(rn_buf_append_str(&b, "x"), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "\"}}"), 0);
    CHECK_EQ_INT(rn_policy_parse((char *)b.data, b.len, RN_POLICY_IDENTITY, &p, err, sizeof err), RN_ETOOBIG);
    CHECK(strstr(err, "Statement[0].Resource[0] is longer than") != NULL);

    /* condition keys per statement */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_buf_append_str(&b, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{"), 0);
    for (int i = 0; i <= RN_POLICY_MAX_CONDITIONS; i++)
        CHECK_EQ_INT(rn_buf_printf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "}}}}"), 0);
    CHECK_EQ_INT(rn_policy_parse((char *)b.data, b.len, RN_POLICY_IDENTITY, &p, err, sizeof err), RN_ETOOBIG);
    CHECK(strstr(err, "condition keys") != NULL);

    /* the largest accepted: RN_POLICY_MAX_STATEMENTS statements */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_buf_append_str(&b, "{\"Statement\":["), 0);
    for (int i = 0; i < RN_POLICY_MAX_STATEMENTS; i++)
        CHECK_EQ_INT(rn_buf_printf(&b, "%s{\"Effect\":\"Allow\",\"Action\":\"k:%d\",\"Resource\":\"*\"}", i ? "," : "", i), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "]}"), 0);
    CHECK_EQ_INT(rn_policy_parse((char *)b.data, b.len, RN_POLICY_IDENTITY, &p, err, sizeof err), 0);
    if (p)
        CHECK_EQ_INT(rn_policy_statement_count(p), RN_POLICY_MAX_STATEMENTS);
    rn_policy_destroy(p);
    rn_buf_dispose(&b);

    /* a jansson tree directly */
    json_t *doc = json_pack("{s:s,s:{s:s,s:s,s:s}}", "Version", "2012-10-17", "Statement", "Effect", "Allow",
                            "Action", "kinesis:PutRecord", "Resource", "*");
    CHECK_EQ_INT(rn_policy_compile(doc, RN_POLICY_IDENTITY, &p, err, sizeof err), 0);
    CHECK(p && rn_policy_get_kind(p) == RN_POLICY_IDENTITY);
    rn_policy_destroy(p);
    json_decref(doc);
}

/* ------------------------------------------------------ decision table -- */

/* Policy snippets (statements) for the decision table. */
#define ID(stmts) "{" V ",\"Statement\":[" stmts "]}"
#define ALLOW(act, res) "{\"Effect\":\"Allow\",\"Action\":\"" act "\",\"Resource\":\"" res "\"}"
#define DENY(act, res) "{\"Effect\":\"Deny\",\"Action\":\"" act "\",\"Resource\":\"" res "\"}"
#define RALLOW(pr, act) "{\"Effect\":\"Allow\",\"Principal\":" pr ",\"Action\":\"" act "\",\"Resource\":\"" STREAM_A "\"}"
#define RDENY(pr, act) "{\"Effect\":\"Deny\",\"Principal\":" pr ",\"Action\":\"" act "\",\"Resource\":\"" STREAM_A "\"}"
#define AWSP(x) "{\"AWS\":\"" x "\"}"

static const struct decide_case {
    const char *name;
    const char *id1, *id2; /* identity policies (NULL: none) */
    const char *res;       /* resource policy (NULL: none) */
    const char *who;
    const char *action;
    const char *resource;
    const char *res_acct; /* NULL: ACCT_A */
    rn_authz_t want;
} decide_cases[] = {
    /* default deny */
    {"no policy at all", NULL, NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"allow exact", ID(ALLOW("kinesis:PutRecord", STREAM_A)), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"allow other action only", ID(ALLOW("kinesis:GetRecords", STREAM_A)), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"allow other resource only", ID(ALLOW("kinesis:PutRecord", STREAM_A2)), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    /* action wildcards, case-insensitive */
    {"action *", ID(ALLOW("*", "*")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"action kinesis:*", ID(ALLOW("kinesis:*", "*")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"action kinesis:Put*", ID(ALLOW("kinesis:Put*", "*")), NULL, NULL, ALICE, "kinesis:PutRecords", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"action kinesis:Put* vs Get", ID(ALLOW("kinesis:Put*", "*")), NULL, NULL, ALICE, "kinesis:GetRecords", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"action case folded", ID(ALLOW("KINESIS:putrecord", "*")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"action ? one char", ID(ALLOW("kinesis:PutRecord?", "*")), NULL, NULL, ALICE, "kinesis:PutRecords", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"action ? needs a char", ID(ALLOW("kinesis:PutRecord?", "*")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"action other service", ID(ALLOW("s3:*", "*")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    /* resource wildcards, case-sensitive */
    {"resource stream/*", ID(ALLOW("kinesis:*", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/*")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"resource region *", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:" ACCT_A ":stream/orders")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"resource ord?rs", ID(ALLOW("kinesis:*", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/ord?rs")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"resource case matters", ID(ALLOW("kinesis:*", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/Orders")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"resource stream/* covers consumer", ID(ALLOW("kinesis:*", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/*")), NULL, NULL, ALICE, "kinesis:SubscribeToShard", CONSUMER_A, NULL, RN_AUTHZ_ALLOW},
    {"stream ARN is not its consumer", ID(ALLOW("kinesis:*", STREAM_A)), NULL, NULL, ALICE, "kinesis:SubscribeToShard", CONSUMER_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"resource * for ListStreams", ID(ALLOW("kinesis:ListStreams", "*")), NULL, NULL, ALICE, "kinesis:ListStreams", "*", NULL, RN_AUTHZ_ALLOW},
    {"stream ARN does not cover *", ID(ALLOW("kinesis:ListStreams", STREAM_A)), NULL, NULL, ALICE, "kinesis:ListStreams", "*", NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    /* explicit deny over allow */
    {"deny beats allow, same policy", ID(ALLOW("kinesis:*", "*") "," DENY("kinesis:PutRecord", STREAM_A)), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_IDENTITY},
    {"deny beats allow, two policies", ID(ALLOW("kinesis:*", "*")), ID(DENY("kinesis:*", "*")), NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_IDENTITY},
    {"deny elsewhere does not apply", ID(ALLOW("kinesis:*", "*") "," DENY("kinesis:PutRecord", STREAM_A2)), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"resource deny beats identity allow", ID(ALLOW("kinesis:*", "*")), NULL, ID(RDENY(AWSP(ALICE), "kinesis:PutRecord")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_RESOURCE},
    {"resource deny of the account covers its users", ID(ALLOW("kinesis:*", "*")), NULL, ID(RDENY(AWSP(ACCT_A), "kinesis:*")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_RESOURCE},
    {"identity deny beats resource allow", ID(DENY("kinesis:*", "*")), NULL, ID(RALLOW(AWSP(ALICE), "kinesis:*")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_IDENTITY},
    /* NotAction / NotResource */
    {"NotAction allow: other action", ID("{\"Effect\":\"Allow\",\"NotAction\":\"kinesis:Delete*\",\"Resource\":\"*\"}"), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"NotAction allow: excluded action", ID("{\"Effect\":\"Allow\",\"NotAction\":\"kinesis:Delete*\",\"Resource\":\"*\"}"), NULL, NULL, ALICE, "kinesis:DeleteStream", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"NotAction deny spares the listed", ID(ALLOW("*", "*") ",{\"Effect\":\"Deny\",\"NotAction\":[\"kinesis:Get*\",\"kinesis:Describe*\"],\"Resource\":\"*\"}"), NULL, NULL, ALICE, "kinesis:GetRecords", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"NotAction deny hits the rest", ID(ALLOW("*", "*") ",{\"Effect\":\"Deny\",\"NotAction\":[\"kinesis:Get*\",\"kinesis:Describe*\"],\"Resource\":\"*\"}"), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_IDENTITY},
    {"NotResource allow: other stream", ID("{\"Effect\":\"Allow\",\"Action\":\"kinesis:*\",\"NotResource\":\"" STREAM_A2 "\"}"), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"NotResource allow: excluded stream", ID("{\"Effect\":\"Allow\",\"Action\":\"kinesis:*\",\"NotResource\":\"" STREAM_A2 "\"}"), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A2, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"NotResource deny", ID(ALLOW("*", "*") ",{\"Effect\":\"Deny\",\"Action\":\"kinesis:*\",\"NotResource\":\"arn:aws:kinesis:*:*:stream/pay*\"}"), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_IDENTITY},
    {"NotResource deny spares", ID(ALLOW("*", "*") ",{\"Effect\":\"Deny\",\"Action\":\"kinesis:*\",\"NotResource\":\"arn:aws:kinesis:*:*:stream/pay*\"}"), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A2, NULL, RN_AUTHZ_ALLOW},
    /* same account: identity OR resource policy */
    {"same acct: resource policy names user", NULL, NULL, ID(RALLOW(AWSP(ALICE), "kinesis:PutRecord")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"same acct: resource policy names another user", NULL, NULL, ID(RALLOW(AWSP(CAROL), "kinesis:PutRecord")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"same acct: resource policy *", NULL, NULL, ID(RALLOW("\"*\"", "kinesis:PutRecord")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"same acct: {AWS:*}", NULL, NULL, ID(RALLOW(AWSP("*"), "kinesis:PutRecord")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"same acct: account only delegates", NULL, NULL, ID(RALLOW(AWSP(ACCT_A), "kinesis:PutRecord")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"same acct: account :root only delegates", NULL, NULL, ID(RALLOW(AWSP(ROOT_A), "kinesis:PutRecord")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"same acct: identity alone", ID(ALLOW("kinesis:PutRecord", STREAM_A)), NULL, ID(RALLOW(AWSP(CAROL), "kinesis:GetRecords")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"same acct: role names session", NULL, NULL, ID(RALLOW(AWSP(ROLE_A), "kinesis:GetRecords")), SESSION_A, "kinesis:GetRecords", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"same acct: session ARN itself", NULL, NULL, ID(RALLOW(AWSP(SESSION_A), "kinesis:GetRecords")), SESSION_A, "kinesis:GetRecords", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"resource policy action mismatch", NULL, NULL, ID(RALLOW(AWSP(ALICE), "kinesis:GetRecords")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"resource policy without Resource", NULL, NULL, "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":" AWSP(ALICE) ",\"Action\":\"kinesis:*\"}}", ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    /* other account: both sides */
    {"x-acct: identity only", ID(ALLOW("kinesis:*", "*")), NULL, NULL, BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_RESOURCE},
    {"x-acct: resource only", NULL, NULL, ID(RALLOW(AWSP(BOB), "kinesis:PutRecord")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"x-acct: both, by ARN", ID(ALLOW("kinesis:PutRecord", STREAM_A)), NULL, ID(RALLOW(AWSP(BOB), "kinesis:PutRecord")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_ALLOW},
    {"x-acct: both, by account", ID(ALLOW("kinesis:PutRecord", STREAM_A)), NULL, ID(RALLOW(AWSP(ACCT_B), "kinesis:PutRecord")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_ALLOW},
    {"x-acct: both, by :root", ID(ALLOW("kinesis:PutRecord", STREAM_A)), NULL, ID(RALLOW(AWSP(ROOT_B), "kinesis:PutRecord")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_ALLOW},
    {"x-acct: both, by *", ID(ALLOW("kinesis:PutRecord", STREAM_A)), NULL, ID(RALLOW("\"*\"", "kinesis:PutRecord")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_ALLOW},
    {"x-acct: resource names another account", ID(ALLOW("kinesis:PutRecord", STREAM_A)), NULL, ID(RALLOW(AWSP(ACCT_A), "kinesis:PutRecord")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_RESOURCE},
    {"x-acct: role session by role", ID(ALLOW("kinesis:*", "*")), NULL, ID(RALLOW(AWSP(ROLE_B), "kinesis:PutRecord")), SESSION_B, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_ALLOW},
    {"x-acct: resource deny", ID(ALLOW("kinesis:*", "*")), NULL, ID(RALLOW(AWSP(ACCT_B), "kinesis:*") "," RDENY(AWSP(BOB), "kinesis:PutRecord")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_EXPLICIT_DENY_RESOURCE},
    {"x-acct: identity deny", ID(DENY("kinesis:*", "*")), NULL, ID(RALLOW(AWSP(ACCT_B), "kinesis:*")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_EXPLICIT_DENY_IDENTITY},
    /* the account root */
    {"root: own account, no policy", NULL, NULL, NULL, ROOT_A, "kinesis:DeleteStream", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"root: own account, resource deny", NULL, NULL, ID(RDENY(AWSP(ACCT_A), "kinesis:DeleteStream")), ROOT_A, "kinesis:DeleteStream", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_RESOURCE},
    {"root: own account, resource deny *", NULL, NULL, ID(RDENY("\"*\"", "kinesis:*")), ROOT_A, "kinesis:DeleteStream", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_RESOURCE},
    {"root: other account, none", NULL, NULL, NULL, ROOT_B, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_RESOURCE},
    {"root: other account, resource names account", NULL, NULL, ID(RALLOW(AWSP(ACCT_B), "kinesis:PutRecord")), ROOT_B, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_ALLOW},
    /* NotPrincipal */
    {"NotPrincipal deny spares the named", ID(ALLOW("kinesis:*", "*")), NULL, "{" V ",\"Statement\":{\"Effect\":\"Deny\",\"NotPrincipal\":" AWSP(ALICE) ",\"Action\":\"kinesis:*\"}}", ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"NotPrincipal deny hits the others", ID(ALLOW("kinesis:*", "*")), NULL, "{" V ",\"Statement\":{\"Effect\":\"Deny\",\"NotPrincipal\":" AWSP(ALICE) ",\"Action\":\"kinesis:*\"}}", CAROL, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_EXPLICIT_DENY_RESOURCE},
    {"NotPrincipal account spares its users", ID(ALLOW("kinesis:*", "*")), NULL, "{" V ",\"Statement\":{\"Effect\":\"Deny\",\"NotPrincipal\":" AWSP(ACCT_B) ",\"Action\":\"kinesis:*\"}}", BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_RESOURCE},
    {"Service principal never names an IAM user", NULL, NULL, ID(RALLOW("{\"Service\":\"firehose.amazonaws.com\"}", "kinesis:*")), ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    /* variables */
    {"${aws:username} in Resource", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/${aws:username}-*")), NULL, NULL, ALICE, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/alice-logs", NULL, RN_AUTHZ_ALLOW},
    {"${aws:username} other user", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/${aws:username}-*")), NULL, NULL, CAROL, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/alice-logs", NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"${aws:username} absent (role)", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/${aws:username}-*")), NULL, NULL, SESSION_A, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/-logs", NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"${aws:PrincipalAccount}", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:${aws:PrincipalAccount}:stream/*")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_ALLOW},
    {"${aws:PrincipalAccount} other acct", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:${aws:PrincipalAccount}:stream/*")), NULL, ID(RALLOW("\"*\"", "kinesis:*")), BOB, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"${*} is a literal star", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/a${*}b")), NULL, NULL, ALICE, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/a*b", NULL, RN_AUTHZ_ALLOW},
    {"${*} matches no more", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/a${*}b")), NULL, NULL, ALICE, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/axxb", NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    {"${?} and ${$}", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/q${?}d${$}")), NULL, NULL, ALICE, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/q?d$", NULL, RN_AUTHZ_ALLOW},
    {"variables are text in 2008-10-17", "{\"Version\":\"2008-10-17\",\"Statement\":" ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/${aws:username}") "}", NULL, NULL, ALICE, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/${aws:username}", NULL, RN_AUTHZ_ALLOW},
    {"variable default value", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/${aws:username, 'shared'}")), NULL, NULL, SESSION_A, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/shared", NULL, RN_AUTHZ_ALLOW},
    {"user's value with * stays literal", ID(ALLOW("kinesis:*", "arn:aws:kinesis:*:*:stream/${aws:userid}")), NULL, NULL, ALICE, "kinesis:PutRecord", STREAM_A, NULL, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
};

static void test_decide_table(void)
{
    for (size_t i = 0; i < sizeof decide_cases / sizeof decide_cases[0]; i++) {
        const struct decide_case *c = &decide_cases[i];
        rn_policy_t *ids[2] = {NULL, NULL};
        size_t nid = 0;
        if (c->id1)
            ids[nid++] = must_parse(c->id1, RN_POLICY_IDENTITY);
        if (c->id2)
            ids[nid++] = must_parse(c->id2, RN_POLICY_IDENTITY);
        rn_policy_t *res = c->res ? must_parse(c->res, RN_POLICY_RESOURCE) : NULL;
        rn_policy_ctx_t ctx;
        rn_policy_ctx_init(&ctx);
        set_principal(&ctx, c->who);
        ctx.userid = "AIDA*"; /* a wildcard in a context value stays literal */
        ctx.action = c->action;
        ctx.resource = c->resource;
        ctx.resource_account = c->res_acct ? c->res_acct : ACCT_A;
        rn_authz_t got = rn_policy_authorize((const rn_policy_t *const *)ids, nid, res, &ctx);
        rn_test_checks++;
        if (got != c->want) {
            rn_test_failures++;
            fprintf(stderr, "decide case %zu \"%s\": got %s, want %s\n", i, c->name, rn_authz_name(got),
                    rn_authz_name(c->want));
        }
        for (size_t j = 0; j < nid; j++)
            rn_policy_destroy(ids[j]);
        rn_policy_destroy(res);
    }
}

/* --------------------------------------------------- condition table -- */

/* Each case: an identity policy Allow kinesis:* on * with Condition
 * {op: {key: values}}; the context holds the given keys. */
static const struct cond_case {
    const char *op;
    const char *key;
    const char *values; /* JSON: a value or an array */
    const char *ctx[4]; /* "key=v1|v2"; "key=" present but empty */
    int allow;
} cond_cases[] = {
    /* String */
    {"StringEquals", "aws:RequestTag/env", "\"prod\"", {"aws:RequestTag/env=prod"}, 1},
    {"StringEquals", "aws:RequestTag/env", "\"prod\"", {"aws:RequestTag/env=Prod"}, 0},
    {"StringEquals", "aws:requesttag/ENV", "\"prod\"", {"aws:RequestTag/env=prod"}, 1}, /* key names fold */
    {"StringEquals", "aws:RequestTag/env", "[\"dev\",\"prod\"]", {"aws:RequestTag/env=prod"}, 1},
    {"StringEquals", "aws:RequestTag/env", "\"pr*\"", {"aws:RequestTag/env=prod"}, 0}, /* no wildcards */
    {"StringEquals", "aws:RequestTag/env", "\"prod\"", {NULL}, 0},
    {"StringNotEquals", "aws:RequestTag/env", "\"prod\"", {"aws:RequestTag/env=dev"}, 1},
    {"StringNotEquals", "aws:RequestTag/env", "[\"dev\",\"prod\"]", {"aws:RequestTag/env=dev"}, 0},
    {"StringNotEquals", "aws:RequestTag/env", "\"prod\"", {NULL}, 1}, /* negated, key missing: true */
    {"StringEqualsIgnoreCase", "aws:RequestTag/env", "\"PROD\"", {"aws:RequestTag/env=prod"}, 1},
    {"StringEqualsIgnoreCase", "aws:RequestTag/env", "\"PROD\"", {"aws:RequestTag/env=prods"}, 0},
    {"StringNotEqualsIgnoreCase", "aws:RequestTag/env", "\"PROD\"", {"aws:RequestTag/env=prod"}, 0},
    {"StringNotEqualsIgnoreCase", "aws:RequestTag/env", "\"PROD\"", {"aws:RequestTag/env=dev"}, 1},
    {"StringLike", "aws:RequestTag/env", "\"pr*\"", {"aws:RequestTag/env=prod"}, 1},
    {"StringLike", "aws:RequestTag/env", "\"p?od\"", {"aws:RequestTag/env=prod"}, 1},
    {"StringLike", "aws:RequestTag/env", "\"P*\"", {"aws:RequestTag/env=prod"}, 0},
    {"StringNotLike", "aws:RequestTag/env", "\"pr*\"", {"aws:RequestTag/env=dev"}, 1},
    {"StringNotLike", "aws:RequestTag/env", "\"pr*\"", {"aws:RequestTag/env=prod"}, 0},
    {"StringNotLike", "aws:RequestTag/env", "\"pr*\"", {NULL}, 1},
    {"StringEquals", "aws:ResourceTag/team", "\"${aws:username}\"", {"aws:ResourceTag/team=alice"}, 1},
    {"StringEquals", "aws:ResourceTag/team", "\"${aws:username}\"", {"aws:ResourceTag/team=carol"}, 0},
    {"StringLike", "aws:ResourceTag/team", "\"${aws:username}*\"", {"aws:ResourceTag/team=alice-ops"}, 1},
    {"StringEquals", "aws:PrincipalAccount", "\"" ACCT_A "\"", {NULL}, 1},
    {"StringEquals", "aws:PrincipalArn", "\"" ALICE "\"", {NULL}, 1},
    {"StringEquals", "aws:username", "\"alice\"", {NULL}, 1},
    {"StringEquals", "aws:userid", "\"AIDAALICE\"", {NULL}, 1},
    {"StringEquals", "kinesis:custom", "\"x\"", {"kinesis:custom=x"}, 1}, /* any caller key */
    {"StringEquals", "aws:PrincipalAccount", "\"" ACCT_B "\"", {"aws:PrincipalAccount=" ACCT_B}, 1}, /* override */
    /* IfExists */
    {"StringEqualsIfExists", "aws:RequestTag/env", "\"prod\"", {NULL}, 1},
    {"StringEqualsIfExists", "aws:RequestTag/env", "\"prod\"", {"aws:RequestTag/env=dev"}, 0},
    {"StringEqualsIfExists", "aws:RequestTag/env", "\"prod\"", {"aws:RequestTag/env=prod"}, 1},
    {"NumericLessThanIfExists", "n", "5", {NULL}, 1},
    {"NumericLessThanIfExists", "n", "5", {"n=7"}, 0},
    {"DateLessThanIfExists", "d", "\"2026-01-01\"", {NULL}, 1},
    {"BoolIfExists", "aws:MultiFactorAuthPresent", "\"true\"", {NULL}, 1},
    {"IpAddressIfExists", "ip", "\"10.0.0.0/8\"", {NULL}, 1},
    {"ArnLikeIfExists", "aws:SourceArn", "\"arn:aws:s3:::x\"", {NULL}, 1},
    /* Null */
    {"Null", "aws:RequestTag/env", "\"true\"", {NULL}, 1},
    {"Null", "aws:RequestTag/env", "\"true\"", {"aws:RequestTag/env=prod"}, 0},
    {"Null", "aws:RequestTag/env", "\"false\"", {"aws:RequestTag/env=prod"}, 1},
    {"Null", "aws:RequestTag/env", "false", {NULL}, 0},
    {"Null", "aws:TagKeys", "\"true\"", {"aws:TagKeys="}, 1}, /* an empty set is absent */
    {"Null", "aws:SourceIp", "\"false\"", {NULL}, 1},
    /* Arn */
    {"ArnEquals", "aws:SourceArn", "\"" STREAM_A "\"", {"aws:SourceArn=" STREAM_A}, 1},
    {"ArnEquals", "aws:SourceArn", "\"" STREAM_A2 "\"", {"aws:SourceArn=" STREAM_A}, 0},
    {"ArnLike", "aws:SourceArn", "\"arn:aws:kinesis:*:" ACCT_A ":stream/*\"", {"aws:SourceArn=" STREAM_A}, 1},
    {"ArnLike", "aws:SourceArn", "\"arn:aws:kinesis:*:" ACCT_B ":stream/*\"", {"aws:SourceArn=" STREAM_A}, 0},
    {"ArnLike", "aws:SourceArn", "\"arn:aws:kinesis:*:*:stream/*\"", {"aws:SourceArn=notanarn"}, 0},
    {"ArnLike", "aws:SourceArn", "\"arn:aws:kinesis:us-east-1:" ACCT_A ":stream/orders/consumer/*\"", {"aws:SourceArn=" CONSUMER_A}, 1},
    {"ArnNotEquals", "aws:SourceArn", "\"" STREAM_A "\"", {"aws:SourceArn=" STREAM_A2}, 1},
    {"ArnNotLike", "aws:SourceArn", "\"arn:aws:kinesis:*:*:stream/pay*\"", {"aws:SourceArn=" STREAM_A}, 1},
    {"ArnNotLike", "aws:SourceArn", "\"arn:aws:kinesis:*:*:stream/pay*\"", {"aws:SourceArn=" STREAM_A2}, 0},
    {"ArnNotLike", "aws:SourceArn", "\"arn:aws:kinesis:*:*:stream/pay*\"", {NULL}, 1},
    /* Numeric */
    {"NumericEquals", "n", "10", {"n=10"}, 1},
    {"NumericEquals", "n", "\"10\"", {"n=10.0"}, 1},
    {"NumericEquals", "n", "10", {"n=11"}, 0},
    {"NumericEquals", "n", "10", {"n=ten"}, 0},
    {"NumericNotEquals", "n", "10", {"n=11"}, 1},
    {"NumericNotEquals", "n", "10", {"n=10"}, 0},
    {"NumericLessThan", "n", "10", {"n=9.5"}, 1},
    {"NumericLessThan", "n", "10", {"n=10"}, 0},
    {"NumericLessThanEquals", "n", "10", {"n=10"}, 1},
    {"NumericLessThanEquals", "n", "10", {"n=10.01"}, 0},
    {"NumericGreaterThan", "n", "-1", {"n=0"}, 1},
    {"NumericGreaterThan", "n", "1e3", {"n=1000"}, 0},
    {"NumericGreaterThanEquals", "n", "1e3", {"n=1000"}, 1},
    {"NumericGreaterThanEquals", "n", "2.5", {"n=2"}, 0},
    {"NumericLessThan", "n", "10", {NULL}, 0},
    /* Date: ISO 8601 and epoch, on both sides */
    {"DateEquals", "d", "\"2026-12-02T06:00:00Z\"", {"d=1796191200"}, 1},
    {"DateEquals", "d", "\"2026-12-02T07:00:00+01:00\"", {"d=2026-12-02T06:00:00Z"}, 1},
    {"DateNotEquals", "d", "\"2026-12-02T06:00:00Z\"", {"d=2026-12-02T06:00:01Z"}, 1},
    {"DateNotEquals", "d", "\"2026-12-02T06:00:00Z\"", {"d=2026-12-02T06:00:00.000Z"}, 0},
    {"DateLessThan", "aws:CurrentTime", "\"2027-01-01T00:00:00Z\"", {NULL}, 1},
    {"DateLessThan", "aws:CurrentTime", "\"2026-12-01\"", {NULL}, 0},
    {"DateLessThanEquals", "aws:EpochTime", "1796191200", {NULL}, 1},
    {"DateGreaterThan", "aws:CurrentTime", "\"2026-12-02T05:59:59Z\"", {NULL}, 1},
    {"DateGreaterThan", "aws:EpochTime", "\"2026-12-02T06:00:00Z\"", {NULL}, 0},
    {"DateGreaterThanEquals", "aws:EpochTime", "\"2026-12-02T06:00:00Z\"", {NULL}, 1},
    {"DateGreaterThanEquals", "d", "\"2026-12-02\"", {"d=2026-12-01T23:59:59Z"}, 0},
    {"DateLessThan", "d", "\"2026-12-02\"", {"d=yesterday"}, 0},
    /* Bool */
    {"Bool", "aws:SecureTransport", "\"true\"", {NULL}, 1},
    {"Bool", "aws:SecureTransport", "false", {NULL}, 0},
    {"Bool", "aws:MultiFactorAuthPresent", "\"true\"", {NULL}, 0},
    {"Bool", "flag", "\"TRUE\"", {"flag=true"}, 1},
    /* IpAddress, v4 and v6 */
    {"IpAddress", "aws:SourceIp", "\"203.0.113.0/24\"", {NULL}, 1},
    {"IpAddress", "aws:SourceIp", "\"203.0.112.0/24\"", {NULL}, 0},
    {"IpAddress", "aws:SourceIp", "[\"10.0.0.0/8\",\"203.0.113.7\"]", {NULL}, 1},
    {"IpAddress", "aws:SourceIp", "\"203.0.113.6/31\"", {NULL}, 1},
    {"IpAddress", "aws:SourceIp", "\"0.0.0.0/0\"", {NULL}, 1},
    {"IpAddress", "aws:SourceIp", "\"::/0\"", {NULL}, 0}, /* families differ */
    {"NotIpAddress", "aws:SourceIp", "\"10.0.0.0/8\"", {NULL}, 1},
    {"NotIpAddress", "aws:SourceIp", "\"203.0.0.0/8\"", {NULL}, 0},
    {"IpAddress", "aws:SourceIp", "\"2001:db8::/32\"", {"aws:SourceIp=2001:db8:0:1::5"}, 1},
    {"IpAddress", "aws:SourceIp", "\"2001:db8::/33\"", {"aws:SourceIp=2001:db8:8000::1"}, 0},
    {"IpAddress", "aws:SourceIp", "\"2001:db8:0:1::5/128\"", {"aws:SourceIp=2001:db8:0:1::5"}, 1},
    {"NotIpAddress", "aws:SourceIp", "\"2001:db8::/32\"", {"aws:SourceIp=2001:db9::1"}, 1},
    {"IpAddress", "aws:SourceIp", "\"10.0.0.0/8\"", {"aws:SourceIp=not-an-ip"}, 0},
    {"IpAddress", "ip", "\"10.0.0.0/8\"", {NULL}, 0},
    {"IpAddress", "aws:SourceIp", "\"203.0.113.0/24\"", {"aws:SourceIp=::ffff:203.0.113.9"}, 1}, /* v4-mapped */
    {"NotIpAddress", "aws:SourceIp", "\"203.0.113.0/24\"", {"aws:SourceIp=::ffff:203.0.113.9"}, 0},
    {"IpAddress", "aws:SourceIp", "\"::ffff:0:0/96\"", {"aws:SourceIp=::ffff:203.0.113.9"}, 1},
    {"IpAddress", "aws:SourceIp", "\"10.0.0.0/8\"", {"aws:SourceIp=10.0.0.1/8"}, 0}, /* a context value is an address */
    /* multi-valued keys and set qualifiers */
    {"ForAnyValue:StringEquals", "aws:TagKeys", "[\"env\",\"team\"]", {"aws:TagKeys=cost|team"}, 1},
    {"ForAnyValue:StringEquals", "aws:TagKeys", "[\"env\",\"team\"]", {"aws:TagKeys=cost|owner"}, 0},
    {"ForAnyValue:StringEquals", "aws:TagKeys", "\"env\"", {NULL}, 0},
    {"ForAnyValue:StringEquals", "aws:TagKeys", "\"env\"", {"aws:TagKeys="}, 0}, /* empty set: false */
    {"ForAllValues:StringEquals", "aws:TagKeys", "[\"env\",\"team\"]", {"aws:TagKeys=env|team"}, 1},
    {"ForAllValues:StringEquals", "aws:TagKeys", "[\"env\",\"team\"]", {"aws:TagKeys=env|cost"}, 0},
    {"ForAllValues:StringEquals", "aws:TagKeys", "[\"env\",\"team\"]", {NULL}, 1},           /* vacuous */
    {"ForAllValues:StringEquals", "aws:TagKeys", "[\"env\",\"team\"]", {"aws:TagKeys="}, 1}, /* empty set: true */
    {"ForAllValues:StringLike", "aws:TagKeys", "\"team-*\"", {"aws:TagKeys=team-a|team-b"}, 1},
    {"ForAllValues:StringLike", "aws:TagKeys", "\"team-*\"", {"aws:TagKeys=team-a|cost"}, 0},
    {"ForAnyValue:StringNotEquals", "aws:TagKeys", "\"env\"", {"aws:TagKeys=env|cost"}, 1},
    {"ForAnyValue:StringNotEquals", "aws:TagKeys", "\"env\"", {"aws:TagKeys=env"}, 0},
    {"ForAllValues:StringNotEquals", "aws:TagKeys", "[\"secret\",\"admin\"]", {"aws:TagKeys=env|cost"}, 1},
    {"ForAllValues:StringNotEquals", "aws:TagKeys", "[\"secret\",\"admin\"]", {"aws:TagKeys=env|admin"}, 0},
    {"ForAnyValue:StringEqualsIfExists", "aws:TagKeys", "\"env\"", {NULL}, 0}, /* IfExists: no effect on a set */
    {"ForAllValues:StringEqualsIfExists", "aws:TagKeys", "\"env\"", {NULL}, 1},
    {"StringNotEqualsIfExists", "aws:RequestTag/env", "[\"dev\",\"prod\"]", {NULL}, 1},
    {"StringNotEqualsIfExists", "aws:RequestTag/env", "[\"dev\",\"prod\"]", {"aws:RequestTag/env=prod"}, 0},
    {"ForAllValues:NumericLessThan", "sizes", "100", {"sizes=1|50|99"}, 1},
    {"ForAllValues:NumericLessThan", "sizes", "100", {"sizes=1|500"}, 0},
    {"ForAnyValue:IpAddress", "ips", "\"10.0.0.0/8\"", {"ips=192.0.2.1|10.1.2.3"}, 1},
    {"StringEquals", "aws:TagKeys", "\"env\"", {"aws:TagKeys=cost|env"}, 1}, /* no qualifier: any */
    {"StringNotEquals", "aws:TagKeys", "\"env\"", {"aws:TagKeys=cost|env"}, 0}, /* no qualifier, negated: none */
};

static void test_cond_table(void)
{
    for (size_t i = 0; i < sizeof cond_cases / sizeof cond_cases[0]; i++) {
        const struct cond_case *c = &cond_cases[i];
        char json[1024];
        snprintf(json, sizeof json,
                 "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kinesis:*\",\"Resource\":\"*\","
                 "\"Condition\":{\"%s\":{\"%s\":%s}}}}",
                 c->op, c->key, c->values);
        rn_policy_t *p = must_parse(json, RN_POLICY_IDENTITY);
        if (!p)
            continue;
        rn_policy_ctx_t ctx;
        rn_policy_ctx_init(&ctx);
        set_principal(&ctx, ALICE);
        ctx.userid = "AIDAALICE";
        ctx.action = "kinesis:PutRecord";
        ctx.resource = STREAM_A;
        ctx.resource_account = ACCT_A;
        ctx.source_ip = "203.0.113.7";
        ctx.secure_transport = 1;
        ctx.now_ms = 1796191200000LL; /* 2026-12-02T06:00:00Z */
        kvs_t k;
        set_keys(&ctx, &k, c->ctx);
        const rn_policy_t *ids[1] = {p};
        rn_authz_t got = rn_policy_authorize(ids, 1, NULL, &ctx);
        rn_test_checks++;
        if ((got == RN_AUTHZ_ALLOW) != c->allow) {
            rn_test_failures++;
            fprintf(stderr, "cond case %zu: %s {%s: %s} ctx %s: got %s, want %s\n", i, c->op, c->key, c->values,
                    c->ctx[0] ? c->ctx[0] : "(none)", rn_authz_name(got), c->allow ? "allow" : "deny");
        }
        /* the same condition on a Deny statement must deny exactly when it holds */
        char djson[1200];
        snprintf(djson, sizeof djson,
                 "{" V ",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"Action\":\"kinesis:*\",\"Resource\":\"*\",\"Condition\":{\"%s\":{\"%s\":%s}}}]}",
                 c->op, c->key, c->values);
        rn_policy_t *d = must_parse(djson, RN_POLICY_IDENTITY);
        if (d) {
            const rn_policy_t *dids[1] = {d};
            rn_authz_t dg = rn_policy_authorize(dids, 1, NULL, &ctx);
            CHECK_EQ_INT(dg, c->allow ? RN_AUTHZ_EXPLICIT_DENY_IDENTITY : RN_AUTHZ_ALLOW);
        }
        rn_policy_destroy(d);
        rn_policy_destroy(p);
    }
}

/* Several operators and keys in one block are AND'ed. */
static void test_cond_and(void)
{
    const char *json = "{" V ",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kinesis:*\",\"Resource\":\"*\","
                       "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"},"
                       "\"Bool\":{\"aws:SecureTransport\":\"true\"},"
                       "\"StringEquals\":{\"aws:RequestTag/env\":\"prod\",\"aws:RequestTag/team\":[\"a\",\"b\"]}}}}";
    rn_policy_t *p = must_parse(json, RN_POLICY_IDENTITY);
    if (!p)
        return;
    static const struct {
        const char *ip;
        int tls;
        const char *env, *team;
        int allow;
    } t[] = {
        {"10.1.1.1", 1, "prod", "b", 1}, {"11.1.1.1", 1, "prod", "b", 0}, {"10.1.1.1", 0, "prod", "b", 0},
        {"10.1.1.1", 1, "dev", "b", 0},  {"10.1.1.1", 1, "prod", "c", 0}, {"10.1.1.1", 1, "prod", NULL, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        rn_policy_ctx_t ctx;
        rn_policy_ctx_init(&ctx);
        set_principal(&ctx, ALICE);
        ctx.action = "kinesis:PutRecord";
        ctx.resource = STREAM_A;
        ctx.source_ip = t[i].ip;
        ctx.secure_transport = t[i].tls;
        char e[64], m[64];
        snprintf(e, sizeof e, "aws:RequestTag/env=%s", t[i].env);
        snprintf(m, sizeof m, "aws:RequestTag/team=%s", t[i].team ? t[i].team : "");
        const char *spec[4] = {e, t[i].team ? m : NULL, NULL, NULL};
        kvs_t k;
        set_keys(&ctx, &k, spec);
        const rn_policy_t *ids[1] = {p};
        CHECK_EQ_INT(rn_policy_authorize(ids, 1, NULL, &ctx) == RN_AUTHZ_ALLOW, t[i].allow);
    }
    rn_policy_destroy(p);
}

/* ------------------------------------------------------------- matrix -- */

/* effect x action pattern x principal x resource policy x same/other
 * account, against the rules of rn_policy_authorize as docs/policies.md
 * states them (an oracle written from the rules, not from the code). */
static void test_matrix(void)
{
    static const char *const effects[] = {"Allow", "Deny"};
    static const struct {
        const char *pat;
        int matches; /* against kinesis:PutRecord */
    } actions[] = {{"kinesis:PutRecord", 1}, {"kinesis:Put*", 1}, {"kinesis:*Records", 0}, {"*", 1}, {"kinesis:Get?ecords", 0}};
    static const struct {
        const char *arn;
        int same, root;
    } whos[] = {{ALICE, 1, 0}, {BOB, 0, 0}, {ROOT_A, 1, 1}, {ROOT_B, 0, 1}, {SESSION_B, 0, 0}};
    enum { R_NONE, R_ARN, R_ACCT, R_ANY, R_DENY_ANY, R_ALLOW_OTHER, R_N };
    int n = 0;
    for (size_t e = 0; e < 2; e++)
        for (size_t a = 0; a < sizeof actions / sizeof actions[0]; a++)
            for (size_t w = 0; w < sizeof whos / sizeof whos[0]; w++)
                for (int r = 0; r < R_N; r++) {
                    char idj[512], rj[512];
                    snprintf(idj, sizeof idj,
                             "{" V ",\"Statement\":{\"Effect\":\"%s\",\"Action\":\"%s\",\"Resource\":\"" STREAM_A "\"}}",
                             effects[e], actions[a].pat);
                    const char *acct = strstr(whos[w].arn, ACCT_B) ? ACCT_B : ACCT_A;
                    const char *rp = NULL;
                    char pr[160];
                    switch (r) {
                    case R_ARN:
                        snprintf(pr, sizeof pr, "{\"AWS\":\"%s\"}", strcmp(whos[w].arn, SESSION_B) ? whos[w].arn : ROLE_B);
                        break;
                    case R_ACCT:
                        snprintf(pr, sizeof pr, "{\"AWS\":\"%s\"}", acct);
                        break;
                    case R_ALLOW_OTHER:
                        snprintf(pr, sizeof pr, "{\"AWS\":\"%s\"}", CAROL);
                        break;
                    default:
                        snprintf(pr, sizeof pr, "\"*\"");
                    }
                    if (r != R_NONE) {
                        snprintf(rj, sizeof rj,
                                 "{" V ",\"Statement\":{\"Effect\":\"%s\",\"Principal\":%s,\"Action\":\"kinesis:PutRecord\","
                                 "\"Resource\":\"" STREAM_A "\"}}",
                                 r == R_DENY_ANY ? "Deny" : "Allow", pr);
                        rp = rj;
                    }
                    /* the oracle */
                    int id_allow = actions[a].matches && e == 0, id_deny = actions[a].matches && e == 1;
                    int res_names = r == R_ANY || r == R_ARN || (r == R_ACCT && whos[w].root);
                    int res_allows = res_names || r == R_ACCT;
                    rn_authz_t want;
                    if (id_deny)
                        want = RN_AUTHZ_EXPLICIT_DENY_IDENTITY;
                    else if (r == R_DENY_ANY)
                        want = RN_AUTHZ_EXPLICIT_DENY_RESOURCE;
                    else if (whos[w].same)
                        want = (whos[w].root || id_allow || res_names) ? RN_AUTHZ_ALLOW : RN_AUTHZ_IMPLICIT_DENY_IDENTITY;
                    else if (!id_allow && !whos[w].root)
                        want = RN_AUTHZ_IMPLICIT_DENY_IDENTITY;
                    else
                        want = res_allows ? RN_AUTHZ_ALLOW : RN_AUTHZ_IMPLICIT_DENY_RESOURCE;

                    rn_policy_t *id = must_parse(idj, RN_POLICY_IDENTITY);
                    rn_policy_t *res = rp ? must_parse(rp, RN_POLICY_RESOURCE) : NULL;
                    rn_policy_ctx_t ctx;
                    rn_policy_ctx_init(&ctx);
                    set_principal(&ctx, whos[w].arn);
                    ctx.action = "kinesis:PutRecord";
                    ctx.resource = STREAM_A;
                    ctx.resource_account = ACCT_A;
                    const rn_policy_t *ids[1] = {id};
                    rn_authz_t got = rn_policy_authorize(ids, id ? 1 : 0, res, &ctx);
                    rn_test_checks++;
                    n++;
                    if (got != want) {
                        rn_test_failures++;
                        fprintf(stderr, "matrix %s %s / %s / resource policy %d: got %s, want %s\n", effects[e],
                                actions[a].pat, whos[w].arn, r, rn_authz_name(got), rn_authz_name(want));
                    }
                    rn_policy_destroy(id);
                    rn_policy_destroy(res);
                }
    printf("matrix: %d cases\n", n);
}

/* ----------------------------------------------------------- the seed -- */

/* ../shared/seed/kinesis-data-stream-guide.md closes with the one permission
 * its program needs. An identity whose only policy is that statement (the
 * placeholders filled) may PutRecord on that stream, and do nothing else. */
static void test_seed_statement(void)
{
    const char *json = "{\"Version\":\"2012-10-17\",\"Statement\":[{"
                       "\"Effect\": \"Allow\","
                       "\"Action\": \"kinesis:PutRecord\","
                       "\"Resource\": \"arn:aws:kinesis:us-east-1:" ACCT_A ":stream/orders\"}]}";
    rn_policy_t *p = must_parse(json, RN_POLICY_IDENTITY);
    if (!p)
        return;
    static const struct {
        const char *who, *action, *resource, *res_acct;
        rn_authz_t want;
    } t[] = {
        {ALICE, "kinesis:PutRecord", STREAM_A, ACCT_A, RN_AUTHZ_ALLOW},
        {ALICE, "kinesis:PutRecords", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
        {ALICE, "kinesis:GetRecords", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
        {ALICE, "kinesis:DescribeStream", STREAM_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
        {ALICE, "kinesis:ListStreams", "*", ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
        {ALICE, "kinesis:PutRecord", STREAM_A2, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
        {ALICE, "kinesis:PutRecord", "arn:aws:kinesis:eu-west-1:" ACCT_A ":stream/orders", ACCT_A,
         RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
        {ALICE, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:" ACCT_A ":stream/orders2", ACCT_A,
         RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
        {ALICE, "kinesis:PutRecord", CONSUMER_A, ACCT_A, RN_AUTHZ_IMPLICIT_DENY_IDENTITY},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        rn_policy_ctx_t ctx;
        rn_policy_ctx_init(&ctx);
        set_principal(&ctx, t[i].who);
        ctx.action = t[i].action;
        ctx.resource = t[i].resource;
        ctx.resource_account = t[i].res_acct;
        const rn_policy_t *ids[1] = {p};
        rn_authz_t got = rn_policy_authorize(ids, 1, NULL, &ctx);
        CHECK_EQ_STR(rn_authz_name(got), rn_authz_name(t[i].want));
    }
    rn_policy_destroy(p);
}

/* ------------------------------------------------------------ wording -- */

static void test_messages(void)
{
    static const struct {
        rn_authz_t d;
        const char *want;
    } t[] = {
        {RN_AUTHZ_IMPLICIT_DENY_IDENTITY,
         "User: " ALICE " is not authorized to perform: kinesis:PutRecord on resource: " STREAM_A
         " because no identity-based policy allows the kinesis:PutRecord action"},
        {RN_AUTHZ_IMPLICIT_DENY_RESOURCE,
         "User: " ALICE " is not authorized to perform: kinesis:PutRecord on resource: " STREAM_A
         " because no resource-based policy allows the kinesis:PutRecord action"},
        {RN_AUTHZ_EXPLICIT_DENY_IDENTITY,
         "User: " ALICE " is not authorized to perform: kinesis:PutRecord on resource: " STREAM_A
         " with an explicit deny in an identity-based policy"},
        {RN_AUTHZ_EXPLICIT_DENY_RESOURCE,
         "User: " ALICE " is not authorized to perform: kinesis:PutRecord on resource: " STREAM_A
         " with an explicit deny in a resource-based policy"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        rn_buf_t b;
        rn_buf_init(&b, 4096);
        CHECK_EQ_INT(rn_policy_message(&b, t[i].d, ALICE, "kinesis:PutRecord", STREAM_A), 0);
        CHECK_EQ_STR((const char *)b.data, t[i].want);
        rn_buf_dispose(&b);
    }
    rn_buf_t b;
    rn_buf_init(&b, 4096);
    CHECK_EQ_INT(rn_policy_message(&b, RN_AUTHZ_ALLOW, ALICE, "kinesis:PutRecord", STREAM_A), RN_EINVAL);
    rn_buf_dispose(&b);
}

/* ------------------------------------------------------------ helpers -- */

static void test_glob(void)
{
    static const struct {
        const char *pat, *s;
        int fold, want;
    } t[] = {
        {"*", "", 0, 1},          {"*", "abc", 0, 1},       {"", "", 0, 1},          {"", "a", 0, 0},
        {"a*c", "abc", 0, 1},     {"a*c", "ac", 0, 1},      {"a*c", "ab", 0, 0},     {"a?c", "abc", 0, 1},
        {"a?c", "ac", 0, 0},      {"*a*a*a*", "aaa", 0, 1}, {"*a*a*a*", "aa", 0, 0}, {"A*", "abc", 0, 0},
        {"A*", "abc", 1, 1},      {"**", "x", 0, 1},        {"a*b*c", "axxbyyc", 0, 1}, {"a*b*c", "axxbyy", 0, 0},
        {"*ab", "aab", 0, 1},     {"?*", "", 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK_EQ_INT(rn_policy_glob(t[i].pat, strlen(t[i].pat), t[i].s, strlen(t[i].s), t[i].fold), t[i].want);
}

static void test_dates(void)
{
    static const struct {
        const char *s;
        int rc;
        long long ms;
    } t[] = {
        {"1970-01-01", 0, 0},
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2026-12-02T06:00:00Z", 0, 1796191200000LL},
        {"2026-12-02T06:00Z", 0, 1796191200000LL},
        {"2026-12-02T06:00:00", 0, 1796191200000LL},
        {"2026-12-02T06:00:00.250Z", 0, 1796191200250LL},
        {"2026-12-02T07:30:00+01:30", 0, 1796191200000LL},
        {"2026-12-02T04:00:00-0200", 0, 1796191200000LL},
        {"2026-12-02T08:00:00+02", 0, 1796191200000LL},
        {"1796191200", 0, 1796191200000LL},
        {"1796191200.5", 0, 1796191200500LL},
        {"2024-02-29", 0, 1709164800000LL},
        {"2023-02-29", RN_EINVAL, 0},
        {"2026-00-10", RN_EINVAL, 0},
        {"2026-12-32", RN_EINVAL, 0},
        {"2026-12-02T24:00:00Z", RN_EINVAL, 0},
        {"2026-12-02T06:00:00ZZ", RN_EINVAL, 0},
        {"2026-12-02 06:00:00", RN_EINVAL, 0},
        {"2026/12/02", RN_EINVAL, 0},
        {"", RN_EINVAL, 0},
        {"tomorrow", RN_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t ms = -1;
        int rc = rn_policy_parse_date(t[i].s, strlen(t[i].s), &ms);
        CHECK_EQ_INT(rc, t[i].rc);
        if (rc == 0 && t[i].rc == 0 && ms != t[i].ms) {
            rn_test_failures++;
            fprintf(stderr, "date %s: got %lld want %lld\n", t[i].s, (long long)ms, t[i].ms);
        }
    }
}

/* rn_policy_evaluate on its own: a Deny is reported with the Allow. */
static void test_evaluate(void)
{
    rn_policy_t *p = must_parse("{" V ",\"Statement\":[" RALLOW(AWSP(ACCT_B), "kinesis:*") "]}", RN_POLICY_RESOURCE);
    if (!p)
        return;
    rn_policy_ctx_t ctx;
    rn_policy_ctx_init(&ctx);
    set_principal(&ctx, BOB);
    ctx.action = "kinesis:GetRecords";
    ctx.resource = STREAM_A;
    rn_policy_match_t m;
    rn_policy_evaluate(p, &ctx, &m);
    CHECK(m.allows && !m.denies && !m.allow_names_principal);
    ctx.action = NULL; /* an incomplete context matches nothing */
    rn_policy_evaluate(p, &ctx, &m);
    CHECK(!m.allows && !m.denies);
    rn_policy_destroy(p);
}

int main(void)
{
    test_parse_table();
    test_parse_caps();
    test_decide_table();
    test_cond_table();
    test_cond_and();
    test_matrix();
    test_seed_statement();
    test_messages();
    test_glob();
    test_dates();
    test_evaluate();
    printf("tables: %zu parse, %zu decide, %zu condition cases\n", sizeof parse_cases / sizeof parse_cases[0],
           sizeof decide_cases / sizeof decide_cases[0], sizeof cond_cases / sizeof cond_cases[0]);
    return rn_test_done("test_auth_policy");
}
