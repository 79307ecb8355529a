/* http_h1.c: HTTP/1.1 on an rn_conn: framing with h1_parse.c, one request
 * in flight per connection, responses written in one evbuffer reservation
 * (large bodies added by reference, not copied).
 *
 * Pipelining: requests are read in order, and the next one is parsed only
 * after the current one is answered, so answers leave in request order
 * without any reordering queue; with a synchronous handler a buffer of
 * pipelined requests is answered in one read callback. Unread pipelined
 * input is bounded by the read high-water mark.
 *
 * Errors in framing answer 400 (431 for oversized heads, 413 for bodies
 * over the limit) with Connection: close, then the connection lingers
 * briefly and closes.
 */
#include "net/net_int.h"

#include "util/status.h"
#include "util/log.h"

#include <assert.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_HEAD = 0,   /* waiting for a request head */
    S_BODY_CL,    /* reading a Content-Length body */
    S_BODY_CHUNK, /* reading a chunked body */
    S_WAIT,       /* dispatched; waiting for rn_http_respond() */
    S_DEAD,       /* error answered; closing */
};

#define INLINE_BODY_MAX 8192 /* bodies up to this are copied next to the head */

static void h1_process(rn_conn_t *c);

/* ---- response writing --------------------------------------------------- */

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static void free_cleanup(const void *data, size_t len, void *extra)
{
    free((void *)data);
}

enum { BODY_FIXED = 0, BODY_CHUNKED, BODY_TO_CLOSE };

/* Write the answer to ex (NULL: no request head was read) to c's output: a
 * complete one (BODY_FIXED: the head with Content-Length and body), or the
 * head of a streaming one (BODY_CHUNKED: Transfer-Encoding: chunked;
 * BODY_TO_CLOSE: HTTP/1.0, the body runs to the close). Every HTTP/1.1
 * answer head is written here, so here it gets the CORS headers. Takes
 * ownership of body. */
static void h1_write_mode(rn_conn_t *c, const rn_http_exchange_t *ex, int minor, int keep_alive,
                          int status, const char *ctype, const rn_http_header_t *extra,
                          size_t n_extra, uint8_t *body, size_t len, int mode)
{
    rn_http_server_t *srv = c->srv;
    const char *request_id = ex ? ex->request_id : "00000000-0000-4000-8000-000000000000";
    rn_http_header_t with_cors[RN_NET_MAX_RESP_HEADERS];
    extra = rn_net_cors_headers(ex, extra, &n_extra, with_cors, RN_NET_MAX_RESP_HEADERS);
    struct evbuffer *out = c->out;
    const char *reason = rn_net_reason(status);
    size_t ctype_len = ctype ? strlen(ctype) : 0;
    char id2[65];
    rn_net_id2(srv, id2);
    const char *date = rn_net_date(srv);

    size_t need = 16 + strlen(reason) + 2;          /* status line */
    need += 18 + 36 + 2;                            /* x-amzn-RequestId */
    need += 12 + 64 + 2;                            /* x-amz-id-2 */
    need += 6 + strlen(date) + 2;                   /* Date */
    need += ctype ? 14 + ctype_len + 2 : 0;         /* Content-Type */
    need += 28 + 2;                                 /* Content-Length or Transfer-Encoding */
    need += 24;                                     /* Connection */
    for (size_t i = 0; i < n_extra; i++)
        need += extra[i].name_len + 2 + extra[i].value_len + 2;
    need += 4 + 32; /* blank line; slack */
    int inline_body = len <= INLINE_BODY_MAX;
    if (inline_body)
        need += len;

    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)need, &v, 1) < 1 || v.iov_len < need) {
        rn_error("net: %s: cannot buffer a response", c->peer);
        free(body);
        rn_conn_close_soon(c);
        return;
    }
    char *p0 = v.iov_base, *p = p0;
    p = PUT_LIT(p, "HTTP/1.1 ");
    p = put_u64(p, (uint64_t)status);
    *p++ = ' ';
    p = put(p, reason, strlen(reason));
    p = PUT_LIT(p, "\r\nx-amzn-RequestId: ");
    p = put(p, request_id, strlen(request_id));
    p = PUT_LIT(p, "\r\nx-amz-id-2: ");
    p = put(p, id2, 64);
    p = PUT_LIT(p, "\r\nDate: ");
    p = put(p, date, strlen(date));
    if (ctype) {
        p = PUT_LIT(p, "\r\nContent-Type: ");
        p = put(p, ctype, ctype_len);
    }
    if (mode == BODY_FIXED) {
        p = PUT_LIT(p, "\r\nContent-Length: ");
        p = put_u64(p, len);
    } else if (mode == BODY_CHUNKED) {
        p = PUT_LIT(p, "\r\nTransfer-Encoding: chunked");
    }
    if (!keep_alive)
        p = PUT_LIT(p, "\r\nConnection: close");
    else if (minor == 0)
        p = PUT_LIT(p, "\r\nConnection: keep-alive");
    p = PUT_LIT(p, "\r\n");
    for (size_t i = 0; i < n_extra; i++) {
        if (!rn_net_header_ok(&extra[i])) {
            rn_warn("net: dropping an invalid response header");
            continue;
        }
        p = put(p, extra[i].name, extra[i].name_len);
        p = PUT_LIT(p, ": ");
        p = put(p, extra[i].value, extra[i].value_len);
        p = PUT_LIT(p, "\r\n");
    }
    p = PUT_LIT(p, "\r\n");
    if (inline_body && len)
        p = put(p, (const char *)body, len);
    assert((size_t)(p - p0) <= need);
    v.iov_len = (size_t)(p - p0);
    evbuffer_commit_space(out, &v, 1);
    if (inline_body) {
        free(body);
    } else if (evbuffer_add_reference(out, body, len, free_cleanup, NULL) != 0) {
        free(body);
        rn_conn_close_soon(c);
        return;
    }
    rn_conn_output_added(c);
}

