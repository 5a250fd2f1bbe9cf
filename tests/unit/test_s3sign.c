/*
 * Unit test of the S3 backend's signer (s3_sign.c) and of how it finds
 * its credentials (s3_cred.c).
 *
 * The signer is checked against the four examples AWS publishes in
 * "Signature Calculations for the Authorization Header: Transferring
 * Payload in a Single Chunk (AWS Signature Version 4)",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * and against two requests of our own that hit the rules libcurl's
 * signer breaks (see the comments there for how their expected values
 * were computed without this code). The profile loader runs on files
 * written to a mkdtemp() directory, with the AWS_* variables set and
 * unset here; HOME points into that directory so ~/.aws is never read.
 * Runs as root too: no check relies on permission bits alone.
 */
#include "common.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#include "remote/s3_int.h"
#include "util/util.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_HOST "examplebucket.s3.amazonaws.com"
/* 20130524T000000Z, the time of the AWS examples */
#define EXAMPLE_TIME ((time_t)1369353600)
#define EXAMPLE_CRED "Credential=" AK "/20130524/us-east-1/s3/aws4_request"

static const struct s3_profile example_keys = {
	.access_key = AK,
	.secret_key = SK,
};

/* The hex signature at the end of an Authorization line, or "". */
static const char *signature_of(const struct s3_signed *s)
{
	const char *p = s->authorization ?
				strstr(s->authorization, "Signature=") :
				NULL;

	return p ? p + strlen("Signature=") : "";
}

/* A request of the AWS examples, with its fixed region and time. */
static struct s3_sign_req example_req(const char *method, const char *path,
				      const char *query,
				      const struct s3_header *h, size_t n,
				      const char *payload_hash)
{
	struct s3_sign_req r = {
		.method = method,
		.path = path,
		.query = query,
		.headers = h,
		.nheaders = n,
		.payload_hash = payload_hash,
		.region = "us-east-1",
		.service = "s3",
		.when = EXAMPLE_TIME,
	};

	return r;
}

/* Signs r with p; the signature, or "error" if signing failed. */
static char *sign_sig(const struct s3_sign_req *r, const struct s3_profile *p)
{
	struct s3_signed s;
	char *sig;

	if (s3_sign(r, p, &s) < 0)
		sig = xstrdup("error");
	else
		sig = xstrdup(signature_of(&s));
	s3_signed_release(&s);
	return sig;
}

static void test_sha256(void)
{
	char hex[65];

	s3_sha256_hex("", 0, hex);
	CHECK(!strcmp(hex, S3_EMPTY_SHA256));
	/* FIPS 180-2, appendix B.1 */
	s3_sha256_hex("abc", 3, hex);
	CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
			   "b00361a396177a9cb410ff61f20015ad"));
	/* the body of the AWS PUT Object example, and its published hash */
	s3_sha256_hex("Welcome to Amazon S3.", 21, hex);
	CHECK(!strcmp(hex, "44ce7dd67c959e0d3524ffac1771dfbb"
			   "a87d2b6b4b4e99e42034a8b803f8b072"));
}

/* Example: GET Object, the first 10 bytes of test.txt. */
static void test_aws_get_object(void)
{
	const struct s3_header h[] = {
		{ "Host", EXAMPLE_HOST },
		{ "Range", "bytes=0-9" },
	};
	/* the same, names in other cases and the other order */
	const struct s3_header h2[] = {
		{ "range", "bytes=0-9" },
		{ "HOST", EXAMPLE_HOST },
	};
	struct s3_sign_req r = example_req("GET", "/test.txt", NULL, h, 2,
					   S3_EMPTY_SHA256);
	struct s3_signed s;
	char *sig;

	CHECK(s3_sign(&r, &example_keys, &s) == 0);
	CHECK(s.authorization &&
	      !strcmp(s.authorization,
		      "Authorization: AWS4-HMAC-SHA256 " EXAMPLE_CRED
		      ", SignedHeaders=host;range;x-amz-content-sha256;"
		      "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed31"
		      "0bd44f0170aba48dd91039c6036bdb41"));
	CHECK(s.amz_date &&
	      !strcmp(s.amz_date, "x-amz-date: 20130524T000000Z"));
	CHECK(s.content_sha256 &&
	      !strcmp(s.content_sha256,
		      "x-amz-content-sha256: " S3_EMPTY_SHA256));
	CHECK(s.security_token == NULL);
	s3_signed_release(&s);
	CHECK(s.authorization == NULL && s.amz_date == NULL);

	r.headers = h2;
	sig = sign_sig(&r, &example_keys);
	CHECK(!strcmp(sig, "f0e8bdb87c964420e857bd35b5d6ed31"
			   "0bd44f0170aba48dd91039c6036bdb41"));
	free(sig);
}

