/* crashrec.c: an LD_PRELOAD interposer that records every change a process
 * makes to the files under one directory, for the crash-consistency harness
 * (tests/crash/crash.py, docs/testing.md "Crash consistency").
 *
 * Environment:
 *   CRASHREC_ROOT   the directory to watch (must exist before start; what it
 *                   holds then is tracked too: crash.py's crashes during
 *                   recovery start from a state already there)
 *   CRASHREC_TRACE  the trace file to append to
 *   CRASHREC_CTR    a file of at least 8 bytes holding the shared op counter
 *                   (mapped MAP_SHARED; the driver reads it to date its acks)
 *   CRASHREC_HIDE   the harness's self-test: "sync" leaves every fsync,
 *                   fdatasync and syncfs out of the trace, "dirsync" only the
 *                   fsyncs of directories, as if the store never made them;
 *                   the checker must then find acknowledged records lost
 *
 * Every recorded call takes two ticks of the counter: `start` before the
 * real call and `end` after it returns. An fsync covers the writes that had
 * ended before it started; a write that overlaps an fsync is not covered.
 * So a crash point is a counter value c: calls with end < c are done, calls
 * with start < c <= end are in flight (may or may not have happened).
 *
 * Trace record (little endian), a 64-byte header then name1, name2, data:
 *     0  u8  type       CR_WRITE, CR_TRUNC, CR_SYNC, CR_SYNCFS, CR_CREATE,
 *                       CR_UNLINK, CR_RENAME, CR_EXTEND
 *     1  u8  flags      CRF_ZERO: the data was all zero bytes and is not stored;
 *                       CRF_DIR: CR_CREATE made a directory
 *     2  u16 n1         bytes of name1 (a directory entry's name)
 *     4  u16 n2         bytes of name2 (rename's new name)
 *     6  u16 pad
 *     8  u64 start, 16 u64 end
 *    24  u64 ino        the file (write, trunc, sync, extend) or the entry's inode
 *    32  u64 dino       the directory holding name1
 *    40  u64 dino2      the directory holding name2 (rename)
 *    48  u64 off        write offset
 *    56  u64 len        write length; trunc/extend: the new size
 * Only successful calls on inodes under CRASHREC_ROOT are recorded. Inode
 * numbers identify files, so run the recorded process on tmpfs, which never
 * reuses them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

enum { CR_WRITE = 1, CR_TRUNC, CR_SYNC, CR_SYNCFS, CR_CREATE, CR_UNLINK, CR_RENAME, CR_EXTEND };
enum { CRF_ZERO = 1, CRF_DIR = 2 };

typedef struct cr_rec {
    uint8_t type, flags;
    uint16_t n1, n2, pad;
    uint64_t start, end, ino, dino, dino2, off, len;
} cr_rec_t;
_Static_assert(sizeof(cr_rec_t) == 64, "trace header is 64 bytes");

static int g_on;               /* recording */
static dev_t g_dev;            /* the root's device */
static ino_t g_root;           /* the root's inode */
static int g_trace = -1;
static int g_hide; /* 1: hide syncs; 2: hide directory syncs (CRASHREC_HIDE) */
static uint64_t *g_ctr;
static uint64_t g_local_ctr;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

/* The inodes under the root (a growing open-addressed set; 0 = empty). */
static uint64_t *g_set;
static size_t g_cap, g_n;

static void set_add(uint64_t ino)
{
    if (!ino)
        return;
    if ((g_n + 1) * 2 > g_cap) {
        size_t cap = g_cap ? g_cap * 2 : 1024;
        uint64_t *n = calloc(cap, sizeof *n);
        if (!n)
            abort();
        for (size_t i = 0; i < g_cap; i++)
            if (g_set[i]) {
                size_t h = (size_t)(g_set[i] * 0x9E3779B97F4A7C15ull) & (cap - 1);
                while (n[h])
                    h = (h + 1) & (cap - 1);
                n[h] = g_set[i];
            }
        free(g_set);
        g_set = n;
        g_cap = cap;
    }
    size_t h = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (g_cap - 1);
    while (g_set[h] && g_set[h] != ino)
        h = (h + 1) & (g_cap - 1);
    if (!g_set[h]) {
        g_set[h] = ino;
        g_n++;
    }
}

/* nftw callback: every file and directory under the root at start is tracked. */
static int track_existing(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)path;
    (void)type;
    (void)f;
    if (st->st_dev == g_dev)
        set_add(st->st_ino);
    return 0;
}

