/*
 * The metadata database on SQLite.
 *
 * Tables: entries (the namespace; row id = inode number, AUTOINCREMENT so
 * numbers are never reused), xattrs (user attributes), journal (remote
 * operations in order), kv (schema version). WAL mode with
 * synchronous=NORMAL: a commit survives the daemon being killed at any
 * moment; meta_sync() makes it survive power loss too (fsync path).
 *
 * One connection, used under one recursive mutex. Statements are prepared
 * once, from the table below, and reset after each use.
 */
#include "common.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "store/meta.h"
#include "util/crash.h"
#include "util/log.h"
#include "util/util.h"

#define META_SCHEMA_VERSION 9

enum stmt_id {
	ST_GET,
	ST_LOOKUP,
	ST_INSERT,
	ST_UPDATE,
	ST_UPDATE_CONTENT,
	ST_SET_ERROR,
	ST_SET_ETAG,
	ST_DELETE,
	ST_DELETE_XATTRS,
	ST_CHILDREN,
	ST_MOVE,
	ST_SET_EXTENTS,
	ST_GET_EXTENTS,
	ST_READDIR,
	ST_HAS_CHILDREN,
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
	ST_JNEXT,
	ST_JDONE,
	ST_JRETRY,
	ST_JCOUNT,
	ST_JUPLOAD_AFTER,
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
	ST_COUNT
};

#define ENTRY_COLS \
	"ino, parent, name, mode, size, mtime, ctime, etag, base, dirty, " \
	"populated, error, link, has_data, pin, atime, spool"

