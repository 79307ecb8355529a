/* ops_reshard.c: the resharding family: SplitShard, MergeShards,
 * UpdateShardCount (KINESIS_CONTRACT §4.5), and the ChildShards list that
 * GetRecords returns at the end of a closed shard (§3.6).
 *
 * Checks run in this order, each with AWS's exception and message (§6):
 * shard ids usable (ResourceNotFoundException before the stream lookup);
 * stream found; provisioned (ValidationException for on-demand streams);
 * ACTIVE (ResourceInUseException); shards found ("Could not find shard");
 * shards open; the operation's own rules; limits. A rejected call changes
 * nothing. The change itself is core/reshard.c's, made between
 * rn_stream_undo_begin and rn_registry_commit_shards: it is persisted before
 * it is applied or answered, and a failure to persist (ServiceUnavailable
 * 503) leaves the stream as it was. Afterwards the stream goes through
 * UPDATING. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/reshard.h"
#include "util/log.h"

#define MAX_SHARDS_PER_STREAM 10000

/* The stream of a resharding call: found, provisioned and ACTIVE. */
static int reshard_stream(rn_call_t *c, rn_stream_t **out)
{
    if (rn_call_stream(c, out) != 0)
        return -1;
    rn_stream_t *s = *out;
    if (s->on_demand)
        return rn_error_set(&c->err, RN_AWS_ON_DEMAND_STREAM, s->name, c->account);
    if (s->status != RN_STREAM_ACTIVE)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_ACTIVE, s->name, c->account,
                            rn_stream_status_name(s->status));
    return 0;
}

/* An open shard of s named by the request member `member`; *index gets its
 * index (pointers are not kept: resharding moves the shard array). */
static int reshard_shard(rn_call_t *c, rn_stream_t *s, const char *member, uint32_t *index)
{
    const char *given = rn_arg_str(c, member);
    uint32_t idx;
    if (!given || rn_parse_shard_id(given, &idx) != 0)
        return rn_error_set(&c->err, RN_AWS_SHARD_UNPARSEABLE, given ? given : "", s->name, c->account);
    char id[32];
    rn_format_shard_id(idx, id, sizeof id);
    const rn_shard_t *sh = rn_stream_shard(s, idx);
    if (!sh)
        return rn_error_set(&c->err, RN_AWS_SHARD_UNPARSEABLE, id, s->name, c->account);
    if (sh->closed_ms)
        return rn_error_set(&c->err, RN_AWS_SHARD_CLOSED, id, s->name, c->account);
    *index = idx;
    return 0;
}

/* 1 when a shard id is usable: a decimal index in 0..2147483647, after an
 * optional "shardId-" prefix. */
static int shard_id_usable(const char *id)
{
    if (strncmp(id, "shardId-", 8) == 0)
        id += 8;
    if (!*id)
        return 0;
    uint64_t v = 0;
    for (; *id; id++) {
        if (*id < '0' || *id > '9')
            return 0;
        v = v * 10 + (uint64_t)(*id - '0');
        if (v > 2147483647ULL)
            return 0;
    }
    return 1;
}

/* AWS answers an unusable shard id before it looks the stream up (observed):
 * ResourceNotFoundException naming the id as given and the stream as the
 * request names it. */
static int reshard_ids_usable(rn_call_t *c, const char *m1, const char *m2)
{
    const char *members[] = {m1, m2};
    for (size_t i = 0; i < 2 && members[i]; i++) {
        const char *given = rn_arg_str(c, members[i]);
        if (!given || shard_id_usable(given))
            continue;
        const char *name = rn_arg_str(c, "StreamName");
        const char *arn = rn_arg_str(c, "StreamARN");
        char aname[256] = "", aregion[64], aaccount[64];
        const char *account = c->account;
        if (!name && arn &&
            rn_parse_stream_arn(arn, aregion, sizeof aregion, aaccount, sizeof aaccount, aname,
                                sizeof aname) == 0) {
            name = aname;
            account = aaccount;
        }
        return rn_error_set(&c->err, RN_AWS_SHARD_UNPARSEABLE, given, name ? name : "", account);
    }
    return 0;
}

