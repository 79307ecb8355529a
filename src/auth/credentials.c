/* credentials.c: load, validate and look up the credentials store (see
 * credentials.h). jansson parses (duplicate object keys rejected, its
 * error line reported); a small scanner over the same text then finds the
 * line of each identity and of each of its fields, since jansson keeps no
 * positions on its nodes, so that semantic errors can name a line too. */
#include "auth/credentials.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "util/status.h"

#define CREDS_FILE_MAX ((size_t)64 << 20)

enum { F_AKID, F_SECRET, F_TOKEN, F_ACCOUNT, F_ARN, F_POLICIES, F_EXPIRATION, F_COUNT };
static const char *const field_names[F_COUNT] = {"access_key_id", "secret_access_key", "session_token",
                                                 "account_id",    "arn",               "policies",
                                                 "expiration"};

typedef struct lines {
    int start;
    int field[F_COUNT];
} lines_t;

struct rn_creds_store {
    json_t *root;
    json_t *empty;                 /* the policies of identities that list none */
    rn_creds_identity_t *ids;      /* file order */
    const rn_creds_identity_t **sorted; /* by access key id */
    size_t n;
};

/* ---- line scanner ------------------------------------------------------------------ */

/* Records, for identities[i] of the top-level object, the line of its '{'
 * and of its known keys. The text is valid JSON (jansson accepted it). */
static void scan_lines(const char *t, size_t len, lines_t *out, size_t n)
{
    int line = 1, depth = 0, in_ids = 0;
    long idx = -1;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (c == '\n') {
            line++;
        } else if (c == '"') {
            size_t s = ++i;
            while (i < len && t[i] != '"')
                i += t[i] == '\\' ? 2 : 1;
            size_t e = i < len ? i : len;
            size_t j = i + 1;
            while (j < len && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r' || t[j] == '\n'))
                j++;
            if (j >= len || t[j] != ':')
                continue; /* a value, not a key */
            if (depth == 1)
                in_ids = e - s == 10 && memcmp(t + s, "identities", 10) == 0 ? 1 : 0;
            if (depth == 3 && in_ids == 2 && idx >= 0 && (size_t)idx < n)
                for (int f = 0; f < F_COUNT; f++)
                    if (strlen(field_names[f]) == e - s && memcmp(t + s, field_names[f], e - s) == 0)
                        out[idx].field[f] = line;
        } else if (c == '{' || c == '[') {
            depth++;
            if (depth == 2 && c == '[' && in_ids == 1)
                in_ids = 2;
            if (depth == 3 && c == '{' && in_ids == 2 && ++idx >= 0 && (size_t)idx < n)
                out[idx].start = line;
        } else if (c == '}' || c == ']') {
            if (depth == 2 && in_ids == 2)
                in_ids = 0;
            depth--;
        }
    }
}

/* ---- validation ------------------------------------------------------------------ */

typedef struct vctx {
    const char *source;
    rn_creds_error_t *err;
    const lines_t *lines;
} vctx_t;

__attribute__((format(printf, 4, 5))) static int verr(vctx_t *v, long idx, int field, const char *fmt, ...)
{
    rn_creds_error_t *e = v->err;
    e->identity = (int)idx;
    e->column = 0;
    e->line = 0;
    if (idx >= 0 && v->lines)
        e->line = field >= 0 && v->lines[idx].field[field] ? v->lines[idx].field[field]
                                                             : v->lines[idx].start;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (idx >= 0)
        snprintf(e->text, sizeof e->text, "%s:%d: identity %ld: %s", v->source, e->line, idx, what);
    else
        snprintf(e->text, sizeof e->text, "%s: %s", v->source, what);
    return RN_EINVAL;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int key_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* Name characters of IAM users and roles (and their paths), and STS session names. */
static int iam_name_ok(const char *s, size_t n)
{
    if (!n || n > 512)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(key_char_ok(c) || (c && strchr("+=,.@-/", c))))
            return 0;
    }
    return s[0] != '/' && s[n - 1] != '/';
}

