/*
 * The XML of S3: the response bodies of ListObjectsV2, ListParts, the
 * multipart and copy calls and error documents, parsed with expat, and the
 * one XML request body (CompleteMultipartUpload). Also the two date
 * formats S3 answers in, since both come with these responses.
 *
 * Every parser is one table of the elements it knows (struct xnode: the
 * local name, the parent, whether it holds a value, may repeat, or must be
 * there) driven by one small SAX engine (struct xp). The engine keeps a
 * stack of the open elements, ignores unknown elements and everything in
 * them, and refuses what the table rules out: another root, a duplicated
 * element, a missing one, an element inside a value. Character data is
 * kept only for value elements, and at most XP_MAX_TEXT bytes of it; the
 * parser's own callbacks see a value once, at its end tag.
 *
 * Nothing in a body is trusted, since it comes off the network (and, with
 * a custom endpoint, from any server): the parse is bounded in depth and
 * in the memory it holds beyond the body itself, numbers are checked
 * digit by digit, and a DOCTYPE is refused outright. S3 never sends one,
 * and refusing it rules out every entity trick (billion laughs, external
 * entities) whatever expat's own limits are. Element names are matched on
 * their local name, in any namespace, because S3 puts its results in
 * xmlns="http://s3.amazonaws.com/doc/2006-03-01/" and some servers don't.
 * The body is read as UTF-8 whatever it declares.
 *
 * A listing is parsed twice: first to check all of it, then to hand its
 * entries out. So the caller's callback never sees an entry of a body
 * that turns out to be broken further on, and EncodingType may come
 * anywhere in the document, even after the keys it applies to.
 *
 * encoding-type=url: keys are decoded as form-encoded text, %XY to the
 * byte XY and '+' to a space. AWS and MinIO write a space as '+' and a
 * '+' as %2B, and the AWS SDKs decode with unquote_plus/URLDecoder; RGW
 * writes a space as %20 and a '+' as %2B, so it never leaves a literal
 * '+' either. A bad escape, or one that decodes to NUL, makes the body
 * unparsable. The s3 backend should always ask for this encoding: a key
 * may hold bytes (most control characters) that XML 1.0 cannot carry.
 */
#include "common.h"

#include <expat.h>
#include <limits.h>
#include <strings.h>

#include "remote/s3_int.h"
#include "util/log.h"
#include "util/util.h"

/*
 * The longest value kept: keys are at most 1 KiB, tokens a few hundred
 * bytes; 64 KiB leaves room for any server's idea of a message.
 */
#define XP_MAX_TEXT (64 * 1024)
/* The deepest nesting accepted: S3's results are 4 levels deep. */
#define XP_MAX_DEPTH 32
/* How much of the body goes to XML_Parse at once (it takes an int). */
#define XP_CHUNK (1 << 20)
/*
 * Between namespace and local name in what expat hands us: not a name
 * character, so the local name is whatever follows the last one.
 */
#define XP_NS_SEP '|'

/* S3 allows part numbers 1..10000. */
#define S3_MAX_PART 10000

enum xn_flags {
	XN_TEXT = 1 << 0,	/* a value: its character data is kept */
	XN_MULTI = 1 << 1,	/* may come more than once in its parent */
	XN_REQUIRED = 1 << 2,	/* its parent is not complete without it */
};

/*
 * The parent of a root element in a table, and the node of an element a
 * table does not know.
 */
#define XN_DOC (-1)
#define XN_NONE (-2)

struct xnode {
	int parent;		/* index of the parent node, or XN_DOC */
	const char *name;	/* local name, in any namespace */
	unsigned flags;		/* enum xn_flags */
};

/* One open element. */
struct xframe {
	int node;		/* its index in the table, or XN_NONE */
	uint64_t seen;		/* bit i: a child of node i was met */
};

struct xp {
	XML_Parser parser;
	const struct xnode *nodes;	/* the parser's table */
	int nnodes;			/* at most 64 (the width of seen) */
	/*
	 * Called when a known element starts (may be NULL) and when it ends,
	 * after its required children were checked, with its value (a
	 * NUL-terminated string free of NULs; "" for a container). A
	 * non-zero return stops the parse and is what xp_parse() returns.
	 */
	int (*start)(struct xp *x, int node);
	int (*end)(struct xp *x, int node, const char *text, size_t len);
	void *ctx;			/* the parser's own state */
	struct xframe stack[XP_MAX_DEPTH];
	int depth;			/* elements open */
	char *text;			/* value of the open value element */
	size_t len;			/* bytes in text, NUL not counted */
	size_t cap;			/* bytes allocated for text */
	int rc;				/* set once: why the parse stopped */
	const char *why;		/* for the debug log, with -EPROTO */
};

