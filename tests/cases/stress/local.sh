#!/usr/bin/env bash
# The model-checking stress tester (tests/stress/stress.py) on a local
# remote: three workers issue random operations, in subtrees of their own
# and in a shared one; the mount and the remote must match the model after
# every sync. The tester can also kill the daemon, fill the cache disk and
# take the remote away (see args below). CD_STRESS_SEED=N replays a seed.
. "$(dirname "$0")/../../lib.sh"
need_root

# shorter under a sanitizer (ASan or TSan): the daemon is slower there
dur=${CD_STRESS_DURATION:-75}
if is_sanitized; then
	dur=${CD_STRESS_DURATION:-25}
fi
seed=${CD_STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# what the tester mounts, taken down at exit if it could not do it itself
CD_MOUNTS+=("$T/stress/mnt")
cd_track_mount "$T/stress/cachefs"

# What the suite runs: random operations from three workers (mmap writes
# and symlinks among them), with syncs, kills of the daemon, remote
# outages, and compares of the mount, the remote and the model. ENOSPC
# rounds are off here until the bugs the tester finds with them are fixed
# (the open ones are listed in tests/stress/README.md); CD_STRESS_ARGS=
# (set and empty) runs them too, as a soak does.
args=${CD_STRESS_ARGS---no-enospc}

step "stress: seed $seed, ${dur}s"
/usr/bin/python3 "$CD_LIB_DIR/stress/stress.py" "$R" --workdir "$T/stress" \
	--bin "$CD_BIN" --seed "$seed" --duration "$dur" --sync-timeout 40 \
	--pid-file "$T/daemon.pid" --log-file "$T/daemon.log" \
	$args ||
	die "stress.py failed (seed $seed; CD_STRESS_SEED=$seed replays it)"
