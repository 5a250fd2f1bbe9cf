/*
 * Residency: pin states, hydrate and free of trees, and the cache limits.
 *
 * Cache use is known exactly only by walking the cache files, too slow to
 * do before every fetch; between two walks it is estimated as the last
 * walk's figure plus what was fetched and written since, minus what was
 * dropped. The estimate errs high (overwrites and deletes are not taken
 * off), so it never lets the cache grow past a limit: when it says
 * "over", the cache is walked again (at most once a second) before
 * anything is evicted.
 *
 * Eviction goes through the metadata's LRU index (files with local data,
 * by the time of their last close) and skips whatever is pinned, dirty or
 * in use; store_evict() decides "in use" under the node table's lock, so
 * a file cannot be opened while its data goes. One eviction runs at a
 * time (evict_lock); callers that find one running wait for it and look
 * again.
 */
#include "common.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sync/residency.h"
#include "util/log.h"
#include "util/util.h"

/* Hydration moves through a file in windows this large, one ahead. */
#define WINDOW (4u << 20)
/* Eviction makes room down to this share of --cache-max, so it does not
 * run again for every piece fetched. */
#define LOW_WATER(max) ((max) / 10 * 9)
/* Data counted in bytes costs a little more on disk (extent trees,
 * partial blocks): eviction starts this much below --cache-max. */
#define FS_RESERVE(max) ((max) / 64)
#define LRU_BATCH 64
#define RESCAN_NS 1000000000LL
/* Kept free on the cache's disk for the metadata whatever the limits:
 * a 32nd of the disk, between these bounds. */
#define HEADROOM_MIN (1ull << 20)
#define HEADROOM_MAX (64ull << 20)

struct residency {
	struct store *store;
	struct fetcher *fetcher;
	struct sync *sync;
	struct stats *stats;
	char *cache_dir;
	struct residency_config cfg;
	dev_t dev;			/* of the mount; 0: unknown */
	uint64_t headroom;		/* bytes data never takes on the
					   cache's disk: the database's */

	pthread_mutex_t lock;		/* protects the fields below */
	pthread_cond_t cond;		/* keeper: kicked or stopping */
	bool stop;
	bool kicked;
	pthread_t keeper;
	bool started;
	uint64_t scan_bytes;		/* cache use at the last walk */
	uint64_t scan_fetched;		/* counters at the last walk */
	uint64_t scan_written;
	uint64_t dropped;		/* bytes dropped since the last walk */
	uint64_t inflight;		/* admitted fetches not landed yet */
	int64_t scan_ns;		/* when (monotonic) */
	char full_reason[256];		/* why the cache is full, or "" */
	bool keep_failed;		/* keeper thread only */
	bool full_logged;

	pthread_mutex_t evict_lock;	/* one eviction at a time */
};

/* --- cache use and eviction -------------------------------------------- */

static bool limited(const struct residency *r)
{
	return r->cfg.cache_max || r->cfg.min_free;
}

/* The estimate of bytes held; under r->lock. */
static uint64_t estimate(struct residency *r)
{
	uint64_t grown = stats_get(r->stats, fetched_bytes) - r->scan_fetched +
			 stats_get(r->stats, written_bytes) - r->scan_written;
	uint64_t u = r->scan_bytes + grown + r->inflight;

	return u > r->dropped ? u - r->dropped : 0;
}

/* Walks the cache for the exact figure; under r->lock (held across the
 * walk: callers that need the figure wait for it anyway). */
static void rescan(struct residency *r)
{
	r->scan_fetched = stats_get(r->stats, fetched_bytes);
	r->scan_written = stats_get(r->stats, written_bytes);
	r->dropped = 0;
	r->scan_bytes = cache_bytes(r->store->cache);
	r->scan_ns = util_now_mono_ns();
}

