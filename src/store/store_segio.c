/* store_segio.c: segment I/O, one vtable per backend.
 *
 * A segment is a byte string of frames (format in store_int.h). The disk
 * backend keeps it in DATA_DIR/logs/<log_id>/<shard>/<base:%020>.seg and
 * writes with pwritev at the segment's end; the memory backend keeps it in a
 * list of fixed-size chunks. store_log.c sees only this vtable.
 *
 * Descriptors: a log holds at most two, its active segment's (O_RDWR) and
 * one cached sealed segment's (O_RDONLY, opened on first read and kept until
 * another sealed segment of the same log is read: readers of a shard move
 * forward, so this hits almost always). Across logs they are an LRU cache
 * bounded by s->max_files (the open-file cache below): past it the least
 * recently used log's descriptors are closed, and reopened lazily by the
 * next read, write, fold of a stage or trim (rn_store__seg_open). */
#include "store/store_int.h"
#include "util/status.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t default_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return pwritev(fd, iov, cnt, off);
}

ssize_t (*rn_store__pwritev)(int fd, const struct iovec *iov, int cnt, off_t off) = default_pwritev;
int (*rn_store__fdatasync)(int fd) = fdatasync;

int rn_store__errno(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return RN_ENOSPC;
    case ENOMEM:
        return RN_ENOMEM;
    case ENOENT:
        return RN_ENOENT;
    case EEXIST:
        return RN_EEXIST;
    case EWOULDBLOCK:
        return RN_EBUSY;
    case EMFILE:
    case ENFILE:
        return RN_EMFILE;
    default:
        return RN_EIO;
    }
}

/* ---- the open-file cache ------------------------------------------------------------ */

static void lru_unlink(rn_store_t *s, rn_log_t *l)
{
    if (l->lru_prev)
        l->lru_prev->lru_next = l->lru_next;
    else
        s->lru_head = l->lru_next;
    if (l->lru_next)
        l->lru_next->lru_prev = l->lru_prev;
    else
        s->lru_tail = l->lru_prev;
    l->lru_prev = l->lru_next = NULL;
}

/* l (holding descriptors, or about to) becomes the most recently used. */
static void lru_touch(rn_store_t *s, rn_log_t *l)
{
    if (s->lru_head == l)
        return;
    if (l->lru_prev || l->lru_next || s->lru_tail == l)
        lru_unlink(s, l);
    l->lru_next = s->lru_head;
    if (s->lru_head)
        s->lru_head->lru_prev = l;
    s->lru_head = l;
    if (!s->lru_tail)
        s->lru_tail = l;
}

static int on_lru(const rn_store_t *s, const rn_log_t *l)
{
    return l->lru_prev || l->lru_next || s->lru_head == l;
}

/* Without the journal, a commit hand-off dup()s the active segment's
 * descriptor of every log appended since the last one: keep those open. */
static int evictable(const rn_store_t *s, const rn_log_t *l)
{
    return !(s->sync_thread && !s->jnl.on && l->unsynced);
}

static void fd_release(rn_log_t *l, rn_seg_t *seg)
{
    rn_store_t *s = l->store;
    seg->fd = -1;
    l->nfiles--;
    s->nfiles--;
    if (l->nfiles == 0 && on_lru(s, l))
        lru_unlink(s, l);
}

/* Close every segment descriptor of l (its active and cached segments). */
static void files_close_log(rn_log_t *l)
{
    if (l->nsegs && l->segs[l->nsegs - 1].fd >= 0)
        rn_store__seg_fd_close(l, &l->segs[l->nsegs - 1]);
    if (l->cached >= 0 && (size_t)l->cached < l->nsegs)
        rn_store__seg_fd_close(l, &l->segs[l->cached]);
    l->cached = -1;
}

/* Close the least recently used evictable log's descriptors (never the most
 * recent log's: it is the one being read or written). 1 if any were. */
static int files_shed_one(rn_store_t *s)
{
    for (rn_log_t *v = s->lru_tail; v && v != s->lru_head; v = v->lru_prev) {
        if (!evictable(s, v))
            continue;
        files_close_log(v);
        s->files_evicted++;
        return 1;
    }
    return 0;
}

void rn_store__seg_fd_set(rn_log_t *l, rn_seg_t *seg, int fd)
{
    rn_store_t *s = l->store;
    seg->fd = fd;
    l->nfiles++;
    s->nfiles++;
    lru_touch(s, l);
    while (s->nfiles > s->max_files && files_shed_one(s))
        ;
}

void rn_store__seg_fd_close(rn_log_t *l, rn_seg_t *seg)
{
    if (seg->fd < 0)
        return;
    (void)close(seg->fd);
    fd_release(l, seg);
}

int rn_store__seg_fd_take(rn_log_t *l, rn_seg_t *seg)
{
    int fd = seg->fd;
    if (fd >= 0)
        fd_release(l, seg);
    return fd;
}

