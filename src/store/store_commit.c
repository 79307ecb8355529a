/* store_commit.c: group commit.
 *
 * The loop thread appends (write() into the page cache) and calls
 * rn_store_commit(); one sync thread per store makes the data durable:
 *
 *   loop thread                          sync thread
 *   -----------                          -----------
 *   append -> log on s->dirty list
 *   commit: for each dirty log, merge a
 *     SYNC item {target = next, dup'ed
 *     fds of segments written, dir fd}
 *     into pend_syncs; a WAITER item
 *     into pend_waiters; signal    ----> takes ALL pending items at once
 *   (more appends and commits pile up     fdatasync each fd once, fsync dirs
 *    into the next batch meanwhile)       (items in parallel: see below)
 *                                         moves the batch to `done`, wake()
 *   run_completions  <------------------
 *     SYNC ok: committed = target (records become readable)
 *     SYNC failed: log poisoned (appends return RN_EIO; never readable)
 *     WAITER: done(ud, status of its batch)
 *
 * While one batch's fdatasync runs, new appends and commits accumulate into
 * the next one: that is the group commit. Items for one log are merged while
 * still pending, so each file is synced once per batch. The sync thread only
 * touches the descriptors it owns (dup'ed at commit time, closed after the
 * sync), never a log: rn_log_close clears item->log under the mutex.
 *
 * Parallel syncs: the fdatasyncs of one batch are independent (one SYNC item
 * per log), and a disk serves several at once far better than one after
 * another. The sync thread publishes the batch's item list to up to
 * RN_SYNC_WORKERS_MAX helper threads (s->wnext, under s->wmu, never s->mu),
 * claims items itself too, and waits on a countdown latch (s->wleft) until
 * every item is synced. Each item is synced by exactly one thread, segments
 * then directory, as before; the item's status is read only after the latch.
 * So the batch still completes as a whole, after ALL its syncs, and nothing
 * else changes: one batch in flight at a time, its status shared by its
 * waiters, completions in order. A batch of one item skips the pool.
 *
 * A failed fdatasync is not retried (the kernel may have dropped the dirty
 * pages: PostgreSQL's "fsyncgate"): the log is poisoned, the waiters of that
 * batch get the error, and later items of that log are treated as failed.
 * Waiters of a batch share its status, so a failure in one log fails every
 * waiter of that batch: conservative (a client retries, maybe duplicating),
 * never an acknowledgement of something not durable.
 *
 * fsync interval: commits complete at once (records are visible at append);
 * SYNC items are still queued and the thread syncs them every interval_ms.
 * fsync never and the memory backend: no thread; commits complete at once.
 * In every mode completions run only from rn_store_run_completions(). */
#include "store/store_int.h"
#include "util/status.h"
#include "util/log.h"

#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- items and lists -------------------------------------------------------- */

static void list_push(rn_citem_list_t *q, rn_citem_t *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
}

static void list_concat(rn_citem_list_t *dst, rn_citem_list_t *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    src->head = src->tail = NULL;
}

/* Loop thread: make sure the freelist holds at least n items. */
static int citem_reserve(rn_store_t *s, size_t n)
{
    size_t have = 0;
    for (rn_citem_t *it = s->freelist; it && have < n; it = it->next)
        have++;
    while (have < n) {
        rn_citem_t *it = calloc(1, sizeof *it);
        if (!it)
            return RN_ENOMEM;
        it->next = s->freelist;
        s->freelist = it;
        have++;
    }
    return 0;
}

static rn_citem_t *citem_take(rn_store_t *s, int kind)
{
    rn_citem_t *it = s->freelist;
    s->freelist = it->next;
    int *fds = it->fds;
    size_t cap = it->fds_cap;
    memset(it, 0, sizeof *it);
    it->fds = fds;
    it->fds_cap = cap;
    it->kind = kind;
    it->dirfd = -1;
    it->jfd = it->jdirfd = -1;
    return it;
}

