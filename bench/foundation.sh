#!/usr/bin/env bash
# bench/foundation.sh - foundation benchmark of clonedrive against a plain
# local directory (native) and rclone mount (--vfs-cache-mode full).
#
# Usage: bench/foundation.sh [--quick] [--runs R] [--dir D] [--no-rclone] [--no-save]
# Must run as root (drops the page cache). See bench/README.md.
#
# Progress goes to stderr; the machine description and the markdown table go
# to stdout and, unless --no-save, to bench/results-foundation.md.

set -uo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)

# ---------------------------------------------------------------- options
RUNS=3
QUICK=0
BASE_DIR=""
DO_RCLONE=1
SAVE=1
CD_BIN=${CD_BIN:-$REPO_DIR/build/clonedrive}
RESULTS_FILE=$SCRIPT_DIR/results-foundation.md

usage() {
	cat <<EOF
Usage: $0 [--quick] [--runs R] [--dir D] [--no-rclone] [--no-save]
  --quick      smoke test: 1 run, 256 MiB files, 2,000-file ls dir, 10,000-file find tree
  --runs R     repetitions per figure (median is reported), default 3
  --dir D      work dir parent (default: a fresh mktemp -d under /var/tmp)
  --no-rclone  skip the rclone subject
  --no-save    do not write $RESULTS_FILE
Environment: CD_BIN (default build/clonedrive), RAND_N (random reads, default 2000)
EOF
}

RUNS_SET=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--runs) RUNS=${2:-}; RUNS_SET=1; shift ;;
	--runs=*) RUNS=${1#--runs=}; RUNS_SET=1 ;;
	--dir) BASE_DIR=${2:-}; shift ;;
	--dir=*) BASE_DIR=${1#--dir=} ;;
	--no-rclone) DO_RCLONE=0 ;;
	--no-save) SAVE=0 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$QUICK" = 1 ]; then
	[ "$RUNS_SET" = 1 ] || RUNS=1
	SIZE_MB=256
	LS_FILES=2000
	FIND_DIRS=10
else
	SIZE_MB=1024
	LS_FILES=10000
	FIND_DIRS=50
fi
FIND_FILES_PER_DIR=1000
RAND_N=${RAND_N:-2000}
SIZE_BYTES=$((SIZE_MB * 1024 * 1024))
FIND_ENTRIES=$((1 + FIND_DIRS + FIND_DIRS * FIND_FILES_PER_DIR))
LONE_OFFSET=$((SIZE_BYTES / 2 + 7 * 4096))
case "$RUNS" in ''|*[!0-9]*|0) echo "--runs needs a positive integer" >&2; exit 2 ;; esac

MOUNT_TIMEOUT=120   # seconds to wait for a FUSE mount to appear
OP_TIMEOUT=${OP_TIMEOUT:-1800}  # seconds for any single measured operation
EXIT_TIMEOUT=${EXIT_TIMEOUT:-60}  # seconds to wait for a daemon to exit after unmount

if [ "$(id -u)" != 0 ]; then
	echo "$0: must run as root (drop_caches, FUSE mounts)" >&2
	exit 1
fi

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------- state & cleanup
WORK=""
declare -a ACTIVE_MOUNTS=()   # mount points we mounted and have not unmounted
declare -a STARTED=()         # "pid:exe-basename" of processes we started

is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

