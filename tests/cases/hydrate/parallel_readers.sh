#!/usr/bin/env bash
# 8 processes reading the same 64 MiB placeholder at once all get the right
# bytes, and the data is fetched once (fetched_bytes <= size * 1.1).
. "$(dirname "$0")/../../lib.sh"

size=$((64 * 1024 * 1024))
random_file "$R/f" $size
want=$(sha "$R/f")

cd_mount "$R" "$M"
step "8 readers at once"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	sha256sum <"$M/f" >"$T/sum.$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || die "a reader failed"
done
for i in 1 2 3 4 5 6 7 8; do
	assert_eq "$(cut -d' ' -f1 "$T/sum.$i")" "$want" "checksum of reader $i"
done

fetched=$(stat_of "$M" fetched_bytes)
echo "fetched $fetched bytes for $size"
assert_le "$fetched" $((size * 11 / 10)) "fetched_bytes for 8 parallel readers"
assert_eq "$(state_of "$M/f")" hydrated "state"
