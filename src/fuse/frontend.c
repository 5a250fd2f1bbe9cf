/*
 * The FUSE front end.
 *
 * Each handler fills a struct fop from the request, runs it through the
 * filter stack and replies exactly once. Attribute and entry timeouts are
 * long: the drive owns its metadata, and changes from the remote are
 * pushed to the kernel with invalidations. Those are queued and sent by a
 * thread of their own, never from a handler or under a lock, because the
 * kernel may need locks that a request in progress holds.
 *
 * Files are opened with keep_cache: the kernel page cache serves hydrated
 * data without calling the daemon, and is invalidated when the remote
 * version changes.
 *
 * The fast path (FUSE passthrough, Linux 6.9+): an open of a file whose
 * data is all here, that no filter vetoes, is answered with the cache
 * file as its backing file, and the kernel reads, writes and maps it
 * directly. libfuse 3.14 knows nothing of it, so the front end keeps
 * libfuse and adds two things of its own: its I/O hooks
 * (fuse_session_custom_io, on the fd libfuse mounted) see the kernel's
 * INIT and add FUSE_PASSTHROUGH to libfuse's reply, and an open on the
 * fast path is answered with raw bytes (fuse_reply_iov) carrying
 * FOPEN_PASSTHROUGH and the backing id. Which opens take it is decided
 * with the store (store_fast.c), which follows the kernel's rules: one
 * backing file per inode, never mixed with cached opens.
 */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fuse_lowlevel.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "fuse/frontend.h"
#include "fuse/passthrough_abi.h"
#include "fuse/rdplus.h"
#include "util/log.h"
#include "util/util.h"

#define FE_MAX_WRITE (1u << 20)

struct notice {
	struct notice *next;
	uint64_t ino;		/* parent for entry notices */
	char *name;		/* entry notice if non-NULL */
	bool data;
};

struct frontend {
	struct fs *fs;
	struct fuse_session *se;
	pthread_mutex_t files_lock;	/* protects files */
	struct file *files;		/* open files, to release at the end */
	struct sync_notify notify;
	pthread_mutex_t lock;		/* protects the notice queue */
	pthread_cond_t cond;
	struct notice *head;
	struct notice *tail;
	bool stop;
	pthread_t thread;
	bool mounted;
	int dev_fd;			/* the session's /dev/fuse, or -1 */
	enum fastpath_mode mode;	/* --passthrough */
	bool privileged;		/* CAP_SYS_ADMIN: may name backing
					   files */
	uint64_t init_unique;		/* the kernel's INIT (io hooks;
					   atomic, as init_seen) */
	bool init_seen;
	bool kernel_pt;			/* the kernel offered passthrough */
	const char *no_fast;		/* set at INIT: why no open takes
					   the fast path, NULL if they may
					   (atomic) */
	struct rdplus rdplus;		/* which listed names get their
					   attributes */
};

/*
 * One request: the op and what its reply needs. Requests are on the heap:
 * one that pends is answered later, from the thread that ends its wait,
 * after its worker went back to the kernel.
 */
struct fe_op {
	struct fop op;
	fuse_req_t req;
	struct frontend *fe;
	void (*reply)(struct fe_op *o);
	void (*fn)(void *arg);		/* the filter's interrupt hook */
	void *arg;
	bool armed;			/* libfuse has our interrupt hook */
	struct fuse_file_info fi;	/* open, create */
};

/* The request whose interrupt hook this thread runs: libfuse holds its
 * lock, so the hook may neither be set nor cleared through libfuse. */
static __thread struct fe_op *interrupting;

static struct fe_op *fe_op_of(struct fop *op)
{
	return (struct fe_op *)((char *)op - offsetof(struct fe_op, op));
}

static void interrupt_trampoline(fuse_req_t req, void *data)
{
	struct fe_op *o = data, *was = interrupting;

	interrupting = o;
	if (o->fn)
		o->fn(o->arg);	/* may complete o: it is not touched after */
	interrupting = was;
}

static void set_interrupt(struct fop *op, void (*fn)(void *arg), void *arg)
{
	struct fe_op *o = fe_op_of(op);

	o->fn = fn;
	o->arg = arg;
	if (interrupting == o)
		return;
	if (fn) {
		o->armed = true;
		fuse_req_interrupt_func(o->req, interrupt_trampoline, o);
	} else if (o->armed) {
		/* waits for a hook running on another thread to return */
		fuse_req_interrupt_func(o->req, NULL, NULL);
		o->armed = false;
	}
}

static struct frontend *fe_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void track_file(struct frontend *fe, struct file *file)
{
	pthread_mutex_lock(&fe->files_lock);
	file->prev = NULL;
	file->next = fe->files;
	if (fe->files)
		fe->files->prev = file;
	fe->files = file;
	pthread_mutex_unlock(&fe->files_lock);
}

static void untrack_file(struct frontend *fe, struct file *file)
{
	pthread_mutex_lock(&fe->files_lock);
	if (file->prev)
		file->prev->next = file->next;
	else
		fe->files = file->next;
	if (file->next)
		file->next->prev = file->prev;
	pthread_mutex_unlock(&fe->files_lock);
}

