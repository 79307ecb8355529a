/* kload.c: runnel's benchmark load client (HTTP/1.1 keep-alive and h2c with
 * prior knowledge through nghttp2). One thread, poll(), several requests in
 * flight; reports throughput, latency percentiles and its own CPU time as one
 * JSON line on stdout, so the harness can show whether the client is the
 * bottleneck. The h1 put load runs on io_uring instead of poll() when built
 * with -DKLOAD_URING -luring and the kernel lets it set up a ring (run_uring).
 *
 *   kload put    --port P [--proto h1|h2] [--inflight 64] [--conns N] --stream S
 *                --op PutRecord|PutRecords [--records 500] [--size 100]
 *                [--seconds 5] [--total-records N] [--max-seconds 60]
 *                [--keys N] [--spread K] [--streams M]
 *                --keys N: partition keys pk-0..pk-N-1, one per record in turn (default: 64
 *                bodies, keys pk-<body> for PutRecord, pk-<body>-<i> for PutRecords); N much
 *                larger than the shard count touches every shard (MD5 routing).
 *                --spread K: each record also carries an ExplicitHashKey, the middle of range
 *                i mod K of K equal ranges, so K records in a row write each shard of a
 *                K-shard stream (CreateStream's even split) exactly once.
 *                --streams M: the bodies go to streams <stream>-0..<stream>-M-1 in turn (the
 *                names `kload create --prefix <stream>` makes), K records each with --spread K.
 *                The distinct bodies are sent in order, so with --total-records the first
 *                requests cover every key/slot/stream once.
 *                [--engine epoll|uring]   (h1 only; default uring when it works, else
 *                the poll() loop, which `epoll` and `poll` both name; uring needs
 *                --conns >= --inflight: one request in flight per connection)
 *   kload drain  --port P [--proto h1|h2] --stream S [--expect N] [--limit 10000]
 *                [--seconds 60] [--follow] [--check]   (GetRecords from TRIM_HORIZON;
 *                --check also parses each shard's first answer with jansson: untimed runs only)
 *   kload subscribe --port P --stream S [--rate 1000] [--seconds 5] [--inflight 64]
 *                put-to-receive latency through SubscribeToShard: S must be an ACTIVE
 *                stream of one shard; registers a consumer bench-<pid>, subscribes
 *                (LATEST, h2c), then PutRecords at --rate/s on a second h2c connection
 *                (at most --inflight outstanding), each record's Data being its send
 *                time; reports the latency from the put to the record's arrival on
 *                the subscription, and the puts' own; deregisters the consumer.
 *   kload create --port P --prefix NAME --count N --shards K [--inflight 16]
 *   kload call   --port P --target Op --body JSON     (one request, prints status+body)
 *   kload startup --port P [--timeout-ms 20000] -- CMD ARGS...
 *                spawn CMD, poll ListStreams until 200; prints ms; SIGTERM + wait.
 *
 * Requests carry a well-formed (unverified) SigV4 Authorization header with
 * the credential scope us-east-1/kinesis, which is what every peer routes on.
 * With --sign AKID:SECRET they are signed for real (SigV4 over content-type,
 * host, x-amz-date and x-amz-target, at the current time), for a server run
 * with --credentials; the same bytes are accepted by a developer-mode server,
 * so a comparison of the two sends the same requests.
 * GetRecords responses are counted with a byte scan (count of
 * "SequenceNumber" keys, NextShardIterator pulled out with memmem); with
 * --check the first response of each shard is also parsed with jansson and
 * the counts compared, so the scan is checked against a real JSON parser.
 * The harness runs one untimed --check drain before the timed ones: parsing
 * a 1.4 MB answer with jansson costs more than the server takes to make it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AUTH                                                                                   \
    "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/kinesis/aws4_request, "          \
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "                                \
    "Signature=0000000000000000000000000000000000000000000000000000000000000000"
#define AMZDATE "20240101T000000Z"
#define CTYPE "application/x-amz-json-1.1"

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kload: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- growable buffer -------------------------------------------------------- */
typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + extra + 1)
        nc *= 2;
    b->p = realloc(b->p, nc);
    if (!b->p)
        die("out of memory");
    b->cap = nc;
}
static void buf_add(buf_t *b, const void *d, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}
/* dst = an exactly sized copy of src (many small bodies packed together, not one page each) */
static void buf_copy_exact(buf_t *dst, const buf_t *src)
{
    if (!(dst->p = malloc(src->len + 1)))
        die("out of memory");
    memcpy(dst->p, src->p, src->len);
    dst->p[src->len] = 0;
    dst->len = src->len;
    dst->cap = src->len + 1;
}

/* ---- 128-bit hash keys (ExplicitHashKey, decimal) ------------------------------ */
typedef unsigned __int128 rn_u128_t;
static void u128_format(rn_u128_t v, char *out) /* out: >= 40 bytes */
{
    char t[40];
    int n = 0;
    do {
        t[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    out[n] = 0;
}

static void buf_consume(buf_t *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    if (b->p)
        b->p[b->len] = 0;
}

/* ---- options ---------------------------------------------------------------- */
static int opt_port, opt_h2, opt_inflight = 64, opt_conns = 0, opt_records = 500, opt_size = 100;
static double opt_seconds = 5, opt_max_seconds = 60;
static long opt_total_records = 0, opt_expect = 0, opt_limit = 10000, opt_count = 0, opt_shards = 4;
static int opt_follow = 0, opt_timeout_ms = 20000;
static double opt_rate = 1000; /* subscribe: puts per second */
static int opt_check = 0; /* drain: also parse each shard's first answer with jansson */
static long opt_keys = 0;    /* put: distinct partition keys pk-0..pk-N-1 (0: 64 bodies' own keys) */
static long opt_spread = 0;  /* put: ExplicitHashKey in the middle of slot i of N equal ranges */
static long opt_streams = 0; /* put: cycle over streams <stream>-0..<stream>-N-1 */
static int opt_engine = 0; /* h1 put: 0 = io_uring when it works, else poll; 1 = poll; 2 = io_uring */
static const char *opt_stream = "bench", *opt_op = "PutRecord", *opt_prefix = "bench-s";
static const char *opt_target = NULL, *opt_body = NULL;
static const char *opt_sign = NULL; /* --sign AKID:SECRET */

/* ---- SigV4 (--sign) ------------------------------------------------------- */

static void hexs(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void hmac(const uint8_t *key, size_t klen, const char *msg, size_t mlen, uint8_t out[32])
{
    unsigned int olen = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const uint8_t *)msg, mlen, out, &olen);
}

/* The X-Amz-Date and Authorization values for one request (date: 17 bytes,
 * auth: 512). Unsigned (the fixed header) without --sign. */
static void sign_request(const char *authority, const char *target, const uint8_t *body, size_t blen,
                         char *date, char *auth)
{
    if (!opt_sign) {
        snprintf(date, 17, "%s", AMZDATE);
        snprintf(auth, 512, "%s", AUTH);
        return;
    }
    const char *colon = strchr(opt_sign, ':');
    if (!colon)
        die("--sign: AKID:SECRET");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, 17, "%Y%m%dT%H%M%SZ", &tm);
    char day[9];
    memcpy(day, date, 8);
    day[8] = 0;
    uint8_t h[32];
    char bh[65], ch[65], sig[65];
    SHA256(body, blen, h);
    hexs(h, 32, bh);
    char creq[1024];
    int n = snprintf(creq, sizeof creq,
                     "POST\n/\n\ncontent-type:" CTYPE "\nhost:%s\nx-amz-date:%s\nx-amz-target:Kinesis_20131202.%s\n\n"
                     "content-type;host;x-amz-date;x-amz-target\n%s",
                     authority, date, target, bh);
    SHA256((const uint8_t *)creq, (size_t)n, h);
    hexs(h, 32, ch);
    char sts[256];
    n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/us-east-1/kinesis/aws4_request\n%s", date, day, ch);
    char k0[600];
    int kl = snprintf(k0, sizeof k0, "AWS4%s", colon + 1);
    uint8_t k1[32], k2[32], k3[32], k4[32], sg[32];
    hmac((const uint8_t *)k0, (size_t)kl, day, 8, k1);
    hmac(k1, 32, "us-east-1", 9, k2);
    hmac(k2, 32, "kinesis", 7, k3);
    hmac(k3, 32, "aws4_request", 12, k4);
    hmac(k4, 32, sts, (size_t)n, sg);
    hexs(sg, 32, sig);
    snprintf(auth, 512,
             "AWS4-HMAC-SHA256 Credential=%.*s/%s/us-east-1/kinesis/aws4_request, "
             "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=%s",
             (int)(colon - opt_sign), opt_sign, day, sig);
}

/* ---- connections and slots -------------------------------------------------- */
typedef struct slot slot_t;
typedef struct conn conn_t;

struct slot {
    int idx;
    conn_t *c;
    int busy;
    double t0, wake;
    int status;
    buf_t resp;
    const char *target;
    const char *body;
    size_t blen, boff;
    int32_t sid;
};

