/* ops_tags.c: tags (stream-scoped and ARN-scoped) and resource policies.
 *
 * Tags live in the stream (rn_stream_t.tags, sorted by key) and are saved
 * with its metadata document, so they go with the stream. A change is built
 * on a copy of the tag set, validated whole, and swapped in only when it
 * was saved: a failed request changes nothing. A consumer's tags and policy
 * live in its entry (ops_consumers.c: rn_consumer_res, rn_consumer_save), so
 * they go with the consumer; every operation here works on a res_t, the
 * stream's or the consumer's. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "api/access.h"
#include "api/api_int.h"
#include "auth/policy.h"

#define TAG_KEY_MAX 128
#define TAG_VALUE_MAX 256

/* ---- tag text ------------------------------------------------------------------------------ */

/* Decode one UTF-8 code point at *p (advanced); -1 when malformed. */
static long utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    long cp;
    int n;
    if (s[0] < 0x80) {
        *p = s + 1;
        return s[0];
    } else if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1F;
        n = 1;
    } else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0F;
        n = 2;
    } else if ((s[0] & 0xF8) == 0xF0) {
        cp = s[0] & 0x07;
        n = 3;
    } else {
        return -1;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *p = s + n + 1;
    return cp;
}

/* Unicode letters, digits, white space and _ . : / = + - % @ (§4.10: the
 * union of the AddTagsToStream and TagResource documentation). Non-ASCII
 * characters are classified by the C.UTF-8 locale's tables through a
 * private locale object (the process locale is not touched). *len gets the
 * length in characters. */
static int tag_text_ok(const char *text, size_t *len)
{
    static locale_t loc = (locale_t)0;
    static int loc_tried;
    if (!loc_tried) {
        loc_tried = 1;
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    const unsigned char *p = (const unsigned char *)text;
    *len = 0;
    while (*p) {
        long cp = utf8_next(&p);
        if (cp < 0)
            return 0;
        (*len)++;
        if (cp < 0x80) {
            if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
                (cp != 0 && strchr(" _.:/=+-%@", (int)cp))) /* AWS: a tab or newline is invalid */
                continue;
            return 0;
        }
        if (loc == (locale_t)0) /* no tables: accept what we cannot classify */
            continue;
        if (!iswalnum_l((wint_t)cp, loc) && !iswspace_l((wint_t)cp, loc))
            return 0;
    }
    return 1;
}

int rn_tags_check(rn_call_t *c, json_t *tags, const rn_tagset_t *cur, const char *stream_name)
{
    const char *k;
    json_t *val;
    uint32_t added = 0;
    json_object_foreach(tags, k, val)
    {
        const char *v = json_string_value(val) ? json_string_value(val) : "";
        size_t klen, vlen;
        int ok = tag_text_ok(k, &klen) & tag_text_ok(v, &vlen);
        char msg[512];
        if (klen < 1 || klen > TAG_KEY_MAX) {
            snprintf(msg, sizeof msg, "Tag key must be between 1 and %d characters long.", TAG_KEY_MAX);
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
        }
        if (vlen > TAG_VALUE_MAX) {
            snprintf(msg, sizeof msg, "Tag value must be at most %d characters long.", TAG_VALUE_MAX);
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
        }
        if (!ok)
            return rn_error_set(&c->err, RN_AWS_TAGS_BAD_CHARS);
        if (strncmp(k, "aws:", 4) == 0)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "Tag keys starting with 'aws:' are reserved for system use.");
        if (!cur || !rn_tagset_find(cur, k))
            added++;
    }
    if ((cur ? cur->n : 0) + added > RN_TAGS_MAX)
        return rn_error_set(&c->err, RN_AWS_TAGS_TOO_MANY, stream_name, c->account);
    return 0;
}

static json_t *tag_json(const rn_tag_t *t)
{
    return json_pack("{s:s,s:s}", "Key", t->key, "Value", t->value);
}

