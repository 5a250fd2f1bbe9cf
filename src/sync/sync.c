/*
 * The sync engine: a journal worker and a poller, one thread each.
 *
 * Journal. Every change the remote must learn is a row of the journal,
 * committed in the same transaction as the local change (see store.h), so
 * a crash loses none. The worker takes the oldest row, performs it, and
 * deletes it; the remote therefore sees changes in the order they were
 * made. Paths are recorded when an op is queued, which is what makes the
 * order right: an upload queued before a rename uploads to the old name,
 * and the rename then moves it. A transient failure (remote unreachable,
 * I/O error, remote disk full) leaves the row in place and retries after
 * an exponential backoff with jitter, blocking the rows behind it; a
 * permanent one (permission, invalid name) is logged with the path and
 * the cause, marks the entry as in error, and is dropped, counted for
 * status and for the next sync to report (sync_take_dropped).
 *
 * Uploads read the cache file (fetching first what is not hydrated) and
 * hand it to remote_put(), which publishes atomically. If the file was
 * written meanwhile (write_gen moved), it stays dirty; its next close
 * queues another upload.
 *
 * Poller. Each interval, if the journal is empty (local changes not yet
 * on the remote would look like remote changes), every directory that
 * has been listed is listed again and reconciled: new names are added,
 * changed files get their cached data dropped, names gone from the remote
 * are removed unless they hold local changes. A listing that fails or a
 * remote that is down changes nothing.
 *
 * Listing ahead. A directory listed for the first time queues the first
 * listings of its subdirectories, and theirs a level further down, for
 * the ahead worker: a program walking a tree (find, du, a file manager)
 * finds the next directories listed by the time it opens them. First
 * listings of different directories run at once (a request never waits
 * for the worker's listing of another directory); a poll's listing runs
 * alone. How far ahead depends on what a listing costs: a local remote
 * goes two levels down and up to AHEAD_WIDTH_CHEAP subdirectories a
 * listing; a remote that charges by request (S3) one level, the first
 * AHEAD_WIDTH of them. Up to AHEAD_THREADS workers list at once (a
 * listing waits on the remote or the disk as much as it works), one on a
 * machine of two CPUs or fewer, where a second would take the CPU the
 * programs using the drive need; none starts a listing while a request
 * waits for one. The queue is bounded, dropped
 * on a remote error, and the workers stop with the others.
 */
#include "common.h"

#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/sync.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/crash.h"
#include "util/util.h"

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 30000
#define RECONCILE_BATCH 512
#define DROPPED_KEEP 16			/* descriptions of ops given up kept */
#define REFRESH_MAX (1u << 20)		/* entries waiting for metadata */
#define AHEAD_MAX 4096			/* directories waiting to be listed
					   ahead; more are not listed ahead */
#define AHEAD_DEPTH_CHEAP 2		/* levels listed ahead: local remote */
#define AHEAD_WIDTH_CHEAP 256		/* subdirectories of one listing */
#define AHEAD_DEPTH 1			/* the same where requests cost */
#define AHEAD_WIDTH 8
#define AHEAD_THREADS 2			/* listing ahead at once, at most */

/* A directory to list ahead, and the levels below it to list after. */
struct ahead {
	uint64_t ino;
	int depth;
};

/* An entry a listing brought in, as it brought it in. */
struct refresh {
	uint64_t ino;
	int64_t mtime_ns;		/* its mtime and ctime then */
};

struct sync {
	struct store *store;
	struct meta *meta;
	struct remote *remote;
	struct fetcher *fetcher;
	struct stats *stats;
	struct xfers *xfers;
	struct sync_config cfg;
	struct sync_notify notify;
	pthread_mutex_t lock;		/* protects the fields below */
	pthread_cond_t cond;		/* kicks, idle, stop */
	bool stop;			/* the saver stops (after draining) */
	bool stop_workers;		/* journal worker and poller stop */
	bool saver_only;		/* workers stopped, saver still runs */
	bool kicked;			/* journal has new work */
	bool refresh;			/* poll now */
	uint64_t polls_started;		/* poll_once() calls begun */
	uint64_t polls_ended;		/* and ended */
	bool busy;			/* worker is performing an op */
	int closing;			/* writers closed, not released yet */
	bool requeue;			/* an upload could not be queued: the
					   worker queues those of every dirty
					   file that has none, when it can */
	int hurry;			/* waiters: skip debounce delays */
	uint64_t poll_jgen;		/* the poller's: meta_journal_gen()
					   when its poll began, the journal
					   empty */
	/* first listings (read) run at once, a poll's listing (write)
	 * alone */
	pthread_rwlock_t list_lock;
	/* directories in their first listing, one lister each; under
	 * lock, listed_cond tells when one is done */
	uint64_t *listing;
	size_t nlisting, listing_cap;
	pthread_cond_t listed_cond;
	/* the ahead worker's queue, a ring of AHEAD_MAX: ahead_n items
	 * from ahead_head; under lock */
	struct ahead *ahead_q;
	size_t ahead_head, ahead_n;
	int ahead_depth;		/* levels below a listing listed ahead */
	int ahead_width;		/* subdirectories of one listing */
	int demand_listings;		/* requests waiting for a first
					   listing, under lock: no listing
					   ahead starts meanwhile */
	pthread_t ahead_threads[AHEAD_THREADS];
	int nahead_threads;
	pthread_t journal_thread;
	pthread_t poll_thread;
	pthread_t save_thread;
	pthread_t refresh_thread;
	/* entries a listing could not see the metadata of (approx), to be
	 * asked about (stat: HEAD) after it, by the refresher; under lock:
	 * [refresh_head, refresh_n) of refresh_q are to do */
	struct refresh *refresh_q;
	size_t refresh_head, refresh_n, refresh_cap;
	bool refresh_full_told;
	struct saving *saves;		/* nodes to save; under lock */
	struct saving *save_retry;	/* those the database could not
					   record, and when to try again
					   (wall-clock ns); under lock */
	int64_t save_retry_at;
	bool saver_busy;		/* the saver saves one it took */
	bool started;
	/* ops given up for a permanent error, under lock: how many since
	 * the start, how many sync_take_dropped() has told of, and the
	 * last DROPPED_KEEP of them ("op path: error"), a ring */
	uint64_t dropped;
	uint64_t dropped_told;
	char *dropped_what[DROPPED_KEEP];
};

/* How long the saver waits before it tries again to save nodes the
 * database could not record. */
#define SAVE_RETRY_NS 500000000LL

/* A node whose last reference waits for its state to be saved. */
struct saving {
	struct saving *next;
	struct node *n;
	bool retried;		/* its save failed once */
};

struct sync *sync_new(struct store *s, struct remote *r, struct fetcher *f,
		      struct stats *st, struct xfers *x,
		      const struct sync_config *cfg)
{
	struct sync *y = xcalloc(1, sizeof(*y));

	y->xfers = x;
	y->store = s;
	y->meta = s->meta;
	y->remote = r;
	y->fetcher = f;
	y->stats = st;
	y->cfg = *cfg;
	pthread_mutex_init(&y->lock, NULL);
	pthread_cond_init(&y->cond, NULL);
	pthread_rwlock_init(&y->list_lock, NULL);
	pthread_cond_init(&y->listed_cond, NULL);
	y->ahead_q = xcalloc(AHEAD_MAX, sizeof(*y->ahead_q));
	if (remote_has(r, REMOTE_CAP_LIST_CHEAP)) {
		y->ahead_depth = AHEAD_DEPTH_CHEAP;
		y->ahead_width = AHEAD_WIDTH_CHEAP;
	} else {
		y->ahead_depth = AHEAD_DEPTH;
		y->ahead_width = AHEAD_WIDTH;
	}
	return y;
}

int sync_path(struct sync *y, uint64_t ino, char **path)
{
	return meta_path(y->meta, ino, path);
}

void sync_changed(struct sync *y, uint64_t ino, bool data)
{
	/* set once at start, before anything that calls this runs */
	if (y->notify.inode)
		y->notify.inode(y->notify.arg, ino, data);
}

void sync_changed_entry(struct sync *y, uint64_t parent, const char *name)
{
	if (y->notify.entry)
		y->notify.entry(y->notify.arg, parent, name);
}

void sync_closing(struct sync *y, int delta)
{
	pthread_mutex_lock(&y->lock);
	y->closing += delta;
	if (y->closing <= 0) {
		y->closing = 0;
		pthread_cond_broadcast(&y->cond);
	}
	pthread_mutex_unlock(&y->lock);
}

void sync_kick(struct sync *y)
{
	pthread_mutex_lock(&y->lock);
	y->kicked = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
}

void sync_refresh(struct sync *y)
{
	pthread_mutex_lock(&y->lock);
	y->refresh = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
}

/*
 * Queues, after an upload of ino (from path), the links that give each
 * of its other names (hard links) the bytes uploaded: on the remote each
 * name is a path of its own (a link, or a copy where the remote has no
 * links), which the upload of the first replaces alone. In the caller's
 * transaction, with the paths of the moment, as the upload's.
 */
static int add_relinks(struct sync *y, uint64_t ino, const char *path)
{
	char **paths;
	size_t n, i;
	int rc;

	rc = meta_link_paths(y->meta, ino, &paths, &n);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		struct jop op = { .kind = JOP_LINK, .ino = ino };

		op.path = (char *)path;
		op.path2 = paths[i];
		if (!rc)
			rc = meta_journal_add(y->meta, &op);
		free(paths[i]);
	}
	free(paths);
	return rc;
}

static int add_upload(struct sync *y, uint64_t ino)
{
	struct jop op = { .kind = JOP_UPLOAD, .ino = ino };
	struct meta_entry e;
	int rc;

	/* the path and the op in one transaction: a rename committed in
	 * between would leave the upload aimed at the old name, after the
	 * rename that moves it */
	rc = meta_begin(y->meta);
	if (rc)
		return rc;
	rc = meta_path(y->meta, ino, &op.path);
	if (rc) {
		meta_rollback(y->meta);
		return rc == -ENOENT ? 0 : rc;	/* unlinked meanwhile */
	}
	op.not_before = util_now_ns() +
			(int64_t)y->cfg.upload_delay_ms * 1000000;
	rc = meta_journal_add(y->meta, &op);
	if (!rc)
		rc = add_relinks(y, ino, op.path);
	/* a backend that publishes by renaming into the directory changes
	 * its mtime there: it gets the mtime here again after */
	if (!rc && meta_get(y->meta, ino, &e) == 0) {
		if (e.parent)
			rc = meta_journal_dirtime(y->meta, e.parent);
		meta_entry_release(&e);
	}
	if (rc)
		meta_rollback(y->meta);
	else
		rc = meta_commit(y->meta);
	free(op.path);
	return rc;
}

int sync_queue_upload(struct sync *y, uint64_t ino)
{
	int rc = add_upload(y, ino);

	if (rc) {
		/* the database is full or failing: the worker queues it
		 * again when it can, and sync waits for that */
		pthread_mutex_lock(&y->lock);
		y->requeue = true;
		pthread_mutex_unlock(&y->lock);
	}
	sync_kick(y);
	return rc;
}

static bool is_transient(int rc)
{
	switch (-rc) {
	case EHOSTDOWN:
	case EIO:
	case ETIMEDOUT:
	case ENOSPC:
	case EDQUOT:
	case EAGAIN:
	case EBUSY:
	case ECONNREFUSED:
	case ECONNRESET:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENOMEM:
	case ECANCELED:
		return true;
	default:
		return false;
	}
}

/* Marks entry ino as failed (or not), for the state xattr. */
static void set_error(struct sync *y, uint64_t ino, bool error)
{
	struct meta_entry e;
	struct node *n;

	if (!ino)
		return;
	n = store_node_find(y->store, ino);
	if (n) {
		store_node_set_error(n, error);
		store_node_put(y->store, n);
	}
	if (meta_get(y->meta, ino, &e))
		return;
	if (e.error != error && meta_set_error(y->meta, ino, error))
		log_warn("inode %llu: cannot record error state",
			 (unsigned long long)ino);
	meta_entry_release(&e);
}

/* The progress of an upload (bytes) or of a directory's rename (objects),
 * into its transfer; it stops when the workers do. */