forget_mount() {
	local m=$1 i
	for i in "${!ACTIVE_MOUNTS[@]}"; do
		[ "${ACTIVE_MOUNTS[$i]}" = "$m" ] && unset 'ACTIVE_MOUNTS[i]'
	done
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

cleanup() {
	local m p
	trap - EXIT INT TERM
	for m in "${ACTIVE_MOUNTS[@]}"; do
		if is_mounted "$m"; then
			log "cleanup: lazy unmount $m"
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	for p in "${STARTED[@]}"; do
		stop_pid "${p%%:*}" "${p#*:}" 5
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		rm -rf --one-file-system "$WORK" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- tools
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
command -v fusermount3 >/dev/null || apt_install fuse3
command -v getfattr >/dev/null || apt_install attr
command -v cc >/dev/null || apt_install gcc libc6-dev
if [ "$DO_RCLONE" = 1 ] && ! command -v rclone >/dev/null; then
	apt_install rclone || true
fi

# ---------------------------------------------------------------- work dir
if [ -z "$BASE_DIR" ]; then
	WORK=$(mktemp -d /var/tmp/cdbench.XXXXXX) || exit 1
else
	mkdir -p "$BASE_DIR" || exit 1
	WORK=$(mktemp -d "$BASE_DIR/cdbench.XXXXXX") || exit 1
fi
case "$WORK" in *[[:space:]]*) echo "work dir must not contain whitespace: $WORK" >&2; exit 1 ;; esac
REMOTE=$WORK/remote      # the data; native reads it directly, FUSE subjects use it as remote
mkdir -p "$REMOTE" "$WORK/mnt" "$WORK/cache" "$WORK/log" "$WORK/bin" "$WORK/tmp"
log "work dir: $WORK"

if ! cc -O2 -o "$WORK/bin/randread" "$SCRIPT_DIR/randread.c"; then
	echo "cannot compile bench/randread.c" >&2
	exit 1
fi
RANDREAD=$WORK/bin/randread

# ---------------------------------------------------------------- data
log "generating data: 3 x $SIZE_MB MiB random files, $LS_FILES-file dir, $FIND_ENTRIES-entry tree"
for f in seq rand lone; do
	dd if=/dev/urandom of="$REMOTE/$f.bin" bs=1M count="$SIZE_MB" status=none || {
		echo "cannot create $REMOTE/$f.bin" >&2; exit 1; }
done
mkdir "$REMOTE/lsdir"
for ((i = 0; i < LS_FILES; i++)); do printf 'x' >"$REMOTE/lsdir/f$i"; done
mkdir "$REMOTE/tree"
for ((d = 0; d < FIND_DIRS; d++)); do
	mkdir "$REMOTE/tree/d$d"
	for ((i = 0; i < FIND_FILES_PER_DIR; i++)); do printf 'x' >"$REMOTE/tree/d$d/f$i"; done
done
sync

# ---------------------------------------------------------------- helpers
drop_caches() {
	timeout 300 sync
	echo 3 >/proc/sys/vm/drop_caches
}

# secs_since T0: seconds elapsed since $EPOCHREALTIME value T0
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }

# op CMD...: run one measured operation with a timeout; a timeout marks the
# subject as hung for the rest of this run (its remaining figures are skipped).
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

declare -A RES=()    # RES[subject,metric] = space separated values, one per run
add() { RES[$1,$2]+="$3 "; }

# dd_rate SUBJ METRIC ARGS...: run dd with a timeout, check the byte count,
# record MB/s (10^6 bytes / s, measured around the whole dd process).
dd_rate() {
	local subj=$1 metric=$2 t0 secs bytes rc
	shift 2
	t0=$EPOCHREALTIME
	op dd "$@" 2>"$WORK/tmp/dd.err"
	rc=$?
	secs=$(secs_since "$t0")
	bytes=$(awk '/ bytes / && $1 ~ /^[0-9]+$/ { b = $1 } END { print b + 0 }' "$WORK/tmp/dd.err")
	if [ "$rc" != 0 ] || [ "$bytes" != "$SIZE_BYTES" ]; then
		log "  $subj $metric: FAILED (rc=$rc, bytes=$bytes): $(tail -n 2 "$WORK/tmp/dd.err" | tr '\n' ' ')"
		return 1
	fi
	local rate
	rate=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')
	add "$subj" "$metric" "$rate"
	log "  $subj $metric: $rate MB/s (${secs}s)"
}

# timed_count SUBJ METRIC EXPECTED_LINES CMD...: time CMD (stdout to a file),
# check its line count, record seconds.
timed_count() {
	local subj=$1 metric=$2 expect=$3 t0 secs rc lines
	shift 3
	t0=$EPOCHREALTIME
	op "$@" >"$WORK/tmp/out.txt" 2>"$WORK/tmp/err.txt"
	rc=$?
	secs=$(secs_since "$t0")
	lines=$(wc -l <"$WORK/tmp/out.txt")
	if [ "$rc" != 0 ] || [ "$lines" != "$expect" ]; then
		log "  $subj $metric: FAILED (rc=$rc, $lines lines, expected $expect): $(head -c 200 "$WORK/tmp/err.txt")"
		return 1
	fi
	add "$subj" "$metric" "$secs"
	log "  $subj $metric: ${secs}s"
}

