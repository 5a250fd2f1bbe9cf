/*
 * The clone filter: copies into the drive from outside do not keep a
 * second copy on the local disk.
 *
 * Finding a copy. A program that copies a file opens the source for
 * reading and writes its bytes, in order, into a file it created or
 * truncated. The first write at offset 0 into an empty file is compared
 * with the files the writing process has open for reading, on other
 * mounts than the drive's (found through /proc/PID/fd and fdinfo, and
 * only those: the daemon reads no file the writer does not have open
 * itself, re-opening the writer's own descriptor for that request, and
 * never one of its own mount from inside a request). A source whose
 * first bytes are the written ones makes the handle a candidate. Every
 * later write must follow the previous one and equal the source's bytes
 * at the same offset, compared byte for byte and hashed (XXH3-128 under
 * a random key, util/hash.h) as they go; at the last close, a candidate whose size is the source's is
 * a copy, and its upload is queued.
 *
 * Keeping its bytes (--clone):
 *   reflink  each checked write is cloned from the source into the cache
 *            file (FICLONERANGE): no blocks used, and the cache holds a
 *            snapshot the source's later changes cannot reach.
 *   guard    checked writes are acknowledged and not stored at all; the
 *            source is guarded (guard.c) so that any other process's
 *            access to it first copies the bytes into the cache.
 *   inplace  as guard, without the guard: a source changed before its
 *            upload leaves the copy in error (opt-in).
 *   spool    stored as written; dropped from the cache once uploaded.
 *   auto     reflink where the source and the cache share a file system
 *            that has reflinks, else guard where fanotify allows it,
 *            else spool.
 * A copy of a file of the drive itself (cp of a placeholder, which cp
 * takes for a sparse file and copies by reads; shutil's sendfile) is
 * found the same way, among the files the writer has open for reading
 * on the drive's mount (by inode number, from fdinfo: never opened by
 * the daemon), and compared with what that file's cache holds of its
 * remote version. Its bytes are stored as written (they are safe here
 * whatever happens to the source), and at its last close, if whole and
 * the source unchanged, its upload is planned as a copy the remote makes
 * of the source's version (store_node_plan_copy, sync.c), after which
 * its data goes as a spooled copy's does.
 *
 * A write that does not match, comes out of order, or anything else
 * that changes the file (a truncate, another handle's write) first
 * copies what was acknowledged from the source into the cache (checked
 * against the hash), and the file goes on as an ordinary one: the
 * program never notices. Whatever is uploaded in place of the written
 * bytes is checked against their hash first (sync.c); a mismatch is an
 * error that names the source, never a wrong file.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <limits.h>
#include <unistd.h>

#include "filter/filter.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/crash.h"
#include "util/util.h"

/* Descriptors of the writer looked at, at most. */
#define CLONE_MAX_FDS 256
/* Block size reflinks are aligned to. */
#define CLONE_BLOCK 4096u
/* Smaller copies are stored: not worth a guard. */
#define CLONE_BACKED_MIN (256u << 10)

/* What fdinfo N of a process says of its descriptor. */
struct fdinfo {
	bool reading;		/* open for reading */
	int mnt_id;		/* the mount the file is on */
	uint64_t ino;		/* its inode number, 0 if not said */
};

/*
 * Reads fdinfo N of pid (nothing here may open a file of the drive's own
 * mount, which would be I/O on itself from inside a request); false if
 * it cannot be read.
 */
static bool read_fdinfo(pid_t pid, const char *n, struct fdinfo *out)
{
	char path[64], buf[256];
	unsigned long long ino;
	unsigned long flags;
	ssize_t len;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s", (int)pid, n);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	p = strstr(buf, "flags:");
	if (!p || sscanf(p + 6, "%lo", &flags) != 1)
		return false;
	out->reading = (flags & O_ACCMODE) != O_WRONLY;
	p = strstr(buf, "mnt_id:");
	if (!p || sscanf(p + 7, "%d", &out->mnt_id) != 1)
		return false;
	p = strstr(buf, "ino:");
	out->ino = p && sscanf(p + 4, "%llu", &ino) == 1 ? ino : 0;
	return true;
}

/* Whether fd N of pid is open for reading, on another mount than ours. */
static bool open_for_reading(struct filter_env *env, pid_t pid, const char *n)
{
	struct fdinfo fi;

	return read_fdinfo(pid, n, &fi) && fi.reading &&
	       env->mount_id >= 0 && fi.mnt_id != env->mount_id;
}

