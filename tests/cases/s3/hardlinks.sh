#!/usr/bin/env bash
# Hard links over a bucket: each name of a file is an object of its own,
# made by a server-side copy, and every upload through any name is copied
# to every other one; an unlink or a rename of one name keeps the others,
# here and in the bucket; a name of a file seen in a listing is neither a
# new file nor a change.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
echo first >"$T/small"
s3_put a "$T/small"
random_file "$T/big" $((6 * MiB))

# objects KEY... have the bytes of FILE (the last argument)
objects_are()
{
	local want=${*: -1} k
	for k in "${@:1:$#-1}"; do
		s3_get "$k" "$T/got" || die "no object $k"
		cmp "$T/got" "$want" >&2 || die "object $k differs from $want"
	done
}

# copies above 5 MiB go in UploadPartCopy parts
CLONEDRIVE_S3_MULTIPART_MIN=5M CLONEDRIVE_S3_PART_SIZE=5M \
	CLONEDRIVE_S3_COPY_MAX=5M \
	cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"

step "ln: one inode, two names, and two objects with its bytes"
ln "$M/a" "$M/b"
mkdir "$M/d"
ln "$M/a" "$M/d/c"
assert_eq "$(stat -c %h "$M/b")" 3 "nlink of b"
assert_eq "$(stat -c %i "$M/b")" "$(stat -c %i "$M/a")" "inode of b"
cd_sync "$M"
objects_are a b d/c "$T/small"

step "a write through one name reaches every object"
echo second >>"$M/d/c"
printf 'first\nsecond\n' >"$T/want"
assert_file_eq "$M/a" "$T/want"
cd_sync "$M"
objects_are a b d/c "$T/want"

step "a file written then linked, and a big one (copied in parts)"
pipe_copy "$T/big" "$M/big"
ln "$M/big" "$M/big2"
cd_sync "$M"
objects_are big big2 "$T/big"
printf 'tail' >>"$M/big2"
cp "$T/big" "$T/big.want"
printf 'tail' >>"$T/big.want"
cd_sync "$M"
objects_are big big2 "$T/big.want"

step "unlink and rename of one name keep the others"
rm "$M/a"
mv "$M/b" "$M/d/b2"
assert_eq "$(stat -c %h "$M/d/c")" 2 "nlink of d/c"
assert_file_eq "$M/d/b2" "$T/want"
cd_sync "$M"
s3_ls >"$T/keys"
cat "$T/keys"
grep -qxF a "$T/keys" && die "a is still in the bucket"
grep -qxF b "$T/keys" && die "b is still in the bucket"
objects_are d/b2 d/c "$T/want"

step "a write after the first name went: every object, no conflict"
echo third >>"$M/d/b2"
printf 'first\nsecond\nthird\n' >"$T/want"
cd_sync "$M"
objects_are d/b2 d/c "$T/want"
s3_ls | grep -q conflict && die "a conflict copy: $(s3_ls | grep conflict)"

step "polls take no name for a new file, and delete none"
cd_refresh "$M"
sleep 2
cd_refresh "$M"
assert_eq "$(stat -c %h "$M/d/c")" 2 "nlink of d/c after polls"
assert_eq "$(ls "$M/d" | tr '\n' ' ')" "b2 c " "names in d after polls"
assert_file_eq "$M/d/c" "$T/want"
if grep -q 'giving up' "$T/daemon.log"; then
	die "an op was given up: $(grep 'giving up' "$T/daemon.log" | head -n 2)"
fi
cd_unmount "$M"
