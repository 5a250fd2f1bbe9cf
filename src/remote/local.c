/*
 * The local backend: a directory on a local or network (NAS) file system
 * is the remote.
 *
 * We keep the root's path, not an open fd, together with the st_dev and
 * st_ino it had at open time. Every operation opens the root by path and
 * checks both still match; if not, the disk or share is gone (often an
 * unmounted NAS leaving an empty mount point behind) and the operation
 * fails with -EHOSTDOWN rather than writing into the wrong file system.
 *
 * Paths are resolved beneath that root fd with openat2() and
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or, where the kernel lacks
 * openat2(), one component at a time with O_NOFOLLOW. A symlink in the
 * middle of a path reads as "not a directory": we never follow one and
 * never leave the root. Operations on an object open its parent directory
 * that way and call the *at() function on the last component.
 *
 * put() writes a temp file ".clonedrive-tmp.<random>" next to the target
 * and renames it over the target, so readers see the old or the new file,
 * never part of one; list() hides those temp files. The etag is built
 * from the inode number, size and mtime, so any write changes it while a
 * rename or chmod (which only touch ctime) does not.
 *
 * There is no mutable state: struct local is read-only after open, so
 * every function may run in several threads at once.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_OPENAT2
#include <linux/openat2.h>
#endif

#include "remote/remote.h"
#include "util/log.h"
#include "util/crash.h"
#include "util/util.h"

#define LOCAL_TMP_PREFIX ".clonedrive-tmp."

struct local {
	struct remote r;	/* what callers hold */
	char *root;		/* realpath of the root directory */
	dev_t dev;		/* st_dev of the root at open time */
	ino_t ino;		/* st_ino of the root at open time */
};

/* An object's parent directory, open beneath the root, and its name. */
struct local_loc {
	int dfd;		/* the parent directory */
	const char *name;	/* last component, "." for the root itself */
};

static struct local *to_local(struct remote *r)
{
	return (struct local *)((char *)r - offsetof(struct local, r));
}

/*
 * Maps the -errno of a failed call to what callers get: errors a caller
 * can act on pass through, anything else is logged here, with the path,
 * and becomes -EIO.
 */
static int local_errno(int err, const char *op, const char *path)
{
	switch (-err) {
	case ENOENT:
	case ESTALE:
	case EHOSTDOWN:
	case ENOTDIR:
	case EISDIR:
	case EACCES:
	case EPERM:
	case EEXIST:
	case ENOTEMPTY:
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
	case EROFS:
	case ENAMETOOLONG:
	case EINVAL:
	case EXDEV:
	case EBUSY:
	case ECANCELED:
	case ENOMEM:
		return err;
	default:
		log_error("local: %s \"%s\": %s", op, path, strerror(-err));
		return -EIO;
	}
}

/* local_errno of an op on two paths, both named in the log line. */
static int local_errno2(int err, const char *op, const char *from,
			const char *to)
{
	char *both = xasprintf("%s -> %s", from, to);

	err = local_errno(err, op, both);
	free(both);
	return err;
}

/*
 * Opens the root by path and checks it is still the directory we opened
 * at first. Returns an O_PATH fd or -EHOSTDOWN.
 */
static int local_root_open(const struct local *l)
{
	struct stat st;
	int fd;

	fd = open(l->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;

		if (rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM)
			return rc;
		log_debug("local: root %s: %s", l->root, strerror(-rc));
		return -EHOSTDOWN;
	}
	if (fstat(fd, &st) < 0 || st.st_dev != l->dev ||
	    st.st_ino != l->ino) {
		log_debug("local: root %s is another directory now", l->root);
		close(fd);
		return -EHOSTDOWN;
	}
	return fd;
}

