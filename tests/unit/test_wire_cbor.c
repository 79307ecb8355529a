/* test_wire_cbor.c: the CBOR side of the wire (wire/cbor.c, KINESIS_CONTRACT
 * §2.4). Requests: every major type, definite and indefinite lengths, tag 1
 * as milliseconds (and floats as seconds), byte strings as blobs, then the
 * same validation as JSON; malformed bodies (every truncation, reserved
 * encodings, lying lengths, deep nesting, bad keys, bad UTF-8) and wrong
 * major types with their exact errors. Answers: known byte vectors for
 * blobs, timestamps, integers, booleans, maps and errors. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wire/cbor.h"
#include "wire/scan.h"
#include "wire/shapes_int.h"
#include "wire/wire.h"

static uint8_t B[1 << 16];
static size_t BL;
static rn_error_t e;

static void reset(void)
{
    BL = 0;
}

/* Append bytes written as hex ("bf 61 41"); spaces are ignored. */
static void hex(const char *h)
{
    while (*h) {
        if (*h == ' ') {
            h++;
            continue;
        }
        unsigned v;
        sscanf(h, "%2x", &v);
        B[BL++] = (uint8_t)v;
        h += 2;
    }
}

/* Append a definite text string (short: under 24 bytes, or one length byte). */
static void txt(const char *s)
{
    size_t n = strlen(s);
    if (n < 24) {
        B[BL++] = (uint8_t)(0x60 | n);
    } else {
        B[BL++] = 0x78;
        B[BL++] = (uint8_t)n;
    }
    memcpy(B + BL, s, n);
    BL += n;
}

static json_t *dec(rn_op_t op)
{
    json_t *out = NULL;
    rn_error_clear(&e);
    if (rn_wire_decode(op, RN_PROTO_CBOR, B, BL, &out, &e) != 0)
        return NULL;
    return out;
}

/* The hex of a buffer, for comparisons. */
static const char *tohex(const rn_buf_t *b)
{
    static char s[8192];
    size_t n = 0;
    for (size_t i = 0; i < b->len && n + 3 < sizeof s; i++)
        n += (size_t)snprintf(s + n, sizeof s - n, "%02x", b->data[i]);
    s[n] = 0;
    return s;
}

#define EXPECT_BARE(op)                                                        \
    do {                                                                       \
        json_t *_t = dec(op);                                                  \
        CHECK(_t == NULL);                                                     \
        json_decref(_t);                                                       \
        CHECK_EQ_STR(rn_aws_error_type(e.code), "SerializationException");    \
        CHECK_EQ_INT(e.has_message, 0);                                        \
    } while (0)

#define EXPECT_ERR(op, type, msg)                                              \
    do {                                                                       \
        json_t *_t = dec(op);                                                  \
        CHECK(_t == NULL);                                                     \
        json_decref(_t);                                                       \
        CHECK_EQ_STR(rn_aws_error_type(e.code), type);                         \
        CHECK_EQ_STR(e.has_message ? e.message : "", msg);                     \
    } while (0)

