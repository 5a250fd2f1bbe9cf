#!/usr/bin/env bash
# With the remote gone, a pending upload makes user.clonedrive.sync fail with
# ETIMEDOUT (and never recreates the remote dir); once the remote is back the
# upload completes.
. "$(dirname "$0")/../../lib.sh"

echo a >"$R/a"
cd_mount "$R" "$M"
ls "$M" >/dev/null

step "remote gone; write"
mv "$R" "$T/remote.away"
echo pending >"$M/pending.txt"
assert_fails "Connection timed out" setfattr -n user.clonedrive.sync -v 2 "$M"
pending=$(stat_of "$M" uploads_pending)
[ "$pending" -ge 1 ] || die "uploads_pending is $pending with an upload stuck"
[ ! -e "$R" ] || die "the daemon recreated the missing remote directory $R"
assert_eq "$(cat "$M/pending.txt")" pending "content in the mount"

step "remote back: the upload completes"
mv "$T/remote.away" "$R"
cd_refresh "$M" || true
cd_sync "$M" 90
assert_eq "$(cat "$R/pending.txt")" pending "remote content"
