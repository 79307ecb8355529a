/* decode.c: request bodies -> checked jansson trees (rn_wire_decode).
 *
 * Four steps, as AWS's Coral front end takes them (KINESIS_CONTRACT §2.2,
 * §2.3):
 *   bound   one allocation-free pass over the raw bytes, guided by the
 *           shape (wire/scan.c): nesting, element counts, unknown members'
 *           size and the number of values are bounded before any tree
 *           exists, so the tree built next is small whatever the body;
 *   parse   rn_wire_json_parse, the tree json_loadb would build, faster
 *           (wire/json_parse.h; CBOR: rn_cbor_to_json, wire/cbor.c); an empty
 *           body, bad JSON or CBOR, or a non-object is a bare
 *           SerializationException.
 *   coerce  walk the body in document order against the input shape; the
 *           first JSON value whose type does not fit its member's shape is a
 *           SerializationException with AWS's coercion message. Numbers for
 *           integer/long members are normalised in place (floats floored,
 *           integers clamped to the shape's Java range), so handlers can read
 *           them with json_integer_value(). Unknown members are skipped.
 *   check   walk the shape in model order, collecting constraint failures
 *           (required, length, value range, pattern, enum) into one
 *           ValidationException, at most 10 items.
 * The walk allocates nothing beyond jansson's own tree: paths live in a
 * fixed buffer on the stack, message text in the error being built. */
#include "wire/wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wire/b64.h"
#include "wire/cbor.h"
#include "wire/json_parse.h"
#include "wire/scan.h"
#include "wire/shapes_int.h"

#define MAX_ITEMS 10
#define PATH_MAX_LEN 512

/* ---- small helpers ----------------------------------------------------- */

/* Length of UTF-8 text in UTF-16 code units, as Java's String.length():
 * every byte that is not a continuation byte starts one unit, and a 4-byte
 * sequence needs a second (surrogate) unit. */
static size_t utf16_len(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((u[i] & 0xC0) != 0x80) + (u[i] >= 0xF0);
    return n;
}

const char *rn_wire_java_name(int kind)
{
    switch (kind) {
    case RN_SK_INTEGER:
        return "an Integer";
    case RN_SK_LONG:
        return "an Long";
    case RN_SK_DOUBLE:
        return "an Double";
    case RN_SK_BOOLEAN:
        return "an Boolean";
    case RN_SK_STRING:
        return "an String";
    case RN_SK_BLOB:
        return "a Blob";
    case RN_SK_TIMESTAMP:
        return "milliseconds since epoch";
    }
    return "an Object";
}

/* Every coerce() failure is a value of the wrong type for its member. */
static int ser_error(rn_error_t *err, const char *msg)
{
    return rn_error_set(err, RN_AWS_SERIALIZATION_TYPE, msg);
}

