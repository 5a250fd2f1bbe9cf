#!/usr/bin/env bash
# xfstests' fsx on an S3 bucket (tests/cases/conformance/fsx.sh over S3):
# every operation the drive does, through the page cache, with close and
# reopen (-c 20: the data goes through release, the cache and the
# daemon's reads), and with O_DIRECT; then `clonedrive sync`, and each
# object must equal its file in the mount and be fsx's final state (the
# run replayed on a local disk, tests/conformance/fsx-check.py).
# FSX_SEED=N runs it again.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/conformance/lib.sh"
need_root	# fsx -c writes /proc/sys/vm/drop_caches
s3_bucket

conf_tools
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
fsx_probe
n=5000
if conf_sanitized; then
	n=1500
fi
echo "fsx seed $FSX_SEED, $n operations"

declare -A args_of
step "fsx: every operation the drive does, through the page cache"
fsx_run all "$n" -l 1048576
args_of[all]="${FSX_ARGS[*]}"
step "fsx -c 20: close, drop caches and reopen"
fsx_run closeopen $((n / 2)) -c 20
args_of[closeopen]="${FSX_ARGS[*]}"
step "fsx -Z: O_DIRECT"
fsx_run direct $((n / 2)) -Z -R -W -r 4096 -w 4096
args_of[direct]="${FSX_ARGS[*]}"

step "sync; each object equals the mount's file and fsx's last state"
cd_sync "$M" 120
s3_same_files "$M"
for name in all closeopen direct; do
	# shellcheck disable=SC2086 # options, no spaces
	fsx_check "$T/fsx-$name.log" "$T/s3obj/$name.dat" ${args_of[$name]}
done
