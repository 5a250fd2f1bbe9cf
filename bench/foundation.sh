#!/usr/bin/env bash
# bench/foundation.sh - foundation benchmark of clonedrive against a plain
# local directory (native) and rclone mount (--vfs-cache-mode full).
#
# Usage: bench/foundation.sh [--quick] [--runs R] [--dir D] [--no-rclone]
#        [--hydrated-only] [--meta-only] [--no-save]
# Must run as root (drops the page cache). See bench/README.md.
#
# Progress goes to stderr; the machine description and the markdown table go
# to stdout and, unless --no-save, to bench/results-foundation.md.

set -uo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- options
RUNS=3
DO_RCLONE=1
HYD_ONLY=0
META_ONLY=0
RESULTS_FILE=$SCRIPT_DIR/results-foundation.md
OP_TIMEOUT=${OP_TIMEOUT:-1800}  # seconds for any single measured operation

usage() {
	cat <<EOF
Usage: $0 [--quick] [--runs R] [--dir D] [--no-rclone] [--hydrated-only] [--meta-only] [--no-save]
  --quick      smoke test: 1 run, 256 MiB files, 2,000-file ls dir, 10,000-file find tree
  --runs R     repetitions per figure (median is reported), default 3
  --dir D      work dir parent (default: a fresh mktemp -d under /var/tmp)
  --no-rclone  skip the rclone subject
  --hydrated-only  only figures 9-11 (a hydrated file, passthrough on and off)
  --meta-only  only the listings (figures 5-6, and 8): no data files, and
               the first ls -l comes right after the mount, with no reads
               before it that would list the root first
  --no-save    do not write $RESULTS_FILE
Environment: CD_BIN (default build/clonedrive), RAND_N (random reads, default 2000),
  HYD_RAND_N (random reads of the hydrated file, default 200000)
EOF
}

extra_option() {
	case "$1" in
	--no-rclone) DO_RCLONE=0 ;;
	--hydrated-only) HYD_ONLY=1 ;;
	--meta-only) META_ONLY=1 ;;
	*) return 1 ;;
	esac
}

parse_options "$@"

if [ "$QUICK" = 1 ]; then
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
HYD_RAND_N=${HYD_RAND_N:-200000}
SIZE_BYTES=$((SIZE_MB * 1024 * 1024))
FIND_ENTRIES=$((1 + FIND_DIRS + FIND_DIRS * FIND_FILES_PER_DIR))
LONE_OFFSET=$((SIZE_BYTES / 2 + 7 * 4096))

require_root

# ---------------------------------------------------------------- tools
need_tools
command -v cc >/dev/null || apt_install gcc libc6-dev
if [ "$DO_RCLONE" = 1 ] && ! command -v rclone >/dev/null; then
	apt_install rclone || true
fi

# ---------------------------------------------------------------- work dir
make_work cdbench
# clonedrive may daemonize: its pid file is how cleanup finds a daemon whose
# mount never came up
CD_PIDF=$WORK/tmp/cd.pid
PID_FILES+=("$CD_PIDF")

if ! cc -O2 -o "$WORK/bin/randread" "$SCRIPT_DIR/randread.c"; then
	echo "cannot compile bench/randread.c" >&2
	exit 1
fi
RANDREAD=$WORK/bin/randread

# ---------------------------------------------------------------- data
log "generating data: 3 x $SIZE_MB MiB random files, $LS_FILES-file dir, $FIND_ENTRIES-entry tree"
if [ "$META_ONLY" = 0 ]; then
	random_file "$REMOTE/hyd.bin" "$SIZE_MB"
fi
if [ "$HYD_ONLY" = 0 ] && [ "$META_ONLY" = 0 ]; then
	for f in seq rand lone; do random_file "$REMOTE/$f.bin" "$SIZE_MB"; done
