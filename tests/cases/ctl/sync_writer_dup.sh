#!/usr/bin/env bash
# clonedrive sync waits a second at most for the release of a writer's
# descriptor that was closed (a flush came), not for as long as another
# copy of it stays open: a child that inherited it and exited, or a dup
# closed, flushes it with no release. The CLI's sync asks the daemon again
# every 200 ms, and each ask waited its own second anew, so the sync hung
# until its timeout while such a writer stayed open.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 0
printf 'done before\n' >"$M/before"

step "a writer stays open; a copy of its descriptor is closed"
exec 3>"$M/open"
printf 'still open\n' >&3
exec 4>&3
exec 4>&-			# a flush, and no release: fd 3 holds it
(exit 0)			# a child that had it exits: another flush

step "a sync still ends, within a few seconds"
t0=$(date +%s%N)
if ! timeout 30 "$CD_BIN" sync --no-progress --timeout 15s "$M"; then
	exec 3>&-
	die "the sync did not end while the writer stayed open"
fi
t=$((($(date +%s%N) - t0) / 1000000))
echo "the sync took $t ms"
assert_le "$t" 5000 "ms of the sync"
assert_file_eq "$R/before" "$M/before"

step "once the writer closes, its data goes too"
exec 3>&-
cd_sync "$M"
assert_eq "$(cat "$R/open")" "still open"
