/*
 * The clonedrive command: a table of subcommands, each a function taking
 * its own argv. mount runs the daemon; the others talk to a running one.
 * pin, unpin, free and hydrate differ only in their request and options:
 * they share one function, driven by a second table.
 */
#include "common.h"

#include <getopt.h>
#include <limits.h>

#include "cli.h"
#include "ctl_client.h"
#include "daemon.h"
#include "progress.h"
#include "util/util.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int help_main(int argc, char **argv);
static int status_main(int argc, char **argv);
static int sync_main(int argc, char **argv);
static int path_main(int argc, char **argv);

static const struct command commands[] = {
	{ "mount", daemon_mount_main, "mount a remote as a files-on-demand drive" },
	{ "unmount", daemon_unmount_main, "upload what is pending, then unmount" },
	{ "status", status_main, "show a mount, or one file, and what is pending" },
	{ "sync", sync_main, "poll the remote and upload what is pending, now" },
	{ "pin", path_main, "keep files local: fetch them now, never evict them" },
	{ "unpin", path_main, "let pinned files be evicted again" },
	{ "free", path_main, "drop the local data of files in sync" },
	{ "hydrate", path_main, "fetch files now, without pinning them" },
	{ "cp", cp_main, "copy local files in, keeping no second copy" },
	{ "help", help_main, "show this text" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: clonedrive COMMAND [options] [args]\n\n"
		   "A cloud drive for Linux: files on demand, copies as "
		   "clones.\n\ncommands:\n");
	for (i = 0; i < CD_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\n'clonedrive COMMAND --help' describes a command. "
		   "See also clonedrive(1).\n");
}


static const char status_usage[] =
	"usage: clonedrive status [--json] [PATH]\n"
	"\n"
	"Shows the mount PATH lies in (default: the current directory): its\n"
	"remote, cache use, uploads pending, whether the remote is reachable,\n"
	"the clone policy in effect (and why guard is not, if it fell back).\n"
	"With a PATH below the mount root, shows that file: its state and the\n"
	"bytes held locally; or that directory: the files, directories and\n"
	"symlinks in it, the bytes of its files held locally, its pin state.\n"
	"\n"
	"  --json      one JSON object, for scripts\n"
	"  -h, --help  this text\n"
	"\n"
	"Exit status: 0 ok, 1 the daemon refused (message on stderr), 2 usage,\n"
	"3 no clonedrive mount there or its daemon cannot be reached.\n";

static const char sync_usage[] =
	"usage: clonedrive sync [--timeout DUR] [--no-progress] [PATH]\n"
	"\n"
	"Polls the remote of the mount PATH lies in and waits until every\n"
	"pending upload and change has reached it, showing on stderr how\n"
	"many operations are still pending.\n"
	"\n"
	"  --timeout DUR  give up after DUR (default 60s; units ms, s, m, h)\n"
	"  --no-progress  show nothing while waiting\n"
	"  -h, --help     this text\n"
	"\n"
	"Exit status as for status; 1 also when the timeout expires.\n";

#define PATHS_EXIT_STATUS \
	"Exit status: 0 ok, 1 the daemon refused (message on stderr), 2 usage,\n" \
	"3 no clonedrive mount there or its daemon cannot be reached. With\n" \
	"several PATHs, each is done in turn and the worst status wins.\n"

static const char pin_usage[] =
	"usage: clonedrive pin [--no-progress] PATH...\n"
	"\n"
	"Pins each PATH, a file or a directory tree: fetches all its data and\n"
	"keeps it; the cache never evicts it and 'clonedrive free' refuses it.\n"
	"What is created below a pinned directory is pinned too. Progress is\n"
	"shown on stderr (a bar on a terminal). Ctrl-C stops waiting: the pin\n"
	"stays, and the daemon fetches the rest in the background.\n"
	"\n"
	"  --no-progress  show no progress\n"
	"  -h, --help     this text\n"
	"\n"
	PATHS_EXIT_STATUS;

static const char unpin_usage[] =
	"usage: clonedrive unpin [--inherit] PATH...\n"
	"\n"
	"Unpins each PATH, a file or a directory tree: its data stays local for\n"
	"now, but the cache may evict it when it needs room.\n"
	"\n"
	"  --inherit   drop PATH's own setting instead: it follows its parent\n"
	"              directory again (pinned if that is pinned)\n"
	"  -h, --help  this text\n"
	"\n"
	PATHS_EXIT_STATUS;

static const char free_usage[] =
	"usage: clonedrive free PATH...\n"
	"\n"
	"Drops the local data of each PATH, a file or a directory tree, where\n"
	"it is in sync with the remote: the files stay, as placeholders, and\n"
	"are fetched again when read. Files not yet uploaded, pinned, or mapped\n"
	"by a process are kept; the daemon lists them on stderr and the exit\n"
	"status is 1.\n"
	"\n"
	"  -h, --help  this text\n"
	"\n"
	PATHS_EXIT_STATUS;

static const char hydrate_usage[] =
	"usage: clonedrive hydrate [--no-progress] PATH...\n"
	"\n"
	"Fetches all the data of each PATH, a file or a directory tree, without\n"
	"pinning it: the cache may evict it later, as anything read. Progress\n"
	"is shown on stderr (a bar on a terminal); Ctrl-C stops, keeping what\n"
	"was fetched.\n"
	"\n"
	"  --no-progress  show no progress\n"
	"  -h, --help     this text\n"
	"\n"
	PATHS_EXIT_STATUS;

