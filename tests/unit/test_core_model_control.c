/* test_core_model_control.c: the registry's control-plane state: retention
 * cutoffs (the floor left by a retention increase), rn_shard_expired, tag
 * sets, persistence of every new stream field and of account settings
 * through a reopen of the registry on a memory store, rn_shard_log
 * applying the retention to the log, and shard-id formatting against
 * snprintf. */
#include "core/model.h"
#include "core/errors.h"
#include "store/store.h"
#include "util/clock.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR 3600000LL

static void wake(void *ud)
{
    (void)ud;
}

static void test_retention(void)
{
    rn_stream_t s;
    memset(&s, 0, sizeof s);
    s.retention_hours = 24;
    int64_t now = 1000 * HOUR;
    CHECK_EQ_INT(rn_stream_trim_cutoff(&s, now), now - 24 * HOUR);
    rn_stream_set_retention(&s, 48, now); /* growing: the old cutoff becomes the floor */
    CHECK_EQ_INT(s.retention_hours, 48);
    CHECK_EQ_INT(rn_stream_trim_cutoff(&s, now), now - 24 * HOUR);
    CHECK_EQ_INT(rn_stream_trim_cutoff(&s, now + 10 * HOUR), now - 24 * HOUR);
    CHECK_EQ_INT(rn_stream_trim_cutoff(&s, now + 30 * HOUR), now - 18 * HOUR);
    rn_stream_set_retention(&s, 24, now + 30 * HOUR); /* shrinking: the cutoff jumps forward */
    CHECK_EQ_INT(rn_stream_trim_cutoff(&s, now + 30 * HOUR), now + 6 * HOUR);

    rn_shard_t sh;
    memset(&sh, 0, sizeof sh);
    CHECK_EQ_INT(rn_shard_expired(&s, &sh, now + 100 * HOUR), 0); /* open: never */
    sh.closed_ms = now;
    CHECK_EQ_INT(rn_shard_expired(&s, &sh, now + 24 * HOUR), 0);
    CHECK_EQ_INT(rn_shard_expired(&s, &sh, now + 24 * HOUR + 1), 1);
}

static void test_tagset(void)
{
    rn_tagset_t t = {0};
    CHECK_EQ_INT(rn_tagset_put(&t, "m", "1"), 0);
    CHECK_EQ_INT(rn_tagset_put(&t, "a", "2"), 0);
    CHECK_EQ_INT(rn_tagset_put(&t, "z", "3"), 0);
    CHECK_EQ_INT(rn_tagset_put(&t, "m", "4"), 0);
    CHECK_EQ_INT(t.n, 3);
    CHECK_EQ_STR(t.v[0].key, "a");
    CHECK_EQ_STR(t.v[1].value, "4");
    CHECK_EQ_STR(t.v[2].key, "z");
    rn_tagset_t u;
    CHECK_EQ_INT(rn_tagset_clone(&t, &u), 0);
    rn_tagset_del(&u, "a");
    rn_tagset_del(&u, "nope");
    CHECK_EQ_INT(u.n, 2);
    CHECK_EQ_INT(t.n, 3);
    CHECK(rn_tagset_find(&u, "a") == NULL);
    CHECK_EQ_STR(rn_tagset_find(&u, "z")->value, "3");
    rn_tagset_dispose(&u);
    rn_tagset_dispose(&t);
    CHECK_EQ_INT(t.n, 0);
}

