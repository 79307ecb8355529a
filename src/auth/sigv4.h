/* sigv4.h: AWS Signature Version 4 verification (docs/security.md).
 *
 * A pure library: it takes a plain description of a request (method, raw
 * path, raw query, headers as received, payload) and knows nothing of HTTP
 * engines or Kinesis operations. Verification runs in three steps, in the
 * order AWS's services check (so that a broken client sees the same error
 * first):
 *
 *   1. rn_sigv4_parse():  find the auth (Authorization header or presigned
 *      query), report a missing or incomplete one, check the date's format.
 *   2. rn_sigv4_check():  clock skew / presigned expiry, 'host' signed,
 *      algorithm, credential shape, credential scope (region, service,
 *      terminator, date).
 *   3. the caller looks the access key up (unknown key, session token: its
 *      errors, not ours), then rn_sigv4_verify() recomputes the signature
 *      with the secret and compares in constant time.
 *
 * Every failure comes back as an rn_sigv4_failure_t: a kind, the AWS error
 * type it is meant to map to, and the message already worded as AWS words
 * it. Functions return 0 on success, 1 on an authentication failure (fail
 * is filled), or a negative RN_E* code (RN_ENOMEM, RN_ETOOBIG) on a
 * resource failure. Not thread-safe: one cache per event loop. */
#ifndef RN_SIGV4_H
#define RN_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ---- the request ------------------------------------------------------------- */

/* One header as received (name in any case; repeated names appear repeatedly,
 * in the order received). Over HTTP/2 the caller passes :authority as "host". */
typedef struct rn_sigv4_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} rn_sigv4_header_t;

typedef struct rn_sigv4_request {
    const char *method;       /* "POST", NUL-terminated */
    const char *path;         /* raw path as received (percent-encoded), without '?' */
    size_t path_len;
    const char *query;        /* raw query string without the '?'; NULL or "" if none */
    size_t query_len;
    const rn_sigv4_header_t *headers;
    size_t n_headers;
    const uint8_t *payload;   /* the body (may be NULL when payload_len is 0) */
    size_t payload_len;
    /* If non-NULL: the payload hash to sign (64 lower-case hex digits, or
     * "UNSIGNED-PAYLOAD"), e.g. computed while the body streamed in; the
     * payload bytes are then not hashed. NULL: SHA-256 of payload. */
    const char *payload_hash;
} rn_sigv4_request_t;

/* ---- options ----------------------------------------------------------------- */

typedef struct rn_sigv4_options {
    const char *service;       /* required credential-scope service, e.g. "kinesis" */
    const char *region;        /* required region, or NULL: any well-formed region */
    int64_t skew_seconds;      /* allowed clock skew; AWS: 300 */
    int64_t max_expires;       /* presigned X-Amz-Expires ceiling; AWS: 604800 (7 days) */
    int normalize_path;        /* 1: remove dot segments and empty segments (all services
                                * but S3); 0: keep the path as is (S3) */
    int allow_unsigned_payload;/* 1: accept x-amz-content-sha256: UNSIGNED-PAYLOAD */
    int presigned_unsigned;    /* 1: presigned requests sign "UNSIGNED-PAYLOAD" (S3 style);
                                * 0: the body's hash (what the vectors do) */
} rn_sigv4_options_t;

/* service "kinesis", any region, 300 s skew, 604800 s max expiry, normalised
 * path, unsigned payload refused, presigned requests sign the body hash. */
void rn_sigv4_options_default(rn_sigv4_options_t *o);

/* ---- failures ---------------------------------------------------------------- */

#define RN_SIGV4_FAILURES(X)                                                                   \
    X(RN_SIGV4_OK, "")                                                                         \
    X(RN_SIGV4_MISSING, "MissingAuthenticationTokenException")  /* no auth at all */           \
    X(RN_SIGV4_BOTH, "InvalidSignatureException")    /* header and query auth both present */  \
    X(RN_SIGV4_INCOMPLETE, "IncompleteSignatureException")  /* required parts missing */       \
    X(RN_SIGV4_BAD_DATE, "IncompleteSignatureException")   /* X-Amz-Date not ISO-8601 basic */ \
    X(RN_SIGV4_EXPIRED, "InvalidSignatureException")       /* older than now - skew */         \
    X(RN_SIGV4_NOT_YET_CURRENT, "InvalidSignatureException") /* later than now + skew */       \
    X(RN_SIGV4_PRESIGN_EXPIRED, "InvalidSignatureException") /* past X-Amz-Date + Expires */   \
    X(RN_SIGV4_BAD_EXPIRES, "IncompleteSignatureException")  /* X-Amz-Expires malformed/out of bounds */ \
    X(RN_SIGV4_HOST_NOT_SIGNED, "InvalidSignatureException")                                   \
    X(RN_SIGV4_BAD_ALGORITHM, "IncompleteSignatureException")                                  \
    X(RN_SIGV4_BAD_CREDENTIAL, "IncompleteSignatureException") /* not 5 '/'-parts */           \
    X(RN_SIGV4_BAD_SCOPE, "InvalidSignatureException") /* region/service/terminator/date */    \
    X(RN_SIGV4_PAYLOAD_HASH_MISMATCH, "InvalidSignatureException")                             \
    X(RN_SIGV4_MISMATCH, "InvalidSignatureException")      /* signature does not match */

