/* store_int.h: the storage engine's internals, shared by the files of src/store only.
 *
 * Layering inside the module:
 *   store.c         open/close, the DATA_DIR lock, the registry of logs
 *   store_kv.c      the metadata table in SQLite
 *   store_log.c     frames, sparse indexes, append/read/seek, recovery
 *   store_segio.c   segment I/O: one vtable over a file (disk) or a chunk
 *                   list (memory), so store_log.c is backend-agnostic
 *   store_commit.c  group commit: the sync thread and the completion queue
 *
 * Frame format (little-endian, no padding between frames; see store_log.c
 * and docs/storage.md):
 *   off  size  field
 *     0     4  len         total frame bytes, this field included (>= 28)
 *     4     4  crc         CRC32C of bytes [8, len)
 *     8     8  counter     1, 2, 3, ... with no gaps within a log
 *    16     8  arrival_ms  signed, non-decreasing within a log
 *    24     2  pk_len      partition key bytes
 *    26     1  flags       opaque to the store
 *    27     1  reserved    0
 *    28 pk_len pk
 *     . rest   data        len - 28 - pk_len bytes
 */
#ifndef RN_STORE_INT_H
#define RN_STORE_INT_H

#include "store/store.h"
#include "util/buf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/types.h>
#include <sys/uio.h>

#define RN_FRAME_HDR 28u
#define RN_FRAME_MAX_PK 65535u
#define RN_FRAME_MAX_DATA (16u << 20)
#define RN_FRAME_MAX (RN_FRAME_HDR + RN_FRAME_MAX_PK + RN_FRAME_MAX_DATA)
#define RN_IDX_EVERY_RECORDS 128u
#define RN_IDX_EVERY_BYTES (64u << 10)
#define RN_SEGMENT_BYTES_DEFAULT (64ull << 20)
#define RN_MEM_CHUNK_MAX (1u << 20)
/* Helper threads next to the sync thread: up to 1 + this many logs are
 * fdatasynced at once (the work is I/O wait, not CPU: not tied to nproc). */
/* Staging (cfg.defer_commit): appends of up to RN_STAGE_BATCH_MAX bytes are
 * staged, up to RN_STAGE_MAX bytes per log before the stage is written;
 * RN_STAGE_POOL spare stage buffers are kept. */
#define RN_STAGE_BATCH_MAX (16u << 10)
#define RN_STAGE_MAX (256u << 10)
#define RN_STAGE_POOL 16
/* Under the commit journal a stage is written behind (store_journal.c): it
 * stays in memory, journaled, until it reaches RN_STAGE_MAX, a checkpoint is
 * due, or all stages together pass RN_STAGE_BUDGET. */
#define RN_STAGE_BUDGET (32u << 20)

#ifndef RN_SYNC_WORKERS_MAX
#define RN_SYNC_WORKERS_MAX 7
#endif

/* ---- sparse index ------------------------------------------------------ */
typedef struct rn_idx_ent {
    uint64_t counter;   /* counter of the frame at off */
    uint64_t off;       /* byte offset of that frame in its segment */
    int64_t arrival_ms; /* its arrival time */
} rn_idx_ent_t;

/* ---- segments ------------------------------------------------------------ */
typedef struct rn_seg {
    uint64_t base;        /* counter of the first frame (the file's name) */
    uint64_t end;         /* one past the last counter held */
    uint64_t size;        /* bytes of valid frames */
    int64_t last_arrival; /* arrival of the last frame; INT64_MIN when empty */
    rn_idx_ent_t *idx;    /* sparse index, ascending counter (and arrival) */
    size_t nidx, idx_cap;
    int fd;               /* disk: open descriptor or -1 (sealed, not cached) */
    uint8_t **chunks;     /* memory: chunk_size-byte chunks */
    size_t nchunks, chunks_cap, chunk_size;
} rn_seg_t;

