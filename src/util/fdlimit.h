/* fdlimit.h: how the process's descriptor limit is shared out. Connections
 * (src/net) get RLIMIT_NOFILE less a reserve; the reserve (a quarter of the
 * limit, 32 to 1024) is for files: half of it for the shard logs' segment
 * files the store keeps open (its open-file cache, docs/storage.md), half for
 * everything else (SQLite, the commit journal, directories opened for a
 * moment, stdio, the event loop). One place, so that the two defaults agree. */
#ifndef RN_FDLIMIT_H
#define RN_FDLIMIT_H

#include <stddef.h>

#define RN_FD_RESERVE_MIN 32
#define RN_FD_RESERVE_MAX 1024
#define RN_FD_CONNS_MIN 16

/* The soft RLIMIT_NOFILE (1 << 20 when unlimited or higher). */
size_t rn_fd_limit(void);
/* Descriptors kept from connections for files at a limit of lim. */
size_t rn_fd_reserve(size_t lim);
/* The default cap on segment files held open: half the reserve. */
size_t rn_fd_files_default(size_t lim);
/* The default connection limit when `files` segment files may be open: lim
 * less those and the other half of the reserve, at least RN_FD_CONNS_MIN.
 * With files = rn_fd_files_default(lim): lim less the reserve. */
size_t rn_fd_conns_default(size_t lim, size_t files);

#endif