typedef enum rn_sigv4_fail {
#define X(kind, type) kind,
    RN_SIGV4_FAILURES(X)
#undef X
        RN_SIGV4_FAIL_COUNT
} rn_sigv4_fail_t;

/* Bits of rn_sigv4_failure_t.scope for RN_SIGV4_BAD_SCOPE. */
enum {
    RN_SIGV4_SCOPE_REGION = 1,
    RN_SIGV4_SCOPE_SERVICE = 2,
    RN_SIGV4_SCOPE_TERMINATOR = 4,
    RN_SIGV4_SCOPE_DATE = 8,
};

/* Bits of rn_sigv4_failure_t.missing for RN_SIGV4_INCOMPLETE. */
enum {
    RN_SIGV4_MISS_ALGORITHM = 1,     /* header: no algorithm token; query: X-Amz-Algorithm */
    RN_SIGV4_MISS_CREDENTIAL = 2,
    RN_SIGV4_MISS_SIGNATURE = 4,
    RN_SIGV4_MISS_SIGNED_HEADERS = 8,
    RN_SIGV4_MISS_DATE = 16,
};

#define RN_SIGV4_MESSAGE_MAX 2400

typedef struct rn_sigv4_failure {
    rn_sigv4_fail_t kind;
    const char *aws_type;   /* the AWS error type this kind maps to (static) */
    unsigned missing;       /* RN_SIGV4_INCOMPLETE: RN_SIGV4_MISS_* bits */
    unsigned scope;         /* RN_SIGV4_BAD_SCOPE: RN_SIGV4_SCOPE_* bits */
    int query_form;         /* 1 if the failing auth was the presigned query */
    char message[RN_SIGV4_MESSAGE_MAX]; /* AWS's wording, NUL-terminated (raw values truncated) */
} rn_sigv4_failure_t;

const char *rn_sigv4_fail_name(rn_sigv4_fail_t kind);
const char *rn_sigv4_fail_aws_type(rn_sigv4_fail_t kind);

/* ---- parsed auth ------------------------------------------------------------- */

/* A borrowed (pointer, length) view. */
typedef struct rn_sigv4_str {
    const char *p;
    size_t len;
} rn_sigv4_str_t;

typedef struct rn_sigv4_auth {
    int query_form;                /* 0: Authorization header, 1: presigned query */
    rn_sigv4_str_t raw;            /* the Authorization value (header form) */
    rn_sigv4_str_t algorithm;      /* "AWS4-HMAC-SHA256" */
    rn_sigv4_str_t credential;     /* the whole Credential value */
    rn_sigv4_str_t access_key;     /* credential parts (valid after rn_sigv4_check) */
    rn_sigv4_str_t date;           /* yyyymmdd */
    rn_sigv4_str_t region;
    rn_sigv4_str_t service;
    rn_sigv4_str_t terminator;     /* "aws4_request" */
    rn_sigv4_str_t signed_headers; /* "host;x-amz-date" as sent */
    rn_sigv4_str_t signature;      /* hex as sent */
    rn_sigv4_str_t security_token; /* x-amz-security-token / X-Amz-Security-Token; len 0 if none */
    char amz_date[17];             /* yyyymmddThhmmssZ: the request time, from X-Amz-Date or Date */
    int64_t time;                  /* the request time, seconds since the epoch */
    int64_t expires;               /* presigned X-Amz-Expires; -1 when absent / header form
                                    * (set by rn_sigv4_check) */
    rn_sigv4_str_t expires_raw;    /* X-Amz-Expires as sent (decoded); len 0 if absent */
    char *_mem;                    /* decoded query values (owned) */
} rn_sigv4_auth_t;

/* Release what rn_sigv4_parse allocated (safe on a zeroed or disposed auth). */
void rn_sigv4_auth_dispose(rn_sigv4_auth_t *a);

/* Step 1. Finds the Authorization header or the presigned query
 * (X-Amz-Algorithm present), reports RN_SIGV4_MISSING, RN_SIGV4_BOTH,
 * RN_SIGV4_INCOMPLETE (message: AWS's concatenated parts) and RN_SIGV4_BAD_DATE.
 * Views in *a point into req's memory (header form) or into a->_mem (query
 * values, percent-decoded): valid while req lives and until dispose.
 * Returns 0, 1 (fail filled) or RN_ENOMEM. Dispose *a in every case. */
int rn_sigv4_parse(const rn_sigv4_request_t *req, rn_sigv4_auth_t *a, rn_sigv4_failure_t *fail);

/* Step 2. now: the server's clock, seconds since the epoch. Checks, in AWS's
 * order: skew (header form: |time - now| <= skew; presigned: not later than
 * now + skew, not past time + X-Amz-Expires, expires within 1..max_expires),
 * 'host' among the signed headers, the algorithm, the credential's five
 * parts, then the scope (region, service, terminator, date all reported
 * together). Splits the credential into a's parts. Returns 0 or 1. */
