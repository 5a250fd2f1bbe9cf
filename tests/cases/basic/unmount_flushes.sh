#!/usr/bin/env bash
# unmount uploads what is still pending before it returns.
. "$(dirname "$0")/../../lib.sh"

# An upload delay that would not expire during the case by itself.
cd_mount "$R" "$M" --upload-delay 120s
random_file "$T/src" 300K
pipe_copy "$T/src" "$M/f"
echo note >"$M/g"
[ ! -e "$R/f" ] || die "uploaded before the upload delay expired?"

step "unmount flushes"
cd_unmount "$M"
assert_file_eq "$R/f" "$T/src"
assert_eq "$(cat "$R/g")" note "remote content of g"
