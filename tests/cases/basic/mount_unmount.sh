#!/usr/bin/env bash
# mount returns once the mount is live, with the pid file naming the daemon;
# unmount takes it down and the daemon exits; the mountpoint can be reused.
. "$(dirname "$0")/../../lib.sh"

echo hello >"$R/f"

step "mount"
cd_mount "$R" "$M"	# checks: exit 0, mounted, pid file names a live daemon
assert_eq "$(mount_count "$M")" 1 "mounts on $M"
assert_eq "$(cat "$M/f")" hello "content through the mount"
assert_eq "$(stat_of "$M" pid)" "$(cd_pid)" "pid in stats vs pid file"

step "unmount"
cd_unmount "$M"		# checks: exit 0, not mounted, daemon gone
[ ! -e "$M/f" ] || die "$M/f still visible after unmount"

step "mount again on the same mountpoint"
cd_mount "$R" "$M"
assert_eq "$(cat "$M/f")" hello "content after remount"
cd_unmount "$M"
