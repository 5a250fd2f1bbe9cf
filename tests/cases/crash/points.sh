#!/usr/bin/env bash
# Crashes at named points (CLONEDRIVE_TEST_CRASH_AT, src/util/crash.h), not
# at a moment: for each point the daemon runs a workload until it kills
# itself there, is mounted again (without the switch), syncs, and the
# contract holds (docs/CONTRACT.md): every step whose calls returned is
# there with its bytes, in the mount and on the remote, and the two agree;
# no file holds bytes nobody wrote; a conflict keeps both versions. Each
# point must be reached, or the case fails: it walks every one.
. "$(dirname "$0")/../../lib.sh"
need_root

MiB=$((1024 * 1024))
random_file "$T/big" $((3 * MiB))
random_file "$T/src" $((2 * MiB))
random_file "$T/rfile" $((2 * MiB))

# step NAME CMD...: runs a workload step; its name goes to $T/done if every
# call in it returned
step_ok()
{
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "$name" >>"$T/done"
	fi
}
done_step() { grep -qx "$1" "$T/done"; }

workload()
{
	step_ok a sh -c "printf alpha >'$M/a.txt'"
	step_ok b python3 -c "
import os, sys
d = open(sys.argv[1], 'rb').read()
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, d); os.fsync(fd); os.close(fd)" "$T/big" "$M/b.bin"
	step_ok sed sh -c "printf beta >'$M/.a.tmp' && mv '$M/.a.tmp' '$M/a.txt'"
	step_ok mv sh -c "mkdir '$M/d' && mv '$M/b.bin' '$M/d/b.bin'"
	step_ok clone cp "$T/src" "$M/c.bin"
	step_ok read cmp "$M/r.bin" "$T/rfile"
	printf theirs >"$R/x.txt"	# another client's change
	step_ok conflict sh -c "printf ours >'$M/x.txt'"
	step_ok sync "$CD_BIN" sync "$M"
}

# The first step that did not finish was in flight at the crash: it may
# have happened or not, and its files hold a prefix of what it wrote.
inflight()
{
	local s
	for s in a b sed mv clone read conflict sync; do
		done_step "$s" || { echo "$s"; return; }
	done
}
in_flight() { [ "$(inflight)" = "$1" ]; }

# is_prefix FILE REF: FILE holds the first bytes of REF, nothing else
is_prefix() { cmp -n "$(stat -c %s "$1")" "$1" "$2" >/dev/null; }

# check WHAT DIR: the contract, on the mount or the remote
check()
{
	local what=$1 dir=$2 a
	a=$(cat "$dir/a.txt" 2>/dev/null || echo '<none>')
	if done_step sed; then
		assert_eq "$a" beta "$what: a.txt"
	elif in_flight sed; then
		[[ $a == alpha || $a == beta ]] || die "$what: a.txt is '$a'"
	elif done_step a; then
		assert_eq "$a" alpha "$what: a.txt"
	fi
	if done_step mv; then
		cmp "$dir/d/b.bin" "$T/big" || die "$what: d/b.bin differs"
	elif done_step b; then
		if [ -e "$dir/b.bin" ]; then
			cmp "$dir/b.bin" "$T/big" || die "$what: b.bin differs"
		else
			in_flight mv || die "$what: b.bin is gone"
			cmp "$dir/d/b.bin" "$T/big" || die "$what: d/b.bin differs"
		fi
	elif [ -e "$dir/b.bin" ]; then
		is_prefix "$dir/b.bin" "$T/big" ||
			die "$what: b.bin holds bytes nobody wrote"
	fi
	if done_step clone; then
		cmp "$dir/c.bin" "$T/src" || die "$what: c.bin differs"
	elif [ -e "$dir/c.bin" ]; then
		is_prefix "$dir/c.bin" "$T/src" ||
			die "$what: c.bin holds bytes nobody wrote"
	fi
	cmp "$dir/r.bin" "$T/rfile" || die "$what: r.bin differs"
	if done_step conflict && [ "$what" != "mount before sync" ]; then
		# both versions: one under the name, one as its conflict copy
		for f in "$dir"/x*.txt; do cat "$f"; echo; done | sort |
			tr '\n' ' ' >"$T/x"
		assert_eq "$(cat "$T/x")" "ours theirs " "$what: the versions of x.txt"
	fi
}

for point in journal-commit upload-put journal-done remote-tmp \
	extent-save clone-closed conflict-rename; do
	step "crash at $point"
	rm -rf "$R" "$T/cache" "$T/done"
	mkdir "$R"
	touch "$T/done"
	cp "$T/rfile" "$R/r.bin"
	printf base >"$R/x.txt"
	# no poll sees the other client's change before ours: a conflict
	CLONEDRIVE_TEST_CRASH_AT=$point cd_mount "$R" "$M" --upload-delay 30s \
		--clone guard --poll-interval 1h
	pid=$(cd_pid)
	cat "$M/x.txt" >/dev/null	# known here before the other change
	workload
	wait_for 30 not pid_alive "$pid" ||
		die "the workload never reached $point"
	grep -q "test: crash at $point" "$T/daemon.log" ||
		die "the daemon died elsewhere than at $point"
	echo "steps done: $(tr '\n' ' ' <"$T/done")"
	cd_drop_dead "$M"
	cd_mount "$R" "$M" --upload-delay 0 --clone guard
	check "mount before sync" "$M"
	"$CD_BIN" sync "$M" >/dev/null || die "sync after the crash failed"
	check mount "$M"
	check remote "$R"
	diff -r "$M" "$R" || die "mount and remote differ after sync"
	cd_unmount "$M"
done