/*
 * Looks among the files pid has open for reading for one whose first len
 * bytes are data; returns it opened read-only (st filled), or -1.
 */
static int find_source(struct filter_env *env, pid_t pid, const void *data,
		       size_t len, struct stat *st)
{
	char path[64];
	struct dirent *d;
	int found = -1, seen = 0;
	void *buf;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	buf = xmalloc(len);
	while (found < 0 && seen++ < CLONE_MAX_FDS && (d = readdir(dir))) {
		int fd;

		if (d->d_name[0] == '.' ||
		    !open_for_reading(env, pid, d->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", (int)pid,
			 d->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* a regular file outside the mount, at least that long */
		if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
		    st->st_dev != env->mount_dev &&
		    (uint64_t)st->st_size >= len &&
		    pread(fd, buf, len, 0) == (ssize_t)len &&
		    memcmp(buf, data, len) == 0)
			found = fd;
		else
			close(fd);
	}
	free(buf);
	closedir(dir);
	return found;
}

/*
 * Whether fdinfo N of pid is open for reading, on our mount; *ino gets
 * its inode number (the drive's inode numbers are its st_ino).
 */
static bool mount_fd_ino(struct filter_env *env, pid_t pid, const char *n,
			 uint64_t *ino)
{
	struct fdinfo fi;

	if (!read_fdinfo(pid, n, &fi) || !fi.reading || !fi.ino ||
	    env->mount_id < 0 || fi.mnt_id != env->mount_id)
		return false;
	*ino = fi.ino;
	return true;
}

/*
 * Whether [off, off+len) of file's source, a file of the drive, is data:
 * read from its cache only (a range it does not hold is no match), and
 * only while the source is the version the copy was found of. A write to
 * the source marks it dirty and changes its write_gen before its bytes
 * land, so a read that may have seen them fails the check after it.
 */
static bool mount_source_has(struct filter_env *env, struct file *file,
			     const void *data, size_t len, uint64_t off)
{
	struct node_state ns;
	void *buf = xmalloc(len);
	bool same;

	same = store_read(env->store, file->clone_src, buf, len, off) ==
		       (ssize_t)len &&
	       memcmp(buf, data, len) == 0;
	free(buf);
	if (!same)
		return false;
	store_node_snapshot(file->clone_src, &ns);
	return !ns.dirty && !ns.backed && ns.write_gen == file->clone_src_gen &&
	       strcmp(ns.etag, file->clone_src_etag) == 0;
}

/*
 * Looks among the files of the drive pid has open for reading for one in
 * sync with its remote version, whose first len bytes are data; makes it
 * file's source (referenced) if found.
 */
static bool find_mount_source(struct filter_env *env, struct file *file,
			      pid_t pid, const void *data, size_t len)
{
	struct node_state ns;
	struct dirent *d;
	char path[64];
	int seen = 0;
	uint64_t ino;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!file->clone_src && seen++ < CLONE_MAX_FDS &&
	       (d = readdir(dir))) {
		struct node *src;

		if (d->d_name[0] == '.' ||
		    !mount_fd_ino(env, pid, d->d_name, &ino) ||
		    ino == store_node_ino(file->n))
			continue;
		src = store_node_find(env->store, ino);
		if (!src)
			continue;
		store_node_snapshot(src, &ns);
		if (ns.dirty || ns.uploading || ns.error || ns.backed ||
		    !ns.etag[0] || ns.base != ns.size || ns.size < len) {
			store_node_put(env->store, src);
			continue;
		}
		file->clone_src = src;
		file->clone_src_gen = ns.write_gen;
		snprintf(file->clone_src_etag, sizeof(file->clone_src_etag),
			 "%s", ns.etag);
		file->clone_size = ns.size;
		if (!mount_source_has(env, file, data, len, 0)) {
			file->clone_src = NULL;
			store_node_put(env->store, src);
		} else {
			store_node_copy_started(src);
		}
	}
	closedir(dir);
	return file->clone_src != NULL;
}

/* The path fd was opened by, for messages and for a restart. */
static char *fd_path(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len <= 0)
		return xstrdup("(unknown)");
	path[len] = '\0';
	return xstrdup(path);
}

/* Whether a write of len at off can be a reflink of the source's same
 * range: block-aligned, or ending at the source's end. */
