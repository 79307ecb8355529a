/* store_journal.c: the store-wide commit journal (docs/storage.md, "Commit journal").
 *
 * Under fsync always and interval every byte written to a segment is also
 * appended, as a journal record, to one sequential file per store; a group
 * commit is then one fdatasync of that file, whatever the number of logs it
 * touched. Segments are made durable in the background by a checkpoint:
 *
 *   loop thread                           checkpoint thread
 *   segment pwritev (page cache)
 *   the same bytes -> journal buffer
 *   commit hand-off: one pwrite of the
 *     buffer; the sync thread fdatasyncs
 *     the journal (store_commit.c)
 *   every RN_CKPT_BYTES or RN_CKPT_MS:
 *     request a checkpoint at the
 *     journal position P          ----->  syncfs(): every segment write issued
 *                                         before P is durable; write CHECKPOINT
 *                                         = P (tmp, fdatasync, rename, fsync dir);
 *                                         files wholly before P are recycled
 *
 * Recovery (rn_store__journal_open) replays the records from CHECKPOINT on
 * into the segment files (an idempotent pwrite at the recorded offset), along
 * the chain of files: a file is followed by the next one only past an END
 * record, so a torn file never leads to a later one. Records carry their
 * file's sequence number, so the stale contents of a recycled file never
 * pass for new ones.
 *
 * Journal files are allocated at their full size when created (fallocate), so
 * a commit does not change a file's size; recycled files are reused whole. */
#include "store/store_int.h"
#include "store/crc32c.h"
#include "util/log.h"
#include "util/status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RN_JNL_MAGIC "RNCKPT01"
#define RN_JNL_SPARES RN_JNL_SPARES_MAX
#define RN_JNL_REPLAY_FDS 4096 /* slots of the replay's segment cache (direct-mapped) */

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

int rn_store__no_checkpoints;

static int64_t now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int jpath(const rn_store_t *s, uint64_t jseq, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/journal/%020llu.jnl", s->data_dir, (unsigned long long)jseq);
    return (n < 0 || (size_t)n >= cap) ? RN_ETOOBIG : 0;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return rn_store__errno(errno);
        }
        if (n == 0)
            return RN_EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return rn_store__errno(errno);
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

/* ---- record building (loop thread) ------------------------------------------------ */

/* Header of a record at p (RN_JREC_HDR bytes); the CRC is set by jrec_seal. */
static void jrec_header(uint8_t *p, uint32_t len, uint64_t jseq, int type, uint64_t log_id,
                        uint32_t shard, uint64_t base, uint64_t off)
{
    put32(p, len);
    put32(p + 4, 0);
    put64(p + 8, jseq);
    p[16] = (uint8_t)type;
    p[17] = p[18] = p[19] = 0;
    put32(p + 20, shard);
    put64(p + 24, log_id);
    put64(p + 32, base);
    put64(p + 40, off);
}

static void jrec_seal(uint8_t *p)
{
    uint32_t len = get32(p);
    put32(p + 4, rn_crc32c(0, p + 8, len - 8));
}

/* The allocation of a new file of at least `need` bytes: the configured size,
 * less when the disk cannot give it (halving, not below need or 1 MiB). */
static int jfile_create(rn_store_t *s, uint64_t jseq, uint64_t need, int *fd_out, uint64_t *size_out,
                        int *fresh)
{
    *fresh = 0;
    rn_journal_t *j = &s->jnl;
    char path[PATH_MAX], spare[PATH_MAX];
    int rc = jpath(s, jseq, path, sizeof path);
    if (rc)
        return rc;
    /* A recycled file first: it is allocated already. */
    (void)pthread_mutex_lock(&j->mu);
    uint64_t sp = 0;
    if (j->nspares) {
        sp = j->spares[--j->nspares];
    }
    (void)pthread_mutex_unlock(&j->mu);
    if (sp) {
        (void)snprintf(spare, sizeof spare, "%s/journal/spare-%020llu.jnl", s->data_dir,
                       (unsigned long long)sp);
        int fd = -1;
        struct stat st;
        if (rename(spare, path) == 0 && (fd = rn_store__open(s, path, O_RDWR | O_CLOEXEC, 0)) >= 0 &&
            fstat(fd, &st) == 0 && (uint64_t)st.st_size >= need) {
            *fd_out = fd;
            *size_out = (uint64_t)st.st_size;
            return 0; /* written whole before: a commit changes no extent */
        }
        if (fd >= 0)
            (void)close(fd);
        (void)unlink(path);
        (void)unlink(spare);
    }
    uint64_t size = j->file_bytes;
    if (size < need)
        size = need;
    int fd = rn_store__open(s, path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return rn_store__errno(errno);
    for (;;) {
        int r = fallocate(fd, 0, 0, (off_t)size);
        if (r == 0)
            break;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EOPNOTSUPP) { /* a filesystem without fallocate: a sparse file */
            if (ftruncate(fd, (off_t)size) == 0)
                break;
            e = errno;
        }
        uint64_t floor = need > (1u << 20) ? need : (1u << 20);
        if (e == ENOSPC && size / 2 >= floor) {
            size /= 2;
            continue;
        }
        (void)close(fd);
        (void)unlink(path);
        return rn_store__errno(e);
    }
    *fd_out = fd;
    *size_out = size;
    *fresh = 1; /* allocated, not written: the first write of each extent is a metadata change */
    return 0;
}

