/*
 * The filter stack. Every file-system request is turned by the front end
 * into a struct fop and run through the filters, highest first. A filter's
 * pre hook either passes the op down or completes it (sets op->result
 * and returns FILTER_DONE); an op that every filter passes is executed by
 * the local store at the bottom. Post hooks then run bottom-up for the
 * filters the op went through, and see the result.
 *
 * Adding a filter: write filter/<name>.c defining a const struct
 * filter_ops, and add it to the table in filter.c.
 */
#ifndef CD_FILTER_H
#define CD_FILTER_H

#include "common.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include "remote/remote.h"
#include "store/store.h"
#include "sync/fetch.h"
#include "sync/sync.h"
#include "sync/residency.h"
#include "util/stats.h"
#include "util/xfer.h"

enum fop_kind {
	FOP_LOOKUP,
	FOP_GETATTR,
	FOP_SETATTR,
	FOP_READLINK,
	FOP_MKNOD,
	FOP_MKDIR,
	FOP_SYMLINK,
	FOP_UNLINK,
	FOP_RMDIR,
	FOP_RENAME,
	FOP_LINK,
	FOP_OPEN,
	FOP_CREATE,
	FOP_READ,
	FOP_WRITE,
	FOP_FLUSH,
	FOP_RELEASE,
	FOP_FSYNC,
	FOP_OPENDIR,
	FOP_READDIR,
	FOP_STATFS,
	FOP_SETXATTR,
	FOP_GETXATTR,
	FOP_LISTXATTR,
	FOP_REMOVEXATTR,
	FOP_COPY,		/* copy_file_range: file -> file2 */
	/* the drive's own operations: from the control socket (the CLI)
	 * and from the user.clonedrive.* xattrs, through the same stack */
	FOP_PIN,		/* ino (a tree) to pin state flags */
	FOP_HYDRATE,		/* fetch the tree at ino; flags: FOP_F_PIN */
	FOP_FREE,		/* drop what is in sync of the tree at ino */
	FOP_SYNC,		/* wait size ms for the journal to drain */
	FOP_REFRESH,		/* poll the remote now */
	FOP_CLONE,		/* the new empty file ino gets src_fd's bytes */
	FOP_STATUS,		/* what ino is: a struct entry_status in out */
	FOP_COUNT
};

/* What the clone filter knows of a handle's writes. */
enum file_clone {
	FILE_CLONE_UNKNOWN,	/* nothing written yet */
	FILE_CLONE_PROBING,	/* its first write is being compared */
	FILE_CLONE_CANDIDATE,	/* writing a copy of a source, so far */
	FILE_CLONE_NOT,
};

/* How a handle's copy keeps its bytes (clone filter). */
enum clone_how {
	CLONE_HOW_SPOOL,	/* stored as written; dropped once uploaded */
	CLONE_HOW_REFLINK,	/* cloned from the source into the cache */
	CLONE_HOW_BACKED,	/* not stored: the source has them */
	CLONE_HOW_MOUNT,	/* a file of the drive's own: stored as
				   written, uploaded as a remote copy */
};

struct hash;

/* An open regular file: the FUSE file handle. */
struct file {
	struct node *n;		/* referenced for the handle's life */
	int flags;		/* open(2) flags */
	bool writer;		/* opened for writing */
	bool closing;		/* closed (flushed), its release to come */
	bool placeholder;	/* a reader's, of a file holding no data */
	uint64_t version;	/* the node's version at open (store.h) */
	enum file_clone clone;	/* the clone filter's; under n->lock */
	uint64_t clone_size;	/* the source's size; under n->lock */
	uint64_t clone_next;	/* where the next write of a copy goes */
	bool clone_busy;	/* a write of the copy is being checked */
	enum clone_how clone_how;
	int clone_fd;		/* the source, once found; else -1 */
	struct node *clone_src;	/* or a file of the drive (referenced) */
	uint64_t clone_src_gen;	/* its write_gen when found */
	char clone_src_etag[REMOTE_ETAG_MAX];	/* and its version */
	struct hash *clone_hash;/* reflinked copies: of the bytes written */
	bool fast;		/* on the kernel's fast path (passthrough) */
	const char *veto;	/* if not: why (a fixed string) */
	struct file *prev;	/* the front end's list of open files */
	struct file *next;
};

