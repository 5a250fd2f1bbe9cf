#!/usr/bin/env bash
# A copy of a placeholder inside the mount by reads and writes (plain cp,
# cp -r, cp -a, shutil.copyfile/copytree: coreutils 9.1 takes a
# placeholder for a sparse file and reads it, shutil uses sendfile) is
# uploaded as a copy made by the remote: no byte is uploaded, the copies
# end as placeholders with the right bytes, and the sources are
# placeholders again once closed: the cache keeps neither. The reads
# themselves fetch the source (they must return its bytes). A source that
# held data keeps it. A copy whose bytes differ from its source's is
# uploaded as written.
. "$(dirname "$0")/../../lib.sh"
need_root

size=$((4 * 1024 * 1024 + 7))
tree=$((1024 * 1024 + 5000))
random_file "$R/a" $size
random_file "$R/a2" $size
random_file "$R/held" $size
for t in t1 t2 t3; do
	mkdir -p "$R/$t/sub"
	random_file "$R/$t/x" $((1024 * 1024))
	random_file "$R/$t/sub/y" 5000
done
cd_mount "$R" "$M"

# sources: placeholders again once their copier closed them
placeholders()
{
	local f held=0
	for f in "$@"; do
		wait_for 10 state_is "$M/$f" placeholder
		held=$((held + $(stat -c %b "$M/$f")))
	done
	assert_eq "$held" 0 "blocks of $*"
}

step "plain cp of a placeholder"
assert_eq "$(state_of "$M/a")" placeholder "the source before"
cp "$M/a" "$M/b"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 1 "remote copies"
assert_eq "$(stat_of "$M" uploaded_bytes)" 0 "bytes uploaded"
assert_eq "$(stat_of "$M" fetched_bytes)" $size "bytes fetched (cp read it)"
assert_file_eq "$R/b" "$R/a"
placeholders a b

step "shutil.copyfile (sendfile) and shutil.copytree"
/usr/bin/python3 -c 'import shutil, sys
shutil.copyfile(sys.argv[1], sys.argv[2])
shutil.copytree(sys.argv[3], sys.argv[4])' "$M/a2" "$M/c" "$M/t1" "$M/t1c"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 4 "remote copies"
assert_eq "$(stat_of "$M" uploaded_bytes)" 0 "bytes uploaded"
assert_file_eq "$R/c" "$R/a2"
assert_file_eq "$R/t1c/x" "$R/t1/x"
assert_file_eq "$R/t1c/sub/y" "$R/t1/sub/y"
placeholders a2 c t1/x t1/sub/y t1c/x t1c/sub/y

step "cp -r and cp -a"
cp -r "$M/t2" "$M/t2c"
cp -a "$M/t3" "$M/t3c"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" 8 "remote copies"
assert_eq "$(stat_of "$M" uploaded_bytes)" 0 "bytes uploaded"
assert_eq "$(stat_of "$M" fetched_bytes)" $((2 * size + 3 * tree)) \
	"bytes fetched (each source read once)"
for t in t2 t3; do
	assert_file_eq "$R/${t}c/x" "$R/$t/x"
	assert_file_eq "$R/${t}c/sub/y" "$R/$t/sub/y"
	placeholders $t/x $t/sub/y ${t}c/x ${t}c/sub/y
done
assert_eq "$(stat -c %Y "$R/t3c/x")" "$(stat -c %Y "$R/t3/x")" \
	"cp -a's mtime on the remote"
assert_eq "$(find "$T/cache/data" -type f -printf '%b\n' |
	awk '{ n += $1 } END { print n + 0 }')" 0 "blocks of the cache files"

step "a source that held data keeps it"
"$CD_BIN" hydrate "$M/held" >/dev/null
before=$(stat_of "$M" server_copies)
/usr/bin/python3 -c 'import shutil, sys
shutil.copyfile(sys.argv[1], sys.argv[2])' "$M/held" "$M/held2"
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" $((before + 1)) "remote copies"
assert_eq "$(state_of "$M/held")" hydrated "the source"
assert_file_eq "$R/held2" "$R/held"

step "the copies read back right through the mount"
assert_file_eq "$M/b" "$R/a"
assert_file_eq "$M/c" "$R/a2"

step "a copy that differs from its source is uploaded as written"
before=$(stat_of "$M" server_copies)
/usr/bin/python3 - "$M/a" "$M/d" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as out:
    out.write(data[:1 << 20])
    out.write(b'x' * 4096)
    out.write(data[(1 << 20) + 4096:])
PY
cd_sync "$M"
assert_eq "$(stat_of "$M" server_copies)" "$before" "remote copies"
cmp "$R/d" "$R/a" >/dev/null && die "the changed copy has its source's bytes"
assert_file_eq "$R/d" "$M/d"
