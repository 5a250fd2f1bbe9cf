# bench/lib.sh - helpers shared by the benchmark scripts (foundation.sh,
# residency.sh, clone.sh, s3.sh, latency.sh). Sourced, not run: each script
# sets 'set -uo pipefail' and SCRIPT_DIR first, then '. "$SCRIPT_DIR/lib.sh"'.
#
# What a script provides: RUNS (its default) and OP_TIMEOUT before
# parse_options; usage; optionally extra_option (its own flags); report (its
# table), called by finish; RESULTS_FILE.
#
# Sourcing it opens fd 9 on stderr for progress and sets the exit trap: from
# then on, the mounts in ACTIVE_MOUNTS, the daemons in STARTED and PID_FILES,
# the file systems in FS_MOUNTS and the work dir are cleaned up on any exit, a
# signal included.

REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
CD_BIN=${CD_BIN:-$REPO_DIR/build/clonedrive}
CD_EXE=$(basename "$(readlink -f "$CD_BIN" 2>/dev/null || echo clonedrive)")

MOUNT_TIMEOUT=120                 # seconds for a mount to be up
EXIT_TIMEOUT=${EXIT_TIMEOUT:-60}  # seconds to wait for a daemon to exit after unmount

# ---------------------------------------------------------------- options
QUICK=0
BASE_DIR=""
SAVE=1

# need_count NAME VALUE: exit 2 unless VALUE is a positive integer
need_count() {
	case "$2" in ''|*[!0-9]*|0) echo "$1 needs a positive integer" >&2; exit 2 ;; esac
}

# parse_options ARGS...: the options every script takes; a script with more
# defines extra_option FLAG, which returns 1 for a flag it does not know
parse_options() {
	local runs_set=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--quick) QUICK=1 ;;
		--runs) RUNS=${2:-}; runs_set=1; shift ;;
		--runs=*) RUNS=${1#--runs=}; runs_set=1 ;;
		--dir) BASE_DIR=${2:-}; shift ;;
		--dir=*) BASE_DIR=${1#--dir=} ;;
		--no-save) SAVE=0 ;;
		-h|--help) usage; exit 0 ;;
		*)
			if ! { declare -F extra_option >/dev/null && extra_option "$1"; }; then
				echo "unknown option: $1" >&2; usage >&2; exit 2
			fi ;;
		esac
		shift
	done
	# a smoke test is one run unless --runs says otherwise
	if [ "$QUICK" = 1 ] && [ "$runs_set" = 0 ]; then RUNS=1; fi
	need_count --runs "$RUNS"
	need_count OP_TIMEOUT "$OP_TIMEOUT"
}

require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "$0: must run as root (drop_caches, FUSE mounts)" >&2
		exit 1
	fi
}

# progress goes to the script's own stderr, kept on fd 9: a trap may run while a
# command's stderr is redirected to a file, and its messages must not go there
exec 9>&2
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&9; }

# ---------------------------------------------------------------- state & cleanup
WORK=""
declare -a ACTIVE_MOUNTS=()   # mount points we mounted and have not unmounted
declare -a STARTED=()         # "pid:exe-basename" of processes we started
declare -a PID_FILES=()       # pid files we passed to 'clonedrive mount --pid-file'
declare -a FS_MOUNTS=()       # file systems we mounted (loop images): unmounted after the daemons
declare -a FAILS=()           # sanity failures: any makes the benchmark fail
declare -a ODD=()             # counters other than expected: reported, not fatal

fail() { FAILS+=("$*"); log "  SANITY FAILURE: $*"; }
odd() { ODD+=("$*"); log "  UNEXPECTED: $*"; }

is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

forget_mount() {
	local m=$1 i
	for i in "${!ACTIVE_MOUNTS[@]}"; do
		[ "${ACTIVE_MOUNTS[$i]}" = "$m" ] && unset 'ACTIVE_MOUNTS[i]'
	done
}

lazy_unmount() { fusermount3 -u -z "$1" 2>/dev/null || umount -l "$1" 2>/dev/null; }