static void citem_put(rn_store_t *s, rn_citem_t *it)
{
    it->next = s->freelist;
    s->freelist = it;
}

void rn_store__citem_free_all(rn_store_t *s)
{
    while (s->freelist) {
        rn_citem_t *it = s->freelist;
        s->freelist = it->next;
        free(it->fds);
        free(it);
    }
}

void rn_store__mark_dirty(rn_store_t *s, rn_log_t *l)
{
    if (l->dirty)
        return;
    l->dirty = 1;
    l->dirty_next = s->dirty;
    s->dirty = l;
}

void rn_store__commit_forget_log(rn_store_t *s, rn_log_t *l)
{
    rn_citem_list_t *lists[] = {&s->pend_syncs, &s->inflight, &s->done};
    (void)pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (rn_citem_t *it = lists[i]->head; it; it = it->next)
            if (it->log == l)
                it->log = NULL;
    (void)pthread_mutex_unlock(&s->mu);
    l->pending = NULL;
}

/* ---- the sync thread ----------------------------------------------------------- */

static void deadline_after(struct timespec *ts, int ms)
{
    (void)clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int deadline_passed(const struct timespec *ts)
{
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

/* Sync one item's descriptors (its segments, then its directory) and close
 * them. Runs in the sync thread or a worker; touches only the item's own
 * fds/dirfd/status, never it->log nor it->next. */
static void sync_item(rn_citem_t *it)
{
    if (it->jfd >= 0 && !it->status && rn_store__fdatasync(it->jfd) != 0) {
        int e = errno;
        rn_error("store: journal fdatasync failed: %s", strerror(e));
        it->status = rn_store__errno(e) == RN_ENOSPC ? RN_ENOSPC : RN_EIO;
    }
    if (it->jdirfd >= 0 && !it->status && fsync(it->jdirfd) != 0) {
        rn_error("store: journal directory fsync failed: %s", strerror(errno));
        it->status = RN_EIO;
    }
    it->jfd = it->jdirfd = -1;
    for (size_t i = 0; i < it->nfds; i++) {
        if (!it->status && rn_store__fdatasync(it->fds[i]) != 0) {
            int e = errno;
            rn_error("store: fdatasync failed: %s", strerror(e));
            it->status = rn_store__errno(e) == RN_ENOSPC ? RN_ENOSPC : RN_EIO;
        }
        (void)close(it->fds[i]);
    }
    it->nfds = 0;
    if (it->dirfd >= 0) {
        if (!it->status && fsync(it->dirfd) != 0) {
            rn_error("store: directory fsync failed: %s", strerror(errno));
            it->status = RN_EIO;
        }
        (void)close(it->dirfd);
        it->dirfd = -1;
    }
}

/* Under s->wmu: claim the next unsynced item of the current batch, or NULL. */
static rn_citem_t *claim_locked(rn_store_t *s)
{
    rn_citem_t *it = s->wnext;
    if (it)
        s->wnext = it->next;
    return it;
}

/* Under s->wmu (dropped around the sync): sync claimed items until none is
 * left unclaimed, counting each down on the latch. */
static void drain_locked(rn_store_t *s)
{
    rn_citem_t *it;
    while ((it = claim_locked(s)) != NULL) {
        (void)pthread_mutex_unlock(&s->wmu);
        sync_item(it);
        (void)pthread_mutex_lock(&s->wmu);
        if (--s->wleft == 0)
            (void)pthread_cond_signal(&s->wdone);
    }
}

static void *worker_main(void *arg)
{
    rn_store_t *s = arg;
    (void)pthread_mutex_lock(&s->wmu);
    for (;;) {
        while (!s->wstop && !s->wnext)
            (void)pthread_cond_wait(&s->wcond, &s->wmu);
        if (!s->wnext) /* wstop, and no batch is half claimed */
            break;
        drain_locked(s);
    }
    (void)pthread_mutex_unlock(&s->wmu);
    return NULL;
}

/* Sync every descriptor of the batch once, the items in parallel (the sync
 * thread and up to nworkers helpers each claim whole items); close them.
 * Returns only when every item is done (the countdown latch), with the first
 * error in list order. */
static int sync_batch(rn_store_t *s, rn_citem_t *head, uint64_t batch)
{
    size_t n = 0;
    for (rn_citem_t *it = head; it; it = it->next) {
        it->batch = batch;
        s->st_fds += it->nfds + (it->dirfd >= 0) + (it->jfd >= 0) + (it->jdirfd >= 0);
        n++;
    }
    s->st_batches++;
    s->st_items += n;
    if (n == 1 || s->nworkers == 0) {
        for (rn_citem_t *it = head; it; it = it->next)
            sync_item(it);
    } else if (n > 1) {
        (void)pthread_mutex_lock(&s->wmu);
        s->wnext = head;
        s->wleft = n;
        /* The sync thread takes a share too: wake at most n - 1 helpers. */
        if (n - 1 >= (size_t)s->nworkers)
            (void)pthread_cond_broadcast(&s->wcond);
        else
            for (size_t i = 0; i < n - 1; i++)
                (void)pthread_cond_signal(&s->wcond);
        drain_locked(s);
        while (s->wleft)
            (void)pthread_cond_wait(&s->wdone, &s->wmu);
        (void)pthread_mutex_unlock(&s->wmu); /* every item's status is ours now */
    }
    int first_err = 0;
    for (rn_citem_t *it = head; it && !first_err; it = it->next)
        first_err = it->status;
    /* Journal: the batch's records are durable only together (one journal
     * sync for all its logs): a failure fails every log of the batch. */
    if (first_err && s->jnl.on)
        for (rn_citem_t *it = head; it; it = it->next)
            if (!it->status)
                it->status = first_err;
    return first_err;
}

const uint64_t rn_store_sync_bounds_us[RN_STORE_SYNC_BUCKETS - 1] = {100, 250, 500, 1000, 2500, 5000,
                                                                     10000, 25000, 50000, 100000, 500000};
const uint64_t rn_store_batch_bounds[RN_STORE_BATCH_BUCKETS - 1] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

static size_t bucket_of(const uint64_t *bounds, size_t n, uint64_t v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    return i;
}

/* Sync thread: one synced batch into rn_store_stats' counters. */
static void note_batch(rn_store_t *s, uint64_t us, uint64_t commits)
{
    size_t b = bucket_of(rn_store_sync_bounds_us, RN_STORE_SYNC_BUCKETS - 1, us);
    __atomic_fetch_add(&s->stat_sync_us[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->stat_sync_us_sum, us, __ATOMIC_RELAXED);
    b = bucket_of(rn_store_batch_bounds, RN_STORE_BATCH_BUCKETS - 1, commits);
    __atomic_fetch_add(&s->stat_commits[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->stat_commits_sum, commits, __ATOMIC_RELAXED);
    __atomic_store_n(&s->stat_fds, s->st_fds, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->stat_batches, 1, __ATOMIC_RELAXED);
}

static void *sync_main(void *arg)
{
    rn_store_t *s = arg;
    const int interval = s->cfg.fsync_mode == RN_FSYNC_INTERVAL;
    const int ms = s->cfg.fsync_interval_ms > 0 ? s->cfg.fsync_interval_ms : 1000;
    struct timespec deadline;
    uint64_t batch = 0;
    deadline_after(&deadline, ms);

    (void)pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && !s->pend_waiters.head) {
            if (interval && s->pend_syncs.head) {
                if (deadline_passed(&deadline))
                    break;
                (void)pthread_cond_timedwait(&s->cond, &s->mu, &deadline);
            } else {
                (void)pthread_cond_wait(&s->cond, &s->mu);
            }
        }
        if (!s->pend_waiters.head && !s->pend_syncs.head) {
            if (s->stop)
                break;
            continue;
        }
        rn_citem_list_t syncs = s->pend_syncs, waiters = s->pend_waiters;
        s->pend_syncs.head = s->pend_syncs.tail = NULL;
        s->pend_waiters.head = s->pend_waiters.tail = NULL;
        s->inflight = syncs;
        s->take_gen++;
        (void)pthread_mutex_unlock(&s->mu);

        batch++;
        struct timespec t0, t1;
        (void)clock_gettime(CLOCK_MONOTONIC, &t0);
        int st = sync_batch(s, syncs.head, batch);
        (void)clock_gettime(CLOCK_MONOTONIC, &t1);
        uint64_t ns = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
        s->st_sync_ns += ns;
        uint64_t nw = 0;
        for (rn_citem_t *w = waiters.head; w; w = w->next) {
            w->batch = batch;
            w->status = st;
            nw++;
        }
        note_batch(s, ns / 1000, nw);

        (void)pthread_mutex_lock(&s->mu);
        s->inflight.head = s->inflight.tail = NULL;
        list_concat(&s->done, &syncs);
        list_concat(&s->done, &waiters);
        int need_wake = !s->woken;
        s->woken = 1;
        (void)pthread_mutex_unlock(&s->mu);
        if (need_wake && s->cfg.wake)
            s->cfg.wake(s->cfg.wake_ud);
        deadline_after(&deadline, ms);
        (void)pthread_mutex_lock(&s->mu);
    }
    (void)pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void commit_stop_workers(rn_store_t *s);

int rn_store__commit_start(rn_store_t *s)
{
    if (pthread_mutex_init(&s->wmu, NULL) != 0)
        return RN_ENOMEM;
    if (pthread_cond_init(&s->wcond, NULL) != 0) {
        (void)pthread_mutex_destroy(&s->wmu);
        return RN_ENOMEM;
    }
    if (pthread_cond_init(&s->wdone, NULL) != 0) {
        (void)pthread_cond_destroy(&s->wcond);
        (void)pthread_mutex_destroy(&s->wmu);
        return RN_ENOMEM;
    }
    s->wsync_init = 1;
    /* Helpers are an optimisation: with fewer (or none) the sync thread
     * syncs the rest itself. */
    for (int i = 0; i < RN_SYNC_WORKERS_MAX; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            rn_warn("store: started %d of %d sync workers", i, RN_SYNC_WORKERS_MAX);
            break;
        }
        s->nworkers = i + 1;
    }
    if (pthread_create(&s->thr, NULL, sync_main, s) != 0) {
        commit_stop_workers(s);
        return RN_ENOMEM;
    }
    return 0;
}

/* Stop and join the helpers (no batch is in flight: the sync thread is
 * joined or was never started), then drop their sync objects. */
static void commit_stop_workers(rn_store_t *s)
{
    if (!s->wsync_init)
        return;
    (void)pthread_mutex_lock(&s->wmu);
    s->wstop = 1;
    (void)pthread_cond_broadcast(&s->wcond);
    (void)pthread_mutex_unlock(&s->wmu);
    for (int i = 0; i < s->nworkers; i++)
        (void)pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
    (void)pthread_cond_destroy(&s->wdone);
    (void)pthread_cond_destroy(&s->wcond);
    (void)pthread_mutex_destroy(&s->wmu);
    s->wsync_init = 0;
}

void rn_store__commit_stop(rn_store_t *s)
{
    (void)pthread_mutex_lock(&s->mu);
    s->stop = 1;
    (void)pthread_cond_signal(&s->cond);
    (void)pthread_mutex_unlock(&s->mu);
    (void)pthread_join(s->thr, NULL);
    commit_stop_workers(s);
    rn_debug("store: group commit: %llu batches, %llu log syncs, %llu fd syncs, %llu ms syncing",
             (unsigned long long)s->st_batches, (unsigned long long)s->st_items,
             (unsigned long long)s->st_fds, (unsigned long long)(s->st_sync_ns / 1000000));
}

/* ---- commit --------------------------------------------------------------------- */

static int fds_reserve(rn_citem_t *it, size_t n)
{
    if (it->fds_cap - it->nfds >= n)
        return 0;
    size_t cap = it->fds_cap ? it->fds_cap * 2 : 4;
    while (cap - it->nfds < n)
        cap *= 2;
    int *p = realloc(it->fds, cap * sizeof *p);
    if (!p)
        return RN_ENOMEM;
    it->fds = p;
    it->fds_cap = cap;
    return 0;
}

/* Under s->mu: fold what l wrote since its last hand-off into its pending
 * SYNC item (creating one from the reserved freelist if needed). If a
 * descriptor cannot be handed over, sync right here instead (blocking, but
 * correct). */
static void handoff_log(rn_store_t *s, rn_log_t *l)
{
    if (!l->unsynced && !l->nhandoff && !l->dir_dirty)
        return;
    rn_citem_t *it = l->pending && l->pending_gen == s->take_gen ? l->pending : NULL;
    if (!it) {
        it = citem_take(s, RN_CITEM_SYNC);
        it->log = l;
        list_push(&s->pend_syncs, it);
        l->pending = it;
        l->pending_gen = s->take_gen;
    }
    it->target = l->next;
    it->target_arrival = l->arrival_appended;
    if (s->jnl.on) {
        /* The journal item of the batch makes these records durable; the
         * segments are synced by the next checkpoint. */
        for (size_t i = 0; i < l->nhandoff; i++)
            (void)close(l->handoff[i]);
        l->nhandoff = 0;
        l->unsynced = 0;
        l->dir_dirty = 0;
        if (s->jnl.failed && !it->status)
            it->status = s->jnl.failed;
        return;
    }
    const rn_seg_t *act = &l->segs[l->nsegs - 1];
    int ok = fds_reserve(it, l->nhandoff + 1) == 0;
    if (ok) {
        if (l->nhandoff)
            memcpy(it->fds + it->nfds, l->handoff, l->nhandoff * sizeof(int));
        it->nfds += l->nhandoff;
        l->nhandoff = 0;
        if (l->unsynced && it->active_base != act->base) {
            /* (open: the open-file cache keeps a log's files while it has
             * appends not handed over) */
            int d = act->fd >= 0 ? dup(act->fd) : -1;
            if (d >= 0) {
                it->fds[it->nfds++] = d;
                it->active_base = act->base;
            } else {
                ok = 0;
            }
        }
        if (ok && l->dir_dirty) {
            /* The descriptor opened when the entry changed goes to the item. */
            if (it->dirfd < 0 && l->dirfd >= 0)
                it->dirfd = l->dirfd;
            else if (l->dirfd >= 0)
                (void)close(l->dirfd);
            else if (it->dirfd < 0)
                ok = 0;
            l->dirfd = -1;
        }
    }
    if (ok) {
        l->unsynced = 0;
        l->dir_dirty = 0;
    } else {
        rn_warn("store: cannot hand log %llu/%u to the sync thread; syncing inline",
                (unsigned long long)l->log_id, l->shard);
        int rc = rn_store__log_sync_now(l);
        if (rc && !it->status)
            it->status = rc;
    }
}

/* Without the journal: open the directory of each log about to be handed
 * over with a directory entry to sync, before s->mu is taken (the item takes
 * the descriptor; no log holds one otherwise). One that cannot be opened
 * makes handoff_log sync that log inline. */
static void dirs_prepare(rn_store_t *s)
{
    if (s->jnl.on || !s->sync_thread)
        return;
    for (rn_log_t *l = s->dirty; l; l = l->dirty_next)
        if (l->dir_dirty && l->dirfd < 0 && l->dir)
            l->dirfd = rn_store__open(s, l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

static size_t dirty_count(const rn_store_t *s)
{
    size_t n = 0;
    for (const rn_log_t *l = s->dirty; l; l = l->dirty_next)
        n++;
    return n;
}

/* Journal: write the buffered records (before taking s->mu) and keep what
 * the sync thread must sync for them, for hand_off_dirty_locked. */
typedef struct jhand {
    int *fds;
    size_t nfds;
    int jfd, jdirfd;
    int rc;
} jhand_t;

static void journal_prepare(rn_store_t *s, jhand_t *jh)
{
    jh->rc = s->jnl.on ? rn_store__journal_handoff(s, &jh->fds, &jh->nfds, &jh->jfd, &jh->jdirfd) : 0;
    if (!s->jnl.on) {
        jh->fds = NULL;
        jh->nfds = 0;
        jh->jfd = jh->jdirfd = -1;
    } else if (!s->sync_thread) {
        /* fsync never: written is all it gets. */
        for (size_t i = 0; i < jh->nfds; i++)
            (void)close(jh->fds[i]);
        free(jh->fds);
        jh->fds = NULL;
        jh->nfds = 0;
        jh->jfd = jh->jdirfd = -1;
    }
}

/* Under s->mu: the journal's SYNC item (a reserved one from the freelist),
 * merged into the pending one of this batch if there is one. */
static void journal_item_locked(rn_store_t *s, jhand_t *jh)
{
    if (!jh->nfds && jh->jfd < 0 && jh->jdirfd < 0 && !jh->rc) {
        free(jh->fds);
        return;
    }
    rn_citem_t *it = s->jpending && s->jpending_gen == s->take_gen ? s->jpending : NULL;
    if (!it) {
        it = citem_take(s, RN_CITEM_SYNC);
        it->log = NULL;
        list_push(&s->pend_syncs, it);
        s->jpending = it;
        s->jpending_gen = s->take_gen;
    }
    if (jh->rc && !it->status)
        it->status = jh->rc;
    if (jh->nfds && fds_reserve(it, jh->nfds) == 0) {
        memcpy(it->fds + it->nfds, jh->fds, jh->nfds * sizeof(int));
        it->nfds += jh->nfds;
    } else {
        for (size_t i = 0; i < jh->nfds; i++) { /* cannot hand over: sync here */
            if (rn_store__fdatasync(jh->fds[i]) != 0 && !it->status)
                it->status = RN_EIO;
            (void)close(jh->fds[i]);
        }
    }
    free(jh->fds);
    if (jh->jfd >= 0)
        it->jfd = jh->jfd;
    if (jh->jdirfd >= 0)
        it->jdirfd = jh->jdirfd;
}

/* Under s->mu: empty the dirty list, handing each log to the sync thread
 * (its SYNC items come from the freelist: reserve dirty_count() first). */
static void hand_off_dirty_locked(rn_store_t *s)
{
    rn_log_t *l = s->dirty;
    s->dirty = NULL;
    while (l) {
        rn_log_t *nx = l->dirty_next;
        l->dirty = 0;
        l->dirty_next = NULL;
        if (s->sync_thread) {
            handoff_log(s, l);
        } else {
            l->unsynced = 0; /* never / memory: nothing to hand over */
            if (s->jnl.on && !s->jnl.failed && l->committed < l->next) {
                /* fsync never under the journal: staged records are readable
                 * once their journal copy is written (journal_prepare, just
                 * before): a kill -9 cannot take them back any more. */
                l->committed = l->next;
                l->arrival_committed = l->arrival_appended;
                rn_store__notify_queue(s, l);
            }
        }
        l = nx;
    }
}

/* cfg.counters_at_commit: report every counter not yet reported. */
static void report_counters(rn_store_t *s)
{
    for (size_t i = 0; i < s->ndue; i++)
        *s->due[i].dst = s->due[i].val;
    s->ndue = 0;
}

int rn_store_commit(rn_store_t *s, void (*done)(void *ud, int status), void *ud)
{
    /* With defer_commit under fsync always the waiter is only gathered:
     * rn_store_kick hands the logs over. */
    int gather = s->durable && s->cfg.defer_commit;
    int rc = citem_reserve(s, 2 + (s->sync_thread && !gather ? dirty_count(s) : 0));
    if (rc) {
        report_counters(s); /* no done() will come: the callers' *first are theirs again */
        return rc;
    }
    rn_citem_t *w = citem_take(s, RN_CITEM_WAITER);
    w->done = done;
    w->ud = ud;
    w->seq = ++s->commit_seq;
    if (gather) {
        list_push(&s->unkicked, w); /* no lock, no hand-off, no signal here */
        return 0;
    }

    jhand_t jh;
    journal_prepare(s, &jh);
    dirs_prepare(s);
    (void)pthread_mutex_lock(&s->mu);
    int was_idle = !s->pend_syncs.head;
    hand_off_dirty_locked(s);
    journal_item_locked(s, &jh);
    int need_wake = 0;
    if (s->durable) {
        list_push(&s->pend_waiters, w);
        (void)pthread_cond_signal(&s->cond);
    } else {
        /* Visible already: complete through the queue, never from here. */
        list_push(&s->done, w);
        need_wake = !s->woken;
        s->woken = 1;
        if (s->sync_thread && was_idle && s->pend_syncs.head)
            (void)pthread_cond_signal(&s->cond); /* start the interval timer */
    }
    (void)pthread_mutex_unlock(&s->mu);
    if (need_wake && s->cfg.wake)
        s->cfg.wake(s->cfg.wake_ud);
    return 0;
}

void rn_store__fail_commits_after(rn_store_t *s, uint64_t seq, int status)
{
    for (rn_citem_t *w = s->unkicked.head; w; w = w->next)
        if (w->seq > seq && !w->status)
            w->status = status;
    if (s->durable)
        return; /* no waiter of a later commit is anywhere else yet */
    (void)pthread_mutex_lock(&s->mu);
    for (rn_citem_t *w = s->done.head; w; w = w->next)
        if (w->kind == RN_CITEM_WAITER && w->seq > seq && !w->status)
            w->status = status;
    (void)pthread_mutex_unlock(&s->mu);
}

/* The end of an event-loop round (cfg.defer_commit): write every staged
 * append, then hand the round's commits over as one group. Under fsync
 * always the waiters gathered since the last kick join the sync thread's
 * next batch, with a SYNC item for every log written meanwhile; a waiter
 * that a dropped stage failed completes with its error instead. Under fsync
 * never the waiters are already queued: rn_store_run_completions runs them. */
void rn_store_kick(rn_store_t *s)
{
    if (!s->staged && !s->unkicked.head)
        return;
    if (s->jnl.on)
        rn_store__journal_kick(s); /* stages are written behind */
    else
        (void)rn_store__flush_all(s);
    if (!s->unkicked.head)
        return;
    int handoff = citem_reserve(s, dirty_count(s) + 1) == 0;
    jhand_t jh = {NULL, 0, -1, -1, 0};
    if (handoff) {
        journal_prepare(s, &jh);
        dirs_prepare(s);
    }

    rn_citem_list_t failed = {NULL, NULL}, ok = {NULL, NULL};
    for (rn_citem_t *w = s->unkicked.head, *nx; w; w = nx) {
        nx = w->next;
        if (!handoff && !w->status)
            w->status = RN_ENOMEM; /* nothing handed over: the logs stay dirty */
        list_push(w->status ? &failed : &ok, w);
    }
    s->unkicked.head = s->unkicked.tail = NULL;

    (void)pthread_mutex_lock(&s->mu);
    int need_wake = 0;
    if (handoff) {
        hand_off_dirty_locked(s);
        journal_item_locked(s, &jh);
    }
    if (ok.head) {
        list_concat(&s->pend_waiters, &ok);
        (void)pthread_cond_signal(&s->cond);
    }
    if (failed.head) {
        list_concat(&s->done, &failed);
        need_wake = !s->woken;
        s->woken = 1;
    }
    (void)pthread_mutex_unlock(&s->mu);
    if (need_wake && s->cfg.wake)
        s->cfg.wake(s->cfg.wake_ud);
}

void rn_store_run_completions(rn_store_t *s)
{
    /* Before any done() runs, so each commit made after an append finds its
     * counter set. */
    report_counters(s);
    /* Fsync never: waiters are queued at commit, their records maybe only
     * staged. Write the stages first: a failure marks the waiters it drops.
     * (Under the journal the commit made them readable: written behind.) */
    if (!s->durable && !s->jnl.on && s->staged)
        (void)rn_store__flush_all(s);
    (void)pthread_mutex_lock(&s->mu);
    rn_citem_t *it = s->done.head;
    s->done.head = s->done.tail = NULL;
    s->woken = 0;
    (void)pthread_mutex_unlock(&s->mu);

    uint64_t cur_batch = 0;
    int cur_status = 0;
    while (it) {
        rn_citem_t *nx = it->next;
        if (it->kind == RN_CITEM_SYNC) {
            if (it->batch != cur_batch) {
                cur_batch = it->batch;
                cur_status = 0;
            }
            int st = it->status;
            rn_log_t *l = it->log;
            if (l) {
                if (st < 0 && !l->failed) {
                    rn_error("store: log %llu/%u poisoned after a failed sync; counters from %llu "
                             "are never acknowledged",
                             (unsigned long long)l->log_id, l->shard,
                             (unsigned long long)l->committed);
                    l->failed = RN_EIO;
                }
                if (l->failed) {
                    if (!st)
                        st = l->failed;
                } else if (s->durable && it->target > l->committed) {
                    l->committed = it->target;
                    l->arrival_committed = it->target_arrival;
                    rn_store__notify_queue(s, l);
                }
                if (l->pending == it)
                    l->pending = NULL;
            } else {
                if (s->jpending == it)
                    s->jpending = NULL;
                if (st < 0 && !s->jnl.failed) {
                    /* The journal may have lost bytes before later ones: a
                     * replay would stop there. Nothing more is taken. */
                    rn_error("store: the commit journal could not be synced; the store refuses "
                             "writes from now on");
                    s->jnl.failed = RN_EIO;
                }
            }
            if (st < 0 && !cur_status)
                cur_status = st;
            citem_put(s, it);
        } else {
            int st = it->status;
            if (!st && it->batch && it->batch == cur_batch)
                st = cur_status;
            void (*done)(void *, int) = it->done;
            void *ud = it->ud;
            citem_put(s, it);
            if (done)
                done(ud, st);
        }
        it = nx;
    }
    /* Wake the readers of logs that advanced, after the acknowledgements. */
    while (s->notify) {
        rn_log_t *l = s->notify;
        s->notify = l->notify_next;
        l->notify_next = NULL;
        l->notify_queued = 0;
        for (rn_log_waiter_t *w = l->waiters; w;) {
            rn_log_waiter_t *wn = w->next; /* fn may unwatch w itself */
            w->fn(w->ud);
            w = wn;
        }
    }
}

/* ---- commit listeners -------------------------------------------------------------- */

void rn_store__notify_queue(rn_store_t *s, rn_log_t *l)
{
    if (!l->waiters || l->notify_queued)
        return;
    l->notify_queued = 1;
    l->notify_next = s->notify;
    s->notify = l;
}

void rn_store__notify_forget(rn_store_t *s, rn_log_t *l)
{
    if (l->notify_queued) {
        for (rn_log_t **pp = &s->notify; *pp; pp = &(*pp)->notify_next) {
            if (*pp == l) {
                *pp = l->notify_next;
                break;
            }
        }
        l->notify_queued = 0;
        l->notify_next = NULL;
    }
    while (l->waiters) {
        rn_log_waiter_t *w = l->waiters;
        rn_log_unwatch(w);
        w->fn(w->ud);
    }
}

void rn_log_watch(rn_log_t *l, rn_log_waiter_t *w)
{
    if (w->log)
        rn_log_unwatch(w);
    w->log = l;
    w->prev = NULL;
    w->next = l->waiters;
    if (l->waiters)
        l->waiters->prev = w;
    l->waiters = w;
}

void rn_log_unwatch(rn_log_waiter_t *w)
{
    rn_log_t *l = w->log;
    if (!l)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->log = NULL;
}
