/*
 * The fetch pool.
 *
 * A job fetches one range of at most FETCH_CHUNK bytes of one node. Jobs
 * in flight hang off node->jobs (under node->lock) so a reader first
 * joins the jobs that already cover its range and creates jobs only for
 * the rest. Jobs wait in two queues (under fetcher->lock): demand jobs,
 * which someone waits for, before prefetch jobs of readahead.
 *
 * A reader that waits for a job no fetch thread has started takes it off
 * the queue and runs it itself: one fewer pair of thread switches on the
 * path of every cache miss.
 *
 * A job is reference-counted under its node's lock: one reference for
 * the queue/fetch thread, one per waiter. When the last waiter of a
 * demand job leaves early, the job is marked cancelled; the fetch thread
 * skips it, or stops it between two pieces of its remote read.
 *
 * A job covers only bytes that are not present, and nothing but the job
 * writes there until it marks them present, so the remote's bytes are
 * written straight into the cache file (in the kernel where the backend
 * can). Truncating or resetting a file first bumps node->fetch_epoch and
 * waits for node->fetching to drop to 0: jobs of an old epoch stop at the
 * next piece and report -ECANCELED, and their readers simply ask again.
 *
 * This is the one module besides the store that sees inside a node
 * (store/store_int.h): its jobs, pending requests and extents. It touches
 * them only under the node's lock (store_node_lock, asserted in debug
 * builds), except the node's immutable inode and cache file and the
 * atomic fetch_epoch.
 */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>

#include "store/store_int.h"
#include "sync/fetch.h"
#include "util/log.h"
#include "util/util.h"

/* Remote reads are issued in pieces this large, to notice cancels. */
#define FETCH_PIECE (256u << 10)

struct fetch_job {
	struct fetch_job *next;		/* in node->jobs; under node->lock */
	struct fetch_job *qnext;	/* in a queue; under fetcher->lock */
	struct node *n;			/* holds a node reference */
	char *path;			/* remote object */
	char etag[REMOTE_ETAG_MAX];	/* version to fetch */
	uint64_t start;			/* range [start, end) */
	uint64_t end;
	int refs;			/* under node->lock */
	int waiters;			/* under node->lock */
	bool prefetch;			/* readahead: not cancelled by leavers */
	bool queued;			/* in a queue; under fetcher->lock */
	uint64_t epoch;			/* node->fetch_epoch at creation */
	bool cancelled;			/* atomic */
	bool done;			/* under node->lock */
	int rc;				/* result, once done */
	struct xfer *xfer;		/* the hydration of the file */
};

struct fetch_queue {
	struct fetch_job *head;
	struct fetch_job *tail;
};

struct fetcher {
	struct store *store;
	struct remote *remote;
	struct stats *stats;
	fetch_stale_fn stale;
	void *stale_arg;
	struct xfers *xfers;
	fetch_admit_fn admit;		/* set once before use, or NULL */
	void *admit_arg;
	pthread_mutex_t lock;		/* protects the queues and stop */
	pthread_cond_t cond;		/* work queued, or stop */
	struct fetch_queue demand;
	struct fetch_queue prefetch;
	bool stop;
	bool no_async;			/* no new pending fetches */
	int nthreads;
	pthread_t *threads;
};

static void queue_push(struct fetch_queue *q, struct fetch_job *j)
{
	j->qnext = NULL;
	j->queued = true;
	if (q->tail)
		q->tail->qnext = j;
	else
		q->head = j;
	q->tail = j;
}

static struct fetch_job *queue_pop(struct fetch_queue *q)
{
	struct fetch_job *j = q->head;

	if (j) {
		q->head = j->qnext;
		if (!q->head)
			q->tail = NULL;
		j->queued = false;
	}
	return j;
}

/* Takes j out of q if it is still waiting there; under fetcher->lock. */
static bool queue_remove(struct fetch_queue *q, struct fetch_job *j)
{
	struct fetch_job **pp, *prev = NULL;

	for (pp = &q->head; *pp; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp == j) {
			*pp = j->qnext;
			if (q->tail == j)
				q->tail = prev;
			j->queued = false;
			return true;
		}
	}
	return false;
}

