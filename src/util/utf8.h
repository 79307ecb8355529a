/* utf8.h: the one UTF-8 validity rule runnel applies everywhere (JSON and
 * CBOR decoding, error and response rendering): the rules of jansson's
 * utf8_check_full — no overlong forms, no surrogates, nothing above
 * U+10FFFF — so text runnel accepts is text jansson accepts. */
#ifndef RN_UTF8_H
#define RN_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (at most n >= 1 bytes), 0 if invalid. */
static inline size_t rn_utf8_seq(const uint8_t *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

#endif
