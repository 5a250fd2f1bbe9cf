#!/usr/bin/env bash
# Copies of local files written into the drive (cp, cat >, dd, Python's
# shutil.copyfile, several at once) keep no local copy once uploaded: they
# become placeholders, with the right bytes on the remote and through the
# mount. Files that are not plain copies, and pinned ones, stay local; so
# does everything with --clone=off.
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir -p "$T/src" "$R/keep"
for i in 1 2 3 4; do
	random_file "$T/src/s$i" $((4 * 1024 * 1024 + i))
done
cd_mount "$R" "$M" --clone spool

step "cp, cat >, dd and shutil.copyfile, two of them at once"
cp "$T/src/s1" "$M/cp.bin" &
cat "$T/src/s2" >"$M/cat.bin" &
wait
dd if="$T/src/s3" of="$M/dd.bin" bs=1M status=none
/usr/bin/python3 -c 'import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])' \
	"$T/src/s4" "$M/py.bin"
step "not copies: own data, and a copy with something appended"
random_file "$M/own.bin" $((1024 * 1024))
{ cat "$T/src/s1"; echo extra; } >"$M/longer.bin"
step "a copy into a pinned directory"
"$CD_BIN" pin "$M/keep" 2>/dev/null
cp "$T/src/s1" "$M/keep/pinned.bin"
"$CD_BIN" sync "$M" 2>/dev/null || die "sync failed"

step "the copies are placeholders once uploaded, with the right bytes"
n=1
for f in cp cat dd py; do
	wait_for 10 state_is "$M/$f.bin" placeholder
	assert_eq "$(du -k "$M/$f.bin" | cut -f1)" 0 "du of $f.bin"
	assert_file_eq "$R/$f.bin" "$T/src/s$n"
	assert_file_eq "$M/$f.bin" "$T/src/s$n"
	n=$((n + 1))
done
[ "$(stat_of "$M" clones_detected)" -ge 4 ] || die "copies not counted"
[ "$(stat_of "$M" clone_freed_bytes)" -ge $((4 * 4 * 1024 * 1024)) ] ||
	die "freed bytes not counted"

step "what is not a plain copy, or is pinned, stays local"
assert_eq "$(state_of "$M/own.bin")" hydrated "own data"
assert_eq "$(state_of "$M/longer.bin")" hydrated "a copy with more"
assert_eq "$(state_of "$M/keep/pinned.bin")" hydrated "a copy in a pinned directory"
assert_file_eq "$R/longer.bin" <(cat "$T/src/s1"; echo extra)

step "--clone=off keeps copies local"
cd_unmount "$M"
cd_mount "$R" "$M" --clone off
cp "$T/src/s2" "$M/off.bin"
"$CD_BIN" sync "$M" 2>/dev/null || die "sync failed"
assert_eq "$(state_of "$M/off.bin")" hydrated "with --clone=off"
assert_file_eq "$R/off.bin" "$T/src/s2"
rc=0; "$CD_BIN" mount "$R" "$T/x" --clone bogus 2>/dev/null || rc=$?
assert_eq "$rc" 2 "a bad --clone value is a usage error"
