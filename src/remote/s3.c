/*
 * The S3 backend: a bucket (or a prefix in one) of any S3-compatible
 * service is the remote.
 *
 * Mapping. The remote path "a/b" is the key PREFIX + "a/b". Directories
 * are what ListObjectsV2 with delimiter '/' calls common prefixes, plus
 * the zero-byte "dir/" markers the drive makes so that an empty
 * directory exists. A key that cannot be a POSIX path ("a//b", a "." or
 * ".." component, a component over 255 bytes) is skipped with one log
 * line, never shown under another name. A file and a directory of the
 * same name ("a" and "a/x"): the directory is shown.
 *
 * Attributes. size and etag come from HEAD, GET and listings. mtime and
 * mode are kept in x-amz-meta-mtime (seconds, with a fraction) and
 * x-amz-meta-mode (the st_mode in decimal, as s3fs writes it) when the
 * drive wrote the object; else mtime is Last-Modified and the mode 0644.
 * Listings cannot see metadata: their entries say so (approx), and the
 * store keeps what it knows for the same etag.
 *
 * Special files (FIFOs, sockets, devices) are zero-byte objects whose
 * x-amz-meta-mode has their type, and x-amz-meta-rdev a device's number
 * in decimal, as s3fs makes them; HEAD tells them, a listing cannot.
 * A symlink is an object whose bytes are its target and whose
 * x-amz-meta-mode has S_IFLNK, as s3fs makes them; HEAD tells it too.
 * Other types in a mode (s3fs's directory objects) are taken for files.
 *
 * This file holds the ops table, the opening, the mapping, reads, and
 * the changes of names: mkdir, mknod, rmdir, unlink, rename, setattr. The rest
 * has a file each, and s3_int.h says what each gives the others: the
 * transport (s3_http.c), listing (s3_list.c), and put() and copy()
 * (s3_upload.c). rename() is copy + delete, key by key under a
 * directory: a rename cut short is finished by running it again.
 */
#include "common.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

#include "remote/remote.h"
#include "remote/s3_int.h"
#include "util/log.h"
#include "util/util.h"

#define S3_MULTIPART_MIN (64ull << 20)	/* put() above: multipart */
#define S3_PART_MIN (16ull << 20)	/* part size, at least */
#define S3_COPY_MAX (5ull << 30)	/* CopyObject's limit */

/* ---------------------------------------------------------- the mapping */

/* The key of remote path p ("" is the prefix itself). */
char *s3_key_of(struct s3 *s, const char *p)
{
	return xasprintf("%s%s", s->prefix, p);
}

/* The key prefix of the entries of directory p. */
char *s3_dir_prefix(struct s3 *s, const char *p)
{
	return *p ? xasprintf("%s%s/", s->prefix, p) : xstrdup(s->prefix);
}

/* Whether mode is a special file's: a FIFO, a socket or a device. */
static bool special(uint32_t mode)
{
	return S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode) ||
	       S_ISBLK(mode);
}

static void attr_from_head(const struct s3_req *q, struct remote_attr *a)
{
	uint32_t type = S_IFREG;

	memset(a, 0, sizeof(*a));
	a->size = q->have_length ? q->length : 0;
	a->mode = S3_FILE_MODE;
	/* a special file has no bytes: one that has is a file all the same */
	if (q->have_meta_mode && special(q->meta_mode) && a->size == 0)
		type = q->meta_mode & S_IFMT;
	/* a symlink's bytes are its target: never none, never a path's
	 * worth */
	if (q->have_meta_mode && S_ISLNK(q->meta_mode) && a->size > 0 &&
	    a->size < S3_LINK_MAX)
		type = S_IFLNK;
	if (q->have_meta_mode)
		a->mode = type | (q->meta_mode & 07777);
	if ((S_ISCHR(type) || S_ISBLK(type)) && q->have_meta_rdev)
		a->rdev = q->meta_rdev;
	a->uid = q->meta_uid;
	a->gid = q->meta_gid;
	a->mtime_ns = q->have_meta_mtime ? q->meta_mtime_ns
					 : q->last_modified_ns;
	snprintf(a->etag, sizeof(a->etag), "%s", q->etag);
}

