/* test_store_commit.c: group commit with parallel syncs (fsync always, disk).
 *
 * One commit spanning NLOGS logs:
 *  - the logs' fdatasyncs run in parallel (the sync thread and its helpers),
 *    and the waiter completes only after every one of them returned;
 *  - appends and commits made while a batch syncs pile into the next batch
 *    (rn_store_commit does not wait) and stay invisible until it is synced;
 *  - one log's fdatasync fails (EIO) while the others are slow: the waiter
 *    gets the error only after all syncs of the batch returned, the failed
 *    log never shows its records and is poisoned, the others are durable and
 *    readable (today's semantics: a batch's status is shared by its waiters,
 *    a log's committed watermark follows its own sync), and a later commit of
 *    the healthy logs succeeds. */
#include "store/store.h"
#include "store/store_int.h"
#include "core/errors.h"
#include "util/buf.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NLOGS 6

static int wake_pipe[2];

/* ---- the fdatasync hook ------------------------------------------------------ */
static _Atomic int in_sync;      /* syncs running right now */
static _Atomic int max_in_sync;  /* the most seen at once */
static _Atomic int syncs_done;   /* syncs returned */
static _Atomic int gate_closed;  /* 1: syncs wait until it opens */
static _Atomic int gate_waiting; /* syncs waiting at the gate */
static _Atomic long slow_us;     /* each sync sleeps this long first */
static _Atomic dev_t fail_dev;
static _Atomic ino_t fail_ino;   /* fail (EIO) the fd of this file; 0: none */

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int hook_fdatasync(int fd)
{
    int now = atomic_fetch_add(&in_sync, 1) + 1;
    int m = atomic_load(&max_in_sync);
    while (now > m && !atomic_compare_exchange_weak(&max_in_sync, &m, now)) {
    }
    if (atomic_load(&gate_closed)) {
        atomic_fetch_add(&gate_waiting, 1);
        while (atomic_load(&gate_closed))
            sleep_us(1000);
        atomic_fetch_sub(&gate_waiting, 1);
    }
    struct stat st;
    int fail = fstat(fd, &st) == 0 && atomic_load(&fail_ino) != 0 && st.st_ino == atomic_load(&fail_ino) &&
               st.st_dev == atomic_load(&fail_dev);
    int rc;
    if (fail) {
        errno = EIO;
        rc = -1;
    } else {
        long us = atomic_load(&slow_us);
        if (us)
            sleep_us(us);
        rc = fdatasync(fd);
    }
    atomic_fetch_sub(&in_sync, 1);
    atomic_fetch_add(&syncs_done, 1);
    if (rc != 0)
        errno = EIO;
    return rc;
}

static void reset_hook(void)
{
    atomic_store(&in_sync, 0);
    atomic_store(&max_in_sync, 0);
    atomic_store(&syncs_done, 0);
    atomic_store(&slow_us, 0);
    atomic_store(&fail_ino, 0);
}

/* ---- harness ------------------------------------------------------------------ */
static void wake_fn(void *ud)
{
    (void)ud;
    char c = 1;
    ssize_t r = write(wake_pipe[1], &c, 1);
    (void)r;
}

typedef struct cb {
    int fired;
    int status;
    int syncs_at_done; /* syncs_done when done() ran */
} cb_t;

static void done_cb(void *ud, int status)
{
    cb_t *c = ud;
    c->fired++;
    c->status = status;
    c->syncs_at_done = atomic_load(&syncs_done);
}

static void drive(rn_store_t *s, cb_t *cb)
{
    for (int i = 0; i < 1000 && !cb->fired; i++) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break;
        char junk[64];
        while (read(wake_pipe[0], junk, sizeof junk) > 0) {
        }
        rn_store_run_completions(s);
    }
}

static void append1(rn_log_t *l, int64_t ts)
{
    uint64_t first = 0;
    rn_record_in_t r = {(const uint8_t *)"pk", 2, (const uint8_t *)"data", 4, 0};
    CHECK_EQ_INT(rn_log_append(l, &r, 1, ts, &first), 0);
}

