#!/usr/bin/env bash
# bench/clone.sh - copies inside the mount. A whole-file copy_file_range of a
# file in sync becomes a copy made by the remote itself (a server copy; the
# destination is a placeholder); plain cp of a placeholder reads it through the
# daemon and writes the copy, which is then uploaded. A plain local directory
# (native: cp + sync on the remote's own disk) is the anchor.
#
# Usage: bench/clone.sh [--quick] [--runs R] [--dir D] [--no-save]
# Must run as root (drops the page cache). See bench/README.md.
#
# Progress goes to stderr; the machine description and the markdown table go
# to stdout and, unless --no-save, to bench/results-clone.md.
# A copy that differs from the source on the remote (cmp), or a copy command
# that fails or times out, fails the benchmark: the report says so, is not
# saved, and the exit status is 1. Counters that differ from what the design
# promises (bytes fetched by a server copy, a server copy that did not happen)
# are listed under the table as unexpected, not hidden.

set -uo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)

# ---------------------------------------------------------------- options
RUNS=5
QUICK=0
BASE_DIR=""
SAVE=1
CD_BIN=${CD_BIN:-$REPO_DIR/build/clonedrive}
RESULTS_FILE=$SCRIPT_DIR/results-clone.md

usage() {
	cat <<EOF
Usage: $0 [--quick] [--runs R] [--dir D] [--no-save]
  --quick      smoke test: 1 run, a 256 MiB file
  --runs R     repetitions per figure (median is reported), default 5
  --dir D      work dir parent (default: a fresh mktemp -d under /var/tmp)
  --no-save    do not write $RESULTS_FILE
Environment: CD_BIN (default build/clonedrive),
             OP_TIMEOUT (seconds per measured operation, default 300)
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
	--no-save) SAVE=0 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$QUICK" = 1 ]; then
	[ "$RUNS_SET" = 1 ] || RUNS=1
	FILE_MB=256
else
	FILE_MB=1024
fi
FILE_BYTES=$((FILE_MB * 1024 * 1024))
case "$RUNS" in ''|*[!0-9]*|0) echo "--runs needs a positive integer" >&2; exit 2 ;; esac

MOUNT_TIMEOUT=120                 # seconds for 'clonedrive mount' to return
OP_TIMEOUT=${OP_TIMEOUT:-300}     # seconds for any single measured operation
EXIT_TIMEOUT=${EXIT_TIMEOUT:-60}  # seconds to wait for a daemon to exit after unmount
case "$OP_TIMEOUT" in ''|*[!0-9]*|0) echo "OP_TIMEOUT needs a positive integer" >&2; exit 2 ;; esac

if [ "$(id -u)" != 0 ]; then
	echo "$0: must run as root (drop_caches, FUSE mounts)" >&2
	exit 1
fi

# progress goes to the script's own stderr, kept on fd 9: a trap may run while a
# command's stderr is redirected to a file, and its messages must not go there
exec 9>&2
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&9; }

# ---------------------------------------------------------------- state & cleanup
WORK=""
declare -a ACTIVE_MOUNTS=()   # mount points we mounted and have not unmounted
declare -a STARTED=()         # "pid:exe-basename" of daemons we started
declare -a PID_FILES=()       # pid files we passed to 'clonedrive mount --pid-file'
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

CD_EXE=$(basename "$(readlink -f "$CD_BIN" 2>/dev/null || echo clonedrive)")

cleanup() {
	local m p f pid
	# a second signal must not cut the clean-up short: ignore them while it runs
	trap - EXIT
	trap '' INT TERM
	for m in "${ACTIVE_MOUNTS[@]}"; do
		if is_mounted "$m"; then
			log "cleanup: lazy unmount $m"
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	for p in "${STARTED[@]}"; do
		stop_pid "${p%%:*}" "${p#*:}" 5
	done
	# a daemon whose mount command timed out may have written its pid file only
	for f in "${PID_FILES[@]}"; do
		pid=$(tr -dc '0-9' <"$f" 2>/dev/null)
		[ -n "$pid" ] && stop_pid "$pid" "$CD_EXE" 5
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
if [ ! -x "$CD_BIN" ]; then
	echo "$CD_BIN not found or not executable (build with: ninja -C build)" >&2
	exit 1
fi
CP_V=$(cp --version 2>/dev/null | head -n 1)

# ---------------------------------------------------------------- work dir
if [ -z "$BASE_DIR" ]; then
	WORK=$(mktemp -d /var/tmp/cdclone.XXXXXX) || exit 1
else
	mkdir -p "$BASE_DIR" || exit 1
	WORK=$(mktemp -d "$BASE_DIR/cdclone.XXXXXX") || exit 1
fi
case "$WORK" in *[[:space:]]*) echo "work dir must not contain whitespace: $WORK" >&2; exit 1 ;; esac
REMOTE=$WORK/remote      # the data; native copies in it directly, clonedrive uses it as remote
mkdir -p "$REMOTE" "$WORK/mnt" "$WORK/cache" "$WORK/log" "$WORK/tmp"
log "work dir: $WORK"

