/* ops_channels.c: Kinesis Channels, control plane: CreateChannel,
 * DescribeChannel, ListChannels, UpdateChannel and DeleteChannel
 * (docs/channels.md). Delivery of the records is not implemented yet.
 *
 * Channels live in memory (api->channels) and each is persisted as the
 * metadata entry "channel/<account>/<region>/<name>" = {"id", "created_ms",
 * "active_ms", "updated_ms", "role", "stream_arn", "stream_created_ms",
 * "record", "s3"[, "encryption"], "logging"}; loaded on first use, written
 * with compare-and-set over the revision read (as ops_consumers.c does).
 * Status is a function of time, as a consumer's: CREATING until active_ms
 * (--consumer-delay), UPDATING until updated_ms, then ACTIVE; after
 * DeleteChannel the entry is deleted at once and the channel stays DELETING
 * in memory for the same delay. S3 Tables destinations answer "not supported
 * by runnel yet". */
#include "api/access.h"
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define CHANNEL_FRESHNESS_DEFAULT 300 /* DataFreshnessInSeconds (service model) */
#define CHANNELS_PAGE_MAX 100         /* ListChannels: "at most 100 results are returned" */

typedef struct rn_channel {
    char account[RN_ACCOUNT_MAX + 1];
    char region[RN_REGION_MAX + 1];
    char name[129];
    json_t *doc;     /* the persisted document */
    uint64_t rev;    /* metadata revision of its entry (0: not written yet) */
    int64_t gone_ms; /* DELETING until then; 0 while it exists */
    struct rn_channel *next;
} rn_channel_t;

static int64_t doc_ms(const rn_channel_t *h, const char *field)
{
    return json_integer_value(json_object_get(h->doc, field));
}

static const char *status_name(const rn_channel_t *h, int64_t now)
{
    if (h->gone_ms)
        return "DELETING";
    if (now < doc_ms(h, "active_ms"))
        return "CREATING";
    return now < doc_ms(h, "updated_ms") ? "UPDATING" : "ACTIVE";
}

/* ---- persistence ------------------------------------------------------------------ */

static void kv_key(char *buf, size_t cap, const rn_channel_t *h)
{
    snprintf(buf, cap, "channel/%s/%s/%s", h->account, h->region, h->name);
}

static void channel_free(rn_channel_t *h)
{
    json_decref(h->doc);
    free(h);
}

static int load_one(void *ud, const char *key, const void *val, size_t len, uint64_t rev)
{
    rn_api_t *api = ud;
    rn_channel_t *h = calloc(1, sizeof *h);
    if (!h)
        return 0;
    if (sscanf(key, "channel/%15[^/]/%31[^/]/%128s", h->account, h->region, h->name) != 3 ||
        !(h->doc = json_loadb(val, len, 0, NULL)) || !json_is_string(json_object_get(h->doc, "stream_arn")) ||
        !json_is_object(json_object_get(h->doc, "s3"))) { /* what the answers dereference */
        rn_warn("cannot load channel %s", key);
        json_decref(h->doc);
        free(h);
        return 0;
    }
    h->rev = rev;
    h->next = api->channels;
    api->channels = h;
    return 0;
}

static void channels_load(rn_api_t *api, int64_t now)
{
    if (!api->channels_loaded) {
        api->channels_loaded = 1;
        if (rn_store_kv_scan(rn_registry_store(api->reg), "channel/", load_one, api) != 0)
            rn_warn("cannot load the channels");
    }
    for (rn_channel_t **pp = &api->channels; *pp;) { /* drop those whose DELETING is over */
        rn_channel_t *h = *pp;
        if (h->gone_ms && now >= h->gone_ms) {
            *pp = h->next;
            channel_free(h);
        } else {
            pp = &h->next;
        }
    }
}

/* Writes doc as h's entry over the revision h was read at (h->rev moves on
 * success). h->doc is not touched: the caller takes doc once it is stored. */
