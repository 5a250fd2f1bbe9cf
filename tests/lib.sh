# shellcheck shell=bash
#
# tests/lib.sh: sourced by every mount-level case, tests/cases/<area>/<name>.sh:
#
#	#!/usr/bin/env bash
#	# One line on the behaviour this case checks.
#	. "$(dirname "$0")/../../lib.sh"
#
# Environment, set by tests/run-cases.sh:
#	CD_BIN		the clonedrive binary (default when run by hand:
#			build/clonedrive)
#	T		a private temp dir for this case (default when run by
#			hand: a fresh one, removed at exit)
#	CASE_NAME	<area>/<name>
#	CD_TRACE=1	run the case under set -x
#
# Gives the case R=$T/remote and M=$T/mnt (both created, empty), set -euo
# pipefail, and an EXIT trap that unmounts what cd_mount mounted (clonedrive
# unmount --force, then fusermount3 -u -z), kills the daemons it started if
# they are still alive, and on failure prints the tail of $T/daemon.log and
# the reason of the failure last (the runner shows the last 30 lines).
#
# Helpers (each documented where it is defined):
#	failing		die, skip, need_root, step
#	mounting	cd_mount, cd_try_mount, cd_unmount, cd_adopt, cd_pid,
#			cd_kill9, cd_track_mount
#	daemon xattrs	stat_of, state_of, state_is, cd_sync, cd_refresh
#	checking	wait_for, not, assert_eq, assert_le, assert_file_eq,
#			assert_fails, pid_alive, is_mounted, mount_count,
#			is_sanitized
#	data		random_file, pipe_copy, sha, rename_noreplace
#	S3		need_s3, s3_bucket, s3_put, s3_get, s3_rm, s3_ls,
#			s3_head, s3_gateway
#	not root	as_test_user, give_test_user
#
# Conventions: assert_eq ACTUAL EXPECTED; helpers that read state (stat_of,
# state_of) print the value and return non-zero on error, so they can be used
# in wait_for; helpers that check (assert_*, cd_mount, cd_sync) die.
# Exit 77 (skip) when the machine cannot run the case: no FUSE, not root.
#
set -Eeuo pipefail
shopt -s inherit_errexit

CD_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CASE_NAME=${CASE_NAME:-$(basename "$(dirname "$0")")/$(basename "$0" .sh)}
CD_MOUNTS=()		# FUSE mountpoints cd_mount mounted, in order
CD_PIDS=()		# daemon pids read from the pid file after each mount
CD_OTHER_MOUNTS=()	# other mounts to take down at exit (cd_track_mount)
CD_FAIL_MSG=''		# why the case failed, repeated last in the log
CD_SKIP_MSG=''
CD_OWN_T=0
declare -A CD_PID_OF=()	# mountpoint -> pid of the daemon serving it
CD_PIDFILE=''		# pid file of the latest cd_mount
CD_S3_REQ=("$CD_LIB_DIR/s3/s3req.py")
# Debian's python3 (scripts/deps.sh) runs it if there: a pyenv shim first in
# PATH adds half a second to each request.
[ ! -x /usr/bin/python3 ] || CD_S3_REQ=(/usr/bin/python3 "${CD_S3_REQ[@]}")
CD_S3_LOCK_FD=''	# open on the server's cases.lock once need_s3 ran
CD_S3_EXCLUSIVE=0	# 1: the case has the S3 server to itself
CD_S3_BUCKETS=()	# buckets s3_bucket made (emptied and deleted at exit)
S3_BUCKET=''		# the bucket s3_put and the others work on

# --- failing and skipping -------------------------------------------------

# die MSG: fail the case with MSG.
die()
{
	CD_FAIL_MSG="$*"
	echo "FAIL: $CASE_NAME: $*" >&2
	exit 1
}

# skip MSG: the case cannot run here (exit 77).
skip()
{
	CD_SKIP_MSG="$*"
	exit 77
}

need_root()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# step MSG: say in the log what the case does next.
step()
{
	echo "== $*"
}

