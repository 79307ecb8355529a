/* test_util_ascii.c: the word-at-a-time ASCII case folding and comparison
 * of util/ascii.h against the byte-wise definition (and strncasecmp in the
 * C locale), and the fixed-width decimal writer against snprintf. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tap.h"
#include "util/ascii.h"

/* Every byte value in every position of a word lowers like rn_ascii_lower,
 * whatever its neighbours (no carry between bytes). */
static void test_lower8(void)
{
    int bad = 0;
    for (int pos = 0; pos < 8; pos++)
        for (int v = 0; v < 256; v++)
            for (int fill = 0; fill < 256; fill += 17) {
                uint8_t in[8], want[8];
                memset(in, fill, sizeof in);
                in[pos] = (uint8_t)v;
                for (int i = 0; i < 8; i++)
                    want[i] = rn_ascii_lower(in[i]);
                uint64_t x;
                memcpy(&x, in, 8);
                x = rn_ascii_lower8(x);
                if (memcmp(&x, want, 8) != 0)
                    bad++;
            }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(rn_ascii_lower('@'), '@');
    CHECK_EQ_INT(rn_ascii_lower('A'), 'a');
    CHECK_EQ_INT(rn_ascii_lower('Z'), 'z');
    CHECK_EQ_INT(rn_ascii_lower('['), '[');
    CHECK_EQ_INT(rn_ascii_lower(0xC1), 0xC1); /* not ASCII: unchanged */
}

/* rn_ascii_eq_ci agrees with strncasecmp (C locale) on strings without NUL,
 * at every length up to 40 (the n < 8 path, whole words, overlapping last
 * words), for equal, case-flipped and one-byte-different pairs. */
static void test_eq_ci(void)
{
    uint32_t r = 7;
    int bad = 0, equal = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char a[41], b[41];
        size_t n = (size_t)(iter % 41);
        for (size_t i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            unsigned ch = (r >> 16) & 0xff;
            a[i] = (char)(ch ? ch : 'x');
        }
        memcpy(b, a, n);
        r = r * 1103515245u + 12345u;
        int kind = (int)((r >> 16) % 4);
        for (size_t i = 0; i < n; i++) { /* flip the case of some letters */
            r = r * 1103515245u + 12345u;
            unsigned char ch = (unsigned char)b[i];
            if (((r >> 16) & 1) && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
                b[i] = (char)(ch ^ 0x20);
        }
        if (kind == 1 && n) { /* one byte different */
            r = r * 1103515245u + 12345u;
            size_t at = (r >> 16) % n;
            b[at] = (char)(b[at] == 'q' ? 'r' : 'q');
        } else if (kind == 2 && n) { /* differ by 0x20 where that is not a case change */
            r = r * 1103515245u + 12345u;
            size_t at = (r >> 16) % n;
            a[at] = '[';
            b[at] = '{';
        }
        a[n] = b[n] = 0;
        int want = strncasecmp(a, b, n) == 0;
        int got = rn_ascii_eq_ci(a, b, n);
        if (want != got)
            bad++;
        equal += got;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(equal > 5000 && equal < 15000); /* both outcomes were exercised */
    CHECK(rn_ascii_eq_ci("Content-Type", "content-type", 12));
    CHECK(rn_ascii_eq_ci("X-AMZ-TARGET", "x-amz-target", 12));
    CHECK(!rn_ascii_eq_ci("x-amz-targes", "x-amz-target", 12));
    CHECK(rn_ascii_eq_ci("Xx-amz-target", "xx-amz-targeT", 13));
    CHECK(rn_ascii_eq_ci("", "", 0));
}

static void test_put_fixed(void)
{
    static const uint64_t v[] = {0, 1, 9, 10, 99, 12345, 4294967295u, 999999999999ULL};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char want[32], got[32];
        snprintf(want, sizeof want, "%012llu", (unsigned long long)v[i]);
        char *end = rn_ascii_put_u64_fixed(got, v[i], 12);
        *end = 0;
        CHECK_EQ_STR(got, want);
    }
}

int main(void)
{
    test_lower8();
    test_eq_ci();
    test_put_fixed();
    return rn_test_done("test_util_ascii");
}
