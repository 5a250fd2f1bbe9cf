/*
 * Hydration: fetching ranges of a file from the remote into its cache
 * file, by a pool of fetch threads. Readers of overlapping ranges share
 * one fetch; a reader that gives up (its request was interrupted) leaves,
 * and a fetch no one waits for any more is cancelled.
 */
#ifndef CD_FETCH_H
#define CD_FETCH_H

#include "common.h"

#include "remote/remote.h"
#include "store/store.h"
#include "util/stats.h"
#include "util/xfer.h"

/* The largest single remote read (the hydration chunk). */
#define FETCH_CHUNK (1u << 20)
/* Fetches are aligned to pages. */
#define FETCH_ALIGN 4096u

struct fetcher;

/* One reader waiting for a range; lives on the reader's stack. */
struct fetch_waiter {
	struct fetcher *f;		/* set by fetch_waiter_init */
	struct node *n;
	bool interrupted;		/* under n->lock */
	struct fetch_job *running;	/* job it runs itself; under n->lock */
};

/* Called when a fetch finds the remote version changed under it. */
typedef void (*fetch_stale_fn)(void *arg, uint64_t ino);

/* Called before each piece of a fetch lands in the cache, with its size,
 * so the cache can make room first (it may evict other files; it is
 * called with no lock held), and again with landed set once the piece
 * is in the cache or failed: until then it is room taken. */
typedef void (*fetch_admit_fn)(void *arg, uint64_t bytes, bool landed);

struct fetcher *fetch_new(struct store *s, struct remote *r,
			  struct stats *st, struct xfers *x, int threads,
			  fetch_stale_fn stale, void *arg);
/* Sets the admission hook, once, before the first fetch. */
void fetch_set_admit(struct fetcher *f, fetch_admit_fn fn, void *arg);
/* Cancels what is queued and joins the threads. */
void fetch_free(struct fetcher *f);

void fetch_waiter_init(struct fetch_waiter *w, struct fetcher *f,
		       struct node *n);
/*
 * Blocks until [off, off+len) of n is hydrated, fetching from the remote
 * object path what is missing. w may be NULL (not interruptible). Returns
 * 0, -EINTR if interrupted, or the fetch's error (-EIO, -ENOSPC, ...).
 */
int fetch_range(struct fetcher *f, struct node *n, const char *path,
		uint64_t off, uint64_t len, struct fetch_waiter *w) CD_WUR;
/* Queues fetches of what is missing in [off, off+len), without waiting. */
void fetch_prefetch(struct fetcher *f, struct node *n, const char *path,
		    uint64_t off, uint64_t len);
/* Wakes a waiter and makes its fetch_range() return -EINTR. Safe to call
 * from another thread at any time while the waiter is in fetch_range. */
void fetch_interrupt(struct fetch_waiter *w);

#endif
