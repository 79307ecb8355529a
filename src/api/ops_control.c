/* ops_control.c: stream settings: retention, enhanced monitoring, limits,
 * account settings, capacity modes, warm throughput, record size, record
 * distribution strategy, and CreateStream's optional settings.
 *
 * Every handler validates everything before it changes anything, persists
 * the change before answering, and puts the stream back as it was when
 * persisting fails (ServiceUnavailable 503, rn_fail_persist): a failed
 * request changes nothing, in memory or on disk. Messages are AWS's where KINESIS_CONTRACT.md records them; the
 * others are listed in docs/control-plane.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define WARM_MAX_MIBPS 10240   /* 10 GiB/s (§4.7) */
#define ON_DEMAND_LIMIT 50     /* on-demand streams per account (§5) */
#define COMMITMENT_MIN_MS (24LL * 3600 * 1000)

/* ResourceInUseException unless the stream is ACTIVE. */
static int need_active(rn_call_t *c, const rn_stream_t *s)
{
    if (s->status == RN_STREAM_ACTIVE)
        return 0;
    return rn_error_set(&c->err, RN_AWS_STREAM_NOT_ACTIVE, s->name, c->account,
                        rn_stream_status_name(s->status));
}

static int commitment_enabled(rn_call_t *c, int *enabled)
{
    rn_account_settings_t st;
    if (rn_account_settings_get(c->api->reg, c->account, c->region, c->now_ms, &st) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    *enabled = st.status != RN_COMMITMENT_DISABLED;
    return 0;
}

/* The warm-throughput checks shared by UpdateStreamWarmThroughput,
 * UpdateStreamMode and CreateStream. */
static int check_warm(rn_call_t *c, int64_t mibps)
{
    char msg[256];
    if (mibps > WARM_MAX_MIBPS) {
        snprintf(msg, sizeof msg,
                 "WarmThroughputMiBps %lld exceeds the maximum warm throughput of %d MiBps.",
                 (long long)mibps, WARM_MAX_MIBPS);
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
    }
    int enabled = 0;
    if (commitment_enabled(c, &enabled) != 0)
        return -1;
    if (!enabled) {
        snprintf(msg, sizeof msg,
                 "Warm throughput requires MinimumThroughputBillingCommitment to be enabled for "
                 "account %s.",
                 c->account);
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
    }
    return 0;
}

static int fail_internal(rn_call_t *c)
{
    return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
}

int rn_fail_persist(rn_call_t *c, int rc)
{
    if (rc == RN_ENOMEM)
        return fail_internal(c);
    if (rc == RN_ECONFLICT) /* another node sharing the store changed it first (model.c) */
        return rn_error_set(&c->err, RN_AWS_RESOURCE_IN_USE,
                            "The resource was changed by another request at the same time; retry the call.");
    return rn_error_set(&c->err, RN_AWS_SERVICE_UNAVAILABLE,
                        rc == RN_ENOSPC ? "The server is out of disk space."
                                        : "The server cannot write its metadata.");
}

int rn_fail_store(rn_call_t *c, int rc)
{
    if (rc == RN_ENOSPC)
        return rn_error_set(&c->err, RN_AWS_SERVICE_UNAVAILABLE, "The server is out of disk space.");
    if (rc == RN_EMFILE)
        return rn_error_set(&c->err, RN_AWS_SERVICE_UNAVAILABLE,
                            "The server is out of file descriptors; retry later.");
    return fail_internal(c);
}

/* ---- output helpers shared with ops_streams.c --------------------------------------- */

json_t *rn_json_metrics(uint32_t mask)
{
    json_t *a = json_array();
    for (int i = 0; i < RN_METRIC_COUNT; i++)
        if (mask & (1u << i))
            json_array_append_new(a, json_string(rn_metric_names[i]));
    return a;
}

/* ---- retention -------------------------------------------------------------------------- */

static int change_retention(rn_call_t *c, int increase)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    int64_t hours = 0;
    (void)rn_arg_int(c, "RetentionPeriodHours", &hours); /* required: wire checked it */
    if (hours < 24)
        return rn_error_set(&c->err, RN_AWS_RETENTION_TOO_SHORT, (long long)hours);
    if (hours > 8760)
        return rn_error_set(&c->err, RN_AWS_RETENTION_TOO_LONG, (long long)hours);
    if (need_active(c, s) != 0)
        return -1;
    if (increase && hours < s->retention_hours)
        return rn_error_set(&c->err, RN_AWS_RETENTION_NOT_LONGER, (long long)hours, s->name,
                            s->retention_hours);
    if (!increase && hours > s->retention_hours)
        return rn_error_set(&c->err, RN_AWS_RETENTION_NOT_SHORTER, (long long)hours, s->name,
                            s->retention_hours);
    if (hours != s->retention_hours) {
        int old_hours = s->retention_hours;
        int64_t old_floor = s->trim_floor_ms;
        rn_stream_set_retention(s, (int)hours, c->now_ms);
        int rc = rn_registry_begin_update(c->api->reg, s, c->now_ms);
        if (rc) {
            s->retention_hours = old_hours;
            s->trim_floor_ms = old_floor;
            return rn_fail_persist(c, rc);
        }
    }
    rn_call_reply(c, NULL);
    return 0;
}

