/*
 * The mount and unmount commands.
 *
 * mount: parses its options (mount_opts.c), checks what it is given (a
 * mountpoint that is a directory, not inside the remote; a remote and a
 * cache directory not inside the mountpoint), cleans up a stale mount a
 * killed daemon left, forks (unless --foreground), and in the child
 * builds the layers bottom-up: remote, store, fetcher, sync engine,
 * filters, front end. The parent returns once the mount is live, with the
 * child's verdict. One daemon per cache directory: a lock file in it says
 * who has it.
 *
 * unmount: asks the daemon (through the user.clonedrive.sync xattr of the
 * root) to flush pending remote operations, says what is still pending if
 * that times out, unmounts, and waits for the daemon to exit.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "daemon.h"
#include "mount_opts.h"
#include "ctl/server.h"
#include "filter/filter.h"
#include "fuse/frontend.h"
#include "remote/remote.h"
#include "store/store.h"
#include "sync/fetch.h"
#include "sync/residency.h"
#include "sync/sync.h"
#include "util/log.h"
#include "util/crash.h"
#include "util/util.h"

#define FETCH_THREADS 16

static const char unmount_usage[] =
	"usage: clonedrive unmount [--force] [--timeout DUR] MOUNTPOINT\n"
	"\n"
	"Uploads what is pending (waiting at most --timeout, default 30s; what\n"
	"is still pending then is listed and resumes at the next mount), then\n"
	"unmounts and waits for the daemon to exit.\n"
	"\n"
	"  --force        do not wait for uploads; detach even if busy\n"
	"  --timeout DUR  how long to wait for pending uploads\n"
	"  -h, --help     this text\n";

/*
 * The home directory of the user who mounts: $HOME, unless it is not
 * that user's. mount(8) drops HOME from the environment of the helper it
 * runs for the user of a "user" line of fstab, and mount.fuse3 then sets
 * it to /root; so a HOME that is missing or owned by another user gives
 * way to the user's entry in the password database. (The XDG variables
 * mount(8) leaves as the user set them.)
 */
static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	struct stat st;

	if (home && *home == '/' &&
	    (stat(home, &st) < 0 || st.st_uid == getuid()))
		return home;
	pw = getpwuid(getuid());
	if (pw && pw->pw_dir && *pw->pw_dir == '/')
		return pw->pw_dir;
	return home && *home == '/' ? home : "/";
}

/* A directory under an XDG base: $VAR or ~/FALLBACK, plus "clonedrive". */
static char *xdg_dir(const char *var, const char *fallback)
{
	const char *v = getenv(var);

	if (v && *v == '/')
		return xasprintf("%s/clonedrive", v);
	return xasprintf("%s/%s/clonedrive", home_dir(), fallback);
}

