/* test_wire_b64.c: the strict base64 codec (wire/b64.h) and rn_wire_blob:
 * RFC 4648 vectors, round trips of every length and byte value, and every
 * kind of bad input with the status (and offset) AWS's rules give. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wire/b64.h"
#include "wire/wire.h"

static void test_vectors(void)
{
    static const struct {
        const char *raw, *enc;
    } v[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].raw);
        char out[16];
        CHECK_EQ_INT(rn_b64_encoded_len(n), strlen(v[i].enc));
        size_t w = rn_b64_encode((const uint8_t *)v[i].raw, n, out);
        CHECK_EQ_INT(w, strlen(v[i].enc));
        out[w] = 0;
        CHECK_EQ_STR(out, v[i].enc);
        uint8_t dec[16];
        size_t dn = 99;
        CHECK_EQ_INT(rn_b64_decode(v[i].enc, strlen(v[i].enc), dec, &dn), 0);
        CHECK_EQ_INT(dn, n);
        CHECK(memcmp(dec, v[i].raw, n) == 0);
        size_t d2 = 99;
        CHECK_EQ_INT(rn_b64_check(v[i].enc, strlen(v[i].enc), NULL, &d2), RN_B64_OK);
        CHECK_EQ_INT(d2, n);
    }
    /* both non-alphanumeric characters */
    uint8_t ff[3] = {0xFB, 0xEF, 0xFF};
    char out[8];
    CHECK_EQ_INT(rn_b64_encode(ff, 3, out), 4);
    CHECK(memcmp(out, "++//", 4) == 0);
}

static void test_round_trips(void)
{
    uint8_t raw[1030], dec[1030];
    char enc[1400];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)(i * 7 + 3);
    int bad = 0;
    for (size_t n = 0; n <= sizeof raw; n++) {
        size_t w = rn_b64_encode(raw, n, enc);
        size_t dn = 0;
        if (w != rn_b64_encoded_len(n) || rn_b64_decode(enc, w, dec, &dn) != 0 || dn != n ||
            memcmp(dec, raw, n) != 0 || rn_b64_check(enc, w, NULL, NULL) != RN_B64_OK)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* every byte value in every position of a quad */
    bad = 0;
    for (int b = 0; b < 256; b++) {
        for (int pos = 0; pos < 3; pos++) {
            uint8_t r[3] = {0x11, 0x22, 0x33};
            r[pos] = (uint8_t)b;
            size_t w = rn_b64_encode(r, 3, enc), dn = 0;
            if (rn_b64_decode(enc, w, dec, &dn) || dn != 3 || memcmp(dec, r, 3))
                bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_bad_input(void)
{
    size_t at = 99, dn;
    uint8_t out[64];
    CHECK_EQ_INT(rn_b64_check("abc", 3, &at, NULL), RN_B64_BAD_LENGTH);
    CHECK_EQ_INT(rn_b64_check("abcde", 5, &at, NULL), RN_B64_BAD_LENGTH);
    CHECK_EQ_INT(rn_b64_check("ab!d", 4, &at, NULL), RN_B64_BAD_CHAR);
    CHECK_EQ_INT(at, 2);
    CHECK_EQ_INT(rn_b64_check("abcd ab=", 8, &at, NULL), RN_B64_BAD_CHAR);
    CHECK_EQ_INT(at, 4);
    CHECK_EQ_INT(rn_b64_check("a=bc", 4, &at, NULL), RN_B64_BAD_CHAR); /* '=' before the end */
    CHECK_EQ_INT(at, 1);
    CHECK_EQ_INT(rn_b64_check("ab=!", 4, &at, NULL), RN_B64_BAD_CHAR);
    CHECK_EQ_INT(at, 2);
    CHECK_EQ_INT(rn_b64_check("ab-_", 4, &at, NULL), RN_B64_BAD_CHAR); /* URL alphabet is not base64 */
    CHECK_EQ_INT(at, 2);
    CHECK_EQ_INT(rn_b64_check("ab\0d", 4, &at, NULL), RN_B64_BAD_CHAR);
    CHECK_EQ_INT(at, 2);
    CHECK_EQ_INT(rn_b64_check("A===", 4, &at, NULL), RN_B64_BAD_LAST);
    CHECK_EQ_INT(rn_b64_check("====", 4, &at, NULL), RN_B64_BAD_LAST);
    CHECK_EQ_INT(rn_b64_check("AB==", 4, &at, NULL), RN_B64_BAD_LAST); /* 'B' leaves bits set */
    CHECK_EQ_INT(rn_b64_check("AQ==", 4, &at, &dn), RN_B64_OK);
    CHECK_EQ_INT(dn, 1);
    CHECK_EQ_INT(rn_b64_check("ABC=", 4, &at, NULL), RN_B64_BAD_LAST);
    CHECK_EQ_INT(rn_b64_check("ABE=", 4, &at, &dn), RN_B64_OK);
    CHECK_EQ_INT(dn, 2);

    const char *bads[] = {"abc", "ab!d", "a=bc", "A===", "====", "AB==", "ABC=", "ab\xc3\xa9", "Zg=\n"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        CHECK_EQ_INT(rn_b64_decode(bads[i], strlen(bads[i]), out, &dn), RN_EINVAL);

    /* rn_wire_blob appends, and leaves the buffer alone on failure */
    rn_buf_t b;
    rn_buf_init(&b, 0);
    CHECK_EQ_INT(rn_wire_blob("aGk=", 4, &b), 0);
    CHECK_EQ_INT(rn_wire_blob("IQ==", 4, &b), 0);
    CHECK_EQ_INT(b.len, 3);
    CHECK_EQ_STR((const char *)b.data, "hi!");
    CHECK_EQ_INT(rn_wire_blob("I!==", 4, &b), RN_EINVAL);
    CHECK_EQ_INT(rn_wire_blob("", 0, &b), 0);
    CHECK_EQ_INT(b.len, 3);
    CHECK_EQ_STR((const char *)b.data, "hi!");
    rn_buf_dispose(&b);
    /* the buffer's ceiling is honoured */
    rn_buf_init(&b, 2);
    CHECK_EQ_INT(rn_wire_blob("aGk=", 4, &b), 0);
    CHECK_EQ_INT(rn_wire_blob("IQ==", 4, &b), RN_ETOOBIG);
    CHECK_EQ_INT(b.len, 2);
    rn_buf_dispose(&b);
}

int main(void)
{
    test_vectors();
    test_round_trips();
    test_bad_input();
    return rn_test_done("test_wire_b64");
}
