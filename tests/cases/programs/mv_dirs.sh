#!/usr/bin/env bash
# mv of directories whose files were just written and are still queued for
# upload: renamed at once, written into, renamed again into another
# directory, a subdirectory moved out and over an empty directory, files
# appended to and renamed inside the moved tree, and a rename there and
# back; after clonedrive sync, an unmount and a new mount (same cache,
# fresh cache), the remote and the mount hold the final tree.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root

NF=$(prog_n 150 50)
# files are written during the work: their mtimes are their own
PROG_REF_OPTS="--mtime off"

write_files()
{
	python3 - "$@" <<'PY'
import os, random, sys
d, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
os.makedirs(d, exist_ok=True)
for i in range(n):
    sub = os.path.join(d, "sub") if i % 3 == 0 else d
    os.makedirs(sub, exist_ok=True)
    size = rnd.randint(0, 20000)
    with open(os.path.join(sub, "f%04d" % i), "wb") as f:
        f.write(rnd.getrandbits(8 * size).to_bytes(size, "little") if size else b"")
PY
}

prog_work()
{
	local d=$1
	write_files "$d/a" "$NF" 71
	mv "$d/a" "$d/b"
	write_files "$d/b/sub2" $((NF / 3)) 72
	mkdir "$d/z"
	mv "$d/b" "$d/z/c"
	mkdir "$d/empty"
	mv -T "$d/z/c/sub" "$d/empty"
	echo appended >>"$d/z/c/f0001"
	echo appended >>"$d/empty/f0003"
	mv "$d/z/c/f0002" "$d/z/c/f0002.renamed"
	write_files "$d/y" $((NF / 3)) 73
	mv "$d/y" "$d/z/c/y"
	mv "$d/z" "$d/z2"
	mv "$d/z2" "$d/z"
	write_files "$d/gone" 20 74
	mv "$d/gone" "$d/gone2"
	rm -r "$d/gone2"
}

prog_main
