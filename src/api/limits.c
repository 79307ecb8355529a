/* limits.c: limit emulation under --enforce-limits (limits.h).
 *
 * A bucket holds up to `cap` units and refills at `rate` units per second;
 * its level is kept in thousandths of a unit, so `rate` units per second is
 * exactly `rate` thousandths per millisecond and refilling is integer
 * arithmetic. A request costing `cost` is admitted while the level covers
 * min(cost, cap), then charged in full: a record bigger than a second's
 * allowance passes on a full bucket and leaves a debt (the burst credit of
 * §4.7), and a 10 MiB GetRecords answer leaves a read debt that throttles
 * the shard's next calls for about four seconds (§3.6). */
#include "api/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024 * 1024)

/* Per shard (§5). */
#define PUT_BYTES_PER_S MIB
#define PUT_RECORDS_PER_S 1000
#define GET_CALLS_PER_S 5
#define GET_BYTES_PER_S (2 * MIB)
#define ITERATORS_PER_S 5

#define ON_DEMAND_STREAMS_MAX 50 /* per account and region (§4.7, §5) */

/* A bucket idle this long is full whatever its debt (10 MiB at 1 MiB/s
 * takes 10 s); bounds the refill product. */
#define REFILL_FULL_MS 1000000

static void refill(rn_bucket_t *b, int64_t cap, int64_t rate, int64_t now)
{
    if (b->at_ms == 0) {
        b->level = cap * 1000;
        b->at_ms = now;
        return;
    }
    int64_t dt = now - b->at_ms;
    b->at_ms = now; /* a clock moved back restarts the refill from now */
    if (dt <= 0)
        return;
    if (dt >= REFILL_FULL_MS)
        b->level = cap * 1000;
    else if ((b->level += dt * rate) > cap * 1000)
        b->level = cap * 1000;
}

/* Refill, then 1 if the bucket covers min(cost, cap). */
static int covers(rn_bucket_t *b, int64_t cap, int64_t rate, int64_t cost, int64_t now)
{
    refill(b, cap, rate, now);
    return b->level >= (cost < cap ? cost : cap) * 1000;
}

static void charge(rn_bucket_t *b, int64_t cost)
{
    b->level -= cost * 1000;
}

/* ---- per shard ------------------------------------------------------------------ */

int rn_limits_put(rn_call_t *c, rn_shard_t *sh, size_t bytes)
{
    rn_shard_rates_t *r = &sh->rates;
    int64_t now = c->now_ms;
    if (!covers(&r->put_bytes, PUT_BYTES_PER_S, PUT_BYTES_PER_S, (int64_t)bytes, now) ||
        !covers(&r->put_records, PUT_RECORDS_PER_S, PUT_RECORDS_PER_S, 1, now))
        return -1;
    charge(&r->put_bytes, (int64_t)bytes);
    charge(&r->put_records, 1);
    (void)c;
    return 0;
}

int rn_limits_put_fail(rn_call_t *c, const rn_stream_t *s, const rn_shard_t *sh)
{
    char id[32];
    rn_format_shard_id(sh->index, id, sizeof id);
    return rn_error_set(&c->err, RN_AWS_SHARD_THROTTLED, id, s->name, c->account);
}

int rn_limits_put_records(rn_call_t *c, const rn_fast_put_records_t *in, rn_shard_t *const *shard_of,
                          uint8_t *throttled)
{
    int n = 0;
    for (size_t i = 0; i < in->n; i++) {
        const rn_fast_record_t *r = &in->recs[i];
        throttled[i] = rn_limits_put(c, shard_of[i], r->data_len + r->pk.len) != 0;
        n += throttled[i];
    }
    return n;
}

size_t rn_limits_put_entry(char *w, const rn_call_t *c, const rn_stream_t *s, const rn_shard_t *sh)
{
    /* Stream names are [a-zA-Z0-9_.-] and accounts digits: nothing to escape. */
    char id[32];
    rn_format_shard_id(sh->index, id, sizeof id);
    int n = snprintf(w, RN_LIMITS_PUT_ENTRY_MAX,
                     "{\"ErrorCode\":\"ProvisionedThroughputExceededException\",\"ErrorMessage\":"
                     "\"Rate exceeded for shard %s in stream %.128s under account %.15s.\"}",
                     id, s->name, c->account);
    return n < 0 ? 0 : (size_t)n < RN_LIMITS_PUT_ENTRY_MAX ? (size_t)n : RN_LIMITS_PUT_ENTRY_MAX - 1;
}