static uint64_t disk_free(const struct residency *r)
{
	struct statvfs sv;

	if (statvfs(r->cache_dir, &sv) < 0)
		return UINT64_MAX;
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* How many bytes must go before extra more can land; under r->lock.
 * With exact set, an estimate over the limit is always checked by a
 * walk (else at most once a second). */
static uint64_t shortfall(struct residency *r, uint64_t extra, bool exact)
{
	uint64_t need = 0, used, avail, min_free;

	if (r->cfg.cache_max) {
		uint64_t limit = r->cfg.cache_max - FS_RESERVE(r->cfg.cache_max);

		used = estimate(r) + extra;
		if (used > limit &&
		    (exact || r->scan_ns + RESCAN_NS < util_now_mono_ns())) {
			rescan(r);
			used = estimate(r) + extra;
		}
		if (used > limit)
			need = used - LOW_WATER(r->cfg.cache_max);
	}
	min_free = CD_MAX(r->cfg.min_free, r->headroom);
	avail = disk_free(r);
	extra += r->inflight;	/* admitted, not on the disk yet */
	if (avail < min_free + extra)
		need = CD_MAX(need, min_free + extra - avail + min_free / 10);
	return need;
}

/* Evicts least recently used files until need bytes went; returns the
 * bytes freed. */
static uint64_t evict(struct residency *r, uint64_t need)
{
	struct meta_lru c[LRU_BATCH];
	int64_t at = INT64_MIN;
	uint64_t after = 0, freed = 0, bytes;
	int n, i;

	while (freed < need) {
		n = meta_lru(r->store->meta, at, after, c, LRU_BATCH);
		if (n <= 0)
			break;
		for (i = 0; i < n && freed < need; i++) {
			at = c[i].atime_ns;
			after = c[i].ino;
			if (meta_pinned(r->store->meta, c[i].ino) ||
			    store_evict(r->store, c[i].ino, &bytes))
				continue;
			freed += bytes;
			stats_add(r->stats, evicted_bytes, bytes);
			stats_add(r->stats, evicted_files, 1);
			/* st_blocks changed; the data itself did not */
			sync_changed(r->sync, c[i].ino, false);
		}
		if (n < LRU_BATCH)
			break;
	}
	if (freed)
		log_debug("cache: evicted %llu bytes",
			  (unsigned long long)freed);
	return freed;
}

/* Makes room for extra bytes as far as eviction can; returns the bytes
 * still missing (0: there is room). */
static uint64_t make_room(struct residency *r, uint64_t extra)
{
	uint64_t need, freed;

	pthread_mutex_lock(&r->lock);
	need = shortfall(r, extra, false);
	pthread_mutex_unlock(&r->lock);
	if (!need)
		return 0;
	pthread_mutex_lock(&r->evict_lock);
	/* whoever held it may have made the room already */
	pthread_mutex_lock(&r->lock);
	need = shortfall(r, extra, false);
	pthread_mutex_unlock(&r->lock);
	if (need) {
		freed = evict(r, need);
		/* before saying no, the exact figure (deletes and overwrites
		 * are not in the estimate) */
		pthread_mutex_lock(&r->lock);
		r->dropped += freed;
		need = shortfall(r, extra, true);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&r->evict_lock);
	return need;
}

static void set_full(struct residency *r, const char *why)
{
	bool log_it;

	pthread_mutex_lock(&r->lock);
	log_it = !r->full_logged;
	r->full_logged = true;
	snprintf(r->full_reason, sizeof(r->full_reason), "%s", why);
	pthread_mutex_unlock(&r->lock);
	if (log_it)
		log_warn("cache %s: %s", r->cache_dir, why);
}

/* Data landed within the limits: the cache is not full (any more). */
static void clear_full(struct residency *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->full_logged) {
		log_info("cache %s: back under its limits", r->cache_dir);
		r->full_logged = false;
		r->full_reason[0] = '\0';
	}
	pthread_mutex_unlock(&r->lock);
}

