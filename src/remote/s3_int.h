/*
 * The S3 backend's parts, private to src/remote/s3*.c:
 *   s3_cred.c  credentials, region and endpoint, found the way AWS tools
 *              find them
 *   s3_sign.c  Signature Version 4 (HMAC-SHA256 from libcrypto; libcurl is
 *              used for transport only)
 *   s3_xml.c   the XML of S3's responses (expat), and the one request body
 *              that is XML
 *   s3.c       the remote_ops: the table, opening, the mapping of paths
 *              and attributes to keys and headers, reads, and the changes
 *              of names
 *   s3_http.c  one request: signed, sent over libcurl (a pool of
 *              handles), retried, and its failure mapped to an errno
 *   s3_list.c  the listing of a directory
 *   s3_upload.c put (one PUT, or a multipart upload that resumes) and
 *              copies on the server
 * Nothing here logs a secret: a secret key, a session token or a
 * signature never reaches a log line, an error message or `status`.
 */
#ifndef CD_S3_INT_H
#define CD_S3_INT_H

#include "common.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "remote/remote.h"

/* ------------------------------------------------------------ s3_cred.c */

/* Everything a client needs to talk to one service as one identity. */
struct s3_profile {
	char *access_key;	/* NULL: anonymous (unsigned requests) */
	char *secret_key;
	char *session_token;	/* NULL if none */
	char *region;		/* NULL if nothing said */
	char *endpoint;		/* NULL if nothing said: AWS */
	char *ca_bundle;	/* certificates to trust for HTTPS (PEM
				   file); NULL: the system's */
	char *source;		/* where the keys came from, for messages:
				   "environment", "profile NAME in FILE" */
};

/*
 * Fills p the way the AWS CLI and SDKs do, the first found winning for
 * each item:
 *  - keys: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *    from the environment; else the profile's aws_access_key_id,
 *    aws_secret_access_key, aws_session_token in the credentials file
 *    (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials, section
 *    [NAME]), then in the config file (AWS_CONFIG_FILE, default
 *    ~/.aws/config, section [profile NAME], or [default]);
 *  - region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region;
 *  - endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's
 *    endpoint_url;
 *  - CA bundle: AWS_CA_BUNDLE, the profile's ca_bundle.
 * The profile is `profile` if not NULL, else AWS_PROFILE, else
 * AWS_DEFAULT_PROFILE, else "default". HOME comes from the environment,
 * else getpwuid(). A named profile that exists nowhere is an error; no
 * keys at all is not (p->access_key stays NULL). Files that do not exist
 * are skipped; a file that exists but cannot be read is an error. The
 * INI syntax accepted: [section] lines, key = value lines (spaces around
 * '=' and at both ends trimmed), '#' and ';' comment lines, blank lines;
 * indented continuation lines (nested settings such as "s3 =") are
 * ignored. On error returns -errno and writes a sentence for the user,
 * naming the file and line, never a value, into err.
 */
int s3_profile_load(struct s3_profile *p, const char *profile, char *err,
		    size_t errlen) CD_WUR;
void s3_profile_release(struct s3_profile *p);

/* ------------------------------------------------------------ s3_sign.c */

/* "20261122T101500Z" and "20261122" for a time, UTC. */
#define S3_AMZ_DATE_LEN 16
#define S3_DATE_LEN 8

/* The payload hash that says "not signed" (streamed uploads over TLS,
 * and anything whose bytes are not at hand when signing). */
#define S3_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of nothing, in hex: the payload hash of a request without a
 * body. */
#define S3_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_header {
	const char *name;	/* any case; signed lower-cased */
	const char *value;	/* signed with ends trimmed and inner runs of
				   spaces squeezed to one */
};

struct s3_sign_req {
	const char *method;	/* "GET", "PUT", ... */
	const char *path;	/* the absolute path as sent, already
				   URI-encoded ("/bucket/a%20b"); "" is "/" */
	const char *query;	/* the query as sent, without '?', its names
				   and values already URI-encoded ("list-type=2
				   &prefix=a%2Fb", "uploads"); NULL or "" if
				   none. The signer sorts it by name, then
				   value, and gives a bare name an '=' */
	const struct s3_header *headers;  /* every header to sign, "host"
				   included; x-amz-date, x-amz-content-sha256
				   and x-amz-security-token are added by the
				   signer, not given here */
	size_t nheaders;
	const char *payload_hash;	/* hex SHA-256 of the body,
				   S3_EMPTY_SHA256, or S3_UNSIGNED_PAYLOAD */
	const char *region;		/* "us-east-1" */
	const char *service;		/* "s3" */
	time_t when;			/* the request's time */
};

