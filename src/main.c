/* main.c: runnel's command line, configuration, wiring and signals.
 * Nothing else lives here. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/accesslog.h"
#include "api/faults.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "core/errors.h"
#include "core/model.h"
#include "core/recordcrypt.h"
#include "net/http.h"
#include "net/tls.h"
#include "store/store.h"
#include "util/fdlimit.h"
#include "util/log.h"

typedef struct config {
    const char *listen;
    const char *data_dir;
    int in_memory;
    rn_fsync_mode_t fsync_mode;
    int fsync_interval_ms;
    const char *region;
    const char *account_id;
    long create_delay_ms;
    long delete_delay_ms;
    long update_delay_ms;
    long shard_limit;
    long consumer_delay_ms;      /* --consumer-delay: CREATING -> ACTIVE */
    long subscription_lifetime_ms; /* --subscription-lifetime (default 5 min) */
    const char *log_level;
    int test_clock;
    int test_counters_at_commit; /* tests only: rn_store_config_t.counters_at_commit */
    const char *tls_cert;    /* --tls-cert, --tls-key, --tls-self-signed, --tls-listen */
    const char *tls_key;
    const char *tls_listen;
    int tls_self_signed;
    int enforce_limits;
    const char *master_key_file; /* wraps the streams' data keys (recordcrypt.h) */
    const char *inject_errors;   /* --inject-errors SPEC (api/faults.h) */
    const char *init_streams;    /* --init-streams SPEC (api.h) */
    const char *admin_listen;    /* --admin-listen HOST:PORT: health (docs/operations.md) */
    const char *access_log;      /* --access-log FILE|- (api/accesslog.h) */
    int log_json;                /* --log-format json */
    int kms_strict;              /* --kms-strict: unknown KMS keys are not found (api/kms.h) */
    const char *credentials_file; /* --credentials: verified mode (docs/security.md) */
    long idle_timeout_ms;    /* --idle-timeout, --read-timeout (0: net's defaults) */
    long read_timeout_ms;
    long max_connections;    /* --max-connections (0: from the fd limit) */
    long max_open_files;     /* --max-open-files (0: from the fd limit) */
    long max_buffered_bytes; /* --max-buffered-bytes (0: 256 MiB) */
    long min_body_rate;      /* --min-body-rate (0: 1024 bytes/s) */
    long max_namespaces;         /* --max-namespaces (identity block below) */
    long journal_bytes;      /* --journal-bytes, --checkpoint-bytes (0: the store's defaults) */
    long checkpoint_bytes;
    long checkpoint_ms;      /* --checkpoint-interval */
    long metrics_max_streams; /* --metrics-max-streams (0: 2000) */
} config_t;

static const char usage[] =
    "Usage: runnel serve [--config FILE] [options]\n"
    "  or:  runnel cert [--out-cert FILE] [--out-key FILE] [--days N]\n"
    "  or:  runnel health [URL] [--timeout MS]\n"
    "  or:  runnel streams ls|create|describe|delete ...\n"
    "  or:  runnel consumers ls STREAM\n"
    "  or:  runnel put STREAM [--key K] DATA|-\n"
    "  or:  runnel tail STREAM [--from trim-horizon|latest|TIMESTAMP|SEQ] [--follow]\n"
    "                          [--format text|json|hex] [--decode-kpl]\n"
    "  or:  runnel bench STREAM [--seconds S] [--size B] [--concurrency N]\n"
    "  or:  runnel --help | --version\n"
    "\n"
    "The client commands (streams, consumers, put, tail, bench) talk to runnel or to AWS with the\n"
    "standard AWS configuration: AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE, --endpoint-url (docs/cli.md).\n"
    "\n"
    "runnel serves the Amazon Kinesis Data Streams API (AWS JSON 1.1 and CBOR over HTTP/1.1,\n"
    "HTTP/2 and TLS on one port) from an embedded on-disk log or from memory.\n"
    "runnel health exits 0 when URL (default http://127.0.0.1:4567/health/ready) answers 200.\n"
    "\n"
    "options (each also an environment variable RUNNEL_<OPTION>, e.g. RUNNEL_DATA_DIR, and a key\n"
    "of the --config file, e.g. data-dir: /var/lib/runnel; flag > environment > file > default):\n";

