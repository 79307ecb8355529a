/* metrics.c: the series behind GET /metrics (metrics.h). */
#include "api/metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/status.h"

/* Latency buckets, milliseconds (le), then +Inf. */
static const double bounds_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define NB (sizeof bounds_ms / sizeof bounds_ms[0] + 1)

typedef struct hist {
    uint64_t b[NB]; /* per bucket, not cumulative */
    uint64_t count;
    double sum_ms;
} hist_t;

static void hist_add(hist_t *h, double ms)
{
    size_t i = 0;
    while (i < NB - 1 && ms > bounds_ms[i])
        i++;
    h->b[i]++;
    h->count++;
    h->sum_ms += ms;
}

typedef struct req_series {
    int used;
    uint16_t op, status;
    uint8_t http2, cbor;
    const char *err; /* a static error type string, or NULL */
    uint64_t n;
} req_series_t;

/* What names a series: the stream, and the shard for shard-level ones. */
typedef struct skey {
    char account[16], region[40], stream[129];
    uint32_t index; /* the shard; UINT32_MAX for a stream's series */
} skey_t;

/* A table of series by key: open addressing, at most max of them. */
typedef struct stab {
    skey_t **v;
    size_t cap, n, max;
} stab_t;

/* One stream's CloudWatch metrics. */
typedef struct sstat {
    skey_t k;
    uint64_t in_bytes, in_records;
    uint64_t pr_bytes, pr_req, pr_ok;
    hist_t pr_lat;
    uint64_t prs_bytes, prs_req, prs_ok, prs_total, prs_succ, prs_failed, prs_throttled;
    hist_t prs_lat;
    uint64_t gr_bytes, gr_records, gr_req, gr_ok;
    hist_t gr_lat;
    int64_t gr_age;
    uint64_t read_exceeded, write_exceeded;
    uint64_t sub_rate_exceeded, sub_bytes, sub_records, sub_events;
    int64_t sub_behind;
} sstat_t;

/* One shard's enhanced monitoring series. */
typedef struct shstat {
    skey_t k;
    uint32_t mask; /* what the stream asked for at the last update: what is shown */
    uint64_t in_bytes, in_records, out_bytes, out_records, write_exceeded, read_exceeded;
    int64_t age;
} shstat_t;

struct rn_metrics {
    req_series_t req[RN_METRICS_MAX_REQ];
    size_t n_req;
    hist_t op_lat[RN_OP_COUNT];
    stab_t streams; /* of sstat_t */
    stab_t shards;  /* of shstat_t */
    uint64_t dropped;
};

static int stab_init(stab_t *t, size_t max)
{
    t->max = max;
    t->cap = 16;
    while (t->cap < max * 2)
        t->cap *= 2;
    t->v = calloc(t->cap, sizeof *t->v);
    return t->v ? 0 : RN_ENOMEM;
}

static void stab_free(stab_t *t)
{
    for (size_t i = 0; t->v && i < t->cap; i++)
        free(t->v[i]);
    free(t->v);
}

int rn_metrics_create(rn_metrics_t **out, size_t max_streams)
{
    rn_metrics_t *m = calloc(1, sizeof *m);
    if (!m)
        return RN_ENOMEM;
    size_t ms = max_streams ? max_streams : RN_METRICS_MAX_STREAMS_DEFAULT;
    if (stab_init(&m->streams, ms) || stab_init(&m->shards, ms * RN_METRICS_SHARDS_PER_STREAM)) {
        rn_metrics_destroy(m);
        return RN_ENOMEM;
    }
    *out = m;
    return 0;
}

void rn_metrics_destroy(rn_metrics_t *m)
{
    if (!m)
        return;
    stab_free(&m->streams);
    stab_free(&m->shards);
    free(m);
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull;
}

/* The series of key (account, region, stream, index) in t, made (zeroed, of
 * size bytes, *made set) when new; NULL past the bound (counted). */