static void test_decode_types(void)
{
    /* PutRecord as the Java SDK sends it: an indefinite map, Data a byte string */
    reset();
    hex("bf");
    txt("StreamName");
    txt("s");
    txt("Data");
    hex("43 010203");
    txt("PartitionKey");
    txt("k");
    hex("ff");
    json_t *t = dec(RN_OP_PutRecord);
    CHECK(t != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(t, "Data")), "AQID");
    CHECK_EQ_STR(json_string_value(json_object_get(t, "StreamName")), "s");
    json_decref(t);

    /* definite map; indefinite text and byte strings made of chunks; an
     * empty blob; an unknown member of every kind, ignored */
    reset();
    hex("a4");
    txt("StreamName");
    hex("7f 62 6162 61 63 ff"); /* "abc" */
    txt("Data");
    hex("5f 41 00 42 0102 40 ff"); /* 00 01 02 */
    txt("PartitionKey");
    hex("60");
    txt("Unknown");
    hex("9f 01 38 63 f5 f4 f6 f7 c2 41 00 fa 3fc00000 ff");
    t = dec(RN_OP_PutRecord);
    CHECK(t == NULL); /* empty PartitionKey: the model's length rule */
    CHECK_EQ_STR(e.message, "1 validation error detected: Value '' at 'partitionKey' failed to satisfy "
                            "constraint: Member must have length greater than or equal to 1");
    reset();
    hex("a4");
    txt("StreamName");
    hex("7f 62 6162 61 63 ff");
    txt("Data");
    hex("5f 41 00 42 0102 40 ff");
    txt("PartitionKey");
    hex("7f ff"); /* indefinite but empty: still "" */
    txt("Unknown");
    hex("9f 01 38 63 f5 f4 f6 f7 c2 41 00 fa 3fc00000 ff");
    t = dec(RN_OP_PutRecord);
    CHECK(t == NULL);
    reset();
    hex("a3");
    txt("StreamName");
    hex("7f 62 6162 61 63 ff");
    txt("Data");
    hex("5f 41 00 42 0102 40 ff");
    txt("Unknown");
    hex("9f 01 38 63 f5 f4 f6 f7 c2 41 00 fa 3fc00000 bf 61 61 80 ff ff");
    t = dec(RN_OP_PutRecord);
    CHECK(t != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(t, "StreamName")), "abc");
    CHECK_EQ_STR(json_string_value(json_object_get(t, "Data")), "AAEC");
    json_decref(t);

    /* integers: every head size; floats to integer members are floored */
    const char *limits[] = {"0a", "18 0a", "19 000a", "1a 0000000a", "1b 000000000000000a",
                            "f9 4940" /* 10.5 half */, "fa 41280000" /* 10.5 */,
                            "fb 4025000000000000" /* 10.5 */};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        reset();
        hex("bf");
        txt("Limit");
        hex(limits[i]);
        hex("ff");
        t = dec(RN_OP_ListStreams);
        CHECK(t != NULL);
        CHECK_EQ_INT(json_integer_value(json_object_get(t, "Limit")), 10);
        json_decref(t);
    }
    /* negative integers and validation, as for JSON */
    reset();
    hex("bf");
    txt("Limit");
    hex("20"); /* -1 */
    hex("ff");
    EXPECT_ERR(RN_OP_ListStreams, "ValidationException",
               "1 validation error detected: Value '-1' at 'limit' failed to satisfy constraint: Member must "
               "have value greater than or equal to 1");
    /* beyond int64: clamped like a big JSON number */
    reset();
    hex("bf");
    txt("Limit");
    hex("1b ffffffffffffffff ff");
    EXPECT_ERR(RN_OP_ListStreams, "ValidationException",
               "1 validation error detected: Value '2147483647' at 'limit' failed to satisfy constraint: "
               "Member must have value less than or equal to 10000");
    /* booleans and null (absent) */
    reset();
    hex("bf");
    txt("StreamName");
    txt("s");
    txt("EnforceConsumerDeletion");
    hex("f5");
    txt("StreamARN");
    hex("f6 ff");
    t = dec(RN_OP_DeleteStream);
    CHECK(t != NULL && json_is_true(json_object_get(t, "EnforceConsumerDeletion")));
    json_decref(t);

    /* tag 1: integer milliseconds (the contract's example), float seconds,
     * and an untagged integer taken as milliseconds */
    const char *stamps[] = {"c1 1b 000001a013accc38", "c1 fb 41daa100d1ad9168", "1b 000001a013accc38"};
    for (size_t i = 0; i < 3; i++) {
        reset();
        hex("bf");
        txt("StreamName");
        txt("s");
        txt("ShardId");
        txt("shardId-000000000000");
        txt("ShardIteratorType");
        txt("AT_TIMESTAMP");
        txt("Timestamp");
        hex(stamps[i]);
        hex("ff");
        t = dec(RN_OP_GetShardIterator);
        CHECK(t != NULL);
        double ts = json_number_value(json_object_get(t, "Timestamp"));
        CHECK(ts > 1787036486.711 && ts < 1787036486.713);
        json_decref(t);
    }

    /* PutRecords: indefinite array of maps, blobs inside */
    reset();
    hex("bf");
    txt("StreamName");
    txt("s");
    txt("Records");
    hex("9f bf");
    txt("Data");
    hex("41 61");
    txt("PartitionKey");
    txt("a");
    hex("ff a2");
    txt("Data");
    hex("40");
    txt("PartitionKey");
    txt("b");
    hex("ff ff");
    t = dec(RN_OP_PutRecords);
    CHECK(t != NULL);
    json_t *r = json_object_get(t, "Records");
    CHECK_EQ_INT(json_array_size(r), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(r, 0), "Data")), "YQ==");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(r, 1), "Data")), "");
    json_decref(t);

    /* a map member (Tags) with text values; an embedded NUL in a value */
    reset();
    hex("bf");
    txt("StreamName");
    txt("s");
    txt("Tags");
    hex("a1 61 6b 63 610062 ff");
    t = dec(RN_OP_AddTagsToStream);
    CHECK(t != NULL);
    CHECK_EQ_INT(json_string_length(json_object_get(json_object_get(t, "Tags"), "k")), 3);
    json_decref(t);
}

