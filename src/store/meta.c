/*
 * The metadata database on SQLite.
 *
 * Tables: entries (the namespace; row id = inode number, AUTOINCREMENT so
 * numbers are never reused), links (the other names of an entry with
 * more than one: hard links), xattrs (user attributes), journal (remote
 * operations in order), clones (copies of local files until uploaded),
 * uploads (multipart uploads to resume), kv (schema version). WAL mode
 * with synchronous=NORMAL: a commit survives the daemon being killed at
 * any moment; meta_sync() makes it survive power loss too (fsync path).
 *
 * One connection, used under one recursive mutex. Statements are prepared
 * once, from the table below, and reset after each use.
 *
 * This file opens and closes the database and holds what every part
 * shares: the schema and its migrations, the statements, transactions.
 * The functions on the tables are in meta_entry.c, meta_journal.c and
 * meta_upload.c (see meta_int.h).
 */
#include "common.h"

#include <pthread.h>
#include <sqlite3.h>

#include "store/meta_int.h"
#include "util/log.h"
#include "util/util.h"

#define META_SCHEMA_VERSION 12

/*
 * The columns of an entry, in row_to_entry()'s order, from the row e of
 * entries: its name (parent, name) as found (its own, or the row l of
 * links it was found by), its count of extra names, whether it was found
 * by one (alias), and its place in a listing (pos, AS pos).
 */
#define ENTRY_SEL_N(parent, name, names, alias, pos) \
	"e.ino, " parent ", " name ", e.mode, e.size, e.mtime, e.ctime, " \
	"e.etag, e.base, e.dirty, e.populated, e.error, e.link, e.has_data, " \
	"e.pin, e.atime, e.spool, e.uid, e.gid, e.rdev, e.uatime, " \
	names ", " alias ", " pos " AS pos"
#define ENTRY_SEL(parent, name, alias, pos) \
	ENTRY_SEL_N(parent, name, \
		    "(SELECT count(*) FROM links x WHERE x.ino = e.ino)", \
		    alias, pos)
/* A listing shows an entry's own name at its inode number, and its extra
 * names after every inode number there can be, at 2^62 + their row id. */
#define LINK_POS "4611686018427387904"	/* META_LINK_POS */
#define ENTRY_COLS ENTRY_SEL("e.parent", "e.name", "0", "e.ino")
#define LINK_COLS ENTRY_SEL("l.parent", "l.name", "1", LINK_POS " + l.id")

