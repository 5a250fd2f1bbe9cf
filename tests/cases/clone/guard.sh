#!/usr/bin/env bash
# Copies not stored (--clone guard, the default as root on ext4): cp, cat,
# dd, shutil.copyfile and two copies at once leave the cache empty while
# they wait for their upload (state "uploading", the source named), then
# become placeholders with the right bytes. The daemon's own reads of a
# guarded source (reads of the copy, its upload) raise no snapshot and no
# deadlock; another process opening the source first gets the bytes
# copied into the cache, and the remote still gets what was written. A
# copy that stops matching goes on as ordinary bytes; a program that
# writes a file's bytes without having it open makes no clone; rsync's
# copies are right. A copy deleted before its upload lets its source go.
. "$(dirname "$0")/../../lib.sh"
need_root

MiB=$((1024 * 1024))
mkdir -p "$T/src" "$T/ref"
for i in 1 2 3 4 5 6; do
	random_file "$T/src/s$i" $((8 * MiB + i * 4096))
	cp "$T/src/s$i" "$T/ref/s$i"	# to compare with: reading a guarded
done				# source is an access that snapshots it
# uploads slowed to ~1 MiB per 300 ms, so the copies wait visibly
CLONEDRIVE_TEST_READ_DELAY_MS=300 cd_mount "$R" "$M" --upload-delay 0

cache_bytes() { stat_of "$M" cache_bytes; }

step "cp, cat >, dd, shutil.copyfile, two at once: nothing stored"
cp "$T/src/s1" "$M/cp.bin" &
cat "$T/src/s2" >"$M/cat.bin" &
wait
dd if="$T/src/s3" of="$M/dd.bin" bs=1M status=none
/usr/bin/python3 -c 'import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])' \
	"$T/src/s4" "$M/py.bin"
assert_le "$(cache_bytes)" $((32 * 1024)) "cache bytes while the copies wait"
assert_eq "$(state_of "$M/py.bin")" uploading "state of a copy waiting"
assert_eq "$(getfattr --only-values -n user.clonedrive.source "$M/py.bin")" \
	"$T/src/s4" "the source named"
"$CD_BIN" status "$M/py.bin" | grep -q "$T/src/s4" ||
	die "status does not name the source"

step "reads of a waiting copy come from its source; no snapshot, no hang"
snaps=$(stat_of "$M" guard_snapshots)
timeout 20 cmp "$M/dd.bin" "$T/ref/s3" || die "the copy reads wrong (or hung)"
assert_eq "$(stat_of "$M" guard_snapshots)" "$snaps" "snapshots from our own reads"
# a copy whose upload ended before the read is a placeholder, and its
# read rightly fetches: the check holds for a copy still waiting
if [ "$(state_of "$M/dd.bin")" = uploading ]; then
	assert_le "$(cache_bytes)" $((32 * 1024)) "cache bytes after reading a copy"
else
	echo "dd.bin was uploaded before the read ended: cache not checked"
fi

step "a copy deleted or renamed over before its upload lets its source go"
random_file "$T/src/s7" $((4 * MiB))
random_file "$T/src/s8" $((4 * MiB))
cp "$T/src/s7" "$M/gone.bin"
rm "$M/gone.bin"
cp "$T/src/s8" "$M/replaced.bin"
cat "$T/ref/s1" | cat >"$M/other.tmp"	# through a pipe: stored, no source
mv "$M/other.tmp" "$M/replaced.bin"
cat "$T/src/s7" "$T/src/s8" >/dev/null
assert_eq "$(stat_of "$M" guard_snapshots)" "$snaps" "snapshots of sources let go"

step "another process writes a source before its upload: the copy keeps what was written"
cp "$T/src/s5" "$M/guarded.bin"
printf 'CHANGED' | dd of="$T/src/s5" bs=1 seek=100 conv=notrunc status=none
wait_for 5 test "$(stat_of "$M" guard_snapshots)" -gt "$snaps"
grep -q "opened the source of this copy" "$T/daemon.log" ||
	die "the snapshot is not logged"

step "all uploaded: placeholders with the bytes written"
cd_sync "$M" 120
n=1
for f in cp cat dd py guarded; do
	wait_for 10 state_is "$M/$f.bin" placeholder
	assert_eq "$(du -k "$M/$f.bin" | cut -f1)" 0 "du of $f.bin"
	assert_file_eq "$R/$f.bin" "$T/ref/s$n"
	n=$((n + 1))
done
assert_file_eq "$M/guarded.bin" "$T/ref/s5"
getfattr -n user.clonedrive.source "$M/cp.bin" 2>/dev/null &&
	die "a source is still named after the upload"
[ "$(stat_of "$M" clone_avoided_bytes)" -ge $((4 * 8 * MiB)) ] ||
	die "bytes avoided not counted"
assert_eq "$(stat_of "$M" clone_errors)" 0 "clone errors"

step "a copy that stops matching ends with exactly the bytes written"
/usr/bin/python3 - "$T/src/s6" "$M/mismatch.bin" "$T/mismatch.ref" <<'EOF'
import sys
src = open(sys.argv[1], "rb")
want = bytearray()
with open(sys.argv[2], "wb", buffering=0) as out:
    for i in range(6):
        chunk = src.read(1 << 20)
        if i == 3:
            chunk = bytes(b ^ 0x5A for b in chunk)
        out.write(chunk)
        want += chunk
open(sys.argv[3], "wb").write(want)
EOF
assert_file_eq "$M/mismatch.bin" "$T/mismatch.ref"
cd_sync "$M" 60
assert_file_eq "$R/mismatch.bin" "$T/mismatch.ref"
assert_eq "$(state_of "$M/mismatch.bin")" hydrated "a copy that stopped matching"

step "bytes of a file the writer does not have open: no clone"
clones=$(stat_of "$M" clones_detected)
/usr/bin/python3 -c '
import sys
data = open(sys.argv[1], "rb").read()   # read, then closed
open(sys.argv[2], "wb").write(data)' "$T/ref/s1" "$M/frommem.bin"
assert_eq "$(stat_of "$M" clones_detected)" "$clones" "clones after a write from memory"
cd_sync "$M" 60
assert_eq "$(state_of "$M/frommem.bin")" hydrated "a file written from memory"
assert_file_eq "$R/frommem.bin" "$T/ref/s1"

step "rsync (a temporary name, then a rename)"
rsync "$T/ref/s2" "$M/rsync.bin"
cd_sync "$M" 60
assert_file_eq "$R/rsync.bin" "$T/ref/s2"
assert_file_eq "$M/rsync.bin" "$T/ref/s2"
