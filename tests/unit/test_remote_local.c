/*
 * Tests of the local backend (src/remote/local.c) and of remote_open()
 * and remote_name_ok(), on a fresh directory made with mkdtemp().
 *
 * Layout: <base>/remote is the remote's root; <base>/outside holds files
 * the backend must never reach, and the source files for put(). Each
 * check prints "ok - name" or "not ok - name"; any failure exits 1.
 * Runs as root too, so no check relies on permission bits.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "remote/remote.h"
#include "util/log.h"
#include "util/util.h"


/* A remote_meta of mode and mtime (no owners). */
#define META(mode, mtime) (&REMOTE_META((mode), (mtime)))
static int failures;

static void check(bool ok, const char *name)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", name);
	if (!ok)
		failures++;
}

static void skip(const char *name, const char *why)
{
	printf("ok - %s # SKIP %s\n", name, why);
}

static void die(const char *what)
{
	fprintf(stderr, "test setup failed: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die(path);
	if (util_pwrite_all(fd, data, strlen(data), 0) < 0)
		die(path);
	close(fd);
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

/*
 * Number of the backend's temp files in dir: names with the temp prefix,
 * not counting the ".clonedrive-tmp.x" the test itself made.
 */
static int count_tmp(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		die(dir);
	for (;;) {
		de = readdir(d);
		if (!de)
			break;
		if (strncmp(de->d_name, ".clonedrive-tmp.", 16) == 0 &&
		    strcmp(de->d_name, ".clonedrive-tmp.x") != 0)
			n++;
	}
	closedir(d);
	return n;
}

struct seen {
	int count;			/* entries reported */
	char names[16][64];		/* the first 16 names */
	uint32_t modes[16];		/* and their modes */
	uint64_t sizes[16];		/* and their sizes */
	int stop_after;			/* return 7 after this many */
};

static int collect(void *arg, const char *name,
		   const struct remote_attr *attr)
{
	struct seen *s = arg;

	if (s->count < 16) {
		snprintf(s->names[s->count], sizeof(s->names[0]), "%s", name);
		s->modes[s->count] = attr->mode;
		s->sizes[s->count] = attr->size;
	}
	s->count++;
	if (s->stop_after && s->count >= s->stop_after)
		return 7;
	return 0;
}

/* Index of name in s, or -1. */
static int seen_find(const struct seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->count && i < 16; i++) {
		if (strcmp(s->names[i], name) == 0)
			return i;
	}
	return -1;
}

struct progress {
	int calls;		/* times called */
	uint64_t last;		/* last done value */
	uint64_t total;		/* last total value */
	int cancel_at;		/* return 1 on this call, if > 0 */
};

static int on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;

	p->calls++;
	p->last = done;
	p->total = total;
	return p->cancel_at && p->calls >= p->cancel_at;
}

