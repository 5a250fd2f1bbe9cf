#!/usr/bin/env bash
# A slow remote never slows what is local. 64 readers wait on cold files
# of a remote that takes 3 s per read; meanwhile another process
# stats, reads, lists and writes local data, and each of those answers
# within a bound far below one remote read. The waiting readers are
# pending requests: they hold no thread (the daemon's thread count does
# not grow with them), and each of them gets its bytes right in the end. (Before, each waiting read held one of libfuse's
# ten workers: a stat of a cached file took 15 s behind 16 readers.)
. "$(dirname "$0")/../../lib.sh"

KiB=1024
READERS=64
mkdir "$R/cold" "$R/warm"
for i in $(seq 1 $READERS); do
	head -c $((128 * KiB)) /dev/urandom >"$R/cold/f$i"
done
echo "local data" >"$R/warm/small"

CLONEDRIVE_TEST_READ_DELAY_MS=3000 cd_mount "$R" "$M"
pid=$(cd_pid "$M")
threads() { awk '/^Threads:/ { print $2 }' "/proc/$pid/status"; }

step "warm up: the small file and the listings are local"
cat "$M/warm/small" >/dev/null
ls -l "$M/warm" "$M/cold" >/dev/null
before=$(threads)

step "$READERS readers wait on cold files"
pids=()
for i in $(seq 1 $READERS); do
	# direct I/O: one request per reader, not a readahead of several
	dd if="$M/cold/f$i" of="$T/got$i" bs=128k iflag=direct status=none &
	pids+=($!)
done
pending() { test "$(stat_of "$M" requests_pending)" -ge $((READERS / 2)); }
wait_for 30 pending
echo "requests pending: $(stat_of "$M" requests_pending)"

# ms CMD...: run CMD, print how long it took in milliseconds
ms()
{
	local t0 t1
	t0=$(date +%s%N)
	timeout 60 "$@" >/dev/null || die "failed: $*"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

step "local operations answer at once"
# one remote read takes 3 s: a bound of 1.5 s cannot be met by an
# operation queued behind any of the readers, and leaves room for a
# loaded machine
worst=0
for round in 1 2 3; do
	for op in "stat $M/warm/small" "cat $M/warm/small" "ls -l $M/warm" \
		"getfattr -n user.clonedrive.state $M/warm/small" \
		"mkdir $M/warm/d$round" \
		"dd if=$M/warm/small of=$M/warm/c$round status=none"; do
		t=$(ms $op)
		echo "  $op: $t ms"
		[ "$t" -le "$worst" ] || worst=$t
	done
done
assert_le "$worst" 1500 "slowest local operation (ms) behind $READERS waiting readers"
assert_eq "$(cat "$M/warm/c3")" "local data"

step "no thread per waiting reader"
during=$(threads)
still=$(stat_of "$M" requests_pending)
echo "requests still pending after the local operations: $still"
assert_le 1 "$still" "requests pending (the readers must still wait)"
echo "daemon threads: $before before, $during with $READERS readers waiting"
assert_le "$during" $((before + 12)) "daemon threads with $READERS readers waiting"

step "the readers get their bytes"
for i in $(seq 1 $READERS); do
	wait "${pids[$((i - 1))]}" || die "reader $i failed"
done
for i in 1 $((READERS / 2)) $READERS; do
	assert_file_eq "$T/got$i" "$R/cold/f$i"
done
