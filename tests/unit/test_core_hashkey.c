/* test_core_hashkey.c: MD5 routing, u128 decimal text and the even split
 * (KINESIS_CONTRACT §3.2). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/errors.h"
#include "core/hashkey.h"
#include "tap.h"

#define MAX_TEXT "340282366920938463463374607431768211455"

static rn_u128 P(const char *s)
{
    rn_u128 v = 0;
    int rc = rn_u128_parse(s, strlen(s), &v);
    CHECK_EQ_INT(rc, 0);
    return v;
}

static int eq_text(rn_u128 v, const char *want)
{
    char buf[40];
    size_t n = rn_u128_format(v, buf);
    CHECK_EQ_STR(buf, want);
    CHECK_EQ_INT(n, strlen(want));
    return strcmp(buf, want) == 0;
}

static void test_md5_vectors(void)
{
    const char *pk = "partitionKey-1"; /* the contract's example */
    eq_text(rn_hashkey_of(pk, strlen(pk)), "159499196025307651934328298402289840726");
    /* md5("") = d41d8cd98f00b204e9800998ecf8427e, md5("abc") = 900150983cd24fb0d6963f7d28e17f72 */
    rn_u128 empty = ((rn_u128)0xd41d8cd98f00b204ULL << 64) | 0xe9800998ecf8427eULL;
    rn_u128 abc = ((rn_u128)0x900150983cd24fb0ULL << 64) | 0xd6963f7d28e17f72ULL;
    CHECK(rn_hashkey_of("", 0) == empty);
    CHECK(empty == P("281949768489412648962353822266799178366"));
    CHECK(rn_hashkey_of("abc", 3) == abc);
    /* Longer than one MD5 block, and repeated calls on the reused context. */
    char big[1000];
    memset(big, 'x', sizeof big);
    rn_u128 a = rn_hashkey_of(big, sizeof big), b = rn_hashkey_of(big, sizeof big);
    CHECK(a == b);
    CHECK(rn_hashkey_of(big, sizeof big - 1) != a);
}

/* OpenSSL's MD5 of the same bytes, read big-endian. */
static rn_u128 openssl_md5(const void *p, size_t n)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    CHECK_EQ_INT(EVP_Digest(p, n, d, &dlen, EVP_md5(), NULL), 1);
    CHECK_EQ_INT(dlen, 16);
    rn_u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = (v << 8) | d[i];
    return v;
}

/* rn_hashkey_of is runnel's own MD5: compare it with OpenSSL's on every
 * length from 0 to 300 (every padding case: 55/56/63/64 bytes into a block,
 * several blocks), on varied bytes, and at every offset within a buffer. */
static void test_md5_openssl(void)
{
    uint8_t buf[320];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    int bad = 0;
    for (size_t n = 0; n <= 300; n++)
        for (size_t off = 0; off < 8; off++)
            if (rn_hashkey_of(buf + off, n) != openssl_md5(buf + off, n))
                bad++;
    CHECK_EQ_INT(bad, 0);
    /* A 256-character partition key of 4-byte UTF-8 characters (1 KiB). */
    uint8_t key[1024];
    for (size_t i = 0; i < sizeof key; i += 4)
        memcpy(key + i, "\xf0\x9f\x98\x80", 4);
    CHECK(rn_hashkey_of(key, sizeof key) == openssl_md5(key, sizeof key));
}