static void push_notice(struct frontend *fe, uint64_t ino, const char *name,
			bool data);

/*
 * Uncounts file's mode with the store before its release runs (a change
 * written on the fast path is then the release's to upload), and gives
 * the kernel back the backing file of the inode's last fast open. A new
 * remote version that waited for that close is told to the kernel,
 * which cached the old one's size (the poll told it while the node
 * still had it).
 */
static void fast_close(struct frontend *fe, struct file *file)
{
	struct store *s = fe->fs->env.store;
	uint32_t id32;
	bool reset;
	int id, rc;

	rc = store_node_fast_close(s, file->n, file->fast, file->writer, &id,
				   &reset);
	if (rc)
		log_error("inode %llu: cannot record what was written on "
			  "the fast path: %s",
			  (unsigned long long)store_node_ino(file->n),
			  strerror(-rc));
	if (reset)
		push_notice(fe, store_node_ino(file->n), NULL, true);
	if (id <= 0 || fe->dev_fd < 0)
		return;
	id32 = (uint32_t)id;
	if (ioctl(fe->dev_fd, PT_DEV_IOC_BACKING_CLOSE, &id32) < 0)
		log_warn("inode %llu: cannot close its backing file %d: %s",
			 (unsigned long long)store_node_ino(file->n), id,
			 strerror(errno));
}

/* Runs the release of an open file through the stack and frees it. */
static void release_file(struct frontend *fe, struct file *file,
			 struct fop *op)
{
	struct fs *fs = fe->fs;

	fast_close(fe, file);
	op->kind = FOP_RELEASE;
	op->file = file;
	filter_run(fs, op);
	store_node_put(fs->env.store, file->n);
	free(file);
	/* a file in use may be what kept the cache over its limit */
	residency_released(fs->env.res);
}

/* Starts op for req. */
static void op_init(struct fe_op *o, fuse_req_t req, enum fop_kind kind,
		    fuse_ino_t ino)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	memset(o, 0, sizeof(*o));
	o->req = req;
	o->fe = fe_of(req);
	o->op.kind = kind;
	o->op.ino = ino;
	o->op.pid = ctx->pid;
	o->op.uid = ctx->uid;
	o->op.gid = ctx->gid;
	o->op.set_interrupt = set_interrupt;
}

static void op_done(struct fop *op)
{
	meta_entry_release(&op->entry);
	free(op->out);
	op->out = NULL;
	free(op->report);
	op->report = NULL;
}

/* op->done of a request: replies and frees it. */
static void fe_done(struct fop *op)
{
	struct fe_op *o = fe_op_of(op);

	if (o->armed && interrupting != o)
		fuse_req_interrupt_func(o->req, NULL, NULL);
	o->reply(o);
	op_done(op);
	free(op->kept);
	free(o);
}

/* A new request of kind, answered by reply once complete. */
static struct fe_op *fe_op_new(fuse_req_t req, enum fop_kind kind,
			       fuse_ino_t ino, void (*reply)(struct fe_op *o))
{
	struct fe_op *o = malloc(sizeof(*o));

	if (!o)
		return NULL;
	op_init(o, req, kind, ino);
	o->reply = reply;
	o->op.done = fe_done;
	return o;
}

/* Runs o; it is answered and freed by fe_done, now or later. */
static void fe_submit(struct fe_op *o)
{
	filter_submit(o->fe->fs, &o->op);
}

#define NEW_OP(o, req, kind, ino, reply)				\
	do {								\
		(o) = fe_op_new((req), (kind), (ino), (reply));		\
		if (!(o)) {						\
			fuse_reply_err((req), ENOMEM);			\
			return;						\
		}							\
	} while (0)

static void reply_err(struct fe_op *o)
{
	fuse_reply_err(o->req, o->op.result < 0 ? -o->op.result : 0);
}

static void fill_entry(struct fe_op *o, struct fuse_entry_param *e)
{
	struct fs *fs = o->fe->fs;

	memset(e, 0, sizeof(*e));
	e->ino = o->op.entry.ino;
	e->generation = 1;
	e->attr = o->op.st;
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
}

static void reply_entry(struct fe_op *o)
{
	struct fuse_entry_param e;

	if (o->op.result) {
		reply_err(o);
		return;
	}
	fill_entry(o, &e);
	fuse_reply_entry(o->req, &e);
}

static void reply_attr(struct fe_op *o)
{
	if (o->op.result)
		reply_err(o);
	else
		fuse_reply_attr(o->req, &o->op.st, o->fe->fs->timeout);
}

/* The reply to a write or a copy: the bytes it covered, or the error. */
static void reply_count(struct fe_op *o)
{
	if (o->op.result < 0)
		reply_err(o);
	else
		fuse_reply_write(o->req, (size_t)o->op.result);
}

/*
 * A write from the kernel's page cache (an mmap write going back, with
 * msync or at writeback) that failed: the kernel keeps the page as it is,
 * clean, so the mount would go on showing bytes the store does not have
 * (the remote away and old bytes around them not here, say) until the
 * page is dropped. Its pages are dropped instead, after this answer (the
 * kernel waits for the answer to end the page's writeback), so that
 * reads show what is stored, as the error says.
 */
