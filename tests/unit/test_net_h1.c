/* test_net_h1.c: unit tests of the HTTP/1.1 request parser and the chunked
 * body decoder (src/net/h1_parse.c). */
#include "core/errors.h"
#include "net/h1_parse.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rn_http_header_t hdrs[RN_H1_MAX_HEADERS];

static long parse(const char *s, rn_h1_head_t *hd)
{
    const char *why;
    return rn_h1_parse_head((const uint8_t *)s, strlen(s), hd, hdrs, RN_H1_MAX_HEADERS, &why);
}

static int field_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

static void test_valid(void)
{
    const char *req = "POST / HTTP/1.1\r\n"
                      "Host: kinesis.us-east-1.amazonaws.com\r\n"
                      "X-Amz-Target: Kinesis_20131202.ListStreams\r\n"
                      "Content-Type:application/x-amz-json-1.1  \r\n"
                      "Content-Length: 2\r\n"
                      "\r\n"
                      "{}";
    rn_h1_head_t hd;
    long r = parse(req, &hd);
    CHECK_EQ_INT(r, (long)strlen(req) - 2);
    CHECK(field_is(hd.method, hd.method_len, "POST"));
    CHECK(field_is(hd.target, hd.target_len, "/"));
    CHECK_EQ_INT(hd.minor_version, 1);
    CHECK_EQ_INT(hd.n_headers, 4);
    CHECK(field_is(hdrs[1].name, hdrs[1].name_len, "X-Amz-Target"));
    CHECK(field_is(hdrs[1].value, hdrs[1].value_len, "Kinesis_20131202.ListStreams"));
    CHECK(field_is(hdrs[2].value, hdrs[2].value_len, "application/x-amz-json-1.1"));
    CHECK_EQ_INT(hd.content_length, 2);
    CHECK_EQ_INT(hd.chunked, 0);
    CHECK_EQ_INT(hd.keep_alive, 1);
    CHECK_EQ_INT(hd.expect_continue, 0);
    CHECK(hd.host && field_is(hd.host, hd.host_len, "kinesis.us-east-1.amazonaws.com"));

    /* HTTP/1.0: no keep-alive unless asked; Expect ignored */
    r = parse("GET /x?y=1 HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &hd);
    CHECK(r > 0);
    CHECK_EQ_INT(hd.minor_version, 0);
    CHECK_EQ_INT(hd.keep_alive, 0);
    CHECK_EQ_INT(hd.expect_continue, 0);
    CHECK_EQ_INT(hd.content_length, -1);
    CHECK(field_is(hd.target, hd.target_len, "/x?y=1"));
    r = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &hd);
    CHECK(r > 0);
    CHECK_EQ_INT(hd.keep_alive, 1);

    /* Connection: close, Expect: 100-continue */
    r = parse("POST / HTTP/1.1\r\nConnection: foo, close\r\nExpect: 100-Continue\r\n"
              "Content-Length: 10\r\n\r\n",
              &hd);
    CHECK(r > 0);
    CHECK_EQ_INT(hd.keep_alive, 0);
    CHECK_EQ_INT(hd.expect_continue, 1);

    /* one leading empty line is tolerated */
    r = parse("\r\nGET / HTTP/1.1\r\n\r\n", &hd);
    CHECK_EQ_INT(r, 20);
    /* empty header value */
    r = parse("GET / HTTP/1.1\r\nX-Empty:\r\n\r\n", &hd);
    CHECK(r > 0);
    CHECK_EQ_INT(hdrs[0].value_len, 0);
}

static void test_pipelined(void)
{
    const char *two = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                      "POST /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    rn_h1_head_t hd;
    long r = parse(two, &hd);
    CHECK_EQ_INT(r, 39);
    CHECK(field_is(hd.target, hd.target_len, "/a"));
    CHECK_EQ_INT(hd.content_length, 3);
    const char *second = two + 42; /* 39-byte head + 3-byte body */
    CHECK_EQ_INT(r + hd.content_length, 42);
    r = parse(second, &hd);
    CHECK_EQ_INT(r, 39);
    CHECK_EQ_INT(second[r], 0);
    CHECK(field_is(hd.target, hd.target_len, "/b"));
    CHECK_EQ_INT(hd.content_length, 0);
}

