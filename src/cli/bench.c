/* bench.c: `runnel bench STREAM [--seconds S] [--size B] [--concurrency C]
 * [--batch N]` (cli.h, docs/cli.md): a quick write load. C threads, each with
 * its own connection, send PutRecords of N records of B random bytes (N 1:
 * PutRecord) under random partition keys for S seconds, without retries;
 * a live progress line on stderr when it is a terminal, then a summary
 * table on stdout: records/s, MiB/s and the p50/p99 request latency. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/kclient.h"

static const char bench_usage[] =
    "usage: runnel bench STREAM [--seconds S] [--size BYTES] [--concurrency C] [--batch N]\n"
    "  defaults: 10 seconds, 1024-byte records, 4 connections, 100 records a request\n" RN_KC_OPTS_USAGE;

typedef struct worker {
    pthread_t th;
    rn_kc_t kc;
    const char *stream;
    long size, batch;
    int64_t deadline;
    double *lat;   /* request latencies, ms */
    size_t nlat, cap;
    /* read by the progress line while running */
    long records, failed, requests, errors;
    char first_error[1200];
} worker_t;

static json_t *make_request(const worker_t *w)
{
    uint8_t *data = malloc((size_t)w->size + 1);
    if (!data || getrandom(data, (size_t)w->size, 0) < 0) {
        for (long i = 0; data && i < w->size; i++)
            data[i] = (uint8_t)random();
    }
    json_t *recs = json_array();
    for (long i = 0; i < w->batch; i++) {
        char key[32];
        snprintf(key, sizeof key, "%08lx%08lx", (unsigned long)random(), (unsigned long)i);
        json_array_append_new(recs, json_pack("{s:o,s:s}", "Data", rn_kc_blob(data, (size_t)w->size), "PartitionKey", key));
    }
    free(data);
    if (w->batch == 1) {
        json_t *one = json_incref(json_array_get(recs, 0));
        json_decref(recs);
        json_object_set_new(one, "StreamName", json_string(w->stream));
        return one;
    }
    return json_pack("{s:s,s:o}", "StreamName", w->stream, "Records", recs);
}

static void *work(void *arg)
{
    worker_t *w = arg;
    json_t *req = make_request(w);
    const char *op = w->batch == 1 ? "PutRecord" : "PutRecords";
    while (rn_kc_now_ms() < w->deadline) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        json_t *res = NULL;
        int rc = rn_kc_call(&w->kc, op, req, &res);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        if (w->nlat == w->cap) {
            size_t nc = w->cap ? w->cap * 2 : 4096;
            double *nl = realloc(w->lat, nc * sizeof *nl);
            if (nl) {
                w->lat = nl;
                w->cap = nc;
            }
        }
        if (w->nlat < w->cap)
            w->lat[w->nlat++] = ms;
        __atomic_add_fetch(&w->requests, 1, __ATOMIC_RELAXED);
        if (rc) {
            __atomic_add_fetch(&w->errors, 1, __ATOMIC_RELAXED);
            if (!w->first_error[0])
                snprintf(w->first_error, sizeof w->first_error, "%s%s%s", w->kc.err_type, w->kc.err_type[0] ? ": " : "",
                         w->kc.err_msg);
            rn_kc_sleep_ms(50);
            continue;
        }
        long bad = (long)json_integer_value(json_object_get(res, "FailedRecordCount"));
        __atomic_add_fetch(&w->records, w->batch - bad, __ATOMIC_RELAXED);
        __atomic_add_fetch(&w->failed, bad, __ATOMIC_RELAXED);
        json_decref(res);
    }
    json_decref(req);
    return NULL;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return v[i < n ? i : n - 1];
}

static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < lo || v > hi ? -1 : v;
}