static void reply_write(struct fe_op *o)
{
	if (o->op.result < 0 && o->fi.writepage)
		push_notice(o->fe, o->op.ino, NULL, true);
	reply_count(o);
}

static void reply_buf(struct fe_op *o)
{
	if (o->op.result < 0)
		reply_err(o);
	else
		fuse_reply_buf(o->req, o->op.out, o->op.out_len);
}

static void reply_readlink(struct fe_op *o)
{
	if (o->op.result)
		reply_err(o);
	else
		fuse_reply_readlink(o->req, o->op.out);
}

static void reply_statfs(struct fe_op *o)
{
	if (o->op.result)
		reply_err(o);
	else
		fuse_reply_statfs(o->req, &o->op.stv);
}

static void reply_xattr(struct fe_op *o)
{
	if (o->op.result < 0)
		reply_err(o);
	else if (o->op.size == 0)
		fuse_reply_xattr(o->req, (size_t)o->op.result);
	else
		fuse_reply_buf(o->req, o->op.out, (size_t)o->op.result);
}

/* Has the kernel take the cache file fd as a backing file: its id, or
 * -errno (store_fast_id_fn, called under the node's lock). */
static int backing_open(void *arg, int fd)
{
	struct frontend *fe = arg;
	struct pt_backing_map map = { .fd = fd };
	int id;

	id = ioctl(fe->dev_fd, PT_DEV_IOC_BACKING_OPEN, &map);
	return id < 0 ? -errno : id;
}

/* A refusal of backing_open, in words. */
static const char *backing_error(int rc)
{
	switch (rc) {
	case -EPERM:
		return "not privileged (no CAP_SYS_ADMIN)";
	case -ELOOP:
		return "cache on a stacked file system";
	default:
		return "kernel refused the cache file";
	}
}

/*
 * Decides whether o's new handle takes the fast path: the mount's
 * reason, else the filters' veto, then the store's rules. Counts the
 * outcome and logs a veto under --trace. *id gets the backing id of a
 * fast handle; *stale whether a cached one must drop the kernel's pages.
 */
static void fast_decide(struct fe_op *o, int *id, bool *stale)
{
	struct fs *fs = o->fe->fs;
	struct file *file = o->op.file;
	const char *why;
	int rc;

	why = __atomic_load_n(&o->fe->no_fast, __ATOMIC_ACQUIRE);
	if (!why && o->op.kind == FOP_CREATE)
		why = "new file (created by this open)";
	if (!why)
		why = filter_fastpath_veto(fs, &o->op);
	rc = store_node_fast_open(fs->env.store, file->n, file->writer, !why,
				  backing_open, o->fe, id, &why, stale);
	file->fast = rc == 0;
	file->veto = rc == 0 || rc == -EBUSY ? why : backing_error(rc);
	if (rc && rc != -EBUSY)
		log_debug("inode %llu: no fast path: %s",
			  (unsigned long long)store_node_ino(file->n),
			  strerror(-rc));
	fast_vetoes_count(&fs->env, file->fast ? NULL : file->veto);
	if (fs->env.trace && !file->fast)
		log_info("trace: fastpath ino=%llu pid=%d: vetoed: %s",
			 (unsigned long long)store_node_ino(file->n),
			 (int)o->op.pid, file->veto);
}

/* The reply to an open on the fast path, which libfuse 3.14 cannot make. */
static int reply_open_fast(struct fe_op *o, int id)
{
	struct pt_open_out out;
	struct iovec iov;

	memset(&out, 0, sizeof(out));
	out.fh = o->fi.fh;
	out.open_flags = PT_FOPEN_PASSTHROUGH;
	out.backing_id = id;
	iov.iov_base = &out;
	iov.iov_len = sizeof(out);
	return fuse_reply_iov(o->req, &iov, 1);
}

/* open and create: the handle, undone if the opener went away. */
static void reply_open(struct fe_op *o)
{
	struct file *file = o->op.file;
	bool stale = false;
	int rc, id = 0;

	if (o->op.result) {
		reply_err(o);
		return;
	}
	fast_decide(o, &id, &stale);
	o->fi.fh = (uint64_t)(uintptr_t)file;
	/* pages cached before data was written on the fast path are
	 * stale: an open without keep_cache has the kernel drop them */
	o->fi.keep_cache = !stale;
	track_file(o->fe, file);
	if (file->fast) {
		rc = reply_open_fast(o, id);
	} else if (o->op.kind == FOP_CREATE) {
		struct fuse_entry_param e;

		fill_entry(o, &e);
		rc = fuse_reply_create(o->req, &e, &o->fi);
	} else {
		rc = fuse_reply_open(o->req, &o->fi);
	}
	if (rc == -ENOENT) {
		struct fop op;

		untrack_file(o->fe, file);
		memset(&op, 0, sizeof(op));
		release_file(o->fe, file, &op);
		op_done(&op);
	}
}