static void test_persistence(void)
{
    rn_store_config_t scfg = {.in_memory = 1, .fsync_mode = RN_FSYNC_NEVER, .wake = wake};
    rn_store_t *st;
    const char *err;
    CHECK_EQ_INT(rn_store_open(&st, &scfg, &err), 0);
    rn_registry_config_t rcfg = {0};
    rn_registry_t *r;
    CHECK_EQ_INT(rn_registry_open(&r, st, &rcfg), 0);
    int64_t now = rn_now_ms();
    rn_stream_t *s;
    CHECK_EQ_INT(rn_registry_create(r, "111111111111", "eu-west-1", "s", 1, 1, now, &s), 0);
    rn_stream_set_retention(s, 48, now);
    s->metrics = 0x5;
    s->distribution_auto = 1;
    s->warm_mibps = 77;
    s->policy = strdup("{\"Version\":\"1\"}");
    rn_tagset_t next = {0};
    CHECK_EQ_INT(rn_tagset_put(&next, "k", "v"), 0);
    CHECK_EQ_INT(rn_registry_save_tags(r, s, &next), 0);
    rn_account_settings_t as = {RN_COMMITMENT_ENABLED_UNTIL_EARLIEST_ALLOWED_END, now - 10, now + 1000, now + 1000, 0};
    CHECK_EQ_INT(rn_account_settings_put(r, "111111111111", "eu-west-1", &as), 0);

    /* A record older than the retention is trimmed by rn_shard_log. */
    rn_log_t *l;
    CHECK_EQ_INT(rn_log_open(st, s->id, 0, &s->shards[0].log), 0);
    l = s->shards[0].log;
    uint8_t d = 1;
    rn_record_in_t rec = {.pk = &d, .pk_len = 1, .data = &d, .data_len = 1};
    uint64_t first;
    CHECK_EQ_INT(rn_log_append(l, &rec, 1, now - 50 * HOUR, &first), 0);
    CHECK_EQ_INT(rn_log_append(l, &rec, 1, now - 1 * HOUR, &first), 0);
    CHECK_EQ_INT(rn_shard_log(r, s, &s->shards[0], &l), 0);
    CHECK_EQ_INT(rn_log_first(l), 2);

    rn_registry_close(r);
    CHECK_EQ_INT(rn_registry_open(&r, st, &rcfg), 0);
    s = rn_registry_find(r, "111111111111", "eu-west-1", "s");
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(s->retention_hours, 48);
        CHECK(s->trim_floor_ms > 0);
        CHECK_EQ_INT(s->metrics, 0x5);
        CHECK_EQ_INT(s->distribution_auto, 1);
        CHECK_EQ_INT(s->warm_mibps, 77);
        CHECK_EQ_STR(s->policy, "{\"Version\":\"1\"}");
        CHECK_EQ_INT(s->tags.n, 1);
        if (s->tags.n)
            CHECK_EQ_STR(s->tags.v[0].key, "k");
    }
    rn_account_settings_t got;
    CHECK_EQ_INT(rn_account_settings_get(r, "111111111111", "eu-west-1", now, &got), 0);
    CHECK_EQ_INT(got.status, RN_COMMITMENT_ENABLED_UNTIL_EARLIEST_ALLOWED_END);
    CHECK_EQ_INT(rn_account_settings_get(r, "111111111111", "eu-west-1", now + 2000, &got), 0);
    CHECK_EQ_INT(got.status, RN_COMMITMENT_DISABLED);
    CHECK_EQ_INT(got.ended_ms, now + 1000);
    CHECK_EQ_INT(rn_account_settings_get(r, "222222222222", "eu-west-1", now, &got), 0);
    CHECK_EQ_INT(got.status, RN_COMMITMENT_DISABLED);
    CHECK_EQ_INT(got.started_ms, 0);
    rn_registry_close(r);
    rn_store_close(st);
}

/* Indexes (name, id, account listing, open-shard counts) agree with the
 * streams; an unreadable document is kept aside and its id never reused;
 * a deleted stream's id is not reused after a reopen (high-water mark);
 * deleting removes the logs without opening them. */