# unmount_with NAME MNT CMD...: unmount MNT with CMD, lazily if it is still
# mounted after; MNT is then no longer ours to clean up
unmount_with() {
	local name=$1 mnt=$2
	shift 2
	if is_mounted "$mnt"; then
		"$@"
		if is_mounted "$mnt"; then
			log "  $name: clean unmount failed, lazy unmount"
			lazy_unmount "$mnt"
		fi
	fi
	forget_mount "$mnt"
}

# pid_alive PID EXE: true if PID is alive and still runs a binary named EXE
# (guards against PID reuse before we signal anything).
pid_alive() {
	local pid=$1 exe=$2 path
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	path=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	path=${path% (deleted)}
	[ "$(basename "$path")" = "$exe" ]
}

# stop_pid PID EXE WAIT: wait up to WAIT s for it to exit, then TERM, then KILL.
stop_pid() {
	local pid=$1 exe=$2 wait_s=${3:-0} i
	for ((i = 0; i < wait_s * 10; i++)); do
		pid_alive "$pid" "$exe" || return 0
		sleep 0.1
	done
	pid_alive "$pid" "$exe" || return 0
	log "  stopping $exe (pid $pid) with SIGTERM"
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" "$exe" || return 0
		sleep 0.1
	done
	log "  killing $exe (pid $pid) with SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	sleep 0.2
}

# daemon_pid FILE EXE: the pid in FILE once the daemon has written it (up to
# 5 s), if that process runs EXE; else nothing
daemon_pid() {
	local f=$1 exe=$2 pid i
	for ((i = 0; i < 50; i++)); do
		[ -s "$f" ] && break
		sleep 0.1
	done
	pid=$(tr -dc '0-9' <"$f" 2>/dev/null)
	pid_alive "$pid" "$exe" && echo "$pid"
}

