/* test_store_journal.c: the store-wide commit journal (docs/storage.md, "Commit journal").
 *
 *  1. One commit over NLOGS logs is one fdatasync (the journal's), whatever
 *     the number of logs; the records are readable after it.
 *  2. The journal's fdatasync fails: the waiter gets RN_EIO, no log of the
 *     batch shows its records, and every one of them refuses appends.
 *  3. Recovery: a process appends and commits, then dies without closing
 *     (_exit, as kill -9); the segment files then lose what the checkpoint
 *     had not synced (we cut them to zero bytes, as a power cut may): the
 *     next open replays the journal and every acknowledged record is back,
 *     once, in order, with its bytes; it opens again cleanly after that.
 *  4. A removed log stays removed: its records were journaled before the
 *     removal, and the replay does not bring its files back.
 *  5. A clean close leaves nothing to replay (the final checkpoint), and
 *     recycled journal files (stale records of an older sequence number)
 *     never pass for new ones.
 *  6. Rolling: with 1 MiB journal files, enough appends span several files
 *     (END records chain them), and the replay follows the chain.
 *  7. Migration: a data directory written by the engine before the journal
 *     (no journal/ directory) opens under it with every record, and grows. */
#include "store/store.h"
#include "store/store_int.h"
#include "util/status.h"
#include "util/buf.h"
#include "tap.h"
#include "store_harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define NLOGS 6

static _Atomic int syncs;
static _Atomic ino_t fail_ino; /* fail (EIO) the fdatasync of this inode; 0: none */

static int hook_fdatasync(int fd)
{
    struct stat st;
    atomic_fetch_add(&syncs, 1);
    if (atomic_load(&fail_ino) && fstat(fd, &st) == 0 && st.st_ino == atomic_load(&fail_ino)) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

static void put(rn_log_t *l, const char *tag, int i, size_t len)
{
    char pk[32], data[4096];
    int n = snprintf(pk, sizeof pk, "%s-%d", tag, i);
    memset(data, 'a' + i % 26, sizeof data);
    int m = snprintf(data, sizeof data, "%s/%d/", tag, i);
    (void)m;
    rn_record_in_t r = {(const uint8_t *)pk, (size_t)n, (const uint8_t *)data, len, (uint8_t)(i & 0xff)};
    uint64_t first = 0;
    CHECK_EQ_INT(rn_log_append(l, &r, 1, 1000 + i, &first), 0);
}

/* The log holds exactly records tag-0 .. tag-(n-1) of length len. */
static void expect_log(rn_log_t *l, const char *tag, int n, size_t len)
{
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t out[64];
    int seen = 0;
    uint64_t from = rn_log_first(l);
    for (;;) {
        size_t got = 0;
        uint64_t next = 0;
        rn_buf_reset(&scratch);
        CHECK_EQ_INT(rn_log_read(l, from, 64, SIZE_MAX, &scratch, out, &got, &next), 0);
        if (got == 0)
            break;
        for (size_t k = 0; k < got; k++, seen++) {
            char pk[32], head[32];
            int pn = snprintf(pk, sizeof pk, "%s-%d", tag, seen);
            int hn = snprintf(head, sizeof head, "%s/%d/", tag, seen);
            CHECK_EQ_INT(out[k].counter, (uint64_t)seen + 1);
            CHECK(out[k].pk_len == (size_t)pn && memcmp(out[k].pk, pk, (size_t)pn) == 0);
            CHECK_EQ_INT(out[k].data_len, len);
            CHECK(out[k].data_len >= (size_t)hn && memcmp(out[k].data, head, (size_t)hn) == 0);
            CHECK_EQ_INT(out[k].flags, seen & 0xff);
            CHECK_EQ_INT(out[k].arrival_ms, 1000 + seen);
        }
        from = next;
    }
    CHECK_EQ_INT(seen, n);
    rn_buf_dispose(&scratch);
}

static rn_store_t *open_store(const char *dir, uint64_t jbytes)
{
    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_ALWAYS, .wake = wake_fn,
                             .segment_bytes = 64 << 10, .journal_bytes = jbytes};
    rn_store_t *s = NULL;
    const char *msg = NULL;
    int rc = rn_store_open(&s, &cfg, &msg);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "open: %s\n", msg ? msg : "?");
    return s;
}

static void commit_wait(rn_store_t *s, int want)
{
    cb_t c = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &c), 0);
    drive(s, &c);
    CHECK_EQ_INT(c.fired, 1);
    CHECK_EQ_INT(c.status, want);
}

/* Cut every segment file of the data dir to zero bytes (what a power cut
 * may leave of data never fdatasynced). */
static int cut_segments(const char *dir)
{
    char cmd[600];
    (void)snprintf(cmd, sizeof cmd, "find '%s/logs' -name '*.seg' -exec truncate -s 0 {} +", dir);
    return system(cmd);
}

/* Journal files in dir that are live (not spares). */
static int count_live(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l == 24 && strcmp(de->d_name + 20, ".jnl") == 0)
            n++;
    }
    (void)closedir(d);
    return n;
}