_cd_on_err()
{
	local rc=$1 cmd=$2
	# A failure inside $(...) or ( ) fails the command around it too;
	# report that one, in the main shell, only.
	[ "$BASH_SUBSHELL" -eq 0 ] || return 0
	CD_FAIL_MSG="${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}: exit $rc: $cmd"
	echo "FAIL: $CASE_NAME: $CD_FAIL_MSG" >&2
}

# --- small predicates ------------------------------------------------------

# pid_alive PID: the process exists and one of its threads is not a
# zombie. (Daemons are reparented to whatever reaps orphans here, which
# may be slow to do so.) Every thread counts: a killed daemon's main
# thread can be a zombie while another thread still ends a system call,
# its files open and the cache directory's lock held.
pid_alive()
{
	local t s
	for t in "/proc/$1/task/"*/stat; do
		s=$(sed 's/^.*) //' "$t" 2>/dev/null | cut -c1) || continue
		[ -z "$s" ] || [ "$s" = Z ] || [ "$s" = X ] || return 0
	done
	return 1
}

# is_mounted MNT: a FUSE file system is mounted on MNT (/proc/self/mounts).
is_mounted()
{
	local m=$1
	[[ $m == /* ]] || m=$PWD/$m
	awk -v d="${m%/}" '
	function unesc(s,   r, i) {
		r = ""
		while ((i = index(s, "\\")) > 0) {
			r = r substr(s, 1, i - 1) sprintf("%c", \
			    substr(s, i + 1, 1) * 64 + substr(s, i + 2, 1) * 8 + \
			    substr(s, i + 3, 1))
			s = substr(s, i + 4)
		}
		return r s
	}
	unesc($2) == d && $3 ~ /^fuse/ { found = 1 }
	END { exit !found }' /proc/self/mounts
}

# mount_count MNT: how many mounts of any type sit exactly on MNT.
mount_count()
{
	awk -v d="${1%/}" '$2 == d { n++ } END { print n + 0 }' /proc/self/mounts
}

# is_sanitized: CD_BIN is built with AddressSanitizer or ThreadSanitizer
# (slower, more memory): cases do less work then.
is_sanitized()
{
	grep -qaE '__(asan|tsan)_init' "$CD_BIN"
}

# --- mounting --------------------------------------------------------------

# Fills CD_ARGV with the mount command line. Options the caller passes
# replace the defaults instead of being given twice.
_cd_mount_argv()
{
	local remote=$1 mnt=$2 a
	local cache=1 pid=1 log=1 poll=1 delay=1
	shift 2
	CD_PIDFILE=$T/daemon.pid
	for a in "$@"; do
		case $a in
		--cache-dir|--cache-dir=*) cache=0 ;;
		--pid-file=*) pid=0; CD_PIDFILE=${a#--pid-file=} ;;
		--pid-file) pid=0; CD_PIDFILE=next ;;
		--log-file|--log-file=*) log=0 ;;
		--poll-interval|--poll-interval=*) poll=0 ;;
		--upload-delay|--upload-delay=*) delay=0 ;;
		*) [ "$CD_PIDFILE" != next ] || CD_PIDFILE=$a ;;
		esac
	done
	CD_ARGV=("$CD_BIN" mount)
	[ $cache = 0 ] || CD_ARGV+=(--cache-dir "$T/cache")
	[ $pid = 0 ] || CD_ARGV+=(--pid-file "$T/daemon.pid")
	[ $log = 0 ] || CD_ARGV+=(--log-file "$T/daemon.log")
	[ $poll = 0 ] || CD_ARGV+=(--poll-interval 1s)
	[ $delay = 0 ] || CD_ARGV+=(--upload-delay 200ms)
	CD_ARGV+=("$@" "$remote" "$mnt")
}

# Note the daemon serving MNT (after a successful mount).
_cd_record()
{
	local mnt=$1 pid
	CD_MOUNTS+=("$mnt")
	pid=$(head -n1 "$CD_PIDFILE" 2>/dev/null | tr -dc 0-9) || pid=''
	if [ -n "$pid" ]; then
		CD_PIDS+=("$pid")
		CD_PID_OF[$mnt]=$pid
	fi
}

# cd_mount REMOTE MNT [extra mount args...]: mount with the test defaults
# (cache, pid file and log in $T, poll 1s, upload delay 200ms); dies unless
# mount exits 0 with MNT mounted and the pid file naming a live daemon.
cd_mount()
{
	[ $# -ge 2 ] || die "usage: cd_mount REMOTE MNT [args...]"
	local rc=0 pid
	_cd_mount_argv "$@"
	echo "+ ${CD_ARGV[*]}"
	timeout 60 "${CD_ARGV[@]}" || rc=$?
	if [ $rc -ne 0 ]; then
		CD_MOUNTS+=("$2")	# half-done mounts get cleaned up too
		die "mount of $1 on $2 failed (exit $rc)"
	fi
	is_mounted "$2" || die "mount exited 0 but $2 is not a FUSE mount"
	_cd_record "$2"
	# A stale mount is listed too: the mount must also answer. (stat may be
	# served from cached attributes; statfs always asks the daemon.)
	stat -f -- "$2" >/dev/null || die "mount exited 0 but $2 does not answer"
	pid=${CD_PID_OF[$2]:-}
	[ -n "$pid" ] || die "no pid in the pid file $CD_PIDFILE after mount"
	pid_alive "$pid" || die "pid file $CD_PIDFILE names $pid, which is not running"
}

# cd_try_mount REMOTE MNT [args...]: like cd_mount, but only returns mount's
# exit code; its stdout+stderr are in $T/mount.out (and the log).
cd_try_mount()
{
	local rc=0
	_cd_mount_argv "$@"
	echo "+ ${CD_ARGV[*]}"
	timeout 60 "${CD_ARGV[@]}" >"$T/mount.out" 2>&1 || rc=$?
	cat "$T/mount.out"
	if [ $rc -eq 0 ] || is_mounted "$2"; then
		_cd_record "$2"
	fi
	return $rc
}

# cd_await_crash PID POINT: the daemon PID dies at crash point POINT
# within 30 s, as its log says; dies otherwise.
cd_await_crash()
{
	wait_for 30 not pid_alive "$1" || die "the crash point was not reached"
	grep -q "crash at $2" "$T/daemon.log" ||
		die "the daemon died elsewhere than at $2"
}

# cd_drop_dead MNT: takes down the mount of a daemon that died (a crash
# point, a kill), as an administrator would after a crash.
cd_drop_dead()
{
	fusermount3 -u -z "$1" 2>/dev/null || umount -l "$1"
}

# cd_unmount MNT [unmount args...]: clonedrive unmount; dies unless it exits
# 0, MNT is no longer mounted and its daemon has exited.
cd_unmount()
{
	local mnt=$1 rc=0 pid i
	shift
	echo "+ $CD_BIN unmount ${*:+$* }$mnt"
	timeout 120 "$CD_BIN" unmount "$@" "$mnt" || rc=$?
	[ $rc -eq 0 ] || die "unmount $mnt failed (exit $rc)"
	! is_mounted "$mnt" || die "unmount exited 0 but $mnt is still mounted"
	pid=${CD_PID_OF[$mnt]:-}
	if [ -n "$pid" ]; then
		for ((i = 0; i < 100; i++)); do
			pid_alive "$pid" || return 0
			sleep 0.1
		done
		die "daemon $pid still running 10s after unmount of $mnt"
	fi
}

# cd_adopt MNT [PIDFILE]: take a mount made without cd_mount (e.g. mount -f
# in the background) into the cleanup at exit.
cd_adopt()
{
	CD_PIDFILE=${2:-$T/daemon.pid}
	_cd_record "$1"
}

# cd_pid: pid of the latest mount's daemon, from its pid file.
cd_pid()
{
	cat "${CD_PIDFILE:-$T/daemon.pid}"
}

# cd_kill9 [PID]: SIGKILL the daemon (default: cd_pid) and wait until it is
# gone. Its mount is left stale: "Transport endpoint is not connected" for
# everything that reaches the daemon (stat may still be answered from the
# kernel's attribute cache; ls and stat -f are not).
cd_kill9()
{
	local pid=${1:-$(cd_pid)} i
	kill -KILL "$pid"
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	pid_alive "$pid" && die "daemon $pid survived SIGKILL for 10s"
	# As a user would see it: also reaped, not a zombie any more.
	for ((i = 0; i < 100; i++)); do
		[ -e "/proc/$pid" ] || return 0
		sleep 0.1
	done
	echo "note: daemon $pid killed but not reaped after 10s"
}

# cd_track_mount MNT: take down this (non-clonedrive) mount at exit.
cd_track_mount()
{
	CD_OTHER_MOUNTS+=("$1")
}

# --- the daemon's xattr interface -----------------------------------------

# stat_of MNT KEY: value of KEY in the user.clonedrive.stats xattr of MNT.
stat_of()
{
	local all
	all=$(getfattr --absolute-names --only-values \
		-n user.clonedrive.stats -- "$1") || return 1
	awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); print; f = 1; exit }
		END { exit !f }' <<<"$all" && return 0
	echo "stat_of: no key '$2' in user.clonedrive.stats of $1:" >&2
	printf '%s\n' "$all" >&2
	return 1
}

# state_of FILE: the user.clonedrive.state xattr of FILE.
state_of()
{
	getfattr --absolute-names --only-values -n user.clonedrive.state -- "$1"
}

# state_is FILE STATE: predicate, e.g. wait_for 10 state_is "$M/f" hydrated
state_is()
{
	local s
	s=$(state_of "$1" 2>/dev/null) || return 1
	[ "$s" = "$2" ]
}

# cd_sync MNT [SECONDS]: block until every pending remote operation of the
# mount is done (setfattr user.clonedrive.sync); dies if that fails.
cd_sync()
{
	local mnt=$1 secs=${2:-60} pending
	if ! timeout $((secs + 30)) setfattr -n user.clonedrive.sync \
		-v "$secs" -- "$mnt"; then
		pending=$(stat_of "$mnt" uploads_pending 2>&1) || true
		die "sync of $mnt did not finish within ${secs}s (uploads_pending=$pending)"
	fi
}

# cd_refresh MNT: make the daemon poll the remote now.
cd_refresh()
{
	setfattr -n user.clonedrive.refresh -v 1 -- "$1"
}

# --- waiting and asserting -------------------------------------------------

# wait_for TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds; fail the
# case if it has not within TIMEOUT_S seconds (fractions allowed).
wait_for()
{
	local secs=$1 deadline
	shift
	deadline=$(($(date +%s%N) + $(awk -v s="$secs" \
		'BEGIN { printf "%.0f", s * 1000000000 }')))
	while :; do
		if ("$@") >/dev/null 2>&1; then
			return 0
		fi
		[ "$(date +%s%N)" -lt "$deadline" ] || break
		sleep 0.1
	done
	echo "wait_for: last try of: $*" >&2
	("$@") >&2 || true
	die "timed out after ${secs}s waiting for: $*"
}

# not CMD...: negation usable as a command, e.g. wait_for 5 not test -e F
not()
{
	! "$@"
}

# assert_eq ACTUAL EXPECTED [MSG]
assert_eq()
{
	[ "$1" == "$2" ] || die "${3:-assert_eq}: got '$1', expected '$2'"
}

# assert_le A B [MSG]: integers, A <= B.
assert_le()
{
	[ "$1" -le "$2" ] || die "${3:-assert_le}: $1 > $2"
}

# assert_file_eq F1 F2: same bytes.
assert_file_eq()
{
	cmp -- "$1" "$2" >&2 || die "$1 and $2 differ"
}

# assert_fails TEXT CMD...: CMD must fail and say TEXT (e.g. the strerror of
# the expected errno: "Operation not permitted").
assert_fails()
{
	local want=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	[ $rc -ne 0 ] || die "expected '$want', but it succeeded: $*"
	[[ $out == *"$want"* ]] ||
		die "expected '$want' from: $*; got (exit $rc): $out"
	echo "ok, failed as expected: $out"
}

# --- data helpers ----------------------------------------------------------

# random_file PATH SIZE: SIZE random bytes (head -c suffixes: K, M = KiB, MiB).
random_file()
{
	head -c "$2" /dev/urandom >"$1"
}

# pipe_copy SRC DST: copy through a pipe, so that the writer has no file open
# for reading (the ordinary write path, not copy-as-clone).
pipe_copy()
{
	dd if="$1" bs=1M status=none | dd of="$2" bs=1M status=none
}

# sha FILE: its sha256, hex.
sha()
{
	local s
	s=$(sha256sum <"$1") || return 1
	echo "${s%% *}"
}

# rename_noreplace OLD NEW: renameat2(RENAME_NOREPLACE); on failure says
# strerror, e.g. "File exists".
rename_noreplace()
{
	python3 - "$1" "$2" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_NOREPLACE = -100, 1
if libc.renameat2(AT_FDCWD, os.fsencode(sys.argv[1]),
                  AT_FDCWD, os.fsencode(sys.argv[2]), RENAME_NOREPLACE):
    sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
EOF
}

# --- the test user -----------------------------------------------------------
#
# What a user who is not root gets is checked as the suite's test user,
# nobody (CD_TEST_UID; tests/conformance uses it too).

CD_TEST_UID=65534

# give_test_user PATH...: makes each PATH the test user's (chown), creating
# what does not exist as an empty file: a directory it writes to, a pid
# file for the runner to find ($T/NAME.pid).
give_test_user()
{
	local p
	for p in "$@"; do
		[ -e "$p" ] || : >"$p"
		chown "$CD_TEST_UID:$CD_TEST_UID" -- "$p"
	done
}

# as_test_user [--bind SRC DST]... SCRIPT [ARG...]: runs the bash SCRIPT
# (its text, with ARGs as $1...) as the test user, in a mount namespace of
# its own in which each SRC is bound over its DST (a private fstab, say),
# and in which
# /dev/fuse is a node of mode 0666 bound over it, there only: the user can
# mount through fusermount3 as on stock Debian, where udev makes the device
# 0666 (without udev it stays root's 0600, and the machine's is never
# changed). Mounts made there are seen there only. The script must unmount
# what it mounts, or its daemon keeps the namespace alive; pid files it
# gives as $T/NAME.pid (made with give_test_user) let the runner end such
# a daemon. T and CD_BIN are in its environment, and HOME=$T/home, the
# user's own; T is made reachable for the user (0755). Returns the
# script's exit status. Skips unless root.
as_test_user()
{
	local script binds=()
	while [ "${1:-}" = --bind ]; do
		binds+=("$2" "$3")
		shift 3
	done
	script=$1
	shift
	need_root
	command -v unshare >/dev/null || skip "unshare is missing (util-linux)"
	chmod 755 "$T"
	mkdir -p "$T/home" "$T/ns-dev"
	give_test_user "$T/home"
	setpriv --reuid="$CD_TEST_UID" --regid="$CD_TEST_UID" --clear-groups \
		test -x "$CD_BIN" || skip "the test user cannot run $CD_BIN"
	T=$T CD_BIN=$CD_BIN unshare --mount --propagation private -- bash -c '
		set -e
		uid=$1 n=$2
		shift 2
		mount -t tmpfs -o mode=0755,size=64k cd-test-dev "$T/ns-dev"
		mknod -m 0666 "$T/ns-dev/fuse" c 10 229
		mount --bind "$T/ns-dev/fuse" /dev/fuse
		for ((i = 0; i < n; i++)); do
			mount --bind "$1" "$2"
			shift 2
		done
		script=$1
		shift
		exec setpriv --reuid="$uid" --regid="$uid" --clear-groups \
			env HOME="$T/home" USER=nobody LOGNAME=nobody \
			bash -c "$script" test-user "$@"
	' as-test-user "$CD_TEST_UID" $((${#binds[@]} / 2)) "${binds[@]}" \
		"$script" "$@"
}

# --- S3 ----------------------------------------------------------------------
#
# For cases in tests/cases/s3/: tests/run-cases.sh starts one S3 server
# (tests/s3/server.sh, Ceph's RADOS Gateway on loopback) for all of them and
# exports CD_TEST_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION, CD_TEST_S3_STATE (its state dir; also as S3_STATE_DIR) and
# CD_TEST_S3_SERVER (the script). Cases share the server, each in buckets of
# its own; a case that takes the gateway down (s3_gateway) waits until it
# has the server to itself. The requests go through tests/s3/s3req.py.

# need_s3: fail the case (not skip) unless the runner's S3 server is there
# and answers a signed request of the test user; waits up to 30 s, for a
# gateway another case is restarting. Shares the server with the other s3
# cases until this one ends.
need_s3()
{
	local v i
	[ -z "$CD_S3_LOCK_FD" ] || return 0
	for v in CD_TEST_S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
		CD_TEST_S3_STATE CD_TEST_S3_SERVER; do
		[ -n "${!v:-}" ] || die "no S3 server: $v is not set" \
			"(tests/run-cases.sh starts one for the cases in s3/)"
	done
	[ -d "$CD_TEST_S3_STATE" ] ||
		die "no S3 server: no state dir $CD_TEST_S3_STATE"
	exec {CD_S3_LOCK_FD}>>"$CD_TEST_S3_STATE/cases.lock"
	if ! flock -n -s "$CD_S3_LOCK_FD"; then
		echo "need_s3: waiting for a case that has the server to itself"
		flock -s "$CD_S3_LOCK_FD"
	fi
	for ((i = 0; i < 30; i++)); do
		"${CD_S3_REQ[@]}" ping 2>/dev/null && return 0
		sleep 1
	done
	"${CD_S3_REQ[@]}" ping ||
		die "the S3 server at $CD_TEST_S3_ENDPOINT does not answer"
}

# s3_bucket [NAME]: create a fresh bucket, named after NAME (default: the
# case) plus a random suffix, and make it the current one: S3_BUCKET, the
# bucket of s3_put, s3_get, s3_rm, s3_ls and s3_head. Dies on failure.
# Emptied and deleted when the case ends.
s3_bucket()
{
	local name
	need_s3
	name=$(printf 'cd-%s' "${1:-$CASE_NAME}" | tr 'A-Z' 'a-z' |
		tr -c 'a-z0-9-' '-' | cut -c1-50)
	name=${name%-}-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	"${CD_S3_REQ[@]}" mb "$name" || die "could not create the bucket $name"
	CD_S3_BUCKETS+=("$name")
	S3_BUCKET=$name
	echo "s3 bucket: $S3_BUCKET"
}

_cd_s3_req()
{
	[ -n "$S3_BUCKET" ] || die "no S3 bucket: call s3_bucket first"
	"${CD_S3_REQ[@]}" "$1" "$S3_BUCKET" "${@:2}"
}

# s3_put KEY FILE [NAME=VALUE...]: upload FILE ("-": stdin) as KEY, behind
#	the drive's back, with metadata x-amz-meta-NAME: VALUE for each.
# s3_get KEY FILE: download KEY to FILE ("-": stdout); nothing is written
#	to FILE if it fails.
# s3_rm KEY: delete KEY (also succeeds if there is none).
# s3_ls [PREFIX]: the keys under PREFIX, one a line, sorted.
# s3_head KEY: size=N, etag=E, mtime=DATE and meta-NAME=V lines.
# s3_uploads: the multipart uploads in progress, "KEY PARTS" lines.
# s3_abort: aborts them all, behind the drive's back.
# s3_parts KEY: how many parts of KEY's upload in progress are on the
#	server (0 if none); s3_has_parts KEY N: predicate, at least N.
# All on S3_BUCKET; they return non-zero on failure (3: no such key or
# bucket) with the reason on stderr, so they work in wait_for and not.
s3_put() { _cd_s3_req put "$@"; }
s3_get() { _cd_s3_req get "$@"; }
s3_rm() { _cd_s3_req rm "$@"; }
s3_ls() { _cd_s3_req ls "$@"; }
s3_head() { _cd_s3_req head "$@"; }
s3_uploads() { _cd_s3_req uploads "$@"; }
s3_abort() { _cd_s3_req abort "$@"; }
s3_parts() { s3_uploads | awk -v k="$1" '$1 == k { n = $2 } END { print n + 0 }'; }
s3_has_parts() { [ "$(s3_parts "$1")" -ge "$2" ]; }

# s3_gateway stop|start|restart: take the gateway down, bring it back, or
# both (tests/s3/server.sh; the Ceph cluster behind it keeps running, and
# so the data). Waits first until no other s3 case runs, and keeps the
# server to itself until the case ends; a gateway left stopped is started
# again at exit (by the runner if the case is killed: $T/s3-gateway-down
# tells it). Dies on failure.
s3_gateway()
{
	case ${1:-} in
	stop|start|restart) ;;
	*) die "usage: s3_gateway stop|start|restart" ;;
	esac
	need_s3
	if [ $CD_S3_EXCLUSIVE = 0 ]; then
		if ! flock -n -x "$CD_S3_LOCK_FD"; then
			echo "s3_gateway: waiting until no other s3 case runs"
			flock -x "$CD_S3_LOCK_FD"
		fi
		CD_S3_EXCLUSIVE=1
	fi
	touch "$T/s3-gateway-down"
	S3_STATE_DIR=$CD_TEST_S3_STATE "$CD_TEST_S3_SERVER" "$1-gateway" ||
		die "tests/s3/server.sh $1-gateway failed"
	[ "$1" = stop ] || rm -f "$T/s3-gateway-down"
}

# --- cleanup ---------------------------------------------------------------

_cd_exit()
{
	local rc=$? i m pid n
	set +eE
	trap - ERR
	for ((i = ${#CD_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${CD_MOUNTS[i]}
		for ((n = 0; n < 3; n++)); do
			is_mounted "$m" || break
			timeout 30 "$CD_BIN" unmount --force "$m" >&2 2>&1 &&
				! is_mounted "$m" && break
			echo "cleanup: unmount --force $m failed; fusermount3 -u -z" >&2
			fusermount3 -u -z "$m" || umount -l "$m"
		done
	done
	for pid in "${CD_PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		if pid_alive "$pid"; then
			echo "cleanup: daemon $pid alive 10s after unmount; SIGKILL" >&2
			kill -KILL "$pid"
		fi
	done
	for ((i = ${#CD_OTHER_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${CD_OTHER_MOUNTS[i]}" 2>/dev/null
	done
	if [ -e "$T/s3-gateway-down" ]; then
		echo "cleanup: starting the S3 gateway the case stopped" >&2
		S3_STATE_DIR=$CD_TEST_S3_STATE "$CD_TEST_S3_SERVER" \
			start-gateway >&2 && rm -f "$T/s3-gateway-down"
	fi
	for m in "${CD_S3_BUCKETS[@]}"; do
		timeout 60 "${CD_S3_REQ[@]}" purge "$m" ||
			echo "cleanup: could not delete the bucket $m" >&2
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		if [ -s "$T/daemon.log" ]; then
			echo "--- tail of daemon.log ---" >&2
			tail -n 12 "$T/daemon.log" >&2
		fi
		echo "FAILED: $CASE_NAME: ${CD_FAIL_MSG:-exit $rc}" >&2
	fi
	if [ $CD_OWN_T = 1 ]; then
		rm -rf --one-file-system "$T"
	fi
	if [ $rc -eq 77 ]; then
		echo "skipped: $CD_SKIP_MSG"
	fi
	exit $rc
}

# --- setup -----------------------------------------------------------------

if [ -z "${T:-}" ]; then
	T=$(mktemp -d "${TMPDIR:-/tmp}/cd-case.XXXXXXXX")
	CD_OWN_T=1
fi
T=$(realpath -- "$T")
export T
CD_BIN=${CD_BIN:-$CD_LIB_DIR/../build/clonedrive}
CD_BIN=$(realpath -m -- "$CD_BIN")

trap _cd_exit EXIT
trap '_cd_on_err $? "$BASH_COMMAND"' ERR
trap 'CD_FAIL_MSG="killed by SIGTERM (timeout?)"; exit 143' TERM
trap 'CD_FAIL_MSG="interrupted"; exit 130' INT

[ -x "$CD_BIN" ] || die "no clonedrive binary at $CD_BIN"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3 (apt-get install fuse3)"
for _cd_tool in getfattr setfattr python3 timeout cmp; do
	command -v "$_cd_tool" >/dev/null || die "$_cd_tool missing: run scripts/deps.sh"
done
unset _cd_tool

R=$T/remote
M=$T/mnt
mkdir -p "$R" "$M"
echo "case $CASE_NAME: T=$T CD_BIN=$CD_BIN"
[ "${CD_TRACE:-0}" != 1 ] || set -x
