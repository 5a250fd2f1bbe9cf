#!/usr/bin/env bash
# A bucket keeps no symlinks: symlink() on the mount fails with EPERM,
# where the program sees it; nothing is made, in the mount or in the
# bucket, and no op is queued to be given up later.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
assert_fails "Operation not permitted" ln -s target "$M/link"
[ ! -e "$M/link" ] && [ ! -L "$M/link" ] || die "the link is in the mount"
echo data >"$M/file"
"$CD_BIN" sync "$M" >/dev/null || die "clonedrive sync failed"
assert_eq "$(s3_ls | tr '\n' ' ')" "file " "the bucket's keys"
if grep -q 'giving up' "$T/daemon.log"; then
	die "an op was given up: $(grep 'giving up' "$T/daemon.log" | head -n 2)"
fi
