/* http_h2.c: HTTP/2 (h2c with prior knowledge) on an rn_conn, via nghttp2.
 *
 * nghttp2 does the protocol (HPACK, flow control with automatic
 * WINDOW_UPDATE, PING, SETTINGS, stream states); this file maps streams to
 * exchanges. Each request stream gets an exchange as nghttp2 stream user
 * data when its HEADERS begin; header bytes and DATA accumulate in it and
 * it is dispatched on END_STREAM. Answers may come in any order and at any
 * time: rn_h2_respond() submits the response (body sent without a copy
 * through send_data_callback) and asks the connection layer to write; the
 * frames are produced by rn_h2_send() right before the one write of the
 * loop iteration, so the answers of a batch leave together.
 *
 * Limits: 100 concurrent streams; 100 headers and 64 KiB of header bytes per
 * request (else RST_STREAM); bodies over max_body get a 413 and, if the
 * client is still sending, RST_STREAM(NO_ERROR) after it; the bodies
 * buffered on one connection are capped at RN_NET_H2_CONN_BODY_MAX
 * (further streams get RST_STREAM(ENHANCE_YOUR_CALM)). Floods: PING,
 * SETTINGS and PRIORITY frames beyond a token bucket end the session with
 * GOAWAY(ENHANCE_YOUR_CALM); RST_STREAM (rapid reset), queued ACKs,
 * SETTINGS entries and CONTINUATION frames are capped through nghttp2
 * options. Timeouts: idle (no stream) and stalled or too slow request ->
 * GOAWAY.
 *
 * Output: unsent answer bytes per connection are counted (h2_out_bytes);
 * at RN_NET_H2_OUT_BUDGET completed requests are held, not dispatched,
 * until the peer's windows let the output drain. An answer whose stream
 * sends no DATA for the idle timeout is reset (RST_STREAM CANCEL), and if
 * nothing at all left the connection the held requests are refused
 * (REFUSED_STREAM): a peer announcing zero windows holds memory for one
 * idle timeout, not for good.
 */
#include "net/net_int.h"

#include "util/status.h"
#include "util/log.h"

#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESP_HEADERS RN_NET_MAX_RESP_HEADERS
#define LNAME_BUF 4096

/* Control-frame flood guard (PING, SETTINGS, PRIORITY received): a token
 * bucket per connection; when it runs dry the session ends with GOAWAY
 * (ENHANCE_YOUR_CALM). Honest clients send a handful. */
#define CTL_BURST 1000.0
#define CTL_RATE 100.0 /* tokens per second */

/* ---- the output budget ------------------------------------------------------ */

/* Answer bytes of ex not yet in DATA frames. */
static size_t h2_pending(const rn_http_exchange_t *ex)
{
    size_t n = ex->resp_body ? ex->resp_len - ex->resp_off : 0;
    return n + (ex->sq ? evbuffer_get_length(ex->sq) : 0);
}

/* n answer bytes of c are no longer pending (sent or dropped). */
static void h2_out_sub(rn_conn_t *c, size_t n)
{
    rn_http_server_t *srv = c->srv;
    if (n > c->h2_out_bytes)
        n = c->h2_out_bytes;
    c->h2_out_bytes -= n;
    srv->h2_out_total = srv->h2_out_total > n ? srv->h2_out_total - n : 0;
}

/* Should a request completed on c wait? Over its own budget; or, while the
 * server as a whole holds max_buffered unsent answer bytes, when c itself
 * is behind (more than RN_NET_OUT_LOW unsent), so that clients that keep
 * up are not held by those that do not. */
static int h2_over_budget(const rn_conn_t *c)
{
    return c->h2_out_bytes >= RN_NET_H2_OUT_BUDGET ||
           (c->srv->h2_out_total >= c->srv->max_buffered && c->h2_out_bytes > RN_NET_OUT_LOW);
}

/* n answer bytes of ex left in DATA frames: progress. */
static void h2_out_sent(rn_conn_t *c, rn_http_exchange_t *ex, size_t n)
{
    h2_out_sub(c, n);
    c->h2_data_at = rn_net_now_ms();
    ex->out_since = h2_pending(ex) ? c->h2_data_at : 0;
}

