/* test_net_timeouts.c: the HTTP server's timeouts and flood limits, with
 * short configured values (idle 200 ms, read 300 ms). The server runs on an
 * event loop in the main thread; a client thread drives it over real
 * sockets. Covers: an idle HTTP/1.1 keep-alive connection is closed; a
 * slowloris head (a header line every 50 ms) gets 408 once the head is older
 * than the read timeout; a stalled body gets 408; a connection that sends
 * nothing is closed; a request held by the application outlives the idle
 * timeout on both protocols (a long HTTP/2 stream is not idle); an idle
 * HTTP/2 connection gets GOAWAY(NO_ERROR) and is closed; a PING flood gets
 * GOAWAY(ENHANCE_YOUR_CALM). Issue 9: a trickled partial preface is closed
 * at the read timeout of the accept; a body trickled faster than the stall
 * timeout but slower than the minimum rate gets 408; a body over the
 * server-wide budget (1 MiB here) gets 503; HTTP/2 answers a zero-window
 * peer never lets out are reset (CANCEL) after the idle timeout and the
 * request held behind them refused (REFUSED_STREAM); an idle connection is
 * closed on demand (rn_http_server_reclaim_idle). Timing checks are lower bounds only (closed no
 * earlier than the timeout) plus a generous upper bound (the 5 s receive
 * timeout of the client socket). */
#include "net/http.h"
#include "tap.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define IDLE_MS 200
#define READ_MS 300

static struct event_base *base;
static rn_http_server_t *srv;
static int port;

static atomic_int client_done;
static atomic_int handled;
static atomic_int want_release; /* answer the held exchange now */
static atomic_int released;
static atomic_int want_reclaim; /* call rn_http_server_reclaim_idle() */
static atomic_int reclaimed;    /* its result + 1 */

/* ---- server side (main thread) -------------------------------------------- */

static rn_http_exchange_t *held;

static void handler(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    atomic_fetch_add(&handled, 1);
    if (rn_http_header_get(req, "x-hold", NULL)) {
        CHECK(held == NULL);
        held = ex;
        return;
    }
    const char *size = rn_http_header_get(req, "x-size", NULL);
    if (size) { /* an answer of that many bytes */
        size_t n = (size_t)atol(size);
        uint8_t *big = malloc(n);
        memset(big, 'b', n);
        rn_http_respond(ex, 200, "text/plain", NULL, 0, big, n);
        return;
    }
    uint8_t *body = malloc(2);
    memcpy(body, "ok", 2);
    rn_http_respond(ex, 200, "text/plain", NULL, 0, body, 2);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    if (atomic_load(&want_release) && held) {
        uint8_t *body = malloc(4);
        memcpy(body, "late", 4);
        rn_http_respond(held, 200, "text/plain", NULL, 0, body, 4);
        held = NULL;
        atomic_store(&want_release, 0);
        atomic_store(&released, 1);
    }
    if (atomic_load(&want_reclaim)) {
        atomic_store(&want_reclaim, 0);
        atomic_store(&reclaimed, rn_http_server_reclaim_idle(srv) + 1);
    }
    if (atomic_load(&client_done))
        event_base_loopbreak(base);
}

/* ---- client helpers -------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int wait_flag(atomic_int *f)
{
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(f))
            return 1;
        sleep_ms(1);
    }
    return 0;
}

static int connect_srv(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Read until EOF (or error/timeout); returns the bytes read, NUL-terminated.
 * *eof is 1 when the peer closed (or reset) rather than the read timing out. */
static size_t read_to_eof(int fd, char *buf, size_t cap, int *eof)
{
    size_t len = 0;
    *eof = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            *eof = 1;
            break;
        }
        if (n < 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    buf[len] = 0;
    return len;
}

/* Count HTTP responses in a raw buffer by their status lines. */
static int count_status(const char *buf, const char *status_line)
{
    int n = 0;
    for (const char *p = buf; (p = strstr(p, status_line)) != NULL; p++)
        n++;
    return n;
}

