#!/usr/bin/env bash
# cp -a of a tree into the mount (a copy from outside: copy-as-clone), of
# that tree inside the mount (made by the remote) and of a new version of
# it over the first copy, while uploads are queued; after clonedrive sync,
# an unmount and a new mount (same cache, fresh cache), the remote and the
# mount hold the trees cp made: names, bytes, modes, mtimes (ns), symlinks.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root

n=$(prog_n 250 80)
"${PROG_GENTREE[@]}" "$T/src" --files "$n" --per-dir 25 --seed 51 \
	--modes --symlinks 10 --mtimes --names --max-size 300000
cp -a "$T/src" "$T/src2"
"${PROG_GENTREE[@]}" "$T/src2" --mutate --files $((n / 5)) --seed 52 --mtimes

prog_work()
{
	cp -a "$T/src" "$1/in"
	cp -a "$1/in" "$1/copy"
	cp -a "$T/src2/." "$1/in/"
	cp -a "$1/in" "$1/copy2"
	cp -a "$1/copy" "$1/in/nested-copy"
}

prog_main
