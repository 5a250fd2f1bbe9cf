/*
 * clonedrive cp: copies local files into a mount without going through
 * it. The command opens each source itself and passes the descriptor over
 * the control socket (the daemon never opens a path a client names, and
 * reads nothing the user could not); the daemon makes the new file from
 * it, uploads it, and keeps no local copy once it is uploaded.
 * Directories (with -r) are made through the mount, as mkdir would.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_client.h"
#include "progress.h"
#include "util/util.h"

static const char cp_usage[] =
	"usage: clonedrive cp [-r] [--wait] [--no-progress] SRC... DST\n"
	"\n"
	"Copies local files into a clonedrive mount: the daemon reads each\n"
	"SRC through a descriptor this command opened, uploads it, and keeps\n"
	"no second copy on the local disk once it is uploaded. DST is a\n"
	"directory in the mount, or, for one SRC, the new file's path.\n"
	"Existing files are not replaced.\n"
	"\n"
	"  -r, --recursive  copy directories and their contents\n"
	"  --wait           return once everything is uploaded (progress on\n"
	"                   stderr: a bar on a terminal, lines otherwise)\n"
	"  --no-progress    show no progress while waiting\n"
	"  -h, --help       this text\n"
	"\n"
	"Exit status: 0 ok, 1 a file could not be copied (the message says\n"
	"which and why), 2 usage, 3 no clonedrive mount there or its daemon\n"
	"cannot be reached.\n";

/* The files gathered for the next request. */
struct batch {
	const char *root;		/* the mount */
	int fds[CTL_MAX_FDS];
	char *paths[CTL_MAX_FDS];	/* relative to the root */
	int n;
	int worst;			/* exit code so far */
	bool recursive;
};

static void note(struct batch *b, int code)
{
	b->worst = CD_MAX(b->worst, code);
}

/* Sends what is gathered; the daemon's messages go to stdout/stderr. */
static void flush(struct batch *b)
{
	struct ctl_msg req;
	int rc, i;

	if (!b->n)
		return;
	ctl_msg_init(&req, CTL_OP_CLONE);
	for (i = 0; i < b->n; i++)
		if (ctl_add_str(&req, CTL_KEY_PATH, b->paths[i]))
			break;
	rc = i == b->n ? client_call_fds(b->root, &req, b->fds, b->n, stdout,
					 NULL, NULL)
		       : -E2BIG;
	note(b, rc < 0 ? EXIT_NO_DAEMON : rc ? EXIT_FAIL : EXIT_OK);
	for (i = 0; i < b->n; i++) {
		close(b->fds[i]);
		free(b->paths[i]);
	}
	b->n = 0;
}

static void add_file(struct batch *b, const char *src, const char *rel)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		fprintf(stderr, "clonedrive cp: %s: %s\n", src,
			strerror(errno));
		note(b, EXIT_FAIL);
		return;
	}
	b->fds[b->n] = fd;
	b->paths[b->n] = xstrdup(rel);
	if (++b->n == CTL_MAX_FDS)
		flush(b);
}

/* Copies src to rel (relative to the root; abs is the same in the mount). */
static void copy_one(struct batch *b, const char *src, const char *rel,
		     const char *abs)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;

	if (stat(src, &st) < 0) {
		fprintf(stderr, "clonedrive cp: %s: %s\n", src,
			strerror(errno));
		note(b, EXIT_FAIL);
		return;
	}
	if (S_ISREG(st.st_mode)) {
		add_file(b, src, rel);
		return;
	}
	if (!S_ISDIR(st.st_mode) || !b->recursive) {
		fprintf(stderr, "clonedrive cp: %s: %s\n", src,
			S_ISDIR(st.st_mode) ? "a directory (use -r)"
					    : "not a regular file: skipped");
		note(b, EXIT_FAIL);
		return;
	}
	if (mkdir(abs, st.st_mode & 07777) < 0 && errno != EEXIST) {
		fprintf(stderr, "clonedrive cp: %s: %s\n", abs,
			strerror(errno));
		note(b, EXIT_FAIL);
		return;
	}
	dir = opendir(src);
	if (!dir) {
		fprintf(stderr, "clonedrive cp: %s: %s\n", src,
			strerror(errno));
		note(b, EXIT_FAIL);
		return;
	}
	while ((d = readdir(dir))) {
		char *s, *r, *a;

		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		s = util_path_join(src, d->d_name);
		r = *rel ? util_path_join(rel, d->d_name) : xstrdup(d->d_name);
		a = util_path_join(abs, d->d_name);
		copy_one(b, s, r, a);
		free(s);
		free(r);
		free(a);
	}
	closedir(dir);
}