/* ---- HTTP/1.1 --------------------------------------------------------------- */

static void test_h1_idle(void)
{
    int fd = connect_srv();
    send_str(fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[4096];
    int eof;
    uint64_t t0 = now_ms();
    read_to_eof(fd, buf, sizeof buf, &eof);
    uint64_t waited = now_ms() - t0;
    CHECK(eof);
    CHECK_EQ_INT(count_status(buf, "HTTP/1.1 200 OK\r\n"), 1);
    CHECK(strstr(buf, "\r\n\r\nok") != NULL);
    CHECK(strstr(buf, "Connection: close") == NULL); /* answered as keep-alive */
    CHECK(waited >= IDLE_MS - 20);
    close(fd);
}

static void test_h1_silent(void)
{
    /* connects and sends nothing: closed after the read timeout */
    int fd = connect_srv();
    char buf[256];
    int eof;
    uint64_t t0 = now_ms();
    size_t n = read_to_eof(fd, buf, sizeof buf, &eof);
    CHECK(eof);
    CHECK_EQ_INT(n, 0);
    CHECK(now_ms() - t0 >= READ_MS - 20);
    close(fd);
}

static void test_h1_slowloris(void)
{
    int fd = connect_srv();
    uint64_t t0 = now_ms();
    send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\n");
    /* one header line every 50 ms: each read is recent, but the head as a
     * whole is older than the read timeout after ~6 lines */
    int sent = 0;
    char buf[4096];
    for (sent = 0; sent < 60; sent++) {
        sleep_ms(50);
        struct timeval tv = {0, 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t k = recv(fd, buf, sizeof buf - 1, MSG_PEEK);
        if (k > 0)
            break; /* the server answered */
        send_str(fd, "X-Slow: a\r\n");
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int eof;
    read_to_eof(fd, buf, sizeof buf, &eof);
    CHECK(sent < 60);
    CHECK(now_ms() - t0 >= READ_MS - 20);
    CHECK_EQ_INT(count_status(buf, "HTTP/1.1 408 Request Timeout\r\n"), 1);
    CHECK(strstr(buf, "Connection: close\r\n") != NULL);
    CHECK(eof);
    close(fd);
}

static void test_h1_stalled_body(void)
{
    int fd = connect_srv();
    uint64_t t0 = now_ms();
    int before = atomic_load(&handled);
    send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    char buf[4096];
    int eof;
    read_to_eof(fd, buf, sizeof buf, &eof);
    CHECK(eof);
    CHECK(now_ms() - t0 >= READ_MS - 20);
    CHECK_EQ_INT(count_status(buf, "HTTP/1.1 408 Request Timeout\r\n"), 1);
    CHECK_EQ_INT(atomic_load(&handled), before); /* never reached the handler */
    close(fd);
}

static void test_h1_held(void)
{
    /* the application takes longer than the idle timeout: not a timeout */
    int fd = connect_srv();
    int before = atomic_load(&handled);
    send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nX-Hold: 1\r\nContent-Length: 0\r\n\r\n");
    for (int i = 0; i < 5000 && atomic_load(&handled) == before; i++)
        sleep_ms(1);
    sleep_ms(3 * IDLE_MS);
    atomic_store(&released, 0);
    atomic_store(&want_release, 1);
    CHECK(wait_flag(&released));
    char buf[4096];
    int eof;
    read_to_eof(fd, buf, sizeof buf, &eof); /* the answer, then the idle close */
    CHECK_EQ_INT(count_status(buf, "HTTP/1.1 200 OK\r\n"), 1);
    CHECK(strstr(buf, "\r\n\r\nlate") != NULL);
    CHECK(eof);
    close(fd);
}

static void test_h1_body_rate(void)
{
    /* a byte every 100 ms: never a stall of READ_MS, but 10 bytes/s */
    int fd = connect_srv();
    uint64_t t0 = now_ms();
    send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n");
    char buf[4096];
    int answered = 0;
    for (int i = 0; i < 40 && !answered; i++) {
        sleep_ms(100);
        struct timeval tv = {0, 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        answered = recv(fd, buf, sizeof buf - 1, MSG_PEEK) > 0;
        if (!answered)
            send_str(fd, "x");
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int eof;
    read_to_eof(fd, buf, sizeof buf, &eof);
    uint64_t ms = now_ms() - t0;
    CHECK(answered);
    CHECK_EQ_INT(count_status(buf, "HTTP/1.1 408 Request Timeout\r\n"), 1);
    CHECK(ms >= READ_MS - 20);
    CHECK(ms < 4 * READ_MS);
    close(fd);
}

static void test_h1_budget(void)
{
    /* 2 MiB announced, 1 MiB server-wide budget: 503 before the body */
    int fd = connect_srv();
    int before = atomic_load(&handled);
    send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2097152\r\n\r\n");
    char buf[4096];
    int eof;
    read_to_eof(fd, buf, sizeof buf, &eof);
    CHECK_EQ_INT(count_status(buf, "HTTP/1.1 503 Service Unavailable\r\n"), 1);
    CHECK(strstr(buf, "{\"__type\":\"ServiceUnavailable\"") != NULL);
    CHECK(eof);
    CHECK_EQ_INT(atomic_load(&handled), before);
    close(fd);
    /* the budget is given back: 512 KiB bodies pass, one after another */
    static char body[512 * 1024];
    memset(body, 'a', sizeof body);
    for (int i = 0; i < 3; i++) {
        fd = connect_srv();
        send_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
                     "Content-Length: 524288\r\n\r\n");
        size_t off = 0;
        while (off < sizeof body) {
            ssize_t w = send(fd, body + off, sizeof body - off, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        read_to_eof(fd, buf, sizeof buf, &eof);
        CHECK_EQ_INT(count_status(buf, "HTTP/1.1 200 OK\r\n"), 1);
        close(fd);
    }
}

static void test_preface_trickle(void)
{
    /* 23 bytes of the HTTP/2 preface, one every 50 ms (1.15 s): closed at
     * the read timeout of the accept, not kept alive by each byte */
    const char *pre = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r";
    int fd = connect_srv();
    uint64_t t0 = now_ms();
    int closed = 0;
    for (size_t i = 0; i < strlen(pre) && !closed; i++) {
        if (send(fd, pre + i, 1, MSG_NOSIGNAL) != 1)
            closed = 1;
        sleep_ms(50);
        char b;
        struct timeval tv = {0, 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t k = recv(fd, &b, 1, MSG_PEEK);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            closed = 1;
    }
    uint64_t ms = now_ms() - t0;
    CHECK(closed);
    CHECK(ms >= READ_MS - 20);
    CHECK(ms < 3 * READ_MS);
    close(fd);
}

static void test_reclaim(void)
{
    /* an idle keep-alive connection is closed on demand */
    int fd = connect_srv();
    send_str(fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[4096];
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    CHECK(n > 0);
    atomic_store(&reclaimed, 0);
    atomic_store(&want_reclaim, 1);
    for (int i = 0; i < 5000 && !atomic_load(&reclaimed); i++)
        sleep_ms(1);
    CHECK_EQ_INT(atomic_load(&reclaimed), 2); /* returned 1 */
    uint64_t t0 = now_ms();
    int eof;
    read_to_eof(fd, buf, sizeof buf, &eof);
    CHECK(eof);
    CHECK(now_ms() - t0 < IDLE_MS / 2); /* at once, not at the idle timeout */
    close(fd);
    /* nothing idle left: 0 */
    atomic_store(&reclaimed, 0);
    atomic_store(&want_reclaim, 1);
    for (int i = 0; i < 5000 && !atomic_load(&reclaimed); i++)
        sleep_ms(1);
    CHECK_EQ_INT(atomic_load(&reclaimed), 1);
}

/* ---- HTTP/2 ------------------------------------------------------------------- */

typedef struct h2c {
    int fd;
    nghttp2_session *s;
    int goaway;
    uint32_t goaway_error;
    int eof;
    int status;
    char body[64];
    int closed;
    int n_closed;
    uint32_t close_err[8];
} h2c_t;

static ssize_t c_send(nghttp2_session *s, const uint8_t *d, size_t n, int fl, void *ud)
{
    h2c_t *c = ud;
    ssize_t w = send(c->fd, d, n, MSG_NOSIGNAL);
    return w < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : w;
}

static int c_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                    const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    h2c_t *c = ud;
    if (nl == 7 && memcmp(name, ":status", 7) == 0)
        c->status = atoi((const char *)value);
    return 0;
}

static int c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                  void *ud)
{
    h2c_t *c = ud;
    size_t have = strlen(c->body);
    if (have + n < sizeof c->body)
        memcpy(c->body + have, d, n);
    return 0;
}

static int c_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    h2c_t *c = ud;
    c->closed = 1;
    if (c->n_closed < 8)
        c->close_err[c->n_closed] = err;
    c->n_closed++;
    return 0;
}

static int c_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    h2c_t *c = ud;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = 1;
        c->goaway_error = f->goaway.error_code;
    }
    return 0;
}

static void h2_open(h2c_t *c)
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
    nghttp2_session_client_new(&c->s, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0);
}

static void h2_get(h2c_t *c, int hold)
{
#define MKNV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv nva[] = {MKNV(":method", "GET"), MKNV(":scheme", "http"), MKNV(":path", "/"),
                        MKNV(":authority", "h"), MKNV("x-hold", "1")};
#undef MKNV
    c->closed = 0;
    c->status = 0;
    c->body[0] = 0;
    nghttp2_submit_request(c->s, NULL, nva, hold ? 5 : 4, NULL, NULL);
}

/* Pump until the stream closes (stream) or the peer closes (EOF). */
static void h2_pump(h2c_t *c, int until_eof)
{
    for (int i = 0; i < 10000; i++) {
        nghttp2_session_send(c->s);
        if (!until_eof && c->closed)
            return;
        uint8_t buf[16384];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            c->eof = n == 0 || errno == ECONNRESET;
            return;
        }
        nghttp2_session_mem_recv(c->s, buf, (size_t)n);
    }
}

