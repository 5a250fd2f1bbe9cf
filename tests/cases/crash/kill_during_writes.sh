#!/usr/bin/env bash
# kill -9 of the daemon during a stream of writes + fsyncs: mounting again
# (which cleans up the stale mount) shows every fsync'ed byte, and the pending
# uploads complete so that the remote gets byte-identical content.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M"

# The writer appends to 4 files and creates new ones; after each fsync
# returns it appends "NAME LENGTH SHA256-OF-THE-FIRST-LENGTH-BYTES" to acks.
step "writer"
python3 - "$M" "$T/acks" >"$T/writer.out" 2>&1 <<'PY' &
import hashlib, os, random, sys
mnt, acks = sys.argv[1:]
rnd = random.Random(1)
ack = open(acks, "a", buffering=1)

def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]

logs = {f"log{i}": bytearray() for i in range(4)}
try:
    fds = {n: os.open(f"{mnt}/{n}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
           for n in logs}
    i = 0
    while True:
        i += 1
        if i % 5 == 0:
            name = f"new{i:05d}"
            data = os.urandom(rnd.randint(1, 20000))
            fd = os.open(f"{mnt}/{name}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            write_all(fd, data)
            os.fsync(fd)
            os.close(fd)
            dfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dfd)
            os.close(dfd)
        else:
            name = f"log{i % 4}"
            chunk = os.urandom(rnd.randint(1, 65536))
            write_all(fds[name], chunk)
            os.fsync(fds[name])
            logs[name] += chunk
            data = logs[name]
        ack.write(f"{name} {len(data)} {hashlib.sha256(data).hexdigest()}\n")
except OSError as e:
    print("writer stopped:", e)
PY
writer=$!
acks_at_least() { [ "$(wc -l 2>/dev/null <"$T/acks" || echo 0)" -ge "$1" ]; }
wait_for 60 acks_at_least 60

step "kill -9 the daemon"
cd_kill9
wait $writer || die "the writer failed: $(cat "$T/writer.out")"
cat "$T/writer.out"
echo "$(wc -l <"$T/acks") acknowledged fsyncs"

step "mount again over the stale mount"
cd_mount "$R" "$M"
assert_eq "$(mount_count "$M")" 1 "mounts on $M"

# check DIR: for each name, the last acknowledged prefix is in DIR/name.
check()
{
	python3 - "$1" "$T/acks" <<'PY'
import hashlib, sys
d, acks = sys.argv[1:]
last = {}
for line in open(acks):
    parts = line.split()
    if len(parts) == 3:
        last[parts[0]] = (int(parts[1]), parts[2])
bad = 0
for name, (n, h) in sorted(last.items()):
    try:
        data = open(f"{d}/{name}", "rb").read()
    except OSError as e:
        print(f"{d}/{name}: {e}")
        bad += 1
        continue
    if len(data) < n or hashlib.sha256(data[:n]).hexdigest() != h:
        print(f"{d}/{name}: fsync'ed {n} bytes, has {len(data)}, prefix differs")
        bad += 1
print(f"{d}: {len(last) - bad} of {len(last)} files hold their fsync'ed bytes")
sys.exit(1 if bad else 0)
PY
}
step "every fsync'ed byte is in the mount"
check "$M" || die "fsync'ed data lost in the mount"

step "sync: the remote gets the same bytes"
cd_sync "$M" 120
check "$R" || die "fsync'ed data missing in the remote"
for f in "$M"/log* "$M"/new*; do
	assert_file_eq "$f" "$R/${f##*/}"
done