/* A lookup's reply tells which programs stat what they list. */
static void reply_lookup(struct fe_op *o)
{
	if (!o->op.result)
		rdplus_lookup(&o->fe->rdplus, (pid_t)o->op.pid,
			      o->op.entry.ino, o->op.st.st_mode);
	reply_entry(o);
}

static void fe_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_LOOKUP, parent, reply_lookup);
	o->op.name = name;
	fe_submit(o);
}

static void fe_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_GETATTR, ino, reply_attr);
	fe_submit(o);
}

static void fe_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_SETATTR, ino, reply_attr);
	o->op.attr = *attr;
	if (to_set & FUSE_SET_ATTR_MODE)
		o->op.to_set |= STORE_SET_MODE;
	if (to_set & FUSE_SET_ATTR_SIZE)
		o->op.to_set |= STORE_SET_SIZE;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		o->op.to_set |= STORE_SET_MTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		o->op.to_set |= STORE_SET_MTIME;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		o->op.to_set |= STORE_SET_ATIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		o->op.to_set |= STORE_SET_ATIME;
	if (to_set & FUSE_SET_ATTR_UID)
		o->op.to_set |= STORE_SET_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		o->op.to_set |= STORE_SET_GID;
	fe_submit(o);
}

static void fe_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_READLINK, ino, reply_readlink);
	fe_submit(o);
}

/* mknod, mkdir, symlink: the shared path. */
static void make(fuse_req_t req, enum fop_kind kind, fuse_ino_t parent,
		 const char *name, mode_t mode, dev_t rdev, const char *link)
{
	struct fe_op *o;

	NEW_OP(o, req, kind, parent, reply_entry);
	o->op.name = name;
	o->op.mode = mode;
	o->op.rdev = (uint64_t)rdev;
	o->op.link = link;
	fe_submit(o);
}

static void fe_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make(req, FOP_MKNOD, parent, name, mode, rdev, NULL);
}

static void fe_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make(req, FOP_MKDIR, parent, name, mode, 0, NULL);
}

static void fe_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make(req, FOP_SYMLINK, parent, name, S_IFLNK | 0777, 0, link);
}

static void remove_name(fuse_req_t req, enum fop_kind kind, fuse_ino_t parent,
			const char *name)
{
	struct fe_op *o;

	NEW_OP(o, req, kind, parent, reply_err);
	o->op.name = name;
	fe_submit(o);
}

static void fe_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, FOP_UNLINK, parent, name);
}

static void fe_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, FOP_RMDIR, parent, name);
}

static void fe_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_RENAME, parent, reply_err);
	o->op.name = name;
	o->op.newparent = newparent;
	o->op.newname = newname;
	o->op.flags = flags;
	fe_submit(o);
}

static void fe_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_LINK, ino, reply_entry);
	o->op.newparent = newparent;
	o->op.newname = newname;
	fe_submit(o);
}

static void open_common(fuse_req_t req, enum fop_kind kind, fuse_ino_t ino,
			const char *name, mode_t mode,
			struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, kind, ino, reply_open);
	o->fi = *fi;
	o->op.name = name;
	o->op.mode = mode;
	o->op.flags = (unsigned)fi->flags;
	fe_submit(o);
}

static void fe_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	open_common(req, FOP_OPEN, ino, NULL, 0, fi);
}

static void fe_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	open_common(req, FOP_CREATE, parent, name, mode, fi);
}

static struct file *file_of(struct fuse_file_info *fi)
{
	return (struct file *)(uintptr_t)fi->fh;
}

static void fe_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_READ, ino, reply_buf);
	o->op.file = file_of(fi);
	o->op.off = (uint64_t)off;
	o->op.size = size;
	fe_submit(o);
}

static void fe_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_WRITE, ino, reply_write);
	o->op.file = file_of(fi);
	o->fi.writepage = fi->writepage;
	o->op.off = (uint64_t)off;
	o->op.size = size;
	o->op.in = buf;
	fe_submit(o);
}

static void fe_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_COPY, ino_out, reply_count);
	o->op.file = file_of(fi_in);
	o->op.file2 = file_of(fi_out);
	o->op.off = (uint64_t)off_in;
	o->op.off2 = (uint64_t)off_out;
	o->op.size = len;
	o->op.flags = (unsigned)flags;
	fe_submit(o);
}

static void fe_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_FLUSH, ino, reply_err);
	o->op.file = file_of(fi);
	fe_submit(o);
}

static void fe_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct file *file = file_of(fi);
	struct fe_op o;

	op_init(&o, req, FOP_RELEASE, ino);
	untrack_file(fe_of(req), file);
	release_file(fe_of(req), file, &o.op);
	reply_err(&o);
	op_done(&o.op);
}

static void fe_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_FSYNC, ino, reply_err);
	o->op.file = file_of(fi);
	o->op.flags = datasync != 0;
	fe_submit(o);
}

static void reply_opendir(struct fe_op *o)
{
	if (o->op.result) {
		reply_err(o);
		return;
	}
	/* the kernel keeps listings; local changes drop them, and the
	 * poller drops those of directories changed on the remote */
	o->fi.cache_readdir = 1;
	o->fi.keep_cache = 1;
	fuse_reply_open(o->req, &o->fi);
}

