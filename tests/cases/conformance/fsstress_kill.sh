#!/usr/bin/env bash
# fsstress (4 processes) with the daemon killed (SIGKILL) in the middle:
# once mounted again, `clonedrive sync` completes, every file of the mount
# reads to its end, and the remote holds the same names, types, bytes and
# symlink targets as the mount. (What each file must hold is fsx_kill's
# question; here it is that a crash in the middle of renames, unlinks,
# rmdirs and writes of four processes leaves the two sides agreeing, with
# nothing of the journal lost or replayed twice.) The kill comes after a
# random number of operations; the processes then fail on the dead mount
# and finish. FSSTRESS_SEED=N runs it again.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/conformance/lib.sh"

conf_tools
cd_mount "$R" "$M"
n=3000
if conf_sanitized; then
	n=1000
fi
k=$((n + RANDOM % (2 * n)))
echo "fsstress seed $FSSTRESS_SEED; the daemon killed after $k operations"

step "fsstress -p 4 -n $n, the daemon killed after $k operations"
mkdir "$M/fss"
cd_sync "$M"
fsstress_run "$M/fss" "$T/fsstress.log" "$n" &
pid=$!
ops_at_least() { [ "$(grep -cE '^[0-9]+/[0-9]+: ' "$T/fsstress.log")" -ge "$1" ]; }
wait_for 120 ops_at_least "$k"
cd_kill9
rc=0
wait $pid || rc=$?
echo "fsstress: exit $rc"
fsstress_errors "$T/fsstress.log"

step "mount again; sync; the remote equals the mount"
cd_mount "$R" "$M"
s=$(date +%s)
cd_sync "$M" 150
echo "sync: $(($(date +%s) - s)) s"
same_tree "$M" "$R" || die "the remote differs from the mount after the kill and sync"
