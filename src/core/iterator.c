/* iterator.c: sealed shard-iterator tokens (format in iterator.h, §3.5).
 *
 * Token bytes, before standard base64 with padding:
 *   off  len
 *     0    8  magic 00 00 00 00 00 00 00 01 (also the GCM additional data)
 *     8   12  nonce, fresh from RAND_bytes for every token
 *    20    n  AES-256-GCM ciphertext of the plaintext below (n = 38 + name)
 *  20+n   16  GCM tag
 * Plaintext (version 2, sealed now), integers little-endian, fixed width:
 *     0    1  version = 2
 *     1    8  stream_id
 *     9    8  stream_created_ms (two's complement)
 *    17    4  shard_index
 *    21    8  position
 *    29    8  issued_ms (two's complement)
 *    37    1  name length L (0..128)
 *    38    1  account length A (0..15)
 *    39    1  region length R (0..32)
 *    40    L  stream name bytes (no NUL)
 *  40+L    A  account of the minting request
 * 40+L+A   R  region of the minting request
 * A 128-char name, 12-digit account and 32-char region give 248 bytes = 332
 * base64 characters (limit 512). Version 1 (opened, never sealed) is the
 * same without A, R and their bytes: the name starts at 38.
 *
 * The decoder is strict (canonical padding, zero unused bits), so two
 * different strings never open to the same token and any change to the
 * text is either rejected as base64 or changes the bytes and fails the tag.
 *
 * The AES-256-GCM implementation is fetched once per process; a cipher
 * context is made per call (~0.4 us; the key schedule is per key anyway).
 *
 * Nonces are 12 random bytes each, but drawn from a small per-thread pool
 * refilled 40 at a time: under OpenSSL 3.0 a RAND_bytes call costs ~1 us
 * whatever its size (the DRBG checks the fork id and re-keys per call),
 * which alone would double the cost of a seal. A child process must never
 * reuse its parent's pooled nonces, so a pthread_atfork child handler
 * empties the pool of the forking thread (the only thread in the child). */
#include "core/iterator.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/errors.h"

#define ITER_VERSION 2
#define ITER_VERSION_UNBOUND 1
#define MAGIC_LEN 8
#define NONCE_LEN 12
#define TAG_LEN 16
#define NAME_MAX_LEN 128
#define PT_FIXED_V1 38
#define PT_FIXED 40
#define PT_MAX (PT_FIXED + NAME_MAX_LEN + RN_ITER_ACCOUNT_MAX + RN_ITER_REGION_MAX)
#define TOKEN_MIN (MAGIC_LEN + NONCE_LEN + PT_FIXED_V1 + TAG_LEN)
#define TOKEN_MAX (MAGIC_LEN + NONCE_LEN + PT_MAX + TAG_LEN)
#define B64_LEN(n) (((n) + 2) / 3 * 4)

_Static_assert(B64_LEN(TOKEN_MAX) <= RN_ITERATOR_MAX, "largest token must fit the 512-char limit");

static const uint8_t magic[MAGIC_LEN] = {0, 0, 0, 0, 0, 0, 0, 1};

/* ---- cipher ------------------------------------------------------------- */

static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *gcm_cipher; /* fetched once; process lifetime */

