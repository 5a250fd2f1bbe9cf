/*
 * Finding a mount and talking to its daemon. The mount is the deepest
 * fuse.clonedrive mount whose mountpoint holds the path (from
 * /proc/self/mountinfo); its root's user.clonedrive.control xattr names
 * the socket. Paths go to the daemon relative to the mount root.
 */
#include "common.h"

#include <limits.h>
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

int client_call(const char *root, const struct ctl_msg *req, FILE *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static uint8_t buf[CTL_MSG_MAX];
	struct ctl_msg rep;
	const struct ctl_field *text;
	uint64_t status;
	ssize_t n, len;
	int fd, rc;

	n = getxattr(root, "user.clonedrive.control", addr.sun_path,
		     sizeof(addr.sun_path) - 1);
	if (n <= 0) {
		if (n < 0 && errno == EACCES)
			fprintf(stderr, "clonedrive: %s: permission denied: only "
					"the user who mounted it, or root, may "
					"control it\n", root);
		else
			fprintf(stderr, "clonedrive: %s: its daemon gives no "
					"control socket (%s)\n", root,
				n < 0 ? strerror(errno) : "empty");
		return n < 0 && errno == EACCES ? -EACCES : -ENOTCONN;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = -errno;
		fprintf(stderr, "clonedrive: cannot reach the daemon of %s "
				"at %s: %s%s\n", root, addr.sun_path,
			strerror(-rc),
			rc == -EACCES ? " (only the user who mounted it, or "
					"root, may control it)" : "");
		goto out;
	}
	len = ctl_encode(req, buf, sizeof(buf));
	if (len < 0 || send(fd, buf, (size_t)len, MSG_NOSIGNAL) < 0) {
		rc = len < 0 ? (int)len : -errno;
		fprintf(stderr, "clonedrive: sending to %s: %s\n", root,
			strerror(-rc));
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0 || ctl_decode(buf, (size_t)n, &rep) ||
	    ctl_get_u64(&rep, CTL_KEY_STATUS, &status)) {
		rc = -EPROTO;
		fprintf(stderr, "clonedrive: no valid reply from the daemon "
				"of %s\n", root);
		goto out;
	}
	text = ctl_find(&rep, CTL_KEY_TEXT);
	if (text && text->len)
		fwrite(text->value, 1, text->len, status ? stderr : f);
	rc = (int)status;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