static bool cloneable(uint64_t off, size_t len, uint64_t src_size)
{
	return off % CLONE_BLOCK == 0 &&
	       (len % CLONE_BLOCK == 0 || off + len == src_size);
}

/* The policy a copy not stored gets on this mount: guard, inplace, or
 * CLONE_OFF where copies must be stored. */
static enum clone_mode backed_policy(const struct filter_env *env)
{
	if (env->clone_mode == CLONE_INPLACE)
		return CLONE_INPLACE;
	if ((env->clone_mode == CLONE_GUARD || env->clone_mode == CLONE_AUTO) &&
	    env->guard)
		return CLONE_GUARD;
	return CLONE_OFF;
}

/*
 * A new backing of n by src (a descriptor of ours) under policy, guarded
 * if the policy is guard; NULL if it cannot be had (the guard refused).
 */
static struct backing *new_backing(struct filter_env *env, struct node *n,
				   int src, const struct stat *st, pid_t writer,
				   enum clone_mode policy)
{
	struct backing *bk = xcalloc(1, sizeof(*bk));

	bk->refs = 1;
	bk->fd = fcntl(src, F_DUPFD_CLOEXEC, 0);
	if (bk->fd < 0) {
		free(bk);
		return NULL;
	}
	bk->hash = hash_new();
	bk->source = fd_path(src);
	bk->dev = st->st_dev;
	bk->src_ino = st->st_ino;
	bk->ctime_ns = util_ts_ns(&st->st_ctim);
	bk->policy = policy;
	bk->ino = store_node_ino(n);
	bk->writer = writer;
	if (policy == CLONE_GUARD && guard_add(env->guard, bk)) {
		store_backing_put(bk);	/* which unmarks it */
		return NULL;
	}
	return bk;
}

/* Makes the copy's state durable for an fsync: its record says where
 * its acknowledged bytes are. */
static int record(struct filter_env *env, struct node *n, struct backing *bk,
		  const struct file *file, bool backed);

/*
 * Decides how the copy that op's first write starts keeps its bytes,
 * and takes that write if it is not to be stored. Returns the verdict.
 */
static enum filter_verdict start_copy(struct filter *f, struct fop *op,
				      int src, const struct stat *st)
{
	struct filter_env *env = f->env;
	struct file *file = op->file;
	struct node *n = file->n;
	enum clone_mode mode = env->clone_mode;
	uint64_t size = (uint64_t)st->st_size;
	struct backing *bk;
	int rc;

	file->clone_how = CLONE_HOW_SPOOL;
	if (meta_pinned(env->store->meta, store_node_ino(n)))
		return FILTER_PASS;	/* pinned: it stays here anyway */
	if ((mode == CLONE_REFLINK || mode == CLONE_AUTO) &&
	    cloneable(0, op->size, size) &&
	    store_clone_range(env->store, n, src, 0, op->size) == 0) {
		file->clone_how = CLONE_HOW_REFLINK;
		file->clone_hash = hash_new();
		hash_update(file->clone_hash, op->in, op->size);
		stats_add(&env->stats, clone_avoided_bytes, op->size);
		op->result = (int)op->size;
		return FILTER_DONE;
	}
	if (backed_policy(env) == CLONE_OFF || size < CLONE_BACKED_MIN)
		return FILTER_PASS;
	bk = new_backing(env, n, src, st, op->pid, backed_policy(env));
	if (!bk)
		return FILTER_PASS;
	store_node_back(env->store, n, bk);
	/*
	 * Recorded before the first byte is acknowledged: the file grows by
	 * bytes that are not in the cache, and a restart must know that
	 * only what a record says (none yet, more at each fsync) is the
	 * copy's, or it would take the holes for data.
	 */
	rc = record(env, n, bk, NULL, true);
	if (!rc)
		rc = store_node_ack(env->store, n, op->in, op->size);
	if (rc) {
		/* never acknowledged: the bytes go the ordinary way (with
		 * nothing backed yet, this only ends the backing) */
		if (store_node_materialize(env->store, n, -1))
			log_warn("inode %llu: cannot end a backing",
				 (unsigned long long)store_node_ino(n));
		return FILTER_PASS;
	}
	file->clone_how = CLONE_HOW_BACKED;
	stats_add(&env->stats, clone_avoided_bytes, op->size);
	op->result = (int)op->size;
	return FILTER_DONE;
}

/* Checks a later write of a candidate against its source; takes it if
 * it need not be stored. */
