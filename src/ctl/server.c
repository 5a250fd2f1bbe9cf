/*
 * The control socket server.
 *
 * One thread accepts; each connection gets a thread of its own (at most
 * CTL_MAX_CLIENTS at once, more wait in the backlog), which reads request
 * packets and answers each with one reply until the peer hangs up. A peer
 * that is neither the daemon's user nor root is answered EACCES and
 * dropped. Requests go through a table indexed by op; adding a command
 * is one entry and one function.
 *
 * A request names files by paths relative to the mount root, resolved
 * name by name in the store (listing directories from the remote as
 * needed): nothing outside the mount is ever opened for a client.
 */
#include "common.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/server.h"
#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

#define CTL_MAX_CLIENTS 8

struct ctl_server {
	struct fs *fs;
	struct ctl_info info;		/* strings owned here */
	char *path;			/* the socket */
	int listen_fd;
	int stop_pipe[2];		/* written to stop the accept loop */
	pthread_t thread;
	pthread_mutex_t lock;		/* protects clients */
	pthread_cond_t cond;		/* a client ended */
	int clients;			/* connection threads running */
	uid_t owner;
};

/* A growing text buffer for replies. */
struct out {
	char *s;
	size_t len;
};

static void out_add(struct out *o, const char *fmt, ...) CD_PRINTF(2, 3);

static void out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *piece;
	size_t n;

	va_start(ap, fmt);
	piece = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(piece);
	o->s = xrealloc(o->s, o->len + n + 1);
	memcpy(o->s + o->len, piece, n + 1);
	o->len += n;
	free(piece);
}

/* Adds s as a JSON string (quoted, escaped). */
static void out_json_str(struct out *o, const char *s)
{
	out_add(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			out_add(o, "\\%c", c);
		else if (c < 0x20)
			out_add(o, "\\u%04x", c);
		else
			out_add(o, "%c", c);
	}
	out_add(o, "\"");
}

/* A size for people: 1.5 GiB, 12.0 MiB, 300 B. */
static void human(uint64_t v, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	size_t u = 0;

	while (d >= 1024 && u + 1 < CD_ARRAY_SIZE(units)) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, size, "%.1f %s", d, units[u]);
}

/* Finds the entry at path (relative to the mount root; "" is the root),
 * listing directories on the way if they never were. */
static int resolve(struct fs *fs, const char *path, struct meta_entry *out)
{
	char *copy = xstrdup(path), *name, *save = NULL;
	uint64_t ino = META_ROOT_INO;
	struct meta_entry e;
	int rc = 0;

	for (name = strtok_r(copy, "/", &save); name && !rc;
	     name = strtok_r(NULL, "/", &save)) {
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			rc = -EINVAL;	/* the CLI sends normalized paths */
			break;
		}
		rc = sync_populate(fs->sync, ino);
		if (!rc)
			rc = meta_lookup(fs->store->meta, ino, name, &e);
		if (!rc) {
			ino = e.ino;
			meta_entry_release(&e);
		}
	}
	free(copy);
	if (!rc)
		rc = meta_get(fs->store->meta, ino, out);
	return rc;
}

/* status [PATH] [--json]: the mount, or one file. */
static int do_status(struct ctl_server *srv, const struct ctl_msg *req,
		     struct out *o)
{
	struct fs *fs = srv->fs;
	struct stats *st = &fs->stats;
	uint64_t flags = 0, local = 0;
	struct meta_entry e;
	char *path = NULL;
	bool json;
	int rc;

