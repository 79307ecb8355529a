/* h1_parse.h: HTTP/1.1 request framing as pure functions over bytes.
 *
 * No I/O and no allocation: rn_h1_parse_head() reads a request line and
 * header block from a contiguous buffer and returns pointers into it;
 * rn_h1_chunked_feed() decodes a `Transfer-Encoding: chunked` body piece by
 * piece into an rn_buf (whose ceiling is the body limit). Both are fuzzed by
 * fuzz/fuzz_net_h1.c.
 *
 * Strictness, chosen against request smuggling: lines end in CRLF (a bare
 * LF is an error), no obs-fold, no whitespace before ':', Content-Length is
 * 1-18 digits and may repeat only with the same value, Transfer-Encoding
 * must be exactly "chunked" and must not come with Content-Length, and only
 * HTTP/1.0 and HTTP/1.1 are accepted. A chunk-size line is hex digits, then
 * chunk extensions exactly as RFC 9112 7.1.1 has them
 * (*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-name a token,
 * ext-val a token or quoted-string), then CRLF; anything else is
 * RN_EPROTO (400).
 */
#ifndef RN_H1_PARSE_H
#define RN_H1_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"
#include "util/buf.h"

#define RN_H1_MAX_HEADERS 100
#define RN_H1_MAX_HEAD_BYTES (64 * 1024)

typedef struct rn_h1_head {
    const char *method;     /* points into the input; not NUL-terminated */
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor_version;      /* 0 or 1 */
    size_t n_headers;       /* entries filled in the caller's array */
    int64_t content_length; /* -1 when absent */
    int chunked;            /* Transfer-Encoding: chunked */
    int keep_alive;         /* after Connection: and the version default */
    int expect_continue;    /* Expect: 100-continue (HTTP/1.1 only) */
    const char *host;       /* Host value or NULL */
    size_t host_len;
} rn_h1_head_t;

/* Parse one request head from buf[0..len). hdrs has room for max_hdrs
 * entries (at most RN_H1_MAX_HEADERS are ever used); names and values point
 * into buf.
 * Returns the head length in bytes (> 0, including the final CRLF) when
 * complete; RN_EAGAIN when more bytes are needed (the caller enforces
 * RN_H1_MAX_HEAD_BYTES on what it buffers: a head that long with no end is
 * RN_ETOOBIG); RN_ETOOBIG for too many headers or a head over the limit;
 * RN_EPROTO for malformed input. *reason gets a static description on
 * errors (may be NULL). */
long rn_h1_parse_head(const uint8_t *buf, size_t len, rn_h1_head_t *head, rn_http_header_t *hdrs,
                      size_t max_hdrs, const char **reason);

/* Chunked body decoder state; zero it (or call rn_h1_chunked_init) per body. */
typedef struct rn_h1_chunked {
    int state;
    uint64_t remaining;  /* data bytes left in the current chunk */
    size_t line_bytes;   /* bytes of the current size/extension/trailer line */
    size_t trailer_bytes;
    int digits;
    int ext;             /* where in a chunk-ext (h1_parse.c) */
} rn_h1_chunked_t;

void rn_h1_chunked_init(rn_h1_chunked_t *c);

/* Decode in[0..len), appending data bytes to out. *consumed gets how many
 * input bytes were used. Returns 1 when the body (and its trailers) is
 * complete (*consumed stops right after it: any rest is the next request),
 * 0 when all input was consumed and more is needed, RN_EPROTO on bad
 * framing, RN_ETOOBIG when out's ceiling would be exceeded, RN_ENOMEM. */
int rn_h1_chunked_feed(rn_h1_chunked_t *c, const uint8_t *in, size_t len, size_t *consumed,
                       rn_buf_t *out);

#endif