struct op_progress {
	struct sync *y;
	struct xfer *xfer;
	uint64_t done;
};

static int op_progress(void *arg, uint64_t done, uint64_t total)
{
	struct op_progress *p = arg;
	bool stop;

	if (done > p->done) {
		xfer_add(p->xfer, done - p->done);
		p->done = done;
	}
	if (p->y->remote->read_delay_us)	/* tests: a slow remote */
		usleep(p->y->remote->read_delay_us);

	pthread_mutex_lock(&p->y->lock);
	stop = p->y->stop_workers;
	pthread_mutex_unlock(&p->y->lock);
	return stop;
}

/* After the upload of a copy whose data goes once uploaded: the cache
 * keeps none of it (the user has the original). */
static void drop_spooled(struct sync *y, struct node *n)
{
	uint64_t freed;

	if (!store_copy_drop_spooled(y->store, n, &freed))
		return;
	stats_add(y->stats, clone_freed_bytes, freed);
	sync_changed(y, store_node_ino(n), false);
}

/* The owner a says, where owners are kept and the remote has one. */
static void owner_from_remote(struct sync *y, struct meta_entry *e,
			      const struct remote_attr *a)
{
	if (!y->store->keep_owners)
		return;
	if (a->uid != REMOTE_OWNER_NONE)
		e->uid = a->uid;
	if (a->gid != REMOTE_OWNER_NONE)
		e->gid = a->gid;
}

/* Whether a says of e's owner something e does not record. */
static bool owner_differs(struct sync *y, const struct meta_entry *e,
			  const struct remote_attr *a)
{
	return y->store->keep_owners &&
	       ((a->uid != REMOTE_OWNER_NONE && a->uid != e->uid) ||
		(a->gid != REMOTE_OWNER_NONE && a->gid != e->gid));
}

static void entry_from_remote(struct sync *y, struct meta_entry *e,
			      const struct remote_attr *a)
{
	owner_from_remote(y, e, a);
	e->mode = a->mode;
	e->rdev = a->rdev;
	e->size = S_ISDIR(a->mode) ? 0 : a->size;
	e->mtime_ns = a->mtime_ns;
	e->ctime_ns = a->mtime_ns;
	snprintf(e->etag, sizeof(e->etag), "%s",
		 S_ISDIR(a->mode) ? "dir" : a->etag);
	e->base = e->size;
}

/*
 * The name a local version is kept under when the remote's changed too:
 * "NAME (conflict YYYY-MM-DD HHMMSS).EXT" beside path (" 2" and on after
 * the time for the nth try), the stem cut (at a character) so the name
 * stays within NAME_MAX. Caller frees.
 */
static char *conflict_path(const char *path, time_t when, int nth)
{
	const char *name = strrchr(path, '/'), *ext;
	char tag[64], num[16] = "";
	size_t dir, stem, room;
	struct tm tm;

	name = name ? name + 1 : path;
	dir = (size_t)(name - path);
	ext = strrchr(name, '.');
	if (!ext || ext == name || strlen(ext) > 16)
		ext = name + strlen(name);	/* no extension to keep */
	if (nth > 1)
		snprintf(num, sizeof(num), " %d", nth);
	localtime_r(&when, &tm);
	snprintf(tag, sizeof(tag), " (conflict %04d-%02d-%02d %02d%02d%02d%s)",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, num);
	stem = (size_t)(ext - name);
	room = META_NAME_MAX - strlen(tag) - strlen(ext);
	if (stem > room) {
		stem = room;
		while (stem > 0 && ((unsigned char)name[stem] & 0xc0) == 0x80)
			stem--;	/* not in the middle of a character */
	}
	return xasprintf("%.*s%.*s%s%s", (int)dir, path, (int)stem, name, tag,
			 ext);
}

/* perform()'s answer for an op that changed and must run again now. */
#define AGAIN 1

/* The last component of a remote path. */
static const char *last_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * The remote's object at path is not the version op was to replace (an
 * upload's: the version its data is based on, or none for a new file; a
 * rename's: the file it replaces here): another client wrote it. Nothing
 * is overwritten and nothing is lost: op's file goes up under a conflict
 * name beside it, and the name shows the remote's version, whatever its
 * type (store_conflict); a file deleted here since only has its ops sent
 * there. AGAIN, or a negative errno.
 */
static int keep_conflict(struct sync *y, const struct jop *op,
			 const char *path)
{
	struct remote_attr theirs, a;
	struct meta_entry e;
	time_t now = time(NULL);
	char *cpath = NULL, link[4096];
	uint64_t parent;
	int rc, nth;

	rc = remote_stat(y->remote, path, &theirs);
	if (rc == -ENOENT)
		return -EAGAIN;	/* gone again: the next attempt writes */
	if (rc)
		return rc;
	/* theirs may be a directory or a symlink: it takes the name all
	 * the same, and ours goes beside it */
	meta_entry_init(&e);
	entry_from_remote(y, &e, &theirs);
	snprintf(e.name, sizeof(e.name), "%s", last_name(path));
	if (S_ISLNK(theirs.mode)) {
		rc = remote_readlink(y->remote, path, link, sizeof(link));
		if (rc)	/* changed again: the next attempt looks again */
			return rc == -ENOENT || rc == -EINVAL ? -EAGAIN : rc;
		e.link = xstrdup(link);
		e.size = strlen(link);
	}
	rc = -EEXIST;
	for (nth = 1; nth <= 100 && rc == -EEXIST; nth++) {
		free(cpath);
		cpath = conflict_path(path, now, nth);
		rc = remote_stat(y->remote, cpath, &a);
		if (rc == 0)
			rc = -EEXIST;	/* taken on the remote */
		if (rc != -ENOENT)
			continue;
		e.ino = 0;
		crash_point("conflict-rename");
		rc = store_conflict(y->store, op, path, cpath, &e, &parent);
	}
	if (rc == -EEXIST)
		log_error("%s: changed on the remote while it was changed here, "
			  "and 100 conflict names are taken", path);
	if (rc) {
		meta_entry_release(&e);
		free(cpath);
		return rc;
	}
	stats_add(y->stats, conflicts, 1);
	log_warn("%s: changed on the remote while it was changed here; this "
		 "version is kept as \"%s\"", path, last_name(cpath));
	if (parent && y->notify.entry) {
		y->notify.entry(y->notify.arg, parent, e.name);
		y->notify.entry(y->notify.arg, parent, last_name(cpath));
	}
	meta_entry_release(&e);
	free(cpath);
	return AGAIN;
}

/* Where an upload of one file saves what lets it go on (remote.h). */
struct resume_at {
	struct sync *y;
	uint64_t ino;
	const char *path;
};

static int save_resume(void *arg, const char *state)
{
	struct resume_at *at = arg;

	return meta_upload_set(at->y->meta, at->ino, at->path, state);
}

/* Cleans away an upload of ino left to go on with, if any. */
static void abandon_upload(struct sync *y, uint64_t ino)
{
	char *path, *state;

	if (meta_upload_get(y->meta, ino, &path, &state))
		return;
	remote_abandon(y->remote, path, state);
	if (meta_upload_set(y->meta, ino, path, NULL))
		log_warn("%s: the state of its unfinished upload stays",
			 path);
	free(path);
	free(state);
}

/*
 * Whether the remote's object at path holds bytes [0, size) of fd and no
 * more; out gets its attributes then. Asked when a conditional upload
 * finds another version than the one it was based on: if that version
 * has our bytes, it is ours, not another client's.
 */
static bool same_on_remote(struct sync *y, const char *path, int fd,
			   uint64_t size, struct remote_attr *out)
{
	const size_t piece = 1 << 20;
	char *theirs, *ours;
	struct remote_attr a;
	uint64_t off;
	bool same;

	if (remote_stat(y->remote, path, &a) || !S_ISREG(a.mode) ||
	    a.size != size)
		return false;
	theirs = xmalloc(piece);
	ours = xmalloc(piece);
	same = true;
	for (off = 0; off < size && same; off += piece) {
		size_t len = (size_t)CD_MIN((uint64_t)piece, size - off);

		same = remote_read(y->remote, path, a.etag, theirs, len, off) ==
			       (ssize_t)len &&
		       pread(fd, ours, len, (off_t)off) == (ssize_t)len &&
		       memcmp(theirs, ours, len) == 0;
	}
	free(theirs);
	free(ours);
	if (same) {
		log_info("%s: the remote has this version already (an upload "
			 "whose outcome was not recorded)", path);
		*out = a;
	}
	return same;
}

/*
 * Whether the remote's object at path is the one an earlier upload try
 * of ours made (its size and mtime, recorded before the try); if so,
 * match (REMOTE_ETAG_MAX) gets its version.
 */
static bool tried_by_us(struct sync *y, const char *path, int64_t size,
			int64_t mtime_ns, char *match)
{
	struct remote_attr a;

	if (remote_stat(y->remote, path, &a) || !S_ISREG(a.mode) ||
	    a.size != (uint64_t)size || a.mtime_ns != mtime_ns || a.approx)
		return false;
	log_info("%s: the remote has an earlier upload of ours, whose outcome "
		 "a stop took; this one replaces it", path);
	snprintf(match, REMOTE_ETAG_MAX, "%s", a.etag);
	return true;
}

/*
 * The upload of n, a new file written as a copy of another file of the
 * drive and unchanged since (store_node_plan_copy), made by the remote as
 * a copy of that file's version: no bytes are sent. 1 if n is no such
 * copy or the remote could not make it (the source changed or moved
 * there meanwhile): its bytes are sent then.
 */
static int upload_by_copy(struct sync *y, struct node *n, const char *to,
			  const struct node_upload *up,
			  const struct remote_meta *rmeta,
			  struct remote_attr *out)
{
	char etag[REMOTE_ETAG_MAX], *from;
	struct node *src;
	uint64_t ino;
	int rc;

	if (!store_node_copy_plan(n, up->gen, &ino, etag))
		return 1;
	if (store_node_get(y->store, ino, &src))
		return 1;
	rc = store_node_remote_path(y->store, src, &from);
	store_node_put(y->store, src);
	if (rc)
		return 1;
	rc = remote_copy(y->remote, from, etag, to, rmeta, out);
	if (!rc && out->size != up->size)
		rc = -ESTALE;	/* never: the version is the bytes */
	if (rc) {
		log_debug("%s: a copy of %s, not made by the remote (%s); its "
			  "bytes are sent", to, from, strerror(-rc));
		free(from);
		return 1;
	}
	stats_add(y->stats, server_copies, 1);
	stats_add(y->stats, server_copied_bytes, up->size);
	log_debug("%s: made by the remote as a copy of %s", to, from);
	free(from);
	return 0;
}

