#!/usr/bin/env bash
# bench/clone.sh - copies and the drive.
#
# Copies into the drive from outside: coreutils cp of a file on the local disk
# into the mount, under each --clone policy, from a source on ext4 (the work
# dir's disk) and from a source on btrfs (a loop-mounted image in the work dir);
# the source, a plain directory (native: cp to it is the anchor), the remote dir
# and the cache dir are all on that one file system. Each row: the time until
# cp returns, the peak growth of the cache (the cache_bytes counter, and the
# file system's used bytes, sampled every ~50 ms) while copying and until the
# copy is uploaded, the bytes at the remote, and the time until uploaded.
# rclone mount --vfs-cache-mode full is a row too, if rclone is installed.
# Beside native cp, on each file system: cp --reflink=never (a read()/write()
# copy), and the same cp into two of libfuse's own examples, built at run time
# from /usr/share/doc/libfuse3-dev/examples: null (discards the bytes: what any
# FUSE mount costs) and passthrough_ll (keeps them in a dir on that file system);
# each clonedrive row is also given as a ratio to null's time.
#
# Copies inside the mount. A whole-file copy_file_range of a file in sync
# becomes a copy made by the remote itself (a server copy; the destination is a
# placeholder); plain cp of a placeholder reads it through the daemon and writes
# the copy, which is then uploaded. A plain local directory (native: cp + sync on
# the remote's own disk) is the anchor. The server copy is measured again with
# the remote dir on btrfs, where the remote makes it as a reflink.
#
# Usage: bench/clone.sh [--quick] [--runs R] [--dir D] [--no-save]
# Must run as root (drops the page cache, mounts FUSE and a loop device, and
# --clone guard needs fanotify). See bench/README.md.
#
# Progress goes to stderr; the machine description and the markdown tables go
# to stdout and, unless --no-save, to bench/results-clone.md.
# A copy that differs from the source on the remote (cmp), a copy command or
# an upload that fails or times out, or a mount that fails, fails the benchmark:
# the report says so, is not saved, and the exit status is 1. Counters that
# differ from what the design promises (bytes fetched by a server copy, a copy
# not detected, bytes stored that a policy should not store) and warnings or
# errors in a daemon's log are listed under the tables as unexpected, not hidden.

set -uo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- options
RUNS=${RUNS:-3}
RESULTS_FILE=$SCRIPT_DIR/results-clone.md
OP_TIMEOUT=${OP_TIMEOUT:-300}     # seconds for any single measured operation
BTRFS_SIZE=4G                     # the btrfs image
SAMPLE_SECS=0.05                  # pause between two samples of the cache

