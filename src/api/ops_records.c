/* ops_records.c: the record family: PutRecord, PutRecords,
 * GetShardIterator, GetRecords.
 *
 * Writes append to the shard logs at once (the loop thread, page cache) and
 * answer from the store's group-commit callback, so nothing is acknowledged
 * before it is durable under the fsync policy; reads see only committed
 * records (store.h's visibility rule).
 *
 * Two ways in, one way through. rn_records_fast_decode() (called by
 * dispatch before the generic decoder) tries wire/fast.h's strict decoders
 * on the body; when one applies, the typed input waits in c->op_state and
 * c->in stays NULL. Otherwise dispatch decodes with rn_wire_decode and the
 * handler converts the tree into the same typed input. Either way the same
 * code below checks, routes, appends and answers, so both paths answer
 * alike by construction (docs/performance.md). Answers are rendered straight
 * into one buffer (wire/fast.h's writers), not through jansson. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/api_int.h"
#include "api/faults.h"
#include "api/limits.h"
#include "core/recordcrypt.h"
#include "core/reshard.h"
#include "core/seqnum.h"
#include "util/log.h"
#include "wire/b64.h"
#include "wire/fast.h"

#define PUT_RECORDS_MAX_BYTES (10u * 1024 * 1024)
#define GET_RECORDS_MAX_BYTES (10u * 1024 * 1024)
#define SHARD_ID_MAX 32

/* ---- typed input ------------------------------------------------------------------ */

/* The decoded input of one record operation, from either decoder. Blob
 * bytes live in arena; strings point into the request body (fast path) or
 * into c->in (generic path). */
typedef struct rec_input {
    rn_buf_t arena;
    union {
        rn_fast_put_records_t put_records;
        rn_fast_put_record_t put_record;
        rn_fast_get_records_t get_records;
        rn_fast_get_shard_iterator_t get_shard_iterator;
    } u;
} rec_input_t;

static rec_input_t *input_new(rn_op_t op)
{
    size_t sz = offsetof(rec_input_t, u);
    switch (op) {
    case RN_OP_PutRecords:
        sz += sizeof(rn_fast_put_records_t);
        break;
    case RN_OP_PutRecord:
        sz += sizeof(rn_fast_put_record_t);
        break;
    case RN_OP_GetRecords:
        sz += sizeof(rn_fast_get_records_t);
        break;
    default:
        sz += sizeof(rn_fast_get_shard_iterator_t);
        break;
    }
    rec_input_t *in = malloc(sz);
    if (in)
        rn_buf_init(&in->arena, 0);
    return in;
}

static void input_free(void *p)
{
    rec_input_t *in = p;
    if (in) {
        rn_buf_dispose(&in->arena);
        free(in);
    }
}

int rn_records_fast_decode(rn_call_t *c, const uint8_t *body, size_t len)
{
    if (c->proto != RN_PROTO_JSON)
        return RN_FAST_FALLBACK;
    if (c->op != RN_OP_PutRecords && c->op != RN_OP_PutRecord && c->op != RN_OP_GetRecords &&
        c->op != RN_OP_GetShardIterator)
        return RN_FAST_FALLBACK;
    rec_input_t *in = input_new(c->op);
    if (!in)
        return RN_FAST_FALLBACK;
    int rc;
    switch (c->op) {
    case RN_OP_PutRecords:
        rc = rn_fast_decode_put_records(body, len, &in->u.put_records, &in->arena);
        break;
    case RN_OP_PutRecord:
        rc = rn_fast_decode_put_record(body, len, &in->u.put_record, &in->arena);
        break;
    case RN_OP_GetRecords:
        rc = rn_fast_decode_get_records(body, len, &in->u.get_records);
        break;
    default:
        rc = rn_fast_decode_get_shard_iterator(body, len, &in->u.get_shard_iterator);
        break;
    }
    if (rc) {
        input_free(in);
        return RN_FAST_FALLBACK;
    }
    c->op_state = in;
    c->op_state_free = input_free;
    return 0;
}

/* The fast decoder's input, detached from the call (the caller frees it),
 * or NULL when the generic decoder ran. */
static rec_input_t *take_fast_input(rn_call_t *c)
{
    if (c->in)
        return NULL;
    rec_input_t *in = c->op_state;
    c->op_state = NULL;
    c->op_state_free = NULL;
    return in;
}

static rn_fast_str_t tree_str(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    rn_fast_str_t s = {json_string_value(v), json_string_length(v)};
    return s;
}

/* A string the handlers use as C text (as rn_arg_str + strlen did). */
static rn_fast_str_t tree_cstr(const json_t *obj, const char *name)
{
    const char *p = json_string_value(json_object_get(obj, name));
    rn_fast_str_t s = {p, p ? strlen(p) : 0};
    return s;
}

/* One record from the generic tree: blob decoded into the arena. */
static int tree_record(const json_t *r, rn_fast_record_t *out, rn_buf_t *arena)
{
    out->pk = tree_str(r, "PartitionKey");
    out->ehk = tree_cstr(r, "ExplicitHashKey");
    out->data_off = arena->len;
    out->data_len = 0;
    rn_fast_str_t d = tree_cstr(r, "Data");
    if (d.p && rn_wire_blob(d.p, d.len, arena) != 0)
        return -1;
    out->data_len = arena->len - out->data_off;
    return 0;
}

/* Copy a short validated string into a C string buffer (cap > len). */
static const char *cstr(const rn_fast_str_t *v, char *buf, size_t cap)
{
    if (!v->p)
        return NULL;
    size_t n = v->len < cap ? v->len : cap - 1;
    memcpy(buf, v->p, n);
    buf[n] = 0;
    return buf;
}

/* ---- shared helpers ------------------------------------------------------------------ */

/* The call's stream. The generic path resolves StreamName / StreamARN
 * through rn_call_stream; the fast path only ever has a StreamName, and
 * answers exactly as rn_call_stream does for one. */
