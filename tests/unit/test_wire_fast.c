/* test_wire_fast.c: the record operations' fast path (wire/fast.h).
 *
 *  - decoders: on many generated bodies (usual shapes, then every kind of
 *    deviation, then random mutations), whenever a fast decoder accepts a
 *    body the generic decoder accepts it with the same values
 *    (rn_fast_crosscheck); typical bodies do take the fast path, and known
 *    corner cases fall back;
 *  - writers: byte for byte against jansson (strings, timestamps) and
 *    against b64.c / seqnum.c (base64, sequence-number steps). */
#include <stdlib.h>
#include <string.h>

#include "core/seqnum.h"
#include "tap.h"
#include "wire/b64.h"
#include "wire/fast.h"
#include "wire/wire.h"

/* ---- a small deterministic generator ------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t pick(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

/* In a clean body every choice is one the fast path should take. */
static int clean;

/* ---- body builder -------------------------------------------------------------------- */

typedef struct body {
    char *p;
    size_t len, cap;
} body_t;

static void put(body_t *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void puts_(body_t *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Whitespace: mostly none, sometimes JSON's four kinds. */
static void sp(body_t *b)
{
    static const char *const ws[] = {"", "", "", "", " ", "\n", "\t", "\r\n  "};
    puts_(b, ws[pick(8)]);
}

/* A partition key: plain, long, multi-byte, escaped, control, invalid UTF-8. */
static void pk_text(body_t *b)
{
    static const char *const fixed[] = {
        "k", "pk-1", "a b", "/", "é", "€uro", "\xF0\x9D\x84\x9E", "\\\"q", "\\u0000", "\\n", "\x01",
        "\x7F", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "", "\xFF",
    };
    size_t k = clean ? (pick(2) ? 20 : pick(7)) : pick(24);
    if (k < sizeof fixed / sizeof fixed[0]) {
        puts_(b, fixed[k]);
        return;
    }
    if (k == 18 || k == 19) { /* 255..257 units, of 1- or 2-unit characters */
        size_t n = 255 + pick(3);
        for (size_t i = 0; i < n; i++)
            puts_(b, k == 18 ? "x" : (i % 2 ? "y" : "\xF0\x9F\x98\x80"));
        return;
    }
    size_t n = 1 + pick(20);
    for (size_t i = 0; i < n; i++) {
        char c = (char)('a' + pick(26));
        put(b, &c, 1);
    }
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Data: valid base64 of random bytes, or one of the ways to get it wrong. */
static void data_text(body_t *b)
{
    size_t n = pick(8) == 0 ? pick(3) : pick(130);
    uint8_t raw[200];
    char enc[300];
    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)rnd();
    size_t el = rn_b64_encode(raw, n, enc);
    switch (clean ? 99 : pick(12)) {
    case 0: /* non-zero bits after the last significant character */
        if (el && enc[el - 1] == '=')
            enc[el - (enc[el - 2] == '=' ? 3 : 2)] = 'z';
        break;
    case 1: /* a character outside the alphabet */
        if (el)
            enc[pick(el)] = "*-_ \\\"\x01\xC3"[pick(8)];
        break;
    case 2: /* length not a multiple of 4 */
        if (el)
            el--;
        break;
    case 3: /* too many pads */
        if (el >= 4)
            memcpy(enc + el - 3, "===", 3);
        break;
    default:
        break;
    }
    put(b, enc, el);
}

static void decimal_text(body_t *b, size_t max)
{
    size_t k = clean ? 5 + pick(5) : pick(10);
    if (k == 0) {
        puts_(b, "0");
        return;
    }
    if (k == 1) {
        puts_(b, "012");
        return;
    }
    if (k == 2) {
        puts_(b, "340282366920938463463374607431768211456"); /* 2^128: valid pattern */
        return;
    }
    if (k == 3) {
        puts_(b, "12a");
        return;
    }
    size_t n = k == 4 ? max + pick(2) : 1 + pick(max);
    for (size_t i = 0; i < n; i++) {
        char c = (char)((i == 0 ? '1' : '0') + pick(i == 0 ? 9 : 10));
        put(b, &c, 1);
    }
}

static void str_member(body_t *b, const char *name, void (*text)(body_t *))
{
    sp(b);
    puts_(b, "\"");
    puts_(b, name);
    puts_(b, "\"");
    sp(b);
    puts_(b, ":");
    sp(b);
    if (!clean && pick(40) == 0) {
        puts_(b, pick(2) ? "null" : "12");
    } else {
        puts_(b, "\"");
        text(b);
        puts_(b, "\"");
    }
    sp(b);
}

static void stream_text(body_t *b)
{
    static const char *const names[] = {"s", "bench", "a.b_c-d", "bad name", "", "\xC3\xA9"};
    size_t k = clean ? (pick(2) ? pick(3) : 7) : pick(10);
    if (k < 6) {
        puts_(b, names[k]);
        return;
    }
    size_t n = k == 6 ? 128 + pick(2) : 1 + pick(30);
    for (size_t i = 0; i < n; i++)
        puts_(b, "x");
}

static void ehk_text(body_t *b)
{
    decimal_text(b, 39);
}

static void seq_text(body_t *b)
{
    decimal_text(b, 129);
}

static void iter_text(body_t *b)
{
    size_t k = clean ? 3 : pick(6);
    size_t n = k == 0 ? 512 + pick(2) : k == 1 ? 0 : 1 + pick(300);
    for (size_t i = 0; i < n; i++)
        put(b, &b64chars[pick(64)], 1);
    if (k == 2)
        puts_(b, "\xE2\x82\xAC");
}

static void type_text(body_t *b)
{
    static const char *const t[] = {"TRIM_HORIZON", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER",
                                    "AFTER_SEQUENCE_NUMBER", "trim_horizon", "OLDEST"};
    puts_(b, t[pick(clean ? 5 : 7)]);
}

static void shard_text(body_t *b)
{
    static const char *const t[] = {"shardId-000000000000", "shardId-000000000001", "1", "shard 1", ""};
    puts_(b, t[pick(clean ? 3 : 5)]);
}

static void number_member(body_t *b, const char *name)
{
    static const char *const nums[] = {"1",  "10000", "500", "10001", "0",      "-1",  "1.0",
                                       "1e3", "01",   "-0",  "null",  "\"5\"", "true", "1234567890123",
                                       "99999999999999999999", "1506440188", "2000000000"};
    sp(b);
    puts_(b, "\"");
    puts_(b, name);
    puts_(b, "\":");
    sp(b);
    puts_(b, nums[clean ? pick(3) : pick(sizeof nums / sizeof nums[0])]);
    sp(b);
}

/* Occasionally an unknown, duplicated or model-only member. */
static void extra_member(body_t *b, int *first)
{
    static const char *const extra[] = {"\"Unknown\":1", "\"DryRun\":true", "\"StreamARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/s\"",
                                        "\"StreamId\":null", "\"StreamName\":\"dup\""};
    if (clean || pick(25))
        return;
    if (!*first)
        puts_(b, ",");
    *first = 0;
    puts_(b, extra[pick(5)]);
}

static void record(body_t *b)
{
    sp(b);
    puts_(b, "{");
    int order = (int)pick(2), first = 1;
    for (int m = 0; m < 3; m++) {
        int which = order ? 2 - m : m;
        if (which == 1 && pick(3))
            continue; /* ExplicitHashKey: usually absent */
        if (which == 2 && !clean && pick(30) == 0)
            continue; /* PartitionKey: rarely absent */
        if (!first)
            puts_(b, ",");
        first = 0;
        if (which == 0)
            str_member(b, "Data", data_text);
        else if (which == 1)
            str_member(b, "ExplicitHashKey", ehk_text);
        else
            str_member(b, "PartitionKey", pk_text);
    }
    extra_member(b, &first);
    puts_(b, "}");
    sp(b);
}

static void gen_body(rn_op_t op, body_t *b)
{
    b->len = 0;
    clean = (int)pick(2);
    int first = 1;
    sp(b);
    puts_(b, "{");
    switch (op) {
    case RN_OP_PutRecords: {
        size_t n = !clean && pick(20) == 0 ? (pick(2) ? 0 : 500 + pick(2)) : 1 + pick(12);
        int named = (int)pick(2);
        if (named) {
            str_member(b, "StreamName", stream_text);
            puts_(b, ",");
        }
        puts_(b, "\"Records\":");
        sp(b);
        puts_(b, "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                puts_(b, ",");
            if (!clean && pick(200) == 0)
                puts_(b, "null");
            else
                record(b);
        }
        puts_(b, "]");
        first = 0;
        if (clean ? !named : pick(10) != 0) { /* unclean: sometimes none, sometimes twice */
            puts_(b, ",");
            str_member(b, "StreamName", stream_text);
        }
        break;
    }
    case RN_OP_PutRecord:
        str_member(b, "StreamName", stream_text);
        puts_(b, ",");
        str_member(b, "Data", data_text);
        if (clean || pick(20)) {
            puts_(b, ",");
            str_member(b, "PartitionKey", pk_text);
        }
        if (pick(4) == 0) {
            puts_(b, ",");
            str_member(b, "ExplicitHashKey", ehk_text);
        }
        if (pick(4) == 0) {
            puts_(b, ",");
            str_member(b, "SequenceNumberForOrdering", seq_text);
        }
        first = 0;
        break;
    case RN_OP_GetRecords:
        str_member(b, "ShardIterator", iter_text);
        if (pick(2)) {
            puts_(b, ",");
            number_member(b, "Limit");
        }
        first = 0;
        break;
    default:
        str_member(b, "StreamName", stream_text);
        puts_(b, ",");
        str_member(b, "ShardId", shard_text);
        puts_(b, ",");
        str_member(b, "ShardIteratorType", type_text);
        if (pick(3) == 0) {
            puts_(b, ",");
            str_member(b, "StartingSequenceNumber", seq_text);
        }
        if (pick(3) == 0) {
            puts_(b, ",");
            number_member(b, "Timestamp");
        }
        first = 0;
        break;
    }
    extra_member(b, &first);
    puts_(b, "}");
    sp(b);
    if (!clean && pick(60) == 0)
        puts_(b, pick(2) ? "x" : "{}");
}

/* Flip, drop or insert a few bytes. */
static void mutate(body_t *b)
{
    static const char interesting[] = "{}[]\",:\\ 0-.eE\x01\x80\xC3";
    size_t k = 1 + pick(3);
    for (size_t i = 0; i < k && b->len; i++) {
        size_t at = pick(b->len);
        switch (pick(3)) {
        case 0:
            b->p[at] = interesting[pick(sizeof interesting - 1)];
            break;
        case 1:
            memmove(b->p + at, b->p + at + 1, b->len - at - 1);
            b->len--;
            break;
        default:
            put(b, " ", 1);
            memmove(b->p + at + 1, b->p + at, b->len - at - 1);
            b->p[at] = interesting[pick(sizeof interesting - 1)];
            break;
        }
    }
}

/* ---- decoders -------------------------------------------------------------------------- */

static const rn_op_t ops[] = {RN_OP_PutRecords, RN_OP_PutRecord, RN_OP_GetRecords, RN_OP_GetShardIterator};

static void test_generated(void)
{
    body_t b = {0};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        int fast = 0, fallback = 0, bad = 0;
        for (int i = 0; i < 20000; i++) {
            gen_body(ops[o], &b);
            if (i % 3 == 2)
                mutate(&b);
            int r = rn_fast_crosscheck(ops[o], (const uint8_t *)b.p, b.len);
            if (r < 0 && bad++ < 5)
                fprintf(stderr, "disagreement on %s: %.*s\n", rn_op_name(ops[o]), (int)(b.len > 600 ? 600 : b.len), b.p);
            fast += r == 1;
            fallback += r == 0;
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(fast > 1000);    /* not vacuous: the usual bodies take the fast path */
        CHECK(fallback > 1000); /* and the unusual ones do not */
        printf("%s: %d fast, %d fallback\n", rn_op_name(ops[o]), fast, fallback);
    }
    free(b.p);
}

#define FAST(op, s) CHECK_EQ_INT(rn_fast_crosscheck(op, (const uint8_t *)(s), strlen(s)), 1)
#define FALLS(op, s) CHECK_EQ_INT(rn_fast_crosscheck(op, (const uint8_t *)(s), strlen(s)), 0)

static void test_fixed(void)
{
    FAST(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"k\"}]}");
    FAST(RN_OP_PutRecords, " {\n\"Records\" : [ {\"PartitionKey\":\"\xF0\x9D\x84\x9E\",\"Data\":\"\",\"ExplicitHashKey\":\"0\"} ] ,"
                           "\"StreamName\":\"s\"}\r\n");
    FAST(RN_OP_PutRecord, "{\"StreamName\":\"s\",\"Data\":\"aGk=\",\"PartitionKey\":\"k\",\"SequenceNumberForOrdering\":\"0\"}");
    FAST(RN_OP_GetRecords, "{\"ShardIterator\":\"abc\",\"Limit\":10000}");
    FAST(RN_OP_GetShardIterator, "{\"StreamName\":\"s\",\"ShardId\":\"1\",\"ShardIteratorType\":\"AT_TIMESTAMP\",\"Timestamp\":1506440188}");
    /* Anything unusual falls back, so the generic path words the answer. */
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[]}");
    FALLS(RN_OP_PutRecords, "{\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"k\"}]}"); /* no StreamName */
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"StreamName\":\"t\",\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"k\"}]}");
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"k\\n\"}]}");
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":null}]}");
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGl=\",\"PartitionKey\":\"k\"}]}");
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"\"}]}");
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"k\",\"ExplicitHashKey\":\"01\"}]}");
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"k\"}]}x");
    FALLS(RN_OP_PutRecords, "{\"StreamName\":\"s\",\"DryRun\":false,\"Records\":[{\"Data\":\"aGk=\",\"PartitionKey\":\"k\"}]}");
    FALLS(RN_OP_PutRecord, "{\"StreamName\":\"s\",\"Data\":\"aGk=\"}"); /* no PartitionKey: the handler's message */
    FALLS(RN_OP_GetRecords, "{\"ShardIterator\":\"abc\",\"Limit\":1.0}");
    FALLS(RN_OP_GetRecords, "{\"ShardIterator\":\"abc\",\"Limit\":10001}");
    FALLS(RN_OP_GetRecords, "{\"ShardIterator\":\"a\\u0062c\"}");
    FALLS(RN_OP_GetShardIterator, "{\"StreamName\":\"s\",\"ShardId\":\"1\",\"ShardIteratorType\":\"AT_TIMESTAMP\",\"Timestamp\":1.5}");
    FALLS(RN_OP_GetShardIterator, "{\"StreamARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/s\",\"ShardId\":\"1\",\"ShardIteratorType\":\"LATEST\"}");

    /* 500 records take the fast path; 501 do not. */
    body_t b = {0};
    for (int n = 500; n <= 501; n++) {
        b.len = 0;
        puts_(&b, "{\"StreamName\":\"s\",\"Records\":[");
        for (int i = 0; i < n; i++)
            puts_(&b, i ? ",{\"Data\":\"AAEC\",\"PartitionKey\":\"k\"}" : "{\"Data\":\"AAEC\",\"PartitionKey\":\"k\"}");
        puts_(&b, "]}");
        CHECK_EQ_INT(rn_fast_crosscheck(RN_OP_PutRecords, (const uint8_t *)b.p, b.len), n == 500 ? 1 : 0);
    }
    free(b.p);
}