int rn_sigv4_check(rn_sigv4_auth_t *a, const rn_sigv4_options_t *o, int64_t now,
                   rn_sigv4_failure_t *fail);

/* ---- the signing key cache ----------------------------------------------------- */

/* A fixed-size table (RN_SIGV4_CACHE_SLOTS entries, 4-way sets, oldest
 * evicted) of derived signing keys keyed by (access key, secret fingerprint,
 * date, region, service). Entries are added only after a signature verified,
 * so attacker-chosen scopes never take a slot; a changed secret (credentials
 * reload) misses because the fingerprint differs. */
#define RN_SIGV4_CACHE_SLOTS 64
typedef struct rn_sigv4_cache rn_sigv4_cache_t;

rn_sigv4_cache_t *rn_sigv4_cache_create(void) __attribute__((warn_unused_result));
void rn_sigv4_cache_destroy(rn_sigv4_cache_t *c);
/* Counters, for tests and metrics. */
typedef struct rn_sigv4_cache_stats {
    uint64_t hits, misses, inserts, evictions;
} rn_sigv4_cache_stats_t;
void rn_sigv4_cache_stats(const rn_sigv4_cache_t *c, rn_sigv4_cache_stats_t *out);

/* ---- step 3 and its pieces ----------------------------------------------------- */

/* Step 3. Recomputes the signature of req with the secret and compares it
 * with a->signature in constant time (CRYPTO_memcmp). cache may be NULL.
 * If creq / sts are non-NULL they receive the canonical request and the
 * string to sign (for a mismatch message or a test). Returns 0 (verified),
 * 1 (RN_SIGV4_MISMATCH or RN_SIGV4_PAYLOAD_HASH_MISMATCH), or RN_ENOMEM /
 * RN_ETOOBIG. */
int rn_sigv4_verify(rn_sigv4_cache_t *cache, const rn_sigv4_request_t *req,
                    const rn_sigv4_auth_t *a, const rn_sigv4_options_t *o, const char *secret,
                    size_t secret_len, rn_buf_t *creq, rn_buf_t *sts, rn_sigv4_failure_t *fail);

/* The canonical request of req for the signed headers of a, appended to out.
 * payload_hash: what the last line carries (see rn_sigv4_payload_hash). */
int rn_sigv4_canonical_request(const rn_sigv4_request_t *req, const rn_sigv4_auth_t *a,
                               const rn_sigv4_options_t *o, const char *payload_hash,
                               rn_buf_t *out) __attribute__((warn_unused_result));

/* The payload hash line for req (out: 64 hex + NUL, or "UNSIGNED-PAYLOAD").
 * Returns 0, or 1 with RN_SIGV4_PAYLOAD_HASH_MISMATCH when a signed
 * x-amz-content-sha256 header disagrees with the body. */
int rn_sigv4_payload_hash(const rn_sigv4_request_t *req, const rn_sigv4_auth_t *a,
                          const rn_sigv4_options_t *o, char out[65], rn_sigv4_failure_t *fail);

/* The pieces, each exposed for tests. */
int rn_sigv4_canonical_path(const char *path, size_t len, int normalize, rn_buf_t *out)
    __attribute__((warn_unused_result));
/* exclude: a parameter name left out (the presigned "X-Amz-Signature"), or NULL. */
int rn_sigv4_canonical_query(const char *query, size_t len, const char *exclude, rn_buf_t *out)
    __attribute__((warn_unused_result));
int rn_sigv4_string_to_sign(const rn_sigv4_auth_t *a, const char *creq, size_t creq_len,
                            rn_buf_t *out) __attribute__((warn_unused_result));
/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request") */
int rn_sigv4_signing_key(const char *secret, size_t secret_len, rn_sigv4_str_t date,
                         rn_sigv4_str_t region, rn_sigv4_str_t service, uint8_t key[32]);
/* hex(HMAC(key, sts)) into hex[65]. */
int rn_sigv4_signature(const uint8_t key[32], const char *sts, size_t sts_len, char hex[65]);

/* ---- the client side (runnel's CLI, src/cli/) ------------------------------------ */

/* Sign req (header form) as access_key/secret for region/service at time
 * now: the signed headers are every header of req (it must carry "host"
 * and "x-amz-date" = rn_sigv4_format_amz_date(now); names lower case, each
 * once), the payload hash SHA-256 of the payload. The Authorization value
 * ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...") is
 * appended to out. The same canonical request, string to sign and key
 * derivation as rn_sigv4_verify. Returns 0 or RN_ENOMEM / RN_EINVAL. */
int rn_sigv4_sign(const rn_sigv4_request_t *req, const char *access_key, const char *secret,
                  const char *region, const char *service, int64_t now, rn_buf_t *out)
    __attribute__((warn_unused_result));

/* Time helpers: parse yyyymmddThhmmssZ (0, or -1) and format it (out[17]). */
int rn_sigv4_parse_amz_date(const char *s, size_t len, int64_t *t);
void rn_sigv4_format_amz_date(int64_t t, char out[17]);

#endif
