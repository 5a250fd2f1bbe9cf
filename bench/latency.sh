#!/usr/bin/env bash
# bench/latency.sh - is what is local still fast while the remote is slow?
#
# The latency of operations on data the cache holds (stat, cat and ls -l of
# a small hydrated file and its directory, and a getxattr of it), with 0, 4,
# 16, 64 and 256 cold readers waiting on a slow remote at the same time: a
# local remote whose reads each take 200 ms or 1 s more, and an S3 bucket
# 200 ms or 1 s farther away. Per figure: p50 and p99, the p99 against that
# with no reader waiting, the daemon's peak thread count and its peak RSS.
# Then the cold-read throughput of 64 parallel readers over S3, clonedrive
# beside s3fs (Debian's), on the same bucket in the same run.
#
# How the remote is made slow:
# - local remote: the daemon's test knob CLONEDRIVE_TEST_READ_DELAY_MS, set
#   in the environment of the mount: each remote read (a piece of 256 KiB at
#   most) sleeps that long first;
# - S3: the tests' throw-away Ceph RGW (tests/s3/server.sh, data in RAM)
#   behind bench/delayproxy.py, a TCP proxy on loopback that hands what the
#   client sends on to the gateway DELAY later (replies pass at once), so
#   that every request is answered DELAY later, as with the local knob.
#   A proxy, not `tc netem` in a network namespace: netem on the namespace's
#   loopback would delay the Ceph daemons' own traffic too (one S3 request
#   is several RADOS round trips), or need classifier filters on the ports,
#   and the daemon, the gateway, s3fs and every helper of the script would
#   have to run inside the namespace; the proxy delays just the traffic of
#   the subjects to the gateway and needs nothing but Python.
#
# Per remote, delay and number of readers N, on a fresh mount (empty cache
# dir, so that the remote files are cold again; `--attr-timeout 0`, see
# below): the small file is read once (so it is hydrated) and both
# directories listed; N readers are started in the background (`cat` of
# cold files, a different one each: big enough that none finishes during
# the measurement); once all of them have been asleep in the kernel for
# 1 s (waiting), bench/latprobe.c takes ROUNDS samples of each operation,
# every sample in a child process of its own with a timeout (a timeout is
# recorded as such); then the readers are killed and the mount unmounted.
#
# The mounts use --attr-timeout 0 (--attr-timeout=S to change it): with the
# default of 3600 s a stat of a file looked up before is answered by the
# kernel's attribute cache without asking the daemon, so it would measure
# the kernel only; with 0 every operation asks the daemon, as a stat does
# whenever the kernel's copy is out of date.
#
# Usage: bench/latency.sh [--quick] [--runs R] [--dir D] [--no-save]
#          [--readers=N,N,...] [--delays=MS,MS,...] [--rounds=M] [--budget=S]
#          [--attr-timeout=S] [--no-local] [--no-s3] [--no-s3fs]
# Must run as root (drops the page cache, mounts FUSE, runs the Ceph daemons).
# See bench/README.md.
#
# Progress goes to stderr; the machine description and the markdown tables
# go to stdout and, unless --no-save, to bench/results-latency.md. A failed
# operation or check (a mount, the small file's bytes, a listing, a probe's
# answer, a throughput reader's byte count or data) fails the benchmark: the
# report says so, is not saved, and the exit status is 1. Timeouts of the
# probe are results, not failures; readers that ended before the measurement
# did, errors and warnings in a daemon's log, are listed as unexpected.

set -uo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- options
RUNS=1
RESULTS_FILE=$SCRIPT_DIR/results-latency.md
OP_TIMEOUT=${OP_TIMEOUT:-600}             # seconds for an operation outside the probe
SAMPLE_TIMEOUT=${SAMPLE_TIMEOUT:-10}      # seconds for one sample of the probe
PARK_TIMEOUT=${PARK_TIMEOUT:-60}          # seconds for the readers to be waiting
GW_PORT=${BENCH_S3_GATEWAY_PORT:-7485}
MON_PORT=${BENCH_S3_MON_PORT:-3305}
READERS_OPT=""
DELAYS_OPT=""
ROUNDS_OPT=""
BUDGET_OPT=""
ATTR_TIMEOUT=0
DO_LOCAL=1
DO_S3=1
DO_S3FS=1

usage() {
	cat <<EOF
Usage: $0 [--quick] [--runs R] [--dir D] [--no-save] [--readers=N,...]
          [--delays=MS,...] [--rounds=M] [--budget=S] [--attr-timeout=S]
          [--no-local] [--no-s3] [--no-s3fs]
  --quick           smoke test: readers 0,16, delay 200 ms, 20 rounds, 10 s
                    budget, 16 throughput readers at no added latency (~1 min)
  --runs R          repetitions of every figure, each on a fresh mount (median
                    of the runs' percentiles), default 1
  --dir D           work dir parent (default: a fresh mktemp -d under /var/tmp)
  --readers=LIST    numbers of cold readers, default 0,4,16,64,256 (0 is added)
  --delays=LIST     added remote latencies in ms, default 200,1000
  --rounds=M        samples of each operation per figure, default 100
  --budget=S        seconds of sampling per figure at most, default 30
  --attr-timeout=S  the mounts' --attr-timeout, default 0 (see the header)
  --no-local        skip the local remote
  --no-s3           skip S3 (and the throughput figure)
  --no-s3fs         skip s3fs in the throughput figure
  --no-save         do not write $RESULTS_FILE
Environment: CD_BIN (default build/clonedrive), SAMPLE_TIMEOUT (s, default 10),
             PARK_TIMEOUT (s, default 60), OP_TIMEOUT (s, default 600),
             BENCH_S3_GATEWAY_PORT (default 7485; the TLS port is the next one),
             BENCH_S3_MON_PORT (default 3305)
EOF
}

# list_opt VALUE: a comma-separated list of counts, as words
list_opt() {
	local v
	for v in ${1//,/ }; do
		case "$v" in ''|*[!0-9]*) echo "not a list of numbers: $1" >&2; exit 2 ;; esac
		echo "$v"
	done
}

extra_option() {
	case "$1" in
	--readers=*) READERS_OPT=$(list_opt "${1#--readers=}") || exit 2 ;;
	--delays=*) DELAYS_OPT=$(list_opt "${1#--delays=}") || exit 2 ;;
	--rounds=*) ROUNDS_OPT=${1#--rounds=} ;;
	--budget=*) BUDGET_OPT=${1#--budget=} ;;
	--attr-timeout=*) ATTR_TIMEOUT=${1#--attr-timeout=} ;;
	--no-local) DO_LOCAL=0 ;;
	--no-s3) DO_S3=0 ;;
	--no-s3fs) DO_S3FS=0 ;;
	*) return 1 ;;
	esac
}