static int channel_save(rn_api_t *api, rn_channel_t *h, const json_t *doc)
{
    char key[300];
    kv_key(key, sizeof key, h);
    char *val = json_dumps(doc, JSON_COMPACT);
    if (!val)
        return -1;
    int rc = rn_store_kv_put_if(rn_registry_store(api->reg), key, val, strlen(val), h->rev, &h->rev);
    free(val);
    return rc;
}

void rn_channels_free(rn_api_t *api)
{
    while (api->channels) {
        rn_channel_t *h = api->channels;
        api->channels = h->next;
        channel_free(h);
    }
}

static rn_channel_t *channel_find(rn_api_t *api, const char *account, const char *region,
                                  const char *name)
{
    for (rn_channel_t *h = api->channels; h; h = h->next)
        if (strcmp(h->account, account) == 0 && strcmp(h->region, region) == 0 &&
            strcmp(h->name, name) == 0)
            return h;
    return NULL;
}

static void channel_arn(const rn_channel_t *h, char *buf, size_t cap)
{
    snprintf(buf, cap, "arn:aws:kinesis:%s:%s:channel/%s", h->region, h->account, h->name);
}

int rn_channels_count_stream(rn_api_t *api, const char *stream_arn, int64_t now_ms)
{
    channels_load(api, now_ms);
    int n = 0;
    for (rn_channel_t *h = api->channels; h; h = h->next)
        n += !h->gone_ms && strcmp(json_string_value(json_object_get(h->doc, "stream_arn")), stream_arn) == 0;
    return n;
}

/* ---- the answers ---------------------------------------------------------------------- */

static json_t *channel_json(const rn_channel_t *h, int64_t now, int summary)
{
    char arn[512];
    channel_arn(h, arn, sizeof arn);
    json_t *j = json_object();
    json_object_set_new(j, "ChannelName", json_string(h->name));
    json_object_set_new(j, "ChannelARN", json_string(arn));
    json_object_set_new(j, "ChannelId", json_incref(json_object_get(h->doc, "id")));
    json_object_set_new(j, "ChannelStatus", json_string(status_name(h, now)));
    json_object_set_new(j, "ChannelCreationTimestamp", rn_json_ts(doc_ms(h, "created_ms")));
    json_t *stream = json_object();
    json_object_set_new(stream, "StreamARN", json_incref(json_object_get(h->doc, "stream_arn")));
    json_object_set_new(stream, "StreamCreationTimestamp", rn_json_ts(doc_ms(h, "stream_created_ms")));
    if (summary) {
        json_object_set_new(j, "ChannelDestinationType", json_string("S3"));
        json_object_set_new(j, "Streams", json_pack("[o]", stream));
        return j;
    }
    json_object_set_new(stream, "RecordConfiguration", json_deep_copy(json_object_get(h->doc, "record")));
    json_object_set_new(j, "ServiceExecutionRoleARN", json_incref(json_object_get(h->doc, "role")));
    json_object_set_new(j, "StreamConfigurationList", json_pack("[o]", stream));
    json_object_set_new(j, "S3DestinationConfiguration", json_deep_copy(json_object_get(h->doc, "s3")));
    json_t *enc = json_object_get(h->doc, "encryption");
    if (enc)
        json_object_set_new(j, "EncryptionConfiguration", json_deep_copy(enc));
    json_object_set_new(j, "LoggingConfiguration", json_deep_copy(json_object_get(h->doc, "logging")));
    return j;
}

/* ChannelARN: arn:<partition>:kinesis:<region>:<account>:channel/<name>, in
 * the caller's region. ResourceNotFoundException when there is none. */