static void test_h2_idle(void)
{
    h2c_t c;
    h2_open(&c);
    h2_get(&c, 0);
    h2_pump(&c, 0);
    CHECK(c.closed);
    CHECK_EQ_INT(c.status, 200);
    CHECK_EQ_STR(c.body, "ok");
    uint64_t t0 = now_ms();
    h2_pump(&c, 1);
    CHECK(c.eof);
    CHECK(c.goaway);
    CHECK_EQ_INT(c.goaway_error, NGHTTP2_NO_ERROR);
    CHECK(now_ms() - t0 >= IDLE_MS - 20);
    nghttp2_session_del(c.s);
    close(c.fd);
}

static void test_h2_long_stream(void)
{
    /* a stream open longer than the idle timeout keeps the connection */
    h2c_t c;
    h2_open(&c);
    int before = atomic_load(&handled);
    h2_get(&c, 1);
    nghttp2_session_send(c.s);
    for (int i = 0; i < 5000 && atomic_load(&handled) == before; i++)
        sleep_ms(1);
    sleep_ms(3 * IDLE_MS);
    atomic_store(&released, 0);
    atomic_store(&want_release, 1);
    CHECK(wait_flag(&released));
    h2_pump(&c, 0);
    CHECK(c.closed);
    CHECK(!c.goaway);
    CHECK_EQ_INT(c.status, 200);
    CHECK_EQ_STR(c.body, "late");
    /* and then it is idle */
    h2_pump(&c, 1);
    CHECK(c.goaway);
    CHECK(c.eof);
    nghttp2_session_del(c.s);
    close(c.fd);
}

