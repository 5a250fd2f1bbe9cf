#!/usr/bin/env bash
# bench/s3.sh - the foundation figures over S3: clonedrive mounting a bucket of
# a Ceph RADOS Gateway beside s3fs (Debian's) on a bucket of the same content,
# same server, same run; and the server itself with no file system in between
# ("direct": curl of the object, ranged GETs, ListObjectsV2, PUT, CopyObject).
#
# The server is the tests' throw-away RGW (tests/s3/server.sh: a single-node
# Ceph with one memstore OSD, data in RAM), started here with its state dir in
# the work dir, on ports of its own, and stopped on exit.
#
# Usage: bench/s3.sh [--quick] [--runs R] [--dir D] [--no-s3fs] [--rgw-nagle] [--ls-only] [--no-save]
# Must run as root (drops the page cache, mounts FUSE, runs the Ceph daemons).
# See bench/README.md.
#
# Progress goes to stderr; the machine description and the markdown tables go
# to stdout and, unless --no-save, to bench/results-s3.md. Any failed
# operation (a read, a listing, a copy, an upload, a mount) or any mismatch (a
# byte count, a checksum of the random reads, a listing's names, an object on
# the server that differs from its source) fails the benchmark: the report
# says so, is not saved, and the exit status is 1. Errors and warnings in the
# daemons' logs, and keys left in a bucket after a figure, are listed under the
# tables as unexpected.

set -uo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- options
RUNS=3
RESULTS_FILE=$SCRIPT_DIR/results-s3.md
OP_TIMEOUT=${OP_TIMEOUT:-600}     # seconds for any single measured operation
GW_PORT=${BENCH_S3_GATEWAY_PORT:-7483}
MON_PORT=${BENCH_S3_MON_PORT:-3303}
DO_S3FS=1
NODELAY=1
LS_ONLY=0

usage() {
	cat <<EOF
Usage: $0 [--quick] [--runs R] [--dir D] [--no-s3fs] [--rgw-nagle] [--ls-only] [--no-save]
  --quick      smoke test: 1 run, a 256 MiB object, 2,000-object ls dir
  --runs R     repetitions per figure (median is reported), default 3
  --dir D      work dir parent (default: a fresh mktemp -d under /var/tmp)
  --no-s3fs    skip the s3fs subject
  --rgw-nagle  turn Nagle back on in the gateway's beast frontend (~40 ms
               per request on a reused connection); tests/s3/server.sh
               starts it with tcp_nodelay=1
  --ls-only    only figure 4 (ls -l, first and second), with a 1 MiB object
               for the others' data: the listing alone, in minutes
  --no-save    do not write $RESULTS_FILE
Environment: CD_BIN (default build/clonedrive), RAND_N (random reads, default 2000),
             OP_TIMEOUT (seconds per measured operation, default 600),
             BENCH_S3_GATEWAY_PORT (default 7483), BENCH_S3_MON_PORT (default 3303)
EOF
}

extra_option() {
	case "$1" in
	--no-s3fs) DO_S3FS=0 ;;
	--rgw-nagle) NODELAY=0 ;;
	--ls-only) LS_ONLY=1 ;;
	*) return 1 ;;
	esac
}

parse_options "$@"

if [ "$QUICK" = 1 ]; then
	SIZE_MB=256
	LS_FILES=2000
else
	SIZE_MB=1024
	LS_FILES=10000
fi
[ "$LS_ONLY" = 1 ] && SIZE_MB=1
FIGS="seq rand ls write copy_sparse copy_plain"
[ "$LS_ONLY" = 1 ] && FIGS=ls
RAND_N=${RAND_N:-2000}
need_count RAND_N "$RAND_N"
need_count BENCH_S3_GATEWAY_PORT "$GW_PORT"
need_count BENCH_S3_MON_PORT "$MON_PORT"
SIZE_BYTES=$((SIZE_MB * 1024 * 1024))
BK_CD=cdbench-clonedrive          # clonedrive's bucket (and the direct anchor's)
BK_S3FS=cdbench-s3fs              # s3fs's bucket, the same content

require_root

# ---------------------------------------------------------------- tools
need_tools
require_cd_bin
command -v setfattr >/dev/null || apt_install attr
command -v curl >/dev/null || apt_install curl
command -v cc >/dev/null || apt_install gcc libc6-dev
if [ "$DO_S3FS" = 1 ] && ! command -v s3fs >/dev/null; then
	apt_install s3fs || true
fi
if [ "$DO_S3FS" = 1 ] && ! command -v s3fs >/dev/null; then
	echo "s3fs is not installed and apt-get could not install it (or run with --no-s3fs)" >&2
	exit 1
fi
for t in ceph ceph-mon ceph-osd radosgw radosgw-admin; do
	command -v "$t" >/dev/null || { echo "no $t: run scripts/deps.sh (Ceph for tests/s3/server.sh)" >&2; exit 1; }
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in bench/ or tests/s3/
S3REQ=$REPO_DIR/tests/s3/s3req.py
S3UTIL=$SCRIPT_DIR/s3util.py
SERVER_SH=$REPO_DIR/tests/s3/server.sh

# ---------------------------------------------------------------- work dir
make_work cds3
rmdir "$REMOTE" 2>/dev/null     # the remote is a bucket here
DATA=$WORK/data
mkdir -p "$DATA"

private_cd_bin
if ! grep -qa -- 'endpoint' "$CD_BIN"; then
	echo "$CD_SRC has no S3 backend (no --endpoint option): a build older than the S3 remote? rebuild it" >&2
	exit 1
fi
CD_SHA=$(sha256sum "$CD_BIN" | cut -c1-12)
log "clonedrive: $CD_SRC (sha256 $CD_SHA...), run from a copy in the work dir"

