/* store_log.c: record logs: frames, sparse indexes, append, read, time seek,
 * and recovery. Backend-agnostic: bytes move through l->store->io
 * (store_segio.c), so the disk and memory backends share all of this.
 *
 * On-disk layout: DATA_DIR/logs/<log_id>/<shard>/<base>.seg, where <base> is
 * the counter of the segment's first frame written as 20 decimal digits,
 * zero-padded (so names sort like counters). A segment is a plain sequence
 * of frames, no file header. Every integer is little-endian:
 *
 *   off  size  field
 *     0     4  u32 len        total frame bytes, this field included;
 *                             28 <= len <= 28 + 65535 + 16 MiB
 *     4     4  u32 crc        CRC32C (Castagnoli) of bytes [8, len)
 *     8     8  u64 counter    base, base+1, ... within the segment; the
 *                             next segment's base continues with no gap
 *    16     8  i64 arrival_ms never decreases within a log
 *    24     2  u16 pk_len
 *    26     1  u8  flags      opaque to the store, returned by reads
 *    27     1  u8  reserved   0
 *    28     .  pk             pk_len bytes
 *     .     .  data           len - 28 - pk_len bytes
 *
 * A batch of records is written with one pwritev at the active segment's end
 * and never spans two segments; the log rolls to a new segment before a
 * batch that would take the active one past segment_bytes (a batch larger
 * than that gets a segment of its own). Each segment has an in-memory
 * sparse index: an entry for its first frame, then one every 128 frames or
 * 64 KiB, whichever comes first (counter -> offset, arrival). Arrival times
 * are non-decreasing, so the index is sorted by both keys.
 *
 * Staging (cfg.defer_commit; disk, fsync always or never): an append of up
 * to RN_STAGE_BATCH_MAX bytes is not written at once. Its frames (payloads
 * included) are built into the log's stage, a buffer taken from a small
 * pool, and the state moves on as if written (next, index, end, arrival),
 * except seg->size (bytes in the file) and, under fsync never, committed
 * (visibility): both advance when the stage is written, one pwritev for the
 * whole stage. The stage is written before anything that needs the file or
 * the full counter: a read, a time seek, rn_log_next, a roll, an append that
 * is not staged, close, and for every log at rn_store_kick (the end of the
 * event-loop round) and before completions run. If that write fails, the
 * file is cut back (as for any failed write) and the log is put back to the
 * st_* snapshot taken when the stage began: the staged records never
 * existed, their counters are given out again, and every commit made since
 * the stage began and not yet settled fails (rn_store__fail_commits_after),
 * so none of them is acknowledged. Commits made after the failure do not
 * cover the dropped records and are unaffected.
 *
 * Recovery (rn_log_open): sealed segments are walked frame by frame to
 * rebuild their indexes; the last segment is also CRC-checked and cut at the
 * first torn or bad frame (ftruncate + fdatasync). Trailing empty segments
 * are removed. Everything left is durable from then on: committed = next. */
#include "store/store_int.h"
#include "store/crc32c.h"
#include "util/status.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RN_SMALL_PAYLOAD 256u          /* pk+data up to this is copied next to its header */
#define RN_READ_BLOCK (256u << 10)     /* pread granularity of rn_log_read */
#define RN_READ_BLOCK_MIN (16u << 10)
#define RN_SCAN_BLOCK (1u << 20)       /* pread granularity of recovery */
#define RN_SEEK_BLOCK (64u << 10)

/* ---- little-endian helpers ------------------------------------------------ */

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
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
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* A parsed frame header. */
typedef struct frame_hdr {
    uint32_t len;
    uint32_t crc;
    uint64_t counter;
    int64_t arrival;
    uint16_t pk_len;
    uint8_t flags;
} frame_hdr_t;

/* Decode and bound-check the header at p; 0 or RN_ECORRUPT. */
static int frame_parse(const uint8_t *p, frame_hdr_t *h)
{
    h->len = get32(p);
    h->crc = get32(p + 4);
    h->counter = get64(p + 8);
    h->arrival = (int64_t)get64(p + 16);
    h->pk_len = get16(p + 24);
    h->flags = p[26];
    if (h->len < RN_FRAME_HDR || h->len > RN_FRAME_MAX || p[27] != 0 ||
        h->pk_len > h->len - RN_FRAME_HDR)
        return RN_ECORRUPT;
    return 0;
}

static int frame_crc_ok(const uint8_t *p, const frame_hdr_t *h)
{
    return rn_crc32c(0, p + 8, h->len - 8) == h->crc;
}

/* ---- segments and their indexes --------------------------------------------- */

static rn_seg_t *active(rn_log_t *l) { return &l->segs[l->nsegs - 1]; }

/* Bytes of seg readable through seg_read: its file, and for the active
 * segment under the journal the stage written behind it. */
static uint64_t seg_lsize(const rn_log_t *l, const rn_seg_t *seg)
{
    if (l->stage && l->store->jnl.on && seg == &l->segs[l->nsegs - 1])
        return seg->size + l->stage->len;
    return seg->size;
}

/* Read len bytes at off of seg: from its file, the rest from the stage. */
static int seg_read(rn_log_t *l, rn_seg_t *seg, uint64_t off, void *dst, size_t len)
{
    uint8_t *d = dst;
    if (off < seg->size) {
        size_t k = seg->size - off < len ? (size_t)(seg->size - off) : len;
        int rc = l->store->io->read(l, seg, off, d, k);
        if (rc)
            return rc;
        d += k;
        off += k;
        len -= k;
    }
    if (len) {
        if (off + len > seg_lsize(l, seg))
            return RN_ECORRUPT;
        memcpy(d, l->stage->data + (off - seg->size), len);
    }
    return 0;
}
static void stage_forget(rn_log_t *l);

static int idx_reserve(rn_seg_t *seg, size_t n)
{
    if (seg->idx_cap - seg->nidx >= n)
        return 0;
    size_t cap = seg->idx_cap ? seg->idx_cap * 2 : 16;
    while (cap - seg->nidx < n)
        cap *= 2;
    rn_idx_ent_t *p = realloc(seg->idx, cap * sizeof *p);
    if (!p)
        return RN_ENOMEM;
    seg->idx = p;
    seg->idx_cap = cap;
    return 0;
}

/* Note a frame; adds an index entry when due. Capacity must be reserved. */
static inline void idx_note(rn_seg_t *seg, uint64_t counter, uint64_t off, int64_t arrival)
{
    if (seg->nidx) {
        const rn_idx_ent_t *e = &seg->idx[seg->nidx - 1];
        if (counter - e->counter < RN_IDX_EVERY_RECORDS && off - e->off < RN_IDX_EVERY_BYTES)
            return;
    }
    seg->idx[seg->nidx++] = (rn_idx_ent_t){counter, off, arrival};
}

/* Start of the scan for counter c in seg: the last entry at or before c. */
static void idx_lookup(const rn_seg_t *seg, uint64_t c, uint64_t *off, uint64_t *counter)
{
    *off = 0;
    *counter = seg->base;
    size_t lo = 0, hi = seg->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->idx[mid].counter <= c)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        *off = seg->idx[lo - 1].off;
        *counter = seg->idx[lo - 1].counter;
    }
}

