#!/usr/bin/env bash
# Setting user.clonedrive.refresh on the root polls the remote at once, long
# before the poll interval.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --poll-interval 3600s
ls "$M" >/dev/null
echo new >"$R/new"
cd_refresh "$M"
wait_for 3 test -e "$M/new"
assert_eq "$(cat "$M/new")" new "content"
