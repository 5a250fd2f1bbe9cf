/*
 * The S3 backend's transport: how one request (struct s3_req) is signed,
 * sent and retried, and how its answer maps to an errno.
 *
 * Transport. libcurl, one easy handle per request taken from a pool (a
 * handle keeps its connections alive between requests); every request
 * signed here (s3_sign.c). Requests that fail for the network, a 5xx or
 * a 429/503 SlowDown are retried with exponential backoff and full
 * jitter; every retried request is idempotent (a PUT or a DELETE of a
 * whole object, a GET, a part of a multipart upload) except the two
 * POSTs of a multipart upload, whose retry at worst leaves an upload the
 * abort removes, or fails the upload (retried whole by the sync engine).
 * A remote that cannot be reached at all is -EHOSTDOWN.
 */
#include "common.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/random.h>

#include "remote/remote.h"
#include "remote/s3_int.h"
#include "util/log.h"
#include "util/util.h"

#define S3_ATTEMPTS 4			/* tries of one request */
#define S3_BACKOFF_MS 200		/* first backoff; doubles */
#define S3_BACKOFF_MAX_MS 5000
#define S3_TEXT_MAX (8u << 20)		/* XML or error body kept, at most */

void s3_req_init(struct s3_req *q, const char *method, const char *key,
		 const char *what)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->what = what;
	q->body_fd = -1;
	q->sink_fd = -1;
}

void s3_req_release(struct s3_req *q)
{
	free(q->text);
	q->text = NULL;
}

void s3_req_header(struct s3_req *q, const char *name, const char *value)
{
	if (q->nhdr < S3_MAX_HEADERS) {
		q->hdr[q->nhdr].name = name;
		q->hdr[q->nhdr].value = value;
		q->nhdr++;
	}
}

/* ---------------------------------------------------------- the pool */

static CURL *handle_get(struct s3 *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->pool_lock);
	if (s->npool > 0)
		h = s->pool[--s->npool];
	pthread_mutex_unlock(&s->pool_lock);
	return h ? h : curl_easy_init();
}

static void handle_put(struct s3 *s, CURL *h)
{
	if (!h)
		return;
	curl_easy_reset(h);	/* keeps its connections */
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool < S3_POOL_MAX) {
		s->pool[s->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

/* ------------------------------------------------------ curl callbacks */

static size_t read_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *q = arg;
	size_t want = size * nmemb;
	uint64_t left = q->body_len - q->sent;
	ssize_t got;

	if (q->cancelled)
		return CURL_READFUNC_ABORT;
	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (q->body) {
		memcpy(buf, q->body + q->sent, want);
		got = (ssize_t)want;
	} else {
		got = pread(q->body_fd, buf, want,
			    (off_t)(q->body_off + q->sent));
		if (got <= 0) {
			q->sink_err = got < 0 ? -errno : -ENODATA;
			return CURL_READFUNC_ABORT;
		}
	}
	q->sent += (uint64_t)got;
	if (q->progress &&
	    q->progress(q->progress_arg, q->progress_base + q->sent,
			q->progress_total)) {
		q->cancelled = true;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)got;
}

/* Rewinds the body, for curl to send it again on a new connection when
 * the kept one turns out dead (the server restarted meanwhile). */
static int seek_body(void *arg, curl_off_t off, int origin)
{
	struct s3_req *q = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > q->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	q->sent = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static bool ok_status(long status)
{
	return status >= 200 && status < 300;
}

static size_t write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *q = arg;
	size_t len = size * nmemb;
	int rc;

	if (ok_status(q->status) && q->sink_buf) {
		if (q->got + len > q->sink_cap) {
			q->sink_err = -EPROTO;	/* more than asked for */
			return 0;
		}
		memcpy(q->sink_buf + q->got, data, len);
		q->got += len;
		return len;
	}
	if (ok_status(q->status) && q->sink_fd >= 0) {
		if (q->got + len > q->sink_cap) {
			q->sink_err = -EPROTO;
			return 0;
		}
		rc = util_pwrite_all(q->sink_fd, data, len,
				     q->sink_off + q->got);
		if (rc) {
			q->sink_err = rc;
			return 0;
		}
		q->got += len;
		return len;
	}
	if (q->text_len + len > S3_TEXT_MAX) {
		q->text_cut = true;
		return len;	/* the rest is not needed */
	}
	q->text = xrealloc(q->text, q->text_len + len + 1);
	memcpy(q->text + q->text_len, data, len);
	q->text_len += len;
	q->text[q->text_len] = '\0';
	return len;
}

/* "  value \r\n" of a header line into buf, trimmed. */
static void header_value(const char *v, size_t len, char *buf, size_t size)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
		       v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(buf, v, len);
	buf[len] = '\0';
}

