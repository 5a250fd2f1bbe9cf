#!/usr/bin/env bash
# SIGKILL after a rename over a file was done on the remote and before it
# left the journal (crash point journal-done), the moved file truncated
# here after the rename: tried again, the rename finds the moved file's
# own version at its target, where it expected the replaced one. That
# version is ours, not another client's: no conflict copy, and the name
# keeps the local data. Before, the remote's copy took the name (the
# moved file's old bytes) and the truncated file became a conflict copy.
. "$(dirname "$0")/../../lib.sh"
need_root

random_file "$T/a" 300000
printf 'the file replaced\n' >"$T/e"
cd_mount "$R" "$M" --upload-delay 0
cp "$T/a" "$M/a"
cp "$T/e" "$M/e"
cd_sync "$M"
cd_unmount "$M"

step "the daemon dies right after the rename is done on the remote"
# uploads wait an hour: the journal holds the ops until the sync below
CLONEDRIVE_TEST_CRASH_AT=journal-done:2 cd_mount "$R" "$M" --upload-delay 1h
pid=$(cd_pid)
printf 'queued first\n' >"$M/z"		# done first: journal-done 1
mv "$M/a" "$M/e"			# then this one: journal-done 2
truncate -s 1000 "$M/e"			# its upload after the rename
head -c 1000 "$T/a" >"$T/want"
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
cd_await_crash "$pid" journal-done
[ ! -e "$R/a" ] || die "the rename was not done on the remote"
cd_drop_dead "$M"

step "mounted again, the rename is not taken for another client's change"
cd_mount "$R" "$M" --upload-delay 0
assert_file_eq "$M/e" "$T/want"
cd_sync "$M"
assert_file_eq "$M/e" "$T/want"
assert_file_eq "$R/e" "$T/want"
assert_eq "$(ls "$M" | tr '\n' ' ')" "e z " "the mount's names (no conflict copy)"
assert_eq "$(ls "$R" | tr '\n' ' ')" "e z " "the remote's names (no conflict copy)"
cd_unmount "$M"
