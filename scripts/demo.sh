#!/usr/bin/env bash
#
# scripts/demo.sh [BIN]: a short tour of clonedrive on the embedded default,
# a local-directory remote. Everything lives in a fresh temp directory and is
# unmounted and removed at the end, even on failure.
#
set -euo pipefail
bin=$(realpath "${1:-build/clonedrive}")
demo=$(mktemp -d "${TMPDIR:-/tmp}/clonedrive-demo.XXXXXX")
remote=$demo/remote
mnt=$demo/Cloud
mkdir -p "$remote/photos" "$mnt"

cleanup()
{
	if grep -q " $mnt fuse" /proc/mounts; then
		"$bin" unmount --force "$mnt" || fusermount3 -u -z "$mnt" || true
	fi
	rm -rf "$demo"
}
trap cleanup EXIT

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*"; "$@"; }
stat_of() { getfattr --absolute-names --only-values -n user.clonedrive.stats "$mnt" | sed -n "s/^$1=//p"; }

say "a remote with a 256 MiB disk image and a few photos"
head -c $((256 << 20)) /dev/urandom >"$remote/disk.img"
for i in 1 2 3; do head -c $((i << 20)) /dev/urandom >"$remote/photos/img$i.jpg"; done
echo "hello from the remote" >"$remote/readme.txt"

say "mount it"
run "$bin" mount --cache-dir "$demo/cache" --log-file "$demo/clonedrive.log" \
	--upload-delay 200ms "$remote" "$mnt"

say "the whole tree is there at once, and nothing was downloaded"
run ls -l "$mnt" "$mnt/photos"
run du -sh "$mnt"
echo "fetched from the remote: $(stat_of fetched_bytes) bytes"
run getfattr --absolute-names -n user.clonedrive.state "$mnt/disk.img"

say "reading 4 KiB fetches only that range"
run head -c 4096 "$mnt/disk.img" >/dev/null
echo "fetched from the remote: $(stat_of fetched_bytes) bytes of 268435456"
run getfattr --absolute-names -n user.clonedrive.state "$mnt/disk.img"

say "reading it all hydrates it"
run cmp "$mnt/disk.img" "$remote/disk.img"
run getfattr --absolute-names -n user.clonedrive.state "$mnt/disk.img"
run du -sh "$mnt/disk.img"

say "free gives the space back; the file stays, online only"
run "$bin" free "$mnt/disk.img"
run du -sh "$mnt/disk.img"
run getfattr --absolute-names -n user.clonedrive.state "$mnt/disk.img"

say "pin keeps a folder local (fetched now, never evicted)"
run "$bin" pin "$mnt/photos"
run "$bin" status "$mnt/photos/img2.jpg"

say "a new file reaches the remote in the background"
run cp "$remote/readme.txt" "$mnt/copy.txt"
echo "more" >>"$mnt/copy.txt"
run setfattr -n user.clonedrive.sync -v 30 "$mnt"
run cat "$remote/copy.txt"

say "a copy of a local file keeps no second copy once uploaded"
head -c $((64 << 20)) /dev/urandom >"$demo/video.mkv"
run cp "$demo/video.mkv" "$mnt/video.mkv"
run "$bin" sync "$mnt"
run getfattr --absolute-names -n user.clonedrive.state "$mnt/video.mkv"
run du -sh "$mnt/video.mkv"

say "a copy inside the drive is made by the remote: nothing fetched"
run cp --sparse=never "$mnt/video.mkv" "$mnt/video-copy.mkv"
echo "server-side copies: $(stat_of server_copies)"
run "$bin" status "$mnt"

say "unmount (uploads what is pending first)"
run "$bin" unmount "$mnt"
echo
echo "demo done: clonedrive works here. Next: 'bash scripts/test.sh' runs the test suite."