/* The message for a JSON value of the wrong kind for a scalar shape. */
static int type_error(rn_error_t *err, int kind, const json_t *v)
{
    char msg[256];
    const char *cls;
    switch (json_typeof(v)) {
    case JSON_ARRAY:
    case JSON_OBJECT:
        return ser_error(err, rn_wire_container_error(kind, json_is_array(v), json_is_object(v)));
    case JSON_STRING:
        if (kind == RN_SK_BOOLEAN) {
            /* AWS quotes the text, upper-cased (ASCII) */
            size_t len = json_string_length(v);
            int vlen = len > 200 ? 200 : (int)len;
            char up[201];
            for (int i = 0; i < vlen; i++) {
                char c = json_string_value(v)[i];
                up[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
            }
            snprintf(msg, sizeof msg, "'%.*s' can not be converted to an Boolean", vlen, up);
            return ser_error(err, msg);
        }
        cls = "java.lang.String";
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        cls = "java.lang.Boolean";
        break;
    default:
        cls = "com.amazon.coral.value.json.numbers.TruncatingBigNumber";
        break;
    }
    snprintf(msg, sizeof msg, "class %s can not be converted to %s", cls, rn_wire_java_name(kind));
    return ser_error(err, msg);
}

/* AWS's message for base64 text it cannot turn into a Blob. */
static int blob_error(rn_error_t *err, const char *s, size_t len, int status, size_t bad)
{
    char msg[RN_ERROR_MESSAGE_MAX];
    /* AWS counts the length in UTF-16 units, not bytes: redo the length and
     * character checks in those terms when the text is not ASCII. */
    size_t units = utf16_len(s, len);
    if (units != len) {
        if (units % 4) {
            status = RN_B64_BAD_LENGTH;
        } else {
            status = RN_B64_BAD_CHAR;
            for (bad = 0; bad < len; bad++) {
                unsigned char c = (unsigned char)s[bad];
                int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                         c == '+' || c == '/' || (c == '=' && (bad + 1 == len || s[bad + 1] == '='));
                if (!ok)
                    break;
            }
        }
    }
    int vlen = len > RN_ERROR_MESSAGE_MAX ? RN_ERROR_MESSAGE_MAX : (int)len;
    if (status == RN_B64_BAD_LENGTH) {
        snprintf(msg, sizeof msg,
                 "'%.*s' can not be converted to a Blob: Base64 encoded length is expected a "
                 "multiple of 4 bytes but found: %zu",
                 vlen, s, units);
    } else if (status == RN_B64_BAD_CHAR) {
        /* quote the whole character, even when it is multi-byte UTF-8 */
        unsigned char c = (unsigned char)s[bad];
        int clen = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (bad + (size_t)clen > len)
            clen = (int)(len - bad);
        snprintf(msg, sizeof msg, "'%.*s' can not be converted to a Blob: Invalid Base64 character: '%.*s'",
                 vlen, s, clen, s + bad);
    } else {
        snprintf(msg, sizeof msg,
                 "'%.*s' can not be converted to a Blob: Invalid last non-pad Base64 character dectected",
                 vlen, s);
    }
    return ser_error(err, msg);
}

/* Decoded length of a blob that coerce() accepted: no need to rescan. */
static size_t blob_len(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t pad = len && s[len - 1] == '=' ? 1 + (len > 1 && s[len - 2] == '=') : 0;
    return len / 4 * 3 - pad;
}

static const rn_wire_member_t *find_member(const rn_wire_shape_t *sh, const char *key, size_t klen)
{
    for (int i = 0; i < sh->n_members; i++) {
        const rn_wire_member_t *m = &sh->members[i];
        if (m->name_len == klen && memcmp(m->name, key, klen) == 0)
            return m;
    }
    return NULL;
}

static size_t iter_key_len(void *it, const char *key)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    (void)key;
    return json_object_iter_key_len(it);
#else
    (void)it;
    return strlen(key);
#endif
}

/* ---- step 2: coercion -------------------------------------------------- */

/* Normalise a number for an integer/long member: floor, then clamp to the
 * Java type's range. Returns a new value to store in its place, or NULL
 * when v is already normal (or on allocation failure, *oom set). */
static json_t *normalise_int(int kind, json_t *v, int *oom)
{
    const long long lo = kind == RN_SK_INTEGER ? -2147483647LL - 1 : INT64_MIN;
    const long long hi = kind == RN_SK_INTEGER ? 2147483647LL : INT64_MAX;
    long long n;
    if (json_is_integer(v)) {
        n = (long long)json_integer_value(v);
        if (n >= lo && n <= hi)
            return NULL;
        n = n < lo ? lo : hi;
    } else {
        double d = floor(json_real_value(v));
        if (d != d)
            n = 0;
        else if (d <= (double)lo)
            n = lo;
        else if (d >= (double)hi) /* (double)INT64_MAX rounds up: compare >= */
            n = hi;
        else
            n = (long long)d;
    }
    json_t *r = json_integer((json_int_t)n);
    if (!r)
        *oom = 1;
    return r;
}

static int coerce(const rn_wire_shape_t *sh, json_t *v, json_t **repl, rn_error_t *err);

static int coerce_struct(const rn_wire_shape_t *sh, json_t *obj, rn_error_t *err)
{
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        const rn_wire_member_t *m = find_member(sh, key, iter_key_len(it, key));
        json_t *v = json_object_iter_value(it);
        if (!m || json_is_null(v))
            continue; /* unknown members are ignored; null means absent */
        json_t *repl = NULL;
        if (coerce(&rn_wire_shapes[m->shape], v, &repl, err))
            return -1;
        if (repl && json_object_iter_set_new(obj, it, repl))
            return rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
    }
    return 0;
}

/* Check v against sh; *repl receives a replacement value (normalised
 * number) for the caller to store, or stays NULL. */
