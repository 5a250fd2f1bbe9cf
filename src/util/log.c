/*
 * The logger: one write(2) per line, so lines from several threads never
 * interleave, and no lock is needed. Timestamps are UTC with milliseconds.
 * Until a mount is live, its errors and warnings also go to the terminal
 * (log_tee), without the time and pid a terminal needs no more than once.
 */
#include "common.h"

#include <stdarg.h>
#include <unistd.h>

#include "util/log.h"

static int log_fd = 2;
static int tee_fd = -1;		/* atomic: set while threads log */
static enum log_level log_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_setup(int fd, enum log_level level)
{
	log_fd = fd;
	log_level = level;
}

int log_get_fd(void)
{
	return log_fd;
}

void log_tee(int fd)
{
	__atomic_store_n(&tee_fd, fd, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n, head;
	int k, tee;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ldZ clonedrive[%d] %s: ",
		     ts.tv_nsec / 1000000, (int)getpid(), level_names[level]);
	if (k > 0)
		n += (size_t)k;
	head = n;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k > 0)
		n = CD_MIN(n + (size_t)k, sizeof(line) - 2);
	line[n++] = '\n';
	if (write(log_fd, line, n) < 0) {
		/* nowhere left to report it */
	}
	tee = __atomic_load_n(&tee_fd, __ATOMIC_RELAXED);
	if (tee >= 0 && tee != log_fd && level <= LOG_LVL_WARN)
		dprintf(tee, "clonedrive: %s: %.*s", level_names[level],
			(int)(n - head), line + head);
}
