/*
 * The clone filter: copies into the drive from outside do not keep a
 * second copy on the local disk.
 *
 * A program that copies a file opens the source for reading and writes
 * its bytes, in order, into a file it created or truncated. The first
 * write at offset 0 into an empty file is compared with the files the
 * writing process has open for reading, on other mounts than the drive's
 * (found through /proc/PID/fd and fdinfo, and only those: the daemon
 * reads no file the writer does not have open itself, and never one of
 * its own mount from inside a request); a source whose first bytes are the
 * written ones makes the file a candidate. Every later write must follow
 * the previous one; at the last close, a candidate whose size is the
 * source's is a copy.
 *
 * Policy "spool" (the one there is so far): the data is stored as an
 * ordinary write and uploaded as usual, and once the upload is done the
 * local data is dropped (unless the file is pinned): the file becomes a
 * placeholder and the cache holds nothing of it. The decision only ever
 * frees data that is on the remote, so a wrong guess costs a refetch,
 * never a byte.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

/* Descriptors of the writer looked at, at most. */
#define CLONE_MAX_FDS 256
/* Bytes of the first write compared, at most. */
#define CLONE_PROBE (1u << 20)

/*
 * Whether fd N of pid is open for reading, on another mount than ours
 * (from its fdinfo: nothing here may open a file of the drive's own
 * mount, which would be I/O on itself from inside a request).
 */
static bool open_for_reading(struct fs *fs, pid_t pid, const char *n)
{
	int mnt_id = -1;
	char path[64], buf[256];
	unsigned long flags;
	ssize_t len;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s", (int)pid, n);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	p = strstr(buf, "flags:");
	if (!p || sscanf(p + 6, "%lo", &flags) != 1)
		return false;
	p = strstr(buf, "mnt_id:");
	if (!p || sscanf(p + 7, "%d", &mnt_id) != 1 || fs->mount_id < 0 ||
	    mnt_id == fs->mount_id)
		return false;
	return (flags & O_ACCMODE) != O_WRONLY;
}

/*
 * Looks among the files pid has open for reading for one whose first len
 * bytes are data; returns its size, or 0 if none is.
 */
static uint64_t find_source(struct fs *fs, pid_t pid, const void *data,
			    size_t len)
{
	char path[64];
	uint64_t found = 0;
	struct dirent *d;
	void *buf;
	int seen = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	buf = xmalloc(len);
	while (!found && seen++ < CLONE_MAX_FDS && (d = readdir(dir))) {
		struct stat st;
		int fd;

		if (d->d_name[0] == '.' || !open_for_reading(fs, pid, d->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", (int)pid,
			 d->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* a regular file outside the mount, at least that long */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_dev != fs->mount_dev && (uint64_t)st.st_size >= len &&
		    pread(fd, buf, len, 0) == (ssize_t)len &&
		    memcmp(buf, data, len) == 0)
			found = (uint64_t)st.st_size;
		close(fd);
	}
	free(buf);
	closedir(dir);
	return found;
}

static enum filter_verdict clone_pre(struct filter *f, struct fop *op)
{
	struct file *file = op->file;
	struct node *n;
	uint64_t size;
	bool probe = false;

	if (op->kind != FOP_WRITE)
		return FILTER_PASS;
	n = file->n;
	/* writes to one handle may come in parallel: its state is kept
	 * under the node's lock, and any overlap makes it "not a copy" */
	pthread_mutex_lock(&n->lock);
	switch (file->clone) {
	case FILE_CLONE_CANDIDATE:
		/* a copy writes in order, and no further than its source */
		if (op->off != file->clone_next ||
		    op->off + op->size > file->clone_size)
			file->clone = FILE_CLONE_NOT;
		else
			file->clone_next += op->size;
		break;
	case FILE_CLONE_UNKNOWN:
		/* the first write: at 0, into an empty file */
		probe = op->off == 0 && n->size == 0 && op->size > 0;
		file->clone = probe ? FILE_CLONE_PROBING : FILE_CLONE_NOT;
		break;
	case FILE_CLONE_PROBING:
		file->clone = FILE_CLONE_NOT;
		break;
	case FILE_CLONE_NOT:
		break;
	}
	pthread_mutex_unlock(&n->lock);
	if (!probe)
		return FILTER_PASS;
	size = find_source(f->fs, op->pid, op->in,
			   CD_MIN(op->size, (size_t)CLONE_PROBE));
	pthread_mutex_lock(&n->lock);
	if (file->clone == FILE_CLONE_PROBING) {
		file->clone = size ? FILE_CLONE_CANDIDATE : FILE_CLONE_NOT;
		file->clone_size = size;
		file->clone_next = op->size;
	}
	pthread_mutex_unlock(&n->lock);
	return FILTER_PASS;
}

static void clone_post(struct filter *f, struct fop *op)
{
	struct file *file = op->file;
	struct node *n;
	bool copy;

	if ((op->kind != FOP_WRITE || op->result >= 0) &&
	    op->kind != FOP_RELEASE)
		return;
	n = file->n;
	pthread_mutex_lock(&n->lock);
	if (op->kind == FOP_WRITE) {
		/* a failed write: whatever it was, it is not a copy now */
		file->clone = FILE_CLONE_NOT;
		pthread_mutex_unlock(&n->lock);
		return;
	}
	copy = file->clone == FILE_CLONE_CANDIDATE &&
	       file->clone_next == file->clone_size &&
	       n->size == file->clone_size;
	if (copy)
		n->free_after_upload = true;
	pthread_mutex_unlock(&n->lock);
	if (copy) {
		stats_add(&f->fs->stats, clones_detected, 1);
		log_debug("inode %llu: a copy of a local file; its data goes "
			  "once uploaded", (unsigned long long)n->ino);
	}
}

static bool clone_enabled(const struct fs *fs)
{
	return fs->clone_mode != CLONE_OFF;
}

const struct filter_ops clone_filter = {
	.name = "clone",
	.enabled = clone_enabled,
	.pre = clone_pre,
	.post = clone_post,
};