struct conn {
    int fd;
    int h2;
    nghttp2_session *ses;
    buf_t wbuf; /* h1: bytes still to write */
    size_t woff;
    buf_t rbuf;
    slot_t *cur; /* h1: the slot waiting on this connection */
    int nbusy;
    int dead;
    /* io_uring engine (h1 put): the request being sent, and what is queued in the ring */
    const char *sbuf;
    size_t slen, soff;
    unsigned gen; /* bumped on reconnect: completions of an older socket are ignored */
    int ur_send, ur_recv, ur_ms;
};

typedef struct workload workload_t;
struct workload {
    int (*next)(workload_t *w, slot_t *s); /* fills s->target/body/blen; 0 = nothing now */
    void (*done)(workload_t *w, slot_t *s, double lat);
    int (*finished)(workload_t *w);
};

static conn_t *conns;
static int nconns;
static slot_t *slots;
static int nslots;
static long n_ok, n_err, n_done;
static char first_err[600];

static int connect_port(int port, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void complete(workload_t *w, slot_t *s)
{
    double lat = now_s() - s->t0;
    s->busy = 0;
    s->c->nbusy--;
    n_done++;
    if (s->status == 200)
        n_ok++;
    else {
        n_err++;
        if (!first_err[0])
            snprintf(first_err, sizeof first_err, "HTTP %d: %.500s", s->status,
                     s->resp.p ? s->resp.p : "");
    }
    w->done(w, s, lat);
    s->resp.len = 0;
}

/* -- HTTP/2 -- */
static ssize_t h2_read_body(nghttp2_session *ses, int32_t sid, uint8_t *out, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)ses, (void)sid, (void)ud;
    slot_t *s = src->ptr;
    size_t n = s->blen - s->boff;
    if (n > len)
        n = len;
    memcpy(out, s->body + s->boff, n);
    s->boff += n;
    if (s->boff == s->blen)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}
static int h2_on_header(nghttp2_session *ses, const nghttp2_frame *fr, const uint8_t *name,
                        size_t nlen, const uint8_t *val, size_t vlen, uint8_t flags, void *ud)
{
    (void)vlen, (void)flags, (void)ud;
    slot_t *s = nghttp2_session_get_stream_user_data(ses, fr->hd.stream_id);
    if (s && nlen == 7 && memcmp(name, ":status", 7) == 0)
        s->status = atoi((const char *)val);
    return 0;
}
static int h2_on_data(nghttp2_session *ses, uint8_t flags, int32_t sid, const uint8_t *d,
                      size_t len, void *ud)
{
    (void)flags, (void)ud;
    slot_t *s = nghttp2_session_get_stream_user_data(ses, sid);
    if (s)
        buf_add(&s->resp, d, len);
    return 0;
}
static workload_t *g_w;
static int h2_on_close(nghttp2_session *ses, int32_t sid, uint32_t code, void *ud)
{
    (void)ud;
    slot_t *s = nghttp2_session_get_stream_user_data(ses, sid);
    if (s && s->busy) {
        if (code != 0 && !s->status)
            s->status = -1;
        complete(g_w, s);
    }
    return 0;
}

/* h2c windows: 1 MiB per stream and per connection, plenty for these loads (PutRecord answers
 * are ~100 bytes, SubscribeToShard events below 1 MiB are acknowledged as they arrive), and
 * kinesis-local's HTTP/2 server drops a connection that announces 2^31-1 / 1 GiB. */
#define H2_WINDOW (1 << 20)

static void conn_open(conn_t *c, int h2)
{
    memset(c, 0, sizeof *c);
    c->h2 = h2;
    c->fd = connect_port(opt_port, 1);
    if (c->fd < 0)
        die("connect 127.0.0.1:%d: %s", opt_port, strerror(errno));
    if (h2) {
        nghttp2_session_callbacks *cb;
        nghttp2_session_callbacks_new(&cb);
        nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_close);
        nghttp2_session_client_new(&c->ses, cb, c);
        nghttp2_session_callbacks_del(cb);
        nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
                                        H2_WINDOW}};
        nghttp2_submit_settings(c->ses, NGHTTP2_FLAG_NONE, iv, 2);
        nghttp2_session_set_local_window_size(c->ses, NGHTTP2_FLAG_NONE, 0,
                                              H2_WINDOW);
    }
}

/* h1: appends the request for s (headers + body) to b */
static void h1_format(buf_t *b, const char *authority, const slot_t *s)
{
    char date[17], auth[512];
    sign_request(authority, s->target, (const uint8_t *)s->body, s->blen, date, auth);
    buf_printf(b,
               "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: " CTYPE
               "\r\nX-Amz-Target: Kinesis_20131202.%s\r\nX-Amz-Date: %s"
               "\r\nAuthorization: %s\r\nContent-Length: %zu\r\n\r\n",
               authority, s->target, date, auth, s->blen);
    buf_add(b, s->body, s->blen);
}

static void issue(slot_t *s, const char *authority)
{
    conn_t *c = s->c;
    s->busy = 1;
    s->status = 0;
    s->resp.len = 0;
    s->boff = 0;
    s->t0 = now_s();
    c->nbusy++;
    char clen[32];
    snprintf(clen, sizeof clen, "%zu", s->blen);
    if (c->h2) {
        char tgt[128], date[17], auth[512];
        snprintf(tgt, sizeof tgt, "Kinesis_20131202.%s", s->target);
        sign_request(authority, s->target, (const uint8_t *)s->body, s->blen, date, auth);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
        nghttp2_nv nva[] = {NV(":method", "POST"),       NV(":scheme", "http"),
                            NV(":authority", authority), NV(":path", "/"),
                            NV("content-type", CTYPE),   NV("x-amz-target", tgt),
                            NV("x-amz-date", date),      NV("authorization", auth),
                            NV("content-length", clen)};
        nghttp2_data_provider prd = {.source.ptr = s, .read_callback = h2_read_body};
        s->sid = nghttp2_submit_request(c->ses, NULL, nva, sizeof nva / sizeof nva[0], &prd, s);
        if (s->sid < 0)
            die("nghttp2_submit_request: %s", nghttp2_strerror(s->sid));
    } else {
        c->cur = s;
        h1_format(&c->wbuf, authority, s);
        ssize_t n = write(c->fd, c->wbuf.p + c->woff, c->wbuf.len - c->woff);
        if (n > 0) {
            c->woff += (size_t)n;
            if (c->woff == c->wbuf.len)
                c->wbuf.len = c->woff = 0;
        }
    }
}

/* h1: try to parse one response from c->rbuf. 1 = complete, 0 = need more. */
static int h1_parse(conn_t *c, int eof, int *close_after)
{
    char *hend = memmem(c->rbuf.p, c->rbuf.len, "\r\n\r\n", 4);
    if (!hend)
        return 0;
    size_t hlen = (size_t)(hend - c->rbuf.p) + 4;
    slot_t *s = c->cur;
    int status = 0, http10 = 0;
    if (c->rbuf.len >= 12)
        status = atoi(c->rbuf.p + 9);
    if (strncmp(c->rbuf.p, "HTTP/1.0", 8) == 0)
        http10 = 1;
    long clen = -1;
    int chunked = 0, closehdr = 0, keepalive = 0;
    for (char *l = memchr(c->rbuf.p, '\n', hlen); l && l < hend; l = memchr(l + 1, '\n', (size_t)(hend - l))) {
        char *h = l + 1;
        if (strncasecmp(h, "content-length:", 15) == 0)
            clen = strtol(h + 15, NULL, 10);
        else if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strstr(h, "chunked") &&
                 strstr(h, "chunked") < hend)
            chunked = 1;
        else if (strncasecmp(h, "connection:", 11) == 0) {
            char *e = memchr(h, '\r', (size_t)(hend - h) + 2);
            if (e && memmem(h, (size_t)(e - h), "close", 5))
                closehdr = 1;
            if (e && memmem(h, (size_t)(e - h), "eep-alive", 9))
                keepalive = 1;
        }
    }
    *close_after = closehdr || (http10 && !keepalive);
    if (status == 100) { /* skip interim */
        buf_consume(&c->rbuf, hlen);
        return h1_parse(c, eof, close_after);
    }
    if (clen >= 0) {
        if (c->rbuf.len < hlen + (size_t)clen)
            return 0;
        if (s) {
            s->resp.len = 0;
            buf_add(&s->resp, c->rbuf.p + hlen, (size_t)clen);
        }
        buf_consume(&c->rbuf, hlen + (size_t)clen);
    } else if (chunked) {
        size_t off = hlen;
        buf_t body = {0};
        for (;;) {
            char *le = memmem(c->rbuf.p + off, c->rbuf.len - off, "\r\n", 2);
            if (!le) {
                free(body.p);
                return 0;
            }
            size_t n = strtoul(c->rbuf.p + off, NULL, 16);
            size_t dstart = (size_t)(le - c->rbuf.p) + 2;
            if (c->rbuf.len < dstart + n + 2) {
                free(body.p);
                return 0;
            }
            if (n == 0) { /* no trailers expected */
                off = dstart + 2;
                break;
            }
            buf_add(&body, c->rbuf.p + dstart, n);
            off = dstart + n + 2;
        }
        if (s) {
            s->resp.len = 0;
            if (body.len)
                buf_add(&s->resp, body.p, body.len);
        }
        free(body.p);
        buf_consume(&c->rbuf, off);
    } else {
        if (!eof)
            return 0;
        if (s) {
            s->resp.len = 0;
            buf_add(&s->resp, c->rbuf.p + hlen, c->rbuf.len - hlen);
        }
        c->rbuf.len = 0;
        *close_after = 1;
    }
    if (s)
        s->status = status;
    return 1;
}

