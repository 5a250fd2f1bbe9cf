#!/usr/bin/env bash
# A bucket of a real S3 server (Ceph RGW) as the remote: what is in it
# shows at once and a read fetches a range, not the object; keys that
# cannot be names are not shown (logged); writes, a multipart upload,
# mkdir, rename of a file and of a directory, chmod, touch and rm reach
# the bucket; a copy inside the mount is made by the server, a copy from
# outside is uploaded from its source; changes behind the drive's back
# show up.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
random_file "$T/big" $((8 * MiB))
echo hello >"$T/small"
s3_put dir/big "$T/big"
s3_put top.txt "$T/small"
s3_put 'odd//name' "$T/small"
s3_put 'twin' "$T/small"
s3_put 'twin/inner' "$T/small"

# multipart from 5 MiB up, in parts of 5 MiB (S3's smallest), and copies
# above 5 MiB in UploadPartCopy parts
CLONEDRIVE_S3_MULTIPART_MIN=5M CLONEDRIVE_S3_PART_SIZE=5M \
	CLONEDRIVE_S3_COPY_MAX=5M \
	cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"

step "the bucket shows at once; ls fetches nothing"
ls -la "$M" "$M/dir"
assert_eq "$(stat -c %s "$M/dir/big")" $((8 * MiB)) "size of dir/big"
assert_eq "$(cat "$M/top.txt")" hello "a small file"
assert_eq "$(stat_of "$M" fetched_bytes)" 6 "bytes fetched (top.txt only)"

step "keys that cannot be names are not shown, and are logged"
assert_eq "$(ls "$M/odd" | wc -l)" 0 "entries of odd/ (only odd//name)"
grep -q 'cannot be a file name' "$T/daemon.log" ||
	die "the skipped key is not logged"
test -d "$M/twin" || die "twin (a file and a directory) is not the directory"
grep -q 'has the name of a directory' "$T/daemon.log" ||
	die "the hidden file twin is not logged"

step "a read of 4 KiB fetches a range, not the object"
head -c 4096 "$M/dir/big" | cmp - <(head -c 4096 "$T/big")
assert_le "$(stat_of "$M" fetched_bytes)" $((2 * MiB + 6)) "bytes fetched"
cmp "$M/dir/big" "$T/big"

step "writes, multipart, mkdir, renames, chmod, touch, rm reach the bucket"
echo new >"$M/new.txt"
mkdir -p "$M/nd/sub" "$M/r1/deep"
mv "$M/top.txt" "$M/nd/top2.txt"
chmod 600 "$M/new.txt"
touch -d @1600000000 "$M/new.txt"
random_file "$T/w" $((12 * MiB + 12345))
pipe_copy "$T/w" "$M/nd/w.bin"
for i in 1 2 3; do echo "$i" >"$M/r1/f$i"; done
echo deep >"$M/r1/deep/x"
cd_sync "$M" 60
s3_get nd/w.bin "$T/w.back"
cmp "$T/w.back" "$T/w" || die "the multipart upload differs"
grep -q '^meta-mtime=1600000000' <<<"$(s3_head new.txt)" ||
	die "new.txt has no x-amz-meta-mtime of its touch: $(s3_head new.txt)"
grep -q '^meta-mode=33152$' <<<"$(s3_head new.txt)" ||
	die "new.txt has no x-amz-meta-mode of its chmod: $(s3_head new.txt)"
mv "$M/r1" "$M/r2"
rm "$M/nd/top2.txt"
rmdir "$M/nd/sub"
cd_sync "$M" 60
s3_ls >"$T/keys"
cat "$T/keys"
for k in dir/big new.txt nd/ nd/w.bin r2/ r2/f1 r2/f2 r2/f3 r2/deep/ \
	r2/deep/x; do
	grep -qxF "$k" "$T/keys" || die "key $k is not in the bucket"
done
for k in top.txt nd/top2.txt nd/sub/ r1/ r1/f1 r1/deep/x; do
	grep -qxF "$k" "$T/keys" && die "key $k is still in the bucket"
done
assert_eq "$(s3_get r2/deep/x -)" deep "a key moved with its directory"

step "a copy inside the mount is made by the server (in UploadPartCopy parts)"
fetched=$(stat_of "$M" fetched_bytes)
copies=$(stat_of "$M" server_copies)
cp "$M/nd/w.bin" "$M/copy.bin"
cd_sync "$M" 60
assert_eq "$(stat_of "$M" server_copies)" $((copies + 1)) "server copies"
assert_eq "$(stat_of "$M" fetched_bytes)" "$fetched" "bytes fetched by the copy"
s3_get copy.bin "$T/copy.back"
cmp "$T/copy.back" "$T/w" || die "the server copy differs"

step "a copy from outside is uploaded from its source"
random_file "$T/src" $((6 * MiB))
cp "$T/src" "$T/src.ref"
cp "$T/src" "$M/clone.bin"
cd_sync "$M" 60
s3_get clone.bin "$T/clone.back"
cmp "$T/clone.back" "$T/src.ref" || die "the copy from outside differs"

step "changes behind the drive's back show up"
s3_put later.txt "$T/small"
s3_rm dir/big
cd_refresh "$M"
wait_for 10 test -e "$M/later.txt"
wait_for 10 not test -e "$M/dir/big"
