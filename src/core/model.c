/* model.c: the stream registry (see model.h): lookups, creation, deletion,
 * delayed state transitions, and persistence of each stream as one JSON
 * document in the store's metadata table. */
#include "core/model.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/recordcrypt.h"
#include "core/reshard.h"
#include "util/ascii.h"
#include "util/clock.h"
#include "util/log.h"

#define KEY_PREFIX "stream/"
#define ITER_KEY "meta/iterator-key"
#define ID_HWM_KEY "meta/stream-id-next" /* every stream id ever used is below it */
#define NAME_PREFIX "name/"                /* name/<account>/<region>/<name> -> id */
#define NAMES_KEY "meta/names-claimed"     /* every stream's name claimed (once, at upgrade) */
#define RETRY_MS 1000 /* a transition that could not be persisted is retried after this */
#define SWEEP_EVERY_MS 60000 /* retention sweep over open logs (rn_registry_tick) */

const char *const rn_metric_names[RN_METRIC_COUNT] = {
    "IncomingBytes",  "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
    "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
};

/* Open-addressing table of pointers by 64-bit hash (linear probing,
 * tombstones; rehashed when 70% full counting them). */
#define PTAB_TOMB ((void *)1)
typedef struct ptab {
    void **v;
    uint64_t *h;
    size_t cap, n, used; /* used: live + tombstones */
} ptab_t;

/* An account and region: its streams (unordered) and open-shard count. */
typedef struct rn_group {
    char account[16];
    char region[64];
    rn_stream_t **v;
    size_t n, cap;
    int64_t open_shards;
    int has_settings;      /* account settings are stored for the pair */
} rn_group_t;

struct rn_registry {
    rn_store_t *store;
    rn_registry_config_t cfg;
    rn_iter_key_t iter_key;
    rn_stream_t **streams; /* unordered; s->reg_pos is the position */
    size_t n, cap;
    ptab_t by_name;        /* account, region, name */
    ptab_t by_id;
    ptab_t groups;         /* account, region -> rn_group_t */
    size_t n_held;         /* groups holding state: a stream, or account settings */
    rn_stream_t **pend;    /* streams with a transition due (s->pend_pos) */
    size_t npend, pend_cap;
    uint64_t next_id;
    uint64_t hwm_saved;    /* the id high-water mark persisted in ID_HWM_KEY */
    int64_t last_sweep_ms; /* last retention sweep over open logs */
    uint8_t master_key[32]; /* cfg.master_key points here when one was given */
};

const char *rn_stream_status_name(rn_stream_status_t s)
{
    switch (s) {
    case RN_STREAM_CREATING:
        return "CREATING";
    case RN_STREAM_DELETING:
        return "DELETING";
    case RN_STREAM_ACTIVE:
        return "ACTIVE";
    case RN_STREAM_UPDATING:
        return "UPDATING";
    }
    return "ACTIVE";
}

static int status_parse(const char *s)
{
    for (int i = 0; i <= RN_STREAM_UPDATING; i++)
        if (strcmp(s, rn_stream_status_name((rn_stream_status_t)i)) == 0)
            return i;
    return RN_STREAM_ACTIVE;
}

/* ---- persistence ---------------------------------------------------------- */

/* The metadata key of stream id's document. */
static void id_key(uint64_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, KEY_PREFIX "%020" PRIu64, id);
}

static void stream_key(const rn_stream_t *s, char *buf, size_t cap)
{
    id_key(s->id, buf, cap);
}

static json_t *u128_json(rn_u128 v)
{
    char b[48];
    rn_u128_format(v, b);
    return json_string(b);
}

/* The stream's document as text (malloc'ed) into *out. With drop_before > 0,
 * closed shards that expired before it (rn_shard_expired) are left out. */
static int stream_doc(const rn_registry_t *r, const rn_stream_t *s, int64_t drop_now, char **out)
{
    json_t *doc = json_object();
    json_t *shards = json_array();
    if (!doc || !shards) {
        json_decref(doc);
        json_decref(shards);
        return RN_ENOMEM;
    }
    json_object_set_new(doc, "id", json_integer((json_int_t)s->id));
    json_object_set_new(doc, "account", json_string(s->account));
    json_object_set_new(doc, "region", json_string(s->region));
    json_object_set_new(doc, "name", json_string(s->name));
    json_object_set_new(doc, "status", json_string(rn_stream_status_name(s->status)));
    json_object_set_new(doc, "created_ms", json_integer(s->created_ms));
    json_object_set_new(doc, "transition_at_ms", json_integer(s->transition_at_ms));
    json_object_set_new(doc, "retention_hours", json_integer(s->retention_hours));
    json_object_set_new(doc, "on_demand", json_boolean(s->on_demand));
    json_object_set_new(doc, "max_record_kib", json_integer(s->max_record_kib));
    json_object_set_new(doc, "trim_floor_ms", json_integer(s->trim_floor_ms));
    json_object_set_new(doc, "metrics", json_integer(s->metrics));
    json_object_set_new(doc, "distribution", json_string(s->distribution_auto ? "AUTO" : "USER_PARTITION_KEY"));
    json_object_set_new(doc, "warm_mibps", json_integer(s->warm_mibps));
    if (s->policy)
        json_object_set_new(doc, "policy", json_string(s->policy));
    if (s->encrypted)
        json_object_set_new(doc, "encryption", json_string("KMS"));
    if (s->key_id)
        json_object_set_new(doc, "key_id", json_string(s->key_id));
    if (s->has_datakey) {
        char dk[RN_DATAKEY_TEXT_MAX];
        int drc = rn_datakey_to_text(r->cfg.master_key, (const rn_datakey_t *)s->datakey, dk);
        if (drc) {
            json_decref(doc);
            json_decref(shards);
            return drc;
        }
        json_object_set_new(doc, "datakey", json_string(dk));
        OPENSSL_cleanse(dk, sizeof dk);
    }
    json_t *tags = json_array();
    for (uint32_t i = 0; i < s->tags.n; i++)
        json_array_append_new(tags, json_pack("[s,s]", s->tags.v[i].key, s->tags.v[i].value));
    json_object_set_new(doc, "tags", tags);
    json_t *scaling = json_array();
    for (int i = 0; i < RN_SCALING_MAX; i++)
        if (s->scaling_ms[i])
            json_array_append_new(scaling, json_integer(s->scaling_ms[i]));
    json_object_set_new(doc, "scaling_ms", scaling);
    if (s->pending.kind != RN_PENDING_NONE) {
        json_t *pj = json_pack("{s:s,s:I}", "op", s->pending.kind == RN_PENDING_SPLIT ? "split" : "merge",
                               "a", (json_int_t)s->pending.a);
        if (pj && s->pending.kind == RN_PENDING_SPLIT)
            json_object_set_new(pj, "key", u128_json(s->pending.key));
        else if (pj)
            json_object_set_new(pj, "b", json_integer((json_int_t)s->pending.b));
        json_object_set_new(doc, "pending", pj);
    }
    if (s->deleted_creating)
        json_object_set_new(doc, "deleted_creating", json_true());
    for (uint32_t i = 0; i < s->n_shards; i++) {
        const rn_shard_t *sh = &s->shards[i];
        if (drop_now && rn_shard_expired(s, sh, drop_now))
            continue;
        json_t *j = json_object();
        json_object_set_new(j, "index", json_integer(sh->index));
        json_object_set_new(j, "start", u128_json(sh->start_hash));
        json_object_set_new(j, "end", u128_json(sh->end_hash));
        json_object_set_new(j, "parent", json_integer(sh->parent));
        json_object_set_new(j, "adjacent_parent", json_integer(sh->adjacent_parent));
        json_object_set_new(j, "created_ms", json_integer(sh->created_ms));
        json_object_set_new(j, "closed_ms", json_integer(sh->closed_ms));
        json_object_set_new(j, "ending_counter", json_integer((json_int_t)sh->ending_counter));
        json_array_append_new(shards, j);
    }
    json_object_set_new(doc, "shards", shards);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return RN_ENOMEM;
    *out = text;
    return 0;
}

/* Write the stream's document as it is in memory, if the stored one is
 * still the one this copy holds (compare-and-set on s->rev). Nothing else in
 * memory changes. RN_ECONFLICT: another writer sharing the store changed it
 * first; nothing was written and s is marked stale (the caller undoes its
 * change; the next lookup takes the stored document). */
static int stream_put(rn_registry_t *r, rn_stream_t *s, int64_t drop_now)
{
    char *text;
    int rc = stream_doc(r, s, drop_now, &text);
    if (rc)
        return rc;
    char key[64];
    stream_key(s, key, sizeof key);
    rc = rn_store_kv_put_if(r->store, key, text, strlen(text), s->rev, &s->rev);
    free(text);
    if (rc == RN_ECONFLICT)
        s->stale = 1;
    return rc;
}

