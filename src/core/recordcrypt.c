/* recordcrypt.c: AES-256-GCM sealing of records and data keys (format in
 * recordcrypt.h).
 *
 * Cost. The put and get paths call this once per record, so nothing is set
 * up per call that can be kept: the cipher is fetched once per process, and
 * each thread keeps one encryption and one decryption context with the key
 * schedule of the last key it used (a stream's records share a key, so a
 * batch re-keys at most once); a call only sets the nonce. Nonces come from
 * a per-thread pool of RAND_bytes refilled 40 at a time (as in iterator.c:
 * a RAND_bytes call costs ~1 us whatever its size); a pthread_atfork child
 * handler empties the pool so a child never reuses its parent's nonces.
 *
 * Random 96-bit nonces keep the chance of a repeat under 2^-32 for the
 * first 2^32 records under one key (NIST SP 800-38D's bound); a stream that
 * outgrows that needs a new data key (not done yet: docs/encryption.md). */
#include "core/recordcrypt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/errors.h"

#define NONCE_LEN RN_RECORDCRYPT_NONCE
#define TAG_LEN RN_RECORDCRYPT_TAG
#define MASTER_FILE_MAX (1u << 20)

static const uint8_t record_aad_magic[6] = {'r', 'n', 'r', 'e', 'c', '1'};
static const uint8_t key_aad[5] = {'r', 'n', 'd', 'k', '1'};

/* ---- cipher and per-thread contexts ------------------------------------------ */

static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *gcm_cipher; /* fetched once; process lifetime */

static void gcm_init_once(void)
{
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* A context that remembers the key it was last initialised with. */
typedef struct keyed_ctx {
    EVP_CIPHER_CTX *ctx;
    int keyed;
    uint8_t key[RN_DATAKEY_LEN];
} keyed_ctx_t;

static _Thread_local keyed_ctx_t enc_ctx, dec_ctx;

/* ctx ready for one operation with key and nonce, or NULL (ENOMEM). */
static EVP_CIPHER_CTX *ctx_start(keyed_ctx_t *kc, int enc, const uint8_t *key, const uint8_t *nonce)
{
    pthread_once(&gcm_once, gcm_init_once);
    if (!gcm_cipher)
        return NULL;
    if (!kc->ctx && !(kc->ctx = EVP_CIPHER_CTX_new()))
        return NULL;
    int ok;
    if (kc->keyed && memcmp(kc->key, key, RN_DATAKEY_LEN) == 0) {
        ok = enc ? EVP_EncryptInit_ex2(kc->ctx, NULL, NULL, nonce, NULL)
                 : EVP_DecryptInit_ex2(kc->ctx, NULL, NULL, nonce, NULL);
    } else {
        kc->keyed = 0;
        ok = enc ? EVP_EncryptInit_ex2(kc->ctx, gcm_cipher, key, nonce, NULL)
                 : EVP_DecryptInit_ex2(kc->ctx, gcm_cipher, key, nonce, NULL);
        if (ok == 1) {
            memcpy(kc->key, key, RN_DATAKEY_LEN);
            kc->keyed = 1;
        }
    }
    if (ok != 1) {
        kc->keyed = 0; /* next call starts from scratch */
        return NULL;
    }
    return kc->ctx;
}

/* ---- nonces ------------------------------------------------------------------- */

#define NONCE_POOL (40 * NONCE_LEN)

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local uint8_t pool[NONCE_POOL];
static _Thread_local size_t pool_left;
static int pool_usable; /* written once under pool_once */

static void pool_drop_after_fork(void)
{
    OPENSSL_cleanse(pool, sizeof pool);
    pool_left = 0;
}

static void pool_init_once(void)
{
    pool_usable = pthread_atfork(NULL, NULL, pool_drop_after_fork) == 0;
}

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
    OPENSSL_cleanse(pool + pool_left, NONCE_LEN);
    return 0;
}

/* ---- records -------------------------------------------------------------------- */

