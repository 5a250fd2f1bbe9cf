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
 *
 * Long operations (pin, hydrate, sync) send PROGRESS packets as they go,
 * at most ten a second and never blocking (a client that does not read
 * them just misses some). A client that hangs up stops its operation at
 * the next step: whatever was committed stays, nothing is half-done.
 */
#include "common.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
#define PROGRESS_EVERY_NS 100000000LL
#define BAR_CELLS 20

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

/* One request being answered. */
struct req {
	struct ctl_server *srv;
	const struct ctl_msg *msg;
	int fd;				/* the connection; -1: none (tests) */
	int64_t last_sent;		/* monotonic ns of the last progress */
	bool gone;			/* the client hung up */
	const int *fds;			/* descriptors passed with it */
	int nfds;
};

/* Adds s as a JSON string (quoted, escaped). */
static void out_json_str(struct textbuf *o, const char *s)
{
	textbuf_add(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			textbuf_add(o, "\\%c", c);
		else if (c < 0x20)
			textbuf_add(o, "\\u%04x", c);
		else
			textbuf_add(o, "%c", c);
	}
	textbuf_add(o, "\"");
}

/* An op of the control socket's client, to run through the filter stack
 * like the kernel's: the same checks, policies and trace apply. */
static void op_init(struct req *rq, struct fop *op, enum fop_kind kind,
		    uint64_t ino)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->ino = ino;
	op->ctl = true;
	op->src_fd = -1;
	if (rq->fd >= 0 &&
	    getsockopt(rq->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		op->pid = cred.pid;
		op->uid = cred.uid;
		op->gid = cred.gid;
	} else {
		op->uid = getuid();
		op->gid = getgid();
	}
}

static void op_release(struct fop *op)
{
	meta_entry_release(&op->entry);
	free(op->out);
	free(op->report);
	op->out = op->report = NULL;
}

/* Finds the entry at path (relative to the mount root; "" is the root)
 * by lookups through the filter stack, which list directories on the
 * way if they never were. */
static int resolve(struct req *rq, const char *path, struct meta_entry *out)
{
	struct fs *fs = rq->srv->fs;
	char *copy = xstrdup(path), *name, *save = NULL;
	uint64_t ino = META_ROOT_INO;
	struct fop op;
	int rc = 0;

	for (name = strtok_r(copy, "/", &save); name && !rc;
	     name = strtok_r(NULL, "/", &save)) {
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			rc = -EINVAL;	/* the CLI sends normalized paths */
			break;
		}
		op_init(rq, &op, FOP_LOOKUP, ino);
		op.name = name;
		filter_run(fs, &op);
		rc = op.result;
		if (!rc)
			ino = op.entry.ino;
		op_release(&op);
	}
	free(copy);
	if (!rc)
		rc = meta_get(fs->env.store->meta, ino, out);
	return rc;
}

/* A bar of BAR_CELLS cells for done of total. */
static void bar(uint64_t done, uint64_t total, char *buf)
{
	int cells = total ? (int)((double)done / (double)total * BAR_CELLS) : 0;
	int i;

	for (i = 0; i < BAR_CELLS; i++)
		buf[i] = i < cells ? '#' : '.';
	buf[BAR_CELLS] = '\0';
}

#define MAX_LISTED_XFERS 32

/* The transfers in flight (of ino, or all if 0): text lines or JSON. */
static void add_transfers(struct ctl_server *srv, uint64_t ino, bool json,
			  struct textbuf *o)
{
	struct xfer_info *t = xcalloc(MAX_LISTED_XFERS, sizeof(*t));
	size_t n, i;

