/*
 * The S3 backend's uploads: put() of a file, and copy() on the server,
 * which shares put()'s multipart upload above CopyObject's limit.
 *
 * Writes. put() streams from the file with pread, never holding it in
 * memory: one PUT up to S3_MULTIPART_MIN, else a multipart upload with
 * parts sent S3_PART_STREAMS at a time. Its state (the upload id, and
 * each part sent with its ETag and a checksum of its bytes) is saved
 * through remote_resume as parts are done: an upload cut by a crash, an
 * unmount or a server away goes on from there, sending again only the
 * parts whose bytes changed since. One that fails for good is aborted,
 * so no part is left behind. copy() is CopyObject (a multipart upload of
 * UploadPartCopy parts above 5 GiB): no byte passes through here.
 */
#include "common.h"

#include <pthread.h>
#include <sys/stat.h>

#include <xxhash.h>

#include "remote/remote.h"
#include "remote/s3_int.h"
#include "util/log.h"
#include "util/crash.h"
#include "util/util.h"

#define S3_PARTS_MAX 10000		/* S3's limit */
#define S3_COPY_PART (1ull << 30)	/* UploadPartCopy part size */
#define S3_PART_STREAMS 4		/* parts in flight */

/* The header that makes a write conditional (put()'s match), if any;
 * buf holds its value. */
static void match_hdr(struct s3 *s, struct s3_req *q, const char *match,
		      char buf[REMOTE_ETAG_MAX])
{
	size_t len;

	if (!match)
		return;
	if (!*match) {
		s3_req_header(q, "If-None-Match", "*");
		return;
	}
	len = strlen(match);
	if (__atomic_load_n(&s->bare_match, __ATOMIC_RELAXED) && len >= 2 &&
	    match[0] == '"' && match[len - 1] == '"')
		snprintf(buf, REMOTE_ETAG_MAX, "%.*s", (int)len - 2, match + 1);
	else
		snprintf(buf, REMOTE_ETAG_MAX, "%s", match);
	s3_req_header(q, "If-Match", buf);
}

/*
 * Whether the object at key satisfies put()'s condition match, asked
 * with a HEAD: 0, -ESTALE, or -ENOENT for a version that is gone. Where
 * the server does not check a condition itself (a multipart upload), so
 * a change between this check and the write is not seen.
 */
static int check_match(struct s3 *s, const char *key, const char *what,
		       const char *match)
{
	struct remote_attr a;
	int rc;

	if (!match)
		return 0;
	rc = s3_head(s, key, what, &a);
	if (!*match)
		return rc == -ENOENT ? 0 : rc ? rc : -ESTALE;
	if (rc)
		return rc;
	return strcmp(a.etag, match) == 0 ? 0 : -ESTALE;
}

/*
 * After a conditional write refused with 412: -ENOENT if the version it
 * was to replace is gone; 0 (out filled) if the object is this very
 * write, landed by an attempt whose answer was lost (a retry of it is
 * then refused, as the object no longer has the version asked for);
 * -EAGAIN if the object still has the version asked for, which a server
 * that wants the ETag unquoted refuses (asked so from then on); else
 * -ESTALE: another client's write.
 */
static int refused(struct s3 *s, const char *key, const char *what,
		   const char *match, uint64_t size, uint32_t mode,
		   int64_t mtime_ns, struct remote_attr *out)
{
	struct remote_attr a;
	int rc;

	rc = s3_head(s, key, what, &a);
	if (rc == -ENOENT && *match)
		return -ENOENT;
	if (rc)
		return rc == -ENOENT ? -ESTALE : rc;
	if (*match && strcmp(a.etag, match) == 0 &&
	    !__atomic_exchange_n(&s->bare_match, true, __ATOMIC_RELAXED)) {
		log_info("s3: the server wants If-Match unquoted; sent so from "
			 "now on");
		return -EAGAIN;
	}
	if (a.size != size || a.mode != mode || a.mtime_ns != mtime_ns)
		return -ESTALE;
	*out = a;
	return 0;
}

