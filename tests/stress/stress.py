#!/usr/bin/python3
"""
tests/stress/stress.py: random operations on a clonedrive mount, checked
against an in-memory model, with syncs, daemon kills, a full cache disk and
remote outages at random points. See tests/stress/README.md.

  stress.py [options] REMOTE

REMOTE is a directory (the local remote) or s3://BUCKET (with --endpoint).
Everything the run makes (mount point, cache, logs, the op logs) goes to
--workdir. Exit 0: every check passed; 1: a difference or an unexpected
error (printed with the ops that led to it and the command to replay);
2: usage or setup error.
"""

import argparse
import copy
import errno
import fcntl
import hashlib
import importlib.util
import io
import json
import mmap
import multiprocessing
import os
import random
import signal
import stat
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1 << 20
PAGE = mmap.PAGESIZE
TMP_PREFIX = ".clonedrive-tmp."
MAX_FILE = 6 * MiB
MAX_DEPTH = 3
NAMES = ["a", "b", "c", "d", "e", "sp ace", "\u00fcn\u00ef", "x.txt",
         "long_" + "n" * 40]
TARGETS = ["a", "../b", "d/c", "/nonexistent/x", "t" * 100, "dangling \u00fcn\u00ef"]
FILE_MODES = [0o644, 0o600, 0o640, 0o755, 0o700, 0o444, 0o400, 0o666, 0o604]
DIR_MODES = [0o755, 0o700, 0o750, 0o711, 0o775]
# chown: -1 leaves that one as it is
UIDS = [0, 1000, 65534, 4242, -1]
GIDS = [0, 100, 1000, 65534, -1]
# mknod of character devices (major, minor): null, zero, one past 255
DEVICES = [(1, 3), (1, 5), (7, 300)]
SPECIAL_TYPES = {"p": stat.S_IFIFO, "c": stat.S_IFCHR}
# the daemon sets mtime from its clock; the kernel's and Python's clocks may
# differ by a tick
MTIME_SLACK = 50_000_000
CRASH_ERRNOS = (errno.ENOTCONN, errno.ECONNABORTED)
SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# ops that need a file's data here: with the remote away, data the cache
# evicted (an ENOSPC round makes it evict) cannot be fetched, and the
# drive says EIO (README: "data that cannot be fetched reads as EIO")
DATA_OPS = ("read", "write", "trunc", "mmap")


def sha(b):
    return hashlib.sha256(b).hexdigest()[:24]


def parse_duration(s):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    for u in ("ms", "s", "m", "h", "d"):
        if s.endswith(u) and s[:-len(u)].replace(".", "", 1).isdigit():
            return float(s[:-len(u)]) * units[u]
    return float(s)


def data_of(dseed, n):
    return random.Random(dseed).randbytes(n)


def errname(e):
    return errno.errorcode.get(e, str(e)) if e else "ok"


def jpath(*parts):
    return "/".join(p for p in parts if p)


# --- the model ---------------------------------------------------------------
#
# A subtree is a Dir; a Dir maps names to Dir, Link, File or Special; a File
# points to an Obj (the inode: open handles keep it, renames move the File,
# hard links are Files on one Obj). An Obj keeps its bytes, mode, owner and
# mtime, and for crashes the versions since its last durable point: what a
# crash may show. A Special (FIFO, device) is its own inode: its hard links
# are the one Special under several names.
#
# mtime states: ("x", ns) set explicitly (or seen), ("w", lo, hi) set by the
# drive's clock during an op between lo and hi, ("?",) not known, ("or",
# [states]) any one of them (a write that failed for want of space may have
# moved it, as on a local disk).

class Obj:
    counter = 0

    def __init__(self, data=b"", mode=0o644, mtime=("?",), uid=0, gid=0):
        Obj.counter += 1
        self.id = Obj.counter
        self.data = bytearray(data)
        self.mode = mode
        self.mtime = mtime
        self.uid = uid
        self.gid = gid
        self.versions = []      # (sha, size, mtime) since the durable one
        self.history = {}       # sha -> op seq that made it (diagnostics)
        self.durable()

    def snap(self):
        return (sha(self.data), len(self.data), self.mtime)

    def durable(self):
        self.versions = [self.snap()]

    def changed(self, seq, mtime=None):
        if mtime is not None:
            self.mtime = mtime
        s = self.snap()
        self.versions.append(s)
        self.history.setdefault(s[0], seq)
        if len(self.versions) > 200:        # keep memory bounded
            self.versions = self.versions[:1] + self.versions[-150:]


class File:
    def __init__(self, obj):
        self.obj = obj


class Link:
    def __init__(self, target):
        self.target = target


class Special:
    def __init__(self, kind, mode, rdev=0, uid=0, gid=0):
        self.kind = kind        # "p" FIFO, "c" character device
        self.mode = mode
        self.rdev = rdev
        self.uid = uid
        self.gid = gid


class Dir:
    def __init__(self, mode=0o755, uid=0, gid=0):
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.ents = {}


def inode_of(node):
    """What a name stands for: a File's Obj, else the node itself."""
    return node.obj if isinstance(node, File) else node


def names_of(root, ino):
    """The paths under root that are names of the inode ino."""
    return [p for p, n in walk_model(root)
            if not isinstance(n, Dir) and inode_of(n) is ino]


def split(path):
    return [p for p in path.split("/") if p]


def lookup(root, path):
    node = root
    for p in split(path):
        if not isinstance(node, Dir) or p not in node.ents:
            return None
        node = node.ents[p]
    return node


def parent_of(root, path):
    parts = split(path)
    return lookup(root, "/".join(parts[:-1])), parts[-1]


def walk_model(root, prefix=""):
    """(relpath, node) of every entry under root, parents first."""
    for name in sorted(root.ents):
        node = root.ents[name]
        p = jpath(prefix, name)
        yield p, node
        if isinstance(node, Dir):
            yield from walk_model(node, p)


def is_under(path, top):
    return path == top or path.startswith(top + "/")


def mtime_either(a, b):
    """The mtime state "a or b" (flat)."""
    if a[0] == "?" or b[0] == "?":
        return ("?",)
    out = []
    for m in (a[1] if a[0] == "or" else [a]) + (b[1] if b[0] == "or" else [b]):
        if m not in out:
            out.append(m)
    return out[0] if len(out) == 1 else ("or", out)


def apply_write(data, off, chunk):
    if off > len(data):
        data.extend(bytes(off - len(data)))
    data[off:off + len(chunk)] = chunk


def resize(data, size):
    if size < len(data):
        del data[size:]
    else:
        data.extend(bytes(size - len(data)))


# --- expecting an op's outcome from the model ---------------------------------

def expect(root, op):
    """The errno the op must fail with (0: it must succeed)."""
    k = op["k"]
    if k in ("write", "trunc", "fsync", "close", "read", "mmap") and "h" in op:
        return 0
    p = op.get("p")
    if k == "stat":
        return 0        # do_stat compares what lstat says with the model
    if k == "link":
        src, dst = lookup(root, op["src"]), lookup(root, op["dst"])
        dpar, _ = parent_of(root, op["dst"])
        if src is None or not isinstance(dpar, Dir):
            return errno.ENOENT
        if dst is not None:
            return errno.EEXIST
        return errno.EPERM if isinstance(src, Dir) else 0
    if k == "rename":
        src, dst = lookup(root, op["src"]), lookup(root, op["dst"])
        dpar, _ = parent_of(root, op["dst"])
        if src is None or not isinstance(dpar, Dir):
            return errno.ENOENT
        if op["src"] == op["dst"]:
            return 0
        # the kernel's order: source an ancestor of the target, then the
        # target an ancestor of the source, then the types
        if is_under(op["dst"], op["src"]):
            return errno.EINVAL
        if is_under(op["src"], op["dst"]):
            return errno.ENOTEMPTY
        if isinstance(src, Dir):
            if dst is not None and not isinstance(dst, Dir):
                return errno.ENOTDIR
            if isinstance(dst, Dir) and dst.ents:
                return errno.ENOTEMPTY
            return 0
        if isinstance(dst, Dir):
            return errno.EISDIR
        return 0
    node = lookup(root, p)
    par, _ = parent_of(root, p)
    if k in ("create", "mkdir", "symlink", "mknod"):
        if not isinstance(par, Dir):
            return errno.ENOENT
        return errno.EEXIST if node is not None else 0
    if node is None:
        return errno.ENOENT
    if k == "unlink":
        return errno.EISDIR if isinstance(node, Dir) else 0
    if k == "rmdir":
        if not isinstance(node, Dir):
            return errno.ENOTDIR
        return errno.ENOTEMPTY if node.ents else 0
    return 0


