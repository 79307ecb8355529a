/* kms.c: the local KMS (kms.h). */
#include "api/kms.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ident.h"
#include "util/log.h"
#include "util/status.h"

#define KEY_ID_LEN 36
#define DAY_MS (24LL * 3600 * 1000)
#define MANAGED_ALIAS "alias/aws/kinesis"
/* Keys and aliases this server holds, all accounts together (docs/limits.md):
 * lookups scan them, and a client must not grow them without bound. */
#define KMS_KEYS_MAX 4096
#define KMS_ALIASES_MAX 4096
/* AWS's wording for its own key is not recorded (guess). */
#define MANAGED_DESCRIPTION "Default key that protects my Kinesis data when no other key is defined"

typedef struct kms_key {
    char account[RN_ACCOUNT_MAX + 1];
    char region[RN_REGION_MAX + 1];
    char id[KEY_ID_LEN + 1];
    char *description;
    json_t *tags;   /* the Tags array as given (owned), or NULL */
    rn_kms_state_t state;
    int64_t created_ms;
    int64_t deletion_ms; /* PendingDeletion: when it goes */
    int pending_days;
} kms_key_t;

typedef struct kms_alias {
    char account[RN_ACCOUNT_MAX + 1];
    char region[RN_REGION_MAX + 1];
    char *name; /* "alias/..." */
    char target[KEY_ID_LEN + 1];
    int64_t created_ms, updated_ms;
} kms_alias_t;

struct rn_kms {
    rn_store_t *store;
    int strict;
    int loaded;
    kms_key_t *keys;
    size_t nkeys, capkeys;
    kms_alias_t *aliases;
    size_t naliases, capaliases;
};

int rn_kms_create(rn_kms_t **out, rn_store_t *store, int strict)
{
    rn_kms_t *k = calloc(1, sizeof *k);
    if (!k)
        return RN_ENOMEM;
    k->store = store;
    k->strict = strict;
    *out = k;
    return 0;
}

static void key_free(kms_key_t *key)
{
    free(key->description);
    json_decref(key->tags);
}

void rn_kms_destroy(rn_kms_t *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->nkeys; i++)
        key_free(&k->keys[i]);
    for (size_t i = 0; i < k->naliases; i++)
        free(k->aliases[i].name);
    free(k->keys);
    free(k->aliases);
    free(k);
}

/* ---- KeyId forms ------------------------------------------------------------------------ */

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A key id: a UUID (8-4-4-4-12 hex digits) or a multi-Region key id
 * "mrk-" followed by 32 hex digits; exactly n characters. */
static int key_uuid_ok(const char *p, size_t n)
{
    if (n != KEY_ID_LEN)
        return 0;
    int mrk = strncmp(p, "mrk-", 4) == 0;
    for (size_t i = mrk ? 4 : 0; i < KEY_ID_LEN; i++) {
        int dash = !mrk && (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash ? p[i] != '-' : !is_hex(p[i]))
            return 0;
    }
    return 1;
}

/* An alias name after "alias/": 1..250 of [A-Za-z0-9/_-] (KMS's AliasName). */
static int alias_name_ok(const char *p, size_t n)
{
    if (n == 0 || n > 250)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* "arn:<partition>:kms:<region>:<12 digits>:" then "key/<key id>" or
 * "alias/<name>". */
static rn_kms_id_kind_t parse_arn(const char *id, rn_kms_id_t *out)
{
    const char *p = id + 4; /* after "arn:" */
    const char *e = strchr(p, ':');
    if (!e || strncmp(p, "aws", 3) != 0) /* aws, aws-cn, aws-us-gov, ... */
        return RN_KMS_ID_BAD;
    for (const char *q = p + 3; q < e; q++)
        if (!((*q >= 'a' && *q <= 'z') || *q == '-'))
            return RN_KMS_ID_BAD;
    p = e + 1;
    if (strncmp(p, "kms:", 4) != 0)
        return RN_KMS_ID_BAD;
    p += 4;
    e = strchr(p, ':');
    if (!e || e == p || e - p > RN_REGION_MAX)
        return RN_KMS_ID_BAD;
    for (const char *q = p; q < e; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-'))
            return RN_KMS_ID_BAD;
    snprintf(out->region, sizeof out->region, "%.*s", (int)(e - p), p);
    p = e + 1;
    if (strspn(p, "0123456789") != 12 || p[12] != ':')
        return RN_KMS_ID_BAD;
    snprintf(out->account, sizeof out->account, "%.12s", p);
    p += 13;
    out->name = p;
    if (strncmp(p, "key/", 4) == 0 && key_uuid_ok(p + 4, strlen(p + 4))) {
        out->name = p + 4;
        return RN_KMS_ID_KEY_ARN;
    }
    if (strncmp(p, "alias/", 6) == 0 && alias_name_ok(p + 6, strlen(p + 6)))
        return RN_KMS_ID_ALIAS_ARN;
    return RN_KMS_ID_BAD;
}

rn_kms_id_kind_t rn_kms_parse_id(const char *id, rn_kms_id_t *out)
{
    size_t n = strlen(id);
    out->region[0] = out->account[0] = 0;
    out->name = id;
    if (strncmp(id, "alias/", 6) == 0)
        return out->kind = alias_name_ok(id + 6, n - 6) ? RN_KMS_ID_ALIAS : RN_KMS_ID_BAD;
    if (strncmp(id, "arn:", 4) == 0)
        return out->kind = parse_arn(id, out);
    return out->kind = key_uuid_ok(id, n) ? RN_KMS_ID_KEY : RN_KMS_ID_BAD;
}

/* ---- names ------------------------------------------------------------------------------- */

static void key_arn(const char *account, const char *region, const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:kms:%s:%s:key/%s", region, account, id);
}

static void alias_arn(const char *account, const char *region, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:kms:%s:%s:%s", region, account, name);
}

static void format_uuid(const unsigned char b[16], char out[KEY_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
}

/* The AWS managed key's id in (account, region): a UUID made from a hash of
 * them, the same at every start. */
static void managed_id(const char *account, const char *region, char out[KEY_ID_LEN + 1])
{
    char seed[96];
    int n = snprintf(seed, sizeof seed, "runnel aws/kinesis %s %s", account, region);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)seed, (size_t)(n > 0 ? n : 0), h);
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x40);
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
    format_uuid(h, out);
}

