/* net_int.h: shared internals of src/net (the server, connections,
 * exchanges, the HTTP/1.1 and HTTP/2 engines). Only the .c files of src/net include it.
 *
 * Ownership in one paragraph: the server owns its connections (a list);
 * a connection owns the exchanges it is reading or that are in flight on it
 * (h1: at most one; h2: one per open stream, as nghttp2 stream user data).
 * When a connection dies, exchanges already handed to the application are
 * "orphaned" (conn == NULL, srv == NULL) and freed by rn_http_respond();
 * the others are freed with the connection. Connections are freed only from
 * top-level libevent callbacks (rn_conn_close_soon() defers), so no code on
 * the stack ever sees its connection vanish.
 */
#ifndef RN_NET_INT_H
#define RN_NET_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "net/h1_parse.h"
#include "net/http.h"
#include "util/buf.h"

struct evbuffer;
struct evconnlistener;
struct event;
struct nghttp2_session;
struct rn_tls_conn;
struct ssl_ctx_st;

#define RN_NET_DEFAULT_MAX_BODY ((size_t)16 * 1024 * 1024)
#define RN_NET_MAX_HEADERS RN_H1_MAX_HEADERS
#define RN_NET_MAX_HEAD_BYTES RN_H1_MAX_HEAD_BYTES
#define RN_NET_MAX_RESP_HEADERS 64 /* extra headers kept in one answer */
#define RN_NET_OUT_HIGH ((size_t)4 * 1024 * 1024) /* stop producing output above */
#define RN_NET_OUT_LOW ((size_t)1 * 1024 * 1024)  /* resume below */
#define RN_NET_IN_HIGH ((size_t)256 * 1024)       /* unread input: stop reading above */
#define RN_NET_READ_MAX ((size_t)64 * 1024)      /* bytes asked for by one read */
#define RN_NET_DEFAULT_IDLE_MS 300000            /* idle keep-alive / h2 without streams */
#define RN_NET_DEFAULT_READ_MS 60000             /* stalled request head, body or output */
#define RN_NET_H2_MAX_STREAMS 100
#define RN_NET_H2_WINDOW (16 * 1024 * 1024)
/* Bodies buffered at once on one HTTP/2 connection, across its streams. */
#define RN_NET_H2_CONN_BODY_MAX ((size_t)64 * 1024 * 1024)
#define RN_NET_EX_CACHE 256 /* exchanges kept for reuse per server */
/* Unsent HTTP/2 response bytes on one connection (response bodies not yet in
 * DATA frames plus streaming queues): at or above this, completed requests
 * wait (are not dispatched) until the output drains below it. */
#define RN_NET_H2_OUT_BUDGET ((size_t)16 * 1024 * 1024)
/* Request bytes buffered server-wide (reserved from Content-Length or
 * received), cfg->max_buffered_bytes; beyond it: 503. */
#define RN_NET_DEFAULT_MAX_BUFFERED ((size_t)256 * 1024 * 1024)
/* Minimum average rate of a request body (bytes/s) once it has been arriving
 * for the read timeout; cfg->min_body_rate. */
#define RN_NET_DEFAULT_MIN_BODY_RATE 1024
/* Connections when cfg->max_connections is 0: the fd limit minus a reserve
 * for segments and the store's other files (util/fdlimit.h, shared with the
 * store's open-file cap). */
/* accept() failing for lack of fds (or memory): stop accepting this long. */
#define RN_NET_ACCEPT_BACKOFF_MS 250
/* One warning per this interval for accept failures (and for 503s of the
 * body budget), with a count. */
#define RN_NET_ACCEPT_WARN_MS 10000

typedef enum { RN_NET_PROTO_UNKNOWN = 0, RN_NET_PROTO_H1, RN_NET_PROTO_H2 } rn_net_proto_t;

typedef struct rn_conn rn_conn_t;

/* The transport under a connection: a plain socket now; TLS later replaces
 * it (conn_start_tls() in http_server.c) without the HTTP engines noticing.
 * read: move what the transport has into c->in (at most max bytes); returns
 *   the number of bytes added, 0 at EOF, -1 with errno (EAGAIN: nothing yet).
 * write: move as much of c->out as the transport takes; returns the number
 *   of bytes written (may be 0), -1 with errno (EAGAIN: full). */
typedef struct rn_conn_io {
    long (*read)(rn_conn_t *c, size_t max);
    long (*write)(rn_conn_t *c);
} rn_conn_io_t;

