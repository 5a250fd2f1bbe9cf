/*
 * The registry of transfers in flight: a short list under one lock (a
 * mount has at most a few dozen transfers at once: the fetch threads'
 * files and the upload in progress).
 */
#include "common.h"

#include "util/util.h"
#include "util/xfer.h"

void xfers_init(struct xfers *x)
{
	pthread_mutex_init(&x->lock, NULL);
	x->list = NULL;
}

void xfers_release(struct xfers *x)
{
	struct xfer *t;

	while ((t = x->list)) {
		x->list = t->next;
		free(t->path);
		free(t);
	}
	pthread_mutex_destroy(&x->lock);
}

struct xfer *xfer_begin(struct xfers *x, enum xfer_kind kind, uint64_t ino,
			const char *path, uint64_t total, uint64_t done)
{
	struct xfer *t;

	pthread_mutex_lock(&x->lock);
	for (t = x->list; t; t = t->next)
		if (t->kind == kind && t->ino == ino)
			break;
	if (!t) {
		t = xcalloc(1, sizeof(*t));
		t->kind = kind;
		t->ino = ino;
		t->path = xstrdup(path);
		t->total = total;
		t->base_done = CD_MIN(done, total);
		t->start_ns = util_now_mono_ns();
		t->next = x->list;
		x->list = t;
	}
	t->users++;
	pthread_mutex_unlock(&x->lock);
	return t;
}

void xfer_end(struct xfers *x, struct xfer *t)
{
	struct xfer **pp;

	pthread_mutex_lock(&x->lock);
	if (--t->users == 0) {
		for (pp = &x->list; *pp != t; pp = &(*pp)->next)
			;
		*pp = t->next;
		free(t->path);
		free(t);
	}
	pthread_mutex_unlock(&x->lock);
}

size_t xfers_list(struct xfers *x, uint64_t ino, struct xfer_info *out,
		  size_t max)
{
	int64_t now = util_now_mono_ns();
	struct xfer *t;
	size_t n = 0;

	pthread_mutex_lock(&x->lock);
	for (t = x->list; t; t = t->next) {
		uint64_t moved = __atomic_load_n(&t->moved, __ATOMIC_RELAXED);
		int64_t ns = now - t->start_ns;

		if (ino && t->ino != ino)
			continue;
		if (n < max) {
			struct xfer_info *i = &out[n];

			i->kind = t->kind;
			i->ino = t->ino;
			snprintf(i->path, sizeof(i->path), "%s", t->path);
			i->total = t->total;
			i->done = t->base_done + moved;
			if (t->kind != XFER_RENAME)	/* a total known */
				i->done = CD_MIN(i->done, t->total);
			i->rate = ns > 0 ? (uint64_t)((double)moved * 1e9 /
						      (double)ns)
					 : 0;
		}
		n++;
	}
	pthread_mutex_unlock(&x->lock);
	return n;
}

const char *xfer_kind_name(enum xfer_kind kind)
{
	static const char *const names[XFER_KINDS] = {
		[XFER_HYDRATE] = "hydrating",
		[XFER_UPLOAD] = "uploading",
		[XFER_RENAME] = "renaming",
	};

	return kind < XFER_KINDS ? names[kind] : "?";
}
