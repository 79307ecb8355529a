/* api.c: from an HTTP request to a handler and back.
 *
 * Order of checks, as AWS does them (KINESIS_CONTRACT §2.2, issue 11):
 *   0. a CORS preflight (OPTIONS with Origin) never gets here (net/cors.c);
 *   1. method must be POST (else 403 AccessDenied XML, no Content-Type);
 *   2. an empty body is a SerializationException when X-Amz-Target names an
 *      operation, an UnknownOperationException otherwise, 400, no message,
 *      in JSON for the media type application/x-amz-json-1.1 and in CBOR
 *      for any other (or none);
 *   3. media type application/json: AWS's {"Output":...} envelope, 400
 *      SerializationException for a body that is not a JSON object, else
 *      404 UnknownOperationException; never an operation;
 *   4. a media type that is no AWS JSON or CBOR one: 403 AccessDenied XML
 *      without X-Amz-Target, else 404 UnknownOperation XML (no Content-Type);
 *   5. a JSON body that does not open an object: SerializationException;
 *   6. an unknown operation is UnknownOperationException;
 *   7. authentication: no Authorization header and no presigned query is
 *      MissingAuthenticationTokenException; a malformed one is
 *      IncompleteSignatureException (signatures are verified in a later
 *      issue); the credential scope's region selects the region;
 *   8. decoding and model validation (wire), then the handler.
 */
#include "api/api_int.h"
#include "api/access.h"
#include "api/auth.h"
#include "api/ident.h"
#include "api/kms.h"
#include "api/accesslog.h"
#include "api/faults.h"
#include "api/limits.h"
#include "api/sts.h"

#include <event2/event.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/clock.h"
#include "util/log.h"

#define TARGET_PREFIX "Kinesis_20131202."
#define KMS_TARGET_PREFIX "TrentService." /* the local KMS (kms.h) */

static const rn_op_fn handlers[RN_OP_COUNT] = {
    [RN_OP_CreateStream] = rn_op_CreateStream,
    [RN_OP_DeleteStream] = rn_op_DeleteStream,
    [RN_OP_DescribeStream] = rn_op_DescribeStream,
    [RN_OP_DescribeStreamSummary] = rn_op_DescribeStreamSummary,
    [RN_OP_ListStreams] = rn_op_ListStreams,
    [RN_OP_ListShards] = rn_op_ListShards,
    [RN_OP_PutRecord] = rn_op_PutRecord,
    [RN_OP_PutRecords] = rn_op_PutRecords,
    [RN_OP_GetShardIterator] = rn_op_GetShardIterator,
    [RN_OP_GetRecords] = rn_op_GetRecords,
    [RN_OP_SplitShard] = rn_op_SplitShard,
    [RN_OP_MergeShards] = rn_op_MergeShards,
    [RN_OP_UpdateShardCount] = rn_op_UpdateShardCount,
    [RN_OP_IncreaseStreamRetentionPeriod] = rn_op_IncreaseStreamRetentionPeriod,
    [RN_OP_DecreaseStreamRetentionPeriod] = rn_op_DecreaseStreamRetentionPeriod,
    [RN_OP_EnableEnhancedMonitoring] = rn_op_EnableEnhancedMonitoring,
    [RN_OP_DisableEnhancedMonitoring] = rn_op_DisableEnhancedMonitoring,
    [RN_OP_DescribeLimits] = rn_op_DescribeLimits,
    [RN_OP_DescribeAccountSettings] = rn_op_DescribeAccountSettings,
    [RN_OP_UpdateAccountSettings] = rn_op_UpdateAccountSettings,
    [RN_OP_UpdateStreamMode] = rn_op_UpdateStreamMode,
    [RN_OP_UpdateStreamWarmThroughput] = rn_op_UpdateStreamWarmThroughput,
    [RN_OP_UpdateMaxRecordSize] = rn_op_UpdateMaxRecordSize,
    [RN_OP_UpdateStreamRecordDistributionStrategy] = rn_op_UpdateStreamRecordDistributionStrategy,
    [RN_OP_AddTagsToStream] = rn_op_AddTagsToStream,
    [RN_OP_RemoveTagsFromStream] = rn_op_RemoveTagsFromStream,
    [RN_OP_ListTagsForStream] = rn_op_ListTagsForStream,
    [RN_OP_TagResource] = rn_op_TagResource,
    [RN_OP_UntagResource] = rn_op_UntagResource,
    [RN_OP_ListTagsForResource] = rn_op_ListTagsForResource,
    [RN_OP_PutResourcePolicy] = rn_op_PutResourcePolicy,
    [RN_OP_GetResourcePolicy] = rn_op_GetResourcePolicy,
    [RN_OP_DeleteResourcePolicy] = rn_op_DeleteResourcePolicy,
    [RN_OP_StartStreamEncryption] = rn_op_StartStreamEncryption,
    [RN_OP_StopStreamEncryption] = rn_op_StopStreamEncryption,
    [RN_OP_CreateChannel] = rn_op_CreateChannel,
    [RN_OP_DeleteChannel] = rn_op_DeleteChannel,
    [RN_OP_DescribeChannel] = rn_op_DescribeChannel,
    [RN_OP_ListChannels] = rn_op_ListChannels,
    [RN_OP_UpdateChannel] = rn_op_UpdateChannel,
    [RN_OP_RegisterStreamConsumer] = rn_op_RegisterStreamConsumer,
    [RN_OP_DeregisterStreamConsumer] = rn_op_DeregisterStreamConsumer,
    [RN_OP_DescribeStreamConsumer] = rn_op_DescribeStreamConsumer,
    [RN_OP_ListStreamConsumers] = rn_op_ListStreamConsumers,
    [RN_OP_SubscribeToShard] = rn_op_SubscribeToShard,
};

