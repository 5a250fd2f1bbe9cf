/*
 * The guard: sources of copies kept safe until uploaded, with fanotify
 * pre-content events (Linux 6.14 and later, CAP_SYS_ADMIN).
 *
 * A copy the clone filter acknowledged without storing has its bytes in
 * the source only (struct backing). The guard marks the source's inode
 * for FAN_PRE_ACCESS: before any other process reads, writes, truncates
 * or faults in a page of it, the kernel holds that process and tells us.
 * We then copy the backed bytes into the cache (store_node_materialize,
 * which checks them against the hash of what was written) and only then
 * let the access go on. Unlink and rename need no guard: the daemon
 * holds the source open.
 *
 * Reentrancy. The daemon reads guarded sources itself (reads of the
 * copy, checks of later writes, uploads), and each such read raises an
 * event to this same group, holding the reading thread until it is
 * answered. So the thread that reads events never blocks and never does
 * I/O of its own: an event of our own process is allowed at once, and
 * one of another process is handed to the snapshot worker, which copies
 * through the descriptor the event carries (opened by the kernel with
 * notifications off, so its reads raise nothing). No thread that holds
 * a lock can wait for an answer that needs that lock.
 *
 * Files opened before the first pre-content mark on their file system
 * raise no events at all (the kernel decides at open time). So when a
 * source is marked, any other process that already has it open for
 * writing, or mapped shared and writable, makes the guard refuse it, and
 * the clone filter stores that copy instead.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

#ifndef FAN_PRE_ACCESS
#define FAN_PRE_ACCESS 0x00100000
#endif

#define MARK_MAX_COPIES 16

/* A marked source, the copies it backs, and the processes copying it
 * (whose reads of it are the copy itself). */
struct mark {
	struct mark *next;
	dev_t dev;
	ino_t ino;
	int users;
	uint64_t copies[MARK_MAX_COPIES];
	pid_t writers[MARK_MAX_COPIES];	/* 0 once that copy is closed */
};

/* An event of another process, waiting for the snapshot worker. */
struct held {
	struct held *next;
	int fd;				/* the event's; answered and closed */
	pid_t pid;
};

struct guard {
	struct filter_env *env;
	int fan;			/* the fanotify group */
	int stop_pipe[2];
	pthread_t reader, worker;
	pthread_mutex_t lock;		/* protects everything below */
	pthread_cond_t cond;
	struct mark *marks;
	struct held *queue, **tail;
	bool stop;
};

static void answer(struct guard *g, int fd)
{
	struct fanotify_response r = { .fd = fd, .response = FAN_ALLOW };

	if (write(g->fan, &r, sizeof(r)) != (ssize_t)sizeof(r))
		log_warn("guard: cannot answer an event: %s", strerror(errno));
	close(fd);
}

static struct mark *find_mark(struct guard *g, dev_t dev, ino_t ino)
{
	struct mark *m;

	for (m = g->marks; m; m = m->next)
		if (m->dev == dev && m->ino == ino)
			return m;
	return NULL;
}

/* Whether the event of pid on m's source is one of its copiers
 * reading it; under g->lock. */
static bool is_writer(const struct mark *m, pid_t pid)
{
	int i;

	for (i = 0; i < m->users; i++)
		if (m->writers[i] == pid)
			return true;
	return false;
}

static void *reader_main(void *arg)
{
	struct guard *g = arg;
	char buf[4096] __attribute__((aligned(8)));
	pid_t self = getpid();

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = g->fan, .events = POLLIN },
			{ .fd = g->stop_pipe[0], .events = POLLIN },
		};
		struct fanotify_event_metadata *m;
		ssize_t len;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		len = read(g->fan, buf, sizeof(buf));
		if (len <= 0)
			continue;
		for (m = (void *)buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			struct held *h;
			struct mark *mk;
			struct stat st;
			bool ours;

			if (m->fd < 0)
				continue;
			if (m->pid == self) {	/* our own reads: at once */
				answer(g, m->fd);
				continue;
			}
			/* never a lock that I/O is done under: only g's */
			ours = fstat(m->fd, &st) == 0;
			pthread_mutex_lock(&g->lock);
			mk = ours ? find_mark(g, st.st_dev, st.st_ino) : NULL;
			ours = mk && !is_writer(mk, m->pid);
			if (ours) {
				h = xcalloc(1, sizeof(*h));
				h->fd = m->fd;
				h->pid = m->pid;
				*g->tail = h;
				g->tail = &h->next;
				pthread_cond_signal(&g->cond);
			}
			pthread_mutex_unlock(&g->lock);
			if (!ours)
				answer(g, m->fd);
		}
	}
	return NULL;
}

