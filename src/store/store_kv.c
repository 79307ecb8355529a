/* store_kv.c: the metadata table.
 *
 * DATA_DIR/runnel.db (":memory:" for the memory backend), journal_mode=WAL,
 * synchronous=FULL under fsync always and NORMAL otherwise. Two tables:
 *   CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB, rev INTEGER NOT NULL DEFAULT 0)
 *   CREATE TABLE kv_rev(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)
 * Keys are caller-chosen text; callers give them prefixes ("stream/...") and
 * scan by prefix. rev is the value's revision (store.h): s->kv_rev + 1 at
 * its write. A deletion takes a revision too, which kv_rev keeps (written
 * before the row goes), so that the next revision after a restart is
 * max(max(kv.rev), kv_rev.n) + 1 and no revision is ever handed out twice.
 * A database written before revisions existed gets the column, and each of
 * its rows its rowid as revision, when opened. The statements are prepared
 * once and kept. */
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

#define SCAN_SQL "SELECT key, value, rev FROM kv WHERE key >= ?1 ORDER BY key"

/* The first integer of a one-row query (0 when it has no row or is NULL). */
static int query_int(rn_store_t *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    *out = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, "prepare");
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    (void)sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_err(s, "query");
}

/* A database from before revisions: add the column, number the rows. */
static int add_revisions(rn_store_t *s)
{
    int64_t has;
    int rc = query_int(s, "SELECT count(*) FROM pragma_table_info('kv') WHERE name = 'rev'", &has);
    if (rc || has)
        return rc;
    if (sqlite3_exec(s->db,
                     "BEGIN IMMEDIATE; ALTER TABLE kv ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;"
                     " UPDATE kv SET rev = rowid; COMMIT;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(s, "add revisions");
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    rn_info("store: metadata revisions added to an older database");
    return 0;
}

static int load_revision(rn_store_t *s)
{
    int64_t a, b;
    int rc = query_int(s, "SELECT max(rev) FROM kv", &a);
    if (rc == 0)
        rc = query_int(s, "SELECT n FROM kv_rev WHERE id = 1", &b);
    if (rc)
        return rc;
    if (a < 0 || b < 0)
        return RN_ECORRUPT;
    s->kv_rev = (uint64_t)(a > b ? a : b);
    return 0;
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
    char sql[512];
    int n = snprintf(sql, sizeof sql,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA busy_timeout=5000;"
                     "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value BLOB,"
                     " rev INTEGER NOT NULL DEFAULT 0);"
                     "CREATE TABLE IF NOT EXISTS kv_rev(id INTEGER PRIMARY KEY CHECK (id = 1),"
                     " n INTEGER NOT NULL);",
                     sync);
    if (n < 0 || (size_t)n >= sizeof sql) {
        rc = RN_ETOOBIG;
        goto fail;
    }
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(s, "setup");
        goto fail;
    }
    if ((rc = add_revisions(s)) != 0 || (rc = load_revision(s)) != 0)
        goto fail;
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } stmts[] = {
        {&s->st_put, "INSERT INTO kv(key, value, rev) VALUES(?1, ?2, ?3) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value, rev = excluded.rev"},
        {&s->st_put_new, "INSERT INTO kv(key, value, rev) VALUES(?1, ?2, ?3) ON CONFLICT(key) DO NOTHING"},
        {&s->st_put_at, "UPDATE kv SET value = ?2, rev = ?3 WHERE key = ?1 AND rev = ?4"},
        {&s->st_get, "SELECT value, rev FROM kv WHERE key = ?1"},
        {&s->st_del, "DELETE FROM kv WHERE key = ?1"},
        {&s->st_del_at, "DELETE FROM kv WHERE key = ?1 AND rev = ?2"},
        {&s->st_rev_note, "INSERT INTO kv_rev(id, n) VALUES(1, ?1) ON CONFLICT(id) DO UPDATE SET n = excluded.n"},
        {&s->st_scan, SCAN_SQL},
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
    for (size_t i = 0; i < s->nwatch; i++)
        free(s->watch[i].prefix);
    s->nwatch = 0;
    sqlite3_stmt **sts[] = {&s->st_put, &s->st_put_new, &s->st_put_at, &s->st_get,
                            &s->st_del, &s->st_del_at, &s->st_rev_note, &s->st_scan};
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

/* Reset a statement after a bind failure. */
static int bind_failed(rn_store_t *s, sqlite3_stmt *st)
{
    int rc = db_err(s, "bind");
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
    return rc;
}

/* One write of key = val at a new revision: st is st_put (always),
 * st_put_new (only if absent) or st_put_at (only at revision expect). */
static int kv_write(rn_store_t *s, sqlite3_stmt *st, const char *key, const void *val, size_t len,
                    uint64_t expect, uint64_t *new_rev)
{
    static const uint8_t empty[1];
    if (len > INT32_MAX)
        return RN_ETOOBIG;
    if (s->kv_rev >= (uint64_t)INT64_MAX)
        return RN_ETOOBIG;
    uint64_t rev = s->kv_rev + 1;
    if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(st, 2, len ? val : empty, (int)len, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, (sqlite3_int64)rev) != SQLITE_OK ||
        (st == s->st_put_at && sqlite3_bind_int64(st, 4, (sqlite3_int64)expect) != SQLITE_OK))
        return bind_failed(s, st);
    int rc = step_done(s, st, "put");
    if (rc)
        return rc;
    s->kv_rev = rev;
    if (st != s->st_put && sqlite3_changes(s->db) != 1)
        return RN_ECONFLICT;
    if (new_rev)
        *new_rev = rev;
    return 0;
}

int rn_store_kv_put(rn_store_t *s, const char *key, const void *val, size_t len)
{
    return kv_write(s, s->st_put, key, val, len, 0, NULL);
}

int rn_store_kv_put_if(rn_store_t *s, const char *key, const void *val, size_t len, uint64_t expect_rev,
                       uint64_t *new_rev)
{
    return kv_write(s, expect_rev ? s->st_put_at : s->st_put_new, key, val, len, expect_rev, new_rev);
}

/* A deletion takes a revision: noted in kv_rev before the row goes. */
static int kv_delete(rn_store_t *s, sqlite3_stmt *st, const char *key, uint64_t expect)
{
    if (s->kv_rev >= (uint64_t)INT64_MAX)
        return RN_ETOOBIG;
    uint64_t rev = s->kv_rev + 1;
    sqlite3_stmt *note = s->st_rev_note;
    if (sqlite3_bind_int64(note, 1, (sqlite3_int64)rev) != SQLITE_OK)
        return bind_failed(s, note);
    int rc = step_done(s, note, "note revision");
    if (rc)
        return rc;
    s->kv_rev = rev;
    if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
        (st == s->st_del_at && sqlite3_bind_int64(st, 2, (sqlite3_int64)expect) != SQLITE_OK))
        return bind_failed(s, st);
    if ((rc = step_done(s, st, "del")) != 0)
        return rc;
    return st == s->st_del_at && sqlite3_changes(s->db) != 1 ? RN_ECONFLICT : 0;
}