/* Due state transitions (CREATING -> ACTIVE, a pending split or merge
 * applied as UPDATING ends, DELETING -> gone) are applied before each
 * request is served, and by this timer when no request comes: a parent
 * shard's subscribers see its end when the stream turns ACTIVE, not at the
 * next request. */
#define TICK_MS 200

static void api_tick(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    rn_api_t *api = ud;
    if (rn_registry_tick(api->reg, rn_now_ms()) > 0)
        rn_subs_poke(api);
    rn_accesslog_flush(api->accesslog);
}

int rn_api_create(rn_api_t **out, rn_registry_t *reg, const rn_api_config_t *cfg)
{
    rn_api_t *api = calloc(1, sizeof *api);
    if (!api)
        return RN_ENOMEM;
    api->reg = reg;
    if ((cfg->default_region && (strlen(cfg->default_region) > RN_REGION_MAX || !*cfg->default_region)) ||
        (cfg->account_id && strlen(cfg->account_id) > RN_ACCOUNT_MAX)) {
        free(api);
        return RN_EINVAL;
    }
    api->max_namespaces = cfg->max_namespaces > 0 ? cfg->max_namespaces : RN_MAX_NAMESPACES_DEFAULT;
    snprintf(api->default_region, sizeof api->default_region, "%s",
             cfg->default_region ? cfg->default_region : "us-east-1");
    snprintf(api->account_id, sizeof api->account_id, "%s",
             cfg->account_id ? cfg->account_id : "000000000000");
    api->test_clock = cfg->enable_test_clock;
    api->base = cfg->base;
    api->consumer_delay_ms = cfg->consumer_delay_ms > 0 ? cfg->consumer_delay_ms : 0;
    api->sub_lifetime_ms = cfg->subscription_lifetime_ms > 0 ? cfg->subscription_lifetime_ms : 300000;
    api->metrics_max_streams = cfg->metrics_max_streams ? cfg->metrics_max_streams : RN_METRICS_MAX_STREAMS_DEFAULT;
    if ((cfg->enforce_limits && rn_limits_create(&api->limits) != 0) ||
        rn_kms_create(&api->kms, rn_registry_store(reg), cfg->kms_strict) != 0 ||
        rn_metrics_create(&api->metrics, cfg->metrics_max_streams) != 0) {
        rn_limits_destroy(api->limits);
        rn_kms_destroy(api->kms);
        free(api);
        return RN_ENOMEM;
    }
    if (api->base) {
        struct timeval tv = {0, TICK_MS * 1000};
        if (!(api->tick_ev = event_new(api->base, -1, EV_PERSIST, api_tick, api)) ||
            event_add(api->tick_ev, &tv) != 0) {
            if (api->tick_ev)
                event_free(api->tick_ev);
            rn_limits_destroy(api->limits);
            rn_kms_destroy(api->kms);
            rn_metrics_destroy(api->metrics);
            free(api);
            return RN_ENOMEM;
        }
    }
    api->faults = cfg->faults; /* owned from here on */
    api->accesslog = cfg->accesslog;
    *out = api;
    return 0;
}

int rn_api_load_credentials(rn_api_t *api, const char *path, char *err, size_t errlen)
{
    rn_auth_t *a;
    int rc = rn_auth_load(path, &a, err, errlen);
    if (rc != 0)
        return rc;
    /* A fresh signing-key cache: the old one's keys (of removed or changed
     * secrets too) are wiped with it. */
    rn_sigv4_cache_t *cache = rn_sigv4_cache_create();
    if (!cache) {
        rn_auth_release(a);
        snprintf(err, errlen, "%s: out of memory", path);
        return RN_ENOMEM;
    }
    rn_sigv4_cache_destroy(api->sigcache);
    api->sigcache = cache;
    rn_auth_t *old = api->auth;
    api->auth = a;
    rn_auth_release(old); /* calls in flight keep theirs until answered */
    return 0;
}

int rn_api_verified(const rn_api_t *api)
{
    return api->auth != NULL;
}

void rn_api_shutdown(rn_api_t *api)
{
    api->shutting_down = 1;
    if (api->tick_ev)
        event_del(api->tick_ev);
    rn_subs_end_all(api);
}

void rn_api_destroy(rn_api_t *api)
{
    if (api) {
        if (api->tick_ev)
            event_free(api->tick_ev);
        rn_subs_end_all(api);
        rn_consumers_free(api);
        rn_channels_free(api);
        rn_limits_destroy(api->limits);
        rn_faults_destroy(api->faults);
        rn_metrics_destroy(api->metrics);
        rn_accesslog_close(api->accesslog);
        rn_kms_destroy(api->kms);
        rn_auth_release(api->auth);
        rn_sigv4_cache_destroy(api->sigcache);
        rn_access_cache_free(api);
        while (api->call_cache) {
            rn_call_t *c = api->call_cache;
            api->call_cache = c->next_free;
            free(c);
        }
    }
    free(api);
}

int rn_api_pending(const rn_api_t *api)
{
    return api->pending;
}

/* ---- answers ------------------------------------------------------------------ */

static void send_error(rn_http_exchange_t *ex, rn_proto_t proto, const rn_error_t *err)
{
    rn_buf_t b;
    rn_buf_init(&b, 0);
    if (rn_wire_encode_error(proto, err, &b) != 0)
        rn_buf_reset(&b);
    const char *type = rn_aws_error_type(err->code);
    rn_http_header_t h = {"x-amzn-ErrorType", 16, type, strlen(type)};
    size_t len;
    uint8_t *body = rn_buf_steal(&b, &len);
    rn_http_respond(ex, rn_aws_error_status(err->code), rn_wire_content_type(proto), &h, 1, body, len);
}

static void send_xml(rn_http_exchange_t *ex, int status, const char *xml)
{
    rn_http_respond_copy(ex, status, NULL, xml, strlen(xml)); /* AWS sends no Content-Type */
}