static void test_h2_zero_window(void)
{
    /* SETTINGS_INITIAL_WINDOW_SIZE 0 and three 10 MiB answers: one is
     * made; the others wait (this server's max_buffered_bytes, 1 MiB, is
     * also the server-wide figure for unsent answers, and this connection
     * is behind); none can leave: after the idle timeout the answer is
     * reset (CANCEL) and the two waiting requests refused */
    h2c_t c;
    memset(&c, 0, sizeof c);
    c.fd = connect_srv();
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, c_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, c_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame);
    nghttp2_session_client_new(&c.s, cb, &c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0};
    nghttp2_submit_settings(c.s, NGHTTP2_FLAG_NONE, &iv, 1);
    int before = atomic_load(&handled);
#define MKNV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv nva[] = {MKNV(":method", "GET"), MKNV(":scheme", "http"), MKNV(":path", "/"),
                        MKNV(":authority", "h"), MKNV("x-size", "10485760")};
#undef MKNV
    for (int i = 0; i < 3; i++)
        nghttp2_submit_request(c.s, NULL, nva, 5, NULL, NULL);
    uint64_t t0 = now_ms();
    for (int i = 0; i < 10000 && c.n_closed < 3; i++) {
        nghttp2_session_send(c.s);
        uint8_t buf[16384];
        ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        nghttp2_session_mem_recv(c.s, buf, (size_t)n);
    }
    CHECK_EQ_INT(c.n_closed, 3);
    CHECK(now_ms() - t0 >= IDLE_MS - 20);
    CHECK_EQ_INT(atomic_load(&handled) - before, 1);
    int cancel = 0, refused = 0;
    for (int i = 0; i < 3; i++) {
        cancel += c.close_err[i] == NGHTTP2_CANCEL;
        refused += c.close_err[i] == NGHTTP2_REFUSED_STREAM;
    }
    CHECK_EQ_INT(cancel, 1);
    CHECK_EQ_INT(refused, 2);
    nghttp2_session_del(c.s);
    close(c.fd);
}