parse_options "$@"

if [ "$QUICK" = 1 ]; then
	READERS="0 16" DELAYS="200" ROUNDS=20 BUDGET=10 TP_READERS=16 TP_DELAYS="0"
else
	READERS="0 4 16 64 256" DELAYS="200 1000" ROUNDS=100 BUDGET=30 TP_READERS=64 TP_DELAYS="0 200"
fi
# shellcheck disable=SC2086 # one number a word
[ -n "$READERS_OPT" ] && READERS=$(printf '%s\n' 0 $READERS_OPT | sort -n -u | tr '\n' ' ')
# shellcheck disable=SC2086
[ -n "$DELAYS_OPT" ] && DELAYS=$(printf '%s\n' $DELAYS_OPT | tr '\n' ' ')
ROUNDS=${ROUNDS_OPT:-$ROUNDS}
BUDGET=${BUDGET_OPT:-$BUDGET}
need_count --rounds "$ROUNDS"
need_count --budget "$BUDGET"
need_count SAMPLE_TIMEOUT "$SAMPLE_TIMEOUT"
need_count PARK_TIMEOUT "$PARK_TIMEOUT"
need_count BENCH_S3_GATEWAY_PORT "$GW_PORT"
need_count BENCH_S3_MON_PORT "$MON_PORT"
case "$ATTR_TIMEOUT" in ''|*[!0-9]*) echo "--attr-timeout needs a number of seconds" >&2; exit 2 ;; esac
for d in $DELAYS; do
	need_count "a delay" "$d"
	[ "$d" -le 10000 ] || { echo "a delay is at most 10000 ms (the test knob's limit)" >&2; exit 2; }
done
# the throughput figure's added latencies: the ones of the run, and 0
TP_DELAYS=$(for d in $TP_DELAYS; do case " 0 $DELAYS " in *" $d "*) echo "$d" ;; esac; done | tr '\n' ' ')
[ "$DO_LOCAL" = 1 ] || [ "$DO_S3" = 1 ] || { echo "nothing to do: --no-local and --no-s3" >&2; exit 2; }
[ "$DO_S3" = 1 ] || DO_S3FS=0
NMAX=0
for n in $READERS; do [ "$n" -gt "$NMAX" ] && NMAX=$n; done

SMALL_BYTES=65536                 # the cached file
HOT_ENTRIES=10                    # its directory: it and 9 one-byte files
LOCAL_COLD_MB=1024                # each local cold file (sparse: no disk)
OBJ_MB=64                         # each S3 cold object of the readers
TP_MB=16                          # each S3 object of the throughput figure
# S3 readers each read their share of the objects one after the other: one
# each at N=256, 4 each at 64 (a reader gets far less than 64 MiB in a
# figure, even at 200 ms: the fetches of all readers share some 70 MB/s)
NOBJ=$((NMAX > 64 ? NMAX : 64))
BK=cdlat                          # the bucket
XATTR=user.clonedrive.state

require_root

# ---------------------------------------------------------------- tools
need_tools
require_cd_bin
command -v cc >/dev/null || apt_install gcc libc6-dev
if [ "$DO_S3" = 1 ]; then
	command -v curl >/dev/null || apt_install curl
	for t in ceph ceph-mon ceph-osd radosgw radosgw-admin; do
		command -v "$t" >/dev/null || { echo "no $t: run scripts/deps.sh (Ceph for tests/s3/server.sh), or --no-s3" >&2; exit 1; }
	done
fi
if [ "$DO_S3FS" = 1 ] && ! command -v s3fs >/dev/null; then
	apt_install s3fs || true
	command -v s3fs >/dev/null || { echo "s3fs is not installed and apt-get could not install it (or run with --no-s3fs)" >&2; exit 1; }
fi
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
PY_EXE=$(basename "$(readlink -f "$(command -v "$PY")")")
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in bench/ or tests/s3/
S3REQ=$REPO_DIR/tests/s3/s3req.py
S3UTIL=$SCRIPT_DIR/s3util.py
SERVER_SH=$REPO_DIR/tests/s3/server.sh

# ---------------------------------------------------------------- work dir
make_work cdlat
DATA=$WORK/data
mkdir -p "$DATA"

private_cd_bin
CD_SHA=$(sha256sum "$CD_BIN" | cut -c1-12)
log "clonedrive: $CD_SRC (sha256 $CD_SHA...), run from a copy in the work dir"

if ! cc -O2 -o "$WORK/bin/latprobe" "$SCRIPT_DIR/latprobe.c"; then
	echo "cannot compile bench/latprobe.c" >&2
	exit 1
fi
LATPROBE=$WORK/bin/latprobe

# ---------------------------------------------------------------- readers
declare -a READER_PIDS=()
SAMPLER=""

