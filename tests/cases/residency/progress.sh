#!/usr/bin/env bash
# Progress: a hydration and an upload in flight are visible in status (file,
# bytes done / total, rate) and in user.clonedrive.progress; Ctrl-C on a
# long clonedrive hydrate stops the command, not the daemon, and what was
# fetched stays right; hydrate then finishes the job.
. "$(dirname "$0")/../../lib.sh"
need_root

random_file "$R/slow.bin" $((64 * 1024 * 1024))
random_file "$R/tty.bin" $((8 * 1024 * 1024))
# every remote read and upload piece takes 100 ms more
CLONEDRIVE_TEST_READ_DELAY_MS=100 cd_mount "$R" "$M"

progress_is() { getfattr --absolute-names --only-values -n user.clonedrive.progress -- "$1" | grep -qw "^$2"; }
status_shows() { "$CD_BIN" status "$M" | grep -q "$1 .*$2"; }

step "a long hydrate shows in status and in the progress xattr"
# a background job of a script ignores SIGINT: run it as a terminal would
/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$CD_BIN" hydrate "$M/slow.bin" 2>"$T/hydrate.err" &
cli=$!
wait_for 20 progress_is "$M/slow.bin" hydrating
getfattr --absolute-names --only-values -n user.clonedrive.progress "$M/slow.bin"
wait_for 10 status_shows hydrating slow.bin
"$CD_BIN" status "$M"
"$CD_BIN" status --json "$M" | python3 -c '
import json, sys
s = json.load(sys.stdin)
t = [x for x in s["transfers"] if x["path"].endswith("slow.bin")]
assert t and t[0]["kind"] == "hydrating" and t[0]["total"] == 64 << 20, s
assert 0 <= t[0]["done"] < t[0]["total"], t'

step "Ctrl-C stops the command, not the daemon"
kill -INT "$cli"
rc=0; wait "$cli" || rc=$?
[ "$rc" -ne 0 ] || die "an interrupted hydrate exited 0"
pid_alive "$(cd_pid)" || die "the daemon died"
"$CD_BIN" status "$M" >/dev/null || die "status after Ctrl-C"
state=$(state_of "$M/slow.bin")
[[ $state == partial || $state == hydrated ]] || die "state after Ctrl-C: $state"
# the daemon stops at its next step: the transfer ends
wait_for 20 progress_is "$M/slow.bin" idle

step "hydrate finishes the job, with the right bytes"
"$CD_BIN" hydrate "$M/slow.bin" 2>"$T/hydrate2.err" || die "hydrate failed: $(cat "$T/hydrate2.err")"
tail -n 3 "$T/hydrate2.err"
grep -q "hydrate" "$T/hydrate2.err" || die "no progress lines without a TTY"
assert_eq "$(state_of "$M/slow.bin")" hydrated "after hydrate"
assert_file_eq "$M/slow.bin" "$R/slow.bin"

step "on a terminal, a progress bar"
script -qec "$CD_BIN hydrate $M/tty.bin" /dev/null >"$T/tty.out" </dev/null ||
	die "hydrate on a terminal failed: $(cat "$T/tty.out")"
od -c "$T/tty.out" | head -n 5
grep -q $'\r' "$T/tty.out" || die "no bar redrawn on a terminal"
grep -q '%' "$T/tty.out" || die "no percentage on a terminal"
assert_eq "$(state_of "$M/tty.bin")" hydrated "after hydrate on a terminal"

step "an upload in flight shows too"
random_file "$T/up.bin" $((16 * 1024 * 1024))
cp "$T/up.bin" "$M/up.bin"
setfattr -n user.clonedrive.sync -v 60 "$M" &
syncer=$!
wait_for 20 progress_is "$M/up.bin" uploading
wait_for 10 status_shows uploading up.bin
"$CD_BIN" status "$M/up.bin"
wait "$syncer" || die "sync failed"
assert_file_eq "$R/up.bin" "$T/up.bin"
assert_eq "$(getfattr --absolute-names --only-values -n user.clonedrive.progress "$M/up.bin")" idle "after the upload"