static int segs_push(rn_log_t *l, uint64_t base)
{
    if (l->nsegs == l->segs_cap) {
        size_t cap = l->segs_cap ? l->segs_cap * 2 : 4;
        rn_seg_t *p = realloc(l->segs, cap * sizeof *p);
        if (!p)
            return RN_ENOMEM;
        l->segs = p;
        l->segs_cap = cap;
    }
    l->segs[l->nsegs++] = (rn_seg_t){.base = base, .end = base, .last_arrival = INT64_MIN, .fd = -1};
    return 0;
}

static void seg_dispose(rn_log_t *l, rn_seg_t *seg)
{
    l->store->io->release(l, seg);
    free(seg->idx);
    seg->idx = NULL;
    seg->nidx = seg->idx_cap = 0;
}

/* Last segment whose base <= c (0 when c precedes everything). */
static size_t seg_find(const rn_log_t *l, uint64_t c)
{
    size_t lo = 0, hi = l->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->segs[mid].base <= c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* ---- file helpers ------------------------------------------------------------ */

static int fsync_dir(rn_store_t *s, const char *path)
{
    int fd = rn_store__open(s, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return rn_store__errno(errno);
    int rc = fsync(fd) == 0 ? 0 : rn_store__errno(errno);
    (void)close(fd);
    return rc;
}

int rn_store__mkdirs(const char *path, int *created)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return RN_ETOOBIG;
    memcpy(tmp, path, n + 1);
    *created = 0;
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char save = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) == 0) {
            if (i == n)
                *created = 1;
        } else if (errno != EEXIST) {
            rn_error("store: mkdir %s: %s", tmp, strerror(errno));
            return rn_store__errno(errno);
        }
        tmp[i] = save;
    }
    return 0;
}

static int sync_fd(int fd)
{
    return rn_store__fdatasync(fd) == 0 ? 0 : rn_store__errno(errno) == RN_ENOSPC ? RN_ENOSPC : RN_EIO;
}

/* Make everything appended to l durable now, blocking (close paths). */
int rn_store__log_sync_now(rn_log_t *l)
{
    if (!l->dir)
        return 0;
    int rc = rn_store__log_flush(l);
    if (l->store->jnl.on) {
        for (size_t i = 0; i < l->nhandoff; i++)
            (void)close(l->handoff[i]);
        l->nhandoff = 0;
        if (!rc)
            rc = rn_store__journal_sync_now(l->store);
        if (rc) {
            l->failed = RN_EIO;
        } else {
            l->unsynced = 0;
            l->dir_dirty = 0;
        }
        return rc;
    }
    for (size_t i = 0; i < l->nhandoff; i++) {
        if (!rc)
            rc = sync_fd(l->handoff[i]);
        (void)close(l->handoff[i]);
    }
    l->nhandoff = 0;
    /* (An active segment whose descriptor the open-file cache closed was
     * synced before: appends not yet handed over keep it open. Under fsync
     * never the close's syncfs covers it.) */
    if (!rc && l->unsynced && l->nsegs && active(l)->fd >= 0)
        rc = sync_fd(active(l)->fd);
    if (!rc && l->dir_dirty && l->store->sync_thread)
        rc = l->dirfd >= 0 ? (fsync(l->dirfd) == 0 ? 0 : RN_EIO) : fsync_dir(l->store, l->dir);
    if (!rc && l->dirfd >= 0) {
        (void)close(l->dirfd);
        l->dirfd = -1;
    }
    if (rc) {
        rn_error("store: fdatasync of log %llu/%u failed: %s", (unsigned long long)l->log_id,
                 l->shard, rn_strerror(rc));
        l->failed = RN_EIO;
    } else {
        l->unsynced = 0;
        l->dir_dirty = 0;
    }
    return rc;
}

/* ---- recovery ---------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The bases of every <20 digits>.seg file in l->dir, sorted. */
static int list_segments(rn_log_t *l, uint64_t **out, size_t *n)
{
    int rc = 0;
    uint64_t *v = NULL;
    size_t len = 0, cap = 0;
    DIR *d = rn_store__opendir(l->store, l->dir);
    if (!d)
        return rn_store__errno(errno);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strlen(name) != 24 || strcmp(name + 20, ".seg") != 0)
            continue;
        uint64_t base = 0;
        int ok = 1;
        for (int i = 0; i < 20; i++) {
            if (name[i] < '0' || name[i] > '9' || base > (UINT64_MAX - 9) / 10) {
                ok = 0;
                break;
            }
            base = base * 10 + (uint64_t)(name[i] - '0');
        }
        if (!ok || base == 0)
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *p = realloc(v, cap * sizeof *p);
            if (!p) {
                rc = RN_ENOMEM;
                goto out;
            }
            v = p;
        }
        v[len++] = base;
    }
    if (len > 1)
        qsort(v, len, sizeof *v, cmp_u64);
out:
    (void)closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return 0;
}

/* Walk seg's frames from offset 0, rebuilding its index. limit: the counter
 * the segment must stop at (the next segment's base) or UINT64_MAX for the
 * last one. *valid is the byte length of the good prefix. The last segment
 * is CRC-checked too; sealed ones only structurally (reads check CRCs). */
static int seg_scan(rn_log_t *l, rn_seg_t *seg, uint64_t limit, int last, rn_buf_t *buf,
                    uint64_t *valid)
{
    struct stat st;
    if (fstat(seg->fd, &st) != 0)
        return rn_store__errno(errno);
    uint64_t fsize = (uint64_t)st.st_size, off = 0, c = seg->base;
    int rc = 0;
    seg->nidx = 0;
    seg->last_arrival = INT64_MIN;
    while (off < fsize && c < limit) {
        size_t want = (size_t)(fsize - off < RN_SCAN_BLOCK ? fsize - off : RN_SCAN_BLOCK);
        rn_buf_reset(buf);
        if ((rc = rn_buf_reserve(buf, want)) != 0)
            return rc;
        if ((rc = l->store->io->read(l, seg, off, buf->data, want)) != 0)
            return rc;
        size_t p = 0;
        int bad = 0;
        while (p + RN_FRAME_HDR <= want && c < limit) {
            frame_hdr_t h;
            const uint8_t *f = buf->data + p;
            if (frame_parse(f, &h) != 0 || h.counter != c || off + p + h.len > fsize) {
                bad = 1;
                break;
            }
            if (p + h.len > want) {
                if (p == 0) { /* a frame larger than the block: read it whole */
                    rn_buf_reset(buf);
                    if ((rc = rn_buf_reserve(buf, h.len)) != 0)
                        return rc;
                    if ((rc = l->store->io->read(l, seg, off, buf->data, h.len)) != 0)
                        return rc;
                    want = h.len;
                    f = buf->data;
                } else {
                    break;
                }
            }
            if (last && !frame_crc_ok(f, &h)) {
                bad = 1;
                break;
            }
            if ((rc = idx_reserve(seg, 1)) != 0)
                return rc;
            idx_note(seg, c, off + p, h.arrival);
            seg->last_arrival = h.arrival;
            c++;
            p += h.len;
        }
        off += p;
        if (bad || (p == 0 && c < limit))
            break;
    }
    seg->end = c;
    seg->size = off;
    *valid = off;
    if (off < fsize) {
        rn_warn("store: log %llu/%u segment %llu: %s at offset %llu of %llu",
                (unsigned long long)l->log_id, l->shard, (unsigned long long)seg->base,
                last ? "torn or corrupt tail, truncating" : "unreadable frame",
                (unsigned long long)off, (unsigned long long)fsize);
        if (!last)
            seg->size = fsize; /* reads reaching the bad frame report RN_ECORRUPT */
    }
    if (last && off < fsize) {
        if ((rc = l->store->io->truncate(l, seg, off)) != 0)
            return rc;
        if (sync_fd(seg->fd) != 0)
            return RN_EIO;
    }
    return 0;
}

