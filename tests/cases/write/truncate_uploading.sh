#!/usr/bin/env bash
# A file truncated while its upload is in flight: the upload finds its
# source shorter than it began with, which is no error of the remote's; it
# is tried again, and the remote ends with the truncated file, nothing
# given up (the stress tester found the upload given up with ENODATA on
# S3), and never a version with zeros for the bytes cut off.
. "$(dirname "$0")/../../lib.sh"

MiB=$((1024 * 1024))
random_file "$T/src" $((8 * MiB))
# each 1 MiB piece of an upload takes 300 ms: the truncate lands inside
CLONEDRIVE_TEST_READ_DELAY_MS=300 cd_mount "$R" "$M" --upload-delay 0
pipe_copy "$T/src" "$M/f"
wait_for 10 sh -c "getfattr --only-values -n user.clonedrive.progress '$M/f' | grep -q uploading"
truncate -s 1000 "$M/f"
"$CD_BIN" sync "$M" >/dev/null || die "sync failed: $("$CD_BIN" sync "$M" 2>&1)"
assert_eq "$(stat -c %s "$R/f")" 1000 "the remote's size"
cmp "$R/f" <(head -c 1000 "$T/src") || die "the remote's bytes"
cd_unmount "$M"
