/* decodecost: how long rn_wire_decode holds the event loop per MiB of body,
 * for the worst-case body of each class (issue 9). Prints ms/MiB, median of
 * RUNS runs, for JSON and CBOR. Usage: decodecost [MiB] [runs]
 * (defaults 16 and 5). Built by CMake as build/decodecost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/wire.h"

static size_t MIB = 16u << 20;
static int RUNS = 5;

typedef struct { char *p; size_t n, cap; } sb_t;
static void put(sb_t *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void puts_(sb_t *b, const char *s) { put(b, s, strlen(s)); }
static void fill(sb_t *b, char c, size_t n) { for (size_t i = 0; i < n; i++) put(b, &c, 1); }

/* {"<pre>": ... "<member>":"aaaa..." <post>} with a string of n bytes */
static sb_t json_huge(const char *pre, const char *member, size_t n, const char *post)
{
    sb_t b = {0};
    puts_(&b, "{");
    puts_(&b, pre);
    puts_(&b, "\"");
    puts_(&b, member);
    puts_(&b, "\":\"");
    fill(&b, 'a', n);
    puts_(&b, "\"");
    puts_(&b, post);
    puts_(&b, "}");
    return b;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(const char *name, rn_op_t op, rn_proto_t proto, sb_t b)
{
    double t[64];
    static rn_error_t err;
    const char *res = "ok";
    for (int i = 0; i < RUNS; i++) {
        json_t *out = NULL;
        double t0 = now_ms();
        int rc = rn_wire_decode(op, proto, (const uint8_t *)b.p, b.n, &out, &err);
        t[i] = now_ms() - t0;
        if (rc == 0)
            json_decref(out);
        res = rc == 0 ? "ok" : rn_aws_error_type(err.code);
    }
    qsort(t, (size_t)RUNS, sizeof t[0], cmpd);
    double mib = (double)b.n / (1 << 20);
    printf("%-44s %-4s %8.2f MiB %9.2f ms %8.2f ms/MiB  %s\n", name, proto ? "CBOR" : "JSON", mib,
           t[RUNS / 2], t[RUNS / 2] / mib, res);
    free(b.p);
}

/* CBOR heads */
static void chead(sb_t *b, int major, size_t n)
{
    unsigned char h[9];
    if (n < 24) { h[0] = (unsigned char)(major << 5 | n); put(b, h, 1); return; }
    h[0] = (unsigned char)(major << 5 | 27);
    for (int i = 0; i < 8; i++) h[1 + i] = (unsigned char)(n >> (56 - 8 * i));
    put(b, h, 9);
}
static void ctext(sb_t *b, const char *s) { chead(b, 3, strlen(s)); puts_(b, s); }

int main(int argc, char **argv)
{
    if (argc > 1) MIB = (size_t)(atof(argv[1]) * (1 << 20));
    if (argc > 2) RUNS = atoi(argv[2]);
    if (RUNS < 1 || RUNS > 64) RUNS = 5;
    size_t n = MIB;
    printf("%-44s %-4s %12s %12s %15s  %s\n", "case", "", "body", "median", "cost", "answer");
    run("CreateStream huge StreamName", RN_OP_CreateStream, RN_PROTO_JSON, json_huge("", "StreamName", n, ",\"ShardCount\":1"));
    run("PutRecord huge PartitionKey", RN_OP_PutRecord, RN_PROTO_JSON, json_huge("\"StreamName\":\"s\",\"Data\":\"AAAA\",", "PartitionKey", n, ""));
    run("ListStreams huge NextToken", RN_OP_ListStreams, RN_PROTO_JSON, json_huge("", "NextToken", n, ""));
    run("ListShards huge ExclusiveStartShardId", RN_OP_ListShards, RN_PROTO_JSON, json_huge("\"StreamName\":\"s\",", "ExclusiveStartShardId", n, ""));
    run("PutResourcePolicy huge Policy", RN_OP_PutResourcePolicy, RN_PROTO_JSON, json_huge("\"ResourceARN\":\"arn:aws:kinesis:us-east-1:000000000000:stream/s\",", "Policy", n, ""));
    run("AddTagsToStream huge tag value", RN_OP_AddTagsToStream, RN_PROTO_JSON, json_huge("\"StreamName\":\"s\",\"Tags\":{", "k", n, "}"));
    run("PutRecord huge Data (base64)", RN_OP_PutRecord, RN_PROTO_JSON, json_huge("\"StreamName\":\"s\",\"PartitionKey\":\"k\",", "Data", n / 4 * 4, ""));
    run("unknown member, 1 MiB (foreign bound)", RN_OP_CreateStream, RN_PROTO_JSON, json_huge("\"StreamName\":\"s\",\"ShardCount\":1,", "Unknown", (1 << 20) - 64, ""));
    {   /* the scan's bound: 2000 records, each near its limits */
        sb_t b = {0};
        puts_(&b, "{\"StreamName\":\"s\",\"Records\":[");
        size_t per = n / 2000;
        for (int i = 0; i < 2000; i++) {
            puts_(&b, i ? ",{\"PartitionKey\":\"" : "{\"PartitionKey\":\"");
            fill(&b, 'k', 256);
            puts_(&b, "\",\"Data\":\"");
            fill(&b, 'A', per > 400 ? (per - 300) / 4 * 4 : 4);
            puts_(&b, "\"}");
        }
        puts_(&b, "]}");
        run("PutRecords 2000 records, big Data", RN_OP_PutRecords, RN_PROTO_JSON, b);
    }
    {   /* many small records: as many values as the body bound allows */
        sb_t b = {0};
        puts_(&b, "{\"StreamName\":\"s\",\"Records\":[");
        for (int i = 0; i < 2000; i++)
            puts_(&b, i ? ",{\"PartitionKey\":\"k\",\"Data\":\"AAAA\"}" : "{\"PartitionKey\":\"k\",\"Data\":\"AAAA\"}");
        puts_(&b, "]}");
        run("PutRecords 2000 small records", RN_OP_PutRecords, RN_PROTO_JSON, b);
    }
    {   /* tag map at its bound */
        sb_t b = {0};
        char kv[64];
        puts_(&b, "{\"StreamName\":\"s\",\"Tags\":{");
        for (int i = 0; i < 1000; i++) {
            snprintf(kv, sizeof kv, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i);
            puts_(&b, kv);
        }
        puts_(&b, "}}");
        run("AddTagsToStream 1000 small tags", RN_OP_AddTagsToStream, RN_PROTO_JSON, b);
    }
    {   /* escapes: a StreamName of \u0041 */
        sb_t b = {0};
        puts_(&b, "{\"ShardCount\":1,\"StreamName\":\"");
        for (size_t i = 0; i < n / 6; i++) puts_(&b, "\\u0041");
        puts_(&b, "\"}");
        run("CreateStream StreamName of \\u0041 escapes", RN_OP_CreateStream, RN_PROTO_JSON, b);
    }
    {
        sb_t b = {0};
        chead(&b, 5, 2);
        ctext(&b, "ShardCount"); chead(&b, 0, 1);
        ctext(&b, "StreamName"); chead(&b, 3, n); fill(&b, 'a', n);
        run("CreateStream huge StreamName", RN_OP_CreateStream, RN_PROTO_CBOR, b);
    }
    {
        sb_t b = {0};
        chead(&b, 5, 3);
        ctext(&b, "StreamName"); ctext(&b, "s");
        ctext(&b, "PartitionKey"); ctext(&b, "k");
        ctext(&b, "Data"); chead(&b, 2, n); fill(&b, 'x', n);
        run("PutRecord huge Data (bytes)", RN_OP_PutRecord, RN_PROTO_CBOR, b);
    }
    return 0;
}