/* Example: PUT Object, "Welcome to Amazon S3." as test$file.text. */
static void test_aws_put_object(void)
{
	const struct s3_header h[] = {
		{ "Host", EXAMPLE_HOST },
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
	};
	char *path = s3_uri_encode("test$file.text", false);
	char *full = xasprintf("/%s", path);
	char hash[65];
	struct s3_sign_req r;
	struct s3_signed s;

	s3_sha256_hex("Welcome to Amazon S3.", 21, hash);
	r = example_req("PUT", full, NULL, h, 3, hash);
	CHECK(!strcmp(full, "/test%24file.text"));
	CHECK(s3_sign(&r, &example_keys, &s) == 0);
	CHECK(s.authorization &&
	      strstr(s.authorization,
		     " SignedHeaders=date;host;x-amz-content-sha256;"
		     "x-amz-date;x-amz-storage-class, "));
	CHECK(!strcmp(signature_of(&s), "98ad721746da40c64f1a55b78f14c238"
					"d841ea1380cd77a1b5971af0ece108bd"));
	CHECK(s.content_sha256 &&
	      !strcmp(s.content_sha256,
		      "x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbb"
		      "a87d2b6b4b4e99e42034a8b803f8b072"));
	s3_signed_release(&s);
	free(full);
	free(path);
}

/* Example: GET Bucket Lifecycle ("?lifecycle", a bare name) and
 * Example: GET Bucket (List Objects) ("?max-keys=2&prefix=J"). */
static void test_aws_bucket_examples(void)
{
	const struct s3_header h[] = { { "Host", EXAMPLE_HOST } };
	static const char lifecycle[] = "fea454ca298b7da1c68078a5d1bdbfbb"
					"e0d65c699e0f91ac7a200a0136783543";
	static const char list[] = "34b48302e7b5fa45bde8084f4b7868a8"
				   "6f0a534bc59db6670ed5711ef69dc6f7";
	/* the path "" is "/"; the query in any order, bare or with '=' */
	static const struct {
		const char *path;
		const char *query;
		const char *sig;
	} cases[] = {
		{ "/", "lifecycle", lifecycle },
		{ "", "lifecycle", lifecycle },
		{ "/", "lifecycle=", lifecycle },
		{ "/", "max-keys=2&prefix=J", list },
		{ "/", "prefix=J&max-keys=2", list },
		{ "/", "&prefix=J&&max-keys=2&", list },
	};
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(cases); i++) {
		struct s3_sign_req r = example_req("GET", cases[i].path,
						   cases[i].query, h, 1,
						   S3_EMPTY_SHA256);
		char *sig = sign_sig(&r, &example_keys);

		if (strcmp(sig, cases[i].sig))
			printf("# case %zu: %s\n", i, sig);
		CHECK(!strcmp(sig, cases[i].sig));
		free(sig);
	}
}

/*
 * UploadPartCopy with a session token: x-amz-copy-source must sort before
 * x-amz-copy-source-range (a name before the names it is a prefix of;
 * libcurl sorts "name:value" and gets it the other way), and the query
 * is sorted. The expected signature was computed from this canonical
 * request with openssl alone (a shell script of printf, `openssl dgst
 * -sha256` and `openssl dgst -sha256 -mac HMAC -macopt hexkey:...` for
 * the key chain; the same script gives f0e8bdb8... for the AWS GET
 * Object example, so it is right):
 *
 *   PUT
 *   /examplebucket/dst%20key
 *   partNumber=2&uploadId=abc
 *   host:127.0.0.1:7480
 *   x-amz-content-sha256:UNSIGNED-PAYLOAD
 *   x-amz-copy-source:/examplebucket/src%20key
 *   x-amz-copy-source-range:bytes=0-9
 *   x-amz-date:20261122T101500Z
 *   x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN+/=
 *
 *   host;x-amz-content-sha256;x-amz-copy-source;x-amz-copy-source-range;
 *   x-amz-date;x-amz-security-token          (one line)
 *   UNSIGNED-PAYLOAD
 *
 * with secret SK, scope 20261122/eu-central-1/s3/aws4_request.
 */
