/* http_exchange.c: the request/response exchange shared by HTTP/1.1 and
 * HTTP/2: allocation and reuse, request ids, the Date cache, the answer
 * entry point rn_http_respond(), and the orphaning rule from http.h.
 *
 * Exchanges are big (they carry the header array inline) and made per
 * request, so freed ones are kept on a per-server list for reuse together
 * with their head and body allocations (up to a size), which keeps the
 * steady state free of malloc calls for small requests.
 */
#include "net/net_int.h"

#include "util/status.h"
#include "util/ascii.h"
#include "util/log.h"

#include <event2/buffer.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EX_KEEP_HEAD 16384  /* head allocations kept on reuse */
#define EX_KEEP_BODY 65536  /* body allocations kept on reuse */
#define EX_HEAD_MAX (RN_NET_MAX_HEAD_BYTES + 4 * RN_NET_MAX_HEADERS + 1024)

/* ---- random ids ------------------------------------------------------- */

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast, and seeded from the OS CSPRNG; request ids need
 * uniqueness, not secrecy. */
static uint64_t rng_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void rn_net_rng_seed(uint64_t s[4])
{
    if (RAND_bytes((unsigned char *)s, 4 * sizeof s[0]) != 1) {
        /* Unlikely; fall back on something that still differs per process. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
        s[1] = (uint64_t)(uintptr_t)s ^ 0x9e3779b97f4a7c15ull;
        s[2] = (uint64_t)getpid() * 0xbf58476d1ce4e5b9ull;
        s[3] = 0x94d049bb133111ebull;
    }
    if (!(s[0] | s[1] | s[2] | s[3]))
        s[0] = 1;
}

/* "000102...ff": the two hex digits of every byte value. */
#define HEX_ROW(hi)                                                                          \
    hi "0" hi "1" hi "2" hi "3" hi "4" hi "5" hi "6" hi "7" hi "8" hi "9" hi "a" hi "b" hi "c" \
        hi "d" hi "e" hi "f"
static const char hex_pairs[513] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2") HEX_ROW("3")
    HEX_ROW("4") HEX_ROW("5") HEX_ROW("6") HEX_ROW("7") HEX_ROW("8") HEX_ROW("9") HEX_ROW("a")
        HEX_ROW("b") HEX_ROW("c") HEX_ROW("d") HEX_ROW("e") HEX_ROW("f");
#undef HEX_ROW

static void make_uuid(uint64_t s[4], char out[37])
{
    uint8_t b[16];
    uint64_t a = rng_next(s), c = rng_next(s);
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        memcpy(o, hex_pairs + 2 * b[i], 2);
        o += 2;
    }
    *o = 0;
}

/* Every pair of base64 digits, "AA" to "//": two digits per lookup. */
#define B64_ROW(hi) \
    hi "A" hi "B" hi "C" hi "D" hi "E" hi "F" hi "G" hi "H" hi "I" hi "J" hi "K" hi "L" hi "M" \
        hi "N" hi "O" hi "P" hi "Q" hi "R" hi "S" hi "T" hi "U" hi "V" hi "W" hi "X" hi "Y" \
        hi "Z" hi "a" hi "b" hi "c" hi "d" hi "e" hi "f" hi "g" hi "h" hi "i" hi "j" hi "k" \
        hi "l" hi "m" hi "n" hi "o" hi "p" hi "q" hi "r" hi "s" hi "t" hi "u" hi "v" hi "w" \
        hi "x" hi "y" hi "z" hi "0" hi "1" hi "2" hi "3" hi "4" hi "5" hi "6" hi "7" hi "8" \
        hi "9" hi "+" hi "/"
static const char b64_pairs[64 * 64 * 2 + 1] =
    B64_ROW("A") B64_ROW("B") B64_ROW("C") B64_ROW("D") B64_ROW("E") B64_ROW("F") B64_ROW("G")
    B64_ROW("H") B64_ROW("I") B64_ROW("J") B64_ROW("K") B64_ROW("L") B64_ROW("M") B64_ROW("N")
    B64_ROW("O") B64_ROW("P") B64_ROW("Q") B64_ROW("R") B64_ROW("S") B64_ROW("T") B64_ROW("U")
    B64_ROW("V") B64_ROW("W") B64_ROW("X") B64_ROW("Y") B64_ROW("Z") B64_ROW("a") B64_ROW("b")
    B64_ROW("c") B64_ROW("d") B64_ROW("e") B64_ROW("f") B64_ROW("g") B64_ROW("h") B64_ROW("i")
    B64_ROW("j") B64_ROW("k") B64_ROW("l") B64_ROW("m") B64_ROW("n") B64_ROW("o") B64_ROW("p")
    B64_ROW("q") B64_ROW("r") B64_ROW("s") B64_ROW("t") B64_ROW("u") B64_ROW("v") B64_ROW("w")
    B64_ROW("x") B64_ROW("y") B64_ROW("z") B64_ROW("0") B64_ROW("1") B64_ROW("2") B64_ROW("3")
    B64_ROW("4") B64_ROW("5") B64_ROW("6") B64_ROW("7") B64_ROW("8") B64_ROW("9") B64_ROW("+")
    B64_ROW("/");
#undef B64_ROW

void rn_net_id2(rn_http_server_t *srv, char out[65])
{
    /* 64 base64 digits carry 384 bits: six 64-bit draws, five pairs of
     * digits (12 bits each) from the low 60 bits of each and two more pairs
     * from the six top nibbles. The result is what base64 of 48 random bytes
     * looks like, made without the byte shuffle. */
    char *o = out;
    uint32_t top = 0;
    for (int i = 0; i < 6; i++) {
        uint64_t r = rng_next(srv->rng);
        for (int k = 0; k < 5; k++) {
            memcpy(o, b64_pairs + 2 * (r & 4095), 2);
            o += 2;
            r >>= 12;
        }
        top = (top << 4) | (uint32_t)r;
    }
    for (int k = 0; k < 2; k++) {
        memcpy(o, b64_pairs + 2 * (top & 4095), 2);
        o += 2;
        top >>= 12;
    }
    *o = 0;
}

/* ---- Date ------------------------------------------------------------- */

const char *rn_net_date(rn_http_server_t *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        srv->date_sec = now;
    }
    return srv->date;
}

