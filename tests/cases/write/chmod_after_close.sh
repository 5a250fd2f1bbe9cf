#!/usr/bin/env bash
# A chmod right after the close that queued a file's upload (the upload
# still queued or in flight) leaves the remote with the mount's mtime and
# mode: a mode-only setattr keeps the time the data was written.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --poll-interval 1h --upload-delay 0
for i in 1 2 3 4 5 6 7 8; do
	python3 -c "
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b'x' * 5000)
os.close(fd)
os.chmod(p, 0o600)" "$M/f$i"
done
"$CD_BIN" sync "$M" >/dev/null || die "clonedrive sync failed"
for i in 1 2 3 4 5 6 7 8; do
	assert_eq "$(stat -c '%y %a %s' "$R/f$i")" \
		"$(stat -c '%y %a %s' "$M/f$i")" "f$i: remote and mount"
done
cd_unmount "$M"
cd_mount "$R" "$M" --poll-interval 1h
for i in 1 2 3 4 5 6 7 8; do
	assert_eq "$(stat -c '%y %a %s' "$M/f$i")" \
		"$(stat -c '%y %a %s' "$R/f$i")" "f$i: after a remount"
done