static enum filter_verdict go_on(struct filter *f, struct fop *op,
				 bool *match)
{
	struct filter_env *env = f->env;
	struct file *file = op->file;
	struct node *n = file->n;
	char *buf = xmalloc(op->size);
	enum filter_verdict v = FILTER_PASS;
	struct backing *bk;

	if (file->clone_how == CLONE_HOW_MOUNT)
		*match = mount_source_has(env, file, op->in, op->size,
					  op->off);
	else
		*match = pread(file->clone_fd, buf, op->size,
			       (off_t)op->off) == (ssize_t)op->size &&
			 memcmp(buf, op->in, op->size) == 0;
	free(buf);
	if (!*match)
		return FILTER_PASS;
	switch (file->clone_how) {
	case CLONE_HOW_SPOOL:
	case CLONE_HOW_MOUNT:
		break;
	case CLONE_HOW_REFLINK:
		hash_update(file->clone_hash, op->in, op->size);
		if (cloneable(op->off, op->size, file->clone_size) &&
		    store_clone_range(env->store, n, file->clone_fd, op->off,
				      op->size) == 0) {
			stats_add(&env->stats, clone_avoided_bytes, op->size);
			v = FILTER_DONE;
		}
		break;
	case CLONE_HOW_BACKED:
		bk = store_backing_get(n);
		if (bk && !backing_ended(bk) && backing_len(n, bk) == op->off) {
			if (store_node_ack(env->store, n, op->in, op->size) ==
			    0) {
				stats_add(&env->stats, clone_avoided_bytes,
					  op->size);
				v = FILTER_DONE;
			}
		}
		store_backing_put(bk);
		if (v != FILTER_DONE)
			*match = false;	/* stored from here on */
		break;
	}
	if (v == FILTER_DONE)
		op->result = (int)op->size;
	return v;
}

static enum filter_verdict clone_write(struct filter *f, struct fop *op)
{
	struct file *file = op->file;
	struct node *n = file->n;
	enum filter_verdict v = FILTER_PASS;
	bool probe = false, check = false, match = false;
	struct node_state ns;
	struct stat st;
	int src;

	/* writes to one handle may come in parallel: its state is kept
	 * under the node's lock, and any overlap makes it "not a copy" */
	store_node_lock(n);
	switch (file->clone) {
	case FILE_CLONE_CANDIDATE:
		/* a copy writes in order, and no further than its source */
		if (file->clone_busy || op->off != file->clone_next ||
		    op->off + op->size > file->clone_size)
			file->clone = FILE_CLONE_NOT;
		else
			check = file->clone_busy = true;
		break;
	case FILE_CLONE_UNKNOWN:
		/* the first write: at 0, into an empty file */
		store_node_snapshot_locked(n, &ns);
		probe = op->off == 0 && ns.size == 0 && op->size > 0 &&
			!ns.backed;
		file->clone = probe ? FILE_CLONE_PROBING : FILE_CLONE_NOT;
		break;
	case FILE_CLONE_PROBING:
		file->clone = FILE_CLONE_NOT;
		break;
	case FILE_CLONE_NOT:
		break;
	}
	store_node_unlock(n);
	if (probe) {
		src = find_source(f->env, op->pid, op->in, op->size, &st);
		if (src >= 0) {
			file->clone_fd = src;
			file->clone_size = (uint64_t)st.st_size;
			v = start_copy(f, op, src, &st);
			if (v == FILTER_PASS)
				stats_add(&f->env->stats, clone_stored_bytes,
					  op->size);
		} else if (find_mount_source(f->env, file, op->pid, op->in,
					     op->size)) {
			file->clone_how = CLONE_HOW_MOUNT;
		}
		store_node_lock(n);
		if (file->clone == FILE_CLONE_PROBING &&
		    (src >= 0 || file->clone_src)) {
			file->clone = FILE_CLONE_CANDIDATE;
			file->clone_next = op->size;
		} else {
			file->clone = FILE_CLONE_NOT;
		}
		store_node_unlock(n);
		return v;
	}
	if (!check)
		return FILTER_PASS;
	v = go_on(f, op, &match);
	if (match && v == FILTER_PASS)
		stats_add(&f->env->stats, clone_stored_bytes, op->size);
	store_node_lock(n);
	file->clone_busy = false;
	if (match)
		file->clone_next += op->size;
	else
		file->clone = FILE_CLONE_NOT;
	store_node_unlock(n);
	return v;
}


