/* fuzz_net_eventstream.c: libFuzzer target for the event-stream decoder
 * (src/net/eventstream.c). Besides "no crash": a decoded message lies in
 * the input, its headers and payload too, re-encoding its string headers
 * and payload gives back the same bytes when every header is a string,
 * and no strict prefix of a message decodes. */
#include "net/eventstream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size;
    while (left > 0) {
        rn_es_header_t h[RN_ES_MAX_DECODED_HEADERS];
        size_t nh;
        const uint8_t *pl;
        size_t pll;
        long r = rn_es_decode(p, left, h, &nh, &pl, &pll);
        if (r <= 0)
            break;
        if ((size_t)r > left || pl < p || pl + pll > p + r)
            abort();
        int all_strings = nh < RN_ES_MAX_DECODED_HEADERS;
        for (size_t i = 0; i < nh; i++) {
            if ((const uint8_t *)h[i].name < p || (const uint8_t *)h[i].value + h[i].value_len > pl)
                abort();
            all_strings &= h[i].type == 7;
        }
        if (rn_es_decode(p, (size_t)r - 1, h, &nh, &pl, &pll) > 0)
            abort();
        if (all_strings) {
            rn_es_decode(p, left, h, &nh, &pl, &pll);
            rn_buf_t b;
            rn_buf_init(&b, 0);
            if (rn_es_encode(&b, h, nh, pl, pll) == 0 &&
                (b.len != (size_t)r || memcmp(b.data, p, b.len) != 0))
                abort();
            rn_buf_dispose(&b);
        }
        p += r;
        left -= (size_t)r;
    }
    return 0;
}