/* Drops a job reference; under n->lock. Returns true if it was freed. */
static bool job_unref(struct fetch_job *j)
{
	store_node_assert_locked(j->n);
	if (--j->refs > 0)
		return false;
	free(j->path);
	free(j);
	return true;
}

/* Takes j off its node's list of jobs in flight; under n->lock. */
static void job_unlink(struct fetch_job *j)
{
	struct fetch_job **pp;

	store_node_assert_locked(j->n);
	for (pp = &j->n->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			return;
		}
	}
}

/* Whether j was cancelled, by its waiters or by a truncate/reset. */
static bool job_cancelled(struct fetch_job *j)
{
	return __atomic_load_n(&j->cancelled, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&j->n->fetch_epoch, __ATOMIC_RELAXED) !=
		       j->epoch;
}

/* Performs the remote read of one job into the cache file. */
static int run_job(struct fetcher *f, struct fetch_job *j)
{
	size_t piece = f->remote->ops->read_piece ? f->remote->ops->read_piece
						   : FETCH_PIECE;
	uint64_t off = j->start;

	while (off < j->end) {
		size_t want = (size_t)CD_MIN(j->end - off, piece);
		ssize_t got;

		if (job_cancelled(j))
			return -ECANCELED;
		if (f->admit)
			f->admit(f->admit_arg, want, false);
		got = remote_read_to_fd(f->remote, j->path, j->etag, j->n->fd,
					want, off);
		stats_add(f->stats, fetch_requests, 1);
		if (got > 0)
			stats_add(f->stats, fetched_bytes, (uint64_t)got);
		if (f->admit)
			f->admit(f->admit_arg, want, true);
		if (got < 0)
			return (int)got;
		if ((size_t)got < want) {
			log_error("%s: remote object ends at %llu, before the "
				  "%llu bytes expected", j->path,
				  (unsigned long long)(off + (uint64_t)got),
				  (unsigned long long)j->end);
			return -EIO;
		}
		/* a long hydration starts writing back as it goes: the save
		 * at the last close then finds little left to sync, instead
		 * of a burst that stalls whoever reads next (small random
		 * fetches skip it: a disk write each would double their
		 * latency) */
		if (want == piece &&
		    sync_file_range(j->n->fd, (off64_t)off, got,
				    SYNC_FILE_RANGE_WRITE) < 0)
			log_debug("inode %llu: sync_file_range: %s",
				  (unsigned long long)j->n->ino,
				  strerror(errno));
		store_node_mark(j->n, off, (uint64_t)got);
		xfer_add(j->xfer, (uint64_t)got);
		off += (uint64_t)got;
	}
	return 0;
}

/* Leaves the jobs of a pending request, keeping the first error that
 * is not a cancel by a truncate; under n->lock. */
static int async_leave(struct fetch_async *a, bool cancel)
{
	int i, rc = 0;

	store_node_assert_locked(a->n);
	for (i = 0; i < a->count; i++) {
		struct fetch_job *j = a->jobs[i];

		if (--j->waiters == 0 && !j->done && !j->prefetch && cancel)
			__atomic_store_n(&j->cancelled, true,
					 __ATOMIC_RELAXED);
		if (j->done && j->rc && j->rc != -ECANCELED && !rc)
			rc = j->rc;
		job_unref(j);
	}
	a->count = 0;
	return rc;
}

/* Takes off n->asyncs the requests whose jobs are all done, as a list
 * to tell; under n->lock. */
static struct fetch_async *take_ready(struct node *n)
{
	struct fetch_async **pp = &n->asyncs, *ready = NULL, **tail = &ready;

	store_node_assert_locked(n);
	while (*pp) {
		struct fetch_async *a = *pp;
		int i;

		for (i = 0; i < a->count && a->jobs[i]->done; i++)
			;
		if (i < a->count) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		a->waiting = false;
		a->rc = async_leave(a, false);
		a->next = NULL;
		*tail = a;
		tail = &a->next;
	}
	return ready;
}

/* Publishes a job's result to its waiters, drops the queue's reference
 * to the job and the job's reference to its node. */