/*
 * fetch_admit_fn: room for a piece about to be fetched, counted as taken
 * until it lands, so that fetches admitted side by side do not each see
 * the room the other is about to fill.
 */
static void admit_fetch(void *arg, uint64_t bytes, bool landed)
{
	struct residency *r = arg;
	uint64_t need;

	if (landed) {
		pthread_mutex_lock(&r->lock);
		r->inflight -= CD_MIN(r->inflight, bytes);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	pthread_mutex_lock(&r->lock);
	r->inflight += bytes;
	pthread_mutex_unlock(&r->lock);
	need = make_room(r, 0);		/* the piece is in the estimate */
	if (need)
		set_full(r, "over its limit: what is left is dirty, pinned "
			    "or in use (reads go on; writes wait for uploads)");
	else
		clear_full(r);
}

void residency_released(struct residency *r)
{
	bool over;

	pthread_mutex_lock(&r->lock);
	over = r->full_logged;
	pthread_mutex_unlock(&r->lock);
	/* the next fetch or write says whether it is full still: a write
	 * refused may not fit yet */
	if (over)
		make_room(r, 0);
}

bool residency_room_for(struct residency *r, uint64_t bytes)
{
	uint64_t need;

	pthread_mutex_lock(&r->lock);
	need = shortfall(r, bytes, false);
	pthread_mutex_unlock(&r->lock);
	return need == 0;
}

int residency_admit_write_try(struct residency *r, uint64_t bytes)
{
	/* without limits, only the database's headroom is kept */
	if (!limited(r) && disk_free(r) >= r->headroom + bytes)
		return 0;
	if (!make_room(r, bytes)) {
		clear_full(r);
		return 0;
	}
	/* only data that cannot go is left: let the uploads run, after
	 * which what they uploaded can be evicted */
	return -EAGAIN;
}

int residency_admit_write_after(struct residency *r, uint64_t bytes,
				int waited)
{
	if (waited == 0 && !make_room(r, bytes)) {
		clear_full(r);
		return 0;
	}
	stats_add(r->stats, writes_refused, 1);
	set_full(r, "full: writes get ENOSPC until uploads finish or files "
		    "are unpinned or closed");
	return -ENOSPC;
}

uint64_t residency_write_wait_ms(const struct residency *r)
{
	return r->cfg.write_wait_ms;
}

int residency_admit_write(struct residency *r, uint64_t bytes)
{
	int rc = residency_admit_write_try(r, bytes);

	if (rc != -EAGAIN)
		return rc;
	return residency_admit_write_after(
		r, bytes, sync_wait_idle(r->sync, r->cfg.write_wait_ms));
}

void residency_status(struct residency *r, struct res_status *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->lock);
	rescan(r);
	out->used = r->scan_bytes;
	out->cache_max = r->cfg.cache_max;
	out->min_free = r->cfg.min_free;
	snprintf(out->full_reason, sizeof(out->full_reason), "%s",
		 r->full_reason);
	pthread_mutex_unlock(&r->lock);
	out->disk_free = disk_free(r);
	if (!out->full_reason[0] && out->disk_free < r->headroom)
		snprintf(out->full_reason, sizeof(out->full_reason),
			 "full: its disk has %llu bytes free, less than the "
			 "%llu kept for the metadata; writes get ENOSPC and "
			 "the record of uploads waits for space",
			 (unsigned long long)out->disk_free,
			 (unsigned long long)r->headroom);
}

/* --- walking a tree ------------------------------------------------------ */

struct walk {
	uint64_t *files;		/* regular files found */
	size_t nfiles, fcap;
	uint64_t *dirs;			/* to visit */
	size_t ndirs, dcap;
	uint64_t last;			/* furthest place (pos) in the
					   last page */
};

