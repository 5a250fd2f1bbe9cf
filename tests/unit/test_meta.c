/*
 * Unit test of the metadata database: entries, paths, readdir paging,
 * subtree deletion, orphans, xattrs, the journal's order, pin states and
 * their inheritance, the LRU order of eviction candidates, the journal's
 * paths after a conflict and through queued renames, hard links, and the
 * upgrade of a schema-3 database, on database files in a fresh temp
 * directory.
 */
#include "common.h"

#include "check.h"

#include <sys/stat.h>
#include <unistd.h>

#include "store/meta.h"

static uint64_t add(struct meta *m, uint64_t parent, const char *name,
		    uint32_t mode)
{
	struct meta_entry e;

	meta_entry_init(&e);
	e.parent = parent;
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.mode = mode;
	if (meta_insert(m, &e))
		return 0;
	return e.ino;
}

static int count_cb(void *arg, const struct meta_entry *e)
{
	uint64_t *last = arg;

	last[0]++;
	last[1] = e->ino;
	return 0;
}

static int deleted;

/* Collects the journal's paths, "path>path2" for renames, ';'-joined. */
static int path_cb(void *arg, const struct jop *op)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 512 - len, "%s%s%s%s", len ? ";" : "", op->path,
		 op->path2 && op->kind == JOP_RENAME ? ">" : "",
		 op->path2 && op->kind == JOP_RENAME ? op->path2 : "");
	return 0;
}

/*
 * After a conflict, the ops of the file on its old path follow it to the
 * conflict name, up to the first that gives the name to another entry;
 * and a path here is taken back through the renames still queued.
 */
static void test_journal_paths(struct meta *m)
{
	struct jop j[] = {
		{ .kind = JOP_UPLOAD, .ino = 7, .path = "d/a" },
		{ .kind = JOP_SETATTR, .ino = 7, .path = "d/a" },
		{ .kind = JOP_UPLOAD, .ino = 8, .path = "d/b" },
		{ .kind = JOP_UPLOAD, .ino = 9, .path = "d/a" },	/* not 7 */
		{ .kind = JOP_RENAME, .path = "d/a", .path2 = "d/c" },
	};
	struct jop k[] = {
		{ .kind = JOP_RENAME, .path = "d/a", .path2 = "d/c" },
		{ .kind = JOP_RENAME, .path = "d/x", .path2 = "d/a" },
		{ .kind = JOP_UPLOAD, .ino = 7, .path = "d/a" },
	};
	char paths[512] = "", *p;
	struct jop op;
	int64_t first;
	size_t i;

	while (meta_journal_next(m, &op) == 0) {	/* an empty journal */
		CHECK(meta_journal_done(m, op.seq) == 0);
		jop_release(&op);
	}
	for (i = 0; i < CD_ARRAY_SIZE(j); i++)
		CHECK(meta_journal_add(m, &j[i]) == 0);
	first = j[0].seq;
	CHECK(meta_journal_repath(m, first, 7, "d/a", "d/a (c)") == 0);
	CHECK(meta_journal_foreach(m, path_cb, paths) == 0);
	/* another file's upload to the name stops it: the rename stays */
	CHECK(strcmp(paths, "d/a (c);d/a (c);d/b;d/a;d/a>d/c") == 0);
	for (i = 0; i < CD_ARRAY_SIZE(j); i++)
		CHECK(meta_journal_done(m, j[i].seq) == 0);

	for (i = 0; i < CD_ARRAY_SIZE(k); i++)
		CHECK(meta_journal_add(m, &k[i]) == 0);
	CHECK(meta_journal_repath(m, k[0].seq, 7, "d/a", "d/a (c)") == 0);
	paths[0] = '\0';
	CHECK(meta_journal_foreach(m, path_cb, paths) == 0);
	/* its rename moves it; the name is someone else's after */
	CHECK(strcmp(paths, "d/a (c)>d/c;d/x>d/a;d/a") == 0);

	/* where the remote has what a path names here */
	CHECK(meta_journal_unrename(m, "d/a", &p) == 0 &&
	      strcmp(p, "d/x") == 0);
	free(p);
	CHECK(meta_journal_unrename(m, "d/c/in", &p) == 0 &&
	      strcmp(p, "d/a (c)/in") == 0);
	free(p);
	CHECK(meta_journal_unrename(m, "d/cc", &p) == 0 &&
	      strcmp(p, "d/cc") == 0);
	free(p);
	for (i = 0; i < CD_ARRAY_SIZE(k); i++)
		CHECK(meta_journal_done(m, k[i].seq) == 0);
}

