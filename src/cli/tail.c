/* tail.c: `runnel tail STREAM [--from trim-horizon|latest|TIMESTAMP|SEQ]
 * [--follow] [--format text|json|hex] [--decode-kpl]` (cli.h, docs/cli.md).
 *
 * Reads every shard (ListShards, paginated) and follows resharding in order,
 * as KCL does: a child shard is read only after each of its parents is
 * finished, i.e. the parent's GetRecords answered no NextShardIterator (and
 * its ChildShards, which join the shards known). So for any partition key the
 * records of a parent come before those of its children. Shards whose parents
 * are not in the stream any more (trimmed) count as having finished parents.
 *
 * Without --follow it exits when every shard being read is caught up (an
 * empty batch with MillisBehindLatest 0) and no child is waiting for it;
 * with --follow it polls each shard about every 200 ms until SIGINT or
 * SIGTERM, backing off on ProvisionedThroughputExceededException. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/kclient.h"
#include "cli/kpl.h"

#define POLL_MS 200

static const char tail_usage[] =
    "usage: runnel tail STREAM [--from trim-horizon|latest|TIMESTAMP|SEQ] [--follow]\n"
    "                   [--format text|json|hex] [--decode-kpl] [--limit N]\n"
    "  TIMESTAMP: ISO 8601 (2026-12-03T12:00:00Z, 2026-12-03T12:00:00.250+01:00) or seconds since\n"
    "  the epoch; SEQ: a sequence number (20 digits or more): its shard from that record on, then\n"
    "  that shard's descendants; --limit: records per GetRecords (1..10000, default 10000)\n" RN_KC_OPTS_USAGE;

enum { FROM_TRIM, FROM_LATEST, FROM_TS, FROM_SEQ };
enum { FMT_TEXT, FMT_JSON, FMT_HEX };
enum { WAIT, READ, DONE, OUTSIDE /* --from SEQ: not (yet known to be) in the lineage */ };

typedef struct shard {
    char id[128];
    char parent[128];
    char adjacent[128];
    int state;
    int root;         /* read from the start position (not a child started after its parents) */
    char *iter;
    char last_seq[160];
    int caught;       /* the last batch was empty with MillisBehindLatest 0 */
    int throttled;    /* consecutive ProvisionedThroughputExceeded answers */
    int64_t next_poll;
} shard_t;

typedef struct tail {
    rn_kc_t *kc;
    const char *stream;
    int from, format, kpl, follow;
    long limit;       /* --limit: records per GetRecords */
    double ts;
    const char *seq;
    shard_t *shards;
    size_t n, cap;
} tail_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- printing -------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

static void print_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t l = utf8_seq(p + i, n - i);
        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (l == 0 || c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            fwrite(p + i, 1, l, stdout);
        i += l ? l : 1;
    }
    putchar('\n');
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t off = 0; off < n; off += 16) {
        printf("%08zx ", off);
        for (size_t i = 0; i < 16; i++) {
            if (i == 8)
                putchar(' ');
            if (off + i < n)
                printf(" %02x", p[off + i]);
            else
                fputs("   ", stdout);
        }
        fputs("  |", stdout);
        for (size_t i = 0; i < 16 && off + i < n; i++)
            putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
        fputs("|\n", stdout);
    }
    printf("%08zx\n", n);
}

typedef struct rec {
    const char *shard, *seq, *key, *ehk;
    size_t key_len, ehk_len;
    const json_t *arrival;
    const uint8_t *data;
    size_t len;
    long sub; /* KPL sub-sequence number, -1 when not de-aggregated */
} rec_t;

static void print_rec(const tail_t *t, const rec_t *r)
{
    if (t->format == FMT_TEXT) {
        print_text(r->data, r->len);
        return;
    }
    char when[40];
    rn_kc_iso_time(r->arrival, when, sizeof when);
    if (t->format == FMT_HEX) {
        printf("%s %s", r->shard, r->seq);
        if (r->sub >= 0)
            printf(" sub %ld", r->sub);
        printf(" key %.*s %s %zu bytes\n", (int)r->key_len, r->key, when, r->len);
        print_hex(r->data, r->len);
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:s%,s:s,s:o}", "shardId", r->shard, "sequenceNumber", r->seq, "partitionKey",
                          r->key, r->key_len, "approximateArrivalTimestamp", when, "data", rn_kc_blob(r->data, r->len));
    if (!o) /* a partition key that is not UTF-8 (only from a hand-made KPL record) */
        o = json_pack("{s:s,s:s,s:s,s:o}", "shardId", r->shard, "sequenceNumber", r->seq,
                      "approximateArrivalTimestamp", when, "data", rn_kc_blob(r->data, r->len));
    if (r->sub >= 0)
        json_object_set_new(o, "subSequenceNumber", json_integer(r->sub));
    if (r->ehk)
        json_object_set_new(o, "explicitHashKey", json_stringn(r->ehk, r->ehk_len));
    json_t *text = json_stringn((const char *)r->data, r->len); /* NULL unless valid UTF-8 */
    if (text)
        json_object_set_new(o, "text", text);
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
}