static void fe_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_OPENDIR, ino, reply_opendir);
	o->fi = *fi;
	fe_submit(o);
}

/* Fills a readdir reply buffer. */
struct dirbuf {
	fuse_req_t req;
	struct fs *fs;
	char *buf;
	size_t size;
	size_t used;
	bool plus;
	bool full;
	uint64_t last_pos;	/* the place of the last name added */
	struct rdplus_reply rr;	/* plus: which names get attributes */
};

/* Adds one entry; next is the offset of the entry after it. */
static bool dirbuf_add(struct dirbuf *d, const char *name,
		       const struct stat *st, off_t next)
{
	size_t need;

	if (d->plus) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.generation = 1;
		e.attr = *st;
		e.attr_timeout = d->fs->timeout;
		e.entry_timeout = d->fs->timeout;
		need = fuse_add_direntry_plus(d->req, NULL, 0, name, &e, next);
		if (need > d->size - d->used) {
			d->full = true;
			return false;
		}
		/* 0: the name only (the kernel looks it up if need be) */
		e.ino = rdplus_attrs(&d->rr, st->st_ino, st->st_mode)
				? st->st_ino : 0;
		need = fuse_add_direntry_plus(d->req, d->buf + d->used,
					      d->size - d->used, name, &e,
					      next);
	} else {
		need = fuse_add_direntry(d->req, d->buf + d->used,
					 d->size - d->used, name, st, next);
	}
	if (need > d->size - d->used) {
		d->full = true;
		return false;
	}
	d->used += need;
	return true;
}

static int dirbuf_fill(void *arg, const struct meta_entry *e)
{
	struct dirbuf *d = arg;
	struct stat st;

	store_fill_stat(d->fs->env.store, e, &st);
	if (!dirbuf_add(d, e->name, &st, (off_t)(e->pos + 2)))
		return 1;
	d->last_pos = e->pos;
	return 0;
}

/* Directory offsets: 1 after ".", 2 after "..", pos + 2 after a child
 * (its inode number, or past all of them for an extra name). */
static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, bool plus)
{
	struct frontend *fe = fe_of(req);
	struct fs *fs = fe->fs;
	struct dirbuf d = { req, fs, NULL, size, 0, plus, false, 0, { 0 } };
	struct fe_op o;
	struct fop *op = &o.op;
	struct stat st;
	size_t least;

	d.buf = malloc(size);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (plus)
		rdplus_begin(&fe->rdplus, fuse_req_ctx(req)->pid, ino, &d.rr);
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	st.st_ino = ino;
	if (off < 1 && !dirbuf_add(&d, ".", &st, 1))
		goto reply;
	if (off < 2 && !dirbuf_add(&d, "..", &st, 2))
		goto reply;
	op_init(&o, req, FOP_READDIR, ino);
	op->after = off > 2 ? (uint64_t)off - 2 : 0;
	op->fill = dirbuf_fill;
	op->fill_arg = &d;
	/* the size of the smallest entry (a one-byte name) */
	memset(&st, 0, sizeof(st));
	least = plus ? fuse_add_direntry_plus(req, NULL, 0, "x",
					     &(struct fuse_entry_param){ 0 }, 0)
		     : fuse_add_direntry(req, NULL, 0, "x", &st, 0);
	/* pages of entries until the reply buffer is full, each of at
	 * most as many as the rest of the buffer can take */
	for (;;) {
		size_t before = d.used;

		op->size = (d.size - d.used) / CD_MAX(least, (size_t)1) + 1;
		filter_run(fs, op);
		if (op->result < 0) {
			if (!d.used) {
				reply_err(&o);
				op_done(op);
				free(d.buf);
				return;
			}
			break;
		}
		if (d.full || d.used == before)
			break;
		op->after = d.last_pos;
	}
	op_done(op);
reply:
	/* before the reply, which may bring a lookup of a probe */
	if (plus) {
		rdplus_end(&fe->rdplus, &d.rr);
		stats_add(&fs->env.stats, listed_bare, d.rr.bare);
	}
	fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

static void fe_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, false);
}

static void fe_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, true);
}

static void fe_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_STATFS, ino, reply_statfs);
	fe_submit(o);
}

/*
 * The user.clonedrive.* xattrs that are operations of the drive (pin,
 * free, sync, refresh): a thin adapter that makes the same op as the
 * CLI's. 1 if name is none of them; else 0, having answered.
 */