# run a private copy of the binary: a rebuild of build/ during the benchmark
# must not mix two binaries in one table
mkdir -p "$WORK/bin"
cp -- "$CD_BIN" "$WORK/bin/clonedrive" || { echo "cannot copy $CD_BIN" >&2; exit 1; }
CD_SRC=$CD_BIN
CD_BIN=$WORK/bin/clonedrive
CD_EXE=clonedrive
"$CD_BIN" help >/dev/null 2>&1 || { echo "$CD_SRC does not run (being rebuilt?)" >&2; exit 1; }
CD_SHA=$(sha256sum "$CD_BIN" | cut -c1-12)
log "clonedrive: $CD_SRC (sha256 $CD_SHA...), run from a copy in the work dir"

# ---------------------------------------------------------------- data
# one random file, made once; every run removes the copies it made, so each
# run starts with the same remote: just 'big'
log "generating data: one random file of $FILE_MB MiB"
dd if=/dev/urandom of="$REMOTE/big" bs=1M count="$FILE_MB" status=none || {
	echo "cannot create $REMOTE/big" >&2; exit 1; }
sync

# ---------------------------------------------------------------- helpers
drop_caches() {
	timeout 300 sync
	echo 3 >/proc/sys/vm/drop_caches
}

# secs_since T0: seconds elapsed since $EPOCHREALTIME value T0
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }

# op CMD...: run one measured operation with a timeout
op() {
	local rc
	timeout -k 10 "$OP_TIMEOUT" "$@"
	rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		log "  timed out after ${OP_TIMEOUT}s: $*"
	fi
	return "$rc"
}

declare -A RES=()    # RES[subject,metric] = space separated values, one per run
add() { RES[$1,$2]+="$3 "; }

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print 0 }'; }

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# timed SUBJ METRIC CMD...: run CMD (with the op timeout), record its seconds
# under SUBJ,METRIC; a failure or a timeout fails the benchmark
timed() {
	local subj=$1 metric=$2 t0 secs rc
	shift 2
	t0=$EPOCHREALTIME
	op "$@" </dev/null >/dev/null 2>"$WORK/tmp/err.txt"
	rc=$?
	secs=$(secs_since "$t0")
	if [ "$rc" != 0 ]; then
		fail "$subj: '$*' failed (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt" | tr '\n' ' ')"
		return 1
	fi
	add "$subj" "$metric" "$secs"
	log "  $subj $metric: ${secs}s ($(mbps "$FILE_BYTES" "$secs") MB/s)"
}

# flush_secs SUBJ: time a plain 'sync' right after a copy (not part of any
# figure: it says what dirty data the copy left behind for the disk)
flush_secs() {
	local t0 secs
	t0=$EPOCHREALTIME
	timeout 300 sync
	secs=$(secs_since "$t0")
	add "$1" flush "$secs"
	log "  $1: a sync right after took ${secs}s"
}

# same SUBJ A B: file A must equal file B byte for byte (outside the timed part)
same() {
	local subj=$1 a=$2 b=$3 out
	if ! out=$(timeout -k 10 "$OP_TIMEOUT" cmp -- "$a" "$b" 2>&1); then
		fail "$subj: $a differs from $b: ${out:-timeout}"
		return 1
	fi
	log "  $subj: $(basename "$a") equals $(basename "$b") (cmp)"
}

