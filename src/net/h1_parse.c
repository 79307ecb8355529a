/* h1_parse.c: HTTP/1.1 request head parser and chunked body decoder.
 *
 * A cursor walks the bytes once; every helper either advances it or reports
 * RN_EAGAIN (ran out of input) / RN_EPROTO (malformed). See h1_parse.h for
 * the strictness rules and why.
 */
#include "net/h1_parse.h"

#include "util/status.h"
#include "util/ascii.h"

#include <string.h>

/* RFC 9110 tchar. */
static const uint8_t tchar_tab[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

#define FAIL(msg)                  \
    do {                           \
        if (reason)                \
            *reason = (msg);       \
        return RN_EPROTO;          \
    } while (0)

/* a[0..alen) equals lit[0..n), ignoring ASCII case; eq_ci takes a string
 * literal and its length at compile time. */
static int eq_ci_n(const char *a, size_t alen, const char *lit, size_t n)
{
    return alen == n && rn_ascii_eq_ci(a, lit, n);
}
#define eq_ci(a, alen, lit) eq_ci_n((a), (alen), (lit), sizeof(lit) - 1)

/* Does the comma-separated token list v contain tok (case-insensitive)? */
static int list_has(const char *v, size_t len, const char *tok)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s && eq_ci_n(v + s, e - s, tok, strlen(tok)))
            return 1;
    }
    return 0;
}