typedef struct rn_segio_ops {
    /* Create the (empty) segment seg->base and make it writable. */
    int (*create)(rn_log_t *l, rn_seg_t *seg);
    /* Write total bytes at seg->size. All-or-nothing: on error the segment
     * is cut back to seg->size. Does not update seg->size. May modify iov. */
    int (*write)(rn_log_t *l, rn_seg_t *seg, struct iovec *iov, int iovcnt, size_t total);
    /* Read exactly len bytes at off (RN_ECORRUPT when the segment is shorter). */
    int (*read)(rn_log_t *l, rn_seg_t *seg, uint64_t off, void *dst, size_t len);
    int (*truncate)(rn_log_t *l, rn_seg_t *seg, uint64_t size);
    /* Drop descriptors / memory of the segment. */
    void (*release)(rn_log_t *l, rn_seg_t *seg);
} rn_segio_ops_t;

extern const rn_segio_ops_t rn_store__file_ops;
extern const rn_segio_ops_t rn_store__mem_ops;

/* Fault-injection seams for tests (default: the libc functions). Only ever
 * set by tests, before the calls they mean to fail. */
extern ssize_t (*rn_store__pwritev)(int fd, const struct iovec *iov, int cnt, off_t off);
extern int (*rn_store__fdatasync)(int fd);
/* 1: the journal never requests a checkpoint while running (tests that cut
 * segment files to what a power cut leaves of never-synced data). */
extern int rn_store__no_checkpoints;

/* ---- group commit items ---------------------------------------------------- */
enum { RN_CITEM_SYNC = 1, RN_CITEM_WAITER = 2 };

typedef struct rn_citem {
    struct rn_citem *next;
    int kind;
    int status;           /* set by the sync thread or a sync worker */
    uint64_t batch;       /* sync-thread batch number: items of one batch share it */
    /* RN_CITEM_WAITER */
    void (*done)(void *ud, int status);
    void *ud;
    uint64_t seq;         /* s->commit_seq of its commit (staging: which drops it covers) */
    /* RN_CITEM_SYNC: make log durable up to target. The sync thread never
     * dereferences log (rn_log_close sets it to NULL under the mutex); it only
     * touches the descriptors below, which it owns (dup'ed) and closes. */
    rn_log_t *log;
    uint64_t target;
    int64_t target_arrival;
    uint64_t active_base; /* segment whose dup is in fds (merge dedupe) */
    int *fds;
    size_t nfds, fds_cap;
    int dirfd;            /* -1 or a dup of the log directory to fsync */
    /* The journal's item: its current file and directory, synced but not
     * closed (they outlive the item: the loop thread closes the current file
     * only by handing it to a later item as one of fds). -1: none. */
    int jfd, jdirfd;
} rn_citem_t;

typedef struct rn_citem_list {
    rn_citem_t *head, *tail;
} rn_citem_list_t;

/* ---- commit journal (store_journal.c) ----------------------------------------------
 * Record (little-endian), RN_JREC_HDR bytes of header then the payload:
 *   off size field
 *     0    4 len      total record bytes, header included
 *     4    4 crc      CRC32C of bytes [8, len)
 *     8    8 jseq     the journal file's sequence number (its name)
 *    16    1 type     RN_JREC_WRITE / RN_JREC_REMOVE / RN_JREC_END
 *    17    3 reserved 0
 *    20    4 shard    (REMOVE: UINT32_MAX = every shard of log_id)
 *    24    8 log_id
 *    32    8 base     WRITE: the segment's base counter
 *    40    8 off      WRITE: the byte offset in that segment
 *    48    . payload  WRITE: the bytes written there (whole frames) */
#define RN_JREC_HDR 48u
#define RN_JREC_WRITE 1
#define RN_JREC_REMOVE 2
#define RN_JREC_END 3
#define RN_JREC_MAX (RN_JREC_HDR + (64u << 20) + RN_FRAME_MAX)
#define RN_JNL_BYTES_DEFAULT (64ull << 20)
#define RN_JNL_READ_BLOCK (4u << 20)
#define RN_CKPT_MS 2000
#define RN_JNL_SPARES_MAX 4