/* Whether path is "" or components that pass remote_name_ok(). */
static bool local_path_ok(const char *path)
{
	const char *p = path;

	if (!*path)
		return true;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || n > NAME_MAX)
			return false;
		if (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.')))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* openat2() beneath rootfd, following no symlink; -ENOSYS if missing. */
static int local_openat2(int rootfd, const char *path, int flags)
{
#if defined(HAVE_OPENAT2) && defined(SYS_openat2)
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	int tries = 0;
	long fd;

	/* EAGAIN: a concurrent rename raced the lookup; worth a retry */
	do {
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	} while (fd < 0 && (errno == EAGAIN || errno == EINTR) &&
		 ++tries < 8);
	if (fd < 0)
		return -errno;
	return (int)fd;
#else
	return -ENOSYS;
#endif
}

/* The openat2() fallback: one O_NOFOLLOW openat() per component. */
static int local_walk(int rootfd, const char *path, int flags)
{
	char *copy = xstrdup(path);
	char *comp = copy;
	int fd = rootfd;

	for (;;) {
		char *slash = strchr(comp, '/');
		int next, rc;

		if (slash)
			*slash = '\0';
		next = openat(fd, comp, slash ? O_PATH | O_DIRECTORY |
			      O_NOFOLLOW | O_CLOEXEC : flags);
		rc = -errno;
		if (fd != rootfd)
			close(fd);
		if (next < 0) {
			fd = rc;
			break;
		}
		fd = next;
		if (!slash)
			break;
		comp = slash + 1;
	}
	free(copy);
	return fd;
}

/*
 * Opens directory dir (a checked path, "" for the root) beneath rootfd
 * with flags (O_PATH or O_RDONLY). A component that is a symlink gives
 * -ENOTDIR. Returns the fd or -errno.
 */
static int local_open_dir(int rootfd, const char *dir, int flags)
{
	int fd;

	flags |= O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	if (!*dir) {
		fd = openat(rootfd, ".", flags);
		return fd < 0 ? -errno : fd;
	}
	fd = local_openat2(rootfd, dir, flags);
	/* seccomp filters of older containers answer EPERM, not ENOSYS */
	if (fd == -ENOSYS || fd == -EPERM)
		fd = local_walk(rootfd, dir, flags);
	if (fd == -ELOOP || fd == -EXDEV)
		return -ENOTDIR;
	return fd;
}

/* Opens the parent of path beneath rootfd into loc. 0 or -errno. */
static int local_locate(int rootfd, const char *path, int flags,
			struct local_loc *loc)
{
	const char *slash;
	char *parent;
	int fd;

	if (!local_path_ok(path))
		return -EINVAL;
	slash = strrchr(path, '/');
	if (!slash) {
		fd = local_open_dir(rootfd, "", flags);
		loc->name = *path ? path : ".";
	} else {
		parent = xstrndup(path, (size_t)(slash - path));
		fd = local_open_dir(rootfd, parent, flags);
		free(parent);
		loc->name = slash + 1;
	}
	if (fd < 0)
		return fd;
	loc->dfd = fd;
	return 0;
}

/*
 * The common start of an operation on one object: check the root, open
 * the parent of path. root_ok says whether path may be the root ("").
 */
static int local_begin(struct local *l, const char *path, int flags,
		       bool root_ok, struct local_loc *loc)
{
	int rootfd, rc;

	if (!root_ok && !*path)
		return -EINVAL;
	rootfd = local_root_open(l);
	if (rootfd < 0)
		return rootfd;
	rc = local_locate(rootfd, path, flags, loc);
	close(rootfd);
	return rc;
}

/* Makes the directory entries of dfd durable; 0 or -errno. */
static int local_sync_dir(int dfd)
{
	if (fsync(dfd) == 0)
		return 0;
	/* some network and FUSE file systems cannot sync a directory */
	if (errno == EINVAL || errno == EOPNOTSUPP)
		return 0;
	return -errno;
}

/* Whether mode is of a type the drive keeps: every type POSIX names. */
static bool local_type_ok(mode_t mode)
{
	return S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode) ||
	       S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode) ||
	       S_ISBLK(mode);
}

/*
 * The etag: inode, size and mtime. Huge inode numbers or times
 * before 1970 can make the text too long; then it is hashed (FNV-1a), and
 * the "h" prefix keeps hashes apart from the plain form.
 */
static void local_etag(const struct stat *st, char *etag)
{
	char buf[128];
	uint64_t h = 14695981039346656037ULL;
	int n, i;

	n = snprintf(buf, sizeof(buf), "%llx-%llx-%llx.%09ld",
		     (unsigned long long)st->st_ino,
		     (unsigned long long)st->st_size,
		     (unsigned long long)st->st_mtim.tv_sec,
		     (long)st->st_mtim.tv_nsec);
	if (n > 0 && n < REMOTE_ETAG_MAX) {
		memcpy(etag, buf, (size_t)n + 1);
		return;
	}
	for (i = 0; i < n && buf[i]; i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	snprintf(etag, REMOTE_ETAG_MAX, "h%016llx", (unsigned long long)h);
}

static void local_attr(const struct stat *st, struct remote_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = st->st_mode;
	out->uid = (uint32_t)st->st_uid;
	out->gid = (uint32_t)st->st_gid;
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = util_ts_ns(&st->st_mtim);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		out->rdev = (uint64_t)st->st_rdev;
	local_etag(st, out->etag);
}

static struct timespec local_timespec(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

static void local_close(struct remote *r)
{
	struct local *l = to_local(r);

	free(l->root);
	free(l->r.spec);
	free(l);
}

static int local_check(struct remote *r)
{
	int fd = local_root_open(to_local(r));

	if (fd < 0)
		return local_errno(fd, "check", "");
	close(fd);
	return 0;
}

/* Reports one entry of an open directory to fn; fn's value or -errno. */
static int local_list_one(DIR *d, const char *dir, const char *name,
			  remote_list_fn fn, void *arg)
{
	struct remote_attr attr;
	struct stat st;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (!remote_name_ok(name)) {
		log_warn("local: skipping an entry of directory \"/%s\": its "
			 "name is %zu bytes long, more than %d", dir,
			 strlen(name), NAME_MAX);
		return 0;
	}
	if (strncmp(name, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)) == 0)
		return 0;
	if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)	/* removed since readdir() */
			return 0;
		return local_errno(-errno, "list", dir);
	}
	if (!local_type_ok(st.st_mode)) {
		log_debug("local: skipping \"/%s\" in \"/%s\": of no type "
			  "POSIX names", name, dir);
		return 0;
	}
	local_attr(&st, &attr);
	return fn(arg, name, &attr);
}

