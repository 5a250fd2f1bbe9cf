#!/usr/bin/env bash
# A file's upload queued, then a utimens (its setattr op queued behind the
# upload), then a write while another handle holds the file open for
# writing, and the daemon killed before that handle's close queues the
# upload that comes after the setattr. After the restart the file must
# get an upload behind its setattr: the queued one sends the data as it
# is now, with the write's mtime, and the setattr after it would put the
# older utimens date back on the remote, and the poll that follows on
# the mount.
. "$(dirname "$0")/../../lib.sh"
need_root

# the upload queued at the first close waits, and the ops behind it
cd_mount "$R" "$M" --upload-delay 1h
printf 'first version\n' >"$M/f"	# its upload queued, an hour away
exec 3<>"$M/f"				# a writer that is never closed
touch -m -d @1000000000 "$M/f"		# a setattr op behind the upload
sleep 0.05				# the write's mtime a tick later
printf 'second, longer version\n' >"$M/f"	# its close queues nothing
want=$(stat -c %.9Y "$M/f")
[ "${want%.*}" -gt 1000000000 ] || die "the write did not move the mtime"

step "the daemon dies with the writer open"
cd_kill9
exec 3>&-
cd_drop_dead "$M"

step "mounted again, the file keeps its data and the write's mtime"
cd_mount "$R" "$M" --upload-delay 0
assert_eq "$(cat "$M/f")" "second, longer version" "the mount"
assert_eq "$(stat -c %.9Y "$M/f")" "$want" "the mount's mtime"
cd_sync "$M"
assert_eq "$(cat "$R/f")" "second, longer version" "the remote"
assert_eq "$(stat -c %.9Y "$R/f")" "$want" "the remote's mtime"
assert_eq "$(stat -c %.9Y "$M/f")" "$want" "the mount's mtime after the sync"
assert_eq "$(ls "$R")" f "the remote's names"
cd_unmount "$M"
