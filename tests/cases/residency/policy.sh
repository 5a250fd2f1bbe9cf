#!/usr/bin/env bash
# The hydration policy per program: reads of data not held locally by a
# program named in --no-hydrate-for fail with the chosen errno instead of
# downloading; other programs hydrate as usual, and then the named program
# reads what is local; status shows what was refused.
. "$(dirname "$0")/../../lib.sh"
need_root

random_file "$R/photo.jpg" $((2 * 1024 * 1024))
random_file "$R/other.jpg" 4096
cd_mount "$R" "$M" --no-hydrate-for thumbnailer,head --no-hydrate-errno EAGAIN
# a "thumbnailer": any executable by that name
cp /usr/bin/cat "$T/thumbnailer"

step "the listed programs get EAGAIN, and nothing is fetched"
assert_fails "Resource temporarily unavailable" head -c 100 "$M/photo.jpg"
assert_fails "Resource temporarily unavailable" "$T/thumbnailer" "$M/photo.jpg"
assert_eq "$(stat_of "$M" fetched_bytes)" 0 "bytes fetched for refused reads"
assert_eq "$(state_of "$M/photo.jpg")" placeholder "after refused reads"
out=$("$CD_BIN" status "$M")
echo "$out"
[[ $out =~ "hydration policy: "[0-9]+" reads refused, the last by thumbnailer" ]] ||
	die "status does not show the refusals"

step "another program hydrates; then the listed one reads local data"
assert_file_eq "$M/photo.jpg" "$R/photo.jpg"
cmp <(head -c 100 "$M/photo.jpg") <(head -c 100 "$R/photo.jpg") ||
	die "head of local data"

step "the errno is configurable"
cd_unmount "$M"
cd_mount "$R" "$M" --no-hydrate-for head --no-hydrate-errno EIO
assert_fails "Input/output error" head -c 10 "$M/other.jpg"
rc=0; "$CD_BIN" mount "$R" "$T/x" --no-hydrate-errno EBOGUS 2>/dev/null || rc=$?
assert_eq "$rc" 2 "a bad errno name is a usage error"