static int u128_from(json_t *j, rn_u128 *out)
{
    const char *t = json_string_value(j);
    return t ? rn_u128_parse(t, strlen(t), out) : RN_ECORRUPT;
}

static void stream_free(rn_stream_t *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n_shards; i++)
        if (s->shards[i].log)
            rn_log_close(s->shards[i].log);
    free(s->shards);
    free(s->route);
    rn_tagset_dispose(&s->tags);
    free(s->policy);
    free(s->key_id);
    OPENSSL_cleanse(s->datakey, sizeof s->datakey);
    free(s);
}

static int stream_load(const rn_registry_t *r, const char *text, size_t len, rn_stream_t **out)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    if (!doc)
        return RN_ECORRUPT;
    int rc = RN_ECORRUPT;
    rn_stream_t *s = calloc(1, sizeof *s);
    if (!s) {
        json_decref(doc);
        return RN_ENOMEM;
    }
    const char *account = json_string_value(json_object_get(doc, "account"));
    const char *region = json_string_value(json_object_get(doc, "region"));
    const char *name = json_string_value(json_object_get(doc, "name"));
    const char *status = json_string_value(json_object_get(doc, "status"));
    json_t *shards = json_object_get(doc, "shards");
    if (!account || !region || !name || !status || !json_is_array(shards))
        goto out;
    s->id = (uint64_t)json_integer_value(json_object_get(doc, "id"));
    snprintf(s->account, sizeof s->account, "%s", account);
    snprintf(s->region, sizeof s->region, "%s", region);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->status = (rn_stream_status_t)status_parse(status);
    s->created_ms = json_integer_value(json_object_get(doc, "created_ms"));
    s->transition_at_ms = json_integer_value(json_object_get(doc, "transition_at_ms"));
    s->deleted_creating = json_is_true(json_object_get(doc, "deleted_creating"));
    json_t *pj = json_object_get(doc, "pending");
    if (json_is_object(pj)) {
        const char *op = json_string_value(json_object_get(pj, "op"));
        s->pending.a = (uint32_t)json_integer_value(json_object_get(pj, "a"));
        s->pending.b = (uint32_t)json_integer_value(json_object_get(pj, "b"));
        if (op && strcmp(op, "split") == 0 && u128_from(json_object_get(pj, "key"), &s->pending.key) == 0)
            s->pending.kind = RN_PENDING_SPLIT;
        else if (op && strcmp(op, "merge") == 0)
            s->pending.kind = RN_PENDING_MERGE;
    }
    s->retention_hours = (int)json_integer_value(json_object_get(doc, "retention_hours"));
    s->on_demand = json_is_true(json_object_get(doc, "on_demand"));
    s->max_record_kib = (int)json_integer_value(json_object_get(doc, "max_record_kib"));
    if (s->max_record_kib <= 0)
        s->max_record_kib = 1024;
    s->trim_floor_ms = json_integer_value(json_object_get(doc, "trim_floor_ms"));
    s->metrics = (uint32_t)json_integer_value(json_object_get(doc, "metrics")) & RN_METRICS_ALL;
    const char *dist = json_string_value(json_object_get(doc, "distribution"));
    s->distribution_auto = dist && strcmp(dist, "AUTO") == 0;
    s->warm_mibps = json_integer_value(json_object_get(doc, "warm_mibps"));
    const char *policy = json_string_value(json_object_get(doc, "policy"));
    if (policy && !(s->policy = strdup(policy))) {
        rc = RN_ENOMEM;
        goto out;
    }
    s->encrypted = json_string_value(json_object_get(doc, "encryption")) != NULL;
    const char *key_id = json_string_value(json_object_get(doc, "key_id"));
    if (key_id && !(s->key_id = strdup(key_id))) {
        rc = RN_ENOMEM;
        goto out;
    }
    const char *dk = json_string_value(json_object_get(doc, "datakey"));
    if (dk) {
        rc = rn_datakey_from_text(r->cfg.master_key, dk, (rn_datakey_t *)s->datakey);
        if (rc) {
            rn_error("stream %s: cannot read its data key: %s", name,
                     rc == RN_ENOENT ? "it is wrapped and no --master-key-file was given"
                     : rc == RN_ECORRUPT ? "wrong master key" : rn_strerror(rc));
            rc = RN_EPROTO; /* load_one stops start-up: never skip an encrypted stream */
            goto out;
        }
        s->has_datakey = 1;
    }
    json_t *tags = json_object_get(doc, "tags");
    for (size_t i = 0; i < json_array_size(tags); i++) {
        const char *k = json_string_value(json_array_get(json_array_get(tags, i), 0));
        const char *v = json_string_value(json_array_get(json_array_get(tags, i), 1));
        if (k && v && (rc = rn_tagset_put(&s->tags, k, v)) != 0)
            goto out;
    }
    rc = RN_ECORRUPT;
    json_t *scaling = json_object_get(doc, "scaling_ms");
    for (size_t i = 0; i < json_array_size(scaling) && i < RN_SCALING_MAX; i++)
        s->scaling_ms[i] = json_integer_value(json_array_get(scaling, i));
    s->n_shards = (uint32_t)json_array_size(shards);
    s->shards = calloc(s->n_shards ? s->n_shards : 1, sizeof *s->shards);
    if (!s->shards) {
        rc = RN_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < s->n_shards; i++) {
        json_t *j = json_array_get(shards, i);
        rn_shard_t *sh = &s->shards[i];
        sh->index = (uint32_t)json_integer_value(json_object_get(j, "index"));
        if (u128_from(json_object_get(j, "start"), &sh->start_hash) ||
            u128_from(json_object_get(j, "end"), &sh->end_hash))
            goto out;
        sh->parent = json_integer_value(json_object_get(j, "parent"));
        sh->adjacent_parent = json_integer_value(json_object_get(j, "adjacent_parent"));
        sh->created_ms = json_integer_value(json_object_get(j, "created_ms"));
        sh->closed_ms = json_integer_value(json_object_get(j, "closed_ms"));
        sh->ending_counter = (uint64_t)json_integer_value(json_object_get(j, "ending_counter"));
    }
    rc = 0;
out:
    json_decref(doc);
    if (rc) {
        stream_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- indexes -------------------------------------------------------------------- */

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL; /* a separator: ("ab","c") != ("a","bc") */
}

static uint64_t hash_group(const char *account, const char *region)
{
    return hash_str(hash_str(0xcbf29ce484222325ULL, account), region);
}

static uint64_t hash_name(const char *account, const char *region, const char *name)
{
    return hash_str(hash_group(account, region), name);
}

static uint64_t hash_id(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return id;
}

static int ptab_grow(ptab_t *t)
{
    size_t cap = t->cap ? (t->n * 2 + 16 > t->cap ? t->cap * 2 : t->cap) : 64;
    void **v = calloc(cap, sizeof *v);
    uint64_t *h = calloc(cap, sizeof *h);
    if (!v || !h) {
        free(v);
        free(h);
        return RN_ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->v[i] || t->v[i] == PTAB_TOMB)
            continue;
        size_t j = t->h[i] & (cap - 1);
        while (v[j])
            j = (j + 1) & (cap - 1);
        v[j] = t->v[i];
        h[j] = t->h[i];
    }
    free(t->v);
    free(t->h);
    t->v = v;
    t->h = h;
    t->cap = cap;
    t->used = t->n;
    return 0;
}

/* Room for one more entry (call before anything else changes). */
static int ptab_reserve(ptab_t *t)
{
    return (t->used + 1) * 10 >= t->cap * 7 ? ptab_grow(t) : 0;
}

static void ptab_put(ptab_t *t, uint64_t h, void *p)
{
    size_t j = h & (t->cap - 1);
    while (t->v[j] && t->v[j] != PTAB_TOMB)
        j = (j + 1) & (t->cap - 1);
    if (!t->v[j])
        t->used++;
    t->v[j] = p;
    t->h[j] = h;
    t->n++;
}

static void ptab_del(ptab_t *t, uint64_t h, const void *p)
{
    if (!t->cap)
        return;
    for (size_t j = h & (t->cap - 1); t->v[j]; j = (j + 1) & (t->cap - 1)) {
        if (t->v[j] == p) {
            t->v[j] = PTAB_TOMB;
            t->n--;
            return;
        }
    }
}

/* Iterate the candidates with hash h: start with *j = SIZE_MAX. */
static void *ptab_next(const ptab_t *t, uint64_t h, size_t *j)
{
    if (!t->cap)
        return NULL;
    *j = *j == SIZE_MAX ? h & (t->cap - 1) : (*j + 1) & (t->cap - 1);
    for (; t->v[*j]; *j = (*j + 1) & (t->cap - 1))
        if (t->v[*j] != PTAB_TOMB && t->h[*j] == h)
            return t->v[*j];
    return NULL;
}