static const char *state_name(rn_kms_state_t s)
{
    switch (s) {
    case RN_KMS_ENABLED: return "Enabled";
    case RN_KMS_DISABLED: return "Disabled";
    case RN_KMS_PENDING_DELETION: return "PendingDeletion";
    default: return "Unavailable";
    }
}

static int state_parse(const char *s, rn_kms_state_t *out)
{
    for (rn_kms_state_t i = RN_KMS_ENABLED; i <= RN_KMS_PENDING_DELETION; i++)
        if (s && strcmp(s, state_name(i)) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

/* ---- persistence ------------------------------------------------------------------------- */

static int key_store_key(const kms_key_t *key, char *out, size_t cap)
{
    return snprintf(out, cap, "kms/key/%s/%s/%s", key->account, key->region, key->id) < (int)cap ? 0 : -1;
}

static int alias_store_key(const kms_alias_t *a, char *out, size_t cap)
{
    return snprintf(out, cap, "kms/alias/%s/%s/%s", a->account, a->region, a->name) < (int)cap ? 0 : -1;
}

static int put_doc(rn_kms_t *k, const char *skey, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return RN_ENOMEM;
    int rc = rn_store_kv_put(k->store, skey, text, strlen(text));
    free(text);
    return rc;
}

static int key_save(rn_kms_t *k, const kms_key_t *key)
{
    char skey[256];
    if (key_store_key(key, skey, sizeof skey) != 0)
        return RN_EINVAL;
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:i}", "account", key->account, "region", key->region,
                            "id", key->id, "description", key->description ? key->description : "", "state",
                            state_name(key->state), "created_ms", (json_int_t)key->created_ms, "deletion_ms",
                            (json_int_t)key->deletion_ms, "pending_days", key->pending_days);
    if (doc && key->tags)
        json_object_set(doc, "tags", key->tags);
    return put_doc(k, skey, doc);
}

static int alias_save(rn_kms_t *k, const kms_alias_t *a)
{
    char skey[512];
    if (alias_store_key(a, skey, sizeof skey) != 0)
        return RN_EINVAL;
    return put_doc(k, skey,
                   json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "account", a->account, "region", a->region, "name",
                             a->name, "target", a->target, "created_ms", (json_int_t)a->created_ms, "updated_ms",
                             (json_int_t)a->updated_ms));
}

/* arr (capacity *cap, n elements of elem bytes) with room for one more: arr
 * itself, a larger block (*cap updated), or NULL when out of memory (arr
 * is still valid then). */
static void *reserve(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t nc = *cap ? *cap * 2 : 8;
    void *q = realloc(arr, nc * elem);
    if (!q) {
        rn_error("kms: out of memory");
        return NULL;
    }
    *cap = nc;
    return q;
}

static int keys_reserve(rn_kms_t *k)
{
    kms_key_t *q = reserve(k->keys, &k->capkeys, k->nkeys, sizeof *k->keys);
    return q ? (k->keys = q, 0) : -1;
}

static int aliases_reserve(rn_kms_t *k)
{
    kms_alias_t *q = reserve(k->aliases, &k->capaliases, k->naliases, sizeof *k->aliases);
    return q ? (k->aliases = q, 0) : -1;
}

static int copy_field(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= cap)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int load_one(void *ud, const char *skey, const void *val, size_t len, uint64_t rev)
{
    rn_kms_t *k = ud;
    json_t *doc = json_loadb(val, len, 0, NULL);
    int is_key = strncmp(skey, "kms/key/", 8) == 0;
    int ok = 0;
    if (is_key && doc) {
        kms_key_t key = {0};
        json_int_t c = 0, d = 0;
        int days = 0;
        const char *desc = NULL, *state = NULL;
        if (copy_field(key.account, sizeof key.account, json_object_get(doc, "account")) == 0 &&
            copy_field(key.region, sizeof key.region, json_object_get(doc, "region")) == 0 &&
            copy_field(key.id, sizeof key.id, json_object_get(doc, "id")) == 0 &&
            json_unpack(doc, "{s:s,s:s,s:I,s:I,s:i}", "description", &desc, "state", &state, "created_ms", &c,
                        "deletion_ms", &d, "pending_days", &days) == 0 &&
            state_parse(state, &key.state) == 0 && keys_reserve(k) == 0) {
            key.description = strdup(desc);
            key.tags = json_incref(json_object_get(doc, "tags"));
            key.created_ms = c;
            key.deletion_ms = d;
            key.pending_days = days;
            k->keys[k->nkeys++] = key;
            ok = 1;
        }
    } else if (doc) {
        kms_alias_t a = {0};
        json_int_t c = 0, u = 0;
        const char *name = NULL;
        if (copy_field(a.account, sizeof a.account, json_object_get(doc, "account")) == 0 &&
            copy_field(a.region, sizeof a.region, json_object_get(doc, "region")) == 0 &&
            copy_field(a.target, sizeof a.target, json_object_get(doc, "target")) == 0 &&
            json_unpack(doc, "{s:s,s:I,s:I}", "name", &name, "created_ms", &c, "updated_ms", &u) == 0 &&
            aliases_reserve(k) == 0) {
            a.name = strdup(name);
            a.created_ms = c;
            a.updated_ms = u;
            if (a.name) {
                k->aliases[k->naliases++] = a;
                ok = 1;
            }
        }
    }
    if (!ok)
        rn_warn("kms: %s cannot be read; ignored", skey);
    json_decref(doc);
    return 0;
}

