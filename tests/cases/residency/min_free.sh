#!/usr/bin/env bash
# --min-free: reading more than the cache's disk can spare keeps that much
# free on it (cache on a 48 MiB tmpfs, 24 MiB kept free), by evicting least
# recently used data; every byte read is right.
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir "$T/small"
mount -t tmpfs -o size=48m tmpfs "$T/small"
cd_track_mount "$T/small"
mkdir -p "$R/d"
for i in $(seq 0 9); do
	random_file "$R/d/f$i" $((4 * 1024 * 1024))
done
cd_mount "$R" "$M" --cache-dir "$T/small/cache" --min-free 24M

free_kib() { df -k --output=avail "$T/small" | tail -n 1 | tr -d ' '; }

step "read 40 MiB with 24 MiB kept free on a 48 MiB disk"
for i in $(seq 0 9); do
	assert_file_eq "$M/d/f$i" "$R/d/f$i"
	avail=$(free_kib)
	echo "after f$i: $avail KiB free"
	[ "$avail" -ge $((24 * 1024)) ] || die "only $avail KiB free after f$i"
done
[ "$(stat_of "$M" evicted_files)" -gt 0 ] || die "nothing was evicted"
"$CD_BIN" status "$M" | grep -q "keeping 24.0 MiB free" || die "status does not show the floor"
