/* test_store_stage.c: staged appends and the kick (cfg.defer_commit, disk).
 *
 * Fsync never:
 *  - small appends of one round are written with one pwritev per log, when
 *    completions run (or at the kick), and only then become readable;
 *  - a read, a time seek, rn_log_next and close write the stage first;
 *  - an append too large to stage writes the stage first: order holds;
 *  - a stage that cannot be written (ENOSPC) is dropped whole: the file is
 *    as before, rn_log_next goes back, the commit fails, the log goes on
 *    and the dropped counters are given to the next records;
 *  - rolls with staged frames keep every record, across a reopen.
 * Fsync always:
 *  - commits gather until rn_store_kick: no sync before it, one batch after;
 *  - a stage write failing at the kick fails the gathered commits, and the
 *    log is not poisoned;
 *  - rn_store_close hands over what was gathered and completes it. */
#include "store/store.h"
#include "store/store_int.h"
#include "core/errors.h"
#include "util/buf.h"
#include "store_harness.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- seams ------------------------------------------------------------------- */
static int pwritev_calls;   /* loop thread only */
static int pwritev_fail;    /* 1: the next pwritev fails with ENOSPC */
static _Atomic int syncs;

static ssize_t hook_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    pwritev_calls++;
    if (pwritev_fail) {
        pwritev_fail = 0;
        errno = ENOSPC;
        return -1;
    }
    return pwritev(fd, iov, cnt, off);
}

static int hook_fdatasync(int fd)
{
    atomic_fetch_add(&syncs, 1);
    return fdatasync(fd);
}

/* ---- harness ------------------------------------------------------------------ */
/* Append one record whose data is "<tag>-<i>", padded to len bytes. */
static uint64_t put(rn_log_t *l, const char *tag, int i, size_t len, int64_t ts, int want_rc)
{
    static uint8_t data[64 << 10];
    int n = snprintf((char *)data, sizeof data, "%s-%d", tag, i);
    if (len < (size_t)n)
        len = (size_t)n;
    memset(data + n, 'x', len - (size_t)n);
    rn_record_in_t r = {(const uint8_t *)"pk", 2, data, len, 0};
    uint64_t first = 0;
    CHECK_EQ_INT(rn_log_append(l, &r, 1, ts, &first), want_rc);
    return first;
}

/* Read everything from counter 1 and check it is exactly want[0..n) in order. */
static void expect_records(rn_log_t *l, const char *const *want, size_t n)
{
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t outs[256];
    size_t got = 0;
    uint64_t next = 0;
    CHECK_EQ_INT(rn_log_read(l, 1, 256, SIZE_MAX, &scratch, outs, &got, &next), 0);
    CHECK_EQ_INT(got, n);
    for (size_t i = 0; i < got && i < n; i++) {
        size_t wl = strlen(want[i]);
        CHECK_EQ_INT(outs[i].counter, i + 1);
        CHECK(outs[i].data_len >= wl && memcmp(outs[i].data, want[i], wl) == 0 &&
              (outs[i].data_len == wl || outs[i].data[wl] == 'x'));
    }
    rn_buf_dispose(&scratch);
}

static off_t file_size(rn_log_t *l)
{
    struct stat st;
    return fstat(l->segs[l->nsegs - 1].fd, &st) == 0 ? st.st_size : -1;
}

