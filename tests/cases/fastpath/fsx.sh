#!/usr/bin/env bash
# xfstests' fsx on hydrated files opened on the kernel's fast path: random
# reads, writes, mapped reads and writes, truncates and copy_file_range,
# each read checked against fsx's model. The files are made and uploaded
# first, so fsx's open finds them whole (an open that creates a file is
# never fast). Then `clonedrive sync`: the remote equals the mount, and
# each file is fsx's last state (tests/conformance/fsx-check.py). The
# daemon must have seen none of fsx's writes (written_bytes), which went
# to the cache file directly. FSX_SEED=N runs a seed again.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/conformance/lib.sh"
. "$(dirname "$0")/lib.sh"
need_root	# fsx -c writes /proc/sys/vm/drop_caches

conf_tools
# --clone off: an open with O_TRUNC leaves an empty file, whose writer the
# clone filter would watch (a veto)
cd_mount "$R" "$M" --clone off
need_fast_path "$M"
fsx_probe
n=10000
if conf_sanitized; then
	n=3000
fi
echo "fsx seed $FSX_SEED, $n operations"
for name in all closeopen; do
	random_file "$M/$name.dat" 100000
done
cd_sync "$M"
before=$(stat_of "$M" written_bytes)
opens=$(stat_of "$M" fastpath_opens)

declare -A args_of
step "fsx on the fast path: every operation the drive does"
fsx_run all "$n" -l 1048576
args_of[all]="${FSX_ARGS[*]}"
step "fsx -c 20: close, drop caches and reopen, each open fast"
fsx_run closeopen $((n / 2)) -c 20
args_of[closeopen]="${FSX_ARGS[*]}"
[ "$(stat_of "$M" fastpath_opens)" -gt "$opens" ] || die "no open was fast"
assert_eq "$(stat_of "$M" written_bytes)" "$before" \
	"bytes fsx wrote through the daemon"

step "sync; the remote equals the mount, and each file is fsx's last state"
cd_sync "$M" 120
same_tree "$M" "$R" || die "the remote differs from the mount after sync"
for name in all closeopen; do
	# shellcheck disable=SC2086 # options, no spaces
	fsx_check "$T/fsx-$name.log" "$R/$name.dat" ${args_of[$name]}
done