struct fop;
/* Lets a filter be told when the request is interrupted (fn NULL: stop
 * telling). Provided by the front end. */
typedef void (*fop_interrupt_fn)(struct fop *op, void (*fn)(void *arg),
				 void *arg);

/* One request. Inputs are set by the front end; outputs by whoever
 * completes it. */
struct fop {
	enum fop_kind kind;
	pid_t pid;			/* requesting process */
	uid_t uid;
	gid_t gid;
	uint64_t ino;			/* target; the parent for name ops */
	const char *name;		/* name ops */
	uint64_t newparent;		/* rename */
	const char *newname;		/* rename; xattr name */
	unsigned flags;			/* rename, open, setxattr, fsync */
	uint32_t mode;			/* mknod, mkdir, create */
	uint64_t rdev;			/* mknod: a device node's number */
	const char *link;		/* symlink target */
	struct stat attr;		/* setattr input */
	int to_set;			/* setattr: enum store_set */
	uint64_t off;			/* read, write */
	size_t size;			/* read, write, xattr buffers */
	const void *in;			/* write data, xattr value */
	struct file *file;		/* read, write, flush, release, fsync,
					   copy (source) */
	struct file *file2;		/* copy: destination */
	uint64_t off2;			/* copy: offset in the destination */
	struct jop *jop;		/* remote change to journal with op */
	fop_interrupt_fn set_interrupt;	/* from the front end */
	void *fe;			/* front end's private data */
	int (*fill)(void *arg, const struct meta_entry *e);	/* readdir */
	void *fill_arg;
	uint64_t after;			/* readdir: resume after this inode */
	int64_t start_ns;		/* when the op entered the stack */

	/* a request that pends (pend.c): it waits holding no thread */
	struct fs *fs;			/* set by filter_run/filter_submit */
	struct filter_env *env;		/* &fs->env, for the filters */
	void (*done)(struct fop *op);	/* told once it is complete, after
					   the post hooks; NULL: filter_run */
	void *done_arg;
	int pend_filter;		/* the filter it pended in */
	int pend_refs;			/* atomic; see pend.c */
	int waited;			/* its wait's outcome, for the filter */
	int waited_rc;			/* pend.c's */
	int stage;			/* the pending filter's progress */
	bool pended;			/* counted as pending, inputs kept */
	bool queued;			/* in a queue of pend.c */
	bool polled;			/* that queue: the conditions' */
	bool cancel;			/* atomic: interrupted while polled */
	int tries;			/* reads run again (filter.c) */
	char *kept;			/* the inputs kept, one block */
	struct fop *qnext;		/* pend.c's queues */
	int (*work)(struct fop *op);	/* what the slow lane does, or the
					   condition waited for */
	int64_t deadline_ns;		/* of a condition */
	int64_t since_ns;		/* when the filter's wait began */
	struct fetch_async fetch;	/* a fetch waited for */
	void *wait_arg;			/* the filter's, for its wait */
	/* the drive's own operations */
	bool ctl;			/* from the control socket: its
					   permissions are checked here */
	int src_fd;			/* clone: the source, the caller's */
	res_progress_fn progress;	/* hydrate: told as it goes */
	void *progress_arg;
	uint64_t left;			/* hydrate: bytes evicted again */
	char *report;			/* free: what was kept and why; hydrate:
					   the file that failed; status: the
					   source of a copy (op frees) */

	int result;			/* 0, a count, or -errno */
	struct meta_entry entry;	/* lookup, mknod, setattr, ... */
	struct stat st;			/* attributes to reply with */
	void *out;			/* read, getxattr, listxattr, readlink */
	size_t out_len;
	struct statvfs stv;		/* statfs */
};

/* Programs whose reads must not download (the "automatic file
 * downloads" control): their reads of data not held locally fail. */
