#!/usr/bin/env bash
# --cache-max: reading more than the limit keeps the cache under it (least
# recently used clean files go first, pinned ones never), every byte read is
# right; a write into a cache full of data not yet uploaded gets ENOSPC once
# the uploads had their chance, and status says why.
. "$(dirname "$0")/../../lib.sh"
need_root

limit=$((8 * 1024 * 1024))
mkdir -p "$R/d"
for i in $(seq 0 9); do
	random_file "$R/d/f$i" $((2 * 1024 * 1024))
done
cd_mount "$R" "$M" --cache-max 8M --cache-full-wait 2s

cache_bytes() { "$CD_BIN" status --json "$M" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cache_bytes"])'; }

step "a pinned file is kept whatever is read after it"
"$CD_BIN" pin "$M/d/f0" 2>/dev/null || die "pin failed"

step "read 20 MiB through an 8 MiB cache"
for i in $(seq 1 9); do
	assert_file_eq "$M/d/f$i" "$R/d/f$i"
	used=$(cache_bytes)
	echo "after f$i: cache holds $used bytes"
	assert_le "$used" "$limit" "cache use after reading f$i"
done
[ "$(stat_of "$M" evicted_files)" -gt 0 ] || die "nothing was evicted"
assert_eq "$(state_of "$M/d/f0")" hydrated "the pinned file"
assert_eq "$(state_of "$M/d/f9")" hydrated "the file read last"
assert_eq "$(state_of "$M/d/f1")" placeholder "the file read first"
"$CD_BIN" status "$M"

step "reading evicted files again gives the right bytes"
for i in 1 2 3; do
	assert_file_eq "$M/d/f$i" "$R/d/f$i"
done

step "hydrate of a tree larger than the cache says what did not stay"
out=$("$CD_BIN" hydrate "$M/d" 2>/dev/null)
echo "$out"
[[ $out == *"evicted again"* ]] || die "hydrate claims a tree larger than the cache is all local"
assert_le "$(cache_bytes)" "$limit" "cache use after hydrate"

step "a write that cannot fit gets ENOSPC after waiting for uploads"
assert_fails "No space left on device" \
	dd if=/dev/urandom of="$M/d/huge" bs=1M count=12 status=none
out=$("$CD_BIN" status "$M")
echo "$out"
[[ $out == *"cache full"* ]] || die "status does not say the cache is full"
[ "$(stat_of "$M" writes_refused)" -gt 0 ] || die "writes_refused not counted"
pid_alive "$(cd_pid)" || die "the daemon died"

step "once the partial file is gone, writing works again"
rm -f "$M/d/huge"
random_file "$T/ok" $((1024 * 1024))
cp "$T/ok" "$M/d/ok"
cd_sync "$M"
assert_file_eq "$R/d/ok" "$T/ok"