/* seg's descriptor for recovery, opened afresh (O_RDWR for the last segment,
 * which may be cut; a sealed one only needs reading and fdatasync). */
static int open_rw(rn_log_t *l, rn_seg_t *seg)
{
    rn_store__seg_fd_close(l, seg);
    if (l->cached == seg - l->segs)
        l->cached = -1;
    return rn_store__seg_open(l, seg);
}

static int log_recover(rn_log_t *l)
{
    rn_store_t *s = l->store;
    uint64_t *bases = NULL;
    size_t nb = 0;
    rn_buf_t buf;
    rn_buf_init(&buf, 0);
    int rc = list_segments(l, &bases, &nb);
    if (rc)
        goto out;
    if (nb == 0) {
        if ((rc = segs_push(l, 1)) != 0 || (rc = s->io->create(l, active(l))) != 0)
            goto out;
        goto done;
    }
    for (size_t i = 0; i < nb; i++)
        if ((rc = segs_push(l, bases[i])) != 0)
            goto out;
    /* Sealed segments: structure only, stop at the next base. */
    for (size_t i = 0; i + 1 < nb; i++) {
        uint64_t valid;
        rn_seg_t *seg = &l->segs[i];
        if ((rc = open_rw(l, seg)) != 0 || (rc = seg_scan(l, seg, bases[i + 1], 0, &buf, &valid)) != 0)
            goto out;
        if (s->cfg.fsync_mode != RN_FSYNC_NEVER && sync_fd(seg->fd) != 0) {
            rc = RN_EIO;
            goto out;
        }
        rn_store__seg_fd_close(l, seg);
        l->cached = -1;
        if (seg->end != bases[i + 1])
            rn_warn("store: log %llu/%u: segment %llu ends at counter %llu, next starts at %llu",
                    (unsigned long long)l->log_id, l->shard, (unsigned long long)seg->base,
                    (unsigned long long)seg->end, (unsigned long long)bases[i + 1]);
        seg->end = bases[i + 1];
    }
    /* The last segment: full check, cut the torn tail. A trailing empty
     * segment (crash right after a roll) is removed and its predecessor
     * becomes the last one, so a torn tail there is cut too. */
    for (;;) {
        rn_seg_t *seg = active(l);
        uint64_t valid;
        if ((rc = open_rw(l, seg)) != 0 || (rc = seg_scan(l, seg, UINT64_MAX, 1, &buf, &valid)) != 0)
            goto out;
        if (seg->end != seg->base || l->nsegs == 1)
            break;
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%020llu.seg", l->dir, (unsigned long long)seg->base);
        if (n < 0 || (size_t)n >= sizeof path) {
            rc = RN_ETOOBIG;
            goto out;
        }
        seg_dispose(l, seg);
        l->nsegs--;
        if (unlink(path) != 0) {
            rc = rn_store__errno(errno);
            goto out;
        }
        l->dir_dirty = 1;
    }
    if (s->cfg.fsync_mode != RN_FSYNC_NEVER && sync_fd(active(l)->fd) != 0) {
        rc = RN_EIO;
        goto out;
    }
done:
    l->next = active(l)->end;
    l->committed = l->next;
    for (size_t i = l->nsegs; i-- > 0;) {
        if (l->segs[i].end > l->segs[i].base) {
            l->arrival_appended = l->segs[i].last_arrival;
            l->arrival_committed = l->segs[i].last_arrival;
            break;
        }
    }
out:
    free(bases);
    rn_buf_dispose(&buf);
    return rc;
}

/* ---- open / close / destroy ------------------------------------------------------ */

static rn_log_t *registry_find(rn_store_t *s, uint64_t log_id, uint32_t shard)
{
    for (rn_log_t *l = s->logs; l; l = l->reg_next)
        if (l->log_id == log_id && l->shard == shard)
            return l;
    return NULL;
}

void rn_store__log_free(rn_log_t *l)
{
    rn_store_t *s = l->store;
    stage_forget(l);
    rn_store__notify_forget(s, l);
    for (size_t i = 0; i < l->nsegs; i++)
        seg_dispose(l, &l->segs[i]);
    free(l->segs);
    for (size_t i = 0; i < l->nhandoff; i++)
        (void)close(l->handoff[i]);
    free(l->handoff);
    if (l->dirfd >= 0)
        (void)close(l->dirfd);
    free(l->dir);
    if (l->reg_prev)
        l->reg_prev->reg_next = l->reg_next;
    else if (s->logs == l)
        s->logs = l->reg_next;
    if (l->reg_next)
        l->reg_next->reg_prev = l->reg_prev;
    free(l);
}

int rn_log_open(rn_store_t *s, uint64_t log_id, uint32_t shard, rn_log_t **out)
{
    int rc = 0;
    rn_log_t *l = registry_find(s, log_id, shard);
    if (l) {
        if (l->open)
            return RN_EBUSY;
        l->open = 1; /* a memory log, kept since rn_log_close */
        *out = l;
        return 0;
    }
    l = calloc(1, sizeof *l);
    if (!l)
        return RN_ENOMEM;
    l->store = s;
    l->log_id = log_id;
    l->shard = shard;
    l->cached = -1;
    l->dirfd = -1;
    l->next = l->committed = 1;
    l->arrival_appended = INT64_MIN;
    l->arrival_committed = 0;
    l->reg_next = s->logs;
    if (s->logs)
        s->logs->reg_prev = l;
    s->logs = l;

    if (!s->data_dir) {
        if ((rc = segs_push(l, 1)) != 0 || (rc = s->io->create(l, active(l))) != 0)
            goto fail;
    } else {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/logs/%llu/%u", s->data_dir, (unsigned long long)log_id,
                         shard);
        if (n < 0 || (size_t)n >= sizeof path) {
            rc = RN_ETOOBIG;
            goto fail;
        }
        if (!(l->dir = strdup(path))) {
            rc = RN_ENOMEM;
            goto fail;
        }
        int created = 0;
        if ((rc = rn_store__mkdirs(path, &created)) != 0)
            goto fail;
        if (created && s->cfg.fsync_mode != RN_FSYNC_NEVER) {
            /* Make the new directory entries durable: logs/<id>/<shard>, logs/<id>. */
            char *slash = strrchr(path, '/');
            *slash = '\0';
            if ((rc = fsync_dir(s, path)) != 0)
                goto fail;
            slash = strrchr(path, '/');
            *slash = '\0';
            if ((rc = fsync_dir(s, path)) != 0)
                goto fail;
        }
        if ((rc = log_recover(l)) != 0)
            goto fail;
    }
    l->first = l->segs[0].base;
    l->trim_ok_ms = INT64_MIN;
    l->open = 1;
    *out = l;
    return 0;

fail:
    rn_error("store: cannot open log %llu/%u: %s", (unsigned long long)log_id, shard, rn_strerror(rc));
    rn_store__log_free(l);
    return rc;
}