/* NAME-HASH: the mountpoint's last component and a hash of both paths. */
static char *instance_name(const char *remote, const char *mnt)
{
	uint64_t h = 14695981039346656037ULL;
	const char *p, *base = strrchr(mnt, '/');
	char name[64];
	size_t i = 0;

	for (p = remote; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0) * 1099511628211ULL;
	for (p = mnt; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	base = base && base[1] ? base + 1 : "root";
	for (p = base; *p && i < 32; p++)
		name[i++] = (char)((*p >= 'a' && *p <= 'z') ||
						   (*p >= 'A' && *p <= 'Z') ||
						   (*p >= '0' && *p <= '9') ||
						   *p == '-' || *p == '_'
					   ? *p
					   : '_');
	name[i] = '\0';
	return xasprintf("%s-%016llx", name, (unsigned long long)h);
}

/* Lazily detaches a mount; for stale FUSE mounts. */
static int detach(const char *mnt)
{
	pid_t pid;
	int status;

	if (umount2(mnt, MNT_DETACH) == 0)
		return 0;
	pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mnt,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/*
 * Whether path is a FUSE mount whose daemon is gone. statfs is never
 * answered from the kernel's caches, unlike stat with long attribute
 * timeouts, so it reliably reports the dead connection.
 */
static bool is_stale_mount(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) < 0 && errno == ENOTCONN;
}

/* 1 if the directory dir holds no entry, 0 if it does, or -errno. */
static int dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return -errno;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* Resolves the mountpoint, cleaning up stale mounts first. */
static int resolve_mountpoint(const char *mnt, char *out)
{
	char type[64];
	unsigned maj, min;
	struct stat st;
	int i;

	for (i = 0; i < 8 && is_stale_mount(mnt); i++) {
		fprintf(stderr, "clonedrive: %s: cleaning up a stale mount "
				"left by a daemon that died\n", mnt);
		if (detach(mnt)) {
			fprintf(stderr, "clonedrive: %s: cannot unmount the "
					"stale mount; try 'fusermount3 -u -z "
					"%s'\n", mnt, mnt);
			return -EBUSY;
		}
	}
	if (!realpath(mnt, out)) {
		fprintf(stderr, "clonedrive: mountpoint %s: %s\n", mnt,
			strerror(errno));
		return -errno;
	}
	if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "clonedrive: mountpoint %s is not a "
				"directory\n", mnt);
		return -ENOTDIR;
	}
	if (util_mount_at(out, &maj, &min, type, sizeof(type)) == 0 &&
	    strncmp(type, "fuse", 4) == 0) {
		fprintf(stderr, "clonedrive: %s is already mounted (%s); "
				"unmount it first\n", out, type);
		return -EBUSY;
	}
	return 0;
}

/* Whether the -o options ask for a read-only mount. */
static bool opts_readonly(const char *opts)
{
	char *copy, *tok, *save = NULL;
	bool ro = false;

	if (!opts)
		return false;
	copy = xstrdup(opts);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "ro") == 0)
			ro = true;
		else if (strcmp(tok, "rw") == 0)
			ro = false;
	free(copy);
	return ro;
}

/* Checks that neither of remote, cache lies in the other places. */
static int check_places(const char *remote_dir, const char *cache,
			const char *mnt)
{
	if (remote_dir && util_path_is_under(remote_dir, mnt)) {
		fprintf(stderr, "clonedrive: the remote %s is inside the "
				"mountpoint %s; the daemon must never do I/O "
				"through its own mount\n", remote_dir, mnt);
		return -EINVAL;
	}
	if (remote_dir && util_path_is_under(mnt, remote_dir)) {
		fprintf(stderr, "clonedrive: the mountpoint %s is inside the "
				"remote %s; listing the remote would enter "
				"the mount\n", mnt, remote_dir);
		return -EINVAL;
	}
	if (util_path_is_under(cache, mnt)) {
		fprintf(stderr, "clonedrive: the cache directory %s is "
				"inside the mountpoint %s\n", cache, mnt);
		return -EINVAL;
	}
	if (remote_dir && util_path_is_under(cache, remote_dir)) {
		fprintf(stderr, "clonedrive: the cache directory %s is "
				"inside the remote %s\n", cache, remote_dir);
		return -EINVAL;
	}
	return 0;
}

/*
 * Refuses a mountpoint that is not empty unless nonempty: the mount
 * would hide what is in it (other FUSE file systems refuse it too).
 */
static int check_empty(const char *mnt, bool nonempty)
{
	if (nonempty || dir_is_empty(mnt) != 0)
		return 0;
	fprintf(stderr, "clonedrive: the mountpoint %s is not empty: the "
			"mount would hide what is in it; empty it, or mount "
			"with -o nonempty\n", mnt);
	return -ENOTEMPTY;
}

/* Takes the cache directory's lock: one daemon per local store. */
static int lock_cache(const char *cache)
{
	char *path = xasprintf("%s/lock", cache);
	char pid[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "clonedrive: %s: %s\n", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "clonedrive: the cache directory %s is in use "
				"by another clonedrive daemon (pid %s); unmount "
				"it first or give another --cache-dir\n",
			cache, *pid ? pid : "?");
		close(fd);
		free(path);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) < 0) {
		/* the lock is what matters; the pid is a courtesy */
	}
	free(path);
	return fd;
}