/* A directory is a name only: no time of its own but when first seen. */
void s3_dir_attr(struct remote_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->mode = S3_DIR_MODE;
	a->uid = a->gid = REMOTE_OWNER_NONE;
	a->mtime_ns = util_now_ns();
	a->approx = true;
	snprintf(a->etag, sizeof(a->etag), "dir");
}

/* Counts the keys of a short listing, but for a directory's own "dir/"
 * marker if one is given: whether a directory exists, or is empty. */
struct peek {
	const char *marker;	/* NULL: count every key */
	int others;
};

static int peek_item(void *arg, const struct s3_list_item *it)
{
	struct peek *p = arg;

	if (!p->marker || strcmp(it->key, p->marker) != 0)
		p->others++;
	return 0;
}

/* Whether any key lies below directory p (its marker counts). */
static int dir_exists(struct s3 *s, const char *p)
{
	char *prefix = s3_dir_prefix(s, p), *next = NULL;
	struct peek k = { NULL, 0 };
	bool more = false;
	int rc;

	rc = s3_list_page(s, prefix, NULL, 1, NULL, peek_item, &k, &more, &next,
			  p);
	free(next);
	free(prefix);
	if (rc)
		return rc;
	return k.others > 0 ? 1 : 0;
}

/*
 * A directory's attributes: its "dir/" marker's metadata where it has
 * some (the drive's and s3fs's markers do), else the guesses of a
 * directory that is a prefix only.
 */
static void dir_stat(struct s3 *s, const char *path, struct remote_attr *out)
{
	char *key = xasprintf("%s%s/", s->prefix, path);
	struct s3_req q;

	s3_dir_attr(out);
	s3_req_init(&q, "HEAD", key, path);
	if (s3_call(s, &q) == 0 && q.have_meta_mode) {
		out->mode = S_IFDIR | (q.meta_mode & 07777);
		out->uid = q.meta_uid;
		out->gid = q.meta_gid;
		if (q.have_meta_mtime)
			out->mtime_ns = q.meta_mtime_ns;
		out->approx = false;
	}
	s3_req_release(&q);
	free(key);
}

int s3_head(struct s3 *s, const char *key, const char *what,
	    struct remote_attr *out)
{
	struct s3_req q;
	int rc;

	s3_req_init(&q, "HEAD", key, what);
	rc = s3_call(s, &q);
	if (!rc)
		attr_from_head(&q, out);
	s3_req_release(&q);
	return rc;
}

static int s3_stat(struct remote *r, const char *path,
		   struct remote_attr *out)
{
	struct s3 *s = to_s3(r);
	char *key;
	int rc;

	if (!*path) {
		s3_dir_attr(out);
		return 0;
	}
	rc = dir_exists(s, path);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		dir_stat(s, path, out);
		return 0;
	}
	key = s3_key_of(s, path);
	rc = s3_head(s, key, path, out);
	free(key);
	return rc;
}

static int s3_stat_file(struct remote *r, const char *path,
			struct remote_attr *out)
{
	struct s3 *s = to_s3(r);
	char *key;
	int rc;

	if (!*path)
		return -EISDIR;
	key = s3_key_of(s, path);
	rc = s3_head(s, key, path, out);
	free(key);
	return rc;
}

static int s3_check(struct remote *r)
{
	struct s3 *s = to_s3(r);
	struct s3_req q;
	int rc;

	s3_req_init(&q, "HEAD", NULL, "(the bucket)");
	rc = s3_call(s, &q);
	s3_req_release(&q);
	return rc;
}

/* ---------------------------------------------------------------- reads */

