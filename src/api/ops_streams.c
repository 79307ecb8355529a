/* ops_streams.c: the stream family: CreateStream, DeleteStream,
 * DescribeStream, DescribeStreamSummary, ListStreams, ListShards. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/api_int.h"
#include "core/reshard.h" /* lineage for ListShards' ShardFilter */
#include "util/clock.h"
#include "util/status.h"

static void add_stream_common(json_t *d, const rn_stream_t *s)
{
    char arn[512];
    rn_stream_arn(s, arn, sizeof arn);
    json_object_set_new(d, "StreamName", json_string(s->name));
    json_object_set_new(d, "StreamARN", json_string(arn));
    json_object_set_new(d, "StreamStatus", json_string(rn_stream_status_name(s->status)));
    json_object_set_new(d, "StreamModeDetails",
                        json_pack("{s:s}", "StreamMode", s->on_demand ? "ON_DEMAND" : "PROVISIONED"));
    json_object_set_new(d, "RetentionPeriodHours", json_integer(s->retention_hours));
    json_object_set_new(d, "StreamCreationTimestamp", rn_json_ts(s->created_ms));
    json_object_set_new(d, "EnhancedMonitoring", json_pack("[{s:o}]", "ShardLevelMetrics", rn_json_metrics(s->metrics)));
    json_object_set_new(d, "EncryptionType", json_string(s->encrypted ? "KMS" : "NONE"));
    if (s->encrypted && s->key_id)
        json_object_set_new(d, "KeyId", json_string(s->key_id));
}

/* ---- CreateStream ------------------------------------------------------------------ */

/* The options are set on the new stream before it is first written. */
static int create_prep(void *ud, rn_stream_t *s)
{
    return rn_create_options_apply(ud, s);
}

int rn_op_CreateStream(rn_call_t *c)
{
    const char *name = rn_arg_str(c, "StreamName");
    int64_t shard_count = 0;
    int has_count = rn_arg_int(c, "ShardCount", &shard_count) == 0;
    const char *mode = json_string_value(json_object_get(json_object_get(c->in, "StreamModeDetails"), "StreamMode"));
    int on_demand = 0;
    if (mode && strcmp(mode, "ON_DEMAND") == 0) {
        if (has_count)
            return rn_error_set(&c->err, RN_AWS_VALIDATION,
                                "ShardCount is not supported for streams in ON_DEMAND mode.");
        on_demand = 1;
        shard_count = 4;
    } else if (mode) { /* PROVISIONED */
        if (!has_count)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "ShardCount is required for streams in PROVISIONED mode.");
    } else if (!has_count) {
        on_demand = 1;
        shard_count = 4;
    }

    rn_registry_t *reg = c->api->reg;
    if (rn_registry_find(reg, c->account, c->region, name))
        return rn_error_set(&c->err, RN_AWS_STREAM_EXISTS, name, c->account);
    if (rn_create_options_check(c, name, on_demand) != 0)
        return -1;
    int limit = rn_registry_config(reg)->shard_limit;
    int current = rn_registry_open_shard_count(reg, c->account, c->region);
    if (shard_count > limit - current)
        return rn_error_set(&c->err, RN_AWS_SHARD_LIMIT, c->account, c->region, current, limit,
                            (int)(shard_count > 1000000 ? 1000000 : shard_count));
    rn_stream_t *s;
    int rc = rn_registry_create_with(reg, c->account, c->region, name, (uint32_t)shard_count, on_demand,
                                     c->now_ms, create_prep, c, &s);
    if (rc == RN_EEXIST) /* created meanwhile through another node sharing the store */
        return rn_error_set(&c->err, RN_AWS_STREAM_EXISTS, name, c->account);
    if (rc)
        return rn_fail_persist(c, rc);
    rn_call_reply(c, NULL);
    return 0;
}

/* ---- --init-streams ------------------------------------------------------------------ */