/* Uploads the content of op->ino to op->path. */
static int do_upload(struct sync *y, const struct jop *op)
{
	struct op_progress prog = { y, NULL, 0 };
	struct resume_at at = { y, op->ino, op->path };
	struct remote_resume resume = { NULL, save_resume, &at };
	char match[REMOTE_ETAG_MAX], *saved = NULL, *saved_path = NULL;
	struct copy_upload cu = { 0 };
	struct remote_meta rmeta;
	struct remote_attr out;
	struct meta_entry e;
	int64_t tried_size, tried_mtime;
	struct node_upload up = { 0 };
	struct node_state st;
	bool keep_tried, copied = false;
	struct node *n;
	int rc, fd;

	if (meta_journal_has_upload_after(y->meta, op->ino, op->seq))
		return 0;	/* a later upload supersedes this one */
	rc = store_node_get(y->store, op->ino, &n);
	if (rc == -ENOENT) {
		abandon_upload(y, op->ino);
		return 0;	/* deleted since */
	}
	if (rc == -ENXIO)
		return 0;	/* a special file: its mknod made it */
	if (rc)
		return rc;
	pause_point("upload-loaded", op->path);
	rc = meta_get(y->meta, op->ino, &e);
	if (rc) {
		store_node_put(y->store, n);
		if (rc == -ENOENT)
			abandon_upload(y, op->ino);
		return rc == -ENOENT ? 0 : rc;
	}
	store_node_snapshot(n, &st);
	if (e.parent == 0 || !st.dirty || st.writers > 0) {
		/* unlinked, already clean, or a writer's close will requeue */
		if (e.parent == 0)
			abandon_upload(y, op->ino);
		rc = 0;
		goto out;
	}
	/* the parts never hydrated come from the version the remote has;
	 * recorded as here before the upload replaces that version, which
	 * after a crash could not be fetched again */
	rc = fetch_range(y->fetcher, n, op->path, 0, st.base, NULL);
	if (!rc)
		rc = store_node_save(y->store, n);
	if (rc)
		goto out;
	store_node_upload_begin(n, &up);
	snprintf(match, sizeof(match), "%s", up.match);
	fd = store_node_cache_fd(n);
	if (up.copy) {
		/* a copy of a local file: what goes up must be what the
		 * program wrote, from its source or from the cache */
		rc = store_copy_upload_begin(y->store, n, op->path, up.size,
					     &cu, &fd);
		if (rc == -EILSEQ)
			stats_add(y->stats, clone_errors, 1);
		if (rc)
			goto out_uploading;
	}
	prog.xfer = xfer_begin(y->xfers, XFER_UPLOAD, op->ino, op->path,
			       up.size, 0);
	/* an upload cut short goes on where it stopped, if it was to the
	 * same path (the remote checks that the bytes are the same) */
	if (meta_upload_get(y->meta, op->ino, &saved_path, &saved)) {
		saved_path = saved = NULL;
	} else if (strcmp(saved_path, op->path) != 0) {
		abandon_upload(y, op->ino);
		free(saved);
		saved = NULL;
	}
	resume.state = saved;
	/* what an earlier try left, then this try, recorded before it */
	if (meta_tried_get(y->meta, op->ino, &tried_size, &tried_mtime))
		tried_size = -1;
	/* an earlier try of ours got there and a stop took its record: it
	 * is the version this one replaces, and recorded as the file's
	 * before this try's record replaces the earlier one's (a stop
	 * before this try lands would leave it there, unrecognised) */
	keep_tried = false;
	if (tried_size >= 0 &&
	    tried_by_us(y, op->path, tried_size, tried_mtime, match)) {
		store_node_set_version(n, match);
		keep_tried = store_node_commit(y->store, n) != 0;
	}
	if (keep_tried ||
	    meta_tried_set(y->meta, op->ino, (int64_t)up.size, up.mtime_ns))
		log_warn("%s: its upload is not recorded before it is made; a "
			 "crash now may end in a conflict copy", op->path);
	/* only over the version the data is based on (or nothing, for a
	 * new file): another client's is never overwritten unseen */
	rmeta = store_remote_meta(y->store, &e);
	rmeta.mtime_ns = up.mtime_ns;
	/* a new file only: a copy is not conditional on what is there */
	rc = up.copy || *match ? 1 :
		upload_by_copy(y, n, op->path, &up, &rmeta, &out);
	copied = rc == 0;
	if (rc == 1)
		rc = remote_put(y->remote, op->path, fd, up.size, &rmeta,
				match, &resume, op_progress, &prog, &out);
	if (rc == -ENOENT && *match) {
		/* deleted on the remote meanwhile: the changes here win */
		rc = remote_put(y->remote, op->path, fd, up.size, &rmeta, "",
				&resume, op_progress, &prog, &out);
	}
	/* an upload of ours whose outcome was not recorded (a crash, a
	 * database that could not be written) left our version there */
	if (rc == -ESTALE && same_on_remote(y, op->path, fd, up.size, &out))
		rc = 0;
	free(saved_path);
	free(saved);
	xfer_end(y->xfers, prog.xfer);
	if (!rc)
		crash_point("upload-put");
	/* the source must not have changed while it was read */
	if (!rc && up.copy)
		rc = store_copy_upload_held(&cu);
	/* the file shrank under the upload (a truncate meanwhile): not an
	 * error of the remote's, the next try sends what it is now */
	if (rc == -ENODATA && !cu.bk && store_node_written_since(n, up.gen))
		rc = -EAGAIN;
out_uploading:
	store_node_upload_end(n, &up, rc, out.etag, cu.bk != NULL);
	if (!rc && meta_journal_rematch(y->meta, op->ino, out.etag))
		log_warn("%s: uploaded, but the renames over it still expect "
			 "the version before", op->path);
	if (!rc && up.copy)
		store_copy_uploaded(y->store, n, &cu, op->path);
	if (!rc) {
		if (!copied)
			stats_add(y->stats, uploaded_bytes, up.size);
		stats_add(y->stats, uploads_done, 1);
		log_debug("%s: uploaded %llu bytes%s", op->path,
			  (unsigned long long)up.size,
			  cu.bk ? " from the source of the copy" : "");
		if (store_node_save(y->store, n) ||
		    store_node_commit(y->store, n))
			log_warn("%s: uploaded, but its clean state was not "
				 "saved; it will be uploaded again", op->path);
		else if (meta_tried_set(y->meta, op->ino, -1, 0) == 0)
			drop_spooled(y, n);
	} else if (rc == -EILSEQ && store_node_commit(y->store, n)) {
		log_warn("%s: cannot record its error", op->path);
	} else if (rc == -ESTALE) {
		rc = keep_conflict(y, op, op->path);
	}
out:
	store_copy_upload_release(&cu);
	meta_entry_release(&e);
	/* a plan outlives a try that failed: the next one may use it */
	if (!rc)
		store_node_plan_end(y->store, n);
	store_node_put(y->store, n);
	return rc;
}

/*
 * Records the remote's new version of a file after an op that made one
 * of the same bytes (a setattr or a rename by copy): clean, it is the
 * version its data is; changed here, the version its next upload must
 * replace (else it would be taken for another client's). A file never
 * uploaded has none to change.
 */
static void adopt_etag(struct sync *y, uint64_t ino, const char *etag)
{
	struct meta_entry e;
	struct node *n;

	if (!ino)
		return;
	/* renames queued over the file expect this version now, even if
	 * one of them has replaced it here already */
	if (meta_journal_rematch(y->meta, ino, etag))
		log_warn("inode %llu: cannot record new version for the "
			 "renames over it", (unsigned long long)ino);
	if (meta_get(y->meta, ino, &e))
		return;
	/* a special file's version only tells a poll that it is ours */
	if (!S_ISREG(e.mode) && !meta_is_special(e.mode)) {
		meta_entry_release(&e);
		return;
	}
	n = S_ISREG(e.mode) ? store_node_find(y->store, ino) : NULL;
	if (n) {
		store_node_renew_version(n, etag);
		store_node_put(y->store, n);
	}
	if (strcmp(e.etag, etag) != 0 && e.etag[0]) {
		/* an upload that set another since has the last word */
		int rc = meta_set_etag(y->meta, ino, e.etag, etag);

		if (rc && rc != -ESTALE)
			log_warn("inode %llu: cannot record new version",
				 (unsigned long long)ino);
	}
	meta_entry_release(&e);
}

/* Whether rename op moves a regular file (or an extra name of one),
 * whose upload or link is to put it at the new name: not a symlink or
 * special file, made by ops of their own before the rename. */
static bool moved_file_to_come(struct sync *y, const struct jop *op)
{
	struct meta_entry e;
	bool file;

	if (op->arg & JOP_MOVES_FILE)
		return true;
	/* an op journaled before the flag was */
	if (!op->ino || meta_get(y->meta, op->ino, &e))
		return false;
	file = S_ISREG(e.mode);
	meta_entry_release(&e);
	return file;
}

/*
 * Whether file ino's data is not on the remote yet and no upload of it
 * runs: one comes after (queued, or at its writer's close) and brings
 * its metadata as it is then. Until then the object at its path is
 * another version, maybe another file's: one it was renamed over, which
 * on the local remote may be a hard link that other names share.
 * *unsent, if asked: the file has no version on the remote at all (all
 * its bytes are here).
 */
static bool awaits_upload(struct sync *y, uint64_t ino, bool *unsent)
{
	struct node_state st;
	struct meta_entry e;
	struct node *n;
	bool dirty;

	n = store_node_find(y->store, ino);
	if (n) {
		store_node_snapshot(n, &st);
		store_node_put(y->store, n);
		if (unsent)
			*unsent = !st.etag[0];
		/* a writer on the fast path marks a clean file dirty when it
		 * opens, whether it writes or not: the object at its path is
		 * its own version still, and an upload comes only if it
		 * writes (a setattr skipped for it would be lost) */
		return st.dirty && !st.uploading && !st.fast_clean;
	}
	if (meta_get(y->meta, ino, &e))
		return false;
	dirty = S_ISREG(e.mode) && e.dirty;
	if (unsent)
		*unsent = !e.etag[0];
	meta_entry_release(&e);
	return dirty;
}

/* Whether file ino has an upload to come and no version on the remote
 * yet: that upload puts all its bytes at whatever name it has then. */
static bool unsent_to_come(struct sync *y, uint64_t ino)
{
	bool unsent;

	return ino && awaits_upload(y, ino, &unsent) && unsent;
}

/*
 * A rename of a file (or an extra name of one) that never reached the
 * remote, over a file at path2 (replaced_still has checked it is still
 * the version replaced here, if it had one), while the moved file's
 * upload is to come: what the rename replaced goes now, as the rename
 * would have replaced it, and the upload later finds the name free.
 * Left there to be replaced by that upload, it could change meanwhile
 * by no other client's hand: on the local remote, the object of a name
 * of a file with other names is one inode with them, which a setattr or
 * a write of that file through another name changes; on S3, an extra
 * name promoted to the file's own name expects no object. With no
 * upload to come, or a version there already, a missing source is a
 * rename done before a stop, and what is at path2 is the moved file's
 * own object: left alone. 0 or -errno.
 */
static int free_replaced(struct sync *y, const struct jop *op)
{
	struct remote_attr a;
	int rc;

	rc = remote_stat(y->remote, op->path2, &a);
	if (rc || S_ISDIR(a.mode))
		return rc == -ENOENT ? 0 : rc;
	rc = remote_unlink(y->remote, op->path2);
	return rc == -ENOENT ? 0 : rc;
}

/*
 * A rename of a file never uploaded (its upload comes after the rename)
 * over a file at path2. A file with no version yet frees the name
 * (free_replaced). One with a version (uploaded once, written since)
 * has its upload replace what the rename replaced, the version op->match
 * names (for a file of ours uploaded meanwhile, whatever the remote has
 * there now), instead of expecting its own version there and taking
 * that for another client's. A symlink or a special file the rename
 * replaced goes from the remote now: it has no version an upload could
 * expect, and a later rename of the name would move it on as if it were
 * the file. 0 or -errno.
 */
static int adopt_replaced(struct sync *y, const struct jop *op)
{
	char etag[REMOTE_ETAG_MAX];
	struct remote_attr a;
	struct meta_entry e;
	struct node *n;
	int rc;

	if (!op->match || !op->path2)
		return 0;
	if (unsent_to_come(y, op->ino ? op->ino : op->moved))
		return free_replaced(y, op);
	snprintf(etag, sizeof(etag), "%s", op->match);
	if (!*etag) {
		if (remote_stat(y->remote, op->path2, &a))
			return 0;
		if (!S_ISREG(a.mode) && !S_ISDIR(a.mode)) {
			/* only when a file's upload is to come: a moved
			 * symlink or special file is missing at its old name
			 * because this rename was done before a stop, and
			 * what is at path2 is it */
			if (!moved_file_to_come(y, op))
				return 0;
			rc = remote_unlink(y->remote, op->path2);
			return rc == -ENOENT ? 0 : rc;
		}
		if (!S_ISREG(a.mode))
			return 0;
		snprintf(etag, sizeof(etag), "%s", a.etag);
	}
	if (!op->ino)
		return 0;	/* an extra name's object is the file's copy */
	n = store_node_find(y->store, op->ino);
	if (n) {
		store_node_replace_version(n, etag);
		store_node_put(y->store, n);
	}
	if (meta_get(y->meta, op->ino, &e))
		return 0;
	if (S_ISREG(e.mode)) {
		/* unless it was uploaded meanwhile */
		rc = meta_set_etag(y->meta, op->ino, "", etag);
		if (rc && rc != -ESTALE)
			log_warn("inode %llu: cannot record the version it "
				 "replaces", (unsigned long long)op->ino);
	}
	meta_entry_release(&e);
	return 0;
}

/*
 * Whether etag is the remote version the file ino has recorded here: at
 * a rename's turn, the ops before it are done, so that is the version
 * the rename moves.
 */
