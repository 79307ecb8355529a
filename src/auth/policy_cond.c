/* policy_cond.c: the Condition element -- operators, typed values, and
 * their evaluation against the request context.
 *
 * A block {"Operator": {"key": value | [values], ...}, ...} compiles to one
 * rn__cond_t per (operator, key). Values are typed once (number, date, CIDR,
 * boolean) so evaluation only parses the context's side. The semantics are
 * the IAM User Guide's ("IAM JSON policy elements: Condition operators",
 * "Condition keys with multiple values"):
 *  - several values for one key are OR'ed; for a negated operator
 *    (StringNotEquals, ArnNotLike, NotIpAddress, ...) the key must match
 *    none of them;
 *  - the pairs of a block are AND'ed (rn__cond_eval is called per pair);
 *  - a key missing from the context (or an empty set): ForAllValues is
 *    true (vacuously) and ForAnyValue false, with or without IfExists;
 *    otherwise ...IfExists is true, Null tests just that, a negated
 *    operator is true and a positive one false;
 *  - ForAnyValue: some context value satisfies the operator; ForAllValues:
 *    every context value does; without a qualifier a multi-valued key
 *    matches when any of its values does (negated: none does). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy_int.h"
#include "util/ascii.h"
#include "util/status.h"

static const struct {
    const char *name;
    uint8_t op, negated;
} ops[] = {
    {"StringEquals", RN_COP_STR_EQ, 0},
    {"StringNotEquals", RN_COP_STR_EQ, 1},
    {"StringEqualsIgnoreCase", RN_COP_STR_EQ_CI, 0},
    {"StringNotEqualsIgnoreCase", RN_COP_STR_EQ_CI, 1},
    {"StringLike", RN_COP_STR_LIKE, 0},
    {"StringNotLike", RN_COP_STR_LIKE, 1},
    {"ArnEquals", RN_COP_ARN, 0},
    {"ArnLike", RN_COP_ARN, 0},
    {"ArnNotEquals", RN_COP_ARN, 1},
    {"ArnNotLike", RN_COP_ARN, 1},
    {"NumericEquals", RN_COP_NUM_EQ, 0},
    {"NumericNotEquals", RN_COP_NUM_EQ, 1},
    {"NumericLessThan", RN_COP_NUM_LT, 0},
    {"NumericLessThanEquals", RN_COP_NUM_LE, 0},
    {"NumericGreaterThan", RN_COP_NUM_GT, 0},
    {"NumericGreaterThanEquals", RN_COP_NUM_GE, 0},
    {"DateEquals", RN_COP_DATE_EQ, 0},
    {"DateNotEquals", RN_COP_DATE_EQ, 1},
    {"DateLessThan", RN_COP_DATE_LT, 0},
    {"DateLessThanEquals", RN_COP_DATE_LE, 0},
    {"DateGreaterThan", RN_COP_DATE_GT, 0},
    {"DateGreaterThanEquals", RN_COP_DATE_GE, 0},
    {"Bool", RN_COP_BOOL, 0},
    {"IpAddress", RN_COP_IP, 0},
    {"NotIpAddress", RN_COP_IP, 1},
    {"Null", RN_COP_NULL, 0},
};

/* ------------------------------------------------------------- parsing -- */

static int parse_num(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return RN_EINVAL;
    memcpy(buf, s, len);
    buf[len] = 0;
    for (size_t i = 0; i < len; i++)
        if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '-' || buf[i] == '+' || buf[i] == '.' ||
              buf[i] == 'e' || buf[i] == 'E'))
            return RN_EINVAL;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + len || errno || !isfinite(d))
        return RN_EINVAL;
    *out = d;
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int rn_policy_parse_date(const char *s, size_t len, int64_t *ms)
{
    if (len == 0 || len > 64)
        return RN_EINVAL;
    /* epoch seconds: digits, optionally signed, optionally with a fraction */
    int epoch = 1;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || (i == 0 && s[i] == '-')))
            epoch = 0;
    if (epoch) {
        double d;
        if (parse_num(s, len, &d) || fabs(d) > 9.0e12)
            return RN_EINVAL;
        *ms = (int64_t)llround(d * 1000.0);
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
    if (len < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d))
        return RN_EINVAL;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return RN_EINVAL;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return RN_EINVAL;
    size_t i = 10;
    int64_t off_s = 0;
    if (i < len) {
        if (s[i] != 'T' || len < i + 6 || digits(s + i + 1, 2, &h) || s[i + 3] != ':' ||
            digits(s + i + 4, 2, &mi))
            return RN_EINVAL;
        i += 6;
        if (i < len && s[i] == ':') {
            if (len < i + 3 || digits(s + i + 1, 2, &sec))
                return RN_EINVAL;
            i += 3;
            if (i < len && (s[i] == '.' || s[i] == ',')) {
                size_t j = i + 1, nd = 0;
                int scale = 100;
                while (j < len && s[j] >= '0' && s[j] <= '9') {
                    if (nd < 3) {
                        frac_ms += (s[j] - '0') * scale;
                        scale /= 10;
                    }
                    nd++;
                    j++;
                }
                if (nd == 0)
                    return RN_EINVAL;
                i = j;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return RN_EINVAL;
        if (i < len) {
            if (s[i] == 'Z' && i + 1 == len) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int oh, om;
                int sign = s[i] == '-' ? -1 : 1;
                if (len == i + 6 && s[i + 3] == ':' && !digits(s + i + 1, 2, &oh) && !digits(s + i + 4, 2, &om))
                    ;
                else if (len == i + 5 && !digits(s + i + 1, 2, &oh) && !digits(s + i + 3, 2, &om))
                    ;
                else if (len == i + 3 && !digits(s + i + 1, 2, &oh))
                    om = 0;
                else
                    return RN_EINVAL;
                if (oh > 23 || om > 59)
                    return RN_EINVAL;
                off_s = sign * (oh * 3600 + om * 60);
                i = len;
            } else {
                return RN_EINVAL;
            }
        }
    }
    if (i != len)
        return RN_EINVAL;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - off_s) * 1000 + frac_ms;
    return 0;
}