static void ptab_free(ptab_t *t)
{
    free(t->v);
    free(t->h);
    memset(t, 0, sizeof *t);
}

static rn_group_t *group_find(const rn_registry_t *r, const char *account, const char *region)
{
    uint64_t h = hash_group(account, region);
    size_t j = SIZE_MAX;
    for (rn_group_t *g; (g = ptab_next(&r->groups, h, &j)) != NULL;)
        if (strcmp(g->account, account) == 0 && strcmp(g->region, region) == 0)
            return g;
    return NULL;
}

/* A pair holds state while it has a stream (in any state) or account settings. */
static int group_held(const rn_group_t *g)
{
    return g->n > 0 || g->has_settings;
}

/* The group of a pair, made (empty) when absent; NULL without memory. */
static rn_group_t *group_get(rn_registry_t *r, const char *account, const char *region)
{
    rn_group_t *g = group_find(r, account, region);
    if (g)
        return g;
    if (ptab_reserve(&r->groups))
        return NULL;
    g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    snprintf(g->account, sizeof g->account, "%s", account);
    snprintf(g->region, sizeof g->region, "%s", region);
    ptab_put(&r->groups, hash_group(g->account, g->region), g);
    return g;
}

static void group_mark_settings(rn_registry_t *r, rn_group_t *g)
{
    if (g->has_settings)
        return;
    if (!group_held(g))
        r->n_held++;
    g->has_settings = 1;
}

/* "account/<acct>/<region>/settings" entries, read at open: their pairs hold state. */
#define SETTINGS_PREFIX "account/"
static int load_settings_key(void *ud, const char *key, const void *val, size_t len, uint64_t rev)
{
    rn_registry_t *r = ud;
    (void)val;
    (void)len;
    const char *a = key + strlen(SETTINGS_PREFIX), *slash = strchr(a, '/');
    const char *rg = slash ? slash + 1 : NULL, *end = rg ? strchr(rg, '/') : NULL;
    char account[16], region[64];
    if (!end || strcmp(end, "/settings") != 0 || (size_t)(slash - a) >= sizeof account ||
        (size_t)(end - rg) >= sizeof region)
        return 0;
    memcpy(account, a, (size_t)(slash - a));
    account[slash - a] = 0;
    memcpy(region, rg, (size_t)(end - rg));
    region[end - rg] = 0;
    rn_group_t *g = group_get(r, account, region);
    if (!g)
        return RN_ENOMEM;
    group_mark_settings(r, g);
    return 0;
}

static uint32_t open_count(const rn_stream_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_shards; i++)
        n += s->shards[i].closed_ms == 0;
    return n;
}

void rn_registry_recount(rn_registry_t *r, rn_stream_t *s)
{
    (void)r;
    /* a pending split already counts its new shard against the limit */
    uint32_t n = open_count(s) + (s->pending.kind == RN_PENDING_SPLIT);
    if (s->group)
        s->group->open_shards += (int64_t)n - (int64_t)s->open_counted;
    s->open_counted = n;
}

static void pend_add(rn_registry_t *r, rn_stream_t *s)
{
    if (s->pend_pos >= 0)
        return;
    if (r->npend == r->pend_cap) {
        size_t cap = r->pend_cap ? r->pend_cap * 2 : 16;
        rn_stream_t **p = realloc(r->pend, cap * sizeof *p);
        if (!p) {
            /* Cannot track it: retried when the stream is next changed; the
             * state on disk is right and is applied at the next start. */
            rn_error("stream %s: out of memory tracking its %s transition", s->name,
                     rn_stream_status_name(s->status));
            return;
        }
        r->pend = p;
        r->pend_cap = cap;
    }
    s->pend_pos = (int64_t)r->npend;
    r->pend[r->npend++] = s;
}

static void pend_del(rn_registry_t *r, rn_stream_t *s)
{
    if (s->pend_pos < 0)
        return;
    size_t i = (size_t)s->pend_pos;
    r->pend[i] = r->pend[--r->npend];
    r->pend[i]->pend_pos = (int64_t)i;
    s->pend_pos = -1;
}

/* Put s in every index. All-or-nothing. */
static int registry_add(rn_registry_t *r, rn_stream_t *s)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        rn_stream_t **p = realloc(r->streams, cap * sizeof *p);
        if (!p)
            return RN_ENOMEM;
        r->streams = p;
        r->cap = cap;
    }
    if (ptab_reserve(&r->by_name) || ptab_reserve(&r->by_id))
        return RN_ENOMEM;
    rn_group_t *g = group_get(r, s->account, s->region);
    if (!g)
        return RN_ENOMEM;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        rn_stream_t **p = realloc(g->v, cap * sizeof *p);
        if (!p)
            return RN_ENOMEM; /* an empty group stays: harmless */
        g->v = p;
        g->cap = cap;
    }
    if (!group_held(g))
        r->n_held++;
    s->group = g;
    s->group_pos = g->n;
    g->v[g->n++] = s;
    s->open_counted = 0;
    rn_registry_recount(r, s);
    s->reg_pos = r->n;
    r->streams[r->n++] = s;
    ptab_put(&r->by_name, hash_name(s->account, s->region, s->name), s);
    ptab_put(&r->by_id, hash_id(s->id), s);
    s->pend_pos = -1;
    if (s->status != RN_STREAM_ACTIVE)
        pend_add(r, s);
    if (s->id >= r->next_id)
        r->next_id = s->id + 1;
    return 0;
}

/* Take s out of every index (not freed). */
static void registry_unlink(rn_registry_t *r, rn_stream_t *s)
{
    pend_del(r, s);
    ptab_del(&r->by_name, hash_name(s->account, s->region, s->name), s);
    ptab_del(&r->by_id, hash_id(s->id), s);
    rn_group_t *g = s->group;
    if (g) {
        g->open_shards -= s->open_counted;
        g->v[s->group_pos] = g->v[--g->n];
        g->v[s->group_pos]->group_pos = s->group_pos;
        s->group = NULL;
        if (!group_held(g))
            r->n_held--;
    }
    s->open_counted = 0;
    size_t i = s->reg_pos;
    r->streams[i] = r->streams[--r->n];
    r->streams[i]->reg_pos = i;
}

/* Parse the id out of "stream/<20 digits>"; 0 when it is not one. */
static uint64_t key_id(const char *key)
{
    const char *p = key + strlen(KEY_PREFIX);
    uint64_t v = 0;
    if (!*p)
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

static void note_id(rn_registry_t *r, uint64_t id)
{
    if (id != UINT64_MAX && id >= r->next_id)
        r->next_id = id + 1;
}

static int load_one(void *ud, const char *key, const void *val, size_t len, uint64_t rev)
{
    rn_registry_t *r = ud;
    rn_stream_t *s;
    uint64_t kid = key_id(key);
    note_id(r, kid); /* counted whatever the document holds: never given to a new stream */
    int rc = stream_load(r, val, len, &s);
    if (rc == RN_EPROTO)
        return rc; /* a data key that cannot be read (logged): refuse to start */
    if (rc == 0 && kid && s->id != kid) {
        note_id(r, s->id);
        stream_free(s);
        rc = RN_ECORRUPT;
    }
    if (rc == 0 && rn_registry_find(r, s->account, s->region, s->name)) {
        stream_free(s);
        rc = RN_EEXIST;
    }
    if (rc == 0)
        s->rev = rev;
    if (rc) {
        rn_warn("metadata entry %s is unreadable (%s): its stream is not loaded; the entry is kept "
                "as it is and its id (%" PRIu64 ") is never given to another stream",
                key, rn_strerror(rc), kid);
        return 0;
    }
    rc = registry_add(r, s);
    if (rc)
        stream_free(s);
    return rc;
}

/* ---- writers sharing the store ------------------------------------------------
 * In cluster mode several runnel nodes keep a registry each over one store
 * (docs/cluster.md). Every metadata write is a compare-and-set on the
 * revision the writer last saw, so that two changes made at once never lose
 * one: the loser's write is refused (RN_ECONFLICT), its copy is refreshed
 * from the store at the next lookup, and its caller answers "retry".
 *   ID_HWM_KEY          every stream id ever handed out is below it: raised
 *                       with compare-and-set when a stream is created, so
 *                       two writers never hand out one id;
 *   NAME_PREFIX a/r/n   the id of the stream named n in account a, region r:
 *                       claimed (written only if absent) before the stream's
 *                       document, so one name is one stream. A claim whose
 *                       stream document is gone (a writer stopped between
 *                       the two deletions) is taken back by the next claim.
 * On one node nothing ever conflicts and all of it costs two small writes per
 * CreateStream and one per DeleteStream. */

static int parse_u64_text(const void *v, size_t len, uint64_t *out)
{
    char text[32];
    if (len == 0 || len >= sizeof text)
        return RN_ECORRUPT;
    memcpy(text, v, len);
    text[len] = 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(text, &end, 10);
    if (errno || *end)
        return RN_ECORRUPT;
    *out = x;
    return 0;
}

/* A stored decimal number and its revision (RN_ENOENT when absent). */
static int kv_get_u64(rn_registry_t *r, const char *key, uint64_t *val, uint64_t *rev)
{
    void *v = NULL;
    size_t len = 0;
    *val = 0;
    int rc = rn_store_kv_get_rev(r->store, key, &v, &len, rev);
    if (rc == 0)
        rc = parse_u64_text(v, len, val);
    free(v);
    return rc;
}

/* Raise the stored id high-water mark to at least `want` (alloc: to one past
 * max(stored, r->next_id), handing that id out in *id). */
static int hwm_raise(rn_registry_t *r, uint64_t want, uint64_t *id)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        uint64_t rev = 0, stored = 0;
        int rc = kv_get_u64(r, ID_HWM_KEY, &stored, &rev);
        if (rc && rc != RN_ENOENT)
            return rc;
        uint64_t next = want;
        if (id) {
            uint64_t base = stored > r->next_id ? stored : r->next_id;
            if (base == UINT64_MAX)
                return RN_ETOOBIG;
            next = base + 1;
        } else if (stored >= want) {
            r->hwm_saved = stored;
            return 0;
        }
        char text[32];
        int n = snprintf(text, sizeof text, "%" PRIu64, next);
        rc = rn_store_kv_put_if(r->store, ID_HWM_KEY, text, (size_t)n, rev, NULL);
        if (rc == 0) {
            r->hwm_saved = next;
            if (id) {
                *id = next - 1;
                r->next_id = next;
            }
            return 0;
        }
        if (rc != RN_ECONFLICT)
            return rc;
    }
    return RN_ECONFLICT;
}