/* A call with every field zero and no error. Calls carry a 4 KiB error
 * message buffer, so they are recycled through api->call_cache and only the
 * fields before err are cleared, never the message buffer. */
static rn_call_t *call_new(rn_api_t *api)
{
    rn_call_t *c = api->call_cache;
    if (c) {
        api->call_cache = c->next_free;
        api->n_call_cache--;
    } else if (!(c = malloc(sizeof *c))) {
        return NULL;
    }
    memset(c, 0, offsetof(rn_call_t, err));
    rn_error_clear(&c->err);
    return c;
}

/* An answered request, into the metrics and the access log: the one place
 * both learn of it (call_free, and early_error for those refused before a
 * call exists). */
static void note_answer(rn_api_t *api, rn_op_t op, const rn_access_entry_t *e, const rn_metrics_data_t *d)
{
    if (api->accesslog)
        rn_accesslog_write(api->accesslog, e);
    rn_metrics_request(api->metrics, op, e->http2, e->cbor, e->status, e->error, e->latency_us, e->account,
                       e->region, d);
}

static void call_free(rn_call_t *c)
{
    rn_api_t *api = c->api;
    char root[64] = ""; /* developer mode's principal, written only for the access log */
    if (api->accesslog && !c->who)
        snprintf(root, sizeof root, "arn:aws:iam::%s:root", c->account);
    int status = c->status ? c->status : 500;
    rn_access_entry_t e = {.request_id = c->request_id, .principal = c->who ? c->who->id->arn : root,
                           .account = c->account, .region = c->region,
                           .operation = c->op == RN_OP_NONE ? "unknown" : rn_op_name(c->op),
                           .stream = c->m.stream, .error = status == 200 ? NULL : rn_aws_error_type(c->err.code),
                           .peer = c->peer_buf, .http2 = c->http2, .cbor = c->proto == RN_PROTO_CBOR,
                           .status = status, .request_bytes = c->request_bytes, .data_bytes = c->m.bytes,
                           .records = c->m.records, .latency_us = rn_mono_us() - c->t0_us};
    note_answer(api, c->op, &e, c->m.stream[0] ? &c->m : NULL); /* before the auth reference goes */
    if (c->m.shards != &c->m.one)
        free(c->m.shards);
    if (c->op_state_free)
        c->op_state_free(c->op_state);
    json_decref(c->in);
    rn_buf_dispose(&c->reply);
    rn_auth_release(c->auth);
    api->pending--;
    if (api->n_call_cache < RN_API_CALL_CACHE) {
        c->next_free = api->call_cache;
        api->call_cache = c;
        api->n_call_cache++;
        return;
    }
    free(c);
}

/* Verified mode: a call answered with success must have passed an access
 * check. One that did not is a bug in a handler's resolution path: say so,
 * and deny rather than answer. */
static int unauthorized(rn_call_t *c)
{
    if (!c->who || c->authorized)
        return 0;
    rn_error("api: %s answered without an access check; denied", rn_op_name(c->op));
    rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    rn_call_fail(c);
    return 1;
}

void rn_call_reply(rn_call_t *c, json_t *out)
{
    if (unauthorized(c)) {
        json_decref(out);
        return;
    }
    rn_buf_t b;
    rn_buf_init(&b, 0);
    int rc = out ? rn_wire_encode_op(c->op, c->proto, out, &b) : 0;
    json_decref(out);
    if (rc) {
        rn_buf_dispose(&b);
        rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        rn_call_fail(c);
        return;
    }
    size_t len;
    uint8_t *body = rn_buf_steal(&b, &len);
    rn_http_respond(c->ex, 200, rn_wire_content_type(c->proto), NULL, 0, body, len);
    c->status = 200;
    call_free(c);
}

void rn_call_reply_raw(rn_call_t *c, rn_buf_t *body)
{
    if (unauthorized(c)) {
        rn_buf_dispose(body);
        return;
    }
    if (c->proto == RN_PROTO_CBOR) { /* handlers render JSON text: transcode it */
        rn_buf_t cb;
        rn_buf_init(&cb, 0);
        int rc = rn_wire_transcode_json_to_cbor(c->op, body->data, body->len, &cb);
        rn_buf_dispose(body);
        if (rc) {
            rn_buf_dispose(&cb);
            rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
            rn_call_fail(c);
            return;
        }
        *body = cb;
    }
    size_t len;
    uint8_t *p = rn_buf_steal(body, &len);
    rn_http_respond(c->ex, 200, rn_wire_content_type(c->proto), NULL, 0, p, len);
    c->status = 200;
    call_free(c);
}

void rn_call_detach(rn_call_t *c)
{
    c->status = 200; /* the handler answered: an event stream's head */
    call_free(c);
}

void rn_call_fail(rn_call_t *c)
{
    if (c->err.code == RN_AWS_NONE)
        rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    send_error(c->ex, c->proto, &c->err);
    c->status = rn_aws_error_status(c->err.code);
    call_free(c);
}

/* ---- request headers and authentication shape checks ------------------------ */

/* A header value or an Authorization parameter: p is NULL when absent. */
typedef struct text {
    const char *p;
    size_t len;
} text_t;

/* The request headers dispatch reads, found in one pass over the headers
 * (for each name the first occurrence, as rn_http_header_get finds it). */
typedef struct req_headers {
    text_t target;        /* X-Amz-Target */
    text_t content_type;
    text_t authorization;
    text_t clock_offset;  /* x-runnel-test-clock-offset-ms (--enable-test-clock) */
    int has_date;         /* X-Amz-Date or Date is present */
} req_headers_t;

#define NAME_IS(h, lit) rn_ascii_eq_ci((h)->name, (lit), sizeof(lit) - 1)

static void take_first(text_t *t, const rn_http_header_t *h)
{
    if (!t->p) {
        t->p = h->value;
        t->len = h->value_len;
    }
}