/* Copies into the cache every copy backed by the event's file. */
static void snapshot(struct guard *g, const struct held *h)
{
	struct store *s = g->env->store;
	uint64_t inos[MARK_MAX_COPIES];
	struct stat st;
	struct mark *m;
	char who[64];
	int n = 0, i;

	if (fstat(h->fd, &st) < 0)
		return;
	pthread_mutex_lock(&g->lock);
	m = find_mark(g, st.st_dev, st.st_ino);
	if (m) {
		n = m->users;
		memcpy(inos, m->copies, (size_t)n * sizeof(*inos));
	}
	pthread_mutex_unlock(&g->lock);
	util_proc_line(h->pid, "comm", who, sizeof(who));
	for (i = 0; i < n; i++) {
		struct node *x = store_node_find(s, inos[i]);
		struct backing *bk;
		int rc;

		if (!x)
			continue;
		bk = store_backing_get(x);
		rc = bk && !backing_ended(bk) ?
			     store_node_materialize(s, x, h->fd) : -ENOENT;
		store_backing_put(bk);
		if (!rc) {
			stats_add(&g->env->stats, guard_snapshots, 1);
			log_info("inode %llu: %s (pid %d) opened the source of "
				 "this copy before it was uploaded; its bytes "
				 "are now in the cache",
				 (unsigned long long)inos[i], who, (int)h->pid);
		}
		store_node_put(s, x);
	}
}

static void *worker_main(void *arg)
{
	struct guard *g = arg;

	pthread_mutex_lock(&g->lock);
	for (;;) {
		struct held *h;

		while (!g->queue && !g->stop)
			pthread_cond_wait(&g->cond, &g->lock);
		h = g->queue;
		if (!h)
			break;
		g->queue = h->next;
		if (!g->queue)
			g->tail = &g->queue;
		pthread_mutex_unlock(&g->lock);
		snapshot(g, h);
		answer(g, h->fd);
		free(h);
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/*
 * Whether pre-content events can be had, not only a group of that class:
 * kernels before 6.14 make the group and refuse each mark (EINVAL), which
 * would leave every copy stored while status said guard. The daemon's own
 * executable is marked and unmarked at once.
 */
static int probe_mark(int fan)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return 0;	/* nothing to try it on: copies will tell */
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_PRE_ACCESS, fd, NULL) < 0)
		rc = -errno;
	else if (fanotify_mark(fan, FAN_MARK_REMOVE, FAN_PRE_ACCESS, fd,
			       NULL) < 0)
		log_debug("guard: probe mark stays: %s", strerror(errno));
	close(fd);
	return rc;
}

int guard_open(struct filter_env *env, struct guard **out)
{
	struct guard *g;
	int fan, rc;

	fan = fanotify_init(FAN_CLASS_PRE_CONTENT | FAN_CLOEXEC,
			    O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fan < 0)
		return -errno;
	rc = probe_mark(fan);
	if (rc) {
		close(fan);
		return rc;
	}
	g = xcalloc(1, sizeof(*g));
	g->env = env;
	g->fan = fan;
	g->tail = &g->queue;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	if (pipe2(g->stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&g->reader, NULL, reader_main, g) != 0) {
		close(fan);
		free(g);
		return -EAGAIN;
	}
	if (pthread_create(&g->worker, NULL, worker_main, g) != 0)
		abort();
	*out = g;
	return 0;
}