static int load(rn_kms_t *k)
{
    if (k->loaded)
        return 0;
    int rc = rn_store_kv_scan(k->store, "kms/", load_one, k);
    if (rc == 0)
        k->loaded = 1;
    return rc;
}

/* ---- lookups ------------------------------------------------------------------------------ */

/* 1 if (a_account, a_region) is (account, region). */
static int same_ns(const char *a_account, const char *a_region, const char *account, const char *region)
{
    return strcmp(a_account, account) == 0 && strcmp(a_region, region) == 0;
}

static kms_key_t *find_key(rn_kms_t *k, const char *account, const char *region, const char *id)
{
    for (size_t i = 0; i < k->nkeys; i++)
        if (strcmp(k->keys[i].id, id) == 0 && same_ns(k->keys[i].account, k->keys[i].region, account, region))
            return &k->keys[i];
    return NULL;
}

/* The index of alias name of (account, region), or -1. */
static long alias_index(const rn_kms_t *k, const char *account, const char *region, const char *name)
{
    for (size_t i = 0; i < k->naliases; i++)
        if (strcmp(k->aliases[i].name, name) == 0 &&
            same_ns(k->aliases[i].account, k->aliases[i].region, account, region))
            return (long)i;
    return -1;
}

static kms_alias_t *find_alias(rn_kms_t *k, const char *account, const char *region, const char *name)
{
    long i = alias_index(k, account, region, name);
    return i < 0 ? NULL : &k->aliases[i];
}

static void alias_remove(rn_kms_t *k, size_t i)
{
    char skey[512];
    if (alias_store_key(&k->aliases[i], skey, sizeof skey) == 0)
        (void)rn_store_kv_del(k->store, skey);
    free(k->aliases[i].name);
    k->aliases[i] = k->aliases[--k->naliases];
}

/* Keys whose waiting period is over are deleted, with their aliases. */
static void sweep(rn_kms_t *k, int64_t now_ms)
{
    for (size_t i = 0; i < k->nkeys;) {
        kms_key_t *key = &k->keys[i];
        if (key->state != RN_KMS_PENDING_DELETION || now_ms < key->deletion_ms) {
            i++;
            continue;
        }
        for (size_t j = 0; j < k->naliases;) {
            kms_alias_t *a = &k->aliases[j];
            if (strcmp(a->target, key->id) == 0 && same_ns(a->account, a->region, key->account, key->region))
                alias_remove(k, j);
            else
                j++;
        }
        char skey[256];
        if (key_store_key(key, skey, sizeof skey) == 0)
            (void)rn_store_kv_del(k->store, skey);
        rn_info("kms: key %s deleted (its waiting period ended)", key->id);
        key_free(key);
        k->keys[i] = k->keys[--k->nkeys];
    }
}

/* What a KeyId resolves to. */
typedef enum { RES_KEY, RES_MANAGED, RES_NO_KEY, RES_NO_ALIAS, RES_BAD } res_t;

typedef struct resolved {
    res_t res;
    kms_key_t *key;                  /* RES_KEY */
    char account[RN_ACCOUNT_MAX + 1]; /* whose key or alias */
    char region[RN_REGION_MAX + 1];
    char arn[RN_KMS_ARN_MAX];        /* the key's ARN; the alias's for RES_NO_ALIAS */
} resolved_t;

/* Resolve id for a caller in (account, region); aliases only when
 * allow_alias (CreateAlias's TargetKeyId takes a key id or key ARN). */
static void resolve(rn_kms_t *k, const char *account, const char *region, const char *id, int allow_alias,
                    resolved_t *r)
{
    rn_kms_id_t p;
    rn_kms_id_kind_t kind = rn_kms_parse_id(id, &p);
    memset(r, 0, sizeof *r);
    int in_arn = kind == RN_KMS_ID_KEY_ARN || kind == RN_KMS_ID_ALIAS_ARN;
    snprintf(r->account, sizeof r->account, "%s", in_arn ? p.account : account);
    snprintf(r->region, sizeof r->region, "%s", in_arn ? p.region : region);
    if (kind == RN_KMS_ID_BAD || (!allow_alias && (kind == RN_KMS_ID_ALIAS || kind == RN_KMS_ID_ALIAS_ARN))) {
        r->res = RES_BAD;
        return;
    }
    int other_region = strcmp(r->region, region) != 0; /* a regional endpoint holds its region's keys */
    if (kind == RN_KMS_ID_ALIAS || kind == RN_KMS_ID_ALIAS_ARN) {
        alias_arn(r->account, r->region, p.name, r->arn, sizeof r->arn);
        if (!other_region && strcmp(p.name, MANAGED_ALIAS) == 0) {
            char mid[KEY_ID_LEN + 1];
            managed_id(r->account, r->region, mid);
            key_arn(r->account, r->region, mid, r->arn, sizeof r->arn);
            r->res = RES_MANAGED;
            return;
        }
        kms_alias_t *a = other_region ? NULL : find_alias(k, r->account, r->region, p.name);
        if (!a) {
            r->res = RES_NO_ALIAS;
            return;
        }
        id = a->target;
    } else {
        id = p.name;
    }
    key_arn(r->account, r->region, id, r->arn, sizeof r->arn);
    r->key = other_region ? NULL : find_key(k, r->account, r->region, id);
    if (r->key) {
        r->res = RES_KEY;
        return;
    }
    char mid[KEY_ID_LEN + 1];
    managed_id(r->account, r->region, mid);
    r->res = !other_region && strcmp(id, mid) == 0 ? RES_MANAGED : RES_NO_KEY;
}

