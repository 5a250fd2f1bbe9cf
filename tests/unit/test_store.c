/*
 * Unit test of the local store's writes: a write the cache file takes
 * only in part (its disk full, or here the file-size limit, which cuts a
 * write at the same place every time) is a short write whose bytes are
 * the file's, and nothing past them changes; one that writes nothing
 * fails and changes nothing.
 */
#include "common.h"

#include "check.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/util.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

/* Whether bytes [off, off+len) of fd are all c. */
static bool all(int fd, uint64_t off, size_t len, unsigned char c)
{
	unsigned char *buf = xmalloc(len);
	bool ok = pread(fd, buf, len, (off_t)off) == (ssize_t)len;
	size_t i;

	for (i = 0; ok && i < len; i++)
		ok = buf[i] == c;
	free(buf);
	return ok;
}

int main(void)
{
	char dir[] = "/tmp/cd-test-store.XXXXXX";
	struct rlimit lim = { 2 * MiB, RLIM_INFINITY }, old;
	struct meta_entry e, got;
	struct store *s;
	struct node *n;
	struct stat st;
	unsigned char *buf;
	uint64_t gen;
	ssize_t w;

	if (!mkdtemp(dir))
		return 77;
	CHECK(store_open(dir, getuid(), getgid(), &s) == 0);
	CHECK(store_mknod(s, META_ROOT_INO, "f",
			  &(struct store_new){ .mode = S_IFREG | 0644 }, NULL,
			  &e) == 0);
	memset(&st, 0, sizeof(st));
	st.st_size = 4 * MiB;	/* sparse: zeros */
	CHECK(store_setattr(s, e.ino, &st, STORE_SET_SIZE, NULL, &got) == 0);
	meta_entry_release(&got);
	CHECK(store_node_get(s, e.ino, &n) == 0);
	buf = xmalloc(MiB);
	memset(buf, 0xab, MiB);

	/* writes past 2 MiB fail (EFBIG), not the process (SIGXFSZ) */
	signal(SIGXFSZ, SIG_IGN);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);

	/* inside the file's size: the first 256 KiB land, then the limit */
	gen = n->write_gen;
	n->dirty = false;
	w = store_write(s, n, buf, MiB, 2 * MiB - 256 * KiB);
	CHECK(w == 256 * KiB);
	CHECK(all(n->fd, 2 * MiB - 256 * KiB, 256 * KiB, 0xab));
	CHECK(all(n->fd, 2 * MiB, MiB, 0));
	CHECK(n->dirty && n->write_gen != gen && n->size == 4 * MiB);

	/* nothing written: an error, nothing changed */
	gen = n->write_gen;
	w = store_write(s, n, buf, MiB, 3 * MiB);
	CHECK(w == -EFBIG);
	CHECK(all(n->fd, 3 * MiB, MiB, 0));
	CHECK(n->write_gen == gen && n->size == 4 * MiB);

	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	free(buf);
	store_node_put(s, n);
	meta_entry_release(&e);
	store_close(s);
	if (!failures) {
		char *cmd = xasprintf("rm -rf '%s'", dir);

		if (system(cmd) != 0)
			printf("cannot remove %s\n", dir);
		free(cmd);
	}
	printf("%s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
