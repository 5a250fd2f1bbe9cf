#include "common.h"

#include <openssl/evp.h>
#include <unistd.h>

#include "util/hash.h"
#include "util/util.h"

#define HASH_PIECE (1u << 20)

struct hash {
	EVP_MD_CTX *ctx;
};

struct hash *hash_new(void)
{
	struct hash *h = xcalloc(1, sizeof(*h));

	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))
		abort();	/* only when out of memory */
	return h;
}

void hash_free(struct hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void hash_update(struct hash *h, const void *data, size_t len)
{
	if (len && !EVP_DigestUpdate(h->ctx, data, len))
		abort();
}

void hash_peek(const struct hash *h, unsigned char out[HASH_LEN])
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned int len = HASH_LEN;

	if (!copy || !EVP_MD_CTX_copy_ex(copy, h->ctx) ||
	    !EVP_DigestFinal_ex(copy, out, &len))
		abort();
	EVP_MD_CTX_free(copy);
}

int hash_fd(int fd, uint64_t len, int copy_to, unsigned char out[HASH_LEN])
{
	struct hash *h = hash_new();
	char *buf = xmalloc(HASH_PIECE);
	uint64_t off = 0;
	int rc = 0;

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

void hash_hex(const unsigned char d[HASH_LEN], char out[2 * HASH_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < HASH_LEN; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * HASH_LEN] = '\0';
}