static void finish_job(struct fetcher *f, struct fetch_job *j, int rc)
{
	struct node *n = j->n;
	struct fetch_async *ready;

	store_node_lock(n);
	j->rc = rc;
	j->done = true;
	job_unlink(j);
	if (--n->fetching == 0 && n->xfer) {
		xfer_end(f->xfers, n->xfer);
		n->xfer = NULL;
	}
	pthread_cond_broadcast(&n->cond);
	ready = take_ready(n);
	job_unref(j);
	store_node_unlock(n);
	/* the requests pending on it go on, with no lock held */
	while (ready) {
		struct fetch_async *a = ready;

		ready = a->next;
		a->fn(a->arg, a->rc);
	}
	store_node_put(f->store, n);
}

/* Runs a job taken off its queue and finishes it. */
static void run_and_finish(struct fetcher *f, struct fetch_job *j)
{
	struct node *n = j->n;
	int rc;

	rc = job_cancelled(j) ? -ECANCELED : run_job(f, j);
	if (rc == -ECANCELED)
		stats_add(f->stats, fetches_cancelled, 1);
	else if (rc == -ESTALE) {
		log_warn("%s: changed on the remote while being read; "
			 "refreshing it", j->path);
		if (f->stale)
			f->stale(f->stale_arg, n->ino);
		rc = -EIO;
	} else if (rc && rc != -ENOSPC) {
		log_error("%s: fetch of bytes %llu-%llu failed: %s", j->path,
			  (unsigned long long)j->start,
			  (unsigned long long)j->end, strerror(-rc));
	}
	finish_job(f, j, rc);
}

static void *fetch_thread(void *arg)
{
	struct fetcher *f = arg;

	for (;;) {
		struct fetch_job *j;

		pthread_mutex_lock(&f->lock);
		while (!f->stop && !f->demand.head && !f->prefetch.head)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->stop) {
			pthread_mutex_unlock(&f->lock);
			break;
		}
		j = queue_pop(&f->demand);
		if (!j)
			j = queue_pop(&f->prefetch);
		pthread_mutex_unlock(&f->lock);

		run_and_finish(f, j);
	}
	return NULL;
}

struct fetcher *fetch_new(struct store *s, struct remote *r,
			  struct stats *st, struct xfers *x, int threads,
			  fetch_stale_fn stale, void *arg)
{
	struct fetcher *f = xcalloc(1, sizeof(*f));
	int i;

	f->xfers = x;
	f->store = s;
	f->remote = r;
	f->stats = st;
	f->stale = stale;
	f->stale_arg = arg;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->threads = xcalloc((size_t)threads, sizeof(*f->threads));
	for (i = 0; i < threads; i++) {
		if (pthread_create(&f->threads[i], NULL, fetch_thread, f))
			break;
		f->nthreads++;
	}
	return f;
}

/* Fails the jobs of one queue; used at shutdown. */
static void fail_queue(struct fetcher *f, struct fetch_queue *q)
{
	struct fetch_job *j;

	while ((j = queue_pop(q)))
		finish_job(f, j, -ECANCELED);
}

void fetch_free(struct fetcher *f)
{
	int i;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	__atomic_store_n(&f->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	fail_queue(f, &f->demand);
	fail_queue(f, &f->prefetch);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->threads);
	free(f);
}

void fetch_stop_async(struct fetcher *f)
{
	struct fetch_queue demand, prefetch;

	pthread_mutex_lock(&f->lock);
	__atomic_store_n(&f->no_async, true, __ATOMIC_RELAXED);
	demand = f->demand;
	prefetch = f->prefetch;
	memset(&f->demand, 0, sizeof(f->demand));
	memset(&f->prefetch, 0, sizeof(f->prefetch));
	pthread_mutex_unlock(&f->lock);
	/* readers that wait in place ask again, and run the job themselves */
	fail_queue(f, &demand);
	fail_queue(f, &prefetch);
}

void fetch_set_admit(struct fetcher *f, fetch_admit_fn fn, void *arg)
{
	f->admit_arg = arg;
	f->admit = fn;
}

void fetch_waiter_init(struct fetch_waiter *w, struct fetcher *f,
		       struct node *n)
{
	w->f = f;
	w->n = n;
	w->interrupted = false;
	w->running = NULL;
}