cleanup() {
	local m p f pid
	# a second signal must not cut the clean-up short: ignore them while it runs
	trap - EXIT
	trap '' INT TERM
	for m in "${ACTIVE_MOUNTS[@]}"; do
		if is_mounted "$m"; then
			log "cleanup: lazy unmount $m"
			lazy_unmount "$m"
		fi
	done
	for p in "${STARTED[@]}"; do
		stop_pid "${p%%:*}" "${p#*:}" 5
	done
	# a daemon whose mount command timed out may have written its pid file only
	for f in "${PID_FILES[@]}"; do
		[ -f "$f" ] || continue
		pid=$(tr -dc '0-9' <"$f" 2>/dev/null)
		[ -n "$pid" ] && stop_pid "$pid" "$CD_EXE" 5
	done
	# what a script started that its subjects used (a server), once they
	# are gone: CLEANUP_HOOK names a function
	[ -z "${CLEANUP_HOOK:-}" ] || "$CLEANUP_HOOK"
	# a remote or cache dir may be on one of them: last, once no daemon uses it
	for m in "${FS_MOUNTS[@]}"; do
		if is_mounted "$m"; then
			log "cleanup: unmount $m"
			umount "$m" 2>/dev/null || { log "cleanup: $m busy, lazy unmount"; umount -l "$m"; }
		fi
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		rm -rf --one-file-system "$WORK" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- tools & work dir
APT_UPDATED=0
apt_install() {
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
		APT_UPDATED=1
	fi
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# need_tools: what every script runs (unmount, the stats xattr)
need_tools() {
	command -v fusermount3 >/dev/null || apt_install fuse3
	command -v getfattr >/dev/null || apt_install attr
}

require_cd_bin() {
	if [ ! -x "$CD_BIN" ]; then
		echo "$CD_BIN not found or not executable (build with: ninja -C build)" >&2
		exit 1
	fi
}

# private_cd_bin: runs a private copy of CD_BIN, in WORK/bin (a rebuild of
# build/ during the benchmark must not mix two binaries in one table); sets
# CD_SRC to the original and CD_EXE for the daemon checks; exits if it
# cannot be copied or does not run
private_cd_bin() {
	cp -- "$CD_BIN" "$WORK/bin/clonedrive" || { echo "cannot copy $CD_BIN" >&2; exit 1; }
	CD_SRC=$CD_BIN
	CD_BIN=$WORK/bin/clonedrive
	# shellcheck disable=SC2034 # the daemon checks above use it
	CD_EXE=clonedrive
	"$CD_BIN" help >/dev/null 2>&1 || { echo "$CD_SRC does not run (being rebuilt?)" >&2; exit 1; }
}

# make_work PREFIX: a fresh WORK dir under --dir (default /var/tmp), removed on
# exit, with REMOTE in it for the data
make_work() {
	if [ -z "$BASE_DIR" ]; then
		WORK=$(mktemp -d "/var/tmp/$1.XXXXXX") || exit 1
	else
		mkdir -p "$BASE_DIR" || exit 1
		WORK=$(mktemp -d "$BASE_DIR/$1.XXXXXX") || exit 1
	fi
	case "$WORK" in *[[:space:]]*) echo "work dir must not contain whitespace: $WORK" >&2; exit 1 ;; esac
	REMOTE=$WORK/remote      # the data; native uses it directly, the mounts as their remote
	mkdir -p "$REMOTE" "$WORK/mnt" "$WORK/cache" "$WORK/log" "$WORK/bin" "$WORK/tmp"
	log "work dir: $WORK"
}

# s3fs_mount BUCKET OPTS NAME RUN: s3fs (in the foreground, stopped at exit)
# of BUCKET with -o OPTS at WORK/mnt/NAME; sets MNT and DPID; 1, with the
# failure recorded, if it does not come up within MOUNT_TIMEOUT
s3fs_mount() {
	local bucket=$1 opts=$2 name=$3 run=$4 lp i log
	MNT=$WORK/mnt/$name
	DPID=""
	log=$WORK/log/$name.$run.log
	mkdir -p "$MNT"
	s3fs "$bucket" "$MNT" -f -o "$opts" </dev/null >>"$log" 2>&1 9>&- &
	lp=$!
	STARTED+=("$lp:s3fs")
	ACTIVE_MOUNTS+=("$MNT")
	for ((i = 0; i < MOUNT_TIMEOUT * 10; i++)); do
		is_mounted "$MNT" && break
		kill -0 "$lp" 2>/dev/null || break
		sleep 0.1
	done
	if ! is_mounted "$MNT"; then
		fail "s3fs: mount of $bucket failed ($name, run $run): $(tail -n 3 "$log" | tr '\n' ' ')"
		return 1
	fi
	pid_alive "$lp" s3fs && DPID=$lp
	return 0
}

# s3fs_unmount NAME RUN: unmounts the s3fs of s3fs_mount and stops it (in
# this shell: not in a command substitution); sets COMPLAINTS to the errors
# and warnings it logged, one line, | between them
s3fs_unmount() {
	unmount_with s3fs "$MNT" timeout 120 fusermount3 -u "$MNT"
	if [ -n "$DPID" ]; then
		stop_pid "$DPID" s3fs "$EXIT_TIMEOUT"
		wait "$DPID" 2>/dev/null
	fi
	COMPLAINTS=$(grep -E '\[(CRT|ERR|WAN)\]' "$WORK/log/$1.$2.log" 2>/dev/null | head -n 8 | tr '\n' '|' | sed 's/|$//')
}

# daemon_complaints LOGS...: the errors and warnings a clonedrive daemon
# logged, one line, | between them
daemon_complaints() {
	cat "$@" 2>/dev/null | grep -E ' (error|warning): |^clonedrive:' | head -n 8 | tr '\n' '|' | sed 's/|$//'
}

# random_file PATH MB: MB MiB of random data, or exit
random_file() {
	dd if=/dev/urandom of="$1" bs=1M count="$2" status=none || {
		echo "cannot create $1" >&2; exit 1; }
}

# ---------------------------------------------------------------- measuring
drop_caches() {
	timeout 300 sync
	echo 3 >/proc/sys/vm/drop_caches
}

# secs_since T0: seconds elapsed since $EPOCHREALTIME value T0
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }

# op CMD...: run one measured operation with a timeout; a timeout also sets
# HUNG, for a script that skips the rest of a subject's run after one
HUNG=0
op() {
	local rc
	timeout -k 10 "$OP_TIMEOUT" "$@"
	rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		HUNG=1
		log "  timed out after ${OP_TIMEOUT}s: $*"
	fi
	return "$rc"
}

