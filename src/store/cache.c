/*
 * Cache data files. The directory holds data/00 .. data/ff; the file of
 * inode N is data/<N mod 256 in hex>/<N>. Files are sparse: a placeholder
 * opened for reading costs an inode and no blocks, and st_blocks of the
 * cache file is exactly the data held locally.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/cache.h"
#include "util/log.h"
#include "util/util.h"

struct cache {
	int datafd;	/* DIR/data, O_PATH */
	char *dir;	/* for messages */
};

static void name_of(uint64_t ino, char *buf, size_t size)
{
	snprintf(buf, size, "%02x/%llu", (unsigned)(ino & 0xff),
		 (unsigned long long)ino);
}

int cache_open(const char *dir, struct cache **out)
{
	struct cache *c;
	char *data;
	char sub[8];
	int rc, i;

	data = xasprintf("%s/data", dir);
	rc = util_mkdir_p(data, 0700);
	if (rc) {
		log_error("cache %s: cannot create: %s", data, strerror(-rc));
		free(data);
		return rc;
	}
	c = xcalloc(1, sizeof(*c));
	c->dir = xstrdup(dir);
	c->datafd = open(data, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(data);
	if (c->datafd < 0) {
		rc = -errno;
		log_error("cache %s: cannot open: %s", dir, strerror(errno));
		free(c->dir);
		free(c);
		return rc;
	}
	for (i = 0; i < 256; i++) {
		snprintf(sub, sizeof(sub), "%02x", i);
		if (mkdirat(c->datafd, sub, 0700) < 0 && errno != EEXIST) {
			rc = -errno;
			log_error("cache %s: cannot create data/%s: %s", dir,
				  sub, strerror(errno));
			cache_close(c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	close(c->datafd);
	free(c->dir);
	free(c);
}

int cache_file_open(struct cache *c, uint64_t ino, bool create)
{
	char name[48];
	int fd;

	name_of(ino, name, sizeof(name));
	fd = openat(c->datafd, name,
		    O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
		    0600);
	if (fd < 0) {
		int rc = -errno;

		if (rc != -ENOENT)
			log_error("cache %s: cannot open data/%s: %s", c->dir,
				  name, strerror(errno));
		return rc;
	}
	return fd;
}

void cache_file_remove(struct cache *c, uint64_t ino)
{
	char name[48];

	name_of(ino, name, sizeof(name));
	if (unlinkat(c->datafd, name, 0) < 0 && errno != ENOENT)
		log_warn("cache %s: cannot remove data/%s: %s", c->dir, name,
			 strerror(errno));
}

uint64_t cache_file_bytes(struct cache *c, uint64_t ino)
{
	char name[48];
	struct stat st;

	name_of(ino, name, sizeof(name));
	if (fstatat(c->datafd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

uint64_t cache_bytes(struct cache *c)
{
	uint64_t sum = 0;
	char sub[8];
	int i;

	for (i = 0; i < 256; i++) {
		struct dirent *d;
		struct stat st;
		DIR *dir;
		int fd;

		snprintf(sub, sizeof(sub), "%02x", i);
		fd = openat(c->datafd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		dir = fdopendir(fd);
		if (!dir) {
			close(fd);
			continue;
		}
		while ((d = readdir(dir)))
			if (d->d_name[0] != '.' &&
			    fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				sum += (uint64_t)st.st_blocks * 512;
		closedir(dir);
	}
	return sum;
}
