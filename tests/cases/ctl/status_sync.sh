#!/usr/bin/env bash
# The control socket: clonedrive status (text, --json, one file) and sync
# from any path inside the mount, clear exit codes, another user refused
# (by the socket directory and, behind it, by SO_PEERCRED), and garbage on
# the socket answered with an error while the daemon stays healthy.
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir -p "$R/d"
random_file "$R/d/f" $((3 * 1024 * 1024))
cd_mount "$R" "$M" -o allow_other

step "status of the mount, from a path inside it"
out=$(cd "$M/d" && "$CD_BIN" status)
echo "$out"
[[ $out == *"$M"* && $out == *"uploads pending: 0"* ]] || die "status text"
"$CD_BIN" status --json "$M" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["mountpoint"].endswith("/mnt"), s
assert s["uploads_pending"] == 0 and s["remote_reachable"] is True, s'

step "status of one file"
head -c 4096 "$M/d/f" >/dev/null
out=$("$CD_BIN" status "$M/d/f")
echo "$out"
[[ $out == "d/f: partial"* ]] || die "file status: $out"
"$CD_BIN" status --json "$M/d/f" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["state"] == "partial" and s["size"] == 3 * 1024 * 1024, s
assert 0 < s["local_bytes"] < s["size"], s'

step "sync uploads what is pending"
echo hello >"$M/new"
"$CD_BIN" sync --timeout 30s "$M"
assert_eq "$(cat "$R/new")" hello "uploaded by sync"

step "exit codes"
rc=0; "$CD_BIN" status "$T" 2>/dev/null || rc=$?
assert_eq "$rc" 3 "status outside a mount"
rc=0; "$CD_BIN" status "$M/nope" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || die "status of a missing file succeeded"
rc=0; "$CD_BIN" status --bogus "$M" 2>/dev/null || rc=$?
assert_eq "$rc" 2 "status with a bad option"

step "another user is refused"
chmod 755 "$T"	# let the other user reach the mount (allow_other)
rc=0
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$CD_BIN" status "$M" 2>&1) || rc=$?
echo "$out"
assert_eq "$rc" 3 "exit status for another user"
[[ $out == *"only the user who mounted it"* ]] || die "no clear message"
sock=$(getfattr --absolute-names --only-values -n user.clonedrive.control "$M")
[ -S "$sock" ] || die "no socket at $sock"
assert_eq "$(stat -c %a "$(dirname "$sock")")" 700 "socket directory mode"
# behind the directory, the daemon itself checks the peer
chmod 755 "$(dirname "$sock")"
chmod 666 "$sock"
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$sock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(b"CDC\x01\x02\x00\x00\x00")            # status, no fields
r = s.recv(70000)
# reply: header, then the status field (key 4, 8 bytes)
assert r[:4] == b"CDC\x01", r
key, length = struct.unpack_from("<HI", r, 8)
status = struct.unpack_from("<Q", r, 14)[0]
assert key == 4 and length == 8 and status == 13, (key, length, status)  # EACCES
PY
chmod 700 "$(dirname "$sock")"

step "garbage on the socket"
python3 - "$sock" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
for msg in [b"x", b"garbage", os.urandom(200), b"CDC\x01\x02\x00\xff\xff",
            b"CDC\x09\x02\x00\x00\x00", b"CDC\x01\x63\x00\x00\x00",
            b"C" * 70000]:
    s.send(msg)
    r = s.recv(70000)
    assert r[:4] == b"CDC\x01" and len(r) > 14, r
PY
"$CD_BIN" status "$M" >/dev/null || die "daemon unhealthy after garbage"