# run_timed CMD...: op CMD with no input and its output discarded, stderr in
# $WORK/tmp/err.txt; SECS = its wall time, the status is CMD's
SECS=""
run_timed() {
	local t0 rc
	t0=$EPOCHREALTIME
	op "$@" </dev/null >/dev/null 2>"$WORK/tmp/err.txt"
	rc=$?
	SECS=$(secs_since "$t0")
	return "$rc"
}

declare -A RES=()    # RES[subject,metric] = space separated values, one per run
add() { RES[$1,$2]+="$3 "; }

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print 0 }'; }

# differs A B: true, printing cmp's message (or "timeout"), unless file A equals
# file B byte for byte (a check: outside the timed part)
differs() {
	local out
	out=$(timeout -k 10 "$OP_TIMEOUT" cmp -- "$1" "$2" 2>&1) && return 1
	echo "${out:-timeout}"
}

# stats_text MNT: the user.clonedrive.stats xattr of the mount, KEY=N lines
stats_text() { timeout 30 getfattr --only-values -n user.clonedrive.stats "$1" 2>/dev/null; }
# ctr TEXT KEY: a counter out of a stats text (empty if missing)
ctr() { printf '%s\n' "$1" | sed -n "s/^$2=\([0-9][0-9]*\)\$/\1/p" | head -n 1; }
# stat_num MNT KEY: a counter of the mount, or fail
stat_num() { ctr "$(stats_text "$1")" "$2" | grep .; }

# ---------------------------------------------------------------- clonedrive mounts
# cd_mount NAME RUN [MOUNT OPTIONS...]: fresh cache dir; sets MNT and DPID.
# The remote is MOUNT_REMOTE if set (default REMOTE), the cache dir is
# NAME.RUN under CACHE_ROOT if set (default WORK/cache): cd_unmount, which
# removes it, must see the same CACHE_ROOT.
MNT=""
DPID=""
cd_mount() {
	local name=$1 run=$2 pidf rc
	shift 2
	MNT=$WORK/mnt/$name
	DPID=""
	pidf=$WORK/tmp/$name.$run.pid
	mkdir -p "$MNT"
	rm -rf --one-file-system "${CACHE_ROOT:-$WORK/cache}/$name.$run"
	PID_FILES+=("$pidf")
	ACTIVE_MOUNTS+=("$MNT")
	timeout -k 10 "$MOUNT_TIMEOUT" "$CD_BIN" mount --cache-dir "${CACHE_ROOT:-$WORK/cache}/$name.$run" \
		--pid-file "$pidf" --log-file "$WORK/log/$name.$run.log" "$@" "${MOUNT_REMOTE:-$REMOTE}" "$MNT" \
		</dev/null >>"$WORK/log/$name.$run.out" 2>&1 9>&-
	rc=$?
	DPID=$(daemon_pid "$pidf" "$CD_EXE")
	[ -n "$DPID" ] && STARTED+=("$DPID:$CD_EXE")
	if [ "$rc" != 0 ] || ! is_mounted "$MNT"; then
		log "  $name: mount failed (rc=$rc): $(tail -n 3 "$WORK/log/$name.$run.out" "$WORK/log/$name.$run.log" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	[ -n "$DPID" ] || log "  $name: daemon pid not found in $pidf"
	return 0
}

cd_unmount() {
	local name=$1 run=$2
	unmount_with "$name" "$MNT" timeout 120 "$CD_BIN" unmount "$MNT" >>"$WORK/log/$name.$run.out" 2>&1
	[ -n "$DPID" ] && stop_pid "$DPID" "$CD_EXE" "$EXIT_TIMEOUT"
	# the daemon leaves its pid file: once it is gone, so is the file, so
	# the exit trap cannot signal a later process that reused the pid
	pid_alive "${DPID:-0}" "$CD_EXE" || rm -f "$WORK/tmp/$name.$run.pid"
	rm -rf --one-file-system "${CACHE_ROOT:-$WORK/cache}/$name.$run"
}