static void test_h2_ping_flood(void)
{
    h2c_t c;
    h2_open(&c);
    for (int i = 0; i < 3000; i++)
        nghttp2_submit_ping(c.s, NGHTTP2_FLAG_NONE, NULL);
    h2_pump(&c, 1);
    CHECK(c.goaway);
    CHECK_EQ_INT(c.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(c.eof);
    nghttp2_session_del(c.s);
    close(c.fd);

    /* the server is still there */
    h2_open(&c);
    h2_get(&c, 0);
    h2_pump(&c, 0);
    CHECK_EQ_INT(c.status, 200);
    nghttp2_session_del(c.s);
    close(c.fd);
}

static void *client_main(void *arg)
{
    test_h1_idle();
    test_h1_silent();
    test_h1_slowloris();
    test_h1_stalled_body();
    test_h1_held();
    test_h2_idle();
    test_h2_long_stream();
    test_h2_ping_flood();
    test_h1_body_rate();
    test_h1_budget();
    test_preface_trickle();
    test_reclaim();
    test_h2_zero_window();
    atomic_store(&client_done, 1);
    return NULL;
}

int main(void)
{
    alarm(60);
    base = event_base_new();
    rn_http_config_t cfg = {.listen = "127.0.0.1:0",
                            .handler = handler,
                            .idle_timeout_ms = IDLE_MS,
                            .read_timeout_ms = READ_MS,
                            .max_buffered_bytes = 1024 * 1024};
    const char *err = NULL;
    CHECK_EQ_INT(rn_http_server_create(&srv, base, &cfg, &port, &err), 0);
    if (!srv)
        return rn_test_done("test_net_timeouts");
    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = {0, 2000};
    event_add(tick, &tv);
    pthread_t th;
    pthread_create(&th, NULL, client_main, NULL);
    event_base_dispatch(base);
    pthread_join(th, NULL);
    CHECK(held == NULL);
    event_free(tick);
    rn_http_server_destroy(srv);
    event_base_free(base);
    return rn_test_done("test_net_timeouts");
}