static int resolve_arn(rn_call_t *c, rn_channel_t **out)
{
    const char *arn = rn_arg_str(c, "ChannelARN");
    char region[RN_REGION_MAX + 1], account[RN_ACCOUNT_MAX + 1], name[129];
    int off = 0;
    if (!arn || sscanf(arn, "arn:%*[^:]:kinesis:%32[^:]:%15[^:]:channel/%n", region, account, &off) != 2 ||
        off <= 0 || strlen(arn + off) == 0 || strlen(arn + off) >= sizeof name)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid ChannelARN.");
    snprintf(name, sizeof name, "%s", arn + off);
    channels_load(c->api, c->now_ms);
    *out = strcmp(region, c->region) == 0 ? channel_find(c->api, account, region, name) : NULL;
    if (rn_access_check(c, account, arn, NULL, NULL) != 0)
        return -1;
    if (!*out) {
        char msg[700];
        snprintf(msg, sizeof msg, "Channel %s under account %s not found.", name, account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_NOT_FOUND, msg);
    }
    return 0;
}

static int check_freshness(rn_call_t *c, json_t *s3, json_int_t *out)
{
    json_t *f = json_object_get(s3, "DataFreshnessInSeconds");
    *out = f ? json_integer_value(f) : CHANNEL_FRESHNESS_DEFAULT;
    if (*out < 1)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "DataFreshnessInSeconds must be a positive number of seconds.");
    return 0;
}

/* ---- the five operations -------------------------------------------------------------- */

int rn_op_CreateChannel(rn_call_t *c)
{
    const char *name = rn_arg_str(c, "ChannelName");
    json_t *s3 = json_object_get(c->in, "S3DestinationConfiguration");
    json_t *tables = json_object_get(c->in, "S3TablesDestinationConfiguration");
    json_t *streams = json_object_get(c->in, "StreamConfigurationList");
    if (!s3 == !tables)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "You must specify either S3DestinationConfiguration or "
                            "S3TablesDestinationConfiguration, but not both.");
    if (tables)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "S3TablesDestinationConfiguration (Apache Iceberg tables in Amazon S3 "
                            "Tables) is not supported by runnel yet.");
    if (json_array_size(streams) != 1)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "Currently, one stream is supported per channel.");
    json_t *sc = json_array_get(streams, 0);
    const char *sarn = json_string_value(json_object_get(sc, "StreamARN"));
    json_int_t freshness;
    if (check_freshness(c, s3, &freshness) != 0)
        return -1;
    json_t *enc = json_object_get(c->in, "EncryptionConfiguration");
    const char *key_id = json_string_value(json_object_get(enc, "KeyId"));
    if (key_id && (strcmp(key_id, "aws/kinesis") == 0 || strcmp(key_id, "alias/aws/kinesis") == 0))
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "You cannot use the Amazon Kinesis Data Streams service key (aws/kinesis) "
                            "to encrypt a channel's destination.");
    char region[RN_REGION_MAX + 1], account[RN_ACCOUNT_MAX + 1], sname[256], arn[512];
    if (!sarn || rn_parse_stream_arn(sarn, region, sizeof region, account, sizeof account, sname,
                                     sizeof sname) != 0)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid StreamARN.");
    snprintf(arn, sizeof arn, "arn:aws:kinesis:%s:%s:channel/%s", c->region, c->account, name);
    if (rn_access_check(c, c->account, arn, NULL, NULL) != 0)
        return -1;
    rn_stream_t *s = strcmp(region, c->region) == 0 && strcmp(account, c->account) == 0
                         ? rn_registry_find(c->api->reg, account, region, sname)
                         : NULL;
    if (!s || s->status == RN_STREAM_DELETING)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, sname, account);
    if (s->status != RN_STREAM_ACTIVE && s->status != RN_STREAM_UPDATING)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_ACTIVE, s->name, account,
                            rn_stream_status_name(s->status));
    if (!s->on_demand)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "This operation is only supported for data streams with the on-demand "
                            "capacity mode.");
    char msg[1024], own_sarn[512];
    channels_load(c->api, c->now_ms);
    if (channel_find(c->api, c->account, c->region, name)) {
        snprintf(msg, sizeof msg, "Channel %s already exists for account %s.", name, c->account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
    }
    rn_stream_arn(s, own_sarn, sizeof own_sarn);
    if (rn_channels_count_stream(c->api, own_sarn, c->now_ms) > 0) {
        snprintf(msg, sizeof msg,
                 "Stream %s under account %s already has a channel to a general purpose Amazon S3 "
                 "bucket; a stream can have one such channel.",
                 s->name, account);
        return rn_error_set(&c->err, RN_AWS_LIMIT_EXCEEDED, msg);
    }
    rn_channel_t *h = calloc(1, sizeof *h);
    if (!h)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    snprintf(h->account, sizeof h->account, "%s", c->account);
    snprintf(h->region, sizeof h->region, "%s", c->region);
    snprintf(h->name, sizeof h->name, "%s", name);
    char id[40];
    snprintf(id, sizeof id, "%016llx%08x", (unsigned long long)c->now_ms, (unsigned)rand());
    json_t *s3d = json_deep_copy(s3);
    json_object_set_new(s3d, "DataFreshnessInSeconds", json_integer(freshness));
    if (!json_object_get(s3d, "DeadLetterQueueS3Configuration")) /* required in the description */
        json_object_set_new(s3d, "DeadLetterQueueS3Configuration",
                            json_pack("{s:O,s:O}", "BucketARN",
                                      json_object_get(json_object_get(s3, "StorageConfiguration"), "BucketARN"),
                                      "ExpectedBucketOwner",
                                      json_object_get(json_object_get(s3, "StorageConfiguration"),
                                                      "ExpectedBucketOwner")));
    json_t *logging = json_object_get(c->in, "LoggingConfiguration");
    h->doc = json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:I,s:O,s:o,s:o}", "id", id, "created_ms",
                       (json_int_t)c->now_ms, "active_ms", (json_int_t)(c->now_ms + c->api->consumer_delay_ms),
                       "updated_ms", (json_int_t)0, "role", rn_arg_str(c, "ServiceExecutionRoleARN"),
                       "stream_arn", own_sarn, "stream_created_ms", (json_int_t)s->created_ms, "record",
                       json_object_get(sc, "RecordConfiguration"), "s3", s3d, "logging",
                       logging ? json_deep_copy(logging) : json_pack("{s:{s:b}}", "CloudWatchLogs", "Enabled", 0));
    if (!h->doc) {
        free(h);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    if (enc)
        json_object_set_new(h->doc, "encryption", json_deep_copy(enc));
    int rc = channel_save(c->api, h, h->doc);
    if (rc) {
        channel_free(h);
        if (rc == RN_ECONFLICT) { /* created meanwhile through another node */
            c->api->channels_loaded = 0;
            snprintf(msg, sizeof msg, "Channel %s already exists for account %s.", name, c->account);
            return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
        }
        return rn_fail_persist(c, rc);
    }
    h->next = c->api->channels;
    c->api->channels = h;
    json_t *out = json_object();
    json_object_set_new(out, "ChannelDescription", channel_json(h, c->now_ms, 0));
    rn_call_reply(c, out);
    return 0;
}

