/*
 * What the commands of the clonedrive tool share.
 */
#ifndef CD_CLI_H
#define CD_CLI_H

/* Exit codes scripts can rely on. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the daemon said no (the message says why) */
	EXIT_USAGE = 2,
	EXIT_NO_DAEMON = 3,	/* no mount there, or its daemon is away */
};

/* clonedrive cp (cli/cp.c). */
int cp_main(int argc, char **argv);

#endif
