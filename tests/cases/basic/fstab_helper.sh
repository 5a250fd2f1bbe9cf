#!/usr/bin/env bash
# An fstab line works: mount(8) -t fuse.clonedrive goes through mount.fuse3,
# which runs "clonedrive SOURCE DIR -o OPTS"; the drive's own options ride
# in -o (cache_dir=, log_file=, poll_interval=) and FUSE's pass through.
. "$(dirname "$0")/../../lib.sh"
need_root
command -v mount.fuse3 >/dev/null || skip "mount.fuse3 (package fuse3) is missing"

echo hello >"$R/f"

# mount(8) turns "SRC DIR fuse.clonedrive OPTS" into "mount.fuse3 SRC DIR -t
# fuse.clonedrive -o OPTS" with a sanitized PATH; the TYPE#SOURCE spelling
# lets the test name the binary under test.
step "mount.fuse3 TYPE#SOURCE DIR -o OPTS"
mount.fuse3 "$CD_BIN#$R" "$M" \
	-o "cache_dir=$T/cache,log_file=$T/daemon.log,pid_file=$T/daemon.pid,poll_interval=1s,allow_other"
cd_track_mount "$M"
is_mounted "$M" || die "not mounted"
assert_eq "$(cat "$M/f")" hello "content through the fstab mount"
grep -q "allow_other" <(grep " $M " /proc/mounts) ||
	die "allow_other did not reach the mount"
[ -s "$T/cache/meta.db" ] || die "cache_dir= was not used"

step "bad option value is refused clearly"
rc=0
mkdir -p "$T/m2"
out=$(mount.fuse3 "$CD_BIN#$R" "$T/m2" -o "poll_interval=soon" 2>&1) || rc=$?
echo "$out"
[ $rc -ne 0 ] || die "a bad poll_interval was accepted"
[[ $out == *"bad value"* ]] || die "no clear message for a bad value"

step "unmount"
"$CD_BIN" unmount "$M"
is_mounted "$M" && die "still mounted after unmount"
true
