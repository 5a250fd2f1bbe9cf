#!/usr/bin/env bash
# A sync waits for the journal to drain as a pending request, holding no
# thread; a signal to the waiting program interrupts it at once (EINTR),
# not when the uploads end. Uploads are slowed (test latency on each
# upload progress step) so the sync surely waits.
. "$(dirname "$0")/../../lib.sh"

MiB=$((1024 * 1024))
CLONEDRIVE_TEST_READ_DELAY_MS=1000 cd_mount "$R" "$M" --upload-delay 0
random_file "$M/big" $((16 * MiB))

step "a sync waits, pending"
setfattr -n user.clonedrive.sync -v 120 "$M" &
syncer=$!
pending() { test "$(stat_of "$M" requests_pending)" -ge 1; }
wait_for 10 pending
sleep 0.3
pid_alive "$syncer" || die "the sync ended before the uploads"

step "a signal ends it at once"
t0=$(date +%s%N)
kill -TERM "$syncer"
gone() { ! pid_alive "$syncer"; }
wait_for 10 gone
wait "$syncer" 2>/dev/null && die "an interrupted sync reported success"
t=$((($(date +%s%N) - t0) / 1000000))
echo "the sync ended $t ms after the signal"
# the uploads take 16 s at least: a sync that waited them out is far over
assert_le "$t" 3000 "ms from the signal to the end of the sync"
idle() { test "$(stat_of "$M" requests_pending)" -eq 0; }
wait_for 5 idle

step "the upload goes on, and a later sync sees it done"
cd_sync "$M" 120
cmp "$M/big" "$R/big" || die "remote content"