static int coerce(const rn_wire_shape_t *sh, json_t *v, json_t **repl, rn_error_t *err)
{
    switch (sh->kind) {
    case RN_SK_STRUCTURE:
        if (json_is_object(v))
            return coerce_struct(sh, v, err);
        return ser_error(err, rn_wire_container_error(sh->kind, json_is_array(v), json_is_object(v)));
    case RN_SK_LIST: {
        if (!json_is_array(v))
            return ser_error(err, rn_wire_container_error(sh->kind, json_is_array(v), json_is_object(v)));
        const rn_wire_shape_t *el = &rn_wire_shapes[sh->member];
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                continue;
            json_t *r = NULL;
            if (coerce(el, e, &r, err))
                return -1;
            if (r && json_array_set_new(v, i, r))
                return rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
        }
        return 0;
    }
    case RN_SK_MAP: {
        if (!json_is_object(v))
            return ser_error(err, rn_wire_container_error(sh->kind, json_is_array(v), json_is_object(v)));
        const rn_wire_shape_t *val = &rn_wire_shapes[sh->value];
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            json_t *e = json_object_iter_value(it);
            if (json_is_null(e))
                continue;
            json_t *r = NULL;
            if (coerce(val, e, &r, err))
                return -1;
            if (r && json_object_iter_set_new(v, it, r))
                return rn_error_set(err, RN_AWS_INTERNAL_FAILURE);
        }
        return 0;
    }
    case RN_SK_STRING:
        return json_is_string(v) ? 0 : type_error(err, sh->kind, v);
    case RN_SK_INTEGER:
    case RN_SK_LONG: {
        if (!json_is_number(v))
            return type_error(err, sh->kind, v);
        int oom = 0;
        *repl = normalise_int(sh->kind, v, &oom);
        return oom ? rn_error_set(err, RN_AWS_INTERNAL_FAILURE) : 0;
    }
    case RN_SK_DOUBLE:
    case RN_SK_TIMESTAMP:
        return json_is_number(v) ? 0 : type_error(err, sh->kind, v);
    case RN_SK_BOOLEAN:
        if (json_is_string(v)) {
            /* AWS reads these texts (any case) as booleans */
            static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
            const char *s = json_string_value(v);
            for (int i = 0; i < 3 && strlen(s) == json_string_length(v); i++) {
                if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
                    *repl = json_boolean(strcasecmp(s, yes[i]) == 0);
                    return 0;
                }
            }
        }
        return json_is_boolean(v) ? 0 : type_error(err, sh->kind, v);
    case RN_SK_BLOB: {
        if (!json_is_string(v))
            return type_error(err, sh->kind, v);
        const char *s = json_string_value(v);
        size_t len = json_string_length(v), bad = 0;
        int st = rn_b64_check(s, len, &bad, NULL);
        if (st == RN_B64_OK)
            return 0;
        return blob_error(err, s, len, st, bad);
    }
    }
    return 0;
}

/* ---- step 3: constraints ----------------------------------------------- */

typedef struct vctx {
    int count;                           /* items listed, <= MAX_ITEMS */
    size_t len;                          /* bytes used in text */
    char text[RN_ERROR_MESSAGE_MAX];     /* "item; item; ..." */
    size_t plen;                         /* bytes used in path */
    char path[PATH_MAX_LEN];             /* "records.1.member.data" */
} vctx_t;

static void text_add(vctx_t *c, const char *s, size_t n)
{
    size_t room = sizeof c->text - 1 - c->len;
    if (n > room)
        n = room;
    memcpy(c->text + c->len, s, n);
    c->len += n;
    c->text[c->len] = 0;
}

static void text_adds(vctx_t *c, const char *s)
{
    text_add(c, s, strlen(s));
}

/* Append one item. repr: NULL to omit the value (blobs, lists, maps),
 * "null" for a missing member, else the value's text (quoted here). */
static void item(vctx_t *c, const char *repr, size_t repr_len, const char *rule1, const char *rule2,
                 const char *rule3)
{
    if (c->count >= MAX_ITEMS)
        return;
    if (c->count)
        text_adds(c, "; ");
    c->count++;
    text_adds(c, "Value ");
    if (repr == NULL) {
    } else if (repr_len == (size_t)-1) {
        text_adds(c, repr);
        text_adds(c, " ");
    } else {
        text_adds(c, "'");
        text_add(c, repr, repr_len);
        text_adds(c, "' ");
    }
    text_adds(c, "at '");
    text_add(c, c->path, c->plen);
    text_adds(c, "' failed to satisfy constraint: ");
    text_adds(c, rule1);
    if (rule2)
        text_adds(c, rule2);
    if (rule3)
        text_adds(c, rule3);
}

static void rule_num(char *buf, size_t n, const char *what, const char *cmp, long long v)
{
    snprintf(buf, n, "Member must have %s %s or equal to %lld", what, cmp, v);
}