static void write_pid_file(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f) {
		log_warn("pid file %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

/* Tells the waiting parent how it went (0 ok, else an exit status). */
static void report(int fd, unsigned char status)
{
	if (fd >= 0) {
		if (write(fd, &status, 1) < 0) {
			/* the parent is gone; nothing to tell */
		}
		close(fd);
	}
}

/* A fetch found the remote version changed under it: poll now. */
static void on_stale(void *arg, uint64_t ino)
{
	struct fs *fs = arg;

	if (fs->env.sync)
		sync_refresh(fs->env.sync);
}

/*
 * Builds the layers, serves until unmounted, takes the layers down.
 * Reports success on ready_fd once the mount is live (*live is then
 * true); a failure before that is for the caller to report.
 */
static int serve(struct mount_opts *o, const char *mnt, const char *cache,
		 int ready_fd, bool *live)
{
	struct sync_config cfg = { o->poll_ms, o->upload_delay_ms };
	struct residency_config rcfg = { o->cache_max, o->min_free,
					 o->full_wait_ms, o->poll_ms };
	struct ctl_server *ctl = NULL;
	struct frontend *fe = NULL;
	struct remote_opts ropts;
	struct remote *remote;
	char err[512];
	struct fs fs;
	int rc;

	memset(&fs, 0, sizeof(fs));
	fs.env.trace = o->trace;
	fs.env.readonly = opts_readonly(o->fuse_opts);
	fs.env.clone_mode = (enum clone_mode)o->clone_mode;
	fs.env.fastpath = (enum fastpath_mode)o->fastpath;
	fs.env.mount_id = -1;
	fs.timeout = o->timeout;
	fs.env.max_pending = (unsigned)o->max_pending;
	ropts.endpoint = o->endpoint;
	ropts.region = o->region;
	ropts.profile = o->profile;
	ropts.addressing = (enum remote_s3_addressing)o->addressing;
	remote = remote_open(o->remote, &ropts, err, sizeof(err));
	if (!remote) {
		log_error("%s", err);
		return 1;
	}
	/* a remote that is away is mounted (held data stays readable); one
	 * that says no to these keys, this bucket or this server is not */
	rc = remote_check(remote);
	if (rc == -EACCES || rc == -EPERM || rc == -ENOENT) {
		log_error("remote %s: %s (the log says more)", o->remote,
			  rc == -ENOENT ? "no such bucket or directory"
					: "access refused");
		remote_close(remote);
		return 1;
	}
	rc = store_open(cache, getuid(), getgid(), &fs.env.store);
	if (rc) {
		log_error("cannot open the local store in %s: %s", cache,
			  strerror(-rc));
		goto out_remote;
	}
	fs.env.store->keep_owners = o->owners > 0 ||
				    (o->owners < 0 && geteuid() == 0);
	fs.env.remote = remote;
	xfers_init(&fs.env.xfers);
	policy_init(&fs.env.policy, o->no_hydrate_for, o->no_hydrate_errno);
	fs.env.fetcher = fetch_new(fs.env.store, remote, &fs.env.stats,
				   &fs.env.xfers, FETCH_THREADS, on_stale, &fs);
	fs.env.sync = sync_new(fs.env.store, remote, fs.env.fetcher,
			       &fs.env.stats, &fs.env.xfers, &cfg);
	fs.env.res = residency_new(fs.env.store, fs.env.fetcher, fs.env.sync,
				   &fs.env.stats, cache, &rcfg);
	rc = filter_stack_init(&fs);
	if (rc)
		goto out_sync;
	if (clone_restore(&fs.env))
		log_warn("cannot resume the uploads of copies in progress; "
			 "they are checked before they go up");
	{
		char *opts = xasprintf("default_permissions%s%s",
				       o->fuse_opts ? "," : "",
				       o->fuse_opts ? o->fuse_opts : "");

		rc = frontend_mount(&fs, mnt, opts, &fe);
		free(opts);
	}
	if (rc)
		goto out_filters;
	frontend_set_readahead(mnt, o->readahead);
	{
		unsigned maj, min;
		char type[64];

		/* from mountinfo, never by I/O on the mount */
		if (util_mount_at(mnt, &maj, &min, type, sizeof(type)) == 0) {
			fs.env.mount_dev = makedev(maj, min);
			residency_set_mount_dev(fs.env.res, fs.env.mount_dev);
		}
		if (util_mount_id(mnt, &fs.env.mount_id))
			fs.env.mount_id = -1;
	}
	rc = sync_start(fs.env.sync, frontend_notify(fe));
	if (rc) {
		log_error("cannot start the sync engine: %s", strerror(-rc));
		goto out_frontend;
	}
	rc = residency_start(fs.env.res);
	if (rc) {
		log_error("cannot start the keeper of pinned files: %s",
			  strerror(-rc));
		goto out_frontend;
	}
	{
		struct ctl_info info = { o->remote, mnt, cache };

		fs.env.control_path = xasprintf("%s/control.sock", cache);
		rc = ctl_server_start(&fs, &info, fs.env.control_path, &ctl);
		if (rc)
			goto out_frontend;
	}
	if (o->pid_file)
		write_pid_file(o->pid_file);
	log_info("mounted %s at %s (cache %s)", remote->spec, mnt, cache);
	log_tee(-1);
	*live = true;
	report(ready_fd, 0);
	if (!o->foreground) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			/* what libraries write to stderr (a sanitizer's report,
			 * a library's complaint) goes to the log too */
			if (o->log_file)
				dup2(log_get_fd() != 2 ? log_get_fd() : null, 2);
			close(null);
		}
	}
	rc = frontend_loop(fe);
	log_info("unmounting %s", mnt);
	/* the requests still pending end before the files they use go */
	pend_drain(&fs);
	frontend_release_all(fe);
out_frontend:
	/* tree operations of control requests stop at their next step */
	residency_stop(fs.env.res);
	ctl_server_stop(ctl);
	/* workers that use the fetcher, the fetcher, then the saver */
	sync_stop(fs.env.sync);
	fetch_free(fs.env.fetcher);
	fs.env.fetcher = NULL;
	frontend_free(fe);
	sync_free(fs.env.sync);
	fs.env.sync = NULL;
out_filters:
	filter_stack_release(&fs);
out_sync:
	residency_stop(fs.env.res);
	sync_free(fs.env.sync);
	fetch_free(fs.env.fetcher);
	residency_free(fs.env.res);
	xfers_release(&fs.env.xfers);
	policy_release(&fs.env.policy);
	store_close(fs.env.store);
out_remote:
	free(fs.env.control_path);
	remote_close(remote);
	return rc ? 1 : 0;
}