static void scan_headers(const rn_http_request_t *req, req_headers_t *rh)
{
    memset(rh, 0, sizeof *rh);
    for (size_t i = 0; i < req->n_headers; i++) {
        const rn_http_header_t *h = &req->headers[i];
        switch (h->name_len) { /* names are matched by length first */
        case sizeof("date") - 1:
            if (NAME_IS(h, "date"))
                rh->has_date = 1;
            break;
        case sizeof("x-amz-date") - 1:
            if (NAME_IS(h, "x-amz-date"))
                rh->has_date = 1;
            break;
        case sizeof("x-amz-target") - 1: /* == sizeof("content-type") - 1 */
            if (NAME_IS(h, "x-amz-target"))
                take_first(&rh->target, h);
            else if (NAME_IS(h, "content-type"))
                take_first(&rh->content_type, h);
            break;
        case sizeof("authorization") - 1:
            if (NAME_IS(h, "authorization"))
                take_first(&rh->authorization, h);
            break;
        case sizeof("x-runnel-test-clock-offset-ms") - 1:
            if (NAME_IS(h, "x-runnel-test-clock-offset-ms"))
                take_first(&rh->clock_offset, h);
            break;
        default:
            break;
        }
    }
}

/* If the parameter seg[0..n) is "name=value", take its value into *v, unless
 * an earlier parameter of that name was taken already. */
static void auth_take(const char *seg, size_t n, const char *name, size_t nlen, text_t *v)
{
    if (!v->p && n > nlen && memcmp(seg, name, nlen) == 0 && seg[nlen] == '=') {
        v->p = seg + nlen + 1;
        v->len = n - nlen - 1;
    }
}

/* The Credential, Signature and SignedHeaders values of an Authorization
 * parameter list, in one pass: parameters are separated by commas and/or
 * spaces (as AWS splits them); the first occurrence of a name wins. */
static void auth_params(const char *h, size_t hlen, text_t *cred, text_t *sig,
                        text_t *sh)
{
    const char *end = h + hlen;
    const char *p = h;
    cred->p = sig->p = sh->p = NULL;
    cred->len = sig->len = sh->len = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *q = p;
        while (q < end && *q != ' ' && *q != '\t' && *q != ',')
            q++;
        size_t n = (size_t)(q - p);
        auth_take(p, n, "Credential", 10, cred);
        auth_take(p, n, "Signature", 9, sig);
        auth_take(p, n, "SignedHeaders", 13, sh);
        p = q;
    }
}

/* Checks §2.5 steps 1–3. The credential scope (api/ident.h) gives the
 * account (the access key id when that is 12 digits, §7.8) and the region,
 * which must be AWS-shaped or the --region default. A request is presigned
 * only when its query string has an X-Amz-Algorithm parameter, and then
 * needs every other presigning parameter. */
static int check_auth(const rn_http_request_t *req, const req_headers_t *rh, const char *default_region,
                      rn_error_t *err, rn_ident_t *id)
{
    size_t hlen = rh->authorization.len;
    const char *h = rh->authorization.p;
    rn_ident_t qid = *id;
    rn_error_t qerr;
    rn_error_clear(&qerr);
    int presigned = rn_ident_presigned(req->path, default_region, &qid, &qerr);
    if (h && presigned)
        return rn_error_set(err, RN_AWS_INVALID_SIGNATURE,
                            "Found both 'X-Amz-Algorithm' as a query-string param and "
                            "'Authorization' as HTTP header.");
    if (!h && !presigned)
        return rn_error_set(err, RN_AWS_MISSING_AUTH);
    if (!h) { /* presigned query: signatures are verified in a later issue */
        if (presigned < 0) {
            *err = qerr;
            return -1;
        }
        *id = qid;
        return 0;
    }

    /* The first token is the algorithm; AWS does not check it. */
    const char *params = h;
    while (params < h + hlen && *params != ' ' && *params != '\t' && *params != ',')
        params++;
    size_t plen = hlen - (size_t)(params - h);
    text_t credv, sigv, shv;
    auth_params(params, plen, &credv, &sigv, &shv);
    const char *cred = credv.p, *sig = sigv.p, *sh = shv.p;
    int has_date = rh->has_date;
    if (!cred || !sig || !sh || !has_date) {
        char msg[RN_ERROR_MESSAGE_MAX];
        size_t n = 0;
        msg[0] = 0;
        if (!cred && n < sizeof msg)
            n += (size_t)snprintf(msg + n, sizeof msg - n,
                                  "Authorization header requires 'Credential' parameter. ");
        if (!sig && n < sizeof msg)
            n += (size_t)snprintf(msg + n, sizeof msg - n,
                                  "Authorization header requires 'Signature' parameter. ");
        if (!sh && n < sizeof msg)
            n += (size_t)snprintf(msg + n, sizeof msg - n,
                                  "Authorization header requires 'SignedHeaders' parameter. ");
        if (!has_date && n < sizeof msg)
            n += (size_t)snprintf(msg + n, sizeof msg - n,
                                  "Authorization header requires existence of either a 'X-Amz-Date' or "
                                  "a 'Date' header. ");
        if (n < sizeof msg)
            snprintf(msg + n, sizeof msg - n, "Authorization=%.*s", (int)(hlen > 2000 ? 2000 : hlen), h);
        return rn_error_set(err, RN_AWS_INCOMPLETE_SIGNATURE, msg);
    }
    /* Credential=AKID/yyyymmdd/region/service/aws4_request */
    return rn_ident_credential(cred, credv.len, default_region, id, err);
}

/* ---- dispatch ------------------------------------------------------------------- */

/* The media type of a Content-Type value: what precedes the first ';' (the
 * parameters), without the spaces and tabs around it. */
static text_t media_type(const text_t *ct)
{
    text_t m = {NULL, 0};
    if (!ct->p)
        return m;
    const char *p = ct->p, *end = ct->p + ct->len;
    const char *semi = memchr(p, ';', ct->len);
    if (semi)
        end = semi;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    m.p = p;
    m.len = (size_t)(end - p);
    return m;
}

