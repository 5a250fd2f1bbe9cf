#!/usr/bin/env bash
# pjdfstest, the POSIX syscall assertions (chmod, chown, link, mkdir,
# mkfifo, mknod, open, rename, rmdir, symlink, truncate, unlink,
# utimensat, ... as root and as other users), on a local-directory
# remote: not one may fail, and every change must reach the remote (the
# sync after it succeeds). The three exhaustive permutation files run
# with PJD_ALL=1 (tests/conformance/pjdfstest.sh).
. "$(dirname "$0")/../../lib.sh"
need_root

bash "$CD_LIB_DIR/conformance/pjdfstest.sh" "$CD_BIN" ||
	die "pjdfstest failed (the assertions above)"
