/* hashkey.c: partition-key routing (MD5, big-endian), u128 decimal text,
 * and the even initial shard layout (KINESIS_CONTRACT §3.2).
 *
 * Routing runs once per record, so MD5 is computed here (RFC 1321) rather
 * than through OpenSSL's EVP interface: for the short keys of routing, EVP's
 * init/final/cleanse and provider dispatch cost more than the compression
 * itself (~1,750 instructions per key through a reused per-thread EVP
 * context, ~700 here). Nothing secret is hashed, and the unit test compares
 * the digests with OpenSSL's on every length across several blocks. */
#include "core/hashkey.h"

#include <assert.h>
#include <string.h>

#include "core/errors.h"

/* ---- MD5 (RFC 1321) ---------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t rotl32(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

/* The four auxiliary functions and one step of each round (RFC 1321 3.4). */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define MD5_STEP(f, a, b, c, d, xk, s, t) (a) = (b) + rotl32((a) + f((b), (c), (d)) + (xk) + (t), (s))

/* Mix one 64-byte block into h. */
static void md5_block(uint32_t h[4], const uint8_t *p)
{
    uint32_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = le32(p + 4 * i);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];

    MD5_STEP(MD5_F, a, b, c, d, x[0], 7, 0xd76aa478);
    MD5_STEP(MD5_F, d, a, b, c, x[1], 12, 0xe8c7b756);
    MD5_STEP(MD5_F, c, d, a, b, x[2], 17, 0x242070db);
    MD5_STEP(MD5_F, b, c, d, a, x[3], 22, 0xc1bdceee);
    MD5_STEP(MD5_F, a, b, c, d, x[4], 7, 0xf57c0faf);
    MD5_STEP(MD5_F, d, a, b, c, x[5], 12, 0x4787c62a);
    MD5_STEP(MD5_F, c, d, a, b, x[6], 17, 0xa8304613);
    MD5_STEP(MD5_F, b, c, d, a, x[7], 22, 0xfd469501);
    MD5_STEP(MD5_F, a, b, c, d, x[8], 7, 0x698098d8);
    MD5_STEP(MD5_F, d, a, b, c, x[9], 12, 0x8b44f7af);
    MD5_STEP(MD5_F, c, d, a, b, x[10], 17, 0xffff5bb1);
    MD5_STEP(MD5_F, b, c, d, a, x[11], 22, 0x895cd7be);
    MD5_STEP(MD5_F, a, b, c, d, x[12], 7, 0x6b901122);
    MD5_STEP(MD5_F, d, a, b, c, x[13], 12, 0xfd987193);
    MD5_STEP(MD5_F, c, d, a, b, x[14], 17, 0xa679438e);
    MD5_STEP(MD5_F, b, c, d, a, x[15], 22, 0x49b40821);

    MD5_STEP(MD5_G, a, b, c, d, x[1], 5, 0xf61e2562);
    MD5_STEP(MD5_G, d, a, b, c, x[6], 9, 0xc040b340);
    MD5_STEP(MD5_G, c, d, a, b, x[11], 14, 0x265e5a51);
    MD5_STEP(MD5_G, b, c, d, a, x[0], 20, 0xe9b6c7aa);
    MD5_STEP(MD5_G, a, b, c, d, x[5], 5, 0xd62f105d);
    MD5_STEP(MD5_G, d, a, b, c, x[10], 9, 0x02441453);
    MD5_STEP(MD5_G, c, d, a, b, x[15], 14, 0xd8a1e681);
    MD5_STEP(MD5_G, b, c, d, a, x[4], 20, 0xe7d3fbc8);
    MD5_STEP(MD5_G, a, b, c, d, x[9], 5, 0x21e1cde6);
    MD5_STEP(MD5_G, d, a, b, c, x[14], 9, 0xc33707d6);
    MD5_STEP(MD5_G, c, d, a, b, x[3], 14, 0xf4d50d87);
    MD5_STEP(MD5_G, b, c, d, a, x[8], 20, 0x455a14ed);
    MD5_STEP(MD5_G, a, b, c, d, x[13], 5, 0xa9e3e905);
    MD5_STEP(MD5_G, d, a, b, c, x[2], 9, 0xfcefa3f8);
    MD5_STEP(MD5_G, c, d, a, b, x[7], 14, 0x676f02d9);
    MD5_STEP(MD5_G, b, c, d, a, x[12], 20, 0x8d2a4c8a);

    MD5_STEP(MD5_H, a, b, c, d, x[5], 4, 0xfffa3942);
    MD5_STEP(MD5_H, d, a, b, c, x[8], 11, 0x8771f681);
    MD5_STEP(MD5_H, c, d, a, b, x[11], 16, 0x6d9d6122);
    MD5_STEP(MD5_H, b, c, d, a, x[14], 23, 0xfde5380c);
    MD5_STEP(MD5_H, a, b, c, d, x[1], 4, 0xa4beea44);
    MD5_STEP(MD5_H, d, a, b, c, x[4], 11, 0x4bdecfa9);
    MD5_STEP(MD5_H, c, d, a, b, x[7], 16, 0xf6bb4b60);
    MD5_STEP(MD5_H, b, c, d, a, x[10], 23, 0xbebfbc70);
    MD5_STEP(MD5_H, a, b, c, d, x[13], 4, 0x289b7ec6);
    MD5_STEP(MD5_H, d, a, b, c, x[0], 11, 0xeaa127fa);
    MD5_STEP(MD5_H, c, d, a, b, x[3], 16, 0xd4ef3085);
    MD5_STEP(MD5_H, b, c, d, a, x[6], 23, 0x04881d05);
    MD5_STEP(MD5_H, a, b, c, d, x[9], 4, 0xd9d4d039);
    MD5_STEP(MD5_H, d, a, b, c, x[12], 11, 0xe6db99e5);
    MD5_STEP(MD5_H, c, d, a, b, x[15], 16, 0x1fa27cf8);
    MD5_STEP(MD5_H, b, c, d, a, x[2], 23, 0xc4ac5665);

    MD5_STEP(MD5_I, a, b, c, d, x[0], 6, 0xf4292244);
    MD5_STEP(MD5_I, d, a, b, c, x[7], 10, 0x432aff97);
    MD5_STEP(MD5_I, c, d, a, b, x[14], 15, 0xab9423a7);
    MD5_STEP(MD5_I, b, c, d, a, x[5], 21, 0xfc93a039);
    MD5_STEP(MD5_I, a, b, c, d, x[12], 6, 0x655b59c3);
    MD5_STEP(MD5_I, d, a, b, c, x[3], 10, 0x8f0ccc92);
    MD5_STEP(MD5_I, c, d, a, b, x[10], 15, 0xffeff47d);
    MD5_STEP(MD5_I, b, c, d, a, x[1], 21, 0x85845dd1);
    MD5_STEP(MD5_I, a, b, c, d, x[8], 6, 0x6fa87e4f);
    MD5_STEP(MD5_I, d, a, b, c, x[15], 10, 0xfe2ce6e0);
    MD5_STEP(MD5_I, c, d, a, b, x[6], 15, 0xa3014314);
    MD5_STEP(MD5_I, b, c, d, a, x[13], 21, 0x4e0811a1);
    MD5_STEP(MD5_I, a, b, c, d, x[4], 6, 0xf7537e82);
    MD5_STEP(MD5_I, d, a, b, c, x[11], 10, 0xbd3af235);
    MD5_STEP(MD5_I, c, d, a, b, x[2], 15, 0x2ad7d2bb);
    MD5_STEP(MD5_I, b, c, d, a, x[9], 21, 0xeb86d391);

    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