static ssize_t get_range(struct s3 *s, const char *path, const char *etag,
			 char *buf, int fd, size_t len, uint64_t off)
{
	char range[64], *key;
	struct s3_req q;
	ssize_t rc;

	if (len == 0)
		return 0;
	key = s3_key_of(s, path);
	snprintf(range, sizeof(range), "bytes=%llu-%llu",
		 (unsigned long long)off, (unsigned long long)(off + len - 1));
	s3_req_init(&q, "GET", key, path);
	s3_req_header(&q, "Range", range);
	if (etag && *etag)
		s3_req_header(&q, "If-Match", etag);
	q.sink_buf = buf;
	q.sink_fd = buf ? -1 : fd;
	q.sink_off = off;
	q.sink_cap = len;
	rc = s3_call(s, &q);
	if (rc == -ERANGE) {
		rc = 0;		/* at or past the end */
	} else if (rc == 0 && q.status == 200 && off > 0) {
		/* the whole object, not the range: not ours to cut */
		log_warn("s3: GET %s: the server ignored the range", path);
		rc = -EIO;
	} else if (rc == 0) {
		rc = (ssize_t)q.got;
	}
	s3_req_release(&q);
	free(key);
	return rc;
}

static ssize_t s3_read(struct remote *r, const char *path, const char *etag,
		       void *buf, size_t len, uint64_t off)
{
	return get_range(to_s3(r), path, etag, buf, -1, len, off);
}

static ssize_t s3_read_to_fd(struct remote *r, const char *path,
			     const char *etag, int fd, size_t len,
			     uint64_t off)
{
	return get_range(to_s3(r), path, etag, NULL, fd, len, off);
}

/* --------------------------------------------------------------- writes */

void s3_meta_hdrs(struct s3_req *q, struct s3_meta_hdrs *m, uint32_t mode,
		  const struct remote_meta *meta)
{
	int64_t mtime_ns = meta->mtime_ns == INT64_MIN ? util_now_ns()
						       : meta->mtime_ns;
	/* a decimal of seconds, signed as a whole: -1.25, not -2.75 */
	uint64_t abs = mtime_ns < 0 ? -(uint64_t)mtime_ns : (uint64_t)mtime_ns;

	snprintf(m->mtime, sizeof(m->mtime), "%s%llu.%09llu",
		 mtime_ns < 0 ? "-" : "",
		 (unsigned long long)(abs / 1000000000),
		 (unsigned long long)(abs % 1000000000));
	snprintf(m->mode, sizeof(m->mode), "%u", (unsigned)mode);
	s3_req_header(q, "x-amz-meta-mtime", m->mtime);
	s3_req_header(q, "x-amz-meta-mode", m->mode);
	if (meta->uid != REMOTE_OWNER_NONE) {
		snprintf(m->uid, sizeof(m->uid), "%u", (unsigned)meta->uid);
		s3_req_header(q, "x-amz-meta-uid", m->uid);
	}
	if (meta->gid != REMOTE_OWNER_NONE) {
		snprintf(m->gid, sizeof(m->gid), "%u", (unsigned)meta->gid);
		s3_req_header(q, "x-amz-meta-gid", m->gid);
	}
}

static int delete_key(struct s3 *s, const char *key, const char *what)
{
	struct s3_req q;
	int rc;

	s3_req_init(&q, "DELETE", key, what);
	rc = s3_call(s, &q);
	s3_req_release(&q);
	return rc == -ENOENT ? 0 : rc;
}

static int s3_mkdir(struct remote *r, const char *path,
		    const struct remote_meta *meta)
{
	uint32_t mode = meta->mode == (uint32_t)-1 ? 0755 : meta->mode;
	struct s3 *s = to_s3(r);
	char *key = xasprintf("%s%s/", s->prefix, path);
	struct s3_meta_hdrs m;
	struct s3_req q;
	int rc;

	rc = dir_exists(s, path);
	if (rc > 0) {
		free(key);
		return -EEXIST;
	}
	s3_req_init(&q, "PUT", key, path);
	s3_meta_hdrs(&q, &m, S_IFDIR | (mode & 07777), meta);
	q.body = "";
	q.body_len = 0;
	rc = rc < 0 ? rc : s3_call(s, &q);
	s3_req_release(&q);
	free(key);
	return rc;
}

