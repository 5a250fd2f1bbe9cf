/*
 * Entries of the namespace (the table entries): reading and writing
 * rows, moving, and deleting subtrees; listing children, the remote
 * path of an entry, the poll generations, the scans at start; pin
 * states and the least recently used local data; and the user xattrs
 * of each entry (the table xattrs).
 *
 * Functions that call back with entries collect them first and call
 * without the database lock held, since the callbacks take the store's
 * node locks, which come before it.
 */
#include "common.h"

#include <assert.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "store/meta_int.h"
#include "util/crash.h"
#include "util/util.h"

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	size_t n = 0;

	if (src) {
		n = strnlen((const char *)src, size - 1);
		memcpy(dst, src, n);
	}
	dst[n] = '\0';
}

static void row_to_entry(sqlite3_stmt *s, struct meta_entry *e)
{
	const unsigned char *link;

	e->ino = (uint64_t)sqlite3_column_int64(s, 0);
	e->parent = (uint64_t)sqlite3_column_int64(s, 1);
	copy_text(e->name, sizeof(e->name), sqlite3_column_text(s, 2));
	e->mode = (uint32_t)sqlite3_column_int64(s, 3);
	e->size = (uint64_t)sqlite3_column_int64(s, 4);
	e->mtime_ns = sqlite3_column_int64(s, 5);
	e->ctime_ns = sqlite3_column_int64(s, 6);
	copy_text(e->etag, sizeof(e->etag), sqlite3_column_text(s, 7));
	e->base = (uint64_t)sqlite3_column_int64(s, 8);
	e->dirty = sqlite3_column_int(s, 9) != 0;
	e->populated = sqlite3_column_int(s, 10) != 0;
	e->error = sqlite3_column_int(s, 11) != 0;
	link = sqlite3_column_text(s, 12);
	e->link = link ? xstrdup((const char *)link) : NULL;
	e->has_data = sqlite3_column_int(s, 13) != 0;
	e->pin = sqlite3_column_int(s, 14);
	e->atime_ns = sqlite3_column_int64(s, 15);
	e->spool = sqlite3_column_int(s, 16) != 0;
	e->uid = (uint32_t)sqlite3_column_int64(s, 17);
	e->gid = (uint32_t)sqlite3_column_int64(s, 18);
	e->rdev = (uint64_t)sqlite3_column_int64(s, 19);
	e->uatime_ns = sqlite3_column_type(s, 20) == SQLITE_NULL ?
			       META_TIME_NONE : sqlite3_column_int64(s, 20);
	e->nlink = 1 + (uint32_t)sqlite3_column_int64(s, 21);
	e->alias = sqlite3_column_int(s, 22) != 0;
	e->pos = (uint64_t)sqlite3_column_int64(s, 23);
}

void meta_entry_release(struct meta_entry *e)
{
	free(e->link);
	e->link = NULL;
}

void meta_entry_init(struct meta_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->uid = META_OWNER_NONE;
	e->gid = META_OWNER_NONE;
	e->uatime_ns = META_TIME_NONE;
}

/* Runs a statement that returns at most one entry row. */
static int get_one(struct meta *m, sqlite3_stmt *s, struct meta_entry *e,
		   const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		row_to_entry(s, e);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = meta_fail(m, rc, what);
	}
	done(s);
	return rc;
}

int meta_get(struct meta *m, uint64_t ino, struct meta_entry *e)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_GET);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = get_one(m, s, e, "get");
	unlock(m);
	return rc;
}

int meta_lookup(struct meta *m, uint64_t parent, const char *name,
		struct meta_entry *e)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_LOOKUP);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	rc = get_one(m, s, e, "lookup");
	unlock(m);
	return rc;
}

/* Binds the fields of e but its inode number as ?2..?21 (the order of
 * ENTRY_COLS and META_INSERT_COLS), each shifted by off: a multi-row
 * insert binds its rows one after the other. */