/* Reads the whole object at path into a new buffer of *len bytes. */
static char *read_all(struct remote *r, const char *path, size_t *len)
{
	struct remote_attr a;
	ssize_t n;
	char *buf;

	if (remote_stat(r, path, &a) < 0)
		return NULL;
	buf = xmalloc(a.size + 1);
	n = remote_read(r, path, a.etag, buf, a.size + 1, 0);
	if (n < 0 || (uint64_t)n != a.size) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

static void test_open(const char *base, const char *root)
{
	char err[256] = "";
	struct remote *r;
	char *spec;

	r = remote_open("s3://a/prefix", NULL, err, sizeof(err));
	check(!r && strstr(err, "not a bucket name"),
	      "open s3 with a bad bucket name is refused with a message");
	spec = xasprintf("%s/missing", base);
	r = remote_open(spec, NULL, err, sizeof(err));
	check(!r && strstr(err, "does not exist"),
	      "open a missing directory says it does not exist");
	free(spec);
	spec = xasprintf("%s/file.txt", root);
	r = remote_open(spec, NULL, err, sizeof(err));
	check(!r && strstr(err, "not a directory"),
	      "open a file says it is not a directory");
	free(spec);
	r = remote_open(root, NULL, err, sizeof(err));
	check(r && strcmp(r->ops->name, "local") == 0,
	      "open a plain path picks the local backend");
	check(r && strcmp(r->spec, root) == 0, "spec is kept");
	remote_close(r);
}

static void test_names(void)
{
	char longname[300];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	check(remote_name_ok("a") && remote_name_ok(".a") &&
	      remote_name_ok("..."), "name_ok accepts plain names");
	check(!remote_name_ok("") && !remote_name_ok(".") &&
	      !remote_name_ok("..") && !remote_name_ok("a/b"),
	      "name_ok refuses empty, dot, dot-dot and slashes");
	check(!remote_name_ok(longname), "name_ok refuses 299 bytes");
	longname[255] = '\0';
	check(remote_name_ok(longname), "name_ok accepts 255 bytes");
	longname[255] = 'a';
	longname[256] = '\0';
	check(!remote_name_ok(longname), "name_ok refuses 256 bytes");
}

static void test_list(struct remote *r, bool have_long)
{
	struct seen s = { 0 };
	int i, rc;

	rc = remote_list(r, "", collect, &s);
	check(rc == 0, "list root");
	check(s.count == 4, "list root shows exactly four entries");
	i = seen_find(&s, "file.txt");
	check(i >= 0 && S_ISREG(s.modes[i]) && s.sizes[i] == 11,
	      "list shows the file with its size");
	i = seen_find(&s, "dir");
	check(i >= 0 && S_ISDIR(s.modes[i]), "list shows the directory");
	i = seen_find(&s, "link");
	check(i >= 0 && S_ISLNK(s.modes[i]) && s.sizes[i] == 8,
	      "list shows the symlink with its target length");
	check(seen_find(&s, ".clonedrive-tmp.x") < 0,
	      "list hides temp files");
	i = seen_find(&s, "fifo");
	check(i >= 0 && S_ISFIFO(s.modes[i]) && s.sizes[i] == 0,
	      "list shows a fifo as one");
	if (have_long)
		check(s.count == 4, "list skips a 300-byte name");
	else
		skip("list skips a 300-byte name",
		     "this file system cannot hold one");

	memset(&s, 0, sizeof(s));
	rc = remote_list(r, "dir", collect, &s);
	check(rc == 0 && s.count == 1 && seen_find(&s, "inner") >= 0,
	      "list a subdirectory");
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	rc = remote_list(r, "", collect, &s);
	check(rc == 7 && s.count == 2, "list stops on fn's value");
	check(remote_list(r, "file.txt", collect, &s) == -ENOTDIR,
	      "list a file is -ENOTDIR");
	check(remote_list(r, "nope", collect, &s) == -ENOENT,
	      "list a missing directory is -ENOENT");
	check(remote_list(r, "link", collect, &s) == -ENOTDIR,
	      "list a symlink is -ENOTDIR");
}

static void test_stat(struct remote *r)
{
	struct remote_attr a;

	check(remote_stat(r, "file.txt", &a) == 0 && S_ISREG(a.mode) &&
	      a.size == 11 && a.etag[0], "stat a file");
	check(remote_stat(r, "", &a) == 0 && S_ISDIR(a.mode), "stat root");
	check(remote_stat(r, "link", &a) == 0 && S_ISLNK(a.mode),
	      "stat a symlink does not follow it");
	check(remote_stat(r, "dir/inner", &a) == 0 && S_ISREG(a.mode),
	      "stat in a subdirectory");
	check(remote_stat(r, "nope", &a) == -ENOENT,
	      "stat a missing file is -ENOENT");
	check(remote_stat(r, "fifo", &a) == 0 && S_ISFIFO(a.mode) &&
	      a.rdev == 0 && a.etag[0],
	      "stat a fifo");
	check(remote_stat(r, "file.txt/x", &a) == -ENOTDIR,
	      "stat below a file is -ENOTDIR");
	check(remote_stat(r, "../remote/file.txt", &a) == -EINVAL &&
	      remote_stat(r, "/etc/passwd", &a) == -EINVAL &&
	      remote_stat(r, "dir/", &a) == -EINVAL &&
	      remote_stat(r, "dir//inner", &a) == -EINVAL &&
	      remote_stat(r, "./file.txt", &a) == -EINVAL,
	      "stat of malformed paths is -EINVAL");
}

static void test_read(struct remote *r, const char *root)
{
	struct remote_attr a, b;
	char buf[64];
	char *path;
	ssize_t n;
	int fd;

	if (remote_stat(r, "file.txt", &a) < 0)
		die("stat file.txt");
	n = remote_read(r, "file.txt", a.etag, buf, sizeof(buf), 0);
	check(n == 11 && memcmp(buf, "hello world", 11) == 0,
	      "read a whole file");
	n = remote_read(r, "file.txt", NULL, buf, 3, 6);
	check(n == 3 && memcmp(buf, "wor", 3) == 0, "read a middle range");
	n = remote_read(r, "file.txt", a.etag, buf, 10, 9);
	check(n == 2 && memcmp(buf, "ld", 2) == 0,
	      "read across the end is short");
	check(remote_read(r, "file.txt", a.etag, buf, 10, 11) == 0,
	      "read at the end returns 0");
	check(remote_read(r, "file.txt", a.etag, buf, 10, 1000) == 0,
	      "read past the end returns 0");
	check(remote_read(r, "file.txt", a.etag, buf, 0, 0) == 0,
	      "read of 0 bytes returns 0");
	check(remote_read(r, "nope", NULL, buf, 10, 0) == -ENOENT,
	      "read a missing file is -ENOENT");
	check(remote_read(r, "dir", NULL, buf, 10, 0) == -EISDIR,
	      "read a directory is -EISDIR");
	check(remote_read(r, "link", NULL, buf, 10, 0) < 0,
	      "read a symlink fails");

	/* change the file in place, as another writer of the share would */
	path = xasprintf("%s/file.txt", root);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, "!", 1) != 1)
		die(path);
	close(fd);
	free(path);
	check(remote_read(r, "file.txt", a.etag, buf, 10, 0) == -ESTALE,
	      "read with an old etag is -ESTALE");
	check(remote_stat(r, "file.txt", &b) == 0 &&
	      strcmp(a.etag, b.etag) != 0, "the etag changes with a write");
	n = remote_read(r, "file.txt", b.etag, buf, sizeof(buf), 0);
	check(n == 12 && memcmp(buf, "hello world!", 12) == 0,
	      "read with the new etag");
}

