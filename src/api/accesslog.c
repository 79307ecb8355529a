/* accesslog.c: --access-log (accesslog.h). */
#include "api/accesslog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/status.h"

struct rn_accesslog {
    FILE *f;
    int own;
    char *path; /* own: reopened by rn_accesslog_reopen */
};

static int open_err(int e)
{
    return e == ENOENT ? RN_ENOENT : e == ENOSPC ? RN_ENOSPC : e == ENOMEM ? RN_ENOMEM : RN_EIO;
}

static FILE *open_file(const char *path)
{
    FILE *f = fopen(path, "ae");
    if (f)
        (void)setvbuf(f, NULL, _IOFBF, 1 << 16);
    return f;
}

int rn_accesslog_open(rn_accesslog_t **out, const char *path)
{
    rn_accesslog_t *l = calloc(1, sizeof *l);
    if (!l)
        return RN_ENOMEM;
    if (strcmp(path, "-") == 0) {
        l->f = stderr;
    } else if (!(l->path = strdup(path)) || !(l->f = open_file(path))) {
        int e = l->path ? errno : ENOMEM;
        free(l->path);
        free(l);
        return open_err(e);
    } else {
        l->own = 1;
    }
    *out = l;
    return 0;
}

int rn_accesslog_reopen(rn_accesslog_t *l)
{
    if (!l || !l->own)
        return 0;
    FILE *f = open_file(l->path);
    if (!f)
        return open_err(errno);
    (void)fclose(l->f); /* flushes what the old file was owed */
    l->f = f;
    return 0;
}

const char *rn_accesslog_path(const rn_accesslog_t *l)
{
    return l && l->own ? l->path : "-";
}

void rn_accesslog_close(rn_accesslog_t *l)
{
    if (!l)
        return;
    if (l->own)
        fclose(l->f);
    else
        fflush(l->f);
    free(l->path);
    free(l);
}

void rn_accesslog_flush(rn_accesslog_t *l)
{
    if (l)
        (void)fflush(l->f);
}

/* A JSON string of s (the names here are ASCII; anything else is escaped). */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void rn_accesslog_write(rn_accesslog_t *l, const rn_access_entry_t *e)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    FILE *f = l->f;
    fprintf(f, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"request_id\":", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    put_str(f, e->request_id);
    fputs(",\"principal\":", f);
    put_str(f, e->principal);
    fputs(",\"account\":", f);
    put_str(f, e->account);
    fputs(",\"region\":", f);
    put_str(f, e->region);
    fputs(",\"operation\":", f);
    put_str(f, e->operation);
    fputs(",\"stream\":", f);
    put_str(f, e->stream);
    fprintf(f, ",\"http\":\"%s\",\"protocol\":\"%s\",\"status\":%d,\"error\":", e->http2 ? "2" : "1.1",
            e->cbor ? "cbor" : "json", e->status);
    if (e->error)
        put_str(f, e->error);
    else
        fputs("null", f);
    fprintf(f, ",\"request_bytes\":%zu,\"data_bytes\":%llu,\"records\":%u,\"latency_ms\":%.3f,\"peer\":", e->request_bytes,
            (unsigned long long)e->data_bytes, e->records, (double)e->latency_us / 1000.0);
    put_str(f, e->peer);
    fputs("}\n", f);
}
