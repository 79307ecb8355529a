/* ops_consumers.c: enhanced fan-out: RegisterStreamConsumer,
 * DeregisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers and
 * SubscribeToShard (KINESIS_CONTRACT §2.6, §4.12).
 *
 * Consumers live in memory (api->consumers) and each is persisted as the
 * metadata entry "consumer/<20-digit stream id>/<name>" = {"created_ms",
 * "active_ms"[, "tags": {key: value}][, "policy": "<document>"]} (entries
 * without tags or policy, as older versions wrote them, stay readable); they
 * are loaded on first use. The tags and the resource policy (TagResource,
 * PutResourcePolicy... on a consumer ARN, ops_tags.c) live in that entry, so
 * they go with the consumer. Stream ids are never reused,
 * so entries of a deleted stream can never reach a new one; they are
 * removed when the stream is deleted. Status is a function of time:
 * CREATING until active_ms (--consumer-delay), then ACTIVE; after
 * DeregisterStreamConsumer the entry is deleted at once and the consumer
 * stays DELETING in memory for the same delay.
 *
 * A subscription is a streaming response (net/http.h: HTTP/2 DATA or an
 * HTTP/1.1 chunked body, the same to this file) carrying event-stream
 * messages (net/eventstream.h). It is driven by one libevent
 * event, pump_ev, activated by: the shard log's commit listener (a record
 * became readable: no polling), the HTTP layer (queue drained, or the peer
 * left), the 5 s heartbeat and the start. The pump reads from the log while
 * less than SUB_QUEUE_MAX bytes wait in the HTTP queue, so a slow reader
 * holds at most about one event more than that: HTTP/2 flow control (on
 * HTTP/1.1, TCP) is the back-pressure. The subscription ends at its
 * lifetime, at the end of a closed shard (ChildShards, no ContinuationSequenceNumber), when taken
 * over, or on shutdown. */
#include "api/access.h"
#include "api/api_int.h"

#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/recordcrypt.h"
#include "core/reshard.h"
#include "net/eventstream.h"
#include "util/clock.h"
#include "util/log.h"
#include "wire/b64.h"
#include "wire/fast.h"

#define CONSUMERS_MAX 20          /* per stream (§4.12) */
#define CONSUMERS_CREATING_MAX 5  /* CREATING at once per stream */
#define SUB_QUEUE_MAX ((size_t)1024 * 1024)
#define SUB_READ_BYTES ((size_t)1024 * 1024)
#define SUB_READ_RECORDS 10000
#define SUB_HEARTBEAT_MS 5000
#define SUB_TAKEOVER_MS 5000
#define SUB_CALL_INTERVAL_MS 1000 /* one SubscribeToShard per second per consumer and shard */

typedef struct rn_consumer {
    uint64_t stream_id;
    char name[129];
    int64_t created_ms;
    int64_t active_ms;
    int64_t gone_ms; /* DELETING until then; 0 while registered */
    rn_tagset_t tags;
    char *policy;    /* resource policy document, NULL when none */
    uint64_t rev;    /* metadata revision of its entry (0: not written yet): compare-and-set */
    struct rn_consumer *next;
} rn_consumer_t;

typedef struct rn_sub {
    rn_api_t *api;
    rn_http_exchange_t *ex;
    uint64_t stream_id;
    uint32_t shard_index;
    char consumer[129];
    int64_t consumer_created_ms;
    uint64_t pos;               /* next counter to deliver */
    int64_t last_arrival_ms;    /* of the last record delivered (for the continuation) */
    int64_t started_ms;
    int64_t last_event_ms;
    int need_event;             /* send an event even with no records */
    int closed;                 /* the peer left (RN_HTTP_STREAM_CLOSED) */
    int cbor;                   /* the caller spoke CBOR: event payloads in CBOR */
    int64_t last_call_ms;       /* last SubscribeToShard for this consumer and shard */
    struct event *pump_ev, *beat_ev, *life_ev;
    rn_log_waiter_t waiter;
    struct rn_sub *prev, *next;
} rn_sub_t;

static const char *status_name(const rn_consumer_t *k, int64_t now)
{
    if (k->gone_ms)
        return "DELETING";
    return now < k->active_ms ? "CREATING" : "ACTIVE";
}

/* ---- persistence ------------------------------------------------------------------ */

static void kv_key(char *buf, size_t cap, uint64_t stream_id, const char *name)
{
    snprintf(buf, cap, "consumer/%020llu/%s", (unsigned long long)stream_id, name);
}

/* Set k's fields (not its stream id and name) from its entry. */
static int consumer_parse(rn_consumer_t *k, const char *key, const void *val, size_t len, uint64_t rev)
{
    json_t *j = json_loadb(val, len, 0, NULL);
    if (!j)
        return RN_ECORRUPT;
    k->created_ms = json_integer_value(json_object_get(j, "created_ms"));
    k->active_ms = json_integer_value(json_object_get(j, "active_ms"));
    rn_tagset_dispose(&k->tags);
    const char *tk;
    json_t *tv;
    json_object_foreach(json_object_get(j, "tags"), tk, tv)
    {
        if (json_is_string(tv) && rn_tagset_put(&k->tags, tk, json_string_value(tv)) != 0)
            rn_warn("cannot load the tags of consumer %s", key);
    }
    free(k->policy);
    k->policy = NULL;
    const char *pol = json_string_value(json_object_get(j, "policy"));
    if (pol && !(k->policy = strdup(pol)))
        rn_warn("cannot load the policy of consumer %s", key);
    k->rev = rev;
    json_decref(j);
    return 0;
}

