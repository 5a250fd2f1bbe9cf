#!/usr/bin/env bash
# pjdfstest (tests/cases/conformance/pjdfstest.sh) on an S3 bucket: the
# drive keeps POSIX semantics over plain objects (owners, modes, times,
# special files, symlinks, hard links), and every change must reach the
# bucket (the sync after it succeeds). What a bucket cannot keep fails on
# purpose, with its own errno, tested below: a path longer than an S3 key
# may be (1024 bytes with the directory marker's "/") is ENAMETOOLONG,
# where a local disk takes PATH_MAX. The files whose assertions meet it
# (the */03.t files, and rename/02.t) are PJD_KNOWN; any other failure
# fails this.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

keys="chmod/03.t chown/03.t ftruncate/03.t link/03.t mkdir/03.t
	mkfifo/03.t mknod/03.t open/03.t rename/02.t rmdir/03.t symlink/03.t
	truncate/03.t unlink/03.t"

PJD_REMOTE="s3://$S3_BUCKET" \
PJD_MOUNT_ARGS="--endpoint $CD_TEST_S3_ENDPOINT" \
PJD_KNOWN=$(echo $keys) \
	bash "$CD_LIB_DIR/conformance/pjdfstest.sh" "$CD_BIN" ||
	die "pjdfstest over S3 failed (the assertions above)"

step "what the bucket cannot keep gets its own errno"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
deep=$M
for i in 1 2 3 4 5 6; do deep=$deep/$(printf 'd%.0s' $(seq 200)); done
assert_fails "File name too long" mkdir -p "$deep"