static void test_parse(void)
{
    rn_u128 v = 123;
    CHECK_EQ_INT(rn_u128_parse("0", 1, &v), 0);
    CHECK(v == 0);
    CHECK_EQ_INT(rn_u128_parse(MAX_TEXT, strlen(MAX_TEXT), &v), 0);
    CHECK(v == RN_U128_MAX);
    CHECK_EQ_INT(rn_u128_parse("340282366920938463463374607431768211454", 39, &v), 0);
    CHECK(v == RN_U128_MAX - 1);

    v = 7;
    CHECK_EQ_INT(rn_u128_parse("340282366920938463463374607431768211456", 39, &v), RN_ETOOBIG);
    CHECK_EQ_INT(rn_u128_parse("340282366920938463463374607431768211460", 39, &v), RN_ETOOBIG);
    CHECK_EQ_INT(rn_u128_parse("999999999999999999999999999999999999999", 39, &v), RN_ETOOBIG);
    CHECK_EQ_INT(rn_u128_parse("3402823669209384634633746074317682114550", 40, &v), RN_ETOOBIG);
    char huge[200];
    memset(huge, '9', sizeof huge);
    CHECK_EQ_INT(rn_u128_parse(huge, sizeof huge, &v), RN_ETOOBIG);
    CHECK(v == 7); /* untouched on error */

    CHECK_EQ_INT(rn_u128_parse("", 0, &v), RN_EINVAL);
    CHECK_EQ_INT(rn_u128_parse("12a", 3, &v), RN_EINVAL);
    CHECK_EQ_INT(rn_u128_parse("-1", 2, &v), RN_EINVAL);
    CHECK_EQ_INT(rn_u128_parse("+1", 2, &v), RN_EINVAL);
    CHECK_EQ_INT(rn_u128_parse(" 1", 2, &v), RN_EINVAL);
    CHECK_EQ_INT(rn_u128_parse("1 ", 2, &v), RN_EINVAL);
    CHECK_EQ_INT(rn_u128_parse("1\0" "2", 3, &v), RN_EINVAL);
    CHECK_EQ_INT(rn_u128_parse(NULL, 0, &v), RN_EINVAL);
    memset(huge, '9', sizeof huge);
    huge[150] = 'x';
    CHECK_EQ_INT(rn_u128_parse(huge, sizeof huge, &v), RN_EINVAL); /* non-digit wins */
    CHECK(v == 7);

    /* Only len bytes are read. */
    CHECK_EQ_INT(rn_u128_parse("12345", 3, &v), 0);
    CHECK(v == 123);
    /* Leading zeros are accepted here (the pattern is checked elsewhere). */
    CHECK_EQ_INT(rn_u128_parse("000042", 6, &v), 0);
    CHECK(v == 42);
    CHECK_EQ_INT(rn_u128_parse("0000" MAX_TEXT, 43, &v), 0);
    CHECK(v == RN_U128_MAX);
}

static void test_format(void)
{
    eq_text(0, "0");
    eq_text(9, "9");
    eq_text(10, "10");
    eq_text(RN_U128_MAX, MAX_TEXT);
    eq_text((rn_u128)UINT64_MAX, "18446744073709551615");
    eq_text((rn_u128)UINT64_MAX + 1, "18446744073709551616");
    eq_text((rn_u128)10000000000000000000ULL, "10000000000000000000");  /* 10^19 */
    eq_text((rn_u128)10000000000000000000ULL - 1, "9999999999999999999");
    rn_u128 p38 = 1;
    for (int i = 0; i < 38; i++)
        p38 *= 10;
    eq_text(p38, "100000000000000000000000000000000000000");
    eq_text(p38 - 1, "99999999999999999999999999999999999999");
    eq_text(p38 + 1, "100000000000000000000000000000000000001");

    /* Round trips over many magnitudes, including chunk boundaries. */
    rn_u128 x = 1;
    for (int i = 0; i < 128; i++, x <<= 1) {
        rn_u128 vals[3] = {x - 1, x, x + 1};
        for (int j = 0; j < 3; j++) {
            char buf[40];
            size_t n = rn_u128_format(vals[j], buf);
            rn_u128 back = 0;
            CHECK_EQ_INT(rn_u128_parse(buf, n, &back), 0);
            CHECK(back == vals[j]);
            CHECK(n == 1 || buf[0] != '0');
        }
    }
}

