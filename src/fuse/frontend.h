/*
 * The FUSE front end: libfuse's low-level API. Decodes kernel requests
 * into struct fop, runs them through the filter stack, and replies. No
 * policy lives here.
 */
#ifndef CD_FRONTEND_H
#define CD_FRONTEND_H

#include "common.h"

#include "filter/filter.h"
#include "sync/sync.h"

struct frontend;

/* Creates the session and mounts it at mountpoint with the given -o
 * options (comma-separated, may be NULL). */
int frontend_mount(struct fs *fs, const char *mountpoint,
		   const char *options, struct frontend **out) CD_WUR;
/* Sets the kernel's readahead for the mount (bytes); best effort, it
 * needs the rights to write /sys/class/bdi. */
void frontend_set_readahead(const char *mountpoint, uint64_t bytes);
/* The callbacks the sync engine uses to drop kernel caches. */
const struct sync_notify *frontend_notify(struct frontend *fe);
/* Serves requests until unmounted or a signal ends the session. */
int frontend_loop(struct frontend *fe) CD_WUR;
/* Releases the files still open once the loop has ended (the kernel
 * drops releases that are pending when a mount goes away), so their
 * state is saved and their uploads queued. */
void frontend_release_all(struct frontend *fe);
/* Unmounts (if still mounted), releases what is left open, and frees. */
void frontend_free(struct frontend *fe);

#endif
