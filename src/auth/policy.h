/* policy.h: IAM policy documents, parsed once and evaluated per request.
 *
 * A policy document (identity-based, attached to a user or role; or
 * resource-based, attached to a stream or consumer through PutResourcePolicy)
 * is compiled by rn_policy_parse() / rn_policy_compile() into an immutable
 * rn_policy_t, validated with a message naming the offending element. The
 * compiled form is read-only and may be shared between threads.
 *
 * rn_policy_authorize() applies IAM's evaluation logic to a request context
 * the caller fills (rn_policy_ctx_t): default deny, an explicit Deny anywhere
 * wins, same-account access needs an Allow in an identity policy OR in the
 * resource policy, cross-account access needs both. The decision says which
 * kind of policy denied, and rn_policy_message() words AccessDeniedException's
 * message as IAM does ("User: ... is not authorized to perform: ...").
 *
 * The library knows nothing of HTTP or Kinesis: api maps an operation to its
 * action and resource ARN (core/ops.h) and fills the context. docs/policies.md
 * lists what is honoured and what is not. */
#ifndef RN_POLICY_H
#define RN_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Ceilings: documents arrive from peers (PutResourcePolicy), so every
 * dimension is bounded; exceeding one fails with RN_ETOOBIG. */
#define RN_POLICY_MAX_BYTES 32768      /* JSON text */
#define RN_POLICY_MAX_STATEMENTS 256   /* statements per document */
#define RN_POLICY_MAX_ELEMENTS 4096    /* values (actions, resources, principals, condition values) per document */
#define RN_POLICY_MAX_STRING 2048      /* bytes in one string value */
#define RN_POLICY_MAX_CONDITIONS 64    /* (operator, key) pairs per statement */

typedef enum rn_policy_kind {
    RN_POLICY_IDENTITY = 0, /* no Principal; Resource required */
    RN_POLICY_RESOURCE = 1, /* Principal or NotPrincipal required; Resource optional (the resource it is on) */
} rn_policy_kind_t;

typedef struct rn_policy rn_policy_t;

/* Compile the JSON text [text, text+len) (not NUL-terminated necessarily).
 * Returns 0 and *out (free with rn_policy_destroy), or RN_EINVAL (malformed
 * or invalid: err holds a message such as "Statement[2].Effect must be
 * \"Allow\" or \"Deny\""), RN_ETOOBIG (a ceiling above; err says which), or
 * RN_ENOMEM. err may be NULL; it is always NUL-terminated when errlen > 0. */
int rn_policy_parse(const char *text, size_t len, rn_policy_kind_t kind, rn_policy_t **out, char *err,
                    size_t errlen) __attribute__((warn_unused_result));