static void test_copy_source_order(void)
{
	const struct s3_header h[] = {
		{ "Host", "127.0.0.1:7480" },
		{ "x-amz-copy-source-range", "bytes=0-9" },
		{ "x-amz-copy-source", "/examplebucket/src%20key" },
	};
	const struct s3_profile p = {
		.access_key = AK,
		.secret_key = SK,
		.session_token = "FQoGZXIvYXdzEXAMPLETOKEN+/=",
	};
	struct s3_sign_req r = {
		.method = "PUT",
		.path = "/examplebucket/dst%20key",
		.query = "uploadId=abc&partNumber=2",
		.headers = h,
		.nheaders = 3,
		.payload_hash = S3_UNSIGNED_PAYLOAD,
		.region = "eu-central-1",
		.service = "s3",
		.when = 1795342500,	/* 2026-11-22T10:15:00Z */
	};
	struct s3_signed s;

	CHECK(s3_sign(&r, &p, &s) == 0);
	CHECK(s.authorization &&
	      !strcmp(s.authorization,
		      "Authorization: AWS4-HMAC-SHA256 Credential=" AK
		      "/20261122/eu-central-1/s3/aws4_request, SignedHeaders="
		      "host;x-amz-content-sha256;x-amz-copy-source;"
		      "x-amz-copy-source-range;x-amz-date;"
		      "x-amz-security-token, Signature="
		      "a2799b9e51ab8b3cc9e56a34cbc9fc7e"
		      "bd03c4b63dffc6d0abf0100bcf5ae653"));
	CHECK(s.amz_date &&
	      !strcmp(s.amz_date, "x-amz-date: 20261122T101500Z"));
	CHECK(s.content_sha256 && !strcmp(s.content_sha256,
					  "x-amz-content-sha256: "
					  "UNSIGNED-PAYLOAD"));
	CHECK(s.security_token &&
	      !strcmp(s.security_token,
		      "x-amz-security-token: FQoGZXIvYXdzEXAMPLETOKEN+/="));
	s3_signed_release(&s);
	CHECK(s.security_token == NULL);
}

/*
 * CreateMultipartUpload ("?uploads", bare) with a query of traps: a name
 * that is a prefix of another ("a" before "a-b", though "a-b=1" sorts
 * before "a=2" as whole strings), a repeated name sorted by value, a
 * value holding '='. Header values with blanks to trim and squeeze, and
 * a name given twice in two cases, joined in the order given. Computed
 * with openssl as above from:
 *
 *   POST
 *   /examplebucket/photos/a%20b.jpg
 *   a=1&a=2&a-b=1&uploads=&x=a=b
 *   content-type:image/jpeg
 *   host:examplebucket.s3.amazonaws.com
 *   x-amz-content-sha256:e3b0c442...(S3_EMPTY_SHA256)
 *   x-amz-date:20130524T000000Z
 *   x-amz-meta-list:a,b c
 *   x-amz-meta-note:two words and more
 *
 *   content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-list;
 *   x-amz-meta-note                          (one line)
 *   e3b0c442...(S3_EMPTY_SHA256)
 *
 * with secret SK, scope 20130524/us-east-1/s3/aws4_request.
 */
