#!/usr/bin/env bash
# sed -i on many files while their uploads (and a few thousand others) are
# queued: every edit writes a temp file and renames it over the original,
# several times over the same files, also with a backup suffix (-i.bak:
# two renames); after clonedrive sync, an unmount and a new mount (same
# cache, fresh cache), the remote and the mount have every edit.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root

"${PROG_GENTREE[@]}" "$T/text" --files "$(prog_n 60 24)" --per-dir 12 \
	--text --modes --names --seed 21 --max-size 12000
# sed -i writes each file anew: its mtime is the time of the edit
PROG_REF_OPTS="--mtime off"

prog_work()
{
	local d=$1 files=() f i
	cp -a "$T/text" "$d/text"
	mkdir "$d/piped"
	while IFS= read -r f; do
		sed -n p <"$f" >"$d/piped/${f##*/}"
	done < <(find "$T/text" -name 'f*.txt' | sort | head -n 8)
	mapfile -d '' files < <(find "$d/text" "$d/piped" -type f -print0 | sort -z)
	sed -i 's/alpha/ALPHA/g' "${files[@]}"
	sed -i -e 's/bravo/B/g' -e '/zulu/d' "${files[@]:0:15}"
	sed -i.bak 's/the/THE/' "${files[@]:10:10}"
	for i in 1 2 3 4 5; do
		sed -i "s/^/$i /" "${files[3]}" "$d/piped/"*
	done
}

prog_main