/* field-value bytes: VCHAR, obs-text, SP, HTAB; no other controls. */
static int value_byte(uint8_t ch)
{
    return (ch >= 0x20 || ch == '\t') && ch != 0x7f;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The end of the run of field-value bytes that starts at p (end at the
 * latest). Values are most of a request head, so they are checked eight
 * bytes at a time: with x the bytes of a word, (x - 0x20 * ONES) & ~x & HIGHS
 * flags the bytes below 0x20, and the same test on x ^ 0x7f * ONES against
 * ONES flags a DEL (the classic "has a byte less than n" test, exact for
 * n <= 0x80). Borrows can only add flags above a flagged byte, so the lowest
 * flag is exactly the first such byte: the CR ending the line, or an HTAB
 * (allowed: the scan goes on after it). */
static const uint8_t *value_end(const uint8_t *p, const uint8_t *end)
{
    while (end - p >= 8) {
        uint64_t x, y;
        memcpy(&x, p, 8);
        y = x ^ (0x7f * ONES);
        uint64_t m = ((x - 0x20 * ONES) & ~x & HIGHS) | ((y - ONES) & ~y & HIGHS);
        if (!m) {
            p += 8;
            continue;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        p += __builtin_ctzll(m) >> 3; /* the first byte in memory is the lowest */
#else
        while (value_byte(*p) && *p != '\t')
            p++;
#endif
        if (*p != '\t')
            return p;
        p++;
    }
    while (p < end && value_byte(*p))
        p++;
    return p;
}

/* The end of the run of tchar bytes that starts at p (end at the latest);
 * eight table lookups per step where the input allows, without a bound
 * check between them. */
static const uint8_t *token_end(const uint8_t *p, const uint8_t *end)
{
    while (end - p >= 8 && (tchar_tab[p[0]] & tchar_tab[p[1]] & tchar_tab[p[2]] &
                            tchar_tab[p[3]] & tchar_tab[p[4]] & tchar_tab[p[5]] &
                            tchar_tab[p[6]] & tchar_tab[p[7]]))
        p += 8;
    while (p < end && tchar_tab[*p])
        p++;
    return p;
}

/* Content-Length: 1..18 digits (no sign, no list), so the value fits int64. */
static int parse_cl(const char *v, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return 0;
}

long rn_h1_parse_head(const uint8_t *buf, size_t len, rn_h1_head_t *head, rn_http_header_t *hdrs,
                      size_t max_hdrs, const char **reason)
{
    const uint8_t *p = buf, *end = buf + len;
    if (max_hdrs > RN_H1_MAX_HEADERS)
        max_hdrs = RN_H1_MAX_HEADERS;
    memset(head, 0, sizeof *head);
    head->content_length = -1;
    if (reason)
        *reason = NULL;

    /* RFC 9112 2.2: ignore at least one empty line before the request line. */
    for (int i = 0; i < 2 && p < end && (*p == '\r' || *p == '\n'); i++) {
        if (*p == '\n')
            FAIL("bare LF");
        if (p + 1 >= end)
            return RN_EAGAIN;
        if (p[1] != '\n')
            FAIL("CR without LF");
        p += 2;
    }

    /* method */
    const uint8_t *s = p;
    while (p < end && tchar_tab[*p])
        p++;
    if (p == end)
        goto need_more;
    if (p == s || *p != ' ')
        FAIL("bad method");
    head->method = (const char *)s;
    head->method_len = (size_t)(p - s);
    p++;

    /* request-target: visible ASCII, at least one byte */
    s = p;
    while (p < end && *p > 0x20 && *p < 0x7f)
        p++;
    if (p == end)
        goto need_more;
    if (p == s || *p != ' ')
        FAIL("bad request target");
    head->target = (const char *)s;
    head->target_len = (size_t)(p - s);
    p++;

    /* HTTP-version CRLF */
    static const char ver[] = "HTTP/1.";
    for (size_t i = 0; i < 7; i++, p++) {
        if (p == end)
            goto need_more;
        if (*p != (uint8_t)ver[i])
            FAIL("bad HTTP version");
    }
    if (p == end)
        goto need_more;
    if (*p != '0' && *p != '1')
        FAIL("unsupported HTTP version");
    head->minor_version = *p - '0';
    p++;
    if (end - p < 2)
        goto need_more_crlf;
    if (p[0] != '\r' || p[1] != '\n')
        FAIL("bad request line ending");
    p += 2;

    int connection_close = 0, connection_keep_alive = 0, te_seen = 0;
    for (;;) {
        if (p == end)
            goto need_more;
        if (*p == '\r') {
            if (p + 1 == end)
                goto need_more;
            if (p[1] != '\n')
                FAIL("CR without LF");
            p += 2;
            break;
        }
        if (*p == ' ' || *p == '\t')
            FAIL("obsolete line folding");
        if ((size_t)(p - buf) > RN_H1_MAX_HEAD_BYTES)
            goto too_big;
        /* field-name */
        s = p;
        p = token_end(p, end);
        if (p == end)
            goto need_more;
        if (p == s || *p != ':')
            FAIL("bad header name");
        const char *name = (const char *)s;
        size_t name_len = (size_t)(p - s);
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        s = p;
        p = value_end(p, end);
        if (p == end)
            goto need_more;
        if (*p != '\r')
            FAIL(*p == '\n' ? "bare LF" : "control character in header value");
        if (p + 1 == end)
            goto need_more;
        if (p[1] != '\n')
            FAIL("CR without LF");
        const uint8_t *ve = p;
        while (ve > s && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        const char *value = (const char *)s;
        size_t value_len = (size_t)(ve - s);
        p += 2;

        if (head->n_headers >= max_hdrs) {
            if (reason)
                *reason = "too many headers";
            return RN_ETOOBIG;
        }
        rn_http_header_t *h = &hdrs[head->n_headers++];
        h->name = name;
        h->name_len = name_len;
        h->value = value;
        h->value_len = value_len;

        /* Headers that change framing or connection handling. */
        switch (name_len) {
        case 4:
            if (eq_ci(name, 4, "host")) {
                if (head->host)
                    FAIL("duplicate Host");
                head->host = value;
                head->host_len = value_len;
            }
            break;
        case 6:
            if (eq_ci(name, 6, "expect") && eq_ci(value, value_len, "100-continue"))
                head->expect_continue = head->minor_version == 1;
            break;
        case 10:
            if (eq_ci(name, 10, "connection")) {
                if (list_has(value, value_len, "close"))
                    connection_close = 1;
                if (list_has(value, value_len, "keep-alive"))
                    connection_keep_alive = 1;
            }
            break;
        case 14:
            if (eq_ci(name, 14, "content-length")) {
                int64_t cl;
                if (parse_cl(value, value_len, &cl) != 0)
                    FAIL("bad Content-Length");
                if (head->content_length >= 0 && head->content_length != cl)
                    FAIL("conflicting Content-Length");
                head->content_length = cl;
            }
            break;
        case 17:
            if (eq_ci(name, 17, "transfer-encoding")) {
                if (te_seen || !eq_ci(value, value_len, "chunked"))
                    FAIL("unsupported Transfer-Encoding");
                te_seen = 1;
            }
            break;
        default:
            break;
        }
    }
    if ((size_t)(p - buf) > RN_H1_MAX_HEAD_BYTES)
        goto too_big;
    if (te_seen) {
        if (head->minor_version == 0)
            FAIL("Transfer-Encoding in HTTP/1.0");
        if (head->content_length >= 0)
            FAIL("both Transfer-Encoding and Content-Length");
        head->chunked = 1;
    }
    if (connection_close)
        head->keep_alive = 0;
    else
        head->keep_alive = head->minor_version == 1 || connection_keep_alive;
    return (long)(p - buf);

need_more_crlf:
    if (p < end && *p != '\r')
        FAIL("bad request line ending");
need_more:
    if (len > RN_H1_MAX_HEAD_BYTES)
        goto too_big;
    return RN_EAGAIN;
too_big:
    if (reason)
        *reason = "request head too large";
    return RN_ETOOBIG;
}

/* ---- chunked ----------------------------------------------------------- */

enum {
    CH_SIZE = 0,   /* hex digits of chunk-size */
    CH_EXT,        /* optional whitespace / chunk-ext up to CR */
    CH_SIZE_LF,    /* LF after the size line */
    CH_DATA,       /* chunk data */
    CH_DATA_CR,    /* CRLF after chunk data */
    CH_DATA_LF,
    CH_TRAILER_START, /* start of a trailer line, or the final CRLF */
    CH_TRAILER,       /* inside a trailer line */
    CH_TRAILER_LF,    /* LF ending a trailer line */
    CH_END_LF,        /* LF of the final CRLF */
    CH_DONE,
};

/* Inside a chunk-size line, after the digits (RFC 9112 7.1.1):
 *   chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 * BWS is optional SP / HTAB; ext-name is a token; ext-val is a token or a
 * quoted-string. */
enum {
    X_START = 0, /* after the size or a complete extension: ";", BWS or CR */
    X_WS,        /* BWS before ";" */
    X_NAME_PRE,  /* after ";": BWS, then the name's first tchar */
    X_NAME,      /* in ext-name */
    X_NAME_WS,   /* BWS after the name: ";" or "=" */
    X_VAL_PRE,   /* after "=": BWS, then a token or a quoted-string */
    X_TOKEN,     /* in a token ext-val */
    X_QS,        /* in a quoted-string */
    X_QP,        /* after a backslash in a quoted-string */
};

/* One byte of a chunk extension: 1 = CR (the line ends), 0 = go on,
 * -1 = malformed. */
static int ext_step(int *st, uint8_t ch)
{
    int ws = ch == ' ' || ch == '\t';
    switch (*st) {
    case X_START:
    case X_TOKEN:
        if (*st == X_TOKEN && tchar_tab[ch])
            return 0;
        if (ch == '\r')
            return 1;
        if (ch == ';')
            *st = X_NAME_PRE;
        else if (ws)
            *st = X_WS;
        else
            return -1;
        return 0;
    case X_WS:
        if (ws)
            return 0;
        if (ch != ';')
            return -1;
        *st = X_NAME_PRE;
        return 0;
    case X_NAME_PRE:
        if (ws)
            return 0;
        if (!tchar_tab[ch])
            return -1;
        *st = X_NAME;
        return 0;
    case X_NAME:
        if (tchar_tab[ch])
            return 0;
        if (ch == '\r')
            return 1;
        if (ch == ';')
            *st = X_NAME_PRE;
        else if (ch == '=')
            *st = X_VAL_PRE;
        else if (ws)
            *st = X_NAME_WS;
        else
            return -1;
        return 0;
    case X_NAME_WS:
        if (ws)
            return 0;
        if (ch == ';')
            *st = X_NAME_PRE;
        else if (ch == '=')
            *st = X_VAL_PRE;
        else
            return -1;
        return 0;
    case X_VAL_PRE:
        if (ws)
            return 0;
        if (ch == '"')
            *st = X_QS;
        else if (tchar_tab[ch])
            *st = X_TOKEN;
        else
            return -1;
        return 0;
    case X_QS: /* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
        if (ch == '"')
            *st = X_START;
        else if (ch == '\\')
            *st = X_QP;
        else if (!(ch == '\t' || (ch >= 0x20 && ch != 0x7f)))
            return -1;
        return 0;
    case X_QP: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
        if (!(ch == '\t' || (ch >= 0x20 && ch != 0x7f)))
            return -1;
        *st = X_QS;
        return 0;
    default:
        return -1;
    }
}

#define CH_MAX_LINE 4096
#define CH_MAX_TRAILERS (16 * 1024)

void rn_h1_chunked_init(rn_h1_chunked_t *c)
{
    memset(c, 0, sizeof *c);
}

int rn_h1_chunked_feed(rn_h1_chunked_t *c, const uint8_t *in, size_t len, size_t *consumed,
                       rn_buf_t *out)
{
    size_t i = 0;
    int rc = 0;
    while (i < len && c->state != CH_DONE) {
        uint8_t ch = in[i];
        switch (c->state) {
        case CH_SIZE: {
            int v = rn_ascii_hexval(ch);
            if (v >= 0) {
                if (++c->digits > 15) { /* > 2^60: no body can be that big */
                    rc = RN_ETOOBIG;
                    goto out;
                }
                c->remaining = c->remaining * 16 + (uint64_t)v;
                i++;
                break;
            }
            if (c->digits == 0) {
                rc = RN_EPROTO;
                goto out;
            }
            if (c->remaining > out->max - out->len) {
                rc = RN_ETOOBIG;
                goto out;
            }
            c->state = CH_EXT;
            c->ext = X_START;
            c->line_bytes = 0;
            break; /* reprocess ch in CH_EXT */
        }
        case CH_EXT: {
            int r = ext_step(&c->ext, ch);
            if (r < 0 || ++c->line_bytes > CH_MAX_LINE) {
                rc = RN_EPROTO;
                goto out;
            }
            if (r == 1)
                c->state = CH_SIZE_LF;
            i++;
            break;
        }
        case CH_SIZE_LF:
            if (ch != '\n') {
                rc = RN_EPROTO;
                goto out;
            }
            i++;
            c->digits = 0;
            c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
            break;
        case CH_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            rc = rn_buf_append(out, in + i, n);
            if (rc)
                goto out;
            i += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (ch != (c->state == CH_DATA_CR ? '\r' : '\n')) {
                rc = RN_EPROTO;
                goto out;
            }
            i++;
            c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
            break;
        case CH_TRAILER_START:
            if (ch == '\r') {
                c->state = CH_END_LF;
                i++;
                break;
            }
            if (ch == '\n' || ch == ' ' || ch == '\t') {
                rc = RN_EPROTO;
                goto out;
            }
            c->state = CH_TRAILER;
            break;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_TRAILER_LF;
            } else if (ch == '\n' || (ch < 0x20 && ch != '\t') || ch == 0x7f) {
                rc = RN_EPROTO;
                goto out;
            }
            if (++c->trailer_bytes > CH_MAX_TRAILERS) {
                rc = RN_EPROTO;
                goto out;
            }
            i++;
            break;
        case CH_TRAILER_LF:
        case CH_END_LF:
            if (ch != '\n') {
                rc = RN_EPROTO;
                goto out;
            }
            i++;
            c->state = c->state == CH_END_LF ? CH_DONE : CH_TRAILER_START;
            break;
        default:
            rc = RN_EPROTO;
            goto out;
        }
    }
    rc = c->state == CH_DONE ? 1 : 0;
out:
    *consumed = i;
    return rc;
}