typedef struct rn_journal {
    int init, on;
    int dirfd;                /* DATA_DIR/journal */
    uint64_t file_bytes;      /* size of a new journal file */
    uint64_t ckpt_bytes;      /* a checkpoint after this many journal bytes */
    /* loop thread */
    int fd;                   /* current file, -1 before the first record */
    uint64_t jseq;            /* its number (the next file's when fd < 0) */
    uint64_t size, off;       /* its allocated size; bytes written to it */
    int fresh;                /* it was only allocated (not a spare written whole) */
    int spares_asked;         /* want_spares was set */
    rn_buf_t buf;             /* records not yet written (they go at off) */
    int unsynced;             /* written since the last hand-off */
    int dir_dirty;            /* a file was created since the last hand-off */
    int *retired;             /* descriptors of rolled files awaiting their sync */
    size_t nretired, retired_cap;
    uint64_t since_ckpt;      /* bytes written since the last checkpoint request */
    int64_t last_ckpt_ms;
    int64_t ckpt_ms;          /* a checkpoint at least this often while written to */
    int failed;               /* RN_EIO once a journal write or sync failed */
    int ckpt_blocked;         /* a closed log's stage could not be written: its records are
                                 only in the journal, so no checkpoint until the next start */
    /* checkpoint thread, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thr;
    int thr_started, stop, req;
    uint64_t req_jseq, req_off, ckpt_jseq, ckpts;
    uint64_t spares[RN_JNL_SPARES_MAX], spare_seq;
    int want_spares;          /* the journal is in real use: keep spares written whole */
    size_t nspares;
} rn_journal_t;

/* ---- logs ------------------------------------------------------------------ */
struct rn_log {
    rn_store_t *store;
    uint64_t log_id;
    uint32_t shard;
    int open;                 /* memory logs outlive rn_log_close until destroy */
    struct rn_log *reg_next;  /* store registry */
    struct rn_log *reg_prev;

    rn_seg_t *segs;           /* ascending base; the last one is active */
    size_t nsegs, segs_cap;
    ssize_t cached;           /* sealed segment whose fd is open, or -1 */
    /* open-file cache (store_segio.c), loop thread only: logs holding segment
     * descriptors, most recently used first */
    int nfiles;               /* segment descriptors open: the active's, the cached one's */
    struct rn_log *lru_prev, *lru_next;

    uint64_t next;            /* counter of the next append */
    uint64_t committed;       /* one past the last readable counter */
    uint64_t first;           /* trim horizon: oldest readable counter (rn_log_trim) */
    int64_t trim_ok_ms;       /* every record >= first arrived at or after this (a lower
                                 bound, INT64_MIN when unknown): a trim cutoff up to it
                                 has nothing to do (rn_log_trim's O(1) path) */
    int64_t arrival_appended; /* clamp for the next append */
    int64_t arrival_committed;
    int failed;               /* 0, or the RN_E* every append now returns */

    char *dir;                /* disk: DATA_DIR/logs/<id>/<shard> */
    int dirfd;                /* disk without the journal under fsync always/interval: that
                                 directory, opened just before a commit hands a log with
                                 dir_dirty over (the item takes it), else -1 */

    /* group commit, loop thread only */
    int dirty;                /* on the store's dirty list */
    struct rn_log *dirty_next;
    int unsynced;             /* appended since the last hand-off */
    int dir_dirty;            /* a segment file was created since the last hand-off */
    int *handoff;             /* descriptors of sealed segments awaiting sync */
    size_t nhandoff, handoff_cap;
    rn_citem_t *pending;      /* our not-yet-taken sync item, if pending_gen matches */
    uint64_t pending_gen;

