/*
 * Pending requests: the third verdict of a filter's pre hook.
 *
 * A request that must wait (for a range to be fetched, a remote round
 * trip, uploads to make room, the journal to drain) does not keep the
 * thread that brought it. Its filter readies it with fop_pend(), arranges
 * for fop_wake() to be called when the wait is over, and returns
 * FILTER_PENDING; the front end's worker goes back to the kernel for the
 * next request. Whoever ends the wait resumes the request where it
 * stopped (filter.c): the filter's pre hook runs again and reads the
 * outcome in op->waited, and the reply is sent from that thread.
 *
 * Three kinds of wait are offered here besides the fetches (fetch.c):
 *   - the slow lane: a few threads that do a request's remote round trip
 *     (a directory listing, a server-side copy) and resume it;
 *   - conditions: a request waits until a check says ready (the journal
 *     is empty, say), evaluated by one thread every POLL_MS, or until its
 *     deadline;
 *   - and over the limit of requests pending (max_pending), each wait is
 *     done in place, blocking the worker, as back-pressure.
 *
 * A request's references: pend_refs is 2 while it waits, one for the
 * thread that made it pend (dropped as it returns up the stack) and one
 * for the wait (dropped by fop_wake). The last one resumes it, so a wait
 * that ends at once is resumed by the thread that started it.
 */
#include "common.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

/* Threads of the slow lane: remote round trips at once. */
#define LANE_THREADS 4
/* How often conditions are checked. */
#define POLL_MS 50

struct pender {
	struct fs *fs;
	pthread_mutex_t lock;		/* protects what follows */
	pthread_cond_t cond;		/* lane work queued, or stop */
	pthread_cond_t poll_cond;	/* conditions added, or stop */
	struct fop *lane_head;		/* the slow lane's queue */
	struct fop *lane_tail;
	struct fop *polled;		/* requests waiting on a condition */
	bool stop;
	pthread_t lane[LANE_THREADS];
	int nlane;
	pthread_t poller;
	bool have_poller;
	unsigned pending;		/* requests pending; atomic */
	unsigned peak;			/* the most at once; atomic */
};

bool fop_pend(struct fop *op)
{
	struct pender *p = op->fs->env.pend;

	if (!op->pended) {
		unsigned now = __atomic_add_fetch(&p->pending, 1,
						  __ATOMIC_RELAXED);
		unsigned peak = __atomic_load_n(&p->peak, __ATOMIC_RELAXED);

		if (op->fs->env.max_pending && now > op->fs->env.max_pending) {
			__atomic_sub_fetch(&p->pending, 1, __ATOMIC_RELAXED);
			stats_add(&op->fs->env.stats,
				  requests_waited_in_place, 1);
			return false;
		}
		while (now > peak &&
		       !__atomic_compare_exchange_n(&p->peak, &peak, now, false,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED))
			;
		stats_add(&op->fs->env.stats, requests_pended, 1);
		fop_keep_inputs(op);
		op->pended = true;
	}
	op->pend_refs = 2;
	return true;
}

/* The request is over; it pended at some point. */
void fop_unpend(struct fop *op)
{
	if (op->pended) {
		__atomic_sub_fetch(&op->fs->env.pend->pending, 1,
				   __ATOMIC_RELAXED);
		op->pended = false;
	}
}

unsigned pend_count(struct filter_env *env, unsigned *peak)
{
	if (!env->pend) {
		if (peak)
			*peak = 0;
		return 0;
	}
	if (peak)
		*peak = __atomic_load_n(&env->pend->peak, __ATOMIC_RELAXED);
	return __atomic_load_n(&env->pend->pending, __ATOMIC_RELAXED);
}

enum filter_verdict fop_woken(struct fop *op, int rc)
{
	op->waited = rc;
	op->pend_refs = 1;
	return FILTER_PENDING;
}

/* --- the slow lane ------------------------------------------------------- */

