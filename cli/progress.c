/*
 * The progress display. On a terminal (stderr), one line redrawn with
 * "\r" at most ten times a second: a bar, the percentage, bytes, files,
 * the rate and the time left, then the file in hand cut to fit. Anywhere
 * else (a log, a pipe), a plain line at most once a second and one at the
 * end, so that a log keeps a trace without filling up.
 *
 * The rate comes from bytes_done over the last few seconds (samples on
 * the monotonic clock), not from the start: a slow beginning, or a pause
 * while the remote was away, does not drag it down for the rest of the
 * run.
 *
 * What goes on the line is a table of pieces per mode, each a function
 * that writes its text or says it has nothing to show (a field the daemon
 * did not send): sync, for one, sends only the operations pending.
 */
#include "common.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progress.h"
#include "util/util.h"

#define MS 1000000LL			/* ns */
#define TTY_EVERY_NS (100 * MS)		/* at most ten redraws a second */
#define LINE_EVERY_NS (1000 * MS)	/* plain lines: one a second */
#define RATE_STEP_NS (250 * MS)		/* between two rate samples */
#define RATE_WINDOW_NS (5000 * MS)	/* the rate covers about this */
#define RATE_MIN_NS (1000 * MS)		/* less is too noisy to show */
#define RATE_SAMPLES 24			/* RATE_WINDOW_NS / RATE_STEP_NS,
					 * and some slack */
#define ETA_MAX_S (100 * 3600)		/* beyond, the rate means little */
#define BAR_CELLS 24
#define BAR_MIN 10			/* the bar shrinks to this for... */
#define NAME_ROOM 20			/* ...this many columns of name */
#define NAME_SHORTEST 8			/* no name at all below this */
#define COLS_DEFAULT 80
#define COLS_MAX 300			/* keeps a line within struct line */

struct rate_sample {
	int64_t t;			/* monotonic ns */
	uint64_t bytes;			/* bytes_done then */
};

struct progress {
	const char *label;		/* "pin": starts plain lines */
	bool tty;			/* redraw a line, else plain lines */
	bool drawn;			/* a bar is on the terminal line */
	bool unshown;			/* last is not shown yet */
	bool finished;
	bool caught;			/* our SIGINT handler is in place */
	int cells;			/* of the bar: only ever shrinks */
	struct sigaction old_int;	/* to put back */
	struct client_progress last;	/* the latest numbers (no path) */
	char *path;			/* the latest path (a copy), or NULL */
	int64_t shown_ns;		/* when a line was last shown */
	struct rate_sample samples[RATE_SAMPLES];	/* oldest first */
	size_t nsamples;
};

/* What one line shows: the numbers, and what they make. */
struct view {
	const struct client_progress *p;
	bool has_rate;
	double rate;			/* bytes per second */
};

/* A line being built; text past its end is dropped. */
struct line {
	char s[1024];
	size_t len;
};

static void line_add(struct line *l, const char *fmt, ...) CD_PRINTF(2, 3);

static void line_add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->s) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->s + l->len, sizeof(l->s) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = CD_MIN(l->len + (size_t)n, sizeof(l->s) - 1);
}

static const char *const units[] = {
	"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
};

/* The largest unit n is at least one of. */
static unsigned size_unit(uint64_t n)
{
	unsigned u = 0;

	while (u + 1 < CD_ARRAY_SIZE(units) && n >> (10 * (u + 1)))
		u++;
	return u;
}

/* n in unit u: "512 B", "12.0 MiB". */
static void size_fmt(char *buf, size_t size, uint64_t n, unsigned u)
{
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, size, "%.1f %s",
			 (double)n / (double)(1ULL << (10 * u)), units[u]);
}

/* Bytes done and total in the same unit, so the pair reads at a glance:
 * "0.5 MiB / 40.0 MiB", not "512.0 KiB / 40.0 MiB". */
static bool piece_bytes(const struct view *v, const char *sep, char *buf,
			size_t size)
{
	const struct client_progress *p = v->p;
	char done[32], total[32];
	unsigned u;

	if (!(p->has & CLIENT_HAS_BYTES_DONE))
		return false;
	if (!(p->has & CLIENT_HAS_BYTES_TOTAL)) {
		size_fmt(buf, size, p->bytes_done, size_unit(p->bytes_done));
		return true;
	}
	u = size_unit(CD_MAX(p->bytes_done, p->bytes_total));
	size_fmt(done, sizeof(done), p->bytes_done, u);
	size_fmt(total, sizeof(total), p->bytes_total, u);
	snprintf(buf, size, "%s%s%s", done, sep, total);
	return true;
}

static bool piece_bytes_slash(const struct view *v, char *buf, size_t size)
{
	return piece_bytes(v, " / ", buf, size);
}