/* Room for `more` open shards under the account's shard limit (§4.2). */
static int shard_quota(rn_call_t *c, int64_t more)
{
    rn_registry_t *reg = c->api->reg;
    int limit = rn_registry_config(reg)->shard_limit;
    int current = rn_registry_open_shard_count(reg, c->account, c->region);
    if (more > (int64_t)limit - current)
        return rn_error_set(&c->err, RN_AWS_SHARD_LIMIT, c->account, c->region, current, limit, (int)more);
    return 0;
}

/* Persist the change made since rn_stream_undo_begin (entering UPDATING):
 * on a failure the stream is put back as it was and the answer is 503. */
static int finish(rn_call_t *c, rn_stream_t *s, rn_stream_undo_t *u, json_t *out)
{
    int rc = rn_registry_commit_shards(c->api->reg, s, u, c->now_ms);
    if (rc) {
        rn_error("cannot persist the resharding of %s: %s (not applied)", s->name, rn_strerror(rc));
        json_decref(out);
        return rn_fail_persist(c, rc);
    }
    rn_call_reply(c, out);
    return 0;
}

/* The resharding itself failed (rc: a log could not be opened, or memory):
 * the stream is put back as it was. */
static int reshard_failed(rn_call_t *c, rn_stream_t *s, rn_stream_undo_t *u, int rc)
{
    rn_registry_undo(c->api->reg, s, u);
    return rn_fail_persist(c, rc);
}

/* With an update delay, a split or merge waits for the end of UPDATING
 * (model.h, rn_reshard_pending_t): the stream shows its shards unchanged
 * until then, as AWS does. Returns 1 when deferred (answered, or failed:
 * c->err set), 0 to apply it now. */
static int defer(rn_call_t *c, rn_stream_t *s, const rn_reshard_pending_t *p)
{
    if (rn_registry_config(c->api->reg)->update_delay_ms <= 0)
        return 0;
    int rc = rn_registry_begin_reshard(c->api->reg, s, p, c->now_ms);
    if (rc)
        rn_fail_persist(c, rc);
    else
        rn_call_reply(c, NULL);
    return 1;
}

/* ---- SplitShard -------------------------------------------------------------------- */

int rn_op_SplitShard(rn_call_t *c)
{
    rn_stream_t *s;
    uint32_t idx;
    if (reshard_ids_usable(c, "ShardToSplit", NULL) != 0 || reshard_stream(c, &s) != 0 ||
        reshard_shard(c, s, "ShardToSplit", &idx) != 0)
        return -1;
    const rn_shard_t *sh = rn_stream_shard(s, idx);
    const char *key = rn_arg_str(c, "NewStartingHashKey");
    rn_u128 k;
    /* The message says "greater than one plus StartingHashKey and less than
     * EndingHashKey": start + 1 < K < end, so each child has >= 2 keys. A key
     * of 2^128 or more (the model's pattern allows 39 digits) is out too. */
    int ok = key && rn_u128_parse(key, strlen(key), &k) == 0 && k > sh->start_hash &&
             k - sh->start_hash > 1 && k < sh->end_hash;
    if (!ok) {
        char id[32], a[48], b[48];
        rn_format_shard_id(idx, id, sizeof id);
        rn_u128_format(sh->start_hash, a);
        rn_u128_format(sh->end_hash, b);
        return rn_error_set(&c->err, RN_AWS_SPLIT_KEY_RANGE, key ? key : "", id, s->name, c->account, a, b);
    }
    if (shard_quota(c, 1) != 0)
        return -1;
    rn_reshard_pending_t p = {RN_PENDING_SPLIT, idx, 0, k};
    if (defer(c, s, &p))
        return c->err.code != RN_AWS_NONE ? -1 : 0;
    rn_stream_undo_t u;
    int rc = rn_stream_undo_begin(s, &u);
    if (rc)
        return rn_fail_persist(c, rc);
    rc = rn_reshard_split(c->api->reg, s, idx, k, c->now_ms, NULL, NULL);
    if (rc) {
        rn_error("split of %s shard %u failed: %s", s->name, idx, rn_strerror(rc));
        return reshard_failed(c, s, &u, rc);
    }
    return finish(c, s, &u, NULL);
}