static void h1_reconnect(conn_t *c)
{
    close(c->fd);
    c->fd = connect_port(opt_port, 1);
    if (c->fd < 0)
        die("reconnect: %s", strerror(errno));
    c->rbuf.len = 0;
    c->wbuf.len = 0;
    c->woff = 0;
}

static void conn_io(workload_t *w, conn_t *c, short rev)
{
    if (c->h2) {
        if (rev & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t tmp[1 << 16];
            for (;;) {
                ssize_t n = read(c->fd, tmp, sizeof tmp);
                if (n > 0) {
                    ssize_t r = nghttp2_session_mem_recv(c->ses, tmp, (size_t)n);
                    if (r < 0)
                        die("nghttp2 recv: %s", nghttp2_strerror((int)r));
                    if (n < (ssize_t)sizeof tmp)
                        break;
                } else if (n == 0) {
                    die("h2 connection closed by server (%s)", first_err);
                } else if (errno == EAGAIN)
                    break;
                else if (errno != EINTR)
                    die("h2 read: %s", strerror(errno));
            }
        }
        return;
    }
    if (rev & POLLOUT && c->woff < c->wbuf.len) {
        ssize_t n = write(c->fd, c->wbuf.p + c->woff, c->wbuf.len - c->woff);
        if (n > 0) {
            c->woff += (size_t)n;
            if (c->woff == c->wbuf.len)
                c->wbuf.len = c->woff = 0;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            die("h1 write: %s", strerror(errno));
        }
    }
    if (rev & (POLLIN | POLLHUP | POLLERR)) {
        int eof = 0;
        for (;;) {
            buf_reserve(&c->rbuf, 1 << 16);
            ssize_t n = read(c->fd, c->rbuf.p + c->rbuf.len, c->rbuf.cap - c->rbuf.len - 1);
            if (n > 0) {
                size_t asked = c->rbuf.cap - c->rbuf.len - 1;
                c->rbuf.len += (size_t)n;
                c->rbuf.p[c->rbuf.len] = 0;
                if ((size_t)n < asked)
                    break;
            } else if (n == 0) {
                eof = 1;
                break;
            } else if (errno == EAGAIN)
                break;
            else if (errno == EINTR)
                continue;
            else {
                eof = 1;
                break;
            }
        }
        int close_after = 0;
        if (c->cur && h1_parse(c, eof, &close_after)) {
            slot_t *s = c->cur;
            c->cur = NULL;
            if (close_after || eof)
                h1_reconnect(c);
            complete(w, s);
        } else if (eof) {
            if (c->cur)
                die("h1 connection closed by server mid-response");
            h1_reconnect(c);
        }
    }
}

/* h2: writes what nghttp2 has queued; 1 = bytes are left (wait for POLLOUT) */
static int h2_flush(conn_t *c)
{
    if (c->woff == c->wbuf.len)
        c->wbuf.len = c->woff = 0;
    for (;;) { /* gather every pending frame, then one write */
        const uint8_t *d;
        ssize_t n = nghttp2_session_mem_send(c->ses, &d);
        if (n < 0)
            die("nghttp2 send: %s", nghttp2_strerror((int)n));
        if (n == 0)
            break;
        buf_add(&c->wbuf, d, (size_t)n);
    }
    while (c->woff < c->wbuf.len) {
        ssize_t n = write(c->fd, c->wbuf.p + c->woff, c->wbuf.len - c->woff);
        if (n > 0)
            c->woff += (size_t)n;
        else if (n < 0 && (errno == EAGAIN || errno == ENOTCONN))
            break;
        else if (n < 0 && errno != EINTR)
            die("h2 write: %s", strerror(errno));
    }
    return c->woff < c->wbuf.len;
}

/* Runs the workload until it says finished or the deadline passes. */
static void run(workload_t *w, int h2, int nconn, int nslot, double deadline)
{
    g_w = w;
    nconns = nconn;
    nslots = nslot;
    conns = calloc((size_t)nconns, sizeof *conns);
    slots = calloc((size_t)nslots, sizeof *slots);
    for (int i = 0; i < nconns; i++)
        conn_open(&conns[i], h2);
    for (int i = 0; i < nslots; i++) {
        slots[i].idx = i;
        slots[i].c = &conns[i % nconns];
    }
    char authority[64];
    snprintf(authority, sizeof authority, "127.0.0.1:%d", opt_port);
    struct pollfd *pfd = calloc((size_t)nconns, sizeof *pfd);
    for (;;) {
        double t = now_s();
        if (t >= deadline || w->finished(w))
            break;
        int busy = 0;
        double next_wake = 0;
        for (int i = 0; i < nslots; i++) {
            slot_t *s = &slots[i];
            if (!s->busy && s->wake <= t && !(t >= deadline)) {
                if (w->next(w, s))
                    issue(s, authority);
            }
            if (s->busy)
                busy++;
            else if (s->wake > t && (!next_wake || s->wake < next_wake))
                next_wake = s->wake;
        }
        if (!busy && !next_wake)
            break; /* nothing left to do */
        for (int i = 0; i < nconns; i++) {
            conn_t *c = &conns[i];
            pfd[i].fd = c->fd;
            pfd[i].events = POLLIN;
            if (c->h2) {
                if (h2_flush(c))
                    pfd[i].events |= POLLOUT;
            } else if (c->woff < c->wbuf.len) {
                pfd[i].events |= POLLOUT;
            }
        }
        int timeout = 100;
        if (next_wake) {
            int ms = (int)((next_wake - now_s()) * 1000) + 1;
            if (ms < timeout)
                timeout = ms < 0 ? 0 : ms;
        }
        int r = poll(pfd, (nfds_t)nconns, timeout);
        if (r < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        for (int i = 0; i < nconns && r > 0; i++)
            if (pfd[i].revents)
                conn_io(w, &conns[i], pfd[i].revents);
    }
    free(pfd);
}

#ifdef KLOAD_URING
/* ---- io_uring engine (h1 put) ------------------------------------------------
 * Same requests, same bookkeeping as run() (issue, h1_parse, complete), one
 * connection per slot with one request in flight on each, but no syscall per
 * request: every connection keeps its send (while its request goes out) and a
 * recv in the ring, completions are reaped in batches, and the sends/recvs they
 * lead to go out with the next io_uring_enter, which also waits for more. The
 * ring is single-issuer with deferred task work (completions run inside that
 * enter), the sockets are registered files, the recv is multishot over a
 * provided-buffer ring (armed once per connection), and each distinct request
 * (target, body) is formatted once and sent from there. Built with -DKLOAD_URING
 * -luring; run() is the fallback when the ring cannot be set up. */
#include <liburing.h>
#include <sys/mman.h>

#define UR_SEND 0u
#define UR_RECV 1u
#define UR_BUFSZ 4096
#define UR_BGID 7
#define UR_NRQ 65536 /* power of 2: room for --keys 32768 distinct requests */

typedef struct {
    const char *target, *body;
    size_t blen;
    buf_t req;
} ur_req_t;

typedef struct {
    struct io_uring ring;
    int fixed;                    /* sockets are registered files, index = connection */
    int multishot;                /* multishot recv into br's buffers */
    struct io_uring_buf_ring *br; /* provided buffers (multishot) */
    char *bufs;
    unsigned nbufs; /* power of 2, at least 4 per connection */
    int nrecycle;
    long inflight;
    ur_req_t rq[UR_NRQ]; /* formatted requests; entries never change during a run */
    unsigned nrq;
} uring_t;

static uint64_t ur_ud(unsigned gen, unsigned ci, unsigned op)
{
    return (uint64_t)gen << 32 | (uint64_t)ci << 1 | op;
}

static struct io_uring_sqe *ur_sqe(uring_t *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) { /* never with the ring sized at 2 per connection, but stay safe */
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
        if (!sqe)
            die("io_uring: no free SQE");
    }
    return sqe;
}
static void ur_fin(uring_t *u, struct io_uring_sqe *sqe, conn_t *c, unsigned ci, unsigned op)
{
    if (u->fixed)
        sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ur_ud(c->gen, ci, op));
}

static void ur_send(uring_t *u, conn_t *c, unsigned ci)
{
    struct io_uring_sqe *sqe = ur_sqe(u);
    io_uring_prep_send(sqe, u->fixed ? (int)ci : c->fd, c->sbuf + c->soff, c->slen - c->soff,
                       MSG_NOSIGNAL);
    ur_fin(u, sqe, c, ci, UR_SEND);
    c->ur_send = 1;
}

static void ur_recv(uring_t *u, conn_t *c, unsigned ci)
{
    struct io_uring_sqe *sqe = ur_sqe(u);
    int fd = u->fixed ? (int)ci : c->fd;
    if (u->multishot) {
        io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = UR_BGID;
    } else {
        buf_reserve(&c->rbuf, 1 << 16);
        io_uring_prep_recv(sqe, fd, c->rbuf.p + c->rbuf.len, c->rbuf.cap - c->rbuf.len - 1, 0);
    }
    c->ur_ms = u->multishot;
    ur_fin(u, sqe, c, ci, UR_RECV);
    c->ur_recv = 1;
}

