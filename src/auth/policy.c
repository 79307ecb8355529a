/* policy.c: IAM policy documents -- compile, evaluate, decide, word.
 *
 * Compilation walks the jansson tree once, checking every element against
 * IAM's grammar (IAM User Guide, "IAM JSON policy element reference") and
 * the ceilings in policy.h, and copies what evaluation needs into one arena
 * owned by the policy: patterns with their wildcards coded (policy_int.h),
 * principals classified, conditions typed (policy_cond.c). Evaluation then
 * allocates nothing: a pattern holding a policy variable is expanded into a
 * stack buffer.
 *
 * The decision follows IAM's "Policy evaluation logic" for the two policy
 * types runnel has (identity-based and resource-based); rn_policy_authorize
 * in policy.h states the order. */
#include "auth/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/policy_int.h"
#include "util/ascii.h"
#include "util/status.h"

/* ---------------------------------------------------------------- arena -- */

struct rn__arena_blk {
    struct rn__arena_blk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK 8192

void *rn__policy_alloc(rn_policy_t *p, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct rn__arena_blk *b = p->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = p->arena;
        b->used = 0;
        b->cap = cap;
        p->arena = b;
    }
    void *r = b->data + b->used;
    b->used += n;
    memset(r, 0, n);
    return r;
}

void rn__errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- patterns -- */

static int has_var(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '$' && s[i + 1] == '{' && memchr(s + i + 2, '}', len - i - 2))
            return 1;
    return 0;
}

int rn__policy_pat(rn_policy_t *p, const char *s, size_t len, int wild, rn__pat_t *out, char *err,
                   size_t errlen, const char *where)
{
    if (len > RN_POLICY_MAX_STRING) {
        rn__errf(err, errlen, "%s is longer than %d bytes", where, RN_POLICY_MAX_STRING);
        return RN_ETOOBIG;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            rn__errf(err, errlen, "%s contains a control character", where);
            return RN_EINVAL;
        }
    char *c = rn__policy_alloc(p, len + 1);
    if (!c)
        return RN_ENOMEM;
    out->has_vars = (uint8_t)(p->vars && has_var(s, len));
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (wild && !out->has_vars && ch == '*')
            ch = RN_PAT_STAR;
        else if (wild && !out->has_vars && ch == '?')
            ch = RN_PAT_ONE;
        c[i] = ch;
    }
    c[len] = 0;
    out->s = c;
    out->len = (uint32_t)len;
    return 0;
}

static int put(char *buf, size_t cap, size_t *n, char ch)
{
    if (*n >= cap)
        return -1;
    buf[(*n)++] = ch;
    return 0;
}

long rn__pat_expand(const rn__pat_t *pat, int wild, const rn_policy_ctx_t *ctx, char *buf, size_t cap)
{
    size_t n = 0;
    const char *s = pat->s, *end = pat->s + pat->len;
    if (!pat->has_vars) {
        if (pat->len > cap)
            return -2;
        memcpy(buf, s, pat->len);
        return (long)pat->len;
    }
    while (s < end) {
        if (s[0] == '$' && s + 1 < end && s[1] == '{') {
            const char *close = memchr(s + 2, '}', (size_t)(end - s - 2));
            if (close) {
                const char *k = s + 2;
                size_t klen = (size_t)(close - k);
                s = close + 1;
                if (klen == 1 && (*k == '*' || *k == '?' || *k == '$')) {
                    if (put(buf, cap, &n, *k))
                        return -2;
                    continue;
                }
                /* ${key} or ${key, 'default'} */
                const char *comma = memchr(k, ',', klen);
                const char *dflt = NULL;
                size_t dlen = 0, kl = comma ? (size_t)(comma - k) : klen;
                while (kl > 0 && k[kl - 1] == ' ')
                    kl--;
                if (comma) {
                    const char *d = comma + 1, *de = k + klen;
                    while (d < de && *d == ' ')
                        d++;
                    while (de > d && de[-1] == ' ')
                        de--;
                    if (de - d >= 2 && d[0] == '\'' && de[-1] == '\'') {
                        dflt = d + 1;
                        dlen = (size_t)(de - d - 2);
                    }
                }
                char key[256];
                if (kl == 0 || kl >= sizeof key)
                    return -1;
                memcpy(key, k, kl);
                key[kl] = 0;
                rn__vals_t v;
                rn__ctx_lookup(ctx, key, &v);
                const char *val = NULL;
                size_t vlen = 0;
                if (v.n == 1) {
                    val = rn__vals_at(&v, 0);
                    vlen = strlen(val);
                } else if (dflt) {
                    val = dflt;
                    vlen = dlen;
                } else {
                    return -1; /* absent (or multi-valued): the value matches nothing */
                }
                for (size_t i = 0; i < vlen; i++) {
                    /* a substituted value is literal text; a control byte in it
                     * must not pass for a coded wildcard */
                    char ch = val[i];
                    if (ch == RN_PAT_STAR || ch == RN_PAT_ONE)
                        return -1;
                    if (put(buf, cap, &n, ch))
                        return -2;
                }
                continue;
            }
        }
        char ch = *s++;
        if (wild && ch == '*')
            ch = RN_PAT_STAR;
        else if (wild && ch == '?')
            ch = RN_PAT_ONE;
        if (put(buf, cap, &n, ch))
            return -2;
    }
    return (long)n;
}