/* The columns of a journal row, in row_to_jop()'s order. */
#define JOP_COLS "seq, kind, ino, path, path2, arg, arg2, not_before, " \
		 "attempts, last_error, match, moved"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_GET] = "SELECT " ENTRY_COLS " FROM entries e WHERE e.ino = ?1",
	/* a name is an entry's or a link's, never both (the triggers) */
	[ST_LOOKUP] = "SELECT " ENTRY_COLS " FROM entries e WHERE "
		      "e.parent = ?1 AND e.name = ?2 UNION ALL SELECT "
		      LINK_COLS " FROM links l JOIN entries e ON "
		      "e.ino = l.ino WHERE l.parent = ?1 AND l.name = ?2",
	[ST_INSERT] = "INSERT INTO entries (" META_INSERT_COLS ") VALUES "
		      "(?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
		      "?15, ?16, ?17, ?18, ?19, ?20, ?21, 0)",
	[ST_UPDATE] = "UPDATE entries SET mode = ?4, "
		      "size = ?5, mtime = ?6, ctime = ?7, etag = ?8, base = ?9, "
		      "dirty = ?10, populated = ?11, error = ?12, link = ?13, "
		      "has_data = ?14, atime = ?16, spool = ?17, uid = ?18, "
		      "gid = ?19, rdev = ?20, uatime = ?21 WHERE ino = ?1",
	[ST_UPDATE_CONTENT] = "UPDATE entries SET size = ?5, mtime = ?6, "
			      "ctime = MAX(ctime, ?7), "
			      "etag = ?8, base = ?9, dirty = ?10, error = ?12, "
			      "atime = ?16, spool = ?17 WHERE ino = ?1",
	[ST_SET_ERROR] = "UPDATE entries SET error = ?2 WHERE ino = ?1",
	[ST_SET_HAS_DATA] = "UPDATE entries SET has_data = 1 WHERE ino = ?1",
	[ST_SET_POPULATED] = "UPDATE entries SET populated = 1 WHERE ino = ?1",
	[ST_TOUCH] = "UPDATE entries SET mtime = COALESCE(?2, mtime), "
		     "ctime = ?3 WHERE ino = ?1",
	[ST_SET_ETAG] = "UPDATE entries SET etag = ?3 WHERE ino = ?1 AND "
			"etag = ?2",
	[ST_DELETE] = "DELETE FROM entries WHERE ino = ?1",
	[ST_DELETE_XATTRS] = "DELETE FROM xattrs WHERE ino = ?1",
	[ST_CHILDREN] = "SELECT ino, mode FROM entries WHERE parent = ?1",
	[ST_MOVE] = "UPDATE entries SET parent = ?2, name = ?3 WHERE ino = ?1",
	[ST_SET_EXTENTS] = "UPDATE entries SET extents = ?2 WHERE ino = ?1",
	[ST_GET_EXTENTS] = "SELECT extents FROM entries WHERE ino = ?1",
	/* a page of a listing: the own names in inode order, then the
	 * extra names in row order, each in the order of its index, so a
	 * page costs its own rows and not a sort of the rest */
	[ST_READDIR] = "SELECT " ENTRY_COLS " FROM entries e WHERE "
		       "e.parent = ?1 AND e.ino > ?2 ORDER BY e.ino LIMIT ?3",
	/* the same where no entry has an extra name: a listing's rows
	 * without a search of links each */
	[ST_READDIR_BARE] = "SELECT " ENTRY_SEL_N("e.parent", "e.name", "0",
						  "0", "e.ino")
			    " FROM entries e WHERE e.parent = ?1 AND "
			    "e.ino > ?2 ORDER BY e.ino LIMIT ?3",
	[ST_ANY_LINKS] = "SELECT 1 FROM links LIMIT 1",
	[ST_READDIR_LINKS] = "SELECT " LINK_COLS " FROM links l JOIN "
			     "entries e ON e.ino = l.ino WHERE l.parent = ?1 "
			     "AND l.id > ?2 ORDER BY l.id LIMIT ?3",
	[ST_HAS_CHILDREN] = "SELECT 1 FROM entries WHERE parent = ?1 "
			    "UNION ALL SELECT 1 FROM links WHERE parent = ?1 "
			    "LIMIT 1",
	[ST_SUBDIRS] = "SELECT count(*) FROM entries WHERE parent = ?1 AND "
		       "mode & 61440 = 16384",
	[ST_PARENT_NAME] = "SELECT parent, name FROM entries WHERE ino = ?1",
	[ST_MARK_SEEN] = "UPDATE entries SET seen = ?2 WHERE ino = ?1",
	[ST_UNSEEN] = "SELECT " ENTRY_COLS " FROM entries e WHERE "
		      "e.parent = ?1 AND e.seen != ?2 AND e.etag != '' AND "
		      "e.dirty = 0",
	[ST_POPULATED] = "SELECT ino FROM entries WHERE populated = 1 "
			 "AND (parent != 0 OR ino = 1)",
	[ST_DIRTY] = "SELECT " ENTRY_COLS " FROM entries e WHERE e.dirty = 1",
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
		    "not_before, attempts, match, moved) VALUES (?1, ?2, ?3, "
		    "?4, ?5, ?6, ?7, 0, ?8, ?9)",
	[ST_JDIRTIME_DROP] = "DELETE FROM journal WHERE kind = ?1 AND ino = ?2",
	[ST_JNEXT] = "SELECT " JOP_COLS " FROM journal ORDER BY seq LIMIT 1",
	[ST_JDONE] = "DELETE FROM journal WHERE seq = ?1",
	[ST_JRETRY] = "UPDATE journal SET not_before = ?2, attempts = ?3, "
		      "last_error = ?4 WHERE seq = ?1",
	[ST_JCOUNT] = "SELECT count(*) FROM journal",
	[ST_JUPLOAD_AFTER] = "SELECT 1 FROM journal WHERE kind = 1 AND "
			     "ino = ?1 AND seq > ?2 LIMIT 1",
	[ST_JUPLOAD_LAST] = "SELECT 1 FROM journal WHERE kind = 1 AND "
			    "ino = ?1 AND seq > (SELECT IFNULL(MAX(seq), 0) "
			    "FROM journal WHERE kind = 7 AND ino = ?1) LIMIT 1",
	[ST_JALL] = "SELECT " JOP_COLS " FROM journal ORDER BY seq",
	[ST_JFROM] = "SELECT " JOP_COLS " FROM journal WHERE seq >= ?1 "
		     "ORDER BY seq",
	[ST_JSETPATH] = "UPDATE journal SET path = ?2 WHERE seq = ?1",
	/* renames, and links: the source of one queued is still there */
	[ST_JRENAMES] = "SELECT path, path2 FROM journal WHERE kind IN (5, 8) "
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
	[ST_LINK_ADD] = "INSERT INTO links (parent, name, ino) "
			"VALUES (?1, ?2, ?3)",
	[ST_LINK_REMOVE] = "DELETE FROM links WHERE parent = ?1 AND name = ?2",
	[ST_LINK_MOVE] = "UPDATE links SET parent = ?3, name = ?4 "
			 "WHERE parent = ?1 AND name = ?2",
	[ST_LINK_NAMES] = "SELECT parent, name FROM links WHERE ino = ?1 "
			  "ORDER BY id",
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

