#!/usr/bin/env bash
# The cache directory on a 20 MiB disk. Ten 5 MiB files written one after
# the other all succeed: writes wait for uploads and evict what went up,
# and the database keeps its headroom. Then something else fills the disk
# while uploads are queued: the daemon neither spins nor floods its log,
# status says the cache is full, and once space returns every file is on
# the remote with its bytes and no conflict copy (an upload whose outcome
# could not be recorded is recognised as ours, and one whose upload could
# not be queued at its close is queued once it can be).
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir "$T/disk"
mount -t tmpfs -o size=20m tmpfs "$T/disk"
cd_track_mount "$T/disk"
MiB=$((1024 * 1024))

step "ten 5 MiB files into a 20 MiB cache"
cd_mount "$R" "$M" --cache-dir "$T/disk/c" --cache-full-wait 20s
for i in $(seq 1 10); do
	head -c $((5 * MiB)) /dev/urandom >"$T/ref$i"
	cat "$T/ref$i" | cat >"$M/f$i" || die "write of f$i failed"
done
cd_sync "$M"
for i in $(seq 1 10); do
	cmp "$R/f$i" "$T/ref$i" || die "f$i differs on the remote"
done

step "the disk filled by another program while 3 uploads wait"
"$CD_BIN" free "$M" >/dev/null 2>&1 || true
cd_unmount "$M"
cd_mount "$R" "$M" --cache-dir "$T/disk/c" --upload-delay 1s
for i in 1 2 3; do
	head -c $((2 * MiB)) /dev/urandom >"$T/new$i"
	cat "$T/new$i" | cat >"$M/new$i"
done
exec 7>"$M/late"	# written now, closed once the disk is full
printf 'late data\n' >&7
dd if=/dev/zero of="$T/disk/filler" bs=1M 2>/dev/null || true
exec 7>&- || true	# its upload cannot be queued now: it is, later
pid=$(cd_pid)
cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
lines0=$(wc -l <"$T/daemon.log")
sleep 6
cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
lines1=$(wc -l <"$T/daemon.log")
"$CD_BIN" status "$M" | tee "$T/status"
grep -q "full" "$T/status" || die "status does not say the cache is full"
assert_le $((cpu1 - cpu0)) 100 "CPU ticks while the disk is full"
assert_le $((lines1 - lines0)) 200 "log lines while the disk is full"

step "space returns: everything goes up, no conflict"
rm "$T/disk/filler"
"$CD_BIN" sync "$M" >/dev/null
for i in 1 2 3; do
	cmp "$R/new$i" "$T/new$i" || die "new$i differs on the remote"
done
assert_eq "$(cat "$R/late" 2>&1)" "late data" "the file closed while full"
assert_eq "$(ls "$R" | grep -c conflict || true)" 0 "conflict copies"
cd_unmount "$M"
