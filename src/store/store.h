/*
 * The local store: the metadata database plus the cache data files, and
 * the in-memory state of files in use (nodes). It is the bottom of the
 * filter stack: a local file system that knows nothing of remotes except
 * what the entries record (the version their data is based on, which
 * ranges are hydrated) and the journal entries callers hand it to commit
 * together with a change.
 *
 * Lock order: store->nodes_lock, then node->lock, then the metadata
 * mutex. Never hold a node lock across remote I/O.
 */
#ifndef CD_STORE_H
#define CD_STORE_H

#include "common.h"

#include <assert.h>
#include <pthread.h>
#include <sys/stat.h>

#include "store/cache.h"
#include "store/meta.h"

struct hash;

/*
 * Bytes [0, len) of a file that the clone filter acknowledged without
 * storing them: they are a local source file's, read through fd, until
 * the file is uploaded or they are copied into the cache (materialized).
 * Shared by the node and whoever reads the source (an upload), so it is
 * counted; everything but refs is under the node's lock.
 */
struct backing {
	int refs;			/* atomic */
	int fd;				/* the source, read-only; owned */
	uint64_t len;			/* bytes acknowledged */
	struct hash *hash;		/* of those bytes, as written */
	unsigned char digest[HASH_LEN];	/* of all of them, once closed */
	bool closed;			/* the writer is done: a whole copy */
	bool materialized;		/* no longer the node's */
	char *source;			/* the source's path, for messages */
	dev_t dev;			/* and identity */
	ino_t src_ino;
	int64_t ctime_ns;		/* its ctime when last checked */
	int policy;			/* enum clone_mode */
	uint64_t ino;			/* the copy's inode */
	pid_t writer;			/* the copying process, until closed */
	/* told when the backing ends (guard marks); set before use */
	void (*on_release)(void *arg, struct backing *bk);
	void *release_arg;
};

/*
 * A regular file in use: open, being hydrated or being uploaded. Private
 * to the store (store_int.h) and, as the one exception, to the fetch
 * engine (src/sync/fetch.c), which keeps its jobs on the node and reads
 * its extents under the node's lock. Everyone else uses the functions
 * below, which take the lock themselves.
 */
struct node;

/* Takes over the last reference of a node whose state needs saving. */
typedef void (*store_defer_fn)(void *arg, struct node *n);

struct store {
	struct meta *meta;		/* the database */
	struct cache *cache;		/* the data files */
	uid_t uid;			/* owner shown for every entry */
	gid_t gid;			/* that records none */
	bool keep_owners;		/* entries record their owners (else
					   all are uid's and gid's); set
					   before use */
	pthread_mutex_t nodes_lock;	/* protects the node table */
	struct node **table;		/* hash of nodes by inode */
	size_t buckets;
	uint64_t rename_gen;		/* bumped by every rename (atomic) */
	uint64_t materialized_bytes;	/* backed bytes copied into the cache
					   (atomic) */
	store_defer_fn defer;		/* set once before use; NULL: inline */
	void *defer_arg;
};

/*
 * A node's lock, which protects its state and, for the filters, what
 * they keep per handle of the file (the clone filter's state of a
 * handle). Not recursive: no function of the store may be called with it
 * held unless it says so. Debug builds (assertions on) record which
 * thread holds it, for store_node_assert_locked(); with NDEBUG these are
 * the bare mutex and the assertion costs nothing.
 */
void store_node_lock(struct node *n);
void store_node_unlock(struct node *n);
#ifdef NDEBUG
#define store_node_assert_locked(n) ((void)sizeof(n))
#else
/* Whether the calling thread holds n's lock (debug builds only). */
bool store_node_is_locked(const struct node *n);
#define store_node_assert_locked(n) assert(store_node_is_locked(n))
#endif

/* Opens the store in dir (created if needed). */
int store_open(const char *dir, uid_t uid, gid_t gid,
	       struct store **out) CD_WUR;
void store_close(struct store *s);

/* What the remote keeps of entry e: its permissions, its owner (where
 * owners are kept and e records one) and its mtime. */
struct remote_meta store_remote_meta(const struct store *s,
				     const struct meta_entry *e);

/* Fills st from an entry: owner, sizes, times, and st_blocks = bytes
 * held locally. */
void store_fill_stat(struct store *s, const struct meta_entry *e,
		     struct stat *st);