if ! cc -O2 -o "$WORK/bin/randread" "$SCRIPT_DIR/randread.c"; then
	echo "cannot compile bench/randread.c" >&2
	exit 1
fi
RANDREAD=$WORK/bin/randread

# ---------------------------------------------------------------- the server
S3DIR=$WORK/s3
SERVER_STARTED=0
# the exit trap of lib.sh (cleanup) removes the work dir, the server's state
# dir with it: once it has unmounted and stopped the subjects, it stops the
# server (tests/s3/server.sh stop: its daemons by their pid files)
stop_server() {
	if [ "$SERVER_STARTED" = 1 ]; then
		log "cleanup: stopping the S3 server"
		S3_STATE_DIR=$S3DIR timeout 120 bash "$SERVER_SH" stop >>"$WORK/log/server.out" 2>&1 9>&- ||
			log "cleanup: server.sh stop failed: $(tail -n 3 "$WORK/log/server.out" | tr '\n' ' ')"
	fi
}
CLEANUP_HOOK=stop_server

if [ "${#S3DIR}" -gt 70 ]; then
	echo "the server's state dir $S3DIR is too long for Ceph's sockets (70 bytes): use a shorter --dir" >&2
	exit 1
fi
log "starting the S3 server (tests/s3/server.sh) on 127.0.0.1:$GW_PORT, mon $MON_PORT"
SERVER_STARTED=1
if ! S3_STATE_DIR=$S3DIR S3_GATEWAY_PORT=$GW_PORT S3_MON_PORT=$MON_PORT \
	timeout 300 bash "$SERVER_SH" start >"$WORK/log/server.out" 2>&1 9>&-; then
	tail -n 20 "$WORK/log/server.out" >&2
	echo "cannot start the S3 server" >&2
	exit 1
fi
# tests/s3/server.sh turns Nagle off in the gateway (beast answers in two
# writes; with Nagle the second waits for the client's delayed ACK, 40 ms
# on every request of a reused connection); --rgw-nagle turns it back on
if [ "$NODELAY" = 1 ]; then
	grep -q '^rgw_frontends = beast .* tcp_nodelay=1$' "$S3DIR/ceph.conf" || {
		echo "tests/s3/server.sh no longer sets tcp_nodelay=1" >&2; exit 1; }
else
	sed -i 's/ tcp_nodelay=1$//' "$S3DIR/ceph.conf"
	log "gateway: Nagle on (--rgw-nagle), restarting it"
	if ! S3_STATE_DIR=$S3DIR timeout 300 bash "$SERVER_SH" restart-gateway >>"$WORK/log/server.out" 2>&1 9>&-; then
		tail -n 20 "$WORK/log/server.out" >&2
		echo "cannot restart the gateway" >&2
		exit 1
	fi
fi
# shellcheck disable=SC1091
. "$S3DIR/env"
ENDPOINT=$CD_TEST_S3_ENDPOINT
FRONTEND=$(sed -n 's/^rgw_frontends = //p' "$S3DIR/ceph.conf")
RGW_V=$(radosgw --version 2>/dev/null | awk '{ print $3 }')
log "server up: $ENDPOINT ($FRONTEND)"

s3r() { "$PY" "$S3REQ" "$@"; }
s3u() { "$PY" "$S3UTIL" "$@"; }

# rgw_snap: "requests GET-bytes PUT-bytes" of the gateway so far (its perf
# counters, through the admin socket), or nothing
rgw_snap() {
	timeout 30 ceph --admin-daemon "$S3DIR/run/client.rgw.a.asok" perf dump rgw 2>/dev/null |
		"$PY" -c 'import json, sys; d = json.load(sys.stdin)["rgw"]; print(d["req"], d["get_b"], d["put_b"])' 2>/dev/null
}
# srv_add SUBJ METRIC BEFORE AFTER: the server's work during a figure
srv_add() {
	local a b
	read -r -a a <<<"$3"; read -r -a b <<<"$4"
	if [ "${#a[@]}" = 3 ] && [ "${#b[@]}" = 3 ]; then
		add "$1" "$2.req" $((b[0] - a[0]))
		add "$1" "$2.get" $((b[1] - a[1]))
		add "$1" "$2.put" $((b[2] - a[2]))
	else
		log "  cannot read the gateway's perf counters"
	fi
}

# gc: collect the data of deleted objects now (memstore keeps it in RAM)
gc() {
	timeout 300 radosgw-admin -c "$S3DIR/ceph.conf" -n client.rgw.a --admin-socket= --log-file=/dev/null \
		gc process --include-all >>"$WORK/log/gc.out" 2>&1 9>&- || log "  radosgw-admin gc process failed"
}

# obj_size BUCKET KEY: the object's size on the server, or nothing
obj_size() { timeout 60 "$PY" "$S3REQ" head "$1" "$2" 2>/dev/null | sed -n 's/^size=//p'; }

# obj_same SUBJ BUCKET KEY FILE: the object must equal FILE (curl of a
# presigned URL, cmp); else a failure
obj_same() {
	local url out
	url=$(s3u presign "$2" "$3") || { fail "$1: cannot presign $2/$3"; return 1; }
	if ! out=$(set -o pipefail; timeout -k 10 "$OP_TIMEOUT" curl -sSf "$url" | cmp - "$4" 2>&1); then
		fail "$1: $2/$3 on the server differs from $(basename "$4"): ${out:-curl failed}"
		return 1
	fi
	log "  $1: $2/$3 on the server equals $(basename "$4") (cmp)"
}

