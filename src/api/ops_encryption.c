/* ops_encryption.c: StartStreamEncryption, StopStreamEncryption (§4.9), and
 * the record path's sealing and opening of records at rest.
 *
 * KeyId is a label (no KMS behind it): it is validated as AWS validates the
 * forms it accepts, stored, and shown by the descriptions. The records are
 * sealed under the stream's own random data key (core/recordcrypt.h), made
 * by the first StartStreamEncryption and kept for good, so records sealed
 * before a StopStreamEncryption stay readable. Messages and choices are in
 * docs/encryption.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/recordcrypt.h"
#include "util/log.h"

/* ---- KeyId forms ---------------------------------------------------------------------- */

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A key id: a UUID (8-4-4-4-12 hex digits) or a multi-Region key id
 * "mrk-" followed by 32 hex digits; exactly n characters. */
static int key_uuid_ok(const char *p, size_t n)
{
    if (n != 36)
        return 0;
    int mrk = strncmp(p, "mrk-", 4) == 0;
    for (size_t i = mrk ? 4 : 0; i < 36; i++) {
        int dash = !mrk && (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash ? p[i] != '-' : !is_hex(p[i]))
            return 0;
    }
    return 1;
}

/* An alias name after "alias/": 1..250 of [A-Za-z0-9/_-] (KMS's AliasName). */
static int alias_name_ok(const char *p, size_t n)
{
    if (n == 0 || n > 250)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* "arn:<partition>:kms:<region>:<12 digits>:" followed by a key or alias
 * resource: "key/<key id>" or "alias/<name>". */
static int kms_arn_ok(const char *id)
{
    const char *p = id + 4; /* after "arn:" */
    const char *e = strchr(p, ':');
    if (!e || strncmp(p, "aws", 3) != 0) /* aws, aws-cn, aws-us-gov, ... */
        return 0;
    for (const char *q = p + 3; q < e; q++)
        if (!((*q >= 'a' && *q <= 'z') || *q == '-'))
            return 0;
    p = e + 1;
    if (strncmp(p, "kms:", 4) != 0)
        return 0;
    p += 4;
    e = strchr(p, ':');
    if (!e || e == p)
        return 0;
    for (const char *q = p; q < e; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-'))
            return 0;
    p = e + 1;
    if (strspn(p, "0123456789") != 12 || p[12] != ':')
        return 0;
    p += 13;
    if (strncmp(p, "key/", 4) == 0)
        return key_uuid_ok(p + 4, strlen(p + 4));
    if (strncmp(p, "alias/", 6) == 0)
        return alias_name_ok(p + 6, strlen(p + 6));
    return 0;
}

/* The four KeyId forms AWS accepts: key id, key ARN, alias name, alias ARN. */
static int key_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (strncmp(id, "alias/", 6) == 0)
        return alias_name_ok(id + 6, n - 6);
    if (strncmp(id, "arn:", 4) == 0)
        return kms_arn_ok(id);
    return key_uuid_ok(id, n);
}

/* EncryptionType must be KMS and KeyId one of the accepted forms. */
static int check_args(rn_call_t *c, const char **key_id)
{
    const char *type = rn_arg_str(c, "EncryptionType"); /* required: wire checked it */
    if (!type || strcmp(type, "KMS") != 0)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "Encryption type NONE is not valid for this operation. The only valid "
                            "encryption type is KMS.");
    const char *id = rn_arg_str(c, "KeyId");
    if (!id || !key_id_ok(id)) {
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

int rn_op_StartStreamEncryption(rn_call_t *c)
{
    rn_stream_t *s;
    const char *key_id;
    if (rn_call_stream(c, &s) != 0 || check_args(c, &key_id) != 0 || need_active(c, s) != 0)
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