def apply(root, op, res, seq, handles=None):
    """Apply a successful (or partly successful) op to the model."""
    k = op["k"]
    t = ("w", res.get("t0", 0) - MTIME_SLACK, res.get("t1", 0) + MTIME_SLACK)
    obj = None
    if "h" in op and handles is not None:
        obj = handles[op["h"]]["obj"]
    elif op.get("p") is not None and k not in ("create", "mkdir", "symlink",
                                                "mknod"):
        node = lookup(root, op["p"])
        obj = node.obj if isinstance(node, File) else None
    if k == "create":
        if not res.get("created"):
            return
        par, name = parent_of(root, op["p"])
        obj = Obj(b"", op["mode"], t)
        par.ents[name] = File(obj)
        if handles is not None and op.get("keep") and res.get("hid") is not None:
            handles[res["hid"]] = {"obj": obj, "path": op["p"]}
        n = res.get("n", 0)
        if n:
            apply_write(obj.data, 0, data_of(op["dseed"], op["n"])[:n])
            obj.changed(seq, t)
        if res.get("closed"):
            obj.durable()
    elif k == "write":
        n = res.get("n", 0)
        if n:
            apply_write(obj.data, op["off"], data_of(op["dseed"], op["n"])[:n])
            obj.changed(seq, t)
        elif res.get("space_err"):
            # failed for want of space, nothing written: the kernel moves
            # mtime before it writes (file_update_time), on a local disk
            # as on the cache file of the fast path, so it may have moved
            obj.changed(seq, mtime_either(obj.mtime, t))
        if res.get("synced") or res.get("closed"):
            obj.durable()
    elif k == "mmap":
        if res.get("ok"):
            apply_write(obj.data, op["off"], data_of(op["dseed"], op["n"]))
            obj.changed(seq, t)
            obj.durable()
    elif k == "trunc":
        if res.get("ok"):
            same = op["size"] == len(obj.data)
            resize(obj.data, op["size"])
            obj.changed(seq, ("?",) if same else t)
            obj.durable()
    elif k == "fsync":
        if res.get("ok") and obj is not None:
            obj.durable()
    elif k == "close":
        h = handles.pop(op["h"])
        if res.get("ok"):
            h["obj"].durable()
    elif k == "open":
        if res.get("hid") is not None:
            handles[res["hid"]] = {"obj": obj, "path": op["p"]}
    elif k == "chmod":
        inode_of(lookup(root, op["p"])).mode = op["mode"]
    elif k == "chown":
        ino = inode_of(lookup(root, op["p"]))
        if op["uid"] != -1:
            ino.uid = op["uid"]
        if op["gid"] != -1:
            ino.gid = op["gid"]
    elif k == "utime":
        node = lookup(root, op["p"])
        if isinstance(node, File):
            node.obj.changed(seq, ("x", op["mt"]))
    elif k == "rename":
        if op["src"] == op["dst"]:
            return
        src, dst = lookup(root, op["src"]), lookup(root, op["dst"])
        if dst is not None and not isinstance(src, Dir) and \
                inode_of(src) is inode_of(dst):
            return      # two names of one inode: rename(2) does nothing
        spar, sname = parent_of(root, op["src"])
        dpar, dname = parent_of(root, op["dst"])
        node = spar.ents.pop(sname)
        dpar.ents[dname] = node
    elif k in ("unlink", "rmdir"):
        par, name = parent_of(root, op["p"])
        del par.ents[name]
    elif k == "mkdir":
        par, name = parent_of(root, op["p"])
        par.ents[name] = Dir(op["mode"])
    elif k == "symlink":
        par, name = parent_of(root, op["p"])
        par.ents[name] = Link(op["target"])
    elif k == "link":
        src = lookup(root, op["src"])
        par, name = parent_of(root, op["dst"])
        par.ents[name] = File(src.obj) if isinstance(src, File) else src
    elif k == "mknod":
        par, name = parent_of(root, op["p"])
        par.ents[name] = Special(op["type"], op["mode"],
                                 os.makedev(*op["dev"]) if op.get("dev") else 0)


# --- generating ops ------------------------------------------------------------

def pick_size(rng):
    r = rng.random()
    if r < 0.4:
        return rng.randint(1, 512)
    if r < 0.7:
        return rng.randint(513, 16384)
    if r < 0.9:
        return rng.randint(16385, 256 * 1024)
    return rng.randint(256 * 1024, 1536 * 1024)


def pick_off(rng, size):
    r = rng.random()
    if r < 0.5 or size == 0 and r < 0.6:
        return rng.randint(0, size)
    if r < 0.8:
        return max(0, size + rng.randint(-100, 100))
    if r < 0.95:
        return size + rng.randint(1, MiB)
    return rng.randint(0, 4 * MiB)


def gen_op(rng, root, handles, opts, shared, enospc):
    """One random op on root (a subtree), as a dict of its parameters."""
    ents = list(walk_model(root))
    dirs = [""] + [p for p, n in ents if isinstance(n, Dir)]
    files = [p for p, n in ents if isinstance(n, File)]
    anyp = [p for p, _ in ents]
    dirs_ok = [d for d in dirs if len(split(d)) < MAX_DEPTH]

    def newpath(d=None):
        d = rng.choice(dirs_ok) if d is None else d
        return jpath(d, rng.choice(NAMES))

    kinds = [("create", 12), ("write", 22), ("trunc", 6), ("rename", 8),
             ("unlink", 4), ("mkdir", 5), ("rmdir", 3), ("chmod", 4),
             ("utime", 4), ("fsync", 3), ("read", 5), ("stat", 2)]
    if opts.symlinks:
        kinds.append(("symlink", 3))
    if opts.links:
        kinds.append(("link", 6))
    if opts.special:
        kinds.append(("mknod", 2))
    if opts.owners:
        kinds.append(("chown", 3))
    if opts.mmap and not enospc:
        kinds.append(("mmap", 5))
    if not shared:
        kinds += [("open", 4), ("close", 3 + 2 * len(handles))]
        if handles:
            kinds += [("hwrite", 12), ("htrunc", 2), ("hfsync", 3), ("hread", 3)]
    total = sum(w for _, w in kinds)
    x = rng.uniform(0, total)
    for kind, w in kinds:
        x -= w
        if x <= 0:
            break
    op = {"k": kind}
    h = sorted(handles)
    if kind == "create" or (kind in ("write", "trunc", "mmap", "open",
                                     "fsync", "read") and not files):
        keep = not shared and len(handles) < 4 and rng.random() < 0.3
        return {"k": "create", "p": newpath(), "mode": rng.choice(FILE_MODES),
                "n": pick_size(rng) if rng.random() < 0.8 else 0,
                "dseed": rng.getrandbits(48), "keep": keep}
    if kind == "write":
        p = rng.choice(files)
        size = len(lookup(root, p).obj.data)
        off = pick_off(rng, size)
        n = max(1, min(pick_size(rng), MAX_FILE - off))
        return {"k": "write", "p": p, "off": min(off, MAX_FILE - 1), "n": n,
                "dseed": rng.getrandbits(48), "sync": rng.random() < 0.25}
    if kind == "hwrite":
        hid = rng.choice(h)
        size = len(handles[hid]["obj"].data)
        off = pick_off(rng, size)
        n = max(1, min(pick_size(rng), MAX_FILE - off))
        return {"k": "write", "h": hid, "off": min(off, MAX_FILE - 1), "n": n,
                "dseed": rng.getrandbits(48), "sync": rng.random() < 0.15}
    if kind in ("trunc", "htrunc"):
        op = {"k": "trunc"}
        if kind == "htrunc":
            op["h"] = rng.choice(h)
            size = len(handles[op["h"]]["obj"].data)
        else:
            op["p"] = rng.choice(files)
            size = len(lookup(root, op["p"]).obj.data)
        r = rng.random()
        op["size"] = (rng.randint(0, size) if r < 0.5 else
                      size if r < 0.55 else
                      min(MAX_FILE, size + rng.randint(1, 2 * MiB)))
        return op
    if kind == "mmap":
        cand = [p for p in files if len(lookup(root, p).obj.data) > 0]
        if not cand:
            return {"k": "stat", "p": rng.choice(anyp) if anyp else "nothing"}
        p = rng.choice(cand)
        size = len(lookup(root, p).obj.data)
        off = rng.randint(0, size - 1)
        n = rng.randint(1, min(size - off, 3 * PAGE))
        return {"k": "mmap", "p": p, "off": off, "n": n,
                "dseed": rng.getrandbits(48)}
    if kind == "rename":
        if not anyp:
            return {"k": "mkdir", "p": newpath(), "mode": rng.choice(DIR_MODES)}
        src = rng.choice(anyp)
        r = rng.random()
        linked = [p for p, n in ents if not isinstance(n, Dir) and
                  len(names_of(root, inode_of(n))) > 1]
        if linked and r < 0.15:
            # a linked name: onto another of its inode's names (rename(2)
            # does nothing), or onto something else, or somewhere new
            src = rng.choice(linked)
            others = [p for p in names_of(root, inode_of(lookup(root, src)))
                      if p != src]
            dst = (rng.choice(others) if r < 0.05 else
                   rng.choice(anyp) if r < 0.1 else newpath())
            return {"k": "rename", "src": src, "dst": dst}
        if r < 0.35:            # over an existing entry of the same kind
            node = lookup(root, src)
            same = [p for p, n in ents if type(n) is type(node) and p != src]
            dst = rng.choice(same) if same else newpath()
        elif r < 0.9:
            dst = newpath()
        else:                   # anything, errors included
            dst = rng.choice(anyp)
        return {"k": "rename", "src": src, "dst": dst}
    if kind == "unlink":
        cand = [p for p, n in ents if not isinstance(n, Dir)]
        if not cand or rng.random() < 0.05:
            return {"k": "unlink", "p": rng.choice(anyp) if anyp else newpath()}
        return {"k": "unlink", "p": rng.choice(cand)}
    if kind == "mkdir":
        return {"k": "mkdir", "p": newpath(), "mode": rng.choice(DIR_MODES)}
    if kind == "rmdir":
        d = dirs[1:]
        empty = [p for p in d if not lookup(root, p).ents]
        if empty and rng.random() < 0.7:
            return {"k": "rmdir", "p": rng.choice(empty)}
        return {"k": "rmdir", "p": rng.choice(d) if d else newpath()}
    if kind == "symlink":
        return {"k": "symlink", "p": newpath(), "target": rng.choice(TARGETS)}
    if kind == "link":
        srcs = [p for p, n in ents if isinstance(n, (File, Special))]
        r = rng.random()
        if srcs and r < 0.8:
            src = rng.choice(srcs)
        elif dirs[1:] and r < 0.87:
            src = rng.choice(dirs[1:])          # EPERM
        else:
            src = newpath()                     # ENOENT, mostly
        dst = rng.choice(anyp) if anyp and rng.random() < 0.1 else newpath()
        return {"k": "link", "src": src, "dst": dst}
    if kind == "mknod":
        op = {"k": "mknod", "p": newpath(), "mode": rng.choice(FILE_MODES),
              "type": "p"}
        if opts.devices and rng.random() < 0.4:
            op["type"] = "c"
            op["dev"] = list(rng.choice(DEVICES))
        return op
    if kind == "chown":
        cand = [p for p, n in ents if not isinstance(n, Link)]
        if not cand:
            return {"k": "mkdir", "p": newpath(), "mode": rng.choice(DIR_MODES)}
        return {"k": "chown", "p": rng.choice(cand), "uid": rng.choice(UIDS),
                "gid": rng.choice(GIDS)}
    if kind == "chmod":
        cand = [p for p, n in ents if not isinstance(n, Link)]
        if not cand:
            return {"k": "mkdir", "p": newpath(), "mode": rng.choice(DIR_MODES)}
        p = rng.choice(cand)
        modes = DIR_MODES if isinstance(lookup(root, p), Dir) else FILE_MODES
        return {"k": "chmod", "p": p, "mode": rng.choice(modes)}
    if kind == "utime":
        cand = [p for p, n in ents if not isinstance(n, Link)]
        if not cand:
            return {"k": "mkdir", "p": newpath(), "mode": rng.choice(DIR_MODES)}
        mt = rng.choice([rng.randint(0, 2**31) * 10**9 + rng.randint(0, 10**9 - 1),
                         rng.randint(10**9, 2 * 10**9) * 10**9,
                         rng.randint(1, 2**33) * 10**9 + rng.randint(0, 999) * 10**6])
        return {"k": "utime", "p": rng.choice(cand), "at": mt - 12345, "mt": mt}
    if kind == "fsync":
        return {"k": "fsync", "p": rng.choice(files), "dir": rng.random() < 0.3}
    if kind == "hfsync":
        return {"k": "fsync", "h": rng.choice(h)}
    if kind == "read":
        return {"k": "read", "p": rng.choice(files)}
    if kind == "hread":
        return {"k": "read", "h": rng.choice(h)}
    if kind == "open":
        if len(handles) >= 4:
            return {"k": "close", "h": rng.choice(h)}
        return {"k": "open", "p": rng.choice(files)}
    if kind == "close":
        if not handles:
            return {"k": "stat", "p": rng.choice(anyp) if anyp else "nothing"}
        return {"k": "close", "h": rng.choice(h)}
    return {"k": "stat", "p": rng.choice(anyp) if anyp else "nothing"}