static int put_single(struct s3 *s, const char *path, const char *key,
		      int fd, uint64_t size, uint32_t mode,
		      const struct remote_meta *meta, const char *match,
		      remote_progress_fn progress, void *arg,
		      struct remote_attr *out)
{
	char cond[REMOTE_ETAG_MAX];
	struct s3_meta_hdrs m;
	struct s3_req q;
	int rc;

again:
	s3_req_init(&q, "PUT", key, path);
	s3_meta_hdrs(&q, &m, mode, meta);
	match_hdr(s, &q, match, cond);
	q.body_fd = fd;
	q.body_len = size;
	q.progress = progress;
	q.progress_arg = arg;
	q.progress_total = size;
	rc = s3_call(s, &q);
	if (!rc && !*q.etag) {
		log_warn("s3: PUT %s: the answer has no ETag", path);
		rc = -EIO;
	}
	if (!rc) {
		memset(out, 0, sizeof(*out));
		out->mode = mode;
		out->uid = meta->uid;
		out->gid = meta->gid;
		out->size = size;
		out->mtime_ns = meta->mtime_ns;
		snprintf(out->etag, sizeof(out->etag), "%s", q.etag);
	}
	s3_req_release(&q);
	if (rc == -ESTALE && match)
		rc = refused(s, key, path, match, size, mode, meta->mtime_ns,
			     out);
	if (rc == -EAGAIN)
		goto again;
	return rc;
}

/* A multipart upload in progress. */
struct upload {
	struct s3 *s;
	const char *path;
	const char *key;
	char *id;
	int nparts;
	uint64_t part;			/* part size */
	uint64_t size;
	char **etags;			/* per part; set: sent */
	char (*sums)[33];		/* per part: checksum of its bytes */
	const struct remote_resume *resume;	/* or NULL */
	bool started_over;		/* the saved state is spent */
	bool gone;			/* the server has no such upload, or
					   not all of its parts */
	uint64_t resumed;		/* bytes of parts not sent again */
	/* source: a file (put) or another key (copy) */
	int fd;
	const char *match;		/* put()'s condition, or NULL */
	const char *copy_source;	/* "/bucket/key", encoded */
	pthread_mutex_t lock;
	int next;			/* next part to send (0-based) */
	int error;
	uint64_t done;			/* bytes of finished parts */
	remote_progress_fn progress;
	void *progress_arg;
};

