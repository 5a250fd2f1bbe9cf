#!/usr/bin/env bash
# A new file, not uploaded yet, renamed over a name whose file has
# another name. On the local remote the two names are one inode there,
# so a later setattr through the other name changed the version of the
# object the rename had left at its target, which the new file's upload
# was told to replace: the upload took it for another client's change and
# kept a conflict copy, with the other file's bytes shown under the name.
# (Found by the stress tester in CI, seed 3743382320, after an outage.)
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 0

step "s and l: one file, two names, on the remote"
echo shared >"$M/s"
ln "$M/s" "$M/l"
cd_sync "$M"

step "a new file renamed over s, then a utimensat through l"
# open across the rename: its upload is queued at the close, after it
exec {fd}>"$M/e"
echo new >&$fd
mv "$M/e" "$M/s"
python3 -c 'import os, sys; os.utime(sys.argv[1], (1e9, 1e9))' "$M/l"
exec {fd}>&-
cd_sync "$M"

assert_eq "$(ls "$M" | tr '\n' ' ')" "l s " "names in the mount"
assert_eq "$(cat "$M/s")" new "s in the mount"
assert_eq "$(cat "$R/s")" new "s on the remote"
assert_eq "$(cat "$R/l")" shared "l on the remote"
assert_eq "$(stat -c %Y "$R/l")" 1000000000 "mtime of l on the remote"
assert_eq "$(ls "$R" | tr '\n' ' ')" "l s " "names on the remote"
cd_unmount "$M"