/* Stops the parse with rc; the first reason wins. */
static void xp_fail(struct xp *x, int rc, const char *why)
{
	if (x->rc)
		return;
	x->rc = rc;
	x->why = why;
	XML_StopParser(x->parser, XML_FALSE);
}

static int xp_lookup(const struct xp *x, int parent, const char *name)
{
	int i;

	for (i = 0; i < x->nnodes; i++)
		if (x->nodes[i].parent == parent &&
		    strcmp(x->nodes[i].name, name) == 0)
			return i;
	return XN_NONE;
}

static void XMLCALL xp_start(void *data, const XML_Char *name,
			     const XML_Char **atts)
{
	struct xp *x = data;
	const char *local = strrchr(name, XP_NS_SEP);
	int parent, node, rc;

	/* expat may still call us for what it had in hand when stopped */
	if (x->rc)
		return;
	local = local ? local + 1 : name;
	if (x->depth == XP_MAX_DEPTH) {
		xp_fail(x, -EPROTO, "nested too deep");
		return;
	}
	parent = x->depth ? x->stack[x->depth - 1].node : XN_DOC;
	if (parent == XN_NONE) {
		node = XN_NONE;
	} else if (parent >= 0 && (x->nodes[parent].flags & XN_TEXT)) {
		xp_fail(x, -EPROTO, "an element inside a value");
		return;
	} else {
		node = xp_lookup(x, parent, local);
		if (node == XN_NONE && parent == XN_DOC) {
			xp_fail(x, -EPROTO, "unexpected root element");
			return;
		}
	}
	if (node >= 0 && parent >= 0) {
		struct xframe *up = &x->stack[x->depth - 1];

		if ((up->seen & (1ull << node)) &&
		    !(x->nodes[node].flags & XN_MULTI)) {
			xp_fail(x, -EPROTO, "duplicated element");
			return;
		}
		up->seen |= 1ull << node;
	}
	x->stack[x->depth].node = node;
	x->stack[x->depth].seen = 0;
	x->depth++;
	if (node < 0)
		return;
	if (x->nodes[node].flags & XN_TEXT)
		x->len = 0;
	if (x->start) {
		rc = x->start(x, node);
		if (rc)
			xp_fail(x, rc, NULL);
	}
}

static void XMLCALL xp_chars(void *data, const XML_Char *s, int len)
{
	struct xp *x = data;
	size_t n = len > 0 ? (size_t)len : 0;
	int node;

	if (x->rc || !x->depth || !n)
		return;
	node = x->stack[x->depth - 1].node;
	if (node < 0 || !(x->nodes[node].flags & XN_TEXT))
		return;
	/* expat refuses &#0; but a NUL would cut every string short */
	if (memchr(s, '\0', n)) {
		xp_fail(x, -EPROTO, "a NUL in a value");
		return;
	}
	if (n > XP_MAX_TEXT - x->len) {
		xp_fail(x, -EPROTO, "a value too long");
		return;
	}
	if (x->len + n + 1 > x->cap) {
		x->cap = CD_MAX(x->cap * 2, x->len + n + 1);
		x->cap = CD_MIN(x->cap, (size_t)XP_MAX_TEXT + 1);
		x->text = xrealloc(x->text, x->cap);
	}
	memcpy(x->text + x->len, s, n);
	x->len += n;
	x->text[x->len] = '\0';
}

static void XMLCALL xp_end(void *data, const XML_Char *name)
{
	struct xp *x = data;
	const char *text = "";
	size_t len = 0;
	struct xframe *f;
	int i, rc;

	if (x->rc || !x->depth)
		return;
	f = &x->stack[--x->depth];
	if (f->node < 0)
		return;
	for (i = 0; i < x->nnodes; i++) {
		if (x->nodes[i].parent == f->node &&
		    (x->nodes[i].flags & XN_REQUIRED) &&
		    !(f->seen & (1ull << i))) {
			xp_fail(x, -EPROTO, "a required element is missing");
			return;
		}
	}
	if ((x->nodes[f->node].flags & XN_TEXT) && x->len) {
		text = x->text;
		len = x->len;
	}
	rc = x->end(x, f->node, text, len);
	if (rc)
		xp_fail(x, rc, NULL);
}