/* What the timer should do for a connection in its current state. */
typedef enum {
    RN_NET_TMO_NONE = 0, /* nothing to time (a request is with the application) */
    RN_NET_TMO_IDLE,     /* idle: close after the idle timeout */
    RN_NET_TMO_READ,     /* a request is partly read: close after the read timeout */
    RN_NET_TMO_OUTPUT,   /* h2: a stream's answer made no progress: reset it after the
                            idle timeout (rn_h2_on_output_timeout) */
} rn_net_tmo_t;

struct rn_http_exchange {
    rn_http_request_t req;          /* what the handler sees */
    rn_conn_t *conn;                /* NULL once orphaned */
    rn_http_server_t *srv;          /* NULL once orphaned */
    rn_http_exchange_t *prev, *next; /* on conn->exchanges (h2) */
    int32_t stream_id;              /* h2 */
    unsigned dispatched : 1;        /* handed to the handler */
    unsigned answered : 1;          /* rn_http_respond() called (or 413 sent) */
    unsigned too_big : 1;           /* h2: body over the limit, data dropped */
    unsigned hdr_error : 1;         /* h2: header limits exceeded */
    unsigned keep_alive : 1;        /* h1 */
    unsigned minor : 1;             /* h1: HTTP/1.<minor> */
    unsigned linked : 1;            /* on conn->exchanges */
    unsigned held : 1;              /* h2: complete, waiting for the output budget */
    unsigned cors : 1;              /* the request had an Origin header (cors.c) */
    uint64_t start_ms;              /* h1: body started; h2: HEADERS began (body rate) */
    size_t charged;                 /* bytes counted in srv->buffered for this body */
    uint64_t out_since;             /* h2: answer bytes pending since / last DATA sent; 0 none */
    char request_id[40];
    char peer[64];
    rn_buf_t head;                  /* h1: copy of the request head; h2: header bytes */
    rn_buf_t body;                  /* request body, NUL-terminated */
    rn_http_header_t headers[RN_NET_MAX_HEADERS];
    /* h2 header offsets into head until dispatch (head may move as it grows) */
    size_t method_off, path_off, authority_off, host_off;
    int has_method, has_path, has_authority, has_host;
    /* h2 response body being sent */
    uint8_t *resp_body;
    size_t resp_len, resp_off;
    /* h2 streaming response (rn_http_stream_*) */
    struct evbuffer *sq;            /* bytes pushed, not yet in DATA frames */
    rn_http_stream_fn stream_fn;
    void *stream_ud;
    unsigned streaming : 1;         /* started; answered is set by rn_http_stream_end */
    unsigned stream_ending : 1;     /* END_STREAM after sq drains */
    unsigned stream_deferred : 1;   /* nghttp2 waits for data (NGHTTP2_ERR_DEFERRED) */
    unsigned stream_high : 1;       /* sq reached RN_HTTP_STREAM_LOW: tell when below */
    unsigned stream_closed : 1;     /* RN_HTTP_STREAM_CLOSED delivered */
    unsigned stream_chunked : 1;    /* h1: chunked body (HTTP/1.1); else close-delimited (1.0) */
};

typedef struct rn_h1_state {
    int state;                      /* RN_H1_S_* in http_h1.c */
    rn_http_exchange_t *ex;         /* request being read or in flight */
    rn_h1_chunked_t chunked;
    uint64_t body_left;             /* Content-Length bytes still to read */
    int in_process;                 /* inside rn_h1_process(): no recursion */
    int read_eof;                   /* peer half-closed; finish, then close */
} rn_h1_state_t;

