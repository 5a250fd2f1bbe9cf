#!/usr/bin/env bash
# mount refuses a mountpoint that is not empty (the mount would hide what is
# in it), naming it and -o nonempty, and leaves nothing mounted; with -o
# nonempty (or --nonempty, or through mount.fuse3) it mounts over it, and
# what was hidden is there again after unmount.
. "$(dirname "$0")/../../lib.sh"

echo remote >"$R/f"
echo hidden >"$M/mine"

step "refused: the mountpoint holds a file"
rc=0
cd_try_mount "$R" "$M" || rc=$?
[ $rc -ne 0 ] || die "mounted over a non-empty directory"
! is_mounted "$M" || die "$M mounted after the refusal"
grep -qF "$M is not empty" "$T/mount.out" || die "the refusal does not name $M"
grep -qF -- "-o nonempty" "$T/mount.out" || die "the refusal does not say -o nonempty"

step "refused too for a hidden file only"
mv "$M/mine" "$M/.mine"
rc=0
cd_try_mount "$R" "$M" || rc=$?
[ $rc -ne 0 ] || die "mounted over a directory holding a dot file"
! is_mounted "$M" || die "$M mounted after the refusal"

step "-o nonempty mounts over it"
cd_mount "$R" "$M" -o nonempty
assert_eq "$(cat "$M/f")" remote "content through the mount"
[ ! -e "$M/.mine" ] || die "the hidden file shows through the mount"
grep " ${M} " /proc/self/mounts | grep -qv nonempty ||
	die "nonempty reached the kernel's mount options"
cd_unmount "$M"
assert_eq "$(cat "$M/.mine")" hidden "the hidden file after unmount"

step "--nonempty too"
cd_mount "$R" "$M" --nonempty
assert_eq "$(cat "$M/f")" remote "content through the mount"
cd_unmount "$M"

step "an empty mountpoint needs nothing"
rm -f "$M/.mine"
cd_mount "$R" "$M"
cd_unmount "$M"
