#!/usr/bin/env bash
# A lone 4 KiB read of a 1 GiB (sparse) remote file fetches only the range it
# needs (at most 256 KiB), returns the remote's bytes, and leaves the file
# partial, holding little locally.
. "$(dirname "$0")/../../lib.sh"

KiB=1024
MiB=$((1024 * KiB))
f=$R/big
truncate -s 1G "$f"
for mib in 0 1 512 1023; do	# 64 KiB of random data at each
	dd if=/dev/urandom of="$f" bs=64K count=1 seek=$((mib * 16)) \
		conv=notrunc status=none
done

cd_mount "$R" "$M"
assert_eq "$(stat -c %s "$M/big")" $((1024 * MiB)) "size"
assert_eq "$(stat_of "$M" fetched_bytes)" 0 "fetched_bytes before reading"

# read_4k OFFSET: read 4 KiB at OFFSET; same bytes as the remote's, and
# 0 < bytes fetched <= 256 KiB.
read_4k()
{
	local off=$1 before after
	step "4 KiB read at offset $off"
	before=$(stat_of "$M" fetched_bytes)
	dd if="$M/big" of="$T/got" bs=4K count=1 skip=$((off / 4096)) status=none
	dd if="$f" of="$T/want" bs=4K count=1 skip=$((off / 4096)) status=none
	assert_file_eq "$T/got" "$T/want"
	after=$(stat_of "$M" fetched_bytes)
	echo "fetched $((after - before)) bytes"
	[ $((after - before)) -gt 0 ] || die "fetched nothing for uncached data"
	assert_le $((after - before)) $((256 * KiB)) \
		"bytes fetched for a 4 KiB read at $off"
	assert_eq "$(state_of "$M/big")" partial "state after a 4 KiB read"
}
read_4k 0
read_4k $((512 * MiB))

step "little held locally"
held=$(($(stat -c %b "$M/big") * 512))
echo "st_blocks: $held bytes; cache_bytes: $(stat_of "$M" cache_bytes)"
[ "$held" -gt 0 ] || die "st_blocks is 0 with data held locally"
assert_le "$held" $((1 * MiB)) "bytes held locally (st_blocks)"
assert_le "$(stat_of "$M" cache_bytes)" $((1 * MiB)) "cache_bytes"
