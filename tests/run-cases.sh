#!/usr/bin/env bash
#
# tests/run-cases.sh [-j N] [--timeout S] [--only REGEX] [--out DIR] BIN
#
# Runs every executable tests/cases/<area>/<name>.sh against the clonedrive
# binary BIN, N at a time (default 2). Each case runs with
#
#   CD_BIN     absolute path of BIN
#   T          a fresh private temp directory (mktemp -d under ${TMPDIR:-/tmp})
#   CASE_NAME  <area>/<name>
#
# its working directory in $T, no stdin, a timeout (default 180 s, then
# SIGTERM to the case's process group and SIGKILL 15 s later), and its
# stdout+stderr in DIR/<area>/<name>.log (DIR defaults to tests/out).
#
# After each case the runner cleans up whatever the case left behind, so a
# crashed or hung case cannot disturb the next one: it force-unmounts every
# mount under $T (read from /proc/self/mounts, deepest first), kills the
# clonedrive daemons whose pids are recorded in $T/*.pid (only those), and
# removes $T. Sanitizer reports of sanitized builds are sent to $T/asan.*,
# $T/ubsan.* and $T/tsan.* (log_path): a case that leaves one fails, and the report is
# appended to its log. This catches errors in the daemon, whose stderr is
# gone once it has detached.
#
# If a selected case is in area s3, the runner first starts one S3 server
# for the run (tests/s3/server.sh: Ceph's RADOS Gateway on loopback; its
# output in DIR/s3-server.log, the daemons' logs copied to DIR/s3-server/ at
# the end), exports its env to the cases (CD_TEST_S3_ENDPOINT, AWS_*,
# CD_TEST_S3_STATE = S3_STATE_DIR, CD_TEST_S3_SERVER: the script) and stops
# it when the run ends, also when the runner is interrupted. A gateway an s3
# case left stopped is started again after it. If the server cannot start,
# every s3 case fails with the reason; the other cases run.
#
# Exit code 77 from a case means skipped. The runner prints one line per
# case (PASS, FAIL with the tail of the log, SKIP with its reason) and last
#
#   cases: N passed, M failed, K skipped
#
# and exits 1 if any case failed (2 on bad usage).
#
set -uo pipefail

usage()
{
	sed -n '3,39s/^# \{0,1\}//p' "$0"
}

jobs=${CD_CASE_JOBS:-2}
timeout_s=${CD_CASE_TIMEOUT:-180}
only=''
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out

while [ $# -gt 0 ]; do
	case $1 in
	-j) jobs=${2:?-j needs a number}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	--only) only=${2:?--only needs a pattern}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) echo "run-cases: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -ne 1 ]; then
	usage >&2
	exit 2
fi
if [ ! -x "$1" ] || [ -d "$1" ]; then
	echo "run-cases: $1: not an executable file" >&2
	exit 2
fi
bin=$(realpath -- "$1")
mkdir -p "$out"
out=$(realpath -- "$out")

# Octal escapes in /proc/self/mounts (\040 for a space and so on) decoded.
# Prints "FSTYPE MOUNTPOINT" for every mount at or below $1, deepest first.
mounts_under()
{
	awk -v d="$1" '
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
	{
		m = unesc($2)
		if (m == d || index(m, d "/") == 1)
			print length(m), $3, m
	}' /proc/self/mounts | sort -rn | cut -d' ' -f2-
}