static skey_t *series(rn_metrics_t *m, stab_t *t, size_t size, const char *account, const char *region,
                      const char *stream, uint32_t index, int *made)
{
    *made = 0;
    uint64_t h = fnv(fnv(fnv(0xcbf29ce484222325ull, account), region), stream) ^ ((uint64_t)index * 0x9E3779B97F4A7C15ull);
    size_t i = (size_t)(h ^ (h >> 29)) & (t->cap - 1);
    while (t->v[i]) {
        skey_t *k = t->v[i];
        if (k->index == index && strcmp(k->stream, stream) == 0 && strcmp(k->account, account) == 0 &&
            strcmp(k->region, region) == 0)
            return k;
        i = (i + 1) & (t->cap - 1);
    }
    skey_t *k = t->n < t->max ? calloc(1, size) : NULL;
    if (!k) {
        m->dropped++;
        return NULL;
    }
    snprintf(k->account, sizeof k->account, "%s", account);
    snprintf(k->region, sizeof k->region, "%s", region);
    snprintf(k->stream, sizeof k->stream, "%s", stream);
    k->index = index;
    t->v[i] = k;
    t->n++;
    *made = 1;
    return k;
}

static sstat_t *stream_of(rn_metrics_t *m, const char *account, const char *region, const char *stream)
{
    if (!stream || !*stream)
        return NULL;
    int made;
    sstat_t *s = (sstat_t *)series(m, &m->streams, sizeof(sstat_t), account, region, stream, UINT32_MAX, &made);
    if (made)
        s->gr_age = s->sub_behind = -1;
    return s;
}

static shstat_t *shard_of(rn_metrics_t *m, const char *account, const char *region, const char *stream,
                          uint32_t index)
{
    int made;
    shstat_t *s = (shstat_t *)series(m, &m->shards, sizeof(shstat_t), account, region, stream, index, &made);
    if (made)
        s->age = -1;
    return s;
}

/* The shard-level part of a record operation (enhanced monitoring). */
static void count_shards(rn_metrics_t *m, rn_op_t op, int ok, int throttled, const char *account,
                         const char *region, const rn_metrics_data_t *d)
{
    for (uint32_t k = 0; k < d->n_shards; k++) {
        const rn_metrics_shard_t *x = &d->shards[k];
        shstat_t *s = shard_of(m, account, region, d->stream, x->index);
        if (!s)
            continue;
        s->mask = d->shard_mask;
        if (op == RN_OP_GetRecords) {
            if (ok) {
                s->out_bytes += x->bytes;
                s->out_records += x->records;
                if (d->iterator_age_ms >= 0)
                    s->age = d->iterator_age_ms;
            } else if (throttled) {
                s->read_exceeded++;
            }
        } else if (ok) { /* PutRecord, PutRecords: the entries each shard accepted or refused */
            s->in_bytes += x->bytes;
            s->in_records += x->records;
            s->write_exceeded += x->throttled;
        } else if (throttled) {
            s->write_exceeded += x->records + x->throttled;
        }
    }
}

static void count_request(rn_metrics_t *m, rn_op_t op, int http2, int cbor, int status, const char *err)
{
    uint64_t h = ((uint64_t)(unsigned)op * 31 + (unsigned)status) * 31 + (unsigned)(http2 * 2 + cbor);
    h = (h ^ (uintptr_t)err) * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & (RN_METRICS_MAX_REQ - 1);
    for (size_t probe = 0; probe < RN_METRICS_MAX_REQ; probe++, i = (i + 1) & (RN_METRICS_MAX_REQ - 1)) {
        req_series_t *r = &m->req[i];
        if (!r->used) {
            if (m->n_req >= RN_METRICS_MAX_REQ / 2) /* keep probes short */
                break;
            *r = (req_series_t){.used = 1, .op = (uint16_t)op, .status = (uint16_t)status,
                                .http2 = (uint8_t)http2, .cbor = (uint8_t)cbor, .err = err};
            m->n_req++;
        }
        if (r->op == (uint16_t)op && r->status == status && r->http2 == http2 && r->cbor == cbor && r->err == err) {
            r->n++;
            return;
        }
    }
    m->dropped++;
}

