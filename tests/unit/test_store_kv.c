/* test_store_kv.c: metadata revisions and compare-and-set (store.h):
 *  - every write, and every deletion, takes a revision larger than all before,
 *    in memory and on disk, and across a reopen (a deleted key's revision is
 *    never handed out again, even when it was the highest);
 *  - put_if(0) writes only an absent key; put_if(rev) only the value at rev;
 *    del_if(rev) deletes only the value at rev; a lost compare-and-set
 *    returns RN_ECONFLICT and changes nothing;
 *  - scan passes each value's revision;
 *  - a database written before revisions (no rev column) opens, its rows
 *    numbered, their values intact. */
#include "store/store.h"
#include "util/status.h"
#include "store_harness.h"
#include "tap.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rn_store_t *open_at(const char *dir)
{
    rn_store_config_t cfg = {.data_dir = dir, .in_memory = dir == NULL, .fsync_mode = RN_FSYNC_NEVER,
                             .wake = wake_fn};
    rn_store_t *s = NULL;
    const char *msg = NULL;
    int rc = rn_store_open(&s, &cfg, &msg);
    if (rc)
        fprintf(stderr, "open: %s\n", msg ? msg : rn_strerror(rc));
    CHECK_EQ_INT(rc, 0);
    return s;
}

static uint64_t rev_of(rn_store_t *s, const char *key, const char *want)
{
    void *v = NULL;
    size_t len = 0;
    uint64_t rev = 0;
    int rc = rn_store_kv_get_rev(s, key, &v, &len, &rev);
    if (want) {
        CHECK_EQ_INT(rc, 0);
        CHECK(v && len == strlen(want) && memcmp(v, want, len) == 0);
    } else {
        CHECK_EQ_INT(rc, RN_ENOENT);
    }
    free(v);
    return rev;
}

typedef struct seen {
    uint64_t revs[8];
    int n;
} seen_t;

static int scan_rev(void *ud, const char *key, const void *val, size_t len, uint64_t rev)
{
    (void)key;
    (void)val;
    (void)len;
    seen_t *s = ud;
    if (s->n < 8)
        s->revs[s->n++] = rev;
    return 0;
}

static void cas(rn_store_t *s)
{
    uint64_t r1 = 0, r2 = 0, r3 = 0;
    CHECK_EQ_INT(rn_store_kv_put_if(s, "k/a", "one", 3, 0, &r1), 0);
    CHECK(r1 > 0);
    CHECK_EQ_INT(rev_of(s, "k/a", "one"), r1);
    /* absent-only write of a present key: refused, value kept */
    CHECK_EQ_INT(rn_store_kv_put_if(s, "k/a", "bad", 3, 0, NULL), RN_ECONFLICT);
    CHECK_EQ_INT(rev_of(s, "k/a", "one"), r1);
    /* write at the right revision, then a stale one */
    CHECK_EQ_INT(rn_store_kv_put_if(s, "k/a", "two", 3, r1, &r2), 0);
    CHECK(r2 > r1);
    CHECK_EQ_INT(rn_store_kv_put_if(s, "k/a", "bad", 3, r1, NULL), RN_ECONFLICT);
    CHECK_EQ_INT(rev_of(s, "k/a", "two"), r2);
    /* at a revision, of an absent key */
    CHECK_EQ_INT(rn_store_kv_put_if(s, "k/none", "x", 1, r2, NULL), RN_ECONFLICT);
    rev_of(s, "k/none", NULL);
    /* a plain put takes a revision too */
    CHECK_EQ_INT(rn_store_kv_put(s, "k/b", "bee", 3), 0);
    r3 = rev_of(s, "k/b", "bee");
    CHECK(r3 > r2);
    /* conditional delete */
    CHECK_EQ_INT(rn_store_kv_del_if(s, "k/a", r1), RN_ECONFLICT);
    CHECK_EQ_INT(rev_of(s, "k/a", "two"), r2);
    CHECK_EQ_INT(rn_store_kv_del_if(s, "k/a", r2), 0);
    rev_of(s, "k/a", NULL);
    CHECK_EQ_INT(rn_store_kv_del_if(s, "k/a", r2), RN_ECONFLICT); /* gone */
    /* re-created: a new revision, above the deletion's */
    uint64_t r4 = 0;
    CHECK_EQ_INT(rn_store_kv_put_if(s, "k/a", "three", 5, 0, &r4), 0);
    CHECK(r4 > r3 + 1);
    CHECK_EQ_INT(rn_store_kv_put_if(s, "k/a", "bad", 3, r2, NULL), RN_ECONFLICT); /* the old rev */
    seen_t sn = {{0}, 0};
    CHECK_EQ_INT(rn_store_kv_scan(s, "k/", scan_rev, &sn), 0);
    CHECK_EQ_INT(sn.n, 2);
    CHECK_EQ_INT(sn.revs[0], r4); /* k/a */
    CHECK_EQ_INT(sn.revs[1], r3); /* k/b */
}

int main(void)
{
    CHECK_EQ_INT(harness_init(), 0);
    (void)done_cb; /* the harness's; no commits here */
    rn_store_t *s = open_at(NULL);
    if (s) {
        cas(s);
        rn_store_close(s);
    }

    char dir[] = "/tmp/rn-kv-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    s = open_at(dir);
    uint64_t top = 0;
    if (s) {
        cas(s);
        /* the highest revision goes with a deletion: never handed out again */
        CHECK_EQ_INT(rn_store_kv_put(s, "k/top", "t", 1), 0);
        top = rev_of(s, "k/top", "t");
        CHECK_EQ_INT(rn_store_kv_del(s, "k/top"), 0);
        rn_store_close(s);
    }
    s = open_at(dir);
    if (s) {
        uint64_t r = 0;
        CHECK_EQ_INT(rn_store_kv_put_if(s, "k/new", "n", 1, 0, &r), 0);
        CHECK(r > top + 1);
        rn_store_close(s);
    }
    rm_rf(dir);

    /* a database from before revisions */
    char old[] = "/tmp/rn-kvold-XXXXXX";
    if (!mkdtemp(old)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/runnel.db", old);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB);"
                              "INSERT INTO kv VALUES('stream/1', 'first'), ('stream/2', 'second');",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    s = open_at(old);
    if (s) {
        uint64_t a = rev_of(s, "stream/1", "first"), b = rev_of(s, "stream/2", "second");
        CHECK(a > 0 && b > 0 && a != b);
        uint64_t r = 0;
        CHECK_EQ_INT(rn_store_kv_put_if(s, "stream/1", "FIRST", 5, a, &r), 0);
        CHECK(r > a && r > b);
        CHECK_EQ_INT(rn_store_kv_put_if(s, "stream/2", "bad", 3, 0, NULL), RN_ECONFLICT);
        rn_store_close(s);
    }
    s = open_at(old); /* opened again: already migrated */
    if (s) {
        rev_of(s, "stream/1", "FIRST");
        rn_store_close(s);
    }
    rm_rf(old);
    return rn_test_done("test_store_kv");
}