static void gcm_init_once(void)
{
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm(void)
{
    pthread_once(&gcm_once, gcm_init_once);
    return gcm_cipher;
}

/* ---- nonces --------------------------------------------------------------- */

#define NONCE_POOL (40 * NONCE_LEN)

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local uint8_t pool[NONCE_POOL];
static _Thread_local size_t pool_left; /* unused bytes at the end of pool */

static void pool_drop_after_fork(void)
{
    OPENSSL_cleanse(pool, sizeof pool);
    pool_left = 0;
}

static int pool_usable; /* written once under pool_once */

static void pool_init_once(void)
{
    /* Without the fork handler the pool would be unsafe: draw per nonce. */
    pool_usable = pthread_atfork(NULL, NULL, pool_drop_after_fork) == 0;
}

/* Fill nonce with 12 fresh random bytes; 0 or RN_EIO. */
static int next_nonce(uint8_t *nonce)
{
    pthread_once(&pool_once, pool_init_once);
    if (!pool_usable)
        return RAND_bytes(nonce, NONCE_LEN) == 1 ? 0 : RN_EIO;
    if (pool_left < NONCE_LEN) {
        if (RAND_bytes(pool, (int)sizeof pool) != 1)
            return RN_EIO;
        pool_left = sizeof pool;
    }
    pool_left -= NONCE_LEN;
    memcpy(nonce, pool + pool_left, NONCE_LEN);
    OPENSSL_cleanse(pool + pool_left, NONCE_LEN); /* each byte is handed out once */
    return 0;
}

/* ---- little-endian fields -------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- base64 (standard alphabet, '=' padding) ------------------------------- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[w >> 18];
        out[o++] = b64_alphabet[(w >> 12) & 63];
        out[o++] = b64_alphabet[(w >> 6) & 63];
        out[o++] = b64_alphabet[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[w >> 18];
        out[o++] = b64_alphabet[(w >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[w >> 18];
        out[o++] = b64_alphabet[(w >> 12) & 63];
        out[o++] = b64_alphabet[(w >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode canonical base64 into out (cap bytes). Returns the byte count, or
 * -1 for anything non-canonical or too long. */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0 || len % 4 != 0)
        return -1;
    size_t pad = s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
    size_t n = len / 4 * 3 - pad;
    if (n > cap)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int q = last ? 4 - (int)pad : 4; /* significant characters in this quad */
        uint32_t w = 0;
        for (int j = 0; j < 4; j++) {
            int v = j < q ? b64_value(s[i + j]) : 0;
            if (v < 0)
                return -1;
            w = w << 6 | (uint32_t)v;
        }
        out[o++] = (uint8_t)(w >> 16);
        if (q >= 3)
            out[o++] = (uint8_t)(w >> 8);
        if (q == 4)
            out[o++] = (uint8_t)w;
        /* Canonical form: the bits the padding drops must be zero. */
        if ((q == 2 && (w & 0xffff)) || (q == 3 && (w & 0xff)))
            return -1;
    }
    return (int)o;
}

/* ---- public API ------------------------------------------------------------- */

int rn_iter_key_generate(rn_iter_key_t *k)
{
    return RAND_bytes(k->key, (int)sizeof k->key) == 1 ? 0 : RN_EIO;
}

int rn_iter_seal(const rn_iter_key_t *k, const rn_iter_t *it, char *out)
{
    size_t name_len = strnlen(it->stream_name, sizeof it->stream_name);
    size_t acct_len = strnlen(it->account, sizeof it->account);
    size_t region_len = strnlen(it->region, sizeof it->region);
    if (name_len > NAME_MAX_LEN || acct_len > RN_ITER_ACCOUNT_MAX || region_len > RN_ITER_REGION_MAX)
        return RN_EINVAL; /* no NUL within a buffer */
    const EVP_CIPHER *cipher = gcm();
    if (!cipher)
        return RN_EIO;

    uint8_t pt[PT_MAX];
    pt[0] = ITER_VERSION;
    put_le(pt + 1, it->stream_id, 8);
    put_le(pt + 9, (uint64_t)it->stream_created_ms, 8);
    put_le(pt + 17, it->shard_index, 4);
    put_le(pt + 21, it->position, 8);
    put_le(pt + 29, (uint64_t)it->issued_ms, 8);
    pt[37] = (uint8_t)name_len;
    pt[38] = (uint8_t)acct_len;
    pt[39] = (uint8_t)region_len;
    memcpy(pt + PT_FIXED, it->stream_name, name_len);
    memcpy(pt + PT_FIXED + name_len, it->account, acct_len);
    memcpy(pt + PT_FIXED + name_len + acct_len, it->region, region_len);
    int pt_len = PT_FIXED + (int)(name_len + acct_len + region_len);

    uint8_t tok[TOKEN_MAX];
    memcpy(tok, magic, MAGIC_LEN);
    if (next_nonce(tok + MAGIC_LEN) != 0)
        return RN_EIO;
    uint8_t *ct = tok + MAGIC_LEN + NONCE_LEN;

    int rc = RN_EIO, len = 0, fin = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return RN_ENOMEM;
    if (EVP_EncryptInit_ex2(c, cipher, k->key, tok + MAGIC_LEN, NULL) != 1 ||
        EVP_EncryptUpdate(c, NULL, &len, magic, MAGIC_LEN) != 1 ||
        EVP_EncryptUpdate(c, ct, &len, pt, pt_len) != 1 || len != pt_len ||
        EVP_EncryptFinal_ex(c, ct + len, &fin) != 1 || fin != 0 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + pt_len) != 1)
        goto done;
    rc = (int)b64_encode(tok, (size_t)(MAGIC_LEN + NONCE_LEN + pt_len + TAG_LEN), out);
done:
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(pt, sizeof pt);
    return rc;
}

