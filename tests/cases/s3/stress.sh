#!/usr/bin/env bash
# The model-checking stress tester (tests/stress/stress.py) on an S3
# bucket: random operations from three workers; the mount and the bucket
# (listed and read with tests/s3/s3req.py) must match the model after
# every sync. The tester can also kill the daemon, fill the cache disk and
# stop the gateway (see args below).
# Takes the S3 server to itself (it stops the gateway). CD_STRESS_SEED=N
# replays a seed; CD_STRESS_ARGS adds options (e.g. --keep-going).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

dur=${CD_STRESS_DURATION:-60}
if is_sanitized; then
	dur=${CD_STRESS_DURATION:-25}
fi
seed=${CD_STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# the gateway goes away: wait until no other s3 case runs, as s3_gateway
# does (its EXIT trap starts a gateway left stopped: $T/s3-gateway-down)
if [ "$CD_S3_EXCLUSIVE" = 0 ]; then
	flock -n -x "$CD_S3_LOCK_FD" || {
		echo "waiting until no other s3 case runs"
		flock -x "$CD_S3_LOCK_FD"
	}
	CD_S3_EXCLUSIVE=1
fi

CD_MOUNTS+=("$T/stress/mnt")
cd_track_mount "$T/stress/cachefs"

# What the suite runs: random operations from three workers, mmap writes
# and symlinks among them, with syncs and compares of the mount, the
# remote and the model. Kills, ENOSPC rounds and outages are off here
# until the bugs the tester finds with them are fixed (the open ones are
# listed in tests/stress/README.md); CD_STRESS_ARGS= (set and empty) runs
# them all, as a soak does.
args=${CD_STRESS_ARGS---no-crash --no-enospc --no-outage}

step "stress: seed $seed, ${dur}s"
S3_STATE_DIR=$CD_TEST_S3_STATE /usr/bin/python3 \
	"$CD_LIB_DIR/stress/stress.py" "s3://$S3_BUCKET" \
	--endpoint "$CD_TEST_S3_ENDPOINT" --workdir "$T/stress" \
	--bin "$CD_BIN" --seed "$seed" --duration "$dur" --sync-timeout 40 \
	--s3-server "$CD_TEST_S3_SERVER" --gateway-marker "$T/s3-gateway-down" \
	--pid-file "$T/daemon.pid" --log-file "$T/daemon.log" \
	$args ||
	die "stress.py failed (seed $seed; CD_STRESS_SEED=$seed replays it)"