int rn_kms_key_state(rn_kms_t *k, const char *account, const char *region, const char *key_id, int64_t now_ms,
                     rn_kms_use_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = load(k);
    if (rc)
        return rc;
    sweep(k, now_ms);
    resolved_t r;
    resolve(k, account, region, key_id, 1, &r);
    snprintf(out->owner, sizeof out->owner, "%s", r.account);
    switch (r.res) {
    case RES_KEY:
        out->held = 1;
        out->state = r.key->state;
        snprintf(out->arn, sizeof out->arn, "%s", r.arn);
        return 0;
    case RES_MANAGED:
        out->held = out->managed = 1;
        out->state = RN_KMS_ENABLED;
        snprintf(out->arn, sizeof out->arn, "%s", r.arn);
        return 0;
    default:
        out->alias = r.res == RES_NO_ALIAS;
        snprintf(out->arn, sizeof out->arn, "%s", r.res == RES_BAD ? key_id : r.arn);
        out->state = k->strict ? RN_KMS_NOT_FOUND : RN_KMS_ENABLED;
        return 0;
    }
}

/* ---- the API ---------------------------------------------------------------------------------- */

/* One call's context. */
typedef struct kcall {
    rn_kms_t *k;
    const char *account, *region, *principal;
    const rn_kms_authz_t *authz; /* NULL: developer mode */
    int64_t now_ms;
    json_t *in;
    rn_kms_reply_t *out;
} kcall_t;

static int fail(kcall_t *c, int status, const char *type, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(kcall_t *c, int status, const char *type, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *doc = json_pack("{s:s,s:s}", "__type", type, "message", msg);
    if (!doc) { /* an echoed value cut inside a UTF-8 sequence: say it in ASCII */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        doc = json_pack("{s:s,s:s}", "__type", type, "message", msg);
    }
    c->out->status = status;
    c->out->type = type;
    c->out->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return -1;
}

static int reply(kcall_t *c, json_t *doc)
{
    if (!doc)
        doc = json_object();
    c->out->status = 200;
    c->out->type = NULL;
    c->out->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return 0;
}

static int fail_store(kcall_t *c, int rc)
{
    rn_error("kms: cannot save: %s", rn_strerror(rc));
    return fail(c, 500, "KMSInternalException", "The request could not be saved.");
}

/* ---- input ---- */

/* KMS's validation messages, as its other JSON services word them. */
static int invalid(kcall_t *c, const char *detail)
{
    return fail(c, 400, "ValidationException", "1 validation error detected: %s", detail);
}

/* The string member name (wire name wname in messages): NULL when absent
 * (*bad set when it is present but not a string, or when required and
 * absent, or outside min..max characters). */
static const char *arg_str(kcall_t *c, const char *name, const char *wname, int required, size_t min, size_t max,
                           int *bad)
{
    json_t *v = json_object_get(c->in, name);
    char d[400];
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(d, sizeof d, "Value null at '%s' failed to satisfy constraint: Member must not be null",
                     wname);
            *bad = 1;
            invalid(c, d);
        }
        return NULL;
    }
    if (!json_is_string(v)) {
        *bad = 1;
        fail(c, 400, "SerializationException", "Unexpected value type for '%s'", name);
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n < min || n > max) {
        snprintf(d, sizeof d, "Value '%.200s' at '%s' failed to satisfy constraint: Member must have length %s %zu",
                 s, wname, n < min ? "greater than or equal to" : "less than or equal to", n < min ? min : max);
        *bad = 1;
        invalid(c, d);
        return NULL;
    }
    return s;
}

/* An integer member in lo..hi; def when absent. -1 (answered) when bad. */
static int arg_int(kcall_t *c, const char *name, const char *wname, long lo, long hi, long def, long *out)
{
    json_t *v = json_object_get(c->in, name);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(c, 400, "SerializationException", "Unexpected value type for '%s'", name);
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi) {
        char d[300];
        snprintf(d, sizeof d, "Value '%lld' at '%s' failed to satisfy constraint: Member must have value %s %ld",
                 (long long)n, wname, n < lo ? "greater than or equal to" : "less than or equal to", n < lo ? lo : hi);
        return invalid(c, d);
    }
    *out = (long)n;
    return 0;
}

/* Verified mode: may the caller perform action on arn (of owner)? 0, or -1
 * answered with AccessDeniedException. */
