/* test_net_server.c: end-to-end tests of the HTTP server (src/net): the
 * server runs on an event loop in the main thread; a client thread drives it
 * over real sockets with raw HTTP/1.1 and with an nghttp2 client session
 * (h2c prior knowledge). Covers keep-alive, pipelining, chunked bodies with
 * Expect: 100-continue, 400/413, HTTP/1.0, asynchronous answers (out of
 * order on HTTP/2), clients that leave before the answer (orphaned
 * exchanges), and graceful shutdown (close idle HTTP/1.1, GOAWAY on h2). */
#include "net/http.h"
#include "net/net_int.h" /* to check that an exchange was orphaned */
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (1024 * 1024)

static struct event_base *base;
static rn_http_server_t *srv;
static int port;

/* shared between the threads */
static atomic_int want_release; /* client: answer the held exchange once the server is idle */
static atomic_int released;
static atomic_int want_shutdown;
static atomic_int shutdown_done;
static atomic_int client_done;
static atomic_int handled;

/* ---- server side (main thread) ------------------------------------------ */

static rn_http_exchange_t *held;
static const rn_http_request_t *held_req;

static void respond_echo(rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    char lenbuf[32];
    snprintf(lenbuf, sizeof lenbuf, "%zu", req->body_len);
    size_t tl = 0;
    const char *t = rn_http_header_get(req, "x-test", &tl);
    rn_http_header_t extra[3] = {
        {"X-Body-Len", 10, lenbuf, strlen(lenbuf)},
        {"X-Echo", 6, t ? t : "", t ? tl : 0},
        {"X-Method-Path", 13, NULL, 0},
    };
    char mp[256];
    snprintf(mp, sizeof mp, "%s %s %s", req->method, req->path, req->authority);
    extra[2].value = mp;
    extra[2].value_len = strlen(mp);
    uint8_t *body = NULL;
    if (req->body_len) {
        body = malloc(req->body_len);
        memcpy(body, req->body, req->body_len);
    }
    rn_http_respond(ex, 200, "application/x-amz-json-1.1", extra, 3, body, req->body_len);
}

typedef struct later {
    rn_http_exchange_t *ex;
    const rn_http_request_t *req;
    struct event *ev;
} later_t;

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
    later_t *l = arg;
    respond_echo(l->ex, l->req); /* req stays valid until the answer */
    event_free(l->ev);
    free(l);
}

static void handler(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    atomic_fetch_add(&handled, 1);
    CHECK(strncmp(req->peer, "127.0.0.1:", 10) == 0);
    CHECK_EQ_INT(strlen(req->request_id), 36);
    CHECK_EQ_INT(req->body[req->body_len], 0);
    size_t n;
    if (rn_http_header_get(req, "x-hold", &n)) {
        CHECK(held == NULL);
        held = ex;
        held_req = req;
        return;
    }
    const char *d = rn_http_header_get(req, "x-async", &n);
    if (d) {
        later_t *l = calloc(1, sizeof *l);
        l->ex = ex;
        l->req = req;
        l->ev = evtimer_new(base, later_cb, l);
        struct timeval tv = {0, 1000 * (atoi(d) % 1000)}; /* ms */
        evtimer_add(l->ev, &tv);
        return;
    }
    respond_echo(ex, req);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    if (atomic_load(&want_release) && held && rn_http_server_idle(srv)) {
        /* The connection is gone: the exchange is orphaned; answering frees it. */
        CHECK(held->conn == NULL);
        CHECK(held->srv == NULL);
        CHECK_EQ_STR((const char *)held_req->body, held_req->http2 ? "abc" : "body");
        uint8_t *body = malloc(5);
        memcpy(body, "late!", 5);
        rn_http_respond(held, 200, "text/plain", NULL, 0, body, 5);
        held = NULL;
        atomic_store(&want_release, 0);
        atomic_store(&released, 1);
    }
    if (atomic_load(&want_shutdown) == 1) {
        atomic_store(&want_shutdown, 2);
        rn_http_server_shutdown(srv);
    }
    if (atomic_load(&want_shutdown) == 2 && held) {
        /* answered after shutdown began: it must still reach the client */
        respond_echo(held, held_req);
        held = NULL;
    }
    if (atomic_load(&want_shutdown) == 2 && rn_http_server_idle(srv))
        atomic_store(&shutdown_done, 1);
    if (atomic_load(&client_done))
        event_base_loopbreak(base);
}