/* ---- fsync never ---------------------------------------------------------------- */
static void test_never(const char *dir)
{
    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_NEVER, .wake = wake_fn,
                             .no_journal = 1, /* the engine without the journal */
                             .defer_commit = 1, .segment_bytes = 4096};
    rn_store_t *s = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    rn_log_t *a = NULL, *b = NULL;
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &a), 0);
    CHECK_EQ_INT(rn_log_open(s, 7, 1, &b), 0);

    /* 1. A round of small appends to two logs: staged, then one pwritev each. */
    pwritev_calls = 0;
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(put(a, "a", i, 10, 1000 + i, 0), (uint64_t)i + 1);
        CHECK_EQ_INT(put(b, "b", i, 10, 1000 + i, 0), (uint64_t)i + 1);
    }
    cb_t c1 = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c1), 0);
    CHECK_EQ_INT(pwritev_calls, 0);
    CHECK_EQ_INT(file_size(a), 0);
    CHECK_EQ_INT(rn_log_committed(a), 1); /* not readable before it is written */
    drive(s, &c1);
    CHECK_EQ_INT(c1.fired, 1);
    CHECK_EQ_INT(c1.status, 0);
    CHECK_EQ_INT(pwritev_calls, 2);
    CHECK_EQ_INT(rn_log_committed(a), 6);
    CHECK_EQ_INT(rn_log_committed(b), 6);
    const char *wa[] = {"a-0", "a-1", "a-2", "a-3", "a-4", "a-5", "a-6", "a-7", "a-8"};
    expect_records(a, wa, 5);

    /* 2. A read, rn_log_next and a time seek each write the stage first. */
    put(a, "a", 5, 10, 2000, 0);
    CHECK_EQ_INT(rn_log_committed(a), 6);
    expect_records(a, wa, 6); /* the read wrote it */
    put(a, "a", 6, 10, 3000, 0);
    pwritev_calls = 0;
    CHECK_EQ_INT(rn_log_next(a), 8);
    CHECK_EQ_INT(pwritev_calls, 1);
    CHECK_EQ_INT(rn_log_committed(a), 8);
    put(a, "a", 7, 10, 4000, 0);
    uint64_t at = 0;
    CHECK_EQ_INT(rn_log_seek_time(a, 4000, &at), 0);
    CHECK_EQ_INT(at, 8);
    CHECK_EQ_INT(rn_log_committed(a), 9);

    /* 3. A large append after staged ones: the stage goes first. */
    put(b, "b", 5, 10, 5000, 0);
    CHECK_EQ_INT(put(b, "b", 6, 20000, 5000, 0), 7); /* too large to stage */
    put(b, "b", 7, 10, 5000, 0);
    cb_t c3 = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c3), 0);
    drive(s, &c3);
    CHECK_EQ_INT(c3.status, 0);
    const char *wb[] = {"b-0", "b-1", "b-2", "b-3", "b-4", "b-5", "b-6", "b-7"};
    expect_records(b, wb, 8);

    /* 4. The stage cannot be written: dropped whole, the commit fails, the
     * file and the counters are as before, and the log goes on. */
    off_t size_before = file_size(a);
    uint64_t nsegs_before = a->nsegs;
    cb_t c4a = {0}, c4 = {0}, c4b = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c4a), 0); /* before the stage began */
    put(a, "lost", 0, 10, 6000, 0);
    put(a, "lost", 1, 10, 6000, 0);
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c4), 0);
    pwritev_fail = 1;
    CHECK_EQ_INT(rn_log_next(a), 9); /* writing the stage fails here: the counters go back */
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c4b), 0); /* after the failure */
    drive(s, &c4b);
    CHECK_EQ_INT(c4a.fired + c4.fired + c4b.fired, 3);
    CHECK_EQ_INT(c4a.status, 0);
    CHECK_EQ_INT(c4.status, RN_ENOSPC);
    CHECK_EQ_INT(c4b.status, 0);
    CHECK_EQ_INT(a->nsegs, nsegs_before);
    CHECK_EQ_INT(file_size(a), size_before);
    CHECK_EQ_INT(rn_log_committed(a), 9);
    expect_records(a, wa, 8);
    CHECK_EQ_INT(put(a, "a", 8, 10, 7000, 0), 9); /* the dropped counter, for new data */
    cb_t c5 = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c5), 0);
    drive(s, &c5);
    CHECK_EQ_INT(c5.status, 0);
    expect_records(a, wa, 9);

    /* 5. Rolls with staged frames (segments of 4 KiB): 200 records of ~100
     * bytes in rounds of 10, some written by the kick; then close with a
     * stage pending, reopen, and read them all back in order. */
    rn_log_t *c = NULL;
    CHECK_EQ_INT(rn_log_open(s, 8, 0, &c), 0);
    static char names[201][16];
    const char *wc[201];
    for (int i = 0; i < 200; i++) {
        (void)snprintf(names[i], sizeof names[i], "c-%d", i);
        wc[i] = names[i];
        put(c, "c", i, 90, 8000 + i, 0);
        if (i % 10 == 9 && i < 190) {
            if (i % 20 == 9) {
                rn_store_kick(s);
            } else {
                cb_t cr = {0};
                CHECK_EQ_INT(rn_store_commit(s, done_cb, &cr), 0);
                drive(s, &cr);
                CHECK_EQ_INT(cr.status, 0);
            }
        }
    }
    CHECK(c->nsegs > 3);
    rn_log_close(c); /* the last 10 are only staged: close writes them */
    rn_log_close(a);
    rn_log_close(b);
    rn_store_close(s);

    s = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    CHECK_EQ_INT(rn_log_open(s, 8, 0, &c), 0);
    CHECK_EQ_INT(rn_log_next(c), 201);
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t outs[256];
    size_t got = 0;
    uint64_t next = 0, from = 1;
    size_t total = 0;
    int order_ok = 1;
    do {
        CHECK_EQ_INT(rn_log_read(c, from, 256, SIZE_MAX, &scratch, outs, &got, &next), 0);
        for (size_t i = 0; i < got; i++) {
            size_t k = total + i;
            size_t wl = strlen(wc[k]);
            if (outs[i].counter != k + 1 || memcmp(outs[i].data, wc[k], wl) != 0 ||
                outs[i].data[wl] != 'x')
                order_ok = 0;
        }
        total += got;
        from = next;
        rn_buf_reset(&scratch);
    } while (got > 0);
    CHECK_EQ_INT(total, 200);
    CHECK(order_ok);
    rn_buf_dispose(&scratch);
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &a), 0);
    expect_records(a, wa, 9);
    rn_log_close(a);
    rn_log_close(c);
    rn_store_close(s);
}