/* arn:<partition>:<iam|sts>::<account>:<resource>; checks the account against acct. */
static int check_arn(vctx_t *v, long idx, const char *arn, const char *acct)
{
    const char *part[6];
    size_t plen[6];
    const char *p = arn;
    for (int i = 0; i < 5; i++) {
        const char *c = strchr(p, ':');
        if (!c)
            return verr(v, idx, F_ARN, "arn '%.200s' is not arn:<partition>:iam::<account>:<resource>", arn);
        part[i] = p;
        plen[i] = (size_t)(c - p);
        p = c + 1;
    }
    part[5] = p;
    plen[5] = strlen(p);
    if (plen[0] != 3 || memcmp(part[0], "arn", 3) != 0 || !plen[1] || plen[3] != 0)
        return verr(v, idx, F_ARN, "arn '%.200s' is not arn:<partition>:iam::<account>:<resource>", arn);
    for (size_t i = 0; i < plen[1]; i++)
        if (!((part[1][i] >= 'a' && part[1][i] <= 'z') || part[1][i] == '-'))
            return verr(v, idx, F_ARN, "arn '%.200s' has a bad partition", arn);
    if (plen[4] != 12 || !all_digits(part[4], 12))
        return verr(v, idx, F_ARN, "arn '%.200s' has a bad account id (12 digits expected)", arn);
    if (memcmp(part[4], acct, 12) != 0)
        return verr(v, idx, F_ARN, "arn account '%.12s' does not match account_id '%s'", part[4], acct);
    const char *res = part[5];
    size_t rl = plen[5];
    int iam = plen[2] == 3 && memcmp(part[2], "iam", 3) == 0;
    int sts = plen[2] == 3 && memcmp(part[2], "sts", 3) == 0;
    if (iam && rl == 4 && memcmp(res, "root", 4) == 0)
        return 0;
    if (iam && rl > 5 && memcmp(res, "user/", 5) == 0 && iam_name_ok(res + 5, rl - 5))
        return 0;
    if (iam && rl > 5 && memcmp(res, "role/", 5) == 0 && iam_name_ok(res + 5, rl - 5))
        return 0;
    if (sts && rl > 13 && memcmp(res, "assumed-role/", 13) == 0) {
        const char *slash = memchr(res + 13, '/', rl - 13);
        if (slash && slash > res + 13 && iam_name_ok(res + 13, (size_t)(slash - res - 13)) &&
            iam_name_ok(slash + 1, (size_t)(res + rl - slash - 1)))
            return 0;
    }
    return verr(v, idx, F_ARN,
                "arn '%.200s' names no user, role or root (arn:aws:iam::<account>:root, "
                ":user/<name>, :role/<name> or arn:aws:sts::<account>:assumed-role/<role>/<session>)",
                arn);
}

static int get_string(vctx_t *v, long idx, json_t *obj, int f, int required, const char **out, size_t *len)
{
    json_t *j = json_object_get(obj, field_names[f]);
    *out = NULL;
    *len = 0;
    if (!j) {
        if (required)
            return verr(v, idx, -1, "%s is missing", field_names[f]);
        return 0;
    }
    if (!json_is_string(j))
        return verr(v, idx, f, "%s must be a string", field_names[f]);
    *out = json_string_value(j);
    *len = json_string_length(j);
    if (strlen(*out) != *len)
        return verr(v, idx, f, "%s holds a NUL character", field_names[f]);
    if (!*len)
        return verr(v, idx, f, "%s is empty", field_names[f]);
    return 0;
}

