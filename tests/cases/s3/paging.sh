#!/usr/bin/env bash
# A directory of more keys than one ListObjectsV2 page (1,000) shows whole,
# in a fresh mount of the bucket: listings follow continuation tokens.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

N=1100
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
mkdir "$M/many"
for i in $(seq -w 1 $N); do
	echo "$i" >"$M/many/f$i"
done
cd_sync "$M" 120
assert_eq "$(s3_ls many/ | grep -c '^many/f')" $N "keys in the bucket"
cd_unmount "$M"

step "a fresh mount (empty cache) lists all $N"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--cache-dir "$T/cache2"
assert_eq "$(ls "$M/many" | wc -l)" $N "entries listed"
assert_eq "$(cat "$M/many/f$N")" "$N" "the last one's content"
assert_eq "$(cat "$M/many/f0001")" "0001" "the first one's content"

step "a rename of the directory moves its $N keys, its progress in status"
mv "$M/many" "$M/lots"
assert_eq "$(ls "$M/lots" | wc -l)" $N "entries after the rename, here"
seen=0
for _ in $(seq 1 300); do
	if "$CD_BIN" status "$M" | grep -Eq 'renaming +[0-9]+ objects moved +many'; then
		seen=1
		break
	fi
	[ "$(stat_of "$M" uploads_pending)" != 0 ] || break
	sleep 0.05
done
[ $seen = 1 ] || die "status never showed the rename moving objects"
cd_sync "$M" 300
assert_eq "$(s3_ls lots/ | grep -c '^lots/f')" $N "keys under the new name"
assert_eq "$(s3_ls many/ | wc -l)" 0 "keys left under the old name"
cd_unmount "$M"
