/*
 * clonedrive cp: copies local files into a mount without going through
 * it. The command opens each source itself and passes the descriptor over
 * the control socket (the daemon never opens a path a client names, and
 * reads nothing the user could not); the daemon makes the new file from
 * it, uploads it, and keeps no local copy once it is uploaded.
 * Directories (with -r) are made through the mount, as mkdir would.
 *
 * --wait follows the files this command made, one after the other in the
 * order they were made, through the xattrs the daemon gives each file in
 * the mount: user.clonedrive.state (done once placeholder, partial or
 * hydrated; failed if error) and user.clonedrive.progress (the bytes of
 * an upload in flight), polled every POLL_NS.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_client.h"
#include "progress.h"
#include "util/util.h"

#define POLL_NS 100000000L	/* between two looks at a file waited for */

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
	"  --wait           return once the files copied are uploaded, each\n"
	"                   in turn, in the order they were made (progress\n"
	"                   on stderr: a bar per file on a terminal, lines\n"
	"                   otherwise); a file whose upload fails is named\n"
	"                   on stderr and makes the exit status 1\n"
	"  --no-progress    show no progress while waiting\n"
	"  -h, --help       this text\n"
	"\n"
	"Exit status: 0 ok, 1 a file could not be copied, or with --wait\n"
	"uploaded (the message says which and why), 2 usage, 3 no clonedrive\n"
	"mount there or its daemon cannot be reached.\n";

/* A file this command made: where it is, for --wait. */
struct made {
	char *rel;			/* relative to the root */
	char *shown;			/* as the user named it */
};

/* The files gathered for the next request. */
struct batch {
	const char *root;		/* the mount */
	int fds[CTL_MAX_FDS];
	char *paths[CTL_MAX_FDS];	/* relative to the root */
	char *shown[CTL_MAX_FDS];	/* as the user named them */
	bool existed[CTL_MAX_FDS];	/* the path was taken before */
	off_t sizes[CTL_MAX_FDS];	/* of the sources */
	int n;
	int worst;			/* exit code so far */
	bool recursive;
	bool wait;			/* keep the files made, in made */
	struct made *made;
	size_t nmade;
};

static void note(struct batch *b, int code)
{
	b->worst = CD_MAX(b->worst, code);
}

/*
 * Whether file i of a request the daemon refused in part was made: the
 * reply says which failed only in its text, so this looks at the file.
 * Its path was free before, and it is now a regular file of the source's
 * size (a file the daemon gave up on after making it is left empty).
 */
static bool made_anyway(const struct batch *b, int i)
{
	char *abs = util_path_join(b->root, b->paths[i]);
	struct stat st;
	bool made;

	made = !b->existed[i] && lstat(abs, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_size == b->sizes[i];
	free(abs);
	return made;
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
		if (b->wait && rc >= 0 && (rc == 0 || made_anyway(b, i))) {
			b->made = xrealloc(b->made,
					   (b->nmade + 1) * sizeof(*b->made));
			b->made[b->nmade++] = (struct made){
				.rel = b->paths[i], .shown = b->shown[i],
			};
		} else {
			free(b->paths[i]);
			free(b->shown[i]);
		}
	}
	b->n = 0;
}

static void add_file(struct batch *b, const char *src, const char *rel,
		     const char *abs, const char *shown)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0) {
		fprintf(stderr, "clonedrive cp: %s: %s\n", src,
			strerror(errno));
		note(b, EXIT_FAIL);
		return;
	}
	b->fds[b->n] = fd;
	b->paths[b->n] = xstrdup(rel);
	b->shown[b->n] = xstrdup(shown);
	/* what made_anyway needs, looked at only if waiting */
	b->existed[b->n] = b->wait && lstat(abs, &st) == 0;
	b->sizes[b->n] = b->wait && fstat(fd, &st) == 0 ? st.st_size : -1;
	if (++b->n == CTL_MAX_FDS)
		flush(b);
}

/* Copies src to rel (relative to the root; abs is the same in the mount,
 * shown as the user named it). */
static void copy_one(struct batch *b, const char *src, const char *rel,
		     const char *abs, const char *shown)
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
		add_file(b, src, rel, abs, shown);
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
		char *s, *r, *a, *w;

		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		s = util_path_join(src, d->d_name);
		r = *rel ? util_path_join(rel, d->d_name) : xstrdup(d->d_name);
		a = util_path_join(abs, d->d_name);
		w = util_path_join(shown, d->d_name);
		copy_one(b, s, r, a, w);
		free(s);
		free(r);
		free(a);
		free(w);
	}
	closedir(dir);
}

/* path without trailing slashes (a copy; "/" stays). */
static char *trim_slashes(const char *path)
{
	char *copy = xstrdup(path);
	size_t n = strlen(copy);

	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	return copy;
}

/* The last component of path, without trailing slashes (a copy). */
static char *base_of(const char *path)
{
	char *copy = trim_slashes(path), *slash;

	slash = strrchr(copy, '/');
	if (slash) {
		char *b = xstrdup(slash + 1);

		free(copy);
		return b;
	}
	return copy;
}

/* The text of xattr name of path, without its last newline, into buf;
 * 0 or -errno. */
