/*
 * The local store: namespace operations on the metadata database, data
 * operations on sparse cache files, and the table of nodes (regular files
 * in use) with their hydrated ranges.
 *
 * A node's cache file always has the file's logical size. Bytes at or
 * beyond node->base are local (written here, or zeros of an extension);
 * bytes below it are local only where node->present says so, and come
 * from the remote version node->etag otherwise. Hydrated extents are
 * saved lazily (after an fdatasync of the data they describe); a write
 * below base first has its range hydrated and the extents saved, so a
 * crash can never make written bytes look like unfetched ones.
 *
 * What the store does for copies of local files (backings, reflinked
 * ranges, the marks of a copy) is in store_copy.c.
 *
 * Lock order: nodes_lock, node->lock, then the metadata mutex.
 */
#include "common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/crash.h"
#include "util/log.h"
#include "util/util.h"

#define NODE_BUCKETS 1024

#ifndef NDEBUG
/* Its address names the calling thread, as the owner of a node lock. */
static __thread char this_thread;
#endif

void store_node_lock(struct node *n)
{
	/* not recursive: a thread taking it again would wait forever */
	assert(!store_node_is_locked(n));
	pthread_mutex_lock(&n->lock);
#ifndef NDEBUG
	__atomic_store_n(&n->owner, &this_thread, __ATOMIC_RELAXED);
#endif
}

void store_node_unlock(struct node *n)
{
	store_node_assert_locked(n);
#ifndef NDEBUG
	__atomic_store_n(&n->owner, NULL, __ATOMIC_RELAXED);
#endif
	pthread_mutex_unlock(&n->lock);
}

void store_node_wait(struct node *n)
{
	store_node_assert_locked(n);
#ifndef NDEBUG
	__atomic_store_n(&n->owner, NULL, __ATOMIC_RELAXED);
#endif
	pthread_cond_wait(&n->cond, &n->lock);
#ifndef NDEBUG
	__atomic_store_n(&n->owner, &this_thread, __ATOMIC_RELAXED);
#endif
}

#ifndef NDEBUG
bool store_node_is_locked(const struct node *n)
{
	return __atomic_load_n(&n->owner, __ATOMIC_RELAXED) == &this_thread;
}
#endif

int store_open(const char *dir, uid_t uid, gid_t gid, struct store **out)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char *db;
	int rc;

	rc = util_mkdir_p(dir, 0700);
	if (rc) {
		log_error("cache directory %s: cannot create: %s", dir,
			  strerror(-rc));
		free(s);
		return rc;
	}
	db = xasprintf("%s/meta.db", dir);
	rc = meta_open(db, &s->meta);
	free(db);
	if (rc)
		goto out_free;
	rc = cache_open(dir, &s->cache);
	if (rc)
		goto out_meta;
	store_fast_probe(dir);
	s->uid = uid;
	s->gid = gid;
	s->buckets = NODE_BUCKETS;
	s->table = xcalloc(s->buckets, sizeof(*s->table));
	pthread_mutex_init(&s->nodes_lock, NULL);
	*out = s;
	return 0;
out_meta:
	meta_close(s->meta);
out_free:
	free(s);
	return rc;
}

void store_close(struct store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->buckets; i++)
		if (s->table[i])
			log_warn("store: inode %llu still in use at close",
				 (unsigned long long)s->table[i]->ino);
	free(s->table);
	pthread_mutex_destroy(&s->nodes_lock);
	cache_close(s->cache);
	meta_close(s->meta);
	free(s);
}

static struct node **bucket(struct store *s, uint64_t ino)
{
	return &s->table[(ino * 0x9E3779B97F4A7C15ULL >> 32) % s->buckets];
}

/* Under nodes_lock. */
static struct node *lookup_node(struct store *s, uint64_t ino)
{
	struct node *n;

	for (n = *bucket(s, ino); n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void ts_from_ns(struct timespec *ts, int64_t ns)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += 1000000000;
	}
}

struct remote_meta store_remote_meta(const struct store *s,
				     const struct meta_entry *e)
{
	struct remote_meta m = REMOTE_META(e->mode & 07777, e->mtime_ns);

	if (s->keep_owners) {
		m.uid = e->uid;
		m.gid = e->gid;
	}
	return m;
}

void store_fill_stat(struct store *s, const struct meta_entry *e,
		     struct stat *st)
{
	struct node *n = NULL;

	memset(st, 0, sizeof(*st));
	st->st_ino = e->ino;
	st->st_mode = e->mode;
	/* a directory's ".." in each subdirectory links it too; an
	 * orphan (unlinked, still open) has no name left */
	if (S_ISDIR(e->mode))
		st->st_nlink = 2 + meta_subdirs(s->meta, e->ino);
	else
		st->st_nlink = e->parent || e->ino == META_ROOT_INO
				       ? CD_MAX(e->nlink, 1u) : 0;
	st->st_uid = e->uid != META_OWNER_NONE ? e->uid : s->uid;
	st->st_gid = e->gid != META_OWNER_NONE ? e->gid : s->gid;
	st->st_rdev = (dev_t)e->rdev;
	st->st_size = (off_t)e->size;
	st->st_blksize = 1 << 20;
	ts_from_ns(&st->st_mtim, e->mtime_ns);
	ts_from_ns(&st->st_ctim, e->ctime_ns);
	if (e->uatime_ns != META_TIME_NONE)
		ts_from_ns(&st->st_atim, e->uatime_ns);
	else
		st->st_atim = st->st_mtim;
	if (!S_ISREG(e->mode) || !e->has_data)
		return;		/* a placeholder holds nothing locally */
	pthread_mutex_lock(&s->nodes_lock);
	n = lookup_node(s, e->ino);
	if (n) {
		/* a file in use has its size and mtime here first: they reach
		 * its entry at its close */
		struct stat cst;

		store_node_lock(n);
		st->st_size = (off_t)n->size;
		ts_from_ns(&st->st_mtim, n->mtime_ns);
		/* the kernel writes the cache file of a fast writer itself:
		 * once it moved, the file knows its size and mtime, the node
		 * not yet */
		if (store_node_fast_moved_locked(n, &cst)) {
			st->st_size = cst.st_size;
			st->st_mtim = cst.st_mtim;
		}
		if (n->ctime_ns > e->ctime_ns)
			ts_from_ns(&st->st_ctim, n->ctime_ns);
		store_node_unlock(n);
	}
	pthread_mutex_unlock(&s->nodes_lock);
	st->st_blocks = (blkcnt_t)(cache_file_bytes(s->cache, e->ino) / 512);
}

/* Records size as the size of entry e (which keeps its own). */
static int save_size(struct store *s, const struct meta_entry *e,
		     uint64_t size)
{
	struct meta_entry copy = *e;

	copy.size = size;
	copy.base = CD_MIN(e->base, size);
	return meta_update_content(s->meta, &copy);
}

