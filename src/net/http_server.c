/* http_server.c: the listening socket and the connection layer (rn_conn).
 *
 * Flow: accept -> rn_conn (socket, input and output evbuffers, a persistent
 * read event) -> the first bytes pick the protocol (0x16: TLS when the
 * server has a certificate, else closed; the 24-byte HTTP/2 client preface:
 * h2c via http_h2.c; anything else: HTTP/1.1 via http_h1.c). The HTTP
 * engines only use c->in and c->out; the bytes move through c->io, which
 * conn_start_tls() switches to the TLS transport of tls.c, and the
 * decrypted stream is sniffed again. A connection from cfg->tls_listen
 * must start with 0x16. Without TLS, c->tls is NULL and the plain
 * transport is exactly what it was: one readv, one writev.
 *
 * Writing: the engines append answers to c->out; nothing is written while a
 * callback runs. At the end of the connection's read callback the output is
 * written with one writev(), so all the answers to a batch of pipelined
 * requests (or to the streams of one HTTP/2 read) leave together. Answers
 * made elsewhere (another connection's callback, a timer) activate
 * flush_ev, which writes once later in the same loop iteration. The write
 * event is added only when the socket is full, so a request costs one read
 * and one write and no epoll_ctl.
 *
 * Back-pressure: reading stops while more than RN_NET_IN_HIGH bytes are
 * unread, and while the output is over RN_NET_OUT_HIGH (until it drains
 * below RN_NET_OUT_LOW, when the engine is asked to continue).
 *
 * Timeouts: one timer per connection, never re-armed per request. Activity
 * only stores a timestamp; when the timer fires it asks the engine which
 * timeout applies (idle, read, none), compares with the timestamps and
 * either acts or re-arms. It re-arms at most min(idle, read) ahead, so a
 * deadline that starts later is never missed.
 *
 * The first request head must be complete within the read timeout of the
 * accept (c->served), so a trickled preface cannot hold a connection.
 *
 * Accepting: at cfg->max_connections the listeners are disabled until a
 * connection is freed; accept() failing for lack of fds or memory disables
 * them for RN_NET_ACCEPT_BACKOFF_MS (else the pending connection wakes the
 * loop again at once) with one warning per RN_NET_ACCEPT_WARN_MS.
 * rn_http_server_reclaim_idle() frees the fd of the longest-idle
 * connection for a caller out of fds.
 *
 * Closing: connections are freed only from top-level libevent callbacks.
 * rn_conn_close_soon() stops reading and frees the connection once its
 * output is flushed (or after CLOSE_TIMEOUT_MS); after an error response on
 * HTTP/1.1 it first half-closes and discards input for a moment ("lingering
 * close") so the client reads the response instead of a reset.
 */
#include "net/net_int.h"

#include "util/fdlimit.h"
#include "util/status.h"
#include "util/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24
#define CLOSE_TIMEOUT_MS 10000 /* give up flushing to a peer that does not read */
#define LINGER_TIMEOUT_MS 2000 /* discard input this long after an error response */

static void conn_free(rn_conn_t *c);
static void accept_update(rn_http_server_t *srv);

uint64_t rn_net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- transport: plain socket ------------------------------------------- */

/* Read straight into reserved space: no FIONREAD ioctl (evbuffer_read
 * asks for one per call). */
static long plain_read(rn_conn_t *c, size_t max)
{
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(c->in, (ev_ssize_t)max, v, 2);
    if (nv < 1) {
        errno = ENOMEM;
        return -1;
    }
    size_t left = max;
    for (int i = 0; i < nv; i++) {
        if (v[i].iov_len > left)
            v[i].iov_len = left;
        left -= v[i].iov_len;
    }
    ssize_t n;
    do
        n = readv(c->fd, (struct iovec *)v, nv);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        int e = errno;
        evbuffer_commit_space(c->in, v, 0);
        errno = e;
        return (long)n;
    }
    size_t got = (size_t)n;
    for (int i = 0; i < nv; i++) {
        if (v[i].iov_len > got)
            v[i].iov_len = got;
        got -= v[i].iov_len;
    }
    evbuffer_commit_space(c->in, v, nv);
    return (long)n;
}

static long plain_write(rn_conn_t *c)
{
    int n;
    do
        n = evbuffer_write(c->out, c->fd); /* writev of up to 128 chunks, drained */
    while (n < 0 && errno == EINTR);
    return n;
}

static const rn_conn_io_t plain_io = {plain_read, plain_write};

/* ---- reading on and off ------------------------------------------------- */

