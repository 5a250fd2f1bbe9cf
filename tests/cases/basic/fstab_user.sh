#!/usr/bin/env bash
# An fstab line with "user", mounted by a user who is not root, keeps the
# cache and the log in that user's home, or the XDG directories the user
# set, never in root's: mount(8) drops HOME for the helper it runs as the
# user, and mount.fuse3 then sets it to /root. The user is the suite's test
# user, in a mount namespace of its own (as_test_user) with a private
# fstab, /run/mount, and passwd in which its home is $T/home.
. "$(dirname "$0")/../../lib.sh"
need_root
command -v mount.fuse3 >/dev/null || skip "mount.fuse3 (package fuse3) is missing"
[ -u "$(command -v mount)" ] || skip "mount(8) is not setuid root"

echo hello >"$R/f"
give_test_user "$R" "$M" "$T/user.pid"
mkdir "$T/run-mount"
# mount.fuse3 runs PROGRAM#SOURCE of type fuse as "PROGRAM SOURCE DIR -o OPTS"
printf '%s %s fuse noauto,user,pid_file=%s,poll_interval=1s 0 0\n' \
	"$CD_BIN#$R" "$M" "$T/user.pid" >"$T/fstab"
awk -F: -v OFS=: -v uid="$CD_TEST_UID" -v home="$T/home" \
	'$3 == uid { $6 = home } 1' /etc/passwd >"$T/passwd"
cat "$T/fstab"

step "mount DIR, as the test user, twice: without XDG variables, and with"
rc=0
as_test_user --bind "$T/fstab" /etc/fstab --bind "$T/passwd" /etc/passwd \
	--bind "$T/run-mount" /run/mount '
set -euo pipefail
M=$1
trap '\''fusermount3 -u -z "$M" 2>/dev/null || true'\'' EXIT
unset XDG_CACHE_HOME XDG_STATE_HOME
for round in home xdg; do
	if [ $round = xdg ]; then
		export XDG_CACHE_HOME=$HOME/xdg-cache XDG_STATE_HOME=$HOME/xdg-state
	fi
	echo "+ mount $M (as $(id -un), $round)"
	mount "$M"
	cat "$M/f" >"$HOME/f-$round"
	"$CD_BIN" status "$M" | tee "$HOME/status-$round"
	"$CD_BIN" unmount "$M"
done
' "$M" || rc=$?
pid=$(cat "$T/user.pid" 2>/dev/null) || pid=''
[ -z "$pid" ] || CD_PIDS+=("$pid")
[ $rc -eq 0 ] || die "the fstab mount as the test user failed (exit $rc)"

assert_eq "$(cat "$T/home/f-home")" hello "content through the user's mount"
grep -qF "cache: $T/home/.cache/clonedrive/mnt-" "$T/home/status-home" ||
	die "the cache is not in the user's home: $(cat "$T/home/status-home")"
compgen -G "$T/home/.local/state/clonedrive/mnt-*.log" >/dev/null ||
	die "the log is not in the user's home"
grep -qF "cache: $T/home/xdg-cache/clonedrive/mnt-" "$T/home/status-xdg" ||
	die "the cache is not in XDG_CACHE_HOME: $(cat "$T/home/status-xdg")"
compgen -G "$T/home/xdg-state/clonedrive/mnt-*.log" >/dev/null ||
	die "the log is not in XDG_STATE_HOME"