usage() {
	cat <<EOF
Usage: $0 [--quick] [--runs R] [--dir D] [--no-save]
  --quick      smoke test: 1 run, a 256 MiB file
  --runs R     repetitions per figure (median is reported), default 3
  --dir D      work dir parent (default: a fresh mktemp -d under /var/tmp)
  --no-save    do not write $RESULTS_FILE
Environment: RUNS (repetitions, as --runs), CD_BIN (default build/clonedrive),
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
command -v setfattr >/dev/null || apt_install attr
command -v mkfs.btrfs >/dev/null || apt_install btrfs-progs
CP_V=$(cp --version 2>/dev/null | head -n 1)
RCLONE=$(command -v rclone || true)
if [ -n "$RCLONE" ]; then
	RCLONE_EXE=$(basename "$(readlink -f "$RCLONE")")
	RCLONE_V=$("$RCLONE" version 2>/dev/null | sed -n 1p)
	command -v curl >/dev/null || apt_install curl
else
	log "rclone is not installed: its rows are skipped"
fi

# ---------------------------------------------------------------- work dir
make_work cdclone

private_cd_bin
CD_SHA=$(sha256sum "$CD_BIN" | cut -c1-12)
log "clonedrive: $CD_SRC (sha256 $CD_SHA...), run from a copy in the work dir"

# ---------------------------------------------------------------- libfuse examples
# the FUSE anchors: libfuse's own example file systems null (discards what is
# written) and passthrough_ll (stores it in a dir), built here from the source
# Debian's libfuse3-dev ships (not part of the project); a row is skipped, with
# the reason in the report, if its source is missing or does not build
FUSE_EX_DIR=/usr/share/doc/libfuse3-dev/examples
FUSE_V=$(pkg-config --modversion fuse3 2>/dev/null)
declare -A FX=()        # FX[name] = the built binary
declare -A FX_WHY=()    # FX_WHY[name] = why it is not there
build_example() {
	local name=$1 src=$FUSE_EX_DIR/$1.c flags
	if [ ! -r "$src" ]; then
		FX_WHY[$name]="\`$src\` not found (install libfuse3-dev)"; return 1
	fi
	command -v gcc >/dev/null || { FX_WHY[$name]="no gcc to build \`$src\`"; return 1; }
	flags=$(pkg-config --cflags --libs fuse3 2>/dev/null) || {
		FX_WHY[$name]="\`pkg-config fuse3\` failed: cannot build \`$src\`"; return 1; }
	# shellcheck disable=SC2086 # pkg-config's flags are words
	if ! gcc -O2 -o "$WORK/bin/fuse-$name" "$src" $flags >"$WORK/log/build-$name.log" 2>&1; then
		FX_WHY[$name]="\`$src\` does not build: $(grep -m 1 -i error "$WORK/log/build-$name.log" | head -c 200)"
		return 1
	fi
	FX[$name]=$WORK/bin/fuse-$name
	log "libfuse example $name: built from $src"
}
for x in null passthrough_ll; do
	build_example "$x" || log "libfuse example $x: ${FX_WHY[$x]}: its rows are skipped"
done
command -v strace >/dev/null || apt_install strace
STRACE=$(command -v strace || true)
[ -n "$STRACE" ] || log "no strace: what each native cp does is not traced"

# ---------------------------------------------------------------- data
# one random file, made once; every run removes the copies it made, so each
# run starts with the same remote: just 'big'
log "generating data: one random file of $FILE_MB MiB"
random_file "$REMOTE/big" "$FILE_MB"
sync

# the sources of the copies into the drive, one per file system, with the same
# bytes as 'big'; the rest of each file system's layout is made per run
EXT4=$WORK/ext4                   # a plain dir on the work dir's own disk
mkdir -p "$EXT4/src" "$EXT4/cache"
cp --reflink=never -- "$REMOTE/big" "$EXT4/src/big" || { echo "cannot copy the source" >&2; exit 1; }
# a small file for the straces of what cp does (PROBE_MB MiB, outside any timing)
PROBE_MB=16
head -c "$((PROBE_MB * 1048576))" "$REMOTE/big" >"$EXT4/src/small" || { echo "cannot make the probe file" >&2; exit 1; }

# btrfs: an image file in the work dir, loop-mounted; BT_ALLOC is its sysfs
# directory of data space figures (bytes reserved for writes not yet allocated)
BT=""
BT_ALLOC=""
setup_btrfs() {
	local img=$WORK/btrfs.img mnt=$WORK/btrfs uuid
	log "btrfs: a $BTRFS_SIZE image, loop-mounted"
	truncate -s "$BTRFS_SIZE" "$img" || return 1
	mkfs.btrfs -q "$img" >"$WORK/log/mkfs.btrfs.log" 2>&1 || {
		log "  mkfs.btrfs failed: $(tail -n 3 "$WORK/log/mkfs.btrfs.log" | tr '\n' ' ')"; return 1; }
	mkdir -p "$mnt"
	FS_MOUNTS+=("$mnt")
	mount -o loop "$img" "$mnt" 2>"$WORK/tmp/err.txt" || {
		log "  mount -o loop failed: $(head -c 300 "$WORK/tmp/err.txt")"; return 1; }
	BT=$mnt
	uuid=$(findmnt -n -o UUID -T "$BT" 2>/dev/null)
	BT_ALLOC=/sys/fs/btrfs/$uuid/allocation/data
	if [ -z "$uuid" ] || [ ! -r "$BT_ALLOC/bytes_may_use" ]; then
		log "  no $BT_ALLOC: the btrfs data space figures will be n/a"
		BT_ALLOC=""
	fi
	mkdir -p "$BT/src" "$BT/cache"
	cp --reflink=never -- "$REMOTE/big" "$BT/src/big" || return 1
	cp --reflink=never -- "$EXT4/src/small" "$BT/src/small" || return 1
	timeout 300 sync
}
if ! setup_btrfs; then
	fail "btrfs: cannot set up the loop-mounted image; its figures are n/a"
	BT=""
fi

# fs_base FS: where FS's source, plain dir, remote dirs and cache dirs are
fs_base() { if [ "$1" = btrfs ]; then echo "$BT"; else echo "$EXT4"; fi; }

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

# ---------------------------------------------------------------- copies into the drive
# the policies measured on each file system (reflink needs one with reflinks;
# inplace is guard without the fanotify guard)
IN_MODES_ext4="off spool inplace guard auto"
IN_MODES_btrfs="off spool guard reflink auto"
SH_EXE=$(basename "$(readlink /proc/$$/exe)")

# sample_once MNT DUDIR FSDIR ALLOC: one "time cache used live" line. cache:
# cache_bytes of the stats xattr of MNT, or with MNT empty, du -s of DUDIR; used:
# df's used bytes of FSDIR's file system; live: on btrfs (sysfs dir ALLOC) the
# data space taken now, allocated or reserved for writes in flight (bytes_used +
# bytes_reserved + bytes_may_use), which df shows only after writeback and the
# next commit; "-" without ALLOC, or when a value cannot be read.
sample_once() {
	local mnt=$1 dudir=$2 fsdir=$3 alloc=$4 s cb="" used a b c live=-
	local -a l
	if [ -n "$mnt" ]; then
		s=$(timeout 10 getfattr --only-values -n user.clonedrive.stats "$mnt" 2>/dev/null)
		[[ $s =~ (^|$'\n')cache_bytes=([0-9]+) ]] && cb=${BASH_REMATCH[2]}
	else
		cb=$(timeout 10 du -sB1 "$dudir" 2>/dev/null | cut -f1)
	fi
	mapfile -t l < <(df -B1 --output=used "$fsdir" 2>/dev/null)
	used=${l[1]:-}
	used=${used// /}
	if [ -n "$alloc" ] && read -r a <"$alloc/bytes_used" && read -r b <"$alloc/bytes_reserved" &&
	   read -r c <"$alloc/bytes_may_use"; then
		live=$((a + b + c))
	fi
	echo "$EPOCHREALTIME ${cb:--} ${used:--} $live"
}

# settle FSDIR ALLOC: wait (up to 10 s) until the file system's used bytes stop
# moving (freed blocks of the previous row are counted after a commit, and on
# ext4 mounted with discard after their discard), for a steady baseline
settle() {
	local i x y
	x=$(sample_once "" "" "$1" "$2" | cut -d' ' -f3-)
	for ((i = 0; i < 40; i++)); do
		sleep 0.25
		y=$(sample_once "" "" "$1" "$2" | cut -d' ' -f3-)
		awk -v x="$x" -v y="$y" 'BEGIN { split(x, a, " "); split(y, b, " ")
			d1 = a[1] - b[1]; d2 = (a[2] == "-") ? 0 : a[2] - b[2]
			exit !(d1 * d1 < 2^40 && d2 * d2 < 2^40) }' && return 0
		x=$y
	done
	log "  the used bytes of $1's file system did not settle in 10 s"
}

# start_sampler OUT MNT DUDIR FSDIR ALLOC: sample_once every SAMPLE_SECS in the
# background, appending to OUT, until OUT.stop exists (stop_sampler OUT)
SAMPLER=""
start_sampler() {
	local out=$1
	shift
	rm -f "$out.stop"
	(
		trap - EXIT INT TERM
		while [ ! -e "$out.stop" ]; do
			sample_once "$@"
			sleep "$SAMPLE_SECS"
		done
	) >>"$out" 2>/dev/null </dev/null 9>&- &
	SAMPLER=$!
	STARTED+=("$SAMPLER:$SH_EXE")
}
stop_sampler() {
	local out=$1 i
	[ -n "$SAMPLER" ] || return 0
	touch "$out.stop"
	for ((i = 0; i < 200; i++)); do
		pid_alive "$SAMPLER" "$SH_EXE" || break
		sleep 0.05
	done
	stop_pid "$SAMPLER" "$SH_EXE" 0
	wait "$SAMPLER" 2>/dev/null
	for i in "${!STARTED[@]}"; do
		[ "${STARTED[$i]}" = "$SAMPLER:$SH_EXE" ] && unset 'STARTED[i]'
	done
	SAMPLER=""
}

# peaks FILE T_END: growth over the first sample (taken right before cp), the
# largest until T_END (cp returned) and overall: "cache_cp cache_up used_cp
# used_up live_cp live_up"; "-" where nothing was read
peaks() {
	awk -v te="$2" '
	function upd(k, v, t) {
		if (!(k in up) || v > up[k]) up[k] = v
		if (t <= te && (!(k in cp) || v > cp[k])) cp[k] = v
	}
	NR == 1 { c0 = $2; u0 = $3; l0 = $4 }
	{
		if ($2 != "-" && c0 != "-") upd("c", $2 - c0, $1)
		if ($3 != "-" && u0 != "-") upd("u", $3 - u0, $1)
		if ($4 != "-" && l0 != "-") upd("a", $4 - l0, $1)
	}
	END {
		n = split("c u a", k, " ")
		for (i = 1; i <= n; i++)
			printf "%s %s ", (k[i] in cp) ? sprintf("%.0f", cp[k[i]]) : "-",
				(k[i] in up) ? sprintf("%.0f", up[k[i]]) : "-"
		print ""
	}' "$1"
}

# add_peaks SUBJ FILE T_END: record the peaks of a run's samples
add_peaks() {
	local subj=$1 ccp cup ucp uup acp aup n
	read -r ccp cup ucp uup acp aup < <(peaks "$2" "$3")
	n=$(wc -l <"$2")
	[ "$ccp" != - ] && add "$subj" cb_cp "$ccp"
	[ "$cup" != - ] && add "$subj" cb_up "$cup"
	[ "$ucp" != - ] && add "$subj" df_cp "$ucp"
	[ "$uup" != - ] && add "$subj" df_up "$uup"
	[ "$acp" != - ] && add "$subj" all_cp "$acp"
	[ "$aup" != - ] && add "$subj" all_up "$aup"
	log "  $subj: $n samples; peak growth during cp / until uploaded: cache $ccp / $cup, df used $ucp / $uup, btrfs data space $acp / $aup"
}

# secs_between T0 T1: T1 - T0 ($EPOCHREALTIME values)
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# wait_uploaded MNT: the sync xattr until it returns with nothing pending and
# an upload done (the copy's upload is queued at its release, which can reach
# the daemon after cp returned: then the sync is asked again); UP_T = when it
# returned. Status: 0, or setfattr's (124 on a timeout).
UP_T=""
wait_uploaded() {
	local mnt=$1 end=$((SECONDS + OP_TIMEOUT)) s rc
	while :; do
		op setfattr -n user.clonedrive.sync -v "$OP_TIMEOUT" "$mnt" </dev/null 2>"$WORK/tmp/err.txt"
		rc=$?
		UP_T=$EPOCHREALTIME
		[ "$rc" = 0 ] || return "$rc"
		s=$(stats_text "$mnt")
		if [ "$(ctr "$s" uploads_pending)" = 0 ] && [ "$(ctr "$s" uploads_done)" -ge 1 ] 2>/dev/null; then
			return 0
		fi
		[ "$SECONDS" -lt "$end" ] || return 124
		sleep 0.02
	done
}

# daemon_problems NAME RUN: the warnings and errors of a daemon's log (and of
# its mount command's output), on one line
daemon_problems() {
	cat "$WORK/log/$1.$2.out" "$WORK/log/$1.$2.log" 2>/dev/null |
		grep -E '\] (error|warning):|^clonedrive:' | head -n 8 | tr '\n' '|' | sed 's/|$//'
}
# log_problems SUBJ NAME RUN: those, as unexpected
log_problems() {
	local p
	p=$(daemon_problems "$2" "$3")
	[ -z "$p" ] || odd "$1, run $3: the daemon logged: $p"
}

# record_counters SUBJ TEXT: the copy counters of a stats text after the upload
record_counters() {
	local k v
	for k in clones_detected clone_avoided_bytes clone_stored_bytes clone_freed_bytes \
		guard_snapshots clone_errors uploaded_bytes cache_bytes; do
		v=$(ctr "$2" "$k")
		add "$1" "$k" "${v:-?}"
	done
}

# expect_counters SUBJ MODE RUN TEXT: what the design promises for MODE; other
# values are unexpected (reported, not fatal)
expect_counters() {
	local subj=$1 mode=$2 run=$3 cd av fr gs ce
	cd=$(ctr "$4" clones_detected); av=$(ctr "$4" clone_avoided_bytes)
	fr=$(ctr "$4" clone_freed_bytes); gs=$(ctr "$4" guard_snapshots); ce=$(ctr "$4" clone_errors)
	[ "$ce" = 0 ] || odd "$subj, run $run: clone_errors=${ce:-?}, expected 0"
	[ "$gs" = 0 ] || odd "$subj, run $run: guard_snapshots=${gs:-?}, expected 0 (nothing else opened the source)"
	if [ "$mode" = off ]; then
		[ "$cd" = 0 ] || odd "$subj, run $run: clones_detected=${cd:-?} with --clone off, expected 0"
		return
	fi
	[ "$cd" = 1 ] || odd "$subj, run $run: clones_detected=${cd:-?}, expected 1 (the copy was not recognised)"
	case "$mode" in
	spool)
		[ "$av" = 0 ] || odd "$subj, run $run: clone_avoided_bytes=${av:-?} with --clone spool, expected 0"
		[ "${fr:-0}" -ge "$FILE_BYTES" ] ||
			odd "$subj, run $run: clone_freed_bytes=${fr:-?} after the upload, expected $FILE_BYTES (spooled bytes dropped)" ;;
	*)
		[ "$av" = "$FILE_BYTES" ] ||
			odd "$subj, run $run: clone_avoided_bytes=${av:-?} with --clone $mode, expected $FILE_BYTES (no byte stored)" ;;
	esac
}