/* The request bytes for s, formatted once per (target, body pointer) by h1_format:
 * the put workload cycles through a fixed set of bodies that never change during a
 * run (a workload that rewrites a body in place could not use this). NULL when the
 * table is full: the caller then formats into the connection's wbuf. */
static const buf_t *ur_request(uring_t *u, const slot_t *s, const char *authority)
{
    uint64_t h = ((uint64_t)(uintptr_t)s->body * 0x9e3779b97f4a7c15ull) >> 40 ^ s->blen;
    for (unsigned i = 0; i < UR_NRQ; i++) {
        ur_req_t *e = &u->rq[(h + i) & (UR_NRQ - 1)];
        if (e->body == s->body && e->target == s->target && e->blen == s->blen)
            return &e->req;
        if (!e->body) {
            if (u->nrq >= UR_NRQ / 2)
                return NULL;
            u->nrq++;
            e->body = s->body;
            e->target = s->target;
            e->blen = s->blen;
            static buf_t scratch;
            scratch.len = 0;
            h1_format(&scratch, authority, s);
            buf_copy_exact(&e->req, &scratch);
            return &e->req;
        }
    }
    return NULL;
}

static void ur_issue(uring_t *u, slot_t *s, unsigned ci, const char *authority)
{
    conn_t *c = s->c;
    if (c->cur || c->ur_send)
        die("io_uring engine: a second request on one connection");
    s->busy = 1;
    s->status = 0;
    s->resp.len = 0;
    s->boff = 0;
    s->t0 = now_s();
    c->nbusy++;
    c->cur = s;
    u->inflight++;
    const buf_t *r = ur_request(u, s, authority);
    if (!r) {
        c->wbuf.len = 0;
        h1_format(&c->wbuf, authority, s);
        r = &c->wbuf;
    }
    c->sbuf = r->p;
    c->slen = r->len;
    c->soff = 0;
    ur_send(u, c, ci);
    if (!c->ur_recv)
        ur_recv(u, c, ci);
}

static void ur_reconnect(uring_t *u, conn_t *c, unsigned ci)
{
    shutdown(c->fd, SHUT_RDWR); /* ends a recv still armed on the old socket */
    close(c->fd);
    c->fd = connect_port(opt_port, 0);
    if (c->fd < 0)
        die("reconnect: %s", strerror(errno));
    if (u->fixed && io_uring_register_files_update(&u->ring, ci, &c->fd, 1) != 1)
        die("io_uring: cannot update a registered file");
    c->gen++; /* what is left in the ring for the old socket is ignored */
    c->ur_send = c->ur_recv = 0;
    c->rbuf.len = 0;
}

static void ur_cqe(uring_t *u, workload_t *w, const struct io_uring_cqe *cqe, double t,
                   double deadline, const char *authority)
{
    uint64_t ud = cqe->user_data;
    unsigned gen = (unsigned)(ud >> 32), ci = (unsigned)(ud & 0xffffffffu) >> 1,
             op = (unsigned)(ud & 1);
    int res = cqe->res;
    conn_t *c = &conns[ci];
    int current = gen == c->gen;
    if (op == UR_RECV && (cqe->flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        char *b = u->bufs + (size_t)bid * UR_BUFSZ;
        if (current && res > 0)
            buf_add(&c->rbuf, b, (size_t)res);
        io_uring_buf_ring_add(u->br, b, UR_BUFSZ, (unsigned short)bid,
                              io_uring_buf_ring_mask(u->nbufs), u->nrecycle++);
    }
    if (!current)
        return;
    if (op == UR_SEND) {
        c->ur_send = 0;
        if (res == -EAGAIN || res == -EINTR)
            ur_send(u, c, ci);
        else if (res < 0)
            die("h1 send: %s", strerror(-res));
        else if ((c->soff += (size_t)res) < c->slen)
            ur_send(u, c, ci);
        return;
    }
    if (!(cqe->flags & IORING_CQE_F_MORE))
        c->ur_recv = 0;
    int eof = 0;
    if (res > 0) {
        if (!u->multishot) {
            c->rbuf.len += (size_t)res;
            c->rbuf.p[c->rbuf.len] = 0;
        }
    } else if (res == -EINVAL && c->ur_ms) {
        u->multishot = 0; /* a kernel without multishot recv: plain recv from now on */
    } else if (res == 0 || (res != -ENOBUFS && res != -EAGAIN && res != -EINTR)) {
        eof = 1;
    }
    int close_after = 0;
    if (c->cur && (res > 0 || eof) && h1_parse(c, eof, &close_after)) {
        slot_t *s = c->cur;
        c->cur = NULL;
        u->inflight--;
        if (close_after || eof)
            ur_reconnect(u, c, ci);
        complete(w, s);
        if (t < deadline && w->next(w, s))
            ur_issue(u, s, ci, authority);
    } else if (eof) {
        if (c->cur)
            die("h1 connection closed by server mid-response");
        ur_reconnect(u, c, ci);
    }
    if (!c->ur_recv && (c->cur || !eof))
        ur_recv(u, c, ci);
}

static int ur_setup(uring_t *u, int nconn)
{
    static const unsigned flags[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                     IORING_SETUP_COOP_TASKRUN, 0};
    unsigned entries = 2 * (unsigned)nconn + 8;
    int r = -1;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0] && r < 0; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = flags[i];
        r = io_uring_queue_init_params(entries, &u->ring, &p);
    }
    if (r < 0)
        return r;
    io_uring_register_ring_fd(&u->ring); /* optional: saves a file lookup per enter */
    for (u->nbufs = 256; u->nbufs < 4 * (unsigned)nconn && u->nbufs < 32768;)
        u->nbufs *= 2;
    size_t rsz = u->nbufs * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, rsz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    u->bufs = malloc((size_t)u->nbufs * UR_BUFSZ);
    if (mem != MAP_FAILED && u->bufs) {
        struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)mem, .ring_entries = u->nbufs,
                                       .bgid = UR_BGID};
        if (io_uring_register_buf_ring(&u->ring, &reg, 0) == 0) {
            u->br = mem;
            io_uring_buf_ring_init(u->br);
            for (unsigned b = 0; b < u->nbufs; b++)
                io_uring_buf_ring_add(u->br, u->bufs + (size_t)b * UR_BUFSZ, UR_BUFSZ,
                                      (unsigned short)b, io_uring_buf_ring_mask(u->nbufs), (int)b);
            io_uring_buf_ring_advance(u->br, (int)u->nbufs);
            u->multishot = 1;
        } else
            munmap(mem, rsz);
    }
    return 0;
}

/* run() for the h1 put load on io_uring: -1 (nothing done) when no ring can be set up */
static int run_uring(workload_t *w, int nconn, int nslot, double deadline)
{
    static uring_t u;
    if (nslot > nconn || ur_setup(&u, nconn) < 0)
        return -1;
    g_w = w;
    nconns = nconn;
    nslots = nslot;
    conns = calloc((size_t)nconns, sizeof *conns);
    slots = calloc((size_t)nslots, sizeof *slots);
    int *fds = calloc((size_t)nconns, sizeof *fds);
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = fds[i] = connect_port(opt_port, 0);
        if (conns[i].fd < 0)
            die("connect 127.0.0.1:%d: %s", opt_port, strerror(errno));
    }
    u.fixed = io_uring_register_files(&u.ring, fds, (unsigned)nconns) == 0;
    free(fds);
    char authority[64];
    snprintf(authority, sizeof authority, "127.0.0.1:%d", opt_port);
    for (int i = 0; i < nslots; i++) {
        slots[i].idx = i;
        slots[i].c = &conns[i];
        if (w->next(w, &slots[i]))
            ur_issue(&u, &slots[i], (unsigned)i, authority);
    }
    for (;;) {
        double t = now_s();
        if (t >= deadline || w->finished(w) || !u.inflight)
            break;
        double left = deadline - t < 0.1 ? deadline - t : 0.1;
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = (long long)(left * 1e9) + 1};
        struct io_uring_cqe *cqe;
        int r = io_uring_submit_and_wait_timeout(&u.ring, &cqe, 1, &ts, NULL);
        if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
            die("io_uring_enter: %s", strerror(-r));
        t = now_s();
        unsigned head, n = 0;
        io_uring_for_each_cqe(&u.ring, head, cqe)
        {
            ur_cqe(&u, w, cqe, t, deadline, authority);
            n++;
        }
        io_uring_cq_advance(&u.ring, n);
        if (u.nrecycle) {
            io_uring_buf_ring_advance(u.br, u.nrecycle);
            u.nrecycle = 0;
        }
    }
    return 0;
}
#endif

