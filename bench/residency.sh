#!/usr/bin/env bash
# bench/residency.sh - residency benchmark of clonedrive: cold reads with and
# without a cache limit, hydrate, pin, free and status, against a plain local
# directory (native) as the anchor.
#
# Usage: bench/residency.sh [--quick] [--runs R] [--dir D] [--no-save]
# Must run as root (drops the page cache). See bench/README.md.
#
# Progress goes to stderr; the machine description and the markdown table go
# to stdout and, unless --no-save, to bench/results-residency.md.
# A wrong byte read through the mount, a cache above its limit or a free that
# leaves data behind fails the benchmark: the report says so, is not saved, and
# the exit status is 1.

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
RESULTS_FILE=$SCRIPT_DIR/results-residency.md
STATUS_N=${STATUS_N:-20}

usage() {
	cat <<EOF
Usage: $0 [--quick] [--runs R] [--dir D] [--no-save]
  --quick      smoke test: 1 run, 16 files of 16 MiB, cache limit 64M
  --runs R     repetitions per figure (median is reported), default 5
  --dir D      work dir parent (default: a fresh mktemp -d under /var/tmp)
  --no-save    do not write $RESULTS_FILE
Environment: CD_BIN (default build/clonedrive), STATUS_N (status calls per run, default 20),
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

NFILES=16            # 4 directories of 4 files
if [ "$QUICK" = 1 ]; then
	[ "$RUNS_SET" = 1 ] || RUNS=1
	FILE_MB=16
	CAP_MB=64        # a quarter of the data, as in the full run
else
	FILE_MB=64
	CAP_MB=256
fi
FILE_BYTES=$((FILE_MB * 1024 * 1024))
TOTAL_BYTES=$((NFILES * FILE_BYTES))
CAP_BYTES=$((CAP_MB * 1024 * 1024))
case "$RUNS" in ''|*[!0-9]*|0) echo "--runs needs a positive integer" >&2; exit 2 ;; esac
case "$STATUS_N" in ''|*[!0-9]*|0) echo "STATUS_N needs a positive integer" >&2; exit 2 ;; esac

MOUNT_TIMEOUT=120                 # seconds for 'clonedrive mount' to return
OP_TIMEOUT=${OP_TIMEOUT:-300}     # seconds for any single measured operation
EXIT_TIMEOUT=${EXIT_TIMEOUT:-60}  # seconds to wait for a daemon to exit after unmount

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

fail() { FAILS+=("$*"); log "  SANITY FAILURE: $*"; }

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

# ---------------------------------------------------------------- work dir
if [ -z "$BASE_DIR" ]; then
	WORK=$(mktemp -d /var/tmp/cdres.XXXXXX) || exit 1
else
	mkdir -p "$BASE_DIR" || exit 1
	WORK=$(mktemp -d "$BASE_DIR/cdres.XXXXXX") || exit 1
fi
case "$WORK" in *[[:space:]]*) echo "work dir must not contain whitespace: $WORK" >&2; exit 1 ;; esac
REMOTE=$WORK/remote      # the data; native reads it directly, clonedrive uses it as remote
mkdir -p "$REMOTE" "$WORK/mnt" "$WORK/cache" "$WORK/log" "$WORK/tmp"
log "work dir: $WORK"

# ---------------------------------------------------------------- data
declare -a FILES=()      # relative paths, in the order cat reads them
for ((d = 0; d < 4; d++)); do
	for ((i = 0; i < NFILES / 4; i++)); do FILES+=("d$d/f$i.bin"); done
done
log "generating data: $NFILES x $FILE_MB MiB random files"
for f in "${FILES[@]}"; do
	mkdir -p "$REMOTE/$(dirname "$f")"
	dd if=/dev/urandom of="$REMOTE/$f" bs=1M count="$FILE_MB" status=none || {
		echo "cannot create $REMOTE/$f" >&2; exit 1; }
done
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

