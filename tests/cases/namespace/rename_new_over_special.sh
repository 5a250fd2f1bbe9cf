#!/usr/bin/env bash
# A new file, not uploaded yet, renamed over a FIFO or a symlink and then
# renamed on: the rename finds no source on the remote and the FIFO (the
# symlink) stays there under the name, where the next rename moved it on
# as if it were the file, and the file's upload found it: the file became
# a conflict copy and the name showed the FIFO (the symlink) again. What
# the rename replaced is gone here, so it goes from the remote too. (Found
# by the stress tester.)
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 0

step "a FIFO and a symlink, on the remote"
mkfifo "$M/p"
ln -s target "$M/l"
cd_sync "$M"
test -p "$R/p" || die "no FIFO on the remote"
test -L "$R/l" || die "no symlink on the remote"

step "new files renamed over them before their upload, then on"
# open across the renames: the upload is queued at the close, after them
exec {fd}>"$M/n"
exec {fd2}>"$M/m"
echo new >&$fd
echo other >&$fd2
mv "$M/n" "$M/p"
mv "$M/m" "$M/l"
mv "$M/p" "$M/q"
mv "$M/l" "$M/k"
exec {fd}>&- {fd2}>&-
cd_sync "$M"

assert_eq "$(ls "$M" | tr '\n' ' ')" "k q " "the mount's names (no conflict copy)"
assert_eq "$(ls "$R" | tr '\n' ' ')" "k q " "the remote's names (no conflict copy)"
for f in "$M/q" "$R/q" "$M/k" "$R/k"; do
	test -f "$f" && ! test -L "$f" || die "$f is not a file: $(stat -c %F "$f")"
done
assert_eq "$(cat "$R/q")" new "q on the remote"
assert_eq "$(cat "$R/k")" other "k on the remote"
cd_unmount "$M"