/* ---- MergeShards -------------------------------------------------------------------- */

int rn_op_MergeShards(rn_call_t *c)
{
    rn_stream_t *s;
    uint32_t a, b;
    if (reshard_ids_usable(c, "ShardToMerge", "AdjacentShardToMerge") != 0 ||
        reshard_stream(c, &s) != 0 || reshard_shard(c, s, "ShardToMerge", &a) != 0 ||
        reshard_shard(c, s, "AdjacentShardToMerge", &b) != 0)
        return -1;
    const rn_shard_t *x = rn_stream_shard(s, a), *y = rn_stream_shard(s, b);
    /* Only ShardToMerge as the lower neighbour (AWS-observed): the reverse
     * order is not an eligible pair. */
    int adjacent = a != b && x->end_hash != RN_U128_MAX && x->end_hash + 1 == y->start_hash;
    if (!adjacent) {
        char ia[32], ib[32];
        rn_format_shard_id(a, ia, sizeof ia);
        rn_format_shard_id(b, ib, sizeof ib);
        return rn_error_set(&c->err, RN_AWS_SHARDS_NOT_ADJACENT, ia, ib, s->name, c->account);
    }
    rn_reshard_pending_t p = {RN_PENDING_MERGE, a, b, 0};
    if (defer(c, s, &p))
        return c->err.code != RN_AWS_NONE ? -1 : 0;
    rn_stream_undo_t u;
    int rc = rn_stream_undo_begin(s, &u);
    if (rc)
        return rn_fail_persist(c, rc);
    rc = rn_reshard_merge(c->api->reg, s, a, b, c->now_ms, NULL);
    if (rc) {
        rn_error("merge of %s shards %u and %u failed: %s", s->name, a, b, rn_strerror(rc));
        return reshard_failed(c, s, &u, rc);
    }
    return finish(c, s, &u, NULL);
}

/* ---- UpdateShardCount ----------------------------------------------------------------- */

int rn_op_UpdateShardCount(rn_call_t *c)
{
    rn_stream_t *s;
    if (reshard_stream(c, &s) != 0)
        return -1;
    int64_t target = 0;
    rn_arg_int(c, "TargetShardCount", &target); /* required and >= 1: the model checked */
    uint32_t open = rn_stream_open_count(s);
    long long t = (long long)target;
    if (target > MAX_SHARDS_PER_STREAM && target >= (int64_t)open)
        return rn_error_set(&c->err, RN_AWS_SCALE_MAX_LIMIT, MAX_SHARDS_PER_STREAM, open, t);
    if (target > 2 * (int64_t)open)
        return rn_error_set(&c->err, RN_AWS_SCALE_UP_LIMIT, open, t);
    if (2 * target < (int64_t)open)
        return rn_error_set(&c->err, RN_AWS_SCALE_DOWN_LIMIT, open, t);
    if (target > (int64_t)open && shard_quota(c, target - (int64_t)open) != 0)
        return -1;
    int done = rn_stream_scalings(s, c->now_ms);
    if (done >= RN_SCALING_MAX)
        return rn_error_set(&c->err, RN_AWS_SCALE_RATE_LIMIT, s->name, c->account, done, RN_SCALING_MAX);
    rn_stream_undo_t u;
    int rc = rn_stream_undo_begin(s, &u);
    if (rc)
        return rn_fail_persist(c, rc);
    rc = rn_reshard_uniform(c->api->reg, s, (uint32_t)target, c->now_ms, NULL);
    if (rc) {
        rn_error("scaling %s to %lld shards failed: %s", s->name, t, rn_strerror(rc));
        return reshard_failed(c, s, &u, rc);
    }
    rn_stream_note_scaling(s, c->now_ms); /* put back too by a failed commit */
    char arn[512];
    rn_stream_arn(s, arn, sizeof arn);
    json_t *out = json_pack("{s:s,s:s,s:I,s:I}", "StreamName", s->name, "StreamARN", arn, "CurrentShardCount",
                            (json_int_t)open, "TargetShardCount", (json_int_t)target);
    return finish(c, s, &u, out);
}

