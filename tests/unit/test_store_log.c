/* test_store_log.c: record logs and the metadata table, on both backends.
 *
 * For the memory backend and the disk backend under each fsync policy:
 * batches across segment rolls (segment_bytes = 4096), contiguous counters,
 * clamped arrival times, reads with record/byte limits and from every
 * counter, time seeks against a brute-force answer, visibility only after
 * commit, commit completions only through run_completions, kv
 * put/get/del/scan, reopen, the DATA_DIR lock, destroy, and injected write
 * and fdatasync failures. */
#include "store/store.h"
#include "store/store_int.h"
#include "core/errors.h"
#include "util/buf.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXREC 4000

static ssize_t fail_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
static ssize_t real_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
static int fail_fdatasync(int fd);
static int counting_fdatasync(int fd);
static _Atomic int syncs_seen;

/* ---- harness --------------------------------------------------------------- */

static int wake_pipe[2];

static void wake_fn(void *ud)
{
    (void)ud;
    char c = 1;
    ssize_t r = write(wake_pipe[1], &c, 1); /* non-blocking; a full pipe is awake enough */
    (void)r;
}

typedef struct cb {
    int fired;
    int status;
} cb_t;

static void done_cb(void *ud, int status)
{
    cb_t *c = ud;
    c->fired++;
    c->status = status;
}

/* Wait (up to 10 s) for wake, then run completions, until cb fired. */
static void drive(rn_store_t *s, cb_t *cb)
{
    for (int i = 0; i < 1000 && !cb->fired; i++) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        int r = poll(&p, 1, 10000);
        if (r <= 0)
            break;
        char junk[64];
        while (read(wake_pipe[0], junk, sizeof junk) > 0) {
        }
        rn_store_run_completions(s);
    }
}

static int commit_wait(rn_store_t *s)
{
    cb_t cb = {0, 1};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cb), 0);
    CHECK_EQ_INT(cb.fired, 0); /* never from inside rn_store_commit */
    drive(s, &cb);
    CHECK_EQ_INT(cb.fired, 1);
    return cb.status;
}

/* ---- expected records -------------------------------------------------------- */

static size_t data_len_of(uint64_t c)
{
    if (c % 97 == 0)
        return 5000; /* bigger than a segment */
    return (size_t)((c * 37) % 300);
}

static void fill_data(uint64_t c, uint8_t *out, size_t n)
{
    for (size_t j = 0; j < n; j++)
        out[j] = (uint8_t)(c * 7 + j * 13);
}

typedef struct model {
    uint64_t n;                  /* records appended (counters 1..n) */
    int64_t arrival[MAXREC + 1]; /* expected (clamped) arrival per counter */
    int64_t last;
} model_t;

static uint8_t databuf[MAXREC][5000];
static char pkbuf[MAXREC][24];

/* Append one batch of k records with arrival ts; checks *first. */
static int append_batch(rn_log_t *l, model_t *m, size_t k, int64_t ts)
{
    rn_record_in_t recs[64];
    for (size_t i = 0; i < k; i++) {
        uint64_t c = m->n + 1 + i;
        size_t dl = data_len_of(c);
        fill_data(c, databuf[i], dl);
        int pl = snprintf(pkbuf[i], sizeof pkbuf[i], "pk-%llu", (unsigned long long)c);
        recs[i] = (rn_record_in_t){(const uint8_t *)pkbuf[i], (size_t)pl, databuf[i], dl,
                                   (uint8_t)(c & 0xff)};
    }
    uint64_t first = 0;
    int rc = rn_log_append(l, recs, k, ts, &first);
    if (rc)
        return rc;
    CHECK_EQ_INT(first, m->n + 1);
    int64_t a = ts > m->last ? ts : m->last;
    for (size_t i = 0; i < k; i++)
        m->arrival[m->n + 1 + i] = a;
    m->last = a;
    m->n += k;
    return 0;
}