# run_in_native FS RUN SUBJ [CP OPTIONS...]: cp of the source to a plain
# directory on the same file system, until cp returns (the anchor)
run_in_native() {
	local fs=$1 run=$2 subj=$3 base dest t0 rc secs
	shift 3
	base=$(fs_base "$fs")
	dest=$base/native
	log "run $run/$RUNS: $fs, native cp $*"
	rm -rf --one-file-system "$dest"
	mkdir -p "$dest"
	drop_caches
	t0=$EPOCHREALTIME
	op cp "$@" -- "$base/src/big" "$dest/big" </dev/null 2>"$WORK/tmp/err.txt"
	rc=$?
	secs=$(secs_since "$t0")
	if [ "$rc" != 0 ]; then
		fail "$subj: cp $* failed (rc=$rc, run $run): $(head -c 300 "$WORK/tmp/err.txt" | tr '\n' ' ')"
	else
		add "$subj" secs "$secs"
		log "  $subj: ${secs}s ($(mbps "$FILE_BYTES" "$secs") MB/s)"
		add "$subj" rsize "$(stat -c %s -- "$dest/big")"
		if [ "$run" = 1 ] && same "$subj" "$dest/big" "$base/src/big"; then RES["$subj,cmp"]=ok; fi
	fi
	rm -rf --one-file-system "$dest"
}

# run_in FS MODE RUN: cp of the source into a fresh mount with --clone MODE,
# its remote and cache dirs fresh on FS; then the sync xattr until uploaded
run_in() {
	local fs=$1 mode=$2 run=$3 subj=$1.$2 name=in-$1-$2 base src remote smp alloc="" t0 t1 rc s size
	base=$(fs_base "$fs")
	src=$base/src/big
	remote=$base/remote.$mode.$run
	[ "$fs" = btrfs ] && alloc=$BT_ALLOC
	log "run $run/$RUNS: $fs, cp into clonedrive --clone $mode"
	rm -rf --one-file-system "$remote"
	mkdir -p "$remote"
	if ! MOUNT_REMOTE=$remote CACHE_ROOT=$base/cache cd_mount "$name" "$run" --clone "$mode"; then
		fail "$subj: mount failed (run $run): $(daemon_problems "$name" "$run")"
		CACHE_ROOT=$base/cache cd_unmount "$name" "$run"
		rm -rf --one-file-system "$remote"
		return 1
	fi
	smp=$WORK/tmp/samples.$name.$run
	drop_caches
	settle "$base/cache" "$alloc"
	sample_once "$MNT" "" "$base/cache" "$alloc" >"$smp"
	start_sampler "$smp" "$MNT" "" "$base/cache" "$alloc"
	t0=$EPOCHREALTIME
	op cp -- "$src" "$MNT/big" </dev/null 2>"$WORK/tmp/err.txt"
	rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" != 0 ]; then
		fail "$subj: cp into the mount failed (rc=$rc, run $run): $(head -c 300 "$WORK/tmp/err.txt" | tr '\n' ' '); daemon: $(daemon_problems "$name" "$run")"
	elif ! wait_uploaded "$MNT"; then
		rc=1
		fail "$subj: the copy was not uploaded (run $run): sync xattr: $(head -c 200 "$WORK/tmp/err.txt" | tr '\n' ' '); pending: $(timeout 10 getfattr --only-values -n user.clonedrive.pending "$MNT" 2>/dev/null | head -n 3 | tr '\n' ' '); daemon: $(daemon_problems "$name" "$run")"
	fi
	sample_once "$MNT" "" "$base/cache" "$alloc" >>"$smp"
	stop_sampler "$smp"
	if [ "$rc" = 0 ]; then
		add "$subj" secs "$(secs_between "$t0" "$t1")"
		add "$subj" total "$(secs_between "$t0" "$UP_T")"
		log "  $subj: cp $(secs_between "$t0" "$t1")s, until uploaded $(secs_between "$t0" "$UP_T")s"
		add_peaks "$subj" "$smp" "$t1"
		s=$(stats_text "$MNT")
		record_counters "$subj" "$s"
		log "  $subj: $(printf '%s\n' "$s" | grep -E '^(clone|guard|uploaded_bytes|cache_bytes)' | tr '\n' ' ')"
		expect_counters "$subj" "$mode" "$run" "$s"
		size=$(stat -c %s -- "$remote/big" 2>/dev/null)
		add "$subj" rsize "${size:-0}"
		if [ "$size" != "$FILE_BYTES" ]; then
			fail "$subj: the remote has ${size:-no} bytes after the upload (run $run), expected $FILE_BYTES"
		elif [ "$run" = 1 ] && same "$subj" "$remote/big" "$src"; then
			RES["$subj,cmp"]=ok
		fi
	fi
	log_problems "$subj" "$name" "$run"
	CACHE_ROOT=$base/cache cd_unmount "$name" "$run"
	rm -rf --one-file-system "$remote"
}

