/*
 * AWS Signature Version 4 for S3: the Authorization header of a request
 * whose payload is sent in one piece (signed, or UNSIGNED-PAYLOAD).
 *
 * We sign ourselves, with HMAC-SHA256 from libcrypto, because libcurl's
 * own signer (CURLOPT_AWS_SIGV4, 7.88) gets S3 wrong in ways that RGW
 * rejects: it leaves out x-amz-content-sha256, does not sort the query,
 * signs "?uploads" without its '=', and sorts signed headers as
 * "name:value", which puts x-amz-copy-source-range before
 * x-amz-copy-source. So the rules that matter here are exactly those:
 * the query sorted by name then value with bare names given '=', the
 * headers sorted by the name alone, x-amz-content-sha256 always signed.
 *
 * The steps are the documented ones:
 *   canonical request  METHOD \n PATH \n QUERY \n NAME:VALUE \n ... \n
 *                      \n SIGNED-NAMES \n PAYLOAD-HASH
 *   string to sign     AWS4-HMAC-SHA256 \n DATETIME \n SCOPE \n
 *                      hex(SHA-256(canonical request))
 *   signing key        HMAC("AWS4" SECRET, DATE) -> REGION -> SERVICE
 *                      -> "aws4_request"
 *   signature          hex(HMAC(signing key, string to sign))
 * Path and query are signed as given, never re-encoded: what is signed
 * must be byte for byte what is sent, so the caller encodes once, with
 * s3_uri_encode(), and hands us the result.
 *
 * The secret key and every key derived from it live in buffers wiped
 * before we return. Nothing here logs; failures are only error codes.
 */
#include "common.h"

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "remote/s3_int.h"
#include "util/util.h"

#define SIGN_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGN_KEY_LEN 32		/* SHA-256 output, the size of every key */

/* One header to sign, as it goes into the canonical request. */
struct sign_hdr {
	char *name;		/* lower-cased */
	char *value;		/* trimmed, inner runs of blanks squeezed */
	size_t order;		/* position given: keeps duplicates in order */
};

/* One query parameter, pointing into a copy of the query. */
struct sign_param {
	const char *name;
	const char *value;	/* "" for a bare name */
};


static int sign_sha256(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) ||
	    n != SIGN_KEY_LEN)
		return -ENOMEM;
	util_hex(md, n, out);
	return 0;
}

void s3_sha256_hex(const void *data, size_t len, char out[65])
{
	/*
	 * libcrypto hashing in memory fails only when it cannot allocate
	 * its context; like xmalloc(), we do not go on without memory.
	 */
	if (sign_sha256(data, len, out) < 0)
		abort();
}

static int sign_hmac(const void *key, size_t keylen, const void *data,
		     size_t len, unsigned char out[SIGN_KEY_LEN])
{
	unsigned int n = 0;

	if (keylen > INT_MAX ||
	    !HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) ||
	    n != SIGN_KEY_LEN)
		return -ENOMEM;
	return 0;
}

static bool sign_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

