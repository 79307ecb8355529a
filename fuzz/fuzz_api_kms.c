/* fuzz_api_kms.c: the local KMS's answers to arbitrary bodies (api/kms.h).
 *
 * The first byte picks the operation (one of the ten, or an unknown one),
 * the rest is the JSON body, run against a fresh in-memory store. Beyond
 * "never crash": every answer is a JSON object; a success has no error
 * type, an error's __type is the x-amzn-ErrorType it gives; and the body
 * taken as a KeyId resolves without crashing. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kms.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_api_kms: %s\n", what);
    abort();
}

static void wake(void *ud)
{
    (void)ud;
}

static const char *const ops[] = {"CreateKey",         "DescribeKey",   "ListKeys",    "EnableKey",
                                  "DisableKey",        "ScheduleKeyDeletion", "CancelKeyDeletion",
                                  "CreateAlias",       "DeleteAlias",   "ListAliases", "Encrypt"};

static void answer(rn_kms_t *k, const char *op, const uint8_t *body, size_t len)
{
    rn_kms_reply_t r;
    rn_kms_answer(k, "000000000000", "us-east-1", NULL, NULL, op, strlen(op), body, len, 1764656086000LL, &r);
    if (!r.body)
        fail("no answer body");
    json_t *doc = json_loads(r.body, 0, NULL);
    if (!json_is_object(doc))
        fail("the answer is not a JSON object");
    const char *type = json_string_value(json_object_get(doc, "__type"));
    if ((r.status == 200) != (r.type == NULL))
        fail("status and error type disagree");
    if (r.type && (!type || strcmp(type, r.type) != 0))
        fail("__type is not the error type");
    json_decref(doc);
    free(r.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    rn_store_config_t cfg = {.in_memory = 1, .fsync_mode = RN_FSYNC_NEVER, .wake = wake};
    rn_store_t *st;
    const char *err;
    if (rn_store_open(&st, &cfg, &err) != 0)
        fail("cannot open a store");
    rn_kms_t *k;
    if (rn_kms_create(&k, st, data[0] & 0x80) != 0)
        fail("cannot create the KMS");
    const char *op = ops[data[0] % (sizeof ops / sizeof ops[0])];
    /* a key and an alias to act on, then the input */
    answer(k, "CreateKey", (const uint8_t *)"{}", 2);
    answer(k, op, data + 1, size - 1);
    char *id = malloc(size);
    if (!id)
        fail("out of memory");
    memcpy(id, data + 1, size - 1);
    id[size - 1] = 0;
    rn_kms_use_t u;
    rn_kms_id_t p;
    if (rn_kms_parse_id(id, &p) != RN_KMS_ID_BAD && rn_kms_key_state(k, "000000000000", "us-east-1", id, 0, &u) != 0)
        fail("a KeyId did not resolve");
    free(id);
    rn_kms_destroy(k);
    rn_store_close(st);
    return 0;
}
