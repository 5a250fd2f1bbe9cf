#!/usr/bin/env bash
# SIGKILL after an upload reached the remote and before it was recorded
# here (crash point upload-put), then the file changes again before its
# upload is retried: the remote's version is recognised as our earlier try
# (its size and mtime, recorded before the try) and replaced, never taken
# for another client's (no conflict copy).
. "$(dirname "$0")/../../lib.sh"

# uploads wait 30 s unless a sync hurries them: the upload left queued by
# the crash is not retried before the file changes again
CLONEDRIVE_TEST_CRASH_AT=upload-put cd_mount "$R" "$M" --upload-delay 30s
pid=$(cd_pid)
printf 'first version\n' >"$M/f"
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
wait_for 30 not pid_alive "$pid" || die "the upload never reached the crash point"
assert_eq "$(cat "$R/f")" "first version" "the remote got the upload"
cd_drop_dead "$M"

step "the file changes again before the upload is retried"
cd_mount "$R" "$M" --upload-delay 30s
printf 'second, longer version\n' >"$M/f"
"$CD_BIN" sync "$M" >/dev/null
assert_eq "$(cat "$R/f")" "second, longer version" "the remote"
assert_eq "$(ls "$R")" f "the remote's names (no conflict copy)"
assert_eq "$(ls "$M")" f "the mount's names"
cd_unmount "$M"