static int load_one(void *ud, const char *key, const void *val, size_t len, uint64_t rev)
{
    rn_api_t *api = ud;
    unsigned long long sid;
    int off = 0;
    if (sscanf(key, "consumer/%20llu/%n", &sid, &off) != 1 || off <= 0)
        return 0;
    rn_consumer_t *k = calloc(1, sizeof *k);
    if (!k)
        return 0;
    k->stream_id = sid;
    snprintf(k->name, sizeof k->name, "%s", key + off);
    if (consumer_parse(k, key, val, len, rev) != 0) {
        free(k);
        return 0;
    }
    k->next = api->consumers;
    api->consumers = k;
    return 0;
}

static void consumers_load(rn_api_t *api)
{
    if (api->consumers_loaded)
        return;
    api->consumers_loaded = 1;
    if (rn_store_kv_scan(rn_registry_store(api->reg), "consumer/", load_one, api) != 0)
        rn_warn("cannot load the stream consumers");
}

static int consumer_save(rn_api_t *api, rn_consumer_t *k)
{
    char key[200];
    kv_key(key, sizeof key, k->stream_id, k->name);
    json_t *doc = json_pack("{s:I,s:I}", "created_ms", (json_int_t)k->created_ms, "active_ms",
                            (json_int_t)k->active_ms);
    if (!doc)
        return -1;
    if (k->tags.n) {
        json_t *tags = json_object();
        for (uint32_t i = 0; i < k->tags.n; i++)
            json_object_set_new(tags, k->tags.v[i].key, json_string(k->tags.v[i].value));
        json_object_set_new(doc, "tags", tags);
    }
    if (k->policy)
        json_object_set_new(doc, "policy", json_string(k->policy));
    char *val = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!val)
        return -1;
    /* at the revision this copy holds: a lost write changes nothing (model.c) */
    int rc = rn_store_kv_put_if(rn_registry_store(api->reg), key, val, strlen(val), k->rev, &k->rev);
    free(val);
    return rc;
}

/* Another node sharing the store changed k's entry first (RN_ECONFLICT):
 * take the stored one; a deleted entry makes k DELETING from now on. */
static void consumer_reload(rn_api_t *api, rn_consumer_t *k, int64_t now)
{
    char key[200];
    kv_key(key, sizeof key, k->stream_id, k->name);
    void *v = NULL;
    size_t len = 0;
    uint64_t rev = 0;
    int rc = rn_store_kv_get_rev(rn_registry_store(api->reg), key, &v, &len, &rev);
    if (rc == RN_ENOENT && !k->gone_ms)
        k->gone_ms = now;
    else if (rc == 0 && consumer_parse(k, key, v, len, rev) == 0)
        k->gone_ms = 0;
    free(v);
}

static void consumer_free(rn_consumer_t *k)
{
    rn_tagset_dispose(&k->tags);
    free(k->policy);
    free(k);
}

/* Drop consumers whose DELETING time is over. */
static void consumers_reap(rn_api_t *api, int64_t now)
{
    for (rn_consumer_t **pp = &api->consumers; *pp;) {
        rn_consumer_t *k = *pp;
        if (k->gone_ms && now >= k->gone_ms) {
            *pp = k->next;
            consumer_free(k);
        } else {
            pp = &k->next;
        }
    }
}

