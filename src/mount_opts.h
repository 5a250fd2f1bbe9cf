/*
 * The options of clonedrive mount. One table (mount_opts.c) gives each
 * option its name, its letter, its value, its default, its help and the
 * field it sets; the parsing of the command line and of -o lists, the
 * defaults and the help text are made from it. Adding an option is one
 * entry there and its field here.
 */
#ifndef CD_MOUNT_OPTS_H
#define CD_MOUNT_OPTS_H

#include "common.h"

/* What the mount command was given. */
struct mount_opts {
	bool foreground;		/* -f: no fork, log to stderr */
	bool nonempty;			/* mount over a non-empty directory */
	bool trace;			/* log every operation */
	bool debug;			/* verbose log */
	char *cache_dir;		/* NULL: one under XDG_CACHE_HOME */
	char *log_file;			/* NULL: one under XDG_STATE_HOME */
	char *pid_file;			/* NULL: none */
	char *fuse_opts;		/* -o options left for FUSE, or NULL */
	uint64_t poll_ms;		/* between polls of the remote */
	uint64_t upload_delay_ms;	/* after the last close */
	uint64_t readahead;		/* bytes, the kernel's for the mount */
	uint64_t cache_max;		/* bytes; 0: no limit */
	uint64_t min_free;		/* bytes kept free on its disk */
	uint64_t full_wait_ms;		/* a write into a full cache waits */
	uint64_t max_pending;		/* requests pending at once; 0: any */
	char *no_hydrate_for;		/* comma-separated program names */
	int no_hydrate_errno;		/* what their reads get */
	int clone_mode;			/* enum clone_mode */
	int fastpath;			/* enum fastpath_mode */
	int owners;			/* 1 keep, 0 the mounting user's,
					   -1 keep only as root */
	char *endpoint;			/* s3: the service, or NULL */
	char *region;			/* s3 */
	char *profile;			/* s3 */
	int addressing;			/* enum remote_s3_addressing */
	double timeout;			/* attributes in the kernel, seconds */
	const char *remote;		/* the operands, from argv */
	const char *mountpoint;
};

/* One option of the table. */
struct mount_opt {
	const char *name;		/* --NAME, and -o NAME with '_' for
					   '-'; NULL: a letter only */
	char letter;			/* -LETTER, or 0 */
	const char *arg;		/* its value in the help (DIR, DUR);
					   NULL: takes none */
	/*
	 * Sets the option in o from val (NULL if it takes none): 0, or
	 * -EINVAL for a bad value (o unchanged). NULL for -o and --help,
	 * which the parser handles itself.
	 */
	int (*set)(struct mount_opts *o, const struct mount_opt *d,
		   const char *val);
	size_t field;			/* offsetof the field set sets */
	const char *dflt;		/* set as if given first; NULL: none */
	const char *help;		/* its help, '\n' between lines */
};

/* The table, in the order of the help. */
extern const struct mount_opt mount_opt_table[];
extern const size_t mount_opt_count;

/* Sets o to the defaults; release with mount_opts_release(). */
void mount_opts_init(struct mount_opts *o);
/* Frees what o holds. */
void mount_opts_release(struct mount_opts *o);
/*
 * Parses the arguments of mount (argv[0] the command) into o, which
 * mount_opts_init() set up. Options may follow the operands. Returns 0;
 * -1 once --help printed the usage on stdout; or 2, the exit status,
 * once a usage error was told on stderr.
 */
int mount_opts_parse(struct mount_opts *o, int argc, char **argv);
/* Writes the help of mount to f. */
void mount_opts_usage(FILE *f);

#endif
