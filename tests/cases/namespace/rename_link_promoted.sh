#!/usr/bin/env bash
# The local-remote twin of s3/rename_link_promoted: an extra name of a
# new file, not uploaded yet, renamed over an uploaded file; the file's
# first name goes, the extra name becomes its own, and a write queues
# its upload. What the rename replaced must not stay on the remote to be
# taken for another client's version when the upload arrives.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"

cd_mount "$R" "$M" --upload-delay 2s

step "an extra name of a new file renamed over an uploaded one"
rename_unsent_link_over "$M"

assert_eq "$(ls "$M")" t "names in the mount"
assert_eq "$(cat "$M/t")" "$(printf 'data\nmore')" "t in the mount"
assert_eq "$(ls "$R")" t "names on the remote"
assert_eq "$(cat "$R/t")" "$(printf 'data\nmore')" "t on the remote"
cd_unmount "$M"