# cd_fetched MNT: print clonedrive's fetched_bytes counter, or fail
cd_fetched() {
	local v
	v=$(timeout 30 getfattr --only-values -n user.clonedrive.stats "$1" 2>/dev/null |
		tr ' ;,' '\n\n\n' | sed -n 's/^fetched_bytes=\([0-9][0-9]*\).*/\1/p' | head -n 1)
	[ -n "$v" ] && echo "$v"
}

vmhwm_mib() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024; f = 1 } END { exit !f }' "/proc/$1/status" 2>/dev/null
}

# ---------------------------------------------------------------- subjects
# mount_subject SUBJ RUN: sets ROOT (where to read) and DPID/DEXE (daemon)
ROOT=""
DPID=""
DEXE=""
mount_subject() {
	local subj=$1 run=$2 mnt=$WORK/mnt/$1 cache=$WORK/cache/$1.$2 lp i log=$WORK/log/$1.$2.log
	ROOT=""; DPID=""; DEXE=""
	case "$subj" in
	native)
		ROOT=$REMOTE
		return 0 ;;
	clonedrive)
		if [ ! -x "$CD_BIN" ]; then
			log "  clonedrive: $CD_BIN not found or not executable"
			return 1
		fi
		DEXE=$(basename "$(readlink -f "$CD_BIN")")
		mkdir -p "$mnt" "$cache"
		rm -f "$WORK/tmp/cd.pid"
		"$CD_BIN" mount --cache-dir "$cache" --pid-file "$WORK/tmp/cd.pid" "$REMOTE" "$mnt" \
			</dev/null >"$log" 2>&1 &
		lp=$! ;;
	rclone)
		DEXE=$(basename "$(readlink -f "$(command -v rclone)")")
		mkdir -p "$mnt" "$cache"
		: >"$WORK/tmp/rclone.conf"
		RCLONE_CONFIG=$WORK/tmp/rclone.conf rclone mount "$REMOTE" "$mnt" \
			--vfs-cache-mode full --vfs-fast-fingerprint --cache-dir "$cache" \
			</dev/null >"$log" 2>&1 &
		lp=$! ;;
	esac
	STARTED+=("$lp:$DEXE")
	ACTIVE_MOUNTS+=("$mnt")
	for ((i = 0; i < MOUNT_TIMEOUT * 10; i++)); do
		is_mounted "$mnt" && break
		if ! kill -0 "$lp" 2>/dev/null; then
			wait "$lp" 2>/dev/null
			local rc=$?
			sleep 0.2
			is_mounted "$mnt" && break
			log "  $subj: mount command exited (rc=$rc) without mounting: $(tail -n 3 "$log" | tr '\n' ' ')"
			return 1
		fi
		sleep 0.1
	done
	if ! is_mounted "$mnt"; then
		log "  $subj: not mounted after ${MOUNT_TIMEOUT}s: $(tail -n 3 "$log" | tr '\n' ' ')"
		return 1
	fi
	# the daemon: the pid file for clonedrive (it may daemonize), else the launched process
	if [ "$subj" = clonedrive ]; then
		for ((i = 0; i < 50; i++)); do
			[ -s "$WORK/tmp/cd.pid" ] && break
			sleep 0.1
		done
		DPID=$(tr -dc '0-9' <"$WORK/tmp/cd.pid" 2>/dev/null)
		local dexe
		if [ -n "$DPID" ] && dexe=$(readlink "/proc/$DPID/exe" 2>/dev/null); then
			# trust the pid file now, and remember what that process runs
			DEXE=$(basename "${dexe% (deleted)}")
			[ "$DPID" != "$lp" ] && STARTED+=("$DPID:$DEXE")
		else
			DPID=""
		fi
	fi
	if ! pid_alive "${DPID:-x}" "$DEXE"; then
		if pid_alive "$lp" "$DEXE"; then DPID=$lp; else DPID=""; fi
	fi
	[ -n "$DPID" ] || log "  $subj: daemon pid not found (peak RSS will be n/a)"
	ROOT=$mnt
	return 0
}

