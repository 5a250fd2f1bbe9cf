/*
 * Crash points, for tests only: with CLONEDRIVE_TEST_CRASH_AT=NAME[:N] in
 * the daemon's environment, the Nth time (default the first) the daemon
 * passes crash_point(NAME) it logs the name and kills itself with
 * SIGKILL, as a crash or an OOM kill would, at that very step. Without the
 * variable a crash point costs one load and one branch.
 *
 * The points (docs/CONTRACT.md says what each must keep):
 *   journal-commit   a namespace change and its journal op just committed
 *   upload-put       an upload reached the remote, not yet recorded here
 *   journal-done     a remote op done, not yet removed from the journal
 *   remote-tmp       local remote: a put's temp file written and synced,
 *                    not yet renamed into place
 *   link-tmp         local remote: a hard link made under its temp name,
 *                    not yet renamed to the name it is for
 *   mkdir-made       local remote: a directory made (0700), its owner,
 *                    mode and mtime not yet set
 *   multipart-part   s3: a part of a multipart upload sent and recorded
 *   extent-save      fetched data synced, its extents not yet recorded
 *   clone-closed     a copy's record written at its close, not uploaded
 *   conflict-rename  a conflict found, before the local file is renamed
 *   write-landed     a write's bytes in the cache file, its size and time
 *                    not yet recorded
 *   delete-uncommitted  an unlink or rmdir made in the database's
 *                    transaction, not yet committed
 *
 * Fault points, likewise: with CLONEDRIVE_TEST_FAIL_AT=NAME, every pass of
 * fault_point(NAME) returns -EIO (0 otherwise), as a failing disk or
 * database would, so that a test can see what an error there does:
 *   has-children     the database cannot tell whether a directory has
 *                    entries (rmdir, rename over a directory)
 */
/*
 * Pause points, likewise: with CLONEDRIVE_TEST_PAUSE_AT=NAME:MS (or up to
 * four, NAME:MS,NAME:MS), every pass of pause_point(NAME, WHAT) logs
 * "test: pause at NAME (WHAT)" and sleeps MS milliseconds, so that a test
 * can change things at that very step:
 *   poll-list        a poll about to list a directory of the remote (WHAT:
 *                    its path; before it notes the journal's generation)
 *   journal-setattr  the journal about to perform a setattr (WHAT: its path)
 *   list-batch       a listing about to apply a full batch of the entries
 *                    it read (WHAT: the directory's path), others to come
 *   upload-loaded    an upload that has its file in hand, before it reads
 *                    anything of it (WHAT: the path)
 *   setattr-row      a setattr (chmod, chown, utimens, truncate) about to
 *                    write the file's row, its node in hand or none loaded
 */
#ifndef CD_CRASH_H
#define CD_CRASH_H

#include "common.h"

/* Set up from the environment; call once before any thread starts. */
void crash_setup(void);

extern const char *crash_armed;	/* NULL unless a crash point is set */
void crash_check(const char *name);

static inline void crash_point(const char *name)
{
	if (__builtin_expect(crash_armed != NULL, 0))
		crash_check(name);
}

extern const char *fault_armed;	/* NULL unless a fault point is set */

static inline int fault_point(const char *name)
{
	if (__builtin_expect(fault_armed != NULL, 0) &&
	    strcmp(name, fault_armed) == 0)
		return -EIO;
	return 0;
}

extern const char *pause_armed;	/* NULL unless a pause point is set */
void pause_check(const char *name, const char *what);

static inline void pause_point(const char *name, const char *what)
{
	if (__builtin_expect(pause_armed != NULL, 0))
		pause_check(name, what);
}

#endif