# free_port: a TCP port of 127.0.0.1 that nothing listens on
free_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# rclone_idle PORT: rclone's rc API says no upload is queued or in progress
rclone_idle() {
	local j
	j=$(curl -s -m 5 -X POST "http://127.0.0.1:$1/vfs/stats" 2>/dev/null) || return 1
	[[ $j =~ \"uploadsInProgress\":[[:space:]]*0[^0-9] ]] && [[ $j =~ \"uploadsQueued\":[[:space:]]*0[^0-9] ]]
}

# run_in_rclone FS RUN: the same copy into 'rclone mount --vfs-cache-mode full'
# (writes back at once: --vfs-write-back 0s), until rclone's rc API shows no
# upload left and the remote file has its size (polled every SAMPLE_SECS)
run_in_rclone() {
	local fs=$1 run=$2 subj=$1.rclone base mnt=$WORK/mnt/rclone remote cache port lp smp alloc="" t0 t1 rc i size lg end
	base=$(fs_base "$fs")
	remote=$base/remote.rclone.$run
	cache=$base/cache/rclone.$run
	lg=$WORK/log/rclone.$fs.$run.log
	[ "$fs" = btrfs ] && alloc=$BT_ALLOC
	log "run $run/$RUNS: $fs, cp into rclone mount"
	rm -rf --one-file-system "$remote" "$cache"
	mkdir -p "$remote" "$cache" "$mnt"
	if ! port=$(free_port); then
		fail "$subj: no free port for rclone's rc API"
		return 1
	fi
	: >"$WORK/tmp/rclone.conf"
	RCLONE_CONFIG=$WORK/tmp/rclone.conf "$RCLONE" mount "$remote" "$mnt" --vfs-cache-mode full \
		--vfs-write-back 0s --cache-dir "$cache" --rc --rc-addr "127.0.0.1:$port" --rc-no-auth \
		</dev/null >"$lg" 2>&1 9>&- &
	lp=$!
	STARTED+=("$lp:$RCLONE_EXE")
	ACTIVE_MOUNTS+=("$mnt")
	for ((i = 0; i < MOUNT_TIMEOUT * 10; i++)); do
		is_mounted "$mnt" && rclone_idle "$port" && break
		# (kill -0: until its exec, the child still runs this shell's binary)
		kill -0 "$lp" 2>/dev/null || break
		sleep 0.1
	done
	rc=0
	if ! is_mounted "$mnt" || ! rclone_idle "$port"; then
		fail "$subj: rclone mount failed (run $run): $(tail -n 3 "$lg" | tr '\n' ' ')"
		rc=1
	fi
	if [ "$rc" = 0 ]; then
		smp=$WORK/tmp/samples.rclone.$fs.$run
		drop_caches
		settle "$cache" "$alloc"
		sample_once "" "$cache" "$cache" "$alloc" >"$smp"
		start_sampler "$smp" "" "$cache" "$cache" "$alloc"
		t0=$EPOCHREALTIME
		op cp -- "$base/src/big" "$mnt/big" </dev/null 2>"$WORK/tmp/err.txt"
		rc=$?
		t1=$EPOCHREALTIME
		if [ "$rc" != 0 ]; then
			fail "$subj: cp into the mount failed (rc=$rc, run $run): $(head -c 300 "$WORK/tmp/err.txt" | tr '\n' ' ')"
		else
			end=$((SECONDS + OP_TIMEOUT))
			rc=124
			while [ "$SECONDS" -lt "$end" ]; do
				if rclone_idle "$port"; then
					UP_T=$EPOCHREALTIME
					size=$(stat -c %s -- "$remote/big" 2>/dev/null)
					[ "$size" = "$FILE_BYTES" ] && { rc=0; break; }
				fi
				sleep "$SAMPLE_SECS"
			done
			[ "$rc" = 0 ] || fail "$subj: the copy was not uploaded within ${OP_TIMEOUT}s (run $run): $(tail -n 3 "$lg" | tr '\n' ' ')"
		fi
		sample_once "" "$cache" "$cache" "$alloc" >>"$smp"
		stop_sampler "$smp"
		if [ "$rc" = 0 ]; then
			add "$subj" secs "$(secs_between "$t0" "$t1")"
			add "$subj" total "$(secs_between "$t0" "$UP_T")"
			log "  $subj: cp $(secs_between "$t0" "$t1")s, until uploaded $(secs_between "$t0" "$UP_T")s"
			add_peaks "$subj" "$smp" "$t1"
			add "$subj" rsize "$size"
			if [ "$run" = 1 ] && same "$subj" "$remote/big" "$base/src/big"; then RES["$subj,cmp"]=ok; fi
		fi
	fi
	unmount_with rclone "$mnt" timeout 60 fusermount3 -u "$mnt"
	stop_pid "$lp" "$RCLONE_EXE" "$EXIT_TIMEOUT"
	wait "$lp" 2>/dev/null
	grep -E 'ERROR|CRITICAL' "$lg" 2>/dev/null | head -n 3 | tr '\n' '|' | grep -q . &&
		odd "$subj, run $run: rclone logged: $(grep -E 'ERROR|CRITICAL' "$lg" | head -n 3 | tr '\n' '|')"
	rm -rf --one-file-system "$remote" "$cache"
}

# cp_how SRC DST [CP OPTIONS...]: what cp does to copy SRC to DST, from an
# strace of it (copy_file_range, ioctl and write calls, in order, repeats
# counted), e.g. "FICLONE → EXDEV, copy_file_range → EXDEV, write() of 128 KiB ×128"
cp_how() {
	local src=$1 dst=$2 t=$WORK/tmp/strace.txt
	shift 2
	[ -n "$STRACE" ] || { echo "not traced (no strace)"; return; }
	if ! timeout -k 10 120 "$STRACE" -o "$t" -e trace=copy_file_range,ioctl,write \
		cp "$@" -- "$src" "$dst" </dev/null >/dev/null 2>&1; then
		echo "not traced (cp under strace failed)"
		return
	fi
	awk '
	function kib(b) { return (b % 1024) ? b " B" : b / 1024 " KiB" }
	function ev(s) {
		if (s == last) { n++; return }
		put(); last = s; n = 1
	}
	function put() { if (last != "") out = out (out == "" ? "" : ", ") last (n > 1 ? " ×" n : "") }
	# the result: a byte count, or the errno name
	{ r = $0; sub(/.*\) += /, "", r); err = ""; if (r ~ /^-1 /) { err = r; sub(/^-1 /, "", err); sub(/ .*/, "", err) } }
	/^ioctl\(/ && /FICLONE/ { ev(err == "" ? "FICLONE (a reflink)" : "FICLONE → " err); next }
	/^ioctl\(/ { nm = $0; sub(/^ioctl\([0-9]+, /, "", nm); sub(/[ ,].*/, "", nm); ev("ioctl " nm (err == "" ? "" : " → " err)); next }
	/^copy_file_range\(/ { ev(err == "" ? "copy_file_range" : "copy_file_range → " err); next }
	/^write\([3-9]/ || /^write\([1-9][0-9]/ {
		if (err != "") { ev("write() → " err); next }
		ev("write() of " kib(r + 0))
	}
	END { put(); print (out == "" ? "nothing traced" : out) }' "$t"
}

# fuse_ex_mount MNT LOG BIN ARGS...: a libfuse example mounted on MNT, in the
# foreground (-f) but in the background here, so that its pid (FX_PID) is ours
# to stop; its output to LOG. Status 0 once MNT is mounted.
FX_PID=""
fuse_ex_mount() {
	local mnt=$1 lg=$2 bin=$3 i
	shift 3
	ACTIVE_MOUNTS+=("$mnt")
	"$bin" -f "$@" "$mnt" </dev/null >"$lg" 2>&1 9>&- &
	FX_PID=$!
	STARTED+=("$FX_PID:$(basename "$bin")")
	for ((i = 0; i < MOUNT_TIMEOUT * 10; i++)); do
		is_mounted "$mnt" && return 0
		# a process that exited (a zombie) has no exe link; before its exec
		# the child still runs this shell's binary
		readlink "/proc/$FX_PID/exe" >/dev/null 2>&1 || break
		sleep 0.1
	done
	is_mounted "$mnt"
}
# fuse_ex_unmount NAME MNT BIN: unmount it (fusermount3 -u) and wait for the example to exit
fuse_ex_unmount() {
	unmount_with "$1" "$2" timeout 60 fusermount3 -u "$2"
	stop_pid "$FX_PID" "$(basename "$3")" "$EXIT_TIMEOUT"
	wait "$FX_PID" 2>/dev/null
}

# run_in_null FS RUN: cp of the source into libfuse's null example, a fresh
# mount per run on a regular file: every write is a FUSE request that the
# daemon answers without doing anything with the bytes (the FUSE floor)
run_in_null() {
	local fs=$1 run=$2 subj=$1.null base mnt=$WORK/mnt/null.$1 lg
	base=$(fs_base "$fs")
	lg=$WORK/log/null.$fs.$run.log
	log "run $run/$RUNS: $fs, cp into libfuse's null example"
	: >"$mnt"
	if ! fuse_ex_mount "$mnt" "$lg" "${FX[null]}"; then
		fail "$subj: the null example did not mount on a file (run $run): $(tail -n 3 "$lg" | tr '\n' ' ')"
	else
		drop_caches
		timed "$subj" secs cp -- "$base/src/big" "$mnt"
		[ "$run" = 1 ] && PROBE[$subj]=$(cp_how "$base/src/small" "$mnt")
	fi
	fuse_ex_unmount null "$mnt" "${FX[null]}"
	rm -f "$mnt"
}

# run_in_pll FS RUN: cp of the source into libfuse's passthrough_ll example,
# a fresh mount per run of a fresh dir on FS (it cannot remove files: the dir
# goes after the unmount); the copy is checked against the source in run 1
run_in_pll() {
	local fs=$1 run=$2 subj=$1.pll base mnt=$WORK/mnt/pll dir lg size ok=0
	base=$(fs_base "$fs")
	dir=$base/pll.$run
	lg=$WORK/log/pll.$fs.$run.log
	log "run $run/$RUNS: $fs, cp into libfuse's passthrough_ll example"
	rm -rf --one-file-system "$dir"
	mkdir -p "$dir" "$mnt"
	if ! fuse_ex_mount "$mnt" "$lg" "${FX[passthrough_ll]}" -o "source=$dir"; then
		fail "$subj: the passthrough_ll example did not mount (run $run): $(tail -n 3 "$lg" | tr '\n' ' ')"
	else
		drop_caches
		timed "$subj" secs cp -- "$base/src/big" "$mnt/big" && ok=1
	fi
	fuse_ex_unmount passthrough_ll "$mnt" "${FX[passthrough_ll]}"
	if [ "$ok" = 1 ]; then
		size=$(stat -c %s -- "$dir/big" 2>/dev/null)
		add "$subj" rsize "$size"
		if [ "$size" != "$FILE_BYTES" ]; then
			fail "$subj: the copy has ${size:-no} bytes (run $run), expected $FILE_BYTES"
		elif [ "$run" = 1 ] && same "$subj" "$dir/big" "$base/src/big"; then
			RES["$subj,cmp"]=ok
		fi
	fi
	rm -rf --one-file-system "$dir"
}

# 5. copies inside the mount with the remote dir on btrfs: the server copy is
# a reflink there. The remote's 'big' is a reflink of the btrfs source.
run_server_btrfs() {
	local run=$1 name=bserver remote=$BT/remote.server.$1 s0 s1 sc fe b
	log "run $run/$RUNS: btrfs remote, copies inside the mount"
	rm -rf --one-file-system "$remote"
	mkdir -p "$remote"
	if ! cp --reflink=auto -- "$BT/src/big" "$remote/big"; then
		fail "bserver: cannot put big in the btrfs remote dir"
		return 1
	fi
	if ! MOUNT_REMOTE=$remote CACHE_ROOT=$BT/cache cd_mount "$name" "$run"; then
		fail "bserver: mount failed (run $run): $(daemon_problems "$name" "$run")"
		CACHE_ROOT=$BT/cache cd_unmount "$name" "$run"
		rm -rf --one-file-system "$remote"
		return 1
	fi

	# 5a. cp --sparse=never of a cold placeholder
	b=$(blocks "$MNT/big")
	[ "$b" = 0 ] || odd "run $run, figure 5a: big has st_blocks ${b:-?} right after the mount, expected 0 (placeholder)"
	snap "$MNT"; s0=$SNAP
	drop_caches
	if timed bsparse secs cp --sparse=never -- "$MNT/big" "$MNT/copy1"; then
		snap "$MNT"; s1=$SNAP
		sc=$(delta "$s0" "$s1" server_copies); fe=$(delta "$s0" "$s1" fetched_bytes)
		add bsparse copies "${sc:-?}"; add bsparse fetched "${fe:-?}"
		log "  bsparse: server_copies +$sc, fetched_bytes +$fe"
		[ "$sc" = 1 ] || odd "run $run, figure 5a: server_copies +${sc:-?}, expected +1"
		[ "$fe" = 0 ] || odd "run $run, figure 5a: fetched_bytes +${fe:-?}, expected +0"
		same bsparse "$remote/copy1" "$BT/src/big"
	fi

	# 5b. plain cp of the same file once hydrated
	timeout -k 10 "$OP_TIMEOUT" cat -- "$MNT/big" >/dev/null
	b=$(blocks "$MNT/big")
	[ "$b" != 0 ] || odd "run $run, figure 5b: big still has st_blocks 0 in the mount after a full \`cat\` (hydrated: the attributes the kernel holds were not refreshed), so cp takes it for a sparse file"
	snap "$MNT"; s0=$SNAP
	drop_caches
	if timed bhydrated secs cp -- "$MNT/big" "$MNT/copy2"; then
		snap "$MNT"; s1=$SNAP
		sc=$(delta "$s0" "$s1" server_copies); fe=$(delta "$s0" "$s1" fetched_bytes)
		add bhydrated copies "${sc:-?}"; add bhydrated fetched "${fe:-?}"
		log "  bhydrated: server_copies +$sc, fetched_bytes +$fe"
		[ "$sc" = 1 ] || odd "run $run, figure 5b: server_copies +${sc:-?}, expected +1"
		same bhydrated "$remote/copy2" "$BT/src/big"
	fi
	log_problems "figure 5" "$name" "$run"
	CACHE_ROOT=$BT/cache cd_unmount "$name" "$run"
	rm -rf --one-file-system "$remote"
}

# what each native cp does, traced once per file system (outside any timing);
# PROBE[FS.null] is traced in the null example's first run
declare -A PROBE=()
for fs in ext4 btrfs; do
	[ "$fs" = btrfs ] && [ -z "$BT" ] && continue
	base=$(fs_base "$fs")
	mkdir -p "$base/probe"
	PROBE[$fs.native]=$(cp_how "$base/src/small" "$base/probe/small")
	rm -f "$base/probe/small"
	PROBE[$fs.bytes]=$(cp_how "$base/src/small" "$base/probe/small" --reflink=never)
	rm -rf --one-file-system "$base/probe"
	log "$fs: native cp: ${PROBE[$fs.native]}; cp --reflink=never: ${PROBE[$fs.bytes]}"
done

# runs are interleaved across subjects so that machine noise spreads evenly
for ((run = 1; run <= RUNS; run++)); do
	run_native "$run"
	run_clone "$run"
	for fs in ext4 btrfs; do
		[ "$fs" = btrfs ] && [ -z "$BT" ] && continue
		run_in_native "$fs" "$run" "$fs.native"
		run_in_native "$fs" "$run" "$fs.bytes" --reflink=never
		[ -n "${FX[null]:-}" ] && run_in_null "$fs" "$run"
		[ -n "${FX[passthrough_ll]:-}" ] && run_in_pll "$fs" "$run"
		modes=IN_MODES_$fs
		for mode in ${!modes}; do
			run_in "$fs" "$mode" "$run"
		done
		[ -n "$RCLONE" ] && run_in_rclone "$fs" "$run"
	done
	[ -n "$BT" ] && run_server_btrfs "$run"
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
	local vals u v out=""
	vals=$(allvals "$1" "$2")
	[ -n "$vals" ] || { echo "n/a"; return; }
	u=$(printf '%s\n' $vals | sort -u)
	if [ "$(printf '%s\n' "$u" | wc -l)" = 1 ]; then
		if [ "${3:-}" = bytes ]; then human_bytes "$u"; else echo "$u"; fi
	elif [ "${3:-}" = bytes ]; then
		for v in $vals; do out+="${out:+, }$(human_bytes "$v")"; done
		echo "per run: $out"
	else
		echo "per run: $vals"
	fi
}
# over A_SUBJ B_SUBJ [METRIC]: median(A)/median(B) of METRIC (default secs), 2 decimals
over() {
	local a b
	a=$(median "$1" "${3:-secs}") || { echo "n/a"; return; }
	b=$(median "$2" "${3:-secs}") || { echo "n/a"; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
# xr A_SUBJ B_SUBJ: over A B as "N.NNx", or n/a
xr() {
	local r
	r=$(over "$1" "$2")
	if [ "$r" = n/a ]; then echo n/a; else echo "${r}x"; fi
}
# maxof SUBJ METRIC: the largest of the runs' values, or fail if there are none
maxof() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || return 1
	printf '%s\n' $vals | sort -g | tail -n 1
}
# hb SUBJ METRIC: the median as a size
hb() {
	local v
	v=$(median "$1" "$2") || { echo "n/a"; return; }
	human_bytes "$(awk -v v="$v" 'BEGIN { printf "%.0f", v }')"
}
# pair SUBJ M: "median of M_cp / median of M_up"
pair() { echo "$(hb "$1" "${2}_cp") / $(hb "$1" "${2}_up")"; }
# ok_mark COND: a check mark for a goal met, a cross for one missed
ok_mark() { if [ "$1" = 1 ]; then echo "met"; else echo "**not met**"; fi; }
# below X LIMIT: 1 if number X < LIMIT
below() { awk -v x="$1" -v l="$2" 'BEGIN { print (x != "" && x + 0 < l + 0) ? 1 : 0 }'; }

FILE_H=$(size_h "$FILE_MB")
NATIVE=$(val native secs "%.3f")
GOAL_BYTES=$((FILE_BYTES / 100))

CD_V="$(cd_name "$CD_SRC") (sha256 $CD_SHA...) @ $(cd_rev)"

# acted SUBJ: what a --clone auto row did, from its counters
acted() {
	local cd av cb
	cd=$(median "$1" clones_detected) || { echo "n/a"; return; }
	av=$(median "$1" clone_avoided_bytes); cb=$(median "$1" cb_up)
	if [ "$cd" = 0 ]; then echo "off (no copy detected)"
	elif [ "$(below "${av:-0}" $((FILE_BYTES / 2)))" = 1 ]; then echo "spool (bytes stored)"
	elif [ "$(below "${cb:-0}" $((FILE_BYTES / 2)))" = 1 ]; then echo "guard (bytes not stored)"
	else echo "reflink (bytes cloned into the cache)"
	fi
}

# in_row FS SUBJ LABEL NOTES: one row of the copies-into-the-drive table
in_row() {
	local fs=$1 subj=$2 live="—" at
	[ "$fs" = btrfs ] && live=$(pair "$subj" all)
	at=$(same_or_runs "$subj" rsize)
	[ "${RES[$subj,cmp]:-}" = ok ] && at+=" (= source, cmp)"
	echo "| $fs | $3 | $(val "$subj" secs "%.3f") | $(over "$subj" "$fs.native") | $(over "$subj" "$fs.null") | $(pair "$subj" cb) | $(pair "$subj" df) | $live | $at | $(val "$subj" total "%.3f") | $4 |"
}
# native_row FS SUBJ LABEL NOTES
native_row() {
	local at
	at=$(same_or_runs "$2" rsize)
	[ "${RES[$2,cmp]:-}" = ok ] && at+=" (= source, cmp)"
	echo "| $1 | $3 | $(val "$2" secs "%.3f") | $(over "$2" "$1.native") | $(over "$2" "$1.null") | — | — | — | $at | — | $4 |"
}
# fuse_rows FS: the rows of the libfuse examples (or why they are missing)
fuse_rows() {
	local fs=$1 at
	if [ -n "${FX[null]:-}" ]; then
		echo "| $fs | FUSE null (libfuse example) | $(val "$fs.null" secs "%.3f") | $(over "$fs.null" "$fs.native") | $(over "$fs.null" "$fs.null") | — | — | — | — (discarded) | — | the FUSE floor: \`cp SRC F\` into libfuse's null example mounted on a file F, which answers each write without touching the bytes; $(xr "$fs.null" "$fs.bytes") the byte copy; strace of the same cp of a $PROBE_MB MiB file: ${PROBE[$fs.null]:-n/a} |"
	else
		echo "| $fs | FUSE null (libfuse example) | n/a | n/a | n/a | — | — | — | — | — | skipped: ${FX_WHY[null]} |"
	fi
	if [ -n "${FX[passthrough_ll]:-}" ]; then
		at=$(same_or_runs "$fs.pll" rsize)
		[ "${RES[$fs.pll,cmp]:-}" = ok ] && at+=" (= source, cmp)"
		echo "| $fs | FUSE passthrough_ll (libfuse example) | $(val "$fs.pll" secs "%.3f") | $(over "$fs.pll" "$fs.native") | $(over "$fs.pll" "$fs.null") | — | — | — | $at | — | a FUSE file system that keeps the bytes: libfuse's passthrough_ll example, \`-o source=DIR\`, DIR on $fs (a fresh dir and mount per run); $(xr "$fs.pll" "$fs.bytes") the byte copy |"
	else
		echo "| $fs | FUSE passthrough_ll (libfuse example) | n/a | n/a | n/a | — | — | — | — | — | skipped: ${FX_WHY[passthrough_ll]} |"
	fi
}
# cd_notes FS MODE: the counters of a clonedrive row
cd_notes() {
	local subj=$1.$2 n=""
	[ "$2" = auto ] && n="acted as $(acted "$subj"); "
	n+="clones_detected $(same_or_runs "$subj" clones_detected), clone_avoided_bytes $(same_or_runs "$subj" clone_avoided_bytes bytes)"
	n+=", clone_stored_bytes $(same_or_runs "$subj" clone_stored_bytes bytes), clone_freed_bytes $(same_or_runs "$subj" clone_freed_bytes bytes)"
	n+=", guard_snapshots $(same_or_runs "$subj" guard_snapshots); cache_bytes after the upload: $(same_or_runs "$subj" cache_bytes bytes)"
	n+="; $(over "$subj" "$1.bytes")x the byte copy (\`cp --reflink=never\`)"
	echo "$n"
}

# goal_cache FS MODE: the cache goal for one row, judged on the largest growth
# until uploaded: of cache_bytes for guard (and what acted as guard), of the
# file system for reflink (btrfs: its data space taken, live; else df used)
goal_cache() {
	local subj=$1.$2 how=$2 m what v
	[ "$how" = auto ] && case "$(acted "$subj")" in reflink*) how=reflink ;; guard*) how=guard ;; *) how=spool ;; esac
	if [ "$how" = reflink ]; then
		if [ "$1" = btrfs ]; then m="all"; what="btrfs data space"; else m="df"; what="df used"; fi
	else
		m="cb"; what="cache_bytes"
	fi
	v=$(median "$subj" "${m}_up") || { echo "$1 \`--clone $2\`: n/a"; return; }
	echo "$1 \`--clone $2\`: $what $(pair "$subj" "$m") (during cp / until uploaded; largest run: $(human_bytes "$(
		maxof "$subj" "${m}_up")"))$([ "$how" = reflink ] && [ "$m" = all ] &&
		echo ", df used $(pair "$subj" df)") — $(ok_mark "$(below "$v" "$GOAL_BYTES")")"
}

report_header() {
	local cpu mem cmd="bench/clone.sh"
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	[ "$QUICK" = 1 ] && cmd+=" --quick"
	echo "## clonedrive copy benchmark"
	echo
	echo "Produced by \`RUNS=$RUNS $cmd\`, run as root: every figure is the median of $RUNS run(s), and every copy is"
	echo "of one random file of $FILE_H ($FILE_BYTES bytes).$([ "$QUICK" = 1 ] && echo " Quick mode: a smoke test, not comparable with full runs.")"
	echo
	echo "- machine: $(nproc) CPUs ($cpu), $mem RAM, kernel $(uname -r)"
	echo "- clonedrive: $CD_V; $CP_V; rclone: ${RCLONE_V:-not installed}"
	echo "- ext4: the work dir's own disk ($(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null)); btrfs: a $BTRFS_SIZE image file in the work dir"
	echo "  (\`truncate\`, \`mkfs.btrfs -q\`, \`mount -o loop\`). Source, plain dir, remote dir and cache dir of a row are all on its file system."
	echo "- FUSE anchors: libfuse's examples null and passthrough_ll (fuse3 ${FUSE_V:-?}), built at run time with \`gcc -O2\` from"
	echo "  \`$FUSE_EX_DIR\`, run with default options (\`-f\`, in the background) and unmounted with \`fusermount3 -u\`."
	echo
	echo "Goals:"
	echo "- peak cache growth under 1% of the file size ($(human_bytes "$GOAL_BYTES")) for \`--clone reflink\` and \`--clone guard\`;"
	echo "- \`cp\` of the file into the drive within 1.5x the wall time of native \`cp\` on the same file system;"
	echo "- \`cp\` of the 1 GiB file inside the mount under 100 ms on a reflink-capable remote (btrfs)."
}

report_in() {
	local fs mode
	echo
	echo "### Copies into the drive from outside: \`cp SRC MNT/big\`"
	echo
	echo "| fs | subject | cp (s) | cp / native cp | cp / FUSE null cp | peak cache_bytes growth: during cp / until uploaded | peak df used growth: during cp / until uploaded | peak btrfs data space growth: during cp / until uploaded | bytes at the remote | cp start → uploaded (s) | notes |"
	echo "|---|---|---:|---:|---:|---|---|---|---|---:|---|"
	for fs in ext4 btrfs; do
		if [ "$fs" = btrfs ] && [ -z "$BT" ]; then
			echo "| btrfs | (all) | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | the btrfs image could not be set up |"
			continue
		fi
		if [ "$fs" = ext4 ]; then
			native_row ext4 ext4.native "native \`cp\`" "anchor: to a plain dir; coreutils copies with copy_file_range where it can (in the kernel, no bytes through user space); strace of the same cp of a $PROBE_MB MiB file: ${PROBE[ext4.native]:-n/a}"
		else
			native_row btrfs btrfs.native "native \`cp\`" "anchor: to a plain dir; coreutils reflinks it where it can (\`--reflink=auto\` is its default); strace of the same cp of a $PROBE_MB MiB file: ${PROBE[btrfs.native]:-n/a}"
		fi
		native_row "$fs" "$fs.bytes" "native \`cp --reflink=never\`" "the byte copy: to a plain dir, in user space (read() and write(), as cp must do into any FUSE mount), for comparison; strace of the same cp of a $PROBE_MB MiB file: ${PROBE[$fs.bytes]:-n/a}"
		fuse_rows "$fs"
		modes=IN_MODES_$fs
		for mode in ${!modes}; do
			in_row "$fs" "$fs.$mode" "clonedrive \`--clone $mode\`" "$(cd_notes "$fs" "$mode")"
		done
		if [ -n "$RCLONE" ]; then
			in_row "$fs" "$fs.rclone" "rclone \`--vfs-cache-mode full\`" "cache = \`du -sB1\` of its cache dir; \`--vfs-write-back 0s\`; $(over "$fs.rclone" "$fs.bytes")x the byte copy"
		fi
	done
	[ -n "$RCLONE" ] || echo "| both | rclone | — | — | — | — | — | — | — | — | not installed (\`command -v rclone\` found nothing): skipped |"
	echo
	echo "Goal check (medians; a goal is met when the median is):"
	echo "- peak cache growth under $(human_bytes "$GOAL_BYTES"):"
	echo "  $(goal_cache ext4 guard); $(goal_cache ext4 auto)$([ -n "$BT" ] &&
		echo "; $(goal_cache btrfs guard); $(goal_cache btrfs reflink); $(goal_cache btrfs auto)")"
	local line="" x subj
	for fs in ext4 btrfs; do
		[ "$fs" = btrfs ] && [ -z "$BT" ] && continue
		modes=IN_MODES_$fs
		for mode in ${!modes}; do
			subj=$fs.$mode
			x=$(over "$subj" "$fs.native")
			line+="${line:+; }$fs \`$mode\` ${x}x native cp"
			[ "$(below "$x" 1.5000001)" = 1 ] || line+=" (not met)"
			line+=", $(xr "$subj" "$fs.null") FUSE null ($(xr "$subj" "$fs.bytes") the byte copy)"
		done
	done
	echo "- cp within 1.5x native cp: $line"
	line=""
	for fs in ext4 btrfs; do
		[ "$fs" = btrfs ] && [ -z "$BT" ] && continue
		x=$(over "$fs.null" "$fs.native")
		if [ -z "${FX[null]:-}" ]; then
			line+="${line:+; }$fs: FUSE null skipped"
		else
			line+="${line:+; }$fs: FUSE null $(xr "$fs.null" "$fs.native") native cp"
			[ "$x" = n/a ] || [ "$(below "$x" 1.5000001)" = 1 ] ||
				line+=" (above 1.5x: the goal is below what a FUSE daemon that discards the bytes takes)"
		fi
		if [ -z "${FX[passthrough_ll]:-}" ]; then
			line+=", FUSE passthrough_ll skipped"
		else
			line+=", FUSE passthrough_ll $(xr "$fs.pll" "$fs.native") native cp ($(xr "$fs.pll" "$fs.null") FUSE null)"
		fi
	done
	echo "- for scale, the same cp into libfuse's examples (no clonedrive): $line"
	echo
	echo "cp (s): wall time from cp's start until it returns (no \`sync\`), its source cold (\`sync\` and"
	echo "\`echo 3 >/proc/sys/vm/drop_caches\` right before). cp / native cp and cp / FUSE null cp: ratios of the medians,"
	echo "lower is better. Native cp on ext4 copies in the kernel (copy_file_range) and on btrfs makes a reflink: no FUSE"
	echo "mount can do either for a copy from outside it (cp's FICLONE and copy_file_range fail with EXDEV), so cp writes every"
	echo "byte, one FUSE request per write(), each copied from cp into the kernel and on to the daemon. The libfuse examples"
	echo "show what that costs on this machine without clonedrive: null, which discards the bytes, is the floor, what a FUSE"
	echo "file system that takes the writes one by one (no writeback cache, as clonedrive) pays before it does anything with"
	echo "them; passthrough_ll, which writes them to a dir on the same file system, is a plain FUSE file system that keeps"
	echo "the data. Neither is sampled (nor are the native rows). Every"
	echo "FUSE row is a fresh mount with fresh, empty remote and cache dirs. Sampled every ~50 ms from right before cp until"
	echo "the upload is done (growth over the first sample; the largest while cp runs, \"during cp\", and up to the end,"
	echo "\"until uploaded\"): cache_bytes, the counter of the \`user.clonedrive.stats\` xattr of the mount root (the cache"
	echo "files' allocated blocks: reflinked ones count in full, though shared; for rclone, \`du -sB1\` of its cache dir);"
	echo "df used, \`df -B1 --output=used\` of the cache dir's file system; and on btrfs its data space taken, allocated or"
	echo "reserved for writes in flight (bytes_used + bytes_reserved + bytes_may_use of \`/sys/fs/btrfs/UUID/allocation/data\`),"
	echo "because btrfs's df counts new data only after writeback and the next commit (up to 30 s later): its df column stays"
	echo "near 0 here whatever is written. df and the data space see the whole file system: the remote's new file too, which"
	echo "on ext4 takes new blocks (so \"until uploaded\" includes the file's size once for every ext4 row, and other writers on"
	echo "the machine's disk show up), while on btrfs clonedrive's local remote makes it a reflink (FICLONE) of the cache file"
	echo "or of the source; rclone writes it (and preallocates it: its reservations may count twice for a while)."
	echo "Bytes at the remote: \`stat -c %s\` of the remote's file after the upload, compared with the source by \`cmp\` in the"
	echo "first run. cp start → uploaded: until \`setfattr -n user.clonedrive.sync -v SECS MNT\` returns with nothing pending"
	echo "(asked again if the copy's upload was not queued yet: its release can reach the daemon after cp returned); rclone:"
	echo "until its rc API (vfs/stats) shows no upload queued or in progress and the remote file has its full size (polled"
	echo "every 50 ms). The sampling (a getfattr of the mount root, or a du, and a df every ~50 ms) runs during the timed cp"
	echo "of the clonedrive and rclone rows."
	echo "The counters in the notes are those of the mount after the upload (it is fresh, so they count this copy only)."
}

report_mount() {
	local bn=n/a
	[ -n "$BT" ] && bn=$(val btrfs.native secs "%.3f")
	echo
	echo "### Copies inside the mount"
	echo
	echo "| Figure (seconds, median of $RUNS run(s)) | native | clonedrive | ratio | notes |"
	echo "|---|---:|---:|---:|---|"
	echo "| 1. \`cp REMOTE/big REMOTE/copy-native\` + \`sync\`, cold | $NATIVE | — | 1.00 | anchor, $(rate native secs) MB/s; the copy checked with cmp |"
	echo "| 2. \`cp --sparse=never MNT/big MNT/copy1\`, cold placeholder | $NATIVE | $(val sparse secs "%.3f") | $(ratio sparse secs) | until cp returns ($(rate sparse secs) MB/s apparent); server_copies +$(same_or_runs sparse copies); after: fetched_bytes $(same_or_runs sparse fetched bytes), cache_bytes $(same_or_runs sparse cache bytes); copy's st_blocks in the mount: $(same_or_runs sparse dst_blocks); a \`sync\` right after: $(val sparse flush "%.3f") s (not in the figure); REMOTE/copy1 checked with cmp |"
	echo "| 3a. plain \`cp MNT/big MNT/copy2\`, cold placeholder: until cp returns | $NATIVE | $(val plain secs "%.3f") | $(ratio plain secs) | $(rate plain secs) MB/s; reads through the daemon (hydrates \`big\`) and writes the copy; server_copies +$(same_or_runs plain copies); fetched_bytes +$(same_or_runs plain fetched bytes) |"
	echo "| 3b. the same, until \`clonedrive sync MNT\` returns after it | $NATIVE | $(val plain total "%.3f") | $(ratio plain total) | cp + sync, $(rate plain total) MB/s; the sync alone: $(val plain sync "%.3f") s; uploaded_bytes +$(same_or_runs plain uploaded bytes); cache_bytes after the sync: $(same_or_runs plain cache bytes) (\`big\` hydrated, and the copy kept: \`--clone\` spooling is for copies from outside the drive); REMOTE/copy2 checked with cmp |"
	echo "| 4. plain \`cp MNT/big MNT/copy3\` of the hydrated file | $NATIVE | $(val hydrated secs "%.3f") | $(ratio hydrated secs) | until cp returns ($(rate hydrated secs) MB/s apparent); server_copies +$(same_or_runs hydrated copies); fetched_bytes +$(same_or_runs hydrated fetched bytes); a \`sync\` right after: $(val hydrated flush "%.3f") s (not in the figure); REMOTE/copy3 checked with cmp |"
	echo "| 5a. remote dir on btrfs: \`cp --sparse=never MNT/big MNT/copy1\`, cold placeholder | $bn | $(val bsparse secs "%.3f") | $(over btrfs.native bsparse) | until cp returns; native here: \`cp\` on the btrfs (a reflink); server_copies +$(same_or_runs bsparse copies); fetched_bytes +$(same_or_runs bsparse fetched bytes); goal under 100 ms: $(ok_mark "$(below "$(median bsparse secs)" 0.1)"); REMOTE/copy1 checked with cmp |"
	echo "| 5b. remote dir on btrfs: plain \`cp MNT/big MNT/copy2\` of the hydrated file | $bn | $(val bhydrated secs "%.3f") | $(over btrfs.native bhydrated) | until cp returns; server_copies +$(same_or_runs bhydrated copies); fetched_bytes +$(same_or_runs bhydrated fetched bytes); goal under 100 ms: $(ok_mark "$(below "$(median bhydrated secs)" 0.1)"); REMOTE/copy2 checked with cmp |"
	echo
	echo "Ratio = native time / clonedrive time, higher is better (figures 1-4: native = figure 1, on ext4; 5a-5b:"
	echo "native = \`cp\` on the btrfs, from the table above). MB/s = 10^6 bytes/s of the $FILE_BYTES-byte file;"
	echo "\"apparent\" when nothing crosses the mount (a copy made by the remote). \"Cold\" = page cache dropped"
	echo "(\`echo 3 >/proc/sys/vm/drop_caches\`, after a \`sync\`) right before the timed command."
	echo "Figures 2, 3 and 4 share one fresh mount (empty cache dir) per run, in that order, remote and cache on ext4; 5a and"
	echo "5b share another (remote and cache dirs on btrfs, the remote's \`big\` a reflink of the source). Figures 4 and 5b"
	echo "first read \`big\` with \`cat\` (untimed) and drop the page cache again. Counters are from the \`user.clonedrive.stats\`"
	echo "xattr of the mount root: cache_bytes as it stands after the figure, the others as the figure's increase (+) or, for"
	echo "figure 2, as they stand (the mount is fresh). Figure 1 includes \`sync\`; figures 2, 4 and 5 time cp alone, but the"
	echo "local backend fsyncs each copy it makes (server copies as uploads) before cp returns, so a \`sync\` right after"
	echo "(in their notes) has little left to flush. Figure 3a's copy is written to the cache dir and not yet durable on"
	echo "the remote; 3b's upload is fsynced too. All mounts here use the default \`--clone auto\`."
	echo "— = not applicable, n/a = failed or unavailable."
}

report() {
	{
		report_header
		report_in
		report_mount
		report_problems
	} | sed -e "s|$WORK|WORK|g" -e "s|$REPO_DIR/||g"
}

finish