/* ---- fsync always ---------------------------------------------------------------- */
static void test_always(const char *dir)
{
    /* The engine without the commit journal: a stage is written at the kick. */
    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_ALWAYS, .wake = wake_fn,
                             .defer_commit = 1, .no_journal = 1};
    rn_store_t *s = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    rn_log_t *a = NULL, *b = NULL;
    CHECK_EQ_INT(rn_log_open(s, 9, 0, &a), 0);
    CHECK_EQ_INT(rn_log_open(s, 9, 1, &b), 0);
    const char *w[] = {"r-0", "r-1", "r-2", "r-3", "r-4", "r-5"};

    /* 1. Commits of a round gather until the kick: nothing is written or
     * synced before it; then one batch covers both logs. */
    atomic_store(&syncs, 0);
    pwritev_calls = 0;
    cb_t c[4] = {{0}};
    for (int i = 0; i < 2; i++) {
        put(a, "r", i, 10, 1000, 0);
        CHECK_EQ_INT(rn_store_commit(s, done_cb, &c[2 * i]), 0);
        put(b, "r", i, 10, 1000, 0);
        CHECK_EQ_INT(rn_store_commit(s, done_cb, &c[2 * i + 1]), 0);
    }
    usleep(20000);
    rn_store_run_completions(s);
    CHECK_EQ_INT(atomic_load(&syncs), 0);
    CHECK_EQ_INT(pwritev_calls, 0);
    CHECK_EQ_INT(c[0].fired + c[1].fired + c[2].fired + c[3].fired, 0);
    rn_store_kick(s);
    CHECK_EQ_INT(pwritev_calls, 2);
    drive(s, &c[3]);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(c[i].fired, 1);
        CHECK_EQ_INT(c[i].status, 0);
    }
    CHECK_EQ_INT(atomic_load(&syncs), 2); /* one batch: each log synced once */
    CHECK_EQ_INT(s->st_batches, 1);
    expect_records(a, w, 2);
    expect_records(b, w, 2);

    /* 2. The stage cannot be written at the kick: the gathered commits fail,
     * nothing becomes readable, and the log is not poisoned. */
    cb_t cbefore = {0}, cf = {0};
    put(b, "r", 2, 10, 2000, 0);
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cbefore), 0); /* before a's stage began */
    put(a, "lost", 0, 10, 2000, 0);
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cf), 0);
    pwritev_fail = 1; /* the kick writes a's stage first (the staged list is LIFO) */
    rn_store_kick(s);
    drive(s, &cf);
    drive(s, &cbefore);
    CHECK_EQ_INT(cf.fired, 1);
    CHECK_EQ_INT(cf.status, RN_ENOSPC);
    CHECK_EQ_INT(cbefore.fired, 1);
    CHECK_EQ_INT(cbefore.status, 0);
    expect_records(b, w, 3);
    CHECK_EQ_INT(rn_log_next(a), 3);
    expect_records(a, w, 2);
    CHECK_EQ_INT(put(a, "r", 2, 10, 3000, 0), 3);
    cb_t cg = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cg), 0);
    rn_store_kick(s);
    drive(s, &cg);
    CHECK_EQ_INT(cg.status, 0);
    expect_records(a, w, 3);

    /* 3. Close with commits gathered and not kicked: they complete, durable. */
    put(b, "r", 3, 10, 4000, 0);
    cb_t ch = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &ch), 0);
    rn_log_close(a);
    rn_log_close(b);
    rn_store_close(s);
    CHECK_EQ_INT(ch.fired, 1);
    CHECK_EQ_INT(ch.status, 0);
    s = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    CHECK_EQ_INT(rn_log_open(s, 9, 1, &b), 0);
    expect_records(b, w, 4);
    rn_log_close(b);
    rn_store_close(s);
}

