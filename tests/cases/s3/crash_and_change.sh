#!/usr/bin/env bash
# S3 under stress: a multipart upload killed mid-way (SIGKILL) never shows
# as a partial object, and after a remount the upload runs again and the
# object ends byte-identical; an object changed on the server while it is
# being hydrated reads as the old or the new version whole, or fails with
# EIO, never a mix, and then as the new one (reads are pinned to the ETag
# with If-Match).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
export CLONEDRIVE_S3_MULTIPART_MIN=5M CLONEDRIVE_S3_PART_SIZE=5M
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--upload-delay 0

step "write 200 MiB; kill -9 once its upload runs"
random_file "$T/src" $((200 * MiB))
pipe_copy "$T/src" "$M/big"
deadline=$((SECONDS + 60))
killed=0
while :; do
	s=$(state_of "$M/big")
	case $s in
	uploading) cd_kill9; killed=1; break ;;
	dirty) ;;
	hydrated|placeholder) break ;;
	*) die "state $s before the upload was seen running" ;;
	esac
	[ $SECONDS -lt $deadline ] || die "upload not started within 60s"
done
if s3_get big "$T/partial" 2>/dev/null; then
	cmp "$T/partial" "$T/src" || die "the bucket holds a partial object"
	echo "note: the upload had completed before the kill"
fi
[ $killed = 1 ] || echo "note: the upload finished before it could be killed"

step "remount: the upload runs again"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--upload-delay 0
cmp "$M/big" "$T/src" || die "the file reads wrong after the remount"
cd_sync "$M" 120
s3_get big "$T/back"
cmp "$T/back" "$T/src" || die "the object differs after the resumed upload"
rm -f "$T/back" "$T/partial"

step "an object changed on the server mid-hydration"
random_file "$T/old" $((8 * MiB))
random_file "$T/new" $((8 * MiB))
s3_put f "$T/old"
cd_refresh "$M"
wait_for 10 test -e "$M/f"
head -c $((1 * MiB)) "$M/f" | cmp - <(head -c $((1 * MiB)) "$T/old")
s3_put f "$T/new"
if cat "$M/f" >"$T/read" 2>"$T/read.err"; then
	cmp -s "$T/read" "$T/new" || cmp -s "$T/read" "$T/old" ||
		die "a read mixed the two versions"
else
	# the read that finds the version gone fails: EIO, never a mix
	grep -q 'Input/output error' "$T/read.err" ||
		die "a read of a changed object failed otherwise: $(cat "$T/read.err")"
fi
same_as_new() { cmp -s "$M/f" "$T/new"; }
cd_refresh "$M"
wait_for 20 same_as_new