/* ---- client helpers -------------------------------------------------------- */

static int wait_flag(atomic_int *f)
{
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(f))
            return 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int wait_count(atomic_int *f, int n)
{
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(f) >= n)
            return 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int connect_srv(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Abortive close: the server sees a reset, not a FIN. */
static void close_rst(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

typedef struct rbuf {
    char data[1 << 21];
    size_t len;
} rbuf_t;

typedef struct resp {
    int status;
    char head[4096];
    char body[4096];
    size_t body_len;
} resp_t;

/* Header value from a raw response head (case-insensitive name). */
static const char *hget(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = head;
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t l = e ? (size_t)(e - v) : strlen(v);
            if (l >= cap)
                l = cap - 1;
            memcpy(out, v, l);
            out[l] = 0;
            return out;
        }
    }
    return NULL;
}

/* Read one response (status, head, body by Content-Length). 0 on EOF/error. */
static int read_resp(int fd, rbuf_t *b, resp_t *r)
{
    memset(r, 0, sizeof *r);
    for (;;) {
        b->data[b->len] = 0;
        char *e = strstr(b->data, "\r\n\r\n");
        if (e) {
            size_t hl = (size_t)(e - b->data) + 4;
            char cl[32];
            size_t blen = 0;
            memcpy(r->head, b->data, hl < sizeof r->head ? hl : sizeof r->head - 1);
            r->head[hl < sizeof r->head ? hl : sizeof r->head - 1] = 0;
            if (hget(r->head, "content-length", cl, sizeof cl))
                blen = (size_t)atol(cl);
            if (b->len >= hl + blen) {
                r->status = atoi(b->data + 9);
                r->body_len = blen;
                memcpy(r->body, b->data + hl, blen < sizeof r->body ? blen : sizeof r->body - 1);
                memmove(b->data, b->data + hl + blen, b->len - hl - blen);
                b->len -= hl + blen;
                return 1;
            }
        }
        ssize_t n = recv(fd, b->data + b->len, sizeof b->data - 1 - b->len, 0);
        if (n <= 0)
            return 0;
        b->len += (size_t)n;
    }
}

static int peer_closed(int fd, rbuf_t *b)
{
    if (b->len)
        return 0;
    char c;
    return recv(fd, &c, 1, 0) == 0;
}