void fetch_interrupt(struct fetch_waiter *w)
{
	store_node_lock(w->n);
	w->interrupted = true;
	/* the job it runs itself is cancelled too, unless others wait */
	if (w->running && w->running->waiters <= 1 && !w->running->prefetch)
		__atomic_store_n(&w->running->cancelled, true,
				 __ATOMIC_RELAXED);
	pthread_cond_broadcast(&w->n->cond);
	store_node_unlock(w->n);
}

/* The job in flight that covers byte pos, if any; under n->lock. */
static struct fetch_job *covering(struct node *n, uint64_t pos,
				  uint64_t *next_start)
{
	struct fetch_job *j;

	store_node_assert_locked(n);
	*next_start = UINT64_MAX;
	for (j = n->jobs; j; j = j->next) {
		if (j->start <= pos && pos < j->end && !j->cancelled &&
		    j->epoch == n->fetch_epoch)
			return j;
		if (j->start > pos && j->start < *next_start)
			*next_start = j->start;
	}
	return NULL;
}

/* Creates and queues a job for [start, end); under n->lock. */
static struct fetch_job *new_job(struct fetcher *f, struct node *n,
				 const char *path, uint64_t start,
				 uint64_t end, bool prefetch)
{
	struct fetch_job *j = xcalloc(1, sizeof(*j));

	store_node_assert_locked(n);
	j->n = n;
	j->path = xstrdup(path);
	snprintf(j->etag, sizeof(j->etag), "%s", n->etag);
	j->start = start;
	j->end = end;
	j->refs = 1;		/* the queue's */
	j->prefetch = prefetch;
	j->epoch = n->fetch_epoch;
	if (n->fetching++ == 0)
		n->xfer = xfer_begin(f->xfers, XFER_HYDRATE, n->ino, path,
				     n->base, rangeset_bytes(&n->present));
	j->xfer = n->xfer;
	j->next = n->jobs;
	n->jobs = j;
	/* the job keeps the node (the caller holds a reference, so no
	 * table lock is needed, and none may be taken under n->lock) */
	store_node_ref(n);
	pthread_mutex_lock(&f->lock);
	queue_push(prefetch ? &f->prefetch : &f->demand, j);
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return j;
}

/*
 * Walks the gaps of [off, end) and, for each part, joins the job in
 * flight that covers it or starts a new one. Collects at most max jobs
 * (taking a waiter reference on each) into out; returns how many, and
 * sets *resume to where the walk stopped. Under n->lock.
 */
static int gather(struct fetcher *f, struct node *n, const char *path,
		  uint64_t off, uint64_t end, bool prefetch,
		  struct fetch_job **out, int max, uint64_t *resume)
{
	uint64_t pos, gs, ge, next;
	int count = 0;

	store_node_assert_locked(n);
	end = CD_MIN(end, n->base);
	pos = off;
	while (count < max &&
	       rangeset_next_gap(&n->present, &pos, end, &gs, &ge)) {
		while (gs < ge && count < max) {
			struct fetch_job *j = covering(n, gs, &next);

			if (!j) {
				uint64_t s = gs & ~(uint64_t)(FETCH_ALIGN - 1);
				uint64_t e = CD_MIN(CD_MIN(ge, next),
						    s + FETCH_CHUNK);

				e = (e + FETCH_ALIGN - 1) &
				    ~(uint64_t)(FETCH_ALIGN - 1);
				e = CD_MIN(e, n->base);
				if (next != UINT64_MAX)
					e = CD_MIN(e, CD_MAX(next, gs + 1));
				j = new_job(f, n, path, s, e, prefetch);
			}
			if (out) {
				j->refs++;
				j->waiters++;
				out[count] = j;
			}
			count++;
			gs = j->end;
		}
		if (gs < ge) {
			pos = gs;
			break;
		}
	}
	*resume = pos;
	return count;
}