int rn_cli_bench(int argc, char **argv)
{
    rn_kc_t kc;
    int rc = rn_kc_open_args(&kc, &argc, argv);
    if (rc)
        return rc;
    const char *stream = NULL;
    long seconds = 10, size = 1024, conc = 4, batch = 100;
    for (int i = 0; i < argc && !rc; i++) {
        long *slot = strcmp(argv[i], "--seconds") == 0       ? &seconds
                     : strcmp(argv[i], "--size") == 0        ? &size
                     : strcmp(argv[i], "--concurrency") == 0 ? &conc
                     : strcmp(argv[i], "--batch") == 0       ? &batch
                                                             : NULL;
        if (slot && i + 1 < argc) {
            long hi = slot == &size ? 1048576 - 256 : slot == &batch ? 500 : slot == &conc ? 256 : 86400;
            *slot = arg_long(argv[++i], 1, hi);
            if (*slot < 0)
                rc = 2;
        } else if (!stream && argv[i][0] != '-') {
            stream = argv[i];
        } else {
            rc = 2;
        }
    }
    if (rc || !stream) {
        rn_kc_close(&kc);
        fputs(bench_usage, stderr);
        return 2;
    }
    worker_t *ws = calloc((size_t)conc, sizeof *ws);
    int64_t start = rn_kc_now_ms(), deadline = start + seconds * 1000;
    long started = 0;
    for (long i = 0; ws && i < conc; i++) {
        worker_t *w = &ws[i];
        w->stream = stream;
        w->size = size;
        w->batch = batch;
        w->deadline = deadline;
        if (rn_kc_clone(&w->kc, &kc) != 0)
            break;
        w->kc.attempts = 1;
        if (pthread_create(&w->th, NULL, work, w) != 0) {
            rn_kc_close(&w->kc);
            break;
        }
        started++;
    }
    int tty = isatty(2);
    while (rn_kc_now_ms() < deadline && started) {
        rn_kc_sleep_ms(tty ? 500 : 1000);
        if (!tty)
            continue;
        long recs = 0, errs = 0;
        for (long i = 0; i < started; i++) {
            recs += __atomic_load_n(&ws[i].records, __ATOMIC_RELAXED);
            errs += __atomic_load_n(&ws[i].errors, __ATOMIC_RELAXED);
        }
        double el = (double)(rn_kc_now_ms() - start) / 1e3;
        fprintf(stderr, "\r%5.1fs/%lds  %ld records  %.0f records/s  %.2f MiB/s  %ld errors   ", el, seconds, recs,
                recs / el, recs * (double)size / el / 1048576.0, errs);
    }
    if (tty)
        fputs("\n", stderr);
    long recs = 0, failed = 0, reqs = 0, errs = 0;
    size_t nlat = 0;
    for (long i = 0; i < started; i++) {
        pthread_join(ws[i].th, NULL);
        recs += ws[i].records;
        failed += ws[i].failed;
        reqs += ws[i].requests;
        errs += ws[i].errors;
        nlat += ws[i].nlat;
    }
    double el = (double)(rn_kc_now_ms() - start) / 1e3;
    double *all = malloc((nlat ? nlat : 1) * sizeof *all);
    size_t k = 0;
    for (long i = 0; i < started && all; i++) {
        memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof *all);
        k += ws[i].nlat;
    }
    if (all)
        qsort(all, k, sizeof *all, cmp_double);
    printf("%-16s %s\n%-16s %s\n%-16s %.1f\n%-16s %ld\n%-16s %ld B\n%-16s %ld\n", "stream", stream, "endpoint",
           kc.endpoint, "seconds", el, "concurrency", started, "record size", size, "batch", batch);
    printf("%-16s %ld (%ld failed)\n%-16s %ld (%ld failed entries)\n", "requests", reqs, errs, "records", recs, failed);
    printf("%-16s %.0f\n%-16s %.2f\n%-16s %.2f ms\n%-16s %.2f ms\n", "records/s", recs / el, "MiB/s",
           recs * (double)size / el / 1048576.0, "latency p50", all ? pct(all, k, 0.50) : 0, "latency p99",
           all ? pct(all, k, 0.99) : 0);
    for (long i = 0; i < started; i++) {
        if (ws[i].first_error[0] && !rc) {
            fprintf(stderr, "runnel: bench: %s\n", ws[i].first_error);
            rc = 1;
        }
        rn_kc_close(&ws[i].kc);
        free(ws[i].lat);
    }
    free(all);
    free(ws);
    rn_kc_close(&kc);
    return started ? (reqs > errs ? 0 : 1) : 1;
}