/* n more answer bytes of ex wait for the peer's window. */
static void h2_out_added(rn_conn_t *c, rn_http_exchange_t *ex, size_t n)
{
    if (n == 0)
        return;
    c->h2_out_bytes += n;
    c->srv->h2_out_total += n;
    if (!ex->out_since)
        ex->out_since = rn_net_now_ms();
}

/* Dispatch held requests, oldest stream first, while the output is under
 * its budget. Not from inside nghttp2 callbacks (the handler may answer at
 * once, which submits frames). */
static void h2_dispatch_held(rn_conn_t *c)
{
    while (c->h2_held > 0 && !h2_over_budget(c) && !c->closing) {
        rn_http_exchange_t *first = NULL;
        for (rn_http_exchange_t *ex = c->exchanges; ex; ex = ex->next)
            if (ex->held && (!first || ex->stream_id < first->stream_id))
                first = ex;
        if (!first) {
            c->h2_held = 0;
            break;
        }
        first->held = 0;
        c->h2_held--;
        rn_ex_dispatch(first); /* may answer, and so grow h2_out_bytes */
    }
}

/* ---- sending -------------------------------------------------------------- */

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    rn_conn_t *c = ud;
    struct evbuffer *out = c->out;
    if (evbuffer_get_length(out) >= RN_NET_OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (evbuffer_add(out, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

static ssize_t data_read_cb(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *src, void *ud)
{
    rn_http_exchange_t *ex = src->ptr;
    if (ex->streaming) {
        /* Streaming: copy what was pushed; wait (DEFERRED) when nothing is. */
        size_t q = evbuffer_get_length(ex->sq);
        if (q == 0) {
            if (ex->stream_ending) {
                *data_flags |= NGHTTP2_DATA_FLAG_EOF;
                return 0;
            }
            ex->stream_deferred = 1;
            return NGHTTP2_ERR_DEFERRED;
        }
        size_t take = q < length ? q : length;
        if (evbuffer_remove(ex->sq, buf, take) != (int)take)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        h2_out_sent(ud, ex, take);
        if (ex->stream_ending && take == q)
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (ex->stream_high && q - take < RN_HTTP_STREAM_LOW) {
            ex->stream_high = 0;
            if (ex->stream_fn)
                ex->stream_fn(ex->stream_ud, RN_HTTP_STREAM_WRITABLE);
        }
        return (ssize_t)take;
    }
    size_t left = ex->resp_len - ex->resp_off;
    size_t n = left < length ? left : length;
    *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == left)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* The DATA payload goes from the response body straight into the output. */
static int send_data_cb(nghttp2_session *s, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *src, void *ud)
{
    rn_conn_t *c = ud;
    rn_http_exchange_t *ex = src->ptr;
    struct evbuffer *out = c->out;
    if (evbuffer_get_length(out) >= RN_NET_OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK;
    size_t padlen = frame->data.padlen;
    if (evbuffer_add(out, framehd, 9) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (padlen > 0) {
        uint8_t pl = (uint8_t)(padlen - 1);
        evbuffer_add(out, &pl, 1);
    }
    if (evbuffer_add(out, ex->resp_body + ex->resp_off, length) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    ex->resp_off += length;
    h2_out_sent(c, ex, length);
    if (padlen > 1) {
        static const uint8_t zeros[256];
        evbuffer_add(out, zeros, padlen - 1);
    }
    return 0;
}

static int frame_send_cb(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    rn_http_exchange_t *ex = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    /* A 413 went out while the client may still be sending: stop it. */
    if (ex && ex->too_big && !nghttp2_session_get_stream_remote_close(s, frame->hd.stream_id))
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

/* ---- receiving ------------------------------------------------------------ */

static void h2_body_unaccount(rn_conn_t *c, rn_http_exchange_t *ex)
{
    size_t n = ex->body.len;
    c->h2_body_bytes = c->h2_body_bytes > n ? c->h2_body_bytes - n : 0;
}

/* Refuse a request whose body is arriving: 413 (over max_body) or 503
 * (over the server-wide budget). Its data is dropped from now on, and if
 * the client is still sending when the answer's END_STREAM leaves, the
 * stream is reset (frame_send_cb). */
static void h2_refuse(rn_conn_t *c, rn_http_exchange_t *ex, int status)
{
    rn_http_server_t *srv = c->srv;
    h2_body_unaccount(c, ex);
    rn_buf_dispose(&ex->body);
    rn_ex_uncharge(ex);
    ex->too_big = 1;
    ex->answered = 1;
    uint8_t *body = NULL;
    size_t len = 0;
    if (status == 503) {
        rn_net_budget_warn(srv, c->peer);
        body = rn_net_body_503(srv, &len);
    } else if ((body = malloc(srv->body_413_len + 1))) {
        memcpy(body, srv->body_413, srv->body_413_len);
        len = srv->body_413_len;
    }
    rn_h2_respond(ex, status, "application/x-amz-json-1.1", NULL, 0, body, len);
}

static int begin_headers_cb(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    rn_conn_t *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    rn_http_exchange_t *ex = rn_ex_new(c->srv, c);
    c->h2_hdr_ex = ex;
    if (!ex) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    ex->stream_id = frame->hd.stream_id;
    ex->req.http2 = 1;
    c->last_active = c->last_read;
    rn_ex_link(c, ex);
    nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, ex);
    return 0;
}

/* Copy "bytes\0" to w; returns the end. */
static uint8_t *put_z(uint8_t *w, const uint8_t *p, size_t n)
{
    if (n)
        memcpy(w, p, n);
    w[n] = 0;
    return w + n + 1;
}

/* Append "a\0" and, when b is not NULL, "b\0" to the head buffer with one
 * reservation; *off gets where a starts (b follows it at *off + an + 1). */
static int head_put(rn_http_exchange_t *ex, const uint8_t *a, size_t an, const uint8_t *b,
                    size_t bn, size_t *off)
{
    rn_buf_t *hb = &ex->head;
    size_t need = an + 1 + (b ? bn + 1 : 0);
    if (rn_buf_reserve(hb, need) != 0)
        return -1;
    uint8_t *w = put_z(hb->data + hb->len, a, an);
    if (b)
        put_z(w, b, bn);
    *off = hb->len;
    hb->len += need;
    hb->data[hb->len] = 0; /* rn_buf's terminating NUL */
    return 0;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
    rn_conn_t *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are ignored */
    rn_http_exchange_t *ex = c->h2_hdr_ex; /* made by begin_headers_cb for this block */
    if (!ex || ex->stream_id != frame->hd.stream_id)
        return 0;
    size_t off;
    if (namelen > 0 && name[0] == ':') {
        int *has = NULL;
        size_t *where = NULL;
        if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
            has = &ex->has_method;
            where = &ex->method_off;
        } else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
            has = &ex->has_path;
            where = &ex->path_off;
        } else if (namelen == 10 && memcmp(name, ":authority", 10) == 0) {
            has = &ex->has_authority;
            where = &ex->authority_off;
        } else {
            return 0; /* :scheme; nghttp2 validates the set */
        }
        if (head_put(ex, value, valuelen, NULL, 0, &off) != 0)
            goto too_big;
        *has = 1;
        *where = off;
        return 0;
    }
    if (ex->req.n_headers >= RN_NET_MAX_HEADERS)
        goto too_big;
    size_t noff;
    if (head_put(ex, name, namelen, value, valuelen, &noff) != 0)
        goto too_big;
    size_t voff = noff + namelen + 1;
    /* offsets for now: the buffer may move while it grows */
    rn_http_header_t *h = &ex->headers[ex->req.n_headers++];
    h->name = (const char *)(uintptr_t)noff;
    h->name_len = namelen;
    h->value = (const char *)(uintptr_t)voff;
    h->value_len = valuelen;
    if (namelen == 4 && memcmp(name, "host", 4) == 0) {
        ex->has_host = 1;
        ex->host_off = voff;
    }
    return 0;
too_big:
    ex->hdr_error = 1;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM for this stream only */
}

/* End of the request headers: turn offsets into pointers, check the length. */
static void h2_headers_done(rn_conn_t *c, rn_http_exchange_t *ex)
{
    const char *base = (const char *)ex->head.data;
    if (!base)
        base = "";
    for (size_t i = 0; i < ex->req.n_headers; i++) {
        rn_http_header_t *h = &ex->headers[i];
        h->name = base + (uintptr_t)h->name;
        h->value = base + (uintptr_t)h->value;
    }
    ex->req.method = ex->has_method ? base + ex->method_off : "";
    ex->req.path = ex->has_path ? base + ex->path_off : "";
    ex->req.authority = ex->has_authority ? base + ex->authority_off
                        : ex->has_host    ? base + ex->host_off
                                          : "";
    rn_net_cors_note(ex); /* before any answer, the 413 below included */
    size_t cl_len;
    const char *cl = rn_http_header_get(&ex->req, "content-length", &cl_len);
    if (cl && cl_len > 0 && cl_len <= 18) {
        uint64_t n = 0;
        for (size_t i = 0; i < cl_len; i++)
            n = n * 10 + (uint64_t)(cl[i] - '0'); /* nghttp2 checked the digits */
        if (n > c->srv->max_body) {
            h2_refuse(c, ex, 413);
            return;
        }
        if (rn_ex_charge(ex, (size_t)n) != 0) {
            h2_refuse(c, ex, 503);
            return;
        }
        /* One allocation for the whole body when its size is announced; on
         * failure the body simply grows as DATA arrives. */
        if (n > 0 && c->h2_body_bytes + n <= RN_NET_H2_CONN_BODY_MAX &&
            rn_buf_reserve(&ex->body, (size_t)n) != 0)
            rn_debug("net: %s: cannot preallocate a %llu-byte body", c->peer,
                     (unsigned long long)n);
    }
}

/* 0, or -1 when the peer sends control frames faster than CTL_RATE after
 * a burst of CTL_BURST. */
static int h2_ctl_take(rn_conn_t *c)
{
    uint64_t now = rn_net_now_ms();
    c->h2_ctl_tokens += (double)(now - c->h2_ctl_at) * (CTL_RATE / 1000.0);
    if (c->h2_ctl_tokens > CTL_BURST)
        c->h2_ctl_tokens = CTL_BURST;
    c->h2_ctl_at = now;
    if (c->h2_ctl_tokens < 1.0)
        return -1;
    c->h2_ctl_tokens -= 1.0;
    return 0;
}

static int frame_recv_cb(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    rn_conn_t *c = ud;
    if (frame->hd.type == NGHTTP2_PING || frame->hd.type == NGHTTP2_SETTINGS ||
        frame->hd.type == NGHTTP2_PRIORITY) {
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && h2_ctl_take(c) != 0) {
            rn_warn("net: %s: HTTP/2 control frame flood; closing", c->peer);
            nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
        }
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    rn_http_exchange_t *ex = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!ex)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        rn_conn_served(c);
        h2_headers_done(c, ex);
    }
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !ex->answered && !ex->dispatched &&
        !ex->hdr_error && !ex->held) {
        /* Over the output budget the request waits (h2_dispatch_held), so
         * a peer that does not read cannot make the application produce
         * more. Input is still read: WINDOW_UPDATEs are what drain it. */
        if (h2_over_budget(c) || c->h2_held > 0) {
            ex->held = 1;
            c->h2_held++;
        } else {
            rn_ex_dispatch(ex);
        }
    }
    return 0;
}

static int data_chunk_cb(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *ud)
{
    rn_conn_t *c = ud;
    rn_http_exchange_t *ex = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!ex || ex->answered || ex->too_big || ex->dispatched)
        return 0;
    if (len > c->srv->max_body - ex->body.len) {
        h2_refuse(c, ex, 413);
        return 0;
    }
    if (ex->body.len + len > ex->charged &&
        rn_ex_charge(ex, ex->body.len + len - ex->charged) != 0) {
        h2_refuse(c, ex, 503);
        return 0;
    }
    if (c->h2_body_bytes + len > RN_NET_H2_CONN_BODY_MAX) {
        rn_warn("net: %s: too much buffered request body on one connection", c->peer);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_ENHANCE_YOUR_CALM);
        ex->hdr_error = 1;
        return 0;
    }
    if (rn_buf_append(&ex->body, data, len) != 0) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
        ex->hdr_error = 1;
        return 0;
    }
    c->h2_body_bytes += len;
    return 0;
}