/* ---- base64 --------------------------------------------------------------------------- */

static void test_b64(void)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/==*\xC3\x01";
    uint8_t raw[300], o1[300], o2[300];
    char e1[420], e2[420];
    for (int iter = 0; iter < 50000; iter++) {
        size_t n = pick(260);
        for (size_t i = 0; i < n; i++)
            raw[i] = (uint8_t)rnd();
        size_t l1 = rn_b64_encode(raw, n, e1), l2 = rn_fast_b64_encode(raw, n, e2);
        CHECK(l1 == l2 && memcmp(e1, e2, l1) == 0);
        /* decoding: valid text, then a random tweak of it, then noise */
        char t[420];
        size_t tl = l1;
        memcpy(t, e1, l1);
        if (iter % 3 == 1 && tl)
            t[pick(tl)] = alpha[pick(sizeof alpha - 1)];
        if (iter % 3 == 2) {
            tl = pick(16);
            for (size_t i = 0; i < tl; i++)
                t[i] = alpha[pick(sizeof alpha - 1)];
        }
        size_t d1 = 0, d2 = 0;
        int r1 = rn_b64_decode(t, tl, o1, &d1), r2 = rn_fast_b64_decode(t, tl, o2, &d2);
        CHECK_EQ_INT(r1, r2);
        if (r1 == 0)
            CHECK(d1 == d2 && memcmp(o1, o2, d1) == 0);
    }
}

