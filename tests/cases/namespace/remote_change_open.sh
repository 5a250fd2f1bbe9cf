#!/usr/bin/env bash
# A file that is open and hydrated when its remote copy changes: the poll
# drops the old data (waiting for no fetch of the old version), the kernel
# forgets its cached pages, and readers get the new bytes, never a mix.
. "$(dirname "$0")/../../lib.sh"

MiB=$((1024 * 1024))
random_file "$R/f" $((4 * MiB))
cd_mount "$R" "$M"

step "hydrate it, and keep it open"
exec 3<"$M/f"
cat <&3 >/dev/null
assert_eq "$(state_of "$M/f")" hydrated "state after reading it all"

step "the remote copy changes (new size, new bytes)"
random_file "$T/new" $((3 * MiB))
cp "$T/new" "$R/f.tmp"
mv "$R/f.tmp" "$R/f"
cd_refresh "$M"
same_as_new() { cmp -s "$M/f" "$T/new"; }
wait_for 20 same_as_new
assert_eq "$(stat -c %s "$M/f")" $((3 * MiB)) "size seen in the mount"

step "closing the old descriptor, and a new open reads the new version"
exec 3<&-
exec 3<"$M/f"
assert_eq "$(sha256sum <&3 | cut -d' ' -f1)" "$(sha "$T/new")" "bytes read"
exec 3<&-
assert_eq "$(state_of "$M/f")" hydrated "state after reading the new version"