/* Length rules, for strings, blobs, lists and maps. */
static void check_length(vctx_t *c, const rn_wire_shape_t *sh, size_t n, const char *repr, size_t rlen)
{
    char rule[96];
    if (sh->has_min && (long long)n < sh->min) {
        rule_num(rule, sizeof rule, "length", "greater than", sh->min);
        item(c, repr, rlen, rule, NULL, NULL);
    }
    if (sh->has_max && (long long)n > sh->max) {
        rule_num(rule, sizeof rule, "length", "less than", sh->max);
        item(c, repr, rlen, rule, NULL, NULL);
    }
}

static int enum_ok(const rn_wire_shape_t *sh, const char *s, size_t len)
{
    for (int i = 0; i < sh->n_enums; i++)
        if (strlen(sh->enums[i]) == len && memcmp(sh->enums[i], s, len) == 0)
            return 1;
    return 0;
}

static int string_ok(const rn_wire_shape_t *sh, const char *s, size_t len)
{
    if (sh->pattern && !rn_wire_pattern_match(sh->pattern, s, len))
        return 0;
    if (sh->has_min || sh->has_max) {
        long long u = (long long)utf16_len(s, len);
        if ((sh->has_min && u < sh->min) || (sh->has_max && u > sh->max))
            return 0;
    }
    return sh->n_enums == 0 || enum_ok(sh, s, len);
}

/* 1 when a scalar value satisfies every rule of its shape (used for list
 * elements and map keys/values, reported as one item for the collection). */
static int scalar_ok(const rn_wire_shape_t *sh, const json_t *v)
{
    switch (sh->kind) {
    case RN_SK_STRING:
        return string_ok(sh, json_string_value(v), json_string_length(v));
    case RN_SK_INTEGER:
    case RN_SK_LONG: {
        long long n = (long long)json_integer_value(v);
        return !((sh->has_min && n < sh->min) || (sh->has_max && n > sh->max));
    }
    case RN_SK_BLOB: {
        size_t d = blob_len(v);
        return !((sh->has_min && (long long)d < sh->min) || (sh->has_max && (long long)d > sh->max));
    }
    }
    return 1;
}

static size_t path_push(vctx_t *c, const char *s, size_t n)
{
    size_t saved = c->plen;
    if (c->plen && c->plen < sizeof c->path)
        c->path[c->plen++] = '.';
    if (n > sizeof c->path - c->plen)
        n = sizeof c->path - c->plen;
    memcpy(c->path + c->plen, s, n);
    c->plen += n;
    return saved;
}

static void check_value(vctx_t *c, const rn_wire_shape_t *sh, const json_t *v);

static void check_struct(vctx_t *c, const rn_wire_shape_t *sh, const json_t *obj)
{
    for (int i = 0; i < sh->n_members && c->count < MAX_ITEMS; i++) {
        const rn_wire_member_t *m = &sh->members[i];
        const json_t *v = json_object_get(obj, m->name);
        size_t saved = path_push(c, m->path, m->path_len);
        if (!v || json_is_null(v)) {
            if (m->required)
                item(c, "null", (size_t)-1, "Member must not be null", NULL, NULL);
        } else {
            check_value(c, &rn_wire_shapes[m->shape], v);
        }
        c->plen = saved;
    }
}

