/* crc32c.c: CRC-32C, hardware (SSE4.2) when available, slicing-by-8 otherwise.
 *
 * Slicing-by-8 consumes 8 input bytes per step with eight 256-entry tables:
 * table[0] is the classic byte-at-a-time table, table[k][b] is the CRC of
 * byte b followed by k zero bytes. The tables are built once (pthread_once),
 * together with the choice of implementation. */
#include "store/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define RN_CRC_X86 1
#endif

#define RN_CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw;

static void crc_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ RN_CRC32C_POLY : c >> 1;
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = crc_table[0][b];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[t][b] = c;
        }
    }
#ifdef RN_CRC_X86
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

int rn_crc32c_hw_available(void)
{
    (void)pthread_once(&crc_once, crc_init);
    return crc_hw;
}

uint32_t rn_crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    (void)pthread_once(&crc_once, crc_init);
    const uint8_t *s = p;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)s & 7)) {
        c = crc_table[0][(c ^ *s++) & 0xff] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= c;
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
            crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        s += 8;
        n -= 8;
    }
    while (n--)
        c = crc_table[0][(c ^ *s++) & 0xff] ^ (c >> 8);
    return ~c;
}

#ifdef RN_CRC_X86
__attribute__((target("sse4.2"))) uint32_t rn_crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *s = p;
#if defined(__x86_64__)
    uint64_t c = ~crc;
    while (n && ((uintptr_t)s & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *s++);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        c = _mm_crc32_u64(c, w);
        s += 8;
        n -= 8;
    }
#else
    uint32_t c = ~crc;
    while (n >= 4) {
        uint32_t w;
        memcpy(&w, s, 4);
        c = _mm_crc32_u32(c, w);
        s += 4;
        n -= 4;
    }
#endif
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *s++);
    return ~(uint32_t)c;
}
#else
uint32_t rn_crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    return rn_crc32c_sw(crc, p, n);
}
#endif

uint32_t rn_crc32c(uint32_t crc, const void *p, size_t n)
{
    (void)pthread_once(&crc_once, crc_init);
    return crc_hw ? rn_crc32c_hw(crc, p, n) : rn_crc32c_sw(crc, p, n);
}
