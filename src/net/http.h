/* http.h: runnel's HTTP server: HTTP/1.1 and HTTP/2 (h2c, prior knowledge)
 * on one listening socket, on libevent + nghttp2. Knows nothing of Kinesis.
 *
 * A request is handed to the application once its body is complete, as an
 * rn_http_exchange_t. The application answers it exactly once with
 * rn_http_respond(), now or later (from the loop thread). If the connection
 * goes away first, the exchange stays valid until it is answered; the
 * answer is then dropped and the exchange freed. So the application never
 * needs to know whether the peer is still there.
 *
 * Limits: request bodies up to cfg->max_body (16 MiB by default); larger
 * ones get a 413 with an AWS-shaped JSON body before the body is read.
 * Every response carries x-amzn-RequestId (a UUID made per exchange), Date,
 * and Content-Length (HTTP/1.1) or END_STREAM (HTTP/2).
 *
 * TLS: the connection layer reads through an rn_conn abstraction so that a
 * later issue can put OpenSSL under it (first byte 0x16) without touching
 * the HTTP code.
 */
#ifndef RN_HTTP_H
#define RN_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct event_base;

typedef struct rn_http_server rn_http_server_t;
typedef struct rn_http_exchange rn_http_exchange_t;

typedef struct rn_http_header {
    const char *name; /* lower-case for HTTP/2; as received for HTTP/1.1 */
    size_t name_len;
    const char *value;
    size_t value_len;
} rn_http_header_t;

/* What the application sees of a request. All pointers stay valid until the
 * exchange is answered. body is followed by a NUL byte (not counted). */
typedef struct rn_http_request {
    const char *method;        /* "POST" */
    const char *path;          /* "/" (with any query string) */
    const char *authority;     /* Host or :authority, "" if absent */
    const rn_http_header_t *headers; /* regular headers (no pseudo-headers) */
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    int http2;                 /* 1 for HTTP/2, 0 for HTTP/1.1 */
    const char *request_id;    /* the x-amzn-RequestId this exchange will carry */
    const char *peer;          /* "127.0.0.1:54321" */
    int tls;                   /* 1 when the connection is TLS */
} rn_http_request_t;

/* Case-insensitive lookup of a request header; NULL when absent.
 * *len gets the value length when len is non-NULL. */
const char *rn_http_header_get(const rn_http_request_t *req, const char *name, size_t *len);

typedef void (*rn_http_handler_fn)(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req);

typedef struct rn_http_config {
    const char *listen;        /* "127.0.0.1:4567", "[::1]:0" */
    size_t max_body;           /* 0 means 16 MiB */
    rn_http_handler_fn handler;
    void *handler_ud;
    /* Timeouts in milliseconds; 0 means the default.
     * idle_timeout_ms (300 s): an HTTP/1.1 connection between requests, or an
     *   HTTP/2 connection with no open stream (closed with GOAWAY). Streams
     *   the application holds open (long answers) are never timed out.
     * read_timeout_ms (60 s): a request head must be complete this long after
     *   its first byte; a request body (or an HTTP/2 request still being
     *   received) must not stall longer; output the peer does not read must
     *   not stall longer. HTTP/1.1 gets 408 and the connection closes. */
    unsigned idle_timeout_ms;
    unsigned read_timeout_ms;
    /* Resource bounds; 0 means the default.
     * max_connections: connections served at once; at the limit the
     *   listener stops accepting (new clients wait in the backlog) until one
     *   closes. Default: RLIMIT_NOFILE minus a reserve for segments and the
     *   store's other files (util/fdlimit.h: a quarter of the first 4096, at
     *   least 32, and half of the rest).
     * max_buffered_bytes (256 MiB): request body bytes buffered server-wide
     *   (a Content-Length body counts in full when its head arrives); a
     *   request that would go over gets 503 (ServiceUnavailable JSON) and,
     *   on HTTP/1.1, the connection closes.
     * min_body_rate (1024 bytes/s): once a request body (HTTP/2: a request)
     *   has been arriving for read_timeout_ms its average rate must stay at
     *   or above this, else it is timed out like a stalled one. */
    size_t max_connections;
    size_t max_buffered_bytes;
    size_t min_body_rate;
    /* TLS (OpenSSL, ALPN h2 and http/1.1); all zero means off, and a TLS
     * ClientHello is then answered by closing the connection. With a
     * certificate, TLS is served on `listen` too (a first byte of 0x16 starts
     * a handshake; anything else is cleartext), and on tls_listen (TLS only)
     * when that is set. tls_cert_file/tls_key_file: PEM files (the cert file
     * may hold a chain). tls_self_signed: make an EC P-256 certificate for
     * localhost, 127.0.0.1 and ::1 in memory at start-up (used when no files
     * are given). tls_bound_port, when non-NULL, receives tls_listen's port. */
    const char *tls_cert_file;
    const char *tls_key_file;
    int tls_self_signed;
    const char *tls_listen;
    int *tls_bound_port;
    /* CORS (net/cors.c, docs/net.md): when set, a request with an Origin
     * header is answered with Access-Control-Allow-Origin: * and this value as
     * Access-Control-Expose-Headers, and a preflight (OPTIONS with Origin) is
     * answered 200 by the server itself, never reaching the handler. NULL: off. */
    const char *cors_expose_headers;
} rn_http_config_t;

