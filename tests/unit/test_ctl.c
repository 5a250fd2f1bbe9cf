/*
 * Unit test of the control protocol: round trips, and refusal of every
 * kind of broken message (short, long, trailing bytes, lying lengths,
 * too many fields, a newer version).
 */
#include "common.h"

#include "check.h"

#include "ctl/proto.h"

static uint8_t buf[CTL_MSG_MAX + 16];

int main(void)
{
	struct ctl_msg m, d;
	uint8_t num[8];
	uint64_t v;
	char *s;
	ssize_t n;
	int i;

	ctl_msg_init(&m, CTL_OP_PIN);
	CHECK(ctl_add_str(&m, CTL_KEY_PATH, "photos/2026 a\nb") == 0);
	CHECK(ctl_add_u64(&m, CTL_KEY_FLAGS, 0x0102030405060708ULL, num) == 0);
	n = ctl_encode(&m, buf, sizeof(buf));
	CHECK(n == CTL_HEADER + 6 + 15 + 6 + 8);
	CHECK(ctl_decode(buf, (size_t)n, &d) == 0);
	CHECK(d.op == CTL_OP_PIN && d.count == 2);
	CHECK(ctl_get_u64(&d, CTL_KEY_FLAGS, &v) == 0 &&
	      v == 0x0102030405060708ULL);
	CHECK(ctl_get_str(&d, CTL_KEY_PATH, 4096, &s) == 0 &&
	      strcmp(s, "photos/2026 a\nb") == 0);
	free(s);
	CHECK(ctl_get_str(&d, CTL_KEY_PATH, 3, &s) == -ENAMETOOLONG);
	CHECK(ctl_get_str(&d, CTL_KEY_TEXT, 10, &s) == -ENOENT);
	CHECK(ctl_get_u64(&d, CTL_KEY_PATH, &v) == -EBADMSG);

	/* every truncation, and a byte too many, is refused */
	for (i = 0; i < n; i++)
		CHECK(ctl_decode(buf, (size_t)i, &d) == -EBADMSG &&
		      d.count == 0);
	CHECK(ctl_decode(buf, (size_t)n + 1, &d) == -EBADMSG);
	/* a field length pointing past the end */
	buf[CTL_HEADER + 2] = 0xff;
	CHECK(ctl_decode(buf, (size_t)n, &d) == -EBADMSG);
	buf[CTL_HEADER + 2] = 15;
	/* bad magic, newer version, too many fields */
	buf[0] = 'X';
	CHECK(ctl_decode(buf, (size_t)n, &d) == -EBADMSG);
	buf[0] = 'C';
	buf[3] = CTL_VERSION + 1;
	CHECK(ctl_decode(buf, (size_t)n, &d) == -EPROTONOSUPPORT);
	buf[3] = CTL_VERSION;
	buf[6] = CTL_MAX_FIELDS + 1;
	CHECK(ctl_decode(buf, (size_t)n, &d) == -EBADMSG);
	buf[6] = 2;
	CHECK(ctl_decode(buf, (size_t)n, &d) == 0);
	/* a NUL inside a string */
	buf[CTL_HEADER + 6 + 3] = '\0';
	CHECK(ctl_decode(buf, (size_t)n, &d) == 0 &&
	      ctl_get_str(&d, CTL_KEY_PATH, 4096, &s) == -EBADMSG);

	/* limits: fields and size */
	ctl_msg_init(&m, CTL_OP_STATUS);
	for (i = 0; i < CTL_MAX_FIELDS; i++)
		CHECK(ctl_add_bytes(&m, CTL_KEY_TEXT, "", 0) == 0);
	CHECK(ctl_add_bytes(&m, CTL_KEY_TEXT, "", 0) == -E2BIG);
	ctl_msg_init(&m, CTL_OP_STATUS);
	CHECK(ctl_add_bytes(&m, CTL_KEY_TEXT, buf, CTL_MSG_MAX) == 0);
	CHECK(ctl_encode(&m, buf, sizeof(buf)) == -E2BIG);
	CHECK(ctl_decode(buf, CTL_MSG_MAX + 1, &d) == -EBADMSG);
	if (!failures)
		printf("ok - ctl\n");
	return failures ? 1 : 0;
}