struct hydration_policy {
	char **programs;		/* executable names; NULL: none */
	size_t count;
	int err;			/* the errno they get */
	pthread_mutex_t lock;		/* protects last */
	char last[512];			/* the last read refused, for status */
};

/* EAGAIN, EIO, ... by name; 0 if not one a policy may choose. */
int policy_parse_errno(const char *name);
/* names: comma-separated executable names, or NULL. */
void policy_init(struct hydration_policy *p, const char *names, int err);
void policy_release(struct hydration_policy *p);

/* What becomes of copies into the drive (--clone). */
enum clone_mode {
	CLONE_OFF,
	CLONE_SPOOL,		/* stored, uploaded, then dropped locally */
	CLONE_INPLACE,		/* not stored; uploaded from the source */
	CLONE_GUARD,		/* not stored; the source guarded */
	CLONE_REFLINK,		/* reflinked into the cache */
	CLONE_AUTO,		/* reflink, else guard, else spool */
};

/* The policy's name, and back (-1 if none). */
const char *clone_mode_name(enum clone_mode m);
int clone_mode_parse(const char *name);

struct guard;
struct fs;
/*
 * What the policy of fs comes to on this mount, as the chain of ways a
 * copy's bytes are kept ("reflink, else guard, else spool"). When guard
 * or auto asked for a guard that cannot be had, why gets the reason
 * ("fanotify pre-content events need root"), else "".
 */
const char *clone_policy(const struct filter_env *env, char *why, size_t size);
/*
 * Guards the sources of copies not stored (guard.c). open: -EPERM and
 * the like where fanotify pre-content events cannot be had. add marks
 * bk's source and sets bk->on_release to unmark it; -EBUSY if another
 * process already has the source open for writing. closed: bk's writer
 * is done, its reads are no longer the copy's.
 */
int guard_open(struct filter_env *env, struct guard **out) CD_WUR;
void guard_close(struct guard *g);
int guard_add(struct guard *g, struct backing *bk) CD_WUR;
void guard_closed(struct guard *g, struct backing *bk);
/*
 * Makes n, a new empty file, a copy of src (clonedrive cp): reflinked
 * into the cache where it can be, else backed by src (guard, inplace),
 * hashed now. -EOPNOTSUPP: the caller stores the bytes.
 */
int clone_from_fd(struct filter_env *env, struct node *n, int src,
		  const struct stat *st) CD_WUR;
/* Makes n, a new file, a copy of size bytes just made (clonedrive cp):
 * dirty, to upload, and its data dropped after. */
int filter_clone_commit(struct filter_env *env, struct node *n,
			uint64_t size) CD_WUR;
/* Restores the copies that were waiting for their upload at the last
 * stop (clone.c), before the sync engine starts. */
int clone_restore(struct filter_env *env) CD_WUR;

struct pender;
struct fast_vetoes;

/* --passthrough: whether opens may take the kernel's fast path. */
enum fastpath_mode {
	FASTPATH_AUTO,		/* where it can be had (default) */
	FASTPATH_ON,		/* the same, and an error logged if not */
	FASTPATH_OFF,		/* never */
};

/* The mode's name, and back (-1 if none). */
const char *fastpath_mode_name(enum fastpath_mode m);
int fastpath_mode_parse(const char *name);

/*
 * What a filter is given to work with: the layers below it (the store,
 * the sync engine, the fetcher, the remote) and the mount's settings and
 * counters. Not the daemon: the stack itself, the front end and the
 * control socket are out of a filter's reach, and a filter keeps its own
 * state in its priv.
 */