int rn_op_DescribeChannel(rn_call_t *c)
{
    rn_channel_t *h;
    if (resolve_arn(c, &h) != 0)
        return -1;
    json_t *out = json_object();
    json_object_set_new(out, "ChannelDescription", channel_json(h, c->now_ms, 0));
    rn_call_reply(c, out);
    return 0;
}

int rn_op_UpdateChannel(rn_call_t *c)
{
    rn_channel_t *h;
    if (resolve_arn(c, &h) != 0)
        return -1;
    json_t *s3 = json_object_get(c->in, "S3DestinationConfiguration");
    json_t *logging = json_object_get(c->in, "LoggingConfiguration");
    if (json_object_get(c->in, "S3TablesDestinationConfiguration"))
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "S3TablesDestinationConfiguration does not apply to a channel that "
                            "delivers to a general purpose Amazon S3 bucket.");
    if (!s3 && !logging)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "Specify S3DestinationConfiguration or LoggingConfiguration to update.");
    const char *st = status_name(h, c->now_ms);
    if (strcmp(st, "ACTIVE") != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "Channel %s under account %s is in %s state, not ACTIVE.", h->name,
                 h->account, st);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
    }
    json_int_t freshness = 0;
    if (s3 && check_freshness(c, s3, &freshness) != 0)
        return -1;
    /* the new document is stored first, and only then is it the channel's */
    json_t *next = json_deep_copy(h->doc);
    if (!next)
        return rn_fail_persist(c, RN_ENOMEM);
    if (s3)
        json_object_set_new(json_object_get(next, "s3"), "DataFreshnessInSeconds", json_integer(freshness));
    if (logging)
        json_object_set_new(next, "logging", json_deep_copy(logging));
    json_object_set_new(next, "updated_ms", json_integer(c->now_ms + c->api->consumer_delay_ms));
    int rc = channel_save(c->api, h, next);
    if (rc) {
        json_decref(next);
        if (rc == RN_ECONFLICT) /* changed elsewhere: read everything again next time */
            rn_channels_free(c->api), c->api->channels_loaded = 0;
        return rn_fail_persist(c, rc);
    }
    json_decref(h->doc);
    h->doc = next;
    json_t *out = json_object();
    json_object_set_new(out, "ChannelDescription", channel_json(h, c->now_ms, 0));
    rn_call_reply(c, out);
    return 0;
}