static void on_delete(void *arg, uint64_t ino)
{
	deleted++;
}

/* Collects the names of a listing, ','-joined, and the last place. */
struct names {
	char text[256];
	uint64_t pos;
	int count;
};

static int names_cb(void *arg, const struct meta_entry *e)
{
	struct names *n = arg;
	size_t len = strlen(n->text);

	snprintf(n->text + len, sizeof(n->text) - len, "%s%s%s",
		 len ? "," : "", e->name, e->alias ? "*" : "");
	CHECK(e->pos > n->pos);
	n->pos = e->pos;
	n->count++;
	return 0;
}

/* Lists dir a name at a time (pages of one), as readdir resumes. */
static void list_names(struct meta *m, uint64_t dir, struct names *n)
{
	memset(n, 0, sizeof(*n));
	while (meta_readdir(m, dir, n->pos, 1, names_cb, n) == 1)
		;
}

/*
 * Hard links: an entry found by each of its names, counted in nlink;
 * a name is never an entry's and a link's at once; listings page
 * through both; a link moves and goes alone; the oldest link takes the
 * entry's own name when that goes; the links of an entry, and those in
 * a directory, go with it.
 */
/*
 * meta_insert_many: rows by the statement and one by one, each given the
 * inode number of its row, after the largest inode number was deleted
 * (AUTOINCREMENT never reuses it); a name taken undoes the lot with the
 * transaction.
 */
static void test_insert_many(struct meta *m)
{
	struct meta_entry es[70], e;
	uint64_t d, gone;
	int i;

	d = add(m, 1, "many", S_IFDIR | 0755);
	gone = add(m, d, "gone", S_IFREG | 0644);
	CHECK(d && gone && meta_delete(m, gone, NULL, NULL) == 0);
	for (i = 0; i < 70; i++) {
		meta_entry_init(&es[i]);
		es[i].parent = d;
		snprintf(es[i].name, sizeof(es[i].name), "m%02d", i);
		es[i].mode = (i % 3 ? S_IFREG : S_IFDIR) | 0644;
		es[i].size = (uint64_t)i;
	}
	CHECK(meta_begin(m) == 0);
	CHECK(meta_insert_many(m, es, 70) == 0);
	CHECK(meta_commit(m) == 0);
	for (i = 0; i < 70; i++) {
		CHECK(es[i].ino > gone);
		CHECK(meta_get(m, es[i].ino, &e) == 0);
		CHECK(strcmp(e.name, es[i].name) == 0 && e.parent == d &&
		      e.size == (uint64_t)i && e.mode == es[i].mode);
		meta_entry_release(&e);
	}
	/* "m05" is taken: nothing of the call stays */
	for (i = 0; i < 40; i++) {
		snprintf(es[i].name, sizeof(es[i].name), "n%02d", i);
		es[i].ino = 0;
	}
	snprintf(es[35].name, sizeof(es[35].name), "m05");
	CHECK(meta_begin(m) == 0);
	CHECK(meta_insert_many(m, es, 40) == -EEXIST);
	meta_rollback(m);
	CHECK(meta_lookup(m, d, "n00", &e) == -ENOENT);
	CHECK(meta_lookup(m, d, "n36", &e) == -ENOENT);
}

