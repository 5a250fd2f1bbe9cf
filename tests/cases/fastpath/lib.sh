# shellcheck shell=bash
# Helpers of the fastpath cases (sourced after tests/lib.sh).

# fastpath_of FILE: the user.clonedrive.fastpath of FILE (one line per open).
fastpath_of()
{
	getfattr --absolute-names --only-values -n user.clonedrive.fastpath \
		-- "$1"
}

# fast_open FILE: FILE has an open on the kernel's fast path now.
fast_open()
{
	grep -qx passthrough <<<"$(fastpath_of "$1")"
}

# hold FD MODE FILE: not a function; cases open descriptors with exec.

# need_fast_path MNT: skip unless opens on MNT can take the fast path (root,
# a kernel with FUSE passthrough): the daemon says so at INIT.
need_fast_path()
{
	need_root
	wait_for 10 grep -q "fast path (passthrough)" "$T/daemon.log" ||
		die "the daemon said nothing of the fast path at INIT"
	grep -q "fast path (passthrough): on" "$T/daemon.log" ||
		skip "no fast path here: $(grep -o 'fast path (passthrough): .*' "$T/daemon.log")"
}
