/*
 * Encoding and decoding of control messages (see proto.h for the wire
 * format). The decoder trusts nothing: every length is checked against
 * what is left of the buffer before it is used, counts are bounded, and
 * a message with a byte too many or too few is refused whole. It
 * allocates nothing and copies nothing, so a hostile peer cannot make it
 * use memory; it is the target of tests/fuzz/fuzz_ctl.c.
 */
#include "common.h"

#include "ctl/proto.h"
#include "util/util.h"

static const uint8_t magic[3] = { 'C', 'D', 'C' };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

void ctl_msg_init(struct ctl_msg *m, enum ctl_op op)
{
	m->op = (uint16_t)op;
	m->count = 0;
}

int ctl_add_bytes(struct ctl_msg *m, enum ctl_key key, const void *value,
		  uint32_t len)
{
	if (m->count >= CTL_MAX_FIELDS)
		return -E2BIG;
	m->fields[m->count].key = (uint16_t)key;
	m->fields[m->count].len = len;
	m->fields[m->count].value = value;
	m->count++;
	return 0;
}

int ctl_add_str(struct ctl_msg *m, enum ctl_key key, const char *s)
{
	size_t n = strlen(s);

	if (n > CTL_MSG_MAX)
		return -E2BIG;
	return ctl_add_bytes(m, key, s, (uint32_t)n);
}

int ctl_add_u64(struct ctl_msg *m, enum ctl_key key, uint64_t v,
		uint8_t buf[8])
{
	put32(buf, (uint32_t)v);
	put32(buf + 4, (uint32_t)(v >> 32));
	return ctl_add_bytes(m, key, buf, 8);
}

ssize_t ctl_encode(const struct ctl_msg *m, void *buf, size_t size)
{
	uint8_t *p = buf;
	size_t used = CTL_HEADER, i;

	size = CD_MIN(size, (size_t)CTL_MSG_MAX);
	if (size < CTL_HEADER || m->count > CTL_MAX_FIELDS)
		return -E2BIG;
	memcpy(p, magic, sizeof(magic));
	p[3] = CTL_VERSION;
	put16(p + 4, m->op);
	put16(p + 6, m->count);
	for (i = 0; i < m->count; i++) {
		const struct ctl_field *f = &m->fields[i];

		if (f->len > size || used + 6 > size - f->len)
			return -E2BIG;
		put16(p + used, f->key);
		put32(p + used + 2, f->len);
		if (f->len)
			memcpy(p + used + 6, f->value, f->len);
		used += 6 + f->len;
	}
	return (ssize_t)used;
}

int ctl_decode(const void *buf, size_t len, struct ctl_msg *m)
{
	const uint8_t *p = buf;
	size_t pos = CTL_HEADER, i;
	uint16_t count;

	m->op = 0;
	m->count = 0;
	if (len < CTL_HEADER || len > CTL_MSG_MAX ||
	    memcmp(p, magic, sizeof(magic)) != 0)
		return -EBADMSG;
	if (p[3] != CTL_VERSION)
		return p[3] > CTL_VERSION ? -EPROTONOSUPPORT : -EBADMSG;
	count = get16(p + 6);
	if (count > CTL_MAX_FIELDS)
		return -EBADMSG;
	for (i = 0; i < count; i++) {
		uint32_t flen;

		if (len - pos < 6)
			goto bad;
		flen = get32(p + pos + 2);
		if (flen > len - pos - 6)
			goto bad;
		m->fields[i].key = get16(p + pos);
		m->fields[i].len = flen;
		m->fields[i].value = p + pos + 6;
		pos += 6 + (size_t)flen;
	}
	if (pos != len)
		goto bad;	/* bytes after the last field */
	m->op = get16(p + 4);
	m->count = count;
	return 0;
bad:
	m->count = 0;
	return -EBADMSG;
}

const struct ctl_field *ctl_find(const struct ctl_msg *m, enum ctl_key key)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		if (m->fields[i].key == key)
			return &m->fields[i];
	return NULL;
}

int ctl_get_u64(const struct ctl_msg *m, enum ctl_key key, uint64_t *out)
{
	const struct ctl_field *f = ctl_find(m, key);

	if (!f)
		return -ENOENT;
	if (f->len != 8)
		return -EBADMSG;
	*out = get32(f->value) | (uint64_t)get32(f->value + 4) << 32;
	return 0;
}

int ctl_get_str(const struct ctl_msg *m, enum ctl_key key, size_t max,
		char **out)
{
	const struct ctl_field *f = ctl_find(m, key);

	if (!f)
		return -ENOENT;
	if (f->len && memchr(f->value, '\0', f->len))
		return -EBADMSG;
	if (f->len > max)
		return -ENAMETOOLONG;
	*out = xstrndup((const char *)f->value, f->len);
	return 0;
}