/* ---- fsync always, commit journal: stages written behind --------------------------- */
static void test_journal(const char *dir)
{
    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_ALWAYS, .wake = wake_fn,
                             .defer_commit = 1};
    rn_store_t *s = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    CHECK(s->jnl.on);
    rn_log_t *a = NULL, *b = NULL;
    CHECK_EQ_INT(rn_log_open(s, 9, 0, &a), 0);
    CHECK_EQ_INT(rn_log_open(s, 9, 1, &b), 0);
    const char *w[] = {"r-0", "r-1", "r-2", "r-3", "r-4", "r-5", "r-6", "r-7", "r-8", "r-9",
                       "r-10", "r-11", "r-12", "r-13", "r-14", "r-15", "r-16", "r-17", "r-18",
                       "r-19", "r-20", "r-21", "r-22", "r-23", "r-24", "r-25", "r-26"};

    /* 1. A round's commits: one journal sync at the kick, no segment write; the
     * records are readable (from memory) once it completes. */
    atomic_store(&syncs, 0);
    pwritev_calls = 0;
    cb_t c[4] = {{0}};
    for (int i = 0; i < 2; i++) {
        put(a, "r", i, 10, 1000, 0);
        CHECK_EQ_INT(rn_store_commit(s, done_cb, &c[2 * i]), 0);
        put(b, "r", i, 10, 1000, 0);
        CHECK_EQ_INT(rn_store_commit(s, done_cb, &c[2 * i + 1]), 0);
    }
    rn_store_kick(s);
    drive(s, &c[3]);
    for (int i = 0; i < 4; i++)
        CHECK(c[i].fired == 1 && c[i].status == 0);
    CHECK_EQ_INT(atomic_load(&syncs), 1);
    CHECK_EQ_INT(pwritev_calls, 0);
    CHECK_EQ_INT(file_size(a), 0);
    expect_records(a, w, 2);
    expect_records(b, w, 2);
    uint64_t c0;
    CHECK_EQ_INT(rn_log_seek_time(a, 1000, &c0), 0);
    CHECK_EQ_INT(c0, 1);

    /* 2. A stage grows past RN_STAGE_MAX: it is written then; when that write
     * fails, the append that needed the room fails, nothing acknowledged is
     * lost (the stage stays, readable), and the next append writes it. */
    int n = 2;
    const size_t frame = RN_FRAME_HDR + 2 + (15u << 10);
    while (a->stage && a->stage->len + frame <= RN_STAGE_MAX)
        put(a, "r", n++, 15 << 10, 2000, 0);
    cb_t cy = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cy), 0);
    rn_store_kick(s);
    drive(s, &cy);
    CHECK_EQ_INT(cy.status, 0);
    CHECK_EQ_INT(file_size(a), 0);
    pwritev_fail = 1;
    put(a, "r", n, 15 << 10, 2000, RN_ENOSPC);
    CHECK(a->stage != NULL);
    CHECK_EQ_INT(file_size(a), 0);
    expect_records(a, w, (size_t)n);
    put(a, "r", n++, 15 << 10, 2000, 0);
    CHECK(file_size(a) > 0);
    cb_t cx = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cx), 0);
    rn_store_kick(s);
    drive(s, &cx);
    CHECK_EQ_INT(cx.status, 0);
    expect_records(a, w, (size_t)n);

    /* 3. A crash before any stage is written: a child appends and commits, then
     * dies without closing; the journal brings every acknowledged record back. */
    rn_log_close(a);
    rn_log_close(b);
    rn_store_close(s);
    pid_t pid = fork();
    if (pid == 0) {
        rn_store_t *cs = NULL;
        rn_log_t *cb2 = NULL;
        if (rn_store_open(&cs, &cfg, NULL) || rn_log_open(cs, 9, 1, &cb2))
            _exit(2);
        off_t before = file_size(cb2);
        for (int i = 2; i < 6; i++) {
            put(cb2, "r", i, 10, 3000, 0);
            cb_t cc = {0};
            if (rn_store_commit(cs, done_cb, &cc))
                _exit(3);
            rn_store_kick(cs);
            drive(cs, &cc);
            if (cc.status)
                _exit(4);
        }
        _exit(file_size(cb2) == before ? 0 : 5); /* nothing of it in the segment yet */
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    s = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    CHECK_EQ_INT(rn_log_open(s, 9, 1, &b), 0);
    expect_records(b, w, 6);
    CHECK_EQ_INT(rn_log_open(s, 9, 0, &a), 0);
    CHECK_EQ_INT(rn_log_next(a), (uint64_t)n + 1);
    rn_log_close(a);
    rn_log_close(b);
    rn_store_close(s);
}