/* Iterative glob with one backtrack point (the last star): linear in
 * practice, O(plen * slen) at worst, with both bounded. */
int rn__glob(const char *pat, size_t plen, const char *s, size_t slen, int fold, char star, char one)
{
    size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
    while (si < slen) {
        if (pi < plen && pat[pi] == star) {
            star_p = pi++;
            star_s = si;
        } else if (pi < plen &&
                   (pat[pi] == one || pat[pi] == s[si] ||
                    (fold && rn_ascii_lower((unsigned char)pat[pi]) == rn_ascii_lower((unsigned char)s[si])))) {
            pi++;
            si++;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < plen && pat[pi] == star)
        pi++;
    return pi == plen;
}

int rn_policy_glob(const char *pat, size_t plen, const char *s, size_t slen, int fold)
{
    return rn__glob(pat, plen, s, slen, fold, '*', '?');
}

/* Does a compiled pattern match subj? fold for actions. */
static int pat_match(const rn__pat_t *pat, const rn_policy_ctx_t *ctx, const char *subj, int fold)
{
    char buf[4096];
    long n = rn__pat_expand(pat, 1, ctx, buf, sizeof buf);
    if (n < 0)
        return 0;
    return rn__glob(buf, (size_t)n, subj, strlen(subj), fold, RN_PAT_STAR, RN_PAT_ONE);
}

/* -------------------------------------------------------------- context -- */

void rn_policy_ctx_init(rn_policy_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->secure_transport = -1;
    ctx->now_ms = -1;
}

static int key_is(const char *a, const char *b)
{
    size_t n = strlen(b);
    return strlen(a) == n && rn_ascii_eq_ci(a, b, n);
}

void rn__ctx_lookup(const rn_policy_ctx_t *ctx, const char *key, rn__vals_t *v)
{
    v->list = NULL;
    v->one = NULL;
    v->n = 0;
    for (size_t i = 0; i < ctx->nkeys; i++)
        if (ctx->keys[i].key && key_is(ctx->keys[i].key, key)) {
            if (ctx->keys[i].nvalues > 0 && ctx->keys[i].values) {
                v->list = ctx->keys[i].values;
                v->n = ctx->keys[i].nvalues;
            }
            return;
        }
    const char *one = NULL;
    if (key_is(key, "aws:SourceIp"))
        one = ctx->source_ip;
    else if (key_is(key, "aws:PrincipalAccount"))
        one = ctx->principal_account;
    else if (key_is(key, "aws:PrincipalArn"))
        one = ctx->principal_arn;
    else if (key_is(key, "aws:username"))
        one = ctx->username;
    else if (key_is(key, "aws:userid"))
        one = ctx->userid;
    else if (key_is(key, "aws:SecureTransport") && ctx->secure_transport >= 0)
        one = ctx->secure_transport ? "true" : "false";
    else if (key_is(key, "aws:EpochTime") && ctx->now_ms >= 0) {
        snprintf(v->scratch, sizeof v->scratch, "%lld", (long long)(ctx->now_ms / 1000));
        one = v->scratch;
    } else if (key_is(key, "aws:CurrentTime") && ctx->now_ms >= 0) {
        time_t t = (time_t)(ctx->now_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(v->scratch, sizeof v->scratch, "%Y-%m-%dT%H:%M:%SZ", &tm);
        one = v->scratch;
    }
    if (one) {
        v->one = one;
        v->n = 1;
    }
}

/* ----------------------------------------------------------- compilation -- */

typedef struct cctx {
    rn_policy_t *p;
    char *err;
    size_t errlen;
} cctx_t;

static int count_element(cctx_t *c, const char *where)
{
    if (++c->p->elements > RN_POLICY_MAX_ELEMENTS) {
        rn__errf(c->err, c->errlen, "%s: the policy has more than %d values", where, RN_POLICY_MAX_ELEMENTS);
        return RN_ETOOBIG;
    }
    return 0;
}

/* A string or a non-empty array of strings -> its count and the array (or
 * NULL for a lone string). */
static int string_list(cctx_t *c, const json_t *v, const char *where, size_t *n)
{
    if (json_is_string(v)) {
        *n = 1;
        return 0;
    }
    if (json_is_array(v) && json_array_size(v) > 0) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e)) {
                rn__errf(c->err, c->errlen, "%s[%zu] must be a string", where, i);
                return RN_EINVAL;
            }
        }
        *n = json_array_size(v);
        return 0;
    }
    rn__errf(c->err, c->errlen, "%s must be a string or a non-empty array of strings", where);
    return RN_EINVAL;
}

