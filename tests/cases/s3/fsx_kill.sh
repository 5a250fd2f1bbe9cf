#!/usr/bin/env bash
# fsx on an S3 bucket with the daemon killed (SIGKILL) and the drive
# mounted again (tests/cases/conformance/fsx_kill.sh over S3; its header
# explains the check): once mid-run, at a random operation, and once after
# fsx closed the file. The file after the remount, and the object after
# `clonedrive sync`, must be a state the drive may leave: G_D (what the
# last fsync or close that returned saw) plus any part of the operations
# after it, and exactly fsx's last state after the close.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/conformance/lib.sh"
need_root	# fsx -c writes /proc/sys/vm/drop_caches
s3_bucket

conf_tools
CONF_MOUNT=("s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT")
cd_mount "${CONF_MOUNT[@]}"
fsx_probe
n=1500
if conf_sanitized; then
	n=500
fi
k=$((n / 4 + RANDOM % (n / 2)))
echo "fsx seed $FSX_SEED; killed at operation $k"

step "fsx -y -c 20, the daemon killed at operation $k"
fsx_crash crash "$k" -y -c 20
step "sync; the object equals the mount's file"
cd_sync "$M" 120
s3_same_files "$M"
fsx_check "$T/fsx-crash.log" "$T/s3obj/crash.dat" "${FSX_ARGS[@]}"

step "fsx -y -c 20 for $n operations, closed; then the daemon killed"
fsx_run closed "$n" -y -c 20
cd_kill9
cd_mount "${CONF_MOUNT[@]}"
fsx_check "$T/fsx-closed.log" "$M/closed.dat" "${FSX_ARGS[@]}"
cd_sync "$M" 120
s3_same_files "$M"
fsx_check "$T/fsx-closed.log" "$T/s3obj/closed.dat" "${FSX_ARGS[@]}"