static rn_consumer_t *consumer_find(rn_api_t *api, uint64_t sid, const char *name)
{
    for (rn_consumer_t *k = api->consumers; k; k = k->next)
        if (k->stream_id == sid && strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

void rn_consumers_free(rn_api_t *api)
{
    while (api->consumers) {
        rn_consumer_t *k = api->consumers;
        api->consumers = k->next;
        consumer_free(k);
    }
}

static void consumer_arn(const rn_stream_t *s, const rn_consumer_t *k, char *buf, size_t cap)
{
    char sarn[512];
    rn_stream_arn(s, sarn, sizeof sarn);
    snprintf(buf, cap, "%s/consumer/%s:%lld", sarn, k->name, (long long)(k->created_ms / 1000));
}

static json_t *consumer_json(const rn_stream_t *s, const rn_consumer_t *k, int64_t now, int with_stream)
{
    char arn[1024];
    consumer_arn(s, k, arn, sizeof arn);
    json_t *j = json_object();
    json_object_set_new(j, "ConsumerName", json_string(k->name));
    json_object_set_new(j, "ConsumerARN", json_string(arn));
    json_object_set_new(j, "ConsumerStatus", json_string(status_name(k, now)));
    json_object_set_new(j, "ConsumerCreationTimestamp", rn_json_ts(k->created_ms));
    if (with_stream) {
        char sarn[512];
        rn_stream_arn(s, sarn, sizeof sarn);
        json_object_set_new(j, "StreamARN", json_string(sarn));
    }
    return j;
}

int rn_consumers_count(rn_api_t *api, const rn_stream_t *s, int64_t now_ms)
{
    consumers_load(api);
    consumers_reap(api, now_ms);
    int n = 0;
    for (rn_consumer_t *k = api->consumers; k; k = k->next)
        n += k->stream_id == s->id;
    return n;
}

static void sub_end(rn_sub_t *sub);

void rn_consumers_drop_stream(rn_api_t *api, const rn_stream_t *s)
{
    consumers_load(api);
    for (rn_consumer_t **pp = &api->consumers; *pp;) {
        rn_consumer_t *k = *pp;
        if (k->stream_id == s->id) {
            char key[200];
            kv_key(key, sizeof key, k->stream_id, k->name);
            (void)rn_store_kv_del(rn_registry_store(api->reg), key);
            *pp = k->next;
            consumer_free(k);
        } else {
            pp = &k->next;
        }
    }
    for (rn_sub_t *sub = api->subs; sub;) {
        rn_sub_t *nx = sub->next;
        if (sub->stream_id == s->id)
            sub_end(sub);
        sub = nx;
    }
}

/* ---- resolving consumers ------------------------------------------------------------ */

/* "<stream ARN>/consumer/<name>:<epoch s>" -> the stream and the consumer.
 * Fails with ResourceNotFoundException (InvalidArgumentException when the
 * ARN is malformed). */
static int resolve_arn(rn_call_t *c, const char *arn, rn_stream_t **s, rn_consumer_t **k)
{
    const char *mark = strstr(arn, "/consumer/");
    char sarn[2100], region[64], account[64], sname[256], cname[256];
    if (!mark || (size_t)(mark - arn) >= sizeof sarn)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid ConsumerARN.");
    memcpy(sarn, arn, (size_t)(mark - arn));
    sarn[mark - arn] = 0;
    const char *np = mark + 10, *colon = strrchr(np, ':');
    if (!colon || colon == np || (size_t)(colon - np) >= sizeof cname ||
        rn_parse_stream_arn(sarn, region, sizeof region, account, sizeof account, sname,
                            sizeof sname) != 0)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid ConsumerARN.");
    memcpy(cname, np, (size_t)(colon - np));
    cname[colon - np] = 0;
    long long ts = strtoll(colon + 1, NULL, 10);
    char msg[2400];
    snprintf(msg, sizeof msg, "Consumer %s, account %s not found.", arn, account);
    /* In the account and region the ARN names; another account's consumer
     * only as its resource policy allows (access.h). */
    if (strcmp(region, c->region) != 0)
        return rn_error_set(&c->err, RN_AWS_RESOURCE_NOT_FOUND, msg);
    *s = rn_registry_find(c->api->reg, account, region, sname);
    *k = NULL;
    if (*s && (*s)->status != RN_STREAM_DELETING) {
        consumers_load(c->api);
        consumers_reap(c->api, c->now_ms);
        *k = consumer_find(c->api, (*s)->id, cname);
        if (*k && (*k)->created_ms / 1000 != ts)
            *k = NULL;
    }
    if (rn_access_check(c, account, arn, *k ? (*k)->policy : NULL, *k ? &(*k)->tags : NULL) != 0)
        return -1;
    if (!*k)
        return rn_error_set(&c->err, RN_AWS_RESOURCE_NOT_FOUND, msg);
    return 0;
}

/* ConsumerARN, or StreamARN + ConsumerName (must not conflict). */
static int resolve_input(rn_call_t *c, rn_stream_t **s, rn_consumer_t **k)
{
    const char *arn = rn_arg_str(c, "ConsumerARN");
    const char *sarn = rn_arg_str(c, "StreamARN");
    const char *name = rn_arg_str(c, "ConsumerName");
    if (arn) {
        if (resolve_arn(c, arn, s, k) != 0)
            return -1;
        if ((name && strcmp(name, (*k)->name) != 0))
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "ConsumerARN and ConsumerName do not refer to the same consumer.");
        if (sarn) {
            char mine[512];
            rn_stream_arn(*s, mine, sizeof mine);
            if (strcmp(mine, sarn) != 0)
                return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                    "ConsumerARN and StreamARN do not refer to the same stream.");
        }
        return 0;
    }
    if (!sarn || !name)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "Either ConsumerARN or both StreamARN and ConsumerName must be given.");
    /* Authorised on the consumer's ARN, with its own tags and policy (as for
     * a ConsumerARN), before its existence or its stream's is told. */
    char region[64], account[64], sname[256], carn[2400];
    if (rn_parse_stream_arn(sarn, region, sizeof region, account, sizeof account, sname, sizeof sname) != 0)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid StreamARN.");
    if (strcmp(region, c->region) != 0)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, sname, account);
    *s = rn_registry_find(c->api->reg, account, region, sname);
    *k = NULL;
    if (*s) {
        consumers_load(c->api);
        consumers_reap(c->api, c->now_ms);
        *k = consumer_find(c->api, (*s)->id, name);
    }
    if (*k)
        consumer_arn(*s, *k, carn, sizeof carn);
    else
        snprintf(carn, sizeof carn, "%s/consumer/%s", sarn, name);
    if (rn_access_check(c, account, carn, *k ? (*k)->policy : NULL, *k ? &(*k)->tags : NULL) != 0)
        return -1;
    if (!*s)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, sname, account);
    if (!*k) {
        char msg[1024];
        snprintf(msg, sizeof msg, "Consumer %s under stream %s, account %s not found.", name,
                 (*s)->name, c->account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_NOT_FOUND, msg);
    }
    return 0;
}

