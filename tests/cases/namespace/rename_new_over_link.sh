#!/usr/bin/env bash
# A new file, not uploaded yet, renamed over an extra name of another file
# (a hard link): the rename finds no source on the remote, and the file's
# upload, queued after it, then finds the link's object at its name. That object is the
# drive's own copy of the other file, so the upload replaces it: no
# conflict copy, the name gets the new bytes and the linked file keeps
# its own. (Found by the stress tester: the name kept the linked file's
# bytes and the new file became a conflict copy.)
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 2s

step "a file with two names, on the remote"
echo linked >"$M/a"
ln "$M/a" "$M/b"
cd_sync "$M"
assert_eq "$(stat -c %i "$R/a")" "$(stat -c %i "$R/b")" "b a hard link on the remote"

step "a new file renamed over the extra name before its upload"
# open across the rename: the upload is queued at the close, after the
# rename (as a release the kernel sends after close(2) returned may be)
exec {fd}>"$M/n"
echo new >&$fd
mv "$M/n" "$M/b"
exec {fd}>&-
cd_sync "$M"

assert_eq "$(ls "$M" | tr '\n' ' ')" "a b " "the mount's names (no conflict copy)"
assert_eq "$(ls "$R" | tr '\n' ' ')" "a b " "the remote's names (no conflict copy)"
assert_eq "$(cat "$M/b")" new "b in the mount"
assert_eq "$(cat "$R/b")" new "b on the remote"
assert_eq "$(cat "$M/a")" linked "a in the mount"
assert_eq "$(cat "$R/a")" linked "a on the remote"
assert_eq "$(stat -c %h "$M/a")" 1 "nlink of a"
cd_unmount "$M"