# paths_under ROOT: fills PATHS with ROOT/FILES[i]
declare -a PATHS=()
paths_under() {
	local f
	PATHS=()
	for f in "${FILES[@]}"; do PATHS+=("$1/$f"); done
}

# timed_cat SUBJ ROOT: cat all files under ROOT to /dev/null, record MB/s
timed_cat() {
	local subj=$1 root=$2 t0 secs rc rate
	paths_under "$root"
	t0=$EPOCHREALTIME
	op cat -- "${PATHS[@]}" >/dev/null 2>"$WORK/tmp/err.txt"
	rc=$?
	secs=$(secs_since "$t0")
	if [ "$rc" != 0 ]; then
		log "  $subj read: FAILED (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt")"
		return 1
	fi
	rate=$(mbps "$TOTAL_BYTES" "$secs")
	add "$subj" read "$rate"
	log "  $subj read: $rate MB/s (${secs}s)"
}

# verify SUBJ ROOT: every file under ROOT must equal the remote's, byte for byte
# (outside the timed part; through the mount this reads the cache or fetches again)
verify() {
	local subj=$1 root=$2 f out
	for f in "${FILES[@]}"; do
		if ! out=$(timeout -k 10 "$OP_TIMEOUT" cmp -- "$REMOTE/$f" "$root/$f" 2>&1); then
			fail "$subj: $f read through the mount differs from the remote: ${out:-timeout}"
			return 1
		fi
	done
	log "  $subj: all $NFILES files equal the remote's (cmp)"
}

# json_num MNT KEY: a number from 'clonedrive status --json MNT'
json_num() {
	timeout 60 "$CD_BIN" status --json "$1" 2>/dev/null |
		grep -o "\"$2\":[0-9][0-9]*" | head -n 1 | cut -d: -f2 | grep .
}