# stop_readers: kill the cold readers and the thread sampler, and wait until
# the readers are gone (a reader killed in a FUSE request ends when the
# daemon answers it: at most PARK_TIMEOUT s, then they are left). The
# readers are not this shell's children (start_readers): init reaps them.
stop_readers() {
	local p i left=0
	for p in "${READER_PIDS[@]}"; do
		reader_running "$p" && kill -KILL "$p" 2>/dev/null
	done
	stop_sampler >/dev/null
	# a killed reader has no exe link once its memory is gone, but it may
	# still be closing its files (a FUSE flush): it is gone once a zombie
	for ((i = 0; i < PARK_TIMEOUT * 10; i++)); do
		left=0
		for p in "${READER_PIDS[@]}"; do
			reader_running "$p" && left=$((left + 1))
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	[ "$left" = 0 ] || log "  $left reader(s) still in the kernel ${PARK_TIMEOUT}s after SIGKILL: left behind"
	READER_PIDS=()
}
# the readers go first, before lib.sh's clean-up unmounts and stops daemons
trap 'stop_readers; cleanup' EXIT

# reader_running PID: the reader exists, is not a zombie, and is a cat
reader_running() {
	local st="" comm=""
	read -r comm 2>/dev/null <"/proc/$1/comm" || return 1
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	[ "$comm" = cat ] && [ "${st%% *}" != Z ] && [ "${st%% *}" != X ]
}

# reader_states: "asleep alive" counts of the readers (asleep: state S or D)
reader_states() {
	local p st asleep=0 alive=0
	for p in "${READER_PIDS[@]}"; do
		st=""
		read -r st 2>/dev/null <"/proc/$p/stat" || continue
		st=${st##*) }
		st=${st%% *}
		case "$st" in
		Z|X) ;;
		S|D) asleep=$((asleep + 1)); alive=$((alive + 1)) ;;
		*) alive=$((alive + 1)) ;;
		esac
	done
	echo "$asleep $alive"
}

# wait_parked N: until all N readers have been asleep for 1 s (10 checks in a
# row); PARK_SECS = how long it took, or fails after PARK_TIMEOUT s
PARK_SECS=""
wait_parked() {
	local n=$1 t0=$EPOCHREALTIME ok=0 i s
	for ((i = 0; i < PARK_TIMEOUT * 10; i++)); do
		read -r -a s <<<"$(reader_states)"
		if [ "${s[0]}" = "$n" ]; then ok=$((ok + 1)); else ok=0; fi
		[ "${s[1]}" = "$n" ] || { PARK_SECS=$(secs_since "$t0"); return 1; }
		if [ "$ok" -ge 10 ]; then PARK_SECS=$(secs_since "$t0"); return 0; fi
		sleep 0.1
	done
	PARK_SECS=$(secs_since "$t0")
	return 1
}

# thread_sampler PID FILE: the peak of PID's thread count into FILE, sampled
# every 50 ms until killed or PID ends (builtins but sleep: no fork per look)
thread_sampler() {
	local pid=$1 out=$2 k v max=0
	while :; do
		while read -r k v; do
			if [ "$k" = Threads: ]; then
				[ "$v" -gt "$max" ] && { max=$v; echo "$max" >"$out"; }
				break
			fi
		done 2>/dev/null <"/proc/$pid/status" || break
		sleep 0.05
	done
}

# start_sampler PID NAME: THREADS_FILE gets the peak from now on
THREADS_FILE=""
start_sampler() {
	THREADS_FILE=$WORK/tmp/threads.$2
	rm -f "$THREADS_FILE"
	[ -n "$1" ] || return 0
	thread_sampler "$1" "$THREADS_FILE" 9>&- &
	SAMPLER=$!
}
stop_sampler() {
	if [ -n "$SAMPLER" ]; then
		kill -TERM "$SAMPLER" 2>/dev/null
		wait "$SAMPLER" 2>/dev/null
		SAMPLER=""
	fi
	[ -z "${THREADS_FILE:-}" ] || cat "$THREADS_FILE" 2>/dev/null
}

vmhwm_mib() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024; f = 1 } END { exit !f }' "/proc/$1/status" 2>/dev/null
}

# ---------------------------------------------------------------- data
# the local remote: cold files (sparse: what a reader fetches is zeros read
# at the disk's speed, then the delay), the hot directory
HOT_NAMES=$(printf 'small\n'; for ((i = 1; i < HOT_ENTRIES; i++)); do echo "x$i"; done)
random_file "$DATA/small" 1
truncate -s "$SMALL_BYTES" "$DATA/small"
if [ "$DO_LOCAL" = 1 ]; then
	log "local remote: $NMAX sparse cold files of $LOCAL_COLD_MB MiB, a hot dir of $HOT_ENTRIES files"
	mkdir -p "$REMOTE/cold" "$REMOTE/hot"
	for ((i = 0; i < NMAX; i++)); do truncate -s "${LOCAL_COLD_MB}M" "$REMOTE/cold/f$i"; done
	cp "$DATA/small" "$REMOTE/hot/small"
	for ((i = 1; i < HOT_ENTRIES; i++)); do echo x >"$REMOTE/hot/x$i"; done
	sync
fi