int rn_limits_get(rn_call_t *c, const rn_stream_t *s, rn_shard_t *sh)
{
    rn_shard_rates_t *r = &sh->rates;
    int64_t now = c->now_ms;
    /* The byte bucket admits while it is not in debt; its charge comes after the read. */
    if (covers(&r->get_calls, GET_CALLS_PER_S, GET_CALLS_PER_S, 1, now) &&
        covers(&r->get_bytes, GET_BYTES_PER_S, GET_BYTES_PER_S, 0, now) && r->get_bytes.level > 0) {
        charge(&r->get_calls, 1);
        return 0;
    }
    char id[32];
    rn_format_shard_id(sh->index, id, sizeof id);
    return rn_error_set(&c->err, RN_AWS_READ_THROTTLED, c->account, s->name, id);
}

void rn_limits_got(rn_call_t *c, rn_shard_t *sh, size_t bytes)
{
    (void)c;
    charge(&sh->rates.get_bytes, (int64_t)bytes);
}

int rn_limits_iterator(rn_call_t *c, const rn_stream_t *s, rn_shard_t *sh)
{
    rn_bucket_t *b = &sh->rates.iterators;
    if (covers(b, ITERATORS_PER_S, ITERATORS_PER_S, 1, c->now_ms)) {
        charge(b, 1);
        return 0;
    }
    return rn_limits_put_fail(c, s, sh);
}

/* ---- control plane ------------------------------------------------------------------ */

/* The control-plane rates of §5, one row per limited operation: requests per
 * second, counted per account and region or per stream. Operations without
 * a row are not limited. */
enum { PER_ACCOUNT = 1, PER_STREAM = 2 };
typedef struct ctl_limit {
    int tps;
    int scope;
} ctl_limit_t;

static const ctl_limit_t ctl_limits[RN_OP_COUNT] = {
    [RN_OP_CreateStream] = {5, PER_ACCOUNT},
    [RN_OP_DeleteStream] = {5, PER_ACCOUNT},
    [RN_OP_ListStreams] = {5, PER_ACCOUNT},
    [RN_OP_DescribeStream] = {10, PER_ACCOUNT},
    [RN_OP_DescribeStreamSummary] = {20, PER_ACCOUNT},
    [RN_OP_DescribeLimits] = {1, PER_ACCOUNT},
    [RN_OP_ListShards] = {1000, PER_STREAM},
    [RN_OP_SplitShard] = {5, PER_ACCOUNT},
    [RN_OP_MergeShards] = {5, PER_ACCOUNT},
    [RN_OP_UpdateShardCount] = {10, PER_ACCOUNT},
    [RN_OP_AddTagsToStream] = {5, PER_ACCOUNT},
    [RN_OP_RemoveTagsFromStream] = {5, PER_ACCOUNT},
    [RN_OP_ListTagsForStream] = {5, PER_ACCOUNT},
    [RN_OP_TagResource] = {5, PER_ACCOUNT},
    [RN_OP_UntagResource] = {5, PER_ACCOUNT},
    [RN_OP_ListTagsForResource] = {5, PER_ACCOUNT},
    [RN_OP_DescribeAccountSettings] = {5, PER_ACCOUNT},
    [RN_OP_UpdateAccountSettings] = {5, PER_ACCOUNT},
    [RN_OP_UpdateStreamWarmThroughput] = {5, PER_ACCOUNT},
    [RN_OP_RegisterStreamConsumer] = {5, PER_STREAM},
    [RN_OP_DeregisterStreamConsumer] = {5, PER_STREAM},
    [RN_OP_DescribeStreamConsumer] = {20, PER_STREAM},
    [RN_OP_ListStreamConsumers] = {5, PER_STREAM},
    [RN_OP_CreateChannel] = {5, PER_ACCOUNT},
    [RN_OP_DeleteChannel] = {5, PER_ACCOUNT},
    [RN_OP_DescribeChannel] = {5, PER_ACCOUNT},
    [RN_OP_ListChannels] = {5, PER_ACCOUNT},
    [RN_OP_UpdateChannel] = {5, PER_ACCOUNT},
};

/* Buckets by key "<account>/<region>/<op>/<stream or empty>": open
 * addressing, never shrinks; past CTL_MAX keys new keys go unlimited. */
#define CTL_MAX 65536
typedef struct ctl_entry {
    uint64_t hash;
    char *key; /* NULL: free slot */
    rn_bucket_t b;
} ctl_entry_t;

struct rn_limits {
    ctl_entry_t *v;
    size_t cap; /* power of two */
    size_t n;
};

int rn_limits_create(rn_limits_t **out)
{
    rn_limits_t *l = calloc(1, sizeof *l);
    if (!l)
        return RN_ENOMEM;
    l->cap = 256;
    l->v = calloc(l->cap, sizeof *l->v);
    if (!l->v) {
        free(l);
        return RN_ENOMEM;
    }
    *out = l;
    return 0;
}

