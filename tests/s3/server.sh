#!/usr/bin/env bash
#
# tests/s3/server.sh COMMAND: a throw-away S3 server for the tests, a
# single-node Ceph cluster with a RADOS Gateway on loopback (Debian's
# ceph-mon, ceph-osd and radosgw, installed by scripts/deps.sh).
#
#   start            mon + one memstore OSD (data in RAM) + radosgw, cephx
#                    off; waits until the gateway answers a signed request
#                    of the test user; writes $S3_STATE_DIR/env
#   stop             stops the daemons (by their pid files: TERM, then KILL
#                    after 10 s) and removes what start created
#   env              prints $S3_STATE_DIR/env
#   status           one line per daemon; exit 0 if all three run
#   stop-gateway     stops radosgw only (the server "goes away")
#   start-gateway    starts radosgw again and waits until it answers (does
#                    nothing if it runs)
#   restart-gateway  stop-gateway, then start-gateway
#
# Environment:
#   S3_STATE_DIR     (required) where all state, logs, pid files and sockets
#                    go; must not exist or be empty for start
#   S3_GATEWAY_PORT  gateway HTTP port on 127.0.0.1 (default 7481)
#   S3_GATEWAY_TLS_PORT
#                    gateway HTTPS port on 127.0.0.1 (default: the HTTP
#                    port + 1), with a self-signed certificate for
#                    localhost and 127.0.0.1 made at start
#   S3_MON_PORT      monitor port on 127.0.0.1 (default 3301)
#
# The env file sets CD_TEST_S3_ENDPOINT, CD_TEST_S3_TLS_ENDPOINT (https,
# localhost), CD_TEST_S3_CA (the certificate to trust for it),
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and
# CD_TEST_S3_STATE. The user's keys are
# fixed: nothing here is secret. Only the user is created, no bucket.
# Every command but env needs root. A failed start stops what it started
# and prints the tail of the log of the step that failed.
#
set -euo pipefail

ACCESS_KEY=clonedrive-test-key
SECRET_KEY=clonedrive-test-secret
REGION=us-east-1

here=$(cd "$(dirname "$0")" && pwd)
t0=$(date +%s%N)

usage()
{
	sed -n '3,30s/^# \{0,1\}//p' "$0"
}

# say MSG: MSG with the time since the script started.
say()
{
	local ms=$((($(date +%s%N) - t0) / 1000000))
	printf 'server.sh: [%3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"
}

# die MSG: fail with MSG (said last by start_failed if it is the EXIT trap).
die()
{
	failure=$*
	[ -n "${cmd:-}" ] || echo "server.sh: $*" >&2
	exit 1
}

# --- daemons -----------------------------------------------------------------

# pid_of NAME: the pid in NAME's pid file if that process runs the
# daemon's binary (a stale pid file may name a reused pid); else fails.
pid_of()
{
	local name=$1 pid exe
	pid=$(head -n1 "$dir/run/$name.pid" 2>/dev/null | tr -dc 0-9) ||
		return 1
	[ -n "$pid" ] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	case ${exe##*/} in
	ceph-mon) [[ $name == mon.* ]] ;;
	ceph-osd) [[ $name == osd.* ]] ;;
	radosgw*) [[ $name == client.rgw.* ]] ;;
	*) return 1 ;;
	esac && echo "$pid"
}