static void test_links(struct meta *m)
{
	uint64_t d = add(m, 1, "ld", S_IFDIR | 0755), sub, f, o;
	struct meta_entry e;
	struct names n;
	char **paths, *path;
	size_t np;

	sub = add(m, d, "sub", S_IFDIR | 0755);
	f = add(m, d, "f", S_IFREG | 0644);
	o = add(m, d, "o", S_IFREG | 0644);
	CHECK(meta_link_add(m, f, d, "g") == 0);
	CHECK(meta_link_add(m, f, sub, "h") == 0);
	CHECK(meta_lookup(m, d, "g", &e) == 0 && e.ino == f && e.alias &&
	      e.nlink == 3 && e.parent == d && strcmp(e.name, "g") == 0);
	CHECK(meta_get(m, f, &e) == 0 && !e.alias && e.nlink == 3 &&
	      strcmp(e.name, "f") == 0);
	CHECK(meta_lookup(m, d, "o", &e) == 0 && e.nlink == 1 && !e.alias);
	/* a name is one entry's or one link's */
	CHECK(meta_link_add(m, o, d, "f") == -EEXIST);
	CHECK(meta_link_add(m, o, d, "g") == -EEXIST);
	CHECK(add(m, d, "g", S_IFREG | 0644) == 0);
	CHECK(meta_move(m, o, d, "g") == -EEXIST);
	CHECK(meta_link_move(m, sub, "h", d, "o") == -EEXIST);
	/* listings: own names by inode, then the links */
	list_names(m, d, &n);
	CHECK(strcmp(n.text, "sub,f,o,g*") == 0);
	CHECK(meta_has_children(m, sub) == 1);
	CHECK(meta_link_paths(m, f, &paths, &np) == 0 && np == 2 &&
	      strcmp(paths[0], "ld/g") == 0 &&
	      strcmp(paths[1], "ld/sub/h") == 0);
	while (np--)
		free(paths[np]);
	free(paths);
	/* a link moves and goes alone */
	CHECK(meta_link_move(m, d, "g", 1, "lnk") == 0);
	CHECK(meta_lookup(m, 1, "lnk", &e) == 0 && e.ino == f && e.alias);
	CHECK(meta_lookup(m, d, "g", &e) == -ENOENT);
	CHECK(meta_link_remove(m, sub, "h") == 0);
	CHECK(meta_link_remove(m, sub, "h") == -ENOENT);
	CHECK(meta_has_children(m, sub) == 0);
	CHECK(meta_get(m, f, &e) == 0 && e.nlink == 2);
	/* the oldest link takes the entry's own name when it goes */
	CHECK(meta_link_promote(m, f) == 0);
	CHECK(meta_path(m, f, &path) == 0 && strcmp(path, "lnk") == 0);
	free(path);
	CHECK(meta_lookup(m, 1, "lnk", &e) == 0 && !e.alias && e.nlink == 1);
	CHECK(meta_lookup(m, d, "f", &e) == -ENOENT);
	CHECK(meta_link_promote(m, f) == -ENOENT);
	/* the links of an entry and those in a directory go with them */
	CHECK(meta_link_add(m, f, sub, "h") == 0);
	CHECK(meta_link_add(m, f, d, "g") == 0);
	CHECK(meta_delete(m, sub, NULL, NULL) == 0);
	CHECK(meta_get(m, f, &e) == 0 && e.nlink == 2);
	CHECK(meta_delete(m, f, NULL, NULL) == 0);
	CHECK(meta_lookup(m, d, "g", &e) == -ENOENT);
	CHECK(add(m, d, "g", S_IFREG | 0644) != 0);	/* free again */
	/* times */
	CHECK(meta_touch(m, o, META_TIME_NONE, 42) == 0);
	CHECK(meta_get(m, o, &e) == 0 && e.ctime_ns == 42 &&
	      e.mtime_ns == 0);
	CHECK(meta_touch(m, o, 7, 43) == 0);
	CHECK(meta_get(m, o, &e) == 0 && e.ctime_ns == 43 && e.mtime_ns == 7);
	CHECK(meta_delete(m, d, NULL, NULL) == 0);
}

