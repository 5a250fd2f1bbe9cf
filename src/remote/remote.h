/*
 * The remote interface: what the sync engine and the hydration path need
 * from a place that stores files. The backends are local.c and s3.c (with
 * its parts, s3_*.c); remote_open() picks the backend from the remote's
 * spelling.
 *
 * Paths are relative to the remote's root, '/'-separated, with no leading
 * or trailing slash; "" is the root itself. Every component is a valid
 * POSIX name (not "." or "..", no '/', at most 255 bytes). Backends never
 * follow a symlink while resolving a path, and never leave the root.
 *
 * Every function returns 0 (or a byte count) on success and a negative
 * errno on failure. Errors a caller should know apart:
 *   -ENOENT    the object does not exist
 *   -ESTALE    the object exists but its version is not the one asked for
 *   -EHOSTDOWN the remote as a whole cannot be reached (unmounted disk,
 *              server down): nothing about the object can be concluded
 *   -EIO       anything else that went wrong talking to the remote
 * All functions may be called from several threads at once.
 */
#ifndef CD_REMOTE_H
#define CD_REMOTE_H

#include "common.h"

#include <sys/statvfs.h>
#include <unistd.h>

#define REMOTE_ETAG_MAX 72
/* An owner a backend does not keep or was not given. */
#define REMOTE_OWNER_NONE ((uint32_t)-1)

/* What a backend knows about one object. */
struct remote_attr {
	uint32_t mode;			/* S_IFMT | permissions: any type */
	uint32_t uid;			/* owner, or REMOTE_OWNER_NONE where the
					   backend keeps none (or a listing
					   cannot see it) */
	uint32_t gid;
	uint64_t size;			/* bytes; for symlinks the target length */
	int64_t mtime_ns;		/* modification time, ns since the epoch */
	char etag[REMOTE_ETAG_MAX];	/* opaque version: changes with content */
	bool approx;			/* mode and mtime are guesses (a listing
					   of a backend that keeps them in each
					   object's metadata): what is known
					   for the same etag is better */
	uint64_t rdev;			/* device number of a device node,
					   else 0 */
};

/*
 * What a backend keeps of an object beside its bytes, where it can
 * (REMOTE_CAP_CHMOD): what put(), copy() and mkdir() give a new object,
 * and what setattr() changes. A field may say "leave it".
 */
struct remote_meta {
	uint32_t mode;			/* permissions (the type is the
					   object's); (uint32_t)-1: leave */
	uint32_t uid;			/* REMOTE_OWNER_NONE: leave (a new
					   object: the backend's default) */
	uint32_t gid;
	int64_t mtime_ns;		/* INT64_MIN: leave (a new object:
					   now) */
};

/* mode and mtime_ns, no owners. */
#define REMOTE_META(mode_, mtime_)					\
	((struct remote_meta){ .mode = (mode_), .uid = REMOTE_OWNER_NONE, \
			       .gid = REMOTE_OWNER_NONE, .mtime_ns = (mtime_) })

/* Called once per entry by list(); a non-zero return stops the listing and
 * becomes list()'s return value. name is borrowed for the call only. */
typedef int (*remote_list_fn)(void *arg, const char *name,
			      const struct remote_attr *attr);

/* Progress of a long transfer; return non-zero to cancel it (-ECANCELED). */
typedef int (*remote_progress_fn)(void *arg, uint64_t done, uint64_t total);

/*
 * What lets a long put() go on where it stopped, after a crash or an
 * unmount, instead of from the start (backends that upload in one piece
 * ignore it). state is what an earlier put() of the same file to the
 * same path saved (NULL or "": nothing); the backend checks it against
 * the file before it trusts any of it, so bytes changed since are sent
 * again. save() is called with the new state as the upload goes on (a
 * non-zero return fails the put() with it), and with NULL once there is
 * nothing left to go on with (done, or given up and cleaned away on the
 * remote). A put() that fails transiently may leave a state saved.
 */
struct remote_resume {
	const char *state;
	int (*save)(void *arg, const char *state);
	void *arg;
};

