#!/usr/bin/env bash
# Two names of one file on the local remote are two hard links there. A
# rename of one over the other does nothing in rename(2), so when the
# drive renamed an extra name over a name the remote still had as the
# same file (here the one a new file, not uploaded yet, took just
# before), the source stayed on the remote and the next poll brought it
# back into the mount. (Found by the stress tester.)
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 0

step "one file, three names, on the remote"
echo one >"$M/c"
ln "$M/c" "$M/u"
ln "$M/c" "$M/a"
cd_sync "$M"
assert_eq "$(stat -c %h "$R/a")" 3 "nlink of a on the remote"

step "a new file renamed over c, then a over c"
# open across the renames: its upload is queued at the close, after them
exec {fd}>"$M/o"
echo other >&$fd
mv "$M/o" "$M/c"
mv "$M/a" "$M/c"
exec {fd}>&-
cd_sync "$M"
cd_refresh "$M"

assert_eq "$(ls "$M" | tr '\n' ' ')" "c u " "the mount's names"
assert_eq "$(ls "$R" | tr '\n' ' ')" "c u " "the remote's names"
assert_eq "$(cat "$R/c")" one "c on the remote"
assert_eq "$(stat -c %i "$R/c")" "$(stat -c %i "$R/u")" "c and u one file"
assert_eq "$(stat -c %h "$M/c")" 2 "nlink of c"
cd_unmount "$M"