/* ---- tags and policy of a consumer (ops_tags.c) ------------------------------------- */

struct rn_consumer *rn_consumer_lookup(rn_call_t *c, const rn_stream_t *s, const char *name,
                                       long long created_s)
{
    consumers_load(c->api);
    consumers_reap(c->api, c->now_ms);
    rn_consumer_t *k = consumer_find(c->api, s->id, name);
    return k && k->created_ms / 1000 == created_s ? k : NULL;
}

rn_consumer_res_t rn_consumer_res(struct rn_consumer *k)
{
    rn_consumer_res_t r = {&k->tags, &k->policy, k->name, k->gone_ms != 0};
    return r;
}

int rn_consumer_save(rn_api_t *api, struct rn_consumer *k)
{
    if (k->gone_ms) /* its entry is gone: never bring it back */
        return -1;
    int rc = consumer_save(api, k);
    if (rc == RN_ECONFLICT)
        consumer_reload(api, k, rn_now_ms());
    return rc;
}

/* ---- the four control operations ------------------------------------------------------ */

int rn_op_RegisterStreamConsumer(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    if (s->status != RN_STREAM_ACTIVE && s->status != RN_STREAM_UPDATING)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_ACTIVE, s->name, c->account,
                            rn_stream_status_name(s->status));
    const char *name = rn_arg_str(c, "ConsumerName");
    if (!name)
        return rn_error_set(&c->err, RN_AWS_VALIDATION,
                            "1 validation error detected: Value null at 'consumerName' failed to "
                            "satisfy constraint: Member must not be null");
    consumers_load(c->api);
    consumers_reap(c->api, c->now_ms);
    char msg[512];
    if (consumer_find(c->api, s->id, name)) {
        snprintf(msg, sizeof msg, "Consumer %s under stream %s already exists for account %s.", name,
                 s->name, c->account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
    }
    int n = 0, creating = 0;
    for (rn_consumer_t *k = c->api->consumers; k; k = k->next) {
        if (k->stream_id != s->id)
            continue;
        n++;
        creating += !k->gone_ms && c->now_ms < k->active_ms;
    }
    if (n >= CONSUMERS_MAX) {
        snprintf(msg, sizeof msg,
                 "Consumer limit of %d exceeded for stream %s under account %s.", CONSUMERS_MAX,
                 s->name, c->account);
        return rn_error_set(&c->err, RN_AWS_LIMIT_EXCEEDED, msg);
    }
    if (creating >= CONSUMERS_CREATING_MAX) {
        snprintf(msg, sizeof msg,
                 "Stream %s under account %s already has %d consumers in CREATING state.", s->name,
                 c->account, CONSUMERS_CREATING_MAX);
        return rn_error_set(&c->err, RN_AWS_LIMIT_EXCEEDED, msg);
    }
    json_t *tags = json_object_get(c->in, "Tags");
    if (tags && rn_tags_check(c, tags, NULL, name) != 0)
        return -1;
    rn_consumer_t *k = calloc(1, sizeof *k);
    if (!k)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    k->stream_id = s->id;
    snprintf(k->name, sizeof k->name, "%s", name);
    k->created_ms = c->now_ms;
    k->active_ms = c->now_ms + c->api->consumer_delay_ms;
    const char *tk;
    json_t *tv;
    json_object_foreach(tags, tk, tv)
    {
        if (rn_tagset_put(&k->tags, tk, json_string_value(tv) ? json_string_value(tv) : "") != 0) {
            consumer_free(k);
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        }
    }
    int rc = consumer_save(c->api, k);
    if (rc == RN_ECONFLICT) { /* registered meanwhile through another node: take that one */
        consumer_reload(c->api, k, c->now_ms);
        if (!k->gone_ms) {
            k->next = c->api->consumers;
            c->api->consumers = k;
            snprintf(msg, sizeof msg, "Consumer %s under stream %s already exists for account %s.", name,
                     s->name, c->account);
            return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
        }
    }
    if (rc) {
        consumer_free(k);
        return rn_fail_persist(c, rc);
    }
    k->next = c->api->consumers;
    c->api->consumers = k;
    json_t *out = json_object();
    json_object_set_new(out, "Consumer", consumer_json(s, k, c->now_ms, 0));
    rn_call_reply(c, out);
    return 0;
}

