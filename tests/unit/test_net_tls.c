/* test_net_tls.c: TLS on the HTTP server (src/net/tls.c) with real sockets:
 * a server in the main thread with a development certificate (made with
 * rn_tls_dev_cert_pem, written to files, trusted by the client), and an
 * OpenSSL client in a thread: HTTP/1.1 over TLS (ALPN http/1.1, verified for
 * "localhost"), HTTP/2 over TLS (ALPN h2, nghttp2 client session), cleartext
 * on the same port, the TLS-only listener refusing cleartext, garbage after
 * 0x16, a truncated handshake, a server without TLS closing a ClientHello,
 * the self-signed mode, and GOAWAY on HTTP/2-over-TLS at shutdown. */
#include "net/http.h"
#include "net/tls.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct event_base *base;
static rn_http_server_t *srv, *srv_plain, *srv_self;
static int port, tls_port, plain_port, self_port;
static char cert_path[64], key_path[64];
static atomic_int want_shutdown, client_done, handled;

/* ---- server side ------------------------------------------------------- */

static void handler(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    atomic_fetch_add(&handled, 1);
    uint8_t *body = malloc(req->body_len + 1);
    memcpy(body, req->body, req->body_len);
    rn_http_respond(ex, 200, "text/plain", NULL, 0, body, req->body_len);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    static int shut;
    if (atomic_load(&want_shutdown) && !shut) {
        shut = 1;
        rn_http_server_shutdown(srv);
    }
    if (atomic_load(&client_done) && rn_http_server_idle(srv))
        event_base_loopbreak(base);
}

/* ---- client helpers ------------------------------------------------------ */