/* The last component of path, without trailing slashes (a copy). */
static char *base_of(const char *path)
{
	char *copy = xstrdup(path), *slash;
	size_t n = strlen(copy);

	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	slash = strrchr(copy, '/');
	if (slash) {
		char *b = xstrdup(slash + 1);

		free(copy);
		return b;
	}
	return copy;
}

/* Waits for the mount's uploads, with progress: a SYNC request. */
static int wait_uploaded(const char *root, bool show)
{
	struct progress *pr = show ? progress_new("upload") : NULL;
	struct ctl_msg req;
	uint8_t num[8];
	int rc;

	ctl_msg_init(&req, CTL_OP_SYNC);
	if (ctl_add_u64(&req, CTL_KEY_TIMEOUT_MS, 24ull * 3600 * 1000, num))
		return EXIT_USAGE;
	rc = client_call_progress(root, &req, stdout, pr ? progress_cb : NULL,
				  pr);
	progress_free(pr);
	return rc < 0 ? EXIT_NO_DAEMON : rc ? EXIT_FAIL : EXIT_OK;
}

int cp_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "recursive", no_argument, NULL, 'r' },
		{ "wait", no_argument, NULL, 'w' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct batch b = { .worst = EXIT_OK };
	bool wait = false, show = true, into_dir;
	char root[PATH_MAX], *inside, *dst, *parent;
	struct stat st;
	int c, i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "rh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			b.recursive = true;
			break;
		case 'w':
			wait = true;
			break;
		case 'P':
			show = false;
			break;
		case 'h':
			fputs(cp_usage, stdout);
			return EXIT_OK;
		default:
			fputs(cp_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		fputs(cp_usage, stderr);
		return EXIT_USAGE;
	}
	dst = argv[argc - 1];
	into_dir = stat(dst, &st) == 0 && S_ISDIR(st.st_mode);
	if (!into_dir && argc - optind > 2) {
		fprintf(stderr, "clonedrive cp: %s is not a directory\n", dst);
		return EXIT_USAGE;
	}
	/* the mount of the directory the new files go into */
	if (into_dir) {
		parent = xstrdup(dst);
	} else {
		char *slash = strrchr(dst, '/');

		parent = slash ? xstrndup(dst, (size_t)(slash - dst) + 1)
			       : xstrdup("");
	}
	if (!*parent) {
		free(parent);
		parent = xstrdup(".");
	}
	if (client_find_mount(parent, root, &inside)) {
		free(parent);
		return EXIT_NO_DAEMON;
	}
	b.root = root;
	for (i = optind; i < argc - 1; i++) {
		char *name = into_dir ? base_of(argv[i]) : base_of(dst);
		char *rel = *inside ? util_path_join(inside, name)
				    : xstrdup(name);
		char *abs = util_path_join(root, rel);

		copy_one(&b, argv[i], rel, abs);
		free(name);
		free(rel);
		free(abs);
	}
	flush(&b);
	free(inside);
	free(parent);
	if (wait && b.worst != EXIT_NO_DAEMON)
		b.worst = CD_MAX(b.worst, wait_uploaded(root, show));
	return b.worst;
}
