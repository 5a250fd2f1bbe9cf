/*
 * The clonedrive command: a table of subcommands, each a function taking
 * its own argv. mount runs the daemon; the others talk to a running one.
 */
#include "common.h"

#include <getopt.h>
#include <limits.h>

#include "ctl_client.h"
#include "daemon.h"
#include "util/util.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int help_main(int argc, char **argv);
static int status_main(int argc, char **argv);
static int sync_main(int argc, char **argv);

static const struct command commands[] = {
	{ "mount", daemon_mount_main, "mount a remote as a files-on-demand drive" },
	{ "unmount", daemon_unmount_main, "upload what is pending, then unmount" },
	{ "status", status_main, "show a mount, or one file, and what is pending" },
	{ "sync", sync_main, "poll the remote and upload what is pending, now" },
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

/* Exit codes scripts can rely on. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the daemon said no (the message says why) */
	EXIT_USAGE = 2,
	EXIT_NO_DAEMON = 3,	/* no mount there, or its daemon is away */
};

static const char status_usage[] =
	"usage: clonedrive status [--json] [PATH]\n"
	"\n"
	"Shows the mount PATH lies in (default: the current directory): its\n"
	"remote, cache use, uploads pending, whether the remote is reachable.\n"
	"With a PATH below the mount root, shows that file: its state and the\n"
	"bytes held locally.\n"
	"\n"
	"  --json      one JSON object, for scripts\n"
	"  -h, --help  this text\n"
	"\n"
	"Exit status: 0 ok, 1 the daemon refused (message on stderr), 2 usage,\n"
	"3 no clonedrive mount there or its daemon cannot be reached.\n";

static const char sync_usage[] =
	"usage: clonedrive sync [--timeout DUR] [PATH]\n"
	"\n"
	"Polls the remote of the mount PATH lies in and waits until every\n"
	"pending upload and change has reached it (default timeout 60s).\n"
	"Exit status as for status; 1 also when the timeout expires.\n";

/* Finds the mount of path, sends req (adding the path inside the mount
 * if with_path), maps the outcome to an exit code. */
static int call(const char *path, struct ctl_msg *req, bool with_path)
{
	char root[PATH_MAX], *inside;
	int rc;

	if (client_find_mount(path, root, &inside))
		return EXIT_NO_DAEMON;
	if (with_path && *inside && ctl_add_str(req, CTL_KEY_PATH, inside)) {
		free(inside);
		return EXIT_USAGE;
	}
	rc = client_call(root, req, stdout);
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
	return call(optind < argc ? argv[optind] : ".", &req, optind < argc);
}

static int sync_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t ms = 60000;
	struct ctl_msg req;
	uint8_t num[8];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 't' && util_parse_duration_ms(optarg, &ms) == 0)
			continue;
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
	return call(optind < argc ? argv[optind] : ".", &req, false);
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
