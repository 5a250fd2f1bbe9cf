/*
 * The vetoes of the kernel's fast path (FUSE passthrough), as Windows
 * file-system filters veto BypassIO with a reason: every filter may say
 * why an open must not take it (filter_ops.fastpath), in its own words,
 * and each reason is counted for the stats text. The front end asks
 * once per open and decides with the store (store_fast.c), which has
 * reasons of its own ("partially hydrated") and the kernel's rules.
 *
 * Reasons are fixed strings: a few distinct ones per mount, so they are
 * kept in a small table found by comparing the text, under a lock of
 * its own (a leaf), counted from any thread.
 */
#include "common.h"

#include <ctype.h>
#include <pthread.h>

#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

#define FAST_REASONS_MAX 32

struct fast_vetoes {
	pthread_mutex_t lock;			/* protects the rest */
	const char *reason[FAST_REASONS_MAX];	/* fixed strings */
	uint64_t count[FAST_REASONS_MAX];
	int n;
	uint64_t dropped;			/* reasons past the table */
};

static const char *const mode_names[] = {
	[FASTPATH_AUTO] = "auto",
	[FASTPATH_ON] = "on",
	[FASTPATH_OFF] = "off",
};

const char *fastpath_mode_name(enum fastpath_mode m)
{
	return (size_t)m < CD_ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

int fastpath_mode_parse(const char *name)
{
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(mode_names); i++)
		if (strcmp(name, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *filter_fastpath_veto(struct fs *fs, const struct fop *op)
{
	const char *why;
	int i;

	for (i = 0; i < fs->nfilters; i++) {
		struct filter *f = &fs->filters[i];

		if (!f->ops->fastpath)
			continue;
		why = f->ops->fastpath(f, op);
		if (why)
			return why;
	}
	return NULL;
}

static struct fast_vetoes *vetoes_of(struct filter_env *env)
{
	struct fast_vetoes *v = __atomic_load_n(&env->vetoes,
						 __ATOMIC_ACQUIRE);
	struct fast_vetoes *mine;

	if (v)
		return v;
	mine = xcalloc(1, sizeof(*mine));
	pthread_mutex_init(&mine->lock, NULL);
	if (__atomic_compare_exchange_n(&env->vetoes, &v, mine, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return mine;
	pthread_mutex_destroy(&mine->lock);
	free(mine);
	return v;
}

void fast_vetoes_count(struct filter_env *env, const char *reason)
{
	struct fast_vetoes *v;
	int i;

	if (!reason) {
		stats_add(&env->stats, fastpath_opens, 1);
		return;
	}
	stats_add(&env->stats, fastpath_vetoes, 1);
	v = vetoes_of(env);
	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->n; i++)
		if (v->reason[i] == reason || strcmp(v->reason[i], reason) == 0)
			break;
	if (i == v->n && v->n < FAST_REASONS_MAX)
		v->reason[v->n++] = reason;
	if (i < v->n)
		v->count[i]++;
	else
		v->dropped++;
	pthread_mutex_unlock(&v->lock);
}

/* reason as a stats key: letters and digits, '_' for the rest. */
static void slug(const char *reason, char *out, size_t size)
{
	size_t i, j = 0;
	bool gap = false;

	for (i = 0; reason[i] && j + 1 < size; i++) {
		unsigned char c = (unsigned char)reason[i];

		if (isalnum(c)) {
			if (gap && j > 0)
				out[j++] = '_';
			if (j + 1 < size)
				out[j++] = (char)tolower(c);
			gap = false;
		} else {
			gap = true;
		}
	}
	out[j] = '\0';
}

void fast_vetoes_text(struct filter_env *env, struct textbuf *o)
{
	struct fast_vetoes *v = __atomic_load_n(&env->vetoes,
						 __ATOMIC_ACQUIRE);
	char key[64];
	int i;

	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->n; i++) {
		slug(v->reason[i], key, sizeof(key));
		textbuf_add(o, "fastpath_veto.%s=%llu\n", key,
			    (unsigned long long)v->count[i]);
	}
	if (v->dropped)
		textbuf_add(o, "fastpath_veto.other=%llu\n",
			    (unsigned long long)v->dropped);
	pthread_mutex_unlock(&v->lock);
}

void fast_vetoes_free(struct filter_env *env)
{
	struct fast_vetoes *v = env->vetoes;

	if (!v)
		return;
	pthread_mutex_destroy(&v->lock);
	free(v);
	env->vetoes = NULL;
}