static void conn_update_reading(rn_conn_t *c)
{
    int want = !c->read_eof && (c->lingering || (!c->closing && !c->out_blocked &&
                                                 evbuffer_get_length(c->in) < RN_NET_IN_HIGH));
    if (want == c->reading)
        return;
    c->reading = want;
    if (want)
        event_add(c->read_ev, NULL);
    else
        event_del(c->read_ev);
}

/* ---- writing ------------------------------------------------------------ */

size_t rn_conn_unsent(const rn_conn_t *c)
{
    return evbuffer_get_length(c->out) + (c->tls ? rn_tls_pending(c) : 0);
}

static void conn_on_drained(rn_conn_t *c);

/* Produce (h2) and write the output. Only from top-level callbacks.
 * Returns -1 when the connection is dead and must be freed by the caller. */
static int conn_flush(rn_conn_t *c)
{
    if (c->proto == RN_NET_PROTO_H2 && c->h2 && !c->closing)
        rn_h2_send(c);
    if (rn_conn_unsent(c) == 0 || event_pending(c->write_ev, EV_WRITE, NULL))
        goto done;
    long n = c->io->write(c);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        if (!c->lingering)
            rn_debug("net: %s: write: %s", c->peer, strerror(errno));
        return -1;
    }
    if (rn_conn_unsent(c) > 0) {
        /* The socket is full: wait until it is writable. The stall clock
         * starts now (conn_write_cb restarts it on each progress). */
        c->last_write = rn_net_now_ms();
        event_add(c->write_ev, NULL);
    }
done:
    if (c->proto == RN_NET_PROTO_H1 && !c->closing)
        rn_h1_on_written(c);
    if (c->out_blocked && evbuffer_get_length(c->out) <= RN_NET_OUT_LOW)
        conn_on_drained(c);
    if (c->closing && !c->lingering && rn_conn_unsent(c) == 0)
        event_active(c->kill_ev, EV_TIMEOUT, 0);
    return 0;
}

void rn_conn_output_added(rn_conn_t *c)
{
    if (!c->in_cb)
        event_active(c->flush_ev, EV_WRITE, 0);
    if (c->closing || c->out_blocked)
        return;
    size_t out = evbuffer_get_length(c->out);
    if (out > RN_NET_OUT_HIGH) {
        c->out_blocked = 1;
        conn_update_reading(c);
    }
}

/* The output fell below the low mark: read and produce again. */
static void conn_on_drained(rn_conn_t *c)
{
    c->out_blocked = 0;
    conn_update_reading(c);
    if (c->closing)
        return;
    if (c->proto == RN_NET_PROTO_H1)
        rn_h1_on_drain(c);
    else if (c->proto == RN_NET_PROTO_H2)
        rn_h2_on_drain(c);
}

/* End of a top-level callback: write what it produced, or free the
 * connection if it died (then -1). */
static int conn_cb_end(rn_conn_t *c)
{
    c->in_cb = 0;
    if (conn_flush(c) != 0) {
        conn_free(c);
        return -1;
    }
    conn_update_reading(c);
    return 0;
}

/* ---- connection lifetime ---------------------------------------------- */