	if (ctl_get_u64(req, CTL_KEY_FLAGS, &flags) == -EBADMSG)
		return -EBADMSG;
	json = flags & CTL_F_JSON;
	rc = ctl_get_str(req, CTL_KEY_PATH, PATH_MAX, &path);
	if (rc == -ENOENT) {
		uint64_t cache = cache_bytes(fs->store->cache);
		int64_t pending = meta_journal_count(fs->store->meta);
		bool down = stats_get(st, remote_down) != 0;

		if (json) {
			out_add(o, "{\"mountpoint\":");
			out_json_str(o, srv->info.mountpoint);
			out_add(o, ",\"remote\":");
			out_json_str(o, srv->info.remote);
			out_add(o, ",\"cache_dir\":");
			out_json_str(o, srv->info.cache_dir);
			out_add(o, ",\"cache_bytes\":%llu,\"uploads_pending\":"
				   "%lld,\"remote_reachable\":%s,"
				   "\"fetched_bytes\":%llu,"
				   "\"uploaded_bytes\":%llu}\n",
				(unsigned long long)cache, (long long)pending,
				down ? "false" : "true",
				(unsigned long long)stats_get(st, fetched_bytes),
				(unsigned long long)stats_get(st,
							      uploaded_bytes));
		} else {
			char held[32], got[32], sent[32];

			human(cache, held, sizeof(held));
			human(stats_get(st, fetched_bytes), got, sizeof(got));
			human(stats_get(st, uploaded_bytes), sent, sizeof(sent));
			out_add(o, "%s: %s\n  cache: %s, %s held\n"
				   "  uploads pending: %lld\n  remote: %s\n"
				   "  since mounted: %s fetched, %s uploaded\n",
				srv->info.mountpoint, srv->info.remote,
				srv->info.cache_dir, held, (long long)pending,
				down ? "unreachable" : "reachable", got, sent);
		}
		return 0;
	}
	if (rc)
		return rc;
	rc = resolve(fs, path, &e);
	if (rc) {
		free(path);
		return rc;
	}
	if (S_ISREG(e.mode)) {
		struct stat sb;

		store_fill_stat(fs->store, &e, &sb);
		local = (uint64_t)sb.st_blocks * 512;
	}
	if (json) {
		out_add(o, "{\"path\":");
		out_json_str(o, path);
		out_add(o, ",\"state\":\"%s\",\"size\":%llu,\"local_bytes\":"
			   "%llu}\n", cloudfiles_state(fs, e.ino),
			(unsigned long long)e.size, (unsigned long long)local);
	} else {
		out_add(o, "%s: %s, %llu of %llu bytes local\n",
			*path ? path : "/", cloudfiles_state(fs, e.ino),
			(unsigned long long)CD_MIN(local, e.size),
			(unsigned long long)e.size);
	}
	meta_entry_release(&e);
	free(path);
	return 0;
}

/* sync [--timeout]: wait until every pending remote operation is done. */
static int do_sync(struct ctl_server *srv, const struct ctl_msg *req,
		   struct out *o)
{
	uint64_t ms = 60000;
	int rc;

	if (ctl_get_u64(req, CTL_KEY_TIMEOUT_MS, &ms) == -EBADMSG)
		return -EBADMSG;
	sync_refresh(srv->fs->sync);
	rc = sync_wait_idle(srv->fs->sync, ms);
	if (rc == -ETIMEDOUT)
		out_add(o, "%lld remote operations still pending\n",
			(long long)meta_journal_count(srv->fs->store->meta));
	return rc;
}

typedef int (*ctl_handler)(struct ctl_server *srv, const struct ctl_msg *req,
			   struct out *o);

/* The commands, by op. A NULL entry is answered EOPNOTSUPP. */
static const ctl_handler handlers[CTL_OP_MAX] = {
	[CTL_OP_STATUS] = do_status,
	[CTL_OP_SYNC] = do_sync,
};

ssize_t ctl_server_handle(struct ctl_server *srv, const void *req, size_t len,
			  void *buf, size_t size)
{
	struct out o = { xstrdup(""), 0 };
	struct ctl_msg m, reply;
	uint8_t num[8];
	ssize_t n;
	int rc;

	rc = ctl_decode(req, len, &m);
	if (!rc) {
		if (m.op < CTL_OP_MAX && handlers[m.op])
			rc = handlers[m.op](srv, &m, &o);
		else
			rc = -EOPNOTSUPP;
	}
	if (rc && !o.len)
		out_add(&o, "%s\n", strerror(-rc));
	ctl_msg_init(&reply, CTL_OP_REPLY);
	if (ctl_add_u64(&reply, CTL_KEY_STATUS, (uint64_t)-rc, num) ||
	    ctl_add_bytes(&reply, CTL_KEY_TEXT, o.s,
			  (uint32_t)CD_MIN(o.len, (size_t)CTL_MSG_MAX - 64)))
		n = -E2BIG;
	else
		n = ctl_encode(&reply, buf, size);
	free(o.s);
	return n;
}

struct client {
	struct ctl_server *srv;
	int fd;
};

/* Closes descriptors a peer sent where none were asked for. */
static void drop_fds(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(c);

			for (k = 0; k < n; k++)
				close(fds[k]);
		}
	}
}

/* The reply to a peer that may not use the socket. */
static ssize_t refusal(uint8_t *buf)
{
	struct ctl_msg r;
	uint8_t num[8];

	ctl_msg_init(&r, CTL_OP_REPLY);
	if (ctl_add_u64(&r, CTL_KEY_STATUS, EACCES, num))
		return -E2BIG;
	return ctl_encode(&r, buf, CTL_MSG_MAX);
}

