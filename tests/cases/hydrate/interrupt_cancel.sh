#!/usr/bin/env bash
# A reader killed while it waits for a fetch has its request interrupted,
# and the fetch nobody waits for any more is cancelled: the daemon stops
# fetching long before the whole file, stays healthy, and the bytes it did
# keep are right. The remote is slowed down (test-only read latency) so the
# reader is surely waiting when it is killed; direct I/O makes its reads
# synchronous requests the kernel can interrupt.
. "$(dirname "$0")/../../lib.sh"

MiB=$((1024 * 1024))
head -c $((64 * MiB)) /dev/urandom >"$R/slow.bin"

# counters read afresh at every try of wait_for
fetching() { test "$(stat_of "$M" fetch_requests)" -ge 1; }
cancelled() { test "$(stat_of "$M" fetches_cancelled)" -ge 1; }

CLONEDRIVE_TEST_READ_DELAY_MS=500 cd_mount "$R" "$M"
step "reader killed while waiting"
dd if="$M/slow.bin" of=/dev/null bs=8M iflag=direct status=none &
reader=$!
# kill it inside a fetch: a 1 MiB fetch is 4 reads of 500 ms each, and
# the counter moves after the first of them, leaving 1.5 s to land the
# kill even on a loaded machine
wait_for 20 fetching
kill -9 "$reader"
wait "$reader" 2>/dev/null || true

step "the fetch was cancelled"
wait_for 10 cancelled
sleep 1	# let whatever was still running finish
fetched=$(stat_of "$M" fetched_bytes)
echo "fetched $fetched bytes of $((64 * MiB))"
assert_le "$fetched" $((16 * MiB)) "bytes fetched after the reader died"

step "the daemon still serves, and what it kept is right"
dd if="$M/slow.bin" of="$T/head" bs=1M count=2 status=none
head -c $((2 * MiB)) "$R/slow.bin" >"$T/want"
assert_file_eq "$T/head" "$T/want"
