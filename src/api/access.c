/* access.c: who may touch which resource, and how many accounts and
 * regions may hold state (access.h). */
#include "api/access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"

/* ---- wildcard matching ----------------------------------------------------------- */

static int eq_char(char a, char b, int ci)
{
    return ci ? rn_ascii_lower((unsigned char)a) == rn_ascii_lower((unsigned char)b) : a == b;
}

/* IAM's wildcards: '*' any run (also empty), '?' one character. Iterative,
 * with one backtrack point: linear in practice, O(n*m) at worst. */
static int glob_match(const char *pat, const char *s, int ci)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat && (*pat == '?' || eq_char(*pat, *s, ci))) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == 0;
}

/* ---- policy evaluation ------------------------------------------------------------- */

/* 1 if the string or list v has an element matching s. */
static int any_matches(json_t *v, const char *s, int ci)
{
    if (json_is_string(v))
        return glob_match(json_string_value(v), s, ci);
    if (!json_is_array(v))
        return 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (json_is_string(e) && glob_match(json_string_value(e), s, ci))
            return 1;
    }
    return 0;
}

static int principal_entry_is(const char *p, const char *account)
{
    char root[64];
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", account);
    return strcmp(p, "*") == 0 || strcmp(p, account) == 0 || strcmp(p, root) == 0;
}

/* 1 if the Principal names the account; -1 when it has parts runnel does
 * not understand (other principal kinds); 0 otherwise. */
static int principal_matches(json_t *pr, const char *account)
{
    if (json_is_string(pr))
        return strcmp(json_string_value(pr), "*") == 0 ? 1 : -1;
    if (!json_is_object(pr))
        return -1;
    int unknown = 0, hit = 0;
    const char *k;
    json_t *v;
    json_object_foreach(pr, k, v) {
        if (strcmp(k, "AWS") != 0) {
            unknown = 1;
            continue;
        }
        if (json_is_string(v)) {
            hit |= principal_entry_is(json_string_value(v), account);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (json_is_string(e) && principal_entry_is(json_string_value(e), account))
                    hit = 1;
            }
        } else {
            unknown = 1;
        }
    }
    return hit ? 1 : unknown ? -1 : 0;
}

static const char *const known_keys[] = {"Sid", "Effect", "Principal", "Action", "Resource"};

rn_policy_effect_t rn_policy_eval(const char *policy, const char *account, const char *action,
                                  const char *resource)
{
    if (!policy)
        return RN_POLICY_NONE;
    json_t *doc = json_loads(policy, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return RN_POLICY_NONE;
    }
    json_t *st = json_object_get(doc, "Statement");
    size_t n = json_is_array(st) ? json_array_size(st) : json_is_object(st) ? 1 : 0;
    int allow = 0, deny = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_array(st) ? json_array_get(st, i) : st;
        if (!json_is_object(s))
            continue;
        const char *effect = json_string_value(json_object_get(s, "Effect"));
        int is_allow = effect && strcmp(effect, "Allow") == 0;
        int is_deny = effect && strcmp(effect, "Deny") == 0;
        if (!is_allow && !is_deny)
            continue;
        int understood = 1;
        const char *k;
        json_t *v;
        json_object_foreach(s, k, v) {
            size_t j = 0;
            while (j < sizeof known_keys / sizeof *known_keys && strcmp(k, known_keys[j]) != 0)
                j++;
            if (j == sizeof known_keys / sizeof *known_keys)
                understood = 0; /* NotPrincipal, NotAction, NotResource, Condition, ... */
        }
        int pm = principal_matches(json_object_get(s, "Principal"), account);
        if (pm < 0)
            understood = 0;
        int act = any_matches(json_object_get(s, "Action"), action, 1);
        int res = any_matches(json_object_get(s, "Resource"), resource, 0);
        if (is_allow && understood && pm > 0 && act && res)
            allow = 1;
        /* A Deny counts with its conditions taken as met and its Not* parts as matching. */
        if (is_deny && pm != 0 && (act || json_object_get(s, "NotAction")) &&
            (res || json_object_get(s, "NotResource")))
            deny = 1;
    }
    json_decref(doc);
    return deny ? RN_POLICY_DENY : allow ? RN_POLICY_ALLOW : RN_POLICY_NONE;
}

/* ---- the access check ---------------------------------------------------------------- */

int rn_access_cross_account_op(rn_op_t op)
{
    switch (op) {
    case RN_OP_DescribeStream:
    case RN_OP_DescribeStreamSummary:
    case RN_OP_ListShards:
    case RN_OP_GetShardIterator:
    case RN_OP_GetRecords:
    case RN_OP_PutRecord:
    case RN_OP_PutRecords:
    case RN_OP_RegisterStreamConsumer:
    case RN_OP_ListStreamConsumers:
    case RN_OP_DescribeStreamConsumer:
    case RN_OP_SubscribeToShard:
        return 1;
    default:
        return 0;
    }
}

int rn_access_check(rn_call_t *c, const char *owner, const char *arn, const char *policy)
{
    if (strcmp(owner, c->account) == 0)
        return 0; /* issue 10: identity policies of the caller go here */
    const char *op = rn_op_name(c->op);
    char action[96];
    snprintf(action, sizeof action, "kinesis:%s", op);
    rn_policy_effect_t e = rn_policy_eval(policy, c->account, action, arn);
    if (e == RN_POLICY_DENY)
        return rn_error_set(&c->err, RN_AWS_ACCESS_DENIED_EXPLICIT, c->account, op, arn);
    if (e == RN_POLICY_ALLOW && rn_access_cross_account_op(c->op))
        return 0;
    return rn_error_set(&c->err, RN_AWS_ACCESS_DENIED, c->account, op, arn, op);
}

int rn_access_stream(rn_call_t *c, const char *region, const char *account, const char *name,
                     const char *arn, rn_stream_t **out)
{
    if (strcmp(region, c->region) != 0)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, name, account);
    rn_stream_t *s = rn_registry_find(c->api->reg, account, region, name);
    if (rn_access_check(c, account, arn, s ? s->policy : NULL) != 0)
        return -1;
    if (!s)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, name, account);
    *out = s;
    return 0;
}

int rn_access_token_stream(rn_call_t *c, const rn_stream_t *s, int bound, rn_aws_code_t bad_token,
                           const char *bad_message)
{
    if (strcmp(s->region, c->region) != 0 || (!bound && strcmp(s->account, c->account) != 0))
        return rn_error_set(&c->err, bad_token, bad_message);
    if (strcmp(s->account, c->account) == 0)
        return 0; /* the common case, on GetRecords' hot path: no ARN to build */
    char arn[512];
    rn_stream_arn(s, arn, sizeof arn);
    return rn_access_check(c, s->account, arn, s->policy);
}

/* ---- namespaces ------------------------------------------------------------------------ */

int rn_access_namespace(rn_call_t *c)
{
    if (c->op != RN_OP_CreateStream && c->op != RN_OP_UpdateAccountSettings)
        return 0;
    rn_api_t *api = c->api;
    /* The registry counts the pairs holding state as streams and settings come and
     * go, so this costs two lookups, not a scan. */
    if (rn_registry_namespace_held(api->reg, c->account, c->region) ||
        rn_registry_namespaces(api->reg) < (size_t)api->max_namespaces)
        return 0;
    return rn_error_set(&c->err, RN_AWS_NAMESPACE_LIMIT, c->account, c->region, api->max_namespaces);
}