static void h1_write(rn_conn_t *c, const rn_http_exchange_t *ex, int minor, int keep_alive,
                     int status, const char *ctype, const rn_http_header_t *extra, size_t n_extra,
                     uint8_t *body, size_t len)
{
    h1_write_mode(c, ex, minor, keep_alive, status, ctype, extra, n_extra, body, len, BODY_FIXED);
}

/* Answer a framing error and close; the request (if any) is dropped. */
static void h1_fail(rn_conn_t *c, int status, const char *why)
{
    rn_h1_state_t *h = &c->h1;
    rn_http_server_t *srv = c->srv;
    rn_debug("net: %s: HTTP/1.1 %d: %s", c->peer, status, why ? why : "");
    uint8_t *body = NULL;
    size_t len = 0;
    const char *ctype = NULL;
    if (status == 413) {
        body = malloc(srv->body_413_len + 1);
        if (body) {
            memcpy(body, srv->body_413, srv->body_413_len);
            len = srv->body_413_len;
            ctype = "application/x-amz-json-1.1";
        }
    } else if (status == 503) {
        body = rn_net_body_503(srv, &len);
        if (body)
            ctype = "application/x-amz-json-1.1";
    }
    h1_write(c, h->ex, 1, 0, status, ctype, NULL, 0, body, len);
    if (h->ex) {
        rn_ex_release(h->ex);
        h->ex = NULL;
    }
    h->state = S_DEAD;
    c->linger = 1;
    rn_conn_close_soon(c);
}

/* ---- request reading ---------------------------------------------------- */

static void h1_dispatch(rn_conn_t *c)
{
    rn_h1_state_t *h = &c->h1;
    h->state = S_WAIT;
    rn_ex_dispatch(h->ex); /* may answer (and clear h->ex) before returning */
}