/* 1 if media type mt is lit, ignoring case. */
static int media_type_is(const text_t *mt, const char *lit, size_t n)
{
    return mt->p && mt->len == n && rn_ascii_eq_ci(mt->p, lit, n);
}
#define MEDIA_TYPE_IS(mt, lit) media_type_is((mt), (lit), sizeof(lit) - 1)

/* The protocol of a body in media type mt (application/json is answered
 * before this is asked); -1 for a media type Kinesis does not read. */
static int content_type_proto(const text_t *mt, rn_proto_t *proto)
{
    if (MEDIA_TYPE_IS(mt, "application/x-amz-json-1.1") || MEDIA_TYPE_IS(mt, "application/x-amz-json-1.0")) {
        *proto = RN_PROTO_JSON;
        return 0;
    }
    if (MEDIA_TYPE_IS(mt, "application/x-amz-cbor-1.1")) {
        *proto = RN_PROTO_CBOR;
        return 0;
    }
    return -1;
}

/* Authenticate a call to another service than Kinesis (STS, KMS) as
 * Kinesis calls are: developer mode, the credential scope's account and
 * region; verified mode, the identity verified for a request signed for
 * service. 0, or -1 with *err set. */
static int auth_service(rn_api_t *api, const rn_http_request_t *req, const req_headers_t *rh, const char *service,
                        int64_t now_ms, rn_ident_t *id, const rn_auth_who_t **who, rn_error_t *err)
{
    snprintf(id->account, sizeof id->account, "%s", api->account_id);
    snprintf(id->region, sizeof id->region, "%s", api->default_region);
    *who = NULL;
    return api->auth ? rn_auth_verify_service(api->auth, api->sigcache, req, now_ms, api->default_region, service,
                                              who, id->account, sizeof id->account, id->region, sizeof id->region,
                                              err)
                     : check_auth(req, rh, api->default_region, err, id);
}

/* STS GetCallerIdentity (sts.h): the credential scope's account, checked as
 * for Kinesis calls (verified mode: signed for service "sts", the verified
 * identity); errors as STS's XML ErrorResponse. */
static void sts_handle(rn_api_t *api, rn_http_exchange_t *ex, const rn_http_request_t *req,
                       const req_headers_t *rh)
{
    rn_error_t err;
    rn_error_clear(&err);
    rn_ident_t id;
    const char *rid = req->request_id ? req->request_id : "";
    char *xml = NULL;
    int status;
    const rn_auth_who_t *who = NULL;
    if (auth_service(api, req, rh, "sts", rn_now_ms(), &id, &who, &err) != 0) {
        const char *type = rn_aws_error_type(err.code);
        size_t tl = strlen(type), sl = sizeof("Exception") - 1;
        char code[96]; /* STS names its errors without the suffix: MissingAuthenticationToken */
        snprintf(code, sizeof code, "%.*s", (int)(tl > sl && strcmp(type + tl - sl, "Exception") == 0 ? tl - sl : tl),
                 type);
        status = rn_aws_error_status(err.code);
        /* STS's own names for the two 403s a client meets most (query protocol). */
        if (err.code == RN_AWS_INVALID_SIGNATURE && strstr(err.message, "does not match")) {
            snprintf(code, sizeof code, "SignatureDoesNotMatch");
            status = 403;
        } else if (err.code == RN_AWS_UNRECOGNIZED_CLIENT) {
            snprintf(code, sizeof code, "InvalidClientTokenId");
            status = 403;
        }
        xml = rn_sts_error_xml(code, err.message, rid);
    } else {
        status = rn_sts_answer(req->body, req->body_len, id.account, who ? who->id->arn : NULL,
                               who ? who->id->access_key_id : NULL, rid, &xml);
    }
    size_t len = xml ? strlen(xml) : 0;
    rn_http_respond(ex, xml ? status : 500, "text/xml", NULL, 0, (uint8_t *)xml, len);
}

/* Verified mode: the KMS operations' access checks (kms.h), evaluated as
 * Kinesis actions are (rn_access_action) for the call ud. */
static int kms_allow(void *ud, const char *action, const char *owner, const char *arn, char *msg, size_t cap)
{
    rn_call_t *c = ud;
    if (rn_access_action(c, action, owner, arn) == 0)
        return 0;
    snprintf(msg, cap, "%s", c->err.message);
    return -1;
}

/* The local KMS (kms.h): X-Amz-Target "TrentService.<op>", AWS JSON 1.1,
 * signed for service "kms"; errors in JSON with x-amzn-ErrorType. */
static void kms_handle(rn_api_t *api, rn_http_exchange_t *ex, const rn_http_request_t *req,
                       const req_headers_t *rh, const char *op, size_t oplen)
{
    rn_error_t err;
    rn_error_clear(&err);
    rn_ident_t id;
    const rn_auth_who_t *who = NULL;
    int64_t now_ms = rn_now_ms();
    if (auth_service(api, req, rh, "kms", now_ms, &id, &who, &err) != 0) {
        send_error(ex, RN_PROTO_JSON, &err);
        return;
    }
    rn_call_t *c = NULL; /* verified mode: the caller, as the access checks read it */
    rn_kms_authz_t authz = {kms_allow, NULL};
    if (who) {
        if (!(c = calloc(1, sizeof *c))) {
            rn_error_set(&err, RN_AWS_INTERNAL_FAILURE);
            send_error(ex, RN_PROTO_JSON, &err);
            return;
        }
        *c = (rn_call_t){.api = api, .op = RN_OP_NONE, .now_ms = now_ms, .who = who, .peer = req->peer,
                         .tls = req->tls};
        snprintf(c->account, sizeof c->account, "%s", id.account);
        snprintf(c->region, sizeof c->region, "%s", id.region);
        authz.ud = c;
    }
    rn_kms_reply_t r;
    rn_kms_answer(api->kms, id.account, id.region, who ? who->id->arn : NULL, c ? &authz : NULL, op, oplen,
                  req->body, req->body_len, now_ms, &r);
    free(c);
    if (r.status == 200)
        rn_subs_poke(api); /* a key may have changed state: open subscriptions look again */
    rn_http_header_t h = {"x-amzn-ErrorType", 16, r.type, r.type ? strlen(r.type) : 0};
    rn_http_respond(ex, r.body ? r.status : 500, "application/x-amz-json-1.1", r.type ? &h : NULL, r.type ? 1 : 0,
                    (uint8_t *)r.body, r.body ? strlen(r.body) : 0);
}