static size_t readable(rn_log_t *l, uint64_t from)
{
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t outs[16];
    size_t n = 0;
    uint64_t next = 0;
    CHECK_EQ_INT(rn_log_read(l, from, 16, SIZE_MAX, &scratch, outs, &n, &next), 0);
    rn_buf_dispose(&scratch);
    return n;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
    if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return 1;
    char dir[] = "/tmp/rn_store_commit_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    rn_store__fdatasync = hook_fdatasync; /* before any sync thread runs */

    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_ALWAYS, .wake = wake_fn,
                             .no_journal = 1};
    rn_store_t *s = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    CHECK(s->nworkers > 0);
    rn_log_t *logs[NLOGS];
    for (uint32_t i = 0; i < NLOGS; i++)
        CHECK_EQ_INT(rn_log_open(s, 1, i, &logs[i]), 0);

    /* 1. One commit over every log: the syncs overlap, the waiter completes
     * after the last of them. */
    reset_hook();
    atomic_store(&slow_us, 30000);
    for (int i = 0; i < NLOGS; i++)
        append1(logs[i], 1000);
    cb_t c1 = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c1), 0);
    drive(s, &c1);
    CHECK_EQ_INT(c1.fired, 1);
    CHECK_EQ_INT(c1.status, 0);
    CHECK_EQ_INT(c1.syncs_at_done, NLOGS);
    CHECK(atomic_load(&max_in_sync) >= 2);
    for (int i = 0; i < NLOGS; i++) {
        CHECK_EQ_INT(rn_log_committed(logs[i]), 2);
        CHECK_EQ_INT(readable(logs[i], 1), 1);
    }

    /* 2. Pipelining: while batch A syncs (held at the gate), appends and a
     * commit go into batch B without waiting; nothing of either is visible
     * until its batch is synced; A completes before B. */
    reset_hook();
    atomic_store(&gate_closed, 1);
    for (int i = 0; i < NLOGS; i++)
        append1(logs[i], 2000);
    cb_t ca = {0}, cbb = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &ca), 0);
    for (int i = 0; i < 1000 && atomic_load(&gate_waiting) == 0; i++)
        sleep_us(1000);
    CHECK(atomic_load(&gate_waiting) > 0); /* batch A is being synced */
    for (int i = 0; i < NLOGS; i++)
        append1(logs[i], 3000);
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cbb), 0); /* returns while A syncs */
    rn_store_run_completions(s);
    CHECK_EQ_INT(ca.fired + cbb.fired, 0);
    for (int i = 0; i < NLOGS; i++) {
        CHECK_EQ_INT(rn_log_committed(logs[i]), 2);
        CHECK_EQ_INT(rn_log_next(logs[i]), 4);
    }
    atomic_store(&gate_closed, 0);
    drive(s, &ca);
    CHECK_EQ_INT(ca.status, 0);
    drive(s, &cbb);
    CHECK_EQ_INT(cbb.fired, 1);
    CHECK_EQ_INT(cbb.status, 0);
    for (int i = 0; i < NLOGS; i++)
        CHECK_EQ_INT(readable(logs[i], 1), 3);

    /* 3. One log's fdatasync fails (at once) while the others are slow. */
    reset_hook();
    const int bad = 2;
    struct stat st;
    CHECK(fstat(logs[bad]->segs[logs[bad]->nsegs - 1].fd, &st) == 0);
    atomic_store(&fail_dev, st.st_dev);
    atomic_store(&fail_ino, st.st_ino);
    atomic_store(&slow_us, 30000);
    for (int i = 0; i < NLOGS; i++)
        append1(logs[i], 4000);
    cb_t cf = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cf), 0);
    drive(s, &cf);
    CHECK_EQ_INT(cf.fired, 1);
    CHECK_EQ_INT(cf.status, RN_EIO);
    CHECK_EQ_INT(cf.syncs_at_done, NLOGS); /* after every sync of the batch */
    CHECK_EQ_INT(rn_log_committed(logs[bad]), 4);
    CHECK_EQ_INT(readable(logs[bad], 4), 0);
    uint64_t first = 0;
    rn_record_in_t r = {(const uint8_t *)"k", 1, (const uint8_t *)"d", 1, 0};
    CHECK_EQ_INT(rn_log_append(logs[bad], &r, 1, 5000, &first), RN_EIO);
    for (int i = 0; i < NLOGS; i++) {
        if (i == bad)
            continue;
        CHECK_EQ_INT(rn_log_committed(logs[i]), 5); /* its own sync succeeded */
        CHECK_EQ_INT(readable(logs[i], 4), 1);
    }

    /* 4. The healthy logs go on; the poisoned one stays failed. */
    reset_hook();
    for (int i = 0; i < NLOGS; i++)
        if (i != bad)
            append1(logs[i], 6000);
    cb_t cg = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cg), 0);
    drive(s, &cg);
    CHECK_EQ_INT(cg.status, 0);
    for (int i = 0; i < NLOGS; i++)
        CHECK_EQ_INT(rn_log_committed(logs[i]), i == bad ? 4 : 6);

    for (int i = 0; i < NLOGS; i++)
        rn_log_close(logs[i]);
    rn_store_close(s);
    rn_store__fdatasync = fdatasync;
    rm_rf(dir);
    return rn_test_done("test_store_commit");
}
