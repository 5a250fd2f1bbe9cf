#!/usr/bin/env bash
# Virtual-host addressing (http://BUCKET.HOST/KEY, signed for that host):
# listing, a ranged read, a write, a rename and a delete reach the bucket
# the same as with path style (the suite's RGW serves both: its DNS name
# is localhost, which curl resolves with any subdomain). A prefix in the
# remote's name keeps the drive inside it.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
random_file "$T/a" $((3 * MiB))
s3_put top/a "$T/a"
echo outside >"$T/outside"
s3_put outside.txt "$T/outside"
port=${CD_TEST_S3_ENDPOINT##*:}
cd_mount "s3://$S3_BUCKET/top" "$M" --endpoint "http://localhost:$port" \
	--s3-addressing virtual

step "list and read"
assert_eq "$(ls "$M")" a "the prefix's listing"
head -c 4096 "$M/a" | cmp - <(head -c 4096 "$T/a") || die "a ranged read"
assert_le "$(stat_of "$M" fetched_bytes)" $((2 * MiB)) "bytes fetched by a 4 KiB read"
cmp "$M/a" "$T/a" || die "a whole read"
# the gateway's access log: the request line has the key alone (path
# style would have /BUCKET/top/a)
grep -q '"GET /top/a HTTP/1.1" 206' "$CD_TEST_S3_STATE/log/client.rgw.a.log" ||
	die "no virtual-host GET of top/a in the gateway's log"

step "write, rename, delete"
echo new >"$M/new.txt"
mkdir "$M/d"
mv "$M/a" "$M/d/a"
cd_sync "$M" 60
assert_eq "$(s3_get top/new.txt -)" new "a write"
s3_get top/d/a "$T/back"
cmp "$T/back" "$T/a" || die "a renamed object"
rm "$M/new.txt"
cd_sync "$M" 60
assert_eq "$(s3_ls | tr '\n' ' ')" "outside.txt top/d/ top/d/a " "keys"
cd_unmount "$M"