/* ---- fsync never, commit journal ----------------------------------------------------- */
static void test_never_journal(const char *dir)
{
    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_NEVER, .wake = wake_fn,
                             .defer_commit = 1};
    const char *w[] = {"n-0", "n-1", "n-2", "n-3", "n-4", "n-5", "n-6", "n-7"};
    /* A child: staged appends and commits, readable after each commit (the
     * journal copy is written), nothing in the segment, no sync at all; then
     * it dies without closing, and the journal brings everything back. */
    pid_t pid = fork();
    if (pid == 0) {
        rn_store_t *cs = NULL;
        rn_log_t *l = NULL;
        if (rn_store_open(&cs, &cfg, NULL) || !cs->jnl.on || rn_log_open(cs, 4, 0, &l))
            _exit(2);
        atomic_store(&syncs, 0);
        pwritev_calls = 0;
        for (int i = 0; i < 8; i++) {
            put(l, "n", i, 10, 1000 + i, 0);
            if (rn_log_committed(l) != (uint64_t)i + 1)
                _exit(3); /* not readable before its commit */
            cb_t cc = {0};
            if (rn_store_commit(cs, done_cb, &cc))
                _exit(4);
            rn_store_kick(cs);
            drive(cs, &cc);
            if (cc.status || rn_log_committed(l) != (uint64_t)i + 2)
                _exit(5);
        }
        expect_records(l, w, 8);
        if (pwritev_calls != 0 || atomic_load(&syncs) != 0 || file_size(l) != 0)
            _exit(6);
        _exit(rn_test_failures ? 7 : 0);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    CHECK_EQ_INT(WEXITSTATUS(st), 0);
    rn_store_t *s = NULL;
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    CHECK_EQ_INT(rn_log_open(s, 4, 0, &l), 0);
    expect_records(l, w, 8);
    rn_log_close(l);
    rn_store_close(s);
}

int main(void)
{
    if (harness_init() != 0)
        return 1;
    rn_store__pwritev = hook_pwritev;
    rn_store__fdatasync = hook_fdatasync;
    char d1[] = "/tmp/rn_store_stage_XXXXXX", d2[] = "/tmp/rn_store_stage_XXXXXX";
    char d3[] = "/tmp/rn_store_stage_XXXXXX", d4[] = "/tmp/rn_store_stage_XXXXXX";
    if (!mkdtemp(d1) || !mkdtemp(d2) || !mkdtemp(d3) || !mkdtemp(d4))
        return 1;
    test_never(d1);
    test_always(d2);
    test_journal(d3);
    test_never_journal(d4);
    rm_rf(d1);
    rm_rf(d2);
    rm_rf(d3);
    rm_rf(d4);
    return rn_test_done("test_store_stage");
}
