/*
 * Sorted array of disjoint ranges. Adds and removes are O(n) in the number
 * of ranges, lookups O(log n). Files are hydrated mostly in long runs, so n
 * stays small; scattered random reads make it grow by one range per read.
 */
#include "common.h"

#include "util/rangeset.h"
#include "util/util.h"

void rangeset_init(struct rangeset *rs)
{
	rs->v = NULL;
	rs->n = 0;
	rs->cap = 0;
}

void rangeset_release(struct rangeset *rs)
{
	free(rs->v);
	rangeset_init(rs);
}

/* Index of the first range whose end is >= off. */
static size_t first_ending_at_or_after(const struct rangeset *rs, uint64_t off)
{
	size_t lo = 0, hi = rs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->v[mid].end < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void reserve(struct rangeset *rs, size_t n)
{
	if (n <= rs->cap)
		return;
	rs->cap = CD_MAX(n, rs->cap * 2);
	rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
}

void rangeset_add(struct rangeset *rs, uint64_t start, uint64_t end)
{
	size_t i, j;

	if (start >= end)
		return;
	i = first_ending_at_or_after(rs, start);
	/* ranges i..j-1 touch or overlap [start, end) */
	for (j = i; j < rs->n && rs->v[j].start <= end; j++) {
		start = CD_MIN(start, rs->v[j].start);
		end = CD_MAX(end, rs->v[j].end);
	}
	if (j == i) {
		reserve(rs, rs->n + 1);
		memmove(&rs->v[i + 1], &rs->v[i], (rs->n - i) * sizeof(*rs->v));
		rs->n++;
	} else if (j > i + 1) {
		memmove(&rs->v[i + 1], &rs->v[j], (rs->n - j) * sizeof(*rs->v));
		rs->n -= j - i - 1;
	}
	rs->v[i].start = start;
	rs->v[i].end = end;
}

void rangeset_remove(struct rangeset *rs, uint64_t start, uint64_t end)
{
	size_t i;

	if (start >= end)
		return;
	i = first_ending_at_or_after(rs, start + 1);
	while (i < rs->n && rs->v[i].start < end) {
		struct range *r = &rs->v[i];

		if (r->start < start && r->end > end) {
			/* split in two */
			reserve(rs, rs->n + 1);
			r = &rs->v[i];
			memmove(r + 1, r, (rs->n - i) * sizeof(*r));
			rs->n++;
			r->end = start;
			rs->v[i + 1].start = end;
			return;
		}
		if (r->start < start) {
			r->end = start;
			i++;
		} else if (r->end > end) {
			r->start = end;
			return;
		} else {
			memmove(r, r + 1, (rs->n - i - 1) * sizeof(*r));
			rs->n--;
		}
	}
}

bool rangeset_contains(const struct rangeset *rs, uint64_t start,
		       uint64_t end)
{
	size_t i;

	if (start >= end)
		return true;
	i = first_ending_at_or_after(rs, start + 1);
	return i < rs->n && rs->v[i].start <= start && rs->v[i].end >= end;
}

bool rangeset_next_gap(const struct rangeset *rs, uint64_t *pos, uint64_t end,
		       uint64_t *gap_start, uint64_t *gap_end)
{
	uint64_t p = *pos;
	size_t i;

	while (p < end) {
		i = first_ending_at_or_after(rs, p + 1);
		if (i < rs->n && rs->v[i].start <= p) {
			p = rs->v[i].end;	/* inside a range: skip it */
			continue;
		}
		*gap_start = p;
		*gap_end = i < rs->n ? CD_MIN(rs->v[i].start, end) : end;
		*pos = *gap_end;
		return true;
	}
	*pos = end;
	return false;
}

uint64_t rangeset_bytes(const struct rangeset *rs)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < rs->n; i++)
		sum += rs->v[i].end - rs->v[i].start;
	return sum;
}

static void put_le64(unsigned char *p, uint64_t v)
{
	int k;

	for (k = 0; k < 8; k++)
		p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int k;

	for (k = 7; k >= 0; k--)
		v = (v << 8) | p[k];
	return v;
}

void *rangeset_encode(const struct rangeset *rs, size_t *len)
{
	unsigned char *blob = xmalloc(rs->n * 16);
	size_t i;

	for (i = 0; i < rs->n; i++) {
		put_le64(blob + 16 * i, rs->v[i].start);
		put_le64(blob + 16 * i + 8, rs->v[i].end);
	}
	*len = rs->n * 16;
	return blob;
}

int rangeset_decode(struct rangeset *rs, const void *blob, size_t len)
{
	const unsigned char *p = blob;
	uint64_t prev_end = 0;
	size_t i, n;

	rs->n = 0;
	if (len % 16)
		return -EINVAL;
	n = len / 16;
	reserve(rs, n);
	for (i = 0; i < n; i++) {
		uint64_t s = get_le64(p + 16 * i), e = get_le64(p + 16 * i + 8);

		if (s >= e || (i && s <= prev_end)) {
			rs->n = 0;
			return -EINVAL;
		}
		rs->v[i].start = s;
		rs->v[i].end = e;
		prev_end = e;
	}
	rs->n = n;
	return 0;
}