void rn_metrics_request(rn_metrics_t *m, rn_op_t op, int http2, int cbor, int status, const char *error_type,
                        int64_t latency_us, const char *account, const char *region,
                        const rn_metrics_data_t *d)
{
    if (op < 0 || op >= RN_OP_COUNT)
        op = RN_OP_NONE;
    count_request(m, op, http2, cbor, status, status == 200 ? NULL : error_type);
    double ms = (double)latency_us / 1000.0;
    if (op != RN_OP_NONE)
        hist_add(&m->op_lat[op], ms);
    if (!d || op == RN_OP_NONE)
        return;
    int ok = status == 200;
    int throttled = !ok && error_type && strcmp(error_type, "ProvisionedThroughputExceededException") == 0;
    if (op != RN_OP_PutRecord && op != RN_OP_PutRecords && op != RN_OP_GetRecords)
        return;
    if (d->shard_mask)
        count_shards(m, op, ok, throttled, account, region, d);
    sstat_t *s = stream_of(m, account, region, d->stream);
    if (!s)
        return;
    switch (op) {
    case RN_OP_PutRecord:
        s->pr_req++;
        hist_add(&s->pr_lat, ms);
        if (ok) {
            s->pr_ok++;
            s->pr_bytes += d->bytes;
            s->in_bytes += d->bytes;
            s->in_records++;
        } else if (throttled) {
            s->write_exceeded++;
        }
        break;
    case RN_OP_PutRecords:
        s->prs_req++;
        hist_add(&s->prs_lat, ms);
        if (ok) {
            s->prs_total += d->records;
            s->prs_succ += d->ok;
            s->prs_failed += d->failed;
            s->prs_throttled += d->throttled;
            s->write_exceeded += d->throttled;
            s->prs_bytes += d->bytes;
            s->in_bytes += d->bytes;
            s->in_records += d->ok;
            if (d->ok)
                s->prs_ok++;
        }
        break;
    default: /* GetRecords */
        s->gr_req++;
        hist_add(&s->gr_lat, ms);
        if (ok) {
            s->gr_ok++;
            s->gr_bytes += d->bytes;
            s->gr_records += d->records;
            if (d->iterator_age_ms >= 0)
                s->gr_age = d->iterator_age_ms;
        } else if (throttled) {
            s->read_exceeded++;
        }
        break;
    }
}

void rn_metrics_subscribe_event(rn_metrics_t *m, const char *account, const char *region, const char *stream,
                                uint64_t bytes, uint32_t records, int64_t millis_behind, int rate_exceeded)
{
    sstat_t *s = stream_of(m, account, region, stream);
    if (!s)
        return;
    if (rate_exceeded) {
        s->sub_rate_exceeded++;
        return;
    }
    s->sub_events++;
    s->sub_bytes += bytes;
    s->sub_records += records;
    s->sub_behind = millis_behind;
}

/* ---- rendering ---------------------------------------------------------------------- */

static int head(rn_buf_t *b, const char *name, const char *type, const char *help)
{
    return rn_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int hist_out(rn_buf_t *b, const char *name, const char *labels, const hist_t *h)
{
    uint64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; i < NB && !rc; i++) {
        cum += h->b[i];
        if (i < NB - 1)
            rc = rn_buf_printf(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, bounds_ms[i], (unsigned long long)cum);
        else
            rc = rn_buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
    }
    if (!rc)
        rc = rn_buf_printf(b, "%s_sum{%s} %.3f\n%s_count{%s} %llu\n", name, labels, h->sum_ms, name, labels,
                   (unsigned long long)h->count);
    return rc;
}

