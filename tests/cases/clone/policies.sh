#!/usr/bin/env bash
# The source modified right after a copy, under each policy: guard keeps
# what was written (checked above in guard.sh), inplace leaves the copy in
# error naming the source (never a wrong file), spool and reflink keep
# what was written. Reflink on a btrfs the case makes on a loop device:
# the cache holds the copy in shared blocks (no new space), and the
# remote gets what was written even when the source changes at once.
. "$(dirname "$0")/../../lib.sh"
need_root

MiB=$((1024 * 1024))
random_file "$T/s1" $((4 * MiB))
random_file "$T/s2" $((4 * MiB))
cp "$T/s1" "$T/ref1"
cp "$T/s2" "$T/ref2"

step "inplace: the source changed before the upload: error, named"
CLONEDRIVE_TEST_READ_DELAY_MS=100 cd_mount "$R" "$M" --clone inplace --upload-delay 1s
cp "$T/s1" "$M/inplace.bin"
assert_eq "$(state_of "$M/inplace.bin")" uploading "state of the waiting copy"
printf 'CHANGED' | dd of="$T/s1" bs=1 seek=5000 conv=notrunc status=none
cd_sync "$M" 60
assert_eq "$(state_of "$M/inplace.bin")" error "a copy whose source changed"
[ ! -e "$R/inplace.bin" ] || ! cmp -s "$R/inplace.bin" "$T/s1" ||
	die "the changed source was uploaded as the copy"
grep -q "inplace.bin: a copy of $T/s1, whose source was changed" "$T/daemon.log" ||
	die "the log does not name the source and the cause"
"$CD_BIN" status "$M/inplace.bin" | grep -q "a copy of $T/s1, which changed" ||
	die "status does not say why"
assert_eq "$(stat_of "$M" clone_errors)" 1 "clone errors"

step "inplace, source untouched: uploaded from the source"
cp "$T/s2" "$M/fine.bin"
cd_sync "$M" 60
assert_eq "$(state_of "$M/fine.bin")" placeholder "an inplace copy once uploaded"
assert_file_eq "$R/fine.bin" "$T/ref2"
cd_unmount "$M"

step "spool: the copy is stored, the source's later change does not matter"
cp "$T/ref1" "$T/s1"
cd_mount "$R" "$M" --clone spool --upload-delay 1s
cp "$T/s1" "$M/spool.bin"
printf 'CHANGED' | dd of="$T/s1" bs=1 seek=5000 conv=notrunc status=none
cd_sync "$M" 60
assert_file_eq "$R/spool.bin" "$T/ref1"
assert_eq "$(state_of "$M/spool.bin")" placeholder "a spooled copy once uploaded"
cd_unmount "$M"

step "reflink on btrfs: shared blocks, and a snapshot the source cannot change"
command -v mkfs.btrfs >/dev/null || die "mkfs.btrfs is missing (scripts/deps.sh installs btrfs-progs)"
truncate -s 512M "$T/btrfs.img"
mkfs.btrfs -q "$T/btrfs.img" || die "mkfs.btrfs failed"
B=$T/b
mkdir -p "$B"
mount -o loop "$T/btrfs.img" "$B" || die "cannot mount the btrfs image"
CD_OTHER_MOUNTS+=("$B")
mkdir -p "$B/cache" "$B/remote" "$B/mnt"
random_file "$B/src" $((32 * MiB))
cp "$B/src" "$T/refb"
sync
CLONEDRIVE_TEST_READ_DELAY_MS=50 cd_mount "$B/remote" "$B/mnt" --cache-dir "$B/cache" \
	--clone reflink --upload-delay 1s
cp "$B/src" "$B/mnt/reflink.bin"
printf 'CHANGED' | dd of="$B/src" bs=1 seek=5000 conv=notrunc status=none
sync
excl=$(btrfs filesystem du -s --raw "$B/cache" | awk 'NR == 2 { print $2 }')
echo "exclusive bytes in the cache: $excl"
assert_le "$excl" $((32 * MiB / 100)) "exclusive bytes of the cache (1% of the copy)"
[ "$(stat_of "$B/mnt" clone_avoided_bytes)" -ge $((32 * MiB)) ] ||
	die "reflinked bytes not counted as avoided"
cd_sync "$B/mnt" 60
assert_file_eq "$B/remote/reflink.bin" "$T/refb"
wait_for 10 state_is "$B/mnt/reflink.bin" placeholder
assert_file_eq "$B/mnt/reflink.bin" "$T/refb"
cd_unmount "$B/mnt"