const char *rn_net_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

int rn_net_header_ok(const rn_http_header_t *h)
{
    if (!h->name || h->name_len == 0 || (h->value_len && !h->value))
        return 0;
    for (size_t i = 0; i < h->name_len; i++) {
        unsigned char ch = (unsigned char)h->name[i];
        if (ch <= 0x20 || ch == ':' || ch >= 0x7f)
            return 0;
    }
    for (size_t i = 0; i < h->value_len; i++) {
        unsigned char ch = (unsigned char)h->value[i];
        if (ch == '\r' || ch == '\n' || ch == 0)
            return 0;
    }
    return 1;
}

/* ---- exchanges -------------------------------------------------------- */

rn_http_exchange_t *rn_ex_new(rn_http_server_t *srv, rn_conn_t *conn)
{
    rn_http_exchange_t *ex = srv->ex_cache;
    if (ex) {
        srv->ex_cache = ex->next;
        srv->n_ex_cache--;
    } else {
        ex = malloc(sizeof *ex);
        if (!ex)
            return NULL;
        rn_buf_init(&ex->head, EX_HEAD_MAX);
        rn_buf_init(&ex->body, srv->max_body);
    }
    ex->conn = conn;
    ex->srv = srv;
    ex->prev = ex->next = NULL;
    ex->stream_id = 0;
    ex->dispatched = ex->answered = ex->too_big = ex->hdr_error = 0;
    ex->keep_alive = ex->minor = ex->linked = ex->held = ex->cors = 0;
    ex->start_ms = rn_net_now_ms();
    ex->charged = 0;
    ex->out_since = 0;
    ex->has_method = ex->has_path = ex->has_authority = ex->has_host = 0;
    ex->resp_body = NULL;
    ex->resp_len = ex->resp_off = 0;
    ex->sq = NULL;
    ex->stream_fn = NULL;
    ex->stream_ud = NULL;
    ex->streaming = ex->stream_ending = ex->stream_deferred = ex->stream_high = 0;
    ex->stream_closed = ex->stream_chunked = 0;
    memset(&ex->req, 0, sizeof ex->req);
    make_uuid(srv->rng, ex->request_id);
    size_t pl = strlen(conn->peer);
    memcpy(ex->peer, conn->peer, pl + 1);
    ex->req.request_id = ex->request_id;
    ex->req.peer = ex->peer;
    ex->req.tls = conn->tls != NULL;
    ex->req.headers = ex->headers;
    ex->req.method = ex->req.path = ex->req.authority = "";
    ex->req.body = (const uint8_t *)"";
    return ex;
}