static int allowed(kcall_t *c, const char *action, const char *owner, const char *arn)
{
    char msg[1024];
    if (!c->authz || c->authz->allow(c->authz->ud, action, owner, arn, msg, sizeof msg) == 0)
        return 0;
    return fail(c, 400, "AccessDeniedException", "%s", msg);
}

/* A key the call names by KeyId (any form), for action (NULL: no access
 * check): 0 with *key (or *managed set for the AWS managed key and *key
 * NULL), or -1 answered. */
static int named_key(kcall_t *c, const char *id, const char *action, int allow_alias, kms_key_t **key,
                     int *managed, resolved_t *r)
{
    resolve(c->k, c->account, c->region, id, allow_alias, r);
    *key = r->key;
    *managed = r->res == RES_MANAGED;
    if (action && r->res != RES_BAD && allowed(c, action, r->account, r->arn) != 0)
        return -1;
    switch (r->res) {
    case RES_KEY:
    case RES_MANAGED:
        return 0;
    case RES_NO_ALIAS:
        return fail(c, 400, "NotFoundException", "Alias %s is not found.", r->arn);
    case RES_NO_KEY:
        return fail(c, 400, "NotFoundException", "Key '%s' does not exist", r->arn);
    default:
        return fail(c, 400, "NotFoundException", "Invalid keyId %s", id);
    }
}

static int key_arg(kcall_t *c, const char *action, int allow_alias, kms_key_t **key, int *managed, resolved_t *r)
{
    int bad = 0;
    const char *id = arg_str(c, "KeyId", "keyId", 1, 1, 2048, &bad);
    if (bad)
        return -1;
    return named_key(c, id, action, allow_alias, key, managed, r);
}

/* A customer key operation on the AWS managed key: its key policy allows no
 * administration (AWS's wording for this case is a guess). */
static int managed_denied(kcall_t *c, const char *action, const char *arn)
{
    char root[64];
    if (!c->principal)
        snprintf(root, sizeof root, "arn:aws:iam::%s:root", c->account);
    return fail(c, 400, "AccessDeniedException",
                "User: %s is not authorized to perform: kms:%s on resource: %s because no resource-based "
                "policy allows the kms:%s action",
                c->principal ? c->principal : root, action, arn, action);
}

/* ---- output ---- */

static json_t *ts(int64_t ms)
{
    return json_real((double)ms / 1000.0);
}

static json_t *metadata(const kms_key_t *key, int managed)
{
    char arn[RN_KMS_ARN_MAX];
    key_arn(key->account, key->region, key->id, arn, sizeof arn);
    json_t *m = json_pack("{s:s,s:s,s:s,s:o,s:b,s:s,s:s,s:s}", "AWSAccountId", key->account, "KeyId", key->id,
                          "Arn", arn, "CreationDate", ts(key->created_ms), "Enabled",
                          key->state == RN_KMS_ENABLED, "Description", key->description ? key->description : "",
                          "KeyUsage", "ENCRYPT_DECRYPT", "KeyState", state_name(key->state));
    if (!m)
        return NULL;
    if (key->state == RN_KMS_PENDING_DELETION)
        json_object_set_new(m, "DeletionDate", ts(key->deletion_ms));
    json_object_set_new(m, "Origin", json_string("AWS_KMS"));
    json_object_set_new(m, "KeyManager", json_string(managed ? "AWS" : "CUSTOMER"));
    json_object_set_new(m, "CustomerMasterKeySpec", json_string("SYMMETRIC_DEFAULT"));
    json_object_set_new(m, "KeySpec", json_string("SYMMETRIC_DEFAULT"));
    json_object_set_new(m, "EncryptionAlgorithms", json_pack("[s]", "SYMMETRIC_DEFAULT"));
    json_object_set_new(m, "MultiRegion", json_false());
    return json_pack("{s:o}", "KeyMetadata", m);
}

/* The AWS managed key of the caller's (account, region), as a key. */
static void managed_key(const resolved_t *r, kms_key_t *key, char *desc)
{
    memset(key, 0, sizeof *key);
    snprintf(key->account, sizeof key->account, "%s", r->account);
    snprintf(key->region, sizeof key->region, "%s", r->region);
    managed_id(key->account, key->region, key->id);
    key->description = desc;
    key->state = RN_KMS_ENABLED;
}

/* ---- operations ---- */

