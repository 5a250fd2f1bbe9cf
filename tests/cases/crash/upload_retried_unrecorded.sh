#!/usr/bin/env bash
# An upload that reached the remote and was not recorded (crash point
# upload-put), the file written again, and the next try killed before its
# bytes replace the remote's (crash point remote-tmp): the try after that
# must still recognise the first one's version as ours. Each try records
# the size and mtime it sends before it goes; the second try's record
# replaced the first's while the first's version was still there, and the
# third try took that version for another client's (a conflict copy).
. "$(dirname "$0")/../../lib.sh"
need_root

step "the first try gets there, its record does not"
CLONEDRIVE_TEST_CRASH_AT=upload-put cd_mount "$R" "$M" --upload-delay 30s
pid=$(cd_pid)
printf 'first version\n' >"$M/f"
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
wait_for 30 not pid_alive "$pid" || die "the upload never reached upload-put"
assert_eq "$(cat "$R/f")" "first version" "the remote got the first try"
cd_drop_dead "$M"

step "the file changes, and the next try dies before its rename"
CLONEDRIVE_TEST_CRASH_AT=remote-tmp cd_mount "$R" "$M" --upload-delay 30s
pid=$(cd_pid)
printf 'second, longer version\n' >"$M/f"
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
wait_for 30 not pid_alive "$pid" || die "the upload never reached remote-tmp"
assert_eq "$(cat "$R/f")" "first version" "the remote before the third try"
cd_drop_dead "$M"

step "the third try replaces the first's version: no conflict"
cd_mount "$R" "$M" --upload-delay 0
cd_sync "$M"
assert_eq "$(cat "$R/f")" "second, longer version" "the remote"
assert_eq "$(cat "$M/f")" "second, longer version" "the mount"
assert_eq "$(ls "$R")" f "the remote's names (no conflict copy)"
assert_eq "$(ls "$M")" f "the mount's names"
cd_unmount "$M"
