#!/usr/bin/env bash
# chmod and chown of a file with several names over a bucket: each name
# is an object of its own, so every object must get the mode and the
# owner, not only the one at the name the setattr went to; a FIFO's
# names too. (Found by the stress tester: the other names' objects kept
# the old mode, and a fresh mount showed it.)
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

# meta KEY NAME: the x-amz-meta-NAME of KEY ("" if none)
meta() { s3_head "$1" | sed -n "s/^meta-$2=//p"; }

cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"

step "a file and a FIFO with two names each, in the bucket"
echo data >"$M/a"
ln "$M/a" "$M/b"
mkfifo -m 0644 "$M/p"
ln "$M/p" "$M/q"
cd_sync "$M"

step "chmod and chown through one name reach every object"
chmod 0600 "$M/b"
chown 4242:4343 "$M/b"
chmod 0400 "$M/q"
chown 42:43 "$M/p"
cd_sync "$M"
for k in a b; do
	assert_eq "$(meta "$k" mode)" "$((8#100600))" "x-amz-meta-mode of $k"
	assert_eq "$(meta "$k" uid):$(meta "$k" gid)" 4242:4343 "owner of $k"
done
for k in p q; do
	assert_eq "$(meta "$k" mode)" "$((8#10400))" "x-amz-meta-mode of $k"
	assert_eq "$(meta "$k" uid):$(meta "$k" gid)" 42:43 "owner of $k"
done
cd_unmount "$M"