/* ---- ChildShards ------------------------------------------------------------------------ */

json_t *rn_json_child_shards(const rn_stream_t *s, const rn_shard_t *sh)
{
    const rn_shard_t *kids[RN_SHARD_CHILDREN_MAX];
    size_t n;
    if (sh->closed_ms == 0 || rn_shard_children(s, sh, kids, &n) != 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const rn_shard_t *k = kids[i];
        char id[32], p[32], a[48], b[48];
        json_t *parents = json_array();
        if (k->parent >= 0) {
            rn_format_shard_id((uint32_t)k->parent, p, sizeof p);
            json_array_append_new(parents, json_string(p));
        }
        if (k->adjacent_parent >= 0) {
            rn_format_shard_id((uint32_t)k->adjacent_parent, p, sizeof p);
            json_array_append_new(parents, json_string(p));
        }
        rn_format_shard_id(k->index, id, sizeof id);
        rn_u128_format(k->start_hash, a);
        rn_u128_format(k->end_hash, b);
        json_array_append_new(arr, json_pack("{s:s,s:o,s:{s:s,s:s}}", "ShardId", id, "ParentShards", parents,
                                             "HashKeyRange", "StartingHashKey", a, "EndingHashKey", b));
    }
    return arr;
}

size_t rn_put_child_shards(char *w, const rn_stream_t *s, const rn_shard_t *sh)
{
    const rn_shard_t *kids[RN_SHARD_CHILDREN_MAX];
    size_t n;
    if (sh->closed_ms == 0 || rn_shard_children(s, sh, kids, &n) != 0)
        return 0;
    /* Per child at most 83 bytes of names and punctuation, 3 shard ids of 20
     * and 2 hash keys of 39: 281 bytes; two children and brackets fit. */
    char *p = w;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        const rn_shard_t *k = kids[i];
        char id[32], par[32], adj[32], a[48], b[48];
        rn_format_shard_id(k->index, id, sizeof id);
        par[0] = adj[0] = 0;
        if (k->parent >= 0)
            rn_format_shard_id((uint32_t)k->parent, par, sizeof par);
        if (k->adjacent_parent >= 0)
            rn_format_shard_id((uint32_t)k->adjacent_parent, adj, sizeof adj);
        rn_u128_format(k->start_hash, a);
        rn_u128_format(k->end_hash, b);
        size_t room = RN_CHILD_SHARDS_JSON_MAX - (size_t)(p - w);
        int len = snprintf(p, room, "%s{\"ShardId\":\"%s\",\"ParentShards\":[%s%s%s%s%s%s%s],"
                           "\"HashKeyRange\":{\"StartingHashKey\":\"%s\",\"EndingHashKey\":\"%s\"}}",
                           i ? "," : "", id, par[0] ? "\"" : "", par, par[0] ? "\"" : "",
                           par[0] && adj[0] ? "," : "", adj[0] ? "\"" : "", adj, adj[0] ? "\"" : "", a, b);
        assert(len > 0 && (size_t)len < room);
        p += len;
    }
    *p++ = ']';
    return (size_t)(p - w);
}