static int own_op(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size)
{
	static const char prefix[] = "user.clonedrive.";
	enum fop_kind kind;
	char val[32];
	uint64_t secs = 60;
	struct fe_op *o;
	int pin = 0;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return 1;
	name += sizeof(prefix) - 1;
	snprintf(val, sizeof(val), "%.*s",
		 (int)CD_MIN(size, sizeof(val) - 1), value ? value : "");
	val[strcspn(val, "\n")] = '\0';
	if (strcmp(name, "pin") == 0) {
		kind = FOP_PIN;
		pin = cloudfiles_pin_parse(val);
		if (pin < 0) {
			fuse_reply_err(req, EINVAL);
			return 0;
		}
	} else if (strcmp(name, "free") == 0) {
		kind = FOP_FREE;
	} else if (strcmp(name, "sync") == 0 || strcmp(name, "refresh") == 0) {
		kind = name[0] == 's' ? FOP_SYNC : FOP_REFRESH;
		if (ino != FUSE_ROOT_ID) {
			fuse_reply_err(req, EPERM);
			return 0;
		}
		if (kind == FOP_SYNC && *val && util_parse_u64(val, &secs)) {
			fuse_reply_err(req, EINVAL);
			return 0;
		}
	} else {
		return 1;
	}
	o = fe_op_new(req, kind, ino, reply_err);
	if (!o) {
		fuse_reply_err(req, ENOMEM);
		return 0;
	}
	o->op.flags = (unsigned)pin;
	o->op.size = secs * 1000;	/* sync: its timeout in ms */
	fe_submit(o);
	return 0;
}

static void fe_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct fe_op *o;

	if (own_op(req, ino, name, value, size) == 0)
		return;

	NEW_OP(o, req, FOP_SETXATTR, ino, reply_err);
	o->op.newname = name;
	o->op.in = value;
	o->op.size = size;
	o->op.flags = (unsigned)(flags == XATTR_CREATE	   ? 1
				 : flags == XATTR_REPLACE ? 2
							  : 0);
	fe_submit(o);
}

static void fe_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_GETXATTR, ino, reply_xattr);
	o->op.newname = name;
	o->op.size = size;
	fe_submit(o);
}

static void fe_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_LISTXATTR, ino, reply_xattr);
	o->op.size = size;
	fe_submit(o);
}

static void fe_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fe_op *o;

	NEW_OP(o, req, FOP_REMOVEXATTR, ino, reply_err);
	o->op.newname = name;
	fe_submit(o);
}

static void fe_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = FE_MAX_WRITE;
	conn->max_readahead = FE_MAX_WRITE;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	conn->want &= ~(unsigned)FUSE_CAP_POSIX_LOCKS;
	conn->want &= ~(unsigned)FUSE_CAP_FLOCK_LOCKS;
	/* synchronous direct I/O requests can be interrupted by a signal;
	 * asynchronous ones cannot, and hydration is parallel anyway */
	conn->want &= ~(unsigned)FUSE_CAP_ASYNC_DIO;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
}

static const struct fuse_lowlevel_ops fe_ops = {
	.init = fe_init,
	.lookup = fe_lookup,
	.getattr = fe_getattr,
	.setattr = fe_setattr,
	.readlink = fe_readlink,
	.mknod = fe_mknod,
	.mkdir = fe_mkdir,
	.symlink = fe_symlink,
	.unlink = fe_unlink,
	.rmdir = fe_rmdir,
	.rename = fe_rename,
	.link = fe_link,
	.open = fe_open,
	.create = fe_create,
	.read = fe_read,
	.write = fe_write,
	.copy_file_range = fe_copy_file_range,
	.flush = fe_flush,
	.release = fe_release,
	.fsync = fe_fsync,
	.opendir = fe_opendir,
	.readdir = fe_readdir,
	.readdirplus = fe_readdirplus,
	.statfs = fe_statfs,
	.setxattr = fe_setxattr,
	.getxattr = fe_getxattr,
	.listxattr = fe_listxattr,
	.removexattr = fe_removexattr,
};

/* --- the fast path's INIT ------------------------------------------------ */

/* Whether the daemon has CAP_SYS_ADMIN, which backing files need. */
static bool have_sys_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &
	       CAP_TO_MASK(CAP_SYS_ADMIN);
}

/* The session's read hook: libfuse's read, and the kernel's INIT (the
 * first request) looked at on its way. */
static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct frontend *fe = userdata;
	const struct fuse_in_header *in = buf;
	const struct fuse_init_in *init;
	ssize_t n = read(fd, buf, len);

	if (n < (ssize_t)sizeof(*in) ||
	    __atomic_load_n(&fe->init_seen, __ATOMIC_ACQUIRE) ||
	    in->opcode != FUSE_INIT)
		return n;
	init = (const void *)(in + 1);
	fe->kernel_pt = n >= (ssize_t)(sizeof(*in) + sizeof(*init)) &&
			(init->flags & FUSE_INIT_EXT) &&
			(init->flags2 & PT_INIT_FLAGS2_PASSTHROUGH);
	__atomic_store_n(&fe->init_unique, in->unique, __ATOMIC_RELAXED);
	__atomic_store_n(&fe->init_seen, true, __ATOMIC_RELEASE);
	return n;
}

/* Why no open of this mount can take the fast path, or NULL. */
static const char *fast_unavailable(const struct frontend *fe,
				    uint32_t flags)
{
	if (fe->mode == FASTPATH_OFF)
		return "passthrough off";
	if (!fe->kernel_pt)
		return "kernel without passthrough";
	if (flags & FUSE_WRITEBACK_CACHE)
		return "writeback cache on";
	if (!fe->privileged)
		return "not privileged (no CAP_SYS_ADMIN)";
	return NULL;
}