static int validate_identity(vctx_t *v, long idx, json_t *o, json_t *empty, rn_creds_identity_t *id)
{
    if (!json_is_object(o))
        return verr(v, idx, -1, "an identity must be an object");
    const char *k;
    json_t *val;
    json_object_foreach(o, k, val) {
        int known = 0;
        for (int f = 0; f < F_COUNT; f++)
            known |= strcmp(k, field_names[f]) == 0;
        if (!known)
            return verr(v, idx, -1, "unknown field '%.100s'", k);
    }
    size_t l;
    int rc;
    if ((rc = get_string(v, idx, o, F_AKID, 1, &id->access_key_id, &id->access_key_len)))
        return rc;
    if (id->access_key_len > 128)
        return verr(v, idx, F_AKID, "access_key_id is longer than 128 characters");
    for (size_t i = 0; i < id->access_key_len; i++)
        if (!key_char_ok((unsigned char)id->access_key_id[i]))
            return verr(v, idx, F_AKID, "access_key_id '%.128s' holds a character other than A-Z, a-z, 0-9, _",
                        id->access_key_id);
    if ((rc = get_string(v, idx, o, F_SECRET, 1, &id->secret_access_key, &id->secret_len)))
        return rc;
    if (id->secret_len > 1024 || !printable(id->secret_access_key, id->secret_len))
        return verr(v, idx, F_SECRET, "secret_access_key must be printable ASCII without spaces, at most 1024 characters");
    if ((rc = get_string(v, idx, o, F_TOKEN, 0, &id->session_token, &id->session_token_len)))
        return rc;
    if (id->session_token && (id->session_token_len > 8192 || !printable(id->session_token, id->session_token_len)))
        return verr(v, idx, F_TOKEN, "session_token must be printable ASCII without spaces, at most 8192 characters");
    /* expiration: when the session token stops being valid (as STS's
     * Credentials.Expiration), an ISO 8601 date-time; only with a token. */
    const char *exp;
    if ((rc = get_string(v, idx, o, F_EXPIRATION, 0, &exp, &l)))
        return rc;
    if (exp) {
        if (!id->session_token)
            return verr(v, idx, F_EXPIRATION, "expiration needs a session_token (it is when the token expires)");
        if (rn_policy_parse_date(exp, l, &id->expiration_ms) != 0)
            return verr(v, idx, F_EXPIRATION,
                        "expiration must be an ISO 8601 date-time such as 2026-12-02T15:00:00Z, got '%.64s'", exp);
        id->has_expiration = 1;
    }
    if ((rc = get_string(v, idx, o, F_ACCOUNT, 1, &id->account_id, &l)))
        return rc;
    if (l != 12 || !all_digits(id->account_id, l))
        return verr(v, idx, F_ACCOUNT, "account_id must be 12 digits, got '%.40s'", id->account_id);
    if ((rc = get_string(v, idx, o, F_ARN, 1, &id->arn, &l)))
        return rc;
    if ((rc = check_arn(v, idx, id->arn, id->account_id)))
        return rc;
    json_t *pol = json_object_get(o, "policies");
    if (pol) {
        if (!json_is_array(pol))
            return verr(v, idx, F_POLICIES, "policies must be an array of policy documents");
        size_t i;
        json_t *doc;
        json_array_foreach(pol, i, doc) {
            if (!json_is_object(doc))
                return verr(v, idx, F_POLICIES, "policies[%zu] must be a policy document (an object)", i);
        }
    }
    id->_policies = pol ? pol : empty;
    id->line = v->lines ? v->lines[idx].start : 0;
    return 0;
}

/* ---- load ------------------------------------------------------------------------- */

static int cmp_ids(const void *a, const void *b)
{
    const rn_creds_identity_t *x = *(const rn_creds_identity_t *const *)a;
    const rn_creds_identity_t *y = *(const rn_creds_identity_t *const *)b;
    size_t n = x->access_key_len < y->access_key_len ? x->access_key_len : y->access_key_len;
    int c = memcmp(x->access_key_id, y->access_key_id, n);
    if (c)
        return c;
    if (x->access_key_len != y->access_key_len)
        return x->access_key_len < y->access_key_len ? -1 : 1;
    return x < y ? -1 : x > y; /* stable: file order among equals */
}

