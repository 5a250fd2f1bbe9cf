#!/usr/bin/env bash
# Over S3: a copy of a placeholder inside the mount by reads and writes
# (plain cp, shutil.copyfile) is uploaded as a CopyObject of the source's
# version: nothing uploaded, the copies placeholders with the source's
# bytes, the source a placeholder again, and a copy changed after it was
# written is uploaded as written.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

size=$((6 * 1024 * 1024 + 3))
random_file "$T/a" $size
s3_put a "$T/a"
s3_put a2 "$T/a"	# a source of its own for each copier
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"

step "plain cp and shutil.copyfile of a placeholder"
assert_eq "$(state_of "$M/a")" placeholder "the source before"
cp "$M/a" "$M/b"
/usr/bin/python3 -c 'import shutil, sys
shutil.copyfile(sys.argv[1], sys.argv[2])' "$M/a2" "$M/c"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 2 "copies made by the server"
assert_eq "$(stat_of "$M" uploaded_bytes)" 0 "bytes uploaded"
for f in b c; do
	assert_eq "$(state_of "$M/$f")" placeholder "$f"
	s3_get "$f" "$T/got"
	assert_file_eq "$T/got" "$T/a"
done
# each copy read its source, which is a placeholder again after it
assert_eq "$(stat_of "$M" fetched_bytes)" $((2 * size)) "bytes fetched"
wait_for 10 state_is "$M/a" placeholder
wait_for 10 state_is "$M/a2" placeholder

step "a copy that differs is uploaded as written"
cp "$M/a" "$M/d"
printf 'changed' | dd of="$M/d" bs=1 seek=1000 conv=notrunc status=none
cd_sync "$M"
s3_get d "$T/got"
cmp "$T/got" "$T/a" >/dev/null && die "d has its source's bytes"
assert_file_eq "$T/got" "$M/d"