/* ---- blocking one-shot call (setup) ------------------------------------------ */
static int call_once(const char *target, const char *body, buf_t *out);
static int call(const char *target, const char *body, buf_t *out)
{
    int st = -1;
    for (int i = 0; i < 5 && st < 0; i++) {
        if (i)
            usleep(100000);
        st = call_once(target, body, out);
    }
    return st;
}
static int call_once(const char *target, const char *body, buf_t *out)
{
    out->len = 0;
    int fd = connect_port(opt_port, 0);
    if (fd < 0)
        return -1;
    buf_t req = {0};
    char authority[64], date[17], auth[512];
    snprintf(authority, sizeof authority, "127.0.0.1:%d", opt_port);
    sign_request(authority, target, (const uint8_t *)body, strlen(body), date, auth);
    buf_printf(&req,
               "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: " CTYPE
               "\r\nX-Amz-Target: Kinesis_20131202.%s\r\nX-Amz-Date: %s"
               "\r\nAuthorization: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
               authority, target, date, auth, strlen(body), body);
    size_t off = 0;
    while (off < req.len) {
        ssize_t n = write(fd, req.p + off, req.len - off);
        if (n <= 0) {
            close(fd);
            free(req.p);
            return -1;
        }
        off += (size_t)n;
    }
    free(req.p);
    conn_t c = {.fd = fd};
    slot_t s = {0};
    c.cur = &s;
    int close_after;
    for (;;) {
        buf_reserve(&c.rbuf, 1 << 16);
        ssize_t n = read(fd, c.rbuf.p + c.rbuf.len, c.rbuf.cap - c.rbuf.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            c.rbuf.len += (size_t)n;
            c.rbuf.p[c.rbuf.len] = 0;
        }
        if (h1_parse(&c, n <= 0, &close_after))
            break;
        if (n <= 0) {
            close(fd);
            free(c.rbuf.p);
            return -1;
        }
    }
    close(fd);
    free(c.rbuf.p);
    out->len = 0;
    if (s.resp.len)
        buf_add(out, s.resp.p, s.resp.len);
    else
        buf_add(out, "", 0);
    free(s.resp.p);
    return s.status;
}

/* ---- latencies ------------------------------------------------------------- */
static float *lats;
static size_t nlats, caplats;
static void lat_add(double s)
{
    if (nlats == caplats) {
        caplats = caplats ? caplats * 2 : 1 << 16;
        lats = realloc(lats, caplats * sizeof *lats);
    }
    lats[nlats++] = (float)(s * 1e6);
}
static int fcmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}
static double pct_in(const float *a, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return a[i];
}
static double pct(double p)
{
    return pct_in(lats, nlats, p);
}

static void cpu_times(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- base64 ----------------------------------------------------------------- */
static void b64(const uint8_t *in, size_t n, buf_t *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    buf_reserve(out, (n + 2) / 3 * 4);
    char *o = out->p + out->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = t[(v >> 6) & 63];
        *o++ = t[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
}

/* ---- put workload ------------------------------------------------------------ */
#define NBODIES 64 /* distinct request bodies, unless --keys/--spread/--streams need more */
typedef struct {
    workload_t w;
    buf_t *bodies;
    unsigned nbodies;
    int per_req;
    long sent_records, ok_records, failed_records, bytes_ok;
    long issued_records;
    unsigned next_body;
} put_t;

static int put_next(workload_t *w, slot_t *s)
{
    put_t *p = (put_t *)w;
    if (opt_total_records && p->issued_records >= opt_total_records)
        return 0;
    buf_t *b = &p->bodies[p->next_body++ % p->nbodies];
    s->target = opt_op;
    s->body = b->p;
    s->blen = b->len;
    p->issued_records += p->per_req;
    return 1;
}
static long json_int_after(const char *body, size_t len, const char *key)
{
    const char *k = memmem(body, len, key, strlen(key));
    if (!k)
        return -1;
    k += strlen(key);
    while (*k == '"' || *k == ':' || *k == ' ')
        k++;
    return strtol(k, NULL, 10);
}
static void put_done(workload_t *w, slot_t *s, double lat)
{
    put_t *p = (put_t *)w;
    lat_add(lat);
    if (s->status != 200) {
        p->failed_records += p->per_req;
        return;
    }
    long failed = 0;
    if (p->per_req > 1) {
        failed = json_int_after(s->resp.p, s->resp.len, "\"FailedRecordCount\"");
        if (failed < 0)
            failed = p->per_req;
        if (failed && !first_err[0])
            snprintf(first_err, sizeof first_err, "PutRecords FailedRecordCount: %.400s", s->resp.p);
    }
    p->failed_records += failed;
    p->ok_records += p->per_req - failed;
    p->bytes_ok += (p->per_req - failed) * (long)opt_size;
}
static int put_finished(workload_t *w)
{
    put_t *p = (put_t *)w;
    return opt_total_records && p->ok_records + p->failed_records >= opt_total_records;
}

static int cmd_put(void)
{
    put_t p = {.w = {put_next, put_done, put_finished}};
    int multi = strcmp(opt_op, "PutRecords") == 0;
    p.per_req = multi ? opt_records : 1;
    uint8_t *data = malloc((size_t)opt_size);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    /* Bodies are sent in order, so the first requests of a run cover every key,
     * every spread slot of every stream (--streams), each once. */
    long streams = opt_streams > 0 ? opt_streams : 1;
    long per_stream = NBODIES;
    if (opt_keys > 0 && (opt_keys + p.per_req - 1) / p.per_req > per_stream)
        per_stream = (opt_keys + p.per_req - 1) / p.per_req;
    if (opt_spread > 0 && (opt_spread + p.per_req - 1) / p.per_req > per_stream)
        per_stream = (opt_spread + p.per_req - 1) / p.per_req;
    if (opt_streams > 0)
        per_stream = opt_spread > 0 ? (opt_spread + p.per_req - 1) / p.per_req : 1;
    if (streams * per_stream > (1L << 24))
        die("--keys/--spread/--streams: too many distinct requests (%ld)", streams * per_stream);
    p.nbodies = (unsigned)(streams * per_stream);
    if (!(p.bodies = calloc(p.nbodies, sizeof *p.bodies)))
        die("out of memory");
    rn_u128_t w = opt_spread > 0 ? ~(rn_u128_t)0 / (rn_u128_t)opt_spread : 0;
    buf_t scratch = {0};
    for (unsigned b = 0; b < p.nbodies; b++) {
        buf_t *o = &scratch;
        o->len = 0;
        char name[256];
        if (opt_streams > 0)
            snprintf(name, sizeof name, "%s-%ld", opt_stream, (long)(b % streams));
        else
            snprintf(name, sizeof name, "%s", opt_stream);
        if (multi)
            buf_printf(o, "{\"StreamName\":\"%s\",\"Records\":[", name);
        for (int r = 0; r < p.per_req; r++) {
            long g = (long)(b / streams) * p.per_req + r; /* record index within its stream */
            for (int i = 0; i < opt_size; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                data[i] = (uint8_t)x;
            }
            char pk[64], ehk[80] = "";
            if (opt_keys > 0)
                snprintf(pk, sizeof pk, "pk-%ld", g % opt_keys);
            else if (multi)
                snprintf(pk, sizeof pk, "pk-%u-%d", b, r);
            else
                snprintf(pk, sizeof pk, "pk-%u", b);
            if (opt_spread > 0) { /* the middle of slot g of --spread equal hash-key ranges */
                char dec[48];
                u128_format(w * (rn_u128_t)(g % opt_spread) + w / 2, dec);
                snprintf(ehk, sizeof ehk, "\"ExplicitHashKey\":\"%s\",", dec);
            }
            if (multi)
                buf_printf(o, "%s{\"PartitionKey\":\"%s\",%s\"Data\":\"", r ? "," : "", pk, ehk);
            else
                buf_printf(o, "{\"StreamName\":\"%s\",\"PartitionKey\":\"%s\",%s\"Data\":\"", name,
                           pk, ehk);
            b64(data, (size_t)opt_size, o);
            buf_add(o, "\"}", 2);
        }
        if (multi)
            buf_add(o, "]}", 2);
        buf_copy_exact(&p.bodies[b], o);
    }
    free(scratch.p);
    int nconn = opt_conns ? opt_conns : (opt_h2 ? 1 : opt_inflight);
    double u0, s0, u1, s1;
    cpu_times(&u0, &s0);
    double t0 = now_s();
    double secs = opt_total_records ? opt_max_seconds : opt_seconds;
    int done = 0;
    if (!opt_h2 && opt_engine != 1) {
#ifdef KLOAD_URING
        done = run_uring(&p.w, nconn, opt_inflight, t0 + secs) == 0;
#endif
        if (!done && opt_engine == 2)
            fprintf(stderr, "kload: io_uring engine unavailable (%s), using poll\n",
                    nconn < opt_inflight ? "fewer connections than --inflight" : "no ring");
    }
    if (!done)
        run(&p.w, opt_h2, nconn, opt_inflight, t0 + secs);
    double el = now_s() - t0;
    cpu_times(&u1, &s1);
    qsort(lats, nlats, sizeof *lats, fcmp);
    double cpu = (u1 - u0) + (s1 - s0);
    printf("{\"requests\":%ld,\"ok\":%ld,\"errors\":%ld,\"elapsed\":%.4f,\"req_per_s\":%.1f,"
           "\"records_ok\":%ld,\"records_failed\":%ld,\"records_per_s\":%.1f,\"mb_per_s\":%.3f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"client_cpu\":%.4f,\"first_error\":",
           n_done, n_ok, n_err, el, n_ok / el, p.ok_records, p.failed_records, p.ok_records / el,
           p.bytes_ok / el / 1e6, pct(0.5), pct(0.99), cpu);
    json_t *e = json_string(first_err);
    char *es = json_dumps(e, JSON_ENCODE_ANY);
    printf("%s}\n", es);
    return n_err && !n_ok ? 1 : 0;
}

/* ---- drain workload ----------------------------------------------------------- */
typedef struct {
    char *iter;
    char *body;
    long count;
    int done;
    int checked;
} shard_t;
typedef struct {
    workload_t w;
    shard_t *sh;
    int nsh;
    long total;
    long responses;
    long empty_polls;
    int mismatch;
} drain_t;

static int drain_next(workload_t *w, slot_t *s)
{
    drain_t *d = (drain_t *)w;
    shard_t *sh = &d->sh[s->idx];
    if (sh->done || !sh->iter)
        return 0;
    free(sh->body);
    size_t n = strlen(sh->iter) + 64;
    sh->body = malloc(n);
    snprintf(sh->body, n, "{\"ShardIterator\":\"%s\",\"Limit\":%ld}", sh->iter, opt_limit);
    s->target = "GetRecords";
    s->body = sh->body;
    s->blen = strlen(sh->body);
    return 1;
}
static long count_records(const char *p, size_t len)
{
    long n = 0;
    const char *end = p + len;
    while ((p = memmem(p, (size_t)(end - p), "\"SequenceNumber\"", 16))) {
        n++;
        p += 16;
    }
    return n;
}
static char *find_next_iter(const char *p, size_t len)
{
    const char *k = memmem(p, len, "\"NextShardIterator\"", 19);
    if (!k)
        return NULL;
    k += 19;
    while (*k == ' ' || *k == ':')
        k++;
    if (*k != '"')
        return NULL;
    k++;
    const char *e = k;
    while (*e && *e != '"')
        e += (*e == '\\' && e[1]) ? 2 : 1;
    if (!*e)
        return NULL;
    return strndup(k, (size_t)(e - k));
}
static void drain_done(workload_t *w, slot_t *s, double lat)
{
    drain_t *d = (drain_t *)w;
    shard_t *sh = &d->sh[s->idx];
    d->responses++;
    lat_add(lat);
    if (s->status != 200) {
        /* throttling peers: back off a little and retry the same iterator */
        s->wake = now_s() + 0.05;
        return;
    }
    long n = count_records(s->resp.p, s->resp.len);
    if (opt_check && !sh->checked && n > 0) {
        sh->checked = 1;
        json_error_t je;
        json_t *j = json_loadb(s->resp.p, s->resp.len, 0, &je);
        json_t *recs = j ? json_object_get(j, "Records") : NULL;
        if (!recs || (long)json_array_size(recs) != n) {
            d->mismatch = 1;
            fprintf(stderr, "kload: scan count %ld != jansson count %zu\n", n,
                    recs ? json_array_size(recs) : 0);
        }
        json_decref(j);
    }
    sh->count += n;
    d->total += n;
    char *it = find_next_iter(s->resp.p, s->resp.len);
    long behind = json_int_after(s->resp.p, s->resp.len, "\"MillisBehindLatest\"");
    free(sh->iter);
    sh->iter = it;
    if (!it)
        sh->done = 1;
    else if (n == 0) {
        d->empty_polls++;
        if (!opt_follow && behind <= 0 && (!opt_expect || d->total >= opt_expect))
            sh->done = 1;
        else
            s->wake = now_s() + (opt_follow ? 0.002 : 0.0005);
    }
}
static int drain_finished(workload_t *w)
{
    drain_t *d = (drain_t *)w;
    if (opt_follow)
        return 0;
    if (opt_expect && d->total >= opt_expect)
        return 1;
    for (int i = 0; i < d->nsh; i++)
        if (!d->sh[i].done)
            return 0;
    return 1;
}

static int cmd_drain(void)
{
    drain_t d = {.w = {drain_next, drain_done, drain_finished}};
    buf_t out = {0};
    char body[512];
    snprintf(body, sizeof body, "{\"StreamName\":\"%s\"}", opt_stream);
    int st = call("ListShards", body, &out);
    if (st != 200)
        die("ListShards: %d %s", st, out.p);
    json_error_t je;
    json_t *j = json_loads(out.p, 0, &je);
    json_t *arr = json_object_get(j, "Shards");
    d.nsh = (int)json_array_size(arr);
    if (!d.nsh)
        die("no shards: %s", out.p);
    d.sh = calloc((size_t)d.nsh, sizeof *d.sh);
    for (int i = 0; i < d.nsh; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(arr, (size_t)i), "ShardId"));
        snprintf(body, sizeof body,
                 "{\"StreamName\":\"%s\",\"ShardId\":\"%s\",\"ShardIteratorType\":\"TRIM_HORIZON\"}",
                 opt_stream, id);
        st = call("GetShardIterator", body, &out);
        if (st != 200)
            die("GetShardIterator: %d %s", st, out.p);
        json_t *g = json_loads(out.p, 0, &je);
        /* keep iterators in their JSON-escaped form, as the byte scan sees them */
        char *esc = json_dumps(json_object_get(g, "ShardIterator"), JSON_ENCODE_ANY);
        if (!esc || esc[0] != '"')
            die("GetShardIterator: no iterator in %s", out.p);
        esc[strlen(esc) - 1] = 0;
        d.sh[i].iter = strdup(esc + 1);
        free(esc);
        json_decref(g);
    }
    json_decref(j);
    double u0, s0, u1, s1;
    cpu_times(&u0, &s0);
    double t0 = now_s();
    int nconn = opt_h2 ? 1 : d.nsh;
    run(&d.w, opt_h2, nconn, d.nsh, t0 + (opt_follow ? opt_seconds : opt_max_seconds));
    double el = now_s() - t0;
    cpu_times(&u1, &s1);
    qsort(lats, nlats, sizeof *lats, fcmp);
    printf("{\"records\":%ld,\"shards\":%d,\"responses\":%ld,\"empty_polls\":%ld,\"errors\":%ld,"
           "\"elapsed\":%.4f,\"records_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
           "\"client_cpu\":%.4f,\"scan_check\":%s,\"complete\":%s,\"first_error\":",
           d.total, d.nsh, d.responses, d.empty_polls, n_err, el, d.total / el, pct(0.5),
           pct(0.99), (u1 - u0) + (s1 - s0), d.mismatch ? "false" : "true",
           (!opt_expect || d.total >= opt_expect) ? "true" : "false");
    json_t *e = json_string(first_err);
    char *es = json_dumps(e, JSON_ENCODE_ANY);
    printf("%s}\n", es);
    return d.mismatch ? 1 : 0;
}