/* Makes a source file of size bytes in dir; returns an open fd. */
static int make_source(const char *dir, const char *name, size_t size,
		       char **data)
{
	char *path = xasprintf("%s/%s", dir, name);
	size_t i;
	int fd;

	*data = xmalloc(size ? size : 1);
	for (i = 0; i < size; i++)
		(*data)[i] = (char)(i * 7 + i / 4096);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || util_pwrite_all(fd, *data, size, 0) < 0)
		die(path);
	free(path);
	return fd;
}

/* A sparse source goes up sparse: its holes are not written as zeros. */
static void test_put_sparse(struct remote *r, const char *base,
			    const char *root)
{
	const uint64_t size = 64ull << 20;
	struct remote_attr a;
	char *path, got[2] = "";
	struct stat st;
	int fd, rc;

	path = xasprintf("%s/outside/sparse", base);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || util_pwrite_all(fd, "y", 1, size - 1) < 0 ||
	    util_pwrite_all(fd, "x", 1, 4096) < 0)
		die(path);
	free(path);
	rc = remote_put(r, "sparse", fd, size, META(0644, INT64_MIN), NULL,
			NULL, NULL, NULL, &a);
	close(fd);
	path = xasprintf("%s/sparse", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	check(rc == 0 && fd >= 0 && fstat(fd, &st) == 0 &&
	      (uint64_t)st.st_size == size &&
	      (uint64_t)st.st_blocks * 512 < (1u << 20),
	      "put of a 64 MiB file with two bytes keeps it sparse");
	check(fd >= 0 && pread(fd, got, 1, 4096) == 1 && got[0] == 'x' &&
	      pread(fd, got, 1, (off_t)size - 1) == 1 && got[0] == 'y' &&
	      pread(fd, got, 1, 0) == 1 && got[0] == 0,
	      "and its bytes");
	if (fd >= 0)
		close(fd);
	free(path);
}

/*
 * Two puts of one path at once, without resume (a copy and an upload of
 * it): the first waits in its copy until the second has begun its own
 * (or 300 ms have passed), so a second that took the first's temp name
 * would have its half-written file renamed into place by the first.
 */