int main(void)
{
	char dir[] = "/tmp/test_meta.XXXXXX", db[64], *path;
	struct meta_entry e;
	struct meta *m;
	struct jop op;
	uint64_t d, f, g, cnt[2];
	char buf[64];
	int i, n;

	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof(db), "%s/meta.db", dir);
	CHECK(meta_open(db, &m) == 0);
	CHECK(meta_get(m, META_ROOT_INO, &e) == 0 && S_ISDIR(e.mode));
	d = add(m, 1, "dir", S_IFDIR | 0755);
	f = add(m, d, "file", S_IFREG | 0644);
	CHECK(d && f && f > d);
	CHECK(add(m, d, "file", S_IFREG | 0644) == 0);	/* name taken */
	CHECK(meta_path(m, f, &path) == 0 && strcmp(path, "dir/file") == 0);
	free(path);
	CHECK(meta_lookup(m, d, "file", &e) == 0 && e.ino == f);
	CHECK(meta_lookup(m, d, "nope", &e) == -ENOENT);

	/* readdir pages by inode */
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "f%04d", i);
		add(m, d, buf, S_IFREG | 0644);
	}
	cnt[0] = cnt[1] = 0;
	while ((n = meta_readdir(m, d, cnt[1], 300, count_cb, cnt)) > 0)
		;
	CHECK(n == 0 && cnt[0] == 1001);

	/* rename and orphans */
	CHECK(meta_move(m, f, 1, "moved") == 0);
	CHECK(meta_path(m, f, &path) == 0 && strcmp(path, "moved") == 0);
	free(path);
	CHECK(meta_move(m, f, 0, NULL) == 0);
	CHECK(meta_path(m, f, &path) == -ENOENT);

	/* xattrs */
	CHECK(meta_xattr_set(m, d, "user.a", "1", 1, 0) == 0);
	CHECK(meta_xattr_set(m, d, "user.a", "2", 1, 1) == -EEXIST);
	CHECK(meta_xattr_set(m, d, "user.b", "2", 1, 2) == -ENODATA);
	CHECK(meta_xattr_get(m, d, "user.a", buf, sizeof(buf)) == 1 &&
	      buf[0] == '1');
	CHECK(meta_xattr_get(m, d, "user.a", buf, 0) == 1);
	CHECK(meta_xattr_list(m, d, buf, sizeof(buf)) == 7);
	CHECK(meta_xattr_remove(m, d, "user.a") == 0);
	CHECK(meta_xattr_get(m, d, "user.a", buf, sizeof(buf)) == -ENODATA);

	/* subtree deletion */
	g = add(m, d, "sub", S_IFDIR | 0755);
	add(m, g, "x", S_IFREG | 0644);
	CHECK(meta_delete(m, d, on_delete, NULL) == 0);
	CHECK(deleted == 1003);
	CHECK(meta_get(m, g, &e) == -ENOENT);

	/* journal order */
	for (i = 0; i < 3; i++) {
		memset(&op, 0, sizeof(op));
		op.kind = JOP_MKDIR;
		snprintf(buf, sizeof(buf), "d%d", i);
		op.path = buf;
		CHECK(meta_journal_add(m, &op) == 0);
	}
	CHECK(meta_journal_count(m) == 3);
	CHECK(meta_journal_next(m, &op) == 0 && strcmp(op.path, "d0") == 0);
	CHECK(meta_journal_done(m, op.seq) == 0);
	jop_release(&op);
	CHECK(meta_journal_next(m, &op) == 0 && strcmp(op.path, "d1") == 0);
	jop_release(&op);
	CHECK(meta_journal_count(m) == 2);

	/* pin states: set on a tree, inherited, cleared below */
	{
		uint64_t top = add(m, 1, "top", S_IFDIR | 0755), mid, leaf,
			 from;
		enum meta_pin pin;

		mid = add(m, top, "mid", S_IFDIR | 0755);
		leaf = add(m, mid, "leaf", S_IFREG | 0644);
		CHECK(meta_pin_effective(m, leaf, &pin, &from) == 0 &&
		      pin == META_PIN_UNSPECIFIED && from == 0);
		CHECK(meta_set_pin(m, leaf, META_PIN_UNPINNED) == 0);
		CHECK(meta_set_pin(m, top, META_PIN_PINNED) == 0);
		CHECK(meta_pin_effective(m, leaf, &pin, &from) == 0 &&
		      pin == META_PIN_PINNED && from == top);
		CHECK(meta_set_pin(m, mid, META_PIN_UNPINNED) == 0);
		CHECK(meta_pin_effective(m, leaf, &pin, &from) == 0 &&
		      pin == META_PIN_UNPINNED && from == mid);
		CHECK(meta_set_pin(m, 999999, META_PIN_PINNED) == -ENOENT);
		/* an update of the entry does not undo its pin */
		CHECK(meta_get(m, mid, &e) == 0);
		e.pin = META_PIN_UNSPECIFIED;
		CHECK(meta_update(m, &e) == 0);
		meta_entry_release(&e);
		CHECK(meta_pin_effective(m, leaf, &pin, &from) == 0 &&
		      pin == META_PIN_UNPINNED);
	}

	/* eviction candidates: clean files with data, oldest use first */
	{
		struct meta_lru c[8];
		uint64_t a = add(m, 1, "lru-a", S_IFREG | 0644),
			 b = add(m, 1, "lru-b", S_IFREG | 0644),
			 z = add(m, 1, "lru-dirty", S_IFREG | 0644);
		const uint64_t inos[3] = { a, b, z };

		for (i = 0; i < 3; i++) {
			CHECK(meta_get(m, inos[i], &e) == 0);
			e.has_data = true;
			e.atime_ns = 300 - i * 100;	/* b older than a */
			e.dirty = inos[i] == z;
			CHECK(meta_update(m, &e) == 0);
			meta_entry_release(&e);
		}
		n = meta_lru(m, INT64_MIN, 0, c, 8);
		CHECK(n == 2 && c[0].ino == b && c[1].ino == a);
		n = meta_lru(m, c[0].atime_ns, c[0].ino, c, 8);
		CHECK(n == 1 && c[0].ino == a);
		CHECK(meta_drop_data(m, z) == -EBUSY);	/* dirty */
		CHECK(meta_drop_data(m, a) == 0);
		CHECK(meta_get(m, a, &e) == 0 && !e.has_data);
		meta_entry_release(&e);
		n = meta_lru(m, INT64_MIN, 0, c, 8);
		CHECK(n == 1 && c[0].ino == b);
	}

	meta_close(m);

	/* inode numbers are not reused after a reopen */
	CHECK(meta_open(db, &m) == 0);
	CHECK(add(m, 1, "again", S_IFREG | 0644) > g);
	CHECK(meta_journal_count(m) == 2);
	test_journal_paths(m);
	test_links(m);
	test_insert_many(m);
	meta_close(m);

	/* a schema-3 database (before pin states) is upgraded in place */
	snprintf(db, sizeof(db), "%s/old.db", dir);
	snprintf(buf, sizeof(buf), "%s/old.sql", dir);
	{
		FILE *sql = fopen(buf, "w");
		char cmd[256];
		enum meta_pin pin;
		char *p1, *p2;
		uint64_t from;

		CHECK(sql != NULL);
		fputs("CREATE TABLE kv (key TEXT PRIMARY KEY, value);"
		      "INSERT INTO kv VALUES ('schema', 3);"
		      "CREATE TABLE entries (ino INTEGER PRIMARY KEY "
		      "AUTOINCREMENT, parent INTEGER NOT NULL, name TEXT NOT "
		      "NULL, mode INTEGER NOT NULL, size INTEGER NOT NULL "
		      "DEFAULT 0, mtime INTEGER NOT NULL DEFAULT 0, ctime "
		      "INTEGER NOT NULL DEFAULT 0, etag TEXT NOT NULL DEFAULT "
		      "'', base INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT "
		      "NULL DEFAULT 0, populated INTEGER NOT NULL DEFAULT 0, "
		      "error INTEGER NOT NULL DEFAULT 0, link TEXT, extents "
		      "BLOB, seen INTEGER NOT NULL DEFAULT 0, has_data INTEGER "
		      "NOT NULL DEFAULT 0);"
		      "INSERT INTO entries (ino, parent, name, mode) VALUES "
		      "(1, 0, '', 16877), (2, 1, 'kept', 33188);"
		      "CREATE TABLE journal (seq INTEGER PRIMARY KEY "
		      "AUTOINCREMENT, kind INTEGER NOT NULL, ino INTEGER NOT "
		      "NULL DEFAULT 0, path TEXT NOT NULL, path2 TEXT, arg "
		      "INTEGER NOT NULL DEFAULT 0, arg2 INTEGER NOT NULL "
		      "DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0, "
		      "attempts INTEGER NOT NULL DEFAULT 0, last_error INTEGER "
		      "NOT NULL DEFAULT 0);\n", sql);
		fclose(sql);
		snprintf(cmd, sizeof(cmd), "sqlite3 %s < %s", db, buf);
		/* the sqlite3 shell is a dependency (scripts/deps.sh) */
		CHECK(system(cmd) == 0);
		CHECK(meta_open(db, &m) == 0);
		CHECK(meta_lookup(m, 1, "kept", &e) == 0 && e.pin == 0 &&
		      e.atime_ns == 0);
		meta_entry_release(&e);
		CHECK(meta_set_pin(m, 2, META_PIN_PINNED) == 0);
		CHECK(meta_pin_effective(m, 2, &pin, &from) == 0 &&
		      pin == META_PIN_PINNED);
		/* and gets the table of uploads to go on with */
		CHECK(meta_upload_set(m, 2, "kept", "1 2 3 id\n") == 0);
		CHECK(meta_upload_get(m, 2, &p1, &p2) == 0 &&
		      strcmp(p1, "kept") == 0 && strcmp(p2, "1 2 3 id\n") == 0);
		free(p1);
		free(p2);
		CHECK(meta_upload_set(m, 2, "kept", NULL) == 0 &&
		      meta_upload_get(m, 2, &p1, &p2) == -ENOENT);
		/* and the table of links */
		CHECK(meta_link_add(m, 2, 1, "kept2") == 0);
		CHECK(meta_lookup(m, 1, "kept2", &e) == 0 && e.ino == 2 &&
		      e.nlink == 2);
		meta_entry_release(&e);
		meta_close(m);
	}
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	if (system(buf))
		failures++;
	if (!failures)
		printf("ok - meta\n");
	return failures ? 1 : 0;
}
