/*
 * The cloudfiles filter: what makes the local store a files-on-demand view
 * of the remote.
 *   - lookup/readdir of a directory never listed lists it from the remote
 *     first (placeholders);
 *   - a read of a range not held locally fetches it (pending the request
 *     until then, interruptible), and sequential readers get a readahead
 *     window that doubles up to RA_MAX;
 *   - a write below the part backed by the remote hydrates the range and
 *     saves the extents first, so written bytes are never mistaken for
 *     unfetched ones after a crash;
 *   - namespace changes get the journal op that tells the remote, and
 *     closing a written file queues its upload;
 *   - reads by programs the hydration policy names (indexers,
 *     thumbnailers) of data not held locally fail with the policy's errno
 *     instead of downloading;
 *   - a write first makes room in the cache (--cache-max, --min-free);
 *   - copy_file_range of a whole file that is in sync becomes a copy
 *     made by the remote itself: the destination is a placeholder at once,
 *     no data passes through the daemon or lands in the cache; anything
 *     else falls back to the kernel's reads and writes;
 *   - the user.clonedrive.* xattrs: state, pin and progress per file,
 *     stats, pending, sync and refresh on the root; other namespaces
 *     than user.* are refused cleanly (ENODATA for security.capability:
 *     never EIO).
 */
#include "common.h"

#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

#define RA_MIN (256u << 10)
/* A writer gets the fast path while this much more fits in the cache. */
#define FAST_WRITE_ROOM (1ull << 30)
#define RA_MAX (8u << 20)
#define XATTR_PREFIX "user.clonedrive."

static enum filter_verdict done(struct fop *op, int result)
{
	op->result = result;
	return FILTER_DONE;
}

static void interrupt_cb(void *arg)
{
	fetch_interrupt(arg);
}

/* The errno a reader gets for a fetch that failed: that data is
 * unavailable, not why (the log says): a remote away, or an object gone,
 * is EIO. */
static int fetch_errno(int rc)
{
	if (rc && rc != -EINTR && rc != -ENOSPC && rc != -EDQUOT &&
	    rc != -ENOMEM)
		return -EIO;
	return rc;
}

/* Makes [off, off+len) of the op's file local, waiting interruptibly. */
static int hydrate(struct filter_env *env, struct fop *op, uint64_t off,
		   uint64_t len)
{
	struct node *n = op->file->n;
	struct fetch_waiter w;
	char *path;
	int rc;

	if (store_node_holds(n, off, len))
		return 0;
	rc = store_node_remote_path(env->store, n, &path);
	if (rc)
		return rc == -ENOENT ? -EIO : rc;
	fetch_waiter_init(&w, env->fetcher, n);
	if (op->set_interrupt)
		op->set_interrupt(op, interrupt_cb, &w);
	rc = fetch_range(env->fetcher, n, path, off, len, &w);
	if (rc == -ENOENT) {
		/* a queued rename was made on the remote meanwhile */
		char *now;

		if (!store_node_remote_path(env->store, n, &now)) {
			if (strcmp(now, path) != 0)
				rc = fetch_range(env->fetcher, n, now, off,
						 len, &w);
			free(now);
		}
	}
	if (op->set_interrupt)
		op->set_interrupt(op, NULL, NULL);
	free(path);
	return fetch_errno(rc);
}

/* --- waits that hold no thread (pend.c) ---------------------------------- */

/* Where a pending op stopped, in op->stage. */
enum {
	STAGE_NONE,
	STAGE_HYDRATE,		/* a fetch of its range */
	STAGE_HYDRATE_AGAIN,	/* the same, after the object had moved */
	STAGE_ROOM,		/* a write: uploads to make room */
	STAGE_ADMITTED,		/* a write: room made */
	STAGE_LIST,		/* a directory listing */
	STAGE_COPY_IDLE,	/* a server-side copy: earlier changes out */
	STAGE_COPY,		/* a server-side copy: made on the remote */
	STAGE_SYNC,		/* user.clonedrive.sync: the journal empty */
};

static void wait_interrupted(void *arg)
{
	fop_cancel_wait(arg);
}

static void fetch_interrupted(void *arg)
{
	struct fop *op = arg;

	if (fetch_async_cancel(&op->fetch))
		fop_wake(op, -EINTR);
}

static void fetch_woke(void *arg, int rc)
{
	fop_wake(arg, rc);
}

/* The end of a wait: no more interrupts; its outcome. */
static int resumed(struct fop *op)
{
	if (op->set_interrupt)
		op->set_interrupt(op, NULL, NULL);
	op->stage = STAGE_NONE;
	return op->waited;
}

/* Pends op on the slow lane for work (a remote round trip). */
static enum filter_verdict pend_lane(struct fop *op, int stage,
				     int (*work)(struct fop *op))
{
	op->stage = stage;
	if (op->set_interrupt)
		op->set_interrupt(op, wait_interrupted, op);
	return fop_defer(op, work);
}

/* Pends op until the sync engine is idle: the journal drained. */
static int idle_ready(struct fop *op)
{
	return sync_idle(op->env->sync, op->since_ns);
}

/* op->since_ns, when the wait began, may be set by the caller: a sync of
 * the CLI asks again every 200 ms, and the second it waits at most for
 * the releases of writers just closed counts from its first ask. */
static enum filter_verdict pend_idle(struct filter_env *env, struct fop *op,
				     int stage, uint64_t timeout_ms)
{
	op->stage = stage;
	if (!op->since_ns)
		op->since_ns = util_now_mono_ns();
	sync_hurry(env->sync, 1);
	if (op->set_interrupt)
		op->set_interrupt(op, wait_interrupted, op);
	return fop_wait_until(op, idle_ready, timeout_ms);
}

/*
 * Pends op until [off, off+len) of its file is local. Its pre hook runs
 * again then (STAGE_HYDRATE, or _AGAIN after a fetch found the object
 * moved by a queued rename) and checks the range again.
 */
