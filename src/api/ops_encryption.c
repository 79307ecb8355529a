/* ops_encryption.c: StartStreamEncryption, StopStreamEncryption (§4.9), and
 * the record path's sealing and opening of records at rest.
 *
 * KeyId is resolved through the local KMS (kms.h): a key it holds must be
 * Enabled (else KMSDisabledException, KMSInvalidStateException), an unknown
 * one is accepted as a foreign key unless --kms-strict (then
 * KMSNotFoundException); the record path asks again on every call
 * (rn_encryption_key_check). The KeyId is stored as given and shown by the
 * descriptions. The records are
 * sealed under the stream's own random data key (core/recordcrypt.h), made
 * by the first StartStreamEncryption and kept for good, so records sealed
 * before a StopStreamEncryption stay readable. Messages and choices are in
 * docs/encryption.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/api_int.h"
#include "api/kms.h"
#include "core/recordcrypt.h"
#include "util/log.h"

/* EncryptionType must be KMS and KeyId one of the accepted forms. */
static int check_args(rn_call_t *c, const char **key_id)
{
    const char *type = rn_arg_str(c, "EncryptionType"); /* required: wire checked it */
    if (!type || strcmp(type, "KMS") != 0)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "Encryption type NONE is not valid for this operation. The only valid "
                            "encryption type is KMS.");
    const char *id = rn_arg_str(c, "KeyId");
    rn_kms_id_t form;
    if (!id || rn_kms_parse_id(id, &form) == RN_KMS_ID_BAD) {
        char msg[2200];
        snprintf(msg, sizeof msg, "Invalid keyId %s", id ? id : "");
        return rn_error_set(&c->err, RN_AWS_KMS_NOT_FOUND, msg);
    }
    *key_id = id;
    return 0;
}

static int need_active(rn_call_t *c, const rn_stream_t *s)
{
    if (s->status == RN_STREAM_ACTIVE)
        return 0;
    return rn_error_set(&c->err, RN_AWS_STREAM_NOT_ACTIVE, s->name, c->account,
                        rn_stream_status_name(s->status));
}

/* ---- handlers ---------------------------------------------------------------------------- */

/* The KMS error for the key key_id of a stream of (account, region) at
 * now_ms, in *err (KMSDisabledException, KMSInvalidStateException,
 * KMSNotFoundException; InternalFailure when the keys cannot be loaded):
 * 0 when it may be used (Enabled, or a foreign key outside --kms-strict),
 * else -1. *u says what the key is. */
static int key_state_error(rn_api_t *api, const char *account, const char *region, const char *key_id,
                           int64_t now_ms, rn_kms_use_t *u, rn_error_t *err)
{
    int rc = rn_kms_key_state(api->kms, account, region, key_id, now_ms, u);
    if (rc) {
        rn_error("kms: cannot load the keys: %s", rn_strerror(rc));
        return rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
    }
    char msg[RN_KMS_ARN_MAX + 64];
    switch (u->state) {
    case RN_KMS_DISABLED: /* KMS's wording (Kinesis's own is not recorded) */
        snprintf(msg, sizeof msg, "%s is disabled.", u->arn);
        return rn_error_set(err, RN_AWS_KMS_DISABLED, msg);
    case RN_KMS_PENDING_DELETION:
        snprintf(msg, sizeof msg, "%s is pending deletion.", u->arn);
        return rn_error_set(err, RN_AWS_KMS_INVALID_STATE, msg);
    case RN_KMS_NOT_FOUND:
        if (u->alias)
            snprintf(msg, sizeof msg, "Alias %s is not found.", u->arn);
        else
            snprintf(msg, sizeof msg, "Key '%s' does not exist", u->arn);
        return rn_error_set(err, RN_AWS_KMS_NOT_FOUND, msg);
    default:
        return 0;
    }
}

/* key_id (of a stream of (account, region)) for c: 0 when it may be used,
 * else -1 with c->err set to the KMS* error Kinesis answers. In verified
 * mode, a held customer key also needs the caller's policies to allow
 * action on the key's ARN (KMSAccessDeniedException); action NULL: no
 * permission check. */
static int key_usable(rn_call_t *c, const char *account, const char *region, const char *key_id,
                      const char *action)
{
    rn_kms_use_t u;
    if (key_state_error(c->api, account, region, key_id, c->now_ms, &u, &c->err) != 0)
        return -1;
    if (action && c->who && u.held && !u.managed && rn_access_action(c, action, u.owner, u.arn) != 0) {
        /* the denial worded as IAM words it, as a KMSAccessDeniedException */
        char denied[RN_ERROR_MESSAGE_MAX];
        snprintf(denied, sizeof denied, "%s", c->err.message);
        return rn_error_set(&c->err, RN_AWS_KMS_ACCESS_DENIED, denied);
    }
    return 0;
}