# ---------------------------------------------------------------- S3 server
S3DIR=$WORK/s3
SERVER_STARTED=0
declare -A PROXY_PORT=()
declare -a PROXY_PIDS=()
# lib.sh's clean-up removes the work dir, the server's state dir with it:
# once it has unmounted and stopped the subjects, it stops the proxies (by
# their pids) and the server (tests/s3/server.sh stop: its daemons by their
# pid files)
stop_server() {
	local p
	for p in "${PROXY_PIDS[@]}"; do
		pid_alive "$p" "$PY_EXE" && kill -TERM "$p" 2>/dev/null
		stop_pid "$p" "$PY_EXE" 5
	done
	if [ "$SERVER_STARTED" = 1 ]; then
		log "cleanup: stopping the S3 server"
		S3_STATE_DIR=$S3DIR timeout 120 bash "$SERVER_SH" stop >>"$WORK/log/server.out" 2>&1 9>&- ||
			log "cleanup: server.sh stop failed: $(tail -n 3 "$WORK/log/server.out" | tr '\n' ' ')"
	fi
}
# shellcheck disable=SC2034 # lib.sh's cleanup calls it
CLEANUP_HOOK=stop_server

s3r() { "$PY" "$S3REQ" "$@"; }
s3u() { "$PY" "$S3UTIL" "$@"; }

# start_proxy MS: bench/delayproxy.py in front of the gateway, MS later
start_proxy() {
	local ms=$1 pf=$WORK/tmp/proxy.$1.port pid i
	"$PY" "$SCRIPT_DIR/delayproxy.py" "$pf" 127.0.0.1 "$GW_PORT" "$ms" \
		</dev/null >>"$WORK/log/proxy.$ms.log" 2>&1 9>&- &
	pid=$!
	PROXY_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$pf" ] || { tail -n 5 "$WORK/log/proxy.$ms.log" >&2; echo "the delaying proxy ($ms ms) did not start" >&2; exit 1; }
	PROXY_PORT[$ms]=$(tr -dc 0-9 <"$pf")
	log "proxy: 127.0.0.1:${PROXY_PORT[$ms]} -> 127.0.0.1:$GW_PORT, $ms ms"
}

# endpoint MS: the URL of the gateway MS farther away
endpoint() {
	if [ "$1" = 0 ]; then echo "$ENDPOINT"; else echo "http://127.0.0.1:${PROXY_PORT[$1]}"; fi
}

if [ "$DO_S3" = 1 ]; then
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
	# shellcheck disable=SC1091
	. "$S3DIR/env"
	ENDPOINT=$CD_TEST_S3_ENDPOINT
	FRONTEND=$(sed -n 's/^rgw_frontends = //p' "$S3DIR/ceph.conf" | sed 's/ ssl_[^ ]*//g')
	RGW_V=$(radosgw --version 2>/dev/null | awk '{ print $3 }')
	log "server up: $ENDPOINT"
	for d in $DELAYS; do start_proxy "$d"; done

	log "bucket $BK: $NOBJ cold objects of $OBJ_MB MiB, $TP_READERS of $TP_MB MiB (one upload each, then server-side copies), a hot dir"
	random_file "$DATA/obj" "$OBJ_MB"
	random_file "$DATA/tpobj" "$TP_MB"
	t0=$EPOCHREALTIME
	{
		s3r mb "$BK" &&
		s3u fill "$BK" cold 0 &&
		s3u fill "$BK" tp 0 &&
		s3u fill "$BK" hot $((HOT_ENTRIES - 1)) &&
		s3u put "$BK" hot/small "$DATA/small" >/dev/null &&
		s3u put "$BK" cold/o0 "$DATA/obj" >/dev/null &&
		s3u put "$BK" tp/t0 "$DATA/tpobj" >/dev/null
	} 2>"$WORK/tmp/err.txt" || { cat "$WORK/tmp/err.txt" >&2; echo "cannot fill bucket $BK" >&2; exit 1; }
	# a copy in the same pool shares the source's data past its first 4 MiB
	# (RGW refcounts the tail), so the copies take little of the store's RAM
	{
		s3u copymany "$BK" cold/o0 cold/o 1 "$NOBJ" &&
		s3u copymany "$BK" tp/t0 tp/t 1 "$TP_READERS"
	} 2>"$WORK/tmp/err.txt" || { cat "$WORK/tmp/err.txt" >&2; echo "cannot copy the objects in $BK" >&2; exit 1; }
	n=$(s3u list "$BK" cold/ | sed -n 's/^keys=\([0-9]*\) .*/\1/p')
	[ "$n" = "$NOBJ" ] || { echo "$BK/cold/ lists $n keys, expected $NOBJ" >&2; exit 1; }
	n=$(s3u list "$BK" tp/ | sed -n 's/^keys=\([0-9]*\) .*/\1/p')
	[ "$n" = "$TP_READERS" ] || { echo "$BK/tp/ lists $n keys, expected $TP_READERS" >&2; exit 1; }
	# the hot dir of S3 is named like the local one: f0..f8 besides small
	HOT_NAMES_S3=$(printf 'small\n'; for ((i = 0; i < HOT_ENTRIES - 1; i++)); do echo "f$i"; done)
	log "  filled in $(secs_since "$t0")s"

	S3FS_PW=$WORK/tmp/passwd-s3fs
	( umask 077; echo "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" >"$S3FS_PW" )
	S3FS_V=""
	[ "$DO_S3FS" = 1 ] && S3FS_V=$(s3fs --version 2>/dev/null | head -n 1 | sed 's/ *(commit.*//')
fi

