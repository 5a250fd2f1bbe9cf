/*
 * The metadata database: every entry of the namespace, the remote version
 * each one's local data is based on, its hydrated extents, user xattrs,
 * and the journal of remote operations still to be done. SQLite in WAL
 * mode; this is the only module that includes sqlite3.h.
 *
 * One connection, guarded by a recursive mutex: meta_begin() takes it and
 * meta_commit()/meta_rollback() release it, so a caller can group calls
 * into one transaction; every other call takes it for its own duration.
 * It is the innermost lock: nothing that takes the store's node locks
 * may run while it is held (in a transaction, or in a callback of a
 * function that says it holds it).
 * Inode numbers are row ids that are never reused; the root is inode 1.
 *
 * The sections below name the file that implements each.
 */
#ifndef CD_META_H
#define CD_META_H

#include "common.h"

#include <sys/stat.h>

#include "remote/remote.h"
#include "util/hash.h"

#define META_ROOT_INO 1
#define META_NAME_MAX 255
/* An owner the entry does not record: shown as the mount's owner. */
#define META_OWNER_NONE ((uint32_t)-1)
/* A time the entry does not record. */
#define META_TIME_NONE INT64_MIN

struct meta;

/* --------------------------------------------------------------- meta.c */

/* Opens (creating if needed) the database at path. */
int meta_open(const char *path, struct meta **out) CD_WUR;
void meta_close(struct meta *m);

/* Transactions; see the top of this file. */
int meta_begin(struct meta *m) CD_WUR;
int meta_commit(struct meta *m) CD_WUR;
void meta_rollback(struct meta *m);
/* Makes every commit so far durable against power loss. */
int meta_sync(struct meta *m) CD_WUR;

/* --------------------------------------------------------- meta_entry.c */

/* One entry of the namespace. */
struct meta_entry {
	uint64_t ino;			/* row id; stable across remounts */
	uint64_t parent;		/* 0 for the root and for orphans */
	char name[META_NAME_MAX + 1];	/* component name; "" for the root */
	uint32_t mode;			/* S_IFMT | permissions */
	uint64_t size;			/* logical size */
	int64_t mtime_ns;		/* modification time */
	int64_t ctime_ns;		/* change time */
	char etag[REMOTE_ETAG_MAX];	/* remote version the data is based on;
					   "" if the entry was never uploaded */
	uint64_t base;			/* bytes [0, base) come from that
					   version; the rest is local */
	bool dirty;			/* content newer than the remote */
	bool populated;			/* directory listed from the remote */
	bool error;			/* the last remote operation failed */
	bool has_data;			/* a cache file may exist (set before
					   one is made) */
	char *link;			/* symlink target (heap), else NULL */
	int pin;			/* enum meta_pin, as set on this entry */
	int64_t atime_ns;		/* last use of its local data (the
					   eviction order; not st_atime) */
	bool spool;			/* a copy of a local file: its data
					   goes once uploaded (clone.c) */
	uint32_t uid;			/* owner, or META_OWNER_NONE */
	uint32_t gid;			/* group, or META_OWNER_NONE */
	uint64_t rdev;			/* device number of a device node */
	int64_t uatime_ns;		/* st_atime, or META_TIME_NONE (then
					   the mtime is shown) */
	/* read from the database, never written to it: */
	uint32_t nlink;			/* names: 1 + its extra names */
	bool alias;			/* found by an extra name, which
					   parent and name are then */
	uint64_t pos;			/* its place in a listing (what
					   readdir's after counts) */
};

/* Whether mode is a special file's (a FIFO, a socket, a device node):
 * an entry with no data, which is never hydrated, evicted or uploaded;
 * the remote keeps its type and rdev (remote_mknod). */
static inline bool meta_is_special(uint32_t mode)
{
	return S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode) ||
	       S_ISBLK(mode);
}

/* Pin states. An entry's own state is unspecified unless set on it; its
 * effective state is the first one set on the way up to the root. */
