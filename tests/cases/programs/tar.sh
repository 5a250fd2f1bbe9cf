#!/usr/bin/env bash
# tar x into the mount and tar c out of it while uploads are queued: the
# archive made from the mount right after the extraction is byte for byte
# the one extracted (GNU format: names, bytes, modes, mtimes to the second,
# symlinks, directories), also when written into the mount; after
# clonedrive sync, an unmount and a new mount (same cache, fresh cache),
# the archive in the mount is still that one, and an archive of the
# files and symlinks (directory mtimes are not kept on the remote) made
# from the remote and from the mount equals the source's.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root

"${PROG_GENTREE[@]}" "$T/src" --files "$(prog_n 300 100)" --per-dir 25 \
	--seed 41 --modes --symlinks 15 --mtimes --names --max-size 40000
TAR_OPTS=(--format=gnu --sort=name --owner=0 --group=0 --numeric-owner)
tar cf "$T/in.tar" "${TAR_OPTS[@]}" -C "$T/src" .
# an archive of everything but directories, sorted by name
files_tar()
{
	(cd "$1" && find . ! -type d -print0 | LC_ALL=C sort -z |
		tar c "${TAR_OPTS[@]}" --no-recursion --null -T -)
}
files_tar "$T/src" >"$T/in-files.tar"
# the archive written into the mount is new: its mtime is its own
PROG_REF_OPTS="--mtime ns --exclude x.tar"

prog_work()
{
	mkdir "$1/x"
	tar xf "$T/in.tar" -C "$1/x"
	tar cf - "${TAR_OPTS[@]}" -C "$1/x" . >"$T/round-trip.tar"
	cmp "$T/in.tar" "$T/round-trip.tar" ||
		prog_fail "tar c of the tree just extracted in $1 differs from the archive"
	tar cf "$1/x.tar" "${TAR_OPTS[@]}" -C "$1/x" .
}

prog_check()
{
	local bad=0
	cmp "$T/in.tar" "$1/x.tar" || { echo "$1/x.tar differs from the archive extracted"; bad=1; }
	files_tar "$1/x" >"$T/check-files.tar"
	cmp "$T/in-files.tar" "$T/check-files.tar" || {
		echo "tar c of the files and symlinks of $1/x differs from the source's:"
		diff <(tar tvf "$T/in-files.tar") <(tar tvf "$T/check-files.tar") | head -n 20
		bad=1
	}
	[ $bad = 0 ] && echo "x.tar and the files' archive are the source's"
}

prog_main
