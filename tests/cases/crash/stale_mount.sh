#!/usr/bin/env bash
# After kill -9 the mountpoint is stale ("Transport endpoint is not
# connected"); mount cleans it up and mounts again, not on top of it, and
# the file reads right. Its data read just before the kill may be fetched
# once more: the record of hydrated ranges is saved after the last close,
# off its path, and a crash may come first (what the contract says).
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
assert_le "$(stat_of "$M" fetched_bytes)" $((before + 1024 * 1024)) "fetched_bytes re-reading the file"
cd_unmount "$M"
assert_eq "$(mount_count "$M")" 0 "mounts on $M after unmount"