static void conn_free(rn_conn_t *c)
{
    rn_http_server_t *srv = c->srv;
    if (c->proto == RN_NET_PROTO_H1)
        rn_h1_free(c);
    else if (c->proto == RN_NET_PROTO_H2)
        rn_h2_free(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    if (srv->accept_full)
        accept_update(srv);
    struct event *evs[] = {c->read_ev, c->write_ev, c->flush_ev, c->timer_ev, c->kill_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            event_free(evs[i]);
    if (c->tls)
        rn_tls_conn_free(c); /* close_notify, best effort */
    if (c->in)
        evbuffer_free(c->in);
    if (c->out)
        evbuffer_free(c->out);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    free(c);
}

static void conn_arm_timer(rn_conn_t *c, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(c->timer_ev, &tv);
}

static void conn_kill_cb(evutil_socket_t fd, short what, void *arg)
{
    rn_conn_t *c = arg;
    if (c->linger) {
        /* Output is flushed: half-close, then read and discard a while. */
        c->linger = 0;
        c->lingering = 1;
        c->close_start = rn_net_now_ms();
        if (c->tls)
            rn_tls_close_notify(c);
        shutdown(c->fd, SHUT_WR);
        conn_arm_timer(c, LINGER_TIMEOUT_MS);
        conn_update_reading(c);
        return;
    }
    conn_free(c);
}

void rn_conn_close_soon(rn_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_start = rn_net_now_ms();
    conn_update_reading(c);
    conn_arm_timer(c, CLOSE_TIMEOUT_MS);
    if (rn_conn_unsent(c) == 0)
        event_active(c->kill_ev, EV_TIMEOUT, 0);
    else if (!c->in_cb)
        event_active(c->flush_ev, EV_WRITE, 0);
    /* else the callback's flush writes it; conn_flush frees once it is out */
}

/* ---- timeouts ------------------------------------------------------------ */

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    rn_conn_t *c = arg;
    rn_http_server_t *srv = c->srv;
    uint64_t now = rn_net_now_ms();
    if (c->closing) {
        uint64_t limit = c->lingering ? LINGER_TIMEOUT_MS : CLOSE_TIMEOUT_MS;
        if (now - c->close_start >= limit) {
            if (!c->lingering)
                rn_debug("net: %s: peer does not read; dropping the connection", c->peer);
            conn_free(c);
        } else {
            conn_arm_timer(c, c->close_start + limit - now);
        }
        return;
    }
    uint64_t since = 0, limit = 0;
    rn_net_tmo_t kind = RN_NET_TMO_NONE;
    /* Output waits for the socket only while write_ev is pending; output
     * appended in this loop iteration and not yet flushed is not a stall. */
    int out_stalled = event_pending(c->write_ev, EV_WRITE, NULL);
    if (out_stalled) {
        kind = RN_NET_TMO_READ;
        since = c->last_write;
    } else if (c->proto == RN_NET_PROTO_H1) {
        kind = rn_h1_timeout(c, &since);
    } else if (c->proto == RN_NET_PROTO_H2) {
        kind = rn_h2_timeout(c, &since);
    } else {
        kind = RN_NET_TMO_READ; /* nothing (or not enough) to pick a protocol */
        since = c->accept_ms;
    }
    limit = kind == RN_NET_TMO_READ ? srv->read_ms : srv->idle_ms;
    /* The first request head must be complete within the read timeout of
     * the accept, however slowly its bytes (or an HTTP/2 preface) come. */
    if (!c->served && (kind == RN_NET_TMO_NONE || c->accept_ms + srv->read_ms < since + limit)) {
        kind = RN_NET_TMO_READ;
        since = c->accept_ms;
        limit = srv->read_ms;
    }
    if (kind != RN_NET_TMO_NONE) {
        if (now >= since + limit) {
            static const char *const names[] = {"none", "idle", "read", "output"};
            rn_debug("net: %s: %s timeout", c->peer, names[kind]);
            c->in_cb = 1;
            if (out_stalled || c->proto == RN_NET_PROTO_UNKNOWN) {
                conn_free(c);
                return;
            }
            if (kind == RN_NET_TMO_OUTPUT) {
                /* Streams are reset; the connection lives on: re-arm. */
                rn_h2_on_output_timeout(c);
                if (conn_cb_end(c) != 0)
                    return;
                if (!c->closing)
                    conn_arm_timer(c, 1);
                return;
            }
            if (c->proto == RN_NET_PROTO_H1) {
                if (kind == RN_NET_TMO_IDLE)
                    rn_conn_close_soon(c);
                else
                    rn_h1_on_timeout(c);
            } else {
                rn_h2_on_timeout(c);
            }
            conn_cb_end(c);
            return;
        }
    }
    /* Wake up again at the deadline, but never later than the shortest
     * timeout from now: a deadline that starts after this point is then
     * caught in time. */
    uint64_t step = srv->idle_ms < srv->read_ms ? srv->idle_ms : srv->read_ms;
    uint64_t wait = kind != RN_NET_TMO_NONE ? since + limit - now : step;
    conn_arm_timer(c, wait < step ? wait : step);
}

/* ---- protocol selection ------------------------------------------------ */

/* A ClientHello: switch c->io to TLS (tls.c); c->proto stays UNKNOWN and
 * the decrypted bytes are sniffed like cleartext ones, whatever ALPN chose
 * (after ALPN h2 the client still sends the preface). Without a
 * certificate the connection is refused. */
static int conn_start_tls(rn_conn_t *c)
{
    if (!c->srv->ssl_ctx) {
        rn_debug("net: %s: TLS ClientHello but TLS is off; closing", c->peer);
        return RN_EPROTO;
    }
    return rn_tls_conn_start(c);
}

static void conn_sniff(rn_conn_t *c)
{
    struct evbuffer *in = c->in;
    size_t n = evbuffer_get_length(in);
    if (n == 0)
        return;
    uint8_t b[H2_PREFACE_LEN];
    size_t m = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
    evbuffer_copyout(in, b, m);
    if (b[0] == 0x16 && !c->tls) {
        if (conn_start_tls(c) != 0) {
            evbuffer_drain(in, evbuffer_get_length(in));
            rn_conn_close_soon(c);
        } else if (evbuffer_get_length(in) > 0) {
            conn_sniff(c); /* plaintext already (c->tls is set: no recursion) */
        }
        return;
    }
    if (c->tls_only && !c->tls) {
        rn_debug("net: %s: cleartext on the TLS listener; closing", c->peer);
        evbuffer_drain(in, n);
        rn_conn_close_soon(c);
        return;
    }
    if (memcmp(b, h2_preface, m) == 0) {
        if (m < H2_PREFACE_LEN)
            return; /* could still be either; wait */
        c->proto = RN_NET_PROTO_H2;
        if (rn_h2_start(c) != 0) {
            evbuffer_drain(in, n);
            rn_conn_close_soon(c);
        }
        return;
    }
    c->proto = RN_NET_PROTO_H1;
    rn_h1_start(c);
}

/* ---- event callbacks ------------------------------------------------------ */

/* New bytes are in c->in: note the activity, then hand them to the
 * protocol engine (or, once the connection is going away, discard them).
 * The socket read path and the fuzzer's memory connection both come here. */
static void conn_consume_input(rn_conn_t *c, int discard)
{
    c->last_read = rn_net_now_ms();
    if (c->proto != RN_NET_PROTO_H2)
        c->last_active = c->last_read;
    if (discard) {
        evbuffer_drain(c->in, evbuffer_get_length(c->in));
        return;
    }
    switch (c->proto) {
    case RN_NET_PROTO_UNKNOWN:
        conn_sniff(c);
        break;
    case RN_NET_PROTO_H1:
        rn_h1_on_read(c);
        break;
    case RN_NET_PROTO_H2:
        rn_h2_on_read(c);
        break;
    }
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    rn_conn_t *c = arg;
    size_t have = evbuffer_get_length(c->in);
    size_t max = RN_NET_READ_MAX;
    if (!c->lingering && RN_NET_IN_HIGH - have < max)
        max = have < RN_NET_IN_HIGH ? RN_NET_IN_HIGH - have : 1;
    long n = c->io->read(c, max);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c->tls && !c->lingering && rn_tls_pending(c) > 0) {
            c->in_cb = 1; /* handshake records to send */
            conn_cb_end(c);
        }
        return;
    }
    if (c->lingering) { /* discard; the peer's EOF or an error ends it */
        evbuffer_drain(c->in, evbuffer_get_length(c->in));
        if (n <= 0)
            conn_free(c);
        return;
    }
    if (n < 0) {
        rn_debug("net: %s: read: %s", c->peer, strerror(errno));
        conn_free(c);
        return;
    }
    c->in_cb = 1;
    if (n == 0) {
        c->read_eof = 1;
        if (c->proto == RN_NET_PROTO_H1 && !c->closing) {
            /* Half-close: answer what is in flight, then close. */
            rn_h1_on_eof(c);
            conn_cb_end(c);
            return;
        }
        conn_free(c);
        return;
    }
    conn_consume_input(c, c->closing);
    conn_cb_end(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    rn_conn_t *c = arg;
    c->last_write = rn_net_now_ms();
    c->in_cb = 1;
    conn_cb_end(c);
}

