/*
 * The content hash of the clone filter: the bytes a program wrote are
 * hashed as they are checked, and whatever is uploaded in their place
 * must hash the same.
 *
 * XXH3-128 (libxxhash) under a random 64-bit key, kept with the digest.
 * It is a checksum against change, as file systems use (btrfs, ZFS), at
 * the speed of memory: over 20 GB/s here against 1.7 GB/s for SHA-256,
 * which took two thirds of the daemon's time in a copy. It is not meant
 * to resist someone who can write the source (they could as well have
 * changed it before the copy); the key, unknown outside the daemon's
 * database, makes a change that keeps the digest hard to aim for all
 * the same. The guard (guard.c) and the source's ctime are what keep a
 * source from changing unseen; the hash is the last word on bytes.
 */
#ifndef CD_HASH_H
#define CD_HASH_H

#include "common.h"

#define HASH_KEY_LEN 8
/* A digest: the key, then the 128-bit sum. */
#define HASH_LEN (HASH_KEY_LEN + 16)

struct hash;

/* A hash under a fresh random key. */
struct hash *hash_new(void);
void hash_free(struct hash *h);
void hash_update(struct hash *h, const void *data, size_t len);
/* The digest of what was added so far; h can go on being updated. */
void hash_peek(const struct hash *h, unsigned char out[HASH_LEN]);
/*
 * The digest of bytes [0, len) of fd, under the key of like (a digest
 * to compare with) or, if like is NULL, a fresh one; read with pread
 * (fd's offset does not move). The bytes also go to copy_to at the same
 * offsets if it is not -1. A negative errno if a read or write fails or
 * the file is shorter than len (-ENODATA).
 */
int hash_fd(int fd, uint64_t len, int copy_to,
	    const unsigned char *like, unsigned char out[HASH_LEN]) CD_WUR;

#endif
