#!/usr/bin/env bash
# xfstests' fsx on a local-directory remote: random reads, writes, mapped
# reads and writes, truncates and copy_file_range on one file, each read
# checked against fsx's model of the file. Every operation fsx knows that
# the drive does not refuse (EOPNOTSUPP, ENOTTY: fsx_probe in
# tests/conformance/lib.sh lists them) is on. Three runs:
#   all        through the page cache (what most programs see), 1 MiB file;
#   closeopen  -c 20: one operation in 20 closes the file, drops the page
#              cache and opens it again, so data goes through release, the
#              cache files and reads from the daemon;
#   direct     -Z: O_DIRECT, every read and write a request to the daemon.
# Then `clonedrive sync`, and the remote must equal the mount byte for
# byte, and each file fsx's final state (the same run replayed on a local
# disk, tests/conformance/fsx-check.py). The seed is random and in the log;
# FSX_SEED=N runs it again.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/conformance/lib.sh"
need_root	# fsx -c writes /proc/sys/vm/drop_caches

conf_tools
cd_mount "$R" "$M"
fsx_probe
n=10000
if conf_sanitized; then
	n=3000
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

step "sync; the remote equals the mount, and each file is fsx's last state"
cd_sync "$M" 120
same_tree "$M" "$R" || die "the remote differs from the mount after sync"
for name in all closeopen direct; do
	# shellcheck disable=SC2086 # options, no spaces
	fsx_check "$T/fsx-$name.log" "$R/$name.dat" ${args_of[$name]}
done
