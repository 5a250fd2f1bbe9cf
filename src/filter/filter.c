/*
 * The filter stack and, at its bottom, the local store executing what
 * every filter passed.
 *
 * The stack is a fixed table, highest first; a filter whose enabled()
 * says no for this mount is left out. filter_run() calls the pre hooks
 * top-down until one completes the op, runs the store if none did, then
 * the post hooks bottom-up of the filters that saw the op.
 */
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

/* At most this many entries a page of a listing (op->size asks for
 * fewer, 256 if it is 0). */
#define FILTER_READDIR_MAX 4096

/* The built-in filters, highest first. Register a new one here. */
static const struct filter_ops *const builtin[] = {
	&trace_filter,
	&cloudfiles_filter,
	/* below cloudfiles: its mark is set before the upload is queued */
	&clone_filter,
};

static const char *const fop_names[FOP_COUNT] = {
	[FOP_LOOKUP] = "lookup", [FOP_GETATTR] = "getattr",
	[FOP_SETATTR] = "setattr", [FOP_READLINK] = "readlink",
	[FOP_MKNOD] = "mknod", [FOP_MKDIR] = "mkdir",
	[FOP_SYMLINK] = "symlink", [FOP_UNLINK] = "unlink",
	[FOP_RMDIR] = "rmdir", [FOP_RENAME] = "rename", [FOP_LINK] = "link",
	[FOP_OPEN] = "open", [FOP_CREATE] = "create", [FOP_READ] = "read",
	[FOP_WRITE] = "write", [FOP_FLUSH] = "flush",
	[FOP_RELEASE] = "release", [FOP_FSYNC] = "fsync",
	[FOP_OPENDIR] = "opendir", [FOP_READDIR] = "readdir",
	[FOP_STATFS] = "statfs", [FOP_SETXATTR] = "setxattr",
	[FOP_GETXATTR] = "getxattr", [FOP_LISTXATTR] = "listxattr",
	[FOP_REMOVEXATTR] = "removexattr", [FOP_COPY] = "copy_file_range",
	[FOP_PIN] = "pin", [FOP_HYDRATE] = "hydrate", [FOP_FREE] = "free",
	[FOP_SYNC] = "sync", [FOP_REFRESH] = "refresh", [FOP_CLONE] = "clone",
	[FOP_STATUS] = "status",
};

const char *fop_name(enum fop_kind kind)
{
	return kind < FOP_COUNT ? fop_names[kind] : "?";
}

int filter_stack_init(struct fs *fs)
{
	size_t i;
	int rc;

	rc = pend_init(fs);
	if (rc)
		return rc;
	fs->filters = xcalloc(CD_ARRAY_SIZE(builtin), sizeof(*fs->filters));
	fs->nfilters = 0;
	for (i = 0; i < CD_ARRAY_SIZE(builtin); i++) {
		struct filter *f = &fs->filters[fs->nfilters];

		if (builtin[i]->enabled && !builtin[i]->enabled(&fs->env))
			continue;
		f->ops = builtin[i];
		f->env = &fs->env;
		rc = f->ops->init ? f->ops->init(f) : 0;
		if (rc) {
			log_error("filter %s: cannot start: %s", f->ops->name,
				  strerror(-rc));
			filter_stack_release(fs);
			return rc;
		}
		fs->nfilters++;
	}
	return 0;
}

void filter_stack_release(struct fs *fs)
{
	int i;

	for (i = fs->nfilters - 1; i >= 0; i--)
		if (fs->filters[i].ops->release)
			fs->filters[i].ops->release(&fs->filters[i]);
	free(fs->filters);
	fs->filters = NULL;
	fs->nfilters = 0;
	pend_release(fs);
	fast_vetoes_free(&fs->env);
}

/* Fills op->st from op->entry. */
static void entry_stat(struct fs *fs, struct fop *op)
{
	store_fill_stat(fs->env.store, &op->entry, &op->st);
}

static void exec_lookup(struct fs *fs, struct fop *op)
{
	op->result = meta_lookup(fs->env.store->meta, op->ino, op->name,
				 &op->entry);
	if (!op->result)
		entry_stat(fs, op);
}

static void exec_getattr(struct fs *fs, struct fop *op)
{
	op->result = meta_get(fs->env.store->meta, op->ino, &op->entry);
	if (!op->result)
		entry_stat(fs, op);
}

static void exec_setattr(struct fs *fs, struct fop *op)
{
	op->result = store_setattr(fs->env.store, op->ino, &op->attr,
				   op->to_set, op->jop, &op->entry);
	if (!op->result)
		entry_stat(fs, op);
}