static void *lane_thread(void *arg)
{
	struct pender *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct fop *op;
		bool stopping;
		int rc;

		while (!p->stop && !p->lane_head)
			pthread_cond_wait(&p->cond, &p->lock);
		op = p->lane_head;
		if (!op)
			break;		/* stopping, and the queue is empty */
		p->lane_head = op->qnext;
		if (!p->lane_head)
			p->lane_tail = NULL;
		op->queued = false;
		stopping = p->stop;
		pthread_mutex_unlock(&p->lock);
		rc = stopping ? -ECANCELED : op->work(op);
		fop_wake(op, rc);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

enum filter_verdict fop_defer(struct fop *op, int (*work)(struct fop *op))
{
	struct pender *p = op->fs->env.pend;

	if (!p->nlane || !fop_pend(op))
		return fop_woken(op, work(op));
	op->work = work;
	pthread_mutex_lock(&p->lock);
	op->qnext = NULL;
	op->queued = true;
	op->polled = false;
	if (p->lane_tail)
		p->lane_tail->qnext = op;
	else
		p->lane_head = op;
	p->lane_tail = op;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return FILTER_PENDING;
}

/* --- conditions ---------------------------------------------------------- */

/*
 * The conditions are checked with no lock held (a check may wait for the
 * database): the thread takes the whole list, checks it, and puts back
 * what must still wait. Meanwhile an interrupt only flags its request
 * (op->cancel), and the next round ends it.
 */
static void *poll_thread(void *arg)
{
	struct pender *p = arg;
	struct timespec ts;

	pthread_mutex_lock(&p->lock);
	while (!p->stop || p->polled) {
		struct fop *mine = p->polled, *keep = NULL, *ready = NULL;
		bool stopping = p->stop;
		int64_t now = util_now_mono_ns();

		p->polled = NULL;
		pthread_mutex_unlock(&p->lock);
		while (mine) {
			struct fop *op = mine;
			int rc;

			mine = op->qnext;
			if (stopping)
				rc = -ECANCELED;
			else if (__atomic_load_n(&op->cancel, __ATOMIC_ACQUIRE))
				rc = -EINTR;
			else
				rc = op->work(op);
			if (rc == -EAGAIN && now >= op->deadline_ns)
				rc = -ETIMEDOUT;
			op->waited_rc = rc;
			if (rc == -EAGAIN) {
				op->qnext = keep;
				keep = op;
			} else {
				op->qnext = ready;
				ready = op;
			}
		}
		pthread_mutex_lock(&p->lock);
		while (keep) {
			struct fop *op = keep;

			keep = op->qnext;
			op->qnext = p->polled;
			p->polled = op;
		}
		for (mine = ready; mine; mine = mine->qnext)
			mine->queued = false;
		pthread_mutex_unlock(&p->lock);
		while (ready) {
			struct fop *op = ready;

			ready = op->qnext;
			fop_wake(op, op->waited_rc);
		}
		pthread_mutex_lock(&p->lock);
		if (p->stop && !p->polled)
			break;
		if (!p->polled && !p->stop) {
			pthread_cond_wait(&p->poll_cond, &p->lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->poll_cond, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

enum filter_verdict fop_wait_until(struct fop *op, int (*ready)(struct fop *op),
				   uint64_t timeout_ms)
{
	struct pender *p = op->fs->env.pend;
	int64_t deadline = util_now_mono_ns() + (int64_t)timeout_ms * 1000000;
	int rc = ready(op);

	if (rc != -EAGAIN)
		return fop_woken(op, rc);
	if (!p->have_poller || !fop_pend(op)) {
		/* in place: the same checks, on this thread */
		while ((rc = ready(op)) == -EAGAIN) {
			if (util_now_mono_ns() >= deadline)
				return fop_woken(op, -ETIMEDOUT);
			usleep(POLL_MS * 1000);
		}
		return fop_woken(op, rc);
	}
	op->work = ready;
	op->deadline_ns = deadline;
	op->cancel = false;
	pthread_mutex_lock(&p->lock);
	op->queued = true;
	op->polled = true;
	op->qnext = p->polled;
	p->polled = op;
	pthread_cond_signal(&p->poll_cond);
	pthread_mutex_unlock(&p->lock);
	return FILTER_PENDING;
}

/* Takes op out of the lane's queue, if it waits there still (true); one
 * that waits for a condition is flagged, for the checks to end it. */
static bool unqueue(struct pender *p, struct fop *op)
{
	struct fop **pp, *prev = NULL;
	bool found = false;

	pthread_mutex_lock(&p->lock);
	if (op->queued && op->polled) {
		__atomic_store_n(&op->cancel, true, __ATOMIC_RELEASE);
		pthread_cond_signal(&p->poll_cond);
	} else if (op->queued) {
		for (pp = &p->lane_head; *pp; prev = *pp, pp = &(*pp)->qnext)
			if (*pp == op) {
				*pp = op->qnext;
				if (p->lane_tail == op)
					p->lane_tail = prev;
				found = true;
				break;
			}
		op->queued = !found;
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

void fop_cancel_wait(struct fop *op)
{
	if (unqueue(op->fs->env.pend, op))
		fop_wake(op, -EINTR);
}

/* --- set-up -------------------------------------------------------------- */

int pend_init(struct fs *fs)
{
	struct pender *p = xcalloc(1, sizeof(*p));
	int i;

	p->fs = fs;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->poll_cond, NULL);
	fs->env.pend = p;
	for (i = 0; i < LANE_THREADS; i++) {
		if (pthread_create(&p->lane[i], NULL, lane_thread, p))
			break;
		p->nlane++;
	}
	if (!p->nlane)
		log_warn("no thread for the slow lane: remote round trips "
			 "keep their worker");
	if (pthread_create(&p->poller, NULL, poll_thread, p) == 0)
		p->have_poller = true;
	return 0;
}

void pend_stop(struct fs *fs)
{
	struct pender *p = fs->env.pend;
	int i, n;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	n = p->nlane;
	pthread_cond_broadcast(&p->cond);
	pthread_cond_broadcast(&p->poll_cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		pthread_join(p->lane[i], NULL);
	if (p->have_poller)
		pthread_join(p->poller, NULL);
	/* from here on, waits are done in place */
	p->nlane = 0;
	p->have_poller = false;
}

void pend_drain(struct fs *fs)
{
	int64_t start = util_now_mono_ns();
	bool said = false;

	pend_stop(fs);
	if (fs->env.fetcher)
		fetch_stop_async(fs->env.fetcher);
	while (pend_count(&fs->env, NULL)) {
		if (!said && util_now_mono_ns() - start > 2000000000LL) {
			log_info("waiting for %u requests to end",
				 pend_count(&fs->env, NULL));
			said = true;
		}
		usleep(10000);
	}
}

void pend_release(struct fs *fs)
{
	struct pender *p = fs->env.pend;

	if (!p)
		return;
	pend_stop(fs);
	pthread_cond_destroy(&p->poll_cond);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	fs->env.pend = NULL;
}