/* What the signer adds to a request: each is one whole header line
 * ("Name: value"), ready for curl_slist_append(). */
struct s3_signed {
	char *authorization;	/* "Authorization: AWS4-HMAC-SHA256 ..." */
	char *amz_date;		/* "x-amz-date: 20261122T101500Z" */
	char *content_sha256;	/* "x-amz-content-sha256: ..." */
	char *security_token;	/* "x-amz-security-token: ...", or NULL
				   without a session token */
};

/*
 * Signs r with the keys of p (which must have some). Duplicate header
 * names are joined with ',' in the order given, as SigV4 requires; tabs
 * count as spaces in values. Returns 0, or -ENOMEM / -EINVAL: a header
 * name that is empty, not a token, or one the signer adds itself; a CR
 * or LF anywhere (it would add a header); an empty method, region,
 * service or payload hash; a profile without keys.
 * s3_signed_release() frees what it filled, also after an error.
 */
int s3_sign(const struct s3_sign_req *r, const struct s3_profile *p,
	    struct s3_signed *out) CD_WUR;
void s3_signed_release(struct s3_signed *s);

/*
 * URI-encodes s the way SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~
 * as %XY (upper-case hex), and '/' too unless keep_slash. Returns a new
 * string (xmalloc: never NULL).
 */
char *s3_uri_encode(const char *s, bool keep_slash);

/* Hex SHA-256 of len bytes. */
void s3_sha256_hex(const void *data, size_t len, char out[65]);

/* ------------------------------------------------------------- s3_xml.c */

/* One entry of a ListObjectsV2 page: an object (Contents) or, with a
 * delimiter, a common prefix (CommonPrefixes). */
struct s3_list_item {
	const char *key;	/* the full key (or prefix, ending in the
				   delimiter), as decoded from the XML */
	bool is_prefix;
	uint64_t size;		/* objects only */
	int64_t mtime_ns;	/* LastModified, objects only */
	const char *etag;	/* objects only, quotes kept as sent */
};

/* Called per item, in document order; non-zero stops the parse and is
 * returned by s3_xml_list(). Strings are borrowed for the call only. */
typedef int (*s3_list_fn)(void *arg, const struct s3_list_item *it);

/*
 * Parses a ListObjectsV2 result (ListBucketResult), all of it before fn
 * sees the first item (a broken page hands out nothing). *truncated gets
 * IsTruncated; *next_token gets NextContinuationToken (malloc'd, NULL if
 * none; the caller frees it). Returns 0, fn's non-zero value, or -EPROTO
 * for a body that is not such a result (malformed XML, a missing Key,
 * a Size that is not a number, an unparsable LastModified, IsTruncated
 * true without a token, a missing IsTruncated). Every element may come
 * in any order and unknown elements are ignored; a DOCTYPE is refused.
 * With EncodingType "url", Key and Prefix are decoded (%XY, and '+' as a
 * space, as AWS writes it). -ENOMEM when expat runs out of memory. On
 * any non-zero return the outputs are NULL/false/0. An item's etag is
 * NULL for a prefix, "" for an object sent without one.
 */
int s3_xml_list(const char *xml, size_t len, s3_list_fn fn, void *arg,
		bool *truncated, char **next_token) CD_WUR;

/* An S3 error document (<Error><Code>..</Code><Message>..</Message>).
 * Returns 0 with *code and *message malloc'd (message may be NULL), or
 * -EPROTO if the body is not one. */
int s3_xml_error(const char *xml, size_t len, char **code,
		 char **message) CD_WUR;

/* InitiateMultipartUploadResult: *upload_id malloc'd; -EPROTO if absent. */
int s3_xml_upload_id(const char *xml, size_t len, char **upload_id) CD_WUR;