int rn_iter_open(const rn_iter_key_t *k, const char *tok, size_t len, rn_iter_t *out)
{
    if (!tok)
        return RN_EINVAL;
    if (len >= 2 && tok[0] == '"' && tok[len - 1] == '"') {
        tok++;
        len -= 2;
    }
    if (len < B64_LEN(TOKEN_MIN) || len > B64_LEN(TOKEN_MAX))
        return RN_EINVAL;

    uint8_t raw[TOKEN_MAX];
    int n = b64_decode(tok, len, raw, sizeof raw);
    if (n < TOKEN_MIN || memcmp(raw, magic, MAGIC_LEN) != 0)
        return RN_EINVAL;
    const EVP_CIPHER *cipher = gcm();
    if (!cipher)
        return RN_EINVAL; /* cannot happen with a working libcrypto */

    const uint8_t *nonce = raw + MAGIC_LEN;
    const uint8_t *ct = nonce + NONCE_LEN;
    int ct_len = n - MAGIC_LEN - NONCE_LEN - TAG_LEN;
    uint8_t tag[TAG_LEN];
    memcpy(tag, ct + ct_len, TAG_LEN);

    uint8_t pt[PT_MAX];
    int rc = RN_EINVAL, plen = 0, fin = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return RN_ENOMEM;
    if (EVP_DecryptInit_ex2(c, cipher, k->key, nonce, NULL) != 1 ||
        EVP_DecryptUpdate(c, NULL, &plen, magic, MAGIC_LEN) != 1 ||
        EVP_DecryptUpdate(c, pt, &plen, ct, ct_len) != 1 || plen != ct_len ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1 ||
        EVP_DecryptFinal_ex(c, pt + plen, &fin) != 1 || fin != 0)
        goto done; /* includes a tag mismatch: nothing of pt is used */

    /* Authentic from here on; the checks guard against our own older or
     * newer formats rather than against forgery. */
    size_t nl = 0, al = 0, rl = 0, fixed;
    if (plen < PT_FIXED_V1)
        goto done;
    if (pt[0] == ITER_VERSION && plen >= PT_FIXED) {
        fixed = PT_FIXED;
        nl = pt[37], al = pt[38], rl = pt[39];
    } else if (pt[0] == ITER_VERSION_UNBOUND) {
        fixed = PT_FIXED_V1;
        nl = pt[37];
    } else {
        goto done;
    }
    if ((size_t)plen != fixed + nl + al + rl || nl > NAME_MAX_LEN || al > RN_ITER_ACCOUNT_MAX ||
        rl > RN_ITER_REGION_MAX || memchr(pt + fixed, '\0', nl + al + rl) != NULL)
        goto done;
    out->stream_id = get_le(pt + 1, 8);
    out->stream_created_ms = (int64_t)get_le(pt + 9, 8);
    out->shard_index = (uint32_t)get_le(pt + 17, 4);
    out->position = get_le(pt + 21, 8);
    out->issued_ms = (int64_t)get_le(pt + 29, 8);
    memcpy(out->stream_name, pt + fixed, nl);
    out->stream_name[nl] = '\0';
    memcpy(out->account, pt + fixed + nl, al);
    out->account[al] = '\0';
    memcpy(out->region, pt + fixed + nl + al, rl);
    out->region[rl] = '\0';
    out->bound = pt[0] == ITER_VERSION;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(pt, sizeof pt);
    return rc;
}

int rn_iter_open_for(const rn_iter_key_t *k, const char *tok, size_t len, const char *account,
                     const char *region, rn_iter_t *out)
{
    rn_iter_t it;
    int rc = rn_iter_open(k, tok, len, &it);
    if (rc)
        return rc;
    if (it.bound && (strcmp(it.account, account) != 0 || strcmp(it.region, region) != 0))
        return RN_EINVAL;
    *out = it;
    return 0;
}

/* ---- Java Date.toString() ---------------------------------------------------- */

void rn_format_java_date(int64_t ms, char *buf, size_t cap)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (!buf || cap == 0)
        return;
    /* Floor division, so times before 1970 land on the right second. */
    int64_t secs = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
    time_t t = (time_t)secs;
    struct tm tm;
    /* Own day/month tables: strftime's %a/%b follow the locale. (Java
     * switches to the Julian calendar before 1582; runnel never meets such
     * dates, so the proleptic Gregorian answer is kept.) */
    if ((int64_t)t != secs || !gmtime_r(&t, &tm)) {
        snprintf(buf, cap, "%lld", (long long)ms);
        return;
    }
    snprintf(buf, cap, "%s %s %02d %02d:%02d:%02d UTC %lld", days[tm.tm_wday], months[tm.tm_mon],
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)tm.tm_year + 1900);
}
