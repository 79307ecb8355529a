/* store.h: runnel's storage engine, seen from core.
 *
 * The store knows nothing of HTTP, JSON or Kinesis names. It offers:
 *  - a metadata key/value table (SQLite, in WAL mode; ":memory:" when the
 *    store is in memory), written synchronously by the caller's thread;
 *  - one append-only record log per shard, addressed by a 64-bit counter
 *    that the log assigns (1, 2, 3, ... with no gaps);
 *  - group commit: rn_store_commit() acknowledges, through a callback, once
 *    everything appended before the call is durable under the fsync policy.
 *
 * Threading: every function here is called from the one event-loop thread,
 * except as stated. The disk backend runs one background sync thread that
 * issues fdatasync; it never calls back directly: it calls cfg->wake() (from
 * its own thread), and the loop thread then calls rn_store_run_completions(),
 * which runs the commit callbacks in the loop thread.
 *
 * Visibility: a record becomes readable (rn_log_read, rn_log_committed) only
 * once it is durable under the policy (fsync always: after its fdatasync;
 * interval or never: at once). So a reader can never see a record that a
 * crash could take back, and counters are never reused for different data.
 */
#ifndef RN_STORE_H
#define RN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct rn_store rn_store_t;
typedef struct rn_log rn_log_t;

typedef enum rn_fsync_mode {
    RN_FSYNC_ALWAYS = 0,   /* acknowledge after fdatasync */
    RN_FSYNC_INTERVAL = 1, /* acknowledge at once; fdatasync every interval_ms */
    RN_FSYNC_NEVER = 2,    /* acknowledge at once; leave it to the kernel */
} rn_fsync_mode_t;

typedef struct rn_store_config {
    const char *data_dir;       /* ignored when in_memory */
    int in_memory;              /* 1: logs in RAM, metadata in SQLite ":memory:" */
    rn_fsync_mode_t fsync_mode;
    int fsync_interval_ms;      /* for RN_FSYNC_INTERVAL */
    uint64_t segment_bytes;     /* roll segments at this size; 0 = 64 MiB */
    uint64_t journal_bytes;     /* size of a commit journal file; 0 = 64 MiB (min 1 MiB) */
    uint64_t checkpoint_bytes;  /* journal bytes between checkpoints; 0 = half a file */
    int checkpoint_ms;          /* and at least this often while written to; 0 = 2000 */
    /* 1: no commit journal: every commit fdatasyncs each segment it wrote
     * (the engine before the journal, kept to compare with; docs/storage.md). */
    int no_journal;
    /* Called from the sync thread when completions are ready; must be
     * async-signal-safe-ish and cheap (e.g. event_active on a libevent event). */
    void (*wake)(void *ud);
    void *wake_ud;
    /* 1: the caller calls rn_store_kick() after every round of its event
     * loop. Appends and commits of one round are then gathered: a small
     * append is staged in memory and written with the log's other appends
     * of the round (one pwritev per log), and under fsync always the
     * round's commits are handed to the sync thread together, at the kick.
     * 0: every append is written, and every commit handed over, at once. */
    int defer_commit;
    /* Optional: a file the loop thread opens for a log (a segment, a log's
     * directory) failed with EMFILE or ENFILE. Free a descriptor (e.g. close
     * an idle connection) and return 1, so the open is retried (up to 8
     * times), or return 0 when nothing can be freed. Called only from the loop
     * thread, never from the sync or trash threads. */
    int (*reclaim_fd)(void *ud);
    void *reclaim_ud;
    /* 1 (runnel's own tests: --test-counters-at-commit): report the counters
     * of appends as a cluster backend does, only when they commit (see
     * rn_log_append), so that the callers' deferred path is exercised on one
     * node. The records and their counters are the same either way. */
    int counters_at_commit;
    /* Segment files the disk backend keeps open across all its logs (the
     * open-file cache, docs/storage.md): past it the least recently used
     * log's files are closed and reopened when next read, written or
     * trimmed. 0: the share util/fdlimit.h keeps from connections for them
     * (rn_fd_files_default: 32 at a limit of 256, 512 at 4096, 8464 at
     * 20000). Minimum 2. */
    size_t max_open_files;
} rn_store_config_t;

/* Open (creating if needed) the store. For the disk backend this takes an
 * exclusive lock on DATA_DIR/LOCK (flock); a second process gets RN_EBUSY
 * and *errmsg says so. Returns 0 or a negative RN_E* code. */