int rn_op_IncreaseStreamRetentionPeriod(rn_call_t *c)
{
    return change_retention(c, 1);
}

int rn_op_DecreaseStreamRetentionPeriod(rn_call_t *c)
{
    return change_retention(c, 0);
}

/* ---- enhanced monitoring ------------------------------------------------------------------- */

static int change_metrics(rn_call_t *c, int enable)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    uint32_t mask = 0;
    json_t *list = json_object_get(c->in, "ShardLevelMetrics");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *m = json_string_value(json_array_get(list, i));
        if (!m)
            continue;
        if (strcmp(m, "ALL") == 0)
            mask |= RN_METRICS_ALL;
        for (int k = 0; k < RN_METRIC_COUNT; k++)
            if (strcmp(m, rn_metric_names[k]) == 0)
                mask |= 1u << k;
    }
    if (need_active(c, s) != 0)
        return -1;
    uint32_t old = s->metrics;
    uint32_t next = enable ? old | mask : old & ~mask;
    if (next != old) {
        s->metrics = next;
        int rc = rn_registry_save(c->api->reg, s);
        if (rc) {
            s->metrics = old;
            return rn_fail_persist(c, rc);
        }
    }
    char arn[512];
    rn_stream_arn(s, arn, sizeof arn);
    rn_call_reply(c, json_pack("{s:s,s:s,s:o,s:o}", "StreamName", s->name, "StreamARN", arn,
                               "CurrentShardLevelMetrics", rn_json_metrics(old),
                               "DesiredShardLevelMetrics", rn_json_metrics(next)));
    return 0;
}

int rn_op_EnableEnhancedMonitoring(rn_call_t *c)
{
    return change_metrics(c, 1);
}

int rn_op_DisableEnhancedMonitoring(rn_call_t *c)
{
    return change_metrics(c, 0);
}

/* ---- limits -------------------------------------------------------------------------------- */

int rn_op_DescribeLimits(rn_call_t *c)
{
    rn_registry_t *reg = c->api->reg;
    rn_stream_t **v;
    size_t n;
    if (rn_registry_list(reg, c->account, c->region, &v, &n) != 0)
        return fail_internal(c);
    int on_demand = 0;
    for (size_t i = 0; i < n; i++)
        on_demand += v[i]->on_demand;
    free(v);
    rn_call_reply(c, json_pack("{s:i,s:i,s:i,s:i}", "ShardLimit", rn_registry_config(reg)->shard_limit,
                               "OpenShardCount", rn_registry_open_shard_count(reg, c->account, c->region),
                               "OnDemandStreamCount", on_demand, "OnDemandStreamCountLimit",
                               ON_DEMAND_LIMIT));
    return 0;
}

/* ---- account settings ------------------------------------------------------------------------ */

static json_t *settings_json(const rn_account_settings_t *st)
{
    json_t *m = json_pack("{s:s}", "Status", rn_commitment_status_name(st->status));
    if (st->started_ms)
        json_object_set_new(m, "StartedAt", rn_json_ts(st->started_ms));
    if (st->ended_ms)
        json_object_set_new(m, "EndedAt", rn_json_ts(st->ended_ms));
    if (st->earliest_end_ms)
        json_object_set_new(m, "EarliestAllowedEndAt", rn_json_ts(st->earliest_end_ms));
    return json_pack("{s:o}", "MinimumThroughputBillingCommitment", m);
}

int rn_op_DescribeAccountSettings(rn_call_t *c)
{
    rn_account_settings_t st;
    if (rn_account_settings_get(c->api->reg, c->account, c->region, c->now_ms, &st) != 0)
        return fail_internal(c);
    rn_call_reply(c, settings_json(&st));
    return 0;
}

