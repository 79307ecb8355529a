/* tls.c: TLS under the connection layer, and development certificates.
 *
 * Transport: OpenSSL with two memory BIOs, so TLS fits c->io and the
 * batched-write design of http_server.c. read() takes ciphertext from the
 * socket (one read(), at most the caller's max), feeds it to the read BIO
 * and decrypts everything now decryptable into c->in; so nothing
 * decryptable is ever left inside OpenSSL waiting for a socket event.
 * write() encrypts c->out in records of up to 16 KiB into t->out (the
 * ciphertext, at most TLS_OUT_HIGH ahead of the socket, so back-pressure
 * still acts on c->out) and writes t->out with one writev. Handshake
 * records go to t->out too; rn_tls_pending() makes the connection layer
 * flush them like answers.
 *
 * The connection layer calls rn_tls_conn_start() when the first byte is
 * 0x16 and sniffs the decrypted bytes afterwards (h2 preface or HTTP/1.1),
 * whatever ALPN chose. The handshake is timed by the read timeout: until
 * the first plaintext byte, the connection's protocol is still unknown.
 *
 * Memory per connection is bounded: the read BIO holds at most one partial
 * record, t->out at most TLS_OUT_HIGH plus one record of answers, and a
 * peer that makes us produce more (handshake or KeyUpdate replies it never
 * reads) past RN_NET_OUT_HIGH is dropped.
 */
#include "net/tls.h"

#include "util/status.h"
#include "net/net_int.h"
#include "util/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_RAW_READ 32768           /* ciphertext taken from the socket per read */
#define TLS_RECORD 16384             /* plaintext per SSL_read / SSL_write */
#define TLS_OUT_HIGH ((size_t)256 * 1024) /* ciphertext ahead of the socket */

struct rn_tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio;       /* memory BIOs (owned by ssl): ciphertext in, out */
    struct evbuffer *out;   /* ciphertext waiting for the socket */
    int notified;           /* close_notify sent (or not to be sent) */
};

/* ---- development certificate ------------------------------------------- */

static int dev_cert_make(int days, EVP_PKEY **pkey_out, X509 **x_out)
{
    static const struct {
        int nid;
        const char *value;
    } exts[] = {
        /* CA:TRUE and critical, so strict verifiers (Python 3.13's
         * VERIFY_X509_STRICT) accept it as its own trust anchor. */
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,digitalSignature,keyCertSign"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
    };
    int rc = RN_ENOMEM;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    unsigned char serial[16];
    if (!pkey || !x)
        goto out;
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto out;
    serial[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto out;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *)"runnel development", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pkey))
        goto out;
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
        int ok = e && X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        if (!ok)
            goto out;
    }
    if (!X509_sign(x, pkey, EVP_sha256()))
        goto out;
    *pkey_out = pkey;
    *x_out = x;
    pkey = NULL;
    x = NULL;
    rc = 0;
out:
    BN_free(bn);
    EVP_PKEY_free(pkey);
    X509_free(x);
    if (rc)
        ERR_clear_error();
    return rc;
}

static char *bio_string(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n < 0 || !p)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, p, (size_t)n);
        s[n] = 0;
    }
    return s;
}

int rn_tls_dev_cert_pem(int days, char **cert_pem, char **key_pem)
{
    *cert_pem = *key_pem = NULL;
    if (days < 1 || days > 36500)
        return RN_EINVAL;
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    int rc = dev_cert_make(days, &pkey, &x);
    if (rc)
        return rc;
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    rc = RN_ENOMEM;
    if (cb && kb && PEM_write_bio_X509(cb, x) &&
        PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL)) {
        *cert_pem = bio_string(cb);
        *key_pem = bio_string(kb);
        if (*cert_pem && *key_pem) {
            rc = 0;
        } else {
            free(*cert_pem);
            free(*key_pem);
            *cert_pem = *key_pem = NULL;
        }
    }
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return rc;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    fchmod(fd, mode); /* an existing file keeps its mode otherwise */
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    return close(fd);
}