static void conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    rn_conn_t *c = arg;
    c->in_cb = 1;
    conn_cb_end(c);
}

/* ---- accept ------------------------------------------------------------ */

static void format_peer(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        port = ntohs(s4->sin_port);
        snprintf(out, cap, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%d", host, port);
    } else {
        snprintf(out, cap, "unknown");
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    rn_http_server_t *srv = arg;
    if (srv->shutting_down) {
        evutil_closesocket(fd);
        return;
    }
    rn_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evutil_make_socket_nonblocking(fd); /* the listener makes it so; be sure */
    c->srv = srv;
    c->fd = fd;
    c->io = &plain_io;
    c->tls_only = l == srv->tls_listener;
    format_peer(sa, c->peer, sizeof c->peer);
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    c->read_ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
    c->write_ev = event_new(srv->base, fd, EV_WRITE, conn_write_cb, c);
    c->flush_ev = event_new(srv->base, -1, 0, conn_flush_cb, c);
    c->timer_ev = evtimer_new(srv->base, conn_timer_cb, c);
    c->kill_ev = event_new(srv->base, -1, 0, conn_kill_cb, c);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    srv->accepted++;
    if (!c->in || !c->out || !c->read_ev || !c->write_ev || !c->flush_ev || !c->timer_ev ||
        !c->kill_ev) {
        conn_free(c);
        return;
    }
    c->last_read = c->last_active = c->last_write = c->accept_ms = rn_net_now_ms();
    conn_update_reading(c);
    conn_arm_timer(c, srv->read_ms < srv->idle_ms ? srv->read_ms : srv->idle_ms);
    if (srv->n_conns >= srv->max_conns)
        accept_update(srv);
}

/* Accepting is on unless the server is at max_conns, in an accept-failure
 * backoff, or shutting down; the listeners follow that. */
static void accept_update(rn_http_server_t *srv)
{
    int full = srv->n_conns >= srv->max_conns;
    int was = srv->accept_full;
    srv->accept_full = full;
    if (full && !was)
        rn_info("net: %zu connections (the limit): not accepting until one closes",
                srv->n_conns);
    int on = !full && !srv->accept_backoff && !srv->shutting_down;
    struct evconnlistener *ls[] = {srv->listener, srv->tls_listener};
    for (size_t i = 0; i < 2; i++) {
        if (!ls[i])
            continue;
        if (on)
            evconnlistener_enable(ls[i]);
        else
            evconnlistener_disable(ls[i]);
    }
}

static void accept_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    rn_http_server_t *srv = arg;
    srv->accept_backoff = 0;
    accept_update(srv);
}