/* 1 if a JSON body's first value opens an object (what the wire scan
 * checks first): the cheap test that comes before authentication. The rest
 * of the body is parsed after it. */
static int json_opens_object(const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        i++;
    return i < n && b[i] == '{';
}

static void send_fixed(rn_http_exchange_t *ex, int status, const char *ctype, const char *text)
{
    rn_http_respond_copy(ex, status, ctype, text, strlen(text));
}

/* Content-Type application/json is not a Kinesis protocol: AWS's front end
 * answers it in its own envelope and never reaches an operation. */
static void send_plain_json(rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    json_t *v = json_loadb((const char *)req->body, req->body_len, 0, NULL);
    int object = json_is_object(v);
    json_decref(v);
    if (!object)
        send_fixed(ex, 400, "application/json",
                   "{\"Output\":{\"__type\":\"com.amazon.coral.service#SerializationException\"},"
                   "\"Version\":\"1.0\"}");
    else
        send_fixed(ex, 404, "application/json",
                   "{\"Output\":{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"},"
                   "\"Version\":\"1.0\"}");
}

static const char XML_ACCESS_DENIED[] =
    "<AccessDeniedException>\n  <Message>Unable to determine service/operation name "
    "to be authorized</Message>\n</AccessDeniedException>\n";

/* Run the call's operation (dispatch's last step). */
static void run_call(rn_call_t *c, int resharded)
{
    rn_api_t *api = c->api;
    rn_op_t op = c->op;
    int rc = handlers[op](c);
    if (rc < 0)
        rn_call_fail(c);
    if (resharded || op == RN_OP_SplitShard || op == RN_OP_MergeShards || op == RN_OP_UpdateShardCount)
        rn_subs_poke(api); /* a closed shard's subscribers send its end (no append wakes them) */
}

/* --inject-errors latency: run (or fail) the call delay_ms later. The
 * exchange stays valid until answered even if its connection goes (http.h). */
static void delayed_call(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    rn_call_t *c = ud;
    c->now_ms += c->delay_ms; /* the call happens now, not when it arrived */
    if (c->delayed_fail)
        rn_call_fail(c);
    else
        run_call(c, 0);
}

static int delay_call(rn_call_t *c, long delay_ms)
{
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    if (!c->api->base)
        return -1;
    return event_base_once(c->api->base, -1, EV_TIMEOUT, delayed_call, c, &tv) == 0 ? 0 : -1;
}

/* An error answered before the call exists (protocol, authentication): counted too. */
static void early_error(rn_api_t *api, rn_http_exchange_t *ex, const rn_http_request_t *req, rn_op_t op,
                        rn_proto_t proto, const rn_error_t *err, int64_t t0)
{
    rn_access_entry_t e = {.request_id = req->request_id, .principal = "", .account = api->account_id,
                           .region = api->default_region,
                           .operation = op == RN_OP_NONE ? "unknown" : rn_op_name(op), .stream = "",
                           .error = rn_aws_error_type(err->code), .peer = req->peer, .http2 = req->http2,
                           .cbor = proto == RN_PROTO_CBOR, .status = rn_aws_error_status(err->code),
                           .request_bytes = req->body_len, .latency_us = rn_mono_us() - t0};
    note_answer(api, op, &e, NULL); /* before the answer: req's strings are the exchange's */
    send_error(ex, proto, err);
}

int rn_api_metrics_text(rn_api_t *api, rn_buf_t *out)
{
    rn_metrics_gauges_t g = {.subscriptions = api->n_subs, .pending = api->pending, .streams = -1};
    g.streams = (long)rn_registry_count(api->reg);
    int rc = rn_metrics_render(api->metrics, &g, out);
    rn_store_t *store = rn_registry_store(api->reg);
    rn_store_stats_t st;
    rn_store_stats(store, &st);
    if (rc == 0)
        rc = rn_metrics_render_store(&st, out);
    /* a walk of each stream's directory: bounded like the stream series */
    size_t n = rn_registry_count(api->reg), cap = api->metrics_max_streams;
    for (size_t i = 0; i < n && i < cap && rc == 0; i++) {
        const rn_stream_t *s = rn_registry_at(api->reg, i);
        uint64_t bytes = 0;
        (void)rn_store_log_disk_bytes(store, s->id, &bytes);
        rc = rn_metrics_render_disk(out, i == 0, s->account, s->region, s->name, bytes);
    }
    if (rc == 0 && api->metrics_extra)
        rc = api->metrics_extra(api->metrics_extra_ud, out) ? RN_ENOMEM : 0;
    return rc;
}

void rn_api_set_metrics_extra(rn_api_t *api, int (*fn)(void *ud, rn_buf_t *out), void *ud)
{
    api->metrics_extra = fn;
    api->metrics_extra_ud = ud;
}