/* The stream families: name, type, CloudWatch name, and how to read the value. */
enum { V_U64, V_I64, V_HIST };
typedef struct fam {
    const char *name, *type, *help;
    int kind;
    size_t off;
} fam_t;
#define U(field) V_U64, offsetof(sstat_t, field)
#define I(field) V_I64, offsetof(sstat_t, field)
#define H(field) V_HIST, offsetof(sstat_t, field)
static const fam_t fams[] = {
    {"kinesis_incoming_bytes_total", "counter", "CloudWatch IncomingBytes: bytes put (PutRecord and PutRecords, accepted)", U(in_bytes)},
    {"kinesis_incoming_records_total", "counter", "CloudWatch IncomingRecords: records put and accepted", U(in_records)},
    {"kinesis_put_record_bytes_total", "counter", "CloudWatch PutRecord.Bytes", U(pr_bytes)},
    {"kinesis_put_record_requests_total", "counter", "PutRecord calls (CloudWatch PutRecord.Success = success / requests)", U(pr_req)},
    {"kinesis_put_record_success_total", "counter", "CloudWatch PutRecord.Success: successful PutRecord calls", U(pr_ok)},
    {"kinesis_put_record_latency_ms", "histogram", "CloudWatch PutRecord.Latency, milliseconds", H(pr_lat)},
    {"kinesis_put_records_bytes_total", "counter", "CloudWatch PutRecords.Bytes: bytes of accepted entries", U(prs_bytes)},
    {"kinesis_put_records_requests_total", "counter", "PutRecords calls (CloudWatch PutRecords.Success = success / requests)", U(prs_req)},
    {"kinesis_put_records_success_total", "counter", "CloudWatch PutRecords.Success: calls with at least one entry accepted", U(prs_ok)},
    {"kinesis_put_records_total_records_total", "counter", "CloudWatch PutRecords.TotalRecords", U(prs_total)},
    {"kinesis_put_records_successful_records_total", "counter", "CloudWatch PutRecords.SuccessfulRecords", U(prs_succ)},
    {"kinesis_put_records_failed_records_total", "counter", "CloudWatch PutRecords.FailedRecords: entries failed for internal failures", U(prs_failed)},
    {"kinesis_put_records_throttled_records_total", "counter", "CloudWatch PutRecords.ThrottledRecords", U(prs_throttled)},
    {"kinesis_put_records_latency_ms", "histogram", "CloudWatch PutRecords.Latency, milliseconds", H(prs_lat)},
    {"kinesis_get_records_bytes_total", "counter", "CloudWatch GetRecords.Bytes", U(gr_bytes)},
    {"kinesis_get_records_records_total", "counter", "CloudWatch GetRecords.Records", U(gr_records)},
    {"kinesis_get_records_requests_total", "counter", "GetRecords calls (CloudWatch GetRecords.Success = success / requests)", U(gr_req)},
    {"kinesis_get_records_success_total", "counter", "CloudWatch GetRecords.Success", U(gr_ok)},
    {"kinesis_get_records_latency_ms", "histogram", "CloudWatch GetRecords.Latency, milliseconds", H(gr_lat)},
    {"kinesis_get_records_iterator_age_ms", "gauge", "CloudWatch GetRecords.IteratorAgeMilliseconds, of the last answer", I(gr_age)},
    {"kinesis_read_provisioned_throughput_exceeded_total", "counter", "CloudWatch ReadProvisionedThroughputExceeded: GetRecords calls throttled", U(read_exceeded)},
    {"kinesis_write_provisioned_throughput_exceeded_total", "counter", "CloudWatch WriteProvisionedThroughputExceeded: records throttled", U(write_exceeded)},
    {"kinesis_subscribe_to_shard_rate_exceeded_total", "counter", "CloudWatch SubscribeToShard.RateExceeded", U(sub_rate_exceeded)},
    {"kinesis_subscribe_to_shard_event_bytes_total", "counter", "CloudWatch SubscribeToShardEvent.Bytes", U(sub_bytes)},
    {"kinesis_subscribe_to_shard_event_records_total", "counter", "CloudWatch SubscribeToShardEvent.Records", U(sub_records)},
    {"kinesis_subscribe_to_shard_event_success_total", "counter", "CloudWatch SubscribeToShardEvent.Success: events delivered", U(sub_events)},
    {"kinesis_subscribe_to_shard_event_millis_behind_latest", "gauge", "CloudWatch SubscribeToShardEvent.MillisBehindLatest, of the last event", I(sub_behind)},
};

