#!/usr/bin/env bash
# On S3: a file truncated while its upload is in flight. The upload finds
# its source shorter than it began with (the body's read ends early), which
# is no error of the remote's: it is tried again, and the bucket ends with
# the truncated file, nothing given up (it was given up with ENODATA).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
random_file "$T/src" $((8 * MiB))
head -c 1000 "$T/src" >"$T/cut"
# each piece of an upload takes 300 ms: the truncate lands inside
CLONEDRIVE_TEST_READ_DELAY_MS=300 cd_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_ENDPOINT" --upload-delay 0
pipe_copy "$T/src" "$M/f"
wait_for 10 sh -c "getfattr --only-values -n user.clonedrive.progress '$M/f' | grep -q uploading"
truncate -s 1000 "$M/f"
"$CD_BIN" sync "$M" >"$T/sync.out" 2>&1 || die "sync failed: $(cat "$T/sync.out")"
s3_get f "$T/back"
cmp "$T/back" "$T/cut" || die "the bucket's f is not the truncated file"
cd_unmount "$M"