/* The columns of a journal row, in row_to_jop()'s order. */
#define JOP_COLS "seq, kind, ino, path, path2, arg, arg2, not_before, " \
		 "attempts, last_error, match"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_GET] = "SELECT " ENTRY_COLS " FROM entries WHERE ino = ?1",
	[ST_LOOKUP] = "SELECT " ENTRY_COLS
		      " FROM entries WHERE parent = ?1 AND name = ?2",
	[ST_INSERT] = "INSERT INTO entries (parent, name, mode, size, mtime, "
		      "ctime, etag, base, dirty, populated, error, link, "
		      "has_data, pin, atime, spool, seen) VALUES (?2, ?3, ?4, ?5, "
		      "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
		      "0)",
	[ST_UPDATE] = "UPDATE entries SET mode = ?4, "
		      "size = ?5, mtime = ?6, ctime = ?7, etag = ?8, base = ?9, "
		      "dirty = ?10, populated = ?11, error = ?12, link = ?13, "
		      "has_data = ?14, atime = ?16, spool = ?17 WHERE ino = ?1",
	[ST_UPDATE_CONTENT] = "UPDATE entries SET size = ?5, mtime = ?6, "
			      "etag = ?8, base = ?9, dirty = ?10, error = ?12, "
			      "atime = ?16, spool = ?17 WHERE ino = ?1",
	[ST_SET_ERROR] = "UPDATE entries SET error = ?2 WHERE ino = ?1",
	[ST_SET_ETAG] = "UPDATE entries SET etag = ?3 WHERE ino = ?1 AND "
			"etag = ?2",
	[ST_DELETE] = "DELETE FROM entries WHERE ino = ?1",
	[ST_DELETE_XATTRS] = "DELETE FROM xattrs WHERE ino = ?1",
	[ST_CHILDREN] = "SELECT ino, mode FROM entries WHERE parent = ?1",
	[ST_MOVE] = "UPDATE entries SET parent = ?2, name = ?3 WHERE ino = ?1",
	[ST_SET_EXTENTS] = "UPDATE entries SET extents = ?2 WHERE ino = ?1",
	[ST_GET_EXTENTS] = "SELECT extents FROM entries WHERE ino = ?1",
	[ST_READDIR] = "SELECT " ENTRY_COLS " FROM entries WHERE parent = ?1 "
		       "AND ino > ?2 ORDER BY ino LIMIT ?3",
	[ST_HAS_CHILDREN] = "SELECT 1 FROM entries WHERE parent = ?1 LIMIT 1",
	[ST_PARENT_NAME] = "SELECT parent, name FROM entries WHERE ino = ?1",
	[ST_MARK_SEEN] = "UPDATE entries SET seen = ?2 WHERE ino = ?1",
	[ST_UNSEEN] = "SELECT " ENTRY_COLS " FROM entries WHERE parent = ?1 "
		      "AND seen != ?2 AND etag != '' AND dirty = 0",
	[ST_POPULATED] = "SELECT ino FROM entries WHERE populated = 1 "
			 "AND (parent != 0 OR ino = 1)",
	[ST_DIRTY] = "SELECT " ENTRY_COLS " FROM entries WHERE dirty = 1",
	[ST_ORPHANS] = "SELECT ino FROM entries WHERE parent = 0 AND ino != 1",
	[ST_XGET] = "SELECT value FROM xattrs WHERE ino = ?1 AND name = ?2",
	[ST_XSET] = "INSERT OR REPLACE INTO xattrs (ino, name, value) "
		    "VALUES (?1, ?2, ?3)",
	[ST_XINSERT] = "INSERT INTO xattrs (ino, name, value) "
		       "VALUES (?1, ?2, ?3)",
	[ST_XUPDATE] = "UPDATE xattrs SET value = ?3 WHERE ino = ?1 "
		       "AND name = ?2",
	[ST_XLIST] = "SELECT name FROM xattrs WHERE ino = ?1 ORDER BY name",
	[ST_XREMOVE] = "DELETE FROM xattrs WHERE ino = ?1 AND name = ?2",
	[ST_JADD] = "INSERT INTO journal (kind, ino, path, path2, arg, arg2, "
		    "not_before, attempts, match) VALUES (?1, ?2, ?3, ?4, ?5, "
		    "?6, ?7, 0, ?8)",
	[ST_JNEXT] = "SELECT " JOP_COLS " FROM journal ORDER BY seq LIMIT 1",
	[ST_JDONE] = "DELETE FROM journal WHERE seq = ?1",
	[ST_JRETRY] = "UPDATE journal SET not_before = ?2, attempts = ?3, "
		      "last_error = ?4 WHERE seq = ?1",
	[ST_JCOUNT] = "SELECT count(*) FROM journal",
	[ST_JUPLOAD_AFTER] = "SELECT 1 FROM journal WHERE kind = 1 AND "
			     "ino = ?1 AND seq > ?2 LIMIT 1",
	[ST_JALL] = "SELECT " JOP_COLS " FROM journal ORDER BY seq",
	[ST_JFROM] = "SELECT " JOP_COLS " FROM journal WHERE seq >= ?1 "
		     "ORDER BY seq",
	[ST_JSETPATH] = "UPDATE journal SET path = ?2 WHERE seq = ?1",
	[ST_JRENAMES] = "SELECT path, path2 FROM journal WHERE kind = 5 "
			"ORDER BY seq DESC",
	[ST_JSETTARGET] = "UPDATE journal SET path2 = ?2, match = NULL "
			  "WHERE seq = ?1",
	[ST_JREMATCH] = "UPDATE journal SET match = ?2 WHERE kind = 5 AND "
			"arg2 = ?1 AND match IS NOT NULL",
	[ST_PARENT_PIN] = "SELECT parent, pin FROM entries WHERE ino = ?1",
	[ST_SET_PIN] = "UPDATE entries SET pin = ?2 WHERE ino = ?1",
	[ST_CLEAR_PINS] = "WITH RECURSIVE sub(ino) AS (SELECT ino FROM entries "
			  "WHERE parent = ?1 UNION ALL SELECT e.ino FROM "
			  "entries e JOIN sub ON e.parent = sub.ino) "
			  "UPDATE entries SET pin = 0 WHERE pin != 0 AND "
			  "ino IN sub",
	[ST_PINNED] = "SELECT ino FROM entries WHERE pin = 1 "
		      "AND (parent != 0 OR ino = 1)",
	/* the index entries_lru serves this: has_data rows by (atime, ino) */
	[ST_LRU] = "SELECT ino, atime FROM entries WHERE has_data = 1 AND "
		   "(atime, ino) > (?1, ?2) AND dirty = 0 AND parent != 0 "
		   "ORDER BY atime, ino LIMIT ?3",
	[ST_DROP_DATA] = "UPDATE entries SET has_data = 0, extents = NULL "
			 "WHERE ino = ?1 AND dirty = 0 AND error = 0",
	[ST_CLONE_PUT] = "INSERT OR REPLACE INTO clones (ino, source, dev, "
			 "src_ino, size, hash, policy, backed, ctime) VALUES "
			 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_CLONE_GET] = "SELECT source, dev, src_ino, size, hash, policy, "
			 "backed, ctime FROM clones WHERE ino = ?1",
	[ST_CLONE_DELETE] = "DELETE FROM clones WHERE ino = ?1",
	[ST_CLONES] = "SELECT ino FROM clones",
	[ST_UPLOAD_GET] = "SELECT path, state FROM uploads WHERE ino = ?1",
	[ST_UPLOAD_SET] = "INSERT OR REPLACE INTO uploads (ino, path, state) "
			  "VALUES (?1, ?2, ?3)",
	[ST_UPLOAD_DELETE] = "DELETE FROM uploads WHERE ino = ?1",
	[ST_TRIED_SET] = "UPDATE entries SET tried_size = ?2, tried_mtime = ?3 "
			 "WHERE ino = ?1",
	[ST_TRIED_GET] = "SELECT tried_size, tried_mtime FROM entries "
			 "WHERE ino = ?1",
};

