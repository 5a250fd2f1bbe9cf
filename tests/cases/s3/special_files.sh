#!/usr/bin/env bash
# Special files in a bucket: a FIFO, a socket and devices are zero-byte
# objects whose x-amz-meta-mode has their st_mode (type bits too) and
# x-amz-meta-rdev a device's number, in decimal, as s3fs makes them;
# renames move the metadata with the object; a fresh mount (new cache)
# shows them with their types, objects written that way behind the
# drive's back too, and polls never turn them into files.
. "$(dirname "$0")/../../lib.sh"
need_root
s3_bucket

# name, type, major:minor, mode of each node named
nodes()
{
	(cd "$1" && stat -c '%n %F %t:%T %a' -- "${@:2}")
}

# meta KEY NAME: the x-amz-meta-NAME of KEY ("" if none)
meta()
{
	s3_head "$1" | sed -n "s/^meta-$2=//p"
}

# check_object KEY MNT_PATH: KEY is a zero-byte object with the st_mode
# and (for a device) the st_rdev of MNT_PATH in its metadata
check_object()
{
	local key=$1 f=$2 mode major minor
	assert_eq "$(s3_head "$key" | sed -n 's/^size=//p')" 0 "size of $key"
	mode=$((16#$(stat -c %f "$f")))
	assert_eq "$(meta "$key" mode)" "$mode" "x-amz-meta-mode of $key"
	case $(stat -c %F "$f") in
	*special*)
		major=$((16#$(stat -c %t "$f")))
		minor=$((16#$(stat -c %T "$f")))
		assert_eq "$(meta "$key" rdev)" \
			$(((major << 8) | (minor & 0xff) | ((minor & ~0xff) << 12))) \
			"x-amz-meta-rdev of $key"
		;;
	esac
}

cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT"

step "make a fifo, a socket, devices and an empty file"
mkfifo -m 0640 "$M/fifo"
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$M/sock"
mknod -m 0600 "$M/chr" c 1 3
mknod "$M/blk" b 7 300
: >"$M/empty"
assert_eq "$(stat -c %F "$M/fifo")" fifo "type of the fifo"
assert_eq "$(stat -c %F "$M/sock")" socket "type of the socket"
assert_eq "$(stat -c '%F %t:%T' "$M/chr")" "character special file 1:3" \
	"the character device"
assert_eq "$(stat -c '%F %t:%T' "$M/blk")" "block special file 7:12c" \
	"the block device"

step "a fifo passes data from a writer to a reader"
(echo "through the fifo" >"$M/fifo") &
writer=$!
assert_eq "$(timeout 10 cat "$M/fifo")" "through the fifo" "read from the fifo"
wait "$writer"

step "each is a zero-byte object with its mode and rdev"
cd_sync "$M"
for n in fifo sock chr blk; do
	check_object "$n" "$M/$n"
done
meta fifo mode | grep -qx "$((8#10640))" ||
	die "the fifo's x-amz-meta-mode has no S_IFIFO: $(meta fifo mode)"

step "renames move the metadata; chmod keeps type and rdev; rm removes"
mkdir "$M/d"
mv "$M/fifo" "$M/d/fifo2"
mv "$M/chr" "$M/chr2"
chmod 0606 "$M/chr2"
rm "$M/sock"
cd_sync "$M"
check_object d/fifo2 "$M/d/fifo2"
check_object chr2 "$M/chr2"
assert_eq "$(meta chr2 mode)" "$((8#20606))" "x-amz-meta-mode after chmod"
s3_ls >"$T/keys"
for k in fifo chr sock; do
	grep -qxF "$k" "$T/keys" && die "key $k is still in the bucket"
done

step "objects made that way behind the drive's back show with their types"
s3_put theirs-fifo /dev/null mode=$((8#10600)) mtime=1600000000
s3_put theirs-sock /dev/null mode=$((8#140755))
s3_put theirs-chr /dev/null mode=$((8#20640)) rdev=$(((4 << 8) | 5))
# a mode that says fifo on an object with bytes: a file all the same
echo data | s3_put theirs-notfifo - mode=$((8#10644))
cd_refresh "$M"
wait_for 10 test -p "$M/theirs-fifo"
names=(blk chr2 d/fifo2 empty theirs-chr theirs-fifo theirs-notfifo
	theirs-sock)
want=$(nodes "$M" "${names[@]}")
echo "$want"
grep -qxF "theirs-chr character special file 4:5 640" <<<"$want" ||
	die "theirs-chr is not a character device 4:5"
grep -qxF "theirs-sock socket 0:0 755" <<<"$want" ||
	die "theirs-sock is not a socket"
grep -qxF "theirs-notfifo regular file 0:0 644" <<<"$want" ||
	die "theirs-notfifo is not a file"
grep -qxF "empty regular empty file 0:0 644" <<<"$want" ||
	die "empty is not an empty file"
assert_eq "$(stat -c %Y "$M/theirs-fifo")" 1600000000 "mtime of theirs-fifo"

step "polls leave them alone"
for i in 1 2; do
	cd_refresh "$M"
	"$CD_BIN" sync "$M" >/dev/null || die "clonedrive sync failed"
	assert_eq "$(nodes "$M" "${names[@]}")" "$want" "the nodes after poll $i"
done
# nothing was uploaded over them
for n in blk chr2 d/fifo2 theirs-fifo; do
	check_object "$n" "$M/$n"
done

step "a fresh mount (new cache) shows them with their types"
mkdir "$T/mnt2"
cd_mount "s3://$S3_BUCKET" "$T/mnt2" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--cache-dir "$T/cache2" --pid-file "$T/daemon2.pid"
assert_eq "$(nodes "$T/mnt2" "${names[@]}")" "$want" \
	"the nodes in a fresh mount"
cd_refresh "$T/mnt2"
"$CD_BIN" sync "$T/mnt2" >/dev/null || die "clonedrive sync failed"
assert_eq "$(nodes "$T/mnt2" "${names[@]}")" "$want" \
	"the nodes in a fresh mount after a poll"
cd_unmount "$T/mnt2"

if grep -q 'giving up' "$T/daemon.log"; then
	die "an op was given up: $(grep 'giving up' "$T/daemon.log" | head -n 2)"
fi
