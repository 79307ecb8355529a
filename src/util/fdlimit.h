/* fdlimit.h: how the process's descriptor limit is shared out. Connections
 * (src/net) get RLIMIT_NOFILE less a reserve for files; the store's open-file
 * cache (the shard logs' segment files it keeps open, docs/storage.md) gets
 * part of that reserve. Up to 4096 descriptors the reserve is a quarter of the
 * limit (at least 32), half of it for segment files and half for everything
 * else (SQLite, the commit journal, directories opened for a moment, stdio,
 * the event loop); above 4096 the descriptors beyond are split evenly between
 * connections and segment files (a stream of thousands of shards is ordinary;
 * tens of thousands of connections to one runnel are not). One place, so that
 * the two defaults agree:
 *
 *   limit      256  1024  4096  20000   65536  1048576
 *   files       32   128   512  8,464  31,232  522,752
 *   other       32   128   512    512     512      512
 *   conns      192   768  3072 11,024  33,792  525,312 */
#ifndef RN_FDLIMIT_H
#define RN_FDLIMIT_H

#include <stddef.h>

#define RN_FD_RESERVE_MIN 32
#define RN_FD_SPLIT_FROM 4096 /* above this many, the rest is split evenly */
#define RN_FD_CONNS_MIN 16

/* The soft RLIMIT_NOFILE (1 << 20 when unlimited or higher). */
size_t rn_fd_limit(void);
/* Descriptors for everything but connections and segment files at a limit of lim. */
size_t rn_fd_other(size_t lim);
/* The default cap on segment files held open at a limit of lim. */
size_t rn_fd_files_default(size_t lim);
/* The default connection limit when `files` segment files may be open: lim
 * less those and rn_fd_other(lim), at least RN_FD_CONNS_MIN. */
size_t rn_fd_conns_default(size_t lim, size_t files);

#endif