int rn_store_open(rn_store_t **out, const rn_store_config_t *cfg, const char **errmsg);

/* Stop the sync thread after making everything appended durable (whatever the
 * policy), run the remaining completions, close files. */
void rn_store_close(rn_store_t *s);

/* ---- metadata key/value ---------------------------------------------- */
/* Keys are NUL-terminated text; values are bytes. Writes are durable when
 * they return (synchronous=FULL under fsync always, NORMAL otherwise).
 * Every stored value has a revision > 0, larger than that of every earlier
 * write of any key (a deletion too takes one), so that writers sharing the
 * store (cluster mode's nodes, docs/cluster.md) can compare and set. */
int rn_store_kv_put(rn_store_t *s, const char *key, const void *val, size_t len);
int rn_store_kv_del(rn_store_t *s, const char *key);
/* *val is malloc'ed (caller frees); RN_ENOENT when missing. */
int rn_store_kv_get(rn_store_t *s, const char *key, void **val, size_t *len);
/* rn_store_kv_get with the value's revision (rev may be NULL). */
int rn_store_kv_get_rev(rn_store_t *s, const char *key, void **val, size_t *len, uint64_t *rev);
/* Write key only if its revision is expect_rev (0: only if it is absent).
 * Returns 0 with the new revision in *new_rev (may be NULL), or RN_ECONFLICT
 * when the key's revision is another (nothing written). */
int rn_store_kv_put_if(rn_store_t *s, const char *key, const void *val, size_t len, uint64_t expect_rev,
                       uint64_t *new_rev);
/* Delete key only if its revision is expect_rev; RN_ECONFLICT otherwise
 * (also when it is absent). */
int rn_store_kv_del_if(rn_store_t *s, const char *key, uint64_t expect_rev);
/* Calls fn for every key starting with prefix, in key order, with the
 * value's revision. A non-zero return from fn stops the scan and is returned. */
typedef int (*rn_kv_scan_fn)(void *ud, const char *key, const void *val, size_t len, uint64_t rev);
int rn_store_kv_scan(rn_store_t *s, const char *prefix, rn_kv_scan_fn fn, void *ud);
/* Changes made by other writers sharing the store (cluster mode's other
 * nodes): fn(ud, key, val, len, rev) runs in the loop thread, from
 * rn_store_run_completions(), for each key starting with prefix that another
 * writer changed (val NULL and len 0 for a deletion), in revision order,
 * once rn_store_kv_get already returns that value or a newer one. fn may
 * read and write the store. At most RN_KV_WATCH_MAX watches; RN_ETOOBIG past
 * that. The disk and memory backends have no other writers and never call
 * fn. */
#define RN_KV_WATCH_MAX 8
typedef void (*rn_kv_changed_fn)(void *ud, const char *key, const void *val, size_t len, uint64_t rev);
int rn_store_kv_watch(rn_store_t *s, const char *prefix, rn_kv_changed_fn fn, void *ud);
/* Drop every watch of (fn, ud). */
void rn_store_kv_unwatch(rn_store_t *s, rn_kv_changed_fn fn, void *ud);

/* ---- record logs -------------------------------------------------------- */
/* A record to append. The partition key and data are copied into the log. */
typedef struct rn_record_in {
    const uint8_t *pk;    /* partition key bytes (may be NULL when pk_len is 0) */
    size_t pk_len;        /* <= 65535 */
    const uint8_t *data;
    size_t data_len;      /* <= 16 MiB */
    uint8_t flags;        /* opaque to the store, returned by reads */
} rn_record_in_t;

/* A record read back. pk and data point into the caller's scratch buffer
 * and stay valid until that buffer is reset or disposed. */
typedef struct rn_record_out {
    uint64_t counter;
    int64_t arrival_ms;
    const uint8_t *pk;
    size_t pk_len;
    const uint8_t *data;
    size_t data_len;
    uint8_t flags;
} rn_record_out_t;

/* Open the log of (log_id, shard), creating it if absent; recovery of a
 * disk log (CRC check, torn-tail truncation, counter resumption) happens
 * here. log_id is any caller-chosen unique number (core uses the stream's
 * internal id). The handle stays valid until rn_log_close/rn_log_destroy. */