# stat_num MNT KEY: a counter from the user.clonedrive.stats xattr
stat_num() {
	timeout 30 getfattr --only-values -n user.clonedrive.stats "$1" 2>/dev/null |
		sed -n "s/^$2=\([0-9][0-9]*\)\$/\1/p" | head -n 1 | grep .
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# status_ms SUBJ METRIC MNT [CMD...]: median latency (ms) of STATUS_N calls of
# 'clonedrive status MNT' (or of CMD, for the process start floor). One timeout
# covers the whole loop, so that each call costs just its own fork and exec.
status_ms() {
	local subj=$1 metric=$2 mnt=$3 rc med n
	shift 3
	[ $# -gt 0 ] || set -- "$CD_BIN" status "$mnt"
	timeout -k 5 "$OP_TIMEOUT" bash -c '
		n=$1; shift
		for ((i = 0; i < n; i++)); do
			t0=$EPOCHREALTIME
			"$@" >/dev/null || exit 1
			t1=$EPOCHREALTIME
			echo "$t0 $t1"
		done' _ "$STATUS_N" "$@" >"$WORK/tmp/times.txt" 2>"$WORK/tmp/err.txt"
	rc=$?
	n=$(wc -l <"$WORK/tmp/times.txt")
	if [ "$rc" != 0 ] || [ "$n" != "$STATUS_N" ]; then
		log "  $subj $metric: FAILED (rc=$rc, $n of $STATUS_N calls): $(head -c 200 "$WORK/tmp/err.txt")"
		return 1
	fi
	med=$(awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' "$WORK/tmp/times.txt" | sort -g |
		awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
	add "$subj" "$metric" "$med"
	log "  $subj $metric: median $med ms of $STATUS_N calls"
}

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
# 1. native: cat of the remote dir itself
run_native() {
	local run=$1
	log "run $run/$RUNS: native"
	drop_caches
	timed_cat native "$REMOTE"
}

# 2. clonedrive cold read, no cache limit
run_cold() {
	local run=$1
	log "run $run/$RUNS: clonedrive cold read"
	cd_mount cold "$run" || { cd_unmount cold "$run"; return 1; }
	drop_caches
	timed_cat cold "$MNT" && verify cold "$MNT"
	cd_unmount cold "$run"
}

# 3. clonedrive cold read under --cache-max
run_capped() {
	local run=$1 cb ev i
	log "run $run/$RUNS: clonedrive cold read, --cache-max ${CAP_MB}M"
	cd_mount capped "$run" --cache-max "${CAP_MB}M" || { cd_unmount capped "$run"; return 1; }
	drop_caches
	if timed_cat capped "$MNT"; then
		cb=$(json_num "$MNT" cache_bytes)
		if [ -n "$cb" ] && [ "$cb" -gt "$CAP_BYTES" ]; then
			# eviction may lag the reads a little: give it 10 s before calling it a failure
			log "  capped: cache $(mib "$cb") MiB right after the read, above the limit; waiting"
			for ((i = 0; i < 100; i++)); do
				sleep 0.1
				cb=$(json_num "$MNT" cache_bytes) || break
				[ "$cb" -le "$CAP_BYTES" ] && break
			done
		fi
		ev=$(stat_num "$MNT" evicted_files)
		if [ -z "$cb" ]; then
			fail "capped: no cache_bytes in 'status --json'"
		else
			add capped cache_after "$cb"
			log "  capped cache_bytes after: $cb ($(mib "$cb") MiB)"
			[ "$cb" -le "$CAP_BYTES" ] || fail "capped: cache holds $cb bytes, above --cache-max ${CAP_MB}M"
		fi
		if [ -n "$ev" ]; then
			add capped evicted "$ev"
			log "  capped evicted_files: $ev"
		else
			log "  capped: no evicted_files in the user.clonedrive.stats xattr"
		fi
		verify capped "$MNT"
	fi
	cd_unmount capped "$run"
}

# 4. hydrate, then 7. status with the cache full, then 6. free
run_hydrate() {
	local run=$1 t0 secs rc cb du fr
	log "run $run/$RUNS: clonedrive hydrate, status, free"
	cd_mount hydrate "$run" || { cd_unmount hydrate "$run"; return 1; }
	timeout 300 sync
	status_ms hydrate status_empty "$MNT"
	drop_caches
	t0=$EPOCHREALTIME
	op "$CD_BIN" hydrate "$MNT" </dev/null >/dev/null 2>"$WORK/tmp/progress.txt"
	rc=$?
	secs=$(secs_since "$t0")
	if [ "$rc" != 0 ]; then
		log "  hydrate: FAILED (rc=$rc): $(tail -n 3 "$WORK/tmp/progress.txt" | tr '\n' ' ')"
		cd_unmount hydrate "$run"
		return 1
	fi
	add hydrate rate "$(mbps "$TOTAL_BYTES" "$secs")"
	log "  hydrate: $(mbps "$TOTAL_BYTES" "$secs") MB/s (${secs}s)"
	cb=$(json_num "$MNT" cache_bytes)
	if [ "${cb:-0}" -lt "$TOTAL_BYTES" ]; then
		fail "hydrate: cache holds ${cb:-?} bytes after hydrate, expected $TOTAL_BYTES"
		cd_unmount hydrate "$run"
		return 1
	fi
	add hydrate cache_after "$cb"
	verify hydrate "$MNT"

	# 7. status latency with the cache full (written back first, so that the
	# calls do not compete with writeback); and the floor: starting a process
	timeout 300 sync
	status_ms hydrate status_full "$MNT"
	status_ms hydrate spawn "$MNT" "$(type -P true)"

	# 6. free the whole tree
	t0=$EPOCHREALTIME
	op "$CD_BIN" free "$MNT" </dev/null >/dev/null 2>"$WORK/tmp/err.txt"
	rc=$?
	secs=$(secs_since "$t0")
	if [ "$rc" != 0 ]; then
		log "  free: FAILED (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt")"
		cd_unmount hydrate "$run"
		return 1
	fi
	add free secs "$secs"
	log "  free: ${secs}s"
	du=$(timeout 60 du -s "$MNT" | cut -f1)
	fr=$(stat_num "$MNT" freed_bytes)
	cb=$(json_num "$MNT" cache_bytes)
	add free du_after "${du:-?}"
	[ -n "$fr" ] && add free freed "$fr"
	[ -n "$cb" ] && add free cache_after "$cb"
	log "  free: du -s after: ${du:-?} KiB; freed_bytes: ${fr:-?}; cache_bytes: ${cb:-?}"
	[ "$du" = 0 ] || fail "free: du -s of the mount is ${du:-?} KiB after free, expected 0"
	cd_unmount hydrate "$run"
}

# 5. pin the whole tree
run_pin() {
	local run=$1 t0 secs rc cb pin
	log "run $run/$RUNS: clonedrive pin"
	cd_mount pin "$run" || { cd_unmount pin "$run"; return 1; }
	drop_caches
	t0=$EPOCHREALTIME
	op "$CD_BIN" pin "$MNT" </dev/null >/dev/null 2>"$WORK/tmp/progress.txt"
	rc=$?
	secs=$(secs_since "$t0")
	if [ "$rc" != 0 ]; then
		log "  pin: FAILED (rc=$rc): $(tail -n 3 "$WORK/tmp/progress.txt" | tr '\n' ' ')"
		cd_unmount pin "$run"
		return 1
	fi
	add pin rate "$(mbps "$TOTAL_BYTES" "$secs")"
	log "  pin: $(mbps "$TOTAL_BYTES" "$secs") MB/s (${secs}s)"
	cb=$(json_num "$MNT" cache_bytes)
	pin=$(timeout 60 "$CD_BIN" status --json "$MNT/${FILES[0]}" 2>/dev/null | grep -o '"pin":"[a-z]*"')
	if [ "${cb:-0}" -lt "$TOTAL_BYTES" ]; then
		fail "pin: cache holds ${cb:-?} bytes after pin, expected $TOTAL_BYTES"
	else
		add pin cache_after "$cb"
	fi
	[ "$pin" = '"pin":"pinned"' ] || fail "pin: ${FILES[0]} is not pinned after pin (${pin:-no pin state})"
	verify pin "$MNT"
	cd_unmount pin "$run"
}

# runs are interleaved across subjects so that machine noise spreads evenly
for ((run = 1; run <= RUNS; run++)); do
	run_native "$run"
	run_cold "$run"
	run_capped "$run"
	run_hydrate "$run"
	run_pin "$run"
done

# ---------------------------------------------------------------- report
median() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || return 1
	printf '%s\n' $vals | sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maxof() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || return 1
	printf '%s\n' $vals | sort -g | tail -n 1
}
allvals() { local vals=${RES[$1,$2]:-}; echo "${vals% }"; }

human_bytes() {
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
# ratio SUBJ METRIC: median(SUBJ)/median(native read)
ratio() {
	local n s
	n=$(median native read) || { echo "n/a"; return; }
	s=$(median "$1" "$2") || { echo "n/a"; return; }
	awk -v a="$s" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

if [ "$FILE_MB" -ge 1024 ]; then FILE_H="$((FILE_MB / 1024)) GiB"; else FILE_H="$FILE_MB MiB"; fi
TOTAL_H=$(human_bytes "$TOTAL_BYTES" | sed 's/\.00 GiB/ GiB/; s/\.0 MiB/ MiB/')
NATIVE=$(val native read "%.0f")

notes_capped() {
	local cb ev
	if cb=$(maxof capped cache_after); then
		cb="cache after: max $(human_bytes "$cb") (limit ${CAP_MB}M)"
	else
		cb="cache after: n/a"
	fi
	if ev=$(median capped evicted); then
		ev="files evicted: median $ev of $NFILES (runs: $(allvals capped evicted))"
	else
		ev="files evicted: n/a"
	fi
	echo "$cb; $ev"
}

notes_free() {
	local du fr
	du=$(allvals free du_after)
	fr=$(median free freed) && fr="freed $(human_bytes "$fr"); " || fr=""
	echo "${fr}du -s of the mount after (KiB, per run): ${du:-n/a}"
}

notes_status() {
	local e
	e=$(val hydrate status_empty "%.1f")
	echo "median of $STATUS_N calls per run, cache $TOTAL_H in $NFILES files; empty cache: $e ms; process start floor (\`/usr/bin/true\` timed the same way): $(val hydrate spawn "%.1f") ms"
}

FSINFO=$(findmnt -n -o FSTYPE,SOURCE -T "$WORK" 2>/dev/null | awk '{ print $1 " on " $2 }')
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
CD_V="$CD_BIN @ $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ -n "$(git -C "$REPO_DIR" status --porcelain --untracked-files=no -- src cli meson.build 2>/dev/null)" ]; then
	CD_V+=" (with uncommitted changes)"
fi
MODE="full"; [ "$QUICK" = 1 ] && MODE="quick (smoke test, not comparable with full runs)"

report() {
	echo "## clonedrive residency benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); mode: $MODE; runs: $RUNS"
	echo "- machine: $(nproc) CPUs ($CPU), $MEM RAM, kernel $(uname -r)"
	echo "- work dir filesystem: $FSINFO (remote dir and cache dirs both on it)"
	echo "- clonedrive: $CD_V"
	echo "- data: $NFILES random files of $FILE_H ($TOTAL_H) in 4 directories"
	echo
	echo "| Figure (median of $RUNS run(s)) | native | clonedrive | ratio | notes |"
	echo "|---|---:|---:|---:|---|"
	echo "| 1. Cold read, \`cat\` of all files (MB/s) | $NATIVE | — | 1.00 | anchor: the remote dir read directly |"
	echo "| 2. Cold read through the mount, no cache limit (MB/s) | $NATIVE | $(val cold read "%.0f") | $(ratio cold read) | fresh mount, empty cache; bytes checked with cmp |"
	echo "| 3. Cold read, \`--cache-max ${CAP_MB}M\` (MB/s) | $NATIVE | $(val capped read "%.0f") | $(ratio capped read) | $(notes_capped) |"
	echo "| 4. \`clonedrive hydrate\` of the tree, cold (MB/s) | ($NATIVE) | $(val hydrate rate "%.0f") | $(ratio hydrate rate) | ratio against figure 1; cache after: $(val hydrate cache_after "%d") bytes |"
	echo "| 5. \`clonedrive pin\` of the tree, cold (MB/s) | ($NATIVE) | $(val pin rate "%.0f") | $(ratio pin rate) | ratio against figure 1; cache after: $(val pin cache_after "%d") bytes, pinned |"
	echo "| 6. \`clonedrive free\` of the hydrated tree (s) | — | $(val free secs "%.3f") | — | $(notes_free) |"
	echo "| 7. \`clonedrive status\` with the cache full (ms) | — | $(val hydrate status_full "%.1f") | — | $(notes_status) |"
	echo
	echo "MB/s = 10^6 bytes/s of file data ($TOTAL_BYTES bytes). \"Cold\" = page cache dropped (\`echo 3 >/proc/sys/vm/drop_caches\`)"
	echo "and, for clonedrive, a fresh mount with an empty cache dir each run. Ratio = clonedrive/native cold read, higher is better."
	echo "Figures 4, 6 and 7 share one mount per run: hydrate, then $STATUS_N status calls, then free."
	echo "Each run checks every file read through the mount against the remote with \`cmp\` (after the timed part),"
	echo "the cache size after hydrate/pin (\`status --json\` cache_bytes), the limit after figure 3, and that \`du -s\` of the mount is 0 after free."
	echo "— = not applicable, n/a = failed or unavailable; (x) = the native anchor of figure 1, for reference."
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
