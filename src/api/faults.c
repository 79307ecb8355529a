/* faults.c: --inject-errors (faults.h). Parsed once at start; every lookup
 * is a scan of a few rules, from the loop thread only. */
#include "api/faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* The errors a rule may name, with the message each is answered with
 * (AWS's own wording where the situation has one). */
static const struct {
    const char *type;
    rn_aws_code_t code;
    const char *msg;
} kinds[] = {
    {"ProvisionedThroughputExceededException", RN_AWS_THROUGHPUT_EXCEEDED, "Rate exceeded."},
    {"InternalFailure", RN_AWS_INTERNAL_FAILURE, NULL},
    {"ServiceUnavailable", RN_AWS_SERVICE_UNAVAILABLE, "Service Unavailable"},
    {"LimitExceededException", RN_AWS_LIMIT_EXCEEDED, "Rate exceeded."},
    {"KMSThrottlingException", RN_AWS_KMS_THROTTLING,
     "The request was denied due to request throttling by AWS KMS."},
    {"KMSOptInRequired", RN_AWS_KMS_OPT_IN, "The AWS access key ID needs a subscription for the service."},
    {"KMSAccessDeniedException", RN_AWS_KMS_ACCESS_DENIED,
     "The ciphertext references a key that doesn't exist or that you don't have access to."},
    {"KMSDisabledException", RN_AWS_KMS_DISABLED, "The specified key is not enabled."},
    {"KMSInvalidStateException", RN_AWS_KMS_INVALID_STATE,
     "The state of the specified key is not valid for this request."},
    {"KMSNotFoundException", RN_AWS_KMS_NOT_FOUND, "The specified key cannot be found."},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

typedef enum { F_ERROR, F_RECORDS, F_LATENCY } fault_kind_t;

typedef struct rule {
    int all;          /* OPERATION was `*` */
    rn_op_t op;
    fault_kind_t kind;
    size_t error;     /* F_ERROR, F_RECORDS: index in kinds[] */
    long latency_ms;  /* F_LATENCY */
    double p;         /* (0, 1] */
} rule_t;

#define MAX_RULES 64

struct rn_faults {
    rule_t rules[MAX_RULES];
    size_t n;
    uint64_t rng; /* splitmix64 state */
    int records;  /* some F_RECORDS rule */
};

static double draw(rn_faults_t *f)
{
    uint64_t z = (f->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0; /* [0, 1) */
}

static int bad(char *err, size_t errlen, const char *rule, size_t len, const char *why)
{
    snprintf(err, errlen, "--inject-errors: rule \"%.*s\": %s", (int)(len > 200 ? 200 : len), rule, why);
    return -1;
}

static size_t kind_of(const char *s, size_t len)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (strlen(kinds[i].type) == len && memcmp(kinds[i].type, s, len) == 0)
            return i;
    return N_KINDS;
}

static int parse_rule(rn_faults_t *f, const char *r, size_t len, char *err, size_t errlen)
{
    const char *eq = memchr(r, '=', len);
    if (!eq)
        return bad(err, errlen, r, len, "expected OPERATION=FAULT[@PROBABILITY]");
    rule_t ru = {.p = 1.0};
    size_t oplen = (size_t)(eq - r);
    if (oplen == 1 && r[0] == '*') {
        ru.all = 1;
    } else {
        ru.op = rn_op_lookup(r, oplen);
        if (ru.op == RN_OP_NONE)
            return bad(err, errlen, r, len, "unknown operation");
    }
    const char *what = eq + 1, *end = r + len;
    const char *at = memchr(what, '@', (size_t)(end - what));
    size_t wlen = (size_t)((at ? at : end) - what);
    if (at) {
        char num[32];
        size_t nl = (size_t)(end - at - 1);
        if (nl == 0 || nl >= sizeof num)
            return bad(err, errlen, r, len, "bad probability");
        memcpy(num, at + 1, nl);
        num[nl] = 0;
        char *e;
        ru.p = strtod(num, &e);
        if (*e || !(ru.p > 0.0 && ru.p <= 1.0))
            return bad(err, errlen, r, len, "the probability must be a number in (0, 1]");
    }
    if (wlen > 8 && memcmp(what, "latency:", 8) == 0) {
        char num[16];
        size_t nl = wlen - 8;
        if (nl >= sizeof num)
            return bad(err, errlen, r, len, "bad latency");
        memcpy(num, what + 8, nl);
        num[nl] = 0;
        char *e;
        ru.latency_ms = strtol(num, &e, 10);
        if (*e || ru.latency_ms < 1 || ru.latency_ms > 60000)
            return bad(err, errlen, r, len, "the latency must be 1..60000 milliseconds");
        ru.kind = F_LATENCY;
    } else if (wlen > 8 && memcmp(what, "records:", 8) == 0) {
        if (!ru.all && ru.op != RN_OP_PutRecords)
            return bad(err, errlen, r, len, "per-record failures apply to PutRecords only");
        ru.error = kind_of(what + 8, wlen - 8);
        if (ru.error >= N_KINDS || (kinds[ru.error].code != RN_AWS_THROUGHPUT_EXCEEDED &&
                                    kinds[ru.error].code != RN_AWS_INTERNAL_FAILURE))
            return bad(err, errlen, r, len,
                       "a PutRecords entry fails as ProvisionedThroughputExceededException or InternalFailure");
        ru.kind = F_RECORDS;
        f->records = 1;
    } else {
        ru.error = kind_of(what, wlen);
        if (ru.error >= N_KINDS)
            return bad(err, errlen, r, len,
                       "unknown fault (an error type, records:TYPE or latency:MS; docs/testing.md)");
        ru.kind = F_ERROR;
    }
    if (f->n >= MAX_RULES)
        return bad(err, errlen, r, len, "too many rules (64 at most)");
    f->rules[f->n++] = ru;
    return 0;
}

int rn_faults_parse(const char *spec, rn_faults_t **out, char *err, size_t errlen)
{
    *out = NULL;
    rn_faults_t *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "--inject-errors: out of memory");
        return -1;
    }
    if (getrandom(&f->rng, sizeof f->rng, 0) != (ssize_t)sizeof f->rng)
        f->rng = (uint64_t)time(NULL) * 0x2545F4914F6CDD1Dull;
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len && parse_rule(f, p, len, err, errlen) != 0) {
            free(f);
            return -1;
        }
        p = comma ? comma + 1 : p + len;
        if (!comma)
            break;
    }
    if (f->n == 0) {
        free(f);
        snprintf(err, errlen, "--inject-errors: no rule");
        return -1;
    }
    *out = f;
    return 0;
}

