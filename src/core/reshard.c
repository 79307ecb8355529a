/* reshard.c: splits, merges and uniform scaling over a stream's shard array
 * (see reshard.h for the contract).
 *
 * Each public change runs in three stages so that it is all-or-nothing:
 *   1. plan: validate, count the shards it will add, find the parents it
 *      will close and read their logs' ends (the only step that touches the
 *      store, and can fail);
 *   2. reserve: grow s->shards once to its final size (can fail: ENOMEM);
 *   3. apply: append children and close parents; nothing here can fail.
 * Stages 1 and 2 leave the stream as it was. */
#include "core/reshard.h"

#include <assert.h>
#include <stdlib.h>

#include "core/errors.h"

/* ---- lookups ----------------------------------------------------------------- */

/* Position of the shard with this index in s->shards, or -1. */
static int64_t shard_pos(const rn_stream_t *s, uint32_t index)
{
    /* Indices equal positions until expired shards are dropped; try that
     * first. The array is in index order (children are appended with new,
     * larger indices; dropping keeps the order). */
    if (index < s->n_shards && s->shards[index].index == index)
        return index;
    uint32_t lo = 0, hi = s->n_shards;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->shards[mid].index == index)
            return mid;
        if (s->shards[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

rn_shard_t *rn_stream_shard(rn_stream_t *s, uint32_t index)
{
    int64_t pos = shard_pos(s, index);
    return pos < 0 ? NULL : &s->shards[pos];
}

const rn_shard_t *rn_stream_shard_const(const rn_stream_t *s, uint32_t index)
{
    return rn_stream_shard((rn_stream_t *)s, index);
}

uint32_t rn_stream_open_count(const rn_stream_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_shards; i++)
        n += s->shards[i].closed_ms == 0;
    return n;
}

int rn_shard_children(const rn_stream_t *s, const rn_shard_t *sh, const rn_shard_t **out, size_t *n)
{
    *n = 0;
    int64_t idx = sh->index;
    for (uint32_t i = 0; i < s->n_shards && *n < RN_SHARD_CHILDREN_MAX; i++) {
        const rn_shard_t *c = &s->shards[i];
        if (c->parent == idx || c->adjacent_parent == idx)
            out[(*n)++] = c;
    }
    return *n ? 0 : RN_ENOENT;
}

int rn_shard_ended(const rn_stream_t *s, const rn_shard_t *sh, uint64_t next)
{
    const rn_shard_t *kids[RN_SHARD_CHILDREN_MAX];
    size_t n;
    return sh->closed_ms != 0 && next > sh->ending_counter && rn_shard_children(s, sh, kids, &n) == 0;
}

int rn_shard_at_trim_horizon(const rn_stream_t *s, const rn_shard_t *sh)
{
    if (sh->parent >= 0 && rn_stream_shard_const(s, (uint32_t)sh->parent))
        return 0;
    if (sh->adjacent_parent >= 0 && rn_stream_shard_const(s, (uint32_t)sh->adjacent_parent))
        return 0;
    return 1;
}

int rn_stream_scalings(const rn_stream_t *s, int64_t now_ms)
{
    int n = 0;
    for (int i = 0; i < RN_SCALING_MAX; i++)
        n += s->scaling_ms[i] != 0 && s->scaling_ms[i] > now_ms - RN_SCALING_WINDOW_MS;
    return n;
}

void rn_stream_note_scaling(rn_stream_t *s, int64_t now_ms)
{
    int oldest = 0;
    for (int i = 1; i < RN_SCALING_MAX; i++)
        if (s->scaling_ms[i] < s->scaling_ms[oldest])
            oldest = i;
    s->scaling_ms[oldest] = now_ms;
}

/* ---- building blocks -------------------------------------------------------------- */

/* The index the next new shard gets: one past the largest ever used. The
 * newest shard is never dropped (only closed shards are, and closing a shard
 * always adds newer children), so it is the last one of the array. */
static uint32_t next_index(const rn_stream_t *s)
{
    return s->n_shards ? s->shards[s->n_shards - 1].index + 1 : 0;
}

/* The change time for closing a parent created at created_ms: now, or the
 * start of the second after the parent's creation second if that is later
 * (children's sequence numbers must sort after the parent's). */
static int64_t change_time(int64_t t, int64_t created_ms)
{
    int64_t min = (created_ms / 1000 + 1) * 1000;
    return t < min ? min : t;
}

/* Counter of the last record the shard's log has assigned (0 if none). */
static int log_end(rn_registry_t *r, rn_stream_t *s, rn_shard_t *sh, uint64_t *end)
{
    rn_log_t *log;
    int rc = rn_shard_log(r, s, sh, &log);
    if (rc)
        return rc;
    *end = rn_log_next(log) - 1;
    return 0;
}

/* Grow s->shards to hold `extra` more shards. Pointers into it move. */
static int reserve(rn_stream_t *s, uint32_t extra)
{
    size_t want = (size_t)s->n_shards + extra;
    rn_shard_t *p = realloc(s->shards, (want ? want : 1) * sizeof *p);
    if (!p)
        return RN_ENOMEM;
    s->shards = p;
    return 0;
}

/* Append a child; capacity must have been reserved. Returns its position. */
static uint32_t add_child(rn_stream_t *s, uint32_t *next_idx, rn_u128 start, rn_u128 end, int64_t parent,
                          int64_t adjacent, int64_t t)
{
    uint32_t pos = s->n_shards++;
    s->shards[pos] = (rn_shard_t){.index = (*next_idx)++,
                                  .start_hash = start,
                                  .end_hash = end,
                                  .parent = parent,
                                  .adjacent_parent = adjacent,
                                  .created_ms = t,
                                  .closed_ms = 0,
                                  .ending_counter = 0,
                                  .log = NULL};
    return pos;
}

static void close_shard(rn_shard_t *sh, int64_t t, uint64_t end)
{
    assert(sh->closed_ms == 0 && t >= sh->created_ms);
    sh->closed_ms = t;
    sh->ending_counter = end;
}

/* Apply a split of the shard at position pos at k; children's positions out. */
static void do_split(rn_stream_t *s, uint32_t pos, rn_u128 k, int64_t t, uint64_t end, uint32_t *next_idx,
                     uint32_t *lo, uint32_t *up)
{
    rn_shard_t p = s->shards[pos];
    assert(k > p.start_hash && k <= p.end_hash);
    *lo = add_child(s, next_idx, p.start_hash, k - 1, p.index, -1, t);
    *up = add_child(s, next_idx, k, p.end_hash, p.index, -1, t);
    close_shard(&s->shards[pos], t, end);
}

/* Apply a merge of positions a (ParentShardId) and b (AdjacentParentShardId). */
static uint32_t do_merge(rn_stream_t *s, uint32_t a, uint32_t b, int64_t t, uint64_t end_a, uint64_t end_b,
                         uint32_t *next_idx)
{
    rn_shard_t x = s->shards[a], y = s->shards[b];
    assert(x.end_hash + 1 == y.start_hash || y.end_hash + 1 == x.start_hash);
    rn_u128 lo = x.start_hash < y.start_hash ? x.start_hash : y.start_hash;
    rn_u128 hi = x.end_hash > y.end_hash ? x.end_hash : y.end_hash;
    uint32_t c = add_child(s, next_idx, lo, hi, x.index, y.index, t);
    close_shard(&s->shards[a], t, end_a);
    close_shard(&s->shards[b], t, end_b);
    return c;
}

/* ---- split and merge ---------------------------------------------------------------- */

int rn_reshard_split(rn_registry_t *r, rn_stream_t *s, uint32_t index, rn_u128 k, int64_t now_ms,
                     uint32_t *lower, uint32_t *upper)
{
    /* Work with positions, not pointers: reserve() moves the array. */
    int64_t pos = shard_pos(s, index);
    if (pos < 0)
        return RN_EINVAL;
    rn_shard_t *p = &s->shards[pos];
    if (p->closed_ms || k <= p->start_hash || k > p->end_hash)
        return RN_EINVAL;
    uint64_t end;
    int rc = log_end(r, s, p, &end);
    if (rc)
        return rc;
    int64_t t = change_time(now_ms, p->created_ms);
    rc = reserve(s, 2);
    if (rc)
        return rc;
    uint32_t next = next_index(s), lo, up;
    do_split(s, (uint32_t)pos, k, t, end, &next, &lo, &up);
    if (lower)
        *lower = s->shards[lo].index;
    if (upper)
        *upper = s->shards[up].index;
    rn_registry_recount(r, s);
    return 0;
}

int rn_reshard_merge(rn_registry_t *r, rn_stream_t *s, uint32_t index, uint32_t adjacent, int64_t now_ms,
                     uint32_t *child)
{
    int64_t pa = shard_pos(s, index), pb = shard_pos(s, adjacent);
    if (pa < 0 || pb < 0 || pa == pb)
        return RN_EINVAL;
    rn_shard_t *a = &s->shards[pa], *b = &s->shards[pb];
    if (a->closed_ms || b->closed_ms)
        return RN_EINVAL;
    if (!(a->end_hash != RN_U128_MAX && a->end_hash + 1 == b->start_hash) &&
        !(b->end_hash != RN_U128_MAX && b->end_hash + 1 == a->start_hash))
        return RN_EINVAL;
    uint64_t end_a, end_b;
    int rc = log_end(r, s, a, &end_a);
    if (rc == 0)
        rc = log_end(r, s, b, &end_b);
    if (rc)
        return rc;
    int64_t t = change_time(change_time(now_ms, a->created_ms), b->created_ms);
    rc = reserve(s, 1);
    if (rc)
        return rc;
    uint32_t next = next_index(s);
    uint32_t c = do_merge(s, (uint32_t)pa, (uint32_t)pb, t, end_a, end_b, &next);
    if (child)
        *child = s->shards[c].index;
    rn_registry_recount(r, s);
    return 0;
}

/* ---- uniform scaling ------------------------------------------------------------------ */

typedef struct open_ref {
    rn_u128 start;
    uint32_t pos;
} open_ref_t;

static int by_start(const void *a, const void *b)
{
    const open_ref_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int rn_reshard_uniform(rn_registry_t *r, rn_stream_t *s, uint32_t target, int64_t now_ms,
                       uint32_t *created)
{
    uint32_t n = rn_stream_open_count(s);
    if (target == 0 || n == 0)
        return RN_EINVAL;
    open_ref_t *open = malloc(n * sizeof *open);
    uint64_t *ends = calloc(n, sizeof *ends);
    rn_u128 *bstart = malloc(target * sizeof *bstart), *bend = malloc(target * sizeof *bend);
    uint32_t *pieces = NULL;
    uint64_t *piece_end = NULL;
    int rc = RN_ENOMEM;
    if (!open || !ends || !bstart || !bend)
        goto out;
    for (uint32_t i = 0, k = 0; i < s->n_shards; i++)
        if (s->shards[i].closed_ms == 0)
            open[k++] = (open_ref_t){s->shards[i].start_hash, i};
    qsort(open, n, sizeof *open, by_start);
    for (uint32_t j = 0; j < target; j++)
        rn_hashkey_split_even(target, j, &bstart[j], &bend[j]);

    /* 1. Plan: splits needed, shards that close, their log ends, the time. */
    size_t splits = 0;
    int64_t t = now_ms;
    for (uint32_t i = 0, j = 0; i < n; i++) {
        rn_shard_t *sh = &s->shards[open[i].pos];
        int exact = 0;
        /* Open shards tile the key space, so the loop stops at the boundary
         * equal to the next shard's start (if any), leaving it to that shard. */
        while (j < target && bstart[j] <= sh->end_hash) {
            if (bstart[j] > sh->start_hash)
                splits++;
            else if (bstart[j] == sh->start_hash && bend[j] == sh->end_hash)
                exact = 1;
            j++;
        }
        if (!exact) {
            rc = log_end(r, s, sh, &ends[i]);
            if (rc)
                goto out;
            t = change_time(t, sh->created_ms);
        }
    }
    size_t npieces = n + splits;
    assert(npieces >= target);
    size_t added = 2 * splits + (npieces - target);
    rc = RN_ENOMEM;
    pieces = malloc(npieces * sizeof *pieces);
    piece_end = malloc(npieces * sizeof *piece_end);
    if (!pieces || !piece_end || added > UINT32_MAX - s->n_shards)
        goto out;

    /* 2. Reserve. */
    rc = reserve(s, (uint32_t)added);
    if (rc)
        goto out;
    uint32_t next = next_index(s);

    /* 3a. Split every open shard at the target boundaries inside it. */
    size_t np = 0;
    for (uint32_t i = 0, j = 1; i < n; i++) {
        uint32_t cur = open[i].pos;
        uint64_t cur_end = ends[i];
        while (j < target && bstart[j] <= s->shards[cur].end_hash) {
            if (bstart[j] > s->shards[cur].start_hash) {
                uint32_t lo, up;
                do_split(s, cur, bstart[j], t, cur_end, &next, &lo, &up);
                pieces[np] = lo;
                piece_end[np++] = 0; /* a new child never held a record */
                cur = up;
                cur_end = 0;
            }
            j++;
        }
        pieces[np] = cur;
        piece_end[np++] = cur_end;
    }
    assert(np == npieces);

    /* 3b. Merge the pieces of each target range, left to right. */
    size_t a = 0;
    for (uint32_t j = 0; j < target; j++) {
        assert(a < np && s->shards[pieces[a]].start_hash == bstart[j]);
        uint32_t acc = pieces[a];
        uint64_t acc_end = piece_end[a++];
        while (s->shards[acc].end_hash != bend[j]) {
            assert(a < np);
            acc = do_merge(s, acc, pieces[a], t, acc_end, piece_end[a], &next);
            acc_end = 0;
            a++;
        }
    }
    assert(a == np);
    if (created)
        *created = (uint32_t)added;
    rn_registry_recount(r, s);
    rc = 0;
out:
    free(open);
    free(ends);
    free(bstart);
    free(bend);
    free(pieces);
    free(piece_end);
    return rc;
}
