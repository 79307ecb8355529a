/* fast_encode.c: response pieces written straight into a reserved buffer,
 * byte for byte as jansson's json_dump(JSON_COMPACT | JSON_REAL_PRECISION(13))
 * writes them (see fast.h). The record operations render whole bodies with
 * these instead of building a jansson tree per record. */
#include "util/utf8.h"
#include "wire/fast.h"

#include <stdio.h>
#include <string.h>

char *rn_fast_put_json_string(char *w, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    *w++ = '"';
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *w++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = rn_utf8_seq(s + i, n - i);
            if (l) {
                memcpy(w, s + i, l);
                w += l;
                i += l;
            } else {
                memcpy(w, "\xEF\xBF\xBD", 3);
                w += 3;
                i++;
            }
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *w++ = (char)c;
            break;
        case '\b':
            *w++ = 'b';
            break;
        case '\f':
            *w++ = 'f';
            break;
        case '\n':
            *w++ = 'n';
            break;
        case '\r':
            *w++ = 'r';
            break;
        case '\t':
            *w++ = 't';
            break;
        default:
            memcpy(w, "u00", 3);
            w[3] = hex[c >> 4];
            w[4] = hex[c & 15];
            w += 5;
            break;
        }
        i++;
    }
    *w++ = '"';
    return w;
}

char *rn_fast_put_int(char *w, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *w++ = '-';
    while (n)
        *w++ = tmp[--n];
    return w;
}

/* jansson's jsonp_dtostr with precision 13: "%.13g", ".0" added when the
 * text has neither '.' nor 'e', '+' and leading zeros dropped from the
 * exponent. Used for the timestamps the fast branch does not cover. */
static char *put_real_slow(char *w, double v)
{
    char buf[RN_FAST_TIMESTAMP_MAX];
    int r = snprintf(buf, sizeof buf - 3, "%.13g", v);
    size_t len = r < 0 ? 0 : (size_t)r;
    if (len >= sizeof buf - 3)
        len = sizeof buf - 4;
    buf[len] = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ',')
            buf[i] = '.'; /* from_locale */
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        buf[len++] = '.';
        buf[len++] = '0';
        buf[len] = 0;
    }
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    memcpy(w, buf, len);
    return w + len;
}

char *rn_fast_put_timestamp(char *w, int64_t ms)
{
    /* Epoch seconds of 10 digits (2001-09-09 to 2286-11-20): the 13 digits
     * of %.13g are exactly the seconds and the milliseconds, and %g drops
     * trailing zeros of the fraction. A double holds ms / 1000.0 within
     * 2e-7, far below the half unit (5e-4) of the last digit, so the
     * rounding of %.13g always lands on the exact decimal. */
    if (ms >= 1000000000000LL && ms < 10000000000000LL) {
        int64_t sec = ms / 1000;
        int frac = (int)(ms % 1000);
        for (int i = 9; i >= 0; i--) {
            w[i] = (char)('0' + sec % 10);
            sec /= 10;
        }
        w += 10;
        *w++ = '.';
        if (frac == 0) {
            *w++ = '0';
            return w;
        }
        char d[3] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10), (char)('0' + frac % 10)};
        int nd = d[2] != '0' ? 3 : d[1] != '0' ? 2 : 1;
        memcpy(w, d, (size_t)nd);
        return w + nd;
    }
    return put_real_slow(w, (double)ms / 1000.0);
}

/* 8 ASCII digits as an integer whose most significant byte is the first digit. */
static inline uint64_t load_digits(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

static inline void store_digits(char *p, uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(p, &x, 8);
}

#define ONES 0x0101010101010101ULL

/* Add the digit values of a (one per byte) and carry to the 8 digits at p;
 * returns the carry out. Each byte of s + 246 carries into the next exactly
 * when its digit sum reaches 10 (bytes hold at most 9 + 9 + 1), and the
 * bytes that did not carry are put back by subtracting 246. */
static inline unsigned add8(char *p, uint64_t a, unsigned carry)
{
    uint64_t s = load_digits(p) - '0' * ONES + a + carry;
    uint64_t u;
    unsigned out = __builtin_add_overflow(s, 0xF6 * ONES, &u);
    u -= ((u >> 7) & ONES) * 0xF6;
    store_digits(p, u + '0' * ONES);
    return out;
}

void rn_fast_seq_step(char digits[56])
{
    /* 2^80 = 1208925819614629174706176: digits 31..55 of the 56, added
     * eight digits at a time from the right. */
    unsigned carry = add8(digits + 48, 0x0704070006010706ULL, 0); /* 74706176 */
    carry = add8(digits + 40, 0x0906010406020901ULL, carry);       /* 96146291 */
    carry = add8(digits + 32, 0x0200080902050801ULL, carry);       /* 20892581 */
    carry = add8(digits + 24, 0x0000000000000001ULL, carry);       /* 00000001 */
    for (int i = 23; carry && i >= 0; i--) {
        int v = (digits[i] - '0') + 1;
        carry = v >= 10;
        digits[i] = (char)('0' + v - 10 * (int)carry);
    }
}