static const json_t *list_at(const json_t *v, size_t i)
{
    return json_is_string(v) ? v : json_array_get(v, i);
}

static int valid_action(const char *s, size_t len)
{
    if (len == 1 && s[0] == '*')
        return 1;
    const char *colon = memchr(s, ':', len);
    if (!colon || colon == s || colon == s + len - 1)
        return 0;
    for (const char *q = s; q < colon; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '-'))
            return 0;
    return 1;
}

static int compile_actions(cctx_t *c, const json_t *v, const char *where, rn__stmt_t *st)
{
    int rc = string_list(c, v, where, &st->nactions);
    if (rc)
        return rc;
    st->actions = rn__policy_alloc(c->p, st->nactions * sizeof *st->actions);
    if (!st->actions)
        return RN_ENOMEM;
    for (size_t i = 0; i < st->nactions; i++) {
        const json_t *e = list_at(v, i);
        const char *s = json_string_value(e);
        size_t len = json_string_length(e);
        char w[128];
        snprintf(w, sizeof w, "%s[%zu]", where, i);
        if ((rc = count_element(c, w)))
            return rc;
        if (!valid_action(s, len)) {
            rn__errf(c->err, c->errlen, "%s \"%.64s\" must be \"*\" or \"service:action\"", w, s);
            return RN_EINVAL;
        }
        /* variables are not expanded in actions */
        int vars = c->p->vars;
        c->p->vars = 0;
        rc = rn__policy_pat(c->p, s, len, 1, &st->actions[i], c->err, c->errlen, w);
        c->p->vars = vars;
        if (rc)
            return rc;
    }
    return 0;
}

