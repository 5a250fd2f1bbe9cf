/*
 * Crash points (crash.h): the test switch that kills the daemon at a
 * named step.
 */
#include "common.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/crash.h"
#include "util/log.h"
#include "util/util.h"

const char *crash_armed;
const char *fault_armed;
static char crash_name[64];
static unsigned long crash_left;	/* passes before the kill; atomic */

void crash_setup(void)
{
	const char *v = getenv("CLONEDRIVE_TEST_CRASH_AT");
	const char *colon;
	size_t len;

	fault_armed = getenv("CLONEDRIVE_TEST_FAIL_AT");
	if (fault_armed && !*fault_armed)
		fault_armed = NULL;
	if (fault_armed)
		log_warn("test: every pass of %s fails", fault_armed);
	if (!v || !*v)
		return;
	colon = strchr(v, ':');
	len = colon ? (size_t)(colon - v) : strlen(v);
	if (len >= sizeof(crash_name))
		return;
	memcpy(crash_name, v, len);
	crash_name[len] = '\0';
	crash_left = colon ? strtoul(colon + 1, NULL, 10) : 1;
	if (crash_left == 0)
		crash_left = 1;
	crash_armed = crash_name;
	log_warn("test: armed to crash at %s (pass %lu)", crash_name,
		 crash_left);
}

void crash_check(const char *name)
{
	if (strcmp(name, crash_name) != 0)
		return;
	if (__atomic_sub_fetch(&crash_left, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	log_warn("test: crash at %s", name);
	raise(SIGKILL);
}