/*
 * Writes the zero-byte object at key of a special file, with its mode,
 * rdev (a device's) and mtime in its metadata; out gets its attributes.
 * What was at key is replaced, metadata and all.
 */
static int put_special(struct s3 *s, const char *key, const char *path,
		       uint32_t mode, uint64_t rdev,
		       const struct remote_meta *meta, struct remote_attr *out)
{
	bool dev = S_ISCHR(mode) || S_ISBLK(mode);
	struct s3_meta_hdrs m;
	char num[24];
	struct s3_req q;
	int rc;

	s3_req_init(&q, "PUT", key, path);
	s3_meta_hdrs(&q, &m, mode, meta);
	if (dev) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)rdev);
		s3_req_header(&q, "x-amz-meta-rdev", num);
	}
	q.body = "";
	q.body_len = 0;
	rc = s3_call(s, &q);
	if (!rc) {
		memset(out, 0, sizeof(*out));
		out->mode = mode;
		out->rdev = dev ? rdev : 0;
		out->uid = meta->uid;
		out->gid = meta->gid;
		out->mtime_ns = meta->mtime_ns;
		snprintf(out->etag, sizeof(out->etag), "%s", q.etag);
	}
	s3_req_release(&q);
	return rc;
}

/* A symlink: an object holding its target, with S_IFLNK in its mode. */
static int s3_symlink(struct remote *r, const char *target, const char *path)
{
	struct remote_meta m = REMOTE_META(0777, util_now_ns());
	struct s3 *s = to_s3(r);
	struct remote_attr a;
	struct s3_meta_hdrs h;
	struct s3_req q;
	char *key;
	int rc;

	if (!*target || strlen(target) >= S3_LINK_MAX)
		return -ENAMETOOLONG;
	rc = s3_stat(r, path, &a);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	key = s3_key_of(s, path);
	s3_req_init(&q, "PUT", key, path);
	s3_meta_hdrs(&q, &h, S_IFLNK | 0777, &m);
	q.body = target;
	q.body_len = strlen(target);
	rc = s3_call(s, &q);
	s3_req_release(&q);
	free(key);
	return rc;
}

static int s3_readlink(struct remote *r, const char *path, char *buf,
		       size_t size)
{
	struct remote_attr a;
	ssize_t got;
	int rc;

	rc = s3_stat_file(r, path, &a);
	if (rc)
		return rc;
	if (!S_ISLNK(a.mode))
		return -EINVAL;
	if (a.size >= size)
		return -ENAMETOOLONG;
	got = get_range(to_s3(r), path, a.etag, buf, -1, a.size, 0);
	if (got < 0)
		return (int)got;
	if ((uint64_t)got != a.size)
		return -EAGAIN;	/* changed meanwhile */
	buf[got] = '\0';
	return 0;
}

static int s3_mknod(struct remote *r, const char *path, uint32_t type,
		    uint64_t rdev, const struct remote_meta *meta,
		    struct remote_attr *out)
{
	uint32_t mode = (type & S_IFMT) | (meta->mode & 07777);
	struct remote_meta m = *meta;
	struct s3 *s = to_s3(r);
	char *key;
	int rc;

	if (!special(mode))
		return -EINVAL;
	if (m.mtime_ns == INT64_MIN)
		m.mtime_ns = util_now_ns();
	key = s3_key_of(s, path);
	rc = put_special(s, key, path, mode, rdev, &m, out);
	free(key);
	return rc;
}

