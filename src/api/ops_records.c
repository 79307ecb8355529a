/* ops_records.c: the record family: PutRecord, PutRecords,
 * GetShardIterator, GetRecords.
 *
 * Writes append to the shard logs at once (the loop thread, page cache) and
 * answer from the store's group-commit callback, so nothing is acknowledged
 * before it is durable under the fsync policy; reads see only committed
 * records (store.h's visibility rule). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/seqnum.h"
#include "util/log.h"
#include "wire/b64.h"

#define PUT_RECORDS_MAX_BYTES (10u * 1024 * 1024)
#define GET_RECORDS_MAX_BYTES (10u * 1024 * 1024)

static void seq_text(const rn_shard_t *sh, uint64_t counter, int64_t arrival_ms, char *buf)
{
    rn_seqnum_t sn = {.shard_created_s = (uint64_t)(sh->created_ms / 1000),
                      .shard_index = sh->index,
                      .counter = counter,
                      .arrival_s = (uint64_t)(arrival_ms / 1000)};
    rn_seqnum_format(&sn, buf);
}

/* A stream that accepts writes: CREATING ones are "not found" (§4.1). */
static int writable_stream(rn_call_t *c, rn_stream_t **s)
{
    if (rn_call_stream(c, s) != 0)
        return -1;
    if ((*s)->status == RN_STREAM_CREATING)
        return rn_error_set(&c->err, RN_AWS_STREAM_NOT_FOUND, (*s)->name, c->account);
    return 0;
}

/* Route one record: the hash key from ExplicitHashKey or MD5 of the key. */
static int route(rn_call_t *c, rn_stream_t *s, const char *pk, size_t pk_len, const char *ehk,
                 rn_shard_t **out)
{
    rn_u128 h;
    if (ehk) {
        int rc = rn_u128_parse(ehk, strlen(ehk), &h);
        if (rc)
            return rn_error_set(&c->err, RN_AWS_EXPLICIT_HASH_KEY, ehk);
    } else {
        h = rn_hashkey_of(pk, pk_len);
    }
    *out = rn_stream_route(s, h);
    if (!*out)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    return 0;
}

static int missing_pk(rn_call_t *c, const char *path)
{
    return rn_error_set(&c->err, RN_AWS_VALIDATION,
                        "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
                        "Member must not be null",
                        path);
}

/* Completion of a write: answer with the prepared output or fail. */
static void write_done(void *ud, int status)
{
    rn_call_t *c = ud;
    if (status < 0) {
        rn_error("write not made durable: %s", rn_strerror(status));
        rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        rn_call_fail(c);
        return;
    }
    json_t *out = c->op_state;
    c->op_state = NULL;
    rn_call_reply(c, out);
}

