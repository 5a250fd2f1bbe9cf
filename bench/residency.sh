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
. "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- options
RUNS=5
RESULTS_FILE=$SCRIPT_DIR/results-residency.md
STATUS_N=${STATUS_N:-20}
OP_TIMEOUT=${OP_TIMEOUT:-300}     # seconds for any single measured operation

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

parse_options "$@"
need_count STATUS_N "$STATUS_N"

NFILES=16            # 4 directories of 4 files
if [ "$QUICK" = 1 ]; then
	FILE_MB=16
	CAP_MB=64        # a quarter of the data, as in the full run
else
	FILE_MB=64
	CAP_MB=256
fi
FILE_BYTES=$((FILE_MB * 1024 * 1024))
TOTAL_BYTES=$((NFILES * FILE_BYTES))
CAP_BYTES=$((CAP_MB * 1024 * 1024))

require_root

# ---------------------------------------------------------------- tools
need_tools
require_cd_bin

# ---------------------------------------------------------------- work dir
make_work cdres

# ---------------------------------------------------------------- data
declare -a FILES=()      # relative paths, in the order cat reads them
for ((d = 0; d < 4; d++)); do
	for ((i = 0; i < NFILES / 4; i++)); do FILES+=("d$d/f$i.bin"); done
done
log "generating data: $NFILES x $FILE_MB MiB random files"
for f in "${FILES[@]}"; do
	mkdir -p "$REMOTE/$(dirname "$f")"
	random_file "$REMOTE/$f" "$FILE_MB"
done
sync

# ---------------------------------------------------------------- helpers
# paths_under ROOT: fills PATHS with ROOT/FILES[i]
declare -a PATHS=()
paths_under() {
	local f
	PATHS=()
	for f in "${FILES[@]}"; do PATHS+=("$1/$f"); done
}

# timed_cat SUBJ ROOT: cat all files under ROOT to /dev/null, record MB/s
timed_cat() {
	local subj=$1 root=$2 rc rate
	paths_under "$root"
	run_timed cat -- "${PATHS[@]}"
	rc=$?
	if [ "$rc" != 0 ]; then
		log "  $subj read: FAILED (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt")"
		return 1
	fi
	rate=$(mbps "$TOTAL_BYTES" "$SECS")
	add "$subj" read "$rate"
	log "  $subj read: $rate MB/s (${SECS}s)"
}

# verify SUBJ ROOT: every file under ROOT must equal the remote's, byte for byte
# (outside the timed part; through the mount this reads the cache or fetches again)
verify() {
	local subj=$1 root=$2 f out
	for f in "${FILES[@]}"; do
		if out=$(differs "$REMOTE/$f" "$root/$f"); then
			fail "$subj: $f read through the mount differs from the remote: $out"
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
	med=$(awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' "$WORK/tmp/times.txt" | median_lines)
	add "$subj" "$metric" "$med"
	log "  $subj $metric: median $med ms of $STATUS_N calls"
}

# fill CMD RUN: time 'clonedrive CMD MNT' (hydrate or pin) of the whole tree
# and record its MB/s; on failure, unmount (the mount is named CMD too) and fail
fill() {
	local cmd=$1 run=$2 rc
	run_timed "$CD_BIN" "$cmd" "$MNT"
	rc=$?
	if [ "$rc" != 0 ]; then
		log "  $cmd: FAILED (rc=$rc): $(tail -n 3 "$WORK/tmp/err.txt" | tr '\n' ' ')"
		cd_unmount "$cmd" "$run"
		return 1
	fi
	add "$cmd" rate "$(mbps "$TOTAL_BYTES" "$SECS")"
	log "  $cmd: $(mbps "$TOTAL_BYTES" "$SECS") MB/s (${SECS}s)"
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
	local run=$1 rc cb du fr
	log "run $run/$RUNS: clonedrive hydrate, status, free"
	cd_mount hydrate "$run" || { cd_unmount hydrate "$run"; return 1; }
	timeout 300 sync
	status_ms hydrate status_empty "$MNT"
	drop_caches
	fill hydrate "$run" || return 1
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
	run_timed "$CD_BIN" free "$MNT"
	rc=$?
	if [ "$rc" != 0 ]; then
		log "  free: FAILED (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt")"
		cd_unmount hydrate "$run"
		return 1
	fi
	add free secs "$SECS"
	log "  free: ${SECS}s"
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
	local run=$1 cb pin
	log "run $run/$RUNS: clonedrive pin"
	cd_mount pin "$run" || { cd_unmount pin "$run"; return 1; }
	drop_caches
	fill pin "$run" || return 1
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
# maxof SUBJ METRIC: the largest of the runs' values, or fail if there are none
maxof() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || return 1
	printf '%s\n' $vals | sort -g | tail -n 1
}

# ratio SUBJ METRIC: median(SUBJ)/median(native read)
ratio() { ratio_to "$1" "$2" read hi; }

FILE_H=$(size_h "$FILE_MB")
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

CD_V="$(cd_name "$CD_BIN") @ $(cd_rev)"

report() {
	report_head residency "remote dir and cache dirs both on it"
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
	report_problems
}

finish
