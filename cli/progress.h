/*
 * Showing the progress of a long operation (pin, hydrate, sync, the
 * upload of a file clonedrive cp made) on stderr: on a terminal, one
 * line redrawn in place with a bar, the rate and the time left; otherwise
 * a plain line now and then, for logs.
 */
#ifndef CD_PROGRESS_H
#define CD_PROGRESS_H

#include "common.h"

#include "ctl_client.h"

struct progress;

/* A display for one operation, named label in plain lines ("pin"). */
struct progress *progress_new(const char *label);
/* A client_progress_fn: arg is the display. NULL p finishes it. */
void progress_cb(const struct client_progress *p, void *arg);
/* Clears the bar (terminal) or prints the last state not yet printed
 * (plain lines), and puts SIGINT back. Once is enough; again is a
 * no-op. */
void progress_finish(struct progress *pr);
/* Finishes pr leaving its last state in view: on a terminal the bar is
 * drawn once more, with the last file named, and stays as a line of its
 * own; plain lines end as with progress_finish. NULL is fine. */
void progress_done(struct progress *pr);
/* Finishes pr if need be, and frees it. NULL is fine. */
void progress_free(struct progress *pr);

#endif