# leftovers SUBJ BUCKET: keys other than the data (big.bin, lsdir/...) are
# unexpected; listed, then removed
leftovers() {
	local k keys
	keys=$(timeout 120 "$PY" "$S3REQ" ls "$2" 2>"$WORK/tmp/err.txt" | grep -v -e '^big\.bin$' -e '^lsdir/') || true
	for k in $keys; do
		odd "$1, run $run: key '$k' left in bucket $2 after the figure; removed"
		s3r rm "$2" "$k" >/dev/null 2>&1
	done
}

# ---------------------------------------------------------------- data
log "generating data: 2 random files of $SIZE_MB MiB, $LS_FILES-object directory, two buckets"
random_file "$DATA/big.bin" "$SIZE_MB"
random_file "$DATA/write.bin" "$SIZE_MB"
for ((i = 0; i < LS_FILES; i++)); do echo "f$i"; done | sort >"$DATA/names.txt"
for bk in "$BK_CD" "$BK_S3FS"; do
	[ "$bk" = "$BK_S3FS" ] && [ "$DO_S3FS" = 0 ] && continue
	t0=$EPOCHREALTIME
	s3r mb "$bk" 2>"$WORK/tmp/err.txt" || { cat "$WORK/tmp/err.txt" >&2; echo "cannot create bucket $bk" >&2; exit 1; }
	s3u put "$bk" big.bin "$DATA/big.bin" >/dev/null 2>"$WORK/tmp/err.txt" || {
		cat "$WORK/tmp/err.txt" >&2; echo "cannot upload big.bin to $bk" >&2; exit 1; }
	s3u fill "$bk" lsdir "$LS_FILES" 32 2>"$WORK/tmp/err.txt" || {
		cat "$WORK/tmp/err.txt" >&2; echo "cannot fill $bk/lsdir" >&2; exit 1; }
	n=$(s3u list "$bk" lsdir/ | sed -n 's/^keys=\([0-9]*\) .*/\1/p')
	[ "$n" = "$LS_FILES" ] || { echo "$bk/lsdir/ lists $n keys, expected $LS_FILES" >&2; exit 1; }
	log "  $bk: big.bin and lsdir/ ($n objects) in $(secs_since "$t0")s"
done

# ---------------------------------------------------------------- mounts
S3FS_PW=$WORK/tmp/passwd-s3fs
( umask 077; echo "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" >"$S3FS_PW" )
S3FS_OPTS="url=$ENDPOINT,use_path_request_style,passwd_file=$S3FS_PW"
S3FS_V=""
[ "$DO_S3FS" = 1 ] && S3FS_V=$(s3fs --version 2>/dev/null | head -n 1 | sed 's/ *(commit.*//')

# subj_mount SUBJ NAME RUN: a fresh mount of SUBJ's bucket at WORK/mnt/NAME
# (clonedrive: an empty cache dir); sets MNT and DPID
subj_mount() {
	local subj=$1 name=$2 run=$3
	if [ "$subj" = clonedrive ]; then
		MOUNT_REMOTE=s3://$BK_CD cd_mount "$name" "$run" --endpoint "$ENDPOINT" && return 0
		fail "clonedrive: mount of s3://$BK_CD failed (run $run, $name): $(tail -n 2 "$WORK/log/$name.$run.out" "$WORK/log/$name.$run.log" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	s3fs_mount "$BK_S3FS" "$S3FS_OPTS" "$name" "$run"
}

# subj_unmount SUBJ NAME RUN: unmount (clonedrive: after uploading what is
# pending), record the daemon's peak RSS, list its log's complaints
subj_unmount() {
	local subj=$1 name=$2 run=$3 h p
	if [ -n "$DPID" ] && h=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024; f = 1 } END { exit !f }' "/proc/$DPID/status" 2>/dev/null); then
		add "$subj" rss "$h"
	fi
	if [ "$subj" = clonedrive ]; then
		cd_unmount "$name" "$run"
		p=$(daemon_complaints "$WORK/log/$name.$run.out" "$WORK/log/$name.$run.log")
	else
		s3fs_unmount "$name" "$run"
		p=$COMPLAINTS
	fi
	[ -z "$p" ] || odd "$subj, run $run, $name: the daemon logged: $p"
	DPID=""
}

# ---------------------------------------------------------------- helpers
# dd_rate SUBJ METRIC FILE: dd FILE to /dev/null, check the byte count,
# record MB/s (10^6 bytes/s, around the whole dd)
dd_rate() {
	local subj=$1 metric=$2 rc bytes rate
	run_timed dd if="$3" of=/dev/null bs=1M
	rc=$?
	bytes=$(awk '/ bytes / && $1 ~ /^[0-9]+$/ { b = $1 } END { print b + 0 }' "$WORK/tmp/err.txt")
	if [ "$rc" != 0 ] || [ "$bytes" != "$SIZE_BYTES" ]; then
		fail "$subj $metric: dd of $3 failed (rc=$rc, $bytes bytes, expected $SIZE_BYTES): $(tail -n 2 "$WORK/tmp/err.txt" | tr '\n' ' ')"
		return 1
	fi
	rate=$(mbps "$bytes" "$SECS")
	add "$subj" "$metric" "$rate"
	log "  $subj $metric: $rate MB/s (${SECS}s)"
}