# snap MNT: read the user.clonedrive.stats xattr of the mount into SNAP
SNAP=""
snap() {
	SNAP=$(timeout 30 getfattr --only-values -n user.clonedrive.stats "$1" 2>/dev/null)
	[ -n "$SNAP" ] || log "  cannot read the user.clonedrive.stats xattr of $1"
}
# ctr TEXT KEY: a counter out of a SNAP text (empty if missing)
ctr() { printf '%s\n' "$1" | sed -n "s/^$2=\([0-9][0-9]*\)\$/\1/p" | head -n 1; }
# delta BEFORE AFTER KEY: AFTER's KEY minus BEFORE's (empty if either missing)
delta() {
	local a b
	a=$(ctr "$1" "$3"); b=$(ctr "$2" "$3")
	[ -n "$a" ] && [ -n "$b" ] && echo $((b - a))
}

blocks() { stat -c %b -- "$1" 2>/dev/null; }

# ---------------------------------------------------------------- mounts
# cd_mount NAME RUN [MOUNT OPTIONS...]: fresh cache dir; sets MNT and DPID
MNT=""
DPID=""
cd_mount() {
	local name=$1 run=$2 pidf rc i
	shift 2
	MNT=$WORK/mnt/$name
	DPID=""
	pidf=$WORK/tmp/$name.$run.pid
	mkdir -p "$MNT"
	rm -rf --one-file-system "$WORK/cache/$name.$run"
	PID_FILES+=("$pidf")
	ACTIVE_MOUNTS+=("$MNT")
	timeout -k 10 "$MOUNT_TIMEOUT" "$CD_BIN" mount --cache-dir "$WORK/cache/$name.$run" \
		--pid-file "$pidf" --log-file "$WORK/log/$name.$run.log" "$@" "$REMOTE" "$MNT" \
		</dev/null >>"$WORK/log/$name.$run.out" 2>&1 9>&-
	rc=$?
	for ((i = 0; i < 50; i++)); do
		[ -s "$pidf" ] && break
		sleep 0.1
	done
	DPID=$(tr -dc '0-9' <"$pidf" 2>/dev/null)
	if [ -n "$DPID" ] && pid_alive "$DPID" "$CD_EXE"; then
		STARTED+=("$DPID:$CD_EXE")
	else
		DPID=""
	fi
	if [ "$rc" != 0 ] || ! is_mounted "$MNT"; then
		log "  $name: mount failed (rc=$rc): $(tail -n 3 "$WORK/log/$name.$run.out" "$WORK/log/$name.$run.log" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	[ -n "$DPID" ] || log "  $name: daemon pid not found in $pidf"
	return 0
}

cd_unmount() {
	local name=$1 run=$2
	if is_mounted "$MNT"; then
		timeout 120 "$CD_BIN" unmount "$MNT" >>"$WORK/log/$name.$run.out" 2>&1
		if is_mounted "$MNT"; then
			log "  $name: clean unmount failed, lazy unmount"
			fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
		fi
	fi
	forget_mount "$MNT"
	[ -n "$DPID" ] && stop_pid "$DPID" "$CD_EXE" "$EXIT_TIMEOUT"
	rm -rf --one-file-system "$WORK/cache/$name.$run"
}

# ---------------------------------------------------------------- subjects
# 1. native: cp on the remote's own disk, then sync (the anchor)
run_native() {
	local run=$1 t0 secs rc
	log "run $run/$RUNS: native cp + sync"
	rm -f "$REMOTE/copy-native"
	drop_caches
	t0=$EPOCHREALTIME
	op cp -- "$REMOTE/big" "$REMOTE/copy-native" 2>"$WORK/tmp/err.txt" && op sync
	rc=$?
	secs=$(secs_since "$t0")
	if [ "$rc" != 0 ]; then
		fail "native: cp + sync failed (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt" | tr '\n' ' ')"
	else
		add native secs "$secs"
		log "  native cp + sync: ${secs}s ($(mbps "$FILE_BYTES" "$secs") MB/s)"
		same native "$REMOTE/copy-native" "$REMOTE/big"
	fi
	rm -f "$REMOTE/copy-native"
}