int rn_tls_dev_cert_write(int days, const char *cert_path, const char *key_path,
                          const char **errmsg)
{
    static const char *dummy;
    if (!errmsg)
        errmsg = &dummy;
    char *cert = NULL, *key = NULL;
    int rc = rn_tls_dev_cert_pem(days, &cert, &key);
    if (rc) {
        *errmsg = rc == RN_EINVAL ? "days must be 1 to 36500" : "cannot make the certificate";
        return rc;
    }
    if (write_file(key_path, key, 0600) != 0) {
        *errmsg = "cannot write the key file";
        rc = RN_EIO;
    } else if (write_file(cert_path, cert, 0644) != 0) {
        *errmsg = "cannot write the certificate file";
        rc = RN_EIO;
    }
    OPENSSL_cleanse(key, strlen(key));
    free(key);
    free(cert);
    return rc;
}

/* ---- server context ------------------------------------------------------ */

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x02h2\x08http/1.1"; /* our preference first */
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no common protocol: go on without ALPN */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown";
}

SSL_CTX *rn_tls_ctx_new(const rn_http_config_t *cfg, const char **errmsg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        *errmsg = "cannot create the TLS context";
        goto fail;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* TLS 1.2: forward-secret AEAD suites only (what HTTP/2 requires). */
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    if (cfg->tls_cert_file) {
        const char *key = cfg->tls_key_file ? cfg->tls_key_file : cfg->tls_cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
            rn_error("net: tls: cannot use certificate %s: %s", cfg->tls_cert_file, ssl_reason());
            *errmsg = "cannot read the TLS certificate (PEM)";
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
            rn_error("net: tls: cannot use key %s: %s", key, ssl_reason());
            *errmsg = "cannot read the TLS private key (PEM)";
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            *errmsg = "the TLS private key does not match the certificate";
            goto fail;
        }
    } else {
        EVP_PKEY *pkey = NULL;
        X509 *x = NULL;
        if (dev_cert_make(365, &pkey, &x) != 0) {
            *errmsg = "cannot make the self-signed certificate";
            goto fail;
        }
        int ok = SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
        X509_free(x);
        EVP_PKEY_free(pkey);
        if (!ok) {
            *errmsg = "cannot use the self-signed certificate";
            goto fail;
        }
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    ERR_clear_error();
    return ctx;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

void rn_tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

/* ---- transport ------------------------------------------------------------ */

/* Move what OpenSSL wrote (handshake, alerts, records) to t->out. */
static int tls_collect(struct rn_tls_conn *t)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    if (n == 0)
        return 0;
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(t->out, (ev_ssize_t)n, &v, 1) < 1)
        return -1;
    int r = BIO_read(t->wbio, v.iov_base, (int)n);
    v.iov_len = r > 0 ? (size_t)r : 0;
    evbuffer_commit_space(t->out, &v, 1);
    return 0;
}

/* Decrypt everything decryptable into c->in. Returns the number of bytes
 * added; 0 at close_notify; -1 with errno: EAGAIN (nothing yet), EPROTO. */
static long tls_decrypt(rn_conn_t *c)
{
    struct rn_tls_conn *t = c->tls;
    long total = 0;
    int eof = 0, fail = 0;
    ERR_clear_error();
    for (;;) {
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(c->in, TLS_RECORD, &v, 1) < 1) {
            errno = ENOMEM;
            return -1;
        }
        int r = SSL_read(t->ssl, v.iov_base, TLS_RECORD);
        if (r > 0) {
            v.iov_len = (size_t)r;
            evbuffer_commit_space(c->in, &v, 1);
            total += r;
            continue;
        }
        evbuffer_commit_space(c->in, &v, 0);
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            eof = 1;
        } else {
            fail = 1;
            rn_debug("net: %s: TLS: %s", c->peer, ssl_reason());
        }
        break;
    }
    ERR_clear_error();
    if (tls_collect(t) != 0) {
        errno = ENOMEM;
        return -1;
    }
    if (total > 0)
        return total; /* an EOF or error after it shows at the next read */
    if (eof)
        return 0;
    if (fail) {
        t->notified = 1; /* no close_notify after a fatal error; the alert is in t->out */
        errno = EPROTO;
        return -1;
    }
    errno = EAGAIN;
    return -1;
}

