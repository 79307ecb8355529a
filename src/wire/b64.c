/* b64.c: strict, table-driven base64 (see b64.h).
 *
 * Decoding looks every character up in one 256-entry table whose invalid
 * entries have bit 6 set; the bits of a whole run are OR-ed together and
 * checked once at the end, so the main loop has no data-dependent branch.
 * Only a failed check pays for a second, precise scan. */
#include "wire/b64.h"

#include "util/status.h"

static const char enc_tab[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define BAD 64 /* bit 6: not in the alphabet (includes '=') */
static const uint8_t dec_tab[256] = {
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64, 64, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
    64, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 64,
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};

size_t rn_b64_encode(const uint8_t *src, size_t n, char *out)
{
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        o[0] = enc_tab[v >> 18];
        o[1] = enc_tab[(v >> 12) & 63];
        o[2] = enc_tab[(v >> 6) & 63];
        o[3] = enc_tab[v & 63];
        o += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        o[0] = enc_tab[v >> 18];
        o[1] = enc_tab[(v >> 12) & 63];
        o[2] = '=';
        o[3] = '=';
        o += 4;
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        o[0] = enc_tab[v >> 18];
        o[1] = enc_tab[(v >> 12) & 63];
        o[2] = enc_tab[(v >> 6) & 63];
        o[3] = '=';
        o += 4;
    }
    return (size_t)(o - out);
}

/* Number of trailing '=' (0..len). */
static size_t pads(const char *s, size_t len)
{
    size_t p = 0;
    while (p < len && s[len - 1 - p] == '=')
        p++;
    return p;
}

int rn_b64_check(const char *s, size_t len, size_t *bad, size_t *decoded)
{
    if (len % 4)
        return RN_B64_BAD_LENGTH;
    size_t p = pads(s, len);
    size_t body = len - p;
    const uint8_t *u = (const uint8_t *)s;
    uint8_t acc = 0;
    for (size_t i = 0; i < body; i++)
        acc |= dec_tab[u[i]];
    if (acc & BAD) {
        /* The first byte outside the alphabet, or an '=' that is followed
         * by something other than '=' (the same rule as AWS's). */
        for (size_t i = 0; i < body; i++) {
            if (dec_tab[u[i]] & BAD) {
                if (bad)
                    *bad = i;
                return RN_B64_BAD_CHAR;
            }
        }
    }
    if (p > 2)
        return RN_B64_BAD_LAST;
    if (p) {
        uint8_t last = dec_tab[u[body - 1]];
        if (last & (p == 2 ? 0x0F : 0x03))
            return RN_B64_BAD_LAST;
    }
    if (decoded)
        *decoded = len / 4 * 3 - p;
    return RN_B64_OK;
}

int rn_b64_decode(const char *s, size_t len, uint8_t *out, size_t *out_len)
{
    if (len % 4)
        return RN_EINVAL;
    size_t p = pads(s, len);
    if (p > 2)
        return RN_EINVAL;
    const uint8_t *u = (const uint8_t *)s;
    size_t full = (len - p) / 4 * 4; /* characters in complete quads */
    uint8_t acc = 0;
    uint8_t *o = out;
    for (size_t i = 0; i < full; i += 4) {
        uint8_t a = dec_tab[u[i]], b = dec_tab[u[i + 1]], c = dec_tab[u[i + 2]], d = dec_tab[u[i + 3]];
        acc |= a | b | c | d;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        o += 3;
    }
    if (p) {
        /* the last quad: 2 or 3 significant characters */
        uint8_t a = dec_tab[u[full]], b = dec_tab[u[full + 1]];
        uint8_t c = p == 1 ? dec_tab[u[full + 2]] : 0;
        acc |= a | b | c;
        if ((p == 2 ? b & 0x0F : c & 0x03))
            return RN_EINVAL;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        *o++ = (uint8_t)(v >> 16);
        if (p == 1)
            *o++ = (uint8_t)(v >> 8);
    }
    if (acc & BAD)
        return RN_EINVAL;
    *out_len = (size_t)(o - out);
    return 0;
}
