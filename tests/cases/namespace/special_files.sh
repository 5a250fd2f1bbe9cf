#!/usr/bin/env bash
# Special files on a local-directory remote: mkfifo, mknod p, a unix
# socket's bind and (as root) character and block devices are made with
# their type, mode and device number; a FIFO passes data between a writer
# and a reader through the mount; renames, chmod and rm of them reach the
# remote, where the same nodes are made; they survive a remount, show with
# their types from a fresh cache, and polls leave them alone.
. "$(dirname "$0")/../../lib.sh"

# what ls -l, stat and the test below compare of a node: name, type,
# major:minor, mode
nodes()
{
	(cd "$1" && stat -c '%n %F %t:%T %a' -- "${@:2}")
}

cd_mount "$R" "$M"

step "make a fifo, a named pipe, a socket, and devices"
mkfifo -m 0640 "$M/fifo"
mknod "$M/pipe" p
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$M/sock"
names=(fifo pipe sock)
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$M/chr" c 1 3
	mknod "$M/blk" b 7 200
	names+=(chr blk)
fi
assert_eq "$(stat -c %F "$M/fifo")" fifo "type of the fifo"
assert_eq "$(stat -c %F "$M/pipe")" fifo "type of mknod p"
assert_eq "$(stat -c %F "$M/sock")" socket "type of the socket"
assert_eq "$(stat -c %a "$M/fifo")" 640 "mode of the fifo"
assert_eq "$(stat -c %s "$M/fifo")" 0 "size of the fifo"
if [ "$(id -u)" -eq 0 ]; then
	assert_eq "$(stat -c '%F %t:%T %a' "$M/chr")" \
		"character special file 1:3 600" "the character device"
	assert_eq "$(stat -c '%F %t:%T' "$M/blk")" "block special file 7:c8" \
		"the block device"
	ls -l "$M/chr" | grep -q '^c.* 1, *3 ' ||
		die "ls -l of the character device: $(ls -l "$M/chr")"
	ls -l "$M/blk" | grep -q '^b.* 7, *200 ' ||
		die "ls -l of the block device: $(ls -l "$M/blk")"
fi
ls -l "$M" | grep -q '^p.* fifo$' || die "ls -l of the fifo: $(ls -l "$M")"
ls -l "$M" | grep -q '^s.* sock$' || die "ls -l of the socket: $(ls -l "$M")"
# readdir's d_type: find -type reads it, not stat
assert_eq "$(cd "$M" && find . -type p | sort | tr '\n' ' ')" \
	"./fifo ./pipe " "fifos by d_type"
assert_eq "$(cd "$M" && find . -type s)" ./sock "sockets by d_type"

# mknod(2) of a regular file: an empty file, uploaded though never closed
python3 -c 'import os, stat, sys
os.mknod(sys.argv[1], stat.S_IFREG | 0o640)' "$M/regular"
assert_eq "$(stat -c '%F %a' "$M/regular")" "regular empty file 640" \
	"mknod of a regular file"

step "a fifo passes data from a writer to a reader"
(echo "through the fifo" >"$M/fifo") &
writer=$!
assert_eq "$(timeout 10 cat "$M/fifo")" "through the fifo" "read from the fifo"
wait "$writer"
assert_eq "$(stat -c %F "$M/fifo")" fifo "the fifo after use"

step "the remote gets the same nodes"
cd_sync "$M"
assert_eq "$(nodes "$R" "${names[@]}")" "$(nodes "$M" "${names[@]}")" \
	"the nodes in the remote directory"
assert_eq "$(stat -c '%F %a' "$R/regular")" "regular empty file 640" \
	"the remote's file made by mknod"

step "rename, chmod and rm reach the remote"
mkdir "$M/d"
mv "$M/fifo" "$M/d/fifo2"
mv "$M/sock" "$M/sock2"
chmod 0604 "$M/d/fifo2"
rm "$M/pipe"
names=(d/fifo2 sock2)
if [ "$(id -u)" -eq 0 ]; then
	mv "$M/chr" "$M/d/chr2"
	rm "$M/blk"
	names+=(d/chr2)
fi
cd_sync "$M"
assert_eq "$(nodes "$R" "${names[@]}")" "$(nodes "$M" "${names[@]}")" \
	"the nodes after renames"
assert_eq "$(stat -c %a "$R/d/fifo2")" 604 "the remote fifo's mode"
for gone in fifo pipe sock chr blk; do
	[ ! -e "$R/$gone" ] && [ ! -L "$R/$gone" ] ||
		die "$gone is still in the remote directory"
done
want=$(nodes "$M" "${names[@]}")

step "polls leave them alone"
cd_refresh "$M"
"$CD_BIN" sync "$M" >/dev/null || die "clonedrive sync failed"
assert_eq "$(nodes "$M" "${names[@]}")" "$want" "the nodes after a poll"

step "they survive a remount"
cd_unmount "$M"
cd_mount "$R" "$M"
assert_eq "$(nodes "$M" "${names[@]}")" "$want" "the nodes after a remount"

step "a fresh cache shows them with their types"
mkdir "$T/mnt2"
cd_mount "$R" "$T/mnt2" --cache-dir "$T/cache2" --pid-file "$T/daemon2.pid"
assert_eq "$(nodes "$T/mnt2" "${names[@]}")" "$want" \
	"the nodes from a fresh cache"
(echo again >"$T/mnt2/d/fifo2") &
writer=$!
assert_eq "$(timeout 10 cat "$T/mnt2/d/fifo2")" again "the fifo of a fresh cache"
wait "$writer"
cd_unmount "$T/mnt2"

if grep -q 'giving up' "$T/daemon.log"; then
	die "an op was given up: $(grep 'giving up' "$T/daemon.log" | head -n 2)"
fi