static int input_stream(rn_call_t *c, const rn_fast_str_t *name, rn_stream_t **s)
{
    if (c->in)
        return rn_call_stream(c, s);
    char buf[160];
    cstr(name, buf, sizeof buf);
    return rn_call_stream_named(c, buf, s);
}

/* A stream that accepts writes: CREATING ones are "not found" (§4.1). */
static int writable_stream(rn_call_t *c, const rn_fast_str_t *name, rn_stream_t **s)
{
    if (input_stream(c, name, s) != 0)
        return -1;
    if ((*s)->status == RN_STREAM_CREATING)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, (*s)->name, c->account);
    snprintf(c->m.stream, sizeof c->m.stream, "%s", (*s)->name); /* metrics.h */
    return 0;
}

/* AUTO distribution (§4.7): neither the key nor ExplicitHashKey places a
 * record; the stream's open shards take turns. A bad ExplicitHashKey is
 * still a bad request. */
static int auto_route(rn_call_t *c, rn_stream_t *s, const rn_fast_record_t *r, rn_shard_t **out)
{
    if (r->ehk.p) {
        char ehk[64];
        rn_u128 h;
        cstr(&r->ehk, ehk, sizeof ehk);
        if (rn_u128_parse(ehk, strlen(ehk), &h))
            return rn_error_set(&c->err, RN_AWS_EXPLICIT_HASH_KEY, ehk);
    }
    uint32_t n = s->n_shards;
    for (uint32_t k = 1; k <= n; k++) {
        uint32_t i = (uint32_t)(((uint64_t)s->auto_next + k) % n);
        if (!s->shards[i].closed_ms) {
            s->auto_next = i;
            *out = &s->shards[i];
            return 0;
        }
    }
    return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
}

/* Route one record: the hash key from ExplicitHashKey or MD5 of the key. */
static int route(rn_call_t *c, rn_stream_t *s, const rn_fast_record_t *r, rn_shard_t **out)
{
    if (s->distribution_auto)
        return auto_route(c, s, r, out);
    rn_u128 h;
    if (r->ehk.p) {
        char ehk[64]; /* the model's pattern allows 39 digits */
        cstr(&r->ehk, ehk, sizeof ehk);
        if (rn_u128_parse(ehk, strlen(ehk), &h))
            return rn_error_set(&c->err, RN_AWS_EXPLICIT_HASH_KEY, ehk);
    } else {
        h = rn_hashkey_of(r->pk.p, r->pk.len);
    }
    *out = rn_stream_route(s, h);
    if (!*out)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    return 0;
}

static int missing_pk(rn_call_t *c, const char *path)
{
    char msg[256]; /* the row's template is "%s": the path goes in here */
    snprintf(msg, sizeof msg,
             "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
             "Member must not be null",
             path);
    return rn_error_set(&c->err, RN_AWS_VALIDATION, msg);
}


static char *put_lit(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}
#define PUT_LIT(w, s) put_lit((w), (s), sizeof(s) - 1)

/* Room for n more bytes at the end of b, or NULL. */
static char *room(rn_buf_t *b, size_t n)
{
    if (rn_buf_reserve(b, n))
        return NULL;
    return (char *)b->data + b->len;
}

/* Close the text written up to w. */
static void done_at(rn_buf_t *b, char *w)
{
    b->len = (size_t)((uint8_t *)w - b->data);
    b->data[b->len] = 0;
}

/* ---- counters reported at commit (rn_store_counters_at_commit) ---------------
 * A cluster backend learns an append's counters only when the replicated log
 * acknowledges it. The answer is rendered as usual, with placeholder digits,
 * and each sequence number is written over them in write_done, from the
 * counter the store has set by then. */
typedef struct seq_group {
    uint64_t first;       /* the store writes the group's first counter here */
    uint64_t created_ms;  /* the shard's: a reshard during the wait moves rn_shard_t */
    uint32_t index;
} seq_group_t;

typedef struct seq_slot {
    uint32_t off;   /* of the 56 digits in the answer */
    uint32_t group;
    uint32_t k;     /* the record's place in its group */
} seq_slot_t;

typedef struct seq_fix {
    int64_t arrival_ms;
    size_t nslots;
    seq_group_t *groups; /* both in this allocation */
    seq_slot_t *slots;
} seq_fix_t;

static void seq_fix_free(void *p) { free(p); }

/* The call's fix-up for ngroups groups and up to nslots sequence numbers, or
 * NULL when the store reports counters at once (or out of memory: *oom). */
static seq_fix_t *seq_fix_new(rn_call_t *c, size_t ngroups, size_t nslots, int *oom)
{
    *oom = 0;
    if (!rn_store_counters_at_commit(rn_registry_store(c->api->reg)))
        return NULL;
    seq_fix_t *f = calloc(1, sizeof *f + ngroups * sizeof(seq_group_t) + nslots * sizeof(seq_slot_t));
    if (!f) {
        *oom = 1;
        return NULL;
    }
    f->groups = (seq_group_t *)(f + 1);
    f->slots = (seq_slot_t *)(f->groups + ngroups);
    f->arrival_ms = c->now_ms;
    c->op_state = f;
    c->op_state_free = seq_fix_free;
    return f;
}

static void seq_fix_group(seq_fix_t *f, size_t g, const rn_shard_t *sh)
{
    f->groups[g].created_ms = (uint64_t)sh->created_ms;
    f->groups[g].index = sh->index;
}

/* Write the 56 digits of a record's sequence number (and a NUL). */
static void put_seq_of(char *w, uint64_t created_ms, uint32_t index, uint64_t counter, int64_t arrival_ms)
{
    rn_seqnum_t sn = {.shard_created_s = created_ms / 1000,
                      .shard_index = index,
                      .counter = counter,
                      .arrival_s = (uint64_t)(arrival_ms / 1000)};
    rn_seqnum_format(&sn, w);
}

static void put_seq(char *w, const rn_shard_t *sh, uint64_t counter, int64_t arrival_ms)
{
    put_seq_of(w, (uint64_t)sh->created_ms, sh->index, counter, arrival_ms);
}