/* GET /metrics (path exact, a query string allowed): 1 when answered. */
static int metrics_get(rn_api_t *api, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    if (strcmp(req->method, "GET") != 0 || !req->path || strncmp(req->path, "/metrics", 8) != 0 ||
        (req->path[8] && req->path[8] != '?'))
        return 0;
    rn_buf_t b;
    rn_buf_init(&b, 0);
    if (rn_api_metrics_text(api, &b) != 0) {
        rn_buf_dispose(&b);
        send_xml(ex, 500, "");
        return 1;
    }
    size_t len;
    uint8_t *body = rn_buf_steal(&b, &len);
    rn_http_respond(ex, 200, RN_METRICS_CONTENT_TYPE, NULL, 0, body, len);
    return 1;
}

void rn_api_handle(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    rn_api_t *api = ud;
    rn_error_t err;
    rn_error_clear(&err);
    int64_t t0 = rn_mono_us();

    /* (CORS preflights were answered by the HTTP layer: net/cors.c.) */
    if (strcmp(req->method, "POST") != 0) {
        /* /health/live, /health/ready, (developer mode) /metrics (docs/operations.md) and
         * the console's static files (docs/console.md); the rest as AWS */
        if (!rn_http_health(ex, req, !api->shutting_down) && !rn_http_console(ex, req) &&
            !(!api->auth && metrics_get(api, ex, req)))
            send_xml(ex, 403, XML_ACCESS_DENIED);
        return;
    }

    req_headers_t rh;
    scan_headers(req, &rh);
    size_t tlen = rh.target.len;
    const char *target = rh.target.p;
    rn_op_t op = RN_OP_NONE;
    size_t plen = strlen(TARGET_PREFIX);
    if (target && tlen > plen && memcmp(target, TARGET_PREFIX, plen) == 0)
        op = rn_op_lookup(target + plen, tlen - plen);
    text_t mt = media_type(&rh.content_type);

    if (!target && rh.content_type.p && rn_sts_is_form(rh.content_type.p, rh.content_type.len)) {
        sts_handle(api, ex, req, &rh); /* STS's query protocol: GetCallerIdentity (api/sts.h) */
        return;
    }
    size_t klen = sizeof KMS_TARGET_PREFIX - 1;
    if (target && tlen > klen && memcmp(target, KMS_TARGET_PREFIX, klen) == 0) {
        kms_handle(api, ex, req, &rh, target + klen, tlen - klen); /* the local KMS (api/kms.h) */
        return;
    }

    rn_proto_t proto = RN_PROTO_JSON;
    if (req->body_len == 0) { /* JSON only for exactly JSON 1.1, else CBOR */
        proto = MEDIA_TYPE_IS(&mt, "application/x-amz-json-1.1") ? RN_PROTO_JSON : RN_PROTO_CBOR;
        rn_error_set(&err, op == RN_OP_NONE ? RN_AWS_UNKNOWN_OPERATION : RN_AWS_SERIALIZATION_BARE);
        early_error(api, ex, req, op, proto, &err, t0);
        return;
    }
    if (MEDIA_TYPE_IS(&mt, "application/json")) {
        send_plain_json(ex, req);
        return;
    }
    if (content_type_proto(&mt, &proto) != 0) {
        if (!target)
            send_xml(ex, 403, XML_ACCESS_DENIED);
        else
            send_xml(ex, 404, "<UnknownOperationException/>\n");
        return;
    }
    if (proto == RN_PROTO_JSON && !json_opens_object(req->body, req->body_len)) {
        rn_error_set(&err, RN_AWS_SERIALIZATION_BARE);
        early_error(api, ex, req, op, proto, &err, t0);
        return;
    }
    if (op == RN_OP_NONE) {
        rn_error_set(&err, RN_AWS_UNKNOWN_OPERATION);
        early_error(api, ex, req, op, proto, &err, t0);
        return;
    }

    if (api->test_clock) { /* test-only: move the clock (docs/control-plane.md) */
        size_t olen = rh.clock_offset.len;
        const char *off = rh.clock_offset.p;
        char num[32];
        if (off && olen < sizeof num) {
            memcpy(num, off, olen);
            num[olen] = 0;
            rn_clock_set_offset(strtoll(num, NULL, 10));
        }
    }
    int64_t now_ms = rn_now_ms();

    /* The defaults, replaced by what the credential scope says (developer
     * mode) or by the verified identity (verified mode). */
    rn_ident_t id;
    const rn_auth_who_t *who = NULL;
    snprintf(id.account, sizeof id.account, "%s", api->account_id);
    snprintf(id.region, sizeof id.region, "%s", api->default_region);
    if (api->auth ? rn_auth_verify(api->auth, api->sigcache, req, now_ms, api->default_region, &who,
                                   id.account, sizeof id.account, id.region, sizeof id.region, &err) != 0
                  : check_auth(req, &rh, api->default_region, &err, &id) != 0) {
        early_error(api, ex, req, op, proto, &err, t0);
        return;
    }

    rn_call_t *c = call_new(api);
    if (!c) {
        rn_error_set(&err, RN_AWS_INTERNAL_FAILURE);
        early_error(api, ex, req, op, proto, &err, t0);
        return;
    }
    c->api = api;
    c->ex = ex;
    c->proto = proto;
    c->op = op;
    c->now_ms = now_ms;
    snprintf(c->peer_buf, sizeof c->peer_buf, "%s", req->peer ? req->peer : "");
    c->peer = c->peer_buf;
    snprintf(c->request_id, sizeof c->request_id, "%s", req->request_id ? req->request_id : "");
    c->request_bytes = req->body_len;
    c->tls = req->tls;
    c->http2 = req->http2;
    c->t0_us = t0;
    c->m.iterator_age_ms = -1;
    if (who) {
        c->who = who;
        c->auth = api->auth;
        rn_auth_retain(c->auth);
    }
    snprintf(c->account, sizeof c->account, "%s", id.account);
    snprintf(c->region, sizeof c->region, "%s", id.region);
    api->pending++;

    if (rn_records_fast_decode(c, req->body, req->body_len) != 0 &&
        rn_wire_decode(op, proto, req->body, req->body_len, &c->in, &c->err) != 0) {
        rn_call_fail(c);
        return;
    }
    if (!handlers[op]) { /* a request of an operation not built yet is decoded and validated first */
        rn_error_set(&c->err, RN_AWS_NOT_SUPPORTED, rn_op_name(op));
        rn_call_fail(c);
        return;
    }
    int resharded = rn_registry_tick(api->reg, c->now_ms) > 0;
    if (c->who && rn_access_op(c) != 0) { /* operations no resolution path checks */
        rn_call_fail(c);
        return;
    }
    if (rn_access_namespace(c) != 0) { /* --max-namespaces */
        rn_call_fail(c);
        return;
    }
    if (api->limits && rn_limits_control(c) != 0) { /* --enforce-limits: control-plane rates */
        rn_call_fail(c);
        return;
    }
    if (api->faults) { /* --inject-errors: an error instead, or later */
        long delay_ms;
        if (rn_faults_call(api->faults, op, &c->err, &delay_ms) != RN_AWS_NONE) {
            if (!delay_ms) {
                rn_call_fail(c);
                return;
            }
            c->delayed_fail = 1;
        }
        c->delay_ms = delay_ms;
        if (delay_ms && resharded)
            rn_subs_poke(api);
        if (delay_ms && delay_call(c, delay_ms) == 0)
            return;
        if (c->delayed_fail) {
            rn_call_fail(c);
            return;
        }
    }
    run_call(c, resharded);
}

