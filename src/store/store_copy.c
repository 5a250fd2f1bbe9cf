/*
 * The store's part of copy-as-clone (the clone filter, clonedrive cp):
 * how a copy of a local file gets its bytes without the store writing
 * them, and what marks a file as such a copy until it is uploaded.
 *
 * - Reflinked ranges (store_clone_range): the source's bytes are cloned
 *   into the cache file (FICLONERANGE) and are then the file's, as if
 *   written.
 * - Backings (struct backing): bytes acknowledged but kept in the local
 *   source, read through its descriptor, until the file is uploaded
 *   (unback: it is a placeholder then) or the bytes are copied into the
 *   cache and checked against the hash of what was written
 *   (materialize). The node holds a reference to its backing, and the
 *   backing one to the node. Materializing runs under the node's lock, so
 *   that no read sees a half-copied range.
 * - The marks of a copy: the spool mark (its data goes once uploaded) and
 *   the clone record flags (a clones row exists, meta_clone_*; it says the
 *   bytes are in a source that is gone or changed, so reads fail).
 *
 * - The upload of a copy (store_copy_upload_*): the bytes go up from its
 *   source (or the cache), checked first against the hash of what the
 *   program wrote, and the source checked to have held still while it was
 *   read; after it the backing ends, the record goes, and a spooled copy
 *   drops its local data (store_copy_drop_spooled). The sync engine calls
 *   these around its upload and decides nothing about copies itself.
 *
 * A copy stops being one when a program writes or truncates it (the
 * store proper materializes it and forgets the clone). One whose last
 * name goes lets its source go and drops its record as soon as no handle
 * has it open (at the removal or at the last close), rather than keep
 * them until an upload that will not happen.
 *
 * A node's state is touched here only under its lock (store_node_lock);
 * a backing's reference count is atomic. The lock order is the store's
 * (store.c).
 */
#include "common.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/util.h"

int store_clone_range(struct store *s, struct node *n, int src, uint64_t off,
		      size_t len)
{
	struct file_clone_range r = {
		.src_fd = src, .src_offset = off, .src_length = len,
		.dest_offset = off,
	};
	bool first = false;
	int rc = 0;

	store_node_lock(n);
	if (ioctl(n->fd, FICLONERANGE, &r) < 0)
		rc = -errno;
	else
		first = store_note_write(n, off + len);
	store_node_unlock(n);
	if (rc)
		return rc;
	return first ? store_node_commit(s, n) : 0;
}

void store_node_back(struct store *s, struct node *n, struct backing *bk)
{
	store_node_ref(n);		/* the backing's, until it ends */
	store_node_lock(n);
	n->bk = bk;
	n->clone_lost = false;
	store_node_unlock(n);
}

int store_node_ack(struct store *s, struct node *n, const void *data,
		   size_t len)
{
	bool first;
	int rc = 0;

	store_node_lock(n);
	if (!n->bk) {
		store_node_unlock(n);
		return -ESTALE;
	}
	/* the cache file keeps the size, holding no block of it */
	if (ftruncate(n->fd, (off_t)(n->bk->len + len)) < 0) {
		rc = -errno;
		store_node_unlock(n);
		return rc;
	}
	/* hashed with the length that counts it: a record taken between
	 * the two would hold a hash of other bytes than it counts */
	if (data && !n->bk->closed)
		hash_update(n->bk->hash, data, len);
	n->bk->len += len;
	first = store_note_write(n, n->bk->len);
	store_node_unlock(n);
	return first ? store_node_commit(s, n) : 0;
}

uint64_t store_backing_state(struct node *n, struct backing *bk,
			     unsigned char hash[HASH_LEN])
{
	uint64_t len;

	store_node_lock(n);
	len = bk->len;
	if (bk->closed)
		memcpy(hash, bk->digest, HASH_LEN);
	else
		hash_peek(bk->hash, hash);
	store_node_unlock(n);
	return len;
}

struct backing *store_backing_get(struct node *n)
{
	struct backing *bk;

	store_node_lock(n);
	bk = n->bk;
	if (bk)
		__atomic_add_fetch(&bk->refs, 1, __ATOMIC_RELAXED);
	store_node_unlock(n);
	return bk;
}

uint64_t backing_len(struct node *n, const struct backing *bk)
{
	uint64_t len;

	store_node_lock(n);
	len = bk->len;
	store_node_unlock(n);
	return len;
}