/* Any DOCTYPE at all: S3 never sends one, and entities live there. */
static void XMLCALL xp_doctype(void *data, const XML_Char *name,
			       const XML_Char *sysid, const XML_Char *pubid,
			       int has_internal_subset)
{
	xp_fail(data, -EPROTO, "a DOCTYPE");
}

/*
 * Unreachable once the DOCTYPE is refused; kept so that no later change
 * to the handlers above can let an entity through.
 */
static void XMLCALL xp_entity(void *data, const XML_Char *name,
			      int is_parameter_entity, const XML_Char *value,
			      int value_length, const XML_Char *base,
			      const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	xp_fail(data, -EPROTO, "an entity declaration");
}

/*
 * Runs the table-driven parse of x over the body. Returns 0, what a
 * callback returned, -EPROTO for a body that is not well-formed or breaks
 * the table's rules, or -ENOMEM if expat runs out of memory.
 */
static int xp_parse(struct xp *x, const char *xml, size_t len)
{
	enum XML_Status st = XML_STATUS_OK;
	size_t off = 0, n;
	int rc;

	x->depth = 0;
	x->len = 0;
	x->rc = 0;
	x->why = NULL;
	/*
	 * AWS may pad a CompleteMultipartUpload answer with spaces to keep
	 * the connection alive; before the XML declaration they would make
	 * the body ill-formed, and they mean nothing.
	 */
	while (off < len && (xml[off] == ' ' || xml[off] == '\t' ||
			     xml[off] == '\r' || xml[off] == '\n'))
		off++;
	if (off == len) {
		log_debug("s3: XML: empty body");
		return -EPROTO;
	}
	/* "UTF-8" overrides the encoding the document declares */
	x->parser = XML_ParserCreateNS("UTF-8", XP_NS_SEP);
	if (!x->parser)
		return -ENOMEM;
	XML_SetUserData(x->parser, x);
	XML_SetElementHandler(x->parser, xp_start, xp_end);
	XML_SetCharacterDataHandler(x->parser, xp_chars);
	XML_SetStartDoctypeDeclHandler(x->parser, xp_doctype);
	XML_SetEntityDeclHandler(x->parser, xp_entity);
	XML_SetParamEntityParsing(x->parser, XML_PARAM_ENTITY_PARSING_NEVER);
	while (st == XML_STATUS_OK && off < len) {
		n = CD_MIN(len - off, (size_t)XP_CHUNK);
		st = XML_Parse(x->parser, xml + off, (int)n, off + n == len);
		off += n;
	}
	if (x->rc) {
		rc = x->rc;
		if (x->why)
			log_debug("s3: XML: line %lu: %s",
				  (unsigned long)XML_GetCurrentLineNumber(
					  x->parser), x->why);
	} else if (st != XML_STATUS_OK) {
		rc = XML_GetErrorCode(x->parser) == XML_ERROR_NO_MEMORY ?
			     -ENOMEM : -EPROTO;
		log_debug("s3: XML: line %lu: %s",
			  (unsigned long)XML_GetCurrentLineNumber(x->parser),
			  XML_ErrorString(XML_GetErrorCode(x->parser)));
	} else {
		rc = 0;
	}
	XML_ParserFree(x->parser);
	x->parser = NULL;
	free(x->text);
	x->text = NULL;
	x->cap = 0;
	return rc;
}

/* "true" or "false", as S3 writes them. */
static int xp_bool(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else
		return -EPROTO;
	return 0;
}