static enum filter_verdict hydrate_pend(struct filter_env *env, struct fop *op,
					uint64_t off, uint64_t len, int stage)
{
	struct node *n = op->file->n;
	char *path;
	int rc;

	rc = store_node_remote_path(env->store, n, &path);
	if (rc)
		return done(op, rc == -ENOENT ? -EIO : rc);
	op->stage = stage;
	if (!fop_pend(op)) {
		/* over the limit of requests pending: wait here */
		free(path);
		return fop_woken(op, hydrate(env, op, off, len));
	}
	fetch_async_init(&op->fetch, env->fetcher, n, fetch_woke, op);
	if (op->set_interrupt)
		op->set_interrupt(op, fetch_interrupted, op);
	rc = fetch_range_async(&op->fetch, path, off, len);
	free(path);
	return rc == 1 ? FILTER_PENDING : fop_woken(op, rc);
}

/* After a fetch op pended on: -errno to fail op with, 0 to go on, or 1
 * to fetch once more (the object was renamed on the remote meanwhile). */
static int hydrate_resumed(struct fop *op)
{
	int again = op->stage == STAGE_HYDRATE, rc = resumed(op);

	if (rc == -ENOENT && again)
		return 1;
	return fetch_errno(rc);
}

/* Grows or resets the readahead window and queues the prefetch. */
static void grow_readahead(struct filter_env *env, struct fop *op)
{
	struct node *n = op->file->n;
	uint64_t start, len;
	char *path;

	len = store_node_readahead(n, op->off, op->size, RA_MIN, RA_MAX,
				   &start);
	if (!len || store_node_remote_path(env->store, n, &path))
		return;
	fetch_prefetch(env->fetcher, n, path, start, len);
	free(path);
}

/* --- the hydration policy ------------------------------------------------ */

static const struct {
	const char *name;
	int err;
} policy_errnos[] = {
	{ "EAGAIN", EAGAIN }, { "EIO", EIO }, { "EACCES", EACCES },
	{ "EPERM", EPERM }, { "ENODATA", ENODATA }, { "ETIMEDOUT", ETIMEDOUT },
};

int policy_parse_errno(const char *name)
{
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(policy_errnos); i++)
		if (strcasecmp(name, policy_errnos[i].name) == 0)
			return policy_errnos[i].err;
	return 0;
}

void policy_init(struct hydration_policy *p, const char *names, int err)
{
	char *copy, *name, *save = NULL;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->err = err ? err : EAGAIN;
	if (!names)
		return;
	copy = xstrdup(names);
	for (name = strtok_r(copy, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (!*name)
			continue;
		p->programs = xrealloc(p->programs,
				       (p->count + 1) * sizeof(*p->programs));
		p->programs[p->count++] = xstrdup(name);
	}
	free(copy);
}

void policy_release(struct hydration_policy *p)
{
	size_t i;

	for (i = 0; i < p->count; i++)
		free(p->programs[i]);
	free(p->programs);
	pthread_mutex_destroy(&p->lock);
}

/*
 * Whether the policy refuses a hydrating read to the requesting program,
 * known by its executable's name or, failing that, its command name
 * (which the kernel cuts at 15 bytes).
 */
/* The policy's entry naming op's program, or -1. */
static int policy_match(struct filter_env *env, const struct fop *op)
{
	struct hydration_policy *p = &env->policy;
	char exe[PATH_MAX], comm[64], path[64];
	const char *base = NULL;
	ssize_t n;
	size_t i;

	if (!p->count || op->pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)op->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		base = strrchr(exe, '/');
		base = base ? base + 1 : exe;
	}
	util_proc_line(op->pid, "comm", comm, sizeof(comm));
	for (i = 0; i < p->count; i++) {
		const char *want = p->programs[i];

		if ((base && strcmp(base, want) == 0) ||
		    (*comm && strncmp(comm, want, 15) == 0 &&
		     strlen(comm) == CD_MIN(strlen(want), (size_t)15)))
			break;
	}
	return i == p->count ? -1 : (int)i;
}

static bool policy_blocks(struct filter_env *env, const struct fop *op)
{
	struct hydration_policy *p = &env->policy;
	char when[32];
	struct tm tm;
	time_t now;
	int i = policy_match(env, op);

	if (i < 0)
		return false;
	stats_add(&env->stats, hydrations_blocked, 1);
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	pthread_mutex_lock(&p->lock);
	snprintf(p->last, sizeof(p->last), "%s (pid %d) at %s, inode %llu",
		 p->programs[i], (int)op->pid, when,
		 (unsigned long long)op->ino);
	pthread_mutex_unlock(&p->lock);
	log_info("hydration policy: refused a read of inode %llu to %s "
		 "(pid %d)", (unsigned long long)op->ino, p->programs[i],
		 (int)op->pid);
	return true;
}

/* --- server-side copies -------------------------------------------------- */

/* How long a copy waits for earlier changes to reach the remote (a copy
 * must not overtake the mkdir of its directory); after that it falls
 * back to an ordinary copy. */
#define COPY_WAIT_MS 5000
/* The most one reply may say was copied (the kernel's reply is 32-bit);
 * the caller asks again for the rest. */
#define COPY_REPLY_MAX (1u << 30)

/*
 * A copy_file_range of [off, off+len) of op->file to the same offset of
 * op->file2. The first call of a whole-file copy (both offsets 0, an
 * empty destination, a source in sync) makes the copy on the remote; the
 * calls that follow for the rest of it find it done. copy_plan says: 1
 * for a copy to make on the remote (*gen, etag: the destination's write
 * generation and the source's version it is made of), else the answer: a
 * count "copied", or -EOPNOTSUPP for the kernel to copy by reads and
 * writes.
 */