static bool recorded_version(struct sync *y, uint64_t ino, const char *etag)
{
	struct meta_entry e;
	bool same;

	if (!ino || !*etag || meta_get(y->meta, ino, &e))
		return false;
	same = S_ISREG(e.mode) && strcmp(e.etag, etag) == 0;
	meta_entry_release(&e);
	return same;
}

/*
 * Whether what a rename's target holds on the remote, a (no file), is
 * the entry the rename moves: one of its type, its source gone there.
 * The rename was done and a crash took its removal from the journal;
 * the retry finds no source and changes nothing.
 */
static bool moved_itself(struct sync *y, const struct jop *op,
			 const struct remote_attr *a)
{
	struct remote_attr src;
	struct meta_entry e;
	bool same;

	if (!op->ino || meta_get(y->meta, op->ino, &e))
		return false;
	same = (e.mode & S_IFMT) == (a->mode & S_IFMT);
	meta_entry_release(&e);
	return same && remote_stat(y->remote, op->path, &src) == -ENOENT;
}

/*
 * Whether the file a rename replaces is still the version it replaced
 * here (op->match), on the remote: 0 (or gone there: the rename makes
 * it again), -ESTALE if another client changed it. The moved file's own
 * version there is no other client's: the rename was done and a crash
 * took its removal from the journal (this try finds its source gone and
 * changes nothing). A HEAD before the rename: a change between the two
 * is not seen (S3 has no conditional rename or copy onto a key).
 * NEEDSWORK: a rename by copy that gave the file a new version (an S3
 * multipart copy) and a crash before adopt_etag() is taken for another
 * client's.
 */
static int replaced_still(struct sync *y, const struct jop *op)
{
	struct remote_attr a;
	int rc;

	if (!op->match || !*op->match || !op->path2)
		return 0;
	rc = remote_stat(y->remote, op->path2, &a);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (!S_ISREG(a.mode))
		return moved_itself(y, op, &a) ? 0 : -ESTALE;
	if (strcmp(a.etag, op->match) == 0 ||
	    recorded_version(y, op->ino, a.etag))
		return 0;
	return -ESTALE;
}

/*
 * Makes op's special file on the remote, with the mtime its entry has
 * now (a later change of it has an op of its own). A name taken there
 * (a try that a crash cut before its removal from the journal) is made
 * again. Where the remote may not hold it (a device node in a directory
 * of the local backend, not as root), it stays in the store only, which
 * is said once, here: the user's mknod succeeded, and nothing is lost
 * that the remote could have had. The version made is recorded, so that
 * a poll knows the object for the entry's.
 */
static int do_mknod(struct sync *y, const struct jop *op)
{
	uint32_t mode = (uint32_t)op->arg;
	uint64_t rdev = (uint64_t)op->arg2;
	struct remote_meta m = REMOTE_META(mode & 07777, util_now_ns());
	struct remote_attr out;
	struct meta_entry e;
	int rc;

	if (meta_get(y->meta, op->ino, &e) == 0) {
		m = store_remote_meta(y->store, &e);
		m.mode = mode & 07777;
		meta_entry_release(&e);
	}
	rc = remote_mknod(y->remote, op->path, mode, rdev, &m, &out);
	if (rc == -EEXIST) {
		rc = remote_unlink(y->remote, op->path);
		if (!rc)
			rc = remote_mknod(y->remote, op->path, mode, rdev, &m,
					  &out);
	}
	if (rc == -EPERM) {
		log_warn("%s: the remote %s cannot hold this special file "
			 "(%s); it is kept here only", op->path,
			 y->remote->spec, strerror(-rc));
		return 0;
	}
	if (!rc && out.etag[0]) {
		rc = meta_set_etag(y->meta, op->ino, "", out.etag);
		if (rc && rc != -ESTALE && rc != -ENOENT)
			log_warn("%s: cannot record its version", op->path);
		rc = 0;
	}
	return rc;
}

/*
 * What a mkdir or setattr gives the remote: mode and mtime as the op
 * recorded them, and the owner of its entry now (where owners are kept),
 * which a later chown of it journals again; a mkdir, the directory's
 * mtime now (a change in it since queues its own JOP_DIRTIME).
 */
static struct remote_meta op_meta(struct sync *y, const struct jop *op,
				  uint32_t mode, int64_t mtime_ns)
{
	struct remote_meta m = REMOTE_META(mode, mtime_ns);
	struct meta_entry e;

	if (op->ino && meta_get(y->meta, op->ino, &e) == 0) {
		struct remote_meta own = store_remote_meta(y->store, &e);

		m.uid = own.uid;
		m.gid = own.gid;
		if (op->kind == JOP_MKDIR)
			m.mtime_ns = own.mtime_ns;
		meta_entry_release(&e);
	}
	return m;
}

/* A directory's mtime, as it is here now, to the remote's directory. */
static int push_dirtime(struct sync *y, const struct jop *op)
{
	struct remote_meta m = REMOTE_META((uint32_t)-1, INT64_MIN);
	struct meta_entry e;
	int rc;

	if (meta_get(y->meta, op->ino, &e))
		return 0;	/* gone since: so is the remote's */
	if (S_ISDIR(e.mode))
		m.mtime_ns = e.mtime_ns;
	meta_entry_release(&e);
	if (m.mtime_ns == INT64_MIN)
		return 0;
	rc = remote_setattr(y->remote, op->path, &m, NULL);
	return rc == -ENOENT || rc == -ENOTDIR ? 0 : rc;
}

/*
 * A mkdir whose directory the remote has already: a try that a crash cut
 * after the directory was made and before its mode and owner were set
 * (the local remote makes it 0700 first), which a poll would then take
 * for the remote's word. The directory is the one made here: it gets the
 * mode, owner and mtime of the op. Anything else there is left alone.
 */
static int mkdir_again(struct sync *y, const struct jop *op,
		       const struct remote_meta *meta)
{
	struct remote_attr a;
	int rc;

	rc = remote_stat(y->remote, op->path, &a);
	if (rc || !S_ISDIR(a.mode))
		return rc == -ENOENT || !rc ? 0 : rc;
	rc = remote_setattr(y->remote, op->path, meta, NULL);
	return rc == -ENOENT ? 0 : rc;
}

/* Performs one journal op against the remote; 0 when it is done with. */
static int perform(struct sync *y, const struct jop *op)
{
	struct op_progress prog = { y, NULL, 0 };
	struct remote_meta meta;
	struct remote_attr out;
	int rc;

	switch (op->kind) {
	case JOP_UPLOAD:
		return do_upload(y, op);
	case JOP_MKDIR:
		meta = op_meta(y, op, (uint32_t)op->arg, INT64_MIN);
		rc = remote_mkdir(y->remote, op->path, &meta);
		if (rc == -EEXIST)
			rc = mkdir_again(y, op, &meta);
		return rc;
	case JOP_RMDIR:
		rc = remote_rmdir(y->remote, op->path);
		return rc == -ENOENT ? 0 : rc;
	case JOP_UNLINK:
		rc = remote_unlink(y->remote, op->path);
		return rc == -ENOENT ? 0 : rc;
	case JOP_RENAME:
		rc = replaced_still(y, op);
		if (rc == -ESTALE)
			return keep_conflict(y, op, op->path2);
		if (rc)
			return rc;
		prog.xfer = xfer_begin(y->xfers, XFER_RENAME, op->ino,
				       op->path, 0, 0);
		rc = remote_rename(y->remote, op->path, op->path2,
				   (unsigned)(op->arg & ~JOP_MOVES_FILE),
				   out.etag, op_progress,
				   &prog);
		xfer_end(y->xfers, prog.xfer);
		/* a rename by copy can give the file a new version */
		if (!rc && out.etag[0])
			adopt_etag(y, op->ino, out.etag);
		/* a source that never reached the remote: the upload queued
		 * after this rename creates it under the new name, over
		 * what the rename replaced */
		if (rc == -ENOENT)
			rc = adopt_replaced(y, op);
		return rc;
	case JOP_SYMLINK:
		rc = remote_symlink(y->remote, op->path2, op->path);
		if (rc == -EEXIST) {
			rc = remote_unlink(y->remote, op->path);
			if (!rc)
				rc = remote_symlink(y->remote, op->path2,
						    op->path);
		}
		/* its version, by which a listing that cannot tell a
		 * symlink (S3's) knows it for the entry's */
		if (!rc && remote_stat(y->remote, op->path, &out) == 0 &&
		    out.etag[0] &&
		    meta_set_etag(y->meta, op->ino, "", out.etag) == -EIO)
			log_warn("%s: cannot record its version", op->path);
		return rc;
	case JOP_DIRTIME:
		return push_dirtime(y, op);
	case JOP_SETATTR:
		pause_point("journal-setattr", op->path);
		if (op->ino && awaits_upload(y, op->ino, NULL))
			return 0;
		meta = op_meta(y, op, (uint32_t)op->arg, op->arg2);
		rc = remote_setattr(y->remote, op->path, &meta, &out);
		if (!rc)
			adopt_etag(y, op->ino, out.etag);
		return rc == -ENOENT ? 0 : rc;
	case JOP_LINK:
		/* unconditional: an extra name's object is the drive's own
		 * copy of the file. A file not on the remote yet has its
		 * upload queued after, and the links after that. */
		rc = remote_link(y->remote, op->path, op->path2);
		return rc == -ENOENT ? 0 : rc;
	case JOP_MKNOD:
		return do_mknod(y, op);
	}
	log_error("journal: unknown operation %d on %s dropped", op->kind,
		  op->path);
	return 0;
}

const char *sync_op_name(enum jop_kind k)
{
	static const char *const names[] = {
		[JOP_UPLOAD] = "upload", [JOP_MKDIR] = "mkdir",
		[JOP_RMDIR] = "rmdir", [JOP_UNLINK] = "unlink",
		[JOP_RENAME] = "rename", [JOP_SYMLINK] = "symlink",
		[JOP_SETATTR] = "setattr", [JOP_DIRTIME] = "dirtime",
		[JOP_LINK] = "link", [JOP_MKNOD] = "mknod",
	};

	return k >= JOP_UPLOAD && k <= JOP_MKNOD ? names[k] : "?";
}

/* Notes op as given up with error rc, for sync_take_dropped(). */
static void note_dropped(struct sync *y, const struct jop *op, int rc)
{
	bool two = op->path2 &&
		   (op->kind == JOP_RENAME || op->kind == JOP_LINK);
	char *what = xasprintf("%s %s%s%s: %s", sync_op_name(op->kind),
			       *op->path ? op->path : "/", two ? " -> " : "",
			       two ? op->path2 : "", strerror(-rc));
	char **slot;

	pthread_mutex_lock(&y->lock);
	slot = &y->dropped_what[y->dropped % DROPPED_KEEP];
	free(*slot);
	*slot = what;
	y->dropped++;
	pthread_mutex_unlock(&y->lock);
}

uint64_t sync_dropped(struct sync *y)
{
	uint64_t n;

	pthread_mutex_lock(&y->lock);
	n = y->dropped;
	pthread_mutex_unlock(&y->lock);
	return n;
}

uint64_t sync_take_dropped(struct sync *y, char **report)
{
	uint64_t n, i, from;
	size_t len = 0;
	char *out = NULL;
	FILE *f;

	pthread_mutex_lock(&y->lock);
	n = y->dropped - y->dropped_told;
	y->dropped_told = y->dropped;
	if (n) {
		f = open_memstream(&out, &len);
		if (!f)
			abort();
		from = y->dropped - CD_MIN(n, (uint64_t)DROPPED_KEEP);
		if (from > y->dropped - n)
			fprintf(f, "  (%llu more before, in the log)\n",
				(unsigned long long)(from - (y->dropped - n)));
		for (i = from; i < y->dropped; i++)
			fprintf(f, "  %s\n", y->dropped_what[i % DROPPED_KEEP]);
		fclose(f);
	}
	pthread_mutex_unlock(&y->lock);
	*report = out;
	return n;
}