static void exec_readlink(struct fs *fs, struct fop *op)
{
	op->result = meta_get(fs->env.store->meta, op->ino, &op->entry);
	if (op->result)
		return;
	if (!S_ISLNK(op->entry.mode) || !op->entry.link) {
		op->result = -EINVAL;
		return;
	}
	op->out = xstrdup(op->entry.link);
	op->out_len = strlen(op->out);
}

static void exec_mknod(struct fs *fs, struct fop *op)
{
	struct store_new nw = {
		.mode = op->mode, .uid = op->uid, .gid = op->gid,
		.link = op->link,
	};

	if (op->kind == FOP_MKDIR)
		nw.mode = S_IFDIR | (nw.mode & 07777);
	else if (op->kind == FOP_SYMLINK)
		nw.mode = S_IFLNK | 0777;
	else if (!S_ISREG(nw.mode) && !meta_is_special(nw.mode)) {
		op->result = -EPERM;
		return;
	}
	nw.rdev = op->rdev;
	op->result = store_mknod(fs->env.store, op->ino, op->name, &nw,
				 op->jop, &op->entry);
	if (!op->result)
		entry_stat(fs, op);
}

static void exec_release(struct fs *fs, struct fop *op);

/*
 * A close (flush comes with every close, release only after it returned):
 * the size and mtime of what a writer wrote are recorded now, so that a
 * crash after close() returned finds them as the program left them.
 */
static int exec_flush(struct fs *fs, struct fop *op)
{
	struct node *n = op->file->n;
	struct node_state st;

	if (!op->file->writer)
		return 0;
	store_node_snapshot(n, &st);
	return st.dirty ? store_node_commit(fs->env.store, n) : 0;
}

int filter_clone_commit(struct filter_env *env, struct node *n,
			uint64_t size)
{
	return store_node_copied(env->store, n, size);
}

/*
 * clonedrive cp of a file whose copy no filter made: the bytes of
 * op->src_fd are stored in the cache (and dropped once uploaded, as the
 * client keeps the original).
 */
static int exec_clone(struct fs *fs, struct fop *op)
{
	struct node *n;
	struct stat st;
	int rc;

	if (fstat(op->src_fd, &st) < 0)
		return -errno;
	rc = store_node_get(fs->env.store, op->ino, &n);
	if (rc)
		return rc;
	rc = residency_admit_write(fs->env.res, (uint64_t)st.st_size);
	if (!rc)
		rc = util_copy(op->src_fd, store_node_cache_fd(n),
			       (uint64_t)st.st_size, NULL, NULL);
	if (!rc) {
		stats_add(&fs->env.stats, clone_stored_bytes,
			  (uint64_t)st.st_size);
		rc = filter_clone_commit(&fs->env, n, (uint64_t)st.st_size);
	}
	store_node_put(fs->env.store, n);
	return rc;
}

/* Opens the node of op->entry (or op->ino) into a new file handle. */
static void exec_open(struct fs *fs, struct fop *op)
{
	struct file *file;
	struct node_state nst;
	struct node *n;
	int acc = op->flags & O_ACCMODE;
	bool trunc;

	if (op->kind == FOP_CREATE) {
		exec_mknod(fs, op);
		if (op->result)
			return;
	}
	op->result = store_node_get(fs->env.store,
				    op->kind == FOP_CREATE ? op->entry.ino
							   : op->ino, &n);
	if (op->result)
		return;
	file = xcalloc(1, sizeof(*file));
	file->n = n;
	file->flags = (int)op->flags;
	file->writer = acc == O_WRONLY || acc == O_RDWR;
	file->clone_fd = -1;
	store_node_opened(n, file->writer, &nst);
	file->version = nst.version;
	if (!file->writer && nst.size > 0) {
		uint64_t base;

		file->placeholder = store_held(fs->env.store,
					       store_node_ino(n), &base) == 0;
	}
	trunc = op->kind == FOP_OPEN && file->writer &&
		(op->flags & O_TRUNC) && nst.size > 0;
	op->file = file;
	if (trunc) {
		/* O_TRUNC comes with the open (atomic_o_trunc, which libfuse
		 * asks for): the kernel takes the file as empty from here */
		struct stat st = { .st_size = 0 };
		struct meta_entry e;

		op->result = store_setattr(fs->env.store, store_node_ino(n),
					   &st, STORE_SET_SIZE, NULL, &e);
		if (!op->result) {
			meta_entry_release(&e);
		} else {
			exec_release(fs, op);
			store_node_put(fs->env.store, n);
			free(file);
			op->file = NULL;
		}
	}
}