static int copy_plan(struct fop *op, uint64_t *gen, char *etag,
		     uint64_t *sizep)
{
	struct node *src = op->file->n, *dst = op->file2->n;
	struct node_state from, to;
	uint64_t size;
	bool whole, rest;

	if (src == dst || op->off != op->off2)
		return -EOPNOTSUPP;
	store_node_snapshot(src, &from);
	size = from.size;
	whole = !from.dirty && !from.uploading && !from.error &&
		from.etag[0] && from.base == size;
	snprintf(etag, REMOTE_ETAG_MAX, "%s", from.etag);
	if (!whole || op->off >= size)
		return -EOPNOTSUPP;
	store_node_snapshot(dst, &to);
	rest = op->off > 0 && !to.dirty &&
	       to.copy_of == store_node_ino(src) &&
	       strcmp(to.copy_etag, etag) == 0 && to.size == size;
	whole = op->off == 0 && to.size == 0 && op->size >= size;
	*gen = to.write_gen;
	*sizep = size;
	if (rest)
		return (int)CD_MIN(CD_MIN(size - op->off, (uint64_t)op->size),
				   (uint64_t)COPY_REPLY_MAX);
	return whole ? 1 : -EOPNOTSUPP;
}

/* The slow lane's part of a server-side copy: made on the remote, after
 * earlier changes reached it. */
static int copy_work(struct fop *op)
{
	struct filter_env *env = op->env;
	struct node *src = op->file->n, *dst = op->file2->n;
	char etag[REMOTE_ETAG_MAX], *from = NULL, *to = NULL;
	struct remote_attr a;
	struct meta_entry e;
	uint64_t gen, size;
	int rc;

	rc = copy_plan(op, &gen, etag, &size);
	if (rc != 1)
		return rc;
	rc = store_node_path(env->store, src, &from);
	if (!rc)
		rc = store_node_path(env->store, dst, &to);
	if (!rc)
		rc = meta_get(env->store->meta, store_node_ino(dst), &e);
	if (!rc) {
		struct remote_meta m = store_remote_meta(env->store, &e);

		meta_entry_release(&e);
		m.mtime_ns = util_now_ns();
		rc = remote_copy(env->remote, from, etag, to, &m, &a);
	}
	if (!rc)
		rc = store_node_adopt(env->store, dst, gen, &a,
				      store_node_ino(src), etag);
	if (rc) {
		log_debug("copy of %s to %s on the remote: %s; copying by "
			  "reads and writes", from ? from : "?",
			  to ? to : "?", strerror(-rc));
		rc = -EOPNOTSUPP;
	} else {
		stats_add(&env->stats, server_copies, 1);
		stats_add(&env->stats, server_copied_bytes, size);
		rc = (int)CD_MIN(size, (uint64_t)COPY_REPLY_MAX);
	}
	free(from);
	free(to);
	return rc;
}

/* copy_file_range: a copy made by the remote where it can be; it waits
 * (pending) for earlier changes to reach the remote, then for the copy. */
static enum filter_verdict server_copy(struct filter_env *env, struct fop *op)
{
	char etag[REMOTE_ETAG_MAX];
	uint64_t gen, size;
	int rc;

	switch (op->stage) {
	case STAGE_COPY_IDLE:
		sync_hurry(env->sync, -1);
		if (resumed(op))
			return done(op, -EOPNOTSUPP);
		return pend_lane(op, STAGE_COPY, copy_work);
	case STAGE_COPY:
		rc = resumed(op);
		return done(op, rc == -EINTR || rc == -ECANCELED ? -EOPNOTSUPP
								  : rc);
	default:
		rc = copy_plan(op, &gen, etag, &size);
		if (rc != 1)
			return done(op, rc);
		/* a copy must not overtake the mkdir of its directory */
		return pend_idle(env, op, STAGE_COPY_IDLE, COPY_WAIT_MS);
	}
}

/* The remote operation each namespace change of one name becomes. */
static const enum jop_kind remote_change[FOP_COUNT] = {
	[FOP_MKDIR] = JOP_MKDIR,
	[FOP_SYMLINK] = JOP_SYMLINK,
	[FOP_UNLINK] = JOP_UNLINK,
	[FOP_RMDIR] = JOP_RMDIR,
	[FOP_RENAME] = JOP_RENAME,
	[FOP_LINK] = JOP_LINK,
};

/*
 * The remote version of the file a rename replaces (parent, name), which
 * the remote must still have for the rename to replace it; NULL if there
 * is no file there; "" for a file of ours never uploaded yet (its upload
 * may be in flight or queued before the rename: whatever it puts there
 * is ours to replace), for an extra name (a hard link) of a file, a
 * symlink and a special file. *replaced gets the file's inode (0 if none): the
 * ops of ours queued before the rename that give it a new version make
 * the rename expect that one (meta_journal_rematch). Caller frees.
 */
static char *replaced_version(struct filter_env *env, uint64_t parent,
			      const char *name, uint64_t moved,
			      uint64_t *replaced)
{
	char *etag = NULL;
	struct meta_entry e;
	struct node *n;

	*replaced = 0;
	if (meta_lookup(env->store->meta, parent, name, &e))
		return NULL;
	/* an extra name's object is the drive's copy of the file's, kept
	 * so by every upload of it (not the version the entry records);
	 * a symlink or a special file has no version: whatever is there
	 * is ours to replace, as for a file of ours never uploaded (see
	 * adopt_replaced() for a moved file not on the remote yet) */
	if (!S_ISDIR(e.mode) && e.ino != moved &&
	    (e.alias || !S_ISREG(e.mode))) {
		etag = xstrdup("");
	} else if (S_ISREG(e.mode) && e.ino != moved) {
		*replaced = e.ino;
		n = store_node_find(env->store, e.ino);	/* newer, if loaded */
		if (n) {
			struct node_state st;

			/* an upload in flight puts a version of ours there */
			store_node_snapshot(n, &st);
			snprintf(e.etag, sizeof(e.etag), "%s",
				 st.uploading ? "" : st.etag);
			store_node_put(env->store, n);
		}
		etag = xstrdup(e.etag);
	}
	meta_entry_release(&e);
	return etag;
}