int clone_from_fd(struct filter_env *env, struct node *n, int src,
		  const struct stat *st)
{
	enum clone_mode mode = env->clone_mode;
	uint64_t size = (uint64_t)st->st_size;
	struct backing *bk;
	int rc;

	if ((mode == CLONE_REFLINK || mode == CLONE_AUTO || mode == CLONE_SPOOL ||
	     mode == CLONE_OFF) &&
	    ioctl(store_node_cache_fd(n), FICLONE, src) == 0) {
		stats_add(&env->stats, clone_avoided_bytes, size);
		return 0;	/* a snapshot in shared blocks */
	}
	if (backed_policy(env) == CLONE_OFF ||
	    meta_pinned(env->store->meta, store_node_ino(n)))
		return -EOPNOTSUPP;
	/* guarded first, then hashed: what is hashed is what goes up */
	bk = new_backing(env, n, src, st, 0, backed_policy(env));
	if (!bk)
		return -EOPNOTSUPP;
	rc = hash_fd(bk->fd, size, -1, NULL, bk->digest);
	if (rc) {
		store_backing_put(bk);
		return -EOPNOTSUPP;
	}
	bk->closed = true;
	store_node_back(env->store, n, bk);
	rc = size ? store_node_ack(env->store, n, NULL, size) : 0;
	if (!rc)
		rc = record(env, n, bk, NULL, true);
	if (rc) {
		if (store_node_materialize(env->store, n, -1))
			log_warn("inode %llu: cannot end a backing",
				 (unsigned long long)store_node_ino(n));
		return rc;
	}
	stats_add(&env->stats, clone_avoided_bytes, size);
	return 0;
}

static int record(struct filter_env *env, struct node *n, struct backing *bk,
		  const struct file *file, bool backed)
{
	struct meta_clone c = { .ino = store_node_ino(n) };
	int rc;

	if (bk) {
		c.source = bk->source;
		c.dev = bk->dev;
		c.src_ino = bk->src_ino;
		c.size = store_backing_state(n, bk, c.hash);
		c.policy = bk->policy;
		c.ctime_ns = bk->ctime_ns;
	} else {
		c.source = fd_path(file->clone_fd);
		c.size = file->clone_next;
		c.policy = CLONE_REFLINK;
		hash_peek(file->clone_hash, c.hash);
	}
	c.backed = backed;
	rc = meta_clone_put(env->store->meta, &c);
	if (!bk)
		free(c.source);
	if (!rc)
		store_node_copy_recorded(n, true);
	return rc;
}

/* clonedrive cp: the new file op->ino becomes a copy of op->src_fd,
 * not stored where the policy allows; else the store keeps the bytes. */
static enum filter_verdict clone_fd(struct filter *f, struct fop *op)
{
	struct node *n;
	struct stat st;
	int rc;

	if (fstat(op->src_fd, &st) < 0) {
		op->result = -errno;
		return FILTER_DONE;
	}
	rc = store_node_get(f->env->store, op->ino, &n);
	if (!rc) {
		rc = clone_from_fd(f->env, n, op->src_fd, &st);
		if (!rc)
			rc = filter_clone_commit(f->env, n,
						 (uint64_t)st.st_size);
		store_node_put(f->env->store, n);
	}
	if (rc == -EOPNOTSUPP)
		return FILTER_PASS;
	op->result = rc;
	return FILTER_DONE;
}

static enum filter_verdict clone_pre(struct filter *f, struct fop *op)
{
	struct backing *bk;
	int rc;

	if (op->kind == FOP_WRITE)
		return clone_write(f, op);
	if (op->kind == FOP_CLONE)
		return clone_fd(f, op);
	if (op->kind != FOP_FSYNC)
		return FILTER_PASS;
	/* an fsync of a copy not stored: its record is what survives */
	bk = store_backing_get(op->file->n);
	if (!bk)
		return FILTER_PASS;
	rc = record(f->env, op->file->n, bk, op->file, true);
	store_backing_put(bk);
	if (rc) {
		op->result = rc;
		return FILTER_DONE;
	}
	return FILTER_PASS;
}

/* The last close of a candidate: a whole copy, or ordinary bytes.
 * Returns whether it is a copy. */