/* ---- input helpers ------------------------------------------------------------- */

const char *rn_arg_str(const rn_call_t *c, const char *name)
{
    return json_string_value(json_object_get(c->in, name));
}

int rn_arg_int(const rn_call_t *c, const char *name, int64_t *out)
{
    json_t *v = json_object_get(c->in, name);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        *out = (int64_t)floor(json_real_value(v));
        return 0;
    }
    return -1;
}

int rn_arg_bool(const rn_call_t *c, const char *name)
{
    return json_is_true(json_object_get(c->in, name));
}

int rn_call_stream(rn_call_t *c, rn_stream_t **out)
{
    const char *name = rn_arg_str(c, "StreamName");
    const char *arn = rn_arg_str(c, "StreamARN");
    char aname[256], aregion[64], aaccount[64];
    if (arn) {
        if (rn_parse_stream_arn(arn, aregion, sizeof aregion, aaccount, sizeof aaccount, aname,
                                sizeof aname) != 0)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid StreamARN.");
        if (name && strcmp(name, aname) != 0)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "StreamName and StreamARN do not refer to the same stream.");
        /* In the account and region the ARN names (access.h). */
        return rn_access_stream(c, aregion, aaccount, aname, arn, out);
    }
    if (!name)
        return rn_error_set(&c->err, RN_AWS_VALIDATION,
                            "1 validation error detected: Value null at 'streamName' failed to "
                            "satisfy constraint: Member must not be null");
    return rn_call_stream_named(c, name, out);
}

int rn_call_stream_named(rn_call_t *c, const char *name, rn_stream_t **out)
{
    rn_stream_t *s = rn_registry_find(c->api->reg, c->account, c->region, name);
    if (c->who) { /* verified mode: authorised before existence is told */
        char sarn[512];
        /* "arn:aws:kinesis:<region>:<account>:stream/<name>", put together by hand:
         * this runs on every verified request naming its stream */
        const char *parts[] = {"arn:aws:kinesis:", c->region, ":", c->account, ":stream/", name};
        size_t n = 0;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            size_t l = strlen(parts[i]);
            if (n + l >= sizeof sarn)
                l = sizeof sarn - 1 - n;
            memcpy(sarn + n, parts[i], l);
            n += l;
        }
        sarn[n] = 0;
        if (rn_access_check(c, c->account, sarn, s ? s->policy : NULL, s ? &s->tags : NULL) != 0)
            return -1;
    }
    if (!s)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, name, c->account);
    *out = s;
    return 0;
}

/* ---- output helpers -------------------------------------------------------------- */

json_t *rn_json_ts(int64_t ms)
{
    return json_real((double)ms / 1000.0);
}

json_t *rn_json_shard(const rn_stream_t *s, const rn_shard_t *sh)
{
    char id[32], a[48], b[48], seq[64];
    json_t *j = json_object();
    rn_format_shard_id(sh->index, id, sizeof id);
    json_object_set_new(j, "ShardId", json_string(id));
    if (sh->parent >= 0) {
        rn_format_shard_id((uint32_t)sh->parent, a, sizeof a);
        json_object_set_new(j, "ParentShardId", json_string(a));
    }
    if (sh->adjacent_parent >= 0) {
        rn_format_shard_id((uint32_t)sh->adjacent_parent, a, sizeof a);
        json_object_set_new(j, "AdjacentParentShardId", json_string(a));
    }
    rn_u128_format(sh->start_hash, a);
    rn_u128_format(sh->end_hash, b);
    json_object_set_new(j, "HashKeyRange", json_pack("{s:s,s:s}", "StartingHashKey", a, "EndingHashKey", b));
    rn_seqnum_t sn = {.shard_created_s = (uint64_t)(sh->created_ms / 1000),
                      .shard_index = sh->index,
                      .counter = 0,
                      .arrival_s = (uint64_t)(sh->created_ms / 1000)};
    rn_seqnum_format(&sn, seq);
    json_t *range = json_pack("{s:s}", "StartingSequenceNumber", seq);
    if (sh->closed_ms) {
        sn.counter = RN_SEQNUM_COUNTER_MAX;
        sn.arrival_s = (uint64_t)(sh->closed_ms / 1000);
        rn_seqnum_format(&sn, seq);
        json_object_set_new(range, "EndingSequenceNumber", json_string(seq));
    }
    json_object_set_new(j, "SequenceNumberRange", range);
    (void)s;
    return j;
}