# ---------------------------------------------------------------- one figure
# cfg_mount CFG RUN: a fresh clonedrive mount for CFG (local-MS or s3-MS)
cfg_mount() {
	local cfg=$1 run=$2 ms=${1#*-}
	if [ "${cfg%%-*}" = local ]; then
		CLONEDRIVE_TEST_READ_DELAY_MS=$ms cd_mount "$cfg" "$run" --attr-timeout "$ATTR_TIMEOUT"
	else
		MOUNT_REMOTE=s3://$BK cd_mount "$cfg" "$run" --endpoint "$(endpoint "$ms")" --attr-timeout "$ATTR_TIMEOUT"
	fi
}

# start_readers CFG N: N background cats of cold files, each its own
start_readers() {
	local cfg=$1 n=$2 i j files
	READER_PIDS=()
	for ((i = 0; i < n; i++)); do
		if [ "${cfg%%-*}" = local ]; then
			files=("$MNT/cold/f$i")
		else
			# S3: the objects i, i+N, i+2N, ... one after the other
			files=()
			for ((j = i; j < NOBJ; j += n)); do files+=("$MNT/cold/o$j"); done
		fi
		# a grandchild, not a job of this shell: no "Killed" notices
		READER_PIDS+=("$(cat -- "${files[@]}" </dev/null >/dev/null 2>>"$WORK/log/readers.err" 9>&- & echo "$!")")
	done
}

# probe_parse FILE: "OP N TIMEOUTS P50 P99" lines (µs; a timeout counts as
# longer than any answer: 1e12), "error OP MESSAGE" lines, and the "#" line
probe_parse() {
	awk '
	/^#/ { print; next }
	$3 == "error" { $3 = ""; print "error", $0; next }
	{
		op = $1; n[op]++
		if ($3 == "timeout") { t[op]++; v[op, n[op]] = 1e12 } else v[op, n[op]] = $3 + 0
	}
	END {
		for (op in n) {
			m = n[op]
			for (i = 1; i <= m; i++) a[i] = v[op, i]
			# insertion sort: at most a few hundred samples
			for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
			r50 = int((m * 50 + 99) / 100); r99 = int((m * 99 + 99) / 100)
			printf "%s %d %d %s %s\n", op, m, t[op] + 0, a[r50], a[r99]
		}
	}' "$1"
}

# prepare CFG: read the small file once, list both directories (untimed);
# fails on any difference
prepare() {
	local cfg=$1 hot_names ncold c
	if [ "${cfg%%-*}" = local ]; then
		hot_names=$HOT_NAMES ncold=$NMAX
	else
		hot_names=$HOT_NAMES_S3 ncold=$NOBJ
	fi
	if ! op ls "$MNT/hot" >"$WORK/tmp/hot.txt" 2>"$WORK/tmp/err.txt"; then
		fail "$cfg: ls of the hot dir failed: $(head -c 200 "$WORK/tmp/err.txt")"
		return 1
	fi
	if ! sort "$WORK/tmp/hot.txt" | cmp -s - <(echo "$hot_names" | sort); then
		fail "$cfg: the hot dir lists: $(tr '\n' ' ' <"$WORK/tmp/hot.txt")"
		return 1
	fi
	if ! op cat "$MNT/hot/small" >"$WORK/tmp/small.out" 2>"$WORK/tmp/err.txt"; then
		fail "$cfg: cat of the small file failed: $(head -c 200 "$WORK/tmp/err.txt")"
		return 1
	fi
	if ! cmp -s "$WORK/tmp/small.out" "$DATA/small"; then
		fail "$cfg: the small file read differs from its data"
		return 1
	fi
	if ! op ls "$MNT/cold" >"$WORK/tmp/cold.txt" 2>"$WORK/tmp/err.txt"; then
		fail "$cfg: ls of the cold dir failed: $(head -c 200 "$WORK/tmp/err.txt")"
		return 1
	fi
	c=$(wc -l <"$WORK/tmp/cold.txt")
	if [ "$c" != "$ncold" ]; then
		fail "$cfg: the cold dir lists $c names, expected $ncold"
		return 1
	fi
	c=$(timeout 60 getfattr --only-values -n "$XATTR" "$MNT/hot/small" 2>/dev/null)
	[ "$c" = hydrated ] || odd "$cfg: $XATTR of the small file after reading it: '$c', not 'hydrated'"
	return 0
}

# figure CFG N RUN: one mount, N readers, the probe
figure() {
	local cfg=$1 n=$2 run=$3 name="$1.$2" out line op cnt to p50 p99 alive th hwm c f st
	log "$cfg, $n reader(s), run $run/$RUNS"
	if ! cfg_mount "$cfg" "$run"; then
		fail "$cfg N=$n: mount failed: $(tail -n 2 "$WORK/log/$cfg.$run.out" "$WORK/log/$cfg.$run.log" 2>/dev/null | tr '\n' ' ')"
		cd_unmount "$cfg" "$run"
		return 1
	fi
	th=$(awk '/^Threads:/ { print $2 }' "/proc/${DPID:-0}/status" 2>/dev/null)
	[ -n "$th" ] && add "$cfg/$n" threads0 "$th"
	if ! prepare "$cfg"; then
		cd_unmount "$cfg" "$run"
		return 1
	fi

	start_sampler "$DPID" "$name.$run"
	if [ "$n" -gt 0 ]; then
		: >"$WORK/log/readers.err"
		start_readers "$cfg" "$n"
		if wait_parked "$n"; then
			log "  $n readers waiting after ${PARK_SECS}s"
		else
			read -r -a st <<<"$(reader_states)"
			odd "$cfg N=$n run $run: after ${PARK_SECS}s, ${st[0]} of $n readers asleep, ${st[1]} alive; measured anyway"
		fi
	fi
	out=$WORK/log/probe.$name.$run
	timeout -k 10 $((BUDGET + SAMPLE_TIMEOUT * 4 + 120)) "$LATPROBE" -n "$ROUNDS" -t $((SAMPLE_TIMEOUT * 1000)) \
		-b $((BUDGET * 1000)) -i 20 -k 3 "$MNT/hot/small" "$SMALL_BYTES" "$MNT/hot" "$HOT_ENTRIES" "$XATTR" \
		>"$out" 2>"$WORK/tmp/err.txt" 9>&- || fail "$cfg N=$n: latprobe failed: $(head -c 200 "$WORK/tmp/err.txt")"
	read -r -a st <<<"$(reader_states)"
	alive=${st[1]}
	th=$(stop_sampler)
	hwm=$(vmhwm_mib "${DPID:-0}")
	stop_readers
	cd_unmount "$cfg" "$run"
	c=$(daemon_complaints "$WORK/log/$cfg.$run.out" "$WORK/log/$cfg.$run.log")
	[ -z "$c" ] || odd "$cfg N=$n run $run: the daemon logged: $c"
	# the logs of a mount are per run and config: keep this figure's apart
	for f in out log; do
		[ -f "$WORK/log/$cfg.$run.$f" ] && mv "$WORK/log/$cfg.$run.$f" "$WORK/log/$name.$run.$f"
	done

	[ -n "$th" ] && add "$cfg/$n" threads "$th"
	[ -n "$hwm" ] && add "$cfg/$n" rss "$hwm"
	if [ "$n" -gt 0 ]; then
		add "$cfg/$n" alive "$alive"
		[ "$alive" = "$n" ] || odd "$cfg N=$n run $run: only $alive of $n readers still reading at the end of the measurement"
	fi
	while read -r line; do
		case "$line" in
		'#'*)
			add "$cfg/$n" secs "$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$line")"
			add "$cfg/$n" stopped "$(sed -n 's/.*stopped=\([a-z]*\).*/\1/p' <<<"$line")" ;;
		error*) fail "$cfg N=$n: ${line#error }" ;;
		*)
			read -r op cnt to p50 p99 <<<"$line"
			add "$cfg/$n" "$op.n" "$cnt"
			add "$cfg/$n" "$op.to" "$to"
			add "$cfg/$n" "$op.p50" "$p50"
			add "$cfg/$n" "$op.p99" "$p99"
			log "  $op: $cnt samples, $to timeouts, p50 / p99 (ms): $(fmt_ms "$p50") / $(fmt_ms "$p99")" ;;
		esac
	done < <(probe_parse "$out")
	log "  threads at mount $(allvals "$cfg/$n" threads0 | awk '{ print $NF }'), peak ${th:-n/a}; VmHWM ${hwm:-n/a} MiB"
}

