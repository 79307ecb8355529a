/* test_core_reshard.c: splits, merges and uniform scaling (core/reshard.h)
 * on an in-memory store.
 *
 * After every change the whole stream is checked against the invariants:
 *  - tiling: the open shards, sorted by start, cover [0, 2^128-1] exactly;
 *  - ids: indices are unique, and every shard a change adds has a larger
 *    index than any shard before it;
 *  - lineage: every shard with a parent lists existing, closed parents; a
 *    split child lies in its one parent, a merge child is the union of its
 *    two adjacent parents; every closed shard has children covering exactly
 *    its range (two split children tiling it, or one merge child holding it);
 *  - time: a child starts when its parents close, and a child of a parent
 *    that held data starts in a later second (sequence numbers sort after).
 * Uniform scaling also yields exactly the equal-width layout of a new stream
 * of the target size; the shard totals of the moto/AWS table (§4.5) are
 * checked where this method agrees with it (2→4, 4→5, 4→2). */
#include "core/reshard.h"
#include "core/errors.h"
#include "core/model.h"
#include "store/store.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000123LL /* a fixed "now" */

static rn_store_t *store;
static rn_registry_t *reg;
static int parents_may_expire; /* check_stream: a parent may have been dropped by retention */

/* ---- invariants ----------------------------------------------------------------- */

typedef struct span {
    rn_u128 start, end;
} span_t;

static int by_span_start(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Check every invariant; returns the number of violations (also counted as
 * failed checks, with the first few described). */
static int check_stream(const rn_stream_t *s, const char *what)
{
    int bad = 0;
#define VIOLATION(...)                                       \
    do {                                                     \
        if (bad++ < 5) {                                     \
            fprintf(stderr, "%s: ", what);                   \
            fprintf(stderr, __VA_ARGS__);                    \
            fputc('\n', stderr);                             \
        }                                                    \
    } while (0)

    /* Tiling. */
    span_t *open = calloc(s->n_shards + 1, sizeof *open);
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_shards; i++)
        if (!s->shards[i].closed_ms)
            open[n++] = (span_t){s->shards[i].start_hash, s->shards[i].end_hash};
    qsort(open, n, sizeof *open, by_span_start);
    if (n == 0 || open[0].start != 0 || open[n - 1].end != RN_U128_MAX)
        VIOLATION("open shards do not reach both ends of the key space");
    for (uint32_t i = 0; i + 1 < n; i++)
        if (open[i].end == RN_U128_MAX || open[i].end + 1 != open[i + 1].start)
            VIOLATION("gap or overlap after open shard %u", i);
    for (uint32_t i = 0; i < n; i++)
        if (open[i].start > open[i].end)
            VIOLATION("empty open shard");
    free(open);
    CHECK_EQ_INT(n, rn_stream_open_count(s));

    for (uint32_t i = 0; i < s->n_shards; i++) {
        const rn_shard_t *sh = &s->shards[i];
        /* Unique ids. */
        for (uint32_t j = i + 1; j < s->n_shards; j++)
            if (s->shards[j].index == sh->index)
                VIOLATION("index %u repeated", sh->index);
        if (sh->closed_ms && sh->closed_ms < sh->created_ms)
            VIOLATION("shard %u closes before it starts", sh->index);
        /* Parents. */
        if (sh->adjacent_parent >= 0 && sh->parent < 0)
            VIOLATION("shard %u has an adjacent parent only", sh->index);
        if (sh->parent >= 0) {
            const rn_shard_t *p = rn_stream_shard_const(s, (uint32_t)sh->parent);
            const rn_shard_t *q =
                sh->adjacent_parent >= 0 ? rn_stream_shard_const(s, (uint32_t)sh->adjacent_parent) : NULL;
            if (!p || (sh->adjacent_parent >= 0 && !q)) {
                if (!parents_may_expire)
                    VIOLATION("shard %u names a missing parent", sh->index);
                continue;
            }
            if (!p->closed_ms || (q && !q->closed_ms))
                VIOLATION("shard %u has an open parent", sh->index);
            if (p->closed_ms != sh->created_ms || (q && q->closed_ms != sh->created_ms))
                VIOLATION("shard %u does not start when its parents close", sh->index);
            if (p->closed_ms > p->created_ms && sh->created_ms / 1000 <= p->created_ms / 1000)
                VIOLATION("shard %u starts in its parent's creation second", sh->index);
            if (q) {
                int adj = (p->end_hash + 1 == q->start_hash) || (q->end_hash + 1 == p->start_hash);
                rn_u128 lo = p->start_hash < q->start_hash ? p->start_hash : q->start_hash;
                rn_u128 hi = p->end_hash > q->end_hash ? p->end_hash : q->end_hash;
                if (!adj || sh->start_hash != lo || sh->end_hash != hi)
                    VIOLATION("merge child %u is not the union of adjacent parents", sh->index);
            } else if (sh->start_hash < p->start_hash || sh->end_hash > p->end_hash) {
                VIOLATION("split child %u outside its parent", sh->index);
            }
        }
        /* Children of a closed shard cover it exactly. */
        const rn_shard_t *kids[RN_SHARD_CHILDREN_MAX];
        size_t nk = 9;
        int rc = rn_shard_children(s, sh, kids, &nk);
        if (!sh->closed_ms) {
            if (rc != RN_ENOENT || nk != 0)
                VIOLATION("open shard %u has children", sh->index);
        } else if (rc != 0) {
            VIOLATION("closed shard %u has no children", sh->index);
        } else if (nk == 2) {
            const rn_shard_t *lo = kids[0]->start_hash < kids[1]->start_hash ? kids[0] : kids[1];
            const rn_shard_t *hi = lo == kids[0] ? kids[1] : kids[0];
            if (lo->parent != sh->index || hi->parent != sh->index || lo->adjacent_parent >= 0 ||
                hi->adjacent_parent >= 0)
                VIOLATION("split children of %u have the wrong parents", sh->index);
            if (lo->start_hash != sh->start_hash || lo->end_hash + 1 != hi->start_hash ||
                hi->end_hash != sh->end_hash)
                VIOLATION("split children of %u do not tile it", sh->index);
        } else if (nk == 1) {
            const rn_shard_t *k = kids[0];
            if (k->adjacent_parent < 0 || (k->parent != sh->index && k->adjacent_parent != sh->index))
                VIOLATION("single child of %u is not a merge child", sh->index);
            if (k->start_hash > sh->start_hash || k->end_hash < sh->end_hash)
                VIOLATION("merge child of %u does not hold it", sh->index);
        } else {
            VIOLATION("shard %u has %zu children", sh->index, nk);
        }
    }
#undef VIOLATION
    CHECK_EQ_INT(bad, 0);
    return bad;
}