fi
if [ "$HYD_ONLY" = 0 ]; then
	mkdir "$REMOTE/lsdir"
	for ((i = 0; i < LS_FILES; i++)); do printf 'x' >"$REMOTE/lsdir/f$i"; done
	mkdir "$REMOTE/tree"
	for ((d = 0; d < FIND_DIRS; d++)); do
		mkdir "$REMOTE/tree/d$d"
		for ((i = 0; i < FIND_FILES_PER_DIR; i++)); do printf 'x' >"$REMOTE/tree/d$d/f$i"; done
	done
fi
sync

# ---------------------------------------------------------------- helpers
# dd_rate SUBJ METRIC ARGS...: run dd with a timeout, check the byte count,
# record MB/s (10^6 bytes / s, measured around the whole dd process).
dd_rate() {
	local subj=$1 metric=$2 rc bytes rate
	shift 2
	run_timed dd "$@"
	rc=$?
	bytes=$(awk '/ bytes / && $1 ~ /^[0-9]+$/ { b = $1 } END { print b + 0 }' "$WORK/tmp/err.txt")
	if [ "$rc" != 0 ] || [ "$bytes" != "$SIZE_BYTES" ]; then
		log "  $subj $metric: FAILED (rc=$rc, bytes=$bytes): $(tail -n 2 "$WORK/tmp/err.txt" | tr '\n' ' ')"
		return 1
	fi
	rate=$(mbps "$bytes" "$SECS")
	add "$subj" "$metric" "$rate"
	log "  $subj $metric: $rate MB/s (${SECS}s)"
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
cd_fetched() { stat_num "$1" fetched_bytes; }

vmhwm_mib() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024; f = 1 } END { exit !f }' "/proc/$1/status" 2>/dev/null
}

# ---------------------------------------------------------------- subjects
# mount_subject SUBJ RUN: sets ROOT (where to read) and DPID/DEXE (daemon);
# CD_EXTRA: more options of clonedrive mount
ROOT=""
CD_EXTRA=()
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
		DEXE=$CD_EXE
		mkdir -p "$mnt" "$cache"
		rm -f "$CD_PIDF"
		"$CD_BIN" mount --cache-dir "$cache" --pid-file "$CD_PIDF" \
			${CD_EXTRA[@]+"${CD_EXTRA[@]}"} "$REMOTE" "$mnt" \
			</dev/null >"$log" 2>&1 9>&- &
		lp=$! ;;
	rclone)
		DEXE=$(basename "$(readlink -f "$(command -v rclone)")")
		mkdir -p "$mnt" "$cache"
		: >"$WORK/tmp/rclone.conf"
		RCLONE_CONFIG=$WORK/tmp/rclone.conf rclone mount "$REMOTE" "$mnt" \
			--vfs-cache-mode full --vfs-fast-fingerprint --cache-dir "$cache" \
			</dev/null >"$log" 2>&1 9>&- &
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
		DPID=$(daemon_pid "$CD_PIDF" "$CD_EXE")
		[ -n "$DPID" ] && [ "$DPID" != "$lp" ] && STARTED+=("$DPID:$CD_EXE")
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
	if [ "$subj" = clonedrive ]; then
		unmount_with "$subj" "$mnt" timeout 120 "$CD_BIN" unmount "$mnt" >>"$WORK/log/$subj.$run.log" 2>&1
	else
		unmount_with "$subj" "$mnt" timeout 60 fusermount3 -u "$mnt" 2>/dev/null
	fi
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

