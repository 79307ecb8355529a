/* streams.c: `runnel streams ls|create|describe|delete` and `runnel consumers ls`
 * (cli.h, docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/kclient.h"

static const char streams_usage[] =
    "usage: runnel streams ls\n"
    "       runnel streams create NAME [--shards N | --on-demand] [--no-wait]\n"
    "       runnel streams describe NAME [--json]\n"
    "       runnel streams delete NAME [--force]\n" RN_KC_OPTS_USAGE;

static int usage_error(const char *usage)
{
    fputs(usage, stderr);
    return 2;
}

static int streams_ls(rn_kc_t *kc)
{
    json_t *req = json_object(), *names;
    int rc = rn_kc_list_all(kc, "ListStreams", req, "StreamNames", NULL, &names);
    json_decref(req);
    if (rc)
        return rn_kc_report(kc);
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) printf("%s\n", json_string_value(v));
    json_decref(names);
    return 0;
}

/* NAME and an optional flag (*on set when given): 0 or 2. */
static int name_and_flag(int argc, char **argv, const char *flag, const char **name, int *on)
{
    *name = NULL;
    *on = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], flag) == 0)
            *on = 1;
        else if (argv[i][0] != '-' && !*name)
            *name = argv[i];
        else
            return usage_error(streams_usage);
    }
    return *name ? 0 : usage_error(streams_usage);
}

static int summary(rn_kc_t *kc, const char *name, json_t **out)
{
    json_t *req = json_pack("{s:s}", "StreamName", name);
    json_t *res = NULL;
    int rc = rn_kc_call(kc, "DescribeStreamSummary", req, &res);
    json_decref(req);
    *out = NULL;
    if (rc)
        return 1;
    *out = json_incref(json_object_get(res, "StreamDescriptionSummary"));
    json_decref(res);
    return *out ? 0 : 1;
}

