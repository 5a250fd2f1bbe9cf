#!/usr/bin/env bash
# A change the remote refuses for good (here: a directory replaced by a
# file behind the drive's back, so a mkdir and an upload below it get
# ENOTDIR) is given up, never silently: what it was for is in error
# (user.clonedrive.state, clonedrive status), status counts it, and
# clonedrive sync fails once, naming each change given up.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --poll-interval 1h --upload-delay 0
mkdir "$M/d"
cd_sync "$M"
rm -r "$R/d"
echo theirs >"$R/d"

mkdir "$M/d/sub"
echo mine >"$M/d/f"
cd_sync "$M"		# waits for the journal only: no poll
assert_eq "$(state_of "$M/d/sub")" error "the directory whose mkdir failed"
assert_eq "$(state_of "$M/d/f")" error "the file whose upload failed"
"$CD_BIN" status "$M" | tee "$T/status"
grep -q "changes given up: 2" "$T/status" || die "status does not count them"

rc=0
"$CD_BIN" sync "$M" >"$T/sync.out" 2>&1 || rc=$?
cat "$T/sync.out"
[ $rc -ne 0 ] || die "clonedrive sync succeeded with changes given up"
grep -q "mkdir d/sub: Not a directory" "$T/sync.out" ||
	die "sync does not name the mkdir"
grep -q "upload d/f: Not a directory" "$T/sync.out" ||
	die "sync does not name the upload"
"$CD_BIN" sync "$M" >/dev/null ||
	die "a second sync fails for what the first reported"