/* accept() failed with something other than a retriable error (libevent
 * retries EAGAIN, EINTR, ECONNABORTED itself): out of fds (EMFILE, ENFILE)
 * or memory. The pending connection stays in the backlog and the listener
 * would fire again at once, so stop accepting for RN_NET_ACCEPT_BACKOFF_MS,
 * and warn once per RN_NET_ACCEPT_WARN_MS with how many were not logged. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    rn_http_server_t *srv = arg;
    int err = EVUTIL_SOCKET_ERROR();
    uint64_t now = rn_net_now_ms();
    if (srv->accept_warned == 0 || now - srv->accept_warned >= RN_NET_ACCEPT_WARN_MS) {
        if (srv->accept_suppressed)
            rn_warn("net: accept failed: %s (%zu connections; %lu more failures since the last "
                    "warning); pausing accepts for %d ms",
                    evutil_socket_error_to_string(err), srv->n_conns, srv->accept_suppressed,
                    RN_NET_ACCEPT_BACKOFF_MS);
        else
            rn_warn("net: accept failed: %s (%zu connections); pausing accepts for %d ms",
                    evutil_socket_error_to_string(err), srv->n_conns, RN_NET_ACCEPT_BACKOFF_MS);
        srv->accept_warned = now;
        srv->accept_suppressed = 0;
    } else {
        srv->accept_suppressed++;
    }
    if (!srv->accept_ev)
        return;
    srv->accept_backoff = 1;
    accept_update(srv);
    struct timeval tv = {0, RN_NET_ACCEPT_BACKOFF_MS * 1000};
    event_add(srv->accept_ev, &tv);
}

/* "127.0.0.1:4567", "[::1]:0", "localhost:80", ":4567" (all IPv4
 * interfaces). evutil_parse_sockaddr_port() refuses port 0, hence this. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, int *sslen)
{
    char host[256];
    const char *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        hl = (size_t)(rb - s - 1);
        if (hl >= sizeof host)
            return -1;
        memcpy(host, s + 1, hl);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
        if (hl >= sizeof host)
            return -1;
        memcpy(host, s, hl);
    }
    host[hl] = 0;
    const char *port = colon + 1;
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == 0 || *end != 0 || p < 0 || p > 65535)
        return -1;
    struct evutil_addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
    if (evutil_getaddrinfo(hl ? host : "0.0.0.0", port, &hints, &res) != 0 || !res)
        return -1;
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = (int)res->ai_addrlen;
    evutil_freeaddrinfo(res);
    return 0;
}

static int listener_port(struct evconnlistener *l)
{
    struct sockaddr_storage b;
    socklen_t blen = sizeof b;
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&b, &blen) == 0) {
        if (b.ss_family == AF_INET)
            return ntohs(((struct sockaddr_in *)&b)->sin_port);
        if (b.ss_family == AF_INET6)
            return ntohs(((struct sockaddr_in6 *)&b)->sin6_port);
    }
    return 0;
}

/* The default connection limit: RLIMIT_NOFILE less a reserve for the
 * store's files (its open-file cache, SQLite, the journal) and the process's
 * own; util/fdlimit.h shares the reserve out, so the store's default cap
 * agrees with it. */