enum meta_pin {
	META_PIN_UNSPECIFIED = 0,
	META_PIN_PINNED = 1,	/* hydrated fully, kept, never evicted */
	META_PIN_UNPINNED = 2,	/* eligible for eviction */
};

/* One candidate for eviction. */
struct meta_lru {
	uint64_t ino;
	int64_t atime_ns;
};

/* Entry access. get/lookup fill e (caller releases e->link with
 * meta_entry_release); -ENOENT if absent. get gives the entry's own
 * name; lookup finds it by any of its names (e->alias: an extra one). */
int meta_get(struct meta *m, uint64_t ino, struct meta_entry *e) CD_WUR;
int meta_lookup(struct meta *m, uint64_t parent, const char *name,
		struct meta_entry *e) CD_WUR;
void meta_entry_release(struct meta_entry *e);
/* Clears e to a new entry that records no owner and no atime. */
void meta_entry_init(struct meta_entry *e);
/* Inserts e (e->ino is set to the new inode number). -EEXIST if the name
 * is taken. */
int meta_insert(struct meta *m, struct meta_entry *e) CD_WUR;
/* Inserts the n entries of e, as meta_insert each (setting each one's
 * ino), in a few statements: a listing's new names at the cost of far
 * fewer. Inside the caller's transaction, which must be open: on failure
 * some may be in, and the caller rolls it back. */
int meta_insert_many(struct meta *m, struct meta_entry *e, size_t n) CD_WUR;
/*
 * Writes every field of e to the row e->ino, except its place in the
 * namespace (parent, name: meta_move's alone) and the pin state. A
 * caller that read e outside its transaction writes back what another
 * request may have changed since: use meta_update_content for what a
 * file's content is.
 */
int meta_update(struct meta *m, const struct meta_entry *e) CD_WUR;
/* Writes only what describes the content of file e->ino: size, mtime,
 * etag, base, dirty, error, atime, spool, and ctime if later than the
 * row's. -ENOENT if there is no row. */
int meta_update_content(struct meta *m, const struct meta_entry *e) CD_WUR;
/* Sets the mtime (unless META_TIME_NONE) and the ctime of ino. */
int meta_touch(struct meta *m, uint64_t ino, int64_t mtime_ns,
	       int64_t ctime_ns) CD_WUR;
/* has_data (the file has a cache file) or populated (the directory was
 * listed) set on ino alone, whatever else the entry has now. */
int meta_set_has_data(struct meta *m, uint64_t ino) CD_WUR;
int meta_set_populated(struct meta *m, uint64_t ino) CD_WUR;
/* Sets only the error flag of ino. */
int meta_set_error(struct meta *m, uint64_t ino, bool error) CD_WUR;
/* Sets the etag of ino to etag if it is old (-ESTALE if it is not). */
int meta_set_etag(struct meta *m, uint64_t ino, const char *old,
		  const char *etag) CD_WUR;
/* Deletes the entry, its xattrs, and (for directories) its subtree; the
 * callback, if given, is called with every file's inode deleted so the
 * caller can drop cache files: once the outermost transaction commits
 * (a crash before leaves the entries and their data as they were). */
int meta_delete(struct meta *m, uint64_t ino,
		void (*on_delete)(void *arg, uint64_t ino), void *arg) CD_WUR;
/* Moves entry ino to (parent, name); detaches it as an orphan when
 * parent is 0 (kept until meta_delete). */
int meta_move(struct meta *m, uint64_t ino, uint64_t parent,
	      const char *name) CD_WUR;
/* Saves the hydrated extents blob of ino. */
int meta_set_extents(struct meta *m, uint64_t ino, const void *blob,
		     size_t len) CD_WUR;
/* Loads it; *blob is malloc'd (NULL, 0 when none). */
int meta_get_extents(struct meta *m, uint64_t ino, void **blob,
		     size_t *len) CD_WUR;

/* The pos of an extra name: this plus its row id, after every inode. */
#define META_LINK_POS (UINT64_C(1) << 62)

/* Calls fn for the names in directory parent with pos > after, in pos
 * order (entries by their own names first, by inode; then extra names),
 * at most max of them, without the database lock held; fn returning
 * non-zero stops early (and is not an error). Returns the number of
 * entries passed to fn, or -errno. */