static int set_has(uint64_t ino)
{
    if (!g_cap)
        return 0;
    size_t h = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (g_cap - 1);
    while (g_set[h]) {
        if (g_set[h] == ino)
            return 1;
        h = (h + 1) & (g_cap - 1);
    }
    return 0;
}

static uint64_t tick(void)
{
    return __atomic_fetch_add(g_ctr ? g_ctr : &g_local_ctr, 1, __ATOMIC_SEQ_CST);
}

/* ---- the real functions ---------------------------------------------------- */
#define REAL(name) static __typeof__(name) *real_##name
REAL(open);
REAL(openat);
REAL(creat);
REAL(write);
REAL(writev);
REAL(pwrite);
REAL(pwritev);
REAL(pwritev2);
REAL(ftruncate);
REAL(fallocate);
REAL(posix_fallocate);
REAL(fsync);
REAL(fdatasync);
REAL(syncfs);
REAL(rename);
REAL(renameat);
REAL(renameat2);
REAL(unlink);
REAL(unlinkat);
REAL(mkdir);
REAL(mkdirat);
REAL(rmdir);
#define BIND(name) real_##name = (__typeof__(real_##name))dlsym(RTLD_NEXT, #name)

static void die(const char *what)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "crashrec: %s: %s\n", what, strerror(errno));
    (void)!syscall(SYS_write, 2, msg, (size_t)(n > 0 ? n : 0));
    _exit(99);
}

__attribute__((constructor)) static void cr_init(void)
{
    BIND(open);
    BIND(openat);
    BIND(creat);
    BIND(write);
    BIND(writev);
    BIND(pwrite);
    BIND(pwritev);
    BIND(pwritev2);
    BIND(ftruncate);
    BIND(fallocate);
    BIND(posix_fallocate);
    BIND(fsync);
    BIND(fdatasync);
    BIND(syncfs);
    BIND(rename);
    BIND(renameat);
    BIND(renameat2);
    BIND(unlink);
    BIND(unlinkat);
    BIND(mkdir);
    BIND(mkdirat);
    BIND(rmdir);
    const char *root = getenv("CRASHREC_ROOT"), *trace = getenv("CRASHREC_TRACE");
    const char *ctr = getenv("CRASHREC_CTR");
    if (!root || !trace)
        return;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        die("CRASHREC_ROOT");
    g_dev = st.st_dev;
    g_root = st.st_ino;
    set_add(g_root);
    if (nftw(root, track_existing, 16, FTW_PHYS | FTW_MOUNT) != 0)
        die("CRASHREC_ROOT walk");
    g_trace = (int)syscall(SYS_openat, AT_FDCWD, trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (g_trace < 0)
        die("CRASHREC_TRACE");
    if (ctr) {
        int fd = (int)syscall(SYS_openat, AT_FDCWD, ctr, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
            die("CRASHREC_CTR");
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            die("mmap CRASHREC_CTR");
        g_ctr = m;
        close(fd);
    }
    const char *hide = getenv("CRASHREC_HIDE");
    g_hide = !hide ? 0 : strcmp(hide, "sync") == 0 ? 1 : strcmp(hide, "dirsync") == 0 ? 2 : 0;
    g_on = 1;
}

/* ---- recording ---------------------------------------------------------------- */
static void emit(cr_rec_t *r, const char *n1, const char *n2, const struct iovec *iov, int iovcnt)
{
    r->n1 = (uint16_t)(n1 ? strlen(n1) : 0);
    r->n2 = (uint16_t)(n2 ? strlen(n2) : 0);
    struct iovec v[4];
    int k = 0;
    v[k++] = (struct iovec){r, sizeof *r};
    if (r->n1)
        v[k++] = (struct iovec){(void *)n1, r->n1};
    if (r->n2)
        v[k++] = (struct iovec){(void *)n2, r->n2};
    for (int i = 0; iov && i < iovcnt && k < 4; i++)
        v[k++] = iov[i];
    size_t total = 0;
    for (int i = 0; i < k; i++)
        total += v[i].iov_len;
    (void)pthread_mutex_lock(&g_mu);
    /* one O_APPEND writev per record; retry a short one from where it stopped */
    int at = 0;
    while (total > 0) {
        ssize_t w = (ssize_t)syscall(SYS_writev, g_trace, v + at, k - at);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("trace write");
        }
        total -= (size_t)w;
        while (at < k && (size_t)w >= v[at].iov_len)
            w -= (ssize_t)v[at++].iov_len;
        if (at < k) {
            v[at].iov_base = (char *)v[at].iov_base + w;
            v[at].iov_len -= (size_t)w;
        }
    }
    (void)pthread_mutex_unlock(&g_mu);
}

/* The inode behind fd when it is a file or directory under the root, else 0. */
static uint64_t fd_ino(int fd)
{
    struct stat st;
    if (!g_on || fd < 0 || fstat(fd, &st) != 0 || st.st_dev != g_dev)
        return 0;
    (void)pthread_mutex_lock(&g_mu);
    int has = set_has(st.st_ino);
    (void)pthread_mutex_unlock(&g_mu);
    return has ? (uint64_t)st.st_ino : 0;
}

/* Split dirfd+path into the parent directory's inode (0 when not under the
 * root) and the last component (copied into name). */
static uint64_t parent_of(int dirfd, const char *path, char *name, size_t cap)
{
    if (!g_on || !path)
        return 0;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t slash = len;
    while (slash > 0 && path[slash - 1] != '/')
        slash--;
    size_t nl = len - slash;
    if (nl == 0 || nl >= cap)
        return 0;
    memcpy(name, path + slash, nl);
    name[nl] = 0;
    struct stat st;
    int rc;
    if (slash == 0) {
        rc = dirfd == AT_FDCWD ? stat(".", &st) : fstat(dirfd, &st);
    } else {
        char dir[4096];
        if (slash >= sizeof dir)
            return 0;
        memcpy(dir, path, slash);
        dir[slash] = 0;
        rc = fstatat(dirfd, dir, &st, 0);
    }
    if (rc != 0 || st.st_dev != g_dev)
        return 0;
    (void)pthread_mutex_lock(&g_mu);
    int has = set_has(st.st_ino);
    (void)pthread_mutex_unlock(&g_mu);
    return has ? (uint64_t)st.st_ino : 0;
}

static uint64_t lstat_ino(int dirfd, const char *path)
{
    struct stat st;
    if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != g_dev)
        return 0;
    return (uint64_t)st.st_ino;
}

