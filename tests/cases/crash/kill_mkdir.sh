#!/usr/bin/env bash
# A mkdir killed on the local remote after the directory was made (0700)
# and before its mode was set: the journal's next try found it there and
# took it as done, so the remote kept 0700 and the next poll brought
# that mode into the mount over the one the user gave. (Found by the
# stress tester.)
. "$(dirname "$0")/../../lib.sh"
need_root

gone() { ! pid_alive "$pid"; }

step "the daemon dies between the mkdir on the remote and its chmod"
CLONEDRIVE_TEST_CRASH_AT=mkdir-made cd_mount "$R" "$M"
pid=$(cd_pid "$M")
mkdir -m 750 "$M/d" 2>/dev/null || true	# its remote op may come first
wait_for 30 gone
grep -q "mkdir-made" "$T/daemon.log" || die "the crash point was not reached"
cd_drop_dead "$M"

step "after a restart and a sync, the mode is the one given"
cd_mount "$R" "$M"
cd_sync "$M"
assert_eq "$(stat -c %a "$R/d")" 750 "mode of d on the remote"
cd_sync "$M"	# a poll, the journal empty: the remote's word counts
assert_eq "$(stat -c %a "$M/d")" 750 "mode of d in the mount after a poll"
cd_unmount "$M"
