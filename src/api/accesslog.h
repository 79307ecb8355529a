/* accesslog.h: --access-log FILE, one JSON object per answered request
 * (docs/operations.md, "Logs"): time, request id, principal, account,
 * region, operation, stream, HTTP version, protocol, status, error type,
 * request and data bytes, latency, peer. Never record data or keys.
 * Buffered; flushed by the api's tick (every 100 ms) and at close; reopened
 * on SIGHUP (rotation). Loop thread only. */
#ifndef RN_ACCESSLOG_H
#define RN_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rn_accesslog rn_accesslog_t;

typedef struct rn_access_entry {
    const char *request_id, *principal, *account, *region, *operation, *stream; /* stream may be "" */
    const char *error;   /* AWS error type, NULL on success */
    const char *peer;
    int http2, cbor, status;
    size_t request_bytes;
    uint64_t data_bytes; /* records' data + keys written or read */
    uint32_t records;
    int64_t latency_us;
} rn_access_entry_t;

/* path "-" is stderr. Returns 0 or an RN_E* code (the file cannot be opened). */
int rn_accesslog_open(rn_accesslog_t **out, const char *path);
void rn_accesslog_close(rn_accesslog_t *l);
void rn_accesslog_write(rn_accesslog_t *l, const rn_access_entry_t *e);
void rn_accesslog_flush(rn_accesslog_t *l);
/* SIGHUP, after logrotate moved the file: open the path again (appending, or
 * creating it) and write there from now on. On failure the old file stays in
 * use and an RN_E* code is returned. A no-op for stderr. */
int rn_accesslog_reopen(rn_accesslog_t *l);
const char *rn_accesslog_path(const rn_accesslog_t *l); /* "-" for stderr */

#endif
