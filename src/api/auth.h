/* auth.h (api): verified mode, --credentials (docs/security.md, "Wiring").
 *
 * An rn_auth_t is one load of the credentials file: the store and, kept
 * with it, every identity's policies compiled once. It is reference
 * counted: the api holds one reference, each call in flight another, so a
 * reload (SIGHUP) swaps the api's pointer and the old load lives until the
 * last call that used it is answered.
 *
 * rn_auth_verify runs SigV4 on a request as AWS orders the checks; the
 * sigv4 failure kinds map to the error table in one place (auth.c). */
#ifndef RN_API_AUTH_H
#define RN_API_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "auth/credentials.h"
#include "auth/policy.h"
#include "auth/sigv4.h"
#include "core/errors.h"
#include "net/http.h"

typedef struct rn_auth_who {
    const rn_creds_identity_t *id;
    const rn_policy_t *const *pols; /* the identity's compiled policies */
    size_t npols;
    char role_arn[512];             /* for an assumed-role session: arn:..:iam::<acct>:role/<role> */
    const char *username;           /* aws:username for an IAM user, else NULL */
} rn_auth_who_t;

typedef struct rn_auth {
    int refs;
    rn_creds_store_t *store;
    rn_auth_who_t *who;        /* sorted by id pointer */
    size_t n;
    rn_policy_t **pols;        /* every compiled policy (owned) */
    size_t npols;
    char source[256];
} rn_auth_t;

/* Load the credentials file and compile its policies. 0 and *out (refs 1),
 * or an RN_E* code with err naming the line. */
int rn_auth_load(const char *path, rn_auth_t **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void rn_auth_retain(rn_auth_t *a);
void rn_auth_release(rn_auth_t *a);

/* Verify req (SigV4, server clock now_ms) against a's identities. 0 with
 * *who, account and region filled; or -1 with err set (the sigv4 failure's
 * row and message, UnrecognizedClientException for an unknown key or a
 * session token that does not fit, ExpiredTokenException for a session
 * token past the identity's "expiration"). */
int rn_auth_verify(const rn_auth_t *a, rn_sigv4_cache_t *cache, const rn_http_request_t *req,
                   int64_t now_ms, const char *default_region, const rn_auth_who_t **who,
                   char *account, size_t account_cap, char *region, size_t region_cap, rn_error_t *err);

/* The same for a request signed for another service of the credential
 * scope (service "sts": the KPL's GetCallerIdentity, api/sts.h). */
int rn_auth_verify_service(const rn_auth_t *a, rn_sigv4_cache_t *cache, const rn_http_request_t *req,
                           int64_t now_ms, const char *default_region, const char *service,
                           const rn_auth_who_t **who, char *account, size_t account_cap, char *region,
                           size_t region_cap, rn_error_t *err);

/* The error-table row and message for a sigv4 failure. Returns -1. */
int rn_auth_sigv4_error(const rn_sigv4_failure_t *f, rn_error_t *err);

#endif