static int local_list(struct remote *r, const char *dir, remote_list_fn fn,
		      void *arg)
{
	struct dirent *de;
	int rootfd, fd, rc = 0;
	DIR *d;

	if (!local_path_ok(dir))
		return -EINVAL;
	rootfd = local_root_open(to_local(r));
	if (rootfd < 0)
		return local_errno(rootfd, "list", dir);
	fd = local_open_dir(rootfd, dir, O_RDONLY);
	close(rootfd);
	if (fd < 0)
		return local_errno(fd, "list", dir);
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return local_errno(rc, "list", dir);
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = local_errno(-errno, "list", dir);
			break;
		}
		rc = local_list_one(d, dir, de->d_name, fn, arg);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

static int local_stat(struct remote *r, const char *path,
		      struct remote_attr *out)
{
	struct local_loc loc;
	struct stat st;
	int rc;

	rc = local_begin(to_local(r), path, O_PATH, true, &loc);
	if (rc < 0)
		return local_errno(rc, "stat", path);
	if (fstatat(loc.dfd, loc.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = local_errno(-errno, "stat", path);
	else if (!local_type_ok(st.st_mode))
		rc = -ENOENT;	/* invisible, as in list() */
	else
		local_attr(&st, out);
	close(loc.dfd);
	return rc;
}

/* The version of the file open at fd, into etag; 0 or -errno. */
static int local_fd_etag(int fd, char *etag)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	local_etag(&st, etag);
	return 0;
}

/*
 * Copies up to len bytes at off of fd into buf, or (buf NULL) into dst at
 * the same offset, in the kernel where it can. Stops at the end of the
 * file (size). Returns the bytes copied or -errno.
 */
static ssize_t local_copy_out(int fd, uint64_t size, void *buf, int dst,
			      size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	len = (size_t)CD_MIN((uint64_t)len, off < size ? size - off : 0);
	while (done < len) {
		if (buf) {
			n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		} else {
			loff_t in = (loff_t)(off + done), out = in;

			n = copy_file_range(fd, &in, dst, &out, len - done, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL ||
				      errno == EOPNOTSUPP || errno == ENOSYS)) {
				/* no in-kernel copy between these two */
				char *bounce = xmalloc(len - done);

				n = local_copy_out(fd, size, bounce, -1,
						   len - done, off + done);
				if (n > 0 && util_pwrite_all(dst, bounce,
							     (size_t)n,
							     off + done))
					n = -1;
				free(bounce);
				if (n < 0)
					return -errno;
				return (ssize_t)(done + (size_t)n);
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * Opens the regular file at path for reading, at version etag if that is
 * not NULL (-ESTALE if it changed); fills st. Returns the fd or -errno.
 */
static int local_open_file(struct remote *r, const char *path, bool root_ok,
			   const char *etag, struct stat *st)
{
	char now[REMOTE_ETAG_MAX];
	struct local_loc loc;
	int fd, rc = 0;

	rc = local_begin(to_local(r), path, O_PATH, root_ok, &loc);
	if (rc < 0)
		return rc;
	/* O_NONBLOCK: never hang on a FIFO someone left in the remote */
	fd = openat(loc.dfd, loc.name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	rc = fd < 0 ? -errno : 0;
	close(loc.dfd);
	if (rc < 0)
		return rc;
	if (fstat(fd, st) < 0) {
		rc = -errno;
	} else if (!S_ISREG(st->st_mode)) {
		rc = S_ISDIR(st->st_mode) ? -EISDIR : -ENOENT;
	} else {
		local_etag(st, now);
		if (etag && strcmp(etag, now) != 0)
			rc = -ESTALE;
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* read() and read_to_fd(): one of buf and dst is used. */
static ssize_t local_read_common(struct remote *r, const char *path,
				 const char *etag, void *buf, int dst,
				 size_t len, uint64_t off)
{
	char now[REMOTE_ETAG_MAX];
	struct stat st;
	ssize_t done = 0;
	int fd, rc = 0;

	fd = local_open_file(r, path, true, etag, &st);
	if (fd < 0)
		return local_errno(fd, "read", path);
	len = CD_MIN(len, (size_t)SSIZE_MAX);
	done = local_copy_out(fd, (uint64_t)st.st_size, buf, dst, len, off);
	if (done < 0) {
		rc = (int)done;
		goto out_close_file;
	}
	/* a write while we read also makes the bytes a mix of versions */
	if (etag) {
		rc = local_fd_etag(fd, now);
		if (rc == 0 && strcmp(etag, now) != 0)
			rc = -ESTALE;
	}
out_close_file:
	close(fd);
	if (rc < 0)
		return local_errno(rc, "read", path);
	return done;
}

static ssize_t local_read(struct remote *r, const char *path,
			  const char *etag, void *buf, size_t len,
			  uint64_t off)
{
	return local_read_common(r, path, etag, buf, -1, len, off);
}

static ssize_t local_read_to_fd(struct remote *r, const char *path,
				const char *etag, int fd, size_t len,
				uint64_t off)
{
	return local_read_common(r, path, etag, NULL, fd, len, off);
}

/* A fresh temp name LOCAL_TMP_PREFIX + 16 hex digits; 0 or -errno. */
static int local_tmp_name(char *name, size_t size)
{
	uint64_t r;
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom((char *)&r + got, sizeof(r) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	snprintf(name, size, "%s%016llx", LOCAL_TMP_PREFIX,
		 (unsigned long long)r);
	return 0;
}

/*
 * Two steps that use the temp name of one path at once (a copy and an
 * upload of it, a link and a copy over it) would each remove the other's
 * temp file or rename it into place half written: they take turns, by a
 * lock of the name's stripe.
 */
#define LOCAL_TMP_LOCKS 32
static pthread_mutex_t local_tmp_locks[LOCAL_TMP_LOCKS] = {
	[0 ... LOCAL_TMP_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * The temp name of a step whose temp file nobody records (a link, a
 * copy): LOCAL_TMP_PREFIX + 16 hex digits of a hash (FNV-1a) of the path
 * it is for. A try that a crash cut leaves it behind; the try after,
 * which the journal makes with the same path, finds it by that name and
 * removes it first. Returns the lock to hold while the name is in use.
 */
static pthread_mutex_t *local_tmp_name_for(const char *path, char *name,
					   size_t size)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *path; path++) {
		h ^= (unsigned char)*path;
		h *= 1099511628211ULL;
	}
	snprintf(name, size, "%s%016llx", LOCAL_TMP_PREFIX,
		 (unsigned long long)h);
	return &local_tmp_locks[h % LOCAL_TMP_LOCKS];
}

static int local_renameat(const struct local_loc *from,
			  const struct local_loc *to, unsigned flags);

/*
 * Whether the object at loc may be replaced under put()'s condition
 * match (an etag: the version it must still have). The check and the
 * rename after it are two steps: a writer of the directory between them
 * is not seen (the remote directory is this machine's, so only another
 * program on it could be one).
 */
static int local_check_match(const struct local_loc *loc, const char *match)
{
	char etag[REMOTE_ETAG_MAX];
	struct stat st;

	if (fstatat(loc->dfd, loc->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	local_etag(&st, etag);
	return S_ISREG(st.st_mode) && strcmp(etag, match) == 0 ? 0 : -ESTALE;
}

/* Whether name is one of put()'s temp names (and nothing else). */
static bool local_is_tmp(const char *name)
{
	return name && strncmp(name, LOCAL_TMP_PREFIX,
			       strlen(LOCAL_TMP_PREFIX)) == 0 &&
	       strlen(name) == strlen(LOCAL_TMP_PREFIX) + 16 &&
	       !strchr(name, '/');
}

/*
 * Gives (dfd, name), or dfd itself when name is "", the owner meta asks
 * for, where the daemon may (as root); where it may not, the store alone
 * keeps it. Before a chmod: a chown takes the set-ID bits away.
 */
static int local_chown(int dfd, const char *name,
		       const struct remote_meta *meta)
{
	if (meta->uid == REMOTE_OWNER_NONE && meta->gid == REMOTE_OWNER_NONE)
		return 0;
	if (fchownat(dfd, name, (uid_t)meta->uid, (gid_t)meta->gid,
		     AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) == 0)
		return 0;
	return errno == EPERM ? 0 : -errno;
}

static int local_put(struct remote *r, const char *path, int fd,
		     uint64_t size, const struct remote_meta *meta,
		     const char *match, const struct remote_resume *resume,
		     remote_progress_fn progress, void *arg,
		     struct remote_attr *out)
{
	char tmp[sizeof(LOCAL_TMP_PREFIX) + 16];
	pthread_mutex_t *held = NULL;
	struct local_loc loc;
	bool renamed = false;
	struct stat st;
	int tfd, rc;

	rc = local_begin(to_local(r), path, O_RDONLY, false, &loc);
	if (rc < 0)
		return local_errno(rc, "put", path);
	if (match && *match) {
		/* before the copy, which a refusal saves */
		rc = local_check_match(&loc, match);
		if (rc < 0)
			goto out_close_dir;
	}
	/* a temp file a crash left of an earlier try goes first, and this
	 * one is remembered until it is renamed into place or removed; one
	 * nobody remembers has the name of its path */
	if (resume && local_is_tmp(resume->state))
		unlinkat(loc.dfd, resume->state, 0);
	if (resume) {
		rc = local_tmp_name(tmp, sizeof(tmp));
		if (rc < 0)
			goto out_close_dir;
	} else {
		held = local_tmp_name_for(path, tmp, sizeof(tmp));
		pthread_mutex_lock(held);
		unlinkat(loc.dfd, tmp, 0);
	}
	if (resume && resume->save && resume->save(resume->arg, tmp))
		log_warn("local: put %s: its temp file %s is not recorded; a "
			 "crash would leave it", path, tmp);
	tfd = openat(loc.dfd, tmp,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (tfd < 0) {
		rc = -errno;
		goto out_close_dir;
	}
	rc = util_copy(fd, tfd, size, progress, arg);
	if (rc < 0)
		goto out_unlink;
	rc = local_chown(tfd, "", meta);
	if (rc < 0)
		goto out_unlink;
	if (meta->mode != (uint32_t)-1 && fchmod(tfd, meta->mode & 07777) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (meta->mtime_ns != INT64_MIN) {
		struct timespec ts[2] = {
			{ .tv_nsec = UTIME_OMIT },
			local_timespec(meta->mtime_ns),
		};

		if (futimens(tfd, ts) < 0) {
			rc = -errno;
			goto out_unlink;
		}
	}
	if (fsync(tfd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	crash_point("remote-tmp");
	if (match && *match)
		rc = local_check_match(&loc, match);
	if (rc < 0)
		goto out_unlink;
	rc = local_renameat(&(struct local_loc){ loc.dfd, tmp }, &loc,
			    match && !*match ? RENAME_NOREPLACE : 0);
	if (rc < 0) {
		rc = rc == -EEXIST ? -ESTALE : rc;
		goto out_unlink;
	}
	renamed = true;
	rc = local_sync_dir(loc.dfd);
	if (rc < 0)
		goto out_unlink;
	if (fstat(tfd, &st) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	local_attr(&st, out);
out_unlink:
	if (rc < 0 && !renamed)
		unlinkat(loc.dfd, tmp, 0);
	close(tfd);
	if (resume && resume->save && resume->save(resume->arg, NULL))
		log_warn("local: put %s: its temp file stays recorded", path);
out_close_dir:
	if (held)
		pthread_mutex_unlock(held);
	close(loc.dfd);
	if (rc < 0)
		return local_errno(rc, "put", path);
	return 0;
}

/* remote_ops.abandon: a put's temp file that a crash left behind. */
static void local_abandon(struct remote *r, const char *path,
			  const char *state)
{
	struct local_loc loc;

	if (!local_is_tmp(state) ||
	    local_begin(to_local(r), path, O_RDONLY, false, &loc) < 0)
		return;
	unlinkat(loc.dfd, state, 0);
	close(loc.dfd);
}

/* A copy on the remote's own file system: the source opened beneath the
 * root, then published like an upload from it (reflink or in-kernel copy,
 * never through the mount). */
static int local_copy_object(struct remote *r, const char *from,
			     const char *etag, const char *to,
			     const struct remote_meta *meta,
			     struct remote_attr *out)
{
	struct stat st;
	int fd, rc;

	fd = local_open_file(r, from, false, etag, &st);
	if (fd < 0)
		return local_errno(fd, "copy", from);
	rc = local_put(r, to, fd, (uint64_t)st.st_size, meta, NULL, NULL,
		       NULL, NULL, out);
	close(fd);
	return rc;
}

/*
 * The directories of from and to (a rename's or a link's two ends),
 * each beneath the root; the caller closes src->dfd and dst->dfd. An
 * error is logged, naming both.
 */
static int local_locate_pair(struct remote *r, const char *op,
			     const char *from, const char *to,
			     struct local_loc *src, struct local_loc *dst)
{
	int rootfd, rc;

	rootfd = local_root_open(to_local(r));
	if (rootfd < 0)
		return local_errno(rootfd, op, from);
	rc = local_locate(rootfd, from, O_RDONLY, src);
	if (rc >= 0) {
		rc = local_locate(rootfd, to, O_RDONLY, dst);
		if (rc < 0)
			close(src->dfd);
	}
	close(rootfd);
	return rc < 0 ? local_errno2(rc, op, from, to) : 0;
}

/*
 * remote_ops.link: a hard link, made under a temp name beside to and
 * renamed over it, so that to is always the old file or the new name.
 * Where the file system refuses the link (EXDEV: another file system
 * mounted inside the root; EPERM: one without hard links; EMLINK: the
 * file has all it can), to becomes a copy instead, said in the log: the
 * names stay the same bytes, as every upload links or copies them again.
 * A crash between the two steps leaves a hidden temp name, which the
 * journal's next try of the link removes (local_tmp_name_for).
 */
static int local_link(struct remote *r, const char *from, const char *to)
{
	char tmp[sizeof(LOCAL_TMP_PREFIX) + 16];
	struct local_loc src, dst;
	struct remote_attr out;
	struct stat st = { 0 };
	pthread_mutex_t *held;
	int rc;

	if (!*from || !*to)
		return -EINVAL;
	rc = local_locate_pair(r, "link", from, to, &src, &dst);
	if (rc < 0)
		return rc;
	/* a name of the file that a crash left under the temp name (its
	 * link made, its rename not) goes first */
	held = local_tmp_name_for(to, tmp, sizeof(tmp));
	pthread_mutex_lock(held);
	unlinkat(dst.dfd, tmp, 0);
	rc = 0;
	if (fstatat(src.dfd, src.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (!rc && linkat(src.dfd, src.name, dst.dfd, tmp, 0) < 0)
		rc = -errno;
	if ((rc == -EXDEV || rc == -EPERM || rc == -EMLINK) &&
	    S_ISREG(st.st_mode)) {
		struct remote_meta m = {
			.mode = st.st_mode & 07777, .uid = st.st_uid,
			.gid = st.st_gid, .mtime_ns = util_ts_ns(&st.st_mtim),
		};

		log_info("local: %s -> %s: no hard link here (%s); a copy, "
			 "kept the same by every upload", from, to,
			 strerror(-rc));
		pthread_mutex_unlock(held);	/* the copy takes it */
		rc = local_copy_object(r, from, NULL, to, &m, &out);
		goto out_close_dst;
	}
	if (rc < 0) {
		pthread_mutex_unlock(held);
		goto out_close_dst;
	}
	crash_point("link-tmp");
	rc = local_renameat(&(struct local_loc){ dst.dfd, tmp }, &dst, 0);
	/* gone after a rename, unless to was a name of the same file
	 * already (a rename between two of them does nothing) */
	unlinkat(dst.dfd, tmp, 0);
	pthread_mutex_unlock(held);
	if (!rc)
		rc = local_sync_dir(dst.dfd);
out_close_dst:
	close(dst.dfd);
	close(src.dfd);
	return rc < 0 ? local_errno2(rc, "link", from, to) : rc;
}

/*
 * chmod of an object that is no symlink; a symlink is left alone, as
 * Linux has no modes for them (glibc answers EOPNOTSUPP).
 */
static int local_chmod(int dfd, const char *name, uint32_t mode)
{
	if (fchmodat(dfd, name, mode & 07777, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno == EOPNOTSUPP)
		return 0;
	return -errno;
}

static int local_mkdir(struct remote *r, const char *path,
		       const struct remote_meta *meta)
{
	uint32_t mode = meta->mode == (uint32_t)-1 ? 0755 : meta->mode;
	struct local_loc loc;
	int rc;

	rc = local_begin(to_local(r), path, O_RDONLY, false, &loc);
	if (rc < 0)
		return local_errno(rc, "mkdir", path);
	if (mkdirat(loc.dfd, loc.name, 0700) < 0)
		rc = -errno;
	if (!rc)
		crash_point("mkdir-made");
	/* its owner, then the mode the caller asked for, whatever our
	 * umask */
	if (!rc)
		rc = local_chown(loc.dfd, loc.name, meta);
	if (!rc)
		rc = local_chmod(loc.dfd, loc.name, mode);
	if (!rc && meta->mtime_ns != INT64_MIN) {
		struct timespec ts[2] = {
			{ .tv_nsec = UTIME_OMIT },
			local_timespec(meta->mtime_ns),
		};

		if (utimensat(loc.dfd, loc.name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
	}
	if (!rc)
		rc = local_sync_dir(loc.dfd);
	close(loc.dfd);
	return rc < 0 ? local_errno(rc, "mkdir", path) : 0;
}

static int local_rmdir(struct remote *r, const char *path)
{
	struct local_loc loc;
	int rc;

	rc = local_begin(to_local(r), path, O_RDONLY, false, &loc);
	if (rc < 0)
		return local_errno(rc, "rmdir", path);
	if (unlinkat(loc.dfd, loc.name, AT_REMOVEDIR) < 0)
		rc = errno == EEXIST ? -ENOTEMPTY : -errno;
	if (!rc)
		rc = local_sync_dir(loc.dfd);
	close(loc.dfd);
	return rc < 0 ? local_errno(rc, "rmdir", path) : 0;
}

static int local_unlink(struct remote *r, const char *path)
{
	struct local_loc loc;
	int rc;

	rc = local_begin(to_local(r), path, O_RDONLY, false, &loc);
	if (rc < 0)
		return local_errno(rc, "unlink", path);
	if (unlinkat(loc.dfd, loc.name, 0) < 0)
		rc = -errno;
	if (!rc)
		rc = local_sync_dir(loc.dfd);
	close(loc.dfd);
	return rc < 0 ? local_errno(rc, "unlink", path) : 0;
}

/* renameat2(), with a fallback for file systems without NOREPLACE. */
static int local_renameat(const struct local_loc *from,
			  const struct local_loc *to, unsigned flags)
{
	struct stat st;

	if (renameat2(from->dfd, from->name, to->dfd, to->name, flags) == 0)
		return 0;
	if (errno != EINVAL || !flags)
		return -errno;
	/*
	 * NEEDSWORK: NFS and SMB refuse RENAME_NOREPLACE. This check and
	 * rename race with other writers of the share; linkat() + unlinkat()
	 * would be atomic for files.
	 */
	if (fstatat(to->dfd, to->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	if (errno != ENOENT)
		return -errno;
	if (renameat(from->dfd, from->name, to->dfd, to->name) < 0)
		return -errno;
	return 0;
}

/* Whether a and b have the same parent directory. */
static bool local_same_parent(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/');
	const char *sb = strrchr(b, '/');
	size_t na = sa ? (size_t)(sa - a) : 0;
	size_t nb = sb ? (size_t)(sb - b) : 0;

	return na == nb && strncmp(a, b, na) == 0;
}

/* Whether the objects at a and b are one file (two hard links); false
 * if either is gone. */
static bool local_same_file(const struct local_loc *a,
			    const struct local_loc *b)
{
	struct stat sa, sb;

	if (fstatat(a->dfd, a->name, &sa, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(b->dfd, b->name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static int local_rename(struct remote *r, const char *from, const char *to,
			unsigned flags, char etag[REMOTE_ETAG_MAX],
			remote_progress_fn progress, void *arg)
{
	struct local_loc src, dst;
	struct stat st;
	int rc;

	(void)progress;	/* one renameat: nothing to report */
	(void)arg;
	if ((flags & ~(unsigned)RENAME_NOREPLACE) || !*from || !*to)
		return -EINVAL;
	rc = local_locate_pair(r, "rename", from, to, &src, &dst);
	if (rc < 0)
		return rc;
	rc = local_renameat(&src, &dst, flags);
	/* rename(2) between two names of one file does nothing; the drive's
	 * rename of an extra name over another (the file's own, which an
	 * unlink here promoted) must leave the source name gone, or a poll
	 * brings it back */
	if (!rc && local_same_file(&src, &dst) &&
	    unlinkat(src.dfd, src.name, 0) < 0 && errno != ENOENT)
		rc = -errno;
	if (!rc && etag &&
	    fstatat(dst.dfd, dst.name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		local_etag(&st, etag);	/* the same: a rename keeps it */
	if (!rc)
		rc = local_sync_dir(dst.dfd);
	if (!rc && !local_same_parent(from, to))
		rc = local_sync_dir(src.dfd);
	close(dst.dfd);
	close(src.dfd);
	return rc < 0 ? local_errno2(rc, "rename", from, to) : rc;
}

static int local_symlink(struct remote *r, const char *target,
			 const char *path)
{
	struct local_loc loc;
	int rc;

	rc = local_begin(to_local(r), path, O_RDONLY, false, &loc);
	if (rc < 0)
		return local_errno(rc, "symlink", path);
	if (symlinkat(target, loc.dfd, loc.name) < 0)
		rc = -errno;
	if (!rc)
		rc = local_sync_dir(loc.dfd);
	close(loc.dfd);
	return rc < 0 ? local_errno(rc, "symlink", path) : 0;
}

/*
 * A FIFO, socket or device node, as mknod(2) makes them; only root may
 * make a device (-EPERM otherwise), which the caller is told. The mode
 * is set again after, whatever our umask.
 */
static int local_mknod(struct remote *r, const char *path, uint32_t type,
		       uint64_t rdev, const struct remote_meta *meta,
		       struct remote_attr *out)
{
	uint32_t mode = (type & S_IFMT) | (meta->mode & 07777);
	int64_t mtime_ns = meta->mtime_ns;
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT },
		local_timespec(mtime_ns),
	};
	bool dev = S_ISCHR(mode) || S_ISBLK(mode);
	struct local_loc loc;
	struct stat st;
	int rc;

	if (!S_ISFIFO(mode) && !S_ISSOCK(mode) && !dev)
		return -EINVAL;
	rc = local_begin(to_local(r), path, O_RDONLY, false, &loc);
	if (rc < 0)
		return local_errno(rc, "mknod", path);
	if (mknodat(loc.dfd, loc.name, mode & (S_IFMT | 07777),
		    dev ? (dev_t)rdev : 0) < 0)
		rc = -errno;
	if (!rc)
		rc = local_chown(loc.dfd, loc.name, meta);
	if (!rc)
		rc = local_chmod(loc.dfd, loc.name, mode);
	if (!rc && mtime_ns != INT64_MIN &&
	    utimensat(loc.dfd, loc.name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (!rc && fstatat(loc.dfd, loc.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (!rc) {
		local_attr(&st, out);
		rc = local_sync_dir(loc.dfd);
	}
	close(loc.dfd);
	return rc < 0 ? local_errno(rc, "mknod", path) : 0;
}

static int local_readlink(struct remote *r, const char *path, char *buf,
			  size_t size)
{
	struct local_loc loc;
	ssize_t n;
	int rc;

	if (size == 0)
		return -ENAMETOOLONG;
	rc = local_begin(to_local(r), path, O_PATH, false, &loc);
	if (rc < 0)
		return local_errno(rc, "readlink", path);
	n = readlinkat(loc.dfd, loc.name, buf, size);
	if (n < 0)
		rc = -errno;	/* -EINVAL: not a symlink */
	else if ((size_t)n >= size)
		rc = -ENAMETOOLONG;
	else
		buf[n] = '\0';
	close(loc.dfd);
	return rc < 0 ? local_errno(rc, "readlink", path) : 0;
}

static int local_setattr(struct remote *r, const char *path,
			 const struct remote_meta *meta,
			 struct remote_attr *out)
{
	struct local_loc loc;
	struct stat st;
	int rc;

	rc = local_begin(to_local(r), path, O_PATH, true, &loc);
	if (rc < 0)
		return local_errno(rc, "setattr", path);
	rc = local_chown(loc.dfd, loc.name, meta);
	if (!rc && meta->mode != (uint32_t)-1)
		rc = local_chmod(loc.dfd, loc.name, meta->mode);
	if (!rc && meta->mtime_ns != INT64_MIN) {
		struct timespec ts[2] = {
			{ .tv_nsec = UTIME_OMIT },
			local_timespec(meta->mtime_ns),
		};

		if (utimensat(loc.dfd, loc.name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
	}
	if (!rc && out) {
		if (fstatat(loc.dfd, loc.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
		else
			local_attr(&st, out);
	}
	close(loc.dfd);
	return rc < 0 ? local_errno(rc, "setattr", path) : 0;
}

static int local_statfs(struct remote *r, struct statvfs *out)
{
	int fd, rc = 0;

	fd = local_root_open(to_local(r));
	if (fd < 0)
		return local_errno(fd, "statfs", "");
	if (fstatvfs(fd, out) < 0)
		rc = local_errno(-errno, "statfs", "");
	close(fd);
	return rc;
}

static const struct remote_ops local_ops = {
	.name = "local",
	.caps = REMOTE_CAP_RANGE_READ | REMOTE_CAP_RENAME |
		REMOTE_CAP_SYMLINK | REMOTE_CAP_CHMOD | REMOTE_CAP_LINK |
		REMOTE_CAP_LIST_CHEAP,
	.close = local_close,
	.check = local_check,
	.list = local_list,
	.stat = local_stat,
	.read = local_read,
	.read_to_fd = local_read_to_fd,
	.put = local_put,
	.abandon = local_abandon,
	.copy = local_copy_object,
	.link = local_link,
	.mkdir = local_mkdir,
	.rmdir = local_rmdir,
	.unlink = local_unlink,
	.rename = local_rename,
	.symlink = local_symlink,
	.mknod = local_mknod,
	.readlink = local_readlink,
	.setattr = local_setattr,
	.statfs = local_statfs,
};

struct remote *remote_local_open(const char *dir, char *err, size_t errlen)
{
	struct statvfs sv;
	struct local *l;
	struct stat st;
	char *root;

	root = realpath(dir, NULL);
	if (!root) {
		if (errno == ENOENT)
			snprintf(err, errlen,
				 "remote directory %s does not exist", dir);
		else
			snprintf(err, errlen,
				 "cannot find remote directory %s: %s", dir,
				 strerror(errno));
		return NULL;
	}
	if (stat(root, &st) < 0) {
		snprintf(err, errlen, "cannot stat remote directory %s: %s",
			 dir, strerror(errno));
		free(root);
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "remote %s is not a directory", dir);
		free(root);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->r.ops = &local_ops;
	l->r.spec = xstrdup(dir);
	/* the file system under it may keep shorter names than NAME_MAX */
	if (statvfs(root, &sv) == 0 && sv.f_namemax > 0)
		l->r.name_max = (uint32_t)CD_MIN(sv.f_namemax,
						 (unsigned long)NAME_MAX);
	l->root = root;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return &l->r;
}
