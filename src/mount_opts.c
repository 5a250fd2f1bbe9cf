/*
 * The options of clonedrive mount, from one table.
 *
 * Each entry of mount_opt_table names an option (its long name, its
 * letter), the value it takes, the function that parses that value into
 * its field of struct mount_opts, its default and its lines of help. From
 * the table come getopt's long options and letters, the defaults (each
 * parsed as if given first, so a default is written the way a user
 * writes the value), the help text in the table's order, and the -o
 * keys: every long option, with '_' for '-', as key=value, which is how
 * an fstab line through mount.fuse3 passes them. What -o does not know
 * goes to FUSE, except mount(8)'s own words, which mean nothing here.
 */
#include "common.h"

#include <assert.h>
#include <getopt.h>

#include "mount_opts.h"
#include "filter/filter.h"
#include "remote/remote.h"
#include "util/util.h"

/* The help's left column: two spaces, the option, padded to this. */
#define USAGE_COLUMN 22

static const char usage_head[] =
	"usage: clonedrive mount [options] REMOTE MOUNTPOINT\n"
	"\n"
	"Mounts REMOTE at MOUNTPOINT as a files-on-demand drive: every remote\n"
	"file shows at once, data is fetched when read, changes are uploaded\n"
	"in the background. Returns once the mount is live.\n"
	"\n"
	"REMOTE is a directory (local disk, NAS), optionally written "
	"local:DIR,\n"
	"or s3://BUCKET[/PREFIX] for a bucket of any S3-compatible service\n"
	"(credentials as the AWS tools find them: AWS_ACCESS_KEY_ID and\n"
	"AWS_SECRET_ACCESS_KEY, or a profile of ~/.aws/credentials).\n"
	"\n"
	"options:\n";

static const char usage_tail[] =
	"\n"
	"In /etc/fstab (through mount.fuse3):\n"
	"  /srv/remote  /home/me/Cloud  fuse.clonedrive  noauto,user  0 0\n"
	"\n"
	"Exit status: 0 mounted, 1 error (the message says which), 2 usage.\n";

/* The field of o that d sets. */
static void *field(struct mount_opts *o, const struct mount_opt *d)
{
	return (char *)o + d->field;
}

static int set_true(struct mount_opts *o, const struct mount_opt *d,
		    const char *val)
{
	*(bool *)field(o, d) = true;
	return 0;
}

static int set_string(struct mount_opts *o, const struct mount_opt *d,
		      const char *val)
{
	char **s = field(o, d);

	free(*s);
	*s = xstrdup(val);
	return 0;
}

static int set_duration(struct mount_opts *o, const struct mount_opt *d,
			const char *val)
{
	return util_parse_duration_ms(val, field(o, d));
}

/* A duration that must not be 0 (a period). */
static int set_period(struct mount_opts *o, const struct mount_opt *d,
		      const char *val)
{
	uint64_t ms;

	if (util_parse_duration_ms(val, &ms) || !ms)
		return -EINVAL;
	*(uint64_t *)field(o, d) = ms;
	return 0;
}

static int set_size(struct mount_opts *o, const struct mount_opt *d,
		    const char *val)
{
	return util_parse_size(val, field(o, d));
}

/* Whole seconds, into a double. */
static int set_seconds(struct mount_opts *o, const struct mount_opt *d,
		       const char *val)
{
	uint64_t v;

	if (util_parse_u64(val, &v))
		return -EINVAL;
	*(double *)field(o, d) = (double)v;
	return 0;
}

/* A count that fits 32 bits, into a uint64_t. */
static int set_count(struct mount_opts *o, const struct mount_opt *d,
		     const char *val)
{
	uint64_t v;

	if (util_parse_u64(val, &v) || v > UINT32_MAX)
		return -EINVAL;
	*(uint64_t *)field(o, d) = v;
	return 0;
}