static void test_decode_errors(void)
{
    /* wrong major types: coercion messages as for JSON */
    reset();
    hex("bf");
    txt("StreamName");
    hex("41 61 ff");
    EXPECT_ERR(RN_OP_DescribeStream, "SerializationException",
               "class java.nio.HeapByteBuffer can not be converted to an String");
    reset();
    hex("bf");
    txt("Limit");
    txt("10");
    hex("ff");
    EXPECT_ERR(RN_OP_ListStreams, "SerializationException",
               "class java.lang.String can not be converted to an Integer");
    reset();
    hex("bf");
    txt("StreamName");
    txt("s");
    txt("ShardFilter");
    hex("41 00 ff");
    EXPECT_ERR(RN_OP_ListShards, "SerializationException", "Expected null");
    reset();
    hex("bf");
    txt("StreamName");
    txt("s");
    txt("Records");
    hex("41 00 ff");
    EXPECT_ERR(RN_OP_PutRecords, "SerializationException", "Expected list or null");
    reset();
    hex("bf");
    txt("StreamName");
    hex("a0 ff");
    EXPECT_ERR(RN_OP_DescribeStream, "SerializationException",
               "Start of structure or map found where not expected.");
    reset();
    hex("bf");
    txt("StreamName");
    hex("80 ff");
    EXPECT_ERR(RN_OP_DescribeStream, "SerializationException", "Start of list found where not expected");
    reset();
    hex("bf");
    txt("Data");
    hex("f5 ff");
    EXPECT_ERR(RN_OP_PutRecord, "SerializationException",
               "class java.lang.Boolean can not be converted to a Blob");
    reset();
    hex("bf");
    txt("Timestamp");
    hex("c1 63 616263 ff");
    EXPECT_ERR(RN_OP_GetShardIterator, "SerializationException",
               "class java.lang.String can not be converted to milliseconds since epoch");
    /* missing members: the same aggregated ValidationException as JSON */
    reset();
    hex("a0");
    EXPECT_ERR(RN_OP_GetRecords, "ValidationException",
               "1 validation error detected: Value null at 'shardIterator' failed to satisfy constraint: "
               "Member must not be null");

    /* malformed: a bare SerializationException */
    const char *bad[] = {
        "",                       /* nothing */
        "80",                     /* an array at the top */
        "61 61",                  /* text at the top */
        "a0 00",                  /* trailing bytes */
        "bf",                     /* no break */
        "bf 61",                  /* truncated key */
        "bf 61 61",               /* key without value */
        "a1 01 01",               /* integer key */
        "a1 41 61 01",            /* byte-string key */
        "bf 61 61 ff",            /* break where a value belongs */
        "ff",                     /* stray break */
        "a1 61 61 1c",            /* reserved additional information */
        "a1 61 61 3f",            /* indefinite negative integer */
        "a1 61 61 df 00",         /* indefinite tag */
        "a1 61 61 e0",            /* unassigned simple value */
        "a1 61 61 f8 20",         /* simple value 32 */
        "a1 61 61 fb 7ff8000000000000", /* NaN */
        "a1 61 61 f9 7c00",       /* infinity */
        "a1 61 61 62 c328",       /* invalid UTF-8 */
        "a1 62 c328 01",          /* invalid UTF-8 in a key */
        "a1 61 61 5b ffffffffffffffff", /* a lying length */
        "a1 61 61 7a 7fffffff 61",      /* another */
        "a1 61 61 9b ffffffffffffffff", /* an array that claims 2^64 items */
        "a1 61 61 bb 00000000ffffffff", /* a map that claims 2^32 pairs */
        "a1 61 61 7f 41 00 ff",   /* a byte chunk in a text string */
        "a1 61 61 5f 5f ff ff",   /* a nested indefinite chunk */
        "a1 61 61 18",            /* truncated argument */
        "a1 61 61 1b 0000",       /* truncated argument */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        reset();
        hex(bad[i]);
        json_t *t = NULL;
        rn_error_clear(&e);
        int rc = rn_wire_decode(RN_OP_ListStreams, RN_PROTO_CBOR, B, BL, &t, &e);
        CHECK_EQ_INT(rc, -1);
        CHECK(t == NULL);
        CHECK_EQ_STR(rn_aws_error_type(e.code), "SerializationException");
        if (e.has_message || rc != -1)
            fprintf(stderr, "  bad[%zu] = %s: %s\n", i, bad[i], e.has_message ? e.message : "");
    }

    /* nesting of tags: RN_CBOR_MAX_DEPTH levels parse, deeper is refused
     * (arrays and maps: test_bounds) */
    for (int depth = RN_CBOR_MAX_DEPTH - 1; depth <= RN_CBOR_MAX_DEPTH + 200; depth += 201) {
        reset();
        hex("a1 61 61");
        for (int i = 0; i < depth; i++)
            hex("c6");
        hex("00");
        json_t *t = NULL;
        rn_error_clear(&e);
        int rc = rn_wire_decode(RN_OP_ListStreams, RN_PROTO_CBOR, B, BL, &t, &e);
        CHECK_EQ_INT(rc, depth < RN_CBOR_MAX_DEPTH ? 0 : -1);
        json_decref(t);
    }

    /* every truncation of a valid PutRecords body is refused cleanly */
    reset();
    hex("bf");
    txt("StreamName");
    txt("s");
    txt("Records");
    hex("9f bf");
    txt("Data");
    hex("5f 41 61 ff");
    txt("PartitionKey");
    hex("7f 61 61 ff");
    hex("ff a0 ff ff");
    size_t full = BL;
    for (size_t n = 1; n < full; n++) {
        json_t *t = NULL;
        rn_error_clear(&e);
        CHECK_EQ_INT(rn_wire_decode(RN_OP_PutRecords, RN_PROTO_CBOR, B, n, &t, &e), -1);
        CHECK(t == NULL && e.code == RN_AWS_SERIALIZATION_BARE);
    }
    json_t *t = NULL;
    rn_error_clear(&e);
    CHECK_EQ_INT(rn_wire_decode(RN_OP_PutRecords, RN_PROTO_CBOR, B, full, &t, &e), -1); /* {} record */
    CHECK_EQ_STR(rn_aws_error_type(e.code), "ValidationException");
}