static bool finish_copy(struct filter_env *env, struct file *file, bool whole)
{
	struct node *n = file->n;
	struct backing *bk = store_backing_get(n);
	bool ok = false;

	if (file->clone_how == CLONE_HOW_BACKED && bk && !backing_ended(bk)) {
		whole = whole && store_backing_close(n, bk);
		if (whole && env->guard && bk->policy == CLONE_GUARD)
			guard_closed(env->guard, bk);
		/* the record before the size: a restart finds the bytes */
		ok = whole && record(env, n, bk, file, true) == 0;
		if (ok)
			crash_point("clone-closed");
		if (!ok && store_node_materialize(env->store, n, -1))
			log_warn("inode %llu: an incomplete copy could not be "
				 "stored; its source still has the bytes",
				 (unsigned long long)store_node_ino(n));
	} else if (file->clone_how == CLONE_HOW_REFLINK) {
		ok = whole && record(env, n, NULL, file, false) == 0;
	} else if (file->clone_how == CLONE_HOW_MOUNT) {
		struct node_state ns;

		store_node_snapshot(file->clone_src, &ns);
		ok = whole && !ns.dirty && !ns.backed &&
		     ns.write_gen == file->clone_src_gen &&
		     strcmp(ns.etag, file->clone_src_etag) == 0;
		if (ok)
			store_node_plan_copy(n, store_node_ino(file->clone_src),
					     file->clone_src_etag);
	} else {
		ok = whole;
	}
	store_backing_put(bk);
	if (!ok)
		return false;
	store_node_mark_spool(n);
	if (store_node_commit(env->store, n))
		log_warn("inode %llu: cannot record it as a copy",
			 (unsigned long long)store_node_ino(n));
	stats_add(&env->stats, clones_detected, 1);
	log_debug("inode %llu: a copy of a %s file (%s); its data goes "
		  "once uploaded", (unsigned long long)store_node_ino(n),
		  file->clone_src ? "drive's" : "local",
		  file->clone_how == CLONE_HOW_BACKED ? "not stored" :
		  file->clone_how == CLONE_HOW_REFLINK ? "reflinked" :
		  file->clone_how == CLONE_HOW_MOUNT ? "a remote copy" :
		  "stored");
	return true;
}

/*
 * A file copied by reading it (a copy of a drive's file) that was a
 * placeholder when its copier opened it: once the copy is whole and
 * the file closed, in whichever order they come, the data its reads
 * fetched goes again, as a free would drop it. A copy does not hydrate
 * its source, and the copy itself is made by the remote, so the cache
 * keeps neither. A file that held data when opened keeps it.
 */
static void drop_copied(struct filter_env *env, struct node *n)
{
	char *report = NULL;
	int rc;

	rc = residency_free_tree(env->res, store_node_ino(n), &report);
	/* the kernel's cached pages go too: a copy of it read from them
	 * could not be checked against the source (nor made by the remote) */
	if (!rc)
		sync_changed(env->sync, store_node_ino(n), true);
	else
		log_debug("inode %llu: copied by reading it; its data is kept: "
			  "%s", (unsigned long long)store_node_ino(n),
			  report ? report : strerror(-rc));
	free(report);
}

static void clone_post(struct filter *f, struct fop *op)
{
	struct file *file = op->file;
	struct node_state ns;
	struct node *n;
	bool whole, candidate, copied;

	if ((op->kind != FOP_WRITE || op->result == (int)op->size) &&
	    op->kind != FOP_RELEASE)
		return;
	n = file->n;
	if (op->kind == FOP_RELEASE && file->placeholder) {
		if (store_node_reader_gone(n))
			drop_copied(f->env, n);
		return;
	}
	store_node_lock(n);
	if (op->kind == FOP_WRITE) {
		/* a failed or short write: whatever it was, it is not a
		 * copy now */
		file->clone = FILE_CLONE_NOT;
		store_node_unlock(n);
		return;
	}
	candidate = file->clone_fd >= 0 || file->clone_src;
	store_node_snapshot_locked(n, &ns);
	whole = file->clone == FILE_CLONE_CANDIDATE &&
		file->clone_next == file->clone_size &&
		ns.size == file->clone_size;
	store_node_unlock(n);
	copied = candidate && finish_copy(f->env, file, whole);
	if (file->clone_fd >= 0)
		close(file->clone_fd);
	file->clone_fd = -1;
	if (file->clone_src) {
		if (store_node_copy_ended(file->clone_src, copied))
			drop_copied(f->env, file->clone_src);
		store_node_put(f->env->store, file->clone_src);
	}
	file->clone_src = NULL;
	hash_free(file->clone_hash);
	file->clone_hash = NULL;
}

