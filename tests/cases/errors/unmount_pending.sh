#!/usr/bin/env bash
# unmount --timeout with an upload that cannot finish (remote gone) returns
# in time and says what is still pending; the data is not lost: once the
# remote is back it is uploaded.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M"
ls "$M" >/dev/null
mv "$R" "$T/remote.away"
echo stuck >"$M/stuck-upload.txt"

step "unmount --timeout 2s"
rc=0
out=$(timeout 60 "$CD_BIN" unmount --timeout 2s "$M" 2>&1) || rc=$?
echo "$out"
echo "exit $rc"
[ $rc -ne 124 ] || die "unmount --timeout 2s still running after 60s"
[[ $out == *stuck-upload.txt* ]] ||
	die "unmount did not name the pending file stuck-upload.txt"

step "remote back: the upload completes"
mv "$T/remote.away" "$R"
if is_mounted "$M"; then
	cd_refresh "$M" || true
else
	cd_mount "$R" "$M"	# resumes from the journal
fi
cd_sync "$M" 90
assert_eq "$(cat "$R/stuck-upload.txt")" stuck "remote content"
