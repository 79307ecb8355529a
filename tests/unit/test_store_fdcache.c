/* test_store_fdcache.c: the open-file cache (rn_store_config_t.max_open_files).
 *
 * A store capped at 8 segment files serves 200 logs (50 log ids x 4 shards,
 * 4 KiB segments, so logs roll and reads hit sealed segments) in random
 * order: appends of 1-5 records, reads from a random counter, trims at a
 * record's arrival, deletes of a shard or of all four shards of an id (the
 * logs come back empty later). After every step the process's descriptors
 * (/proc/self/fd) are counted: never more than those of the idle store plus
 * the cap plus a small constant (the journal's files, a directory opened for
 * a moment, the removal thread's), where 200 logs without the cache hold at
 * least 200. Every read returns exactly the model's records (counter,
 * arrival, key, bytes) from the trim horizon on; after a close and a reopen
 * (still capped) every log reads back whole. Run under fsync always with the
 * journal and staging (the server's setup: stages are folded into evicted
 * logs' segments), fsync never with staging, and fsync always without the
 * journal (the hand-off dup()s active segments: logs not yet handed over
 * keep their files).
 *
 * Then the errors of a reopen: a log whose files were closed for the cap and
 * whose directory was then removed behind the store's back reads and appends
 * RN_ENOENT (not a crash, and the store goes on); with the descriptor table
 * full and no hook, reopening a closed segment first closes an idle log's
 * files (the read succeeds), and with nothing left to close it is RN_EMFILE. */
#include "store/store.h"
#include "store_harness.h"
#include "tap.h"
#include "util/buf.h"
#include "util/status.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define NLOGS 200
#define SHARDS 4
#define CAP 8
#define SLACK 12 /* journal file(s), a directory opened for a moment, the removal thread's */
#define STEPS 2500
#define MAXREC 4096

typedef struct rec {
    int64_t arrival;
    uint16_t len;
} rec_t;

typedef struct mlog {
    rn_log_t *l;     /* NULL: not open */
    rec_t *recs;     /* recs[c - 1]: counter c */
    size_t n;
    uint64_t first;  /* the trim horizon the test set (1: none) */
} mlog_t;

static mlog_t logs[NLOGS];
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int64_t now_ms = 1000;
static int max_seen;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    (void)closedir(d);
    return n - 1; /* the directory's own */
}

static uint64_t log_id_of(int i) { return 1 + (uint64_t)(i / SHARDS); }
static uint32_t shard_of(int i) { return (uint32_t)(i % SHARDS); }

static uint8_t byte_at(int i, uint64_t c, size_t k) { return (uint8_t)(i * 131 + c * 17 + k); }

static void fill(uint8_t *buf, int i, uint64_t c, size_t len)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = byte_at(i, c, k);
}

static rn_store_t *open_store(const char *dir, rn_fsync_mode_t mode, int no_journal, int defer)
{
    rn_store_config_t cfg = {.data_dir = dir,
                             .fsync_mode = mode,
                             .segment_bytes = 4096,
                             .journal_bytes = 1 << 20,
                             .no_journal = no_journal,
                             .defer_commit = defer,
                             .wake = wake_fn,
                             .max_open_files = CAP};
    rn_store_t *s = NULL;
    const char *err = NULL;
    int rc = rn_store_open(&s, &cfg, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "open: %s\n", err ? err : "?");
    return s;
}

static void commit(rn_store_t *s, int defer)
{
    cb_t cb = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cb), 0);
    if (defer)
        rn_store_kick(s);
    drive(s, &cb);
    CHECK_EQ_INT(cb.fired, 1);
    CHECK_EQ_INT(cb.status, 0);
}

static rn_log_t *get(rn_store_t *s, int i)
{
    mlog_t *m = &logs[i];
    if (!m->l) {
        int rc = rn_log_open(s, log_id_of(i), shard_of(i), &m->l);
        CHECK_EQ_INT(rc, 0);
        if (rc) {
            m->l = NULL;
            return NULL;
        }
        if (m->first > 1) /* the horizon is not persisted: trim again (as core does) */
            CHECK_EQ_INT(rn_log_trim(m->l, m->recs[m->first - 2].arrival + 1), 0);
    }
    return m->l;
}