int rn_creds_store_load_buffer(const char *data, size_t len, const char *source,
                               rn_creds_store_t **out, rn_creds_error_t *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    err->identity = -1;
    if (!source)
        source = "credentials";
    vctx_t v = {source, err, NULL};
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        err->line = je.line > 0 ? je.line : 0;
        err->column = je.column > 0 ? je.column : 0;
        snprintf(err->text, sizeof err->text, "%s:%d:%d: %s", source, je.line, je.column, je.text);
        return RN_EINVAL;
    }
    rn_creds_store_t *s = calloc(1, sizeof *s);
    lines_t *lines = NULL;
    int rc = 0;
    if (!s) {
        json_decref(root);
        return RN_ENOMEM;
    }
    s->root = root;
    s->empty = json_array();
    if (!s->empty) {
        rc = RN_ENOMEM;
        goto out;
    }
    if (!json_is_object(root)) {
        rc = verr(&v, -1, -1, "the top level must be an object {\"identities\": [...]}");
        goto out;
    }
    const char *k;
    json_t *val;
    json_object_foreach(root, k, val) {
        if (strcmp(k, "identities") != 0) {
            rc = verr(&v, -1, -1, "unknown top-level field '%.100s'", k);
            goto out;
        }
    }
    json_t *ids = json_object_get(root, "identities");
    if (!json_is_array(ids)) {
        rc = verr(&v, -1, -1, "\"identities\" must be an array");
        goto out;
    }
    s->n = json_array_size(ids);
    lines = calloc(s->n ? s->n : 1, sizeof *lines);
    s->ids = calloc(s->n ? s->n : 1, sizeof *s->ids);
    s->sorted = calloc(s->n ? s->n : 1, sizeof *s->sorted);
    if (!lines || !s->ids || !s->sorted) {
        rc = RN_ENOMEM;
        goto out;
    }
    scan_lines(data, len, lines, s->n);
    v.lines = lines;
    for (size_t i = 0; i < s->n; i++) {
        if ((rc = validate_identity(&v, (long)i, json_array_get(ids, i), s->empty, &s->ids[i])))
            goto out;
        s->sorted[i] = &s->ids[i];
    }
    qsort(s->sorted, s->n, sizeof *s->sorted, cmp_ids);
    for (size_t i = 1; i < s->n; i++) {
        const rn_creds_identity_t *a = s->sorted[i - 1], *b = s->sorted[i];
        if (a->access_key_len == b->access_key_len &&
            memcmp(a->access_key_id, b->access_key_id, a->access_key_len) == 0) {
            rc = verr(&v, (long)(b - s->ids), F_AKID, "duplicate access_key_id '%.128s' (also identity %ld, line %d)",
                      b->access_key_id, (long)(a - s->ids), a->line);
            goto out;
        }
    }
out:
    free(lines);
    if (rc) {
        rn_creds_store_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

int rn_creds_store_load_file(const char *path, rn_creds_store_t **out, rn_creds_error_t *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    err->identity = -1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->text, sizeof err->text, "%s: %s", path, strerror(errno));
        return RN_EIO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= CREDS_FILE_MAX) {
                snprintf(err->text, sizeof err->text, "%s: larger than %zu bytes", path, CREDS_FILE_MAX);
                rc = RN_ETOOBIG;
                break;
            }
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = RN_ENOMEM;
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                snprintf(err->text, sizeof err->text, "%s: read error", path);
                rc = RN_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (!rc)
        rc = rn_creds_store_load_buffer(buf ? buf : "", len, path, out, err);
    if (buf) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
    return rc;
}

void rn_creds_store_destroy(rn_creds_store_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->ids && i < s->n; i++) {
        rn_creds_identity_t *id = &s->ids[i];
        if (id->secret_access_key) /* the tree is ours: wipe the secret before it is freed */
            OPENSSL_cleanse((char *)id->secret_access_key, id->secret_len);
    }
    free(s->sorted);
    free(s->ids);
    json_decref(s->empty);
    json_decref(s->root);
    free(s);
}

const rn_creds_identity_t *rn_creds_store_find(const rn_creds_store_t *s, const char *akid, size_t len)
{
    if (!s)
        return NULL;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const rn_creds_identity_t *m = s->sorted[mid];
        size_t n = m->access_key_len < len ? m->access_key_len : len;
        int c = memcmp(m->access_key_id, akid, n);
        if (!c && m->access_key_len != len)
            c = m->access_key_len < len ? -1 : 1;
        if (!c)
            return m;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t rn_creds_store_count(const rn_creds_store_t *s)
{
    return s ? s->n : 0;
}

const rn_creds_identity_t *rn_creds_store_at(const rn_creds_store_t *s, size_t i)
{
    return s && i < s->n ? &s->ids[i] : NULL;
}

json_t *rn_creds_identity_policies(const rn_creds_identity_t *id)
{
    return id->_policies;
}

int rn_creds_identity_expired(const rn_creds_identity_t *id, int64_t now_ms)
{
    return id->has_expiration && now_ms >= id->expiration_ms;
}

int rn_creds_identity_token_matches(const rn_creds_identity_t *id, const char *token, size_t len)
{
    if (!id->session_token)
        return len == 0;
    return len == id->session_token_len && CRYPTO_memcmp(id->session_token, token, len) == 0;
}
