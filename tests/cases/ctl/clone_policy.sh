#!/usr/bin/env bash
# status shows the clone policy in effect (text and JSON); where guard or
# auto cannot have their guard, as for a user who is not root (no fanotify
# pre-content events), status says why, and so does the mount command on
# the terminal. The user is the suite's test user, in a mount namespace of
# its own where it may use /dev/fuse (as_test_user).
. "$(dirname "$0")/../../lib.sh"
need_root

# clone_line MNT: the clone line of status.
clone_line()
{
	"$CD_BIN" status "$1" | grep '^  clone: '
}

step "root, the default: auto"
cd_mount "$R" "$M"
"$CD_BIN" status "$M"
line=$(clone_line "$M") || die "status has no clone line"
"$CD_BIN" status --json "$M" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["clone"] == "auto", s
if s["clone_fallback"] is None:
    assert s["clone_effect"] == "reflink, else guard, else spool", s
else:   # a kernel without pre-content events
    assert s["clone_effect"] == "reflink, else spool", s'
cd_unmount "$M"

step "spool: nothing to fall back from"
cd_mount "$R" "$M" --clone spool
assert_eq "$(clone_line "$M")" "  clone: spool" "status of --clone spool"
"$CD_BIN" status --json "$M" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["clone"] == "spool" and s["clone_fallback"] is None, s'
cd_unmount "$M"

step "the test user: auto and guard fall back, and say why"
give_test_user "$R" "$M" "$T/auto.pid" "$T/guard.pid"
rc=0
as_test_user '
set -euo pipefail
R=$1 M=$2
trap '\''fusermount3 -u -z "$M" 2>/dev/null || true'\'' EXIT
for mode in auto guard; do
	echo "+ clonedrive mount --clone $mode (as $(id -un))"
	"$CD_BIN" mount --clone "$mode" --cache-dir "$HOME/cache-$mode" \
		--log-file "$HOME/$mode.log" --pid-file "$T/$mode.pid" \
		"$R" "$M" 2>"$HOME/mount-$mode.err"
	cat "$HOME/mount-$mode.err"
	"$CD_BIN" status "$M" | tee "$HOME/status-$mode.txt"
	"$CD_BIN" status --json "$M" >"$HOME/status-$mode.json"
	"$CD_BIN" unmount "$M"
done
' "$R" "$M" || rc=$?
for mode in auto guard; do
	pid=$(cat "$T/$mode.pid" 2>/dev/null) || pid=''
	[ -z "$pid" ] || CD_PIDS+=("$pid")
done
[ $rc -eq 0 ] || die "mounting as the test user failed (exit $rc)"

why="fanotify pre-content events need root"
grep -qF -- "--clone auto comes to reflink, else spool: no guard for the sources of copies, as $why" \
	"$T/home/mount-auto.err" || die "the mount does not say why auto falls back"
grep -qF -- "--clone guard comes to spool: no guard for the sources of copies, as $why" \
	"$T/home/mount-guard.err" || die "the mount does not say why guard falls back"
assert_eq "$(grep '^  clone: ' "$T/home/status-auto.txt")" \
	"  clone: auto (reflink, else spool; no guard: $why)" "status of auto"
assert_eq "$(grep '^  clone: ' "$T/home/status-guard.txt")" \
	"  clone: guard (spool; no guard: $why)" "status of guard"
python3 - "$T/home/status-auto.json" "$T/home/status-guard.json" "$why" <<'PY'
import json, sys
auto, guard = (json.load(open(f)) for f in sys.argv[1:3])
why = sys.argv[3]
assert auto["clone"] == "auto" and auto["clone_effect"] == "reflink, else spool", auto
assert guard["clone"] == "guard" and guard["clone_effect"] == "spool", guard
assert auto["clone_fallback"] == why and guard["clone_fallback"] == why, (auto, guard)
PY
