#!/usr/bin/env bash
# SIGKILL after a rename of a symlink over an uploaded file was done on
# the remote and before it left the journal (crash point journal-done):
# tried again, the rename finds no source, and what is at its target is
# the moved symlink itself, not another client's change. Before, the
# retry took it for one and kept a conflict copy (the stress tester with
# kills: a symlink or a device node renamed over a file, seeds 4021968651
# and 2520178945).
. "$(dirname "$0")/../../lib.sh"
need_root

cd_mount "$R" "$M" --upload-delay 0
printf 'file data\n' >"$M/f"
ln -s target-a "$M/a"
cd_sync "$M"
cd_unmount "$M"

step "the daemon dies right after the rename is done on the remote"
CLONEDRIVE_TEST_CRASH_AT=journal-done:2 cd_mount "$R" "$M"
pid=$(cd_pid)
printf 'queued first\n' >"$M/z"		# done first: journal-done 1
mv -T "$M/a" "$M/f"			# then this one: journal-done 2
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
cd_await_crash "$pid" journal-done
[ -L "$R/f" ] || die "the rename was not done on the remote"
cd_drop_dead "$M"

step "mounted again: the symlink at f, and no conflict copy"
cd_mount "$R" "$M"
cd_sync "$M"
assert_eq "$(readlink "$M/f")" target-a "the mount's f"
assert_eq "$(readlink "$R/f")" target-a "the remote's f"
assert_eq "$(ls "$M" | grep -c conflict || true)" 0 "conflict copies on the mount"
assert_eq "$(ls "$R" | grep -c conflict || true)" 0 "conflict copies on the remote"
