#!/usr/bin/env bash
# A crash in the middle of an unlink (its entry deleted in the database's
# transaction, not yet committed) leaves the file as it was, bytes and
# all: the unlink was never acknowledged. The cache file must go only
# once the deletion is committed; before, it went first, and the file
# came back after the crash with no data (0 bytes, or zeros).
. "$(dirname "$0")/../../lib.sh"
need_root

MiB=$((1024 * 1024))
random_file "$T/data" $((2 * MiB))
mkdir "$R/d"
random_file "$R/d/clean.bin" $((1 * MiB))

cd_mount "$R" "$M"
cp "$T/data" "$M/dirty.bin"
cat "$M/d/clean.bin" >/dev/null	# hydrated: its bytes in the cache
cd_unmount "$M"			# nothing of them held in memory now

step "the daemon dies inside the unlinks"
CLONEDRIVE_TEST_CRASH_AT=delete-uncommitted cd_mount "$R" "$M"
pid=$(cd_pid "$M")
rm "$M/d/clean.bin" 2>/dev/null && die "the unlink returned"
gone() { ! pid_alive "$pid"; }
wait_for 10 gone
grep -q "delete-uncommitted" "$T/daemon.log" || die "the crash point was not reached"
cd_mount "$R" "$M"
pid=$(cd_pid "$M")
cmp "$M/dirty.bin" "$T/data" >/dev/null	# hydrated again
cd_unmount "$M"
CLONEDRIVE_TEST_CRASH_AT=delete-uncommitted cd_mount "$R" "$M" --upload-delay 1h
pid=$(cd_pid "$M")
printf 'written here' >>"$M/dirty.bin"	# dirty: its upload an hour away
cp "$M/dirty.bin" "$T/want"
rm "$M/dirty.bin" 2>/dev/null && die "the unlink returned"
wait_for 10 gone

step "mounted again, the file is whole"
cd_mount "$R" "$M" --upload-delay 0
assert_file_eq "$M/d/clean.bin" "$R/d/clean.bin"
assert_file_eq "$M/dirty.bin" "$T/want"

step "and the remote gets it"
cd_sync "$M"
assert_file_eq "$R/dirty.bin" "$T/want"
