/* credentials.h: the credentials store: who may sign requests, with which
 * secret, as which principal, under which IAM policies (docs/security.md).
 *
 * The file (JSON):
 *   {"identities": [{"access_key_id": "AKIA...", "secret_access_key": "...",
 *                    "session_token": "..." (optional),
 *                    "expiration": "2026-12-02T15:00:00Z" (optional, with a session_token),
 *                    "account_id": "123456789012",
 *                    "arn": "arn:aws:iam::123456789012:user/alice",
 *                    "policies": [ {IAM policy document}, ... ] (optional)}]}
 *
 * Every field is validated when loading; the first problem fails the whole
 * load with a message naming the line (syntax errors: jansson's line and
 * column; semantic errors: the identity's index and the line of the field).
 * A store is immutable once loaded. Reload = load a new store, swap it in
 * (the caller's pointer), destroy the old; when the new one fails the old
 * stays in force. Not thread-safe to destroy while another thread looks up. */
#ifndef RN_CREDENTIALS_H
#define RN_CREDENTIALS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rn_creds_identity {
    const char *access_key_id;     /* NUL-terminated; all strings live as long as the store */
    size_t access_key_len;
    const char *secret_access_key;
    size_t secret_len;
    const char *session_token;     /* NULL when the identity has none */
    size_t session_token_len;
    int has_expiration;            /* 1 when the file gives the session token an "expiration" */
    int64_t expiration_ms;         /* that instant, ms since the epoch */
    const char *account_id;        /* 12 digits */
    const char *arn;               /* arn:<partition>:iam::<account>:root|user/..|role/..
                                    * or arn:<partition>:sts::<account>:assumed-role/<role>/<session> */
    int line;                      /* line of the identity's '{' in the file */
    json_t *_policies;             /* borrowed from the store's tree: use rn_creds_identity_policies */
} rn_creds_identity_t;

typedef struct rn_creds_store rn_creds_store_t;

/* Why a load failed. line/column are 0 when unknown; identity is -1 when
 * the problem is not inside one identity. */
typedef struct rn_creds_error {
    int line;
    int column;
    int identity;
    char text[512]; /* "<source>:<line>: identity 2: account_id must be 12 digits, got '12'" */
} rn_creds_error_t;

/* Load from a file / from a buffer (source names the buffer in messages).
 * Return 0 and *out, or RN_EINVAL (err filled), RN_EIO (file unreadable,
 * err filled) or RN_ENOMEM. */
int rn_creds_store_load_file(const char *path, rn_creds_store_t **out, rn_creds_error_t *err)
    __attribute__((warn_unused_result));
int rn_creds_store_load_buffer(const char *data, size_t len, const char *source,
                               rn_creds_store_t **out, rn_creds_error_t *err)
    __attribute__((warn_unused_result));

/* Frees the store and wipes its secrets; NULL is fine. Identities and
 * policies obtained from it are invalid afterwards. */
void rn_creds_store_destroy(rn_creds_store_t *s);

/* The identity of an access key id (binary search), or NULL. */
const rn_creds_identity_t *rn_creds_store_find(const rn_creds_store_t *s, const char *akid, size_t len);

size_t rn_creds_store_count(const rn_creds_store_t *s);
/* The i-th identity in file order. */
const rn_creds_identity_t *rn_creds_store_at(const rn_creds_store_t *s, size_t i);

/* 1 if a request's session token (x-amz-security-token / X-Amz-Security-Token,
 * len 0 when the request carries none) fits the identity: both absent, or
 * equal (compared in constant time). 0 otherwise: AWS answers
 * UnrecognizedClientException "The security token included in the request
 * is invalid." */
int rn_creds_identity_token_matches(const rn_creds_identity_t *id, const char *token, size_t len);

/* 1 when the identity's session token has an expiration and now_ms is at or
 * past it: AWS answers ExpiredTokenException "The security token included
 * in the request is expired". */
int rn_creds_identity_expired(const rn_creds_identity_t *id, int64_t now_ms);

/* The identity's policy documents: a JSON array of objects, borrowed (valid
 * as long as the store; json_incref to keep one longer). Never NULL. */
json_t *rn_creds_identity_policies(const rn_creds_identity_t *id);

#endif