/* The shard-level families (shown for the metrics the stream asked for). */
typedef struct shard_fam {
    const char *name, *type, *help;
    uint32_t bit;
    int kind;
    size_t off;
} shard_fam_t;
#define SU(field) V_U64, offsetof(shstat_t, field)
#define SI(field) V_I64, offsetof(shstat_t, field)
static const shard_fam_t shard_fams[] = {
    {"kinesis_shard_incoming_bytes_total", "counter", "CloudWatch shard-level IncomingBytes", RN_SHARD_M_IN_BYTES, SU(in_bytes)},
    {"kinesis_shard_incoming_records_total", "counter", "CloudWatch shard-level IncomingRecords", RN_SHARD_M_IN_RECORDS, SU(in_records)},
    {"kinesis_shard_outgoing_bytes_total", "counter", "CloudWatch shard-level OutgoingBytes (GetRecords)", RN_SHARD_M_OUT_BYTES, SU(out_bytes)},
    {"kinesis_shard_outgoing_records_total", "counter", "CloudWatch shard-level OutgoingRecords (GetRecords)", RN_SHARD_M_OUT_RECORDS, SU(out_records)},
    {"kinesis_shard_write_provisioned_throughput_exceeded_total", "counter", "CloudWatch shard-level WriteProvisionedThroughputExceeded: records throttled", RN_SHARD_M_WRITE_EXCEEDED, SU(write_exceeded)},
    {"kinesis_shard_read_provisioned_throughput_exceeded_total", "counter", "CloudWatch shard-level ReadProvisionedThroughputExceeded: GetRecords calls throttled", RN_SHARD_M_READ_EXCEEDED, SU(read_exceeded)},
    {"kinesis_shard_iterator_age_ms", "gauge", "CloudWatch shard-level IteratorAgeMilliseconds, of the last GetRecords", RN_SHARD_M_ITER_AGE, SI(age)},
};