static long tls_read(rn_conn_t *c, size_t max)
{
    struct rn_tls_conn *t = c->tls;
    if (evbuffer_get_length(t->out) > RN_NET_OUT_HIGH) {
        errno = ENOBUFS; /* the peer makes us talk and does not listen */
        return -1;
    }
    char buf[TLS_RAW_READ];
    size_t want = max < sizeof buf ? max : sizeof buf;
    ssize_t n;
    do
        n = read(c->fd, buf, want);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return (long)n;
    if (BIO_write(t->rbio, buf, (int)n) != (int)n) {
        errno = ENOMEM;
        return -1;
    }
    return tls_decrypt(c);
}

static long tls_write(rn_conn_t *c)
{
    struct rn_tls_conn *t = c->tls;
    long total = 0;
    char buf[TLS_RECORD];
    for (;;) {
        ERR_clear_error();
        while (SSL_is_init_finished(t->ssl) && evbuffer_get_length(c->out) > 0 &&
               evbuffer_get_length(t->out) < TLS_OUT_HIGH) {
            /* Copy into one buffer so small answers share a record. */
            ev_ssize_t len = evbuffer_copyout(c->out, buf, sizeof buf);
            if (len <= 0)
                break;
            int r = SSL_write(t->ssl, buf, (int)len);
            if (r <= 0) {
                int e = SSL_get_error(t->ssl, r);
                ERR_clear_error();
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    break;
                errno = EPROTO;
                return -1;
            }
            evbuffer_drain(c->out, (size_t)r);
            if (tls_collect(t) != 0) {
                errno = ENOMEM;
                return -1;
            }
        }
        if (evbuffer_get_length(t->out) == 0)
            return total;
        int n;
        do
            n = evbuffer_write(t->out, c->fd);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return total > 0 ? total : -1; /* EAGAIN: full; else an error */
        total += n;
        if (evbuffer_get_length(t->out) > 0 || evbuffer_get_length(c->out) == 0 ||
            !SSL_is_init_finished(t->ssl))
            return total;
    }
}

static const rn_conn_io_t tls_io = {tls_read, tls_write};

int rn_tls_conn_start(rn_conn_t *c)
{
    struct rn_tls_conn *t = calloc(1, sizeof *t);
    if (!t)
        return RN_ENOMEM;
    t->ssl = SSL_new(c->srv->ssl_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    t->out = evbuffer_new();
    if (!t->ssl || !t->rbio || !t->wbio || !t->out) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        if (t->out)
            evbuffer_free(t->out);
        free(t);
        ERR_clear_error();
        return RN_ENOMEM;
    }
    BIO_set_mem_eof_return(t->rbio, -1); /* empty means "more later", not EOF */
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    c->tls = t;
    c->io = &tls_io;
    /* The bytes the sniff saw are the start of the ClientHello. */
    struct evbuffer_iovec v[8];
    while (evbuffer_get_length(c->in) > 0) {
        int nv = evbuffer_peek(c->in, -1, NULL, v, 8);
        if (nv > 8)
            nv = 8;
        for (int i = 0; i < nv; i++) {
            if (BIO_write(t->rbio, v[i].iov_base, (int)v[i].iov_len) != (int)v[i].iov_len)
                return RN_ENOMEM;
            evbuffer_drain(c->in, v[i].iov_len);
        }
    }
    long n = tls_decrypt(c);
    if (n < 0 && errno != EAGAIN)
        return RN_EPROTO;
    return 0;
}

size_t rn_tls_pending(const rn_conn_t *c)
{
    return c->tls ? evbuffer_get_length(c->tls->out) : 0;
}

void rn_tls_close_notify(rn_conn_t *c)
{
    struct rn_tls_conn *t = c->tls;
    if (!t)
        return;
    if (!t->notified) {
        t->notified = 1;
        if (SSL_is_init_finished(t->ssl)) {
            ERR_clear_error();
            SSL_shutdown(t->ssl);
            ERR_clear_error();
            tls_collect(t);
        }
    }
    /* One non-blocking attempt: what the socket does not take is lost. */
    if (evbuffer_get_length(t->out) > 0)
        evbuffer_write(t->out, c->fd);
}

void rn_tls_conn_free(rn_conn_t *c)
{
    struct rn_tls_conn *t = c->tls;
    if (!t)
        return;
    if (c->fd >= 0)
        rn_tls_close_notify(c);
    SSL_free(t->ssl); /* frees both BIOs */
    evbuffer_free(t->out);
    free(t);
    c->tls = NULL;
    ERR_clear_error();
}
