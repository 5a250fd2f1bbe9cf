#!/usr/bin/env bash
# HTTPS: the suite's gateway also answers on TLS with a certificate of its
# own. Trusted through AWS_CA_BUNDLE (or a profile's ca_bundle), the drive
# reads and writes over it; not trusted, or with keys or a bucket the
# server refuses, the mount fails and the log says why (never a secret).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

[ -n "${CD_TEST_S3_TLS_ENDPOINT:-}" ] && [ -r "${CD_TEST_S3_CA:-}" ] ||
	die "no TLS endpoint or certificate from tests/s3/server.sh"
unset AWS_CA_BUNDLE	# the machine's may be set: it would win over a profile's
echo hello >"$T/hello"
s3_put hello.txt "$T/hello"

step "an untrusted certificate: the mount fails, naming the cause"
assert_fails "" cd_try_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_TLS_ENDPOINT"
grep -q "certificate" "$T/daemon.log" || die "the log does not name the certificate"
grep -q "AWS_CA_BUNDLE" "$T/daemon.log" || die "the log does not say how to trust it"

step "keys the server refuses, a bucket that does not exist"
AWS_SECRET_ACCESS_KEY=not-the-secret assert_fails "" cd_try_mount \
	"s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
grep -q "access refused" "$T/daemon.log" || die "refused keys are not said"
grep -q "not-the-secret" "$T/daemon.log" && die "a secret in the log"
assert_fails "" cd_try_mount "s3://$S3_BUCKET-none" "$M" \
	--endpoint "$CD_TEST_S3_ENDPOINT"
grep -q "no such bucket" "$T/daemon.log" || die "a missing bucket is not said"

step "trusted through AWS_CA_BUNDLE: reads and writes over TLS"
AWS_CA_BUNDLE=$CD_TEST_S3_CA cd_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_TLS_ENDPOINT"
assert_eq "$(cat "$M/hello.txt")" hello "a read"
random_file "$T/big" $((6 * 1024 * 1024))
cp "$T/big" "$M/big"
cd_sync "$M" 60
s3_get big "$T/back"
cmp "$T/back" "$T/big" || die "a write over TLS"
cd_unmount "$M"

step "trusted through the profile's ca_bundle"
mkdir -p "$T/home/.aws"
printf '[default]\nca_bundle = %s\n' "$CD_TEST_S3_CA" >"$T/home/.aws/config"
HOME=$T/home cd_mount "s3://$S3_BUCKET" "$M" \
	--endpoint "$CD_TEST_S3_TLS_ENDPOINT" --cache-dir "$T/cache2"
assert_eq "$(cat "$M/hello.txt")" hello "a read"
cd_unmount "$M"
