/* test_net_eventstream.c: event-stream framing against reference bytes
 * produced by the AWS SDK's own codec (@smithy/core/event-streams
 * EventStreamCodec), both CRCs, the decoder's rejections, and every
 * prefix being "need more". */
#include "net/eventstream.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* EventStreamCodec.encode({headers: {":message-type": "event", ":event-type":
 * "initial-response"}, body: "{}"}) */
static const char INITIAL_HEX[] =
    "0000004700000035d9429f130d3a6d6573736167652d747970650700056576656e740b3a6576656e742d74797065"
    "070010696e697469616c2d726573706f6e73657b7d8de0c8a3";
/* EventStreamCodec.encode({headers: {}, body: empty}) */
static const char EMPTY_HEX[] = "000000100000000005c248eb7d98c8ff";

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1, 7}

int main(void)
{
    uint8_t want[256];
    CHECK_EQ_INT(rn_es_crc32(0, "123456789", 9), 0xCBF43926u);
    CHECK_EQ_INT(rn_es_crc32(rn_es_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);

    rn_buf_t b;
    rn_buf_init(&b, 0);
    size_t wn = unhex(EMPTY_HEX, want);
    CHECK_EQ_INT(rn_es_encode(&b, NULL, 0, NULL, 0), 0);
    CHECK_EQ_INT(b.len, wn);
    CHECK(memcmp(b.data, want, wn) == 0);

    rn_buf_reset(&b);
    rn_es_header_t hs[] = {H(":message-type", "event"), H(":event-type", "initial-response")};
    wn = unhex(INITIAL_HEX, want);
    CHECK_EQ_INT(rn_es_encode(&b, hs, 2, (const uint8_t *)"{}", 2), 0);
    CHECK_EQ_INT(b.len, wn);
    CHECK(memcmp(b.data, want, wn) == 0);

    /* decode the reference */
    rn_es_header_t got[RN_ES_MAX_DECODED_HEADERS];
    size_t nh;
    const uint8_t *pl;
    size_t pll;
    CHECK_EQ_INT(rn_es_decode(want, wn, got, &nh, &pl, &pll), (long)wn);
    CHECK_EQ_INT(nh, 2);
    CHECK(got[1].value_len == 16 && memcmp(got[1].value, "initial-response", 16) == 0);
    CHECK(pll == 2 && memcmp(pl, "{}", 2) == 0);
    for (size_t k = 0; k < wn; k++)
        CHECK_EQ_INT(rn_es_decode(want, k, got, &nh, &pl, &pll), k < 12 ? 0 : 0);
    /* every single-bit flip is caught by one of the CRCs (or the lengths) */
    int caught = 0;
    for (size_t k = 0; k < wn * 8; k++) {
        uint8_t m[256];
        memcpy(m, want, wn);
        m[k / 8] ^= (uint8_t)(1u << (k % 8));
        long r = rn_es_decode(m, wn, got, &nh, &pl, &pll);
        caught += r != (long)wn;
    }
    CHECK_EQ_INT(caught, (long)(wn * 8));
    /* two messages back to back */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_es_encode(&b, hs, 1, (const uint8_t *)"x", 1), 0);
    size_t first = b.len;
    CHECK_EQ_INT(rn_es_encode(&b, NULL, 0, NULL, 0), 0);
    CHECK_EQ_INT(rn_es_decode(b.data, b.len, got, &nh, &pl, &pll), (long)first);
    CHECK_EQ_INT(rn_es_decode(b.data + first, b.len - first, got, &nh, &pl, &pll), 16);
    /* too-long header name */
    char big[300];
    memset(big, 'a', sizeof big);
    rn_es_header_t bad = {big, 256, "v", 1, 7};
    CHECK_EQ_INT(rn_es_encode(&b, &bad, 1, NULL, 0), -1);
    rn_buf_dispose(&b);
    return rn_test_done("test_net_eventstream");
}