void rn_ex_release(rn_http_exchange_t *ex)
{
    rn_ex_uncharge(ex);
    free(ex->resp_body);
    ex->resp_body = NULL;
    if (ex->sq) {
        evbuffer_free(ex->sq);
        ex->sq = NULL;
    }
    rn_http_server_t *srv = ex->srv;
    if (srv && srv->n_ex_cache < RN_NET_EX_CACHE) {
        if (ex->head.cap > EX_KEEP_HEAD)
            rn_buf_dispose(&ex->head);
        else
            rn_buf_reset(&ex->head);
        if (ex->body.cap > EX_KEEP_BODY)
            rn_buf_dispose(&ex->body);
        else
            rn_buf_reset(&ex->body);
        ex->conn = NULL;
        ex->next = srv->ex_cache;
        srv->ex_cache = ex;
        srv->n_ex_cache++;
        return;
    }
    rn_buf_dispose(&ex->head);
    rn_buf_dispose(&ex->body);
    free(ex);
}

void rn_ex_detach(rn_http_exchange_t *ex)
{
    if (ex->dispatched && !ex->answered) {
        rn_ex_uncharge(ex); /* the server may go before the application answers */
        ex->conn = NULL;
        ex->srv = NULL; /* the server may be destroyed before the answer */
        if (ex->streaming && !ex->stream_closed && ex->stream_fn) {
            ex->stream_closed = 1;
            ex->stream_fn(ex->stream_ud, RN_HTTP_STREAM_CLOSED);
        }
        return;
    }
    rn_ex_release(ex);
}

void rn_ex_link(rn_conn_t *c, rn_http_exchange_t *ex)
{
    ex->prev = NULL;
    ex->next = c->exchanges;
    if (c->exchanges)
        c->exchanges->prev = ex;
    c->exchanges = ex;
    ex->linked = 1;
}

void rn_ex_unlink(rn_http_exchange_t *ex)
{
    if (!ex->linked)
        return;
    if (ex->prev)
        ex->prev->next = ex->next;
    else if (ex->conn)
        ex->conn->exchanges = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    ex->prev = ex->next = NULL;
    ex->linked = 0;
}

void rn_ex_dispatch(rn_http_exchange_t *ex)
{
    rn_http_server_t *srv = ex->srv;
    ex->dispatched = 1;
    if (ex->body.data) {
        ex->req.body = ex->body.data;
        ex->req.body_len = ex->body.len;
    }
    if (rn_net_cors_dispatch(ex)) /* a CORS preflight, answered */
        return;
    /* The handler may answer (and so recycle ex) before it returns. */
    srv->cfg.handler(srv->cfg.handler_ud, ex, &ex->req);
}

/* ---- the server-wide body budget ------------------------------------- */

int rn_ex_charge(rn_http_exchange_t *ex, size_t n)
{
    rn_http_server_t *srv = ex->srv;
    if (!srv || n == 0)
        return 0;
    if (n > srv->max_buffered - srv->buffered)
        return -1;
    srv->buffered += n;
    ex->charged += n;
    return 0;
}

void rn_ex_uncharge(rn_http_exchange_t *ex)
{
    rn_http_server_t *srv = ex->srv;
    if (srv && ex->charged)
        srv->buffered = srv->buffered > ex->charged ? srv->buffered - ex->charged : 0;
    ex->charged = 0;
}

void rn_net_budget_warn(rn_http_server_t *srv, const char *peer)
{
    uint64_t now = rn_net_now_ms();
    if (srv->budget_warned && now - srv->budget_warned < RN_NET_ACCEPT_WARN_MS) {
        srv->budget_suppressed++;
        return;
    }
    rn_warn("net: %s: %zu request bytes buffered (the limit): 503 (%lu more since the last "
            "warning)",
            peer, srv->buffered, srv->budget_suppressed);
    srv->budget_warned = now;
    srv->budget_suppressed = 0;
}

uint8_t *rn_net_body_503(rn_http_server_t *srv, size_t *len)
{
    uint8_t *b = malloc(srv->body_503_len + 1);
    *len = 0;
    if (b) {
        memcpy(b, srv->body_503, srv->body_503_len);
        *len = srv->body_503_len;
    }
    return b;
}