# ---------------------------------------------------------------- throughput
# tp_mount SUBJ MS RUN: a fresh mount of the bucket MS away; sets MNT, DPID
tp_mount() {
	local subj=$1 ms=$2 run=$3 name="tp-$1-$2"
	if [ "$subj" = clonedrive ]; then
		MOUNT_REMOTE=s3://$BK cd_mount "$name" "$run" --endpoint "$(endpoint "$ms")" && return 0
		fail "clonedrive: mount of s3://$BK failed ($name, run $run): $(tail -n 2 "$WORK/log/$name.$run.out" "$WORK/log/$name.$run.log" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	s3fs_mount "$BK" "url=$(endpoint "$ms"),use_path_request_style,passwd_file=$S3FS_PW" \
		"$name" "$run"
}

tp_unmount() {
	local subj=$1 ms=$2 run=$3 name="tp-$1-$2" p
	if [ "$subj" = clonedrive ]; then
		cd_unmount "$name" "$run"
		p=$(daemon_complaints "$WORK/log/$name.$run.out" "$WORK/log/$name.$run.log")
	else
		s3fs_unmount "$name" "$run"
		p=$COMPLAINTS
	fi
	[ -z "$p" ] || odd "$subj, $name, run $run: the daemon logged: $p"
	DPID=""
}

# throughput SUBJ MS RUN: TP_READERS parallel dd's of as many cold objects
throughput() {
	local subj=$1 ms=$2 run=$3 i t0 secs bad=0 b pids=() th out
	log "throughput: $subj, $ms ms, $TP_READERS readers, run $run/$RUNS"
	tp_mount "$subj" "$ms" "$run" || { tp_unmount "$subj" "$ms" "$run"; return 1; }
	# the listing first (untimed): the figure is the data
	op ls "$MNT/tp" >/dev/null 2>&1 || fail "$subj $ms ms: ls of the tp dir failed"
	drop_caches
	start_sampler "$DPID" "tp-$subj-$ms.$run"
	t0=$EPOCHREALTIME
	for ((i = 0; i < TP_READERS; i++)); do
		timeout -k 10 "$OP_TIMEOUT" dd if="$MNT/tp/t$i" of=/dev/null bs=1M 2>"$WORK/tmp/tp.$i" 9>&- &
		pids+=("$!")
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || bad=$((bad + 1)); done
	secs=$(secs_since "$t0")
	th=$(stop_sampler)
	for ((i = 0; i < TP_READERS; i++)); do
		b=$(awk '/ bytes / && $1 ~ /^[0-9]+$/ { b = $1 } END { print b + 0 }' "$WORK/tmp/tp.$i")
		[ "$b" = $((TP_MB * 1048576)) ] || { bad=$((bad + 1)); out=$(tail -n 1 "$WORK/tmp/tp.$i"); }
	done
	if [ "$bad" != 0 ]; then
		fail "$subj $ms ms: $bad of $TP_READERS readers failed or read short: ${out:-a dd failed}"
	else
		add "tp-$subj" "$ms" "$(mbps $((TP_READERS * TP_MB * 1048576)) "$secs")"
		[ -n "$th" ] && add "tp-$subj" "$ms.threads" "$th"
		log "  $(mbps $((TP_READERS * TP_MB * 1048576)) "$secs") MB/s (${secs}s), peak threads ${th:-n/a}"
		# the data: one object against its source (untimed)
		out=$(differs "$MNT/tp/t$((TP_READERS - 1))" "$DATA/tpobj") &&
			fail "$subj $ms ms: tp/t$((TP_READERS - 1)) read through the mount differs from its data: $out"
	fi
	tp_unmount "$subj" "$ms" "$run"
}