/* The topmost directory of path that does not exist yet, which making
 * path creates (caller frees); NULL if path exists or cannot be told. */
static char *first_missing(const char *path)
{
	char *p = xstrdup(path), *missing = NULL, *slash;
	struct stat st;

	while (stat(p, &st) < 0 && errno == ENOENT) {
		free(missing);
		missing = xstrdup(p);
		slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
	free(p);
	return missing;
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		log_debug("%s: cannot remove: %s", path, strerror(errno));
	return 0;
}

/* Removes *fresh, a directory this mount made and that never held a
 * mount's data, with all in it; frees it. */
static void drop_fresh(char **fresh)
{
	if (*fresh &&
	    nftw(*fresh, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		fprintf(stderr, "clonedrive: cannot remove %s: %s\n", *fresh,
			strerror(errno));
	free(*fresh);
	*fresh = NULL;
}

/* Everything mount does after parsing; returns the exit status. */
static int mount_run(struct mount_opts *opts)
{
	struct mount_opts o = *opts;
	char mnt[PATH_MAX], remote_dir[PATH_MAX], cache[PATH_MAX];
	const char *rspec;
	bool is_dir_remote;
	int pipefd[2] = { -1, -1 };
	int lockfd, logfd = -1, rc;
	char *name, *dir, *fresh;
	bool live = false;
	unsigned char status;
	pid_t pid;

	if (resolve_mountpoint(o.mountpoint, mnt))
		return 1;
	is_dir_remote = strncmp(o.remote, "s3://", 5) != 0;
	rspec = strncmp(o.remote, "local:", 6) == 0 ? o.remote + 6 : o.remote;
	if (is_dir_remote && !realpath(rspec, remote_dir)) {
		fprintf(stderr, "clonedrive: remote directory %s: %s\n", rspec,
			strerror(errno));
		return 1;
	}
	if (is_dir_remote)
		o.remote = remote_dir;	/* logs and status say where */
	name = instance_name(is_dir_remote ? remote_dir : o.remote, mnt);
	if (!o.cache_dir) {
		dir = xdg_dir("XDG_CACHE_HOME", ".cache");
		o.cache_dir = opts->cache_dir = xasprintf("%s/%s", dir, name);
		free(dir);
	}
	if (!o.log_file && !o.foreground) {
		dir = xdg_dir("XDG_STATE_HOME", ".local/state");
		if (util_mkdir_p(dir, 0700) == 0)
			o.log_file = opts->log_file =
				xasprintf("%s/%s.log", dir, name);
		free(dir);
	}
	free(name);
	fresh = first_missing(o.cache_dir);
	rc = util_mkdir_p(o.cache_dir, 0700);
	if (rc || !realpath(o.cache_dir, cache)) {
		fprintf(stderr, "clonedrive: cache directory %s: %s\n",
			o.cache_dir, strerror(rc ? -rc : errno));
		goto out_fresh;
	}
	if (check_places(is_dir_remote ? remote_dir : NULL, cache, mnt) ||
	    check_empty(mnt, o.nonempty))
		goto out_fresh;
	if (o.log_file) {
		logfd = open(o.log_file,
			     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (logfd < 0) {
			fprintf(stderr, "clonedrive: log file %s: %s\n",
				o.log_file, strerror(errno));
			goto out_fresh;
		}
	}
	if (!o.foreground) {
		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			perror("clonedrive: pipe");
			goto out_log;
		}
		pid = fork();
		if (pid < 0) {
			perror("clonedrive: fork");
			close(pipefd[0]);
			close(pipefd[1]);
			goto out_log;
		}
		if (pid > 0) {
			/* the child says why it failed, and cleans up */
			close(pipefd[1]);
			if (read(pipefd[0], &status, 1) != 1)
				status = 1;
			if (status)
				fprintf(stderr, "clonedrive: mount of %s at %s "
						"failed%s%s\n", o.remote, mnt,
					o.log_file ? "; see " : "",
					o.log_file ? o.log_file : "");
			close(pipefd[0]);
			if (logfd >= 0)
				close(logfd);
			free(fresh);
			return status;
		}
		close(pipefd[0]);
		setsid();
	}
	/* errors before the mount is live go to the terminal too */
	log_setup(logfd >= 0 ? logfd : 2,
		  o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_tee(2);
	crash_setup();
	lockfd = lock_cache(cache);
	if (lockfd < 0)
		goto out_report;
	rc = serve(&o, mnt, cache, pipefd[1], &live);
	close(lockfd);
	if (live) {
		if (logfd >= 0)
			close(logfd);
		free(fresh);
		return rc;
	}
out_report:
	/* the parent returns once told: what never was a mount is gone */
	log_tee(-1);
	drop_fresh(&fresh);
	report(pipefd[1], 1);
out_log:
	if (logfd >= 0)
		close(logfd);
out_fresh:
	drop_fresh(&fresh);
	return 1;
}

int daemon_mount_main(int argc, char **argv)
{
	struct mount_opts o;
	int rc;

	mount_opts_init(&o);
	rc = mount_opts_parse(&o, argc, argv);
	if (rc == 0)
		rc = mount_run(&o);
	else if (rc < 0)
		rc = 0;		/* --help */
	mount_opts_release(&o);
	return rc;
}

/* The daemon's pid, from the stats of the mount root (0 if unknown). */
static pid_t daemon_pid(const char *mnt, long long *pending)
{
	char buf[1024], *p;
	ssize_t n;
	pid_t pid = 0;

	n = getxattr(mnt, "user.clonedrive.stats", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "pid=");
	if (p)
		pid = (pid_t)strtol(p + 4, NULL, 10);
	p = strstr(buf, "uploads_pending=");
	if (p && pending)
		*pending = strtoll(p + 16, NULL, 10);
	return pid;
}

/* Prints the daemon's list of pending remote operations, indented. */
static void print_pending(const char *mnt)
{
	ssize_t n = getxattr(mnt, "user.clonedrive.pending", NULL, 0);
	char *buf, *line, *save = NULL;

	if (n <= 0)
		return;
	buf = xmalloc((size_t)n + 1);
	n = getxattr(mnt, "user.clonedrive.pending", buf, (size_t)n);
	if (n > 0) {
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			fprintf(stderr, "  %s\n", line);
	}
	free(buf);
}

static int do_unmount(const char *mnt, bool force)
{
	pid_t pid;
	int status;

	if (umount2(mnt, force ? MNT_DETACH : 0) == 0)
		return 0;
	if (errno == EBUSY && !force)
		return -EBUSY;
	pid = fork();
	if (pid == 0) {
		if (force)
			execlp("fusermount3", "fusermount3", "-u", "-z", "--",
			       mnt, (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", "--", mnt,
			       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBUSY;
}

int daemon_unmount_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t timeout_ms = 30000;
	long long pending = 0;
	char mnt[PATH_MAX], secs[32];
	bool force = false;
	pid_t pid;
	int c, i, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			force = true;
			break;
		case 't':
			if (util_parse_duration_ms(optarg, &timeout_ms)) {
				fprintf(stderr, "clonedrive unmount: bad "
						"--timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(unmount_usage, stdout);
			return 0;
		default:
			fputs(unmount_usage, stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fputs(unmount_usage, stderr);
		return 2;
	}
	if (is_stale_mount(argv[optind])) {
		fprintf(stderr, "clonedrive: %s: stale mount (the daemon "
				"died); detaching it. Pending uploads resume "
				"at the next mount.\n", argv[optind]);
		return detach(argv[optind]) ? 1 : 0;
	}
	if (!realpath(argv[optind], mnt)) {
		fprintf(stderr, "clonedrive: %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	pid = daemon_pid(mnt, &pending);
	if (!pid) {
		fprintf(stderr, "clonedrive: %s is not a clonedrive mount\n",
			mnt);
		return 1;
	}
	if (!force && pending > 0) {
		snprintf(secs, sizeof(secs), "%llu",
			 (unsigned long long)((timeout_ms + 999) / 1000));
		if (setxattr(mnt, "user.clonedrive.sync", secs, strlen(secs),
			     0) < 0) {
			int err = errno;

			daemon_pid(mnt, &pending);
			fprintf(stderr, "clonedrive: %s: %lld remote "
					"operations still pending (%s); they "
					"resume at the next mount:\n", mnt,
				pending, strerror(err));
			print_pending(mnt);
		}
	}
	rc = do_unmount(mnt, force);
	if (rc == -EBUSY) {
		fprintf(stderr, "clonedrive: %s is busy: a process still uses "
				"it (see 'fuser -vm %s'); close it, or use "
				"--force to detach now\n", mnt, mnt);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "clonedrive: cannot unmount %s: %s\n", mnt,
			strerror(-rc));
		return 1;
	}
	/* the daemon saves its state and exits once unmounted */
	for (i = 0; i < 300 && kill(pid, 0) == 0; i++)
		usleep(100000);
	if (kill(pid, 0) == 0)
		fprintf(stderr, "clonedrive: %s unmounted, but the daemon "
				"(pid %d) is still saving its state\n", mnt,
			(int)pid);
	return 0;
}
