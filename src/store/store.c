/* store.c: opening and closing the store.
 *
 * DATA_DIR layout (disk backend):
 *   DATA_DIR/LOCK                          flock(LOCK_EX|LOCK_NB) while open
 *   DATA_DIR/runnel.db (+ -wal, -shm)      metadata, SQLite WAL (store_kv.c)
 *   DATA_DIR/logs/<log_id>/<shard>/<base>.seg
 *                                          record segments (store_log.c)
 * The memory backend has none of these: metadata in SQLite ":memory:",
 * segments in RAM chunks. See docs/storage.md. */
#include "store/store_int.h"
#include "util/fdlimit.h"
#include "util/status.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* *errmsg points here; valid until the next rn_store_open in this thread. */
static __thread char open_errmsg[PATH_MAX + 128];

static void set_errmsg(const char **errmsg, const char *fmt, const char *arg, const char *detail)
{
    if (!errmsg)
        return;
    (void)snprintf(open_errmsg, sizeof open_errmsg, fmt, arg, detail);
    *errmsg = open_errmsg;
}

static int open_data_dir(rn_store_t *s, const char **errmsg)
{
    char path[PATH_MAX];
    int created;
    int rc = rn_store__mkdirs(s->data_dir, &created);
    if (rc) {
        set_errmsg(errmsg, "cannot create data directory %s: %s", s->data_dir, rn_strerror(rc));
        return rc;
    }
    int n = snprintf(path, sizeof path, "%s/LOCK", s->data_dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        set_errmsg(errmsg, "data directory path too long: %s%s", s->data_dir, "");
        return RN_ETOOBIG;
    }
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0) {
        rc = rn_store__errno(errno);
        set_errmsg(errmsg, "cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            set_errmsg(errmsg, "data directory %s is in use by another runnel process%s",
                       s->data_dir, "");
            return RN_EBUSY;
        }
        rc = rn_store__errno(errno);
        set_errmsg(errmsg, "cannot lock %s: %s", path, strerror(errno));
        return rc;
    }
    n = snprintf(path, sizeof path, "%s/logs", s->data_dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return RN_ETOOBIG;
    if (mkdir(path, 0755) == 0) {
        /* a new logs/ entry must survive a power cut before any log in it */
        int dfd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || (s->cfg.fsync_mode != RN_FSYNC_NEVER && fsync(dfd) != 0)) {
            rc = rn_store__errno(errno);
            set_errmsg(errmsg, "cannot sync %s: %s", s->data_dir, strerror(errno));
            if (dfd >= 0)
                (void)close(dfd);
            return rc;
        }
        (void)close(dfd);
    } else if (errno != EEXIST) {
        rc = rn_store__errno(errno);
        set_errmsg(errmsg, "cannot create %s: %s", path, strerror(errno));
        return rc;
    }
    return 0;
}

static void store_free(rn_store_t *s)
{
    rn_store__journal_close(s, 0);
    rn_store__trash_stop(s);
    while (s->logs)
        rn_store__log_free(s->logs);
    rn_store__kv_close(s);
    rn_store__citem_free_all(s);
    while (s->nstage_pool) {
        rn_buf_t *b = s->stage_pool[--s->nstage_pool];
        rn_buf_dispose(b);
        free(b);
    }
    rn_buf_dispose(&s->tmp);
    rn_buf_dispose(&s->app_hdrs);
    free(s->app_iov);
    free(s->due);
    if (s->lock_fd >= 0)
        (void)close(s->lock_fd); /* releases the flock */
    (void)pthread_cond_destroy(&s->cond);
    (void)pthread_mutex_destroy(&s->mu);
    free(s->data_dir);
    free(s);
}

int rn_store_open(rn_store_t **out, const rn_store_config_t *cfg, const char **errmsg)
{
    int rc = 0;
    if (errmsg)
        *errmsg = NULL;
    if (!cfg || (!cfg->in_memory && (!cfg->data_dir || !*cfg->data_dir)))
        return RN_EINVAL;
    rn_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return RN_ENOMEM;
    s->cfg = *cfg;
    s->lock_fd = -1;
    if (!s->cfg.segment_bytes)
        s->cfg.segment_bytes = RN_SEGMENT_BYTES_DEFAULT;
    rn_buf_init(&s->tmp, 0);
    rn_buf_init(&s->app_hdrs, 0);
    pthread_condattr_t ca;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return RN_ENOMEM;
    }
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&s->cond, &ca) != 0) {
        (void)pthread_mutex_destroy(&s->mu);
        free(s);
        return RN_ENOMEM;
    }
    (void)pthread_condattr_destroy(&ca);

    if (cfg->in_memory) {
        s->io = &rn_store__mem_ops;
    } else {
        s->io = &rn_store__file_ops;
        s->durable = cfg->fsync_mode == RN_FSYNC_ALWAYS;
        s->sync_thread = cfg->fsync_mode != RN_FSYNC_NEVER;
        /* Interval mode hands logs to the sync thread at commit, before a
         * kick would write them: it writes at once. */
        s->stage_on = cfg->defer_commit && cfg->fsync_mode != RN_FSYNC_INTERVAL;
        s->max_files = cfg->max_open_files ? cfg->max_open_files : rn_fd_files_default(rn_fd_limit());
        if (s->max_files < 2)
            s->max_files = 2;
        if (!(s->data_dir = strdup(cfg->data_dir))) {
            rc = RN_ENOMEM;
            goto fail;
        }
        if ((rc = open_data_dir(s, errmsg)) != 0)
            goto fail;
    }
    if ((rc = rn_store__kv_open(s, errmsg)) != 0)
        goto fail;
    /* The commit journal (fsync always and interval): replayed into the
     * segments before any log is opened. */
    if (s->data_dir && !cfg->no_journal &&
        (rc = rn_store__journal_open(s, errmsg)) != 0) {
        set_errmsg(errmsg, "cannot open the commit journal in %s/journal: %s", s->data_dir,
                   rn_strerror(rc));
        goto fail;
    }
    rn_store__trash_resume(s); /* deleted logs a previous run did not finish removing */
    if (s->sync_thread && (rc = rn_store__commit_start(s)) != 0) {
        s->sync_thread = 0;
        set_errmsg(errmsg, "cannot start the sync thread%s%s", "", "");
        goto fail;
    }
    *out = s;
    return 0;