	n = xfers_list(&srv->fs->env.xfers, ino, t, MAX_LISTED_XFERS);
	if (json)
		textbuf_add(o, ",\"transfers\":[");
	else if (n)
		textbuf_add(o, "  transfers:\n");
	for (i = 0; i < CD_MIN(n, (size_t)MAX_LISTED_XFERS); i++) {
		char done[32], total[32], rate[32], cells[BAR_CELLS + 1];

		if (json) {
			textbuf_add(o, "%s{\"kind\":\"%s\",\"path\":", i ? "," : "",
				xfer_kind_name(t[i].kind));
			out_json_str(o, t[i].path);
			textbuf_add(o, ",\"done\":%llu,\"total\":%llu,"
				   "\"rate\":%llu}",
				(unsigned long long)t[i].done,
				(unsigned long long)t[i].total,
				(unsigned long long)t[i].rate);
			continue;
		}
		if (t[i].kind == XFER_RENAME) {
			/* objects, of a total not known */
			textbuf_add(o, "    %-9s %llu objects moved  %s\n",
				    xfer_kind_name(t[i].kind),
				    (unsigned long long)t[i].done, t[i].path);
			continue;
		}
		util_human_size(t[i].done, done, sizeof(done));
		util_human_size(t[i].total, total, sizeof(total));
		util_human_size(t[i].rate, rate, sizeof(rate));
		bar(t[i].done, t[i].total, cells);
		textbuf_add(o, "    %-9s [%s] %3d%% %s / %s, %s/s  %s\n",
			xfer_kind_name(t[i].kind), cells,
			t[i].total ? (int)(t[i].done * 100 / t[i].total) : 100,
			done, total, rate, t[i].path);
	}
	if (n > MAX_LISTED_XFERS && !json)
		textbuf_add(o, "    ... and %zu more\n", n - MAX_LISTED_XFERS);
	if (json)
		textbuf_add(o, "]");
	free(t);
}

/* status without a path: the mount as a whole. */
static void status_mount(struct ctl_server *srv, bool json, struct textbuf *o)
{
	struct fs *fs = srv->fs;
	struct stats *st = &fs->env.stats;
	int64_t pending = meta_journal_count(fs->env.store->meta);
	bool down = stats_get(st, remote_down) != 0;
	uint64_t blocked = stats_get(st, hydrations_blocked);
	uint64_t dropped = sync_dropped(fs->env.sync);
	struct stats_view counters;
	struct res_status rs;
	char last[sizeof(fs->env.policy.last)], why[128];
	const char *clone = clone_mode_name(fs->env.clone_mode);
	const char *effect = clone_policy(&fs->env, why, sizeof(why));

	residency_status(fs->env.res, &rs);
	pthread_mutex_lock(&fs->env.policy.lock);
	memcpy(last, fs->env.policy.last, sizeof(last));
	pthread_mutex_unlock(&fs->env.policy.lock);
	if (json) {
		textbuf_add(o, "{\"mountpoint\":");
		out_json_str(o, srv->info.mountpoint);
		textbuf_add(o, ",\"remote\":");
		out_json_str(o, srv->info.remote);
		textbuf_add(o, ",\"cache_dir\":");
		out_json_str(o, srv->info.cache_dir);
		textbuf_add(o, ",\"cache_bytes\":%llu,\"cache_max\":%llu,"
			   "\"min_free\":%llu,\"disk_free\":%llu,"
			   "\"cache_full\":",
			(unsigned long long)rs.used,
			(unsigned long long)rs.cache_max,
			(unsigned long long)rs.min_free,
			(unsigned long long)rs.disk_free);
		if (rs.full_reason[0])
			out_json_str(o, rs.full_reason);
		else
			textbuf_add(o, "null");
		textbuf_add(o, ",\"changes_given_up\":%llu",
			(unsigned long long)dropped);
		textbuf_add(o, ",\"uploads_pending\":%lld,"
			   "\"remote_reachable\":%s",
			(long long)pending, down ? "false" : "true");
		stats_read(st, &counters);
		stats_add_json(&counters, o);
		textbuf_add(o, ",\"last_blocked\":");
		if (last[0])
			out_json_str(o, last);
		else
			textbuf_add(o, "null");
		textbuf_add(o, ",\"clone\":\"%s\",\"clone_effect\":\"%s\","
			   "\"clone_fallback\":", clone, effect);
		if (why[0])
			out_json_str(o, why);
		else
			textbuf_add(o, "null");
		add_transfers(srv, 0, true, o);
		textbuf_add(o, "}\n");
		return;
	}
	{
		char held[32], got[32], sent[32], gone[32], lim[32], keep[32],
			avail[32];

		util_human_size(rs.used, held, sizeof(held));
		util_human_size(rs.cache_max, lim, sizeof(lim));
		util_human_size(rs.min_free, keep, sizeof(keep));
		util_human_size(rs.disk_free, avail, sizeof(avail));
		util_human_size(stats_get(st, fetched_bytes), got, sizeof(got));
		util_human_size(stats_get(st, uploaded_bytes), sent, sizeof(sent));
		util_human_size(stats_get(st, evicted_bytes), gone, sizeof(gone));
		textbuf_add(o, "%s: %s\n  cache: %s, %s held", srv->info.mountpoint,
			srv->info.remote, srv->info.cache_dir, held);
		if (rs.cache_max)
			textbuf_add(o, " of %s", lim);
		if (rs.min_free)
			textbuf_add(o, ", keeping %s free", keep);
		textbuf_add(o, " (%s free on its disk)\n", avail);
		if (rs.full_reason[0])
			textbuf_add(o, "  cache %s\n", rs.full_reason);
		textbuf_add(o, "  uploads pending: %lld\n  remote: %s\n"
			   "  since mounted: %s fetched, %s uploaded, %s "
			   "evicted\n",
			(long long)pending, down ? "unreachable" : "reachable",
			got, sent, gone);
		textbuf_add(o, "  clone: %s", clone);
		if (strcmp(effect, clone) != 0 || why[0])
			textbuf_add(o, " (%s%s%s)", effect,
				    why[0] ? "; no guard: " : "", why);
		textbuf_add(o, "\n");
		if (dropped)
			textbuf_add(o, "  changes given up: %llu (in error; the "
				   "log says why)\n",
				(unsigned long long)dropped);
		if (blocked)
			textbuf_add(o, "  hydration policy: %llu reads refused, the "
				   "last by %s\n",
				(unsigned long long)blocked, last);
		add_transfers(srv, 0, false, o);
	}
}