/*
 * A writer of an empty file may be writing a copy of a local file: its
 * first write is compared with a source (clone_write), which the fast
 * path would never show this filter.
 */
static const char *clone_fastpath(struct filter *f, const struct fop *op)
{
	struct file *file = op->file;
	struct node_state ns;
	bool check;

	if (!file->writer)
		return NULL;
	store_node_lock(file->n);
	store_node_snapshot_locked(file->n, &ns);
	check = file->clone == FILE_CLONE_UNKNOWN && ns.size == 0;
	store_node_unlock(file->n);
	return check ? "clone check pending (new file)" : NULL;
}

static bool clone_enabled(const struct filter_env *env)
{
	return env->clone_mode != CLONE_OFF;
}

static int clone_init(struct filter *f)
{
	struct filter_env *env = f->env;
	int rc;

	if (env->clone_mode != CLONE_GUARD && env->clone_mode != CLONE_AUTO)
		return 0;
	rc = guard_open(env, &env->guard);
	if (rc) {
		char why[128];
		const char *effect;

		env->guard_error = rc;
		effect = clone_policy(env, why, sizeof(why));
		/* also on the terminal of the mount command */
		log_warn("--clone %s comes to %s: no guard for the sources "
			 "of copies, as %s", clone_mode_name(env->clone_mode),
			 effect, why);
	}
	return 0;
}

/* At unmount: backings end without their bytes being stored; their
 * records say where the bytes are for the next mount. */
static int let_go(void *arg, uint64_t ino)
{
	struct filter_env *env = arg;
	struct node *n = store_node_find(env->store, ino);

	if (n) {
		store_node_unback(env->store, n);
		store_node_put(env->store, n);
	}
	return 0;
}

static void clone_release(struct filter *f)
{
	if (meta_foreach_clone(f->env->store->meta, let_go, f->env))
		log_warn("clone: cannot list the copies in progress");
	store_drop_plans(f->env->store);
	guard_close(f->env->guard);
	f->env->guard = NULL;
}

/* Finds the source of a copy that waited for its upload at the last
 * stop, and backs the copy with it again (guarded again). */
