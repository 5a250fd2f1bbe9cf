#!/usr/bin/env bash
# fsx with the daemon killed (SIGKILL) and the drive mounted again: what
# fsync or close returned for is there, and nothing else is invented.
#
# fsx is deterministic for a seed and its options: replayed on a local disk
# for j operations it leaves G_j, the state its model has after operation j
# (tests/conformance/fsx-check.py). The run on the drive prints every
# operation before its first system call (-d, line-buffered), with -y (an
# fsync after each write) and -c 20 (close and reopen after one operation
# in 20). From its output: N, the last operation started, and D, the last
# one after which the whole file was made durable (the fsync of a write or
# the close returned, proven by a later operation's line, printed only
# after those calls came back).
#
# The drive promises that data close or fsync returned for is durable, so
# after the remount the file holds G_D plus any part of what operations
# D+1..N did (written back or not, the one in flight perhaps half done):
# its size between the smallest and largest of G_D..G_N, and every byte
# that of some G_j, D <= j <= N (zero past G_j's end). A byte that no
# operation after D changed must be G_D's; any other value is corruption.
# Two kills:
#   mid-run    at a random operation, with mapped writes, copies, truncates
#              in flight;
#   closed     after fsx finished and closed the file (D = N): the file must
#              equal fsx's last good state exactly.
# After each: `clonedrive sync` completes and the remote equals the mount,
# byte for byte, the file there being the same possible state.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/conformance/lib.sh"
need_root	# fsx -c writes /proc/sys/vm/drop_caches

conf_tools
CONF_MOUNT=("$R" "$M")
cd_mount "${CONF_MOUNT[@]}"
fsx_probe
n=2000
if conf_sanitized; then
	n=600
fi
k=$((n / 4 + RANDOM % (n / 2)))
echo "fsx seed $FSX_SEED; killed at operation $k"

step "fsx -y -c 20, the daemon killed at operation $k"
fsx_crash crash "$k" -y -c 20
step "sync; the remote equals the mount"
cd_sync "$M" 120
same_tree "$M" "$R" || die "the remote differs from the mount after sync"
fsx_check "$T/fsx-crash.log" "$R/crash.dat" "${FSX_ARGS[@]}"

step "fsx -y -c 20 for $n operations, closed; then the daemon killed"
fsx_run closed "$n" -y -c 20
cd_kill9
cd_mount "${CONF_MOUNT[@]}"
fsx_check "$T/fsx-closed.log" "$M/closed.dat" "${FSX_ARGS[@]}"
cd_sync "$M" 120
same_tree "$M" "$R" || die "the remote differs from the mount after sync"
fsx_check "$T/fsx-closed.log" "$R/closed.dat" "${FSX_ARGS[@]}"