static void test_ids_and_indexes(void)
{
    rn_store_config_t scfg = {.in_memory = 1, .fsync_mode = RN_FSYNC_NEVER, .wake = wake};
    rn_store_t *st;
    const char *err;
    CHECK_EQ_INT(rn_store_open(&st, &scfg, &err), 0);
    rn_registry_config_t rcfg = {0};
    rn_registry_t *r;
    CHECK_EQ_INT(rn_registry_open(&r, st, &rcfg), 0);
    int64_t now = rn_now_ms();
    rn_stream_t *a, *b, *c, *d;
    CHECK_EQ_INT(rn_registry_create(r, "111111111111", "eu-west-1", "b", 2, 0, now, &a), 0);
    CHECK_EQ_INT(rn_registry_create(r, "111111111111", "eu-west-1", "a", 3, 0, now, &b), 0);
    CHECK_EQ_INT(rn_registry_create(r, "222222222222", "eu-west-1", "a", 1, 0, now, &c), 0);
    CHECK(rn_registry_find(r, "111111111111", "eu-west-1", "a") == b);
    CHECK(rn_registry_find(r, "222222222222", "eu-west-1", "a") == c);
    CHECK(rn_registry_find(r, "111111111111", "us-east-1", "a") == NULL);
    CHECK(rn_registry_find_id(r, a->id) == a);
    CHECK_EQ_INT(rn_registry_open_shard_count(r, "111111111111", "eu-west-1"), 5);
    CHECK_EQ_INT(rn_registry_open_shard_count(r, "222222222222", "eu-west-1"), 1);
    rn_stream_t **v;
    size_t n;
    CHECK_EQ_INT(rn_registry_list(r, "111111111111", "eu-west-1", &v, &n), 0);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK(v[0] == b);
        CHECK(v[1] == a);
    }
    free(v);

    /* Records in c's log; then c is deleted: its log goes without being opened. */
    rn_log_t *l;
    CHECK_EQ_INT(rn_shard_log(r, c, &c->shards[0], &l), 0);
    uint8_t byte = 1;
    rn_record_in_t rec = {.pk = &byte, .pk_len = 1, .data = &byte, .data_len = 1};
    uint64_t first;
    CHECK_EQ_INT(rn_log_append(l, &rec, 1, now, &first), 0);
    uint64_t c_id = c->id;
    CHECK_EQ_INT(rn_registry_delete(r, c, now), 0);
    CHECK(rn_registry_find_id(r, c_id) == NULL);
    CHECK(rn_registry_find(r, "222222222222", "eu-west-1", "a") == NULL);
    CHECK_EQ_INT(rn_registry_open_shard_count(r, "222222222222", "eu-west-1"), 0);
    CHECK_EQ_INT(rn_log_open(st, c_id, 0, &l), 0);
    CHECK_EQ_INT(rn_log_next(l), 1); /* nothing left */
    rn_log_destroy(l);

    /* b's document becomes unreadable. */
    char key[64];
    snprintf(key, sizeof key, "stream/%020llu", (unsigned long long)b->id);
    uint64_t b_id = b->id;
    CHECK_EQ_INT(rn_store_kv_put(st, key, "{bad", 4), 0);
    rn_registry_close(r);
    CHECK_EQ_INT(rn_registry_open(&r, st, &rcfg), 0);
    CHECK(rn_registry_find(r, "111111111111", "eu-west-1", "a") == NULL);
    CHECK(rn_registry_find(r, "111111111111", "eu-west-1", "b") != NULL);
    CHECK_EQ_INT(rn_registry_create(r, "333333333333", "eu-west-1", "x", 1, 0, now, &d), 0);
    CHECK(d->id > b_id);
    CHECK(d->id > c_id);
    void *val = NULL;
    size_t len = 0;
    CHECK_EQ_INT(rn_store_kv_get(st, key, &val, &len), 0);
    CHECK(len == 4 && memcmp(val, "{bad", 4) == 0); /* kept as it was */
    free(val);

    /* The newest stream is deleted; after a reopen its id is still taken. */
    uint64_t d_id = d->id;
    CHECK_EQ_INT(rn_registry_delete(r, d, now), 0);
    rn_registry_close(r);
    CHECK_EQ_INT(rn_registry_open(&r, st, &rcfg), 0);
    CHECK_EQ_INT(rn_registry_create(r, "333333333333", "eu-west-1", "x", 1, 0, now, &d), 0);
    CHECK(d->id > d_id);
    rn_registry_close(r);
    rn_store_close(st);
}

/* rn_format_shard_id writes what snprintf("shardId-%012u") wrote, and
 * truncates like it. */
static void test_shard_id(void)
{
    static const uint32_t idx[] = {0, 7, 42, 999999999, 1000000000, 2147483647, 4294967295u};
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
        char want[32], got[32];
        snprintf(want, sizeof want, "shardId-%012u", idx[i]);
        memset(got, 'x', sizeof got);
        CHECK_EQ_INT(rn_format_shard_id(idx[i], got, sizeof got), RN_SHARD_ID_LEN);
        CHECK_EQ_STR(got, want);
        for (size_t cap = 1; cap <= RN_SHARD_ID_LEN + 1; cap++) {
            char tw[32], tg[32];
            memset(tg, 'x', sizeof tg);
            snprintf(tw, cap, "shardId-%012u", idx[i]);
            rn_format_shard_id(idx[i], tg, cap);
            CHECK_EQ_STR(tg, tw);
            CHECK(tg[cap] == 'x'); /* nothing written past cap */
        }
    }
}

int main(void)
{
    test_shard_id();
    test_retention();
    test_tagset();
    test_persistence();
    test_ids_and_indexes();
    return rn_test_done("test_core_model_control");
}