/* A stream's KeyId names a key of the stream's own account and region
 * (an alias is the owner's, whoever calls). */
int rn_encryption_key_check(rn_call_t *c, const rn_stream_t *s, int write)
{
    if (!s->encrypted || !s->key_id)
        return 0;
    return key_usable(c, s->account, s->region, s->key_id, write ? "kms:GenerateDataKey" : "kms:Decrypt");
}

int rn_encryption_stream_key_error(rn_api_t *api, const rn_stream_t *s, int64_t now_ms, rn_error_t *err)
{
    rn_kms_use_t u;
    if (!s->encrypted || !s->key_id)
        return 0;
    return key_state_error(api, s->account, s->region, s->key_id, now_ms, &u, err);
}

int rn_op_StartStreamEncryption(rn_call_t *c)
{
    rn_stream_t *s;
    const char *key_id;
    if (rn_call_stream(c, &s) != 0 || check_args(c, &key_id) != 0 || need_active(c, s) != 0 ||
        key_usable(c, s->account, s->region, key_id, NULL) != 0)
        return -1;
    char *id = strdup(key_id);
    if (!id)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    int had_key = s->has_datakey, was_encrypted = s->encrypted;
    if (!had_key) {
        if (rn_datakey_generate((rn_datakey_t *)s->datakey) != 0) {
            free(id);
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        }
        s->has_datakey = 1;
    }
    char *old_id = s->key_id;
    s->key_id = id;
    s->encrypted = 1;
    int rc = rn_registry_begin_update(c->api->reg, s, c->now_ms);
    if (rc) {
        s->key_id = old_id;
        s->encrypted = was_encrypted;
        s->has_datakey = had_key;
        free(id);
        return rn_fail_persist(c, rc);
    }
    free(old_id);
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_StopStreamEncryption(rn_call_t *c)
{
    rn_stream_t *s;
    const char *key_id;
    if (rn_call_stream(c, &s) != 0 || check_args(c, &key_id) != 0 || need_active(c, s) != 0)
        return -1;
    if (!s->encrypted) { /* nothing to stop: accepted, nothing changes */
        rn_call_reply(c, NULL);
        return 0;
    }
    s->encrypted = 0;
    int rc = rn_registry_begin_update(c->api->reg, s, c->now_ms);
    if (rc) {
        s->encrypted = 1;
        return rn_fail_persist(c, rc);
    }
    rn_call_reply(c, NULL);
    return 0;
}

/* ---- the record path ------------------------------------------------------------------------ */

#define SEAL_KEEP (4u * 1024 * 1024) /* scratch kept between calls, per thread */
static _Thread_local rn_buf_t seal_buf;

int rn_records_seal(const rn_stream_t *s, uint32_t shard_index, rn_record_in_t *recs, size_t n)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += RN_RECORDCRYPT_OVERHEAD + recs[i].pk_len + recs[i].data_len;
    rn_buf_t *b = &seal_buf;
    if (b->cap > SEAL_KEEP && need <= SEAL_KEEP)
        rn_buf_dispose(b); /* a big batch passed: give its memory back */
    if (b->cap == 0)
        rn_buf_init(b, 0);
    rn_buf_reset(b);
    if (rn_buf_reserve(b, need))
        return RN_ENOMEM;
    const rn_datakey_t *k = (const rn_datakey_t *)s->datakey;
    uint8_t *w = b->data;
    for (size_t i = 0; i < n; i++) {
        rn_record_in_t *r = &recs[i];
        size_t len = RN_RECORDCRYPT_OVERHEAD + r->pk_len + r->data_len;
        int rc = rn_record_seal(k, s->id, shard_index, r->pk, r->pk_len, r->data, r->data_len, w);
        if (rc)
            return rc;
        *r = (rn_record_in_t){.pk = NULL, .pk_len = 0, .data = w, .data_len = len,
                              .flags = (uint8_t)(r->flags | RN_RECORD_ENCRYPTED)};
        w += len;
    }
    b->len = need;
    return 0;
}

int rn_records_open(const rn_stream_t *s, uint32_t shard_index, rn_record_out_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rn_record_out_t *r = &recs[i];
        if (!(r->flags & RN_RECORD_ENCRYPTED))
            continue;
        if (!s->has_datakey)
            return RN_ECORRUPT;
        /* The frame lives in the caller's scratch buffer: writable. */
        int rc = rn_record_open((const rn_datakey_t *)s->datakey, s->id, shard_index, (uint8_t *)r->data,
                                r->data_len, &r->pk, &r->pk_len, &r->data, &r->data_len);
        if (rc) {
            rn_error("stream %s shard %u record %llu cannot be opened: %s", s->name, shard_index,
                     (unsigned long long)r->counter, rn_strerror(rc));
            return rc;
        }
    }
    return 0;
}
