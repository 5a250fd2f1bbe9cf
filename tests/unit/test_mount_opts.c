/*
 * Unit test of the options of mount (mount_opts.h): the help lists every
 * option of the table in its order, with its value and its help, and
 * names its default; the man page, given as argv[1], documents every
 * option and its default; the defaults are the values the daemon had
 * before the table; options parse from the command line and from -o
 * lists, and bad ones are refused with exit status 2.
 */
#include "common.h"

#include "check.h"

#include "filter/filter.h"
#include "mount_opts.h"
#include "remote/remote.h"
#include "util/util.h"

static char *usage_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return xstrdup("");
	mount_opts_usage(f);
	fclose(f);
	return buf;
}

/* Checks the help: each option on its own line, in order, then its
 * lines of help below it, and its default among them. */
static void check_usage(void)
{
	char *text = usage_text(), *at = text, want[128];
	const struct mount_opt *d;
	const char *line, *nl;
	size_t i, n;

	for (i = 0; i < mount_opt_count; i++) {
		d = &mount_opt_table[i];
		if (d->letter && d->name)
			snprintf(want, sizeof(want), "\n  -%c, --%s", d->letter,
				 d->name);
		else if (d->letter)
			snprintf(want, sizeof(want), "\n  -%c", d->letter);
		else
			snprintf(want, sizeof(want), "\n  --%s", d->name);
		n = strlen(want);
		snprintf(want + n, sizeof(want) - n, " %s%s",
			 d->arg ? d->arg : "", d->arg ? " " : "");
		at = strstr(at, want);
		if (!at) {
			printf("# the help lacks '%s' or has it out of order\n",
			       want + 1);
			CHECK(!"every option in the help, in order");
			at = text;
			continue;
		}
		for (line = d->help; line; line = nl ? nl + 1 : NULL) {
			char piece[128];

			nl = strchr(line, '\n');
			n = nl ? (size_t)(nl - line) : strlen(line);
			snprintf(piece, sizeof(piece), "%.*s", (int)n, line);
			at = strstr(at, piece);
			CHECK(at != NULL);
			if (!at) {
				at = text;
				break;
			}
		}
		if (d->dflt && !strstr(d->help, d->dflt)) {
			printf("# the help of %s does not name its "
			       "default %s\n", d->name, d->dflt);
			CHECK(!"every default in the help");
		}
		CHECK(!d->name || strchr(d->name, '_') == NULL);
		CHECK(d->set || d->letter == 'o' || d->letter == 'h');
		CHECK(d->set || !d->dflt);
	}
	free(text);
}

/* Where the man page's paragraph at p ends: the next .TP, .PP or .SH. */
static char *paragraph_end(char *p)
{
	static const char *const marks[] = { "\n.TP", "\n.PP", "\n.SH" };
	char *end = p + strlen(p), *m;
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(marks); i++) {
		m = strstr(p, marks[i]);
		if (m && m < end)
			end = m;
	}
	return end;
}

/* Checks that the man page has a paragraph for every option the table
 * sets, naming its default. */
static void check_man(const char *path)
{
	char *man = check_slurp(path), *at, *end, want[128];
	const struct mount_opt *d;
	const char *c;
	size_t i, k;

	CHECK(man != NULL);
	if (!man)
		return;
	for (i = 0; i < mount_opt_count; i++) {
		d = &mount_opt_table[i];
		if (!d->set || !d->name)
			continue;
		/* \-\-cache\-dir, at the start of a .B, .BI or .BR line */
		k = (size_t)snprintf(want, sizeof(want), "\\-\\-");
		for (c = d->name; *c && k + 3 < sizeof(want); c++) {
			if (*c == '-')
				want[k++] = '\\';
			want[k++] = *c;
		}
		want[k] = '\0';
		for (at = strstr(man, want); at; at = strstr(at + 1, want)) {
			char *bol = at;

			while (bol > man && bol[-1] != '\n')
				bol--;
			if (strncmp(bol, ".B", 2) == 0 && at[k] != '\\' &&
			    (at[k] == ' ' || at[k] == '\n' || at[k] == '"'))
				break;
		}
		if (!at) {
			printf("# the man page does not document --%s\n",
			       d->name);
			CHECK(!"every option in the man page");
			continue;
		}
		end = paragraph_end(at);
		if (d->dflt) {
			char saved = *end;

			*end = '\0';
			if (!strstr(at, d->dflt)) {
				printf("# the man page of --%s does not name "
				       "its default %s\n", d->name, d->dflt);
				CHECK(!"every default in the man page");
			}
			*end = saved;
		}
	}
	free(man);
}

