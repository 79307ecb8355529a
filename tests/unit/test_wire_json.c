/* test_wire_json.c: wire/json_parse.c, one case per jansson 2.14 rule it
 * reproduces. Each case states the expected outcome and also checks that it
 * matches what json_loadb (runnel's former call site) does with the body. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wire/json_parse.h"

static json_t *ref(const char *s, size_t n)
{
    json_error_t jerr;
    json_t *v = json_loadb(s, n, JSON_ALLOW_NUL, &jerr);
    if (!v && json_error_code(&jerr) == json_error_numeric_overflow)
        v = json_loadb(s, n, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    return v;
}

/* Parses s (n bytes), checks success == ok and agreement with jansson;
 * returns the tree (or NULL). */
static json_t *parse_n(const char *s, size_t n, int ok, int line)
{
    json_t *got = rn_wire_json_parse((const uint8_t *)s, n);
    json_t *want = ref(s, n);
    rn_test_checks += 2;
    if (!!got != ok) {
        rn_test_failures++;
        fprintf(stderr, "line %d: %.60s: parse %s, expected %s\n", line, s, got ? "ok" : "failed",
                ok ? "ok" : "failure");
    }
    if (!!got != !!want || (got && !json_equal(got, want))) {
        rn_test_failures++;
        fprintf(stderr, "line %d: %.60s: differs from json_loadb\n", line, s);
    }
    json_decref(want);
    return got;
}
#define P(s, ok) parse_n((s), sizeof(s) - 1, (ok), __LINE__)
#define OK(s) json_decref(P(s, 1))
#define BAD(s) json_decref(P(s, 0))

static void test_basics(void)
{
    json_t *v = P("{\"a\":[1,-2,0,-0,1.5,2e3,true,false,null,\"x\"],\"b\":{}}", 1);
    json_t *a = json_object_get(v, "a");
    CHECK_EQ_INT(json_array_size(a), 10);
    CHECK(json_is_integer(json_array_get(a, 0)) && json_integer_value(json_array_get(a, 1)) == -2);
    CHECK(json_is_integer(json_array_get(a, 3)));
    CHECK(json_is_real(json_array_get(a, 4)) && json_is_real(json_array_get(a, 5)));
    CHECK(json_real_value(json_array_get(a, 5)) == 2000.0);
    json_decref(v);
    OK("[]");
    OK(" \t\r\n{ } \t\r\n");
    BAD("");
    BAD("   ");
}

static void test_top_level(void)
{
    /* no JSON_DECODE_ANY: the top level is an object or an array */
    BAD("1");
    BAD("\"s\"");
    BAD("true");
    BAD("null");
}

static void test_whitespace(void)
{
    BAD("{\f}");
    BAD("{\v}");
    BAD("\xc2\xa0{}");
    BAD("{}\x00");
}

static void test_trailing(void)
{
    BAD("{}x");
    BAD("{}{}");
    BAD("[1,]");
    BAD("{\"a\":1,}");
    BAD("[1 2]");
    BAD("{\"a\" 1}");
    BAD("[truex]");
    BAD("[nul]");
    BAD("{");
    BAD("[");
}

static void test_numbers(void)
{
    BAD("[01]");
    BAD("[-01]");
    BAD("[1.]");
    BAD("[.5]");
    BAD("[1e]");
    BAD("[1e+]");
    BAD("[-]");
    BAD("[+1]");
    BAD("[0x10]");
    OK("[1E+2, 1e-2, -0.0, 0e0]");
    json_t *v = P("[9223372036854775807,-9223372036854775808]", 1);
    CHECK(json_integer_value(json_array_get(v, 0)) == INT64_MAX);
    CHECK(json_integer_value(json_array_get(v, 1)) == INT64_MIN);
    json_decref(v);
    /* an integer beyond json_int_t: every number of the body becomes a real */
    v = P("[1,9223372036854775808]", 1);
    CHECK(json_is_real(json_array_get(v, 0)) && json_real_value(json_array_get(v, 0)) == 1.0);
    CHECK(json_is_real(json_array_get(v, 1)) && json_real_value(json_array_get(v, 1)) == 9223372036854775808.0);
    json_decref(v);
    v = P("[-9223372036854775809]", 1);
    CHECK(json_is_real(json_array_get(v, 0)));
    json_decref(v);
    /* real overflow is an error; underflow is not */
    BAD("[1e309]");
    BAD("[-1e400]");
    BAD("[1,99999999999999999999,1e999]");
    OK("[1e-400]");
}

