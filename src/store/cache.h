/*
 * Cache data files: one sparse file per regular file that has local data,
 * named by inode number under DIR/data/XX/. The logical size of a file is
 * always the size of its cache file.
 */
#ifndef CD_CACHE_H
#define CD_CACHE_H

#include "common.h"

struct cache;

int cache_open(const char *dir, struct cache **out) CD_WUR;
void cache_close(struct cache *c);

/* Opens ino's cache file read-write; creates it (empty) if create is set,
 * else -ENOENT when absent. Returns the fd or -errno. */
int cache_file_open(struct cache *c, uint64_t ino, bool create) CD_WUR;
/* Removes ino's cache file; absent is fine. */
void cache_file_remove(struct cache *c, uint64_t ino);
/* Bytes the cache file of ino occupies on disk (0 if absent). */
uint64_t cache_file_bytes(struct cache *c, uint64_t ino);
/* Bytes all cache files occupy on disk. */
uint64_t cache_bytes(struct cache *c);

#endif
