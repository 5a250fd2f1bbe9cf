#!/usr/bin/env bash
# The remote never shows a half-written file: while a 64 MiB file overwrites
# a 48 MiB one through the mount and is uploaded, every read of the remote
# file gives either the whole old or the whole new content.
. "$(dirname "$0")/../../lib.sh"

random_file "$R/f" 48M
random_file "$T/new" 64M
old=$(sha "$R/f")
new=$(sha "$T/new")

cd_mount "$R" "$M" --upload-delay 0
# Watch the remote file until it has the new content (or 120 s pass).
python3 - "$R/f" "$old" "$new" >"$T/watch.out" 2>&1 <<'PY' &
import hashlib, os, sys, time
path, old, new = sys.argv[1:]
deadline, seen = time.time() + 120, {}
while time.time() < deadline:
    try:
        with open(path, "rb") as f:
            h = hashlib.sha256()
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
    except FileNotFoundError:
        seen["missing"] = seen.get("missing", 0) + 1
        time.sleep(0.001)
        continue
    d = h.hexdigest()
    key = {old: "old", new: "new"}.get(d, "OTHER")
    seen[key] = seen.get(key, 0) + 1
    if key == "new":
        break
print("seen:", seen)
sys.exit(0 if "new" in seen and "OTHER" not in seen else 1)
PY
watcher=$!

step "overwrite through the mount, then wait for the upload"
pipe_copy "$T/new" "$M/f"
cd_sync "$M" 120
rc=0
wait $watcher || rc=$?
cat "$T/watch.out"
[ $rc -eq 0 ] || die "the remote file was seen with neither the old nor the new content"
assert_file_eq "$R/f" "$T/new"
