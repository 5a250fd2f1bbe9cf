#!/usr/bin/env python3
"""
tests/treecmp.py [options] REF OTHER
tests/treecmp.py [options] --snapshot TREE >FILE

Compares two trees and prints every difference, one a line, naming the
path and what differs; exits 0 if there is none, 1 if there are, 2 on bad
usage or a tree that cannot be read at all.

A TREE is
  a directory          walked without following symlinks;
  a snapshot file      made by --snapshot (JSON): a tree as it was then;
  s3://BUCKET[/PREFIX] the objects of a bucket under PREFIX, through the
                       requests of tests/s3/s3req.py (its environment:
                       CD_TEST_S3_ENDPOINT, AWS_ACCESS_KEY_ID, ...): a key
                       is a file, "dir/" (a zero-byte marker) and every
                       common prefix a directory; the mode and mtime are
                       the object's x-amz-meta-mode and x-amz-meta-mtime
                       (a file without them differs from any other tree),
                       a directory's mode is not known (not compared).

What is compared, for every path under the two roots (the roots'
own attributes are not):
  names and kinds      file, directory, symlink, other
  files                size and bytes (sha256), permission bits (07777),
                       mtime to the precision of --mtime
  directories          permission bits; mtime only with --dir-mtime
  symlinks             the target (mode and times are not compared)
Owners, ctimes, atimes and link counts are not compared.

Options:
  --mtime PREC     s (whole seconds, the default), ms, us, ns, or off;
                   two mtimes agree when both truncated to PREC are equal
  --no-mode        do not compare permission bits
  --dir-mtime      also compare the mtimes of directories
  --exclude GLOB   leave out every path matching GLOB (fnmatch, against the
                   path relative to the root and against its last part),
                   with what is under it; may be given more than once
  --snapshot TREE  print TREE as a snapshot file instead of comparing
  --fetch S3 DIR   copy the tree s3://BUCKET[/PREFIX] into the new
                   directory DIR instead of comparing (files with the
                   mode and mtime of their metadata; symlinks), for tools
                   that need files (git fsck, sqlite3)
  --quiet          print only the count of differences
"""

import fnmatch
import hashlib
import json
import os
import stat
import sys
from decimal import Decimal, InvalidOperation

PRECISION = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "off": 0}


class TreeError(Exception):
    pass


def excluded(rel, globs):
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, g) or fnmatch.fnmatchcase(name, g)
               for g in globs)


def file_digest(path):
    """(size read, sha256 hex) of the file at path, or an error string."""
    h = hashlib.sha256()
    n = 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e:
        return None, "open: %s" % e.strerror
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
    except OSError as e:
        return None, "read at %d: %s" % (n, e.strerror)
    finally:
        os.close(fd)
    return n, h.hexdigest()


def walk_dir(root, globs):
    """{relative path: entry} of the directory tree at root."""
    out = {}

    def visit(d, rel):
        try:
            names = sorted(os.listdir(d))
        except OSError as e:
            if rel:
                out[rel]["error"] = "listdir: %s" % e.strerror
                return
            raise TreeError("%s: %s" % (root, e.strerror))
        for name in names:
            r = rel + "/" + name if rel else name
            if excluded(r, globs):
                continue
            p = os.path.join(d, name)
            try:
                st = os.lstat(p)
            except OSError as e:
                out[r] = {"kind": "?", "error": "lstat: %s" % e.strerror}
                continue
            e = {"mode": stat.S_IMODE(st.st_mode), "mtime": st.st_mtime_ns}
            if stat.S_ISREG(st.st_mode):
                e["kind"] = "file"
                e["size"] = st.st_size
                n, digest = file_digest(p)
                if n is None:
                    e["error"] = digest
                else:
                    e["sha256"] = digest
                    if n != st.st_size:
                        e["error"] = "read %d bytes of a file of size %d" % (
                            n, st.st_size)
            elif stat.S_ISDIR(st.st_mode):
                e["kind"] = "dir"
            elif stat.S_ISLNK(st.st_mode):
                e["kind"] = "symlink"
                try:
                    e["target"] = os.readlink(p)
                except OSError as x:
                    e["error"] = "readlink: %s" % x.strerror
            else:
                e["kind"] = "other %o" % stat.S_IFMT(st.st_mode)
            out[r] = e
            if e["kind"] == "dir":
                visit(p, r)

    if not os.path.isdir(root):
        raise TreeError("%s: not a directory" % root)
    visit(root, "")
    return out


class HashSink:
    """A file-like object that hashes and counts what is written, and
    copies it to the file object copy if given."""

    def __init__(self, copy=None):
        self.h = hashlib.sha256()
        self.n = 0
        self.head = b""
        self.copy = copy

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        if len(self.head) < 4096:
            self.head += b[:4096 - len(self.head)]
        if self.copy is not None:
            self.copy.write(b)
        return len(b)


def meta_mtime_ns(v):
    try:
        d = Decimal(v)
    except (InvalidOperation, TypeError):
        return None
    return int(d * 10**9)


