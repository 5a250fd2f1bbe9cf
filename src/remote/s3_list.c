/*
 * The S3 backend's listing of a directory: ListObjectsV2 with delimiter
 * '/' under the directory's key prefix, page by page, each page parsed
 * whole (s3_xml.c) before any of it is handed on.
 *
 * S3 gives a page's files first, then its common prefixes; each page is
 * sorted into one order, so that a file and a directory of the same name
 * meet. A file is held back until the listing is past the place where a
 * directory of its name would sort, and dropped (the directory is shown)
 * if one comes. Keys that cannot be POSIX names are skipped, with one
 * log line per key however often the directory is listed (it is, at
 * every poll). Memory holds a page and the files held back, never the
 * whole directory.
 */
#include "common.h"

#include <pthread.h>
#include <sys/stat.h>

#include "remote/remote.h"
#include "remote/s3_int.h"
#include "util/log.h"
#include "util/util.h"

/* One ListObjectsV2 page of prefix; the parsed page's items go to fn. */
int s3_list_page(struct s3 *s, const char *prefix, const char *delim,
		 int max_keys, const char *token, s3_list_fn fn,
		 void *arg, bool *more, char **next, const char *what)
{
	struct textbuf qs = { 0 };
	struct s3_req q;
	char *enc;
	int rc;

	textbuf_add(&qs, "list-type=2&encoding-type=url");
	if (token) {
		enc = s3_uri_encode(token, false);
		textbuf_add(&qs, "&continuation-token=%s", enc);
		free(enc);
	}
	if (delim)
		textbuf_add(&qs, "&delimiter=%%2F");
	if (max_keys > 0)
		textbuf_add(&qs, "&max-keys=%d", max_keys);
	enc = s3_uri_encode(prefix, false);
	textbuf_add(&qs, "&prefix=%s", enc);
	free(enc);

	s3_req_init(&q, "GET", NULL, what);
	q.query = qs.s;
	rc = s3_call(s, &q);
	if (!rc) {
		rc = s3_xml_list(q.text ? q.text : "", q.text_len, fn, arg,
				 more, next);
		if (rc == -EPROTO)
			log_warn("s3: listing %s: the answer is not a listing",
				 *what ? what : "/");
	}
	s3_req_release(&q);
	free(qs.s);
	return rc;
}

/* A page's items, owned, to be sorted into one order with the
 * directories (S3 gives the files first, then the prefixes). */
struct item {
	char *name;
	bool dir;
	struct remote_attr a;
};

struct lister {
	struct s3 *s;
	const char *prefix;		/* of the directory's keys */
	size_t plen;
	const char *what;		/* the directory, for messages */
	struct item *v;			/* the page */
	size_t n, cap;
	struct item *held;		/* files that a directory of the same
					   name could still hide */
	size_t nheld, capheld;
	remote_list_fn fn;
	void *arg;
};

static int page_item(void *arg, const struct s3_list_item *it)
{
	struct lister *l = arg;
	const char *name;
	struct item *x;
	size_t len;

	if (strncmp(it->key, l->prefix, l->plen) != 0)
		return 0;	/* not asked for */
	name = it->key + l->plen;
	len = strlen(name);
	if (it->is_prefix || (len > 0 && name[len - 1] == '/')) {
		/* a directory: "name/" */
		if (len == 0)
			return 0;
		len--;
	} else if (len == 0) {
		return 0;	/* the directory's own marker */
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	x = &l->v[l->n++];
	memset(x, 0, sizeof(*x));
	x->name = xstrndup(name, len);
	x->dir = it->is_prefix || name[len] == '/';
	if (x->dir) {
		s3_dir_attr(&x->a);
	} else {
		x->a.mode = S3_FILE_MODE;
		x->a.size = it->size;
		x->a.mtime_ns = it->mtime_ns;
		x->a.approx = true;
		snprintf(x->a.etag, sizeof(x->a.etag), "%s",
			 it->etag ? it->etag : "");
	}
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* "a" (file) before "a/" (directory), as S3 orders the keys */
	return c ? c : (int)x->dir - (int)y->dir;
}

/*
 * Whether this is the first warning about key: a listing is repeated at
 * every poll, its log lines are not. A fixed table of hashes: at worst,
 * after many odd keys, one is warned about twice.
 */
static bool first_warning(struct s3 *s, const char *key)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;
	bool first;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	h |= 1;		/* 0 is an empty slot */
	i = (size_t)(h % S3_WARNED);
	pthread_mutex_lock(&s->pool_lock);
	first = s->warned[i] != h;
	s->warned[i] = h;
	pthread_mutex_unlock(&s->pool_lock);
	return first;
}

