#!/usr/bin/env bash
# clonedrive cp: local files and trees copied in through descriptors the
# command passes (SCM_RIGHTS); with --wait it returns once uploaded, the
# copies are placeholders with the right bytes and the cache keeps none of
# them. Clear exit codes; descriptors sent in bad requests are closed, never
# leaked, and the daemon stays healthy.
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
cd_mount "$R" "$M" --upload-delay 1h
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
