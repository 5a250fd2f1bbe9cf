/*
 * Finding a mount and talking to its daemon. The mount is the deepest
 * fuse.clonedrive mount whose mountpoint holds the path (from
 * /proc/self/mountinfo); its root's user.clonedrive.control xattr names
 * the socket. Paths go to the daemon relative to the mount root.
 *
 * A conversation is one request, then packets until the reply: progress
 * messages are decoded and passed on, anything else ends it (-EPROTO).
 * The daemon hanging up before the reply means it failed or died.
 */
#include "common.h"

#include <limits.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ctl_client.h"
#include "util/util.h"

int client_find_mount(const char *path, char *root, char **inside)
{
	char real[PATH_MAX], probe[PATH_MAX], type[64];
	unsigned maj, min;
	char *slash;

	if (!realpath(path, real)) {
		fprintf(stderr, "clonedrive: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	snprintf(probe, sizeof(probe), "%s", real);
	for (;;) {
		if (util_mount_at(probe, &maj, &min, type, sizeof(type)) == 0 &&
		    strcmp(type, "fuse.clonedrive") == 0)
			break;
		slash = strrchr(probe, '/');
		if (!slash || probe[1] == '\0') {
			fprintf(stderr, "clonedrive: %s is not inside a "
					"clonedrive mount\n", path);
			return -ENOENT;
		}
		if (slash == probe)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	snprintf(root, PATH_MAX, "%s", probe);
	*inside = xstrdup(real[strlen(probe)] == '/'
				  ? real + strlen(probe) + 1
				  : real + strlen(probe));
	return 0;
}

/* One conversation with a daemon: whom to tell about progress, and
 * whether they were told it is over. */
struct conv {
	const char *root;
	client_progress_fn *cb;
	void *arg;
	bool ended;
};

/* Tells the progress callback the conversation is over, once, so that a
 * bar is cleared before anything else reaches the terminal. */
static void conv_end(struct conv *c)
{
	if (c->cb && !c->ended)
		c->cb(NULL, c->arg);
	c->ended = true;
}

static int conv_fail(struct conv *c, int rc, const char *fmt, ...)
	CD_PRINTF(3, 4);

/* Ends the conversation, says why on stderr, returns rc. */
static int conv_fail(struct conv *c, int rc, const char *fmt, ...)
{
	va_list ap;

	conv_end(c);
	fputs("clonedrive: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	return rc;
}

/* Connects to the control socket the mount root names; fd or -errno. */
static int conv_connect(struct conv *c)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	ssize_t n;
	int fd, rc;

	n = getxattr(c->root, "user.clonedrive.control", addr.sun_path,
		     sizeof(addr.sun_path) - 1);
	if (n < 0 && errno == EACCES)
		return conv_fail(c, -EACCES, "%s: permission denied: only the "
				 "user who mounted it, or root, may control "
				 "it\n", c->root);
	if (n <= 0)
		return conv_fail(c, -ENOTCONN, "%s: its daemon gives no "
				 "control socket (%s)\n", c->root,
				 n < 0 ? strerror(errno) : "empty");
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr,
			       sizeof(addr)) == 0)
		return fd;
	rc = -errno;
	if (fd >= 0)
		close(fd);
	return conv_fail(c, rc, "cannot reach the daemon of %s at %s: %s%s\n",
			 c->root, addr.sun_path, strerror(-rc),
			 rc == -EACCES ? " (only the user who mounted it, or "
					 "root, may control it)" : "");
}

/* The numbers a progress message may carry, and where they go. */
static const struct {
	enum ctl_key key;
	unsigned has;
	size_t off;
} progress_fields[] = {
	{ CTL_KEY_BYTES_DONE, CLIENT_HAS_BYTES_DONE,
	  offsetof(struct client_progress, bytes_done) },
	{ CTL_KEY_BYTES_TOTAL, CLIENT_HAS_BYTES_TOTAL,
	  offsetof(struct client_progress, bytes_total) },
	{ CTL_KEY_FILES_DONE, CLIENT_HAS_FILES_DONE,
	  offsetof(struct client_progress, files_done) },
	{ CTL_KEY_FILES_TOTAL, CLIENT_HAS_FILES_TOTAL,
	  offsetof(struct client_progress, files_total) },
	{ CTL_KEY_PENDING, CLIENT_HAS_PENDING,
	  offsetof(struct client_progress, pending) },
};

/* Decodes a PROGRESS message into p; its path is copied into *path
 * (caller frees, NULL if absent). 0, or -EBADMSG for a field of the
 * wrong size or a path holding a NUL. */
static int progress_decode(const struct ctl_msg *m, struct client_progress *p,
			   char **path)
{
	uint64_t v;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	*path = NULL;
	for (i = 0; i < CD_ARRAY_SIZE(progress_fields); i++) {
		rc = ctl_get_u64(m, progress_fields[i].key, &v);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		memcpy((char *)p + progress_fields[i].off, &v, sizeof(v));
		p->has |= progress_fields[i].has;
	}
	rc = ctl_get_str(m, CTL_KEY_PATH, CTL_MSG_MAX, path);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return -EBADMSG;
	p->path = *path;
	return 0;
}

/* Hands one progress message to the callback; 0 or -EPROTO. */
static int conv_progress(struct conv *c, const struct ctl_msg *m)
{
	struct client_progress p;
	char *path;

	if (progress_decode(m, &p, &path))
		return conv_fail(c, -EPROTO, "malformed progress message from "
				 "the daemon of %s\n", c->root);
	if (c->cb)
		c->cb(&p, c->arg);
	free(path);
	return 0;
}

/* The reply ends the conversation: its text goes to f, or to stderr if
 * the daemon refused; returns its status. */
static int conv_reply(struct conv *c, const struct ctl_msg *m, FILE *f)
{
	const struct ctl_field *text;
	uint64_t status;

	if (ctl_get_u64(m, CTL_KEY_STATUS, &status) || status > INT_MAX)
		return conv_fail(c, -EPROTO, "malformed reply from the daemon "
				 "of %s\n", c->root);
	conv_end(c);
	text = ctl_find(m, CTL_KEY_TEXT);
	if (text && text->len)
		fwrite(text->value, 1, text->len, status ? stderr : f);
	return (int)status;
}

/*
 * Reads messages until the reply: progress messages are passed on, the
 * reply's status returned. MSG_TRUNC makes recv return a packet's real
 * length, so one too big for any valid message is caught, not cut.
 */
static int conv_wait(struct conv *c, int fd, uint8_t *buf, FILE *f)
{
	struct ctl_msg m;
	ssize_t n;
	int rc;

	for (;;) {
		n = recv(fd, buf, CTL_MSG_MAX, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return conv_fail(c, -EPROTO, "the daemon of %s hung up "
					 "before answering; see its log\n",
					 c->root);
		if (n < 0)
			return conv_fail(c, -errno, "receiving from the daemon "
					 "of %s: %s\n", c->root,
					 strerror(errno));
		if (n > CTL_MSG_MAX || ctl_decode(buf, (size_t)n, &m))
			return conv_fail(c, -EPROTO, "malformed message from "
					 "the daemon of %s\n", c->root);
		if (m.op == CTL_OP_REPLY)
			return conv_reply(c, &m, f);
		if (m.op != CTL_OP_PROGRESS)
			return conv_fail(c, -EPROTO, "unexpected message (op "
					 "%u) from the daemon of %s\n",
					 (unsigned)m.op, c->root);
		rc = conv_progress(c, &m);
		if (rc)
			return rc;
	}
}

/* Sends one packet, with fds (nfds of them) as SCM_RIGHTS. */
static ssize_t send_packet(int sock, const void *buf, size_t len,
			   const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(CTL_MAX_FDS * sizeof(int))];
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds > CTL_MAX_FDS) {
		errno = E2BIG;
		return -1;
	}
	if (nfds > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

int client_call_fds(const char *root, const struct ctl_msg *req,
		    const int *fds, int nfds, FILE *f, client_progress_fn *cb,
		    void *arg)
{
	static uint8_t buf[CTL_MSG_MAX];
	struct conv c = { .root = root, .cb = cb, .arg = arg };
	ssize_t len;
	int fd, rc;

	fd = conv_connect(&c);
	if (fd < 0)
		return fd;
	len = ctl_encode(req, buf, sizeof(buf));
	if (len < 0 || send_packet(fd, buf, (size_t)len, fds, nfds) < 0) {
		rc = len < 0 ? (int)len : -errno;
		rc = conv_fail(&c, rc, "sending to %s: %s\n", root,
			       strerror(-rc));
	} else {
		rc = conv_wait(&c, fd, buf, f);
	}
	conv_end(&c);
	close(fd);
	return rc;
}

int client_call_progress(const char *root, const struct ctl_msg *req,
			 FILE *f, client_progress_fn *cb, void *arg)
{
	return client_call_fds(root, req, NULL, 0, f, cb, arg);
}

int client_call(const char *root, const struct ctl_msg *req, FILE *f)
{
	return client_call_progress(root, req, f, NULL, NULL);
}
