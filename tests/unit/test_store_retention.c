/* test_store_retention.c: rn_log_trim, on the memory backend and on disk
 * under fsync always and never, with 4 KiB segments.
 *
 * Records get arrival times 1000, 2000, ... (ten per second of "time"); a
 * trim at a cutoff must make exactly the records that arrived before it
 * unreadable (reads, time seeks and rn_log_first all start at the horizon),
 * delete the segment files holding only trimmed records (and no other), keep
 * counters ascending when everything expires (the active segment is rolled
 * and dropped), survive a reopen (the horizon is re-derived by trimming
 * again with the same cutoff; nothing expired comes back), and a cutoff that
 * goes back (a retention increase) must resurrect nothing. */
#include "store/store.h"
#include "store/store_int.h"
#include "core/errors.h"
#include "util/buf.h"
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int wake_pipe[2];

static void wake_fn(void *ud)
{
    (void)ud;
    char c = 1;
    ssize_t r = write(wake_pipe[1], &c, 1);
    (void)r;
}

static void done_cb(void *ud, int status)
{
    int *st = ud;
    *st = status;
}

static void commit_wait(rn_store_t *s)
{
    int st = 1;
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &st), 0);
    for (int i = 0; i < 1000 && st == 1; i++) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break;
        char junk[64];
        while (read(wake_pipe[0], junk, sizeof junk) > 0) {
        }
        rn_store_run_completions(s);
    }
    CHECK_EQ_INT(st, 0);
}

static rn_store_t *open_store(const char *dir, rn_fsync_mode_t mode)
{
    rn_store_config_t cfg = {
        .data_dir = dir,
        .in_memory = dir == NULL,
        .fsync_mode = mode,
        .segment_bytes = 4096,
        .wake = wake_fn,
    };
    rn_store_t *s = NULL;
    const char *err = NULL;
    int rc = rn_store_open(&s, &cfg, &err);
    CHECK_EQ_INT(rc, 0);
    return rc ? NULL : s;
}

/* Number of .seg files in the log's directory, and the smallest base. */
static int count_segments(const char *data_dir, uint64_t *min_base)
{
    char path[512];
    (void)snprintf(path, sizeof path, "%s/logs/7/0", data_dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    *min_base = UINT64_MAX;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) == 24 && strcmp(de->d_name + 20, ".seg") == 0) {
            uint64_t b = strtoull(de->d_name, NULL, 10);
            if (b < *min_base)
                *min_base = b;
            n++;
        }
    }
    (void)closedir(d);
    return n;
}

#define NREC 400 /* 400 records of ~200 bytes: about 20 segments of 4 KiB */

/* Append NREC records, one per batch, record c arriving at c * 100 ms. */
static void fill(rn_store_t *s, rn_log_t *l)
{
    uint8_t data[170];
    for (uint64_t c = 1; c <= NREC; c++) {
        memset(data, (int)(c & 0xff), sizeof data);
        rn_record_in_t r = {.pk = (const uint8_t *)"pk", .pk_len = 2, .data = data, .data_len = sizeof data};
        uint64_t first;
        CHECK_EQ_INT(rn_log_append(l, &r, 1, (int64_t)c * 100, &first), 0);
        CHECK_EQ_INT(first, c);
    }
    commit_wait(s);
}

/* The first readable record, read from rn_log_first and from counter 1. */
static void check_first(rn_log_t *l, uint64_t want)
{
    CHECK_EQ_INT(rn_log_first(l), want);
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t out[4];
    size_t n = 0;
    uint64_t next = 0;
    CHECK_EQ_INT(rn_log_read(l, 1, 4, 1 << 20, &scratch, out, &n, &next), 0);
    if (want < rn_log_committed(l)) {
        CHECK_EQ_INT(n, 4 < rn_log_committed(l) - want ? 4 : rn_log_committed(l) - want);
        if (n) {
            CHECK_EQ_INT(out[0].counter, want);
            CHECK_EQ_INT(out[0].arrival_ms, (int64_t)want * 100);
            CHECK_EQ_INT(out[0].data[0], (int)(want & 0xff));
        }
    } else {
        CHECK_EQ_INT(n, 0);
    }
    rn_buf_dispose(&scratch);
    uint64_t c = 0;
    CHECK_EQ_INT(rn_log_seek_time(l, 0, &c), 0); /* a seek before the horizon lands on it */
    CHECK_EQ_INT(c, want < rn_log_committed(l) ? want : rn_log_committed(l));
}