int rn_log_open(rn_store_t *s, uint64_t log_id, uint32_t shard, rn_log_t **out);
void rn_log_close(rn_log_t *l);
/* Close and delete every byte of the log (stream deletion). */
int rn_log_destroy(rn_log_t *l);
/* Close a log whose files are about to go (rn_store_log_remove): nothing
 * is synced or flushed first (staged appends are dropped, commits still
 * queued for it complete without it). Closing a deleted stream's 500 open
 * logs must not cost 500 fdatasyncs. */
void rn_log_discard(rn_log_t *l);
/* Delete the records of log_id's shard `shard` (every shard when shard < 0)
 * without opening the logs: no recovery. Disk: one rename of
 * logs/<log_id>[/<shard>] to logs/.trash-* (a log never written has no
 * directory and costs nothing), then a store thread removes the files; what
 * it has not removed at close is removed after the next open. A log opened
 * at the same path later starts empty. The logs must not be open (RN_EBUSY:
 * close or discard them first). Missing files are not an error. */
int rn_store_log_remove(rn_store_t *s, uint64_t log_id, int64_t shard);
/* The largest log_id that has files (disk: a DATA_DIR/logs/<log_id>
 * or .trash-<log_id>-* directory) or a live log (memory), 0 when none:
 * start-up keeps new ids above it. */
int rn_store_log_id_max(rn_store_t *s, uint64_t *max);

/* Append n records with one arrival time (clamped so arrival times never go
 * backwards within a log). On success *first is the counter of recs[0]; the
 * others follow with no gap. The records are readable only after commit.
 * When rn_store_counters_at_commit(s) (a backend whose counters are assigned
 * by a replicated log when it acknowledges, docs/cluster.md), *first is 0 on
 * return and is written later, before the done() of any rn_store_commit made
 * after this call runs (whatever its status): *first must stay valid until
 * then (or, if that commit cannot be made, until rn_store_commit returns).
 * Otherwise it is set at once.
 * All-or-nothing: on error nothing was appended (RN_ENOSPC, RN_EIO, ...).
 * With cfg.defer_commit a small append may be staged rather than written;
 * if writing the stage fails later, the staged records are dropped whole
 * (their counters are given out again) and every commit not yet completed
 * fails with that error, so a dropped record is never acknowledged. */
int rn_log_append(rn_log_t *l, const rn_record_in_t *recs, size_t n, int64_t arrival_ms,
                  uint64_t *first);
/* rn_log_append, never staged: when it returns 0 the records are in the
 * file (page cache), so a write error is this call's (PutRecords reports it
 * per entry). */
int rn_log_append_now(rn_log_t *l, const rn_record_in_t *recs, size_t n, int64_t arrival_ms,
                      uint64_t *first);

/* 1 when appends report their counters only at commit (rn_log_append). */
int rn_store_counters_at_commit(const rn_store_t *s);

/* Counter the next append will get (1 for an empty log). Writes the log's
 * staged appends first, so every counter below it is in the file. */
uint64_t rn_log_next(rn_log_t *l);
/* One past the last readable counter: records [rn_log_first(l), committed) are readable. */
uint64_t rn_log_committed(const rn_log_t *l);
/* Oldest readable counter (the trim horizon); equals rn_log_next when empty.
 * Starts at the first segment's base when the log is opened, and only moves
 * forward, through rn_log_trim. */
uint64_t rn_log_first(const rn_log_t *l);
/* Arrival time of the newest readable record, or 0 when none. */
int64_t rn_log_last_arrival(const rn_log_t *l);

/* Read readable records with counter >= from, at most max_records, and at
 * most max_bytes of data+pk (but always at least one record if one exists).
 * Records land in out[0..*n); their bytes live in *scratch (appended to).
 * *next is the counter to continue from. */
int rn_log_read(rn_log_t *l, uint64_t from, size_t max_records, size_t max_bytes,
                rn_buf_t *scratch, rn_record_out_t *out, size_t *n, uint64_t *next);

/* Counter of the first readable record with arrival_ms >= ts_ms, or
 * rn_log_committed(l) if none. Never below rn_log_first(l). */
int rn_log_seek_time(rn_log_t *l, int64_t ts_ms, uint64_t *counter);

