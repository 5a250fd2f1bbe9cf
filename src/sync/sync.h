/*
 * The sync engine: background workers between the local store and the
 * remote.
 *   - the journal worker performs queued remote operations (uploads,
 *     mkdir, rename, ...) strictly in order, retrying transient failures
 *     with backoff; it resumes from the journal after a crash;
 *   - the poller re-lists the directories the mount has seen, every poll
 *     interval, and brings remote changes into the store;
 *   - sync_populate() lists a directory on first use.
 * The engine tells the front end what changed through sync_notify, so the
 * kernel's caches can be dropped; it never does I/O on the mount.
 */
#ifndef CD_SYNC_H
#define CD_SYNC_H

#include "common.h"

#include "remote/remote.h"
#include "store/store.h"
#include "sync/fetch.h"
#include "util/stats.h"

/* How the engine tells the front end what changed on the remote. */
struct sync_notify {
	/* name in parent appeared, disappeared or changed type */
	void (*entry)(void *arg, uint64_t parent, const char *name);
	/* ino's attributes changed; with data, its contents too */
	void (*inode)(void *arg, uint64_t ino, bool data);
	void *arg;
};

struct sync_config {
	uint64_t poll_interval_ms;	/* between two polls of the remote */
	uint64_t upload_delay_ms;	/* debounce after the last close */
};

struct sync;

struct sync *sync_new(struct store *s, struct remote *r, struct fetcher *f,
		      struct stats *st, struct xfers *x,
		      const struct sync_config *cfg);
/* Starts the workers, after queueing uploads of dirty files that a crash
 * left without one. */
int sync_start(struct sync *y, const struct sync_notify *notify) CD_WUR;
/* Stops the journal worker and the poller; what is queued stays in the
 * journal. Files whose last close is still being saved keep being saved
 * until sync_free(), so stop the fetch pool between the two. */
void sync_stop(struct sync *y);
/* Saves what is left to save and frees. */
void sync_free(struct sync *y);

/* Whether ino needs no listing from the remote before its entries are
 * known (listed, or not a directory). */
bool sync_listed(struct sync *y, uint64_t ino);
/* Lists directory ino from the remote if that was never done. */
int sync_populate(struct sync *y, uint64_t ino) CD_WUR;
/* Queues the upload of file ino after the debounce delay. */
int sync_queue_upload(struct sync *y, uint64_t ino) CD_WUR;
/* Tells the front end that ino's attributes (and, with data, its
 * contents) changed, so the kernel drops what it cached. */
void sync_changed(struct sync *y, uint64_t ino, bool data);
/* Tells the front end that name in parent appeared or went. */
void sync_changed_entry(struct sync *y, uint64_t parent, const char *name);
/* A writer's close (+1) and the release that follows it (-1): a sync
 * waits a moment for the releases of files just closed, which queue
 * their uploads. */
void sync_closing(struct sync *y, int delta);
/* Wakes the journal worker (something was queued). */
void sync_kick(struct sync *y);
/* Polls the remote now. */
void sync_refresh(struct sync *y);
/* Polls the remote now and waits until a poll that began after the call
 * has ended (one that finds local changes pending lists nothing): 0, or
 * -ETIMEDOUT. */
int sync_poll_wait(struct sync *y, uint64_t timeout_ms) CD_WUR;
/* Waits until the journal is empty: 0, or -ETIMEDOUT. Skips the debounce
 * delay of queued uploads. */
int sync_wait_idle(struct sync *y, uint64_t timeout_ms) CD_WUR;
/* What sync_wait_idle waits for, without waiting: 0 when the journal is
 * empty and nothing runs, else -EAGAIN; since_ns (monotonic): when the
 * wait began, to allow files just closed a moment for their releases. */
int sync_idle(struct sync *y, int64_t since_ns) CD_WUR;
/* A waiter for idle comes (1) or goes (-1): while any waits, queued
 * uploads skip their debounce delay. */
void sync_hurry(struct sync *y, int delta);
/*
 * Remote ops the journal gave up for a permanent error (each logged with
 * its cause; the file or directory it was for is in error): how many
 * since the start. take: how many since its previous call, and *report
 * (caller frees; NULL when none) the last of them, one "  op path:
 * error" line each.
 */
uint64_t sync_dropped(struct sync *y);
uint64_t sync_take_dropped(struct sync *y, char **report);
/* "upload", "rename", ... for messages. */
const char *sync_op_name(enum jop_kind k);
/* Remote path of entry ino as the remote knows it once the journal is
 * done (the local path); caller frees. */
int sync_path(struct sync *y, uint64_t ino, char **path) CD_WUR;

#endif