/* Copies of local files (the clone filter's), until uploaded: where the
 * bytes come from and the hash they must have. */
#define CLONES_SQL \
	"CREATE TABLE IF NOT EXISTS clones (" \
	" ino INTEGER PRIMARY KEY, source TEXT NOT NULL," \
	" dev INTEGER NOT NULL, src_ino INTEGER NOT NULL," \
	" size INTEGER NOT NULL, hash BLOB NOT NULL," \
	" policy INTEGER NOT NULL, backed INTEGER NOT NULL," \
	" ctime INTEGER NOT NULL DEFAULT 0);"

/* Multipart uploads that can go on after a crash (remote.h's
 * remote_resume): the state the remote saved, by file. */
#define UPLOADS_SQL \
	"CREATE TABLE IF NOT EXISTS uploads (" \
	" ino INTEGER PRIMARY KEY, path TEXT NOT NULL, state TEXT NOT NULL);"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value);"
	"CREATE TABLE IF NOT EXISTS entries ("
	" ino INTEGER PRIMARY KEY AUTOINCREMENT,"
	" parent INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" mode INTEGER NOT NULL,"
	" size INTEGER NOT NULL DEFAULT 0,"
	" mtime INTEGER NOT NULL DEFAULT 0,"
	" ctime INTEGER NOT NULL DEFAULT 0,"
	" etag TEXT NOT NULL DEFAULT '',"
	" base INTEGER NOT NULL DEFAULT 0,"
	" dirty INTEGER NOT NULL DEFAULT 0,"
	" populated INTEGER NOT NULL DEFAULT 0,"
	" error INTEGER NOT NULL DEFAULT 0,"
	" link TEXT,"
	" extents BLOB,"
	" seen INTEGER NOT NULL DEFAULT 0,"
	" has_data INTEGER NOT NULL DEFAULT 0,"
	" pin INTEGER NOT NULL DEFAULT 0,"
	" atime INTEGER NOT NULL DEFAULT 0,"
	" spool INTEGER NOT NULL DEFAULT 0,"
	" tried_size INTEGER NOT NULL DEFAULT -1,"
	" tried_mtime INTEGER NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX IF NOT EXISTS entries_by_name"
	" ON entries(parent, name);"
	"CREATE INDEX IF NOT EXISTS entries_parent ON entries(parent);"
	"CREATE INDEX IF NOT EXISTS entries_dirty ON entries(dirty) "
	" WHERE dirty = 1;"
	"CREATE TABLE IF NOT EXISTS xattrs ("
	" ino INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL,"
	" PRIMARY KEY (ino, name)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS journal ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind INTEGER NOT NULL, ino INTEGER NOT NULL DEFAULT 0,"
	" path TEXT NOT NULL, path2 TEXT, arg INTEGER NOT NULL DEFAULT 0,"
	" arg2 INTEGER NOT NULL DEFAULT 0,"
	" not_before INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" last_error INTEGER NOT NULL DEFAULT 0,"
	" match TEXT);"
	CLONES_SQL
	UPLOADS_SQL;

/* Indexes on columns that migrations add: made once the tables have
 * them (schema_sql runs first, on databases of any version). */
static const char index_sql[] =
	"CREATE INDEX IF NOT EXISTS entries_lru ON entries(atime) "
	" WHERE has_data = 1;";