/* Persist "every id below next_id is taken" before an id can disappear from
 * the metadata (a stream's entry is deleted). */
static int save_hwm(rn_registry_t *r, uint64_t next)
{
    if (next <= r->hwm_saved)
        return 0;
    return hwm_raise(r, next, NULL);
}

static void name_key(const char *account, const char *region, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, NAME_PREFIX "%s/%s/%s", account, region, name);
}

/* The stream named by a claim, loaded from the store into the registry
 * (another writer created it). RN_ENOENT when its document is gone. */
static int load_claimed(rn_registry_t *r, uint64_t id)
{
    char key[64];
    id_key(id, key, sizeof key);
    void *v = NULL;
    size_t len = 0;
    uint64_t rev = 0;
    int rc = rn_store_kv_get_rev(r->store, key, &v, &len, &rev);
    if (rc) {
        free(v);
        return rc;
    }
    rn_stream_t *s;
    note_id(r, id);
    rc = stream_load(r, v, len, &s);
    free(v);
    if (rc)
        return rc;
    s->rev = rev;
    if (rn_registry_find(r, s->account, s->region, s->name)) { /* known here already */
        stream_free(s);
        return 0;
    }
    rc = registry_add(r, s);
    if (rc)
        stream_free(s);
    return rc;
}

/* Claim s's name for s->id. RN_EEXIST when another stream holds it (that
 * stream is then loaded into the registry, so it can be described). */
static int claim_name(rn_registry_t *r, const rn_stream_t *s)
{
    char key[256], text[32];
    name_key(s->account, s->region, s->name, key, sizeof key);
    int n = snprintf(text, sizeof text, "%" PRIu64, s->id);
    for (int attempt = 0; attempt < 4; attempt++) {
        int rc = rn_store_kv_put_if(r->store, key, text, (size_t)n, 0, NULL);
        if (rc != RN_ECONFLICT)
            return rc;
        uint64_t rev = 0, holder = 0;
        rc = kv_get_u64(r, key, &holder, &rev);
        if (rc == RN_ENOENT)
            continue; /* released meanwhile */
        if (rc)
            return rc;
        if (holder == s->id)
            return 0; /* ours already */
        rc = load_claimed(r, holder);
        if (rc == 0)
            return RN_EEXIST;
        if (rc != RN_ENOENT)
            return rc;
        /* the claim outlived its stream: take it back, then claim again */
        rc = rn_store_kv_del_if(r->store, key, rev);
        if (rc && rc != RN_ECONFLICT)
            return rc;
    }
    return RN_ECONFLICT;
}

/* Give s's name back, if s holds it. */
static void release_name(rn_registry_t *r, const rn_stream_t *s)
{
    char key[256];
    name_key(s->account, s->region, s->name, key, sizeof key);
    uint64_t rev = 0, holder = 0;
    int rc = kv_get_u64(r, key, &holder, &rev);
    if (rc == 0 && holder == s->id)
        rc = rn_store_kv_del_if(r->store, key, rev);
    if (rc && rc != RN_ENOENT && rc != RN_ECONFLICT)
        rn_warn("stream %s: its name claim stays (%s); the next CreateStream of the name takes it back",
                s->name, rn_strerror(rc));
}

/* Every loaded stream's name claimed: done once for a store written before
 * claims existed (NAMES_KEY marks it done). */
static int claim_loaded_names(rn_registry_t *r)
{
    void *v = NULL;
    size_t len = 0;
    int rc = rn_store_kv_get(r->store, NAMES_KEY, &v, &len);
    free(v);
    if (rc != RN_ENOENT)
        return rc;
    for (size_t i = 0; i < r->n; i++) {
        rc = claim_name(r, r->streams[i]);
        if (rc && rc != RN_EEXIST)
            return rc;
    }
    rc = rn_store_kv_put_if(r->store, NAMES_KEY, "1", 1, 0, NULL);
    return rc == RN_ECONFLICT ? 0 : rc; /* another writer marked it first */
}

static void on_kv_changed(void *ud, const char *key, const void *val, size_t len, uint64_t rev);

