#include "common.h"

#include <sys/random.h>
#include <unistd.h>
#include <xxhash.h>

#include "util/hash.h"
#include "util/util.h"

#define HASH_PIECE (1u << 20)

struct hash {
	XXH3_state_t *state;
	uint64_t key;
};

static struct hash *hash_keyed(uint64_t key)
{
	struct hash *h = xcalloc(1, sizeof(*h));

	h->key = key;
	h->state = XXH3_createState();
	if (!h->state || XXH3_128bits_reset_withSeed(h->state, key) != XXH_OK)
		abort();	/* only when out of memory */
	return h;
}

static uint64_t fresh_key(void)
{
	uint64_t key;
	size_t got = 0;

	while (got < sizeof(key)) {
		ssize_t r = getrandom((char *)&key + got, sizeof(key) - got, 0);

		if (r < 0 && errno != EINTR)
			abort();	/* the kernel always has it */
		if (r > 0)
			got += (size_t)r;
	}
	return key;
}

struct hash *hash_new(void)
{
	return hash_keyed(fresh_key());
}

void hash_free(struct hash *h)
{
	if (!h)
		return;
	XXH3_freeState(h->state);
	free(h);
}

void hash_update(struct hash *h, const void *data, size_t len)
{
	if (len && XXH3_128bits_update(h->state, data, len) != XXH_OK)
		abort();
}

void hash_peek(const struct hash *h, unsigned char out[HASH_LEN])
{
	XXH128_canonical_t sum;

	/* digest() leaves the state as it was */
	XXH128_canonicalFromHash(&sum, XXH3_128bits_digest(h->state));
	memcpy(out, &h->key, HASH_KEY_LEN);
	memcpy(out + HASH_KEY_LEN, sum.digest, sizeof(sum.digest));
}

int hash_fd(int fd, uint64_t len, int copy_to, const unsigned char *like,
	    unsigned char out[HASH_LEN])
{
	uint64_t key, off = 0;
	struct hash *h;
	char *buf = xmalloc(HASH_PIECE);
	int rc = 0;

	if (like)
		memcpy(&key, like, HASH_KEY_LEN);
	else
		key = fresh_key();
	h = hash_keyed(key);
	while (off < len) {
		size_t want = (size_t)CD_MIN(len - off, HASH_PIECE);
		ssize_t got = pread(fd, buf, want, (off_t)off);

		if (got < 0) {
			rc = -errno;
			break;
		}
		if (got == 0) {
			rc = -ENODATA;
			break;
		}
		hash_update(h, buf, (size_t)got);
		if (copy_to >= 0) {
			rc = util_pwrite_all(copy_to, buf, (size_t)got, off);
			if (rc)
				break;
		}
		off += (uint64_t)got;
	}
	if (!rc)
		hash_peek(h, out);
	free(buf);
	hash_free(h);
	return rc;
}