/*
 * The ETag of a CopyObjectResult, CopyPartResult or
 * CompleteMultipartUploadResult, quotes added if the server left them out
 * (RGW does for CopyObject): *etag malloc'd. A CompleteMultipartUpload
 * answer can be an <Error> with status 200: that gives -EIO (and *etag
 * NULL); anything else unparsable gives -EPROTO.
 */
int s3_xml_etag(const char *xml, size_t len, char **etag) CD_WUR;

/* One part of a ListParts result. */
struct s3_part {
	int number;
	uint64_t size;
	const char *etag;	/* borrowed for the call */
};
typedef int (*s3_part_fn)(void *arg, const struct s3_part *part);

/* Parses a ListParts result; *truncated and *next_marker
 * (NextPartNumberMarker, 0 if none) as for listing. */
int s3_xml_parts(const char *xml, size_t len, s3_part_fn fn, void *arg,
		 bool *truncated, int *next_marker) CD_WUR;

/* The body of CompleteMultipartUpload for parts 1..n with these ETags
 * (XML-escaped): malloc'd, never NULL. */
char *s3_xml_complete_body(const char *const *etags, int n);

/* "2026-11-22T10:15:00.000Z" (fraction optional; the LastModified of a
 * listing) to ns since the epoch; -EINVAL if it is not such a time. */
int s3_iso8601_ns(const char *s, int64_t *out) CD_WUR;
/* An HTTP date ("Sun, 22 Nov 2026 10:15:00 GMT": the Last-Modified
 * header of HEAD and GET) to ns; -EINVAL. */
int s3_http_date(const char *s, int64_t *out) CD_WUR;

/* ----------------------------------------------------------------- s3.c */

#define S3_POOL_MAX 16			/* idle handles kept */
#define S3_WARNED 1021			/* odd keys remembered, at most */
#define S3_KEY_MAX 1024			/* bytes, the S3 API's limit */
#define S3_LINK_MAX 4096		/* a symlink's target, NUL included */
#define S3_DIR_MODE (S_IFDIR | 0755)
#define S3_FILE_MODE (S_IFREG | 0644)

struct s3 {
	struct remote r;		/* what callers hold */
	char *scheme_host;		/* "http://127.0.0.1:7480" */
	char *host;			/* the Host header: "127.0.0.1:7480" */
	char *bucket;
	char *prefix;			/* "" or "photos/2026/" */
	char *path_base;		/* "/bucket" (path style) or "" */
	char *region;
	struct s3_profile prof;
	long connect_timeout_ms;
	uint64_t multipart_min;		/* tests lower these (environment) */
	uint64_t part_min;
	uint64_t copy_max;		/* CopyObject up to, else parts */
	pthread_mutex_t pool_lock;
	CURL *pool[S3_POOL_MAX];
	int npool;
	uint64_t warned[S3_WARNED];	/* keys warned about (hashes) */
	bool tls_said;			/* a certificate refused: logged once
					   (atomic) */
	bool bare_match;		/* the server compares a write's
					   If-Match with the ETag unquoted
					   (RGW Pacific); atomic */
};

static inline struct s3 *to_s3(struct remote *r)
{
	return (struct s3 *)r;
}

struct s3_req;

/* The key of remote path p ("" is the prefix itself); caller frees. */
char *s3_key_of(struct s3 *s, const char *p);
/* The key prefix of the entries of directory p; caller frees. */
char *s3_dir_prefix(struct s3 *s, const char *p);
/* The attributes of a directory, which S3 does not keep. */
void s3_dir_attr(struct remote_attr *a);
/* Fills out from a HEAD of key (what: the remote path, for messages). */
int s3_head(struct s3 *s, const char *key, const char *what,
	    struct remote_attr *out) CD_WUR;

/* The metadata headers of an object the drive writes. */
struct s3_meta_hdrs {
	char mtime[32];
	char mode[16];
	char uid[16];
	char gid[16];
};

/* Adds to q the headers that keep mode (the whole st_mode), the owner
 * where meta has one, and the mtime with the object, as s3fs writes
 * them; m holds their values, and must outlive q. */
void s3_meta_hdrs(struct s3_req *q, struct s3_meta_hdrs *m, uint32_t mode,
		  const struct remote_meta *meta);

/* ------------------------------------------------------------ s3_http.c */

#define S3_MAX_HEADERS 16

