#!/usr/bin/env bash
# clonedrive free: drops the local data of files in sync (du shows the space
# returned, the placeholder stays and reads back right), refuses and lists
# files not uploaded yet and files a process maps, and frees an open file
# that is only read (its reader still gets the right bytes).
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir -p "$R/d"
random_file "$R/d/big" $((8 * 1024 * 1024))
random_file "$R/d/small" $((300 * 1024))
cd_mount "$R" "$M" --upload-delay 1h

step "hydrate, then free: du shows the space returned"
"$CD_BIN" hydrate "$M/d" 2>/dev/null || die "hydrate failed"
assert_eq "$(state_of "$M/d/big")" hydrated "after hydrate"
before=$(du -sk "$M/d" | cut -f1)
[ "$before" -ge 8000 ] || die "du before free: $before KiB"
"$CD_BIN" free "$M/d" >"$T/free.out" 2>&1 || die "free failed: $(cat "$T/free.out")"
cat "$T/free.out"
after=$(du -sk "$M/d" | cut -f1)
assert_eq "$after" 0 "du after free (was $before KiB)"
assert_eq "$(state_of "$M/d/big")" placeholder "after free"
assert_file_eq "$M/d/big" "$R/d/big"
[ "$(stat_of "$M" freed_bytes)" -ge $((8 * 1024 * 1024)) ] || die "freed_bytes not counted"

step "a file not uploaded yet is refused, listed, and kept"
random_file "$T/dirty" $((1024 * 1024))
pipe_copy "$T/dirty" "$M/d/dirty"	# not a copy-as-clone: its bytes are stored
rc=0; "$CD_BIN" free "$M/d" 2>"$T/refused" || rc=$?
cat "$T/refused"
assert_eq "$rc" 1 "exit status of a refused free"
grep -q "d/dirty: not uploaded yet" "$T/refused" || die "the dirty file is not listed with its reason"
assert_eq "$(state_of "$M/d/dirty")" dirty "still dirty"
assert_file_eq "$M/d/dirty" "$T/dirty"
assert_fails "not uploaded" "$CD_BIN" free "$M/d/dirty"
"$CD_BIN" sync "$M" 2>/dev/null || die "sync failed"
"$CD_BIN" free "$M/d/dirty" || die "free after the upload failed"
assert_eq "$(state_of "$M/d/dirty")" placeholder "freed once uploaded"
assert_file_eq "$M/d/dirty" "$T/dirty"

step "an open file only read is freed; its reader still reads right"
exec 7<"$M/d/big"
head -c 4096 <&7 >/dev/null
"$CD_BIN" free "$M/d/big" || die "free of a file open for reading failed"
# the kernel may still hold pages; drop them so the read goes to the daemon
echo 1 >/proc/sys/vm/drop_caches
cmp <(cat <&7) <(tail -c +4097 "$R/d/big") || die "reader of a freed file got wrong bytes"
exec 7<&-

step "a file mapped by a process is refused, naming it"
"$CD_BIN" hydrate "$M/d/small" 2>/dev/null
/usr/bin/python3 - "$M/d/small" "$T/mapped" <<'PY' &
import mmap, os, sys, time
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
m[0]
open(sys.argv[2], "w").close()
time.sleep(60)
PY
mapper=$!
wait_for 10 test -e "$T/mapped"
rc=0; "$CD_BIN" free "$M/d/small" 2>"$T/mapped.err" || rc=$?
cat "$T/mapped.err"
kill "$mapper"; wait "$mapper" 2>/dev/null || true
assert_eq "$rc" 1 "free of a mapped file"
grep -q "mapped by python3 (pid $mapper)" "$T/mapped.err" || die "the mapping process is not named"
assert_eq "$(state_of "$M/d/small")" hydrated "a mapped file keeps its data"
"$CD_BIN" free "$M/d/small" || die "free once unmapped failed"