static int walk_add(void *arg, const struct meta_entry *e)
{
	struct walk *w = arg;

	w->last = CD_MAX(w->last, e->pos);
	if (S_ISREG(e->mode)) {
		if (w->nfiles == w->fcap) {
			w->fcap = w->fcap ? w->fcap * 2 : 64;
			w->files = xrealloc(w->files,
					    w->fcap * sizeof(*w->files));
		}
		w->files[w->nfiles++] = e->ino;
	} else if (S_ISDIR(e->mode)) {
		if (w->ndirs == w->dcap) {
			w->dcap = w->dcap ? w->dcap * 2 : 16;
			w->dirs = xrealloc(w->dirs, w->dcap * sizeof(*w->dirs));
		}
		w->dirs[w->ndirs++] = e->ino;
	}
	return 0;
}

static bool stopping(struct residency *r)
{
	bool stop;

	pthread_mutex_lock(&r->lock);
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/*
 * Collects the regular files at ino (itself, or everything below it).
 * With list set, directories never listed are listed from the remote on
 * the way; without, only what the store knows is visited.
 */
static int walk_tree(struct residency *r, uint64_t ino, bool list,
		     struct walk *w)
{
	struct meta_entry e;
	int rc;

	rc = meta_get(r->store->meta, ino, &e);
	if (rc)
		return rc;
	rc = walk_add(w, &e);
	meta_entry_release(&e);
	while (!rc && w->ndirs) {
		uint64_t dir = w->dirs[--w->ndirs], after = 0;

		if (stopping(r))
			return -ECANCELED;
		if (list) {
			rc = sync_populate(r->sync, dir);
			if (rc)
				break;
		}
		do {
			w->last = after;
			rc = meta_readdir(r->store->meta, dir, after, 256,
					  walk_add, w);
			after = w->last;	/* pages are in pos order */
		} while (rc == 256);
		rc = rc < 0 ? rc : 0;
	}
	return rc;
}

static void walk_release(struct walk *w)
{
	free(w->files);
	free(w->dirs);
}

/* --- hydrate ------------------------------------------------------------- */

struct hydration {
	struct residency *r;
	res_progress_fn fn;
	void *arg;
	struct res_progress p;
	uint64_t done_before;		/* bytes_done before this file */
};

/* Hydrates one file window by window, reporting after each. */
static int hydrate_file(struct hydration *h, uint64_t ino, char **failed)
{
	struct residency *r = h->r;
	struct fetch_waiter w;
	struct node_state st;
	uint64_t base, off;
	char *path, *from = NULL;
	struct node *n;
	int rc;

	rc = store_node_get(r->store, ino, &n);
	if (rc)
		return rc == -ENOENT ? 0 : rc;	/* deleted meanwhile */
	rc = store_node_path(r->store, n, &path);
	if (!rc) {
		/* where the data is on the remote: renames may be queued */
		rc = store_node_remote_path(r->store, n, &from);
		if (rc)
			free(path);
	}
	if (rc) {
		store_node_put(r->store, n);
		return rc == -ENOENT ? 0 : rc;
	}
	h->p.path = path;
	store_node_snapshot(n, &st);
	base = st.base;
	for (off = 0; off < base && !rc; off += WINDOW) {
		uint64_t len = CD_MIN((uint64_t)WINDOW, base - off), have, now;

		if (off + len < base)
			fetch_prefetch(r->fetcher, n, from, off + len, WINDOW);
		fetch_waiter_init(&w, r->fetcher, n);
		rc = fetch_range(r->fetcher, n, from, off, len, &w);
		if (rc) {
			*failed = xstrdup(path);
			break;
		}
		/* from n, which this holds loaded (now: its base now) */
		have = store_held(r->store, ino, &now);
		h->p.bytes_done = h->done_before + have;
		if (stopping(r) || (h->fn && h->fn(h->arg, &h->p)))
			rc = -ECANCELED;
	}
	h->p.path = NULL;
	free(path);
	free(from);
	store_node_put(r->store, n);
	/* the kernel's attributes say how much is local (st_blocks) */
	sync_changed(r->sync, ino, false);
	return rc;
}

int residency_hydrate(struct residency *r, uint64_t ino, res_progress_fn fn,
		      void *arg, char **failed, uint64_t *left)
{
	struct hydration h = { r, fn, arg, { 0, 0, 0, 0, NULL }, 0 };
	struct walk w = { NULL, 0, 0, NULL, 0, 0, 0 };
	uint64_t *have;
	size_t i;
	int rc;

	*failed = NULL;
	rc = walk_tree(r, ino, true, &w);
	if (rc)
		goto out;
	have = xcalloc(w.nfiles ? w.nfiles : 1, sizeof(*have));
	h.p.files_total = w.nfiles;
	for (i = 0; i < w.nfiles; i++) {
		uint64_t base;

		have[i] = store_held(r->store, w.files[i], &base);
		h.p.bytes_total += base;
		h.p.bytes_done += have[i];
	}
	if (fn && fn(arg, &h.p))
		rc = -ECANCELED;
	for (i = 0; i < w.nfiles && !rc; i++) {
		uint64_t base;

		/* what is there already costs a look at its extents only */
		if (store_held(r->store, w.files[i], &base) < base) {
			h.done_before = h.p.bytes_done - have[i];
			rc = hydrate_file(&h, w.files[i], failed);
		}
		h.p.files_done++;
		if (!rc && fn && fn(arg, &h.p))
			rc = -ECANCELED;
	}
	free(have);
	if (!rc && left) {
		uint64_t now = 0, base;

		for (i = 0; i < w.nfiles; i++)
			now += store_held(r->store, w.files[i], &base);
		*left = h.p.bytes_total > now ? h.p.bytes_total - now : 0;
	}
out:
	walk_release(&w);
	return rc;
}

int residency_pin(struct residency *r, uint64_t ino, enum meta_pin pin)
{
	int rc = meta_set_pin(r->store->meta, ino, pin);

	if (!rc && pin == META_PIN_PINNED) {
		pthread_mutex_lock(&r->lock);
		r->kicked = true;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
	return rc;
}

/* --- free ---------------------------------------------------------------- */

/*
 * Whether a process maps inode ino of the mount: /proc/PID/maps names
 * the device and inode of every file mapping. Fills who with "name (pid
 * N)" of the first one found.
 */
static bool mapped(struct residency *r, uint64_t ino, char *who, size_t size)
{
	char dev[32], path[300], line[512];
	struct dirent *d;
	bool found = false;
	DIR *proc;

	if (!r->dev)
		return false;
	snprintf(dev, sizeof(dev), "%02x:%02x", major(r->dev), minor(r->dev));
	proc = opendir("/proc");
	if (!proc)
		return false;
	while (!found && (d = readdir(proc))) {
		FILE *f;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", d->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof(line), f)) {
			char mdev[32];
			unsigned long long mino;

			if (sscanf(line, "%*s %*s %*s %31s %llu", mdev,
				   &mino) == 2 &&
			    mino == ino && strcmp(mdev, dev) == 0)
				found = true;
		}
		fclose(f);
		if (found) {
			char comm[64];
			uint64_t pid = 0;

			if (util_parse_u64(d->d_name, &pid))
				pid = 0;
			util_proc_line((pid_t)pid, "comm", comm, sizeof(comm));
			snprintf(who, size, "%s (pid %.16s)", *comm ? comm : "?",
				 d->d_name);
		}
	}
	closedir(proc);
	return found;
}

/* What keeps ino's data, or NULL if it may go; why gets details. */
static const char *keeper_of(struct residency *r, uint64_t ino, char *why,
			     size_t size)
{
	struct meta_entry e;
	const char *reason = NULL;
	struct node *n;

	*why = '\0';
	if (meta_get(r->store->meta, ino, &e))
		return NULL;	/* gone meanwhile: nothing to free */
	meta_entry_release(&e);
	if (meta_pinned(r->store->meta, ino))
		return "pinned (unpin it first)";
	if (e.error)
		return "its last upload failed (see clonedrive status)";
	if (e.dirty || !e.etag[0])
		return "not uploaded yet (run clonedrive sync)";
	n = store_node_find(r->store, ino);
	if (n) {
		struct node_state st;
		int fast, fast_writers, cached;

		store_node_snapshot(n, &st);
		store_node_fast_count(n, &fast, &fast_writers, &cached);
		if (st.dirty || st.uploading || !st.etag[0])
			reason = "not uploaded yet (run clonedrive sync)";
		else if (st.writers > 0)
			reason = "open for writing";
		store_node_put(r->store, n);
		if (!reason && mapped(r, ino, why, size))
			reason = "mapped by";
		else if (!reason && fast > 0)
			reason = "open on the fast path (passthrough)";
	}
	return reason;
}

/* Frees one file; returns the bytes freed, or -errno. */
static int64_t free_file(struct residency *r, uint64_t ino)
{
	uint64_t bytes = 0;
	struct node *n;
	int rc;

	rc = store_evict(r->store, ino, &bytes);
	if (rc == -EBUSY) {
		/* open: drop what it holds and keep it a placeholder */
		n = store_node_find(r->store, ino);
		if (!n) {
			rc = store_evict(r->store, ino, &bytes);
		} else {
			rc = store_node_drop(r->store, n, &bytes);
			store_node_put(r->store, n);
		}
	}
	if (rc)
		return rc;
	sync_changed(r->sync, ino, false);
	return (int64_t)bytes;
}

#define KEPT_LIST_MAX 50

int residency_free_tree(struct residency *r, uint64_t ino, char **report)
{
	struct walk w = { NULL, 0, 0, NULL, 0, 0, 0 };
	struct textbuf kept = { xstrdup(""), 0 };
	uint64_t freed = 0, nfreed = 0, nkept = 0;
	char why[128], size[32];
	size_t i;
	int rc;

	/* only what the store knows: a directory never listed holds
	 * nothing locally */
	rc = walk_tree(r, ino, false, &w);
	for (i = 0; i < w.nfiles && !rc; i++) {
		uint64_t id = w.files[i], base;
		const char *reason;
		char *path = NULL;
		int64_t got;

		if (!store_held(r->store, id, &base) && !cache_file_bytes(r->store->cache,
							      id))
			continue;	/* a placeholder already */
		reason = keeper_of(r, id, why, sizeof(why));
		got = reason ? -EBUSY : free_file(r, id);
		if (got >= 0) {
			freed += (uint64_t)got;
			nfreed++;
			continue;
		}
		if (!reason)
			reason = "in use (try again)";
		if (nkept++ < KEPT_LIST_MAX) {
			if (meta_path(r->store->meta, id, &path))
				path = xasprintf("inode %llu",
						 (unsigned long long)id);
			textbuf_add(&kept, "  %s: %s%s%s\n", *path ? path : "/",
				 reason, *why ? " " : "", why);
			free(path);
		}
	}
	walk_release(&w);
	stats_add(r->stats, freed_bytes, freed);
	pthread_mutex_lock(&r->lock);
	r->dropped += freed;
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		free(kept.s);
		*report = NULL;
		return rc;
	}
	util_human_size(freed, size, sizeof(size));
	*report = xasprintf("freed %s (%llu file%s)\n%s%s%s", size,
			    (unsigned long long)nfreed, nfreed == 1 ? "" : "s",
			    nkept ? "kept:\n" : "", kept.s,
			    nkept > KEPT_LIST_MAX ? "  ...\n" : "");
	free(kept.s);
	return nkept ? -EBUSY : 0;
}