int rn_op_DeregisterStreamConsumer(rn_call_t *c)
{
    rn_stream_t *s;
    rn_consumer_t *k;
    if (resolve_input(c, &s, &k) != 0)
        return -1;
    if (!k->gone_ms) {
        char key[200];
        kv_key(key, sizeof key, k->stream_id, k->name);
        int rc = rn_store_kv_del_if(rn_registry_store(c->api->reg), key, k->rev);
        if (rc == RN_ECONFLICT)
            consumer_reload(c->api, k, c->now_ms); /* changed, or deregistered, elsewhere */
        if (rc)
            return rn_fail_persist(c, rc);
        k->gone_ms = c->now_ms + (c->api->consumer_delay_ms > 0 ? c->api->consumer_delay_ms : 0);
        for (rn_sub_t *sub = c->api->subs; sub;) {
            rn_sub_t *nx = sub->next;
            if (sub->stream_id == k->stream_id && strcmp(sub->consumer, k->name) == 0)
                sub_end(sub);
            sub = nx;
        }
        if (k->gone_ms <= c->now_ms)
            consumers_reap(c->api, c->now_ms + 1);
    }
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_DescribeStreamConsumer(rn_call_t *c)
{
    rn_stream_t *s;
    rn_consumer_t *k;
    if (resolve_input(c, &s, &k) != 0)
        return -1;
    json_t *out = json_object();
    json_object_set_new(out, "ConsumerDescription", consumer_json(s, k, c->now_ms, 1));
    rn_call_reply(c, out);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(rn_consumer_t *const *)a)->name, (*(rn_consumer_t *const *)b)->name);
}

int rn_op_ListStreamConsumers(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    int64_t max = 100;
    if (rn_arg_int(c, "MaxResults", &max) == 0 && (max < 1 || max > 10000))
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "MaxResults must be between 1 and 10000.");
    const char *after = rn_arg_str(c, "NextToken"); /* the last name of the previous page */
    consumers_load(c->api);
    consumers_reap(c->api, c->now_ms);
    rn_consumer_t *v[CONSUMERS_MAX * 2 + 8];
    size_t n = 0;
    for (rn_consumer_t *k = c->api->consumers; k && n < sizeof v / sizeof v[0]; k = k->next)
        if (k->stream_id == s->id)
            v[n++] = k;
    qsort(v, n, sizeof v[0], by_name);
    json_t *arr = json_array();
    json_t *out = json_object();
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (after && strcmp(v[i]->name, after) <= 0)
            continue;
        if ((int64_t)shown == max) {
            json_object_set_new(out, "NextToken", json_string(v[i - 1]->name));
            break;
        }
        json_array_append_new(arr, consumer_json(s, v[i], c->now_ms, 0));
        shown++;
    }
    json_object_set_new(out, "Consumers", arr);
    rn_call_reply(c, out);
    return 0;
}

/* ---- SubscribeToShard ------------------------------------------------------------------ */

static void sub_free(rn_sub_t *sub)
{
    rn_api_t *api = sub->api;
    if (sub->prev || api->subs == sub)
        api->n_subs--;
    if (sub->prev)
        sub->prev->next = sub->next;
    else if (api->subs == sub)
        api->subs = sub->next;
    if (sub->next)
        sub->next->prev = sub->prev;
    rn_log_unwatch(&sub->waiter);
    if (sub->pump_ev)
        event_free(sub->pump_ev);
    if (sub->beat_ev)
        event_free(sub->beat_ev);
    if (sub->life_ev)
        event_free(sub->life_ev);
    free(sub);
}

/* End the event stream after what is queued, and free the subscription. */
static void sub_end(rn_sub_t *sub)
{
    rn_http_stream_end(sub->ex);
    sub->ex = NULL;
    sub_free(sub);
}

void rn_subs_end_all(rn_api_t *api)
{
    while (api->subs)
        sub_end(api->subs);
}

void rn_subs_poke(rn_api_t *api)
{
    for (rn_sub_t *sub = api->subs; sub; sub = sub->next)
        event_active(sub->pump_ev, EV_READ, 0);
}

static void sub_wake(void *ud)
{
    rn_sub_t *sub = ud;
    event_active(sub->pump_ev, EV_READ, 0);
}

static void sub_http_event(void *ud, int what)
{
    rn_sub_t *sub = ud;
    if (what == RN_HTTP_STREAM_CLOSED)
        sub->closed = 1;
    event_active(sub->pump_ev, EV_READ, 0);
}

static void push_message(rn_sub_t *sub, const rn_es_header_t *h, size_t nh, const uint8_t *p, size_t n)
{
    rn_buf_t m;
    rn_buf_init(&m, 0);
    if (rn_es_encode(&m, h, nh, p, n) == 0)
        rn_http_stream_push(sub->ex, m.data, m.len);
    rn_buf_dispose(&m);
    sub->last_event_ms = rn_now_ms();
}

#define ES_H(n, v) {n, sizeof(n) - 1, v, strlen(v), 7}

/* p[0..n) is the event as JSON text; CBOR callers get it transcoded by the
 * event's shape (Data as a byte string, timestamps as tag 1 + ms, §2.6). */
static void push_event(rn_sub_t *sub, const char *type, const uint8_t *p, size_t n)
{
    rn_es_header_t h[] = {ES_H(":event-type", type),
                          ES_H(":content-type", rn_wire_content_type(sub->cbor ? RN_PROTO_CBOR : RN_PROTO_JSON)),
                          ES_H(":message-type", "event")};
    if (!sub->cbor) {
        push_message(sub, h, 3, p, n);
        return;
    }
    rn_buf_t cb;
    rn_buf_init(&cb, 0);
    int rc = strcmp(type, "initial-response") == 0
                 ? rn_wire_transcode_json_to_cbor(RN_OP_SubscribeToShard, p, n, &cb)
                 : rn_wire_transcode_event_to_cbor(RN_OP_SubscribeToShard, type, p, n, &cb);
    if (rc == 0)
        push_message(sub, h, 3, cb.data ? cb.data : (const uint8_t *)"", cb.len);
    else
        rn_warn("SubscribeToShard: cannot encode a %s event in CBOR", type);
    rn_buf_dispose(&cb);
}

