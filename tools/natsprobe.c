/* natsprobe: the JetStream operations a NATS store backend needs (docs/cluster.md), through
 * nats.c, against a running cluster: each checked for its semantics, each timed. Not part of
 * runnel; built by CMake as build/natsprobe only when pkg-config finds libnats.
 *
 *   natsprobe URLS [N]      URLS: nats://127.0.0.1:4222[,nats://...]; N: operations per figure
 *                           (default 500)
 *
 * 1. an R3 file stream shaped as a shard (docs/cluster.md), N sequential publishes each with
 *    the expected last sequence (the ack's sequence must be the expected one + 1); one with a
 *    stale expectation must be refused with 10071 and write nothing;
 * 2. N asynchronous publishes, 64 in flight (js_PublishAsync, as the group commit will);
 * 3. direct get by sequence (any replica) and get from the leader (STREAM.MSG.GET), N each,
 *    payloads checked;
 * 4. an R3 KV bucket: create (only if absent: a second create is refused), update at a revision
 *    (CAS: a stale revision is refused), N sequential CAS updates; two connections incrementing one
 *    counter key with CAS retries at once (no update may be lost: the final value equals the
 *    number of successful updates); and how long a change takes to reach a watcher on another
 *    connection.
 * Prints one line per figure (p50/p99 in ms, or per second) and exits 0 when every check held,
 * 1 otherwise. The stream and bucket are deleted at the end. */
#include <nats/nats.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM "NATSPROBE"
#define SUBJ "natsprobe.r"
#define BUCKET "NATSPROBE_KV"
#define INCR_PER_THREAD 200

static int failures;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "natsprobe: FAIL %s:%d: ", __FILE__, __LINE__);                     \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fprintf(stderr, " (%s)\n", nats_GetLastError(NULL) ? nats_GetLastError(NULL) : ""); \
            failures++;                                                                         \
        }                                                                                       \
    } while (0)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *lat, int n)
{
    if (n <= 0) {
        printf("%-44s no samples\n", what);
        return;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += lat[i];
    printf("%-44s n=%d p50 %.2f ms p99 %.2f ms (%.0f/s sequential)\n", what, n, lat[n / 2],
           lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], n / (sum / 1e3));
}

static void payload(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "record-%08d", i);
}

/* ---- stream: expected-last-sequence publishes, async publishes, gets -------------------- */