struct last_error {
	uint64_t ino;
	int error;
	int attempts;
};

static int find_error(void *arg, const struct jop *op)
{
	struct last_error *l = arg;

	if (op->ino == l->ino && op->last_error) {
		l->error = op->last_error;
		l->attempts = op->attempts;
	}
	return 0;
}

/* What a directory holds: its entries by type, its files' bytes. */
struct dir_count {
	struct fs *fs;
	uint64_t last;			/* the last inode counted */
	uint64_t seen;			/* entries counted */
	uint64_t files;
	uint64_t dirs;
	uint64_t links;
	uint64_t size;			/* of the files */
	uint64_t local;			/* of that, held here */
};

static int count_entry(void *arg, const struct meta_entry *e)
{
	struct dir_count *c = arg;
	struct stat sb;

	c->last = e->ino;
	c->seen++;
	if (S_ISDIR(e->mode)) {
		c->dirs++;
	} else if (S_ISLNK(e->mode)) {
		c->links++;
	} else if (S_ISREG(e->mode)) {
		store_fill_stat(c->fs->env.store, e, &sb);
		c->files++;
		c->size += e->size;
		c->local += CD_MIN((uint64_t)sb.st_blocks * 512, e->size);
	}
	return 0;
}

/*
 * status PATH of a directory: what it holds, and its pin state. It is
 * read as ls reads it, by an opendir (which lists it from the remote if
 * it never was; if that fails, what is known is counted) and readdirs
 * through the filter stack.
 */
static int status_dir(struct req *rq, const char *path,
		      const struct meta_entry *e, const struct last_error *le,
		      bool json, struct textbuf *o)
{
	struct fs *fs = rq->srv->fs;
	struct dir_count c = { fs, 0, 0, 0, 0, 0, 0, 0 };
	const char *pin;
	struct fop op;
	uint64_t before;
	bool inherited;
	int rc;

	op_init(rq, &op, FOP_OPENDIR, e->ino);
	filter_run(fs, &op);
	if (op.result)
		log_debug("status %s: cannot list it (%s); counting what is "
			  "known", path, strerror(-op.result));
	op_release(&op);
	op_init(rq, &op, FOP_READDIR, e->ino);
	op.fill = count_entry;
	op.fill_arg = &c;
	do {
		before = c.seen;
		op.after = c.last;
		filter_run(fs, &op);
	} while (!op.result && c.seen != before);
	rc = op.result;
	op_release(&op);
	if (rc)
		return rc;
	op_init(rq, &op, FOP_STATUS, e->ino);
	filter_run(fs, &op);
	rc = op.result;
	if (!rc) {
		const struct entry_status *es = op.out;

		pin = es->pin;
		inherited = es->pin_inherited;
	}
	op_release(&op);
	if (rc)
		return rc;
	if (json) {
		textbuf_add(o, "{\"path\":");
		out_json_str(o, path);
		textbuf_add(o, ",\"type\":\"directory\",\"files\":%llu,"
			   "\"directories\":%llu,\"symlinks\":%llu,"
			   "\"size\":%llu,"
			   "\"local_bytes\":%llu,\"pin\":\"%s\","
			   "\"pin_inherited\":%s,\"last_error\":",
			(unsigned long long)c.files, (unsigned long long)c.dirs,
			(unsigned long long)c.links, (unsigned long long)c.size,
			(unsigned long long)c.local, pin,
			inherited ? "true" : "false");
		if (le->error)
			out_json_str(o, strerror(le->error));
		else
			textbuf_add(o, "null");
		textbuf_add(o, "}\n");
		return 0;
	}
	textbuf_add(o, "%s: directory%s, %llu file%s, %llu director%s",
		    path, e->error ? " in error" : "",
		    (unsigned long long)c.files, c.files == 1 ? "" : "s",
		    (unsigned long long)c.dirs, c.dirs == 1 ? "y" : "ies");
	if (c.links)
		textbuf_add(o, ", %llu symlink%s", (unsigned long long)c.links,
			    c.links == 1 ? "" : "s");
	textbuf_add(o, "; %llu of %llu bytes of its files local, %s%s\n",
		    (unsigned long long)c.local, (unsigned long long)c.size,
		    pin, inherited ? " (inherited)" : "");
	if (le->error)
		textbuf_add(o, "  last error: %s (%d attempts; retried with "
			       "backoff)\n", strerror(le->error), le->attempts);
	return 0;
}

