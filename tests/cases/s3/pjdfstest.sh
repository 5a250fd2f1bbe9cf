#!/usr/bin/env bash
# pjdfstest (tests/cases/conformance/pjdfstest.sh) on an S3 bucket: the
# drive keeps POSIX semantics over plain objects (owners, modes, times,
# special files, hard links); not one assertion may fail, and every
# change must reach the bucket (the sync after it succeeds).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

PJD_REMOTE="s3://$S3_BUCKET" \
PJD_MOUNT_ARGS="--endpoint $CD_TEST_S3_ENDPOINT" \
	bash "$CD_LIB_DIR/conformance/pjdfstest.sh" "$CD_BIN" ||
	die "pjdfstest over S3 failed (the assertions above)"