/* Builds the journal op of a namespace change; the store gives it its
 * paths when it commits the change. */
static void make_jop(struct filter_env *env, struct fop *op, enum jop_kind kind)
{
	struct jop *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	if (kind == JOP_RENAME) {
		struct meta_entry e;
		uint64_t replaced;

		j->arg = op->flags;
		/* the entry moved, whose remote version the rename may
		 * change (a remote that renames by copying) */
		if (meta_lookup(env->store->meta, op->ino, op->name, &e) == 0) {
			/* not an extra name: its remote version is not the
			 * one the entry records */
			j->ino = e.alias ? 0 : e.ino;
			j->moved = e.alias ? e.ino : 0;
			if (S_ISREG(e.mode))
				j->arg |= JOP_MOVES_FILE;
			meta_entry_release(&e);
		}
		j->match = replaced_version(env, op->newparent, op->newname,
					    j->ino, &replaced);
		j->arg2 = (int64_t)replaced;
	}
	if (kind == JOP_MKDIR)
		j->arg = op->mode & 07777;
	if (kind == JOP_SYMLINK)
		j->path2 = xstrdup(op->link);
	if (kind == JOP_MKNOD) {
		j->arg = op->mode & (S_IFMT | 07777);
		if (S_ISCHR(op->mode) || S_ISBLK(op->mode))
			j->arg2 = (int64_t)op->rdev;
	}
	op->jop = j;
}

static void setattr_jop(struct fop *op)
{
	struct jop *j;

	/* the owner goes with it (the entry's, when it is done) */
	if (!(op->to_set & (STORE_SET_MODE | STORE_SET_MTIME |
			    STORE_SET_MTIME_NOW | STORE_SET_UID |
			    STORE_SET_GID)))
		return;
	j = xcalloc(1, sizeof(*j));
	j->kind = JOP_SETATTR;
	j->ino = op->ino;
	j->arg = op->to_set & STORE_SET_MODE
			 ? (int64_t)(op->attr.st_mode & 07777) : -1;
	if (op->to_set & STORE_SET_MTIME_NOW)
		j->arg2 = util_now_ns();
	else if (op->to_set & STORE_SET_MTIME)
		j->arg2 = util_ts_ns(&op->attr.st_mtim);
	else
		j->arg2 = INT64_MIN;
	op->jop = j;
}

char *cloudfiles_copy_source(struct filter_env *env, uint64_t ino, bool *backed)
{
	struct meta_clone c;
	char *path;

	if (meta_clone_get(env->store->meta, ino, &c))
		return NULL;
	path = c.source;
	if (backed)
		*backed = c.backed;
	c.source = NULL;
	meta_clone_release(&c);
	return path;
}

const char *cloudfiles_state(struct filter_env *env, uint64_t ino)
{
	struct meta_entry e;
	const char *state = NULL;
	uint64_t have, base;
	struct node *n;
	bool dirty;

	if (meta_get(env->store->meta, ino, &e))
		return "error";
	meta_entry_release(&e);
	if (!S_ISREG(e.mode))
		return e.error ? "error" : "hydrated";
	dirty = e.dirty;
	n = store_node_find(env->store, ino);
	if (n) {
		struct node_state st;

		store_node_snapshot(n, &st);
		dirty = st.dirty;
		if (st.error)
			state = "error";
		else if (st.uploading ||
			 (st.dirty && st.copy && st.writers == 0))
			state = "uploading";	/* a copy: on its way */
		store_node_put(env->store, n);
	} else if (e.error) {
		state = "error";
	}
	if (state)
		return state;
	if (dirty && !n) {
		struct meta_clone c;

		if (meta_clone_get(env->store->meta, ino, &c) == 0) {
			meta_clone_release(&c);
			return "uploading";	/* a copy waiting for it */
		}
	}
	if (dirty)
		return "dirty";
	have = store_held(env->store, ino, &base);
	if (base == 0 || have >= base)
		return "hydrated";
	return have ? "partial" : "placeholder";
}

/* user.clonedrive.stats: the counters, and what the store holds now. */
static char *stats_text(struct filter_env *env)
{
	uint64_t materialized = __atomic_load_n(
		&env->store->materialized_bytes, __ATOMIC_RELAXED);
	struct textbuf o = { xstrdup(""), 0 };
	struct stats_view v;
	unsigned peak;

	stats_read(&env->stats, &v);
	v.requests_pending = pend_count(env, &peak);
	v.requests_pending_peak = peak;
	v.cache_bytes = cache_bytes(env->store->cache);
	v.uploads_pending = (uint64_t)meta_journal_count(env->store->meta);
	v.clone_stored_bytes += materialized;
	v.clone_avoided_bytes -= materialized;
	v.pid = (uint64_t)getpid();
	stats_add_text(&v, &o);
	fast_vetoes_text(env, &o);
	return o.s;
}

#define PENDING_LIST_MAX 100

struct pending_text {
	char *text;
	size_t len;
	int count;
};

static int add_pending(void *arg, const struct jop *op)
{
	struct pending_text *p = arg;
	char line[PATH_MAX * 2 + 128];
	bool two;
	int n;

	if (p->count++ >= PENDING_LIST_MAX)
		return 0;
	two = op->kind == JOP_RENAME || op->kind == JOP_LINK;
	n = snprintf(line, sizeof(line), "%s %s%s%s", sync_op_name(op->kind),
		     op->path, two ? " -> " : "", two ? op->path2 : "");
	if (op->attempts && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      " (%d failed attempts: %s)", op->attempts,
			      strerror(op->last_error));
	n = (int)CD_MIN((size_t)n, sizeof(line) - 1);
	p->text = xrealloc(p->text, p->len + (size_t)n + 2);
	memcpy(p->text + p->len, line, (size_t)n);
	p->len += (size_t)n;
	p->text[p->len++] = '\n';
	p->text[p->len] = '\0';
	return 0;
}

