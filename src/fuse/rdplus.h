/*
 * Which names of a READDIRPLUS reply carry their attributes.
 *
 * A name sent with its attributes makes the kernel build an inode for it,
 * which is what a program that stats what it lists wants (ls -l, du,
 * rsync, a file manager): its stats are answered without a request each.
 * A program that walks names and types only (find, a shell's glob) pays
 * for inodes it never uses, about a microsecond each, as much as the
 * rest of the listing. The kernel's own heuristic (READDIRPLUS_AUTO)
 * always gives the first buffer attributes, and one buffer holds a whole
 * directory of a thousand names, so it cannot tell the two apart. This
 * tells them apart per process, by what it does with a few names:
 *
 *  - a process not seen before gets every name with its attributes but
 *    a few files of each listing, its probes;
 *  - one that looks a probe up stats what it lists: every name gets its
 *    attributes from then on;
 *  - one that lists another directory while none of its probes was
 *    looked up walks names: only directories get their attributes (it
 *    enters them), and after RDPLUS_SWITCH lookups of files that came
 *    without attributes it is taken for one that stats after all.
 *
 * Every answer is correct: the kernel looks up a name that came without
 * attributes when something needs them. Only the cost moves, and what
 * the kernel keeps of a listing (its readdir cache) is served as it came:
 * a program that stats a directory's names right after a walk of it
 * looks them up once, one request each.
 */
#ifndef CD_RDPLUS_H
#define CD_RDPLUS_H

#include "common.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RDPLUS_PROCS 64		/* processes remembered */
#define RDPLUS_THREADS 128	/* thread ids remembered (their process) */
#define RDPLUS_PROBES 2		/* probes of a listing */
#define RDPLUS_SWITCH 8		/* lookups that make a walker one that
				   stats */
#define RDPLUS_FORGET_MS 30000	/* a process not heard of for this long
				   is forgotten (its pid may be reused) */

enum rdplus_mode {
	RDPLUS_UNKNOWN,
	RDPLUS_STATS,
	RDPLUS_NAMES,
};

/* The head of an entry of either table. */
struct rdplus_slot {
	pid_t id;		/* a process or thread; 0: free */
	uint64_t seen_ms;
};

struct rdplus_proc {
	struct rdplus_slot slot;	/* id: the process */
	enum rdplus_mode mode;
	uint64_t probe_dir;	/* the directory of the probes out */
	uint64_t probe[RDPLUS_PROBES];
	int nprobe;
	int misses;		/* names mode: files looked up */
};

struct rdplus_thread {
	struct rdplus_slot slot;	/* id: the thread */
	pid_t tgid;
};

struct rdplus {
	pthread_mutex_t lock;
	struct rdplus_proc proc[RDPLUS_PROCS];
	struct rdplus_thread thread[RDPLUS_THREADS];
};

/* One reply being filled: what rdplus_begin decided for it. */
struct rdplus_reply {
	pid_t tgid;		/* 0: every name gets its attributes */
	enum rdplus_mode mode;
	uint64_t dir;
	uint64_t probe[RDPLUS_PROBES];
	int nprobe;
	uint64_t bare;		/* names sent without attributes */
};

void rdplus_init(struct rdplus *r);
void rdplus_destroy(struct rdplus *r);

/* Decides, for a READDIRPLUS of directory dir by thread tid, which names
 * get their attributes. */
void rdplus_begin(struct rdplus *r, pid_t tid, uint64_t dir,
		  struct rdplus_reply *rr);
/* Whether the name of inode ino and mode goes with its attributes; a
 * name that does not is counted in rr->bare. */
bool rdplus_attrs(struct rdplus_reply *rr, uint64_t ino, mode_t mode);
/* The reply went out: keeps its probes. */
void rdplus_end(struct rdplus *r, const struct rdplus_reply *rr);
/* Thread tid looked up inode ino, of mode. */
void rdplus_lookup(struct rdplus *r, pid_t tid, uint64_t ino, mode_t mode);

#endif
