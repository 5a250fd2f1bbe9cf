/*
 * A set of byte ranges [start, end), kept sorted and merged. The store
 * uses one per open file for the ranges already hydrated from the remote.
 * Not thread-safe: the owner locks.
 */
#ifndef CD_RANGESET_H
#define CD_RANGESET_H

#include "common.h"

struct range {
	uint64_t start;		/* first byte */
	uint64_t end;		/* one past the last byte */
};

struct rangeset {
	struct range *v;	/* sorted, disjoint, non-adjacent */
	size_t n;		/* ranges in v */
	size_t cap;		/* allocated slots */
};

void rangeset_init(struct rangeset *rs);
void rangeset_release(struct rangeset *rs);

/* Adds [start, end), merging with neighbours it touches. */
void rangeset_add(struct rangeset *rs, uint64_t start, uint64_t end);
/* Removes [start, end) from the set. */
void rangeset_remove(struct rangeset *rs, uint64_t start, uint64_t end);
/* Whether every byte of [start, end) is in the set (true if empty). */
bool rangeset_contains(const struct rangeset *rs, uint64_t start,
		       uint64_t end);
/*
 * Finds the first gap of the set inside [*pos, end): on true, the gap is
 * [*gap_start, *gap_end) and *pos is moved past it; false when none is
 * left.
 */
bool rangeset_next_gap(const struct rangeset *rs, uint64_t *pos, uint64_t end,
		       uint64_t *gap_start, uint64_t *gap_end);
/* Total bytes in the set. */
uint64_t rangeset_bytes(const struct rangeset *rs);

/* Serialises to little-endian (start, end) pairs; caller frees. */
void *rangeset_encode(const struct rangeset *rs, size_t *len);
/* Replaces the set with a decoded blob; -EINVAL if it is malformed (the
 * set is then empty). */
int rangeset_decode(struct rangeset *rs, const void *blob, size_t len) CD_WUR;

#endif