static const char usage_tail[] =
    "\n"
    "runnel cert writes a development certificate (EC P-256, for localhost, 127.0.0.1, ::1;\n"
    "default runnel-cert.pem and runnel-key.pem, 365 days) for --tls-cert and for clients to trust.\n";

static void print_usage(FILE *out)
{
    fputs(usage, out);
    rn_options_usage(out);
    fputs(usage_tail, out);
}

/* ---- option parsing -------------------------------------------------------- */

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* ---- identity, accounts and regions (docs/limits.md) ---------------------------
 * --region must be short lowercase text (it becomes part of every ARN and of
 * the metadata keys); --max-namespaces bounds the (account, region) pairs
 * holding state. Returns 1 when name is not one of these options. */
static int set_ident_option(config_t *c, const char *name, const char *val, char *err, size_t errlen)
{
    if (strcmp(name, "region") == 0) {
        size_t n = strlen(val);
        if (n == 0 || n > 32 || strspn(val, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
            snprintf(err, errlen, "--region must be 1 to 32 characters of a-z, 0-9 and '-', not '%s'",
                    val);
            return -1;
        }
        c->region = val;
        return 0;
    }
    if (strcmp(name, "max-namespaces") == 0) {
        long v;
        if (parse_long(val, &v) != 0 || v < 1 || v > 1000000) {
            snprintf(err, errlen, "--max-namespaces needs an integer from 1 to 1000000, not '%s'", val);
            return -1;
        }
        c->max_namespaces = v;
        return 0;
    }
    return 1;
}

/* The options' rn_opt_apply_fn (cli/options.h): checks one value and stores it in the config_t. */
static int set_option(void *ud, const rn_opt_t *opt, const char *val, char *err, size_t errlen)
{
    config_t *c = ud;
    const char *name = opt->name;
    int ident = set_ident_option(c, name, val, err, errlen);
    if (ident <= 0)
        return ident;
    if (strcmp(name, "listen") == 0) {
        c->listen = val;
    } else if (strcmp(name, "data-dir") == 0) {
        c->data_dir = val;
    } else if (strcmp(name, "in-memory") == 0) {
        c->in_memory = rn_opt_parse_bool(val);
    } else if (strcmp(name, "enable-test-clock") == 0) {
        c->test_clock = rn_opt_parse_bool(val);
    } else if (strcmp(name, "test-counters-at-commit") == 0) {
        c->test_counters_at_commit = rn_opt_parse_bool(val);
    } else if (strcmp(name, "tls-self-signed") == 0) {
        c->tls_self_signed = rn_opt_parse_bool(val);
    } else if (strcmp(name, "tls-cert") == 0) {
        c->tls_cert = val;
    } else if (strcmp(name, "tls-key") == 0) {
        c->tls_key = val;
    } else if (strcmp(name, "tls-listen") == 0) {
        c->tls_listen = val;
    } else if (strcmp(name, "enforce-limits") == 0) {
        c->enforce_limits = rn_opt_parse_bool(val);
    } else if (strcmp(name, "fsync") == 0) {
        long ms;
        if (strcmp(val, "always") == 0)
            c->fsync_mode = RN_FSYNC_ALWAYS;
        else if (strcmp(val, "never") == 0)
            c->fsync_mode = RN_FSYNC_NEVER;
        else if (strncmp(val, "interval:", 9) == 0 && parse_long(val + 9, &ms) == 0 && ms > 0 &&
                 ms <= INT_MAX) {
            c->fsync_mode = RN_FSYNC_INTERVAL;
            c->fsync_interval_ms = (int)ms;
        } else {
            snprintf(err, errlen, "--fsync must be always, interval:<ms> or never, not '%s'", val);
            return -1;
        }
    } else if (strcmp(name, "account-id") == 0) {
        if (strlen(val) != 12 || strspn(val, "0123456789") != 12) {
            snprintf(err, errlen, "--account-id must be 12 digits, not '%s'", val);
            return -1;
        }
        c->account_id = val;
    } else if (strcmp(name, "create-stream-delay") == 0 || strcmp(name, "delete-stream-delay") == 0 ||
               strcmp(name, "update-stream-delay") == 0 || strcmp(name, "shard-limit") == 0) {
        long v;
        if (parse_long(val, &v) != 0) {
            snprintf(err, errlen, "--%s needs a non-negative integer, not '%s'", name, val);
            return -1;
        }
        if (name[0] == 'c')
            c->create_delay_ms = v;
        else if (name[0] == 'd')
            c->delete_delay_ms = v;
        else if (name[0] == 'u')
            c->update_delay_ms = v;
        else
            c->shard_limit = v;
    } else if (strcmp(name, "consumer-delay") == 0 || strcmp(name, "subscription-lifetime") == 0) {
        long v;
        if (parse_long(val, &v) != 0) {
            snprintf(err, errlen, "--%s needs a non-negative integer, not '%s'", name, val);
            return -1;
        }
        if (name[0] == 'c')
            c->consumer_delay_ms = v;
        else
            c->subscription_lifetime_ms = v;
    } else if (strcmp(name, "idle-timeout") == 0 || strcmp(name, "read-timeout") == 0 ||
               strcmp(name, "max-connections") == 0 || strcmp(name, "max-buffered-bytes") == 0 ||
               strcmp(name, "max-open-files") == 0 ||
               strcmp(name, "min-body-rate") == 0 || strcmp(name, "journal-bytes") == 0 ||
               strcmp(name, "checkpoint-bytes") == 0 || strcmp(name, "checkpoint-interval") == 0 ||
               strcmp(name, "metrics-max-streams") == 0) {
        long v;
        int ms = strstr(name, "timeout") != NULL;
        if (parse_long(val, &v) != 0 || v < 1 || (ms && v > INT_MAX)) {
            snprintf(err, errlen, "--%s needs a positive integer, not '%s'", name, val);
            return -1;
        }
        if (strcmp(name, "idle-timeout") == 0)
            c->idle_timeout_ms = v;
        else if (strcmp(name, "read-timeout") == 0)
            c->read_timeout_ms = v;
        else if (strcmp(name, "max-connections") == 0)
            c->max_connections = v;
        else if (strcmp(name, "max-open-files") == 0)
            c->max_open_files = v;
        else if (strcmp(name, "max-buffered-bytes") == 0)
            c->max_buffered_bytes = v;
        else if (strcmp(name, "journal-bytes") == 0)
            c->journal_bytes = v;
        else if (strcmp(name, "checkpoint-bytes") == 0)
            c->checkpoint_bytes = v;
        else if (strcmp(name, "metrics-max-streams") == 0)
            c->metrics_max_streams = v;
        else if (strcmp(name, "checkpoint-interval") == 0)
            c->checkpoint_ms = v;
        else
            c->min_body_rate = v;
    } else if (strcmp(name, "credentials") == 0) {
        c->credentials_file = val;
    } else if (strcmp(name, "master-key-file") == 0) {
        c->master_key_file = val;
    } else if (strcmp(name, "inject-errors") == 0) {
        c->inject_errors = val;
    } else if (strcmp(name, "init-streams") == 0) {
        c->init_streams = val;
    } else if (strcmp(name, "admin-listen") == 0) {
        c->admin_listen = val;
    } else if (strcmp(name, "access-log") == 0) {
        c->access_log = val;
    } else if (strcmp(name, "log-format") == 0) {
        if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0) {
            snprintf(err, errlen, "--log-format must be text or json");
            return -1;
        }
        c->log_json = strcmp(val, "json") == 0;
    } else if (strcmp(name, "kms-strict") == 0) {
        c->kms_strict = rn_opt_parse_bool(val);
    } else if (strcmp(name, "log-level") == 0) {
        if (rn_log_level_parse(val) < 0) {
            snprintf(err, errlen, "--log-level must be debug, info, warn or error");
            return -1;
        }
        c->log_level = val;
    } else {
        snprintf(err, errlen, "--%s: an option main.c does not wire", name);
        return -1;
    }
    return 0;
}