static int s3_rmdir(struct remote *r, const char *path)
{
	struct s3 *s = to_s3(r);
	char *prefix = s3_dir_prefix(s, path), *next = NULL;
	struct peek p = { prefix, 0 };
	bool more = false;
	int rc;

	rc = s3_list_page(s, prefix, "/", 2, NULL, peek_item, &p, &more, &next,
			  path);
	free(next);
	if (!rc && p.others > 0)
		rc = -ENOTEMPTY;
	if (!rc)
		rc = delete_key(s, prefix, path);
	free(prefix);
	return rc;
}

static int s3_unlink(struct remote *r, const char *path)
{
	struct s3 *s = to_s3(r);
	char *key = s3_key_of(s, path);
	int rc = delete_key(s, key, path);

	free(key);
	return rc;
}

/* Moves one key: copy (keeping its metadata), then delete. */
/* Moves key from to key to; etag, if not NULL, gets the copy's. */
static int move_key(struct s3 *s, const char *from, const char *to,
		    const char *what, uint64_t size, char *etag)
{
	struct remote_attr a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = s3_copy_key(s, from, to, what, NULL, size, 0, NULL, &a);
	if (!rc)
		rc = delete_key(s, from, what);
	if (!rc && etag)
		snprintf(etag, REMOTE_ETAG_MAX, "%s", a.etag);
	return rc;
}

/*
 * remote_ops.link. S3 has no links: to becomes a server-side copy of
 * from, with its metadata; the sync engine copies every upload of the
 * file to its other names again.
 */
static int s3_link(struct remote *r, const char *from, const char *to)
{
	struct s3 *s = to_s3(r);
	char *kfrom = s3_key_of(s, from), *kto = s3_key_of(s, to);
	struct remote_attr a, out;
	int rc;

	rc = s3_head(s, kfrom, from, &a);
	if (!rc) {
		memset(&out, 0, sizeof(out));
		rc = s3_copy_key(s, kfrom, kto, to, NULL, a.size, 0, NULL,
				 &out);
	}
	free(kfrom);
	free(kto);
	return rc;
}

struct mover {
	struct s3 *s;
	const char *from;		/* key prefix, "a/" */
	const char *to;			/* key prefix, "b/" */
	const char *what;
	int rc;
	uint64_t moved;
	remote_progress_fn progress;	/* or NULL */
	void *progress_arg;
};

static int move_item(void *arg, const struct s3_list_item *it)
{
	struct mover *m = arg;
	size_t fl = strlen(m->from);
	char *to;
	int rc;

	if (strncmp(it->key, m->from, fl) != 0)
		return 0;
	to = xasprintf("%s%s", m->to, it->key + fl);
	rc = move_key(m->s, it->key, to, m->what, it->size, NULL);
	free(to);
	if (!rc)
		m->moved++;
	if (!rc && m->progress && m->progress(m->progress_arg, m->moved, 0))
		rc = -ECANCELED;	/* the rest moves when it is tried again */
	return rc;
}

