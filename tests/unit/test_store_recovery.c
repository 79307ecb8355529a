/* test_store_recovery.c: what rn_log_open finds after damage or a crash.
 *  (a) garbage and a half frame after the last frame: cut, all committed
 *      records read back, counters continue;
 *  (b) a flipped byte in the last frame's data: the CRC catches it, that
 *      frame (and anything after) is dropped;
 *  (c) an empty trailing segment after a torn segment: both repaired;
 *  (d) a bad frame inside a sealed segment: reads reaching it fail with
 *      RN_ECORRUPT, the rest of the log still reads;
 *  (e) a forked writer (fsync always) killed with SIGKILL: every record it
 *      reported committed is there, in order, intact. */
#include "store/store.h"
#include "core/errors.h"
#include "util/buf.h"
#include "store_harness.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int commit_wait(rn_store_t *s)
{
    cb_t cb = {0, 1};
    if (rn_store_commit(s, done_cb, &cb) != 0)
        return -100;
    drive(s, &cb);
    return cb.fired == 1 ? cb.status : -101;
}

static rn_store_t *open_store(const char *dir, uint64_t segment_bytes)
{
    rn_store_config_t cfg = {.data_dir = dir,
                             .fsync_mode = RN_FSYNC_ALWAYS,
                             .segment_bytes = segment_bytes,
                             .wake = wake_fn};
    rn_store_t *s = NULL;
    const char *err = NULL;
    if (rn_store_open(&s, &cfg, &err) != 0) {
        fprintf(stderr, "open %s: %s\n", dir, err ? err : "?");
        return NULL;
    }
    return s;
}

/* Record c: pk "k<c>", data of c % 200 + 1 bytes derived from c. */
static size_t make_rec(uint64_t c, char *pk, size_t pkcap, uint8_t *data)
{
    size_t dl = (size_t)(c % 200) + 1;
    for (size_t j = 0; j < dl; j++)
        data[j] = (uint8_t)(c ^ (j * 5));
    int n = snprintf(pk, pkcap, "k%llu", (unsigned long long)c);
    (void)n;
    return dl;
}

static int append_n(rn_log_t *l, size_t n, int64_t ts)
{
    rn_record_in_t recs[32];
    static uint8_t data[32][256];
    static char pk[32][24];
    uint64_t c0 = rn_log_next(l);
    for (size_t i = 0; i < n; i++) {
        size_t dl = make_rec(c0 + i, pk[i], sizeof pk[i], data[i]);
        recs[i] = (rn_record_in_t){(const uint8_t *)pk[i], strlen(pk[i]), data[i], dl, 0};
    }
    uint64_t first = 0;
    int rc = rn_log_append(l, recs, n, ts, &first);
    return rc ? rc : (first == c0 ? 0 : -200);
}

/* Read [1, upto) and verify every record; returns the number of good ones. */
static uint64_t verify_all(rn_log_t *l, uint64_t upto)
{
    static rn_record_out_t out[512];
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    uint64_t c = 1;
    for (;;) {
        size_t n = 0;
        uint64_t next = 0;
        rn_buf_reset(&scratch);
        if (rn_log_read(l, c, 512, SIZE_MAX, &scratch, out, &n, &next) != 0 || n == 0)
            break;
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            uint8_t want[256];
            char pk[24];
            size_t dl = make_rec(c, pk, sizeof pk, want);
            ok = out[i].counter == c && out[i].data_len == dl && memcmp(out[i].data, want, dl) == 0 &&
                 out[i].pk_len == strlen(pk) && memcmp(out[i].pk, pk, out[i].pk_len) == 0;
            if (ok)
                c++;
        }
        if (!ok || c >= upto)
            break;
    }
    rn_buf_dispose(&scratch);
    return c - 1;
}

/* Path of the newest (or, with nth_from_end = 1, the one before) segment of log 1/0. */
static int segment_path(const char *dir, int nth_from_end, char *out, size_t cap)
{
    char d[512];
    (void)snprintf(d, sizeof d, "%s/logs/1/0", dir);
    DIR *dp = opendir(d);
    if (!dp)
        return -1;
    char names[256][32];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL && n < 256)
        if (strlen(de->d_name) == 24 && strstr(de->d_name, ".seg"))
            memcpy(names[n++], de->d_name, 25);
    (void)closedir(dp);
    if (n <= nth_from_end)
        return -1;
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    (void)snprintf(out, cap, "%s/%s", d, names[n - 1 - nth_from_end]);
    return n;
}

