#!/usr/bin/env bash
# Reading a whole file hydrates it: the bytes are the remote's, the state is
# hydrated, st_blocks counts it, and reading it again fetches nothing.
. "$(dirname "$0")/../../lib.sh"

size=$((5 * 1024 * 1024 + 123))
random_file "$R/f" $size
random_file "$R/one" 1
: >"$R/empty"

cd_mount "$R" "$M"
step "read it all"
cat "$M/f" >"$T/got"
assert_file_eq "$T/got" "$R/f"
assert_eq "$(state_of "$M/f")" hydrated "state after a full read"
fetched=$(stat_of "$M" fetched_bytes)
echo "fetched $fetched bytes for $size"
[ "$fetched" -ge $size ] || die "fetched $fetched < $size bytes"
assert_le "$fetched" $((size * 11 / 10)) "fetched_bytes for one full read"
held=$(($(stat -c %b "$M/f") * 512))
[ "$held" -ge $((size - 511)) ] || die "st_blocks says $held bytes held, size $size"

step "read again: nothing more fetched"
cmp "$M/f" "$R/f"
assert_eq "$(stat_of "$M" fetched_bytes)" "$fetched" "fetched_bytes after re-read"

step "tiny and empty files"
assert_file_eq "$M/one" "$R/one"
assert_file_eq "$M/empty" "$R/empty"