static void log_detach(rn_log_t *l)
{
    rn_store_t *s = l->store;
    rn_store__commit_forget_log(s, l); /* (its stage goes in rn_store__log_free) */
    if (l->dirty) {
        for (rn_log_t **pp = &s->dirty; *pp; pp = &(*pp)->dirty_next) {
            if (*pp == l) {
                *pp = l->dirty_next;
                break;
            }
        }
        l->dirty = 0;
    }
}

void rn_log_close(rn_log_t *l)
{
    if (!l)
        return;
    rn_store_t *s = l->store;
    if (!s->data_dir) {
        l->open = 0; /* memory: the records live until rn_log_destroy or store close */
        return;
    }
    if (s->cfg.fsync_mode != RN_FSYNC_NEVER && !l->failed)
        (void)rn_store__log_sync_now(l);
    else
        (void)rn_store__log_flush(l);
    if (l->stage && s->jnl.on) {
        /* Written behind and now unwritable: its records live on in the
         * journal only, which the next start replays. */
        rn_warn("store: log %llu/%u closed with %zu bytes its segment could not take; "
                "checkpoints stop until the next start replays them",
                (unsigned long long)l->log_id, l->shard, l->stage->len);
        s->jnl.ckpt_blocked = 1;
    }
    log_detach(l);
    rn_store__log_free(l);
}

void rn_log_discard(rn_log_t *l)
{
    if (!l)
        return;
    rn_store_t *s = l->store;
    log_detach(l);
    if (!s->data_dir) {
        l->open = 0; /* memory: freed by rn_store_log_remove (or the store's close) */
        return;
    }
    rn_store__log_free(l); /* no sync: the caller removes the files next */
}

int rn_log_destroy(rn_log_t *l)
{
    rn_store_t *s = l->store;
    int rc = 0;
    log_detach(l);
    for (size_t i = 0; i < l->nsegs; i++)
        s->io->release(l, &l->segs[i]);
    for (size_t i = 0; i < l->nhandoff; i++)
        (void)close(l->handoff[i]);
    l->nhandoff = 0;
    if (l->dir && s->jnl.on)
        rc = rn_store__journal_remove(s, l->log_id, l->shard);
    if (l->dir && !rc) {
        DIR *d = opendir(l->dir);
        if (!d) {
            rc = rn_store__errno(errno);
        } else {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                if (unlinkat(dirfd(d), de->d_name, 0) != 0 && !rc)
                    rc = rn_store__errno(errno);
            }
            (void)closedir(d);
        }
        if (rmdir(l->dir) != 0 && !rc)
            rc = rn_store__errno(errno);
        /* logs/<id> goes too once its last shard is gone. */
        char parent[PATH_MAX];
        size_t n = strlen(l->dir);
        if (n < sizeof parent) {
            memcpy(parent, l->dir, n + 1);
            char *slash = strrchr(parent, '/');
            if (slash) {
                *slash = '\0';
                if (rmdir(parent) != 0 && errno != ENOTEMPTY && errno != EEXIST && !rc)
                    rc = rn_store__errno(errno);
                if (s->cfg.fsync_mode != RN_FSYNC_NEVER) {
                    int r2 = fsync_dir(s, parent);
                    if (r2 == RN_ENOENT) {
                        slash = strrchr(parent, '/');
                        if (slash) {
                            *slash = '\0';
                            r2 = fsync_dir(s, parent);
                        }
                    }
                    if (r2 && !rc)
                        rc = r2;
                }
            }
        }
    }
    if (rc)
        rn_error("store: destroy log %llu/%u: %s", (unsigned long long)l->log_id, l->shard,
                 rn_strerror(rc));
    rn_store__log_free(l);
    return rc;
}

/* Remove name (a file, or a directory tree at most depth levels deep) under
 * parent_fd. A missing entry is not an error. */
static int remove_tree(int parent_fd, const char *name, int depth)
{
    if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if ((errno != EISDIR && errno != EPERM) || depth < 0)
        return rn_store__errno(errno);
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : rn_store__errno(errno);
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = rn_store__errno(errno);
        (void)close(fd);
        return rc;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int r2 = remove_tree(dirfd(d), de->d_name, depth - 1);
        if (r2 && !rc)
            rc = r2;
    }
    (void)closedir(d);
    if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && !rc)
        rc = rn_store__errno(errno);
    return rc;
}

static int logs_dir_fd(const rn_store_t *s)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/logs", s->data_dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The removal thread: takes a name, removes its tree, syncs logs/. */
static void *trash_main(void *arg)
{
    rn_store_t *s = arg;
    int fd = logs_dir_fd(s);
    (void)pthread_mutex_lock(&s->trash_mu);
    for (;;) {
        while (!s->trash_n && !s->trash_stop)
            (void)pthread_cond_wait(&s->trash_cond, &s->trash_mu);
        if (s->trash_stop)
            break;
        char *name = s->trash_v[--s->trash_n];
        (void)pthread_mutex_unlock(&s->trash_mu);
        int rc = fd >= 0 ? remove_tree(fd, name, 3) : RN_EIO;
        if (rc)
            rn_warn("store: cannot remove logs/%s: %s (retried at the next start)", name, rn_strerror(rc));
        else if (s->cfg.fsync_mode != RN_FSYNC_NEVER)
            (void)fsync(fd);
        free(name);
        (void)pthread_mutex_lock(&s->trash_mu);
    }
    (void)pthread_mutex_unlock(&s->trash_mu);
    if (fd >= 0)
        (void)close(fd);
    return NULL;
}

/* Hand logs/<name> to the removal thread; 0, or an error when it cannot
 * take it (the caller removes it at once). Takes name. */
static int trash_push(rn_store_t *s, char *name)
{
    if (!s->trash_init) {
        if (pthread_mutex_init(&s->trash_mu, NULL) != 0)
            return RN_ENOMEM;
        if (pthread_cond_init(&s->trash_cond, NULL) != 0) {
            (void)pthread_mutex_destroy(&s->trash_mu);
            return RN_ENOMEM;
        }
        s->trash_init = 1;
    }
    (void)pthread_mutex_lock(&s->trash_mu);
    int rc = 0;
    if (s->trash_n == s->trash_cap) {
        size_t cap = s->trash_cap ? s->trash_cap * 2 : 16;
        char **v = realloc(s->trash_v, cap * sizeof *v);
        if (!v)
            rc = RN_ENOMEM;
        else {
            s->trash_v = v;
            s->trash_cap = cap;
        }
    }
    if (rc == 0 && !s->trash_started) {
        if (pthread_create(&s->trash_thr, NULL, trash_main, s) != 0)
            rc = RN_ENOMEM;
        else
            s->trash_started = 1;
    }
    if (rc == 0) {
        s->trash_v[s->trash_n++] = name;
        (void)pthread_cond_signal(&s->trash_cond);
    }
    (void)pthread_mutex_unlock(&s->trash_mu);
    return rc;
}

void rn_store__trash_stop(rn_store_t *s)
{
    if (!s->trash_init)
        return;
    (void)pthread_mutex_lock(&s->trash_mu);
    s->trash_stop = 1;
    (void)pthread_cond_signal(&s->trash_cond);
    (void)pthread_mutex_unlock(&s->trash_mu);
    if (s->trash_started)
        (void)pthread_join(s->trash_thr, NULL);
    s->trash_started = 0;
    for (size_t i = 0; i < s->trash_n; i++)
        free(s->trash_v[i]);
    free(s->trash_v);
    s->trash_v = NULL;
    s->trash_n = s->trash_cap = 0;
    (void)pthread_cond_destroy(&s->trash_cond);
    (void)pthread_mutex_destroy(&s->trash_mu);
    s->trash_init = 0;
}