static void test_query_and_header_rules(void)
{
	static const char want[] = "78d079ea92c0892f0803c0b26927f11d"
				   "2fc7c5455d57d309dad6cf71a43cc218";
	const struct s3_header h[] = {
		{ "Host", EXAMPLE_HOST },
		{ "X-Amz-Meta-Note", "  two   words\t and  more  " },
		{ "x-amz-meta-list", "a" },
		{ "Content-Type", "image/jpeg" },
		{ "X-AMZ-META-LIST", "  b  c " },
	};
	/* the same request written plainly: what it must equal */
	const struct s3_header plain[] = {
		{ "content-type", "image/jpeg" },
		{ "host", EXAMPLE_HOST },
		{ "x-amz-meta-list", "a,b c" },
		{ "x-amz-meta-note", "two words and more" },
	};
	/* the duplicates given the other way round: b c,a differs */
	const struct s3_header swapped[] = {
		{ "Host", EXAMPLE_HOST },
		{ "X-Amz-Meta-Note", "two words and more" },
		{ "X-AMZ-META-LIST", "b c" },
		{ "Content-Type", "image/jpeg" },
		{ "x-amz-meta-list", "a" },
	};
	struct s3_sign_req r = example_req("POST",
					   "/examplebucket/photos/a%20b.jpg",
					   "uploads&x=a=b&a-b=1&a=2&a=1", h,
					   CD_ARRAY_SIZE(h), S3_EMPTY_SHA256);
	struct s3_signed s;
	char *sig;

	CHECK(s3_sign(&r, &example_keys, &s) == 0);
	CHECK(s.authorization &&
	      strstr(s.authorization,
		     " SignedHeaders=content-type;host;x-amz-content-sha256;"
		     "x-amz-date;x-amz-meta-list;x-amz-meta-note, "));
	CHECK(!strcmp(signature_of(&s), want));
	s3_signed_release(&s);

	r.headers = plain;
	r.nheaders = CD_ARRAY_SIZE(plain);
	r.query = "a=1&a=2&a-b=1&uploads=&x=a=b";
	sig = sign_sig(&r, &example_keys);
	CHECK(!strcmp(sig, want));
	free(sig);

	r.headers = swapped;
	r.nheaders = CD_ARRAY_SIZE(swapped);
	sig = sign_sig(&r, &example_keys);
	CHECK(strcmp(sig, want) && strcmp(sig, "error"));
	free(sig);

	/* values are signed as given, never re-encoded */
	r.headers = plain;
	r.nheaders = CD_ARRAY_SIZE(plain);
	r.query = "a=1&a=2&a-b=1&uploads=&x=a%3Db";
	sig = sign_sig(&r, &example_keys);
	CHECK(strcmp(sig, want) && strcmp(sig, "error"));
	free(sig);
}

/* What s3_sign() refuses, and that a refusal leaves out releasable. */
static void test_sign_errors(void)
{
	struct s3_header h[] = {
		{ "Host", EXAMPLE_HOST },
		{ "", "" },
	};
	static const char *const bad_names[] = {
		"", "bad name", "bad:name", "bad\nname", "x-amz-date",
		"X-Amz-Content-Sha256", "x-amz-security-token",
	};
	struct s3_sign_req r = example_req("GET", "/k", NULL, h, 2,
					   S3_EMPTY_SHA256);
	struct s3_profile anon = { 0 };
	struct s3_signed s;
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(bad_names); i++) {
		h[1].name = bad_names[i];
		h[1].value = "v";
		CHECK(s3_sign(&r, &example_keys, &s) == -EINVAL);
		CHECK(s.authorization == NULL && s.security_token == NULL);
		s3_signed_release(&s);
	}
	/* a value that would end the header line early */
	h[1].name = "x-amz-meta-a";
	h[1].value = "one\r\nx-amz-meta-b: two";
	CHECK(s3_sign(&r, &example_keys, &s) == -EINVAL);
	s3_signed_release(&s);
	h[1].value = "fine";
	CHECK(s3_sign(&r, &example_keys, &s) == 0);
	s3_signed_release(&s);

	r.method = NULL;
	CHECK(s3_sign(&r, &example_keys, &s) == -EINVAL);
	s3_signed_release(&s);
	r.method = "GET";
	r.path = NULL;
	CHECK(s3_sign(&r, &example_keys, &s) == -EINVAL);
	s3_signed_release(&s);
	r.path = "/k";
	CHECK(s3_sign(&r, &anon, &s) == -EINVAL);
	s3_signed_release(&s);
}

static void check_encode(const char *in, bool keep_slash, const char *want)
{
	char *got = s3_uri_encode(in, keep_slash);

	if (strcmp(got, want))
		printf("# s3_uri_encode(\"%s\") = \"%s\"\n", in, got);
	CHECK(!strcmp(got, want));
	free(got);
}

static void test_uri_encode(void)
{
	check_encode("", true, "");
	check_encode("AZaz09-._~", false, "AZaz09-._~");
	check_encode("a b", true, "a%20b");
	check_encode("a+b", true, "a%2Bb");
	check_encode("!*'();:@&=$,?#[]%", true,
		     "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D%25");
	check_encode("\"<>\\^`{|}", true, "%22%3C%3E%5C%5E%60%7B%7C%7D");
	check_encode("dir/sub dir/f", true, "dir/sub%20dir/f");
	check_encode("dir/sub dir/f", false, "dir%2Fsub%20dir%2Ff");
	check_encode("/", false, "%2F");
	/* UTF-8 bytes, each encoded, upper-case hex */
	check_encode("caf\xc3\xa9 \xe2\x82\xac", true, "caf%C3%A9%20%E2%82%AC");
	check_encode("\x01\x7f\xff", true, "%01%7F%FF");
}

