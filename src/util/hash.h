/*
 * SHA-256 of a stream of bytes (libcrypto), for the clone filter: the
 * bytes a program wrote are hashed as they are checked, and whatever is
 * uploaded in their place must hash the same.
 */
#ifndef CD_HASH_H
#define CD_HASH_H

#include "common.h"

#define HASH_LEN 32

struct hash;

struct hash *hash_new(void);
void hash_free(struct hash *h);
void hash_update(struct hash *h, const void *data, size_t len);
/* The digest of what was added so far; h can go on being updated. */
void hash_peek(const struct hash *h, unsigned char out[HASH_LEN]);
/*
 * The digest of bytes [0, len) of fd, read with pread (fd's offset does
 * not move); the bytes also go to copy_to at the same offsets if it is
 * not -1. A negative errno if a read or write fails or the file is
 * shorter than len (-ENODATA).
 */
int hash_fd(int fd, uint64_t len, int copy_to,
	    unsigned char out[HASH_LEN]) CD_WUR;
/* Lower-case hex of a digest, for logs and the database. */
void hash_hex(const unsigned char d[HASH_LEN], char out[2 * HASH_LEN + 1]);

#endif