/*
 * Finds or loads the node of regular file ino, opening (creating) its
 * cache file. A new cache file is sized to the entry's size; an existing
 * one of a dirty entry gives the size (it survived a crash), and one of
 * a clean entry whose size disagrees is reset. Caller drops the
 * reference with store_node_put(). -EISDIR for a directory, -ENXIO for
 * a special file (no data to hold), -EINVAL for a symlink.
 */
int store_node_get(struct store *s, uint64_t ino, struct node **out) CD_WUR;
void store_node_put(struct store *s, struct node *n);
/*
 * Saving a node's hydrated extents means an fdatasync of what was
 * fetched, too slow for the last close (the kernel holds the next open
 * of the file until the release is answered). With a defer function
 * set, the last store_node_put() of a node with unsaved extents hands
 * its reference to it instead; it must end with store_node_put_saved().
 */
void store_set_defer(struct store *s, store_defer_fn fn, void *arg);
/* Saves n's state and drops the reference, never deferring. */
void store_node_put_saved(struct store *s, struct node *n);
/* The same, but a save that fails keeps n and the caller's reference:
 * -EAGAIN, to try again later (the deferred saver's way). */
int store_node_put_retry(struct store *s, struct node *n) CD_WUR;
/* Whether n's last put could not save it (and handed it to the saver). */
bool store_node_save_failed(struct node *n);
/* Takes another reference to n, which the caller already holds one to;
 * needs no lock, so it may be called under n->lock. */
void store_node_ref(struct node *n);
/* The node of ino if one is loaded (referenced), else NULL. */
struct node *store_node_find(struct store *s, uint64_t ino);

/* The inode of n's file (fixed for the life of the node). */
uint64_t store_node_ino(const struct node *n);
/*
 * n's cache file, read-write, valid while the caller holds its reference.
 * It holds the file's data where n says it is local; bytes written into
 * it behind the store's back must be reported (store_node_copied).
 */
int store_node_cache_fd(const struct node *n);

/* The state of a node at one moment, taken under its lock. */
struct node_state {
	uint64_t size;			/* logical size */
	uint64_t base;			/* [0, base) is the remote version's */
	char etag[REMOTE_ETAG_MAX];	/* that version; "" if never uploaded */
	uint64_t write_gen;		/* changes with every change of data */
	uint64_t version;		/* changes when the remote's version
					   replaces the data */
	bool dirty;			/* local content newer than remote */
	bool uploading;			/* an upload is running */
	bool error;			/* last remote operation failed */
	bool copy;			/* a copy of a local file, recorded as
					   one (meta_clone_*) */
	bool backed;			/* some of its bytes are a local
					   source's (struct backing) */
	bool spool;			/* its data goes once it is uploaded */
	bool fast_clean;		/* dirty only as the mark of a writer
					   on the fast path of a file that was
					   clean: its object on the remote is
					   its own version (store_fast.c) */
	int writers;			/* open handles that may write */
	int openers;			/* open handles */
	uint64_t copy_of;		/* a server-side copy of this inode */
	char copy_etag[REMOTE_ETAG_MAX];/* at this version */
};

/* Fills st with n's state; takes n's lock (the _locked form asserts that
 * the caller holds it). */
void store_node_snapshot(struct node *n, struct node_state *st);
void store_node_snapshot_locked(struct node *n, struct node_state *st);

/*
 * Handles. opened counts a new handle of n (writer: one that may write)
 * and, if st is not NULL, fills it with the state the handle opens.
 * closed uncounts it after its close: a deleted copy no handle has open
 * then lets its source go (removing or renaming over one does the same at
 * once). replaced tells whether the remote's newer version replaced the
 * data since a handle opened it at version (st->version).
 */
void store_node_opened(struct node *n, bool writer, struct node_state *st);
void store_node_closed(struct store *s, struct node *n, bool writer);
bool store_node_replaced(struct node *n, uint64_t version);

/* Whether [off, off+len) of n needs no fetch; takes n's lock. */
bool store_node_holds(struct node *n, uint64_t off, uint64_t len);
/* How many bytes from off a read of [off, off+len) must have fetched
 * first: 0 if all it returns (up to the file's size) is local. */
uint64_t store_node_read_gap(struct node *n, uint64_t off, uint64_t len);
/* What a write of [off, off+len) needs first: the bytes around it must
 * be local, and known to be after a crash, before new ones land. */
