#!/usr/bin/env bash
# Symlinks on S3, as s3fs keeps them: an object whose bytes are the
# target and whose x-amz-meta-mode has S_IFLNK. Made, read, renamed and
# removed through the mount; kept a symlink by polls (a listing shows it
# as a small file); a fresh cache shows it as a symlink once its
# metadata is read after the listing; one written behind the drive's
# back does too. The metadata of a file with bytes (mode, owner, mtime)
# arrives the same way.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"

step "ln -s makes a symlink, kept as s3fs keeps one"
ln -s ../some/target "$M/link"
mkdir "$M/d"
ln -s "d/$(printf 'x%.0s' $(seq 300))" "$M/d/long"
assert_eq "$(readlink "$M/link")" ../some/target "readlink"
echo data >"$M/file"
"$CD_BIN" sync "$M" >/dev/null || die "clonedrive sync failed"
assert_eq "$(s3_ls | tr "\n" " ")" "d/ d/long file link " "the bucket's keys"
grep -qx "meta-mode=$((8#120777))" <<<"$(s3_head link)" ||
	die "link has no symlink mode: $(s3_head link)"
assert_eq "$(s3_get link -)" ../some/target "the object's bytes"
if grep -q 'giving up' "$T/daemon.log"; then
	die "an op was given up: $(grep 'giving up' "$T/daemon.log" | head -n 2)"
fi

step "polls keep it a symlink; rename and rm reach the bucket"
cd_refresh "$M"
cd_refresh "$M"
test -L "$M/link" || die "a poll made link something else: $(ls -l "$M/link")"
mv "$M/link" "$M/link2"
"$CD_BIN" sync "$M" >/dev/null
grep -qx "meta-mode=$((8#120777))" <<<"$(s3_head link2)" ||
	die "link2 lost its mode in the rename: $(s3_head link2 | tr "\n" " ")"

step "one written behind the drive's back, and a file's metadata"
printf 'elsewhere' | s3_put theirs - mode=$((8#120777))
printf 'bytes' | s3_put owned - mode=$((8#100604)) uid=77 gid=88 \
	mtime=1500000000
cd_refresh "$M"
wait_for 10 test -L "$M/theirs"
assert_eq "$(readlink "$M/theirs")" elsewhere "readlink of theirs"
wait_for 10 eval '[ "$(stat -c %a:%u:%g:%Y "$M/owned")" = 604:77:88:1500000000 ]'

step "a fresh cache shows them once their metadata is read"
cd_unmount "$M"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--cache-dir "$T/cache2"
ls -l "$M" "$M/d" >/dev/null
wait_for 10 test -L "$M/link2"
assert_eq "$(readlink "$M/link2")" ../some/target "link2, fresh cache"
wait_for 10 test -L "$M/d/long"
assert_eq "$(stat -c %a:%u:%g:%Y "$M/owned")" 604:77:88:1500000000 \
	"owned, fresh cache"
assert_eq "$(cat "$M/file")" data "file, fresh cache"
rm "$M/link2"
"$CD_BIN" sync "$M" >/dev/null
assert_eq "$(s3_ls | tr '\n' ' ')" "d/ d/long file owned theirs " \
	"the bucket's keys after rm"
