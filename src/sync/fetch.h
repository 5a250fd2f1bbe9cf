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
/* How many jobs one waiter waits for at a time. */
#define FETCH_BATCH 16

struct fetcher;

/* One reader waiting for a range; lives on the reader's stack. */
struct fetch_waiter {
	struct fetcher *f;		/* set by fetch_waiter_init */
	struct node *n;
	bool interrupted;		/* under n->lock */
	struct fetch_job *running;	/* job it runs itself; under n->lock */
};

/*
 * A request pending on a range (fetch_range_async): no thread waits for
 * it. Lives in the request; set up by fetch_async_init.
 */
struct fetch_async {
	struct fetcher *f;
	struct node *n;
	void (*fn)(void *arg, int rc);	/* told once the jobs are done */
	void *arg;
	struct fetch_async *next;	/* in n->asyncs; under n->lock */
	struct fetch_job *jobs[FETCH_BATCH]; /* what it waits for; under
					   n->lock */
	int count;
	int rc;				/* the jobs' outcome */
	bool waiting;			/* on n->asyncs; under n->lock */
	bool interrupted;		/* under n->lock */
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
/* Before the end: fetches not started are cancelled, and no request may
 * pend on a fetch any more (fetch_range_async: -ECANCELED). Fetches
 * running finish, and tell the requests pending on them. */
void fetch_stop_async(struct fetcher *f);
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
void fetch_async_init(struct fetch_async *a, struct fetcher *f,
		      struct node *n, void (*fn)(void *arg, int rc),
		      void *arg);
/*
 * Starts the fetch of what [off, off+len) of n lacks without waiting:
 * 0 if nothing is to be fetched, 1 if a->fn(a->arg, rc) will be called
 * once the jobs started are done (from a fetch thread, with no lock
 * held; rc 0 when they succeeded or were cancelled by a truncate: the
 * caller checks the range again, as more may be missing), -EINTR if a
 * was interrupted already, or -ECANCELED at shutdown.
 */
int fetch_range_async(struct fetch_async *a, const char *path, uint64_t off,
		      uint64_t len) CD_WUR;
/*
 * Leaves the jobs a waits for (a job no one else waits for is cancelled).
 * True if a was waiting: its fn will not be called. False if it was not
 * (fn is being or was called, or the range was never started: then its
 * start will return -EINTR). Safe from any thread.
 */
bool fetch_async_cancel(struct fetch_async *a);
/* Queues fetches of what is missing in [off, off+len), without waiting. */
void fetch_prefetch(struct fetcher *f, struct node *n, const char *path,
		    uint64_t off, uint64_t len);
/* Wakes a waiter and makes its fetch_range() return -EINTR. Safe to call
 * from another thread at any time while the waiter is in fetch_range. */
void fetch_interrupt(struct fetch_waiter *w);

#endif
