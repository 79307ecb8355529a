/* store_kv.c: the metadata table.
 *
 * DATA_DIR/runnel.db (":memory:" for the memory backend), journal_mode=WAL,
 * synchronous=FULL under fsync always and NORMAL otherwise. One table:
 *   CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB)
 * Keys are caller-chosen text; callers give them prefixes ("stream/...") and
 * scan by prefix. The four statements are prepared once and kept. */
#include "store/store_int.h"
#include "util/status.h"
#include "util/log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread char kv_errmsg[PATH_MAX + 256];

static int db_err(rn_store_t *s, const char *what)
{
    rn_error("store: sqlite %s: %s", what, sqlite3_errmsg(s->db));
    int ec = sqlite3_errcode(s->db);
    if (ec == SQLITE_FULL)
        return RN_ENOSPC;
    if (ec == SQLITE_NOMEM)
        return RN_ENOMEM;
    if (ec == SQLITE_BUSY || ec == SQLITE_LOCKED)
        return RN_EBUSY;
    if (ec == SQLITE_CORRUPT || ec == SQLITE_NOTADB)
        return RN_ECORRUPT;
    return RN_EIO;
}

int rn_store__kv_open(rn_store_t *s, const char **errmsg)
{
    char path[PATH_MAX];
    int rc = 0;
    if (s->data_dir) {
        int n = snprintf(path, sizeof path, "%s/runnel.db", s->data_dir);
        if (n < 0 || (size_t)n >= sizeof path)
            return RN_ETOOBIG;
    } else {
        memcpy(path, ":memory:", sizeof ":memory:");
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = s->db ? db_err(s, "open") : RN_ENOMEM;
        goto fail;
    }
    const char *sync = s->cfg.fsync_mode == RN_FSYNC_ALWAYS ? "FULL" : "NORMAL";
    char sql[256];
    int n = snprintf(sql, sizeof sql,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA busy_timeout=5000;"
                     "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value BLOB);",
                     sync);
    if (n < 0 || (size_t)n >= sizeof sql) {
        rc = RN_ETOOBIG;
        goto fail;
    }
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(s, "setup");
        goto fail;
    }
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } stmts[] = {
        {&s->st_put, "INSERT INTO kv(key, value) VALUES(?1, ?2) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
        {&s->st_get, "SELECT value FROM kv WHERE key = ?1"},
        {&s->st_del, "DELETE FROM kv WHERE key = ?1"},
        {&s->st_scan, "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key"},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        if (sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, stmts[i].st, NULL) !=
            SQLITE_OK) {
            rc = db_err(s, "prepare");
            goto fail;
        }
    }
    return 0;

fail:
    if (errmsg) {
        (void)snprintf(kv_errmsg, sizeof kv_errmsg, "cannot open metadata database %s: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
        *errmsg = kv_errmsg;
    }
    rn_store__kv_close(s);
    return rc ? rc : RN_EIO;
}

void rn_store__kv_close(rn_store_t *s)
{
    sqlite3_stmt **sts[] = {&s->st_put, &s->st_get, &s->st_del, &s->st_scan};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++) {
        (void)sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        rn_error("store: sqlite close: %s", sqlite3_errmsg(s->db));
    s->db = NULL;
}

/* Run a write statement whose parameters are bound; resets it. */
static int step_done(rn_store_t *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, what);
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
    return rc;
}

int rn_store_kv_put(rn_store_t *s, const char *key, const void *val, size_t len)
{
    sqlite3_stmt *st = s->st_put;
    if (len > INT32_MAX)
        return RN_ETOOBIG;
    static const uint8_t empty[1];
    if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(st, 2, len ? val : empty, (int)len, SQLITE_STATIC) != SQLITE_OK) {
        int rc = db_err(s, "bind");
        (void)sqlite3_reset(st);
        (void)sqlite3_clear_bindings(st);
        return rc;
    }
    return step_done(s, st, "put");
}

int rn_store_kv_del(rn_store_t *s, const char *key)
{
    sqlite3_stmt *st = s->st_del;
    if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
        int rc = db_err(s, "bind");
        (void)sqlite3_reset(st);
        return rc;
    }
    return step_done(s, st, "del");
}

int rn_store_kv_get(rn_store_t *s, const char *key, void **val, size_t *len)
{
    sqlite3_stmt *st = s->st_get;
    int rc = 0;
    *val = NULL;
    *len = 0;
    if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = db_err(s, "bind");
        goto out;
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        rc = RN_ENOENT;
    } else if (r == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        uint8_t *v = malloc((size_t)n + 1);
        if (!v) {
            rc = RN_ENOMEM;
            goto out;
        }
        if (n > 0)
            memcpy(v, p, (size_t)n);
        v[n] = 0; /* convenience for text values; not counted */
        *val = v;
        *len = (size_t)n;
    } else {
        rc = db_err(s, "get");
    }
out:
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
    return rc;
}

int rn_store_kv_scan(rn_store_t *s, const char *prefix,
                     int (*fn)(void *ud, const char *key, const void *val, size_t len), void *ud)
{
    /* A scan from inside a scan callback gets a statement of its own. */
    sqlite3_stmt *st = s->st_scan;
    int own = 0, rc = 0;
    if (s->scan_busy) {
        if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key", -1, &st,
                               NULL) != SQLITE_OK)
            return db_err(s, "prepare");
        own = 1;
    } else {
        s->scan_busy = 1;
    }
    size_t plen = strlen(prefix);
    if (sqlite3_bind_text(st, 1, prefix, (int)plen, SQLITE_STATIC) != SQLITE_OK) {
        rc = db_err(s, "bind");
        goto out;
    }
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = db_err(s, "scan");
            break;
        }
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (!key || strncmp(key, prefix, plen) != 0)
            break;
        const void *v = sqlite3_column_blob(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        if ((rc = fn(ud, key, v ? v : "", n)) != 0)
            break;
    }
out:
    if (own) {
        (void)sqlite3_finalize(st);
    } else {
        (void)sqlite3_reset(st);
        (void)sqlite3_clear_bindings(st);
        s->scan_busy = 0;
    }
    return rc;
}
