#!/usr/bin/env bash
# The S3 server goes away and comes back: data held locally stays
# readable, a read of data not held fails with EIO (not a hang), writes
# are accepted and uploaded once the server is back, and status says the
# remote is unreachable meanwhile. Nothing is lost or duplicated. A
# multipart upload the server's going away cuts goes on from its parts
# when it is back, and leaves no upload behind.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

MiB=$((1024 * 1024))
random_file "$T/a" $((2 * MiB))
random_file "$T/b" $((2 * MiB))
s3_put a "$T/a"
s3_put b "$T/b"
export CLONEDRIVE_S3_MULTIPART_MIN=5M CLONEDRIVE_S3_PART_SIZE=5M
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
cmp "$M/a" "$T/a"		# a is held locally from now on

step "the gateway stops"
s3_gateway stop
cmp "$M/a" "$T/a" || die "data held locally is not readable"
assert_fails "Input/output error" timeout 60 cat "$M/b"
echo "written while down" >"$M/new.txt"
random_file "$T/c" $((3 * MiB))
pipe_copy "$T/c" "$M/c"
wait_for 30 sh -c "'$CD_BIN' status '$M' | grep -q 'remote: unreachable'"
assert_eq "$(cat "$M/new.txt")" "written while down" "a new file reads back"

step "the gateway is back: the writes reach the bucket"
s3_gateway start
cd_sync "$M" 120
assert_eq "$(s3_get new.txt -)" "written while down" "new.txt in the bucket"
s3_get c "$T/c.back"
cmp "$T/c.back" "$T/c" || die "c differs in the bucket"
cmp "$M/b" "$T/b" || die "b does not read after the server came back"
"$CD_BIN" status "$M" | grep -q 'remote: reachable' ||
	die "status does not say the remote is reachable again"
assert_eq "$(s3_ls | tr '\n' ' ')" "a b c new.txt " "keys (none twice)"

step "the gateway stops in the middle of a multipart upload"
# 100 ms after each part (the test hook): the upload takes 2 s at least,
# so it is still running when the listing has seen 3 parts
cd_unmount "$M"
CLONEDRIVE_TEST_READ_DELAY_MS=100 cd_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_ENDPOINT"
random_file "$T/big" $((100 * MiB))
pipe_copy "$T/big" "$M/big"
wait_for 120 s3_has_parts big 3
s3_gateway stop
# down long enough for the upload to give up its retries (a request on
# a connection that stalls gives up after 30 s without a byte)
wait_for 150 grep -q "upload big: .*retrying" "$T/daemon.log"
s3_gateway start
cd_sync "$M" 120
s3_get big "$T/big.back"
cmp "$T/big.back" "$T/big" || die "big differs in the bucket"
grep -q "big: going on with its upload" "$T/daemon.log" ||
	die "the upload started again instead of going on"
assert_eq "$(s3_uploads)" "" "uploads left on the server"