/* ------------------------------------------------------------ profiles */

static char base[] = "/tmp/test_s3sign.XXXXXX";

static void die(const char *what)
{
	fprintf(stderr, "test setup failed: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Writes base/name; returns its path (caller frees). */
static char *write_file(const char *name, const char *data)
{
	char *path = xasprintf("%s/%s", base, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		die(path);
	if (util_pwrite_all(fd, data, strlen(data), 0) < 0)
		die(path);
	close(fd);
	return path;
}

static const char *const aws_vars[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
	"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
};

/* No AWS_* variable, and a HOME without .aws. */
static void env_reset(void)
{
	char *home = xasprintf("%s/home", base);
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(aws_vars); i++)
		unsetenv(aws_vars[i]);
	setenv("HOME", home, 1);
	free(home);
}

static bool same(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* Every secret the files and variables below hold: none may reach err. */
static const char *const secrets[] = {
	"SECRETdefault", "SECRETwork", "SECRETcfg", "SECRETenv", "TOKENwork",
	"TOKENenv", "SECRETbroken", "SECRETpasted",
};

static bool err_is_clean(const char *err)
{
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(secrets); i++)
		if (strstr(err, secrets[i]))
			return false;
	return true;
}

static const char credentials_text[] =
	"# comment line\n"
	"; another comment\n"
	"\n"
	"[default]\n"
	"aws_access_key_id=AKIDdefault\n"
	"aws_secret_access_key   =    SECRETdefault   \n"
	"\n"
	"[work]  \r\n"
	"aws_access_key_id = AKIDwork\r\n"
	"AWS_SECRET_ACCESS_KEY = SECRETwork\r\n"
	"aws_session_token = TOKENwork\r\n"
	"\r\n"
	"[both]\n"
	"aws_access_key_id = AKIDboth-cred\n"
	"aws_secret_access_key = SECRETdefault\n"
	"region = region-from-credentials\n";

static const char config_text[] =
	"[default]\n"
	"region = us-west-2\n"
	"output = json\n"
	"\n"
	"# [work] is no profile in the config file: its lines do not count\n"
	"[work]\n"
	"region = wrong-region\n"
	"endpoint_url = http://wrong\n"
	"\n"
	"[profile work]\n"
	"region = eu-central-1\n"
	"endpoint_url = http://127.0.0.1:7480\n"
	"s3 =\n"
	"  endpoint_url = http://nested.example\n"
	"\n"
	"  addressing_style = path\n"
	"\n"
	"[profile   cfgonly]\n"
	"aws_access_key_id: AKIDcfg\n"
	"aws_secret_access_key: SECRETcfg\n"
	"\n"
	"[profile both]\n"
	"aws_access_key_id = AKIDboth-cfg\n"
	"aws_secret_access_key = SECRETcfg\n"
	"region = region-from-config\n"
	"endpoint_url = http://both\n"
	"\n"
	"[profile indented]\n"
	"  region = ap-south-1\n"
	"  endpoint_url = http://indented\n"
	"\n"
	"[profile halfkey]\n"
	"aws_access_key_id = AKIDhalf\n";

static void test_profile_files(const char *cred, const char *conf)
{
	struct s3_profile p;
	char err[512];
	char *src;
	int rc;

	env_reset();
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);

	/* [default] of both files */
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.access_key, "AKIDdefault"));
	CHECK(same(p.secret_key, "SECRETdefault"));
	CHECK(p.session_token == NULL);
	CHECK(same(p.region, "us-west-2"));
	CHECK(p.endpoint == NULL);
	src = xasprintf("profile default in %s", cred);
	CHECK(same(p.source, src));
	free(src);
	s3_profile_release(&p);
	CHECK(p.access_key == NULL && p.source == NULL);

	/* AWS_PROFILE: [work] in credentials, [profile work] in config;
	 * the nested s3 endpoint_url is not the profile's */
	setenv("AWS_PROFILE", "work", 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.access_key, "AKIDwork"));
	CHECK(same(p.secret_key, "SECRETwork"));
	CHECK(same(p.session_token, "TOKENwork"));
	CHECK(same(p.region, "eu-central-1"));
	CHECK(same(p.endpoint, "http://127.0.0.1:7480"));
	s3_profile_release(&p);

	/* the argument beats AWS_PROFILE; keys from the config file */
	CHECK(s3_profile_load(&p, "cfgonly", err, sizeof(err)) == 0);
	CHECK(same(p.access_key, "AKIDcfg"));
	CHECK(same(p.secret_key, "SECRETcfg"));
	CHECK(p.region == NULL);
	src = xasprintf("profile cfgonly in %s", conf);
	CHECK(same(p.source, src));
	free(src);
	s3_profile_release(&p);

	/* AWS_DEFAULT_PROFILE when AWS_PROFILE is unset */
	unsetenv("AWS_PROFILE");
	setenv("AWS_DEFAULT_PROFILE", "work", 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.access_key, "AKIDwork"));
	s3_profile_release(&p);
	unsetenv("AWS_DEFAULT_PROFILE");

	/* in both files, the credentials file wins, item by item */
	CHECK(s3_profile_load(&p, "both", err, sizeof(err)) == 0);
	CHECK(same(p.access_key, "AKIDboth-cred"));
	CHECK(same(p.region, "region-from-credentials"));
	CHECK(same(p.endpoint, "http://both"));
	s3_profile_release(&p);

	/* key lines indented alike are keys, not continuations */
	CHECK(s3_profile_load(&p, "indented", err, sizeof(err)) == 0);
	CHECK(p.access_key == NULL);
	CHECK(same(p.region, "ap-south-1"));
	CHECK(same(p.endpoint, "http://indented"));
	s3_profile_release(&p);

	/* half a key pair is an error naming the profile and file */
	rc = s3_profile_load(&p, "halfkey", err, sizeof(err));
	CHECK(rc == -EINVAL);
	CHECK(strstr(err, "halfkey") && strstr(err, conf));
	CHECK(p.access_key == NULL);

	/* the environment's keys beat every file */
	setenv("AWS_PROFILE", "work", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDenv", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SECRETenv", 1);
	setenv("AWS_SESSION_TOKEN", "TOKENenv", 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.access_key, "AKIDenv"));
	CHECK(same(p.secret_key, "SECRETenv"));
	CHECK(same(p.session_token, "TOKENenv"));
	CHECK(same(p.source, "environment"));
	CHECK(same(p.region, "eu-central-1"));	/* still the profile's */
	s3_profile_release(&p);
	/* without a secret the pair is broken, not taken from a file */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL);
	CHECK(err_is_clean(err));
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SESSION_TOKEN");

	/* region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile */
	setenv("AWS_DEFAULT_REGION", "region-default-var", 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.region, "region-default-var"));
	s3_profile_release(&p);
	setenv("AWS_REGION", "region-var", 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.region, "region-var"));
	s3_profile_release(&p);

	/* endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile */
	setenv("AWS_ENDPOINT_URL", "http://any-service", 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.endpoint, "http://any-service"));
	s3_profile_release(&p);
	setenv("AWS_ENDPOINT_URL_S3", "http://s3-only", 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.endpoint, "http://s3-only"));
	s3_profile_release(&p);

	/* a named profile that exists nowhere */
	rc = s3_profile_load(&p, "nosuch", err, sizeof(err));
	CHECK(rc == -ENOENT);
	CHECK(strstr(err, "nosuch") && strstr(err, cred) && strstr(err, conf));
	CHECK(p.access_key == NULL && p.region == NULL && p.endpoint == NULL);
	/* "default" is named too once asked for: only the implicit one may
	 * be missing (checked below, with files that lack it) */
	env_reset();
}