static void test_strings(void)
{
    json_t *v = P("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\"]", 1);
    CHECK_EQ_STR(json_string_value(json_array_get(v, 0)), "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac");
    json_decref(v);
    BAD("[\"\\x\"]");
    BAD("[\"\\u12\"]");
    BAD("[\"\\u12G4\"]");
    BAD("[\"abc]");
    BAD("[\"a\x01\"]");
    BAD("[\"a\nb\"]");
    OK("[\"a\x7f\"]");
    /* a long ASCII run (the 8-byte path) with specials at every offset */
    char buf[200];
    for (int k = 0; k < 40; k++) {
        memset(buf, 'a', sizeof buf);
        memcpy(buf, "[\"", 2);
        buf[2 + k] = '\\';
        buf[3 + k] = 'n';
        memcpy(buf + 100, "\"]", 2);
        json_t *t = parse_n(buf, 102, 1, __LINE__);
        CHECK_EQ_INT(json_string_length(json_array_get(t, 0)), 97);
        json_decref(t);
        buf[3 + k] = 0x1f;
        json_decref(parse_n(buf, 102, 0, __LINE__));
    }
}

static void test_nul(void)
{
    /* \u0000 is kept in a value (JSON_ALLOW_NUL) ... */
    json_t *v = P("{\"a\":\"x\\u0000y\"}", 1);
    CHECK_EQ_INT(json_string_length(json_object_get(v, "a")), 3);
    CHECK(memcmp(json_string_value(json_object_get(v, "a")), "x\0y", 3) == 0);
    json_decref(v);
    /* ... refused in a key; a raw NUL byte is refused everywhere */
    BAD("{\"a\\u0000\":1}");
    BAD("{\"a\x00\":1}");
    BAD("[\"a\x00\"]");
}

static void test_surrogates(void)
{
    json_t *v = P("[\"\\uD83D\\uDE00\"]", 1);
    CHECK_EQ_STR(json_string_value(json_array_get(v, 0)), "\xf0\x9f\x98\x80");
    json_decref(v);
    BAD("[\"\\uD83D\"]");
    BAD("[\"\\uD83Dx\"]");
    BAD("[\"\\uD83D\\n\"]");
    BAD("[\"\\uD83D\\u0041\"]");
    BAD("[\"\\uDE00\"]");
    BAD("[\"\\uDE00\\uD83D\"]");
}

static void test_utf8(void)
{
    OK("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"]");
    BAD("[\"\x80\"]");
    BAD("[\"\xc0\xaf\"]");         /* overlong */
    BAD("[\"\xe0\x80\xaf\"]");     /* overlong */
    BAD("[\"\xf0\x80\x80\xaf\"]"); /* overlong */
    BAD("[\"\xed\xa0\x80\"]");     /* surrogate */
    BAD("[\"\xf4\x90\x80\x80\"]"); /* beyond U+10FFFF */
    BAD("[\"\xf5\x80\x80\x80\"]");
    BAD("[\"\xc3\"]");
    BAD("[\"\xc3");
    BAD("[\xc3\xa9]");
    BAD("{\"\xff\":1}");
}

static void test_nul_after_token(void)
{
    /* jansson drops one NUL byte read ahead after a number or a literal */
    json_t *v = P("{\"a\":[1\0,true\0,-2.5\0,null\0,false\0],\"b\":7\0 }", 1);
    CHECK_EQ_INT(json_array_size(json_object_get(v, "a")), 5);
    json_decref(v);
    BAD("[1\0\0]");
    BAD("[\"a\"\0]");
    BAD("[[]\0]");
    BAD("[1,\0 2]");
    BAD("{}\0");
}

static void test_duplicates(void)
{
    /* the last value wins, in the first key's place */
    json_t *v = P("{\"a\":1,\"b\":2,\"a\":3}", 1);
    CHECK_EQ_INT(json_object_size(v), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(v, "a")), 3);
    char *d = json_dumps(v, JSON_COMPACT);
    CHECK_EQ_STR(d, "{\"a\":3,\"b\":2}");
    free(d);
    json_decref(v);
    /* an escaped key equals its plain spelling */
    v = P("{\"a\":1,\"\\u0061\":{\"\\u0062\":\"\\u0063\"}}", 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(v, "a"), "b")), "c");
    json_decref(v);
}

static void nest(char *b, int n, const char *inner)
{
    size_t l = 0, il = strlen(inner);
    for (int i = 0; i < n; i++)
        b[l++] = '[';
    memcpy(b + l, inner, il);
    l += il;
    for (int i = 0; i < n; i++)
        b[l++] = ']';
    b[l] = 0;
}

static void test_depth(void)
{
    static char b[8000];
    nest(b, 2048, "");
    json_decref(parse_n(b, strlen(b), 1, __LINE__));
    nest(b, 2049, "");
    json_decref(parse_n(b, strlen(b), 0, __LINE__));
    /* a scalar counts as a level, as in jansson */
    nest(b, 2047, "1");
    json_decref(parse_n(b, strlen(b), 1, __LINE__));
    nest(b, 2048, "1");
    json_decref(parse_n(b, strlen(b), 0, __LINE__));
}

int main(void)
{
    test_basics();
    test_top_level();
    test_whitespace();
    test_trailing();
    test_numbers();
    test_strings();
    test_nul();
    test_surrogates();
    test_utf8();
    test_nul_after_token();
    test_duplicates();
    test_depth();
    return rn_test_done("test_wire_json");
}
