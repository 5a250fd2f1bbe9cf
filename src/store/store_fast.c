/*
 * The store's part of the kernel's fast path (FUSE passthrough): which
 * handles of a file read and write its cache file directly, and what
 * they did to it once they are gone.
 *
 * The kernel's rules are per inode: one cache file (the id the front end
 * got for it) for all its fast handles, and never fast and cached
 * handles at once (an open in the other mode fails with EIO). The node
 * is the one thing per inode that lives while handles are open, so it
 * counts both kinds under its lock, and the decision and the counting
 * are one step. A file with fast handles keeps taking them, whatever a
 * filter would say, rather than fail an open.
 *
 * Writes on the fast path never reach the store: the first fast writer
 * notes the cache file's size and mtime and the last one compares them,
 * making the file dirty if they moved (an upload follows at the close,
 * as for any writer). Meanwhile the data must stay where the kernel
 * writes it: store_node_reset, _drop and _adopt refuse (store.c).
 */
#include "common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/log.h"
#include "util/util.h"

/* Why n may not take the fast path now, or NULL; under n->lock. */
static const char *fast_veto_locked(struct node *n)
{
	store_node_assert_locked(n);
	if (n->cached_opens > 0)
		return "open in cached mode";
	if (n->bk || n->clone_rec || n->clone_lost)
		return "copy of a local file";
	if (!store_node_has(n, 0, n->base))
		return "partially hydrated";
	return NULL;
}

/*
 * Whether the cache's file system gives a write a new mtime however soon
 * it follows a stat (multigrain timestamps: Linux 6.13 and later on ext4,
 * XFS, btrfs, tmpfs). Then a fast writer that left size, mtime and ctime
 * as it found them wrote nothing. Elsewhere a write may keep the time of
 * the tick before, and the close of a fast writer always counts as a
 * change: an upload too many, never one too few.
 */
static bool fine_times;

void store_fast_probe(const char *dir)
{
	struct stat a, b;
	int fd, i;

	fine_times = false;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_debug("cache %s: no O_TMPFILE (%s): fast writers' closes "
			  "count as changes", dir, strerror(errno));
		return;
	}
	/* one try may cross a tick by chance; five in a row do not */
	fine_times = true;
	for (i = 0; i < 5 && fine_times; i++) {
		if (fstat(fd, &a) < 0 || pwrite(fd, "x", 1, 0) != 1 ||
		    fstat(fd, &b) < 0)
			fine_times = false;
		else
			fine_times = a.st_mtim.tv_sec != b.st_mtim.tv_sec ||
				     a.st_mtim.tv_nsec != b.st_mtim.tv_nsec;
	}
	close(fd);
	log_debug("cache %s: %s timestamps", dir,
		  fine_times ? "fine-grained" : "coarse");
}

/*
 * Counts a fast handle of n; under n->lock. The first writer marks n
 * dirty before the kernel may write, as store_write does before its
 * bytes land: a crash meanwhile must not leave new bytes under a clean
 * entry. True if that mark must be saved.
 */
static bool fast_count(struct node *n, bool writer)
{
	struct stat st;

	n->fast_opens++;
	if (!writer || n->fast_writers++ > 0)
		return false;
	if (fstat(n->fd, &st) == 0) {
		n->fast_size = st.st_size;
		n->fast_mtime = st.st_mtim;
		n->fast_ctime = st.st_ctim;
	} else {
		n->fast_size = -1;	/* compares as changed */
	}
	n->fast_was_clean = !n->dirty;
	if (n->dirty) {
		/* an upload or copy planned before must see it may have
		 * changed */
		n->write_gen++;
		return false;
	}
	n->dirty = true;
	n->write_gen++;
	n->fast_gen = n->write_gen;
	return true;
}

/* Saves the dirty mark of n's first fast writer; the open goes on if it
 * cannot (the close saves it again). */
static void fast_save(struct store *s, struct node *n)
{
	int rc = store_node_commit(s, n);

	if (rc)
		log_warn("inode %llu: cannot record it as being written: %s",
			 (unsigned long long)n->ino, strerror(-rc));
}

int store_node_fast_open(struct store *s, struct node *n, bool writer,
			 bool want, store_fast_id_fn get_id, void *arg,
			 int *id, const char **why, bool *stale)
{
	const char *veto;
	bool save;
	int rc;

	*stale = false;
	store_node_lock(n);
	if (n->fast_opens > 0) {
		save = fast_count(n, writer);
		*id = n->fast_id;
		store_node_unlock(n);
		if (save)
			fast_save(s, n);
		return 0;
	}
	veto = want ? fast_veto_locked(n) : NULL;
	if (!want || veto) {
		rc = -EBUSY;
		if (veto)
			*why = veto;
		goto cached;
	}
	rc = get_id(arg, n->fd);
	if (rc < 0)
		goto cached;
	n->fast_id = rc;
	save = fast_count(n, writer);
	*id = rc;
	store_node_unlock(n);
	if (save)
		fast_save(s, n);
	return 0;
cached:
	n->cached_opens++;
	*stale = n->fast_stale;
	n->fast_stale = false;
	store_node_unlock(n);
	return rc;
}

