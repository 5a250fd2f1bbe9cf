#!/usr/bin/env bash
# Changes made directly in the remote show in the mount within a few seconds
# (--poll-interval 1s): new files and directories, deletions, and changed
# content, which is read fresh even when the old content was cached.
. "$(dirname "$0")/../../lib.sh"

mkdir "$R/d"
echo v1 >"$R/changed"
echo aaaa >"$R/samesize"
echo doomed >"$R/deleted"
cd_mount "$R" "$M"
ls -l "$M" "$M/d" >/dev/null
assert_eq "$(cat "$M/changed")" v1 "changed before"	# cached now
assert_eq "$(cat "$M/samesize")" aaaa "samesize before"
[ ! -e "$M/new" ] || die "new exists before it was created"	# negative dentry

step "new file"
echo new >"$R/new"
wait_for 10 test -e "$M/new"
assert_eq "$(cat "$M/new")" new "content of a new remote file"

step "new file in a known subdirectory, new directory tree"
echo deep >"$R/d/deep"
mkdir -p "$R/tree/x"
echo y >"$R/tree/x/y"
wait_for 10 test -e "$M/d/deep"
wait_for 10 test -e "$M/tree/x/y"
assert_eq "$(cat "$M/tree/x/y")" y "content in a new directory"

step "deleted file"
rm "$R/deleted"
wait_for 10 not test -e "$M/deleted"

step "changed content, new size"
echo "version two, longer" >"$R/changed"
wait_for 10 cmp -s "$M/changed" "$R/changed"
assert_eq "$(stat -c %s "$M/changed")" "$(stat -c %s "$R/changed")" "size"

step "changed content, same size"
echo bbbb >"$R/samesize"
wait_for 10 cmp -s "$M/samesize" "$R/samesize"