static int restore_one(void *arg, uint64_t ino)
{
	struct filter_env *env = arg;
	struct meta_entry e;
	struct meta_clone c;
	struct backing *bk;
	struct stat st;
	struct node *n;
	int fd, rc;

	if (meta_clone_get(env->store->meta, ino, &c))
		return 0;
	rc = meta_get(env->store->meta, ino, &e);
	if (rc || e.parent == 0 || !e.dirty) {
		/* gone or uploaded: the record outlived its copy */
		if (!rc)
			meta_entry_release(&e);
		rc = meta_clone_delete(env->store->meta, ino);
		goto out;
	}
	meta_entry_release(&e);
	rc = 0;
	if (!c.backed) {
		/* the cache has the bytes; a row of an older version gets
		 * their hash now */
		if (!c.hash_known && !store_node_get(env->store, ino, &n)) {
			if (hash_fd(store_node_cache_fd(n), c.size, -1, NULL,
				    c.hash) == 0 &&
			    meta_clone_put(env->store->meta, &c) == 0)
				c.hash_known = true;
			store_node_put(env->store, n);
		}
		if (!c.hash_known)
			log_warn("inode %llu: the copy of %s cannot be "
				 "checked; it will be in error",
				 (unsigned long long)ino, c.source);
		goto out;
	}
	if (c.size == 0) {
		/* cut short before any of it was synced: the file was sized
		 * to what its record says (nothing) when loaded, and is an
		 * empty file now, uploaded as such */
		rc = store_node_get(env->store, ino, &n);
		if (rc)
			goto out;
		log_warn("inode %llu: a copy of %s was cut short by a stop "
			 "before any of it was synced; it is left empty",
			 (unsigned long long)ino, c.source);
		store_node_copy_recorded(n, false);
		rc = meta_clone_delete(env->store->meta, ino);
		store_node_put(env->store, n);
		goto out;
	}
	/* the path the daemon itself recorded, and only the very file the
	 * writer had open: same device and inode; a copy cut short keeps
	 * what an fsync recorded, a prefix of its source */
	fd = open(c.source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != (dev_t)c.dev ||
	    st.st_ino != (ino_t)c.src_ino || (uint64_t)st.st_size < c.size) {
		log_error("inode %llu: the source %s of a copy waiting for its "
			  "upload is gone or was replaced; the copy will be in "
			  "error", (unsigned long long)ino, c.source);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (!c.hash_known && util_ts_ns(&st.st_ctim) == c.ctime_ns &&
	    hash_fd(fd, c.size, -1, NULL, c.hash) == 0) {
		/* a row of an older version, under another hash: the source
		 * is untouched since, so its bytes are the ones written */
		c.hash_known = meta_clone_put(env->store->meta, &c) == 0;
	}
	if (!c.hash_known) {
		log_error("inode %llu: the source %s of a copy waiting for its "
			  "upload cannot be checked; the copy will be in error",
			  (unsigned long long)ino, c.source);
		close(fd);
		goto out;
	}
	if (util_ts_ns(&st.st_ctim) != c.ctime_ns) {
		/* touched while nobody guarded it: only the bytes can say */
		unsigned char got[HASH_LEN];

		if (hash_fd(fd, c.size, -1, c.hash, got) ||
		    memcmp(got, c.hash, HASH_LEN) != 0) {
			log_error("inode %llu: the source %s of a copy waiting "
				  "for its upload was changed while clonedrive "
				  "was not running; the copy will be in error",
				  (unsigned long long)ino, c.source);
			close(fd);
			goto out;
		}
	}
	if (store_node_get(env->store, ino, &n)) {
		close(fd);
		goto out;
	}
	/* guarded again; the hash check before the upload tells whether
	 * it changed while nobody guarded it */
	bk = c.policy == CLONE_GUARD && env->guard ?
		     new_backing(env, n, fd, &st, 0, CLONE_GUARD) : NULL;
	if (!bk && c.policy == CLONE_GUARD)
		log_warn("inode %llu: the source %s of a copy cannot be "
			 "guarded again; it is checked before its upload",
			 (unsigned long long)ino, c.source);
	if (!bk)
		bk = new_backing(env, n, fd, &st, 0, CLONE_INPLACE);
	close(fd);	/* the backing has its own */
	if (!bk) {
		store_node_put(env->store, n);
		goto out;
	}
	bk->policy = c.policy;
	bk->len = c.size;
	memcpy(bk->digest, c.hash, HASH_LEN);
	bk->closed = true;
	store_node_back(env->store, n, bk);
	store_node_put(env->store, n);
	log_info("inode %llu: a copy of %s resumes its upload from the "
		 "source", (unsigned long long)ino, c.source);
out:
	meta_clone_release(&c);
	return rc;
}

int clone_restore(struct filter_env *env)
{
	return meta_foreach_clone(env->store->meta, restore_one, env);
}

static const char *const mode_names[] = {
	[CLONE_OFF] = "off", [CLONE_SPOOL] = "spool",
	[CLONE_INPLACE] = "inplace", [CLONE_GUARD] = "guard",
	[CLONE_REFLINK] = "reflink", [CLONE_AUTO] = "auto",
};

const char *clone_mode_name(enum clone_mode m)
{
	return m <= CLONE_AUTO ? mode_names[m] : "?";
}

int clone_mode_parse(const char *name)
{
	int i;

	for (i = 0; i <= CLONE_AUTO; i++)
		if (strcmp(name, mode_names[i]) == 0)
			return i;
	return -1;
}

const char *clone_policy(const struct filter_env *env, char *why, size_t size)
{
	bool guard = env->guard != NULL;
	int err = -env->guard_error;

	*why = '\0';
	if ((env->clone_mode == CLONE_GUARD || env->clone_mode == CLONE_AUTO) &&
	    !guard && err) {
		if (err == EPERM || err == EACCES)
			snprintf(why, size, "fanotify pre-content events need "
				 "root");
		else if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP)
			snprintf(why, size, "this kernel has no fanotify "
				 "pre-content events (they came in Linux "
				 "6.14)");
		else
			snprintf(why, size, "fanotify: %s", strerror(err));
	}
	switch (env->clone_mode) {
	case CLONE_AUTO:
		return guard ? "reflink, else guard, else spool"
			     : "reflink, else spool";
	case CLONE_GUARD:
		return guard ? "guard, else spool" : "spool";
	case CLONE_REFLINK:
		return "reflink, else spool";
	default:
		return clone_mode_name(env->clone_mode);
	}
}

const struct filter_ops clone_filter = {
	.name = "clone",
	.enabled = clone_enabled,
	.init = clone_init,
	.release = clone_release,
	.pre = clone_pre,
	.post = clone_post,
	.fastpath = clone_fastpath,
};