enum remote_caps {
	REMOTE_CAP_RANGE_READ = 1 << 0,	/* read() of any range is cheap */
	REMOTE_CAP_RENAME = 1 << 1,	/* rename() is atomic and cheap */
	REMOTE_CAP_SYMLINK = 1 << 2,	/* symlinks can be stored */
	REMOTE_CAP_COPY = 1 << 3,	/* copy() server-side */
	REMOTE_CAP_CHMOD = 1 << 4,	/* setattr() keeps modes and times */
	REMOTE_CAP_LINK = 1 << 5,	/* link() is there */
	REMOTE_CAP_LIST_CHEAP = 1 << 6,	/* list() costs no request fees
					   and little time (a local disk) */
};

struct remote;

struct remote_ops {
	const char *name;	/* "local", "s3" */
	unsigned caps;		/* enum remote_caps */
	uint32_t read_piece;	/* bytes a hydration asks for at once (one
				   request each); 0: the fetcher's default */

	/* Releases everything open() made, including r itself. */
	void (*close)(struct remote *r);
	/* Cheap check that the remote as a whole is there (-EHOSTDOWN if not). */
	int (*check)(struct remote *r);
	/* Calls fn for every entry of directory dir, in no particular order,
	 * streaming: memory use does not grow with the directory's size.
	 * Entries whose names cannot be POSIX names are skipped with a log
	 * line. -ENOTDIR if dir is not a directory. */
	int (*list)(struct remote *r, const char *dir, remote_list_fn fn,
		    void *arg);
	int (*stat)(struct remote *r, const char *path,
		    struct remote_attr *out);
	/* stat() of what the caller knows is no directory (one request on
	 * S3: no look for a directory of the name). Optional. */
	int (*stat_file)(struct remote *r, const char *path,
			 struct remote_attr *out);
	/* Reads up to len bytes at off into buf. If etag is non-NULL and the
	 * object's version differs, fails with -ESTALE instead. Returns bytes
	 * read; fewer than len only at the end of the object. */
	ssize_t (*read)(struct remote *r, const char *path, const char *etag,
			void *buf, size_t len, uint64_t off);
	/* Like read(), but writes the bytes into fd at the same offset
	 * (pwrite semantics, fd's offset is not moved). Optional: NULL
	 * makes remote_read_to_fd() go through a buffer. */
	ssize_t (*read_to_fd)(struct remote *r, const char *path,
			      const char *etag, int fd, size_t len,
			      uint64_t off);
	/* Publishes bytes [0, size) of fd as the object at path, atomically:
	 * readers of the remote see the old object or the new, never part of
	 * one. meta is kept where the backend can. out gets the new
	 * object's attributes. fd is read with pread, never moved.
	 * match makes the write conditional, so that another client's
	 * change is never overwritten unseen: NULL writes whatever is there;
	 * "" writes only if there is no object at path; an etag writes only
	 * if the object still has that version (-ENOENT if it is gone). A
	 * condition that does not hold is -ESTALE, and nothing is written. */
	int (*put)(struct remote *r, const char *path, int fd, uint64_t size,
		   const struct remote_meta *meta, const char *match,
		   const struct remote_resume *resume,
		   remote_progress_fn progress, void *arg,
		   struct remote_attr *out);
	/* Cleans away on the remote what a put() to path left to go on
	 * with (state, as saved), when it will not be resumed. Optional. */
	void (*abandon)(struct remote *r, const char *path,
			const char *state);
	/* Server-side copy of the object from (at version etag, if not NULL:
	 * -ESTALE if it changed) to the object to, published atomically as
	 * put() does, with meta; no data passes through this process where
	 * the backend can avoid it. NULL: not supported (remote_copy() says
	 * -EOPNOTSUPP). */
	int (*copy)(struct remote *r, const char *from, const char *etag,
		    const char *to, const struct remote_meta *meta,
		    struct remote_attr *out);
	/* Makes to another name of the file (or symlink) at from, replacing
	 * whatever is at to, atomically as put() does: a hard link where the
	 * backend has them, else a server-side copy with from's metadata
	 * (a later change of from does not reach to). -ENOENT if there is
	 * no from. NULL: not supported (remote_link() says -EOPNOTSUPP). */
	int (*link)(struct remote *r, const char *from, const char *to);
	/* meta's mtime is the directory's, where the backend keeps one */
	int (*mkdir)(struct remote *r, const char *path,
		     const struct remote_meta *meta);
	/* -ENOTEMPTY if the directory has entries. */
	int (*rmdir)(struct remote *r, const char *path);
	int (*unlink)(struct remote *r, const char *path);
	/* flags: 0 (replace) or RENAME_NOREPLACE (-EEXIST if to exists).
	 * etag, if not NULL, gets the version of the file now at to (a
	 * backend that renames by copying may give it a new one), or ""
	 * for a directory or where it is not known. A backend that moves
	 * a directory object by object reports each to progress (if not
	 * NULL) as (objects moved, 0). */
	int (*rename)(struct remote *r, const char *from, const char *to,
		      unsigned flags, char etag[REMOTE_ETAG_MAX],
		      remote_progress_fn progress, void *arg);
	int (*symlink)(struct remote *r, const char *target, const char *path);
	/* Makes a special file at path: a FIFO, a socket or a device node
	 * (type: its S_IFMT; rdev: a device's number), with meta; it holds
	 * no data. -EEXIST if path is taken; -EPERM where the backend may
	 * not make one (a device, not as root). out gets its attributes.
	 * NULL: not supported. */
	int (*mknod)(struct remote *r, const char *path, uint32_t type,
		     uint64_t rdev, const struct remote_meta *meta,
		     struct remote_attr *out);
	/* Writes the NUL-terminated target into buf; -ENAMETOOLONG if it
	 * does not fit. */
	int (*readlink)(struct remote *r, const char *path, char *buf,
			size_t size);
	/* Sets what meta does not leave of path (a directory's mtime too,
	 * where the backend keeps one). out, if non-NULL, gets the
	 * attributes after. */
	int (*setattr)(struct remote *r, const char *path,
		       const struct remote_meta *meta,
		       struct remote_attr *out);
	int (*statfs)(struct remote *r, struct statvfs *out);
};