static void track(uint64_t ino)
{
    (void)pthread_mutex_lock(&g_mu);
    set_add(ino);
    (void)pthread_mutex_unlock(&g_mu);
}

static int all_zero(const struct iovec *iov, int n)
{
    for (int i = 0; i < n; i++) {
        const unsigned char *p = iov[i].iov_base;
        for (size_t j = 0; j < iov[i].iov_len; j++)
            if (p[j])
                return 0;
    }
    return 1;
}

static void rec_write(uint64_t ino, uint64_t start, uint64_t off, const struct iovec *iov, int n,
                      size_t done)
{
    /* only the first `done` bytes were written: gather them into one buffer */
    cr_rec_t r = {.type = CR_WRITE, .start = start, .end = tick(), .ino = ino, .off = off, .len = done};
    unsigned char *buf = malloc(done ? done : 1);
    if (!buf)
        die("malloc");
    size_t at = 0;
    for (int i = 0; i < n && at < done; i++) {
        size_t l = iov[i].iov_len < done - at ? iov[i].iov_len : done - at;
        memcpy(buf + at, iov[i].iov_base, l);
        at += l;
    }
    struct iovec v = {buf, done};
    if (all_zero(&v, 1)) {
        r.flags = CRF_ZERO;
        emit(&r, NULL, NULL, NULL, 0);
    } else {
        emit(&r, NULL, NULL, &v, 1);
    }
    free(buf);
}

/* ---- opening and creating ------------------------------------------------------ */
static int do_openat(int dirfd, const char *path, int flags, mode_t mode, int is_open)
{
    char name[256];
    uint64_t dino = (flags & (O_CREAT | O_TRUNC)) ? parent_of(dirfd, path, name, sizeof name) : 0;
    if (!dino)
        return is_open ? real_open(path, flags, mode) : real_openat(dirfd, path, flags, mode);
    uint64_t before = lstat_ino(dirfd, path);
    uint64_t start = tick();
    int fd = is_open ? real_open(path, flags, mode) : real_openat(dirfd, path, flags, mode);
    if (fd < 0)
        return fd;
    int e = errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == g_dev) {
        if (!before && (flags & O_CREAT)) {
            track(st.st_ino);
            cr_rec_t r = {.type = CR_CREATE, .start = start, .end = tick(), .ino = st.st_ino, .dino = dino};
            emit(&r, name, NULL, NULL, 0);
        } else if ((flags & O_TRUNC) && ((flags & O_ACCMODE) != O_RDONLY) && set_has(st.st_ino)) {
            cr_rec_t r = {.type = CR_TRUNC, .start = start, .end = tick(), .ino = st.st_ino, .len = 0};
            emit(&r, NULL, NULL, NULL, 0);
        }
    }
    errno = e;
    return fd;
}

