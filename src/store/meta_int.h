/*
 * The metadata module's internals, private to src/store/meta*.c:
 *   meta.c          opening and closing, the schema and its migrations,
 *                   the statements, transactions
 *   meta_entry.c    entries, their extents, pins and xattrs
 *   meta_journal.c  the journal of remote operations
 *   meta_upload.c   what waits for an upload: clone records, upload
 *                   tries, uploads to resume
 * Every file reaches the database through the one connection of struct
 * meta, under its lock, with the statements of meta.c's table.
 */
#ifndef CD_META_INT_H
#define CD_META_INT_H

#include "common.h"

#include <pthread.h>
#include <sqlite3.h>

#include "store/meta.h"

/* The statements, prepared from meta.c's table stmt_sql. */
enum stmt_id {
	ST_GET,
	ST_LOOKUP,
	ST_INSERT,
	ST_UPDATE,
	ST_UPDATE_CONTENT,
	ST_SET_ERROR,
	ST_SET_HAS_DATA,
	ST_SET_POPULATED,
	ST_TOUCH,
	ST_SET_ETAG,
	ST_DELETE,
	ST_DELETE_XATTRS,
	ST_CHILDREN,
	ST_MOVE,
	ST_SET_EXTENTS,
	ST_GET_EXTENTS,
	ST_READDIR,
	ST_READDIR_LINKS,
	ST_READDIR_BARE,
	ST_ANY_LINKS,
	ST_HAS_CHILDREN,
	ST_SUBDIRS,
	ST_PARENT_NAME,
	ST_MARK_SEEN,
	ST_UNSEEN,
	ST_POPULATED,
	ST_DIRTY,
	ST_ORPHANS,
	ST_XGET,
	ST_XSET,
	ST_XINSERT,
	ST_XUPDATE,
	ST_XLIST,
	ST_XREMOVE,
	ST_JADD,
	ST_JDIRTIME_DROP,
	ST_JNEXT,
	ST_JDONE,
	ST_JRETRY,
	ST_JCOUNT,
	ST_JUPLOAD_AFTER,
	ST_JUPLOAD_LAST,
	ST_JALL,
	ST_JFROM,
	ST_JSETPATH,
	ST_JRENAMES,
	ST_JSETTARGET,
	ST_JREMATCH,
	ST_PARENT_PIN,
	ST_SET_PIN,
	ST_CLEAR_PINS,
	ST_PINNED,
	ST_LRU,
	ST_DROP_DATA,
	ST_CLONE_PUT,
	ST_CLONE_GET,
	ST_CLONE_DELETE,
	ST_CLONES,
	ST_UPLOAD_GET,
	ST_UPLOAD_SET,
	ST_UPLOAD_DELETE,
	ST_TRIED_SET,
	ST_TRIED_GET,
	ST_LINK_ADD,
	ST_LINK_REMOVE,
	ST_LINK_MOVE,
	ST_LINK_NAMES,
	ST_COUNT
};

struct meta {
	sqlite3 *db;			/* protected by lock */
	sqlite3_stmt *stmt[ST_COUNT];	/* prepared lazily; under lock */
	sqlite3_stmt *insert_rows;	/* meta_insert_many's; likewise */
	pthread_mutex_t lock;		/* recursive */
	char *path;			/* database file, for messages */
	uint64_t journal_gen;		/* ops added so far; under lock */
	/* told once the outermost transaction commits (meta_after_commit);
	 * under lock */
	struct meta_after *after;
	size_t nafter, after_cap;
	size_t *marks;			/* nafter at each open savepoint */
	size_t depth, marks_cap;
};

/* What to do once the data it follows from is committed. */
struct meta_after {
	void (*fn)(void *arg, uint64_t ino);
	void *arg;
	uint64_t ino;
};

/* Calls fn(arg, ino) after the outermost transaction open now commits
 * (never if it rolls back; at once if none is open); under lock. */
void meta_after_commit(struct meta *m, void (*fn)(void *arg, uint64_t ino),
		       void *arg, uint64_t ino);

/* Logs the failure of a statement (not a constraint's: -EEXIST may be
 * what the caller expects) and returns SQLite's code rc as -errno. */
int meta_fail(struct meta *m, int rc, const char *what) CD_WUR;

/* The database lock, recursive: see the top of meta.h. */
static inline void lock(struct meta *m)
{
	pthread_mutex_lock(&m->lock);
}

static inline void unlock(struct meta *m)
{
	pthread_mutex_unlock(&m->lock);
}

/* The columns a new entry's row is given, bound as ?2..?21 in this
 * order (bind_entry), and its poll generation, 0. */
#define META_INSERT_COLS \
	"parent, name, mode, size, mtime, ctime, etag, base, dirty, " \
	"populated, error, link, has_data, pin, atime, spool, uid, gid, " \
	"rdev, uatime, seen"
#define META_INSERT_NCOLS 20	/* the bound ones */

/* The prepared statement id, reset and ready to bind; under the lock. */
sqlite3_stmt *meta_stmt(struct meta *m, enum stmt_id id);
/* The same for sql, a statement built at run time, kept in *slot (a
 * field of struct meta, which meta_close() finalizes). */
sqlite3_stmt *meta_stmt_sql(struct meta *m, sqlite3_stmt **slot,
			    const char *sql);

/* Makes a statement ready for its next use. */
static inline void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Runs a statement that returns no rows; 0 or -errno. */
int meta_step_done(struct meta *m, sqlite3_stmt *s, const char *what) CD_WUR;

/* Calls fn with each row's inode number for statement id, whose first
 * column is one, without the lock held; stops at fn's first non-zero
 * return, which it returns. */
int meta_foreach_ino(struct meta *m, enum stmt_id id,
		     int (*fn)(void *arg, uint64_t ino), void *arg) CD_WUR;

#endif