struct remote {
	const struct remote_ops *ops;	/* the backend */
	char *spec;			/* what the user gave, for messages */
	uint32_t name_max;		/* longest name component it keeps, in
					   bytes (at most NAME_MAX; set by
					   remote_open) */
	uint32_t path_max;		/* longest path it keeps, in bytes (a
					   directory's "/" included); 0: no
					   limit but the kernel's */
	unsigned read_delay_us;		/* test only: latency added to each
					   read and each piece of an upload
					   (CLONEDRIVE_TEST_READ_DELAY_MS) */
};

enum remote_s3_addressing {
	REMOTE_S3_AUTO,		/* path style with a given endpoint, else
				   virtual host */
	REMOTE_S3_PATH,		/* http://host/bucket/key */
	REMOTE_S3_VIRTUAL,	/* http://bucket.host/key */
};

/* What the user said about a remote besides its name (all optional). */
struct remote_opts {
	const char *endpoint;	/* s3: "http://127.0.0.1:7480" */
	const char *region;	/* s3: "us-east-1" */
	const char *profile;	/* s3: a profile of ~/.aws/credentials */
	enum remote_s3_addressing addressing;
};

/*
 * Opens the remote named by spec: "s3://bucket/prefix" or a directory
 * path (optionally "local:" followed by one); o may be NULL. On failure
 * returns NULL and writes a sentence for the user into err.
 */
struct remote *remote_open(const char *spec, const struct remote_opts *o,
			   char *err, size_t errlen);

/* Whether name may appear as one component of a path (see above). */
bool remote_name_ok(const char *name);

/* The backends' constructors, called by remote_open(). */
struct remote *remote_local_open(const char *dir, char *err, size_t errlen);
struct remote *remote_s3_open(const char *spec, const struct remote_opts *o,
			      char *err, size_t errlen);

static inline void remote_close(struct remote *r)
{
	if (r)
		r->ops->close(r);
}

static inline bool remote_has(const struct remote *r, unsigned cap)
{
	return (r->ops->caps & cap) != 0;
}

static inline CD_WUR int remote_check(struct remote *r)
{
	return r->ops->check(r);
}

static inline CD_WUR int remote_list(struct remote *r, const char *dir,
				     remote_list_fn fn, void *arg)
{
	return r->ops->list(r, dir, fn, arg);
}

