/* test_core_recordcrypt.c: records sealed at rest (core/recordcrypt.h):
 * round trips, the frame layout checked from outside with OpenSSL, tamper
 * and wrong-key/stream/shard failures, data-key wrapping and its text form,
 * master-key files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/errors.h"
#include "core/recordcrypt.h"
#include "tap.h"

/* CHECK with a printf-style description of what failed. */
#define ok(cond, ...)                                                \
    do {                                                             \
        rn_test_checks++;                                            \
        if (!(cond)) {                                               \
            rn_test_failures++;                                      \
            fprintf(stderr, "%s:%d: not ok: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                            \
            fputc('\n', stderr);                                     \
        }                                                            \
    } while (0)
#define ok_quiet(cond) CHECK(cond)

static rn_datakey_t key_of(uint8_t b)
{
    rn_datakey_t k;
    memset(k.key, b, sizeof k.key);
    return k;
}

/* Seal then open; the opened pk/data must equal the input. */
static void round_trip(const char *what, const uint8_t *pk, size_t pk_len, const uint8_t *data, size_t data_len)
{
    rn_datakey_t k;
    ok(rn_datakey_generate(&k) == 0, "%s: key", what);
    size_t len = RN_RECORDCRYPT_OVERHEAD + pk_len + data_len;
    uint8_t *f = malloc(len + 1);
    ok(rn_record_seal(&k, 42, 7, pk, pk_len, data, data_len, f) == 0, "%s: seal", what);
    if (pk_len >= 4)
        ok(memmem(f, len, pk, pk_len) == NULL, "%s: partition key not in the frame", what);
    if (data_len >= 4)
        ok(memmem(f, len, data, data_len) == NULL, "%s: data not in the frame", what);
    const uint8_t *opk, *od;
    size_t opl, odl;
    ok(rn_record_open(&k, 42, 7, f, len, &opk, &opl, &od, &odl) == 0, "%s: open", what);
    ok(opl == pk_len && (pk_len == 0 || memcmp(opk, pk, pk_len) == 0), "%s: partition key back", what);
    ok(odl == data_len && (data_len == 0 || memcmp(od, data, data_len) == 0), "%s: data back", what);
    free(f);
}

/* The frame decrypted by the test's own AES-256-GCM call (layout in
 * recordcrypt.h), independent of the implementation's contexts. */
static void check_layout(void)
{
    rn_datakey_t k = key_of(0x11);
    const uint8_t pk[] = "key", data[] = "hello world";
    uint8_t f[RN_RECORDCRYPT_OVERHEAD + 3 + 11];
    ok(rn_record_seal(&k, 0x0102030405060708ULL, 0x0A0B0C0D, pk, 3, data, 11, f) == 0, "layout: seal");
    uint8_t aad[18] = {'r', 'n', 'r', 'e', 'c', '1', 8, 7, 6, 5, 4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t pt[64];
    int n = 0, m = 0;
    int good = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k.key, f) == 1 &&
               EVP_DecryptUpdate(ctx, NULL, &n, aad, sizeof aad) == 1 &&
               EVP_DecryptUpdate(ctx, pt, &n, f + 12, 2 + 3 + 11) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, f + 12 + 16) == 1 &&
               EVP_DecryptFinal_ex(ctx, pt + n, &m) == 1;
    EVP_CIPHER_CTX_free(ctx);
    ok(good, "layout: OpenSSL opens nonce|ct|tag with the documented AAD");
    ok(n == 16 && pt[0] == 3 && pt[1] == 0 && memcmp(pt + 2, "key", 3) == 0 && memcmp(pt + 5, "hello world", 11) == 0,
       "layout: plaintext is pk_len u16 LE | pk | data");
}

static void check_failures(void)
{
    rn_datakey_t k = key_of(0x22), other = key_of(0x23);
    const uint8_t pk[] = "pk", data[] = "payload";
    size_t len = RN_RECORDCRYPT_OVERHEAD + 2 + 7;
    uint8_t f[64], g[64];
    const uint8_t *a, *b;
    size_t al, bl;
    ok(rn_record_seal(&k, 1, 0, pk, 2, data, 7, f) == 0, "fail: seal");
    for (size_t i = 0; i < len; i++) { /* every byte: nonce, ciphertext, tag */
        memcpy(g, f, len);
        g[i] ^= 0x01;
        if (rn_record_open(&k, 1, 0, g, len, &a, &al, &b, &bl) != RN_ECORRUPT) {
            ok(0, "fail: flipped byte %zu rejected", i);
            return;
        }
    }
    ok(1, "fail: every flipped bit rejected");
    memcpy(g, f, len);
    ok(rn_record_open(&other, 1, 0, g, len, &a, &al, &b, &bl) == RN_ECORRUPT, "fail: wrong key");
    memcpy(g, f, len);
    ok(rn_record_open(&k, 2, 0, g, len, &a, &al, &b, &bl) == RN_ECORRUPT, "fail: other stream");
    memcpy(g, f, len);
    ok(rn_record_open(&k, 1, 1, g, len, &a, &al, &b, &bl) == RN_ECORRUPT, "fail: other shard");
    memcpy(g, f, len);
    ok(rn_record_open(&k, 1, 0, g, len - 1, &a, &al, &b, &bl) == RN_ECORRUPT, "fail: truncated");
    ok(rn_record_open(&k, 1, 0, g, RN_RECORDCRYPT_OVERHEAD - 1, &a, &al, &b, &bl) == RN_ECORRUPT, "fail: too short");
    /* The right key still works after failures (contexts recover). */
    memcpy(g, f, len);
    ok(rn_record_open(&k, 1, 0, g, len, &a, &al, &b, &bl) == 0 && bl == 7 && memcmp(b, "payload", 7) == 0,
       "fail: context usable after failures");
    ok(rn_record_seal(&k, 1, 0, pk, 70000, data, 7, g) == RN_EINVAL, "fail: partition key > 65535 bytes");
}

static void check_nonces(void)
{
    rn_datakey_t k = key_of(0x33);
    uint8_t f1[RN_RECORDCRYPT_OVERHEAD + 1], f2[RN_RECORDCRYPT_OVERHEAD + 1];
    int distinct = 1;
    for (int i = 0; i < 200 && distinct; i++) { /* crosses several pool refills */
        ok_quiet(rn_record_seal(&k, 1, 0, NULL, 0, (const uint8_t *)"x", 1, f1) == 0);
        ok_quiet(rn_record_seal(&k, 1, 0, NULL, 0, (const uint8_t *)"x", 1, f2) == 0);
        distinct = memcmp(f1, f2, 12) != 0 && memcmp(f1 + 12, f2 + 12, sizeof f1 - 12) != 0;
    }
    ok(distinct, "nonces: two seals of one record never share nonce or ciphertext");
}

static void check_keys(void)
{
    uint8_t master[32], wrong[32];
    memset(master, 0x44, sizeof master);
    memset(wrong, 0x45, sizeof wrong);
    rn_datakey_t k = key_of(0x5A), back;
    uint8_t w[RN_DATAKEY_WRAPPED_LEN];
    ok(rn_datakey_wrap(master, &k, w) == 0, "keys: wrap");
    ok(memmem(w, sizeof w, k.key, 8) == NULL, "keys: wrapped bytes hide the key");
    ok(rn_datakey_unwrap(master, w, &back) == 0 && memcmp(back.key, k.key, 32) == 0, "keys: unwrap");
    ok(rn_datakey_unwrap(wrong, w, &back) == RN_ECORRUPT, "keys: wrong master key");
    char text[RN_DATAKEY_TEXT_MAX];
    ok(rn_datakey_to_text(NULL, &k, text) == 0 && strncmp(text, "raw:", 4) == 0 && strlen(text) == 68,
       "keys: raw text");
    ok(rn_datakey_from_text(master, text, &back) == 0 && memcmp(back.key, k.key, 32) == 0,
       "keys: raw text read with a master key too");
    ok(rn_datakey_to_text(master, &k, text) == 0 && strncmp(text, "gcm:", 4) == 0 &&
           strlen(text) == 4 + 2 * RN_DATAKEY_WRAPPED_LEN,
       "keys: wrapped text");
    ok(rn_datakey_from_text(master, text, &back) == 0 && memcmp(back.key, k.key, 32) == 0, "keys: wrapped back");
    ok(rn_datakey_from_text(NULL, text, &back) == RN_ENOENT, "keys: wrapped without a master key");
    ok(rn_datakey_from_text(wrong, text, &back) == RN_ECORRUPT, "keys: wrapped, wrong master key");
    ok(rn_datakey_from_text(NULL, "raw:00", &back) == RN_EINVAL, "keys: short text");
    ok(rn_datakey_from_text(NULL, "xyz:00", &back) == RN_EINVAL, "keys: unknown form");

    char path[] = "/tmp/rn-master-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0 && write(fd, "passphrase", 10) == 10, "master: file");
    close(fd);
    uint8_t m1[32], expect[32];
    unsigned int olen;
    EVP_Digest("passphrase", 10, expect, &olen, EVP_sha256(), NULL);
    ok(rn_master_key_load(path, m1) == 0 && memcmp(m1, expect, 32) == 0, "master: SHA-256 of the file");
    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    ok(rn_master_key_load(path, m1) == RN_EINVAL, "master: empty file refused");
    unlink(path);
    ok(rn_master_key_load(path, m1) == RN_ENOENT, "master: missing file");
}

int main(void)
{
    const uint8_t pk[] = "MARKER-partition-key";
    uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    round_trip("small", pk, sizeof pk - 1, (const uint8_t *)"MARKER-data", 11);
    round_trip("empty data", pk, sizeof pk - 1, NULL, 0);
    round_trip("no key", NULL, 0, (const uint8_t *)"data only", 9);
    round_trip("large", pk, sizeof pk - 1, big, sizeof big);
    check_layout();
    check_failures();
    check_nonces();
    check_keys();
    return rn_test_done("test_core_recordcrypt");
}