static bool piece_bytes_of(const struct view *v, char *buf, size_t size)
{
	return piece_bytes(v, " of ", buf, size);
}

static bool piece_files(const struct view *v, char *buf, size_t size)
{
	const struct client_progress *p = v->p;

	if (!(p->has & CLIENT_HAS_FILES_DONE))
		return false;
	if (p->has & CLIENT_HAS_FILES_TOTAL)
		snprintf(buf, size, "%llu/%llu files",
			 (unsigned long long)p->files_done,
			 (unsigned long long)p->files_total);
	else
		snprintf(buf, size, "%llu files",
			 (unsigned long long)p->files_done);
	return true;
}

static bool piece_pending(const struct view *v, char *buf, size_t size)
{
	const struct client_progress *p = v->p;

	if (!(p->has & CLIENT_HAS_PENDING))
		return false;
	snprintf(buf, size, "%llu operation%s pending",
		 (unsigned long long)p->pending, p->pending == 1 ? "" : "s");
	return true;
}

static bool piece_rate(const struct view *v, char *buf, size_t size)
{
	uint64_t rate = (uint64_t)v->rate;

	if (!v->has_rate)
		return false;
	size_fmt(buf, size, rate, size_unit(rate));
	snprintf(buf + strlen(buf), size - strlen(buf), "/s");
	return true;
}

/* The time left at the current rate, as m:ss. */
static bool piece_eta(const struct view *v, char *buf, size_t size)
{
	const unsigned both = CLIENT_HAS_BYTES_DONE | CLIENT_HAS_BYTES_TOTAL;
	const struct client_progress *p = v->p;
	unsigned long long s;

	if (!v->has_rate || v->rate < 1 || (p->has & both) != both ||
	    p->bytes_done >= p->bytes_total)
		return false;
	s = (unsigned long long)((double)(p->bytes_total - p->bytes_done) /
				 v->rate);
	if (s >= ETA_MAX_S)
		return false;
	snprintf(buf, size, "ETA %llu:%02llu", s / 60, s % 60);
	return true;
}

/* How far along, from bytes if known, else from files. */
static bool fraction(const struct client_progress *p, double *out)
{
	static const struct {
		unsigned has;
		size_t done, total;
	} pairs[] = {
		{ CLIENT_HAS_BYTES_DONE | CLIENT_HAS_BYTES_TOTAL,
		  offsetof(struct client_progress, bytes_done),
		  offsetof(struct client_progress, bytes_total) },
		{ CLIENT_HAS_FILES_DONE | CLIENT_HAS_FILES_TOTAL,
		  offsetof(struct client_progress, files_done),
		  offsetof(struct client_progress, files_total) },
	};
	uint64_t done, total;
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(pairs); i++) {
		if ((p->has & pairs[i].has) != pairs[i].has)
			continue;
		memcpy(&done, (const char *)p + pairs[i].done, sizeof(done));
		memcpy(&total, (const char *)p + pairs[i].total, sizeof(total));
		/* nothing to do is all done */
		*out = total ? (double)CD_MIN(done, total) / (double)total : 1;
		return true;
	}
	return false;
}

static bool piece_percent(const struct view *v, char *buf, size_t size)
{
	double f;

	if (!fraction(v->p, &f))
		return false;
	snprintf(buf, size, "%3d%%", (int)(f * 100));
	return true;
}

typedef bool piece_fn(const struct view *v, char *buf, size_t size);

/* After the bar, on a terminal. */
static piece_fn *const tty_pieces[] = {
	piece_percent, piece_bytes_slash, piece_files, piece_pending,
	piece_rate, piece_eta,
};

/* After "label:", in a log. */
static piece_fn *const plain_pieces[] = {
	piece_files, piece_bytes_of, piece_pending, piece_rate,
};

/* Adds the pieces that have something to show, sep between them;
 * returns how many did. */
static size_t add_pieces(struct line *l, const struct view *v,
			 piece_fn *const *pieces, size_t n, const char *sep)
{
	size_t i, shown = 0;
	char buf[64];

	for (i = 0; i < n; i++)
		if (pieces[i](v, buf, sizeof(buf)))
			line_add(l, "%s%s", shown++ ? sep : "", buf);
	return shown;
}

/*
 * The length of the UTF-8 character at s if it is valid and harmless to
 * print, else 0: it is then shown as '?'. Controls (C0, DEL, C1) and
 * stray bytes are never sent: a file name must not move the cursor or
 * talk to the terminal.
 */