static void test_backend(const char *dir, rn_fsync_mode_t mode)
{
    rn_store_t *s = open_store(dir, mode);
    if (!s)
        return;
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &l), 0);
    fill(s, l);
    CHECK_EQ_INT(rn_log_first(l), 1);
    size_t nsegs0 = l->nsegs;
    CHECK(nsegs0 > 10);
    uint64_t min_base = 0;
    if (dir)
        CHECK_EQ_INT(count_segments(dir, &min_base), (int)nsegs0);

    /* Nothing before the first record: nothing changes. */
    CHECK_EQ_INT(rn_log_trim(l, 100), 0);
    check_first(l, 1);
    CHECK_EQ_INT(l->nsegs, nsegs0);

    /* Cutoff 5050 ms: records 1..50 go (record 51 arrived at 5100). */
    CHECK_EQ_INT(rn_log_trim(l, 5050), 0);
    check_first(l, 51);
    /* Every remaining segment holds a record >= 51; every dropped one did not. */
    CHECK(l->segs[0].base <= 51 && l->segs[0].end > 51);
    if (dir) {
        CHECK_EQ_INT(count_segments(dir, &min_base), (int)l->nsegs);
        CHECK_EQ_INT(min_base, l->segs[0].base);
    }
    CHECK(l->nsegs < nsegs0);

    /* The same cutoff again is the O(1) path; a smaller one resurrects nothing. */
    CHECK_EQ_INT(rn_log_trim(l, 5050), 0);
    CHECK_EQ_INT(rn_log_trim(l, 10), 0);
    check_first(l, 51);

    /* Exactly at a record's arrival: that record stays. */
    CHECK_EQ_INT(rn_log_trim(l, 20000), 0);
    check_first(l, 200);

    /* Reopen: the horizon falls back to the first segment, and trimming with
     * the same cutoff restores it; nothing expired is readable after that. */
    rn_log_close(l);
    if (dir) {
        rn_store_close(s);
        s = open_store(dir, mode);
        if (!s)
            return;
    }
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &l), 0);
    CHECK(rn_log_first(l) <= 200);
    CHECK_EQ_INT(rn_log_trim(l, 20000), 0);
    check_first(l, 200);

    /* Everything expires: the active segment is rolled and dropped; counters continue. */
    CHECK_EQ_INT(rn_log_trim(l, 1000000), 0);
    CHECK_EQ_INT(rn_log_first(l), NREC + 1);
    CHECK_EQ_INT(rn_log_next(l), NREC + 1);
    CHECK_EQ_INT(l->nsegs, 1);
    CHECK_EQ_INT(l->segs[0].base, NREC + 1);
    check_first(l, NREC + 1);
    if (dir) {
        CHECK_EQ_INT(count_segments(dir, &min_base), 1);
        CHECK_EQ_INT(min_base, NREC + 1);
    }
    /* Trimming an empty log is a no-op, repeatedly. */
    CHECK_EQ_INT(rn_log_trim(l, 2000000), 0);
    CHECK_EQ_INT(l->nsegs, 1);

    /* New records after a full trim are readable and trimmed in turn. */
    uint8_t d = 42;
    rn_record_in_t r = {.pk = (const uint8_t *)"k", .pk_len = 1, .data = &d, .data_len = 1};
    uint64_t first = 0;
    CHECK_EQ_INT(rn_log_append(l, &r, 1, 3000000, &first), 0);
    CHECK_EQ_INT(first, NREC + 1);
    commit_wait(s);
    CHECK_EQ_INT(rn_log_trim(l, 2000000), 0);
    CHECK_EQ_INT(rn_log_first(l), NREC + 1);
    CHECK_EQ_INT(rn_log_last_arrival(l), 3000000);

    /* Reopen after the full trim: the counter sequence resumes, never restarts at 1. */
    rn_log_close(l);
    if (dir) {
        rn_store_close(s);
        s = open_store(dir, mode);
        if (!s)
            return;
    }
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &l), 0);
    CHECK_EQ_INT(rn_log_first(l), NREC + 1);
    CHECK_EQ_INT(rn_log_next(l), NREC + 2);
    CHECK_EQ_INT(rn_log_trim(l, 4000000), 0);
    CHECK_EQ_INT(rn_log_first(l), NREC + 2);
    CHECK_EQ_INT(rn_log_next(l), NREC + 2);
    CHECK_EQ_INT(rn_log_destroy(l), 0);
    rn_store_close(s);
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
    test_backend(NULL, RN_FSYNC_ALWAYS);
    rn_fsync_mode_t modes[] = {RN_FSYNC_ALWAYS, RN_FSYNC_NEVER};
    for (size_t i = 0; i < 2; i++) {
        char dir[] = "/tmp/rn_store_retention_XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        test_backend(dir, modes[i]);
        rm_rf(dir);
    }
    return rn_test_done("test_store_retention");
}