/* A resource that holds tags and a policy: a stream, or a consumer of it. */
typedef struct res {
    rn_stream_t *s;
    struct rn_consumer *k; /* NULL: the stream itself */
    rn_tagset_t *tags;
    char **policy;
    const char *name;      /* the stream's or the consumer's */
    int deleting;          /* a DELETING consumer */
} res_t;

static res_t res_of_stream(rn_stream_t *s)
{
    res_t r = {s, NULL, &s->tags, &s->policy, s->name, 0};
    return r;
}

static int res_save(rn_call_t *c, res_t *r)
{
    return r->k ? rn_consumer_save(c->api, r->k) : rn_registry_save(c->api->reg, r->s);
}

/* Replace r's tags with *next (taken) and persist; on failure r keeps its tags. */
static int res_save_tags(rn_call_t *c, res_t *r, rn_tagset_t *next)
{
    if (!r->k)
        return rn_registry_save_tags(c->api->reg, r->s, next);
    rn_tagset_t old = *r->tags;
    *r->tags = *next;
    next->v = NULL;
    next->n = 0;
    int rc = rn_consumer_save(c->api, r->k);
    if (rc) {
        rn_tagset_t failed = *r->tags;
        *r->tags = old;
        rn_tagset_dispose(&failed);
        return rc;
    }
    rn_tagset_dispose(&old);
    return 0;
}

/* Add or overwrite every tag of the map (validated) and save. */
static int tags_add(rn_call_t *c, res_t *r, json_t *tags)
{
    if (rn_tags_check(c, tags, r->tags, r->name) != 0)
        return -1;
    rn_tagset_t next;
    if (rn_tagset_clone(r->tags, &next) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    const char *k;
    json_t *val;
    json_object_foreach(tags, k, val)
    {
        if (rn_tagset_put(&next, k, json_string_value(val) ? json_string_value(val) : "") != 0) {
            rn_tagset_dispose(&next);
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        }
    }
    int rc = res_save_tags(c, r, &next);
    return rc ? rn_fail_persist(c, rc) : 0;
}

/* Remove every key of the list (missing keys are ignored) and save. */
static int tags_remove(rn_call_t *c, res_t *r, json_t *keys)
{
    rn_tagset_t next;
    if (rn_tagset_clone(r->tags, &next) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_array_get(keys, i));
        if (k)
            rn_tagset_del(&next, k);
    }
    int rc = res_save_tags(c, r, &next);
    return rc ? rn_fail_persist(c, rc) : 0;
}

/* Tag changes need an ACTIVE stream (§4.10), or a consumer that is not
 * DELETING (CREATING and ACTIVE consumers take tags; the stream's state does
 * not matter). */
