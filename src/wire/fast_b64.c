/* fast_b64.c: base64 decoding for the fast path, with exactly the
 * acceptance rules of rn_b64_decode (b64.h) but a quad per four table loads:
 * each of four 256-entry tables holds a character's six bits already
 * shifted to its place in the 24-bit group, and bit 24 for a character
 * outside the alphabet (including '='), OR-ed into one flag checked at
 * the end. Encoding writes two characters per table load. Both are
 * checked against b64.c by tests/unit/test_wire_fast.c. */
#include "wire/fast.h"

#include <pthread.h>
#include <string.h>

#include "util/status.h"

#define B64V(c)                                                                                    \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                        \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                  \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                   \
     : (c) == '+'               ? 62                                                               \
     : (c) == '/'               ? 63                                                               \
                                : -1)
#define BAD24 0x01000000u
#define T(c, sh) (B64V(c) < 0 ? BAD24 : (uint32_t)B64V(c) << (sh))
#define R4(c, sh) T((c), sh), T((c) + 1, sh), T((c) + 2, sh), T((c) + 3, sh)
#define R16(c, sh) R4((c), sh), R4((c) + 4, sh), R4((c) + 8, sh), R4((c) + 12, sh)
#define R256(sh)                                                                                   \
    R16(0, sh), R16(16, sh), R16(32, sh), R16(48, sh), R16(64, sh), R16(80, sh), R16(96, sh),      \
        R16(112, sh), R16(128, sh), R16(144, sh), R16(160, sh), R16(176, sh), R16(192, sh),        \
        R16(208, sh), R16(224, sh), R16(240, sh)

static const uint32_t d0[256] = {R256(18)};
static const uint32_t d1[256] = {R256(12)};
static const uint32_t d2[256] = {R256(6)};
static const uint32_t d3[256] = {R256(0)};

int rn_fast_b64_decode(const char *s, size_t len, uint8_t *out, size_t *out_len)
{
    if (len % 4)
        return RN_EINVAL;
    const uint8_t *u = (const uint8_t *)s;
    size_t p = 0;
    while (p < len && p < 3 && u[len - 1 - p] == '=')
        p++;
    if (p > 2)
        return RN_EINVAL;
    size_t full = (len - p) / 4 * 4; /* characters in complete quads */
    uint32_t acc = 0;
    uint8_t *o = out;
    for (size_t i = 0; i < full; i += 4) {
        uint32_t v = d0[u[i]] | d1[u[i + 1]] | d2[u[i + 2]] | d3[u[i + 3]];
        acc |= v;
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        o += 3;
    }
    if (p) {
        /* the last quad: 2 or 3 significant characters, unused bits zero */
        uint32_t v = d0[u[full]] | d1[u[full + 1]] | (p == 1 ? d2[u[full + 2]] : 0);
        acc |= v;
        if (v & (p == 2 ? 0xFFFFu : 0xFFu))
            return RN_EINVAL;
        *o++ = (uint8_t)(v >> 16);
        if (p == 1)
            *o++ = (uint8_t)(v >> 8);
    }
    if (acc & BAD24)
        return RN_EINVAL;
    *out_len = (size_t)(o - out);
    return 0;
}

/* ---- encoding ---------------------------------------------------------------------------- */

/* Every 12-bit group as its two characters. */
static char pairs[4096][2];
static pthread_once_t pairs_once = PTHREAD_ONCE_INIT;

static void pairs_init(void)
{
    static const char enc[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 4096; i++) {
        pairs[i][0] = enc[i >> 6];
        pairs[i][1] = enc[i & 63];
    }
}

size_t rn_fast_b64_encode(const uint8_t *src, size_t n, char *out)
{
    pthread_once(&pairs_once, pairs_init);
    char *o = out;
    size_t i = 0;
    /* Six bytes per step from an eight-byte read (two bytes unused). */
    for (; i + 8 <= n; i += 6) {
        uint64_t x;
        memcpy(&x, src + i, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        x = __builtin_bswap64(x); /* src[i] in the top byte */
#endif
        memcpy(o, pairs[x >> 52], 2);
        memcpy(o + 2, pairs[(x >> 40) & 0xFFF], 2);
        memcpy(o + 4, pairs[(x >> 28) & 0xFFF], 2);
        memcpy(o + 6, pairs[(x >> 16) & 0xFFF], 2);
        o += 8;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        memcpy(o, pairs[v >> 12], 2);
        memcpy(o + 2, pairs[v & 0xFFF], 2);
        o += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        memcpy(o, pairs[v >> 12], 2);
        o[2] = '=';
        o[3] = '=';
        o += 4;
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        memcpy(o, pairs[v >> 12], 2);
        o[2] = pairs[v & 0xFFF][0];
        o[3] = '=';
        o += 4;
    }
    return (size_t)(o - out);
}