/* Parse a head from the input. Returns 1 on progress, 0 to stop. */
static int h1_read_head(rn_conn_t *c, struct evbuffer *in, size_t avail)
{
    rn_h1_state_t *h = &c->h1;
    rn_http_server_t *srv = c->srv;
    if (!h->ex) {
        h->ex = rn_ex_new(srv, c);
        if (!h->ex) {
            h1_fail(c, 500, "out of memory");
            return 0;
        }
    }
    rn_http_exchange_t *ex = h->ex;
    rn_h1_head_t hd;
    const char *why = NULL;
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
        return 0;
    const uint8_t *p = v.iov_base;
    size_t plen = v.iov_len;
    long r = rn_h1_parse_head(p, plen, &hd, ex->headers, RN_NET_MAX_HEADERS, &why);
    if (r == RN_EAGAIN && plen < avail) {
        /* The head spans buffer chunks: make (at most the limit) contiguous. */
        size_t want = avail < RN_NET_MAX_HEAD_BYTES + 1 ? avail : RN_NET_MAX_HEAD_BYTES + 1;
        p = evbuffer_pullup(in, (ev_ssize_t)want);
        if (!p) {
            h1_fail(c, 500, "out of memory");
            return 0;
        }
        plen = want;
        r = rn_h1_parse_head(p, plen, &hd, ex->headers, RN_NET_MAX_HEADERS, &why);
    }
    if (r == RN_EAGAIN)
        return 0;
    if (r == RN_ETOOBIG) {
        h1_fail(c, 431, why);
        return 0;
    }
    if (r < 0) {
        h1_fail(c, 400, why);
        return 0;
    }

    /* Keep a private copy of the head; NUL-terminate every field in it. */
    size_t hl = (size_t)r;
    rn_buf_reset(&ex->head);
    if (rn_buf_append(&ex->head, p, hl) != 0) {
        h1_fail(c, 500, "out of memory");
        return 0;
    }
    char *base = (char *)ex->head.data;
#define REBASE(ptr) (base + ((const uint8_t *)(ptr) - p))
    char *m = REBASE(hd.method), *t = REBASE(hd.target);
    m[hd.method_len] = 0;
    t[hd.target_len] = 0;
    ex->req.method = m;
    ex->req.path = t;
    ex->req.authority = "";
    for (size_t i = 0; i < hd.n_headers; i++) {
        rn_http_header_t *hh = &ex->headers[i];
        char *name = REBASE(hh->name), *value = REBASE(hh->value);
        name[hh->name_len] = 0;
        value[hh->value_len] = 0;
        hh->name = name;
        hh->value = value;
    }
    if (hd.host)
        ex->req.authority = REBASE(hd.host);
#undef REBASE
    ex->req.n_headers = hd.n_headers;
    ex->req.http2 = 0;
    ex->keep_alive = hd.keep_alive;
    ex->minor = (unsigned)hd.minor_version;
    rn_net_cors_note(ex); /* before any answer, the 413 below included */
    evbuffer_drain(in, hl);
    rn_conn_served(c);
    ex->start_ms = rn_net_now_ms(); /* the body's rate counts from here */

    int body_waiting = evbuffer_get_length(in) == 0;
    if (hd.chunked) {
        rn_h1_chunked_init(&h->chunked);
        h->state = S_BODY_CHUNK;
    } else if (hd.content_length > 0) {
        if ((uint64_t)hd.content_length > srv->max_body) {
            h1_fail(c, 413, "body over the limit");
            return 0;
        }
        /* The whole announced body counts against the server's budget now
         * (it is reserved in one piece below). */
        if (rn_ex_charge(ex, (size_t)hd.content_length) != 0) {
            rn_net_budget_warn(srv, c->peer);
            h1_fail(c, 503, "server-wide body budget");
            return 0;
        }
        if (rn_buf_reserve(&ex->body, (size_t)hd.content_length) != 0) {
            h1_fail(c, 500, "out of memory");
            return 0;
        }
        h->body_left = (uint64_t)hd.content_length;
        h->state = S_BODY_CL;
    } else {
        h1_dispatch(c);
        return 1;
    }
    if (hd.expect_continue && body_waiting) {
        evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        rn_conn_output_added(c);
    }
    return 1;
}