/* An exception event, then the end of the stream (§2.6). */
static void push_exception(rn_sub_t *sub, const char *type, const char *message)
{
    json_t *j = json_pack("{s:s}", "message", message);
    rn_proto_t proto = sub->cbor ? RN_PROTO_CBOR : RN_PROTO_JSON;
    rn_buf_t b;
    rn_buf_init(&b, 0);
    int rc = j ? rn_wire_encode(proto, j, &b) : RN_ENOMEM;
    json_decref(j);
    rn_es_header_t h[] = {ES_H(":exception-type", type), ES_H(":content-type", rn_wire_content_type(proto)),
                          ES_H(":message-type", "exception")};
    if (rc == 0)
        push_message(sub, h, 3, b.data, b.len);
    rn_buf_dispose(&b);
}

static char *put_lit(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}
#define PUT_LIT(w, s) put_lit((w), (s), sizeof(s) - 1)

static void put_seq(char *w, const rn_shard_t *sh, uint64_t counter, int64_t arrival_ms)
{
    rn_seqnum_t sn = {.shard_created_s = (uint64_t)(sh->created_ms / 1000),
                      .shard_index = sh->index,
                      .counter = counter,
                      .arrival_s = (uint64_t)(arrival_ms / 1000)};
    rn_seqnum_format(&sn, w);
}

/* One SubscribeToShardEvent: records [pos, ...) up to the read limits, or
 * none. Returns 1 when the shard end was reached (the stream must end), 0
 * otherwise, -1 on a read error. */
static int send_event(rn_sub_t *sub, rn_stream_t *s, rn_shard_t *sh, rn_log_t *log, int64_t now)
{
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t *recs = NULL;
    size_t n = 0;
    uint64_t next = sub->pos;
    if (sub->pos < rn_log_committed(log)) {
        recs = malloc(SUB_READ_RECORDS * sizeof *recs);
        if (!recs || rn_log_read(log, sub->pos, SUB_READ_RECORDS, SUB_READ_BYTES, &scratch, recs, &n,
                                 &next) != 0) {
            free(recs);
            rn_buf_dispose(&scratch);
            return -1;
        }
    }
    /* Sealed records are opened in place, as GetRecords does. */
    if (n > 0 && s->has_datakey && rn_records_open(s, sh->index, recs, n) != 0) {
        free(recs);
        rn_buf_dispose(&scratch);
        return -1;
    }
    int at_end = rn_shard_ended(s, sh, next);
    size_t need = 128 + (at_end ? RN_CHILD_SHARDS_JSON_MAX : 0) + rn_records_json_max(recs, n);
    rn_buf_t body;
    rn_buf_init(&body, 0);
    if (rn_buf_reserve(&body, need) != 0) {
        free(recs);
        rn_buf_dispose(&scratch);
        return -1;
    }
    char *w = (char *)body.data;
    w = PUT_LIT(w, "{\"Records\":");
    w = rn_put_records_json(w, sh, recs, n);
    if (n > 0)
        sub->last_arrival_ms = recs[n - 1].arrival_ms;
    int64_t behind = 0;
    if (n > 0 && next < rn_log_committed(log))
        behind = now - recs[n - 1].arrival_ms;
    if (behind < 0)
        behind = 0;
    sub->pos = next;
    if (at_end) {
        w = PUT_LIT(w, ",\"MillisBehindLatest\":0,\"ChildShards\":");
        w += rn_put_child_shards(w, s, sh);
    } else {
        /* A resume point even with no records: AFTER_SEQUENCE_NUMBER of
         * (pos - 1) continues at pos. */
        char seq[RN_SEQNUM_LEN + 1];
        put_seq(seq, sh, sub->pos - 1, sub->last_arrival_ms ? sub->last_arrival_ms : sh->created_ms);
        w = PUT_LIT(w, ",\"ContinuationSequenceNumber\":\"");
        w = put_lit(w, seq, RN_SEQNUM_LEN);
        w = PUT_LIT(w, "\",\"MillisBehindLatest\":");
        w = rn_fast_put_int(w, behind);
    }
    *w++ = '}';
    body.len = (size_t)((uint8_t *)w - body.data);
    push_event(sub, "SubscribeToShardEvent", body.data, body.len);
    rn_buf_dispose(&body);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += recs[i].data_len + recs[i].pk_len;
    rn_metrics_subscribe_event(sub->api->metrics, s->account, s->region, s->name, bytes, (uint32_t)n, behind, 0);
    free(recs);
    rn_buf_dispose(&scratch);
    sub->need_event = 0;
    return at_end;
}