int fetch_range(struct fetcher *f, struct node *n, const char *path,
		uint64_t off, uint64_t len, struct fetch_waiter *w)
{
	struct fetch_job *jobs[FETCH_BATCH];
	uint64_t end = off + len, resume;
	int rc = 0, count, i;

	store_node_lock(n);
	while (!rc && !store_node_has(n, off, end - off)) {
		if (__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
			rc = -ECANCELED;
			break;
		}
		count = gather(f, n, path, off, end, false, jobs, FETCH_BATCH,
			       &resume);
		if (!count) {
			/* nothing to fetch: only bytes beyond base remain */
			break;
		}
		for (i = 0; i < count; i++) {
			struct fetch_job *j = jobs[i];
			bool mine;

			/* a job no thread has started yet: run it here, which
			 * saves two thread switches per fetch */
			pthread_mutex_lock(&f->lock);
			mine = j->queued &&
			       queue_remove(j->prefetch ? &f->prefetch
							: &f->demand, j);
			pthread_mutex_unlock(&f->lock);
			if (mine && w && w->interrupted) {
				/* hand it back: someone else may want it */
				pthread_mutex_lock(&f->lock);
				queue_push(&f->demand, j);
				pthread_cond_signal(&f->cond);
				pthread_mutex_unlock(&f->lock);
			} else if (mine) {
				if (w)
					w->running = j;
				store_node_unlock(n);
				run_and_finish(f, j);
				store_node_lock(n);
				if (w)
					w->running = NULL;
			}
			while (!j->done && !(w && w->interrupted))
				store_node_wait(n);
			if (!j->done) {
				/* left early: a fetch no one wants is cancelled */
				if (--j->waiters == 0 && !j->prefetch)
					__atomic_store_n(&j->cancelled, true,
							 __ATOMIC_RELAXED);
				rc = -EINTR;
			} else {
				j->waiters--;
				/* cancelled by a truncate or reset, not by
				 * us: ask again for what is still missing */
				if (j->rc && j->rc != -ECANCELED && !rc)
					rc = j->rc;
			}
			job_unref(j);
		}
		if (w && w->interrupted)
			rc = -EINTR;
		if (!rc)
			off = off < resume ? off : resume;
	}
	store_node_unlock(n);
	return rc;
}

void fetch_async_init(struct fetch_async *a, struct fetcher *f,
		      struct node *n, void (*fn)(void *arg, int rc),
		      void *arg)
{
	memset(a, 0, sizeof(*a));
	a->f = f;
	a->n = n;
	a->fn = fn;
	a->arg = arg;
}

int fetch_range_async(struct fetch_async *a, const char *path, uint64_t off,
		      uint64_t len)
{
	struct fetcher *f = a->f;
	struct node *n = a->n;
	uint64_t resume;
	int rc = 1;

	store_node_lock(n);
	if (a->interrupted)
		rc = -EINTR;
	else if (__atomic_load_n(&f->stop, __ATOMIC_RELAXED) ||
		 __atomic_load_n(&f->no_async, __ATOMIC_RELAXED))
		rc = -ECANCELED;
	else if (store_node_has(n, off, len))
		rc = 0;
	if (rc == 1) {
		a->count = gather(f, n, path, off, off + len, false, a->jobs,
				  FETCH_BATCH, &resume);
		if (!a->count) {
			rc = 0;	/* only bytes beyond base remain */
		} else {
			a->rc = 0;
			a->waiting = true;
			a->next = n->asyncs;
			n->asyncs = a;
		}
	}
	store_node_unlock(n);
	return rc;
}

bool fetch_async_cancel(struct fetch_async *a)
{
	struct node *n = a->n;
	struct fetch_async **pp;
	bool was = false;

	store_node_lock(n);
	a->interrupted = true;
	if (a->waiting) {
		for (pp = &n->asyncs; *pp; pp = &(*pp)->next) {
			if (*pp == a) {
				*pp = a->next;
				break;
			}
		}
		a->waiting = false;
		async_leave(a, true);
		was = true;
	}
	store_node_unlock(n);
	return was;
}

void fetch_prefetch(struct fetcher *f, struct node *n, const char *path,
		    uint64_t off, uint64_t len)
{
	uint64_t resume;

	store_node_lock(n);
	gather(f, n, path, off, off + len, true, NULL, 64, &resume);
	store_node_unlock(n);
}
