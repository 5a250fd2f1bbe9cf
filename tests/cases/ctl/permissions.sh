#!/usr/bin/env bash
# The CLI's operations are checked against the caller's permissions like
# the kernel's requests are (default_permissions): clonedrive cp into a
# directory the user may not write fails with EACCES as cp does, and pin,
# hydrate and free of a file the user may not read fail likewise; with
# the permissions given back, they work. The user is the suite's test
# user, mounting in a namespace of its own (as_test_user), since root may
# anything.
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir -p "$R/ro" "$R/rw"
echo secret >"$R/rw/noread"
give_test_user "$R" "$M" "$R/ro" "$R/rw" "$R/rw/noread" "$T/user.pid"
echo data >"$T/home-src"
give_test_user "$T/home-src"
rc=0
as_test_user '
set -euo pipefail
R=$1 M=$2 SRC=$3
trap '\''fusermount3 -u -z "$M" 2>/dev/null || true'\'' EXIT
"$CD_BIN" mount --cache-dir "$HOME/cache" --log-file "$HOME/d.log" \
	--pid-file "$T/user.pid" "$R" "$M"
chmod 555 "$M/ro"
chmod 200 "$M/rw/noread"
fails() {	# fails ERRTEXT CMD...: CMD fails and says ERRTEXT
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "unexpected success: $*: $out"
		return 1
	fi
	echo "ok, failed: $*: $out"
	[[ $out == *"$want"* ]] || { echo "not $want"; return 1; }
}
fails "Permission denied" cp "$SRC" "$M/ro/by-cp"
fails "Permission denied" "$CD_BIN" cp "$SRC" "$M/ro/by-clonedrive-cp"
test ! -e "$M/ro/by-clonedrive-cp"
fails "Permission denied" cat "$M/rw/noread"
fails "Permission denied" "$CD_BIN" hydrate "$M/rw/noread"
fails "Permission denied" "$CD_BIN" pin "$M/rw/noread"
fails "Permission denied" "$CD_BIN" free "$M/rw/noread"
chmod 755 "$M/ro"
chmod 600 "$M/rw/noread"
"$CD_BIN" cp "$SRC" "$M/ro/copied"
"$CD_BIN" pin "$M/rw/noread"
test "$(cat "$M/ro/copied")" = data
"$CD_BIN" unmount "$M"
' "$R" "$M" "$T/home-src" || rc=$?
pid=$(cat "$T/user.pid" 2>/dev/null) || pid=''
[ -z "$pid" ] || CD_PIDS+=("$pid")
[ $rc -eq 0 ] || die "the checks as the test user failed (exit $rc)"