void rn_faults_destroy(rn_faults_t *f)
{
    free(f);
}

void rn_faults_describe(const rn_faults_t *f, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < f->n && n < cap; i++) {
        const rule_t *r = &f->rules[i];
        const char *op = r->all ? "*" : rn_op_name(r->op);
        int w;
        if (r->kind == F_LATENCY)
            w = snprintf(buf + n, cap - n, "%s%s +%ld ms (p %.3g)", i ? "; " : "", op, r->latency_ms, r->p);
        else
            w = snprintf(buf + n, cap - n, "%s%s %s%s (p %.3g)", i ? "; " : "", op,
                         r->kind == F_RECORDS ? "entries fail as " : "fails as ", kinds[r->error].type, r->p);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* The rule of this kind for op: the first naming op, else the first `*`. */
static const rule_t *find(const rn_faults_t *f, rn_op_t op, fault_kind_t kind)
{
    const rule_t *any = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const rule_t *r = &f->rules[i];
        if (r->kind != kind)
            continue;
        if (!r->all && r->op == op)
            return r;
        if (r->all && !any)
            any = r;
    }
    return any;
}

rn_aws_code_t rn_faults_call(rn_faults_t *f, rn_op_t op, rn_error_t *err, long *delay_ms)
{
    *delay_ms = 0;
    const rule_t *l = find(f, op, F_LATENCY);
    if (l && draw(f) < l->p)
        *delay_ms = l->latency_ms;
    const rule_t *e = find(f, op, F_ERROR);
    if (!e || draw(f) >= e->p)
        return RN_AWS_NONE;
    const char *msg = kinds[e->error].msg;
    if (msg)
        rn_error_set(err, kinds[e->error].code, msg);
    else
        rn_error_set(err, kinds[e->error].code);
    return kinds[e->error].code;
}

rn_aws_code_t rn_faults_record(rn_faults_t *f)
{
    const rule_t *r = find(f, RN_OP_PutRecords, F_RECORDS);
    if (!r || draw(f) >= r->p)
        return RN_AWS_NONE;
    return kinds[r->error].code == RN_AWS_THROUGHPUT_EXCEEDED ? RN_AWS_SHARD_THROTTLED : RN_AWS_INTERNAL_FAILURE;
}

int rn_faults_records_on(const rn_faults_t *f)
{
    return f->records;
}