static void test_partial(void)
{
    const char *req = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    size_t n = strlen(req);
    rn_h1_head_t hd;
    const char *why;
    for (size_t i = 0; i < n; i++) {
        long r = rn_h1_parse_head((const uint8_t *)req, i, &hd, hdrs, RN_H1_MAX_HEADERS, &why);
        if (r != RN_EAGAIN)
            fprintf(stderr, "prefix %zu: %ld\n", i, r);
        CHECK_EQ_INT(r, RN_EAGAIN);
    }
    CHECK_EQ_INT(rn_h1_parse_head((const uint8_t *)req, n, &hd, hdrs, RN_H1_MAX_HEADERS, &why),
                 (long)n);
}

static void test_errors(void)
{
    rn_h1_head_t hd;
    const char *bad[] = {
        "POST  / HTTP/1.1\r\n\r\n",                 /* double space */
        "POST / HTTP/2.0\r\n\r\n",                  /* version */
        "POST / HTTP/1.1\n\r\n",                    /* bare LF */
        "POST / FOO/1.1\r\n\r\n",
        "PO(ST / HTTP/1.1\r\n\r\n",                 /* bad method char */
        "POST /\x01 HTTP/1.1\r\n\r\n",              /* control in target */
        "POST / HTTP/1.1\r\nBad Name: x\r\n\r\n",   /* space in name */
        "POST / HTTP/1.1\r\nName : x\r\n\r\n",      /* space before colon */
        "POST / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "POST / HTTP/1.1\r\nA: b\x01\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "GARBAGE\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long r = parse(bad[i], &hd);
        if (r != RN_EPROTO)
            fprintf(stderr, "bad[%zu]: %ld\n", i, r);
        CHECK_EQ_INT(r, RN_EPROTO);
    }
    /* the same Content-Length twice is accepted */
    long r = parse("POST / HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", &hd);
    CHECK(r > 0);
    CHECK_EQ_INT(hd.content_length, 7);
    /* 18 digits is the longest accepted length */
    r = parse("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n", &hd);
    CHECK(r > 0);
    CHECK_EQ_INT(hd.content_length, 999999999999999999LL);
}

static void test_limits(void)
{
    rn_h1_head_t hd;
    const char *why = NULL;
    /* 101 headers */
    rn_buf_t b;
    rn_buf_init(&b, 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "POST / HTTP/1.1\r\n"), 0);
    for (int i = 0; i < 101; i++)
        CHECK_EQ_INT(rn_buf_printf(&b, "X-H%d: v\r\n", i), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "\r\n"), 0);
    long r = rn_h1_parse_head(b.data, b.len, &hd, hdrs, RN_H1_MAX_HEADERS, &why);
    CHECK_EQ_INT(r, RN_ETOOBIG);
    CHECK(why != NULL);
    /* exactly 100 is fine */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_buf_append_str(&b, "POST / HTTP/1.1\r\n"), 0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ_INT(rn_buf_printf(&b, "X-H%d: v\r\n", i), 0);
    CHECK_EQ_INT(rn_buf_append_str(&b, "\r\n"), 0);
    r = rn_h1_parse_head(b.data, b.len, &hd, hdrs, RN_H1_MAX_HEADERS, &why);
    CHECK_EQ_INT(r, (long)b.len);
    CHECK_EQ_INT(hd.n_headers, 100);

    /* a head over 64 KiB, complete or not */
    rn_buf_reset(&b);
    CHECK_EQ_INT(rn_buf_append_str(&b, "POST / HTTP/1.1\r\nX-Big: "), 0);
    static char big[70000];
    memset(big, 'a', sizeof big);
    CHECK_EQ_INT(rn_buf_append(&b, big, sizeof big), 0);
    r = rn_h1_parse_head(b.data, b.len, &hd, hdrs, RN_H1_MAX_HEADERS, &why);
    CHECK_EQ_INT(r, RN_ETOOBIG); /* incomplete but already over the limit */
    CHECK_EQ_INT(rn_buf_append_str(&b, "\r\n\r\n"), 0);
    r = rn_h1_parse_head(b.data, b.len, &hd, hdrs, RN_H1_MAX_HEADERS, &why);
    CHECK_EQ_INT(r, RN_ETOOBIG);
    rn_buf_dispose(&b);
}

static int dechunk(const char *in, size_t max, rn_buf_t *out, size_t *consumed, size_t step)
{
    rn_h1_chunked_t c;
    rn_h1_chunked_init(&c);
    rn_buf_init(out, max);
    size_t n = strlen(in), off = 0;
    int rc = 0;
    while (off < n) {
        size_t len = n - off < step ? n - off : step, used = 0;
        rc = rn_h1_chunked_feed(&c, (const uint8_t *)in + off, len, &used, out);
        off += used;
        if (rc != 0)
            break;
    }
    *consumed = off;
    return rc;
}