/* ---- sequence numbers ------------------------------------------------------------------- */

static void test_seq_step(void)
{
    for (int iter = 0; iter < 20000; iter++) {
        rn_seqnum_t sn = {.shard_created_s = rnd() & ((1ULL << 36) - 1),
                          .shard_index = (uint32_t)rnd(),
                          .counter = iter % 4 == 0 ? RN_SEQNUM_COUNTER_MAX - 1 - pick(5) : rnd() >> (1 + pick(63)),
                          .arrival_s = rnd() & ((1ULL << 36) - 1)};
        char a[64], b[64];
        rn_seqnum_format(&sn, a);
        for (int k = 0; k < 3 && sn.counter < RN_SEQNUM_COUNTER_MAX; k++) {
            rn_fast_seq_step(a);
            sn.counter++;
            rn_seqnum_format(&sn, b);
            CHECK(memcmp(a, b, RN_SEQNUM_LEN) == 0);
        }
    }
}

/* ---- JSON text: against jansson ------------------------------------------------------------ */

static void dump_compare(json_t *v, const char *ours, size_t ours_len)
{
    json_t *arr = json_pack("[o]", v);
    char *j = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(13));
    CHECK(j != NULL);
    if (j) {
        size_t jl = strlen(j) - 2; /* inside the [ ] */
        int same = jl == ours_len && memcmp(j + 1, ours, jl) == 0;
        CHECK(same);
        if (!same)
            fprintf(stderr, "  jansson %s, ours %.*s\n", j, (int)ours_len, ours);
    }
    free(j);
    json_decref(arr);
}