/* "10.0.0.0/8", "2001:db8::/32", or a bare address (all its bits). */
static int parse_ip(const char *s, size_t len, int cidr, uint8_t *family, uint8_t *bits, uint8_t addr[16])
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return RN_EINVAL;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *slash = strchr(buf, '/');
    int prefix = -1;
    if (slash) {
        if (!cidr || slash[1] == 0 || strlen(slash + 1) > 3 || digits(slash + 1, strlen(slash + 1), &prefix))
            return RN_EINVAL;
        *slash = 0;
    }
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = 4;
        if (prefix > 32)
            return RN_EINVAL;
        *bits = (uint8_t)(prefix < 0 ? 32 : prefix);
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = 6;
        if (prefix > 128)
            return RN_EINVAL;
        *bits = (uint8_t)(prefix < 0 ? 128 : prefix);
        return 0;
    }
    return RN_EINVAL;
}

static int parse_bool(const char *s, size_t len, int *b)
{
    if (len == 4 && rn_ascii_eq_ci(s, "true", 4))
        *b = 1;
    else if (len == 5 && rn_ascii_eq_ci(s, "false", 5))
        *b = 0;
    else
        return RN_EINVAL;
    return 0;
}

static int is_string_op(int op)
{
    return op == RN_COP_STR_EQ || op == RN_COP_STR_EQ_CI || op == RN_COP_STR_LIKE || op == RN_COP_ARN;
}

static int compile_value(rn_policy_t *p, const rn__cond_t *c, const json_t *v, rn__cval_t *out, char *err,
                         size_t errlen, const char *where)
{
    char num[64];
    const char *s;
    size_t len;
    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_integer(v)) {
        len = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        len = (size_t)snprintf(num, sizeof num, "%.17g", json_real_value(v));
        s = num;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
        len = strlen(s);
    } else {
        rn__errf(err, errlen, "%s must be a string, number or boolean", where);
        return RN_EINVAL;
    }
    int wild = c->op == RN_COP_STR_LIKE || c->op == RN_COP_ARN;
    int vars = p->vars;
    if (!is_string_op(c->op))
        p->vars = 0; /* variables only in string and ARN values */
    int rc = rn__policy_pat(p, s, len, wild, &out->str, err, errlen, where);
    p->vars = vars;
    if (rc)
        return rc;
    switch (c->op) {
    case RN_COP_NUM_EQ:
    case RN_COP_NUM_LT:
    case RN_COP_NUM_LE:
    case RN_COP_NUM_GT:
    case RN_COP_NUM_GE:
        rc = parse_num(s, len, &out->u.num);
        if (rc)
            rn__errf(err, errlen, "%s \"%.64s\" is not a number", where, s);
        break;
    case RN_COP_DATE_EQ:
    case RN_COP_DATE_LT:
    case RN_COP_DATE_LE:
    case RN_COP_DATE_GT:
    case RN_COP_DATE_GE:
        rc = rn_policy_parse_date(s, len, &out->u.ms);
        if (rc)
            rn__errf(err, errlen, "%s \"%.64s\" is not an ISO 8601 date or epoch seconds", where, s);
        break;
    case RN_COP_BOOL:
    case RN_COP_NULL:
        rc = parse_bool(s, len, &out->u.b);
        if (rc)
            rn__errf(err, errlen, "%s \"%.64s\" must be \"true\" or \"false\"", where, s);
        break;
    case RN_COP_IP:
        rc = parse_ip(s, len, 1, &out->u.ip.family, &out->u.ip.bits, out->u.ip.addr);
        if (rc)
            rn__errf(err, errlen, "%s \"%.64s\" is not an IPv4 or IPv6 address or CIDR block", where, s);
        break;
    default:
        break;
    }
    return rc;
}

