#!/usr/bin/env bash
# rsync -a into the mount right after a tar x of a few thousand files (a
# long upload queue): a first copy, then a new version of the tree over it
# with --delete (rsync writes each file as .NAME.XXXXXX and renames it into
# place), and the same with --inplace; after clonedrive sync, an unmount
# and a new mount (same cache, fresh cache), the remote and the mount are
# the new version: names, bytes, modes, mtimes (ns), symlinks.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root

PROG_BULK_FILES=$(prog_n 3000 600)
n=$(prog_n 300 100)
"${PROG_GENTREE[@]}" "$T/src1" --files "$n" --per-dir 30 --seed 11 \
	--modes --symlinks 12 --mtimes --names --max-size 30000
cp -a "$T/src1" "$T/src2"
"${PROG_GENTREE[@]}" "$T/src2" --mutate --files $((n / 5)) --seed 12 --mtimes

prog_work()
{
	rsync -a "$T/src1/" "$1/rs/"
	rsync -a --delete "$T/src2/" "$1/rs/"
	rsync -a --inplace "$T/src1/" "$1/rsi/"
	rsync -a --inplace --delete "$T/src2/" "$1/rsi/"
}

prog_check()
{
	# both copies are the second version of the source
	"${PROG_TREECMP[@]}" --mtime ns "$T/src2" "$1/rs" || return 1
	"${PROG_TREECMP[@]}" --mtime ns "$T/src2" "$1/rsi" || return 1
}

prog_main