static size_t default_max_conns(void)
{
    size_t lim = rn_fd_limit();
    return rn_fd_conns_default(lim, rn_fd_files_default(lim));
}

/* Defaults and the error bodies, for both kinds of server. */
static void server_init(rn_http_server_t *srv, const rn_http_config_t *cfg)
{
    srv->max_body = cfg->max_body ? cfg->max_body : RN_NET_DEFAULT_MAX_BODY;
    srv->idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : RN_NET_DEFAULT_IDLE_MS;
    srv->read_ms = cfg->read_timeout_ms ? cfg->read_timeout_ms : RN_NET_DEFAULT_READ_MS;
    srv->max_buffered =
        cfg->max_buffered_bytes ? cfg->max_buffered_bytes : RN_NET_DEFAULT_MAX_BUFFERED;
    srv->min_body_rate = cfg->min_body_rate ? cfg->min_body_rate : RN_NET_DEFAULT_MIN_BODY_RATE;
    srv->max_conns = cfg->max_connections ? cfg->max_connections : default_max_conns();
    rn_net_rng_seed(srv->rng);
    int n = snprintf(srv->body_413, sizeof srv->body_413,
                     "{\"__type\":\"SerializationException\",\"message\":\"Request body exceeds the "
                     "limit of %zu bytes.\"}",
                     srv->max_body);
    srv->body_413_len = (size_t)n;
    n = snprintf(srv->body_503, sizeof srv->body_503,
                 "{\"__type\":\"ServiceUnavailable\",\"message\":\"The server is buffering its "
                 "limit of %zu request bytes; retry later.\"}",
                 srv->max_buffered);
    srv->body_503_len = (size_t)n;
}

/* ---- in-process connections (fuzz/fuzz_net_h2.c) ----------------------- */

/* A transport with no socket: nothing to read (bytes come through
 * rn_net_mem_conn_feed), and output is taken and discarded. */
static long mem_read(rn_conn_t *c, size_t max)
{
    errno = EAGAIN;
    return -1;
}

static long mem_write(rn_conn_t *c)
{
    size_t n = evbuffer_get_length(c->out);
    evbuffer_drain(c->out, n);
    return (long)n;
}

static const rn_conn_io_t mem_io = {mem_read, mem_write};

int rn_net_mem_server_new(rn_http_server_t **out, struct event_base *base,
                          const rn_http_config_t *cfg)
{
    *out = NULL;
    if (!base || !cfg || !cfg->handler)
        return RN_EINVAL;
    rn_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return RN_ENOMEM;
    srv->base = base;
    srv->cfg = *cfg;
    srv->cfg.listen = srv->cfg.tls_cert_file = srv->cfg.tls_key_file = NULL;
    srv->cfg.tls_listen = NULL;
    srv->cfg.tls_bound_port = NULL;
    srv->cfg.tls_self_signed = 0;
    server_init(srv, cfg);
    *out = srv;
    return 0;
}

rn_conn_t *rn_net_mem_conn_new(rn_http_server_t *srv)
{
    rn_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = srv;
    c->fd = -1;
    c->io = &mem_io;
    snprintf(c->peer, sizeof c->peer, "memory");
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    /* No fd: read_ev and write_ev are never triggered, only added/removed. */
    c->read_ev = event_new(srv->base, -1, 0, conn_read_cb, c);
    c->write_ev = event_new(srv->base, -1, 0, conn_write_cb, c);
    c->flush_ev = event_new(srv->base, -1, 0, conn_flush_cb, c);
    c->timer_ev = evtimer_new(srv->base, conn_timer_cb, c);
    c->kill_ev = event_new(srv->base, -1, 0, conn_kill_cb, c);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    srv->accepted++;
    if (!c->in || !c->out || !c->read_ev || !c->write_ev || !c->flush_ev || !c->timer_ev ||
        !c->kill_ev) {
        conn_free(c);
        return NULL;
    }
    c->last_read = c->last_active = c->last_write = c->accept_ms = rn_net_now_ms();
    conn_update_reading(c);
    conn_arm_timer(c, srv->read_ms < srv->idle_ms ? srv->read_ms : srv->idle_ms);
    return c;
}

void rn_net_mem_conn_feed(rn_conn_t *c, const uint8_t *p, size_t n)
{
    if (n == 0 || evbuffer_add(c->in, p, n) != 0)
        return;
    c->in_cb = 1;
    conn_consume_input(c, c->closing || c->lingering);
    /* Like conn_cb_end, but the connection is freed only from the loop
     * (kill_ev), so the caller may feed it again. mem_write never fails. */
    c->in_cb = 0;
    (void)conn_flush(c);
    conn_update_reading(c);
}

