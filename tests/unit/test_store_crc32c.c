/* test_store_crc32c.c: CRC-32C against published vectors (RFC 3720 B.4 and
 * the classic "123456789"), hardware vs. portable, chaining, alignment. */
#include "store/crc32c.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

static void check_both(const void *p, size_t n, uint32_t want)
{
    CHECK_EQ_INT(rn_crc32c(0, p, n), want);
    CHECK_EQ_INT(rn_crc32c_sw(0, p, n), want);
    if (rn_crc32c_hw_available())
        CHECK_EQ_INT(rn_crc32c_hw(0, p, n), want);
}

int main(void)
{
    uint8_t buf[64];

    check_both("123456789", 9, 0xE3069283u);
    check_both("", 0, 0);
    check_both("a", 1, 0xC1D04330u);

    memset(buf, 0, 32);
    check_both(buf, 32, 0x8A9136AAu);
    memset(buf, 0xff, 32);
    check_both(buf, 32, 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    check_both(buf, 32, 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    check_both(buf, 32, 0x113FDB5Cu);

    static const uint8_t iscsi[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    check_both(iscsi, sizeof iscsi, 0xD9963A56u);

    /* Chaining and every alignment/length: all paths agree with the byte loop. */
    size_t n = 4096 + 13;
    uint8_t *big = malloc(n + 8);
    CHECK(big != NULL);
    if (!big)
        return rn_test_done("test_store_crc32c");
    uint32_t x = 12345;
    for (size_t i = 0; i < n + 8; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (uint8_t)(x >> 16);
    }
    int mismatches = 0;
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len < 80; len++) {
            uint32_t sw = rn_crc32c_sw(0, big + off, len);
            if (rn_crc32c(0, big + off, len) != sw)
                mismatches++;
            if (rn_crc32c_hw_available() && rn_crc32c_hw(0, big + off, len) != sw)
                mismatches++;
        }
    }
    CHECK_EQ_INT(mismatches, 0);
    uint32_t whole = rn_crc32c(0, big, n);
    for (size_t cut = 0; cut <= n; cut += 97)
        CHECK_EQ_INT(rn_crc32c(rn_crc32c(0, big, cut), big + cut, n - cut), whole);
    CHECK_EQ_INT(rn_crc32c_sw(0, big, n), whole);
    free(big);
    return rn_test_done("test_store_crc32c");
}