fail:
    if (errmsg && !*errmsg)
        set_errmsg(errmsg, "cannot open the store: %s%s", rn_strerror(rc), "");
    store_free(s);
    return rc;
}

void rn_store_close(rn_store_t *s)
{
    if (!s)
        return;
    /* Staged appends and gathered commits go to the sync thread, which
     * drains what is pending, then exits. */
    rn_store_kick(s);
    if (s->sync_thread)
        rn_store__commit_stop(s);
    if (s->data_dir) {
        for (rn_log_t *l = s->logs; l; l = l->reg_next)
            if (!l->failed)
                (void)rn_store__log_sync_now(l);
        /* fsync never closes sealed segments unsynced: one syncfs covers them. */
        if (s->cfg.fsync_mode == RN_FSYNC_NEVER && syncfs(s->lock_fd) != 0)
            rn_error("store: syncfs %s: %s", s->data_dir, strerror(errno));
        /* A stage left (its segment would not take it) lives on in the
         * journal only: no final checkpoint then. */
        rn_store__journal_close(s, s->staged == NULL);
    }
    rn_store_run_completions(s);
    if (s->data_dir)
        rn_debug("store: open-file cache: at most %zu segment files, %llu logs' files closed for it",
                 s->max_files, (unsigned long long)s->files_evicted);
    store_free(s);
}

/* ---- statistics ---------------------------------------------------------------- */

/* Bytes of the regular files under dir (depth levels of subdirectories more). */
static uint64_t dir_bytes(int dfd, const char *dir, int depth)
{
    int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        (void)close(fd);
        return 0;
    }
    uint64_t total = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISREG(st.st_mode))
            total += (uint64_t)st.st_blocks * 512; /* allocated: preallocated journal space counts */
        else if (S_ISDIR(st.st_mode) && depth > 0)
            total += dir_bytes(fd, e->d_name, depth - 1);
    }
    (void)closedir(d);
    return total;
}

void rn_store_stats(rn_store_t *s, rn_store_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < RN_STORE_SYNC_BUCKETS; i++)
        out->sync_us[i] = __atomic_load_n(&s->stat_sync_us[i], __ATOMIC_RELAXED);
    for (int i = 0; i < RN_STORE_BATCH_BUCKETS; i++)
        out->commits[i] = __atomic_load_n(&s->stat_commits[i], __ATOMIC_RELAXED);
    out->sync_us_sum = __atomic_load_n(&s->stat_sync_us_sum, __ATOMIC_RELAXED);
    out->commits_sum = __atomic_load_n(&s->stat_commits_sum, __ATOMIC_RELAXED);
    out->batches = __atomic_load_n(&s->stat_batches, __ATOMIC_RELAXED);
    out->fds_synced = __atomic_load_n(&s->stat_fds, __ATOMIC_RELAXED);
    for (rn_log_t *l = s->logs; l; l = l->reg_next)
        out->open_logs++;
    out->open_files = s->nfiles;
    out->max_open_files = s->max_files;
    out->files_evicted = s->files_evicted;
    if (!s->data_dir)
        return;
    int dfd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    out->journal_bytes = dir_bytes(dfd, "journal", 0);
    const char *db[] = {"runnel.db", "runnel.db-wal"};
    for (size_t i = 0; i < sizeof db / sizeof *db; i++) {
        struct stat st;
        if (fstatat(dfd, db[i], &st, 0) == 0)
            out->metadata_bytes += (uint64_t)st.st_blocks * 512;
    }
    (void)close(dfd);
}

int rn_store_log_disk_bytes(rn_store_t *s, uint64_t log_id, uint64_t *bytes)
{
    *bytes = 0;
    if (!s->data_dir)
        return 0;
    char dir[64];
    snprintf(dir, sizeof dir, "logs/%llu", (unsigned long long)log_id);
    int dfd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return rn_store__errno(errno);
    *bytes = dir_bytes(dfd, dir, 1);
    (void)close(dfd);
    return 0;
}