enum store_write_need {
	STORE_WRITE_FREE,		/* at or beyond base: nothing */
	STORE_WRITE_SAVE,		/* hydrated: save the extents */
	STORE_WRITE_FETCH,		/* not all hydrated: fetch it */
};
enum store_write_need store_node_write_need(struct node *n, uint64_t off,
					    uint64_t len);
/*
 * Sequential-read detection, for a read of [off, off+len): one that
 * starts where the last one ended (and not at 0) grows n's readahead
 * window to twice its size, at least min and 2 * len, at most max;
 * another resets it. Returns how many bytes from *start (the read's end)
 * to prefetch: the window, or 0 if none or all of it is local.
 */
uint64_t store_node_readahead(struct node *n, uint64_t off, uint64_t len,
			      uint64_t min, uint64_t max, uint64_t *start);

/*
 * Uploads (the sync engine). begin fixes what an upload of n sends and
 * marks n uploading; written_since tells whether n's data changed since
 * write generation gen; end records the outcome rc: the version etag
 * made (rc 0) is the one later uploads replace, and if nothing was
 * written meanwhile n is clean, its data that version (a placeholder of
 * it if the bytes came from a backing); -EILSEQ puts n in error.
 */
struct node_upload {
	uint64_t gen;			/* write_gen when it started */
	uint64_t size;			/* bytes sent */
	int64_t mtime_ns;		/* their mtime */
	bool copy;			/* a recorded copy of a local file */
	char match[REMOTE_ETAG_MAX];	/* the version it replaces */
};
void store_node_upload_begin(struct node *n, struct node_upload *u);
bool store_node_written_since(struct node *n, uint64_t gen);
void store_node_upload_end(struct node *n, const struct node_upload *u,
			   int rc, const char *etag, bool backed);
/* The remote's metadata gives n, unless it is dirty, the mtime its
 * entry now has. */
void store_node_take_mtime(struct node *n, int64_t mtime_ns);
/* Marks n's last remote operation failed, or not. */
void store_node_set_error(struct node *n, bool error);
/* The remote's version of n is now etag, a new version of the same bytes
 * (a setattr, a rename by copy); a file never uploaded keeps none. */
void store_node_renew_version(struct node *n, const char *etag);
/* The remote's version of n is etag, which holds n's data (an upload of
 * ours found there): what n's changes are based on from now on. */
void store_node_set_version(struct node *n, const char *etag);
/* n, never uploaded, replaces etag on the remote when it is (a rename of
 * it replaced that version); unless it was uploaded meanwhile. */
void store_node_replace_version(struct node *n, const char *etag);

/* The path of n in the namespace (caller frees), cached in the node until
 * a rename anywhere makes it doubtful. */
int store_node_path(struct store *s, struct node *n, char **path) CD_WUR;
/* Where the remote has n's data now (caller frees): its path, taken
 * back through the renames not yet made on the remote. A rename made
 * meanwhile makes it stale: a fetch that finds nothing asks again. */
int store_node_remote_path(struct store *s, struct node *n,
			   char **path) CD_WUR;
/*
 * The kernel's fast path (FUSE passthrough, store_fast.c): a handle on it
 * reads and writes n's cache file directly, never through the store. The
 * kernel mixes no such handle with one in its cached mode on one inode,
 * and takes one cache file per inode, so the node counts both kinds.
 *
 * fast_open counts a new handle of n. want says whether the layers above
 * let it take the fast path. It does if n already has fast handles (the
 * kernel would refuse the open otherwise; n's data is whole while they
 * last), else if want and n holds all its data, is no copy of a local
 * file and has no cached handle: get_id(arg, fd) is then called, under
 * n's lock, to have the kernel take the cache file fd; it returns the
 * id (> 0) or -errno. Returns 0 and *id for a fast handle; otherwise
 * the handle is counted as cached and -EBUSY comes with *why (a fixed
 * string) unless the caller's reason stands (want false), or get_id's
 * -errno. The first fast writer marks n dirty (saved) before the kernel
 * may write. *stale (cached handles) says that data written on the fast
 * path since the kernel last cached pages of n makes them stale.
 *
 * fast_close uncounts a handle (fast: whether it was). The last fast
 * writer compares the cache file with what the first found: data
 * written behind the store makes n dirty (saved), its size and mtime
 * the file's; a file left as it was is clean again if it was before.
 * The last fast handle gives back *id (> 0) to release, else *id is 0,
 * and applies a new remote version that waited for it (*reset_done:
 * the kernel's attributes and pages of n are stale then). Returns
 * -errno if n's new state cannot be saved.
 *
 * While a fast handle is open, n's data is never dropped or replaced
 * (store_node_drop and _adopt refuse; a reset waits for fast_close).
 */
