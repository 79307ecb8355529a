/* access.c: who may touch which resource, and how many accounts and
 * regions may hold state (access.h). */
#include "api/access.h"
#include "api/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/buf.h"

/* ---- compiled resource policies ------------------------------------------------------ */

/* Resource policies are compiled on first use and kept: a direct-mapped
 * table keyed by the text's address, checked against a copy of the text (an
 * address can be reused by another document after a free). */
#define PCACHE_SLOTS 256

struct rn_pcache_ent {
    char *text;        /* copy of the document compiled */
    rn_policy_t *pol;  /* NULL when the document does not compile (no grant) */
};

void rn_access_cache_free(rn_api_t *api)
{
    if (!api->pcache)
        return;
    for (int i = 0; i < PCACHE_SLOTS; i++) {
        free(api->pcache[i].text);
        rn_policy_destroy(api->pcache[i].pol);
    }
    free(api->pcache);
    api->pcache = NULL;
}

const rn_policy_t *rn_access_policy(rn_api_t *api, const char *text)
{
    if (!text)
        return NULL;
    if (!api->pcache && !(api->pcache = calloc(PCACHE_SLOTS, sizeof *api->pcache)))
        return NULL;
    uintptr_t h = (uintptr_t)text;
    h ^= h >> 17;
    struct rn_pcache_ent *e = &api->pcache[(h >> 4) % PCACHE_SLOTS];
    if (e->text && strcmp(e->text, text) == 0)
        return e->pol;
    free(e->text);
    rn_policy_destroy(e->pol);
    e->pol = NULL;
    if (!(e->text = strdup(text)))
        return NULL;
    if (rn_policy_parse(text, strlen(text), RN_POLICY_RESOURCE, &e->pol, NULL, 0) != 0)
        e->pol = NULL;
    return e->pol;
}

