#!/usr/bin/env bash
# Hard links: one inode under several names, st_nlink counting them, a
# write through one name seen through all; an unlink or a rename of one
# name (or over one) keeps the others; the names survive a remount; on the
# local remote the names become hard links of one file, with each upload's
# bytes.
. "$(dirname "$0")/../../lib.sh"

mkdir -p "$R/d"
echo first >"$R/a"

# nlink NAME...: "name nlink inode" lines
nlink() { stat -c '%n %h %i' "$@"; }
same_ino() { [ "$(stat -c %i "$1")" = "$(stat -c %i "$2")" ]; }

cd_mount "$R" "$M"

step "ln gives the file a second name: one inode, two links"
ln "$M/a" "$M/b"
ln "$M/a" "$M/d/c"
nlink "$M/a" "$M/b" "$M/d/c"
for f in a b d/c; do
	assert_eq "$(stat -c %h "$M/$f")" 3 "nlink of $f"
done
same_ino "$M/a" "$M/b" || die "a and b have two inodes"
same_ino "$M/a" "$M/d/c" || die "a and d/c have two inodes"
ls "$M" | grep -qx b || die "b is not listed"
ls "$M/d" | grep -qx c || die "d/c is not listed"
assert_eq "$(find "$M" -samefile "$M/a" | wc -l)" 3 "names found by find"
assert_fails "File exists" ln "$M/a" "$M/d/c"

step "a write through one name is seen through the others"
echo second >>"$M/b"
printf 'first\nsecond\n' >"$T/want"
assert_file_eq "$M/a" "$T/want"
assert_file_eq "$M/d/c" "$T/want"
cd_sync "$M"

step "on the remote: the names are hard links of one file, with its bytes"
for f in a b d/c; do
	assert_file_eq "$R/$f" "$T/want"
done
same_ino "$R/a" "$R/b" || die "on the remote a and b are two files"
same_ino "$R/a" "$R/d/c" || die "on the remote a and d/c are two files"

step "unlinking the first name keeps the others, data and all"
ino=$(stat -c %i "$M/b")
rm "$M/a"
test ! -e "$M/a" || die "a is still there"
assert_eq "$(stat -c %h "$M/b")" 2 "nlink of b after rm a"
assert_eq "$(stat -c %i "$M/b")" "$ino" "inode of b after rm a"
assert_file_eq "$M/b" "$T/want"
cd_sync "$M"
assert_file_eq "$M/b" "$T/want"
assert_file_eq "$M/d/c" "$T/want"
test ! -e "$R/a" || die "a is still on the remote"
assert_file_eq "$R/b" "$T/want"

step "a rename of a linked name moves that name alone"
mv "$M/d/c" "$M/d/c2"
assert_eq "$(stat -c %h "$M/d/c2")" 2 "nlink of d/c2"
assert_eq "$(stat -c %i "$M/d/c2")" "$ino" "inode of d/c2"
test ! -e "$M/d/c" || die "d/c is still there"
assert_file_eq "$M/b" "$T/want"

step "a rename over a linked name removes that name alone"
echo other >"$M/o"
mv "$M/o" "$M/d/c2"
assert_eq "$(cat "$M/d/c2")" other "d/c2 after the rename over it"
assert_eq "$(stat -c %h "$M/b")" 1 "nlink of b after d/c2 went"
assert_eq "$(stat -c %h "$M/d/c2")" 1 "nlink of the new d/c2"
assert_file_eq "$M/b" "$T/want"

step "a file open through a name that goes keeps its data"
ln "$M/b" "$M/e"
exec {fd}<"$M/b"
rm "$M/b"
assert_eq "$(cat <&$fd)" "$(cat "$T/want")" "read through the open handle"
exec {fd}<&-
assert_file_eq "$M/e" "$T/want"
assert_eq "$(stat -c %h "$M/e")" 1 "nlink of e"

step "a rename onto another name of the same file changes nothing"
ln "$M/e" "$M/f"
# (mv refuses to; rename(2) does nothing and succeeds, as POSIX says)
python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' \
	"$M/e" "$M/f"
test -e "$M/e" && test -e "$M/f" || die "a name went"
assert_eq "$(stat -c %h "$M/f")" 2 "nlink of f"
cd_sync "$M"
same_ino "$R/e" "$R/f" || die "on the remote e and f are two files"
for f in a b d/c; do
	test ! -e "$R/$f" || die "$f is still on the remote"
done
assert_eq "$(cat "$R/d/c2")" other "d/c2 on the remote"

step "the names and their count survive a remount"
ino=$(stat -c %i "$M/e")
cd_unmount "$M"
cd_mount "$R" "$M"
nlink "$M/e" "$M/f"
assert_eq "$(stat -c %h "$M/e")" 2 "nlink of e after remount"
assert_eq "$(stat -c %i "$M/f")" "$ino" "inode of f after remount"
same_ino "$M/e" "$M/f" || die "e and f have two inodes after remount"
assert_eq "$(ls "$M" | grep -cx '[ef]')" 2 "e and f listed after remount"

step "a write after the remount reaches every name on the remote"
echo third >>"$M/f"
printf 'first\nsecond\nthird\n' >"$T/want"
assert_file_eq "$M/e" "$T/want"
cd_sync "$M"
assert_file_eq "$R/e" "$T/want"
assert_file_eq "$R/f" "$T/want"
same_ino "$R/e" "$R/f" || die "on the remote e and f are two files"

step "a poll takes neither name for a new or a deleted file"
cd_refresh "$M"
sleep 2
cd_refresh "$M"
assert_eq "$(stat -c %h "$M/e")" 2 "nlink of e after polls"
assert_eq "$(ls "$M" | grep -cx '[ef]')" 2 "e and f listed after polls"
cd_unmount "$M"
