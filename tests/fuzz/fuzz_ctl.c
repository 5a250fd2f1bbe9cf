/*
 * libFuzzer target for the control protocol's decoder: any bytes must be
 * refused or decoded without reading outside the buffer, and whatever
 * decodes must encode back to exactly the same bytes.
 */
#include "common.h"

#include "ctl/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CTL_MSG_MAX];
	struct ctl_msg m;
	uint64_t v;
	char *s;
	ssize_t n;

	if (ctl_decode(data, size, &m))
		return 0;
	n = ctl_encode(&m, out, sizeof(out));
	if (n != (ssize_t)size || memcmp(out, data, size) != 0)
		abort();
	if (ctl_get_str(&m, CTL_KEY_PATH, 4096, &s) == 0)
		free(s);
	if (ctl_get_u64(&m, CTL_KEY_FLAGS, &v) == 0 && v == 0xdead)
		return 0;
	return 0;
}