static int set_errno(struct mount_opts *o, const struct mount_opt *d,
		     const char *val)
{
	int err = policy_parse_errno(val);

	if (!err)
		return -EINVAL;
	*(int *)field(o, d) = err;
	return 0;
}

static int set_clone_mode(struct mount_opts *o, const struct mount_opt *d,
			  const char *val)
{
	int mode = clone_mode_parse(val);

	if (mode < 0)
		return -EINVAL;
	*(int *)field(o, d) = mode;
	return 0;
}

static int set_fastpath(struct mount_opts *o, const struct mount_opt *d,
			const char *val)
{
	int mode = fastpath_mode_parse(val);

	if (mode < 0)
		return -EINVAL;
	*(int *)field(o, d) = mode;
	return 0;
}

static int set_owners(struct mount_opts *o, const struct mount_opt *d,
		      const char *val)
{
	int *v = field(o, d);

	if (strcmp(val, "keep") == 0)
		*v = 1;
	else if (strcmp(val, "mount") == 0)
		*v = 0;
	else if (strcmp(val, "auto") == 0)
		*v = -1;
	else
		return -EINVAL;
	return 0;
}

static int set_addressing(struct mount_opts *o, const struct mount_opt *d,
			  const char *val)
{
	int *a = field(o, d);

	if (strcmp(val, "path") == 0)
		*a = REMOTE_S3_PATH;
	else if (strcmp(val, "virtual") == 0)
		*a = REMOTE_S3_VIRTUAL;
	else if (strcmp(val, "auto") == 0)
		*a = REMOTE_S3_AUTO;
	else
		return -EINVAL;
	return 0;
}

#define F(member) offsetof(struct mount_opts, member)