/* "1732270500" or "1732270500.123456789" seconds to ns. */
static int parse_seconds(const char *s, int64_t *out)
{
	int64_t sec = 0, frac = 0, scale = 1000000000;
	const char *p = s;
	bool neg = false;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (sec > (INT64_MAX / 1000000000 - 9) / 10)
			return -EINVAL;
		sec = sec * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p)
		return -EINVAL;
	*out = (neg ? -1 : 1) * (sec * 1000000000 + frac);
	return 0;
}

static size_t read_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *q = arg;
	size_t len = size * nmemb;
	const char *colon = memchr(line, ':', len);
	char name[64], value[256];
	size_t nlen;
	int64_t ns;
	uint64_t v;

	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue or a redirect) */
		const char *sp = memchr(line, ' ', len);

		q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		q->etag[0] = '\0';
		q->have_length = q->have_meta_mtime = q->have_meta_mode = false;
		q->meta_uid = q->meta_gid = REMOTE_OWNER_NONE;
		q->have_meta_rdev = false;
		return len;
	}
	if (!colon)
		return len;
	nlen = (size_t)(colon - line);
	if (nlen >= sizeof(name))
		return len;
	memcpy(name, line, nlen);
	name[nlen] = '\0';
	header_value(colon + 1, len - nlen - 1, value, sizeof(value));
	if (strcasecmp(name, "etag") == 0) {
		/* longer than any ETag S3 makes: none, rather than a part */
		if (strlen(value) < sizeof(q->etag))
			memcpy(q->etag, value, strlen(value) + 1);
	} else if (strcasecmp(name, "content-length") == 0) {
		q->have_length = util_parse_u64(value, &q->length) == 0;
	} else if (strcasecmp(name, "last-modified") == 0) {
		if (s3_http_date(value, &ns) == 0)
			q->last_modified_ns = ns;
	} else if (strcasecmp(name, "x-amz-meta-mtime") == 0) {
		q->have_meta_mtime = parse_seconds(value, &ns) == 0;
		if (q->have_meta_mtime)
			q->meta_mtime_ns = ns;
	} else if (strcasecmp(name, "x-amz-meta-mode") == 0) {
		q->have_meta_mode = util_parse_u64(value, &v) == 0 &&
				    v <= 0177777;
		if (q->have_meta_mode)
			q->meta_mode = (uint32_t)v;
	} else if (strcasecmp(name, "x-amz-meta-uid") == 0) {
		if (util_parse_u64(value, &v) == 0 && v < UINT32_MAX)
			q->meta_uid = (uint32_t)v;
	} else if (strcasecmp(name, "x-amz-meta-gid") == 0) {
		if (util_parse_u64(value, &v) == 0 && v < UINT32_MAX)
			q->meta_gid = (uint32_t)v;
	} else if (strcasecmp(name, "x-amz-meta-rdev") == 0) {
		q->have_meta_rdev = util_parse_u64(value, &q->meta_rdev) == 0;
	}
	return len;
}

/* ------------------------------------------------------------ requests */

