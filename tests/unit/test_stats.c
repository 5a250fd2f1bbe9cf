/*
 * Unit test of the counters (util/stats.h): the stats text has a line
 * for every key of STATS_LIST but the hidden ones, in its order, and the
 * JSON every key flagged for it; stats_read copies every counter; the
 * keys scripts already read keep their order; and the man page, given
 * as argv[1], names every key of the text.
 */
#include "common.h"

#include "check.h"

#include "util/stats.h"
#include "util/util.h"

struct key {
	const char *name;
	unsigned flags;
	bool counter;
};

#define COUNTER_KEY(name, flags) { #name, flags, true },
#define VALUE_KEY(name, flags) { #name, flags, false },

static const struct key keys[] = {
	STATS_LIST(COUNTER_KEY, VALUE_KEY)
};

/* The keys of the text as they were when the list was made, in their
 * order: new keys may go anywhere, these keep their order. */
static const char *const known[] = {
	"fetched_bytes", "fetch_requests", "uploaded_bytes", "uploads_done",
	"cache_bytes", "uploads_pending", "fetches_cancelled",
	"remote_errors", "remote_down", "polls", "written_bytes",
	"evicted_bytes", "evicted_files", "freed_bytes", "writes_refused",
	"hydrations_blocked", "clones_detected", "clone_freed_bytes",
	"clone_stored_bytes", "clone_avoided_bytes", "guard_snapshots",
	"clone_errors", "server_copies", "server_copied_bytes", "conflicts",
	"pid",
};

static const char *const known_json[] = {
	"\"fetched_bytes\":", "\"uploaded_bytes\":", "\"evicted_bytes\":",
	"\"hydrations_blocked\":",
};

/* The value key i gets in the test: distinct, negative if signed. */
static uint64_t value_of(size_t i)
{
	if (keys[i].flags & STAT_SIGNED)
		return (uint64_t)-(int64_t)(i + 1);
	return 1000 + i;
}

static void set_view(struct stats_view *v, size_t i, uint64_t x)
{
	uint64_t *fields = (uint64_t *)v;

	/* struct stats_view is one uint64_t per key, in list order */
	fields[i] = x;
}

static void check_man(const char *path)
{
	char *man = check_slurp(path), *start, *end, word[128];
	size_t i;

	CHECK(man != NULL);
	if (!man)
		return;
	start = strstr(man, ".B user.clonedrive.stats\n");
	CHECK(start != NULL);
	if (start) {
		end = strstr(start + 1, "\n.TP");
		if (end)
			*end = '\0';
		for (i = 0; i < CD_ARRAY_SIZE(keys); i++) {
			if (keys[i].flags & STAT_HIDDEN)
				continue;
			snprintf(word, sizeof(word), "\\fB%s\\fR",
				 keys[i].name);
			if (!strstr(start, word)) {
				printf("# the man page does not list %s\n",
				       keys[i].name);
				CHECK(!"every key of the text in the man page");
			}
		}
	}
	free(man);
}

int main(int argc, char **argv)
{
	struct textbuf text = { xstrdup(""), 0 }, json = { xstrdup(""), 0 };
	struct textbuf want = { xstrdup(""), 0 };
	struct stats_view v;
	struct stats st;
	char *line, *save = NULL;
	size_t i, k, shown = 0;
	uint64_t *counter;

	CHECK(sizeof(struct stats_view) == CD_ARRAY_SIZE(keys) * 8);
	for (i = 0; i < CD_ARRAY_SIZE(keys); i++) {
		CHECK(keys[i].counter || !(keys[i].flags & STAT_HIDDEN));
		for (k = 0; k < i; k++)
			CHECK(strcmp(keys[i].name, keys[k].name) != 0);
	}

	/* the text: every key not hidden, in order, with its value */
	memset(&v, 0, sizeof(v));
	for (i = 0; i < CD_ARRAY_SIZE(keys); i++)
		set_view(&v, i, value_of(i));
	stats_add_text(&v, &text);
	for (i = 0; i < CD_ARRAY_SIZE(keys); i++) {
		if (keys[i].flags & STAT_HIDDEN)
			continue;
		shown++;
		if (keys[i].flags & STAT_SIGNED)
			textbuf_add(&want, "%s=%lld\n", keys[i].name,
				    (long long)(int64_t)value_of(i));
		else
			textbuf_add(&want, "%s=%llu\n", keys[i].name,
				    (unsigned long long)value_of(i));
	}
	CHECK(strcmp(text.s, want.s) == 0);
	CHECK(strstr(text.s, "uploads_pending=-") != NULL);
	CHECK(strstr(text.s, "remote_changes=") == NULL);

	/* the keys known before keep their order */
	k = 0;
	for (line = strtok_r(text.s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(line, "=");

		if (k < CD_ARRAY_SIZE(known) && strlen(known[k]) == n &&
		    strncmp(line, known[k], n) == 0)
			k++;
		shown--;
	}
	CHECK(shown == 0);
	CHECK(k == CD_ARRAY_SIZE(known));

	/* the JSON: the keys flagged for it, in order */
	stats_add_json(&v, &json);
	free(want.s);
	want.s = xstrdup("");
	want.len = 0;
	for (i = 0; i < CD_ARRAY_SIZE(keys); i++)
		if (keys[i].flags & STAT_JSON)
			textbuf_add(&want, ",\"%s\":%llu", keys[i].name,
				    (unsigned long long)value_of(i));
	CHECK(strcmp(json.s, want.s) == 0);
	/* the keys status --json had before keep their order */
	line = json.s;
	for (i = 0; i < CD_ARRAY_SIZE(known_json); i++) {
		line = strstr(line, known_json[i]);
		CHECK(line != NULL);
		if (!line)
			break;
	}

	/* stats_read: every counter, no value */
	memset(&st, 0, sizeof(st));
	counter = (uint64_t *)&st;
	for (i = 0, k = 0; i < CD_ARRAY_SIZE(keys); i++)
		if (keys[i].counter)
			counter[k++] = 7 + i;
	CHECK(sizeof(st) == k * 8);
	stats_read(&st, &v);
	for (i = 0; i < CD_ARRAY_SIZE(keys); i++)
		CHECK(((uint64_t *)&v)[i] == (keys[i].counter ? 7 + i : 0));

	if (argc > 1)
		check_man(argv[1]);
	else
		CHECK(!"the man page's path as argv[1]");
	free(text.s);
	free(json.s);
	free(want.s);
	if (!failures)
		printf("ok - stats\n");
	return failures ? 1 : 0;
}
