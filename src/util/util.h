/*
 * Small helpers shared by every module.
 */
#ifndef CD_UTIL_H
#define CD_UTIL_H

#include "common.h"

#include <stdarg.h>

/* Allocation that aborts on failure, for small internal allocations. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A new string, printf-style. */
char *xasprintf(const char *fmt, ...) CD_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) CD_PRINTF(1, 0);

/* A growing string: start with { NULL, 0 } (or a heap string and its
 * length); s is always NUL-terminated once something was added. */
struct textbuf {
	char *s;
	size_t len;
};
void textbuf_add(struct textbuf *t, const char *fmt, ...) CD_PRINTF(2, 3);

/* A size for people into buf: 1.5 GiB, 12.0 MiB, 300 B. */
void util_human_size(uint64_t v, char *buf, size_t size);

/* Parses a whole string as an unsigned decimal number; 0 or -EINVAL. */
int util_parse_u64(const char *s, uint64_t *out) CD_WUR;
/* Parses a size with an optional K/M/G/T suffix (powers of 1024). */
int util_parse_size(const char *s, uint64_t *out) CD_WUR;
/* Parses a duration: a number with optional ms/s/m/h suffix, in ms. */
int util_parse_duration_ms(const char *s, uint64_t *out) CD_WUR;

/* Monotonic and wall clocks in ns. */
int64_t util_now_mono_ns(void);
int64_t util_now_ns(void);
/* A timespec (st_mtim, st_ctim, a clock's) in ns. */
static inline int64_t util_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* "a" + "/" + "b", leaving out the slash when a is "" (remote paths). */
char *util_path_join(const char *a, const char *b);

/* Makes dir and its missing parents with mode; 0 or -errno. */
int util_mkdir_p(const char *dir, mode_t mode) CD_WUR;

/* Whether path is dir itself or lies below it (both absolute, resolved). */
bool util_path_is_under(const char *path, const char *dir);

/*
 * Looks up the mount whose mountpoint is path in /proc/self/mountinfo (the
 * last one wins, as for path lookup): its device numbers and file-system
 * type. 0, or -ENOENT when nothing is mounted there. Reads no file on the
 * mount itself.
 */
int util_mount_at(const char *path, unsigned *maj, unsigned *min,
		  char *fstype, size_t fstype_len) CD_WUR;
/* The mount id of the mount at path (as /proc/PID/fdinfo gives it). */
int util_mount_id(const char *path, int *id) CD_WUR;

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void util_hex(const void *in, size_t len, char *out);

/* Full pwrite/pread loops; return 0 or -errno (-EIO on a short read). */
int util_pwrite_all(int fd, const void *buf, size_t len, uint64_t off) CD_WUR;
int util_pread_all(int fd, void *buf, size_t len, uint64_t off) CD_WUR;


/* The piece util_copy() moves between two progress calls. */
#define UTIL_COPY_PIECE (1u << 20)
/*
 * Copies [0, size) of src into dst at the same offsets, moving neither
 * file offset: a reflink where the file system shares blocks (when size
 * is all of src), else copy_file_range in pieces, else reads and writes;
 * holes of src stay holes in dst, whose size ends as size.
 * progress (may be NULL) is called after each piece; non-zero stops the
 * copy. 0, -ECANCELED, -ENODATA if src is shorter than size, or -errno.
 */
int util_copy(int src, int dst, uint64_t size,
	      int (*progress)(void *arg, uint64_t done, uint64_t total),
	      void *arg) CD_WUR;

/* The start of /proc/PID/WHAT (e.g. "status") into buf, as much as fits,
 * NUL-terminated; "" if it cannot be read. */
void util_proc_read(pid_t pid, const char *what, char *buf, size_t size);
/* Its first line (e.g. of "comm"), without the newline. */
void util_proc_line(pid_t pid, const char *what, char *buf, size_t size);

#endif