static void print_record(const tail_t *t, const shard_t *s, const json_t *jr)
{
    uint8_t *data;
    size_t len;
    rec_t r = {.shard = s->id, .seq = json_string_value(json_object_get(jr, "SequenceNumber")),
               .key = json_string_value(json_object_get(jr, "PartitionKey")),
               .arrival = json_object_get(jr, "ApproximateArrivalTimestamp"), .sub = -1};
    if (!r.seq)
        r.seq = "";
    if (!r.key)
        r.key = "";
    r.key_len = strlen(r.key);
    if (rn_kc_unblob(json_object_get(jr, "Data"), &data, &len) != 0) {
        fprintf(stderr, "runnel: %s %s: Data is not base64\n", s->id, r.seq);
        return;
    }
    r.data = data;
    r.len = len;
    if (t->kpl) {
        rn_kpl_record_t *sub;
        size_t count;
        rn_kpl_status_t st = rn_kpl_decode(data, len, &sub, &count);
        if (st == RN_KPL_OK) {
            for (size_t i = 0; i < count; i++) {
                rec_t u = r;
                u.key = (const char *)sub[i].key;
                u.key_len = sub[i].key_len;
                u.ehk = (const char *)sub[i].ehk;
                u.ehk_len = sub[i].ehk_len;
                u.data = sub[i].data;
                u.len = sub[i].data_len;
                u.sub = (long)i;
                print_rec(t, &u);
            }
            free(sub);
            free(data);
            return;
        }
        if (st != RN_KPL_NOT_AGGREGATED)
            fprintf(stderr, "runnel: %s %s: %s; shown as one record\n", s->id, r.seq, rn_kpl_status_name(st));
    }
    print_rec(t, &r);
    free(data);
}

/* ---- shards ------------------------------------------------------------------ */

static shard_t *find(tail_t *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->shards[i].id, id) == 0)
            return &t->shards[i];
    return NULL;
}

/* Add a shard unless known: from a ListShards entry (parent fields) or a
 * ChildShards entry (ParentShards array). */
static void add_shard(tail_t *t, const json_t *j, int state)
{
    const char *id = json_string_value(json_object_get(j, "ShardId"));
    if (!id || find(t, id))
        return;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        shard_t *ns = realloc(t->shards, nc * sizeof *ns);
        if (!ns)
            return;
        t->shards = ns;
        t->cap = nc;
    }
    shard_t *s = &t->shards[t->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    const char *p = json_string_value(json_object_get(j, "ParentShardId"));
    const char *a = json_string_value(json_object_get(j, "AdjacentParentShardId"));
    json_t *ps = json_object_get(j, "ParentShards");
    if (ps) {
        p = json_string_value(json_array_get(ps, 0));
        a = json_string_value(json_array_get(ps, 1));
    }
    snprintf(s->parent, sizeof s->parent, "%s", p ? p : "");
    snprintf(s->adjacent, sizeof s->adjacent, "%s", a ? a : "");
    s->state = state;
}

static int parents_done(tail_t *t, const shard_t *s)
{
    const char *ps[2] = {s->parent, s->adjacent};
    for (int i = 0; i < 2; i++) {
        const shard_t *p = ps[i][0] ? find(t, ps[i]) : NULL;
        if (p && p->state != DONE)
            return 0;
    }
    return 1;
}

static int is_closed(const json_t *j)
{
    return json_object_get(json_object_get(j, "SequenceNumberRange"), "EndingSequenceNumber") != NULL;
}