# ---------------------------------------------------------------- formats
# fmt_ms USEC: milliseconds, 2 significant digits or more; a timeout as such
fmt_ms() {
	awk -v v="$1" -v t="$SAMPLE_TIMEOUT" 'BEGIN {
		if (v == "" || v == "n/a") { print "n/a"; exit }
		if (v >= 1e12) { printf "> %d s", t; exit }
		ms = v / 1000
		if (ms < 1) printf "%.2f", ms; else if (ms < 10) printf "%.1f", ms; else printf "%.0f", ms }'
}

# ---------------------------------------------------------------- runs
CFGS=()
if [ "$DO_LOCAL" = 1 ]; then for d in $DELAYS; do CFGS+=("local-$d"); done; fi
if [ "$DO_S3" = 1 ]; then for d in $DELAYS; do CFGS+=("s3-$d"); done; fi

T_START=$SECONDS
for cfg in "${CFGS[@]}"; do
	for n in $READERS; do
		for ((run = 1; run <= RUNS; run++)); do
			figure "$cfg" "$n" "$run"
		done
	done
done
if [ "$DO_S3" = 1 ]; then
	for ms in $TP_DELAYS; do
		for ((run = 1; run <= RUNS; run++)); do
			throughput clonedrive "$ms" "$run"
			[ "$DO_S3FS" = 1 ] && throughput s3fs "$ms" "$run"
		done
	done
fi
T_TOTAL=$((SECONDS - T_START))

# ---------------------------------------------------------------- report
OPS=(stat cat ls getxattr)

# cell_pct CFG N OP: "p50 / p99"
cell_pct() {
	local a b
	a=$(median "$1/$2" "$3.p50") || { echo "n/a"; return; }
	b=$(median "$1/$2" "$3.p99") || { echo "n/a"; return; }
	echo "$(fmt_ms "$a") / $(fmt_ms "$b")"
}

# idle_ratio CFG N OP: p99 at N against p99 with no reader ("> X" if a timeout)
idle_ratio() {
	local a b
	a=$(median "$1/$2" "$3.p99") || { echo "n/a"; return; }
	b=$(median "$1/0" "$3.p99") || { echo "n/a"; return; }
	awk -v a="$a" -v b="$b" -v t="$SAMPLE_TIMEOUT" 'BEGIN {
		if (b <= 0 || b >= 1e12) { print "n/a"; exit }
		if (a >= 1e12) { printf "> %.0f", t * 1e6 / b; exit }
		r = a / b; if (r < 10) printf "%.1f", r; else printf "%.0f", r }'
}

# samples CFG N: "M" if every op has M samples and no timeout, else per op
samples() {
	local op nn to all="" same=1 first="" tos="" anyto=0
	for op in "${OPS[@]}"; do
		nn=$(median "$1/$2" "$op.n") || nn=0
		to=$(median "$1/$2" "$op.to") || to=0
		nn=${nn%.*} to=${to%.*}
		[ -z "$first" ] && first=$nn
		[ "$nn" = "$first" ] || same=0
		[ "$to" = 0 ] || anyto=1
		all+="${all:+/}$nn"
		tos+="${tos:+/}$to"
	done
	if [ "$same" = 1 ] && [ "$anyto" = 0 ]; then echo "$first"; else echo "$all ($tos timeouts)"; fi
}

cfg_label() {
	if [ "${1%%-*}" = local ]; then echo "local remote, ${1#*-} ms"; else echo "S3, ${1#*-} ms"; fi
}