    /* staged appends (cfg.defer_commit), loop thread only: frames built
     * but not yet written, all for the active segment, starting at its
     * size; the st_* fields are the state to restore if writing fails */
    rn_buf_t *stage;          /* NULL when nothing is staged */
    int on_staged;            /* on the store's staged list */
    struct rn_log *staged_next;
    uint64_t st_seq;          /* s->commit_seq when the stage began */
    uint64_t st_next, st_end;
    size_t st_nidx;
    int64_t st_last_arrival, st_arrival_appended;
    int st_unsynced;
    size_t st_jlen;           /* journal: stage bytes already journaled */

    /* commit listeners (rn_log_watch), loop thread only */
    rn_log_waiter_t *waiters;
    int notify_queued;        /* on the store's notify list */
    struct rn_log *notify_next;
};

/* ---- the store ----------------------------------------------------------- */
struct rn_store {
    rn_store_config_t cfg;
    char *data_dir;           /* NULL when in memory */
    int lock_fd;
    const rn_segio_ops_t *io;
    int durable;              /* fsync always on disk: visibility waits for the sync thread */
    int sync_thread;          /* 1 when the sync thread runs (disk, always/interval) */
    int stage_on;             /* small appends are staged (defer_commit, disk, always/never) */

    sqlite3 *db;
    sqlite3_stmt *st_put, *st_put_new, *st_put_at, *st_get, *st_del, *st_del_at, *st_rev_note, *st_scan;
    uint64_t kv_rev;          /* the highest metadata revision handed out (store_kv.c) */
    size_t nwatch;            /* rn_store_kv_watch registrations (kept; no other writers here) */
    struct rn_kv_watch { char *prefix; rn_kv_changed_fn fn; void *ud; } watch[RN_KV_WATCH_MAX];
    int scan_busy;

    rn_log_t *logs;           /* registry of every rn_log_t alive */
    /* open-file cache (store_segio.c): logs holding segment descriptors,
     * most recently used first; files open in all; the cap */
    rn_log_t *lru_head, *lru_tail;
    size_t nfiles, max_files;
    uint64_t files_evicted;   /* logs whose files were closed for the cap */
    rn_log_t *dirty;          /* logs appended since the last commit */
    rn_log_t *staged;         /* logs with staged appends (maybe already written) */
    rn_buf_t *stage_pool[RN_STAGE_POOL]; /* spare stage buffers */
    uint64_t staged_bytes;    /* bytes in every log's stage */
    int jnl_quiet;            /* journal: the segment write in progress is journaled already */
    size_t nstage_pool;
    uint64_t commit_seq;      /* rn_store_commit calls so far */
    rn_citem_list_t unkicked; /* defer_commit + fsync always: waiters until the kick */
    rn_buf_t tmp;             /* loop-thread scratch (seek scans) */
    rn_buf_t app_hdrs;        /* append scratch: frame headers + small payloads */
    struct iovec *app_iov;    /* append scratch: the pwritev vector */
    size_t app_iov_cap;