static void test_one_sync(const char *dir)
{
    rn_store_t *s = open_store(dir, 0);
    CHECK(s->jnl.on);
    rn_log_t *logs[NLOGS];
    for (uint32_t i = 0; i < NLOGS; i++)
        CHECK_EQ_INT(rn_log_open(s, 1, i, &logs[i]), 0);
    /* 1. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NLOGS; i++)
            put(logs[i], "t", round, 100);
        atomic_store(&syncs, 0);
        commit_wait(s, 0);
        CHECK_EQ_INT(atomic_load(&syncs), 1);
    }
    for (int i = 0; i < NLOGS; i++)
        expect_log(logs[i], "t", 3, 100);
    /* 2. */
    struct stat st;
    CHECK(fstat(s->jnl.fd, &st) == 0);
    atomic_store(&fail_ino, st.st_ino);
    for (int i = 0; i < NLOGS; i++)
        put(logs[i], "t", 3, 100);
    commit_wait(s, RN_EIO);
    atomic_store(&fail_ino, 0);
    for (int i = 0; i < NLOGS; i++) {
        CHECK_EQ_INT(rn_log_committed(logs[i]), 4);
        expect_log(logs[i], "t", 3, 100);
        rn_record_in_t r = {(const uint8_t *)"k", 1, (const uint8_t *)"d", 1, 0};
        uint64_t first;
        CHECK(rn_log_append(logs[i], &r, 1, 5000, &first) != 0);
    }
    for (int i = 0; i < NLOGS; i++)
        rn_log_close(logs[i]);
    rn_store_close(s);
}

/* The child: write, commit, remove log 5, and die without closing. */
static void crash_child(const char *dir, int nrec, size_t len, uint64_t jbytes)
{
    rn_store__no_checkpoints = 1; /* so nothing of the segments is synced: we cut them */
    rn_store_t *s = open_store(dir, jbytes);
    rn_log_t *a, *b, *gone;
    if (rn_log_open(s, 3, 0, &a) || rn_log_open(s, 3, 1, &b) || rn_log_open(s, 5, 0, &gone))
        _exit(2);
    for (int i = 0; i < nrec; i++) {
        put(a, "a", i, len);
        put(b, "b", i, len / 2);
        put(gone, "g", i, len);
        if (i % 7 == 6)
            commit_wait(s, 0);
    }
    commit_wait(s, 0);
    rn_log_close(gone);
    if (rn_store_log_remove(s, 5, -1) != 0)
        _exit(3);
    _exit(rn_test_failures ? 4 : 0);
}

static void test_recovery(const char *dir, int nrec, size_t len, uint64_t jbytes)
{
    pid_t pid = fork();
    if (pid == 0)
        crash_child(dir, nrec, len, jbytes);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char jdir[512];
    (void)snprintf(jdir, sizeof jdir, "%s/journal", dir);
    if (jbytes)
        CHECK(count_live(jdir) >= 2); /* rolled: the replay must follow the chain */
    CHECK_EQ_INT(cut_segments(dir), 0);
    /* 3. */
    for (int pass = 0; pass < 2; pass++) {
        rn_store_t *s = open_store(dir, jbytes);
        rn_log_t *a, *b;
        CHECK_EQ_INT(rn_log_open(s, 3, 0, &a), 0);
        CHECK_EQ_INT(rn_log_open(s, 3, 1, &b), 0);
        expect_log(a, "a", nrec, len);
        expect_log(b, "b", nrec, len / 2);
        /* 4. */
        char gone[512];
        (void)snprintf(gone, sizeof gone, "%s/logs/5", dir);
        struct stat st;
        CHECK(stat(gone, &st) != 0 && errno == ENOENT);
        rn_log_close(a);
        rn_log_close(b);
        rn_store_close(s);
        /* 5. A clean close: the journal is folded; what is left replays nothing. */
        CHECK_EQ_INT(count_live(jdir), 0);
    }
}

static void test_migration(const char *dir)
{
    rn_store_config_t old = {.data_dir = dir, .fsync_mode = RN_FSYNC_ALWAYS, .wake = wake_fn,
                             .no_journal = 1};
    rn_store_t *s = NULL;
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_store_open(&s, &old, NULL), 0);
    CHECK(!s->jnl.on);
    CHECK_EQ_INT(rn_log_open(s, 8, 0, &l), 0);
    for (int i = 0; i < 10; i++)
        put(l, "m", i, 500);
    commit_wait(s, 0);
    rn_log_close(l);
    rn_store_close(s);
    char jdir[512];
    (void)snprintf(jdir, sizeof jdir, "%s/journal", dir);
    struct stat st;
    CHECK(stat(jdir, &st) != 0 && errno == ENOENT);
    s = open_store(dir, 0);
    CHECK(s->jnl.on);
    CHECK_EQ_INT(rn_log_open(s, 8, 0, &l), 0);
    expect_log(l, "m", 10, 500);
    for (int i = 10; i < 20; i++)
        put(l, "m", i, 500);
    commit_wait(s, 0);
    expect_log(l, "m", 20, 500);
    rn_log_close(l);
    rn_store_close(s);
}

int main(void)
{
    if (harness_init() != 0)
        return 1;
    rn_store__fdatasync = hook_fdatasync;
    char dir[] = "/tmp/rn_store_journal_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_one_sync(dir);
    rm_rf(dir);
    CHECK(mkdir(dir, 0755) == 0);
    test_recovery(dir, 40, 1000, 0);
    rm_rf(dir);
    CHECK(mkdir(dir, 0755) == 0);
    test_recovery(dir, 300, 3000, 1u << 20); /* 6. ~2.2 MiB through 1 MiB files */
    rm_rf(dir);
    CHECK(mkdir(dir, 0755) == 0);
    test_migration(dir);
    rm_rf(dir);
    rn_store__fdatasync = fdatasync;
    return rn_test_done("test_store_journal");
}