static int compile_resources(cctx_t *c, const json_t *v, const char *where, rn__stmt_t *st)
{
    int rc = string_list(c, v, where, &st->nresources);
    if (rc)
        return rc;
    st->has_resource = 1;
    st->resources = rn__policy_alloc(c->p, st->nresources * sizeof *st->resources);
    if (!st->resources)
        return RN_ENOMEM;
    for (size_t i = 0; i < st->nresources; i++) {
        const json_t *e = list_at(v, i);
        const char *s = json_string_value(e);
        size_t len = json_string_length(e);
        char w[128];
        snprintf(w, sizeof w, "%s[%zu]", where, i);
        if ((rc = count_element(c, w)))
            return rc;
        if (!(len == 1 && s[0] == '*') && !(len >= 4 && memcmp(s, "arn:", 4) == 0)) {
            rn__errf(c->err, c->errlen, "%s \"%.64s\" must be \"*\" or an ARN (arn:...)", w, s);
            return RN_EINVAL;
        }
        if ((rc = rn__policy_pat(c->p, s, len, 1, &st->resources[i], c->err, c->errlen, w)))
            return rc;
    }
    return 0;
}

static int is_account_id(const char *s, size_t len)
{
    if (len != 12)
        return 0;
    for (size_t i = 0; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "arn:<partition>:iam::<12 digits>:root" -> the account's digits. */
static const char *root_account(const char *s, size_t len)
{
    if (len < 4 || memcmp(s, "arn:", 4) != 0)
        return NULL;
    const char *part_end = memchr(s + 4, ':', len - 4);
    if (!part_end)
        return NULL;
    const char *r = part_end + 1, *end = s + len;
    if (end - r != 5 + 12 + 5 || memcmp(r, "iam::", 5) != 0 || memcmp(end - 5, ":root", 5) != 0)
        return NULL;
    return is_account_id(r + 5, 12) ? r + 5 : NULL;
}

static int add_principal(cctx_t *c, rn__princ_t *pr, int aws, const char *s, size_t len, const char *w)
{
    const char *acct = NULL;
    if (aws && len == 1 && s[0] == '*') {
        pr->kind = RN_PR_ANY;
        return 0;
    }
    if (len == 0 || len > RN_POLICY_MAX_STRING) {
        rn__errf(c->err, c->errlen, "%s must be a non-empty string of at most %d bytes", w, RN_POLICY_MAX_STRING);
        return len ? RN_ETOOBIG : RN_EINVAL;
    }
    char *copy = rn__policy_alloc(c->p, len + 1);
    if (!copy)
        return RN_ENOMEM;
    if (!aws) {
        memcpy(copy, s, len);
        pr->kind = RN_PR_OTHER;
        pr->s = copy;
        return 0;
    }
    if (is_account_id(s, len) || (acct = root_account(s, len)) != NULL) {
        memcpy(copy, is_account_id(s, len) ? s : acct, 12);
        copy[12] = 0;
        pr->kind = RN_PR_ACCOUNT;
        pr->s = copy;
        return 0;
    }
    if (len < 4 || memcmp(s, "arn:", 4) != 0 || memchr(s, '*', len) || memchr(s, '?', len)) {
        rn__errf(c->err, c->errlen,
                 "%s \"%.64s\" must be \"*\", a 12-digit account ID or an ARN without wildcards", w, s);
        return RN_EINVAL;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20) {
            rn__errf(c->err, c->errlen, "%s contains a control character", w);
            return RN_EINVAL;
        }
    memcpy(copy, s, len);
    pr->kind = RN_PR_ARN;
    pr->s = copy;
    return 0;
}

static int compile_principal(cctx_t *c, const json_t *v, const char *where, rn__stmt_t *st)
{
    int rc;
    st->has_principal = 1;
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*") != 0) {
            rn__errf(c->err, c->errlen, "%s must be \"*\" or an object such as {\"AWS\": ...}", where);
            return RN_EINVAL;
        }
        if ((rc = count_element(c, where)))
            return rc;
        st->principals = rn__policy_alloc(c->p, sizeof *st->principals);
        if (!st->principals)
            return RN_ENOMEM;
        st->nprincipals = 1;
        st->principals[0].kind = RN_PR_ANY;
        return 0;
    }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        rn__errf(c->err, c->errlen, "%s must be \"*\" or an object such as {\"AWS\": ...}", where);
        return RN_EINVAL;
    }
    size_t total = 0, n;
    const char *k;
    const json_t *e;
    json_object_foreach((json_t *)v, k, e)
    {
        char w[128];
        snprintf(w, sizeof w, "%s.%.32s", where, k);
        if (strcmp(k, "AWS") && strcmp(k, "Service") && strcmp(k, "Federated") && strcmp(k, "CanonicalUser")) {
            rn__errf(c->err, c->errlen, "%s: unknown principal type (expected AWS, Service, Federated or CanonicalUser)", w);
            return RN_EINVAL;
        }
        if ((rc = string_list(c, e, w, &n)))
            return rc;
        total += n;
    }
    st->principals = rn__policy_alloc(c->p, total * sizeof *st->principals);
    if (!st->principals)
        return RN_ENOMEM;
    json_object_foreach((json_t *)v, k, e)
    {
        n = json_is_string(e) ? 1 : json_array_size(e); /* checked above */
        for (size_t i = 0; i < n; i++) {
            const json_t *s = list_at(e, i);
            char w[160];
            snprintf(w, sizeof w, "%s.%.32s[%zu]", where, k, i);
            if ((rc = count_element(c, w)))
                return rc;
            if ((rc = add_principal(c, &st->principals[st->nprincipals], strcmp(k, "AWS") == 0,
                                    json_string_value(s), json_string_length(s), w)))
                return rc;
            st->nprincipals++;
        }
    }
    return 0;
}