/*
 * The kernel's fast path of each open of ino: "  open: passthrough" or
 * "  open: cached: REASON" lines, or in JSON ,"opens":[...] with each
 * line a string.
 */
static void add_fastpath(struct ctl_server *srv, uint64_t ino, bool json,
			 struct textbuf *o)
{
	char *text = cloudfiles_fastpath_text(&srv->fs->env, ino);
	char *line, *next;
	bool first = true;

	if (json)
		textbuf_add(o, ",\"opens\":[");
	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (strcmp(line, "not open") == 0)
			continue;
		if (json) {
			textbuf_add(o, "%s", first ? "" : ",");
			out_json_str(o, line);
		} else {
			textbuf_add(o, "  open: %s\n", line);
		}
		first = false;
	}
	if (json)
		textbuf_add(o, "]");
	free(text);
}

/* status PATH: one file or directory, as a status op through the filter
 * stack says it is. */
static int status_file(struct req *rq, const char *path, bool json,
		       struct textbuf *o)
{
	struct ctl_server *srv = rq->srv;
	struct fs *fs = srv->fs;
	struct last_error le = { 0, 0, 0 };
	const struct entry_status *es;
	struct meta_entry e;
	const char *source;
	struct fop op;
	int rc;

	rc = resolve(rq, path, &e);
	if (rc)
		return rc;
	le.ino = e.ino;
	if (meta_journal_foreach(fs->env.store->meta, find_error, &le))
		le.error = 0;
	if (S_ISDIR(e.mode)) {
		rc = status_dir(rq, *path ? path : "/", &e, &le, json, o);
		meta_entry_release(&e);
		return rc;
	}
	meta_entry_release(&e);
	op_init(rq, &op, FOP_STATUS, e.ino);
	filter_run(fs, &op);
	rc = op.result;
	if (rc) {
		op_release(&op);
		return rc;
	}
	es = op.out;
	source = op.report;
	if (json) {
		textbuf_add(o, "{\"path\":");
		out_json_str(o, path);
		textbuf_add(o, ",\"type\":\"%s\",\"state\":\"%s\","
			   "\"size\":%llu,\"local_bytes\":%llu,\"pin\":\"%s\","
			   "\"pin_inherited\":%s,\"copy_of_local_file\":%s,"
			   "\"source\":",
			S_ISLNK(es->mode) ? "symlink" : "file",
			es->state, (unsigned long long)es->size,
			(unsigned long long)es->local, es->pin,
			es->pin_inherited ? "true" : "false",
			es->spool ? "true" : "false");
		if (source)
			out_json_str(o, source);
		else
			textbuf_add(o, "null");
		textbuf_add(o, ",\"source_only\":%s,\"last_error\":",
			    es->backed ? "true" : "false");
		if (le.error)
			out_json_str(o, strerror(le.error));
		else
			textbuf_add(o, "null");
		add_transfers(srv, op.ino, true, o);
		add_fastpath(srv, op.ino, true, o);
		textbuf_add(o, "}\n");
	} else {
		textbuf_add(o, "%s: %s, %llu of %llu bytes local, %s%s\n",
			*path ? path : "/", es->state,
			(unsigned long long)es->local,
			(unsigned long long)es->size, es->pin,
			es->pin_inherited ? " (inherited)" : "");
		if (source && es->error)
			textbuf_add(o, "  a copy of %s, which changed or went "
				       "away before the copy was uploaded: the "
				       "bytes written are lost (see the log)\n",
				    source);
		else if (source)
			textbuf_add(o, "  a copy of %s: %s; online only once "
				       "uploaded\n", source,
				    es->backed
					    ? "its bytes are read from there "
					      "(not stored here)"
					    : "cloned into the cache");
		else if (es->spool)
			textbuf_add(o, "  a copy of a local file: online only "
				       "once uploaded\n");
		if (le.error)
			textbuf_add(o, "  last error: %s (%d attempts; retried "
				   "with backoff)\n",
				strerror(le.error), le.attempts);
		add_transfers(srv, op.ino, false, o);
		add_fastpath(srv, op.ino, false, o);
	}
	op_release(&op);
	return 0;
}

