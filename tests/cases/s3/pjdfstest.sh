#!/usr/bin/env bash
# pjdfstest (tests/cases/conformance/pjdfstest.sh) on an S3 bucket: the
# drive keeps POSIX semantics over plain objects (owners, modes, times,
# special files, hard links), and every change must reach the bucket
# (the sync after it succeeds). Two things a bucket does not keep fail on
# purpose, with their own errno, tested below; the files whose
# assertions meet them are PJD_KNOWN, and any other failure fails this:
#   - a path longer than an S3 key may be (1024 bytes with the directory
#     marker's "/"): ENAMETOOLONG, where a local disk takes PATH_MAX
#     (the */03.t files, and rename/02.t);
#   - symlinks: EPERM (the files that make one).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

keys="chmod/03.t chown/03.t ftruncate/03.t link/03.t mkdir/03.t
	mkfifo/03.t mknod/03.t open/03.t rename/02.t rmdir/03.t truncate/03.t
	unlink/03.t"
symlinks="chmod/00.t chmod/04.t chmod/06.t chmod/07.t chmod/11.t
	chown/04.t chown/06.t chown/07.t ftruncate/07.t link/08.t link/10.t
	mkdir/07.t mkdir/10.t mkfifo/07.t mkfifo/09.t mknod/07.t mknod/08.t
	open/12.t open/16.t open/22.t rename/00.t rename/11.t rename/13.t
	rename/14.t rename/20.t rmdir/01.t rmdir/05.t rmdir/06.t
	symlink/00.t symlink/02.t symlink/03.t symlink/05.t symlink/06.t
	symlink/07.t symlink/08.t truncate/07.t unlink/00.t unlink/07.t
	unlink/11.t utimensat/05.t"

PJD_REMOTE="s3://$S3_BUCKET" \
PJD_MOUNT_ARGS="--endpoint $CD_TEST_S3_ENDPOINT" \
PJD_KNOWN=$(echo $keys $symlinks) \
	bash "$CD_LIB_DIR/conformance/pjdfstest.sh" "$CD_BIN" ||
	die "pjdfstest over S3 failed (the assertions above)"

step "what the bucket cannot keep gets its own errno"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
assert_fails "Operation not permitted" ln -s target "$M/sl"
deep=$M
for i in 1 2 3 4 5 6; do deep=$deep/$(printf 'd%.0s' $(seq 200)); done
assert_fails "File name too long" mkdir -p "$deep"