struct meta {
	sqlite3 *db;			/* protected by lock */
	sqlite3_stmt *stmt[ST_COUNT];	/* prepared lazily; under lock */
	pthread_mutex_t lock;		/* recursive */
	char *path;			/* database file, for messages */
	uint64_t journal_gen;		/* ops added so far; under lock */
};

/* SQLite result codes to errno: the one place that knows them. */
static int meta_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOTFOUND:
		return -ENOENT;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CANTOPEN:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* Logs a failed statement once, with the database path and the cause. */
static int meta_fail(struct meta *m, int rc, const char *what)
{
	int err = meta_errno(rc);

	if (err != -EEXIST)
		log_error("metadata %s: %s failed: %s", m->path, what,
			  sqlite3_errmsg(m->db));
	return err;
}

static void lock(struct meta *m)
{
	pthread_mutex_lock(&m->lock);
}

static void unlock(struct meta *m)
{
	pthread_mutex_unlock(&m->lock);
}

/* The prepared statement id, reset and ready to bind; under the lock. */
static sqlite3_stmt *meta_stmt(struct meta *m, enum stmt_id id)
{
	sqlite3_stmt *s = m->stmt[id];

	if (!s) {
		if (sqlite3_prepare_v3(m->db, stmt_sql[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &s, NULL)) {
			log_error("metadata: cannot prepare '%s': %s",
				  stmt_sql[id], sqlite3_errmsg(m->db));
			abort();	/* a bug in the SQL above */
		}
		m->stmt[id] = s;
	}
	return s;
}

static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int exec(struct meta *m, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(m->db, sql, NULL, NULL, &msg);

	if (rc) {
		log_error("metadata %s: '%s' failed: %s", m->path, sql,
			  msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return meta_errno(rc);
	}
	return 0;
}

/* Upgrades an older database in place; one step per version. */
static const char *const migrations[] = {
	[2] = "ALTER TABLE journal ADD COLUMN last_error INTEGER NOT NULL "
	      "DEFAULT 0",
	/* older stores: assume any file may have data */
	[3] = "ALTER TABLE entries ADD COLUMN has_data INTEGER NOT NULL "
	      "DEFAULT 1",
	[4] = "ALTER TABLE entries ADD COLUMN pin INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE entries ADD COLUMN atime INTEGER NOT NULL "
	      "DEFAULT 0",
	[5] = "ALTER TABLE entries ADD COLUMN spool INTEGER NOT NULL DEFAULT 0",
	[6] = CLONES_SQL,
	[7] = UPLOADS_SQL,
	[8] = "ALTER TABLE journal ADD COLUMN match TEXT",
	[9] = "ALTER TABLE entries ADD COLUMN tried_size INTEGER NOT NULL "
	      "DEFAULT -1;"
	      "ALTER TABLE entries ADD COLUMN tried_mtime INTEGER NOT NULL "
	      "DEFAULT 0",
};

static int migrate(struct meta *m)
{
	sqlite3_stmt *s;
	int version = 0, rc, v;
	char sql[64];

	if (sqlite3_prepare_v2(m->db, "SELECT value FROM kv WHERE key = "
				      "'schema'", -1, &s, NULL))
		return meta_fail(m, sqlite3_errcode(m->db),
				 "read schema version");
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version == 0) {
		/* a new database: created at the current version */
		snprintf(sql, sizeof(sql), "INSERT INTO kv VALUES ('schema', %d)",
			 META_SCHEMA_VERSION);
		return exec(m, sql);
	}
	if (version > META_SCHEMA_VERSION) {
		log_error("metadata %s: made by a newer clonedrive (schema %d, "
			  "this one knows %d); use that version or another "
			  "--cache-dir", m->path, version, META_SCHEMA_VERSION);
		return -EPROTO;
	}
	for (v = version + 1; v <= META_SCHEMA_VERSION; v++) {
		rc = exec(m, migrations[v]);
		if (!rc) {
			snprintf(sql, sizeof(sql),
				 "UPDATE kv SET value = %d WHERE key = 'schema'",
				 v);
			rc = exec(m, sql);
		}
		if (rc)
			return rc;
		log_info("metadata %s: upgraded to schema %d", m->path, v);
	}
	return 0;
}

int meta_open(const char *path, struct meta **out)
{
	pthread_mutexattr_t attr;
	struct meta *m = xcalloc(1, sizeof(*m));
	int rc;

	m->path = xstrdup(path);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	rc = sqlite3_open_v2(path, &m->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_FULLMUTEX,
			     NULL);
	if (rc) {
		log_error("metadata %s: cannot open: %s", path,
			  m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc));
		rc = meta_errno(rc);
		goto out_close;
	}
	sqlite3_busy_timeout(m->db, 5000);
	/* one daemon per store (the cache directory is locked), so the
	 * file locks SQLite takes per transaction are pure overhead */
	rc = exec(m, "PRAGMA locking_mode = EXCLUSIVE");
	if (!rc)
		rc = exec(m, "PRAGMA journal_mode = WAL");
	if (!rc)
		rc = exec(m, "PRAGMA synchronous = NORMAL");
	if (!rc)
		rc = exec(m, "PRAGMA foreign_keys = OFF");
	if (!rc)
		rc = exec(m, schema_sql);
	if (!rc)
		rc = exec(m, "INSERT OR IGNORE INTO entries (ino, parent, "
			     "name, mode, etag, populated) VALUES (1, 0, '', "
			     "16877, 'dir', 0)");
	if (!rc)
		rc = migrate(m);
	if (!rc)
		rc = exec(m, index_sql);
	if (rc)
		goto out_close;
	*out = m;
	return 0;
out_close:
	sqlite3_close(m->db);
	pthread_mutex_destroy(&m->lock);
	free(m->path);
	free(m);
	return rc;
}