static int commit_then_reply(rn_call_t *c, json_t *out)
{
    c->op_state = out;
    c->op_state_free = (void (*)(void *))json_decref;
    if (rn_store_commit(rn_registry_store(c->api->reg), write_done, c) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    return RN_CALL_PENDING;
}

/* ---- PutRecord ------------------------------------------------------------------- */

int rn_op_PutRecord(rn_call_t *c)
{
    rn_stream_t *s;
    if (writable_stream(c, &s) != 0)
        return -1;
    const char *pk = rn_arg_str(c, "PartitionKey");
    const char *data64 = rn_arg_str(c, "Data");
    const char *ehk = rn_arg_str(c, "ExplicitHashKey");
    const char *sfo = rn_arg_str(c, "SequenceNumberForOrdering");
    if (!pk)
        return missing_pk(c, "partitionKey");
    if (sfo) {
        rn_seqnum_t sn;
        if (strcmp(sfo, "0") != 0 && rn_seqnum_parse(sfo, strlen(sfo), &sn) != 0)
            return rn_error_set(&c->err, RN_AWS_BAD_SEQ_FOR_ORDERING, sfo, s->name, c->account);
    }
    rn_buf_t data;
    rn_buf_init(&data, 0);
    if (data64 && rn_wire_blob(data64, strlen(data64), &data) != 0) {
        rn_buf_dispose(&data);
        return rn_error_set(&c->err, RN_AWS_SERIALIZATION_BARE);
    }
    size_t pk_len = json_string_length(json_object_get(c->in, "PartitionKey"));
    size_t size = data.len + pk_len;
    if (size > (size_t)s->max_record_kib * 1024) {
        rn_buf_dispose(&data);
        return rn_error_set(&c->err, RN_AWS_RECORD_TOO_LARGE, size, s->max_record_kib, s->name, c->account);
    }
    rn_shard_t *sh;
    rn_log_t *log;
    if (route(c, s, pk, pk_len, ehk, &sh) != 0 || rn_shard_log(c->api->reg, s, sh, &log) != 0) {
        rn_buf_dispose(&data);
        if (c->err.code == RN_AWS_NONE)
            rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
        return -1;
    }
    rn_record_in_t rec = {.pk = (const uint8_t *)pk, .pk_len = pk_len, .data = data.data, .data_len = data.len};
    uint64_t counter;
    int rc = rn_log_append(log, &rec, 1, c->now_ms, &counter);
    rn_buf_dispose(&data);
    if (rc) {
        rn_error("append to %s failed: %s", s->name, rn_strerror(rc));
        return rn_error_set(&c->err, rc == RN_ENOSPC ? RN_AWS_SERVICE_UNAVAILABLE : RN_AWS_INTERNAL_FAILURE,
                            "The server is out of disk space.");
    }
    char id[32], seq[64];
    rn_format_shard_id(sh->index, id, sizeof id);
    seq_text(sh, counter, c->now_ms, seq);
    return commit_then_reply(c, json_pack("{s:s,s:s}", "ShardId", id, "SequenceNumber", seq));
}

/* ---- PutRecords ------------------------------------------------------------------- */

int rn_op_PutRecords(rn_call_t *c)
{
    rn_stream_t *s;
    if (writable_stream(c, &s) != 0)
        return -1;
    json_t *recs = json_object_get(c->in, "Records");
    size_t n = json_array_size(recs);

    /* Validate everything first: a bad request changes nothing. */
    size_t total = 0;
    rn_shard_t **shard_of = calloc(n ? n : 1, sizeof *shard_of);
    if (!shard_of)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *r = json_array_get(recs, i);
        const char *pk = json_string_value(json_object_get(r, "PartitionKey"));
        const char *data64 = json_string_value(json_object_get(r, "Data"));
        if (!pk) {
            char path[64];
            snprintf(path, sizeof path, "records.%zu.member.partitionKey", i + 1);
            rc = missing_pk(c, path);
            break;
        }
        size_t dlen = data64 ? strlen(data64) / 4 * 3 : 0; /* upper bound; exact below */
        if (data64 && dlen) {
            size_t l = strlen(data64);
            dlen -= (l >= 1 && data64[l - 1] == '=') + (l >= 2 && data64[l - 2] == '=');
        }
        size_t pk_len = json_string_length(json_object_get(r, "PartitionKey"));
        size_t size = dlen + pk_len;
        if (size > (size_t)s->max_record_kib * 1024) {
            rc = rn_error_set(&c->err, RN_AWS_RECORD_TOO_LARGE, size, s->max_record_kib, s->name, c->account);
            break;
        }
        total += size;
        rc = route(c, s, pk, pk_len, json_string_value(json_object_get(r, "ExplicitHashKey")), &shard_of[i]);
    }
    if (rc == 0 && total > PUT_RECORDS_MAX_BYTES)
        rc = rn_error_set(&c->err, RN_AWS_RECORDS_TOO_LARGE);
    if (rc) {
        free(shard_of);
        return -1;
    }

    json_t *results = json_array();
    int failed = 0;
    rn_buf_t data;
    rn_buf_init(&data, 0);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(recs, i);
        const char *pk = json_string_value(json_object_get(r, "PartitionKey"));
        const char *data64 = json_string_value(json_object_get(r, "Data"));
        rn_shard_t *sh = shard_of[i];
        rn_log_t *log;
        uint64_t counter;
        rn_buf_reset(&data);
        int arc = data64 ? rn_wire_blob(data64, strlen(data64), &data) : 0;
        if (arc == 0)
            arc = rn_shard_log(c->api->reg, s, sh, &log);
        if (arc == 0) {
            rn_record_in_t rec = {.pk = (const uint8_t *)pk,
                                  .pk_len = json_string_length(json_object_get(r, "PartitionKey")),
                                  .data = data.data,
                                  .data_len = data.len};
            arc = rn_log_append(log, &rec, 1, c->now_ms, &counter);
        }
        if (arc) {
            failed++;
            json_array_append_new(results, json_pack("{s:s,s:s}", "ErrorCode", "InternalFailure",
                                                     "ErrorMessage", "Internal Service Failure"));
            continue;
        }
        char id[32], seq[64];
        rn_format_shard_id(sh->index, id, sizeof id);
        seq_text(sh, counter, c->now_ms, seq);
        json_array_append_new(results, json_pack("{s:s,s:s}", "SequenceNumber", seq, "ShardId", id));
    }
    rn_buf_dispose(&data);
    free(shard_of);
    return commit_then_reply(c, json_pack("{s:i,s:o}", "FailedRecordCount", failed, "Records", results));
}