const struct mount_opt mount_opt_table[] = {
	{
		.name = "foreground", .letter = 'f',
		.set = set_true, .field = F(foreground),
		.help = "stay in the foreground, log to stderr",
	},
	{
		.letter = 'o', .arg = "OPTS",
		.help = "mount options: allow_other, ro, ... and\n"
			"any option below as key=value, with '_'\n"
			"for '-' (-o cache_dir=DIR,poll_interval=1m)\n"
			"default_permissions is always on",
	},
	{
		.name = "cache-dir", .arg = "DIR",
		.set = set_string, .field = F(cache_dir),
		.help = "local store (default: $XDG_CACHE_HOME/\n"
			"clonedrive/NAME-HASH, one per remote and\n"
			"mountpoint)",
	},
	{
		.name = "poll-interval", .arg = "DUR",
		.set = set_period, .field = F(poll_ms), .dflt = "30s",
		.help = "how often remote changes are looked for\n"
			"(default 30s; units ms, s, m, h)",
	},
	{
		.name = "upload-delay", .arg = "DUR",
		.set = set_duration, .field = F(upload_delay_ms),
		.dflt = "2s",
		.help = "wait after the last close before uploading\n"
			"(default 2s)",
	},
	{
		.name = "attr-timeout", .arg = "SECS",
		.set = set_seconds, .field = F(timeout), .dflt = "3600",
		.help = "how long the kernel keeps attributes\n"
			"(default 3600)",
	},
	{
		.name = "read-ahead", .arg = "SIZE",
		.set = set_size, .field = F(readahead), .dflt = "1M",
		.help = "kernel readahead of the mount (default 1M;\n"
			"needs root, else the system's default)",
	},
	{
		.name = "cache-max", .arg = "SIZE",
		.set = set_size, .field = F(cache_max),
		.help = "keep the cache under SIZE (e.g. 20G) by\n"
			"evicting the least recently used clean,\n"
			"unpinned files (default: no limit)",
	},
	{
		.name = "min-free", .arg = "SIZE",
		.set = set_size, .field = F(min_free),
		.help = "keep SIZE free on the cache's disk, the same\n"
			"way (default: none)",
	},
	{
		.name = "cache-full-wait", .arg = "DUR",
		.set = set_duration, .field = F(full_wait_ms), .dflt = "30s",
		.help = "how long a write into a full cache waits for\n"
			"uploads before ENOSPC (default 30s)",
	},
	{
		.name = "max-pending", .arg = "N",
		.set = set_count, .field = F(max_pending), .dflt = "4096",
		.help = "requests that may wait for the remote at once\n"
			"holding no thread; more wait in a worker\n"
			"(default 4096; 0: no limit)",
	},
	{
		.name = "no-hydrate-for", .arg = "NAMES",
		.set = set_string, .field = F(no_hydrate_for),
		.help = "programs (executable names, comma-separated,\n"
			"e.g. tracker-extract,tumblerd) whose reads of\n"
			"data not held locally fail instead of\n"
			"downloading (default: none)",
	},
	{
		.name = "no-hydrate-errno", .arg = "ERR",
		.set = set_errno, .field = F(no_hydrate_errno),
		.dflt = "EAGAIN",
		.help = "what they get: EAGAIN (default), EIO,\n"
			"EACCES, EPERM, ENODATA or ETIMEDOUT",
	},
	{
		.name = "clone", .arg = "MODE",
		.set = set_clone_mode, .field = F(clone_mode), .dflt = "auto",
		.help = "copies of local files written into the drive\n"
			"keep no second copy on this disk: auto\n"
			"(default: reflink, else guard, else spool),\n"
			"reflink (cloned into the cache), guard (not\n"
			"stored; the source guarded until uploaded;\n"
			"root), inplace (not stored, unguarded: a\n"
			"source changed first leaves the copy in\n"
			"error), spool (stored until uploaded), or off",
	},
	{
		.name = "passthrough", .arg = "MODE",
		.set = set_fastpath, .field = F(fastpath), .dflt = "auto",
		.help = "the kernel's fast path (FUSE passthrough,\n"
			"Linux 6.9+, root): opens of files held\n"
			"whole here read and write the cache file\n"
			"directly. auto (default: where it can be\n"
			"had), on (the same; an error is logged\n"
			"where it cannot) or off. Each open that\n"
			"does not get it says why (clonedrive status\n"
			"FILE, user.clonedrive.fastpath)",
	},
	{
		.name = "owners", .arg = "MODE",
		.set = set_owners, .field = F(owners), .dflt = "auto",
		.help = "owners of files: keep (the uid and gid each\n"
			"is made or chowned with, kept on the remote\n"
			"too), mount (all the mounting user's; chown\n"
			"to another is EPERM), or auto (default: keep\n"
			"when mounted by root, else mount)",
	},
	{
		.name = "endpoint", .arg = "URL",
		.set = set_string, .field = F(endpoint),
		.help = "s3: the service (default: AWS_ENDPOINT_URL,\n"
			"the profile's endpoint_url, else AWS)",
	},
	{
		.name = "region", .arg = "REGION",
		.set = set_string, .field = F(region),
		.help = "s3: (default: AWS_REGION, the profile's\n"
			"region, else us-east-1)",
	},
	{
		.name = "profile", .arg = "NAME",
		.set = set_string, .field = F(profile),
		.help = "s3: the profile of ~/.aws/credentials and\n"
			"~/.aws/config (default: AWS_PROFILE, else\n"
			"default)",
	},
	{
		.name = "s3-addressing", .arg = "MODE",
		.set = set_addressing, .field = F(addressing), .dflt = "auto",
		.help = "s3: path (http://host/bucket/key), virtual\n"
			"(http://bucket.host/key) or auto (default:\n"
			"path with --endpoint, else virtual)",
	},
	{
		.name = "log-file", .arg = "FILE",
		.set = set_string, .field = F(log_file),
		.help = "(default: $XDG_STATE_HOME/clonedrive/\n"
			"NAME-HASH.log)",
	},
	{
		.name = "pid-file", .arg = "FILE",
		.set = set_string, .field = F(pid_file),
		.help = "write the daemon's pid there",
	},
	{
		.name = "nonempty",
		.set = set_true, .field = F(nonempty),
		.help = "mount over a directory that is not empty,\n"
			"hiding what is in it (-o nonempty)",
	},
	{
		.name = "trace",
		.set = set_true, .field = F(trace),
		.help = "log every operation with pid and latency",
	},
	{
		.name = "debug",
		.set = set_true, .field = F(debug),
		.help = "verbose log",
	},
	{
		.name = "help", .letter = 'h',
		.help = "this text",
	},
};