/* --- the keeper of pinned trees ------------------------------------------ */

static int keep_pinned(void *arg, uint64_t ino)
{
	struct residency *r = arg;
	char *failed = NULL;
	int rc;

	if (stopping(r))
		return -ECANCELED;
	rc = residency_hydrate(r, ino, NULL, NULL, &failed, NULL);
	if (rc && rc != -ECANCELED) {
		log_warn("pinned %s: cannot hydrate: %s (tried again later)",
			 failed ? failed : "tree", strerror(-rc));
		r->keep_failed = true;	/* the keeper's own field */
	}
	free(failed);
	return rc == -ECANCELED ? rc : 0;
}

/*
 * Pinned trees are walked when something may have left them incomplete:
 * at start, when a pin is set, after listings brought remote changes (a
 * new file, or a changed one whose data was dropped), and again an
 * interval after a walk that failed; otherwise a check every interval
 * costs one counter read.
 */
static void *keeper_thread(void *arg)
{
	struct residency *r = arg;
	uint64_t seen = 0;
	bool retry = false;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		int64_t deadline = util_now_ns() +
				   (int64_t)r->cfg.keep_interval_ms * 1000000;
		struct timespec ts = { deadline / 1000000000,
				       deadline % 1000000000 };
		uint64_t changes;

		while (!r->stop && !r->kicked &&
		       pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0)
			;
		if (r->stop)
			break;
		changes = stats_get(r->stats, remote_changes);
		retry = retry || r->kicked || changes != seen;
		r->kicked = false;
		if (!retry || stats_get(r->stats, remote_down))
			continue;	/* nothing new, or wait for the remote */
		retry = false;
		seen = changes;
		r->keep_failed = false;
		pthread_mutex_unlock(&r->lock);
		if (meta_foreach_pinned(r->store->meta, keep_pinned, r) &&
		    !stopping(r))
			log_warn("pinned trees: cannot list them");
		pthread_mutex_lock(&r->lock);
		retry = r->keep_failed;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* --- life cycle ---------------------------------------------------------- */

/*
 * What data must leave free on the cache's disk whatever the limits, so
 * that the database can always record what happens (a write refused, an
 * upload done): without it a full disk failed every commit, and the
 * journal retried its uploads in a loop it could not record.
 */
static uint64_t headroom_of(const char *dir)
{
	struct statvfs sv;
	uint64_t total;

	if (statvfs(dir, &sv) < 0)
		return HEADROOM_MIN;
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	return CD_MIN(CD_MAX(total / 32, HEADROOM_MIN), HEADROOM_MAX);
}

struct residency *residency_new(struct store *s, struct fetcher *f,
				struct sync *y, struct stats *st,
				const char *cache_dir,
				const struct residency_config *cfg)
{
	struct residency *r = xcalloc(1, sizeof(*r));

	r->store = s;
	r->fetcher = f;
	r->sync = y;
	r->stats = st;
	r->cache_dir = xstrdup(cache_dir);
	r->cfg = *cfg;
	r->headroom = headroom_of(cache_dir);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_mutex_init(&r->evict_lock, NULL);
	/* the estimate serves the limits only (status walks the cache
	 * itself): a mount without limits does not walk it at start;
	 * and the hook goes in before any fetch is queued, whose lock
	 * orders it */
	if (limited(r))
		rescan(r);
	fetch_set_admit(f, admit_fetch, r);
	return r;
}

int residency_start(struct residency *r)
{
	r->kicked = true;	/* the first walk right away */
	if (pthread_create(&r->keeper, NULL, keeper_thread, r))
		return -EAGAIN;
	r->started = true;
	return 0;
}

void residency_stop(struct residency *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->started)
		pthread_join(r->keeper, NULL);
	r->started = false;
}

void residency_free(struct residency *r)
{
	if (!r)
		return;
	residency_stop(r);
	pthread_mutex_destroy(&r->evict_lock);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->cache_dir);
	free(r);
}

void residency_set_mount_dev(struct residency *r, dev_t dev)
{
	r->dev = dev;
}