/* A big body for the bounds tests (B holds 64 KiB). */
static uint8_t *G;
static size_t GL, GCAP;

static void g_hex(const char *h)
{
    size_t save = BL;
    BL = 0;
    hex(h);
    if (GL + BL > GCAP) {
        GCAP = (GL + BL) * 2;
        G = realloc(G, GCAP);
    }
    memcpy(G + GL, B, BL);
    GL += BL;
    BL = save;
}

static void g_rep(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_hex(h);
}

static void g_expect(rn_op_t op, const char *type, const char *msg)
{
    json_t *t = NULL;
    rn_error_clear(&e);
    int rc = rn_wire_decode(op, RN_PROTO_CBOR, G, GL, &t, &e);
    json_decref(t);
    if (!type) {
        CHECK_EQ_INT(rc, 0);
        return;
    }
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_STR(rn_aws_error_type(e.code), type);
    CHECK_EQ_STR(e.has_message ? e.message : "", msg ? msg : "");
}

/* The scan's bounds (wire/scan.h) on CBOR: as for JSON, definite and
 * indefinite lengths alike, counts checked against the bytes left first. */
static void test_bounds(void)
{
    const char *fmsg = "Unknown members of more than 4096 values or 1048576 bytes found where not expected";
    /* the body: 16M empty maps under an unknown member */
    GL = 0;
    g_hex("bf 6a 53747265616d4e616d65 61 73 61 58 9f"); /* {"StreamName":"s","X":[_ */
    g_rep("a0", 1u << 20);
    g_hex("ff ff");
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException", fmsg);
    /* definite: the count is refused before any element is read */
    GL = 0;
    g_hex("a2 6a 53747265616d4e616d65 61 73 61 58 9a 00100000");
    g_rep("a0", 1u << 20);
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException", fmsg);
    /* a count larger than the bytes left is a truncation, at once */
    GL = 0;
    g_hex("a2 6a 53747265616d4e616d65 61 73 61 58 9b 00000000ffffffff a0 a0");
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException", NULL);
    GL = 0;
    g_hex("a2 6a 53747265616d4e616d65 61 73 61 58 bb 00000000ffffffff a0 a0");
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException", NULL);
    GL = 0; /* ... under a known shape, past the bound: the bound's answer */
    g_hex("a2 6a 53747265616d4e616d65 61 73 64 54616773 bb 00000000ffffffff a0 a0");
    g_expect(RN_OP_AddTagsToStream, "SerializationException", "Map of more than 1000 entries found where not expected");
    GL = 0; /* ... within it: walked, the truncation is found */
    g_hex("a2 6a 53747265616d4e616d65 61 73 64 54616773 b9 0100 61 61 61 62");
    g_expect(RN_OP_AddTagsToStream, "SerializationException", NULL);
    GL = 0; /* ... or the transcoder's coercion message, where it stops first */
    g_hex("a2 6a 53747265616d4e616d65 61 73 67 5265636f726473 98 9f 41 00");
    g_expect(RN_OP_PutRecords, "SerializationException", "Expected null");
    GL = 0;
    g_hex("a1 64 44617461 5b 00000000ffffffff 00"); /* Data: a lying byte string */
    g_expect(RN_OP_PutRecord, "SerializationException", NULL);
    GL = 0;
    g_hex("a1 64 44617461 5f 5a 7fffffff 00 ff");   /* a lying chunk */
    g_expect(RN_OP_PutRecord, "SerializationException", NULL);
    /* nesting in an unknown member: RN_WIRE_FOREIGN_DEPTH levels */
    for (int d = RN_WIRE_FOREIGN_DEPTH; d <= RN_WIRE_FOREIGN_DEPTH + 100; d += 100) {
        GL = 0;
        g_hex("a2 6a 53747265616d4e616d65 61 73 61 58");
        g_rep("81", (size_t)d);
        g_hex("00");
        g_expect(RN_OP_DescribeStreamSummary, d == RN_WIRE_FOREIGN_DEPTH ? NULL : "SerializationException",
                 "Start of list found where not expected");
        GL = 0;
        g_hex("a2 6a 53747265616d4e616d65 61 73 61 58");
        g_rep("bf 61 61", (size_t)d);
        g_expect(RN_OP_DescribeStreamSummary, "SerializationException",
                 d == RN_WIRE_FOREIGN_DEPTH ? NULL : "Start of structure or map found where not expected.");
    }
    /* known lists: the model's ValidationException up to the bound */
    size_t counts[] = {501, 2000, 2001};
    for (size_t i = 0; i < 3; i++) {
        for (int indef = 0; indef < 2; indef++) {
            GL = 0;
            g_hex("bf 6a 53747265616d4e616d65 61 73 67 5265636f726473");
            if (indef) {
                g_hex("9f");
            } else {
                char h[16];
                snprintf(h, sizeof h, "99 %04zx", counts[i]);
                g_hex(h);
            }
            g_rep("a2 64 44617461 41 00 6c 506172746974696f6e4b6579 61 6b", counts[i]);
            if (indef)
                g_hex("ff");
            g_hex("ff");
            if (counts[i] <= 2000)
                g_expect(RN_OP_PutRecords, "ValidationException",
                         "1 validation error detected: Value at 'records' failed to satisfy constraint: Member "
                         "must have length less than or equal to 500");
            else
                g_expect(RN_OP_PutRecords, "SerializationException",
                         "List of more than 2000 elements found where not expected");
        }
    }
    /* a known member of the wrong kind: its coercion message */
    GL = 0;
    g_hex("a1 6a 53747265616d4e616d65");
    g_rep("81", 20);
    g_hex("00");
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException", "Start of list found where not expected");
    /* the body's values (duplicate members count) */
    GL = 0;
    g_hex("bf");
    g_rep("6a 53747265616d4e616d65 61 73", 50001);
    g_hex("ff");
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException",
             "Body of more than 100000 values found where not expected");
    /* an unknown member's bytes, key included */
    GL = 0;
    g_hex("a1 61 58 5a 00100001");
    g_rep("00", (1u << 20) + 1);
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException", fmsg);
    /* a byte string where no blob belongs stops the transcoder with its
     * coercion message: what follows is not the scan's to judge */
    GL = 0;
    g_hex("bf 6a 53747265616d4e616d65 41 61 61 58 1c ff");
    g_expect(RN_OP_DescribeStreamSummary, "SerializationException",
             "class java.nio.HeapByteBuffer can not be converted to an String");
    /* indefinite-length strings: at most RN_WIRE_MAX_CHUNKS chunks in the body */
    GL = 0;
    g_hex("a1 64 44617461 5f");
    g_rep("40", RN_WIRE_MAX_CHUNKS);
    g_hex("ff");
    g_expect(RN_OP_PutRecord, NULL, NULL);
    GL = 0;
    g_hex("a1 64 44617461 5f");
    g_rep("40", RN_WIRE_MAX_CHUNKS + 1);
    g_hex("ff");
    g_expect(RN_OP_PutRecord, "SerializationException", "Strings in more than 100000 chunks found where not expected");
    /* a key sent in chunks is still a known member */
    GL = 0;
    g_hex("a1 7f 66 53747265616d 64 4e616d65 ff 61 73");
    g_expect(RN_OP_DescribeStreamSummary, NULL, NULL);
    free(G);
    G = NULL;
    GCAP = 0;
}