static void probe_stream(jsCtx *js, int n)
{
    jsErrCode jerr = 0;
    const char *subjects[] = {SUBJ, "natsprobe.c"};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = STREAM;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 2;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = 3;
    cfg.AllowDirect = true;
    cfg.MaxAge = (int64_t)24 * 3600 * 1000000000LL;
    jsStreamInfo *si = NULL;
    natsStatus s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    CHECK(s == NATS_OK, "add stream: %s, jerr %d", natsStatus_GetText(s), (int)jerr);
    if (s != NATS_OK)
        return;
    jsStreamInfo_Destroy(si);

    double *lat = calloc((size_t)n, sizeof *lat);
    char buf[64];
    uint64_t last = 0;
    int got = 0;
    for (int i = 0; i < n; i++) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.ExpectStream = STREAM;
        po.ExpectLastSeq = last; /* 0 = no expectation in nats.c: only the first publish */
        payload(buf, sizeof buf, i);
        jsPubAck *pa = NULL;
        double t0 = now_ms();
        s = js_Publish(&pa, js, SUBJ, buf, (int)strlen(buf), &po, &jerr);
        double t1 = now_ms();
        CHECK(s == NATS_OK, "publish %d expecting %llu: %s, jerr %d", i, (unsigned long long)last,
              natsStatus_GetText(s), (int)jerr);
        if (s != NATS_OK)
            break;
        CHECK(pa->Sequence == last + 1, "publish %d stored at %llu, expected %llu", i,
              (unsigned long long)pa->Sequence, (unsigned long long)(last + 1));
        last = pa->Sequence;
        jsPubAck_Destroy(pa);
        lat[got++] = t1 - t0;
    }
    report("publish, expected last seq, R3", lat, got);

    /* A stale expectation is refused and writes nothing. */
    if (last > 1) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.ExpectLastSeq = last - 1;
        jsPubAck *pa = NULL;
        jerr = 0;
        s = js_Publish(&pa, js, SUBJ, "stale", 5, &po, &jerr);
        CHECK(s != NATS_OK && jerr == JSStreamWrongLastSequenceErr,
              "a stale expectation was not refused with 10071 (status %s, jerr %d)",
              natsStatus_GetText(s), (int)jerr);
        jsPubAck_Destroy(pa);
        si = NULL;
        s = js_GetStreamInfo(&si, js, STREAM, NULL, &jerr);
        CHECK(s == NATS_OK && si->State.LastSeq == last, "the refused publish was stored");
        if (si) {
            printf("%-44s leader %s, %d replicas, last seq %llu\n", "stream info",
                   si->Cluster && si->Cluster->Leader ? si->Cluster->Leader : "?",
                   si->Cluster ? si->Cluster->ReplicasLen : 0, (unsigned long long)si->State.LastSeq);
            jsStreamInfo_Destroy(si);
        }
    }

    /* Direct get by sequence (any replica) and STREAM.MSG.GET (the leader). */
    got = 0;
    for (uint64_t q = 1; q <= last; q++) {
        jsDirectGetMsgOptions dgo;
        jsDirectGetMsgOptions_Init(&dgo);
        dgo.Sequence = q;
        natsMsg *m = NULL;
        double t0 = now_ms();
        s = js_DirectGetMsg(&m, js, STREAM, NULL, &dgo);
        double t1 = now_ms();
        CHECK(s == NATS_OK, "direct get %llu: %s", (unsigned long long)q, natsStatus_GetText(s));
        if (s == NATS_OK) {
            payload(buf, sizeof buf, (int)q - 1);
            CHECK(natsMsg_GetDataLength(m) == (int)strlen(buf) &&
                      memcmp(natsMsg_GetData(m), buf, strlen(buf)) == 0,
                  "direct get %llu: wrong payload", (unsigned long long)q);
            lat[got++] = t1 - t0;
        }
        natsMsg_Destroy(m);
    }
    report("direct get by sequence", lat, got);
    got = 0;
    for (uint64_t q = 1; q <= last; q++) {
        natsMsg *m = NULL;
        double t0 = now_ms();
        s = js_GetMsg(&m, js, STREAM, q, NULL, &jerr);
        double t1 = now_ms();
        CHECK(s == NATS_OK, "leader get %llu: %s", (unsigned long long)q, natsStatus_GetText(s));
        if (s == NATS_OK)
            lat[got++] = t1 - t0;
        natsMsg_Destroy(m);
    }
    report("get from the leader (STREAM.MSG.GET)", lat, got);
    free(lat);
}

static void probe_async(natsConnection *nc, int n)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 64;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_JetStream(&js, nc, &jo);
    CHECK(s == NATS_OK, "jetstream context: %s", natsStatus_GetText(s));
    if (s != NATS_OK)
        return;
    char buf[64];
    double t0 = now_ms();
    for (int i = 0; i < n && s == NATS_OK; i++) {
        payload(buf, sizeof buf, i);
        s = js_PublishAsync(js, SUBJ, buf, (int)strlen(buf), NULL);
    }
    CHECK(s == NATS_OK, "publish async: %s", natsStatus_GetText(s));
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    s = js_PublishAsyncComplete(js, &po);
    double t1 = now_ms();
    CHECK(s == NATS_OK, "publish async complete: %s", natsStatus_GetText(s));
    natsMsgList pending = {0};
    if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) {
        CHECK(pending.Count == 0, "%d async publishes not acknowledged", pending.Count);
        natsMsgList_Destroy(&pending);
    }
    printf("%-44s n=%d %.0f/s (%.1f ms in all)\n", "publish async, 64 in flight, R3", n,
           n / ((t1 - t0) / 1e3), t1 - t0);
    jsCtx_Destroy(js);
}