bool store_backing_close(struct node *n, struct backing *bk)
{
	struct stat st;
	bool whole;

	store_node_lock(n);
	whole = n->writers == 0 && fstat(bk->fd, &st) == 0 &&
		(uint64_t)st.st_size == bk->len;
	if (whole) {
		bk->closed = true;
		bk->writer = 0;
		hash_peek(bk->hash, bk->digest);
	}
	store_node_unlock(n);
	return whole;
}

void store_backing_put(struct backing *bk)
{
	if (!bk || __atomic_sub_fetch(&bk->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (bk->on_release)
		bk->on_release(bk->release_arg, bk);
	close(bk->fd);
	hash_free(bk->hash);
	free(bk->source);
	free(bk);
}

/* Detaches the backing from n; under n->lock. The caller then drops
 * the node's reference to it and the backing's to the node. */
static struct backing *detach(struct node *n)
{
	struct backing *bk = n->bk;

	store_node_assert_locked(n);
	n->bk = NULL;
	if (bk)
		__atomic_store_n(&bk->materialized, true, __ATOMIC_RELEASE);
	return bk;
}

int store_node_materialize(struct store *s, struct node *n, int fd)
{
	unsigned char want[HASH_LEN], got[HASH_LEN];
	struct meta_clone c;
	struct backing *bk;
	bool rec;
	int rc;

	store_node_lock(n);
	bk = n->bk;
	if (!bk) {
		store_node_unlock(n);
		return 0;
	}
	/* under the lock, so no read of the file sees a half-copied range
	 * (they read the source until the backing is gone) */
	if (bk->closed)
		memcpy(want, bk->digest, HASH_LEN);
	else
		hash_peek(bk->hash, want);
	rc = hash_fd(fd >= 0 ? fd : bk->fd, bk->len, n->fd, want, got);
	if (!rc && memcmp(want, got, HASH_LEN) != 0)
		rc = -EILSEQ;
	if (!rc && fdatasync(n->fd) < 0)
		rc = -errno;
	if (rc == -EILSEQ || rc == -ENODATA) {
		/* what was written cannot be had any more: say so, never
		 * upload other bytes in its place */
		log_error("inode %llu: the source %s changed before its copy "
			  "was stored; the copy is in error",
			  (unsigned long long)n->ino, bk->source);
		n->error = true;
		n->clone_lost = true;
		rc = -EILSEQ;
	} else if (rc) {
		log_error("inode %llu: cannot copy %s into the cache: %s",
			  (unsigned long long)n->ino, bk->source,
			  strerror(-rc));
		store_node_unlock(n);
		return rc;		/* still backed: nothing is lost */
	}
	if (!rc)
		__atomic_add_fetch(&s->materialized_bytes, bk->len,
				   __ATOMIC_RELAXED);
	detach(n);
	rec = n->clone_rec;
	store_node_unlock(n);
	/* the row now says the bytes are here (or that they are lost) */
	if (rec && !meta_clone_get(s->meta, n->ino, &c)) {
		c.backed = rc != 0;
		if (meta_clone_put(s->meta, &c))
			log_warn("inode %llu: cannot record its copy as stored",
				 (unsigned long long)n->ino);
		meta_clone_release(&c);
	}
	if (rc && store_node_commit(s, n))
		log_warn("inode %llu: cannot record its error",
			 (unsigned long long)n->ino);
	store_backing_put(bk);
	store_node_put(s, n);
	return rc;
}

void store_node_unback(struct store *s, struct node *n)
{
	struct backing *bk;

	store_node_lock(n);
	bk = detach(n);
	store_node_unlock(n);
	if (!bk)
		return;
	store_backing_put(bk);
	store_node_put(s, n);
}

int store_node_copied(struct store *s, struct node *n, uint64_t size)
{
	store_node_lock(n);
	n->size = size;
	n->mtime_ns = n->ctime_ns = util_now_ns();
	n->write_gen++;
	n->dirty = true;
	n->free_after_upload = true;
	store_node_unlock(n);
	return store_node_commit(s, n);
}

void store_node_mark_spool(struct node *n)
{
	store_node_lock(n);
	n->free_after_upload = true;
	store_node_unlock(n);
}

void store_node_plan_copy(struct node *n, uint64_t src, const char *etag)
{
	bool held;

	store_node_lock(n);
	held = n->plan_src != 0;
	n->plan_src = src;
	snprintf(n->plan_etag, sizeof(n->plan_etag), "%s", etag);
	n->plan_gen = n->write_gen;
	store_node_unlock(n);
	/* the plan lives in the node: kept in memory until its upload */
	if (!held)
		store_node_ref(n);
}

void store_node_copy_started(struct node *n)
{
	store_node_lock(n);
	n->copies_from++;
	store_node_unlock(n);
}

bool store_node_copy_ended(struct node *n, bool copied)
{
	bool drop = false;

	store_node_lock(n);
	n->copies_from--;
	if (copied && n->openers == 0 && n->drop_wanted)
		drop = true;
	else if (copied && n->openers > 0)
		n->copied_out = true;
	if (drop || n->copies_from == 0)
		n->drop_wanted = false;
	store_node_unlock(n);
	return drop;
}

bool store_node_reader_gone(struct node *n)
{
	bool drop = false;

	store_node_lock(n);
	if (n->openers == 0) {
		drop = n->copied_out;
		n->copied_out = false;
		n->drop_wanted = !drop && n->copies_from > 0;
	}
	store_node_unlock(n);
	return drop;
}

void store_node_plan_end(struct store *s, struct node *n)
{
	bool held;

	store_node_lock(n);
	held = n->plan_src != 0;
	n->plan_src = 0;
	store_node_unlock(n);
	if (held)
		store_node_put(s, n);
}

void store_drop_plans(struct store *s)
{
	struct node *n, *held;
	size_t i;

	/* one at a time: a plan's end may free its node, which needs the
	 * table's lock */
	do {
		held = NULL;
		/* the table's lock, then a node's: the order store.c states */
		pthread_mutex_lock(&s->nodes_lock);
		for (i = 0; i < s->buckets && !held; i++) {
			for (n = s->table[i]; n && !held; n = n->next) {
				store_node_lock(n);
				if (n->plan_src)
					held = n;
				store_node_unlock(n);
			}
		}
		if (held)
			store_node_ref(held);
		pthread_mutex_unlock(&s->nodes_lock);
		if (held) {
			store_node_plan_end(s, held);
			store_node_put(s, held);
		}
	} while (held);
}

bool store_node_copy_plan(struct node *n, uint64_t gen, uint64_t *src,
			  char etag[REMOTE_ETAG_MAX])
{
	bool planned;

	store_node_lock(n);
	planned = n->plan_src && n->plan_gen == gen &&
		  n->write_gen == gen;
	if (planned) {
		*src = n->plan_src;
		snprintf(etag, REMOTE_ETAG_MAX, "%s", n->plan_etag);
	}
	store_node_unlock(n);
	return planned;
}

bool store_node_take_spool(struct node *n)
{
	bool want;

	store_node_lock(n);
	want = n->free_after_upload && !n->dirty;
	n->free_after_upload = false;
	store_node_unlock(n);
	return want;
}

void store_node_copy_recorded(struct node *n, bool recorded)
{
	store_node_lock(n);
	n->clone_rec = recorded;
	if (!recorded)
		n->clone_lost = false;
	store_node_unlock(n);
}

/* Whether n is a copy of a local file the clone filter made. */
bool store_is_copy(struct node *n)
{
	bool copy;

	store_node_lock(n);
	copy = n->bk || n->clone_rec;
	store_node_unlock(n);
	return copy;
}

/* A program's own bytes replace a copy's: the file is no longer one. */
void store_forget_clone(struct store *s, struct node *n)
{
	bool rec;

	store_node_lock(n);
	rec = n->clone_rec;
	n->clone_rec = false;
	n->clone_lost = false;
	n->free_after_upload = false;
	store_node_unlock(n);
	if (rec && meta_clone_delete(s->meta, n->ino))
		log_warn("inode %llu: cannot forget its clone record",
			 (unsigned long long)n->ino);
}

/*
 * A copy whose last name is gone and that no handle has open can never be
 * read again: its source is let go (unguarded, closed) and its record
 * dropped, rather than kept until an upload that will not happen. With a
 * handle open, the last close does it (store_node_closed).
 */
void store_drop_orphan_backing(struct store *s, struct node *n)
{
	struct meta_entry e;
	struct backing *bk;
	bool orphan, rec;
	int rc;

	store_node_lock(n);
	bk = n->bk;
	rec = n->clone_rec;
	store_node_unlock(n);
	if (!bk && !rec)
		return;
	rc = meta_get(s->meta, n->ino, &e);
	orphan = rc == -ENOENT || (rc == 0 && e.parent == 0);
	if (rc == 0)
		meta_entry_release(&e);
	if (!orphan)
		return;
	store_node_lock(n);
	if (n->openers > 0) {
		store_node_unlock(n);
		return;
	}
	bk = detach(n);
	rec = n->clone_rec;
	n->clone_rec = false;
	store_node_unlock(n);
	if (rec && meta_clone_delete(s->meta, n->ino))
		log_warn("inode %llu: cannot forget the copy record of a "
			 "deleted file", (unsigned long long)n->ino);
	if (bk) {
		log_debug("inode %llu: deleted before its upload; its source "
			  "%s is let go", (unsigned long long)n->ino,
			  bk->source);
		store_backing_put(bk);
		store_node_put(s, n);	/* the backing's reference */
	}
}

void store_let_go_orphan(struct store *s, uint64_t ino)
{
	struct node *n = store_node_find(s, ino);

	if (!n)
		return;
	store_drop_orphan_backing(s, n);
	store_node_put(s, n);
}

bool store_spooled(struct store *s, const struct meta_entry *e)
{
	struct node *n = store_node_find(s, e->ino);
	bool spool = e->spool;

	if (n) {
		store_node_lock(n);
		spool = n->free_after_upload;
		store_node_unlock(n);
		store_node_put(s, n);
	}
	return spool;
}

/* --- the upload of a copy ------------------------------------------------ */

static int64_t ctime_ns_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	return util_ts_ns(&st.st_ctim);
}

/*
 * Checks the bytes a copy is about to be uploaded from (its source, or
 * the cache) against the hash of what the program wrote: 0 if they
 * match; -EAGAIN to try again (the backing ended meanwhile); -EILSEQ,
 * logged with the source and the cause, if they cannot be had.
 */
static int check_copy(struct node *n, const char *path, struct backing *bk,
		      const struct meta_clone *c, uint64_t size)
{
	unsigned char got[HASH_LEN];
	const char *why = NULL;
	int rc;

	if (c->backed && !bk) {
		why = "is gone or was changed while clonedrive was not "
		      "running";
	} else if (size != c->size) {
		why = "does not have the size that was written";
	} else {
		rc = hash_fd(bk ? bk->fd : n->fd, size, -1, c->hash, got);
		if (bk && backing_ended(bk))
			return -EAGAIN;	/* stored meanwhile: from there */
		if (rc == -ENODATA || (!rc && memcmp(got, c->hash, HASH_LEN)))
			why = bk ? "was changed before the copy was uploaded"
				 : "was changed before it was cloned";
		else if (rc)
			return rc;
	}
	if (!why)
		return 0;
	log_error("%s: a copy of %s, whose source %s; it is in error and "
		  "keeps its place, but not the bytes that were written",
		  path, c->source, why);
	return -EILSEQ;
}

int store_copy_upload_begin(struct store *s, struct node *n, const char *path,
			    uint64_t size, struct copy_upload *cu, int *fd)
{
	int rc;

	memset(cu, 0, sizeof(*cu));
	cu->bk = store_backing_get(n);
	rc = meta_clone_get(s->meta, n->ino, &cu->c);
	if (rc)
		return rc;
	if (cu->bk)
		cu->ctime = ctime_ns_of(cu->bk->fd);
	rc = check_copy(n, path, cu->bk, &cu->c, size);
	if (!rc && cu->bk)
		*fd = cu->bk->fd;
	return rc;
}

int store_copy_upload_held(const struct copy_upload *cu)
{
	if (cu->bk && (backing_ended(cu->bk) ||
		       ctime_ns_of(cu->bk->fd) != cu->ctime))
		return -EAGAIN;
	return 0;
}

void store_copy_uploaded(struct store *s, struct node *n,
			 struct copy_upload *cu, const char *path)
{
	if (cu->bk)
		store_node_unback(s, n);
	store_node_copy_recorded(n, false);
	if (meta_clone_delete(s->meta, n->ino))
		log_warn("%s: uploaded, but its clone record stays", path);
}

void store_copy_upload_release(struct copy_upload *cu)
{
	store_backing_put(cu->bk);
	cu->bk = NULL;
	meta_clone_release(&cu->c);
}

bool store_copy_drop_spooled(struct store *s, struct node *n,
			     uint64_t *freed)
{
	if (!store_node_take_spool(n) || meta_pinned(s->meta, n->ino))
		return false;
	if (store_node_commit(s, n) || store_node_drop(s, n, freed))
		return false;	/* open for writing again: it stays */
	return true;
}
