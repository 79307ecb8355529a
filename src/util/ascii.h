/* ascii.h: ASCII helpers for protocol text (header names, media types,
 * numbers), inline because they run on every request.
 *
 * Case folding is ASCII only (A-Z <-> a-z), as HTTP defines it for field
 * names and tokens, and as strncasecmp() does in the C locale runnel runs
 * in; unlike strncasecmp() the comparison does not stop at a NUL (the bytes
 * compared are lengths-delimited, and NUL never occurs in a valid field). */
#ifndef RN_ASCII_H
#define RN_ASCII_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline unsigned char rn_ascii_lower(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + ('a' - 'A')) : ch;
}

/* The eight bytes of x with their ASCII upper-case letters lowered. With c
 * a byte's low seven bits, c + 0x3f reaches bit 7 exactly when c >= 'A' and
 * c + 0x25 exactly when c > 'Z' (no carry leaves a byte: c <= 0x7f), and
 * bytes >= 0x80 are excluded by ~x; the flag, shifted to 0x20, lowers. */
static inline uint64_t rn_ascii_lower8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t c = x & (0x7f * ones);
    uint64_t upper = (c + 0x3f * ones) & ~(c + 0x25 * ones) & ~x & (0x80 * ones);
    return x | (upper >> 2);
}

/* 1 if a[0..n) and b[0..n) are equal ignoring ASCII case. Eight bytes at a
 * time (the last word overlapping the one before when n is not a multiple
 * of eight): header names and media types are compared per request. */
static inline int rn_ascii_eq_ci(const char *a, const char *b, size_t n)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i] &&
                rn_ascii_lower((unsigned char)a[i]) != rn_ascii_lower((unsigned char)b[i]))
                return 0;
        return 1;
    }
    for (size_t i = 0;; i += 8) {
        if (i > n - 8)
            i = n - 8; /* the last, overlapping word */
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y && rn_ascii_lower8(x) != rn_ascii_lower8(y))
            return 0;
        if (i == n - 8)
            return 1;
    }
}

/* Write v in decimal at p, exactly width digits (zero-padded on the left;
 * the caller makes width large enough for v); returns the end. */
static inline char *rn_ascii_put_u64_fixed(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* The value of one hex digit, or -1. */
static inline int rn_ascii_hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Form decoding (application/x-www-form-urlencoded, query strings):
 * %XX escapes and '+' as a space, p[0..n) into out[0..cap) (not
 * NUL-terminated). The length, or -1 when it does not fit or an escape is
 * bad. */
static inline int rn_ascii_form_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o >= cap)
            return -1;
        if (p[i] == '%') {
            int h = i + 2 < n ? rn_ascii_hexval((unsigned char)p[i + 1]) : -1;
            int l = i + 2 < n ? rn_ascii_hexval((unsigned char)p[i + 2]) : -1;
            if (h < 0 || l < 0)
                return -1;
            out[o++] = (char)(h << 4 | l);
            i += 2;
        } else {
            out[o++] = p[i] == '+' ? ' ' : p[i];
        }
    }
    return (int)o;
}

#endif