void meta_close(struct meta *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(m->stmt[i]);
	if (sqlite3_close(m->db))
		log_error("metadata %s: close failed: %s", m->path,
			  sqlite3_errmsg(m->db));
	pthread_mutex_destroy(&m->lock);
	free(m->path);
	free(m);
}

int meta_begin(struct meta *m)
{
	int rc;

	/* savepoints nest: a delete inside a rename is one transaction */
	lock(m);
	rc = exec(m, "SAVEPOINT txn");
	if (rc)
		unlock(m);
	return rc;
}

int meta_commit(struct meta *m)
{
	int rc = exec(m, "RELEASE txn");

	if (rc)
		meta_rollback(m);
	else
		unlock(m);
	return rc;
}

void meta_rollback(struct meta *m)
{
	sqlite3_exec(m->db, "ROLLBACK TO txn; RELEASE txn", NULL, NULL, NULL);
	unlock(m);
}

int meta_sync(struct meta *m)
{
	int rc;

	lock(m);
	/* a FULL commit syncs the WAL, and with it every earlier commit */
	rc = exec(m, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE; "
		     "UPDATE kv SET value = value WHERE key = 'schema'; "
		     "COMMIT; PRAGMA synchronous = NORMAL");
	unlock(m);
	return rc;
}

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
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
}

