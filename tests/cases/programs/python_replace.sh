#!/usr/bin/env bash
# How editors and many tools save: a tempfile.NamedTemporaryFile in the
# same directory, written, fsync'ed and os.replace'd over the file, many
# times over a set of files (some keep the old file's mode, as editors do),
# while uploads are queued; after clonedrive sync, an unmount and a new
# mount (same cache, fresh cache), every file has its last version and no
# temp file is left.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root

ITER=$(prog_n 400 120)
# each save writes the file anew: its mtime is the time of the save
PROG_REF_OPTS="--mtime off"

prog_work()
{
	python3 - "$1/py" "$ITER" <<'PY'
import os, random, shutil, sys, tempfile
d, iters = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
rnd = random.Random(61)
names = ["f%02d.conf" % i for i in range(12)] + ["sub/g%02d.json" % i for i in range(6)]
os.mkdir(os.path.join(d, "sub"))
for n in names:
    with open(os.path.join(d, n), "w") as f:
        f.write("original %s\n" % n)
    os.chmod(os.path.join(d, n), 0o640 if n.endswith("5.conf") else 0o644)
for k in range(iters):
    n = names[rnd.randrange(len(names))]
    path = os.path.join(d, n)
    data = ("%s version %d\n" % (n, k)).encode() * rnd.randint(1, 400)
    with tempfile.NamedTemporaryFile(dir=os.path.dirname(path),
                                     prefix="." + os.path.basename(n) + ".",
                                     delete=False) as t:
        t.write(data)
        t.flush()
        os.fsync(t.fileno())
    if k % 2:
        shutil.copymode(path, t.name)
    os.replace(t.name, path)
    if k % 10 == 0:
        dfd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
PY
}

prog_main