static void bind_fields(sqlite3_stmt *s, int off, const struct meta_entry *e)
{
	sqlite3_bind_int64(s, off + 2, (int64_t)e->parent);
	sqlite3_bind_text(s, off + 3, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, off + 4, e->mode);
	sqlite3_bind_int64(s, off + 5, (int64_t)e->size);
	sqlite3_bind_int64(s, off + 6, e->mtime_ns);
	sqlite3_bind_int64(s, off + 7, e->ctime_ns);
	sqlite3_bind_text(s, off + 8, e->etag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, off + 9, (int64_t)e->base);
	sqlite3_bind_int(s, off + 10, e->dirty);
	sqlite3_bind_int(s, off + 11, e->populated);
	sqlite3_bind_int(s, off + 12, e->error);
	if (e->link)
		sqlite3_bind_text(s, off + 13, e->link, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, off + 13);
	sqlite3_bind_int(s, off + 14, e->has_data);
	sqlite3_bind_int(s, off + 15, e->pin);
	sqlite3_bind_int64(s, off + 16, e->atime_ns);
	sqlite3_bind_int(s, off + 17, e->spool);
	/* an unknown owner is -1 in the row, whatever the width of uid_t */
	sqlite3_bind_int64(s, off + 18, e->uid == META_OWNER_NONE ? -1 :
					(int64_t)e->uid);
	sqlite3_bind_int64(s, off + 19, e->gid == META_OWNER_NONE ? -1 :
					(int64_t)e->gid);
	sqlite3_bind_int64(s, off + 20, (int64_t)e->rdev);
	if (e->uatime_ns == META_TIME_NONE)
		sqlite3_bind_null(s, off + 21);
	else
		sqlite3_bind_int64(s, off + 21, e->uatime_ns);
}

/* Binds every field of e as ?1..?21 (the order of ENTRY_COLS). An update
 * leaves out ?15, the pin state: only meta_set_pin() changes it, so a
 * read-modify-write of an entry can never undo a pin set meanwhile. */
static void bind_entry(sqlite3_stmt *s, const struct meta_entry *e)
{
	sqlite3_bind_int64(s, 1, (int64_t)e->ino);
	bind_fields(s, 0, e);
}

int meta_insert(struct meta *m, struct meta_entry *e)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_INSERT);
	bind_entry(s, e);
	sqlite3_bind_null(s, 1);
	rc = meta_step_done(m, s, "insert");
	if (!rc)
		e->ino = (uint64_t)sqlite3_last_insert_rowid(m->db);
	unlock(m);
	return rc;
}

/* Rows of one statement of meta_insert_many(): SQLite allows 32766
 * parameters; more rows a statement gain little. */
#define INSERT_ROWS 32

/* "INSERT ... VALUES (?1, ..., ?20, 0), (?21, ...)": INSERT_ROWS rows. */
static char *insert_rows_sql(void)
{
	size_t size = 256 + INSERT_ROWS * META_INSERT_NCOLS * 8, used;
	char *sql = xmalloc(size);
	int r, c;

	used = (size_t)snprintf(sql, size,
				"INSERT INTO entries (" META_INSERT_COLS
				") VALUES ");
	for (r = 0; r < INSERT_ROWS; r++) {
		used += (size_t)snprintf(sql + used, size - used, "%s(",
					 r ? ", " : "");
		for (c = 1; c <= META_INSERT_NCOLS; c++)
			used += (size_t)snprintf(sql + used, size - used,
						 "?%d, ",
						 r * META_INSERT_NCOLS + c);
		used += (size_t)snprintf(sql + used, size - used, "0)");
	}
	assert(used < size);
	return sql;
}

/* Inserts INSERT_ROWS entries of e in one statement; under the lock. */
static int insert_rows(struct meta *m, struct meta_entry *e)
{
	sqlite3_stmt *s = m->insert_rows;
	int64_t last;
	int r, rc;

	if (!s) {
		char *sql = insert_rows_sql();

		s = meta_stmt_sql(m, &m->insert_rows, sql);
		free(sql);
	}
	/* row r's fields are ?(20r + 1)..?(20r + 20): bind_fields puts
	 * them at ?2..?21 shifted by its off */
	for (r = 0; r < INSERT_ROWS; r++)
		bind_fields(s, r * META_INSERT_NCOLS - 1, &e[r]);
	rc = meta_step_done(m, s, "insert");
	if (rc)
		return rc;
	/* the rows of one statement have consecutive rowids: with
	 * AUTOINCREMENT each is one more than the largest yet, and no one
	 * else inserts while the lock is held */
	last = sqlite3_last_insert_rowid(m->db);
	for (r = 0; r < INSERT_ROWS; r++)
		e[r].ino = (uint64_t)(last - (INSERT_ROWS - 1 - r));
	return 0;
}

