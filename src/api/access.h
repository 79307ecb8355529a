/* access.h: may this caller touch that resource?
 *
 * The caller is the account and region of the request's credential scope
 * (ident.h); a resource is a stream or a consumer, named by its ARN, owned
 * by the account and region in that ARN, with an optional resource policy
 * (PutResourcePolicy). The rules, as AWS applies them without IAM identity
 * policies:
 *   - a resource is looked up in the account and region its ARN names,
 *     never in the caller's: another region's ARN is "not found" (a regional
 *     endpoint holds only its own region's streams);
 *   - the caller's own account may do anything (issue 10 adds identity
 *     policies in rn_access_check);
 *   - another account may perform kinesis:<Op> only when the resource's
 *     policy has an Allow statement for the caller's account, that action
 *     and that resource, and no Deny statement matching them; otherwise
 *     AccessDeniedException, whether or not the resource exists (no
 *     existence oracle across accounts). Only the operations AWS lets a
 *     resource policy grant can be granted (rn_access_cross_account_op).
 * Tokens (iterators, NextTokens) are bound to the minting caller's account
 * and region by core/iterator.h; what a bound token names is checked here
 * again when it belongs to another account.
 *
 * The number of (account, region) pairs holding state is bounded too:
 * rn_access_namespace, before a request that could create the first state
 * of a pair (CreateStream, UpdateAccountSettings). */
#ifndef RN_API_ACCESS_H
#define RN_API_ACCESS_H

#include "api/api_int.h"

#include "auth/policy.h"

/* The compiled form of a resource policy document (NULL text, or a document
 * that does not compile: NULL), cached per api (access.c). */
const rn_policy_t *rn_access_policy(rn_api_t *api, const char *text);

/* The developer-mode decision for a document on its own (tests, fuzzing):
 * may the root of `account` perform `action` on `resource` (owned by the
 * account the ARN names) under the resource policy `policy` (JSON text;
 * NULL or invalid: no grant)? Evaluated by rn_policy_authorize. */
typedef enum rn_access_effect {
    RN_ACCESS_NONE = 0, /* implicit deny */
    RN_ACCESS_ALLOW = 1,
    RN_ACCESS_DENY = 2, /* an explicit Deny applies */
} rn_access_effect_t;
rn_access_effect_t rn_access_eval(const char *policy, const char *account, const char *action,
                                  const char *resource);
void rn_access_cache_free(rn_api_t *api);

/* 1 if a resource policy may grant op to another account (data-plane reads
 * and writes of a stream, its consumers' registration and listing, and
 * DescribeStreamConsumer / SubscribeToShard on a consumer). */
int rn_access_cross_account_op(rn_op_t op);

/* May c's caller perform c->op on the resource `arn` owned by `owner`
 * (policy: its resource policy, NULL when none or when it does not exist;
 * tags: its tags, for the aws:ResourceTag keys)? Evaluated by rn_policy_authorize:
 * in developer mode the caller is its account's root (so only another
 * account's access is checked, against the resource policy); in verified
 * mode the caller is the identity, with its policies and the request's
 * condition keys. 0 (c->authorized set), or -1 with c->err set to
 * AccessDeniedException worded by rn_policy_message. */
int rn_access_check(rn_call_t *c, const char *owner, const char *arn, const char *policy,
                    const rn_tagset_t *tags);

/* May c's caller perform action (another service's: "kms:Decrypt") on the
 * resource arn owned by owner, which has no resource policy? Evaluated as
 * rn_access_check evaluates c->op, without marking c authorized. 0, or -1
 * with c->err set to AccessDeniedException worded by rn_policy_message. */
int rn_access_action(rn_call_t *c, const char *action, const char *owner, const char *arn);

/* Verified mode, before the handler: the operations whose resource no
 * resolution path checks ("*" resources, CreateStream's new stream). */
int rn_access_op(rn_call_t *c);

/* The stream `name` of (account, region), named by `arn`, for c: region
 * other than c's -> ResourceNotFoundException; another account -> the
 * access check (with the stream's policy); missing ->
 * ResourceNotFoundException naming the owner's account. */
int rn_access_stream(rn_call_t *c, const char *region, const char *account, const char *name,
                     const char *arn, rn_stream_t **out);

/* A stream reached through a token bound to c's caller (or an older,
 * unbound token): the stream must be in c's region, and in c's account
 * unless the access check allows the cross-account use. 0 or -1 with c->err
 * set (bad_token: the error for a token that cannot be c's). */
int rn_access_token_stream(rn_call_t *c, const rn_stream_t *s, int bound, rn_aws_code_t bad_token,
                           const char *bad_message);

/* Before c->op runs: when it could give (c->account, c->region) its first
 * state and that pair holds none yet, refuse with LimitExceededException if
 * --max-namespaces pairs hold state already. 0 or -1 with c->err set. */
int rn_access_namespace(rn_call_t *c);

#endif