static int s3_rename(struct remote *r, const char *from, const char *to,
		     unsigned flags, char etag[REMOTE_ETAG_MAX],
		     remote_progress_fn progress, void *arg)
{
	struct s3 *s = to_s3(r);
	struct remote_attr a, b;
	struct mover m = { 0 };
	char *kfrom, *kto, *next = NULL;
	bool more = true;
	int rc;

	rc = s3_stat(r, from, &a);
	log_debug("s3: rename %s -> %s: the source: %s", from, to,
		  rc ? strerror(-rc) : S_ISDIR(a.mode) ? "a directory" : "a file");
	if (rc)
		return rc;
	if (flags & RENAME_NOREPLACE) {
		rc = s3_stat(r, to, &b);
		if (rc == 0)
			return -EEXIST;
		if (rc != -ENOENT)
			return rc;
		rc = 0;
	}
	if (!S_ISDIR(a.mode)) {
		kfrom = s3_key_of(s, from);
		kto = s3_key_of(s, to);
		rc = move_key(s, kfrom, kto, from, a.size, etag);
		free(kfrom);
		free(kto);
		return rc;
	}
	/* key by key, the listing always from the start: what was moved
	 * is no longer there, so a rename cut short just goes on */
	kfrom = s3_dir_prefix(s, from);
	kto = s3_dir_prefix(s, to);
	m.s = s;
	m.from = kfrom;
	m.to = kto;
	m.what = from;
	m.progress = progress;
	m.progress_arg = arg;
	while (more && !rc) {
		rc = s3_list_page(s, kfrom, NULL, 1000, NULL, move_item, &m,
				  &more, &next, from);
		free(next);
		next = NULL;
	}
	if (!rc)
		log_info("s3: renamed %s to %s: %llu keys moved", from, to,
			 (unsigned long long)m.moved);
	else
		log_warn("s3: renaming %s to %s: %s after %llu keys moved; "
			 "the rest moves when it is tried again", from, to,
			 strerror(-rc), (unsigned long long)m.moved);
	free(kfrom);
	free(kto);
	return rc;
}

/* What meta leaves, taken from a: the whole of what an object keeps. */
static struct remote_meta meta_over(const struct remote_meta *meta,
				    const struct remote_attr *a)
{
	struct remote_meta m = *meta;

	if (m.mode == (uint32_t)-1)
		m.mode = a->mode;
	if (m.uid == REMOTE_OWNER_NONE)
		m.uid = a->uid;
	if (m.gid == REMOTE_OWNER_NONE)
		m.gid = a->gid;
	if (m.mtime_ns == INT64_MIN)
		m.mtime_ns = a->mtime_ns;
	return m;
}

/*
 * A directory keeps its metadata in its "dir/" marker, as s3fs reads it:
 * the marker is written again with it (made, for a directory that was
 * only a prefix).
 */
static int setattr_dir(struct s3 *s, const char *path,
		       const struct remote_meta *meta)
{
	char *key = xasprintf("%s%s/", s->prefix, path);
	struct remote_attr a;
	struct remote_meta m;
	struct s3_meta_hdrs h;
	struct s3_req q;
	int rc;

	rc = s3_head(s, key, path, &a);
	if (rc == -ENOENT) {
		memset(&a, 0, sizeof(a));
		a.mode = S3_DIR_MODE;
		a.uid = a.gid = REMOTE_OWNER_NONE;
		a.mtime_ns = util_now_ns();
		rc = 0;
	}
	if (rc) {
		free(key);
		return rc;
	}
	m = meta_over(meta, &a);
	s3_req_init(&q, "PUT", key, path);
	s3_meta_hdrs(&q, &h, S_IFDIR | (m.mode & 07777), &m);
	q.body = "";
	q.body_len = 0;
	rc = s3_call(s, &q);
	s3_req_release(&q);
	free(key);
	return rc;
}

static int s3_setattr(struct remote *r, const char *path,
		      const struct remote_meta *meta, struct remote_attr *out)
{
	struct s3 *s = to_s3(r);
	struct remote_attr a, o;
	struct remote_meta m;
	char *key;
	int rc;

	rc = s3_stat(r, path, &a);
	if (!rc && S_ISDIR(a.mode) && *path)
		rc = setattr_dir(s, path, meta);
	if (rc || S_ISDIR(a.mode)) {
		if (!rc && out)
			*out = a;
		return rc;
	}
	m = meta_over(meta, &a);
	m.mode = (a.mode & S_IFMT) | (m.mode & 07777);
	key = s3_key_of(s, path);
	memset(&o, 0, sizeof(o));
	if (special(m.mode)) {
		/* no bytes to keep: written again, its rdev with it */
		rc = put_special(s, key, path, m.mode, a.rdev, &m, &o);
	} else {
		/* a copy onto itself with new metadata: the bytes stay */
		rc = s3_copy_key(s, key, key, path, a.etag, a.size, m.mode,
				 &m, &o);
	}
	free(key);
	if (!rc && out) {
		*out = o;
		out->mode = m.mode;
		out->uid = m.uid;
		out->gid = m.gid;
		out->size = a.size;
		out->mtime_ns = m.mtime_ns;
		out->rdev = a.rdev;
	}
	return rc;
}