static int compile_statement(cctx_t *c, const json_t *s, size_t idx, rn__stmt_t *st)
{
    char where[64];
    snprintf(where, sizeof where, "Statement[%zu]", idx);
    if (!json_is_object(s)) {
        rn__errf(c->err, c->errlen, "%s must be an object", where);
        return RN_EINVAL;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)s, k, v)
    {
        if (strcmp(k, "Sid") && strcmp(k, "Effect") && strcmp(k, "Action") && strcmp(k, "NotAction") &&
            strcmp(k, "Resource") && strcmp(k, "NotResource") && strcmp(k, "Principal") &&
            strcmp(k, "NotPrincipal") && strcmp(k, "Condition")) {
            rn__errf(c->err, c->errlen, "%s: unknown element \"%.64s\"", where, k);
            return RN_EINVAL;
        }
    }
    const json_t *sid = json_object_get(s, "Sid");
    if (sid && !json_is_string(sid)) {
        rn__errf(c->err, c->errlen, "%s.Sid must be a string", where);
        return RN_EINVAL;
    }
    const json_t *eff = json_object_get(s, "Effect");
    if (!json_is_string(eff) ||
        (strcmp(json_string_value(eff), "Allow") != 0 && strcmp(json_string_value(eff), "Deny") != 0)) {
        rn__errf(c->err, c->errlen, "%s.Effect must be \"Allow\" or \"Deny\"", where);
        return RN_EINVAL;
    }
    st->deny = strcmp(json_string_value(eff), "Deny") == 0;

    char w[80];
    int rc;
    const json_t *a = json_object_get(s, "Action"), *na = json_object_get(s, "NotAction");
    if (!!a == !!na) {
        rn__errf(c->err, c->errlen, "%s must have exactly one of Action and NotAction", where);
        return RN_EINVAL;
    }
    st->not_action = na != NULL;
    snprintf(w, sizeof w, "%s.%s", where, a ? "Action" : "NotAction");
    if ((rc = compile_actions(c, a ? a : na, w, st)))
        return rc;

    const json_t *r = json_object_get(s, "Resource"), *nr = json_object_get(s, "NotResource");
    if (r && nr) {
        rn__errf(c->err, c->errlen, "%s must not have both Resource and NotResource", where);
        return RN_EINVAL;
    }
    if (!r && !nr && c->p->kind == RN_POLICY_IDENTITY) {
        rn__errf(c->err, c->errlen, "%s must have Resource or NotResource", where);
        return RN_EINVAL;
    }
    if (r || nr) {
        st->not_resource = nr != NULL;
        snprintf(w, sizeof w, "%s.%s", where, r ? "Resource" : "NotResource");
        if ((rc = compile_resources(c, r ? r : nr, w, st)))
            return rc;
    }

    const json_t *pr = json_object_get(s, "Principal"), *npr = json_object_get(s, "NotPrincipal");
    if (c->p->kind == RN_POLICY_IDENTITY && (pr || npr)) {
        rn__errf(c->err, c->errlen, "%s: an identity-based policy must not have %s", where,
                 pr ? "Principal" : "NotPrincipal");
        return RN_EINVAL;
    }
    if (c->p->kind == RN_POLICY_RESOURCE) {
        if (!!pr == !!npr) {
            rn__errf(c->err, c->errlen, "%s must have exactly one of Principal and NotPrincipal", where);
            return RN_EINVAL;
        }
        st->not_principal = npr != NULL;
        snprintf(w, sizeof w, "%s.%s", where, pr ? "Principal" : "NotPrincipal");
        if ((rc = compile_principal(c, pr ? pr : npr, w, st)))
            return rc;
    }

    const json_t *cond = json_object_get(s, "Condition");
    if (cond) {
        snprintf(w, sizeof w, "%s.Condition", where);
        if (!json_is_object(cond)) {
            rn__errf(c->err, c->errlen, "%s must be an object", w);
            return RN_EINVAL;
        }
        /* one rn__cond_t per (operator, key): count them to allocate no more */
        size_t pairs = 0;
        json_object_foreach((json_t *)cond, k, v)
        {
            pairs += json_is_object(v) ? json_object_size(v) : 0;
        }
        if (pairs > RN_POLICY_MAX_CONDITIONS)
            pairs = RN_POLICY_MAX_CONDITIONS; /* rn__cond_compile reports the excess */
        st->conds = rn__policy_alloc(c->p, (pairs ? pairs : 1) * sizeof *st->conds);
        if (!st->conds)
            return RN_ENOMEM;
        json_object_foreach((json_t *)cond, k, v)
        {
            if ((rc = rn__cond_compile(c->p, k, v, st->conds, &st->nconds, pairs, c->err, c->errlen, w)))
                return rc;
        }
    }
    return 0;
}