static int tcp_connect(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static SSL_CTX *client_ctx(int verify)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (verify) {
        CHECK_EQ_INT(SSL_CTX_load_verify_locations(ctx, cert_path, NULL), 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

/* Connect with ALPN alpn ("\x02h2" style); NULL when the handshake fails. */
static SSL *tls_connect(SSL_CTX *ctx, int p, const char *alpn, size_t alpn_len, int *fd_out)
{
    int fd = tcp_connect(p);
    if (fd < 0)
        return NULL;
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    SSL_set_alpn_protos(ssl, (const unsigned char *)alpn, (unsigned)alpn_len);
    if (SSL_connect(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    *fd_out = fd;
    return ssl;
}

static void check_alpn(SSL *ssl, const char *want)
{
    const unsigned char *p = NULL;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    char got[32] = "";
    snprintf(got, sizeof got, "%.*s", (int)n, p ? (const char *)p : "");
    CHECK_EQ_STR(got, want);
}

/* Read an HTTP/1.1 answer sent with Connection: close until EOF. */
static size_t read_all_tls(SSL *ssl, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        int r = SSL_read(ssl, buf + n, (int)(cap - 1 - n));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

static const char h1_req[] = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                             "Connection: close\r\n\r\nhello";

static void test_h1_tls(SSL_CTX *ctx, int p)
{
    int fd;
    SSL *ssl = tls_connect(ctx, p, "\x08http/1.1", 9, &fd);
    CHECK(ssl != NULL);
    if (!ssl)
        return;
    CHECK_EQ_INT(SSL_get_verify_result(ssl), X509_V_OK);
    check_alpn(ssl, "http/1.1");
    CHECK_EQ_INT(SSL_write(ssl, h1_req, (int)strlen(h1_req)), (int)strlen(h1_req));
    char buf[4096];
    read_all_tls(ssl, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(buf, "\r\n\r\nhello") != NULL);
    /* The server ended with close_notify, not a bare FIN. */
    CHECK(SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
    close(fd);
}

/* ---- HTTP/2 over TLS with an nghttp2 client session ---------------------- */

typedef struct h2c {
    SSL *ssl;
    int status;
    char body[256];
    size_t body_len;
    int closed;
    int goaway;
} h2c_t;

static ssize_t h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    h2c_t *h = ud;
    int r = SSL_write(h->ssl, data, (int)len);
    return r > 0 ? r : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *ud)
{
    h2c_t *h = ud;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        h->status = atoi((const char *)value);
    return 0;
}

static int h2_on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
                      size_t len, void *ud)
{
    h2c_t *h = ud;
    if (h->body_len + len < sizeof h->body) {
        memcpy(h->body + h->body_len, data, len);
        h->body_len += len;
    }
    return 0;
}

static int h2_on_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    ((h2c_t *)ud)->closed = 1;
    return 0;
}

static int h2_on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    if (f->hd.type == NGHTTP2_GOAWAY)
        ((h2c_t *)ud)->goaway = 1;
    return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    memcpy(buf, "hi h2", 5);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 5;
}

/* Pump until cond or EOF. */
static void h2_pump(nghttp2_session *s, h2c_t *h, int *cond)
{
    uint8_t buf[16384];
    while (!*cond) {
        if (nghttp2_session_send(s) != 0)
            break;
        int r = SSL_read(h->ssl, buf, sizeof buf);
        if (r <= 0)
            break;
        if (nghttp2_session_mem_recv(s, buf, (size_t)r) < 0)
            break;
    }
}

static void test_h2_tls(SSL_CTX *ctx, int p, int shutdown_after)
{
    int fd;
    h2c_t h = {0};
    h.ssl = tls_connect(ctx, p, "\x02h2\x08http/1.1", 12, &fd);
    CHECK(h.ssl != NULL);
    if (!h.ssl)
        return;
    check_alpn(h.ssl, "h2");
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, h2_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame);
    nghttp2_session *s;
    nghttp2_session_client_new(&s, cb, &h);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
#define NV(n, v) {(uint8_t *)n, (uint8_t *)v, sizeof n - 1, sizeof v - 1, NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv hdrs[] = {NV(":method", "POST"), NV(":scheme", "https"), NV(":path", "/"),
                         NV(":authority", "localhost")};
    nghttp2_data_provider dp = {.read_callback = body_read};
    CHECK(nghttp2_submit_request(s, NULL, hdrs, 4, &dp, NULL) > 0);
    h2_pump(s, &h, &h.closed);
    CHECK_EQ_INT(h.status, 200);
    CHECK_EQ_INT(h.body_len, 5);
    CHECK(memcmp(h.body, "hi h2", 5) == 0);
    if (shutdown_after) {
        atomic_store(&want_shutdown, 1);
        h2_pump(s, &h, &h.goaway);
        CHECK(h.goaway);
    }
    nghttp2_session_del(s);
    SSL_free(h.ssl);
    close(fd);
}

static void test_cleartext_same_port(int p)
{
    int fd = tcp_connect(p);
    CHECK(fd >= 0);
    CHECK_EQ_INT(send(fd, h1_req, strlen(h1_req), 0), (long)strlen(h1_req));
    char buf[4096];
    size_t n = 0;
    ssize_t r;
    while ((r = recv(fd, buf + n, sizeof buf - 1 - n, 0)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(buf, "\r\n\r\nhello") != NULL);
    close(fd);
}

/* Send bytes, then expect the server to close (EOF or reset) within 5 s,
 * having sent at most a TLS alert. */
static void expect_closed(int p, const void *data, size_t len, int half_close)
{
    int fd = tcp_connect(p);
    CHECK(fd >= 0);
    send(fd, data, len, MSG_NOSIGNAL);
    if (half_close)
        shutdown(fd, SHUT_WR);
    char buf[4096];
    size_t total = 0;
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, 0)) > 0)
        total += (size_t)r;
    CHECK(r == 0 || errno == ECONNRESET);
    CHECK(total < 64); /* nothing but an alert */
    close(fd);
}

static void *client_main(void *arg)
{
    SSL_CTX *ctx = client_ctx(1);
    SSL_CTX *any = client_ctx(0);
    test_h1_tls(ctx, port);     /* same port as cleartext */
    test_h1_tls(ctx, tls_port); /* the TLS-only listener */
    test_h2_tls(ctx, port, 0);
    test_h2_tls(ctx, tls_port, 0);
    test_cleartext_same_port(port);
    /* garbage after 0x16: a record header, then junk */
    static const char junk[] = "\x16\x03\x01\x00\x30" "this is not a client hello at all, no sir....!!";
    expect_closed(port, junk, sizeof junk - 1, 0);
    /* a record header claiming more than a record may hold */
    expect_closed(port, "\x16\x03\x01\xff\xff", 5, 0);
    /* a truncated handshake: the peer leaves half-way */
    expect_closed(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 1);
    /* cleartext on the TLS-only listener */
    expect_closed(tls_port, h1_req, strlen(h1_req), 0);
    /* a ClientHello to a server without TLS is closed */
    int fd;
    SSL *ssl = tls_connect(any, plain_port, "\x02h2", 3, &fd);
    CHECK(ssl == NULL);
    /* --tls-self-signed: handshake works, and the cert is for localhost */
    ssl = tls_connect(any, self_port, "\x08http/1.1", 9, &fd);
    CHECK(ssl != NULL);
    if (ssl) {
        X509 *peer = SSL_get1_peer_certificate(ssl);
        CHECK(peer != NULL);
        CHECK_EQ_INT(X509_check_host(peer, "localhost", 0, 0, NULL), 1);
        CHECK_EQ_INT(X509_check_ip_asc(peer, "127.0.0.1", 0), 1);
        CHECK_EQ_INT(X509_check_ip_asc(peer, "::1", 0), 1);
        X509_free(peer);
        SSL_write(ssl, h1_req, (int)strlen(h1_req));
        char buf[2048];
        read_all_tls(ssl, buf, sizeof buf);
        CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
        SSL_free(ssl);
        close(fd);
    }
    /* the server still works after all that; then GOAWAY over TLS at shutdown */
    test_h2_tls(ctx, port, 1);
    SSL_CTX_free(ctx);
    SSL_CTX_free(any);
    atomic_store(&client_done, 1);
    return NULL;
}