static void do_append(rn_store_t *s, int i, int defer)
{
    rn_log_t *l = get(s, i);
    if (!l)
        return;
    mlog_t *m = &logs[i];
    int k = 1 + (int)rnd(5);
    static uint8_t data[5][800];
    char pk[5][24];
    rn_record_in_t in[5];
    now_ms += 10;
    for (int j = 0; j < k; j++) {
        uint64_t c = m->n + 1 + (uint64_t)j;
        size_t len = 50 + rnd(700);
        fill(data[j], i, c, len);
        int pl = snprintf(pk[j], sizeof pk[j], "k%llu", (unsigned long long)c);
        in[j] = (rn_record_in_t){.pk = (const uint8_t *)pk[j], .pk_len = (size_t)pl, .data = data[j],
                                 .data_len = len};
    }
    uint64_t first = 0;
    int rc = rn_log_append(l, in, (size_t)k, now_ms, &first);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        return;
    CHECK_EQ_INT(first, m->n + 1);
    if (m->n + (size_t)k > MAXREC)
        return;
    for (int j = 0; j < k; j++)
        m->recs[m->n++] = (rec_t){.arrival = now_ms, .len = (uint16_t)in[j].data_len};
    commit(s, defer);
}

/* Read everything from `from` to the end and check it against the model. */
static void check_read(rn_store_t *s, int i, uint64_t from)
{
    rn_log_t *l = get(s, i);
    if (!l)
        return;
    mlog_t *m = &logs[i];
    CHECK_EQ_INT(rn_log_first(l), m->first);
    CHECK_EQ_INT(rn_log_committed(l), m->n + 1);
    uint64_t want = from < m->first ? m->first : from;
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t out[64];
    int bad = 0;
    while (want <= m->n && !bad) {
        size_t n = 0;
        uint64_t next = 0;
        rn_buf_reset(&scratch);
        int rc = rn_log_read(l, want, 64, 1 << 20, &scratch, out, &n, &next);
        CHECK_EQ_INT(rc, 0);
        if (rc || n == 0) {
            CHECK(n > 0);
            break;
        }
        for (size_t j = 0; j < n && !bad; j++, want++) {
            const rec_t *r = &m->recs[want - 1];
            char pk[24];
            int pl = snprintf(pk, sizeof pk, "k%llu", (unsigned long long)want);
            int ok = out[j].counter == want && out[j].arrival_ms == r->arrival &&
                     out[j].pk_len == (size_t)pl && memcmp(out[j].pk, pk, (size_t)pl) == 0 &&
                     out[j].data_len == r->len;
            for (size_t k = 0; ok && k < r->len; k++)
                ok = out[j].data[k] == byte_at(i, want, k);
            if (!ok) {
                fprintf(stderr, "log %d: record %llu differs\n", i, (unsigned long long)want);
                bad = 1;
            }
            CHECK(ok);
        }
        CHECK_EQ_INT(next, want);
    }
    rn_buf_dispose(&scratch);
}

static void do_trim(rn_store_t *s, int i)
{
    rn_log_t *l = get(s, i);
    mlog_t *m = &logs[i];
    if (!l || m->n == 0)
        return;
    uint64_t c = m->first + rnd((uint32_t)(m->n - m->first + 1)); /* the new horizon */
    if (c > m->n)
        c = m->n;
    CHECK_EQ_INT(rn_log_trim(l, m->recs[c - 1].arrival), 0);
    /* the first record that arrived at or after the cutoff (arrivals of a
     * batch are equal: its first record) */
    uint64_t h = c;
    while (h > 1 && m->recs[h - 2].arrival == m->recs[c - 1].arrival)
        h--;
    if (h > m->first)
        m->first = h;
    CHECK_EQ_INT(rn_log_first(l), m->first);
}

static void forget(int i)
{
    logs[i].n = 0;
    logs[i].first = 1;
}

