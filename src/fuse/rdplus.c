/*
 * Which names of a READDIRPLUS reply carry their attributes: see rdplus.h.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse/rdplus.h"
#include "util/util.h"

void rdplus_init(struct rdplus *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

void rdplus_destroy(struct rdplus *r)
{
	pthread_mutex_destroy(&r->lock);
}

static uint64_t now_ms(void)
{
	return (uint64_t)util_now_mono_ns() / 1000000;
}

/* The process of thread tid, from /proc (tid itself if it is gone). */
static pid_t proc_tgid(pid_t tid)
{
	char buf[512], *p;
	long n;

	util_proc_read(tid, "status", buf, sizeof(buf));
	p = strstr(buf, "\nTgid:");
	if (!p)
		return tid;
	n = strtol(p + 6, NULL, 10);
	return n > 0 ? (pid_t)n : tid;
}

/*
 * The entry of id in a table of n entries of size bytes, each headed by
 * a struct rdplus_slot, seen now; NULL if there is none (or only one so
 * old that its id may be another's now, which is freed). Under the lock.
 */
static void *slot_find(void *table, size_t n, size_t size, pid_t id,
		       uint64_t now)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct rdplus_slot *e = (void *)((char *)table + i * size);

		if (e->id != id)
			continue;
		if (now - e->seen_ms > RDPLUS_FORGET_MS) {
			memset(e, 0, size);
			return NULL;
		}
		e->seen_ms = now;
		return e;
	}
	return NULL;
}

/* A free entry of the table, or its oldest, emptied and given id. */
static void *slot_take(void *table, size_t n, size_t size, pid_t id,
		       uint64_t now)
{
	struct rdplus_slot *o = table;
	size_t i;

	for (i = 0; i < n && o->id; i++) {
		struct rdplus_slot *e = (void *)((char *)table + i * size);

		if (!e->id || e->seen_ms < o->seen_ms)
			o = e;
	}
	memset(o, 0, size);
	o->id = id;
	o->seen_ms = now;
	return o;
}

#define FIND(r, table, id, now)						\
	slot_find((r)->table, CD_ARRAY_SIZE((r)->table),		\
		  sizeof((r)->table[0]), (id), (now))
#define TAKE(r, table, id, now)						\
	slot_take((r)->table, CD_ARRAY_SIZE((r)->table),		\
		  sizeof((r)->table[0]), (id), (now))

/* The process of thread tid, taking an entry for it if asked to; under
 * the lock, which it drops to read /proc for a thread not known yet. */
static struct rdplus_proc *proc_of(struct rdplus *r, pid_t tid, bool take)
{
	struct rdplus_thread *t;
	struct rdplus_proc *p;
	uint64_t now = now_ms();
	pid_t tgid;

	t = FIND(r, thread, tid, now);
	if (t) {
		tgid = t->tgid;
	} else {
		pthread_mutex_unlock(&r->lock);
		tgid = proc_tgid(tid);
		pthread_mutex_lock(&r->lock);
		t = FIND(r, thread, tid, now);
		if (!t) {
			t = TAKE(r, thread, tid, now);
			t->tgid = tgid;
		}
	}
	p = FIND(r, proc, tgid, now);
	if (p || !take)
		return p;
	p = TAKE(r, proc, tgid, now);
	p->mode = RDPLUS_UNKNOWN;
	return p;
}

void rdplus_begin(struct rdplus *r, pid_t tid, uint64_t dir,
		  struct rdplus_reply *rr)
{
	struct rdplus_proc *p;

	memset(rr, 0, sizeof(*rr));
	rr->mode = RDPLUS_STATS;
	rr->dir = dir;
	if (tid <= 0)
		return;	/* from outside our pid namespace: no telling */
	pthread_mutex_lock(&r->lock);
	p = proc_of(r, tid, true);
	/* it lists another directory and looked none of its probes up */
	if (p->mode == RDPLUS_UNKNOWN && p->nprobe && p->probe_dir != dir)
		p->mode = RDPLUS_NAMES;
	rr->tgid = p->slot.id;
	rr->mode = p->mode;
	pthread_mutex_unlock(&r->lock);
}

bool rdplus_attrs(struct rdplus_reply *rr, uint64_t ino, mode_t mode)
{
	if (rr->mode == RDPLUS_STATS || S_ISDIR(mode))
		return true;
	if (rr->mode == RDPLUS_UNKNOWN) {
		if (rr->nprobe == RDPLUS_PROBES)
			return true;
		rr->probe[rr->nprobe++] = ino;
	}
	rr->bare++;
	return false;
}

void rdplus_end(struct rdplus *r, const struct rdplus_reply *rr)
{
	struct rdplus_proc *p;

	if (!rr->nprobe)
		return;
	pthread_mutex_lock(&r->lock);
	p = FIND(r, proc, rr->tgid, now_ms());
	if (p && p->mode == RDPLUS_UNKNOWN) {
		p->probe_dir = rr->dir;
		p->nprobe = rr->nprobe;
		memcpy(p->probe, rr->probe, sizeof(p->probe));
	}
	pthread_mutex_unlock(&r->lock);
}

void rdplus_lookup(struct rdplus *r, pid_t tid, uint64_t ino, mode_t mode)
{
	struct rdplus_proc *p;
	bool any = false;
	int i;

	if (tid <= 0 || S_ISDIR(mode))
		return;
	pthread_mutex_lock(&r->lock);
	/* only a process that lists is of interest: a thread not known is
	 * looked into only while one is being told apart */
	for (i = 0; i < RDPLUS_PROCS && !any; i++)
		any = r->proc[i].slot.id && r->proc[i].mode != RDPLUS_STATS;
	p = any ? proc_of(r, tid, false) : NULL;
	if (p && p->mode == RDPLUS_UNKNOWN) {
		for (i = 0; i < p->nprobe; i++) {
			if (p->probe[i] == ino)
				p->mode = RDPLUS_STATS;
		}
	} else if (p && p->mode == RDPLUS_NAMES &&
		   ++p->misses >= RDPLUS_SWITCH) {
		p->mode = RDPLUS_STATS;
	}
	pthread_mutex_unlock(&r->lock);
}
