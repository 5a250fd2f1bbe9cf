/*
 * The store's private part: the node (a regular file in use) and the
 * functions that need its lock held. Included by the store's own files
 * and, as the one exception, by the fetch engine (src/sync/fetch.c),
 * which keeps its jobs and pending requests on the node and walks its
 * extents; it does so only under the node's lock (store_node_lock),
 * except for what is marked immutable or atomic below. No other module
 * includes this file: they use the accessors of store.h.
 */
#ifndef CD_STORE_INT_H
#define CD_STORE_INT_H

#include "store/store.h"
#include "util/rangeset.h"

struct fetch_async;
struct fetch_job;
struct xfer;

struct node {
	uint64_t ino;			/* immutable */
	int refs;			/* atomic; reaches 0 only under
					   store->nodes_lock */
	struct node *next;		/* hash chain; under nodes_lock */
	pthread_mutex_t lock;		/* protects everything below; taken
					   with store_node_lock() */
#ifndef NDEBUG
	const void *owner;		/* the thread holding lock (atomic;
					   store_node_assert_locked) */
#endif
	pthread_cond_t cond;		/* signalled when a fetch ends */
	int fd;				/* cache file, read-write;
					   immutable */
	uint64_t size;			/* logical size = cache file size */
	uint64_t base;			/* [0, base) is backed by etag */
	char etag[REMOTE_ETAG_MAX];	/* remote version behind the data */
	struct rangeset present;	/* hydrated parts of [0, base) */
	bool extents_unsaved;		/* present changed since last save */
	bool save_failed;		/* its last put could not save it */
	uint64_t extents_gen;		/* bumped by every change of present */
	bool dirty;			/* local content newer than remote */
	bool uploading;			/* an upload is running */
	bool error;			/* last remote operation failed */
	int64_t mtime_ns;		/* modification time */
	int64_t ctime_ns;		/* change time: moves with mtime */
	uint64_t write_gen;		/* bumped by every change of data */
	uint64_t version;		/* bumped when the remote's new version
					   replaces the data (store_node_reset):
					   handles opened before read no more */
	int writers;			/* open handles that may write */
	int openers;			/* open handles */
	struct fetch_job *jobs;		/* fetches in flight (fetch.c) */
	struct fetch_async *asyncs;	/* requests pending on them (fetch.c) */
	int fetching;			/* how many; store waits for 0 */
	uint64_t fetch_epoch;		/* bumped to cancel them all (written
					   under lock, atomically: fetch jobs
					   read it without) */
	uint64_t ra_next;		/* sequential-read detection */
	uint64_t ra_window;		/* current readahead window */
	struct xfer *xfer;		/* hydration in progress (fetch.c) */
	bool free_after_upload;		/* a copy of a local file (clone.c);
					   saved as the entry's spool mark */
	uint64_t copy_of;		/* server-side copy of this inode */
	char copy_etag[REMOTE_ETAG_MAX];/* at this version (store_node_adopt) */
	int copies_from;		/* copies reading it, in progress */
	bool copied_out;		/* one was made, it is still open */
	bool drop_wanted;		/* closed by its placeholder readers
					   before a copy of it ended */
	uint64_t plan_src;		/* written as a copy of this inode... */
	char plan_etag[REMOTE_ETAG_MAX];/* ...at this version, */
	uint64_t plan_gen;		/* and unchanged since this write_gen:
					   its upload may be a remote copy
					   (store_node_plan_copy) */
	struct backing *bk;		/* bytes kept in a local source: the
					   node holds one reference to it and
					   the backing one to the node */
	bool clone_rec;			/* a clones row exists (meta.h) */
	bool clone_lost;		/* it says the bytes are in a source
					   that is gone or changed: reads of
					   them fail (EIO) until rewritten */
	int fast_opens;			/* handles on the kernel's fast path
					   (store_fast.c) */
	int fast_writers;		/* of them, those that may write */
	int cached_opens;		/* handles in the kernel's cached
					   mode: never mixed with fast ones */
	int fast_id;			/* the front end's id of the cache
					   file while fast_opens > 0 */
	off_t fast_size;		/* the cache file's size, mtime and */
	struct timespec fast_mtime;	/* ctime as the first fast writer */
	struct timespec fast_ctime;	/* found them */
	bool fast_was_clean;		/* clean before the first fast writer */
	uint64_t fast_gen;		/* write_gen as it marked n dirty */
	bool fast_stale;		/* written on the fast path: pages the
					   kernel cached before are stale */
	bool fast_reset;		/* a new remote version waits for the
					   last fast handle: */
	uint64_t fast_reset_size;	/* its size */
	char fast_reset_etag[REMOTE_ETAG_MAX];	/* and etag */
	char *remote_path;		/* cached path; under lock */
	uint64_t path_gen;		/* store->rename_gen it was made at */
};

/* Waits under the lock for n->cond (a fetch ended), which drops it
 * meanwhile; for the fetch engine and the store. */
void store_node_wait(struct node *n);
/* Whether [off, off+len) needs no fetch; under n->lock. */
bool store_node_has(const struct node *n, uint64_t off, uint64_t len);
/*
 * Marks [off, off+len) present once a fetch has written it into n->fd
 * (n->lock is taken inside); bytes at or beyond base are ignored. A fetch
 * writes only into a gap, and nothing else writes into a gap, so the
 * bytes it wrote are still there.
 */
void store_node_mark(struct node *n, uint64_t off, uint64_t len);
/*
 * Cancels the fetches in flight on n and waits for them to end, before
 * the cache file is cut or reset under them; under n->lock.
 */
void store_node_quiesce(struct node *n);

/*
 * A change of n through the store (a setattr) while fast writers have it
 * open (store_fast.c): before it (after false), what they wrote so far
 * becomes n's; after it, the cache file as it is now is what the last
 * fast close compares with, so that an mtime set by the change stays
 * unless they write again. Under n->lock; nothing without fast writers.
 */
void store_fast_settle_locked(struct node *n, bool after);
/* What fast writers of n wrote so far becomes n's (size, mtime, dirty),
 * and the reference moves to now: for a commit, which records the file as
 * it is. Under n->lock; nothing if they wrote nothing. */
void store_fast_absorb_locked(struct node *n);
/* Learns whether the file system of cache directory dir has fine-grained
 * timestamps (what tells a fast writer that wrote nothing). */
void store_fast_probe(const char *dir);
/* Whether fast writers have n open and moved its cache file since that
 * reference; st gets the file's state then. Under n->lock. */
bool store_node_fast_moved_locked(struct node *n, struct stat *st);

/* Helpers the store's own files share; no other module calls them. */

/* Notes a change of data ending at end, under n->lock; true if n was clean. */
bool store_note_write(struct node *n, uint64_t end);
/* Whether n is a copy of a local file (backed, or with a clone record). */
bool store_is_copy(struct node *n);
/* Makes n, a copy rewritten by a program, an ordinary file again. */
void store_forget_clone(struct store *s, struct node *n);
/* Lets n's source and record go if n is a deleted copy no handle has open. */
void store_drop_orphan_backing(struct store *s, struct node *n);
/* The same for file ino, if its node is loaded (its last name went). */
void store_let_go_orphan(struct store *s, uint64_t ino);

#endif
