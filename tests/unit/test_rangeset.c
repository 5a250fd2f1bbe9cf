/*
 * Unit test of the range set: adds that merge, removes that split, gaps,
 * and the blob round trip, checked against a byte map.
 */
#include "common.h"

#include "check.h"

#include "util/rangeset.h"

#define SPACE 4096

/* Compares the set to a reference byte map. */
static bool same(const struct rangeset *rs, const unsigned char *map)
{
	uint64_t i;

	for (i = 0; i + 1 < SPACE; i++)
		if (rangeset_contains(rs, i, i + 1) != (map[i] != 0))
			return false;
	for (i = 0; i + 1 < rs->n; i++)
		if (rs->v[i].end >= rs->v[i + 1].start)
			return false;
	return true;
}

int main(void)
{
	static unsigned char map[SPACE];
	struct rangeset rs, copy;
	uint64_t pos, gs, ge, bytes;
	unsigned seed = 1;
	void *blob;
	size_t len;
	int round, k;

	rangeset_init(&rs);
	rangeset_add(&rs, 10, 20);
	rangeset_add(&rs, 30, 40);
	rangeset_add(&rs, 20, 30);
	CHECK(rs.n == 1 && rs.v[0].start == 10 && rs.v[0].end == 40);
	rangeset_remove(&rs, 15, 25);
	CHECK(rs.n == 2 && rs.v[0].end == 15 && rs.v[1].start == 25);
	pos = 0;
	CHECK(rangeset_next_gap(&rs, &pos, 50, &gs, &ge) && gs == 0 &&
	      ge == 10);
	CHECK(rangeset_next_gap(&rs, &pos, 50, &gs, &ge) && gs == 15 &&
	      ge == 25);
	CHECK(rangeset_next_gap(&rs, &pos, 50, &gs, &ge) && gs == 40 &&
	      ge == 50);
	CHECK(!rangeset_next_gap(&rs, &pos, 50, &gs, &ge));
	rangeset_release(&rs);

	/* random operations against a byte map */
	for (round = 0; round < 200; round++) {
		for (k = 0; k < 40; k++) {
			uint64_t a = rand_r(&seed) % SPACE;
			uint64_t b = a + rand_r(&seed) % 200;

			b = b > SPACE ? SPACE : b;
			if (rand_r(&seed) % 3) {
				rangeset_add(&rs, a, b);
				memset(map + a, 1, b - a);
			} else {
				rangeset_remove(&rs, a, b);
				memset(map + a, 0, b - a);
			}
		}
		CHECK(same(&rs, map));
		bytes = 0;
		for (k = 0; k < SPACE; k++)
			bytes += map[k];
		CHECK(rangeset_bytes(&rs) == bytes);
		/* gaps cover exactly the bytes not in the map */
		pos = 0;
		bytes = 0;
		while (rangeset_next_gap(&rs, &pos, SPACE, &gs, &ge))
			bytes += ge - gs;
		CHECK(bytes + rangeset_bytes(&rs) == SPACE);
		blob = rangeset_encode(&rs, &len);
		rangeset_init(&copy);
		CHECK(rangeset_decode(&copy, blob, len) == 0);
		CHECK(same(&copy, map));
		rangeset_release(&copy);
		free(blob);
	}
	rangeset_init(&copy);
	CHECK(rangeset_decode(&copy, "short", 5) == -EINVAL);
	rangeset_release(&copy);
	rangeset_release(&rs);
	if (!failures)
		printf("ok - rangeset\n");
	return failures ? 1 : 0;
}
