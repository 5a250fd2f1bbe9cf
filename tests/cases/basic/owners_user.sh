#!/usr/bin/env bash
# A mount by a user other than root shows everything as the mounting
# user's (--owners auto comes to mount): files made there, and a remote
# file owned by root; a chown to another owner is EPERM, one to the user
# itself works, and a chmod still sticks. The user is the suite's test
# user, mounting in a namespace of its own (as_test_user).
. "$(dirname "$0")/../../lib.sh"
need_root

echo root-owned >"$R/theirs"
give_test_user "$R" "$M" "$T/user.pid"
rc=0
as_test_user '
set -euo pipefail
R=$1 M=$2 ME=$(id -u):$(id -g)
trap '\''fusermount3 -u -z "$M" 2>/dev/null || true'\'' EXIT
"$CD_BIN" mount --cache-dir "$HOME/cache" --log-file "$HOME/d.log" \
	--pid-file "$T/user.pid" "$R" "$M"
echo mine >"$M/mine"
mkdir "$M/dir"
for f in mine dir theirs; do
	got=$(stat -c %u:%g "$M/$f")
	[ "$got" = "$ME" ] || { echo "$f shows $got, not $ME"; exit 1; }
done
if out=$(chown 0:0 "$M/mine" 2>&1); then
	echo "a chown to root succeeded"
	exit 1
fi
[[ $out == *"Operation not permitted"* ]] || { echo "chown: $out"; exit 1; }
chown "$ME" "$M/mine"
chmod 600 "$M/mine"
[ "$(stat -c %a "$M/mine")" = 600 ] || { echo "chmod did not stick"; exit 1; }
"$CD_BIN" unmount "$M"
' "$R" "$M" || rc=$?
pid=$(cat "$T/user.pid" 2>/dev/null) || pid=''
[ -z "$pid" ] || CD_PIDS+=("$pid")
[ $rc -eq 0 ] || die "the checks as the test user failed (exit $rc)"
assert_eq "$(cat "$R/mine")" mine "mine on the remote"