#define RECLAIM_TRIES 8

static int fd_shortage(int e)
{
    return e == EMFILE || e == ENFILE;
}

/* Out of descriptors: close an idle log's files first, else ask cfg.reclaim_fd. */
static int reclaim(rn_store_t *s)
{
    if (files_shed_one(s))
        return 1;
    return s->cfg.reclaim_fd && s->cfg.reclaim_fd(s->cfg.reclaim_ud);
}

int rn_store__open(rn_store_t *s, const char *path, int flags, mode_t mode)
{
    int fd, tries = 0;
    while ((fd = open(path, flags, mode)) < 0 && fd_shortage(errno) && tries++ < RECLAIM_TRIES &&
           reclaim(s))
        ;
    return fd;
}

DIR *rn_store__opendir(rn_store_t *s, const char *path)
{
    DIR *d;
    int tries = 0;
    while (!(d = opendir(path)) && fd_shortage(errno) && tries++ < RECLAIM_TRIES && reclaim(s))
        ;
    return d;
}

/* ---- disk ---------------------------------------------------------------- */

static int seg_path(const rn_log_t *l, uint64_t base, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%020llu.seg", l->dir, (unsigned long long)base);
    return (n < 0 || (size_t)n >= cap) ? RN_ETOOBIG : 0;
}

static int file_create(rn_log_t *l, rn_seg_t *seg)
{
    char path[PATH_MAX];
    int rc = seg_path(l, seg->base, path, sizeof path);
    if (rc)
        return rc;
    lru_touch(l->store, l); /* a shortage below closes other logs' files, not this one's */
    int fd = rn_store__open(l->store, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rn_error("store: create %s: %s", path, strerror(errno));
        rc = rn_store__errno(errno);
        if (!l->nfiles)
            lru_unlink(l->store, l);
        return rc;
    }
    rn_store__seg_fd_set(l, seg, fd);
    l->dir_dirty = 1;
    return 0;
}

static int file_write(rn_log_t *l, rn_seg_t *seg, struct iovec *iov, int iovcnt, size_t total)
{
    uint64_t off = seg->size;
    size_t left = total;
    int i = 0, err = 0;
    size_t jmark = 0;
    int rc = rn_store__seg_open(l, seg); /* first: nothing is journaled if it fails */
    if (rc)
        return rc;
    if (l->store->jnl.on && !l->store->jnl_quiet) {
        /* The journal's copy first (the write below consumes iov); undone
         * if the write fails. */
        rc = rn_store__journal_write_rec(l, seg, iov, iovcnt, total, &jmark);
        if (rc)
            return rc;
    }
    while (left > 0) {
        int cnt = iovcnt - i;
        if (cnt > IOV_MAX)
            cnt = IOV_MAX;
        if (cnt <= 0) {
            err = EIO;
            goto fail;
        }
        ssize_t n = rn_store__pwritev(seg->fd, iov + i, cnt, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            goto fail;
        }
        if (n == 0) {
            err = EIO;
            goto fail;
        }
        off += (uint64_t)n;
        left -= (size_t)n;
        size_t adv = (size_t)n;
        while (adv > 0 && i < iovcnt) {
            if (adv >= iov[i].iov_len) {
                adv -= iov[i].iov_len;
                i++;
            } else {
                iov[i].iov_base = (uint8_t *)iov[i].iov_base + adv;
                iov[i].iov_len -= adv;
                adv = 0;
            }
        }
    }
    return 0;

fail:
    if (l->store->jnl.on && !l->store->jnl_quiet)
        rn_store__journal_unwrite(l->store, jmark);
    rn_error("store: write to log %llu/%u segment %llu: %s", (unsigned long long)l->log_id,
             l->shard, (unsigned long long)seg->base, strerror(err));
    /* All-or-nothing: cut whatever part of the batch reached the file. */
    while (ftruncate(seg->fd, (off_t)seg->size) != 0) {
        if (errno == EINTR)
            continue;
        rn_error("store: cannot truncate log %llu/%u back after a failed write: %s",
                 (unsigned long long)l->log_id, l->shard, strerror(errno));
        l->failed = RN_EIO; /* the tail is unknown now: refuse further appends */
        break;
    }
    return rn_store__errno(err);
}

