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
. "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- options
RUNS=5
RESULTS_FILE=$SCRIPT_DIR/results-clone.md
OP_TIMEOUT=${OP_TIMEOUT:-300}     # seconds for any single measured operation

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

parse_options "$@"

if [ "$QUICK" = 1 ]; then
	FILE_MB=256
else
	FILE_MB=1024
fi
FILE_BYTES=$((FILE_MB * 1024 * 1024))

require_root

# ---------------------------------------------------------------- tools
need_tools
require_cd_bin
CP_V=$(cp --version 2>/dev/null | head -n 1)

# ---------------------------------------------------------------- work dir
make_work cdclone

# run a private copy of the binary: a rebuild of build/ during the benchmark
# must not mix two binaries in one table
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
random_file "$REMOTE/big" "$FILE_MB"
sync

# ---------------------------------------------------------------- helpers
# timed SUBJ METRIC CMD...: run CMD (with the op timeout), record its seconds
# under SUBJ,METRIC; a failure or a timeout fails the benchmark
timed() {
	local subj=$1 metric=$2 rc
	shift 2
	run_timed "$@"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$subj: '$*' failed (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt" | tr '\n' ' ')"
		return 1
	fi
	add "$subj" "$metric" "$SECS"
	log "  $subj $metric: ${SECS}s ($(mbps "$FILE_BYTES" "$SECS") MB/s)"
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
	if out=$(differs "$a" "$b"); then
		fail "$subj: $a differs from $b: $out"
		return 1
	fi
	log "  $subj: $(basename "$a") equals $(basename "$b") (cmp)"
}

# snap MNT: read the user.clonedrive.stats xattr of the mount into SNAP
SNAP=""
snap() {
	SNAP=$(stats_text "$1")
	[ -n "$SNAP" ] || log "  cannot read the user.clonedrive.stats xattr of $1"
}
# delta BEFORE AFTER KEY: AFTER's KEY minus BEFORE's (empty if either missing)
delta() {
	local a b
	a=$(ctr "$1" "$3"); b=$(ctr "$2" "$3")
	[ -n "$a" ] && [ -n "$b" ] && echo $((b - a))
}

blocks() { stat -c %b -- "$1" 2>/dev/null; }

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
# ratio SUBJ METRIC: median(native secs)/median(SUBJ METRIC), higher is better
ratio() { ratio_to "$1" "$2" secs lo; }
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

FILE_H=$(size_h "$FILE_MB")
NATIVE=$(val native secs "%.3f")

CD_V="$CD_SRC (sha256 $CD_SHA...) @ $(cd_rev)"

report() {
	report_head copy "remote dir and cache dir both on it"
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
	report_problems
}

finish