# True if $1 is a live (not zombie) process running BIN or a clonedrive.
is_clonedrive_pid()
{
	local pid=$1 exe state argv0
	[ -r "/proc/$pid/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=''
	argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1)
	[ "${exe% (deleted)}" = "$bin" ] || [[ ${argv0##*/} == *clonedrive* ]]
}

# Undo whatever the case in $1 left behind. Talks to its stdout (the log).
cleanup_case()
{
	local t=$1 fstype m pf pid i

	# Unmount first: a daemon whose mount goes away exits by itself.
	while read -r fstype m; do
		echo "runner: $m still mounted ($fstype) after the case; unmounting"
		if [[ $fstype == fuse* ]]; then
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"
		else
			umount -l "$m"
		fi
	done < <(mounts_under "$t")

	for pf in "$t"/*.pid; do
		[ -f "$pf" ] || continue
		pid=$(head -n1 "$pf" | tr -dc '0-9')
		[ -n "$pid" ] || continue
		is_clonedrive_pid "$pid" || continue
		echo "runner: daemon $pid (from ${pf##*/}) still running; SIGTERM"
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			is_clonedrive_pid "$pid" || break
			sleep 0.1
		done
		if is_clonedrive_pid "$pid"; then
			echo "runner: daemon $pid ignored SIGTERM; SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	done

	# A killed daemon leaves a stale FUSE mount behind: once more.
	while read -r fstype m; do
		umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null
	done < <(mounts_under "$t")
}

# report VERDICT ID NOTE LOG: record the result in $results; print the
# report under the lock so that reports of parallel cases do not interleave.
report()
{
	local verdict=$1 id=$2 note=$3 log=$4 r

	echo "$verdict $id" >>"$results"
	r=$(mktemp "$work/report.XXXXXX")
	{
		echo "$verdict $id $note"
		if [ "$verdict" = FAIL ]; then
			echo "    --- last 30 lines of ${log#"$PWD"/} ---"
			tail -n 30 "$log" | sed 's/^/    | /'
		fi
	} >"$r"
	flock "$work/print.lock" cat "$r"
	rm -f "$r"
}

# After a case that stopped the S3 gateway and could not start it again
# (killed by the timeout, say; tests/lib.sh's s3_gateway leaves
# $T/s3-gateway-down until it has): start it. Under the shared lock of
# s3_gateway: not while another case has the server to itself.
s3_gateway_up()
{
	echo "runner: the case left the S3 gateway stopped; start-gateway"
	flock -s "$s3_state/cases.lock" \
		env S3_STATE_DIR="$s3_state" "$s3_server" start-gateway
}

# Run one case and report it.
run_one()
{
	local script=$1 id=$2 log=$out/$2.log t rc start end tenths dur
	local verdict note f

	mkdir -p "$(dirname "$log")"
	if [[ $id == s3/* ]] && [ -n "$s3_error" ]; then
		{
			echo "runner: not run: $s3_error"
			echo "runner: last lines of $out/s3-server.log:"
			tail -n 20 "$out/s3-server.log"
		} >"$log"
		report FAIL "$id" "(not run: $s3_error)" "$log"
		return
	fi
	if ! t=$(mktemp -d "${TMPDIR:-/tmp}/cd-case.XXXXXXXX"); then
		echo "FAIL $id (mktemp failed)" >>"$results"
		return
	fi
	start=$(date +%s%N)
	# Append mode: processes of a killed case may still write while the
	# runner adds its notes. The outer 2>/dev/null drops bash's "Killed"
	# notice when timeout has to SIGKILL the case.
	: >"$log"
	{
		(
			cd "$t" || exit 1
			exec env CD_BIN="$bin" T="$t" CASE_NAME="$id" \
				ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$t/asan" \
				UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$t/ubsan" \
				TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$t/tsan" \
				timeout -k 15 "$timeout_s" "$script"
		) </dev/null >>"$log" 2>&1
	} 2>/dev/null
	rc=$?
	end=$(date +%s%N)
	tenths=$(((end - start) / 100000000))
	dur="$((tenths / 10)).$((tenths % 10))s"

	{
		cleanup_case "$t"
		if [ -e "$t/s3-gateway-down" ] && [ -n "$s3_state" ]; then
			s3_gateway_up
		fi
		for f in "$t"/asan.* "$t"/ubsan.* "$t"/tsan.*; do
			[ -f "$f" ] || continue
			echo "runner: sanitizer report ${f##*/}:"
			cat "$f"
			if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
				rc=1
			fi
		done
	} >>"$log" 2>&1
	# a failure keeps the case's logs (the daemon's, the stress
	# tester's ops) beside its own, for what the last lines do not say
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		mkdir -p "${log%.log}.files" &&
			find "$t" -maxdepth 2 -name '*.log' -size -64M \
				-exec cp -t "${log%.log}.files" {} + 2>/dev/null
	fi
	if ! rm -rf --one-file-system "$t" 2>>"$log"; then
		echo "runner: could not remove $t" >>"$log"
	fi

	case $rc in
	0) verdict=PASS; note="($dur)" ;;
	77) verdict=SKIP; note="($(tail -n1 "$log" | sed 's/^skipped: //' | cut -c1-160))" ;;
	124|137) verdict=FAIL; note="($dur, timed out after ${timeout_s}s)" ;;
	*) verdict=FAIL; note="($dur, exit $rc)" ;;
	esac
	report $verdict "$id" "$note" "$log"
}

