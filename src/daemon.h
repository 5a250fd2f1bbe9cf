/*
 * The daemon: `clonedrive mount` and `clonedrive unmount`. Sets up the
 * layers (remote, store, sync engine, filters, FUSE front end), runs
 * them, and takes them down in order.
 */
#ifndef CD_DAEMON_H
#define CD_DAEMON_H

#include "common.h"

/* Entry points of the two commands; argv[0] is the command name. Return
 * the process exit status. */
int daemon_mount_main(int argc, char **argv);
int daemon_unmount_main(int argc, char **argv);

#endif