static int tags_writable(rn_call_t *c, const res_t *r)
{
    if (r->k) {
        if (!r->deleting)
            return 0;
        char msg[1024];
        snprintf(msg, sizeof msg,
                 "Consumer %s under stream %s, account %s not ACTIVE, instead in state DELETING.",
                 r->name, r->s->name, c->account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
    }
    if (r->s->status == RN_STREAM_ACTIVE)
        return 0;
    return rn_error_set(&c->err, RN_AWS_STREAM_NOT_ACTIVE, r->s->name, c->account,
                        rn_stream_status_name(r->s->status));
}

/* ---- stream-scoped --------------------------------------------------------------------------- */

int rn_op_AddTagsToStream(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    res_t r = res_of_stream(s);
    if (tags_writable(c, &r) != 0 || tags_add(c, &r, json_object_get(c->in, "Tags")) != 0)
        return -1;
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_RemoveTagsFromStream(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    /* Keys with a character a tag cannot hold are refused, after the stream
     * is found (AWS-observed). */
    json_t *keys = json_object_get(c->in, "TagKeys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_array_get(keys, i));
        size_t len;
        if (k && !tag_text_ok(k, &len))
            return rn_error_set(&c->err, RN_AWS_TAGS_BAD_CHARS);
    }
    res_t r = res_of_stream(s);
    if (tags_writable(c, &r) != 0 || tags_remove(c, &r, keys) != 0)
        return -1;
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_ListTagsForStream(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    int64_t limit = RN_TAGS_MAX;
    (void)rn_arg_int(c, "Limit", &limit); /* 1..50: wire checked it */
    const char *after = rn_arg_str(c, "ExclusiveStartTagKey");
    uint32_t i = 0;
    if (after)
        while (i < s->tags.n && strcmp(s->tags.v[i].key, after) <= 0)
            i++;
    json_t *list = json_array();
    for (; i < s->tags.n && (int64_t)json_array_size(list) < limit; i++)
        json_array_append_new(list, tag_json(&s->tags.v[i]));
    rn_call_reply(c, json_pack("{s:o,s:b}", "Tags", list, "HasMoreTags", i < s->tags.n));
    return 0;
}

/* ---- resources by ARN ------------------------------------------------------------------------- */

/* Resolve a stream or consumer ARN ("<stream ARN>/consumer/<name>:<creation
 * epoch seconds>") in the account and region it names (access.h). A missing stream
 * answers the stream-not-found message first; a consumer that does not exist
 * (or whose creation time differs) answers moto's observed
 * "Consumer <arn>, account <acct> not found.". */
static int resolve_resource(rn_call_t *c, res_t *out)
{
    const char *arn = rn_arg_str(c, "ResourceARN");
    char buf[2100], region[64], account[64], name[256];
    if (!arn || strlen(arn) >= sizeof buf)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid ResourceARN.");
    snprintf(buf, sizeof buf, "%s", arn);
    char *consumer = strstr(buf, "/consumer/");
    if (consumer)
        *consumer = 0;
    if (rn_parse_stream_arn(buf, region, sizeof region, account, sizeof account, name, sizeof name) != 0)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid ResourceARN.");
    /* In the account and region the ARN names (access.h): another region's
     * resource is not found; another account's is denied (no resource policy
     * can grant tagging or policy operations). A consumer ARN is authorised
     * with the consumer's own tags and policy (aws:ResourceTag/<key>, its
     * resource policy), looked up first but told only after the check. */
    rn_stream_t *s = NULL;
    if (strcmp(region, c->region) != 0)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, name, account);
    s = rn_registry_find(c->api->reg, account, region, name);
    struct rn_consumer *k = NULL;
    if (s && consumer) {
        const char *np = consumer + 10, *colon = strrchr(np, ':');
        if (colon && colon > np && colon - np < 256 && colon[1] && s->status != RN_STREAM_DELETING &&
            strspn(colon + 1, "0123456789") == strlen(colon + 1) && strlen(colon + 1) <= 18) {
            char cname[256];
            memcpy(cname, np, (size_t)(colon - np));
            cname[colon - np] = 0;
            k = rn_consumer_lookup(c, s, cname, strtoll(colon + 1, NULL, 10));
        }
    }
    rn_consumer_res_t cr = k ? rn_consumer_res(k) : (rn_consumer_res_t){0};
    const char *policy = consumer ? (k ? *cr.policy : NULL) : (s ? s->policy : NULL);
    const rn_tagset_t *tags = consumer ? (k ? cr.tags : NULL) : (s ? &s->tags : NULL);
    if (rn_access_check(c, account, arn, policy, tags) != 0)
        return -1;
    if (!s)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, name, account);
    *out = res_of_stream(s);
    if (!consumer)
        return 0;
    if (!k) {
        char msg[2400];
        snprintf(msg, sizeof msg, "Consumer %s, account %s not found.", arn, c->account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_NOT_FOUND, msg);
    }
    out->k = k;
    out->tags = cr.tags;
    out->policy = cr.policy;
    out->name = cr.name;
    out->deleting = cr.deleting;
    return 0;
}

int rn_op_TagResource(rn_call_t *c)
{
    res_t r;
    if (resolve_resource(c, &r) != 0 || tags_writable(c, &r) != 0 ||
        tags_add(c, &r, json_object_get(c->in, "Tags")) != 0)
        return -1;
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_UntagResource(rn_call_t *c)
{
    res_t r;
    if (resolve_resource(c, &r) != 0 || tags_writable(c, &r) != 0 ||
        tags_remove(c, &r, json_object_get(c->in, "TagKeys")) != 0)
        return -1;
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_ListTagsForResource(rn_call_t *c)
{
    res_t r;
    if (resolve_resource(c, &r) != 0)
        return -1;
    json_t *list = json_array();
    for (uint32_t i = 0; i < r.tags->n; i++)
        json_array_append_new(list, tag_json(&r.tags->v[i]));
    rn_call_reply(c, json_pack("{s:o}", "Tags", list));
    return 0;
}

/* ---- resource policies ------------------------------------------------------------------------- */

/* A policy must be a JSON object with a string Version and a Statement that
 * is a non-empty array of objects or one object (IAM's grammar, checked as
 * far as its shape). */
static int policy_check(rn_call_t *c, const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    const char *why = NULL;
    if (!doc)
        why = "Policy is not valid JSON.";
    else if (!json_is_object(doc))
        why = "Policy must be a JSON object.";
    else if (!json_is_string(json_object_get(doc, "Version")))
        why = "Policy is missing the required Version element.";
    else {
        json_t *st = json_object_get(doc, "Statement");
        int ok = json_is_object(st) || (json_is_array(st) && json_array_size(st) > 0);
        for (size_t i = 0; ok && json_is_array(st) && i < json_array_size(st); i++)
            ok = json_is_object(json_array_get(st, i));
        if (!ok)
            why = "Policy is missing the required Statement element.";
    }
    json_decref(doc);
    char msg[600];
    if (why) {
        snprintf(msg, sizeof msg, "Invalid policy document: %s", why);
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
    }
    /* Then IAM's grammar in full, as the evaluator reads it (auth/policy.h). */
    rn_policy_t *pol = NULL;
    char perr[512];
    int rc = rn_policy_parse(text, strlen(text), RN_POLICY_RESOURCE, &pol, perr, sizeof perr);
    rn_policy_destroy(pol);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "Invalid policy document: %s", rc == RN_ENOMEM ? "out of memory" : perr);
        return rn_error_set(&c->err, rc == RN_ENOMEM ? RN_AWS_INTERNAL_FAILURE : RN_AWS_INVALID_ARGUMENT, msg);
    }
    return 0;
}

int rn_op_PutResourcePolicy(rn_call_t *c)
{
    res_t r;
    const char *policy = rn_arg_str(c, "Policy");
    if (resolve_resource(c, &r) != 0 || policy_check(c, policy ? policy : "") != 0 ||
        (r.k && tags_writable(c, &r) != 0))
        return -1;
    char *copy = strdup(policy);
    if (!copy)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    char *old = *r.policy;
    *r.policy = copy;
    int rc = res_save(c, &r);
    if (rc) {
        *r.policy = old;
        free(copy);
        return rn_fail_persist(c, rc);
    }
    free(old);
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_GetResourcePolicy(rn_call_t *c)
{
    res_t r;
    if (resolve_resource(c, &r) != 0)
        return -1;
    rn_call_reply(c, json_pack("{s:s}", "Policy", *r.policy ? *r.policy : "{}"));
    return 0;
}

int rn_op_DeleteResourcePolicy(rn_call_t *c)
{
    res_t r;
    if (resolve_resource(c, &r) != 0)
        return -1;
    if (!*r.policy) {
        char msg[2400];
        snprintf(msg, sizeof msg, "No resource policy found for resource %s.", rn_arg_str(c, "ResourceARN"));
        return rn_error_set(&c->err, RN_AWS_RESOURCE_NOT_FOUND, msg);
    }
    if (r.k && tags_writable(c, &r) != 0)
        return -1;
    char *old = *r.policy;
    *r.policy = NULL;
    int rc = res_save(c, &r);
    if (rc) {
        *r.policy = old;
        return rn_fail_persist(c, rc);
    }
    free(old);
    rn_call_reply(c, NULL);
    return 0;
}