# 2.-4. clonedrive: one fresh mount per run, the figures in order
run_clone() {
	local run=$1 s0 s1 b cb fe sc up
	log "run $run/$RUNS: clonedrive"
	cd_mount clone "$run" || { fail "clonedrive: mount failed (run $run)"; cd_unmount clone "$run"; return 1; }

	# 2. cp --sparse=never of a cold placeholder: copy_file_range, a server copy
	b=$(blocks "$MNT/big")
	[ "$b" = 0 ] || odd "run $run: $MNT/big has st_blocks ${b:-?} right after the mount, expected 0 (placeholder)"
	snap "$MNT"; s0=$SNAP
	drop_caches
	if timed sparse secs cp --sparse=never -- "$MNT/big" "$MNT/copy1"; then
		flush_secs sparse
		snap "$MNT"; s1=$SNAP
		fe=$(ctr "$s1" fetched_bytes); cb=$(ctr "$s1" cache_bytes)
		sc=$(delta "$s0" "$s1" server_copies)
		add sparse fetched "${fe:-?}"; add sparse cache "${cb:-?}"; add sparse copies "${sc:-?}"
		b=$(blocks "$MNT/copy1"); add sparse dst_blocks "${b:-?}"
		log "  sparse: fetched_bytes $fe, cache_bytes $cb, server_copies +$sc, copy1 st_blocks $b"
		[ "$fe" = 0 ] || odd "run $run, figure 2: fetched_bytes ${fe:-?} after cp --sparse=never, expected 0"
		[ "$cb" = 0 ] || odd "run $run, figure 2: cache_bytes ${cb:-?} after cp --sparse=never, expected 0"
		[ "$sc" = 1 ] || odd "run $run, figure 2: server_copies +${sc:-?} for cp --sparse=never, expected +1"
		[ "$b" = 0 ] || odd "run $run, figure 2: the copy has st_blocks ${b:-?} in the mount, expected 0 (placeholder)"
		same sparse "$REMOTE/copy1" "$REMOTE/big"
	fi

	# 3. plain cp of a cold placeholder: reads it through the daemon (hydrating
	# it), writes the copy, which 'clonedrive sync' then waits to see uploaded
	b=$(blocks "$MNT/big")
	if [ "$b" != 0 ]; then
		odd "run $run, figure 3: $MNT/big has st_blocks ${b:-?} before the plain cp; freed first"
		timeout -k 10 "$OP_TIMEOUT" "$CD_BIN" free "$MNT/big" </dev/null >/dev/null 2>&1
	fi
	snap "$MNT"; s0=$SNAP
	drop_caches
	if timed plain secs cp -- "$MNT/big" "$MNT/copy2" &&
	   timed plain sync "$CD_BIN" sync --no-progress --timeout "${OP_TIMEOUT}s" "$MNT"; then
		# cp + sync of this run (both succeeded), for figure 3b
		add plain total "$(awk -v a="${RES[plain,secs]}" -v b="${RES[plain,sync]}" 'BEGIN {
			n = split(a, x, " "); m = split(b, y, " "); printf "%.6f", x[n] + y[m] }')"
		snap "$MNT"; s1=$SNAP
		fe=$(delta "$s0" "$s1" fetched_bytes); cb=$(ctr "$s1" cache_bytes)
		sc=$(delta "$s0" "$s1" server_copies); up=$(delta "$s0" "$s1" uploaded_bytes)
		add plain fetched "${fe:-?}"; add plain cache "${cb:-?}"
		add plain copies "${sc:-?}"; add plain uploaded "${up:-?}"
		log "  plain: fetched_bytes +$fe, cache_bytes $cb, server_copies +$sc, uploaded_bytes +$up"
		[ "$sc" = 0 ] || odd "run $run, figure 3: server_copies +${sc:-?} for plain cp of a placeholder, expected +0"
		same plain "$REMOTE/copy2" "$REMOTE/big"
	fi

	# 4. plain cp of the same file once hydrated: not sparse any more, so cp
	# uses copy_file_range, a server copy again
	timeout -k 10 "$OP_TIMEOUT" cat -- "$MNT/big" >/dev/null
	b=$(blocks "$MNT/big")
	[ "$b" != 0 ] || odd "run $run, figure 4: $MNT/big still has st_blocks 0 after cat"
	snap "$MNT"; s0=$SNAP
	drop_caches
	if timed hydrated secs cp -- "$MNT/big" "$MNT/copy3"; then
		flush_secs hydrated
		snap "$MNT"; s1=$SNAP
		fe=$(delta "$s0" "$s1" fetched_bytes); sc=$(delta "$s0" "$s1" server_copies)
		add hydrated copies "${sc:-?}"; add hydrated fetched "${fe:-?}"
		log "  hydrated: server_copies +$sc, fetched_bytes +$fe"
		[ "$sc" = 1 ] || odd "run $run, figure 4: server_copies +${sc:-?} for plain cp of a hydrated file, expected +1"
		same hydrated "$REMOTE/copy3" "$REMOTE/big"
	fi

	cd_unmount clone "$run"
	rm -f "$REMOTE/copy1" "$REMOTE/copy2" "$REMOTE/copy3"
}