struct rn_conn {
    rn_http_server_t *srv;
    int fd;
    const rn_conn_io_t *io;         /* transport: plain socket or TLS (tls.c) */
    struct rn_tls_conn *tls;        /* TLS state once a ClientHello came; else NULL */
    int tls_only;                   /* accepted on the --tls-listen socket */
    struct evbuffer *in, *out;      /* unread input; output not yet written */
    struct event *read_ev;          /* EV_READ|EV_PERSIST, added while reading */
    struct event *write_ev;         /* EV_WRITE, added only while the socket is full */
    struct event *flush_ev;         /* write output produced outside our callbacks */
    struct event *timer_ev;         /* timeouts (see conn_timer_cb) */
    struct event *kill_ev;          /* deferred free */
    rn_conn_t *prev, *next;         /* on srv->conns */
    rn_net_proto_t proto;
    int closing;                    /* free once output is flushed */
    int linger;                     /* half-close and drain input before freeing */
    int lingering;                  /* doing that now */
    int out_blocked;                /* output over RN_NET_OUT_HIGH: reading paused */
    int reading;                    /* read_ev is added */
    int read_eof;                   /* the peer half-closed (or the read failed) */
    int in_cb;                      /* inside one of our callbacks: it flushes on return */
    /* timeout clocks, ms on a monotonic clock (rn_net_now_ms) */
    uint64_t last_read;             /* bytes last arrived */
    uint64_t last_active;           /* last sign of use (h1: read or answer; h2: stream) */
    uint64_t last_write;            /* output last made progress (or became pending) */
    uint64_t head_start;            /* h1: first byte of a still incomplete head; 0 = none */
    uint64_t close_start;           /* closing or lingering since */
    uint64_t accept_ms;             /* accepted at */
    int served;                     /* a first request head was complete */
    char peer[64];
    rn_http_exchange_t *exchanges;  /* h2 streams with an exchange */
    rn_h1_state_t h1;
    struct nghttp2_session *h2;
    int h2_in_recv;                 /* inside nghttp2_session_mem_recv */
    int h2_goaway_sent;
    size_t h2_body_bytes;           /* sum of buffered bodies on this conn */
    size_t h2_out_bytes;            /* unsent answer bytes (RN_NET_H2_OUT_BUDGET) */
    int h2_held;                    /* exchanges held for the output budget */
    uint64_t h2_data_at;            /* answer bytes last left in DATA frames */
    /* The exchange whose header block is being received (header blocks
     * never interleave), so that each header field does not look its stream
     * up; NULL when none (cleared when that exchange's stream closes). */
    rn_http_exchange_t *h2_hdr_ex;
    /* h2 control-frame flood guard: a token bucket over PING, SETTINGS and
     * PRIORITY frames received (nghttp2 already limits RST_STREAM and
     * queued ACKs) */
    double h2_ctl_tokens;
    uint64_t h2_ctl_at;
};

struct rn_http_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct evconnlistener *tls_listener; /* cfg->tls_listen (TLS only); NULL if none */
    struct ssl_ctx_st *ssl_ctx;     /* NULL: TLS off (a ClientHello is closed) */
    rn_http_config_t cfg;
    size_t max_body;
    uint64_t idle_ms, read_ms;      /* timeouts, defaults applied */
    size_t max_buffered;            /* request bytes buffered server-wide */
    size_t buffered;                /* charged now (rn_ex_charge) */
    size_t h2_out_total;            /* sum of the connections' h2_out_bytes */
    uint64_t budget_warned;         /* last 503 warning (ms) */
    unsigned long budget_suppressed; /* 503s since, not logged */
    uint64_t min_body_rate;         /* bytes/s */
    int shutting_down;
    size_t n_conns;
    uint64_t accepted;              /* connections taken, ever (rn_http_server_stats) */
    size_t max_conns;               /* accepting stops at this many connections */
    int accept_full;                /* listeners disabled: max_conns reached */
    int accept_backoff;             /* listeners disabled: accept failed (EMFILE...) */
    struct event *accept_ev;        /* ends the backoff */
    uint64_t accept_warned;         /* last accept-failure warning (ms) */
    unsigned long accept_suppressed; /* failures since, not logged */
    rn_conn_t *conns;
    rn_http_exchange_t *ex_cache;   /* free exchanges for reuse (linked by next) */
    size_t n_ex_cache;
    uint64_t rng[4];                /* xoshiro256** state, seeded from RAND_bytes */
    time_t date_sec;
    char date[40];                  /* cached "Sun, 06 Nov 1994 08:49:37 GMT" */
    char body_413[160];             /* rendered once from max_body */
    size_t body_413_len;
    char body_503[160];             /* rendered once from max_buffered */
    size_t body_503_len;
};

/* ---- http_exchange.c -------------------------------------------------- */
/* Seed a request-id generator from the OS CSPRNG. */
void rn_net_rng_seed(uint64_t s[4]);
rn_http_exchange_t *rn_ex_new(rn_http_server_t *srv, rn_conn_t *conn);
/* Free or recycle an exchange (frees resp_body). Unlinks nothing. */
void rn_ex_release(rn_http_exchange_t *ex);
/* The connection is going away: orphan ex if the application holds it,
 * else release it. */
