/*
 * The stats text and JSON, made from STATS_LIST (stats.h): a table of
 * each key's name, flags and place in struct stats_view, walked in
 * order. The counters themselves are plain fields updated in place by
 * the stats_add() and stats_set() macros.
 */
#include "common.h"

#include "util/stats.h"
#include "util/util.h"

struct stat_key {
	const char *name;
	unsigned flags;			/* enum stat_flags */
	size_t offset;			/* in struct stats_view */
};

#define STATS_KEY_(name, flags) \
	{ #name, flags, offsetof(struct stats_view, name) },

static const struct stat_key keys[] = {
	STATS_LIST(STATS_KEY_, STATS_KEY_)
};

/* The value of k in v as a decimal number, into buf. */
static void format_value(const struct stats_view *v, const struct stat_key *k,
			 char *buf, size_t size)
{
	uint64_t x;

	memcpy(&x, (const char *)v + k->offset, sizeof(x));
	if (k->flags & STAT_SIGNED)
		snprintf(buf, size, "%lld", (long long)(int64_t)x);
	else
		snprintf(buf, size, "%llu", (unsigned long long)x);
}

#define STATS_LOAD_(name, flags) v->name = stats_get(st, name);
#define STATS_SKIP_(name, flags)

void stats_read(const struct stats *st, struct stats_view *v)
{
	memset(v, 0, sizeof(*v));
	STATS_LIST(STATS_LOAD_, STATS_SKIP_)
}

void stats_add_text(const struct stats_view *v, struct textbuf *o)
{
	char num[24];
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(keys); i++) {
		if (keys[i].flags & STAT_HIDDEN)
			continue;
		format_value(v, &keys[i], num, sizeof(num));
		textbuf_add(o, "%s=%s\n", keys[i].name, num);
	}
}

void stats_add_json(const struct stats_view *v, struct textbuf *o)
{
	char num[24];
	size_t i;

	for (i = 0; i < CD_ARRAY_SIZE(keys); i++) {
		if (!(keys[i].flags & STAT_JSON))
			continue;
		format_value(v, &keys[i], num, sizeof(num));
		textbuf_add(o, ",\"%s\":%s", keys[i].name, num);
	}
}
