#!/usr/bin/env bash
# mount -f stays in the foreground while the mount is live and exits 0
# once it is unmounted.
. "$(dirname "$0")/../../lib.sh"

echo hello >"$R/f"
"$CD_BIN" mount -f --cache-dir "$T/cache" --pid-file "$T/daemon.pid" \
	--log-file "$T/daemon.log" --poll-interval 1s "$R" "$M" &
fg=$!
wait_for 20 is_mounted "$M"
cd_adopt "$M"
pid_alive $fg || die "mount -f returned although the mount is live"
assert_eq "$(cat "$M/f")" hello "content through the mount"

step "unmount; the foreground process exits 0"
cd_unmount "$M"
wait_for 10 not pid_alive $fg
rc=0
wait $fg || rc=$?
assert_eq $rc 0 "exit code of mount -f"