# runs are interleaved across subjects so that machine noise spreads evenly
for ((run = 1; run <= RUNS; run++)); do
	run_native "$run"
	run_clone "$run"
done

# ---------------------------------------------------------------- report
median() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || return 1
	printf '%s\n' $vals | sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
allvals() { local vals=${RES[$1,$2]:-}; echo "${vals% }"; }

human_bytes() {
	case "$1" in ''|*[!0-9]*) echo "${1:-n/a}"; return ;; esac
	awk -v b="$1" 'BEGIN {
		if (b < 1024) printf "%d B", b
		else if (b < 1048576) printf "%.1f KiB", b / 1024
		else if (b < 1073741824) printf "%.1f MiB", b / 1048576
		else printf "%.2f GiB", b / 1073741824 }'
}

# val SUBJ METRIC FMT: the median, printf-formatted, or n/a
val() {
	local v
	if v=$(median "$1" "$2"); then awk -v v="$v" -v f="$3" 'BEGIN { printf f, v }'; else echo "n/a"; fi
}
# ratio SUBJ METRIC: median(native secs)/median(SUBJ METRIC), higher is better
ratio() {
	local n s
	n=$(median native secs) || { echo "n/a"; return; }
	s=$(median "$1" "$2") || { echo "n/a"; return; }
	awk -v a="$n" -v b="$s" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
# rate SUBJ METRIC: MB/s of the file size over the median time
rate() {
	local s
	s=$(median "$1" "$2") || { echo "n/a"; return; }
	mbps "$FILE_BYTES" "$s"
}
# same_or_runs SUBJ METRIC [bytes]: the value if every run agrees, else each run's
same_or_runs() {
	local vals u
	vals=$(allvals "$1" "$2")
	[ -n "$vals" ] || { echo "n/a"; return; }
	u=$(printf '%s\n' $vals | sort -u)
	if [ "$(printf '%s\n' "$u" | wc -l)" = 1 ]; then
		if [ "${3:-}" = bytes ]; then human_bytes "$u"; else echo "$u"; fi
	else
		echo "per run: $vals"
	fi
}

if [ "$FILE_MB" -ge 1024 ]; then FILE_H="$((FILE_MB / 1024)) GiB"; else FILE_H="$FILE_MB MiB"; fi
NATIVE=$(val native secs "%.3f")

FSINFO=$(findmnt -n -o FSTYPE,SOURCE -T "$WORK" 2>/dev/null | awk '{ print $1 " on " $2 }')
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
CD_V="$CD_SRC (sha256 $CD_SHA...) @ $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ -n "$(git -C "$REPO_DIR" status --porcelain --untracked-files=no -- src cli meson.build 2>/dev/null)" ]; then
	CD_V+=" (with uncommitted changes)"
fi
MODE="full"; [ "$QUICK" = 1 ] && MODE="quick (smoke test, not comparable with full runs)"

report() {
	echo "## clonedrive copy benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); mode: $MODE; runs: $RUNS"
	echo "- machine: $(nproc) CPUs ($CPU), $MEM RAM, kernel $(uname -r)"
	echo "- work dir filesystem: $FSINFO (remote dir and cache dir both on it)"
	echo "- clonedrive: $CD_V; $CP_V"
	echo "- data: one random file \`big\` of $FILE_H in the remote dir"
	echo
	echo "| Figure (seconds, median of $RUNS run(s)) | native | clonedrive | ratio | notes |"
	echo "|---|---:|---:|---:|---|"
	echo "| 1. \`cp REMOTE/big REMOTE/copy-native\` + \`sync\`, cold | $NATIVE | — | 1.00 | anchor, $(rate native secs) MB/s; the copy checked with cmp |"
	echo "| 2. \`cp --sparse=never MNT/big MNT/copy1\`, cold placeholder | $NATIVE | $(val sparse secs "%.3f") | $(ratio sparse secs) | until cp returns ($(rate sparse secs) MB/s apparent); server_copies +$(same_or_runs sparse copies); after: fetched_bytes $(same_or_runs sparse fetched bytes), cache_bytes $(same_or_runs sparse cache bytes); copy's st_blocks in the mount: $(same_or_runs sparse dst_blocks); a \`sync\` right after: $(val sparse flush "%.3f") s (not in the figure); REMOTE/copy1 checked with cmp |"
	echo "| 3a. plain \`cp MNT/big MNT/copy2\`, cold placeholder: until cp returns | $NATIVE | $(val plain secs "%.3f") | $(ratio plain secs) | $(rate plain secs) MB/s; reads through the daemon (hydrates \`big\`) and writes the copy; server_copies +$(same_or_runs plain copies); fetched_bytes +$(same_or_runs plain fetched bytes) |"
	echo "| 3b. the same, until \`clonedrive sync MNT\` returns after it | $NATIVE | $(val plain total "%.3f") | $(ratio plain total) | cp + sync, $(rate plain total) MB/s; the sync alone: $(val plain sync "%.3f") s; uploaded_bytes +$(same_or_runs plain uploaded bytes); cache_bytes after the sync: $(same_or_runs plain cache bytes) (\`big\` hydrated, and the copy kept: \`--clone\` spooling is for copies from outside the drive); REMOTE/copy2 checked with cmp |"
	echo "| 4. plain \`cp MNT/big MNT/copy3\` of the hydrated file | $NATIVE | $(val hydrated secs "%.3f") | $(ratio hydrated secs) | until cp returns ($(rate hydrated secs) MB/s apparent); server_copies +$(same_or_runs hydrated copies); fetched_bytes +$(same_or_runs hydrated fetched bytes); a \`sync\` right after: $(val hydrated flush "%.3f") s (not in the figure); REMOTE/copy3 checked with cmp |"
	echo
	echo "Ratio = native time (figure 1) / clonedrive time, higher is better. MB/s = 10^6 bytes/s of the $FILE_BYTES-byte file;"
	echo "\"apparent\" when nothing crosses the mount (a copy made by the remote). \"Cold\" = page cache dropped"
	echo "(\`echo 3 >/proc/sys/vm/drop_caches\`, after a \`sync\`) right before the timed command."
	echo "Figures 2, 3 and 4 share one fresh mount (empty cache dir) per run, in that order; figure 4 first reads \`big\` with"
	echo "\`cat\` (untimed) and drops the page cache again. Counters are from the \`user.clonedrive.stats\` xattr of the mount root:"
	echo "cache_bytes as it stands after the figure, the others as the figure's increase (+) or, for figure 2, as they stand"
	echo "(the mount is fresh). Figure 1 includes \`sync\`; figures 2 and 4 time cp alone, but the local backend fsyncs each copy it"
	echo "makes (server copies as uploads) before cp returns, so a \`sync\` right after (in their notes) has little left to flush."
	echo "Figure 3a's copy is written to the cache dir and not yet durable on the remote; 3b's upload is fsynced too."
	echo "— = not applicable, n/a = failed or unavailable."
	if [ "${#ODD[@]}" -gt 0 ]; then
		echo
		echo "**Unexpected (${#ODD[@]}):**"
		local o
		for o in "${ODD[@]}"; do echo "- $o"; done
	fi
	if [ "${#FAILS[@]}" -gt 0 ]; then
		echo
		echo "**BENCHMARK FAILED: ${#FAILS[@]} sanity check(s) failed:**"
		local f
		for f in "${FAILS[@]}"; do echo "- $f"; done
	fi
}

REPORT=$(report)
echo "$REPORT"
if [ "${#FAILS[@]}" -gt 0 ]; then
	log "FAILED: ${#FAILS[@]} sanity check(s) failed; results not saved"
	exit 1
fi
if [ "$SAVE" = 1 ]; then
	echo "$REPORT" >"$RESULTS_FILE" && log "saved to $RESULTS_FILE"
fi
exit 0
