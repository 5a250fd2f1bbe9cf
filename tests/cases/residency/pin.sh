#!/usr/bin/env bash
# Pin states: clonedrive pin hydrates a tree and keeps it (free refuses it),
# files below inherit the state, new remote files in a pinned directory are
# fetched by the keeper; unpin makes the tree evictable again; the same
# controls through the user.clonedrive.pin xattr.
. "$(dirname "$0")/../../lib.sh"
need_root

mkdir -p "$R/photos/2026" "$R/other"
random_file "$R/photos/a.jpg" $((3 * 1024 * 1024))
random_file "$R/photos/2026/b.jpg" $((5 * 1024 * 1024 + 17))
random_file "$R/other/c.bin" $((2 * 1024 * 1024))
cd_mount "$R" "$M" --poll-interval 1s

pin_of() { getfattr --absolute-names --only-values -n user.clonedrive.pin -- "$1"; }

step "a fresh tree is unspecified and online-only"
assert_eq "$(pin_of "$M/photos")" unspecified "pin of a fresh directory"
assert_eq "$(state_of "$M/photos/a.jpg")" placeholder "before pin"

step "pin hydrates the whole tree, without a TTY: plain progress lines"
# the kernel holds these attributes (an hour): pin must make it drop them
assert_eq "$(stat -c %b "$M/photos/a.jpg")" 0 "blocks before pin"
"$CD_BIN" pin "$M/photos" 2>"$T/pin.err" </dev/null || die "pin failed: $(cat "$T/pin.err")"
cat "$T/pin.err"
grep -q $'\r' "$T/pin.err" && die "a progress bar was drawn without a TTY"
for f in a.jpg 2026/b.jpg; do
	assert_eq "$(state_of "$M/photos/$f")" hydrated "$f after pin"
	assert_eq "$(pin_of "$M/photos/$f")" pinned "$f inherits the pin"
done
assert_eq "$(state_of "$M/other/c.bin")" placeholder "outside the pinned tree"
blocks() { test "$(stat -c %b "$M/photos/a.jpg")" -gt 0; }
wait_for 2 blocks
fetched=$(stat_of "$M" fetched_bytes)
assert_file_eq "$M/photos/2026/b.jpg" "$R/photos/2026/b.jpg"
assert_eq "$(stat_of "$M" fetched_bytes)" "$fetched" "pinned data is read without a fetch"
out=$("$CD_BIN" status "$M/photos/2026/b.jpg")
echo "$out"
[[ $out == *"pinned (inherited)"* ]] || die "status does not say the pin is inherited"
"$CD_BIN" status --json "$M/photos/a.jpg" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["pin"] == "pinned" and s["pin_inherited"] is True, s
assert s["local_bytes"] == s["size"] == 3 * 1024 * 1024, s'

step "free refuses pinned files and says why"
rc=0; "$CD_BIN" free "$M/photos/a.jpg" 2>"$T/free.err" || rc=$?
cat "$T/free.err"
assert_eq "$rc" 1 "exit status of a refused free"
grep -q "pinned" "$T/free.err" || die "free does not say the file is pinned"
assert_eq "$(state_of "$M/photos/a.jpg")" hydrated "a pinned file stays"

step "a new remote file in a pinned directory is fetched by the keeper"
random_file "$R/photos/new.jpg" $((1024 * 1024))
"$CD_BIN" sync "$M" >/dev/null
ls "$M/photos" >/dev/null
wait_for 20 state_is "$M/photos/new.jpg" hydrated

step "unpin: evictable again; free now returns the space"
"$CD_BIN" unpin "$M/photos" || die "unpin failed"
assert_eq "$(pin_of "$M/photos")" unpinned "after unpin"
assert_eq "$(pin_of "$M/photos/2026/b.jpg")" unpinned "inherited unpin"
"$CD_BIN" free "$M/photos" || die "free of the unpinned tree failed"
assert_eq "$(state_of "$M/photos/2026/b.jpg")" placeholder "after free"
assert_eq "$(du -k "$M/photos/2026/b.jpg" | cut -f1)" 0 "du after free"
"$CD_BIN" unpin --inherit "$M/photos" || die "unpin --inherit failed"
assert_eq "$(pin_of "$M/photos")" unspecified "after unpin --inherit"

step "the xattr interface: setfattr pin, the keeper hydrates"
setfattr -n user.clonedrive.pin -v pinned "$M/other/c.bin"
assert_eq "$(pin_of "$M/other/c.bin")" pinned "pin set by xattr"
wait_for 20 state_is "$M/other/c.bin" hydrated
assert_fails "Invalid argument" setfattr -n user.clonedrive.pin -v sticky "$M/other/c.bin"
setfattr -n user.clonedrive.pin -v unspecified "$M/other/c.bin"
setfattr -n user.clonedrive.free -v 1 "$M/other/c.bin"
assert_eq "$(state_of "$M/other/c.bin")" placeholder "freed by xattr"

step "pin states survive a remount"
"$CD_BIN" pin "$M/other" 2>/dev/null || die "pin failed"
cd_unmount "$M"
cd_mount "$R" "$M"
assert_eq "$(pin_of "$M/other/c.bin")" pinned "pin after remount"
assert_eq "$(state_of "$M/other/c.bin")" hydrated "data after remount"
