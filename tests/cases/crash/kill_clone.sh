#!/usr/bin/env bash
# SIGKILL between a copy's close and its upload, with its bytes only in
# the source (guard): after a remount the copy is backed by the source
# again, guarded again, and uploaded after its hash is checked. When the
# source was changed while no daemon ran, the copy ends in error naming
# the source: never a wrong or truncated file without an error.
. "$(dirname "$0")/../../lib.sh"
need_root

MiB=$((1024 * 1024))
random_file "$T/s1" $((16 * MiB))
random_file "$T/s2" $((16 * MiB))
cp "$T/s1" "$T/ref1"
cp "$T/s2" "$T/ref2"

step "copy, then kill -9 before the upload"
CLONEDRIVE_TEST_READ_DELAY_MS=300 cd_mount "$R" "$M" --clone guard --upload-delay 30s
cp "$T/s1" "$M/a.bin"
cp "$T/s2" "$M/b.bin"
assert_eq "$(state_of "$M/a.bin")" uploading "state before the kill"
assert_le "$(stat_of "$M" cache_bytes)" $((64 * 1024)) "cache bytes of the waiting copies"
cd_kill9
cd_drop_dead "$M"

step "b's source changes while no daemon guards it"
printf 'CHANGED' | dd of="$T/s2" bs=1 seek=1234 conv=notrunc status=none

step "remount: a resumes from its source; b is in error, named"
cd_mount "$R" "$M" --clone guard --upload-delay 0
grep -q "a copy of $T/s1 resumes its upload from the source" "$T/daemon.log" ||
	die "the resumed copy is not logged"
assert_file_eq "$M/a.bin" "$T/ref1"
cd_sync "$M" 60
assert_eq "$(state_of "$M/a.bin")" placeholder "the resumed copy"
assert_file_eq "$R/a.bin" "$T/ref1"
assert_eq "$(state_of "$M/b.bin")" error "a copy whose source changed while down"
assert_fails "Input/output error" cat "$M/b.bin"
grep -q "the source $T/s2 of a copy waiting for its upload was changed" "$T/daemon.log" ||
	die "the restart does not say which source changed"
[ ! -e "$R/b.bin" ] || die "a copy whose source changed was uploaded"
grep -q "b.bin: a copy of $T/s2, whose source" "$T/daemon.log" ||
	die "the error does not name the source and the cause"
assert_eq "$(stat_of "$M" uploads_pending)" 0 "uploads pending"