/* Bind and listen. *bound_port gets the actual port (useful with port 0).
 * Returns 0 or a negative RN_E* code, *errmsg a static reason. */
int rn_http_server_create(rn_http_server_t **out, struct event_base *base,
                          const rn_http_config_t *cfg, int *bound_port, const char **errmsg);

/* Stop accepting; finish in-flight exchanges; send GOAWAY on HTTP/2
 * connections and close idle ones. Returns at once; rn_http_server_idle()
 * says when every connection is gone. */
void rn_http_server_shutdown(rn_http_server_t *srv);
int rn_http_server_idle(const rn_http_server_t *srv);
void rn_http_server_destroy(rn_http_server_t *srv);

/* Close the idle connection (no request in progress or in flight) that has
 * been idle longest: its file descriptor now, the rest later from the loop.
 * Returns 1 if it closed one, 0 if no connection is idle. For a caller that
 * got EMFILE/ENFILE and wants to retry. */
int rn_http_server_reclaim_idle(rn_http_server_t *srv);

/* What the server holds now (loop thread). */
typedef struct rn_http_stats {
    size_t connections, max_connections;
    uint64_t accepted;                   /* ever */
    size_t buffered_bytes, max_buffered_bytes; /* request bytes held (the budget) */
    size_t h2_out_bytes;                 /* HTTP/2 answer bytes queued */
} rn_http_stats_t;
void rn_http_server_stats(const rn_http_server_t *srv, rn_http_stats_t *st);
/* The same, appended to out as Prometheus text (GET /metrics): 0 or RN_ENOMEM. */
int rn_http_server_metrics(const rn_http_server_t *srv, rn_buf_t *out);

/* Answer an exchange exactly once. The headers are copied; body ownership
 * passes to the server (it will free() it); body may be NULL when len is 0.
 * content_type may be NULL (no Content-Type header). */
void rn_http_respond(rn_http_exchange_t *ex, int status, const char *content_type,
                     const rn_http_header_t *extra, size_t n_extra, uint8_t *body, size_t len);

/* rn_http_respond with a copy of text[0..len) as the body, no extra headers. */
void rn_http_respond_copy(rn_http_exchange_t *ex, int status, const char *content_type, const char *text,
                          size_t len);

/* GET or HEAD of /health/live (200) or /health/ready (200 when ready, else
 * 503), a JSON status body, Cache-Control: no-store: answered, 1; any other
 * request, 0 (health.c). */
int rn_http_health(rn_http_exchange_t *ex, const rn_http_request_t *req, int ready);

/* GET or HEAD of /console, /console/ (the page) or /console/<file> (its
 * assets): the web console embedded in the binary (console.c, net/console.h),
 * 200 with its Content-Type, Cache-Control: no-cache, nosniff and a
 * same-origin-only Content-Security-Policy; a file it does not have, 404:
 * answered, 1; any other request, 0. */
int rn_http_console(rn_http_exchange_t *ex, const rn_http_request_t *req);

/* ---- streaming responses (HTTP/2 and HTTP/1.1) ----------------------------
 * For answers that run long (SubscribeToShard's event stream): headers now,
 * DATA as the application pushes it, END_STREAM when it ends. Instead of
 * rn_http_respond():
 *   rn_http_stream_start() sends the status and headers (no content-length)
 *     and returns 0; on an orphaned (or closing) exchange it returns -1 and
 *     the exchange is still to be answered with rn_http_respond(). HTTP/1.1
 *     answers with Transfer-Encoding: chunked (HTTP/1.0: a body to the
 *     close); the application does not see the difference.
 *   rn_http_stream_push() queues bytes (copied). Memory is bounded by the
 *     application: push only while rn_http_stream_queued() is below what it
 *     is willing to hold; bytes leave as the peer's HTTP/2 flow-control
 *     window (HTTP/1.1: the TCP socket) allows. When the queue drains
 *     below RN_HTTP_STREAM_LOW after having been at or above it,
 *     fn(ud, RN_HTTP_STREAM_WRITABLE) runs.
 *   rn_http_stream_end() ends the stream after the queued bytes and gives
 *     the exchange back: the application must not touch ex afterwards. It
 *     must be called exactly once, also after RN_HTTP_STREAM_CLOSED.
 * fn(ud, RN_HTTP_STREAM_CLOSED) runs once if the peer resets the stream or
 * the connection goes; pushes then do nothing. fn runs from inside the
 * HTTP layer: it should only note the event and defer work (event_active);
 * it must not call rn_http_stream_* itself. An open stream is never idle
 * (the idle timeout does not apply; output the peer does not read for the
 * read timeout ends it); on server shutdown the connection sends GOAWAY
 * (HTTP/1.1: Connection: close after the stream) and waits for the
 * application to end its streams. */
#define RN_HTTP_STREAM_WRITABLE 1
#define RN_HTTP_STREAM_CLOSED 2
#define RN_HTTP_STREAM_LOW ((size_t)64 * 1024)
typedef void (*rn_http_stream_fn)(void *ud, int event);
int rn_http_stream_start(rn_http_exchange_t *ex, int status, const char *content_type,
                         rn_http_stream_fn fn, void *ud);
void rn_http_stream_push(rn_http_exchange_t *ex, const uint8_t *p, size_t n);
size_t rn_http_stream_queued(const rn_http_exchange_t *ex);
void rn_http_stream_end(rn_http_exchange_t *ex);

#endif