/* ---- the server ----------------------------------------------------------------- */

/* --admin-listen: its own HTTP server on its own event loop and thread, up
 * before the store is opened, so that /health/ready can say 503 during
 * recovery and during the drain after SIGTERM (docs/operations.md). It
 * shares nothing with the loop thread but `state`. */
enum { ADMIN_STARTING, ADMIN_READY, ADMIN_STOPPING };
typedef struct admin {
    struct event_base *base;
    rn_http_server_t *http;
    pthread_t thread;
    int running;
    int port;
    int state; /* ADMIN_*, atomic */
    /* GET /metrics: the loop thread renders (rn_api_metrics_text) when asked */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct event *render_ev; /* in the loop's base; NULL until the api exists */
    rn_api_t *api;
    rn_buf_t out;
    int done;
} admin_t;

/* In the loop thread: render for the admin thread, which waits. */
static void admin_render(evutil_socket_t fd, short what, void *ud)
{
    admin_t *a = ud;
    (void)pthread_mutex_lock(&a->mu);
    rn_buf_reset(&a->out);
    if (rn_api_metrics_text(a->api, &a->out) != 0)
        rn_buf_reset(&a->out);
    a->done = 1;
    (void)pthread_cond_signal(&a->cv);
    (void)pthread_mutex_unlock(&a->mu);
}