static int init_one(rn_api_t *api, const char *e, size_t len, char *err, size_t errlen)
{
    char item[256], name[129];
    if (len >= sizeof item)
        return snprintf(err, errlen, "--init-streams: entry too long"), -1;
    memcpy(item, e, len);
    item[len] = 0;
    char *shards = strchr(item, ':'), *mode = NULL;
    if (shards) {
        *shards++ = 0;
        if ((mode = strchr(shards, ':')))
            *mode++ = 0;
    }
    size_t nl = strlen(item);
    if (nl == 0 || nl > 128 || strspn(item, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != nl)
        return snprintf(err, errlen, "--init-streams: \"%s\": a stream name is 1-128 of a-z A-Z 0-9 _ . -", item), -1;
    memcpy(name, item, nl + 1); /* nl <= 128 */
    int on_demand = 1;
    long n = 4;
    if (shards && strcmp(shards, "ON_DEMAND") == 0 && !mode) {
        on_demand = 1;
    } else if (shards) {
        char *end;
        n = strtol(shards, &end, 10);
        if (!*shards || *end || n < 1 || n > 100000)
            return snprintf(err, errlen, "--init-streams: \"%s\": the shard count must be 1..100000", name), -1;
        on_demand = 0;
        if (mode && strcmp(mode, "ON_DEMAND") == 0)
            return snprintf(err, errlen, "--init-streams: \"%s\": an ON_DEMAND stream takes no shard count", name), -1;
        if (mode && strcmp(mode, "PROVISIONED") != 0)
            return snprintf(err, errlen, "--init-streams: \"%s\": the mode is PROVISIONED or ON_DEMAND", name), -1;
    }
    rn_registry_t *reg = api->reg;
    if (rn_registry_find(reg, api->account_id, api->default_region, name))
        return 0; /* kept: a restart on the same data */
    int limit = rn_registry_config(reg)->shard_limit;
    int current = rn_registry_open_shard_count(reg, api->account_id, api->default_region);
    if (n > limit - current)
        return snprintf(err, errlen, "--init-streams: \"%s\": %ld shards exceed the shard limit (%d, %d open; --shard-limit)",
                        name, n, limit, current), -1;
    /* created as long ago as the CREATING delay: the tick below makes it ACTIVE */
    int64_t now = rn_now_ms();
    rn_stream_t *st;
    int rc = rn_registry_create(reg, api->account_id, api->default_region, name, (uint32_t)n, on_demand,
                                now - rn_registry_config(reg)->create_delay_ms, &st);
    if (rc)
        return snprintf(err, errlen, "--init-streams: \"%s\": %s", name, rn_strerror(rc)), -1;
    (void)rn_registry_tick(reg, now);
    return 0;
}

int rn_api_init_streams(rn_api_t *api, const char *spec, char *err, size_t errlen)
{
    const char *p = spec;
    int any = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (len) {
            if (init_one(api, p, len, err, errlen) != 0)
                return -1;
            any = 1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!any)
        return snprintf(err, errlen, "--init-streams: no stream named"), -1;
    return 0;
}

/* ---- DeleteStream ------------------------------------------------------------------ */

int rn_op_DeleteStream(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    if (s->status == RN_STREAM_DELETING)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, s->name, c->account);
    char sarn[512];
    rn_stream_arn(s, sarn, sizeof sarn);
    if (rn_channels_count_stream(c->api, sarn, c->now_ms) > 0) { /* DeleteChannel's documentation */
        char msg[512];
        snprintf(msg, sizeof msg, "Stream %s under account %s has active channels.", s->name, c->account);
        return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
    }
    int drop = 0;
    if (rn_consumers_count(c->api, s, c->now_ms) > 0) {
        if (!rn_arg_bool(c, "EnforceConsumerDeletion")) {
            char msg[512];
            snprintf(msg, sizeof msg, "Stream %s under account %s has registered consumers.",
                     s->name, c->account);
            return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE, msg);
        }
        drop = 1;
    }
    /* The deletion is persisted first (rn_registry_delete leaves the stream
     * as it was when that fails); the consumers go after it. Deleting at
     * once frees s: its consumers are dropped through a copy (only the id
     * is read). */
    int rc;
    if (rn_registry_config(c->api->reg)->delete_delay_ms <= 0) {
        rn_stream_t copy = *s; /* what rn_consumers_drop_stream reads (id, names) */
        rc = rn_registry_delete(c->api->reg, s, c->now_ms);
        if (rc == 0 && drop)
            rn_consumers_drop_stream(c->api, &copy);
    } else {
        rc = rn_registry_delete(c->api->reg, s, c->now_ms);
        if (rc == 0 && drop)
            rn_consumers_drop_stream(c->api, s);
    }
    if (rc)
        return rn_fail_persist(c, rc);
    rn_call_reply(c, NULL);
    return 0;
}

/* ---- DescribeStream ------------------------------------------------------------------ */