/* One line per pending remote operation, oldest first. */
static char *pending_text(struct filter_env *env)
{
	struct pending_text p = { xstrdup(""), 0, 0 };
	char *more;

	if (meta_journal_foreach(env->store->meta, add_pending, &p))
		log_warn("cannot list the pending remote operations");
	if (p.count > PENDING_LIST_MAX) {
		more = xasprintf("%s... and %d more\n", p.text,
				 p.count - PENDING_LIST_MAX);
		free(p.text);
		p.text = more;
	}
	return p.text;
}

char *cloudfiles_fastpath_text(struct filter_env *env, uint64_t ino)
{
	char *(*fn)(void *arg, uint64_t ino);
	char *text;

	fn = __atomic_load_n(&env->fast_opens, __ATOMIC_ACQUIRE);
	text = fn ? fn(env->fast_arg, ino) : xstrdup("");
	if (!*text) {
		free(text);
		text = xstrdup("not open\n");
	}
	return text;
}

/* Answers a getxattr of user.clonedrive.NAME. */
static enum filter_verdict get_virtual(struct filter_env *env, struct fop *op,
				       const char *name)
{
	char *text;
	size_t len;

	if (strcmp(name, "state") == 0)
		text = xstrdup(cloudfiles_state(env, op->ino));
	else if (strcmp(name, "pin") == 0)
		text = xstrdup(cloudfiles_pin_name(env, op->ino, NULL));
	else if (strcmp(name, "progress") == 0)
		text = cloudfiles_progress(env, op->ino);
	else if (strcmp(name, "source") == 0 &&
		 (text = cloudfiles_copy_source(env, op->ino, NULL)))
		;
	else if (strcmp(name, "fastpath") == 0)
		text = cloudfiles_fastpath_text(env, op->ino);
	else if (strcmp(name, "stats") == 0 && op->ino == META_ROOT_INO)
		text = stats_text(env);
	else if (strcmp(name, "pending") == 0 && op->ino == META_ROOT_INO)
		text = pending_text(env);
	else if (strcmp(name, "control") == 0 && op->ino == META_ROOT_INO &&
		 env->control_path)
		text = xstrdup(env->control_path);
	else
		return done(op, -ENODATA);
	len = strlen(text);
	if (op->size && len > op->size) {
		free(text);
		return done(op, -ERANGE);
	}
	if (op->size) {
		op->out = text;
	} else {
		free(text);
	}
	op->out_len = len;
	return done(op, (int)len);
}

/* The pin states by name, as the pin xattr takes and gives them. */
static const char *const pin_names[] = {
	[META_PIN_UNSPECIFIED] = "unspecified",
	[META_PIN_PINNED] = "pinned",
	[META_PIN_UNPINNED] = "unpinned",
};

