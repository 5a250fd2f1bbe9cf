#!/usr/bin/env bash
# SIGKILL in the middle of a copy into the drive (the writer still at it,
# no close yet): after a remount the file holds only bytes the program
# wrote, never the holes the clone filter grew the file by for bytes it
# acknowledged from the source. Without an fsync the copy may be lost, as
# on any file system, but what remains is a prefix of the source (for a
# backed copy: nothing, as its record counts no byte); after an fsync at
# 8 MiB, at least those 8 MiB are there. The same with --clone off, where
# the size status shows agrees with the data.
. "$(dirname "$0")/../../lib.sh"
need_root

MiB=$((1024 * 1024))
random_file "$T/src" $((48 * MiB))

# slow_copy SRC DST [FSYNC_AT_MIB]: a copier that takes its time
slow_copy()
{
	python3 - "$@" <<'PY'
import os, sys, time
src, dst = sys.argv[1], sys.argv[2]
at = int(sys.argv[3]) if len(sys.argv) > 3 else -1
with open(src, "rb") as s, open(dst, "wb") as d:
    n = 0
    while True:
        b = s.read(1 << 20)
        if not b:
            break
        d.write(b)
        d.flush()
        n += 1
        if n == at:
            os.fsync(d.fileno())
            open(dst + ".synced", "w").close()
        time.sleep(0.05)
PY
}

# run CLONE FSYNC_AT: copy, kill mid-way, remount, sync, check
run()
{
	local clone=$1 at=$2 name=f-$1-$2 size want
	step "--clone $clone, fsync at ${at} MiB (-1: none), kill mid-copy"
	cd_mount "$R" "$M" --clone "$clone" --upload-delay 0
	slow_copy "$T/src" "$M/$name" "$at" 2>/dev/null &
	wait_for 30 test -e "$M/$name"
	if [ "$at" -gt 0 ]; then
		wait_for 30 test -e "$M/$name.synced"
	fi
	sleep 0.5
	cd_kill9
	wait || true
	cd_drop_dead "$M"
	cd_mount "$R" "$M" --clone "$clone" --upload-delay 0
	size=$(stat -c %s "$M/$name")
	"$CD_BIN" status "$M/$name"
	"$CD_BIN" status "$M/$name" | grep -q " of $size bytes local" ||
		die "status disagrees with the size $size"
	cmp -n "$size" "$M/$name" "$T/src" ||
		die "$name: the mount holds bytes nobody wrote"
	want=0
	[ "$at" -le 0 ] || want=$((at * MiB))
	[ "$size" -ge "$want" ] || die "$name: $size bytes, fsync'ed $want"
	"$CD_BIN" sync "$M" >/dev/null
	assert_eq "$(stat -c %s "$R/$name")" "$size" "remote size"
	cmp -n "$size" "$R/$name" "$T/src" ||
		die "$name: the remote holds bytes nobody wrote"
	cd_unmount "$M"
}

run guard -1
run guard 8
run off -1
run off 8
