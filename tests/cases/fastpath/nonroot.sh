#!/usr/bin/env bash
# A mount by a user other than root has no fast path (backing files need
# CAP_SYS_ADMIN): every open says "not privileged", and reads, writes and
# the upload work as ever, through the daemon.
. "$(dirname "$0")/../../lib.sh"
need_root

random_file "$R/f" 500000
give_test_user "$R" "$R/f" "$M" "$T/user.pid"
rc=0
as_test_user '
set -euo pipefail
R=$1 M=$2
trap '\''fusermount3 -u -z "$M" 2>/dev/null || true'\'' EXIT
"$CD_BIN" mount --cache-dir "$HOME/cache" --log-file "$HOME/d.log" \
	--pid-file "$T/user.pid" "$R" "$M"
# the daemon says it at INIT, which may come after mount returns
for i in $(seq 100); do
	! grep -q "fast path (passthrough)" "$HOME/d.log" || break
	sleep 0.1
done
grep -q "fast path (passthrough): not privileged" "$HOME/d.log" ||
	{ echo "the log says: $(grep "fast path" "$HOME/d.log")"; exit 1; }
cmp "$M/f" "$R/f"
exec 5<>"$M/f"
got=$(getfattr --only-values -n user.clonedrive.fastpath "$M/f")
[ "$got" = "cached: not privileged (no CAP_SYS_ADMIN)" ] ||
	{ echo "fastpath: $got"; exit 1; }
grep -qF "open: cached: not privileged" <<<"$("$CD_BIN" status "$M/f")" ||
	{ echo "status says no reason"; exit 1; }
printf user-wrote >&5
exec 5>&-
grep -q "^fastpath_veto.not_privileged_no_cap_sys_admin=" \
	<<<"$(getfattr --only-values -n user.clonedrive.stats "$M")" ||
	{ echo "the veto is not counted"; exit 1; }
"$CD_BIN" sync "$M"
"$CD_BIN" unmount "$M"
' "$R" "$M" || rc=$?
pid=$(cat "$T/user.pid" 2>/dev/null) || pid=''
[ -z "$pid" ] || CD_PIDS+=("$pid")
[ $rc -eq 0 ] || die "the checks as the test user failed (exit $rc)"
assert_eq "$(head -c 10 "$R/f")" user-wrote "the user's write on the remote"