int meta_insert_many(struct meta *m, struct meta_entry *e, size_t n)
{
	size_t i = 0;
	int rc = 0;

	lock(m);
	assert(m->depth > 0);
	for (; !rc && n - i >= INSERT_ROWS; i += INSERT_ROWS)
		rc = insert_rows(m, &e[i]);
	for (; !rc && i < n; i++)
		rc = meta_insert(m, &e[i]);
	unlock(m);
	return rc;
}

int meta_update(struct meta *m, const struct meta_entry *e)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_UPDATE);
	bind_entry(s, e);
	rc = meta_step_done(m, s, "update");
	unlock(m);
	return rc;
}

int meta_touch(struct meta *m, uint64_t ino, int64_t mtime_ns,
	       int64_t ctime_ns)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_TOUCH);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	if (mtime_ns == META_TIME_NONE)
		sqlite3_bind_null(s, 2);
	else
		sqlite3_bind_int64(s, 2, mtime_ns);
	sqlite3_bind_int64(s, 3, ctime_ns);
	rc = meta_step_done(m, s, "touch");
	unlock(m);
	return rc;
}

/* One flag of ino set, nothing else written: what another thread changed
 * in the entry since the caller read it stays. */
static int set_flag(struct meta *m, enum stmt_id id, uint64_t ino,
		    const char *what)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, id);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = meta_step_done(m, s, what);
	unlock(m);
	return rc;
}

int meta_set_has_data(struct meta *m, uint64_t ino)
{
	return set_flag(m, ST_SET_HAS_DATA, ino, "set has_data");
}

int meta_set_populated(struct meta *m, uint64_t ino)
{
	return set_flag(m, ST_SET_POPULATED, ino, "set populated");
}

int meta_set_error(struct meta *m, uint64_t ino, bool error)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_SET_ERROR);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int(s, 2, error);
	rc = meta_step_done(m, s, "set error");
	unlock(m);
	return rc;
}

int meta_set_etag(struct meta *m, uint64_t ino, const char *old,
		  const char *etag)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_SET_ETAG);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_text(s, 2, old, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, etag, -1, SQLITE_STATIC);
	rc = meta_step_done(m, s, "set etag");
	if (!rc && sqlite3_changes(m->db) == 0)
		rc = -ESTALE;
	unlock(m);
	return rc;
}

int meta_update_content(struct meta *m, const struct meta_entry *e)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_UPDATE_CONTENT);
	bind_entry(s, e);
	rc = meta_step_done(m, s, "update content");
	if (!rc && sqlite3_changes(m->db) == 0)
		rc = -ENOENT;
	unlock(m);
	return rc;
}

/* Deletes ino's row and xattrs, and recursively its children. */
static int delete_tree(struct meta *m, uint64_t ino,
		       void (*on_delete)(void *arg, uint64_t ino), void *arg)
{
	uint64_t *kids = NULL;
	uint32_t *modes = NULL;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s;
	int rc;

	s = meta_stmt(m, ST_CHILDREN);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			kids = xrealloc(kids, cap * sizeof(*kids));
			modes = xrealloc(modes, cap * sizeof(*modes));
		}
		kids[n] = (uint64_t)sqlite3_column_int64(s, 0);
		modes[n++] = (uint32_t)sqlite3_column_int64(s, 1);
	}
	rc = rc == SQLITE_DONE ? 0 : meta_fail(m, rc, "list children");
	done(s);
	for (i = 0; i < n && !rc; i++) {
		if (S_ISDIR(modes[i]))
			rc = delete_tree(m, kids[i], on_delete, arg);
		else {
			s = meta_stmt(m, ST_DELETE_XATTRS);
			sqlite3_bind_int64(s, 1, (int64_t)kids[i]);
			rc = meta_step_done(m, s, "delete xattrs");
			s = meta_stmt(m, ST_DELETE);
			sqlite3_bind_int64(s, 1, (int64_t)kids[i]);
			if (!rc)
				rc = meta_step_done(m, s, "delete");
			if (!rc && on_delete)
				meta_after_commit(m, on_delete, arg, kids[i]);
		}
	}
	free(kids);
	free(modes);
	if (rc)
		return rc;
	s = meta_stmt(m, ST_DELETE_XATTRS);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = meta_step_done(m, s, "delete xattrs");
	s = meta_stmt(m, ST_DELETE);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	if (!rc)
		rc = meta_step_done(m, s, "delete");
	if (!rc && on_delete)
		meta_after_commit(m, on_delete, arg, ino);
	return rc;
}