/* ---- GetShardIterator ------------------------------------------------------------- */

/* A readable stream's shard by id, with AWS's two not-found messages. */
static int find_shard(rn_call_t *c, const char *shard_id, rn_stream_t **s, rn_shard_t **sh)
{
    const char *name = rn_arg_str(c, "StreamName");
    char aname[256], aregion[64], aaccount[64];
    const char *arn = rn_arg_str(c, "StreamARN");
    if (!name && arn && rn_parse_stream_arn(arn, aregion, sizeof aregion, aaccount, sizeof aaccount, aname,
                                            sizeof aname) == 0)
        name = aname;
    uint32_t idx;
    if (rn_parse_shard_id(shard_id, &idx) != 0)
        return rn_error_set(&c->err, RN_AWS_SHARD_UNPARSEABLE, shard_id, name ? name : "", c->account);
    if (rn_call_stream(c, s) != 0) {
        if (c->err.code != RN_AWS_STREAM_NOT_FOUND)
            return -1;
    } else if ((*s)->status != RN_STREAM_CREATING) {
        for (uint32_t i = 0; i < (*s)->n_shards; i++) {
            if ((*s)->shards[i].index == idx) {
                *sh = &(*s)->shards[i];
                return 0;
            }
        }
    }
    char id[32];
    rn_format_shard_id(idx, id, sizeof id);
    return rn_error_set(&c->err, RN_AWS_SHARD_NOT_FOUND, id, name ? name : "", c->account);
}