int meta_readdir(struct meta *m, uint64_t parent, uint64_t after, int max,
		 int (*fn)(void *arg, const struct meta_entry *e),
		 void *arg) CD_WUR;
/* 1 if directory parent has children, 0 if not, -errno if that cannot
 * be told (never to be taken for "empty"). */
int meta_has_children(struct meta *m, uint64_t parent) CD_WUR;
/* How many subdirectories directory parent has (0 if that cannot be
 * read: only a link count depends on it). */
uint64_t meta_subdirs(struct meta *m, uint64_t parent);
/* The remote path of ino ("" for the root); caller frees. */
int meta_path(struct meta *m, uint64_t ino, char **path) CD_WUR;

/*
 * Extra names (hard links) of an entry that is no directory. The entry
 * keeps one name of its own (parent, name: what meta_path() and
 * meta_move() work on); each other one is a link, which lookups and
 * listings find as the entry (e->alias). A name taken by an entry or a
 * link is -EEXIST for the other; the links of an entry go with it.
 */
int meta_link_add(struct meta *m, uint64_t ino, uint64_t parent,
		  const char *name) CD_WUR;
/* Removes the link (parent, name); -ENOENT if there is none. */
int meta_link_remove(struct meta *m, uint64_t parent,
		     const char *name) CD_WUR;
/* Renames the link (parent, name); -ENOENT if there is none. */
int meta_link_move(struct meta *m, uint64_t parent, const char *name,
		   uint64_t newparent, const char *newname) CD_WUR;
/* The entry ino loses its own name to its oldest link, which stops
 * being one; -ENOENT if it has none. */
int meta_link_promote(struct meta *m, uint64_t ino) CD_WUR;
/* The remote paths of ino's links, oldest first: *paths (malloc'd, each
 * path too) gets *n of them. */
int meta_link_paths(struct meta *m, uint64_t ino, char ***paths,
		    size_t *n) CD_WUR;

/* Poll generations: reconciling a directory marks every entry seen in the
 * remote listing, then removes the ones not seen. */
int meta_mark_seen(struct meta *m, uint64_t ino, int64_t gen) CD_WUR;
/* Calls fn with each clean, uploaded child of parent not seen in gen,
 * without the database lock held (fn may use the node table). */
int meta_unseen(struct meta *m, uint64_t parent, int64_t gen,
		int (*fn)(void *arg, const struct meta_entry *e),
		void *arg) CD_WUR;
/* Calls fn with every populated directory. */
int meta_populated_dirs(struct meta *m,
			int (*fn)(void *arg, uint64_t ino), void *arg) CD_WUR;
/* Calls fn for every orphan and every dirty file (recovery at start). */
int meta_foreach_dirty(struct meta *m,
		       int (*fn)(void *arg, const struct meta_entry *e),
		       void *arg) CD_WUR;
int meta_foreach_orphan(struct meta *m,
			int (*fn)(void *arg, uint64_t ino), void *arg) CD_WUR;

/* Sets ino's own pin state and clears the states set below it, so the
 * whole tree follows; -ENOENT if there is no such entry. */
int meta_set_pin(struct meta *m, uint64_t ino, enum meta_pin pin) CD_WUR;
/* The effective pin state of ino, and the entry it comes from (0 when
 * unspecified all the way up). */
int meta_pin_effective(struct meta *m, uint64_t ino, enum meta_pin *pin,
		       uint64_t *from) CD_WUR;
/* Whether ino's effective state is pinned (false if it cannot be read). */
bool meta_pinned(struct meta *m, uint64_t ino);
/* Calls fn with every entry whose own state is pinned. */
int meta_foreach_pinned(struct meta *m,
			int (*fn)(void *arg, uint64_t ino), void *arg) CD_WUR;
/* Up to max clean entries that have local data, least recently used
 * first, after (after_atime, after_ino); returns how many, or -errno. */