static void record_aad(uint8_t *aad, uint64_t stream_id, uint32_t shard_index)
{
    memcpy(aad, record_aad_magic, sizeof record_aad_magic);
    for (int i = 0; i < 8; i++)
        aad[6 + i] = (uint8_t)(stream_id >> (8 * i));
    for (int i = 0; i < 4; i++)
        aad[14 + i] = (uint8_t)(shard_index >> (8 * i));
}
#define RECORD_AAD_LEN 18

int rn_datakey_generate(rn_datakey_t *k)
{
    return RAND_bytes(k->key, RN_DATAKEY_LEN) == 1 ? 0 : RN_EIO;
}

int rn_record_seal(const rn_datakey_t *k, uint64_t stream_id, uint32_t shard_index, const uint8_t *pk,
                   size_t pk_len, const uint8_t *data, size_t data_len, uint8_t *out)
{
    if (pk_len > RN_RECORDCRYPT_PK_MAX || data_len > (size_t)INT32_MAX - RN_RECORDCRYPT_PK_MAX)
        return RN_EINVAL;
    if (next_nonce(out) != 0)
        return RN_EIO;
    EVP_CIPHER_CTX *ctx = ctx_start(&enc_ctx, 1, k->key, out);
    if (!ctx)
        return RN_ENOMEM;
    uint8_t aad[RECORD_AAD_LEN];
    record_aad(aad, stream_id, shard_index);
    /* Lay the plaintext out in place and encrypt it in one call (OpenSSL
     * allows out == in for GCM): cheaper than one update per piece. */
    uint8_t *w = out + NONCE_LEN;
    size_t pt_len = 2 + pk_len + data_len;
    w[0] = (uint8_t)pk_len;
    w[1] = (uint8_t)(pk_len >> 8);
    if (pk_len)
        memcpy(w + 2, pk, pk_len);
    if (data_len)
        memcpy(w + 2 + pk_len, data, data_len);
    int n = 0;
    if (EVP_EncryptUpdate(ctx, NULL, &n, aad, RECORD_AAD_LEN) != 1 ||
        EVP_EncryptUpdate(ctx, w, &n, w, (int)pt_len) != 1)
        goto fail;
    w += n;
    if (EVP_EncryptFinal_ex(ctx, w, &n) != 1)
        goto fail;
    w += n;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, w) != 1)
        goto fail;
    return 0;
fail:
    enc_ctx.keyed = 0;
    return RN_ENOMEM;
}

int rn_record_open(const rn_datakey_t *k, uint64_t stream_id, uint32_t shard_index, uint8_t *frame,
                   size_t len, const uint8_t **pk, size_t *pk_len, const uint8_t **data, size_t *data_len)
{
    if (len < RN_RECORDCRYPT_OVERHEAD || len - RN_RECORDCRYPT_OVERHEAD > (size_t)INT32_MAX)
        return RN_ECORRUPT;
    EVP_CIPHER_CTX *ctx = ctx_start(&dec_ctx, 0, k->key, frame);
    if (!ctx)
        return RN_ENOMEM;
    uint8_t aad[RECORD_AAD_LEN];
    record_aad(aad, stream_id, shard_index);
    uint8_t *ct = frame + NONCE_LEN;
    size_t ct_len = len - NONCE_LEN - TAG_LEN;
    int n = 0, m = 0;
    /* In place: OpenSSL allows out == in for GCM. */
    if (EVP_DecryptUpdate(ctx, NULL, &n, aad, RECORD_AAD_LEN) != 1 ||
        EVP_DecryptUpdate(ctx, ct, &n, ct, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, ct + ct_len) != 1) {
        dec_ctx.keyed = 0;
        return RN_ECORRUPT;
    }
    if (EVP_DecryptFinal_ex(ctx, ct + n, &m) != 1)
        return RN_ECORRUPT; /* authentication failed; the context stays usable */
    size_t plen = (size_t)ct[0] | (size_t)ct[1] << 8;
    if (plen > ct_len - 2)
        return RN_ECORRUPT;
    *pk = ct + 2;
    *pk_len = plen;
    *data = ct + 2 + plen;
    *data_len = ct_len - 2 - plen;
    return 0;
}

/* ---- data keys under a master key ---------------------------------------------- */

