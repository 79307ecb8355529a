/* ident.c: the account and region a request's credential scope names
 * (ident.h). */
#include "api/ident.h"
#include "util/ascii.h"

#include <stdio.h>
#include <string.h>

static int is_lower(char ch)
{
    return ch >= 'a' && ch <= 'z';
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* [a-z]{2}(-[a-z]+)+-[0-9]+ */
static int aws_shaped(const char *r, size_t n)
{
    if (n > RN_REGION_MAX || n < 6 || !is_lower(r[0]) || !is_lower(r[1]) || r[2] != '-')
        return 0;
    size_t i = 2, words = 0;
    for (;;) { /* r[i] == '-' */
        i++;
        if (i < n && is_lower(r[i])) {
            while (i < n && is_lower(r[i]))
                i++;
            words++;
            if (i >= n || r[i] != '-')
                return 0;
            continue;
        }
        break; /* after a '-' that starts no word: the number */
    }
    if (words == 0 || i >= n)
        return 0;
    while (i < n && is_digit(r[i]))
        i++;
    return i == n && is_digit(r[n - 1]);
}

int rn_region_valid(const char *region, size_t n, const char *default_region)
{
    if (aws_shaped(region, n))
        return 1;
    return default_region && strlen(default_region) == n && n > 0 && memcmp(region, default_region, n) == 0;
}

size_t rn_escape_printable(const char *p, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch <= 0x7e) {
            if (o + 1 >= cap)
                break;
            out[o++] = (char)ch;
        } else {
            if (o + 6 >= cap)
                break;
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = 0;
    return o;
}

/* Values echoed in messages are cut at this many input bytes. */
#define ECHO_MAX 512

int rn_ident_credential(const char *cred, size_t len, const char *default_region, rn_ident_t *id,
                        rn_error_t *err)
{
    const char *part[5];
    size_t plen[5];
    size_t k = 0;
    const char *p = cred, *end = cred + len;
    for (;;) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (k < 5) {
            part[k] = p;
            plen[k] = (size_t)((q ? q : end) - p);
        }
        k++;
        if (!q)
            break;
        p = q + 1;
    }
    char echo[ECHO_MAX * 6 + 1];
    if (k != 5) {
        rn_escape_printable(cred, len > ECHO_MAX ? ECHO_MAX : len, echo, sizeof echo);
        return rn_error_set(err, RN_AWS_CREDENTIAL_PARTS, echo);
    }
    if (!rn_region_valid(part[2], plen[2], default_region)) {
        rn_escape_printable(part[2], plen[2] > ECHO_MAX ? ECHO_MAX : plen[2], echo, sizeof echo);
        return rn_error_set(err, RN_AWS_CREDENTIAL_REGION, echo);
    }
    memcpy(id->region, part[2], plen[2]); /* plen[2] <= RN_REGION_MAX: checked above */
    id->region[plen[2]] = 0;
    if (plen[0] == 12 && strspn(part[0], "0123456789") >= 12) {
        memcpy(id->account, part[0], 12);
        id->account[12] = 0;
    }
    return 0;
}

/* ---- presigned queries ------------------------------------------------------- */

typedef struct qparam {
    const char *p; /* NULL when absent */
    size_t len;
} qparam_t;

enum { Q_ALGORITHM, Q_CREDENTIAL, Q_SIGNATURE, Q_SIGNED_HEADERS, Q_DATE, Q_COUNT };
static const char *const qnames[Q_COUNT] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                            "X-Amz-SignedHeaders", "X-Amz-Date"};

int rn_ident_presigned(const char *path, const char *default_region, rn_ident_t *id, rn_error_t *err)
{
    const char *q = strchr(path, '?');
    if (!q)
        return 0;
    qparam_t v[Q_COUNT] = {{0}};
    const char *p = q + 1;
    while (*p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t nlen = eq ? (size_t)(eq - p) : n;
        for (int i = 0; i < Q_COUNT; i++) {
            if (!v[i].p && nlen == strlen(qnames[i]) && memcmp(p, qnames[i], nlen) == 0) {
                v[i].p = eq ? eq + 1 : p + n;
                v[i].len = eq ? n - nlen - 1 : 0;
            }
        }
        p += n;
        if (*p == '&')
            p++;
    }
    if (!v[Q_ALGORITHM].p)
        return 0;
    char msg[512];
    size_t m = 0;
    msg[0] = 0;
    for (int i = Q_ALGORITHM; i < Q_COUNT; i++) /* AWS's order: Algorithm, Credential, ... */
        if (!v[i].p || v[i].len == 0)
            m += (size_t)snprintf(msg + m, sizeof msg - m, "AWS query-string parameters must include '%s'. ",
                                  qnames[i]);
    if (m) {
        snprintf(msg + m, sizeof msg - m, "Re-examine the query-string parameters.");
        return rn_error_set(err, RN_AWS_INCOMPLETE_SIGNATURE, msg);
    }
    char cred[2048];
    int cl = rn_ascii_form_decode(v[Q_CREDENTIAL].p, v[Q_CREDENTIAL].len, cred, sizeof cred);
    if (cl < 0) {
        char echo[ECHO_MAX * 6 + 1];
        size_t n = v[Q_CREDENTIAL].len;
        rn_escape_printable(v[Q_CREDENTIAL].p, n > ECHO_MAX ? ECHO_MAX : n, echo, sizeof echo);
        return rn_error_set(err, RN_AWS_CREDENTIAL_PARTS, echo);
    }
    return rn_ident_credential(cred, (size_t)cl, default_region, id, err) == 0 ? 1 : -1;
}