    /* group commit: everything below mu is shared with the sync thread */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thr;
    int stop;
    uint64_t take_gen;        /* bumped each time the sync thread takes pending */
    rn_citem_list_t pend_syncs;
    rn_citem_list_t pend_waiters;
    rn_citem_list_t inflight;
    rn_citem_list_t done;
    int woken;                /* wake() called, run_completions not yet run */
    /* sync workers: the sync thread shares a batch's SYNC items with them so
     * the fdatasyncs of one batch run in parallel (store_commit.c). Under wmu,
     * never under mu, so commits never wait on the pool. */
    pthread_mutex_t wmu;
    pthread_cond_t wcond;     /* workers: work posted or wstop */
    pthread_cond_t wdone;     /* sync thread: wleft reached 0 */
    pthread_t workers[RN_SYNC_WORKERS_MAX];
    int nworkers;             /* started helpers (0: the sync thread syncs alone) */
    int wstop;
    int wsync_init;           /* wmu/wcond/wdone initialised */
    rn_citem_t *wnext;        /* next unclaimed SYNC item of the current batch */
    size_t wleft;             /* countdown latch: items of the batch not yet synced */
    uint64_t st_batches, st_items, st_fds, st_sync_ns; /* sync thread only: logged at stop */
    /* rn_store_stats: written by the sync thread, read by the loop (atomics) */
    uint64_t stat_sync_us[RN_STORE_SYNC_BUCKETS], stat_sync_us_sum;
    uint64_t stat_commits[RN_STORE_BATCH_BUCKETS], stat_commits_sum, stat_batches, stat_fds;
    rn_citem_t *freelist;     /* loop thread only */
    rn_citem_t *jpending;     /* the journal's not-yet-taken sync item (jpending_gen) */
    uint64_t jpending_gen;
    rn_log_t *notify;         /* logs whose watermark advanced, waiters to run */
    /* removal of deleted logs' files (rn_store_log_remove): directories are
     * renamed to logs/.trash-* in the loop thread and removed by this thread */
    pthread_mutex_t trash_mu;
    pthread_cond_t trash_cond;
    pthread_t trash_thr;
    int trash_init;           /* trash_mu/trash_cond initialised */
    int trash_started;        /* trash_thr runs */
    int trash_stop;
    char **trash_v;           /* names under logs/ waiting for removal */
    size_t trash_n, trash_cap;
    uint64_t trash_seq;       /* makes every trash name unique */
    rn_journal_t jnl;         /* on: disk store under fsync always or interval */
    /* cfg.counters_at_commit: counters of appends not yet reported, written
     * to their callers' *first at the next rn_store_run_completions */
    struct rn_counter_due { uint64_t *dst, val; } *due;
    size_t ndue, due_cap;
};

/* store_journal.c (only when s->jnl.on) */
int rn_store__journal_open(rn_store_t *s, const char **errmsg); /* replays, starts the checkpointer */
void rn_store__journal_close(rn_store_t *s, int clean);        /* clean: final checkpoint */
/* Append the record of a segment write (before the write: iov may be
 * consumed by it); *mark undoes it with rn_store__journal_unwrite if the
 * write fails. May roll to a new file; RN_ENOSPC when none can be had. */
int rn_store__journal_write_rec(rn_log_t *l, const rn_seg_t *seg, const struct iovec *iov, int iovcnt,
                                size_t total, size_t *mark);
void rn_store__journal_unwrite(rn_store_t *s, size_t mark);
/* Room in the journal for a record of `payload` bytes (rolling to a new file
 * if needed): the next record of at most that size cannot fail. */
int rn_store__journal_reserve(rn_store_t *s, size_t payload);
/* A due checkpoint made rn_store__journal_kick write every stage: request it
 * now, while none is left, covering the journal as written so far. (The
 * hand-off at the next commit would find that round's new stages and could
 * not: under steady load a due checkpoint was never requested, and every
 * round wrote every stage.) */
void rn_store__journal_ckpt_flushed(rn_store_t *s);
/* Journal the bytes of l's stage not yet journaled (one WRITE record at the
 * offset they will have in the active segment). */
int rn_store__journal_stage(rn_log_t *l);
/* The end of a round under the journal (store_log.c): write the stages
 * behind when over budget or a checkpoint is due (a checkpoint needs every
 * journaled byte in its segment). Stages are journaled when appended. */
void rn_store__journal_kick(rn_store_t *s);
/* A checkpoint would be requested at the next hand-off. */
int rn_store__journal_ckpt_due(const rn_store_t *s);
/* A log's files are going: record it and sync the journal, so no replay
 * brings them back. */
int rn_store__journal_remove(rn_store_t *s, uint64_t log_id, int64_t shard);
/* Commit hand-off: write the buffered records. What the sync thread must
 * sync for them: *fds (malloc'ed, *nfds of them: rolled files, to close
 * after), *jfd (the current file) and *jdirfd (the directory), not to close
 * (-1: nothing). No descriptor is made here: no EMFILE on the commit path. */