/* Finds the mount of path, sends req (adding the path inside the mount
 * if with_path), shows the progress the daemon sends as label (none if
 * NULL), maps the outcome to an exit code. */
static int call(const char *path, struct ctl_msg *req, bool with_path,
		const char *label)
{
	char root[PATH_MAX], *inside;
	struct progress *pr = NULL;
	int rc;

	if (client_find_mount(path, root, &inside))
		return EXIT_NO_DAEMON;
	if (with_path && *inside && ctl_add_str(req, CTL_KEY_PATH, inside)) {
		free(inside);
		return EXIT_USAGE;
	}
	if (label)
		pr = progress_new(label);
	rc = client_call_progress(root, req, stdout, pr ? progress_cb : NULL,
				  pr);
	progress_free(pr);
	free(inside);
	if (rc < 0)
		return EXIT_NO_DAEMON;
	return rc ? EXIT_FAIL : EXIT_OK;
}

static int status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t flags = 0;
	struct ctl_msg req;
	uint8_t num[8];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'j') {
			flags |= CTL_F_JSON;
		} else if (c == 'h') {
			fputs(status_usage, stdout);
			return EXIT_OK;
		} else {
			fputs(status_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fputs(status_usage, stderr);
		return EXIT_USAGE;
	}
	ctl_msg_init(&req, CTL_OP_STATUS);
	if (ctl_add_u64(&req, CTL_KEY_FLAGS, flags, num))
		return EXIT_USAGE;
	/* no PATH: the mount the current directory lies in, as a whole */
	return call(optind < argc ? argv[optind] : ".", &req, optind < argc,
		    NULL);
}

static int sync_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t ms = 60000;
	bool progress = true;
	struct ctl_msg req;
	uint8_t num[8];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 't' && util_parse_duration_ms(optarg, &ms) == 0)
			continue;
		if (c == 'P') {
			progress = false;
			continue;
		}
		if (c == 'h') {
			fputs(sync_usage, stdout);
			return EXIT_OK;
		}
		fputs(sync_usage, stderr);
		return EXIT_USAGE;
	}
	if (argc - optind > 1) {
		fputs(sync_usage, stderr);
		return EXIT_USAGE;
	}
	ctl_msg_init(&req, CTL_OP_SYNC);
	if (ctl_add_u64(&req, CTL_KEY_TIMEOUT_MS, ms, num))
		return EXIT_USAGE;
	return call(optind < argc ? argv[optind] : ".", &req, false,
		    progress ? "sync" : NULL);
}

static const struct option progress_opts[] = {
	{ "no-progress", no_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option unpin_opts[] = {
	{ "inherit", no_argument, NULL, 'i' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option help_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A command that sends one request per PATH argument. */
struct path_command {
	const char *name;
	enum ctl_op op;
	const char *usage;
	const struct option *longopts;
	bool progress;		/* the daemon reports progress: show it */
	bool flags;		/* the request carries FLAGS */
};

static const struct path_command path_commands[] = {
	{ "pin", CTL_OP_PIN, pin_usage, progress_opts, true, false },
	{ "unpin", CTL_OP_UNPIN, unpin_usage, unpin_opts, false, true },
	{ "free", CTL_OP_FREE, free_usage, help_opts, false, false },
	{ "hydrate", CTL_OP_HYDRATE, hydrate_usage, progress_opts, true, false },
};

/* One PATH: its own mount, its own request, its own progress. */
static int path_one(const struct path_command *cmd, const char *path,
		    uint64_t flags, bool progress)
{
	struct ctl_msg req;
	uint8_t num[8];

	ctl_msg_init(&req, cmd->op);
	if (cmd->flags && ctl_add_u64(&req, CTL_KEY_FLAGS, flags, num))
		return EXIT_USAGE;
	/* the mount root itself goes without a PATH field */
	return call(path, &req, true, progress ? cmd->name : NULL);
}

/* pin, unpin, free, hydrate: argv[0] says which. */
static int path_main(int argc, char **argv)
{
	const struct path_command *cmd = NULL;
	bool progress = true;
	uint64_t flags = 0;
	int c, rc, worst = EXIT_OK;
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(path_commands); i++)
		if (strcmp(argv[0], path_commands[i].name) == 0)
			cmd = &path_commands[i];
	if (!cmd)
		return EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", cmd->longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			progress = false;
			break;
		case 'i':
			flags |= CTL_F_INHERIT;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return EXIT_OK;
		default:
			fputs(cmd->usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fputs(cmd->usage, stderr);
		return EXIT_USAGE;
	}
	/* a failure does not stop the others: the exit code tells */
	for (c = optind; c < argc; c++) {
		rc = path_one(cmd, argv[c], flags, progress && cmd->progress);
		worst = CD_MAX(worst, rc);
	}
	return worst;
}

static int help_main(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help_main(argc, argv);
	if (strcmp(argv[1], "--version") == 0) {
		printf("clonedrive %s\n", CD_VERSION);
		return 0;
	}
	for (i = 0; i < CD_ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	/* mount.fuse3 (an fstab line) runs "clonedrive SOURCE DIR -o OPTS" */
	if (argc >= 3 && argv[1][0] != '-')
		return daemon_mount_main(argc, argv);
	fprintf(stderr, "clonedrive: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