/* status [PATH] [--json]: the mount, or one file. */
static int do_status(struct req *rq, struct textbuf *o)
{
	uint64_t flags = 0;
	char *path = NULL;
	int rc;

	if (ctl_get_u64(rq->msg, CTL_KEY_FLAGS, &flags) == -EBADMSG)
		return -EBADMSG;
	rc = ctl_get_str(rq->msg, CTL_KEY_PATH, PATH_MAX, &path);
	if (rc == -ENOENT) {
		status_mount(rq->srv, flags & CTL_F_JSON, o);
		return 0;
	}
	if (rc)
		return rc;
	rc = status_file(rq, path, flags & CTL_F_JSON, o);
	free(path);
	return rc;
}

/* Whether the client hung up (it is then not told anything more). */
static bool client_gone(struct req *rq)
{
	struct pollfd p = { rq->fd, POLLRDHUP, 0 };

	if (rq->fd < 0 || rq->gone)
		return rq->gone;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP |
						  POLLERR)))
		rq->gone = true;
	return rq->gone;
}

/* Sends a progress packet if it is time; returns non-zero to stop. */
static int send_progress(struct req *rq, const struct res_progress *p,
			 int64_t pending, bool force)
{
	uint8_t nums[5][8], buf[CTL_HEADER + 6 * 16 + PATH_MAX];
	int64_t now = util_now_mono_ns();
	struct ctl_msg m;
	ssize_t len;

	if (client_gone(rq))
		return 1;
	if (rq->fd < 0 || (!force && now - rq->last_sent < PROGRESS_EVERY_NS))
		return 0;
	rq->last_sent = now;
	ctl_msg_init(&m, CTL_OP_PROGRESS);
	if (p) {
		if (ctl_add_u64(&m, CTL_KEY_BYTES_DONE, p->bytes_done,
				nums[0]) ||
		    ctl_add_u64(&m, CTL_KEY_BYTES_TOTAL, p->bytes_total,
				nums[1]) ||
		    ctl_add_u64(&m, CTL_KEY_FILES_DONE, p->files_done,
				nums[2]) ||
		    ctl_add_u64(&m, CTL_KEY_FILES_TOTAL, p->files_total,
				nums[3]) ||
		    (p->path && ctl_add_str(&m, CTL_KEY_PATH, p->path)))
			return 0;
	}
	if (pending >= 0 &&
	    ctl_add_u64(&m, CTL_KEY_PENDING, (uint64_t)pending, nums[4]))
		return 0;
	len = ctl_encode(&m, buf, sizeof(buf));
	if (len > 0 && send(rq->fd, buf, (size_t)len,
			    MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN && errno != EWOULDBLOCK)
		rq->gone = true;
	return rq->gone;
}

static int tree_progress(void *arg, const struct res_progress *p)
{
	/* the last one always goes: the client shows how it ended */
	return send_progress(arg, p, -1, p->files_done == p->files_total);
}

/* The entry a PATH field names: the root if there is none. */
static int target(struct req *rq, struct meta_entry *e, char **path)
{
	int rc = ctl_get_str(rq->msg, CTL_KEY_PATH, PATH_MAX, path);

	if (rc == -ENOENT) {
		*path = xstrdup("");
		rc = 0;
	}
	if (!rc)
		rc = resolve(rq, *path, e);
	if (rc) {
		free(*path);
		*path = NULL;
	}
	return rc;
}

/* pin PATH (pinned, then hydrated) and hydrate PATH (fetched, not
 * pinned), with progress; the text says how it ended. */
static int fetch_tree(struct req *rq, struct textbuf *o, bool pin)
{
	char *path, *failed = NULL, gone[32];
	struct fop op;
	uint64_t left = 0;
	struct meta_entry e;
	const char *name;
	int rc;

	rc = target(rq, &e, &path);
	if (rc)
		return rc;
	name = *path ? path : "/";
	op_init(rq, &op, FOP_HYDRATE, e.ino);
	op.flags = pin ? FOP_F_PIN : 0;
	op.progress = tree_progress;
	op.progress_arg = rq;
	filter_run(rq->srv->fs, &op);
	rc = op.result;
	left = op.left;
	failed = op.report;
	op.report = NULL;
	op_release(&op);
	util_human_size(left, gone, sizeof(gone));
	if (!rc && !left)
		textbuf_add(o, "%s: %sall local\n", name, pin ? "pinned, " : "");
	else if (!rc)
		textbuf_add(o, "%s: fetched, but %s of it was evicted again to "
			       "keep the cache under its limit (pin it to keep "
			       "it, or raise --cache-max)\n", name, gone);
	else if (rc == -ECANCELED)
		textbuf_add(o, "%s: stopped; what was fetched stays\n", name);
	else if (rc == -EROFS)
		textbuf_add(o, "%s: %s (mounted with -o ro)\n", name,
			    strerror(EROFS));
	else if (failed)
		textbuf_add(o, "%s: cannot fetch %s: %s (is the remote "
			       "reachable? see clonedrive status)\n",
			    name, failed, strerror(-rc));
	free(failed);
	meta_entry_release(&e);
	free(path);
	return rc;
}

static int do_pin(struct req *rq, struct textbuf *o)
{
	return fetch_tree(rq, o, true);
}

static int do_hydrate(struct req *rq, struct textbuf *o)
{
	return fetch_tree(rq, o, false);
}

/* unpin [--inherit] PATH. */
static int do_unpin(struct req *rq, struct textbuf *o)
{
	struct meta_entry e;
	struct fop op;
	uint64_t flags = 0;
	char *path;
	int rc;

	if (ctl_get_u64(rq->msg, CTL_KEY_FLAGS, &flags) == -EBADMSG)
		return -EBADMSG;
	rc = target(rq, &e, &path);
	if (rc)
		return rc;
	op_init(rq, &op, FOP_PIN, e.ino);
	op.flags = flags & CTL_F_INHERIT ? META_PIN_UNSPECIFIED
					 : META_PIN_UNPINNED;
	filter_run(rq->srv->fs, &op);
	rc = op.result;
	op_release(&op);
	if (rc == -EROFS)
		textbuf_add(o, "%s: %s (mounted with -o ro)\n",
			    *path ? path : "/", strerror(EROFS));
	if (!rc)
		textbuf_add(o, "%s: %s\n", *path ? path : "/",
			flags & CTL_F_INHERIT ? "follows its directory again"
					      : "unpinned");
	meta_entry_release(&e);
	free(path);
	return rc;
}

/* free PATH: drop what is in sync; list what is kept. */
static int do_free(struct req *rq, struct textbuf *o)
{
	struct meta_entry e;
	struct fop op;
	char *path, *report = NULL;
	int rc;

	rc = target(rq, &e, &path);
	if (rc)
		return rc;
	op_init(rq, &op, FOP_FREE, e.ino);
	op.progress_arg = rq;	/* the client gets the report */
	filter_run(rq->srv->fs, &op);
	rc = op.result;
	report = op.report;
	op.report = NULL;
	op_release(&op);
	if (rc == -EROFS)
		textbuf_add(o, "%s: %s (mounted with -o ro)\n",
			    *path ? path : "/", strerror(EROFS));
	if (report)
		textbuf_add(o, "%s: %s", *path ? path : "/", report);
	free(report);
	meta_entry_release(&e);
	free(path);
	return rc;
}

/* sync [--timeout]: poll, and wait until every pending remote operation
 * is done, reporting how many are left. */
static int do_sync(struct req *rq, struct textbuf *o)
{
	struct ctl_server *srv = rq->srv;
	int64_t start, deadline, left;
	uint64_t ms = 60000, dropped;
	struct fop op;
	char *report;
	int rc;

	if (ctl_get_u64(rq->msg, CTL_KEY_TIMEOUT_MS, &ms) == -EBADMSG)
		return -EBADMSG;
	op_init(rq, &op, FOP_REFRESH, META_ROOT_INO);
	filter_run(srv->fs, &op);
	op_release(&op);
	start = util_now_mono_ns();
	deadline = start + (int64_t)ms * 1000000;
	for (;;) {
		left = (deadline - util_now_mono_ns()) / 1000000;
		op_init(rq, &op, FOP_SYNC, META_ROOT_INO);
		op.size = (size_t)CD_MAX(CD_MIN(left, 200), 0);
		/* each ask is one wait: a writer closed through one of its
		 * descriptors and still open through another (a dup, a
		 * child's copy) is waited for a second from the start, not
		 * a second at every ask */
		op.since_ns = start;
		filter_run(srv->fs, &op);
		rc = op.result;
		op_release(&op);
		if (rc != -ETIMEDOUT || left <= 0)
			break;
		if (send_progress(rq, NULL,
				  meta_journal_count(srv->fs->env.store->meta),
				  false)) {
			rc = -ECANCELED;
			break;
		}
	}
	/* then what changed on the remote, now that nothing local waits */
	if (!rc) {
		left = (deadline - util_now_mono_ns()) / 1000000;
		rc = sync_poll_wait(srv->fs->env.sync,
				    (uint64_t)CD_MAX(left, 0));
	}
	if (rc == -ETIMEDOUT)
		textbuf_add(o, "%lld remote operations still pending (see "
			   "getfattr -n user.clonedrive.pending on the mount "
			   "root)\n",
			(long long)meta_journal_count(
				srv->fs->env.store->meta));
	/* a change given up is no success, even once nothing is pending */
	dropped = sync_take_dropped(srv->fs->env.sync, &report);
	if (dropped) {
		textbuf_add(o, "%llu change%s could not be made on the remote "
			   "and %s given up (the local copies are kept; the "
			   "log says why):\n%s",
			(unsigned long long)dropped, dropped > 1 ? "s" : "",
			dropped > 1 ? "were" : "was", report);
		free(report);
		if (!rc)
			rc = -EIO;
	}
	return rc;
}

/*
 * One file of a clone: a new file at path (relative to the root) with
 * the bytes of src, a descriptor the client opened and passed. The file
 * is made and filled by ops through the filter stack (mknod, then clone)
 * like the kernel's; it is uploaded as any written file, and its local
 * data dropped after (the client has the original).
 */
static int clone_one(struct req *rq, int src, const char *path,
		     uint64_t *ino, uint64_t *bytes)
{
	struct fs *fs = rq->srv->fs;
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	struct meta_entry parent;
	struct stat st;
	struct fop op;
	int rc, acc;

	acc = fcntl(src, F_GETFL);
	if (fstat(src, &st) < 0 || acc < 0)
		rc = -EBADF;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if ((acc & O_ACCMODE) == O_WRONLY)
		rc = -EBADF;
	else if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		rc = -EINVAL;
	else
		rc = resolve(rq, dir, &parent);
	free(dir);
	if (rc)
		return rc;
	meta_entry_release(&parent);
	if (!S_ISDIR(parent.mode))
		return -ENOTDIR;
	op_init(rq, &op, FOP_MKNOD, parent.ino);
	op.name = name;
	op.mode = S_IFREG | (st.st_mode & 0777);
	filter_run(fs, &op);
	rc = op.result;
	*ino = op.entry.ino;
	op_release(&op);
	if (rc)
		return rc;
	sync_changed_entry(fs->env.sync, parent.ino, name);
	op_init(rq, &op, FOP_CLONE, *ino);
	op.src_fd = src;
	filter_run(fs, &op);
	rc = op.result;
	op_release(&op);
	if (rc)
		return rc;	/* the empty file stays: the user sees it */
	*bytes = (uint64_t)st.st_size;
	return 0;
}

/* clone PATH... with descriptors: see proto.h. */
static int do_clone(struct req *rq, struct textbuf *o)
{
	uint64_t total = 0, files = 0;
	int rc = 0, i = 0, k;

	for (k = 0; k < rq->msg->count; k++)
		if (rq->msg->fields[k].key == CTL_KEY_PATH)
			i++;
	if (i != rq->nfds || !rq->nfds) {
		textbuf_add(o, "clone: %d paths for %d files\n", i, rq->nfds);
		return -EINVAL;
	}
	for (k = 0, i = 0; k < rq->msg->count; k++) {
		const struct ctl_field *f = &rq->msg->fields[k];
		uint64_t ino = 0, bytes = 0;
		char *path;
		int one;

		if (f->key != CTL_KEY_PATH)
			continue;
		path = xstrndup((const char *)f->value, f->len);
		one = strlen(path) == f->len && f->len < PATH_MAX
			      ? clone_one(rq, rq->fds[i], path, &ino, &bytes)
			      : -EINVAL;
		i++;
		if (one) {
			textbuf_add(o, "%s: %s%s\n", path, strerror(-one),
				    one == -EROFS ? " (mounted with -o ro)"
						  : "");
			rc = rc ? rc : one;
		} else {
			files++;
			total += bytes;
		}
		free(path);
	}
	if (files)
		textbuf_add(o, "%llu files (%llu bytes) copied in; they are "
			       "uploaded, then kept online only\n",
			    (unsigned long long)files,
			    (unsigned long long)total);
	return rc;
}

typedef int (*ctl_handler)(struct req *rq, struct textbuf *o);

/* The commands, by op. A NULL entry is answered EOPNOTSUPP. */
static const ctl_handler handlers[CTL_OP_MAX] = {
	[CTL_OP_STATUS] = do_status,
	[CTL_OP_PIN] = do_pin,
	[CTL_OP_UNPIN] = do_unpin,
	[CTL_OP_FREE] = do_free,
	[CTL_OP_HYDRATE] = do_hydrate,
	[CTL_OP_SYNC] = do_sync,
	[CTL_OP_CLONE] = do_clone,
};

/* Answers one request read from fd (-1: none), which came with nfds
 * descriptors (closed by the caller); see ctl_server_handle. */
static ssize_t handle(struct ctl_server *srv, int fd, const int *fds,
		      int nfds, const void *req, size_t len, void *buf,
		      size_t size)
{
	struct textbuf o = { xstrdup(""), 0 };
	struct ctl_msg m, reply;
	uint8_t num[8];
	ssize_t n;
	int rc;

	rc = ctl_decode(req, len, &m);
	if (!rc) {
		struct req rq = { srv, &m, fd, 0, false, fds, nfds };

		if (m.op < CTL_OP_MAX && handlers[m.op])
			rc = handlers[m.op](&rq, &o);
		else
			rc = -EOPNOTSUPP;
	}
	if (rc && !o.len)
		textbuf_add(&o, "%s\n", strerror(-rc));
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

ssize_t ctl_server_handle(struct ctl_server *srv, const void *req, size_t len,
			  void *buf, size_t size)
{
	return handle(srv, -1, NULL, 0, req, len, buf, size);
}

struct client {
	struct ctl_server *srv;
	int fd;
};

/* Takes the descriptors a packet carried into fds (at most
 * CTL_MAX_FDS; the rest are closed); returns how many. */
static int take_fds(struct msghdr *mh, int *fds)
{
	struct cmsghdr *c;
	int count = 0;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int got[CTL_MAX_FDS * 2];

			n = CD_MIN(n, CD_ARRAY_SIZE(got));
			memcpy(got, CMSG_DATA(c), n * sizeof(int));
			for (k = 0; k < n; k++) {
				if (count < CTL_MAX_FDS)
					fds[count++] = got[k];
				else
					close(got[k]);
			}
		}
	}
	return count;
}

static void close_fds(int *fds, int n)
{
	while (n-- > 0)
		close(fds[n]);
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
	char cbuf[CMSG_SPACE(CTL_MAX_FDS * sizeof(int))];
	int fds[CTL_MAX_FDS], nfds;
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
		nfds = take_fds(&mh, fds);
		if (!allowed) {
			close_fds(fds, nfds);
			n = refusal(rep);
			if (n > 0 && send(c->fd, rep, (size_t)n,
					  MSG_NOSIGNAL) < 0) {
				/* gone already: nothing to tell */
			}
			break;
		}
		/* a truncated packet is too big: refused as malformed */
		/* a packet with descriptors cut off is refused whole */
		n = handle(srv, c->fd, fds,
			   (mh.msg_flags & MSG_CTRUNC) ? 0 : nfds, req,
			   (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
				   ? 0 : (size_t)got,
			   rep, CTL_MSG_MAX);
		close_fds(fds, nfds);
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
