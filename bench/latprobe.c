/* latprobe: bench helper for bench/latency.sh: the latency of operations
 * on data that is local, one sample at a time.
 *
 *   latprobe [-n ROUNDS] [-t TIMEOUT_MS] [-b BUDGET_MS] [-i PAUSE_MS]
 *            [-k MAX_TIMEOUTS] FILE SIZE DIR ENTRIES XATTR
 *
 * Each round takes one sample of each operation, in this order:
 *
 *   stat      stat(FILE)
 *   cat       open(FILE), read() it to the end in 128 KiB pieces, close():
 *             what `cat FILE >/dev/null` asks of the file system; the
 *             bytes read must be SIZE
 *   ls        lstat(DIR), opendir(DIR), readdir() to the end, lstat() of
 *             every entry, closedir(): what `ls -l DIR` asks of it (less
 *             the security.selinux and ACL xattrs, which the kernel
 *             answers); the entries, . and .. left out, must be ENTRIES
 *   getxattr  getxattr(FILE, XATTR): `getfattr -n XATTR FILE`; the value
 *             must not be empty
 *
 * then sleeps PAUSE_MS (default 20), so that the samples spread over the
 * time the benchmark holds its conditions. Every sample runs in a child
 * process of its own, which times its system calls (CLOCK_MONOTONIC) and
 * writes the result to a pipe: the fork is not in the figure, and a
 * sample that does not answer within TIMEOUT_MS (default 10000) is killed
 * and recorded as a timeout, so that a wedged file system cannot hold the
 * run. An operation with MAX_TIMEOUTS timeouts (default 3) is not sampled
 * any more; once BUDGET_MS (default 30000) has passed, no sample starts
 * but of an operation that has none yet (so the last round may lack some
 * operations, and none lacks all its samples).
 * ROUNDS defaults to 100.
 *
 * Prints one line per sample: "OP ROUND USEC", "OP ROUND timeout" or
 * "OP ROUND error MESSAGE", then "# rounds=R secs=S stopped=REASON"
 * (REASON: done, budget, timeouts). Exits 0 (errors are in the output),
 * 2 on bad usage. Killed children may stay in the kernel until the file
 * system answers them: at the end it waits for them up to 30 s, then
 * leaves them to init.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

enum op { OP_STAT, OP_CAT, OP_LS, OP_XATTR, OP_COUNT };

static const char *const op_names[OP_COUNT] = { "stat", "cat", "ls",
						"getxattr" };

struct target {
	const char *file;
	long long size;
	const char *dir;
	long entries;
	const char *xattr;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int do_cat(const struct target *t, char *msg, size_t len)
{
	static char buf[128 << 10];
	long long got = 0;
	ssize_t n;
	int fd;

	fd = open(t->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, len, "open: %s", strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += n;
	if (n < 0) {
		snprintf(msg, len, "read: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) != 0) {
		snprintf(msg, len, "close: %s", strerror(errno));
		return -1;
	}
	if (got != t->size) {
		snprintf(msg, len, "read %lld bytes, expected %lld", got,
			 t->size);
		return -1;
	}
	return 0;
}

static int do_ls(const struct target *t, char *msg, size_t len)
{
	struct dirent *e;
	struct stat st;
	long count = 0;
	DIR *d;

	if (lstat(t->dir, &st) != 0) {
		snprintf(msg, len, "lstat: %s", strerror(errno));
		return -1;
	}
	d = opendir(t->dir);
	if (!d) {
		snprintf(msg, len, "opendir: %s", strerror(errno));
		return -1;
	}
	errno = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) != 0) {
			snprintf(msg, len, "lstat %s: %s", e->d_name,
				 strerror(errno));
			closedir(d);
			return -1;
		}
		count++;
		errno = 0;
	}
	if (errno) {
		snprintf(msg, len, "readdir: %s", strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	if (count != t->entries) {
		snprintf(msg, len, "%ld entries, expected %ld", count,
			 t->entries);
		return -1;
	}
	return 0;
}

static int do_op(enum op op, const struct target *t, char *msg, size_t len)
{
	char val[256];
	struct stat st;
	ssize_t n;

	switch (op) {
	case OP_STAT:
		if (stat(t->file, &st) != 0) {
			snprintf(msg, len, "stat: %s", strerror(errno));
			return -1;
		}
		if (st.st_size != t->size) {
			snprintf(msg, len, "size %lld, expected %lld",
				 (long long)st.st_size, t->size);
			return -1;
		}
		return 0;
	case OP_CAT:
		return do_cat(t, msg, len);
	case OP_LS:
		return do_ls(t, msg, len);
	case OP_XATTR:
		n = getxattr(t->file, t->xattr, val, sizeof(val));
		if (n < 0) {
			snprintf(msg, len, "getxattr: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			snprintf(msg, len, "getxattr: empty value");
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

/* The child: one timed operation; "OK NS" or "ERR MESSAGE" on fd. */
static void child(int fd, enum op op, const struct target *t)
{
	char msg[300], line[400];
	int64_t t0, t1;
	int rc, n;

	t0 = now_ns();
	rc = do_op(op, t, msg, sizeof(msg));
	t1 = now_ns();
	if (rc == 0)
		n = snprintf(line, sizeof(line), "OK %lld\n",
			     (long long)(t1 - t0));
	else
		n = snprintf(line, sizeof(line), "ERR %s\n", msg);
	if (write(fd, line, (size_t)n) != n)
		_exit(1);
	_exit(0);
}