/* GetShardIterator for s; type and its argument by the start position. 0 or 1. */
static int get_iterator(tail_t *t, shard_t *s, const char *type, const char *seq)
{
    json_t *req = json_pack("{s:s,s:s,s:s}", "StreamName", t->stream, "ShardId", s->id, "ShardIteratorType", type);
    if (seq)
        json_object_set_new(req, "StartingSequenceNumber", json_string(seq));
    if (strcmp(type, "AT_TIMESTAMP") == 0)
        json_object_set_new(req, "Timestamp", json_real(t->ts));
    json_t *res = NULL;
    int rc = rn_kc_call(t->kc, "GetShardIterator", req, &res);
    json_decref(req);
    if (rc)
        return 1;
    free(s->iter);
    s->iter = strdup(json_string_value(json_object_get(res, "ShardIterator")) ?: "");
    json_decref(res);
    s->state = READ;
    s->caught = 0;
    return 0;
}

static int start_shard(tail_t *t, shard_t *s)
{
    if (s->last_seq[0])
        return get_iterator(t, s, "AFTER_SEQUENCE_NUMBER", s->last_seq);
    if (t->from == FROM_TS)
        return get_iterator(t, s, "AT_TIMESTAMP", NULL);
    if (s->root && t->from == FROM_LATEST)
        return get_iterator(t, s, "LATEST", NULL);
    return get_iterator(t, s, "TRIM_HORIZON", NULL);
}

/* The shards to read first, by --from. 0 or 1. */
static int init_shards(tail_t *t)
{
    json_t *list;
    if (rn_kc_list_shards(t->kc, t->stream, &list))
        return 1;
    size_t i;
    json_t *j;
    json_array_foreach(list, i, j) add_shard(t, j, WAIT);
    json_array_foreach(list, i, j) {
        shard_t *s = find(t, json_string_value(json_object_get(j, "ShardId")));
        if (t->from == FROM_LATEST) {
            s->state = is_closed(j) ? DONE : WAIT;
            s->root = 1;
        } else {
            s->root = parents_done(t, s);
        }
    }
    json_decref(list);
    if (t->from != FROM_SEQ)
        return 0;
    /* --from SEQ: the shard that takes the number, then its descendants; the rest is skipped */
    shard_t *hit = NULL;
    for (size_t k = 0; k < t->n && !hit; k++) {
        if (get_iterator(t, &t->shards[k], "AT_SEQUENCE_NUMBER", t->seq) == 0)
            hit = &t->shards[k];
        else if (!rn_kc_failed_with(t->kc, "InvalidArgumentException"))
            return 1;
    }
    if (!hit) {
        fprintf(stderr, "runnel: no shard of %s holds the sequence number %s\n", t->stream, t->seq);
        return 1;
    }
    for (size_t k = 0; k < t->n; k++)
        if (&t->shards[k] != hit)
            t->shards[k].state = OUTSIDE;
    for (int grew = 1; grew;) {
        grew = 0;
        for (size_t k = 0; k < t->n; k++) {
            shard_t *s = &t->shards[k];
            const shard_t *p = s->parent[0] ? find(t, s->parent) : NULL, *a = s->adjacent[0] ? find(t, s->adjacent) : NULL;
            if (s->state == OUTSIDE && ((p && p->state != OUTSIDE) || (a && a->state != OUTSIDE))) {
                s->state = WAIT;
                grew = 1;
            }
        }
    }
    for (size_t k = 0; k < t->n; k++)
        if (t->shards[k].state == OUTSIDE)
            t->shards[k].state = DONE; /* skipped: counts as finished for its children */
    return 0;
}

/* One GetRecords of s. 0, or 1 on a failure to report. */
static int poll_shard(tail_t *t, shard_t *s, int64_t now)
{
    json_t *req = json_pack("{s:s,s:I}", "ShardIterator", s->iter, "Limit", (json_int_t)t->limit), *res = NULL;
    int rc = rn_kc_call(t->kc, "GetRecords", req, &res);
    json_decref(req);
    if (rc) {
        if (rn_kc_failed_with(t->kc, "ProvisionedThroughputExceededException")) {
            s->next_poll = now + rn_kc_backoff_ms(s->throttled++, POLL_MS, 10000);
            return 0;
        }
        if (rn_kc_failed_with(t->kc, "ExpiredIteratorException"))
            return start_shard(t, s);
        return 1;
    }
    s->throttled = 0;
    json_t *recs = json_object_get(res, "Records");
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        print_record(t, s, r);
        snprintf(s->last_seq, sizeof s->last_seq, "%s", json_string_value(json_object_get(r, "SequenceNumber")) ?: "");
    }
    const char *next = json_string_value(json_object_get(res, "NextShardIterator"));
    long long behind = json_integer_value(json_object_get(res, "MillisBehindLatest"));
    s->caught = json_array_size(recs) == 0 && behind == 0;
    s->next_poll = json_array_size(recs) == 0 ? now + POLL_MS : now;
    if (next) {
        free(s->iter);
        s->iter = strdup(next);
    } else {
        /* the shard's end: its children join (from ChildShards, else a new listing) */
        s->state = DONE;
        json_t *kids = json_object_get(res, "ChildShards");
        json_array_foreach(kids, i, r) add_shard(t, r, WAIT);
        if (json_array_size(kids) == 0) {
            json_t *list;
            if (rn_kc_list_shards(t->kc, t->stream, &list) == 0) {
                json_array_foreach(list, i, r) add_shard(t, r, WAIT);
                json_decref(list);
            }
        }
    }
    json_decref(res);
    fflush(stdout);
    return 0;
}