static void sub_pump(evutil_socket_t fd, short what, void *ud)
{
    rn_sub_t *sub = ud;
    rn_api_t *api = sub->api;
    if (sub->closed) { /* the peer left */
        sub_end(sub);
        return;
    }
    int64_t now = rn_now_ms();
    rn_stream_t *s = rn_registry_find_id(api->reg, sub->stream_id);
    rn_shard_t *sh = NULL;
    if (s && s->status != RN_STREAM_DELETING)
        for (uint32_t i = 0; i < s->n_shards; i++)
            if (s->shards[i].index == sub->shard_index)
                sh = &s->shards[i];
    rn_consumer_t *k = s ? consumer_find(api, s->id, sub->consumer) : NULL;
    if (!sh || !k || k->gone_ms) {
        push_exception(sub, "ResourceNotFoundException",
                       !sh ? "The stream or shard of this subscription no longer exists."
                           : "The consumer of this subscription no longer exists.");
        sub_end(sub);
        return;
    }
    rn_error_t kerr; /* the stream's KMS key changed state: its exception event, as AWS's model has it */
    if (rn_encryption_stream_key_error(api, s, now, &kerr) != 0) {
        push_exception(sub, kerr.code == RN_AWS_INTERNAL_FAILURE ? "InternalFailureException"
                                                                 : rn_aws_error_type(kerr.code),
                       kerr.has_message ? kerr.message : "Internal service failure.");
        sub_end(sub);
        return;
    }
    rn_log_t *log;
    if (rn_shard_log(api->reg, s, sh, &log) != 0) {
        push_exception(sub, "InternalFailureException", "Internal service failure.");
        sub_end(sub);
        return;
    }
    if (sub->waiter.log != log)
        rn_log_watch(log, &sub->waiter);
    while (rn_http_stream_queued(sub->ex) < SUB_QUEUE_MAX) {
        if (sub->pos < rn_log_first(log))
            sub->pos = rn_log_first(log);
        int more = sub->pos < rn_log_committed(log);
        if (!more && !sub->need_event && !rn_shard_ended(s, sh, sub->pos))
            break;
        int rc = send_event(sub, s, sh, log, now);
        if (rc < 0) {
            push_exception(sub, "InternalFailureException", "Internal service failure.");
            sub_end(sub);
            return;
        }
        if (rc == 1) {
            sub_end(sub);
            return;
        }
    }
}

static void sub_beat(evutil_socket_t fd, short what, void *ud)
{
    rn_sub_t *sub = ud;
    if (rn_now_ms() - sub->last_event_ms >= SUB_HEARTBEAT_MS - 100) {
        sub->need_event = 1;
        sub_pump(-1, 0, sub);
    }
}

static void sub_life(evutil_socket_t fd, short what, void *ud)
{
    sub_end(ud);
}

/* The first counter to deliver for StartingPosition. */
static int start_position(rn_call_t *c, rn_stream_t *s, rn_shard_t *sh, rn_log_t *log, uint64_t *pos)
{
    json_t *sp = json_object_get(c->in, "StartingPosition");
    const char *type = json_string_value(json_object_get(sp, "Type"));
    const char *seq = json_string_value(json_object_get(sp, "SequenceNumber"));
    json_t *tsj = json_object_get(sp, "Timestamp");
    if (!type)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "StartingPosition.Type is required.");
    char id[32];
    rn_format_shard_id(sh->index, id, sizeof id);
    int by_seq = strcmp(type, "AT_SEQUENCE_NUMBER") == 0 || strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0;
    if (by_seq && !seq)
        return rn_error_set(&c->err, RN_AWS_ITER_WITHOUT_SEQ, type);
    if (!by_seq && seq)
        return rn_error_set(&c->err, RN_AWS_ITER_WITH_SEQ, type);
    if (strcmp(type, "TRIM_HORIZON") == 0) {
        *pos = rn_log_first(log);
    } else if (strcmp(type, "LATEST") == 0) {
        *pos = sh->closed_ms ? sh->ending_counter + 1 : rn_log_next(log);
    } else if (strcmp(type, "AT_TIMESTAMP") == 0) {
        if (!tsj)
            return rn_error_set(&c->err, RN_AWS_ITER_NO_TIMESTAMP);
        int64_t ts = (int64_t)llround(json_number_value(tsj) * 1000.0);
        if (ts > c->now_ms)
            return rn_error_set(&c->err, RN_AWS_ITER_TS_FUTURE, (long long)ts, (long long)c->now_ms);
        if (rn_log_seek_time(log, ts, pos) != 0)
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    } else if (by_seq) {
        rn_seqnum_t sn;
        if (rn_seqnum_parse(seq, strlen(seq), &sn) != 0)
            return rn_error_set(&c->err, RN_AWS_BAD_STARTING_SEQ, seq, id, s->name, c->account);
        if (sn.shard_index != sh->index) {
            char other[32];
            rn_format_shard_id(sn.shard_index, other, sizeof other);
            return rn_error_set(&c->err, RN_AWS_SEQ_OTHER_SHARD, other, id);
        }
        if (sn.shard_created_s != (uint64_t)(sh->created_ms / 1000))
            return rn_error_set(&c->err, RN_AWS_SEQ_OTHER_STREAM, seq, id, s->name, c->account);
        *pos = sn.counter + (type[1] == 'F');
    } else {
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid StartingPosition.Type.");
    }
    if (*pos < rn_log_first(log))
        *pos = rn_log_first(log);
    return 0;
}