static int stream_close_cb(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    rn_conn_t *c = ud;
    rn_http_exchange_t *ex = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!ex)
        return 0;
    nghttp2_session_set_stream_user_data(s, stream_id, NULL);
    if (c->h2_hdr_ex == ex)
        c->h2_hdr_ex = NULL;
    c->last_active = rn_net_now_ms();
    h2_body_unaccount(c, ex);
    h2_out_sub(c, h2_pending(ex));
    ex->out_since = 0;
    if (ex->held) {
        ex->held = 0;
        c->h2_held--;
    }
    rn_ex_unlink(ex);
    rn_ex_detach(ex); /* orphaned if the application still holds it */
    return 0;
}

/* ---- engine entry points -------------------------------------------------- */

int rn_h2_start(rn_conn_t *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return RN_ENOMEM;
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, frame_send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, frame_recv_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_chunk_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, stream_close_cb);
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        return RN_ENOMEM;
    }
    /* Flood limits, stated rather than left to the library's defaults:
     * queued SETTINGS/PING ACKs (a backstop: the CTL_BURST bucket ends the
     * session earlier, with a GOAWAY), SETTINGS entries per frame, CONTINUATION
     * frames per header block, and the rapid-reset token bucket (burst,
     * per second) for RST_STREAM received. Closed streams are not kept. */
    nghttp2_option_set_max_outbound_ack(opt, 4 * (size_t)CTL_BURST); /* ours trips first */
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_option_set_max_continuations(opt, 8);
    nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
    nghttp2_option_set_no_closed_streams(opt, 1);
    int rv = nghttp2_session_server_new2(&c->h2, cb, c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0)
        return RN_ENOMEM;
    c->h2_ctl_tokens = CTL_BURST;
    c->h2_ctl_at = c->h2_data_at = rn_net_now_ms();
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, RN_NET_H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, RN_NET_H2_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, RN_NET_MAX_HEAD_BYTES},
    };
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, RN_NET_H2_WINDOW) != 0)
        return RN_ENOMEM; /* the session is freed with the connection */
    rn_h2_on_read(c);
    return 0;
}