void rn_store__trash_resume(rn_store_t *s)
{
    if (!s->data_dir)
        return;
    int fd = logs_dir_fd(s);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            (void)close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".trash-", 7) != 0)
            continue;
        char *name = strdup(de->d_name);
        if (name && trash_push(s, name) == 0)
            continue;
        free(name);
    }
    (void)closedir(d);
}

int rn_store__log_files_remove(rn_store_t *s, uint64_t log_id, int64_t shard)
{
    int logs_fd = logs_dir_fd(s);
    if (logs_fd < 0)
        return errno == ENOENT ? 0 : rn_store__errno(errno);
    char name[64];
    if (shard < 0)
        (void)snprintf(name, sizeof name, "%llu", (unsigned long long)log_id);
    else
        (void)snprintf(name, sizeof name, "%llu/%u", (unsigned long long)log_id, (unsigned)shard);
    int rc = remove_tree(logs_fd, name, 2);
    (void)close(logs_fd);
    return rc;
}

int rn_store_log_remove(rn_store_t *s, uint64_t log_id, int64_t shard)
{
    for (rn_log_t *l = s->logs; l; l = l->reg_next)
        if (l->log_id == log_id && (shard < 0 || l->shard == (uint32_t)shard) && l->open)
            return RN_EBUSY;
    /* Memory logs outlive rn_log_close: free them (nothing else is registered
     * while closed). */
    for (rn_log_t *l = s->logs, *nx; l; l = nx) {
        nx = l->reg_next;
        if (l->log_id == log_id && (shard < 0 || l->shard == (uint32_t)shard)) {
            log_detach(l);
            for (size_t i = 0; i < l->nsegs; i++)
                s->io->release(l, &l->segs[i]);
            rn_store__log_free(l);
        }
    }
    if (!s->data_dir)
        return 0;
    if (s->jnl.on) {
        int rc = rn_store__journal_remove(s, log_id, shard);
        if (rc)
            return rc;
    }
    int logs_fd = logs_dir_fd(s);
    if (logs_fd < 0)
        return errno == ENOENT ? 0 : rn_store__errno(errno);
    /* One rename takes the files out of the log's path at once (a later log
     * of the same path starts empty); the removal thread deletes them. */
    char from[64], to[96];
    if (shard < 0)
        (void)snprintf(from, sizeof from, "%llu", (unsigned long long)log_id);
    else
        (void)snprintf(from, sizeof from, "%llu/%u", (unsigned long long)log_id, (unsigned)shard);
    (void)snprintf(to, sizeof to, ".trash-%llu-%lld-%llu", (unsigned long long)log_id, (long long)shard,
                   (unsigned long long)s->trash_seq++);
    int rc = 0;
    if (renameat(logs_fd, from, logs_fd, to) != 0) {
        if (errno == ENOENT) { /* never written: nothing on disk */
            (void)close(logs_fd);
            return 0;
        }
        rc = remove_tree(logs_fd, from, 2); /* cannot rename: remove in place */
    } else {
        char *name = strdup(to);
        if (!name || trash_push(s, name) != 0) {
            free(name);
            rc = remove_tree(logs_fd, to, 2);
        }
    }
    if (rc == 0 && shard < 0 && s->cfg.fsync_mode != RN_FSYNC_NEVER && fsync(logs_fd) != 0)
        rc = rn_store__errno(errno);
    (void)close(logs_fd);
    if (rc)
        rn_error("store: remove logs of %llu: %s", (unsigned long long)log_id, rn_strerror(rc));
    return rc;
}

int rn_store_log_id_max(rn_store_t *s, uint64_t *max)
{
    *max = 0;
    for (rn_log_t *l = s->logs; l; l = l->reg_next)
        if (l->log_id > *max)
            *max = l->log_id;
    if (!s->data_dir)
        return 0;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/logs", s->data_dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return RN_ETOOBIG;
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : rn_store__errno(errno);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *p = de->d_name;
        if (strncmp(p, ".trash-", 7) == 0)
            p += 7; /* .trash-<id>-<shard>-<seq>: its id counts until it is gone */
        uint64_t v = 0;
        int ok = *p != 0;
        for (; *p && *p != '-' && ok; p++) {
            if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
                ok = 0;
            else
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (ok && v > *max)
            *max = v;
    }
    (void)closedir(d);
    return 0;
}

/* ---- staging ------------------------------------------------------------------------ */

static void stage_release(rn_log_t *l)
{
    rn_store_t *s = l->store;
    rn_buf_t *b = l->stage;
    if (!b)
        return;
    l->stage = NULL;
    s->staged_bytes -= b->len;
    l->st_jlen = 0;
    if (s->nstage_pool < RN_STAGE_POOL && b->cap <= RN_STAGE_MAX + RN_STAGE_BATCH_MAX) {
        rn_buf_reset(b);
        s->stage_pool[s->nstage_pool++] = b;
    } else {
        rn_buf_dispose(b);
        free(b);
    }
}

/* Begin l's stage: a buffer with room for `bytes`, and the snapshot to
 * restore if it cannot be written. Nothing changes on failure. */
static int stage_begin(rn_log_t *l, rn_seg_t *seg, size_t bytes)
{
    rn_store_t *s = l->store;
    rn_buf_t *b = s->nstage_pool ? s->stage_pool[--s->nstage_pool] : NULL;
    if (!b) {
        if (!(b = malloc(sizeof *b)))
            return RN_ENOMEM;
        rn_buf_init(b, 0);
    }
    if (rn_buf_reserve(b, bytes) != 0) {
        l->stage = b;
        stage_release(l);
        return RN_ENOMEM;
    }
    l->stage = b;
    l->st_seq = s->commit_seq;
    l->st_next = l->next;
    l->st_end = seg->end;
    l->st_nidx = seg->nidx;
    l->st_last_arrival = seg->last_arrival;
    l->st_arrival_appended = l->arrival_appended;
    l->st_unsynced = l->unsynced;
    if (!l->on_staged) {
        l->on_staged = 1;
        l->staged_next = s->staged;
        s->staged = l;
    }
    return 0;
}

int rn_store__log_flush(rn_log_t *l)
{
    rn_buf_t *b = l->stage;
    if (!b)
        return 0;
    rn_store_t *s = l->store;
    rn_seg_t *seg = active(l);
    if (s->jnl.on) {
        /* Written behind: the stage is journaled (the rest of it now), so a
         * failed write drops nothing: the stage stays, is read from memory,
         * and is written again later. */
        int rc = rn_store__journal_stage(l);
        if (rc)
            return rc;
        struct iovec v = {b->data, b->len};
        size_t len = b->len;
        s->jnl_quiet = 1;
        rc = s->io->write(l, seg, &v, 1, len);
        s->jnl_quiet = 0;
        if (rc)
            return rc;
        seg->size += len;
        stage_release(l);
        return 0;
    }
    struct iovec v = {b->data, b->len};
    size_t len = b->len;
    int rc = s->io->write(l, seg, &v, 1, len);
    stage_release(l);
    if (rc) {
        /* The write cut the file back to seg->size: the staged records never were. */
        l->next = l->st_next;
        seg->end = l->st_end;
        seg->nidx = l->st_nidx;
        seg->last_arrival = l->st_last_arrival;
        l->arrival_appended = l->st_arrival_appended;
        l->unsynced = l->st_unsynced;
        rn_store__fail_commits_after(s, l->st_seq, rc);
        return rc;
    }
    seg->size += len;
    if (!s->durable) {
        l->committed = l->next;
        l->arrival_committed = l->arrival_appended;
        rn_store__notify_queue(s, l); /* waiters run with the commit's completions */
    }
    return 0;
}