int meta_lru(struct meta *m, int64_t after_atime, uint64_t after_ino,
	     struct meta_lru *out, int max) CD_WUR;
/* Records that ino has no local data any more (no extents, no cache
 * file), if it is clean and not in error; -EBUSY otherwise. */
int meta_drop_data(struct meta *m, uint64_t ino) CD_WUR;

/* User xattrs. get copies at most size bytes into value and returns the
 * value's length (size 0: length only); -ENODATA if absent; -ERANGE if it
 * does not fit. list writes NUL-separated names likewise. */
int meta_xattr_set(struct meta *m, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags) CD_WUR;
int meta_xattr_get(struct meta *m, uint64_t ino, const char *name,
		   void *value, size_t size) CD_WUR;
int meta_xattr_list(struct meta *m, uint64_t ino, char *buf,
		    size_t size) CD_WUR;
int meta_xattr_remove(struct meta *m, uint64_t ino, const char *name) CD_WUR;

/* ------------------------------------------------------- meta_journal.c */

/* Remote operations, in the order they must reach the remote. */
enum jop_kind {
	JOP_UPLOAD = 1,		/* upload the content of ino to path */
	JOP_MKDIR,		/* path, mode */
	JOP_RMDIR,		/* path */
	JOP_UNLINK,		/* path */
	JOP_RENAME,		/* path -> path2, flags, match */
	JOP_SYMLINK,		/* path -> target in path2 */
	JOP_SETATTR,		/* path: mode (or -1), mtime_ns (or INT64_MIN) */
	JOP_DIRTIME,		/* directory ino at path: its mtime now */
	JOP_LINK,		/* path2 becomes a name of ino's file at path,
				   whatever was there */
	JOP_MKNOD,		/* path: a special file, mode and rdev */
};

struct jop {
	int64_t seq;		/* order; assigned by meta_journal_add */
	enum jop_kind kind;
	uint64_t ino;		/* entry concerned (0 if none) */
	char *path;		/* heap */
	char *path2;		/* heap or NULL */
	int64_t arg;		/* mode, or a rename's flags (the low 32
				   bits) and JOP_MOVES_FILE */
	int64_t arg2;		/* a setattr's mtime_ns; a rename's: the
				   inode of the file it replaces (0: none);
				   a mknod's rdev */
	int64_t not_before;	/* wall-clock ns before which it must wait */
	int attempts;		/* failed attempts so far */
	int last_error;		/* errno of the last failed attempt, or 0 */
	char *match;		/* heap or NULL: a rename replaces the file
				   at path2 only at this version (another
				   client's change is not overwritten); ""
				   for a file of ours not uploaded yet */
	uint64_t moved;		/* a rename of an extra name (ino 0): the
				   file whose name it is; else 0 */
};

/* In a rename's arg: the entry moved is a regular file, or an extra
 * name of one (whose op has no inode: its object is the drive's copy). */
#define JOP_MOVES_FILE (1LL << 32)

/* The journal. add assigns op->seq. next gives the oldest op (-ENOENT if
 * none); the caller frees it with jop_release. */
int meta_journal_add(struct meta *m, struct jop *op) CD_WUR;
int meta_journal_next(struct meta *m, struct jop *op) CD_WUR;
int meta_journal_done(struct meta *m, int64_t seq) CD_WUR;
int meta_journal_retry(struct meta *m, int64_t seq, int64_t not_before,
		       int attempts, int error) CD_WUR;
/*
 * Queues a JOP_DIRTIME of directory dir, inside the caller's
 * transaction, after every op queued so far: each op that changes
 * names on the remote changes the mtime of their directory there, so
 * the one that gives it the directory's mtime here must come last. The
 * one queued before, if any, goes: one a directory is enough.
 */
int meta_journal_dirtime(struct meta *m, uint64_t dir) CD_WUR;
/* How many ops were ever added since the database was opened: a change
 * of it says a local change was made. */
uint64_t meta_journal_gen(struct meta *m);
/* Number of ops in the journal (negative errno on failure). */
int64_t meta_journal_count(struct meta *m);
/* Whether an upload of ino with seq > after is queued. */
bool meta_journal_has_upload_after(struct meta *m, uint64_t ino,
				   int64_t after);