/*
 * Whether the cache file of n moved since the reference the first fast
 * writer took (fast_size, fast_mtime); st gets it as it is now (an mtime
 * of -1 if it cannot be had: then it counts as moved). Under n->lock.
 */
static bool fast_changed_locked(struct node *n, struct stat *st)
{
	store_node_assert_locked(n);
	if (fstat(n->fd, st) < 0) {
		log_error("cache of inode %llu: fstat after fast writes: %s; "
			  "uploaded as if changed",
			  (unsigned long long)n->ino, strerror(errno));
		st->st_size = (off_t)n->size;
		st->st_mtim.tv_sec = st->st_mtim.tv_nsec = -1;
		return true;
	}
	/* the ctime too: a writer may have set the mtime back */
	return st->st_size != n->fast_size ||
	       st->st_mtim.tv_sec != n->fast_mtime.tv_sec ||
	       st->st_mtim.tv_nsec != n->fast_mtime.tv_nsec ||
	       st->st_ctim.tv_sec != n->fast_ctime.tv_sec ||
	       st->st_ctim.tv_nsec != n->fast_ctime.tv_nsec;
}

/* What fast writers wrote (the cache file as st says) becomes n's, as a
 * write would have made it; under n->lock. */
static void fast_take_locked(struct node *n, const struct stat *st)
{
	n->size = (uint64_t)st->st_size;
	n->base = CD_MIN(n->base, n->size);
	n->mtime_ns = st->st_mtim.tv_sec < 0 ? util_now_ns()
					     : util_ts_ns(&st->st_mtim);
	n->ctime_ns = CD_MAX(n->mtime_ns, util_now_ns());
	n->write_gen++;
	n->dirty = true;
	n->error = false;
	n->fast_stale = true;
}

/* The cache file as it is now is the reference the last fast close
 * compares with; under n->lock. */
static void fast_reference_locked(struct node *n, const struct stat *st)
{
	n->fast_size = st->st_size;
	n->fast_mtime = st->st_mtim;
	n->fast_ctime = st->st_ctim;
	n->fast_was_clean = false;	/* it was changed meanwhile */
}

/*
 * The last fast writer of n is gone: what it wrote behind the store
 * becomes n's; a file it left as it was is clean again if it was before
 * (and nothing else wrote it since). Under n->lock; true if n changed and
 * must be saved.
 */
static bool fast_written_locked(struct node *n)
{
	struct stat st;
	bool changed = fast_changed_locked(n, &st);

	if (changed || !fine_times) {
		fast_take_locked(n, &st);
		return true;
	}
	if (!n->fast_was_clean || n->uploading || n->write_gen != n->fast_gen)
		return false;
	n->dirty = false;
	return true;
}

void store_fast_absorb_locked(struct node *n)
{
	struct stat st;

	store_node_assert_locked(n);
	if (n->fast_writers == 0 || !fast_changed_locked(n, &st))
		return;
	fast_take_locked(n, &st);
	if (st.st_mtim.tv_sec >= 0)
		fast_reference_locked(n, &st);
}

void store_fast_settle_locked(struct node *n, bool after)
{
	struct stat st;

	store_node_assert_locked(n);
	if (n->fast_writers == 0)
		return;
	if (!after)
		store_fast_absorb_locked(n);
	else if (fstat(n->fd, &st) == 0)
		fast_reference_locked(n, &st);
}

bool store_node_fast_moved_locked(struct node *n, struct stat *st)
{
	return n->fast_writers > 0 && fast_changed_locked(n, st) &&
	       st->st_mtim.tv_sec >= 0;
}

int store_node_fast_close(struct store *s, struct node *n, bool fast,
			  bool writer, int *id, bool *reset_done)
{
	char etag[REMOTE_ETAG_MAX];
	bool changed = false, reset = false;
	uint64_t size = 0;
	int rc;

	*id = 0;
	*reset_done = false;
	store_node_lock(n);
	if (!fast) {
		n->cached_opens--;
		store_node_unlock(n);
		return 0;
	}
	if (writer && --n->fast_writers == 0)
		changed = fast_written_locked(n);
	if (--n->fast_opens == 0) {
		*id = n->fast_id;
		n->fast_id = 0;
		reset = n->fast_reset && !n->dirty;
		n->fast_reset = false;
		size = n->fast_reset_size;
		snprintf(etag, sizeof(etag), "%s", n->fast_reset_etag);
	}
	store_node_unlock(n);
	rc = changed ? store_node_commit(s, n) : 0;
	if (reset) {
		/* the remote's version that came while it was open */
		rc = store_node_reset(s, n, size, etag);
		*reset_done = rc == 0;
		store_node_lock(n);
		n->fast_stale = true;
		store_node_unlock(n);
		if (rc)
			log_warn("inode %llu: the remote's new version "
				 "waited for the last fast close: %s",
				 (unsigned long long)n->ino, strerror(-rc));
	}
	return rc;
}

void store_node_fast_count(struct node *n, int *fast, int *writers,
			   int *cached)
{
	store_node_lock(n);
	*fast = n->fast_opens;
	*writers = n->fast_writers;
	*cached = n->cached_opens;
	store_node_unlock(n);
}