static int streams_create(rn_kc_t *kc, int argc, char **argv)
{
    const char *name = NULL;
    long shards = 1;
    int on_demand = 0, wait = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--shards") == 0 && i + 1 < argc)
            shards = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--on-demand") == 0)
            on_demand = 1;
        else if (strcmp(argv[i], "--no-wait") == 0)
            wait = 0;
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else
            return usage_error(streams_usage);
    }
    if (!name || shards <= 0)
        return usage_error(streams_usage);
    json_t *req = on_demand ? json_pack("{s:s,s:{s:s}}", "StreamName", name, "StreamModeDetails", "StreamMode", "ON_DEMAND")
                            : json_pack("{s:s,s:I}", "StreamName", name, "ShardCount", (json_int_t)shards);
    json_t *res = NULL;
    int rc = rn_kc_call(kc, "CreateStream", req, &res);
    json_decref(req);
    json_decref(res);
    if (rc)
        return rn_kc_report(kc);
    /* wait for ACTIVE, as `aws kinesis wait stream-exists` does (at most 10 minutes) */
    for (int64_t until = rn_kc_now_ms() + 600000; wait && rn_kc_now_ms() < until;) {
        json_t *s;
        if (summary(kc, name, &s))
            return rn_kc_report(kc);
        int active = strcmp(json_string_value(json_object_get(s, "StreamStatus")) ?: "", "ACTIVE") == 0;
        json_decref(s);
        if (active)
            break;
        rn_kc_sleep_ms(200);
    }
    printf("%s\n", name);
    return 0;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static int streams_describe(rn_kc_t *kc, int argc, char **argv)
{
    const char *name;
    int as_json;
    if (name_and_flag(argc, argv, "--json", &name, &as_json))
        return 2;
    json_t *s, *shards;
    if (summary(kc, name, &s))
        return rn_kc_report(kc);
    if (rn_kc_list_shards(kc, name, &shards)) {
        json_decref(s);
        return rn_kc_report(kc);
    }
    if (as_json) {
        json_t *all = json_pack("{s:O,s:O}", "StreamDescriptionSummary", s, "Shards", shards);
        json_dumpf(all, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(all);
    } else {
        char created[40];
        rn_kc_iso_time(json_object_get(s, "StreamCreationTimestamp"), created, sizeof created);
        printf("name         %s\narn          %s\nstatus       %s\nmode         %s\ncreated      %s\n"
               "retention    %lld h\nencryption   %s\nconsumers    %lld\nopen shards  %lld\n",
               str(s, "StreamName"), str(s, "StreamARN"), str(s, "StreamStatus"),
               str(json_object_get(s, "StreamModeDetails"), "StreamMode"), created,
               (long long)json_integer_value(json_object_get(s, "RetentionPeriodHours")), str(s, "EncryptionType"),
               (long long)json_integer_value(json_object_get(s, "ConsumerCount")),
               (long long)json_integer_value(json_object_get(s, "OpenShardCount")));
        printf("\n%-22s %-6s %-45s %s\n", "shard", "state", "parents", "hash key range");
        size_t i;
        json_t *sh;
        json_array_foreach(shards, i, sh) {
            char parents[64];
            const char *p = json_string_value(json_object_get(sh, "ParentShardId"));
            const char *a = json_string_value(json_object_get(sh, "AdjacentParentShardId"));
            snprintf(parents, sizeof parents, "%s%s%s", p ? p : "-", a ? " " : "", a ? a : "");
            json_t *range = json_object_get(sh, "HashKeyRange");
            int closed = json_object_get(json_object_get(sh, "SequenceNumberRange"), "EndingSequenceNumber") != NULL;
            printf("%-22s %-6s %-45s %s..%s\n", str(sh, "ShardId"), closed ? "closed" : "open", parents,
                   str(range, "StartingHashKey"), str(range, "EndingHashKey"));
        }
    }
    json_decref(s);
    json_decref(shards);
    return 0;
}

static int streams_delete(rn_kc_t *kc, int argc, char **argv)
{
    const char *name;
    int force;
    if (name_and_flag(argc, argv, "--force", &name, &force))
        return 2;
    json_t *req = json_pack("{s:s,s:b}", "StreamName", name, "EnforceConsumerDeletion", force);
    json_t *res = NULL;
    int rc = rn_kc_call(kc, "DeleteStream", req, &res);
    json_decref(req);
    json_decref(res);
    return rc ? rn_kc_report(kc) : 0;
}

int rn_cli_streams(int argc, char **argv)
{
    rn_kc_t kc;
    int rc = rn_kc_open_args(&kc, &argc, argv);
    if (rc)
        return rc;
    if (argc < 1)
        rc = usage_error(streams_usage);
    else if (strcmp(argv[0], "ls") == 0 && argc == 1)
        rc = streams_ls(&kc);
    else if (strcmp(argv[0], "create") == 0)
        rc = streams_create(&kc, argc - 1, argv + 1);
    else if (strcmp(argv[0], "describe") == 0)
        rc = streams_describe(&kc, argc - 1, argv + 1);
    else if (strcmp(argv[0], "delete") == 0)
        rc = streams_delete(&kc, argc - 1, argv + 1);
    else
        rc = usage_error(streams_usage);
    rn_kc_close(&kc);
    return rc;
}

static const char consumers_usage[] = "usage: runnel consumers ls STREAM\n" RN_KC_OPTS_USAGE;

int rn_cli_consumers(int argc, char **argv)
{
    rn_kc_t kc;
    int rc = rn_kc_open_args(&kc, &argc, argv);
    if (rc)
        return rc;
    if (argc != 2 || strcmp(argv[0], "ls") != 0) {
        rn_kc_close(&kc);
        return usage_error(consumers_usage);
    }
    json_t *s;
    if (summary(&kc, argv[1], &s)) {
        rc = rn_kc_report(&kc);
        rn_kc_close(&kc);
        return rc;
    }
    char arn[2048];
    snprintf(arn, sizeof arn, "%s", str(s, "StreamARN"));
    json_decref(s);
    json_t *req = json_pack("{s:s}", "StreamARN", arn), *list;
    rc = rn_kc_list_all(&kc, "ListStreamConsumers", req, "Consumers", "StreamARN", &list);
    json_decref(req);
    if (rc)
        rc = rn_kc_report(&kc);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        char created[40];
        rn_kc_iso_time(json_object_get(c, "ConsumerCreationTimestamp"), created, sizeof created);
        printf("%s\t%s\t%s\t%s\n", str(c, "ConsumerName"), str(c, "ConsumerStatus"), created, str(c, "ConsumerARN"));
    }
    json_decref(list);
    rn_kc_close(&kc);
    return rc;
}