/* ---- public ------------------------------------------------------------ */

int rn_http_server_create(rn_http_server_t **out, struct event_base *base,
                          const rn_http_config_t *cfg, int *bound_port, const char **errmsg)
{
    static const char *dummy;
    if (!errmsg)
        errmsg = &dummy;
    *out = NULL;
    if (!base || !cfg || !cfg->handler || !cfg->listen) {
        *errmsg = "missing base, handler or listen address";
        return RN_EINVAL;
    }
    struct sockaddr_storage ss;
    int sslen = 0;
    if (parse_listen(cfg->listen, &ss, &sslen) != 0) {
        *errmsg = "bad listen address (want host:port or [v6]:port)";
        return RN_EINVAL;
    }
    rn_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        *errmsg = "out of memory";
        return RN_ENOMEM;
    }
    /* Writes to a peer that has gone must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    srv->base = base;
    srv->cfg = *cfg;
    srv->cfg.listen = NULL; /* not kept: the caller owns the string */
    srv->cfg.tls_cert_file = srv->cfg.tls_key_file = srv->cfg.tls_listen = NULL;
    srv->cfg.tls_bound_port = NULL;
    server_init(srv, cfg);
    if (cfg->tls_cert_file || cfg->tls_self_signed) {
        srv->ssl_ctx = rn_tls_ctx_new(cfg, errmsg);
        if (!srv->ssl_ctx) {
            free(srv);
            return RN_EINVAL;
        }
    } else if (cfg->tls_key_file || cfg->tls_listen) {
        *errmsg = "TLS needs a certificate (tls_cert_file or tls_self_signed)";
        free(srv);
        return RN_EINVAL;
    }
    srv->listener = evconnlistener_new_bind(
        base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        1024, (struct sockaddr *)&ss, sslen);
    if (!srv->listener) {
        rn_error("net: cannot listen on %s: %s", cfg->listen, strerror(errno));
        *errmsg = "cannot bind or listen on the address";
        rn_tls_ctx_free(srv->ssl_ctx);
        free(srv);
        return RN_EIO;
    }
    evconnlistener_set_error_cb(srv->listener, accept_error_cb);
    if (!(srv->accept_ev = evtimer_new(base, accept_backoff_cb, srv))) {
        *errmsg = "out of memory";
        rn_http_server_destroy(srv);
        return RN_ENOMEM;
    }
    if (cfg->tls_listen) {
        struct sockaddr_storage ts;
        int tslen = 0;
        if (parse_listen(cfg->tls_listen, &ts, &tslen) != 0) {
            *errmsg = "bad TLS listen address (want host:port or [v6]:port)";
            rn_http_server_destroy(srv);
            return RN_EINVAL;
        }
        srv->tls_listener = evconnlistener_new_bind(
            base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
            1024, (struct sockaddr *)&ts, tslen);
        if (!srv->tls_listener) {
            rn_error("net: cannot listen on %s: %s", cfg->tls_listen, strerror(errno));
            *errmsg = "cannot bind or listen on the TLS address";
            rn_http_server_destroy(srv);
            return RN_EIO;
        }
        evconnlistener_set_error_cb(srv->tls_listener, accept_error_cb);
        if (cfg->tls_bound_port)
            *cfg->tls_bound_port = listener_port(srv->tls_listener);
    }
    if (bound_port)
        *bound_port = listener_port(srv->listener);
    rn_info("net: at most %zu connections, %zu request bytes buffered", srv->max_conns,
            srv->max_buffered);
    *out = srv;
    return 0;
}

void rn_http_server_shutdown(rn_http_server_t *srv)
{
    if (!srv)
        return;
    srv->shutting_down = 1;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    if (srv->tls_listener) {
        evconnlistener_free(srv->tls_listener);
        srv->tls_listener = NULL;
    }
    if (srv->accept_ev)
        event_del(srv->accept_ev);
    /* No connection is freed synchronously here, so the walk is safe. */
    for (rn_conn_t *c = srv->conns; c; c = c->next) {
        if (c->closing)
            continue;
        if (c->proto == RN_NET_PROTO_H1)
            rn_h1_shutdown(c);
        else if (c->proto == RN_NET_PROTO_H2)
            rn_h2_shutdown(c);
        else
            rn_conn_close_soon(c);
        rn_conn_output_added(c); /* written from flush_ev */
    }
}