static void test_timestamps(void)
{
    static const int64_t fixed[] = {0,           1,           999,         1000,          1001,          123456,
                                    999999999999, 1000000000000, 1506440188749, 1506440188750, 1506440188700,
                                    1506440188000, 9999999999999, 10000000000000, 253402300799999, -1, -1506440188749};
    char w[RN_FAST_TIMESTAMP_MAX];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] + 20000; i++) {
        int64_t ms = i < sizeof fixed / sizeof fixed[0] ? fixed[i] : 1000000000000LL + (int64_t)(rnd() % 9000000000000ULL);
        if (i % 7 == 0 && i >= sizeof fixed / sizeof fixed[0])
            ms -= ms % 10 * (int64_t)pick(2);
        size_t n = (size_t)(rn_fast_put_timestamp(w, ms) - w);
        dump_compare(json_real((double)ms / 1000.0), w, n);
    }
}

static void test_strings(void)
{
    char w[RN_FAST_JSON_STRING_MAX(64)];
    uint8_t s[64];
    /* every byte alone, then random valid UTF-8 mixes */
    for (int c = 0; c < 0x80; c++) {
        s[0] = (uint8_t)c;
        size_t n = (size_t)(rn_fast_put_json_string(w, s, 1) - w);
        dump_compare(json_stringn((const char *)s, 1), w, n);
    }
    static const char *const pieces[] = {"a", "\"", "\\", "/", "\x01", "\x1f", "\x7f", "\n", "\xC3\xA9", "\xE2\x82\xAC",
                                         "\xF0\x9D\x84\x9E", " ", "\0"};
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = 0, k = pick(12);
        for (size_t i = 0; i < k; i++) {
            size_t p = pick(13);
            size_t pl = p == 12 ? 1 : strlen(pieces[p]);
            memcpy(s + n, pieces[p], pl);
            n += pl;
        }
        size_t wl = (size_t)(rn_fast_put_json_string(w, s, n) - w);
        dump_compare(json_stringn((const char *)s, n), w, wl);
    }
    /* invalid UTF-8 (jansson refuses to dump it): U+FFFD, still valid JSON */
    size_t wl = (size_t)(rn_fast_put_json_string(w, (const uint8_t *)"a\xFF\xC3", 3) - w);
    CHECK(wl == 9 && memcmp(w, "\"a\xEF\xBF\xBD\xEF\xBF\xBD\"", 9) == 0);
}

static void test_ints(void)
{
    static const int64_t v[] = {0, 1, -1, 9, 10, 500, 123456789, INT64_MAX, INT64_MIN};
    char w[32];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = (size_t)(rn_fast_put_int(w, v[i]) - w);
        dump_compare(json_integer(v[i]), w, n);
    }
}

int main(void)
{
    test_fixed();
    test_generated();
    test_b64();
    test_seq_step();
    test_timestamps();
    test_strings();
    test_ints();
    return rn_test_done("test_wire_fast");
}
