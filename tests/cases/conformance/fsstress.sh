#!/usr/bin/env bash
# xfstests' fsstress on a local-directory remote: 4 processes of random
# namespace and data operations (creat, mkdir, rename in all its forms,
# unlink, rmdir, symlink, write, writev, O_DIRECT, mmap, AIO and io_uring
# reads and writes, copy_file_range, splice, truncate, fsync, xattrs, ...)
# on one tree. Operations the drive refuses fail with their errno and are
# counted in the log; none may fail with EIO, ENOTCONN or ESTALE. Then
# `clonedrive sync`: the remote must hold the same names, types, bytes
# and symlink targets as the mount; and after rm -rf and sync again,
# nothing. Limits (tests/conformance/lib.sh, fsstress_run): files under
# 4 MiB, no XFS or btrfs ioctls. FSSTRESS_SEED=N runs it again.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/conformance/lib.sh"

conf_tools
cd_mount "$R" "$M"
n=3000
if conf_sanitized; then
	n=1000
fi
echo "fsstress seed $FSSTRESS_SEED, $n operations a process"

step "fsstress -p 4 -n $n"
mkdir "$M/fss"
s=$(date +%s)
rc=0
fsstress_run "$M/fss" "$T/fsstress.log" "$n" || rc=$?
echo "fsstress: exit $rc after $(($(date +%s) - s)) s"
fsstress_errors "$T/fsstress.log"
[ $rc -eq 0 ] || { tail -n 20 "$T/fsstress.log"; die "fsstress failed (exit $rc)"; }
if grep -E '^[0-9]+/[0-9]+: .* (5|107|116)$' "$T/fsstress.log" | head -n 20 | grep .; then
	die "fsstress operations failed with EIO, ENOTCONN or ESTALE (above)"
fi

step "sync; the remote equals the mount"
s=$(date +%s)
cd_sync "$M" 150
echo "sync: $(($(date +%s) - s)) s"
same_tree "$M" "$R" || die "the remote differs from the mount after sync"

step "rm -rf the tree; sync; the remote is empty too"
rm -rf "$M/fss"
cd_sync "$M" 60
same_tree "$M" "$R" || die "the remote differs from the mount after rm -rf and sync"
