#!/usr/bin/env bash
# SIGKILL while a writer on the kernel's fast path has written into the
# cache file of a clean (uploaded) file, the daemon never seeing those
# writes: the file was marked dirty at that writer's open, so after a
# remount the mount shows the new bytes and sync uploads them; never new
# bytes here that the remote never gets.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"
need_root

printf 'old version\n' >"$R/f"
cd_mount "$R" "$M" --upload-delay 0
need_fast_path "$M"
cat "$M/f" >/dev/null
# the extents saved (an unmount saves them): a crash keeps the data, else
# it would be fetched again
cd_unmount "$M"
cd_mount "$R" "$M" --upload-delay 0
assert_eq "$(state_of "$M/f")" hydrated "after a remount"
exec 5<>"$M/f"
fast_open "$M/f" || die "not on the fast path: $(fastpath_of "$M/f")"
printf 'NEW' >&5
step "the daemon dies with the writer open"
cd_kill9
exec 5>&-
cd_drop_dead "$M"
cd_mount "$R" "$M" --upload-delay 0
assert_eq "$(cat "$M/f")" "NEW version" "the mount after the crash"
"$CD_BIN" sync "$M" >/dev/null
assert_eq "$(cat "$R/f")" "NEW version" "the remote after sync"
cd_unmount "$M"