void meta_entry_release(struct meta_entry *e)
{
	free(e->link);
	e->link = NULL;
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

/* Binds every field of e as ?1..?17 (the order of ENTRY_COLS). An update
 * leaves out ?15, the pin state: only meta_set_pin() changes it, so a
 * read-modify-write of an entry can never undo a pin set meanwhile. */
static void bind_entry(sqlite3_stmt *s, const struct meta_entry *e)
{
	sqlite3_bind_int64(s, 1, (int64_t)e->ino);
	sqlite3_bind_int64(s, 2, (int64_t)e->parent);
	sqlite3_bind_text(s, 3, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, e->mode);
	sqlite3_bind_int64(s, 5, (int64_t)e->size);
	sqlite3_bind_int64(s, 6, e->mtime_ns);
	sqlite3_bind_int64(s, 7, e->ctime_ns);
	sqlite3_bind_text(s, 8, e->etag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, (int64_t)e->base);
	sqlite3_bind_int(s, 10, e->dirty);
	sqlite3_bind_int(s, 11, e->populated);
	sqlite3_bind_int(s, 12, e->error);
	if (e->link)
		sqlite3_bind_text(s, 13, e->link, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 13);
	sqlite3_bind_int(s, 14, e->has_data);
	sqlite3_bind_int(s, 15, e->pin);
	sqlite3_bind_int64(s, 16, e->atime_ns);
	sqlite3_bind_int(s, 17, e->spool);
}

/* Runs a statement that returns no rows. */
static int meta_step_done(struct meta *m, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	rc = rc == SQLITE_DONE ? 0 : meta_fail(m, rc, what);
	done(s);
	return rc;
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
				on_delete(arg, kids[i]);
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
		on_delete(arg, ino);
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
	size_t i;

	/* a page is collected first and handed out without the lock: fn
	 * fills attributes, which takes the store's node locks */
	lock(m);
	s = meta_stmt(m, ST_READDIR);
	sqlite3_bind_int64(s, 1, (int64_t)parent);
	sqlite3_bind_int64(s, 2, (int64_t)after);
	sqlite3_bind_int(s, 3, max);
	rc = foreach_entry(m, s, collect_entry, &l, "readdir");
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

	rc = fault_point("has-children");
	if (rc)
		return rc;
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

/* Steps a statement whose first column is an inode number. */
static int meta_foreach_ino(struct meta *m, enum stmt_id id,
			    int (*fn)(void *arg, uint64_t ino), void *arg)
{
	uint64_t *v = NULL;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s;
	int rc;

	/* collected first so that fn may use the database */
	lock(m);
	s = meta_stmt(m, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = (uint64_t)sqlite3_column_int64(s, 0);
	}
	rc = rc == SQLITE_DONE ? 0 : meta_fail(m, rc, "scan");
	done(s);
	unlock(m);
	for (i = 0; i < n && !rc; i++)
		rc = fn(arg, v[i]);
	free(v);
	return rc;
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

int meta_journal_add(struct meta *m, struct jop *op)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JADD);
	sqlite3_bind_int(s, 1, op->kind);
	sqlite3_bind_int64(s, 2, (int64_t)op->ino);
	sqlite3_bind_text(s, 3, op->path, -1, SQLITE_STATIC);
	if (op->path2)
		sqlite3_bind_text(s, 4, op->path2, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, op->arg);
	sqlite3_bind_int64(s, 6, op->arg2);
	sqlite3_bind_int64(s, 7, op->not_before);
	if (op->match)
		sqlite3_bind_text(s, 8, op->match, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 8);
	rc = meta_step_done(m, s, "journal add");
	if (!rc)
		op->seq = sqlite3_last_insert_rowid(m->db);
	/* counted even if the caller's transaction is rolled back: a
	 * listing taken meanwhile is only read again for nothing */
	m->journal_gen++;
	unlock(m);
	return rc;
}

uint64_t meta_journal_gen(struct meta *m)
{
	uint64_t gen;

	lock(m);
	gen = m->journal_gen;
	unlock(m);
	return gen;
}

static void row_to_jop(sqlite3_stmt *s, struct jop *op)
{
	const unsigned char *p2 = sqlite3_column_text(s, 4);
	const unsigned char *match = sqlite3_column_text(s, 10);

	op->seq = sqlite3_column_int64(s, 0);
	op->kind = (enum jop_kind)sqlite3_column_int(s, 1);
	op->ino = (uint64_t)sqlite3_column_int64(s, 2);
	op->path = xstrdup((const char *)sqlite3_column_text(s, 3));
	op->path2 = p2 ? xstrdup((const char *)p2) : NULL;
	op->arg = sqlite3_column_int64(s, 5);
	op->arg2 = sqlite3_column_int64(s, 6);
	op->not_before = sqlite3_column_int64(s, 7);
	op->attempts = sqlite3_column_int(s, 8);
	op->last_error = sqlite3_column_int(s, 9);
	op->match = match ? xstrdup((const char *)match) : NULL;
}

int meta_journal_next(struct meta *m, struct jop *op)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JNEXT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_to_jop(s, op);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT
				       : meta_fail(m, rc, "journal next");
	}
	done(s);
	unlock(m);
	return rc;
}

int meta_journal_done(struct meta *m, int64_t seq)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JDONE);
	sqlite3_bind_int64(s, 1, seq);
	rc = meta_step_done(m, s, "journal done");
	unlock(m);
	return rc;
}

int meta_journal_retry(struct meta *m, int64_t seq, int64_t not_before,
		       int attempts, int error)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JRETRY);
	sqlite3_bind_int64(s, 1, seq);
	sqlite3_bind_int64(s, 2, not_before);
	sqlite3_bind_int(s, 3, attempts);
	sqlite3_bind_int(s, 4, error);
	rc = meta_step_done(m, s, "journal retry");
	unlock(m);
	return rc;
}