/* ---- subscribe: put-to-receive latency through SubscribeToShard --------------------
 * One h2c connection holds the subscription (enhanced fan-out, StartingPosition
 * LATEST); once its initial-response has arrived, a second h2c connection puts
 * PutRecord at --rate per second (paced, at most --inflight outstanding), each
 * record's Data being "<CLOCK_MONOTONIC ns at send> <sequence>". Every record read
 * back from the subscription gives one put-to-receive latency. The event-stream
 * messages (prelude, headers, payload, CRC32s) are parsed incrementally from the
 * stream's DATA as it arrives; both CRCs are checked. The putter starts at the
 * initial-response, or at the first event from a server that sends none. */
typedef struct {
    workload_t w;
    slot_t *sub;        /* the SubscribeToShard request (its own connection) */
    slot_t *puts;       /* PutRecord slots (the putter's connection) */
    buf_t *pbody;       /* one body per put slot: it is read while the request goes out */
    int *freel, nfree;
    long sent, acked, received, dups, events, resubs;
    int started;        /* the current subscription's initial-response arrived */
    int sub_ended;      /* the server ended the current subscription */
    int broken;         /* unrecoverable subscription error: stop */
    char cont[128];     /* last ContinuationSequenceNumber */
    uint8_t *got;       /* got[seq]: that record was received */
    size_t gotcap;
    buf_t subbody;
} subscribe_t;

static float *e2e;
static size_t ne2e, cape2e;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sub_error(const char *fmt, ...)
{
    n_err++;
    if (first_err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(first_err, sizeof first_err, fmt, ap);
    va_end(ap);
}

static uint32_t es_crc32(const uint8_t *p, size_t n)
{
    static uint32_t t[256];
    if (!t[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++)
        c = t[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}
static uint32_t rd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* base64 -> out (NUL-terminated); -1 on a bad character */
static int unb64(const char *in, size_t n, char *out, size_t cap)
{
    uint32_t v = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n && in[i] != '='; i++) {
        char ch = in[i];
        int d = ch >= 'A' && ch <= 'Z' ? ch - 'A' : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
              : ch >= '0' && ch <= '9' ? ch - '0' + 52 : ch == '+' ? 62 : ch == '/' ? 63 : -1;
        if (d < 0)
            return -1;
        v = v << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)(v >> bits & 0xff);
        }
    }
    out[o] = 0;
    return (int)o;
}

