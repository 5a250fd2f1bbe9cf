#!/usr/bin/env python3
"""fsx-check.py: is a file left by an fsx run cut short a state the drive may
leave after a crash?

usage: fsx-check.py FSX LOG FILE WORKDIR -- FSX-ARGS...

FSX is the fsx binary, LOG its stdout of the run on the drive (run with -d,
line-buffered), FILE the file as the drive has it now ("-": the drive shows
no such file), WORKDIR a scratch directory on a local file system, and
FSX-ARGS the options that run was given (without the file name; -P is
dropped). fsx is deterministic for a seed and options: run again on a local
file with -N j it leaves the state G_j its model has after operation j.
FSX_BLKSIZE in the environment must be the st_blksize of the file on the
drive: fsx draws some ranges by it (build.sh adds that variable to fsx).

From LOG:
  N  the last operation fsx started (each operation prints "j OP ..." before
     its first system call with -d; operations that print nothing do
     nothing to the file);
  D  the last operation after which the whole file was made durable and
     that point was passed: "j close/open" (close returned: FUSE flush), or
     with -y "j write" (the fsync after it returned), confirmed by a later
     line of an operation > j, which fsx prints only after those calls
     returned, or by fsx failing in the open that follows the close. "All n operations completed A-OK!" means fsx closed the file
     after operation n: D = N = n.

The drive promises that what close or fsync returned for is durable: the
file must hold G_D plus any part of what operations D+1..N did (written
back or not, in any order, the one in flight perhaps half done). So:
  - D = N: the file equals G_D, byte for byte;
  - otherwise its size lies between the smallest and largest size of
    G_D..G_N, and every byte equals that byte of some G_j, D <= j <= N (zero
    beyond G_j's end). A byte no operation after D changed has one
    possible value: G_D's. Any other byte is corruption.
  - no D (no durable point passed): the file may also be missing.
The reference run's own -d lines must equal those the run printed (else fsx
did not do the same operations, and the check says so instead of guessing).
Exit 0 when the file is a possible state, 1 when not, 2 on errors.
"""
import os
import re
import shutil
import subprocess
import sys

OP_RE = re.compile(r"^(\d+) (\S+)")
DONE_RE = re.compile(r"^All (\d+) operations completed A-OK!")


def parse_log(path, sync_writes):
    ops = []            # (number, line) of every operation line
    done = None
    closed_then_failed = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(("docloseopen: open:",
                                "docloseopen: drop_caches:")):
                closed_then_failed = True
            m = DONE_RE.match(line)
            if m:
                done = int(m.group(1))
                continue
            m = OP_RE.match(line)
            if m:
                ops.append((int(m.group(1)), m.group(2), line))
    if done is not None:
        return ops, done, done
    n = max((o[0] for o in ops), default=0)
    d = None
    durable = [o[0] for o in ops
               if o[1] == "close/open" or (sync_writes and o[1] == "write")]
    for k in durable:
        if any(o[0] > k for o in ops) and (d is None or k > d):
            d = k
    # fsx stopped by a failed open after "n close/open": the close returned
    if closed_then_failed and ops and ops[-1][1] == "close/open":
        d = ops[-1][0]
    return ops, d, n


def reference(fsx, args, work, nops, debug=False):
    """Run fsx on a local file for nops operations; (content, stdout)."""
    ref = os.path.join(work, "ref.dat")
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    cmd = [fsx] + args + ["-N", str(nops), "-P", work]
    cmd += ["-d"] if debug else ["-q"]
    cmd.append(ref)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       errors="replace")
    if p.returncode != 0:
        sys.stdout.write(p.stdout[-3000:])
        sys.exit("fsx-check: the reference run (%s) failed, exit %d" %
                 (" ".join(cmd), p.returncode))
    with open(ref, "rb") as f:
        return f.read(), p.stdout


def strip_args(args):
    """The run's options minus those that change no operation or datum:
    -c (close/reopen: decided from the same random draw as the operation),
    -y (an fsync after each write), -P (where fsx keeps its logs)."""
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "-P", "-N"):
            i += 2
            continue
        if a.startswith(("-c", "-P", "-N")) and len(a) > 2:
            i += 1
            continue
        if a in ("-y", "-d", "-q"):
            i += 1
            continue
        out.append(a)
        i += 1
    return out


