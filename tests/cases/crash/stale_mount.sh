#!/usr/bin/env bash
# After kill -9 the mountpoint is stale ("Transport endpoint is not
# connected"); mount cleans it up and mounts again, not on top of it, and
# cached data is still there.
. "$(dirname "$0")/../../lib.sh"

random_file "$R/f" 1M
cd_mount "$R" "$M"
cat "$M/f" >/dev/null

step "kill -9: stale mount"
cd_kill9
assert_fails "Transport endpoint is not connected" ls "$M"

step "mount again"
cd_mount "$R" "$M"
assert_eq "$(mount_count "$M")" 1 "mounts on $M"
before=$(stat_of "$M" fetched_bytes)
assert_file_eq "$M/f" "$R/f"
assert_eq "$(stat_of "$M" fetched_bytes)" "$before" "fetched_bytes re-reading cached data"
cd_unmount "$M"
assert_eq "$(mount_count "$M")" 0 "mounts on $M after unmount"