/*
 * The extra names of non-directories (hard links): an entry has its first
 * name in entries, and each other one is a row here. A name is an
 * entry's or a link's, never both: the triggers refuse a name the other
 * table has (the unique indexes do it within each), as a constraint
 * (-EEXIST); and an entry's names go with it, as do the names in a
 * directory that goes.
 */
#define LINKS_SQL \
	"CREATE TABLE IF NOT EXISTS links (" \
	" id INTEGER PRIMARY KEY AUTOINCREMENT," \
	" parent INTEGER NOT NULL, name TEXT NOT NULL," \
	" ino INTEGER NOT NULL);" \
	"CREATE UNIQUE INDEX IF NOT EXISTS links_by_name" \
	" ON links(parent, name);" \
	"CREATE INDEX IF NOT EXISTS links_parent ON links(parent);" \
	"CREATE INDEX IF NOT EXISTS links_ino ON links(ino);" \
	"CREATE TRIGGER IF NOT EXISTS links_name_free" \
	" BEFORE INSERT ON links WHEN EXISTS (SELECT 1 FROM entries" \
	" WHERE parent = NEW.parent AND name = NEW.name)" \
	" BEGIN SELECT RAISE(ABORT, 'name taken'); END;" \
	"CREATE TRIGGER IF NOT EXISTS links_move_free" \
	" BEFORE UPDATE OF parent, name ON links WHEN EXISTS (SELECT 1" \
	" FROM entries WHERE parent = NEW.parent AND name = NEW.name)" \
	" BEGIN SELECT RAISE(ABORT, 'name taken'); END;" \
	"CREATE TRIGGER IF NOT EXISTS entries_name_free" \
	" BEFORE INSERT ON entries WHEN EXISTS (SELECT 1 FROM links" \
	" WHERE parent = NEW.parent AND name = NEW.name)" \
	" BEGIN SELECT RAISE(ABORT, 'name taken'); END;" \
	"CREATE TRIGGER IF NOT EXISTS entries_move_free" \
	" BEFORE UPDATE OF parent, name ON entries WHEN EXISTS (SELECT 1" \
	" FROM links WHERE parent = NEW.parent AND name = NEW.name)" \
	" BEGIN SELECT RAISE(ABORT, 'name taken'); END;" \
	"CREATE TRIGGER IF NOT EXISTS entries_links_go" \
	" AFTER DELETE ON entries BEGIN DELETE FROM links" \
	" WHERE ino = OLD.ino OR parent = OLD.ino; END;"

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
	" tried_mtime INTEGER NOT NULL DEFAULT 0,"
	" uid INTEGER NOT NULL DEFAULT -1,"
	" gid INTEGER NOT NULL DEFAULT -1,"
	" rdev INTEGER NOT NULL DEFAULT 0,"
	" uatime INTEGER);"
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
	" match TEXT, moved INTEGER NOT NULL DEFAULT 0);"
	CLONES_SQL
	UPLOADS_SQL
	LINKS_SQL;

/* Indexes on columns that migrations add: made once the tables have
 * them (schema_sql runs first, on databases of any version). */
static const char index_sql[] =
	"CREATE INDEX IF NOT EXISTS entries_lru ON entries(atime) "
	" WHERE has_data = 1;"
	/* a directory's link count: its subdirectories, counted often */
	"CREATE INDEX IF NOT EXISTS entries_subdirs ON entries(parent) "
	" WHERE mode & 61440 = 16384;";

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
int meta_fail(struct meta *m, int rc, const char *what)
{
	int err = meta_errno(rc);

	if (err != -EEXIST)
		log_error("metadata %s: %s failed: %s", m->path, what,
			  sqlite3_errmsg(m->db));
	return err;
}