static void test_chunked(void)
{
    const char *body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    for (size_t step = 1; step <= 64; step *= 2) {
        rn_buf_t out;
        size_t used;
        int rc = dechunk(body, 0, &out, &used, step);
        CHECK_EQ_INT(rc, 1);
        CHECK_EQ_INT(used, strlen(body) - 4);
        CHECK_EQ_STR((const char *)out.data, "hello world");
        rn_buf_dispose(&out);
    }
    rn_buf_t out;
    size_t used;
    CHECK_EQ_INT(dechunk("0\r\n\r\n", 0, &out, &used, 100), 1);
    CHECK_EQ_INT(out.len, 0);
    rn_buf_dispose(&out);
    CHECK_EQ_INT(dechunk("A\r\n0123456789\r\n0\r\n\r\n", 0, &out, &used, 100), 1);
    CHECK_EQ_INT(out.len, 10);
    rn_buf_dispose(&out);
    /* partial: all consumed, need more */
    CHECK_EQ_INT(dechunk("5\r\nhel", 0, &out, &used, 100), 0);
    CHECK_EQ_INT(used, 6);
    rn_buf_dispose(&out);
    /* errors */
    const char *bad[] = {"x\r\n", "5\r\nhelloX\r\n", "5\nhello\r\n", "5x\r\nhello\r\n",
                         "\r\n", "0\r\n\n", "0\r\nbad\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = dechunk(bad[i], 0, &out, &used, 100);
        if (rc != RN_EPROTO)
            fprintf(stderr, "bad chunked[%zu]: %d\n", i, rc);
        CHECK_EQ_INT(rc, RN_EPROTO);
        rn_buf_dispose(&out);
    }
    /* over the ceiling: detected at the size line, before buffering */
    CHECK_EQ_INT(dechunk("10\r\n", 8, &out, &used, 100), RN_ETOOBIG);
    rn_buf_dispose(&out);
    CHECK_EQ_INT(dechunk("4\r\nabcd\r\n5\r\n", 8, &out, &used, 100), RN_ETOOBIG);
    rn_buf_dispose(&out);
    CHECK_EQ_INT(dechunk("ffffffffffffffffff\r\n", 0, &out, &used, 100), RN_ETOOBIG);
    rn_buf_dispose(&out);
}

/* Chunk extensions (RFC 9112 7.1.1): chunk-ext = *( BWS ";" BWS ext-name
 * [ BWS "=" BWS ext-val ] ), a token name, a token or quoted-string value;
 * anything else on a size line is refused. Each case is fed whole and one
 * byte at a time. */
static void test_chunk_ext(void)
{
    const char *good[] = {
        "5;a\r\nhello\r\n0\r\n\r\n",
        "5;a=b\r\nhello\r\n0\r\n\r\n",
        "5 ;a\r\nhello\r\n0\r\n\r\n",
        "5\t; \ta \t= \tb\r\nhello\r\n0\r\n\r\n",
        "5;a;b=c;d\r\nhello\r\n0\r\n\r\n",
        "5;name=\"quoted; \\\"value\\\\\"\r\nhello\r\n0\r\n\r\n",
        "5;a=\"\";b=1 ;c\r\nhello\r\n0;last=x\r\n\r\n",
        "5;!#$%&'*+-.^_`|~=tok\r\nhello\r\n0\r\n\r\n",
        "5;a=\"obs-text \x80\xff\"\r\nhello\r\n0\r\n\r\n",
    };
    const char *bad[] = {
        "1a garbage here\r\n",     /* the example */
        "5 \r\nhello\r\n0\r\n\r\n", /* BWS only comes before ";" */
        "5;\r\nhello\r\n",         /* no name */
        "5; \r\nhello\r\n",
        "5;=b\r\nhello\r\n",
        "5;a=\r\nhello\r\n",       /* no value */
        "5;a b\r\nhello\r\n",      /* BWS then a name without ";" */
        "5;a=b c\r\nhello\r\n",
        "5;a=\"open\r\nhello\r\n",  /* unterminated quoted-string */
        "5;a=\"x\"y\r\nhello\r\n", /* text after the quoted-string */
        "5;a=b=c\r\nhello\r\n",
        "5;a@b\r\nhello\r\n",      /* not a tchar */
        "5;a=(b)\r\nhello\r\n",
        "5;a=\"\x01\"\r\nhello\r\n", /* CTL in a quoted-string */
        "5;a=\"\\\x7f\"\r\nhello\r\n",
        "5;a\nhello\r\n",           /* bare LF */
        "5,a\r\nhello\r\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        for (size_t step = 1; step <= 100; step += 99) {
            rn_buf_t out;
            size_t used;
            int rc = dechunk(good[i], 0, &out, &used, step);
            if (rc != 1)
                fprintf(stderr, "good chunk-ext[%zu] step %zu: %d\n", i, step, rc);
            CHECK_EQ_INT(rc, 1);
            CHECK_EQ_STR((const char *)out.data, "hello");
            rn_buf_dispose(&out);
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t step = 1; step <= 100; step += 99) {
            rn_buf_t out;
            size_t used;
            int rc = dechunk(bad[i], 0, &out, &used, step);
            if (rc != RN_EPROTO)
                fprintf(stderr, "bad chunk-ext[%zu] step %zu: %d\n", i, step, rc);
            CHECK_EQ_INT(rc, RN_EPROTO);
            rn_buf_dispose(&out);
        }
    }
}

