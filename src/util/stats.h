/*
 * Counters that users and tests read without a debugger (the
 * user.clonedrive.stats xattr of the mount root, and some of them in
 * clonedrive status --json). Updated with relaxed atomics from any thread.
 *
 * STATS_LIST is the one place a counter is named: the fields of struct
 * stats, the lines of the stats text and the counters of the JSON are
 * made from it, in its order. Adding a counter is one line here.
 */
#ifndef CD_STATS_H
#define CD_STATS_H

#include "common.h"

struct textbuf;

enum stat_flags {
	STAT_JSON = 1 << 0,	/* also a key of clonedrive status --json */
	STAT_SIGNED = 1 << 1,	/* a signed number (a VALUE that may be < 0) */
	STAT_HIDDEN = 1 << 2,	/* for the daemon itself: not in the text */
};

/*
 * Every key of the stats text, in the order of its lines:
 * COUNTER(name, flags) is a field of struct stats, counted as things
 * happen; VALUE(name, flags) is worked out when the text is asked for
 * (it has no field in struct stats; whoever makes the text fills it in
 * the struct stats_view).
 */
#define STATS_LIST(COUNTER, VALUE)					\
	/* read from the remote to hydrate */				\
	COUNTER(fetched_bytes, STAT_JSON)				\
	/* remote reads issued */					\
	COUNTER(fetch_requests, 0)					\
	/* sent to the remote by uploads */				\
	COUNTER(uploaded_bytes, STAT_JSON)				\
	/* files uploaded */						\
	COUNTER(uploads_done, 0)					\
	/* data held in the cache */					\
	VALUE(cache_bytes, 0)						\
	/* remote operations not done yet (-errno if unknown) */	\
	VALUE(uploads_pending, STAT_SIGNED)				\
	/* fetches no one waited for any more */			\
	COUNTER(fetches_cancelled, 0)					\
	/* remote operations that failed */				\
	COUNTER(remote_errors, 0)					\
	/* 1 while the remote is unreachable */				\
	COUNTER(remote_down, 0)						\
	/* remote polls completed */					\
	COUNTER(polls, 0)						\
	/* directories listed ahead, before their first use */		\
	COUNTER(listed_ahead, 0)					\
	/* names listed without their attributes (to a walker) */	\
	COUNTER(listed_bare, 0)						\
	/* written by programs into the drive */			\
	COUNTER(written_bytes, 0)					\
	/* cache data dropped to make room */				\
	COUNTER(evicted_bytes, STAT_JSON)				\
	/* files whose cache data was dropped to make room */		\
	COUNTER(evicted_files, 0)					\
	/* dropped by free */						\
	COUNTER(freed_bytes, 0)						\
	/* writes given ENOSPC: cache full */				\
	COUNTER(writes_refused, 0)					\
	/* reads refused by the program policy */			\
	COUNTER(hydrations_blocked, STAT_JSON)				\
	/* files written as copies of local files */			\
	COUNTER(clones_detected, 0)					\
	/* their data dropped once uploaded */				\
	COUNTER(clone_freed_bytes, 0)					\
	/* bytes of copies put in the cache */				\
	COUNTER(clone_stored_bytes, 0)					\
	/* bytes of copies never stored */				\
	COUNTER(clone_avoided_bytes, 0)					\
	/* copies stored: their source was opened before the upload */	\
	COUNTER(guard_snapshots, 0)					\
	/* copies whose source changed first */				\
	COUNTER(clone_errors, 0)					\
	/* copies made by the remote itself */				\
	COUNTER(server_copies, 0)					\
	/* bytes of those copies */					\
	COUNTER(server_copied_bytes, 0)					\
	/* local versions kept under a conflict name: the remote's	\
	   changed too */						\
	COUNTER(conflicts, 0)						\
	/* requests waiting now, holding no thread */			\
	VALUE(requests_pending, 0)					\
	/* the most of them at once */					\
	VALUE(requests_pending_peak, 0)					\
	/* requests that waited holding no thread */			\
	COUNTER(requests_pended, 0)					\
	/* waits done in a worker: over the limit of requests pending */\
	COUNTER(requests_waited_in_place, 0)				\
	/* opens given the kernel's fast path (passthrough) */	\
	COUNTER(fastpath_opens, 0)					\
	/* opens that were not: the fastpath_veto.* lines say why */	\
	COUNTER(fastpath_vetoes, 0)					\
	/* entries added or changed by listings (a generation for the	\
	   keeper of pinned files) */					\
	COUNTER(remote_changes, STAT_HIDDEN)				\
	/* the daemon's process id */					\
	VALUE(pid, STAT_SIGNED)

#define STATS_FIELD_(name, flags) uint64_t name;
#define STATS_NONE_(name, flags)

/* The counters, zeroed at mount. */
struct stats {
	STATS_LIST(STATS_FIELD_, STATS_NONE_)
};

/* Every key of the text at one time: counters and values. A VALUE flagged
 * STAT_SIGNED holds an int64_t cast to uint64_t. */
struct stats_view {
	STATS_LIST(STATS_FIELD_, STATS_FIELD_)
};

#define stats_add(st, field, v) \
	__atomic_add_fetch(&(st)->field, (v), __ATOMIC_RELAXED)
#define stats_set(st, field, v) \
	__atomic_store_n(&(st)->field, (v), __ATOMIC_RELAXED)
#define stats_get(st, field) __atomic_load_n(&(st)->field, __ATOMIC_RELAXED)

/* Reads every counter of st into v, each with a relaxed load; the
 * VALUEs of v are 0, for the caller to fill in. */
void stats_read(const struct stats *st, struct stats_view *v);
/* Adds the stats text of v to o: a "name=value\n" line per key of
 * STATS_LIST but those flagged STAT_HIDDEN, in its order. */
void stats_add_text(const struct stats_view *v, struct textbuf *o);
/* Adds ,"name":value to o for each key flagged STAT_JSON, in the order
 * of STATS_LIST: the counters in an object clonedrive status makes. */
void stats_add_json(const struct stats_view *v, struct textbuf *o);

#endif