/* Write the buffered records at the file's end. A failure is fatal to the
 * journal: records already in segments would have no journal copy. */
static int jbuf_write(rn_store_t *s)
{
    rn_journal_t *j = &s->jnl;
    if (!j->buf.len)
        return 0;
    if (j->failed)
        return j->failed;
    int rc = write_all(j->fd, j->buf.data, j->buf.len, j->off);
    if (rc) {
        rn_error("store: journal write failed: %s; the store refuses writes from now on",
                 rn_strerror(rc));
        j->failed = RN_EIO;
        return j->failed;
    }
    j->off += j->buf.len;
    j->since_ckpt += j->buf.len;
    j->unsynced = 1;
    rn_buf_reset(&j->buf);
    if (j->fresh && !j->spares_asked && j->off >= j->size / 8) {
        /* In real use (not a test's few records): have spares written whole. */
        j->spares_asked = 1;
        (void)pthread_mutex_lock(&j->mu);
        j->want_spares = 1;
        (void)pthread_cond_signal(&j->cond);
        (void)pthread_mutex_unlock(&j->mu);
    }
    return 0;
}

/* Close the current file with an END record and retire its descriptor to the
 * next hand-off's sync; open the next file. */
static int jroll(rn_store_t *s, uint64_t need)
{
    rn_journal_t *j = &s->jnl;
    int rc;
    if (j->fd >= 0) {
        if (j->nretired == j->retired_cap) {
            size_t cap = j->retired_cap ? j->retired_cap * 2 : 4;
            int *p = realloc(j->retired, cap * sizeof *p);
            if (!p)
                return RN_ENOMEM;
            j->retired = p;
            j->retired_cap = cap;
        }
        if ((rc = rn_buf_reserve(&j->buf, RN_JREC_HDR)) != 0)
            return rc;
        uint8_t *h = j->buf.data + j->buf.len;
        jrec_header(h, RN_JREC_HDR, j->jseq, RN_JREC_END, 0, 0, 0, 0);
        jrec_seal(h);
        j->buf.len += RN_JREC_HDR;
        if ((rc = jbuf_write(s)) != 0)
            return rc;
        j->retired[j->nretired++] = j->fd;
        j->fd = -1;
        j->jseq++;
        j->off = 0;
    }
    int fd, fresh;
    uint64_t size;
    if ((rc = jfile_create(s, j->jseq, need, &fd, &size, &fresh)) != 0) {
        rn_error("store: cannot create journal file %llu: %s", (unsigned long long)j->jseq,
                 rn_strerror(rc));
        return rc;
    }
    j->fd = fd;
    j->size = size;
    j->off = 0;
    j->dir_dirty = 1;
    j->fresh = fresh;
    return 0;
}

/* Make room for a record of `payload` bytes in the current file (rolling to
 * a new one when needed; an END record always fits after it). */
static int jreserve(rn_store_t *s, size_t payload)
{
    rn_journal_t *j = &s->jnl;
    if (j->failed)
        return j->failed;
    uint64_t need = RN_JREC_HDR + (uint64_t)payload;
    if (j->fd >= 0 && j->fresh) {
        /* A file only allocated (the first after a start): each commit into
         * it also converts extents, a metadata change fdatasync must
         * journal. Move to a spare written whole as soon as there is one. */
        (void)pthread_mutex_lock(&j->mu);
        int ready = j->nspares > 0;
        (void)pthread_mutex_unlock(&j->mu);
        if (ready) {
            int rc = jroll(s, need + RN_JREC_HDR);
            if (rc)
                return rc;
            return rn_buf_reserve(&j->buf, (size_t)need);
        }
    }
    if (j->fd >= 0 && j->off + j->buf.len + need + RN_JREC_HDR <= j->size)
        return rn_buf_reserve(&j->buf, (size_t)need);
    int rc = jroll(s, need + RN_JREC_HDR);
    if (rc)
        return rc;
    return rn_buf_reserve(&j->buf, (size_t)need);
}

