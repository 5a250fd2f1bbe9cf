/*
 * The one assertion of the unit tests: counts failures and says where,
 * so a test runs to the end and reports every broken check.
 */
#ifndef CD_TEST_CHECK_H
#define CD_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                    \
	do {                                                           \
		if (!(cond)) {                                         \
			printf("not ok - %s:%d: %s\n", __FILE__,       \
			       __LINE__, #cond);                       \
			failures++;                                    \
		}                                                      \
	} while (0)

#endif