static mode_t va_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return do_openat(AT_FDCWD, path, flags, m, 1);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return do_openat(dirfd, path, flags, m, 0);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int creat(const char *path, mode_t mode)
{
    return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, 1);
}
int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

static int do_mkdirat(int dirfd, const char *path, mode_t mode, int is_at)
{
    char name[256];
    uint64_t dino = parent_of(dirfd, path, name, sizeof name);
    uint64_t start = dino ? tick() : 0;
    int rc = is_at ? real_mkdirat(dirfd, path, mode) : real_mkdir(path, mode);
    if (rc != 0 || !dino)
        return rc;
    int e = errno;
    uint64_t ino = lstat_ino(dirfd, path);
    if (ino) {
        track(ino);
        cr_rec_t r = {.type = CR_CREATE, .flags = CRF_DIR, .start = start, .end = tick(), .ino = ino, .dino = dino};
        emit(&r, name, NULL, NULL, 0);
    }
    errno = e;
    return rc;
}
int mkdir(const char *path, mode_t mode) { return do_mkdirat(AT_FDCWD, path, mode, 0); }
int mkdirat(int dirfd, const char *path, mode_t mode) { return do_mkdirat(dirfd, path, mode, 1); }

/* ---- writing -------------------------------------------------------------------- */
ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
    uint64_t ino = fd_ino(fd);
    if (!ino)
        return real_pwritev2(fd, iov, n, off, flags);
    uint64_t at = off >= 0 ? (uint64_t)off : (uint64_t)lseek(fd, 0, SEEK_CUR);
    uint64_t start = tick();
    ssize_t w = real_pwritev2(fd, iov, n, off, flags);
    if (w > 0) {
        int e = errno;
        if (off < 0) /* the file offset moved past what was written (O_APPEND too) */
            at = (uint64_t)lseek(fd, 0, SEEK_CUR) - (uint64_t)w;
        rec_write(ino, start, at, iov, n, (size_t)w);
        errno = e;
    }
    return w;
}
ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    if (!fd_ino(fd))
        return real_pwritev(fd, iov, n, off);
    return pwritev2(fd, iov, n, off, 0);
}
ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off) __attribute__((alias("pwritev")));
ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    if (!fd_ino(fd))
        return real_pwrite(fd, buf, len, off);
    struct iovec v = {(void *)buf, len};
    return pwritev2(fd, &v, 1, off, 0);
}
ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off) __attribute__((alias("pwrite")));
ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (!fd_ino(fd))
        return real_writev(fd, iov, n);
    return pwritev2(fd, iov, n, -1, 0);
}
ssize_t write(int fd, const void *buf, size_t len)
{
    if (!fd_ino(fd))
        return real_write(fd, buf, len);
    struct iovec v = {(void *)buf, len};
    return pwritev2(fd, &v, 1, -1, 0);
}

int ftruncate(int fd, off_t len)
{
    uint64_t ino = fd_ino(fd);
    uint64_t start = ino ? tick() : 0;
    int rc = real_ftruncate(fd, len);
    if (rc == 0 && ino) {
        int e = errno;
        cr_rec_t r = {.type = CR_TRUNC, .start = start, .end = tick(), .ino = ino, .len = (uint64_t)len};
        emit(&r, NULL, NULL, NULL, 0);
        errno = e;
    }
    return rc;
}
int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

static void rec_alloc(uint64_t ino, uint64_t start, int mode, off_t off, off_t len)
{
    if (mode & FALLOC_FL_PUNCH_HOLE) {
        cr_rec_t r = {.type = CR_WRITE, .flags = CRF_ZERO, .start = start, .end = tick(), .ino = ino,
                      .off = (uint64_t)off, .len = (uint64_t)len};
        emit(&r, NULL, NULL, NULL, 0);
    } else if (!(mode & FALLOC_FL_KEEP_SIZE)) {
        cr_rec_t r = {.type = CR_EXTEND, .start = start, .end = tick(), .ino = ino, .len = (uint64_t)(off + len)};
        emit(&r, NULL, NULL, NULL, 0);
    }
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    uint64_t ino = fd_ino(fd);
    uint64_t start = ino ? tick() : 0;
    int rc = real_fallocate(fd, mode, off, len);
    if (rc == 0 && ino) {
        int e = errno;
        rec_alloc(ino, start, mode, off, len);
        errno = e;
    }
    return rc;
}
int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));

