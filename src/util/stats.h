/*
 * Counters that users and tests read without a debugger (the
 * user.clonedrive.stats xattr of the mount root). Updated with relaxed
 * atomics from any thread.
 */
#ifndef CD_STATS_H
#define CD_STATS_H

#include "common.h"

struct stats {
	uint64_t fetched_bytes;		/* read from the remote to hydrate */
	uint64_t fetch_requests;	/* remote reads issued */
	uint64_t uploaded_bytes;	/* sent to the remote by uploads */
	uint64_t uploads_done;		/* files uploaded */
	uint64_t remote_errors;		/* remote operations that failed */
	uint64_t fetches_cancelled;	/* fetches no one waited for any more */
	uint64_t polls;			/* remote polls completed */
	uint64_t remote_down;		/* 1 while the remote is unreachable */
	uint64_t written_bytes;		/* written by programs into the drive */
	uint64_t evicted_bytes;		/* cache data dropped to make room */
	uint64_t evicted_files;
	uint64_t freed_bytes;		/* dropped by free */
	uint64_t writes_refused;	/* writes given ENOSPC: cache full */
	uint64_t hydrations_blocked;	/* reads refused by the program policy */
	uint64_t remote_changes;	/* entries added or changed by listings */
	uint64_t clones_detected;	/* files written as copies of local files */
	uint64_t clone_freed_bytes;	/* their data dropped once uploaded */
	uint64_t clone_stored_bytes;	/* bytes of copies put in the cache */
	uint64_t clone_avoided_bytes;	/* bytes of copies never stored */
	uint64_t guard_snapshots;	/* copies stored because their source
					   was opened before the upload */
	uint64_t clone_errors;		/* copies whose source changed first */
	uint64_t server_copies;		/* copies made by the remote itself */
	uint64_t server_copied_bytes;
	uint64_t conflicts;		/* local versions kept under a conflict
					   name: the remote's changed too */
	uint64_t pended;		/* requests that waited holding no
					   thread */
	uint64_t pend_refused;		/* waits done in place: over the limit
					   of requests pending */
};

#define stats_add(st, field, v) \
	__atomic_add_fetch(&(st)->field, (v), __ATOMIC_RELAXED)
#define stats_set(st, field, v) \
	__atomic_store_n(&(st)->field, (v), __ATOMIC_RELAXED)
#define stats_get(st, field) __atomic_load_n(&(st)->field, __ATOMIC_RELAXED)

#endif
