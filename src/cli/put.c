/* put.c: `runnel put STREAM [--key K] DATA|-` (cli.h, docs/cli.md). DATA is one
 * record (PutRecord); `-` reads standard input, one record per line (the line
 * without its "\n" or "\r\n"), sent with PutRecords in batches of at most 500
 * records and 5 MiB, the entries a batch failed retried with backoff (50 ms
 * doubling to 2 s, jittered; 10 tries), so a retried entry lands after the
 * entries sent after it. Without --key each record gets a random partition key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/cli.h"
#include "cli/kclient.h"

#define BATCH_RECORDS 500
#define BATCH_BYTES ((size_t)5 << 20)
#define ENTRY_TRIES 10

static const char put_usage[] = "usage: runnel put STREAM [--key K] DATA|-\n" RN_KC_OPTS_USAGE;

static void random_key(char out[33])
{
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (uint8_t)random();
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static json_t *entry(const char *data, size_t len, const char *key)
{
    char rk[33];
    if (!key) {
        random_key(rk);
        key = rk;
    }
    return json_pack("{s:o,s:s}", "Data", rn_kc_blob((const uint8_t *)data, len), "PartitionKey", key);
}

/* Put entries (an array, consumed), retrying the failed ones. 0, or 1 after
 * reporting what could not be put. */
static int put_batch(rn_kc_t *kc, const char *stream, json_t *entries, long *put)
{
    int rc = 0;
    for (int n = 0; json_array_size(entries) > 0; n++) {
        json_t *req = json_pack("{s:s,s:O}", "StreamName", stream, "Records", entries);
        json_t *res = NULL;
        rc = rn_kc_call(kc, "PutRecords", req, &res);
        json_decref(req);
        if (rc) {
            rn_kc_report(kc);
            break;
        }
        json_t *failed = json_array();
        json_t *results = json_object_get(res, "Records"), *first_err = NULL;
        size_t i;
        json_t *r;
        json_array_foreach(results, i, r) {
            if (json_object_get(r, "ErrorCode")) {
                json_array_append(failed, json_array_get(entries, i));
                if (!first_err)
                    first_err = r;
            } else {
                (*put)++;
            }
        }
        if (json_array_size(failed) > 0 && n + 1 >= ENTRY_TRIES) {
            fprintf(stderr, "runnel: %zu records not put after %d tries: %s: %s\n", json_array_size(failed),
                    ENTRY_TRIES, json_string_value(json_object_get(first_err, "ErrorCode")),
                    json_string_value(json_object_get(first_err, "ErrorMessage")));
            rc = 1;
            json_decref(failed);
            json_decref(res);
            break;
        }
        json_decref(res);
        json_decref(entries);
        entries = failed;
        if (json_array_size(entries) > 0)
            rn_kc_sleep_ms(rn_kc_backoff_ms(n, 50, 2000));
    }
    json_decref(entries);
    return rc;
}

static int put_lines(rn_kc_t *kc, const char *stream, const char *key)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    json_t *entries = json_array();
    size_t bytes = 0;
    long put = 0;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        size_t cost = len + (key ? strlen(key) : 32);
        if (json_array_size(entries) == BATCH_RECORDS || (bytes + cost > BATCH_BYTES && json_array_size(entries))) {
            rc = put_batch(kc, stream, entries, &put);
            entries = json_array();
            bytes = 0;
        }
        json_array_append_new(entries, entry(line, len, key));
        bytes += cost;
    }
    if (!rc && json_array_size(entries))
        rc = put_batch(kc, stream, entries, &put);
    else
        json_decref(entries);
    free(line);
    fprintf(stderr, "runnel: put %ld records\n", put);
    return rc;
}

int rn_cli_put(int argc, char **argv)
{
    rn_kc_t kc;
    int rc = rn_kc_open_args(&kc, &argc, argv);
    if (rc)
        return rc;
    const char *stream = NULL, *key = NULL, *data = NULL;
    for (int i = 0; i < argc && !rc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (!stream && argv[i][0] != '-')
            stream = argv[i];
        else if (stream && !data && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            data = argv[i];
        else
            rc = 2;
    }
    if (rc || !stream || !data) {
        rn_kc_close(&kc);
        fputs(put_usage, stderr);
        return 2;
    }
    if (strcmp(data, "-") == 0) {
        rc = put_lines(&kc, stream, key);
    } else {
        json_t *req = entry(data, strlen(data), key), *res = NULL;
        json_object_set_new(req, "StreamName", json_string(stream));
        rc = rn_kc_call(&kc, "PutRecord", req, &res);
        json_decref(req);
        if (rc)
            rc = rn_kc_report(&kc);
        else
            printf("%s\t%s\n", json_string_value(json_object_get(res, "ShardId")),
                   json_string_value(json_object_get(res, "SequenceNumber")));
        json_decref(res);
    }
    rn_kc_close(&kc);
    return rc;
}
