#!/usr/bin/env bash
# Hydrated data (whole files and ranges) survives a remount with the same
# cache dir: reading it again fetches nothing.
. "$(dirname "$0")/../../lib.sh"

random_file "$R/whole" 3M
random_file "$R/part" 8M

cd_mount "$R" "$M"
cat "$M/whole" >/dev/null
dd if="$M/part" of="$T/head" bs=4K count=1 status=none
assert_eq "$(state_of "$M/whole")" hydrated "state of whole"
assert_eq "$(state_of "$M/part")" partial "state of part"
cd_unmount "$M"

step "remount with the same cache dir"
cd_mount "$R" "$M"
assert_eq "$(state_of "$M/whole")" hydrated "state of whole after remount"
assert_eq "$(state_of "$M/part")" partial "state of part after remount"
before=$(stat_of "$M" fetched_bytes)
assert_file_eq "$M/whole" "$R/whole"
dd if="$M/part" of="$T/head2" bs=4K count=1 status=none
assert_file_eq "$T/head2" "$T/head"
assert_eq "$(stat_of "$M" fetched_bytes)" "$before" \
	"fetched_bytes for re-reading cached data"