int rn_store__seg_open(rn_log_t *l, rn_seg_t *seg)
{
    rn_store_t *s = l->store;
    lru_touch(s, l); /* a shortage below closes other logs' files, not this one's */
    if (seg->fd >= 0)
        return 0;
    char path[PATH_MAX];
    int rc = seg_path(l, seg->base, path, sizeof path);
    if (rc)
        goto fail;
    ssize_t me = seg - l->segs;
    int is_active = (size_t)me + 1 == l->nsegs;
    int fd = rn_store__open(s, path, (is_active ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    if (fd < 0) {
        rn_error("store: open %s: %s", path, strerror(errno));
        rc = rn_store__errno(errno);
        goto fail;
    }
    if (!is_active) {
        if (l->cached >= 0 && l->cached != me && (size_t)l->cached + 1 < l->nsegs)
            rn_store__seg_fd_close(l, &l->segs[l->cached]);
        l->cached = me;
    }
    rn_store__seg_fd_set(l, seg, fd);
    return 0;
fail:
    if (!l->nfiles)
        lru_unlink(s, l);
    return rc;
}

static int file_read(rn_log_t *l, rn_seg_t *seg, uint64_t off, void *dst, size_t len)
{
    int rc = rn_store__seg_open(l, seg);
    if (rc)
        return rc;
    uint8_t *p = dst;
    while (len > 0) {
        ssize_t n = pread(seg->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rn_error("store: read log %llu/%u segment %llu: %s", (unsigned long long)l->log_id,
                     l->shard, (unsigned long long)seg->base, strerror(errno));
            return RN_EIO;
        }
        if (n == 0)
            return RN_ECORRUPT; /* shorter than the index says */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int file_truncate(rn_log_t *l, rn_seg_t *seg, uint64_t size)
{
    int rc = rn_store__seg_open(l, seg);
    if (rc)
        return rc;
    while (ftruncate(seg->fd, (off_t)size) != 0) {
        if (errno != EINTR)
            return rn_store__errno(errno);
    }
    return 0;
}

static void file_release(rn_log_t *l, rn_seg_t *seg)
{
    rn_store__seg_fd_close(l, seg);
}

const rn_segio_ops_t rn_store__file_ops = {
    .create = file_create,
    .write = file_write,
    .read = file_read,
    .truncate = file_truncate,
    .release = file_release,
};

/* ---- memory ---------------------------------------------------------------- */

static int mem_create(rn_log_t *l, rn_seg_t *seg)
{
    uint64_t want = l->store->cfg.segment_bytes;
    if (want > RN_MEM_CHUNK_MAX)
        want = RN_MEM_CHUNK_MAX;
    if (want < 4096)
        want = 4096;
    seg->chunk_size = (size_t)want;
    return 0;
}

static int mem_write(rn_log_t *l, rn_seg_t *seg, struct iovec *iov, int iovcnt, size_t total)
{
    size_t cs = seg->chunk_size;
    size_t need = (size_t)((seg->size + total + cs - 1) / cs);
    /* Allocate every chunk first so that the copy below cannot fail. */
    if (need > seg->chunks_cap) {
        size_t cap = seg->chunks_cap ? seg->chunks_cap * 2 : 8;
        while (cap < need)
            cap *= 2;
        uint8_t **p = realloc(seg->chunks, cap * sizeof *p);
        if (!p)
            return RN_ENOMEM;
        seg->chunks = p;
        seg->chunks_cap = cap;
    }
    while (seg->nchunks < need) {
        uint8_t *c = malloc(cs);
        if (!c)
            return RN_ENOMEM;
        seg->chunks[seg->nchunks++] = c;
    }
    uint64_t off = seg->size;
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *src = iov[i].iov_base;
        size_t len = iov[i].iov_len;
        while (len > 0) {
            size_t ci = (size_t)(off / cs), co = (size_t)(off % cs);
            size_t k = cs - co < len ? cs - co : len;
            memcpy(seg->chunks[ci] + co, src, k);
            src += k;
            len -= k;
            off += k;
        }
    }
    return 0;
}

static int mem_read(rn_log_t *l, rn_seg_t *seg, uint64_t off, void *dst, size_t len)
{
    size_t cs = seg->chunk_size;
    if (off + len > (uint64_t)seg->nchunks * cs)
        return RN_ECORRUPT;
    uint8_t *d = dst;
    while (len > 0) {
        size_t ci = (size_t)(off / cs), co = (size_t)(off % cs);
        size_t k = cs - co < len ? cs - co : len;
        memcpy(d, seg->chunks[ci] + co, k);
        d += k;
        len -= k;
        off += k;
    }
    return 0;
}

static int mem_truncate(rn_log_t *l, rn_seg_t *seg, uint64_t size)
{
    size_t keep = (size_t)((size + seg->chunk_size - 1) / seg->chunk_size);
    while (seg->nchunks > keep)
        free(seg->chunks[--seg->nchunks]);
    return 0;
}

static void mem_release(rn_log_t *l, rn_seg_t *seg)
{
    for (size_t i = 0; i < seg->nchunks; i++)
        free(seg->chunks[i]);
    free(seg->chunks);
    seg->chunks = NULL;
    seg->nchunks = seg->chunks_cap = 0;
}

const rn_segio_ops_t rn_store__mem_ops = {
    .create = mem_create,
    .write = mem_write,
    .read = mem_read,
    .truncate = mem_truncate,
    .release = mem_release,
};
