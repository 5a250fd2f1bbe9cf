#!/usr/bin/env bash
# An extra name (a hard link) of a file not uploaded yet, renamed over a
# FIFO, and the file's first name removed: the rename finds no source on
# the remote and left the FIFO there, and the file's upload under its one
# name left found the FIFO: the file became a conflict copy and the name
# showed the FIFO again. The op of a rename of an extra name has no
# inode, so the drive did not know a file was moved. (Found by the stress
# tester.)
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 0

step "a FIFO on the remote"
mkfifo "$M/p"
cd_sync "$M"
test -p "$R/p" || die "no FIFO on the remote"

step "an extra name of a new file renamed over it; the first name removed"
# open across the changes: the upload is queued at the close, after them
exec {fd}>"$M/f"
echo data >&$fd
ln "$M/f" "$M/a"
mv "$M/a" "$M/p"
rm "$M/f"
exec {fd}>&-
cd_sync "$M"

assert_eq "$(ls "$M" | tr '\n' ' ')" "p " "the mount's names (no conflict copy)"
assert_eq "$(ls "$R" | tr '\n' ' ')" "p " "the remote's names (no conflict copy)"
for f in "$M/p" "$R/p"; do
	test -f "$f" || die "$f is not a file: $(stat -c %F "$f")"
done
assert_eq "$(cat "$R/p")" data "p on the remote"
cd_unmount "$M"
