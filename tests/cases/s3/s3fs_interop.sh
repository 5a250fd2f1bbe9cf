#!/usr/bin/env bash
# The same bucket through the drive and through s3fs (Debian's s3fs-fuse):
# what the drive writes, s3fs reads right (bytes, owners, modes, mtimes of
# files and directories, FIFOs and sockets), and what s3fs writes, a
# fresh mount of the drive reads right: bytes, directories, special
# files with their types, symlinks, owners, modes and mtimes of files
# and directories (what a listing does not carry soon after it: the
# drive reads it in the background).
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket
command -v s3fs >/dev/null || skip "no s3fs (scripts/deps.sh installs it)"

S3FS_MNT=$T/s3fs
mkdir -p "$S3FS_MNT"
( umask 077; echo "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" >"$T/passwd" )
s3fs_pid=
s3fs_up()
{
	s3fs "$S3_BUCKET" "$S3FS_MNT" -f -o "url=$CD_TEST_S3_ENDPOINT" \
		-o use_path_request_style,passwd_file="$T/passwd" \
		-o stat_cache_expire=1 </dev/null >>"$T/s3fs.log" 2>&1 &
	s3fs_pid=$!
	CD_OTHER_MOUNTS+=("$S3FS_MNT")	# unmounted at exit, even on failure
	wait_for 20 is_mounted "$S3FS_MNT"
}
s3fs_down()
{
	fusermount3 -u "$S3FS_MNT" 2>/dev/null ||
		fusermount3 -u -z "$S3FS_MNT" 2>/dev/null
	[ -z "$s3fs_pid" ] || wait "$s3fs_pid" 2>/dev/null
	s3fs_pid=
}

step "the drive writes files, directories, owners, modes, times, a FIFO"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"
mkdir "$M/d"
random_file "$M/d/f" 100000
chown 4321:8765 "$M/d/f"
chmod 640 "$M/d/f"
touch -m -d @1500000000 "$M/d/f"
chown 1234:5678 "$M/d"
chmod 750 "$M/d"
mkfifo -m 604 "$M/p"
ln -s d/f "$M/sl"
echo old >"$M/old"
touch -m -d @-1000000000.25 "$M/old"	# 1938, a quarter second in
cp "$M/d/f" "$T/f"
cd_sync "$M"

step "s3fs reads them right"
s3fs_up
cmp "$S3FS_MNT/d/f" "$T/f"
assert_eq "$(stat -c %u:%g:%a:%Y "$S3FS_MNT/d/f")" 4321:8765:640:1500000000 \
	"d/f through s3fs"
assert_eq "$(stat -c %u:%g:%a "$S3FS_MNT/d")" 1234:5678:750 "d through s3fs"
assert_eq "$(stat -c %F:%a "$S3FS_MNT/p")" "fifo:604" "p through s3fs"
assert_eq "$(readlink "$S3FS_MNT/sl")" d/f "sl through s3fs"
grep -qx 'meta-mtime=-1000000000.250000000' <<<"$(s3_head old)" ||
	die "a time before 1970 is kept as another: $(s3_head old)"

step "s3fs writes files, a directory, a FIFO, owners and modes"
mkdir "$S3FS_MNT/e"
chown 99:98 "$S3FS_MNT/e"
chmod 751 "$S3FS_MNT/e"
echo "from s3fs" >"$S3FS_MNT/e/g"
mkfifo -m 640 "$S3FS_MNT/q"
: >"$S3FS_MNT/e/empty"
chown 77:88 "$S3FS_MNT/e/empty"
chmod 604 "$S3FS_MNT/e/empty"
chown 55:66 "$S3FS_MNT/e/g"
chmod 611 "$S3FS_MNT/e/g"
ln -s ../d/f "$S3FS_MNT/e/sl"
s3fs_down
cd_unmount "$M"

step "a fresh mount of the drive reads them right"
cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--cache-dir "$T/cache2"
[ "$(stat -c %Y "$M")" -gt 1000000000 ] ||
	die "the root of a fresh mount shows $(stat -c %y "$M")"
assert_eq "$(cat "$M/e/g")" "from s3fs" "e/g, written by s3fs"
assert_eq "$(stat -c %F "$M/q")" fifo "q, made by s3fs"
assert_eq "$(stat -c %F:%u:%g:%a "$M/e/empty")" "regular empty file:77:88:604" \
	"e/empty, chowned and chmodded by s3fs"
test -d "$M/e" || die "e, made by s3fs, is no directory"
cmp "$M/d/f" "$T/f"
wait_for 10 test -L "$M/e/sl"
cmp "$M/e/sl" "$T/f"
# (s3fs 1.90 gives a file the time of its last flush, whatever touch
# said before: the object's own is compared)
g_mtime=$(s3_head e/g | sed -n 's/^meta-mtime=\([0-9]*\).*/\1/p')
wait_for 10 eval \
	'[ "$(stat -c %u:%g:%a:%Y "$M/e/g")" = "55:66:611:$g_mtime" ]'
wait_for 10 eval \
	'[ "$(stat -c %u:%g:%a:%Y "$M/d/f")" = 4321:8765:640:1500000000 ]'
wait_for 10 eval '[ "$(stat -c %u:%g:%a "$M/d")" = 1234:5678:750 ]'
wait_for 10 eval '[ "$(stat -c %.9Y "$M/old")" = -1000000000.250000000 ]'
wait_for 10 eval '[ "$(stat -c %u:%g:%a "$M/e")" = 99:98:751 ]'
