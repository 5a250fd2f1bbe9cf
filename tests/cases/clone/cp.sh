#!/usr/bin/env bash
# clonedrive cp: local files and trees copied in through descriptors the
# command passes (SCM_RIGHTS); with --wait it returns once uploaded, the
# copies are placeholders with the right bytes and the cache keeps none of
# them. Clear exit codes; descriptors sent in bad requests are closed, never
# leaked, and the daemon stays healthy. --wait follows the files it made one
# by one (a line per file without a terminal, a bar kept per file on one),
# and a copy whose upload fails is named and makes it exit 1.
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir -p "$T/src/tree/sub"
random_file "$T/src/a" $((6 * 1024 * 1024))
random_file "$T/src/tree/b" $((2 * 1024 * 1024 + 3))
echo small >"$T/src/tree/sub/c"
cd_mount "$R" "$M"
mkdir "$M/in"

step "files and a tree, waiting for the uploads"
"$CD_BIN" cp --wait "$T/src/a" "$M/in/" 2>"$T/wait.err" || die "cp failed: $(cat "$T/wait.err")"
"$CD_BIN" cp -r --wait "$T/src/tree" "$M/in" 2>>"$T/wait.err" || die "cp -r failed: $(cat "$T/wait.err")"
"$CD_BIN" cp "$T/src/a" "$M/one.bin" || die "cp to a file name failed"
"$CD_BIN" sync "$M" 2>/dev/null
copies="in/a:a in/tree/b:tree/b in/tree/sub/c:tree/sub/c one.bin:a"
for f in $copies; do
	wait_for 10 state_is "$M/${f%%:*}" placeholder
	assert_file_eq "$R/${f%%:*}" "$T/src/${f#*:}"
done
assert_eq "$(du -sk "$M/in" | cut -f1)" 0 "du of the copies"
for f in $copies; do	# read back through the mount (fetched again)
	assert_file_eq "$M/${f%%:*}" "$T/src/${f#*:}"
done

step "status names a copy waiting for its upload"
cd_unmount "$M"
# stored: a copy backed by its source (guard, inplace) says so instead
cd_mount "$R" "$M" --upload-delay 1h --clone spool
"$CD_BIN" cp "$T/src/tree/b" "$M/later.bin" >/dev/null
out=$("$CD_BIN" status "$M/later.bin")
echo "$out"
[[ $out == *"later.bin: dirty"*"a copy of a local file: online only once uploaded"* ]] ||
	die "status does not show the pending copy"
"$CD_BIN" status --json "$M/later.bin" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["copy_of_local_file"] is True and s["state"] == "dirty", s'
"$CD_BIN" sync "$M" 2>/dev/null
wait_for 10 state_is "$M/later.bin" placeholder
"$CD_BIN" status --json "$M/later.bin" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["copy_of_local_file"] is False and s["local_bytes"] == 0, s'

step "exit codes and messages"
rc=0; "$CD_BIN" cp "$T/src/a" "$M/in/" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "an existing file"
grep -q "in/a: File exists" "$T/err" || die "no message for an existing file: $(cat "$T/err")"
rc=0; "$CD_BIN" cp "$T/src/tree" "$M/in/x" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "a directory without -r"
grep -q "use -r" "$T/err" || die "no hint about -r"
rc=0; "$CD_BIN" cp "$T/nope" "$M/in/" 2>/dev/null || rc=$?
assert_eq "$rc" 1 "a missing source"
rc=0; "$CD_BIN" cp "$T/src/a" "$T/" 2>/dev/null || rc=$?
assert_eq "$rc" 3 "a destination outside any mount"
rc=0; "$CD_BIN" cp "$T/src/a" 2>/dev/null || rc=$?
assert_eq "$rc" 2 "no destination"

step "descriptors of bad requests are closed"
pid=$(cd_pid)
sock=$(getfattr --absolute-names --only-values -n user.clonedrive.control "$M")
before=$(ls "/proc/$pid/fd" | wc -l)
/usr/bin/python3 - "$sock" "$T/src/a" <<'PY'
import array, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
fds = [os.open(sys.argv[2], os.O_RDONLY) for _ in range(20)]
def clone(paths, fds):
    body = b"".join(struct.pack("<HI", 1, len(p)) + p for p in paths)
    msg = b"CDC\x01" + struct.pack("<HH", 9, len(paths)) + body
    s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                       array.array("i", fds))])
    r = s.recv(70000)
    return struct.unpack_from("<Q", r, 14)[0]
