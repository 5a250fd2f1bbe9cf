#!/usr/bin/env bash
# Writing 10 bytes into the middle of a 4 MiB placeholder (no truncation):
# the mount and, after a sync, the remote have the old bytes around the new.
# Opening with O_TRUNC (a shell's '>') empties a file, placeholder or not,
# before a shorter content is written.
. "$(dirname "$0")/../../lib.sh"

random_file "$R/f" 4M
cp "$R/f" "$T/want"
printf 0123456789 | dd of="$T/want" bs=10 count=1 seek=2000000 \
	oflag=seek_bytes conv=notrunc status=none

cd_mount "$R" "$M"
assert_eq "$(state_of "$M/f")" placeholder "state before the write"
step "write 10 bytes at offset 2000000"
printf 0123456789 | dd of="$M/f" bs=10 count=1 seek=2000000 \
	oflag=seek_bytes conv=notrunc status=none
assert_eq "$(stat -c %s "$M/f")" $((4 * 1024 * 1024)) "size after the write"
assert_file_eq "$M/f" "$T/want"

step "sync"
cd_sync "$M"
assert_file_eq "$R/f" "$T/want"
state=$(state_of "$M/f")
case $state in
hydrated|partial) ;;
*) die "state after sync: $state" ;;
esac

step "O_TRUNC of a hydrated file, then a shorter content"
echo short >"$M/f"
assert_eq "$(stat -c %s "$M/f")" 6 "size after > of a hydrated file"
assert_eq "$(cat "$M/f")" short "content after >"

step "O_TRUNC of a placeholder, then a shorter content"
random_file "$R/g" 1M
cd_refresh "$M"
wait_for 10 state_is "$M/g" placeholder
echo tiny >"$M/g"
assert_eq "$(cat "$M/g")" tiny "content after > of a placeholder"
: >"$M/f"
assert_eq "$(stat -c %s "$M/f")" 0 "size after : >"
cd_sync "$M"
assert_eq "$(cat "$R/g")" tiny "remote after > of a placeholder"
assert_eq "$(stat -c %s "$R/f")" 0 "remote after : >"