static int xattr_text(const char *path, const char *name, char *buf,
		      size_t size)
{
	ssize_t n = getxattr(path, name, buf, size - 1);

	if (n < 0)
		return -errno;
	if (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

/* The upload of path in flight, from its progress xattr, into p; its
 * size when none is (the upload has not begun). */
static void upload_numbers(const char *path, struct client_progress *p)
{
	unsigned long long done, total;
	char text[512], *line, *next;
	struct stat st;

	/* one line per transfer in flight ("uploading 1/8 bytes 5 B/s"),
	 * or "idle"; too long to read is taken as idle */
	if (xattr_text(path, "user.clonedrive.progress", text, sizeof(text)))
		text[0] = '\0';
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "uploading %llu/%llu bytes", &done,
			   &total) == 2) {
			p->bytes_done = done;
			p->bytes_total = total;
			return;
		}
	}
	p->bytes_done = 0;
	if (stat(path, &st) == 0)
		p->bytes_total = (uint64_t)st.st_size;
}

/* The second line of what clonedrive status says of rel, which tells
 * why it is in error (caller frees), or NULL. */
static char *failure_reason(const char *root, const char *rel)
{
	char *text = NULL, *line, *end, *why = NULL;
	struct ctl_msg req;
	uint8_t num[8];
	size_t len = 0;
	FILE *f;
	int rc;

	ctl_msg_init(&req, CTL_OP_STATUS);
	if (ctl_add_u64(&req, CTL_KEY_FLAGS, 0, num) ||
	    ctl_add_str(&req, CTL_KEY_PATH, rel))
		return NULL;
	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	rc = client_call(root, &req, f);
	if (fclose(f) == 0 && rc == 0 && text &&
	    (line = strchr(text, '\n'))) {
		line += strspn(line + 1, " ") + 1;
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		if (*line)
			why = xstrdup(line);
	}
	free(text);
	return why;
}

/* "upload NAME", NAME's control characters as '?': a plain progress line
 * stays one line. */
static char *upload_label(const char *shown)
{
	char *label = xasprintf("upload %s", shown), *c;

	for (c = label; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return label;
}

static bool state_done(const char *state)
{
	return strcmp(state, "placeholder") == 0 ||
	       strcmp(state, "partial") == 0 || strcmp(state, "hydrated") == 0;
}

/* Waits until the upload of m is over, with progress if show: EXIT_OK
 * once it is, EXIT_FAIL if it failed (said on stderr), EXIT_NO_DAEMON if
 * the mount stopped answering. */
static int wait_one(const char *root, const struct made *m, bool show)
{
	static const struct timespec poll = { 0, POLL_NS };
	struct client_progress p = {
		.has = CLIENT_HAS_BYTES_DONE | CLIENT_HAS_BYTES_TOTAL,
		.path = m->shown,
	};
	char *abs = util_path_join(root, m->rel), *label = NULL, *why;
	struct progress *pr = NULL;
	char state[64];
	int rc;

	if (show) {
		label = upload_label(m->shown);
		pr = progress_new(label);
	}
	for (;;) {
		rc = xattr_text(abs, "user.clonedrive.state", state,
				sizeof(state));
		if (rc || state_done(state) || strcmp(state, "error") == 0)
			break;
		/* dirty, uploading: on its way */
		upload_numbers(abs, &p);
		if (pr)
			progress_cb(&p, pr);
		nanosleep(&poll, NULL);
	}
	if (!rc && state_done(state)) {
		struct stat st;

		if (!p.bytes_total && stat(abs, &st) == 0)
			p.bytes_total = (uint64_t)st.st_size;
		p.bytes_done = p.bytes_total;
		if (pr) {
			progress_cb(&p, pr);
			progress_done(pr);
		}
	}
	progress_free(pr);
	free(label);
	if (rc) {
		fprintf(stderr, "clonedrive cp: %s: cannot follow its upload: "
			"%s\n", m->shown, strerror(-rc));
		rc = rc == -ENOTCONN || rc == -ECONNABORTED ? EXIT_NO_DAEMON
							     : EXIT_FAIL;
	} else if (!state_done(state)) {
		why = failure_reason(root, m->rel);
		if (why)
			fprintf(stderr, "clonedrive cp: %s: upload failed: "
				"%s\n", m->shown, why);
		else
			fprintf(stderr, "clonedrive cp: %s: upload failed: see "
				"clonedrive status %s\n", m->shown, m->shown);
		free(why);
		rc = EXIT_FAIL;
	}
	free(abs);
	return rc;
}

/* --wait: each file made, in turn; the worst outcome. A failed upload
 * does not stop the others; a mount that stopped answering does. */
static int wait_made(const char *root, const struct batch *b, bool show)
{
	int worst = EXIT_OK, rc;
	size_t i;

	for (i = 0; i < b->nmade && worst != EXIT_NO_DAEMON; i++) {
		rc = wait_one(root, &b->made[i], show);
		worst = CD_MAX(worst, rc);
	}
	return worst;
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
	bool show = true, into_dir;
	char root[PATH_MAX], *inside, *dst, *parent;
	struct stat st;
	size_t k;
	int c, i, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "rh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			b.recursive = true;
			break;
		case 'w':
			b.wait = true;
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
		char *dir = trim_slashes(dst);
		char *shown = into_dir ? util_path_join(dir, name) : dir;

		copy_one(&b, argv[i], rel, abs, shown);
		if (shown != dir)
			free(shown);
		free(dir);
		free(name);
		free(rel);
		free(abs);
	}
	flush(&b);
	free(inside);
	free(parent);
	if (b.wait && b.worst != EXIT_NO_DAEMON) {
		rc = wait_made(root, &b, show);	/* CD_MAX takes it twice */
		b.worst = CD_MAX(b.worst, rc);
	}
	for (k = 0; k < b.nmade; k++) {
		free(b.made[k].rel);
		free(b.made[k].shown);
	}
	free(b.made);
	return b.worst;
}