/* Plain decimal digits, no sign, no spaces, at most max. */
static int xp_number(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EPROTO;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes an encoding-type=url value (see the top of the file) into a new
 * string. NULL if an escape is cut short, not hex, or gives a NUL.
 */
static char *url_decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t n = 0;
	int hi, lo;

	while (*s) {
		if (*s == '%') {
			hi = hex_value(s[1]);
			lo = hi < 0 ? -1 : hex_value(s[2]);
			if (lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			out[n++] = (char)(hi << 4 | lo);
			s += 3;
		} else {
			out[n++] = *s == '+' ? ' ' : *s;
			s++;
		}
	}
	out[n] = '\0';
	return out;
}

/* ------------------------------------------------------ ListObjectsV2 */

enum {
	L_ROOT,
	L_TRUNCATED,
	L_TOKEN,
	L_ENCODING,
	L_CONTENTS,
	L_KEY,
	L_SIZE,
	L_MTIME,
	L_ETAG,
	L_PREFIXES,
	L_PREFIX,
};

static const struct xnode list_nodes[] = {
	[L_ROOT] = { XN_DOC, "ListBucketResult", 0 },
	[L_TRUNCATED] = { L_ROOT, "IsTruncated", XN_TEXT | XN_REQUIRED },
	[L_TOKEN] = { L_ROOT, "NextContinuationToken", XN_TEXT },
	[L_ENCODING] = { L_ROOT, "EncodingType", XN_TEXT },
	[L_CONTENTS] = { L_ROOT, "Contents", XN_MULTI },
	[L_KEY] = { L_CONTENTS, "Key", XN_TEXT | XN_REQUIRED },
	[L_SIZE] = { L_CONTENTS, "Size", XN_TEXT | XN_REQUIRED },
	[L_MTIME] = { L_CONTENTS, "LastModified", XN_TEXT | XN_REQUIRED },
	[L_ETAG] = { L_CONTENTS, "ETag", XN_TEXT },
	[L_PREFIXES] = { L_ROOT, "CommonPrefixes", XN_MULTI },
	[L_PREFIX] = { L_PREFIXES, "Prefix", XN_TEXT | XN_REQUIRED },
};
_Static_assert(CD_ARRAY_SIZE(list_nodes) <= 64, "seen holds 64 nodes");

struct list_ctx {
	s3_list_fn fn;
	void *arg;
	bool deliver;		/* second pass: call fn */
	bool url;		/* EncodingType is "url" */
	bool bad_url;		/* a key that would not url-decode */
	bool truncated;
	char *token;		/* NextContinuationToken, NULL if none */
	struct s3_list_item it;	/* the entry being read */
	char *key;		/* it.key, owned, raw as in the XML */
	char *etag;		/* it.etag, owned */
};

static void list_entry_reset(struct list_ctx *c)
{
	free(c->key);
	free(c->etag);
	c->key = NULL;
	c->etag = NULL;
	memset(&c->it, 0, sizeof(c->it));
}

/* An entry is complete: checks its key, on the second pass hands it out. */
static int list_entry_done(struct list_ctx *c)
{
	char *decoded = NULL;
	int rc;

	/* the first pass does not know yet whether keys are encoded */
	if (!c->deliver) {
		decoded = url_decode(c->key);
		if (!decoded)
			c->bad_url = true;
		free(decoded);
		return 0;
	}
	if (c->url) {
		decoded = url_decode(c->key);
		if (!decoded)
			return -EPROTO;
		c->it.key = decoded;
	} else {
		c->it.key = c->key;
	}
	if (!c->it.is_prefix && !c->etag)
		c->it.etag = "";
	rc = c->fn(c->arg, &c->it);
	free(decoded);
	return rc;
}

static int list_start(struct xp *x, int node)
{
	struct list_ctx *c = x->ctx;

	if (node == L_CONTENTS || node == L_PREFIXES) {
		list_entry_reset(c);
		c->it.is_prefix = node == L_PREFIXES;
	}
	return 0;
}

static int list_end(struct xp *x, int node, const char *text, size_t len)
{
	struct list_ctx *c = x->ctx;
	uint64_t v;

	switch (node) {
	case L_ROOT:
		if (c->truncated && !c->token)
			return -EPROTO;
		if (c->url && c->bad_url)
			return -EPROTO;
		return 0;
	case L_TRUNCATED:
		return xp_bool(text, &c->truncated);
	case L_TOKEN:
		/* an empty one is as good as none */
		if (len)
			c->token = xstrndup(text, len);
		return 0;
	case L_ENCODING:
		if (strcasecmp(text, "url") != 0)
			return -EPROTO;
		c->url = true;
		return 0;
	case L_KEY:
	case L_PREFIX:
		if (!len)
			return -EPROTO;
		c->key = xstrndup(text, len);
		return 0;
	case L_SIZE:
		if (xp_number(text, INT64_MAX, &v))
			return -EPROTO;
		c->it.size = v;
		return 0;
	case L_MTIME:
		if (s3_iso8601_ns(text, &c->it.mtime_ns))
			return -EPROTO;
		return 0;
	case L_ETAG:
		c->etag = xstrndup(text, len);
		c->it.etag = c->etag;
		return 0;
	case L_CONTENTS:
	case L_PREFIXES:
		return list_entry_done(c);
	}
	return 0;
}

int s3_xml_list(const char *xml, size_t len, s3_list_fn fn, void *arg,
		bool *truncated, char **next_token)
{
	struct list_ctx c = { .fn = fn, .arg = arg };
	struct xp x = {
		.nodes = list_nodes,
		.nnodes = CD_ARRAY_SIZE(list_nodes),
		.start = list_start,
		.end = list_end,
		.ctx = &c,
	};
	int rc;

	*truncated = false;
	*next_token = NULL;
	rc = xp_parse(&x, xml, len);
	list_entry_reset(&c);
	if (rc)
		goto out_free_token;
	/* the second pass sees what the first one did: start afresh */
	free(c.token);
	c.token = NULL;
	c.deliver = true;
	rc = xp_parse(&x, xml, len);
	list_entry_reset(&c);
	if (rc)
		goto out_free_token;
	*truncated = c.truncated;
	*next_token = c.token;
	return 0;

out_free_token:
	free(c.token);
	return rc;
}

/* ----------------------------------------------------- error documents */

enum {
	E_ROOT,
	E_CODE,
	E_MESSAGE,
};

static const struct xnode error_nodes[] = {
	[E_ROOT] = { XN_DOC, "Error", 0 },
	[E_CODE] = { E_ROOT, "Code", XN_TEXT | XN_REQUIRED },
	[E_MESSAGE] = { E_ROOT, "Message", XN_TEXT },
};
_Static_assert(CD_ARRAY_SIZE(error_nodes) <= 64, "seen holds 64 nodes");

struct error_ctx {
	char *code;
	char *message;
};

static int error_end(struct xp *x, int node, const char *text, size_t len)
{
	struct error_ctx *c = x->ctx;

	switch (node) {
	case E_CODE:
		if (!len)
			return -EPROTO;
		c->code = xstrndup(text, len);
		return 0;
	case E_MESSAGE:
		if (len)
			c->message = xstrndup(text, len);
		return 0;
	}
	return 0;
}

int s3_xml_error(const char *xml, size_t len, char **code, char **message)
{
	struct error_ctx c = { NULL, NULL };
	struct xp x = {
		.nodes = error_nodes,
		.nnodes = CD_ARRAY_SIZE(error_nodes),
		.end = error_end,
		.ctx = &c,
	};
	int rc;

	*code = NULL;
	*message = NULL;
	rc = xp_parse(&x, xml, len);
	if (rc) {
		free(c.code);
		free(c.message);
		return rc;
	}
	*code = c.code;
	*message = c.message;
	return 0;
}

/* ------------------------------------------- InitiateMultipartUpload */

enum {
	U_ROOT,
	U_ID,
};

static const struct xnode upload_nodes[] = {
	[U_ROOT] = { XN_DOC, "InitiateMultipartUploadResult", 0 },
	[U_ID] = { U_ROOT, "UploadId", XN_TEXT | XN_REQUIRED },
};
_Static_assert(CD_ARRAY_SIZE(upload_nodes) <= 64, "seen holds 64 nodes");

static int upload_end(struct xp *x, int node, const char *text, size_t len)
{
	char **id = x->ctx;

	if (node != U_ID)
		return 0;
	if (!len)
		return -EPROTO;
	*id = xstrndup(text, len);
	return 0;
}

int s3_xml_upload_id(const char *xml, size_t len, char **upload_id)
{
	char *id = NULL;
	struct xp x = {
		.nodes = upload_nodes,
		.nnodes = CD_ARRAY_SIZE(upload_nodes),
		.end = upload_end,
		.ctx = &id,
	};
	int rc;

	*upload_id = NULL;
	rc = xp_parse(&x, xml, len);
	if (rc) {
		free(id);
		return rc;
	}
	*upload_id = id;
	return 0;
}

/* ------------------------------------------------------------- ETags */

enum {
	T_COPY,
	T_COPY_ETAG,
	T_PART,
	T_PART_ETAG,
	T_COMPLETE,
	T_COMPLETE_ETAG,
	T_ERROR,
};

static const struct xnode etag_nodes[] = {
	[T_COPY] = { XN_DOC, "CopyObjectResult", 0 },
	[T_COPY_ETAG] = { T_COPY, "ETag", XN_TEXT | XN_REQUIRED },
	[T_PART] = { XN_DOC, "CopyPartResult", 0 },
	[T_PART_ETAG] = { T_PART, "ETag", XN_TEXT | XN_REQUIRED },
	[T_COMPLETE] = { XN_DOC, "CompleteMultipartUploadResult", 0 },
	[T_COMPLETE_ETAG] = { T_COMPLETE, "ETag", XN_TEXT | XN_REQUIRED },
	[T_ERROR] = { XN_DOC, "Error", 0 },
};
_Static_assert(CD_ARRAY_SIZE(etag_nodes) <= 64, "seen holds 64 nodes");

struct etag_ctx {
	char *etag;
	bool error;		/* the root was <Error> */
};

/*
 * An ETag with its quotes: "abc" stays, abc (RGW's CopyObject) becomes
 * "abc". An empty one, or one with a quote anywhere else, is not an
 * ETag: NULL for those.
 */
static char *etag_quoted(const char *s, size_t len)
{
	if (len >= 3 && s[0] == '"' && s[len - 1] == '"') {
		if (memchr(s + 1, '"', len - 2))
			return NULL;
		return xstrndup(s, len);
	}
	if (!len || memchr(s, '"', len))
		return NULL;
	return xasprintf("\"%s\"", s);
}

static int etag_end(struct xp *x, int node, const char *text, size_t len)
{
	struct etag_ctx *c = x->ctx;

	switch (node) {
	case T_COPY_ETAG:
	case T_PART_ETAG:
	case T_COMPLETE_ETAG:
		c->etag = etag_quoted(text, len);
		return c->etag ? 0 : -EPROTO;
	case T_ERROR:
		c->error = true;
		return 0;
	}
	return 0;
}

int s3_xml_etag(const char *xml, size_t len, char **etag)
{
	struct etag_ctx c = { NULL, false };
	struct xp x = {
		.nodes = etag_nodes,
		.nnodes = CD_ARRAY_SIZE(etag_nodes),
		.end = etag_end,
		.ctx = &c,
	};
	int rc;

	*etag = NULL;
	rc = xp_parse(&x, xml, len);
	if (!rc && c.error)
		rc = -EIO;
	if (rc) {
		free(c.etag);
		return rc;
	}
	*etag = c.etag;
	return 0;
}

/* ---------------------------------------------------------- ListParts */

enum {
	P_ROOT,
	P_TRUNCATED,
	P_MARKER,
	P_PART,
	P_NUMBER,
	P_SIZE,
	P_ETAG,
};

static const struct xnode parts_nodes[] = {
	[P_ROOT] = { XN_DOC, "ListPartsResult", 0 },
	[P_TRUNCATED] = { P_ROOT, "IsTruncated", XN_TEXT | XN_REQUIRED },
	[P_MARKER] = { P_ROOT, "NextPartNumberMarker", XN_TEXT },
	[P_PART] = { P_ROOT, "Part", XN_MULTI },
	[P_NUMBER] = { P_PART, "PartNumber", XN_TEXT | XN_REQUIRED },
	[P_SIZE] = { P_PART, "Size", XN_TEXT | XN_REQUIRED },
	[P_ETAG] = { P_PART, "ETag", XN_TEXT | XN_REQUIRED },
};
_Static_assert(CD_ARRAY_SIZE(parts_nodes) <= 64, "seen holds 64 nodes");

struct parts_ctx {
	s3_part_fn fn;
	void *arg;
	bool deliver;		/* second pass: call fn */
	bool truncated;
	int marker;		/* NextPartNumberMarker, 0 if none */
	struct s3_part part;	/* the part being read */
	char *etag;		/* part.etag, owned */
};

static int parts_end(struct xp *x, int node, const char *text, size_t len)
{
	struct parts_ctx *c = x->ctx;
	uint64_t v;
	int rc;

	switch (node) {
	case P_ROOT:
		/* a marker of 0 would list the same parts again, forever */
		if (c->truncated && !c->marker)
			return -EPROTO;
		return 0;
	case P_TRUNCATED:
		return xp_bool(text, &c->truncated);
	case P_MARKER:
		if (xp_number(text, S3_MAX_PART, &v))
			return -EPROTO;
		c->marker = (int)v;
		return 0;
	case P_NUMBER:
		if (xp_number(text, S3_MAX_PART, &v) || !v)
			return -EPROTO;
		c->part.number = (int)v;
		return 0;
	case P_SIZE:
		if (xp_number(text, INT64_MAX, &v))
			return -EPROTO;
		c->part.size = v;
		return 0;
	case P_ETAG:
		if (!len)
			return -EPROTO;
		c->etag = xstrndup(text, len);
		c->part.etag = c->etag;
		return 0;
	case P_PART:
		rc = c->deliver ? c->fn(c->arg, &c->part) : 0;
		free(c->etag);
		c->etag = NULL;
		return rc;
	}
	return 0;
}

int s3_xml_parts(const char *xml, size_t len, s3_part_fn fn, void *arg,
		 bool *truncated, int *next_marker)
{
	struct parts_ctx c = { .fn = fn, .arg = arg };
	struct xp x = {
		.nodes = parts_nodes,
		.nnodes = CD_ARRAY_SIZE(parts_nodes),
		.end = parts_end,
		.ctx = &c,
	};
	int rc;

	*truncated = false;
	*next_marker = 0;
	rc = xp_parse(&x, xml, len);
	if (!rc) {
		c.deliver = true;
		rc = xp_parse(&x, xml, len);
	}
	/* an etag is left over when the parse stopped inside a Part */
	free(c.etag);
	if (rc)
		return rc;
	*truncated = c.truncated;
	*next_marker = c.marker;
	return 0;
}

/* ------------------------------------------- CompleteMultipartUpload */

/*
 * Appends s XML-escaped. A CR is written as a reference because a parser
 * turns a literal one into a LF.
 */
static void xml_escape(struct textbuf *t, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		case '\r':
			rep = "&#13;";
			break;
		default:
			continue;
		}
		textbuf_add(t, "%.*s%s", (int)(s - run), run, rep);
		run = s + 1;
	}
	textbuf_add(t, "%s", run);
}