/* Index of the first shard strictly after ExclusiveStartShardId (0 without one). */
static int start_after(rn_call_t *c, const rn_stream_t *s, const char *excl, uint32_t *first)
{
    *first = 0;
    if (!excl)
        return 0;
    uint32_t idx;
    if (rn_parse_shard_id(excl, &idx) != 0)
        return 0; /* AWS lists from the start for an unparseable id */
    while (*first < s->n_shards && s->shards[*first].index <= idx)
        (*first)++;
    (void)c;
    return 0;
}

int rn_op_DescribeStream(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    int64_t limit = 100;
    if (rn_arg_int(c, "Limit", &limit) == 0 && limit > 100)
        limit = 100;
    uint32_t first;
    start_after(c, s, rn_arg_str(c, "ExclusiveStartShardId"), &first);
    json_t *d = json_object();
    add_stream_common(d, s);
    json_t *shards = json_array();
    int more = 0;
    if (rn_stream_shows_shards(s)) {
        for (uint32_t i = first; i < s->n_shards; i++) {
            if (rn_shard_expired(s, &s->shards[i], c->now_ms))
                continue;
            if ((int64_t)json_array_size(shards) >= limit) {
                more = 1;
                break;
            }
            json_array_append_new(shards, rn_json_shard(s, &s->shards[i]));
        }
    }
    json_object_set_new(d, "Shards", shards);
    json_object_set_new(d, "HasMoreShards", json_boolean(more));
    rn_call_reply(c, json_pack("{s:o}", "StreamDescription", d));
    return 0;
}

int rn_op_DescribeStreamSummary(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    json_t *d = json_object();
    add_stream_common(d, s);
    int open = 0;
    if (rn_stream_shows_shards(s))
        for (uint32_t i = 0; i < s->n_shards; i++)
            open += s->shards[i].closed_ms == 0;
    json_object_set_new(d, "OpenShardCount", json_integer(open));
    json_object_set_new(d, "ConsumerCount", json_integer(rn_consumers_count(c->api, s, c->now_ms)));
    char sarn[512];
    rn_stream_arn(s, sarn, sizeof sarn);
    int channels = rn_channels_count_stream(c->api, sarn, c->now_ms);
    if (channels > 0) /* shown only when there are (AWS's choice could not be confirmed) */
        json_object_set_new(d, "ChannelCount", json_integer(channels));
    json_object_set_new(d, "MaxRecordSizeInKiB", json_integer(s->max_record_kib));
    if (s->on_demand) {
        json_object_set_new(d, "RecordDistributionStrategy",
                            json_string(s->distribution_auto ? "AUTO" : "USER_PARTITION_KEY"));
        if (s->warm_mibps > 0)
            json_object_set_new(d, "WarmThroughput", json_pack("{s:I,s:I}", "TargetMiBps", (json_int_t)s->warm_mibps,
                                                               "CurrentMiBps", (json_int_t)s->warm_mibps));
    }
    rn_call_reply(c, json_pack("{s:o}", "StreamDescriptionSummary", d));
    return 0;
}

/* ---- tokens ------------------------------------------------------------------------- */

static json_t *seal_token(rn_call_t *c, uint64_t kind, uint64_t stream_id, int64_t aux, uint32_t index,
                          const char *name)
{
    rn_iter_t t = {.stream_id = stream_id,
                   .stream_created_ms = aux,
                   .shard_index = index,
                   .position = kind,
                   .issued_ms = c->now_ms};
    snprintf(t.stream_name, sizeof t.stream_name, "%s", name);
    snprintf(t.account, sizeof t.account, "%s", c->account); /* bound to the caller */
    snprintf(t.region, sizeof t.region, "%s", c->region);
    char buf[RN_ITERATOR_MAX + 1];
    if (rn_iter_seal(rn_registry_iter_key(c->api->reg), &t, buf) < 0)
        return NULL;
    return json_string(buf);
}

/* Open a NextToken of the given kind; sets c->err on failure. */
static int open_token(rn_call_t *c, const char *tok, uint64_t kind, rn_iter_t *t)
{
    if (rn_iter_open_for(rn_registry_iter_key(c->api->reg), tok, strlen(tok), c->account, c->region, t) != 0 ||
        t->position != kind)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, "Invalid NextToken.");
    if (c->now_ms - t->issued_ms > RN_ITERATOR_TTL_MS)
        return rn_error_set(&c->err, RN_AWS_EXPIRED_NEXT_TOKEN, "The requested NextToken has expired.");
    return 0;
}

