#!/usr/bin/env bash
# A database that cannot tell whether a directory has entries (a fault
# point, CLONEDRIVE_TEST_FAIL_AT=has-children) makes rmdir and a rename
# over a directory fail with EIO: the error is never taken for "empty",
# which deleted the subtree's rows with the directory.
. "$(dirname "$0")/../../lib.sh"

CLONEDRIVE_TEST_FAIL_AT=has-children cd_mount "$R" "$M"
mkdir "$M/d" "$M/e" "$M/x"
echo keep >"$M/d/f"
echo keep >"$M/e/g"
assert_fails "Input/output error" rmdir "$M/d"
assert_fails "Input/output error" mv -T "$M/x" "$M/e"
assert_eq "$(cat "$M/d/f")" keep "d/f after the failed rmdir"
assert_eq "$(cat "$M/e/g")" keep "e/g after the failed rename"
cd_sync "$M"
cd_unmount "$M"
cd_mount "$R" "$M"
assert_eq "$(cat "$M/d/f")" keep "d/f after a remount"
assert_eq "$(cat "$M/e/g")" keep "e/g after a remount"
assert_eq "$(cat "$R/d/f")" keep "d/f on the remote"
cd_unmount "$M"
