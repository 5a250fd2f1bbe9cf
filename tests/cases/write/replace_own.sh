#!/usr/bin/env bash
# A rename over a file whose own changes are still on their way to the
# remote (a utime queued, an upload in flight) replaces it there: with a
# single writer no conflict copy is ever made, and the name ends with the
# renamed file's bytes. The version the rename expects to replace is the
# one those changes leave, not the one known when it was queued.
. "$(dirname "$0")/../../lib.sh"

no_conflicts()
{
	local found=()
	shopt -s nullglob
	found=("$1"/*conflict*)
	shopt -u nullglob
	[ ${#found[@]} -eq 0 ] || die "$2: a conflict copy was made: ${found[*]}"
}

# slow: an upload of a few MiB stays in flight for a while
CLONEDRIVE_TEST_READ_DELAY_MS=200 cd_mount "$R" "$M" --poll-interval 1h \
	--upload-delay 0

MiB=$((1024 * 1024))
random_file "$T/big" $((8 * MiB))

step "a utime queued, then a rename over the file"
echo v1 >"$M/a"
cd_sync "$M"
cp "$T/big" "$M/c"		# a slow upload: what follows waits behind
wait_for 10 state_is "$M/c" uploading || die "the upload never started"
touch -m -d '2001-02-03 04:05:06' "$M/a"
echo new >"$M/a.tmp"
mv "$M/a.tmp" "$M/a"
cd_sync "$M"
no_conflicts "$R" "utime then rename"
assert_eq "$(cat "$R/a")" new "the remote has the renamed file"

step "an upload in flight, then a rename over the file"
cp "$T/big" "$M/b"
cd_sync "$M"
printf x | dd of="$M/b" bs=1 seek=100 conv=notrunc status=none
wait_for 10 state_is "$M/b" uploading || die "the upload never started"
echo new >"$M/b.tmp"
mv "$M/b.tmp" "$M/b"
cd_sync "$M"
no_conflicts "$R" "upload then rename"
assert_eq "$(cat "$R/b")" new "the remote has the renamed file"
assert_eq "$(cat "$M/b")" new "and so has the mount"
no_conflicts "$M" "upload then rename, in the mount"