/* Parses argv (NULL-terminated, without the command) into o. */
static int parse(struct mount_opts *o, const char **args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"mount";
	while (*args && argc < 31)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	mount_opts_release(o);
	mount_opts_init(o);
	return mount_opts_parse(o, argc, argv);
}

static void check_parse(void)
{
	struct mount_opts o;
	const struct mount_opt *d;
	char key[64], *k;
	size_t i;

	/* the defaults the daemon always had */
	mount_opts_init(&o);
	CHECK(o.poll_ms == 30000);
	CHECK(o.upload_delay_ms == 2000);
	CHECK(o.timeout == 3600);
	CHECK(o.readahead == 1 << 20);
	CHECK(o.full_wait_ms == 30000);
	CHECK(o.no_hydrate_errno == EAGAIN);
	CHECK(o.clone_mode == CLONE_AUTO);
	CHECK(o.addressing == REMOTE_S3_AUTO);
	CHECK(o.cache_max == 0 && o.min_free == 0);
	CHECK(!o.foreground && !o.trace && !o.debug);
	CHECK(!o.cache_dir && !o.log_file && !o.pid_file && !o.fuse_opts);

	/* long options, letters, -o; options after the operands */
	CHECK(parse(&o, (const char *[]){ "--poll-interval", "1m", "R", "M",
					   "-f", "--cache-max", "2G", "-o",
					   "cache_dir=/c,allow_other,noauto,"
					   "trace,x-systemd.a=b,ro,"
					   "no_hydrate_errno=eio",
					   "--clone", "spool", "--attr-timeout",
					   "5", "--s3-addressing", "path",
					   NULL }) == 0);
	CHECK(o.poll_ms == 60000);
	CHECK(o.foreground && o.trace && !o.debug);
	CHECK(o.cache_max == 2ULL << 30);
	CHECK(o.cache_dir && strcmp(o.cache_dir, "/c") == 0);
	CHECK(o.fuse_opts && strcmp(o.fuse_opts, "allow_other,ro") == 0);
	CHECK(o.no_hydrate_errno == EIO);
	CHECK(o.clone_mode == CLONE_SPOOL);
	CHECK(o.timeout == 5);
	CHECK(o.addressing == REMOTE_S3_PATH);
	CHECK(o.remote && strcmp(o.remote, "R") == 0);
	CHECK(o.mountpoint && strcmp(o.mountpoint, "M") == 0);
	/* a string given twice: the last wins, the first is freed */
	CHECK(parse(&o, (const char *[]){ "--log-file", "a", "-o",
					   "log-file=b", "R", "M",
					   NULL }) == 0);
	CHECK(o.log_file && strcmp(o.log_file, "b") == 0);

	/* refused: bad values, a value where none goes and none where one
	 * must, unknown options, operands missing; --help is -1 */
	CHECK(parse(&o, (const char *[]){ "--poll-interval", "0", "R", "M",
					   NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "-o", "poll_interval=soon", "R",
					   "M", NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "--clone", "nope", "R", "M",
					   NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "--no-hydrate-errno", "ENOENT",
					   "R", "M", NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "--s3-addressing", "dns", "R", "M",
					   NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "-o", "trace=1", "R", "M",
					   NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "--no-such", "R", "M", NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "R", NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "R", "M", "X", NULL }) == 2);
	CHECK(parse(&o, (const char *[]){ "--help", NULL }) == -1);
	/* help is no -o key: it goes to FUSE, as before */
	CHECK(parse(&o, (const char *[]){ "-o", "help", "R", "M", NULL }) == 0);
	CHECK(o.fuse_opts && strcmp(o.fuse_opts, "help") == 0);

	/* every option the table sets is a -o key with '_' for '-' */
	for (i = 0; i < mount_opt_count; i++) {
		d = &mount_opt_table[i];
		if (!d->set || !d->name)
			continue;
		snprintf(key, sizeof(key), "%s", d->name);
		for (k = key; *k; k++)
			if (*k == '-')
				*k = '_';
		/* a value that needs one and is missing: refused, so the
		 * key was found; a flag: set */
		CHECK(parse(&o, (const char *[]){ "-o", key, "R", "M",
						   NULL }) == (d->arg ? 2 : 0));
		CHECK(!o.fuse_opts);
		if (d->dflt) {
			snprintf(key + strlen(key), sizeof(key) - strlen(key),
				 "=%s", d->dflt);
			CHECK(parse(&o, (const char *[]){ "-o", key, "R", "M",
							   NULL }) == 0);
		}
	}
	mount_opts_release(&o);
}

int main(int argc, char **argv)
{
	check_usage();
	check_parse();
	if (argc > 1)
		check_man(argv[1]);
	else
		CHECK(!"the man page's path as argv[1]");
	if (!failures)
		printf("ok - mount_opts\n");
	return failures ? 1 : 0;
}