void guard_close(struct guard *g)
{
	struct mark *m;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->worker, NULL);
	if (write(g->stop_pipe[1], "x", 1) != 1)
		abort();
	pthread_join(g->reader, NULL);
	/* closing the group lets every held access go on */
	close(g->fan);
	close(g->stop_pipe[0]);
	close(g->stop_pipe[1]);
	while ((m = g->marks)) {
		g->marks = m->next;
		free(m);
	}
	while (g->queue) {
		struct held *h = g->queue;

		g->queue = h->next;
		close(h->fd);
		free(h);
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/*
 * Whether a process other than the daemon has (dev, ino) open for
 * writing or mapped shared and writable; names it in who.
 */
static bool other_writer(dev_t dev, ino_t ino, char *who, size_t size)
{
	pid_t self = getpid();
	struct dirent *p;
	bool found = false;
	DIR *proc = opendir("/proc");
	char path[PATH_MAX], line[PATH_MAX + 128];

	if (!proc)
		return true;	/* cannot tell: not safe */
	while (!found && (p = readdir(proc))) {
		char *end;
		long pid = strtol(p->d_name, &end, 10);
		struct dirent *d;
		DIR *fds;
		FILE *maps;

		if (*end || pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		fds = opendir(path);
		while (fds && !found && (d = readdir(fds))) {
			struct stat st;
			unsigned long flags = 0;
			FILE *info;

			snprintf(path, sizeof(path), "/proc/%d/fd/%.16s",
				 (int)pid, d->d_name);
			if (d->d_name[0] == '.' || stat(path, &st) < 0 ||
			    st.st_dev != dev || st.st_ino != ino)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s",
				 (int)pid, d->d_name);
			info = fopen(path, "re");
			while (info && fgets(line, sizeof(line), info))
				if (sscanf(line, "flags: %lo", &flags) == 1)
					break;
			if (info)
				fclose(info);
			found = (flags & O_ACCMODE) != O_RDONLY;
		}
		if (fds)
			closedir(fds);
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
		maps = found ? NULL : fopen(path, "re");
		while (maps && !found && fgets(line, sizeof(line), maps)) {
			unsigned maj, min;
			unsigned long long i;
			char perms[8];

			if (sscanf(line, "%*x-%*x %7s %*x %x:%x %llu", perms,
				   &maj, &min, &i) == 4 && i == ino &&
			    makedev(maj, min) == dev && perms[1] == 'w' &&
			    perms[3] == 's')
				found = true;
		}
		if (maps)
			fclose(maps);
		if (found) {
			char comm[64];

			util_proc_line((pid_t)pid, "comm", comm, sizeof(comm));
			snprintf(who, size, "%s (pid %d)", comm, (int)pid);
		}
	}
	closedir(proc);
	return found;
}

static void unmark(void *arg, struct backing *bk)
{
	struct guard *g = arg;
	struct mark **pp, *m;

	pthread_mutex_lock(&g->lock);
	for (pp = &g->marks; (m = *pp); pp = &m->next) {
		int i;

		if (m->dev != bk->dev || m->ino != bk->src_ino)
			continue;
		for (i = 0; i < m->users && m->copies[i] != bk->ino; i++)
			;
		if (i == m->users)
			break;
		m->copies[i] = m->copies[m->users - 1];
		m->writers[i] = m->writers[m->users - 1];
		if (--m->users == 0) {
			*pp = m->next;
			if (fanotify_mark(g->fan, FAN_MARK_REMOVE,
					  FAN_PRE_ACCESS, bk->fd, NULL) < 0)
				log_warn("guard: cannot unmark %s: %s",
					 bk->source, strerror(errno));
			free(m);
		}
		break;
	}
	pthread_mutex_unlock(&g->lock);
}

int guard_add(struct guard *g, struct backing *bk)
{
	struct mark *m;
	char who[128];

	pthread_mutex_lock(&g->lock);
	m = find_mark(g, bk->dev, bk->src_ino);
	if (m && m->users == MARK_MAX_COPIES) {
		pthread_mutex_unlock(&g->lock);
		return -EBUSY;
	}
	if (!m) {
		/* the mark first: whatever opens the source from now on
		 * raises events, and the scan finds what opened it before */
		if (fanotify_mark(g->fan, FAN_MARK_ADD, FAN_PRE_ACCESS, bk->fd,
				  NULL) < 0) {
			int rc = -errno;

			pthread_mutex_unlock(&g->lock);
			log_debug("guard: cannot mark %s: %s", bk->source,
				  strerror(-rc));
			return rc;
		}
		m = xcalloc(1, sizeof(*m));
		m->dev = bk->dev;
		m->ino = bk->src_ino;
		m->next = g->marks;
		g->marks = m;
	}
	m->copies[m->users] = bk->ino;
	m->writers[m->users++] = bk->writer;
	bk->on_release = unmark;
	bk->release_arg = g;
	pthread_mutex_unlock(&g->lock);
	if (other_writer(bk->dev, bk->src_ino, who, sizeof(who))) {
		log_info("%s is open for writing by %s: its copy is stored "
			 "instead of guarded", bk->source, who);
		return -EBUSY;	/* the caller's put of bk unmarks it */
	}
	return 0;
}

void guard_closed(struct guard *g, struct backing *bk)
{
	struct mark *m;
	int i;

	pthread_mutex_lock(&g->lock);
	m = find_mark(g, bk->dev, bk->src_ino);
	for (i = 0; m && i < m->users; i++)
		if (m->copies[i] == bk->ino)
			m->writers[i] = 0;
	pthread_mutex_unlock(&g->lock);
}
