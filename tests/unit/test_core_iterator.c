/* test_core_iterator.c: sealed iterator tokens and the Java date format
 * (KINESIS_CONTRACT §3.5). Tokens are also built by hand here from the
 * byte layout documented in iterator.c, so the format is checked from
 * outside the implementation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/errors.h"
#include "core/iterator.h"
#include "tap.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Test-side codec: OpenSSL's (independent of the one under test). */
static size_t enc(const uint8_t *in, size_t n, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int dec(const char *s, uint8_t *out)
{
    size_t len = strlen(s);
    int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    if (n < 0)
        return n;
    /* EVP_DecodeBlock counts padding as zero bytes. */
    if (len >= 1 && s[len - 1] == '=')
        n--;
    if (len >= 2 && s[len - 2] == '=')
        n--;
    return n;
}

static rn_iter_t sample(void)
{
    rn_iter_t it;
    memset(&it, 0, sizeof it);
    it.stream_id = 0x0123456789abcdefULL;
    it.stream_created_ms = 1710489000123;
    it.shard_index = 42;
    it.position = 469;
    it.issued_ms = 1710489510000;
    snprintf(it.stream_name, sizeof it.stream_name, "%s", "orders-stream_1.v2");
    snprintf(it.account, sizeof it.account, "%s", "123456789012");
    snprintf(it.region, sizeof it.region, "%s", "eu-west-1");
    return it;
}

static int same(const rn_iter_t *a, const rn_iter_t *b)
{
    return a->stream_id == b->stream_id && a->stream_created_ms == b->stream_created_ms &&
           a->shard_index == b->shard_index && a->position == b->position &&
           a->issued_ms == b->issued_ms && strcmp(a->stream_name, b->stream_name) == 0 &&
           strcmp(a->account, b->account) == 0 && strcmp(a->region, b->region) == 0;
}

static int opens(const rn_iter_key_t *k, const char *tok, size_t len)
{
    rn_iter_t out;
    return rn_iter_open(k, tok, len, &out) == 0;
}

static void round_trip(const rn_iter_key_t *k, const rn_iter_t *it)
{
    char tok[RN_ITERATOR_MAX + 1];
    int n = rn_iter_seal(k, it, tok);
    CHECK(n > 0 && n <= RN_ITERATOR_MAX);
    if (n <= 0)
        return;
    CHECK_EQ_INT(strlen(tok), n);
    CHECK_EQ_INT(n % 4, 0);
    CHECK_EQ_INT(strspn(tok, b64) + strspn(tok + strspn(tok, b64), "="), n);
    /* Byte layout: magic | nonce | ciphertext (40 + name + account + region) | tag. */
    uint8_t raw[600];
    int rl = dec(tok, raw);
    CHECK_EQ_INT(rl, 8 + 12 + 40 + (int)(strlen(it->stream_name) + strlen(it->account) + strlen(it->region)) + 16);
    static const uint8_t magic[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    CHECK(rl >= 8 && memcmp(raw, magic, 8) == 0);
    CHECK(strncmp(tok, "AAAAAAAAAA", 10) == 0);

    rn_iter_t out;
    memset(&out, 0x5a, sizeof out);
    CHECK_EQ_INT(rn_iter_open(k, tok, (size_t)n, &out), 0);
    CHECK(same(&out, it));
    CHECK_EQ_INT(out.bound, 1);
    CHECK(out.issued_ms == it->issued_ms); /* expiry data exact */
    CHECK(out.stream_created_ms == it->stream_created_ms);
}

static void test_round_trips(const rn_iter_key_t *k)
{
    rn_iter_t it = sample();
    round_trip(k, &it);

    memset(&it, 0, sizeof it); /* all zero, empty name */
    round_trip(k, &it);

    it.stream_id = UINT64_MAX;
    it.stream_created_ms = INT64_MIN;
    it.shard_index = UINT32_MAX;
    it.position = UINT64_MAX;
    it.issued_ms = INT64_MAX;
    memset(it.stream_name, 'n', 128);
    it.stream_name[128] = '\0';
    round_trip(k, &it);

    it.stream_created_ms = -1;
    it.issued_ms = -1710489510000;
    round_trip(k, &it);

    /* A 128-char name, 12-digit account and 9-char region give 300 characters;
     * the largest binding (15 + 32) gives 336. */
    it = sample();
    for (int i = 0; i < 128; i++)
        it.stream_name[i] = "aZ09_.-"[i % 7];
    it.stream_name[128] = '\0';
    char tok[RN_ITERATOR_MAX + 1];
    int n = rn_iter_seal(k, &it, tok);
    CHECK(n > 0 && n <= RN_ITERATOR_MAX);
    CHECK_EQ_INT(n, 300);
    round_trip(k, &it);
    memset(it.account, '9', 15);
    it.account[15] = '\0';
    memset(it.region, 'r', 32);
    it.region[32] = '\0';
    n = rn_iter_seal(k, &it, tok);
    CHECK_EQ_INT(n, 336);
    round_trip(k, &it);
    /* An account or region without a NUL in its buffer cannot be sealed. */
    memset(it.region, 'r', sizeof it.region);
    CHECK_EQ_INT(rn_iter_seal(k, &it, tok), RN_EINVAL);
    it = sample();
    memset(it.account, '1', sizeof it.account);
    CHECK_EQ_INT(rn_iter_seal(k, &it, tok), RN_EINVAL);
    it = sample();

    /* Every name length seals within the limit and round-trips. */
    int bad = 0;
    for (int len = 0; len <= 128; len++) {
        it = sample();
        memset(it.stream_name, 'q', (size_t)len);
        it.stream_name[len] = '\0';
        rn_iter_t out;
        n = rn_iter_seal(k, &it, tok);
        if (n <= 0 || n > RN_ITERATOR_MAX || rn_iter_open(k, tok, (size_t)n, &out) != 0 ||
            !same(&out, &it))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);

    /* A name without a NUL in its 129 bytes cannot be sealed. */
    memset(it.stream_name, 'x', sizeof it.stream_name);
    CHECK_EQ_INT(rn_iter_seal(k, &it, tok), RN_EINVAL);

    /* Fresh nonce: the same iterator never gives the same token twice. */
    it = sample();
    char t1[RN_ITERATOR_MAX + 1], t2[RN_ITERATOR_MAX + 1];
    CHECK(rn_iter_seal(k, &it, t1) > 0);
    CHECK(rn_iter_seal(k, &it, t2) > 0);
    CHECK(strcmp(t1, t2) != 0);
}

static void test_quotes(const rn_iter_key_t *k)
{
    rn_iter_t it = sample(), out;
    char tok[RN_ITERATOR_MAX + 1], q[RN_ITERATOR_MAX + 8];
    int n = rn_iter_seal(k, &it, tok);
    CHECK(n > 0);
    snprintf(q, sizeof q, "\"%s\"", tok);
    CHECK_EQ_INT(rn_iter_open(k, q, strlen(q), &out), 0);
    CHECK(same(&out, &it));
    snprintf(q, sizeof q, "\"%s", tok);
    CHECK(!opens(k, q, strlen(q)));
    snprintf(q, sizeof q, "%s\"", tok);
    CHECK(!opens(k, q, strlen(q)));
    snprintf(q, sizeof q, "\"\"%s\"\"", tok);
    CHECK(!opens(k, q, strlen(q)));
    snprintf(q, sizeof q, " %s", tok);
    CHECK(!opens(k, q, strlen(q)));
    snprintf(q, sizeof q, "%s\n", tok);
    CHECK(!opens(k, q, strlen(q)));
    CHECK(!opens(k, "\"\"", 2));
    CHECK(!opens(k, "\"", 1));
}

static void test_garbage(const rn_iter_key_t *k)
{
    const char *junk[] = {"", "A", "AAAA", "====", "Invalid", "null", "\"\"",
                          "AAAAAAAAAAE=", "not base64 at all!!", "AAAAAAAAAAEAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        CHECK(!opens(k, junk[i], strlen(junk[i])));
    CHECK(!opens(k, NULL, 0));

    /* Long runs of valid base64 of every plausible length. */
    char buf[700];
    int bad = 0;
    for (size_t len = 0; len < sizeof buf; len++) {
        memset(buf, 'A', len);
        if (opens(k, buf, len))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);

    /* Random bytes, and random valid base64 with the right magic prefix. */
    srand(12345);
    bad = 0;
    uint8_t raw[220];
    for (int i = 0; i < 2000; i++) {
        size_t n = 74 + (size_t)(rand() % 140);
        for (size_t j = 0; j < n; j++)
            raw[j] = (uint8_t)rand();
        if (opens(k, (const char *)raw, n))
            bad++;
        memset(raw, 0, 7);
        raw[7] = 1;
        n = (size_t)enc(raw, n, buf);
        if (opens(k, buf, n))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_tamper(const rn_iter_key_t *k)
{
    rn_iter_t it = sample();
    char tok[RN_ITERATOR_MAX + 1], t[RN_ITERATOR_MAX + 8];
    int n = rn_iter_seal(k, &it, tok);
    CHECK(n > 0);
    if (n <= 0)
        return;

    /* Truncations and extensions. */
    int accepted = 0;
    for (int len = 0; len < n; len++)
        accepted += opens(k, tok, (size_t)len);
    const char *tails[] = {"A", "AAAA", "=", "====", "AA==", "\"", "\n"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        snprintf(t, sizeof t, "%s%s", tok, tails[i]);
        accepted += opens(k, t, strlen(t));
    }
    CHECK_EQ_INT(accepted, 0);

    /* Each character in turn, replaced by every other byte value. */
    accepted = 0;
    int tried = 0;
    for (int i = 0; i < n; i++) {
        for (int c = 1; c < 256; c++) {
            if (c == (unsigned char)tok[i])
                continue;
            memcpy(t, tok, (size_t)n);
            t[i] = (char)c;
            tried++;
            accepted += opens(k, t, (size_t)n);
        }
    }
    CHECK_EQ_INT(accepted, 0);
    CHECK_EQ_INT(tried, n * 254);

    /* Each bit of the decoded token in turn, re-encoded canonically. */
    uint8_t raw[300], mod[300];
    int rl = dec(tok, raw);
    CHECK(rl > 0);
    accepted = 0;
    for (int i = 0; i < rl * 8; i++) {
        memcpy(mod, raw, (size_t)rl);
        mod[i / 8] ^= (uint8_t)(1u << (i % 8));
        size_t m = enc(mod, (size_t)rl, t);
        accepted += opens(k, t, m);
    }
    CHECK_EQ_INT(accepted, 0);
    /* Sanity: the unmodified re-encoding opens. */
    size_t m = enc(raw, (size_t)rl, t);
    CHECK(opens(k, t, m));
    /* Swapping ciphertext with another token's keeps neither valid. */
    char other[RN_ITERATOR_MAX + 1];
    rn_iter_t it2 = sample();
    it2.position = 470;
    int n2 = rn_iter_seal(k, &it2, other);
    CHECK_EQ_INT(n2, n);
    memcpy(t, tok, 40);
    memcpy(t + 40, other + 40, (size_t)n - 40);
    CHECK(!opens(k, t, (size_t)n));

    /* Another key. */
    rn_iter_key_t k2;
    CHECK_EQ_INT(rn_iter_key_generate(&k2), 0);
    CHECK(memcmp(&k2, k, sizeof k2) != 0);
    CHECK(!opens(&k2, tok, (size_t)n));
    k2 = *k;
    k2.key[31] ^= 1;
    CHECK(!opens(&k2, tok, (size_t)n));
    CHECK(opens(k, tok, (size_t)n));
}

/* A forked child must not hand out the parent's pooled nonces: without the
 * fork handler both would take the same next nonce from the copied pool. */
static void test_fork_nonces(const rn_iter_key_t *k)
{
    rn_iter_t it = sample();
    char tok[RN_ITERATOR_MAX + 1];
    uint8_t raw[300], child_nonce[12] = {0};
    CHECK(rn_iter_seal(k, &it, tok) > 0); /* the pool is now partly used */
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        int ok = rn_iter_seal(k, &it, tok) > 0 && dec(tok, raw) > 20;
        ssize_t w = ok ? write(fds[1], raw + 8, 12) : -1;
        _exit(w == 12 ? 0 : 1);
    }
    close(fds[1]);
    ssize_t r = read(fds[0], child_nonce, sizeof child_nonce);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_INT(r, 12);
    CHECK(rn_iter_seal(k, &it, tok) > 0);
    CHECK(dec(tok, raw) > 20);
    CHECK(memcmp(raw + 8, child_nonce, 12) != 0);

    /* Many tokens in one process: no nonce repeats (pool refills included). */
    enum { MANY = 200 };
    static uint8_t seen[MANY][12];
    int dups = 0;
    for (int i = 0; i < MANY; i++) {
        CHECK(rn_iter_seal(k, &it, tok) > 0);
        CHECK(dec(tok, raw) > 20);
        memcpy(seen[i], raw + 8, 12);
        for (int j = 0; j < i; j++)
            dups += memcmp(seen[i], seen[j], 12) == 0;
    }
    CHECK_EQ_INT(dups, 0);
}

/* ---- hand-built tokens (format documented in iterator.c) ------------------ */

static int build(const rn_iter_key_t *k, const uint8_t *pt, int pt_len, char *out)
{
    uint8_t raw[400];
    static const uint8_t magic[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    memcpy(raw, magic, 8);
    for (int i = 0; i < 12; i++)
        raw[8 + i] = (uint8_t)(0xc0 + i);
    int len = 0, fin = 0, ok;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, raw + 8) == 1 &&
         EVP_EncryptUpdate(c, NULL, &len, magic, 8) == 1 &&
         EVP_EncryptUpdate(c, raw + 20, &len, pt, pt_len) == 1 &&
         EVP_EncryptFinal_ex(c, raw + 20 + len, &fin) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, raw + 20 + pt_len) == 1;
    EVP_CIPHER_CTX_free(c);
    CHECK(ok);
    return (int)enc(raw, (size_t)(20 + pt_len + 16), out);
}

static int plaintext(uint8_t *pt, uint8_t version, const char *name, int claimed_len)
{
    uint64_t f[5] = {7, (uint64_t)-5, 3, 99, 1710489510000};
    int w[5] = {8, 8, 4, 8, 8};
    int o = 0;
    pt[o++] = version;
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < w[i]; b++)
            pt[o++] = (uint8_t)(f[i] >> (8 * b));
    pt[o++] = (uint8_t)claimed_len;
    memcpy(pt + o, name, strlen(name));
    return o + (int)strlen(name);
}

static void test_handmade(const rn_iter_key_t *k)
{
    uint8_t pt[300];
    char tok[600];
    rn_iter_t out;

    int n = build(k, pt, plaintext(pt, 1, "hand", 4), tok);
    CHECK_EQ_INT(rn_iter_open(k, tok, (size_t)n, &out), 0);
    CHECK(out.stream_id == 7 && out.stream_created_ms == -5 && out.shard_index == 3 &&
          out.position == 99 && out.issued_ms == 1710489510000);
    CHECK_EQ_STR(out.stream_name, "hand");

    CHECK_EQ_INT(out.bound, 0); /* version 1: no binding */
    CHECK_EQ_STR(out.account, "");
    /* rn_iter_open_for opens it for anyone (the caller checks the stream). */
    CHECK_EQ_INT(rn_iter_open_for(k, tok, (size_t)n, "111111111111", "us-east-1", &out), 0);
    CHECK_EQ_INT(out.bound, 0);

    /* Version 2 by hand: name, account, region after the three lengths. */
    int l2 = plaintext(pt, 2, "", 4); /* 38 bytes: the fixed fields and L */
    pt[l2++] = 12;
    pt[l2++] = 9;
    memcpy(pt + l2, "hand222222222222eu-west-1", 25);
    l2 += 25;
    n = build(k, pt, l2, tok);
    CHECK_EQ_INT(rn_iter_open(k, tok, (size_t)n, &out), 0);
    CHECK_EQ_STR(out.stream_name, "hand");
    CHECK_EQ_STR(out.account, "222222222222");
    CHECK_EQ_STR(out.region, "eu-west-1");
    CHECK_EQ_INT(out.bound, 1);
    CHECK_EQ_INT(rn_iter_open_for(k, tok, (size_t)n, "222222222222", "eu-west-1", &out), 0);
    CHECK_EQ_INT(rn_iter_open_for(k, tok, (size_t)n, "111111111111", "eu-west-1", &out), RN_EINVAL);
    CHECK_EQ_INT(rn_iter_open_for(k, tok, (size_t)n, "222222222222", "us-east-1", &out), RN_EINVAL);
    CHECK_EQ_INT(rn_iter_open_for(k, tok, (size_t)n, "22222222222", "eu-west-1", &out), RN_EINVAL);
    /* Lengths that do not add up, an overlong account or region, a NUL in the binding. */
    pt[38] = 13;
    n = build(k, pt, l2, tok);
    CHECK(!opens(k, tok, (size_t)n));
    pt[38] = 12;
    pt[39] = 33;
    n = build(k, pt, l2 + 24, tok);
    CHECK(!opens(k, tok, (size_t)n));
    pt[39] = 9;
    pt[40 + 4 + 3] = '\0';
    n = build(k, pt, l2, tok);
    CHECK(!opens(k, tok, (size_t)n));
    /* A version 2 plaintext too short for its three lengths. */
    n = build(k, pt, plaintext(pt, 2, "h", 0), tok);
    CHECK(!opens(k, tok, (size_t)n));

    /* Authentic, but not this format: version, name length, NUL in name. */
    n = build(k, pt, plaintext(pt, 3, "hand", 4), tok);
    CHECK(!opens(k, tok, (size_t)n));
    n = build(k, pt, plaintext(pt, 0, "hand", 4), tok);
    CHECK(!opens(k, tok, (size_t)n));
    n = build(k, pt, plaintext(pt, 1, "hand", 5), tok);
    CHECK(!opens(k, tok, (size_t)n));
    n = build(k, pt, plaintext(pt, 1, "hand", 3), tok);
    CHECK(!opens(k, tok, (size_t)n));
    int l = plaintext(pt, 1, "ha", 3);
    pt[l++] = '\0';
    n = build(k, pt, l, tok);
    CHECK(!opens(k, tok, (size_t)n));
    /* A 129-byte name is authentic but too long. */
    char longname[130];
    memset(longname, 'z', 129);
    longname[129] = '\0';
    n = build(k, pt, plaintext(pt, 1, longname, 129), tok);
    CHECK(!opens(k, tok, (size_t)n));
    /* Short plaintext (fields missing). */
    n = build(k, pt, 30, tok);
    CHECK(!opens(k, tok, (size_t)n));
}

/* ---- Java date --------------------------------------------------------- */

static void test_java_date(void)
{
    char buf[64];
    rn_format_java_date(1710489510000, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Fri Mar 15 07:58:30 UTC 2024");
    rn_format_java_date(1710490958000, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Fri Mar 15 08:22:38 UTC 2024");
    rn_format_java_date(1710489510999, buf, sizeof buf); /* milliseconds dropped */
    CHECK_EQ_STR(buf, "Fri Mar 15 07:58:30 UTC 2024");
    rn_format_java_date(0, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Thu Jan 01 00:00:00 UTC 1970");
    rn_format_java_date(-1, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Wed Dec 31 23:59:59 UTC 1969");
    rn_format_java_date(-1000, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Wed Dec 31 23:59:59 UTC 1969");
    rn_format_java_date(-1001, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Wed Dec 31 23:59:58 UTC 1969");
    rn_format_java_date(951782400000, buf, sizeof buf); /* leap day */
    CHECK_EQ_STR(buf, "Tue Feb 29 00:00:00 UTC 2000");
    rn_format_java_date(1421279230000, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Wed Jan 14 23:47:10 UTC 2015");
    rn_format_java_date(253402300799000, buf, sizeof buf);
    CHECK_EQ_STR(buf, "Fri Dec 31 23:59:59 UTC 9999");
    rn_format_java_date(INT64_MAX, buf, sizeof buf); /* never overflows */
    CHECK(strlen(buf) > 0 && strlen(buf) < sizeof buf);
    rn_format_java_date(INT64_MIN, buf, sizeof buf);
    CHECK(strlen(buf) > 0 && strlen(buf) < sizeof buf);
    /* 32 bytes is enough for the usual years; smaller buffers truncate. */
    char small[10];
    memset(small, 'x', sizeof small);
    rn_format_java_date(1710489510000, small, sizeof small);
    CHECK_EQ_STR(small, "Fri Mar 1");
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void bench(const rn_iter_key_t *k)
{
    /* Informational only: no timing assertions. */
    rn_iter_t it = sample(), out;
    char tok[RN_ITERATOR_MAX + 1];
    const int n = 50000;
    int fails = 0;
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        it.position = (uint64_t)i;
        fails += rn_iter_seal(k, &it, tok) <= 0;
    }
    double seal = (now_ns() - t0) / n;
    size_t len = strlen(tok);
    t0 = now_ns();
    for (int i = 0; i < n; i++)
        fails += rn_iter_open(k, tok, len, &out) != 0;
    double open = (now_ns() - t0) / n;
    CHECK_EQ_INT(fails, 0);
    printf("# rn_iter_seal: %.0f ns, rn_iter_open: %.0f ns (%zu-char token)\n", seal, open, len);
}

int main(void)
{
    rn_iter_key_t k;
    CHECK_EQ_INT(rn_iter_key_generate(&k), 0);
    test_round_trips(&k);
    test_quotes(&k);
    test_garbage(&k);
    test_tamper(&k);
    test_handmade(&k);
    test_fork_nonces(&k);
    test_java_date();
    bench(&k);
    return rn_test_done("test_core_iterator");
}