static size_t char_len(const unsigned char *s)
{
	size_t len, i;

	if (*s >= 0x20 && *s < 0x7f)
		return 1;
	if (*s >= 0xc2 && *s <= 0xdf)
		len = 2;
	else if (*s >= 0xe0 && *s <= 0xef)
		len = 3;
	else if (*s >= 0xf0 && *s <= 0xf4)
		len = 4;
	else
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return len;
}

/*
 * Steps over the character at s: its bytes, and the columns it may take
 * in *cols. Everything from U+1100 (where wide characters begin) counts
 * two: without a locale there is no wcwidth to ask, and a name counted
 * wider than it is only gets cut a little early, while one counted
 * narrower would wrap the line and spoil every redraw after.
 */
static size_t char_step(const unsigned char *s, int *cols)
{
	size_t len = char_len(s);

	if (len < 3)
		*cols = 1;
	else if (len == 4)
		*cols = 2;
	else
		*cols = (((s[0] & 0x0f) << 12) | ((s[1] & 0x3f) << 6)) >=
				0x1100 ? 2 : 1;
	return len ? len : 1;
}

/* Adds name in at most cols columns, cutting its start ("...dir/file"):
 * the end names the file. */
static void add_name(struct line *l, const char *name, int cols)
{
	const unsigned char *s = (const unsigned char *)name, *c;
	int width = 0, w;
	size_t n;

	for (c = s; *c; c += n) {
		n = char_step(c, &w);
		width += w;
	}
	if (width > cols) {
		line_add(l, "...");
		for (; *s && width > cols - 3; s += n) {
			n = char_step(s, &w);
			width -= w;
		}
	}
	for (; *s; s += n) {
		n = char_step(s, &w);
		if (char_len(s))
			line_add(l, "%.*s", (int)n, (const char *)s);
		else
			line_add(l, "?");
	}
}

static int term_cols(void)
{
#ifdef TIOCGWINSZ
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return CD_MIN((int)ws.ws_col, COLS_MAX);
#endif
	return COLS_DEFAULT;
}

/*
 * A Ctrl-C while a bar is drawn: clear the line, so that the shell's
 * prompt does not land on half a bar, then die of the signal as if no
 * handler were there (SA_RESETHAND put the default back; the signal is
 * blocked here, so it is delivered as the handler returns). The daemon
 * sees the socket close and stops.
 */
static void on_sigint(int sig)
{
	static const char clear[] = "\r\033[K";
	ssize_t n;

	n = write(STDERR_FILENO, clear, sizeof(clear) - 1);
	(void)n;
	raise(sig);
}

/* Catches SIGINT for on_sigint, unless it is ignored (a background job:
 * then Ctrl-C is not ours to act on). */
static void sigint_catch(struct progress *pr)
{
	struct sigaction sa = {
		.sa_handler = on_sigint,
		.sa_flags = SA_RESETHAND,
	};

	if (pr->caught || sigaction(SIGINT, NULL, &pr->old_int) ||
	    pr->old_int.sa_handler == SIG_IGN)
		return;
	sigemptyset(&sa.sa_mask);
	pr->caught = sigaction(SIGINT, &sa, NULL) == 0;
}

static void sigint_restore(struct progress *pr)
{
	if (pr->caught)
		sigaction(SIGINT, &pr->old_int, NULL);
	pr->caught = false;
}

/* Keeps a sample of bytes_done every RATE_STEP_NS, and the window they
 * cover to about RATE_WINDOW_NS: one sample at or before its start. */
static void rate_sample(struct progress *pr, const struct client_progress *p,
			int64_t now)
{
	struct rate_sample *s = pr->samples;
	size_t *n = &pr->nsamples;

	if (!(p->has & CLIENT_HAS_BYTES_DONE))
		return;
	/* counting down means counting anew (a file started over) */
	if (*n && p->bytes_done < s[*n - 1].bytes)
		*n = 0;
	if (*n && now - s[*n - 1].t < RATE_STEP_NS)
		return;
	while (*n == RATE_SAMPLES ||
	       (*n > 1 && s[1].t <= now - RATE_WINDOW_NS))
		memmove(s, s + 1, --*n * sizeof(*s));
	s[(*n)++] = (struct rate_sample){ .t = now, .bytes = p->bytes_done };
}

/* The numbers of p and the rate they make now. */
static void view_make(struct view *v, const struct progress *pr,
		      const struct client_progress *p, int64_t now)
{
	const struct rate_sample *oldest = pr->samples;
	int64_t span = now - oldest->t;

	v->p = p;
	v->has_rate = pr->nsamples && (p->has & CLIENT_HAS_BYTES_DONE) &&
		      span >= RATE_MIN_NS && p->bytes_done >= oldest->bytes;
	v->rate = v->has_rate ? (double)(p->bytes_done - oldest->bytes) *
					1e9 / (double)span
			      : 0;
}

