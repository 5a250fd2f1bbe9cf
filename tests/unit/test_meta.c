/*
 * Unit test of the metadata database: entries, paths, readdir paging,
 * subtree deletion, orphans, xattrs and the journal's order, on a
 * database file in a fresh temp directory.
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

	memset(&e, 0, sizeof(e));
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

static void on_delete(void *arg, uint64_t ino)
{
	deleted++;
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
	meta_close(m);

	/* inode numbers are not reused after a reopen */
	CHECK(meta_open(db, &m) == 0);
	CHECK(add(m, 1, "again", S_IFREG | 0644) > g);
	CHECK(meta_journal_count(m) == 2);
	meta_close(m);
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	if (system(buf))
		failures++;
	if (!failures)
		printf("ok - meta\n");
	return failures ? 1 : 0;
}