# now_us: microseconds since the epoch, in $now (no fork).
now_us()
{
	now=${EPOCHREALTIME//[!0-9]/}
}

# any_alive PID...: one of them exists and is not a zombie.
any_alive()
{
	local pid st
	for pid in "$@"; do
		st=''
		read -r st 2>/dev/null <"/proc/$pid/stat" || continue
		st=${st##*) }
		[ "${st%% *}" = Z ] || return 0
	done
	return 1
}

# stop_daemons NAME...: TERM each, wait up to 10 s for all of them, then
# KILL those left; removes their pid files.
stop_daemons()
{
	local name pid i now end names=() pids=()
	for name in "$@"; do
		if pid=$(pid_of "$name"); then
			kill -TERM "$pid" 2>/dev/null || true
			names+=("$name")
			pids+=("$pid")
		fi
		rm -f "$dir/run/$name.pid"
	done
	now_us
	end=$((now + 10000000))
	while any_alive "${pids[@]}" && now_us && [ "$now" -lt "$end" ]; do
		sleep 0.05
	done
	for i in "${!pids[@]}"; do
		if any_alive "${pids[i]}"; then
			echo "server.sh: ${names[i]} (${pids[i]})" \
				"ignored SIGTERM; SIGKILL" >&2
			kill -KILL "${pids[i]}" 2>/dev/null || true
		fi
		say "stopped ${names[i]} (${pids[i]})"
	done
}

# spawn NAME CMD...: run a daemon that forks into the background, in a
# session of its own (so that a test's process-group kill does not reach
# it), with no descriptor of ours (a lock held by the caller, a pipe of the
# test runner) and its output in log/NAME.out; waits for its pid file.
spawn()
{
	local name=$1 fd now end rc=0
	shift
	started=("$name" "${started[@]}")
	(
		for fd in "/proc/$BASHPID/fd"/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-"
		done
		exec setsid "$@" </dev/null >>"$dir/log/$name.out" 2>&1
	) || rc=$?
	[ $rc -eq 0 ] || die "$name: $1 exited $rc (output in log/$name.out)"
	now_us
	end=$((now + 10000000))
	until pid_of "$name" >/dev/null; do
		now_us
		[ "$now" -lt "$end" ] || die "$name: no pid file after 10 s"
		sleep 0.1
	done
}

# answers: the gateway answers HTTP.
answers()
{
	curl -s -o /dev/null --max-time 2 "$endpoint/"
}

# start_gateway: spawn radosgw and wait until it answers (60 s).
start_gateway()
{
	local now end
	step_log=$dir/log/client.rgw.a.log
	say "start radosgw"
	spawn client.rgw.a radosgw -c "$conf" -n client.rgw.a
	now_us
	end=$((now + 60000000))
	until answers; do
		pid_of client.rgw.a >/dev/null || die "radosgw exited"
		now_us
		[ "$now" -lt "$end" ] ||
			die "radosgw does not answer on $endpoint after 60 s"
		sleep 0.1
	done
	say "radosgw answers on $endpoint"
}

# --- start -------------------------------------------------------------------

# port_busy PORT: something listens on 127.0.0.1:PORT.
port_busy()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# EXIT trap of the commands that start daemons: on failure, stop those
# this run started, show the log of the step that failed, and say why last.
start_failed()
{
	local rc=$? name
	[ $rc -ne 0 ] || return 0
	set +eE
	if [ -f "$step_log" ]; then
		echo "--- last 30 lines of $step_log ---" >&2
		tail -n 30 "$step_log" >&2
	fi
	for name in "${started[@]}"; do
		if [ -s "$dir/log/$name.out" ]; then
			echo "--- last lines of $dir/log/$name.out ---" >&2
			tail -n 10 "$dir/log/$name.out" >&2
		fi
	done
	if [ ${#started[@]} -gt 0 ]; then
		echo "server.sh: stopping what $cmd started" >&2
		stop_daemons "${started[@]}" >&2
	fi
	[ ! -d "$dir/log" ] || echo "server.sh: logs in $dir/log" >&2
	echo "server.sh: $cmd failed: ${failure:-exit $rc}" >&2
	exit $rc
}

write_conf()
{
	cat >"$conf" <<EOF
# written by tests/s3/server.sh start
[global]
fsid = $1
mon_host = v2:127.0.0.1:$mon_port
ms_bind_msgr1 = false
ms_bind_ipv6 = false
# the OSD binds 0.0.0.0 otherwise
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
log_to_file = true
log_to_stderr = false
err_to_stderr = true
crash_dir = $dir/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 1
mon_data_avail_crit = 0
client_mount_timeout = 30

[mon]
mon_data = $dir/mon/\$id
# propose map changes at once: the default 1 s per proposal makes the
# gateway's start (which creates its pools) take 10 s
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
mon_cluster_log_file = $dir/log/cluster.log

[osd]
osd_data = $dir/osd/\$id
osd_objectstore = memstore
# memstore keeps objects in RAM; this is only the size it reports
memstore_device_bytes = 8589934592

[client.rgw.a]
# radosgw's built-in defaults ask for cephx and secure mode: undo that
auth_client_required = none
ms_mon_client_mode = crc
# beast answers in two writes; with Nagle on, the second waits for the
# client's delayed ACK (40 ms) on every request of a reused connection
rgw_frontends = beast endpoint=127.0.0.1:$gw_port ssl_endpoint=127.0.0.1:$tls_port ssl_certificate=$dir/tls/cert.pem ssl_private_key=$dir/tls/key.pem tcp_nodelay=1
rgw_data = $dir/rgw
# virtual-host requests (http://BUCKET.localhost:PORT/KEY; curl resolves
# *.localhost to the loopback itself), beside path-style ones
rgw_dns_name = localhost
rgw_enable_usage_log = false
# no lifecycle workers: they sleep 5 s at a time, and a stopping gateway
# waits for them
rgw_enable_lc_threads = false
# collect the data of deleted and overwritten objects after 30 s, not 2 h:
# with memstore it is RAM
rgw_gc_obj_min_wait = 30
rgw_gc_processor_period = 30
EOF
}

cmd_start()
{
	local fsid osd_uuid osd_id out python now end i

	gw_port=${S3_GATEWAY_PORT:-7481}
	tls_port=${S3_GATEWAY_TLS_PORT:-$((gw_port + 1))}
	mon_port=${S3_MON_PORT:-3301}
	endpoint=http://127.0.0.1:$gw_port
	for i in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool \
		uuidgen curl python3 setsid openssl; do
		command -v $i >/dev/null || die "no $i: run scripts/deps.sh"
	done
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
		die "$dir is not empty (a server there? stop it first)"
	fi
	# Unix sockets (the admin sockets) take at most 107 bytes of path.
	[ ${#dir} -le 70 ] || die "S3_STATE_DIR too long for Ceph's sockets"
	! port_busy "$gw_port" ||
		die "127.0.0.1:$gw_port is in use (S3_GATEWAY_PORT)"
	! port_busy "$tls_port" ||
		die "127.0.0.1:$tls_port is in use (S3_GATEWAY_TLS_PORT)"
	! port_busy "$mon_port" ||
		die "127.0.0.1:$mon_port is in use (S3_MON_PORT)"

	mkdir -p "$dir"/{run,log,mon/a,osd/0,rgw,crash,tls}
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" \
		>"$dir/log/openssl.out" 2>&1 ||
		die "openssl could not make a certificate: $(tail -n 3 "$dir/log/openssl.out")"
	chmod 600 "$dir/tls/key.pem"
	python=python3
	[ ! -x /usr/bin/python3 ] || python=/usr/bin/python3
	fsid=$(uuidgen)
	write_conf "$fsid"

	step_log=$dir/log/mon.a.log
	say "start mon on 127.0.0.1:$mon_port"
	monmaptool --create --fsid "$fsid" \
		--addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
	ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" \
		>>"$dir/log/mon.a.out" 2>&1
	spawn mon.a ceph-mon -c "$conf" -i a

	step_log=$dir/log/osd.0.log
	say "create osd.0 (memstore)"
	osd_uuid=$(uuidgen)
	osd_id=$(timeout 60 ceph -c "$conf" osd new "$osd_uuid")
	[ "$osd_id" = 0 ] || die "ceph osd new gave id '$osd_id', not 0"
	ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
		>>"$dir/log/osd.0.out" 2>&1
	spawn osd.0 ceph-osd -c "$conf" -i 0
	now_us
	end=$((now + 60000000))
	while :; do
		out=$(timeout 10 ceph -c "$conf" osd dump 2>/dev/null) || out=''
		if grep -q '^osd\.0 up' <<<"$out"; then
			break
		fi
		pid_of osd.0 >/dev/null || die "ceph-osd exited"
		now_us
		[ "$now" -lt "$end" ] || die "osd.0 not up after 60 s"
		sleep 0.25
	done
	say "osd.0 up"

	start_gateway

	step_log=$dir/log/client.rgw.a.log
	radosgw-admin -c "$conf" -n client.rgw.a user create --uid=tester \
		--display-name=tester --access-key="$ACCESS_KEY" \
		--secret-key="$SECRET_KEY" >"$dir/log/user-create.out" 2>&1 ||
		die "radosgw-admin user create failed:" \
			"$(tail -n 3 "$dir/log/user-create.out")"
	cat >"$dir/env" <<EOF
export CD_TEST_S3_ENDPOINT=$endpoint
export CD_TEST_S3_TLS_ENDPOINT=https://localhost:$tls_port
export CD_TEST_S3_CA=$dir/tls/cert.pem
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$REGION
export CD_TEST_S3_STATE=$dir
EOF
	# The test user's first signed request (and so the keys) work.
	(. "$dir/env" && "$python" "$here/s3req.py" ping) ||
		die "the gateway refuses the test user's signed request"
	say "user created; env in $dir/env"
	say "started in $(elapsed)"
	cat "$dir/env"
}

# --- the other commands ------------------------------------------------------

elapsed()
{
	local t=$((($(date +%s%N) - t0) / 100000000))
	echo "$((t / 10)).$((t % 10))s"
}

# Read the endpoint of a started server (for the gateway commands).
load_env()
{
	[ -f "$dir/env" ] || die "no server in $dir (no env file)"
	endpoint=$(sed -n 's/^export CD_TEST_S3_ENDPOINT=//p' "$dir/env")
	[ -n "$endpoint" ] || die "$dir/env has no CD_TEST_S3_ENDPOINT"
}

# lock: serialize the commands that start or stop daemons of one server.
lock_fd=''
lock()
{
	[ -z "$lock_fd" ] || return 0
	exec {lock_fd}>>"$dir/run/server.lock"
	flock "$lock_fd"
}

cmd_stop()
{
	if [ ! -d "$dir/run" ]; then
		rmdir "$dir" 2>/dev/null || true
		say "nothing to stop in $dir"
		return 0
	fi
	lock
	# The gateway first: it shuts down slowly or not at all without RADOS.
	stop_daemons client.rgw.a
	stop_daemons osd.0 mon.a
	# Only what start made: S3_STATE_DIR may be a directory of the caller's.
	rm -rf --one-file-system "$dir"/{run,log,mon,osd,rgw,crash,tls} \
		"$dir"/{ceph.conf,monmap,env,cases.lock}
	rmdir "$dir" 2>/dev/null || say "$dir kept: it holds files of others"
	say "stopped in $(elapsed)"
}

cmd_status()
{
	local name pid rc=0
	for name in mon.a osd.0 client.rgw.a; do
		if pid=$(pid_of "$name"); then
			echo "$name running ($pid)"
		else
			echo "$name not running"
			rc=1
		fi
	done
	return $rc
}

cmd_stop_gateway()
{
	load_env
	lock
	stop_daemons client.rgw.a
}

cmd_start_gateway()
{
	local pid
	load_env
	lock
	if ! pid_of mon.a >/dev/null || ! pid_of osd.0 >/dev/null; then
		die "mon or osd not running in $dir: start the server anew"
	fi
	if pid=$(pid_of client.rgw.a); then
		say "radosgw already running ($pid)"
		return 0
	fi
	start_gateway
	say "gateway started in $(elapsed)"
}

cmd_restart_gateway()
{
	cmd_stop_gateway
	cmd_start_gateway
}

# --- main --------------------------------------------------------------------

[ $# -eq 1 ] || { usage >&2; exit 2; }
case $1 in
-h|--help) usage; exit 0 ;;
esac
[ -n "${S3_STATE_DIR:-}" ] ||
	die "S3_STATE_DIR is not set (the server's own directory)"
dir=$(realpath -m -- "$S3_STATE_DIR")
conf=$dir/ceph.conf
case $1 in
env)
	[ -f "$dir/env" ] || die "no $dir/env: no server started there"
	cat "$dir/env"
	;;
stop|status|stop-gateway)
	[ "$(id -u)" -eq 0 ] || die "$1: needs root"
	"cmd_${1//-/_}"
	;;
start|start-gateway|restart-gateway)
	[ "$(id -u)" -eq 0 ] || die "$1: needs root"
	cmd=$1
	started=()	# daemons this run started, newest first
	step_log=''	# the log to show if this run fails
	failure=''	# why it failed
	set -E
	trap 'failure=${failure:-"exit $?: $BASH_COMMAND"}' ERR
	trap start_failed EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	"cmd_${1//-/_}"
	;;
*) usage >&2; exit 2 ;;
esac