void rn_ex_detach(rn_http_exchange_t *ex);
void rn_ex_link(rn_conn_t *c, rn_http_exchange_t *ex);
void rn_ex_unlink(rn_http_exchange_t *ex);
void rn_ex_dispatch(rn_http_exchange_t *ex);
/* Count n more body bytes of ex against the server-wide budget
 * (srv->max_buffered). Returns 0, or -1 (nothing counted) when it would go
 * over: the caller answers 503 (rn_net_body_503). */
int rn_ex_charge(rn_http_exchange_t *ex, size_t n);
/* Give back what ex has charged (at release, and when orphaned). */
void rn_ex_uncharge(rn_http_exchange_t *ex);
/* A malloc'ed copy of the 503 body; *len gets its length (0 if NULL). */
uint8_t *rn_net_body_503(rn_http_server_t *srv, size_t *len);
/* A request refused for the budget: warn, at most once per
 * RN_NET_ACCEPT_WARN_MS (with the count of those not logged). */
void rn_net_budget_warn(rn_http_server_t *srv, const char *peer);
/* The time from which a body that started at start_ms and has got bytes
 * so far must count its read timeout to honour the minimum body rate:
 * min(stall clock last_read, the rate's deadline - read timeout). */
uint64_t rn_net_body_since(rn_http_server_t *srv, uint64_t last_read, uint64_t start_ms,
                           size_t got);
/* Current Date header value (cached per second). */
const char *rn_net_date(rn_http_server_t *srv);
/* 64 chars of base64 from 48 random bytes, NUL-terminated into out[65]. */
void rn_net_id2(rn_http_server_t *srv, char out[65]);
const char *rn_net_reason(int status);
/* 1 if a header name/value pair is safe to emit (no CR, LF, NUL). */
int rn_net_header_ok(const rn_http_header_t *h);

/* ---- http_server.c ---------------------------------------------------- */
/* Output of c not yet on the socket: c->out, and with TLS the encrypted
 * bytes (handshake records included). */
size_t rn_conn_unsent(const rn_conn_t *c);
/* Milliseconds on a coarse monotonic clock. */
uint64_t rn_net_now_ms(void);
void rn_conn_close_soon(rn_conn_t *c);
/* A request head is complete on c (the first-request deadline is met). */
void rn_conn_served(rn_conn_t *c);
/* Output was appended to c->out (or an h2 session has frames to send): check
 * the output pressure and make sure it is written in this loop iteration:
 * at the end of the current connection callback, or from flush_ev when the
 * answer comes from elsewhere (another connection's callback, a timer). */
void rn_conn_output_added(rn_conn_t *c);
/* In-process connections for fuzzing the engines without sockets: a server
 * with no listener (TLS off), a connection whose transport reads nothing
 * and discards its output, and a feed that runs the bytes through protocol
 * sniffing and the engine as a read would. A connection is freed only from
 * the event loop (EVLOOP_NONBLOCK runs what is pending) or by
 * rn_http_server_destroy(), so it may be fed repeatedly before that. */
int rn_net_mem_server_new(rn_http_server_t **out, struct event_base *base,
                          const rn_http_config_t *cfg);
rn_conn_t *rn_net_mem_conn_new(rn_http_server_t *srv);
void rn_net_mem_conn_feed(rn_conn_t *c, const uint8_t *p, size_t n);

/* ---- tls.c --------------------------------------------------------------- */
/* cors.c. When a request's head is complete (before any answer): note
 * whether it has an Origin header (ex->cors). */
void rn_net_cors_note(rn_http_exchange_t *ex);
/* At dispatch: answer a preflight (OPTIONS with Origin); 1 when answered. */
int rn_net_cors_dispatch(rn_http_exchange_t *ex);
/* The headers of an answer to ex (NULL: no request known): extra itself,
 * or, for a request with Origin, out (cap entries) holding extra plus the
 * CORS headers, with *n_extra updated. extra is kept when they would not
 * fit (the answer then goes without). Every answer head goes through this
 * (http_h1.c h1_write_mode, http_h2.c h2_submit). */
const rn_http_header_t *rn_net_cors_headers(const rn_http_exchange_t *ex, const rn_http_header_t *extra,
                                            size_t *n_extra, rn_http_header_t *out, size_t cap);

