#!/usr/bin/env bash
# The root's user.clonedrive.stats has the documented keys, as numbers.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M"
getfattr --only-values -n user.clonedrive.stats "$M"
echo
for key in fetched_bytes uploaded_bytes cache_bytes uploads_pending pid; do
	v=$(stat_of "$M" $key)
	[[ $v =~ ^[0-9]+$ ]] || die "stats: $key=$v is not a number"
done
assert_eq "$(stat_of "$M" pid)" "$(cd_pid)" "pid"
assert_eq "$(stat_of "$M" fetched_bytes)" 0 "fetched_bytes of a fresh mount"
assert_eq "$(stat_of "$M" uploads_pending)" 0 "uploads_pending of a fresh mount"
