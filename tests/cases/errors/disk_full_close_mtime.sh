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

step "a write in place; the disk fills; its close"
# the write lands first: on a cache this small a writer is kept off the
# kernel's fast path, and the drive would refuse a write on a full disk
rc=0
/usr/bin/python3 - "$M/f" "$T/disk/filler" <<'PY' || rc=$?
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, b"new bytes", 100)
filler = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while True:
        os.write(filler, b"\0" * 65536)
except OSError:
    pass
os.close(filler)
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