rn_u128 rn_hashkey_of(const void *pk, size_t len)
{
    const uint8_t *p = pk;
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64)
        md5_block(h, p);
    /* Padding: 0x80, zeros, then the length in bits (little-endian) in the
     * last 8 bytes of the last block; one or two blocks. */
    uint8_t tail[128];
    size_t tlen = left < 56 ? 64 : 128;
    if (left)
        memcpy(tail, p, left);
    tail[left] = 0x80;
    memset(tail + left + 1, 0, tlen - 8 - left - 1);
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 8 + i] = (uint8_t)(bits >> (8 * i));
    md5_block(h, tail);
    if (tlen == 128)
        md5_block(h, tail + 64);
    /* The digest is h[0..3] stored little-endian; as a big-endian number its
     * words are the byte-swapped h[i], most significant first. */
    uint64_t hi = (uint64_t)__builtin_bswap32(h[0]) << 32 | __builtin_bswap32(h[1]);
    uint64_t lo = (uint64_t)__builtin_bswap32(h[2]) << 32 | __builtin_bswap32(h[3]);
    return (rn_u128)hi << 64 | lo;
}

/* ---- decimal text ------------------------------------------------------- */

int rn_u128_parse(const char *s, size_t len, rn_u128 *out)
{
    if (!s || len == 0)
        return RN_EINVAL;
    /* Every character is checked before the value, so "99…9x" is EINVAL. */
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return RN_EINVAL;
    rn_u128 v = 0;
    const rn_u128 lim = RN_U128_MAX / 10; /* v*10 overflows iff v > lim */
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > lim)
            return RN_ETOOBIG;
        v *= 10;
        if (v > RN_U128_MAX - d)
            return RN_ETOOBIG;
        v += d;
    }
    *out = v;
    return 0;
}

size_t rn_u128_format(rn_u128 v, char *buf)
{
    /* Peel off 19-digit chunks (10^19 < 2^64) so most divisions are 64-bit. */
    const uint64_t p19 = 10000000000000000000ULL;
    uint64_t chunk[3];
    int n = 0;
    do {
        chunk[n++] = (uint64_t)(v % p19);
        v /= p19;
    } while (v && n < 3);
    assert(v == 0); /* 2^128 < 10^57 */

    char tmp[40];
    size_t len = 0;
    /* Most significant chunk without padding, the rest as 19 digits each. */
    for (int c = n - 1; c >= 0; c--) {
        char d[20];
        int k = 0;
        uint64_t x = chunk[c];
        do {
            d[k++] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        if (c != n - 1)
            while (k < 19)
                d[k++] = '0';
        while (k)
            tmp[len++] = d[--k];
    }
    for (size_t i = 0; i < len; i++)
        buf[i] = tmp[i];
    buf[len] = '\0';
    return len;
}

/* ---- even split ----------------------------------------------------------- */

void rn_hashkey_split_even(uint32_t n, uint32_t i, rn_u128 *start, rn_u128 *end)
{
    assert(n > 0 && i < n);
    if (n <= 1) {
        *start = 0;
        *end = RN_U128_MAX;
        return;
    }
    /* floor(2^128 / n) without 2^128: from 2^128 - 1 = q*n + r, the exact
     * quotient is q, plus one when r == n - 1 (n a power of two). */
    rn_u128 w = RN_U128_MAX / n;
    if (RN_U128_MAX % n == (rn_u128)n - 1)
        w++;
    *start = w * i;
    *end = (i >= n - 1) ? RN_U128_MAX : w * (i + 1) - 1;
}