/*
 * libfuse's answer to INIT, given FUSE_PASSTHROUGH where it can be had.
 * The answer is libfuse's own fuse_init_out, in iov[1]; the kernel
 * reads flags2 only with FUSE_INIT_EXT set, and wants a stack depth of
 * at least 1 (the cache file's file system is no stacked one).
 */
static void init_reply(struct frontend *fe, struct iovec *iov, int count)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	struct pt_init_out *init;
	const char *why;

	if (count < 2 || iov[0].iov_len < sizeof(*out) || out->error ||
	    iov[1].iov_len < offsetof(struct pt_init_out, unused))
		return;
	init = iov[1].iov_base;
	why = fast_unavailable(fe, init->flags);
	if (!why) {
		init->flags |= FUSE_INIT_EXT;
		init->flags2 |= PT_INIT_FLAGS2_PASSTHROUGH;
		init->max_stack_depth = 1;
	}
	if (why && fe->mode == FASTPATH_ON)
		log_error("--passthrough on: no fast path on this mount: %s",
			  why);
	else
		log_info("fast path (passthrough): %s", why ? why : "on");
	__atomic_store_n(&fe->no_fast, why ? why : NULL, __ATOMIC_RELEASE);
}

/* The session's writev hook: libfuse's writev, but for INIT's answer. */
static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct frontend *fe = userdata;
	const struct fuse_out_header *out = iov[0].iov_base;
	uint64_t init;

	/* INIT is answered before any other request is read */
	if (__atomic_load_n(&fe->init_seen, __ATOMIC_ACQUIRE)) {
		init = __atomic_load_n(&fe->init_unique, __ATOMIC_RELAXED);
		if (init && out->unique == init) {
			init_reply(fe, iov, count);
			__atomic_store_n(&fe->init_unique, 0, __ATOMIC_RELAXED);
		}
	}
	return writev(fd, iov, count);
}

static const struct fuse_custom_io fe_io = {
	.read = io_read,
	.writev = io_writev,
};

/* The env's fast_opens: one line per open of ino, from the list of open
 * files. */
static char *fast_opens(void *arg, uint64_t ino)
{
	struct frontend *fe = arg;
	struct textbuf o = { xstrdup(""), 0 };
	struct file *f;

	pthread_mutex_lock(&fe->files_lock);
	for (f = fe->files; f; f = f->next) {
		if (store_node_ino(f->n) != ino)
			continue;
		if (f->fast && f->veto)
			textbuf_add(&o, "passthrough (over: %s; the file is "
				    "on the fast path already)\n", f->veto);
		else if (f->fast)
			textbuf_add(&o, "passthrough\n");
		else
			textbuf_add(&o, "cached: %s\n",
				    f->veto ? f->veto : "?");
	}
	pthread_mutex_unlock(&fe->files_lock);
	return o.s;
}

static void push_notice(struct frontend *fe, uint64_t ino, const char *name,
			bool data)
{
	struct notice *n = xcalloc(1, sizeof(*n));

	n->ino = ino;
	n->name = name ? xstrdup(name) : NULL;
	n->data = data;
	pthread_mutex_lock(&fe->lock);
	if (fe->stop) {
		/* the notice thread is gone (frontend_free): a release of
		 * the files still open there has no kernel to tell */
		pthread_mutex_unlock(&fe->lock);
		free(n->name);
		free(n);
		return;
	}
	if (fe->tail)
		fe->tail->next = n;
	else
		fe->head = n;
	fe->tail = n;
	pthread_cond_signal(&fe->cond);
	pthread_mutex_unlock(&fe->lock);
}

static void notify_entry(void *arg, uint64_t parent, const char *name)
{
	push_notice(arg, parent, name, false);
}

static void notify_inode(void *arg, uint64_t ino, bool data)
{
	push_notice(arg, ino, NULL, data);
}

static void *notice_thread(void *arg)
{
	struct frontend *fe = arg;

	pthread_mutex_lock(&fe->lock);
	for (;;) {
		struct notice *n;
		int rc;

		while (!fe->stop && !fe->head)
			pthread_cond_wait(&fe->cond, &fe->lock);
		n = fe->head;
		if (!n)
			break;
		fe->head = n->next;
		if (!fe->head)
			fe->tail = NULL;
		pthread_mutex_unlock(&fe->lock);
		if (n->name)
			rc = fuse_lowlevel_notify_inval_entry(
				fe->se, n->ino, n->name, strlen(n->name));
		else
			rc = fuse_lowlevel_notify_inval_inode(
				fe->se, n->ino, n->data ? 0 : -1, 0);
		if (rc && rc != -ENOENT)
			log_debug("invalidation of inode %llu: %s",
				  (unsigned long long)n->ino, strerror(-rc));
		free(n->name);
		free(n);
		pthread_mutex_lock(&fe->lock);
	}
	pthread_mutex_unlock(&fe->lock);
	return NULL;
}

