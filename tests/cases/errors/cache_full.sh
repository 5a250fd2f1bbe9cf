#!/usr/bin/env bash
# A full cache disk (cache dir on an 8 MiB tmpfs) gives ENOSPC to the writer;
# the daemon survives, files written before are intact, and once space is
# freed writing works again.
. "$(dirname "$0")/../../lib.sh"

need_root
mkdir "$T/small"
mount -t tmpfs -o size=8m tmpfs "$T/small"
cd_track_mount "$T/small"

cd_mount "$R" "$M" --cache-dir "$T/small/cache"
step "a file that fits"
random_file "$T/before" 1M
pipe_copy "$T/before" "$M/before"
cd_sync "$M"

step "16 MiB into an 8 MiB cache: ENOSPC"
assert_fails "No space left on device" \
	dd if=/dev/urandom of="$M/huge" bs=1M count=16 conv=fsync status=none

step "the daemon survives, earlier data is intact"
pid_alive "$(cd_pid)" || die "the daemon died"
assert_file_eq "$M/before" "$T/before"
assert_file_eq "$R/before" "$T/before"

step "free the space: writing works again"
rm -f "$M/huge"
echo after >"$M/after"
cd_sync "$M"
assert_eq "$(cat "$R/after")" after "remote content written after ENOSPC"