int rn_policy_compile(const json_t *doc, rn_policy_kind_t kind, rn_policy_t **out, char *err, size_t errlen)
{
    *out = NULL;
    rn__errf(err, errlen, "%s", "");
    if (!json_is_object(doc)) {
        rn__errf(err, errlen, "the policy must be a JSON object");
        return RN_EINVAL;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (strcmp(k, "Version") && strcmp(k, "Id") && strcmp(k, "Statement")) {
            rn__errf(err, errlen, "unknown top-level element \"%.64s\"", k);
            return RN_EINVAL;
        }
    }
    const json_t *ver = json_object_get(doc, "Version");
    int vars = 0;
    if (ver) {
        const char *vs = json_is_string(ver) ? json_string_value(ver) : "";
        if (strcmp(vs, "2012-10-17") == 0)
            vars = 1;
        else if (strcmp(vs, "2008-10-17") != 0) {
            rn__errf(err, errlen, "Version must be \"2012-10-17\" or \"2008-10-17\"");
            return RN_EINVAL;
        }
    }
    const json_t *id = json_object_get(doc, "Id");
    if (id && !json_is_string(id)) {
        rn__errf(err, errlen, "Id must be a string");
        return RN_EINVAL;
    }
    const json_t *stmts = json_object_get(doc, "Statement");
    size_t n;
    if (json_is_object(stmts))
        n = 1;
    else if (json_is_array(stmts) && json_array_size(stmts) > 0)
        n = json_array_size(stmts);
    else {
        rn__errf(err, errlen, "Statement must be an object or a non-empty array of objects");
        return RN_EINVAL;
    }
    if (n > RN_POLICY_MAX_STATEMENTS) {
        rn__errf(err, errlen, "the policy has %zu statements, more than %d", n, RN_POLICY_MAX_STATEMENTS);
        return RN_ETOOBIG;
    }
    rn_policy_t *p = calloc(1, sizeof *p);
    if (!p)
        return RN_ENOMEM;
    p->kind = kind;
    p->vars = vars;
    cctx_t c = {p, err, errlen};
    int rc = 0;
    p->stmts = rn__policy_alloc(p, n * sizeof *p->stmts);
    if (!p->stmts)
        rc = RN_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        const json_t *s = json_is_object(stmts) ? stmts : json_array_get(stmts, i);
        rc = compile_statement(&c, s, i, &p->stmts[i]);
        p->nstmts = i + 1;
    }
    if (rc) {
        if (rc == RN_ENOMEM)
            rn__errf(err, errlen, "out of memory");
        rn_policy_destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

int rn_policy_parse(const char *text, size_t len, rn_policy_kind_t kind, rn_policy_t **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (len > RN_POLICY_MAX_BYTES) {
        rn__errf(err, errlen, "the policy is %zu bytes, more than %d", len, RN_POLICY_MAX_BYTES);
        return RN_ETOOBIG;
    }
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        rn__errf(err, errlen, "the policy is not valid JSON: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        return RN_EINVAL;
    }
    int rc = rn_policy_compile(doc, kind, out, err, errlen);
    json_decref(doc);
    return rc;
}

void rn_policy_destroy(rn_policy_t *p)
{
    if (!p)
        return;
    struct rn__arena_blk *b = p->arena;
    while (b) {
        struct rn__arena_blk *next = b->next;
        free(b);
        b = next;
    }
    free(p);
}

size_t rn_policy_statement_count(const rn_policy_t *p)
{
    return p->nstmts;
}

rn_policy_kind_t rn_policy_get_kind(const rn_policy_t *p)
{
    return p->kind;
}

/* ------------------------------------------------------------ evaluation -- */

/* Is the principal the root of its own account? */
static int principal_is_root(const rn_policy_ctx_t *ctx)
{
    if (!ctx->principal_arn || !ctx->principal_account)
        return 0;
    const char *acct = root_account(ctx->principal_arn, strlen(ctx->principal_arn));
    return acct && memcmp(acct, ctx->principal_account, 12) == 0 && strlen(ctx->principal_account) == 12;
}

/* 0: no entry matches; 1: an entry names only the principal's account;
 * 2: an entry names the principal ("*", its ARN, its role, or the account
 * when the principal is that account's root). */
static int principal_level(const rn__stmt_t *st, const rn_policy_ctx_t *ctx)
{
    int best = 0;
    for (size_t i = 0; i < st->nprincipals; i++) {
        const rn__princ_t *pr = &st->principals[i];
        int l = 0;
        switch (pr->kind) {
        case RN_PR_ANY:
            l = 2;
            break;
        case RN_PR_ARN:
            if ((ctx->principal_arn && strcmp(pr->s, ctx->principal_arn) == 0) ||
                (ctx->principal_role_arn && strcmp(pr->s, ctx->principal_role_arn) == 0))
                l = 2;
            break;
        case RN_PR_ACCOUNT:
            if (ctx->principal_account && strcmp(pr->s, ctx->principal_account) == 0)
                l = principal_is_root(ctx) ? 2 : 1;
            break;
        default:
            break;
        }
        if (l > best)
            best = l;
    }
    return best;
}

/* Does the statement apply? *level gets the principal level (2 for
 * identity policies, which speak for their principal). */
static int stmt_applies(const rn_policy_t *p, const rn__stmt_t *st, const rn_policy_ctx_t *ctx, int *level)
{
    int any = 0;
    for (size_t i = 0; i < st->nactions && !any; i++)
        any = pat_match(&st->actions[i], ctx, ctx->action, 1);
    if (any == st->not_action)
        return 0;
    if (st->has_resource) {
        any = 0;
        for (size_t i = 0; i < st->nresources && !any; i++)
            any = pat_match(&st->resources[i], ctx, ctx->resource, 0);
        if (any == st->not_resource)
            return 0;
    }
    *level = 2;
    if (st->has_principal) {
        int l = principal_level(st, ctx);
        if (st->not_principal)
            l = l ? 0 : 2;
        if (!l)
            return 0;
        *level = l;
    }
    for (size_t i = 0; i < st->nconds; i++)
        if (!rn__cond_eval(p, &st->conds[i], ctx))
            return 0;
    return 1;
}

void rn_policy_evaluate(const rn_policy_t *p, const rn_policy_ctx_t *ctx, rn_policy_match_t *m)
{
    memset(m, 0, sizeof *m);
    if (!ctx->action || !ctx->resource)
        return;
    for (size_t i = 0; i < p->nstmts; i++) {
        const rn__stmt_t *st = &p->stmts[i];
        int level = 0;
        if (!stmt_applies(p, st, ctx, &level))
            continue;
        if (st->deny) {
            m->denies = 1;
            return; /* nothing outweighs it */
        }
        m->allows = 1;
        if (level == 2)
            m->allow_names_principal = 1;
    }
}

rn_authz_t rn_policy_authorize(const rn_policy_t *const *identity, size_t nidentity,
                               const rn_policy_t *resource, const rn_policy_ctx_t *ctx)
{
    int id_allow = 0;
    for (size_t i = 0; i < nidentity; i++) {
        rn_policy_match_t m;
        if (!identity[i])
            continue;
        rn_policy_evaluate(identity[i], ctx, &m);
        if (m.denies)
            return RN_AUTHZ_EXPLICIT_DENY_IDENTITY;
        id_allow |= m.allows;
    }
    rn_policy_match_t rm = {0, 0, 0};
    if (resource) {
        rn_policy_evaluate(resource, ctx, &rm);
        if (rm.denies)
            return RN_AUTHZ_EXPLICIT_DENY_RESOURCE;
    }
    const char *res_acct = ctx->resource_account ? ctx->resource_account : ctx->principal_account;
    int root = principal_is_root(ctx);
    int same = ctx->principal_account && res_acct && strcmp(ctx->principal_account, res_acct) == 0;
    if (same)
        return (root || id_allow || rm.allow_names_principal) ? RN_AUTHZ_ALLOW : RN_AUTHZ_IMPLICIT_DENY_IDENTITY;
    if (!id_allow && !root)
        return RN_AUTHZ_IMPLICIT_DENY_IDENTITY;
    return rm.allows ? RN_AUTHZ_ALLOW : RN_AUTHZ_IMPLICIT_DENY_RESOURCE;
}

const char *rn_authz_name(rn_authz_t d)
{
    switch (d) {
    case RN_AUTHZ_ALLOW:
        return "allow";
    case RN_AUTHZ_IMPLICIT_DENY_IDENTITY:
        return "implicit-deny-identity";
    case RN_AUTHZ_IMPLICIT_DENY_RESOURCE:
        return "implicit-deny-resource";
    case RN_AUTHZ_EXPLICIT_DENY_IDENTITY:
        return "explicit-deny-identity";
    case RN_AUTHZ_EXPLICIT_DENY_RESOURCE:
        return "explicit-deny-resource";
    }
    return "?";
}

int rn_policy_message(rn_buf_t *out, rn_authz_t d, const char *principal_arn, const char *action,
                      const char *resource)
{
    const char *who = principal_arn ? principal_arn : "anonymous";
    const char *res = resource ? resource : "*";
    switch (d) {
    case RN_AUTHZ_IMPLICIT_DENY_IDENTITY:
    case RN_AUTHZ_IMPLICIT_DENY_RESOURCE:
        return rn_buf_printf(out,
                             "User: %s is not authorized to perform: %s on resource: %s because no %s policy "
                             "allows the %s action",
                             who, action, res, d == RN_AUTHZ_IMPLICIT_DENY_IDENTITY ? "identity-based" : "resource-based",
                             action);
    case RN_AUTHZ_EXPLICIT_DENY_IDENTITY:
    case RN_AUTHZ_EXPLICIT_DENY_RESOURCE:
        return rn_buf_printf(out,
                             "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in "
                             "%s policy",
                             who, action, res,
                             d == RN_AUTHZ_EXPLICIT_DENY_IDENTITY ? "an identity-based" : "a resource-based");
    default:
        return RN_EINVAL;
    }
}