/* ENABLED starts a commitment of at least 24 hours (or cancels a scheduled
 * end); DISABLED ends it at once when the minimum has passed, else it stays
 * ENABLED_UNTIL_EARLIEST_ALLOWED_END and ends then. */
int rn_op_UpdateAccountSettings(rn_call_t *c)
{
    const char *want = json_string_value(
        json_object_get(json_object_get(c->in, "MinimumThroughputBillingCommitment"), "Status"));
    if (!want)
        return rn_error_set(&c->err, RN_AWS_VALIDATION,
                            "1 validation error detected: Value null at "
                            "'minimumThroughputBillingCommitment' failed to satisfy constraint: "
                            "Member must not be null");
    rn_account_settings_t st;
    if (rn_account_settings_get(c->api->reg, c->account, c->region, c->now_ms, &st) != 0)
        return fail_internal(c);
    if (strcmp(want, "ENABLED") == 0) {
        if (st.status == RN_COMMITMENT_DISABLED) {
            st.status = RN_COMMITMENT_ENABLED;
            st.started_ms = c->now_ms;
            st.earliest_end_ms = c->now_ms + COMMITMENT_MIN_MS;
            st.ended_ms = 0;
        } else {
            st.status = RN_COMMITMENT_ENABLED;
            st.ended_ms = 0;
        }
    } else if (strcmp(want, "DISABLED") == 0) {
        if (st.status != RN_COMMITMENT_DISABLED) {
            if (c->now_ms >= st.earliest_end_ms) {
                st.status = RN_COMMITMENT_DISABLED;
                st.ended_ms = c->now_ms;
            } else {
                st.status = RN_COMMITMENT_ENABLED_UNTIL_EARLIEST_ALLOWED_END;
                st.ended_ms = st.earliest_end_ms;
            }
        }
    } else {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "MinimumThroughputBillingCommitment Status must be ENABLED or DISABLED, not %s.", want);
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
    }
    int rc = rn_account_settings_put(c->api->reg, c->account, c->region, &st);
    if (rc)
        return rn_fail_persist(c, rc);
    rn_call_reply(c, settings_json(&st));
    return 0;
}

/* ---- capacity mode ------------------------------------------------------------------------------ */

int rn_op_UpdateStreamMode(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    const char *mode =
        json_string_value(json_object_get(json_object_get(c->in, "StreamModeDetails"), "StreamMode"));
    int to_on_demand = mode && strcmp(mode, "ON_DEMAND") == 0;
    int64_t warm = 0;
    int has_warm = rn_arg_int(c, "WarmThroughputMiBps", &warm) == 0;
    char msg[512];
    if (has_warm && !to_on_demand)
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                            "WarmThroughputMiBps can only be specified when switching a stream to "
                            "ON_DEMAND mode.");
    if (need_active(c, s) != 0)
        return -1;
    if (to_on_demand == s->on_demand) {
        snprintf(msg, sizeof msg, "Stream %s under account %s is already in %s mode.", s->name,
                 c->account, to_on_demand ? "ON_DEMAND" : "PROVISIONED");
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
    }
    if (has_warm && check_warm(c, warm) != 0)
        return -1;
    rn_stream_t saved = *s;
    s->on_demand = to_on_demand;
    if (to_on_demand) {
        s->warm_mibps = has_warm ? warm : 0;
    } else { /* AUTO and warm throughput exist only for on-demand streams */
        s->distribution_auto = 0;
        s->warm_mibps = 0;
    }
    int rc = rn_registry_begin_update(c->api->reg, s, c->now_ms);
    if (rc) {
        s->on_demand = saved.on_demand;
        s->warm_mibps = saved.warm_mibps;
        s->distribution_auto = saved.distribution_auto;
        return rn_fail_persist(c, rc);
    }
    rn_call_reply(c, NULL);
    return 0;
}

/* ---- warm throughput ------------------------------------------------------------------------------ */