char *s3_xml_complete_body(const char *const *etags, int n)
{
	struct textbuf t = { NULL, 0 };
	int i;

	textbuf_add(&t, "<CompleteMultipartUpload xmlns=\"http://s3."
			"amazonaws.com/doc/2006-03-01/\">");
	for (i = 0; i < n; i++) {
		textbuf_add(&t, "<Part><PartNumber>%d</PartNumber><ETag>",
			    i + 1);
		xml_escape(&t, etags[i]);
		textbuf_add(&t, "</ETag></Part>");
	}
	textbuf_add(&t, "</CompleteMultipartUpload>");
	return t.s;
}

/* -------------------------------------------------------------- dates */

/* Exactly n decimal digits at s. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool valid_date(int year, int mon, int mday)
{
	static const int days[12] = { 31, 29, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (mon < 1 || mon > 12 || mday < 1 || mday > days[mon - 1])
		return false;
	return mon != 2 || mday < 29 || leap;
}

/* "HH:MM:SS" at s, 23:59:60 at most (a leap second). */
static bool parse_hms(const char *s, int *h, int *m, int *sec)
{
	return digits(s, 2, h) && s[2] == ':' && digits(s + 3, 2, m) &&
	       s[5] == ':' && digits(s + 6, 2, sec) && *h <= 23 && *m <= 59 &&
	       *sec <= 60;
}

