/*
 * The control socket of a mount: the drive's communication port. The
 * daemon listens on a SOCK_SEQPACKET Unix socket in a directory only its
 * owner can enter, checks every peer with SO_PEERCRED (the owner or root,
 * nothing else), and answers each request packet with one reply packet
 * (proto.h). Paths in requests are resolved inside the mount's own
 * namespace; the daemon never opens a path a client names.
 */
#ifndef CD_CTL_SERVER_H
#define CD_CTL_SERVER_H

#include "common.h"

#include "ctl/proto.h"

struct fs;
struct ctl_server;

/* What the server needs to know to answer status. */
struct ctl_info {
	const char *remote;		/* as the user gave it */
	const char *mountpoint;
	const char *cache_dir;
};

/* Creates the socket at path (its directory is made 0700) and starts the
 * accepting thread. */
int ctl_server_start(struct fs *fs, const struct ctl_info *info,
		     const char *path, struct ctl_server **out) CD_WUR;
/* Stops accepting, waits for requests in progress, removes the socket. */
void ctl_server_stop(struct ctl_server *srv);
/* Answers one request (exposed for tests and the fuzz target); writes the
 * reply into out and returns its length. */
ssize_t ctl_server_handle(struct ctl_server *srv, const void *req, size_t len,
			  void *out, size_t size);

#endif