int rn_store__flush_all(rn_store_t *s)
{
    int rc = 0;
    rn_log_t *kept = NULL;
    while (s->staged) {
        rn_log_t *l = s->staged;
        s->staged = l->staged_next;
        l->staged_next = NULL;
        l->on_staged = 0;
        int r = rn_store__log_flush(l);
        if (r && !rc)
            rc = r;
        if (l->stage) { /* journal: kept after a failed write, written later */
            l->on_staged = 1;
            l->staged_next = kept;
            kept = l;
        }
    }
    s->staged = kept;
    return rc;
}

void rn_store__journal_kick(rn_store_t *s)
{
    if (!s->staged)
        return;
    int due = rn_store__journal_ckpt_due(s);
    if (s->staged_bytes > RN_STAGE_BUDGET || due)
        (void)rn_store__flush_all(s);
    if (due)
        rn_store__journal_ckpt_flushed(s);
}


/* The log goes away: drop its stage unwritten and leave the staged list. */
static void stage_forget(rn_log_t *l)
{
    rn_store_t *s = l->store;
    stage_release(l);
    if (l->on_staged) {
        for (rn_log_t **pp = &s->staged; *pp; pp = &(*pp)->staged_next) {
            if (*pp == l) {
                *pp = l->staged_next;
                break;
            }
        }
        l->on_staged = 0;
        l->staged_next = NULL;
    }
}

/* ---- append ---------------------------------------------------------------------- */

static int log_roll(rn_log_t *l)
{
    rn_store_t *s = l->store;
    int rc = rn_store__log_flush(l); /* staged frames belong to the old segment */
    if (rc)
        return rc;
    /* Under the journal a sealed segment needs no sync of its own. */
    int handoff = s->data_dir && s->sync_thread && !s->jnl.on;
    if (handoff && l->nhandoff == l->handoff_cap) {
        size_t cap = l->handoff_cap ? l->handoff_cap * 2 : 4;
        int *p = realloc(l->handoff, cap * sizeof *p);
        if (!p)
            return RN_ENOMEM;
        l->handoff = p;
        l->handoff_cap = cap;
    }
    if ((rc = segs_push(l, l->next)) != 0)
        return rc;
    if ((rc = s->io->create(l, active(l))) != 0) {
        l->nsegs--;
        return rc;
    }
    rn_seg_t *old = &l->segs[l->nsegs - 2];
    if (handoff && old->fd >= 0)
        l->handoff[l->nhandoff++] = rn_store__seg_fd_take(l, old); /* the sync thread syncs and closes it */
    else
        rn_store__seg_fd_close(l, old);
    return 0;
}

static int log_append(rn_log_t *l, const rn_record_in_t *recs, size_t n, int64_t arrival_ms,
                      uint64_t *first, int may_stage)
{
    rn_store_t *s = l->store;
    if (!l->open)
        return RN_ECLOSED;
    if (l->failed)
        return l->failed;
    if (n == 0) {
        *first = l->next;
        return 0;
    }
    if (n > (size_t)INT32_MAX / 4)
        return RN_ETOOBIG;
    size_t total = 0, hdr_bytes = 0, niov = 1;
    for (size_t i = 0; i < n; i++) {
        const rn_record_in_t *r = &recs[i];
        if (r->pk_len > RN_FRAME_MAX_PK || r->data_len > RN_FRAME_MAX_DATA)
            return RN_ETOOBIG;
        if ((r->pk_len && !r->pk) || (r->data_len && !r->data))
            return RN_EINVAL;
        size_t payload = r->pk_len + r->data_len;
        total += RN_FRAME_HDR + payload;
        hdr_bytes += RN_FRAME_HDR + (payload <= RN_SMALL_PAYLOAD ? payload : 0);
        niov += 3;
    }
    int rc;
    /* Stage it (small, and room left in the stage), or write the stage and then this. */
    /* Under the journal a staged append is journaled at once (below), so
     * staging it loses nothing that rn_log_append_now promises. */
    int stage = (may_stage || s->jnl.on) && s->stage_on && total <= RN_STAGE_BATCH_MAX;
    if (l->stage && (!stage || l->stage->len + total > RN_STAGE_MAX) &&
        (rc = rn_store__log_flush(l)) != 0)
        return rc;
    rn_seg_t *seg = active(l);
    uint64_t end = seg->size + (l->stage ? l->stage->len : 0);
    if (end > 0 && end + total > s->cfg.segment_bytes) {
        if ((rc = log_roll(l)) != 0) /* writes the stage first */
            return rc;
        seg = active(l);
        end = seg->size;
    }
    /* Reserve everything first: after this point nothing can fail but the write. */
    if ((rc = idx_reserve(seg, n)) != 0)
        return rc;
    if (stage && s->jnl.on && (rc = rn_store__journal_reserve(s, total)) != 0)
        return rc;
    uint8_t *w;
    if (stage) {
        if (l->stage)
            rc = rn_buf_reserve(l->stage, total);
        else
            rc = stage_begin(l, seg, total);
        if (rc)
            return rc;
        w = l->stage->data + l->stage->len;
    } else {
        rn_buf_reset(&s->app_hdrs);
        if ((rc = rn_buf_reserve(&s->app_hdrs, hdr_bytes)) != 0)
            return rc;
        if (niov > s->app_iov_cap) {
            struct iovec *p = realloc(s->app_iov, niov * sizeof *p);
            if (!p)
                return RN_ENOMEM;
            s->app_iov = p;
            s->app_iov_cap = niov;
        }
        w = s->app_hdrs.data;
    }

    int64_t arrival = arrival_ms > l->arrival_appended ? arrival_ms : l->arrival_appended;
    size_t saved_nidx = seg->nidx;
    uint64_t c = l->next, off = end;
    struct iovec *iov = s->app_iov;
    int cnt = 0;
    for (size_t i = 0; i < n; i++) {
        const rn_record_in_t *r = &recs[i];
        size_t payload = r->pk_len + r->data_len;
        uint32_t flen = (uint32_t)(RN_FRAME_HDR + payload);
        uint8_t *h = w;
        put32(h, flen);
        put64(h + 8, c);
        put64(h + 16, (uint64_t)arrival);
        put16(h + 24, (uint16_t)r->pk_len);
        h[26] = r->flags;
        h[27] = 0;
        w += RN_FRAME_HDR;
        uint32_t crc;
        if (stage || payload <= RN_SMALL_PAYLOAD) {
            if (r->pk_len)
                memcpy(w, r->pk, r->pk_len);
            if (r->data_len)
                memcpy(w + r->pk_len, r->data, r->data_len);
            w += payload;
            crc = rn_crc32c(0, h + 8, flen - 8);
        } else {
            crc = rn_crc32c(0, h + 8, RN_FRAME_HDR - 8);
            crc = rn_crc32c(crc, r->pk, r->pk_len);
            crc = rn_crc32c(crc, r->data, r->data_len);
        }
        put32(h + 4, crc);
        idx_note(seg, c, off, arrival);
        off += flen;
        c++;
        if (stage)
            continue;
        /* Header (and small payload) extends the previous iovec when contiguous. */
        if (cnt && (uint8_t *)iov[cnt - 1].iov_base + iov[cnt - 1].iov_len == h)
            iov[cnt - 1].iov_len += (size_t)(w - h);
        else
            iov[cnt++] = (struct iovec){h, (size_t)(w - h)};
        if (payload > RN_SMALL_PAYLOAD) {
            if (r->pk_len)
                iov[cnt++] = (struct iovec){(void *)r->pk, r->pk_len};
            if (r->data_len)
                iov[cnt++] = (struct iovec){(void *)r->data, r->data_len};
        }
    }
    if (stage) {
        l->stage->len += total;
        s->staged_bytes += total;
        if (s->jnl.on)
            (void)rn_store__journal_stage(l); /* room reserved above: cannot fail */
    } else {
        if ((rc = s->io->write(l, seg, iov, cnt, total)) != 0) {
            seg->nidx = saved_nidx;
            return rc;
        }
        seg->size += total;
    }
    *first = l->next;
    seg->end = c;
    seg->last_arrival = arrival;
    l->next = c;
    l->arrival_appended = arrival;
    l->unsynced = 1;
    if (!s->durable && !stage) {
        l->committed = c;
        l->arrival_committed = arrival;
        rn_store__notify_queue(s, l); /* waiters run with the commit's completions */
    }
    rn_store__mark_dirty(s, l);
    return 0;
}