int64_t meta_journal_count(struct meta *m)
{
	sqlite3_stmt *s;
	int64_t n;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JCOUNT);
	rc = sqlite3_step(s);
	n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0)
			     : meta_fail(m, rc, "journal count");
	done(s);
	unlock(m);
	return n;
}

bool meta_journal_has_upload_after(struct meta *m, uint64_t ino,
				   int64_t after)
{
	sqlite3_stmt *s;
	bool found;

	lock(m);
	s = meta_stmt(m, ST_JUPLOAD_AFTER);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, after);
	found = sqlite3_step(s) == SQLITE_ROW;
	done(s);
	unlock(m);
	return found;
}

int meta_journal_foreach(struct meta *m,
			 int (*fn)(void *arg, const struct jop *op), void *arg)
{
	sqlite3_stmt *s;
	struct jop op;
	int rc, stop = 0;

	lock(m);
	s = meta_stmt(m, ST_JALL);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_jop(s, &op);
		stop = fn(arg, &op);
		jop_release(&op);
		if (stop)
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
	   : meta_fail(m, rc, "journal");
	done(s);
	unlock(m);
	return rc ? rc : stop < 0 ? stop : 0;
}

/* Whether op, queued after ino's file took path from, acts on it there;
 * *last: it is the last one that can (the name is someone else's after). */
static bool acts_on(const struct jop *op, uint64_t ino, const char *from,
		    bool *last)
{
	*last = true;
	if (op->kind == JOP_RENAME && op->path2 && !strcmp(op->path2, from) &&
	    strcmp(op->path, from) != 0)
		return false;	/* another entry takes the name */
	if (strcmp(op->path, from) != 0) {
		*last = false;
		return false;
	}
	switch (op->kind) {
	case JOP_UPLOAD:
	case JOP_SETATTR:
		*last = op->ino != ino;
		return op->ino == ino;
	case JOP_UNLINK:
	case JOP_RENAME:
		return true;	/* and the name is free after */
	default:
		return false;
	}
}

int meta_journal_repath(struct meta *m, int64_t seq, uint64_t ino,
			const char *from, const char *to)
{
	int64_t *seqs = NULL;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s;
	struct jop op;
	bool last = false;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JFROM);
	sqlite3_bind_int64(s, 1, seq);
	while (!last && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_jop(s, &op);
		if (acts_on(&op, ino, from, &last)) {
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				seqs = xrealloc(seqs, cap * sizeof(*seqs));
			}
			seqs[n++] = op.seq;
		}
		jop_release(&op);
	}
	rc = last || rc == SQLITE_DONE ? 0 : meta_fail(m, rc, "journal");
	done(s);
	for (i = 0; i < n && !rc; i++) {
		s = meta_stmt(m, ST_JSETPATH);
		sqlite3_bind_int64(s, 1, seqs[i]);
		sqlite3_bind_text(s, 2, to, -1, SQLITE_TRANSIENT);
		rc = meta_step_done(m, s, "journal repath");
	}
	unlock(m);
	free(seqs);
	return rc;
}

int meta_journal_set_target(struct meta *m, int64_t seq, const char *to)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JSETTARGET);
	sqlite3_bind_int64(s, 1, seq);
	sqlite3_bind_text(s, 2, to, -1, SQLITE_TRANSIENT);
	rc = meta_step_done(m, s, "journal target");
	unlock(m);
	return rc;
}

int meta_journal_rematch(struct meta *m, uint64_t ino, const char *etag)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JREMATCH);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_text(s, 2, etag, -1, SQLITE_TRANSIENT);
	rc = meta_step_done(m, s, "journal rematch");
	unlock(m);
	return rc;
}

int meta_journal_unrename(struct meta *m, const char *path, char **out)
{
	char *p = xstrdup(path);
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JRENAMES);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *from = (const char *)sqlite3_column_text(s, 0);
		const char *to = (const char *)sqlite3_column_text(s, 1);
		size_t tl = to ? strlen(to) : 0;
		char *q;

		if (!from || !to || strncmp(p, to, tl) != 0 ||
		    (p[tl] != '\0' && p[tl] != '/'))
			continue;
		q = xasprintf("%s%s", from, p + tl);
		free(p);
		p = q;
	}
	rc = rc == SQLITE_DONE ? 0 : meta_fail(m, rc, "journal renames");
	done(s);
	unlock(m);
	if (rc)
		free(p);
	else
		*out = p;
	return rc;
}

