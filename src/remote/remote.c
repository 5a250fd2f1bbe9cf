/*
 * What all backends share: picking a backend from the remote's spelling,
 * and the rule for names that may appear in a remote path.
 *
 * The spelling is "s3://bucket/prefix" for S3 and
 * "local:PATH" or a plain PATH for a directory. The backend's constructor
 * does the real work and writes the sentence for the user on failure;
 * this file only adds the sentences about the spelling itself.
 */
#include "common.h"

#include <limits.h>

#include "remote/remote.h"
#include "util/util.h"

#define REMOTE_S3_PREFIX "s3://"
#define REMOTE_LOCAL_PREFIX "local:"

/*
 * Tests of cancellation and interruption need a remote slower than a
 * local disk; this environment variable adds latency to every read.
 */
static void set_test_delay(struct remote *r)
{
	const char *v = getenv("CLONEDRIVE_TEST_READ_DELAY_MS");
	uint64_t ms;

	if (v && util_parse_u64(v, &ms) == 0 && ms <= 10000)
		r->read_delay_us = (unsigned)ms * 1000;
}

struct remote *remote_open(const char *spec, const struct remote_opts *o,
			   char *err, size_t errlen)
{
	const char *dir = spec;
	struct remote *r;

	if (strncmp(spec, REMOTE_S3_PREFIX, strlen(REMOTE_S3_PREFIX)) == 0) {
		r = remote_s3_open(spec, o, err, errlen);
		if (r)
			set_test_delay(r);
		if (r && (!r->name_max || r->name_max > NAME_MAX))
			r->name_max = NAME_MAX;
		return r;
	}
	if (strncmp(spec, REMOTE_LOCAL_PREFIX,
		    strlen(REMOTE_LOCAL_PREFIX)) == 0)
		dir = spec + strlen(REMOTE_LOCAL_PREFIX);
	if (!*dir) {
		snprintf(err, errlen, "the remote \"%s\" names no directory",
			 spec);
		return NULL;
	}
	r = remote_local_open(dir, err, errlen);
	if (r && dir != spec) {
		free(r->spec);
		r->spec = xstrdup(spec);
	}
	if (r)
		set_test_delay(r);
	if (r && (!r->name_max || r->name_max > NAME_MAX))
		r->name_max = NAME_MAX;
	return r;
}

bool remote_name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, NAME_MAX + 1);
	if (n == 0 || n > NAME_MAX)
		return false;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return memchr(name, '/', n) == NULL;
}

ssize_t remote_read_to_fd(struct remote *r, const char *path,
			  const char *etag, int fd, size_t len, uint64_t off)
{
	ssize_t got;
	void *buf;
	int rc;

	if (r->read_delay_us)
		usleep(r->read_delay_us);
	if (r->ops->read_to_fd)
		return r->ops->read_to_fd(r, path, etag, fd, len, off);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	got = r->ops->read(r, path, etag, buf, len, off);
	if (got > 0) {
		rc = util_pwrite_all(fd, buf, (size_t)got, off);
		if (rc)
			got = rc;
	}
	free(buf);
	return got;
}