static int op_CreateKey(kcall_t *c)
{
    int bad = 0;
    const char *desc = arg_str(c, "Description", "description", 0, 0, 8192, &bad);
    if (bad)
        return -1;
    static const struct {
        const char *member, *wname, *only;
    } fixed[] = {{"KeyUsage", "keyUsage", "ENCRYPT_DECRYPT"},
                 {"KeySpec", "keySpec", "SYMMETRIC_DEFAULT"},
                 {"CustomerMasterKeySpec", "customerMasterKeySpec", "SYMMETRIC_DEFAULT"},
                 {"Origin", "origin", "AWS_KMS"}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const char *v = arg_str(c, fixed[i].member, fixed[i].wname, 0, 1, 64, &bad);
        if (bad)
            return -1;
        if (v && strcmp(v, fixed[i].only) != 0)
            return fail(c, 400, "UnsupportedOperationException",
                        "runnel's KMS makes only symmetric encryption keys: %s %s is not supported.",
                        fixed[i].member, v);
    }
    if (json_is_true(json_object_get(c->in, "MultiRegion")))
        return fail(c, 400, "UnsupportedOperationException",
                    "runnel's KMS makes only single-Region keys: MultiRegion true is not supported.");
    json_t *tags = json_object_get(c->in, "Tags");
    if (tags && !json_is_array(tags))
        return fail(c, 400, "SerializationException", "Unexpected value type for 'Tags'");
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        const char *tk = json_string_value(json_object_get(t, "TagKey"));
        const char *tv = json_string_value(json_object_get(t, "TagValue"));
        if (!tk || !tv || !*tk || strlen(tk) > 128 || strlen(tv) > 256)
            return fail(c, 400, "TagException", "Tag %zu is not a valid TagKey and TagValue pair.", i + 1);
    }
    rn_kms_t *k = c->k;
    if (k->nkeys >= KMS_KEYS_MAX)
        return fail(c, 400, "LimitExceededException",
                    "This server holds %d KMS keys, its limit (runnel's; delete keys to make room).", KMS_KEYS_MAX);
    if (keys_reserve(k) != 0)
        return fail(c, 500, "KMSInternalException", "Out of memory.");
    kms_key_t key = {0};
    snprintf(key.account, sizeof key.account, "%s", c->account);
    snprintf(key.region, sizeof key.region, "%s", c->region);
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return fail(c, 500, "KMSInternalException", "No random bytes.");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, key.id);
    key.description = strdup(desc ? desc : "");
    key.tags = tags && json_array_size(tags) ? json_deep_copy(tags) : NULL;
    key.state = RN_KMS_ENABLED;
    key.created_ms = c->now_ms;
    int rc = key_save(k, &key);
    if (rc) {
        key_free(&key);
        return fail_store(c, rc);
    }
    k->keys[k->nkeys++] = key;
    return reply(c, metadata(&k->keys[k->nkeys - 1], 0));
}

static int op_DescribeKey(kcall_t *c)
{
    kms_key_t *key, mk;
    int managed;
    resolved_t r;
    if (key_arg(c, "kms:DescribeKey", 1, &key, &managed, &r) != 0)
        return -1;
    char desc[] = MANAGED_DESCRIPTION;
    if (managed) {
        managed_key(&r, &mk, desc);
        key = &mk;
    }
    return reply(c, metadata(key, managed));
}

/* The customer key an administrative operation (action) names by KeyId (a
 * key id or key ARN): 0, or -1 answered (the AWS managed key refused). */
static int customer_key(kcall_t *c, const char *action, kms_key_t **key, resolved_t *r)
{
    int managed;
    char full[64];
    snprintf(full, sizeof full, "kms:%s", action);
    if (key_arg(c, full, 0, key, &managed, r) != 0)
        return -1;
    return managed ? managed_denied(c, action, r->arn) : 0;
}

/* Give key a new state and save it; on a store failure it stays as it was
 * (answered). */
static int set_state(kcall_t *c, kms_key_t *key, rn_kms_state_t state, int64_t deletion_ms, int days)
{
    kms_key_t old = *key;
    key->state = state;
    key->deletion_ms = deletion_ms;
    key->pending_days = days;
    int rc = key_save(c->k, key);
    if (rc) {
        *key = old;
        return fail_store(c, rc);
    }
    return 0;
}

/* EnableKey, DisableKey: a key pending deletion stays as it is. */
static int set_enabled(kcall_t *c, int enable)
{
    kms_key_t *key;
    resolved_t r;
    if (customer_key(c, enable ? "EnableKey" : "DisableKey", &key, &r) != 0)
        return -1;
    if (key->state == RN_KMS_PENDING_DELETION)
        return fail(c, 400, "KMSInvalidStateException", "%s is pending deletion.", r.arn);
    if (set_state(c, key, enable ? RN_KMS_ENABLED : RN_KMS_DISABLED, 0, 0) != 0)
        return -1;
    return reply(c, NULL);
}

static int op_EnableKey(kcall_t *c)
{
    return set_enabled(c, 1);
}

static int op_DisableKey(kcall_t *c)
{
    return set_enabled(c, 0);
}

static int op_ScheduleKeyDeletion(kcall_t *c)
{
    kms_key_t *key;
    resolved_t r;
    long days;
    if (customer_key(c, "ScheduleKeyDeletion", &key, &r) != 0 ||
        arg_int(c, "PendingWindowInDays", "pendingWindowInDays", 7, 30, 30, &days) != 0)
        return -1;
    if (key->state == RN_KMS_PENDING_DELETION)
        return fail(c, 400, "KMSInvalidStateException", "%s is pending deletion.", r.arn);
    if (set_state(c, key, RN_KMS_PENDING_DELETION, c->now_ms + days * DAY_MS, (int)days) != 0)
        return -1;
    return reply(c, json_pack("{s:s,s:o,s:s,s:i}", "KeyId", r.arn, "DeletionDate", ts(key->deletion_ms), "KeyState",
                              "PendingDeletion", "PendingWindowInDays", (int)days));
}

static int op_CancelKeyDeletion(kcall_t *c)
{
    kms_key_t *key;
    resolved_t r;
    if (customer_key(c, "CancelKeyDeletion", &key, &r) != 0)
        return -1;
    if (key->state != RN_KMS_PENDING_DELETION) /* AWS's wording is a guess */
        return fail(c, 400, "KMSInvalidStateException", "%s is not pending deletion.", r.arn);
    /* as AWS: a key whose deletion is cancelled is Disabled */
    if (set_state(c, key, RN_KMS_DISABLED, 0, 0) != 0)
        return -1;
    return reply(c, json_pack("{s:s}", "KeyId", r.arn));
}

