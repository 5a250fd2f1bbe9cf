/*
 * What the database keeps for files that wait for an upload: the record
 * of a copy of a local file made by the clone filter (the table clones),
 * the size and mtime of the last upload tried (columns of entries), and
 * the state of a multipart upload that can go on after a crash (the
 * table uploads).
 */
#include "common.h"

#include <sqlite3.h>

#include "store/meta_int.h"
#include "util/util.h"

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
