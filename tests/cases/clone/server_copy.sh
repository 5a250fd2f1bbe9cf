#!/usr/bin/env bash
# A whole-file copy_file_range inside the mount is a copy made by the remote:
# the destination is a placeholder at once, nothing is fetched or cached, the
# remote holds an identical file. Partial ranges and a source not yet
# uploaded fall back to ordinary copies, with right bytes; shutil.copyfile
# and cp -r (reads and writes) give right bytes (clone/copy_by_reads).
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir -p "$R/tree/sub"
random_file "$R/a" $((32 * 1024 * 1024 + 5))
random_file "$R/tree/x" $((1024 * 1024))
random_file "$R/tree/sub/y" 5000
cd_mount "$R" "$M"

step "cp of a placeholder: copy_file_range, done by the remote"
# a placeholder has no blocks, which cp takes for a sparse file and copies
# by reads; --sparse=never (or any program calling copy_file_range) goes
# straight to the call
strace -f -e trace=copy_file_range -o "$T/cp.strace" cp --sparse=never "$M/a" "$M/b"
cat "$T/cp.strace"
grep -q "copy_file_range(.*= $((32 * 1024 * 1024 + 5))" "$T/cp.strace" ||
	die "cp did not copy with copy_file_range"
assert_eq "$(stat_of "$M" server_copies)" 1 "server-side copies"
assert_eq "$(stat_of "$M" fetched_bytes)" 0 "bytes fetched by the copy"
assert_eq "$(stat_of "$M" cache_bytes)" 0 "cache bytes after the copy"
assert_eq "$(state_of "$M/b")" placeholder "the copy"
assert_file_eq "$R/b" "$R/a"
assert_file_eq "$M/b" "$R/a"

step "copy_file_range from Python, and a hydrated source copied by plain cp"
/usr/bin/python3 - "$M/a" "$M/c" <<'PY'
import os, sys
src = os.open(sys.argv[1], os.O_RDONLY)
dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
done = 0
while True:
    n = os.copy_file_range(src, dst, 1 << 40)
    if n == 0:
        break
    done += n
assert done == os.fstat(src).st_size, done
PY
assert_file_eq "$R/c" "$R/a"
cat "$M/a" >/dev/null	# hydrated: no longer looks sparse to cp
cp "$M/a" "$M/d"
assert_eq "$(stat_of "$M" server_copies)" 3 "server-side copies"
assert_file_eq "$R/d" "$R/a"

step "a partial range falls back to an ordinary copy"
/usr/bin/python3 - "$M/a" "$M/part" <<'PY'
import os, sys
src = os.open(sys.argv[1], os.O_RDONLY)
dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
n = os.copy_file_range(src, dst, 4096, 1000, 0)
assert n == 4096, n
PY
cmp <(cat "$M/part") <(tail -c +1001 "$R/a" | head -c 4096) || die "partial copy"
assert_eq "$(stat_of "$M" server_copies)" 3 "a partial copy is not a server copy"

step "a source not yet uploaded is copied by reads and writes"
random_file "$T/new" $((2 * 1024 * 1024))
cp "$T/new" "$M/new"
cp --sparse=never "$M/new" "$M/new2"
assert_file_eq "$M/new2" "$T/new"
cd_sync "$M"
assert_file_eq "$R/new2" "$T/new"

step "shutil.copyfile and cp -r give the right bytes"
/usr/bin/python3 -c 'import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])' "$M/a" "$M/e"
cp -r "$M/tree" "$M/tree2"
cd_sync "$M"
assert_file_eq "$R/e" "$R/a"
assert_file_eq "$R/tree2/x" "$R/tree/x"
assert_file_eq "$R/tree2/sub/y" "$R/tree/sub/y"