/* Field values are scanned eight bytes at a time: at every length up to 40
 * and every position, each byte value is either kept in the value (VCHAR,
 * obs-text, SP, HTAB: the value is then exactly what was sent, surrounding
 * whitespace trimmed) or refused (other controls, DEL). */
static void test_value_bytes(void)
{
    int bad = 0;
    for (size_t n = 1; n <= 40; n++) {
        for (size_t at = 0; at < n; at++) {
            for (int ch = 0; ch < 256; ch++) {
                char req[128];
                char val[48];
                memset(val, 'v', n);
                val[at] = (char)ch;
                /* VCHAR, obs-text, SP, HTAB */
                int good = (ch >= 0x20 && ch != 0x7f) || ch == '\t';
                size_t k = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX-V: ");
                memcpy(req + k, val, n);
                k += n;
                memcpy(req + k, "\r\nA: b\r\n\r\n", 10);
                k += 10;
                rn_h1_head_t hd;
                const char *why;
                long r = rn_h1_parse_head((const uint8_t *)req, k, &hd, hdrs, RN_H1_MAX_HEADERS,
                                          &why);
                if (!good) {
                    bad += r != RN_EPROTO;
                    continue;
                }
                /* leading and trailing SP/HTAB are not part of the value */
                size_t s = 0, e = n;
                while (s < n && (val[s] == ' ' || val[s] == '\t'))
                    s++;
                while (e > s && (val[e - 1] == ' ' || val[e - 1] == '\t'))
                    e--;
                bad += r != (long)k || hd.n_headers != 2 || hdrs[0].value_len != e - s ||
                       memcmp(hdrs[0].value, val + s, e - s) != 0;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* Field names are scanned eight bytes at a time too: at every length up
 * to 24 and every position, a tchar is part of the name and anything else
 * (but ':', which ends it) is refused. */
static void test_name_bytes(void)
{
    int bad = 0;
    for (size_t n = 1; n <= 24; n++) {
        for (size_t at = 0; at < n; at++) {
            for (int ch = 0; ch < 256; ch++) {
                if (ch == ':')
                    continue;
                char req[128];
                char name[32];
                memset(name, 'n', n);
                name[at] = (char)ch;
                int tchar = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                            (ch >= 'A' && ch <= 'Z') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
                size_t k = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\n");
                memcpy(req + k, name, n);
                k += n;
                memcpy(req + k, ": v\r\n\r\n", 7);
                k += 7;
                rn_h1_head_t hd;
                const char *why;
                long r = rn_h1_parse_head((const uint8_t *)req, k, &hd, hdrs, RN_H1_MAX_HEADERS,
                                          &why);
                if (!tchar)
                    bad += r != RN_EPROTO;
                else
                    bad += r != (long)k || hd.n_headers != 1 || hdrs[0].name_len != n ||
                           memcmp(hdrs[0].name, name, n) != 0;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    test_valid();
    test_value_bytes();
    test_name_bytes();
    test_pipelined();
    test_partial();
    test_errors();
    test_limits();
    test_chunked();
    test_chunk_ext();
    return rn_test_done("test_net_h1");
}
