#!/usr/bin/env python3
"""
tests/gentree.py [options] DIR: make a tree of generated files in DIR
(created if missing), the same for the same options on every machine.

  --files N       how many regular files (default 200)
  --per-dir N     files per directory before a new one is started
                  (default 40); directories nest up to three deep
  --seed S        the seed of every choice (default 1)
  --max-size N    largest file in bytes (default 16384); a few files are
                  empty, most are small
  --text          files are lines of words (for sed, vim), not bytes
  --modes         files get varied permission bits (0644, 0600, 0755,
                  0640, 0444), else 0644; directories are 0755
  --symlinks N    also N symlinks: relative, to files of the tree and a
                  few to nothing
  --mtimes        files get past mtimes with nanoseconds, else they keep
                  the time they were written
  --names         some names with spaces, dots first, UTF-8 and '~'
  --mutate        change the tree already in DIR instead, as a new
                  version of it: of its files, about 20 % get new bytes
                  (appended to, or rewritten with another size), 8 % are
                  deleted, 5 % get another mode and 5 % another mtime;
                  --files new files are added, a third of them in a new
                  directory
"""

import argparse
import os
import random

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet "
         "kilo lima mike november oscar papa quebec romeo sierra tango "
         "uniform victor whiskey xray yankee zulu a an and the at of")\
    .split()
ODD = ["with space", ".dotfirst", "caf\u00e9", "tilde~", "x.y.z", "UPPER"]


def main():
    p = argparse.ArgumentParser(usage=__doc__)
    p.add_argument("dir")
    p.add_argument("--files", type=int, default=200)
    p.add_argument("--per-dir", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-size", type=int, default=16384)
    p.add_argument("--text", action="store_true")
    p.add_argument("--modes", action="store_true")
    p.add_argument("--symlinks", type=int, default=0)
    p.add_argument("--mtimes", action="store_true")
    p.add_argument("--names", action="store_true")
    p.add_argument("--mutate", action="store_true")
    a = p.parse_args()
    if a.mutate:
        mutate(a)
        return

    rnd = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    files = []
    dirs = [""]
    cur = ""
    for i in range(a.files):
        if i and i % a.per_dir == 0:
            parent = rnd.choice([d for d in dirs if d.count("/") < 2])
            cur = (parent + "/" if parent else "") + "d%03d" % len(dirs)
            dirs.append(cur)
            os.makedirs(os.path.join(a.dir, cur), mode=0o755, exist_ok=True)
        name = "f%05d%s" % (i, ".txt" if a.text else ".bin")
        if a.names and rnd.random() < 0.08:
            name = "%s %d%s" % (rnd.choice(ODD), i, ".txt" if a.text else "")
        rel = (cur + "/" if cur else "") + name
        r = rnd.random()
        if r < 0.03:
            size = 0
        elif r < 0.9:
            size = rnd.randint(1, min(4096, a.max_size))
        else:
            size = rnd.randint(1, a.max_size)
        if a.text:
            words = []
            n = 0
            while n < size:
                w = rnd.choice(WORDS)
                words.append(w)
                n += len(w) + 1
            line = []
            out = []
            for w in words:
                line.append(w)
                if rnd.random() < 0.12:
                    out.append(" ".join(line))
                    line = []
            if line:
                out.append(" ".join(line))
            data = ("\n".join(out) + "\n").encode() if size else b""
        else:
            data = rnd.getrandbits(8 * size).to_bytes(size, "little") \
                if size else b""
        path = os.path.join(a.dir, rel)
        with open(path, "wb") as f:
            f.write(data)
        if a.modes:
            os.chmod(path, rnd.choice([0o644, 0o644, 0o600, 0o755, 0o640,
                                       0o444]))
        else:
            os.chmod(path, 0o644)
        if a.mtimes:
            t = 1500000000 * 10**9 + rnd.randrange(10**17)
            os.utime(path, ns=(t, t))
        files.append(rel)
    for i in range(a.symlinks):
        d = rnd.choice(dirs)
        name = (d + "/" if d else "") + "link%03d" % i
        if i % 4 == 3:
            target = "nowhere/" + "x" * rnd.randint(1, 40)
        else:
            to = rnd.choice(files)
            up = "../" * (name.count("/"))
            target = up + to
        os.symlink(target, os.path.join(a.dir, name))
    for d in dirs[1:]:
        os.chmod(os.path.join(a.dir, d), 0o755)


def mutate(a):
    rnd = random.Random(a.seed)
    files = []
    dirs = []
    for top, dnames, fnames in os.walk(a.dir):
        dnames.sort()
        rel = os.path.relpath(top, a.dir)
        dirs.append("" if rel == "." else rel)
        for f in sorted(fnames):
            p = os.path.join(top, f)
            if not os.path.islink(p):
                files.append(p)
    for p in files:
        r = rnd.random()
        if r < 0.10:
            with open(p, "ab") as f:
                f.write(b"appended line %d\n" % rnd.randrange(10**6))
        elif r < 0.20:
            size = rnd.randint(0, a.max_size)
            with open(p, "wb") as f:
                f.write(rnd.getrandbits(8 * size).to_bytes(size, "little")
                        if size else b"")
        elif r < 0.28:
            os.unlink(p)
            continue
        elif r < 0.33:
            os.chmod(p, rnd.choice([0o600, 0o755, 0o640, 0o444]))
        elif r < 0.38:
            t = 1500000000 * 10**9 + rnd.randrange(10**17)
            os.utime(p, ns=(t, t))
    new = "new%03d" % rnd.randrange(1000)
    os.makedirs(os.path.join(a.dir, new), exist_ok=True)
    for i in range(a.files):
        d = new if i % 3 == 0 else rnd.choice(dirs)
        size = rnd.randint(0, min(4096, a.max_size))
        p = os.path.join(a.dir, d, "added%04d.bin" % i)
        with open(p, "wb") as f:
            f.write(rnd.getrandbits(8 * size).to_bytes(size, "little")
                    if size else b"")
        if a.mtimes:
            t = 1500000000 * 10**9 + rnd.randrange(10**17)
            os.utime(p, ns=(t, t))


if __name__ == "__main__":
    main()
