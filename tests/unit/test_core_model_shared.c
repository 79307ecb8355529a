/* test_core_model_shared.c: two registries sharing one store, as cluster
 * mode's nodes share one (docs/cluster.md), with every metadata write a
 * compare-and-set (model.c, "writers sharing the store"):
 *  - a change made through A, then one through B's older copy: B's write is
 *    refused (RN_ECONFLICT) and changes nothing, B's next lookup takes A's
 *    document, and B's retry keeps both changes (tags added on both nodes all
 *    survive);
 *  - two creates of one name: the second is RN_EEXIST and then knows the
 *    stream; creates of different names on both get different ids;
 *  - a stream deleted through A is gone from B at B's next lookup after B's
 *    write loses; B's delete of a stream A changed is refused, then works;
 *  - a transition (CREATING -> ACTIVE) made by both: one writes it, the
 *    other takes it;
 *  - both registries share one iterator key;
 *  - what a watch delivers (rn_registry_changed) keeps a copy current: a
 *    stream created, changed (an older revision ignored) and deleted elsewhere;
 *  - a name claim whose stream document is gone is taken back by the next
 *    create; a store from before name claims gets them at open;
 *  - account settings written through both: the write over an older read
 *    is refused (RN_ECONFLICT) and the one after a fresh read stands. */
#include "core/model.h"
#include "core/errors.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/status.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wake(void *ud)
{
    (void)ud;
}

static int add_tag(rn_registry_t *r, rn_stream_t *s, const char *k)
{
    rn_tagset_t next;
    if (rn_tagset_clone(&s->tags, &next) != 0 || rn_tagset_put(&next, k, "v") != 0)
        return RN_ENOMEM;
    int rc = rn_registry_save_tags(r, s, &next);
    rn_tagset_dispose(&next);
    return rc;
}

#define ACC "000000000000"
#define REG "us-east-1"

