#!/usr/bin/env bash
# A copy of a placeholder inside the mount by reads and writes (plain cp,
# cp -r, cp -a, shutil.copyfile/copytree: coreutils takes a placeholder
# for a sparse file and reads it, shutil uses sendfile) is uploaded as a
# copy made by the remote: no byte is uploaded, the copies end as
# placeholders with the right bytes, and their data leaves the cache. The
# reads themselves fetch the source (they must return its bytes). A copy
# whose bytes differ from its source's is uploaded as written. Over S3
# too when S3_GATEWAY_PORT is set (CopyObject).
. "$(dirname "$0")/../../lib.sh"
need_root

size=$((4 * 1024 * 1024 + 7))
mkdir -p "$R/tree/sub"
random_file "$R/a" $size
random_file "$R/tree/x" $((1024 * 1024))
random_file "$R/tree/sub/y" 5000
cd_mount "$R" "$M"

step "plain cp of a placeholder"
assert_eq "$(state_of "$M/a")" placeholder "the source before"
cp "$M/a" "$M/b"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 1 "remote copies"
assert_eq "$(stat_of "$M" uploaded_bytes)" 0 "bytes uploaded"
assert_file_eq "$R/b" "$R/a"
assert_eq "$(state_of "$M/b")" placeholder "the copy"
assert_eq "$(stat -c %b "$M/b")" 0 "blocks of the copy"

step "shutil.copyfile (sendfile) and shutil.copytree"
/usr/bin/python3 -c 'import shutil, sys
shutil.copyfile(sys.argv[1], sys.argv[2])
shutil.copytree(sys.argv[3], sys.argv[4])' "$M/a" "$M/c" "$M/tree" "$M/tree2"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 4 "remote copies"
assert_eq "$(stat_of "$M" uploaded_bytes)" 0 "bytes uploaded"
assert_file_eq "$R/c" "$R/a"
assert_file_eq "$R/tree2/x" "$R/tree/x"
assert_file_eq "$R/tree2/sub/y" "$R/tree/sub/y"

step "cp -r and cp -a"
cp -r "$M/tree" "$M/tree3"
cp -a "$M/tree" "$M/tree4"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 8 "remote copies"
assert_eq "$(stat_of "$M" uploaded_bytes)" 0 "bytes uploaded"
for t in tree3 tree4; do
	assert_file_eq "$R/$t/x" "$R/tree/x"
	assert_file_eq "$R/$t/sub/y" "$R/tree/sub/y"
	assert_eq "$(state_of "$M/$t/x")" placeholder "$t/x"
done
assert_eq "$(stat -c %Y "$R/tree4/x")" "$(stat -c %Y "$R/tree/x")" \
	"cp -a's mtime on the remote"

step "no second copy in the cache"
# the copies hold nothing; what the cache holds is the sources' bytes
# that the reads fetched
held=0
for f in b c tree2/x tree3/x tree4/x; do
	held=$((held + $(stat -c %b "$M/$f")))
done
assert_eq "$held" 0 "blocks of the copies"
assert_le "$(du -sk "$T/cache/data" | cut -f1)" \
	$(( (size + 1024 * 1024 + 5000) * 11 / 10 / 1024 + 1024 )) \
	"KiB of data in the cache"
assert_file_eq "$M/b" "$R/a"	# read back through the mount

step "a copy that differs from its source is uploaded as written"
/usr/bin/python3 - "$M/a" "$M/d" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as out:
    out.write(data[:1 << 20])
    out.write(b'x' * 4096)
    out.write(data[(1 << 20) + 4096:])
PY
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 8 "remote copies"
cmp "$R/d" "$R/a" >/dev/null && die "the changed copy has its source's bytes"
assert_file_eq "$R/d" "$M/d"