# --- running ops on the mount ---------------------------------------------------

class CrashSeen(Exception):
    pass


class Runner:
    """Executes ops on the mount under base (an absolute directory)."""

    def __init__(self, base, ctl):
        self.base = base
        self.ctl = ctl
        self.fds = {}           # hid -> fd
        self.next_hid = 1

    def path(self, p):
        return os.path.join(self.base, p) if p else self.base

    def run(self, op, root, handles):
        """Returns the result dict; raises OSError for a failed op."""
        k = op["k"]
        res = {"t0": time.time_ns()}
        try:
            getattr(self, "do_" + k)(op, res, root, handles)
        except OSError as e:
            e.times = (res["t0"], time.time_ns())
            raise
        finally:
            res["t1"] = time.time_ns()
        return res

    def do_create(self, op, res, root, handles):
        fl = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fl |= os.O_RDWR if op.get("keep") else os.O_WRONLY
        fd = os.open(self.path(op["p"]), fl, op["mode"])
        res["created"] = True
        res["n"] = 0
        try:
            if op["n"]:
                res["n"] = write_all(fd, data_of(op["dseed"], op["n"]), 0, res)
        except OSError as e:
            res["perr"] = e.errno
        finally:
            if op.get("keep") and not res.get("perr"):
                hid = self.next_hid
                self.next_hid += 1
                self.fds[hid] = fd
                res["hid"] = hid
            else:
                close_into(fd, res)

    def do_write(self, op, res, root, handles):
        data = data_of(op["dseed"], op["n"])
        if "h" in op:
            fd = self.fds[op["h"]]
            res["n"] = write_all(fd, data, op["off"], res)
            if op.get("sync") and not res.get("perr"):
                os.fsync(fd)
                res["synced"] = True
            return
        fd = os.open(self.path(op["p"]), os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        res["n"] = 0
        try:
            res["n"] = write_all(fd, data, op["off"], res)
            if op.get("sync") and not res.get("perr"):
                os.fsync(fd)
                res["synced"] = True
        finally:
            close_into(fd, res)

    def do_trunc(self, op, res, root, handles):
        if "h" in op:
            os.ftruncate(self.fds[op["h"]], op["size"])
        else:
            os.truncate(self.path(op["p"]), op["size"])
        res["ok"] = True

    def do_mmap(self, op, res, root, handles):
        # in a child: a fault on a mount whose daemon died is SIGBUS
        data = data_of(op["dseed"], op["n"])
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(r)
                fd = os.open(self.path(op["p"]), os.O_RDWR | os.O_NOFOLLOW)
                start = op["off"] // PAGE * PAGE
                length = op["off"] + op["n"] - start
                mm = mmap.mmap(fd, length, offset=start)
                # every page read first: one that cannot be had (SIGBUS)
                # ends the op before any of its bytes is written
                for q in range(0, length, PAGE):
                    mm[q]
                mm[op["off"] - start:op["off"] - start + op["n"]] = data
                mm.flush()
                mm.close()
                os.close(fd)
            except OSError as e:
                code = e.errno or 1
            except BaseException:
                code = 255
            os.write(w, str(code).encode())
            os._exit(0)
        os.close(w)
        out = b""
        while True:
            b = os.read(r, 64)
            if not b:
                break
            out += b
        os.close(r)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            e = OSError(errno.EFAULT, "mmap writer killed by signal %d"
                        % os.WTERMSIG(status))
            e.sigbus = os.WTERMSIG(status) == signal.SIGBUS
            raise e
        code = int(out or b"255")
        if code == 255:
            raise OSError(errno.EFAULT, "mmap writer failed")
        if code:
            raise OSError(code, os.strerror(code))
        res["ok"] = True

    def do_fsync(self, op, res, root, handles):
        if "h" in op:
            os.fsync(self.fds[op["h"]])
        else:
            fd = os.open(self.path(op["p"]), os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            if op.get("dir"):
                d = os.path.dirname(self.path(op["p"]))
                fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        res["ok"] = True

    def do_open(self, op, res, root, handles):
        fd = os.open(self.path(op["p"]), os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        hid = self.next_hid
        self.next_hid += 1
        self.fds[hid] = fd
        res["hid"] = hid

    def do_close(self, op, res, root, handles):
        fd = self.fds.pop(op["h"])
        os.close(fd)
        res["ok"] = True

    def do_read(self, op, res, root, handles):
        if "h" in op:
            fd = self.fds[op["h"]]
            want = handles[op["h"]]["obj"].data
            got = read_all(fd, len(want) + 1)
        else:
            want = lookup(root, op["p"]).obj.data
            fd = os.open(self.path(op["p"]), os.O_RDONLY | os.O_NOFOLLOW)
            try:
                got = read_all(fd, len(want) + 1)
            finally:
                os.close(fd)
        if got != want:
            res["mismatch"] = describe_diff(got, want)

    def do_stat(self, op, res, root, handles):
        node = lookup(root, op["p"])
        try:
            st = os.lstat(self.path(op["p"]))
        except FileNotFoundError:
            if node is not None:
                raise
            return
        got = describe_stat(st)
        want = describe_node(root, node)
        if node is None or got != want:
            res["mismatch"] = "lstat: %s, expected %s" % (got, want)
            return
        if isinstance(node, (Dir, Link)):
            return
        # every name of the inode is the same inode (an error fails the
        # op: at a kill the mount is gone)
        for q in names_of(root, inode_of(node)):
            ino = os.lstat(self.path(q)).st_ino
            if ino != st.st_ino:
                res["mismatch"] = ("st_ino %d, and %d at %s, another name of "
                                   "the same inode" % (st.st_ino, ino, q))
                return

    def do_chmod(self, op, res, root, handles):
        os.chmod(self.path(op["p"]), op["mode"], follow_symlinks=False)

    def do_utime(self, op, res, root, handles):
        os.utime(self.path(op["p"]), ns=(op["at"], op["mt"]),
                 follow_symlinks=False)

    def do_rename(self, op, res, root, handles):
        os.rename(self.path(op["src"]), self.path(op["dst"]))

    def do_unlink(self, op, res, root, handles):
        os.unlink(self.path(op["p"]))

    def do_rmdir(self, op, res, root, handles):
        os.rmdir(self.path(op["p"]))

    def do_mkdir(self, op, res, root, handles):
        os.mkdir(self.path(op["p"]), op["mode"])

    def do_symlink(self, op, res, root, handles):
        os.symlink(op["target"], self.path(op["p"]))

    def do_link(self, op, res, root, handles):
        os.link(self.path(op["src"]), self.path(op["dst"]),
                follow_symlinks=False)

    def do_mknod(self, op, res, root, handles):
        dev = os.makedev(*op["dev"]) if op.get("dev") else 0
        os.mknod(self.path(op["p"]), SPECIAL_TYPES[op["type"]] | op["mode"],
                 dev)

    def do_chown(self, op, res, root, handles):
        os.chown(self.path(op["p"]), op["uid"], op["gid"],
                 follow_symlinks=False)

    def drop_handles(self):
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()


def write_all(fd, data, off, res):
    """pwrite all of data at off; a failure after some bytes is kept in
    res["perr"] (what was written counts); a failure before any raises."""
    done = 0
    while done < len(data):
        try:
            n = os.pwrite(fd, data[done:], off + done)
        except OSError as e:
            if done == 0:
                raise
            res["perr"] = e.errno
            break
        if n <= 0:
            break
        done += n
    return done


def close_into(fd, res):
    try:
        os.close(fd)
        res["closed"] = True
    except OSError as e:
        res["close_err"] = e.errno


def read_all(fd, limit):
    out = bytearray()
    while True:
        b = os.pread(fd, 1 << 20, len(out))
        if not b:
            return bytes(out)
        out += b
        if len(out) > limit + MAX_FILE:
            return bytes(out)


def describe_diff(got, want):
    if len(got) != len(want):
        head = "size %d, expected %d" % (len(got), len(want))
    else:
        head = "size %d" % len(got)
    for i in range(min(len(got), len(want))):
        if got[i] != want[i]:
            j = i
            while j < min(len(got), len(want)) and got[j] != want[j]:
                j += 1
            return ("%s; first difference at byte %d (%d bytes differ there): "
                    "got %s, expected %s" % (head, i, j - i, got[i:i + 8].hex(),
                                             want[i:i + 8].hex()))
    return head + "; the common part is equal"


def special_kind(m):
    return ("p" if stat.S_ISFIFO(m) else "c" if stat.S_ISCHR(m) else
            "b" if stat.S_ISBLK(m) else "s" if stat.S_ISSOCK(m) else None)


def describe_stat(st):
    """What do_stat compares: type, mode, owner, link count, size or rdev."""
    m = st.st_mode
    own = (st.st_uid, st.st_gid, st.st_nlink)
    if stat.S_ISDIR(m):
        return ("d", stat.S_IMODE(m)) + own
    if stat.S_ISLNK(m):
        return ("l",)
    if stat.S_ISREG(m):
        return ("f", st.st_size, stat.S_IMODE(m)) + own
    if special_kind(m):
        return ("s", special_kind(m), stat.S_IMODE(m), st.st_rdev) + own
    return ("?", m)


def dir_nlink(node):
    return 2 + sum(isinstance(n, Dir) for n in node.ents.values())


def describe_node(root, node):
    if isinstance(node, Dir):
        return ("d", node.mode, node.uid, node.gid, dir_nlink(node))
    if isinstance(node, Link):
        return ("l",)
    if node is None:
        return None
    ino = inode_of(node)
    own = (ino.uid, ino.gid, len(names_of(root, ino)))
    if isinstance(node, File):
        return ("f", len(ino.data), ino.mode) + own
    return ("s", ino.kind, ino.mode, ino.rdev) + own


# --- reading a tree back into a model (after a crash) -----------------------------

def model_from_tree(path, inodes=None):
    """The model of what the tree under path shows; names of one inode
    (st_ino) become names of one Obj or Special."""
    inodes = {} if inodes is None else inodes
    st = os.lstat(path)
    root = Dir(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        st = os.lstat(p)
        m = st.st_mode
        if stat.S_ISDIR(m):
            root.ents[name] = model_from_tree(p, inodes)
        elif stat.S_ISLNK(m):
            root.ents[name] = Link(os.readlink(p))
        elif st.st_ino in inodes:
            ino = inodes[st.st_ino]
            root.ents[name] = File(ino) if isinstance(ino, Obj) else ino
        elif stat.S_ISREG(m):
            with open(p, "rb") as f:
                data = f.read()
            ino = Obj(data, stat.S_IMODE(m), ("x", st.st_mtime_ns),
                      st.st_uid, st.st_gid)
            inodes[st.st_ino] = ino
            root.ents[name] = File(ino)
        else:
            ino = Special(special_kind(m), stat.S_IMODE(m), st.st_rdev,
                          st.st_uid, st.st_gid)
            inodes[st.st_ino] = ino
            root.ents[name] = ino
    return root


# --- expectations sent to the checker ---------------------------------------------

def dir_spec(node):
    return ("d", node.mode, node.uid, node.gid, dir_nlink(node))


def expectation(root, prefix, inflight=None, handles=None):
    """What the tree under prefix must look like: {relpath: spec}.
    spec: ("d", mode, uid, gid, nlink) | ("l", target) | ("f", cur, mode,
    mtime, allowed shas, allowed mtimes, history, inflight, uid, gid,
    inode, nlink) | ("s", kind, mode, rdev, uid, gid, inode, nlink); inode
    names the model's inode (names with the same one are hard links)."""
    out = {}
    ents = list(walk_model(root, prefix))
    nlink, gk = {}, {}
    for p, node in ents:
        if not isinstance(node, (Dir, Link)):
            ino = inode_of(node)
            nlink[id(ino)] = nlink.get(id(ino), 0) + 1
            gk.setdefault(id(ino), "%s#%d" % (prefix, len(gk)))
    for p, node in ents:
        if isinstance(node, Dir):
            out[p] = dir_spec(node)
        elif isinstance(node, Link):
            out[p] = ("l", node.target)
        elif isinstance(node, Special):
            out[p] = ("s", node.kind, node.mode, node.rdev, node.uid,
                      node.gid, gk[id(node)], nlink[id(node)])
        else:
            o = node.obj
            inf = None
            if inflight is not None and inflight[0] is o:
                inf = inflight[1]
            out[p] = ("f", o.snap(), o.mode, o.mtime,
                      sorted({v[0] for v in o.versions}),
                      [v[2] for v in o.versions], dict(o.history), inf,
                      o.uid, o.gid, gk[id(o)], nlink[id(o)])
    return out


def inflight_candidates(root, op, seq, handles):
    """Models the tree may be in after a crash during op: before, after,
    and for data ops, the object whose bytes may be partly written."""
    pre = copy.deepcopy((root, handles))
    post = copy.deepcopy((root, handles))
    err = expect(post[0], op)
    if err == 0:
        fake = {"t0": 0, "t1": time.time_ns(), "ok": True, "created": True,
                "closed": True, "synced": True, "n": op.get("n", 0)}
        if op["k"] == "create" and op.get("keep"):
            fake["hid"] = -1
        if op["k"] == "open":
            fake["hid"] = -1
        try:
            apply(post[0], op, fake, seq, post[1])
        except (KeyError, AttributeError):
            pass
    cands = []
    for r, hs in (pre, post):
        inf = None
        if op["k"] == "create" and err == 0 and r is post[0]:
            # made (mknod is durable), its first write maybe in part
            obj = getattr(lookup(r, op["p"]), "obj", None)
            if obj is not None:
                inf = (obj, ("write", b"", 0, data_of(op["dseed"], op["n"])))
                obj.versions.insert(0, (sha(b""), 0, obj.mtime))
        if op["k"] in ("write", "mmap") and err == 0:
            obj = (hs[op["h"]]["obj"] if "h" in op
                   else getattr(lookup(r, op["p"]), "obj", None))
            if obj is not None:
                # the bytes before the op: recomputed from the pre model
                pobj = (pre[1][op["h"]]["obj"] if "h" in op
                        else getattr(lookup(pre[0], op["p"]), "obj", None))
                inf = (obj, (op["k"], bytes(pobj.data), op["off"],
                             data_of(op["dseed"], op["n"])))
        cands.append((r, inf))
    return cands


# --- the worker ----------------------------------------------------------------------

class Worker:
    def __init__(self, wid, opts, ctl, conn):
        self.wid = wid
        self.opts = opts
        self.ctl = ctl
        self.conn = conn
        self.name = "w%d" % wid
        self.rng = random.Random("%s:%s" % (opts.seed, self.name))
        self.mnt = opts.mnt
        self.root = Dir(0o755)
        self.handles = {}
        self.runner = Runner(os.path.join(self.mnt, self.name), ctl)
        self.shared_root = Dir(0o755)
        self.shared_runner = Runner(os.path.join(self.mnt, "shared"), ctl)
        self.jpos = 0
        self.jseq = 0
        self.shared_crash = None
        self.seq = 0
        self.inflight = None        # (op, seq, shared?)
        self.failures = []
        self.log = open(os.path.join(opts.workdir, "ops-%s.log" % self.name), "a")
        self.lockf = open(os.path.join(opts.workdir, "shared.lock"), "a")
        self.jpath = os.path.join(opts.workdir, "shared.journal")

    def logop(self, where, op, res, note=""):
        r = dict(res)
        for k in ("err", "perr", "close_err"):
            if k in r:
                r[k] = errname(r[k])
        self.log.write(json.dumps({"seq": self.seq, "w": where, "op": op,
                                   "res": r, "note": note},
                                  ensure_ascii=False) + "\n")

    def fail(self, msg):
        self.failures.append("%s op %d: %s" % (self.name, self.seq, msg))

    def main(self):
        os.umask(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            cmd = self.conn.recv()
            try:
                out = getattr(self, "cmd_" + cmd[0])(*cmd[1:])
            except Exception:
                out = {"error": traceback.format_exc() +
                       "\nlast op: %s" % json.dumps(getattr(self, "cur_op", None))}
            self.log.flush()
            self.conn.send(out)
            if cmd[0] == "exit":
                return

    def cmd_exit(self):
        self.runner.drop_handles()
        return {}

    def cmd_setup(self):
        os.mkdir(os.path.join(self.mnt, self.name), 0o755)
        return {}

    # one round: n ops
    def cmd_round(self, rnd, n):
        self.failures = []
        self.inflight = None
        crashed = False
        for _ in range(n):
            if self.ctl["crashing"].value:
                crashed = True
                break
            shared = self.opts.shared and self.rng.random() < 0.2
            try:
                if shared:
                    self.shared_op(rnd)
                else:
                    self.private_op(rnd)
            except CrashSeen:
                crashed = True
                break
            with self.ctl["ops"].get_lock():
                self.ctl["ops"].value += 1
            if self.failures and not self.opts.keep_going:
                break
        self.log.flush()
        return {"failures": self.failures, "crashed": crashed,
                "seq": self.seq}

    def outcome(self, op, root, handles, runner, where):
        """Run op; compare its outcome with the model's; apply it."""
        self.seq += 1
        self.cur_op = op
        want = expect(root, op)
        enospc = self.ctl["enospc"].value
        unfetchable = (self.ctl["outage"].value and self.ctl["evicted"].value
                       and op["k"] in DATA_OPS)
        try:
            res = runner.run(op, root, handles)
            got = 0
        except OSError as e:
            t0, t1 = getattr(e, "times", (0, 0))
            res = {"t0": t0, "t1": t1}
            got = e.errno or -1
            res["err"] = got
            if getattr(e, "sigbus", False):
                res["sigbus"] = True
        res["applied"] = got == 0
        if (got or res.get("perr") or res.get("close_err")) and \
                self.ctl["crashing"].value:
            self.logop(where, op, res, "in flight at the kill")
            return "crash", res
        if got in CRASH_ERRNOS or res.get("perr") in CRASH_ERRNOS or \
                res.get("close_err") in CRASH_ERRNOS:
            self.logop(where, op, res, "the daemon went away unexpectedly")
            self.fail("%s: %s: the daemon went away (no kill was made)"
                      % (where, json.dumps(op)))
            return "fail", res
        if res.get("perr") or res.get("close_err"):
            e = res.get("perr") or res.get("close_err")
            if not (enospc and e in SPACE_ERRNOS) and \
                    not (unfetchable and e == errno.EIO):
                self.fail("%s: %s: partly done, then %s" % (where, json.dumps(op),
                                                            errname(e)))
        if got != want:
            if enospc and got in SPACE_ERRNOS and want == 0:
                if op["k"] == "write":      # mtime may have moved
                    res["space_err"] = res["applied"] = True
                self.logop(where, op, res, "ENOSPC")
                if op["k"] in ("close", "write"):   # the fd is gone anyway
                    apply(root, op, res, self.seq, handles)
                return "ok", res
            if unfetchable and want == 0 and (
                    got == errno.EIO or res.get("sigbus")):
                self.logop(where, op, res, "%s: maybe evicted, remote away"
                           % ("SIGBUS" if res.get("sigbus") else "EIO"))
                return "ok", res
            self.logop(where, op, res, "expected %s" % errname(want))
            self.fail("%s: %s: got %s, expected %s" % (
                where, json.dumps(op, ensure_ascii=False), errname(got),
                errname(want)))
            return "fail", res
        self.logop(where, op, res)
        if res.get("mismatch"):
            self.fail("%s: %s: %s" % (where, json.dumps(op, ensure_ascii=False),
                                      res["mismatch"]))
            return "fail", res
        if got == 0:
            apply(root, op, res, self.seq, handles)
        return "ok", res

    def private_op(self, rnd):
        op = gen_op(self.rng, self.root, self.handles, self.opts, False,
                    self.ctl["enospc"].value)
        # handles the runner lost (a failed create) are not in the model
        st, res = self.outcome(op, self.root, self.handles, self.runner,
                               self.name)
        if st == "crash":
            self.inflight = (op, self.seq, False)
            raise CrashSeen()
        if st == "fail":
            self.resync_private()
        return st

    # the shared subtree: one op at a time under a lock, journaled so that
    # every worker's copy of its model follows
    def catch_up(self):
        """Apply the journal's entries since the last look."""
        with open(self.jpath, "rb") as f:
            f.seek(self.jpos)
            while True:
                line = f.readline()
                if not line.endswith(b"\n"):
                    return None
                self.jpos += len(line)
                e = json.loads(line)
                self.jseq = e["seq"] + 1
                if e["st"] == "done" and e["res"].get("applied"):
                    apply(self.shared_root, e["op"], e["res"], e["seq"])
                elif e["st"] == "resync":
                    self.shared_root = model_from_tree(
                        os.path.join(self.mnt, "shared"))
                elif e["st"] == "crash":
                    self.shared_crash = e
                    return e

    def shared_op(self, rnd):
        fcntl.flock(self.lockf, fcntl.LOCK_EX)
        try:
            last = self.catch_up()
            if last is not None or self.ctl["crashing"].value:
                raise CrashSeen()
            seq = self.jseq
            rng = random.Random("%s:shared:%d" % (self.opts.seed, seq))
            op = gen_op(rng, self.shared_root, {}, self.opts, True,
                        self.ctl["enospc"].value)
            st, res = self.outcome(op, self.shared_root, {}, self.shared_runner,
                                   "shared")
            ent = {"seq": seq, "op": op, "res": res, "by": self.name,
                   "st": {"ok": "done", "crash": "crash", "fail": "resync"}[st]}
            if st == "fail":
                self.shared_root = model_from_tree(
                    os.path.join(self.mnt, "shared"))
            with open(self.jpath, "ab") as f:
                f.write((json.dumps(ent, ensure_ascii=False) + "\n").encode())
                self.jpos = f.tell()
            self.jseq = seq + 1
            if st == "crash":
                self.shared_crash = ent
                raise CrashSeen()
        finally:
            fcntl.flock(self.lockf, fcntl.LOCK_UN)

    def resync_private(self):
        """After a failure: take what the mount shows, to find more."""
        self.runner.drop_handles()
        self.handles = {}
        try:
            self.root = model_from_tree(os.path.join(self.mnt, self.name))
        except OSError as e:
            self.fail("cannot read the mount back: %s" % e)

    def cmd_quiesce(self):
        """Close every handle (their data is then acknowledged)."""
        fails = []
        self.failures = []
        for hid in sorted(self.handles):
            op = {"k": "close", "h": hid}
            st, _ = self.outcome(op, self.root, self.handles, self.runner,
                                 self.name)
        self.handles = {}
        self.runner.fds.clear()
        fails = self.failures
        self.log.flush()
        return {"failures": fails}

    def cmd_expect(self, with_shared):
        """The expected trees: a list of candidate {path: spec} of mine
        (one, or two around an op in flight at a kill), and the shared
        subtree's if asked."""
        out = {}
        if self.inflight and not self.inflight[2]:
            op, seq, _ = self.inflight
            cands = inflight_candidates(self.root, op, seq, self.handles)
        else:
            cands = [(self.root, None)]
        out["mine"] = [(expectation(r, self.name, inf), dir_spec(r))
                       for r, inf in cands]
        out["ops"] = [] if not self.inflight else [self.inflight[0]]
        if with_shared:
            fcntl.flock(self.lockf, fcntl.LOCK_EX)
            try:
                self.catch_up()
            finally:
                fcntl.flock(self.lockf, fcntl.LOCK_UN)
            last = self.shared_crash
            if last is not None:
                cands = inflight_candidates(self.shared_root, last["op"],
                                            last["seq"], {})
                out["ops"].append(last["op"])
            else:
                cands = [(self.shared_root, None)]
            out["shared"] = [(expectation(r, "shared", inf), dir_spec(r))
                             for r, inf in cands]
        return out

    def cmd_reset(self):
        """After a crash, once checked: the model is what the mount shows."""
        self.runner.drop_handles()
        self.handles = {}
        self.inflight = None
        self.shared_crash = None
        self.root = model_from_tree(os.path.join(self.mnt, self.name))
        self.shared_root = model_from_tree(os.path.join(self.mnt, "shared"))
        self.jpos = os.path.getsize(self.jpath)
        return {}

    def cmd_describe(self, p, path):
        parts = split(p)
        root = self.shared_root if parts[0] == "shared" else self.root
        node = lookup(root, "/".join(parts[1:]))
        if not isinstance(node, File):
            return {"d": "not a file in the model"}
        try:
            with open(path, "rb") as f:
                got = f.read()
        except OSError as e:
            return {"d": "cannot read: %s" % e}
        return {"d": describe_diff(got, bytes(node.obj.data))}

    def cmd_crashed_handles(self):
        """The fds of a dead mount go; the model keeps the handles until
        the check after the crash (an op in flight may name one)."""
        self.runner.drop_handles()
        return {}


def worker_main(wid, opts, ctl, conn):
    try:
        Worker(wid, opts, ctl, conn).main()
    except (EOFError, KeyboardInterrupt):
        pass


# --- reading the mount and the remote -------------------------------------------------

def scan_dir(top, skip_tmp=False):
    """{relpath: ("d", mode, uid, gid, nlink) | ("l", target) | ("f", sha,
    size, mode, mtime_ns, uid, gid, ino, nlink) | ("s", kind, mode, rdev,
    uid, gid, ino, nlink)} of the tree under top; also the temp files the
    local remote left (name list)."""
    out, tmps = {}, []

    def rec(d, rel):
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            r = jpath(rel, name)
            if skip_tmp and name.startswith(TMP_PREFIX):
                tmps.append(r)
                continue
            st = os.lstat(p)
            m = st.st_mode
            if stat.S_ISDIR(m):
                out[r] = ("d", stat.S_IMODE(m), st.st_uid, st.st_gid,
                          st.st_nlink)
                rec(p, r)
            elif stat.S_ISLNK(m):
                out[r] = ("l", os.readlink(p))
            elif stat.S_ISREG(m):
                with open(p, "rb") as f:
                    data = f.read()
                out[r] = ("f", sha(data), len(data), stat.S_IMODE(m),
                          st.st_mtime_ns, st.st_uid, st.st_gid, st.st_ino,
                          st.st_nlink)
            elif special_kind(m):
                out[r] = ("s", special_kind(m), stat.S_IMODE(m), st.st_rdev,
                          st.st_uid, st.st_gid, st.st_ino, st.st_nlink)
            else:
                out[r] = ("?", m)
    rec(top, "")
    return out, tmps


class S3Remote:
    def __init__(self, bucket, endpoint):
        spec = importlib.util.spec_from_file_location(
            "s3req", os.path.join(HERE, "..", "s3", "s3req.py"))
        self.m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.m)
        os.environ.setdefault("CD_TEST_S3_ENDPOINT", endpoint or "")
        self.env = self.m.env_of()
        if endpoint:
            self.env["endpoint"] = endpoint.rstrip("/")
        self.bucket = bucket

    def keys(self):
        ET = self.m.ET
        NS = self.m.NS
        query = {"list-type": "2"}
        keys = []
        while True:
            root = ET.fromstring(self.m.request(self.env, "GET", "/" + self.bucket,
                                                query).data)
            for c in root.iter(NS + "Contents"):
                keys.append(c.findtext(NS + "Key"))
            token = root.findtext(NS + "NextContinuationToken")
            if root.findtext(NS + "IsTruncated") != "true" or not token:
                return keys
            query["continuation-token"] = token

    def scan(self):
        """As scan_dir: directories have no mode, owner or link count here,
        objects no inode (each name is an object of its own)."""
        out = {}
        for key in self.keys():
            parts = key.split("/")
            for i in range(1, len(parts)):
                out.setdefault("/".join(parts[:i]), ("d", None, None, None,
                                                     None))
            if key.endswith("/"):
                continue
            buf = io.BytesIO()
            resp = self.m.request(self.env, "GET", "/%s/%s" % (self.bucket, key),
                                  out=buf)
            data = buf.getvalue()
            mode = resp.getheader("x-amz-meta-mode")
            mt = resp.getheader("x-amz-meta-mtime")
            mt_ns = None
            if mt:      # a signed decimal of seconds: -1.25 is -1.25
                neg = mt.startswith("-")
                s, _, frac = mt.lstrip("-").partition(".")
                mt_ns = int(s) * 10**9 + int((frac + "000000000")[:9] or 0)
                mt_ns = -mt_ns if neg else mt_ns
            uid, gid = (resp.getheader("x-amz-meta-" + h) for h in ("uid", "gid"))
            uid = int(uid) if uid else None
            gid = int(gid) if gid else None
            m = int(mode) if mode else 0
            if stat.S_ISLNK(m) and data:  # as s3fs keeps one: the target
                out[key] = ("l", data.decode("utf-8", "surrogateescape"))
                continue
            if special_kind(m):
                rdev = resp.getheader("x-amz-meta-rdev")
                out[key] = ("s", special_kind(m), stat.S_IMODE(m),
                            int(rdev) if rdev else 0, uid, gid, None, None)
                continue
            out[key] = ("f", sha(data), len(data),
                        stat.S_IMODE(m) if mode else None, mt_ns, uid, gid,
                        None, None)
        return out, []


# --- comparing ---------------------------------------------------------------------------

def mtime_ok(state, ns):
    if state[0] == "or":
        return any(mtime_ok(m, ns) for m in state[1])
    if state[0] == "x":
        return ns == state[1]
    if state[0] == "w":
        return state[1] <= ns <= state[2]
    return True


def fmt_mtime(state):
    if state[0] == "or":
        return " or ".join(fmt_mtime(m) for m in state[1])
    if state[0] == "x":
        return "exactly %d" % state[1]
    if state[0] == "w":
        return "between %d and %d (the op's time)" % (state[1], state[2])
    return "anything"


def partial_ok(actual, inf):
    """actual is the pre-op bytes with a part of an op in flight applied:
    a prefix of a write (requests go in order), any pages of an mmap."""
    kind, pre, off, data = inf
    if kind == "write":
        if len(actual) > max(len(pre), off):
            k = len(actual) - off
            if not 0 < k <= len(data):
                return False
            want = bytearray(pre)
            apply_write(want, off, data[:k])
            return bytes(want) == actual
        if len(actual) != len(pre):
            return False
        k = 0
        seg = actual[off:off + len(data)]
        while k < len(seg) and seg[k] == data[k]:
            k += 1
        want = bytearray(pre)
        if k:
            apply_write(want, off, data[:k])
        return bytes(want) == actual
    # mmap: each page of the range is old or new
    if len(actual) != len(pre):
        return False
    if actual[:off] != pre[:off] or actual[off + len(data):] != pre[off + len(data):]:
        return False
    p = off
    while p < off + len(data):
        e = min(off + len(data), (p // PAGE + 1) * PAGE)
        a = actual[p:e]
        if a != pre[p:e] and a != data[p - off:e - off]:
            return False
        p = e
    return True


class Checker:
    def __init__(self, opts):
        self.opts = opts
        self.content_diffs = []

    def compare(self, where, got, want, crash, reread, remote=False,
                mount_view=None):
        """Differences between a scan (got) and an expectation (want)."""
        diffs = []
        for p in sorted(set(got) | set(want)):
            g, w = got.get(p), want.get(p)
            if g is None:
                diffs.append("%s: %s: missing (expected %s)" % (where, p, kind_name(w)))
                continue
            if w is None:
                diffs.append("%s: %s: unexpected %s" % (where, p, kind_name(g)))
                continue
            if g[0] != w[0]:
                diffs.append("%s: %s: is a %s, expected a %s" % (
                    where, p, kind_name(g), kind_name(w)))
                continue
            if g[0] == "d":
                if g[1] is not None and g[1] != w[1]:
                    diffs.append("%s: %s: directory mode %o, expected %o" % (
                        where, p, g[1], w[1]))
                diffs += cmp_owner(where, p, g[2:4], w[2:4])
                if not remote and g[4] != w[4]:
                    diffs.append("%s: %s: directory st_nlink %d, expected %d "
                                 "(2 and its subdirectories)" % (
                                     where, p, g[4], w[4]))
            elif g[0] == "l":
                if g[1] != w[1]:
                    diffs.append("%s: %s: symlink to %r, expected %r" % (
                        where, p, g[1], w[1]))
            elif g[0] == "s":
                if g[1:4] != w[1:4]:
                    diffs.append("%s: %s: %s mode %o rdev %#x, expected %s "
                                 "mode %o rdev %#x" % ((where, p) + g[1:4] +
                                                       w[1:4]))
                diffs += cmp_owner(where, p, g[4:6], w[4:6])
                diffs += cmp_nlink(where, p, g[7], w[7])
            else:
                diffs += self.cmp_file(where, p, g, w, crash, reread, remote,
                                       mount_view)
        diffs += cmp_inodes(where, got, want)
        return diffs

    def cmp_file(self, where, p, g, w, crash, reread, remote, mount_view):
        _, gsha, gsize, gmode, gmt = g[:5]
        _, cur, mode, mt, allowed, mts, history, inf = w[:8]
        d = cmp_owner(where, p, g[5:7], w[8:10])
        d += cmp_nlink(where, p, g[8], w[11])
        if crash:
            ok = gsha in allowed
            if not ok and inf is not None:
                ok = partial_ok(reread(p), inf)
            if not ok:
                seen = history.get(gsha)
                d.append("%s: %s: %d bytes (sha %s) are none of the versions "
                         "a crash may leave (%s)%s%s" % (
                             where, p, gsize, gsha, ", ".join(allowed),
                             "; they are the version op %d made, before the "
                             "last durable point" % seen if seen else
                             "; nobody wrote this version",
                             "; an op was in flight on it" if inf else ""))
            if gmt is not None and not any(mtime_ok(m, gmt) for m in mts):
                d.append("%s: %s: mtime %d, expected one of: %s" % (
                    where, p, gmt, "; ".join(fmt_mtime(m) for m in mts)))
        else:
            if gsha != cur[0]:
                seen = history.get(gsha)
                d.append("%s: %s: content differs: size %d, expected %d%s" % (
                    where, p, gsize, cur[1],
                    "; it is the version op %d made" % seen if seen else ""))
                self.content_diffs.append((where, p))
            if remote and mount_view is not None and p in mount_view:
                mv = mount_view[p]
                if gmt is not None and mv[0] == "f" and gmt != mv[4]:
                    d.append("%s: %s: mtime %d, the mount has %d" % (
                        where, p, gmt, mv[4]))
            elif gmt is not None and not mtime_ok(mt, gmt):
                d.append("%s: %s: mtime %d, expected %s" % (
                    where, p, gmt, fmt_mtime(mt)))
        if gmode is not None and gmode != mode:
            d.append("%s: %s: mode %o, expected %o" % (where, p, gmode, mode))
        return d


def kind_name(s):
    return {"d": "directory", "l": "symlink", "f": "file"}.get(s[0], "special file")


def cmp_owner(where, p, g, w):
    """g, w: (uid, gid); None where the scan has none (S3 directories)."""
    if g[0] is None and g[1] is None and w[0] is None:
        return []
    if tuple(g) != tuple(w):
        return ["%s: %s: owner %s:%s, expected %s:%s" % ((where, p) + tuple(g) +
                                                         tuple(w))]
    return []


def cmp_nlink(where, p, g, w):
    if g is None or g == w:
        return []
    return ["%s: %s: st_nlink %d, expected %d" % (where, p, g, w)]


def cmp_inodes(where, got, want):
    """Names of one inode in the model are one inode in got (st_ino), and
    names of different ones are not; scans without inodes (S3) pass."""
    d = []
    byino, bygk = {}, {}
    for p, w in want.items():
        g = got.get(p)
        if w[0] not in ("f", "s") or g is None or g[0] != w[0]:
            continue
        ino = g[-2]
        if ino is None:
            continue
        gk = w[-2]
        bygk.setdefault(gk, []).append((p, ino))
        byino.setdefault(ino, set()).add(gk)
    for gk, names in sorted(bygk.items()):
        if len({ino for _, ino in names}) > 1:
            d.append("%s: %s: names of one inode are %d inodes here (%s)" % (
                where, names[0][0], len({i for _, i in names}),
                ", ".join("%s: %d" % n for n in names)))
    for ino, gks in sorted(byino.items()):
        if len(gks) > 1:
            names = [p for gk in sorted(gks) for p, _ in bygk[gk]]
            d.append("%s: %s: inode %d has names of %d different files (%s)" % (
                where, names[0], ino, len(gks), ", ".join(names)))
    return d


# --- the coordinator ----------------------------------------------------------------------

class Failure(Exception):
    pass


class Stress:
    def __init__(self, opts):
        self.opts = opts
        self.rng = random.Random("%s:coord" % opts.seed)
        self.mounted = False
        self.pid = None
        self.tmpfs = None
        self.remote_away = False
        self.gateway_down = False
        self.workers = []
        self.stats = {"ops": 0, "rounds": 0, "crashes": 0, "syncs": 0,
                      "compares": 0, "enospc": 0, "outages": 0, "mounts": 0,
                      "enospc_errors": 0}
        self.checker = Checker(opts)
        self.failed = 0
        self.events = open(os.path.join(opts.workdir, "events.log"), "a")
        self.s3 = None
        if opts.remote.startswith("s3://"):
            self.s3 = S3Remote(opts.remote[5:].split("/")[0], opts.endpoint)

    def say(self, msg):
        line = "[%7.1fs] %s" % (time.monotonic() - self.t0, msg)
        print(line, flush=True)
        self.events.write(line + "\n")
        self.events.flush()

    # mounting
    def mount(self):
        o = self.opts
        delay = o.upload_delay
        if delay == "mixed":
            delay = self.rng.choice(["0", "200ms", "2s"])
        argv = [o.bin, "mount", "--cache-dir", o.cache, "--pid-file", o.pid_file,
                "--log-file", o.log_file, "--poll-interval", o.poll_interval,
                "--upload-delay", delay, "--cache-full-wait", "1s"]
        if o.endpoint:
            argv += ["--endpoint", o.endpoint]
        if o.daemon_debug:
            argv += ["--debug"]
        argv += [o.remote, o.mnt]
        self.say("mount (upload delay %s)" % delay)
        r = subprocess.run(argv, timeout=90, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise Failure("mount failed (exit %d): %s" % (r.returncode, r.stdout))
        self.mounted = True
        self.stats["mounts"] += 1
        with open(o.pid_file) as f:
            self.pid = int(f.read().split()[0])

    def daemon_alive(self):
        """Whether any thread of the daemon still runs: its main thread
        is a zombie before the others have exited, and the cache's lock
        (a flock) goes only with the last of them."""
        try:
            tasks = os.listdir("/proc/%d/task" % self.pid)
        except OSError:
            return False
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/stat" % (self.pid, t)) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] not in "ZX":
                        return True
            except (OSError, IndexError):
                pass
        return False

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        for _ in range(200):
            if not self.daemon_alive():
                break
            time.sleep(0.05)
        else:
            raise Failure("the daemon %d survived SIGKILL for 10s" % self.pid)
        self.lazy_unmount()

    def lazy_unmount(self):
        if subprocess.run(["fusermount3", "-u", "-z", self.opts.mnt],
                          stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", self.opts.mnt],
                           stderr=subprocess.DEVNULL)
        self.mounted = False

    def unmount(self):
        r = subprocess.run([self.opts.bin, "unmount", self.opts.mnt], timeout=150,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode != 0:
            raise Failure("unmount failed (exit %d): %s" % (r.returncode, r.stdout))
        self.mounted = False
        for _ in range(200):
            if not self.daemon_alive():
                return
            time.sleep(0.05)
        raise Failure("the daemon still runs 10s after unmount")

    def sync(self, why):
        t = time.monotonic()
        r = subprocess.run([self.opts.bin, "sync", "--no-progress", "--timeout",
                            "%ds" % self.opts.sync_timeout, self.opts.mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=self.opts.sync_timeout + 30)
        self.stats["syncs"] += 1
        if r.returncode != 0:
            st = subprocess.run([self.opts.bin, "status", self.opts.mnt],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=30).stdout
            raise Failure("sync (%s) failed (exit %d): %s\nstatus:\n%s" % (
                why, r.returncode, r.stdout.strip(), st))
        self.say("sync (%s) took %.1fs" % (why, time.monotonic() - t))

    # the cache on a small file system
    def tmpfs_size(self, size):
        subprocess.run(["mount", "-o", "remount,size=%d" % size, self.tmpfs],
                       check=True, stderr=subprocess.PIPE)

    def shrink(self):
        for _ in range(5):
            st = os.statvfs(self.tmpfs)
            used = (st.f_blocks - st.f_bfree) * st.f_frsize
            extra = self.rng.choice([0, 64 << 10, 512 << 10, 2 << 20])
            try:
                self.tmpfs_size(used + extra + PAGE)
                return used + extra
            except subprocess.CalledProcessError:
                continue
        return None

    # remote outage
    def outage(self, down):
        o = self.opts
        if self.s3:
            cmd = [o.s3_server, "stop-gateway" if down else "start-gateway"]
            if down and o.gateway_marker:
                open(o.gateway_marker, "w").close()
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=120)
            if r.returncode != 0:
                raise Failure("%s failed: %s" % (" ".join(cmd), r.stdout))
            if not down and o.gateway_marker and os.path.exists(o.gateway_marker):
                os.unlink(o.gateway_marker)
            self.gateway_down = down
        else:
            away = o.remote.rstrip("/") + ".away"
            if down:
                os.rename(o.remote, away)
            else:
                os.rename(away, o.remote)
            self.remote_away = down

    # talking to the workers
    def ask(self, cmd, which=None):
        ws = self.workers if which is None else [self.workers[i] for i in which]
        for w in ws:
            w[1].send(cmd)
        outs = []
        for w in ws:
            if not w[1].poll(self.opts.worker_timeout):
                raise Failure("worker %s did not answer %s within %ds" % (
                    w[0].name, cmd[0], self.opts.worker_timeout))
            out = w[1].recv()
            if "error" in out:
                raise Failure("worker error in %s:\n%s" % (cmd[0], out["error"]))
            outs.append(out)
        return outs

    def start_workers(self):
        ctx = multiprocessing.get_context("fork")
        self.ctl = {"crashing": ctx.Value("i", 0), "enospc": ctx.Value("i", 0),
                    "outage": ctx.Value("i", 0), "evicted": ctx.Value("i", 0),
                    "ops": ctx.Value("l", 0)}
        open(os.path.join(self.opts.workdir, "shared.journal"), "w").close()
        for i in range(self.opts.workers):
            a, b = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(i, self.opts, self.ctl, b),
                            name="w%d" % i, daemon=True)
            p.start()
            self.workers.append((p, a))

    # checks
    def scan_mount(self):
        return scan_dir(self.opts.mnt)[0]

    def scan_remote(self):
        if self.s3:
            return self.s3.scan()
        return scan_dir(self.opts.remote, skip_tmp=True)

    def gather(self, crash):
        for i, w in enumerate(self.workers):
            w[1].send(("expect", self.opts.shared and i == 0))
        outs = []
        for w in self.workers:
            if not w[1].poll(self.opts.worker_timeout):
                raise Failure("worker %s did not answer" % w[0].name)
            outs.append(w[1].recv())
            if "error" in outs[-1]:
                raise Failure("worker error in expect:\n%s" % outs[-1]["error"])
        cands = []          # (prefix, [expectation candidates])
        for i, out in enumerate(outs):
            cands.append(("w%d" % i, out["mine"]))
        if self.opts.shared:
            cands.append(("shared", outs[0]["shared"]))
        return cands, [op for out in outs for op in out["ops"]]

    def check(self, why, crash=False):
        """Compare the mount (and after a sync the remote) with the model."""
        self.stats["compares"] += 1
        cands, inflight = self.gather(crash)
        mview = self.scan_mount()
        diffs = []

        def reread(p):
            with open(os.path.join(self.opts.mnt, p), "rb") as f:
                return f.read()
        want_all = {}
        tops = {pre for pre, _ in cands}
        for p in mview:
            if split(p)[0] not in tops:
                diffs.append("mount: %s: unexpected entry at the top" % p)
        for pre, cl in cands:
            got = {p: v for p, v in mview.items() if is_under(p, pre)}
            best = None
            for exp, top in cl:
                want = dict(exp)
                want[pre] = top
                d = self.checker.compare("mount", got, want, crash, reread)
                if best is None or len(d) < len(best[0]):
                    best = (d, want)
                if not d:
                    break
            diffs += best[0]
            want_all.update(best[1])
        if not crash:
            rview, tmps = self.scan_remote()
            for t in tmps:
                diffs.append("remote: %s: a temp file left after a sync" % t)
            rgot = dict(rview)
            if self.s3:
                for p, v in want_all.items():
                    if v[0] == "d" and p not in rgot:
                        # S3 has no empty-directory keys for those with files
                        pass

            def rreread(p):
                with open(os.path.join(self.opts.remote, p), "rb") as f:
                    return f.read()
            rwant = {p: v for p, v in want_all.items()}
            if self.s3:
                rwant = {p: (v if v[0] != "d" else ("d", None, None, None,
                                                    None))
                         for p, v in rwant.items()}
            if not self.opts.symlinks_remote:
                rwant = {p: v for p, v in rwant.items() if v[0] != "l"}
            diffs += self.checker.compare("remote", rgot, rwant, False,
                                          rreread, True, mview)
        if diffs and self.checker.content_diffs:
            diffs += self.describe(self.checker.content_diffs)
        self.checker.content_diffs = []
        if diffs:
            self.report(why, diffs, inflight)
        self.say("check (%s): %d entries %s" % (
            why, len(mview), "match" if not diffs else "DIFFER"))

    def describe(self, items):
        """Where the bytes differ, from the worker that has the model."""
        out = []
        for where, p in items[:20]:
            top = split(p)[0]
            i = 0 if top == "shared" else int(top[1:])
            path = os.path.join(self.opts.remote if where == "remote"
                                else self.opts.mnt, p)
            if self.s3 and where == "remote":
                continue
            self.workers[i][1].send(("describe", p, path))
            if self.workers[i][1].poll(60):
                r = self.workers[i][1].recv()
                out.append("%s: %s: %s" % (where, p, r.get("d", r.get("error"))))
        return out

    def report(self, why, msgs, inflight=()):
        o = self.opts
        print("\n==== FAILURE at %s (seed %s) ====" % (why, o.seed))
        for m in msgs[:200]:
            print("  " + m)
        if len(msgs) > 200:
            print("  ... and %d more" % (len(msgs) - 200))
        for op in inflight:
            print("  op in flight at the kill: %s" % json.dumps(op, ensure_ascii=False))
        print("---- the last ops of each worker (all of them: %s/ops-*.log, "
              "shared.journal) ----" % o.workdir)
        for i in range(o.workers):
            tail(os.path.join(o.workdir, "ops-w%d.log" % i), o.tail, "w%d" % i)
        if o.shared:
            tail(os.path.join(o.workdir, "shared.journal"), o.tail, "shared")
        print("---- replay: %s" % replay_cmd(o))
        if o.keep_going:
            self.failed += len(msgs)
            self.ask(("reset",))
            return
        raise Failure("%d difference(s) at %s, the first: %s" % (
            len(msgs), why, "; ".join(msgs[:3])))

    def round(self, rnd, event):
        o = self.opts
        n = self.rng.randint(10, o.round_ops)
        kill_at = None
        self.ctl["ops"].value = 0
        if event == "crash":
            kill_at = self.rng.randint(1, max(1, n * o.workers - 1))
        if event == "enospc":
            self.ctl["enospc"].value = 1
            lim = self.shrink()
            self.say("round %d: cache disk shrunk to %s bytes" % (rnd, lim))
            self.stats["enospc"] += 1
        if event == "outage":
            self.outage(True)
            self.ctl["outage"].value = 1
            self.say("round %d: the remote is away" % rnd)
            self.stats["outages"] += 1
        for w in self.workers:
            w[1].send(("round", rnd, n))
        outs = [None] * len(self.workers)
        deadline = time.monotonic() + o.worker_timeout
        midsync = event == "midsync"
        while any(x is None for x in outs):
            for i, w in enumerate(self.workers):
                if outs[i] is None and w[1].poll(0.005):
                    outs[i] = w[1].recv()
                    if "error" in outs[i]:
                        raise Failure("worker w%d: %s" % (i, outs[i]["error"]))
            if kill_at is not None and (self.ctl["ops"].value >= kill_at or
                                        all(x is not None for x in outs)):
                self.ctl["crashing"].value = 1
                self.kill()
                self.stats["crashes"] += 1
                self.say("round %d: killed the daemon after %d ops" % (
                    rnd, self.ctl["ops"].value))
                kill_at = None
            if midsync and self.ctl["ops"].value >= n // 2:
                midsync = False
                self.sync("in the middle of a round")
            if time.monotonic() > deadline:
                raise Failure("round %d: workers did not finish in %ds" % (
                    rnd, o.worker_timeout))
        self.stats["ops"] += self.ctl["ops"].value
        fails = [f for out in outs for f in out["failures"]]
        if event == "enospc":
            self.tmpfs_size(o.tmpfs_size)
            self.ctl["enospc"].value = 0
            self.ctl["evicted"].value = 1   # clean data may be gone since
        if event == "outage":
            self.ctl["outage"].value = 0
            self.outage(False)
            self.say("round %d: the remote is back" % rnd)
        if fails:
            self.report("round %d" % rnd, fails)
        if event == "crash":
            self.ask(("crashed_handles",))
            self.mount()
            self.check("after the kill in round %d" % rnd, crash=True)
            self.ctl["crashing"].value = 0
            self.ask(("reset",))

    def run(self):
        o = self.opts
        self.t0 = time.monotonic()
        self.say("seed %s; replay: %s" % (o.seed, replay_cmd(o)))
        if o.enospc:
            self.tmpfs = os.path.join(o.workdir, "cachefs")
            os.makedirs(self.tmpfs, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % o.tmpfs_size,
                            "tmpfs", self.tmpfs], check=True)
        self.mount()
        self.probe()
        self.start_workers()
        self.ask(("setup",))
        if o.shared:
            os.mkdir(os.path.join(o.mnt, "shared"), 0o755)
        self.sync("start")
        deadline = self.t0 + o.duration
        rnd = 0
        last_note = time.monotonic()
        while time.monotonic() < deadline:
            rnd += 1
            events = [("none", 40), ("midsync", 10)]
            if o.crash:
                events.append(("crash", 20))
            if o.enospc:
                events.append(("enospc", 10))
            if o.outage and rnd > 1:
                events.append(("outage", 6 if self.s3 else 10))
            event = weighted(self.rng, events)
            compare = event in ("crash", "enospc", "outage") or \
                self.rng.random() < 0.35
            self.round(rnd, event)
            self.stats["rounds"] += 1
            if compare:
                self.ask(("quiesce",))
                self.sync("after round %d (%s)" % (rnd, event))
                self.check("after round %d (%s)" % (rnd, event))
            if time.monotonic() - last_note > 30:
                last_note = time.monotonic()
                self.say("progress: %s" % json.dumps(self.stats))
        self.ask(("quiesce",))
        self.sync("the end")
        self.check("the end")
        self.unmount()
        self.say("unmounted; the remote once more, then a fresh mount of the same cache")
        self.mount()
        self.check("mounted again after a clean unmount")
        self.unmount()
        if self.failed:
            raise Failure("%d difference(s) in all (--keep-going)" % self.failed)
        self.say("PASS: %s" % json.dumps(self.stats))

    def probe(self):
        """Symlinks: the S3 remote has none (EPERM, documented)."""
        p = os.path.join(self.opts.mnt, ".probe-link")
        self.opts.symlinks_remote = True
        try:
            os.symlink("x", p)
            os.unlink(p)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            self.say("symlinks: %s on this remote, left out" % errname(e.errno))
            self.opts.symlinks = False
            self.opts.symlinks_remote = False

    def cleanup(self):
        for p, conn in self.workers:
            try:
                conn.send(("exit",))
            except OSError:
                pass
        for p, conn in self.workers:
            p.join(5)
            if p.is_alive():
                p.kill()
        if self.remote_away:
            try:
                self.outage(False)
            except (OSError, Failure) as e:
                print("cleanup: cannot bring the remote back: %s" % e)
        if self.gateway_down:
            try:
                self.outage(False)
            except (OSError, Failure, subprocess.SubprocessError) as e:
                print("cleanup: cannot start the gateway: %s" % e)
        if self.tmpfs:
            try:
                self.tmpfs_size(self.opts.tmpfs_size)
            except (OSError, subprocess.CalledProcessError):
                pass
        if is_mounted(self.opts.mnt):
            try:
                subprocess.run([self.opts.bin, "unmount", "--force",
                                self.opts.mnt], timeout=60,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            except (OSError, subprocess.SubprocessError) as e:
                print("cleanup: unmount --force: %s" % e)
            if is_mounted(self.opts.mnt):
                self.lazy_unmount()
        if self.pid and self.daemon_alive():
            time.sleep(1)
            if self.daemon_alive():
                os.kill(self.pid, signal.SIGKILL)
        if self.tmpfs and is_mounted(self.tmpfs, any_fs=True):
            subprocess.run(["umount", "-l", self.tmpfs])


def weighted(rng, items):
    x = rng.uniform(0, sum(w for _, w in items))
    for k, w in items:
        x -= w
        if x <= 0:
            return k
    return items[-1][0]


def is_mounted(path, any_fs=False):
    path = os.path.abspath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            mp = parts[1].encode().decode("unicode_escape")
            if mp == path and (any_fs or parts[2].startswith("fuse")):
                return True
    return False


def tail(path, n, label):
    try:
        with open(path) as f:
            lines = f.readlines()[-n:]
    except OSError:
        return
    print("  -- %s (last %d):" % (label, len(lines)))
    for line in lines:
        print("    " + line.rstrip()[:400])


def replay_cmd(o):
    argv = [sys.argv[0]]
    skip = False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a in ("--seed",):
            skip = True
            continue
        if a.startswith("--seed="):
            continue
        argv.append(a)
    argv[1:1] = ["--seed", str(o.seed)]
    return " ".join(shlex_quote(a) for a in argv)


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("remote", help="a directory, or s3://BUCKET")
    ap.add_argument("--workdir", required=True,
                    help="mount point, cache, logs go here (created)")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build",
                                                  "clonedrive"))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", default="60s",
                    help="how long to run ops (then sync, check, unmount)")
    ap.add_argument("--soak", default=None, help="a long run, e.g. 2h")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--round-ops", type=int, default=60,
                    help="at most this many ops per worker per round")
    ap.add_argument("--upload-delay", default="mixed",
                    help="for the mount; 'mixed': 0, 200ms or 2s at each mount")
    ap.add_argument("--poll-interval", default="1s")
    ap.add_argument("--endpoint", default=None, help="S3 endpoint URL")
    ap.add_argument("--s3-server", default=os.path.join(HERE, "..", "s3", "server.sh"),
                    help="tests/s3/server.sh, for S3 outages (S3_STATE_DIR set)")
    ap.add_argument("--gateway-marker", default=None,
                    help="a file to create while the S3 gateway is down")
    ap.add_argument("--pid-file", default=None)
    ap.add_argument("--log-file", default=None)
    ap.add_argument("--no-crash", dest="crash", action="store_false")
    ap.add_argument("--no-enospc", dest="enospc", action="store_false",
                    help="no cache on a small tmpfs")
    ap.add_argument("--no-outage", dest="outage", action="store_false")
    ap.add_argument("--no-mmap", dest="mmap", action="store_false")
    ap.add_argument("--no-symlinks", dest="symlinks", action="store_false")
    ap.add_argument("--no-links", dest="links", action="store_false",
                    help="no hard links (link(2))")
    ap.add_argument("--no-special", dest="special", action="store_false",
                    help="no mkfifo or mknod")
    ap.add_argument("--no-owners", dest="owners", action="store_false",
                    help="no chown")
    ap.add_argument("--no-shared", dest="shared", action="store_false")
    ap.add_argument("--daemon-debug", action="store_true",
                    help="mount with --debug (a verbose daemon.log)")
    ap.add_argument("--keep-going", action="store_true",
                    help="after a failure go on (the model takes what the "
                    "mount shows), to find more; exit 1 at the end")
    ap.add_argument("--tmpfs-size", default=str(512 * MiB))
    ap.add_argument("--sync-timeout", type=int, default=90)
    ap.add_argument("--worker-timeout", type=int, default=120)
    ap.add_argument("--tail", type=int, default=25,
                    help="ops of each worker to print on failure")
    o = ap.parse_args()
    if o.seed is None:
        o.seed = random.SystemRandom().randint(1, 2**31)
    o.duration = parse_duration(o.soak or o.duration)
    o.tmpfs_size = int(parse_size(o.tmpfs_size))
    o.bin = os.path.abspath(o.bin)
    o.workdir = os.path.abspath(o.workdir)
    os.makedirs(o.workdir, exist_ok=True)
    if os.listdir(o.workdir):
        sys.exit("stress.py: the work directory %s is not empty" % o.workdir)
    o.mnt = os.path.join(o.workdir, "mnt")
    os.makedirs(o.mnt, exist_ok=True)
    o.cache = os.path.join(o.workdir, "cachefs" if o.enospc else "", "cache")
    o.pid_file = os.path.abspath(o.pid_file or os.path.join(o.workdir, "daemon.pid"))
    o.log_file = os.path.abspath(o.log_file or os.path.join(o.workdir, "daemon.log"))
    if not o.remote.startswith("s3://"):
        o.remote = os.path.abspath(o.remote)
        os.makedirs(o.remote, exist_ok=True)
        if os.listdir(o.remote):
            sys.exit("stress.py: the remote %s is not empty" % o.remote)
    o.symlinks_remote = True
    # device nodes and owners other than one's own need root
    o.devices = os.geteuid() == 0
    if os.geteuid() != 0:
        o.owners = False
    if o.enospc and os.geteuid() != 0:
        sys.exit("stress.py: --enospc (the default) needs root (tmpfs); "
                 "or --no-enospc")
    s = Stress(o)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupted)
    rc = 0
    try:
        s.run()
    except Failure as e:
        print("FAIL: %s" % e)
        print("replay: %s" % replay_cmd(o))
        rc = 1
    except KeyboardInterrupt:
        print("interrupted")
        rc = 130
    except Exception:
        traceback.print_exc()
        print("replay: %s" % replay_cmd(o))
        rc = 1
    finally:
        s.say("ops %d, rounds %d, kills %d, syncs %d, checks %d, ENOSPC rounds "
              "%d, outages %d, mounts %d" % (
                  s.stats["ops"], s.stats["rounds"], s.stats["crashes"],
                  s.stats["syncs"], s.stats["compares"], s.stats["enospc"],
                  s.stats["outages"], s.stats["mounts"]))
        s.cleanup()
    sys.exit(rc)


def interrupted(*_):
    raise KeyboardInterrupt()


def parse_size(s):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    s = s.strip().lower()
    if s and s[-1] in mult:
        return float(s[:-1]) * mult[s[-1]]
    return float(s)


if __name__ == "__main__":
    main()