int rn_store__journal_write_rec(rn_log_t *l, const rn_seg_t *seg, const struct iovec *iov, int iovcnt,
                                size_t total, size_t *mark)
{
    rn_store_t *s = l->store;
    rn_journal_t *j = &s->jnl;
    int rc = jreserve(s, total);
    if (rc)
        return rc;
    *mark = j->buf.len;
    uint8_t *h = j->buf.data + j->buf.len;
    jrec_header(h, (uint32_t)(RN_JREC_HDR + total), j->jseq, RN_JREC_WRITE, l->log_id, l->shard,
                seg->base, seg->size);
    uint8_t *w = h + RN_JREC_HDR;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(w, iov[i].iov_base, iov[i].iov_len);
        w += iov[i].iov_len;
    }
    jrec_seal(h);
    j->buf.len += RN_JREC_HDR + total;
    return 0;
}

int rn_store__journal_reserve(rn_store_t *s, size_t payload) { return jreserve(s, payload); }

int rn_store__journal_stage(rn_log_t *l)
{
    rn_store_t *s = l->store;
    rn_journal_t *j = &s->jnl;
    rn_buf_t *b = l->stage;
    if (!b || l->st_jlen >= b->len)
        return 0;
    size_t n = b->len - l->st_jlen;
    int rc = jreserve(s, n);
    if (rc)
        return rc;
    const rn_seg_t *seg = &l->segs[l->nsegs - 1];
    uint8_t *h = j->buf.data + j->buf.len;
    jrec_header(h, (uint32_t)(RN_JREC_HDR + n), j->jseq, RN_JREC_WRITE, l->log_id, l->shard, seg->base,
                seg->size + l->st_jlen);
    memcpy(h + RN_JREC_HDR, b->data + l->st_jlen, n);
    jrec_seal(h);
    j->buf.len += RN_JREC_HDR + n;
    l->st_jlen = b->len;
    return 0;
}

int rn_store__journal_ckpt_due(const rn_store_t *s)
{
    const rn_journal_t *j = &s->jnl;
    return j->thr_started && j->fd >= 0 && !rn_store__no_checkpoints && !j->ckpt_blocked &&
           (j->since_ckpt + j->buf.len >= j->ckpt_bytes ||
            (j->since_ckpt + j->buf.len && now_ms() - j->last_ckpt_ms >= j->ckpt_ms));
}

void rn_store__journal_unwrite(rn_store_t *s, size_t mark)
{
    if (mark <= s->jnl.buf.len)
        s->jnl.buf.len = mark;
}

int rn_store__journal_remove(rn_store_t *s, uint64_t log_id, int64_t shard)
{
    rn_journal_t *j = &s->jnl;
    int rc = jreserve(s, 0);
    if (rc)
        return rc;
    uint8_t *h = j->buf.data + j->buf.len;
    jrec_header(h, RN_JREC_HDR, j->jseq, RN_JREC_REMOVE, log_id,
                shard < 0 ? UINT32_MAX : (uint32_t)shard, 0, 0);
    jrec_seal(h);
    j->buf.len += RN_JREC_HDR;
    /* The removal must not be undone by a replay of the records before it. */
    return rn_store__journal_sync_now(s);
}

/* ---- hand-off and syncing ----------------------------------------------------------- */

static void ckpt_request(rn_store_t *s, uint64_t jseq, uint64_t off)
{
    rn_journal_t *j = &s->jnl;
    if (rn_store__no_checkpoints)
        return;
    (void)pthread_mutex_lock(&j->mu);
    j->req = 1;
    j->req_jseq = jseq;
    j->req_off = off;
    (void)pthread_cond_signal(&j->cond);
    (void)pthread_mutex_unlock(&j->mu);
    j->since_ckpt = 0;
    j->last_ckpt_ms = now_ms();
}

void rn_store__journal_ckpt_flushed(rn_store_t *s)
{
    rn_journal_t *j = &s->jnl;
    if (!s->staged && !j->ckpt_blocked && j->thr_started && j->fd >= 0 && j->since_ckpt)
        ckpt_request(s, j->jseq, j->off);
}

int rn_store__journal_handoff(rn_store_t *s, int **fds, size_t *nfds, int *jfd, int *jdirfd)
{
    rn_journal_t *j = &s->jnl;
    *fds = NULL;
    *nfds = 0;
    *jfd = *jdirfd = -1;
    int rc = jbuf_write(s);
    if (rc)
        return rc;
    if (j->nretired) {
        int *v = malloc(j->nretired * sizeof *v);
        if (!v)
            return RN_ENOMEM;
        memcpy(v, j->retired, j->nretired * sizeof *v);
        *fds = v;
        *nfds = j->nretired;
        j->nretired = 0;
    }
    if (j->unsynced && j->fd >= 0)
        *jfd = j->fd;
    if (j->dir_dirty)
        *jdirfd = j->dirfd;
    j->unsynced = 0;
    j->dir_dirty = 0;
    /* A checkpoint covers the journal up to here only if every journaled
     * byte is in its segment: no stage is left (rn_store__journal_kick
     * writes them all when one is due). */
    if (!s->staged && !j->ckpt_blocked && j->thr_started && j->fd >= 0 &&
        (j->since_ckpt >= j->ckpt_bytes || (j->since_ckpt && now_ms() - j->last_ckpt_ms >= j->ckpt_ms)))
        ckpt_request(s, j->jseq, j->off);
    return 0;
}

