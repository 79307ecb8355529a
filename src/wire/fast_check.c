/* fast_check.c: the fast decoders' contract as a function, shared by the
 * unit test (tests/unit/test_wire_fast.c) and the fuzz target
 * (fuzz/fuzz_wire_fast.c): whenever a fast decoder accepts a body, the
 * generic decoder must accept it too and hold exactly the same values.
 * Not used by the server. */
#include "wire/fast.h"

#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* The fast string equals the tree's member (both absent, or same bytes). */
static int same_str(const rn_fast_str_t *f, const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    if (!f->p)
        return v == NULL;
    return json_is_string(v) && json_string_length(v) == f->len && memcmp(json_string_value(v), f->p, f->len) == 0;
}

/* The decoded blob equals the fast path's arena bytes. */
static int same_blob(const json_t *obj, const uint8_t *arena, size_t off, size_t len)
{
    const json_t *v = json_object_get(obj, "Data");
    if (!json_is_string(v))
        return 0;
    rn_buf_t b;
    rn_buf_init(&b, 0);
    int ok = rn_wire_blob(json_string_value(v), json_string_length(v), &b) == 0 && b.len == len &&
             (len == 0 || memcmp(b.data, arena + off, len) == 0);
    rn_buf_dispose(&b);
    return ok;
}

static int same_record(const rn_fast_record_t *r, const json_t *t, const uint8_t *arena)
{
    return json_is_object(t) && json_object_size(t) == 2u + (r->ehk.p != NULL) && same_str(&r->pk, t, "PartitionKey") &&
           same_str(&r->ehk, t, "ExplicitHashKey") && same_blob(t, arena, r->data_off, r->data_len);
}

static int compare(rn_op_t op, const void *fast, const uint8_t *arena, const json_t *t)
{
    switch (op) {
    case RN_OP_PutRecords: {
        const rn_fast_put_records_t *f = fast;
        const json_t *recs = json_object_get(t, "Records");
        if (json_object_size(t) != 2 || !same_str(&f->stream_name, t, "StreamName") || !json_is_array(recs) ||
            json_array_size(recs) != f->n || f->n < 1 || f->n > RN_FAST_MAX_RECORDS)
            return 0;
        for (size_t i = 0; i < f->n; i++)
            if (!same_record(&f->recs[i], json_array_get(recs, i), arena))
                return 0;
        return 1;
    }
    case RN_OP_PutRecord: {
        const rn_fast_put_record_t *f = fast;
        size_t members = 3u + (f->rec.ehk.p != NULL) + (f->sfo.p != NULL);
        return json_object_size(t) == members && same_str(&f->stream_name, t, "StreamName") &&
               same_str(&f->rec.pk, t, "PartitionKey") && same_str(&f->rec.ehk, t, "ExplicitHashKey") &&
               same_str(&f->sfo, t, "SequenceNumberForOrdering") &&
               same_blob(t, arena, f->rec.data_off, f->rec.data_len);
    }
    case RN_OP_GetRecords: {
        const rn_fast_get_records_t *f = fast;
        const json_t *lim = json_object_get(t, "Limit");
        if (json_object_size(t) != 1u + (f->has_limit != 0) || !same_str(&f->iterator, t, "ShardIterator"))
            return 0;
        return f->has_limit ? json_is_integer(lim) && json_integer_value(lim) == f->limit : lim == NULL;
    }
    case RN_OP_GetShardIterator: {
        const rn_fast_get_shard_iterator_t *f = fast;
        const json_t *ts = json_object_get(t, "Timestamp");
        size_t members = 3u + (f->starting_seq.p != NULL) + (f->has_timestamp != 0);
        if (json_object_size(t) != members || !same_str(&f->stream_name, t, "StreamName") ||
            !same_str(&f->shard_id, t, "ShardId") || !same_str(&f->type, t, "ShardIteratorType") ||
            !same_str(&f->starting_seq, t, "StartingSequenceNumber"))
            return 0;
        return f->has_timestamp ? json_is_number(ts) && json_number_value(ts) == f->timestamp : ts == NULL;
    }
    default:
        return 0;
    }
}

int rn_fast_crosscheck(rn_op_t op, const uint8_t *body, size_t len)
{
    union {
        rn_fast_put_records_t put_records;
        rn_fast_put_record_t put_record;
        rn_fast_get_records_t get_records;
        rn_fast_get_shard_iterator_t get_shard_iterator;
    } *f = malloc(sizeof *f);
    if (!f)
        return -1;
    rn_buf_t arena;
    rn_buf_init(&arena, 0);
    int rc;
    switch (op) {
    case RN_OP_PutRecords:
        rc = rn_fast_decode_put_records(body, len, &f->put_records, &arena);
        break;
    case RN_OP_PutRecord:
        rc = rn_fast_decode_put_record(body, len, &f->put_record, &arena);
        break;
    case RN_OP_GetRecords:
        rc = rn_fast_decode_get_records(body, len, &f->get_records);
        break;
    case RN_OP_GetShardIterator:
        rc = rn_fast_decode_get_shard_iterator(body, len, &f->get_shard_iterator);
        break;
    default:
        rc = RN_FAST_FALLBACK;
        break;
    }
    int result = 0;
    if (rc == 0) {
        json_t *t = NULL;
        rn_error_t err;
        if (rn_wire_decode(op, RN_PROTO_JSON, body, len, &t, &err) != 0)
            result = -1; /* the fast path accepted what the model refuses */
        else
            result = compare(op, f, arena.data, t) ? 1 : -1;
        json_decref(t);
    }
    rn_buf_dispose(&arena);
    free(f);
    return result;
}