static int s3_statfs(struct remote *r, struct statvfs *out)
{
	/* a bucket has no size: say 1 PiB, all free */
	memset(out, 0, sizeof(*out));
	out->f_bsize = 4096;
	out->f_frsize = 4096;
	out->f_blocks = (1ull << 50) / 4096;
	out->f_bfree = out->f_blocks;
	out->f_bavail = out->f_blocks;
	out->f_files = 1u << 30;
	out->f_ffree = out->f_files;
	out->f_namemax = NAME_MAX;
	return 0;
}

static void s3_close(struct remote *r)
{
	struct s3 *s = to_s3(r);
	int i;

	for (i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	pthread_mutex_destroy(&s->pool_lock);
	s3_profile_release(&s->prof);
	free(s->scheme_host);
	free(s->host);
	free(s->bucket);
	free(s->prefix);
	free(s->path_base);
	free(s->region);
	free(s->r.spec);
	free(s);
}

static const struct remote_ops s3_ops = {
	.name = "s3",
	.caps = REMOTE_CAP_RANGE_READ | REMOTE_CAP_COPY | REMOTE_CAP_CHMOD |
		REMOTE_CAP_LINK | REMOTE_CAP_SYMLINK,
	/* a request costs a round trip (tens of ms on a real service) */
	.read_piece = 4u << 20,
	.close = s3_close,
	.check = s3_check,
	.list = s3_list,
	.stat = s3_stat,
	.read = s3_read,
	.read_to_fd = s3_read_to_fd,
	.put = s3_put,
	.abandon = s3_abandon,
	.copy = s3_copy,
	.link = s3_link,
	.mkdir = s3_mkdir,
	.rmdir = s3_rmdir,
	.unlink = s3_unlink,
	.rename = s3_rename,
	.stat_file = s3_stat_file,
	.symlink = s3_symlink,
	.readlink = s3_readlink,
	.mknod = s3_mknod,
	.setattr = s3_setattr,
	.statfs = s3_statfs,
};

/* ------------------------------------------------------------- opening */

/* Bucket names S3 allows, path style included: 3 to 63 of a-z 0-9 . -
 * (upper case and '_' too, which some servers accept). */
static bool bucket_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

/* A prefix whose components are all names ("" too). */
static bool prefix_ok(const char *p)
{
	char *copy, *save = NULL, *c;
	bool ok = true;

	if (!*p)
		return true;
	copy = xstrdup(p);
	for (c = strtok_r(copy, "/", &save); c && ok;
	     c = strtok_r(NULL, "/", &save))
		ok = remote_name_ok(c);
	free(copy);
	return ok && !strstr(p, "//") && p[0] != '/';
}

static uint64_t env_size(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	uint64_t x;

	if (v && util_parse_size(v, &x) == 0 && x >= (5u << 20))
		return x;
	return dflt;
}

struct remote *remote_s3_open(const char *spec, const struct remote_opts *o,
			      char *err, size_t errlen)
{
	const char *rest = spec + strlen("s3://"), *slash, *ep;
	char *bucket, *prefix, *endpoint = NULL;
	const char *scheme_end;
	struct s3 *s;
	bool path_style;
	int rc;

	slash = strchr(rest, '/');
	bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	prefix = xstrdup(slash ? slash + 1 : "");
	while (*prefix && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = '\0';
	if (!bucket_ok(bucket)) {
		snprintf(err, errlen, "\"%s\" is not a bucket name S3 allows "
			 "(3 to 63 letters, digits, '.', '-')", bucket);
		goto fail_names;
	}
	if (!prefix_ok(prefix)) {
		snprintf(err, errlen, "the prefix \"%s\" of %s has an empty, "
			 "'.' or '..' component, or one over 255 bytes",
			 prefix, spec);
		goto fail_names;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl cannot start");
		goto fail_names;
	}
	s = xcalloc(1, sizeof(*s));
	rc = s3_profile_load(&s->prof, o ? o->profile : NULL, err, errlen);
	if (rc)
		goto fail;
	if (s->prof.ca_bundle && access(s->prof.ca_bundle, R_OK) < 0) {
		snprintf(err, errlen, "the CA bundle %s (AWS_CA_BUNDLE or the "
			 "profile's ca_bundle) cannot be read: %s",
			 s->prof.ca_bundle, strerror(errno));
		goto fail;
	}
	s->region = xstrdup(o && o->region ? o->region
			    : s->prof.region ? s->prof.region : "us-east-1");
	ep = o && o->endpoint ? o->endpoint : s->prof.endpoint;
	if (ep)
		endpoint = xstrdup(ep);
	else
		endpoint = xasprintf("https://s3.%s.amazonaws.com", s->region);
	while (*endpoint && endpoint[strlen(endpoint) - 1] == '/')
		endpoint[strlen(endpoint) - 1] = '\0';
	scheme_end = strstr(endpoint, "://");
	if (!scheme_end || (strncmp(endpoint, "http://", 7) != 0 &&
			    strncmp(endpoint, "https://", 8) != 0) ||
	    !scheme_end[3] || strchr(scheme_end + 3, '/')) {
		snprintf(err, errlen, "the endpoint \"%s\" is not an http:// "
			 "or https:// URL of a host (and port)", endpoint);
		goto fail;
	}
	/* path style for a given endpoint (most S3-compatible servers) and
	 * for bucket names a host name cannot carry; AWS: virtual host */
	path_style = ep != NULL || strchr(bucket, '.') || strchr(bucket, '_');
	if (o && o->addressing == REMOTE_S3_PATH)
		path_style = true;
	else if (o && o->addressing == REMOTE_S3_VIRTUAL)
		path_style = false;
	if (path_style) {
		s->scheme_host = xstrdup(endpoint);
		s->host = xstrdup(scheme_end + 3);
		s->path_base = xasprintf("/%s", bucket);
	} else {
		s->scheme_host = xasprintf("%.*s%s.%s",
					   (int)(scheme_end + 3 - endpoint),
					   endpoint, bucket, scheme_end + 3);
		s->host = xasprintf("%s.%s", bucket, scheme_end + 3);
		s->path_base = xstrdup("");
	}
	s->bucket = bucket;
	s->prefix = *prefix ? xasprintf("%s/", prefix) : xstrdup("");
	free(prefix);
	bucket = prefix = NULL;
	s->connect_timeout_ms = 5000;
	s->multipart_min = env_size("CLONEDRIVE_S3_MULTIPART_MIN",
				    S3_MULTIPART_MIN);
	s->part_min = env_size("CLONEDRIVE_S3_PART_SIZE", S3_PART_MIN);
	s->copy_max = env_size("CLONEDRIVE_S3_COPY_MAX", S3_COPY_MAX);
	pthread_mutex_init(&s->pool_lock, NULL);
	s->r.ops = &s3_ops;
	s->r.spec = xstrdup(spec);
	/* S3 keys are at most 1024 bytes; a directory's marker has a "/" */
	s->r.path_max = S3_KEY_MAX - 1 - (uint32_t)strlen(s->prefix);
	free(endpoint);
	return &s->r;

fail:
	s3_profile_release(&s->prof);
	free(s->region);
	free(s);
	free(endpoint);
fail_names:
	free(bucket);
	free(prefix);
	return NULL;
}