static char *req_url_path(struct s3 *s, const struct s3_req *q)
{
	char *enc, *p;

	if (!q->key)
		return xasprintf("%s/", s->path_base);
	enc = s3_uri_encode(q->key, true);
	p = xasprintf("%s/%s", s->path_base, enc);
	free(enc);
	return p;
}

/* Maps a curl failure: the remote as a whole unreachable, or not. */
static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return -EHOSTDOWN;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return -EACCES;	/* not the server asked for: no retry */
	default:
		return -EIO;
	}
}

/*
 * The errno of an S3 answer that is not a success: the status says most,
 * the error code the rest. One plain switch, to be read at a glance.
 */
static int s3_errno(long status, const char *code)
{
	if (strcmp(code, "NoSuchBucket") == 0)
		return -ENOENT;
	if (strcmp(code, "SlowDown") == 0)
		return -EAGAIN;
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 405:
	case 501:
		return -EOPNOTSUPP;
	case 409:
		return -EBUSY;
	case 412:
		return -ESTALE;
	case 416:
		return -ERANGE;
	case 429:
	case 503:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static bool retryable(int rc, long status)
{
	if (rc == -EHOSTDOWN || rc == -ETIMEDOUT || rc == -ECONNRESET)
		return true;
	return rc == 0 && ((status >= 500 && status != 501) || status == 429);
}

/* One try: 0 with q->status set, or a negative errno from the transport
 * (or the sink, or a cancellation). */
static int perform(struct s3 *s, struct s3_req *q)
{
	char amz_hash[65], *path, *url, *host_line;
	struct s3_sign_req sr;
	struct s3_signed sig = { 0 };
	struct curl_slist *hl = NULL;
	struct s3_header all[S3_MAX_HEADERS + 1];
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode c;
	CURL *h;
	size_t i;
	int rc;

	q->status = 0;
	q->sent = q->got = 0;
	q->sink_err = 0;
	q->text_len = 0;
	q->text_cut = false;
	q->etag[0] = '\0';
	q->code[0] = '\0';
	q->have_length = q->have_meta_mtime = q->have_meta_mode = false;
	q->meta_uid = q->meta_gid = REMOTE_OWNER_NONE;
	q->have_meta_rdev = false;
	q->last_modified_ns = 0;

	path = req_url_path(s, q);
	url = xasprintf("%s%s%s%s", s->scheme_host, path,
			q->query && *q->query ? "?" : "",
			q->query ? q->query : "");
	host_line = xasprintf("Host: %s", s->host);
	all[0].name = "host";
	all[0].value = s->host;
	for (i = 0; i < q->nhdr; i++)
		all[i + 1] = q->hdr[i];

	if (q->body && q->body_len)
		s3_sha256_hex(q->body, (size_t)q->body_len, amz_hash);
	else if (q->body_fd >= 0 && q->body_len)
		snprintf(amz_hash, sizeof(amz_hash), "%s",
			 S3_UNSIGNED_PAYLOAD);
	else
		snprintf(amz_hash, sizeof(amz_hash), "%s", S3_EMPTY_SHA256);

	rc = 0;
	if (s->prof.access_key) {
		memset(&sr, 0, sizeof(sr));
		sr.method = q->method;
		sr.path = path;
		sr.query = q->query;
		sr.headers = all;
		sr.nheaders = q->nhdr + 1;
		sr.payload_hash = amz_hash;
		sr.region = s->region;
		sr.service = "s3";
		sr.when = time(NULL);
		rc = s3_sign(&sr, &s->prof, &sig);
	}
	if (rc)
		goto out;

	hl = curl_slist_append(hl, host_line);
	for (i = 0; i < q->nhdr; i++) {
		char *line = xasprintf("%s: %s", q->hdr[i].name,
				       q->hdr[i].value);

		hl = curl_slist_append(hl, line);
		free(line);
	}
	if (sig.authorization) {
		hl = curl_slist_append(hl, sig.authorization);
		hl = curl_slist_append(hl, sig.amz_date);
		hl = curl_slist_append(hl, sig.content_sha256);
		if (sig.security_token)
			hl = curl_slist_append(hl, sig.security_token);
	}
	hl = curl_slist_append(hl, "Expect:");	/* no 100-continue wait */
	hl = curl_slist_append(hl, "Content-Type:");
	hl = curl_slist_append(hl, "Accept:");

	h = handle_get(s);
	if (!h) {
		rc = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
	/* a transfer that stalls is given up, not waited for forever */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (s->prof.ca_bundle)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->prof.ca_bundle);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
	if (strcmp(q->method, "PUT") == 0 || strcmp(q->method, "POST") == 0) {
		/* the body, from memory or the file, and rewound for curl to
		 * send it again when a kept connection turns out dead */
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(h, CURLOPT_READDATA, q);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, q);
	}
	c = curl_easy_perform(h);
	if (c == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &q->status);
	} else if (q->cancelled) {
		rc = -ECANCELED;
	} else if (q->sink_err) {
		rc = q->sink_err;
	} else {
		rc = curl_errno(c);
		log_debug("s3: %s %s: %s (curl %d)", q->method, q->what,
			  *errbuf ? errbuf : curl_easy_strerror(c), (int)c);
		if (rc == -EACCES &&
		    !__atomic_exchange_n(&s->tls_said, true, __ATOMIC_RELAXED))
			log_error("s3: %s: %s; the certificates to trust can be "
				  "given in a PEM file with AWS_CA_BUNDLE or the "
				  "profile's ca_bundle", s->scheme_host,
				  *errbuf ? errbuf : curl_easy_strerror(c));
	}
	handle_put(s, h);