static void test_profile_defaults(void)
{
	struct s3_profile p;
	char err[512];
	char *dir, *path, *missing;

	/* nothing anywhere: no keys, no error */
	env_reset();
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(p.access_key == NULL && p.secret_key == NULL);
	CHECK(p.region == NULL && p.endpoint == NULL);
	s3_profile_release(&p);
	CHECK(s3_profile_load(&p, "default", err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "default") != NULL);

	/* ~/.aws/credentials found through HOME */
	dir = xasprintf("%s/home/.aws", base);
	if (util_mkdir_p(dir, 0700) < 0)
		die(dir);
	path = write_file("home/.aws/credentials",
			  "[default]\naws_access_key_id = AKIDhome\n"
			  "aws_secret_access_key = SECRETdefault\n");
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(same(p.access_key, "AKIDhome"));
	s3_profile_release(&p);
	/* "~/" in a variable is HOME */
	free(write_file("home/cfg",
			"[profile tilde]\nregion = tilde-region\n"));
	setenv("AWS_CONFIG_FILE", "~/cfg", 1);
	CHECK(s3_profile_load(&p, "tilde", err, sizeof(err)) == 0);
	CHECK(same(p.region, "tilde-region"));
	s3_profile_release(&p);
	/* a file named but missing is skipped */
	missing = xasprintf("%s/no/such/file", base);
	setenv("AWS_SHARED_CREDENTIALS_FILE", missing, 1);
	setenv("AWS_CONFIG_FILE", missing, 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(p.access_key == NULL);
	s3_profile_release(&p);
	/* an implicit default missing from files that exist is no error */
	free(write_file("other", "[other]\nregion = x\n"));
	free(missing);
	missing = xasprintf("%s/other", base);
	setenv("AWS_SHARED_CREDENTIALS_FILE", missing, 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == 0);
	CHECK(p.access_key == NULL && p.region == NULL);
	s3_profile_release(&p);
	free(missing);
	free(path);
	free(dir);
	env_reset();
}

static void test_profile_errors(void)
{
	struct s3_profile p;
	char err[512];
	char *path, *dir;
	int rc;

	env_reset();
	/* a file that cannot be read: a directory (root can read any file,
	 * but no one can read a directory as a file) */
	dir = xasprintf("%s/adir", base);
	if (mkdir(dir, 0700) < 0)
		die(dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", dir, 1);
	rc = s3_profile_load(&p, NULL, err, sizeof(err));
	CHECK(rc == -EISDIR);
	CHECK(strstr(err, dir) != NULL);
	CHECK(p.access_key == NULL);
	/* and by permission, where that means something */
	path = write_file("noperm", "[default]\nregion = x\n");
	if (geteuid() != 0 && chmod(path, 0) == 0) {
		setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
		CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == -EACCES);
		CHECK(strstr(err, path) != NULL);
	}
	free(path);
	free(dir);

	/* a line that is not INI: file and line named, the line not quoted
	 * (here it is a pasted secret) */
	path = write_file("broken",
			  "[default]\n"
			  "aws_access_key_id = AKIDbroken\n"
			  "aws_secret_access_key = SECRETbroken\n"
			  "SECRETpasted\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	rc = s3_profile_load(&p, NULL, err, sizeof(err));
	CHECK(rc == -EINVAL);
	CHECK(strstr(err, path) && strstr(err, "line 4"));
	CHECK(err_is_clean(err));
	CHECK(p.access_key == NULL && p.secret_key == NULL);
	/* also in a section that is not ours */
	rc = s3_profile_load(&p, "other", err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "line 4"));
	CHECK(err_is_clean(err));
	free(path);

	/* a key before any section, an unclosed section, a key-less line */
	path = write_file("nosection",
			  "aws_secret_access_key = SECRETpasted\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "line 1") && err_is_clean(err));
	free(path);
	path = write_file("unclosed", "\n[default\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "line 2") != NULL);
	free(path);
	path = write_file("nokey", "[default]\n = SECRETpasted\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	CHECK(s3_profile_load(&p, NULL, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "line 2") && err_is_clean(err));
	free(path);

	/* a small err buffer is cut, not overrun */
	CHECK(s3_profile_load(&p, NULL, err, 8) == -EINVAL);
	CHECK(strlen(err) == 7);
	env_reset();
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

int main(void)
{
	char *cred, *conf, *home;

	test_sha256();
	test_aws_get_object();
	test_aws_put_object();
	test_aws_bucket_examples();
	test_copy_source_order();
	test_query_and_header_rules();
	test_sign_errors();
	test_uri_encode();

	if (!mkdtemp(base))
		die("mkdtemp");
	home = xasprintf("%s/home", base);
	if (mkdir(home, 0700) < 0)
		die(home);
	cred = write_file("credentials", credentials_text);
	conf = write_file("config", config_text);
	test_profile_files(cred, conf);
	test_profile_defaults();
	test_profile_errors();
	free(cred);
	free(conf);
	free(home);
	if (nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", base);

	if (!failures)
		printf("ok - s3sign\n");
	return failures ? 1 : 0;
}