sqlite3_stmt *meta_stmt_sql(struct meta *m, sqlite3_stmt **slot,
			    const char *sql)
{
	sqlite3_stmt *s = *slot;

	if (!s) {
		if (sqlite3_prepare_v3(m->db, sql, -1,
				       SQLITE_PREPARE_PERSISTENT, &s, NULL)) {
			log_error("metadata: cannot prepare '%s': %s", sql,
				  sqlite3_errmsg(m->db));
			abort();	/* a bug in the SQL */
		}
		*slot = s;
	}
	return s;
}

/* The prepared statement id, reset and ready to bind; under the lock. */
sqlite3_stmt *meta_stmt(struct meta *m, enum stmt_id id)
{
	return meta_stmt_sql(m, &m->stmt[id], stmt_sql[id]);
}

/* Runs a statement that returns no rows. */
int meta_step_done(struct meta *m, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	rc = rc == SQLITE_DONE ? 0 : meta_fail(m, rc, what);
	done(s);
	return rc;
}

/* Steps a statement whose first column is an inode number. */
int meta_foreach_ino(struct meta *m, enum stmt_id id,
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
	/* owners unknown (-1): shown as the mount's owner */
	[10] = "ALTER TABLE entries ADD COLUMN uid INTEGER NOT NULL "
	       "DEFAULT -1;"
	       "ALTER TABLE entries ADD COLUMN gid INTEGER NOT NULL "
	       "DEFAULT -1;"
	       "ALTER TABLE entries ADD COLUMN rdev INTEGER NOT NULL "
	       "DEFAULT 0;"
	       "ALTER TABLE entries ADD COLUMN uatime INTEGER",
	[11] = LINKS_SQL,
	[12] = "ALTER TABLE journal ADD COLUMN moved INTEGER NOT NULL "
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

/* The root's entry, made with the database: its times are the mount's
 * until the remote gives its own (a bucket has none); never 1970. */
static int root_entry(struct meta *m)
{
	int64_t now = util_now_ns();
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "INSERT OR IGNORE INTO entries (ino, parent, name, mode, "
		 "etag, populated, mtime, ctime) VALUES (1, 0, '', 16877, "
		 "'dir', 0, %lld, %lld)", (long long)now, (long long)now);
	return exec(m, sql);
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
	/* every use of the connection is under m->lock: SQLite's own
	 * mutex, taken by each bind and each column read, would only be
	 * taken again */
	rc = sqlite3_open_v2(path, &m->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
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
		rc = root_entry(m);
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
	sqlite3_finalize(m->insert_rows);
	if (sqlite3_close(m->db))
		log_error("metadata %s: close failed: %s", m->path,
			  sqlite3_errmsg(m->db));
	pthread_mutex_destroy(&m->lock);
	free(m->after);
	free(m->marks);
	free(m->path);
	free(m);
}

int meta_begin(struct meta *m)
{
	int rc;

	/* savepoints nest: a delete inside a rename is one transaction */
	lock(m);
	rc = exec(m, "SAVEPOINT txn");
	if (rc) {
		unlock(m);
		return rc;
	}
	if (m->depth == m->marks_cap) {
		m->marks_cap = m->marks_cap ? 2 * m->marks_cap : 8;
		m->marks = xrealloc(m->marks, m->marks_cap * sizeof(*m->marks));
	}
	m->marks[m->depth++] = m->nafter;
	return 0;
}

void meta_after_commit(struct meta *m, void (*fn)(void *arg, uint64_t ino),
		       void *arg, uint64_t ino)
{
	if (!m->depth) {
		fn(arg, ino);
		return;
	}
	if (m->nafter == m->after_cap) {
		m->after_cap = m->after_cap ? 2 * m->after_cap : 16;
		m->after = xrealloc(m->after, m->after_cap * sizeof(*m->after));
	}
	m->after[m->nafter++] = (struct meta_after){ fn, arg, ino };
}

/* The outermost transaction committed: what waited for it is done. */
static void run_after(struct meta *m)
{
	size_t i;

	for (i = 0; i < m->nafter; i++)
		m->after[i].fn(m->after[i].arg, m->after[i].ino);
	m->nafter = 0;
}

int meta_commit(struct meta *m)
{
	int rc = exec(m, "RELEASE txn");

	if (rc) {
		meta_rollback(m);
		return rc;
	}
	if (--m->depth == 0)
		run_after(m);
	unlock(m);
	return 0;
}

void meta_rollback(struct meta *m)
{
	sqlite3_exec(m->db, "ROLLBACK TO txn; RELEASE txn", NULL, NULL, NULL);
	/* what the undone part queued is never done */
	m->nafter = m->marks[--m->depth];
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