/*
 * A UTC date and time to ns since the epoch, plus frac_ns and minus
 * off_s. The fields must have been checked; -EINVAL if the result does
 * not fit.
 */
static int to_ns(int year, int mon, int mday, int h, int m, int s,
		 long frac_ns, long off_s, int64_t *out)
{
	struct tm tm = {
		.tm_year = year - 1900,
		.tm_mon = mon - 1,
		.tm_mday = mday,
		.tm_hour = h,
		.tm_min = m,
		.tm_sec = s,
	};
	int64_t secs;

	/* -1 is also 23:59:59 on 1969-12-31: fields are checked already */
	secs = (int64_t)timegm(&tm) - off_s;
	if (secs > INT64_MAX / 1000000000 - 1 ||
	    secs < INT64_MIN / 1000000000 + 1)
		return -EINVAL;
	*out = secs * 1000000000 + frac_ns;
	return 0;
}

int s3_iso8601_ns(const char *s, int64_t *out)
{
	int year, mon, mday, h, m, sec, oh, om, i;
	long frac = 0, off = 0;
	const char *p;

	if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) ||
	    s[7] != '-' || !digits(s + 8, 2, &mday) || s[10] != 'T' ||
	    !parse_hms(s + 11, &h, &m, &sec) ||
	    !valid_date(year, mon, mday))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		/* nine digits are ns; any more are below what we keep */
		for (i = 0; *p >= '0' && *p <= '9'; p++, i++)
			if (i < 9)
				frac = frac * 10 + (*p - '0');
		for (; i < 9; i++)
			frac *= 10;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	return to_ns(year, mon, mday, h, m, sec, frac, off, out);
}