/* AliasName: "alias/" + 1..250 of [A-Za-z0-9/_-]. */
static const char *alias_arg(kcall_t *c)
{
    int bad = 0;
    const char *name = arg_str(c, "AliasName", "aliasName", 1, 1, 256, &bad);
    if (bad)
        return NULL;
    rn_kms_id_t p;
    if (strncmp(name, "alias/", 6) != 0) {
        fail(c, 400, "ValidationException", "Alias must start with the prefix \"alias/\". Please see "
                                            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
        return NULL;
    }
    if (rn_kms_parse_id(name, &p) != RN_KMS_ID_ALIAS) {
        char d[600];
        snprintf(d, sizeof d,
                 "Value '%.256s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular "
                 "expression pattern: ^[a-zA-Z0-9:/_-]+$",
                 name);
        invalid(c, d);
        return NULL;
    }
    return name;
}

static int op_CreateAlias(kcall_t *c)
{
    const char *name = alias_arg(c);
    if (!name)
        return -1;
    int bad = 0;
    const char *target = arg_str(c, "TargetKeyId", "targetKeyId", 1, 1, 2048, &bad);
    if (bad)
        return -1;
    if (strncmp(name, "alias/aws/", 10) == 0) /* reserved for AWS managed keys (wording a guess) */
        return fail(c, 400, "NotAuthorizedException", "Cannot create alias with prefix 'alias/aws/'");
    kms_key_t *key;
    int managed;
    resolved_t r;
    char aarn[RN_KMS_ARN_MAX];
    alias_arn(c->account, c->region, name, aarn, sizeof aarn);
    if (allowed(c, "kms:CreateAlias", c->account, aarn) != 0 ||
        named_key(c, target, "kms:CreateAlias", 0, &key, &managed, &r) != 0)
        return -1;
    if (managed || strcmp(r.account, c->account) != 0)
        return managed_denied(c, "CreateAlias", r.arn);
    if (key->state == RN_KMS_PENDING_DELETION)
        return fail(c, 400, "KMSInvalidStateException", "%s is pending deletion.", r.arn);
    rn_kms_t *k = c->k;
    if (find_alias(k, c->account, c->region, name))
        return fail(c, 400, "AlreadyExistsException", "An alias with the name %s already exists", aarn);
    if (k->naliases >= KMS_ALIASES_MAX)
        return fail(c, 400, "LimitExceededException",
                    "This server holds %d KMS aliases, its limit (runnel's; delete aliases to make room).",
                    KMS_ALIASES_MAX);
    if (aliases_reserve(k) != 0)
        return fail(c, 500, "KMSInternalException", "Out of memory.");
    kms_alias_t a = {0};
    snprintf(a.account, sizeof a.account, "%s", c->account);
    snprintf(a.region, sizeof a.region, "%s", c->region);
    snprintf(a.target, sizeof a.target, "%s", key->id);
    a.created_ms = a.updated_ms = c->now_ms;
    if (!(a.name = strdup(name)))
        return fail(c, 500, "KMSInternalException", "Out of memory.");
    int rc = alias_save(k, &a);
    if (rc) {
        free(a.name);
        return fail_store(c, rc);
    }
    k->aliases[k->naliases++] = a;
    return reply(c, NULL);
}

static int op_DeleteAlias(kcall_t *c)
{
    const char *name = alias_arg(c);
    if (!name)
        return -1;
    char aarn[RN_KMS_ARN_MAX];
    alias_arn(c->account, c->region, name, aarn, sizeof aarn);
    if (allowed(c, "kms:DeleteAlias", c->account, aarn) != 0)
        return -1;
    if (strcmp(name, MANAGED_ALIAS) == 0)
        return managed_denied(c, "DeleteAlias", aarn);
    long i = alias_index(c->k, c->account, c->region, name);
    if (i < 0)
        return fail(c, 400, "NotFoundException", "Alias %s is not found.", aarn);
    char karn[RN_KMS_ARN_MAX];
    key_arn(c->account, c->region, c->k->aliases[i].target, karn, sizeof karn);
    if (allowed(c, "kms:DeleteAlias", c->account, karn) != 0)
        return -1;
    alias_remove(c->k, (size_t)i);
    return reply(c, NULL);
}

/* One page of a list: Limit and Marker (the offset of the next item among
 * the caller's), and the items taken so far. */
typedef struct page {
    long limit;
    size_t from, seen, next;
    int more;
    json_t *arr;
} page_t;

static int page_open(kcall_t *c, long max_limit, page_t *p)
{
    memset(p, 0, sizeof *p);
    if (arg_int(c, "Limit", "limit", 1, max_limit, 100, &p->limit) != 0)
        return -1;
    int bad = 0;
    const char *m = arg_str(c, "Marker", "marker", 0, 1, 1024, &bad);
    if (bad)
        return -1;
    if (m) {
        char *end;
        unsigned long long v = strtoull(m, &end, 10);
        if (*end || end == m)
            return fail(c, 400, "InvalidMarkerException", "Invalid marker: %.100s", m);
        p->from = (size_t)v;
    }
    p->arr = json_array();
    return 0;
}

/* The caller's next item: 1 to add it to the page, 0 to skip it (before the
 * marker), -1 when the page is full (the list is truncated). */
static int page_take(page_t *p)
{
    if (p->seen++ < p->from)
        return 0;
    if ((long)json_array_size(p->arr) == p->limit) {
        p->more = 1;
        return -1;
    }
    p->next = p->seen;
    return 1;
}

/* {member: [...], Truncated, NextMarker when truncated} */
static int page_reply(kcall_t *c, page_t *p, const char *member)
{
    json_t *doc = json_pack("{s:o,s:b}", member, p->arr, "Truncated", p->more);
    if (doc && p->more) {
        char m[32];
        snprintf(m, sizeof m, "%zu", p->next);
        json_object_set_new(doc, "NextMarker", json_string(m));
    }
    return reply(c, doc);
}

static int op_ListKeys(kcall_t *c)
{
    page_t p;
    if (page_open(c, 1000, &p) != 0)
        return -1;
    for (size_t i = 0; i < c->k->nkeys; i++) {
        const kms_key_t *key = &c->k->keys[i];
        int t = same_ns(key->account, key->region, c->account, c->region) ? page_take(&p) : 0;
        if (t < 0)
            break;
        if (t == 0)
            continue;
        char arn[RN_KMS_ARN_MAX];
        key_arn(key->account, key->region, key->id, arn, sizeof arn);
        json_array_append_new(p.arr, json_pack("{s:s,s:s}", "KeyId", key->id, "KeyArn", arn));
    }
    return page_reply(c, &p, "Keys");
}

static json_t *alias_json(const kcall_t *c, const char *name, const char *target, int64_t created, int64_t updated)
{
    char aarn[RN_KMS_ARN_MAX];
    alias_arn(c->account, c->region, name, aarn, sizeof aarn);
    json_t *a = json_pack("{s:s,s:s,s:s}", "AliasName", name, "AliasArn", aarn, "TargetKeyId", target);
    if (a && created >= 0) {
        json_object_set_new(a, "CreationDate", ts(created));
        json_object_set_new(a, "LastUpdatedDate", ts(updated));
    }
    return a;
}

static int op_ListAliases(kcall_t *c)
{
    int bad = 0;
    const char *filter = arg_str(c, "KeyId", "keyId", 0, 1, 2048, &bad);
    if (bad)
        return -1;
    char mid[KEY_ID_LEN + 1];
    managed_id(c->account, c->region, mid);
    const char *want = NULL;
    if (filter) {
        kms_key_t *fkey;
        int managed;
        resolved_t r;
        if (named_key(c, filter, NULL, 0, &fkey, &managed, &r) != 0)
            return -1;
        want = managed ? mid : fkey->id;
    }
    page_t p;
    if (page_open(c, 100, &p) != 0)
        return -1;
    /* the AWS managed alias first, then the account's aliases */
    if ((!want || strcmp(want, mid) == 0) && page_take(&p) > 0)
        json_array_append_new(p.arr, alias_json(c, MANAGED_ALIAS, mid, -1, -1));
    for (size_t i = 0; i < c->k->naliases; i++) {
        const kms_alias_t *a = &c->k->aliases[i];
        int mine = same_ns(a->account, a->region, c->account, c->region) && (!want || strcmp(a->target, want) == 0);
        int t = mine ? page_take(&p) : 0;
        if (t < 0)
            break;
        if (t > 0)
            json_array_append_new(p.arr, alias_json(c, a->name, a->target, a->created_ms, a->updated_ms));
    }
    return page_reply(c, &p, "Aliases");
}

static const struct {
    const char *name;
    int (*fn)(kcall_t *c);
    int any; /* authorised on "*" here (the others authorise the resources they name) */
} ops[] = {
    {"CreateKey", op_CreateKey, 1},
    {"DescribeKey", op_DescribeKey, 0},
    {"ListKeys", op_ListKeys, 1},
    {"EnableKey", op_EnableKey, 0},
    {"DisableKey", op_DisableKey, 0},
    {"ScheduleKeyDeletion", op_ScheduleKeyDeletion, 0},
    {"CancelKeyDeletion", op_CancelKeyDeletion, 0},
    {"CreateAlias", op_CreateAlias, 0},
    {"DeleteAlias", op_DeleteAlias, 0},
    {"ListAliases", op_ListAliases, 1},
};

void rn_kms_answer(rn_kms_t *k, const char *account, const char *region, const char *principal_arn,
                   const rn_kms_authz_t *authz, const char *op, size_t oplen, const uint8_t *body, size_t len,
                   int64_t now_ms, rn_kms_reply_t *out)
{
    kcall_t c = {.k = k, .account = account, .region = region, .principal = principal_arn, .authz = authz,
                 .now_ms = now_ms, .out = out};
    memset(out, 0, sizeof *out);
    int (*fn)(kcall_t *) = NULL;
    char action[64] = "";
    int any = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strlen(ops[i].name) == oplen && memcmp(ops[i].name, op, oplen) == 0) {
            fn = ops[i].fn;
            any = ops[i].any;
            snprintf(action, sizeof action, "kms:%s", ops[i].name);
        }
    if (!fn) {
        fail(&c, 400, "UnknownOperationException", "The operation %.*s is not supported by runnel's KMS.",
             (int)(oplen > 100 ? 100 : oplen), op);
        return;
    }
    c.in = len ? json_loadb((const char *)body, len, 0, NULL) : json_object();
    if (!json_is_object(c.in)) {
        json_decref(c.in);
        fail(&c, 400, "SerializationException", "Start of structure or map found where not expected.");
        return;
    }
    int rc = load(k);
    if (rc) {
        json_decref(c.in);
        fail_store(&c, rc);
        return;
    }
    sweep(k, now_ms);
    if (!any || allowed(&c, action, account, "*") == 0)
        fn(&c);
    json_decref(c.in);
}