int meta_delete(struct meta *m, uint64_t ino,
		void (*on_delete)(void *arg, uint64_t ino), void *arg)
{
	int rc;

	rc = meta_begin(m);
	if (rc)
		return rc;
	rc = delete_tree(m, ino, on_delete, arg);
	if (rc) {
		meta_rollback(m);
		return rc;
	}
	return meta_commit(m);
}

int meta_move(struct meta *m, uint64_t ino, uint64_t parent,
	      const char *name)
{
	char orphan[32];
	sqlite3_stmt *s;
	int rc;

	if (!parent) {
		snprintf(orphan, sizeof(orphan), "#%llu",
			 (unsigned long long)ino);
		name = orphan;
	}
	lock(m);
	s = meta_stmt(m, ST_MOVE);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, (int64_t)parent);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	rc = meta_step_done(m, s, "move");
	unlock(m);
	return rc;
}

int meta_set_extents(struct meta *m, uint64_t ino, const void *blob,
		     size_t len)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_SET_EXTENTS);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	if (len)
		sqlite3_bind_blob(s, 2, blob, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	rc = meta_step_done(m, s, "save extents");
	unlock(m);
	return rc;
}

int meta_get_extents(struct meta *m, uint64_t ino, void **blob, size_t *len)
{
	sqlite3_stmt *s;
	int rc;

	*blob = NULL;
	*len = 0;
	lock(m);
	s = meta_stmt(m, ST_GET_EXTENTS);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 0);

		if (n > 0) {
			*blob = xmalloc((size_t)n);
			memcpy(*blob, sqlite3_column_blob(s, 0), (size_t)n);
			*len = (size_t)n;
		}
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT
				       : meta_fail(m, rc, "load extents");
	}
	done(s);
	unlock(m);
	return rc;
}

/*
 * Steps s and hands each row as an entry to fn, which returns non-zero to
 * stop: a negative errno is passed on, a positive value is a plain stop.
 * Returns the number of rows handed, or -errno.
 */
static int foreach_entry(struct meta *m, sqlite3_stmt *s,
			 int (*fn)(void *arg, const struct meta_entry *e),
			 void *arg, const char *what)
{
	struct meta_entry e;
	int rc, stop = 0, count = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_entry(s, &e);
		count++;
		stop = fn(arg, &e);
		meta_entry_release(&e);
		if (stop)
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : meta_fail(m, rc, what);
	done(s);
	if (rc)
		return rc;
	return stop < 0 ? stop : count;
}

/* Collects entries, to hand them to a callback without the lock held. */
struct entry_list {
	struct meta_entry *v;
	size_t n;
	size_t cap;
};

static int collect_entry(void *arg, const struct meta_entry *e)
{
	struct entry_list *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n] = *e;
	l->v[l->n].link = e->link ? xstrdup(e->link) : NULL;
	l->n++;
	return 0;
}

int meta_readdir(struct meta *m, uint64_t parent, uint64_t after, int max,
		 int (*fn)(void *arg, const struct meta_entry *e), void *arg)
{
	struct entry_list l = { NULL, 0, 0 };
	sqlite3_stmt *s;
	int rc, count = 0;
	bool links;
	size_t i;

	/* a page is collected first and handed out without the lock: fn
	 * fills attributes, which takes the store's node locks */
	lock(m);
	s = meta_stmt(m, ST_ANY_LINKS);
	rc = sqlite3_step(s);
	links = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						   : meta_fail(m, rc, "readdir");
	done(s);
	if (!rc && after < META_LINK_POS) {
		s = meta_stmt(m, links ? ST_READDIR : ST_READDIR_BARE);
		sqlite3_bind_int64(s, 1, (int64_t)parent);
		sqlite3_bind_int64(s, 2, (int64_t)after);
		sqlite3_bind_int(s, 3, max);
		rc = foreach_entry(m, s, collect_entry, &l, "readdir");
	}
	if (rc >= 0 && links && l.n < (size_t)max) {
		s = meta_stmt(m, ST_READDIR_LINKS);
		sqlite3_bind_int64(s, 1, (int64_t)parent);
		sqlite3_bind_int64(s, 2, after < META_LINK_POS ? 0
				   : (int64_t)(after - META_LINK_POS));
		sqlite3_bind_int(s, 3, max - (int)l.n);
		rc = foreach_entry(m, s, collect_entry, &l, "readdir");
	}
	unlock(m);
	for (i = 0; i < l.n; i++) {
		if (rc >= 0) {
			count++;
			if (fn(arg, &l.v[i]))
				rc = -1;	/* stopped: not an error */
		}
		meta_entry_release(&l.v[i]);
	}
	free(l.v);
	if (rc < -1)
		return rc;
	return count;
}