# hydrated_figures SUBJ SUFFIX: 9-11 on $ROOT/hyd.bin, held whole (and, for
# clonedrive, hydrated): a warm re-read after one read, random 4 KiB reads
# of it, warm, and an overwrite in place with fsync.
hydrated_figures() {
	local subj=$1 sfx=$2 ops
	run_timed dd if="$ROOT/hyd.bin" of=/dev/null bs=1M
	dd_rate "$subj" "hyd_warm$sfx" if="$ROOT/hyd.bin" of=/dev/null bs=1M
	if op "$RANDREAD" "$ROOT/hyd.bin" "$HYD_RAND_N" "$run" >"$WORK/tmp/out.txt" 2>"$WORK/tmp/err.txt"; then
		ops=$(sed -n 's/.*ops_per_s=\([0-9.]*\).*/\1/p' "$WORK/tmp/out.txt")
		add "$subj" "hyd_rand$sfx" "$ops"
		log "  $subj hyd_rand$sfx: $ops ops/s"
	else
		log "  $subj hyd_rand$sfx: FAILED: $(head -c 200 "$WORK/tmp/err.txt")"
	fi
	dd_rate "$subj" "hyd_write$sfx" if=/dev/zero of="$ROOT/hyd.bin" bs=1M count="$SIZE_MB" conv=notrunc,fsync
}

# run_hydrated SUBJ RUN: figures 9-11; clonedrive twice, on mounts with
# --passthrough on and off, each hydrating the file first
run_hydrated() {
	local subj=$1 run=$2 mode
	case "$subj" in
	native)
		ROOT=$REMOTE
		hydrated_figures native "" ;;
	clonedrive)
		for mode in on off; do
			log "run $run/$RUNS: clonedrive --passthrough $mode, a hydrated file"
			CD_EXTRA=(--passthrough "$mode")
			if mount_subject clonedrive "$run.$mode"; then
				if op "$CD_BIN" hydrate "$ROOT/hyd.bin" >/dev/null 2>"$WORK/tmp/err.txt"; then
					hydrated_figures clonedrive "_$mode"
					[ "$mode" = on ] && log "  fast opens: $(stat_num "$ROOT" fastpath_opens)"
				else
					log "  clonedrive hydrate: FAILED: $(head -c 200 "$WORK/tmp/err.txt")"
				fi
			fi
			unmount_subject clonedrive "$run.$mode"
			CD_EXTRA=()
		done ;;
	esac
}

# listings SUBJ: figures 5 and 6; fails if an operation hung
listings() {
	local subj=$1

	# 5. ls -l of a big directory, first and second time ("total" line + one per file)
	drop_caches
	if timed_count "$subj" ls_1 $((LS_FILES + 1)) ls -l "$ROOT/lsdir"; then
		timed_count "$subj" ls_2 $((LS_FILES + 1)) ls -l "$ROOT/lsdir"
	fi

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && return 1

	# 6. find over a big tree, first and second time
	drop_caches
	if timed_count "$subj" find_1 "$FIND_ENTRIES" find "$ROOT/tree"; then
		timed_count "$subj" find_2 "$FIND_ENTRIES" find "$ROOT/tree"
	fi

	log_hwm "$subj"
	[ "$HUNG" = 1 ] && return 1
	return 0
}

# run_listings SUBJ RUN: the rest of a --meta-only run, once mounted
run_listings() {
	local subj=$1 run=$2 hwm

	listings "$subj" || { abort_run "$subj" "$run"; return 1; }
	if [ -n "$DPID" ] && hwm=$(vmhwm_mib "$DPID"); then
		add "$subj" rss "$hwm"
		log "  $subj rss: $hwm MiB"
	fi
	unmount_subject "$subj" "$run"
	return 0
}