static void check_split(uint32_t n)
{
    rn_u128 prev_end = 0, s, e, w;
    /* w = floor(2^128/n): for n >= 2 it fits; check with long division. */
    w = n == 1 ? 0 : RN_U128_MAX / n + (RN_U128_MAX % n == (rn_u128)n - 1);
    int gaps = 0, shape = 0;
    for (uint32_t i = 0; i < n; i++) {
        rn_hashkey_split_even(n, i, &s, &e);
        if (i == 0 ? s != 0 : s != prev_end + 1)
            gaps++;
        if (e < s)
            shape++;
        if (n > 1 && s != w * i)
            shape++;
        if (n > 1 && i + 1 < n && e != w * (i + 1) - 1)
            shape++;
        prev_end = e;
    }
    CHECK_EQ_INT(gaps, 0);
    CHECK_EQ_INT(shape, 0);
    CHECK(prev_end == RN_U128_MAX);
}

static void test_split(void)
{
    rn_u128 s, e;
    rn_hashkey_split_even(1, 0, &s, &e);
    CHECK(s == 0 && e == RN_U128_MAX);

    rn_hashkey_split_even(2, 0, &s, &e);
    eq_text(s, "0");
    eq_text(e, "170141183460469231731687303715884105727"); /* 2^127 - 1 */
    rn_hashkey_split_even(2, 1, &s, &e);
    eq_text(s, "170141183460469231731687303715884105728");
    eq_text(e, MAX_TEXT);

    const char *want3[3][2] = {
        {"0", "113427455640312821154458202477256070484"},
        {"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
        {"226854911280625642308916404954512140970", MAX_TEXT},
    };
    for (uint32_t i = 0; i < 3; i++) {
        rn_hashkey_split_even(3, i, &s, &e);
        eq_text(s, want3[i][0]);
        eq_text(e, want3[i][1]);
    }
    /* Powers of two are exact: 4 shards of 2^126 each. */
    rn_hashkey_split_even(4, 3, &s, &e);
    CHECK(s == (rn_u128)3 << 126);

    uint32_t ns[] = {1, 2, 3, 4, 5, 7, 16, 100, 499, 500, 1000, 10000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        check_split(ns[k]);
    /* N=500: the last shard is the only one longer than w. */
    rn_hashkey_split_even(500, 499, &s, &e);
    CHECK(e == RN_U128_MAX);
    CHECK(e - s + 1 >= RN_U128_MAX / 500);

    /* The test vector lands in the middle shard of three. */
    rn_u128 h = rn_hashkey_of("partitionKey-1", 14);
    rn_hashkey_split_even(3, 1, &s, &e);
    CHECK(h >= s && h <= e);
}

/* Hashing from several threads at once gives the main thread's results. */
enum { THREADS = 4, PER_THREAD = 2000 };
static rn_u128 expected[PER_THREAD];

static void *hash_worker(void *arg)
{
    int *mismatches = arg;
    char key[32];
    for (int i = 0; i < PER_THREAD; i++) {
        int len = snprintf(key, sizeof key, "k%d", i);
        if (rn_hashkey_of(key, (size_t)len) != expected[i])
            (*mismatches)++;
    }
    return NULL;
}

static void test_threads(void)
{
    char key[32];
    for (int i = 0; i < PER_THREAD; i++) {
        int len = snprintf(key, sizeof key, "k%d", i);
        expected[i] = rn_hashkey_of(key, (size_t)len);
    }
    pthread_t t[THREADS];
    int mismatches[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ_INT(pthread_create(&t[i], NULL, hash_worker, &mismatches[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(mismatches[i], 0);
    }
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void bench(void)
{
    /* Informational only: no timing assertions. */
    char key[32];
    rn_u128 acc = 0;
    const int n = 200000;
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "partitionKey-%d", i);
        acc ^= rn_hashkey_of(key, (size_t)len);
    }
    double per = (now_ns() - t0) / n;
    char buf[40];
    t0 = now_ns();
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += rn_u128_format(acc + (rn_u128)i, buf);
    double fper = (now_ns() - t0) / n;
    printf("# rn_hashkey_of: %.0f ns/key (incl. snprintf); rn_u128_format: %.0f ns (%zu)\n", per,
           fper, total);
}

int main(void)
{
    test_md5_vectors();
    test_md5_openssl();
    test_parse();
    test_format();
    test_split();
    test_threads();
    bench();
    return rn_test_done("test_core_hashkey");
}