static off_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void append_bytes(const char *p, const void *b, size_t n)
{
    int fd = open(p, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK_EQ_INT(write(fd, b, n), (ssize_t)n);
    (void)close(fd);
}

/* Fill log 1/0 of a fresh store in dir with `batches` committed batches. */
static uint64_t seed(const char *dir, uint64_t segment_bytes, int batches)
{
    rn_store_t *s = open_store(dir, segment_bytes);
    CHECK(s != NULL);
    if (!s)
        return 0;
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
    for (int b = 0; b < batches; b++)
        CHECK_EQ_INT(append_n(l, 5, 100 + b), 0);
    CHECK_EQ_INT(commit_wait(s), 0);
    uint64_t next = rn_log_next(l);
    rn_log_close(l);
    rn_store_close(s);
    return next;
}

static void test_torn_tail(void)
{
    char dir[] = "/tmp/rn_store_rec_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    uint64_t next = seed(dir, 1 << 20, 10);
    CHECK_EQ_INT(next, 51);
    char seg[600];
    CHECK(segment_path(dir, 0, seg, sizeof seg) == 1);
    off_t good = file_size(seg);
    /* a half frame: a plausible header claiming more bytes than follow */
    uint8_t half[40] = {0};
    half[0] = 200; /* len = 200 */
    half[8] = 51;  /* counter 51 */
    append_bytes(seg, half, sizeof half);
    append_bytes(seg, "garbage!", 8);
    rn_store_t *s = open_store(dir, 1 << 20);
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
    CHECK_EQ_INT(file_size(seg), good);
    CHECK_EQ_INT(rn_log_next(l), 51);
    CHECK_EQ_INT(rn_log_committed(l), 51);
    CHECK_EQ_INT(rn_log_last_arrival(l), 109);
    CHECK_EQ_INT(verify_all(l, 51), 50);
    CHECK_EQ_INT(append_n(l, 3, 200), 0);
    CHECK_EQ_INT(commit_wait(s), 0);
    CHECK_EQ_INT(verify_all(l, 54), 53);
    rn_log_close(l);
    rn_store_close(s);

    /* Only garbage (length 0xffffffff) after the frames. */
    memset(half, 0xff, sizeof half);
    append_bytes(seg, half, sizeof half);
    s = open_store(dir, 1 << 20);
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
    CHECK_EQ_INT(rn_log_next(l), 54);
    CHECK_EQ_INT(verify_all(l, 54), 53);
    rn_log_close(l);
    rn_store_close(s);
    rm_rf(dir);
}

static void test_flipped_byte(void)
{
    char dir[] = "/tmp/rn_store_rec_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    uint64_t next = seed(dir, 1 << 20, 4);
    CHECK_EQ_INT(next, 21);
    char seg[600];
    CHECK(segment_path(dir, 0, seg, sizeof seg) == 1);
    off_t size = file_size(seg);
    /* record 20 has 20 % 200 + 1 = 21 data bytes, the file's last bytes */
    int fd = open(seg, O_RDWR);
    CHECK(fd >= 0);
    uint8_t b = 0;
    CHECK_EQ_INT(pread(fd, &b, 1, size - 5), 1);
    b ^= 0x10;
    CHECK_EQ_INT(pwrite(fd, &b, 1, size - 5), 1);
    (void)close(fd);
    rn_store_t *s = open_store(dir, 1 << 20);
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
    CHECK_EQ_INT(rn_log_next(l), 20);
    CHECK_EQ_INT(rn_log_committed(l), 20);
    CHECK_EQ_INT(file_size(seg), size - (28 + 3 + 21)); /* frame 20: header, "k20", data */
    CHECK_EQ_INT(verify_all(l, 20), 19);
    CHECK_EQ_INT(append_n(l, 2, 1), 0);
    CHECK_EQ_INT(commit_wait(s), 0);
    CHECK_EQ_INT(verify_all(l, 22), 21);
    rn_log_close(l);
    rn_store_close(s);
    rm_rf(dir);
}

static void test_empty_trailing_segment(void)
{
    char dir[] = "/tmp/rn_store_rec_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    uint64_t next = seed(dir, 1024, 20);
    CHECK_EQ_INT(next, 101);
    char last[600], prev[600];
    int nseg = segment_path(dir, 0, last, sizeof last);
    CHECK(nseg > 3);
    /* Pretend a crash right after a roll: a new empty segment, and the
     * previous one torn. */
    off_t lsize = file_size(last);
    CHECK(truncate(last, lsize - 3) == 0);
    char empty[700];
    (void)snprintf(empty, sizeof empty, "%s/logs/1/0/%020llu.seg", dir, 101ULL);
    int fd = open(empty, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    (void)close(fd);
    CHECK(segment_path(dir, 1, prev, sizeof prev) == nseg + 1);
    CHECK_EQ_STR(prev, last);
    rn_store_t *s = open_store(dir, 1024);
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
    CHECK_EQ_INT(rn_log_next(l), 100);
    CHECK_EQ_INT(file_size(empty), -1); /* removed */
    CHECK_EQ_INT(verify_all(l, 100), 99);
    CHECK_EQ_INT(append_n(l, 30, 1), 0); /* rolls again */
    CHECK_EQ_INT(commit_wait(s), 0);
    CHECK_EQ_INT(verify_all(l, 130), 129);
    rn_log_close(l);
    rn_store_close(s);
    rm_rf(dir);
}

static void test_sealed_corruption(void)
{
    char dir[] = "/tmp/rn_store_rec_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    uint64_t next = seed(dir, 1024, 20);
    CHECK_EQ_INT(next, 101);
    char first[600];
    int nseg = segment_path(dir, 0, first, sizeof first);
    CHECK(nseg > 3);
    CHECK(segment_path(dir, nseg - 1, first, sizeof first) == nseg); /* the oldest */
    int fd = open(first, O_RDWR);
    uint8_t b = 0;
    CHECK_EQ_INT(pread(fd, &b, 1, 30), 1); /* frame 1: 28-byte header, "k1", then its data */
    b ^= 1;
    CHECK_EQ_INT(pwrite(fd, &b, 1, 30), 1);
    (void)close(fd);
    rn_store_t *s = open_store(dir, 1024);
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
    CHECK_EQ_INT(rn_log_next(l), 101); /* a sealed segment is never cut */
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t out[8];
    size_t n = 0;
    uint64_t nx = 0;
    CHECK_EQ_INT(rn_log_read(l, 1, 8, SIZE_MAX, &scratch, out, &n, &nx), RN_ECORRUPT);
    rn_buf_reset(&scratch);
    CHECK_EQ_INT(rn_log_read(l, 2, 8, SIZE_MAX, &scratch, out, &n, &nx), 0);
    CHECK(n > 0 && out[0].counter == 2);
    rn_buf_dispose(&scratch);
    rn_log_close(l);
    rn_store_close(s);
    rm_rf(dir);
}

/* The child appends and commits forever, reporting each committed counter. */
static void child_writer(const char *dir, int report_fd)
{
    if (harness_init() != 0)
        _exit(2);
    rn_store_t *s = open_store(dir, 16384);
    if (!s)
        _exit(3);
    rn_log_t *l = NULL;
    if (rn_log_open(s, 1, 0, &l) != 0)
        _exit(4);
    for (int64_t ts = 1;; ts++) {
        if (append_n(l, 1 + (size_t)(ts % 17), ts) != 0)
            _exit(5);
        if (commit_wait(s) != 0)
            _exit(6);
        uint64_t committed = rn_log_committed(l) - 1;
        if (write(report_fd, &committed, sizeof committed) != (ssize_t)sizeof committed)
            _exit(7);
    }
}

static void test_kill9(void)
{
    char dir[] = "/tmp/rn_store_rec_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    for (int round = 0; round < 3; round++) {
        int pfd[2];
        CHECK(pipe(pfd) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            (void)close(pfd[0]);
            child_writer(dir, pfd[1]);
            _exit(1);
        }
        (void)close(pfd[1]);
        uint64_t last = 0, v = 0, reports = 0;
        int in_order = 1;
        /* Let it commit a while (a number of reports, not a time), then kill. */
        while (reports < 200u + 150u * (unsigned)round && read(pfd[0], &v, sizeof v) == (ssize_t)sizeof v) {
            if (v < last)
                in_order = 0;
            last = v;
            reports++;
        }
        CHECK(kill(pid, SIGKILL) == 0);
        int st = 0;
        CHECK(waitpid(pid, &st, 0) == pid);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        while (read(pfd[0], &v, sizeof v) == (ssize_t)sizeof v) {
            if (v < last)
                in_order = 0;
            last = v;
        }
        (void)close(pfd[0]);
        CHECK(in_order);
        CHECK(last > 0);

        rn_store_t *s = open_store(dir, 16384);
        CHECK(s != NULL);
        if (!s)
            break;
        rn_log_t *l = NULL;
        CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
        uint64_t next = rn_log_next(l);
        CHECK(next - 1 >= last);
        CHECK_EQ_INT(verify_all(l, next), next - 1);
        rn_log_close(l);
        rn_store_close(s);
    }
    rm_rf(dir);
}

int main(void)
{
    (void)signal(SIGPIPE, SIG_IGN);
    if (harness_init() != 0)
        return 1;
    test_torn_tail();
    test_flipped_byte();
    test_empty_trailing_segment();
    test_sealed_corruption();
    test_kill9();
    return rn_test_done("test_store_recovery");
}