static int has_prefix_ci(const char *s, size_t len, const char *pre)
{
    size_t n = strlen(pre);
    return len >= n && rn_ascii_eq_ci(s, pre, n);
}

int rn__cond_compile(rn_policy_t *p, const char *opname, const json_t *block, rn__cond_t *conds,
                     size_t *nconds, size_t cap, char *err, size_t errlen, const char *where)
{
    const char *name = opname;
    size_t len = strlen(name);
    uint8_t set = RN_SET_NONE, ifexists = 0;
    if (has_prefix_ci(name, len, "ForAnyValue:")) {
        set = RN_SET_ANY;
        name += 12;
        len -= 12;
    } else if (has_prefix_ci(name, len, "ForAllValues:")) {
        set = RN_SET_ALL;
        name += 13;
        len -= 13;
    }
    if (len > 8 && rn_ascii_eq_ci(name + len - 8, "IfExists", 8)) {
        ifexists = 1;
        len -= 8;
    }
    int found = -1;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strlen(ops[i].name) == len && rn_ascii_eq_ci(ops[i].name, name, len))
            found = (int)i;
    if (found < 0) {
        rn__errf(err, errlen, "%s: unknown or unsupported condition operator \"%.64s\"", where, opname);
        return RN_EINVAL;
    }
    if (ops[found].op == RN_COP_NULL && (ifexists || set)) {
        rn__errf(err, errlen, "%s: Null takes neither IfExists nor a set qualifier", where);
        return RN_EINVAL;
    }
    if (!json_is_object(block) || json_object_size(block) == 0) {
        rn__errf(err, errlen, "%s.%s must be a non-empty object of condition keys", where, opname);
        return RN_EINVAL;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)block, key, v)
    {
        char w[160];
        snprintf(w, sizeof w, "%s.%s.%.64s", where, opname, key);
        if (*nconds >= cap) {
            rn__errf(err, errlen, "%s: a statement may have at most %d condition keys", w, RN_POLICY_MAX_CONDITIONS);
            return RN_ETOOBIG;
        }
        size_t klen = strlen(key);
        if (klen == 0 || klen > 255) {
            rn__errf(err, errlen, "%s: a condition key must have 1 to 255 bytes", w);
            return RN_EINVAL;
        }
        rn__cond_t *c = &conds[*nconds];
        c->op = ops[found].op;
        c->negated = ops[found].negated;
        c->ifexists = ifexists;
        c->set = set;
        char *k = rn__policy_alloc(p, klen + 1);
        if (!k)
            return RN_ENOMEM;
        memcpy(k, key, klen + 1);
        c->key = k;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        if (n == 0) {
            rn__errf(err, errlen, "%s must not be an empty array", w);
            return RN_EINVAL;
        }
        p->elements += n;
        if (p->elements > RN_POLICY_MAX_ELEMENTS) {
            rn__errf(err, errlen, "%s: the policy has more than %d values", w, RN_POLICY_MAX_ELEMENTS);
            return RN_ETOOBIG;
        }
        c->vals = rn__policy_alloc(p, n * sizeof *c->vals);
        if (!c->vals)
            return RN_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            char wi[200];
            snprintf(wi, sizeof wi, "%s[%zu]", w, i);
            int rc = compile_value(p, c, json_is_array(v) ? json_array_get(v, i) : v, &c->vals[i], err, errlen,
                                   json_is_array(v) ? wi : w);
            if (rc)
                return rc;
        }
        c->nvals = n;
        (*nconds)++;
    }
    return 0;
}

/* ----------------------------------------------------------- evaluation -- */

/* Split an ARN into its six parts (the resource keeps its colons). */
static int arn_split(const char *s, size_t len, const char *part[6], size_t plen[6])
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i < len && k < 5; i++)
        if (s[i] == ':') {
            part[k] = s + start;
            plen[k++] = i - start;
            start = i + 1;
        }
    if (k != 5)
        return -1;
    part[5] = s + start;
    plen[5] = len - start;
    return 0;
}