/* The open shards are exactly the n-shard equal-width layout. */
static void check_uniform(const rn_stream_t *s, uint32_t n)
{
    CHECK_EQ_INT(rn_stream_open_count(s), n);
    int missing = 0;
    for (uint32_t j = 0; j < n; j++) {
        rn_u128 a, b;
        rn_hashkey_split_even(n, j, &a, &b);
        int found = 0;
        for (uint32_t i = 0; i < s->n_shards; i++)
            found += !s->shards[i].closed_ms && s->shards[i].start_hash == a && s->shards[i].end_hash == b;
        missing += found != 1;
    }
    CHECK_EQ_INT(missing, 0);
}

static uint32_t max_index(const rn_stream_t *s)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < s->n_shards; i++)
        if (s->shards[i].index > m)
            m = s->shards[i].index;
    return m;
}

static rn_stream_t *make_stream(const char *name, uint32_t n)
{
    rn_stream_t *s = NULL;
    CHECK_EQ_INT(rn_registry_create(reg, "000000000000", "us-east-1", name, n, 0, T0, &s), 0);
    return s;
}

/* Append k records to the shard with this index and commit them. */
static void put(rn_stream_t *s, uint32_t index, int k)
{
    rn_log_t *log;
    CHECK_EQ_INT(rn_shard_log(reg, s, rn_stream_shard(s, index), &log), 0);
    for (int i = 0; i < k; i++) {
        rn_record_in_t rec = {.pk = (const uint8_t *)"pk", .pk_len = 2, .data = (const uint8_t *)"d", .data_len = 1};
        uint64_t c;
        CHECK_EQ_INT(rn_log_append(log, &rec, 1, T0, &c), 0);
    }
}