int rn_store__journal_sync_now(rn_store_t *s)
{
    rn_journal_t *j = &s->jnl;
    int rc = jbuf_write(s);
    if (rc)
        return rc;
    if (s->cfg.fsync_mode == RN_FSYNC_NEVER && !j->stop) {
        /* Written (the page cache outlives a kill -9); never synced but at close. */
        for (size_t i = 0; i < j->nretired; i++)
            (void)close(j->retired[i]);
        j->nretired = 0;
        return 0;
    }
    for (size_t i = 0; i < j->nretired; i++) {
        if (!rc && rn_store__fdatasync(j->retired[i]) != 0)
            rc = RN_EIO;
        (void)close(j->retired[i]);
    }
    j->nretired = 0;
    if (!rc && j->unsynced && j->fd >= 0 && rn_store__fdatasync(j->fd) != 0)
        rc = RN_EIO;
    if (!rc && j->dir_dirty && fsync(j->dirfd) != 0)
        rc = RN_EIO;
    if (rc) {
        rn_error("store: journal fdatasync failed; the store refuses writes from now on");
        j->failed = RN_EIO;
        return rc;
    }
    j->unsynced = 0;
    j->dir_dirty = 0;
    return 0;
}

/* ---- checkpoints ---------------------------------------------------------------------- */

