/*
 * The logger: one write(2) per line, so lines from several threads never
 * interleave, and no lock is needed. Timestamps are UTC with milliseconds.
 */
#include "common.h"

#include <stdarg.h>
#include <unistd.h>

#include "util/log.h"

static int log_fd = 2;
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
	size_t n;
	int k;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ldZ clonedrive[%d] %s: ",
		     ts.tv_nsec / 1000000, (int)getpid(), level_names[level]);
	if (k > 0)
		n += (size_t)k;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k > 0)
		n = CD_MIN(n + (size_t)k, sizeof(line) - 2);
	line[n++] = '\n';
	if (write(log_fd, line, n) < 0) {
		/* nowhere left to report it */
	}
}
