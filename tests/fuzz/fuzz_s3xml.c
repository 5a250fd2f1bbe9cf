/*
 * libFuzzer target for the S3 XML and date parsers: the same bytes go to
 * every parser. Each must refuse them with its one error code or give
 * outputs that keep the promises of s3_int.h, without reading outside
 * the buffer or leaking. An ETag that parses also goes through
 * s3_xml_complete_body() and back, which checks the escaping.
 */
#include "common.h"

#include "remote/s3_int.h"
#include "util/util.h"

/* What the callbacks return to stop a parse, to tell it from errors. */
#define LIST_STOP 7
#define PARTS_STOP 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the reads below from being optimised away. */
static volatile uint64_t sink;

static int read_item(void *arg, const struct s3_list_item *it)
{
	size_t n = strlen(it->key);

	if (!n)
		abort();
	sink += n + it->size + (uint64_t)it->mtime_ns;
	if (it->is_prefix) {
		if (it->etag)
			abort();
	} else {
		if (!it->etag || it->size > INT64_MAX)
			abort();
		sink += strlen(it->etag);
	}
	return it->key[0] == '!' ? LIST_STOP : 0;
}

static int read_part(void *arg, const struct s3_part *p)
{
	if (p->number < 1 || p->number > 10000 || !p->etag[0] ||
	    p->size > INT64_MAX)
		abort();
	sink += p->size + strlen(p->etag);
	return p->number == 13 ? PARTS_STOP : 0;
}

/* The ETag must come back unchanged from its place in a request body. */
static void etag_round_trip(const char *etag)
{
	const char *const etags[1] = { etag };
	char *body, *start, *end, *doc, *back;
	int rc;

	body = s3_xml_complete_body(etags, 1);
	start = strstr(body, "<ETag>");
	end = strstr(body, "</ETag>");
	if (!start || !end || end < start)
		abort();
	start += strlen("<ETag>");
	doc = xasprintf("<CopyPartResult><ETag>%.*s</ETag></CopyPartResult>",
			(int)(end - start), start);
	rc = s3_xml_etag(doc, strlen(doc), &back);
	if (rc || strcmp(back, etag) != 0)
		abort();
	free(back);
	free(doc);
	free(body);
}

static void fuzz_xml(const char *xml, size_t len)
{
	char *token, *code, *msg, *id, *etag;
	bool truncated;
	int rc, marker;

	rc = s3_xml_list(xml, len, read_item, NULL, &truncated, &token);
	if (rc != 0 && rc != -EPROTO && rc != LIST_STOP)
		abort();
	if (rc && (truncated || token))
		abort();
	if (!rc && truncated && (!token || !token[0]))
		abort();
	free(token);

	rc = s3_xml_error(xml, len, &code, &msg);
	if (rc != 0 && rc != -EPROTO)
		abort();
	if (rc ? code || msg : !code || !code[0] || (msg && !msg[0]))
		abort();
	free(code);
	free(msg);

	rc = s3_xml_upload_id(xml, len, &id);
	if (rc != 0 && rc != -EPROTO)
		abort();
	if (rc ? id != NULL : !id || !id[0])
		abort();
	free(id);

	rc = s3_xml_etag(xml, len, &etag);
	if (rc != 0 && rc != -EPROTO && rc != -EIO)
		abort();
	if (rc && etag)
		abort();
	if (!rc) {
		size_t n = strlen(etag);

		if (n < 3 || etag[0] != '"' || etag[n - 1] != '"' ||
		    memchr(etag + 1, '"', n - 2))
			abort();
		etag_round_trip(etag);
		free(etag);
	}

	rc = s3_xml_parts(xml, len, read_part, NULL, &truncated, &marker);
	if (rc != 0 && rc != -EPROTO && rc != PARTS_STOP)
		abort();
	if (rc && (truncated || marker))
		abort();
	if (!rc && (marker < 0 || marker > 10000 || (truncated && !marker)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int64_t ns;
	int rc;

	fuzz_xml((const char *)data, size);

	/* the date parsers take a string: cut at the first NUL */
	s = xstrndup((const char *)data, size);
	rc = s3_iso8601_ns(s, &ns);
	if (rc != 0 && rc != -EINVAL)
		abort();
	rc = s3_http_date(s, &ns);
	if (rc != 0 && rc != -EINVAL)
		abort();
	free(s);
	return 0;
}
