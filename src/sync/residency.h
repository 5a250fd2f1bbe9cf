/*
 * Residency: which data is local, and who decides.
 *   - pin states (meta.h): pinned trees are hydrated and kept, by a keeper
 *     thread that also brings back what a remote change dropped;
 *   - hydrate and free of a file or tree, on request, with progress;
 *   - the cache limits (--cache-max, --min-free): before data lands in
 *     the cache, the least recently used clean, unpinned files not in use
 *     are evicted to make room. A fetch always proceeds (a reader is
 *     never failed for want of space it could not be given); a write
 *     that finds only dirty, pinned or open data waits for the uploads
 *     first and gets ENOSPC only if that did not make room.
 */
#ifndef CD_RESIDENCY_H
#define CD_RESIDENCY_H

#include "common.h"

#include "store/store.h"
#include "sync/fetch.h"
#include "sync/sync.h"
#include "util/stats.h"

struct residency_config {
	uint64_t cache_max;		/* bytes; 0: no limit */
	uint64_t min_free;		/* bytes kept free on the cache's disk */
	uint64_t write_wait_ms;		/* how long a write waits for uploads */
	uint64_t keep_interval_ms;	/* between two checks of pinned trees */
};

/* Progress of a tree operation. */
struct res_progress {
	uint64_t bytes_done;
	uint64_t bytes_total;
	uint64_t files_done;
	uint64_t files_total;
	const char *path;		/* the file in hand, or NULL */
};

/* Called as a tree operation goes; returning non-zero stops it. */
typedef int (*res_progress_fn)(void *arg, const struct res_progress *p);

struct residency;

/* Hooks the fetcher's admission: call it before the first fetch. */
struct residency *residency_new(struct store *s, struct fetcher *f,
				struct sync *y, struct stats *st,
				const char *cache_dir,
				const struct residency_config *cfg);
/* Starts the keeper of pinned trees. */
int residency_start(struct residency *r) CD_WUR;
/* Stops the keeper and any tree operation at its next step. */
void residency_stop(struct residency *r);
void residency_free(struct residency *r);
/* The device of the mount (for finding processes that map a file). */
void residency_set_mount_dev(struct residency *r, dev_t dev);

/* Sets the pin state of ino (a file or a tree); pinning wakes the keeper.
 * Does not wait for data: see residency_hydrate(). */
int residency_pin(struct residency *r, uint64_t ino, enum meta_pin pin) CD_WUR;
/* Hydrates the file or tree at ino fully (listing directories never
 * listed), calling fn as it goes. 0, -ECANCELED when fn or a stop ended
 * it, or the first error (its path in *failed, caller frees). *left, if
 * not NULL, gets the bytes not local at the end: what the cache limits
 * evicted again while the rest came. */
int residency_hydrate(struct residency *r, uint64_t ino, res_progress_fn fn,
		      void *arg, char **failed, uint64_t *left) CD_WUR;
/* Drops the local data of everything in sync at ino (file or tree).
 * Returns 0 or -EBUSY when something was kept; *report (caller frees)
 * says what was freed and lists what was kept and why. */
int residency_free_tree(struct residency *r, uint64_t ino,
			char **report) CD_WUR;

/* Before a write of bytes into the cache: 0, or -ENOSPC when the limits
 * cannot be kept even after the uploads were given a chance. */
int residency_admit_write(struct residency *r, uint64_t bytes) CD_WUR;
/* The same in two steps, for a request that waits holding no thread:
 * try says 0, or -EAGAIN to wait up to residency_write_wait_ms() for the
 * uploads (sync_idle), after which after() gives the answer, told the
 * outcome of that wait. */
int residency_admit_write_try(struct residency *r, uint64_t bytes) CD_WUR;
int residency_admit_write_after(struct residency *r, uint64_t bytes,
				int waited) CD_WUR;
uint64_t residency_write_wait_ms(const struct residency *r);

/* Whether bytes more can land in the cache with no eviction, under its
 * limits and the database's headroom: what a writer on the kernel's fast
 * path, which writes past the drive's admission, is given only then. */
bool residency_room_for(struct residency *r, uint64_t bytes);

/* For status: bytes held, the limits, and why the cache is full (NULL if
 * it is not). */
struct res_status {
	uint64_t used;
	uint64_t cache_max;
	uint64_t min_free;
	uint64_t disk_free;
	char full_reason[256];
};
void residency_status(struct residency *r, struct res_status *out);
/*
 * A file was closed for good (its node let go): where the cache was
 * found over its limit (what was left was in use), eviction goes on
 * now, rather than at the next fetch or write.
 */
void residency_released(struct residency *r);

#endif