int meta_has_children(struct meta *m, uint64_t parent)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_HAS_CHILDREN);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 1
	   : rc == SQLITE_DONE ? 0
	   : meta_fail(m, rc, "children");
	done(s);
	unlock(m);
	return rc;
}

uint64_t meta_subdirs(struct meta *m, uint64_t parent)
{
	sqlite3_stmt *s;
	uint64_t n = 0;

	lock(m);
	s = meta_stmt(m, ST_SUBDIRS);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(s, 0);
	done(s);
	unlock(m);
	return n;
}

int meta_path(struct meta *m, uint64_t ino, char **path)
{
	char *p = xstrdup(""), *q;
	sqlite3_stmt *s;
	int rc = 0, depth = 0;

	lock(m);
	while (ino != META_ROOT_INO) {
		s = meta_stmt(m, ST_PARENT_NAME);
		sqlite3_bind_int64(s, 1, (int64_t)ino);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			rc = rc == SQLITE_DONE ? -ENOENT
					       : meta_fail(m, rc, "path");
			done(s);
			break;
		}
		ino = (uint64_t)sqlite3_column_int64(s, 0);
		q = *p ? xasprintf("%s/%s", sqlite3_column_text(s, 1), p)
		       : xstrdup((const char *)sqlite3_column_text(s, 1));
		done(s);
		free(p);
		p = q;
		rc = 0;
		if (ino == 0 || ++depth > 4096) {
			rc = -ENOENT;	/* an orphan has no path */
			break;
		}
	}
	unlock(m);
	if (rc) {
		free(p);
		return rc;
	}
	*path = p;
	return 0;
}

int meta_link_add(struct meta *m, uint64_t ino, uint64_t parent,
		  const char *name)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_LINK_ADD);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)ino);
	rc = meta_step_done(m, s, "add link");
	unlock(m);
	return rc;
}

int meta_link_remove(struct meta *m, uint64_t parent, const char *name)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_LINK_REMOVE);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	rc = meta_step_done(m, s, "remove link");
	if (!rc && sqlite3_changes(m->db) == 0)
		rc = -ENOENT;
	unlock(m);
	return rc;
}

int meta_link_move(struct meta *m, uint64_t parent, const char *name,
		   uint64_t newparent, const char *newname)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_LINK_MOVE);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)newparent);
	sqlite3_bind_text(s, 4, newname, -1, SQLITE_STATIC);
	rc = meta_step_done(m, s, "move link");
	if (!rc && sqlite3_changes(m->db) == 0)
		rc = -ENOENT;
	unlock(m);
	return rc;
}

/* Collects the links of ino, oldest first, as (parent, name) pairs;
 * under the lock. */
struct link_names {
	uint64_t *parent;
	char **name;
	size_t n;
};

static int link_names(struct meta *m, uint64_t ino, struct link_names *l)
{
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc;

	memset(l, 0, sizeof(*l));
	s = meta_stmt(m, ST_LINK_NAMES);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (l->n == cap) {
			cap = cap ? cap * 2 : 4;
			l->parent = xrealloc(l->parent,
					     cap * sizeof(*l->parent));
			l->name = xrealloc(l->name, cap * sizeof(*l->name));
		}
		l->parent[l->n] = (uint64_t)sqlite3_column_int64(s, 0);
		l->name[l->n++] = xstrdup((const char *)
					  sqlite3_column_text(s, 1));
	}
	rc = rc == SQLITE_DONE ? 0 : meta_fail(m, rc, "links");
	done(s);
	return rc;
}

static void link_names_release(struct link_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->name[i]);
	free(l->name);
	free(l->parent);
}