struct filter_env {
	struct store *store;
	struct remote *remote;
	struct fetcher *fetcher;
	struct sync *sync;
	struct residency *res;
	struct stats stats;
	struct xfers xfers;		/* transfers in flight */
	struct hydration_policy policy;
	enum clone_mode clone_mode;
	struct guard *guard;		/* the clone filter's; NULL: no guarded
					   copies */
	int guard_error;		/* why guard or auto has none: -errno */
	dev_t mount_dev;		/* of the mount, once mounted */
	int mount_id;			/* its mountinfo id, or -1 */
	bool trace;			/* --trace */
	bool readonly;			/* -o ro */
	char *control_path;		/* the control socket, or NULL */
	struct pender *pend;		/* requests pending (pend.c) */
	unsigned max_pending;		/* the most at once; 0: no limit */
	enum fastpath_mode fastpath;	/* --passthrough */
	/* The kernel's fast path of each open of ino, one line each
	 * ("passthrough", or "cached: REASON"), or "" (caller frees);
	 * set by the front end, NULL before it mounts. */
	char *(*fast_opens)(void *arg, uint64_t ino);
	void *fast_arg;
	struct fast_vetoes *vetoes;	/* count of each reason (filter.c) */
};

/* The mounted file system: the filters' environment, and the stack. */
struct fs {
	struct filter_env env;		/* what the filters see */
	double timeout;			/* entry/attr timeouts for the kernel */
	struct filter *filters;		/* the stack, highest first */
	int nfilters;
};

/* FOP_STATUS: what clonedrive status says of one entry. */
struct entry_status {
	uint32_t mode;
	uint64_t size;
	uint64_t local;			/* bytes of it held here */
	const char *state;		/* placeholder, partial, hydrated... */
	const char *pin;		/* pinned, unpinned, unspecified */
	bool pin_inherited;
	bool spool;			/* a copy of a local file: online only
					   once uploaded */
	bool error;			/* the last remote op on it failed */
	bool backed;			/* a copy whose bytes are only in its
					   source (op->report names it) */
};

/* FOP_HYDRATE: pin the tree first; FOP_SYNC: then wait for a poll. */
#define FOP_F_PIN 1u
#define FOP_F_POLL 1u

enum filter_verdict {
	FILTER_PASS,
	FILTER_DONE,
	FILTER_PENDING,	/* see pend.c: the pre hook runs again later */
};

struct filter;

struct filter_ops {
	const char *name;
	/* Whether the filter is wanted for this mount (NULL: always). */
	bool (*enabled)(const struct filter_env *env);
	/* Called once at mount; priv is the filter's to set. */
	int (*init)(struct filter *f);
	void (*release)(struct filter *f);
	/* Before the layers below; may complete the op. NULL: pass. */
	enum filter_verdict (*pre)(struct filter *f, struct fop *op);
	/* After the layers below, with op->result. NULL: nothing. */
	void (*post)(struct filter *f, struct fop *op);
	/*
	 * The veto of the fast path (FUSE passthrough, where the kernel
	 * reads and writes the cache file itself and no filter sees the
	 * data), asked for each open and create that succeeded (op->file
	 * set): NULL to allow it, else why not, a short fixed string in
	 * the filter's words, which status, the fastpath xattr, the stats
	 * and --trace show. A file already open on the fast path takes
	 * later opens on it whatever the vetoes (the kernel fails an open
	 * in the other mode); a filter that must see the data of an open
	 * must therefore veto its first one. NULL: never vetoes.
	 */
	const char *(*fastpath)(struct filter *f, const struct fop *op);
};

struct filter {
	const struct filter_ops *ops;
	struct filter_env *env;		/* what it may use */
	void *priv;			/* its own state */
};

/* Builds the stack of the enabled built-in filters. */
int filter_stack_init(struct fs *fs) CD_WUR;
void filter_stack_release(struct fs *fs);
/* Runs op through the stack and the store, and returns when it is
 * complete (a pending op is waited for). */
void filter_run(struct fs *fs, struct fop *op);
/* Runs op through the stack and the store; op->done(op) is called once
 * it is complete, by this thread or, if it pended, by the one that ends
 * its wait. op must then live until done. */
void filter_submit(struct fs *fs, struct fop *op);

/*
 * Pending (pend.c). A pre hook that must wait returns what one of these
 * returns (FILTER_PENDING); its hook is called again once the wait is
 * over, with the outcome in op->waited (op->stage is the filter's own to
 * tell where it was). Over the limit of requests pending, they wait in
 * place instead, which the hook does not see.
 */