int rn_op_SubscribeToShard(rn_call_t *c)
{
    rn_api_t *api = c->api;
    const char *arn = rn_arg_str(c, "ConsumerARN");
    const char *shard_id = rn_arg_str(c, "ShardId");
    if (!arn || !shard_id)
        return rn_error_set(&c->err, RN_AWS_VALIDATION,
                            "1 validation error detected: ConsumerARN and ShardId are required");
    rn_stream_t *s;
    rn_consumer_t *k;
    if (resolve_arn(c, arn, &s, &k) != 0)
        return -1;
    if (k->gone_ms || c->now_ms < k->active_ms) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "Consumer %s with creation timestamp %lld under stream: %s , account %s is not in "
                 "ACTIVE status.",
                 k->name, (long long)(k->created_ms / 1000), s->name, c->account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
    }
    if (s->status != RN_STREAM_ACTIVE && s->status != RN_STREAM_UPDATING)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_ACTIVE, s->name, c->account,
                            rn_stream_status_name(s->status));
    if (rn_encryption_key_check(c, s, 0) != 0) /* the stream's KMS key (kms.h) */
        return -1;
    uint32_t idx;
    if (rn_parse_shard_id(shard_id, &idx) != 0)
        return rn_error_set(&c->err, RN_AWS_SHARD_UNPARSEABLE, shard_id, s->name, c->account);
    rn_shard_t *sh = NULL;
    for (uint32_t i = 0; i < s->n_shards; i++)
        if (s->shards[i].index == idx)
            sh = &s->shards[i];
    char id[32];
    rn_format_shard_id(idx, id, sizeof id);
    if (!sh)
        return rn_error_set(&c->err, RN_AWS_SHARD_NOT_FOUND, id, s->name, c->account);
    rn_log_t *log;
    int lrc = rn_shard_log(api->reg, s, sh, &log);
    if (lrc)
        return rn_fail_store(c, lrc);
    uint64_t pos;
    if (start_position(c, s, sh, log, &pos) != 0)
        return -1;
    /* One subscription per (consumer, shard): one call per second (more:
     * LimitExceededException); a newer one within 5 s is refused; later, it
     * takes over and the older one gets a ResourceInUseException event
     * before it ends (§2.6). The rate is counted against the open
     * subscription, so a call after it ended is not limited. */
    for (rn_sub_t *o = api->subs; o; o = o->next) {
        if (o->stream_id != s->id || o->shard_index != idx || strcmp(o->consumer, k->name) != 0)
            continue;
        char msg[512];
        if (c->now_ms - o->last_call_ms < SUB_CALL_INTERVAL_MS) {
            /* AWS's wording is not recorded (guess). */
            snprintf(msg, sizeof msg, "Rate exceeded for consumer %s and shard %s", arn, id);
            rn_metrics_subscribe_event(api->metrics, c->account, c->region, s->name, 0, 0, 0, 1);
            return rn_error_set(&c->err, RN_AWS_LIMIT_EXCEEDED, msg);
        }
        o->last_call_ms = c->now_ms;
        snprintf(msg, sizeof msg, "Another active subscription exists for this consumer: %s:%s:%s:%s",
                 c->account, s->name, id, k->name);
        if (c->now_ms - o->started_ms < SUB_TAKEOVER_MS)
            return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
        push_exception(o, "ResourceInUseException", msg);
        sub_end(o);
        break;
    }
    if (!api->base)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    rn_sub_t *sub = calloc(1, sizeof *sub);
    if (!sub)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    sub->api = api;
    sub->stream_id = s->id;
    sub->shard_index = idx;
    snprintf(sub->consumer, sizeof sub->consumer, "%s", k->name);
    sub->consumer_created_ms = k->created_ms;
    sub->pos = pos;
    sub->started_ms = sub->last_call_ms = c->now_ms;
    sub->cbor = c->proto == RN_PROTO_CBOR;
    sub->need_event = 1;
    sub->waiter.fn = sub_wake;
    sub->waiter.ud = sub;
    sub->pump_ev = event_new(api->base, -1, 0, sub_pump, sub);
    sub->beat_ev = event_new(api->base, -1, EV_PERSIST, sub_beat, sub);
    sub->life_ev = evtimer_new(api->base, sub_life, sub);
    if (!sub->pump_ev || !sub->beat_ev || !sub->life_ev) {
        sub_free(sub);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    if (rn_http_stream_start(c->ex, 200, "application/vnd.amazon.eventstream", sub_http_event, sub) != 0) {
        sub_free(sub); /* the peer left (or no memory) */
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    sub->ex = c->ex;
    sub->next = api->subs;
    if (api->subs)
        api->subs->prev = sub;
    api->subs = sub;
    api->n_subs++;
    rn_log_watch(log, &sub->waiter);
    push_event(sub, "initial-response", (const uint8_t *)"{}", 2);
    struct timeval beat = {SUB_HEARTBEAT_MS / 1000, (SUB_HEARTBEAT_MS % 1000) * 1000};
    struct timeval life = {(time_t)(api->sub_lifetime_ms / 1000), (suseconds_t)(api->sub_lifetime_ms % 1000) * 1000};
    event_add(sub->beat_ev, &beat);
    event_add(sub->life_ev, &life);
    event_active(sub->pump_ev, EV_READ, 0);
    rn_call_detach(c);
    return 0;
}