int main(void)
{
    alarm(60);
    char *cert = NULL, *key = NULL;
    CHECK_EQ_INT(rn_tls_dev_cert_pem(30, &cert, &key), 0);
    CHECK(cert && strstr(cert, "BEGIN CERTIFICATE"));
    CHECK(key && strstr(key, "BEGIN PRIVATE KEY"));
    free(cert);
    free(key);
    CHECK(rn_tls_dev_cert_pem(0, &cert, &key) < 0 && cert == NULL);
    snprintf(cert_path, sizeof cert_path, "/tmp/rn-tls-cert-%d.pem", (int)getpid());
    snprintf(key_path, sizeof key_path, "/tmp/rn-tls-key-%d.pem", (int)getpid());
    CHECK(rn_tls_dev_cert_write(30, cert_path, key_path, NULL) == 0);
    free(cert);
    free(key);

    base = event_base_new();
    const char *err = NULL;
    rn_http_config_t cfg = {.listen = "127.0.0.1:0", .handler = handler,
                            .tls_cert_file = cert_path, .tls_key_file = key_path,
                            .tls_listen = "127.0.0.1:0", .tls_bound_port = &tls_port,
                            .read_timeout_ms = 2000};
    CHECK_EQ_INT(rn_http_server_create(&srv, base, &cfg, &port, &err), 0);
    CHECK(port > 0 && tls_port > 0);
    rn_http_config_t pcfg = {.listen = "127.0.0.1:0", .handler = handler};
    CHECK_EQ_INT(rn_http_server_create(&srv_plain, base, &pcfg, &plain_port, &err), 0);
    rn_http_config_t scfg = {.listen = "127.0.0.1:0", .handler = handler, .tls_self_signed = 1};
    CHECK_EQ_INT(rn_http_server_create(&srv_self, base, &scfg, &self_port, &err), 0);
    /* bad configurations */
    rn_http_server_t *bad = NULL;
    rn_http_config_t b1 = {.listen = "127.0.0.1:0", .handler = handler,
                           .tls_cert_file = "/nonexistent.pem"};
    CHECK(rn_http_server_create(&bad, base, &b1, NULL, &err) < 0 && bad == NULL);
    rn_http_config_t b2 = {.listen = "127.0.0.1:0", .handler = handler,
                           .tls_cert_file = cert_path, .tls_key_file = cert_path};
    CHECK(rn_http_server_create(&bad, base, &b2, NULL, &err) < 0 && bad == NULL);
    rn_http_config_t b3 = {.listen = "127.0.0.1:0", .handler = handler, .tls_listen = "127.0.0.1:0"};
    CHECK(rn_http_server_create(&bad, base, &b3, NULL, &err) < 0 && bad == NULL);
    if (!srv || !srv_plain || !srv_self)
        return rn_test_done("test_net_tls");

    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = {0, 2000};
    event_add(tick, &tv);
    pthread_t th;
    pthread_create(&th, NULL, client_main, NULL);
    event_base_dispatch(base);
    pthread_join(th, NULL);
    CHECK(rn_http_server_idle(srv));
    CHECK(atomic_load(&handled) >= 7);
    event_free(tick);
    rn_http_server_destroy(srv);
    rn_http_server_destroy(srv_plain);
    rn_http_server_destroy(srv_self);
    event_base_free(base);
    unlink(cert_path);
    unlink(key_path);
    return rn_test_done("test_net_tls");
}