static void exec_release(struct fs *fs, struct fop *op)
{
	struct file *file = op->file;
	struct node *n = file->n;

	store_node_closed(fs->env.store, n, file->writer);
	op->result = 0;
}

/*
 * Reads from the cache file into a buffer for the reply. (Splicing from
 * the file was tried: libfuse 3.14 falls back to a slow path for replies
 * of 1 MiB, the size that keeps requests few.)
 */
static void exec_read(struct fs *fs, struct fop *op)
{
	struct node *n = op->file->n;
	ssize_t got;

	/* a handle opened on a version the remote has replaced since reads
	 * no more of it: what it read before and what it would read now
	 * are of two versions (a new open reads the new one) */
	if (store_node_replaced(n, op->file->version)) {
		op->result = -EIO;
		return;
	}
	op->out = malloc(op->size ? op->size : 1);
	if (!op->out) {
		op->result = -ENOMEM;
		return;
	}
	got = store_read(fs->env.store, op->file->n, op->out, op->size,
			 op->off);
	op->result = got < 0 ? (int)got : 0;
	op->out_len = got < 0 ? 0 : (size_t)got;
}

/* An xattr changed: a change of the inode, whose ctime moves (the
 * kernel moved the one it shows already). */
static void xattr_changed(struct meta *m, const struct fop *op)
{
	if (!op->result &&
	    meta_touch(m, op->ino, META_TIME_NONE, util_now_ns()))
		log_warn("inode %llu: its ctime is not recorded",
			 (unsigned long long)op->ino);
}

static void exec(struct fs *fs, struct fop *op)
{
	struct meta *m = fs->env.store->meta;
	ssize_t n;

	switch (op->kind) {
	case FOP_LOOKUP:
		exec_lookup(fs, op);
		break;
	case FOP_GETATTR:
		exec_getattr(fs, op);
		break;
	case FOP_SETATTR:
		exec_setattr(fs, op);
		break;
	case FOP_READLINK:
		exec_readlink(fs, op);
		break;
	case FOP_MKNOD:
	case FOP_MKDIR:
	case FOP_SYMLINK:
		exec_mknod(fs, op);
		break;
	case FOP_UNLINK:
	case FOP_RMDIR:
		op->result = store_remove(fs->env.store, op->ino, op->name,
					  op->kind == FOP_RMDIR, op->jop);
		break;
	case FOP_RENAME:
		op->result = store_rename(fs->env.store, op->ino, op->name,
					  op->newparent, op->newname,
					  op->flags, op->jop);
		break;
	case FOP_LINK:
		op->result = store_link(fs->env.store, op->ino, op->newparent,
					op->newname, op->jop, &op->entry);
		if (!op->result)
			entry_stat(fs, op);
		break;
	case FOP_OPEN:
	case FOP_CREATE:
		exec_open(fs, op);
		break;
	case FOP_READ:
		exec_read(fs, op);
		break;
	case FOP_WRITE:
		n = store_write(fs->env.store, op->file->n, op->in, op->size,
				op->off);
		op->result = (int)n;
		break;
	case FOP_FLUSH:
		op->result = exec_flush(fs, op);
		break;
	case FOP_RELEASE:
		exec_release(fs, op);
		break;
	case FOP_FSYNC:
		op->result = store_fsync(fs->env.store, op->file->n,
					 op->flags != 0);
		break;
	case FOP_OPENDIR:
		op->result = meta_get(m, op->ino, &op->entry);
		if (!op->result && !S_ISDIR(op->entry.mode))
			op->result = -ENOTDIR;
		break;
	case FOP_READDIR:
		op->result = meta_readdir(m, op->ino, op->after,
					  (int)CD_MIN(op->size ? op->size : 256,
						      FILTER_READDIR_MAX),
					  op->fill, op->fill_arg);
		if (op->result > 0)
			op->result = 0;
		break;
	case FOP_STATFS:
		op->result = remote_statfs(fs->env.remote, &op->stv);
		if (op->result) {
			/* a remote that is away still gets an answer */
			memset(&op->stv, 0, sizeof(op->stv));
			op->stv.f_bsize = op->stv.f_frsize = 4096;
			op->result = 0;
		}
		op->stv.f_namemax = fs->env.remote->name_max;
		break;
	case FOP_SETXATTR:
		op->result = meta_xattr_set(m, op->ino, op->newname, op->in,
					    op->size, (int)op->flags);
		xattr_changed(m, op);
		break;
	case FOP_GETXATTR:
		op->out = op->size ? malloc(op->size) : NULL;
		if (op->size && !op->out) {
			op->result = -ENOMEM;
			break;
		}
		op->result = meta_xattr_get(m, op->ino, op->newname, op->out,
					    op->size);
		break;
	case FOP_LISTXATTR:
		op->out = op->size ? malloc(op->size) : NULL;
		if (op->size && !op->out) {
			op->result = -ENOMEM;
			break;
		}
		op->result = meta_xattr_list(m, op->ino, op->out, op->size);
		break;
	case FOP_REMOVEXATTR:
		op->result = meta_xattr_remove(m, op->ino, op->newname);
		xattr_changed(m, op);
		break;
	case FOP_COPY:
		/* the store copies no data: the kernel falls back to reads
		 * and writes (a filter may have made a server-side copy) */
		op->result = -EOPNOTSUPP;
		break;
	case FOP_CLONE:
		op->result = exec_clone(fs, op);
		break;
	case FOP_PIN:
	case FOP_HYDRATE:
	case FOP_FREE:
	case FOP_SYNC:
	case FOP_REFRESH:
	case FOP_STATUS:
		/* the filter that owns them completes them */
	case FOP_COUNT:
		op->result = -ENOSYS;
		break;
	}
}