void rn_limits_destroy(rn_limits_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->cap; i++)
        free(l->v[i].key);
    free(l->v);
    free(l);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static ctl_entry_t *slot(ctl_entry_t *v, size_t cap, uint64_t h, const char *key)
{
    size_t i = (size_t)h & (cap - 1);
    while (v[i].key && (v[i].hash != h || strcmp(v[i].key, key) != 0))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static int grow(rn_limits_t *l)
{
    size_t cap = l->cap * 2;
    ctl_entry_t *v = calloc(cap, sizeof *v);
    if (!v)
        return RN_ENOMEM;
    for (size_t i = 0; i < l->cap; i++)
        if (l->v[i].key)
            *slot(v, cap, l->v[i].hash, l->v[i].key) = l->v[i];
    free(l->v);
    l->v = v;
    l->cap = cap;
    return 0;
}

/* The bucket of key, made on first use; NULL when the table is full. */
static rn_bucket_t *ctl_bucket(rn_limits_t *l, const char *key)
{
    uint64_t h = fnv1a(key);
    ctl_entry_t *e = slot(l->v, l->cap, h, key);
    if (e->key)
        return &e->b;
    if (l->n >= CTL_MAX)
        return NULL;
    if (2 * (l->n + 1) > l->cap) {
        if (grow(l) != 0)
            return NULL;
        e = slot(l->v, l->cap, h, key);
    }
    if (!(e->key = strdup(key)))
        return NULL;
    e->hash = h;
    e->b = (rn_bucket_t){0, 0};
    l->n++;
    return &e->b;
}

/* The stream a control-plane request names: StreamName, or the name in a
 * stream, consumer or resource ARN (".../stream/<name>[/...]"). NULL if none. */
static const char *request_stream(const rn_call_t *c, char *buf, size_t cap)
{
    const char *name = rn_arg_str(c, "StreamName");
    if (name)
        return name;
    static const char *const arns[] = {"StreamARN", "ConsumerARN", "ResourceARN"};
    for (size_t i = 0; i < sizeof arns / sizeof *arns; i++) {
        const char *arn = rn_arg_str(c, arns[i]);
        const char *p = arn ? strstr(arn, ":stream/") : NULL;
        if (!p)
            continue;
        p += 8;
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= cap)
            continue;
        memcpy(buf, p, n);
        buf[n] = 0;
        return buf;
    }
    return NULL;
}

static int on_demand_count(rn_call_t *c, int *out)
{
    rn_stream_t **v;
    size_t n;
    if (rn_registry_list(c->api->reg, c->account, c->region, &v, &n) != 0)
        return -1;
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i]->on_demand != 0;
    free(v);
    *out = k;
    return 0;
}

/* CreateStream or UpdateStreamMode that would add an on-demand stream past
 * the account's limit. Cases the handler answers otherwise (the stream
 * exists, is missing, is already on-demand) are left to it. */
static int on_demand_limit(rn_call_t *c)
{
    const char *mode = json_string_value(json_object_get(json_object_get(c->in, "StreamModeDetails"), "StreamMode"));
    if (c->op == RN_OP_CreateStream) {
        int on_demand = mode ? strcmp(mode, "ON_DEMAND") == 0 : !json_object_get(c->in, "ShardCount");
        const char *name = rn_arg_str(c, "StreamName");
        if (!on_demand || !name || rn_registry_find(c->api->reg, c->account, c->region, name))
            return 0;
    } else {
        rn_stream_t *s;
        if (!mode || strcmp(mode, "ON_DEMAND") != 0)
            return 0;
        if (rn_call_stream(c, &s) != 0) {
            rn_error_clear(&c->err);
            return 0;
        }
        if (s->on_demand)
            return 0;
    }
    int k;
    if (on_demand_count(c, &k) != 0 || k < ON_DEMAND_STREAMS_MAX)
        return 0;
    return rn_error_set(&c->err, RN_AWS_ON_DEMAND_LIMIT, c->account, ON_DEMAND_STREAMS_MAX, c->region);
}

int rn_limits_control(rn_call_t *c)
{
    if (c->op < 0 || c->op >= RN_OP_COUNT)
        return 0;
    if ((c->op == RN_OP_CreateStream || c->op == RN_OP_UpdateStreamMode) && c->in && on_demand_limit(c) != 0)
        return -1;
    const ctl_limit_t *lim = &ctl_limits[c->op];
    if (lim->tps == 0 || !c->in)
        return 0;
    char sbuf[160];
    const char *stream = request_stream(c, sbuf, sizeof sbuf);
    char key[256];
    snprintf(key, sizeof key, "%s/%s/%d/%.128s", c->account, c->region, (int)c->op,
             lim->scope == PER_STREAM && stream ? stream : "");
    rn_bucket_t *b = ctl_bucket(c->api->limits, key);
    if (!b)
        return 0;
    if (covers(b, lim->tps, lim->tps, 1, c->now_ms)) {
        charge(b, 1);
        return 0;
    }
    if (stream)
        return rn_error_set(&c->err, RN_AWS_STREAM_RATE, stream, c->account);
    return rn_error_set(&c->err, RN_AWS_ACCOUNT_RATE, c->account);
}