int frontend_mount(struct fs *fs, const char *mountpoint, const char *options,
		   struct frontend **out)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct frontend *fe;
	char *opts;
	int rc = 0;

	opts = xasprintf("fsname=clonedrive,subtype=clonedrive%s%s",
			 options && *options ? "," : "",
			 options ? options : "");
	if (fuse_opt_add_arg(&args, "clonedrive") ||
	    fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, opts)) {
		free(opts);
		fuse_opt_free_args(&args);
		return -ENOMEM;
	}
	free(opts);
	fe = xcalloc(1, sizeof(*fe));
	fe->fs = fs;
	fe->dev_fd = -1;
	fe->no_fast = "not mounted yet";
	pthread_mutex_init(&fe->lock, NULL);
	pthread_cond_init(&fe->cond, NULL);
	pthread_mutex_init(&fe->files_lock, NULL);
	rdplus_init(&fe->rdplus);
	fe->se = fuse_session_new(&args, &fe_ops, sizeof(fe_ops), fe);
	fuse_opt_free_args(&args);
	if (!fe->se) {
		log_error("cannot start a FUSE session (bad -o options?)");
		rc = -EINVAL;
		goto out_free;
	}
	if (fuse_session_mount(fe->se, mountpoint)) {
		log_error("%s: cannot mount (is /dev/fuse usable, and the "
			  "mountpoint an empty directory you own?)",
			  mountpoint);
		rc = -EIO;
		goto out_session;
	}
	fe->mounted = true;
	fe->dev_fd = fuse_session_fd(fe->se);
	fe->mode = fs->env.fastpath;
	fe->privileged = have_sys_admin();
	/* not before the mount: libfuse 3.14 takes the fd given here as
	 * the session's, and the mount makes it (or fusermount3 does) */
	if (fuse_session_custom_io(fe->se, &fe_io, fe->dev_fd)) {
		log_warn("%s: no I/O hooks on the session: no fast path",
			 mountpoint);
		fe->no_fast = "no I/O hooks on the FUSE session";
	}
	if (fuse_set_signal_handlers(fe->se))
		log_warn("cannot install signal handlers");
	if (pthread_create(&fe->thread, NULL, notice_thread, fe)) {
		rc = -EAGAIN;
		goto out_unmount;
	}
	fe->notify.entry = notify_entry;
	fe->notify.inode = notify_inode;
	fe->notify.arg = fe;
	fs->env.fast_arg = fe;
	__atomic_store_n(&fs->env.fast_opens, fast_opens, __ATOMIC_RELEASE);
	*out = fe;
	return 0;
out_unmount:
	fuse_remove_signal_handlers(fe->se);
	fuse_session_unmount(fe->se);
out_session:
	fuse_session_destroy(fe->se);
out_free:
	rdplus_destroy(&fe->rdplus);
	pthread_mutex_destroy(&fe->files_lock);
	pthread_cond_destroy(&fe->cond);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
	return rc;
}

void frontend_set_readahead(const char *mountpoint, uint64_t bytes)
{
	char path[96], val[32], type[64];
	unsigned maj, min;
	int fd, n;

	/* from mountinfo: the daemon never does I/O on its own mount */
	if (util_mount_at(mountpoint, &maj, &min, type, sizeof(type)))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 maj, min);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		log_debug("readahead of %s left as it is: %s: %s", mountpoint,
			  path, strerror(errno));
		return;
	}
	n = snprintf(val, sizeof(val), "%llu\n",
		     (unsigned long long)(bytes / 1024));
	if (write(fd, val, (size_t)n) != n)
		log_debug("readahead of %s: %s", mountpoint, strerror(errno));
	close(fd);
}

const struct sync_notify *frontend_notify(struct frontend *fe)
{
	return &fe->notify;
}

void frontend_release_all(struct frontend *fe)
{
	struct file *file;
	struct fop op;
	int n = 0;

	while ((file = fe->files)) {
		fe->files = file->next;
		memset(&op, 0, sizeof(op));
		release_file(fe, file, &op);
		n++;
	}
	if (n)
		log_info("released %d files the kernel did not close before "
			 "unmounting", n);
}

int frontend_loop(struct frontend *fe)
{
	struct fuse_loop_config cfg = {
		.clone_fd = 1,
		.max_idle_threads = 16,
	};
	int rc = fuse_session_loop_mt(fe->se, &cfg);

	return rc < 0 ? rc : 0;
}

void frontend_free(struct frontend *fe)
{
	if (!fe)
		return;
	pthread_mutex_lock(&fe->lock);
	fe->stop = true;
	pthread_cond_signal(&fe->cond);
	pthread_mutex_unlock(&fe->lock);
	pthread_join(fe->thread, NULL);
	while (fe->head) {
		struct notice *n = fe->head;

		fe->head = n->next;
		free(n->name);
		free(n);
	}
	fuse_remove_signal_handlers(fe->se);
	/* the backing ids went with the connection */
	fe->dev_fd = -1;
	__atomic_store_n(&fe->fs->env.fast_opens, NULL, __ATOMIC_RELEASE);
	if (fe->mounted)
		fuse_session_unmount(fe->se);
	fuse_session_destroy(fe->se);
	frontend_release_all(fe);
	rdplus_destroy(&fe->rdplus);
	pthread_mutex_destroy(&fe->files_lock);
	pthread_cond_destroy(&fe->cond);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}