static void *client_thread(void *arg)
{
	struct client *c = arg;
	struct ctl_server *srv = c->srv;
	uint8_t *req = xmalloc(CTL_MSG_MAX + 1);
	uint8_t *rep = xmalloc(CTL_MSG_MAX);
	char cbuf[CMSG_SPACE(16 * sizeof(int))];
	struct ucred cred = { 0, 0, 0 };
	socklen_t clen = sizeof(cred);
	bool allowed;

	allowed = getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 &&
		  (cred.uid == srv->owner || cred.uid == 0);
	if (!allowed) {
		/* answer its first request, then hang up; a stranger that
		 * says nothing is dropped after a moment */
		struct timeval tv = { 2, 0 };

		log_warn("control: refused a connection from uid %d (pid %d)",
			 (int)cred.uid, (int)cred.pid);
		if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			       sizeof(tv)) < 0)
			goto out;
	}
	for (;;) {
		struct iovec iov = { req, CTL_MSG_MAX + 1 };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		ssize_t got = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		ssize_t n;

		if (got <= 0)
			break;
		drop_fds(&mh);
		if (!allowed) {
			n = refusal(rep);
			if (n > 0 && send(c->fd, rep, (size_t)n,
					  MSG_NOSIGNAL) < 0) {
				/* gone already: nothing to tell */
			}
			break;
		}
		/* a truncated packet is too big: refused as malformed */
		n = ctl_server_handle(srv, req,
				      (mh.msg_flags & MSG_TRUNC) ? 0
								 : (size_t)got,
				      rep, CTL_MSG_MAX);
		if (n < 0 || send(c->fd, rep, (size_t)n, MSG_NOSIGNAL) < 0)
			break;
	}
out:
	close(c->fd);
	free(req);
	free(rep);
	free(c);
	pthread_mutex_lock(&srv->lock);
	srv->clients--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static void *accept_thread(void *arg)
{
	struct ctl_server *srv = arg;
	struct pollfd pfd[2] = {
		{ srv->listen_fd, POLLIN, 0 },
		{ srv->stop_pipe[0], POLLIN, 0 },
	};

	for (;;) {
		struct client *c;
		pthread_attr_t attr;
		pthread_t t;
		int fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		pthread_mutex_lock(&srv->lock);
		while (srv->clients >= CTL_MAX_CLIENTS)
			pthread_cond_wait(&srv->cond, &srv->lock);
		pthread_mutex_unlock(&srv->lock);
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = xmalloc(sizeof(*c));
		c->srv = srv;
		c->fd = fd;
		pthread_mutex_lock(&srv->lock);
		srv->clients++;
		pthread_mutex_unlock(&srv->lock);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, client_thread, c)) {
			close(fd);
			free(c);
			pthread_mutex_lock(&srv->lock);
			srv->clients--;
			pthread_mutex_unlock(&srv->lock);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

int ctl_server_start(struct fs *fs, const struct ctl_info *info,
		     const char *path, struct ctl_server **out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct ctl_server *srv;
	char *dir, *slash;
	int rc;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("control socket %s: path too long for a socket "
			  "(give a shorter --cache-dir)", path);
		return -ENAMETOOLONG;
	}
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	/* only the owner may even reach the socket */
	rc = util_mkdir_p(dir, 0700);
	if (!rc && chmod(dir, 0700) < 0)
		rc = -errno;
	free(dir);
	if (rc) {
		log_error("control socket %s: %s", path, strerror(-rc));
		return rc;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->fs = fs;
	srv->info.remote = xstrdup(info->remote);
	srv->info.mountpoint = xstrdup(info->mountpoint);
	srv->info.cache_dir = xstrdup(info->cache_dir);
	srv->path = xstrdup(path);
	srv->owner = getuid();
	srv->listen_fd = -1;
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	srv->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0 || pipe2(srv->stop_pipe, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);	/* left by a daemon that died */
	if (bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(path, 0600) < 0 || listen(srv->listen_fd, 16) < 0) {
		rc = -errno;
		goto fail;
	}
	if (pthread_create(&srv->thread, NULL, accept_thread, srv)) {
		rc = -EAGAIN;
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	log_error("control socket %s: %s", path, strerror(-rc));
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
	srv->thread = 0;
	ctl_server_stop(srv);
	return rc;
}

void ctl_server_stop(struct ctl_server *srv)
{
	if (!srv)
		return;
	if (srv->thread) {
		if (write(srv->stop_pipe[1], "x", 1) < 0) {
			/* the accept thread polls the pipe: it cannot fill */
		}
		pthread_join(srv->thread, NULL);
	}
	pthread_mutex_lock(&srv->lock);
	while (srv->clients > 0)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		unlink(srv->path);
	}
	if (srv->stop_pipe[0] >= 0) {
		close(srv->stop_pipe[0]);
		close(srv->stop_pipe[1]);
	}
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free((char *)srv->info.remote);
	free((char *)srv->info.mountpoint);
	free((char *)srv->info.cache_dir);
	free(srv->path);
	free(srv);
}