char *s3_uri_encode(const char *s, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	char *out = xmalloc(3 * strlen(s) + 1);
	char *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (sign_unreserved(c) || (c == '/' && keep_slash)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = digits[c >> 4];
			*o++ = digits[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Whether c may be in a header name (an RFC 9110 token). */
static bool sign_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Whether s can go into one header line and one line of the canonical
 * request: a CR or LF would end the line early, and in a header line
 * would let the rest pose as another header.
 */
static bool sign_one_line(const char *s)
{
	return !strpbrk(s, "\r\n");
}

static bool sign_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The value as signed: ends trimmed, each inner run of blanks one space
 * (tabs count, as HTTP's optional whitespace and botocore's split() do).
 */
static char *sign_squeeze(const char *v)
{
	char *out = xmalloc(strlen(v) + 1);
	char *o = out;

	while (sign_blank(*v))
		v++;
	while (*v) {
		if (sign_blank(*v)) {
			while (sign_blank(*v))
				v++;
			if (*v)
				*o++ = ' ';
			continue;
		}
		*o++ = *v++;
	}
	*o = '\0';
	return out;
}

/* Adds one header to h[*n], lower-casing the name. -EINVAL if bad. */
static int sign_hdr_add(struct sign_hdr *h, size_t *n, const char *name,
			const char *value)
{
	char *lname;
	size_t i;

	if (!name || !*name || !value || !sign_one_line(value))
		return -EINVAL;
	lname = xstrdup(name);
	for (i = 0; lname[i]; i++) {
		unsigned char c = (unsigned char)lname[i];

		if (!sign_tchar(c)) {
			free(lname);
			return -EINVAL;
		}
		if (c >= 'A' && c <= 'Z')
			lname[i] = (char)(c - 'A' + 'a');
	}
	h[*n].name = lname;
	h[*n].value = sign_squeeze(value);
	h[*n].order = *n;
	(*n)++;
	return 0;
}

static int sign_hdr_cmp(const void *a, const void *b)
{
	const struct sign_hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void sign_hdrs_free(struct sign_hdr *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		/* the session token is among them */
		OPENSSL_cleanse(h[i].value, strlen(h[i].value));
		free(h[i].value);
	}
	free(h);
}

/*
 * The headers to sign: the caller's, then the signer's own, sorted by
 * name alone (so a name sorts before every name it is a prefix of) and,
 * for equal names, in the order given. A caller header that takes one
 * of the signer's names is -EINVAL: we would sign two values for it.
 */
static int sign_collect(const struct s3_sign_req *r, const char *amz_date,
			const char *token, struct sign_hdr **out,
			size_t *nout)
{
	struct sign_hdr *h = xcalloc(r->nheaders + 3, sizeof(*h));
	size_t n = 0, i;
	int rc;

	for (i = 0; i < r->nheaders; i++) {
		rc = sign_hdr_add(h, &n, r->headers[i].name,
				  r->headers[i].value);
		if (rc < 0)
			goto out_free;
		if (!strcmp(h[n - 1].name, "x-amz-date") ||
		    !strcmp(h[n - 1].name, "x-amz-content-sha256") ||
		    !strcmp(h[n - 1].name, "x-amz-security-token")) {
			rc = -EINVAL;
			goto out_free;
		}
	}
	rc = sign_hdr_add(h, &n, "x-amz-date", amz_date);
	if (rc == 0)
		rc = sign_hdr_add(h, &n, "x-amz-content-sha256",
				  r->payload_hash);
	if (rc == 0 && token)
		rc = sign_hdr_add(h, &n, "x-amz-security-token", token);
	if (rc < 0)
		goto out_free;
	qsort(h, n, sizeof(*h), sign_hdr_cmp);
	*out = h;
	*nout = n;
	return 0;
out_free:
	sign_hdrs_free(h, n);
	return rc;
}

/*
 * Appends the canonical headers to t ("name:v1,v2\n" per name, duplicate
 * values joined with ',') and returns the signed header list
 * ("host;range;...").
 */
static char *sign_canonical_headers(struct textbuf *t,
				    const struct sign_hdr *h, size_t n)
{
	struct textbuf names = { NULL, 0 };
	size_t i = 0;

	while (i < n) {
		textbuf_add(t, "%s:%s", h[i].name, h[i].value);
		textbuf_add(&names, "%s%s", i ? ";" : "", h[i].name);
		for (i++; i < n && !strcmp(h[i].name, h[i - 1].name); i++)
			textbuf_add(t, ",%s", h[i].value);
		textbuf_add(t, "\n");
	}
	return names.s ? names.s : xstrdup("");
}

static int sign_param_cmp(const void *a, const void *b)
{
	const struct sign_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/*
 * The canonical query: the parameters of q (already encoded, so split on
 * '&' and the first '=' only) sorted by name, then value, in byte order,
 * each as "name=value" even when it came bare. Empty pieces ("a&&b")
 * are dropped: they carry nothing a server could sign.
 */
static char *sign_canonical_query(const char *q)
{
	struct textbuf t = { NULL, 0 };
	struct sign_param *v;
	char *copy, *p, *save = NULL;
	size_t n = 1, i;

	if (!q || !*q)
		return xstrdup("");
	for (p = strchr(q, '&'); p; p = strchr(p + 1, '&'))
		n++;
	v = xcalloc(n, sizeof(*v));
	copy = xstrdup(q);
	n = 0;
	for (p = strtok_r(copy, "&", &save); p;
	     p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');

		v[n].name = p;
		v[n].value = "";
		if (eq) {
			*eq = '\0';
			v[n].value = eq + 1;
		}
		n++;
	}
	qsort(v, n, sizeof(*v), sign_param_cmp);
	for (i = 0; i < n; i++)
		textbuf_add(&t, "%s%s=%s", i ? "&" : "", v[i].name,
			    v[i].value);
	free(v);
	free(copy);
	return t.s ? t.s : xstrdup("");
}

/*
 * hex(HMAC(signing key, sts)): each step's HMAC is the key of the next,
 * from "AWS4" SECRET over the date to the signing key over sts.
 */
static int sign_signature(const char *secret, const char *date,
			  const char *region, const char *service,
			  const char *sts, char out[65])
{
	const char *const steps[] = { region, service, "aws4_request", sts };
	unsigned char k[SIGN_KEY_LEN], next[SIGN_KEY_LEN];
	char *seed = xasprintf("AWS4%s", secret);
	size_t i;
	int rc;

	rc = sign_hmac(seed, strlen(seed), date, strlen(date), k);
	for (i = 0; rc == 0 && i < CD_ARRAY_SIZE(steps); i++) {
		rc = sign_hmac(k, sizeof(k), steps[i], strlen(steps[i]),
			       next);
		memcpy(k, next, sizeof(k));
	}
	if (rc == 0)
		util_hex(k, sizeof(k), out);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(next, sizeof(next));
	OPENSSL_cleanse(seed, strlen(seed));
	free(seed);
	return rc;
}

/* Whether the fields of r and p that reach the request are usable. */
static bool sign_req_ok(const struct s3_sign_req *r,
			const struct s3_profile *p)
{
	const char *const must[] = {
		r->method, r->path, r->payload_hash, r->region, r->service,
		p->access_key, p->secret_key,
	};
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(must); i++)
		if (!must[i] || !sign_one_line(must[i]))
			return false;
	if (!*r->method || !*r->payload_hash || !*r->region ||
	    !*r->service || !*p->access_key)
		return false;
	if (r->query && !sign_one_line(r->query))
		return false;
	return !r->nheaders || r->headers;
}

int s3_sign(const struct s3_sign_req *r, const struct s3_profile *p,
	    struct s3_signed *out)
{
	char amz_date[S3_AMZ_DATE_LEN + 1], date[S3_DATE_LEN + 1];
	char creq_hash[65], sig[65];
	const char *token = NULL;
	struct textbuf creq = { NULL, 0 }, sts = { NULL, 0 };
	struct sign_hdr *hdrs;
	size_t nhdrs;
	char *query, *names, *scope;
	struct tm tm;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sign_req_ok(r, p))
		return -EINVAL;
	if (p->session_token && *p->session_token)
		token = p->session_token;
	if (!gmtime_r(&r->when, &tm) ||
	    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm) !=
		    S3_AMZ_DATE_LEN)
		return -EINVAL;
	memcpy(date, amz_date, S3_DATE_LEN);
	date[S3_DATE_LEN] = '\0';

	rc = sign_collect(r, amz_date, token, &hdrs, &nhdrs);
	if (rc < 0)
		return rc;
	query = sign_canonical_query(r->query);
	textbuf_add(&creq, "%s\n%s\n%s\n", r->method,
		    *r->path ? r->path : "/", query);
	names = sign_canonical_headers(&creq, hdrs, nhdrs);
	textbuf_add(&creq, "\n%s\n%s", names, r->payload_hash);
	rc = sign_sha256(creq.s, creq.len, creq_hash);
	if (rc < 0)
		goto out_free;

	scope = xasprintf("%s/%s/%s/aws4_request", date, r->region,
			  r->service);
	textbuf_add(&sts, SIGN_ALGORITHM "\n%s\n%s\n%s", amz_date, scope,
		    creq_hash);
	rc = sign_signature(p->secret_key, date, r->region, r->service,
			    sts.s, sig);
	if (rc == 0) {
		out->authorization = xasprintf(
			"Authorization: " SIGN_ALGORITHM
			" Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			p->access_key, scope, names, sig);
		out->amz_date = xasprintf("x-amz-date: %s", amz_date);
		out->content_sha256 = xasprintf("x-amz-content-sha256: %s",
						r->payload_hash);
		if (token)
			out->security_token = xasprintf(
				"x-amz-security-token: %s", token);
	}
	free(scope);
	free(sts.s);
out_free:
	/* the canonical request holds the session token, if any */
	OPENSSL_cleanse(creq.s, creq.len);
	free(creq.s);
	free(names);
	free(query);
	sign_hdrs_free(hdrs, nhdrs);
	return rc;
}

void s3_signed_release(struct s3_signed *s)
{
	free(s->authorization);
	free(s->amz_date);
	free(s->content_sha256);
	if (s->security_token)
		OPENSSL_cleanse(s->security_token, strlen(s->security_token));
	free(s->security_token);
	memset(s, 0, sizeof(*s));
}