/* The server's SSL_CTX from cfg (tls_cert_file/tls_key_file or
 * tls_self_signed), with ALPN h2 and http/1.1. NULL with *errmsg when the
 * files cannot be used. Call only when TLS is configured. */
struct ssl_ctx_st *rn_tls_ctx_new(const rn_http_config_t *cfg, const char **errmsg);
void rn_tls_ctx_free(struct ssl_ctx_st *ctx);
/* A ClientHello starts c->in: move those bytes into a new TLS session and
 * switch c->io to the TLS transport. c->in is empty afterwards unless
 * plaintext was already decrypted. Returns 0 or a negative RN_E* code. */
int rn_tls_conn_start(rn_conn_t *c);
/* Encrypted bytes waiting for the socket (0 without TLS). Handshake
 * records count, so the connection layer flushes them like answers. */
size_t rn_tls_pending(const rn_conn_t *c);
/* Send close_notify (best effort, never blocks) once. */
void rn_tls_close_notify(rn_conn_t *c);
/* close_notify if not sent, then free the TLS state. */
void rn_tls_conn_free(rn_conn_t *c);

/* ---- http_h1.c -------------------------------------------------------- */
void rn_h1_start(rn_conn_t *c);
void rn_h1_on_read(rn_conn_t *c);
void rn_h1_on_eof(rn_conn_t *c);
void rn_h1_respond(rn_http_exchange_t *ex, int status, const char *content_type,
                   const rn_http_header_t *extra, size_t n_extra, uint8_t *body, size_t len);
void rn_h1_shutdown(rn_conn_t *c);
void rn_h1_free(rn_conn_t *c);
/* Output drained below the low mark: continue with buffered requests. */
void rn_h1_on_drain(rn_conn_t *c);
/* Which timeout applies now; *since gets the time it counts from. */
rn_net_tmo_t rn_h1_timeout(rn_conn_t *c, uint64_t *since);
/* A read timeout expired: answer 408 and close. */
void rn_h1_on_timeout(rn_conn_t *c);
/* Between requests with nothing buffered: may be closed at once. */
int rn_h1_is_idle(rn_conn_t *c);
/* Streaming answers (rn_http_stream_*) on HTTP/1.1: the head with
 * Transfer-Encoding: chunked now; each push one chunk straight into c->out
 * (so the queue is the connection's unsent output: TCP is the back-pressure);
 * the end is the 0-length chunk, then the connection goes on (keep-alive) or
 * closes as for any answer. */
int rn_h1_stream_start(rn_http_exchange_t *ex, int status, const char *content_type);
void rn_h1_stream_push(rn_http_exchange_t *ex, const uint8_t *p, size_t n);
void rn_h1_stream_end(rn_http_exchange_t *ex);
/* Output was written: tell a streaming answer when its queue drained below
 * RN_HTTP_STREAM_LOW. */
void rn_h1_on_written(rn_conn_t *c);

/* ---- http_h2.c -------------------------------------------------------- */
int rn_h2_start(rn_conn_t *c);
void rn_h2_on_read(rn_conn_t *c);
void rn_h2_respond(rn_http_exchange_t *ex, int status, const char *content_type,
                   const rn_http_header_t *extra, size_t n_extra, uint8_t *body, size_t len);
void rn_h2_shutdown(rn_conn_t *c);
void rn_h2_free(rn_conn_t *c);
void rn_h2_on_drain(rn_conn_t *c);
/* Let nghttp2 produce its pending frames into c->out (called before a write). */
void rn_h2_send(rn_conn_t *c);
rn_net_tmo_t rn_h2_timeout(rn_conn_t *c, uint64_t *since);
int rn_h2_stream_start(rn_http_exchange_t *ex, int status, const char *content_type);
/* added more bytes queued (counted against the output budget), or the end */
void rn_h2_stream_kick(rn_http_exchange_t *ex, size_t added);
/* The idle or read timeout expired: GOAWAY, then close. */
void rn_h2_on_timeout(rn_conn_t *c);
/* RN_NET_TMO_OUTPUT expired: reset the streams whose answer has made no
 * progress for the idle timeout (or close the connection if its own window
 * is shut). */
void rn_h2_on_output_timeout(rn_conn_t *c);
/* No stream open: may be closed at once. */
int rn_h2_is_idle(rn_conn_t *c);

#endif