# check_ls SUBJ METRIC FILE: an ls -l of lsdir: a total line, then every
# name once, each of size 1
check_ls() {
	local lines bad
	lines=$(wc -l <"$3")
	if [ "$lines" != $((LS_FILES + 1)) ]; then
		fail "$1 $2: ls -l printed $lines lines, expected $((LS_FILES + 1))"
		return 1
	fi
	if ! awk 'NR > 1 { print $NF }' "$3" | sort | cmp -s - "$DATA/names.txt"; then
		fail "$1 $2: ls -l does not list the names f0..f$((LS_FILES - 1))"
		return 1
	fi
	bad=$(awk 'NR > 1 && $5 != 1' "$3" | wc -l)
	if [ "$bad" != 0 ]; then
		fail "$1 $2: $bad entries of ls -l without size 1: $(awk 'NR > 1 && $5 != 1' "$3" | head -n 1)"
		return 1
	fi
}

# wait_on_server SUBJ MNT BUCKET KEY T0: until KEY has its full size on the
# server (clonedrive: asked with the sync xattr, again if the upload was not
# queued yet: cp's release can reach the daemon after cp returned; s3fs: its
# close uploads, so it is there at once). UP_SECS = from T0 to then.
UP_SECS=""
UP_TRIES=0
wait_on_server() {
	local subj=$1 mnt=$2 bk=$3 key=$4 t0=$5 end=$((SECONDS + OP_TIMEOUT)) t
	UP_TRIES=0
	while :; do
		UP_TRIES=$((UP_TRIES + 1))
		if [ "$subj" = clonedrive ]; then
			op setfattr -n user.clonedrive.sync -v "$OP_TIMEOUT" "$mnt" </dev/null 2>"$WORK/tmp/err.txt" || return 1
		fi
		t=$EPOCHREALTIME
		if [ "$(obj_size "$bk" "$key")" = "$SIZE_BYTES" ]; then
			UP_SECS=$(awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.6f", b - a }')
			return 0
		fi
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# direct_val KEY TEXT: KEY=value out of s3util.py's output line
direct_val() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# direct_op METRIC S3UTIL-ARGS...: an s3util.py command, its own time of
# the requests (not of the interpreter's start) recorded as direct's METRIC
direct_op() {
	local metric=$1 out rc
	shift
	out=$(op "$PY" "$S3UTIL" "$@" </dev/null 2>"$WORK/tmp/err.txt")
	rc=$?
	SECS=$(direct_val secs "$out")
	if [ "$rc" != 0 ] || [ -z "$SECS" ]; then
		fail "direct $metric: 's3util.py $*' failed (rc=$rc): $(head -c 300 "$WORK/tmp/err.txt" | tr '\n' ' ')"
		return 1
	fi
	add direct "$metric" "$SECS"
	log "  direct $metric: ${SECS}s"
}

declare -A EXPECT_SUM=()   # EXPECT_SUM[run]: randread's checksum on the local file

# ---------------------------------------------------------------- figures
# 1-2. cold sequential read of big.bin, warm re-read
fig_seq() {
	local subj=$1 run=$2 s0 s1 s2 url out
	if [ "$subj" = direct ]; then
		url=$(s3u presign "$BK_CD" big.bin) || { fail "direct: cannot presign"; return 1; }
		drop_caches
		s0=$(rgw_snap)
		out=$(op curl -sSf -o /dev/null -w '%{size_download} %{time_total}' "$url" 2>"$WORK/tmp/err.txt")
		s1=$(rgw_snap)
		SECS=${out#* }
		if [ "${out%% *}" != "$SIZE_BYTES" ]; then
			fail "direct seq_cold: curl got ${out%% *} bytes, expected $SIZE_BYTES: $(head -c 200 "$WORK/tmp/err.txt")"
			return 1
		fi
		add direct seq_cold "$(mbps "$SIZE_BYTES" "$SECS")"
		srv_add direct seq_cold "$s0" "$s1"
		log "  direct seq_cold: $(mbps "$SIZE_BYTES" "$SECS") MB/s (${SECS}s)"
		return 0
	fi
	subj_mount "$subj" "$subj-seq" "$run" || { subj_unmount "$subj" "$subj-seq" "$run"; return 1; }
	drop_caches
	s0=$(rgw_snap)
	if dd_rate "$subj" seq_cold "$MNT/big.bin"; then
		s1=$(rgw_snap)
		srv_add "$subj" seq_cold "$s0" "$s1"
		dd_rate "$subj" seq_warm "$MNT/big.bin"
		s2=$(rgw_snap)
		srv_add "$subj" seq_warm "$s1" "$s2"
		if out=$(differs "$MNT/big.bin" "$DATA/big.bin"); then
			fail "$subj: $MNT/big.bin differs from the data: $out"
		else
			log "  $subj: big.bin equals the data (cmp)"
		fi
	fi
	subj_unmount "$subj" "$subj-seq" "$run"
}

# 3. random 4 KiB reads of big.bin, cold
fig_rand() {
	local subj=$1 run=$2 s0 s1 f0="" f1 ops sum
	if [ "$subj" = direct ]; then
		drop_caches
		s0=$(rgw_snap)
		op "$PY" "$S3UTIL" randget "$BK_CD" big.bin "$RAND_N" "$run" >"$WORK/tmp/out.txt" 2>"$WORK/tmp/err.txt" ||
			{ fail "direct rand_ops: randget failed: $(head -c 300 "$WORK/tmp/err.txt")"; return 1; }
		s1=$(rgw_snap)
	else
		subj_mount "$subj" "$subj-rand" "$run" || { subj_unmount "$subj" "$subj-rand" "$run"; return 1; }
		[ "$subj" = clonedrive ] && f0=$(stat_num "$MNT" fetched_bytes)
		drop_caches
		s0=$(rgw_snap)
		if ! op "$RANDREAD" "$MNT/big.bin" "$RAND_N" "$run" >"$WORK/tmp/out.txt" 2>"$WORK/tmp/err.txt"; then
			fail "$subj rand_ops: randread failed: $(head -c 300 "$WORK/tmp/err.txt")"
			subj_unmount "$subj" "$subj-rand" "$run"
			return 1
		fi
		s1=$(rgw_snap)
		if [ "$subj" = clonedrive ]; then
			f1=$(stat_num "$MNT" fetched_bytes)
			[ -n "$f0" ] && [ -n "$f1" ] && add clonedrive rand_fetched $((f1 - f0))
		fi
		subj_unmount "$subj" "$subj-rand" "$run"
	fi
	ops=$(sed -n 's/.*ops_per_s=\([0-9.]*\).*/\1/p' "$WORK/tmp/out.txt")
	sum=$(sed -n 's/.* sum=\([0-9a-f]*\).*/\1/p' "$WORK/tmp/out.txt")
	if [ -z "$ops" ] || [ "$sum" != "${EXPECT_SUM[$run]}" ]; then
		fail "$subj rand_ops: the reads' checksum is ${sum:-missing}, the same reads of the data give ${EXPECT_SUM[$run]}"
		return 1
	fi
	add "$subj" rand_ops "$ops"
	srv_add "$subj" rand_ops "$s0" "$s1"
	log "  $subj rand_ops: $ops ops/s (checksum ok)"
}

# 4. ls -l of lsdir, first (fresh mount) and second time
fig_ls() {
	local subj=$1 run=$2 s0 s1 s2 n out
	if [ "$subj" = direct ]; then
		drop_caches
		s0=$(rgw_snap)
		out=$(op "$PY" "$S3UTIL" list "$BK_CD" lsdir/ 2>"$WORK/tmp/err.txt")
		s1=$(rgw_snap)
		n=$(direct_val keys "$out")
		SECS=$(direct_val secs "$out")
		if [ "$n" != "$LS_FILES" ] || [ -z "$SECS" ]; then
			fail "direct ls_1: ListObjectsV2 gave ${n:-nothing} keys, expected $LS_FILES: $(head -c 200 "$WORK/tmp/err.txt")"
			return 1
		fi
		add direct ls_1 "$SECS"
		srv_add direct ls_1 "$s0" "$s1"
		log "  direct ls_1: ${SECS}s"
		return 0
	fi
	subj_mount "$subj" "$subj-ls" "$run" || { subj_unmount "$subj" "$subj-ls" "$run"; return 1; }
	drop_caches
	s0=$(rgw_snap)
	t0=$EPOCHREALTIME
	if ! op ls -l "$MNT/lsdir" >"$WORK/tmp/ls1.txt" 2>"$WORK/tmp/err.txt"; then
		fail "$subj ls_1: ls -l failed: $(head -c 300 "$WORK/tmp/err.txt")"
	else
		SECS=$(secs_since "$t0")
		s1=$(rgw_snap)
		if check_ls "$subj" ls_1 "$WORK/tmp/ls1.txt"; then
			add "$subj" ls_1 "$SECS"
			srv_add "$subj" ls_1 "$s0" "$s1"
			log "  $subj ls_1: ${SECS}s"
			t0=$EPOCHREALTIME
			if ! op ls -l "$MNT/lsdir" >"$WORK/tmp/ls2.txt" 2>"$WORK/tmp/err.txt"; then
				fail "$subj ls_2: ls -l failed: $(head -c 300 "$WORK/tmp/err.txt")"
			else
				SECS=$(secs_since "$t0")
				s2=$(rgw_snap)
				if check_ls "$subj" ls_2 "$WORK/tmp/ls2.txt"; then
					add "$subj" ls_2 "$SECS"
					srv_add "$subj" ls_2 "$s1" "$s2"
					log "  $subj ls_2: ${SECS}s"
				fi
			fi
		fi
	fi
	subj_unmount "$subj" "$subj-ls" "$run"
}

# 5. write: cp of a local file (in the page cache) into the mount; until cp
# returns, and until the object is on the server
fig_write() {
	local subj=$1 run=$2 s0 s1 bk key t0 a
	drop_caches
	cat "$DATA/write.bin" >/dev/null
	if [ "$subj" = direct ]; then
		bk=$BK_CD key=direct-write.bin
		s0=$(rgw_snap)
		if direct_op write_ret put "$bk" "$key" "$DATA/write.bin"; then
			s1=$(rgw_snap)
			add direct write_up "$SECS"
			srv_add direct write "$s0" "$s1"
			[ "$(obj_size "$bk" "$key")" = "$SIZE_BYTES" ] || fail "direct: $bk/$key is not on the server after its PUT"
			obj_same direct "$bk" "$key" "$DATA/write.bin"
		fi
		s3r rm "$bk" "$key" >/dev/null 2>&1
		leftovers direct "$bk"
		gc
		return 0
	fi
	if [ "$subj" = clonedrive ]; then bk=$BK_CD; else bk=$BK_S3FS; fi
	key=write.bin
	subj_mount "$subj" "$subj-write" "$run" || { subj_unmount "$subj" "$subj-write" "$run"; return 1; }
	s0=$(rgw_snap)
	t0=$EPOCHREALTIME
	if op cp -- "$DATA/write.bin" "$MNT/$key" </dev/null 2>"$WORK/tmp/err.txt"; then
		a=$(secs_since "$t0")
		add "$subj" write_ret "$a"
		log "  $subj write_ret: ${a}s"
		if wait_on_server "$subj" "$MNT" "$bk" "$key" "$t0"; then
			s1=$(rgw_snap)
			add "$subj" write_up "$UP_SECS"
			srv_add "$subj" write "$s0" "$s1"
			log "  $subj write_up: ${UP_SECS}s (checked $UP_TRIES time(s))"
			obj_same "$subj" "$bk" "$key" "$DATA/write.bin"
		else
			fail "$subj write: $bk/$key not on the server with $SIZE_BYTES bytes within ${OP_TIMEOUT}s: $(head -c 200 "$WORK/tmp/err.txt")"
		fi
	else
		fail "$subj write_ret: cp failed: $(head -c 300 "$WORK/tmp/err.txt")"
	fi
	subj_unmount "$subj" "$subj-write" "$run"
	s3r rm "$bk" "$key" >/dev/null 2>&1
	leftovers "$subj" "$bk"
	gc
}

# 6-7. in-mount copy of big.bin, fresh mount: cp --sparse=never (copy_file_range
# whatever the source's st_blocks) and plain cp; until cp returns and until
# the copy is on the server. direct: CopyObject (one request), for both rows
fig_copy() {
	local subj=$1 run=$2 how=$3 s0 s1 bk key t0 a c0="" c1="" flag=()
	if [ "$subj" = direct ]; then
		bk=$BK_CD key=direct-copy.bin
		s0=$(rgw_snap)
		if direct_op copy copy "$bk" big.bin "$key"; then
			s1=$(rgw_snap)
			srv_add direct copy "$s0" "$s1"
			obj_same direct "$bk" "$key" "$DATA/big.bin"
		fi
		s3r rm "$bk" "$key" >/dev/null 2>&1
		leftovers direct "$bk"
		gc
		return 0
	fi
	if [ "$subj" = clonedrive ]; then bk=$BK_CD; else bk=$BK_S3FS; fi
	key=copy-$how.bin
	[ "$how" = sparse ] && flag=(--sparse=never)
	subj_mount "$subj" "$subj-cp$how" "$run" || { subj_unmount "$subj" "$subj-cp$how" "$run"; return 1; }
	[ "$subj" = clonedrive ] && c0=$(stats_text "$MNT")
	drop_caches
	s0=$(rgw_snap)
	t0=$EPOCHREALTIME
	if op cp "${flag[@]}" -- "$MNT/big.bin" "$MNT/$key" </dev/null 2>"$WORK/tmp/err.txt"; then
		a=$(secs_since "$t0")
		add "$subj" "cp_${how}_ret" "$a"
		log "  $subj cp_${how}_ret: ${a}s"
		if wait_on_server "$subj" "$MNT" "$bk" "$key" "$t0"; then
			s1=$(rgw_snap)
			add "$subj" "cp_${how}_up" "$UP_SECS"
			srv_add "$subj" "cp_$how" "$s0" "$s1"
			log "  $subj cp_${how}_up: ${UP_SECS}s (checked $UP_TRIES time(s))"
			if [ "$subj" = clonedrive ]; then
				c1=$(stats_text "$MNT")
				local k
				for k in server_copies fetched_bytes uploaded_bytes; do
					[ -n "$(ctr "$c0" $k)" ] && [ -n "$(ctr "$c1" $k)" ] &&
						add clonedrive "cp_$how.$k" $(($(ctr "$c1" $k) - $(ctr "$c0" $k)))
				done
			fi
			obj_same "$subj" "$bk" "$key" "$DATA/big.bin"
		else
			fail "$subj cp $how: $bk/$key not on the server with $SIZE_BYTES bytes within ${OP_TIMEOUT}s: $(head -c 200 "$WORK/tmp/err.txt")"
		fi
	else
		fail "$subj cp_${how}_ret: cp failed: $(head -c 300 "$WORK/tmp/err.txt")"
	fi
	subj_unmount "$subj" "$subj-cp$how" "$run"
	s3r rm "$bk" "$key" >/dev/null 2>&1
	leftovers "$subj" "$bk"
	gc
}

# ---------------------------------------------------------------- runs
SUBJECTS=(direct clonedrive)
[ "$DO_S3FS" = 1 ] && SUBJECTS+=(s3fs)

# each figure is measured for every subject in turn, so that machine noise
# spreads evenly; every FUSE figure has a mount of its own
for ((run = 1; run <= RUNS; run++)); do
	out=$("$RANDREAD" "$DATA/big.bin" "$RAND_N" "$run") || { echo "randread of the data failed" >&2; exit 1; }
	EXPECT_SUM[$run]=$(echo "$out" | sed -n 's/.* sum=\([0-9a-f]*\).*/\1/p')
	for fig in $FIGS; do
		for subj in "${SUBJECTS[@]}"; do
			case "$fig" in
			copy_sparse) log "run $run/$RUNS: cp --sparse=never: $subj"; fig_copy "$subj" "$run" sparse ;;
			copy_plain)
				[ "$subj" = direct ] && continue
				log "run $run/$RUNS: plain cp: $subj"; fig_copy "$subj" "$run" plain ;;
			*) log "run $run/$RUNS: $fig: $subj"; "fig_$fig" "$subj" "$run" ;;
			esac
		done
	done