run_subject() {
	local subj=$1 run=$2 f0 f1
	HUNG=0
	log "run $run/$RUNS: $subj"
	if [ "$HYD_ONLY" = 1 ]; then
		run_hydrated "$subj" "$run"
		return 0
	fi
	if ! mount_subject "$subj" "$run"; then
		log "  $subj: mount failed, figures n/a for this run"
		unmount_subject "$subj" "$run"
		return 1
	fi

	[ "$META_ONLY" = 1 ] && { run_listings "$subj" "$run"; return; }

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

	listings "$subj" || { abort_run "$subj" "$run"; return 1; }

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
	run_hydrated "$subj" "$run"
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
		[ "$subj" = rclone ] && [ "$HYD_ONLY" = 1 ] && continue
		run_subject "$subj" "$run"
	done
done

# ---------------------------------------------------------------- report
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

SIZE_H=$(size_h "$SIZE_MB")
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# metric|label|kind|better(hi/lo/-)|applies(all/cd/fuse/hyd)|native's metric
# (hyd: clonedrive only, its ratio to native's metric)
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
	"hyd_warm_on|9a. Warm re-read of a hydrated $SIZE_H file, passthrough on (MB/s)|rate|hi|hyd|hyd_warm"
	"hyd_warm_off|9b. … passthrough off (MB/s)|rate|hi|hyd|hyd_warm"
	"hyd_rand_on|10a. Random 4 KiB reads of it, warm, N=$(commas "$HYD_RAND_N"), passthrough on (ops/s)|ops|hi|hyd|hyd_rand"
	"hyd_rand_off|10b. … passthrough off (ops/s)|ops|hi|hyd|hyd_rand"
	"hyd_write_on|11a. Overwrite of it in place, dd conv=notrunc,fsync, passthrough on (MB/s)|rate|hi|hyd|hyd_write"
	"hyd_write_off|11b. … passthrough off (MB/s)|rate|hi|hyd|hyd_write"
)

cell() { # cell SUBJ METRIC KIND APPLIES
	local subj=$1 metric=$2 kind=$3 applies=$4 v
	case "$applies" in
	cd|hyd) [ "$subj" = clonedrive ] || { echo "—"; return; } ;;
	fuse) [ "$subj" = native ] && { echo "—"; return; } ;;
	esac
	if v=$(median "$subj" "$metric"); then fmt "$kind" "$v"; else echo "n/a"; fi
}

ratio_cell() { # ratio_cell SUBJ METRIC BETTER
	local subj=$1 metric=$2 better=$3
	[ "$better" = - ] && { echo "—"; return; }
	ratio_to "$subj" "$metric" "$metric" "$better"
}

RCLONE_V="not installed"
if command -v rclone >/dev/null; then
	RCLONE_V=$(rclone version 2>/dev/null | sed -n 1p)
fi
if [ -x "$CD_BIN" ]; then
	CD_V="$(cd_name "$CD_BIN") @ $(cd_rev)"
else
	CD_V="not built ($CD_BIN missing)"
fi

report() {
	report_head foundation "native dir, FUSE remotes and cache dirs all on it"
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
	local row metric label kind better applies nmetric line
	for row in "${ROWS[@]}"; do
		IFS='|' read -r metric label kind better applies nmetric <<<"$row"
		if [ "$HYD_ONLY" = 1 ] && [ "$applies" != hyd ]; then continue; fi
		if [ "$META_ONLY" = 1 ]; then
			case "$metric" in ls_*|find_*|rss) ;; *) continue ;; esac
		fi
		if [ "$applies" = hyd ]; then
			line="| $label | $(cell native "$nmetric" "$kind" all) | $(cell clonedrive "$metric" "$kind" "$applies")"
			line+=" | $(ratio_to clonedrive "$metric" "$nmetric" "$better")"
			[ "$DO_RCLONE" = 1 ] && line+=" | — | —"
			echo "$line |"
			continue
		fi
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
	if [ "$META_ONLY" = 1 ]; then
		echo "--meta-only: each run mounts once and measures figures 5, 6 and 8 in order; the first ls -l is the mount's first access."
	else
		echo "each run mounts once and measures figures 1-8 in order; \"first\" listings are the first of that mount."
		echo "Figures 9-11: a file held whole (clonedrive: hydrated on a fresh mount with --passthrough on, then one with it off), read once, then measured warm; native: the same file in the page cache."
	fi
	echo "Bytes fetched come from the \`fetched_bytes=\` line of the \`user.clonedrive.stats\` xattr. — = not applicable, n/a = failed or unavailable."
}

finish