rn_access_effect_t rn_access_eval(const char *policy, const char *account, const char *action,
                                  const char *resource)
{
    rn_policy_t *p = NULL;
    if (!policy || rn_policy_parse(policy, strlen(policy), RN_POLICY_RESOURCE, &p, NULL, 0) != 0)
        return RN_ACCESS_NONE;
    char root[64], owner[16] = "";
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", account);
    /* arn:aws:kinesis:<region>:<account>:... */
    const char *q = resource;
    for (int i = 0; i < 4 && q; i++)
        q = strchr(q, ':') ? strchr(q, ':') + 1 : NULL;
    if (q && strchr(q, ':') && strchr(q, ':') - q < (long)sizeof owner)
        snprintf(owner, sizeof owner, "%.*s", (int)(strchr(q, ':') - q), q);
    rn_policy_ctx_t ctx;
    rn_policy_ctx_init(&ctx);
    ctx.action = action;
    ctx.resource = resource;
    ctx.resource_account = owner;
    ctx.principal_arn = root;
    ctx.principal_account = account;
    rn_authz_t d = rn_policy_authorize(NULL, 0, p, &ctx);
    rn_policy_destroy(p);
    return d == RN_AUTHZ_ALLOW ? RN_ACCESS_ALLOW
           : d == RN_AUTHZ_EXPLICIT_DENY_RESOURCE || d == RN_AUTHZ_EXPLICIT_DENY_IDENTITY ? RN_ACCESS_DENY
                                                                                        : RN_ACCESS_NONE;
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

/* Condition keys beyond the built-ins: aws:ResourceTag/<k> from the
 * resource's tags, aws:RequestTag/<k> and aws:TagKeys from a tagging
 * request. */
#define CTX_KEYS (2 * RN_TAGS_MAX + 8)

typedef struct ctx_keys {
    rn_policy_kv_t kv[CTX_KEYS];
    const char *vals[CTX_KEYS];
    const char *tagkeys[RN_TAGS_MAX + 8];
    char *names[CTX_KEYS];
    size_t n, nnames, ntagkeys;
} ctx_keys_t;

static void key_add(ctx_keys_t *k, const char *prefix, const char *name, const char *value)
{
    if (k->n >= CTX_KEYS || !value)
        return;
    size_t pl = strlen(prefix), nl = strlen(name);
    char *full = malloc(pl + nl + 1);
    if (!full)
        return;
    memcpy(full, prefix, pl);
    memcpy(full + pl, name, nl + 1);
    k->names[k->nnames++] = full;
    k->vals[k->n] = value;
    k->kv[k->n] = (rn_policy_kv_t){full, &k->vals[k->n], 1};
    k->n++;
}

static void keys_fill(const rn_call_t *c, const rn_tagset_t *tags, ctx_keys_t *k)
{
    for (uint32_t i = 0; tags && i < tags->n; i++)
        key_add(k, "aws:ResourceTag/", tags->v[i].key, tags->v[i].value);
    switch (c->op) {
    case RN_OP_CreateStream:
    case RN_OP_AddTagsToStream:
    case RN_OP_TagResource:
    case RN_OP_RegisterStreamConsumer: {
        json_t *t = c->in ? json_object_get(c->in, "Tags") : NULL;
        const char *key;
        json_t *v;
        json_object_foreach(t, key, v) {
            key_add(k, "aws:RequestTag/", key, json_string_value(v));
            if (k->ntagkeys < sizeof k->tagkeys / sizeof *k->tagkeys)
                k->tagkeys[k->ntagkeys++] = key;
        }
        break;
    }
    case RN_OP_RemoveTagsFromStream:
    case RN_OP_UntagResource: {
        json_t *t = c->in ? json_object_get(c->in, "TagKeys") : NULL, *v;
        size_t i;
        json_array_foreach(t, i, v) {
            if (json_is_string(v) && k->ntagkeys < sizeof k->tagkeys / sizeof *k->tagkeys)
                k->tagkeys[k->ntagkeys++] = json_string_value(v);
        }
        break;
    }
    default:
        break;
    }
    if (k->ntagkeys && k->n < CTX_KEYS)
        k->kv[k->n++] = (rn_policy_kv_t){"aws:TagKeys", k->tagkeys, k->ntagkeys};
}

/* [p, p+n) into buf as a string, cut to cap - 1 bytes (snprintf's "%.*s"
 * without its formatting cost, on every verified request). */
static char *copy_n(char *buf, size_t cap, const char *p, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

/* "1.2.3.4:5678" -> "1.2.3.4"; "[::1]:5678" -> "::1". */
static const char *peer_ip(const char *peer, char *buf, size_t cap)
{
    if (!peer || !*peer)
        return NULL;
    if (*peer == '[') {
        const char *e = strchr(peer, ']');
        if (!e)
            return NULL;
        return copy_n(buf, cap, peer + 1, (size_t)(e - peer - 1));
    }
    const char *colon = strrchr(peer, ':');
    return copy_n(buf, cap, peer, colon ? (size_t)(colon - peer) : strlen(peer));
}

/* One action on one resource: 0, or -1 with c->err set to the denial. */
static int check_action(rn_call_t *c, const char *action, const char *owner, const char *arn,
                        const char *policy, const rn_tagset_t *tags)
{
    int same = strcmp(owner, c->account) == 0;
    char root[64], ipbuf[64];
    if (!c->who) /* developer mode: the caller is its account's root */
        snprintf(root, sizeof root, "arn:aws:iam::%s:root", c->account);
    rn_policy_ctx_t ctx;
    rn_policy_ctx_init(&ctx);
    ctx.action = action;
    ctx.resource = arn;
    ctx.resource_account = owner;
    ctx.principal_account = c->account;
    ctx.source_ip = peer_ip(c->peer, ipbuf, sizeof ipbuf);
    ctx.secure_transport = c->tls ? 1 : 0;
    ctx.now_ms = c->now_ms;
    const rn_policy_t *const *idp = NULL;
    size_t nidp = 0;
    if (c->who) {
        ctx.principal_arn = c->who->id->arn;
        ctx.principal_role_arn = c->who->role_arn[0] ? c->who->role_arn : NULL;
        ctx.username = c->who->username;
        idp = c->who->pols;
        nidp = c->who->npols;
    } else {
        ctx.principal_arn = root;
    }
    /* on the stack, not zeroed: the counters say what is filled (a calloc of
     * it showed in the profile of every verified request) */
    ctx_keys_t kbuf, *keys = c->who ? &kbuf : NULL;
    if (keys) {
        keys->n = keys->nnames = keys->ntagkeys = 0;
        keys_fill(c, tags, keys);
        ctx.keys = keys->kv;
        ctx.nkeys = keys->n;
    }
    /* Only the operations a resource policy can grant reach another account. */
    const rn_policy_t *rp = same || rn_access_cross_account_op(c->op) ? rn_access_policy(c->api, policy) : NULL;
    rn_authz_t d = rn_policy_authorize(idp, nidp, rp, &ctx);
    if (keys)
        for (size_t i = 0; i < keys->nnames; i++)
            free(keys->names[i]);
    if (d == RN_AUTHZ_ALLOW)
        return 0;
    rn_buf_t m;
    rn_buf_init(&m, 0);
    if (rn_policy_message(&m, d, ctx.principal_arn, ctx.action, arn) != 0 || rn_buf_append(&m, "", 1) != 0) {
        rn_buf_dispose(&m);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    rn_error_set(&c->err, RN_AWS_ACCESS_DENIED_POLICY, (const char *)m.data);
    rn_buf_dispose(&m);
    return -1;
}

/* The second permissions AWS's API reference asks of an operation given some
 * input (its "in addition to having the kinesis:<Op> permission, you must
 * also have ..." sentences): one row per rule, checked after the operation's
 * own action allowed, on the resource the second action acts on. */
typedef enum { ON_SAME, ON_NEW_CONSUMER } second_on_t;
static const struct {
    rn_op_t op;
    const char *input;  /* the input member whose presence asks for it */
    const char *action;
    second_on_t on;
} seconds[] = {
    /* CreateStream: "kinesis:AddTagsToStream permission for the stream that will be created.
     * The kinesis:TagResource permission won't work to tag streams on creation." */
    {RN_OP_CreateStream, "Tags", "kinesis:AddTagsToStream", ON_SAME},
    /* RegisterStreamConsumer: "kinesis:TagResource permission for the consumer that will be registered" */
    {RN_OP_RegisterStreamConsumer, "Tags", "kinesis:TagResource", ON_NEW_CONSUMER},
};

int rn_access_check(rn_call_t *c, const char *owner, const char *arn, const char *policy,
                    const rn_tagset_t *tags)
{
    if (!c->who && strcmp(owner, c->account) == 0)
        return 0; /* developer mode: the caller is its account's root */
    if (check_action(c, rn_op_iam_action(c->op), owner, arn, policy, tags) != 0)
        return -1;
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
        if (seconds[i].op != c->op || !c->in || !json_object_get(c->in, seconds[i].input))
            continue;
        if (seconds[i].on == ON_SAME) {
            if (check_action(c, seconds[i].action, owner, arn, policy, tags) != 0)
                return -1;
            continue;
        }
        /* the consumer to be registered: <stream ARN>/consumer/<name>:<creation epoch s>,
         * with no tags or policy of its own yet */
        const char *name = rn_arg_str(c, "ConsumerName");
        char carn[2400];
        snprintf(carn, sizeof carn, "%s/consumer/%s:%lld", arn, name ? name : "",
                 (long long)(c->now_ms / 1000));
        if (check_action(c, seconds[i].action, owner, carn, NULL, NULL) != 0)
            return -1;
    }
    c->authorized = 1;
    return 0;
}

int rn_access_action(rn_call_t *c, const char *action, const char *owner, const char *arn)
{
    return check_action(c, action, owner, arn, NULL, NULL);
}

int rn_access_op(rn_call_t *c)
{
    rn_op_res_t r = rn_op_iam_resource(c->op);
    if (r == RN_OP_RES_ANY)
        return rn_access_check(c, c->account, "*", NULL, NULL);
    if (c->op == RN_OP_CreateStream) {
        const char *name = rn_arg_str(c, "StreamName");
        char arn[512];
        snprintf(arn, sizeof arn, "arn:aws:kinesis:%s:%s:stream/%s", c->region, c->account, name ? name : "");
        return rn_access_check(c, c->account, arn, NULL, NULL);
    }
    return 0; /* the resolution paths check (rn_call_stream, rn_access_stream, ...) */
}

int rn_access_stream(rn_call_t *c, const char *region, const char *account, const char *name,
                     const char *arn, rn_stream_t **out)
{
    if (strcmp(region, c->region) != 0)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, name, account);
    rn_stream_t *s = rn_registry_find(c->api->reg, account, region, name);
    if (rn_access_check(c, account, arn, s ? s->policy : NULL, s ? &s->tags : NULL) != 0)
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
    if (!c->who && strcmp(s->account, c->account) == 0)
        return 0; /* the common case, on GetRecords' hot path: no ARN to build */
    char arn[512];
    rn_stream_arn(s, arn, sizeof arn);
    return rn_access_check(c, s->account, arn, s->policy, &s->tags);
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