/* Check one record read back against the model. */
static int record_ok(const model_t *m, const rn_record_out_t *o)
{
    uint8_t want[5000];
    char pk[24];
    uint64_t c = o->counter;
    if (c < 1 || c > m->n)
        return 0;
    size_t dl = data_len_of(c);
    fill_data(c, want, dl);
    int pl = snprintf(pk, sizeof pk, "pk-%llu", (unsigned long long)c);
    return o->arrival_ms == m->arrival[c] && o->pk_len == (size_t)pl && memcmp(o->pk, pk, (size_t)pl) == 0 &&
           o->data_len == dl && memcmp(o->data, want, dl) == 0 && o->flags == (uint8_t)(c & 0xff);
}

static rn_record_out_t outs[MAXREC];

/* Read everything readable from `from` in steps of max_records; verify. */
static void read_all(rn_log_t *l, const model_t *m, uint64_t from, size_t max_records, uint64_t upto)
{
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    uint64_t c = from, expect = from;
    int bad = 0, loops = 0;
    while (c < upto && loops++ < 100000) {
        size_t n = 0;
        uint64_t next = 0;
        rn_buf_reset(&scratch);
        int rc = rn_log_read(l, c, max_records, SIZE_MAX, &scratch, outs, &n, &next);
        CHECK_EQ_INT(rc, 0);
        if (rc || n == 0)
            break;
        if (n > max_records)
            bad++;
        for (size_t i = 0; i < n; i++) {
            if (outs[i].counter != expect || !record_ok(m, &outs[i]))
                bad++;
            if (i && outs[i].arrival_ms < outs[i - 1].arrival_ms)
                bad++;
            expect++;
        }
        CHECK_EQ_INT(next, expect);
        c = next;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(expect, upto);
    /* Nothing beyond. */
    size_t n = 9;
    uint64_t next = 0;
    CHECK_EQ_INT(rn_log_read(l, upto, 10, SIZE_MAX, &scratch, outs, &n, &next), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(next, upto);
    rn_buf_dispose(&scratch);
}

static void check_seek(rn_log_t *l, const model_t *m)
{
    int bad = 0;
    uint64_t committed = rn_log_committed(l);
    for (int64_t ts = 0; ts <= m->last + 20; ts += 3) {
        uint64_t want = committed;
        for (uint64_t c = 1; c < committed; c++) {
            if (m->arrival[c] >= ts) {
                want = c;
                break;
            }
        }
        uint64_t got = 0;
        if (rn_log_seek_time(l, ts, &got) != 0 || got != want) {
            if (bad < 5)
                fprintf(stderr, "seek %lld: got %llu want %llu\n", (long long)ts,
                        (unsigned long long)got, (unsigned long long)want);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- kv -------------------------------------------------------------------- */

typedef struct scan_acc {
    char keys[512];
    int n;
} scan_acc_t;

static int scan_fn(void *ud, const char *key, const void *val, size_t len, uint64_t rev)
{
    scan_acc_t *a = ud;
    size_t k = strlen(a->keys);
    (void)snprintf(a->keys + k, sizeof a->keys - k, "%s=%.*s;", key, (int)len, (const char *)val);
    a->n++;
    return a->n == 100 ? 42 : 0;
}

static void test_kv(rn_store_t *s)
{
    CHECK_EQ_INT(rn_store_kv_put(s, "stream/b", "two", 3), 0);
    CHECK_EQ_INT(rn_store_kv_put(s, "stream/a", "one", 3), 0);
    CHECK_EQ_INT(rn_store_kv_put(s, "streamz", "x", 1), 0);
    CHECK_EQ_INT(rn_store_kv_put(s, "shard/a", "s", 1), 0);
    CHECK_EQ_INT(rn_store_kv_put(s, "stream/c", "", 0), 0);
    CHECK_EQ_INT(rn_store_kv_put(s, "stream/b", "TWO", 3), 0); /* overwrite */
    void *v = NULL;
    size_t len = 0;
    CHECK_EQ_INT(rn_store_kv_get(s, "stream/b", &v, &len), 0);
    CHECK_EQ_INT(len, 3);
    CHECK(v && memcmp(v, "TWO", 3) == 0);
    free(v);
    CHECK_EQ_INT(rn_store_kv_get(s, "stream/c", &v, &len), 0);
    CHECK_EQ_INT(len, 0);
    CHECK(v != NULL);
    free(v);
    CHECK_EQ_INT(rn_store_kv_get(s, "nope", &v, &len), RN_ENOENT);
    scan_acc_t acc = {{0}, 0};
    CHECK_EQ_INT(rn_store_kv_scan(s, "stream/", scan_fn, &acc), 0);
    CHECK_EQ_STR(acc.keys, "stream/a=one;stream/b=TWO;stream/c=;");
    CHECK_EQ_INT(rn_store_kv_del(s, "stream/a"), 0);
    CHECK_EQ_INT(rn_store_kv_get(s, "stream/a", &v, &len), RN_ENOENT);
    memset(&acc, 0, sizeof acc);
    acc.n = 98; /* the second row returns 42 and stops the scan */
    CHECK_EQ_INT(rn_store_kv_scan(s, "", scan_fn, &acc), 42);
    CHECK_EQ_STR(acc.keys, "shard/a=s;stream/b=TWO;");
}

/* ---- one backend ------------------------------------------------------------------- */

static rn_store_t *open_store(const char *dir, int in_memory, rn_fsync_mode_t mode)
{
    rn_store_config_t cfg = {
        .data_dir = dir,
        .in_memory = in_memory,
        .fsync_mode = mode,
        .fsync_interval_ms = 5,
        .segment_bytes = 4096,
        .wake = wake_fn,
        .wake_ud = NULL,
    };
    rn_store_t *s = NULL;
    const char *err = NULL;
    int rc = rn_store_open(&s, &cfg, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "open: %s\n", err ? err : "?");
    return rc ? NULL : s;
}

static model_t model_a, model_b;

static void fill_log(rn_store_t *s, rn_log_t *l, model_t *m, int durable, size_t batches)
{
    for (size_t b = 0; b < batches; b++) {
        size_t k = 1 + (b * 7) % 20;
        int64_t ts = (b % 5 == 4) ? 500 : 1000 + (int64_t)b * 10; /* every 5th goes back */
        uint64_t before = rn_log_committed(l);
        CHECK_EQ_INT(append_batch(l, m, k, ts), 0);
        CHECK_EQ_INT(rn_log_next(l), m->n + 1);
        if (durable)
            CHECK_EQ_INT(rn_log_committed(l), before); /* not readable before commit */
        else
            CHECK_EQ_INT(rn_log_committed(l), m->n + 1);
        if (b % 3 == 2) {
            CHECK_EQ_INT(commit_wait(s), 0);
            CHECK_EQ_INT(rn_log_committed(l), m->n + 1);
            CHECK_EQ_INT(rn_log_last_arrival(l), m->last);
        }
    }
    CHECK_EQ_INT(commit_wait(s), 0);
    CHECK_EQ_INT(rn_log_committed(l), m->n + 1);
}

static void check_log(rn_log_t *l, const model_t *m)
{
    CHECK_EQ_INT(rn_log_first(l), 1);
    CHECK_EQ_INT(rn_log_next(l), m->n + 1);
    CHECK_EQ_INT(rn_log_committed(l), m->n + 1);
    CHECK_EQ_INT(rn_log_last_arrival(l), m->last);
    read_all(l, m, 1, 1000, m->n + 1);
    read_all(l, m, 1, 7, m->n + 1);
    read_all(l, m, 1, 1, m->n + 1);
    /* from every counter, a short read */
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    int bad = 0;
    for (uint64_t c = 1; c <= m->n; c++) {
        size_t n = 0;
        uint64_t next = 0;
        rn_buf_reset(&scratch);
        if (rn_log_read(l, c, 3, SIZE_MAX, &scratch, outs, &n, &next) != 0 || n == 0 ||
            outs[0].counter != c || !record_ok(m, &outs[0]) || next != c + n ||
            n != (m->n + 1 - c < 3 ? m->n + 1 - c : 3))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* max_bytes: 1 byte still gives one record; an exact sum gives exactly those. */
    size_t n = 0;
    uint64_t next = 0;
    rn_buf_reset(&scratch);
    CHECK_EQ_INT(rn_log_read(l, 1, 100, 1, &scratch, outs, &n, &next), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(next, 2);
    size_t sum = 0;
    for (uint64_t c = 10; c < 15; c++)
        sum += data_len_of(c) + (size_t)snprintf(NULL, 0, "pk-%llu", (unsigned long long)c);
    rn_buf_reset(&scratch);
    CHECK_EQ_INT(rn_log_read(l, 10, 100, sum, &scratch, outs, &n, &next), 0);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(next, 15);
    rn_buf_reset(&scratch);
    CHECK_EQ_INT(rn_log_read(l, 10, 100, sum - 1, &scratch, outs, &n, &next), 0);
    CHECK_EQ_INT(n, 4);
    /* a scratch ceiling bounds a read, and a read adds to what scratch holds */
    rn_buf_t small;
    rn_buf_init(&small, 2048);
    CHECK_EQ_INT(rn_buf_append(&small, "keep", 4), 0);
    CHECK_EQ_INT(rn_log_read(l, 1, 1000, SIZE_MAX, &small, outs, &n, &next), 0);
    CHECK(n >= 1 && n < m->n);
    CHECK_EQ_INT(next, 1 + n);
    CHECK(memcmp(small.data, "keep", 4) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(record_ok(m, &outs[i]));
    rn_buf_dispose(&small);
    rn_buf_dispose(&scratch);
    check_seek(l, m);
}

static void test_backend(const char *dir, int in_memory, rn_fsync_mode_t mode)
{
    fprintf(stderr, "# backend %s, fsync mode %d\n", in_memory ? "memory" : "disk", (int)mode);
    int durable = !in_memory && mode == RN_FSYNC_ALWAYS;
    memset(&model_a, 0, sizeof model_a);
    memset(&model_b, 0, sizeof model_b);
    model_a.last = model_b.last = INT64_MIN;
    rn_store_t *s = open_store(dir, in_memory, mode);
    if (!s)
        return;
    rn_log_t *a = NULL, *b = NULL, *dup = NULL;
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &a), 0);
    CHECK_EQ_INT(rn_log_open(s, 7, 1, &b), 0);
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &dup), RN_EBUSY);
    CHECK_EQ_INT(rn_log_next(a), 1);
    CHECK_EQ_INT(rn_log_committed(a), 1);
    CHECK_EQ_INT(rn_log_first(a), 1);
    CHECK_EQ_INT(rn_log_last_arrival(a), 0);
    uint64_t ctr = 99;
    CHECK_EQ_INT(rn_log_seek_time(a, 0, &ctr), 0);
    CHECK_EQ_INT(ctr, 1);

    /* Interleave two logs; commits cover both. */
    fill_log(s, a, &model_a, durable, 60);
    fill_log(s, b, &model_b, durable, 10);
    check_log(a, &model_a);
    check_log(b, &model_b);
    test_kv(s);

    /* Uncommitted records are not readable under fsync always. */
    uint64_t before = rn_log_committed(a);
    CHECK_EQ_INT(append_batch(a, &model_a, 3, 5000), 0);
    if (durable) {
        rn_buf_t scratch;
        rn_buf_init(&scratch, 0);
        size_t n = 0;
        uint64_t next = 0;
        CHECK_EQ_INT(rn_log_read(a, before, 10, SIZE_MAX, &scratch, outs, &n, &next), 0);
        CHECK_EQ_INT(n, 0);
        CHECK_EQ_INT(next, before);
        uint64_t got = 0;
        CHECK_EQ_INT(rn_log_seek_time(a, 5000, &got), 0);
        CHECK_EQ_INT(got, before);
        rn_buf_dispose(&scratch);
    }
    CHECK_EQ_INT(commit_wait(s), 0);
    /* Several commits before completions run: all complete, in order. */
    cb_t c1 = {0, 1}, c2 = {0, 1};
    CHECK_EQ_INT(append_batch(a, &model_a, 2, 5001), 0);
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c1), 0);
    CHECK_EQ_INT(append_batch(b, &model_b, 2, 5001), 0);
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c2), 0);
    drive(s, &c2);
    CHECK_EQ_INT(c1.fired, 1);
    CHECK_EQ_INT(c2.fired, 1);
    CHECK_EQ_INT(c1.status, 0);
    CHECK_EQ_INT(c2.status, 0);
    /* A commit with nothing dirty still completes. */
    CHECK_EQ_INT(commit_wait(s), 0);

    /* One 1 MiB record. */
    {
        static uint8_t big[1 << 20];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (uint8_t)(i * 31 + 7);
        rn_log_t *c = NULL;
        CHECK_EQ_INT(rn_log_open(s, 8, 0, &c), 0);
        rn_record_in_t r = {(const uint8_t *)"k", 1, big, sizeof big, 3};
        uint64_t first = 0;
        CHECK_EQ_INT(rn_log_append(c, &r, 1, 1, &first), 0);
        CHECK_EQ_INT(rn_log_append(c, &r, 1, 2, &first), 0);
        CHECK_EQ_INT(first, 2);
        CHECK_EQ_INT(commit_wait(s), 0);
        rn_buf_t scratch;
        rn_buf_init(&scratch, 0);
        size_t n = 0;
        uint64_t next = 0;
        CHECK_EQ_INT(rn_log_read(c, 1, 10, SIZE_MAX, &scratch, outs, &n, &next), 0);
        CHECK_EQ_INT(n, 2);
        CHECK(n == 2 && outs[1].data_len == sizeof big && memcmp(outs[1].data, big, sizeof big) == 0);
        CHECK_EQ_INT(rn_log_read(c, 2, 10, 10, &scratch, outs, &n, &next), 0);
        CHECK_EQ_INT(n, 1);
        rn_buf_dispose(&scratch);
        CHECK_EQ_INT(rn_log_destroy(c), 0);
        if (!in_memory) {
            char p[512];
            struct stat st;
            (void)snprintf(p, sizeof p, "%s/logs/8", dir);
            CHECK(stat(p, &st) != 0 && errno == ENOENT);
        }
    }

    /* Reopen: logs and kv survive (memory logs survive rn_log_close). */
    rn_log_close(a);
    rn_log_close(b);
    if (!in_memory) {
        rn_store_t *s2 = NULL;
        const char *err = NULL;
        rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = mode};
        CHECK_EQ_INT(rn_store_open(&s2, &cfg, &err), RN_EBUSY);
        CHECK(err && strstr(err, "is in use by another runnel process") != NULL);
        CHECK(err && strstr(err, dir) != NULL);
        rn_store_close(s);
        s = open_store(dir, 0, mode);
        if (!s)
            return;
    }
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &a), 0);
    CHECK_EQ_INT(rn_log_open(s, 7, 1, &b), 0);
    check_log(a, &model_a);
    check_log(b, &model_b);
    void *v = NULL;
    size_t len = 0;
    CHECK_EQ_INT(rn_store_kv_get(s, "stream/b", &v, &len), 0);
    CHECK(v && len == 3 && memcmp(v, "TWO", 3) == 0);
    free(v);
    /* Appends continue the counters. */
    fill_log(s, a, &model_a, durable, 5);
    check_log(a, &model_a);

    /* Injected failures (disk): a failed write changes nothing. */
    if (!in_memory) {
        rn_seg_t *act = &a->segs[a->nsegs - 1];
        uint64_t size = act->size, next = rn_log_next(a);
        struct stat st;
        rn_store__pwritev = fail_pwritev;
        CHECK_EQ_INT(append_batch(a, &model_a, 2, 9000), RN_ENOSPC);
        CHECK_EQ_INT(rn_log_next(a), next);
        act = &a->segs[a->nsegs - 1];
        CHECK(fstat(act->fd, &st) == 0 && (uint64_t)st.st_size == act->size);
        CHECK(act->size == size || act->size == 0);
        rn_store__pwritev = real_pwritev;
        CHECK_EQ_INT(append_batch(a, &model_a, 2, 9000), 0);
        CHECK_EQ_INT(commit_wait(s), 0);
        check_log(a, &model_a);
    }
    /* A failed fdatasync: never readable, waiter told, log poisoned. */
    if (durable) {
        uint64_t before2 = rn_log_committed(a);
        CHECK_EQ_INT(append_batch(a, &model_a, 2, 9001), 0);
        rn_store__fdatasync = fail_fdatasync;
        CHECK(commit_wait(s) < 0);
        rn_store__fdatasync = fdatasync;
        CHECK_EQ_INT(rn_log_committed(a), before2);
        rn_buf_t scratch;
        rn_buf_init(&scratch, 0);
        size_t n = 0;
        uint64_t next = 0;
        CHECK_EQ_INT(rn_log_read(a, before2, 10, SIZE_MAX, &scratch, outs, &n, &next), 0);
        CHECK_EQ_INT(n, 0);
        rn_buf_dispose(&scratch);
        uint64_t first = 0;
        rn_record_in_t r = {(const uint8_t *)"k", 1, (const uint8_t *)"d", 1, 0};
        CHECK_EQ_INT(rn_log_append(a, &r, 1, 1, &first), RN_EIO);
        if (s->jnl.on) {
            /* One journal for every log: it may have lost bytes that later
             * records would follow, so the whole store refuses writes. */
            CHECK_EQ_INT(append_batch(b, &model_b, 1, 9002), RN_EIO);
        } else {
            /* the other log is unaffected */
            CHECK_EQ_INT(append_batch(b, &model_b, 1, 9002), 0);
            CHECK_EQ_INT(commit_wait(s), 0);
            CHECK_EQ_INT(rn_log_committed(b), model_b.n + 1);
        }
    }
    /* fsync interval: acknowledged at once, synced by the thread soon after. */
    if (!in_memory && mode == RN_FSYNC_INTERVAL) {
        /* (main installed counting_fdatasync before opening this store) */
        syncs_seen = 0;
        CHECK_EQ_INT(append_batch(b, &model_b, 1, 9003), 0);
        CHECK_EQ_INT(commit_wait(s), 0);
        CHECK_EQ_INT(rn_log_committed(b), model_b.n + 1);
        for (int i = 0; i < 100 && syncs_seen == 0; i++) {
            struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
            if (poll(&p, 1, 10000) <= 0)
                break;
            char junk[64];
            while (read(wake_pipe[0], junk, sizeof junk) > 0) {
            }
            rn_store_run_completions(s);
        }
        CHECK(syncs_seen > 0);
    }
    rn_log_close(a);
    rn_log_close(b);
    rn_store_close(s);
}