void rn_h2_on_read(rn_conn_t *c)
{
    struct evbuffer *in = c->in;
    c->h2_in_recv = 1;
    while (!c->closing && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v[4];
        int nv = evbuffer_peek(in, -1, NULL, v, 4);
        if (nv > 4)
            nv = 4;
        size_t used = 0;
        int failed = 0;
        for (int i = 0; i < nv; i++) {
            ssize_t r = nghttp2_session_mem_recv(c->h2, v[i].iov_base, v[i].iov_len);
            if (r < 0) {
                rn_debug("net: %s: HTTP/2 error: %s", c->peer, nghttp2_strerror((int)r));
                failed = 1;
                break;
            }
            used += (size_t)r;
        }
        evbuffer_drain(in, used);
        if (failed) {
            c->h2_in_recv = 0;
            /* Let nghttp2 send its GOAWAY, then close. */
            nghttp2_session_send(c->h2);
            evbuffer_drain(in, evbuffer_get_length(in));
            rn_conn_close_soon(c);
            return;
        }
    }
    c->h2_in_recv = 0;
    /* the connection layer calls rn_h2_send() and writes once, after this */
}

void rn_h2_send(rn_conn_t *c)
{
    if (c->h2_in_recv || c->closing)
        return;
    int rv = nghttp2_session_send(c->h2);
    if (rv != 0) {
        rn_debug("net: %s: HTTP/2 send: %s", c->peer, nghttp2_strerror(rv));
        rn_conn_close_soon(c);
        return;
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        rn_conn_close_soon(c);
        return;
    }
    if (c->h2_held > 0)
        h2_dispatch_held(c); /* answers made here are written by a later flush */
}