/* ---- ListStreams ---------------------------------------------------------------------- */

int rn_op_ListStreams(rn_call_t *c)
{
    int64_t limit = 100;
    if (rn_arg_int(c, "Limit", &limit) == 0 && limit > 100)
        limit = 100;
    const char *after = rn_arg_str(c, "ExclusiveStartStreamName");
    const char *tok = rn_arg_str(c, "NextToken");
    rn_iter_t t;
    if (tok) {
        if (open_token(c, tok, RN_TOKEN_LIST_STREAMS, &t) != 0)
            return -1;
        after = t.stream_name;
    }
    rn_stream_t **v;
    size_t n;
    if (rn_registry_list(c->api->reg, c->account, c->region, &v, &n) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    json_t *names = json_array(), *sums = json_array();
    size_t i = 0;
    if (after)
        while (i < n && strcmp(v[i]->name, after) <= 0)
            i++;
    const char *last = NULL;
    for (; i < n && (int64_t)json_array_size(names) < limit; i++) {
        rn_stream_t *s = v[i];
        char arn[512];
        rn_stream_arn(s, arn, sizeof arn);
        json_array_append_new(names, json_string(s->name));
        json_array_append_new(
            sums, json_pack("{s:s,s:s,s:s,s:{s:s},s:o}", "StreamName", s->name, "StreamARN", arn,
                            "StreamStatus", rn_stream_status_name(s->status), "StreamModeDetails",
                            "StreamMode", s->on_demand ? "ON_DEMAND" : "PROVISIONED",
                            "StreamCreationTimestamp", rn_json_ts(s->created_ms)));
        last = s->name;
    }
    int more = i < n;
    json_t *out = json_pack("{s:o,s:b,s:o}", "StreamNames", names, "HasMoreStreams", more,
                            "StreamSummaries", sums);
    if (more && last)
        json_object_set_new(out, "NextToken", seal_token(c, RN_TOKEN_LIST_STREAMS, 0, 0, 0, last));
    free(v);
    rn_call_reply(c, out);
    return 0;
}

/* ---- ListShards ---------------------------------------------------------------------- */

enum { F_AFTER_SHARD_ID = 1, F_AT_TRIM_HORIZON, F_FROM_TRIM_HORIZON, F_AT_LATEST, F_AT_TIMESTAMP, F_FROM_TIMESTAMP };

static int filter_code(const char *t)
{
    static const char *names[] = {"", "AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON",
                                  "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP"};
    for (int i = 1; i < 7; i++)
        if (t && strcmp(t, names[i]) == 0)
            return i;
    return F_FROM_TRIM_HORIZON;
}

/* Does the filter keep this shard? ts_ms is the filter's timestamp. Over the
 * lineage (KINESIS_CONTRACT §4.4): a shard lives from created_ms to
 * closed_ms (both included; open shards to now); shards at the trim horizon
 * (no parent left in the stream) count as alive since the beginning, so a
 * timestamp older than the stream clamps to the trim horizon. */
/* A parent that retention has expired no longer counts as lineage. */
static int parent_gone(const rn_stream_t *s, int64_t idx, int64_t now_ms)
{
    if (idx < 0)
        return 1;
    const rn_shard_t *p = rn_stream_shard_const(s, (uint32_t)idx);
    return !p || rn_shard_expired(s, p, now_ms);
}

static int at_trim_horizon(const rn_stream_t *s, const rn_shard_t *sh, int64_t now_ms)
{
    return rn_shard_at_trim_horizon(s, sh) ||
           (parent_gone(s, sh->parent, now_ms) && parent_gone(s, sh->adjacent_parent, now_ms));
}

/* Does the filter keep this shard? ts_ms is the filter's timestamp. Shards
 * whose every record has expired are never listed (§3.3). */
static int filter_keeps(int code, const rn_stream_t *s, const rn_shard_t *sh, int64_t ts_ms, int64_t now_ms)
{
    if (rn_shard_expired(s, sh, now_ms))
        return 0;
    switch (code) {
    case F_AT_LATEST:
        return sh->closed_ms == 0;
    case F_AT_TIMESTAMP:
        return (sh->created_ms <= ts_ms || at_trim_horizon(s, sh, now_ms)) &&
               (sh->closed_ms == 0 || sh->closed_ms >= ts_ms);
    case F_FROM_TIMESTAMP:
        return sh->closed_ms == 0 || sh->closed_ms >= ts_ms;
    case F_AT_TRIM_HORIZON:
        return at_trim_horizon(s, sh, now_ms);
    default: /* FROM_TRIM_HORIZON, AFTER_SHARD_ID: everything still in the stream */
        return 1;
    }
}

int rn_op_ListShards(rn_call_t *c)
{
    const char *tok = rn_arg_str(c, "NextToken");
    const char *name = rn_arg_str(c, "StreamName");
    const char *arn = rn_arg_str(c, "StreamARN");
    const char *excl = rn_arg_str(c, "ExclusiveStartShardId");
    json_t *filter = json_object_get(c->in, "ShardFilter");
    int has_ts = json_object_get(c->in, "StreamCreationTimestamp") != NULL;
    int64_t max = 1000;
    if (rn_arg_int(c, "MaxResults", &max) == 0 && max > 1000)
        max = 1000;

    rn_stream_t *s = NULL;
    int code = F_FROM_TRIM_HORIZON;
    int64_t ts_ms = 0;
    uint32_t first = 0;
    if (tok) {
        if (name)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "NextToken and StreamName cannot be provided together.");
        if (arn)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "NextToken and StreamARN cannot be provided together.");
        if (excl)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "NextToken and ExclusiveStartShardId cannot be provided together.");
        if (has_ts)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "NextToken and StreamCreationTimestamp cannot be provided together.");
        rn_iter_t t;
        if (open_token(c, tok, RN_TOKEN_LIST_SHARDS, &t) != 0)
            return -1;
        s = rn_registry_find_id(c->api->reg, t.stream_id);
        if (!s)
            return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, t.stream_name, c->account);
        if (rn_access_token_stream(c, s, t.bound, RN_AWS_INVALID_ARGUMENT, "Invalid NextToken.") != 0)
            return -1;
        code = (int)(t.stream_created_ms & 0xff);
        ts_ms = t.stream_created_ms >> 8;
        while (first < s->n_shards && s->shards[first].index <= t.shard_index)
            first++;
    } else {
        if (!name && !arn)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "Either NextToken or StreamName should be provided.");
        if (rn_call_stream(c, &s) != 0)
            return -1;
        if (filter) {
            code = filter_code(json_string_value(json_object_get(filter, "Type")));
            const char *fid = json_string_value(json_object_get(filter, "ShardId"));
            json_t *fts = json_object_get(filter, "Timestamp");
            if (code == F_AFTER_SHARD_ID && !fid)
                return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                    "ShardId is required for the AFTER_SHARD_ID ShardFilter type.");
            if (code != F_AFTER_SHARD_ID && fid)
                return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                    "ShardId can only be provided with the AFTER_SHARD_ID ShardFilter type.");
            if ((code == F_AT_TIMESTAMP || code == F_FROM_TIMESTAMP) && !fts)
                return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                    "Timestamp is required for the AT_TIMESTAMP and FROM_TIMESTAMP "
                                    "ShardFilter types.");
            if (code != F_AT_TIMESTAMP && code != F_FROM_TIMESTAMP && fts)
                return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                    "Timestamp can only be provided with the AT_TIMESTAMP and "
                                    "FROM_TIMESTAMP ShardFilter types.");
            if (fts)
                ts_ms = (int64_t)llround(json_number_value(fts) * 1000.0);
            if (code == F_AFTER_SHARD_ID) {
                if (excl)
                    return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                        "ExclusiveStartShardId and ShardFilter of type AFTER_SHARD_ID "
                                        "cannot be provided together.");
                excl = fid;
            }
        }
        start_after(c, s, excl, &first);
    }

    json_t *shards = json_array();
    int64_t last = -1;
    uint32_t i = first;
    if (rn_stream_shows_shards(s)) {
        for (; i < s->n_shards; i++) {
            if (!filter_keeps(code, s, &s->shards[i], ts_ms, c->now_ms))
                continue;
            if ((int64_t)json_array_size(shards) >= max)
                break;
            json_array_append_new(shards, rn_json_shard(s, &s->shards[i]));
            last = s->shards[i].index;
        }
    }
    json_t *out = json_pack("{s:o}", "Shards", shards);
    if (i < s->n_shards && last >= 0)
        json_object_set_new(out, "NextToken",
                            seal_token(c, RN_TOKEN_LIST_SHARDS, s->id, (ts_ms << 8) | code,
                                       (uint32_t)last, s->name));
    rn_call_reply(c, out);
    return 0;
}