static void check_common(const resp_t *r)
{
    char v[128];
    CHECK(hget(r->head, "x-amzn-RequestId", v, sizeof v) != NULL);
    CHECK_EQ_INT(strlen(v), 36);
    CHECK_EQ_INT(v[14], '4');
    CHECK(strchr("89ab", v[19]) != NULL); /* RFC 4122 variant */
    for (int i = 0; i < 36; i++) /* lower-case hex in 8-4-4-4-12 groups */
        CHECK((i == 8 || i == 13 || i == 18 || i == 23) ? v[i] == '-'
                                                       : strchr("0123456789abcdef", v[i]) != NULL);
    CHECK(hget(r->head, "x-amz-id-2", v, sizeof v) != NULL);
    CHECK_EQ_INT(strlen(v), 64);
    CHECK_EQ_INT(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"), 64);
    CHECK(hget(r->head, "date", v, sizeof v) != NULL);
    CHECK(strstr(v, " GMT") != NULL);
}

/* ---- HTTP/1.1 scenarios ------------------------------------------------------- */

static rbuf_t rb;

static void test_h1_keepalive(void)
{
    int fd = connect_srv();
    resp_t r;
    char v[128], id1[64];
    rb.len = 0;
    send_str(fd, "POST / HTTP/1.1\r\nHost: localhost\r\nX-Test: one\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);
    check_common(&r);
    CHECK_EQ_STR(hget(r.head, "x-echo", v, sizeof v), "one");
    CHECK_EQ_STR(hget(r.head, "x-body-len", v, sizeof v), "5");
    CHECK_EQ_STR(hget(r.head, "x-method-path", v, sizeof v), "POST / localhost");
    CHECK_EQ_STR(hget(r.head, "content-type", v, sizeof v), "application/x-amz-json-1.1");
    CHECK(hget(r.head, "connection", v, sizeof v) == NULL);
    CHECK_EQ_STR(r.body, "hello");
    hget(r.head, "x-amzn-RequestId", id1, sizeof id1);

    send_str(fd, "POST /two HTTP/1.1\r\nHost: localhost\r\nX-Test: two\r\nContent-Length: 0\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hget(r.head, "x-echo", v, sizeof v), "two");
    CHECK_EQ_STR(hget(r.head, "x-body-len", v, sizeof v), "0");
    CHECK_EQ_STR(hget(r.head, "x-method-path", v, sizeof v), "POST /two localhost");
    CHECK(strcmp(hget(r.head, "x-amzn-RequestId", v, sizeof v), id1) != 0);
    CHECK_EQ_INT(r.body_len, 0);
    close(fd);
}

/* CORS (net/cors.c): a preflight never reaches the handler; answers to a
 * request with Origin carry Allow-Origin and Expose-Headers. */
static void test_h1_cors(void)
{
    int fd = connect_srv();
    resp_t r;
    char v[256];
    rb.len = 0;
    int before = atomic_load(&handled);
    send_str(fd, "OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: http://a.example\r\n"
                 "Access-Control-Request-Method: POST\r\n"
                 "access-control-request-headers: content-type,x-amz-target\r\nContent-Length: 0\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);
    check_common(&r);
    CHECK_EQ_INT(atomic_load(&handled), before);
    CHECK_EQ_INT(r.body_len, 0);
    CHECK_EQ_STR(hget(r.head, "content-length", v, sizeof v), "0");
    CHECK(hget(r.head, "content-type", v, sizeof v) == NULL);
    CHECK_EQ_STR(hget(r.head, "access-control-allow-methods", v, sizeof v), "POST");
    CHECK_EQ_STR(hget(r.head, "access-control-allow-headers", v, sizeof v), "content-type,x-amz-target");
    CHECK_EQ_STR(hget(r.head, "access-control-max-age", v, sizeof v), "172800");
    CHECK_EQ_STR(hget(r.head, "access-control-allow-origin", v, sizeof v), "*");
    CHECK_EQ_STR(hget(r.head, "access-control-expose-headers", v, sizeof v), "X-A,X-B");

    send_str(fd, "POST / HTTP/1.1\r\nHost: localhost\r\norigin: null\r\nX-Test: c\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(atomic_load(&handled), before + 1);
    CHECK_EQ_STR(hget(r.head, "x-echo", v, sizeof v), "c");
    CHECK_EQ_STR(hget(r.head, "access-control-allow-origin", v, sizeof v), "*");
    CHECK_EQ_STR(hget(r.head, "access-control-expose-headers", v, sizeof v), "X-A,X-B");
    CHECK(hget(r.head, "access-control-max-age", v, sizeof v) == NULL);

    /* no Origin: no preflight, no CORS headers */
    send_str(fd, "OPTIONS / HTTP/1.1\r\nHost: localhost\r\nAccess-Control-Request-Method: POST\r\n"
                 "Content-Length: 0\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(atomic_load(&handled), before + 2);
    CHECK_EQ_STR(hget(r.head, "x-method-path", v, sizeof v), "OPTIONS / localhost");
    CHECK(hget(r.head, "access-control-allow-origin", v, sizeof v) == NULL);
    CHECK(hget(r.head, "access-control-allow-methods", v, sizeof v) == NULL);
    close(fd);
}

static void test_h1_pipelined(void)
{
    int fd = connect_srv();
    resp_t r;
    char v[64];
    rb.len = 0;
    /* the first is answered asynchronously: answers must still come in order */
    send_str(fd, "POST / HTTP/1.1\r\nX-Async: 10\r\nX-Test: a\r\nContent-Length: 3\r\n\r\none"
                 "POST / HTTP/1.1\r\nX-Test: b\r\nContent-Length: 3\r\n\r\ntwo"
                 "POST / HTTP/1.1\r\nX-Test: c\r\nContent-Length: 5\r\n\r\nthree");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_STR(hget(r.head, "x-echo", v, sizeof v), "a");
    CHECK_EQ_STR(r.body, "one");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_STR(hget(r.head, "x-echo", v, sizeof v), "b");
    CHECK_EQ_STR(r.body, "two");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_STR(hget(r.head, "x-echo", v, sizeof v), "c");
    CHECK_EQ_STR(r.body, "three");
    close(fd);
}

/* 64 pipelined requests in one send, every 8th answered asynchronously:
 * the answers are batched into few writes but must stay in request order. */
static void test_h1_pipelined_many(void)
{
    int fd = connect_srv();
    resp_t r;
    char v[64], req[256], all[64 * 256];
    size_t len = 0;
    rb.len = 0;
    for (int i = 0; i < 64; i++) {
        int n = snprintf(req, sizeof req,
                         "POST /p%d HTTP/1.1\r\nX-Test: n%d\r\n%sContent-Length: 2\r\n\r\n%02d", i,
                         i, i % 8 == 3 ? "X-Async: 2\r\n" : "", i);
        memcpy(all + len, req, (size_t)n);
        len += (size_t)n;
    }
    send_all(fd, all, len);
    for (int i = 0; i < 64; i++) {
        char want[16], body[8];
        snprintf(want, sizeof want, "n%d", i);
        snprintf(body, sizeof body, "%02d", i);
        CHECK(read_resp(fd, &rb, &r));
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(hget(r.head, "x-echo", v, sizeof v), want);
        CHECK_EQ_STR(r.body, body);
    }
    close(fd);
}

static void test_h1_chunked_continue(void)
{
    int fd = connect_srv();
    resp_t r;
    char v[64];
    rb.len = 0;
    send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                 "Expect: 100-continue\r\n\r\n");
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
    char got[64] = {0};
    size_t n = 0;
    while (n < strlen(cont)) {
        ssize_t k = recv(fd, got + n, strlen(cont) - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    CHECK_EQ_STR(got, cont);
    send_str(fd, "5\r\nhello\r\n");
    send_str(fd, "7;x=y\r\n chunky\r\n0\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hget(r.head, "x-body-len", v, sizeof v), "12");
    CHECK_EQ_STR(r.body, "hello chunky");
    close(fd);
}

static void test_h1_errors(void)
{
    resp_t r;
    char v[256];
    /* 413 before reading the body */
    int fd = connect_srv();
    rb.len = 0;
    send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 413);
    check_common(&r);
    CHECK_EQ_STR(hget(r.head, "content-type", v, sizeof v), "application/x-amz-json-1.1");
    CHECK_EQ_STR(hget(r.head, "connection", v, sizeof v), "close");
    CHECK_EQ_STR(r.body, "{\"__type\":\"SerializationException\",\"message\":\"Request body "
                         "exceeds the limit of 1048576 bytes.\"}");
    CHECK(peer_closed(fd, &rb));
    close(fd);

    /* garbage: 400 and close */
    fd = connect_srv();
    rb.len = 0;
    send_str(fd, "GARBAGE\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 400);
    CHECK(peer_closed(fd, &rb));
    close(fd);

    /* conflicting Content-Length */
    fd = connect_srv();
    rb.len = 0;
    send_str(fd, "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 400);
    CHECK(peer_closed(fd, &rb));
    close(fd);

    /* chunked body over the limit */
    fd = connect_srv();
    rb.len = 0;
    send_str(fd, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 413);
    close(fd);

    /* HTTP/1.0 closes after the answer */
    fd = connect_srv();
    rb.len = 0;
    send_str(fd, "GET /old HTTP/1.0\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hget(r.head, "connection", v, sizeof v), "close");
    CHECK(peer_closed(fd, &rb));
    close(fd);

    /* liveness after all that */
    fd = connect_srv();
    rb.len = 0;
    send_str(fd, "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);
    close(fd);
}

static void test_h1_orphan(void)
{
    int before = atomic_load(&handled);
    int fd = connect_srv();
    send_str(fd, "POST / HTTP/1.1\r\nX-Hold: 1\r\nContent-Length: 4\r\n\r\nbody");
    CHECK(wait_count(&handled, before + 1)); /* dispatched */
    close_rst(fd);
    atomic_store(&released, 0);
    atomic_store(&want_release, 1);
    CHECK(wait_flag(&released));
}

/* ---- HTTP/2 client ------------------------------------------------------------ */

typedef struct h2_stream {
    int32_t id;
    int status;
    char request_id[64];
    char echo[64];
    char *body;
    size_t body_len;
    int closed;
    uint32_t error_code;
    const uint8_t *send;
    size_t send_len, send_off;
} h2_stream_t;

typedef struct h2_client {
    int fd;
    nghttp2_session *s;
    int goaway;
    int eof;
} h2_client_t;

static ssize_t c_send(nghttp2_session *s, const uint8_t *d, size_t n, int fl, void *ud)
{
    h2_client_t *c = ud;
    send_all(c->fd, d, n);
    return (ssize_t)n;
}

static int c_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                    const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st)
        return 0;
    if (nl == 7 && memcmp(name, ":status", 7) == 0)
        st->status = atoi((const char *)value);
    else if (nl == 16 && memcmp(name, "x-amzn-requestid", 16) == 0 && vl < 64)
        memcpy(st->request_id, value, vl);
    else if (nl == 6 && memcmp(name, "x-echo", 6) == 0 && vl < 64)
        memcpy(st->echo, value, vl);
    return 0;
}

static int c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                  void *ud)
{
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st)
        return 0;
    st->body = realloc(st->body, st->body_len + n + 1);
    memcpy(st->body + st->body_len, d, n);
    st->body_len += n;
    st->body[st->body_len] = 0;
    return 0;
}

static int c_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (st) {
        st->closed = 1;
        st->error_code = err;
    }
    return 0;
}

static int c_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    h2_client_t *c = ud;
    if (f->hd.type == NGHTTP2_GOAWAY)
        c->goaway = 1;
    return 0;
}

static ssize_t c_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                           uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    h2_stream_t *st = src->ptr;
    size_t n = st->send_len - st->send_off;
    if (n > len)
        n = len;
    memcpy(buf, st->send + st->send_off, n);
    st->send_off += n;
    if (st->send_off == st->send_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int h2_open(h2_client_t *c)
{
    memset(c, 0, sizeof *c);
    c->fd = connect_srv();
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, c_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, c_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame);
    int rv = nghttp2_session_client_new(&c->s, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 1);
    return rv == 0 && c->fd >= 0 ? 0 : -1;
}

static int32_t h2_post(h2_client_t *c, h2_stream_t *st, const char *extra_name,
                       const char *extra_value, const uint8_t *body, size_t len)
{
    memset(st, 0, sizeof *st);
    st->send = body;
    st->send_len = len;
#define MKNV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv nva[] = {
        MKNV(":method", "POST"),     MKNV(":scheme", "http"),
        MKNV(":path", "/h2path"),    MKNV(":authority", "localhost"),
        MKNV("x-test", extra_value), MKNV(extra_name, "1"),
    };
#undef MKNV
    nghttp2_data_provider prd = {.source = {.ptr = st}, .read_callback = c_read_body};
    st->id = nghttp2_submit_request(c->s, NULL, nva, 6, len ? &prd : NULL, st);
    return st->id;
}

/* Pump until every stream in sts is closed (or the peer goes away). */
static int h2_run(h2_client_t *c, h2_stream_t **sts, int n)
{
    for (int iter = 0; iter < 100000; iter++) {
        if (nghttp2_session_send(c->s) != 0)
            return -1;
        int open = 0;
        for (int i = 0; i < n; i++)
            open += !sts[i]->closed;
        if (!open)
            return 0;
        uint8_t buf[65536];
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r <= 0) {
            c->eof = 1;
            return -1;
        }
        if (nghttp2_session_mem_recv(c->s, buf, (size_t)r) < 0)
            return -1;
    }
    return -1;
}

static void h2_close(h2_client_t *c)
{
    nghttp2_session_del(c->s);
    close(c->fd);
}

static void test_h2_basic(void)
{
    h2_client_t c;
    CHECK_EQ_INT(h2_open(&c), 0);
    h2_stream_t a, b, d;
    h2_stream_t *all[] = {&a, &b, &d};
    /* a is answered 20 ms late, b and d at once: answers leave out of order */
    h2_post(&c, &a, "x-async", "first", (const uint8_t *)"slow body", 9);
    h2_post(&c, &b, "x-none", "second", (const uint8_t *)"hello h2", 8);
    h2_post(&c, &d, "x-none", "third", NULL, 0);
    CHECK_EQ_INT(h2_run(&c, all, 3), 0);
    CHECK_EQ_INT(a.status, 200);
    CHECK_EQ_INT(b.status, 200);
    CHECK_EQ_INT(d.status, 200);
    CHECK_EQ_INT(strlen(a.request_id), 36);
    CHECK_EQ_INT(strlen(b.request_id), 36);
    CHECK(strcmp(a.request_id, b.request_id) != 0);
    CHECK_EQ_STR(a.echo, "first");
    CHECK_EQ_STR(b.echo, "second");
    CHECK_EQ_STR(d.echo, "third");
    CHECK_EQ_STR(a.body, "slow body");
    CHECK_EQ_STR(b.body, "hello h2");
    CHECK_EQ_INT(d.body_len, 0);
    free(a.body);
    free(b.body);
    free(d.body);

    /* a large body both ways: flow control */
    size_t big = 900 * 1024;
    uint8_t *p = malloc(big);
    for (size_t i = 0; i < big; i++)
        p[i] = (uint8_t)(i * 7);
    h2_stream_t e;
    h2_stream_t *one[] = {&e};
    h2_post(&c, &e, "x-none", "big", p, big);
    CHECK_EQ_INT(h2_run(&c, one, 1), 0);
    CHECK_EQ_INT(e.status, 200);
    CHECK_EQ_INT(e.body_len, big);
    CHECK(e.body && memcmp(e.body, p, big) == 0);
    free(e.body);

    /* over the limit: 413 with the AWS body; the connection stays usable */
    size_t huge = MAX_BODY + 100000;
    uint8_t *q = calloc(1, huge);
    h2_stream_t f;
    one[0] = &f;
    h2_post(&c, &f, "x-none", "huge", q, huge);
    CHECK_EQ_INT(h2_run(&c, one, 1), 0);
    CHECK_EQ_INT(f.status, 413);
    CHECK_EQ_INT(strlen(f.request_id), 36);
    CHECK_EQ_STR(f.body, "{\"__type\":\"SerializationException\",\"message\":\"Request body "
                         "exceeds the limit of 1048576 bytes.\"}");
    free(f.body);
    free(q);
    free(p);

    h2_stream_t g;
    one[0] = &g;
    h2_post(&c, &g, "x-none", "after", (const uint8_t *)"still here", 10);
    CHECK_EQ_INT(h2_run(&c, one, 1), 0);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_STR(g.body, "still here");
    free(g.body);
    h2_close(&c);
}

static void test_h2_orphan(void)
{
    h2_client_t c;
    CHECK_EQ_INT(h2_open(&c), 0);
    h2_stream_t a;
    h2_post(&c, &a, "x-hold", "held", (const uint8_t *)"abc", 3);
    int before = atomic_load(&handled);
    nghttp2_session_send(c.s);
    CHECK(wait_count(&handled, before + 1)); /* dispatched */
    h2_close(&c);
    atomic_store(&released, 0);
    atomic_store(&want_release, 1);
    CHECK(wait_flag(&released));
}

static void test_shutdown(void)
{
    /* an idle HTTP/1.1 connection and an HTTP/2 one with a request in flight */
    int fd = connect_srv();
    resp_t r;
    rb.len = 0;
    send_str(fd, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    CHECK(read_resp(fd, &rb, &r));
    CHECK_EQ_INT(r.status, 200);

    h2_client_t c;
    CHECK_EQ_INT(h2_open(&c), 0);
    h2_stream_t a;
    h2_stream_t *one[] = {&a};
    h2_post(&c, &a, "x-hold", "inflight", (const uint8_t *)"xyz", 3);
    int before = atomic_load(&handled);
    nghttp2_session_send(c.s);
    CHECK(wait_count(&handled, before + 1)); /* in flight */
    atomic_store(&want_shutdown, 1);

    /* the in-flight h2 request still gets its answer, then GOAWAY and close */
    CHECK_EQ_INT(h2_run(&c, one, 1), 0);
    CHECK_EQ_INT(a.status, 200);
    CHECK_EQ_STR(a.body, "xyz");
    free(a.body);
    for (int i = 0; i < 100 && !c.eof; i++) {
        uint8_t buf[4096];
        ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        nghttp2_session_mem_recv(c.s, buf, (size_t)n);
    }
    CHECK(c.goaway);
    h2_close(&c);
    CHECK(peer_closed(fd, &rb));
    close(fd);
    CHECK(wait_flag(&shutdown_done));
}

static void *client_main(void *arg)
{
    test_h1_keepalive();
    test_h1_cors();
    test_h1_pipelined();
    test_h1_pipelined_many();
    test_h1_chunked_continue();
    test_h1_errors();
    test_h1_orphan();
    test_h2_basic();
    test_h2_orphan();
    test_shutdown();
    atomic_store(&client_done, 1);
    return NULL;
}

int main(void)
{
    alarm(60);
    base = event_base_new();
    rn_http_config_t cfg = {.listen = "127.0.0.1:0", .max_body = MAX_BODY, .handler = handler,
                            .cors_expose_headers = "X-A,X-B"};
    const char *err = NULL;
    CHECK_EQ_INT(rn_http_server_create(&srv, base, &cfg, &port, &err), 0);
    CHECK(port > 0);
    if (!srv)
        return rn_test_done("test_net_server");

    /* bad configurations */
    rn_http_server_t *bad = NULL;
    rn_http_config_t bcfg = {.listen = "not an address", .handler = handler};
    CHECK(rn_http_server_create(&bad, base, &bcfg, NULL, &err) < 0);
    CHECK(err != NULL);
    CHECK(bad == NULL);

    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = {0, 2000};
    event_add(tick, &tv);
    pthread_t th;
    pthread_create(&th, NULL, client_main, NULL);
    event_base_dispatch(base);
    pthread_join(th, NULL);
    CHECK(rn_http_server_idle(srv));
    CHECK(held == NULL);
    event_free(tick);
    rn_http_server_destroy(srv);
    event_base_free(base);
    return rn_test_done("test_net_server");
}
