/* policy_int.h: the compiled form of a policy, shared by policy.c (document,
 * statements, evaluation) and policy_cond.c (condition operators). Only
 * src/auth/policy*.c include it. */
#ifndef RN_POLICY_INT_H
#define RN_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "auth/policy.h"

/* Wildcards in a compiled pattern are coded as control bytes (which policy
 * strings may not contain), so that ${*} and ${?} can stand for a literal
 * '*' and '?'. */
#define RN_PAT_STAR '\x01'
#define RN_PAT_ONE '\x02'

/* A string from the document. When it holds no policy variable, s is
 * already coded (wildcards as above) and used as is; otherwise s is the raw
 * text, expanded against the context at evaluation. */
typedef struct rn__pat {
    const char *s;
    uint32_t len;
    uint8_t has_vars;
} rn__pat_t;

/* Operators, each with its negation flag (NotEquals, NotLike, NotIpAddress). */
typedef enum rn__cop {
    RN_COP_STR_EQ,      /* StringEquals, StringNotEquals */
    RN_COP_STR_EQ_CI,   /* StringEqualsIgnoreCase, ... */
    RN_COP_STR_LIKE,    /* StringLike, StringNotLike */
    RN_COP_ARN,         /* ArnEquals, ArnLike, ArnNotEquals, ArnNotLike (the same match) */
    RN_COP_NUM_EQ,
    RN_COP_NUM_LT,
    RN_COP_NUM_LE,
    RN_COP_NUM_GT,
    RN_COP_NUM_GE,
    RN_COP_DATE_EQ,
    RN_COP_DATE_LT,
    RN_COP_DATE_LE,
    RN_COP_DATE_GT,
    RN_COP_DATE_GE,
    RN_COP_BOOL,
    RN_COP_IP,
    RN_COP_NULL,
} rn__cop_t;

enum { RN_SET_NONE = 0, RN_SET_ANY = 1, RN_SET_ALL = 2 };

typedef struct rn__cval {
    rn__pat_t str; /* the value's text (string and ARN operators use it) */
    union {
        double num;
        int64_t ms;
        int b;
        struct {
            uint8_t family; /* 4 or 6 */
            uint8_t bits;
            uint8_t addr[16];
        } ip;
    } u;
} rn__cval_t;

typedef struct rn__cond {
    uint8_t op;      /* rn__cop_t */
    uint8_t negated; /* ...Not... */
    uint8_t ifexists;
    uint8_t set; /* RN_SET_* */
    const char *key;
    size_t nvals;
    rn__cval_t *vals;
} rn__cond_t;

enum { RN_PR_ANY = 0, RN_PR_ARN = 1, RN_PR_ACCOUNT = 2, RN_PR_OTHER = 3 };

typedef struct rn__princ {
    uint8_t kind;  /* RN_PR_*: "*", an IAM ARN, an account (id or :root ARN), Service/Federated/... */
    const char *s; /* ARN, 12-digit account, or the non-AWS principal's name */
} rn__princ_t;

typedef struct rn__stmt {
    uint8_t deny;
    uint8_t not_action, not_resource, not_principal;
    uint8_t has_resource, has_principal;
    size_t nactions, nresources, nprincipals, nconds;
    rn__pat_t *actions;
    rn__pat_t *resources;
    rn__princ_t *principals;
    rn__cond_t *conds;
} rn__stmt_t;

struct rn__arena_blk;

struct rn_policy {
    rn_policy_kind_t kind;
    int vars; /* Version 2012-10-17: policy variables are expanded */
    size_t nstmts;
    rn__stmt_t *stmts;
    struct rn__arena_blk *arena;
    size_t elements; /* counted against RN_POLICY_MAX_ELEMENTS */
};

/* Compile-time helpers from policy.c. */
void *rn__policy_alloc(rn_policy_t *p, size_t n);
/* Copy a string value into the policy as a pattern: wild codes '*' and
 * '?' as wildcards (else they stay literal); with p->vars, text holding
 * "${" is kept raw for expansion. Returns 0, RN_EINVAL (control
 * characters; message in err), RN_ETOOBIG or RN_ENOMEM. */
int rn__policy_pat(rn_policy_t *p, const char *s, size_t len, int wild, rn__pat_t *out, char *err,
                   size_t errlen, const char *where);

/* Evaluation-time helper from policy.c: expand pat against ctx into buf
 * (coded). Returns the coded length, or -1 when a variable names a key the
 * context lacks (the value then matches nothing), or -2 when it does not fit. */
long rn__pat_expand(const rn__pat_t *pat, int wild, const rn_policy_ctx_t *ctx, char *buf, size_t cap);
/* The glob matcher behind rn_policy_glob, with the wildcard bytes given. */
int rn__glob(const char *pat, size_t plen, const char *s, size_t slen, int fold, char star, char one);

/* Values of a condition key in ctx: up to cap pointers/lengths, built-ins
 * formatted into scratch (>= 64 bytes). Returns the count (0 = absent). */
typedef struct rn__vals {
    const char *const *list; /* caller-provided values, or NULL */
    const char *one;         /* a single built-in value */
    size_t n;
    char scratch[64];
} rn__vals_t;
void rn__ctx_lookup(const rn_policy_ctx_t *ctx, const char *key, rn__vals_t *v);
static inline const char *rn__vals_at(const rn__vals_t *v, size_t i)
{
    return v->list ? v->list[i] : v->one;
}

/* policy_cond.c */
int rn__cond_compile(rn_policy_t *p, const char *opname, const json_t *block, rn__cond_t *conds,
                     size_t *nconds, size_t cap, char *err, size_t errlen, const char *where);
int rn__cond_eval(const rn_policy_t *p, const rn__cond_t *c, const rn_policy_ctx_t *ctx);

/* Formatting for messages. */
void rn__errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
