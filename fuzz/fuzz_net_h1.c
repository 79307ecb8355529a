/* fuzz_net_h1.c: libFuzzer target for the HTTP/1.1 request parser and the
 * chunked decoder (src/net/h1_parse.c).
 *
 * Besides "no crash", it checks properties: every returned pointer lies in
 * the input, the head length never exceeds the input, a strict prefix of a
 * complete head is never complete, and chunked decoding gives the same
 * result whether fed at once or byte by byte. */
#include "core/errors.h"
#include "net/h1_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IN_RANGE(p, n) ((const uint8_t *)(p) >= data && (const uint8_t *)(p) + (n) <= data + size)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rn_http_header_t hdrs[RN_H1_MAX_HEADERS];
    rn_h1_head_t hd;
    const char *why;
    long r = rn_h1_parse_head(data, size, &hd, hdrs, RN_H1_MAX_HEADERS, &why);
    if (r == 0 || r > (long)size)
        abort();
    if (r < 0) {
        if (r != RN_EAGAIN && r != RN_EPROTO && r != RN_ETOOBIG)
            abort();
        if (r != RN_EAGAIN && !why)
            abort();
    }
    const uint8_t *rest = data;
    size_t rest_len = size;
    if (r > 0) {
        if (!IN_RANGE(hd.method, hd.method_len) || !IN_RANGE(hd.target, hd.target_len))
            abort();
        if (hd.n_headers > RN_H1_MAX_HEADERS)
            abort();
        for (size_t i = 0; i < hd.n_headers; i++)
            if (!IN_RANGE(hdrs[i].name, hdrs[i].name_len) ||
                !IN_RANGE(hdrs[i].value, hdrs[i].value_len))
                abort();
        if (hd.chunked && hd.content_length >= 0)
            abort();
        /* a shorter prefix is never a complete head (cheap check at the end) */
        if (size < 4096) {
            rn_h1_head_t h2;
            long r2 = rn_h1_parse_head(data, (size_t)r - 1, &h2, hdrs, RN_H1_MAX_HEADERS, &why);
            if (r2 > 0)
                abort();
        }
        rest = data + r;
        rest_len = size - (size_t)r;
    }

    /* Chunked decoding: all at once vs byte by byte. */
    rn_h1_chunked_t c1, c2;
    rn_buf_t o1, o2;
    rn_h1_chunked_init(&c1);
    rn_h1_chunked_init(&c2);
    rn_buf_init(&o1, 1 << 20);
    rn_buf_init(&o2, 1 << 20);
    size_t used1 = 0;
    int rc1 = rn_h1_chunked_feed(&c1, rest, rest_len, &used1, &o1);
    size_t used2 = 0;
    int rc2 = 0;
    if (rest_len < 8192) {
        for (size_t i = 0; i < rest_len; i++) {
            size_t u = 0;
            rc2 = rn_h1_chunked_feed(&c2, rest + i, 1, &u, &o2);
            used2 += u;
            if (rc2 != 0)
                break;
        }
        if (rc1 != rc2 || (rc1 >= 0 && used1 != used2))
            abort();
        if (rc1 >= 0 && (o1.len != o2.len || (o1.len && memcmp(o1.data, o2.data, o1.len) != 0)))
            abort();
    }
    if (used1 > rest_len)
        abort();
    rn_buf_dispose(&o1);
    rn_buf_dispose(&o2);
    return 0;
}