const size_t mount_opt_count = CD_ARRAY_SIZE(mount_opt_table);

void mount_opts_init(struct mount_opts *o)
{
	const struct mount_opt *d;
	int rc;

	memset(o, 0, sizeof(*o));
	for (d = mount_opt_table; d < mount_opt_table + mount_opt_count; d++) {
		if (!d->dflt)
			continue;
		rc = d->set(o, d, d->dflt);
		assert(rc == 0);	/* the table's own defaults parse */
		(void)rc;
	}
}

void mount_opts_release(struct mount_opts *o)
{
	const struct mount_opt *d;

	for (d = mount_opt_table; d < mount_opt_table + mount_opt_count; d++)
		if (d->set == set_string)
			free(*(char **)field(o, d));
	free(o->fuse_opts);
	memset(o, 0, sizeof(*o));
}

void mount_opts_usage(FILE *f)
{
	const struct mount_opt *d;
	const char *line, *nl;
	char left[64];
	size_t n;

	fputs(usage_head, f);
	for (d = mount_opt_table; d < mount_opt_table + mount_opt_count; d++) {
		if (d->letter && d->name)
			snprintf(left, sizeof(left), "-%c, --%s", d->letter,
				 d->name);
		else if (d->letter)
			snprintf(left, sizeof(left), "-%c", d->letter);
		else
			snprintf(left, sizeof(left), "--%s", d->name);
		n = strlen(left);
		if (d->arg)
			snprintf(left + n, sizeof(left) - n, " %s", d->arg);
		if (strlen(left) > USAGE_COLUMN)
			fprintf(f, "  %s\n%*s", left, USAGE_COLUMN + 4, "");
		else
			fprintf(f, "  %-*s  ", USAGE_COLUMN, left);
		for (line = d->help;; line = nl + 1) {
			nl = strchrnul(line, '\n');
			fprintf(f, "%.*s\n", (int)(nl - line), line);
			if (!*nl)
				break;
			fprintf(f, "%*s", USAGE_COLUMN + 4, "");
		}
	}
	fputs(usage_tail, f);
}

/* Sets the option d to val; 0, or 2 (the exit status) once told. */
static int set_one(struct mount_opts *o, const struct mount_opt *d,
		   const char *val)
{
	if (d->set(o, d, val) == 0)
		return 0;
	fprintf(stderr, "clonedrive mount: bad value '%s' for this option "
			"(sizes like 1M, durations like 30s or 200ms)\n", val);
	return 2;
}

/* Appends one option to the comma-separated FUSE options. */
static void add_fuse_opt(struct mount_opts *o, const char *opt)
{
	char *joined;

	if (!o->fuse_opts) {
		o->fuse_opts = xstrdup(opt);
		return;
	}
	joined = xasprintf("%s,%s", o->fuse_opts, opt);
	free(o->fuse_opts);
	o->fuse_opts = joined;
}

/* Options of mount(8) and fstab that mean nothing to a FUSE mount. */
static bool ignored_mount_opt(const char *key)
{
	static const char *const names[] = {
		"defaults", "auto", "noauto", "user", "nouser", "users",
		"_netdev", "nofail", "rw",
	};
	size_t i;

	if (strncmp(key, "x-", 2) == 0 || strncmp(key, "comment=", 8) == 0)
		return true;
	for (i = 0; i < CD_ARRAY_SIZE(names); i++)
		if (strcmp(key, names[i]) == 0)
			return true;
	return false;
}

