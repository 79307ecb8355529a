/* hashkey.c: partition-key routing (MD5, big-endian), u128 decimal text,
 * and the even initial shard layout (KINESIS_CONTRACT §3.2).
 *
 * Routing runs once per record, so MD5 avoids OpenSSL 3's per-call costs:
 * the algorithm is fetched once per process (implicit fetches through
 * EVP_md5() cost ~850 ns a call), and each thread keeps one EVP_MD_CTX that
 * is re-initialised in place (EVP_DigestInit_ex2 with a NULL type reuses
 * the provider context): ~130 ns per short key instead of ~350 ns with a
 * context per call. The per-thread context is freed by a pthread key
 * destructor when the thread exits. */
#include "core/hashkey.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "core/errors.h"

/* ---- MD5 -------------------------------------------------------------- */

static pthread_once_t md5_once = PTHREAD_ONCE_INIT;
static EVP_MD *md5_md;           /* fetched once; never freed (process lifetime) */
static pthread_key_t md5_key;    /* per-thread EVP_MD_CTX, freed at thread exit */
static int md5_key_ok;
static _Thread_local EVP_MD_CTX *md5_tls_ctx; /* fast path, mirrors the key's value */

static void md5_ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void md5_init_once(void)
{
    md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
    md5_key_ok = pthread_key_create(&md5_key, md5_ctx_free) == 0;
}

/* This thread's context, initialised for MD5; NULL if it cannot be made. */
static EVP_MD_CTX *md5_thread_ctx(void)
{
    if (md5_tls_ctx)
        return md5_tls_ctx;
    if (!md5_md || !md5_key_ok)
        return NULL;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c)
        return NULL;
    if (EVP_DigestInit_ex2(c, md5_md, NULL) != 1 || pthread_setspecific(md5_key, c) != 0) {
        EVP_MD_CTX_free(c);
        return NULL;
    }
    md5_tls_ctx = c;
    return c;
}

rn_u128 rn_hashkey_of(const void *pk, size_t len)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int ok = 0;

    pthread_once(&md5_once, md5_init_once);
    EVP_MD_CTX *c = md5_thread_ctx();
    if (c) {
        ok = EVP_DigestInit_ex2(c, NULL, NULL) == 1 && EVP_DigestUpdate(c, pk, len) == 1 &&
             EVP_DigestFinal_ex(c, d, &dlen) == 1;
    }
    if (!ok) /* slow path: no per-thread context (out of memory) */
        ok = EVP_Digest(pk, len, d, &dlen, md5_md ? md5_md : EVP_md5(), NULL) == 1;
    if (!ok || dlen != 16) {
        /* Only reachable when OpenSSL cannot allocate or has no MD5 at all;
         * routing a record anywhere else would silently break per-key order. */
        fputs("runnel: MD5 unavailable from libcrypto\n", stderr);
        abort();
    }
    rn_u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = (v << 8) | d[i];
    return v;
}

/* ---- decimal text ------------------------------------------------------- */

int rn_u128_parse(const char *s, size_t len, rn_u128 *out)
{
    if (!s || len == 0)
        return RN_EINVAL;
    /* Every character is checked before the value, so "99…9x" is EINVAL. */
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return RN_EINVAL;
    rn_u128 v = 0;
    const rn_u128 lim = RN_U128_MAX / 10; /* v*10 overflows iff v > lim */
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > lim)
            return RN_ETOOBIG;
        v *= 10;
        if (v > RN_U128_MAX - d)
            return RN_ETOOBIG;
        v += d;
    }
    *out = v;
    return 0;
}

size_t rn_u128_format(rn_u128 v, char *buf)
{
    /* Peel off 19-digit chunks (10^19 < 2^64) so most divisions are 64-bit. */
    const uint64_t p19 = 10000000000000000000ULL;
    uint64_t chunk[3];
    int n = 0;
    do {
        chunk[n++] = (uint64_t)(v % p19);
        v /= p19;
    } while (v && n < 3);
    assert(v == 0); /* 2^128 < 10^57 */

    char tmp[40];
    size_t len = 0;
    /* Most significant chunk without padding, the rest as 19 digits each. */
    for (int c = n - 1; c >= 0; c--) {
        char d[20];
        int k = 0;
        uint64_t x = chunk[c];
        do {
            d[k++] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        if (c != n - 1)
            while (k < 19)
                d[k++] = '0';
        while (k)
            tmp[len++] = d[--k];
    }
    for (size_t i = 0; i < len; i++)
        buf[i] = tmp[i];
    buf[len] = '\0';
    return len;
}

/* ---- even split ----------------------------------------------------------- */

void rn_hashkey_split_even(uint32_t n, uint32_t i, rn_u128 *start, rn_u128 *end)
{
    assert(n > 0 && i < n);
    if (n <= 1) {
        *start = 0;
        *end = RN_U128_MAX;
        return;
    }
    /* floor(2^128 / n) without 2^128: from 2^128 - 1 = q*n + r, the exact
     * quotient is q, plus one when r == n - 1 (n a power of two). */
    rn_u128 w = RN_U128_MAX / n;
    if (RN_U128_MAX % n == (rn_u128)n - 1)
        w++;
    *start = w * i;
    *end = (i >= n - 1) ? RN_U128_MAX : w * (i + 1) - 1;
}