/* One SubscribeToShardEvent payload: a put-to-receive latency per record */
static void sub_records(subscribe_t *u, const char *p, size_t n, int64_t t)
{
    json_error_t je;
    json_t *j = json_loadb(p, n, 0, &je);
    json_t *recs = j ? json_object_get(j, "Records") : NULL;
    if (!json_is_array(recs)) {
        sub_error("SubscribeToShardEvent without Records: %.300s", p);
        json_decref(j);
        return;
    }
    u->events++;
    const char *cont = json_string_value(json_object_get(j, "ContinuationSequenceNumber"));
    if (cont)
        snprintf(u->cont, sizeof u->cont, "%s", cont);
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *d = json_string_value(json_object_get(r, "Data"));
        char txt[128];
        long long sent_ns;
        long seq;
        if (!d || unb64(d, strlen(d), txt, sizeof txt) < 0 || sscanf(txt, "%lld %ld", &sent_ns, &seq) != 2 ||
            seq < 0 || seq >= u->sent) {
            sub_error("record with unexpected Data: %.100s", d ? d : "(none)");
            continue;
        }
        if ((size_t)seq >= u->gotcap) {
            size_t nc = u->gotcap ? u->gotcap : 4096;
            while (nc <= (size_t)seq)
                nc *= 2;
            u->got = realloc(u->got, nc);
            memset(u->got + u->gotcap, 0, nc - u->gotcap);
            u->gotcap = nc;
        }
        if (u->got[seq]++) {
            u->dups++;
            continue;
        }
        u->received++;
        if (ne2e == cape2e) {
            cape2e = cape2e ? cape2e * 2 : 1 << 14;
            e2e = realloc(e2e, cape2e * sizeof *e2e);
        }
        e2e[ne2e++] = (float)((t - sent_ns) / 1e3);
    }
    json_decref(j);
}

/* Parses the complete event-stream messages at the front of the subscription's
 * response and drops them; a partial one stays for the next DATA chunk. */
static void sub_parse(subscribe_t *u, slot_t *s)
{
    if (s->status != 200 || u->broken)
        return; /* an error answer is a JSON body: complete() reports it */
    int64_t t = now_ns();
    buf_t *b = &s->resp;
    size_t off = 0;
    while (b->len - off >= 12) {
        const uint8_t *m = (const uint8_t *)b->p + off;
        uint32_t total = rd_be32(m), hlen = rd_be32(m + 4);
        if (rd_be32(m + 8) != es_crc32(m, 8) || total < 16 || hlen > total - 16) {
            sub_error("bad event-stream prelude");
            u->broken = 1;
            break;
        }
        if (b->len - off < total)
            break;
        if (rd_be32(m + total - 4) != es_crc32(m, total - 4)) {
            sub_error("event-stream message CRC mismatch");
            u->broken = 1;
            break;
        }
        char evtype[64] = "", msgtype[32] = "", exctype[64] = "";
        const uint8_t *q = m + 12, *hend = q + hlen;
        while (q < hend) { /* name length, name, value type, value */
            size_t nl = *q++;
            const char *name = (const char *)q;
            q += nl;
            if (q >= hend)
                break;
            uint8_t ty = *q++;
            size_t vl = ty <= 1 ? 0 : ty == 2 ? 1 : ty == 3 ? 2 : ty == 4 ? 4 : ty == 5 || ty == 8 ? 8 : 16;
            if (ty == 6 || ty == 7) {
                if (hend - q < 2)
                    break;
                vl = (size_t)q[0] << 8 | q[1];
                q += 2;
            }
            if ((size_t)(hend - q) < vl)
                break;
            char *dst = nl == 11 && !memcmp(name, ":event-type", 11)       ? evtype
                        : nl == 13 && !memcmp(name, ":message-type", 13)   ? msgtype
                        : nl == 15 && !memcmp(name, ":exception-type", 15) ? exctype
                                                                           : NULL;
            if (dst && ty == 7)
                snprintf(dst, 32, "%.*s", (int)(vl < 31 ? vl : 31), (const char *)q);
            q += vl;
        }
        const char *pl = (const char *)hend;
        size_t plen = total - 16 - hlen;
        if (strcmp(msgtype, "exception") == 0)
            sub_error("SubscribeToShard exception %s: %.*s", exctype, (int)(plen < 300 ? plen : 300), pl);
        else if (strcmp(evtype, "initial-response") == 0)
            u->started = 1;
        else if (strcmp(evtype, "SubscribeToShardEvent") == 0) {
            u->started = 1; /* kinesis-local sends no initial-response */
            sub_records(u, pl, plen, t);
        }
        off += total;
    }
    buf_consume(b, u->broken ? b->len : off);
}

static int sub_next(workload_t *w, slot_t *s)
{
    return 0; /* requests are issued by cmd_subscribe's loop */
}
static void sub_done(workload_t *w, slot_t *s, double lat)
{
    subscribe_t *u = (subscribe_t *)w;
    if (s == u->sub) { /* the server ended the subscription: read what came with the end */
        sub_parse(u, s);
        u->sub_ended = 1;
        if (s->status != 200)
            u->broken = 1;
        return;
    }
    lat_add(lat);
    if (s->status == 200)
        u->acked++;
    u->freel[u->nfree++] = s->idx;
}
static int sub_finished(workload_t *w)
{
    return 0;
}

static void sub_issue(subscribe_t *u, const char *consumer_arn, const char *authority)
{
    json_t *sp = u->cont[0] ? json_pack("{s:s,s:s}", "Type", "AFTER_SEQUENCE_NUMBER", "SequenceNumber", u->cont)
                            : json_pack("{s:s}", "Type", "LATEST");
    json_t *j = json_pack("{s:s,s:s,s:o}", "ConsumerARN", consumer_arn, "ShardId", "shardId-000000000000",
                          "StartingPosition", sp);
    char *txt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    u->subbody.len = 0;
    buf_add(&u->subbody, txt, strlen(txt));
    free(txt);
    slot_t *s = u->sub;
    s->target = "SubscribeToShard";
    s->body = u->subbody.p;
    s->blen = u->subbody.len;
    u->started = 0;
    u->sub_ended = 0;
    issue(s, authority);
}

/* body of a setup call as JSON (dies on a non-200) */
static json_t *call_json(const char *target, json_t *req)
{
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    buf_t out = {0};
    int st = call(target, body, &out);
    if (st != 200)
        die("%s: %d %s", target, st, out.p ? out.p : "");
    free(body);
    json_error_t je;
    json_t *j = json_loads(out.p, 0, &je);
    if (!j)
        die("%s: not JSON: %s", target, out.p);
    free(out.p);
    return j;
}