static void test_encode(void)
{
    rn_buf_t b;
    rn_buf_init(&b, 0);

    /* GetRecords: blob -> byte string, seconds -> tag 1 + integer ms */
    json_t *rec = json_pack("{s:s,s:f,s:s,s:s}", "Data", "AQID", "ApproximateArrivalTimestamp", 1506440188.749,
                            "SequenceNumber", "1", "PartitionKey", "k");
    json_t *o = json_pack("{s:[o],s:s,s:i}", "Records", rec, "NextShardIterator", "it", "MillisBehindLatest", 0);
    CHECK_EQ_INT(rn_wire_encode_op(RN_OP_GetRecords, RN_PROTO_CBOR, o, &b), 0);
    CHECK_EQ_STR(tohex(&b), "bf"
                            "675265636f726473" "81" "bf"
                            "6444617461" "43010203"
                            "781b417070726f78696d6174654172726976616c54696d657374616d70"
                            "c11b0000015ebed5134d"
                            "6e53657175656e63654e756d626572" "6131"
                            "6c506172746974696f6e4b6579" "616b"
                            "ff"
                            "714e65787453686172644974657261746f72" "626974"
                            "724d696c6c6973426568696e644c6174657374" "00"
                            "ff");
    json_decref(o);

    /* DescribeStreamSummary: integers of every size, a timestamp, booleans
     * (through a map of unknown shape), a large value */
    rn_buf_reset(&b);
    o = json_pack("{s:{s:f,s:i,s:I,s:b}}", "StreamDescriptionSummary", "StreamCreationTimestamp", 1.5,
                  "OpenShardCount", 70000, "RetentionPeriodHours", (json_int_t)-25, "X", 1);
    CHECK_EQ_INT(rn_wire_encode_op(RN_OP_DescribeStreamSummary, RN_PROTO_CBOR, o, &b), 0);
    CHECK_EQ_STR(tohex(&b), "bf"
                            "781853747265616d4465736372697074696f6e53756d6d617279" "bf"
                            "7753747265616d4372656174696f6e54696d657374616d70" "c11905dc"
                            "6e4f70656e5368617264436f756e74" "1a00011170"
                            "74526574656e74696f6e506572696f64486f757273" "3818"
                            "6158" "f5"
                            "ff" "ff");
    json_decref(o);

    /* the same through JSON text (rn_call_reply_raw's path); empty text:
     * empty body; text that is not JSON: RN_EINVAL */
    rn_buf_reset(&b);
    const char *js = "{\"Records\":[{\"Data\":\"AQID\",\"ApproximateArrivalTimestamp\":1506440188.749}],"
                     "\"MillisBehindLatest\":12345678901}";
    CHECK_EQ_INT(rn_wire_transcode_json_to_cbor(RN_OP_GetRecords, (const uint8_t *)js, strlen(js), &b), 0);
    CHECK_EQ_STR(tohex(&b), "bf"
                            "675265636f726473" "81" "bf"
                            "6444617461" "43010203"
                            "781b417070726f78696d6174654172726976616c54696d657374616d70"
                            "c11b0000015ebed5134d" "ff"
                            "724d696c6c6973426568696e644c6174657374" "1b00000002dfdc1c35"
                            "ff");
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_wire_transcode_json_to_cbor(RN_OP_PutRecord, (const uint8_t *)"", 0, &b), 0);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(rn_wire_transcode_json_to_cbor(RN_OP_PutRecord, (const uint8_t *)"{", 1, &b), RN_EINVAL);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(rn_wire_encode_op(RN_OP_DeleteStream, RN_PROTO_CBOR, NULL, &b), 0);
    CHECK_EQ_INT(b.len, 0);

    /* the round trip: what the encoder writes, the decoder reads */
    rn_buf_reset(&b);
    o = json_pack("{s:s,s:s,s:s}", "StreamName", "s", "Data", "AQID", "PartitionKey", "k");
    CHECK_EQ_INT(rn_cbor_from_json(&rn_wire_shapes[rn_wire_op_input[RN_OP_PutRecord]], o, &b), 0);
    json_t *back = NULL;
    CHECK_EQ_INT(rn_wire_decode(RN_OP_PutRecord, RN_PROTO_CBOR, b.data, b.len, &back, &e), 0);
    CHECK(json_equal(o, back));
    json_decref(back);
    json_decref(o);

    /* errors: an indefinite map with __type and message, U+FFFD for a cut
     * UTF-8 sequence; no message when the error has none */
    rn_error_t err;
    rn_buf_reset(&b);
    rn_error_set(&err, RN_AWS_INVALID_ARGUMENT, "x\xc3");
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_CBOR, &err, &b), 0);
    CHECK_EQ_STR(tohex(&b), "bf" "665f5f74797065" "7818496e76616c6964417267756d656e74457863657074696f6e"
                            "676d657373616765" "6478efbfbd" "ff");
    rn_buf_reset(&b);
    rn_error_set(&err, RN_AWS_SERIALIZATION_BARE);
    CHECK_EQ_INT(rn_wire_encode_error(RN_PROTO_CBOR, &err, &b), 0);
    CHECK_EQ_STR(tohex(&b), "bf" "665f5f74797065" "7653657269616c697a6174696f6e457863657074696f6e" "ff");
    rn_buf_dispose(&b);
}

static void test_tables(void)
{
    /* every operation has an output structure; timestamps and blobs where
     * the model has them */
    for (int op = 0; op < RN_OP_COUNT; op++)
        CHECK_EQ_INT(rn_wire_shapes[rn_wire_op_output[op]].kind, RN_SK_STRUCTURE);
    const rn_wire_shape_t *gr = &rn_wire_shapes[rn_wire_op_output[RN_OP_GetRecords]];
    CHECK(gr->n_members >= 3);
}

int main(void)
{
    test_decode_types();
    test_decode_errors();
    test_bounds();
    test_encode();
    test_tables();
    return rn_test_done("test_wire_cbor");
}
