#!/usr/bin/env bash
# S3 under stress: a multipart upload killed mid-way (SIGKILL) never shows
# as a partial object; its parts stay on the server, and after a remount
# the upload goes on from them, sending again only the parts whose bytes
# changed meanwhile, and the object ends byte-identical with no upload
# left behind (one aborted on the server meanwhile starts over). An object changed on the server while it is being
# hydrated reads as the old or the new version whole, or fails with EIO,
# never a mix, and then as the new one (reads are pinned to the ETag with
# If-Match).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
export CLONEDRIVE_S3_MULTIPART_MIN=5M CLONEDRIVE_S3_PART_SIZE=5M
# 100 ms after each part (the test hook): the upload of 40 parts takes 4 s
# at least, so it is still running when the listing has seen 8
CLONEDRIVE_TEST_READ_DELAY_MS=100 cd_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_ENDPOINT" --upload-delay 0

step "write 200 MiB; kill -9 once 8 of its 40 parts are on the server"
random_file "$T/src" $((200 * MiB))
pipe_copy "$T/src" "$M/big"
wait_for 120 s3_has_parts big 8
cd_kill9
if s3_get big "$T/partial" 2>/dev/null; then
	die "an object shows before the upload was complete"
fi
sent=$(s3_parts big)
[ "$sent" -ge 8 ] || die "the parts sent are gone from the server"
echo "parts on the server after the kill: $sent"

step "change the first part while the server is away, remount"
s3_gateway stop
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--upload-delay 0
printf 'changed after the kill' | dd of="$T/src" conv=notrunc status=none
printf 'changed after the kill' | dd of="$M/big" conv=notrunc status=none
s3_gateway start

step "the upload goes on from the parts sent, the changed one sent again"
cd_sync "$M" 120
s3_get big "$T/back"
cmp "$T/back" "$T/src" || die "the object differs after the resumed upload"
grep -E "big: going on with its upload: [0-9]+ of 40 parts sent, [0-9]+ of them unchanged" \
	"$T/daemon.log" >"$T/resumed" || die "the upload did not go on from its parts"
cat "$T/resumed"
read -r had kept < <(sed -E 's/.* ([0-9]+) of 40 parts sent, ([0-9]+) of.*/\1 \2/' "$T/resumed" | tail -n1)
# parts in flight at the kill can be on the server without their answer
[ "$had" -ge $((sent - 4)) ] || die "$had parts taken up, $sent were on the server"
assert_eq "$kept" $((had - 1)) "parts kept (all but the changed first one)"
assert_eq "$(s3_uploads)" "" "uploads left on the server"
rm -f "$T/back" "$T/partial"

step "an upload aborted on the server after a kill starts over"
cd_unmount "$M"
CLONEDRIVE_TEST_READ_DELAY_MS=100 cd_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_ENDPOINT" --upload-delay 0
random_file "$T/src2" $((60 * MiB))
pipe_copy "$T/src2" "$M/big2"
wait_for 120 s3_has_parts big2 3
cd_kill9
s3_abort
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--upload-delay 0
cd_sync "$M" 120
s3_get big2 "$T/back"
cmp "$T/back" "$T/src2" || die "big2 differs after its upload started over"
grep -q "big2: the server no longer has the upload" "$T/daemon.log" ||
	die "the upload aborted on the server was not seen as such"
assert_eq "$(s3_uploads)" "" "uploads left on the server"
rm -f "$T/back"

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