unmount_subject() {
	local subj=$1 run=$2 mnt=$WORK/mnt/$1
	[ "$subj" = native ] && return 0
	if is_mounted "$mnt"; then
		if [ "$subj" = clonedrive ]; then
			timeout 120 "$CD_BIN" unmount "$mnt" >>"$WORK/log/$subj.$run.log" 2>&1
		else
			timeout 60 fusermount3 -u "$mnt" 2>/dev/null
		fi
		if is_mounted "$mnt"; then
			log "  $subj: clean unmount failed, lazy unmount"
			fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
		fi
	fi
	forget_mount "$mnt"
	[ -n "$DPID" ] && stop_pid "$DPID" "$DEXE" "$EXIT_TIMEOUT"
	rm -rf --one-file-system "$WORK/cache/$subj.$run"
}

# ---------------------------------------------------------------- one run
log_hwm() { # progress log only: the daemon's peak RSS so far
	local h
	[ -n "$DPID" ] && h=$(vmhwm_mib "$DPID") && log "  $1 daemon VmHWM so far: $h MiB"
}

abort_run() {
	log "  $1: an operation timed out, skipping its remaining figures of run $2"
	unmount_subject "$1" "$2"
	rm -f "$REMOTE/write.$1.$2.bin"
}

run_subject() {
	local subj=$1 run=$2 f0 f1
	HUNG=0
	log "run $run/$RUNS: $subj"
	if ! mount_subject "$subj" "$run"; then
		log "  $subj: mount failed, figures n/a for this run"
		unmount_subject "$subj" "$run"
		return 1
	fi

	# 1-2. cold sequential read, then warm re-read
	drop_caches
	if dd_rate "$subj" seq_cold if="$ROOT/seq.bin" of=/dev/null bs=1M; then
		dd_rate "$subj" seq_warm if="$ROOT/seq.bin" of=/dev/null bs=1M
	fi

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && { abort_run "$subj" "$run"; return 1; }

	# 3. random 4 KiB reads of an unhydrated file
	drop_caches
	f0=""; [ "$subj" = clonedrive ] && f0=$(cd_fetched "$ROOT")
	if op "$RANDREAD" "$ROOT/rand.bin" "$RAND_N" "$run" >"$WORK/tmp/out.txt" 2>"$WORK/tmp/err.txt"; then
		local ops
		ops=$(sed -n 's/.*ops_per_s=\([0-9.]*\).*/\1/p' "$WORK/tmp/out.txt")
		add "$subj" rand_ops "$ops"
		log "  $subj rand_ops: $ops ops/s"
		if [ "$subj" = clonedrive ]; then
			f1=$(cd_fetched "$ROOT")
			if [ -n "$f0" ] && [ -n "$f1" ]; then
				add "$subj" rand_fetched $((f1 - f0))
				add "$subj" rand_ratio "$(awk -v f=$((f1 - f0)) -v r=$((RAND_N * 4096)) 'BEGIN { printf "%.3f", f / r }')"
				log "  $subj rand_fetched: $((f1 - f0)) bytes"
			else
				log "  $subj: stats xattr user.clonedrive.stats unavailable"
			fi
		fi
	else
		log "  $subj rand_ops: FAILED: $(head -c 200 "$WORK/tmp/err.txt")"
	fi

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && { abort_run "$subj" "$run"; return 1; }

	# 4. a lone 4 KiB read of a cold file (clonedrive only: bytes fetched)
	if [ "$subj" = clonedrive ]; then
		drop_caches
		f0=$(cd_fetched "$ROOT")
		if op "$RANDREAD" "$ROOT/lone.bin" 1 1 "$LONE_OFFSET" >/dev/null 2>"$WORK/tmp/err.txt"; then
			f1=$(cd_fetched "$ROOT")
			if [ -n "$f0" ] && [ -n "$f1" ]; then
				add "$subj" lone_fetched $((f1 - f0))
				log "  $subj lone_fetched: $((f1 - f0)) bytes"
			fi
		else
			log "  $subj lone read: FAILED: $(head -c 200 "$WORK/tmp/err.txt")"
		fi
	fi

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && { abort_run "$subj" "$run"; return 1; }

	# 5. ls -l of a big directory, first and second time ("total" line + one per file)
	drop_caches
	if timed_count "$subj" ls_1 $((LS_FILES + 1)) ls -l "$ROOT/lsdir"; then
		timed_count "$subj" ls_2 $((LS_FILES + 1)) ls -l "$ROOT/lsdir"
	fi

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && { abort_run "$subj" "$run"; return 1; }

	# 6. find over a big tree, first and second time
	drop_caches
	if timed_count "$subj" find_1 "$FIND_ENTRIES" find "$ROOT/tree"; then
		timed_count "$subj" find_2 "$FIND_ENTRIES" find "$ROOT/tree"
	fi

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && { abort_run "$subj" "$run"; return 1; }

	# 7. write a file with fsync
	drop_caches
	dd_rate "$subj" write if=/dev/zero of="$ROOT/write.$subj.$run.bin" bs=1M count="$SIZE_MB" conv=fsync
	timeout 120 rm -f "$ROOT/write.$subj.$run.bin"

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && { abort_run "$subj" "$run"; return 1; }

	# 8. daemon peak RSS after all of the above
	if [ -n "$DPID" ]; then
		local hwm
		if hwm=$(vmhwm_mib "$DPID"); then
			add "$subj" rss "$hwm"
			log "  $subj rss: $hwm MiB"
		fi
	fi

	unmount_subject "$subj" "$run"
	rm -f "$REMOTE/write.$subj.$run.bin"
	return 0
}

