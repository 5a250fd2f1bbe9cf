#!/usr/bin/env bash
# On S3 each name of a file is an object of its own. A new file, not
# uploaded yet, got an extra name and then a chmod through that name; its
# first name was then taken by a rename of another file over it, and the
# extra name became the file's own. The object of that name must end with
# the file's last mode. (Found by the stress tester, seed 1358923219.)
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--upload-delay 2s

step "a new file, an extra name, a chmod through it, its first name replaced"
echo other >"$M/o"
cd_sync "$M"
echo data >"$M/b"
chmod 600 "$M/b"
ln "$M/b" "$M/s"
chmod 400 "$M/s"
mv "$M/o" "$M/b"
cd_sync "$M"

assert_eq "$(stat -c %a "$M/s")" 400 "mode of s in the mount"
grep -qx "meta-mode=$((8#100400))" <<<"$(s3_head s)" ||
	die "s has another mode on S3: $(s3_head s | grep meta-mode)"
assert_eq "$(s3_get s -)" data "s on S3"
cd_unmount "$M"