int rn_datakey_wrap(const uint8_t master[32], const rn_datakey_t *k, uint8_t *out)
{
    if (next_nonce(out) != 0)
        return RN_EIO;
    EVP_CIPHER_CTX *ctx = ctx_start(&enc_ctx, 1, master, out);
    if (!ctx)
        return RN_ENOMEM;
    int n = 0, m = 0;
    if (EVP_EncryptUpdate(ctx, NULL, &n, key_aad, sizeof key_aad) != 1 ||
        EVP_EncryptUpdate(ctx, out + NONCE_LEN, &n, k->key, RN_DATAKEY_LEN) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + NONCE_LEN + n, &m) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + NONCE_LEN + RN_DATAKEY_LEN) != 1) {
        enc_ctx.keyed = 0;
        return RN_ENOMEM;
    }
    return 0;
}

int rn_datakey_unwrap(const uint8_t master[32], const uint8_t *in, rn_datakey_t *k)
{
    EVP_CIPHER_CTX *ctx = ctx_start(&dec_ctx, 0, master, in);
    if (!ctx)
        return RN_ENOMEM;
    uint8_t tag[TAG_LEN];
    uint8_t tmp[RN_DATAKEY_LEN];
    memcpy(tag, in + NONCE_LEN + RN_DATAKEY_LEN, TAG_LEN);
    int n = 0, m = 0;
    int rc = RN_ECORRUPT;
    if (EVP_DecryptUpdate(ctx, NULL, &n, key_aad, sizeof key_aad) == 1 &&
        EVP_DecryptUpdate(ctx, tmp, &n, in + NONCE_LEN, RN_DATAKEY_LEN) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
        EVP_DecryptFinal_ex(ctx, tmp + n, &m) == 1) {
        memcpy(k->key, tmp, RN_DATAKEY_LEN);
        rc = 0;
    }
    OPENSSL_cleanse(tmp, sizeof tmp);
    return rc;
}

static void hex_put(char *w, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        w[2 * i] = digits[p[i] >> 4];
        w[2 * i + 1] = digits[p[i] & 15];
    }
    w[2 * n] = 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly 2n lower-case hex digits into p. */
static int hex_get(const char *s, uint8_t *p, size_t n)
{
    if (strlen(s) != 2 * n)
        return RN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return RN_EINVAL;
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int rn_datakey_to_text(const uint8_t *master, const rn_datakey_t *k, char *out)
{
    if (!master) {
        memcpy(out, "raw:", 4);
        hex_put(out + 4, k->key, RN_DATAKEY_LEN);
        return 0;
    }
    uint8_t w[RN_DATAKEY_WRAPPED_LEN];
    int rc = rn_datakey_wrap(master, k, w);
    if (rc)
        return rc;
    memcpy(out, "gcm:", 4);
    hex_put(out + 4, w, sizeof w);
    return 0;
}

int rn_datakey_from_text(const uint8_t *master, const char *text, rn_datakey_t *k)
{
    if (strncmp(text, "raw:", 4) == 0)
        return hex_get(text + 4, k->key, RN_DATAKEY_LEN);
    if (strncmp(text, "gcm:", 4) != 0)
        return RN_EINVAL;
    uint8_t w[RN_DATAKEY_WRAPPED_LEN];
    if (hex_get(text + 4, w, sizeof w) != 0)
        return RN_EINVAL;
    if (!master)
        return RN_ENOENT;
    return rn_datakey_unwrap(master, w, k);
}

int rn_master_key_load(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? RN_ENOENT : RN_EIO;
    uint8_t *buf = malloc(MASTER_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return RN_ENOMEM;
    }
    size_t n = fread(buf, 1, MASTER_FILE_MAX + 1, f);
    int rc = ferror(f) ? RN_EIO : 0;
    fclose(f);
    if (rc == 0 && (n == 0 || n > MASTER_FILE_MAX))
        rc = RN_EINVAL;
    unsigned int olen = 0;
    if (rc == 0 && (EVP_Digest(buf, n, out, &olen, EVP_sha256(), NULL) != 1 || olen != 32))
        rc = RN_EIO;
    OPENSSL_cleanse(buf, n < MASTER_FILE_MAX + 1 ? n : MASTER_FILE_MAX + 1);
    free(buf);
    return rc;
}