int rn_metrics_render(const rn_metrics_t *m, const rn_metrics_gauges_t *g, rn_buf_t *b)
{
    int rc = head(b, "runnel_requests_total", "counter",
                  "Requests answered, by operation, HTTP version, protocol, status and AWS error type");
    for (size_t i = 0; i < RN_METRICS_MAX_REQ && !rc; i++) {
        const req_series_t *r = &m->req[i];
        if (!r->used)
            continue;
        rc = rn_buf_printf(b, "runnel_requests_total{operation=\"%s\",http=\"%s\",protocol=\"%s\",status=\"%u\",error=\"%s\"} %llu\n",
                   r->op == (uint16_t)RN_OP_NONE ? "unknown" : rn_op_name((rn_op_t)r->op), r->http2 ? "2" : "1.1",
                   r->cbor ? "cbor" : "json", r->status, r->err ? r->err : "", (unsigned long long)r->n);
    }
    if (!rc)
        rc = head(b, "runnel_request_duration_ms", "histogram", "Request latency by operation, milliseconds");
    for (int op = 0; op < RN_OP_COUNT && !rc; op++) {
        if (!m->op_lat[op].count)
            continue;
        char l[96];
        snprintf(l, sizeof l, "operation=\"%s\"", rn_op_name((rn_op_t)op));
        rc = hist_out(b, "runnel_request_duration_ms", l, &m->op_lat[op]);
    }
    for (size_t f = 0; f < sizeof fams / sizeof fams[0] && !rc; f++) {
        rc = head(b, fams[f].name, fams[f].type, fams[f].help);
        for (size_t i = 0; i < m->streams.cap && !rc; i++) {
            const sstat_t *s = (const sstat_t *)m->streams.v[i];
            if (!s)
                continue;
            char l[256];
            snprintf(l, sizeof l, "account=\"%s\",region=\"%s\",stream=\"%s\"", s->k.account, s->k.region, s->k.stream);
            const char *p = (const char *)s + fams[f].off;
            if (fams[f].kind == V_HIST) {
                rc = hist_out(b, fams[f].name, l, (const hist_t *)(const void *)p);
            } else if (fams[f].kind == V_U64) {
                rc = rn_buf_printf(b, "%s{%s} %llu\n", fams[f].name, l, (unsigned long long)*(const uint64_t *)(const void *)p);
            } else {
                int64_t v = *(const int64_t *)(const void *)p;
                if (v >= 0)
                    rc = rn_buf_printf(b, "%s{%s} %lld\n", fams[f].name, l, (long long)v);
            }
        }
    }
    for (size_t f = 0; f < sizeof shard_fams / sizeof shard_fams[0] && !rc; f++) {
        rc = head(b, shard_fams[f].name, shard_fams[f].type, shard_fams[f].help);
        for (size_t i = 0; i < m->shards.cap && !rc; i++) {
            const shstat_t *s = (const shstat_t *)m->shards.v[i];
            if (!s || !(s->mask & shard_fams[f].bit))
                continue;
            const char *p = (const char *)s + shard_fams[f].off;
            int64_t v = shard_fams[f].kind == V_I64 ? *(const int64_t *)(const void *)p
                                                   : (int64_t) * (const uint64_t *)(const void *)p;
            if (v < 0)
                continue;
            rc = rn_buf_printf(b, "%s{account=\"%s\",region=\"%s\",stream=\"%s\",shard_id=\"shardId-%012u\"} %lld\n",
                               shard_fams[f].name, s->k.account, s->k.region, s->k.stream, s->k.index, (long long)v);
        }
    }
    if (!rc)
        rc = rn_buf_printf(b, "# HELP runnel_metrics_dropped_total Updates dropped by the series bounds (--metrics-max-streams)\n"
                      "# TYPE runnel_metrics_dropped_total counter\nrunnel_metrics_dropped_total %llu\n",
                   (unsigned long long)m->dropped);
    if (!rc)
        rc = rn_buf_printf(b, "# HELP runnel_metrics_streams Streams with series\n# TYPE runnel_metrics_streams gauge\n"
                      "runnel_metrics_streams %zu\n", m->streams.n);
    if (!rc)
        rc = rn_buf_printf(b, "# HELP runnel_metrics_shards Shards with enhanced monitoring series\n"
                      "# TYPE runnel_metrics_shards gauge\nrunnel_metrics_shards %zu\n", m->shards.n);
    if (!rc && g && g->subscriptions >= 0)
        rc = rn_buf_printf(b, "# HELP runnel_subscriptions Open SubscribeToShard streams\n# TYPE runnel_subscriptions gauge\n"
                      "runnel_subscriptions %ld\n", g->subscriptions);
    if (!rc && g && g->pending >= 0)
        rc = rn_buf_printf(b, "# HELP runnel_requests_pending Requests waiting for the store or a timer\n"
                      "# TYPE runnel_requests_pending gauge\nrunnel_requests_pending %ld\n", g->pending);
    if (!rc && g && g->streams >= 0)
        rc = rn_buf_printf(b, "# HELP runnel_streams Streams in the registry\n# TYPE runnel_streams gauge\nrunnel_streams %ld\n",
                   g->streams);
    return rc ? RN_ENOMEM : 0;
}