static void admin_metrics(admin_t *a, rn_http_exchange_t *ex)
{
    (void)pthread_mutex_lock(&a->mu);
    if (!a->render_ev) {
        (void)pthread_mutex_unlock(&a->mu);
        static const char nr[] = "# not ready: the store is being opened\n";
        rn_http_respond_copy(ex, 503, "text/plain; charset=utf-8", nr, sizeof nr - 1);
        return;
    }
    a->done = 0;
    event_active(a->render_ev, EV_READ, 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2; /* a loop busy that long gets a 503, not a hung probe */
    while (!a->done && pthread_cond_timedwait(&a->cv, &a->mu, &until) == 0)
        ;
    if (!a->done || a->out.len == 0) {
        (void)pthread_mutex_unlock(&a->mu);
        static const char busy[] = "# the server did not render in time\n";
        rn_http_respond_copy(ex, 503, "text/plain; charset=utf-8", busy, sizeof busy - 1);
        return;
    }
    size_t len;
    uint8_t *body = rn_buf_steal(&a->out, &len);
    (void)pthread_mutex_unlock(&a->mu);
    rn_http_respond(ex, 200, RN_METRICS_CONTENT_TYPE, NULL, 0, body, len);
}

static void admin_handle(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    admin_t *a = ud;
    if (rn_http_health(ex, req, __atomic_load_n(&a->state, __ATOMIC_ACQUIRE) == ADMIN_READY))
        return;
    if (strcmp(req->method, "GET") == 0 && req->path &&
        (strcmp(req->path, "/metrics") == 0 || strncmp(req->path, "/metrics?", 9) == 0)) {
        admin_metrics(a, ex);
        return;
    }
    static const char nf[] = "{\"message\":\"Not Found\"}\n";
    rn_http_respond_copy(ex, 404, "application/json", nf, sizeof nf - 1);
}

static void *admin_main(void *ud)
{
    admin_t *a = ud;
    (void)event_base_dispatch(a->base);
    return NULL;
}

static int admin_start(admin_t *a, const char *listen)
{
    const char *errmsg = NULL;
    if (!(a->base = event_base_new()))
        return -1;
    (void)pthread_mutex_init(&a->mu, NULL); /* admin_stop undoes these once base is set */
    (void)pthread_cond_init(&a->cv, NULL);
    rn_buf_init(&a->out, 0);
    rn_http_config_t cfg = {.listen = listen, .handler = admin_handle, .handler_ud = a};
    int err = rn_http_server_create(&a->http, a->base, &cfg, &a->port, &errmsg);
    if (err) {
        fprintf(stderr, "runnel: cannot listen on --admin-listen %s: %s\n", listen, errmsg ? errmsg : rn_strerror(err));
        return -1;
    }
    if (pthread_create(&a->thread, NULL, admin_main, a) != 0)
        return -1;
    a->running = 1;
    return 0;
}

static void admin_stop(admin_t *a)
{
    if (a->running) {
        event_base_loopbreak(a->base);
        (void)pthread_join(a->thread, NULL);
        a->running = 0;
    }
    if (!a->base) /* never started */
        return;
    if (a->http)
        rn_http_server_destroy(a->http);
    event_base_free(a->base);
    if (a->render_ev)
        event_free(a->render_ev);
    rn_buf_dispose(&a->out);
    (void)pthread_mutex_destroy(&a->mu);
    (void)pthread_cond_destroy(&a->cv);
}

/* The api exists: the admin port's /metrics can be rendered from now on. */
static int admin_attach(admin_t *a, struct event_base *loop, rn_api_t *api)
{
    if (!a->running)
        return 0;
    struct event *ev = event_new(loop, -1, 0, admin_render, a);
    if (!ev)
        return -1;
    (void)pthread_mutex_lock(&a->mu);
    a->api = api;
    a->render_ev = ev;
    (void)pthread_mutex_unlock(&a->mu);
    return 0;
}

typedef struct server {
    admin_t admin;
    struct event_base *base;
    struct event *wake;
    struct event *sigterm, *sigint, *sighup, *drain;
    const char *credentials_file;
    rn_store_t *store;
    rn_registry_t *reg;
    rn_api_t *api;
    rn_http_server_t *http;
    rn_accesslog_t *alog; /* the api's (owned by it): reopened on SIGHUP */
    int stopping;
    int drain_ticks;
} server_t;

/* GET /metrics: the series of the layers below the api (rn_api_set_metrics_extra). */
static int metrics_extra(void *ud, rn_buf_t *out)
{
    server_t *s = ud;
    return s->http ? rn_http_server_metrics(s->http, out) : 0;
}

static void on_wake(evutil_socket_t fd, short what, void *ud)
{
    server_t *s = ud;
    rn_store_run_completions(s->store);
}

/* The store ran out of fds opening a log's file (a log, a new or a cold
 * segment): close the longest-idle connection so that the open can be retried. */
static int reclaim_fd(void *ud)
{
    server_t *s = ud;
    if (!s->http)
        return 0; /* recovery before the server listens */
    int r = rn_http_server_reclaim_idle(s->http);
    if (r)
        rn_info("out of file descriptors: closed an idle connection to open a log");
    else
        rn_warn("out of file descriptors and no idle connection to close");
    return r;
}

static void store_wake(void *ud)
{
    event_active((struct event *)ud, EV_READ, 0);
}

static void on_drain(evutil_socket_t fd, short what, void *ud)
{
    server_t *s = ud;
    s->drain_ticks++;
    if ((rn_api_pending(s->api) == 0 && rn_http_server_idle(s->http)) || s->drain_ticks > 1000) {
        event_base_loopbreak(s->base);
        return;
    }
    struct timeval tv = {0, 10000};
    evtimer_add(s->drain, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
    server_t *s = ud;
    if (s->stopping)
        return;
    s->stopping = 1;
    __atomic_store_n(&s->admin.state, ADMIN_STOPPING, __ATOMIC_RELEASE);
    rn_info("signal %d: stopping", (int)sig);
    rn_api_shutdown(s->api); /* end every SubscribeToShard stream */
    rn_http_server_shutdown(s->http);
    on_drain(-1, 0, s);
}

/* SIGHUP: reload the credentials file; connections stay up. A file that
 * does not load is refused and the one in force stays. */
static void on_sighup(evutil_socket_t sig, short what, void *ud)
{
    server_t *s = ud;
    (void)sig;
    (void)what;
    if (s->alog) { /* logrotate moved it: write to a new file at the path */
        int arc = rn_accesslog_reopen(s->alog);
        if (arc)
            rn_error("SIGHUP: access log %s not reopened (%s); still writing to the old file",
                     rn_accesslog_path(s->alog), rn_strerror(arc));
        else
            rn_info("SIGHUP: access log %s reopened", rn_accesslog_path(s->alog));
    }
    if (!s->credentials_file) {
        rn_info("SIGHUP: no --credentials file to reload (developer mode)");
        return;
    }
    char err[600];
    if (rn_api_load_credentials(s->api, s->credentials_file, err, sizeof err) != 0)
        rn_error("SIGHUP: credentials not reloaded, the previous ones stay in force: %s", err);
    else
        rn_info("SIGHUP: credentials reloaded from %s", s->credentials_file);
}

/* 1 when the listen address is a loopback one. */
static int loopback_listen(const char *listen)
{
    return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "[::1]", 5) == 0 ||
           strncmp(listen, "localhost:", 10) == 0;
}

static int serve(const config_t *c)
{
    server_t s;
    memset(&s, 0, sizeof s);
    int rc = 1;
    const char *errmsg = NULL;

    signal(SIGPIPE, SIG_IGN);
    /* GetRecords answers run to several MiB: let glibc keep up to 16 MiB of
     * freed memory rather than unmapping and faulting it in again on every
     * request (docs/performance.md); a bounded cache, not growth. */
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "runnel: libevent has no thread support\n");
        return 1;
    }
    s.base = event_base_new();
    if (!s.base)
        return 1;
    s.wake = event_new(s.base, -1, 0, on_wake, &s);
    s.drain = evtimer_new(s.base, on_drain, &s);
    if (c->admin_listen && admin_start(&s.admin, c->admin_listen) != 0)
        goto out;

    rn_store_config_t scfg = {
        .data_dir = c->data_dir,
        .in_memory = c->in_memory,
        .fsync_mode = c->fsync_mode,
        .fsync_interval_ms = c->fsync_interval_ms,
        .wake = store_wake,
        .wake_ud = s.wake,
        .defer_commit = 1, /* the loop below kicks the store after every round */
        .counters_at_commit = c->test_counters_at_commit,
        .journal_bytes = (uint64_t)c->journal_bytes,
        .checkpoint_bytes = (uint64_t)c->checkpoint_bytes,
        .checkpoint_ms = c->checkpoint_ms > INT_MAX ? INT_MAX : (int)c->checkpoint_ms,
        .reclaim_fd = reclaim_fd,
        .reclaim_ud = &s,
        .max_open_files = (size_t)c->max_open_files,
    };
    int err = rn_store_open(&s.store, &scfg, &errmsg);
    if (err) {
        fprintf(stderr, "runnel: cannot open the store: %s\n", errmsg ? errmsg : rn_strerror(err));
        goto out;
    }
    rn_registry_config_t rcfg = {
        .create_delay_ms = c->create_delay_ms,
        .delete_delay_ms = c->delete_delay_ms,
        .update_delay_ms = c->update_delay_ms,
        .shard_limit = (int)c->shard_limit,
    };
    uint8_t master_key[32];
    if (c->master_key_file) {
        err = rn_master_key_load(c->master_key_file, master_key);
        if (err) {
            fprintf(stderr, "runnel: cannot read --master-key-file %s: %s\n", c->master_key_file,
                    err == RN_EINVAL ? "empty or larger than 1 MiB" : rn_strerror(err));
            goto out;
        }
        rcfg.master_key = master_key;
    }
    err = rn_registry_open(&s.reg, s.store, &rcfg);
    if (err) {
        fprintf(stderr, "runnel: cannot load the metadata: %s\n", rn_strerror(err));
        goto out;
    }
    rn_faults_t *faults = NULL;
    if (c->inject_errors) {
        char ferr[300];
        if (rn_faults_parse(c->inject_errors, &faults, ferr, sizeof ferr) != 0) {
            fprintf(stderr, "runnel: %s\n", ferr);
            goto out;
        }
        char desc[1024];
        rn_faults_describe(faults, desc, sizeof desc);
        rn_warn("fault injection is on (--inject-errors): %s", desc);
    }
    rn_accesslog_t *alog = NULL;
    if (c->access_log && (err = rn_accesslog_open(&alog, c->access_log)) != 0) {
        fprintf(stderr, "runnel: cannot open --access-log %s: %s\n", c->access_log, rn_strerror(err));
        rn_faults_destroy(faults);
        goto out;
    }
    rn_api_config_t acfg = {.default_region = c->region, .account_id = c->account_id,
                            .enable_test_clock = c->test_clock,
                            .enforce_limits = c->enforce_limits, .base = s.base,
                            .consumer_delay_ms = c->consumer_delay_ms,
                            .subscription_lifetime_ms = c->subscription_lifetime_ms,
                            .max_namespaces = (int)c->max_namespaces,
                            .kms_strict = c->kms_strict, .faults = faults,
                            .metrics_max_streams = (size_t)c->metrics_max_streams, .accesslog = alog};
    if (rn_api_create(&s.api, s.reg, &acfg) != 0) {
        rn_faults_destroy(faults);
        rn_accesslog_close(alog);
        goto out;
    }
    s.alog = alog;
    rn_api_set_metrics_extra(s.api, metrics_extra, &s); /* s.http once it listens */
    if (admin_attach(&s.admin, s.base, s.api) != 0)
        goto out;
    if (c->init_streams) {
        char ierr[400];
        if (rn_api_init_streams(s.api, c->init_streams, ierr, sizeof ierr) != 0) {
            fprintf(stderr, "runnel: %s\n", ierr);
            goto out;
        }
    }
    if (c->credentials_file) {
        char cerr[600];
        if (rn_api_load_credentials(s.api, c->credentials_file, cerr, sizeof cerr) != 0) {
            fprintf(stderr, "runnel: cannot load --credentials: %s\n", cerr);
            goto out;
        }
        s.credentials_file = c->credentials_file;
    } else if (!loopback_listen(c->listen) || (c->tls_listen && !loopback_listen(c->tls_listen))) {
        rn_warn("developer mode: signatures are not verified and every caller is its account's root, "
                "yet the server listens beyond loopback; give --credentials FILE to verify requests");
    }
    int tls_port = 0;
    /* Both share the fd limit's reserve (util/fdlimit.h): a cap on files set
     * alone moves the default connection limit with it. */
    size_t max_conns = (size_t)c->max_connections;
    if (!max_conns && c->max_open_files)
        max_conns = rn_fd_conns_default(rn_fd_limit(), (size_t)c->max_open_files);
    rn_http_config_t hcfg = {.listen = c->listen, .handler = rn_api_handle, .handler_ud = s.api,
                             .tls_cert_file = c->tls_cert, .tls_key_file = c->tls_key,
                             .tls_self_signed = c->tls_self_signed, .tls_listen = c->tls_listen,
                             .tls_bound_port = &tls_port,
                             .idle_timeout_ms = (unsigned)c->idle_timeout_ms,
                             .read_timeout_ms = (unsigned)c->read_timeout_ms,
                             .max_connections = max_conns,
                             .max_buffered_bytes = (size_t)c->max_buffered_bytes,
                             .min_body_rate = (size_t)c->min_body_rate,
                             .cors_expose_headers = RN_API_CORS_EXPOSE_HEADERS};
    int port = 0;
    err = rn_http_server_create(&s.http, s.base, &hcfg, &port, &errmsg);
    if (err) {
        fprintf(stderr, "runnel: cannot listen on %s: %s\n", c->listen, errmsg ? errmsg : rn_strerror(err));
        goto out;
    }
    s.sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s);
    s.sigint = evsignal_new(s.base, SIGINT, on_signal, &s);
    event_add(s.sigterm, NULL);
    event_add(s.sigint, NULL);
    s.sighup = evsignal_new(s.base, SIGHUP, on_sighup, &s);
    event_add(s.sighup, NULL);

    /* The one line that tells a launcher where runnel listens. */
    char host[256];
    snprintf(host, sizeof host, "%s", c->listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = 0;
    /* With TLS: "... on http://H:P and https://H:P[ and https://H2:P2] (...)"; the
     * http:// URL stays first (launchers parse it). */
    char tls_urls[600] = "";
    if (c->tls_cert || c->tls_self_signed) {
        int k = snprintf(tls_urls, sizeof tls_urls, " and https://%s:%d", host, port);
        if (c->tls_listen && k > 0 && (size_t)k < sizeof tls_urls) {
            char th[256];
            snprintf(th, sizeof th, "%s", c->tls_listen);
            char *tc = strrchr(th, ':');
            if (tc)
                *tc = 0;
            snprintf(tls_urls + k, sizeof tls_urls - (size_t)k, " and https://%s:%d", th, tls_port);
        }
    }
    printf("runnel %s listening on http://%s:%d%s (%s, fsync %s)\n", RUNNEL_VERSION, host, port, tls_urls,
           c->in_memory ? "in memory" : c->data_dir,
           c->fsync_mode == RN_FSYNC_ALWAYS ? "always" : c->fsync_mode == RN_FSYNC_NEVER ? "never" : "interval");
    if (s.admin.running) {
        char ah[256];
        snprintf(ah, sizeof ah, "%s", c->admin_listen);
        char *ac = strrchr(ah, ':');
        if (ac)
            *ac = 0;
        printf("runnel admin (health) on http://%s:%d\n", ah, s.admin.port);
        __atomic_store_n(&s.admin.state, ADMIN_READY, __ATOMIC_RELEASE);
    }
    fflush(stdout);

    /* One round of the loop runs every ready callback; the requests it
     * served form one group commit, written and handed to the sync thread
     * together at the kick (docs/storage.md, "Staging and the kick"). */
    for (;;) {
        int r = event_base_loop(s.base, EVLOOP_ONCE);
        rn_store_kick(s.store);
        if (r != 0 || event_base_got_break(s.base) || event_base_got_exit(s.base))
            break;
    }
    rc = 0;
out:
    admin_stop(&s.admin);
    if (s.reg)
        rn_registry_close(s.reg);
    if (s.store)
        rn_store_close(s.store);
    if (s.http)
        rn_http_server_destroy(s.http);
    if (s.api)
        rn_api_destroy(s.api);
    if (s.sigterm)
        event_free(s.sigterm);
    if (s.sigint)
        event_free(s.sigint);
    if (s.sighup)
        event_free(s.sighup);
    if (s.drain)
        event_free(s.drain);
    if (s.wake)
        event_free(s.wake);
    event_base_free(s.base);
    if (rc == 0)
        rn_info("stopped");
    return rc;
}