static uint64_t backoff_ms(int attempts)
{
	uint64_t ms = RETRY_MIN_MS, jitter;

	while (attempts-- > 0 && ms < RETRY_MAX_MS)
		ms *= 2;
	ms = CD_MIN(ms, RETRY_MAX_MS);
	if (getrandom(&jitter, sizeof(jitter), 0) != sizeof(jitter))
		jitter = 0;
	return ms / 2 + jitter % (ms / 2 + 1);
}

/* Sleeps until deadline (wall-clock ns), a kick, or stop; under y->lock. */
static void wait_until(struct sync *y, int64_t deadline_ns)
{
	struct timespec ts;
	int64_t now = util_now_ns();

	if (deadline_ns <= now)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	deadline_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
		      (deadline_ns - now);
	ts.tv_sec = deadline_ns / 1000000000;
	ts.tv_nsec = deadline_ns % 1000000000;
	while (!y->stop_workers && !y->kicked &&
	       pthread_cond_timedwait(&y->cond, &y->lock, &ts) == 0)
		;
}

/*
 * The database could not record an op's outcome (a full disk, an I/O
 * error): waits, in memory, before the op is taken again, however often
 * something is queued meanwhile, so that a failing database never turns
 * the journal into a loop that redoes the op.
 */
static void hold_off(struct sync *y, int *failures)
{
	uint64_t ms = backoff_ms((*failures)++);
	struct timespec ts;
	int64_t deadline;

	clock_gettime(CLOCK_REALTIME, &ts);
	deadline = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
		   (int64_t)ms * 1000000;
	ts.tv_sec = deadline / 1000000000;
	ts.tv_nsec = deadline % 1000000000;
	pthread_mutex_lock(&y->lock);
	while (!y->stop_workers &&
	       pthread_cond_timedwait(&y->cond, &y->lock, &ts) == 0)
		;
	pthread_mutex_unlock(&y->lock);
}

static int requeue_dirty(struct sync *y, const char *why);

static void *journal_thread(void *arg)
{
	struct sync *y = arg;
	int db_failures = 0;
	bool requeue;

	for (;;) {
		struct jop op;
		int rc;

		pthread_mutex_lock(&y->lock);
		y->kicked = false;
		if (y->stop_workers) {
			pthread_mutex_unlock(&y->lock);
			break;
		}
		requeue = y->requeue;
		y->requeue = false;
		pthread_mutex_unlock(&y->lock);
		if (requeue && requeue_dirty(y, "queued again")) {
			pthread_mutex_lock(&y->lock);
			y->requeue = true;
			pthread_mutex_unlock(&y->lock);
			hold_off(y, &db_failures);
			continue;
		}

		rc = meta_journal_next(y->meta, &op);
		if (rc) {
			pthread_mutex_lock(&y->lock);
			y->busy = false;
			pthread_cond_broadcast(&y->cond);
			if (!y->kicked && !y->stop_workers)
				wait_until(y, util_now_ns() + 3600000000000LL);
			pthread_mutex_unlock(&y->lock);
			continue;
		}
		pthread_mutex_lock(&y->lock);
		if (op.not_before > util_now_ns() &&
		    !(y->hurry && op.attempts == 0)) {
			wait_until(y, op.not_before);
			pthread_mutex_unlock(&y->lock);
			jop_release(&op);
			continue;
		}
		y->busy = true;
		pthread_mutex_unlock(&y->lock);

		rc = perform(y, &op);
		if (rc == AGAIN) {
			/* rewritten: taken again from the journal */
		} else if (rc && is_transient(rc)) {
			uint64_t ms = backoff_ms(op.attempts);

			stats_add(y->stats, remote_errors, 1);
			stats_set(y->stats, remote_down, rc == -EHOSTDOWN);
			log_warn("%s %s: %s; retrying in %llu ms (attempt %d)",
				 sync_op_name(op.kind), op.path, strerror(-rc),
				 (unsigned long long)ms, op.attempts + 1);
			if (meta_journal_retry(y->meta, op.seq,
					       util_now_ns() +
						       (int64_t)ms * 1000000,
					       op.attempts + 1, -rc)) {
				log_error("journal: cannot record retry of %s",
					  op.path);
				hold_off(y, &db_failures);
			} else {
				db_failures = 0;
			}
		} else {
			stats_set(y->stats, remote_down, 0);
			if (rc == -EILSEQ) {
				/* a copy whose bytes are lost: said above */
			} else if (rc) {
				stats_add(y->stats, remote_errors, 1);
				log_error("%s %s%s%s: %s; giving up on this "
					  "change (the local copy is kept)",
					  sync_op_name(op.kind), op.path,
					  op.path2 ? " -> " : "",
					  op.path2 ? op.path2 : "",
					  strerror(-rc));
			}
			if (rc)
				note_dropped(y, &op, rc);
			/* a rename's or a link's success says nothing of
			 * the file's data, which may be in error */
			if (rc || (op.kind != JOP_RENAME &&
				   op.kind != JOP_LINK))
				set_error(y, op.ino, rc != 0);
			crash_point("journal-done");
			if (meta_journal_done(y->meta, op.seq)) {
				log_error("journal: cannot remove done op on %s",
					  op.path);
				hold_off(y, &db_failures);
			} else {
				db_failures = 0;
			}
		}
		jop_release(&op);
	}
	return NULL;
}

/* Waits for a signal of y->cond or 50 ms, whichever comes first; under
 * y->lock. */
static void nap(struct sync *y)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&y->cond, &y->lock, &ts);
}