done

# ---------------------------------------------------------------- report
fmt() {
	case "$1" in
	rate|ops) awk -v v="$2" 'BEGIN { printf "%.0f", v }' ;;
	time) awk -v v="$2" 'BEGIN { printf "%.3f", v }' ;;
	mib) awk -v v="$2" 'BEGIN { printf "%.1f", v }' ;;
	bytes) human_bytes "$2" ;;
	count) awk -v v="$2" 'BEGIN { printf "%d", v }' ;;
	esac
}
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
SIZE_H=$(size_h "$SIZE_MB")

# cell SUBJ METRIC KIND: the median, formatted, or n/a (— if SUBJ does not
# have the figure)
cell() {
	local v
	[ "$1" = s3fs ] && [ "$DO_S3FS" = 0 ] && { echo "—"; return; }
	[ "$2" = - ] && { echo "—"; return; }
	if v=$(median "$1" "$2"); then fmt "$3" "$v"; else echo "n/a"; fi
}
# ratio A MA B MB hi|lo: median(A, MA) against median(B, MB), higher is better
ratio() {
	local a b
	{ [ "$2" = - ] || [ "$4" = - ]; } && { echo "—"; return; }
	a=$(median "$1" "$2") || { echo "n/a"; return; }
	b=$(median "$3" "$4") || { echo "n/a"; return; }
	if [ "$5" = lo ]; then set -- "$b" "$a"; else set -- "$a" "$b"; fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
# maxof SUBJ METRIC: the largest value
maxof() {
	local vals=${RES[$1,$2]:-}
	[ -n "${vals// /}" ] || { echo "n/a"; return; }
	# shellcheck disable=SC2086 # one value a word
	printf '%s\n' $vals | sort -g | tail -n 1
}
# runs_of SUBJ METRIC KIND: every run's value, formatted, comma-separated
runs_of() {
	local v out=""
	for v in $(allvals "$1" "$2"); do out+="${out:+, }$(fmt "$3" "$v")"; done
	echo "${out:-n/a}"
}

# rows: direct metric|clonedrive and s3fs metric|label|kind|hi/lo
ROWS=(
	"seq_cold|seq_cold|1. Cold sequential read of a $SIZE_H object, \`dd bs=1M\` (MB/s)|rate|hi"
	"-|seq_warm|2. Warm re-read of the same file (MB/s)|rate|hi"
	"rand_ops|rand_ops|3. Random 4 KiB reads, cold, N=$(commas "$RAND_N") (ops/s)|ops|hi"
	"ls_1|ls_1|4a. \`ls -l\` of $(commas "$LS_FILES") objects, first (s)|time|lo"
	"-|ls_2|4b. \`ls -l\` of the same, second (s)|time|lo"
	"write_ret|write_ret|5a. Write $SIZE_H: \`cp\` of a local file, until it returns (s)|time|lo"
	"write_up|write_up|5b. … until the object is on the server (s)|time|lo"
	"copy|cp_sparse_ret|6a. In-mount \`cp --sparse=never\` of the $SIZE_H object, until it returns (s)|time|lo"
	"copy|cp_sparse_up|6b. … until the copy is on the server (s)|time|lo"
	"copy|cp_plain_ret|7a. In-mount plain \`cp\` of the $SIZE_H object, until it returns (s)|time|lo"
	"copy|cp_plain_up|7b. … until the copy is on the server (s)|time|lo"
)

# server-side rows: direct metric|FUSE metric|label
SRV_ROWS=(
	"seq_cold|seq_cold|1. cold sequential read"
	"-|seq_warm|2. warm re-read"
	"rand_ops|rand_ops|3. random 4 KiB reads"
	"ls_1|ls_1|4a. \`ls -l\`, first"
	"-|ls_2|4b. \`ls -l\`, second"
	"write|write|5. write, until on the server"
	"copy|cp_sparse|6. \`cp --sparse=never\`, until on the server"
	"copy|cp_plain|7. plain \`cp\`, until on the server"
)

CD_V="$(cd_name "$CD_SRC") @ $(cd_rev) (sha256 $CD_SHA...)"

report() {
	local row dm fm label kind better line subj
	{
	report_head "S3 (RGW)" "local data files, clonedrive's cache dirs and s3fs's temp files (/tmp) on it"
	echo "- server: Ceph RADOS Gateway $RGW_V, one memstore OSD (data in RAM), \`tests/s3/server.sh\` on 127.0.0.1:$GW_PORT;"
	echo "  frontend \`$FRONTEND\`$([ "$NODELAY" = 1 ] && echo " (tcp_nodelay=1 as tests/s3/server.sh sets it: see below)" || echo " (Nagle turned back on: --rgw-nagle)")"
	echo "- clonedrive: $CD_V: \`clonedrive mount s3://$BK_CD MNT --endpoint $ENDPOINT --cache-dir DIR\` (empty, per mount)"
	if [ "$DO_S3FS" = 1 ]; then
		echo "- s3fs: $S3FS_V: \`s3fs $BK_S3FS MNT -f -o url=$ENDPOINT,use_path_request_style,passwd_file=FILE\`: its default mode,"
		echo "  no \`use_cache\` (no local cache: each open file is staged in an unlinked temporary file in /tmp, dropped at close)"
	else
		echo "- s3fs: not run (--no-s3fs)"
	fi
	echo "- direct: the server with no file system: curl of a presigned URL, ranged GETs on one keep-alive connection, ListObjectsV2,"
	echo "  one streamed PUT, CopyObject (\`bench/s3util.py\`, signed like \`tests/s3/s3req.py\`); its times are those of the"
	echo "  requests alone (curl's time_total, s3util.py's own clock), not of starting the process"
	echo
	echo "| Figure (median of $RUNS run(s)) | direct | clonedrive | s3fs | clonedrive/s3fs | clonedrive/direct | s3fs/direct |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r dm fm label kind better <<<"$row"
		line="| $label | $(cell direct "$dm" "$kind") | $(cell clonedrive "$fm" "$kind") | $(cell s3fs "$fm" "$kind")"
		if [ "$DO_S3FS" = 1 ]; then
			line+=" | $(ratio clonedrive "$fm" s3fs "$fm" "$better")"
		else
			line+=" | —"
		fi
		line+=" | $(ratio clonedrive "$fm" direct "$dm" "$better")"
		if [ "$DO_S3FS" = 1 ]; then line+=" | $(ratio s3fs "$fm" direct "$dm" "$better")"; else line+=" | —"; fi
		echo "$line |"
	done
	echo "| 8. Daemon peak RSS, VmHWM, largest of all mounts (MiB) | — | $(fmt mib "$(maxof clonedrive rss)") | $([ "$DO_S3FS" = 1 ] && fmt mib "$(maxof s3fs rss)" || echo —) | — | — | — |"
	echo
	echo "Ratios: higher is better (for rates A/B, for times B/A). MB/s = 10^6 bytes/s. Every clonedrive and s3fs figure (1-2,"
	echo "3, 4a-4b, 5, 6, 7) has a fresh mount of its own (clonedrive: an empty cache dir), the page cache dropped right before"
	echo "(\`sync; echo 3 >/proc/sys/vm/drop_caches\`); runs go figure by figure, subject by subject. The figures:"
	echo
	echo "1. \`dd if=MNT/big.bin of=/dev/null bs=1M\`; direct: \`curl -o /dev/null\` of a presigned URL (one stream). 2. the"
	echo "   same dd right after (clonedrive: the page cache and its cache dir; s3fs keeps nothing after close: it downloads"
	echo "   again). Then the file is compared with the data by \`cmp\` (untimed)."
	echo "3. \`bench/randread.c\`: N buffered 4 KiB preads at random 4 KiB-aligned offsets of big.bin (seed = run), one open"
	echo "   file; direct: the same ranges as N ranged GETs, one after the other. Checked: a checksum of the bytes read, equal"
	echo "   to that of the same reads of the local data."
	echo "4. \`ls -l MNT/lsdir\` (a directory object \`lsdir/\` and $(commas "$LS_FILES") one-byte objects); checked: every name once, size 1;"
	echo "   direct: ListObjectsV2 of the prefix, all pages (1,000 keys each)."
	echo "5. \`cp DATA/write.bin MNT/write.bin\` of a random local file, read once first (in the page cache); a: until cp"
	echo "   returns; b: until the object has its full size on the server (clonedrive: \`setfattr -n user.clonedrive.sync -v"
	echo "   SECS MNT\`, again while not there; s3fs uploads in close(), so cp returns with it there; a \`HEAD\` confirms)."
	echo "   direct: one PUT of the file (UNSIGNED-PAYLOAD, streamed). Then the object is compared with the file."
	echo "6.-7. \`cp [--sparse=never] MNT/big.bin MNT/copy.bin\` of the cold file; a and b as in 5. coreutils cp uses"
	echo "   copy_file_range only when the source does not look sparse: clonedrive shows a file whose data is not local with"
	echo "   st_blocks 0, so plain cp reads and writes it, and \`--sparse=never\` makes cp call copy_file_range, which"
	echo "   clonedrive turns into CopyObject on the server. s3fs does not implement copy_file_range: the kernel copies"
	echo "   through reads and writes either way. direct: one CopyObject. Then the copy is compared with the data."
	echo "8. VmHWM of the daemon right before each unmount; the largest."
	echo
	echo "Every object written (5-7) is deleted after its figure and the gateway's garbage collection run"
	echo "(\`radosgw-admin gc process --include-all\`), so that the RAM-backed store holds the two buckets' data only."
	if [ "$NODELAY" = 1 ]; then
		echo "The gateway's beast frontend has \`tcp_nodelay=1\` (tests/s3/server.sh sets it): it answers in two"
		echo "writes, and with Nagle the second waits for the client's delayed ACK, ~40 ms, on every request of a reused"
		echo "connection after the first (measured here: 4 KiB ranged GETs on one connection ~20/s with Nagle, ~250/s without)."
	fi
	echo
	echo "### The server's side"
	echo
	echo "What the gateway did during each figure (its perf counters \`req\`, \`get_b\`, \`put_b\` from the admin socket,"
	echo "before and after; medians): requests, bytes sent for GETs, bytes received for PUTs (parts included)."
	echo
	echo "| Figure | direct: requests | GET bytes | PUT bytes | clonedrive: requests | GET bytes | PUT bytes | s3fs: requests | GET bytes | PUT bytes |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for row in "${SRV_ROWS[@]}"; do
		IFS='|' read -r dm fm label <<<"$row"
		line="| $label"
		for subj in direct clonedrive s3fs; do
			local m=$fm
			[ "$subj" = direct ] && m=$dm
			if [ "$m" = - ] || { [ "$subj" = s3fs ] && [ "$DO_S3FS" = 0 ]; }; then
				line+=" | — | — | —"
			else
				line+=" | $(cell "$subj" "$m.req" count) | $(cell "$subj" "$m.get" bytes) | $(cell "$subj" "$m.put" bytes)"
			fi
		done
		echo "$line |"
	done
	echo
	echo "clonedrive's own counters (\`user.clonedrive.stats\`, per run): random reads: fetched_bytes $(runs_of clonedrive rand_fetched bytes)"
	echo "for $(human_bytes $((RAND_N * 4096))) read; \`cp --sparse=never\`: server_copies +$(runs_of clonedrive cp_sparse.server_copies count),"
	echo "fetched_bytes +$(runs_of clonedrive cp_sparse.fetched_bytes bytes), uploaded_bytes +$(runs_of clonedrive cp_sparse.uploaded_bytes bytes);"
	echo "plain \`cp\`: server_copies +$(runs_of clonedrive cp_plain.server_copies count), fetched_bytes +$(runs_of clonedrive cp_plain.fetched_bytes bytes),"
	echo "uploaded_bytes +$(runs_of clonedrive cp_plain.uploaded_bytes bytes)."
	echo "— = not applicable, n/a = failed or unavailable."
	report_problems
	} | sed -e "s|$WORK|WORK|g" -e "s|$REPO_DIR/||g"
}

finish