/* runnel cert [--out-cert FILE] [--out-key FILE] [--days N] */
static int cert_command(int argc, char **argv)
{
    const char *cert = "runnel-cert.pem", *key = "runnel-key.pem";
    long days = 365;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        char name[32];
        const char *val;
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "runnel: unexpected argument '%s'\n", a);
            print_usage(stderr);
            return 2;
        }
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a - 2), a + 2);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a + 2);
            if (i + 1 >= argc) {
                fprintf(stderr, "runnel: --%s needs a value\n", name);
                return 2;
            }
            val = argv[++i];
        }
        if (strcmp(name, "out-cert") == 0) {
            cert = val;
        } else if (strcmp(name, "out-key") == 0) {
            key = val;
        } else if (strcmp(name, "days") == 0) {
            if (parse_long(val, &days) != 0 || days < 1 || days > 36500) {
                fprintf(stderr, "runnel: --days must be 1 to 36500, not '%s'\n", val);
                return 2;
            }
        } else {
            fprintf(stderr, "runnel: unknown option --%s\n", name);
            print_usage(stderr);
            return 2;
        }
    }
    const char *errmsg = NULL;
    errno = 0;
    if (rn_tls_dev_cert_write((int)days, cert, key, &errmsg) != 0) {
        fprintf(stderr, "runnel: cert: %s (%s, %s): %s\n", errmsg, cert, key, strerror(errno));
        return 1;
    }
    printf("runnel: wrote %s and %s (EC P-256, localhost, 127.0.0.1, ::1; %ld days)\n", cert, key,
           days);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("runnel %s\n", RUNNEL_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "health") == 0)
        return rn_cli_health(argc - 2, argv + 2);
    if (strcmp(argv[1], "cert") == 0)
        return cert_command(argc - 2, argv + 2);
    if (strcmp(argv[1], "streams") == 0)
        return rn_cli_streams(argc - 2, argv + 2);
    if (strcmp(argv[1], "consumers") == 0)
        return rn_cli_consumers(argc - 2, argv + 2);
    if (strcmp(argv[1], "put") == 0)
        return rn_cli_put(argc - 2, argv + 2);
    if (strcmp(argv[1], "tail") == 0)
        return rn_cli_tail(argc - 2, argv + 2);
    if (strcmp(argv[1], "bench") == 0)
        return rn_cli_bench(argc - 2, argv + 2);
    if (strcmp(argv[1], "serve") != 0) {
        fprintf(stderr, "runnel: unknown command '%s'\n", argv[1]);
        print_usage(stderr);
        return 2;
    }
    config_t c = {0}; /* every option's default comes from the table (cli/options.c) */
    rn_options_t opts;
    char err[1024];
    int lrc = rn_options_load(&opts, argc - 2, argv + 2, set_option, &c, err, sizeof err);
    if (lrc != RN_OPTIONS_OK) {
        fprintf(stderr, "runnel: %s\n", err);
        if (lrc == RN_OPTIONS_USAGE)
            print_usage(stderr);
        rn_options_free(&opts);
        return 2;
    }
    if (opts.print_config) {
        rn_options_print(&opts, stdout);
        rn_options_free(&opts);
        return 0;
    }
    rn_log_set_level((rn_log_level_t)rn_log_level_parse(c.log_level));
    rn_log_set_json(c.log_json);
    int rc = serve(&c);
    rn_options_free(&opts);
    return rc;
}