/* A read whose data was dropped between its hydration and the read of
 * the cache file is run again, this many times at most. */
#define READ_RETRIES 8

/*
 * Runs op from the pre hook of filter from down, then the store, then
 * the post hooks of every filter it went through, bottom-up, and tells
 * op->done. A pre hook that pends it stops the walk: the thread that ends
 * the wait calls this again from that filter (fop_wake).
 */
static void advance(struct fs *fs, struct fop *op, int from)
{
	int i, depth;

	for (;;) {
		depth = fs->nfilters;
		for (i = from; i < fs->nfilters; i++) {
			const struct filter_ops *ops = fs->filters[i].ops;
			enum filter_verdict v;

			if (!ops->pre)
				continue;
			v = ops->pre(&fs->filters[i], op);
			if (v == FILTER_PASS)
				continue;
			if (v == FILTER_DONE) {
				depth = i;
				break;
			}
			/* pending: whoever drops the last reference goes on */
			op->pend_filter = i;
			if (__atomic_sub_fetch(&op->pend_refs, 1,
					       __ATOMIC_ACQ_REL) > 0)
				return;
			i--;	/* the wait is over: this filter again */
		}
		if (depth == fs->nfilters)
			exec(fs, op);
		for (i = CD_MIN(depth, fs->nfilters - 1); i >= 0; i--)
			if (fs->filters[i].ops->post)
				fs->filters[i].ops->post(&fs->filters[i], op);
		if (op->kind != FOP_READ || op->result != -ESTALE)
			break;
		free(op->out);
		op->out = NULL;
		op->out_len = 0;
		if (++op->tries == READ_RETRIES) {
			log_error("inode %llu: data dropped under every read; "
				  "giving up", (unsigned long long)op->ino);
			op->result = -EIO;
			break;
		}
		from = 0;
	}
	fop_unpend(op);
	op->done(op);
}

void fop_wake(struct fop *op, int rc)
{
	op->waited = rc;
	if (__atomic_sub_fetch(&op->pend_refs, 1, __ATOMIC_ACQ_REL) == 0)
		advance(op->fs, op, op->pend_filter);
}

void filter_submit(struct fs *fs, struct fop *op)
{
	op->fs = fs;
	op->env = &fs->env;
	advance(fs, op, 0);
}

/* filter_run's wait for its op. */
struct waited {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void run_done(struct fop *op)
{
	struct waited *w = op->done_arg;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void filter_run(struct fs *fs, struct fop *op)
{
	struct waited w = { .done = false };

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	op->done = run_done;
	op->done_arg = &w;
	filter_submit(fs, op);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	op->done = NULL;
	op->done_arg = NULL;
	free(op->kept);
	op->kept = NULL;
}

void fop_keep_inputs(struct fop *op)
{
	size_t name = op->name ? strlen(op->name) + 1 : 0;
	size_t newname = op->newname ? strlen(op->newname) + 1 : 0;
	size_t link = op->link ? strlen(op->link) + 1 : 0;
	size_t in = op->in ? op->size : 0;
	char *p;

	if (op->kept || !(name + newname + link + in))
		return;
	p = op->kept = xmalloc(name + newname + link + in);
	if (name) {
		op->name = memcpy(p, op->name, name);
		p += name;
	}
	if (newname) {
		op->newname = memcpy(p, op->newname, newname);
		p += newname;
	}
	if (link) {
		op->link = memcpy(p, op->link, link);
		p += link;
	}
	if (in)
		op->in = memcpy(p, op->in, in);
}
