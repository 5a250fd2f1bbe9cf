/*
 * Small helpers: allocation that cannot fail, number parsing, clocks,
 * path joining, full-length I/O loops.
 */
#include "common.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "util/util.h"

static void out_of_memory(void)
{
	static const char msg[] = "clonedrive: out of memory\n";

	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* about to abort anyway */
	}
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		out_of_memory();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		out_of_memory();
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		out_of_memory();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void textbuf_add(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	char *piece;
	size_t n;

	va_start(ap, fmt);
	piece = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(piece);
	t->s = xrealloc(t->s, t->len + n + 1);
	memcpy(t->s + t->len, piece, n + 1);
	t->len += n;
	free(piece);
}

/* A size for people: 1.5 GiB, 12.0 MiB, 300 B. */
void util_human_size(uint64_t v, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	size_t u = 0;

	while (d >= 1024 && u + 1 < CD_ARRAY_SIZE(units)) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, size, "%.1f %s", d, units[u]);
}

int util_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Splits s into a number and a suffix looked up in names/mult. */
static int parse_scaled(const char *s, const char *const *names,
			const uint64_t *mult, size_t n, uint64_t *out)
{
	unsigned long long v;
	char *end;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (strcasecmp(end, names[i]) == 0) {
			if (mult[i] && v > UINT64_MAX / mult[i])
				return -ERANGE;
			*out = v * mult[i];
			return 0;
		}
	}
	return -EINVAL;
}

int util_parse_size(const char *s, uint64_t *out)
{
	static const char *const names[] = {
		"", "K", "KiB", "M", "MiB", "G", "GiB", "T", "TiB",
	};
	static const uint64_t mult[] = {
		1, 1ULL << 10, 1ULL << 10, 1ULL << 20, 1ULL << 20,
		1ULL << 30, 1ULL << 30, 1ULL << 40, 1ULL << 40,
	};

	return parse_scaled(s, names, mult, CD_ARRAY_SIZE(names), out);
}

int util_parse_duration_ms(const char *s, uint64_t *out)
{
	static const char *const names[] = { "", "s", "ms", "m", "h" };
	static const uint64_t mult[] = { 1000, 1000, 1, 60000, 3600000 };

	return parse_scaled(s, names, mult, CD_ARRAY_SIZE(names), out);
}

int64_t util_now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return util_ts_ns(&ts);
}

int64_t util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return util_ts_ns(&ts);
}

char *util_path_join(const char *a, const char *b)
{
	if (!*a)
		return xstrdup(b);
	if (!*b)
		return xstrdup(a);
	return xasprintf("%s/%s", a, b);
}

int util_mkdir_p(const char *dir, mode_t mode)
{
	char *p = xstrdup(dir);
	char *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				rc = -errno;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

bool util_path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || !path[n]);
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* The mountinfo line of the mount at path: its id, device and type. */
static int mount_lookup(const char *path, int *id, unsigned *maj,
			unsigned *min, char *fstype, size_t fstype_len)
{
	char line[8192], mnt[4096], type[256];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");
		unsigned a, b;
		int i;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SRC OPTS */
		if (!sep || sscanf(line, "%d %*u %u:%u %*s %4095s", &i, &a, &b,
				   mnt) != 4 ||
		    sscanf(sep + 3, "%255s", type) != 1)
			continue;
		unescape_octal(mnt);
		if (strcmp(mnt, path) == 0) {
			*id = i;
			*maj = a;
			*min = b;
			snprintf(fstype, fstype_len, "%s", type);
			found = true;
		}
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

int util_mount_at(const char *path, unsigned *maj, unsigned *min,
		  char *fstype, size_t fstype_len)
{
	int id;

	return mount_lookup(path, &id, maj, min, fstype, fstype_len);
}

int util_mount_id(const char *path, int *id)
{
	unsigned maj, min;
	char type[64];

	return mount_lookup(path, id, &maj, &min, type, sizeof(type));
}

int util_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int util_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* copy_file_range() of one piece at the same offsets, or -errno. */
static ssize_t copy_piece(int src, int dst, uint64_t off, size_t len)
{
#ifdef HAVE_COPY_FILE_RANGE
	loff_t in = (loff_t)off, out = (loff_t)off;
	ssize_t n;

	n = copy_file_range(src, &in, dst, &out, len, 0);
	return n < 0 ? -errno : n;
#else
	return -ENOSYS;
#endif
}

int util_copy(int src, int dst, uint64_t size,
	      int (*progress)(void *arg, uint64_t done, uint64_t total),
	      void *arg)
{
	bool use_cfr = true;
	uint64_t done = 0, src_size;
	off_t pos;
	struct stat st;
	char *buf = NULL;
	int rc = 0;

	if (fstat(src, &st) < 0)
		return -errno;
	src_size = (uint64_t)st.st_size;
	pos = lseek(src, 0, SEEK_CUR);	/* SEEK_DATA moves it: put back */
	/* a reflink where the file system has them (btrfs, XFS): instant,
	 * and no blocks used twice */
	if (size && src_size == size && ioctl(dst, FICLONE, src) == 0) {
		if (progress)
			progress(arg, size, size);
		return 0;
	}
	while (done < size) {
		size_t chunk = (size_t)CD_MIN(size - done, UTIL_COPY_PIECE);
		off_t data, hole;
		ssize_t n;

		/* holes stay holes: a sparse file of 1 GiB with one byte
		 * written costs one block, not a gigabyte of zeros */
		data = lseek(src, (off_t)done, SEEK_DATA);
		if (data < 0 && errno == ENXIO) {
			/* a hole to the end, or src shrank since: never
			 * zeros in place of bytes that are gone */
			if (fstat(src, &st) < 0 ||
			    (uint64_t)st.st_size < size) {
				rc = -ENODATA;
				break;
			}
			data = (off_t)CD_MIN(size, src_size);
		}
		if (data > (off_t)done) {
			done = CD_MIN((uint64_t)data, size);
			if (progress && progress(arg, done, size)) {
				rc = -ECANCELED;
				break;
			}
			continue;
		}
		hole = lseek(src, (off_t)done, SEEK_HOLE);
		if (hole > (off_t)done)
			chunk = (size_t)CD_MIN((uint64_t)chunk,
					       (uint64_t)hole - done);
		if (use_cfr) {
			n = copy_piece(src, dst, done, chunk);
			if (n == -EXDEV || n == -EINVAL || n == -EOPNOTSUPP ||
			    n == -ENOSYS) {
				use_cfr = false;
				continue;
			}
		} else {
			if (!buf)
				buf = xmalloc(UTIL_COPY_PIECE);
			n = pread(src, buf, chunk, (off_t)done);
			if (n < 0)
				n = -errno;
			if (n > 0) {
				rc = util_pwrite_all(dst, buf, (size_t)n,
						     done);
				if (rc < 0)
					break;
			}
		}
		if (n == -EINTR)
			continue;
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0) {
			rc = -ENODATA;
			break;
		}
		done += (uint64_t)n;
		if (progress && progress(arg, done, size)) {
			rc = -ECANCELED;
			break;
		}
	}
	free(buf);
	if (pos >= 0)
		lseek(src, pos, SEEK_SET);
	/* the size, where the copy ended in a hole */
	if (!rc && ftruncate(dst, (off_t)size) < 0)
		rc = -errno;
	return rc;
}

void util_proc_read(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

void util_proc_line(pid_t pid, const char *what, char *buf, size_t size)
{
	util_proc_read(pid, what, buf, size);
	buf[strcspn(buf, "\n")] = '\0';
}

void util_hex(const void *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}