static void check_value(vctx_t *c, const rn_wire_shape_t *sh, const json_t *v)
{
    char rule[96];
    switch (sh->kind) {
    case RN_SK_STRUCTURE:
        check_struct(c, sh, v);
        return;
    case RN_SK_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (sh->pattern && !rn_wire_pattern_match(sh->pattern, s, len))
            item(c, s, len, "Member must satisfy regular expression pattern: ", sh->pattern->model, NULL);
        if (sh->has_min || sh->has_max)
            check_length(c, sh, utf16_len(s, len), s, len);
        if (sh->n_enums && !enum_ok(sh, s, len))
            item(c, s, len, "Member must satisfy enum value set: ", sh->enum_text, NULL);
        return;
    }
    case RN_SK_INTEGER:
    case RN_SK_LONG: {
        long long n = (long long)json_integer_value(v);
        char repr[32];
        int rlen = snprintf(repr, sizeof repr, "%lld", n);
        if (sh->has_min && n < sh->min) {
            rule_num(rule, sizeof rule, "value", "greater than", sh->min);
            item(c, repr, (size_t)rlen, rule, NULL, NULL);
        }
        if (sh->has_max && n > sh->max) {
            rule_num(rule, sizeof rule, "value", "less than", sh->max);
            item(c, repr, (size_t)rlen, rule, NULL, NULL);
        }
        return;
    }
    case RN_SK_BLOB: {
        if (!sh->has_min && !sh->has_max)
            return;
        check_length(c, sh, blob_len(v), NULL, 0);
        return;
    }
    case RN_SK_LIST: {
        size_t n = json_array_size(v);
        check_length(c, sh, n, NULL, 0);
        const rn_wire_shape_t *el = &rn_wire_shapes[sh->member];
        if (el->kind == RN_SK_STRUCTURE || el->kind == RN_SK_LIST || el->kind == RN_SK_MAP) {
            char idx[32];
            for (size_t i = 0; i < n && c->count < MAX_ITEMS; i++) {
                const json_t *e = json_array_get(v, i);
                int il = snprintf(idx, sizeof idx, "%zu.member", i + 1);
                size_t saved = path_push(c, idx, (size_t)il);
                if (json_is_null(e))
                    item(c, "null", (size_t)-1, "Member must not be null", NULL, NULL);
                else
                    check_value(c, el, e);
                c->plen = saved;
            }
        } else if (el->rules_text) {
            for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(v, i);
                if (json_is_null(e) || !scalar_ok(el, e)) {
                    item(c, NULL, 0, "Member must satisfy constraint: [", el->rules_text, "]");
                    break;
                }
            }
        }
        return;
    }
    case RN_SK_MAP: {
        check_length(c, sh, json_object_size(v), NULL, 0);
        const rn_wire_shape_t *ks = &rn_wire_shapes[sh->key], *vs = &rn_wire_shapes[sh->value];
        int bad_key = 0, bad_val = 0;
        json_t *m = (json_t *)v; /* jansson's iterators take non-const */
        for (void *it = json_object_iter(m); it; it = json_object_iter_next(m, it)) {
            const char *key = json_object_iter_key(it);
            if (ks->kind == RN_SK_STRING && !string_ok(ks, key, iter_key_len(it, key)))
                bad_key = 1;
            const json_t *e = json_object_iter_value(it);
            if (json_is_null(e) || !scalar_ok(vs, e))
                bad_val = 1;
        }
        if (bad_key && ks->rules_text) {
            item(c, NULL, 0, "Map keys must satisfy constraint: [", ks->rules_text, "]");
        }
        if (bad_val) {
            item(c, NULL, 0, "Map value must satisfy constraint: [",
                 vs->rules_text ? vs->rules_text : "Member must not be null", "]");
        }
        return;
    }
    default:
        return;
    }
}

/* ---- entry point ------------------------------------------------------- */

int rn_wire_decode(rn_op_t op, rn_proto_t proto, const uint8_t *body, size_t len, json_t **out,
                   rn_error_t *err)
{
    *out = NULL;
    if (op < 0 || op >= RN_OP_COUNT)
        return rn_error_set(err, RN_AWS_UNKNOWN_OPERATION);
    if (len == 0)
        return rn_error_set(err, RN_AWS_SERIALIZATION_BARE);
    const rn_wire_shape_t *sh = &rn_wire_shapes[rn_wire_op_input[op]];
    json_t *root;
    if (proto == RN_PROTO_CBOR) {
        if (rn_wire_scan_cbor(sh, body, len, err) || rn_cbor_to_json(sh, body, len, &root, err))
            return -1;
    } else {
        if (rn_wire_scan_json(sh, body, len, err))
            return -1;
        root = rn_wire_json_parse(body, len); /* json_loadb's tree, faster: wire/json_parse.h */
        if (!root)
            return rn_error_set(err, RN_AWS_SERIALIZATION_BARE);
        if (!json_is_object(root)) {
            json_decref(root);
            return rn_error_set(err, RN_AWS_SERIALIZATION_BARE);
        }
    }

    if (coerce_struct(sh, root, err)) {
        json_decref(root);
        return -1;
    }

    vctx_t c;
    c.count = 0;
    c.len = 0;
    c.text[0] = 0;
    c.plen = 0;
    check_struct(&c, sh, root);
    if (c.count) {
        json_decref(root);
        char msg[RN_ERROR_MESSAGE_MAX];
        int n = snprintf(msg, sizeof msg, "%d validation error%s detected: ", c.count,
                         c.count == 1 ? "" : "s");
        size_t room = sizeof msg - 1 - (size_t)n;
        size_t tl = c.len < room ? c.len : room;
        memcpy(msg + n, c.text, tl);
        msg[(size_t)n + tl] = 0;
        return rn_error_set_bytes(err, RN_AWS_VALIDATION, msg, (size_t)n + tl);
    }
    *out = root;
    return 0;
}