SUBJECTS=(native clonedrive)
if [ "$DO_RCLONE" = 1 ]; then
	SUBJECTS+=(rclone)
	command -v rclone >/dev/null || log "rclone not available: its column will be n/a"
fi

# runs are interleaved across subjects so that machine noise spreads evenly
for ((run = 1; run <= RUNS; run++)); do
	for subj in "${SUBJECTS[@]}"; do
		if [ "$subj" = rclone ] && ! command -v rclone >/dev/null; then continue; fi
		run_subject "$subj" "$run"
	done
done

# ---------------------------------------------------------------- report
median() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || return 1
	printf '%s\n' $vals | sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

human_bytes() {
	awk -v b="$1" 'BEGIN {
		if (b < 1024) printf "%d B", b
		else if (b < 1048576) printf "%.1f KiB", b / 1024
		else if (b < 1073741824) printf "%.1f MiB", b / 1048576
		else printf "%.2f GiB", b / 1073741824 }'
}

# fmt KIND VALUE
fmt() {
	case "$1" in
	rate|ops) awk -v v="$2" 'BEGIN { printf "%.0f", v }' ;;
	time) awk -v v="$2" 'BEGIN { printf "%.3f", v }' ;;
	bytes) human_bytes "$2" ;;
	ratio) awk -v v="$2" 'BEGIN { printf "%.2f×", v }' ;;
	mib) awk -v v="$2" 'BEGIN { printf "%.1f", v }' ;;
	esac
}

if [ "$SIZE_MB" -ge 1024 ]; then SIZE_H="$((SIZE_MB / 1024)) GiB"; else SIZE_H="$SIZE_MB MiB"; fi
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# metric|label|kind|better(hi/lo/-)|applies(all/cd/fuse)
ROWS=(
	"seq_cold|1. Cold sequential read, $SIZE_H file (MB/s)|rate|hi|all"
	"seq_warm|2. Warm re-read of the same file (MB/s)|rate|hi|all"
	"rand_ops|3. Random 4 KiB reads, cold, N=$(commas "$RAND_N") (ops/s)|ops|hi|all"
	"rand_fetched|3b. … bytes fetched from remote|bytes|-|cd"
	"rand_ratio|3c. … fetched / bytes read ($(human_bytes $((RAND_N * 4096))))|ratio|-|cd"
	"lone_fetched|4. Lone 4 KiB read of a cold $SIZE_H file: bytes fetched|bytes|-|cd"
	"ls_1|5a. ls -l of $(commas "$LS_FILES") files, first (s)|time|lo|all"
	"ls_2|5b. ls -l of $(commas "$LS_FILES") files, second (s)|time|lo|all"
	"find_1|6a. find over $(commas "$FIND_ENTRIES") entries, first (s)|time|lo|all"
	"find_2|6b. find over $(commas "$FIND_ENTRIES") entries, second (s)|time|lo|all"
	"write|7. Write $SIZE_H, dd conv=fsync (MB/s)|rate|hi|all"
	"rss|8. Daemon peak RSS, VmHWM (MiB)|mib|-|fuse"
)