/* "[#######-----------------]" in cells cells. */
static void add_bar(struct line *l, double f, int cells)
{
	int full = (int)(f * cells), i;

	line_add(l, "[");
	for (i = 0; i < cells; i++)
		line_add(l, "%c", i < full ? '#' : '-');
	line_add(l, "] ");
}

/*
 * Redraws the terminal line. The pieces come first, so the bar knows
 * its room: full size if the name still gets NAME_ROOM columns, narrower
 * down to BAR_MIN if not. It never grows back, or it would jitter as the
 * numbers change width. The last column stays empty, as writing there
 * wraps on some terminals and "\r" then returns to the wrong line.
 */
static void tty_draw(struct progress *pr, const struct view *v)
{
	struct line pieces = { .len = 0 }, l = { .len = 0 };
	int cols = term_cols() - 1, cells, room;
	double f;

	add_pieces(&pieces, v, tty_pieces, CD_ARRAY_SIZE(tty_pieces), " ");
	line_add(&l, "\r");
	if (fraction(v->p, &f)) {
		cells = cols - (int)pieces.len - 3 - 1 - NAME_ROOM;
		pr->cells = CD_MAX(BAR_MIN, CD_MIN(pr->cells, cells));
		add_bar(&l, f, pr->cells);
	}
	line_add(&l, "%s", pieces.s);
	/* all ASCII so far: one byte, one column ("\r" takes none) */
	if ((int)l.len - 1 > cols)
		l.len = (size_t)cols + 1;
	room = cols - ((int)l.len - 1) - 1;
	if (v->p->path && *v->p->path && room >= NAME_SHORTEST) {
		line_add(&l, " ");
		add_name(&l, v->p->path, room);
	}
	line_add(&l, "\033[K");
	fwrite(l.s, 1, l.len, stderr);
	fflush(stderr);
	if (!pr->drawn)
		sigint_catch(pr);
	pr->drawn = true;
}

/* "pin: 3/10 files, 12.0 MiB of 40.0 MiB, 35.1 MiB/s" */
static void plain_print(struct progress *pr, const struct view *v)
{
	struct line l = { .len = 0 };

	line_add(&l, "%s: ", pr->label);
	if (add_pieces(&l, v, plain_pieces, CD_ARRAY_SIZE(plain_pieces),
		       ", "))
		fprintf(stderr, "%s\n", l.s);
}

static void show(struct progress *pr, const struct client_progress *p,
		 int64_t now)
{
	struct view v;

	view_make(&v, pr, p, now);
	if (pr->tty)
		tty_draw(pr, &v);
	else
		plain_print(pr, &v);
	pr->shown_ns = now;
	pr->unshown = false;
}

struct progress *progress_new(const char *label)
{
	struct progress *pr = xcalloc(1, sizeof(*pr));
	const char *term = getenv("TERM");

	pr->label = label;
	pr->cells = BAR_CELLS;
	/* a dumb terminal has "\r" but not the erasing escape */
	pr->tty = isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb"));
	/* the first line waits a period too: a quick operation shows none
	 * (a log still gets the line at the end) */
	pr->shown_ns = util_now_mono_ns();
	return pr;
}

void progress_cb(const struct client_progress *p, void *arg)
{
	struct progress *pr = arg;
	int64_t now = util_now_mono_ns();

	if (!p) {
		progress_finish(pr);
		return;
	}
	if (pr->finished)
		return;
	rate_sample(pr, p, now);
	pr->last = *p;
	pr->last.path = NULL;
	if (p->path && (!pr->path || strcmp(pr->path, p->path))) {
		free(pr->path);
		pr->path = xstrdup(p->path);
	}
	pr->unshown = true;
	if (now - pr->shown_ns >= (pr->tty ? TTY_EVERY_NS : LINE_EVERY_NS))
		show(pr, p, now);
}

void progress_finish(struct progress *pr)
{
	if (!pr || pr->finished)
		return;
	pr->finished = true;
	if (pr->drawn)
		fputs("\r\033[K", stderr);
	else if (!pr->tty && pr->unshown)
		show(pr, &pr->last, util_now_mono_ns());
	pr->drawn = false;
	sigint_restore(pr);
}

void progress_done(struct progress *pr)
{
	struct client_progress last;

	if (!pr || pr->finished)
		return;
	if (pr->tty && (pr->last.has || pr->path)) {
		last = pr->last;
		last.path = pr->path;
		show(pr, &last, util_now_mono_ns());
		fputc('\n', stderr);
		pr->drawn = false;	/* nothing left to clear */
	}
	progress_finish(pr);
}

void progress_free(struct progress *pr)
{
	progress_finish(pr);
	if (pr)
		free(pr->path);
	free(pr);
}