uint64_t rn_net_body_since(rn_http_server_t *srv, uint64_t last_read, uint64_t start_ms,
                           size_t got)
{
    /* The rate's deadline: start + max(read_ms, got / rate). */
    uint64_t need = srv->min_body_rate ? (uint64_t)got * 1000 / srv->min_body_rate : UINT64_MAX / 4;
    uint64_t since = start_ms + (need > srv->read_ms ? need - srv->read_ms : 0);
    return since < last_read ? since : last_read;
}

/* ---- public ----------------------------------------------------------- */

const char *rn_http_header_get(const rn_http_request_t *req, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_headers; i++) {
        const rn_http_header_t *h = &req->headers[i];
        if (h->name_len == n && rn_ascii_eq_ci(h->name, name, n)) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

void rn_http_respond(rn_http_exchange_t *ex, int status, const char *content_type,
                     const rn_http_header_t *extra, size_t n_extra, uint8_t *body, size_t len)
{
    if (!ex) {
        free(body);
        return;
    }
    if (ex->answered) {
        rn_warn("net: exchange %s answered twice; second answer dropped", ex->request_id);
        free(body);
        return;
    }
    ex->answered = 1;
    if (!ex->conn) { /* orphaned: the peer left */
        free(body);
        rn_ex_release(ex);
        return;
    }
    if (status < 100 || status > 999)
        status = 500;
    if (ex->conn->proto == RN_NET_PROTO_H2)
        rn_h2_respond(ex, status, content_type, extra, n_extra, body, len);
    else
        rn_h1_respond(ex, status, content_type, extra, n_extra, body, len);
}

void rn_http_respond_copy(rn_http_exchange_t *ex, int status, const char *content_type, const char *text,
                          size_t len)
{
    uint8_t *body = malloc(len ? len : 1);
    if (body)
        memcpy(body, text, len);
    rn_http_respond(ex, status, content_type, NULL, 0, body, body ? len : 0);
}

/* ---- streaming responses ------------------------------------------------ */

int rn_http_stream_start(rn_http_exchange_t *ex, int status, const char *content_type,
                         rn_http_stream_fn fn, void *ud)
{
    if (!ex || ex->answered || ex->streaming || !ex->conn || ex->conn->closing)
        return -1;
    int h2 = ex->conn->proto == RN_NET_PROTO_H2;
    if (h2 && !(ex->sq = evbuffer_new()))
        return -1;
    ex->stream_fn = fn;
    ex->stream_ud = ud;
    ex->streaming = 1;
    if ((h2 ? rn_h2_stream_start(ex, status, content_type)
            : rn_h1_stream_start(ex, status, content_type)) != 0) {
        ex->streaming = 0;
        ex->stream_fn = NULL;
        if (ex->sq) {
            evbuffer_free(ex->sq);
            ex->sq = NULL;
        }
        return -1;
    }
    return 0;
}

void rn_http_stream_push(rn_http_exchange_t *ex, const uint8_t *p, size_t n)
{
    if (!ex || !ex->streaming || ex->answered || ex->stream_ending || !ex->conn || n == 0)
        return;
    if (ex->conn->proto != RN_NET_PROTO_H2) {
        rn_h1_stream_push(ex, p, n);
        return;
    }
    if (evbuffer_add(ex->sq, p, n) != 0)
        return;
    if (evbuffer_get_length(ex->sq) >= RN_HTTP_STREAM_LOW)
        ex->stream_high = 1;
    rn_h2_stream_kick(ex, n);
}

size_t rn_http_stream_queued(const rn_http_exchange_t *ex)
{
    if (!ex)
        return 0;
    if (ex->sq)
        return evbuffer_get_length(ex->sq);
    /* HTTP/1.1: the chunks are in the connection's output already */
    return ex->streaming && ex->conn ? rn_conn_unsent(ex->conn) : 0;
}

void rn_http_stream_end(rn_http_exchange_t *ex)
{
    if (!ex || !ex->streaming || ex->answered)
        return;
    ex->answered = 1;
    ex->stream_fn = NULL;
    if (!ex->conn) { /* orphaned: the peer left */
        rn_ex_release(ex);
        return;
    }
    ex->stream_ending = 1;
    if (ex->conn->proto != RN_NET_PROTO_H2) {
        rn_h1_stream_end(ex); /* ex is released */
        return;
    }
    rn_h2_stream_kick(ex, 0); /* ex is freed when nghttp2 closes the stream */
}
