#!/usr/bin/env bash
# A poll lists the remote one directory after another. A rename journaled
# while a poll was under way, and not yet done on the remote, was undone
# by the listing of a directory that came after it: the file moved away
# came back under its old name, and the file moved over another took that
# one's size and bytes from the remote (a read returned the old file's
# length). The poll's listings count as stale from the first op
# journaled after the poll began. (Found by the stress tester, seed
# 3725554540.)
. "$(dirname "$0")/../../lib.sh"

# the pauses of polls before listing b
pauses() { grep -c "test: pause at poll-list (b)" "$T/daemon.log" || true; }
paused_since() { test "$(pauses)" -gt "$1"; }

# every listing of a poll waits 1 s first; uploads wait 10 s, so that the
# rename queued behind one stays in the journal while the poll lists
CLONEDRIVE_TEST_PAUSE_AT=poll-list:1000 cd_mount "$R" "$M" --upload-delay 10s

step "b/d0 and u, on the remote"
mkdir "$M/b"
echo old >"$M/b/d0"
echo "the new one, longer" >"$M/u"
cd_sync "$M"
test -f "$R/u" || die "u is not on the remote"

step "a rename while a poll lists, queued behind an upload"
n=$(pauses)
wait_for 20 paused_since "$n"	# a poll has listed the root, the journal
				# empty, and is about to list b
echo x >"$M/n"			# its upload waits 10 s
mv "$M/u" "$M/b/d0"
sleep 2				# b listed, and what the listing said applied
assert_eq "$(ls "$M" | tr '\n' ' ')" "b n " "the mount's names after the poll"
assert_eq "$(stat -c %s "$M/b/d0")" 20 "size of b/d0 after the poll"
assert_eq "$(cat "$M/b/d0")" "the new one, longer" "b/d0 after the poll"

step "after a sync, the same on the remote"
cd_sync "$M"
assert_eq "$(ls "$R" | tr '\n' ' ')" "b n " "the remote's names"
assert_eq "$(cat "$R/b/d0")" "the new one, longer" "b/d0 on the remote"
cd_unmount "$M"
