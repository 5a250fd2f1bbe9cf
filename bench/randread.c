/* randread: bench helper for bench/foundation.sh.
 *
 *   randread FILE N SEED          N buffered 4 KiB preads at random
 *                                 4 KiB-aligned offsets (O_RDONLY)
 *   randread FILE 1 SEED OFFSET   one 4 KiB pread at OFFSET
 *
 * Prints "ops=N bytes=B secs=S ops_per_s=R sum=X" on success; exits 1 on
 * any error or short read. The offsets depend only on SEED and the file
 * size, so every subject of the benchmark reads the same blocks. X (hex)
 * checks what was read: the sum over the reads, i = 1..N, of i times the
 * sum of the block's 512 little-endian 64-bit words, mod 2^64 (bench/s3.sh
 * compares it with the same reads of a local copy, and bench/s3util.py
 * computes it for ranged GETs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096

static uint64_t rng_state;

static uint64_t next_rand(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s FILE N SEED [OFFSET]\n", argv[0]);
		return 2;
	}
	long n = strtol(argv[2], NULL, 10);
	rng_state = strtoull(argv[3], NULL, 10);
	if (n <= 0) {
		fprintf(stderr, "randread: bad N\n");
		return 2;
	}

	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "randread: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < BLK) {
		fprintf(stderr, "randread: %s: too small or fstat failed\n", argv[1]);
		return 1;
	}
	uint64_t nblocks = (uint64_t)st.st_size / BLK;

	static unsigned char buf[BLK];
	long long total = 0;
	uint64_t sum = 0;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		off_t off;
		if (argc == 5)
			off = (off_t)(strtoull(argv[4], NULL, 10) / BLK * BLK);
		else
			off = (off_t)((next_rand() % nblocks) * BLK);
		ssize_t r = pread(fd, buf, BLK, off);
		if (r != BLK) {
			fprintf(stderr, "randread: pread at %lld: %s\n", (long long)off,
				r < 0 ? strerror(errno) : "short read");
			return 1;
		}
		total += r;
		uint64_t words = 0;
		for (int w = 0; w < BLK / 8; w++) {
			uint64_t v = 0;
			for (int b = 7; b >= 0; b--)
				v = v << 8 | buf[w * 8 + b];
			words += v;
		}
		sum += (uint64_t)(i + 1) * words;
	}
	double secs = now() - t0;
	close(fd);
	if (secs <= 0)
		secs = 1e-9;
	printf("ops=%ld bytes=%lld secs=%.6f ops_per_s=%.1f sum=%016llx\n", n,
	       total, secs, (double)n / secs, (unsigned long long)sum);
	return 0;
}