int rn_http_server_idle(const rn_http_server_t *srv)
{
    return srv == NULL || srv->n_conns == 0;
}

void rn_http_server_destroy(rn_http_server_t *srv)
{
    if (!srv)
        return;
    if (srv->listener)
        evconnlistener_free(srv->listener);
    if (srv->tls_listener)
        evconnlistener_free(srv->tls_listener);
    while (srv->conns)
        conn_free(srv->conns);
    while (srv->ex_cache) {
        rn_http_exchange_t *ex = srv->ex_cache;
        srv->ex_cache = ex->next;
        rn_buf_dispose(&ex->head);
        rn_buf_dispose(&ex->body);
        free(ex);
    }
    if (srv->accept_ev)
        event_free(srv->accept_ev);
    rn_tls_ctx_free(srv->ssl_ctx);
    free(srv);
}

void rn_conn_served(rn_conn_t *c)
{
    c->served = 1;
}

int rn_http_server_reclaim_idle(rn_http_server_t *srv)
{
    if (!srv)
        return 0;
    rn_conn_t *best = NULL;
    for (rn_conn_t *c = srv->conns; c; c = c->next) {
        if (c->closing || c->fd < 0)
            continue;
        int idle = c->proto == RN_NET_PROTO_H1   ? rn_h1_is_idle(c)
                   : c->proto == RN_NET_PROTO_H2 ? rn_h2_is_idle(c)
                                                 : evbuffer_get_length(c->in) == 0;
        if (idle && (!best || c->last_active < best->last_active))
            best = c;
    }
    if (!best)
        return 0;
    rn_conn_t *c = best;
    rn_debug("net: %s: closing an idle connection to free its descriptor", c->peer);
    if (c->proto == RN_NET_PROTO_H2 && c->h2) {
        /* GOAWAY, best effort: one write that must not block. */
        rn_h2_shutdown(c);
        rn_h2_send(c);
        (void)c->io->write(c);
    }
    /* The fd goes now (its number may be reused at once, so no event may
     * stay registered on it); the connection is freed from the loop. */
    event_del(c->read_ev);
    event_del(c->write_ev);
    c->reading = 0;
    c->read_eof = 1;
    c->linger = 0;
    c->closing = 1;
    c->close_start = rn_net_now_ms();
    evbuffer_drain(c->out, evbuffer_get_length(c->out));
    if (c->tls) {
        rn_tls_conn_free(c);
        c->io = &plain_io;
    }
    evutil_closesocket(c->fd);
    c->fd = -1;
    event_active(c->kill_ev, EV_TIMEOUT, 0);
    return 1;
}

void rn_http_server_stats(const rn_http_server_t *srv, rn_http_stats_t *st)
{
    *st = (rn_http_stats_t){.connections = srv->n_conns,
                            .max_connections = srv->max_conns,
                            .accepted = srv->accepted,
                            .buffered_bytes = srv->buffered,
                            .max_buffered_bytes = srv->max_buffered,
                            .h2_out_bytes = srv->h2_out_total};
}

int rn_http_server_metrics(const rn_http_server_t *srv, rn_buf_t *out)
{
    rn_http_stats_t st;
    rn_http_server_stats(srv, &st);
    return rn_buf_printf(out,
                         "# HELP runnel_connections Open client connections\n# TYPE runnel_connections gauge\n"
                         "runnel_connections %zu\n"
                         "# HELP runnel_connections_max Connections at which accepting stops (--max-connections)\n"
                         "# TYPE runnel_connections_max gauge\nrunnel_connections_max %zu\n"
                         "# HELP runnel_connections_accepted_total Connections accepted\n"
                         "# TYPE runnel_connections_accepted_total counter\nrunnel_connections_accepted_total %llu\n"
                         "# HELP runnel_request_bytes_buffered Request bytes held in memory now (--max-buffered-bytes)\n"
                         "# TYPE runnel_request_bytes_buffered gauge\nrunnel_request_bytes_buffered %zu\n"
                         "# HELP runnel_request_bytes_buffered_max The bound on request bytes held in memory\n"
                         "# TYPE runnel_request_bytes_buffered_max gauge\nrunnel_request_bytes_buffered_max %zu\n"
                         "# HELP runnel_http2_out_bytes HTTP/2 answer bytes queued to clients\n"
                         "# TYPE runnel_http2_out_bytes gauge\nrunnel_http2_out_bytes %zu\n",
                         st.connections, st.max_connections, (unsigned long long)st.accepted, st.buffered_bytes,
                         st.max_buffered_bytes, st.h2_out_bytes);
}