int rn_op_DeleteChannel(rn_call_t *c)
{
    rn_channel_t *h;
    if (resolve_arn(c, &h) != 0)
        return -1;
    if (h->gone_ms) { /* already DELETING */
        rn_call_reply(c, NULL);
        return 0;
    }
    char key[300];
    kv_key(key, sizeof key, h);
    int rc = rn_store_kv_del_if(rn_registry_store(c->api->reg), key, h->rev);
    if (rc == RN_ECONFLICT)
        rn_channels_free(c->api), c->api->channels_loaded = 0;
    if (rc)
        return rn_fail_persist(c, rc);
    h->gone_ms = c->now_ms + (c->api->consumer_delay_ms > 0 ? c->api->consumer_delay_ms : 1);
    rn_call_reply(c, NULL);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(rn_channel_t *const *)a)->name, (*(rn_channel_t *const *)b)->name);
}

int rn_op_ListChannels(rn_call_t *c)
{
    int64_t max = CHANNELS_PAGE_MAX;
    if (rn_arg_int(c, "MaxResults", &max) == 0 && max > CHANNELS_PAGE_MAX)
        max = CHANNELS_PAGE_MAX;
    const char *after = rn_arg_str(c, "NextToken"); /* the last name of the previous page */
    json_t *filter = json_object_get(c->in, "StreamFilter");
    channels_load(c->api, c->now_ms);
    size_t n = 0, cap = 0;
    rn_channel_t **v = NULL;
    for (rn_channel_t *h = c->api->channels; h; h = h->next) {
        if (strcmp(h->account, c->account) != 0 || strcmp(h->region, c->region) != 0)
            continue;
        int keep = !filter;
        size_t i;
        json_t *f;
        json_array_foreach(filter, i, f)
        {
            keep |= strcmp(json_string_value(json_object_get(f, "StreamARN")),
                           json_string_value(json_object_get(h->doc, "stream_arn"))) == 0;
        }
        if (!keep)
            continue;
        if (n == cap) {
            rn_channel_t **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!nv) {
                free(v);
                return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
            }
            v = nv;
        }
        v[n++] = h;
    }
    if (n)
        qsort(v, n, sizeof v[0], by_name);
    json_t *arr = json_array();
    json_t *out = json_object();
    int64_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (after && strcmp(v[i]->name, after) <= 0)
            continue;
        if (shown == max) {
            json_object_set_new(out, "NextToken", json_string(v[i - 1]->name));
            break;
        }
        json_array_append_new(arr, channel_json(v[i], c->now_ms, 1));
        shown++;
    }
    free(v);
    json_object_set_new(out, "ChannelSummaries", arr);
    rn_call_reply(c, out);
    return 0;
}
