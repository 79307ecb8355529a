/* kms.h: a small local AWS KMS, so that Kinesis's KMS* errors can happen.
 *
 * Served on runnel's port when X-Amz-Target starts with "TrentService."
 * (AWS JSON 1.1, SigV4 service "kms"; dispatch and authentication in
 * api.c): CreateKey (symmetric default keys only), DescribeKey, ListKeys,
 * EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion,
 * CreateAlias, DeleteAlias, ListAliases, with KMS's shapes, error types
 * and messages (docs/encryption.md says which messages are guesses).
 *
 * Keys and aliases belong to an (account, region) and are kept in the
 * store's metadata table ("kms/key/<acct>/<region>/<id>",
 * "kms/alias/<acct>/<region>/<name>"), so they survive a restart of the
 * disk store. A key scheduled for deletion is deleted, with its aliases,
 * once its DeletionDate has passed. The AWS managed key alias/aws/kinesis
 * of every account and region always exists and is Enabled (its id is
 * derived from the account and region; it is not stored).
 *
 * Kinesis asks for a key's state through rn_kms_key_state (ops_encryption.c).
 * No key material exists: records are sealed under the stream's own data
 * key whatever the KMS key (docs/encryption.md). */
#ifndef RN_API_KMS_H
#define RN_API_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "api/ident.h"
#include "store/store.h"

typedef struct rn_kms rn_kms_t;

/* A KMS over store's metadata table (loaded on first use). strict
 * (--kms-strict): a key this KMS does not hold is not found, as on AWS;
 * otherwise such a "foreign" key counts as Enabled. */
int rn_kms_create(rn_kms_t **out, rn_store_t *store, int strict);
void rn_kms_destroy(rn_kms_t *k);

typedef enum rn_kms_state {
    RN_KMS_ENABLED = 0,
    RN_KMS_DISABLED,
    RN_KMS_PENDING_DELETION,
    RN_KMS_NOT_FOUND,
} rn_kms_state_t;

#define RN_KMS_ARN_MAX 512

/* The four KeyId forms AWS accepts (KMS's and Kinesis's KeyId). */
typedef enum rn_kms_id_kind {
    RN_KMS_ID_BAD = 0,
    RN_KMS_ID_KEY,       /* a UUID, or "mrk-" + 32 hex digits */
    RN_KMS_ID_KEY_ARN,   /* arn:<aws partition>:kms:<region>:<12 digits>:key/<key id> */
    RN_KMS_ID_ALIAS,     /* alias/<name>, name 1..250 of [A-Za-z0-9/_-] */
    RN_KMS_ID_ALIAS_ARN, /* arn:<aws partition>:kms:<region>:<12 digits>:alias/<name> */
} rn_kms_id_kind_t;

typedef struct rn_kms_id {
    rn_kms_id_kind_t kind;
    char region[RN_REGION_MAX + 1]; /* an ARN's */
    char account[16]; /* an ARN's */
    const char *name; /* into the id: the key id, or "alias/<name>" */
} rn_kms_id_t;

/* The form of id (NUL-terminated) and its parts. */
rn_kms_id_kind_t rn_kms_parse_id(const char *id, rn_kms_id_t *out);

/* What Kinesis learns of a KeyId. */
typedef struct rn_kms_use {
    rn_kms_state_t state;
    int held;     /* the key is one this KMS holds (a customer key or the AWS managed one) */
    int managed;  /* the AWS managed key alias/aws/kinesis */
    int alias;    /* RN_KMS_NOT_FOUND for an alias: arn is the alias's ARN */
    char owner[16];             /* the key's account when held */
    char arn[RN_KMS_ARN_MAX];   /* the key's ARN when known, else the KeyId as given */
} rn_kms_use_t;

/* Resolve key_id, in one of the four forms (key id, key ARN, alias name,
 * alias ARN; its form was checked by the caller), for a caller in
 * (account, region) at now_ms. An ARN is looked up in the account it
 * names; another region's ARN is never held. Not held: RN_KMS_NOT_FOUND
 * under strict, else RN_KMS_ENABLED with held 0. Returns 0, or a negative
 * RN_E* code when the stored keys cannot be loaded. */
int rn_kms_key_state(rn_kms_t *k, const char *account, const char *region, const char *key_id, int64_t now_ms,
                     rn_kms_use_t *out);

/* The answer to one KMS call. */
typedef struct rn_kms_reply {
    int status;       /* 200, or the error's HTTP status */
    const char *type; /* the error's __type (x-amzn-ErrorType); NULL on success */
    char *body;       /* malloc'd JSON text (NULL on allocation failure) */
} rn_kms_reply_t;

/* Verified mode: may the caller perform action ("kms:DisableKey") on arn
 * (a key or alias ARN, or "*"), owned by owner? allow returns 0, or -1
 * with the denial's message (IAM's wording) in msg. */
typedef struct rn_kms_authz {
    int (*allow)(void *ud, const char *action, const char *owner, const char *arn, char *msg, size_t cap);
    void *ud;
} rn_kms_authz_t;

/* Run the KMS operation op[0..oplen) (after "TrentService.") with the JSON
 * body[0..len) for the caller in (account, region) whose ARN is
 * principal_arn (NULL: the account's root; used in AccessDenied messages).
 * authz (NULL in developer mode: all allowed) authorises each operation:
 * kms:<Op> on the key ARN it names (CreateAlias and DeleteAlias: on the
 * alias ARN and on the target key's ARN; CreateKey, ListKeys, ListAliases:
 * on "*"), before a missing key is reported. */
void rn_kms_answer(rn_kms_t *k, const char *account, const char *region, const char *principal_arn,
                   const rn_kms_authz_t *authz, const char *op, size_t oplen, const uint8_t *body, size_t len,
                   int64_t now_ms, rn_kms_reply_t *out);

#endif