int main(void)
{
    rn_store_config_t scfg = {.in_memory = 1, .fsync_mode = RN_FSYNC_NEVER, .wake = wake};
    rn_store_t *st;
    const char *err;
    CHECK_EQ_INT(rn_store_open(&st, &scfg, &err), 0);
    rn_registry_config_t rcfg = {0};
    rn_registry_t *a, *b;
    CHECK_EQ_INT(rn_registry_open(&a, st, &rcfg), 0);
    CHECK_EQ_INT(rn_registry_open(&b, st, &rcfg), 0);
    CHECK(memcmp(rn_registry_iter_key(a), rn_registry_iter_key(b), sizeof(rn_iter_key_t)) == 0);
    int64_t now = rn_now_ms();

    /* one name, created on both */
    rn_stream_t *sa = NULL, *sb = NULL;
    CHECK_EQ_INT(rn_registry_create(a, ACC, REG, "orders", 2, 0, now, &sa), 0);
    CHECK(rn_registry_find(b, ACC, REG, "orders") == NULL); /* b has not heard of it */
    CHECK_EQ_INT(rn_registry_create(b, ACC, REG, "orders", 4, 0, now, &sb), RN_EEXIST);
    sb = rn_registry_find(b, ACC, REG, "orders");
    CHECK(sb != NULL);
    if (!sa || !sb)
        return rn_test_done("test_core_model_shared");
    CHECK_EQ_INT(sb->id, sa->id);
    CHECK_EQ_INT(sb->n_shards, 2); /* a's stream, not b's */

    /* different names: different ids */
    rn_stream_t *x = NULL, *y = NULL;
    CHECK_EQ_INT(rn_registry_create(a, ACC, REG, "x", 1, 0, now, &x), 0);
    CHECK_EQ_INT(rn_registry_create(b, ACC, REG, "y", 1, 0, now, &y), 0);
    CHECK(x && y && x->id != y->id && x->id != sa->id && y->id != sa->id);

    /* tags on both: nothing lost */
    CHECK_EQ_INT(add_tag(a, sa, "from-a"), 0);
    CHECK_EQ_INT(add_tag(b, sb, "from-b"), RN_ECONFLICT); /* b's copy is older */
    CHECK(rn_tagset_find(&sb->tags, "from-b") == NULL);  /* undone in memory */
    sb = rn_registry_find(b, ACC, REG, "orders");        /* takes a's document */
    CHECK(sb && rn_tagset_find(&sb->tags, "from-a") != NULL);
    CHECK_EQ_INT(add_tag(b, sb, "from-b"), 0);          /* the retry */
    CHECK_EQ_INT(add_tag(a, sa, "from-a2"), RN_ECONFLICT);
    sa = rn_registry_find(a, ACC, REG, "orders");
    CHECK(sa != NULL);
    CHECK_EQ_INT(add_tag(a, sa, "from-a2"), 0);
    rn_registry_t *c;
    CHECK_EQ_INT(rn_registry_open(&c, st, &rcfg), 0); /* a third reader sees all three */
    rn_stream_t *sc = rn_registry_find(c, ACC, REG, "orders");
    CHECK(sc && sc->tags.n == 3);
    CHECK(sc && rn_tagset_find(&sc->tags, "from-a") && rn_tagset_find(&sc->tags, "from-b") &&
          rn_tagset_find(&sc->tags, "from-a2"));
    rn_registry_close(c);

    /* delete through a; b's next write loses and the lookup after finds nothing */
    rn_stream_t *xb = NULL;
    CHECK_EQ_INT(rn_registry_create(a, ACC, REG, "gone", 1, 0, now, &x), 0);
    rn_registry_close(b); /* b reopened: it knows "gone" */
    CHECK_EQ_INT(rn_registry_open(&b, st, &rcfg), 0);
    xb = rn_registry_find(b, ACC, REG, "gone");
    CHECK(xb != NULL);
    CHECK_EQ_INT(rn_registry_delete(a, x, now), 0);
    CHECK(rn_registry_find(a, ACC, REG, "gone") == NULL);
    if (xb)
        CHECK_EQ_INT(add_tag(b, xb, "late"), RN_ECONFLICT);
    CHECK(rn_registry_find(b, ACC, REG, "gone") == NULL);
    /* the name is free again, for either */
    CHECK_EQ_INT(rn_registry_create(b, ACC, REG, "gone", 1, 0, now, &xb), 0);

    /* delete of a stream changed elsewhere: refused, then allowed */
    sb = rn_registry_find(b, ACC, REG, "orders");
    sa = rn_registry_find(a, ACC, REG, "orders");
    CHECK(sa && sb);
    if (sa && sb) {
        CHECK_EQ_INT(add_tag(a, sa, "last"), 0);
        CHECK_EQ_INT(rn_registry_delete(b, sb, now), RN_ECONFLICT);
        sb = rn_registry_find(b, ACC, REG, "orders");
        CHECK(sb && rn_tagset_find(&sb->tags, "last") != NULL);
        if (sb)
            CHECK_EQ_INT(rn_registry_delete(b, sb, now), 0);
        CHECK(rn_registry_find(b, ACC, REG, "orders") == NULL);
        /* a heard nothing (no watch on this store): its copy stays until its next write
         * loses, and then it is gone */
        sa = rn_registry_find(a, ACC, REG, "orders");
        CHECK(sa != NULL);
        if (sa)
            CHECK_EQ_INT(add_tag(a, sa, "after"), RN_ECONFLICT);
        CHECK(rn_registry_find(a, ACC, REG, "orders") == NULL);
    }
    rn_registry_close(a);
    rn_registry_close(b);

    /* a transition both registries make: CREATING -> ACTIVE */
    rn_registry_config_t slow = {.create_delay_ms = 50};
    CHECK_EQ_INT(rn_registry_open(&a, st, &slow), 0);
    rn_stream_t *t = NULL;
    CHECK_EQ_INT(rn_registry_create(a, ACC, REG, "slow", 1, 0, now, &t), 0);
    CHECK_EQ_INT(rn_registry_open(&b, st, &slow), 0);
    rn_stream_t *tb = rn_registry_find(b, ACC, REG, "slow");
    CHECK(t && tb && t->status == RN_STREAM_CREATING && tb->status == RN_STREAM_CREATING);
    (void)rn_registry_tick(a, now + 100);
    CHECK(t && t->status == RN_STREAM_ACTIVE);
    (void)rn_registry_tick(b, now + 100); /* b's write loses: marked stale */
    (void)rn_registry_tick(b, now + 100); /* and the document taken */
    tb = rn_registry_find(b, ACC, REG, "slow");
    CHECK(tb && tb->status == RN_STREAM_ACTIVE && !tb->stale);
    rn_registry_close(a);
    rn_registry_close(b);

    /* what a watch delivers (rn_registry_changed): b's copy follows a's writes */
    CHECK_EQ_INT(rn_registry_open(&a, st, &rcfg), 0);
    CHECK_EQ_INT(rn_registry_open(&b, st, &rcfg), 0);
    rn_stream_t *wa = NULL;
    CHECK_EQ_INT(rn_registry_create(a, ACC, REG, "watched", 3, 0, now, &wa), 0);
    CHECK(wa != NULL);
    if (wa) {
        char key[64];
        snprintf(key, sizeof key, "stream/%020llu", (unsigned long long)wa->id);
        void *doc = NULL;
        size_t dlen = 0;
        uint64_t rev = 0;
        CHECK(rn_registry_find(b, ACC, REG, "watched") == NULL);
        CHECK_EQ_INT(rn_store_kv_get_rev(st, key, &doc, &dlen, &rev), 0);
        CHECK_EQ_INT(rn_registry_changed(b, key, doc, dlen, rev), 0); /* created elsewhere */
        free(doc);
        rn_stream_t *wb = rn_registry_find(b, ACC, REG, "watched");
        CHECK(wb && wb->n_shards == 3 && wb->rev == rev);
        CHECK_EQ_INT(add_tag(a, wa, "t1"), 0);
        CHECK_EQ_INT(rn_store_kv_get_rev(st, key, &doc, &dlen, &rev), 0);
        CHECK_EQ_INT(rn_registry_changed(b, key, doc, dlen, rev), 0); /* changed elsewhere */
        CHECK_EQ_INT(rn_registry_changed(b, key, doc, dlen, rev - 1), 0); /* an older one: ignored */
        free(doc);
        wb = rn_registry_find(b, ACC, REG, "watched");
        CHECK(wb && rn_tagset_find(&wb->tags, "t1") != NULL && wb->rev == rev);
        if (wb)
            CHECK_EQ_INT(add_tag(b, wb, "t2"), 0); /* no conflict: b's copy was current */
        CHECK_EQ_INT(rn_registry_changed(b, "consumer/x", "{}", 2, rev + 100), 0); /* not a stream */
        CHECK_EQ_INT(rn_registry_changed(b, key, NULL, 0, rev + 100), 0);         /* deleted elsewhere */
        CHECK(rn_registry_find(b, ACC, REG, "watched") == NULL);
    }

    /* account settings, read on both and written on both: the later write loses */
    rn_account_settings_t ga, gb;
    CHECK_EQ_INT(rn_account_settings_get(a, ACC, REG, now, &ga), 0);
    CHECK_EQ_INT(rn_account_settings_get(b, ACC, REG, now, &gb), 0);
    CHECK_EQ_INT(ga.rev, 0); /* absent */
    ga.status = RN_COMMITMENT_ENABLED;
    ga.started_ms = now;
    CHECK_EQ_INT(rn_account_settings_put(a, ACC, REG, &ga), 0);
    gb.status = RN_COMMITMENT_DISABLED;
    CHECK_EQ_INT(rn_account_settings_put(b, ACC, REG, &gb), RN_ECONFLICT); /* b read it absent */
    CHECK_EQ_INT(rn_account_settings_get(b, ACC, REG, now, &gb), 0);
    CHECK_EQ_INT(gb.status, RN_COMMITMENT_ENABLED); /* a's write stands */
    CHECK(gb.rev != 0);
    gb.ended_ms = now + 1;
    CHECK_EQ_INT(rn_account_settings_put(b, ACC, REG, &gb), 0); /* over the revision it read */
    CHECK_EQ_INT(rn_account_settings_put(a, ACC, REG, &ga), RN_ECONFLICT);
    CHECK_EQ_INT(rn_account_settings_get(a, ACC, REG, now, &ga), 0);
    CHECK_EQ_INT(ga.ended_ms, now + 1);

    rn_registry_close(a);
    rn_registry_close(b);

    /* a claim outliving its stream, and a store from before claims */
    CHECK_EQ_INT(rn_store_kv_put(st, "name/" ACC "/" REG "/orphan", "999999", 6), 0);
    CHECK_EQ_INT(rn_store_kv_del(st, "meta/names-claimed"), 0);
    CHECK_EQ_INT(rn_store_kv_del(st, "name/" ACC "/" REG "/y"), 0);
    CHECK_EQ_INT(rn_registry_open(&a, st, &rcfg), 0); /* claims y again */
    void *v = NULL;
    size_t len = 0;
    CHECK_EQ_INT(rn_store_kv_get(st, "name/" ACC "/" REG "/y", &v, &len), 0);
    free(v);
    rn_stream_t *o = NULL;
    CHECK_EQ_INT(rn_registry_create(a, ACC, REG, "orphan", 1, 0, now, &o), 0);
    CHECK(o != NULL);
    rn_registry_close(a);
    rn_store_close(st);
    return rn_test_done("test_core_model_shared");
}