out:
	curl_slist_free_all(hl);
	s3_signed_release(&sig);
	free(host_line);
	free(url);
	free(path);
	return rc;
}

static void backoff(int attempt)
{
	unsigned ms = S3_BACKOFF_MS << (attempt < 5 ? attempt : 5);
	unsigned r = 0;

	if (ms > S3_BACKOFF_MAX_MS)
		ms = S3_BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)util_now_ns();
	usleep((useconds_t)(r % (ms + 1)) * 1000);	/* full jitter */
}

/*
 * Sends q, retrying what may be retried. 0 for a 2xx answer; else a
 * negative errno, logged with the path, the status and S3's code and
 * message (404 and 412 are left to the caller to judge, unlogged).
 */
int s3_call(struct s3 *s, struct s3_req *q)
{
	char *code = NULL, *msg = NULL;
	int attempt, rc;

	for (attempt = 0;; attempt++) {
		rc = perform(s, q);
		if (!retryable(rc, q->status) || attempt + 1 >= S3_ATTEMPTS)
			break;
		log_debug("s3: %s %s: %s; retrying", q->method, q->what,
			  rc ? strerror(-rc) : "server busy or failing");
		backoff(attempt);
	}
	if (rc == -ETIMEDOUT || rc == -ECONNRESET)
		rc = -EHOSTDOWN;	/* tried and tried: the server is away */
	if (rc)
		return rc;
	if (ok_status(q->status))
		return 0;
	if (q->text && s3_xml_error(q->text, q->text_len, &code, &msg) == 0)
		snprintf(q->code, sizeof(q->code), "%s", code);
	rc = s3_errno(q->status, q->code);
	log_debug("s3: %s %s%s%s: HTTP %ld %s", q->method,
		  q->what ? q->what : "(bucket)", q->query ? "?" : "",
		  q->query ? q->query : "", q->status, q->code);
	if (q->status != 404 && q->status != 412 && q->status != 416)
		log_warn("s3: %s %s: HTTP %ld %s%s%s", q->method,
			 q->what ? q->what : "(bucket)", q->status,
			 *q->code ? q->code : "", msg ? ": " : "",
			 msg ? msg : "");
	free(code);
	free(msg);
	return rc;
}