int meta_link_promote(struct meta *m, uint64_t ino)
{
	struct link_names l;
	int rc;

	rc = meta_begin(m);
	if (rc)
		return rc;
	rc = link_names(m, ino, &l);
	if (!rc && !l.n)
		rc = -ENOENT;
	/* the link goes first: the name is the entry's after */
	if (!rc)
		rc = meta_link_remove(m, l.parent[0], l.name[0]);
	if (!rc)
		rc = meta_move(m, ino, l.parent[0], l.name[0]);
	link_names_release(&l);
	if (rc) {
		meta_rollback(m);
		return rc;
	}
	return meta_commit(m);
}

int meta_link_paths(struct meta *m, uint64_t ino, char ***paths, size_t *n)
{
	struct link_names l;
	char **v, *dir;
	size_t i;
	int rc;

	lock(m);
	rc = link_names(m, ino, &l);
	v = xcalloc(l.n ? l.n : 1, sizeof(*v));
	for (i = 0; i < l.n && !rc; i++) {
		rc = meta_path(m, l.parent[i], &dir);
		if (!rc) {
			v[i] = util_path_join(dir, l.name[i]);
			free(dir);
		}
	}
	unlock(m);
	if (rc) {
		for (i = 0; i < l.n; i++)
			free(v[i]);
		free(v);
	} else {
		*paths = v;
		*n = l.n;
	}
	link_names_release(&l);
	return rc;
}

int meta_mark_seen(struct meta *m, uint64_t ino, int64_t gen)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_MARK_SEEN);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, gen);
	rc = meta_step_done(m, s, "mark seen");
	unlock(m);
	return rc;
}

int meta_unseen(struct meta *m, uint64_t parent, int64_t gen,
		int (*fn)(void *arg, const struct meta_entry *e), void *arg)
{
	struct entry_list l = { NULL, 0, 0 };
	sqlite3_stmt *s;
	size_t i;
	int rc;

	/* collected first: fn may take the locks that come before ours */
	lock(m);
	s = meta_stmt(m, ST_UNSEEN);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	sqlite3_bind_int64(s, 2, gen);
	rc = foreach_entry(m, s, collect_entry, &l, "unseen");
	unlock(m);
	rc = rc < 0 ? rc : 0;
	for (i = 0; i < l.n; i++) {
		if (!rc)
			rc = fn(arg, &l.v[i]);
		meta_entry_release(&l.v[i]);
	}
	free(l.v);
	return rc < 0 ? rc : 0;
}

int meta_populated_dirs(struct meta *m, int (*fn)(void *arg, uint64_t ino),
			void *arg)
{
	return meta_foreach_ino(m, ST_POPULATED, fn, arg);
}

int meta_foreach_orphan(struct meta *m, int (*fn)(void *arg, uint64_t ino),
			void *arg)
{
	return meta_foreach_ino(m, ST_ORPHANS, fn, arg);
}

int meta_foreach_pinned(struct meta *m, int (*fn)(void *arg, uint64_t ino),
			void *arg)
{
	return meta_foreach_ino(m, ST_PINNED, fn, arg);
}

int meta_set_pin(struct meta *m, uint64_t ino, enum meta_pin pin)
{
	sqlite3_stmt *s;
	int rc;

	rc = meta_begin(m);
	if (rc)
		return rc;
	s = meta_stmt(m, ST_SET_PIN);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int(s, 2, pin);
	rc = meta_step_done(m, s, "set pin");
	if (!rc && sqlite3_changes(m->db) == 0)
		rc = -ENOENT;
	if (!rc) {
		s = meta_stmt(m, ST_CLEAR_PINS);
		sqlite3_bind_int64(s, 1, (int64_t)ino);
		rc = meta_step_done(m, s, "clear pins below");
	}
	if (rc) {
		meta_rollback(m);
		return rc;
	}
	return meta_commit(m);
}