static int ckpt_write(rn_store_t *s, uint64_t jseq, uint64_t off)
{
    rn_journal_t *j = &s->jnl;
    uint8_t b[32];
    memcpy(b, RN_JNL_MAGIC, 8);
    put64(b + 8, jseq);
    put64(b + 16, off);
    put32(b + 24, rn_crc32c(0, b, 24));
    put32(b + 28, 0);
    int fd = openat(j->dirfd, "CHECKPOINT.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return rn_store__errno(errno);
    int sync = s->cfg.fsync_mode != RN_FSYNC_NEVER || j->stop;
    int rc = write_all(fd, b, sizeof b, 0);
    if (!rc && sync && rn_store__fdatasync(fd) != 0)
        rc = RN_EIO;
    (void)close(fd);
    if (!rc && renameat(j->dirfd, "CHECKPOINT.tmp", j->dirfd, "CHECKPOINT") != 0)
        rc = rn_store__errno(errno);
    if (!rc && sync && fsync(j->dirfd) != 0)
        rc = RN_EIO;
    return rc;
}

static int ckpt_read(rn_store_t *s, uint64_t *jseq, uint64_t *off)
{
    rn_journal_t *j = &s->jnl;
    int fd = openat(j->dirfd, "CHECKPOINT", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? RN_ENOENT : rn_store__errno(errno);
    uint8_t b[32];
    size_t got = 0;
    int rc = read_full(fd, b, sizeof b, 0, &got);
    (void)close(fd);
    if (rc)
        return rc;
    if (got != sizeof b || memcmp(b, RN_JNL_MAGIC, 8) != 0 || get32(b + 24) != rn_crc32c(0, b, 24))
        return RN_ECORRUPT;
    *jseq = get64(b + 8);
    *off = get64(b + 16);
    return 0;
}

/* Files wholly before `jseq` are not needed any more: keep a few as spares
 * (renamed, reused whole by jfile_create), delete the rest. */
static void reclaim_before(rn_store_t *s, uint64_t jseq)
{
    rn_journal_t *j = &s->jnl;
    DIR *d = fdopendir(openat(j->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d)
        return;
    struct dirent *de;
    int changed = 0;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strlen(name) != 24 || strcmp(name + 20, ".jnl") != 0)
            continue;
        char *end;
        unsigned long long q = strtoull(name, &end, 10);
        if (end != name + 20 || q >= jseq)
            continue;
        int keep = 0;
        (void)pthread_mutex_lock(&j->mu);
        if (j->nspares < RN_JNL_SPARES) {
            char to[64];
            uint64_t id = ++j->spare_seq;
            (void)snprintf(to, sizeof to, "spare-%020llu.jnl", (unsigned long long)id);
            if (renameat(j->dirfd, name, j->dirfd, to) == 0) {
                j->spares[j->nspares++] = id;
                keep = 1;
            }
        }
        (void)pthread_mutex_unlock(&j->mu);
        if (!keep)
            (void)unlinkat(j->dirfd, name, 0);
        changed = 1;
    }
    (void)closedir(d);
    if (changed)
        (void)fsync(j->dirfd);
}

static int ckpt_run(rn_store_t *s, uint64_t jseq, uint64_t off)
{
    rn_journal_t *j = &s->jnl;
    /* fsync never promises nothing past a kill -9 (the page cache holds
     * everything written): its checkpoints only let files be recycled. */
    int sync = s->cfg.fsync_mode != RN_FSYNC_NEVER || j->stop;
    if (sync && syncfs(j->dirfd) != 0) {
        rn_error("store: checkpoint: syncfs failed: %s", strerror(errno));
        return RN_EIO;
    }
    int rc = ckpt_write(s, jseq, off);
    if (rc) {
        rn_error("store: checkpoint: cannot write %s/journal/CHECKPOINT: %s", s->data_dir,
                 rn_strerror(rc));
        return rc;
    }
    (void)pthread_mutex_lock(&j->mu);
    j->ckpt_jseq = jseq;
    j->ckpts++;
    (void)pthread_mutex_unlock(&j->mu);
    reclaim_before(s, jseq);
    return 0;
}

/* Make a spare written whole (zeros, fdatasynced): commits into it change no
 * extent. Only when the disk has room for several files to spare. */
static int spare_prepare(rn_store_t *s)
{
    rn_journal_t *j = &s->jnl;
    struct statvfs vf;
    if (fstatvfs(j->dirfd, &vf) != 0 || (uint64_t)vf.f_bavail * vf.f_frsize < 8 * j->file_bytes)
        return RN_ENOSPC;
    (void)pthread_mutex_lock(&j->mu);
    uint64_t id = ++j->spare_seq;
    (void)pthread_mutex_unlock(&j->mu);
    char name[64];
    (void)snprintf(name, sizeof name, "spare-%020llu.jnl", (unsigned long long)id);
    int fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return rn_store__errno(errno);
    static const uint8_t zeros[1u << 16];
    int rc = 0;
    for (uint64_t off = 0; off < j->file_bytes && !rc; off += sizeof zeros) {
        uint64_t n = j->file_bytes - off < sizeof zeros ? j->file_bytes - off : sizeof zeros;
        rc = write_all(fd, zeros, (size_t)n, off);
        (void)pthread_mutex_lock(&j->mu);
        int stop = j->stop;
        (void)pthread_mutex_unlock(&j->mu);
        if (stop && !rc)
            rc = RN_ECLOSED;
    }
    if (!rc && rn_store__fdatasync(fd) != 0)
        rc = RN_EIO;
    (void)close(fd);
    if (!rc && fsync(j->dirfd) != 0)
        rc = RN_EIO;
    if (rc) {
        (void)unlinkat(j->dirfd, name, 0);
        return rc;
    }
    (void)pthread_mutex_lock(&j->mu);
    if (j->nspares < RN_JNL_SPARES)
        j->spares[j->nspares++] = id;
    else
        rc = RN_EEXIST;
    (void)pthread_mutex_unlock(&j->mu);
    if (rc)
        (void)unlinkat(j->dirfd, name, 0);
    return 0;
}

static void *ckpt_main(void *arg)
{
    rn_store_t *s = arg;
    rn_journal_t *j = &s->jnl;
    int prep_ok = 1;
    (void)pthread_mutex_lock(&j->mu);
    for (;;) {
        /* Between checkpoints: keep two spares written whole ready. */
        if (prep_ok && j->want_spares && !j->stop && !j->req && j->nspares < 2) {
            (void)pthread_mutex_unlock(&j->mu);
            prep_ok = spare_prepare(s) == 0;
            (void)pthread_mutex_lock(&j->mu);
            continue;
        }
        while (!j->stop && !j->req && !(prep_ok && j->want_spares && j->nspares < 2))
            (void)pthread_cond_wait(&j->cond, &j->mu);
        if (j->stop)
            break;
        if (!j->req)
            continue;
        uint64_t jseq = j->req_jseq, off = j->req_off;
        j->req = 0;
        (void)pthread_mutex_unlock(&j->mu);
        (void)ckpt_run(s, jseq, off);
        prep_ok = 1; /* (room may have come back) */
        (void)pthread_mutex_lock(&j->mu);
    }
    (void)pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ---- recovery ------------------------------------------------------------------------- */

typedef struct replay_fd {
    uint64_t log_id, base;
    uint32_t shard;
    int fd;
} replay_fd_t;

typedef struct replay {
    rn_store_t *s;
    replay_fd_t *fds;         /* nfds slots, direct-mapped by (log_id, shard, base) */
    size_t nfds;
    size_t open_fds, max_open; /* descriptors held, and the most it may hold */
    uint64_t records, bytes, skipped, same;
    rn_buf_t cmp;             /* the segment's bytes where a record goes, to compare */
} replay_t;

/* Write a record's payload into its segment, unless the segment holds those
 * bytes already (after a kill -9 it nearly always does: the page cache kept
 * them): reading and comparing costs far less than dirtying them again. */
static int replay_write(replay_t *r, int fd, const uint8_t *p, size_t len, uint64_t off)
{
    rn_buf_reset(&r->cmp);
    size_t got = 0;
    if (rn_buf_reserve(&r->cmp, len) == 0 && read_full(fd, r->cmp.data, len, off, &got) == 0 &&
        got == len && memcmp(r->cmp.data, p, len) == 0) {
        r->same++;
        return 0;
    }
    return write_all(fd, p, len, off);
}

static void replay_close_log(replay_t *r, uint64_t log_id, uint32_t shard)
{
    for (size_t i = 0; i < r->nfds; i++) {
        replay_fd_t *f = &r->fds[i];
        if (f->fd >= 0 && f->log_id == log_id && (shard == UINT32_MAX || f->shard == shard)) {
            (void)close(f->fd);
            f->fd = -1;
            r->open_fds--;
        }
    }
}

static size_t replay_slot(const replay_t *r, uint64_t log_id, uint32_t shard, uint64_t base)
{
    uint64_t h = log_id * 0x9E3779B97F4A7C15ull ^ (uint64_t)shard * 0xC2B2AE3D27D4EB4Full ^
                 base * 0x165667B19E3779F9ull;
    h ^= h >> 29;
    return (size_t)(h % r->nfds);
}

/* The segment a WRITE record addresses, opened for writing: -1 with *skip set
 * when it is gone and the record does not start it (trimmed or removed). */
static int replay_seg_fd(replay_t *r, uint64_t log_id, uint32_t shard, uint64_t base, uint64_t off,
                         int *skip)
{
    *skip = 0;
    replay_fd_t *f = &r->fds[replay_slot(r, log_id, shard, base)];
    if (f->fd >= 0 && f->log_id == log_id && f->shard == shard && f->base == base)
        return f->fd;
    char dir[PATH_MAX], path[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/logs/%llu/%u", r->s->data_dir, (unsigned long long)log_id,
                     shard);
    if (n < 0 || (size_t)n >= sizeof dir)
        return RN_ETOOBIG;
    n = snprintf(path, sizeof path, "%s/%020llu.seg", dir, (unsigned long long)base);
    if (n < 0 || (size_t)n >= sizeof path)
        return RN_ETOOBIG;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (off != 0) {
            *skip = 1;
            return -1;
        }
        int created;
        int rc = rn_store__mkdirs(dir, &created);
        if (rc)
            return rc;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        return rn_store__errno(errno);
    if (f->fd >= 0) {
        (void)close(f->fd);
        r->open_fds--;
    }
    if (r->open_fds >= r->max_open) { /* few descriptors allowed: keep none but this one */
        for (size_t i = 0; i < r->nfds; i++)
            if (r->fds[i].fd >= 0) {
                (void)close(r->fds[i].fd);
                r->fds[i].fd = -1;
            }
        r->open_fds = 0;
    }
    *f = (replay_fd_t){log_id, base, shard, fd};
    r->open_fds++;
    return fd;
}

static int replay_remove(replay_t *r, uint64_t log_id, uint32_t shard)
{
    replay_close_log(r, log_id, shard);
    return rn_store__log_files_remove(r->s, log_id, shard == UINT32_MAX ? -1 : (int64_t)shard);
}

/* b holds the file's bytes [*bstart, *bstart + *blen): make it hold at least
 * `want` bytes from off (fewer at the end of the file). */
static int replay_fill(rn_buf_t *b, int fd, uint64_t off, size_t want, uint64_t *bstart, size_t *blen)
{
    if (off >= *bstart && off + want <= *bstart + *blen)
        return 0;
    size_t sz = want > RN_JNL_READ_BLOCK ? want : RN_JNL_READ_BLOCK;
    rn_buf_reset(b);
    int rc = rn_buf_reserve(b, sz);
    if (rc)
        return rc;
    *bstart = off;
    return read_full(fd, b->data, sz, off, blen);
}

/* Replay file jseq from off. *end: where its valid records stop; *chained: 1
 * when they stop at an END record (the next file continues the journal). */
static int replay_file(replay_t *r, int fd, uint64_t jseq, uint64_t off, uint64_t *end, int *chained)
{
    rn_buf_t b;
    rn_buf_init(&b, 0);
    int rc = 0;
    *chained = 0;
    uint64_t bstart = 0;
    size_t blen = 0;
    for (;;) {
        if ((rc = replay_fill(&b, fd, off, RN_JREC_HDR, &bstart, &blen)) != 0)
            break;
        if (off + RN_JREC_HDR > bstart + blen)
            break;
        uint32_t len = get32(b.data + (off - bstart));
        if (len < RN_JREC_HDR || len > RN_JREC_MAX || get64(b.data + (off - bstart) + 8) != jseq)
            break;
        if ((rc = replay_fill(&b, fd, off, len, &bstart, &blen)) != 0)
            break;
        if (off + len > bstart + blen)
            break;
        const uint8_t *h = b.data + (off - bstart);
        if (get32(h + 4) != rn_crc32c(0, h + 8, len - 8))
            break;
        int type = h[16];
        uint32_t shard = get32(h + 20);
        uint64_t log_id = get64(h + 24), base = get64(h + 32), woff = get64(h + 40);
        if (type == RN_JREC_END) {
            off += len;
            *chained = 1;
            break;
        } else if (type == RN_JREC_WRITE) {
            int skip;
            int sfd = replay_seg_fd(r, log_id, shard, base, woff, &skip);
            if (sfd < 0 && !skip) {
                rc = sfd;
                break;
            }
            if (sfd >= 0) {
                if ((rc = replay_write(r, sfd, h + RN_JREC_HDR, len - RN_JREC_HDR, woff)) != 0)
                    break;
                r->records++;
                r->bytes += len - RN_JREC_HDR;
            } else {
                r->skipped++;
            }
        } else if (type == RN_JREC_REMOVE) {
            if ((rc = replay_remove(r, log_id, shard)) != 0)
                break;
        } else {
            break;
        }
        off += len;
    }
    rn_buf_dispose(&b);
    *end = off;
    return rc;
}

static int list_jseqs(rn_store_t *s, uint64_t **out, size_t *n)
{
    rn_journal_t *j = &s->jnl;
    DIR *d = fdopendir(openat(j->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d)
        return rn_store__errno(errno);
    uint64_t *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        char *e;
        if (strlen(name) == 24 && strcmp(name + 20, ".jnl") == 0) {
            unsigned long long q = strtoull(name, &e, 10);
            if (e != name + 20 || q == 0)
                continue;
            if (len == cap) {
                cap = cap ? cap * 2 : 8;
                uint64_t *p = realloc(v, cap * sizeof *p);
                if (!p) {
                    rc = RN_ENOMEM;
                    break;
                }
                v = p;
            }
            v[len++] = q;
        } else if (strncmp(name, "spare-", 6) == 0 && strlen(name) == 30 &&
                   strcmp(name + 26, ".jnl") == 0) {
            unsigned long long q = strtoull(name + 6, &e, 10);
            if (e != name + 26)
                continue;
            if (j->nspares < RN_JNL_SPARES) {
                j->spares[j->nspares++] = q;
            } else {
                (void)unlinkat(j->dirfd, name, 0);
            }
            if (q > j->spare_seq)
                j->spare_seq = q;
        } else if (strcmp(name, "CHECKPOINT.tmp") == 0) {
            (void)unlinkat(j->dirfd, name, 0);
        }
    }
    (void)closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    for (size_t i = 1; i < len; i++) /* insertion sort: a handful of files */
        for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
            uint64_t t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    *out = v;
    *n = len;
    return 0;
}

int rn_store__journal_open(rn_store_t *s, const char **errmsg)
{
    rn_journal_t *j = &s->jnl;
    (void)errmsg;
    j->fd = -1;
    j->dirfd = -1;
    rn_buf_init(&j->buf, 0);
    if (pthread_mutex_init(&j->mu, NULL) != 0)
        return RN_ENOMEM;
    if (pthread_cond_init(&j->cond, NULL) != 0) {
        (void)pthread_mutex_destroy(&j->mu);
        return RN_ENOMEM;
    }
    j->init = 1;
    j->on = 1;
    j->file_bytes = s->cfg.journal_bytes ? s->cfg.journal_bytes : RN_JNL_BYTES_DEFAULT;
    if (j->file_bytes < (1u << 20))
        j->file_bytes = 1u << 20;
    j->ckpt_bytes = s->cfg.checkpoint_bytes ? s->cfg.checkpoint_bytes : j->file_bytes / 2;
    j->ckpt_ms = s->cfg.checkpoint_ms > 0 ? s->cfg.checkpoint_ms : RN_CKPT_MS;
    j->last_ckpt_ms = now_ms();

    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/journal", s->data_dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return RN_ETOOBIG;
    if (mkdir(path, 0755) == 0) {
        int dfd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            (void)close(dfd);
        }
    } else if (errno != EEXIST) {
        return rn_store__errno(errno);
    }
    if ((j->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return rn_store__errno(errno);

    uint64_t k_jseq = 0, k_off = 0;
    int rc = ckpt_read(s, &k_jseq, &k_off);
    if (rc == RN_ECORRUPT) {
        rn_error("store: %s/CHECKPOINT is corrupt", path);
        return rc;
    }
    if (rc && rc != RN_ENOENT)
        return rc;
    uint64_t *v = NULL;
    size_t nv = 0;
    if ((rc = list_jseqs(s, &v, &nv)) != 0)
        return rc;
    if (!k_jseq) { /* no checkpoint yet: the journal starts at its oldest file */
        k_jseq = nv ? v[0] : 1;
        k_off = 0;
    }
    int64_t t0 = now_ms();
    replay_t r;
    memset(&r, 0, sizeof r);
    r.s = s;
    rn_buf_init(&r.cmp, 0);
    r.nfds = RN_JNL_REPLAY_FDS;
    if (!(r.fds = malloc(r.nfds * sizeof *r.fds))) {
        free(v);
        return RN_ENOMEM;
    }
    for (size_t i = 0; i < r.nfds; i++)
        r.fds[i].fd = -1;
    struct rlimit rl;
    r.max_open = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                     ? (size_t)(rl.rlim_cur / 2)
                     : 512;
    if (r.max_open > r.nfds)
        r.max_open = r.nfds;
    if (r.max_open < 8)
        r.max_open = 8;
    uint64_t cur = k_jseq, off = k_off, last = 0, last_end = 0;
    for (;;) {
        if (jpath(s, cur, path, sizeof path) != 0)
            break;
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            break;
        uint64_t end;
        int chained;
        rc = replay_file(&r, fd, cur, off, &end, &chained);
        (void)close(fd);
        if (rc)
            break;
        last = cur;
        last_end = end;
        if (!chained)
            break;
        cur++;
        off = 0;
    }
    for (size_t i = 0; i < r.nfds; i++)
        if (r.fds[i].fd >= 0)
            (void)close(r.fds[i].fd);
    free(r.fds);
    rn_buf_dispose(&r.cmp);
    if (rc) {
        free(v);
        rn_error("store: journal replay failed: %s", rn_strerror(rc));
        return rc;
    }
    /* Files past the chain hold nothing acknowledged: gone. */
    for (size_t i = 0; i < nv; i++) {
        if (last ? v[i] > last : v[i] >= k_jseq) {
            char name[32];
            (void)snprintf(name, sizeof name, "%020llu.jnl", (unsigned long long)v[i]);
            (void)unlinkat(j->dirfd, name, 0);
        }
    }
    free(v);
    if (last) {
        /* Close the last replayed file at its valid end, so the chain leads
         * to the file this run writes next and never into stale bytes. */
        if (jpath(s, last, path, sizeof path) != 0)
            return RN_ETOOBIG;
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return rn_store__errno(errno);
        uint8_t h[RN_JREC_HDR];
        jrec_header(h, RN_JREC_HDR, last, RN_JREC_END, 0, 0, 0, 0);
        jrec_seal(h);
        rc = write_all(fd, h, sizeof h, last_end);
        if (!rc && rn_store__fdatasync(fd) != 0)
            rc = RN_EIO;
        (void)close(fd);
        if (rc)
            return rc;
        j->jseq = last + 1;
    } else {
        j->jseq = k_jseq;
    }
    reclaim_before(s, k_jseq); /* left over by a run that stopped before reclaiming */
    if (r.records || r.skipped)
        rn_info("store: journal replayed: %llu records, %llu bytes (%llu records already in their "
                "segments, %llu of trimmed segments skipped) in %lld ms",
                (unsigned long long)r.records, (unsigned long long)r.bytes, (unsigned long long)r.same,
                (unsigned long long)r.skipped, (long long)(now_ms() - t0));
    if (pthread_create(&j->thr, NULL, ckpt_main, s) != 0)
        return RN_ENOMEM;
    j->thr_started = 1;
    if (last)
        ckpt_request(s, j->jseq, 0); /* the replayed files become reclaimable */
    return 0;
}

void rn_store__journal_close(rn_store_t *s, int clean)
{
    rn_journal_t *j = &s->jnl;
    if (!j->init)
        return;
    /* j->stop is also read by the closing syncs below: they sync even under
     * fsync never. */
    if (!j->thr_started)
        j->stop = 1;
    if (j->thr_started) {
        (void)pthread_mutex_lock(&j->mu);
        j->stop = 1;
        (void)pthread_cond_signal(&j->cond);
        (void)pthread_mutex_unlock(&j->mu);
        (void)pthread_join(j->thr, NULL);
        j->thr_started = 0;
    }
    if (clean && j->dirfd >= 0 && !j->failed && !j->ckpt_blocked) {
        /* Everything is in the segments after this: the next open replays nothing. */
        int rc = rn_store__journal_sync_now(s);
        uint64_t next = j->fd >= 0 ? j->jseq + 1 : j->jseq;
        if (!rc)
            (void)ckpt_run(s, next, 0);
    }
    if (j->fd >= 0)
        (void)close(j->fd);
    for (size_t i = 0; i < j->nretired; i++)
        (void)close(j->retired[i]);
    free(j->retired);
    if (j->dirfd >= 0)
        (void)close(j->dirfd);
    rn_buf_dispose(&j->buf);
    (void)pthread_cond_destroy(&j->cond);
    (void)pthread_mutex_destroy(&j->mu);
    memset(j, 0, sizeof *j);
    j->fd = j->dirfd = -1;
}