static int emit(struct lister *l, struct item *x)
{
	int rc;

	if (!remote_name_ok(x->name)) {
		char *key = xasprintf("%s%s%s", l->prefix, x->name,
				      x->dir ? "/" : "");

		if (first_warning(l->s, key))
			log_warn("s3: %s: the key%s \"%s\" cannot be a file "
				 "name here; %s not shown", l->what,
				 x->dir ? "s under" : "", key,
				 x->dir ? "they are" : "it is");
		free(key);
		return 0;
	}
	rc = l->fn(l->arg, x->name, &x->a);
	return rc;
}

/*
 * Hands on the held files that no directory can hide any more: all of
 * them at the end (next NULL), else those whose "name/" sorts before
 * next (the listing is past the point where that directory would be).
 * A file whose directory twin is next is dropped, with a log line.
 */
static int release_held(struct lister *l, const struct item *next)
{
	size_t i = 0, keep = 0;
	int rc = 0;

	for (i = 0; i < l->nheld; i++) {
		struct item *h = &l->held[i];
		size_t hl = strlen(h->name);
		bool gone = !next, twin = false;

		if (next && strncmp(next->name, h->name, hl) == 0 &&
		    next->name[hl] == '\0' && next->dir)
			twin = true;
		else if (next) {
			char *slashed = xasprintf("%s/", h->name);

			gone = strcmp(slashed, next->name) < 0;
			free(slashed);
		}
		if (twin) {
			char *key = xasprintf("%s%s", l->prefix, h->name);

			if (first_warning(l->s, key))
				log_warn("s3: %s: the file \"%s\" has the name "
					 "of a directory; only the directory "
					 "is shown", l->what, key);
			free(key);
			free(h->name);
		} else if (gone) {
			if (!rc)
				rc = emit(l, h);
			free(h->name);
		} else {
			l->held[keep++] = *h;
		}
	}
	l->nheld = keep;
	return rc;
}

/* Sorts the page and hands it on. */
static int flush_page(struct lister *l)
{
	size_t i;
	int rc = 0;

	if (l->n)	/* an empty page has no array at all */
		qsort(l->v, l->n, sizeof(*l->v), cmp_item);
	for (i = 0; i < l->n; i++) {
		struct item *x = &l->v[i];

		if (!rc)
			rc = release_held(l, x);
		if (rc || !x->dir) {
			if (rc) {
				free(x->name);
				continue;
			}
			/* a file waits until its directory twin cannot come */
			if (l->nheld == l->capheld) {
				l->capheld = l->capheld ? 2 * l->capheld : 8;
				l->held = xrealloc(l->held, l->capheld *
							    sizeof(*l->held));
			}
			l->held[l->nheld++] = *x;
			continue;
		}
		rc = emit(l, x);
		free(x->name);
	}
	l->n = 0;
	return rc;
}

int s3_list(struct remote *r, const char *dir, remote_list_fn fn,
	    void *arg)
{
	struct s3 *s = to_s3(r);
	struct lister l = { 0 };
	char *prefix = s3_dir_prefix(s, dir), *token = NULL, *next = NULL;
	bool more = true, any = !*dir;
	size_t i;
	int rc = 0;

	l.s = s;
	l.prefix = prefix;
	l.plen = strlen(prefix);
	l.what = *dir ? dir : "/";
	l.fn = fn;
	l.arg = arg;
	while (more && !rc) {
		rc = s3_list_page(s, prefix, "/", 0, token, page_item, &l,
				  &more, &next, l.what);
		free(token);
		token = next;
		next = NULL;
		if (!rc) {
			any = any || l.n > 0;
			rc = flush_page(&l);
		}
	}
	if (!rc)
		rc = release_held(&l, NULL);
	for (i = 0; i < l.n; i++)
		free(l.v[i].name);
	for (i = 0; i < l.nheld; i++)
		free(l.held[i].name);
	free(l.v);
	free(l.held);
	free(token);
	/* an empty answer for a directory that is not there at all */
	if (!rc && !any) {
		struct remote_attr a;

		rc = r->ops->stat(r, dir, &a);
		if (!rc && !S_ISDIR(a.mode))
			rc = -ENOTDIR;
	}
	free(prefix);
	return rc;
}