static void do_delete(rn_store_t *s, int i, int whole)
{
    if (whole) {
        int base = i - i % SHARDS;
        for (int j = base; j < base + SHARDS; j++) {
            rn_log_discard(logs[j].l);
            logs[j].l = NULL;
            forget(j);
        }
        CHECK_EQ_INT(rn_store_log_remove(s, log_id_of(i), -1), 0);
    } else {
        rn_log_discard(logs[i].l);
        logs[i].l = NULL;
        forget(i);
        CHECK_EQ_INT(rn_store_log_remove(s, log_id_of(i), shard_of(i)), 0);
    }
}

static void note_fds(int base, const char *what)
{
    int n = count_fds();
    if (n > max_seen)
        max_seen = n;
    if (n > base + CAP + SLACK) {
        fprintf(stderr, "%s: %d descriptors open, idle store %d, cap %d\n", what, n, base, CAP);
        CHECK(n <= base + CAP + SLACK);
    }
}

static void run(const char *name, rn_fsync_mode_t mode, int no_journal, int defer)
{
    char dir[] = "/tmp/runnel-fdcache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    for (int i = 0; i < NLOGS; i++) {
        logs[i] = (mlog_t){.recs = calloc(MAXREC, sizeof(rec_t)), .first = 1};
        CHECK(logs[i].recs != NULL);
    }
    max_seen = 0;
    rn_store_t *s = open_store(dir, mode, no_journal, defer);
    if (!s)
        return;
    int base = count_fds();
    /* every log written once, so that all 200 hold data */
    for (int i = 0; i < NLOGS; i++) {
        do_append(s, i, defer);
        note_fds(base, name);
    }
    int deletes = 0;
    for (int step = 0; step < STEPS; step++) {
        int i = (int)rnd(NLOGS);
        uint32_t op = rnd(100);
        if (op < 55) {
            do_append(s, i, defer);
        } else if (op < 88) {
            check_read(s, i, logs[i].n ? 1 + rnd((uint32_t)logs[i].n) : 1);
        } else if (op < 98) {
            do_trim(s, i);
        } else {
            do_delete(s, i, op == 99);
            deletes++;
        }
        note_fds(base, name);
    }
    CHECK(deletes > 0);
    /* every log, in order */
    for (int i = 0; i < NLOGS; i++) {
        check_read(s, i, 1);
        note_fds(base, name);
    }
    /* close (folds every stage into its segment, reopening evicted logs) and reopen */
    for (int i = 0; i < NLOGS; i++) {
        rn_log_close(logs[i].l);
        logs[i].l = NULL;
    }
    rn_store_close(s);
    s = open_store(dir, mode, no_journal, defer);
    if (s) {
        base = count_fds();
        for (int i = 0; i < NLOGS; i++) {
            check_read(s, i, 1);
            note_fds(base, name);
        }
        for (int i = 0; i < NLOGS; i++) {
            rn_log_close(logs[i].l);
            logs[i].l = NULL;
        }
        rn_store_close(s);
    }
    size_t total = 0;
    for (int i = 0; i < NLOGS; i++) {
        total += logs[i].n;
        free(logs[i].recs);
    }
    printf("# %s: %zu records in %d logs, at most %d descriptors open (idle store %d, cap %d)\n", name,
           total, NLOGS, max_seen, base, CAP);
    rm_rf(dir);
}

/* ---- errors of a reopen --------------------------------------------------------------- */

static int append_one(rn_store_t *s, rn_log_t *l, int64_t at)
{
    static uint8_t data[1500];
    memset(data, 'x', sizeof data);
    rn_record_in_t r = {.pk = (const uint8_t *)"k", .pk_len = 1, .data = data, .data_len = sizeof data};
    uint64_t first;
    int rc = rn_log_append(l, &r, 1, at, &first);
    if (rc)
        return rc;
    cb_t cb = {0};
    if ((rc = rn_store_commit(s, done_cb, &cb)) != 0)
        return rc;
    drive(s, &cb);
    return cb.fired ? cb.status : -1000;
}

static int read_from(rn_log_t *l, uint64_t from, size_t *n)
{
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t out[4];
    uint64_t next;
    *n = 0;
    int rc = rn_log_read(l, from, 1, 1 << 20, &scratch, out, n, &next);
    rn_buf_dispose(&scratch);
    return rc;
}