static int match_one(const rn__cond_t *c, const rn__cval_t *v, const rn_policy_ctx_t *ctx, const char *x)
{
    size_t xlen = strlen(x);
    if (is_string_op(c->op)) {
        char buf[4096];
        int wild = c->op == RN_COP_STR_LIKE || c->op == RN_COP_ARN;
        long n = rn__pat_expand(&v->str, wild, ctx, buf, sizeof buf);
        if (n < 0)
            return 0;
        switch (c->op) {
        case RN_COP_STR_EQ:
            return (size_t)n == xlen && memcmp(buf, x, xlen) == 0;
        case RN_COP_STR_EQ_CI:
            return (size_t)n == xlen && rn_ascii_eq_ci(buf, x, xlen);
        case RN_COP_STR_LIKE:
            return rn__glob(buf, (size_t)n, x, xlen, 0, RN_PAT_STAR, RN_PAT_ONE);
        default: {
            const char *pp[6], *xp[6];
            size_t pl[6], xl[6];
            if (arn_split(buf, (size_t)n, pp, pl) || arn_split(x, xlen, xp, xl))
                return 0;
            for (int i = 0; i < 6; i++)
                if (!rn__glob(pp[i], pl[i], xp[i], xl[i], 0, RN_PAT_STAR, RN_PAT_ONE))
                    return 0;
            return 1;
        }
        }
    }
    switch (c->op) {
    case RN_COP_NUM_EQ:
    case RN_COP_NUM_LT:
    case RN_COP_NUM_LE:
    case RN_COP_NUM_GT:
    case RN_COP_NUM_GE: {
        double d;
        if (parse_num(x, xlen, &d))
            return 0;
        double w = v->u.num;
        return c->op == RN_COP_NUM_EQ ? d == w
             : c->op == RN_COP_NUM_LT ? d < w
             : c->op == RN_COP_NUM_LE ? d <= w
             : c->op == RN_COP_NUM_GT ? d > w
                                      : d >= w;
    }
    case RN_COP_DATE_EQ:
    case RN_COP_DATE_LT:
    case RN_COP_DATE_LE:
    case RN_COP_DATE_GT:
    case RN_COP_DATE_GE: {
        int64_t t;
        if (rn_policy_parse_date(x, xlen, &t))
            return 0;
        int64_t w = v->u.ms;
        return c->op == RN_COP_DATE_EQ ? t == w
             : c->op == RN_COP_DATE_LT ? t < w
             : c->op == RN_COP_DATE_LE ? t <= w
             : c->op == RN_COP_DATE_GT ? t > w
                                       : t >= w;
    }
    case RN_COP_BOOL: {
        int b;
        return !parse_bool(x, xlen, &b) && b == v->u.b;
    }
    case RN_COP_IP: {
        uint8_t fam, bits, addr[16];
        if (parse_ip(x, xlen, 0, &fam, &bits, addr))
            return 0;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (fam == 6 && v->u.ip.family == 4 && memcmp(addr, v4mapped, 12) == 0) {
            /* a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d */
            memmove(addr, addr + 12, 4);
            memset(addr + 4, 0, 12);
            fam = 4;
        }
        if (fam != v->u.ip.family)
            return 0;
        unsigned full = v->u.ip.bits / 8, rest = v->u.ip.bits % 8;
        if (memcmp(addr, v->u.ip.addr, full) != 0)
            return 0;
        if (rest) {
            uint8_t mask = (uint8_t)(0xff << (8 - rest));
            if ((addr[full] & mask) != (v->u.ip.addr[full] & mask))
                return 0;
        }
        return 1;
    }
    default:
        return 0;
    }
}

int rn__cond_eval(const rn_policy_t *p, const rn__cond_t *c, const rn_policy_ctx_t *ctx)
{
    (void)p;
    rn__vals_t v;
    rn__ctx_lookup(ctx, c->key, &v);
    if (c->op == RN_COP_NULL) {
        /* "true": the key must be absent; "false": present. Values OR'ed. */
        for (size_t i = 0; i < c->nvals; i++)
            if (c->vals[i].u.b == (v.n == 0))
                return 1;
        return 0;
    }
    if (v.n == 0) {
        /* a set qualifier decides alone: IfExists works value by value,
         * inside the loop over the set, so it has nothing to act on */
        if (c->set == RN_SET_ALL)
            return 1;
        if (c->set == RN_SET_ANY)
            return 0;
        return c->ifexists || c->negated;
    }
    int any = 0, all = 1;
    for (size_t j = 0; j < v.n; j++) {
        const char *x = rn__vals_at(&v, j);
        int m = 0;
        for (size_t i = 0; i < c->nvals && !m; i++)
            m = match_one(c, &c->vals[i], ctx, x);
        int r = c->set == RN_SET_NONE ? m : (c->negated ? !m : m);
        any |= r;
        all &= r;
        if (c->set == RN_SET_ALL ? !all : any)
            break; /* the outcome is settled */
    }
    if (c->set == RN_SET_ALL)
        return all;
    if (c->set == RN_SET_ANY)
        return any;
    return c->negated ? !any : any;
}