/* A histogram of per-bucket counts over integer bounds, scaled to the unit shown. */
static int ihist_out(rn_buf_t *b, const char *name, const uint64_t *per, const uint64_t *bounds, size_t n,
                     double scale, double sum)
{
    uint64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; i <= n && !rc; i++) {
        cum += per[i];
        if (i < n)
            rc = rn_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bounds[i] * scale, (unsigned long long)cum);
        else
            rc = rn_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    }
    if (!rc)
        rc = rn_buf_printf(b, "%s_sum %.3f\n%s_count %llu\n", name, sum, name, (unsigned long long)cum);
    return rc;
}

int rn_metrics_render_store(const rn_store_stats_t *st, rn_buf_t *b)
{
    int rc = head(b, "runnel_store_sync_duration_ms", "histogram",
                  "Group commits made durable: the fdatasync of one batch, milliseconds");
    if (!rc)
        rc = ihist_out(b, "runnel_store_sync_duration_ms", st->sync_us, rn_store_sync_bounds_us,
                       RN_STORE_SYNC_BUCKETS - 1, 0.001, (double)st->sync_us_sum / 1000.0);
    if (!rc)
        rc = head(b, "runnel_store_group_commit_size", "histogram", "Commits (write requests) one synced batch answered");
    if (!rc)
        rc = ihist_out(b, "runnel_store_group_commit_size", st->commits, rn_store_batch_bounds,
                       RN_STORE_BATCH_BUCKETS - 1, 1.0, (double)st->commits_sum);
    if (!rc)
        rc = rn_buf_printf(b,
                           "# HELP runnel_store_fdatasync_total Descriptors fdatasynced by group commits\n"
                           "# TYPE runnel_store_fdatasync_total counter\nrunnel_store_fdatasync_total %llu\n"
                           "# HELP runnel_store_open_logs Shard logs open\n"
                           "# TYPE runnel_store_open_logs gauge\nrunnel_store_open_logs %llu\n"
                           "# HELP runnel_store_open_files Segment files held open (the open-file cache)\n"
                           "# TYPE runnel_store_open_files gauge\nrunnel_store_open_files %llu\n"
                           "# HELP runnel_store_open_files_max The cap on segment files held open (--max-open-files)\n"
                           "# TYPE runnel_store_open_files_max gauge\nrunnel_store_open_files_max %llu\n"
                           "# HELP runnel_store_files_evicted_total Logs whose files the cap closed (reopened on use)\n"
                           "# TYPE runnel_store_files_evicted_total counter\nrunnel_store_files_evicted_total %llu\n"
                           "# HELP runnel_store_journal_bytes The commit journal's files on disk (allocated)\n"
                           "# TYPE runnel_store_journal_bytes gauge\nrunnel_store_journal_bytes %llu\n"
                           "# HELP runnel_store_metadata_bytes The metadata database and its WAL on disk\n"
                           "# TYPE runnel_store_metadata_bytes gauge\nrunnel_store_metadata_bytes %llu\n",
                           (unsigned long long)st->fds_synced, (unsigned long long)st->open_logs,
                           (unsigned long long)st->open_files, (unsigned long long)st->max_open_files,
                           (unsigned long long)st->files_evicted,
                           (unsigned long long)st->journal_bytes, (unsigned long long)st->metadata_bytes);
    return rc ? RN_ENOMEM : 0;
}

int rn_metrics_render_disk(rn_buf_t *b, int first, const char *account, const char *region, const char *stream,
                           uint64_t bytes)
{
    int rc = first ? head(b, "runnel_stream_disk_bytes", "gauge",
                          "A stream's segment files on disk (records folded from the journal), bytes")
                   : 0;
    if (!rc)
        rc = rn_buf_printf(b, "runnel_stream_disk_bytes{account=\"%s\",region=\"%s\",stream=\"%s\"} %llu\n", account,
                           region, stream, (unsigned long long)bytes);
    return rc ? RN_ENOMEM : 0;
}