/* XXH3-128 of bytes [off, off+len) of fd, in hex. */
static int part_sum(int fd, uint64_t off, uint64_t len, char out[33])
{
	XXH3_state_t *st = XXH3_createState();
	char *buf = xmalloc(1 << 20);
	XXH128_hash_t h;
	int rc = 0;

	XXH3_128bits_reset(st);
	while (len > 0) {
		ssize_t got = pread(fd, buf, CD_MIN(len, (uint64_t)1 << 20),
				    (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? -errno : -ENODATA;
			break;
		}
		XXH3_128bits_update(st, buf, (size_t)got);
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	h = XXH3_128bits_digest(st);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	XXH3_freeState(st);
	free(buf);
	return rc;
}

/*
 * The resume state of u: a first line "1 SIZE PART_SIZE UPLOAD_ID", then
 * one line "PART SUM ETAG" per part sent (PART from 1). Under u->lock
 * once parts are in flight. Caller frees.
 */
static char *resume_state(const struct upload *u)
{
	size_t cap = 128 + strlen(u->id), len;
	char *out;
	int i;

	for (i = 0; i < u->nparts; i++)
		if (u->etags[i])
			cap += 48 + strlen(u->etags[i]);
	out = xmalloc(cap);
	len = (size_t)snprintf(out, cap, "1 %llu %llu %s\n",
			       (unsigned long long)u->size,
			       (unsigned long long)u->part, u->id);
	for (i = 0; i < u->nparts; i++)
		if (u->etags[i])
			len += (size_t)snprintf(out + len, cap - len,
						"%d %s %s\n", i + 1,
						u->sums[i], u->etags[i]);
	return out;
}

static int resume_save(struct upload *u)
{
	char *state;
	int rc;

	if (!u->resume)
		return 0;
	state = resume_state(u);
	rc = u->resume->save(u->resume->arg, state);
	free(state);
	return rc;
}

static void resume_forget(struct upload *u)
{
	if (u->resume && u->resume->save(u->resume->arg, NULL))
		log_warn("s3: %s: the state of its upload was not forgotten",
			 u->path);
}

/* The upload id of a saved state (caller frees), or NULL if it is not
 * one of this version's. */
static char *resume_id(const char *state, unsigned long long *size,
		       unsigned long long *part)
{
	const char *nl = strchr(state, '\n');
	int at = 0;

	if (!nl || sscanf(state, "1 %llu %llu %n", size, part, &at) != 2 ||
	    at <= 0 || state + at >= nl)
		return NULL;
	return xasprintf("%.*s", (int)(nl - state - at), state + at);
}

/*
 * Takes up the upload a saved state describes, if it is one of the same
 * size in parts of the same size: its id, and each part whose bytes in
 * the file still have the sum they were sent with. false: start anew.
 */
static bool resume_load(struct upload *u)
{
	unsigned long long size, part;
	const char *p, *nl;
	int n = 0, kept = 0;

	if (!u->resume || !u->resume->state || !*u->resume->state ||
	    u->started_over)
		return false;
	u->id = resume_id(u->resume->state, &size, &part);
	if (!u->id || size != u->size || part != u->part) {
		free(u->id);
		u->id = NULL;
		return false;
	}
	for (p = strchr(u->resume->state, '\n') + 1; *p; p = nl + 1) {
		char sum[33], etag[REMOTE_ETAG_MAX], now[33];
		int i;

		nl = strchr(p, '\n');
		if (!nl)
			break;
		if (sscanf(p, "%d %32s %71s", &i, sum, etag) != 3 || i < 1 ||
		    i > u->nparts || u->etags[i - 1])
			continue;
		n++;
		i--;
		if (part_sum(u->fd, (uint64_t)i * u->part,
			     CD_MIN(u->part, u->size - (uint64_t)i * u->part),
			     now) || strcmp(now, sum) != 0)
			continue;	/* changed since: sent again */
		u->etags[i] = xstrdup(etag);
		memcpy(u->sums[i], sum, sizeof(sum));
		u->resumed += CD_MIN(u->part, u->size - (uint64_t)i * u->part);
		kept++;
	}
	log_info("s3: %s: going on with its upload: %d of %d parts sent, "
		 "%d of them unchanged", u->path, n, u->nparts, kept);
	return true;
}

static int upload_start(struct upload *u, struct s3_req *init)
{
	int rc;

	init->query = "uploads";
	rc = s3_call(u->s, init);
	if (!rc && (!init->text ||
		    s3_xml_upload_id(init->text, init->text_len, &u->id))) {
		log_warn("s3: starting the upload of %s: no upload id in the "
			 "answer", u->path);
		rc = -EIO;
	}
	return rc;
}

/* Sends part i; *etag_out gets its ETag (caller frees). */
static int upload_part(struct upload *u, int i, char **etag_out)
{
	uint64_t off = (uint64_t)i * u->part;
	uint64_t len = CD_MIN(u->part, u->size - off);
	char *query, range[80];
	struct s3_req q;
	int rc;

	query = xasprintf("partNumber=%d&uploadId=%s", i + 1, u->id);
	s3_req_init(&q, "PUT", u->key, u->path);
	q.query = query;
	if (u->copy_source) {
		snprintf(range, sizeof(range), "bytes=%llu-%llu",
			 (unsigned long long)off,
			 (unsigned long long)(off + len - 1));
		s3_req_header(&q, "x-amz-copy-source", u->copy_source);
		s3_req_header(&q, "x-amz-copy-source-range", range);
	} else {
		q.body_fd = u->fd;
		q.body_off = off;
		q.body_len = len;
	}
	/* taken before the bytes are sent: a change during the send makes
	 * the part differ from its sum, and so sent again on resume */
	rc = u->resume ? part_sum(u->fd, off, len, u->sums[i]) : 0;
	if (!rc)
		rc = s3_call(u->s, &q);
	if (!rc) {
		char *etag = NULL;

		if (u->copy_source)
			rc = q.text ? s3_xml_etag(q.text, q.text_len, &etag)
				    : -EPROTO;
		else if (*q.etag)
			etag = xstrdup(q.etag);
		else
			rc = -EPROTO;
		if (rc)
			log_warn("s3: part %d of %s: no ETag in the answer",
				 i + 1, u->path);
		*etag_out = etag;
	} else if (rc == -ENOENT && strcmp(q.code, "NoSuchUpload") == 0) {
		__atomic_store_n(&u->gone, true, __ATOMIC_RELAXED);
	}
	s3_req_release(&q);
	free(query);
	return rc;
}

static void *upload_worker(void *arg)
{
	struct upload *u = arg;

	pthread_mutex_lock(&u->lock);
	while (!u->error && u->next < u->nparts) {
		int i = u->next++, rc;
		char *etag = NULL;
		uint64_t len;

		if (u->etags[i])
			continue;	/* sent before a restart */
		pthread_mutex_unlock(&u->lock);
		rc = upload_part(u, i, &etag);
		len = CD_MIN(u->part, u->size - (uint64_t)i * u->part);
		pthread_mutex_lock(&u->lock);
		if (!rc) {
			u->etags[i] = etag;
			rc = resume_save(u);
			if (!rc)
				crash_point("multipart-part");
		}
		if (rc && !u->error)
			u->error = rc;
		if (!rc) {
			u->done += len;
			if (u->progress &&
			    u->progress(u->progress_arg, u->done, u->size) &&
			    !u->error)
				u->error = -ECANCELED;
		}
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static void upload_abort(struct upload *u)
{
	char *query = xasprintf("uploadId=%s", u->id);
	struct s3_req q;

	s3_req_init(&q, "DELETE", u->key, u->path);
	q.query = query;
	if (s3_call(u->s, &q) && q.status != 404)
		log_warn("s3: the unfinished upload of %s could not be "
			 "aborted; its parts stay on the server until it is",
			 u->path);
	s3_req_release(&q);
	free(query);
}

static int upload_complete(struct upload *u, char *etag_out, size_t size)
{
	char *body, *query, *etag = NULL, cond[REMOTE_ETAG_MAX];
	struct s3_req q;
	int rc;

	/* servers that take conditions here (AWS) check them as they
	 * publish; those that ignore them (RGW Pacific) are asked first */
	rc = check_match(u->s, u->key, u->path, u->match);
	if (rc)
		return rc;
	body = s3_xml_complete_body((const char *const *)u->etags, u->nparts);
	query = xasprintf("uploadId=%s", u->id);
	s3_req_init(&q, "POST", u->key, u->path);
	match_hdr(u->s, &q, u->match, cond);
	q.query = query;
	q.body = body;
	q.body_len = strlen(body);
	rc = s3_call(u->s, &q);
	if (!rc) {
		/* an error can come with status 200 here */
		rc = q.text ? s3_xml_etag(q.text, q.text_len, &etag) : -EPROTO;
		if (rc == -EPROTO && q.text && strstr(q.text, "<ETag></ETag>")) {
			/* RGW answers an empty ETag: the object has one */
			struct remote_attr a;

			rc = s3_head(u->s, u->key, u->path, &a);
			if (!rc && a.size != u->size)
				rc = -ESTALE;	/* replaced meanwhile */
			if (!rc)
				etag = xstrdup(a.etag);
		}
		if (rc)
			log_warn("s3: completing the upload of %s failed: "
				 "%.200s", u->path, q.text ? q.text : "");
		else
			snprintf(etag_out, size, "%s", etag);
	} else if ((rc == -ENOENT && strcmp(q.code, "NoSuchUpload") == 0) ||
		   strcmp(q.code, "InvalidPart") == 0) {
		u->gone = true;	/* or a part of it: start again */
	}
	free(etag);
	s3_req_release(&q);
	free(query);
	free(body);
	return rc;
}

/* Whether an upload that failed with rc is kept to go on with later
 * (the server or the network away, an unmount) rather than aborted. */
static bool keeps_parts(int rc)
{
	switch (-rc) {
	case EHOSTDOWN:
	case ECANCELED:
	case EIO:
	case EAGAIN:
	case ETIMEDOUT:
	case ENOMEM:
		return true;
	default:
		return false;
	}
}

/* Runs a multipart upload of size bytes (from u->fd or u->copy_source)
 * to u->key whose init request (with its headers) is given. */
static int multipart(struct upload *u, struct s3_req *init, char *etag,
		     size_t etag_size)
{
	pthread_t th[S3_PART_STREAMS];
	int i, started = 0, rc;

	u->nparts = (int)((u->size + u->part - 1) / u->part);
	if (u->nparts < 1)
		u->nparts = 1;
	u->etags = xcalloc((size_t)u->nparts, sizeof(*u->etags));
	u->sums = xcalloc((size_t)u->nparts, sizeof(*u->sums));
	if (resume_load(u)) {
		rc = 0;
	} else {
		rc = upload_start(u, init);
		if (!rc)
			rc = resume_save(u);
		if (rc)
			goto out;
	}
	u->done = u->resumed;
	if (u->progress && u->resumed)
		u->progress(u->progress_arg, u->done, u->size);
	pthread_mutex_init(&u->lock, NULL);
	for (i = 0; i < S3_PART_STREAMS && i < u->nparts; i++) {
		if (pthread_create(&th[i], NULL, upload_worker, u))
			break;
		started++;
	}
	if (!started)
		upload_worker(u);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	rc = u->error;
	if (!rc)
		rc = upload_complete(u, etag, etag_size);
	pthread_mutex_destroy(&u->lock);
	if (rc && u->gone && !u->started_over && u->resume &&
	    u->resume->state && *u->resume->state) {
		/* the server no longer has the upload, or some of its
		 * parts (aborted, expired): from the start, once */
		log_info("s3: %s: the server no longer has the upload gone "
			 "on with (or all its parts); starting it again",
			 u->path);
		resume_forget(u);
		for (i = 0; i < u->nparts; i++)
			free(u->etags[i]);
		free(u->etags);
		free(u->sums);
		free(u->id);
		u->id = NULL;
		u->resumed = 0;
		u->error = 0;
		u->next = 0;
		u->done = 0;
		u->gone = false;
		u->started_over = true;
		return multipart(u, init, etag, etag_size);
	}
	if (rc && !(u->resume && keeps_parts(rc)))
		upload_abort(u);
	if (!rc || !keeps_parts(rc))
		resume_forget(u);
out:
	for (i = 0; i < u->nparts; i++)
		free(u->etags[i]);
	free(u->etags);
	free(u->sums);
	free(u->id);
	return rc;
}

static uint64_t part_size(struct s3 *s, uint64_t size, uint64_t min)
{
	uint64_t part = min;

	while ((size + part - 1) / part > S3_PARTS_MAX)
		part *= 2;
	return part;
}

int s3_put(struct remote *r, const char *path, int fd, uint64_t size,
	   const struct remote_meta *meta, const char *match,
	   const struct remote_resume *resume,
	   remote_progress_fn progress, void *arg,
	   struct remote_attr *out)
{
	struct s3 *s = to_s3(r);
	char *key = s3_key_of(s, path);
	struct upload u = { 0 };
	struct s3_meta_hdrs m;
	struct s3_req init;
	uint32_t mode;
	int rc;

	mode = meta->mode == (uint32_t)-1 ? 0644 : meta->mode & 07777;
	mode |= S_IFREG;

	if (size < s->multipart_min) {
		rc = put_single(s, path, key, fd, size, mode, meta, match,
				progress, arg, out);
		free(key);
		return rc;
	}
	/* a refusal now saves sending the parts */
	rc = check_match(s, key, path, match);
	if (rc) {
		free(key);
		return rc;
	}
	u.s = s;
	u.path = path;
	u.key = key;
	u.fd = fd;
	u.match = match;
	u.resume = resume;
	u.size = size;
	u.part = part_size(s, size, s->part_min);
	u.progress = progress;
	u.progress_arg = arg;
	s3_req_init(&init, "POST", key, path);
	s3_meta_hdrs(&init, &m, mode, meta);
	memset(out, 0, sizeof(*out));
	rc = multipart(&u, &init, out->etag, sizeof(out->etag));
	s3_req_release(&init);
	if (!rc) {
		out->mode = mode;
		out->uid = meta->uid;
		out->gid = meta->gid;
		out->size = size;
		out->mtime_ns = meta->mtime_ns;
	}
	free(key);
	return rc;
}

void s3_abandon(struct remote *r, const char *path,
		const char *state)
{
	struct s3 *s = to_s3(r);
	unsigned long long size, part;
	struct upload u = { 0 };

	u.s = s;
	u.path = path;
	u.key = s3_key_of(s, path);
	u.id = resume_id(state, &size, &part);
	if (u.id) {
		log_info("s3: %s: its unfinished upload will not be gone on "
			 "with; aborted", path);
		upload_abort(&u);
	}
	free(u.id);
	free((char *)u.key);
}

/* "/bucket/key" for x-amz-copy-source, encoded. */
static char *copy_source(struct s3 *s, const char *key)
{
	char *enc = s3_uri_encode(key, true);
	char *src = xasprintf("/%s/%s", s->bucket, enc);

	free(enc);
	return src;
}

/*
 * Copies key from to key to on the server, with the given metadata
 * (REPLACE) or the source's (meta NULL: COPY). etag, if set, is the
 * version the source must have.
 */
int s3_copy_key(struct s3 *s, const char *from, const char *to,
		const char *what, const char *etag, uint64_t size,
		uint32_t mode, const struct remote_meta *meta,
		struct remote_attr *out)
{
	char *src = copy_source(s, from), *got = NULL;
	struct remote_meta given;
	struct s3_meta_hdrs m;
	struct s3_req q;
	int rc;

	if (size > s->copy_max) {
		struct upload u = { 0 };
		struct remote_attr a;

		if (!meta) {
			/* parts carry no metadata: the source's, given */
			rc = s3_head(s, from, what, &a);
			if (rc) {
				free(src);
				return rc;
			}
			mode = a.mode;
			given = (struct remote_meta){
				.mode = a.mode, .uid = a.uid, .gid = a.gid,
				.mtime_ns = a.mtime_ns,
			};
			meta = &given;
		}

		u.s = s;
		u.path = what;
		u.key = to;
		u.fd = -1;
		u.copy_source = src;
		u.size = size;
		u.part = part_size(s, size, CD_MIN(S3_COPY_PART, s->copy_max));
		s3_req_init(&q, "POST", to, what);
		s3_meta_hdrs(&q, &m, mode, meta);
		rc = multipart(&u, &q, out->etag, sizeof(out->etag));
		s3_req_release(&q);
		free(src);
		return rc;
	}
	s3_req_init(&q, "PUT", to, what);
	s3_req_header(&q, "x-amz-copy-source", src);
	if (etag && *etag) {
		s3_req_header(&q, "x-amz-copy-source-if-match", etag);
		/* RGW's own spelling, which it honours instead */
		s3_req_header(&q, "x-amz-copy-if-match", etag);
	}
	if (meta) {
		s3_req_header(&q, "x-amz-metadata-directive", "REPLACE");
		s3_meta_hdrs(&q, &m, mode, meta);
	}
	rc = s3_call(s, &q);
	if (!rc) {
		rc = q.text ? s3_xml_etag(q.text, q.text_len, &got) : -EPROTO;
		if (rc == 0)
			snprintf(out->etag, sizeof(out->etag), "%s", got);
		else
			log_warn("s3: copying to %s: the answer has no ETag",
				 what);
	}
	free(got);
	s3_req_release(&q);
	free(src);
	return rc;
}

int s3_copy(struct remote *r, const char *from, const char *etag,
	    const char *to, const struct remote_meta *meta,
	    struct remote_attr *out)
{
	struct s3 *s = to_s3(r);
	char *kfrom = s3_key_of(s, from), *kto = s3_key_of(s, to);
	uint32_t mode = S_IFREG | (meta->mode & 07777);
	int64_t mtime_ns = meta->mtime_ns;
	struct remote_attr a;
	int rc;

	rc = s3_head(s, kfrom, from, &a);
	if (!rc && etag && *etag && strcmp(a.etag, etag) != 0)
		rc = -ESTALE;
	if (!rc) {
		memset(out, 0, sizeof(*out));
		rc = s3_copy_key(s, kfrom, kto, to, etag, a.size, mode, meta,
				 out);
	}
	if (!rc) {
		out->mode = mode;
		out->uid = meta->uid;
		out->gid = meta->gid;
		out->size = a.size;
		out->mtime_ns = mtime_ns;
	}
	free(kfrom);
	free(kto);
	return rc;
}
