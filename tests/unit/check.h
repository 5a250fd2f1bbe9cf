/*
 * The unit tests' helpers: their one assertion, which counts failures
 * and says where, so a test runs to the end and reports every broken
 * check; and a reader of a whole file.
 */
#ifndef CD_TEST_CHECK_H
#define CD_TEST_CHECK_H

#include <stdio.h>

#include "util/util.h"

static int failures;

#define CHECK(cond)                                                    \
	do {                                                           \
		if (!(cond)) {                                         \
			printf("not ok - %s:%d: %s\n", __FILE__,       \
			       __LINE__, #cond);                       \
			failures++;                                    \
		}                                                      \
	} while (0)

/* The whole text of the file at path (caller frees), or NULL. */
static inline char *check_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	struct textbuf t = { xstrdup(""), 0 };
	char line[4096];

	if (!f) {
		free(t.s);
		return NULL;
	}
	while (fgets(line, sizeof(line), f))
		textbuf_add(&t, "%s", line);
	fclose(f);
	return t.s;
}

#endif