int cloudfiles_pin_parse(const char *name)
{
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(pin_names); i++)
		if (strcmp(name, pin_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *cloudfiles_pin_name(struct filter_env *env, uint64_t ino,
				bool *inherited)
{
	enum meta_pin pin;
	uint64_t from;

	if (meta_pin_effective(env->store->meta, ino, &pin, &from))
		pin = META_PIN_UNSPECIFIED;
	if (inherited)
		*inherited = from && from != ino;
	return pin_names[pin];
}

char *cloudfiles_progress(struct filter_env *env, uint64_t ino)
{
	struct xfer_info t[XFER_KINDS];
	char *text = xstrdup(""), *more;
	size_t n, i;

	n = CD_MIN(xfers_list(&env->xfers, ino, t, CD_ARRAY_SIZE(t)),
		   CD_ARRAY_SIZE(t));
	for (i = 0; i < n; i++) {
		if (t[i].kind == XFER_RENAME)
			more = xasprintf("%s%s %llu objects\n", text,
					 xfer_kind_name(t[i].kind),
					 (unsigned long long)t[i].done);
		else
			more = xasprintf("%s%s %llu/%llu bytes %llu B/s\n",
					 text, xfer_kind_name(t[i].kind),
					 (unsigned long long)t[i].done,
					 (unsigned long long)t[i].total,
					 (unsigned long long)t[i].rate);
		free(text);
		text = more;
	}
	if (!n) {
		free(text);
		text = xstrdup("idle\n");
	}
	return text;
}

/* FOP_STATUS: what status says of op->ino, into a struct entry_status
 * in op->out (the source of a copy in op->report). */
static int entry_status(struct filter_env *env, struct fop *op)
{
	struct entry_status *es = xcalloc(1, sizeof(*es));
	struct meta_entry e;
	struct stat sb;
	int rc;

	rc = meta_get(env->store->meta, op->ino, &e);
	if (rc) {
		free(es);
		return rc;
	}
	es->mode = e.mode;
	es->size = e.size;
	es->error = e.error;
	es->state = cloudfiles_state(env, op->ino);
	es->pin = cloudfiles_pin_name(env, op->ino, &es->pin_inherited);
	if (S_ISREG(e.mode)) {
		store_fill_stat(env->store, &e, &sb);
		es->local = CD_MIN((uint64_t)sb.st_blocks * 512, e.size);
		es->spool = store_spooled(env->store, &e);
		op->report = cloudfiles_copy_source(env, op->ino, &es->backed);
	}
	meta_entry_release(&e);
	op->out = es;
	return 0;
}

/*
 * The drive's own operations (clonedrive pin, free, hydrate, sync; the
 * user.clonedrive.* xattrs): each is complete here. sync pends until
 * the journal drains.
 */
static enum filter_verdict own_op(struct filter_env *env, struct fop *op)
{
	int rc;

	switch (op->kind) {
	case FOP_PIN:
		return done(op, residency_pin(env->res, op->ino,
					      (enum meta_pin)op->flags));
	case FOP_HYDRATE:
		rc = 0;
		if (op->flags & FOP_F_PIN)
			rc = residency_pin(env->res, op->ino, META_PIN_PINNED);
		if (!rc)
			rc = residency_hydrate(env->res, op->ino, op->progress,
					       op->progress_arg, &op->report,
					       &op->left);
		return done(op, rc);
	case FOP_FREE:
		rc = residency_free_tree(env->res, op->ino, &op->report);
		if (rc == -EBUSY && op->report && !op->progress_arg)
			log_info("free: %s", op->report);
		return done(op, rc);
	case FOP_SYNC:
		if (op->stage == STAGE_SYNC) {
			sync_hurry(env->sync, -1);
			rc = resumed(op);
			if (!rc && (op->flags & FOP_F_POLL))
				rc = sync_poll_wait(env->sync, op->size);
			return done(op, rc);
		}
		return pend_idle(env, op, STAGE_SYNC, op->size);
	case FOP_REFRESH:
		sync_refresh(env->sync);
		return done(op, 0);
	case FOP_STATUS:
		return done(op, entry_status(env, op));
	default:
		return FILTER_PASS;
	}
}

/* A setxattr of user.clonedrive.NAME that is no operation (the front end
 * makes ops of pin, free, sync and refresh). */
static enum filter_verdict set_virtual(struct filter_env *env, struct fop *op,
				       const char *name)
{
	return done(op, -EPERM);
}

static bool is_user_xattr(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

/*
 * The answer to a get of an xattr outside user.*, which the drive does
 * not store. security.capability is asked before writes: "none" (never
 * EIO). The rest (SELinux labels, POSIX ACLs) are not supported: tools
 * such as ls remember that per file system and stop asking, where
 * ENODATA would cost a round trip per file.
 */
static int foreign_xattr_errno(const char *name)
{
	if (strcmp(name, "security.capability") == 0)
		return -ENODATA;
	return -EOPNOTSUPP;
}

/* Whether op would change the drive (refused on a read-only mount). */
static bool mutates(const struct fop *op)
{
	int acc = (int)op->flags & O_ACCMODE;

	switch (op->kind) {
	case FOP_MKNOD:
	case FOP_MKDIR:
	case FOP_SYMLINK:
	case FOP_UNLINK:
	case FOP_RMDIR:
	case FOP_RENAME:
	case FOP_LINK:
	case FOP_CREATE:
	case FOP_WRITE:
	case FOP_REMOVEXATTR:
	case FOP_COPY:
	case FOP_PIN:
	case FOP_FREE:
	case FOP_CLONE:
		return true;
	case FOP_SETATTR:
		return op->to_set != 0;
	case FOP_OPEN:
		return acc != O_RDONLY || (op->flags & O_TRUNC);
	case FOP_HYDRATE:	/* a fetch changes nothing; a pin does */
		return op->flags & FOP_F_PIN;
	case FOP_SETXATTR:	/* the drive's own controls stay usable */
		return strncmp(op->newname, XATTR_PREFIX,
			       strlen(XATTR_PREFIX)) != 0;
	default:
		return false;
	}
}

/*
 * -ENAMETOOLONG if op makes a name whose path is longer than the remote
 * keeps (S3's keys): said now, where the remote would refuse it later
 * and the change would stay here alone. (The entries below a directory
 * moved deeper are not measured.)
 */
static int path_errno(const struct filter_env *env, const struct fop *op)
{
	uint64_t dir = op->ino;
	const char *name;
	char *path;
	size_t len;

	switch (op->kind) {
	case FOP_CREATE:
	case FOP_MKNOD:
	case FOP_MKDIR:
	case FOP_SYMLINK:
		name = op->name;
		break;
	case FOP_RENAME:
	case FOP_LINK:
		dir = op->newparent;
		name = op->newname;
		break;
	default:
		return 0;
	}
	if (!env->remote->path_max || strlen(name) > env->remote->path_max)
		return env->remote->path_max ? -ENAMETOOLONG : 0;
	if (meta_path(env->store->meta, dir, &path))
		return 0;	/* the op itself says what is wrong */
	len = strlen(path) + (*path ? 1 : 0) + strlen(name);
	free(path);
	return len > env->remote->path_max ? -ENAMETOOLONG : 0;
}

/*
 * -ENAMETOOLONG if op names an entry by a name longer than the remote
 * keeps (never cut: two long names with one prefix would be one file).
 */
static int name_errno(const struct filter_env *env, const struct fop *op)
{
	const char *name = NULL, *newname = NULL;

	switch (op->kind) {
	case FOP_LOOKUP:
	case FOP_CREATE:
	case FOP_MKNOD:
	case FOP_MKDIR:
	case FOP_SYMLINK:
	case FOP_UNLINK:
	case FOP_RMDIR:
		name = op->name;
		break;
	case FOP_RENAME:
		name = op->name;
		newname = op->newname;
		break;
	case FOP_LINK:
		newname = op->newname;
		break;
	default:
		return 0;
	}
	if ((name && strlen(name) > env->remote->name_max) ||
	    (newname && strlen(newname) > env->remote->name_max))
		return -ENAMETOOLONG;
	return path_errno(env, op);
}

/* The slow lane's listing of the directory a lookup, opendir, rename or
 * link needs listed. */
static int list_work(struct fop *op)
{
	return sync_populate(op->env->sync,
			     op->kind == FOP_RENAME || op->kind == FOP_LINK
				     ? op->newparent
				     : op->ino);
}

/* Whether the caller may access entry ino for mask (R_OK, W_OK, X_OK),
 * by its mode, owner and group, as default_permissions has the kernel
 * check; root may anything. */
static int may(struct filter_env *env, const struct fop *op, uint64_t ino,
	       int mask)
{
	struct meta_entry e;
	struct stat st;
	unsigned bits;
	int rc;

	if (op->uid == 0)
		return 0;
	rc = meta_get(env->store->meta, ino, &e);
	if (rc)
		return rc;
	store_fill_stat(env->store, &e, &st);
	meta_entry_release(&e);
	if (st.st_uid == op->uid)
		bits = (st.st_mode >> 6) & 7;
	else if (st.st_gid == op->gid)
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	return ((unsigned)mask & ~bits) ? -EACCES : 0;
}

/*
 * The kernel checks its own requests' permissions (default_permissions);
 * the control socket's are checked here, the same way: a lookup needs
 * search permission in the directory, making a file write and search,
 * pin, hydrate and free read permission of their target.
 */
static int ctl_access(struct filter_env *env, const struct fop *op)
{
	switch (op->kind) {
	case FOP_LOOKUP:
	case FOP_OPENDIR:
		return may(env, op, op->ino, X_OK);
	case FOP_MKNOD:
		return may(env, op, op->ino, W_OK | X_OK);
	case FOP_PIN:
	case FOP_HYDRATE:
	case FOP_FREE:
		return may(env, op, op->ino, R_OK);
	default:
		return 0;
	}
}

/*
 * A rename or link makes a name in op->newparent, which must be listed
 * first (the name may be taken on the remote); then its journal op.
 */
static enum filter_verdict to_newparent(struct filter_env *env,
					struct fop *op)
{
	int rc;

	if (op->stage == STAGE_LIST) {
		rc = resumed(op);
		if (rc)
			return done(op, rc);
	} else if (!sync_listed(env->sync, op->newparent)) {
		return pend_lane(op, STAGE_LIST, list_work);
	}
	make_jop(env, op, remote_change[op->kind]);
	return FILTER_PASS;
}

static enum filter_verdict cloudfiles_pre(struct filter *f, struct fop *op)
{
	struct filter_env *env = f->env;
	enum store_write_need need;
	int stage = STAGE_HYDRATE;
	uint64_t gap;
	int rc;

	rc = name_errno(env, op);
	if (rc)
		return done(op, rc);
	/* the kernel refuses these on an ro mount already; this keeps the
	 * promise if it ever does not */
	if (env->readonly && mutates(op))
		return done(op, -EROFS);
	rc = op->ctl && op->stage == STAGE_NONE ? ctl_access(env, op) : 0;
	if (rc)
		return done(op, rc);
	switch (op->kind) {
	case FOP_LOOKUP:
	case FOP_OPENDIR:
		if (op->stage == STAGE_LIST) {
			rc = resumed(op);
			return rc ? done(op, rc) : FILTER_PASS;
		}
		if (sync_listed(env->sync, op->ino))
			return FILTER_PASS;
		return pend_lane(op, STAGE_LIST, list_work);
	case FOP_READ:
		if (op->stage == STAGE_HYDRATE ||
		    op->stage == STAGE_HYDRATE_AGAIN) {
			rc = hydrate_resumed(op);
			if (rc < 0)
				return done(op, rc);
			stage = rc ? STAGE_HYDRATE_AGAIN : STAGE_HYDRATE;
		}
		gap = store_node_read_gap(op->file->n, op->off, op->size);
		if (gap) {
			if (stage == STAGE_HYDRATE && policy_blocks(env, op))
				return done(op, -env->policy.err);
			return hydrate_pend(env, op, op->off, gap, stage);
		}
		grow_readahead(env, op);
		return FILTER_PASS;
	case FOP_WRITE:
		switch (op->stage) {
		case STAGE_NONE:
			rc = residency_admit_write_try(env->res, op->size);
			if (rc == -EAGAIN)
				return pend_idle(
					env, op, STAGE_ROOM,
					residency_write_wait_ms(env->res));
			if (rc)
				return done(op, rc);
			break;
		case STAGE_ROOM:
			sync_hurry(env->sync, -1);
			rc = residency_admit_write_after(env->res, op->size,
							 resumed(op));
			if (rc)
				return done(op, rc);
			break;
		case STAGE_HYDRATE:
		case STAGE_HYDRATE_AGAIN:
			rc = hydrate_resumed(op);
			if (rc < 0)
				return done(op, rc);
			stage = rc ? STAGE_HYDRATE_AGAIN : STAGE_HYDRATE;
			break;
		}
		op->stage = STAGE_ADMITTED;
		need = store_node_write_need(op->file->n, op->off, op->size);
		if (need == STORE_WRITE_FREE) {
			op->stage = STAGE_NONE;
			return FILTER_PASS;	/* all local: nothing to keep */
		}
		/* the old bytes around the write must be here, and known to
		 * be here after a crash, before new ones land among them */
		if (need == STORE_WRITE_FETCH)
			return hydrate_pend(env, op, op->off, op->size, stage);
		op->stage = STAGE_NONE;
		rc = store_node_save(env->store, op->file->n);
		return rc ? done(op, rc) : FILTER_PASS;
	case FOP_SYMLINK:
		/*
		 * A remote that keeps no symlinks refuses one here, where
		 * the program sees it: made only locally, it would be
		 * dropped by its upload and vanish. (Both backends keep
		 * them today.)
		 */
		if (!remote_has(env->remote, REMOTE_CAP_SYMLINK))
			return done(op, -EPERM);
		make_jop(env, op, remote_change[op->kind]);
		return FILTER_PASS;
	case FOP_MKNOD:
		if (!meta_is_special(op->mode))
			return FILTER_PASS;	/* a file: uploaded as one */
		/* a special file has no data to upload: the remote makes
		 * one of its own, or it is refused here, as a symlink */
		if (!remote_has_mknod(env->remote))
			return done(op, -EPERM);
		make_jop(env, op, JOP_MKNOD);
		return FILTER_PASS;
	case FOP_MKDIR:
	case FOP_UNLINK:
	case FOP_RMDIR:
		make_jop(env, op, remote_change[op->kind]);
		return FILTER_PASS;
	case FOP_RENAME:
		if (op->flags & ~(unsigned)RENAME_NOREPLACE)
			return done(op, -EINVAL);
		return to_newparent(env, op);
	case FOP_SETATTR:
		setattr_jop(op);
		return FILTER_PASS;
	case FOP_LINK:
		/* each name is a path on the remote, which must be able to
		 * give a file a second one (a link, or a copy it keeps) */
		if (!remote_has(env->remote, REMOTE_CAP_LINK))
			return done(op, -EPERM);
		return to_newparent(env, op);
	case FOP_COPY:
		return server_copy(env, op);
	case FOP_PIN:
	case FOP_HYDRATE:
	case FOP_FREE:
	case FOP_SYNC:
	case FOP_REFRESH:
	case FOP_STATUS:
		return own_op(env, op);
	case FOP_GETXATTR:
		if (strncmp(op->newname, XATTR_PREFIX,
			    strlen(XATTR_PREFIX)) == 0)
			return get_virtual(env, op,
					   op->newname + strlen(XATTR_PREFIX));
		return is_user_xattr(op->newname)
			       ? FILTER_PASS
			       : done(op, foreign_xattr_errno(op->newname));
	case FOP_SETXATTR:
		if (strncmp(op->newname, XATTR_PREFIX,
			    strlen(XATTR_PREFIX)) == 0)
			return set_virtual(env, op,
					   op->newname + strlen(XATTR_PREFIX));
		return is_user_xattr(op->newname) ? FILTER_PASS
						  : done(op, -EOPNOTSUPP);
	case FOP_REMOVEXATTR:
		return is_user_xattr(op->newname)
			       ? FILTER_PASS
			       : done(op, foreign_xattr_errno(op->newname));
	default:
		return FILTER_PASS;
	}
}

static void cloudfiles_post(struct filter *f, struct fop *op)
{
	struct filter_env *env = f->env;
	bool upload;

	if (op->jop) {
		if (!op->result)
			sync_kick(env->sync);
		jop_release(op->jop);
		free(op->jop);
		op->jop = NULL;
	}
	if (op->kind == FOP_WRITE && op->result > 0)
		stats_add(&env->stats, written_bytes, (uint64_t)op->result);
	if (op->result)
		return;
	if (op->kind == FOP_FLUSH && op->file->writer && !op->file->closing) {
		op->file->closing = true;
		sync_closing(env->sync, 1);
	}
	if (op->kind == FOP_RELEASE && op->file->writer) {
		struct node *n = op->file->n;
		struct node_state st;

		store_node_snapshot(n, &st);
		upload = st.dirty && st.writers == 0;
		if (upload && sync_queue_upload(env->sync, store_node_ino(n)))
			log_error("inode %llu: cannot queue its upload; it "
				  "stays dirty and is queued again once the "
				  "database can record it",
				  (unsigned long long)store_node_ino(n));
	}
	/* after its upload is queued: a sync waiting for it finds it */
	if (op->kind == FOP_RELEASE && op->file->closing) {
		op->file->closing = false;
		sync_closing(env->sync, -1);
	}
	/* mknod(2) of a file: no close of it queues its upload (clonedrive
	 * cp's FOP_CLONE queues that of its copy) */
	if (op->kind == FOP_MKNOD && !op->ctl && S_ISREG(op->entry.mode) &&
	    sync_queue_upload(env->sync, op->entry.ino))
		log_error("inode %llu: cannot queue its upload",
			  (unsigned long long)op->entry.ino);
	if (op->kind == FOP_CLONE) {
		/* a copy handed in by clonedrive cp: uploaded as written */
		struct stat st;

		if (fstat(op->src_fd, &st) == 0) {
			stats_add(&env->stats, written_bytes,
				  (uint64_t)st.st_size);
			stats_add(&env->stats, clones_detected, 1);
		}
		if (sync_queue_upload(env->sync, op->ino))
			log_error("inode %llu: cannot queue its upload",
				  (unsigned long long)op->ino);
	}
	if (op->kind == FOP_SETATTR && (op->to_set & STORE_SET_SIZE)) {
		/* a truncate of a closed file is a change to upload too */
		struct node *n = store_node_find(env->store, op->ino);
		bool open_for_write = false;

		if (n) {
			struct node_state st;

			store_node_snapshot(n, &st);
			open_for_write = st.writers > 0;
			store_node_put(env->store, n);
		}
		if (!open_for_write && sync_queue_upload(env->sync, op->ino))
			log_error("inode %llu: cannot queue its upload",
				  (unsigned long long)op->ino);
	}
}

/*
 * The fast path leaves the drive no say over reads: vetoed for programs
 * the hydration policy names (their reads are watched), and for a
 * pinned file still being hydrated (the store would say partial; this
 * says why it is). Nor over writes: vetoed for writers while the cache
 * has less than FAST_WRITE_ROOM of room left.
 */
static const char *cloudfiles_fastpath(struct filter *f, const struct fop *op)
{
	uint64_t ino = store_node_ino(op->file->n);
	struct xfer_info x;

	if (policy_match(f->env, op) >= 0)
		return "program under a hydration policy";
	/* the kernel writes a fast writer's bytes with no admission: the
	 * cache's limits, and the room its database needs, would not hold */
	if (op->file->writer && f->env->res &&
	    !residency_room_for(f->env->res, FAST_WRITE_ROOM))
		return "cache near its limit";
	if (xfers_list(&f->env->xfers, ino, &x, 1) > 0 &&
	    x.kind == XFER_HYDRATE &&
	    strcmp(cloudfiles_pin_name(f->env, ino, NULL), "pinned") == 0)
		return "pinned, still hydrating";
	return NULL;
}

const struct filter_ops cloudfiles_filter = {
	.name = "cloudfiles",
	.pre = cloudfiles_pre,
	.post = cloudfiles_post,
	.fastpath = cloudfiles_fastpath,
};