/* The entry -o KEY names (its long name, '_' for '-'), or NULL. */
static const struct mount_opt *o_key(const char *key, size_t len)
{
	const struct mount_opt *d;
	size_t i;

	for (d = mount_opt_table; d < mount_opt_table + mount_opt_count; d++) {
		if (!d->name || !d->set || strlen(d->name) != len)
			continue;
		for (i = 0; i < len; i++)
			if (d->name[i] != (key[i] == '_' ? '-' : key[i]))
				break;
		if (i == len)
			return d;
	}
	return NULL;
}

/*
 * Splits a -o list: the drive's own options (cache_dir=DIR, the long
 * options with '_' for '-') are applied, mount(8) noise is dropped, and
 * the rest is left for FUSE (allow_other, ro, ...). This is what makes an
 * fstab line through mount.fuse3 work. 0, or 2 once an error was told.
 */
static int apply_o(struct mount_opts *o, const char *list)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	const struct mount_opt *d;
	int rc = 0;

	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		d = o_key(tok, eq ? (size_t)(eq - tok) : strlen(tok));
		if (!d) {
			if (!ignored_mount_opt(tok))
				add_fuse_opt(o, tok);
		} else if ((d->arg != NULL) != (eq != NULL)) {
			fprintf(stderr, "clonedrive mount: -o %s: %s\n", tok,
				eq ? "takes no value" : "needs a value");
			rc = 2;
		} else {
			rc = set_one(o, d, eq ? eq + 1 : NULL);
		}
	}
	free(copy);
	return rc;
}

/* getopt's long options (val: the letter, else 256 + the index) and
 * letters, from the table; free *longopts. */
static void getopt_specs(struct option **longopts, char *letters, size_t size)
{
	struct option *lo = xcalloc(mount_opt_count + 1, sizeof(*lo));
	size_t i, n = 0, k = 0;

	for (i = 0; i < mount_opt_count; i++) {
		const struct mount_opt *d = &mount_opt_table[i];

		if (d->name) {
			lo[n].name = d->name;
			lo[n].has_arg = d->arg ? required_argument
					       : no_argument;
			lo[n].val = d->letter ? d->letter : 256 + (int)i;
			n++;
		}
		if (d->letter) {
			assert(k + 3 <= size);
			letters[k++] = d->letter;
			if (d->arg)
				letters[k++] = ':';
		}
	}
	letters[k] = '\0';
	*longopts = lo;
}

/* The entry getopt's c stands for. */
static const struct mount_opt *by_getopt(int c)
{
	size_t i;

	if (c >= 256 && (size_t)(c - 256) < mount_opt_count)
		return &mount_opt_table[c - 256];
	for (i = 0; i < mount_opt_count; i++)
		if (mount_opt_table[i].letter == c)
			return &mount_opt_table[i];
	return NULL;
}

int mount_opts_parse(struct mount_opts *o, int argc, char **argv)
{
	const struct mount_opt *d;
	struct option *longopts;
	char letters[64];
	int c, rc = 0;

	getopt_specs(&longopts, letters, sizeof(letters));
	optind = 1;
	/* options may follow the operands: mount.fuse3 puts -o last */
	while (!rc) {
		c = getopt_long(argc, argv, letters, longopts, NULL);
		if (c == -1)
			break;
		d = by_getopt(c);
		if (d && d->set) {
			rc = set_one(o, d, optarg);
		} else if (c == 'o') {
			rc = apply_o(o, optarg);
		} else if (c == 'h') {
			mount_opts_usage(stdout);
			rc = -1;
		} else {
			/* getopt said what is wrong */
			mount_opts_usage(stderr);
			rc = 2;
		}
	}
	free(longopts);
	if (rc)
		return rc;
	if (argc - optind != 2) {
		mount_opts_usage(stderr);
		return 2;
	}
	o->remote = argv[optind];
	o->mountpoint = argv[optind + 1];
	return 0;
}