/* cfg.counters_at_commit: room for one more due counter is made before the
 * append, so that an append that succeeded always has its counter reported. */
static int append_reported(rn_log_t *l, const rn_record_in_t *recs, size_t n, int64_t arrival_ms,
                           uint64_t *first, int may_stage)
{
    rn_store_t *s = l->store;
    if (!s->cfg.counters_at_commit)
        return log_append(l, recs, n, arrival_ms, first, may_stage);
    if (s->ndue == s->due_cap) {
        size_t cap = s->due_cap ? s->due_cap * 2 : 64;
        void *p = realloc(s->due, cap * sizeof *s->due);
        if (!p)
            return RN_ENOMEM;
        s->due = p;
        s->due_cap = cap;
    }
    uint64_t val;
    int rc = log_append(l, recs, n, arrival_ms, &val, may_stage);
    if (rc == 0) {
        s->due[s->ndue++] = (struct rn_counter_due){first, val};
        *first = 0;
    }
    return rc;
}

int rn_log_append(rn_log_t *l, const rn_record_in_t *recs, size_t n, int64_t arrival_ms,
                  uint64_t *first)
{
    return append_reported(l, recs, n, arrival_ms, first, 1);
}

int rn_log_append_now(rn_log_t *l, const rn_record_in_t *recs, size_t n, int64_t arrival_ms,
                      uint64_t *first)
{
    return append_reported(l, recs, n, arrival_ms, first, 0);
}

int rn_store_counters_at_commit(const rn_store_t *s) { return s->cfg.counters_at_commit; }

/* ---- accessors ------------------------------------------------------------------- */

uint64_t rn_log_next(rn_log_t *l)
{
    if (!l->store->jnl.on) /* (under the journal a stage is never dropped) */
        (void)rn_store__log_flush(l); /* a failure drops the staged records: next goes back */
    return l->next;
}
uint64_t rn_log_committed(const rn_log_t *l) { return l->committed; }
uint64_t rn_log_first(const rn_log_t *l) { return l->first; }
int64_t rn_log_last_arrival(const rn_log_t *l)
{
    return l->committed > rn_log_first(l) ? l->arrival_committed : 0;
}

/* ---- read ------------------------------------------------------------------------ */

/* Reads frames into scratch as whole frames (header included) and points
 * out[] at their pk/data. While scratch may still grow, out[].pk holds the
 * offset into scratch->data; pointers are fixed up once at the end. */
int rn_log_read(rn_log_t *l, uint64_t from, size_t max_records, size_t max_bytes,
                struct rn_buf *scratch, rn_record_out_t *out, size_t *n, uint64_t *next)
{
    rn_store_t *s = l->store;
    if (!s->durable && !s->jnl.on) /* under fsync never, staged records are readable; under always they
                        are past committed, and the reads below stop at seg->size */
        (void)rn_store__log_flush(l);
    const uint64_t end = l->committed;
    const size_t start_len = scratch->len;
    size_t count = 0, bytes = 0;
    int rc = 0;
    *n = 0;
    if (from < rn_log_first(l))
        from = rn_log_first(l);
    uint64_t c = from; /* next counter to return */
    if (max_records == 0 || from >= end) {
        *next = from;
        return 0;
    }
    for (size_t si = seg_find(l, c); si < l->nsegs && count < max_records && c < end; si++) {
        rn_seg_t *seg = &l->segs[si];
        if (c >= seg->end)
            continue;
        if (c < seg->base) {
            rc = RN_ECORRUPT;
            goto out;
        }
        uint64_t off, fc; /* file offset and counter of the frame there */
        idx_lookup(seg, c, &off, &fc);
        size_t min_want = 0;
        int finished = 0;
        while (fc < seg->end && fc < end && count < max_records) {
            uint64_t lsize = seg_lsize(l, seg);
            if (off >= lsize) {
                rc = RN_ECORRUPT;
                goto out;
            }
            uint64_t avail = lsize - off;
            /* Read about what the limits allow, not a whole block for a small ask. */
            size_t want = RN_READ_BLOCK;
            size_t left_bytes = bytes < max_bytes ? max_bytes - bytes : 0;
            size_t left_recs = max_records - count;
            if (left_bytes < RN_READ_BLOCK && left_recs < RN_READ_BLOCK / RN_FRAME_HDR) {
                size_t need = left_bytes + left_recs * RN_FRAME_HDR;
                if (need < want)
                    want = need < RN_READ_BLOCK_MIN ? RN_READ_BLOCK_MIN : need;
            }
            if (want < min_want)
                want = min_want;
            if (want > avail)
                want = (size_t)avail;
            size_t blk = scratch->len;
            if ((rc = rn_buf_reserve(scratch, want)) != 0)
                goto out;
            uint8_t *base = scratch->data + blk;
            if ((rc = seg_read(l, seg, off, base, want)) != 0)
                goto out;
            size_t p = 0, skip = 0;
            min_want = 0;
            while (p + RN_FRAME_HDR <= want) {
                frame_hdr_t h;
                if (frame_parse(base + p, &h) != 0 || h.counter != fc) {
                    rc = RN_ECORRUPT;
                    goto out;
                }
                if (p + h.len > want) {
                    if (p == 0) {
                        if (h.len > avail) {
                            rc = RN_ECORRUPT;
                            goto out;
                        }
                        min_want = h.len; /* read this big frame whole next round */
                    }
                    break;
                }
                if (fc < c) { /* before `from`: these all precede the kept frames */
                    p += h.len;
                    skip = p;
                    fc++;
                    continue;
                }
                size_t dlen = h.len - RN_FRAME_HDR - h.pk_len;
                if (count > 0 && bytes + h.pk_len + dlen > max_bytes) {
                    finished = 1;
                    break;
                }
                if (!frame_crc_ok(base + p, &h)) {
                    rn_error("store: log %llu/%u: CRC mismatch at counter %llu",
                             (unsigned long long)l->log_id, l->shard, (unsigned long long)fc);
                    rc = RN_ECORRUPT;
                    goto out;
                }
                rn_record_out_t *o = &out[count++];
                o->counter = fc;
                o->arrival_ms = h.arrival;
                o->pk = (const uint8_t *)(uintptr_t)(blk + p - skip + RN_FRAME_HDR);
                o->pk_len = h.pk_len;
                o->data = NULL;
                o->data_len = dlen;
                o->flags = h.flags;
                bytes += h.pk_len + dlen;
                p += h.len;
                c = ++fc;
                if (count == max_records || fc >= end) {
                    finished = 1;
                    break;
                }
                if (fc >= seg->end)
                    break;
            }
            if (skip && p > skip)
                memmove(base, base + skip, p - skip);
            scratch->len = blk + (p - skip);
            off += p;
            if (finished)
                goto out;
        }
    }
out:
    if (rc && count == 0) {
        scratch->len = start_len;
        if (scratch->data)
            scratch->data[scratch->len] = 0;
        *next = from;
        return rc;
    }
    /* Partial results before an error are returned; the next call reports it. */
    for (size_t i = 0; i < count; i++) {
        out[i].pk = scratch->data + (uintptr_t)out[i].pk;
        out[i].data = out[i].pk + out[i].pk_len;
    }
    if (scratch->data)
        scratch->data[scratch->len] = 0;
    *n = count;
    *next = c;
    return 0;
}