typedef int (*store_fast_id_fn)(void *arg, int fd);
int store_node_fast_open(struct store *s, struct node *n, bool writer,
			 bool want, store_fast_id_fn get_id, void *arg,
			 int *id, const char **why, bool *stale);
int store_node_fast_close(struct store *s, struct node *n, bool fast,
			  bool writer, int *id, bool *reset_done) CD_WUR;
/* Fast handles of n now (all, and writers), and cached ones. */
void store_node_fast_count(struct node *n, int *fast, int *writers,
			   int *cached);
/* Bytes of [0, base) of file ino held locally, from its node if it is in
 * use, else from its saved extents; *base gets base. */
uint64_t store_held(struct store *s, uint64_t ino, uint64_t *base);
/* Saves the hydrated extents if they changed, after syncing the data
 * they describe. Takes n->lock. */
int store_node_save(struct store *s, struct node *n) CD_WUR;
/* Drops all local data of n and sets it to a new remote version;
 * -EBUSY (and nothing changed) if n is dirty or uploading; -EAGAIN if
 * it is open on the kernel's fast path: done at its last fast close,
 * unless written meanwhile. */
int store_node_reset(struct store *s, struct node *n, uint64_t size,
		     const char *etag) CD_WUR;

/*
 * Drops all local data of n, an open file, keeping it a placeholder of
 * the same remote version; -EBUSY if it is dirty, uploading, in error,
 * never uploaded, or open for writing. *freed gets the bytes returned.
 */
int store_node_drop(struct store *s, struct node *n, uint64_t *freed) CD_WUR;
/*
 * Makes n a placeholder of a new remote version made without data
 * passing through here (a server-side copy of inode src at version
 * src_etag): no local data, clean, size and mtime of that version.
 * -EAGAIN if n was written since its write_gen was gen.
 */
int store_node_adopt(struct store *s, struct node *n, uint64_t gen,
		     const struct remote_attr *a, uint64_t src,
		     const char *src_etag) CD_WUR;
/*
 * Drops the local data of ino, a file not in use (no node): its cache
 * file and its extents. -EBUSY if it is in use, dirty or in error.
 */
int store_evict(struct store *s, uint64_t ino, uint64_t *freed) CD_WUR;

/*
 * The store's part of copies of local files (copy-as-clone), all of it in
 * store_copy.c: the marks of a copy, backings (struct backing) and
 * reflinked ranges.
 */

/*
 * Copies of local files (the clone filter, clonedrive cp). copied records
 * size bytes written into n's cache file by a copy as its data: dirty,
 * to be dropped once uploaded, committed. mark_spool marks n's data to go
 * once uploaded; take_spool, after the upload, clears that mark and tells
 * whether the data may go now (not written since). copy_recorded says
 * that a clone record of n now exists, or no longer does (nothing then
 * says any of its bytes are lost).
 */
int store_node_copied(struct store *s, struct node *n, uint64_t size) CD_WUR;
void store_node_mark_spool(struct node *n);
bool store_node_take_spool(struct node *n);
void store_node_copy_recorded(struct node *n, bool recorded);
/*
 * Copies of files of the drive made by reads and writes (the clone
 * filter). plan_copy says that n, as it is now, holds the bytes of file
 * src at remote version etag (compared as they were written), so that
 * its upload may be a copy the remote makes. copy_plan gives that plan
 * (src, etag) to an upload of write generation gen: false if there is
 * none, or n changed since it was made. Kept in memory only: after a
 * restart the bytes are sent.
 */
void store_node_plan_copy(struct node *n, uint64_t src, const char *etag);
bool store_node_copy_plan(struct node *n, uint64_t gen, uint64_t *src,
			  char etag[REMOTE_ETAG_MAX]);
