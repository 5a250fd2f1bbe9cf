#!/usr/bin/env bash
# Several opens of one file in the modes the kernel does not mix: a writer
# opening a file a reader has on the fast path joins it (one backing file,
# the reader sees its bytes at once); a program whose open is vetoed while
# the file is on the fast path joins it too, and status says over which
# veto; a writer opening a file held in cached mode stays cached. No open
# fails (the kernel answers a wrong mode with EIO), and the remote ends
# with the last bytes written.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"
need_root

random_file "$R/f" 1000000
cd_mount "$R" "$M" --clone off --no-hydrate-for python3
need_fast_path "$M"
cat "$M/f" >/dev/null

step "a reader on the fast path, then a writer: it joins"
exec 5<"$M/f"
fast_open "$M/f" || die "reader: $(fastpath_of "$M/f")"
printf 'written-by-the-writer' |
	dd of="$M/f" bs=1 seek=1000 conv=notrunc status=none
grep -q "^passthrough$" <<<"$(fastpath_of "$M/f")" || die "reader lost"
got=$(dd if=/proc/self/fd/5 bs=1 skip=1000 count=21 status=none)
assert_eq "$got" written-by-the-writer "the reader's view of the write"

step "a vetoed program opens it meanwhile: it joins, over its veto"
python3 - "$M/f" "$CD_BIN" <<'PY'
import subprocess, sys
f = open(sys.argv[1], "rb")
f.seek(1000)
assert f.read(21) == b"written-by-the-writer"
out = subprocess.run([sys.argv[2], "status", sys.argv[1]],
                     capture_output=True, text=True, check=True).stdout
print(out)
assert "open: passthrough (over: program under a hydration policy" in out, out
PY
exec 5<&-

step "a program in cached mode holds it; a writer opens it: cached too"
python3 -c 'import sys, time; f = open(sys.argv[1]); time.sleep(60)' \
	"$M/f" &
holder=$!
fastpath_has() { grep -qxF "$2" <<<"$(fastpath_of "$1")"; }
wait_for 10 fastpath_has "$M/f" "cached: program under a hydration policy"
before=$(stat_of "$M" written_bytes)
printf 'second' | dd of="$M/f" bs=1 seek=5000 conv=notrunc status=none
[ "$(stat_of "$M" written_bytes)" -gt "$before" ] ||
	die "the writer's bytes did not go through the daemon"
kill "$holder"
wait "$holder" 2>/dev/null || true

step "sync: the remote has both writes"
cp "$R/f" "$T/model"
printf 'written-by-the-writer' |
	dd of="$T/model" bs=1 seek=1000 conv=notrunc status=none
printf 'second' | dd of="$T/model" bs=1 seek=5000 conv=notrunc status=none
cd_sync "$M"
assert_file_eq "$R/f" "$T/model"
cmp "$M/f" "$T/model" || die "the mount differs"
