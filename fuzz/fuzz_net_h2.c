/* fuzz_net_h2.c: libFuzzer target for the HTTP/2 entry (src/net/http_h2.c
 * through the connection layer of http_server.c), without sockets.
 *
 * Each input goes to a fresh in-process connection (rn_net_mem_conn_new):
 * the first byte picks a mode, the rest is the stream of bytes from the
 * client.
 *   mode & 1: prepend a valid client preface and an empty SETTINGS frame,
 *             so the fuzzer starts inside an HTTP/2 session (otherwise
 *             the bytes are raw and protocol sniffing runs on them too);
 *   mode & 2: feed in pieces of (mode >> 2) + 1 bytes instead of at once.
 * The handler answers requests with a fixed 200: at once; held and
 * answered after all the input (so streams reset meanwhile orphan their
 * exchange); or, for the path "/stream", as a streaming answer (SubscribeToShard's
 * path). The session must neither crash nor leak (ASan/LSan). */
#include "net/net_int.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HELD_MAX 16

static rn_http_exchange_t *held[HELD_MAX];
static size_t n_held;
static unsigned n_req;

static void stream_ev(void *ud, int event)
{
    (void)ud;
    (void)event;
}

static uint8_t *dup_body(const char *s, size_t *len)
{
    *len = strlen(s);
    uint8_t *b = malloc(*len);
    if (b)
        memcpy(b, s, *len);
    return b;
}

static void handler(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    (void)ud;
    n_req++;
    if (strcmp(req->path, "/stream") == 0 &&
        rn_http_stream_start(ex, 200, "application/vnd.amazon.eventstream", stream_ev, NULL) == 0) {
        rn_http_stream_push(ex, req->body, req->body_len);
        rn_http_stream_push(ex, (const uint8_t *)"event", 5);
        rn_http_stream_end(ex);
        return;
    }
    if ((n_req & 1) == 0 && n_held < HELD_MAX) {
        held[n_held++] = ex;
        return;
    }
    size_t len;
    uint8_t *body = dup_body("{}", &len);
    rn_http_respond(ex, 200, "application/x-amz-json-1.1", NULL, 0, body, body ? len : 0);
}

static void answer_held(void)
{
    for (size_t i = 0; i < n_held; i++) {
        size_t len;
        uint8_t *body = dup_body("{\"held\":true}", &len);
        rn_http_respond(held[i], 200, "application/x-amz-json-1.1", NULL, 0, body,
                        body ? len : 0);
    }
    n_held = 0;
}

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                 "\x00\x00\x00\x04\x00\x00\x00\x00\x00"; /* empty SETTINGS */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event_base *base;
    if (!base && !(base = event_base_new()))
        abort();
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;

    rn_http_config_t cfg = {0};
    cfg.handler = handler;
    cfg.max_body = 64 * 1024; /* let the 413 paths run */
    rn_http_server_t *srv;
    if (rn_net_mem_server_new(&srv, base, &cfg) != 0)
        abort();
    rn_conn_t *c = rn_net_mem_conn_new(srv);
    if (!c)
        abort();
    n_req = 0;
    if (mode & 1)
        rn_net_mem_conn_feed(c, preface, sizeof preface - 1);
    if (mode & 2) {
        size_t step = (size_t)(mode >> 2) + 1;
        for (size_t off = 0; off < size; off += step)
            rn_net_mem_conn_feed(c, data + off, size - off < step ? size - off : step);
    } else {
        rn_net_mem_conn_feed(c, data, size);
    }
    /* Answer held exchanges while the connection may still live, then let
     * the loop run what is pending (flushes, deferred frees). */
    answer_held();
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_loop(base, EVLOOP_NONBLOCK);
    rn_http_server_destroy(srv); /* frees the connection if still there */
    if (getenv("FUZZ_NET_H2_VERBOSE"))
        fprintf(stderr, "fuzz_net_h2: mode %u, %zu bytes, %u requests\n", mode, size, n_req);
    return 0;
}