static void reopen_errors(void)
{
    char dir[] = "/tmp/runnel-fdcache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_NEVER, .segment_bytes = 4096,
                             .wake = wake_fn, .max_open_files = 2};
    rn_store_t *s = NULL;
    const char *err = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, &err), 0);
    if (!s)
        return;
    rn_log_t *a = NULL, *b = NULL, *c = NULL;
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &a), 0);
    CHECK_EQ_INT(rn_log_open(s, 2, 0, &b), 0);
    CHECK_EQ_INT(rn_log_open(s, 3, 0, &c), 0);
    /* a: 3 segments (1.5 KiB records, 4 KiB segments); b and c after it */
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(append_one(s, a, 1000 + i), 0);
    CHECK_EQ_INT(append_one(s, b, 1000), 0);
    CHECK_EQ_INT(append_one(s, c, 1000), 0);

    /* ENOENT: a's files were closed for the cap (b and c came after it), and
     * its directory goes behind the store's back. */
    int fds0 = count_fds();
    CHECK_EQ_INT(append_one(s, b, 1001), 0);
    CHECK_EQ_INT(count_fds(), fds0); /* b's file was open: nothing reopened, nothing more held */
    char cmd[600];
    (void)snprintf(cmd, sizeof cmd, "mv '%s/logs/1' '%s/moved'", dir, dir);
    CHECK_EQ_INT(system(cmd), 0);
    size_t n = 0;
    CHECK_EQ_INT(read_from(a, 1, &n), RN_ENOENT);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(append_one(s, a, 2000), RN_ENOENT);
    CHECK_EQ_INT(rn_log_next(a), 7); /* no counter used */
    CHECK_EQ_INT(append_one(s, b, 1002), 0); /* the others go on */
    (void)snprintf(cmd, sizeof cmd, "mv '%s/moved' '%s/logs/1'", dir, dir);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(read_from(a, 1, &n), 0); /* back: reopened */
    CHECK_EQ_INT(n, 1);

    /* EMFILE. a holds its first segment's file (just read), b its active
     * one's; c's were closed for the cap. With the table full and no hook,
     * a read of a's second segment closes an idle log's files (b's) to get
     * a descriptor, and succeeds. */
    struct rlimit old_rl, rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &old_rl) == 0);
    rl.rlim_cur = (rlim_t)count_fds() + 16;
    rl.rlim_max = old_rl.rlim_max;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    int fill[64], nfill = 0;
    while (nfill < 64 && (fill[nfill] = dup(wake_pipe[0])) >= 0)
        nfill++;
    CHECK(nfill < 64 && errno == EMFILE);
    CHECK_EQ_INT(append_one(s, b, 1003), 0); /* b's file is open: no descriptor needed */
    CHECK_EQ_INT(read_from(a, 3, &n), 0);
    CHECK_EQ_INT(n, 1);
    /* Fill the slots that freed (b's file, a's first segment's: a keeps one
     * sealed segment open); a is the only log holding files now, so reading
     * its first segment again finds nothing to close: RN_EMFILE. */
    rn_log_close(b);
    rn_log_close(c);
    b = c = NULL;
    while (nfill < 64 && (fill[nfill] = dup(wake_pipe[0])) >= 0)
        nfill++;
    CHECK_EQ_INT(read_from(a, 1, &n), RN_EMFILE);
    CHECK_EQ_INT(n, 0);
    while (nfill > 0)
        close(fill[--nfill]);
    CHECK(setrlimit(RLIMIT_NOFILE, &old_rl) == 0);
    CHECK_EQ_INT(read_from(a, 1, &n), 0); /* with descriptors again */
    CHECK_EQ_INT(n, 1);
    rn_log_close(a);
    rn_store_close(s);
    rm_rf(dir);
}

int main(void)
{
    CHECK(harness_init() == 0);
    run("fsync always, journal, staging", RN_FSYNC_ALWAYS, 0, 1);
    run("fsync never, staging", RN_FSYNC_NEVER, 0, 1);
    run("fsync always, no journal", RN_FSYNC_ALWAYS, 1, 0);
    reopen_errors();
    return rn_test_done("test_store_fdcache");
}