struct race_put {
	struct remote *r;
	int fd;
	size_t size;
	bool first;
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
	int *stage;		/* 1: the second copies */
	int rc;
	struct remote_attr a;
};

static int race_progress(void *arg, uint64_t done, uint64_t total)
{
	struct race_put *p = arg;
	struct timespec until;

	(void)done;
	(void)total;
	pthread_mutex_lock(p->lock);
	if (!p->first) {
		*p->stage = 1;
		pthread_cond_broadcast(p->cond);
	} else {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 300 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (*p->stage == 0 &&
		       pthread_cond_timedwait(p->cond, p->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(p->lock);
	return 0;
}

static void *race_put(void *arg)
{
	struct race_put *p = arg;

	p->rc = remote_put(p->r, "race.bin", p->fd, p->size,
			   META(0644, INT64_MIN), NULL, NULL, race_progress,
			   p, &p->a);
	return NULL;
}

static void test_put_race(struct remote *r, const char *base)
{
	const size_t size = (4 << 20) + 5;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct race_put p[2];
	struct remote_attr now;
	char *data[2], *got;
	pthread_t t[2];
	int stage = 0, i;
	size_t len;

	for (i = 0; i < 2; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].r = r;
		p[i].fd = make_source(base, i ? "outside/race1" : "outside/race0",
				      size, &data[i]);
		p[i].size = size;
		p[i].first = i == 0;
		p[i].lock = &lock;
		p[i].cond = &cond;
		p[i].stage = &stage;
	}
	if (pthread_create(&t[0], NULL, race_put, &p[0]))
		die("pthread_create");
	usleep(50 * 1000);	/* the first is in its copy */
	if (pthread_create(&t[1], NULL, race_put, &p[1]))
		die("pthread_create");
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	check(p[0].rc == 0 && p[1].rc == 0, "two puts of one path at once "
	      "both succeed");
	got = read_all(r, "race.bin", &len);
	check(got && len == size && (memcmp(got, data[0], size) == 0 ||
				     memcmp(got, data[1], size) == 0),
	      "and the object is one of them, whole");
	check(remote_stat(r, "race.bin", &now) == 0 &&
	      ((p[1].rc == 0 && strcmp(now.etag, p[1].a.etag) == 0) ||
	       (p[0].rc == 0 && strcmp(now.etag, p[0].a.etag) == 0)),
	      "whose version is one a put reported");
	free(got);
	for (i = 0; i < 2; i++) {
		close(p[i].fd);
		free(data[i]);
	}
}

static void test_put(struct remote *r, const char *base, const char *root)
{
	const int64_t mtime = 1500000000123456789LL;
	const size_t size = (3 << 20) + 123;
	struct progress p = { 0 };
	struct remote_attr a, old;
	char *data, *got, *dir;
	size_t len;
	int fd, rc;

	fd = make_source(base, "outside/src.bin", size, &data);
	if (lseek(fd, 5, SEEK_SET) != 5)
		die("lseek");
	rc = remote_put(r, "dir/new.bin", fd, size, META(0640, mtime), NULL,
			NULL, on_progress, &p, &a);
	check(rc == 0 && a.size == size && S_ISREG(a.mode),
	      "put a 3 MiB file");
	check(lseek(fd, 0, SEEK_CUR) == 5, "put leaves the fd's offset");
	check(p.calls >= 4 && p.last == size && p.total == size,
	      "put reports progress per MiB");
	got = read_all(r, "dir/new.bin", &len);
	check(got && len == size && memcmp(got, data, size) == 0,
	      "put then read back the same bytes");
	free(got);
	check(remote_stat(r, "dir/new.bin", &a) == 0 &&
	      (a.mode & 07777) == 0640 && a.mtime_ns == mtime,
	      "put keeps mode and mtime");
	dir = xasprintf("%s/dir", root);
	check(count_tmp(dir) == 0, "put leaves no temp file");

	/* cancel a put over an existing file */
	if (remote_stat(r, "file.txt", &old) < 0)
		die("stat file.txt");
	memset(&p, 0, sizeof(p));
	p.cancel_at = 1;
	rc = remote_put(r, "file.txt", fd, size, META(0644, mtime), NULL, NULL,
			on_progress, &p, &a);
	check(rc == -ECANCELED, "put cancelled by progress is -ECANCELED");
	check(count_tmp(root) == 0, "cancelled put leaves no temp file");
	got = read_all(r, "file.txt", &len);
	check(got && len == 12 && memcmp(got, "hello world!", 12) == 0,
	      "cancelled put leaves the old content");
	free(got);
	check(remote_stat(r, "file.txt", &a) == 0 &&
	      strcmp(a.etag, old.etag) == 0,
	      "cancelled put leaves the old etag");

	/* replace an existing file; its etag must change */
	rc = remote_put(r, "dir/new.bin", fd, 5, META(0600, INT64_MIN), NULL,
			 NULL, NULL,
			NULL, &a);
	got = read_all(r, "dir/new.bin", &len);
	check(rc == 0 && got && len == 5 && memcmp(got, data, 5) == 0,
	      "put replaces a file");
	free(got);
	check(remote_put(r, "empty", fd, 0, META(0644, mtime), NULL, NULL, NULL,
			 NULL, &a) == 0 && a.size == 0, "put an empty file");
	check(remote_put(r, "nodir/x", fd, 5, META(0644, mtime), NULL, NULL,
			 NULL, NULL, &a) == -ENOENT,
	      "put into a missing directory is -ENOENT");
	check(remote_put(r, "dir", fd, 5, META(0644, mtime), NULL, NULL, NULL,
			 NULL, &a) < 0, "put over a directory fails");
	check(remote_put(r, "", fd, 5, META(0644, mtime), NULL, NULL, NULL,
			 NULL, &a) == -EINVAL, "put to the root is -EINVAL");
	check(remote_put(r, "short", fd, size + 10, META(0644, mtime), NULL,
			 NULL, NULL, NULL, &a) == -EIO,
	      "put of a too short source is -EIO");

	/* conditional puts: another writer's version is never replaced */
	check(remote_put(r, "cond", fd, 5, META(0644, mtime), "", NULL, NULL,
			 NULL, &a) == 0, "put if absent, absent");
	old = a;
	check(remote_put(r, "cond", fd, 4, META(0644, mtime), "", NULL, NULL,
			 NULL, &a) == -ESTALE,
	      "put if absent, present: -ESTALE");
	check(remote_put(r, "cond", fd, 3, META(0644, mtime), old.etag, NULL,
			 NULL, NULL,
			 &a) == 0 && a.size == 3, "put over the version seen");
	check(remote_put(r, "cond", fd, 2, META(0644, mtime), old.etag, NULL,
			 NULL, NULL,
			 &a) == -ESTALE, "put over another version: -ESTALE");
	check(remote_stat(r, "cond", &old) == 0 && old.size == 3,
	      "a refused put changes nothing");
	check(remote_unlink(r, "cond") == 0 &&
	      remote_put(r, "cond", fd, 2, META(0644, mtime), old.etag, NULL,
			 NULL, NULL,
			 &a) == -ENOENT, "put over a version deleted: -ENOENT");
	check(remote_put(r, "dir", fd, 2, META(0644, mtime), "x", NULL, NULL,
			 NULL, &a) == -ESTALE,
	      "put over a directory's 'version'");
	check(count_tmp(root) == 0 && count_tmp(dir) == 0,
	      "failed puts leave no temp file");
	free(dir);
	free(data);
	close(fd);
}

/* Special files: made with their type, mode, device number and mtime;
 * a device only as root. */
static void test_mknod(struct remote *r)
{
	const int64_t when = 1600000000123456789LL;
	struct remote_attr a, b;
	uint64_t dev = (uint64_t)makedev(1, 3);

	check(remote_has_mknod(r), "the local backend keeps special files");
	check(remote_mknod(r, "p", S_IFIFO | 0640, 0,
			   META((S_IFIFO | 0640) & 07777, when), &a) == 0 &&
	      S_ISFIFO(a.mode) && (a.mode & 07777) == 0640 &&
	      a.mtime_ns == when && a.etag[0], "mknod a fifo");
	check(remote_stat(r, "p", &b) == 0 && b.mode == a.mode &&
	      strcmp(a.etag, b.etag) == 0, "stat the fifo made");
	check(remote_mknod(r, "p", S_IFIFO | 0640, 0,
			   META((S_IFIFO | 0640) & 07777, when), &a) == -EEXIST,
	      "mknod of a taken name is -EEXIST");
	check(remote_mknod(r, "s", S_IFSOCK | 0755, 0,
			   META((S_IFSOCK | 0755) & 07777, when), &a) == 0 &&
	      S_ISSOCK(a.mode) && (a.mode & 07777) == 0755, "mknod a socket");
	check(remote_mknod(r, "f", S_IFREG | 0644, 0,
			   META((S_IFREG | 0644) & 07777, when), &a) == -EINVAL,
	      "mknod of a regular file is -EINVAL");
	if (geteuid() == 0) {
		check(remote_mknod(r, "c", S_IFCHR | 0600, dev,
				   META(0600, when), &a) == 0 &&
		      S_ISCHR(a.mode) && a.rdev == dev &&
		      remote_stat(r, "c", &b) == 0 && b.rdev == dev,
		      "mknod a character device");
		check(remote_unlink(r, "c") == 0, "unlink a device");
	} else {
		check(remote_mknod(r, "c", S_IFCHR | 0600, dev,
			   META((S_IFCHR | 0600) & 07777, when), &a) ==
		      -EPERM, "mknod a device is -EPERM but as root");
	}
	check(remote_rename(r, "p", "p2", 0, NULL, NULL, NULL) == 0 &&
	      remote_stat(r, "p2", &b) == 0 && S_ISFIFO(b.mode),
	      "rename a fifo");
	check(remote_unlink(r, "p2") == 0 && remote_unlink(r, "s") == 0 &&
	      remote_stat(r, "p2", &b) == -ENOENT, "unlink special files");
}

static void test_namespace(struct remote *r)
{
	char buf[64], etag[REMOTE_ETAG_MAX];
	struct remote_attr a;
	int rc;

	check(remote_rename(r, "file.txt", "dir/new.bin", RENAME_NOREPLACE,
			    NULL, NULL, NULL) == -EEXIST,
	      "rename NOREPLACE onto a file is -EEXIST");
	check(remote_stat(r, "file.txt", &a) == 0,
	      "failed rename leaves the source");
	check(remote_rename(r, "dir/new.bin", "moved.bin", 0, etag, NULL,
			    NULL) == 0 &&
	      remote_stat(r, "moved.bin", &a) == 0 &&
	      remote_stat(r, "dir/new.bin", &a) == -ENOENT,
	      "rename across directories");
	check(remote_stat(r, "moved.bin", &a) == 0 &&
	      strcmp(etag, a.etag) == 0, "rename gives the file's version");
	check(remote_rename(r, "moved.bin", "dir/back.bin", RENAME_NOREPLACE,
			    NULL, NULL, NULL) == 0,
	      "rename NOREPLACE to a free name");
	check(remote_rename(r, "empty", "file.txt", 0, NULL, NULL, NULL) == 0 &&
	      remote_stat(r, "file.txt", &a) == 0 && a.size == 0,
	      "rename replaces");
	check(remote_rename(r, "nope", "x", 0, NULL, NULL, NULL) == -ENOENT,
	      "rename a missing file is -ENOENT");
	check(remote_rename(r, "file.txt", "x", 4, NULL, NULL, NULL) == -EINVAL,
	      "rename with unknown flags is -EINVAL");

	check(remote_mkdir(r, "d2", META(0751, INT64_MIN)) == 0 &&
	      remote_stat(r, "d2", &a) == 0 && S_ISDIR(a.mode) &&
	      (a.mode & 07777) == 0751, "mkdir keeps the mode despite umask");
	check(remote_mkdir(r, "d2", META(0755, INT64_MIN)) == -EEXIST,
	      "mkdir of an existing name is -EEXIST");
	check(remote_mkdir(r, "nodir/d", META(0755, INT64_MIN)) == -ENOENT,
	      "mkdir in a missing directory is -ENOENT");
	check(remote_rmdir(r, "dir") == -ENOTEMPTY,
	      "rmdir of a non-empty directory is -ENOTEMPTY");
	check(remote_rmdir(r, "d2") == 0 &&
	      remote_stat(r, "d2", &a) == -ENOENT, "rmdir");
	check(remote_rmdir(r, "file.txt") == -ENOTDIR,
	      "rmdir a file is -ENOTDIR");
	check(remote_unlink(r, "dir/back.bin") == 0 &&
	      remote_unlink(r, "dir/back.bin") == -ENOENT, "unlink");
	check(remote_unlink(r, "dir") == -EISDIR,
	      "unlink a directory is -EISDIR");

	check(remote_symlink(r, "target/x", "sl") == 0, "symlink");
	check(remote_symlink(r, "y", "sl") == -EEXIST,
	      "symlink over a name is -EEXIST");
	rc = remote_readlink(r, "sl", buf, sizeof(buf));
	check(rc == 0 && strcmp(buf, "target/x") == 0, "readlink");
	check(remote_readlink(r, "sl", buf, 8) == -ENAMETOOLONG &&
	      remote_readlink(r, "sl", buf, 9) == 0,
	      "readlink into a short buffer is -ENAMETOOLONG");
	check(remote_readlink(r, "file.txt", buf, sizeof(buf)) == -EINVAL,
	      "readlink of a file is -EINVAL");
	check(remote_stat(r, "sl", &a) == 0 && S_ISLNK(a.mode) && a.size == 8,
	      "stat a new symlink");

	check(remote_setattr(r, "file.txt", META(0604, 1234567890000000001LL),
	      &a) == 0 && (a.mode & 07777) == 0604 &&
	      a.mtime_ns == 1234567890000000001LL, "setattr mode and mtime");
	check(remote_setattr(r, "file.txt", META((uint32_t)-1, INT64_MIN),
	      &a) == 0 && (a.mode & 07777) == 0604 &&
	      a.mtime_ns == 1234567890000000001LL, "setattr leaving both");
	check(remote_setattr(r, "sl", META(0600, 1000000000), &a) == 0 &&
	      S_ISLNK(a.mode) && a.mtime_ns == 1000000000,
	      "setattr on a symlink sets its own mtime");
	check(remote_setattr(r, "file.txt", META(0644, -1500000000),
	      NULL) == 0 && remote_stat(r, "file.txt", &a) == 0 &&
	      a.mtime_ns == -1500000000, "setattr of a time before 1970");
	check(remote_setattr(r, "nope", META(0644, INT64_MIN), NULL) == -ENOENT,
	      "setattr a missing file is -ENOENT");
}

static void test_escape(struct remote *r, const char *base,
			const char *root)
{
	struct remote_attr a;
	struct seen s = { 0 };
	char buf[64];
	char *path;
	int fd;

	path = xasprintf("%s/evil", root);
	if (symlink("/etc", path) < 0)
		die(path);
	free(path);
	path = xasprintf("%s/evil2", root);
	if (symlink("../outside", path) < 0)
		die(path);
	free(path);
	path = xasprintf("%s/inlink", root);
	if (symlink("dir", path) < 0)
		die(path);
	free(path);

	check(remote_stat(r, "evil/passwd", &a) < 0,
	      "stat through a symlink to /etc fails");
	check(remote_read(r, "evil/passwd", NULL, buf, sizeof(buf), 0) < 0,
	      "read through a symlink to /etc fails");
	check(remote_list(r, "evil", collect, &s) < 0 && s.count == 0,
	      "list through a symlink to /etc fails");
	check(remote_stat(r, "inlink/inner", &a) < 0,
	      "stat through a symlink inside the root fails too");
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(remote_put(r, "evil2/planted", fd, 0, META(0644, 0), NULL, NULL,
			 NULL, NULL, &a) <
	      0, "put through a symlink fails");
	check(remote_mkdir(r, "evil2/planted", META(0755, INT64_MIN)) < 0 &&
	      remote_symlink(r, "x", "evil2/planted") < 0,
	      "mkdir and symlink through a symlink fail");
	close(fd);
	check(remote_unlink(r, "evil2/secret") < 0 &&
	      remote_rename(r, "evil2/secret", "stolen", 0, NULL, NULL,
			    NULL) < 0 &&
	      remote_rename(r, "file.txt", "evil2/file.txt", 0, NULL, NULL,
			    NULL) < 0,
	      "unlink and rename through a symlink fail");
	path = xasprintf("%s/outside/planted", base);
	check(access(path, F_OK) < 0, "nothing was written outside");
	free(path);
	path = xasprintf("%s/outside/secret", base);
	check(access(path, F_OK) == 0, "nothing was removed outside");
	free(path);
	check(remote_unlink(r, "evil2") == 0, "unlink removes the link only");
}

static void test_hostdown(struct remote *r, const char *base,
			  const char *root)
{
	struct remote_attr a;
	struct seen s = { 0 };
	struct statvfs sv;
	char *away;

	check(remote_check(r) == 0, "check while the root is there");
	check(remote_statfs(r, &sv) == 0 && sv.f_bsize > 0, "statfs");
	away = xasprintf("%s/away", base);
	if (rename(root, away) < 0)
		die("rename root");
	check(remote_check(r) == -EHOSTDOWN,
	      "check after the root is renamed away is -EHOSTDOWN");
	check(remote_stat(r, "file.txt", &a) == -EHOSTDOWN &&
	      remote_list(r, "", collect, &s) == -EHOSTDOWN &&
	      remote_statfs(r, &sv) == -EHOSTDOWN,
	      "operations without the root are -EHOSTDOWN");
	if (mkdir(root, 0755) < 0)
		die("mkdir root");
	check(remote_check(r) == -EHOSTDOWN &&
	      remote_mkdir(r, "x", META(0755, INT64_MIN)) == -EHOSTDOWN,
	      "an empty directory in the root's place is -EHOSTDOWN");
	if (rmdir(root) < 0 || rename(away, root) < 0)
		die("restore root");
	check(remote_check(r) == 0 && remote_stat(r, "file.txt", &a) == 0,
	      "the root is back");
	free(away);
}

int main(void)
{
	char base[] = "/tmp/cd-test-remote-local-XXXXXX";
	char err[256] = "";
	char *root, *path, *longname;
	bool have_long;
	struct remote *r;

	umask(077);
	if (!mkdtemp(base))
		die("mkdtemp");
	root = xasprintf("%s/remote", base);
	path = xasprintf("%s/outside", base);
	if (mkdir(root, 0755) < 0 || mkdir(path, 0755) < 0)
		die("mkdir");
	free(path);
	path = xasprintf("%s/outside/secret", base);
	write_file(path, "secret");
	free(path);
	path = xasprintf("%s/file.txt", root);
	write_file(path, "hello world");
	free(path);
	path = xasprintf("%s/dir", root);
	if (mkdir(path, 0755) < 0)
		die(path);
	free(path);
	path = xasprintf("%s/dir/inner", root);
	write_file(path, "inner");
	free(path);
	path = xasprintf("%s/link", root);
	if (symlink("file.txt", path) < 0)
		die(path);
	free(path);
	path = xasprintf("%s/.clonedrive-tmp.x", root);
	write_file(path, "junk");
	free(path);
	path = xasprintf("%s/fifo", root);
	if (mkfifo(path, 0644) < 0)
		die(path);
	free(path);
	/* only some file systems (vfat, SMB, FUSE) hold names > 255 bytes */
	longname = xmalloc(301);
	memset(longname, 'n', 300);
	longname[300] = '\0';
	path = xasprintf("%s/%s", root, longname);
	have_long = mknod(path, S_IFREG | 0644, 0) == 0;
	free(path);
	free(longname);

	test_names();
	test_open(base, root);
	r = remote_open(root, NULL, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "remote_open: %s\n", err);
		return 1;
	}
	check(remote_has(r, REMOTE_CAP_RANGE_READ) &&
	      remote_has(r, REMOTE_CAP_RENAME) &&
	      remote_has(r, REMOTE_CAP_SYMLINK) &&
	      remote_has(r, REMOTE_CAP_CHMOD) &&
	      !remote_has(r, REMOTE_CAP_COPY), "caps");
	test_list(r, have_long);
	test_stat(r);
	test_read(r, root);
	test_put(r, base, root);
	test_put_race(r, base);
	test_put_sparse(r, base, root);
	test_namespace(r);
	test_mknod(r);
	test_escape(r, base, root);
	test_hostdown(r, base, root);
	remote_close(r);

	if (nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		die("remove the test directory");
	free(root);
	return failures ? 1 : 0;
}