/* Writes part of the batch, then fails with ENOSPC: the store must cut it. */
static ssize_t fail_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    static int calls;
    if (calls++ % 2 == 0 && iov[0].iov_len > 10)
        return pwrite(fd, iov[0].iov_base, 10, off);
    errno = ENOSPC;
    return -1;
}

static ssize_t real_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return pwritev(fd, iov, cnt, off);
}

static int fail_fdatasync(int fd)
{
    (void)fd;
    errno = EIO;
    return -1;
}

static int counting_fdatasync(int fd)
{
    syncs_seen++;
    return fdatasync(fd);
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* rn_store_log_remove deletes a log's files without opening it (one shard,
 * or every shard of an id), refuses open logs, and rn_store_log_id_max sees
 * the ids that have files. */
static void test_remove(const char *dir, int in_memory)
{
    rn_store_t *s = open_store(dir, in_memory, RN_FSYNC_NEVER);
    if (!s)
        return;
    uint64_t max = 99;
    CHECK_EQ_INT(rn_store_log_id_max(s, &max), 0);
    CHECK_EQ_INT(max, 0);
    CHECK_EQ_INT(rn_store_log_remove(s, 41, -1), 0); /* never existed */
    uint8_t byte = 7;
    rn_record_in_t rec = {.pk = &byte, .pk_len = 1, .data = &byte, .data_len = 1};
    for (uint32_t sh = 0; sh < 3; sh++) {
        rn_log_t *l;
        uint64_t first;
        CHECK_EQ_INT(rn_log_open(s, 42, sh, &l), 0);
        CHECK_EQ_INT(rn_log_append_now(l, &rec, 1, 1000, &first), 0);
        if (sh == 2) {
            CHECK_EQ_INT(rn_store_log_remove(s, 42, 2), RN_EBUSY); /* open */
            CHECK_EQ_INT(rn_store_log_remove(s, 42, -1), RN_EBUSY);
        }
        rn_log_close(l);
    }
    rn_log_t *o;
    CHECK_EQ_INT(rn_log_open(s, 43, 0, &o), 0);
    CHECK_EQ_INT(rn_store_log_id_max(s, &max), 0);
    CHECK_EQ_INT(max, 43);
    CHECK_EQ_INT(rn_store_log_remove(s, 42, 1), 0);
    rn_log_t *l;
    CHECK_EQ_INT(rn_log_open(s, 42, 1, &l), 0);
    CHECK_EQ_INT(rn_log_next(l), 1); /* gone */
    rn_log_close(l);
    CHECK_EQ_INT(rn_log_open(s, 42, 0, &l), 0);
    CHECK_EQ_INT(rn_log_next(l), 2); /* kept */
    rn_log_close(l);
    CHECK_EQ_INT(rn_store_log_remove(s, 42, -1), 0);
    for (uint32_t sh = 0; sh < 3; sh++) {
        CHECK_EQ_INT(rn_log_open(s, 42, sh, &l), 0);
        CHECK_EQ_INT(rn_log_next(l), 1);
        rn_log_close(l);
    }
    CHECK_EQ_INT(rn_store_log_remove(s, 42, -1), 0);
    if (!in_memory) {
        char path[700];
        struct stat stt;
        (void)snprintf(path, sizeof path, "%s/logs/42", dir);
        CHECK(stat(path, &stt) != 0); /* the id's directory went too */
    }
    rn_log_close(o);
    rn_store_close(s);
    if (in_memory)
        return;
    /* A removal a previous run did not finish is done after the next open,
     * and its id still counts meanwhile. */
    char path[700];
    (void)snprintf(path, sizeof path, "%s/logs/.trash-77--1-0", dir);
    CHECK_EQ_INT(mkdir(path, 0755), 0);
    (void)snprintf(path, sizeof path, "%s/logs/.trash-77--1-0/0", dir);
    CHECK_EQ_INT(mkdir(path, 0755), 0);
    (void)snprintf(path, sizeof path, "%s/logs/.trash-77--1-0/0/00000000000000000001.seg", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    s = open_store(dir, 0, RN_FSYNC_NEVER);
    if (!s)
        return;
    (void)snprintf(path, sizeof path, "%s/logs/.trash-77--1-0", dir);
    struct stat stt;
    for (int i = 0; i < 200 && stat(path, &stt) == 0; i++)
        usleep(10000);
    CHECK(stat(path, &stt) != 0);
    rn_store_close(s);
}

int main(void)
{
    if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return 1;
    test_backend(NULL, 1, RN_FSYNC_ALWAYS);
    test_remove(NULL, 1);
    {
        char dir[] = "/tmp/rn_store_rm_XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        test_remove(dir, 0);
        rm_rf(dir);
    }
    rn_fsync_mode_t modes[] = {RN_FSYNC_ALWAYS, RN_FSYNC_NEVER, RN_FSYNC_INTERVAL};
    for (size_t i = 0; i < 3; i++) {
        char dir[] = "/tmp/rn_store_log_XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        char sub[600];
        (void)snprintf(sub, sizeof sub, "%s/data/dir", dir); /* exercises mkdir -p */
        /* Hooks are swapped only while no sync thread can be reading them. */
        rn_store__fdatasync = modes[i] == RN_FSYNC_INTERVAL ? counting_fdatasync : fdatasync;
        test_backend(sub, 0, modes[i]);
        rn_store__fdatasync = fdatasync;
        rm_rf(dir);
    }
    return rn_test_done("test_store_log");
}