cfg_title() {
	local ms=${1#*-}
	if [ "${1%%-*}" = local ]; then
		echo "Local remote, every remote read $ms ms slower (\`CLONEDRIVE_TEST_READ_DELAY_MS=$ms\`)"
	else
		echo "S3 (RGW), every request $ms ms slower (through \`bench/delayproxy.py\`)"
	fi
}

CD_V="$(cd_name "$CD_SRC") @ $(cd_rev) (sha256 $CD_SHA...)"

report() {
	local cfg n op line worst w r th0 thb
	{
	report_head "latency" "the local remote's sparse files and the cache dirs on it"
	echo "- clonedrive: $CD_V, every figure on a fresh mount with an empty cache dir and \`--attr-timeout $ATTR_TIMEOUT\`"
	if [ "$DO_S3" = 1 ]; then
		echo "- S3 server: Ceph RADOS Gateway $RGW_V, one memstore OSD (data in RAM), \`tests/s3/server.sh\` on 127.0.0.1:$GW_PORT"
		echo "  (\`$FRONTEND\`), reached through \`bench/delayproxy.py\` for the added latencies"
	fi
	echo "- probe: \`bench/latprobe.c\`, up to $ROUNDS samples of each operation per figure, one child process per sample"
	echo "  (its own clock around the system calls), ${SAMPLE_TIMEOUT} s timeout per sample, ${BUDGET} s of sampling per figure at most"
	echo "- total time of the figures: $((T_TOTAL / 60)) min $((T_TOTAL % 60)) s"
	for cfg in "${CFGS[@]}"; do
		echo
		echo "### $(cfg_title "$cfg")"
		echo
		echo "| cold readers | \`stat\` p50 / p99 (ms) | × idle | \`cat\` | × idle | \`ls -l\` | × idle | getxattr | × idle | samples | daemon threads: at mount / peak | VmHWM (MiB) | readers at the end |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
		for n in $READERS; do
			line="| $n"
			for op in "${OPS[@]}"; do
				line+=" | $(cell_pct "$cfg" "$n" "$op") | $(idle_ratio "$cfg" "$n" "$op")"
			done
			line+=" | $(samples "$cfg" "$n") | $(val "$cfg/$n" threads0 "%d") / $(val "$cfg/$n" threads "%d") | $(val "$cfg/$n" rss "%.1f")"
			if [ "$n" = 0 ]; then line+=" | —"; else line+=" | $(val "$cfg/$n" alive "%d")/$n"; fi
			echo "$line |"
		done
	done
	echo
	echo "× idle: the p99 against the p99 with no reader waiting (lower is better; the goal: at most 2 with $NMAX readers)."
	echo "Samples: per operation (stat/cat/ls -l/getxattr) where they differ; an operation stops after 3 timeouts,"
	echo "and sampling after ${BUDGET} s. A timeout counts as longer than any answer in the percentiles (\"> ${SAMPLE_TIMEOUT} s\")."
	echo "Readers at the end: how many were still reading (waiting on the remote) when the samples were taken."
	echo "Threads: at mount, right after the mount; peak, of \`Threads:\` in \`/proc/PID/status\` sampled every 50 ms from"
	echo "before the readers start to the last sample. A daemon whose requests each hold a libfuse worker meets libfuse's cap"
	echo "on workers (10 by default in 3.14) instead of growing: then the latencies, not the threads, show the waiting."
	echo
	echo "### Goal"
	echo
	echo "| remote | worst p99 × idle with $NMAX readers | daemon threads: at mount; peak idle → with $NMAX readers | p99 within 2× of idle | no growth of threads |"
	echo "|---|---:|---:|---|---|"
	for cfg in "${CFGS[@]}"; do
		worst="" w=""
		for op in "${OPS[@]}"; do
			r=$(idle_ratio "$cfg" "$NMAX" "$op")
			case "$r" in n/a) continue ;; esac
			if [ -z "$worst" ] || awk -v a="${r#> }" -v b="${worst#> }" 'BEGIN { exit !(a > b) }'; then
				worst=$r w=$op
			fi
		done
		th0=$(val "$cfg/0" threads "%d")
		thb=$(val "$cfg/$NMAX" threads "%d")
		line="| $(cfg_label "$cfg") | ${worst:-n/a}${w:+ ($w)} | $(val "$cfg/0" threads0 "%d"); $th0 → $thb"
		if [ -z "$worst" ]; then line+=" | n/a"
		elif awk -v a="${worst#> }" 'BEGIN { exit !(a <= 2) }' && [ "${worst#> }" = "$worst" ]; then line+=" | yes"
		else line+=" | no"; fi
		if [ "$th0" = n/a ] || [ "$thb" = n/a ]; then line+=" | n/a"
		elif [ "$thb" -le "$th0" ]; then line+=" | yes"
		else line+=" | no (+$((thb - th0)))"; fi
		echo "$line |"
	done
	if [ "$DO_S3" = 1 ]; then
		echo
		echo "### Cold-read throughput over S3: $TP_READERS parallel readers"
		echo
		echo "$TP_READERS \`dd bs=1M\` in parallel, each of a different cold object of $TP_MB MiB ($((TP_READERS * TP_MB)) MiB in all), on a fresh mount,"
		echo "the page cache dropped before; MB/s = 10^6 bytes/s over the time until the last one ends. s3fs $S3FS_V reads the same"
		echo "bucket (\`s3fs $BK MNT -f -o url=URL,use_path_request_style,passwd_file=FILE\`, its default mode: no local cache)."
		echo
		echo "| added latency | clonedrive (MB/s) | s3fs (MB/s) | clonedrive / s3fs | clonedrive threads, peak | s3fs threads, peak |"
		echo "|---|---:|---:|---:|---:|---:|"
		for ms in $TP_DELAYS; do
			line="| $ms ms$([ "$ms" = 0 ] && echo " (the gateway itself)" || echo " (through the proxy)")"
			line+=" | $(val tp-clonedrive "$ms" "%.0f")"
			if [ "$DO_S3FS" = 1 ]; then
				line+=" | $(val tp-s3fs "$ms" "%.0f")"
				line+=" | $(r=$(median tp-clonedrive "$ms") && w=$(median tp-s3fs "$ms") && awk -v a="$r" -v b="$w" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }' || echo n/a)"
			else
				line+=" | — | —"
			fi
			line+=" | $(val tp-clonedrive "$ms.threads" "%d") | $([ "$DO_S3FS" = 1 ] && val tp-s3fs "$ms.threads" "%d" || echo —)"
			echo "$line |"
		done
	fi
	echo
	echo "How: per remote, delay and number N of cold readers, a fresh mount; the small file (${SMALL_BYTES} bytes, in a dir of"
	echo "$HOT_ENTRIES files) read once and the dirs listed; N \`cat\`s of cold files started in the background (local: a sparse"
	echo "${LOCAL_COLD_MB} MiB file each; S3: objects of $OBJ_MB MiB, reader i reading i, i+N, i+2N, ... of $NOBJ); once all of them have"
	echo "been asleep in the kernel for 1 s, the probe's rounds: \`stat\` = stat(2) of the small file; \`cat\` = open, read to the"
	echo "end, close; \`ls -l\` = lstat of its dir, readdir, lstat of each of the $HOT_ENTRIES entries; getxattr = \`$XATTR\` of it;"
	echo "20 ms between rounds. Then the readers are killed and the mount unmounted. VmHWM: of the daemon, before the unmount."
	echo "\`--attr-timeout $ATTR_TIMEOUT\`$([ "$ATTR_TIMEOUT" = 0 ] && echo ": every operation asks the daemon (with the default 3600 s a stat of a file looked up before is answered by the kernel).")"
	echo "— = not applicable, n/a = failed or unavailable."
	report_problems
	} | sed -e "s|$WORK|WORK|g" -e "s|$REPO_DIR/||g"
}

finish
