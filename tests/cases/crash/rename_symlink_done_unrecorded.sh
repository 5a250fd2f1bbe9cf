#!/usr/bin/env bash
# SIGKILL after a rename of a symlink over another symlink was done on
# the remote and before it left the journal (crash point journal-done):
# tried again, the rename finds no source, and what is at its target is
# the moved symlink itself. It stays: before, the retry took it for the
# replaced symlink (which a rename of a file not uploaded yet removes),
# deleted it from the remote, and the next poll deleted it here.
. "$(dirname "$0")/../../lib.sh"
need_root

cd_mount "$R" "$M" --upload-delay 0
ln -s target-a "$M/a"
ln -s target-e "$M/e"
cd_sync "$M"
cd_unmount "$M"

step "the daemon dies right after the rename is done on the remote"
CLONEDRIVE_TEST_CRASH_AT=journal-done:2 cd_mount "$R" "$M"
pid=$(cd_pid)
printf 'queued first\n' >"$M/z"		# done first: journal-done 1
mv "$M/a" "$M/e"			# then this one: journal-done 2
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
cd_await_crash "$pid" journal-done
[ ! -L "$R/a" ] || die "the rename was not done on the remote"
cd_drop_dead "$M"

step "mounted again, the moved symlink stays, here and there"
cd_mount "$R" "$M"
cd_sync "$M"
cd_refresh "$M"
sleep 1.5	# a poll (1 s) after the journal drained
assert_eq "$(readlink "$M/e")" target-a "e in the mount"
assert_eq "$(readlink "$R/e")" target-a "e on the remote"
cd_unmount "$M"
