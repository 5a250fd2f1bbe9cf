/*
 * The journal of remote operations (the table journal), in the order
 * they must reach the remote: the sync worker takes the oldest op and
 * marks it done, or to be retried later. Ops still queued are rewritten
 * when the remote turns out to hold another client's version (repath,
 * set_target) or one of ours they did not expect (rematch).
 * meta_journal_gen() counts the ops added since the database was
 * opened, under the database lock.
 */
#include "common.h"

#include <sqlite3.h>

#include "store/meta_int.h"
#include "util/util.h"

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
	sqlite3_bind_int64(s, 9, (int64_t)op->moved);
	rc = meta_step_done(m, s, "journal add");
	if (!rc)
		op->seq = sqlite3_last_insert_rowid(m->db);
	/* counted even if the caller's transaction is rolled back: a
	 * listing taken meanwhile is only read again for nothing */
	m->journal_gen++;
	unlock(m);
	return rc;
}

int meta_journal_dirtime(struct meta *m, uint64_t dir)
{
	struct jop op = { .kind = JOP_DIRTIME, .ino = dir };
	sqlite3_stmt *s;
	int rc;

	lock(m);
	s = meta_stmt(m, ST_JDIRTIME_DROP);
	sqlite3_bind_int(s, 1, JOP_DIRTIME);
	sqlite3_bind_int64(s, 2, (int64_t)dir);
	rc = meta_step_done(m, s, "journal dirtime");
	if (!rc)
		rc = meta_path(m, dir, &op.path);
	if (!rc) {
		rc = meta_journal_add(m, &op);
		free(op.path);
	} else if (rc == -ENOENT) {
		rc = 0;		/* an orphan: nothing on the remote */
	}
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
	op->moved = (uint64_t)sqlite3_column_int64(s, 11);
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

bool meta_journal_has_upload_last(struct meta *m, uint64_t ino)
{
	sqlite3_stmt *s;
	bool found;

	lock(m);
	s = meta_stmt(m, ST_JUPLOAD_LAST);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
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
	if ((op->kind == JOP_RENAME || op->kind == JOP_LINK) && op->path2 &&
	    !strcmp(op->path2, from) && strcmp(op->path, from) != 0)
		return false;	/* another entry takes the name */
	if (strcmp(op->path, from) != 0) {
		*last = false;
		return false;
	}
	switch (op->kind) {
	case JOP_UPLOAD:
	case JOP_SETATTR:
	case JOP_LINK:		/* copies the file from there */
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