/* The same from a jansson tree the caller keeps (borrowed, not retained). */
int rn_policy_compile(const json_t *doc, rn_policy_kind_t kind, rn_policy_t **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void rn_policy_destroy(rn_policy_t *p);

size_t rn_policy_statement_count(const rn_policy_t *p);
rn_policy_kind_t rn_policy_get_kind(const rn_policy_t *p);

/* ---- request context ---------------------------------------------------- */

/* A condition key the caller provides beyond the built-ins below, e.g.
 * {"aws:RequestTag/env", (const char *[]){"prod"}, 1} or the multi-valued
 * {"aws:TagKeys", keys, n}. nvalues == 0 counts as absent. Key names compare
 * ignoring ASCII case, as IAM's do. */
typedef struct rn_policy_kv {
    const char *key;
    const char *const *values;
    size_t nvalues;
} rn_policy_kv_t;

/* Everything the evaluator reads; all strings borrowed for the call. NULL
 * means absent (the condition key is then missing from the context). */
typedef struct rn_policy_ctx {
    const char *action;            /* required: "kinesis:PutRecord" */
    const char *resource;          /* required: the resource ARN, or "*" */
    const char *resource_account;  /* account that owns the resource; NULL = principal_account */
    const char *principal_arn;     /* "arn:aws:iam::111122223333:user/alice" (aws:PrincipalArn);
                                    * "arn:aws:iam::<acct>:root" is the account root */
    const char *principal_account; /* 12 digits (aws:PrincipalAccount) */
    const char *principal_role_arn; /* for an assumed-role session, the role's ARN: a resource
                                     * policy naming the role names its sessions */
    const char *username;          /* aws:username (IAM users only) */
    const char *userid;            /* aws:userid */
    const char *source_ip;         /* aws:SourceIp, textual IPv4 or IPv6 */
    int secure_transport;          /* aws:SecureTransport: 1 true, 0 false, -1 absent */
    int64_t now_ms;                /* aws:CurrentTime / aws:EpochTime; < 0 = absent */
    const rn_policy_kv_t *keys;    /* any other key (aws:RequestTag/..., aws:ResourceTag/...,
                                    * aws:TagKeys, kinesis:...); a built-in given here overrides */
    size_t nkeys;
} rn_policy_ctx_t;

/* An initialised context: everything absent, secure_transport -1, now_ms -1. */
void rn_policy_ctx_init(rn_policy_ctx_t *ctx);

/* ---- evaluation ---------------------------------------------------------- */

/* One policy against a context: does any statement that applies deny, and
 * does any allow? (A Deny that applies is reported even when an Allow also
 * applies.) For a resource policy, allow_names_principal tells whether an
 * applicable Allow names the principal itself (its ARN, its role's ARN or
 * "*") rather than only its account. */
typedef struct rn_policy_match {
    int denies;
    int allows;
    int allow_names_principal;
} rn_policy_match_t;

void rn_policy_evaluate(const rn_policy_t *p, const rn_policy_ctx_t *ctx, rn_policy_match_t *m);

typedef enum rn_authz {
    RN_AUTHZ_ALLOW = 0,
    RN_AUTHZ_IMPLICIT_DENY_IDENTITY = 1, /* no identity-based policy allows */
    RN_AUTHZ_IMPLICIT_DENY_RESOURCE = 2, /* no resource-based policy allows (cross-account) */
    RN_AUTHZ_EXPLICIT_DENY_IDENTITY = 3, /* explicit deny in an identity-based policy */
    RN_AUTHZ_EXPLICIT_DENY_RESOURCE = 4, /* explicit deny in a resource-based policy */
} rn_authz_t;

/* IAM's decision for ctx, given the principal's identity policies (n may be
 * 0) and the resource's policy (NULL when it has none). In order:
 *  1. an applicable Deny in an identity policy, then in the resource policy,
 *     is an explicit deny (the account root included);
 *  2. the root of the resource's account is allowed;
 *  3. same account (principal_account == resource_account): an Allow in an
 *     identity policy, or an Allow in the resource policy naming the
 *     principal (its ARN, its role, "*"; naming only the account delegates
 *     to the identity policies), allows; else implicit deny (identity);
 *  4. another account: the identity side must allow (an identity policy's
 *     Allow, or the principal is its own account's root), else implicit deny
 *     (identity); and the resource policy must allow it (naming it, its
 *     account or "*"), else implicit deny (resource). */
rn_authz_t rn_policy_authorize(const rn_policy_t *const *identity, size_t nidentity,
                               const rn_policy_t *resource, const rn_policy_ctx_t *ctx);

/* "allow", "implicit-deny-identity", ... (for logs and tests). */
const char *rn_authz_name(rn_authz_t d);

/* AccessDeniedException's message for a denial, worded as the IAM User
 * Guide's "Troubleshoot access denied error messages" gives it:
 *   User: <principal> is not authorized to perform: <action> on resource: <resource>
 *     because no identity-based policy allows the <action> action
 *     | because no resource-based policy allows the <action> action
 *     | with an explicit deny in an identity-based policy
 *     | with an explicit deny in a resource-based policy
 * (no final period). Appends to out; RN_EINVAL for RN_AUTHZ_ALLOW. */
int rn_policy_message(rn_buf_t *out, rn_authz_t d, const char *principal_arn, const char *action,
                      const char *resource) __attribute__((warn_unused_result));

/* ---- exposed for tests and for api's own checks -------------------------- */

/* Glob match of subject against pattern with '*' (any run) and '?' (one
 * character); fold: ignore ASCII case. Both length-delimited. */
int rn_policy_glob(const char *pat, size_t plen, const char *s, size_t slen, int fold);
/* Parse an ISO 8601 date/time ("2026-12-02", "2026-12-02T06:14:46Z",
 * "...T06:14:46.250+01:00") or epoch seconds ("1764656086") to epoch ms.
 * Returns 0 or RN_EINVAL. */
int rn_policy_parse_date(const char *s, size_t len, int64_t *ms);

#endif
