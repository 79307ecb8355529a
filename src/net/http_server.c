/* http_server.c: the listening socket and the connection layer (rn_conn).
 *
 * Flow: accept -> rn_conn with a socket bufferevent -> the first bytes pick
 * the protocol (0x16: TLS, reserved for later; the 24-byte HTTP/2 client
 * preface: h2c via http_h2.c; anything else: HTTP/1.1 via http_h1.c). The
 * HTTP engines only ever use c->bev, so TLS can later be slotted in by
 * wrapping it with bufferevent_openssl_filter_new() in conn_start_tls()
 * and sniffing again on the decrypted stream.
 *
 * Back-pressure: the read high-water mark bounds what one connection can
 * have buffered on input; when its output passes RN_NET_OUT_HIGH we stop
 * reading (and producing) until it drains below RN_NET_OUT_LOW.
 *
 * Closing: connections are freed only from top-level libevent callbacks.
 * rn_conn_close_soon() stops reading and frees the connection once its
 * output is flushed (or after a timeout); after an error response on
 * HTTP/1.1 it first half-closes and discards input for a moment ("lingering
 * close") so the client reads the response instead of a reset.
 */
#include "net/net_int.h"

#include "core/errors.h"
#include "util/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
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
#include <unistd.h>

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24
#define CLOSE_TIMEOUT_S 10 /* give up flushing to a peer that does not read */
#define LINGER_TIMEOUT_S 2 /* discard input this long after an error response */
#define MAX_SINGLE_READ (64 * 1024)

static void conn_readcb(struct bufferevent *bev, void *arg);
static void conn_writecb(struct bufferevent *bev, void *arg);
static void conn_eventcb(struct bufferevent *bev, short what, void *arg);

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
    if (c->kill_ev)
        event_free(c->kill_ev);
    bufferevent_free(c->bev);
    free(c);
}

static void conn_kill_cb(evutil_socket_t fd, short what, void *arg)
{
    rn_conn_t *c = arg;
    if (c->linger) {
        /* Output is flushed: half-close, then read and discard a while. */
        c->linger = 0;
        c->lingering = 1;
        shutdown(bufferevent_getfd(c->bev), SHUT_WR);
        struct timeval tv = {LINGER_TIMEOUT_S, 0};
        bufferevent_set_timeouts(c->bev, &tv, NULL);
        bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
        bufferevent_enable(c->bev, EV_READ);
        return;
    }
    conn_free(c);
}

void rn_conn_close_soon(rn_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    struct timeval tv = {CLOSE_TIMEOUT_S, 0};
    bufferevent_set_timeouts(c->bev, NULL, &tv);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        event_active(c->kill_ev, EV_TIMEOUT, 0);
    /* else conn_writecb fires once the output is flushed */
}

void rn_conn_check_output(rn_conn_t *c)
{
    if (c->closing || c->out_blocked)
        return;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > RN_NET_OUT_HIGH) {
        c->out_blocked = 1;
        bufferevent_disable(c->bev, EV_READ);
        bufferevent_setwatermark(c->bev, EV_WRITE, RN_NET_OUT_LOW, 0);
    }
}

/* ---- protocol selection ------------------------------------------------ */

/* Placeholder for the TLS issue: wrap c->bev in an OpenSSL filter
 * bufferevent (ALPN h2 / http/1.1), reset c->proto to UNKNOWN and sniff the
 * decrypted bytes. Not implemented yet, so TLS connections are refused. */
static int conn_start_tls(rn_conn_t *c)
{
    rn_debug("net: %s: TLS ClientHello on a cleartext listener; closing", c->peer);
    return RN_EPROTO;
}

static void conn_sniff(rn_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_length(in);
    if (n == 0)
        return;
    uint8_t b[H2_PREFACE_LEN];
    size_t m = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
    evbuffer_copyout(in, b, m);
    if (b[0] == 0x16) {
        if (conn_start_tls(c) != 0) {
            evbuffer_drain(in, n);
            rn_conn_close_soon(c);
        }
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

/* ---- bufferevent callbacks --------------------------------------------- */

static void conn_readcb(struct bufferevent *bev, void *arg)
{
    rn_conn_t *c = arg;
    if (c->closing) {
        /* lingering close (or a late read): discard */
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
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

static void conn_writecb(struct bufferevent *bev, void *arg)
{
    rn_conn_t *c = arg;
    size_t out = evbuffer_get_length(bufferevent_get_output(bev));
    if (c->closing) {
        if (out == 0 && !c->lingering)
            conn_kill_cb(-1, 0, c);
        return;
    }
    if (c->out_blocked && out <= RN_NET_OUT_LOW) {
        c->out_blocked = 0;
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        bufferevent_enable(bev, EV_READ);
        if (c->proto == RN_NET_PROTO_H1)
            rn_h1_on_drain(c);
        else if (c->proto == RN_NET_PROTO_H2)
            rn_h2_on_drain(c);
    }
}

static void conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
    rn_conn_t *c = arg;
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->closing &&
        c->proto == RN_NET_PROTO_H1) {
        /* Half-close: answer what is in flight, then close. */
        rn_h1_on_eof(c);
        return;
    }
    if ((what & BEV_EVENT_ERROR) && !c->lingering)
        rn_debug("net: %s: %s", c->peer, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    conn_free(c);
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
    c->srv = srv;
    format_peer(sa, c->peer, sizeof c->peer);
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->kill_ev = event_new(srv->base, -1, 0, conn_kill_cb, c);
    if (!c->bev || !c->kill_ev) {
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->kill_ev)
            event_free(c->kill_ev);
        free(c);
        return;
    }
    bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, RN_NET_IN_HIGH);
    bufferevent_set_max_single_read(c->bev, MAX_SINGLE_READ);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    rn_warn("net: accept failed: %s", evutil_socket_error_to_string(err));
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
    srv->max_body = cfg->max_body ? cfg->max_body : RN_NET_DEFAULT_MAX_BODY;
    rn_net_rng_seed(srv->rng);
    int n = snprintf(srv->body_413, sizeof srv->body_413,
                     "{\"__type\":\"SerializationException\",\"message\":\"Request body exceeds the "
                     "limit of %zu bytes.\"}",
                     srv->max_body);
    srv->body_413_len = (size_t)n;
    srv->listener = evconnlistener_new_bind(
        base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        1024, (struct sockaddr *)&ss, sslen);
    if (!srv->listener) {
        rn_error("net: cannot listen on %s: %s", cfg->listen, strerror(errno));
        *errmsg = "cannot bind or listen on the address";
        free(srv);
        return RN_EIO;
    }
    evconnlistener_set_error_cb(srv->listener, accept_error_cb);
    if (bound_port) {
        struct sockaddr_storage b;
        socklen_t blen = sizeof b;
        *bound_port = 0;
        if (getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&b, &blen) == 0) {
            if (b.ss_family == AF_INET)
                *bound_port = ntohs(((struct sockaddr_in *)&b)->sin_port);
            else if (b.ss_family == AF_INET6)
                *bound_port = ntohs(((struct sockaddr_in6 *)&b)->sin6_port);
        }
    }
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
    while (srv->conns)
        conn_free(srv->conns);
    while (srv->ex_cache) {
        rn_http_exchange_t *ex = srv->ex_cache;
        srv->ex_cache = ex->next;
        rn_buf_dispose(&ex->head);
        rn_buf_dispose(&ex->body);
        free(ex);
    }
    free(srv);
}