static int run(tail_t *t)
{
    if (init_shards(t))
        return 1;
    while (!g_stop) {
        int64_t now = rn_kc_now_ms(), next = now + POLL_MS;
        int behind = 0;
        for (size_t i = 0; i < t->n && !g_stop; i++) {
            shard_t *s = &t->shards[i];
            if (s->state == WAIT && parents_done(t, s) && start_shard(t, s))
                return 1;
            if (s->state != READ)
                continue;
            if (s->next_poll <= now && poll_shard(t, s, now))
                return 1;
            /* t->shards may have moved (children added) */
            s = &t->shards[i];
            if (s->state == READ && !s->caught)
                behind = 1;
            if (s->state == READ && s->next_poll < next)
                next = s->next_poll;
            if (s->state == DONE)
                behind = 1; /* its children start on the next pass */
        }
        if (!t->follow && !behind) {
            int waiting = 0;
            for (size_t i = 0; i < t->n; i++)
                waiting |= t->shards[i].state == WAIT && parents_done(t, &t->shards[i]);
            if (!waiting)
                break;
        }
        fflush(stdout);
        now = rn_kc_now_ms();
        if (next > now)
            rn_kc_sleep_ms((long)(next - now));
    }
    return 0;
}

/* ---- --from ---------------------------------------------------------------------- */

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* ISO 8601 (date, 'T' or ' ', time, optional fraction, 'Z' or ±hh:mm, none: UTC)
 * or seconds since the epoch. 0 or -1. */
static int parse_time(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end != s && *end == 0 && strchr(s, '-') == NULL) {
        *out = v;
        return 0;
    }
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p)
        return -1;
    if (*p == 'T' || *p == ' ') {
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (!p)
            return -1;
    }
    double frac = 0;
    if (*p == '.') {
        frac = strtod(p, &end);
        p = end;
    }
    long off = 0;
    if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else if (*p == 'Z') {
        p++;
    }
    if (*p)
        return -1;
    *out = (double)timegm(&tm) - (double)off + frac;
    return 0;
}

int rn_cli_tail(int argc, char **argv)
{
    rn_kc_t kc;
    int rc = rn_kc_open_args(&kc, &argc, argv);
    if (rc)
        return rc;
    tail_t t = {.kc = &kc, .from = FROM_TRIM, .format = FMT_TEXT, .limit = 10000};
    for (int i = 0; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--from") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "trim-horizon") == 0)
                t.from = FROM_TRIM;
            else if (strcmp(v, "latest") == 0)
                t.from = FROM_LATEST;
            else if (all_digits(v) && strlen(v) >= 20)
                t.from = FROM_SEQ, t.seq = v;
            else if (parse_time(v, &t.ts) == 0)
                t.from = FROM_TS;
            else
                rc = 2;
        } else if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            t.format = strcmp(v, "text") == 0 ? FMT_TEXT : strcmp(v, "json") == 0 ? FMT_JSON : strcmp(v, "hex") == 0 ? FMT_HEX : -1;
            if (t.format < 0)
                rc = 2;
        } else if (strcmp(a, "--limit") == 0 && i + 1 < argc) {
            char *end;
            t.limit = strtol(argv[++i], &end, 10);
            if (*end || t.limit < 1 || t.limit > 10000)
                rc = 2;
        } else if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
            t.follow = 1;
        } else if (strcmp(a, "--decode-kpl") == 0) {
            t.kpl = 1;
        } else if (!t.stream && a[0] != '-') {
            t.stream = a;
        } else {
            rc = 2;
        }
    }
    if (rc || !t.stream) {
        rn_kc_close(&kc);
        fputs(tail_usage, stderr);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = run(&t) ? rn_kc_report(&kc) : 0;
    for (size_t i = 0; i < t.n; i++)
        free(t.shards[i].iter);
    free(t.shards);
    rn_kc_close(&kc);
    return rc;
}
