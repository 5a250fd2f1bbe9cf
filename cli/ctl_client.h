/*
 * The CLI's side of the control socket: finding the mount a path lies in,
 * and one request/reply exchange with its daemon.
 */
#ifndef CD_CTL_CLIENT_H
#define CD_CTL_CLIENT_H

#include "common.h"

#include "ctl/proto.h"

/* The clonedrive mount that path lies in: its root (into root, PATH_MAX)
 * and the path inside it (caller frees; "" for the root). */
int client_find_mount(const char *path, char *root, char **inside) CD_WUR;
/* Sends req to the daemon of the mount at root; the reply's status is
 * returned (0 or a positive errno) and its text printed to f. Negative
 * errno if the daemon could not be reached, with the reason on stderr. */
int client_call(const char *root, const struct ctl_msg *req, FILE *f);

#endif