/*
 * Sources of copies made by reading them, which the copies do not
 * hydrate: copy_started counts a copy reading n; copy_ended uncounts it
 * (copied: it was whole and is made by the remote); reader_gone is the
 * last close of a handle that opened n as a placeholder. The two ends
 * come in either order; the one that comes second, with n closed and a
 * whole copy made, returns true: n's data may go.
 */
void store_node_copy_started(struct node *n);
bool store_node_copy_ended(struct node *n, bool copied);
bool store_node_reader_gone(struct node *n);
/* plan_end ends n's plan, made use of or not; drop_plans ends them all
 * (at unmount). A plan keeps its node in memory until then. */
void store_node_plan_end(struct store *s, struct node *n);
void store_drop_plans(struct store *s);

/*
 * Backings (see struct backing). back makes bk, a new one with refs 1
 * that the node takes over, the source of n's first bk->len bytes: the
 * node is kept loaded until unback or materialize. ack adds len
 * acknowledged bytes at the end of the backing (the file grows with
 * them), hashing data (the bytes written; NULL: hashed already).
 * materialize copies the backed bytes into the cache, reading them from fd (the backing's own if -1), checks them against the hash
 * of what was written (-EILSEQ and the node in error if they differ),
 * and ends the backing. unback ends it after an upload.
 */
void store_node_back(struct store *s, struct node *n, struct backing *bk);
int store_node_ack(struct store *s, struct node *n, const void *data,
		   size_t len) CD_WUR;
/* The bytes bk counts and the hash of them (its digest once closed),
 * taken together: what a record of the copy must hold. */
uint64_t store_backing_state(struct node *n, struct backing *bk,
			     unsigned char hash[HASH_LEN]);
int store_node_materialize(struct store *s, struct node *n, int fd) CD_WUR;
void store_node_unback(struct store *s, struct node *n);
/*
 * The upload of a copy (store_copy.c), around the sync engine's put:
 * begin checks the bytes the copy is uploaded from against the hash of
 * what was written and gives the descriptor to read (its source's, or
 * leaves *fd, the cache's): 0, -EAGAIN (stored meanwhile: try again), or
 * -EILSEQ (logged: the bytes cannot be had; the copy goes in error).
 * held, after the put: -EAGAIN if the source changed while it was read.
 * uploaded, after a put that held: the backing ends and the record goes.
 * release, always. drop_spooled, once the upload is saved: a copy whose
 * data goes once uploaded (and is not pinned) drops it; true if it did
 * (*freed bytes).
 */
struct copy_upload {
	struct backing *bk;		/* the source, if it is read */
	struct meta_clone c;		/* the copy's record */
	int64_t ctime;			/* of the source as the upload began */
};
int store_copy_upload_begin(struct store *s, struct node *n, const char *path,
			    uint64_t size, struct copy_upload *cu,
			    int *fd) CD_WUR;
int store_copy_upload_held(const struct copy_upload *cu) CD_WUR;
void store_copy_uploaded(struct store *s, struct node *n,
			 struct copy_upload *cu, const char *path);
void store_copy_upload_release(struct copy_upload *cu);
bool store_copy_drop_spooled(struct store *s, struct node *n,
			     uint64_t *freed);
/* Whether file e is a copy of a local file whose data goes once it is
 * uploaded (its node's word if it is loaded, else its entry's). */
bool store_spooled(struct store *s, const struct meta_entry *e);
/* The backing of n with a reference for the caller, or NULL. */
struct backing *store_backing_get(struct node *n);
void store_backing_put(struct backing *bk);
/*
 * The writer of bk, n's backing, is done: if no handle may write n any
 * more and the source has exactly the bytes acknowledged, bk becomes a
 * whole copy (closed, its digest taken) and true is returned; else
 * nothing changes.
 */
bool store_backing_close(struct node *n, struct backing *bk);
/* Whether bk is no longer its node's (materialized or uploaded). */
static inline bool backing_ended(struct backing *bk)
{
	return __atomic_load_n(&bk->materialized, __ATOMIC_ACQUIRE);
}
/* Bytes acknowledged so far. */
uint64_t backing_len(struct node *n, const struct backing *bk);
/*
 * Stores bytes [off, off+len) of src as n's at the same offset without
 * copying them (FICLONERANGE: the cache and src on one file system with
 * reflinks). -EOPNOTSUPP, -EXDEV or -EINVAL when it cannot.
 */
