/* test_api_kms.c: the local KMS's KeyId forms, resolution and key states (api/kms.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kms.h"
#include "tap.h"

#define A "000000000000"
#define R "us-east-1"
#define NOW 1764656086000LL
#define DAY_MS (24LL * 3600 * 1000)

static void wake(void *ud)
{
    (void)ud;
}

static void test_forms(void)
{
    rn_kms_id_t p;
    CHECK_EQ_INT(rn_kms_parse_id("1234abcd-12ab-34cd-56ef-1234567890ab", &p), RN_KMS_ID_KEY);
    CHECK_EQ_INT(rn_kms_parse_id("mrk-1234abcd12ab34cd56ef1234567890ab", &p), RN_KMS_ID_KEY);
    CHECK_EQ_INT(rn_kms_parse_id("arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", &p),
                 RN_KMS_ID_KEY_ARN);
    CHECK_EQ_STR(p.region, "eu-west-3");
    CHECK_EQ_STR(p.account, "123456789012");
    CHECK_EQ_STR(p.name, "1234abcd-12ab-34cd-56ef-1234567890ab");
    CHECK_EQ_INT(rn_kms_parse_id("alias/my-key_1", &p), RN_KMS_ID_ALIAS);
    CHECK_EQ_STR(p.name, "alias/my-key_1");
    CHECK_EQ_INT(rn_kms_parse_id("arn:aws-cn:kms:cn-north-1:123456789012:alias/x", &p), RN_KMS_ID_ALIAS_ARN);
    CHECK_EQ_STR(p.name, "alias/x");
    const char *bad[] = {"foo", "aws/kinesis", "alias/", "alias/has space", "1234abcd-12ab-34cd-56ef-1234567890a",
                         "arn:aws:kms:us-east-1:12345678901:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                         "arn:aws:kms::123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                         "arn:aws:s3:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_INT(rn_kms_parse_id(bad[i], &p), RN_KMS_ID_BAD);
}

/* Run op with body; the reply's body parsed (NULL on error statuses unless want_error). */
static json_t *call(rn_kms_t *k, const char *op, const char *body, int64_t now, int *status)
{
    rn_kms_reply_t r;
    rn_kms_answer(k, A, R, NULL, NULL, op, strlen(op), (const uint8_t *)body, strlen(body), now, &r);
    *status = r.status;
    json_t *doc = r.body ? json_loads(r.body, 0, NULL) : NULL;
    free(r.body);
    return doc;
}

static void test_resolution(void)
{
    rn_store_config_t scfg = {.in_memory = 1, .fsync_mode = RN_FSYNC_NEVER, .wake = wake};
    rn_store_t *st;
    const char *err;
    CHECK_EQ_INT(rn_store_open(&st, &scfg, &err), 0);
    rn_kms_t *lax, *strict;
    CHECK_EQ_INT(rn_kms_create(&lax, st, 0), 0);
    int status;
    json_t *doc = call(lax, "CreateKey", "{}", NOW, &status);
    CHECK_EQ_INT(status, 200);
    char id[64], arn[256], body[512];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_object_get(doc, "KeyMetadata"), "KeyId")));
    json_decref(doc);
    snprintf(arn, sizeof arn, "arn:aws:kms:" R ":" A ":key/%s", id);
    snprintf(body, sizeof body, "{\"AliasName\":\"alias/k\",\"TargetKeyId\":\"%s\"}", arn);
    json_decref(call(lax, "CreateAlias", body, NOW, &status));
    CHECK_EQ_INT(status, 200);

    /* a second instance over the same store loads what the first saved */
    CHECK_EQ_INT(rn_kms_create(&strict, st, 1), 0);
    rn_kms_use_t u;
    const char *forms[] = {id, arn, "alias/k", "arn:aws:kms:" R ":" A ":alias/k"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ_INT(rn_kms_key_state(strict, A, R, forms[i], NOW, &u), 0);
        CHECK_EQ_INT(u.state, RN_KMS_ENABLED);
        CHECK(u.held && !u.managed);
        CHECK_EQ_STR(u.arn, arn);
        CHECK_EQ_STR(u.owner, A);
    }
    /* another account or region does not hold it */
    CHECK_EQ_INT(rn_kms_key_state(strict, "111111111111", R, id, NOW, &u), 0);
    CHECK_EQ_INT(u.state, RN_KMS_NOT_FOUND);
    CHECK(!u.held && !u.alias);
    CHECK_EQ_INT(rn_kms_key_state(strict, A, "eu-west-1", "alias/k", NOW, &u), 0);
    CHECK_EQ_INT(u.state, RN_KMS_NOT_FOUND);
    CHECK(u.alias);
    CHECK_EQ_STR(u.arn, "arn:aws:kms:eu-west-1:" A ":alias/k");
    /* without --kms-strict an unknown key is foreign, Enabled */
    CHECK_EQ_INT(rn_kms_key_state(lax, A, R, "alias/unknown", NOW, &u), 0);
    CHECK_EQ_INT(u.state, RN_KMS_ENABLED);
    CHECK(!u.held);
    /* the AWS managed key, both forms, always Enabled */
    CHECK_EQ_INT(rn_kms_key_state(strict, A, R, "alias/aws/kinesis", NOW, &u), 0);
    CHECK(u.held && u.managed && u.state == RN_KMS_ENABLED);
    char mid[RN_KMS_ARN_MAX];
    snprintf(mid, sizeof mid, "%s", u.arn);
    CHECK_EQ_INT(rn_kms_key_state(strict, A, R, strchr(mid, '/') + 1, NOW, &u), 0);
    CHECK(u.managed);

    /* states, seen by the other instance only after its own change (each keeps its copy) */
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", id);
    json_decref(call(strict, "DisableKey", body, NOW, &status));
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_INT(rn_kms_key_state(strict, A, R, "alias/k", NOW, &u), 0);
    CHECK_EQ_INT(u.state, RN_KMS_DISABLED);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"PendingWindowInDays\":7}", id);
    json_decref(call(strict, "ScheduleKeyDeletion", body, NOW, &status));
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_INT(rn_kms_key_state(strict, A, R, id, NOW + 7 * DAY_MS - 1, &u), 0);
    CHECK_EQ_INT(u.state, RN_KMS_PENDING_DELETION);
    /* the waiting period over: the key and its alias are gone */
    CHECK_EQ_INT(rn_kms_key_state(strict, A, R, id, NOW + 7 * DAY_MS, &u), 0);
    CHECK_EQ_INT(u.state, RN_KMS_NOT_FOUND);
    CHECK_EQ_INT(rn_kms_key_state(strict, A, R, "alias/k", NOW + 7 * DAY_MS, &u), 0);
    CHECK(u.state == RN_KMS_NOT_FOUND && u.alias);
    doc = call(strict, "DescribeKey", body, NOW + 7 * DAY_MS, &status);
    CHECK_EQ_INT(status, 400);
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "__type")), "NotFoundException");
    json_decref(doc);
    rn_kms_t *again;
    CHECK_EQ_INT(rn_kms_create(&again, st, 1), 0);
    CHECK_EQ_INT(rn_kms_key_state(again, A, R, id, NOW, &u), 0);
    CHECK_EQ_INT(u.state, RN_KMS_NOT_FOUND); /* deleted from the store too */
    rn_kms_destroy(again);
    rn_kms_destroy(strict);
    rn_kms_destroy(lax);
    rn_store_close(st);
}

int main(void)
{
    test_forms();
    test_resolution();
    return rn_test_done("test_api_kms");
}