/* Reaps the children that have ended; returns how many are left. */
static int reap(int live)
{
	while (live > 0 && waitpid(-1, NULL, WNOHANG) > 0)
		live--;
	return live;
}

/* One sample of op: prints its line; returns 1 on a timeout, else 0. */
static int sample(enum op op, int round, const struct target *t,
		  int timeout_ms, int *live)
{
	char buf[400];
	struct pollfd p;
	int64_t end;
	ssize_t n;
	size_t got = 0;
	int fds[2], rc, left;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		printf("%s %d error pipe: %s\n", op_names[op], round,
		       strerror(errno));
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("%s %d error fork: %s\n", op_names[op], round,
		       strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], op, t);
	}
	(*live)++;
	close(fds[1]);
	end = now_ns() + (int64_t)timeout_ms * 1000000;
	p.fd = fds[0];
	p.events = POLLIN;
	for (;;) {
		left = (int)((end - now_ns()) / 1000000);
		if (left <= 0) {
			rc = 0;
			break;
		}
		rc = poll(&p, 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got) || got == sizeof(buf) - 1)
			break;
	}
	close(fds[0]);
	buf[got] = '\0';
	if (got == 0 && rc == 0) {
		/* no answer in time: the child may sit in the kernel until
		 * the file system answers; it is reaped later */
		kill(pid, SIGKILL);
		printf("%s %d timeout\n", op_names[op], round);
		return 1;
	}
	if (waitpid(pid, NULL, 0) == pid)
		(*live)--;
	if (strncmp(buf, "OK ", 3) == 0)
		printf("%s %d %.1f\n", op_names[op], round,
		       (double)strtoll(buf + 3, NULL, 10) / 1000.0);
	else if (strncmp(buf, "ERR ", 4) == 0)
		printf("%s %d error %s", op_names[op], round, buf + 4);
	else
		printf("%s %d error the child died without an answer\n",
		       op_names[op], round);
	return 0;
}

static int count_arg(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || end == s || *end || *out < 0 ? -1 : 0;
}

static void usage(const char *me)
{
	fprintf(stderr,
		"usage: %s [-n ROUNDS] [-t TIMEOUT_MS] [-b BUDGET_MS] "
		"[-i PAUSE_MS] [-k MAX_TIMEOUTS] FILE SIZE DIR ENTRIES XATTR\n",
		me);
}

int main(int argc, char **argv)
{
	long rounds = 100, timeout_ms = 10000, budget_ms = 30000;
	long pause_ms = 20, max_timeouts = 3, v;
	int timeouts[OP_COUNT] = { 0 }, taken[OP_COUNT] = { 0 };
	const char *stopped = "done";
	struct target t;
	int64_t t0;
	int live = 0, round, op, c, active;

	while ((c = getopt(argc, argv, "n:t:b:i:k:")) != -1) {
		if (c == '?' || count_arg(optarg, &v)) {
			usage(argv[0]);
			return 2;
		}
		switch (c) {
		case 'n': rounds = v; break;
		case 't': timeout_ms = v; break;
		case 'b': budget_ms = v; break;
		case 'i': pause_ms = v; break;
		case 'k': max_timeouts = v; break;
		}
	}
	if (argc - optind != 5 || timeout_ms < 1 || max_timeouts < 1) {
		usage(argv[0]);
		return 2;
	}
	t.file = argv[optind];
	t.dir = argv[optind + 2];
	t.xattr = argv[optind + 4];
	if (count_arg(argv[optind + 1], &v)) {
		usage(argv[0]);
		return 2;
	}
	t.size = v;
	if (count_arg(argv[optind + 3], &t.entries)) {
		usage(argv[0]);
		return 2;
	}

	t0 = now_ns();
	for (round = 0; round < rounds; round++) {
		active = 0;
		for (op = 0; op < OP_COUNT; op++) {
			if (timeouts[op] >= max_timeouts)
				continue;
			/* past the budget: only those with no sample yet */
			if (now_ns() - t0 >= (int64_t)budget_ms * 1000000) {
				stopped = "budget";
				if (taken[op])
					continue;
			}
			active++;
			taken[op]++;
			timeouts[op] += sample(op, round, &t, (int)timeout_ms,
					       &live);
			live = reap(live);
		}
		if (!active) {
			if (strcmp(stopped, "budget") != 0)
				stopped = "timeouts";
			break;
		}
		if (strcmp(stopped, "budget") == 0) {
			round++;
			break;
		}
		if (pause_ms)
			usleep((useconds_t)pause_ms * 1000);
	}
	printf("# rounds=%d secs=%.3f stopped=%s\n", round,
	       (double)(now_ns() - t0) / 1e9, stopped);
	fflush(stdout);
	for (c = 0; live > 0 && c < 300; c++) {
		live = reap(live);
		if (live)
			usleep(100000);
	}
	return 0;
}