cell() { # cell SUBJ METRIC KIND APPLIES
	local subj=$1 metric=$2 kind=$3 applies=$4 v
	case "$applies" in
	cd) [ "$subj" = clonedrive ] || { echo "—"; return; } ;;
	fuse) [ "$subj" = native ] && { echo "—"; return; } ;;
	esac
	if v=$(median "$subj" "$metric"); then fmt "$kind" "$v"; else echo "n/a"; fi
}

ratio_cell() { # ratio_cell SUBJ METRIC BETTER
	local subj=$1 metric=$2 better=$3 n s
	[ "$better" = - ] && { echo "—"; return; }
	n=$(median native "$metric") || { echo "n/a"; return; }
	s=$(median "$subj" "$metric") || { echo "n/a"; return; }
	if [ "$better" = hi ]; then
		awk -v a="$s" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
	else
		awk -v a="$n" -v b="$s" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
	fi
}

FSINFO=$(findmnt -n -o FSTYPE,SOURCE -T "$WORK" 2>/dev/null | awk '{ print $1 " on " $2 }')
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
RCLONE_V="not installed"
if command -v rclone >/dev/null; then
	RCLONE_V=$(rclone version 2>/dev/null | sed -n 1p)
fi
if [ -x "$CD_BIN" ]; then
	CD_V="$CD_BIN @ $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
else
	CD_V="not built ($CD_BIN missing)"
fi
MODE="full"; [ "$QUICK" = 1 ] && MODE="quick (smoke test, not comparable with full runs)"

report() {
	echo "## clonedrive foundation benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); mode: $MODE; runs: $RUNS"
	echo "- machine: $(nproc) CPUs ($CPU), $MEM RAM, kernel $(uname -r)"
	echo "- work dir filesystem: $FSINFO (native dir, FUSE remotes and cache dirs all on it)"
	echo "- clonedrive: $CD_V"
	[ "$DO_RCLONE" = 1 ] && echo "- rclone: $RCLONE_V, \`--vfs-cache-mode full --vfs-fast-fingerprint\`"
	echo
	if [ "$DO_RCLONE" = 1 ]; then
		echo "| Figure (median of $RUNS run(s)) | native | clonedrive | clonedrive/native | rclone | rclone/native |"
		echo "|---|---:|---:|---:|---:|---:|"
	else
		echo "| Figure (median of $RUNS run(s)) | native | clonedrive | clonedrive/native |"
		echo "|---|---:|---:|---:|"
	fi
	local row metric label kind better applies line
	for row in "${ROWS[@]}"; do
		IFS='|' read -r metric label kind better applies <<<"$row"
		line="| $label | $(cell native "$metric" "$kind" "$applies") | $(cell clonedrive "$metric" "$kind" "$applies")"
		if [ "$applies" = cd ]; then line+=" | —"; else line+=" | $(ratio_cell clonedrive "$metric" "$better")"; fi
		if [ "$DO_RCLONE" = 1 ]; then
			line+=" | $(cell rclone "$metric" "$kind" "$applies")"
			if [ "$applies" = cd ]; then line+=" | —"; else line+=" | $(ratio_cell rclone "$metric" "$better")"; fi
		fi
		echo "$line |"
	done
	echo
	echo "Ratios: higher is better. For rates (MB/s, ops/s) ratio = subject/native; for times (s) ratio = native/subject."
	echo "MB/s = 10^6 bytes/s. \"Cold\" = page cache dropped and, for FUSE subjects, a fresh mount with an empty cache dir each run;"
	echo "each run mounts once and measures figures 1-8 in order; \"first\" listings are the first of that mount."
	echo "Bytes fetched come from the \`fetched_bytes=\` line of the \`user.clonedrive.stats\` xattr. — = not applicable, n/a = failed or unavailable."
}

REPORT=$(report)
echo "$REPORT"
if [ "$SAVE" = 1 ]; then
	echo "$REPORT" >"$RESULTS_FILE" && log "saved to $RESULTS_FILE"
fi
exit 0
