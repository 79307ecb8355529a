/* test_store_fdreclaim.c: a store that runs out of file descriptors asks its
 * reclaim hook for one and retries, for every file the loop thread opens for
 * a log: its segments when it is opened (recovery), a new segment at a roll, a
 * cold segment for a read (one log only: the open-file cache has no other
 * log's files to close first, test_store_fdcache). The hook stands in for main.c's
 * "close the longest-idle connection": it closes one of the descriptors the
 * test used to fill the table. Without a hook (or with nothing to free) the
 * call fails with RN_EMFILE and the log is unchanged. */
#include "store/store.h"
#include "store_harness.h"
#include "tap.h"
#include "util/buf.h"
#include "util/status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define SPARE_MAX 4096
static int spare[SPARE_MAX]; /* descriptors filling the table */
static int n_spare;
static int reclaims;
static int devnull = -1; /* what the fillers duplicate (stdin may be closed under CI) */

/* Fill the fd table: dup until EMFILE. */
static void fill_fds(void)
{
    while (n_spare < SPARE_MAX) {
        int fd = dup(devnull);
        if (fd < 0)
            break;
        spare[n_spare++] = fd;
    }
}

static void free_fds(void)
{
    while (n_spare > 0)
        close(spare[--n_spare]);
}

/* The reclaim hook: free one descriptor if there is one to free. */
static int reclaim(void *ud)
{
    (void)ud;
    if (n_spare == 0)
        return 0;
    close(spare[--n_spare]);
    reclaims++;
    return 1;
}

static int append_one(rn_store_t *s, rn_log_t *l, const char *data, size_t len)
{
    rn_record_in_t r = {.pk = (const uint8_t *)"k", .pk_len = 1, .data = (const uint8_t *)data,
                        .data_len = len};
    uint64_t first;
    int rc = rn_log_append(l, &r, 1, 1000, &first);
    if (rc)
        return rc;
    cb_t cb = {0};
    rc = rn_store_commit(s, done_cb, &cb);
    if (rc)
        return rc;
    drive(s, &cb);
    return cb.fired ? cb.status : -1000;
}

int main(void)
{
    CHECK(harness_init() == 0);
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(devnull >= 0);
    /* A low limit keeps the table small to fill. */
    struct rlimit rl = {128, 128};
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    char dir[] = "/tmp/runnel-fdreclaim-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int with_hook = 1;
    rn_store_config_t cfg = {.data_dir = dir, .fsync_mode = RN_FSYNC_NEVER, .segment_bytes = 4096,
                             .wake = wake_fn, .reclaim_fd = reclaim, .reclaim_ud = &with_hook};
    rn_store_t *s = NULL;
    const char *err = NULL;
    CHECK(rn_store_open(&s, &cfg, &err) == 0);

    /* Opening a log (its first segment) with no descriptor left. */
    fill_fds();
    CHECK(n_spare > 0);
    reclaims = 0;
    rn_log_t *l = NULL;
    CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
    CHECK(reclaims >= 1);

    /* Appends across segment rolls (4 KiB segments, 1 KiB records): each roll
     * opens a new segment, which needs a descriptor. */
    char data[1000];
    memset(data, 'x', sizeof data);
    fill_fds();
    reclaims = 0;
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(append_one(s, l, data, sizeof data), 0);
    CHECK(reclaims >= 1); /* a roll may reuse the descriptor of the segment it closes */
    CHECK_EQ_INT((int)rn_log_committed(l), 21);

    /* Reading from the first segment, closed since (cold), from a full table. */
    fill_fds();
    reclaims = 0;
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t out[4];
    size_t n = 0;
    uint64_t next = 0;
    CHECK_EQ_INT(rn_log_read(l, 1, 4, 1 << 20, &scratch, out, &n, &next), 0);
    CHECK(n >= 1);
    CHECK(reclaims >= 1);
    rn_buf_dispose(&scratch);

    /* Nothing left to free: the roll fails with RN_EMFILE and the log keeps
     * its counters (the records that failed are not there). */
    fill_fds();
    int keep[SPARE_MAX];
    int nkeep = n_spare;
    memcpy(keep, spare, sizeof(int) * (size_t)n_spare);
    n_spare = 0; /* the hook finds nothing to free */
    uint64_t before = rn_log_next(l);
    int rc = 0;
    for (int i = 0; i < 8 && rc == 0; i++)
        rc = append_one(s, l, data, sizeof data);
    CHECK_EQ_INT(rc, RN_EMFILE);
    CHECK((int)rn_log_committed(l) >= 21);
    for (int i = 0; i < nkeep; i++)
        close(keep[i]);
    /* With descriptors again, appends go on from where the log stands. */
    CHECK_EQ_INT(append_one(s, l, data, sizeof data), 0);
    CHECK(rn_log_next(l) > before);

    free_fds();
    close(devnull);
    rn_log_close(l);
    rn_store_close(s);
    rm_rf(dir);
    return rn_test_done("test_store_fdreclaim");
}
