#!/usr/bin/env bash
# A write whose close cannot be recorded (the cache disk full, the
# database cannot commit): the file's size and mtime live only in memory
# then. They must not be dropped with the last reference to the file
# (before, the state was "refetched" from the database's older row, and
# the upload that followed sent the old mtime with the new bytes).
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir "$T/disk"
mount -t tmpfs -o size=20m tmpfs "$T/disk"
cd_track_mount "$T/disk"

cd_mount "$R" "$M" --cache-dir "$T/disk/c" --upload-delay 0 --cache-full-wait 1s
head -c 65536 /dev/urandom >"$M/f"
touch -d @1000000000 "$M/f"
cd_sync "$M"
assert_eq "$(stat -c %Y "$R/f")" 1000000000 "the old mtime on the remote"

step "the disk full; a write in place, and its close"
dd if=/dev/zero of="$T/disk/filler" bs=64k 2>/dev/null || true
rc=0
/usr/bin/python3 - "$M/f" <<'PY' || rc=$?
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, b"new bytes", 100)
try:
    os.close(fd)
except OSError:
    pass
PY
echo "writer exit $rc"
mt=$(stat -c %Y "$M/f")
echo "mtime on the mount: $mt"
sleep 1
rm -f "$T/disk/filler"

step "space back: the mount and the remote have the write's mtime"
cd_sync "$M"
mt2=$(stat -c %Y "$M/f")
[ "$mt2" -gt 1000000000 ] || die "the mount's mtime went back to the old one"
assert_eq "$(stat -c %Y "$R/f")" "$mt2" "the remote's mtime"
cmp "$M/f" "$R/f" || die "the remote's bytes"
assert_eq "$(dd if="$R/f" bs=1 skip=100 count=9 2>/dev/null)" "new bytes" \
	"the bytes written on the remote"