int rn_store__journal_handoff(rn_store_t *s, int **fds, size_t *nfds, int *jfd, int *jdirfd);
/* Write and fdatasync now, blocking (close paths). */
int rn_store__journal_sync_now(rn_store_t *s);
/* Remove logs/<log_id>[/<shard>] in place (replay of a REMOVE record). */
int rn_store__log_files_remove(rn_store_t *s, uint64_t log_id, int64_t shard);

/* Stop the removal thread (after the name it is removing; the rest stay
 * under logs/.trash-* for the next start) and free its queue. */
void rn_store__trash_stop(rn_store_t *s);
/* Queue the logs/.trash-* entries a previous run left. */
void rn_store__trash_resume(rn_store_t *s);

/* store_log.c */
void rn_store__log_free(rn_log_t *l);
int rn_store__log_sync_now(rn_log_t *l);
/* Write l's staged appends (a no-op when none). On failure the staged
 * records are dropped, the log is as before them, every commit made since
 * the stage began and not yet settled fails with the error, which is also
 * returned. */
int rn_store__log_flush(rn_log_t *l);
/* Write every log's staged appends; the first error, or 0. */
int rn_store__flush_all(rn_store_t *s);

/* store_commit.c */
/* Staged records appended after commit number `seq` were dropped: every
 * waiter of a later commit not yet handed to the sync thread nor completed
 * gets `status` (a commit covers everything appended before it). */
void rn_store__fail_commits_after(rn_store_t *s, uint64_t seq, int status);
int rn_store__commit_start(rn_store_t *s);
void rn_store__commit_stop(rn_store_t *s);
void rn_store__commit_forget_log(rn_store_t *s, rn_log_t *l);
void rn_store__mark_dirty(rn_store_t *s, rn_log_t *l);
void rn_store__citem_free_all(rn_store_t *s);
/* The log's committed watermark advanced: run its waiters at the end of
 * rn_store_run_completions. */
void rn_store__notify_queue(rn_store_t *s, rn_log_t *l);
/* The log is going away: drop it from the notify list, tell its waiters. */
void rn_store__notify_forget(rn_store_t *s, rn_log_t *l);

/* store_segio.c: the open-file cache. Every segment descriptor a log holds
 * (its active segment's, its one cached sealed segment's) is counted; past
 * s->max_files the least recently used log's are closed (never the most
 * recent one's, nor, without the journal under fsync always/interval, those
 * of a log with appends not yet handed to the sync thread). They are reopened
 * when next needed (rn_store__seg_open). Loop thread only: the sync thread
 * syncs dup'ed descriptors, the checkpoint thread syncfs()es, replay has its
 * own. */
/* seg->fd, opened if closed (O_RDWR for the active segment, else O_RDONLY
 * and cached); marks l most recently used. 0 or an RN_E* code. */
int rn_store__seg_open(rn_log_t *l, rn_seg_t *seg);
/* Count fd as seg's (open), then keep the cap. */
void rn_store__seg_fd_set(rn_log_t *l, rn_seg_t *seg, int fd);
/* Close seg's descriptor, if open. */
void rn_store__seg_fd_close(rn_log_t *l, rn_seg_t *seg);
/* Take seg's descriptor out of the cache (the caller owns it now); -1 if closed. */
int rn_store__seg_fd_take(rn_log_t *l, rn_seg_t *seg);

/* store_kv.c */
int rn_store__kv_open(rn_store_t *s, const char **errmsg);
void rn_store__kv_close(rn_store_t *s);

/* mkdir -p path; *created = 1 when its last component was made (store_log.c). */
int rn_store__mkdirs(const char *path, int *created);
/* Map an errno to an RN_E* code. */
int rn_store__errno(int e);
/* open(2) for the loop thread: on EMFILE/ENFILE asks cfg.reclaim_fd for a
 * descriptor and retries (up to 8 times). Returns the fd, or -1 with errno. */
int rn_store__open(rn_store_t *s, const char *path, int flags, mode_t mode);
/* opendir(3) likewise. */
DIR *rn_store__opendir(rn_store_t *s, const char *path);

#endif