/* One request and what came back. */
struct s3_req {
	const char *method;
	const char *key;		/* full key; NULL: the bucket itself */
	const char *query;		/* encoded; NULL if none */
	struct s3_header hdr[S3_MAX_HEADERS];	/* to send and sign */
	size_t nhdr;
	const char *what;		/* for messages: the remote path */

	/* the body: bytes in memory, or [body_off, +body_len) of body_fd */
	const char *body;
	int body_fd;
	uint64_t body_off;
	uint64_t body_len;
	uint64_t sent;
	remote_progress_fn progress;	/* called as the body goes */
	void *progress_arg;
	uint64_t progress_base;		/* added to sent in progress calls */
	uint64_t progress_total;
	bool cancelled;

	/* where a 2xx body goes: a buffer, a file at an offset, or text */
	char *sink_buf;
	size_t sink_cap;
	int sink_fd;
	uint64_t sink_off;
	uint64_t got;
	int sink_err;

	/* what came back */
	long status;
	char *text;			/* a body not for the sink (XML) */
	size_t text_len;
	bool text_cut;
	char etag[REMOTE_ETAG_MAX];
	uint64_t length;		/* Content-Length */
	bool have_length;
	int64_t last_modified_ns;
	int64_t meta_mtime_ns;
	bool have_meta_mtime;
	uint32_t meta_mode;
	bool have_meta_mode;
	uint32_t meta_uid;		/* REMOTE_OWNER_NONE if none */
	uint32_t meta_gid;
	uint64_t meta_rdev;		/* x-amz-meta-rdev: a device's number */
	bool have_meta_rdev;
	char code[64];			/* the S3 error code, if any */
};

/* Sets q up for method on key (NULL: the bucket itself); what names it
 * in messages. Nothing to send, and a 2xx body is kept as text. */
void s3_req_init(struct s3_req *q, const char *method, const char *key,
		 const char *what);
/* Frees what came back with q. */
void s3_req_release(struct s3_req *q);
/* Adds a header to send and sign (ignored past S3_MAX_HEADERS); name and
 * value are borrowed until q is released. */
void s3_req_header(struct s3_req *q, const char *name, const char *value);
/*
 * Sends q, retrying what may be retried. 0 for a 2xx answer; else a
 * negative errno (-EHOSTDOWN: the server cannot be reached), logged but
 * for a 404, 412 or 416. q keeps the status, S3's error code and the
 * headers that came back.
 */
int s3_call(struct s3 *s, struct s3_req *q) CD_WUR;

/* ------------------------------------------------------------ s3_list.c */

/*
 * One ListObjectsV2 page of the keys under prefix, grouped by '/' if
 * delim, at most max_keys (0: the server's page size), from token (NULL:
 * the first page). Its items go to fn, as s3_xml_list() hands them out;
 * *more says whether another page follows, *next (caller frees) its
 * token. what names the listing in messages.
 */
int s3_list_page(struct s3 *s, const char *prefix, const char *delim,
		 int max_keys, const char *token, s3_list_fn fn,
		 void *arg, bool *more, char **next, const char *what) CD_WUR;
/* remote_ops.list */
int s3_list(struct remote *r, const char *dir, remote_list_fn fn,
	    void *arg) CD_WUR;

/* ---------------------------------------------------------- s3_upload.c */

/* remote_ops.put, .abandon and .copy */
int s3_put(struct remote *r, const char *path, int fd, uint64_t size,
	   const struct remote_meta *meta, const char *match,
	   const struct remote_resume *resume,
	   remote_progress_fn progress, void *arg,
	   struct remote_attr *out) CD_WUR;
void s3_abandon(struct remote *r, const char *path,
		const char *state);
int s3_copy(struct remote *r, const char *from, const char *etag,
	    const char *to, const struct remote_meta *meta,
	    struct remote_attr *out) CD_WUR;
/*
 * Copies key from (size bytes) to key to on the server, with mode (the
 * whole st_mode) and meta's owner and mtime, or with the source's
 * metadata if meta is NULL. etag,
 * if set, is the version the source must have (checked by the server on
 * a CopyObject, not on a copy in parts). out->etag gets the copy's.
 */
int s3_copy_key(struct s3 *s, const char *from, const char *to,
		const char *what, const char *etag, uint64_t size,
		uint32_t mode, const struct remote_meta *meta,
		struct remote_attr *out) CD_WUR;

#endif