static void seq_fix_apply(const seq_fix_t *f, rn_buf_t *body)
{
    for (size_t i = 0; i < f->nslots; i++) {
        const seq_slot_t *sl = &f->slots[i];
        const seq_group_t *g = &f->groups[sl->group];
        char digits[RN_SEQNUM_LEN + 1];
        put_seq_of(digits, g->created_ms, g->index, g->first + sl->k, f->arrival_ms);
        memcpy(body->data + sl->off, digits, RN_SEQNUM_LEN);
    }
}

/* Completion of a write: answer with the prepared body or fail. */
static void write_done(void *ud, int status)
{
    rn_call_t *c = ud;
    if (status < 0) {
        rn_error("write not made durable: %s", rn_strerror(status));
        rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        rn_call_fail(c);
        return;
    }
    if (c->op_state_free == seq_fix_free)
        seq_fix_apply(c->op_state, &c->reply);
    rn_call_reply_raw(c, &c->reply);
}

/* Hold the rendered body in the call until the group commit completes.
 * body is moved. */
static int commit_then_reply(rn_call_t *c, rn_buf_t *body)
{
    c->reply = *body;
    rn_buf_init(body, 0);
    if (rn_store_commit(rn_registry_store(c->api->reg), write_done, c) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    return RN_CALL_PENDING;
}

/* Enhanced monitoring (metrics.h): the one shard a PutRecord or GetRecords
 * touches, when the stream asks for shard-level metrics. */
static void metrics_one_shard(rn_call_t *c, const rn_stream_t *s, const rn_shard_t *sh, uint64_t bytes)
{
    if (!s->metrics)
        return;
    c->m.shard_mask = s->metrics;
    c->m.one = (rn_metrics_shard_t){.index = sh->index, .records = 1, .bytes = bytes};
    c->m.shards = &c->m.one;
    c->m.n_shards = 1;
}

/* ---- PutRecord ------------------------------------------------------------------- */

static int put_record(rn_call_t *c, rn_fast_put_record_t *in, const uint8_t *arena)
{
    rn_stream_t *s;
    if (writable_stream(c, &in->stream_name, &s) != 0)
        return -1;
    const rn_fast_record_t *r = &in->rec;
    if (!r->pk.p && !s->distribution_auto) /* optional only under AUTO (§3.2) */
        return missing_pk(c, "partitionKey");
    if (in->sfo.p && s->distribution_auto)
        return rn_error_set(&c->err, RN_AWS_AUTO_ORDERING, s->name, c->account);
    if (in->sfo.p) {
        char sfo[160]; /* the model's pattern allows 129 digits */
        cstr(&in->sfo, sfo, sizeof sfo);
        rn_seqnum_t sn;
        if (strcmp(sfo, "0") != 0 && rn_seqnum_parse(sfo, strlen(sfo), &sn) != 0)
            return rn_error_set(&c->err, RN_AWS_BAD_SEQ_FOR_ORDERING, sfo, s->name, c->account);
    }
    size_t size = r->data_len + r->pk.len;
    if (size > (size_t)s->max_record_kib * 1024)
        return rn_error_set(&c->err, RN_AWS_RECORD_TOO_LARGE, size, s->max_record_kib, s->name, c->account);
    c->m.bytes = size;
    c->m.records = 1;
    rn_shard_t *sh;
    rn_log_t *log;
    if (route(c, s, r, &sh) != 0) {
        if (c->err.code == RN_AWS_NONE)
            rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        return -1;
    }
    if (rn_encryption_key_check(c, s, 1) != 0) /* the stream's KMS key (kms.h) */
        return -1;
    metrics_one_shard(c, s, sh, size);
    int lrc = rn_shard_log(c->api->reg, s, sh, &log);
    if (lrc)
        return rn_fail_store(c, lrc);
    if (c->api->limits && rn_limits_put(c, sh, size) != 0) /* --enforce-limits */
        return rn_limits_put_fail(c, s, sh);
    rn_record_in_t rec = {.pk = (const uint8_t *)r->pk.p,
                          .pk_len = r->pk.len,
                          .data = arena + r->data_off,
                          .data_len = r->data_len};
    /* Nothing may fail between the append and the commit: the answer's room
     * and the fix-up of a counter reported at commit come first. */
    char id[SHARD_ID_MAX];
    rn_format_shard_id(sh->index, id, sizeof id);
    rn_buf_t body;
    rn_buf_init(&body, 0);
    int oom = 0;
    char *w = room(&body, 128 + RN_SEQNUM_LEN + sizeof id);
    seq_fix_t *fix = w ? seq_fix_new(c, 1, 1, &oom) : NULL;
    if (!w || oom) {
        rn_buf_dispose(&body);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    uint64_t counter;
    int rc = s->encrypted ? rn_records_seal(s, sh->index, &rec, 1) : 0;
    if (rc == 0)
        rc = rn_log_append(log, &rec, 1, c->now_ms, fix ? &fix->groups[0].first : &counter);
    if (rc) {
        rn_buf_dispose(&body);
        rn_error("append to %s failed: %s", s->name, rn_strerror(rc));
        return rn_fail_store(c, rc);
    }
    if (fix) {
        seq_fix_group(fix, 0, sh);
        counter = 0; /* placeholder digits */
    }
    w = PUT_LIT(w, "{\"ShardId\":\"");
    w = put_lit(w, id, strlen(id));
    w = PUT_LIT(w, "\",\"SequenceNumber\":\"");
    if (fix)
        fix->slots[fix->nslots++] = (seq_slot_t){.off = (uint32_t)(w - (char *)body.data)};
    put_seq(w, sh, counter, c->now_ms); /* its NUL is overwritten next: the buffer has room */
    w += RN_SEQNUM_LEN;
    w = s->encrypted ? PUT_LIT(w, "\",\"EncryptionType\":\"KMS\"}") : PUT_LIT(w, "\"}");
    done_at(&body, w);
    return commit_then_reply(c, &body);
}

int rn_op_PutRecord(rn_call_t *c)
{
    rec_input_t *in = take_fast_input(c);
    if (!in) {
        if (!(in = input_new(RN_OP_PutRecord)))
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        rn_fast_put_record_t *p = &in->u.put_record;
        p->stream_name.p = NULL; /* the generic path resolves the stream from c->in */
        p->sfo = tree_cstr(c->in, "SequenceNumberForOrdering");
        if (tree_record(c->in, &p->rec, &in->arena) != 0) {
            input_free(in);
            return rn_error_set(&c->err, RN_AWS_SERIALIZATION_BARE);
        }
    }
    int rc = put_record(c, &in->u.put_record, in->arena.data);
    input_free(in);
    return rc;
}

/* ---- PutRecords ------------------------------------------------------------------- */

/* The shards one PutRecords writes to, in order of first appearance. */
typedef struct group {
    rn_shard_t *sh;
    uint32_t count;    /* records for this shard */
    uint32_t start;    /* their first slot in the batch */
    uint32_t answered; /* while rendering: records of this shard answered so far */
    int failed;
    uint64_t first;    /* counter of the shard's first record */
    char id[SHARD_ID_MAX];
    size_t id_len;
    char seq[RN_SEQNUM_LEN + 1]; /* the sequence number answered last */
} group_t;

#define NO_GROUP UINT16_MAX /* group_of[] of a throttled record */
#define GROUP_HASH 1024     /* put_records' shard -> group table: a power of two over twice the records */
_Static_assert(GROUP_HASH >= 2 * RN_FAST_MAX_RECORDS && (GROUP_HASH & (GROUP_HASH - 1)) == 0, "GROUP_HASH");
#define INJECTED_FAILURE 2  /* throttled[] of an entry --inject-errors fails as InternalFailure */
#define PUT_RECORDS_OK_MAX (64 + RN_SEQNUM_LEN + SHARD_ID_MAX)
#define PUT_RECORDS_FAILED "{\"ErrorCode\":\"InternalFailure\",\"ErrorMessage\":\"Internal Service Failure\"}"

/* Enhanced monitoring: what each shard a PutRecords touched accepted and
 * had throttled (a failed group counts nothing). Without memory for it, the
 * shard-level series miss this call (the stream-level ones do not). */
static void metrics_put_records(rn_call_t *c, const rn_stream_t *s, const rn_fast_put_records_t *in, size_t n,
                                rn_shard_t *const *shard_of, const uint16_t *group_of, const group_t *groups,
                                const uint8_t *throttled)
{
    rn_metrics_shard_t *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    uint32_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        int refused = group_of[i] == NO_GROUP;
        if (refused ? throttled[i] != 1 : groups[group_of[i]].failed)
            continue; /* an injected failure or a failed append: neither accepted nor throttled */
        uint32_t idx = shard_of[i]->index, k = 0;
        while (k < nv && v[k].index != idx)
            k++;
        if (k == nv)
            v[nv++] = (rn_metrics_shard_t){.index = idx};
        if (refused) {
            v[k].throttled++;
        } else {
            v[k].records++;
            v[k].bytes += in->recs[i].data_len + in->recs[i].pk.len;
        }
    }
    c->m.shard_mask = s->metrics;
    c->m.shards = v;
    c->m.n_shards = nv;
}

static int put_records(rn_call_t *c, rn_fast_put_records_t *in, const uint8_t *arena)
{
    rn_stream_t *s;
    if (writable_stream(c, &in->stream_name, &s) != 0)
        return -1;
    size_t n = in->n; /* 1..500: the model's rule, checked by both decoders */
    if (n > RN_FAST_MAX_RECORDS)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    rn_shard_t *shard_of[RN_FAST_MAX_RECORDS];

    /* Validate everything first: a bad request changes nothing. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const rn_fast_record_t *r = &in->recs[i];
        if (!r->pk.p && !s->distribution_auto) {
            char path[64];
            snprintf(path, sizeof path, "records.%zu.member.partitionKey", i + 1);
            return missing_pk(c, path);
        }
        size_t size = r->data_len + r->pk.len;
        if (size > (size_t)s->max_record_kib * 1024)
            return rn_error_set(&c->err, RN_AWS_RECORD_TOO_LARGE, size, s->max_record_kib, s->name, c->account);
        total += size;
        if (route(c, s, r, &shard_of[i]) != 0)
            return -1;
    }
    if (total > PUT_RECORDS_MAX_BYTES)
        return rn_error_set(&c->err, RN_AWS_RECORDS_TOO_LARGE);
    if (rn_encryption_key_check(c, s, 1) != 0) /* a KMS error fails the whole request */
        return -1;
    /* --enforce-limits: records over their shard's rate are answered
     * ProvisionedThroughputExceededException and not written (NO_GROUP). */
    uint8_t throttled[RN_FAST_MAX_RECORDS];
    int n_throttled = c->api->limits ? rn_limits_put_records(c, in, shard_of, throttled) : 0;
    /* --inject-errors records:TYPE: entries refused as throttled (1) or as
     * failed (INJECTED_FAILURE), and not written either. */
    if (c->api->faults && rn_faults_records_on(c->api->faults)) {
        if (!c->api->limits)
            memset(throttled, 0, n);
        for (size_t i = 0; i < n; i++) {
            rn_aws_code_t f = throttled[i] ? RN_AWS_NONE : rn_faults_record(c->api->faults);
            if (f != RN_AWS_NONE) {
                throttled[i] = f == RN_AWS_SHARD_THROTTLED ? 1 : INJECTED_FAILURE;
                n_throttled++;
            }
        }
    }

    /* Group the records by shard (request order kept within a shard) and
     * append each shard's records with one call. */
    group_t groups[RN_FAST_MAX_RECORDS];
    uint16_t group_of[RN_FAST_MAX_RECORDS];
    /* shard -> group by open addressing on the shard's position (a scan of
     * the groups was quadratic: ~400 groups a request on 1,024 shards) */
    uint16_t ghash[GROUP_HASH];
    memset(ghash, 0xff, sizeof ghash);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (n_throttled && throttled[i]) {
            group_of[i] = NO_GROUP;
            continue;
        }
        size_t h = ((size_t)(shard_of[i] - s->shards) * 0x9E3779B1u) & (GROUP_HASH - 1);
        while (ghash[h] != NO_GROUP && groups[ghash[h]].sh != shard_of[i])
            h = (h + 1) & (GROUP_HASH - 1);
        if (ghash[h] == NO_GROUP) {
            groups[ng] = (group_t){.sh = shard_of[i]};
            ghash[h] = (uint16_t)ng++;
        }
        size_t g = ghash[h];
        group_of[i] = (uint16_t)g;
        groups[g].count++;
    }
    uint32_t at = 0;
    for (size_t g = 0; g < ng; g++) {
        groups[g].start = at;
        at += groups[g].count;
    }
    rn_record_in_t batch[RN_FAST_MAX_RECORDS];
    for (size_t i = 0; i < n; i++) {
        const rn_fast_record_t *r = &in->recs[i];
        if (group_of[i] == NO_GROUP)
            continue;
        group_t *gr = &groups[group_of[i]];
        batch[gr->start + gr->answered++] = (rn_record_in_t){.pk = (const uint8_t *)r->pk.p,
                                                             .pk_len = r->pk.len,
                                                             .data = arena + r->data_off,
                                                             .data_len = r->data_len};
    }
    /* The answer's room and the fix-up of counters reported at commit come
     * before the appends: nothing may fail between them and the commit. */
    rn_buf_t body;
    rn_buf_init(&body, 0);
    size_t per = PUT_RECORDS_OK_MAX > sizeof PUT_RECORDS_FAILED ? PUT_RECORDS_OK_MAX : sizeof PUT_RECORDS_FAILED;
    if (n_throttled && per < RN_LIMITS_PUT_ENTRY_MAX)
        per = RN_LIMITS_PUT_ENTRY_MAX;
    int oom = 0;
    char *w = room(&body, 96 + n * (per + 1)); /* 96: the frame, EncryptionType included */
    seq_fix_t *fix = w ? seq_fix_new(c, ng, n, &oom) : NULL;
    if (!w || oom) {
        rn_buf_dispose(&body);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    int failed = n_throttled;
    for (size_t g = 0; g < ng; g++) {
        group_t *gr = &groups[g];
        rn_log_t *log;
        int rc = rn_shard_log(c->api->reg, s, gr->sh, &log);
        if (rc == 0 && s->encrypted)
            rc = rn_records_seal(s, gr->sh->index, batch + gr->start, gr->count);
        if (rc == 0) /* written now: a write error is these entries' failure (never staged) */
            rc = rn_log_append_now(log, batch + gr->start, gr->count, c->now_ms,
                                   fix ? &fix->groups[g].first : &gr->first);
        if (rc == 0 && fix) {
            seq_fix_group(fix, g, gr->sh);
            gr->first = 0; /* placeholder digits */
        }
        if (rc) {
            rn_error("append to %s failed: %s", s->name, rn_strerror(rc));
            gr->failed = 1;
            failed += (int)gr->count;
        }
        gr->answered = 0;
        rn_format_shard_id(gr->sh->index, gr->id, sizeof gr->id);
        gr->id_len = strlen(gr->id);
    }

    /* The answer, in request order. */
    w = PUT_LIT(w, "{\"FailedRecordCount\":");
    w = rn_fast_put_int(w, failed);
    c->m.records = (uint32_t)n;
    w = PUT_LIT(w, ",\"Records\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        /* ... counting, for metrics.h, the entries failed, throttled and accepted */
        if (group_of[i] == NO_GROUP) {
            if (throttled[i] == INJECTED_FAILURE) {
                w = PUT_LIT(w, PUT_RECORDS_FAILED);
                c->m.failed++;
            } else {
                w += rn_limits_put_entry(w, c, s, shard_of[i]);
                c->m.throttled++;
            }
            continue;
        }
        group_t *gr = &groups[group_of[i]];
        if (gr->failed) {
            w = PUT_LIT(w, PUT_RECORDS_FAILED);
            c->m.failed++;
            continue;
        }
        c->m.ok++;
        c->m.bytes += in->recs[i].data_len + in->recs[i].pk.len;
        uint64_t counter = gr->first + gr->answered++;
        if (gr->answered > 1 && counter <= RN_SEQNUM_COUNTER_MAX)
            rn_fast_seq_step(gr->seq); /* counter + 1, same arrival: + 2^80 */
        else
            put_seq(gr->seq, gr->sh, counter, c->now_ms);
        w = PUT_LIT(w, "{\"SequenceNumber\":\"");
        if (fix)
            fix->slots[fix->nslots++] = (seq_slot_t){.off = (uint32_t)(w - (char *)body.data),
                                                     .group = group_of[i],
                                                     .k = gr->answered - 1};
        w = put_lit(w, gr->seq, RN_SEQNUM_LEN);
        w = PUT_LIT(w, "\",\"ShardId\":\"");
        w = put_lit(w, gr->id, gr->id_len);
        w = PUT_LIT(w, "\"}");
    }
    w = s->encrypted ? PUT_LIT(w, "],\"EncryptionType\":\"KMS\"}") : PUT_LIT(w, "]}");
    done_at(&body, w);
    if (s->metrics)
        metrics_put_records(c, s, in, n, shard_of, group_of, groups, throttled);
    return commit_then_reply(c, &body);
}

int rn_op_PutRecords(rn_call_t *c)
{
    rec_input_t *in = take_fast_input(c);
    if (!in) {
        if (!(in = input_new(RN_OP_PutRecords)))
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        rn_fast_put_records_t *p = &in->u.put_records;
        json_t *recs = json_object_get(c->in, "Records");
        p->stream_name.p = NULL; /* the generic path resolves the stream from c->in */
        p->n = json_array_size(recs);
        if (p->n > RN_FAST_MAX_RECORDS) {
            input_free(in);
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        }
        for (size_t i = 0; i < p->n; i++) {
            if (tree_record(json_array_get(recs, i), &p->recs[i], &in->arena) != 0) {
                input_free(in);
                return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
            }
        }
    }
    int rc = put_records(c, &in->u.put_records, in->arena.data);
    input_free(in);
    return rc;
}

/* ---- GetShardIterator ------------------------------------------------------------- */

/* GetShardIterator's input as C text (absent members NULL). */
typedef struct gsi_args {
    const char *name; /* StreamName (the fast path has no StreamARN) */
    const char *shard_id;
    const char *type;
    const char *seq;
    int has_ts;
    double ts;
} gsi_args_t;

/* A readable stream's shard by id, with AWS's two not-found messages. */
static int find_shard(rn_call_t *c, const gsi_args_t *a, rn_stream_t **s, rn_shard_t **sh)
{
    const char *name = a->name;
    char aname[256], aregion[64], aaccount[64];
    const char *arn = c->in ? rn_arg_str(c, "StreamARN") : NULL;
    if (!name && arn && rn_parse_stream_arn(arn, aregion, sizeof aregion, aaccount, sizeof aaccount, aname,
                                            sizeof aname) == 0)
        name = aname;
    uint32_t idx;
    if (rn_parse_shard_id(a->shard_id, &idx) != 0)
        return rn_error_set(&c->err, RN_AWS_SHARD_UNPARSEABLE, a->shard_id, name ? name : "", c->account);
    rn_fast_str_t fname = {a->name, a->name ? strlen(a->name) : 0};
    if (input_stream(c, &fname, s) != 0) {
        if (c->err.code != RN_AWS_STREAM_NOT_FOUND)
            return -1;
    } else if ((*s)->status != RN_STREAM_CREATING) {
        for (uint32_t i = 0; i < (*s)->n_shards; i++) {
            if ((*s)->shards[i].index == idx) {
                *sh = &(*s)->shards[i];
                return 0;
            }
        }
    }
    char id[SHARD_ID_MAX];
    rn_format_shard_id(idx, id, sizeof id);
    return rn_error_set(&c->err, RN_AWS_SHARD_NOT_FOUND, id, name ? name : "", c->account);
}

static int get_shard_iterator(rn_call_t *c, const gsi_args_t *a)
{
    rn_stream_t *s = NULL;
    rn_shard_t *sh = NULL;
    if (find_shard(c, a, &s, &sh) != 0)
        return -1;
    if (c->api->limits && rn_limits_iterator(c, s, sh) != 0) /* --enforce-limits */
        return -1;
    const char *type = a->type;
    const char *seq = a->seq;
    int by_seq = strcmp(type, "AT_SEQUENCE_NUMBER") == 0 || strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0;
    if (by_seq && !seq)
        return rn_error_set(&c->err, RN_AWS_ITER_WITHOUT_SEQ, type);
    if (!by_seq && seq)
        return rn_error_set(&c->err, RN_AWS_ITER_WITH_SEQ, type);

    rn_log_t *log;
    int lrc = rn_shard_log(c->api->reg, s, sh, &log);
    if (lrc)
        return rn_fail_store(c, lrc);
    char id[SHARD_ID_MAX];
    rn_format_shard_id(sh->index, id, sizeof id);
    uint64_t pos;
    if (strcmp(type, "TRIM_HORIZON") == 0) {
        pos = rn_log_first(log);
    } else if (strcmp(type, "LATEST") == 0) {
        pos = sh->closed_ms ? sh->ending_counter + 1 : rn_log_next(log);
    } else if (strcmp(type, "AT_TIMESTAMP") == 0) {
        if (!a->has_ts)
            return rn_error_set(&c->err, RN_AWS_ITER_NO_TIMESTAMP);
        int64_t ts = (int64_t)llround(a->ts * 1000.0);
        if (ts > c->now_ms)
            return rn_error_set(&c->err, RN_AWS_ITER_TS_FUTURE, (long long)ts, (long long)c->now_ms);
        if (rn_log_seek_time(log, ts, &pos) != 0)
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    } else {
        rn_seqnum_t sn;
        if (rn_seqnum_parse(seq, strlen(seq), &sn) != 0)
            return rn_error_set(&c->err, RN_AWS_BAD_STARTING_SEQ, seq, id, s->name, c->account);
        if (sn.shard_index != sh->index) {
            char other[SHARD_ID_MAX];
            rn_format_shard_id(sn.shard_index, other, sizeof other);
            return rn_error_set(&c->err, RN_AWS_SEQ_OTHER_SHARD, other, id);
        }
        if (sn.shard_created_s != (uint64_t)(sh->created_ms / 1000))
            return rn_error_set(&c->err, RN_AWS_SEQ_OTHER_STREAM, seq, id, s->name, c->account);
        pos = sn.counter + (type[1] == 'F'); /* AFTER_... */
        if (pos < rn_log_first(log))
            pos = rn_log_first(log);
    }
    rn_iter_t it = {.stream_id = s->id,
                    .stream_created_ms = s->created_ms,
                    .shard_index = sh->index,
                    .position = pos,
                    .issued_ms = c->now_ms};
    snprintf(it.stream_name, sizeof it.stream_name, "%s", s->name);
    snprintf(it.account, sizeof it.account, "%s", c->account); /* bound to the caller */
    snprintf(it.region, sizeof it.region, "%s", c->region);
    char tok[RN_ITERATOR_MAX + 1];
    int tl = rn_iter_seal(rn_registry_iter_key(c->api->reg), &it, tok);
    if (tl < 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    rn_buf_t body;
    rn_buf_init(&body, 0);
    char *w = room(&body, 32 + RN_FAST_JSON_STRING_MAX(tl));
    if (!w)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    w = PUT_LIT(w, "{\"ShardIterator\":");
    w = rn_fast_put_json_string(w, (const uint8_t *)tok, (size_t)tl);
    *w++ = '}';
    done_at(&body, w);
    rn_call_reply_raw(c, &body);
    rn_buf_dispose(&body);
    return 0;
}

int rn_op_GetShardIterator(rn_call_t *c)
{
    gsi_args_t a;
    rec_input_t *in = take_fast_input(c);
    if (in) {
        /* Validated on the fast path: names and types are short ASCII. */
        char name[160], shard_id[160], type[32], seq[160];
        rn_fast_get_shard_iterator_t *f = &in->u.get_shard_iterator;
        a.name = cstr(&f->stream_name, name, sizeof name);
        a.shard_id = cstr(&f->shard_id, shard_id, sizeof shard_id);
        a.type = cstr(&f->type, type, sizeof type);
        a.seq = cstr(&f->starting_seq, seq, sizeof seq);
        a.has_ts = f->has_timestamp;
        a.ts = f->timestamp;
        input_free(in);
        return get_shard_iterator(c, &a);
    }
    json_t *tsj = json_object_get(c->in, "Timestamp");
    a.name = rn_arg_str(c, "StreamName");
    a.shard_id = rn_arg_str(c, "ShardId");
    a.type = rn_arg_str(c, "ShardIteratorType");
    a.seq = rn_arg_str(c, "StartingSequenceNumber");
    a.has_ts = tsj != NULL;
    a.ts = json_number_value(tsj);
    return get_shard_iterator(c, &a);
}

/* ---- GetRecords --------------------------------------------------------------------- */

/* The read buffers of GetRecords, kept between calls (per thread) so that a
 * steady reader does not fault in fresh pages for every call; at most
 * READ_CACHE_KEEP bytes of scratch are kept. */
#define READ_CACHE_KEEP (4u * 1024 * 1024)
typedef struct read_cache {
    rn_record_out_t *recs;
    size_t cap; /* entries in recs */
    rn_buf_t scratch;
} read_cache_t;
static _Thread_local read_cache_t read_cache;

/* Records for up to n entries, and an empty scratch buffer; NULL on ENOMEM. */
static read_cache_t *read_cache_get(size_t n)
{
    read_cache_t *rc = &read_cache;
    if (rc->scratch.max == 0)
        rn_buf_init(&rc->scratch, 0); /* first use in this thread */
    if (rc->cap < n) {
        rn_record_out_t *p = realloc(rc->recs, n * sizeof *p);
        if (!p)
            return NULL;
        rc->recs = p;
        rc->cap = n;
    }
    rn_buf_reset(&rc->scratch);
    return rc;
}

static void read_cache_put(read_cache_t *rc)
{
    if (rc->scratch.cap > READ_CACHE_KEEP)
        rn_buf_dispose(&rc->scratch);
    else
        rn_buf_reset(&rc->scratch);
}

/* Bytes one record can take in a GetRecords answer, beyond its Data and
 * PartitionKey: the member names, the sequence number, the timestamp. */
#define GET_RECORD_FIXED 160
#define GET_RECORD_KMS 24 /* ,"EncryptionType":"KMS" */

size_t rn_records_json_max(const rn_record_out_t *recs, size_t n)
{
    size_t need = 2;
    for (size_t i = 0; i < n; i++)
        need += GET_RECORD_FIXED + GET_RECORD_KMS + rn_b64_encoded_len(recs[i].data_len) +
                RN_FAST_JSON_STRING_MAX(recs[i].pk_len);
    return need;
}

char *rn_put_records_json(char *w, const rn_shard_t *sh, const rn_record_out_t *recs, size_t n)
{
    char ts[RN_FAST_TIMESTAMP_MAX];
    size_t ts_len = 0;
    int64_t ts_ms = 0;
    char seq[RN_SEQNUM_LEN + 1];
    uint64_t seq_counter = 0;
    int64_t seq_arrival_s = -1;
    *w++ = '[';
    for (size_t i = 0; i < n; i++) {
        const rn_record_out_t *r = &recs[i];
        if (i)
            *w++ = ',';
        int64_t arrival_s = r->arrival_ms / 1000;
        if (arrival_s == seq_arrival_s && r->counter == seq_counter + 1 && r->counter <= RN_SEQNUM_COUNTER_MAX)
            rn_fast_seq_step(seq); /* the next counter in the same second: + 2^80 */
        else
            put_seq(seq, sh, r->counter, r->arrival_ms);
        seq_counter = r->counter;
        seq_arrival_s = arrival_s;
        w = PUT_LIT(w, "{\"SequenceNumber\":\"");
        w = put_lit(w, seq, RN_SEQNUM_LEN);
        w = PUT_LIT(w, "\",\"ApproximateArrivalTimestamp\":");
        if (ts_len == 0 || r->arrival_ms != ts_ms) { /* records of a batch share one */
            ts_ms = r->arrival_ms;
            ts_len = (size_t)(rn_fast_put_timestamp(ts, ts_ms) - ts);
        }
        w = put_lit(w, ts, ts_len);
        w = PUT_LIT(w, ",\"Data\":\"");
        w += rn_fast_b64_encode(r->data, r->data_len, w);
        *w++ = '"';
        if (r->pk_len) { /* a keyless record (AUTO distribution) has none (§3.7) */
            w = PUT_LIT(w, ",\"PartitionKey\":");
            w = rn_fast_put_json_string(w, r->pk, r->pk_len);
        }
        if (r->flags & RN_RECORD_ENCRYPTED)
            w = PUT_LIT(w, ",\"EncryptionType\":\"KMS\"");
        *w++ = '}';
    }
    *w++ = ']';
    return w;
}

static int get_records(rn_call_t *c, const char *tok, size_t tok_len, int64_t limit)
{
    rn_iter_t it;
    if (rn_iter_open_for(rn_registry_iter_key(c->api->reg), tok, tok_len, c->account, c->region, &it) != 0 ||
        it.position > RN_SEQNUM_COUNTER_MAX + 1)
        return rn_error_set(&c->err, RN_AWS_INVALID_ITERATOR);
    if (c->now_ms - it.issued_ms > RN_ITERATOR_TTL_MS) {
        char a[64], b[64];
        rn_format_java_date(it.issued_ms, a, sizeof a);
        rn_format_java_date(c->now_ms, b, sizeof b);
        return rn_error_set(&c->err, RN_AWS_EXPIRED_ITERATOR, a, b);
    }
    char id[SHARD_ID_MAX];
    rn_format_shard_id(it.shard_index, id, sizeof id);
    rn_stream_t *s = rn_registry_find_id(c->api->reg, it.stream_id);
    rn_shard_t *sh = NULL;
    if (s && s->status != RN_STREAM_CREATING)
        for (uint32_t i = 0; i < s->n_shards; i++)
            if (s->shards[i].index == it.shard_index)
                sh = &s->shards[i];
    if (!sh)
        return rn_error_set(&c->err, RN_AWS_SHARD_NOT_FOUND, id, it.stream_name, c->account);
    /* The token is the caller's (or an unbound older one); the stream must
     * still be one the caller may read (access.h). */
    if (rn_access_token_stream(c, s, it.bound, RN_AWS_INVALID_ITERATOR, NULL) != 0 ||
        rn_encryption_key_check(c, s, 0) != 0) /* the stream's KMS key (kms.h) */
        return -1;
    snprintf(c->m.stream, sizeof c->m.stream, "%s", s->name); /* metrics.h */
    metrics_one_shard(c, s, sh, 0);
    if (c->api->limits && rn_limits_get(c, s, sh) != 0) /* --enforce-limits */
        return -1;

    rn_log_t *log;
    int lrc = rn_shard_log(c->api->reg, s, sh, &log);
    if (lrc)
        return rn_fail_store(c, lrc);
    uint64_t pos = it.position;
    if (pos < rn_log_first(log))
        pos = rn_log_first(log);

    read_cache_t *cache = read_cache_get((size_t)limit);
    rn_record_out_t *recs = cache ? cache->recs : NULL;
    size_t n = 0;
    uint64_t next = pos;
    int rc = cache ? rn_log_read(log, pos, (size_t)limit, GET_RECORDS_MAX_BYTES, &cache->scratch, recs, &n, &next)
                   : RN_ENOMEM;
    if (rc) {
        if (cache)
            read_cache_put(cache);
        rn_error("read of %s %s failed: %s", s->name, id, rn_strerror(rc));
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }

    /* Sealed records are opened in place, in the scratch buffer. */
    if (s->has_datakey && rn_records_open(s, sh->index, recs, n) != 0) {
        read_cache_put(cache);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }

    size_t got = 0; /* the read's bytes: --enforce-limits charges them, metrics.h counts them */
    for (size_t i = 0; i < n; i++)
        got += recs[i].data_len + recs[i].pk_len;
    if (c->api->limits)
        rn_limits_got(c, sh, got);
    c->m.bytes = got;

    /* Render the records straight into the body: one reservation. */
    size_t need = 64 + rn_records_json_max(recs, n);
    need += 64 + RN_FAST_JSON_STRING_MAX(RN_ITERATOR_MAX) + 24;
    /* At the end of a closed shard: ChildShards and no NextShardIterator (§3.6). */
    int at_end = rn_shard_ended(s, sh, next);
    if (at_end)
        need += RN_CHILD_SHARDS_JSON_MAX;
    rn_buf_t body;
    rn_buf_init(&body, 0);
    char *w = room(&body, need);
    if (w) {
        w = PUT_LIT(w, "{\"Records\":");
        w = rn_put_records_json(w, sh, recs, n);
        if (!at_end)
            w = PUT_LIT(w, ",\"NextShardIterator\":");
    }
    int64_t behind = 0;
    if (n > 0 && next < rn_log_committed(log))
        behind = c->now_ms - recs[n - 1].arrival_ms;
    if (behind < 0)
        behind = 0;
    c->m.records = (uint32_t)n;
    c->m.iterator_age_ms = behind;
    c->m.one.records = (uint32_t)n; /* the shard-level series (metrics_one_shard), when asked for */
    c->m.one.bytes = got;
    read_cache_put(cache);
    if (!w) {
        rn_buf_dispose(&body);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }

    if (at_end) {
        w = PUT_LIT(w, ",\"MillisBehindLatest\":0,\"ChildShards\":");
        w += rn_put_child_shards(w, s, sh);
        *w++ = '}';
        done_at(&body, w);
        rn_call_reply_raw(c, &body);
        rn_buf_dispose(&body);
        return 0;
    }
    it.position = next;
    it.issued_ms = c->now_ms;
    snprintf(it.account, sizeof it.account, "%s", c->account); /* an old unbound token's successor is bound */
    snprintf(it.region, sizeof it.region, "%s", c->region);
    char ntok[RN_ITERATOR_MAX + 1];
    int tl = rn_iter_seal(rn_registry_iter_key(c->api->reg), &it, ntok);
    if (tl < 0) {
        rn_buf_dispose(&body);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    w = rn_fast_put_json_string(w, (const uint8_t *)ntok, (size_t)tl);
    w = PUT_LIT(w, ",\"MillisBehindLatest\":");
    w = rn_fast_put_int(w, behind);
    *w++ = '}';
    done_at(&body, w);
    rn_call_reply_raw(c, &body);
    rn_buf_dispose(&body);
    return 0;
}

int rn_op_GetRecords(rn_call_t *c)
{
    rec_input_t *in = take_fast_input(c);
    if (in) {
        rn_fast_get_records_t *f = &in->u.get_records;
        int rc = get_records(c, f->iterator.p, f->iterator.len, f->has_limit ? f->limit : 10000);
        input_free(in);
        return rc;
    }
    const char *tok = rn_arg_str(c, "ShardIterator");
    int64_t limit = 10000;
    rn_arg_int(c, "Limit", &limit);
    return get_records(c, tok, strlen(tok), limit);
}