int rn_store_kv_del(rn_store_t *s, const char *key) { return kv_delete(s, s->st_del, key, 0); }

int rn_store_kv_del_if(rn_store_t *s, const char *key, uint64_t expect_rev)
{
    return kv_delete(s, s->st_del_at, key, expect_rev);
}

int rn_store_kv_get_rev(rn_store_t *s, const char *key, void **val, size_t *len, uint64_t *rev)
{
    sqlite3_stmt *st = s->st_get;
    int rc = 0;
    *val = NULL;
    *len = 0;
    if (rev)
        *rev = 0;
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
        if (rev)
            *rev = (uint64_t)sqlite3_column_int64(st, 1);
    } else {
        rc = db_err(s, "get");
    }
out:
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
    return rc;
}

int rn_store_kv_get(rn_store_t *s, const char *key, void **val, size_t *len)
{
    return rn_store_kv_get_rev(s, key, val, len, NULL);
}

int rn_store_kv_scan(rn_store_t *s, const char *prefix, rn_kv_scan_fn fn, void *ud)
{
    /* A scan from inside a scan callback gets a statement of its own. */
    sqlite3_stmt *st = s->st_scan;
    int own = 0, rc = 0;
    if (s->scan_busy) {
        if (sqlite3_prepare_v2(s->db, SCAN_SQL, -1, &st, NULL) != SQLITE_OK)
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
        uint64_t rev = (uint64_t)sqlite3_column_int64(st, 2);
        if ((rc = fn(ud, key, v ? v : "", n, rev)) != 0)
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

int rn_store_kv_watch(rn_store_t *s, const char *prefix, rn_kv_changed_fn fn, void *ud)
{
    if (s->nwatch == RN_KV_WATCH_MAX)
        return RN_ETOOBIG;
    char *p = strdup(prefix);
    if (!p)
        return RN_ENOMEM;
    s->watch[s->nwatch++] = (struct rn_kv_watch){p, fn, ud};
    return 0;
}

void rn_store_kv_unwatch(rn_store_t *s, rn_kv_changed_fn fn, void *ud)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nwatch; i++) {
        if (s->watch[i].fn == fn && s->watch[i].ud == ud)
            free(s->watch[i].prefix);
        else
            s->watch[k++] = s->watch[i];
    }
    s->nwatch = k;
}