def walk_s3(url, globs, dest=None):
    """{relative path: entry} of the objects under an s3:// URL; with
    dest, also a copy of them in the directory dest."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "s3"))
    import s3req  # noqa: E402 (the tests' own S3 client)

    NS = s3req.NS
    import xml.etree.ElementTree as ET

    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    if prefix:
        prefix += "/"
    try:
        env = s3req.env_of()
    except KeyError as e:
        raise TreeError("%s: %s is not set" % (url, e.args[0]))
    keys = []
    query = {"list-type": "2", "prefix": prefix}
    try:
        while True:
            root = ET.fromstring(s3req.request(env, "GET", "/" + bucket,
                                               query).data)
            for c in root.iter(NS + "Contents"):
                keys.append(c.findtext(NS + "Key"))
            token = root.findtext(NS + "NextContinuationToken")
            if root.findtext(NS + "IsTruncated") != "true" or not token:
                break
            query["continuation-token"] = token
    except (s3req.S3Error, OSError) as e:
        raise TreeError("%s: %s" % (url, e))
    out = {}
    if dest is not None:
        os.mkdir(dest)

    def add_dirs(rel):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            out.setdefault(d, {"kind": "dir", "mode": None, "mtime": None})
        if dest is not None and len(parts) > 1:
            os.makedirs(os.path.join(dest, *parts[:-1]), exist_ok=True)

    for key in keys:
        rel = key[len(prefix):]
        if not rel or rel == "/":
            continue
        if excluded(rel.rstrip("/"), globs):
            continue
        if any(excluded("/".join(rel.split("/")[:i]), globs)
               for i in range(1, rel.count("/") + 1)):
            continue
        if rel.endswith("/"):
            add_dirs(rel.rstrip("/"))
            out.setdefault(rel.rstrip("/"),
                           {"kind": "dir", "mode": None, "mtime": None})
            if dest is not None:
                os.makedirs(os.path.join(dest, rel), exist_ok=True)
            continue
        add_dirs(rel)
        path = os.path.join(dest, rel) if dest is not None else None
        copy = open(path, "wb") if path else None
        sink = HashSink(copy)
        e = {"kind": "file", "mode": None, "mtime": None}
        try:
            resp = s3req.request(env, "GET", "/%s/%s" % (bucket, key),
                                 out=sink)
        except (s3req.S3Error, OSError) as x:
            e["error"] = "GET: %s" % x
            out[rel] = e
            continue
        finally:
            if copy is not None:
                copy.close()
        mode = resp.getheader("x-amz-meta-mode")
        mtime = resp.getheader("x-amz-meta-mtime")
        if mode is not None:
            try:
                m = int(mode)
                e["mode"] = stat.S_IMODE(m)
                if stat.S_ISLNK(m):
                    e["kind"] = "symlink"
            except ValueError:
                e["error"] = "x-amz-meta-mode %r" % mode
        if mtime is not None:
            e["mtime"] = meta_mtime_ns(mtime)
        if e["kind"] == "symlink":
            e["target"] = sink.head.decode("utf-8", "surrogateescape")
        else:
            e["size"] = sink.n
            e["sha256"] = sink.h.hexdigest()
            if mode is None:
                e["error"] = "no x-amz-meta-mode"
            elif mtime is None or e["mtime"] is None:
                e["error"] = "no (valid) x-amz-meta-mtime: %r" % mtime
        if path and e["kind"] == "symlink":
            os.unlink(path)
            os.symlink(e["target"], path)
        elif path:
            if e["mode"] is not None:
                os.chmod(path, e["mode"])
            if e["mtime"] is not None:
                os.utime(path, ns=(e["mtime"], e["mtime"]))
        out[rel] = e
    return out


def load(tree, globs):
    if tree.startswith("s3://"):
        return walk_s3(tree, globs)
    if os.path.isdir(tree):
        return walk_dir(tree, globs)
    try:
        with open(tree) as f:
            snap = json.load(f)
    except (OSError, ValueError) as e:
        raise TreeError("%s: not a directory, an s3:// URL or a snapshot "
                        "file: %s" % (tree, e))
    if not isinstance(snap, dict) or snap.get("treecmp") != 1:
        raise TreeError("%s: not a snapshot made by --snapshot" % tree)
    return {k: v for k, v in snap["entries"].items()
            if not any(excluded("/".join(k.split("/")[:i + 1]), globs)
                       for i in range(k.count("/") + 1))}


def fmt_mtime(ns):
    if ns is None:
        return "none"
    return "%d.%09d" % divmod(ns, 10**9)


def compare(a, b, opts):
    """The differences between entries a (REF) and b (OTHER), as lines."""
    diffs = []
    unit = PRECISION[opts["mtime"]]
    for path in sorted(set(a) | set(b)):
        x, y = a.get(path), b.get(path)
        if y is None:
            diffs.append("%s: only in REF (%s)" % (path, x["kind"]))
            continue
        if x is None:
            diffs.append("%s: only in OTHER (%s)" % (path, y["kind"]))
            continue
        for side, e in (("REF", x), ("OTHER", y)):
            if e.get("error"):
                diffs.append("%s: %s: %s" % (path, side, e["error"]))
        if x["kind"] != y["kind"]:
            diffs.append("%s: kind %s, OTHER %s" % (path, x["kind"],
                                                    y["kind"]))
            continue
        kind = x["kind"]
        if kind == "file":
            if x.get("size") != y.get("size"):
                diffs.append("%s: size %s, OTHER %s" % (
                    path, x.get("size"), y.get("size")))
            if (x.get("sha256") and y.get("sha256") and
                    x["sha256"] != y["sha256"]):
                diffs.append("%s: bytes differ (sha256 %s, OTHER %s)" % (
                    path, x["sha256"][:16], y["sha256"][:16]))
        if kind == "symlink":
            if x.get("target") != y.get("target"):
                diffs.append("%s: symlink target %r, OTHER %r" % (
                    path, x.get("target"), y.get("target")))
            continue
        if opts["mode"] and kind in ("file", "dir"):
            mx, my = x.get("mode"), y.get("mode")
            if mx != my and not (kind == "dir" and None in (mx, my)):
                diffs.append("%s: mode %s, OTHER %s" % (
                    path, "none" if mx is None else "%04o" % mx,
                    "none" if my is None else "%04o" % my))
        if unit and (kind == "file" or (kind == "dir" and opts["dir_mtime"])):
            tx, ty = x.get("mtime"), y.get("mtime")
            if kind == "dir" and None in (tx, ty):
                continue
            if (tx is None or ty is None or tx // unit != ty // unit):
                diffs.append("%s: mtime %s, OTHER %s (compared in %s)" % (
                    path, fmt_mtime(tx), fmt_mtime(ty), opts["mtime"]))
    return diffs


def usage(msg=None):
    if msg:
        sys.stderr.write("treecmp: %s\n" % msg)
    sys.stderr.write(__doc__.split("\n\n")[0].strip() + "\n")
    sys.exit(2)


def main(argv):
    opts = {"mtime": "s", "mode": True, "dir_mtime": False, "quiet": False}
    globs = []
    snapshot = None
    fetch = None
    args = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            sys.stdout.write(__doc__.lstrip())
            return 0
        if a == "--fetch":
            if i + 2 >= len(argv) or not argv[i + 1].startswith("s3://"):
                usage("--fetch takes an s3:// URL and a directory")
            fetch = argv[i + 1:i + 3]
            i += 3
            continue
        if a in ("--mtime", "--exclude", "--snapshot"):
            if i + 1 >= len(argv):
                usage("%s needs a value" % a)
            v = argv[i + 1]
            i += 2
            if a == "--mtime":
                if v not in PRECISION:
                    usage("--mtime: s, ms, us, ns or off, not %r" % v)
                opts["mtime"] = v
            elif a == "--exclude":
                globs.append(v)
            else:
                snapshot = v
            continue
        if a == "--no-mode":
            opts["mode"] = False
        elif a == "--dir-mtime":
            opts["dir_mtime"] = True
        elif a == "--quiet":
            opts["quiet"] = True
        elif a == "--":
            args.extend(argv[i + 1:])
            break
        elif a.startswith("-") and a != "-":
            usage("unknown option %s" % a)
        else:
            args.append(a)
        i += 1
    try:
        if fetch is not None:
            if args:
                usage("--fetch takes no other tree")
            entries = walk_s3(fetch[0], globs, fetch[1])
            bad = [k for k, v in sorted(entries.items()) if v.get("error")]
            for k in bad:
                print("%s: %s" % (k, entries[k]["error"]))
            print("treecmp: fetched %d entries of %s into %s" % (
                len(entries), fetch[0], fetch[1]))
            return 1 if bad else 0
        if snapshot is not None:
            if args:
                usage("--snapshot takes one tree")
            entries = load(snapshot, globs)
            json.dump({"treecmp": 1, "root": snapshot, "entries": entries},
                      sys.stdout, indent=0, sort_keys=True)
            sys.stdout.write("\n")
            return 0
        if len(args) != 2:
            usage("two trees to compare")
        a = load(args[0], globs)
        b = load(args[1], globs)
    except TreeError as e:
        sys.stderr.write("treecmp: %s\n" % e)
        return 2
    diffs = compare(a, b, opts)
    if not opts["quiet"]:
        for d in diffs:
            print(d)
    if diffs:
        print("treecmp: %d difference(s) between REF %s and OTHER %s "
              "(%d and %d entries; mtime in %s)" % (
                  len(diffs), args[0], args[1], len(a), len(b),
                  opts["mtime"]))
        return 1
    print("treecmp: same: %s and %s (%d entries; mtime in %s%s%s)" % (
        args[0], args[1], len(a), opts["mtime"],
        "" if opts["mode"] else ", modes not compared",
        ", excluding " + " ".join(globs) if globs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
