#!/usr/bin/env bash
# Inode numbers are distinct, kept across rename, and the same after a
# remount with the same cache dir.
. "$(dirname "$0")/../../lib.sh"

mkdir -p "$R/d/e"
echo a >"$R/a"
echo b >"$R/d/b"
echo c >"$R/d/e/c"
ln -s a "$R/l"

inodes() { (cd "$M" && find . -mindepth 1 -printf '%i %p\n' | sort -k2); }

cd_mount "$R" "$M"
echo new >"$M/created"
mkdir "$M/newdir"
step "distinct"
list=$(inodes)
echo "$list"
dups=$(awk '{ print $1 }' <<<"$list" | sort | uniq -d)
[ -z "$dups" ] || die "inode numbers used twice: $dups"

step "rename keeps the inode number"
ino=$(stat -c %i "$M/a")
mv "$M/a" "$M/d/a2"
assert_eq "$(stat -c %i "$M/d/a2")" "$ino" "inode after rename"
before=$(inodes)
cd_sync "$M"

step "remount: same numbers"
cd_unmount "$M"
cd_mount "$R" "$M"
assert_eq "$(inodes)" "$before" "inode numbers after remount"
