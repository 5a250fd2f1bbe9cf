#!/usr/bin/env bash
# Another client writes a key the drive is about to write: the drive's
# writes are conditional (If-Match with the ETag it last saw, If-None-Match
# for a new key), so the other client's object is never overwritten. The
# local version goes up as "NAME (conflict DATE TIME).EXT" beside it, in
# a single PUT and in a multipart upload (which RGW does not check
# itself: the drive asks first), and for an editor's save (a rename over
# the file, checked with a HEAD before it).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
echo v1 >"$T/v1"
s3_put doc.txt "$T/v1"
random_file "$T/big.v1" $((3 * MiB))
s3_put big.bin "$T/big.v1"
# no poll during the test: the other client's writes are met by uploads;
# multipart from 5 MiB (in parts of RGW's least size)
CLONEDRIVE_S3_MULTIPART_MIN=5M CLONEDRIVE_S3_PART_SIZE=5M \
	cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--poll-interval 1h
assert_eq "$(cat "$M/doc.txt")" v1 "first read"
cmp "$M/big.bin" "$T/big.v1" || die "big.bin first read"

# the conflict copy of KEY.EXT in the bucket (dies unless just one)
conflict_key()
{
	local keys
	keys=$(s3_ls | grep -E "^$1 \(conflict [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{6}\)$2\$") ||
		die "no conflict copy of $1$2 in the bucket: $(s3_ls | tr '\n' ' ')"
	[ "$(wc -l <<<"$keys")" = 1 ] || die "several conflict copies of $1$2: $keys"
	printf '%s\n' "$keys"
}

step "a single PUT over another client's change"
echo theirs >"$T/theirs"
s3_put doc.txt "$T/theirs"
echo mine >"$M/doc.txt"
cd_sync "$M" 60
assert_eq "$(s3_get doc.txt -)" theirs "the other client's object is kept"
k=$(conflict_key doc .txt)
assert_eq "$(s3_get "$k" -)" mine "the local version under the conflict name"
assert_eq "$(cat "$M/doc.txt")" theirs "the mount shows the other client's"
assert_eq "$(cat "$M/$k")" mine "and the local one beside it"

step "a new key both here and there"
s3_put fresh.txt "$T/theirs"
echo mine >"$M/fresh.txt"
cd_sync "$M" 60
assert_eq "$(s3_get fresh.txt -)" theirs "the other client's new object"
assert_eq "$(s3_get "$(conflict_key fresh .txt)" -)" mine "the local new file"

step "a multipart upload over another client's change"
random_file "$T/big.theirs" $((3 * MiB))
random_file "$T/big.mine" $((6 * MiB))
s3_put big.bin "$T/big.theirs"
cp "$T/big.mine" "$M/big.bin"
cd_sync "$M" 120
s3_get big.bin "$T/got"
cmp "$T/got" "$T/big.theirs" || die "the other client's big.bin was overwritten"
s3_get "$(conflict_key big .bin)" "$T/got"
cmp "$T/got" "$T/big.mine" || die "the local big.bin under the conflict name differs"
cmp "$M/big.bin" "$T/big.theirs" || die "the mount's big.bin is not the other client's"

step "an editor's save (a rename over the file) over another client's change"
echo v1 >"$T/v1"
s3_put notes.md "$T/v1"
cd_refresh "$M"
wait_for 10 test -e "$M/notes.md"
assert_eq "$(cat "$M/notes.md")" v1 "notes.md first read"
s3_put notes.md "$T/theirs"
echo mine >"$M/.notes.md.tmp"
mv "$M/.notes.md.tmp" "$M/notes.md"
cd_sync "$M" 60
assert_eq "$(s3_get notes.md -)" theirs "the other client's notes.md is kept"
assert_eq "$(s3_get "$(conflict_key notes .md)" -)" mine "the saved one beside it"
assert_eq "$(cat "$M/notes.md")" theirs "the mount shows the other client's"

step "no conflict without another writer"
echo "mine again" >"$M/doc.txt"
random_file "$T/big.again" $((7 * MiB))
cp "$T/big.again" "$M/big.bin"
cd_sync "$M" 120
assert_eq "$(s3_get doc.txt -)" "mine again" "a file written twice here"
s3_get big.bin "$T/got"
cmp "$T/got" "$T/big.again" || die "big.bin written here after the conflict"
# a chmod and a rename (copies on the server) between two writes
echo "third" >"$M/doc.txt"
chmod 600 "$M/doc.txt"
mv "$M/doc.txt" "$M/doc2.txt"
echo "fourth" >>"$M/doc2.txt"
chmod 640 "$M/big.bin"
mv "$M/big.bin" "$M/big2.bin"
printf 'x' | dd of="$M/big2.bin" conv=notrunc status=none
printf 'x' | dd of="$T/big.again" conv=notrunc status=none
cd_sync "$M" 120
assert_eq "$(s3_get doc2.txt -)" "$(printf 'third\nfourth')" "written, chmod, renamed, written"
s3_get big2.bin "$T/got"
cmp "$T/got" "$T/big.again" || die "big2.bin after a chmod, a rename and a write"
assert_eq "$(stat_of "$M" conflicts)" 4 "conflicts counted"
assert_eq "$(s3_ls | grep -c conflict)" 4 "conflict copies in the bucket"
cd_unmount "$M"