/* ---- time seek ------------------------------------------------------------------- */

/* The time seek over every stored segment (ignoring the trim horizon).
 * *arrival is the found record's arrival when known, else INT64_MIN. */
static int seek_time(rn_log_t *l, int64_t ts_ms, uint64_t *counter, int64_t *arrival)
{
    rn_store_t *s = l->store;
    if (!s->jnl.on) /* (under the journal, reads serve the stage from memory) */
        (void)rn_store__log_flush(l); /* the index may point into the stage */
    const uint64_t end = l->committed;
    *counter = end;
    *arrival = INT64_MIN;
    if (rn_log_first(l) >= end)
        return 0;
    /* First non-empty segment whose last frame arrived at or after ts. */
    size_t lo = 0, hi = l->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const rn_seg_t *m = &l->segs[mid];
        if (m->end == m->base || m->last_arrival >= ts_ms)
            hi = mid;
        else
            lo = mid + 1;
    }
    while (lo < l->nsegs && l->segs[lo].end == l->segs[lo].base)
        lo++;
    if (lo >= l->nsegs)
        return 0;
    rn_seg_t *seg = &l->segs[lo];
    if (seg->base >= end)
        return 0;
    /* Last index entry that arrived strictly before ts: the answer is after it. */
    size_t a = 0, b = seg->nidx;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (seg->idx[mid].arrival_ms < ts_ms)
            a = mid + 1;
        else
            b = mid;
    }
    if (a == 0) {
        *counter = seg->base;
        if (seg->nidx)
            *arrival = seg->idx[0].arrival_ms;
        return 0;
    }
    uint64_t off = seg->idx[a - 1].off, fc = seg->idx[a - 1].counter;
    const uint64_t lsize = seg_lsize(l, seg);
    while (fc < seg->end && fc < end) {
        if (off >= lsize)
            return RN_ECORRUPT;
        size_t want = lsize - off < RN_SEEK_BLOCK ? (size_t)(lsize - off) : RN_SEEK_BLOCK;
        if (want < RN_FRAME_HDR)
            return RN_ECORRUPT;
        rn_buf_reset(&s->tmp);
        int rc = rn_buf_reserve(&s->tmp, want);
        if (rc)
            return rc;
        if ((rc = seg_read(l, seg, off, s->tmp.data, want)) != 0)
            return rc;
        size_t p = 0;
        /* Only headers are needed: a frame may run past the block. */
        while (p + RN_FRAME_HDR <= want && fc < seg->end && fc < end) {
            frame_hdr_t h;
            if (frame_parse(s->tmp.data + p, &h) != 0 || h.counter != fc)
                return RN_ECORRUPT;
            if (h.arrival >= ts_ms) {
                *counter = fc;
                *arrival = h.arrival;
                return 0;
            }
            p += h.len;
            fc++;
        }
        off += p;
    }
    *counter = fc < end ? fc : end;
    return 0;
}

int rn_log_seek_time(rn_log_t *l, int64_t ts_ms, uint64_t *counter)
{
    int64_t arrival;
    int rc = seek_time(l, ts_ms, counter, &arrival);
    if (rc == 0 && *counter < l->first)
        *counter = l->first;
    return rc;
}

/* ---- retention --------------------------------------------------------------------- */

/* Delete segs[0], a sealed segment every record of which precedes l->first. */
static int seg_drop_front(rn_log_t *l)
{
    rn_seg_t *seg = &l->segs[0];
    if (l->dir) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%020llu.seg", l->dir, (unsigned long long)seg->base);
        if (n < 0 || (size_t)n >= sizeof path)
            return RN_ETOOBIG;
        if (unlink(path) != 0 && errno != ENOENT) {
            int rc = rn_store__errno(errno);
            rn_error("store: cannot delete expired segment %s: %s", path, strerror(errno));
            return rc;
        }
        l->dir_dirty = 1; /* the next hand-off fsyncs the directory */
    }
    seg_dispose(l, seg);
    memmove(l->segs, l->segs + 1, (l->nsegs - 1) * sizeof *l->segs);
    l->nsegs--;
    if (l->cached == 0)
        l->cached = -1; /* its descriptor went with seg_dispose */
    else if (l->cached > 0)
        l->cached--;
    return 0;
}

int rn_log_trim(rn_log_t *l, int64_t cutoff_ms)
{
    int rc = 0;
    if (l->first < l->committed && cutoff_ms > l->trim_ok_ms) {
        uint64_t c;
        int64_t arrival;
        if ((rc = seek_time(l, cutoff_ms, &c, &arrival)) != 0)
            return rc;
        if (c < l->first) {
            /* The cutoff went back (a retention increase): records from
             * first on are all at or after it. */
            l->trim_ok_ms = cutoff_ms;
        } else {
            l->first = c;
            if (c < l->committed)
                l->trim_ok_ms = arrival != INT64_MIN ? arrival : cutoff_ms;
            else /* all trimmed: later records arrive no earlier than the last one */
                l->trim_ok_ms = l->arrival_committed;
        }
    }
    /* Sealed segments wholly before the horizon. */
    while (l->nsegs > 1 && l->segs[1].base <= l->first)
        if ((rc = seg_drop_front(l)) != 0)
            return rc;
    /* The active segment, once wholly trimmed with nothing awaiting commit:
     * roll to an empty one (keeping the counter sequence) and drop it. */
    rn_seg_t *a = active(l);
    if (l->nsegs == 1 && !l->failed && a->end > a->base && a->end <= l->first &&
        l->next == l->committed) {
        if ((rc = log_roll(l)) != 0)
            return rc;
        rc = seg_drop_front(l);
    }
    return rc;
}
