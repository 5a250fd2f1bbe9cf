#!/usr/bin/env bash
# SIGKILL right after a write's bytes landed in the cache file of a file
# that was clean (uploaded): the file is known dirty before its bytes land
# (crash point write-landed), so after a remount the mount shows the new
# bytes and sync uploads them; never new bytes here that the remote never
# gets.
. "$(dirname "$0")/../../lib.sh"

printf 'old version\n' >"$R/f"
# the daemon's own write path: an open on the fast path writes the cache
# file without it (fastpath/crash checks that one)
CLONEDRIVE_TEST_CRASH_AT=write-landed cd_mount "$R" "$M" --upload-delay 0 \
	--passthrough off
cat "$M/f" >/dev/null
pid=$(cd_pid)
printf 'NEW' | dd of="$M/f" conv=notrunc status=none 2>/dev/null || true
cd_await_crash "$pid" write-landed
cd_drop_dead "$M"
cd_mount "$R" "$M" --upload-delay 0
got=$(cat "$M/f")
case $got in
"NEW version"|"old version") ;;
*) die "the file reads '$got', a version nobody wrote" ;;
esac
"$CD_BIN" sync "$M" >/dev/null
assert_eq "$(cat "$R/f")" "$got" "the remote after sync"
cd_unmount "$M"
