#!/usr/bin/env bash
# A new file, not uploaded yet, renamed over one name of a file with two
# (hard links on the local remote), then chown'd and chmod'ed before its
# upload: the remote object at that name is still the other file's, which
# its other name shares, so the setattr must not go to it (the upload
# that follows brings the owner and mode). Found by the stress tester:
# the other name took the new file's owner and mode, its version changed,
# and its next upload kept it as a conflict copy.
. "$(dirname "$0")/../../lib.sh"
need_root

cd_mount "$R" "$M" --upload-delay 0

step "a file with two names, on the remote"
echo linked >"$M/a"
ln "$M/a" "$M/b"
cd_sync "$M"
assert_eq "$(stat -c %i "$R/a")" "$(stat -c %i "$R/b")" "b a hard link on the remote"

step "a new file renamed over a, changed before its upload"
# open across the rename and the chown: its upload is queued at the close
exec {fd}>"$M/n"
echo new >&$fd
mv "$M/n" "$M/a"
chown 4242:4343 "$M/a"
chmod 0600 "$M/a"
exec {fd}>&-
cd_sync "$M"
assert_eq "$(stat -c '%u:%g %a' "$R/b")" "0:0 644" "b's owner and mode on the remote"
assert_eq "$(stat -c '%u:%g %a' "$R/a")" "4242:4343 600" "a's owner and mode on the remote"

step "another write through b reaches the remote, no conflict"
echo more >>"$M/b"
cd_sync "$M"
assert_eq "$(ls "$M" | tr '\n' ' ')" "a b " "the mount's names (no conflict copy)"
assert_eq "$(ls "$R" | tr '\n' ' ')" "a b " "the remote's names (no conflict copy)"
assert_eq "$(cat "$R/a")" new "a on the remote"
assert_eq "$(printf '%s\n' $(cat "$R/b"))" "$(printf 'linked\nmore')" "b on the remote"
assert_eq "$(stat -c '%u:%g %a' "$M/b")" "0:0 644" "b's owner and mode"
cd_unmount "$M"