void rn_h2_on_drain(rn_conn_t *c)
{
    rn_conn_output_added(c);
}

/* The earliest of: a request still arriving that stalled or is slower than
 * the minimum body rate (READ), an answer that made no progress (OUTPUT);
 * IDLE with no stream; NONE when every open stream is with the application
 * and its output (if any) moves. */
rn_net_tmo_t rn_h2_timeout(rn_conn_t *c, uint64_t *since)
{
    rn_http_server_t *srv = c->srv;
    if (!c->exchanges) {
        *since = c->last_active;
        return RN_NET_TMO_IDLE;
    }
    rn_net_tmo_t kind = RN_NET_TMO_NONE;
    uint64_t best = UINT64_MAX;
    for (rn_http_exchange_t *ex = c->exchanges; ex; ex = ex->next) {
        if (!ex->dispatched && !ex->answered && !ex->held) {
            uint64_t s = rn_net_body_since(srv, c->last_read, ex->start_ms, ex->body.len);
            if (s + srv->read_ms < best) {
                best = s + srv->read_ms;
                kind = RN_NET_TMO_READ;
                *since = s;
            }
        }
        if (ex->out_since && ex->out_since + srv->idle_ms < best && h2_pending(ex) > 0) {
            best = ex->out_since + srv->idle_ms;
            kind = RN_NET_TMO_OUTPUT;
            *since = ex->out_since;
        }
    }
    return kind;
}