def main():
    if len(sys.argv) < 6 or sys.argv[5] != "--":
        sys.exit(__doc__.split("\n\n")[1])
    if not os.environ.get("FSX_BLKSIZE"):
        sys.exit("fsx-check: FSX_BLKSIZE (st_blksize on the drive) is not set")
    fsx, log, path, work = sys.argv[1:5]
    run_args = sys.argv[6:]
    sync_writes = "-y" in run_args
    args = strip_args(run_args)
    os.makedirs(work, exist_ok=True)

    ops, d, n = parse_log(log, sync_writes)
    print("fsx-check: %d operation lines; last started N=%d, last durable "
          "point passed D=%s" % (len(ops), n, d))

    # The reference must do the very operations the run did: every line the
    # run printed for an operation (all with -d, every p-th with -p) is
    # the reference's line for that operation. dontcache I/O is probed per
    # file system (the drive has none) and changes nothing else.
    _, out = reference(fsx, args, work, n, debug=True)
    norm = lambda line: re.sub(r"\tdontcache=\d", "", line)
    ref = {}
    for line in out.splitlines():
        m = OP_RE.match(line)
        if m and m.group(2) != "close/open":
            ref.setdefault(int(m.group(1)), []).append(norm(line))
    for num, op, line in ops:
        if op != "close/open" and norm(line) not in ref.get(num, []):
            print("  run:       " + line)
            print("  reference: " + " | ".join(ref.get(num, ["(nothing)"])))
            print("fsx-check: the reference run diverges from the run: "
                  "cannot check")
            return 2

    lo = d if d is not None else 0
    states = {}
    prev = None
    for j in range(lo, n + 1):
        data, _ = reference(fsx, args, work, j)
        if data != prev:
            states[j] = data
            prev = data
    print("fsx-check: %d distinct states among G_%d..G_%d" %
          (len(states), lo, n))

    if path == "-" or not os.path.exists(path):
        if d is None:
            print("fsx-check: no file, and no durable point was passed: ok")
            return 0
        print("fsx-check: FAIL: the file is gone, though G_%d was durable" % d)
        return 1
    with open(path, "rb") as f:
        got = f.read()

    cands = list(states.values())
    if d is not None and d == n:
        want = states[d]
        if got == want:
            print("fsx-check: the file equals G_%d (%d bytes): ok" % (d, len(got)))
            return 0
        print("fsx-check: FAIL: the file differs from G_%d, the state close "
              "or fsync returned for (%d bytes, want %d)" %
              (d, len(got), len(want)))
        describe(got, {d: want})
        return 1

    sizes = [len(c) for c in cands]
    bad = 0
    if not min(sizes) <= len(got) <= max(sizes):
        print("fsx-check: FAIL: size %d outside [%d, %d] of G_%d..G_%d" %
              (len(got), min(sizes), max(sizes), lo, n))
        bad = 1
    blk = 4096
    for off in range(0, len(got), blk):
        chunk = got[off:off + blk]
        ok = False
        for c in cands:
            want = c[off:off + len(chunk)]
            want += bytes(len(chunk) - len(want))   # past c's end: zeros
            if chunk == want:
                ok = True
                break
        if ok:
            continue
        for x in range(off, off + len(chunk)):
            vals = {c[x] if x < len(c) else 0 for c in cands}
            if got[x] not in vals:
                print("fsx-check: FAIL: byte 0x%x is 0x%02x; G_%d..G_%d "
                      "have only %s there%s" %
                      (x, got[x], lo, n,
                       ", ".join("0x%02x" % v for v in sorted(vals)),
                       " (durable since G_%s)" % d if len(vals) == 1 and
                       d is not None else ""))
                bad += 1
                if bad > 10:
                    print("fsx-check: ... (more)")
                    return 1
    if bad:
        describe(got, states)
        return 1
    print("fsx-check: the file (%d bytes) is a possible state between "
          "G_%d and G_%d: ok" % (len(got), lo, n))
    return 0


def describe(got, states):
    for j, want in states.items():
        diff = [x for x in range(min(len(got), len(want))) if got[x] != want[x]]
        print("  vs G_%d (%d bytes): %d bytes differ%s" %
              (j, len(want), len(diff),
               ", first at 0x%x, last at 0x%x" % (diff[0], diff[-1])
               if diff else ""))


if __name__ == "__main__":
    sys.exit(main())
