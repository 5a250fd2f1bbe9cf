/*
 * Logging. Each line carries a time, a level and a message that names the
 * path and the cause. Lines go to stderr (foreground) or to a log file.
 */
#ifndef CD_LOG_H
#define CD_LOG_H

#include "common.h"

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Sends lines to fd (not closed by the logger); lines above level are
 * dropped. Call before any thread starts. */
void log_setup(int fd, enum log_level level);
enum log_level log_get_level(void);
/* Where the lines go (2 until log_setup). */
int log_get_fd(void);
/*
 * Also sends errors and warnings to fd, as "clonedrive: error: MESSAGE"
 * without the time: the terminal of a mount that is not live yet, so
 * that its failure says why there and not only in the log. -1 stops it
 * (the default). Safe to call while other threads log.
 */
void log_tee(int fd);

void log_msg(enum log_level level, const char *fmt, ...) CD_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                    \
	do {                                              \
		if (log_get_level() >= LOG_LVL_DEBUG)     \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
