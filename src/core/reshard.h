/* reshard.h: changing a stream's shards: split, merge, uniform scaling, and
 * the lineage queries readers need (KINESIS_CONTRACT §3.3, §4.5).
 *
 * Every change closes parents and appends children to s->shards:
 *  - a parent closes with closed_ms = T and ending_counter = the last counter
 *    its log has assigned (rn_log_next - 1; 0 for a shard that never held a
 *    record), so readers know where it ends even if that record is still
 *    waiting for its group commit;
 *  - children get fresh indices (one more than the largest index the stream
 *    has ever had: ids never repeat), created_ms = T and exact hash ranges.
 * T is the change time, raised when needed to the second after the newest
 * parent's creation second, so every child's sequence numbers (whose most
 * significant field is the shard's creation second) sort after its
 * parents'. A parent therefore may close, and a child start, up to one second
 * after the request; parent and children still meet at T with no gap.
 *
 * Functions here only change memory; they never persist (the caller wraps
 * them in rn_stream_undo_begin / rn_registry_commit_shards, model.h, which
 * persists or puts everything back) and never check AWS's rules (the
 * api layer does, with AWS's messages). Each is all-or-nothing: on error the
 * stream is unchanged. s->shards may be reallocated: callers must not keep
 * rn_shard_t pointers across a call (look shards up by index again).
 *
 * Loop thread only, like the registry. */
#ifndef RN_RESHARD_H
#define RN_RESHARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/hashkey.h"
#include "core/model.h"

/* A shard has at most two children (a split's). */
#define RN_SHARD_CHILDREN_MAX 2

/* The shard with this index, or NULL. */
rn_shard_t *rn_stream_shard(rn_stream_t *s, uint32_t index);
const rn_shard_t *rn_stream_shard_const(const rn_stream_t *s, uint32_t index);

/* Number of open shards. */
uint32_t rn_stream_open_count(const rn_stream_t *s);

/* Split the open shard with index `index` at hash key k: the lower child
 * covers [start, k-1], the upper [k, end], both with ParentShardId = index.
 * Requires start < k <= end (AWS's stricter rule is the caller's). On
 * success *lower / *upper (either may be NULL) get the children's indices.
 * Returns 0, RN_EINVAL (no such open shard, or k outside it), RN_ENOMEM, or
 * an error opening the parent's log. */
int rn_reshard_split(rn_registry_t *r, rn_stream_t *s, uint32_t index, rn_u128 k, int64_t now_ms,
                     uint32_t *lower, uint32_t *upper);

/* Merge the open shards `index` (ParentShardId) and `adjacent`
 * (AdjacentParentShardId), whose ranges must touch (either order); the child
 * covers their union. *child (may be NULL) gets its index. Returns 0,
 * RN_EINVAL (not both open, or not adjacent), RN_ENOMEM, or a log error. */
int rn_reshard_merge(rn_registry_t *r, rn_stream_t *s, uint32_t index, uint32_t adjacent, int64_t now_ms,
                     uint32_t *child);

/* Uniform scaling to `target` open shards with the equal-width layout of a
 * new `target`-shard stream (rn_hashkey_split_even). Method, in one step:
 *   1. every open shard that contains target boundaries strictly inside is
 *      split at them, one after another (a chain of splits, each child one
 *      parent);
 *   2. the pieces inside each target range are merged left to right
 *      (each merge child two adjacent parents).
 * Open shards that already equal a target range are left alone. Shards that
 * are created and closed within the call (intermediates) never held a record.
 * *created (may be NULL) gets the number of shards added. Returns 0,
 * RN_EINVAL (target 0, or no open shard), RN_ENOMEM, or a log error. */
int rn_reshard_uniform(rn_registry_t *r, rn_stream_t *s, uint32_t target, int64_t now_ms,
                       uint32_t *created);

/* The children of sh (shards naming it as ParentShardId or
 * AdjacentParentShardId), in index order, into out[0..*n) (room for
 * RN_SHARD_CHILDREN_MAX). Pointers into s->shards, valid until the stream's
 * shards next change. Returns 0, or RN_ENOENT when sh has no children (it is
 * open) with *n = 0. */
int rn_shard_children(const rn_stream_t *s, const rn_shard_t *sh, const rn_shard_t **out, size_t *n);

/* Has a reader of sh whose next position is `next` (the counter it would
 * read next) passed the shard's end? True when sh is closed, next >
 * ending_counter (every record the shard will ever hold has been returned:
 * records up to ending_counter still waiting for their group commit keep
 * next at or below it) and sh has children. GetRecords then answers
 * ChildShards and no NextShardIterator (KINESIS_CONTRACT §3.6). */
int rn_shard_ended(const rn_stream_t *s, const rn_shard_t *sh, uint64_t next);

/* Is sh at the trim horizon, i.e. does no parent of it remain in the stream
 * (a root shard, or one whose parents have expired)? */
int rn_shard_at_trim_horizon(const rn_stream_t *s, const rn_shard_t *sh);

/* UpdateShardCount's rolling limit (RN_SCALING_MAX calls per 24 hours),
 * tracked in s->scaling_ms: how many calls fall in (now - 24 h, now], and
 * recording one at now (replacing the oldest entry). */
#define RN_SCALING_WINDOW_MS (24LL * 3600 * 1000)
int rn_stream_scalings(const rn_stream_t *s, int64_t now_ms);
void rn_stream_note_scaling(rn_stream_t *s, int64_t now_ms);

#endif