int sync_poll_wait(struct sync *y, uint64_t timeout_ms)
{
	int64_t deadline = util_now_mono_ns() + (int64_t)timeout_ms * 1000000;
	uint64_t want;
	int rc = 0;

	pthread_mutex_lock(&y->lock);
	/* one that began before the call may have listed too early */
	want = y->polls_started + 1;
	y->refresh = true;
	pthread_cond_broadcast(&y->cond);
	while (y->polls_ended < want && !y->stop_workers) {
		if (util_now_mono_ns() >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		nap(y);
		if (y->polls_started < want)
			y->refresh = true;	/* after the one in progress */
	}
	pthread_mutex_unlock(&y->lock);
	return rc;
}

/* How long a wait for idle waits for the releases of files just closed
 * (a handle kept open through a dup is not waited for past that). */
#define CLOSING_WAIT_NS 1000000000

void sync_hurry(struct sync *y, int delta)
{
	pthread_mutex_lock(&y->lock);
	y->hurry += delta;
	if (y->hurry < 0)
		y->hurry = 0;
	if (delta > 0) {
		y->kicked = true;
		pthread_cond_broadcast(&y->cond);
	}
	pthread_mutex_unlock(&y->lock);
}

int sync_idle(struct sync *y, int64_t since_ns)
{
	int64_t count;
	bool idle;

	pthread_mutex_lock(&y->lock);
	/* a file closed just before the wait: the kernel sends its release,
	 * which queues its upload, right after close() returned */
	if (y->closing > 0 && util_now_mono_ns() < since_ns + CLOSING_WAIT_NS) {
		pthread_mutex_unlock(&y->lock);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&y->lock);
	count = meta_journal_count(y->meta);
	pthread_mutex_lock(&y->lock);
	/* a node the saver has (its state only in memory if the database
	 * could not record it) may be dirty with no upload queued yet */
	idle = count == 0 && !y->busy && !y->requeue && !y->saves &&
	       !y->save_retry && !y->saver_busy;
	pthread_mutex_unlock(&y->lock);
	return idle ? 0 : -EAGAIN;
}

int sync_wait_idle(struct sync *y, uint64_t timeout_ms)
{
	int64_t start = util_now_mono_ns();
	int64_t deadline = start + (int64_t)timeout_ms * 1000000;
	int rc;

	sync_hurry(y, 1);
	pthread_mutex_lock(&y->lock);
	for (;;) {
		pthread_mutex_unlock(&y->lock);
		rc = sync_idle(y, start);
		pthread_mutex_lock(&y->lock);
		if (rc == 0)
			break;
		if (util_now_mono_ns() >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		nap(y);
	}
	pthread_mutex_unlock(&y->lock);
	sync_hurry(y, -1);
	return rc;
}

/* State of one reconciliation of a directory. */
struct reconcile {
	struct sync *y;
	uint64_t dir;			/* directory inode */
	const char *path;		/* its remote path */
	int64_t gen;			/* poll generation */
	struct listed *listed;		/* entries not applied yet */
	int nlisted;
	bool first;			/* first listing of the directory */
	bool merge;			/* a first listing of a directory that
					   holds names already: one cut after
					   a batch (an unmount, a remote
					   error, a crash), whose entries are
					   looked up, not taken as new */
	uint64_t jgen;			/* meta_journal_gen() before listing */
	bool changed;			/* names came or went */
	struct reset *resets;		/* files in use to reset after */
	struct refresh refresh[RECONCILE_BATCH];	/* entries of the
							   batch whose
							   metadata the
							   listing could
							   not see */
	int nrefresh;
	int depth;			/* levels to list ahead below it */
	bool ahead;			/* the ahead worker's listing */
	uint64_t *subdirs;		/* new subdirectories, to list ahead */
	int nsubdirs;
};


/* A file whose cached data must go once the transaction is committed. */
struct reset {
	struct reset *next;
	uint64_t ino;
	uint64_t size;			/* the remote's new version */
	char etag[REMOTE_ETAG_MAX];
};

/*
 * Drops the local data of a clean file whose remote version changed: its
 * extents now, in the transaction, so nothing cached is trusted from here
 * on; its cache file, or the state of the node if the file is in use,
 * after the commit (the node table is never touched with the database
 * held, and a reset waits for the fetches in flight).
 */
static void drop_data(struct reconcile *r, const struct meta_entry *e,
		      const struct remote_attr *a)
{
	struct reset *rs = xcalloc(1, sizeof(*rs));

	if (meta_set_extents(r->y->meta, e->ino, NULL, 0))
		log_warn("inode %llu: cannot clear extents",
			 (unsigned long long)e->ino);
	rs->ino = e->ino;
	rs->size = a->size;
	snprintf(rs->etag, sizeof(rs->etag), "%s", a->etag);
	rs->next = r->resets;
	r->resets = rs;
}

/* Finishes what drop_data() put aside, and tells the kernel. */
static void run_resets(struct reconcile *r)
{
	struct sync *y = r->y;
	struct reset *rs;
	struct node *n;

	while ((rs = r->resets)) {
		r->resets = rs->next;
		n = store_node_find(y->store, rs->ino);
		if (!n) {
			cache_file_remove(y->store->cache, rs->ino);
		} else {
			int rc = store_node_reset(y->store, n, rs->size,
						  rs->etag);

			if (rc == -EBUSY)
				log_info("inode %llu: changed on the remote "
					 "while written here: the local "
					 "version is kept, and its upload "
					 "keeps the other as a conflict",
					 (unsigned long long)rs->ino);
			else if (rc == -EAGAIN)
				log_info("inode %llu: changed on the remote "
					 "while open on the fast path: its "
					 "data is reset at the last close",
					 (unsigned long long)rs->ino);
			else if (rc)
				log_error("inode %llu: cannot reset cached data",
					  (unsigned long long)rs->ino);
			store_node_put(y->store, n);
		}
		if (y->notify.inode)
			y->notify.inode(y->notify.arg, rs->ino, true);
		free(rs);
	}
}

static void delete_local(void *arg, uint64_t ino)
{
	struct sync *y = arg;

	cache_file_remove(y->store->cache, ino);
}

/*
 * Queues entry f, listed from a remote whose listings cannot see an
 * object's metadata (S3's: mode, owner, mtime, and whether a file is a
 * symlink; a directory's marker), for the refresher to read it: a
 * listing stays one request a thousand names, and what each object's
 * metadata says arrives soon after. Past REFRESH_MAX waiting, the rest
 * keep what the listing said.
 */
static void queue_refresh(struct sync *y, const struct refresh *f)
{
	pthread_mutex_lock(&y->lock);
	if (y->refresh_head == y->refresh_n)
		y->refresh_head = y->refresh_n = 0;
	if (y->refresh_n - y->refresh_head >= REFRESH_MAX) {
		if (!y->refresh_full_told)
			log_info("%u files wait for their metadata from the "
				 "remote; the next ones show what listings "
				 "say", REFRESH_MAX);
		y->refresh_full_told = true;
	} else {
		if (y->refresh_n == y->refresh_cap) {
			y->refresh_cap = y->refresh_cap ? 2 * y->refresh_cap
							: 1024;
			y->refresh_q = xrealloc(y->refresh_q,
						y->refresh_cap *
						sizeof(*y->refresh_q));
		}
		y->refresh_q[y->refresh_n++] = *f;
		pthread_cond_broadcast(&y->cond);
	}
	pthread_mutex_unlock(&y->lock);
}

/*
 * Makes entry e, a file listed at path whose object turns out to be a
 * symlink (a, its stat), the symlink: a new entry of that name, as the
 * kernel keeps an inode's type. Unless it changed here meanwhile.
 */
static void refresh_to_symlink(struct sync *y, const struct meta_entry *e,
			       const char *path, const struct remote_attr *a)
{
	struct meta_entry cur, l;
	char link[4096];
	int rc;

	if (remote_readlink(y->remote, path, link, sizeof(link)))
		return;		/* changed again: the next poll sees it */
	if (meta_begin(y->meta))
		return;
	rc = meta_get(y->meta, e->ino, &cur);
	if (rc) {
		meta_rollback(y->meta);
		return;
	}
	if (cur.dirty || cur.has_data || cur.nlink > 1 ||
	    cur.parent != e->parent || strcmp(cur.etag, e->etag) != 0) {
		meta_entry_release(&cur);
		meta_rollback(y->meta);
		return;
	}
	meta_entry_init(&l);
	l.parent = cur.parent;
	snprintf(l.name, sizeof(l.name), "%s", cur.name);
	entry_from_remote(y, &l, a);
	l.link = xstrdup(link);
	l.size = strlen(link);
	rc = meta_delete(y->meta, cur.ino, delete_local, y);
	if (!rc)
		rc = meta_insert(y->meta, &l);
	if (rc || meta_commit(y->meta)) {
		if (rc)
			meta_rollback(y->meta);
	} else if (y->notify.entry) {
		y->notify.entry(y->notify.arg, cur.parent, cur.name);
	}
	meta_entry_release(&cur);
	meta_entry_release(&l);
}

/* Whether entry e is as a listing brought it in, f: nothing changed it
 * here since (a change moves its ctime; a write makes it dirty). */
static bool as_listed(const struct meta_entry *e, const struct refresh *f)
{
	return !e->dirty && e->parent && e->mtime_ns == f->mtime_ns &&
	       e->ctime_ns == f->mtime_ns;
}

/*
 * What the remote's metadata says of entry f->ino (a file or a
 * directory), into its entry, unless the entry changed here since it
 * was listed (as_listed) or there (its version).
 */
static void refresh_one(struct sync *y, const struct refresh *f)
{
	struct remote_attr a;
	struct meta_entry e, cur;
	struct node_state st;
	struct node *n = NULL;
	char *path = NULL;
	bool changed = false, dir;

	if (meta_get(y->meta, f->ino, &e))
		return;
	dir = S_ISDIR(e.mode);
	if ((!S_ISREG(e.mode) && !dir) || !e.etag[0] || !as_listed(&e, f))
		goto out;
	/* one in use keeps its mtime in its node, which is told too;
	 * one being written has its own metadata */
	n = dir ? NULL : store_node_find(y->store, f->ino);
	if (n) {
		store_node_snapshot(n, &st);
		if (st.dirty || st.writers > 0)
			goto out;
	}
	if (meta_path(y->meta, f->ino, &path) ||
	    (dir ? remote_stat(y->remote, path, &a)
		 : remote_stat_file(y->remote, path, &a)) || a.approx ||
	    (dir ? !S_ISDIR(a.mode) : strcmp(a.etag, e.etag) != 0))
		goto out;	/* changed there: a poll sees it */
	if (S_ISLNK(a.mode)) {
		if (!n)
			refresh_to_symlink(y, &e, path, &a);
		goto out;
	}
	if ((a.mode & S_IFMT) != (e.mode & S_IFMT) || meta_begin(y->meta))
		goto out;
	if (meta_get(y->meta, f->ino, &cur)) {
		meta_rollback(y->meta);
		goto out;
	}
	if (as_listed(&cur, f) && strcmp(cur.etag, e.etag) == 0) {
		if ((cur.mode & 07777) != (a.mode & 07777)) {
			cur.mode = (cur.mode & S_IFMT) | (a.mode & 07777);
			changed = true;
		}
		if (owner_differs(y, &cur, &a)) {
			owner_from_remote(y, &cur, &a);
			changed = true;
		}
		if (cur.mtime_ns != a.mtime_ns) {
			cur.mtime_ns = cur.ctime_ns = a.mtime_ns;
			changed = true;
		}
	}
	if (changed && !meta_update(y->meta, &cur)) {
		changed = meta_commit(y->meta) == 0;
	} else {
		meta_rollback(y->meta);
		changed = false;
	}
	meta_entry_release(&cur);
	/* a node loaded meanwhile has the listing's mtime: it takes the
	 * remote's, and writes it (its commits would write its own) */
	if (changed && !n && !dir)
		n = store_node_find(y->store, f->ino);
	if (changed && n) {
		store_node_take_mtime(n, a.mtime_ns);
		if (store_node_commit(y->store, n))
			log_warn("%s: cannot record its mtime", path);
	}
	if (changed && y->notify.inode)
		y->notify.inode(y->notify.arg, f->ino, false);
out:
	if (n)
		store_node_put(y->store, n);
	free(path);
	meta_entry_release(&e);
}

static void *refresh_thread(void *arg)
{
	struct sync *y = arg;
	struct refresh f;

	pthread_mutex_lock(&y->lock);
	while (!y->stop_workers) {
		if (y->refresh_head == y->refresh_n) {
			pthread_cond_wait(&y->cond, &y->lock);
			continue;
		}
		f = y->refresh_q[y->refresh_head++];
		pthread_mutex_unlock(&y->lock);
		refresh_one(y, &f);
		pthread_mutex_lock(&y->lock);
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

/* Whether the workers are stopping. */
static bool stopping(struct sync *y)
{
	bool stop;

	pthread_mutex_lock(&y->lock);
	stop = y->stop_workers;
	pthread_mutex_unlock(&y->lock);
	return stop;
}

/*
 * Queues directories inos (n of them), new in a first listing, for the
 * ahead worker to list, with depth levels below each to list after.
 * Past AHEAD_MAX waiting, the rest are listed when first used.
 */
static void ahead_queue(struct sync *y, const uint64_t *inos, int n,
			int depth)
{
	int i;

	pthread_mutex_lock(&y->lock);
	for (i = 0; i < n && y->ahead_n < AHEAD_MAX; i++) {
		y->ahead_q[(y->ahead_head + y->ahead_n) % AHEAD_MAX] =
			(struct ahead){ inos[i], depth };
		y->ahead_n++;
	}
	if (i)
		pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
}

/* One entry of a remote listing, held until its batch is applied. */
struct listed {
	char name[META_NAME_MAX + 1];
	struct remote_attr a;
	char *link;			/* symlink target, read at listing */
};

/* Brings one entry a poll listed into the store; in the batch's
 * transaction. (A first listing's go in with apply_first.) */
static int apply_entry(struct reconcile *r, const struct listed *l)
{
	const struct remote_attr *a = &l->a;
	struct sync *y = r->y;
	struct meta_entry e;
	bool notify_entry = false, notify_inode = false, update = false;
	int rc;

	rc = meta_lookup(y->meta, r->dir, l->name, &e);
	if (rc == 0 && e.alias) {
		/* an extra name of a file here: the drive's own copy of it,
		 * which the file's uploads keep the same; never news */
		meta_entry_release(&e);
		return 0;
	}
	if (rc == 0 && (e.mode & S_IFMT) != (a->mode & S_IFMT) && !e.dirty) {
		/* replaced by another type: start over */
		rc = meta_delete(y->meta, e.ino, delete_local, y);
		meta_entry_release(&e);
		if (rc)
			return rc;
		rc = -ENOENT;
	}
	if (rc == -ENOENT) {
		if (S_ISLNK(a->mode) && !l->link)
			return 0;	/* its target could not be read */
		meta_entry_init(&e);
		e.parent = r->dir;
		snprintf(e.name, sizeof(e.name), "%s", l->name);
		entry_from_remote(y, &e, a);
		if (l->link) {
			e.link = xstrdup(l->link);
			e.size = strlen(l->link);
		}
		rc = meta_insert(y->meta, &e);
		notify_entry = true;
		r->changed = true;
		stats_add(y->stats, remote_changes, 1);
		if (!rc && a->approx && ((S_ISREG(a->mode) && a->size > 0) ||
					 S_ISDIR(a->mode)))
			r->refresh[r->nrefresh++] = (struct refresh){
				e.ino, e.mtime_ns };
	} else if (rc == 0) {
		if (S_ISREG(e.mode) && !e.dirty && strcmp(e.etag, a->etag)) {
			if (e.etag[0])
				log_info("%s%s%s: changed on the remote",
					 r->path, *r->path ? "/" : "", l->name);
			drop_data(r, &e, a);	/* the kernel is told after */
			stats_add(y->stats, remote_changes, 1);
			update = true;
			entry_from_remote(y, &e, a);
			if (a->approx && a->size > 0)
				r->refresh[r->nrefresh++] = (struct refresh){
					e.ino, e.mtime_ns };
		} else if (!e.dirty && !a->approx && (e.mode != a->mode ||
					owner_differs(y, &e, a) ||
					e.rdev != a->rdev ||
					(S_ISREG(e.mode) &&
					 e.mtime_ns != a->mtime_ns))) {
			e.mode = a->mode;
			e.rdev = a->rdev;
			owner_from_remote(y, &e, a);
			if (S_ISREG(e.mode))
				e.mtime_ns = a->mtime_ns;
			notify_inode = update = true;
		}
		if (update)
			rc = meta_update(y->meta, &e);
	}
	if (!rc)
		rc = meta_mark_seen(y->meta, e.ino, r->gen);
	if (!rc && notify_entry && y->notify.entry)
		y->notify.entry(y->notify.arg, r->dir, l->name);
	if (!rc && notify_inode && y->notify.inode)
		y->notify.inode(y->notify.arg, e.ino, false);
	meta_entry_release(&e);
	return rc;
}

/*
 * Whether a local change was journaled since a poll's listing began: the
 * listing may not show it yet (a new name, a rename, an upload queued
 * behind it), and applied, it would take back or delete what was just
 * done here. The next poll, after the journal is empty, lists again. A
 * first listing has nothing local to take back. Under the database lock.
 */
static bool stale_listing(const struct reconcile *r)
{
	return !r->first && meta_journal_gen(r->y->meta) != r->jgen;
}

/*
 * Brings a first listing's entries into the store; in the batch's
 * transaction. Every one is new (apply_entry's insertion, with nothing
 * to look up, mark or tell the kernel), and they go in together, in a
 * few statements instead of one each.
 */
static int apply_first(struct reconcile *r)
{
	struct meta_entry *es = xcalloc((size_t)r->nlisted, sizeof(*es));
	const struct listed **from = xcalloc((size_t)r->nlisted,
					     sizeof(*from));
	struct sync *y = r->y;
	int i, n = 0, rc;

	for (i = 0; i < r->nlisted; i++) {
		const struct listed *l = &r->listed[i];
		struct meta_entry *e = &es[n];

		if (S_ISLNK(l->a.mode) && !l->link)
			continue;	/* its target could not be read */
		meta_entry_init(e);
		e->parent = r->dir;
		memcpy(e->name, l->name, sizeof(e->name));
		entry_from_remote(y, e, &l->a);
		if (l->link) {
			e->link = xstrdup(l->link);
			e->size = strlen(l->link);
		}
		from[n++] = l;
	}
	rc = meta_insert_many(y->meta, es, (size_t)n);
	if (!rc && n) {
		r->changed = true;
		stats_add(y->stats, remote_changes, (uint64_t)n);
	}
	for (i = 0; i < n; i++) {
		const struct remote_attr *a = &from[i]->a;
		const struct meta_entry *e = &es[i];

		if (!rc && a->approx && ((S_ISREG(a->mode) && a->size > 0) ||
					 S_ISDIR(a->mode)))
			r->refresh[r->nrefresh++] = (struct refresh){
				e->ino, e->mtime_ns };
		if (!rc && S_ISDIR(a->mode) && r->subdirs &&
		    r->nsubdirs < y->ahead_width)
			r->subdirs[r->nsubdirs++] = e->ino;
		meta_entry_release(&es[i]);
	}
	free(from);
	free(es);
	return rc;
}

/* Applies the listed entries in one short transaction, and empties the
 * batch; -EAGAIN if the listing is stale. */
static int apply_batch(struct reconcile *r)
{
	struct meta *m = r->y->meta;
	bool began;
	int rc, i;

	if (!r->nlisted)
		return 0;
	r->nrefresh = 0;
	rc = meta_begin(m);
	began = !rc;
	if (began && stale_listing(r))
		rc = -EAGAIN;
	if (!rc && r->first && !r->merge)
		rc = apply_first(r);
	for (i = 0; !rc && (!r->first || r->merge) && i < r->nlisted; i++)
		rc = apply_entry(r, &r->listed[i]);
	if (!rc)
		rc = meta_commit(m);	/* rolls back if it fails */
	else if (began)
		meta_rollback(m);
	for (i = 0; i < r->nrefresh && !rc; i++)
		queue_refresh(r->y, &r->refresh[i]);
	for (i = 0; i < r->nlisted; i++)
		free(r->listed[i].link);
	r->nlisted = 0;
	return rc;
}

/*
 * The type of a listed entry, where the listing cannot see it. A backend
 * that keeps modes in each object's metadata (S3) lists a special file
 * as an empty file and a symlink as a file of its target: only its
 * object's metadata (a stat: HEAD) tells. So the empty objects, and the
 * entries the store has as another type, are asked about, unless the
 * store knows the entry at that version, whose type a poll then keeps: a
 * directory with no empty objects costs nothing more, a poll asks about
 * nothing it knew, and a known symlink or special file never turns into
 * a file. (The other objects' metadata comes after: queue_refresh.)
 * Entries with local changes are not asked about: the remote's word does
 * not count for them. a gets what the stat says; returns 0, 1 for an
 * object gone since the listing, or -errno (the listing fails: a type
 * it cannot tell is no type to guess).
 */
static int listed_type(struct reconcile *r, const char *name,
		       struct remote_attr *a)
{
	bool known, other = false;
	struct meta_entry e;
	struct remote_attr b;
	char *p;
	int rc;

	if (!a->approx || !S_ISREG(a->mode))
		return 0;
	if (!r->first && meta_lookup(r->y->meta, r->dir, name, &e) == 0) {
		known = e.dirty || (e.etag[0] && strcmp(e.etag, a->etag) == 0);
		/* a symlink or special file here is no file until the
		 * remote's metadata says so */
		other = !S_ISREG(e.mode) && !S_ISDIR(e.mode);
		if (known && (S_ISREG(e.mode) || S_ISLNK(e.mode) ||
			      meta_is_special(e.mode))) {
			a->mode = e.mode;
			a->rdev = e.rdev;
		}
		meta_entry_release(&e);
		if (known)
			return 0;
	}
	/* the others are files; what their metadata says comes after the
	 * listing (queue_refresh) */
	if (a->size != 0 && !other)
		return 0;
	p = util_path_join(r->path, name);
	rc = remote_stat(r->y->remote, p, &b);
	free(p);
	if (rc == -ENOENT)
		return 1;
	if (rc)
		return rc;
	if (!S_ISDIR(b.mode))	/* a directory made since: listed next */
		*a = b;
	return 0;
}

/*
 * remote_list() callback: collects entries (reading symlink targets and
 * the types a listing cannot tell, the remote I/O) without any lock held,
 * and applies them a batch at a time: the database is never held across
 * remote I/O, and memory stays bounded however large the directory.
 */
static int reconcile_entry(void *arg, const char *name,
			   const struct remote_attr *a)
{
	struct reconcile *r = arg;
	struct listed *l = &r->listed[r->nlisted];
	char link[4096];
	int rc;

	snprintf(l->name, sizeof(l->name), "%s", name);
	l->a = *a;
	l->link = NULL;
	rc = listed_type(r, name, &l->a);
	if (rc)
		return rc < 0 ? rc : 0;
	if (S_ISLNK(l->a.mode)) {
		char *p = util_path_join(r->path, name);

		rc = remote_readlink(r->y->remote, p, link, sizeof(link));
		free(p);
		if (rc)
			log_warn("%s/%s: cannot read symlink: %s", r->path,
				 name, strerror(-rc));
		else
			l->link = xstrdup(link);
	}
	if (++r->nlisted < RECONCILE_BATCH)
		return 0;
	pause_point("list-batch", r->path);
	if (r->ahead && stopping(r->y))
		return -ECANCELED;
	return apply_batch(r);
}

static int remove_unseen(void *arg, const struct meta_entry *e)
{
	struct reconcile *r = arg;
	struct sync *y = r->y;
	struct node *n = NULL;

	if (S_ISREG(e->mode))
		n = store_node_find(y->store, e->ino);
	if (n) {
		struct node_state st;

		store_node_snapshot(n, &st);
		store_node_put(y->store, n);
		if (st.dirty || st.openers > 0)
			return 0;	/* keep what is in use */
	}
	if (meta_begin(y->meta))
		return -EIO;
	if (stale_listing(r)) {
		meta_rollback(y->meta);
		return -EAGAIN;
	}
	/* a file with other names keeps them: only this one is gone */
	if (e->nlink > 1 ? meta_link_promote(y->meta, e->ino)
			 : meta_delete(y->meta, e->ino, delete_local, y)) {
		meta_rollback(y->meta);
		return -EIO;
	}
	if (meta_commit(y->meta))
		return -EIO;
	log_info("%s%s%s: deleted on the remote", r->path,
		 *r->path ? "/" : "", e->name);
	if (e->nlink > 1) {
		/* its path is another now (store_node_path's cache) */
		__atomic_add_fetch(&y->store->rename_gen, 1,
				   __ATOMIC_RELEASE);
		if (y->notify.inode)
			y->notify.inode(y->notify.arg, e->ino, false);
	}
	if (y->notify.entry)
		y->notify.entry(y->notify.arg, r->dir, e->name);
	r->changed = true;
	return 0;
}

/*
 * The root, listed (r): populated, and with the remote's mode, owner and
 * mtime where it keeps them, else those of its first listing (a bucket's
 * root has no time; the root has no parent listing to take them from).
 * In one transaction, unless a change was journaled since the listing.
 */
static int root_listed(struct reconcile *r)
{
	struct sync *y = r->y;
	struct remote_attr a;
	struct meta_entry e;
	bool attrs;
	int rc;

	attrs = !remote_stat(y->remote, "", &a) && (r->first || !a.approx);
	rc = meta_begin(y->meta);
	if (rc)
		return rc;
	if (stale_listing(r)) {
		meta_rollback(y->meta);
		return 0;	/* the next poll */
	}
	rc = meta_get(y->meta, META_ROOT_INO, &e);
	if (rc) {
		meta_rollback(y->meta);
		return rc;
	}
	e.populated = true;
	if (attrs) {
		e.mode = S_IFDIR | (a.mode & 07777);
		e.mtime_ns = e.ctime_ns = a.mtime_ns;
		owner_from_remote(y, &e, &a);
	}
	rc = meta_update(y->meta, &e);
	meta_entry_release(&e);
	if (rc)
		meta_rollback(y->meta);
	else
		rc = meta_commit(y->meta);
	return rc;
}

/*
 * Lists directory ino from the remote and brings the store in line. A
 * first listing with depth > 0 queues its new subdirectories to be
 * listed ahead, depth - 1 levels further down after them.
 */
static int reconcile(struct sync *y, uint64_t ino, bool first, int depth,
		     bool ahead)
{
	struct reconcile r = { .y = y, .dir = ino, .first = first,
			       .depth = depth, .ahead = ahead };
	char *path;
	int rc, i;

	rc = meta_path(y->meta, ino, &path);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	r.path = path;
	if (!first)
		pause_point("poll-list", path);
	r.gen = util_now_ns();
	/* a poll's listings are stale from the first op journaled after
	 * the poll began, with the journal empty: an op queued before this
	 * directory's listing may not have reached the remote yet */
	r.jgen = first ? meta_journal_gen(y->meta) : y->poll_jgen;
	if (first) {
		/* a directory is populated once its listing is all in: names
		 * here before it are what a cut listing applied */
		rc = meta_has_children(y->meta, ino);
		if (rc < 0) {
			free(path);
			return rc;
		}
		r.merge = rc > 0;
		rc = 0;
	}
	r.listed = xcalloc(RECONCILE_BATCH, sizeof(*r.listed));
	if (first && depth > 0 && y->ahead_width > 0)
		r.subdirs = xcalloc((size_t)y->ahead_width,
				    sizeof(*r.subdirs));
	rc = remote_list(y->remote, path, reconcile_entry, &r);
	if (!rc)
		rc = apply_batch(&r);
	for (i = 0; i < r.nlisted; i++)
		free(r.listed[i].link);
	free(r.listed);
	run_resets(&r);
	if (!rc && r.nsubdirs)
		ahead_queue(y, r.subdirs, r.nsubdirs, depth - 1);
	free(r.subdirs);
	if (rc) {
		if (rc == -EHOSTDOWN)
			stats_set(y->stats, remote_down, 1);
		else if (rc != -ENOENT && rc != -ENOTDIR && rc != -EAGAIN &&
			 rc != -ECANCELED)
			log_error("%s: cannot list the remote directory: %s",
				  *path ? path : "/", strerror(-rc));
		free(path);
		return rc;
	}
	if (!first)
		rc = meta_unseen(y->meta, ino, r.gen, remove_unseen, &r);
	/* the kernel caches listings: drop the one of a changed directory */
	if (!first && r.changed && y->notify.inode)
		y->notify.inode(y->notify.arg, ino, true);
	/* the flag alone: the refresher or a request may have changed the
	 * directory's entry since the listing began */
	if (!rc && first && ino != META_ROOT_INO)
		rc = meta_set_populated(y->meta, ino);
	else if (!rc && ino == META_ROOT_INO)
		rc = root_listed(&r);
	free(path);
	return rc;
}

/* Whether ino is in its first listing; under lock. */
static bool in_listing(const struct sync *y, uint64_t ino)
{
	size_t i;

	for (i = 0; i < y->nlisting; i++)
		if (y->listing[i] == ino)
			return true;
	return false;
}

/*
 * Makes the caller the one lister of ino's first listing, after waiting
 * for any other one to finish (which may have failed: the caller checks
 * again and lists). With no_wait, returns false instead of waiting.
 */
static bool listing_claim(struct sync *y, uint64_t ino, bool no_wait)
{
	pthread_mutex_lock(&y->lock);
	while (in_listing(y, ino)) {
		if (no_wait) {
			pthread_mutex_unlock(&y->lock);
			return false;
		}
		pthread_cond_wait(&y->listed_cond, &y->lock);
	}
	if (y->nlisting == y->listing_cap) {
		y->listing_cap = y->listing_cap ? 2 * y->listing_cap : 8;
		y->listing = xrealloc(y->listing,
				      y->listing_cap * sizeof(*y->listing));
	}
	y->listing[y->nlisting++] = ino;
	pthread_mutex_unlock(&y->lock);
	return true;
}

static void listing_done(struct sync *y, uint64_t ino)
{
	size_t i;

	pthread_mutex_lock(&y->lock);
	for (i = 0; i < y->nlisting; i++) {
		if (y->listing[i] == ino) {
			y->listing[i] = y->listing[--y->nlisting];
			break;
		}
	}
	pthread_cond_broadcast(&y->listed_cond);
	pthread_mutex_unlock(&y->lock);
}

/* A request begins (+1) or ends (-1) waiting for a first listing. */
static void demand_listing(struct sync *y, int delta)
{
	pthread_mutex_lock(&y->lock);
	y->demand_listings += delta;
	if (!y->demand_listings)
		pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
}

/* Whether directory ino needs its first listing: 1, 0 or -errno. */
static int needs_listing(struct sync *y, uint64_t ino)
{
	struct meta_entry e;
	int rc;

	rc = meta_get(y->meta, ino, &e);
	if (rc)
		return rc;
	meta_entry_release(&e);
	return !e.populated && S_ISDIR(e.mode);
}

/*
 * The first listing of directory ino, unless it was listed meanwhile;
 * depth levels below it are listed ahead after. The ahead worker (ahead)
 * leaves a directory someone else is listing to them.
 */
static int first_listing(struct sync *y, uint64_t ino, int depth, bool ahead)
{
	int rc;

	rc = needs_listing(y, ino);
	if (rc <= 0)
		return rc;
	if (!listing_claim(y, ino, ahead))
		return 0;
	/* someone may have listed it while we waited */
	rc = needs_listing(y, ino);
	if (rc > 0) {
		pthread_rwlock_rdlock(&y->list_lock);
		rc = reconcile(y, ino, true, depth, ahead);
		pthread_rwlock_unlock(&y->list_lock);
		if (!rc && ahead)
			stats_add(y->stats, listed_ahead, 1);
	}
	listing_done(y, ino);
	return rc;
}

bool sync_listed(struct sync *y, uint64_t ino)
{
	struct meta_entry e;

	if (meta_get(y->meta, ino, &e))
		return false;
	meta_entry_release(&e);
	return e.populated || !S_ISDIR(e.mode);
}

/*
 * The ahead worker: lists the queued directories, oldest first. A
 * listing that fails for the remote (down, refusing, throttling) drops
 * the queue: what was not listed ahead is listed when used.
 */
static void *ahead_thread(void *arg)
{
	struct sync *y = arg;
	struct ahead a;
	int rc;

	pthread_mutex_lock(&y->lock);
	while (!y->stop_workers) {
		if (!y->ahead_n || y->demand_listings) {
			pthread_cond_wait(&y->cond, &y->lock);
			continue;
		}
		a = y->ahead_q[y->ahead_head];
		y->ahead_head = (y->ahead_head + 1) % AHEAD_MAX;
		y->ahead_n--;
		pthread_mutex_unlock(&y->lock);
		rc = first_listing(y, a.ino, a.depth, true);
		pthread_mutex_lock(&y->lock);
		if (rc && rc != -ENOENT && rc != -ENOTDIR &&
		    rc != -ECANCELED) {
			log_debug("listing ahead stops: %s", strerror(-rc));
			y->ahead_n = 0;
		}
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

int sync_populate(struct sync *y, uint64_t ino)
{
	int rc;

	/* no listing ahead starts while a request waits for one, its
	 * own or the workers' */
	demand_listing(y, 1);
	rc = first_listing(y, ino, y->ahead_depth, false);
	demand_listing(y, -1);
	if (rc == -EHOSTDOWN)
		rc = -EIO;
	return rc;
}

static int poll_dir(void *arg, uint64_t ino)
{
	struct sync *y = arg;
	int rc;

	pthread_mutex_lock(&y->lock);
	rc = y->stop_workers ? -ECANCELED : 0;
	pthread_mutex_unlock(&y->lock);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&y->list_lock);
	rc = reconcile(y, ino, false, 0, false);
	pthread_rwlock_unlock(&y->list_lock);
	/* a directory gone from the remote is removed by its parent's turn */
	return rc == -ENOENT || rc == -ENOTDIR ? 0 : rc;
}

static void poll_once(struct sync *y)
{
	int rc;

	/* the generation first: an op journaled after the count is seen
	 * empty moves it, and the poll's listings are not applied */
	y->poll_jgen = meta_journal_gen(y->meta);
	if (meta_journal_count(y->meta) != 0)
		return;	/* local changes first; poll after they are out */
	rc = remote_check(y->remote);
	if (rc) {
		if (!stats_get(y->stats, remote_down))
			log_warn("remote %s is unreachable: %s",
				 y->remote->spec, strerror(-rc));
		stats_set(y->stats, remote_down, 1);
		return;
	}
	if (stats_get(y->stats, remote_down))
		log_info("remote %s is reachable again", y->remote->spec);
	stats_set(y->stats, remote_down, 0);
	rc = meta_populated_dirs(y->meta, poll_dir, y);
	if (rc && rc != -ECANCELED && rc != -EAGAIN)
		log_warn("poll of %s stopped early: %s", y->remote->spec,
			 strerror(-rc));
	stats_add(y->stats, polls, 1);
}

static void *poll_thread(void *arg)
{
	struct sync *y = arg;

	pthread_mutex_lock(&y->lock);
	while (!y->stop_workers) {
		int64_t deadline = util_now_ns() +
				   (int64_t)y->cfg.poll_interval_ms * 1000000;
		struct timespec ts = { deadline / 1000000000,
				       deadline % 1000000000 };

		while (!y->stop_workers && !y->refresh &&
		       pthread_cond_timedwait(&y->cond, &y->lock, &ts) == 0)
			;
		if (y->stop_workers)
			break;
		y->refresh = false;
		y->polls_started++;
		pthread_mutex_unlock(&y->lock);
		poll_once(y);
		pthread_mutex_lock(&y->lock);
		y->polls_ended++;
		pthread_cond_broadcast(&y->cond);
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

/* store_defer_fn: queue n for the saver thread. */
static void defer_save(void *arg, struct node *n)
{
	struct sync *y = arg;
	struct saving *sv = xmalloc(sizeof(*sv));

	sv->n = n;
	sv->retried = false;
	pthread_mutex_lock(&y->lock);
	sv->next = y->saves;
	y->saves = sv;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
}

/*
 * The saver: syncs the data of files whose last user is gone and records
 * their hydrated extents, off the path of close. At stop it drains the
 * queue before leaving.
 */
static void *save_thread(void *arg)
{
	struct sync *y = arg;
	struct saving *sv;
	bool last;

	pthread_mutex_lock(&y->lock);
	for (;;) {
		while (!y->saves && !y->stop) {
			if (!y->save_retry) {
				pthread_cond_wait(&y->cond, &y->lock);
			} else if (util_now_ns() < y->save_retry_at) {
				struct timespec ts;

				ts.tv_sec = y->save_retry_at / 1000000000;
				ts.tv_nsec = y->save_retry_at % 1000000000;
				pthread_cond_timedwait(&y->cond, &y->lock, &ts);
			} else {
				y->saves = y->save_retry;
				y->save_retry = NULL;
			}
		}
		if (!y->saves) {		/* stopping: a last try */
			y->saves = y->save_retry;
			y->save_retry = NULL;
		}
		sv = y->saves;
		if (!sv)
			break;
		y->saves = sv->next;
		y->saver_busy = true;
		last = y->stop;
		pthread_mutex_unlock(&y->lock);
		if (store_node_save_failed(sv->n))
			sv->retried = true;
		if (last) {
			store_node_put_saved(y->store, sv->n);
		} else if (store_node_put_retry(y->store, sv->n) == -EAGAIN) {
			/* the database cannot record it now: the node
			 * stays loaded, with the state only it has */
			pthread_mutex_lock(&y->lock);
			if (!y->save_retry)
				y->save_retry_at = util_now_ns() +
						   SAVE_RETRY_NS;
			sv->retried = true;
			sv->next = y->save_retry;
			y->save_retry = sv;
			y->saver_busy = false;
			continue;
		}
		pthread_mutex_lock(&y->lock);
		y->saver_busy = false;
		if (sv->retried) {
			/* saved at last: a dirty mark only it had is in the
			 * database now, and its upload can be queued */
			y->requeue = true;
			pthread_cond_broadcast(&y->cond);
			y->kicked = true;
		}
		free(sv);
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

/* The dirty files found at start (meta_foreach_dirty holds the database,
 * under which no node may be loaded). */
struct dirty_list {
	uint64_t *ino;
	size_t n, cap;
};

static int note_dirty(void *arg, const struct meta_entry *e)
{
	struct dirty_list *l = arg;

	if (!S_ISREG(e->mode) || e->parent == 0)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->ino = xrealloc(l->ino, l->cap * sizeof(*l->ino));
	}
	l->ino[l->n++] = e->ino;
	return 0;
}

/*
 * Queues the upload of every dirty file that a stop left without one
 * after its last setattr. An upload sends the data and mtime the file has
 * when it runs, so one queued before a utimens sends what later writes
 * made, and the setattr after it would put the older mtime back; the
 * close that queues the upload behind the setattr is what a stop can
 * take (a writer still open at a crash). Each is loaded first: its entry
 * gets the size its data file says (a crash comes before the size of the
 * last writes is recorded), so that status and stat agree with what is
 * uploaded.
 */
static int requeue_dirty(struct sync *y, const char *why)
{
	struct dirty_list l = { NULL, 0, 0 };
	struct node *n;
	size_t i;
	int rc;

	rc = meta_foreach_dirty(y->meta, note_dirty, &l);
	for (i = 0; i < l.n && !rc; i++) {
		if (store_node_get(y->store, l.ino[i], &n) == 0)
			store_node_put(y->store, n);
		if (meta_journal_has_upload_last(y->meta, l.ino[i]))
			continue;
		log_info("inode %llu: upload %s", (unsigned long long)l.ino[i],
			 why);
		rc = sync_queue_upload(y, l.ino[i]);
	}
	free(l.ino);
	return rc;
}

/* Stops the saver after it has saved everything queued; from then on the
 * store saves inline. Runs with the other workers stopped. */
static void stop_saver(struct sync *y)
{
	pthread_mutex_lock(&y->lock);
	y->stop = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->save_thread, NULL);
	store_set_defer(y->store, NULL, NULL);
}

/* Stops the n workers started (the journal worker, the poller, the
 * refresher, in that order) and the saver: a start that failed. */
static int start_failed(struct sync *y, int n)
{
	pthread_mutex_lock(&y->lock);
	y->stop_workers = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
	if (n > 0)
		pthread_join(y->journal_thread, NULL);
	if (n > 1)
		pthread_join(y->poll_thread, NULL);
	if (n > 2)
		pthread_join(y->refresh_thread, NULL);
	while (y->nahead_threads > 0)
		pthread_join(y->ahead_threads[--y->nahead_threads], NULL);
	stop_saver(y);
	return -EAGAIN;
}

int sync_start(struct sync *y, const struct sync_notify *notify)
{
	int64_t pending;
	int rc, i;

	if (notify)
		y->notify = *notify;
	rc = store_recover(y->store);
	if (!rc)
		rc = requeue_dirty(y, "resumes after a restart");
	if (rc)
		return rc;
	pending = meta_journal_count(y->meta);
	if (pending > 0)
		log_info("%lld remote operations pending from before; "
			 "resuming", (long long)pending);
	if (pthread_create(&y->save_thread, NULL, save_thread, y))
		return -EAGAIN;
	store_set_defer(y->store, defer_save, y);
	if (pthread_create(&y->journal_thread, NULL, journal_thread, y))
		return start_failed(y, 0);
	if (pthread_create(&y->poll_thread, NULL, poll_thread, y))
		return start_failed(y, 1);
	if (pthread_create(&y->refresh_thread, NULL, refresh_thread, y))
		return start_failed(y, 2);
	for (i = 0; i < AHEAD_THREADS; i++) {
		if (i && sysconf(_SC_NPROCESSORS_ONLN) <= 2)
			break;
		if (pthread_create(&y->ahead_threads[i], NULL, ahead_thread, y))
			return start_failed(y, 3);
		y->nahead_threads++;
	}
	y->started = true;
	return 0;
}

void sync_stop(struct sync *y)
{
	if (!y || !y->started)
		return;
	pthread_mutex_lock(&y->lock);
	y->stop_workers = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->journal_thread, NULL);
	pthread_join(y->poll_thread, NULL);
	pthread_join(y->refresh_thread, NULL);
	while (y->nahead_threads > 0)
		pthread_join(y->ahead_threads[--y->nahead_threads], NULL);
	y->started = false;
	y->saver_only = true;
}

void sync_free(struct sync *y)
{
	int i;

	if (!y)
		return;
	sync_stop(y);
	if (y->saver_only)
		stop_saver(y);
	for (i = 0; i < DROPPED_KEEP; i++)
		free(y->dropped_what[i]);
	free(y->refresh_q);
	free(y->ahead_q);
	free(y->listing);
	pthread_cond_destroy(&y->listed_cond);
	pthread_rwlock_destroy(&y->list_lock);
	pthread_cond_destroy(&y->cond);
	pthread_mutex_destroy(&y->lock);
	free(y);
}
