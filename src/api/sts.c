/* sts.c: STS GetCallerIdentity for the KPL (sts.h). */
#include "api/sts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"

#define STS_NS "https://sts.amazonaws.com/doc/2011-06-15/"

int rn_sts_is_form(const char *ct, size_t n)
{
    static const char lit[] = "application/x-www-form-urlencoded";
    size_t m = sizeof lit - 1;
    while (n && (*ct == ' ' || *ct == '\t')) {
        ct++;
        n--;
    }
    return n >= m && (n == m || ct[m] == ';' || ct[m] == ' ') && rn_ascii_eq_ci(ct, lit, m);
}

/* Form-decode p[0..n) into out, NUL-terminated; -1 if bad or too long. */
static int decode(const char *p, size_t n, char *out, size_t cap)
{
    int r = cap ? rn_ascii_form_decode(p, n, out, cap - 1) : -1;
    if (r >= 0)
        out[r] = 0;
    return r;
}

int rn_sts_form_value(const uint8_t *body, size_t len, const char *name, char *out, size_t cap)
{
    const char *p = (const char *)body, *end = p + len;
    size_t nlen = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *q = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(q - p));
        size_t klen = (size_t)((eq ? eq : q) - p);
        if (klen == nlen && memcmp(p, name, nlen) == 0)
            return eq ? decode(eq + 1, (size_t)(q - eq - 1), out, cap) : (cap ? (out[0] = 0, 0) : -1);
        p = amp ? amp + 1 : end;
    }
    return -1;
}

/* XML-escape s into out (cap > 0), truncating. */
static void xml_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        default: break;
        }
        size_t need = rep ? strlen(rep) : 1;
        if (o + need >= cap)
            break;
        if (rep) {
            memcpy(out + o, rep, need);
            o += need;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = 0;
}

static char *printf_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *printf_dup(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *rn_sts_error_xml(const char *code, const char *message, const char *request_id)
{
    char msg[1024];
    xml_escape(message, msg, sizeof msg);
    return printf_dup("<ErrorResponse xmlns=\"" STS_NS "\">\n"
                      "  <Error>\n    <Type>Sender</Type>\n    <Code>%s</Code>\n    <Message>%s</Message>\n"
                      "  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n",
                      code, msg, request_id);
}

int rn_sts_answer(const uint8_t *body, size_t len, const char *account, const char *arn, const char *user_id,
                  const char *request_id, char **xml)
{
    char action[128];
    int n = rn_sts_form_value(body, len, "Action", action, sizeof action);
    if (n <= 0) {
        *xml = rn_sts_error_xml("MissingAction", "Missing Action", request_id);
        return 400;
    }
    if (strcmp(action, "GetCallerIdentity") != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "Could not find operation %s for version 2011-06-15", action);
        *xml = rn_sts_error_xml("InvalidAction", msg, request_id);
        return 400;
    }
    char root[64];
    if (!arn) {
        snprintf(root, sizeof root, "arn:aws:iam::%s:root", account);
        arn = root;
    }
    if (!user_id)
        user_id = account;
    *xml = printf_dup("<GetCallerIdentityResponse xmlns=\"" STS_NS "\">\n"
                      "  <GetCallerIdentityResult>\n"
                      "    <Arn>%s</Arn>\n"
                      "    <UserId>%s</UserId>\n"
                      "    <Account>%s</Account>\n"
                      "  </GetCallerIdentityResult>\n"
                      "  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n"
                      "</GetCallerIdentityResponse>\n",
                      arn, user_id, account, request_id);
    return 200;
}
