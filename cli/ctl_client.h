/*
 * The CLI's side of the control socket: finding the mount a path lies in,
 * and one conversation with its daemon (a request, the progress of a long
 * operation, the reply).
 */
#ifndef CD_CTL_CLIENT_H
#define CD_CTL_CLIENT_H

#include "common.h"

#include "ctl/proto.h"

/* Which fields of a progress message the daemon sent. */
enum client_progress_has {
	CLIENT_HAS_BYTES_DONE = 1 << 0,
	CLIENT_HAS_BYTES_TOTAL = 1 << 1,
	CLIENT_HAS_FILES_DONE = 1 << 2,
	CLIENT_HAS_FILES_TOTAL = 1 << 3,
	CLIENT_HAS_PENDING = 1 << 4,
};

/* One PROGRESS message, decoded. A number whose bit is clear in has was
 * absent and reads 0. */
struct client_progress {
	unsigned has;			/* enum client_progress_has */
	uint64_t bytes_done;
	uint64_t bytes_total;
	uint64_t files_done;
	uint64_t files_total;
	uint64_t pending;		/* sync: remote operations left */
	const char *path;		/* the file in hand, or NULL; valid
					 * during the call only */
};

/* Called with each progress message as it arrives, then once with NULL
 * when the conversation is over (reply, hang-up or error), before the
 * reply's text or any error is printed: a display gets out of the way. */
typedef void client_progress_fn(const struct client_progress *p, void *arg);

/* The clonedrive mount that path lies in: its root (into root, PATH_MAX)
 * and the path inside it (caller frees; "" for the root). */
int client_find_mount(const char *path, char *root, char **inside) CD_WUR;
/* Sends req to the daemon of the mount at root and waits for the reply,
 * passing each progress message to cb (may be NULL) with arg. Returns
 * the reply's status (0 or a positive errno), its text printed to f, or
 * to stderr on failure. Negative errno if the daemon could not be
 * reached, hung up before the reply or broke the protocol (-EPROTO),
 * with the reason on stderr. */
int client_call_progress(const char *root, const struct ctl_msg *req,
			 FILE *f, client_progress_fn *cb, void *arg);
/* The same without progress. */
/* The same, passing nfds open descriptors (at most CTL_MAX_FDS) with the
 * request as SCM_RIGHTS. */
int client_call_fds(const char *root, const struct ctl_msg *req,
		    const int *fds, int nfds, FILE *f, client_progress_fn *cb,
		    void *arg);
int client_call(const char *root, const struct ctl_msg *req, FILE *f);

#endif