int store_clone_range(struct store *s, struct node *n, int src, uint64_t off,
		      size_t len) CD_WUR;

/* Local file-system operations. jop, if non-NULL, is added to the
 * journal in the same transaction as the change, with the paths it acts
 * on (path, and a rename's path2) taken from the namespace there; the
 * caller sets the rest (a symlink's target in path2). */

/* What a new entry is. */
struct store_new {
	uint32_t mode;		/* S_IFMT | permissions (umask applied) */
	uid_t uid;		/* the creator's fsuid and fsgid: its owner */
	gid_t gid;		/* unless the directory is set-group-ID */
	uint64_t rdev;		/* a device node's number */
	const char *link;	/* a symlink's target */
};
/* Makes (parent, name) as nw says; its owner, and the mtime and ctime
 * of parent, as a local file system sets them. */
int store_mknod(struct store *s, uint64_t parent, const char *name,
		const struct store_new *nw, const struct jop *jop,
		struct meta_entry *out) CD_WUR;
int store_remove(struct store *s, uint64_t parent, const char *name,
		 bool dir, const struct jop *jop) CD_WUR;
int store_rename(struct store *s, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags,
		 const struct jop *jop) CD_WUR;
/*
 * Gives ino, which must be no directory (-EPERM) and have a name
 * (-ENOENT), the new name (newparent, newname) (a hard link; -EEXIST if
 * taken): its ctime and the directory's times are now. jop's path is the
 * entry's own name, its path2 the new one. out gets the entry as found
 * by the new name.
 *
 * Removing or renaming over a name of an entry with several (store_remove,
 * store_rename) removes that name alone; where it was the entry's own,
 * its oldest other name becomes its own.
 */
int store_link(struct store *s, uint64_t ino, uint64_t newparent,
	       const char *newname, const struct jop *jop,
	       struct meta_entry *out) CD_WUR;
/*
 * Another client's version took path, the remote name of file op->ino,
 * before op (its upload, or a rename onto path that was to replace a
 * version since changed) could put it there: a conflict. The file's ops
 * from op on act on cpath instead (meta_journal_repath; the rename's
 * target becomes cpath); an upload's file becomes one never uploaded.
 * Where the file still has that name locally, it is renamed to cpath's
 * last component in the same directory, and theirs (a placeholder of the
 * remote's version; its parent is set here) takes the name; *parent gets
 * the directory then, else 0. A file deleted here since has only its
 * ops moved to cpath. -EEXIST if the new name is taken locally.
 */
int store_conflict(struct store *s, const struct jop *op, const char *path,
		   const char *cpath, struct meta_entry *theirs,
		   uint64_t *parent) CD_WUR;

/* What store_setattr() changes. */
enum store_set {
	STORE_SET_MODE = 1 << 0,
	STORE_SET_SIZE = 1 << 1,
	STORE_SET_MTIME = 1 << 2,	/* to attr->st_mtim */
	STORE_SET_MTIME_NOW = 1 << 3,
	STORE_SET_ATIME = 1 << 4,	/* to attr->st_atim */
	STORE_SET_ATIME_NOW = 1 << 5,
	STORE_SET_UID = 1 << 6,		/* to attr->st_uid */
	STORE_SET_GID = 1 << 7,		/* to attr->st_gid */
};

/* to_set: enum store_set. The ctime is now. Without keep_owners, an
 * owner other than the mount's is -EPERM. */
int store_setattr(struct store *s, uint64_t ino, const struct stat *attr,
		  int to_set, const struct jop *jop,
		  struct meta_entry *out) CD_WUR;
/* Data; the caller has made sure the range is hydrated. A read returns
 * -ESTALE if the range was dropped meanwhile (the caller hydrates it
 * again and retries). */
ssize_t store_read(struct store *s, struct node *n, void *buf, size_t len,
		   uint64_t off) CD_WUR;
ssize_t store_write(struct store *s, struct node *n, const void *buf,
		    size_t len, uint64_t off) CD_WUR;
/* Makes the data and metadata of n durable. */
int store_fsync(struct store *s, struct node *n, bool datasync) CD_WUR;
/* Records size, mtime and the dirty flag of n in the database. */
int store_node_commit(struct store *s, struct node *n) CD_WUR;
/* Deletes orphans left by a crash (unlinked while open). */
int store_recover(struct store *s) CD_WUR;

#endif
