/*
 * Transfers in flight: every hydration and upload registers here while it
 * runs, so that status and the user.clonedrive.progress xattr can show
 * what moves, how far it is and how fast. One transfer per (kind, inode):
 * the fetch jobs of one file share the hydration of that file.
 *
 * The registry lock is a leaf: it may be taken under any other lock and
 * nothing is called while it is held.
 */
#ifndef CD_XFER_H
#define CD_XFER_H

#include "common.h"

#include <pthread.h>

enum xfer_kind {
	XFER_HYDRATE,
	XFER_UPLOAD,
	XFER_RENAME,		/* a directory moved object by object: counts
				   objects, not bytes, of a total not known */
	XFER_KINDS
};

struct xfer {
	struct xfer *next;		/* under the registry lock */
	enum xfer_kind kind;
	uint64_t ino;
	char *path;			/* as the remote names it */
	uint64_t total;			/* bytes the transfer is about */
	uint64_t base_done;		/* already there when it started */
	uint64_t moved;			/* atomic: bytes moved since start */
	int64_t start_ns;		/* monotonic */
	int users;			/* under the registry lock */
};

struct xfers {
	pthread_mutex_t lock;
	struct xfer *list;
};

/* A snapshot of one transfer, for listings. */
struct xfer_info {
	enum xfer_kind kind;
	uint64_t ino;
	char path[4096];
	uint64_t done;			/* base_done + moved, at most total
				   (a rename: no total) */
	uint64_t total;
	uint64_t rate;			/* bytes per second since it started */
};

void xfers_init(struct xfers *x);
void xfers_release(struct xfers *x);

/* Joins the transfer of (kind, ino), or starts one; done is what was
 * already there when it starts. Never fails. */
struct xfer *xfer_begin(struct xfers *x, enum xfer_kind kind, uint64_t ino,
			const char *path, uint64_t total, uint64_t done);
static inline void xfer_add(struct xfer *t, uint64_t bytes)
{
	__atomic_add_fetch(&t->moved, bytes, __ATOMIC_RELAXED);
}
/* Leaves it; the last user ends it. */
void xfer_end(struct xfers *x, struct xfer *t);

/* Snapshots up to max transfers (all of them if ino is 0, else those of
 * ino) into out; returns how many there are in all. */
size_t xfers_list(struct xfers *x, uint64_t ino, struct xfer_info *out,
		  size_t max);
/* "hydrating" or "uploading". */
const char *xfer_kind_name(enum xfer_kind kind);

#endif
