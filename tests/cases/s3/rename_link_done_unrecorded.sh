#!/usr/bin/env bash
# The S3 twin of crash/rename_link_done_unrecorded: SIGKILL after a
# rename of an extra name over an uploaded file was done on S3 and before
# it left the journal; tried again, the rename finds no source, and the
# object at its target is the moved name's own copy: no conflict copy.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--upload-delay 0
printf 'file data\n' >"$M/f"
printf 'linked data\n' >"$M/x"
ln "$M/x" "$M/c"
cd_sync "$M"
cd_unmount "$M"

step "the daemon dies right after the rename is done on S3"
CLONEDRIVE_TEST_CRASH_AT=journal-done cd_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_ENDPOINT"
pid=$(cd_pid)
mv -T "$M/c" "$M/f"			# the first op: journal-done 1
"$CD_BIN" sync "$M" >/dev/null 2>&1 || true
cd_await_crash "$pid" journal-done
cd_drop_dead "$M"

step "mounted again: x's bytes at f, and no conflict copy"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
grep -q "pending from before; resuming" "$T/daemon.log" ||
	die "the rename was not left in the journal"
cd_sync "$M"
assert_eq "$(cat "$M/f")" "linked data" "the mount's f"
assert_eq "$(s3_get f -)" "linked data" "f on S3"
assert_eq "$(ls "$M" | grep -c conflict || true)" 0 "conflict copies on the mount"
assert_eq "$(s3_ls | grep -c conflict || true)" 0 "conflict copies on S3"
cd_unmount "$M"