void rn_h2_on_timeout(rn_conn_t *c)
{
    rn_h2_shutdown(c);
    rn_h2_send(c);
    rn_conn_close_soon(c);
}

void rn_h2_on_output_timeout(rn_conn_t *c)
{
    rn_http_server_t *srv = c->srv;
    uint64_t now = rn_net_now_ms();
    if (nghttp2_session_get_remote_window_size(c->h2) <= 0) {
        rn_warn("net: %s: HTTP/2 connection window shut for %llu ms; closing", c->peer,
                (unsigned long long)srv->idle_ms);
        rn_h2_on_timeout(c);
        return;
    }
    /* No DATA at all for the idle timeout: every pending answer goes, and
     * the requests held behind them. Else only the answers that stalled. */
    int stalled = now >= c->h2_data_at + srv->idle_ms, reset = 0;
    for (rn_http_exchange_t *ex = c->exchanges; ex; ex = ex->next) {
        if (!ex->out_since || h2_pending(ex) == 0)
            continue;
        if (!stalled && now < ex->out_since + srv->idle_ms)
            continue;
        ex->out_since = 0; /* once; its memory goes when the stream closes */
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, ex->stream_id, NGHTTP2_CANCEL);
        reset++;
    }
    /* Requests held behind that output were never processed: refuse them
     * (a client may retry them). */
    int refused = 0;
    if (stalled) {
        for (rn_http_exchange_t *ex = c->exchanges; ex; ex = ex->next) {
            if (!ex->held)
                continue;
            ex->held = 0;
            c->h2_held--;
            ex->hdr_error = 1; /* never dispatched */
            nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, ex->stream_id,
                                      NGHTTP2_REFUSED_STREAM);
            refused++;
        }
    }
    rn_warn("net: %s: %d HTTP/2 answers made no progress for %llu ms: reset (%d held requests "
            "refused)",
            c->peer, reset, (unsigned long long)srv->idle_ms, refused);
    rn_conn_output_added(c);
}

int rn_h2_is_idle(rn_conn_t *c)
{
    return !c->exchanges && evbuffer_get_length(c->in) == 0;
}

/* Submit the answer head to ex's stream: the fixed headers, Content-Length
 * when body_len is not NULL, then extra (with the CORS headers: every
 * HTTP/2 answer head is submitted here) and DATA from prd (NULL: none). */