static int cmd_subscribe(void)
{
    static subscribe_t u = {.w = {sub_next, sub_done, sub_finished}};
    if (opt_rate <= 0)
        die("--rate must be positive");
    /* the stream's ARN, a consumer, and that consumer ACTIVE */
    json_t *j = call_json("DescribeStreamSummary", json_pack("{s:s}", "StreamName", opt_stream));
    const char *a = json_string_value(json_object_get(json_object_get(j, "StreamDescriptionSummary"), "StreamARN"));
    if (!a)
        die("DescribeStreamSummary: no StreamARN");
    char *stream_arn = strdup(a);
    json_decref(j);
    char cname[64];
    snprintf(cname, sizeof cname, "bench-%d", (int)getpid());
    json_decref(call_json("RegisterStreamConsumer",
                          json_pack("{s:s,s:s}", "StreamARN", stream_arn, "ConsumerName", cname)));
    char *consumer_arn = NULL;
    for (double t0 = now_s(); !consumer_arn; usleep(20000)) {
        j = call_json("DescribeStreamConsumer", json_pack("{s:s,s:s}", "StreamARN", stream_arn, "ConsumerName", cname));
        json_t *d = json_object_get(j, "ConsumerDescription");
        const char *st = json_string_value(json_object_get(d, "ConsumerStatus"));
        if (st && strcmp(st, "ACTIVE") == 0)
            consumer_arn = strdup(json_string_value(json_object_get(d, "ConsumerARN")));
        json_decref(j);
        if (!consumer_arn && now_s() - t0 > 30)
            die("consumer %s not ACTIVE after 30 s", cname);
    }

    char authority[64];
    snprintf(authority, sizeof authority, "127.0.0.1:%d", opt_port);
    g_w = &u.w;
    conn_t cs[2]; /* [0] the subscription, [1] the putter */
    conn_open(&cs[0], 1);
    conn_open(&cs[1], 1);
    slot_t subslot = {.idx = -1, .c = &cs[0]};
    u.sub = &subslot;
    int np = opt_inflight > 0 ? opt_inflight : 64;
    u.puts = calloc((size_t)np, sizeof *u.puts);
    u.pbody = calloc((size_t)np, sizeof *u.pbody);
    u.freel = calloc((size_t)np, sizeof *u.freel);
    for (int i = 0; i < np; i++) {
        u.puts[i].idx = i;
        u.puts[i].c = &cs[1];
        u.freel[u.nfree++] = np - 1 - i;
    }

    double u0, s0, u1, s1;
    cpu_times(&u0, &s0);
    sub_issue(&u, consumer_arn, authority);
    double t_sub = now_s(), t_start = 0, t_stop = 0, t_end = 0;
    long k = 0;        /* puts due so far: put k is due at t_start + k / rate */
    const double grace = 5; /* after the last put: wait this long at most for acks and records */
    for (;;) {
        double t = now_s();
        if (u.broken)
            break;
        if (!t_start) {
            if (u.started)
                t_start = t, t_stop = t + opt_seconds;
            else if (t - t_sub > 10) {
                sub_error("no initial-response within 10 s");
                break;
            }
        }
        int putting = t_start && t < t_stop;
        if (t_start && !putting) {
            if (!t_end)
                t_end = t;
            if ((u.nfree == np && u.received >= u.acked) || t - t_end > grace)
                break;
        }
        if (u.sub_ended) { /* lifetime reached: continue after the last continuation */
            u.resubs++;
            sub_issue(&u, consumer_arn, authority);
        }
        while (putting && u.nfree && t >= t_start + (double)k / opt_rate) {
            slot_t *s = &u.puts[u.freel[--u.nfree]];
            buf_t *b = &u.pbody[s->idx];
            char txt[64];
            int n = snprintf(txt, sizeof txt, "%lld %ld", (long long)now_ns(), u.sent);
            b->len = 0;
            buf_printf(b, "{\"StreamName\":\"%s\",\"PartitionKey\":\"pk-%ld\",\"Data\":\"", opt_stream,
                       u.sent % 64);
            b64((const uint8_t *)txt, (size_t)n, b);
            buf_add(b, "\"}", 2);
            s->target = "PutRecord";
            s->body = b->p;
            s->blen = b->len;
            issue(s, authority);
            u.sent++;
            k++;
        }
        struct pollfd pfd[2];
        for (int i = 0; i < 2; i++) {
            pfd[i].fd = cs[i].fd;
            pfd[i].events = POLLIN | (h2_flush(&cs[i]) ? POLLOUT : 0);
        }
        double wait = 0.05;
        if (putting) {
            double due = t_start + (double)k / opt_rate - now_s();
            if (due < wait)
                wait = due < 0 ? 0 : due;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(wait * 1e9)};
        int r = ppoll(pfd, 2, u.nfree || !putting ? &ts : NULL, NULL);
        if (r < 0 && errno != EINTR)
            die("ppoll: %s", strerror(errno));
        for (int i = 0; i < 2 && r > 0; i++)
            if (pfd[i].revents) {
                conn_io(&u.w, &cs[i], pfd[i].revents);
                if (i == 0 && subslot.busy)
                    sub_parse(&u, &subslot);
            }
    }
    cpu_times(&u1, &s1);
    double el = t_start ? (t_end ? t_end : now_s()) - t_start : 0;
    for (int i = 0; i < 2; i++) {
        nghttp2_session_del(cs[i].ses);
        close(cs[i].fd);
    }
    buf_t out = {0};
    char body[1024];
    snprintf(body, sizeof body, "{\"ConsumerARN\":\"%s\"}", consumer_arn);
    int st = call("DeregisterStreamConsumer", body, &out);
    if (st != 200)
        sub_error("DeregisterStreamConsumer: %d %.300s", st, out.p ? out.p : "");
    if (u.dups)
        sub_error("%ld records received twice", u.dups);
    qsort(lats, nlats, sizeof *lats, fcmp);
    qsort(e2e, ne2e, sizeof *e2e, fcmp);
    printf("{\"sent\":%ld,\"acked\":%ld,\"received\":%ld,\"duplicates\":%ld,\"events\":%ld,"
           "\"resubscribes\":%ld,\"rate\":%.1f,\"elapsed\":%.4f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
           "\"max_us\":%.1f,\"ack_p50_us\":%.1f,\"ack_p99_us\":%.1f,\"client_cpu\":%.4f,"
           "\"errors\":%ld,\"first_error\":",
           u.sent, u.acked, u.received, u.dups, u.events, u.resubs, el > 0 ? u.sent / el : 0, el,
           pct_in(e2e, ne2e, 0.5), pct_in(e2e, ne2e, 0.99), ne2e ? e2e[ne2e - 1] : 0, pct(0.5), pct(0.99),
           (u1 - u0) + (s1 - s0), n_err);
    json_t *e = json_string(first_err);
    char *es = json_dumps(e, JSON_ENCODE_ANY);
    printf("%s}\n", es);
    return u.received ? 0 : 1;
}

/* ---- create workload ------------------------------------------------------------ */
typedef struct {
    workload_t w;
    long issued, done_ok, done_err;
    char bodies[1024][256];
} create_t;
static int create_next(workload_t *w, slot_t *s)
{
    create_t *c = (create_t *)w;
    if (c->issued >= opt_count)
        return 0;
    char *b = c->bodies[s->idx % 1024];
    snprintf(b, 256, "{\"StreamName\":\"%s-%ld\",\"ShardCount\":%ld}", opt_prefix, c->issued,
             opt_shards);
    c->issued++;
    s->target = "CreateStream";
    s->body = b;
    s->blen = strlen(b);
    return 1;
}
static void create_done(workload_t *w, slot_t *s, double lat)
{
    (void)lat;
    create_t *c = (create_t *)w;
    if (s->status == 200)
        c->done_ok++;
    else
        c->done_err++;
}
static int create_finished(workload_t *w)
{
    create_t *c = (create_t *)w;
    return c->done_ok + c->done_err >= opt_count;
}
static int cmd_create(void)
{
    static create_t c = {.w = {create_next, create_done, create_finished}};
    if (opt_inflight > 1024)
        opt_inflight = 1024;
    double t0 = now_s();
    run(&c.w, 0, opt_inflight, opt_inflight, t0 + opt_max_seconds);
    double el = now_s() - t0;
    printf("{\"created\":%ld,\"errors\":%ld,\"elapsed\":%.4f,\"first_error\":", c.done_ok,
           c.done_err, el);
    json_t *e = json_string(first_err);
    printf("%s}\n", json_dumps(e, JSON_ENCODE_ANY));
    return c.done_err ? 1 : 0;
}

/* ---- startup ------------------------------------------------------------------- */
static int cmd_startup(char **argv)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    buf_t out = {0};
    double ms = -1;
    int st = 0;
    while ((now_s() - t0) * 1000 < opt_timeout_ms) {
        st = call_once("ListStreams", "{}", &out);
        if (st == 200) {
            ms = (now_s() - t0) * 1000;
            break;
        }
        int wst;
        if (waitpid(pid, &wst, WNOHANG) == pid)
            die("server exited before answering");
        usleep(200);
    }
    kill(pid, SIGTERM);
    int wst;
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &wst, WNOHANG) == pid)
            break;
        usleep(10000);
        if (i == 499) {
            kill(pid, SIGKILL);
            waitpid(pid, &wst, 0);
        }
    }
    printf("{\"startup_ms\":%.2f,\"status\":%d}\n", ms, st);
    return ms < 0;
}

static int cmd_call(void)
{
    buf_t out = {0};
    int st = call(opt_target, opt_body ? opt_body : "{}", &out);
    printf("%d %s\n", st, out.p ? out.p : "");
    return st == 200 ? 0 : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        die("usage: kload put|drain|subscribe|create|call|startup [options]");
    const char *cmd = argv[1];
    int i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define O(name) (strcmp(a, name) == 0 && v && ++i)
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (O("--port"))
            opt_port = atoi(v);
        else if (O("--proto"))
            opt_h2 = strcmp(v, "h2") == 0;
        else if (O("--inflight"))
            opt_inflight = atoi(v);
        else if (O("--conns"))
            opt_conns = atoi(v);
        else if (O("--records"))
            opt_records = atoi(v);
        else if (O("--size"))
            opt_size = atoi(v);
        else if (O("--seconds"))
            opt_seconds = atof(v);
        else if (O("--rate"))
            opt_rate = atof(v);
        else if (O("--max-seconds"))
            opt_max_seconds = atof(v);
        else if (O("--total-records"))
            opt_total_records = atol(v);
        else if (O("--expect"))
            opt_expect = atol(v);
        else if (O("--limit"))
            opt_limit = atol(v);
        else if (O("--count"))
            opt_count = atol(v);
        else if (O("--shards"))
            opt_shards = atol(v);
        else if (O("--keys"))
            opt_keys = atol(v);
        else if (O("--spread"))
            opt_spread = atol(v);
        else if (O("--streams"))
            opt_streams = atol(v);
        else if (O("--stream"))
            opt_stream = v;
        else if (O("--op"))
            opt_op = v;
        else if (O("--prefix"))
            opt_prefix = v;
        else if (O("--target"))
            opt_target = v;
        else if (O("--body"))
            opt_body = v;
        else if (O("--sign"))
            opt_sign = v;
        else if (O("--engine")) {
            if (strcmp(v, "uring") == 0)
                opt_engine = 2;
            else if (strcmp(v, "epoll") == 0 || strcmp(v, "poll") == 0)
                opt_engine = 1;
            else
                die("--engine: epoll or uring, not %s", v);
        } else if (O("--timeout-ms"))
            opt_timeout_ms = atoi(v);
        else if (strcmp(a, "--follow") == 0)
            opt_follow = 1;
        else if (strcmp(a, "--check") == 0)
            opt_check = 1;
        else
            die("unknown option %s", a);
    }
    if (!opt_port)
        die("--port is required");
    if (strcmp(cmd, "put") == 0)
        return cmd_put();
    if (strcmp(cmd, "drain") == 0)
        return cmd_drain();
    if (strcmp(cmd, "create") == 0)
        return cmd_create();
    if (strcmp(cmd, "subscribe") == 0)
        return cmd_subscribe();
    if (strcmp(cmd, "call") == 0)
        return cmd_call();
    if (strcmp(cmd, "startup") == 0) {
        if (i >= argc)
            die("startup needs -- CMD");
        return cmd_startup(argv + i);
    }
    die("unknown command %s", cmd);
}