/* Retention: make every record that arrived before cutoff_ms unreadable.
 * rn_log_first advances to the first readable record at or after the cutoff
 * (never past rn_log_committed), and whole segments holding only trimmed
 * records are deleted (disk: unlinked; memory: freed). The active segment
 * is deleted too once every record in it is trimmed and nothing is waiting
 * for commit: the log first rolls to a new, empty segment, so counters keep
 * ascending across a restart. The trim point itself is not persisted: a
 * reopened log starts at its first remaining segment, and the caller applies
 * its (monotonic) cutoff again before serving reads (core does this in
 * rn_shard_log). O(1) when the cutoff has not passed the oldest readable
 * record; otherwise a time seek. Returns 0 or a negative RN_E* code (the log
 * stays consistent; a segment that could not be deleted is kept). */
int rn_log_trim(rn_log_t *l, int64_t cutoff_ms);

/* ---- group commit --------------------------------------------------------- */
/* Call done(ud, status) once everything appended (to any log) before this
 * call is durable under the policy (status 0), or failed to be (status < 0:
 * the records are then not acknowledged and never become readable).
 * done always runs from rn_store_run_completions() in the loop thread, never
 * from inside rn_store_commit. */
int rn_store_commit(rn_store_t *s, void (*done)(void *ud, int status), void *ud);
/* Run ready completions; call from the loop thread after wake(). */
void rn_store_run_completions(rn_store_t *s);
/* With cfg->defer_commit: the end of an event-loop round. Writes what the
 * round staged and hands its commits to the sync thread. Cheap when the
 * round appended nothing. A no-op without defer_commit. */
void rn_store_kick(rn_store_t *s);

/* ---- commit listeners ------------------------------------------------------ */
/* A waiter on a log: fn(ud) runs in the loop thread, from
 * rn_store_run_completions(), after the log's committed watermark
 * (rn_log_committed) has advanced, so a reader can be woken by the append
 * rather than by polling. It also runs once, with w->log already NULL,
 * when the log is closed or destroyed. fn must not watch or unwatch other
 * waiters of the same log (deferring the work to an event is the intended
 * use). The waiter belongs to the caller and must stay valid while watched. */
typedef struct rn_log_waiter {
    void (*fn)(void *ud);
    void *ud;
    rn_log_t *log; /* set while watched */
    struct rn_log_waiter *prev, *next;
} rn_log_waiter_t;
void rn_log_watch(rn_log_t *l, rn_log_waiter_t *w);
void rn_log_unwatch(rn_log_waiter_t *w); /* no-op when not watched */

/* ---- statistics (GET /metrics) ----------------------------------------------- */
/* Group commits the sync thread made durable: their fdatasync time (one batch:
 * the journal's, or every dirty segment's without it) and how many commits
 * each answered. Buckets are per bucket, not cumulative; the last is +Inf. */
#define RN_STORE_SYNC_BUCKETS 12
#define RN_STORE_BATCH_BUCKETS 10
extern const uint64_t rn_store_sync_bounds_us[RN_STORE_SYNC_BUCKETS - 1]; /* 100 us .. 500 ms */
extern const uint64_t rn_store_batch_bounds[RN_STORE_BATCH_BUCKETS - 1];   /* 1 .. 256 commits */
typedef struct rn_store_stats {
    uint64_t batches;                              /* group commits synced */
    uint64_t sync_us[RN_STORE_SYNC_BUCKETS];       /* their latency, per bucket */
    uint64_t sync_us_sum;
    uint64_t commits[RN_STORE_BATCH_BUCKETS];      /* commits answered per batch, per bucket */
    uint64_t commits_sum;
    uint64_t fds_synced;                           /* descriptors fdatasynced */
    uint64_t open_logs;                            /* rn_log_t handles open */
    uint64_t open_files, max_open_files;           /* segment files open, and the cap (--max-open-files) */
    uint64_t files_evicted;                        /* logs whose files the cap closed */
    uint64_t journal_bytes;                        /* the commit journal's files on disk (0: none) */
    uint64_t metadata_bytes;                       /* the metadata database and its WAL (0: in memory) */
} rn_store_stats_t;
/* Loop thread; the sync thread's counters are read atomically (a batch in
 * progress may show in one counter and not yet in another). */
void rn_store_stats(rn_store_t *s, rn_store_stats_t *out);
/* Bytes the segment files of log_id (every shard) hold on disk, by one walk
 * of its directory (records still only in the journal are not in them); 0 in
 * memory or when it has none. Loop thread. */
int rn_store_log_disk_bytes(rn_store_t *s, uint64_t log_id, uint64_t *bytes);

#endif