static inline CD_WUR int remote_stat(struct remote *r, const char *path,
				     struct remote_attr *out)
{
	return r->ops->stat(r, path, out);
}

static inline CD_WUR int remote_stat_file(struct remote *r,
					   const char *path,
					   struct remote_attr *out)
{
	if (!r->ops->stat_file)
		return r->ops->stat(r, path, out);
	return r->ops->stat_file(r, path, out);
}

static inline CD_WUR ssize_t remote_read(struct remote *r, const char *path,
					 const char *etag, void *buf,
					 size_t len, uint64_t off)
{
	if (r->read_delay_us)
		usleep(r->read_delay_us);
	return r->ops->read(r, path, etag, buf, len, off);
}

/* read_to_fd(), or read() through a buffer where the backend has none. */
ssize_t remote_read_to_fd(struct remote *r, const char *path,
			  const char *etag, int fd, size_t len,
			  uint64_t off) CD_WUR;

static inline CD_WUR int remote_put(struct remote *r, const char *path,
				    int fd, uint64_t size,
				    const struct remote_meta *meta,
				    const char *match,
				    const struct remote_resume *resume,
				    remote_progress_fn progress, void *arg,
				    struct remote_attr *out)
{
	return r->ops->put(r, path, fd, size, meta, match, resume, progress,
			   arg, out);
}

static inline void remote_abandon(struct remote *r, const char *path,
				  const char *state)
{
	if (r->ops->abandon && state && *state)
		r->ops->abandon(r, path, state);
}

static inline CD_WUR int remote_copy(struct remote *r, const char *from,
				     const char *etag, const char *to,
				     const struct remote_meta *meta,
				     struct remote_attr *out)
{
	if (!r->ops->copy)
		return -EOPNOTSUPP;
	return r->ops->copy(r, from, etag, to, meta, out);
}

static inline CD_WUR int remote_link(struct remote *r, const char *from,
				     const char *to)
{
	if (!r->ops->link)
		return -EOPNOTSUPP;
	return r->ops->link(r, from, to);
}

static inline CD_WUR int remote_mkdir(struct remote *r, const char *path,
				      const struct remote_meta *meta)
{
	return r->ops->mkdir(r, path, meta);
}

static inline CD_WUR int remote_rmdir(struct remote *r, const char *path)
{
	return r->ops->rmdir(r, path);
}

static inline CD_WUR int remote_unlink(struct remote *r, const char *path)
{
	return r->ops->unlink(r, path);
}

static inline CD_WUR int remote_rename(struct remote *r, const char *from,
				       const char *to, unsigned flags,
				       char etag[REMOTE_ETAG_MAX],
				       remote_progress_fn progress, void *arg)
{
	if (etag)
		*etag = '\0';
	return r->ops->rename(r, from, to, flags, etag, progress, arg);
}

static inline CD_WUR int remote_symlink(struct remote *r, const char *target,
					const char *path)
{
	if (!r->ops->symlink)
		return -EPERM;
	return r->ops->symlink(r, target, path);
}

/* Whether the remote keeps special files (has mknod()). */
static inline bool remote_has_mknod(const struct remote *r)
{
	return r->ops->mknod != NULL;
}

static inline CD_WUR int remote_mknod(struct remote *r, const char *path,
				      uint32_t type, uint64_t rdev,
				      const struct remote_meta *meta,
				      struct remote_attr *out)
{
	if (!r->ops->mknod)
		return -EPERM;
	return r->ops->mknod(r, path, type, rdev, meta, out);
}

static inline CD_WUR int remote_readlink(struct remote *r, const char *path,
					 char *buf, size_t size)
{
	if (!r->ops->readlink)
		return -EINVAL;
	return r->ops->readlink(r, path, buf, size);
}

static inline CD_WUR int remote_setattr(struct remote *r, const char *path,
					const struct remote_meta *meta,
					struct remote_attr *out)
{
	if (!r->ops->setattr)
		return 0;
	return r->ops->setattr(r, path, meta, out);
}

static inline CD_WUR int remote_statfs(struct remote *r, struct statvfs *out)
{
	return r->ops->statfs(r, out);
}

#endif
