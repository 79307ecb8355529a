/* test_store_counters.c: counters reported at commit (cfg.counters_at_commit),
 * the contract a cluster backend's store keeps (store.h, rn_log_append):
 *  - without it, *first is set when the append returns;
 *  - with it, *first is 0 on return and holds the counter when the done() of
 *    a commit made after the append runs, for every log appended to, under
 *    fsync never in memory and under fsync always on disk (appends gathered
 *    until the kick), through rn_log_append and rn_log_append_now;
 *  - the counters are the ones a read gives back; a failed append reports
 *    nothing (its *first is left alone); close reports what is pending. */
#include "store/store.h"
#include "util/buf.h"
#include "util/status.h"
#include "store_harness.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seen_a, seen_b; /* the firsts as done() found them */
static uint64_t *watch_a, *watch_b;

static void done_seen(void *ud, int status)
{
    seen_a = watch_a ? *watch_a : 0;
    seen_b = watch_b ? *watch_b : 0;
    done_cb(ud, status);
}

static uint64_t read_one_counter(rn_log_t *l, uint64_t from, const char *want)
{
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    rn_record_out_t out[1];
    size_t n = 0;
    uint64_t next = 0;
    uint64_t got = 0;
    if (rn_log_read(l, from, 1, 1 << 20, &scratch, out, &n, &next) == 0 && n == 1 &&
        out[0].data_len == strlen(want) && memcmp(out[0].data, want, out[0].data_len) == 0)
        got = out[0].counter;
    rn_buf_dispose(&scratch);
    return got;
}

static void run(const char *label, const rn_store_config_t *base)
{
    fprintf(stderr, "# %s\n", label);
    rn_store_t *s = NULL;
    rn_store_config_t cfg = *base;
    cfg.counters_at_commit = 1;
    CHECK_EQ_INT(rn_store_open(&s, &cfg, NULL), 0);
    if (!s)
        return;
    CHECK_EQ_INT(rn_store_counters_at_commit(s), 1);
    rn_log_t *a = NULL, *b = NULL;
    CHECK_EQ_INT(rn_log_open(s, 7, 0, &a), 0);
    CHECK_EQ_INT(rn_log_open(s, 7, 1, &b), 0);
    rn_record_in_t r1 = {.pk = (const uint8_t *)"k", .pk_len = 1, .data = (const uint8_t *)"one", .data_len = 3};
    rn_record_in_t r2[2] = {
        {.pk = (const uint8_t *)"k", .pk_len = 1, .data = (const uint8_t *)"two", .data_len = 3},
        {.pk = (const uint8_t *)"k", .pk_len = 1, .data = (const uint8_t *)"three", .data_len = 5},
    };
    for (int round = 0; round < 3; round++) {
        uint64_t fa = 99, fb = 99;
        CHECK_EQ_INT(rn_log_append(a, &r1, 1, 1000 + round, &fa), 0);
        CHECK_EQ_INT(rn_log_append_now(b, r2, 2, 1000 + round, &fb), 0);
        CHECK_EQ_INT(fa, 0); /* not known yet */
        CHECK_EQ_INT(fb, 0);
        watch_a = &fa;
        watch_b = &fb;
        cb_t cb = {0};
        CHECK_EQ_INT(rn_store_commit(s, done_seen, &cb), 0);
        rn_store_kick(s);
        drive(s, &cb);
        CHECK_EQ_INT(cb.fired, 1);
        CHECK_EQ_INT(cb.status, 0);
        CHECK_EQ_INT(seen_a, (uint64_t)round + 1);     /* set before done() ran */
        CHECK_EQ_INT(seen_b, (uint64_t)round * 2 + 1);
        CHECK_EQ_INT(read_one_counter(a, seen_a, "one"), seen_a);
        CHECK_EQ_INT(read_one_counter(b, seen_b, "two"), seen_b);
        CHECK_EQ_INT(read_one_counter(b, seen_b + 1, "three"), seen_b + 1);
        watch_a = watch_b = NULL;
    }
    /* A failed append reports nothing. */
    uint64_t fbad = 42;
    rn_record_in_t bad = {.pk = NULL, .pk_len = 3, .data = (const uint8_t *)"x", .data_len = 1};
    CHECK(rn_log_append(a, &bad, 1, 2000, &fbad) < 0);
    cb_t cb = {0};
    CHECK_EQ_INT(rn_store_commit(s, done_cb, &cb), 0);
    rn_store_kick(s);
    drive(s, &cb);
    CHECK_EQ_INT(fbad, 42);
    /* Close reports what is still pending. */
    uint64_t flast = 0;
    CHECK_EQ_INT(rn_log_append(a, &r1, 1, 3000, &flast), 0);
    CHECK_EQ_INT(flast, 0);
    rn_log_close(a);
    rn_log_close(b);
    rn_store_close(s);
    CHECK_EQ_INT(flast, 4);
}

int main(void)
{
    CHECK_EQ_INT(harness_init(), 0);

    /* Off: set at once. */
    rn_store_t *s = NULL;
    rn_store_config_t mem = {.in_memory = 1, .fsync_mode = RN_FSYNC_NEVER, .wake = wake_fn, .defer_commit = 1};
    CHECK_EQ_INT(rn_store_open(&s, &mem, NULL), 0);
    if (s) {
        CHECK_EQ_INT(rn_store_counters_at_commit(s), 0);
        rn_log_t *l = NULL;
        CHECK_EQ_INT(rn_log_open(s, 1, 0, &l), 0);
        rn_record_in_t r = {.pk = (const uint8_t *)"k", .pk_len = 1, .data = (const uint8_t *)"d", .data_len = 1};
        uint64_t first = 0;
        CHECK_EQ_INT(rn_log_append(l, &r, 1, 1, &first), 0);
        CHECK_EQ_INT(first, 1);
        rn_log_close(l);
        rn_store_close(s);
    }

    run("memory, fsync never", &mem);

    char dir[] = "/tmp/rn-counters-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    rn_store_config_t disk = {.data_dir = dir, .fsync_mode = RN_FSYNC_ALWAYS, .wake = wake_fn, .defer_commit = 1};
    run("disk, fsync always, gathered until the kick", &disk);
    rm_rf(dir);
    return rn_test_done("test_store_counters");
}