static void h1_process(rn_conn_t *c)
{
    rn_h1_state_t *h = &c->h1;
    if (h->in_process)
        return;
    h->in_process = 1;
    struct evbuffer *in = c->in;
    while (!c->closing && !c->out_blocked) {
        size_t avail = evbuffer_get_length(in);
        if (h->state == S_WAIT || h->state == S_DEAD || avail == 0)
            break;
        if (h->state == S_HEAD) {
            if (!h1_read_head(c, in, avail))
                break;
        } else if (h->state == S_BODY_CL) {
            rn_buf_t *b = &h->ex->body;
            size_t n = avail < h->body_left ? avail : (size_t)h->body_left;
            /* reserved for the whole Content-Length when the head was read */
            int got = evbuffer_remove(in, b->data + b->len, n);
            if (got < 0) {
                h1_fail(c, 500, "read failed");
                break;
            }
            b->len += (size_t)got;
            b->data[b->len] = 0;
            h->body_left -= (size_t)got;
            if (h->body_left == 0)
                h1_dispatch(c);
        } else if (h->state == S_BODY_CHUNK) {
            struct evbuffer_iovec v[8];
            int nv = evbuffer_peek(in, -1, NULL, v, 8);
            if (nv > 8)
                nv = 8;
            size_t total = 0;
            int rc = 0;
            for (int i = 0; i < nv && rc == 0; i++) {
                size_t used = 0;
                rc = rn_h1_chunked_feed(&h->chunked, v[i].iov_base, v[i].iov_len, &used,
                                        &h->ex->body);
                total += used;
            }
            evbuffer_drain(in, total);
            if (rc >= 0 && h->ex->body.len > h->ex->charged &&
                rn_ex_charge(h->ex, h->ex->body.len - h->ex->charged) != 0) {
                rn_net_budget_warn(c->srv, c->peer);
                h1_fail(c, 503, "server-wide body budget");
                break;
            }
            if (rc == 1) {
                h1_dispatch(c);
            } else if (rc == RN_ETOOBIG) {
                h1_fail(c, 413, "chunked body over the limit");
                break;
            } else if (rc == RN_ENOMEM) {
                h1_fail(c, 500, "out of memory");
                break;
            } else if (rc < 0) {
                h1_fail(c, 400, "bad chunked framing");
                break;
            }
        }
    }
    h->in_process = 0;
    if (h->state == S_HEAD && evbuffer_get_length(in) > 0) {
        /* a partial head: it must be complete within the read timeout */
        if (c->head_start == 0)
            c->head_start = rn_net_now_ms();
    } else {
        c->head_start = 0;
    }
    if (h->read_eof && h->state != S_WAIT && !c->closing)
        rn_conn_close_soon(c);
}

/* ---- engine entry points ------------------------------------------------ */

void rn_h1_start(rn_conn_t *c)
{
    c->h1.state = S_HEAD;
    h1_process(c);
}

void rn_h1_on_read(rn_conn_t *c)
{
    h1_process(c);
}

void rn_h1_on_drain(rn_conn_t *c)
{
    h1_process(c);
}

void rn_h1_on_eof(rn_conn_t *c)
{
    c->h1.read_eof = 1;
    /* A streaming answer runs until the application ends it: a peer that
     * closed its side has left (clients close the socket to stop reading an
     * event stream), so the stream ends (RN_HTTP_STREAM_CLOSED, when the
     * connection is freed). */
    if (c->h1.state != S_WAIT || (c->h1.ex && c->h1.ex->streaming))
        rn_conn_close_soon(c);
}

static int h1_keep_alive(rn_conn_t *c, const rn_http_exchange_t *ex)
{
    return ex->keep_alive && !c->srv->shutting_down && !c->h1.read_eof;
}

/* ex is answered (its last byte is in c->out): release it and go on with the
 * next request, or close. */
static void h1_answered(rn_conn_t *c, rn_http_exchange_t *ex, int keep_alive)
{
    rn_h1_state_t *h = &c->h1;
    if (h->ex == ex)
        h->ex = NULL;
    rn_ex_release(ex);
    if (!keep_alive) {
        h->state = S_DEAD;
        rn_conn_close_soon(c);
        return;
    }
    if (h->state == S_WAIT)
        h->state = S_HEAD;
    h1_process(c); /* next pipelined request, unless we are already inside */
}

void rn_h1_respond(rn_http_exchange_t *ex, int status, const char *content_type,
                   const rn_http_header_t *extra, size_t n_extra, uint8_t *body, size_t len)
{
    rn_conn_t *c = ex->conn;
    int keep_alive = h1_keep_alive(c, ex);
    h1_write(c, ex, ex->minor, keep_alive, status, content_type, extra, n_extra, body, len);
    h1_answered(c, ex, keep_alive);
}

/* ---- streaming answers ------------------------------------------------------
 * The exchange stays h->ex (state S_WAIT) while it streams, so pipelined
 * requests wait behind it as behind any answer. Pushed bytes go into c->out
 * at once, one chunk each; rn_http_stream_queued() is then what the socket
 * (or TLS) has not taken, and the application's bound on it is the
 * back-pressure. A peer that does not read fills the socket: write_ev stays
 * pending and the output-stall rule (read timeout) drops the connection,
 * which ends the stream (RN_HTTP_STREAM_CLOSED). */