/* Whether an upload of ino is queued after the last setattr of it (or
 * at all, if none is). */
bool meta_journal_has_upload_last(struct meta *m, uint64_t ino);
/* Calls fn with each queued op, oldest first (for status listings). */
int meta_journal_foreach(struct meta *m,
			 int (*fn)(void *arg, const struct jop *op),
			 void *arg) CD_WUR;
/*
 * After the remote's object at path from turned out to be another
 * client's (a conflict), the ops from seq on that act on ino's file
 * there (its uploads and setattrs, and an unlink or rename of the name
 * until another entry takes it) are made to act on path to instead.
 */
int meta_journal_repath(struct meta *m, int64_t seq, uint64_t ino,
			const char *from, const char *to) CD_WUR;
/* Makes the rename seq go to path to, unconditionally. */
int meta_journal_set_target(struct meta *m, int64_t seq,
			    const char *to) CD_WUR;
/*
 * Our own op (an upload, a setattr, a rename by copy) gave file ino the
 * remote version etag: the queued renames that replace that file (arg2)
 * and expect a version of it (match) expect this one now. The version
 * known when a rename was queued can be older than what the ops queued
 * before it leave there, and would be taken for another client's.
 */
int meta_journal_rematch(struct meta *m, uint64_t ino,
			 const char *etag) CD_WUR;
/* Where the remote has what path names here now: path taken back
 * through the renames still queued, newest first, and through the links
 * (whose source is still there while one is queued). *out malloc'd. */
int meta_journal_unrename(struct meta *m, const char *path,
			  char **out) CD_WUR;
void jop_release(struct jop *op);
/* -------------------------------------------------------- meta_upload.c */

/*
 * Copies of local files made by the clone filter, until uploaded: the
 * source's path (for messages and to find it again after a restart) and
 * identity, the size and hash (util/hash.h) of the bytes the program
 * wrote, the policy, and whether the bytes are in the source only
 * (backed) or in the cache too.
 */
struct meta_clone {
	uint64_t ino;
	char *source;			/* owned; meta_clone_release */
	uint64_t dev;			/* the source's st_dev, st_ino */
	uint64_t src_ino;
	uint64_t size;
	unsigned char hash[HASH_LEN];
	bool hash_known;		/* false: a row of an older version,
					   under another hash */
	int policy;			/* enum clone_mode */
	bool backed;
	int64_t ctime_ns;		/* the source's ctime when checked */
};

int meta_clone_put(struct meta *m, const struct meta_clone *c) CD_WUR;
/* -ENOENT if ino has no record. */
int meta_clone_get(struct meta *m, uint64_t ino,
		   struct meta_clone *c) CD_WUR;
int meta_clone_delete(struct meta *m, uint64_t ino) CD_WUR;
int meta_foreach_clone(struct meta *m, int (*fn)(void *arg, uint64_t ino),
		       void *arg) CD_WUR;
void meta_clone_release(struct meta_clone *c);

/*
 * The size and mtime of file ino's last upload try, recorded before the
 * try (size -1: none, or its outcome was recorded). A crash between the
 * try and its record leaves the remote with our version, which only
 * these can tell from another client's once the file changed again.
 */
int meta_tried_set(struct meta *m, uint64_t ino, int64_t size,
		   int64_t mtime_ns) CD_WUR;
int meta_tried_get(struct meta *m, uint64_t ino, int64_t *size,
		   int64_t *mtime_ns) CD_WUR;

/*
 * Uploads that can go on where they stopped (remote.h's remote_resume):
 * the state the remote saved for file ino, and the remote path it is
 * for. get: -ENOENT if none; *path and *state are malloc'd. set with a
 * NULL state forgets it.
 */
int meta_upload_get(struct meta *m, uint64_t ino, char **path,
		    char **state) CD_WUR;
int meta_upload_set(struct meta *m, uint64_t ino, const char *path,
		    const char *state) CD_WUR;

#endif
