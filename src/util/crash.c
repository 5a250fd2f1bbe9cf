/*
 * Crash points (crash.h): the test switch that kills the daemon at a
 * named step; and its siblings, fault and pause points.
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
const char *pause_armed;
static char crash_name[64];
/* the pause points armed, NAME:MS[,NAME:MS...] */
#define PAUSES_MAX 4
static struct pause {
	char name[64];
	unsigned long ms;
} pauses[PAUSES_MAX];
static unsigned npauses;
static unsigned long crash_left;	/* passes before the kill; atomic */

static void pause_setup(void)
{
	const char *v = getenv("CLONEDRIVE_TEST_PAUSE_AT");

	while (v && *v && npauses < PAUSES_MAX) {
		const char *colon = strchr(v, ':');
		struct pause *p = &pauses[npauses];
		size_t len;
		char *end;

		if (!colon)
			break;
		len = (size_t)(colon - v);
		if (len == 0 || len >= sizeof(p->name))
			break;
		memcpy(p->name, v, len);
		p->name[len] = '\0';
		p->ms = strtoul(colon + 1, &end, 10);
		npauses++;
		log_warn("test: every pass of %s pauses %lu ms", p->name,
			 p->ms);
		v = *end == ',' ? end + 1 : NULL;
	}
	if (npauses)
		pause_armed = pauses[0].name;
}

void pause_check(const char *name, const char *what)
{
	unsigned i;

	for (i = 0; i < npauses; i++) {
		if (strcmp(name, pauses[i].name) == 0) {
			log_warn("test: pause at %s (%s)", name,
				 what ? what : "");
			usleep((useconds_t)pauses[i].ms * 1000);
			return;
		}
	}
}

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
	pause_setup();
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