static int h2_submit(rn_http_exchange_t *ex, int status, const char *content_type,
                     const rn_http_header_t *extra, size_t n_extra, const size_t *body_len,
                     const nghttp2_data_provider *prd)
{
    rn_conn_t *c = ex->conn;
    rn_http_server_t *srv = c->srv;
    rn_http_header_t with_cors[MAX_RESP_HEADERS];
    extra = rn_net_cors_headers(ex, extra, &n_extra, with_cors, MAX_RESP_HEADERS);
    if (n_extra > MAX_RESP_HEADERS) {
        rn_warn("net: %zu response headers; keeping %d", n_extra, MAX_RESP_HEADERS);
        n_extra = MAX_RESP_HEADERS;
    }
    nghttp2_nv nva[6 + MAX_RESP_HEADERS];
    size_t n = 0;
    char st[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                  (char)('0' + status % 10), 0};
    char cl[24], id2[65];
    size_t cl_len = 0;
    if (body_len) {
        char tmp[24];
        size_t v = *body_len;
        do {
            tmp[cl_len++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        for (size_t i = 0; i < cl_len; i++)
            cl[i] = tmp[cl_len - 1 - i];
    }
    rn_net_id2(srv, id2);
    const char *date = rn_net_date(srv);
    /* The two ids differ in every response: NO_INDEX keeps them out of the
     * HPACK dynamic table, where they would only evict useful entries and
     * cost a table search and insertion each. */
#define NV(nm, val, vlen, fl)                                                                \
    nva[n++] = (nghttp2_nv){(uint8_t *)(nm), (uint8_t *)(val), sizeof(nm) - 1, (vlen),       \
                            NGHTTP2_NV_FLAG_NO_COPY_NAME | (fl)}
    NV(":status", st, 3, 0);
    NV("x-amzn-requestid", ex->request_id, 36, NGHTTP2_NV_FLAG_NO_INDEX);
    NV("x-amz-id-2", id2, 64, NGHTTP2_NV_FLAG_NO_INDEX);
    NV("date", date, 29, 0);
    if (content_type)
        NV("content-type", content_type, strlen(content_type), 0);
    if (body_len)
        NV("content-length", cl, cl_len, 0);
#undef NV
    /* HTTP/2 header names are lower case. */
    char lname[LNAME_BUF];
    size_t lused = 0;
    for (size_t i = 0; i < n_extra; i++) {
        const rn_http_header_t *h = &extra[i];
        if (!rn_net_header_ok(h) || h->name_len > sizeof lname - lused) {
            rn_warn("net: dropping an invalid or oversized response header");
            continue;
        }
        char *ln = lname + lused;
        for (size_t k = 0; k < h->name_len; k++) {
            char ch = h->name[k];
            ln[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        lused += h->name_len;
        nva[n++] = (nghttp2_nv){(uint8_t *)ln, (uint8_t *)h->value, h->name_len, h->value_len,
                                NGHTTP2_NV_FLAG_NONE};
    }
    int rv = nghttp2_submit_response(c->h2, ex->stream_id, nva, n, prd);
    if (rv != 0)
        rn_warn("net: %s: cannot submit a response on stream %d: %s", c->peer, ex->stream_id,
                nghttp2_strerror(rv));
    return rv;
}

void rn_h2_respond(rn_http_exchange_t *ex, int status, const char *content_type,
                   const rn_http_header_t *extra, size_t n_extra, uint8_t *body, size_t len)
{
    rn_conn_t *c = ex->conn;
    free(ex->resp_body);
    ex->resp_body = body;
    ex->resp_len = body ? len : 0;
    ex->resp_off = 0;
    h2_out_added(c, ex, ex->resp_len);
    nghttp2_data_provider prd = {.source = {.ptr = ex}, .read_callback = data_read_cb};
    if (h2_submit(ex, status, content_type, extra, n_extra, &len, ex->resp_len ? &prd : NULL) != 0)
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, ex->stream_id,
                                  NGHTTP2_INTERNAL_ERROR);
    /* ex is freed when nghttp2 closes the stream (stream_close_cb). */
    rn_conn_output_added(c);
}

/* Start a streaming response: headers now, DATA from ex->sq as it comes
 * (data_read_cb defers while the queue is empty). */
int rn_h2_stream_start(rn_http_exchange_t *ex, int status, const char *content_type)
{
    nghttp2_data_provider prd = {.source = {.ptr = ex}, .read_callback = data_read_cb};
    if (h2_submit(ex, status, content_type, NULL, 0, NULL, &prd) != 0)
        return -1;
    rn_conn_output_added(ex->conn);
    return 0;
}

void rn_h2_stream_kick(rn_http_exchange_t *ex, size_t added)
{
    rn_conn_t *c = ex->conn;
    if (!c || !c->h2)
        return;
    h2_out_added(c, ex, added);
    if (ex->stream_deferred) {
        ex->stream_deferred = 0;
        (void)nghttp2_session_resume_data(c->h2, ex->stream_id);
    }
    rn_conn_output_added(c);
}

void rn_h2_shutdown(rn_conn_t *c)
{
    if (!c->h2_goaway_sent) {
        c->h2_goaway_sent = 1;
        nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
                              NULL, 0);
    }
    rn_conn_output_added(c);
}

void rn_h2_free(rn_conn_t *c)
{
    h2_out_sub(c, c->h2_out_bytes);
    rn_http_exchange_t *ex = c->exchanges;
    c->exchanges = NULL;
    c->h2_hdr_ex = NULL;
    while (ex) {
        rn_http_exchange_t *next = ex->next;
        ex->prev = ex->next = NULL;
        ex->linked = 0;
        rn_ex_detach(ex);
        ex = next;
    }
    if (c->h2)
        nghttp2_session_del(c->h2);
    c->h2 = NULL;
}