static int month_index(const char *s)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;

	for (i = 0; i < 12; i++)
		if (strncmp(s, names + 3 * i, 3) == 0)
			return i + 1;
	return -1;
}

/*
 * The weekday name at s, short ("Sun") or long ("Sunday"): its length,
 * or 0 if there is none.
 */
static size_t weekday_len(const char *s, bool full)
{
	static const char *const names[] = {
		"Sunday", "Monday", "Tuesday", "Wednesday",
		"Thursday", "Friday", "Saturday",
	};
	size_t i, n;

	for (i = 0; i < CD_ARRAY_SIZE(names); i++) {
		n = full ? strlen(names[i]) : 3;
		if (strncmp(s, names[i], n) == 0)
			return n;
	}
	return 0;
}

/*
 * The three forms HTTP/1.1 allows (RFC 9110 5.6.7), the first being the
 * only one servers send today:
 *   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
 *   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT" (yy < 70 is 20yy)
 *   asctime      "Sun Nov  6 08:49:37 1994"
 * Spaces and tabs around the value are allowed, as around any header
 * value. The weekday is checked to be a name, not to match the date: it
 * says nothing the date does not.
 */
int s3_http_date(const char *s, int64_t *out)
{
	int year, mon, mday, h, m, sec;
	char buf[40];
	size_t n, w;
	const char *p;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	p = buf;
	if (n == 29 && p[3] == ',') {
		if (!weekday_len(p, false) || p[4] != ' ' ||
		    !digits(p + 5, 2, &mday) || p[7] != ' ' ||
		    (mon = month_index(p + 8)) < 0 || p[11] != ' ' ||
		    !digits(p + 12, 4, &year) || p[16] != ' ' ||
		    !parse_hms(p + 17, &h, &m, &sec) || p[25] != ' ' ||
		    strcmp(p + 26, "GMT") != 0)
			return -EINVAL;
	} else if (n == 24 && p[3] == ' ') {
		if (!weekday_len(p, false) ||
		    (mon = month_index(p + 4)) < 0 || p[7] != ' ' ||
		    p[10] != ' ' || !parse_hms(p + 11, &h, &m, &sec) ||
		    p[19] != ' ' || !digits(p + 20, 4, &year))
			return -EINVAL;
		if (p[8] == ' ') {
			if (!digits(p + 9, 1, &mday))
				return -EINVAL;
		} else if (!digits(p + 8, 2, &mday)) {
			return -EINVAL;
		}
	} else {
		w = weekday_len(p, true);
		if (!w || n != w + 24 || p[w] != ',')
			return -EINVAL;
		p += w;
		if (p[1] != ' ' || !digits(p + 2, 2, &mday) || p[4] != '-' ||
		    (mon = month_index(p + 5)) < 0 || p[8] != '-' ||
		    !digits(p + 9, 2, &year) || p[11] != ' ' ||
		    !parse_hms(p + 12, &h, &m, &sec) || p[20] != ' ' ||
		    strcmp(p + 21, "GMT") != 0)
			return -EINVAL;
		year += year < 70 ? 2000 : 1900;
	}
	if (!valid_date(year, mon, mday))
		return -EINVAL;
	return to_ns(year, mon, mday, h, m, sec, 0, 0, out);
}
