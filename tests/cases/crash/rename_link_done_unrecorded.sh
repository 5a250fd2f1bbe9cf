#!/usr/bin/env bash
# SIGKILL after a rename of an extra name (a hard link) over an uploaded
# file was done on the remote and before it left the journal (crash
# point journal-done): tried again, the rename finds no source, and what
# is at its target is the moved name's own copy of its file, not another
# client's change; no conflict copy. (The twin of
# rename_special_over_file_done, for an extra name.)
. "$(dirname "$0")/../../lib.sh"
need_root

cd_mount "$R" "$M" --upload-delay 0
printf 'file data\n' >"$M/f"
printf 'linked data\n' >"$M/x"
ln "$M/x" "$M/c"
cd_sync "$M"
cd_unmount "$M"

step "the daemon dies right after the rename is done on the remote"
CLONEDRIVE_TEST_CRASH_AT=journal-done cd_mount "$R" "$M"
pid=$(cd_pid)
mv -T "$M/c" "$M/f"			# the first op: journal-done 1
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
cd_await_crash "$pid" journal-done
[ ! -e "$R/c" ] || die "the rename was not done on the remote"
cd_drop_dead "$M"

step "mounted again: x's bytes at f, and no conflict copy"
cd_mount "$R" "$M"
grep -q "pending from before; resuming" "$T/daemon.log" ||
	die "the rename was not left in the journal"
cd_sync "$M"
assert_eq "$(cat "$M/f")" "linked data" "the mount's f"
assert_eq "$(cat "$R/f")" "linked data" "the remote's f"
assert_eq "$(stat -c %h "$M/f")" 2 "names of f in the mount"
assert_eq "$(ls "$M" | grep -c conflict || true)" 0 "conflict copies on the mount"
assert_eq "$(ls "$R" | grep -c conflict || true)" 0 "conflict copies on the remote"
cd_unmount "$M"