int posix_fallocate(int fd, off_t off, off_t len)
{
    uint64_t ino = fd_ino(fd);
    uint64_t start = ino ? tick() : 0;
    int rc = real_posix_fallocate(fd, off, len);
    if (rc == 0 && ino)
        rec_alloc(ino, start, 0, off, len);
    return rc;
}
int posix_fallocate64(int fd, off_t off, off_t len) __attribute__((alias("posix_fallocate")));

/* ---- syncing -------------------------------------------------------------------- */
static int do_sync(int fd, int data_only)
{
    uint64_t ino = fd_ino(fd);
    uint64_t start = ino ? tick() : 0;
    int rc = data_only ? real_fdatasync(fd) : real_fsync(fd);
    struct stat st;
    if (g_hide == 1 || (g_hide == 2 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)))
        ino = 0;
    if (rc == 0 && ino) {
        int e = errno;
        cr_rec_t r = {.type = CR_SYNC, .start = start, .end = tick(), .ino = ino};
        emit(&r, NULL, NULL, NULL, 0);
        errno = e;
    }
    return rc;
}
int fsync(int fd) { return do_sync(fd, 0); }
int fdatasync(int fd) { return do_sync(fd, 1); }

int syncfs(int fd)
{
    struct stat st;
    int mine = g_on && g_hide != 1 && fstat(fd, &st) == 0 && st.st_dev == g_dev;
    uint64_t start = mine ? tick() : 0;
    int rc = real_syncfs(fd);
    if (rc == 0 && mine) {
        int e = errno;
        cr_rec_t r = {.type = CR_SYNCFS, .start = start, .end = tick()};
        emit(&r, NULL, NULL, NULL, 0);
        errno = e;
    }
    return rc;
}

/* ---- names ---------------------------------------------------------------------- */
static int do_renameat2(int od, const char *op, int nd, const char *np, unsigned flags, int how)
{
    char n1[256], n2[256];
    uint64_t d1 = parent_of(od, op, n1, sizeof n1), d2 = parent_of(nd, np, n2, sizeof n2);
    uint64_t ino = d1 ? lstat_ino(od, op) : 0;
    uint64_t start = (d1 && d2 && ino) ? tick() : 0;
    int rc = how == 0 ? real_rename(op, np) : how == 1 ? real_renameat(od, op, nd, np)
                                                         : real_renameat2(od, op, nd, np, flags);
    if (rc == 0 && start) {
        int e = errno;
        cr_rec_t r = {.type = CR_RENAME, .start = start, .end = tick(), .ino = ino, .dino = d1, .dino2 = d2};
        emit(&r, n1, n2, NULL, 0);
        errno = e;
    }
    return rc;
}
int rename(const char *o, const char *n) { return do_renameat2(AT_FDCWD, o, AT_FDCWD, n, 0, 0); }
int renameat(int od, const char *o, int nd, const char *n) { return do_renameat2(od, o, nd, n, 0, 1); }
int renameat2(int od, const char *o, int nd, const char *n, unsigned f) { return do_renameat2(od, o, nd, n, f, 2); }

static int do_unlinkat(int dirfd, const char *path, int flags, int how)
{
    char name[256];
    uint64_t dino = parent_of(dirfd, path, name, sizeof name);
    uint64_t ino = dino ? lstat_ino(dirfd, path) : 0;
    uint64_t start = (dino && ino) ? tick() : 0;
    int rc = how == 0 ? real_unlink(path) : how == 1 ? real_rmdir(path) : real_unlinkat(dirfd, path, flags);
    if (rc == 0 && start) {
        int e = errno;
        cr_rec_t r = {.type = CR_UNLINK, .start = start, .end = tick(), .ino = ino, .dino = dino};
        emit(&r, name, NULL, NULL, 0);
        errno = e;
    }
    return rc;
}
int unlink(const char *p) { return do_unlinkat(AT_FDCWD, p, 0, 0); }
int rmdir(const char *p) { return do_unlinkat(AT_FDCWD, p, AT_REMOVEDIR, 1); }
int unlinkat(int d, const char *p, int f) { return do_unlinkat(d, p, f, 2); }
