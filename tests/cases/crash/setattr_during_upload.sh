#!/usr/bin/env bash
# A setattr of a file no one had open wrote the new times into the
# file's row only. An upload of the file that loaded it meanwhile held
# the row's old times, and wrote them back when it was done: the mount
# showed the old mtime after a restart, while the journal gave the
# remote the new one, which the next poll brought back. (Found by the
# stress tester, seed 308570648: a utimensat answered, a kill, the old
# mtime, then the new.)
. "$(dirname "$0")/../../lib.sh"

paused() { grep -q "test: pause at setattr-row" "$T/daemon.log"; }

# every setattr holds 3 s before it writes the row; the upload starts
# 3 s after the close, in that pause, and holds 3 s with the file in
# hand (no poll: it would take the remote's mtime back in before the
# check)
CLONEDRIVE_TEST_PAUSE_AT=setattr-row:3000,upload-loaded:3000 \
	cd_mount "$R" "$M" --upload-delay 3s --poll-interval 1h --clone off

step "a file written and closed; a utimensat while its upload starts"
echo data >"$M/f"
sleep 1.5	# its node saved and let go
# by path (touch opens the file, which loads it)
python3 -c 'import os, sys; os.utime(sys.argv[1], (1e9, 1e9))' "$M/f"
paused || die "the setattr did not pause"
cd_sync "$M"
assert_eq "$(stat -c %Y "$R/f")" 1000000000 "mtime on the remote"
cd_unmount "$M"

step "mounted again, no poll: the row has the new mtime"
cd_mount "$R" "$M" --poll-interval 1h
assert_eq "$(stat -c %Y "$M/f")" 1000000000 "mtime in the mount"
cd_unmount "$M"