/* ---- KV: create, CAS update, concurrent CAS increments, watch ---------------------------- */

typedef struct incr_arg {
    const char *url;
    int done, conflicts, errors;
} incr_arg_t;

static void *incr_thread(void *ud)
{
    incr_arg_t *a = ud;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    kvStore *kv = NULL;
    if (natsConnection_ConnectTo(&nc, a->url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
        js_KeyValue(&kv, js, BUCKET) != NATS_OK) {
        a->errors++;
        goto out;
    }
    while (a->done < INCR_PER_THREAD && a->errors < 100) {
        kvEntry *e = NULL;
        if (kvStore_Get(&e, kv, "counter") != NATS_OK) {
            a->errors++;
            continue;
        }
        long v = strtol(kvEntry_ValueString(e), NULL, 10);
        uint64_t rev = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        char next[32];
        snprintf(next, sizeof next, "%ld", v + 1);
        uint64_t nrev = 0;
        if (kvStore_UpdateString(&nrev, kv, "counter", next, rev) == NATS_OK)
            a->done++;
        else
            a->conflicts++; /* another writer got there first: read again */
    }
out:
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return NULL;
}

static void probe_kv(jsCtx *js, const char *urls, int n)
{
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = BUCKET;
    kc.History = 1;
    kc.Replicas = 3;
    kc.StorageType = js_FileStorage;
    kvStore *kv = NULL;
    natsStatus s = js_CreateKeyValue(&kv, js, &kc);
    CHECK(s == NATS_OK, "create bucket: %s", natsStatus_GetText(s));
    if (s != NATS_OK)
        return;
    const char *key = "stream.00000000000000000001";
    uint64_t rev = 0, rev2 = 0, stale = 0;
    double t0 = now_ms();
    s = kvStore_CreateString(&rev, kv, key, "{\"v\":0}");
    double t1 = now_ms();
    CHECK(s == NATS_OK && rev > 0, "kv create: %s", natsStatus_GetText(s));
    printf("%-44s rev %llu in %.2f ms\n", "kv create (only if absent)", (unsigned long long)rev, t1 - t0);
    s = kvStore_CreateString(&rev2, kv, key, "{\"v\":1}");
    CHECK(s != NATS_OK, "a second create of an existing key was accepted");

    double *lat = calloc((size_t)n, sizeof *lat);
    int got = 0;
    char val[64];
    for (int i = 0; i < n; i++) {
        snprintf(val, sizeof val, "{\"v\":%d}", i + 1);
        t0 = now_ms();
        s = kvStore_UpdateString(&rev2, kv, key, val, rev);
        t1 = now_ms();
        CHECK(s == NATS_OK && rev2 > rev, "kv update %d at rev %llu: %s", i, (unsigned long long)rev,
              natsStatus_GetText(s));
        if (s != NATS_OK)
            break;
        stale = rev;
        rev = rev2;
        lat[got++] = t1 - t0;
    }
    report("kv update at a revision (CAS), R3", lat, got);
    s = kvStore_UpdateString(&rev2, kv, key, "{\"v\":-1}", stale);
    CHECK(s != NATS_OK, "an update at a stale revision was accepted");
    kvEntry *e = NULL;
    if (kvStore_Get(&e, kv, key) == NATS_OK) {
        CHECK(kvEntry_Revision(e) == rev, "the refused update changed the revision");
        kvEntry_Destroy(e);
    }

    /* Two connections (two "nodes") incrementing one counter with CAS: no lost update. */
    s = kvStore_PutString(&rev2, kv, "counter", "0");
    CHECK(s == NATS_OK, "kv put counter: %s", natsStatus_GetText(s));
    incr_arg_t args[2] = {{.url = urls}, {.url = urls}};
    pthread_t th[2];
    t0 = now_ms();
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, incr_thread, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    t1 = now_ms();
    e = NULL;
    long final = -1;
    if (kvStore_Get(&e, kv, "counter") == NATS_OK) {
        final = strtol(kvEntry_ValueString(e), NULL, 10);
        kvEntry_Destroy(e);
    }
    int done = args[0].done + args[1].done;
    CHECK(args[0].errors == 0 && args[1].errors == 0, "increment errors: %d, %d", args[0].errors,
          args[1].errors);
    CHECK(final == done, "lost update: counter %ld after %d successful CAS increments", final, done);
    printf("%-44s %d increments, counter %ld, %d conflicts retried, %.0f ms\n",
           "kv CAS increments from 2 connections", done, final, args[0].conflicts + args[1].conflicts,
           t1 - t0);

    /* A change seen by a watcher on another connection. */
    natsConnection *nc2 = NULL;
    jsCtx *js2 = NULL;
    kvStore *kv2 = NULL;
    kvWatcher *w = NULL;
    s = natsConnection_ConnectTo(&nc2, urls);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js2, nc2, NULL);
    if (s == NATS_OK)
        s = js_KeyValue(&kv2, js2, BUCKET);
    if (s == NATS_OK)
        s = kvStore_Watch(&w, kv2, key, NULL);
    CHECK(s == NATS_OK, "watch: %s", natsStatus_GetText(s));
    if (s == NATS_OK) {
        /* The current value, then NULL: the end of the initial state. */
        for (;;) {
            e = NULL;
            s = kvWatcher_Next(&e, w, 5000);
            if (s != NATS_OK || !e)
                break;
            kvEntry_Destroy(e);
        }
        got = 0;
        int rounds = n < 200 ? n : 200;
        for (int i = 0; i < rounds; i++) {
            snprintf(val, sizeof val, "{\"w\":%d}", i);
            t0 = now_ms();
            s = kvStore_UpdateString(&rev2, kv, key, val, rev);
            if (s != NATS_OK) {
                CHECK(0, "kv update for the watch: %s", natsStatus_GetText(s));
                break;
            }
            rev = rev2;
            for (;;) {
                e = NULL;
                s = kvWatcher_Next(&e, w, 5000);
                if (s != NATS_OK || !e || kvEntry_Revision(e) >= rev)
                    break;
                kvEntry_Destroy(e);
            }
            t1 = now_ms();
            CHECK(s == NATS_OK && e && kvEntry_Revision(e) == rev, "watcher did not see rev %llu",
                  (unsigned long long)rev);
            kvEntry_Destroy(e);
            if (s != NATS_OK)
                break;
            lat[got++] = t1 - t0;
        }
        report("kv update seen by a watcher elsewhere", lat, got);
    }
    kvWatcher_Destroy(w);
    kvStore_Destroy(kv2);
    jsCtx_Destroy(js2);
    natsConnection_Destroy(nc2);
    free(lat);
    kvStore_Destroy(kv);
    (void)js_DeleteKeyValue(js, BUCKET);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: natsprobe nats://HOST:PORT[,nats://...] [N]\n");
        return 2;
    }
    const char *urls = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 500;
    if (n < 2)
        n = 2;
    printf("natsprobe: nats.c %s, %d operations per figure\n", nats_GetVersion(), n);
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, urls);
    if (s != NATS_OK) {
        fprintf(stderr, "natsprobe: cannot connect to %s: %s\n", urls, natsStatus_GetText(s));
        return 1;
    }
    char server[256] = "";
    natsConnection_GetConnectedUrl(nc, server, sizeof server);
    jsCtx *js = NULL;
    s = natsConnection_JetStream(&js, nc, NULL);
    CHECK(s == NATS_OK, "jetstream: %s", natsStatus_GetText(s));
    if (s == NATS_OK) {
        printf("%-44s %s\n", "connected to", server);
        (void)js_DeleteStream(js, STREAM, NULL, NULL);
        (void)js_DeleteKeyValue(js, BUCKET);
        probe_stream(js, n);
        probe_async(nc, n);
        probe_kv(js, urls, n);
        (void)js_DeleteStream(js, STREAM, NULL, NULL);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    printf("natsprobe: %s (%d failed checks)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