assert clone([b"x"], fds[:2]) != 0            # one path, two descriptors
assert clone([b"y"] * 20, fds) != 0           # too many descriptors
assert clone([b"../z"], fds[:1]) != 0         # not a name inside the mount
assert clone([b"nodir/z"], fds[:1]) != 0
PY
after=$(ls "/proc/$pid/fd" | wc -l)
assert_eq "$after" "$before" "daemon descriptors after bad requests"
"$CD_BIN" status "$M" >/dev/null || die "daemon unhealthy"

step "--wait follows each file it made, in turn, a line per file in a log"
cd_unmount "$M"
random_file "$T/src/w1" $((24 * 1024 * 1024))
random_file "$T/src/w2" $((24 * 1024 * 1024))
# every upload piece (1 MiB) takes 50 ms more: about a second a file
CLONEDRIVE_TEST_READ_DELAY_MS=50 cd_mount "$R" "$M"
"$CD_BIN" cp --wait "$T/src/w1" "$T/src/w2" "$M/in/" 2>"$T/wait2.err" ||
	die "cp --wait failed: $(cat "$T/wait2.err")"
for f in w1 w2; do	# uploaded before it returned
	s=$(state_of "$M/in/$f")
	[[ $s == placeholder || $s == hydrated ]] ||
		die "in/$f is $s right after cp --wait returned"
	assert_file_eq "$R/in/$f" "$T/src/$f"
done
cat "$T/wait2.err"
not grep -q $'\r' "$T/wait2.err" || die "a bar drawn without a terminal"
grep -qF "upload $M/in/w1: 24.0 MiB of 24.0 MiB" "$T/wait2.err" ||
	die "no line saying in/w1 is uploaded"
grep -qF "upload $M/in/w2: 24.0 MiB of 24.0 MiB" "$T/wait2.err" ||
	die "no line saying in/w2 is uploaded"
# one after the other: nothing on w1 once w2 is shown
last1=$(grep -nF "upload $M/in/w1:" "$T/wait2.err" | tail -n 1 | cut -d: -f1)
first2=$(grep -nF "upload $M/in/w2:" "$T/wait2.err" | head -n 1 | cut -d: -f1)
assert_le "$last1" "$((first2 - 1))" "line of in/w1 after one of in/w2"

step "--wait on a terminal: a bar per file, each kept as a line"
script -qec "$CD_BIN cp --wait $T/src/tree/b $T/src/w1 $M/in/tree/sub/" /dev/null \
	>"$T/tty.out" </dev/null || die "cp --wait on a terminal failed: $(cat "$T/tty.out")"
od -c "$T/tty.out" | tail -n 8
# the completed lines: 100%, then the file's name, then the end of line
for f in b w1; do
	grep -a "100%" "$T/tty.out" | grep -aq "$f"$'\033\\[K\r*$' ||
		die "no completed bar for in/tree/sub/$f"
done
assert_file_eq "$R/in/tree/sub/b" "$T/src/tree/b"
assert_file_eq "$R/in/tree/sub/w1" "$T/src/w1"

step "--wait names a copy whose upload failed, and exits 1"
cd_unmount "$M"
# the source is read in place, unguarded: changing it ruins the copy
cd_mount "$R" "$M" --clone inplace --upload-delay 2s
random_file "$T/src/changed" $((1024 * 1024))
printf Y | dd of="$T/src/changed" bs=1 seek=100 conv=notrunc status=none
"$CD_BIN" cp --wait "$T/src/changed" "$T/src/w2" "$M/" 2>"$T/fail.err" &
cli=$!
# made (and its source hashed) but not uploaded: that waits 2 s
wait_for 1.5 state_is "$M/changed" uploading
printf X | dd of="$T/src/changed" bs=1 seek=100 conv=notrunc status=none
rc=0; wait "$cli" || rc=$?
cat "$T/fail.err"
assert_eq "$rc" 1 "cp --wait of a copy whose source changed"
grep -qF "clonedrive cp: $M/changed: upload failed: " "$T/fail.err" ||
	die "the failed upload is not named"
assert_eq "$(state_of "$M/changed")" error "the copy whose source changed"
# the other file went on, and was waited for
s=$(state_of "$M/w2")
[[ $s == placeholder || $s == hydrated ]] || die "w2 is $s after cp --wait"
assert_file_eq "$R/w2" "$T/src/w2"
