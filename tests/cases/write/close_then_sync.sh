#!/usr/bin/env bash
# A sync right after close(): the kernel sends the release that queues the
# file's upload just after close() returns, and sync waits for it, so every
# file closed before the sync is on the remote when it returns (s3/basic
# found the upload missing now and then).
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 0
for i in $(seq 1 40); do
	printf 'file %s\n' "$i" >"$M/f$i"
	chmod 600 "$M/f$i"
	"$CD_BIN" sync "$M" >/dev/null
	assert_eq "$(cat "$R/f$i" 2>&1)" "file $i" "f$i on the remote after sync"
	assert_eq "$(stat -c %a "$R/f$i")" 600 "f$i's mode on the remote"
done
cd_unmount "$M"