# ---------------------------------------------------------------- report
# median_lines: the median of the numbers on stdin, one a line
median_lines() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# median SUBJ METRIC: the median of the runs' values, or fail if there are none
median() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || return 1
	printf '%s\n' $vals | median_lines
}
allvals() { local vals=${RES[$1,$2]:-}; echo "${vals% }"; }

# val SUBJ METRIC FMT: the median, printf-formatted, or n/a
val() {
	local v
	if v=$(median "$1" "$2"); then awk -v v="$v" -v f="$3" 'BEGIN { printf f, v }'; else echo "n/a"; fi
}

# ratio_to SUBJ METRIC NATIVE_METRIC hi|lo: median(SUBJ) against median(native),
# 2 decimals, higher is better: hi = subject/native (rates), lo = native/subject (times)
ratio_to() {
	local n s
	n=$(median native "$3") || { echo "n/a"; return; }
	s=$(median "$1" "$2") || { echo "n/a"; return; }
	if [ "$4" = hi ]; then set -- "$s" "$n"; else set -- "$n" "$s"; fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

human_bytes() {
	case "$1" in ''|*[!0-9]*) echo "${1:-n/a}"; return ;; esac
	awk -v b="$1" 'BEGIN {
		if (b < 1024) printf "%d B", b
		else if (b < 1048576) printf "%.1f KiB", b / 1024
		else if (b < 1073741824) printf "%.1f MiB", b / 1048576
		else printf "%.2f GiB", b / 1073741824 }'
}

# size_h MB: "N GiB" from a whole number of GiB up, else "N MiB"
size_h() { if [ "$1" -ge 1024 ]; then echo "$(($1 / 1024)) GiB"; else echo "$1 MiB"; fi; }

# cd_rev: the repository's commit, marked if the sources differ from it
# cd_name PATH: a binary's name for the tables: relative to the repository
# when it is in it, else its base name (a table names no path of the machine)
cd_name() {
	local rel=${1#"$REPO_DIR"/}
	[ "$rel" = "$1" ] && rel=$(basename "$1")
	echo "$rel"
}

cd_rev() {
	local rev
	rev=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')
	if [ -n "$(git -C "$REPO_DIR" status --porcelain --untracked-files=no -- src cli meson.build 2>/dev/null)" ]; then
		rev+=" (with uncommitted changes)"
	fi
	echo "$rev"
}

# report_head NAME FS_NOTE: title, date, mode and machine lines of a report
report_head() {
	local fs cpu mem mode=full
	fs=$(findmnt -n -o FSTYPE,SOURCE -T "$WORK" 2>/dev/null | awk '{ print $1 " on " $2 }')
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	[ "$QUICK" = 1 ] && mode="quick (smoke test, not comparable with full runs)"
	echo "## clonedrive $1 benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); mode: $mode; runs: $RUNS"
	echo "- machine: $(nproc) CPUs ($cpu), $mem RAM, kernel $(uname -r)"
	echo "- work dir filesystem: $fs ($2)"
}

# report_problems: the unexpected counters and the failed checks, if any
report_problems() {
	local o f
	if [ "${#ODD[@]}" -gt 0 ]; then
		echo
		echo "**Unexpected (${#ODD[@]}):**"
		for o in "${ODD[@]}"; do echo "- $o"; done
	fi
	if [ "${#FAILS[@]}" -gt 0 ]; then
		echo
		echo "**BENCHMARK FAILED: ${#FAILS[@]} sanity check(s) failed:**"
		for f in "${FAILS[@]}"; do echo "- $f"; done
	fi
}

# finish: print the script's report; save it unless --no-save, and not at all
# (exit 1) if a sanity check failed
finish() {
	local out
	out=$(report)
	echo "$out"
	if [ "${#FAILS[@]}" -gt 0 ]; then
		log "FAILED: ${#FAILS[@]} sanity check(s) failed; results not saved"
		exit 1
	fi
	if [ "$SAVE" = 1 ]; then
		echo "$out" >"$RESULTS_FILE" && log "saved to $RESULTS_FILE"
	fi
	exit 0
}