int rn_op_GetShardIterator(rn_call_t *c)
{
    rn_stream_t *s = NULL;
    rn_shard_t *sh = NULL;
    if (find_shard(c, rn_arg_str(c, "ShardId"), &s, &sh) != 0)
        return -1;
    const char *type = rn_arg_str(c, "ShardIteratorType");
    const char *seq = rn_arg_str(c, "StartingSequenceNumber");
    json_t *tsj = json_object_get(c->in, "Timestamp");
    int by_seq = strcmp(type, "AT_SEQUENCE_NUMBER") == 0 || strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0;
    if (by_seq && !seq)
        return rn_error_set(&c->err, RN_AWS_ITER_WITHOUT_SEQ, type);
    if (!by_seq && seq)
        return rn_error_set(&c->err, RN_AWS_ITER_WITH_SEQ, type);

    rn_log_t *log;
    if (rn_shard_log(c->api->reg, s, sh, &log) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    char id[32];
    rn_format_shard_id(sh->index, id, sizeof id);
    uint64_t pos;
    if (strcmp(type, "TRIM_HORIZON") == 0) {
        pos = rn_log_first(log);
    } else if (strcmp(type, "LATEST") == 0) {
        pos = sh->closed_ms ? sh->ending_counter + 1 : rn_log_next(log);
    } else if (strcmp(type, "AT_TIMESTAMP") == 0) {
        if (!tsj)
            return rn_error_set(&c->err, RN_AWS_ITER_NO_TIMESTAMP);
        int64_t ts = (int64_t)llround(json_number_value(tsj) * 1000.0);
        if (ts > c->now_ms)
            return rn_error_set(&c->err, RN_AWS_ITER_TS_FUTURE, (long long)ts, (long long)c->now_ms);
        if (rn_log_seek_time(log, ts, &pos) != 0)
            return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    } else {
        rn_seqnum_t sn;
        if (rn_seqnum_parse(seq, strlen(seq), &sn) != 0)
            return rn_error_set(&c->err, RN_AWS_BAD_STARTING_SEQ, seq, id, s->name, c->account);
        if (sn.shard_index != sh->index) {
            char other[32];
            rn_format_shard_id(sn.shard_index, other, sizeof other);
            return rn_error_set(&c->err, RN_AWS_SEQ_OTHER_SHARD, other, id);
        }
        if (sn.shard_created_s != (uint64_t)(sh->created_ms / 1000))
            return rn_error_set(&c->err, RN_AWS_SEQ_OTHER_STREAM, seq, id, s->name, c->account);
        pos = sn.counter + (type[1] == 'F'); /* AFTER_... */
        if (pos < rn_log_first(log))
            pos = rn_log_first(log);
    }
    rn_iter_t it = {.stream_id = s->id,
                    .stream_created_ms = s->created_ms,
                    .shard_index = sh->index,
                    .position = pos,
                    .issued_ms = c->now_ms};
    snprintf(it.stream_name, sizeof it.stream_name, "%s", s->name);
    char tok[RN_ITERATOR_MAX + 1];
    if (rn_iter_seal(rn_registry_iter_key(c->api->reg), &it, tok) < 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    rn_call_reply(c, json_pack("{s:s}", "ShardIterator", tok));
    return 0;
}

/* ---- GetRecords --------------------------------------------------------------------- */

int rn_op_GetRecords(rn_call_t *c)
{
    const char *tok = rn_arg_str(c, "ShardIterator");
    rn_iter_t it;
    if (rn_iter_open(rn_registry_iter_key(c->api->reg), tok, strlen(tok), &it) != 0 ||
        it.position > RN_SEQNUM_COUNTER_MAX + 1)
        return rn_error_set(&c->err, RN_AWS_INVALID_ITERATOR);
    if (c->now_ms - it.issued_ms > RN_ITERATOR_TTL_MS) {
        char a[64], b[64];
        rn_format_java_date(it.issued_ms, a, sizeof a);
        rn_format_java_date(c->now_ms, b, sizeof b);
        return rn_error_set(&c->err, RN_AWS_EXPIRED_ITERATOR, a, b);
    }
    char id[32];
    rn_format_shard_id(it.shard_index, id, sizeof id);
    rn_stream_t *s = rn_registry_find_id(c->api->reg, it.stream_id);
    rn_shard_t *sh = NULL;
    if (s && s->status != RN_STREAM_CREATING)
        for (uint32_t i = 0; i < s->n_shards; i++)
            if (s->shards[i].index == it.shard_index)
                sh = &s->shards[i];
    if (!sh)
        return rn_error_set(&c->err, RN_AWS_SHARD_NOT_FOUND, id, it.stream_name, c->account);
    int64_t limit = 10000;
    rn_arg_int(c, "Limit", &limit);

    rn_log_t *log;
    if (rn_shard_log(c->api->reg, s, sh, &log) != 0)
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    uint64_t pos = it.position;
    if (pos < rn_log_first(log))
        pos = rn_log_first(log);

    rn_record_out_t *recs = malloc((size_t)limit * sizeof *recs);
    rn_buf_t scratch;
    rn_buf_init(&scratch, 0);
    size_t n = 0;
    uint64_t next = pos;
    int rc = recs ? rn_log_read(log, pos, (size_t)limit, GET_RECORDS_MAX_BYTES, &scratch, recs, &n, &next)
                  : RN_ENOMEM;
    if (rc) {
        free(recs);
        rn_buf_dispose(&scratch);
        rn_error("read of %s %s failed: %s", s->name, id, rn_strerror(rc));
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    json_t *arr = json_array();
    char *b64 = NULL;
    size_t b64cap = 0;
    for (size_t i = 0; i < n; i++) {
        char seq[64];
        seq_text(sh, recs[i].counter, recs[i].arrival_ms, seq);
        size_t need = rn_b64_encoded_len(recs[i].data_len) + 1;
        if (need > b64cap) {
            char *p = realloc(b64, need);
            if (!p) {
                rc = RN_ENOMEM;
                break;
            }
            b64 = p;
            b64cap = need;
        }
        size_t bl = rn_b64_encode(recs[i].data, recs[i].data_len, b64);
        json_t *r = json_object();
        json_object_set_new(r, "SequenceNumber", json_string(seq));
        json_object_set_new(r, "ApproximateArrivalTimestamp", rn_json_ts(recs[i].arrival_ms));
        json_object_set_new(r, "Data", json_stringn_nocheck(b64, bl));
        json_object_set_new(r, "PartitionKey", json_stringn((const char *)recs[i].pk, recs[i].pk_len));
        json_array_append_new(arr, r);
    }
    free(b64);
    int64_t behind = 0;
    if (n > 0 && next < rn_log_committed(log))
        behind = c->now_ms - recs[n - 1].arrival_ms;
    if (behind < 0)
        behind = 0;
    free(recs);
    rn_buf_dispose(&scratch);
    if (rc) {
        json_decref(arr);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }

    it.position = next;
    it.issued_ms = c->now_ms;
    char ntok[RN_ITERATOR_MAX + 1];
    if (rn_iter_seal(rn_registry_iter_key(c->api->reg), &it, ntok) < 0) {
        json_decref(arr);
        return rn_error_set(&c->err, RN_AWS_INTERNAL_FAILURE);
    }
    rn_call_reply(c, json_pack("{s:o,s:s,s:I}", "Records", arr, "NextShardIterator", ntok,
                               "MillisBehindLatest", (json_int_t)behind));
    return 0;
}