/* Scale a fresh stream from n to target; return the shard total. */
static uint32_t scale_fresh(uint32_t n, uint32_t target)
{
    static int seq;
    char name[64];
    snprintf(name, sizeof name, "u-%u-%u-%d", n, target, seq++);
    rn_stream_t *s = make_stream(name, n);
    for (uint32_t i = 0; i < n; i++)
        put(s, i, (int)i + 1);
    uint32_t before = max_index(s), created = 0;
    CHECK_EQ_INT(rn_reshard_uniform(reg, s, target, T0 + 5, &created), 0);
    CHECK_EQ_INT(s->n_shards, n + created);
    check_stream(s, name);
    check_uniform(s, target);
    for (uint32_t i = n; i < s->n_shards; i++)
        CHECK(s->shards[i].index > before);
    /* Parents that held data end at their last counter. */
    for (uint32_t i = 0; i < n; i++)
        if (s->shards[i].closed_ms)
            CHECK_EQ_INT(s->shards[i].ending_counter, i + 1);
    printf("# uniform %u -> %u: %u shards in all (%u added)\n", n, target, s->n_shards, created);
    return s->n_shards;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_split(void)
{
    rn_stream_t *s = make_stream("split", 2);
    put(s, 0, 5);
    rn_u128 a0 = s->shards[0].start_hash, e0 = s->shards[0].end_hash;
    rn_u128 k = e0 / 3;

    /* Bad splits change nothing. */
    CHECK_EQ_INT(rn_reshard_split(reg, s, 0, a0, T0 + 1, NULL, NULL), RN_EINVAL);
    CHECK_EQ_INT(rn_reshard_split(reg, s, 0, e0 + 1, T0 + 1, NULL, NULL), RN_EINVAL);
    CHECK_EQ_INT(rn_reshard_split(reg, s, 7, k, T0 + 1, NULL, NULL), RN_EINVAL);
    CHECK_EQ_INT(s->n_shards, 2);

    uint32_t lo = 0, up = 0;
    CHECK_EQ_INT(rn_reshard_split(reg, s, 0, k, T0 + 1, &lo, &up), 0);
    CHECK_EQ_INT(lo, 2);
    CHECK_EQ_INT(up, 3);
    CHECK_EQ_INT(s->n_shards, 4);
    const rn_shard_t *p = rn_stream_shard(s, 0), *l = rn_stream_shard(s, 2), *u = rn_stream_shard(s, 3);
    /* Closes at the start of the second after its creation (T0 is mid-second). */
    CHECK_EQ_INT(p->closed_ms, (T0 / 1000 + 1) * 1000);
    CHECK_EQ_INT(p->ending_counter, 5);
    CHECK(l->start_hash == a0 && l->end_hash == k - 1 && u->start_hash == k && u->end_hash == e0);
    CHECK_EQ_INT(l->parent, 0);
    CHECK_EQ_INT(l->adjacent_parent, -1);
    CHECK_EQ_INT(u->parent, 0);
    CHECK_EQ_INT(l->created_ms, p->closed_ms);
    check_stream(s, "split");

    /* A closed shard cannot be split again; an empty parent ends at 0. */
    CHECK_EQ_INT(rn_reshard_split(reg, s, 0, k, T0 + 2, NULL, NULL), RN_EINVAL);
    int64_t later = T0 + 10000;
    CHECK_EQ_INT(rn_reshard_split(reg, s, 3, k + 1000, later, &lo, &up), 0);
    CHECK_EQ_INT(lo, 4);
    CHECK_EQ_INT(rn_stream_shard(s, 3)->ending_counter, 0);
    CHECK_EQ_INT(rn_stream_shard(s, 3)->closed_ms, later); /* already a later second */

    /* Children and trim horizon. */
    const rn_shard_t *kids[RN_SHARD_CHILDREN_MAX];
    size_t nk;
    CHECK_EQ_INT(rn_shard_children(s, rn_stream_shard(s, 0), kids, &nk), 0);
    CHECK_EQ_INT(nk, 2);
    CHECK_EQ_INT(kids[0]->index, 2);
    CHECK_EQ_INT(kids[1]->index, 3);
    CHECK_EQ_INT(rn_shard_children(s, rn_stream_shard(s, 1), kids, &nk), RN_ENOENT);
    CHECK(rn_shard_at_trim_horizon(s, rn_stream_shard(s, 0)));
    CHECK(rn_shard_at_trim_horizon(s, rn_stream_shard(s, 1)));
    CHECK(!rn_shard_at_trim_horizon(s, rn_stream_shard(s, 2)));
    /* The end of a closed shard: past its last counter, with children. */
    CHECK(!rn_shard_ended(s, rn_stream_shard(s, 0), 5));
    CHECK(rn_shard_ended(s, rn_stream_shard(s, 0), 6));
    CHECK(rn_shard_ended(s, rn_stream_shard(s, 3), 1)); /* empty: ended at once */
    CHECK(!rn_shard_ended(s, rn_stream_shard(s, 1), 1000)); /* open */
    check_stream(s, "split twice");
}

static void test_merge(void)
{
    rn_stream_t *s = make_stream("merge", 3);
    put(s, 1, 3);
    put(s, 2, 4);
    /* Not adjacent, the same shard, missing: nothing changes. */
    CHECK_EQ_INT(rn_reshard_merge(reg, s, 0, 2, T0 + 1, NULL), RN_EINVAL);
    CHECK_EQ_INT(rn_reshard_merge(reg, s, 1, 1, T0 + 1, NULL), RN_EINVAL);
    CHECK_EQ_INT(rn_reshard_merge(reg, s, 1, 9, T0 + 1, NULL), RN_EINVAL);
    CHECK_EQ_INT(s->n_shards, 3);

    /* Either order; ShardToMerge is ParentShardId. */
    uint32_t child = 0;
    CHECK_EQ_INT(rn_reshard_merge(reg, s, 2, 1, T0 + 1, &child), 0);
    CHECK_EQ_INT(child, 3);
    const rn_shard_t *c = rn_stream_shard(s, 3);
    CHECK_EQ_INT(c->parent, 2);
    CHECK_EQ_INT(c->adjacent_parent, 1);
    CHECK(c->start_hash == rn_stream_shard(s, 1)->start_hash && c->end_hash == RN_U128_MAX);
    CHECK_EQ_INT(rn_stream_shard(s, 1)->ending_counter, 3);
    CHECK_EQ_INT(rn_stream_shard(s, 2)->ending_counter, 4);
    const rn_shard_t *kids[RN_SHARD_CHILDREN_MAX];
    size_t nk;
    CHECK_EQ_INT(rn_shard_children(s, rn_stream_shard(s, 1), kids, &nk), 0);
    CHECK_EQ_INT(nk, 1);
    CHECK_EQ_INT(kids[0]->index, 3);
    /* Closed shards cannot be merged. */
    CHECK_EQ_INT(rn_reshard_merge(reg, s, 0, 1, T0 + 2, NULL), RN_EINVAL);
    check_stream(s, "merge");
    CHECK_EQ_INT(rn_reshard_merge(reg, s, 0, 3, T0 + 2, &child), 0);
    CHECK_EQ_INT(child, 4);
    CHECK_EQ_INT(rn_stream_open_count(s), 1);
    check_stream(s, "merge all");
}

static void test_uniform_table(void)
{
    static const uint32_t cases[][2] = {{1, 2}, {2, 4}, {4, 2}, {4, 5}, {5, 3}, {10, 13}, {3, 6}, {6, 6},
                                        {7, 4}, {16, 32}, {32, 16}, {9, 17}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        scale_fresh(cases[i][0], cases[i][1]);
    /* Where the §4.5 totals follow from equal-width targets. */
    CHECK_EQ_INT(scale_fresh(2, 4) == 6, 1);
    CHECK_EQ_INT(scale_fresh(4, 5), 15);
    CHECK_EQ_INT(scale_fresh(4, 2), 6);
    CHECK_EQ_INT(scale_fresh(1, 2), 3);
    /* Already uniform at the target: nothing changes. */
    CHECK_EQ_INT(scale_fresh(6, 6), 6);
}

static void test_uniform_chain(void)
{
    /* Repeated scaling of one stream, over layouts left by earlier steps and
     * by manual splits and merges (non-uniform). */
    rn_stream_t *s = make_stream("chain", 3);
    static const uint32_t steps[] = {6, 5, 3, 4, 8, 16, 9, 5, 10, 7, 1, 2};
    int64_t t = T0;
    char what[64];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        for (uint32_t j = 0; j < s->n_shards; j++)
            if (!s->shards[j].closed_ms)
                put(s, s->shards[j].index, 1);
        if (i == 4) { /* a manual split and merge first */
            uint32_t lo, up;
            rn_shard_t *o = NULL;
            for (uint32_t j = 0; j < s->n_shards && !o; j++)
                if (!s->shards[j].closed_ms)
                    o = &s->shards[j];
            CHECK_EQ_INT(rn_reshard_split(reg, s, o->index, o->start_hash + (o->end_hash - o->start_hash) / 7, t,
                                          &lo, &up),
                         0);
            CHECK_EQ_INT(rn_reshard_merge(reg, s, up, lo, t, NULL), 0);
            CHECK_EQ_INT(rn_reshard_split(reg, s, max_index(s), rn_stream_shard(s, max_index(s))->start_hash + 12345,
                                          t, NULL, NULL),
                         0);
            snprintf(what, sizeof what, "chain manual");
            check_stream(s, what);
        }
        uint32_t before = max_index(s), created;
        t += 1500;
        CHECK_EQ_INT(rn_reshard_uniform(reg, s, steps[i], t, &created), 0);
        snprintf(what, sizeof what, "chain step %zu (-> %u)", i, steps[i]);
        check_stream(s, what);
        check_uniform(s, steps[i]);
        for (uint32_t j = 0; j < s->n_shards; j++)
            if (s->shards[j].index > before)
                CHECK(s->shards[j].created_ms >= t);
        t += 2000;
    }
    CHECK_EQ_INT(rn_reshard_uniform(reg, s, 0, t, NULL), RN_EINVAL);
    printf("# chain: %u shards in all\n", s->n_shards);
}

static void test_persist_and_limits(void)
{
    rn_stream_t *s = make_stream("persist", 2);
    put(s, 0, 2);
    CHECK_EQ_INT(rn_reshard_split(reg, s, 1, s->shards[1].start_hash + 100, T0 + 1, NULL, NULL), 0);
    CHECK_EQ_INT(rn_reshard_merge(reg, s, 0, 2, T0 + 2, NULL), 0);

    /* The rolling window of UpdateShardCount calls. */
    int64_t day = RN_SCALING_WINDOW_MS;
    CHECK_EQ_INT(rn_stream_scalings(s, T0), 0);
    for (int i = 0; i < RN_SCALING_MAX; i++)
        rn_stream_note_scaling(s, T0 + i * 1000);
    CHECK_EQ_INT(rn_stream_scalings(s, T0 + 9000), RN_SCALING_MAX);
    CHECK_EQ_INT(rn_stream_scalings(s, T0 + day), RN_SCALING_MAX - 1); /* the first is 24 h old */
    CHECK_EQ_INT(rn_stream_scalings(s, T0 + day + 9000), 0);
    rn_stream_note_scaling(s, T0 + day); /* replaces the oldest */
    CHECK_EQ_INT(rn_stream_scalings(s, T0 + day + 1), RN_SCALING_MAX);
    CHECK_EQ_INT(rn_registry_save(reg, s), 0);

    /* Reload from the store: every shard field and the scaling times survive. */
    rn_stream_t copy = *s;
    rn_shard_t *shards = malloc(s->n_shards * sizeof *shards);
    memcpy(shards, s->shards, s->n_shards * sizeof *shards);
    rn_registry_close(reg);
    rn_registry_config_t cfg = {.shard_limit = 500};
    CHECK_EQ_INT(rn_registry_open(&reg, store, &cfg), 0);
    rn_stream_t *r = rn_registry_find(reg, "000000000000", "us-east-1", "persist");
    CHECK(r != NULL);
    if (r) {
        CHECK_EQ_INT(r->n_shards, copy.n_shards);
        int diff = 0;
        for (uint32_t i = 0; i < r->n_shards && i < copy.n_shards; i++) {
            const rn_shard_t *x = &r->shards[i], *y = &shards[i];
            diff += x->index != y->index || x->start_hash != y->start_hash || x->end_hash != y->end_hash ||
                    x->parent != y->parent || x->adjacent_parent != y->adjacent_parent ||
                    x->created_ms != y->created_ms || x->closed_ms != y->closed_ms ||
                    x->ending_counter != y->ending_counter;
        }
        CHECK_EQ_INT(diff, 0);
        CHECK_EQ_INT(memcmp(r->scaling_ms, copy.scaling_ms, sizeof r->scaling_ms), 0);
        CHECK_EQ_INT(rn_stream_shard(r, 0)->ending_counter, 2);
        check_stream(r, "reloaded");
        /* A new shard after reload still gets a fresh index. */
        uint32_t child = 0;
        CHECK_EQ_INT(rn_reshard_merge(reg, r, 3, 4, T0 + 5000, &child), 0);
        CHECK_EQ_INT(child, 5);
        check_stream(r, "reloaded merge");
    }
    free(shards);
}

/* rn_registry_undo puts a reshard back exactly; a commit past the retention
 * drops the closed shards whose records expired, and indices keep growing. */
static void test_undo_and_drop(void)
{
    rn_stream_t *s = make_stream("undo", 2);
    put(s, 0, 3);
    uint32_t n0 = s->n_shards;
    rn_shard_t before[2];
    memcpy(before, s->shards, sizeof before);
    rn_stream_undo_t u;
    CHECK_EQ_INT(rn_stream_undo_begin(s, &u), 0);
    CHECK_EQ_INT(rn_reshard_split(reg, s, 0, s->shards[0].start_hash + 1000, T0 + 1, NULL, NULL), 0);
    rn_stream_note_scaling(s, T0 + 1);
    CHECK_EQ_INT(rn_registry_open_shard_count(reg, "000000000000", "us-east-1") > 0, 1);
    int open_split = rn_registry_open_shard_count(reg, "000000000000", "us-east-1");
    rn_registry_undo(reg, s, &u);
    CHECK_EQ_INT(s->n_shards, n0);
    CHECK_EQ_INT(rn_registry_open_shard_count(reg, "000000000000", "us-east-1"), open_split - 1);
    CHECK_EQ_INT(rn_stream_scalings(s, T0 + 2), 0);
    for (uint32_t i = 0; i < n0; i++) {
        CHECK_EQ_INT(s->shards[i].closed_ms, 0);
        CHECK(s->shards[i].start_hash == before[i].start_hash && s->shards[i].end_hash == before[i].end_hash);
    }
    CHECK(s->shards[0].log != NULL); /* the log opened meanwhile stays with its shard */
    check_stream(s, "undone");

    /* Cycles of split + merge, a day and an hour apart: each commit drops
     * what expired before it. */
    int64_t t = T0 + 10;
    uint32_t last = max_index(s);
    parents_may_expire = 1;
    for (int round = 0; round < 5; round++, t += 25LL * 3600 * 1000) {
        uint32_t lo, up, child;
        CHECK_EQ_INT(rn_stream_undo_begin(s, &u), 0);
        uint32_t open0 = 0;
        for (uint32_t i = 0; i < s->n_shards; i++)
            if (!s->shards[i].closed_ms && s->shards[i].start_hash == 0)
                open0 = s->shards[i].index;
        rn_shard_t *p = rn_stream_shard(s, open0);
        CHECK_EQ_INT(rn_reshard_split(reg, s, open0, p->start_hash + 1000, t, &lo, &up), 0);
        CHECK_EQ_INT(rn_registry_commit_shards(reg, s, &u, t), 0);
        CHECK_EQ_INT(rn_stream_undo_begin(s, &u), 0);
        CHECK_EQ_INT(rn_reshard_merge(reg, s, lo, up, t + 1000, &child), 0);
        CHECK_EQ_INT(rn_registry_commit_shards(reg, s, &u, t + 1000), 0);
        CHECK(child > last);
        last = child;
        check_stream(s, "cycle");
        CHECK(rn_stream_shard(s, child) != NULL);
    }
    /* Left: the untouched shard 1, the last round's parent (closed now) and
     * its three descendants; nothing older. */
    CHECK_EQ_INT(s->n_shards, 5);
    CHECK_EQ_INT(rn_stream_open_count(s), 2);
    parents_may_expire = 0;
}

int main(void)
{
    rn_store_config_t scfg = {.in_memory = 1};
    const char *err = NULL;
    if (rn_store_open(&store, &scfg, &err) != 0) {
        fprintf(stderr, "store: %s\n", err ? err : "?");
        return 1;
    }
    rn_registry_config_t cfg = {.shard_limit = 500};
    if (rn_registry_open(&reg, store, &cfg) != 0)
        return 1;
    test_split();
    test_merge();
    test_uniform_table();
    test_uniform_chain();
    test_persist_and_limits();
    test_undo_and_drop();
    rn_registry_close(reg);
    rn_store_close(store);
    return rn_test_done("test_core_reshard");
}