int rn_h1_stream_start(rn_http_exchange_t *ex, int status, const char *content_type)
{
    rn_conn_t *c = ex->conn;
    /* HTTP/1.0 has no chunked coding: the body runs to the close. */
    ex->stream_chunked = ex->minor >= 1;
    int keep_alive = ex->stream_chunked && h1_keep_alive(c, ex);
    if (!keep_alive)
        ex->keep_alive = 0;
    h1_write_mode(c, ex, ex->minor, keep_alive, status, content_type, NULL, 0, NULL, 0,
                  ex->stream_chunked ? BODY_CHUNKED : BODY_TO_CLOSE);
    return c->closing ? -1 : 0;
}

void rn_h1_stream_push(rn_http_exchange_t *ex, const uint8_t *p, size_t n)
{
    rn_conn_t *c = ex->conn;
    if (c->closing)
        return;
    int rc = 0;
    if (ex->stream_chunked) {
        char size[24];
        int k = snprintf(size, sizeof size, "%zx\r\n", n);
        rc |= evbuffer_add(c->out, size, (size_t)k);
        rc |= evbuffer_add(c->out, p, n);
        rc |= evbuffer_add(c->out, "\r\n", 2);
    } else {
        rc = evbuffer_add(c->out, p, n);
    }
    if (rc != 0) {
        rn_conn_close_soon(c); /* out of memory: the stream is cut short */
        return;
    }
    if (rn_conn_unsent(c) >= RN_HTTP_STREAM_LOW)
        ex->stream_high = 1;
    rn_conn_output_added(c);
}

void rn_h1_stream_end(rn_http_exchange_t *ex)
{
    rn_conn_t *c = ex->conn;
    int keep_alive = ex->keep_alive && !c->closing && h1_keep_alive(c, ex);
    if (!c->closing) {
        if (ex->stream_chunked)
            evbuffer_add(c->out, "0\r\n\r\n", 5); /* the last chunk, no trailers */
        rn_conn_output_added(c);
    }
    if (c->h1.state == S_WAIT || c->h1.ex == ex)
        h1_answered(c, ex, keep_alive);
    else
        rn_ex_release(ex);
}

void rn_h1_on_written(rn_conn_t *c)
{
    rn_http_exchange_t *ex = c->h1.ex;
    if (!ex || !ex->streaming || !ex->stream_high || ex->answered ||
        rn_conn_unsent(c) >= RN_HTTP_STREAM_LOW)
        return;
    ex->stream_high = 0;
    if (ex->stream_fn)
        ex->stream_fn(ex->stream_ud, RN_HTTP_STREAM_WRITABLE);
}

void rn_h1_shutdown(rn_conn_t *c)
{
    rn_h1_state_t *h = &c->h1;
    if (h->state == S_HEAD && !h->ex && evbuffer_get_length(c->in) == 0)
        rn_conn_close_soon(c);
    /* otherwise the answer in progress carries Connection: close */
}

rn_net_tmo_t rn_h1_timeout(rn_conn_t *c, uint64_t *since)
{
    rn_h1_state_t *h = &c->h1;
    switch (h->state) {
    case S_HEAD:
        if (evbuffer_get_length(c->in) == 0 || c->head_start == 0) {
            *since = c->last_active;
            return RN_NET_TMO_IDLE;
        }
        *since = c->head_start; /* the whole head, not just the last byte */
        return RN_NET_TMO_READ;
    case S_BODY_CL:
    case S_BODY_CHUNK:
        /* stalled for the read timeout, or slower than the minimum rate */
        *since = h->ex ? rn_net_body_since(c->srv, c->last_read, h->ex->start_ms, h->ex->body.len)
                       : c->last_read;
        return RN_NET_TMO_READ;
    default: /* S_WAIT: with the application; S_DEAD: closing */
        return RN_NET_TMO_NONE;
    }
}

void rn_h1_on_timeout(rn_conn_t *c)
{
    h1_fail(c, 408, "request not received in time");
}

int rn_h1_is_idle(rn_conn_t *c)
{
    return c->h1.state == S_HEAD && !c->h1.ex && evbuffer_get_length(c->in) == 0;
}

void rn_h1_free(rn_conn_t *c)
{
    if (c->h1.ex) {
        rn_ex_detach(c->h1.ex);
        c->h1.ex = NULL;
    }
}