int rn_op_UpdateStreamWarmThroughput(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    int64_t warm = 0;
    (void)rn_arg_int(c, "WarmThroughputMiBps", &warm); /* required: wire checked it */
    if (!s->on_demand) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "Warm throughput is only supported for streams in ON_DEMAND mode. Stream %s under "
                 "account %s is in PROVISIONED mode.",
                 s->name, c->account);
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
    }
    if (check_warm(c, warm) != 0 || need_active(c, s) != 0)
        return -1;
    int64_t old = s->warm_mibps;
    s->warm_mibps = warm;
    int rc = rn_registry_begin_update(c->api->reg, s, c->now_ms);
    if (rc) {
        s->warm_mibps = old;
        return rn_fail_persist(c, rc);
    }
    char arn[512];
    rn_stream_arn(s, arn, sizeof arn);
    rn_call_reply(c, json_pack("{s:s,s:s,s:{s:I,s:I}}", "StreamARN", arn, "StreamName", s->name,
                               "WarmThroughput", "TargetMiBps", (json_int_t)warm, "CurrentMiBps",
                               (json_int_t)old));
    return 0;
}

/* ---- record size ------------------------------------------------------------------------------------- */

int rn_op_UpdateMaxRecordSize(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    int64_t kib = 0;
    (void)rn_arg_int(c, "MaxRecordSizeInKiB", &kib); /* required, 1024..10240: wire checked it */
    if (need_active(c, s) != 0)
        return -1;
    int old = s->max_record_kib;
    s->max_record_kib = (int)kib;
    int rc = rn_registry_begin_update(c->api->reg, s, c->now_ms);
    if (rc) {
        s->max_record_kib = old;
        return rn_fail_persist(c, rc);
    }
    rn_call_reply(c, NULL);
    return 0;
}

/* ---- record distribution strategy ----------------------------------------------------------------------- */

static int check_distribution(rn_call_t *c, const char *strategy, int on_demand, const char *name)
{
    if (strategy && strcmp(strategy, "AUTO") == 0 && !on_demand) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "RecordDistributionStrategy AUTO is only supported for streams in ON_DEMAND mode. "
                 "Stream %s under account %s is in PROVISIONED mode.",
                 name, c->account);
        return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT, msg);
    }
    return 0;
}

int rn_op_UpdateStreamRecordDistributionStrategy(rn_call_t *c)
{
    rn_stream_t *s;
    if (rn_call_stream(c, &s) != 0)
        return -1;
    const char *strategy = rn_arg_str(c, "RecordDistributionStrategy");
    if (check_distribution(c, strategy, s->on_demand, s->name) != 0 || need_active(c, s) != 0)
        return -1;
    int old = s->distribution_auto;
    s->distribution_auto = strategy && strcmp(strategy, "AUTO") == 0;
    int rc = s->distribution_auto != old ? rn_registry_save(c->api->reg, s) : 0;
    if (rc) {
        s->distribution_auto = old;
        return rn_fail_persist(c, rc);
    }
    rn_call_reply(c, NULL);
    return 0;
}

/* ---- CreateStream's optional settings -------------------------------------------------------------------- */

int rn_create_options_check(rn_call_t *c, const char *name, int on_demand)
{
    int64_t warm;
    if (rn_arg_int(c, "WarmThroughputMiBps", &warm) == 0) {
        if (!on_demand)
            return rn_error_set(&c->err, RN_AWS_INVALID_ARGUMENT,
                                "WarmThroughputMiBps can only be specified for streams in ON_DEMAND mode.");
        if (check_warm(c, warm) != 0)
            return -1;
    }
    if (check_distribution(c, rn_arg_str(c, "RecordDistributionStrategy"), on_demand, name) != 0)
        return -1;
    json_t *tags = json_object_get(c->in, "Tags");
    if (tags && rn_tags_check(c, tags, NULL, name) != 0)
        return -1;
    return 0;
}

int rn_create_options_apply(rn_call_t *c, rn_stream_t *s)
{
    /* Runs on the new stream before it is persisted (rn_registry_create_with):
     * sets, never saves. */
    int64_t v;
    if (rn_arg_int(c, "MaxRecordSizeInKiB", &v) == 0)
        s->max_record_kib = (int)v;
    if (rn_arg_int(c, "WarmThroughputMiBps", &v) == 0)
        s->warm_mibps = v;
    const char *strategy = rn_arg_str(c, "RecordDistributionStrategy");
    if (strategy && strcmp(strategy, "AUTO") == 0)
        s->distribution_auto = 1;
    json_t *tags = json_object_get(c->in, "Tags");
    const char *k;
    json_t *val;
    json_object_foreach(tags, k, val)
    {
        int rc = rn_tagset_put(&s->tags, k, json_string_value(val) ? json_string_value(val) : "");
        if (rc)
            return rc;
    }
    return 0;
}
