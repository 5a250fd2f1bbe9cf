/*
 * The clonedrive command: a table of subcommands, each a function taking
 * its own argv. mount runs the daemon; the others talk to a running one.
 */
#include "common.h"

#include "daemon.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int help_main(int argc, char **argv);

static const struct command commands[] = {
	{ "mount", daemon_mount_main, "mount a remote as a files-on-demand drive" },
	{ "unmount", daemon_unmount_main, "upload what is pending, then unmount" },
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