int pend_init(struct fs *fs) CD_WUR;
/* Ends every wait of the slow lane and of conditions (-ECANCELED) and
 * has them waited for in place from then on. */
void pend_stop(struct fs *fs);
/* At the end: every wait ends (fetches not started too) and the requests
 * still pending are waited for, so that their files may go. */
void pend_drain(struct fs *fs);
void pend_release(struct fs *fs);
/* Requests pending now, and the most at once so far. */
unsigned pend_count(struct filter_env *env, unsigned *peak);
/* Readies op to pend (its inputs are copied: the front end's buffers go
 * with its worker); false over the limit. For waits other than those
 * below; the wait must end with fop_wake. */
bool fop_pend(struct fop *op) CD_WUR;
/* The wait op pended on is over, with rc: op goes on. */
void fop_wake(struct fop *op, int rc);
/* A wait done in place, over at once with rc: op goes on. */
enum filter_verdict fop_woken(struct fop *op, int rc);
/* Runs work(op) on the slow lane (a remote round trip), and goes on with
 * its result. */
enum filter_verdict fop_defer(struct fop *op, int (*work)(struct fop *op));
/* Goes on when ready(op) returns other than -EAGAIN (checked every 50 ms,
 * on a thread that must not block long), or with -ETIMEDOUT. */
enum filter_verdict fop_wait_until(struct fop *op,
				   int (*ready)(struct fop *op),
				   uint64_t timeout_ms);
/* If op still waits in the slow lane's queue or for a condition, it goes
 * on with -EINTR (for an interrupted request). */
void fop_cancel_wait(struct fop *op);
/* Copies the inputs of op that point into the front end's buffers. */
void fop_keep_inputs(struct fop *op);
/* Called as op completes (filter.c). */
void fop_unpend(struct fop *op);
/* The first veto of the fast path for op (an open or create that
 * succeeded), from the top of the stack down, or NULL. */
const char *filter_fastpath_veto(struct fs *fs, const struct fop *op);
/* Counts an open given the fast path (reason NULL), or vetoed for
 * reason; the stats text shows one line per reason. */
void fast_vetoes_count(struct filter_env *env, const char *reason);
/* Appends the counts to o (stats text: fastpath_veto.SLUG=N). */
struct textbuf;
void fast_vetoes_text(struct filter_env *env, struct textbuf *o);
/* Frees the counts at the end. */
void fast_vetoes_free(struct filter_env *env);

/* The name of an op kind, for logs. */
const char *fop_name(enum fop_kind kind);

/* The user.clonedrive.state of inode ino: placeholder, partial,
 * hydrated, dirty, uploading or error. */
const char *cloudfiles_state(struct filter_env *env, uint64_t ino);
/* The source a copy of a local file is made from, until it is uploaded
 * (caller frees), or NULL; *backed: whether its bytes are only there. */
char *cloudfiles_copy_source(struct filter_env *env, uint64_t ino,
			     bool *backed);

/* The user.clonedrive.fastpath of ino: the kernel's fast path of each
 * of its opens, one line each ("passthrough", "cached: REASON"), or
 * "not open". Caller frees. */
char *cloudfiles_fastpath_text(struct filter_env *env, uint64_t ino);

/* The effective pin state of ino by name (pinned, unpinned,
 * unspecified); inherited, if non-NULL, says whether it comes from above. */
const char *cloudfiles_pin_name(struct filter_env *env, uint64_t ino,
				bool *inherited);
/* enum meta_pin by name (pinned, unpinned, unspecified), or -1. */
int cloudfiles_pin_parse(const char *name);
/* The user.clonedrive.progress of ino: one line per transfer in flight
 * ("hydrating DONE/TOTAL bytes RATE B/s"), or "idle". Caller frees. */
char *cloudfiles_progress(struct filter_env *env, uint64_t ino);

/* The built-in filters, highest first in filter.c's table. */
extern const struct filter_ops trace_filter;
extern const struct filter_ops cloudfiles_filter;
extern const struct filter_ops clone_filter;

#endif