# Start the S3 server for the s3 cases; on failure set s3_error.
s3_start()
{
	local slog=$out/s3-server.log

	s3_state=$(mktemp -d "${TMPDIR:-/tmp}/cd-s3.XXXXXXXX") || {
		s3_error="mktemp failed for the S3 server's state dir"
		return
	}
	echo "run-cases: starting the S3 server" \
		"(tests/s3/server.sh; ${slog#"$PWD"/})"
	if S3_STATE_DIR=$s3_state "$s3_server" start >"$slog" 2>&1 &&
		. "$s3_state/env"; then
		export CD_TEST_S3_SERVER=$s3_server S3_STATE_DIR=$s3_state
		echo "run-cases: S3 server at $CD_TEST_S3_ENDPOINT," \
			"$(grep -o 'started in .*' "$slog")"
		return
	fi
	s3_error="the S3 server did not start ($(tail -n1 "$slog"))"
	echo "run-cases: FAILED to start the S3 server; every s3 case fails." \
		"Last lines of ${slog#"$PWD"/} (the daemons' logs go to" \
		"${out#"$PWD"/}/s3-server/):"
	tail -n 40 "$slog" | sed 's/^/    | /'
}

# Stop the S3 server (if started) and keep its logs; remove the work dir.
# The EXIT trap: runs also when the runner is interrupted.
finish()
{
	local slog=$out/s3-server.log

	if [ -n "$s3_state" ]; then
		rm -rf "$out/s3-server"
		if [ -d "$s3_state/log" ]; then
			cp -r "$s3_state/log" "$out/s3-server"
		fi
		if ! S3_STATE_DIR=$s3_state "$s3_server" stop \
			>>"$slog" 2>&1; then
			echo "run-cases: stopping the S3 server failed:"
			tail -n 10 "$slog" | sed 's/^/    | /'
		fi
	fi
	rm -rf "$work"
}

s3_server=$here/s3/server.sh
s3_state=''	# the S3 server's state dir, once started
s3_error=''	# why the S3 server is not there for the s3 cases
work=$(mktemp -d "${TMPDIR:-/tmp}/cd-runner.XXXXXXXX") || exit 2
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
results=$work/results
: >"$results"

cases=()
ids=()
while IFS= read -r script; do
	id=${script#"$here/cases/"}
	id=${id%.sh}
	if [ -n "$only" ] && ! [[ $id =~ $only ]]; then
		continue
	fi
	if [ ! -x "$script" ]; then
		echo "WARN $id: not executable, not run (chmod +x it)"
		continue
	fi
	cases+=("$script")
	ids+=("$id")
done < <(find "$here/cases" -mindepth 2 -maxdepth 2 -type f -name '*.sh' 2>/dev/null | sort)

if [ ${#cases[@]} -eq 0 ]; then
	if [ -n "$only" ]; then
		echo "run-cases: no case matches $only"
	else
		echo "run-cases: no case found"
	fi
	echo "cases: 0 passed, 0 failed, 0 skipped"
	[ -z "$only" ]
	exit
fi

echo "run-cases: ${#cases[@]} cases, $jobs at a time, ${timeout_s}s each, binary $bin"
for id in "${ids[@]}"; do
	if [[ $id == s3/* ]]; then
		s3_start
		break
	fi
done
for i in "${!cases[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_one "${cases[$i]}" "${ids[$i]}" &
done
wait

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
echo "cases: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