void jop_release(struct jop *op)
{
	free(op->path);
	free(op->path2);
	free(op->match);
	op->path = NULL;
	op->path2 = NULL;
	op->match = NULL;
}

int meta_clone_put(struct meta *m, const struct meta_clone *c)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_CLONE_PUT);
	sqlite3_bind_int64(s, 1, (int64_t)c->ino);
	sqlite3_bind_text(s, 2, c->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)c->dev);
	sqlite3_bind_int64(s, 4, (int64_t)c->src_ino);
	sqlite3_bind_int64(s, 5, (int64_t)c->size);
	sqlite3_bind_blob(s, 6, c->hash, sizeof(c->hash), SQLITE_STATIC);
	sqlite3_bind_int(s, 7, c->policy);
	sqlite3_bind_int(s, 8, c->backed);
	sqlite3_bind_int64(s, 9, c->ctime_ns);
	rc = meta_step_done(m, s, "record a clone");
	unlock(m);
	return rc;
}

int meta_clone_get(struct meta *m, uint64_t ino, struct meta_clone *c)
{
	sqlite3_stmt *s;
	int rc;

	memset(c, 0, sizeof(*c));
	lock(m);
	s = meta_stmt(m, ST_CLONE_GET);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(s, 4);

		c->ino = ino;
		c->source = xstrdup((const char *)sqlite3_column_text(s, 0));
		c->dev = (uint64_t)sqlite3_column_int64(s, 1);
		c->src_ino = (uint64_t)sqlite3_column_int64(s, 2);
		c->size = (uint64_t)sqlite3_column_int64(s, 3);
		c->hash_known = h && sqlite3_column_bytes(s, 4) ==
					     (int)sizeof(c->hash);
		if (c->hash_known)
			memcpy(c->hash, h, sizeof(c->hash));
		c->policy = sqlite3_column_int(s, 5);
		c->backed = sqlite3_column_int(s, 6) != 0;
		c->ctime_ns = sqlite3_column_int64(s, 7);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT
				       : meta_fail(m, rc, "read a clone");
	}
	done(s);
	unlock(m);
	return rc;
}

int meta_clone_delete(struct meta *m, uint64_t ino)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_CLONE_DELETE);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = meta_step_done(m, s, "forget a clone");
	unlock(m);
	return rc;
}

int meta_foreach_clone(struct meta *m, int (*fn)(void *arg, uint64_t ino),
		       void *arg)
{
	return meta_foreach_ino(m, ST_CLONES, fn, arg);
}

void meta_clone_release(struct meta_clone *c)
{
	free(c->source);
	c->source = NULL;
}

int meta_tried_set(struct meta *m, uint64_t ino, int64_t size,
		   int64_t mtime_ns)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_TRIED_SET);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, size);
	sqlite3_bind_int64(s, 3, mtime_ns);
	rc = meta_step_done(m, s, "record an upload's try");
	unlock(m);
	return rc;
}

int meta_tried_get(struct meta *m, uint64_t ino, int64_t *size,
		   int64_t *mtime_ns)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_TRIED_GET);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*size = sqlite3_column_int64(s, 0);
		*mtime_ns = sqlite3_column_int64(s, 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT
				       : meta_fail(m, rc, "upload's try");
	}
	done(s);
	unlock(m);
	return rc;
}

int meta_upload_get(struct meta *m, uint64_t ino, char **path, char **state)
{
	sqlite3_stmt *s;
	int rc;

	*path = *state = NULL;
	lock(m);
	s = meta_stmt(m, ST_UPLOAD_GET);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*path = xstrdup((const char *)sqlite3_column_text(s, 0));
		*state = xstrdup((const char *)sqlite3_column_text(s, 1));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT
		   : meta_fail(m, rc, "read an upload's state");
	}
	done(s);
	unlock(m);
	return rc;
}

int meta_upload_set(struct meta *m, uint64_t ino, const char *path,
		    const char *state)
{
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, state ? ST_UPLOAD_SET : ST_UPLOAD_DELETE);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	if (state) {
		sqlite3_bind_text(s, 2, path, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 3, state, -1, SQLITE_TRANSIENT);
	}
	rc = meta_step_done(m, s, "save an upload's state");
	unlock(m);
	return rc;
}