int rn_registry_open(rn_registry_t **out, rn_store_t *store, const rn_registry_config_t *cfg)
{
    rn_registry_t *r = calloc(1, sizeof *r);
    if (!r)
        return RN_ENOMEM;
    r->store = store;
    r->cfg = *cfg;
    if (cfg->master_key) {
        memcpy(r->master_key, cfg->master_key, sizeof r->master_key);
        r->cfg.master_key = r->master_key;
    }
    if (r->cfg.shard_limit <= 0)
        r->cfg.shard_limit = 500;
    r->next_id = 1;

    void *key = NULL;
    size_t klen = 0;
    int rc = rn_store_kv_get(store, ITER_KEY, &key, &klen);
    if (rc == 0 && klen == sizeof r->iter_key.key) {
        memcpy(r->iter_key.key, key, klen);
    } else if (rc == RN_ENOENT) {
        /* written only if absent: writers sharing the store share one key */
        rc = rn_iter_key_generate(&r->iter_key);
        if (rc == 0)
            rc = rn_store_kv_put_if(store, ITER_KEY, r->iter_key.key, sizeof r->iter_key.key, 0, NULL);
        if (rc == RN_ECONFLICT) {
            free(key);
            key = NULL;
            rc = rn_store_kv_get(store, ITER_KEY, &key, &klen);
            if (rc == 0 && klen == sizeof r->iter_key.key)
                memcpy(r->iter_key.key, key, klen);
            else if (rc == 0)
                rc = RN_ECORRUPT;
        }
    } else if (rc == 0) {
        rc = RN_ECORRUPT; /* a key of another size: refuse rather than replace it */
    }
    free(key);
    key = NULL;
    if (rc == 0) {
        /* The id high-water mark, and the ids of logs on disk (a stream whose
         * entry is gone may have left files): new ids are above all of them. */
        int hrc = rn_store_kv_get(store, ID_HWM_KEY, &key, &klen);
        if (hrc == 0) {
            char text[32];
            size_t n = klen < sizeof text - 1 ? klen : sizeof text - 1;
            memcpy(text, key, n);
            text[n] = 0;
            uint64_t v = strtoull(text, NULL, 10);
            r->hwm_saved = v;
            if (v > r->next_id)
                r->next_id = v;
        } else if (hrc != RN_ENOENT) {
            rc = hrc;
        }
        free(key);
        uint64_t max_log = 0;
        if (rc == 0 && (rc = rn_store_log_id_max(store, &max_log)) == 0)
            note_id(r, max_log);
    }
    if (rc == 0)
        rc = rn_store_kv_scan(store, KEY_PREFIX, load_one, r);
    if (rc == 0)
        rc = rn_store_kv_scan(store, SETTINGS_PREFIX, load_settings_key, r);
    if (rc == 0)
        rc = claim_loaded_names(r);
    if (rc == 0) /* other writers' changes (cluster mode; never called on one node) */
        rc = rn_store_kv_watch(store, KEY_PREFIX, on_kv_changed, r);
    if (rc) {
        rn_registry_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void rn_registry_close(rn_registry_t *r)
{
    if (!r)
        return;
    rn_store_kv_unwatch(r->store, on_kv_changed, r);
    for (size_t i = 0; i < r->n; i++)
        stream_free(r->streams[i]);
    free(r->streams);
    for (size_t i = 0; i < r->groups.cap; i++) {
        rn_group_t *g = r->groups.v[i];
        if (g && g != PTAB_TOMB) {
            free(g->v);
            free(g);
        }
    }
    ptab_free(&r->groups);
    ptab_free(&r->by_name);
    ptab_free(&r->by_id);
    free(r->pend);
    OPENSSL_cleanse(r->master_key, sizeof r->master_key);
    free(r);
}

const rn_registry_config_t *rn_registry_config(const rn_registry_t *r)
{
    return &r->cfg;
}

const rn_iter_key_t *rn_registry_iter_key(const rn_registry_t *r)
{
    return &r->iter_key;
}

rn_store_t *rn_registry_store(rn_registry_t *r)
{
    return r->store;
}

/* Take s out of the registry and free it, its logs closed but their files
 * kept: another writer deleted the stream (and removes them). */
static void registry_forget(rn_registry_t *r, rn_stream_t *s)
{
    registry_unlink(r, s);
    stream_free(s);
}

/* Take the document (val, len) at revision rev into s, in place, so that
 * pointers to s stay good; the open logs of the shards that remain stay open.
 * On an error s stays as it was. */
static int stream_take(rn_registry_t *r, rn_stream_t *s, const void *val, size_t len, uint64_t rev)
{
    rn_stream_t *n = NULL;
    int rc = stream_load(r, val, len, &n);
    if (rc)
        return rc;
    if (n->id != s->id) {
        stream_free(n);
        return RN_ECORRUPT;
    }
    for (uint32_t i = 0; i < n->n_shards; i++) {
        rn_shard_t *ns = &n->shards[i];
        for (uint32_t j = 0; j < s->n_shards; j++) {
            rn_shard_t *os = &s->shards[j];
            if (os->index == ns->index) {
                ns->log = os->log;
                ns->rates = os->rates;
                os->log = NULL;
                break;
            }
        }
    }
    pend_del(r, s);
    rn_stream_t old = *s;
    *s = *n;
    s->rev = rev;
    s->stale = 0;
    s->group = old.group;
    s->group_pos = old.group_pos;
    s->reg_pos = old.reg_pos;
    s->open_counted = old.open_counted;
    s->pend_pos = -1;
    *n = old;
    stream_free(n); /* the old copy: its shards, tags, policy; logs of shards gone closed */
    rn_registry_recount(r, s);
    if (s->status != RN_STREAM_ACTIVE)
        pend_add(r, s);
    return 0;
}

/* s is stale (a compare-and-set found the stored document newer): take the
 * stored one (stream_take). RN_ENOENT: the stream is gone (s was forgotten
 * and freed). On any other error s stays as it was, still stale. */
static int stream_refresh(rn_registry_t *r, rn_stream_t *s)
{
    char key[64];
    stream_key(s, key, sizeof key);
    void *v = NULL;
    size_t len = 0;
    uint64_t rev = 0;
    int rc = rn_store_kv_get_rev(r->store, key, &v, &len, &rev);
    if (rc == RN_ENOENT) {
        registry_forget(r, s);
        return RN_ENOENT;
    }
    if (rc == 0)
        rc = stream_take(r, s, v, len, rev);
    free(v);
    if (rc)
        rn_warn("stream %s: cannot take the stored metadata (%s); retried at the next call", s->name,
                rn_strerror(rc));
    return rc;
}

static rn_stream_t *find_id(rn_registry_t *r, uint64_t id)
{
    uint64_t h = hash_id(id);
    size_t j = SIZE_MAX;
    for (rn_stream_t *s; (s = ptab_next(&r->by_id, h, &j)) != NULL;)
        if (s->id == id)
            return s;
    return NULL;
}

int rn_registry_changed(rn_registry_t *r, const char *key, const void *val, size_t len, uint64_t rev)
{
    uint64_t id = strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) == 0 ? key_id(key) : 0;
    if (!id)
        return 0; /* not a stream document */
    rn_stream_t *s = find_id(r, id);
    if (!val) {
        if (s)
            registry_forget(r, s);
        return 0;
    }
    if (s && rev <= s->rev)
        return 0; /* this copy is as new already (its own write, or a later one) */
    if (s) {
        int rc = stream_take(r, s, val, len, rev);
        if (rc)
            s->stale = 1; /* the next lookup reads the store */
        return rc;
    }
    rn_stream_t *n;
    note_id(r, id);
    int rc = stream_load(r, val, len, &n);
    if (rc)
        return rc;
    n->rev = rev;
    /* A copy of another stream of that name (deleted elsewhere, the deletion
     * not heard of yet) gives way to the newer one. */
    for (rn_stream_t *o; (o = rn_registry_find(r, n->account, n->region, n->name)) != NULL;)
        registry_forget(r, o);
    rc = registry_add(r, n);
    if (rc)
        stream_free(n);
    return rc;
}

static void on_kv_changed(void *ud, const char *key, const void *val, size_t len, uint64_t rev)
{
    rn_registry_t *r = ud;
    int rc = rn_registry_changed(r, key, val, len, rev);
    if (rc)
        rn_warn("metadata %s changed elsewhere and cannot be taken (%s)", key, rn_strerror(rc));
}

/* A stream found by a lookup, refreshed first if stale; NULL when another
 * writer deleted it. A refresh that fails leaves the copy as it is. */
static rn_stream_t *fresh(rn_registry_t *r, rn_stream_t *s)
{
    if (s && s->stale && stream_refresh(r, s) == RN_ENOENT)
        return NULL;
    return s;
}

/* ---- lookups ---------------------------------------------------------------- */

rn_stream_t *rn_registry_find(rn_registry_t *r, const char *account, const char *region,
                              const char *name)
{
    uint64_t h = hash_name(account, region, name);
    size_t j = SIZE_MAX;
    for (rn_stream_t *s; (s = ptab_next(&r->by_name, h, &j)) != NULL;)
        if (strcmp(s->name, name) == 0 && strcmp(s->account, account) == 0 &&
            strcmp(s->region, region) == 0)
            return fresh(r, s);
    return NULL;
}

size_t rn_registry_count(const rn_registry_t *r)
{
    return r->n;
}

rn_stream_t *rn_registry_at(rn_registry_t *r, size_t i)
{
    return i < r->n ? r->streams[i] : NULL;
}

rn_stream_t *rn_registry_find_id(rn_registry_t *r, uint64_t id)
{
    return fresh(r, find_id(r, id));
}

static int by_name(const void *a, const void *b)
{
    const rn_stream_t *x = *(rn_stream_t *const *)a, *y = *(rn_stream_t *const *)b;
    return strcmp(x->name, y->name);
}

int rn_registry_list(rn_registry_t *r, const char *account, const char *region, rn_stream_t ***out,
                     size_t *n)
{
    rn_group_t *g = group_find(r, account, region);
    size_t k = g ? g->n : 0;
    rn_stream_t **v = malloc((k ? k : 1) * sizeof *v);
    if (!v)
        return RN_ENOMEM;
    if (k)
        memcpy(v, g->v, k * sizeof *v);
    qsort(v, k, sizeof *v, by_name);
    *out = v;
    *n = k;
    return 0;
}

int rn_registry_open_shard_count(rn_registry_t *r, const char *account, const char *region)
{
    rn_group_t *g = group_find(r, account, region);
    return g ? (int)g->open_shards : 0;
}

size_t rn_registry_namespaces(const rn_registry_t *r)
{
    return r->n_held;
}

int rn_registry_namespace_held(const rn_registry_t *r, const char *account, const char *region)
{
    const rn_group_t *g = group_find(r, account, region);
    return g && group_held(g);
}

/* ---- changes -------------------------------------------------------------------- */

int rn_registry_create_with(rn_registry_t *r, const char *account, const char *region, const char *name,
                            uint32_t n_shards, int on_demand, int64_t now_ms,
                            int (*prep)(void *ud, rn_stream_t *s), void *ud, rn_stream_t **out)
{
    rn_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return RN_ENOMEM;
    s->pend_pos = -1;
    s->shards = calloc(n_shards ? n_shards : 1, sizeof *s->shards);
    if (!s->shards) {
        free(s);
        return RN_ENOMEM;
    }
    int rc = hwm_raise(r, 0, &s->id); /* an id no other writer hands out */
    if (rc) {
        free(s->shards);
        free(s);
        return rc;
    }
    snprintf(s->account, sizeof s->account, "%s", account);
    snprintf(s->region, sizeof s->region, "%s", region);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->created_ms = now_ms;
    s->retention_hours = 24;
    s->on_demand = on_demand;
    s->max_record_kib = 1024;
    s->n_shards = n_shards;
    for (uint32_t i = 0; i < n_shards; i++) {
        rn_shard_t *sh = &s->shards[i];
        sh->index = i;
        rn_hashkey_split_even(n_shards, i, &sh->start_hash, &sh->end_hash);
        sh->parent = sh->adjacent_parent = -1;
        sh->created_ms = now_ms;
    }
    if (r->cfg.create_delay_ms > 0) {
        s->status = RN_STREAM_CREATING;
        s->transition_at_ms = now_ms + r->cfg.create_delay_ms;
    } else {
        s->status = RN_STREAM_ACTIVE;
    }
    /* Built whole aside, its name claimed, persisted, then registered: a
     * failure leaves no trace (but a used id). RN_EEXIST: another writer
     * sharing the store holds the name (that stream is now registered). */
    rc = prep ? prep(ud, s) : 0;
    if (rc == 0)
        rc = claim_name(r, s);
    if (rc == 0) {
        rc = stream_put(r, s, 0);
        if (rc)
            release_name(r, s);
    }
    if (rc == 0) {
        rc = registry_add(r, s);
        if (rc) { /* the entry is written: take it back (its id stays used) */
            char key[64];
            stream_key(s, key, sizeof key);
            if (rn_store_kv_del(r->store, key) != 0)
                rn_error("stream %s: cannot take back its metadata after running out of memory", name);
            release_name(r, s);
        }
    }
    if (rc) {
        note_id(r, s->id);
        stream_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int rn_registry_create(rn_registry_t *r, const char *account, const char *region, const char *name,
                       uint32_t n_shards, int on_demand, int64_t now_ms, rn_stream_t **out)
{
    return rn_registry_create_with(r, account, region, name, n_shards, on_demand, now_ms, NULL, NULL, out);
}

/* Delete s's entry (after persisting the id high-water mark), then its logs,
 * then s. On a failure to delete the entry nothing changes. */
static int registry_remove(rn_registry_t *r, rn_stream_t *s)
{
    char key[64];
    stream_key(s, key, sizeof key);
    int rc = save_hwm(r, r->next_id > s->id + 1 ? r->next_id : s->id + 1);
    if (rc == 0)
        rc = rn_store_kv_del_if(r->store, key, s->rev);
    if (rc == RN_ECONFLICT) {
        s->stale = 1; /* changed (or deleted) by another writer: taken at the next lookup */
        return rc;
    }
    if (rc) {
        rn_error("cannot delete the metadata of stream %s: %s", s->name, rn_strerror(rc));
        return rc;
    }
    release_name(r, s);
    /* The stream is gone for good; its records go without opening (and
     * recovering) each log: the logs open now are let go unsynced, then one
     * walk of the stream's directory removes every file. */
    for (uint32_t i = 0; i < s->n_shards; i++) {
        rn_shard_t *sh = &s->shards[i];
        if (sh->log) {
            rn_log_discard(sh->log);
            sh->log = NULL;
        }
    }
    if (rn_store_log_remove(r->store, s->id, -1) != 0)
        rn_warn("cannot remove every log file of stream %s (id %" PRIu64 ")", s->name, s->id);
    registry_unlink(r, s);
    stream_free(s);
    return 0;
}

int rn_registry_delete(rn_registry_t *r, rn_stream_t *s, int64_t now_ms)
{
    if (r->cfg.delete_delay_ms <= 0)
        return registry_remove(r, s);
    rn_stream_status_t old = s->status;
    int64_t old_at = s->transition_at_ms;
    s->status = RN_STREAM_DELETING;
    s->transition_at_ms = now_ms + r->cfg.delete_delay_ms;
    s->deleted_creating = old == RN_STREAM_CREATING;
    int rc = stream_put(r, s, 0);
    if (rc) {
        s->status = old;
        s->transition_at_ms = old_at;
        s->deleted_creating = 0;
        return rc;
    }
    pend_add(r, s);
    return 0;
}

/* Drop from memory the closed shards whose records have all expired by
 * now_ms (the document without them is already written), and their files. */
static void drop_expired(rn_registry_t *r, rn_stream_t *s, int64_t now_ms)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n_shards; i++) {
        rn_shard_t *sh = &s->shards[i];
        if (!rn_shard_expired(s, sh, now_ms)) {
            s->shards[k++] = *sh;
            continue;
        }
        if (sh->log)
            rn_log_discard(sh->log);
        if (rn_store_log_remove(r->store, s->id, sh->index) != 0)
            rn_warn("retention: cannot remove the log of %s shard %u", s->name, sh->index);
    }
    s->n_shards = k;
}

static int has_expired(const rn_stream_t *s, int64_t now_ms)
{
    for (uint32_t i = 0; i < s->n_shards; i++)
        if (rn_shard_expired(s, &s->shards[i], now_ms))
            return 1;
    return 0;
}

/* Apply retention to every open log, so expired segments leave the disk
 * even when nobody reads the shard, and drop expired closed shards from the
 * documents. Logs never opened since start-up are trimmed when first opened
 * (rn_shard_log). */
static void retention_sweep(rn_registry_t *r, int64_t now_ms)
{
    r->last_sweep_ms = now_ms;
    for (size_t i = 0; i < r->n; i++) {
        rn_stream_t *s = r->streams[i];
        int64_t cutoff = rn_stream_trim_cutoff(s, now_ms);
        for (uint32_t j = 0; j < s->n_shards; j++) {
            rn_log_t *l = s->shards[j].log;
            int rc = l ? rn_log_trim(l, cutoff) : 0;
            if (rc)
                rn_warn("retention: cannot trim %s shard %u: %s", s->name, s->shards[j].index,
                        rn_strerror(rc));
        }
        if (has_expired(s, now_ms) && stream_put(r, s, now_ms) == 0)
            drop_expired(r, s, now_ms);
    }
}

int rn_stream_shows_shards(const rn_stream_t *s)
{
    return s->status != RN_STREAM_CREATING && !s->deleted_creating;
}

/* UPDATING ends for a stream with a pending split or merge: apply it at the
 * transition time at_ms (no request was served since: rn_registry_tick runs
 * before each one), become ACTIVE, persist; all or nothing. */
static int apply_pending(rn_registry_t *r, rn_stream_t *s, int64_t at_ms, int64_t now_ms)
{
    rn_stream_undo_t u;
    int rc = rn_stream_undo_begin(s, &u);
    if (rc)
        return rc;
    const rn_reshard_pending_t p = s->pending;
    rc = p.kind == RN_PENDING_SPLIT ? rn_reshard_split(r, s, p.a, p.key, at_ms, NULL, NULL)
                                    : rn_reshard_merge(r, s, p.a, p.b, at_ms, NULL);
    if (rc == RN_EINVAL) {
        /* checked when it was asked for; cannot happen unless the document was edited */
        rn_error("stream %s: the pending %s no longer applies; dropped", s->name,
                 p.kind == RN_PENDING_SPLIT ? "split" : "merge");
        rc = 0;
    } else if (rc) {
        rn_registry_undo(r, s, &u);
        return rc;
    }
    s->pending.kind = RN_PENDING_NONE;
    s->status = RN_STREAM_ACTIVE;
    s->transition_at_ms = 0;
    rc = stream_put(r, s, now_ms);
    if (rc) {
        rn_registry_undo(r, s, &u);
        s->pending = p;
        rn_registry_recount(r, s);
        return rc;
    }
    rn_stream_undo_end(&u);
    drop_expired(r, s, now_ms);
    rn_registry_recount(r, s);
    return 0;
}

int rn_registry_tick(rn_registry_t *r, int64_t now_ms)
{
    int applied = 0;
    if (now_ms - r->last_sweep_ms >= SWEEP_EVERY_MS || now_ms < r->last_sweep_ms)
        retention_sweep(r, now_ms);
    for (size_t i = 0; i < r->npend;) {
        rn_stream_t *s = r->pend[i];
        if (s->stale) { /* another writer may have made the transition: take its document */
            int rc = stream_refresh(r, s);
            if (rc == 0 || rc == RN_ENOENT)
                continue; /* slot i holds another stream now, or s again at the end */
            i++;
            continue;
        }
        if (s->transition_at_ms > now_ms || s->status == RN_STREAM_ACTIVE) {
            if (s->status == RN_STREAM_ACTIVE)
                pend_del(r, s); /* moves the last one into slot i */
            else
                i++;
            continue;
        }
        if (s->status == RN_STREAM_DELETING) {
            if (registry_remove(r, s) == 0)
                continue; /* pend_del moved the last one into slot i */
            s->transition_at_ms = now_ms + RETRY_MS; /* still DELETING, on disk and here */
            i++;
            continue;
        }
        /* CREATING / UPDATING -> ACTIVE: written first, then applied. */
        rn_stream_status_t old = s->status;
        int64_t old_at = s->transition_at_ms;
        if (old == RN_STREAM_UPDATING && s->pending.kind != RN_PENDING_NONE) {
            int rc = apply_pending(r, s, old_at, now_ms);
            if (rc) {
                rn_log(rc == RN_ECONFLICT ? RN_LOG_DEBUG : RN_LOG_ERROR, /* another node did it */
                       "cannot apply the resharding of %s: %s (retried)", s->name, rn_strerror(rc));
                s->transition_at_ms = now_ms + RETRY_MS;
                i++;
                continue;
            }
            applied++;
            pend_del(r, s);
            continue;
        }
        s->status = RN_STREAM_ACTIVE;
        s->transition_at_ms = 0;
        int rc = stream_put(r, s, 0);
        if (rc) {
            rn_log(rc == RN_ECONFLICT ? RN_LOG_DEBUG : RN_LOG_ERROR, /* another node did it */
                   "cannot persist stream %s becoming ACTIVE: %s (retried)", s->name, rn_strerror(rc));
            s->status = old;
            s->transition_at_ms = old_at > now_ms + RETRY_MS ? old_at : now_ms + RETRY_MS;
            i++;
            continue;
        }
        pend_del(r, s);
    }
    return applied;
}

int rn_registry_save(rn_registry_t *r, rn_stream_t *s)
{
    return stream_put(r, s, 0);
}

int rn_registry_begin_update(rn_registry_t *r, rn_stream_t *s, int64_t now_ms)
{
    rn_stream_status_t old = s->status;
    int64_t old_at = s->transition_at_ms;
    if (r->cfg.update_delay_ms > 0) {
        s->status = RN_STREAM_UPDATING;
        s->transition_at_ms = now_ms + r->cfg.update_delay_ms;
    }
    int rc = stream_put(r, s, 0);
    if (rc) {
        s->status = old;
        s->transition_at_ms = old_at;
        return rc;
    }
    if (s->status != RN_STREAM_ACTIVE)
        pend_add(r, s);
    return 0;
}

int rn_registry_begin_reshard(rn_registry_t *r, rn_stream_t *s, const rn_reshard_pending_t *p,
                              int64_t now_ms)
{
    s->pending = *p;
    int rc = rn_registry_begin_update(r, s, now_ms);
    if (rc)
        s->pending.kind = RN_PENDING_NONE;
    rn_registry_recount(r, s);
    return rc;
}

/* ---- all-or-nothing changes of the shards -------------------------------------------- */

int rn_stream_undo_begin(const rn_stream_t *s, rn_stream_undo_t *u)
{
    u->saved = *s;
    u->shards = malloc((s->n_shards ? s->n_shards : 1) * sizeof *u->shards);
    if (!u->shards)
        return RN_ENOMEM;
    memcpy(u->shards, s->shards, s->n_shards * sizeof *u->shards);
    return 0;
}

void rn_stream_undo_end(rn_stream_undo_t *u)
{
    free(u->shards);
    u->shards = NULL;
}

/* Position of the shard with this index (shards are in index order). */
static int64_t find_pos(const rn_shard_t *v, uint32_t n, uint32_t index)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v[mid].index == index)
            return mid;
        if (v[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void rn_registry_undo(rn_registry_t *r, rn_stream_t *s, rn_stream_undo_t *u)
{
    /* Logs opened meanwhile stay with their shards; a shard that exists only
     * in the change (a child) never had its log opened, but close it if so. */
    for (uint32_t i = 0; i < u->saved.n_shards; i++) {
        int64_t p = find_pos(s->shards, s->n_shards, u->shards[i].index);
        u->shards[i].log = p >= 0 ? s->shards[p].log : NULL;
        u->shards[i].rates = p >= 0 ? s->shards[p].rates : u->shards[i].rates;
    }
    for (uint32_t i = 0; i < s->n_shards; i++)
        if (s->shards[i].log && find_pos(u->shards, u->saved.n_shards, s->shards[i].index) < 0)
            rn_log_close(s->shards[i].log);
    free(s->shards);
    s->shards = u->shards;
    u->shards = NULL;
    s->n_shards = u->saved.n_shards;
    s->status = u->saved.status;
    s->transition_at_ms = u->saved.transition_at_ms;
    memcpy(s->scaling_ms, u->saved.scaling_ms, sizeof s->scaling_ms);
    rn_registry_recount(r, s);
}

int rn_registry_commit_shards(rn_registry_t *r, rn_stream_t *s, rn_stream_undo_t *u, int64_t now_ms)
{
    rn_stream_status_t old = s->status;
    int64_t old_at = s->transition_at_ms;
    if (r->cfg.update_delay_ms > 0) {
        s->status = RN_STREAM_UPDATING;
        s->transition_at_ms = now_ms + r->cfg.update_delay_ms;
    }
    int rc = stream_put(r, s, now_ms);
    if (rc) {
        s->status = old;
        s->transition_at_ms = old_at;
        rn_registry_undo(r, s, u);
        return rc;
    }
    rn_stream_undo_end(u);
    drop_expired(r, s, now_ms);
    rn_registry_recount(r, s);
    if (s->status != RN_STREAM_ACTIVE)
        pend_add(r, s);
    return 0;
}

int rn_shard_log(rn_registry_t *r, rn_stream_t *s, rn_shard_t *sh, rn_log_t **out)
{
    if (!sh->log) {
        /* Out of fds, the store itself asks for one (rn_store_config_t.reclaim_fd). */
        int rc = rn_log_open(r->store, s->id, sh->index, &sh->log);
        if (rc) {
            sh->log = NULL;
            return rc;
        }
    }
    /* A failed trim leaves records readable past their retention; that is
     * reported, not turned into a failed read. */
    int rc = rn_log_trim(sh->log, rn_stream_trim_cutoff(s, rn_now_ms()));
    if (rc)
        rn_warn("retention: cannot trim %s shard %u: %s", s->name, sh->index, rn_strerror(rc));
    *out = sh->log;
    return 0;
}

/* ---- retention ----------------------------------------------------------------------- */

int64_t rn_stream_trim_cutoff(const rn_stream_t *s, int64_t now_ms)
{
    int64_t cutoff = now_ms - (int64_t)s->retention_hours * 3600000;
    return cutoff > s->trim_floor_ms ? cutoff : s->trim_floor_ms;
}

void rn_stream_set_retention(rn_stream_t *s, int hours, int64_t now_ms)
{
    int64_t old = rn_stream_trim_cutoff(s, now_ms);
    if (old > s->trim_floor_ms)
        s->trim_floor_ms = old;
    s->retention_hours = hours;
}

int rn_shard_expired(const rn_stream_t *s, const rn_shard_t *sh, int64_t now_ms)
{
    return sh->closed_ms != 0 && sh->closed_ms < rn_stream_trim_cutoff(s, now_ms);
}

/* ---- tags ------------------------------------------------------------------------------- */

/* Index of key, or of where it would go; *found says which. */
static uint32_t tag_pos(const rn_tagset_t *t, const char *key, int *found)
{
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->v[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

const rn_tag_t *rn_tagset_find(const rn_tagset_t *t, const char *key)
{
    int found;
    uint32_t i = tag_pos(t, key, &found);
    return found ? &t->v[i] : NULL;
}

int rn_tagset_put(rn_tagset_t *t, const char *key, const char *value)
{
    int found;
    uint32_t i = tag_pos(t, key, &found);
    char *v = strdup(value);
    if (!v)
        return RN_ENOMEM;
    if (found) {
        free(t->v[i].value);
        t->v[i].value = v;
        return 0;
    }
    char *k = strdup(key);
    rn_tag_t *nv = k ? realloc(t->v, (t->n + 1) * sizeof *nv) : NULL;
    if (!nv) {
        free(k);
        free(v);
        return RN_ENOMEM;
    }
    t->v = nv;
    memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof *t->v);
    t->v[i] = (rn_tag_t){k, v};
    t->n++;
    return 0;
}

void rn_tagset_del(rn_tagset_t *t, const char *key)
{
    int found;
    uint32_t i = tag_pos(t, key, &found);
    if (!found)
        return;
    free(t->v[i].key);
    free(t->v[i].value);
    memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
    t->n--;
}

void rn_tagset_dispose(rn_tagset_t *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        free(t->v[i].key);
        free(t->v[i].value);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

int rn_tagset_clone(const rn_tagset_t *in, rn_tagset_t *out)
{
    out->v = NULL;
    out->n = 0;
    if (in->n == 0)
        return 0;
    out->v = calloc(in->n, sizeof *out->v);
    if (!out->v)
        return RN_ENOMEM;
    for (uint32_t i = 0; i < in->n; i++) {
        out->v[i].key = strdup(in->v[i].key);
        out->v[i].value = strdup(in->v[i].value);
        out->n = i + 1;
        if (!out->v[i].key || !out->v[i].value) {
            rn_tagset_dispose(out);
            return RN_ENOMEM;
        }
    }
    return 0;
}

int rn_registry_save_tags(rn_registry_t *r, rn_stream_t *s, rn_tagset_t *next)
{
    rn_tagset_t old = s->tags;
    s->tags = *next;
    next->v = NULL;
    next->n = 0;
    int rc = rn_registry_save(r, s);
    if (rc) {
        rn_tagset_t failed = s->tags;
        s->tags = old;
        rn_tagset_dispose(&failed);
        return rc;
    }
    rn_tagset_dispose(&old);
    return 0;
}

/* ---- account settings ---------------------------------------------------------------- */

const char *rn_commitment_status_name(rn_commitment_status_t s)
{
    switch (s) {
    case RN_COMMITMENT_ENABLED:
        return "ENABLED";
    case RN_COMMITMENT_ENABLED_UNTIL_EARLIEST_ALLOWED_END:
        return "ENABLED_UNTIL_EARLIEST_ALLOWED_END";
    case RN_COMMITMENT_DISABLED:
        break;
    }
    return "DISABLED";
}

static void settings_key(const char *account, const char *region, char *buf, size_t cap)
{
    snprintf(buf, cap, "account/%s/%s/settings", account, region);
}

int rn_account_settings_get(rn_registry_t *r, const char *account, const char *region, int64_t now_ms,
                            rn_account_settings_t *out)
{
    memset(out, 0, sizeof *out);
    char key[160];
    settings_key(account, region, key, sizeof key);
    void *val = NULL;
    size_t len = 0;
    int rc = rn_store_kv_get_rev(r->store, key, &val, &len, &out->rev);
    if (rc == RN_ENOENT) {
        out->rev = 0;
        return 0;
    }
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loadb(val, len, 0, &jerr);
    free(val);
    if (!doc)
        return RN_ECORRUPT;
    const char *st = json_string_value(json_object_get(doc, "status"));
    for (int i = 0; st && i <= RN_COMMITMENT_ENABLED_UNTIL_EARLIEST_ALLOWED_END; i++)
        if (strcmp(st, rn_commitment_status_name((rn_commitment_status_t)i)) == 0)
            out->status = (rn_commitment_status_t)i;
    out->started_ms = json_integer_value(json_object_get(doc, "started_ms"));
    out->ended_ms = json_integer_value(json_object_get(doc, "ended_ms"));
    out->earliest_end_ms = json_integer_value(json_object_get(doc, "earliest_end_ms"));
    json_decref(doc);
    if (out->status == RN_COMMITMENT_ENABLED_UNTIL_EARLIEST_ALLOWED_END && now_ms >= out->earliest_end_ms) {
        out->status = RN_COMMITMENT_DISABLED;
        out->ended_ms = out->earliest_end_ms;
    }
    return 0;
}

int rn_account_settings_put(rn_registry_t *r, const char *account, const char *region,
                            const rn_account_settings_t *in)
{
    json_t *doc = json_pack("{s:s,s:I,s:I,s:I}", "status", rn_commitment_status_name(in->status),
                            "started_ms", (json_int_t)in->started_ms, "ended_ms", (json_int_t)in->ended_ms,
                            "earliest_end_ms", (json_int_t)in->earliest_end_ms);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return RN_ENOMEM;
    char key[160];
    settings_key(account, region, key, sizeof key);
    int rc = rn_store_kv_put_if(r->store, key, text, strlen(text), in->rev, NULL);
    free(text);
    if (rc == 0) {
        rn_group_t *g = group_get(r, account, region);
        if (!g)
            return RN_ENOMEM;
        group_mark_settings(r, g);
    }
    return rc;
}

static int route_cmp(const void *a, const void *b)
{
    rn_u128 x = ((const struct rn_route_ent *)a)->start;
    rn_u128 y = ((const struct rn_route_ent *)b)->start;
    return x < y ? -1 : x > y;
}

static void route_build(rn_stream_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_shards; i++)
        n += s->shards[i].closed_ms == 0;
    struct rn_route_ent *v = realloc(s->route, (n ? n : 1) * sizeof *v);
    if (!v) {
        free(s->route);
        s->route = NULL;
        s->n_route = 0;
        return;
    }
    n = 0;
    for (uint32_t i = 0; i < s->n_shards; i++)
        if (s->shards[i].closed_ms == 0)
            v[n++] = (struct rn_route_ent){.start = s->shards[i].start_hash, .pos = i};
    qsort(v, n, sizeof *v, route_cmp);
    s->route = v;
    s->n_route = n;
}

/* The open shard whose range holds h, through the index (binary search on
 * starting keys), or NULL when the index does not find it. */
static rn_shard_t *route_lookup(rn_stream_t *s, rn_u128 h)
{
    uint32_t lo = 0, hi = s->n_route;
    while (lo < hi) { /* first entry starting after h */
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->route[mid].start <= h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    uint32_t pos = s->route[lo - 1].pos;
    if (pos >= s->n_shards)
        return NULL;
    rn_shard_t *sh = &s->shards[pos];
    return sh->closed_ms == 0 && h >= sh->start_hash && h <= sh->end_hash ? sh : NULL;
}

rn_shard_t *rn_stream_route(rn_stream_t *s, rn_u128 h)
{
    /* Open shards never overlap, so an open shard holding h is the answer,
     * whether the index is current or not. */
    rn_shard_t *sh = s->route ? route_lookup(s, h) : NULL;
    if (sh)
        return sh;
    route_build(s);
    if (s->route && (sh = route_lookup(s, h)) != NULL)
        return sh;
    for (uint32_t i = 0; i < s->n_shards; i++) { /* no index (no memory), or a gap */
        sh = &s->shards[i];
        if (sh->closed_ms == 0 && h >= sh->start_hash && h <= sh->end_hash)
            return sh;
    }
    return NULL;
}

void rn_stream_arn(const rn_stream_t *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "arn:aws:kinesis:%s:%s:stream/%s", s->region, s->account, s->name);
}

int rn_parse_stream_arn(const char *arn, char *region, size_t rcap, char *account, size_t acap,
                        char *name, size_t ncap)
{
    /* arn:<partition>:kinesis:<region>:<account>:stream/<name> */
    const char *f[6];
    size_t flen[6];
    const char *p = arn;
    for (int i = 0; i < 5; i++) {
        const char *c = strchr(p, ':');
        if (!c)
            return RN_EINVAL;
        f[i] = p;
        flen[i] = (size_t)(c - p);
        p = c + 1;
    }
    f[5] = p;
    flen[5] = strlen(p);
    if (flen[0] != 3 || memcmp(f[0], "arn", 3) != 0 || flen[2] != 7 || memcmp(f[2], "kinesis", 7) != 0)
        return RN_EINVAL;
    if (flen[5] < 8 || memcmp(f[5], "stream/", 7) != 0)
        return RN_EINVAL;
    const char *nm = f[5] + 7;
    size_t nlen = flen[5] - 7;
    if (memchr(nm, '/', nlen) || flen[3] >= rcap || flen[4] >= acap || nlen >= ncap || nlen == 0)
        return RN_EINVAL;
    memcpy(region, f[3], flen[3]);
    region[flen[3]] = 0;
    memcpy(account, f[4], flen[4]);
    account[flen[4]] = 0;
    memcpy(name, nm, nlen);
    name[nlen] = 0;
    return 0;
}

int rn_parse_shard_id(const char *s, uint32_t *index)
{
    const char *d = strchr(s, '-');
    d = d ? d + 1 : s;
    if (!*d)
        return RN_EINVAL;
    uint64_t v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return RN_EINVAL;
        v = v * 10 + (uint64_t)(*d - '0');
        if (v > 2147483647ULL)
            return RN_EINVAL;
    }
    *index = (uint32_t)v;
    return 0;
}

size_t rn_format_shard_id(uint32_t index, char *buf, size_t cap)
{
    /* snprintf(buf, cap, "shardId-%012u", index) without the printf
     * machinery (this runs for every record answer): a 32-bit index has at
     * most 10 digits, so the id is always the prefix and 12 digits. */
    char id[RN_SHARD_ID_LEN];
    memcpy(id, "shardId-", 8);
    rn_ascii_put_u64_fixed(id + 8, index, 12);
    if (cap) {
        size_t n = cap - 1 < RN_SHARD_ID_LEN ? cap - 1 : RN_SHARD_ID_LEN;
        memcpy(buf, id, n);
        buf[n] = 0;
    }
    return RN_SHARD_ID_LEN;
}