int meta_pin_effective(struct meta *m, uint64_t ino, enum meta_pin *pin,
		       uint64_t *from)
{
	int depth, rc = 0;

	*pin = META_PIN_UNSPECIFIED;
	*from = 0;
	lock(m);
	/* bounded: a cycle would be a corrupt database, not a hang */
	for (depth = 0; ino && depth < 4096; depth++) {
		sqlite3_stmt *s = meta_stmt(m, ST_PARENT_PIN);
		uint64_t parent;
		int p;

		sqlite3_bind_int64(s, 1, (int64_t)ino);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			rc = rc == SQLITE_DONE ? -ENOENT
					       : meta_fail(m, rc, "pin lookup");
			done(s);
			break;
		}
		parent = (uint64_t)sqlite3_column_int64(s, 0);
		p = sqlite3_column_int(s, 1);
		done(s);
		rc = 0;
		if (p == META_PIN_PINNED || p == META_PIN_UNPINNED) {
			*pin = (enum meta_pin)p;
			*from = ino;
			break;
		}
		if (ino == META_ROOT_INO)
			break;
		ino = parent;
	}
	unlock(m);
	return rc;
}

bool meta_pinned(struct meta *m, uint64_t ino)
{
	enum meta_pin pin;
	uint64_t from;

	return meta_pin_effective(m, ino, &pin, &from) == 0 &&
	       pin == META_PIN_PINNED;
}

int meta_lru(struct meta *m, int64_t after_atime, uint64_t after_ino,
	     struct meta_lru *out, int max)
{
	sqlite3_stmt *s;
	int rc, n = 0;

	lock(m);
	s = meta_stmt(m, ST_LRU);
	sqlite3_bind_int64(s, 1, after_atime);
	sqlite3_bind_int64(s, 2, (int64_t)after_ino);
	sqlite3_bind_int(s, 3, max);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		out[n].ino = (uint64_t)sqlite3_column_int64(s, 0);
		out[n].atime_ns = sqlite3_column_int64(s, 1);
		n++;
	}
	if (n < max && rc != SQLITE_DONE)
		n = meta_fail(m, rc, "lru scan");
	done(s);
	unlock(m);
	return n;
}

int meta_drop_data(struct meta *m, uint64_t ino)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_DROP_DATA);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = meta_step_done(m, s, "drop data");
	if (!rc && sqlite3_changes(m->db) == 0)
		rc = -EBUSY;
	unlock(m);
	return rc;
}

int meta_foreach_dirty(struct meta *m,
		       int (*fn)(void *arg, const struct meta_entry *e),
		       void *arg)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_DIRTY);
	rc = foreach_entry(m, s, fn, arg, "dirty scan");
	unlock(m);
	return rc < 0 ? rc : 0;
}

int meta_xattr_set(struct meta *m, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags)
{
	enum stmt_id id = flags == 1 ? ST_XINSERT : flags == 2 ? ST_XUPDATE
							       : ST_XSET;
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, id);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, size ? value : "", (int)size, SQLITE_STATIC);
	rc = meta_step_done(m, s, "set xattr");
	if (!rc && id == ST_XUPDATE && sqlite3_changes(m->db) == 0)
		rc = -ENODATA;
	unlock(m);
	return rc;
}

int meta_xattr_get(struct meta *m, uint64_t ino, const char *name,
		   void *value, size_t size)
{
	sqlite3_stmt *s;
	int rc, n;

	lock(m);
	s = meta_stmt(m, ST_XGET);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		n = sqlite3_column_bytes(s, 0);
		if (size && (size_t)n > size)
			rc = -ERANGE;
		else {
			if (size && n)
				memcpy(value, sqlite3_column_blob(s, 0),
				       (size_t)n);
			rc = n;
		}
	} else {
		rc = rc == SQLITE_DONE ? -ENODATA
				       : meta_fail(m, rc, "get xattr");
	}
	done(s);
	unlock(m);
	return rc;
}

int meta_xattr_list(struct meta *m, uint64_t ino, char *buf, size_t size)
{
	sqlite3_stmt *s;
	size_t used = 0;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_XLIST);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0) + 1;

		if (size && used + n <= size)
			memcpy(buf + used, sqlite3_column_text(s, 0), n);
		used += n;
	}
	rc = rc == SQLITE_DONE ? 0 : meta_fail(m, rc, "list xattrs");
	done(s);
	unlock(m);
	if (rc)
		return rc;
	if (size && used > size)
		return -ERANGE;
	return (int)used;
}

int meta_xattr_remove(struct meta *m, uint64_t ino, const char *name)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_XREMOVE);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	rc = meta_step_done(m, s, "remove xattr");
	if (!rc && sqlite3_changes(m->db) == 0)
		rc = -ENODATA;
	unlock(m);
	return rc;
}