/* Sets up n from its entry and its cache file; under nodes_lock. */
static int load_node(struct store *s, struct node *n,
		     const struct meta_entry *e)
{
	uint64_t backed = UINT64_MAX;	/* bytes a record says are the copy's */
	struct meta_clone c;
	struct stat st;
	void *blob;
	size_t len;
	int rc;

	if (!e->has_data) {
		/* recorded before the file exists, so st_blocks never lies;
		 * the flag alone: the refresher may have changed the entry
		 * since e was read */
		rc = meta_set_has_data(s->meta, e->ino);
		if (rc)
			return rc;
	}
	n->fd = cache_file_open(s->cache, n->ino, true);
	if (n->fd < 0)
		return n->fd;
	if (fstat(n->fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	n->size = e->size;
	n->base = CD_MIN(e->base, e->size);
	n->dirty = e->dirty;
	n->error = e->error;
	n->mtime_ns = e->mtime_ns;
	n->ctime_ns = e->ctime_ns;
	n->free_after_upload = e->spool;
	n->clone_rec = e->dirty && meta_clone_get(s->meta, n->ino, &c) == 0;
	if (n->clone_rec) {
		n->clone_lost = c.backed;	/* until backed again */
		if (c.backed)
			backed = c.size;
		meta_clone_release(&c);
	}
	snprintf(n->etag, sizeof(n->etag), "%s", e->etag);
	if (backed != UINT64_MAX && (uint64_t)st.st_size != backed) {
		/* a copy cut short by a crash: the file grew by holes for
		 * bytes acknowledged from its source, and only the ones its
		 * record counts (an fsync's) are known to be the copy's */
		if (ftruncate(n->fd, (off_t)backed) < 0) {
			rc = -errno;
			goto out_close;
		}
		n->size = backed;
		n->base = CD_MIN(n->base, n->size);
		rc = save_size(s, e, n->size);
		if (rc)
			goto out_close;
	} else if (e->dirty && (uint64_t)st.st_size != e->size) {
		/* written before a crash: the data file knows the size */
		n->size = (uint64_t)st.st_size;
		n->base = CD_MIN(n->base, n->size);
		rc = save_size(s, e, n->size);
		if (rc)
			goto out_close;
	} else if (!e->dirty && (uint64_t)st.st_size != e->size) {
		/* stale or new: start over from the remote version */
		if (ftruncate(n->fd, 0) < 0 ||
		    ftruncate(n->fd, (off_t)e->size) < 0) {
			rc = -errno;
			log_error("cache of inode %llu: cannot size: %s",
				  (unsigned long long)n->ino, strerror(errno));
			goto out_close;
		}
		return meta_set_extents(s->meta, n->ino, NULL, 0);
	}
	rc = meta_get_extents(s->meta, n->ino, &blob, &len);
	if (rc)
		goto out_close;
	if (len && rangeset_decode(&n->present, blob, len))
		log_warn("cache of inode %llu: bad extents, refetching",
			 (unsigned long long)n->ino);
	free(blob);
	rangeset_remove(&n->present, n->base, UINT64_MAX);
	return 0;
out_close:
	close(n->fd);
	n->fd = -1;
	return rc;
}

int store_node_get(struct store *s, uint64_t ino, struct node **out)
{
	struct meta_entry e;
	struct node *n;
	int rc;

	pthread_mutex_lock(&s->nodes_lock);
	n = lookup_node(s, ino);
	if (n) {
		store_node_ref(n);
		pthread_mutex_unlock(&s->nodes_lock);
		*out = n;
		return 0;
	}
	rc = meta_get(s->meta, ino, &e);
	if (rc)
		goto out_unlock;
	if (!S_ISREG(e.mode)) {
		if (S_ISDIR(e.mode))
			rc = -EISDIR;
		else if (meta_is_special(e.mode))
			rc = -ENXIO;	/* a FIFO's data is the kernel's */
		else
			rc = -EINVAL;
		goto out_release;
	}
	n = xcalloc(1, sizeof(*n));
	n->ino = ino;
	n->refs = 1;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	rangeset_init(&n->present);
	rc = load_node(s, n, &e);
	if (rc) {
		rangeset_release(&n->present);
		pthread_cond_destroy(&n->cond);
		pthread_mutex_destroy(&n->lock);
		free(n);
		goto out_release;
	}
	n->next = *bucket(s, ino);
	*bucket(s, ino) = n;
	*out = n;
out_release:
	meta_entry_release(&e);
out_unlock:
	pthread_mutex_unlock(&s->nodes_lock);
	return rc;
}

void store_node_ref(struct node *n)
{
	__atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
}

uint64_t store_node_ino(const struct node *n)
{
	return n->ino;
}

int store_node_cache_fd(const struct node *n)
{
	return n->fd;
}

void store_node_snapshot_locked(struct node *n, struct node_state *st)
{
	store_node_assert_locked(n);
	st->size = n->size;
	st->base = n->base;
	snprintf(st->etag, sizeof(st->etag), "%s", n->etag);
	st->write_gen = n->write_gen;
	st->version = n->version;
	st->dirty = n->dirty;
	st->uploading = n->uploading;
	st->error = n->error;
	st->copy = n->clone_rec;
	st->backed = n->bk != NULL;
	st->spool = n->free_after_upload;
	st->fast_clean = n->fast_writers > 0 && n->fast_was_clean;
	st->writers = n->writers;
	st->openers = n->openers;
	st->copy_of = n->copy_of;
	snprintf(st->copy_etag, sizeof(st->copy_etag), "%s", n->copy_etag);
}

void store_node_snapshot(struct node *n, struct node_state *st)
{
	store_node_lock(n);
	store_node_snapshot_locked(n, st);
	store_node_unlock(n);
}

void store_node_opened(struct node *n, bool writer, struct node_state *st)
{
	store_node_lock(n);
	n->openers++;
	if (writer)
		n->writers++;
	if (st)
		store_node_snapshot_locked(n, st);
	store_node_unlock(n);
}

bool store_node_replaced(struct node *n, uint64_t version)
{
	bool replaced;

	store_node_lock(n);
	replaced = n->version != version;
	store_node_unlock(n);
	return replaced;
}

struct node *store_node_find(struct store *s, uint64_t ino)
{
	struct node *n;

	pthread_mutex_lock(&s->nodes_lock);
	n = lookup_node(s, ino);
	if (n)
		store_node_ref(n);
	pthread_mutex_unlock(&s->nodes_lock);
	return n;
}

void store_set_defer(struct store *s, store_defer_fn fn, void *arg)
{
	__atomic_store_n(&s->defer_arg, arg, __ATOMIC_RELEASE);
	__atomic_store_n(&s->defer, fn, __ATOMIC_RELEASE);
}

/*
 * Drops a reference; the last one saves n's state, inline or deferred.
 * A save that fails (the database full or failing) leaves the state in
 * memory the only true one (the size and mtime of the last writes, the
 * dirty mark): n stays loaded, its reference handed to the deferred
 * saver, which tries again; with keep, the caller keeps it (-EAGAIN).
 */
static int node_put(struct store *s, struct node *n, bool may_defer,
		    bool keep)
{
	struct meta_entry e;
	struct node **pp;
	store_defer_fn defer;
	bool orphan, unsaved;

	/* a count above 1 cannot reach 0 under us: not the last */
	pthread_mutex_lock(&s->nodes_lock);
	if (__atomic_load_n(&n->refs, __ATOMIC_ACQUIRE) > 1) {
		__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL);
		pthread_mutex_unlock(&s->nodes_lock);
		return 0;
	}
	pthread_mutex_unlock(&s->nodes_lock);

	/* last reference: save what is unsaved while still findable */
	orphan = meta_get(s->meta, n->ino, &e) == 0 && e.parent == 0;
	meta_entry_release(&e);
	if (!orphan) {
		store_node_lock(n);
		unsaved = n->extents_unsaved;
		store_node_unlock(n);
		defer = may_defer ? __atomic_load_n(&s->defer, __ATOMIC_ACQUIRE)
				  : NULL;
		if (unsaved && defer) {
			/* it takes our reference */
			defer(__atomic_load_n(&s->defer_arg, __ATOMIC_ACQUIRE),
			      n);
			return 0;
		}
		if (store_node_save(s, n) || store_node_commit(s, n)) {
			if (keep)
				return -EAGAIN;
			defer = __atomic_load_n(&s->defer, __ATOMIC_ACQUIRE);
			if (may_defer && defer) {
				log_warn("inode %llu: state not saved; kept "
					 "loaded, to be saved again",
					 (unsigned long long)n->ino);
				store_node_lock(n);
				n->save_failed = true;
				store_node_unlock(n);
				defer(__atomic_load_n(&s->defer_arg,
						      __ATOMIC_ACQUIRE),
				      n);
				return 0;
			}
			log_error("inode %llu: state not saved; it will be "
				  "refetched", (unsigned long long)n->ino);
		}
	}

	pthread_mutex_lock(&s->nodes_lock);
	if (__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) > 0) {
		pthread_mutex_unlock(&s->nodes_lock);
		return 0;
	}
	for (pp = bucket(s, n->ino); *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	if (orphan) {
		if (meta_delete(s->meta, n->ino, NULL, NULL))
			log_error("inode %llu: cannot delete unlinked entry",
				  (unsigned long long)n->ino);
		cache_file_remove(s->cache, n->ino);
	}
	pthread_mutex_unlock(&s->nodes_lock);
	close(n->fd);
	rangeset_release(&n->present);
	free(n->remote_path);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
	return 0;
}

void store_node_put(struct store *s, struct node *n)
{
	(void)node_put(s, n, true, false);
}

void store_node_put_saved(struct store *s, struct node *n)
{
	(void)node_put(s, n, false, false);
}

bool store_node_save_failed(struct node *n)
{
	bool failed;

	store_node_lock(n);
	failed = n->save_failed;
	store_node_unlock(n);
	return failed;
}

int store_node_put_retry(struct store *s, struct node *n)
{
	return node_put(s, n, false, true);
}

int store_node_path(struct store *s, struct node *n, char **path)
{
	uint64_t gen = __atomic_load_n(&s->rename_gen, __ATOMIC_ACQUIRE);
	char *p = NULL;
	int rc;

	store_node_lock(n);
	if (n->remote_path && n->path_gen == gen)
		p = xstrdup(n->remote_path);
	store_node_unlock(n);
	if (p) {
		*path = p;
		return 0;
	}
	rc = meta_path(s->meta, n->ino, &p);
	if (rc)
		return rc;
	store_node_lock(n);
	free(n->remote_path);
	n->remote_path = xstrdup(p);
	n->path_gen = gen;
	store_node_unlock(n);
	*path = p;
	return 0;
}

int store_node_remote_path(struct store *s, struct node *n, char **path)
{
	char *local;
	int rc;

	rc = store_node_path(s, n, &local);
	if (rc)
		return rc;
	rc = meta_journal_unrename(s->meta, local, path);
	free(local);
	return rc;
}

uint64_t store_held(struct store *s, uint64_t ino, uint64_t *base)
{
	struct meta_entry e;
	struct rangeset rs;
	uint64_t have = 0;
	struct node *n;
	size_t len;
	void *blob;

	*base = 0;
	n = store_node_find(s, ino);
	if (n) {
		store_node_lock(n);
		*base = n->base;
		have = rangeset_bytes(&n->present);
		store_node_unlock(n);
		store_node_put(s, n);
		return have;
	}
	if (meta_get(s->meta, ino, &e))
		return 0;
	*base = CD_MIN(e.base, e.size);
	meta_entry_release(&e);
	rangeset_init(&rs);
	if (!meta_get_extents(s->meta, ino, &blob, &len)) {
		if (len && !rangeset_decode(&rs, blob, len))
			have = rangeset_bytes(&rs);
		free(blob);
	}
	rangeset_release(&rs);
	return CD_MIN(have, *base);
}

bool store_node_has(const struct node *n, uint64_t off, uint64_t len)
{
	uint64_t end = CD_MIN(off + len, n->base);

	store_node_assert_locked(n);
	return off >= end || rangeset_contains(&n->present, off, end);
}

bool store_node_holds(struct node *n, uint64_t off, uint64_t len)
{
	bool here;

	store_node_lock(n);
	here = store_node_has(n, off, len);
	store_node_unlock(n);
	return here;
}

uint64_t store_node_read_gap(struct node *n, uint64_t off, uint64_t len)
{
	uint64_t end, gap = 0;

	store_node_lock(n);
	end = CD_MIN(off + len, n->size);
	if (off < end && !store_node_has(n, off, end - off))
		gap = end - off;
	store_node_unlock(n);
	return gap;
}

enum store_write_need store_node_write_need(struct node *n, uint64_t off,
					    uint64_t len)
{
	enum store_write_need need = STORE_WRITE_FREE;

	store_node_lock(n);
	if (off < n->base)
		need = store_node_has(n, off, len) ? STORE_WRITE_SAVE
						   : STORE_WRITE_FETCH;
	store_node_unlock(n);
	return need;
}

uint64_t store_node_readahead(struct node *n, uint64_t off, uint64_t len,
			      uint64_t min, uint64_t max, uint64_t *start)
{
	uint64_t end = off + len, from = 0, want = 0;

	store_node_lock(n);
	if (off == n->ra_next && off != 0) {
		n->ra_window = CD_MIN(CD_MAX(CD_MAX(n->ra_window * 2, min),
					     2 * len),
				      max);
		from = end;
		want = n->ra_window;
	} else {
		n->ra_window = 0;
	}
	n->ra_next = end;
	if (from >= n->base)
		want = 0;
	else if (want && store_node_has(n, from, want))
		want = 0;
	store_node_unlock(n);
	*start = from;
	return want;
}

void store_node_upload_begin(struct node *n, struct node_upload *u)
{
	store_node_lock(n);
	u->gen = n->write_gen;
	u->size = n->size;
	u->mtime_ns = n->mtime_ns;
	u->copy = n->clone_rec;
	snprintf(u->match, sizeof(u->match), "%s", n->etag);
	n->uploading = true;
	store_node_unlock(n);
}

bool store_node_written_since(struct node *n, uint64_t gen)
{
	bool written;

	store_node_lock(n);
	written = n->write_gen != gen;
	store_node_unlock(n);
	return written;
}

void store_node_upload_end(struct node *n, const struct node_upload *u,
			   int rc, const char *etag, bool backed)
{
	store_node_lock(n);
	n->uploading = false;
	if (!rc)	/* the version later uploads must replace */
		snprintf(n->etag, sizeof(n->etag), "%s", etag);
	/* a writer on the fast path may have written since, unseen: it
	 * stays dirty until that writer's close says (store_fast.c) */
	if (!rc && n->write_gen == u->gen && n->fast_writers == 0) {
		n->dirty = false;
		n->error = false;
		n->base = u->size;
		if (!backed) {
			/* the cache has the bytes; a backed copy's stay
			 * with its source: the file is a placeholder now */
			rangeset_add(&n->present, 0, u->size);
			n->extents_unsaved = true;
			n->extents_gen++;
		}
	} else if (rc == -EILSEQ) {
		n->error = true;
	}
	store_node_unlock(n);
}

void store_node_take_mtime(struct node *n, int64_t mtime_ns)
{
	store_node_lock(n);
	if (!n->dirty)
		n->mtime_ns = mtime_ns;
	store_node_unlock(n);
}

void store_node_set_error(struct node *n, bool error)
{
	store_node_lock(n);
	n->error = error;
	store_node_unlock(n);
}

void store_node_renew_version(struct node *n, const char *etag)
{
	store_node_lock(n);
	if (n->etag[0])
		snprintf(n->etag, sizeof(n->etag), "%s", etag);
	store_node_unlock(n);
}

void store_node_set_version(struct node *n, const char *etag)
{
	store_node_lock(n);
	snprintf(n->etag, sizeof(n->etag), "%s", etag);
	store_node_unlock(n);
}

void store_node_replace_version(struct node *n, const char *etag)
{
	store_node_lock(n);
	if (!n->etag[0])
		snprintf(n->etag, sizeof(n->etag), "%s", etag);
	store_node_unlock(n);
}

void store_node_mark(struct node *n, uint64_t off, uint64_t len)
{
	store_node_lock(n);
	if (off < n->base) {
		rangeset_add(&n->present, off, CD_MIN(off + len, n->base));
		n->extents_unsaved = true;
		n->extents_gen++;
	}
	store_node_unlock(n);
}

void store_node_quiesce(struct node *n)
{
	store_node_assert_locked(n);
	/* atomic: fetch jobs read it without the lock (job_cancelled) */
	__atomic_add_fetch(&n->fetch_epoch, 1, __ATOMIC_RELAXED);
	while (n->fetching > 0)
		store_node_wait(n);
}

int store_node_save(struct store *s, struct node *n)
{
	uint64_t gen;
	void *blob;
	size_t len;
	int rc = 0;

	/* snapshot under the lock; the slow sync runs without it, so opens
	 * and reads of the file never wait for it */
	store_node_lock(n);
	if (!n->extents_unsaved) {
		store_node_unlock(n);
		return 0;
	}
	gen = n->extents_gen;
	blob = rangeset_encode(&n->present, &len);
	store_node_unlock(n);

	/* the data first: extents must never describe bytes not on disk */
	if (fdatasync(n->fd) < 0) {
		rc = -errno;
		log_error("cache of inode %llu: fdatasync: %s",
			  (unsigned long long)n->ino, strerror(errno));
		goto out_free;
	}
	crash_point("extent-save");
	/* written under the lock, and only if nothing changed since the
	 * snapshot: a drop or reset in between must not be overwritten by
	 * extents describing data that is gone (a change that only added
	 * extents is saved by the next call) */
	store_node_lock(n);
	if (n->extents_gen == gen) {
		rc = meta_set_extents(s->meta, n->ino, blob, len);
		if (!rc)
			n->extents_unsaved = false;
	}
	store_node_unlock(n);
out_free:
	free(blob);
	return rc;
}

int store_node_reset(struct store *s, struct node *n, uint64_t size,
		     const char *etag)
{
	int rc = 0;

	store_node_lock(n);
	if (n->fast_opens > 0 && !n->uploading &&
	    (!n->dirty || n->fast_was_clean)) {
		/* the kernel reads (or may write) the cache file itself:
		 * the reset waits for its last fast handle (store_fast.c) */
		n->fast_reset = true;
		n->fast_reset_size = size;
		snprintf(n->fast_reset_etag, sizeof(n->fast_reset_etag), "%s",
			 etag);
		n->extents_unsaved = true;
		n->extents_gen++;
		store_node_unlock(n);
		return -EAGAIN;
	}
	if (n->dirty || n->uploading || n->fast_opens > 0) {
		/* written here since the caller looked: nothing of it may go.
		 * The extents it cleared in the database are saved again. */
		n->extents_unsaved = true;
		n->extents_gen++;
		store_node_unlock(n);
		return -EBUSY;
	}
	store_node_quiesce(n);
	if (ftruncate(n->fd, 0) < 0 || ftruncate(n->fd, (off_t)size) < 0)
		rc = -errno;
	rangeset_remove(&n->present, 0, UINT64_MAX);
	n->size = size;
	n->base = size;
	n->dirty = false;
	n->extents_unsaved = false;
	n->extents_gen++;
	n->write_gen++;
	n->version++;
	snprintf(n->etag, sizeof(n->etag), "%s", etag);
	if (!rc)
		rc = meta_set_extents(s->meta, n->ino, NULL, 0);
	store_node_unlock(n);
	return rc;
}

int store_node_drop(struct store *s, struct node *n, uint64_t *freed)
{
	struct stat st;
	int rc = 0;

	*freed = 0;
	store_node_lock(n);
	if (n->dirty || n->uploading || n->error || n->writers > 0 ||
	    n->fast_opens > 0 || !n->etag[0]) {
		store_node_unlock(n);
		return -EBUSY;
	}
	store_node_quiesce(n);
	if (fstat(n->fd, &st) == 0)
		*freed = (uint64_t)st.st_blocks * 512;
	/* the same size, no blocks: every byte is a placeholder's again */
	if (ftruncate(n->fd, 0) < 0 || ftruncate(n->fd, (off_t)n->size) < 0)
		rc = -errno;
	rangeset_remove(&n->present, 0, UINT64_MAX);
	n->base = n->size;
	n->extents_unsaved = false;
	n->extents_gen++;
	n->ra_next = n->ra_window = 0;
	if (!rc)
		rc = meta_set_extents(s->meta, n->ino, NULL, 0);
	store_node_unlock(n);
	if (rc) {
		*freed = 0;
		log_error("cache of inode %llu: cannot drop: %s",
			  (unsigned long long)n->ino, strerror(-rc));
	}
	return rc;
}

int store_node_adopt(struct store *s, struct node *n, uint64_t gen,
		     const struct remote_attr *a, uint64_t src,
		     const char *src_etag)
{
	int rc = 0;

	store_node_lock(n);
	if (n->write_gen != gen || n->fast_opens > 0) {
		/* written since, or the kernel may write it any time */
		store_node_unlock(n);
		return -EAGAIN;
	}
	store_node_quiesce(n);
	if (ftruncate(n->fd, 0) < 0 || ftruncate(n->fd, (off_t)a->size) < 0)
		rc = -errno;
	rangeset_remove(&n->present, 0, UINT64_MAX);
	n->size = n->base = a->size;
	n->dirty = n->error = false;
	n->mtime_ns = a->mtime_ns;
	n->extents_unsaved = false;
	n->extents_gen++;
	n->write_gen++;
	snprintf(n->etag, sizeof(n->etag), "%s", a->etag);
	n->copy_of = src;
	snprintf(n->copy_etag, sizeof(n->copy_etag), "%s", src_etag);
	if (!rc)
		rc = meta_set_extents(s->meta, n->ino, NULL, 0);
	store_node_unlock(n);
	if (!rc)
		rc = store_node_commit(s, n);
	return rc;
}

int store_evict(struct store *s, uint64_t ino, uint64_t *freed)
{
	uint64_t bytes;
	int rc;

	*freed = 0;
	/* with the table locked, nobody can load the file meanwhile */
	pthread_mutex_lock(&s->nodes_lock);
	if (lookup_node(s, ino)) {
		pthread_mutex_unlock(&s->nodes_lock);
		return -EBUSY;
	}
	bytes = cache_file_bytes(s->cache, ino);
	/* the record first: a crash in between leaves a file whose data no
	 * extents vouch for, which is refetched, never trusted */
	rc = meta_drop_data(s->meta, ino);
	if (!rc) {
		cache_file_remove(s->cache, ino);
		*freed = bytes;
	}
	pthread_mutex_unlock(&s->nodes_lock);
	return rc;
}

int store_node_commit(struct store *s, struct node *n)
{
	struct meta_entry e = { .ino = n->ino };
	int rc;

	/* only what the node owns: a rename or chmod committed meanwhile
	 * by another request is not written back over */
	store_node_lock(n);
	store_fast_absorb_locked(n);	/* what the kernel wrote itself */
	e.size = n->size;
	e.base = n->base;
	e.dirty = n->dirty;
	e.error = n->error;
	e.mtime_ns = n->mtime_ns;
	e.ctime_ns = n->ctime_ns;
	e.atime_ns = util_now_ns();	/* the cache's LRU order */
	e.spool = n->free_after_upload;
	snprintf(e.etag, sizeof(e.etag), "%s", n->etag);
	rc = meta_update_content(s->meta, &e);
	store_node_unlock(n);
	return rc;
}

/* The remote path of (parent, name), or of parent if name is NULL. */
static int path_at(struct store *s, uint64_t parent, const char *name,
		   char **out)
{
	char *dir;
	int rc;

	rc = meta_path(s->meta, parent, &dir);
	if (rc || !name) {
		*out = rc ? NULL : dir;
		return rc;
	}
	*out = util_path_join(dir, name);
	free(dir);
	return 0;
}

/*
 * Adds jop, if any, inside the caller's transaction, with the paths it
 * acts on taken here: (parent, name) and, for a rename, (newparent,
 * newname); parent alone (name NULL) names the entry parent itself.
 * Taken in the transaction that makes the change, they are the paths of
 * the namespace just before it, which is what the remote has once the
 * ops before this one are done: a path taken earlier could miss a
 * rename that a concurrent request committed in between (a file's last
 * close racing its rename), and the op would then act on a name the
 * remote no longer has.
 */
static int add_jop(struct store *s, const struct jop *jop, uint64_t parent,
		   const char *name, uint64_t newparent, const char *newname)
{
	struct jop copy;
	char *path, *path2 = NULL;
	int rc;

	if (!jop)
		return 0;
	copy = *jop;
	rc = path_at(s, parent, name, &path);
	if (rc)
		return rc;
	if (jop->kind == JOP_RENAME || jop->kind == JOP_LINK) {
		rc = path_at(s, newparent, newname, &path2);
		if (rc) {
			free(path);
			return rc;
		}
		copy.path2 = path2;
	}
	copy.path = path;
	rc = meta_journal_add(s->meta, &copy);
	free(path);
	free(path2);
	return rc;
}

/* Directory ino's entries changed: its mtime and ctime are now, and
 * the remote's directory gets that mtime once its changes are there. */
static int touch_dir(struct store *s, uint64_t ino, int64_t now)
{
	int rc = meta_touch(s->meta, ino, now, now);

	return rc ? rc : meta_journal_dirtime(s->meta, ino);
}

/*
 * Sets the owner of e, new in directory dir, made by nw's caller: the
 * caller's fsgid, or the directory's group where it is set-group-ID (a
 * directory made there is set-group-ID too). The kernel has taken the
 * set-group-ID bit off a file the caller may not give it.
 */
static void new_owner(struct store *s, const struct meta_entry *dir,
		      const struct store_new *nw, struct meta_entry *e)
{
	if (!s->keep_owners)
		return;		/* every entry is the mount's owner's */
	e->uid = (uint32_t)nw->uid;
	e->gid = (uint32_t)nw->gid;
	if (dir->mode & S_ISGID) {
		e->gid = dir->gid;
		if (S_ISDIR(e->mode))
			e->mode |= S_ISGID;
	}
}

int store_mknod(struct store *s, uint64_t parent, const char *name,
		const struct store_new *nw, const struct jop *jop,
		struct meta_entry *out)
{
	struct meta_entry e, dir;
	int rc;

	if (strlen(name) > META_NAME_MAX)
		return -ENAMETOOLONG;	/* never cut to another's name */
	meta_entry_init(&e);
	e.parent = parent;
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.mode = nw->mode;
	e.rdev = nw->rdev;
	e.mtime_ns = e.ctime_ns = util_now_ns();
	e.link = nw->link ? xstrdup(nw->link) : NULL;
	e.has_data = S_ISREG(e.mode);
	e.size = nw->link ? strlen(nw->link) : 0;
	e.dirty = S_ISREG(e.mode);
	e.populated = S_ISDIR(e.mode);
	if (!(S_ISCHR(e.mode) || S_ISBLK(e.mode)))
		e.rdev = 0;
	rc = meta_begin(s->meta);
	if (rc)
		goto out;
	rc = meta_get(s->meta, parent, &dir);
	if (!rc) {
		new_owner(s, &dir, nw, &e);
		meta_entry_release(&dir);
		rc = meta_insert(s->meta, &e);
	}
	if (!rc && jop) {
		/* the op names the new entry, which its failure marks, and
		 * a directory's has its mode as made (set-group-ID) */
		struct jop j = *jop;

		j.ino = e.ino;
		if (j.kind == JOP_MKDIR)
			j.arg = e.mode & 07777;
		rc = add_jop(s, &j, parent, name, 0, NULL);
	}
	if (!rc)
		rc = touch_dir(s, parent, e.mtime_ns);
	if (rc) {
		meta_rollback(s->meta);
		goto out;
	}
	rc = meta_commit(s->meta);
	if (!rc) {
		*out = e;
		return 0;
	}
out:
	meta_entry_release(&e);
	return rc;
}

int store_link(struct store *s, uint64_t ino, uint64_t newparent,
	       const char *newname, const struct jop *jop,
	       struct meta_entry *out)
{
	int64_t now = util_now_ns();
	struct meta_entry e;
	int rc;

	if (strlen(newname) > META_NAME_MAX)
		return -ENAMETOOLONG;
	rc = meta_begin(s->meta);
	if (rc)
		return rc;
	rc = meta_get(s->meta, ino, &e);
	if (rc)
		goto out_rollback;
	if (S_ISDIR(e.mode))
		rc = -EPERM;
	else if (!e.parent)
		rc = -ENOENT;	/* unlinked: no name to give another */
	meta_entry_release(&e);
	/* the op copies the file from its own name, as the remote has it
	 * once the ops before are done */
	if (!rc && jop) {
		struct jop j = *jop;

		j.ino = ino;
		rc = add_jop(s, &j, ino, NULL, newparent, newname);
	}
	if (!rc)
		rc = meta_link_add(s->meta, ino, newparent, newname);
	if (!rc)
		rc = meta_touch(s->meta, ino, META_TIME_NONE, now);
	if (!rc)
		rc = touch_dir(s, newparent, now);
	if (!rc)
		rc = meta_lookup(s->meta, newparent, newname, out);
	if (rc)
		goto out_rollback;
	rc = meta_commit(s->meta);
	if (rc) {
		meta_entry_release(out);
		return rc;
	}
	if (jop)
		crash_point("journal-commit");
	return 0;
out_rollback:
	meta_rollback(s->meta);
	return rc;
}

static void drop_cache_file(void *arg, uint64_t ino)
{
	struct store *s = arg;

	cache_file_remove(s->cache, ino);
}

void store_node_closed(struct store *s, struct node *n, bool writer)
{
	store_node_lock(n);
	n->openers--;
	if (writer)
		n->writers--;
	store_node_unlock(n);
	store_drop_orphan_backing(s, n);
}

/*
 * Removes the entry e inside the caller's transaction, under nodes_lock:
 * an open file becomes an orphan, deleted at its last close.
 */
static int remove_entry(struct store *s, const struct meta_entry *e)
{
	if (S_ISREG(e->mode) && lookup_node(s, e->ino))
		return meta_move(s->meta, e->ino, 0, NULL);
	return meta_delete(s->meta, e->ino, drop_cache_file, s);
}

/*
 * Removes the name (parent, name) of entry e, found by it, inside the
 * caller's transaction, under nodes_lock. An extra name goes alone; the
 * entry's own name gives way to its oldest extra name (the inode, its
 * data and its open handles stay); the last name removes the entry
 * (remove_entry). *last tells whether it was the last.
 */
static int remove_name(struct store *s, const struct meta_entry *e,
		       uint64_t parent, const char *name, bool *last)
{
	int rc;

	*last = !e->alias && e->nlink <= 1;
	if (*last)
		return remove_entry(s, e);
	if (e->alias)
		rc = meta_link_remove(s->meta, parent, name);
	else
		rc = meta_link_promote(s->meta, e->ino);
	/* a change of the inode (POSIX): the names left see it */
	if (!rc)
		rc = meta_touch(s->meta, e->ino, META_TIME_NONE,
				util_now_ns());
	/* the path cached in its node may be the name that went */
	__atomic_add_fetch(&s->rename_gen, 1, __ATOMIC_RELEASE);
	return rc;
}

/* 0 if directory ino is empty, -ENOTEMPTY if not; a failure to tell is
 * an error too, never taken for "empty" (the subtree would go). */
static int not_empty(struct store *s, uint64_t ino)
{
	int rc = fault_point("has-children");

	if (!rc)
		rc = meta_has_children(s->meta, ino);
	return rc > 0 ? -ENOTEMPTY : rc;
}

int store_remove(struct store *s, uint64_t parent, const char *name,
		 bool dir, const struct jop *jop)
{
	struct meta_entry e;
	uint64_t gone = 0;
	bool last = false;
	int rc;

	pthread_mutex_lock(&s->nodes_lock);
	rc = meta_begin(s->meta);
	if (rc)
		goto out_unlock;
	rc = meta_lookup(s->meta, parent, name, &e);
	if (rc)
		goto out_rollback;
	if (dir && !S_ISDIR(e.mode))
		rc = -ENOTDIR;
	else if (!dir && S_ISDIR(e.mode))
		rc = -EISDIR;
	else if (dir)
		rc = not_empty(s, e.ino);
	if (!rc)
		rc = add_jop(s, jop, parent, name, 0, NULL);
	if (!rc)
		rc = remove_name(s, &e, parent, name, &last);
	if (S_ISREG(e.mode) && last)
		gone = e.ino;
	if (!rc)
		rc = touch_dir(s, parent, util_now_ns());
	meta_entry_release(&e);
	if (rc)
		goto out_rollback;
	crash_point("delete-uncommitted");
	rc = meta_commit(s->meta);
	goto out_unlock;
out_rollback:
	meta_rollback(s->meta);
	gone = 0;
out_unlock:
	pthread_mutex_unlock(&s->nodes_lock);
	if (gone)
		store_let_go_orphan(s, gone);
	return rc;
}

int store_rename(struct store *s, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags,
		 const struct jop *jop)
{
	struct meta_entry src, dst;
	int64_t now = util_now_ns();
	uint64_t gone = 0;
	bool last = false;
	int rc;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (strlen(newname) > META_NAME_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&s->nodes_lock);
	rc = meta_begin(s->meta);
	if (rc)
		goto out_unlock;
	rc = meta_lookup(s->meta, parent, name, &src);
	if (rc)
		goto out_rollback;
	rc = meta_lookup(s->meta, newparent, newname, &dst);
	if (rc == 0) {
		if (dst.ino == src.ino)
			rc = 1;	/* same file: nothing to do */
		else if (flags & RENAME_NOREPLACE)
			rc = -EEXIST;
		else if (S_ISDIR(src.mode) && !S_ISDIR(dst.mode))
			rc = -ENOTDIR;
		else if (!S_ISDIR(src.mode) && S_ISDIR(dst.mode))
			rc = -EISDIR;
		else if (S_ISDIR(dst.mode))
			rc = not_empty(s, dst.ino);
		if (!rc)
			rc = remove_name(s, &dst, newparent, newname, &last);
		if (!rc && S_ISREG(dst.mode) && last)
			gone = dst.ino;
		meta_entry_release(&dst);
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	if (!rc)
		rc = add_jop(s, jop, parent, name, newparent, newname);
	if (!rc && src.alias)
		rc = meta_link_move(s->meta, parent, name, newparent, newname);
	else if (!rc)
		rc = meta_move(s->meta, src.ino, newparent, newname);
	/* as a local file system: the entry moved changes, and both
	 * directories */
	if (!rc)
		rc = meta_touch(s->meta, src.ino, META_TIME_NONE, now);
	if (!rc)
		rc = touch_dir(s, parent, now);
	if (!rc && newparent != parent)
		rc = touch_dir(s, newparent, now);
	/* cached paths below the moved entry are stale now */
	__atomic_add_fetch(&s->rename_gen, 1, __ATOMIC_RELEASE);
	meta_entry_release(&src);
	if (rc)
		goto out_rollback;
	rc = meta_commit(s->meta);
	if (!rc && jop)
		crash_point("journal-commit");
	goto out_unlock;
out_rollback:
	meta_rollback(s->meta);
	if (rc == 1)
		rc = 0;
	gone = 0;
out_unlock:
	pthread_mutex_unlock(&s->nodes_lock);
	if (gone)
		store_let_go_orphan(s, gone);
	return rc;
}

int store_conflict(struct store *s, const struct jop *op, const char *path,
		   const char *cpath, struct meta_entry *theirs,
		   uint64_t *parent)
{
	const char *cname = strrchr(cpath, '/');
	bool upload = op->kind == JOP_UPLOAD, gone;
	struct meta_entry e, other;
	char *now = NULL;
	struct node *n;
	int rc;

	cname = cname ? cname + 1 : cpath;
	*parent = 0;
	pthread_mutex_lock(&s->nodes_lock);
	rc = meta_begin(s->meta);
	if (rc)
		goto out_unlock;
	rc = meta_get(s->meta, op->ino, &e);
	gone = rc == -ENOENT || (!rc && e.parent == 0);
	if (gone) {
		/* deleted here since: only its ops go to the new name (its
		 * unlink removes the conflict copy, never theirs) */
		if (!rc)
			meta_entry_release(&e);
		meta_entry_init(&e);
		rc = 0;
	}
	if (rc)
		goto out_rollback;
	if (!gone)
		rc = meta_path(s->meta, op->ino, &now);
	if (!rc && !gone && upload) {
		/* a file never uploaded: its data is all its own */
		e.etag[0] = '\0';
		e.base = 0;
		rc = meta_update(s->meta, &e);
	}
	if (!rc && !gone && strcmp(now, path) == 0) {
		/* where it still has the name, the remote's version takes
		 * it; a file renamed since only goes up under a new one */
		rc = meta_lookup(s->meta, e.parent, cname, &other);
		if (!rc) {
			meta_entry_release(&other);
			rc = -EEXIST;
		} else if (rc == -ENOENT) {
			rc = meta_move(s->meta, op->ino, e.parent, cname);
		}
		if (!rc) {
			theirs->parent = e.parent;
			rc = meta_insert(s->meta, theirs);
		}
		if (!rc)
			*parent = e.parent;
	}
	/* a rename goes to the new name (the op itself first: it names
	 * the old one as its target) */
	if (!rc && !upload)
		rc = meta_journal_set_target(s->meta, op->seq, cpath);
	if (!rc)
		rc = meta_journal_repath(s->meta, op->seq + !upload, op->ino,
					 path, cpath);
	__atomic_add_fetch(&s->rename_gen, 1, __ATOMIC_RELEASE);
	meta_entry_release(&e);
	free(now);
	if (rc)
		goto out_rollback;
	rc = meta_commit(s->meta);
	/* under nodes_lock: the node cannot go meanwhile */
	n = !rc && upload && !gone ? lookup_node(s, op->ino) : NULL;
	if (n) {
		store_node_lock(n);
		n->etag[0] = '\0';
		n->base = 0;
		store_node_unlock(n);
	}
	goto out_unlock;
out_rollback:
	meta_rollback(s->meta);
	*parent = 0;
out_unlock:
	pthread_mutex_unlock(&s->nodes_lock);
	return rc;
}

/* Truncates or extends n to size; under n->lock. */
static int resize_node(struct node *n, uint64_t size)
{
	store_node_assert_locked(n);
	if (size < n->base)
		store_node_quiesce(n);
	if (ftruncate(n->fd, (off_t)size) < 0)
		return -errno;
	if (size < n->base) {
		n->base = size;
		rangeset_remove(&n->present, size, UINT64_MAX);
		n->extents_unsaved = true;
		n->extents_gen++;
	}
	n->size = size;
	n->dirty = true;
	n->write_gen++;
	return 0;
}

/*
 * Queues, after a setattr of entry e, the links that give each of its
 * extra names (hard links) the metadata set: the setattr reaches the
 * object at its own name, and on a remote that keeps a copy for each
 * name (S3) the others are objects of their own. A file not on the
 * remote yet is left to its upload, which links every name after it,
 * unless that upload was queued already, before this setattr and before
 * names made since: then the links come now, after it. In the caller's
 * transaction.
 */
static int add_setattr_links(struct store *s, const struct meta_entry *e)
{
	char **paths, *path;
	size_t n, i;
	int rc;

	if (S_ISDIR(e->mode) || e->nlink <= 1)
		return 0;
	if (S_ISREG(e->mode) && (e->dirty || !*e->etag) &&
	    !meta_journal_has_upload_after(s->meta, e->ino, 0))
		return 0;
	rc = meta_link_paths(s->meta, e->ino, &paths, &n);
	if (rc)
		return rc;
	rc = path_at(s, e->ino, NULL, &path);
	for (i = 0; i < n; i++) {
		struct jop op = { .kind = JOP_LINK, .ino = e->ino };

		op.path = path;
		op.path2 = paths[i];
		if (!rc)
			rc = meta_journal_add(s->meta, &op);
		free(paths[i]);
	}
	free(paths);
	free(path);
	return rc;
}

int store_setattr(struct store *s, uint64_t ino, const struct stat *attr,
		  int to_set, const struct jop *jop, struct meta_entry *out)
{
	bool set_mtime = to_set & (STORE_SET_MTIME | STORE_SET_MTIME_NOW);
	int64_t now = util_now_ns(), mtime = now, old_mtime = 0;
	uint64_t size = 0, base = 0, old_size = 0, gen = 0;
	struct node *n = NULL;
	struct meta_entry e;
	bool dirty = false, table_locked = false;
	int rc;

	if (to_set & STORE_SET_MTIME)
		mtime = util_ts_ns(&attr->st_mtim);
	if (!s->keep_owners &&
	    (((to_set & STORE_SET_UID) && attr->st_uid != s->uid) ||
	     ((to_set & STORE_SET_GID) && attr->st_gid != s->gid)))
		return -EPERM;
	if (to_set & STORE_SET_SIZE) {
		rc = store_node_get(s, ino, &n);
		if (rc)
			return rc;
		if (store_is_copy(n)) {
			rc = store_node_materialize(s, n, -1);
			if (rc)
				goto out_put;
			store_forget_clone(s, n);
		}
		store_node_lock(n);
		store_fast_settle_locked(n, false);
		old_size = n->size;
		old_mtime = n->mtime_ns;
		rc = resize_node(n, (uint64_t)attr->st_size);
		if (!rc)
			n->mtime_ns = now;
		gen = n->write_gen;
		store_fast_settle_locked(n, true);
		store_node_unlock(n);
		if (!rc)
			rc = store_node_commit(s, n);
		if (rc) {
			/* not recorded (a full disk): a file grown goes back to
			 * its size, so that the error the caller gets is true
			 * (a shrink cannot be undone; the next commit has it) */
			store_node_lock(n);
			if (n->write_gen == gen && n->size > old_size &&
			    ftruncate(n->fd, (off_t)old_size) == 0) {
				n->size = old_size;
				n->mtime_ns = old_mtime;
			}
			store_node_unlock(n);
			goto out_put;
		}
	} else {
		/* a loaded file keeps its own times. With none loaded, the
		 * table stays locked until the row is written: a node loaded
		 * in between (an upload's) would hold the row's old times
		 * and write them back at its next commit, after the journal
		 * gave the remote the new ones */
		pthread_mutex_lock(&s->nodes_lock);
		n = lookup_node(s, ino);
		if (n) {
			store_node_ref(n);
			pthread_mutex_unlock(&s->nodes_lock);
		}
		table_locked = !n;
	}
	pause_point("setattr-row", NULL);
	/* the node first: the database lock is the innermost */
	if (n) {
		store_node_lock(n);
		store_fast_settle_locked(n, false);
		if (set_mtime)
			n->mtime_ns = mtime;
		else
			mtime = n->mtime_ns;	/* its last write's */
		n->ctime_ns = now;
		store_fast_settle_locked(n, true);
		size = n->size;
		base = n->base;
		dirty = n->dirty;
		store_node_unlock(n);
	}
	rc = meta_begin(s->meta);
	if (rc)
		goto out_put;
	rc = meta_get(s->meta, ino, &e);
	if (rc) {
		meta_rollback(s->meta);
		goto out_put;
	}
	if (to_set & STORE_SET_MODE)
		e.mode = (e.mode & S_IFMT) | (attr->st_mode & 07777);
	if ((to_set & STORE_SET_UID) && s->keep_owners)
		e.uid = (uint32_t)attr->st_uid;
	if ((to_set & STORE_SET_GID) && s->keep_owners)
		e.gid = (uint32_t)attr->st_gid;
	if (to_set & STORE_SET_ATIME)
		e.uatime_ns = util_ts_ns(&attr->st_atim);
	else if (to_set & STORE_SET_ATIME_NOW)
		e.uatime_ns = now;
	if (set_mtime || n)
		e.mtime_ns = mtime;
	e.ctime_ns = now;
	if (n) {
		e.size = size;
		e.base = base;
		e.dirty = dirty;
	}
	rc = meta_update(s->meta, &e);
	if (!rc)
		rc = add_jop(s, jop, ino, NULL, 0, NULL);
	if (!rc && jop)
		rc = add_setattr_links(s, &e);
	if (rc) {
		meta_rollback(s->meta);
		meta_entry_release(&e);
		goto out_put;
	}
	rc = meta_commit(s->meta);
	if (!rc)
		*out = e;
	else
		meta_entry_release(&e);
out_put:
	if (table_locked)
		pthread_mutex_unlock(&s->nodes_lock);
	if (n)
		store_node_put(s, n);
	return rc;
}

ssize_t store_read(struct store *s, struct node *n, void *buf, size_t len,
		   uint64_t off)
{
	uint64_t epoch;
	ssize_t got;
	bool here;

	/* the data may have been dropped (free, eviction, a remote change)
	 * between the caller's hydration and here: never read a hole as
	 * if it were the file's bytes */
	store_node_lock(n);
	if (n->bk && off < n->bk->len) {
		/* a copy's bytes are its source's until stored or uploaded;
		 * read under the lock, so the backing cannot end meanwhile */
		got = pread(n->bk->fd, buf, CD_MIN(len, n->bk->len - off),
			    (off_t)off);
		if (got < 0)
			got = -errno;
		store_node_unlock(n);
		return got;
	}
	if (n->clone_lost) {
		/* the bytes written are nowhere: no read may pass off other
		 * bytes as them */
		store_node_unlock(n);
		return -EIO;
	}
	here = store_node_has(n, off, len);
	epoch = n->fetch_epoch;
	store_node_unlock(n);
	if (!here)
		return -ESTALE;
	got = pread(n->fd, buf, len, (off_t)off);
	store_node_lock(n);
	if (n->fetch_epoch != epoch && !store_node_has(n, off, len))
		got = -ESTALE;
	store_node_unlock(n);
	if (got == -ESTALE)
		return got;
	if (got < 0) {
		got = -errno;
		log_error("cache of inode %llu: read at %llu: %s",
			  (unsigned long long)n->ino, (unsigned long long)off,
			  strerror(errno));
	}
	return got;
}

/* Records a change of n's data ending at end; under n->lock. Returns
 * whether n was clean before (its dirty mark must then be committed). */
bool store_note_write(struct node *n, uint64_t end)
{
	bool first = !n->dirty;

	store_node_assert_locked(n);
	n->size = CD_MAX(n->size, end);
	n->mtime_ns = n->ctime_ns = util_now_ns();
	n->write_gen++;
	n->dirty = true;
	n->error = false;
	return first;
}

/*
 * Writes [off, off+len) of buf into fd as far as it goes: the bytes
 * written (a prefix of them), and *err the error that stopped it, or 0.
 */
static size_t pwrite_some(int fd, const void *buf, size_t len, uint64_t off,
			  int *err)
{
	const char *p = buf;
	size_t done = 0;

	*err = 0;
	while (done < len) {
		ssize_t w = pwrite(fd, p + done, len - done,
				   (off_t)(off + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}
	return done;
}

ssize_t store_write(struct store *s, struct node *n, const void *buf,
		    size_t len, uint64_t off)
{
	size_t done;
	bool first;
	int rc;

	if (store_is_copy(n)) {
		rc = store_node_materialize(s, n, -1);
		if (rc)
			return rc;
		store_forget_clone(s, n);
	}
	/*
	 * The dirty mark of a clean file is recorded before its bytes land
	 * in the cache: a crash between the two would leave new bytes there
	 * under a clean entry, shown by the mount and never uploaded. (A
	 * write that then fails leaves a file uploaded once more as it is.)
	 */
	store_node_lock(n);
	first = !n->dirty;
	if (first) {
		n->dirty = true;
		n->write_gen++;
	}
	store_node_unlock(n);
	if (first) {
		rc = store_node_commit(s, n);
		if (rc)
			return rc;
	}
	store_node_lock(n);
	done = pwrite_some(n->fd, buf, len, off, &rc);
	crash_point("write-landed");
	if (rc && rc != -ENOSPC && rc != -EDQUOT)
		log_error("cache of inode %llu: write at %llu: %s",
			  (unsigned long long)n->ino,
			  (unsigned long long)(off + done), strerror(-rc));
	if (!done) {
		/* a failed write may have extended the file: undo it, under
		 * the lock that keeps n->size (a write beside it changes it) */
		if (ftruncate(n->fd, (off_t)n->size) < 0) {
			/* the size is recorded in n->size anyway */
		}
		store_node_unlock(n);
		return rc;
	}
	/* a write cut short is a short write: the bytes it wrote are the
	 * file's (a failure would leave them there, unsaid) */
	store_note_write(n, off + done);
	store_node_unlock(n);
	return (ssize_t)done;
}

int store_fsync(struct store *s, struct node *n, bool datasync)
{
	int rc;

	if ((datasync ? fdatasync(n->fd) : fsync(n->fd)) < 0) {
		rc = -errno;
		log_error("cache of inode %llu: fsync: %s",
			  (unsigned long long)n->ino, strerror(errno));
		return rc;
	}
	rc = store_node_save(s, n);
	if (!rc)
		rc = store_node_commit(s, n);
	if (!rc)
		rc = meta_sync(s->meta);
	return rc;
}

static int drop_orphan(void *arg, uint64_t ino)
{
	struct store *s = arg;

	log_info("removing inode %llu, unlinked while open before a crash",
		 (unsigned long long)ino);
	cache_file_remove(s->cache, ino);
	return meta_delete(s->meta, ino, drop_cache_file, s);
}

int store_recover(struct store *s)
{
	return meta_foreach_orphan(s->meta, drop_orphan, s);
}
